"""``llmops prompt lint``: find mistakes in prompts and golden sets before review."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import UsageError, UserError, VariablesError
from .limits import name_problem
from .project import Project, parse_prompt_text
from .prompt import Prompt
from .safety.config import SAFETY_TYPES, safety_fields_problem
from .safety.guards import parse_guard
from .spec import import_stub
from .variables import validate_variables
from .yamlio import LineMap

Severity = Literal["error", "warning"]

# A model id is pinned when it names a dated snapshot or explicit version.
_PINNED = re.compile(r"(\d{4}-\d{2}-\d{2}|\d{8}|-\d{4}$|-\d{3}$|@\d+|:\d|v\d+(\.\d+)*$|\.gguf$)")
# Providers whose ids are not floating aliases (local files, self-hosted servers pin by deployment).
_SELF_HOSTED = ("local/", "ollama/", "ollama_chat/", "hosted_vllm/", "lm_studio/", "llamafile/")


@dataclass(frozen=True)
class Finding:
    """One lint result."""

    severity: Severity
    code: str
    message: str
    file: str
    line: int | None = None
    prompt: str | None = None

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def is_pinned(model_id: str) -> bool:
    """Does a litellm model id name a fixed snapshot (``gpt-4o-2024-08-06``, not ``gpt-4o``)?"""
    if model_id.startswith(_SELF_HOSTED):
        return True
    if model_id.endswith("-latest"):
        return False
    return bool(_PINNED.search(model_id.rsplit("/", 1)[-1]))


def prompts_for_files(project: Project, paths: list[str], cwd: str) -> list[str] | None:
    """The prompts that changed ``paths`` (relative to ``cwd``, as pre-commit passes them) can affect.

    A prompt file or its golden set names one prompt; the configuration, a partial, a tool file or any other file
    under the prompts folder, or a golden set without its prompt, can affect every prompt: ``None`` (lint all). Paths
    outside the project are ignored; the result may be empty (nothing to lint).
    """
    from .project import GOLDEN_SUFFIXES

    if project.root is None:
        return None
    root = Path(project.root).resolve()
    prompts_dir, evals_dir = project.prompts_dir, project.config.paths.evals.strip("/")
    known = set(project.prompt_names())
    names: list[str] = []
    for raw in paths[:100_000]:
        full = (Path(cwd) / raw).resolve()
        if full != root and root not in full.parents:
            continue
        rel = full.relative_to(root).as_posix()
        name = project.name_for_file(rel)
        if name is None and rel.startswith(f"{evals_dir}/"):
            stem = rel[len(evals_dir) + 1 :]
            suffix = next((s for s in GOLDEN_SUFFIXES if stem.endswith(s)), None)
            if suffix is None:
                continue
            name = stem[: -len(suffix)]
            if name not in known:
                return None  # an orphan golden set is a finding of the whole-project lint
        elif name is None:
            if rel == "llmops.yaml" or rel.startswith((f"{prompts_dir}/", f"{project.tools_dir}/")):
                return None
            continue
        if name in known and name not in names:
            names.append(name)
    return names


def lint_project(project: Project, names: list[str] | None = None) -> list[Finding]:
    """Lint the named prompts (all when None) and their golden sets; orphan golden sets too."""
    all_names = project.prompt_names()
    targets = names if names else all_names
    findings: list[Finding] = []
    for name in targets:
        if name not in all_names:
            findings.append(Finding("error", "not-found", f"no prompt named '{name}'", project.prompt_file(name)))
            continue
        findings.extend(lint_prompt(project, name))
    if not names:
        for gname in project.golden_names():
            if gname not in all_names:
                file = project.golden_file(gname) or gname
                findings.append(
                    Finding("error", "orphan-golden-set", f"golden set for unknown prompt '{gname}'", file, 1)
                )
    return findings


def lint_prompt(project: Project, name: str) -> list[Finding]:
    """All findings for one prompt and its golden set."""
    file = project.prompt_file(name)
    out: list[Finding] = []

    def add(sev: Severity, code: str, msg: str, f: str = file, line: int | None = None) -> None:
        out.append(Finding(sev, code, msg, f, line, name))

    problem = name_problem(name, "prompt name")
    if problem:  # the file's name is the prompt's name: the rule every loader and the results file apply
        shown = ascii(file)[1:-1]
        return [Finding("error", "bad-prompt-name", problem, shown, None, ascii(name)[1:-1])]

    try:
        text = project.source.read_text(file)
        spec, lines = parse_prompt_text(text, file)
        prompt = project.build_prompt(name, file, spec, lines)
    except UserError as exc:
        code = getattr(exc, "code", None) or type(exc).__name__.replace("Error", "").lower() or "error"
        add("error", code, exc.message, exc.file or file, exc.line)
        return out

    for m in prompt.messages:
        info = project.engine.analyse(m.text, m.origin)
        for attr, tline in info.unsafe_attributes:
            add(
                "error",
                "unsafe-attribute",
                f"template reaches for {attr!r}, which the sandbox blocks",
                m.origin.file,
                m.origin.file_line(tline),
            )

    declared = set(spec.inputs)
    for var in sorted(prompt.variables_used - declared):
        add(
            "error",
            "undeclared-variable",
            f"template uses `{var}` but it is not declared in inputs",
            line=lines.line(("inputs",)) or lines.line(("messages",)),
        )
    attached = {name for m in prompt.messages for name in m.attach}  # sent as content parts, not as text
    for var in sorted(declared - prompt.variables_used - attached):
        add(
            "warning",
            "unused-input",
            f"input `{var}` is declared but never used",
            line=lines.line(("inputs", var)),
        )

    for var in sorted(attached & prompt.variables_used):
        add(
            "warning",
            "media-in-text",
            f"template prints `{var}`, an {spec.inputs[var].type} input: the text gets its path or URL "
            "(the bytes are attached as a content part already)",
            line=lines.line(("inputs", var)),
        )

    for iname, ispec in spec.inputs.items():
        if ispec.has_default:
            _, problems = validate_variables({iname: ispec}, {iname: ispec.default})
            for p in problems:
                add("error", "bad-default", f"default of {p}", line=lines.line(("inputs", iname, "default")))

    if project.config.models and spec.model not in project.config.models and "/" not in spec.model:
        add(
            "warning",
            "unknown-model-alias",
            f"model '{spec.model}' is neither an alias in llmops.yaml nor a provider/model id",
            line=lines.line(("model",)),
        )
    if not is_pinned(prompt.model):
        via = f" (alias '{spec.model}')" if prompt.alias else ""
        add(
            "warning",
            "unpinned-model",
            f"model '{prompt.model}'{via} is a floating alias; pin a dated snapshot so provider updates "
            "cannot change behaviour silently",
            line=lines.line(("model",)),
        )
    for gap in _import_gaps(spec.metadata):
        add("warning", "import-gap", f"not imported: {gap}", line=lines.line(("metadata", "import")))
    stub = import_stub(spec.metadata)
    if stub is not None:
        add(
            "warning",
            "import-stub",
            f"import stub: {stub}; write the messages, then remove metadata.import.stub (eval run refuses it)",
            line=lines.line(("metadata", "import", "stub")),
        )
    if spec.output.format == "json" and spec.output.schema_ is not None:
        out.extend(_lint_schema(prompt, spec.output.schema_, lines.line(("output", "schema"))))
    out.extend(lint_tools(project, prompt, lines))
    for i, guard in enumerate(spec.guards):
        try:
            parse_guard(guard)
        except UsageError as exc:
            add("error", "bad-guard", f"guard {i}: {exc.message}", line=lines.line(("guards", i)))
    out.extend(_lint_golden(project, prompt))
    return out


def _lint_schema(prompt: Prompt, schema: dict[str, Any], line: int | None) -> list[Finding]:
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [
            Finding(
                "error",
                "bad-output-schema",
                f"output schema is not valid JSON Schema: {exc.message}",
                prompt.file,
                line,
                prompt.name,
            )
        ]
    return []


def lint_tools(project: Project, prompt: Prompt, lines: LineMap) -> list[Finding]:
    """Findings about a prompt's tools and strict output: tool schemas against the Draft 2020-12 meta-schema,
    patterns RE2 cannot run, OpenAI strict-mode rules, tools without a description, and models that litellm's
    table says take no tools or no strict schema. Errors name the line where the tool is defined (the tool file
    for ``use:`` references)."""
    from .models.capabilities import supports_response_schema, supports_tools
    from .toolspec import strict_schema_problems

    out: list[Finding] = []

    def add(sev: Severity, code: str, msg: str, where: tuple[str, int | None]) -> None:
        out.append(Finding(sev, code, msg, where[0], where[1], prompt.name))

    located: list[tuple[str, int | None]] = []

    def tool_at(k: int) -> tuple[str, int | None]:  # lines are looked up only for findings (it parses the files)
        if not located:
            located.extend(_tool_locations(project, prompt, lines))
        return located[k]

    for k, tool in enumerate(prompt.tools):
        problem = _schema_problem(tool.parameters)
        if problem:
            msg = f"tool {tool.name!r}: parameters are not valid JSON Schema: {problem}"
            add("error", "bad-tool-schema", msg, tool_at(k))
        elif tool.strict:
            for p in strict_schema_problems(tool.parameters):
                add(
                    "warning", "strict-schema", f"tool {tool.name!r} is strict but {p} (OpenAI strict mode)", tool_at(k)
                )
        if not tool.description.strip():
            add(
                "warning", "tool-description", f"tool {tool.name!r} has no description (the model reads it)", tool_at(k)
            )
    if prompt.tools and supports_tools(prompt.model) is False:
        add(
            "warning",
            "tools-unsupported",
            f"model '{prompt.model}' does not take tool definitions (litellm's model table)",
            (prompt.file, lines.line(("tools",))),
        )
    output = prompt.spec.output
    if output.strict and output.schema_ is not None:
        where = (prompt.file, lines.line(("output", "strict")))
        for p in strict_schema_problems(output.schema_):
            add("warning", "strict-schema", f"output is strict but {p} (OpenAI strict mode)", where)
        if supports_response_schema(prompt.model) is False:
            add(
                "warning",
                "strict-output-unsupported",
                f"model '{prompt.model}' lacks strict JSON-Schema output (litellm's model table): it is sent "
                "JSON mode (json_object) and the schema is checked only after the reply",
                where,
            )
    return out


def _tool_locations(project: Project, prompt: Prompt, lines: LineMap) -> list[tuple[str, int | None]]:
    """``(file, line)`` of each of the prompt's resolved tools, in order: the prompt file's ``tools[i]`` for a
    tool defined in place, the tool file's ``tools[j]`` for a ``use:`` reference."""
    from .toolspec import TOOL_FILE_SUFFIX, ToolRefSpec

    out: list[tuple[str, int | None]] = []
    for i, entry in enumerate(prompt.spec.tools):
        if not isinstance(entry, ToolRefSpec):
            out.append((prompt.file, lines.line(("tools", i, "parameters"))))
            continue
        path = f"{project.tools_dir}/{entry.file}{TOOL_FILE_SUFFIX}"
        tool_file = project.tool_file(entry.file)
        tmap = _line_map(project.source.read_text(path))
        for j, tool in enumerate(tool_file.tools):
            if entry.tool in ("*", tool.name):
                out.append((path, tmap.line(("tools", j, "parameters"))))
    return out


