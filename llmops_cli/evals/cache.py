"""Content-addressed response cache on disk, shared safely by concurrent runs.

An entry lives at ``<dir>/v1/<key[:2]>/<key[2:4]>/<key>.json`` where ``key`` is the sha256 of the
canonical JSON of everything that determines the answer (see :func:`cache_key`). Entries are written to
a temporary file in the same folder and moved into place with :func:`os.replace`, so a reader sees a
whole entry or none, and two runs writing the same key at once both succeed (last one wins; the content
is equivalent). A corrupt or unreadable entry is a miss. Entries pass through the redactor (a provider that
echoes a key in its answer does not get it stored).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any

from ..hashing import sha256_of
from ..redact import redact

CACHE_LAYOUT = "v1"


def cache_key(
    *,
    kind: str,
    model: str,
    api_base: str | None,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    response_format: dict[str, Any] | None,
    sample: int,
    extra: dict[str, Any] | None = None,
    tools: dict[str, Any] | None = None,
) -> str:
    """The key of one provider call. ``kind`` is ``generation``, ``judge`` or ``judge-repair``; ``extra``
    holds the judge prompt's sha256 and the judged output for judge calls; ``tools`` the prompt's tools,
    ``tool_choice`` and ``parallel_tool_calls`` (absent for prompts without tools: their keys do not change)."""
    provider = model.split("/", 1)[0] if "/" in model else "openai"
    return sha256_of(
        {
            **(tools or {}),
            "kind": kind,
            "provider": provider,
            "model": model,
            "api_base": api_base,
            "messages": messages,
            "params": params,
            "response_format": response_format,
            "sample": sample,
            "extra": extra or {},
        }
    )


class ResponseCache:
    """Get and put cache entries: ``{"text", "usage": {"prompt_tokens", "completion_tokens"}, "cost_usd",
    "latency_ms", "model", "kind", "created_at"}``. ``enabled=False`` reads nothing but still writes, so a
    ``--no-cache`` run refreshes the cache."""

    def __init__(self, directory: str, *, read: bool = True, write: bool = True) -> None:
        self.directory = directory
        self.read = read
        self.write = write
        self.hits = 0
        self.misses = 0

    def path(self, key: str) -> str:
        return os.path.join(self.directory, CACHE_LAYOUT, key[:2], key[2:4], key + ".json")

    def get(self, key: str) -> dict[str, Any] | None:
        if not self.read:
            self.misses += 1
            return None
        try:
            with open(self.path(key), encoding="utf-8") as fh:
                entry = json.load(fh)
        except (OSError, ValueError):
            self.misses += 1
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(self, key: str, entry: dict[str, Any]) -> None:
        if not self.write:
            return
        path = self.path(key)
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(redact(json.dumps(entry, ensure_ascii=False, separators=(",", ":"))))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
