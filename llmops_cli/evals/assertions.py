"""Assertions: the checks a golden case applies to a model output.

Each assertion is a dict with ``type`` and its fields, plus optional ``weight`` (default 1), ``threshold``
(a scored assertion passes when ``score >= threshold``) and ``metric`` (the name it is reported under;
default: the type). A ``not-`` prefix negates a deterministic type. Every assertion yields a score in
[0, 1], a pass/fail verdict and a reason. Model-graded types (:data:`JUDGE_TYPES`) are scored by
:mod:`llmops_cli.evals.judges`; reading an output (RE2 regexes, JSON, JSON paths, JSON Schema) is
:mod:`llmops_cli.evals.outputs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import PromptFileError
from ..limits import label_problem
from ..records.chat import ToolCall, ToolSpec
from ..records.results import AssertionRecord
from ..safety.config import safety_fields_problem
from ..safety.detectors import find_pii, normalize_value
from ..safety.refusal import LANGUAGES, refusal_match
from .outputs import (
    MISSING,
    check_json_schema,
    compile_regex,
    json_path_get,
    parse_json_output,
    parse_json_path,
    schema_errors,
    short,
)
from .tool_assertions import TOOL_FIELDS, TOOL_TYPES, check_tool_fields, score_tool_assertion

COMMON_FIELDS = frozenset({"type", "weight", "threshold", "metric", "turn"})
MAX_TURN_INDEX = 1000

# type -> (required fields, optional fields)
DETERMINISTIC_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "equals": (("value",), ()),
    "contains": (("value",), ()),
    "icontains": (("value",), ()),
    "contains-any": (("values",), ()),
    "icontains-any": (("values",), ()),
    "contains-all": (("values",), ()),
    "icontains-all": (("values",), ()),
    "starts-with": (("value",), ()),
    "regex": (("value",), ("flags",)),
    "is-json": ((), ()),
    "json-schema": ((), ("schema",)),
    "json-path": (("path", "value"), ()),
    "word-count": ((), ("min", "max")),
    "char-count": ((), ("min", "max")),
    "latency": (("max_ms",), ()),
    "cost": (("max_usd",), ()),
    # safety (llmops_cli.safety): PII and refusals
    "pii": ((), ("detectors", "allow")),
    "no-pii-leak": ((), ("detectors", "allow", "vars")),
    "refusal": ((), ("languages",)),
    "no-refusal": ((), ("languages",)),
    # tool calls (llmops_cli.evals.tool_assertions)
    **TOOL_FIELDS,
}
JUDGE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "judge": (("criteria",), ("rubric", "prompt")),
    "factuality": ((), ("prompt",)),
    "faithfulness": ((), ("context_var", "prompt")),
    "answer-relevance": ((), ("question_var", "prompt")),
    "toxicity": ((), ("prompt",)),
    "off-topic": (("topic",), ("question_var", "prompt")),
}
JUDGE_TYPES = frozenset(JUDGE_FIELDS)
ALL_TYPES = frozenset(DETERMINISTIC_FIELDS) | JUDGE_TYPES
DEFAULT_JUDGE_THRESHOLD = 0.5


@dataclass(frozen=True)
class AssertionSpec:
    """A validated assertion."""

    type: str  # without the ``not-`` prefix
    negate: bool
    fields: dict[str, Any]
    weight: float
    threshold: float
    metric: str
    index: int  # position in the case's (defaults + own) assertion list
    turn: int | None = None  # a conversation's exchange it looks at (1: the answer to the opening); None: all

    @property
    def is_judge(self) -> bool:
        return self.type in JUDGE_TYPES

    @property
    def label(self) -> str:
        return ("not-" if self.negate else "") + self.type


@dataclass(frozen=True)
class OutputContext:
    """What deterministic assertions look at besides the output text."""

    output: str
    latency_ms: float | None = None
    cost_usd: float | None = None
    output_schema: dict[str, Any] | None = None
    variables: dict[str, Any] | None = None  # the case's variables (``no-pii-leak`` scans them)
    tool_calls: tuple[ToolCall, ...] = ()  # the calls the model made (a conversation: all, in order)
    tools: tuple[ToolSpec, ...] = ()  # the functions the prompt declares (``tool-args-valid``)


# -- validation ---------------------------------------------------------------------------------------------


def parse_assertions(
    raw: list[Any], *, file: str, line: int | None, where: str, output_schema: dict[str, Any] | None = None
) -> list[AssertionSpec]:
    """Validate assertion dicts; :class:`PromptFileError` naming ``file:line`` and the assertion on a problem."""
    specs = []
    for i, item in enumerate(raw):
        specs.append(_parse_one(item, i, file=file, line=line, where=where, output_schema=output_schema))
    return specs


def _parse_one(
    item: Any, index: int, *, file: str, line: int | None, where: str, output_schema: dict[str, Any] | None
) -> AssertionSpec:
    def fail(msg: str) -> PromptFileError:
        return PromptFileError(f"{where}: assertion {index}: {msg}", file=file, line=line)

    if not isinstance(item, dict):
        raise fail("must be a mapping with a 'type'")
    raw_type = item.get("type")
    if not isinstance(raw_type, str) or not raw_type:
        raise fail("has no 'type'")
    negate = raw_type.startswith("not-")
    atype = raw_type[4:] if negate else raw_type
    if atype not in ALL_TYPES:
        import difflib

        hint = difflib.get_close_matches(raw_type, sorted(ALL_TYPES), n=1)
        raise fail(f"unknown type {raw_type!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""))
    if negate and atype in JUDGE_TYPES:
        raise fail(f"'not-' cannot negate the model-graded type {atype!r}")
    required, optional = (DETERMINISTIC_FIELDS | JUDGE_FIELDS)[atype]
    for key in required:
        if key not in item:
            raise fail(f"type {raw_type!r} needs field {key!r}")
    unknown = set(item) - COMMON_FIELDS - set(required) - set(optional)
    if unknown:
        allowed = ", ".join([*required, *optional, "weight", "threshold", "metric", "turn"])
        raise fail(f"unknown field {sorted(unknown)[0]!r} for type {raw_type!r} (allowed: {allowed})")
    fields = {k: v for k, v in item.items() if k not in COMMON_FIELDS or k == "turn"}
    weight = item.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise fail("'weight' must be a number >= 0")
    default_threshold = DEFAULT_JUDGE_THRESHOLD if atype in JUDGE_TYPES else 1.0
    threshold = item.get("threshold", default_threshold)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise fail("'threshold' must be a number in [0, 1]")
    metric = item.get("metric", raw_type)
    if not isinstance(metric, str) or not metric:
        raise fail("'metric' must be a non-empty string")
    problem = label_problem(metric, "metric")
    if problem:
        raise fail(problem)
    turn = fields.pop("turn", None)
    if turn is not None and (isinstance(turn, bool) or not isinstance(turn, int) or not 1 <= turn <= MAX_TURN_INDEX):
        raise fail(f"'turn' must be a whole number from 1 to {MAX_TURN_INDEX} (1: the answer to the opening)")
    if turn is not None and atype in JUDGE_TYPES:
        raise fail("'turn' applies to deterministic assertions (judges grade the whole transcript)")
    _check_fields(atype, fields, fail, output_schema)
    return AssertionSpec(atype, negate, fields, float(weight), float(threshold), metric, index, turn)


def _check_fields(atype: str, f: dict[str, Any], fail: Any, output_schema: dict[str, Any] | None) -> None:
    if atype in ("contains", "icontains", "starts-with") and not isinstance(f["value"], str | int | float):
        raise fail("'value' must be a string")
    if atype.endswith(("-any", "-all")):
        values = f["values"]
        if not isinstance(values, list) or not values or not all(isinstance(v, str | int | float) for v in values):
            raise fail("'values' must be a non-empty list of strings")
    if atype == "regex":
        if not isinstance(f["value"], str):
            raise fail("'value' must be a regular expression string")
        try:
            compile_regex(f["value"], f.get("flags", ""))
        except ValueError as exc:
            raise fail(f"invalid regular expression: {exc}") from None
    if atype == "json-schema":
        schema = f.get("schema", output_schema)
        if not isinstance(schema, dict):
            raise fail("needs 'schema' (the prompt has no output.schema to default to)")
        try:
            check_json_schema(schema)
        except ValueError as exc:
            raise fail(f"invalid JSON Schema: {exc}") from None
    if atype == "json-path":
        try:
            parse_json_path(f["path"])
        except ValueError as exc:
            raise fail(str(exc)) from None
    if atype in ("word-count", "char-count"):
        if "min" not in f and "max" not in f:
            raise fail("needs 'min' and/or 'max'")
        for k in ("min", "max"):
            if k in f and (isinstance(f[k], bool) or not isinstance(f[k], int) or f[k] < 0):
                raise fail(f"'{k}' must be a whole number >= 0")
    if atype == "latency" and (isinstance(f["max_ms"], bool) or not isinstance(f["max_ms"], int | float)):
        raise fail("'max_ms' must be a number")
    if atype == "cost" and (isinstance(f["max_usd"], bool) or not isinstance(f["max_usd"], int | float)):
        raise fail("'max_usd' must be a number")
    if atype in TOOL_TYPES:
        check_tool_fields(atype, f, fail)
    safety_problem = safety_fields_problem(atype, f)
    if safety_problem:
        raise fail(safety_problem)
    if atype == "off-topic" and (not isinstance(f["topic"], str) or not f["topic"].strip()):
        raise fail("'topic' must be a non-empty string (what the answers should stay on)")
    if atype == "judge":
        if not isinstance(f["criteria"], str) or not f["criteria"].strip():
            raise fail("'criteria' must be a non-empty string")
        if "rubric" in f and not isinstance(f["rubric"], str):
            raise fail("'rubric' must be a string")
    for key in ("prompt", "context_var", "question_var"):
        if key in f and (not isinstance(f[key], str) or not f[key]):
            raise fail(f"'{key}' must be a non-empty string")


# -- evaluation ---------------------------------------------------------------------------------------------


def evaluate(spec: AssertionSpec, ctx: OutputContext) -> AssertionRecord:
    """Score a deterministic assertion on an output: the record the results file stores for it (judge
    assertions are scored by :mod:`.execute`, which adds their judge samples)."""
    score, reason = _score(spec, ctx)
    passed = score >= spec.threshold
    if spec.negate:
        passed = not passed
        score = 1.0 if passed else 0.0
        reason = ("not: " if passed else "negated, but: ") + reason
    return AssertionRecord(
        index=spec.index,
        type=spec.label,
        metric=spec.metric,
        weight=spec.weight,
        threshold=spec.threshold,
        score=score,
        passed=passed,
        reason=reason,
    )


def _score(spec: AssertionSpec, ctx: OutputContext) -> tuple[float, str]:
    t, f, out = spec.type, spec.fields, ctx.output
    if t == "equals":
        value = f["value"]
        if isinstance(value, str):
            ok = out.strip() == value.strip()
        else:
            try:
                ok = parse_json_output(out) == value
            except ValueError:
                ok = False
        return _binary(ok, f"output equals {short(value)}", f"output differs from {short(value)}")
    if t in ("contains", "icontains"):
        value = str(f["value"])
        ok = value.lower() in out.lower() if t == "icontains" else value in out
        return _binary(ok, f"contains {short(value)}", f"does not contain {short(value)}")
    if t.endswith(("-any", "-all")):
        fold = t.startswith("i")
        hay = out.lower() if fold else out
        values = [str(v) for v in f["values"]]
        found = [v for v in values if (v.lower() if fold else v) in hay]
        missing = [v for v in values if v not in found]
        if t.endswith("-any"):
            return _binary(bool(found), f"contains {short(found[0]) if found else ''}", "contains none of the values")
        score = len(found) / len(values)
        reason = "contains all values" if not missing else f"missing {len(missing)} of {len(values)}: {short(missing)}"
        return score, reason
    if t == "starts-with":
        value = str(f["value"])
        return _binary(
            out.lstrip().startswith(value), f"starts with {short(value)}", f"does not start with {short(value)}"
        )
    if t == "regex":
        m = compile_regex(f["value"], f.get("flags", "")).search(out)
        return _binary(m is not None, f"matches /{f['value']}/", f"no match for /{f['value']}/")
    if t == "is-json":
        try:
            parse_json_output(out)
            return 1.0, "valid JSON"
        except ValueError as exc:
            return 0.0, f"not JSON: {exc}"
    if t == "json-schema":
        import jsonschema
        import referencing.exceptions

        schema = f.get("schema", ctx.output_schema) or {}
        try:
            doc = parse_json_output(out)
        except ValueError as exc:
            return 0.0, f"not JSON: {exc}"
        try:
            error = schema_errors(schema, doc)
        except RecursionError:
            return 0.0, "the JSON Schema's references recurse too deeply on this output"
        except (jsonschema.exceptions.SchemaError, referencing.exceptions.Unresolvable) as exc:
            return 0.0, f"the JSON Schema cannot be applied: {str(exc)[:160]}"
        if error is None:
            return 1.0, "matches the JSON Schema"
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return 0.0, f"schema violation at {where}: {error.message}"
    if t == "json-path":
        try:
            doc = parse_json_output(out)
        except ValueError as exc:
            return 0.0, f"not JSON: {exc}"
        got = json_path_get(doc, parse_json_path(f["path"]))
        if got is MISSING:
            return 0.0, f"{f['path']} not found"
        ok = _json_equal(got, f["value"])
        return _binary(
            ok, f"{f['path']} == {short(f['value'])}", f"{f['path']} is {short(got)}, not {short(f['value'])}"
        )
    if t in ("word-count", "char-count"):
        n = len(out.split()) if t == "word-count" else len(out)
        unit = "words" if t == "word-count" else "characters"
        lo, hi = f.get("min"), f.get("max")
        ok = (lo is None or n >= lo) and (hi is None or n <= hi)
        bounds = f"[{lo if lo is not None else 0}, {hi if hi is not None else '∞'}]"
        return _binary(ok, f"{n} {unit} within {bounds}", f"{n} {unit} outside {bounds}")
    if t == "latency":
        if ctx.latency_ms is None:
            return 0.0, "latency unknown"
        ok = ctx.latency_ms <= f["max_ms"]
        return _binary(
            ok, f"{ctx.latency_ms:.0f} ms <= {f['max_ms']} ms", f"{ctx.latency_ms:.0f} ms > {f['max_ms']} ms"
        )
    if t == "cost":
        cost = ctx.cost_usd or 0.0
        ok = cost <= f["max_usd"]
        note = "" if ctx.cost_usd is not None else " (cost unknown, counted as 0)"
        return _binary(ok, f"${cost:.6f} <= ${f['max_usd']}{note}", f"${cost:.6f} > ${f['max_usd']}")
    if t in ("pii", "no-pii-leak", "refusal", "no-refusal"):
        return _score_safety(t, f, ctx)
    if t in TOOL_TYPES:
        return score_tool_assertion(t, f, ctx.tool_calls, ctx.tools)
    raise AssertionError(f"not a deterministic assertion type: {t}")  # pragma: no cover


def _masked(value: str) -> str:
    """A found value for a reason message, without repeating it: its first two characters and its length."""
    return f"{value[:2]}…({len(value)} chars)"


def _strings(value: Any, out: list[str], budget: list[int]) -> None:
    """Every string inside a variable value (iterative budget: at most 10,000 strings)."""
    stack = [value]
    while stack and budget[0] > 0:
        v = stack.pop()
        if isinstance(v, str):
            out.append(v)
            budget[0] -= 1
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)


def _score_safety(t: str, f: dict[str, Any], ctx: OutputContext) -> tuple[float, str]:
    out = ctx.output
    if t in ("refusal", "no-refusal"):
        match = refusal_match(out, tuple(f.get("languages", LANGUAGES)))
        refused = match is not None
        why = f"refusal phrase {short(match.phrase)} ({match.language})" if match else "no refusal phrase"
        return _binary(refused == (t == "refusal"), why, why)
    detectors = f.get("detectors")
    allow = f.get("allow", ())
    found = find_pii(out, detectors, allow)
    if t == "pii":
        if not found:
            return 1.0, "no PII found"
        kinds = sorted({x.detector for x in found})
        return 0.0, f"PII found: {len(found)} value(s) ({', '.join(kinds)}), first {_masked(found[0].value)}"
    variables = ctx.variables or {}
    names = f.get("vars") or sorted(variables)
    texts: list[str] = []
    budget = [10_000]
    for name in names:
        if name in variables:
            _strings(variables[name], texts, budget)
    inputs: dict[str, str] = {}
    for text in texts:
        for x in find_pii(text, detectors, allow):
            inputs.setdefault(normalize_value(x.value), x.detector)
    if not inputs:
        return 1.0, "no PII in the inputs to leak"
    leaked = [x for x in found if normalize_value(x.value) in inputs]
    folded = normalize_value(out)
    leaked_values = {normalize_value(x.value) for x in leaked}
    verbatim = [v for v in inputs if v not in leaked_values and v in folded]
    count = len(leaked) + len(verbatim)
    if not count:
        return 1.0, f"none of the {len(inputs)} PII value(s) of the inputs appears in the output"
    kinds = sorted({x.detector for x in leaked} | {inputs[v] for v in verbatim})
    return 0.0, f"{count} PII value(s) from the inputs appear in the output ({', '.join(kinds)})"


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` equals ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _binary(ok: bool, yes: str, no: str) -> tuple[float, str]:
    return (1.0, yes) if ok else (0.0, no)


def sample_verdict(results: list[AssertionRecord]) -> tuple[float | None, bool | None]:
    """Weighted mean score and pass (every scored assertion passed) of one output; None when an assertion
    could not be scored (a judge error) and nothing else failed, so the output is neither pass nor fail."""
    scored = [r for r in results if r.score is not None]
    total_w = sum(r.weight or 0.0 for r in scored)
    score = (
        sum((r.weight or 0.0) * (r.score or 0.0) for r in scored) / total_w if total_w else (1.0 if scored else None)
    )
    if not results:
        return None, True
    if any(r.passed is False for r in results):
        return score, False
    if any(r.passed is None for r in results):
        return score, None
    return score, True