@functools.lru_cache(maxsize=64)
def _line_map(text: str) -> LineMap:
    """One line map per tool-file text (prompts sharing a tool file look its lines up once)."""
    return LineMap(text)


def _schema_problem(schema: dict[str, Any]) -> str | None:
    """Why ``schema`` fails the Draft 2020-12 meta-schema or has a pattern RE2 cannot run (None: neither).
    Memoised on the schema's canonical JSON: prompts sharing a tool file check each schema once."""
    from .hashing import canonical_json

    return _schema_problem_of(canonical_json(schema))


@functools.lru_cache(maxsize=1024)
def _schema_problem_of(text: str) -> str | None:
    import jsonschema

    from .safety.schema import re2_compile, schema_nodes

    schema = json.loads(text)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"{exc.message[:200]} (at {exc.json_path})"
    try:
        for node in schema_nodes(schema):
            if isinstance(node.get("pattern"), str):
                re2_compile(node["pattern"])
            if isinstance(node.get("patternProperties"), dict):
                for key in node["patternProperties"]:
                    re2_compile(key)
    except ValueError as exc:
        return f"pattern: {str(exc)[:200]}"
    return None


def _lint_golden(project: Project, prompt: Prompt) -> list[Finding]:
    out: list[Finding] = []
    try:
        gs = project.golden_set(prompt.name)
    except UserError as exc:
        return [Finding("error", "golden-set", exc.message, exc.file or "", exc.line, prompt.name)]
    if gs is None:
        if prompt.name.startswith("judges/") or prompt.name == project.config.judge.prompt:
            return []  # judges are evaluated through the prompts they judge
        return [
            Finding(
                "warning",
                "no-golden-set",
                f"prompt '{prompt.name}' has no golden set in {project.config.paths.evals}/",
                prompt.file,
                None,
                prompt.name,
            )
        ]

    def add(code: str, message: str, line: int | None) -> None:
        out.append(Finding("error", code, message, gs.file, line, prompt.name))

    for dup, index in gs.duplicate_ids:
        add("duplicate-case-id", f"case id {dup!r} appears more than once", gs.line_at(index))
    for index, case in enumerate(gs.cases):
        try:  # image/file/pdf inputs are read and checked too (type, size, dimensions, confinement)
            prompt.validate(gs.vars_for(case))
            problems: list[str] = []
        except VariablesError as exc:
            problems = exc.problems
        for p in problems:
            add("case-vars", f"case {case.id!r}: {p}", gs.line_at(index, "vars"))
        for gap in _import_gaps(case.metadata):
            out.append(
                Finding(
                    "warning",
                    "import-gap",
                    f"case {case.id!r}: not imported: {gap}",
                    gs.file,
                    gs.line_at(index, "metadata"),
                    prompt.name,
                )
            )
        for i, a in enumerate(gs.asserts_for(case)):
            if not isinstance(a.get("type"), str):
                add("bad-assertion", f"case {case.id!r}: assertion {i} has no 'type'", gs.line_at(index, "assert"))
                continue
            atype = a["type"].removeprefix("not-")
            problem = safety_fields_problem(atype, a) if atype in SAFETY_TYPES else None
            if problem:
                add(
                    "bad-assertion",
                    f"case {case.id!r}: assertion {i} ({a['type']}): {problem}",
                    gs.line_at(index, "assert"),
                )
    return out


def _import_gaps(metadata: dict[str, object]) -> list[str]:
    """Constructs ``llmops import`` could not map, as recorded in ``metadata.import.unmapped``."""
    record = metadata.get("import")
    gaps = record.get("unmapped") if isinstance(record, dict) else None
    return [str(g) for g in gaps] if isinstance(gaps, list) else []


def summarize(findings: list[Finding]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = sum(1 for f in findings if f.severity == "error")
    return errors, len(findings) - errors
