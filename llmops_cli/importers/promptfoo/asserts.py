"""promptfoo assertions → llmops assertions with the same meaning; everything else becomes a gap."""

from __future__ import annotations

import math
import re
from typing import Any

from ..common import (
    MISSING,
    DraftCase,
    GapLog,
    assertion_problem,
    load_data_file,
    stringify,
    yaml_path,
)
from .state import CODE_EXT, State

# promptfoo assertion type → llmops type, where the meaning is the same.
DIRECT = {
    "equals": "equals",
    "contains": "contains",
    "icontains": "icontains",
    "starts-with": "starts-with",
    "regex": "regex",
    "contains-any": "contains-any",
    "icontains-any": "icontains-any",
    "contains-all": "contains-all",
    "icontains-all": "icontains-all",
}
# promptfoo tool-call checks → llmops tool assertions (evals/tool_assertions.py)
TOOL_CHECKS = {
    "is-valid-openai-tools-call": "tool-args-valid",
    "is-valid-openai-function-call": "tool-args-valid",
    "tool-call-f1": "tool-call-f1",
}
TOOL_ASSERTIONS = frozenset({"tool-call", "no-tool-call", "tool-sequence", "tool-call-f1", "tool-args-valid"})
JUDGED = {"llm-rubric", "model-graded-closedqa", "g-eval", "factuality", "model-graded-factuality"}
JUDGED |= {"answer-relevance", "context-faithfulness"}


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")


def _render_value(value: Any, variables: dict[str, Any]) -> Any:
    """Substitute ``{{var}}`` / ``{{var.key}}`` in an assertion value with the case's variables, as promptfoo
    renders assertion values. Only plain placeholders: template logic in a value is refused (ValueError)."""
    if isinstance(value, list):
        return [_render_value(v, variables) for v in value]
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value

    def sub(m: re.Match[str]) -> str:
        cur: Any = variables
        for part in m.group(1).split("."):
            if not isinstance(cur, dict) or part not in cur:
                raise ValueError(f"`{m.group(1)}` is not a variable of the test")
            cur = cur[part]
        return stringify(cur)

    out = _PLACEHOLDER.sub(sub, value)
    if "{{" in _PLACEHOLDER.sub("", value) or "{%" in value:
        raise ValueError("template logic in an assertion value")
    return out


