"""The request record: one JSON line per serving call of ``Prompt.complete()`` / ``acomplete()``.

Version 2 (``v``), keys in the order of :class:`RequestRecord`'s fields; ``input`` and ``output`` only when
content logging was asked for. A version-1 record (llmops 0.1.0: no ``guard``) is read as version 2 with
``guard: null``. Error *messages* never go in a record, only the exception's class name: a provider's error
body may echo credentials or user content.

The record is the one definition of the format: serving writes its keys in this order (:data:`RECORD_KEYS`),
and ``llmops usage`` derives the columns it reads and the checks it makes from the ``usage`` mark on each
field (:func:`usage_columns`).

Adding a field (``tools_called``, per-turn tokens, replay ``inputs``…): declare it here with a description and a
default (so that older records keep loading; bump :attr:`RequestRecord.SCHEMA_VERSION` with a migration only
when old records need rewriting), and a ``usage`` kind when ``llmops usage`` should read it. A field every record
carries goes before ``input``/``output`` and is written by ``serving/record.py:build_record`` (its import fails
until it is); a field written only sometimes goes after them and into :data:`OPTIONAL_KEYS`. Keys this llmops
does not know are kept on a load/save round trip.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from .base import OpenRecord, Record, dump_record

__all__ = [
    "CONTENT_KEYS",
    "MAX_COST_USD",
    "MAX_LATENCY_MS",
    "MAX_TOKENS",
    "OPTIONAL_KEYS",
    "RECORD_KEYS",
    "GuardHitRecord",
    "GuardSummary",
    "LoggedMessage",
    "RequestRecord",
    "UsageColumn",
    "usage_columns",
]

MAX_COST_USD = 1e9  # per call: no call costs a billion dollars; sums of such values stay finite
MAX_LATENCY_MS = 1e10  # per call: 115 days
MAX_TOKENS = 10**12  # per call

#: What ``llmops usage`` makes of a field (the ``usage`` mark in a field's ``json_schema_extra``):
#: ``version`` a readable version number; ``timestamp`` an RFC 3339 string with its offset; ``name`` a non-empty
#: string; ``label`` a string or null; ``count`` a non-negative whole number or null (≤ :data:`MAX_TOKENS`);
#: ``money`` a finite non-negative number or null (≤ :data:`MAX_COST_USD`); ``duration`` a finite non-negative
#: number (≤ :data:`MAX_LATENCY_MS`); ``outcome`` one of the field's literal values; ``mapping`` an object with
#: distinct keys (absent: empty); ``object_or_null`` an object or null.
UsageKind = Literal[
    "version", "timestamp", "name", "label", "count", "money", "duration", "outcome", "mapping", "object_or_null"
]
USAGE_KINDS: tuple[str, ...] = UsageKind.__args__  # type: ignore[attr-defined]


def _usage(kind: UsageKind) -> dict[str, Any]:
    return {"usage": kind}


class GuardHitRecord(Record):
    """One guard that fired."""

    guard: str = Field(description="The guard's name (``pii``, ``max_size``, a custom name).")
    stage: str = Field(description="Where it ran: ``input`` (variables/messages) or ``output`` (the reply).")
    action: str = Field(description="What it did: ``flag``, ``redact`` or ``block``.")
    detail: str = Field(description="What it saw: detector names and counts, never the values themselves.")


class GuardSummary(Record):
    """The ``guard`` field: the guards that ran on a call and those that fired."""

    summary: str = Field(description="The outcome with the guards that took it (``blocked:pii``), or ``pass``.")
    outcome: Literal["pass", "flagged", "redacted", "blocked"] = Field(description="The most severe action taken.")
    checked: list[str] = Field(description="Every guard that ran.")
    hits: list[GuardHitRecord] = Field(description="The guards that fired, in the order they fired.")


class LoggedMessage(Record):
    """One message of a logged request (content logging on), redacted."""

    role: str = Field(description="The message's role.")
    content: str = Field(description="Its text, redacted.")


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (llmops 0.1.0) had no ``guard``: null, placed before the content keys."""
    out = {k: v for k, v in data.items() if k not in CONTENT_KEYS}
    out["v"] = 2
    out["guard"] = None
    out.update({k: data[k] for k in CONTENT_KEYS if k in data})
    return out


