"""Building the request record of a serving call (the format itself: :mod:`llmops_cli.records.requests`).

One JSON object per provider call of ``Prompt.complete()`` / ``acomplete()``.

Schema version 2, keys in this order (``input``, ``output`` and ``vars`` only when content logging was asked for)::

    v ts request_id prompt version channel arm content_sha256 git_sha model params_hash
    tokens_in tokens_out cost_usd latency_ms outcome error_class retries tags guard [input output vars]

``vars`` holds the prompt's input variables as the call rendered them (after input guards), every string
redacted, so that ``llmops usage judge`` / ``usage sample`` can replay the call as a golden case; it is null
when they are nested deeper than :data:`MAX_VARS_DEPTH`, larger than :data:`MAX_VARS_CHARS` as JSON, or not
JSON data — kept whole or not at all, never cut (a cut input would replay a different call).

``guard`` (new in version 2) is null when the prompt has no guards, else the
:class:`~llmops_cli.safety.guards.GuardRecord` of the call: ``{"summary", "outcome", "checked", "hits"}``.
A call a guard blocked has ``outcome: "error"`` and ``error_class: "GuardBlocked"``. Version 1 records (no
``guard``) are read as version 2 with ``guard: null`` (:func:`upgrade_record`; ``llmops usage`` does the same).

Types are strict (``llmops usage`` reads them): see :class:`~llmops_cli.records.requests.RequestRecord` and README
"Serving and monitoring".
Error *messages* never go in a record, only the exception's class name: a provider's error body may echo
credentials or user content.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..limits import bad_name_char
from ..records.base import migrate
from ..records.requests import CONTENT_KEYS, RECORD_KEYS, RequestRecord

if TYPE_CHECKING:
    from ..safety.guards import GuardRecord

SCHEMA_VERSION: int = RequestRecord.SCHEMA_VERSION or 2
READABLE_VERSIONS = RequestRecord.readable_versions()  # versions llmops reads (older ones are upgraded)

__all__ = ["CONTENT_KEYS", "READABLE_VERSIONS", "RECORD_KEYS", "SCHEMA_VERSION", "CallIdentity"]


@dataclass(frozen=True)
class CallIdentity:
    """What a request record says about the prompt called: its name, release, channel/arm and hashes."""

    name: str
    sha256: str
    version: str | None = None
    git_sha: str | None = None
    channel: str | None = None
    arm: str | None = None


MAX_VARS_DEPTH = 16
MAX_VARS_CHARS = 64 * 1024

# Caller tags end up in every record, in span attributes and in `llmops usage --by tag`: bounded.
MAX_TAGS = 32
MAX_TAG_KEY_CHARS = 64
MAX_TAG_VALUE_CHARS = 256
TAG_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]*\Z")
MAX_REQUEST_ID_CHARS = 128
REQUEST_ID = re.compile(r"[A-Za-z0-9_.:\-]+\Z")


_GOOD_TAG_KEYS: set[str] = set()


def validate_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """A copy of the caller's tags, checked: str keys (``[A-Za-z0-9_.:-]``, ≤ 64 chars) to str values
    (≤ 256 chars, no control characters), at most 32 of them; :class:`UsageError` otherwise."""
    if tags is None:
        return {}
    if type(tags) is not dict and not isinstance(tags, Mapping):
        raise UsageError(f"tags must be a mapping of str to str, not {type(tags).__name__}")
    if len(tags) > MAX_TAGS:
        raise UsageError(f"at most {MAX_TAGS} tags per call, got {len(tags)}")
    out: dict[str, str] = {}
    for key, value in tags.items():
        if key in _GOOD_TAG_KEYS:
            pass
        elif isinstance(key, str) and TAG_KEY.match(key) and len(key) <= MAX_TAG_KEY_CHARS:
            if len(_GOOD_TAG_KEYS) < 1024:
                _GOOD_TAG_KEYS.add(key)
        else:
            raise UsageError(
                f"tag name {str(key)[:80]!r} must be 1-{MAX_TAG_KEY_CHARS} characters of letters, digits, '_.:-'"
            )
        if type(value) is not str:
            raise UsageError(f"tag {key!r} must be a string, not {type(value).__name__}")
        if len(value) > MAX_TAG_VALUE_CHARS or bad_name_char(value) is not None:  # the rule every name follows
            raise UsageError(
                f"tag {key!r}: at most {MAX_TAG_VALUE_CHARS} characters, no control or invisible characters"
            )
        out[key] = value
    return out


def validate_request_id(request_id: str | None) -> str:
    """The caller's request id, checked (≤ 128 of ``[A-Za-z0-9_.:-]``), or a new ``uuid4().hex``."""
    if request_id is None:
        return new_request_id()
    if not isinstance(request_id, str) or len(request_id) > MAX_REQUEST_ID_CHARS or not REQUEST_ID.match(request_id):
        raise UsageError(f"request_id must be 1-{MAX_REQUEST_ID_CHARS} characters of letters, digits, '_.:-'")
    return request_id


def utc_timestamp(epoch: float) -> str:
    """RFC 3339, UTC, microseconds and ``Z``: ``2026-11-27T19:50:00.123456Z``."""
    global _ts_cache
    second = int(epoch)
    micros = round((epoch - second) * 1e6)
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    cached = _ts_cache
    if cached[0] != second:  # one strftime per second, not per record
        cached = _ts_cache = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{micros:06d}Z"


_ts_cache: tuple[int, str] = (-1, "")
_random_bits = random.getrandbits


