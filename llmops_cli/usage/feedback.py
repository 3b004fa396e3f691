"""``llmops usage feedback FILE.jsonl``: feedback collected elsewhere (a support tool, a survey export) appended
to a request log as feedback records.

Each input line is one JSON object with ``request_id`` and at least one of ``score``, ``label``, ``comment``;
optional ``ts`` (RFC 3339 with its offset; default: now), ``prompt`` and ``source`` (default ``import``). A full
feedback record (``kind: feedback``, ``schema_version: 1``) is accepted as it is. Any other key is refused (a
typo such as ``scroe`` must not silently drop a score). Comments are cleaned as :meth:`Prompt.feedback` cleans
them (redacted, unsafe characters replaced, clipped); the rest is checked by
:class:`~llmops_cli.records.feedback.FeedbackRecord`.

Strict by default: the file is checked completely before anything is written, and the first bad line stops the
command with exit 2 naming ``file:line`` (lines longer than :data:`MAX_LINE_BYTES`, nested deeper than
:data:`MAX_DEPTH`, not JSON, a wrong field). ``skip_invalid`` writes the good lines and counts the others.
Whether the request ids exist is not checked here (the log may be elsewhere): ``usage report`` counts unknown ids.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import settings
from ..errors import NotFoundError, UsageError
from ..jsonio import parse_bounded
from ..records.base import RecordError, dump_record
from ..records.feedback import FeedbackRecord
from ..redact import redactor
from ..serving.feedback import make_feedback
from ..serving.record import to_json_line
from .appendlog import append_records

MAX_LINE_BYTES = 64 * 1024
MAX_DEPTH = 4
MAX_EXAMPLES = 5
_ALLOWED = frozenset({"kind", "schema_version", "ts", "request_id", "prompt", "score", "label", "comment", "source"})


class FeedbackFileError(UsageError):
    """A line of a feedback file that is not acceptable feedback (strict mode)."""


@dataclass
class FeedbackImport:
    """What an import read and wrote."""

    source: str
    target: str
    read: int = 0
    written: int = 0
    skipped: int = 0
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "llmops.usage.feedback/1", "from": self.source, "to": self.target, "read": self.read,
                "written": self.written, "skipped": self.skipped, "skipped_examples": self.examples}  # fmt: skip


def _lines(path: str) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, raw line)``; ``None`` for a line over :data:`MAX_LINE_BYTES` (skipped unread)."""
    with open(path, "rb") as fh:
        lineno = 0
        while raw := fh.readline(MAX_LINE_BYTES + 1):
            lineno += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (chunk := fh.readline(MAX_LINE_BYTES)) and not chunk.endswith(b"\n"):
                    pass
                yield lineno, None
                continue
            if raw.strip():
                yield lineno, raw


def parse_feedback_line(raw: bytes | None, where: str, redact: Any) -> FeedbackRecord:
    """One input line as a feedback record; :class:`FeedbackFileError` naming ``where`` otherwise."""
    if raw is None:
        raise FeedbackFileError(f"line longer than {MAX_LINE_BYTES:,} bytes", file=where)
    try:
        data = parse_bounded(raw.decode("utf-8"), MAX_DEPTH)
    except UnicodeDecodeError:
        raise FeedbackFileError("not UTF-8 text", file=where) from None
    except RecursionError:
        raise FeedbackFileError(f"nested deeper than {MAX_DEPTH} levels", file=where) from None
    except ValueError as exc:
        raise FeedbackFileError(f"not valid JSON ({str(exc)[:120]})", file=where) from None
    if not isinstance(data, dict):
        raise FeedbackFileError("expected a JSON object", file=where)
    unknown = sorted(set(data) - _ALLOWED)
    if unknown:
        raise FeedbackFileError(f"$.{unknown[0][:60]}: unknown field", file=where)
    if data.get("kind", "feedback") != "feedback" or data.get("schema_version", 1) != 1:
        raise FeedbackFileError('expected kind "feedback" and schema_version 1 (or neither)', file=where)
    if "request_id" not in data:
        raise FeedbackFileError("$.request_id: field required", file=where)
    comment = data.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise FeedbackFileError("$.comment: expected a string", file=where)
    try:
        return make_feedback(
            data["request_id"],
            prompt=data.get("prompt"),
            score=data.get("score"),
            label=data.get("label"),
            comment=comment,
            source=data.get("source", "import"),
            ts=data.get("ts"),
            where=where,
            redact=redact,
        )
    except RecordError as exc:
        raise FeedbackFileError(exc.message, file=where) from None


def import_feedback(source: str, target: str | None = None, *, skip_invalid: bool = False) -> FeedbackImport:
    """Check every line of ``source`` and append the feedback records to ``target`` (default: ``$LLMOPS_LOG``;
    see the module doc)."""
    if target is None:
        target = settings.LOG.raw() or None
        if target is None:
            raise UsageError("no log to write to: pass --to LOG or set LLMOPS_LOG")
    if not os.path.isfile(source):
        raise NotFoundError("no such feedback file", file=source)
    if os.path.realpath(source) == os.path.realpath(target):
        raise UsageError("the feedback file and the log it goes to are the same file", file=source)
    result = FeedbackImport(source, target)
    redact = redactor()

    def records() -> Iterator[str]:
        for lineno, raw in _lines(source):
            try:
                rec = parse_feedback_line(raw, f"{source}:{lineno}", redact)
            except FeedbackFileError as exc:
                if not skip_invalid:
                    raise
                result.skipped += 1
                if len(result.examples) < MAX_EXAMPLES:
                    result.examples.append(str(exc))
                continue
            yield to_json_line(dump_record(rec))

    if not skip_invalid:  # all or nothing: check the whole file before the first write
        for _ in records():
            result.read += 1
        result.read = 0
    count = append_records(target, records())
    result.written = count
    result.read = count + result.skipped
    return result