class RequestRecord(OpenRecord):
    """One serving call (unknown keys, written by a newer llmops or added by a user, are kept). Types are
    strict: a string where a number belongs, a float where a whole number belongs, is refused."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)
    KIND: ClassVar[str | None] = None
    SCHEMA_VERSION: ClassVar[int | None] = 2
    VERSION_KEY: ClassVar[str] = "v"
    MIGRATIONS: ClassVar[dict[int, Any]] = {1: _v1_to_v2}

    v: int = Field(2, description="The record's version (2).", json_schema_extra=_usage("version"))
    ts: str = Field(
        description="When the call started: RFC 3339, UTC, microseconds and ``Z``.",
        json_schema_extra=_usage("timestamp"),
    )
    request_id: str = Field(description="The caller's request id, or a random 32-hex id.")
    prompt: str = Field(description="The prompt's name (``support/answer``).", json_schema_extra=_usage("name"))
    version: str | None = Field(
        description="The release served (``1.3.0``); null for a working-tree prompt.",
        json_schema_extra=_usage("label"),
    )
    channel: str | None = Field(
        description="The channel the prompt was loaded through (``production``), or null.",
        json_schema_extra=_usage("label"),
    )
    arm: str | None = Field(
        description="``stable`` or ``canary`` when that channel has a canary, else null.",
        json_schema_extra=_usage("label"),
    )
    content_sha256: str = Field(description="The prompt's content hash (``Prompt.sha256``).")
    git_sha: str | None = Field(description="The commit the release was made from, or null.")
    model: str = Field(description="The litellm model id called.", json_schema_extra=_usage("name"))
    params_hash: str = Field(description="First 16 hex of the sha256 of the canonical JSON of the params sent.")
    tokens_in: int | None = Field(
        ge=0,
        le=MAX_TOKENS,
        description="Prompt tokens the provider reported, or null.",
        json_schema_extra=_usage("count"),
    )
    tokens_out: int | None = Field(
        ge=0,
        le=MAX_TOKENS,
        description="Completion tokens the provider reported, or null.",
        json_schema_extra=_usage("count"),
    )
    cost_usd: float | None = Field(
        ge=0,
        le=MAX_COST_USD,
        description="USD cost from litellm's price table; null when the model is not priced (never 0 for unknown).",
        json_schema_extra=_usage("money"),
    )
    latency_ms: float = Field(
        ge=0,
        le=MAX_LATENCY_MS,
        description="Wall time of the call, retries included, in milliseconds.",
        json_schema_extra=_usage("duration"),
    )
    outcome: Literal["ok", "error"] = Field(
        description="``ok``, or ``error`` when the call raised (also when a guard blocked it).",
        json_schema_extra=_usage("outcome"),
    )
    error_class: str | None = Field(
        description="The exception's class name (``RateLimitError``, ``GuardBlocked``); never its message.",
        json_schema_extra=_usage("label"),
    )
    retries: int = Field(ge=0, description="Retries made (429/5xx/timeouts), not counting the first try.")
    tags: dict[str, str] = Field(
        description="The caller's tags (≤ 32, str → str).", json_schema_extra=_usage("mapping")
    )
    guard: GuardSummary | None = Field(
        description="The guards of the call, or null when the prompt has none (new in version 2).",
        json_schema_extra=_usage("object_or_null"),
    )
    tools_called: list[str] | None = Field(
        None, description="The names of the tools the reply called, in order (only when it called some)."
    )
    turn: int | None = Field(
        None, ge=1, description="Which assistant turn of a continued conversation this call is (only with history)."
    )
    input: list[LoggedMessage] | None = Field(
        None, description="The redacted messages sent (content logging only; absent otherwise)."
    )
    output: str | None = Field(None, description="The redacted reply text (content logging only; absent otherwise).")
    vars: dict[str, Any] | None = Field(
        None,
        description="The prompt's input variables as rendered, redacted, for replay (content logging only); null "
        "when too deep, too large or not JSON data.",
    )
    tool_calls: list[dict[str, Any]] | None = Field(
        None, description="The reply's tool calls with redacted arguments (content logging only, when it called some)."
    )

    def to_json(self) -> dict[str, Any]:
        """The record as written: keys in order, ``input``/``output`` only when set, unknown keys kept (last)."""
        data = dump_record(self)
        for key in OPTIONAL_KEYS:
            if key not in self.model_fields_set:
                del data[key]
        extra = self.model_extra or {}
        return {k: v for k, v in data.items() if k not in extra} | {k: data[k] for k in extra}


#: The content keys, present only with content logging.
CONTENT_KEYS: tuple[str, ...] = ("input", "output", "vars")
#: Every key a record carries only sometimes (absent, not null, otherwise), in the order they are written.
OPTIONAL_KEYS: tuple[str, ...] = ("tools_called", "turn", *CONTENT_KEYS, "tool_calls")
#: The keys of every record, in the order they are written.
RECORD_KEYS: tuple[str, ...] = tuple(k for k in RequestRecord.model_fields if k not in OPTIONAL_KEYS)


class UsageColumn(Record):
    """A field of the request record that ``llmops usage`` reads, and how it checks it."""

    name: str = Field(description="The record key (and column name).")
    kind: UsageKind = Field(description="How the value is checked (see :data:`UsageKind`).")
    values: tuple[str, ...] = Field((), description="The allowed values of an ``outcome`` column.")


def usage_columns() -> tuple[UsageColumn, ...]:
    """The columns ``llmops usage`` reads, in record order, from the ``usage`` marks of :class:`RequestRecord`."""
    out = []
    for name, info in RequestRecord.model_fields.items():
        extra = info.json_schema_extra
        kind = extra.get("usage") if isinstance(extra, dict) else None
        if kind is None:
            continue
        values: tuple[str, ...] = ()
        if kind == "outcome":
            values = tuple(getattr(info.annotation, "__args__", ()))
        out.append(UsageColumn(name=name, kind=kind, values=values))
    return tuple(out)