def map_assert(
    st: State,
    a: Any,
    log: GapLog,
    path: tuple[str | int, ...],
    variables: dict[str, Any],
    case: DraftCase,
    judge_vars: set[str],
    depth: int = 0,
) -> list[dict[str, Any]]:
    """llmops assertions for one promptfoo assertion; an unmapped one adds a gap to the case."""

    def gap(construct: str, detail: str) -> list[dict[str, Any]]:
        if not any(g.path == _yp(path) and g.file == log.file for g in case.gaps):
            existing = [g for g in log.gaps if g.path == _yp(path) and g.construct == construct and g.file == log.file]
            case.gaps.append(existing[0] if existing else log.add("unmapped", path, construct, detail))
        return []

    if depth > 5:
        return gap("assertion", "$ref / assert-set nested too deeply")
    if not isinstance(a, dict):
        return gap("assertion", "not a mapping")
    if "$ref" in a:
        ref = a["$ref"]
        templates = st.data.get("assertionTemplates")
        m = re.fullmatch(r"#/assertionTemplates/(.+)", ref) if isinstance(ref, str) else None
        if not m or not isinstance(templates, dict) or m.group(1) not in templates:
            return gap("assertion $ref", f"{ref!r} does not name an assertionTemplates entry")
        st.mapped("assertionTemplates $ref")
        return map_assert(
            st,
            templates[m.group(1)],
            st.log,
            ("assertionTemplates", m.group(1)),
            variables,
            case,
            judge_vars,
            depth + 1,
        )
    raw_type = a.get("type")
    if not isinstance(raw_type, str):
        return gap("assertion", "no type")
    if raw_type == "assert-set":
        children = a.get("assert")
        if not isinstance(children, list) or "threshold" in a:
            return gap("assert-set with a threshold", "llmops requires every assertion to pass")
        out: list[dict[str, Any]] = []
        for i, child in enumerate(children):
            out += map_assert(st, child, log, (*path, "assert", i), variables, case, judge_vars, depth + 1)
        st.mapped("assert-set")
        return out
    negate = raw_type.startswith("not-")
    base = raw_type[4:] if negate else raw_type
    for key in ("transform", "contextTransform", "rubricPrompt", "config"):
        if key in a:
            return gap(f"{raw_type} assertion with `{key}`", "JavaScript / custom grader prompts cannot run in llmops")
    value = a.get("value")
    if isinstance(value, str) and value.startswith("file://"):
        if value[7:].lower().endswith(CODE_EXT):
            return gap(f"{raw_type} assertion", f"code in {value[7:]} cannot run in llmops")
        fpath, text = st.src.read_text(value, file=log.file, line=log.line(path))
        value = load_data_file(fpath, text, st.src.label(fpath)) if fpath.endswith((".json", ".yaml", ".yml")) else text
    try:
        value = _render_value(value, variables)
    except ValueError as exc:  # a template the case cannot render: report, never guess
        return gap(f"{raw_type} assertion", f"value template does not render: {exc}")
    extra: dict[str, Any] = {}
    if isinstance(a.get("weight"), int | float) and not isinstance(a.get("weight"), bool) and a["weight"] >= 0:
        extra["weight"] = a["weight"]
    if isinstance(a.get("metric"), str) and a["metric"]:
        extra["metric"] = a["metric"]
    threshold = a.get("threshold")
    if "provider" in a:
        log.add("approximated", (*path, "provider"), "grader provider", "llmops uses llmops.yaml `judge.model`")
    if "description" in a and not any(g.construct == "assertion description" for g in log.gaps):
        log.add(
            "approximated", (*path, "description"), "assertion description", "llmops assertions have none; not kept"
        )

    mapped: dict[str, Any] | None = None
    tool_note = ""
    if base in DIRECT:
        if base.endswith(("-any", "-all")):
            values = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")] if value else None
            if not values or not all(isinstance(v, str | int | float) for v in values):
                return gap(f"{raw_type} assertion", "value is not a list of strings")
            mapped = {"type": base, "values": values}
        elif base == "equals":
            if value is None:
                return gap("equals assertion", "no value")
            mapped = {"type": "equals", "value": value}
        else:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                return gap(f"{raw_type} assertion", "value is not a string")
            mapped = {"type": base, "value": value}
            if base == "regex":
                try:
                    re.compile(str(value))
                except re.error as exc:
                    return gap("regex assertion", f"JavaScript regex that Python cannot compile: {exc}")
    elif base in ("is-json", "contains-json"):
        if value is None:
            mapped = {"type": "is-json"}
        elif isinstance(value, dict):
            mapped = {"type": "json-schema", "schema": value}
        else:
            return gap(f"{raw_type} assertion", f"value {type(value).__name__} is neither absent nor a JSON Schema")
        if base == "contains-json":
            log.add(
                "approximated",
                path,
                "contains-json",
                "llmops checks the whole output (or one fenced block) is JSON; promptfoo finds JSON anywhere in it",
            )
    elif base in ("cost", "latency") and not negate:
        if not isinstance(threshold, int | float) or isinstance(threshold, bool) or not math.isfinite(threshold):
            return gap(f"{base} assertion", "no finite numeric threshold")
        mapped = {"type": "cost", "max_usd": threshold} if base == "cost" else {"type": "latency", "max_ms": threshold}
        threshold = None
    elif base in TOOL_CHECKS and not negate:
        if TOOL_CHECKS[base] == "tool-args-valid":
            mapped = {"type": "tool-args-valid"}
            tool_note = (
                "tool-args-valid checks every call against the prompt's own tool schemas; a reply without tool "
                "calls passes it (add a tool-call assertion to require one)"
            )
        else:
            names = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")] if value else []
            if not names or not all(isinstance(n, str) and n for n in names):
                return gap(f"{raw_type} assertion", "value is not a list of tool names")
            mapped = {"type": "tool-call-f1", "expected": names}
            if isinstance(threshold, int | float) and not isinstance(threshold, bool) and 0 <= threshold <= 1:
                mapped["threshold"] = threshold
                threshold = None
    elif base in JUDGED and negate:
        return gap(f"{raw_type} assertion", "a model-graded assertion cannot be negated in llmops")
    elif base in ("llm-rubric", "model-graded-closedqa", "g-eval"):
        criteria = "\n".join(map(str, value)) if isinstance(value, list) else value
        if not isinstance(criteria, str) or not criteria.strip():
            return gap(f"{base} assertion", "no rubric text")
        mapped = {"type": "judge", "criteria": criteria}
        if base == "g-eval":
            log.add("approximated", path, "g-eval", "graded by the llmops rubric judge with the same criteria")
    elif base in ("factuality", "model-graded-factuality"):
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return gap("factuality assertion", "no reference value")
        if case.expected is not MISSING and case.expected != value:
            return gap("second factuality reference", "llmops compares against one `expected` per case")
        case.expected = value
        mapped = {"type": "factuality"}
    elif base == "answer-relevance":
        mapped = {"type": "answer-relevance"}
        if "query" in variables and "question" not in variables:
            mapped["question_var"] = "query"
            judge_vars.add("query")
    elif base == "context-faithfulness":
        if "context" not in variables:
            return gap("context-faithfulness assertion", "the test has no `context` variable")
        mapped = {"type": "faithfulness", "context_var": "context"}
        judge_vars.add("context")
    elif base == "javascript" and isinstance(value, str) and (js := _js_expression(value)) is not None:
        mapped = js
        log.add(
            "approximated",
            path,
            f"javascript `{value.strip()[:60]}`",
            f"a simple length/includes check, mapped to {js['type']} (JavaScript counts UTF-16 code units)",
        )
    else:
        detail = {
            "javascript": "JavaScript cannot run in llmops",
            "python": "Python assertions cannot run in llmops",
            "similar": "embedding similarity has no llmops equivalent",
            "webhook": "webhooks are not called",
            "context-recall": "no llmops equivalent",
            "context-relevance": "no llmops equivalent",
        }.get(base, "no llmops assertion with the same meaning")
        if base in ("javascript", "python") and isinstance(value, str) and value.strip():
            code = " ".join(value.split())  # kept with the gap, so the check can be rewritten by hand
            detail += f"; source: {code[:300]}{'…' if len(code) > 300 else ''}"
        return gap(f"{raw_type} assertion", detail)
    if negate:
        t = mapped["type"]
        mapped["type"] = t[4:] if t.startswith("not-") else f"not-{t}"
    if threshold is not None:
        if isinstance(threshold, int | float) and not isinstance(threshold, bool) and 0 <= threshold <= 1:
            if mapped["type"] in ("judge", "factuality", "answer-relevance", "faithfulness"):
                mapped["threshold"] = threshold
            elif not mapped["type"].endswith(("-all",)):
                log.add("approximated", (*path, "threshold"), f"threshold on {raw_type}", "ignored: it is pass/fail")
            else:
                mapped["threshold"] = threshold
        else:
            return gap(f"{raw_type} assertion threshold", f"{threshold!r} is not in [0, 1]")
    mapped.update(extra)
    problem = assertion_problem(mapped)
    if problem and mapped["type"] in TOOL_ASSERTIONS and problem.startswith("unknown type"):
        return gap(
            f"{raw_type} assertion",
            f"maps to llmops `{mapped['type']}`, a tool assertion this llmops build does not have yet ({problem})",
        )
    if problem:
        return gap(f"{raw_type} assertion", f"not valid in llmops: {problem}")
    if tool_note:
        log.add("approximated", path, raw_type, tool_note)
    st.mapped(f"assert {raw_type}")
    return [mapped]


