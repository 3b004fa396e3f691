"""``Prompt.feedback()``: a feedback record about a served call, written to the sink its request records go to.

The record (:class:`~llmops_cli.records.feedback.FeedbackRecord`) is joined to the call by ``request_id`` in
``llmops usage report``. End users' comments are cleaned before anything is written: key values and
token-shaped secrets redacted, control characters (but tab and newline), line separators and bidi controls
replaced by a space, clipped to :data:`~llmops_cli.records.feedback.MAX_COMMENT_CHARS` characters — a comment
never makes a call fail. A wrong ``request_id``, ``score`` or ``label`` is the caller's bug: :class:`UsageError`.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..records.base import RecordError, dump_record, load_record
from ..records.feedback import MAX_COMMENT_CHARS, FeedbackRecord
from ..redact import redactor
from .record import utc_timestamp

if TYPE_CHECKING:
    from .served import ServedPrompt

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean_comment(text: str | None, redact: Any = None) -> str | None:
    """A free-text comment as it may be written: redacted, unsafe characters replaced, clipped."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise UsageError(f"comment must be a string, not {type(text).__name__}")
    text = _UNSAFE.sub(" ", text[: MAX_COMMENT_CHARS * 4])
    text = (redact or redactor())(text)
    if len(text) > MAX_COMMENT_CHARS:
        text = text[: MAX_COMMENT_CHARS - 1] + "…"
    return text


def make_feedback(
    request_id: str,
    *,
    prompt: str | None = None,
    score: float | None = None,
    label: str | None = None,
    comment: str | None = None,
    source: str | None = None,
    ts: str | None = None,
    where: str = "feedback()",
    redact: Any = None,
) -> FeedbackRecord:
    """A checked feedback record (``ts`` defaults to now); :class:`RecordError` naming ``where`` and the field."""
    data = {
        "kind": "feedback",
        "schema_version": FeedbackRecord.SCHEMA_VERSION,
        "ts": ts if ts is not None else utc_timestamp(time.time()),
        "request_id": request_id,
        "prompt": prompt,
        "score": score,
        "label": label,
        "comment": clean_comment(comment, redact),
        "source": source,
    }
    return load_record(FeedbackRecord, data, source=where)


def give_feedback(
    prompt: ServedPrompt,
    request_id: str,
    *,
    score: float | None = None,
    label: str | None = None,
    comment: str | None = None,
    source: str | None = "app",
    log: Any = None,
) -> FeedbackRecord:
    """Write feedback on the call ``request_id`` of ``prompt`` to its request sink (``log=``, the prompt's
    ``load_prompt(log=...)`` or ``$LLMOPS_LOG``) and return the record. Without any sink nothing is written."""
    from .call import sink_for

    try:
        record = make_feedback(
            request_id, prompt=prompt.identity.name, score=score, label=label, comment=comment, source=source
        )
    except RecordError as exc:
        raise UsageError(str(exc)) from None
    sink = sink_for(prompt, log)
    if sink is not None:
        sink.emit(dump_record(record))
    return record
