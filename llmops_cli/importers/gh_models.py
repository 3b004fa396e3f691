"""``llmops import gh-models``: GitHub Models ``.prompt.yml`` files → llmops prompts and golden sets.

Mapped: ``name``/``description``, ``model`` (→ an alias with a litellm id), ``modelParameters``, ``messages``
(``{{var}}`` placeholders; everything else literal, as ``gh models`` substitutes literally), ``responseFormat``
/ ``jsonSchema``, ``testData`` (→ cases; ``expected`` → the case's reference answer) and ``evaluators``
(``string`` checks, the built-in ``github/*`` LLM evaluators and custom ``llm`` evaluators → judges).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from ..errors import PromptFileError
from .common import (
    GENERATION_PARAMS,
    MAX_CASES,
    DraftCase,
    DraftPrompt,
    GapLog,
    ModelAliasDraft,
    assertion_problem,
    checked_name,
    load_yaml_text,
    param_problem,
    plain,
    read_bounded,
    regex_literal,
    slug,
)
from .templates import literal_to_jinja

PARAMS = {
    **GENERATION_PARAMS,
    "maxTokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "topP": "top_p",
    "presencePenalty": "presence_penalty",
    "frequencyPenalty": "frequency_penalty",
}
_KNOWN = {"name", "description", "model", "modelParameters", "messages", "testData", "evaluators"}
_KNOWN |= {"responseFormat", "jsonSchema"}
_BUILTIN = {
    "github/similarity": ("judge", "The answer conveys the same meaning as the reference answer."),
    "github/coherence": ("judge", "The answer is coherent: logically organised, consistent and easy to follow."),
    "github/fluency": ("judge", "The answer is fluent: grammatical, natural and well written."),
    "github/relevance": ("answer-relevance", ""),
    "github/groundedness": ("faithfulness", ""),
}


def model_id(model: str) -> tuple[str, str | None]:
    """(litellm id, note) for a GitHub Models model id such as ``openai/gpt-4o-mini``."""
    publisher, _, name = model.partition("/")
    if not name:
        publisher, name = "", model
    if publisher == "openai" or (not publisher and re.match(r"^(gpt-|o\d|chatgpt)", name)):
        return f"openai/{name}", "served by OpenAI directly (litellm `github/…` reaches GitHub Models)"
    return f"github/{name}", None


def parse_gh_models(
    path: str, *, label_root: str | None = None
) -> tuple[list[DraftPrompt], list[ModelAliasDraft], list[GapLog], dict[str, int]]:
    from .common import SourceDir

    src = SourceDir(os.path.dirname(os.path.abspath(path)) or ".", label_root)
    label = src.label(path)
    text = read_bounded(path, file=label)
    data = load_yaml_text(text, label)
    log = GapLog(label, text)
    mapped: dict[str, int] = {}

    def count(what: str, n: int = 1) -> None:
        mapped[what] = mapped.get(what, 0) + n

    if not isinstance(data, dict) or not isinstance(data.get("messages"), list) or not data["messages"]:
        raise PromptFileError("a .prompt.yml file needs a non-empty `messages` list", file=label, line=1)
    for key in data:
        if key not in _KNOWN:
            log.add("unmapped", (str(key),), f"`{key}`", "not part of the .prompt.yml format llmops knows")

    test_data = data.get("testData") or []
    if not isinstance(test_data, list):
        raise PromptFileError("`testData` must be a list", file=label, line=log.line(("testData",)))
    if len(test_data) > MAX_CASES:
        raise PromptFileError(f"more than {MAX_CASES:,} testData rows", file=label, line=log.line(("testData",)))
    known = {str(k) for row in test_data if isinstance(row, dict) for k in row} or None

    messages: list[tuple[str, str]] = []
    for i, m in enumerate(data["messages"]):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "developer"):
            log.add("unmapped", ("messages", i), "message", "needs role system/user/assistant and text content")
            continue
        if not isinstance(m.get("content"), str):
            log.add("unmapped", ("messages", i, "content"), "non-text message content", "not imported")
            continue
        role = m["role"]
        if role == "developer":
            role = "system"
            log.add("approximated", ("messages", i, "role"), "developer role", "sent as a system message")
        jinja, _, literal = literal_to_jinja(m["content"], known)
        for lit in literal:
            log.add(
                "approximated",
                ("messages", i, "content"),
                f"placeholder {lit} kept literal",
                "gh models replaces only `{{name}}` of a testData key, without spaces",
            )
        messages.append((role, jinja))
    if not messages:
        raise PromptFileError("no message could be imported", file=label, line=log.line(("messages",)))

    alias: ModelAliasDraft | None = None
    model = data.get("model")
    if isinstance(model, str) and model.strip():
        mid, note = model_id(model.strip())
        alias = ModelAliasDraft(slug(mid.split("/", 1)[1], "model"), mid)
        if note:
            log.add("approximated", ("model",), f"model `{model}`", note)
        count("model")
    else:
        log.add("approximated", ("model",), "no model", "the prompt uses the alias `chat` from llmops.yaml")
    params: dict[str, Any] = {}
    mp = data.get("modelParameters") or {}
    if isinstance(mp, dict):
        for key, value in mp.items():
            if key in PARAMS and (problem := param_problem(PARAMS[key], value)) is None:
                params[PARAMS[key]] = value
                count(f"modelParameters.{key}")
            elif key in PARAMS:
                log.add("unmapped", ("modelParameters", key), f"model parameter `{key}`", f"value refused: {problem}")
            else:
                log.add("unmapped", ("modelParameters", key), f"model parameter `{key}`", "not a generation param")
    output: Any = "text"
    rf = data.get("responseFormat")
    if rf in ("json_object", "json"):
        output = "json"
        count("responseFormat")
    elif rf == "json_schema" and isinstance(data.get("jsonSchema"), dict | str):
        schema = data["jsonSchema"]
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError:
                schema = None
        body = schema.get("schema", schema) if isinstance(schema, dict) else None
        if isinstance(body, dict):
            output = {"format": "json", "schema": body}
            if isinstance(schema, dict) and "schema" in schema and schema.get("strict") is True:
                output["strict"] = True
            count("jsonSchema")
        else:
            log.add("unmapped", ("jsonSchema",), "jsonSchema", "not a JSON Schema object")
    elif rf not in (None, "text"):
        log.add("unmapped", ("responseFormat",), f"responseFormat {rf!r}", "not imported")

    stem = os.path.basename(path)
    for suffix in (".prompt.yml", ".prompt.yaml", ".yml", ".yaml"):
        stem = stem.removesuffix(suffix)
    draft = DraftPrompt(
        name=slug(stem, "prompt"),
        model=alias.name if alias else "chat",
        messages=messages,
        description=str(data.get("description") or data.get("name") or ""),
        params=params,
        output=output,
        source=label,
    )
    if isinstance(data.get("name"), str):
        draft.metadata["name"] = checked_name(data["name"], "name", label, log.line(("name",)))

    evaluators = data.get("evaluators") or []
    if not isinstance(evaluators, list):
        raise PromptFileError("`evaluators` must be a list", file=label, line=log.line(("evaluators",)))
    for n, row in enumerate(test_data, 1):
        if not isinstance(row, dict):
            log.add("unmapped", ("testData", n - 1), "testData row", "not a mapping")
            continue
        row = plain(row)
        case = DraftCase(id=f"case-{n:03d}", vars={k: v for k, v in row.items() if k != "expected"})
        if row.get("expected") not in (None, ""):
            case.expected = row["expected"]
        if "expected" in row and any("{{ expected }}" in t for _, t in messages):
            case.vars["expected"] = row["expected"]
        draft.cases.append(case)
        count("testData row")
    shared: list[dict[str, Any]] = []
    for i, ev in enumerate(evaluators):
        _evaluator(ev, ("evaluators", i), log, draft, shared, count)
    draft.default_asserts = shared
    for gap in log.gaps:
        if gap.kind == "unmapped" and gap.path.startswith("evaluators"):
            for case in draft.cases:
                case.gaps.append(gap)
    return [draft], [alias] if alias else [], [log], mapped


def _evaluator(
    ev: Any, path: tuple[str | int, ...], log: GapLog, draft: DraftPrompt, shared: list[dict[str, Any]], count: Any
) -> None:
    if not isinstance(ev, dict):
        log.add("unmapped", path, "evaluator", "not a mapping")
        return
    metric = str(ev.get("name") or "")[:120] or None

    def add(assertion: dict[str, Any], templated: bool) -> None:
        if metric:
            assertion["metric"] = metric
        if not templated:
            problem = assertion_problem(assertion)
            if problem:
                log.add("unmapped", path, f"{assertion['type']} evaluator", f"not valid in llmops: {problem}")
                return
            shared.append(assertion)
            return
        for case in draft.cases:
            env = {**case.vars, "expected": case.expected if case.expected is not None else ""}
            rendered = dict(assertion)
            for key in ("value", "criteria"):
                if key in rendered:
                    rendered[key] = _fill(rendered[key], env)
            if rendered["type"] == "regex" and "value" in rendered:
                rendered["value"] = assertion["_regex"](rendered["value"])
            rendered.pop("_regex", None)
            problem = assertion_problem(rendered)
            if problem:
                gap = log.add("unmapped", path, f"{rendered['type']} evaluator", f"not valid in llmops: {problem}")
                case.gaps.append(gap)
                continue
            case.asserts.append(rendered)

    if isinstance(ev.get("string"), dict):
        checks = ev["string"]
        for key, value in checks.items():
            if not isinstance(value, str):
                log.add("unmapped", (*path, "string", key), f"string evaluator `{key}`", "value is not a string")
                continue
            templated = bool(re.search(r"\{\{[A-Za-z_]\w*\}\}", value))
            if key == "contains":
                add({"type": "contains", "value": value}, templated)
            elif key == "startsWith":
                add({"type": "starts-with", "value": value}, templated)
            elif key == "equals":
                add({"type": "equals", "value": value}, templated)
                log.add("approximated", (*path, "string", key), "equals", "llmops ignores leading/trailing whitespace")
            elif key == "endsWith":
                a: dict[str, Any] = {"type": "regex", "value": value if templated else _ends_with(value)}
                if templated:
                    a["_regex"] = _ends_with
                add(a, templated)
            else:
                log.add("unmapped", (*path, "string", key), f"string evaluator `{key}`", "no llmops equivalent")
                continue
            count(f"string evaluator {key}")
        return
    uses = ev.get("uses")
    if isinstance(uses, str):
        if uses not in _BUILTIN:
            log.add("unmapped", (*path, "uses"), f"evaluator `{uses}`", "no llmops equivalent")
            return
        kind, criteria = _BUILTIN[uses]
        if kind == "judge":
            add({"type": "judge", "criteria": criteria}, False)
            log.add(
                "approximated",
                (*path, "uses"),
                f"`{uses}`",
                "graded by the llmops rubric judge (1-5) with the same criteria; the case's expected is the reference",
            )
        elif kind == "faithfulness":
            if not all("context" in c.vars for c in draft.cases) or not draft.cases:
                log.add("unmapped", (*path, "uses"), f"`{uses}`", "needs a `context` variable in every testData row")
                return
            add({"type": "faithfulness", "context_var": "context"}, False)
            draft.judge_vars.add("context")
        else:
            add({"type": kind}, False)
        count(f"evaluator {uses}")
        return
    llm = ev.get("llm")
    if isinstance(llm, dict) and isinstance(llm.get("prompt"), str) and llm["prompt"].strip():
        criteria = llm["prompt"].strip().replace("{{completion}}", "the answer")
        criteria = criteria.replace("{{expected}}", "the reference answer").replace("{{input}}", "the input")
        a = {"type": "judge", "criteria": criteria}
        choices = llm.get("choices")
        if isinstance(choices, list) and choices:
            a["rubric"] = "\n".join(
                f"{c.get('choice')}: score {c.get('score')}" for c in choices if isinstance(c, dict)
            )
        add(a, bool(re.search(r"\{\{[A-Za-z_]\w*\}\}", criteria)))
        log.add(
            "approximated",
            (*path, "llm"),
            "custom LLM evaluator",
            "graded by the llmops rubric judge with its prompt as criteria and its choices as rubric"
            + ("; modelId → llmops.yaml judge.model" if llm.get("modelId") else ""),
        )
        if llm.get("systemPrompt"):
            log.add("unmapped", (*path, "llm", "systemPrompt"), "evaluator systemPrompt", "the judge prompt is fixed")
        count("llm evaluator")
        return
    log.add("unmapped", path, "evaluator", "neither `string`, `uses` nor `llm`")


def _fill(text: str, env: dict[str, Any]) -> str:
    """``{{name}}`` → the case's value of ``name`` (kept as written when the case has none)."""
    return re.sub(r"\{\{([A-Za-z_]\w*)\}\}", lambda m: str(env.get(m.group(1), m.group(0))), text)


def _ends_with(value: str) -> str:
    """An ``endsWith`` string evaluator as a regex."""
    return regex_literal(value) + "$"
