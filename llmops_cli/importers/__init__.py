"""Import prompts and tests from other tools: promptfoo configs, GitHub Models ``.prompt.yml`` and ``.prompty``.

Each importer reads its source (untrusted: strict YAML, confined ``file://`` references, bounded sizes) into
draft prompts; :func:`import_files` turns them into llmops prompt files, golden sets and ``llmops.yaml``
aliases and writes them — idempotently, never overwriting a different file without ``force``. Every construct
that does not map is reported with its file and YAML path / line, and the imported cases it applied to carry
``metadata.import.unmapped``, which ``llmops prompt lint`` reports as ``import-gap``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from ..errors import UsageError
from ..spec import PROMPT_SUFFIX
from .common import DraftPrompt, GapLog, ModelAliasDraft, checked_name
from .report import Gap, ImportReport
from .writer import HEADER, Plan, apply, dump_yaml, finish, judge_files, merge_aliases, read_config

__all__ = ["FORMATS", "Gap", "ImportReport", "import_files"]

Parser = Callable[..., tuple[list[DraftPrompt], list[ModelAliasDraft], list[GapLog], dict[str, int]]]


def _parsers() -> dict[str, Parser]:
    from .gh_models import parse_gh_models
    from .promptfoo import parse_promptfoo
    from .prompty import parse_prompty

    return {"promptfoo": parse_promptfoo, "gh-models": parse_gh_models, "prompty": parse_prompty}


FORMATS = ("promptfoo", "gh-models", "prompty")


def import_files(
    fmt: str,
    paths: list[str],
    out: str,
    *,
    force: bool = False,
    dry_run: bool = False,
    name: str | None = None,
) -> ImportReport:
    """Import ``paths`` (of format ``fmt``) into the project folder ``out`` and report what happened."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown import format {fmt!r} (one of {', '.join(FORMATS)})")
    if not paths:
        raise UsageError("no file to import")
    if name is not None and len(paths) > 1:
        raise UsageError("--name applies to a single imported file")
    if name is not None and (
        len(name) > 150
        or not all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", p) and ".." not in p for p in name.split("/"))
    ):
        raise UsageError(f"--name {name!r}: use letters, digits, '_', '-', '.' and '/' between parts (no '..')")
    parse = _parsers()[fmt]
    report = ImportReport(format=fmt, dry_run=dry_run)
    cwd = os.getcwd()
    drafts: list[tuple[DraftPrompt, GapLog, list[GapLog]]] = []
    aliases: list[ModelAliasDraft] = []
    all_logs: list[GapLog] = []
    for path in paths:
        kwargs = {"label_root": cwd}
        if fmt == "promptfoo":
            kwargs["name"] = name  # type: ignore[assignment]
        ds, als, logs, mapped = parse(path, **kwargs)
        for a in als:  # model ids go into llmops.yaml, which refuses what the name rule refuses
            checked_name(a.model, "model id", logs[0].file)
        report.sources.append(logs[0].file)
        report.mapped.update(mapped)
        aliases.extend(als)
        all_logs.extend(logs)
        for d in ds:
            if fmt != "promptfoo" and name:
                d.name = name
            drafts.append((d, logs[0], logs))

    config_text, config = read_config(out)
    prompts_dir = config.paths.prompts.strip("/")
    evals_dir = config.paths.evals.strip("/")
    plan = Plan(out)
    names_seen: set[str] = set()
    finished = []
    for d, log, logs in drafts:
        if d.name in names_seen:
            raise UsageError(f"two imported files map to the prompt '{d.name}'; import them into separate folders")
        names_seen.add(d.name)
        in_cases = {id(g) for c in d.cases for g in c.gaps}
        d.gaps = [g for lg in logs for g in lg.gaps if g.kind == "unmapped" and id(g) not in in_cases]
        prompt, golden = finish(d, log)
        finished.append((d, prompt, golden))

    judges = {
        rel: text
        for rel, text in judge_files(config, [p for _, p, _ in finished], [g for _, _, g in finished]).items()
        if not os.path.exists(os.path.join(out, rel))
    }
    extra: list[ModelAliasDraft] = []
    if judges and "judge" not in config.models:
        extra.append(ModelAliasDraft("judge", "openai/gpt-4o-2024-08-06", {"temperature": 0}))
    if any(d.model == "chat" for d, _, _ in finished) and "chat" not in config.models:
        extra.append(ModelAliasDraft("chat", "openai/gpt-4o-mini-2024-07-18", {"temperature": 0.2}))
    new_config, alias_names, added = merge_aliases(config_text, [*aliases, *extra])
    report.aliases = added

    for d, prompt, golden in finished:
        prompt["model"] = alias_names.get(d.model, d.model)
        header = HEADER.format(fmt=fmt, source=d.source)
        prompt_rel = f"{prompts_dir}/{d.name}{PROMPT_SUFFIX}"
        plan.add(prompt_rel, header + dump_yaml(prompt))
        golden_text = None
        if golden is not None:
            golden_text = header + dump_yaml(golden)
            plan.add(f"{evals_dir}/{d.name}.yaml", golden_text)
            report.cases += len(golden["cases"])
        _validate(prompt_rel, plan.files[prompt_rel], f"{evals_dir}/{d.name}.yaml", golden_text, d.name)
        report.prompts.append(d.name)
    for rel, text in judges.items():
        plan.add(rel, text)
    if config_text is None or new_config != config_text:
        plan.add("llmops.yaml", new_config)

    seen: set[tuple[str, str, str, str]] = set()
    for lg in all_logs:
        for g in lg.gaps:
            key = (g.kind, g.file, g.path, g.construct)
            if key not in seen:
                seen.add(key)
                report.gaps.append(g)
    apply(plan, report, force=force, dry_run=dry_run, keep_existing=set(judges))
    return report


def _validate(prompt_file: str, prompt_text: str, golden_file: str, golden_text: str | None, name: str) -> None:
    """Every generated file must load as llmops would load it; a failure here is a bug in the importer."""
    from ..errors import InternalError, UserError
    from ..evals.assertions import parse_assertions
    from ..goldens import parse_golden
    from ..project import parse_prompt_text

    try:
        spec, _ = parse_prompt_text(prompt_text, prompt_file)
        if golden_text is not None:
            gs = parse_golden(golden_text, golden_file, name)
            schema = spec.output.schema_
            for case in gs.cases:
                parse_assertions(gs.asserts_for(case), file=golden_file, line=None, where=case.id, output_schema=schema)
    except UserError as exc:
        raise InternalError(f"the import produced an invalid file: {exc}") from None
