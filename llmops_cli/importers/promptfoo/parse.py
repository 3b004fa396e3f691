"""The entry point: a config file → draft prompts (one per promptfoo prompt), aliases, gap logs, counts."""

from __future__ import annotations

import json
import os

from ...errors import PromptFileError
from ..common import (
    DraftCase,
    DraftPrompt,
    GapLog,
    ModelAliasDraft,
    SourceDir,
    load_yaml_text,
    read_bounded,
    slug,
    unique,
)
from ..partial import fill_stub
from .cases import map_tests
from .prompts import map_prompts
from .providers import map_providers
from .state import State

KNOWN_TOP = {
    "description",
    "prompts",
    "providers",
    "targets",
    "tests",
    "defaultTest",
    "assertionTemplates",
    "tags",
    "version",
    "$schema",
}


def parse_promptfoo(
    config_path: str, *, label_root: str | None = None, name: str | None = None
) -> tuple[list[DraftPrompt], list[ModelAliasDraft], list[GapLog], dict[str, int]]:
    """Read a promptfoo config into draft prompts and aliases; gaps are recorded in the returned logs."""
    src = SourceDir(os.path.dirname(os.path.abspath(config_path)) or ".", label_root)
    label = src.label(config_path)
    text = read_bounded(config_path, file=label)
    data = load_yaml_text(text, label)
    if not isinstance(data, dict):
        raise PromptFileError("a promptfoo config must be a mapping (prompts, providers, tests…)", file=label, line=1)
    st = State(src, GapLog(label, text), data)
    log = st.log

    for key in data:
        if key in KNOWN_TOP or (isinstance(key, str) and key.startswith("x-")):
            continue
        detail = {
            "outputPath": "llmops writes results to .llmops/runs/<run>/results.json (eval run --out)",
            "evaluateOptions": "use eval run --concurrency / --repeat and llmops.yaml eval settings",
            "sharing": "llmops never uploads results",
            "env": "llmops reads keys from the environment only; values were not imported",
            "redteam": "red-team generation has no llmops equivalent",
            "scenarios": "scenarios have no llmops equivalent",
            "nunjucksFilters": "custom JavaScript filters cannot run in llmops's sandbox",
            "extensions": "JavaScript/Python hooks cannot run in llmops",
            "derivedMetrics": "derived metrics have no llmops equivalent",
        }.get(str(key), "not an llmops concept")
        log.add("unmapped", (str(key),), f"top-level `{key}`", detail)

    aliases, first, output = map_providers(st)
    base = name or _base_name(config_path)
    prompts = map_prompts(st)
    if not prompts:
        why = "; ".join(g.marker() for lg in st.logs.values() for g in lg.gaps if g.kind == "unmapped")
        raise PromptFileError(f"no prompt could be imported ({why or 'no prompts'})", file=label, line=1)
    cases, defaults, prompt_gaps = map_tests(st)

    drafts: list[DraftPrompt] = []
    taken: set[str] = set()
    for plabel, messages, _ppath in prompts:
        pname = base if len(prompts) == 1 else f"{base}/{unique(slug(plabel, 'prompt'), taken)}"
        stub = fill_stub(messages, cases, defaults["vars"])  # a prompt built by code: a marked stub
        if stub is not None:
            messages = stub[0]
        d = DraftPrompt(
            name=pname,
            model=first,
            messages=messages,
            description=str(data.get("description") or "") if isinstance(data.get("description"), str) else "",
            output=output,
            tags=[str(t) for t in data.get("tags", [])] if isinstance(data.get("tags"), list) else [],
            source=label,
        )
        if len(prompts) > 1:
            d.metadata["promptfoo_prompt"] = plabel
        if stub is not None:
            d.metadata["import"] = {"stub": stub[1]}
        d.tools = [dict(t) for t in st.tools]
        d.tool_choice = st.tool_choice
        d.parallel_tool_calls = st.parallel_tool_calls
        d.default_vars = dict(defaults["vars"])
        d.default_asserts = [dict(a) for a in defaults["assert"]]
        d.cases = [_copy_case(c) for c in cases]
        d.judge_vars = {v for c in cases for v in c.metadata.pop("_judge_vars", [])} | defaults["judge_vars"]
        d.gaps = list(prompt_gaps) + list(st.prompt_gaps)
        for c in d.cases:
            c.metadata.pop("_judge_vars", None)
        drafts.append(d)
    return drafts, aliases, list(st.logs.values()), st.report_mapped


def _copy_case(c: DraftCase) -> DraftCase:
    return DraftCase(
        id=c.id,
        vars=json.loads(json.dumps(c.vars)),
        expected=c.expected,
        asserts=[dict(a) for a in c.asserts],
        description=c.description,
        metadata=dict(c.metadata),
        gaps=list(c.gaps),
    )


def _base_name(config_path: str) -> str:
    stem = os.path.basename(config_path)
    for suffix in (".yaml", ".yml", ".json"):
        stem = stem.removesuffix(suffix)
    stem = stem.replace("promptfooconfig", "").strip("._-")
    if not stem:
        stem = os.path.basename(os.path.dirname(os.path.abspath(config_path)))
    return slug(stem, "imported")