def new_request_id() -> str:
    """A random (version 4) UUID as 32 lowercase hex, like ``uuid.uuid4().hex``, at a fraction of its cost.

    From :mod:`random` (reseeded in a forked child), not ``os.urandom``: a request id must be unique, not
    secret, and a system call here would release the GIL right after the response arrived, letting the
    HTTP client's background threads run first on the caller's time (~0.3 ms per call measured).
    """
    value = _random_bits(128)
    value = (value & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    return f"{value:032x}"


_PARAMS_HASHES: dict[Any, str] = {}


def params_hash(params: Mapping[str, Any]) -> str:
    """First 16 hex of the sha256 of the canonical JSON of the params sent (memoised for scalar params)."""
    try:  # the value's type is part of the key: 1, 1.0 and True are equal but serialise differently
        key: Any = tuple((k, type(v), v) for k, v in params.items())
        digest = _PARAMS_HASHES.get(key)
    except TypeError:  # an unhashable value (a list of stop sequences…): no memo
        key, digest = None, None
    if digest is None:
        canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
        if key is not None:
            if len(_PARAMS_HASHES) > 4096:
                _PARAMS_HASHES.clear()
            _PARAMS_HASHES[key] = digest
    return digest


def _count(value: Any) -> int | None:
    if type(value) is int:
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return int(value)
    return None


def usage_tokens(response: Any) -> tuple[int | None, int | None]:
    """``(prompt_tokens, completion_tokens)`` from a response's ``usage``; None where not reported."""
    usage = getattr(response, "usage", None)
    if usage is None and isinstance(response, dict):
        usage = response.get("usage")
    if usage is None:
        return None, None
    if isinstance(usage, dict):
        return _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
    return _count(getattr(usage, "prompt_tokens", None)), _count(getattr(usage, "completion_tokens", None))


def clean_cost(cost: float | None) -> float | None:
    """A finite, non-negative float, or None (unknown)."""
    if cost is None or isinstance(cost, bool):
        return None
    try:
        value = float(cost)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def build_record(
    identity: CallIdentity,
    *,
    ts: str,
    request_id: str,
    model: str,
    params_hash: str,
    tokens_in: int | None,
    tokens_out: int | None,
    cost_usd: float | None,
    latency_ms: float,
    error_class: str | None,
    retries: int,
    tags: dict[str, str],
    guard: GuardRecord | None = None,
) -> dict[str, Any]:
    """One record: a new dict, keys in the order of :data:`RECORD_KEYS` (the fields of
    :class:`~llmops_cli.records.requests.RequestRecord`). A dict literal, not a validated model: this runs on every
    call. Its keys are checked against the model when this module is imported (:func:`_check_keys`), and tests
    validate what it builds as a ``RequestRecord``."""
    return {
        "v": SCHEMA_VERSION,
        "ts": ts,
        "request_id": request_id,
        "prompt": identity.name,
        "version": identity.version,
        "channel": identity.channel,
        "arm": identity.arm,
        "content_sha256": identity.sha256,
        "git_sha": identity.git_sha,
        "model": model,
        "params_hash": params_hash,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "cost_usd": cost_usd,
        "latency_ms": round(latency_ms, 3),
        "outcome": "ok" if error_class is None else "error",
        "error_class": error_class,
        "retries": retries,
        "tags": tags,
        "guard": guard.to_dict() if guard is not None else None,
    }


def _check_keys() -> None:
    """The keys :func:`build_record` writes are the model's, in its order (a new field fails here, at import)."""
    built = build_record(
        CallIdentity("p", ""),
        ts="",
        request_id="",
        model="",
        params_hash="",
        tokens_in=None,
        tokens_out=None,
        cost_usd=None,
        latency_ms=0.0,
        error_class=None,
        retries=0,
        tags={},
    )
    if tuple(built) != RECORD_KEYS:
        raise RuntimeError(f"serving/record.py writes {tuple(built)}, the request record has {RECORD_KEYS}")


_check_keys()


def upgrade_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record of any readable version as the current version (a new dict; v1 gains ``guard: null``).
    Other versions are returned unchanged, for the reader to refuse."""
    version = record.get("v")
    if type(version) is int and version in RequestRecord.MIGRATIONS:
        return migrate(RequestRecord, dict(record), "request record")
    return dict(record)


class _NotLoggable(Exception):
    pass


def _redacted_value(value: Any, redact: Any, depth: int) -> Any:
    if depth > MAX_VARS_DEPTH:
        raise _NotLoggable
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotLoggable
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise _NotLoggable
            out[redact(k)] = _redacted_value(v, redact, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_redacted_value(v, redact, depth + 1) for v in value]
    raise _NotLoggable


def loggable_vars(variables: Mapping[str, Any], redact: Any) -> dict[str, Any] | None:
    """The call's input variables for the record: a redacted JSON copy, or None when they are deeper than
    :data:`MAX_VARS_DEPTH`, larger than :data:`MAX_VARS_CHARS` as JSON, or hold something that is not JSON
    data (they are logged whole or not at all)."""
    try:
        out = _redacted_value(dict(variables), redact, 0)
        if len(_ENCODER.encode(out)) > MAX_VARS_CHARS:
            return None
    except (_NotLoggable, RecursionError, TypeError, ValueError):
        return None
    return out  # type: ignore[no-any-return]


_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False, default=str)


def to_json_line(record: Mapping[str, Any]) -> str:
    """The record as one line of JSON (ASCII only, so no character of it is a line break to any reader)."""
    return _ENCODER.encode(record)
