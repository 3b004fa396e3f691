"""Golden sets: ``evals/<prompt name>.yaml`` (or ``.jsonl``), the cases a prompt is evaluated on.

YAML form — a list of cases, or a mapping with shared ``defaults``::

    defaults:
      assert:
        - {type: judge, criteria: "Answers only from the context"}
    cases:
      - id: refund-window
        vars: {question: "How long do I have to return shoes?", context: [...]}
        expected: "30 days from delivery."
        cluster: returns            # cases sharing a source; the gate clusters on it
        tags: [returns, policy]
        assert:
          - {type: icontains, value: "30 days"}

JSON Lines form: one case object per line (no defaults).

Conversation cases (prompts that call tools, multi-turn assistants) script what happens after the prompt's
rendered messages: ``turns`` is a list of steps, each ``{user: TEXT}`` (the next user message, sent once the
model has answered the previous one) or ``{tools: {TOOL: RESULT-SCRIPT}}`` (the results returned when the
model calls TOOL, from that point on; a later step replaces a tool's script). A result script is one entry or
a list of entries ``{when: {ARG: VALUE…}, result: ANY}``: the first entry whose ``when`` is a subset of the
call's arguments answers it (no ``when``: any call). A call no entry matches, a call to a tool the prompt does
not declare, or a call to a declared tool without a script is a *case error*. ``max_turns`` bounds the model
calls of one sample (default :data:`DEFAULT_MAX_TURNS`, at most :data:`MAX_TURNS`)::

    - id: order-status
      vars: {question: "Where is my order A1?"}
      max_turns: 4
      turns:
        - tools:
            lookup_order:
              - when: {order_id: "A1"}
                result: {status: shipped, eta: "2026-12-09"}
        - user: "Can I still change the delivery address?"
      assert:
        - {type: tool-call, name: lookup_order, args: {order_id: "A1"}}
        - {type: icontains, value: shipped, turn: 1}
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .config import format_validation_error
from .errors import PromptFileError
from .jsonio import parse_bounded
from .limits import MAX_FILE_BYTES, MAX_YAML_DEPTH, checked_label, label_problem, name_problem
from .yamlio import LineMap, parse_yaml

DEFAULT_MAX_TURNS = 8  # model calls of one conversation sample when the case does not say
MAX_TURNS = 50  # the hard cap of ``max_turns``
MAX_TOOL_RESULT_CHARS = 1_000_000  # one scripted tool result, as sent (JSON text)
MAX_SCRIPT_ENTRIES = 100  # result entries of one tool in one step
MAX_STEPS = 100  # steps of one conversation case
TOOL_NAME = r"^[A-Za-z0-9_-]{1,64}$"  # what providers accept as a function name


class ToolResultEntry(BaseModel):
    """One scripted answer to a tool call: returned when ``when`` is a subset of the call's arguments."""

    model_config = ConfigDict(extra="forbid")

    when: dict[str, Any] | None = Field(None, description="Argument values the call must have (a subset match).")
    result: Any = Field(..., description="What the tool returns: a string as it is, anything else as JSON.")

    @field_validator("result")
    @classmethod
    def _size(cls, value: Any) -> Any:
        if len(tool_result_text(value)) > MAX_TOOL_RESULT_CHARS:
            raise ValueError(f"tool result is longer than {MAX_TOOL_RESULT_CHARS:,} characters")
        return value


def tool_result_text(value: Any) -> str:
    """A scripted result as the tool message's content: a string as it is, anything else as compact JSON."""

    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


