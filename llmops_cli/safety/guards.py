"""Guards: input and output checks around ``Prompt.complete()`` / ``acomplete()``.

``load_prompt(name, guards=[...])`` attaches them. Each guard has a *stage* and an *action*:

=============  ========================================================================================
stage          what it reads
=============  ========================================================================================
``input``      every string in the caller's variables, before rendering (system text in the prompt file
               is the team's own and is not checked); ``max_size`` reads the rendered messages
``output``     the reply text (the first choice's message content)
``both``       both
=============  ========================================================================================

=============  ========================================================================================
action         effect
=============  ========================================================================================
``block``      raise :class:`~llmops_cli.errors.GuardBlocked`. An input block happens before any request:
               no provider call is made, nothing is paid. An output block discards a reply already paid.
``redact``     replace what was found with ``[REDACTED:<detector>]`` — in the variables before rendering,
               or in the reply's content (only detectors can redact)
``flag``       let the call through; the hit is recorded
=============  ========================================================================================

Kinds: :func:`pii` (the detectors of :mod:`.detectors`, with ``allow``), :func:`max_size` (characters and an
estimate of tokens, ``ceil(chars / 4)``, of the rendered messages), :func:`json_schema` (the reply must be
JSON matching a schema, by default the prompt's ``output.schema``), :func:`refusal`, and :func:`custom`
(any callable ``text -> bool | str | None``; true or a string is a hit). A guard may also be given as a mapping
with the same fields as its function (``{"type": "pii", "action": "redact", "detectors": ["email"]}``).

Every call's outcome goes in the request record's ``guard`` field (:class:`GuardRecord`); ``llmops usage
report --by guard`` groups by its ``summary`` (``pass``, ``flagged:pii``, ``redacted:pii``, ``blocked:max_size``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import GuardBlocked, UsageError
from ..records.content import content_text
from .config import allow_problem, detectors_problem, languages_problem
from .detectors import find_pii, redact_pii
from .refusal import LANGUAGES, refusal_match
from .schema import re2_validator

Stage = Literal["input", "output", "both"]
Action = Literal["block", "redact", "flag"]
STAGES: tuple[str, ...] = ("input", "output", "both")
ACTIONS: tuple[str, ...] = ("block", "redact", "flag")
MAX_GUARDS = 32
MAX_VARIABLE_STRINGS = 10_000  # strings of the variables an input guard reads
MAX_DEPTH = 64  # nesting of the variables an input guard walks
_SEVERITY = {"flag": 1, "redact": 2, "block": 3}
_PAST = {"flag": "flagged", "redact": "redacted", "block": "blocked"}


@dataclass(frozen=True)
class GuardHit:
    """One guard that fired: its name, stage, action, and what it saw (detector names and counts, never
    the values themselves)."""

    guard: str
    stage: str
    action: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"guard": self.guard, "stage": self.stage, "action": self.action, "detail": self.detail}


@dataclass
class GuardRecord:
    """The ``guard`` field of a request record (schema v2): the guards that ran and those that fired.

    ``outcome`` is the most severe action taken — ``pass``, ``flagged``, ``redacted`` or ``blocked`` —
    and ``summary`` that outcome with the names of the guards that took it (``blocked:pii``)."""

    checked: list[str] = field(default_factory=list)
    hits: list[GuardHit] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if not self.hits:
            return "pass"
        worst = max(self.hits, key=lambda h: _SEVERITY[h.action]).action
        return _PAST[worst]

    @property
    def summary(self) -> str:
        outcome = self.outcome
        if outcome == "pass":
            return "pass"
        worst = max(_SEVERITY[h.action] for h in self.hits)
        names = sorted({h.guard for h in self.hits if _SEVERITY[h.action] == worst})
        return f"{outcome}:{','.join(names)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "outcome": self.outcome,
            "checked": list(self.checked),
            "hits": [h.to_dict() for h in self.hits],
        }


@dataclass(frozen=True)
class Guard:
    """A named check: ``check(text)`` returns None (nothing found) or ``(detail, redacted text or None)``."""

    name: str
    stage: str
    action: str
    check: Callable[[str], tuple[str, str | None] | None] = field(repr=False)
    reads_messages: bool = False  # max_size: the rendered messages, not the variables
    needs_schema: bool = False  # json_schema without a schema: bound to the prompt's output.schema

    def applies(self, stage: str) -> bool:
        return self.stage == "both" or self.stage == stage


def _mode(name: str, stage: str, action: str, *, redactable: bool = False, stages: Iterable[str] = STAGES) -> None:
    if stage not in stages:
        raise UsageError(f"guard {name!r}: stage must be one of {', '.join(stages)}, not {stage!r}")
    if action not in ACTIONS:
        raise UsageError(f"guard {name!r}: action= must be one of {', '.join(ACTIONS)}, not {action!r}")
    if action == "redact" and not redactable:
        raise UsageError(f"guard {name!r}: only detector guards (pii) can redact; use block or flag")


def pii(
    *,
    detectors: Sequence[str] | None = None,
    allow: Sequence[str] = (),
    stage: Stage = "both",
    action: Action = "redact",
    name: str = "pii",
) -> Guard:
    """PII and secrets (see :mod:`llmops_cli.safety.detectors`); ``allow`` values or ``@domain`` pass."""
    _mode(name, stage, action, redactable=True)
    for problem in (
        detectors_problem(list(detectors)) if detectors is not None else None,
        allow_problem(list(allow)),
    ):
        if problem:
            raise UsageError(f"guard {name!r}: {problem}")
    chosen = list(detectors) if detectors is not None else None
    allowed = tuple(allow)

    def check(text: str) -> tuple[str, str | None] | None:
        found = find_pii(text, chosen, allowed)
        if not found:
            return None
        counts: dict[str, int] = {}
        for f in found:
            counts[f.detector] = counts.get(f.detector, 0) + 1
        return ", ".join(f"{k}×{v}" for k, v in sorted(counts.items())), redact_pii(text, found)

    return Guard(name, stage, action, check)


def max_size(
    *, max_chars: int | None = None, max_tokens: int | None = None, stage: Stage = "input", action: Action = "block"
) -> Guard:
    """Input: the rendered messages' characters (all contents); output: the reply's. Tokens are estimated
    as ``ceil(chars / 4)`` — an estimate, no tokenizer is loaded."""
    name = "max_size"
    _mode(name, stage, action)
    for label, value in (("max_chars", max_chars), ("max_tokens", max_tokens)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise UsageError(f"guard {name!r}: {label} must be a positive whole number")
    if max_chars is None and max_tokens is None:
        raise UsageError(f"guard {name!r}: give max_chars and/or max_tokens")

    def check(text: str) -> tuple[str, str | None] | None:
        n = len(text)
        if max_chars is not None and n > max_chars:
            return f"{n} chars > {max_chars}", None
        if max_tokens is not None and math.ceil(n / 4) > max_tokens:
            return f"~{math.ceil(n / 4)} tokens > {max_tokens}", None
        return None

    return Guard(name, stage, action, check, reads_messages=True)


def json_schema(schema: Mapping[str, Any] | None = None, *, action: Action = "block") -> Guard:
    """The reply must be JSON (bare or in one code fence) matching ``schema`` (``None``: the prompt's
    ``output.schema``, bound when the guard is attached). Schema regexes run in RE2 (:mod:`.schema`)."""
    name = "json_schema"
    _mode(name, "output", action, stages=("output",))
    if schema is None:
        return Guard(name, "output", action, _schema_check(None), needs_schema=True)
    return Guard(name, "output", action, _schema_check(schema))


MAX_JSON_DEPTH = 32


def _schema_check(schema: Mapping[str, Any] | None) -> Callable[[str], tuple[str, str | None] | None]:
    """The check of a ``json_schema`` guard; the schema is validated here (:class:`UsageError`)."""
    validator: Any = None
    if schema is not None:
        if not isinstance(schema, Mapping):
            raise UsageError("guard 'json_schema': schema must be a JSON Schema mapping")
        try:
            validator = re2_validator(dict(schema))
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"guard 'json_schema': invalid JSON Schema: {str(exc)[:200]}") from None

    def check(text: str) -> tuple[str, str | None] | None:
        from ..jsonio import parse_bounded

        body = text.strip()
        if body.startswith("```") and body.endswith("```"):
            body = body.split("\n", 1)[1][:-3] if "\n" in body else ""
        try:
            doc = parse_bounded(body.strip(), MAX_JSON_DEPTH, max_int_digits=1000)
        except (ValueError, RecursionError):
            return "not JSON", None
        if validator is None:
            return None
        try:
            error = next(iter(validator.iter_errors(doc)), None)
        except RecursionError:
            return "schema references recurse too deeply on this reply", None
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return f"schema violation at {where}", None

    return check


def refusal(*, languages: Sequence[str] = LANGUAGES, action: Action = "flag") -> Guard:
    """The reply reads as a refusal (see :mod:`llmops_cli.safety.refusal`): flag it, or block it."""
    name = "refusal"
    _mode(name, "output", action, stages=("output",))
    problem = languages_problem(list(languages))
    if problem:
        raise UsageError(f"guard {name!r}: {problem}")
    langs = tuple(languages)

    def check(text: str) -> tuple[str, str | None] | None:
        m = refusal_match(text, langs)
        return (f"refusal ({m.language})", None) if m else None

    return Guard(name, "output", action, check)


def custom(
    fn: Callable[[str], bool | str | None], *, name: str, stage: Stage = "output", action: Action = "flag"
) -> Guard:
    """Any callable on the text: true or a non-empty string (the detail recorded) is a hit. An exception
    from it is a hit too (detail: its class name) — a broken check must not wave a call through."""
    if not callable(fn):
        raise UsageError("custom guard: fn must be callable")
    if not isinstance(name, str) or not name or len(name) > 64:
        raise UsageError("custom guard: name must be 1-64 characters")
    _mode(name, stage, action)

    def check(text: str) -> tuple[str, str | None] | None:
        try:
            verdict = fn(text)
        except Exception as exc:
            return f"check raised {type(exc).__name__}", None
        if isinstance(verdict, str):
            return (verdict[:200], None) if verdict else None
        return ("custom check", None) if verdict else None

    return Guard(name, stage, action, check)


_KINDS: dict[str, Callable[..., Guard]] = {
    "pii": pii,
    "max_size": max_size,
    "json_schema": json_schema,
    "refusal": refusal,
}


def parse_guard(value: Any) -> Guard:
    """A :class:`Guard`, or a mapping ``{"type": kind, **options}`` of the kinds above."""
    if isinstance(value, Guard):
        return value
    if isinstance(value, Mapping):
        kind = value.get("type")
        if kind not in _KINDS:
            raise UsageError(f"guard type must be one of {', '.join(_KINDS)}, not {kind!r}")
        options = {k: v for k, v in value.items() if k != "type"}
        try:
            return _KINDS[kind](**options)
        except TypeError as exc:
            raise UsageError(f"guard {kind!r}: {exc}") from None
    raise UsageError(f"guards= takes Guard objects or mappings with a 'type', not {type(value).__name__}")


@dataclass(frozen=True)
class GuardSet:
    """The guards of a prompt, checked once when attached."""

    guards: tuple[Guard, ...]

    @classmethod
    def of(cls, guards: Iterable[Any], output_schema: Mapping[str, Any] | None = None) -> GuardSet:
        items = [parse_guard(g) for g in guards]
        if len(items) > MAX_GUARDS:
            raise UsageError(f"at most {MAX_GUARDS} guards per prompt, got {len(items)}")
        bound = [
            Guard(g.name, g.stage, g.action, _schema_check(output_schema))
            if g.needs_schema and output_schema is not None
            else g
            for g in items
        ]
        return cls(tuple(bound))

    def names(self) -> list[str]:
        return [g.name for g in self.guards]

    def check_variables(self, variables: Mapping[str, Any], record: GuardRecord) -> dict[str, Any]:
        """Input guards on every string of ``variables``: the variables to render (redacted where a guard
        redacts). Raises :class:`GuardBlocked` on a block."""
        out = dict(variables)
        for g in self.guards:
            if not g.applies("input") or g.reads_messages:
                continue
            details: list[str] = []
            budget = [MAX_VARIABLE_STRINGS]
            for key in list(out):
                out[key] = _map_strings(out[key], g, details, budget)
            if budget[0] < 0:
                details.append("input too large or nested too deeply to check")
            if details:
                self._hit(record, g, "input", "; ".join(sorted(set(details)))[:300])
        return out

    def check_messages(self, messages: Sequence[Mapping[str, Any]], record: GuardRecord) -> None:
        """Size guards on the rendered messages (all contents together)."""
        sized = [g for g in self.guards if g.reads_messages and g.applies("input")]
        if not sized:
            return
        text = "".join(_text(m.get("content")) for m in messages)
        for g in sized:
            hit = g.check(text)
            if hit is not None:
                self._hit(record, g, "input", hit[0])

    def check_output(self, text: str, record: GuardRecord) -> str:
        """Output guards on the reply text: the text to return (redacted where a guard redacts). Raises
        :class:`GuardBlocked` on a block."""
        for g in self.guards:
            if not g.applies("output"):
                continue
            hit = g.check(text)
            if hit is None:
                continue
            detail, redacted = hit
            if g.action == "redact" and redacted is not None:
                text = redacted
            self._hit(record, g, "output", detail)
        return text

    @staticmethod
    def _hit(record: GuardRecord, g: Guard, stage: str, detail: str) -> None:
        record.hits.append(GuardHit(g.name, stage, g.action, detail))
        if g.action == "block":
            raise GuardBlocked(f"guard {g.name!r} blocked the {stage}: {detail}")


def _text(value: Any) -> str:
    """A message's content as text: strings as they are, a list of content parts as its text with each image or
    file as its label (never its base64 bytes), anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return content_text(value)
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _map_strings(value: Any, g: Guard, details: list[str], budget: list[int], depth: int = 0) -> Any:
    """``value`` with ``g`` applied to each string inside it (lists and mappings walked). Past
    :data:`MAX_VARIABLE_STRINGS` strings or :data:`MAX_DEPTH` levels the rest is not checked and ``budget``
    goes below 0 — which the caller records as a hit, so a blocking guard blocks what it could not read."""
    if budget[0] <= 0 or depth > MAX_DEPTH:
        if isinstance(value, str | list | tuple | dict):
            budget[0] = -1
        return value
    if isinstance(value, str):
        budget[0] -= 1
        hit = g.check(value)
        if hit is None:
            return value
        details.append(hit[0])
        return hit[1] if g.action == "redact" and hit[1] is not None else value
    if isinstance(value, list):
        return [_map_strings(v, g, details, budget, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_map_strings(v, g, details, budget, depth + 1) for v in value)
    if isinstance(value, dict):
        return {k: _map_strings(v, g, details, budget, depth + 1) for k, v in value.items()}
    return value
