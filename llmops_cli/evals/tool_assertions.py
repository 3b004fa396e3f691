"""Tool-call assertions: checks on the functions a model called (a single-turn reply's tool calls, or every call
of a conversation in order; with ``turn: N`` the calls of one exchange).

=================  =====================================================================================
``tool-call``      a call of ``name`` was made; ``args``: its arguments contain these values (subset match);
                   ``args_schema``: its arguments validate against this JSON Schema
``no-tool-call``   no tool was called (``name``: no call of that tool)
``tool-sequence``  ``names`` were called in this order (other calls may come between; ``any_order: true``:
                   each was called, in any order; ``exact: true``: exactly these calls and no others)
``tool-call-f1``   F1 of the calls made against ``expected`` (names, or ``{name, args}`` with a subset match);
                   the score is the F1, passing at ``threshold`` (default 1)
``tool-args-valid`` every call (``name``: every call of that tool) has JSON arguments that validate against
                   the tool's own ``parameters`` schema; a call to a tool the prompt does not declare fails
=================  =====================================================================================
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ..records.chat import ToolCall, ToolSpec
from .outputs import check_json_schema, schema_errors, short

TOOL_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tool-call": (("name",), ("args", "args_schema")),
    "no-tool-call": ((), ("name",)),
    "tool-sequence": (("names",), ("any_order", "exact")),
    "tool-call-f1": (("expected",), ()),
    "tool-args-valid": ((), ("name",)),
}
TOOL_TYPES = frozenset(TOOL_FIELDS)
MAX_EXPECTED_CALLS = 1000

__all__ = ["TOOL_FIELDS", "TOOL_TYPES", "check_tool_fields", "score_tool_assertion", "subset_match"]


def subset_match(expected: Any, actual: Any) -> bool:
    """``expected`` is contained in ``actual``: every key of a mapping present with a matching value (recursively),
    lists of the same length matching item by item, other values equal (``1 == 1.0``, but ``True != 1``)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and subset_match(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(subset_match(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def _name_ok(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 200


def check_tool_fields(atype: str, f: dict[str, Any], fail: Callable[[str], Exception]) -> None:
    """Validate a tool assertion's fields (raises ``fail(message)``)."""
    if "name" in f and not _name_ok(f["name"]):
        raise fail("'name' must be a tool name")
    if atype == "tool-call":
        if "args" in f and not isinstance(f["args"], dict):
            raise fail("'args' must be a mapping of argument values (a subset match)")
        if "args_schema" in f:
            if not isinstance(f["args_schema"], dict):
                raise fail("'args_schema' must be a JSON Schema (a mapping)")
            try:
                check_json_schema(f["args_schema"])
            except ValueError as exc:
                raise fail(f"invalid JSON Schema in 'args_schema': {exc}") from None
    if atype == "tool-sequence":
        names = f["names"]
        if not isinstance(names, list) or not names or not all(_name_ok(n) for n in names):
            raise fail("'names' must be a non-empty list of tool names")
        for key in ("any_order", "exact"):
            if key in f and not isinstance(f[key], bool):
                raise fail(f"'{key}' must be true or false")
    if atype == "tool-call-f1":
        expected = f["expected"]
        if not isinstance(expected, list) or not 0 < len(expected) <= MAX_EXPECTED_CALLS:
            raise fail(f"'expected' must be a list of 1 to {MAX_EXPECTED_CALLS} calls")
        for item in expected:
            if isinstance(item, dict):
                if set(item) - {"name", "args"} or not _name_ok(item.get("name")):
                    raise fail("each expected call is a tool name or {name, args}")
                if "args" in item and not isinstance(item["args"], dict):
                    raise fail("'args' of an expected call must be a mapping")
            elif not _name_ok(item):
                raise fail("each expected call is a tool name or {name, args}")


def score_tool_assertion(
    atype: str, f: dict[str, Any], calls: Sequence[ToolCall], tools: Sequence[ToolSpec]
) -> tuple[float, str]:
    """``(score, reason)`` of a tool assertion on the calls made, in order."""
    names = [c.name for c in calls]
    if atype == "tool-call":
        return _tool_call(f, calls)
    if atype == "no-tool-call":
        name = f.get("name")
        hits = [n for n in names if name is None or n == name]
        what = f"no call of {name}" if name else "no tool call"
        return (1.0, what) if not hits else (0.0, f"{len(hits)} call(s): {short(', '.join(hits))}")
    if atype == "tool-sequence":
        return _sequence(f, names)
    if atype == "tool-call-f1":
        return _f1(f["expected"], calls)
    if atype == "tool-args-valid":
        return _args_valid(f.get("name"), calls, tools)
    raise AssertionError(f"not a tool assertion: {atype}")  # pragma: no cover


def _tool_call(f: dict[str, Any], calls: Sequence[ToolCall]) -> tuple[float, str]:
    name = f["name"]
    mine = [c for c in calls if c.name == name]
    if not mine:
        made = ", ".join(c.name for c in calls) or "none"
        return 0.0, f"no call of {name} (calls: {short(made)})"
    why = ""
    for c in mine:
        args = c.parsed_arguments()
        if ("args" in f or "args_schema" in f) and not isinstance(args, dict):
            why = f"{name} was called with arguments that are not a JSON object: {short(c.arguments)}"
            continue
        if "args" in f and not subset_match(f["args"], args):
            why = f"{name} was called with {short(c.arguments)}, not matching {short(f['args'])}"
            continue
        if "args_schema" in f:
            problem = _schema_problem(f["args_schema"], args)
            if problem:
                why = f"{name} arguments: {problem}"
                continue
        return 1.0, f"{name} called" + (f" with {short(c.arguments)}" if "args" in f or "args_schema" in f else "")
    return 0.0, why


def _schema_problem(schema: dict[str, Any], doc: Any) -> str | None:
    import jsonschema
    import referencing.exceptions

    try:
        error = schema_errors(schema, doc)
    except RecursionError:
        return "the schema's references recurse too deeply"
    except (jsonschema.exceptions.SchemaError, referencing.exceptions.Unresolvable) as exc:
        return f"the schema cannot be applied: {str(exc)[:160]}"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"schema violation at {where}: {error.message[:200]}"


@functools.lru_cache(maxsize=256)
def _refused_schema(schema_json: str) -> str | None:
    """Why a tool's parameters schema cannot be applied (remote ``$ref``, invalid…), or None — checked once per
    schema, not once per call (the meta-schema check costs milliseconds)."""
    try:
        check_json_schema(json.loads(schema_json))
    except ValueError as exc:
        return str(exc)[:160]
    return None


def _sequence(f: dict[str, Any], names: list[str]) -> tuple[float, str]:
    want = list(f["names"])
    made = short(", ".join(names) or "none")
    if f.get("exact"):
        ok = Counter(names) == Counter(want) if f.get("any_order") else names == want
        return (1.0, f"exactly {short(', '.join(want))}") if ok else (0.0, f"calls were {made}")
    if f.get("any_order"):
        missing = Counter(want) - Counter(names)
        if missing:
            return 0.0, f"missing {short(', '.join(sorted(missing.elements())))} (calls: {made})"
        return 1.0, f"all of {short(', '.join(want))} called"
    i = 0
    for n in names:
        if i < len(want) and n == want[i]:
            i += 1
    if i == len(want):
        return 1.0, f"{short(' → '.join(want))} called in order"
    return 0.0, f"expected {short(' → '.join(want))} in order; calls were {made}"


def _f1(expected: list[Any], calls: Sequence[ToolCall]) -> tuple[float, str]:
    want = [e if isinstance(e, dict) else {"name": e} for e in expected]
    used = [False] * len(calls)
    matched = 0
    for e in want:
        for i, c in enumerate(calls):
            if used[i] or c.name != e["name"]:
                continue
            if "args" in e and not subset_match(e["args"], c.parsed_arguments()):
                continue
            used[i] = True
            matched += 1
            break
    precision = matched / len(calls) if calls else 0.0
    recall = matched / len(want)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return round(
        f1, 6
    ), f"F1 {f1:.2f} (precision {precision:.2f}, recall {recall:.2f}; {matched} of {len(want)} matched)"


def _args_valid(name: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSpec]) -> tuple[float, str]:
    mine = [c for c in calls if name is None or c.name == name]
    if not mine:
        return 0.0, f"no call of {name} to validate" if name else "no tool call to validate"
    declared = {t.name: t for t in tools}
    for c in mine:
        spec = declared.get(c.name)
        if spec is None:
            return 0.0, f"{short(c.name)} is not a tool the prompt declares"
        args = c.parsed_arguments()
        if not isinstance(args, dict):
            return 0.0, f"{c.name} arguments are not a JSON object: {short(c.arguments)}"
        refused = _refused_schema(json.dumps(spec.parameters, sort_keys=True))
        if refused:
            return 0.0, f"the schema of {c.name} cannot be applied: {refused}"
        problem = _schema_problem(spec.parameters, args)
        if problem:
            return 0.0, f"{c.name} arguments: {problem}"
    return 1.0, f"{len(mine)} call(s) valid against their tool's schema"