class ConversationStep(BaseModel):
    """One step of a scripted conversation: a user message, or the tool results from this point on."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, description="The next user message.")
    tools: dict[str, list[ToolResultEntry]] | None = Field(
        None, description="Tool name -> the result entries that answer its calls (one entry or a list)."
    )

    @field_validator("tools", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, dict) else v for k, v in value.items()}
        return value

    @field_validator("tools")
    @classmethod
    def _tools(cls, value: dict[str, list[ToolResultEntry]] | None) -> dict[str, list[ToolResultEntry]] | None:

        for name, entries in (value or {}).items():
            if not re.match(TOOL_NAME, name):
                raise ValueError(f"tool name {name[:80]!r} must be 1-64 letters, digits, '_' or '-'")
            if not 1 <= len(entries) <= MAX_SCRIPT_ENTRIES:
                raise ValueError(f"tool {name!r}: between 1 and {MAX_SCRIPT_ENTRIES} result entries")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> "ConversationStep":
        if (self.user is None) == (self.tools is None):
            raise ValueError("a step is either {user: TEXT} or {tools: {...}}")
        return self

    def entries(self) -> dict[str, list[ToolResultEntry]]:
        """The tool scripts of a ``tools`` step, each as a list of entries."""
        return dict(self.tools or {})


class Case(BaseModel):
    """One golden case."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(..., min_length=1)
    vars: dict[str, Any] = Field(default_factory=dict)
    expected: Any = None
    cluster: str | None = None
    tags: list[str] = Field(default_factory=list)
    asserts: list[dict[str, Any]] = Field(default_factory=list, alias="assert")
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    turns: list[ConversationStep] | None = Field(
        None, max_length=MAX_STEPS, description="A scripted conversation (see the module docstring)."
    )
    max_turns: int | None = Field(
        None, ge=1, le=MAX_TURNS, description=f"Model calls of one sample at most (default {DEFAULT_MAX_TURNS})."
    )

    @property
    def is_conversation(self) -> bool:
        """The case scripts a conversation (``turns``)."""
        return self.turns is not None

    def script_json(self) -> dict[str, Any] | None:
        """The scripted conversation as JSON (``turns`` and the effective ``max_turns``), or None."""
        if self.turns is None:
            return None
        dumped = self.model_dump(mode="json", include={"turns"}, exclude_none=True)
        return {**dumped, "max_turns": self.max_turns or DEFAULT_MAX_TURNS}

    def script_view(self) -> list[tuple[str, str]]:
        """The scripted conversation for people: ``(heading, text)`` per step, after the rendered prompt."""

        out: list[tuple[str, str]] = []
        for step in self.turns or []:
            if step.user is not None:
                out.append(("user (after the model's answer)", step.user))
                continue
            for name, entries in step.entries().items():
                for e in entries:
                    when = "any call" if e.when is None else f"when {json.dumps(e.when, ensure_ascii=False)}"
                    result = tool_result_text(e.result)
                    if len(result) > 2000:
                        result = result[:2000] + f"…({len(result):,} characters)"
                    out.append((f"tool {name} ({when}) returns", result))
        if self.turns is not None:
            out.append(("turn limit", f"{self.max_turns or DEFAULT_MAX_TURNS} model calls"))
        return out

    def user_turns(self) -> int:
        """Exchanges of the conversation: the opening (the rendered prompt) plus each scripted user message."""
        return 1 + sum(1 for s in self.turns or [] if s.user is not None)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        problem = name_problem(value, "case id")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("asserts")
    @classmethod
    def _asserts(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _check_metric_names(value)

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, value: str | None) -> str | None:
        return checked_label(value, "cluster")

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            checked_label(tag, "tag")
        return value


