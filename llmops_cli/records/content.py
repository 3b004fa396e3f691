"""Message content with content parts: one text view, one hash view (the wire view is the model layer's).

A rendered message's ``content`` is a string, or (when it ``attach``\\es images or files) a list of
:class:`~llmops_cli.records.chat.ContentPart` dicts: a text part, then one part per attached input. Three
views of such content, so no caller takes a list apart by hand:

* :func:`content_text` — for people (``prompt render``, diffs, logs): the text, each image/file shown as
  ``[image photo 34.1 KB sha256:ab12cd34ef56…]``, never its bytes;
* :func:`hash_view` — for cache keys and request hashes: a data URL is replaced by the bytes' sha256, so the
  key changes with a changed byte and not with a renamed file (the path is never in a part);
* for the provider, :mod:`llmops_cli.models.wire` writes OpenAI chat content parts — ``image_url`` with the data
  URL (or the https URL) and ``file`` parts with ``file_data`` — from the typed parts; litellm translates these for
  other providers.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import ValidationError

from .chat import ContentPart

__all__ = [
    "content_text",
    "hash_view",
    "input_digests",
    "media_parts",
    "media_tokens",
    "part_label",
    "text_messages",
]

IMAGE_TOKENS_MAX = 1105  # OpenAI's high-detail cost of the largest image after scaling (6 tiles): unknown sizes
FILE_BYTES_PER_TOKEN = 3  # a deliberately high estimate for a PDF (text and page images) from its size


def media_parts(content: Any) -> list[ContentPart]:
    """The image/file parts of a message's content (empty for text content)."""
    if not isinstance(content, list):
        return []
    return [
        ContentPart.model_validate(p) for p in content if isinstance(p, dict) and p.get("type") in ("image", "file")
    ]


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} KB"
    return f"{n / 1_000_000:.1f} MB"


def part_label(part: ContentPart) -> str:
    """``[image photo 34.1 KB sha256:ab12cd34ef56…]`` (an https image: ``[image photo https://host/path]``)."""
    bits = [part.type, part.name or "?"]
    if part.size is not None:
        bits.append(_size(part.size))
    if part.sha256:
        bits.append(f"sha256:{part.sha256[:12]}…")
    elif part.url and not part.url.startswith("data:"):
        bits.append(part.url.split("?", 1)[0][:120])
    return "[" + " ".join(bits) + "]"


def content_text(content: Any) -> str:
    """A message's content for people: text as is, media parts as :func:`part_label` lines."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return str(content)
    out = []
    for p in content:
        if isinstance(p, dict) and p.get("type") == "text":
            out.append(str(p.get("text") or ""))
        elif isinstance(p, dict) and p.get("type") in ("image", "file"):
            try:
                out.append(part_label(ContentPart.model_validate(p)))
            except ValidationError:
                out.append(f"[{p.get('type')}]")
        elif isinstance(p, dict) and p.get("type") == "image_url":  # already on the wire
            out.append("[image]")
    return "\n".join(out)


def input_digests(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Each attached input's identity, by input name: ``sha256:<hex of the bytes>``, or ``url-sha256:<hex of the
    URL>`` for an https image the provider fetches (llmops never sees its bytes). Never a path."""
    out: dict[str, str] = {}
    for m in messages:
        for part in media_parts(m.get("content")):
            if part.sha256:
                out[part.name or "?"] = f"sha256:{part.sha256}"
            elif part.url:
                out[part.name or "?"] = "url-sha256:" + hashlib.sha256(part.url.encode("utf-8")).hexdigest()
    return out


def image_tokens(width: int | None, height: int | None) -> int:
    """Input tokens of one image at high detail, OpenAI's rule: fit in 2048×2048, shortest side to 768, then
    85 + 170 per 512-pixel tile; :data:`IMAGE_TOKENS_MAX` when the size is unknown (an https image)."""
    if not width or not height:
        return IMAGE_TOKENS_MAX
    w, h = float(width), float(height)
    if max(w, h) > 2048:
        w, h = w * 2048 / max(w, h), h * 2048 / max(w, h)
    if min(w, h) > 768:
        w, h = w * 768 / min(w, h), h * 768 / min(w, h)
    tiles = -(-int(w) // 512) * -(-int(h) // 512)
    return min(85 + 170 * tiles, IMAGE_TOKENS_MAX)


def media_tokens(messages: list[dict[str, Any]]) -> int:
    """Estimated input tokens of the images and files in ``messages`` (text excluded): images by their header's
    size (:func:`image_tokens`), files by their size (:data:`FILE_BYTES_PER_TOKEN`)."""
    total = 0
    for m in messages:
        for part in media_parts(m.get("content")):
            if part.type == "image":
                total += image_tokens(part.width, part.height)
            else:
                total += -(-(part.size or 0) // FILE_BYTES_PER_TOKEN)
    return total


def text_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with each list of parts reduced to its text (for token counters that know text only)."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            text = "\n".join(
                str(p.get("text") or "") for p in content if isinstance(p, dict) and p.get("type") == "text"
            )
            m = {**m, "content": text}
        out.append(m)
    return out


def _hash_part(p: Any) -> Any:
    if isinstance(p, dict) and p.get("sha256") and str(p.get("url") or "").startswith("data:"):
        return {k: v for k, v in p.items() if k != "url"}
    return p


def hash_view(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with each data URL left out of its part (the part's sha256 stands for the bytes)."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            m = {**m, "content": [_hash_part(p) for p in content]}
        out.append(m)
    return out