def _yp(path: tuple[str | int, ...]) -> str:
    return yaml_path(path)


_JS_LENGTH = re.compile(r"^(?:return\s+)?output\.length\s*(<=|<|>=|>)\s*(\d{1,9})\s*(?:\?\s*1\s*:\s*0\s*)?;?$")
_JS_INCLUDES = re.compile(
    r"""^(?:return\s+)?(!?)\s*output(\.toLowerCase\(\))?\.includes\(\s*(['"])([^'"\\]{1,200})\3\s*\)\s*;?$"""
)


def _js_expression(code: str) -> dict[str, Any] | None:
    """The llmops assertion with the same meaning as a one-line JavaScript length or ``includes`` check."""
    text = code.strip()
    m = _JS_LENGTH.match(text)
    if m:
        op, n = m.group(1), int(m.group(2))
        bound = {"<=": ("max", n), "<": ("max", n - 1), ">=": ("min", n), ">": ("min", n + 1)}[op]
        return None if bound[1] < 0 else {"type": "char-count", bound[0]: bound[1]}
    m = _JS_INCLUDES.match(text)
    if m:
        negate, lower, _, needle = m.groups()
        if lower and needle != needle.lower():
            return None  # lower-cased output never includes an upper-case needle: leave it to the report
        kind = "icontains" if lower else "contains"
        return {"type": f"not-{kind}" if negate else kind, "value": needle}
    return None