def _check_metric_names(asserts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metric names go into results, reports and the gate: checked here, where they are declared, with the
    rule the results file is written with (the rest of an assertion is checked by the evaluator)."""
    for i, item in enumerate(asserts):
        metric = item.get("metric")
        if isinstance(metric, str):
            problem = label_problem(metric, "metric")
            if problem:
                raise ValueError(f"assertion {i}: {problem}")
    return asserts


class GoldenDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("asserts")
    @classmethod
    def _asserts(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _check_metric_names(value)

    asserts: list[dict[str, Any]] = Field(default_factory=list, alias="assert")
    vars: dict[str, Any] = Field(default_factory=dict)
    min_pass_rate: float | None = Field(
        None, ge=0, le=1, description="Share of outputs that must pass for `llmops eval run` to succeed."
    )


class GoldenFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    prompt: str | None = None
    description: str | None = None
    defaults: GoldenDefaults = Field(default_factory=GoldenDefaults)
    cases: list[Case]

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str | None) -> str | None:
        problem = None if value is None else name_problem(value, "prompt name")
        if problem:
            raise ValueError(problem)
        return value


@dataclass
class GoldenSet:
    """The parsed golden set of one prompt. ``case_lines`` maps case id to its line in the file."""

    prompt: str
    file: str
    cases: list[Case]
    defaults: GoldenDefaults = field(default_factory=GoldenDefaults)
    case_lines: dict[str, int | None] = field(default_factory=dict)
    duplicate_ids: list[tuple[str, int]] = field(default_factory=list)  # (id, index of the repeat)
    _lines: LineMap | None = field(default=None, repr=False)
    _prefix: tuple[str, ...] = ("cases",)

    def line_of(self, case_id: str, *key: str) -> int | None:
        """Line of a case (or of one of its keys, e.g. ``"vars"``) in the file, when known."""
        if case_id in self.case_lines:
            return self.case_lines[case_id]
        if self._lines is None:
            return None
        for i, c in enumerate(self.cases):
            if c.id == case_id:
                return self.line_at(i, *key)
        return None

    def line_at(self, index: int, *key: str) -> int | None:
        """Line of the case at ``index`` (or of one of its keys), when known."""
        if self._lines is None:
            return None
        return self._lines.line((*self._prefix, index, *key))

    def case(self, case_id: str) -> Case:
        from .errors import NotFoundError

        for c in self.cases:
            if c.id == case_id:
                return c
        raise NotFoundError(
            f"no case {case_id!r} in the golden set of '{self.prompt}' "
            f"({len(self.cases)} cases: {', '.join(c.id for c in self.cases[:5])}…)",
            file=self.file,
        )

    def vars_for(self, case: Case) -> dict[str, Any]:
        """A case's variables over the set's default variables."""
        return {**self.defaults.vars, **case.vars}

    def asserts_for(self, case: Case) -> list[dict[str, Any]]:
        """The set's default assertions followed by the case's own."""
        return [*self.defaults.asserts, *case.asserts]


def parse_golden(text: str, file: str, prompt: str, cache_dir: str | None = None) -> GoldenSet:
    """Parse a golden-set file; :class:`PromptFileError` with file:line on any problem."""
    if len(text) > MAX_FILE_BYTES:
        raise PromptFileError(f"file is {len(text):,} characters, more than the {MAX_FILE_BYTES:,} allowed", file=file)
    if file.endswith(".jsonl"):
        cases: list[Case] = []
        lines: dict[str, int | None] = {}
        for lineno, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                # strict (no NaN, no repeated keys) and as deep as YAML may nest: a case from JSON Lines must
                # fit wherever a YAML case fits (results files, the journal, the cache)
                obj = parse_bounded(raw, MAX_YAML_DEPTH, max_int_digits=1000)
                case = Case.model_validate(obj)
            except RecursionError:
                raise PromptFileError("invalid case: nested too deeply", file=file, line=lineno) from None
            except ValueError as exc:
                msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
                msg = msg.removeprefix("Value error, ")
                raise PromptFileError(f"invalid case: {msg}", file=file, line=lineno) from None
            cases.append(case)
            lines.setdefault(case.id, lineno)
        return _finish(GoldenSet(prompt=prompt, file=file, cases=cases, case_lines=lines))

    data = parse_yaml(text, file, cache_dir)
    prefix: tuple[str, ...] = ("cases",)
    if isinstance(data, list):
        data, prefix = {"cases": data}, ()
    if not isinstance(data, dict):
        raise PromptFileError("a golden set must be a list of cases or a mapping with 'cases'", file=file, line=1)
    try:
        gf = GoldenFile.model_validate(data)
    except ValidationError as exc:
        line_map = LineMap(text)
        msg, line = format_validation_error(exc, line_map)
        if not prefix:  # a top-level list: the synthetic "cases" key is not in the file
            line = line_map.line(tuple(exc.errors()[0]["loc"][1:]))
        raise PromptFileError(msg.removeprefix("cases -> "), file=file, line=line) from None
    return _finish(
        GoldenSet(
            prompt=prompt,
            file=file,
            cases=gf.cases,
            defaults=gf.defaults,
            _lines=LineMap(text),
            _prefix=prefix,
        )
    )


def _finish(gs: GoldenSet) -> GoldenSet:
    seen: set[str] = set()
    for i, c in enumerate(gs.cases):
        if c.id in seen:
            gs.duplicate_ids.append((c.id, i))
        seen.add(c.id)
    return gs
