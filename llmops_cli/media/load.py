"""An image/file/pdf input's value → a checked :class:`~llmops_cli.records.chat.ContentPart`.

A value is one of

* a **path inside the project** (``evals/receipts/r1.png``): relative, no ``..``, nothing under ``.git``,
  links resolved and kept inside the project, a regular file (a FIFO or device is refused without blocking),
  read through the project's :class:`~llmops_cli.sources.Source` (the working tree, or git objects at a ref);
* an **https URL** (images only): checked (https, a host, no user:password, at most 2,048 characters) but never
  fetched by llmops — the provider fetches it, so its bytes are not known and the URL itself stands for them in
  cache keys;
* **bytes** (library calls only: ``p.render(photo=uploaded_bytes)``).

The bytes must be what the input's type says (magic bytes, not the extension: a JPEG named ``.png`` is refused),
one of its ``media_types``, at most ``max_bytes`` (default 20 MB, hard cap 50 MB), and an image's header must
claim at most :data:`MAX_SIDE` pixels a side and :data:`MAX_PIXELS` in all (decompression bombs). Every problem
is a :class:`MediaProblem` whose message names the value; the prompt turns it into exit 2 with file:line.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import re
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..records.chat import ContentPart
from ..spec import DEFAULT_MEDIA_BYTES, InputSpec
from .sniff import EXTENSIONS, IMAGE_TYPES, NAMES, PDF, NotMedia, sniff

if TYPE_CHECKING:
    from ..sources import Source

MAX_SIDE = 16_384  # pixels, either side
MAX_PIXELS = 50_000_000  # width × height
MAX_URL_CHARS = 2048
MAX_PATH_CHARS = 1024
CACHE_BYTES = 256_000_000  # data URLs kept by one reader (re-rendering a case reads the file once)
_URL = re.compile(r"^https://(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:[/?][^\s]*)?$")


class MediaProblem(ValueError):
    """Why a value cannot be an image/file/pdf input (the message names the value, not the input)."""


def accepted(spec: InputSpec) -> tuple[str, ...]:
    """The media types an input accepts: its ``media_types``, else every type of its kind."""
    if spec.media_types:
        return tuple(spec.media_types)
    if spec.type == "image":
        return IMAGE_TYPES
    if spec.type == "pdf":
        return (PDF,)
    return (*IMAGE_TYPES, PDF)


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be sent as an image URL (None: it may)."""
    if len(url) > MAX_URL_CHARS:
        return f"a URL longer than {MAX_URL_CHARS:,} characters"
    scheme = url.split(":", 1)[0].lower()
    if scheme != "https":
        return f"a {scheme[:20]!r} URL (only https URLs are accepted)"
    rest = url[len("https://") :]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        return "a URL with credentials (user:password@) is refused"
    if "#" in url:
        return "a URL with a #fragment is refused"
    if not _URL.match(url):
        return "not a valid https URL (host, optional port and path; no spaces)"
    return None


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a relative path inside the project (lexically; links are checked on reading)."""
    if not path or len(path) > MAX_PATH_CHARS or any(c in path for c in "\0\n\r"):
        return "not a file path"
    if "\\" in path:
        return "a path with backslashes (write it with /, relative to the project root)"
    if path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", path):
        return "an absolute path (paths are relative to the project root)"
    parts = path.split("/")
    if ".." in parts:
        return "a path with '..' (paths must stay inside the project)"
    if ".git" in parts:
        return "a path into .git"
    return None


class MediaReader:
    """Reads and checks media values of one project (cached by path and the file's identity)."""

    def __init__(self, source: Source | None) -> None:
        self.source = source
        self._cache: dict[tuple[str, str, str], ContentPart] = {}
        self._cached_bytes = 0

    def part(self, name: str, spec: InputSpec, value: Any) -> ContentPart:
        """The content part of input ``name``'s ``value``; :class:`MediaProblem` when it is refused."""
        if isinstance(value, bytes | bytearray):
            return _part(name, spec, bytes(value), None)
        if not isinstance(value, str):
            raise MediaProblem("expected a project path, an https URL or bytes")
        if "://" in value or value.lower().startswith(("http:", "https:", "data:", "file:", "ftp:")):
            return self._url(name, spec, value)
        return self._file(name, spec, value)

    def _url(self, name: str, spec: InputSpec, url: str) -> ContentPart:
        shown = _show(url)
        if spec.type != "image":
            raise MediaProblem(f"{shown}: a {spec.type} input takes a project path, not a URL")
        problem = url_problem(url)
        if problem:
            raise MediaProblem(f"{shown}: {problem}")
        claimed = EXTENSIONS.get(posixpath.splitext(url.split("?", 1)[0])[1].lower())
        if claimed is not None and claimed not in accepted(spec):
            raise MediaProblem(f"{shown}: the URL names a {NAMES[claimed]} file; accepted: {_names(accepted(spec))}")
        return ContentPart(type="image", media_type=claimed, url=url, name=name)

    def _file(self, name: str, spec: InputSpec, path: str) -> ContentPart:
        shown = _show(path)
        problem = path_problem(path)
        if problem:
            raise MediaProblem(f"{shown}: {problem}")
        source = self.source
        while source is not None and hasattr(source, "inner"):  # recording / error-capturing wrappers
            source = source.inner
        reader = getattr(source, "read_bytes", None)
        if source is None or reader is None:
            raise MediaProblem(f"{shown}: no project to read files from here (pass the bytes instead)")
        limit = spec.max_bytes or DEFAULT_MEDIA_BYTES
        identity = source.blob_id(path) or ""
        key = (path, identity, f"{name}:{spec.model_dump_json()}")
        if identity and key in self._cache:
            return self._cache[key]
        try:
            data = reader(path, limit)
        except UserError as exc:
            raise MediaProblem(f"{shown}: {exc.message}") from None
        part = _part(name, spec, data, path)
        if identity:
            self._remember(key, part)
        return part

    def _remember(self, key: tuple[str, str, str], part: ContentPart) -> None:
        size = len(part.url or "")
        if self._cached_bytes + size > CACHE_BYTES:
            self._cache.clear()
            self._cached_bytes = 0
        self._cache[key] = part
        self._cached_bytes += size


def _part(name: str, spec: InputSpec, data: bytes, path: str | None) -> ContentPart:
    shown = _show(path) if path else f"{len(data):,} bytes"
    limit = spec.max_bytes or DEFAULT_MEDIA_BYTES
    if len(data) > limit:
        raise MediaProblem(f"{shown}: {len(data):,} bytes, more than the {limit:,} allowed")
    try:
        found = sniff(data)
    except NotMedia as exc:
        raise MediaProblem(f"{shown}: {exc}") from None
    mt = found.media_type
    if path is not None:
        claimed = EXTENSIONS.get(posixpath.splitext(path)[1].lower())
        if claimed is not None and claimed != mt:
            raise MediaProblem(f"{shown}: the bytes are {NAMES[mt]}, the file name says {NAMES[claimed]}")
    if mt not in accepted(spec):
        raise MediaProblem(f"{shown}: {NAMES[mt]} is not accepted here (accepted: {_names(accepted(spec))})")
    if found.width is not None and found.height is not None:
        w, h = found.width, found.height
        if w < 1 or h < 1:
            raise MediaProblem(f"{shown}: the image header claims {w} × {h} pixels")
        if w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
            raise MediaProblem(
                f"{shown}: the image header claims {w:,} × {h:,} pixels (at most {MAX_SIDE:,} a side and "
                f"{MAX_PIXELS:,} in all: refused unread, a possible decompression bomb)"
            )
    url = f"data:{mt};base64,{base64.b64encode(data).decode('ascii')}"
    kind = "image" if mt in IMAGE_TYPES else "file"
    return ContentPart(
        type=kind,
        media_type=mt,
        sha256=hashlib.sha256(data).hexdigest(),
        url=url,
        size=len(data),
        width=found.width,
        height=found.height,
        name=name,
    )


def _names(types: tuple[str, ...]) -> str:
    return ", ".join(NAMES[t] for t in types)


def _show(value: str) -> str:
    """A value for messages: bounded, and a URL's query string left out (it may hold a token)."""
    if "://" in value:
        value = re.sub(r"//[^/?#]*@", "//***@", value.split("?", 1)[0].split("#", 1)[0])
    return value[:200] + ("…" if len(value) > 200 else "")
