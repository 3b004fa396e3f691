"""Turn draft prompts into llmops files — prompt files, golden sets, ``llmops.yaml`` aliases, judge prompts —
and write them without ever overwriting a different existing file unless asked (``force``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..config import CONFIG_FILE, ProjectConfig, parse_config
from ..errors import UsageError
from ..evals.assertions import JUDGE_TYPES
from ..evals.judges import TYPE_PROMPTS
from ..pathsafe import confined
from ..spec import PROMPT_SUFFIX, RESERVED_INPUT_NAMES
from .common import (
    _EMPTY,
    MISSING,
    DraftCase,
    DraftPrompt,
    GapLog,
    ModelAliasDraft,
    checked_name,
    infer_type,
    is_identifier,
    json_type,
    stringify,
    template_variables,
)
from .report import ImportReport

# Jinja globals that a template may call without declaring them.
_JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop", "self"})
HEADER = "# Imported by `llmops import {fmt}` from {source}. Unmapped constructs are listed under metadata.import.\n"


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings, no anchors/aliases, keys in insertion order."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    """Deterministic YAML (so re-importing produces byte-identical files)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)


# -- finishing drafts ----------------------------------------------------------------------------------------


def finish(draft: DraftPrompt, log: GapLog) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(prompt file data, golden set data or None) with inputs inferred from the template and the cases."""
    used = template_variables([text for _, text in draft.messages]) - _JINJA_GLOBALS
    wanted = used | {v for v in draft.judge_vars if is_identifier(v)} | set(draft.declared_inputs)
    for case in draft.cases:
        merged = {**draft.default_vars, **case.vars}
        case.vars = {k: v for k, v in case.vars.items() if v is not None}
        unused = {k: v for k, v in merged.items() if k not in wanted}
        if unused:
            case.metadata["unused_vars"] = unused
            case.vars = {k: v for k, v in case.vars.items() if k in wanted}
    unused_defaults = sorted(k for k in draft.default_vars if k not in wanted)
    dropped = sorted({k for c in draft.cases for k in c.metadata.get("unused_vars", {})} | set(unused_defaults))
    if dropped:
        log.add(
            "approximated",
            (),
            "variables no template reads",
            f"{', '.join(dropped)}: kept in each case's metadata.unused_vars (llmops refuses unknown vars)",
        )
    default_vars = {k: v for k, v in draft.default_vars.items() if k in wanted and v is not None}

    inputs: dict[str, dict[str, Any]] = {}
    for name in sorted(wanted):
        if name in RESERVED_INPUT_NAMES:
            continue
        declared = dict(draft.declared_inputs.get(name, {}))
        holders = [c for c in draft.cases if name in c.vars or name in default_vars]
        values = [c.vars.get(name, default_vars.get(name)) for c in holders]
        inferred = infer_type(values)
        typ = declared.get("type") or inferred
        if values and inferred and typ != inferred and not (typ == "number" and inferred == "integer"):
            log.add(
                "approximated",
                (),
                f"input `{name}` declared {typ}",
                f"the examples hold {inferred} values; declared as {inferred}",
            )
            typ = inferred
        if typ is None:
            typ = "string"
            for c in holders:
                if name in c.vars and not isinstance(c.vars[name], str):
                    c.vars[name] = stringify(c.vars[name])
            if name in default_vars and not isinstance(default_vars[name], str):
                default_vars[name] = stringify(default_vars[name])
            log.add("approximated", (), f"variable `{name}` of mixed types", "declared as string; values printed")
        spec: dict[str, Any] = {"type": typ}
        if declared.get("description"):
            spec["description"] = str(declared["description"])
        everywhere = bool(draft.cases) and len(holders) == len(draft.cases)
        if "default" in declared and json_type(declared["default"]) == typ:
            spec["default"] = declared["default"]
        elif not everywhere:
            spec["default"] = _EMPTY[typ]
            if draft.cases and name in used:
                log.add(
                    "approximated",
                    (),
                    f"variable `{name}` missing from some tests",
                    f"default {_EMPTY[typ]!r}, as an undefined variable renders empty in the source",
                )
        inputs[name] = spec

    prompt: dict[str, Any] = {}
    if draft.description:
        prompt["description"] = draft.description
    prompt["model"] = draft.model
    if draft.params:
        prompt["params"] = draft.params
    if inputs:
        prompt["inputs"] = inputs
    prompt["output"] = draft.output
    prompt["messages"] = [{"role": role, "content": text} for role, text in draft.messages]
    if draft.tools:
        prompt["tools"] = draft.tools
        if draft.tool_choice is not None:
            prompt["tool_choice"] = draft.tool_choice
        if draft.parallel_tool_calls is not None:
            prompt["parallel_tool_calls"] = draft.parallel_tool_calls
    if draft.tags:
        prompt["tags"] = [checked_name(str(t), "tag", draft.source) for t in draft.tags]
    meta = dict(draft.metadata)
    extra = meta.pop("import", None)  # e.g. {"stub": why} for a prompt kept as a stub (see .partial)
    imported: dict[str, Any] = {"source": draft.source, **(extra if isinstance(extra, dict) else {})}
    if draft.gaps:
        imported["unmapped"] = [g.marker() for g in draft.gaps]
    meta["import"] = imported
    prompt["metadata"] = meta

    if not draft.cases and not draft.default_asserts:
        return prompt, None
    golden: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    if default_vars:
        defaults["vars"] = default_vars
    if draft.default_asserts:
        defaults["assert"] = draft.default_asserts
    if defaults:
        golden["defaults"] = defaults
    golden["cases"] = [_case(c, draft.source) for c in draft.cases]
    return prompt, golden


def _case(c: DraftCase, source: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id}
    if c.description:
        out["description"] = c.description
    out["vars"] = c.vars
    if c.expected is not MISSING and c.expected is not None:
        out["expected"] = c.expected
    if c.asserts:
        out["assert"] = c.asserts
    meta = dict(c.metadata)
    if c.gaps:
        meta["import"] = {"source": source, "unmapped": [g.marker() for g in c.gaps]}
    if meta:
        out["metadata"] = meta
    return out


# -- the project on disk -------------------------------------------------------------------------------------


@dataclass
class Plan:
    """Files to write, relative to the output folder."""

    out: str
    files: dict[str, str] = field(default_factory=dict)

    def add(self, rel: str, text: str) -> None:
        if rel in self.files and self.files[rel] != text:
            raise UsageError(f"two imported prompts map to the same file {rel}; rename one of them")
        self.files[rel] = text


def read_config(out: str) -> tuple[str | None, ProjectConfig]:
    path = os.path.join(out, CONFIG_FILE)
    if not os.path.isfile(path):
        return None, ProjectConfig()
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return text, parse_config(text, CONFIG_FILE)


def scaffold_text(rel: str) -> str:
    from importlib import resources

    return (resources.files("llmops_cli") / "scaffold" / rel).read_text(encoding="utf-8")


def merge_aliases(config_text: str | None, aliases: list[ModelAliasDraft]) -> tuple[str, dict[str, str], list[str]]:
    """``llmops.yaml`` text with the aliases added, the final name of each alias, and the names added.

    A new project starts from the ``llmops init`` configuration. An alias that already exists with the same
    model is reused; one with another model gets a free ``-2`` name. Existing text (comments included) is kept.
    """
    text = config_text if config_text is not None else scaffold_text("llmops.yaml")
    config = parse_config(text, CONFIG_FILE)
    names: dict[str, str] = {}
    blocks: dict[str, dict[str, Any]] = {}
    taken = set(config.models)
    for a in aliases:
        if a.name in names:
            continue
        existing = config.models.get(a.name)
        if existing is not None and existing.model == a.model:
            names[a.name] = a.name
            continue
        final = a.name
        n = 2
        while final in taken:
            cand = config.models.get(final)
            if cand is not None and cand.model == a.model:
                break
            final = f"{a.name}-{n}"
            n += 1
        names[a.name] = final
        if final in config.models or final in blocks:
            continue
        taken.add(final)
        body: dict[str, Any] = {"model": a.model}
        if a.api_base:
            body["api_base"] = a.api_base
        if a.api_key_env and not a.api_base:  # an imported URL never gets a key (the importers report the gap)
            body["api_key_env"] = a.api_key_env
        if "offline" in config.models and not a.api_base and final != "offline":
            body["offline"] = "offline"
        if a.params:
            body["params"] = a.params
        blocks[final] = body
    if blocks:
        text = _insert_models(text, blocks)
        parse_config(text, CONFIG_FILE)  # the result must still be a valid configuration
    return text, names, list(blocks)


def _insert_models(text: str, blocks: dict[str, dict[str, Any]]) -> str:
    rendered = "".join("  " + line + "\n" for line in dump_yaml(blocks).splitlines())
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if re.match(r"^models:\s*(#.*)?$", line.rstrip("\n")):
            end = i + 1
            last = i
            while end < len(lines):
                raw = lines[end]
                if raw.strip() and not raw.startswith((" ", "\t", "#")):
                    break
                if raw.strip() and not raw.lstrip().startswith("#"):
                    last = end
                end += 1
            if lines[last] and not lines[last].endswith("\n"):
                lines[last] += "\n"
            lines.insert(last + 1, rendered)
            return "".join(lines)
        if re.match(r"^models:\s*\S", line):
            if re.match(r"^models:\s*\{\s*\}\s*(#.*)?$", line.rstrip("\n")):
                lines[i] = "models:\n" + rendered
                return "".join(lines)
            raise UsageError(
                f"{CONFIG_FILE}: `models:` is written in flow style; write it as a block mapping so "
                "aliases can be added, or import into another folder with --out"
            )
    sep = "" if not text or text.endswith("\n") else "\n"
    return f"{text}{sep}\nmodels:\n{rendered}"


def judge_files(
    config: ProjectConfig, prompts: list[dict[str, Any]], goldens: list[dict[str, Any] | None]
) -> dict[str, str]:
    """Judge prompts (and their partial) from the ``llmops init`` starter that the imported assertions need
    and the project lacks, as {relative path: text} (existing files are filtered by the caller)."""
    types: set[str] = set()
    for g in goldens:
        if not g:
            continue
        for a in [*g.get("defaults", {}).get("assert", []), *(x for c in g["cases"] for x in c.get("assert", []))]:
            if a.get("type") in JUDGE_TYPES and not a.get("prompt"):
                types.add(a["type"])
    out: dict[str, str] = {}
    pdir = config.paths.prompts.strip("/")
    for t in sorted(types):
        name = config.judge.prompt if t == "judge" else TYPE_PROMPTS[t]
        starter = f"prompts/{name}{PROMPT_SUFFIX}"
        try:
            out[f"{pdir}/{name}{PROMPT_SUFFIX}"] = scaffold_text(starter)
        except (FileNotFoundError, OSError):
            continue  # a custom judge prompt name: the project must provide it
    if out:
        out[f"{config.paths.partials.strip('/')}/judge_output.j2"] = scaffold_text("prompts/_partials/judge_output.j2")
    return out


def apply(plan: Plan, report: ImportReport, *, force: bool, dry_run: bool, keep_existing: set[str]) -> None:
    """Write the plan. A file that exists with other content is a conflict (nothing is written) unless
    ``force``; files in ``keep_existing`` (judge starters) are left alone when present."""
    actions: list[tuple[str, str]] = []
    conflicts: list[str] = []
    for rel, text in sorted(plan.files.items()):
        path = os.path.join(plan.out, rel)
        if os.path.islink(path):
            raise UsageError(f"{rel} is a symbolic link; refusing to write through it")
        confined(plan.out, rel)  # a linked folder (evals/ → elsewhere) may not carry the write outside
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as fh:
                current = fh.read()
            if current == text or rel in keep_existing:
                actions.append((rel, "unchanged"))
            elif rel == CONFIG_FILE:
                actions.append((rel, "updated"))  # only ever gains aliases
            elif force:
                actions.append((rel, "overwritten"))
            else:
                conflicts.append(rel)
        else:
            actions.append((rel, "created"))
    if conflicts:
        raise UsageError(
            f"{len(conflicts)} file(s) exist with other content and would be overwritten: "
            f"{', '.join(conflicts[:5])}{' …' if len(conflicts) > 5 else ''} (use --force to overwrite)"
        )
    for rel, action in actions:
        if dry_run:
            shown = {"created": "would-create", "overwritten": "would-overwrite", "updated": "would-overwrite"}
            report.files.append((rel, shown.get(action, action)))  # type: ignore[arg-type]
            continue
        if action in ("created", "overwritten", "updated"):
            path = confined(plan.out, rel)
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            tmp = f"{path}.llmops-import.tmp"
            with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(plan.files[rel])
            os.replace(tmp, path)
        report.files.append((rel, action))  # type: ignore[arg-type]
