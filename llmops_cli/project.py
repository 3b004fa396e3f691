"""A project: ``llmops.yaml``, its prompts, partials and golden sets, read through a :class:`Source`."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from .config import CONFIG_FILE, ProjectConfig, format_validation_error, parse_config
from .errors import (
    NotFoundError,
    PromptFileError,
    TemplateError,
    TemplatePathError,
    ToolFileError,
    UsageError,
    UserError,
)
from .limits import MAX_PROMPT_FILE_CHARS, MAX_SMALL_YAML_NODES, name_problem
from .media.load import MediaReader
from .models.targets import resolve_route
from .prompt import MessageTemplate, Prompt
from .root import find_root
from .sources import FsSource, Source, path_problem
from .spec import PROMPT_SUFFIX, PromptSpec
from .templating import TemplateEngine, TemplateOrigin
from .toolspec import MAX_TOOLS, TOOL_FILE_SUFFIX, NamedToolChoice, ToolFileSpec, ToolRefSpec
from .yamlio import LineMap, parse_yaml

if TYPE_CHECKING:
    from .goldens import GoldenSet
    from .records.chat import ToolSpec

GOLDEN_SUFFIXES = (".yaml", ".yml", ".jsonl")  # evals/<prompt name><suffix>


class Project:
    """Prompts, golden sets and configuration of one project, as seen through one source."""

    def __init__(self, source: Source, root: Path | None = None) -> None:
        self.source = source
        self.root = root
        text = source.read_text(CONFIG_FILE) if source.exists(CONFIG_FILE) else None
        self.config: ProjectConfig = parse_config(text, CONFIG_FILE)
        self.config_text = text
        self.engine = TemplateEngine(source, self.config.paths.partials)
        self._prompts: dict[str, Prompt] = {}
        self._names: list[str] | None = None
        self.media = MediaReader(source)  # image/file/pdf inputs given as project paths
        self._tool_files: dict[str, ToolFileSpec] = {}

    @classmethod
    def open(cls, start: str | os.PathLike[str] | None = None) -> Project:
        """The project on disk around ``start`` (default: the current directory)."""
        root = find_root(start)
        return cls(FsSource(root), root)

    @classmethod
    def at_ref(cls, ref: str, start: str | os.PathLike[str] | None = None) -> Project:
        """The project as committed at git ``ref`` (read from objects; no checkout)."""
        from .sources import git_source

        root = find_root(start)
        return cls(git_source(root, ref), root)

    # -- prompts -----------------------------------------------------------------------------------
    @property
    def prompts_dir(self) -> str:
        return self.config.paths.prompts.strip("/")

    def prompt_file(self, name: str) -> str:
        return f"{self.prompts_dir}/{name}{PROMPT_SUFFIX}"

    def prompt_names(self) -> list[str]:
        """Every prompt name, sorted (``prompts/support/answer.prompt.yaml`` → ``support/answer``)."""
        if self._names is None:
            files = self.source.list_files(self.prompts_dir, (PROMPT_SUFFIX,))
            start = len(self.prompts_dir) + 1
            self._names = [f[start : -len(PROMPT_SUFFIX)] for f in files]
        return self._names

    def name_for_file(self, path: str) -> str | None:
        """The prompt name of a prompt file path, or None if it is not one."""
        pre = f"{self.prompts_dir}/"
        if path.startswith(pre) and path.endswith(PROMPT_SUFFIX):
            return path[len(pre) : -len(PROMPT_SUFFIX)]
        return None

    def load(self, name: str) -> Prompt:
        """Load and validate one prompt (cached per project)."""
        if name not in self._prompts:
            self._prompts[name] = self._load(name)
        return self._prompts[name]

    def _load(self, name: str) -> Prompt:
        problem = name_problem(name, "prompt name")
        if problem:
            if name in self.prompt_names():  # a file in the tree: name it
                raise PromptFileError(problem, file=self.prompt_file(name))
            raise UsageError(problem)
        file = self.prompt_file(name)
        if not self.source.exists(file):
            known = self.prompt_names()
            hint = _closest(name, known)
            raise NotFoundError(
                f"no prompt named '{name}' ({file} not found in {self.source.label})"
                + (f"; did you mean '{hint}'?" if hint else "")
            )
        text = self.source.read_text(file)
        spec, lines = parse_prompt_text(text, file)
        return self.build_prompt(name, file, spec, lines)

    def template_path(self, file: str, rel: str, line: int | None) -> str:
        """The project path of a message's ``template:`` file, confined to the prompts folder."""
        folder = file.rsplit("/", 1)[0] if "/" in file else ""
        if rel.startswith("/") or ".." in rel.split("/"):
            problem: str | None = "must be a relative path without '..'"
        else:
            problem = path_problem(self.source, f"{folder}/{rel}" if folder else rel, self.prompts_dir)
        if problem:
            raise TemplatePathError(f"template {rel[:200]!r} {problem}", file=file, line=line)
        return _join(folder, rel)

    def build_prompt(self, name: str, file: str, spec: PromptSpec, lines: LineMap | None) -> Prompt:
        """Resolve model alias, message templates and partials of a validated spec."""
        messages: list[MessageTemplate] = []
        for i, m in enumerate(spec.messages):
            if m.content is not None:
                origin = TemplateOrigin(file, lines, ("messages", i, "content"))
                messages.append(MessageTemplate(m.role, m.content, origin, attach=tuple(m.attach or ())))
            else:
                tline = lines.line(("messages", i, "template")) if lines else None
                tpath = self.template_path(file, m.template or "", tline)
                if not self.source.exists(tpath):
                    raise TemplateError(f"messages -> {i} -> template: file not found: {tpath}", file=file, line=tline)
                ttext = self.source.read_text(tpath)
                if len(ttext) > MAX_PROMPT_FILE_CHARS:
                    msg = f"template {tpath} is larger than {MAX_PROMPT_FILE_CHARS:,} characters"
                    raise TemplateError(msg, file=file, line=tline)
                messages.append(MessageTemplate(m.role, ttext, TemplateOrigin(tpath), tpath, tuple(m.attach or ())))
        partials: dict[str, str] = {}
        used: set[str] = set()
        for tmpl in messages:
            info = self.engine.analyse(tmpl.text, tmpl.origin)
            if info.missing_includes:
                inc, tline = info.missing_includes[0]
                raise TemplateError(
                    f"included template not found: {inc!r} (looked in {self.config.paths.partials}/)",
                    file=tmpl.origin.file,
                    line=tmpl.origin.file_line(tline),
                )
            if info.dynamic_includes:
                raise TemplateError(
                    "include names must be string literals",
                    file=tmpl.origin.file,
                    line=tmpl.origin.file_line(info.dynamic_includes[0]),
                )
            partials.update(info.includes)
            used |= info.variables
        tools = self.resolve_tools(file, spec, lines)
        model, alias = self.config.resolve_model(spec.model)
        return Prompt(
            name=name,
            file=file,
            spec=spec,
            model=model,
            alias=alias,
            messages=messages,
            partials=dict(sorted(partials.items())),
            variables_used=used,
            engine=self.engine,
            route=resolve_route(self.config, spec.model),
            media=self.media,
            tools=tools,
        )

    # -- tools -------------------------------------------------------------------------------------
    @property
    def tools_dir(self) -> str:
        return self.config.paths.tools.strip("/")

    def tool_file(self, ref: str, prompt_file: str | None = None, line: int | None = None) -> ToolFileSpec:
        """The tool file ``ref`` (``orders`` → ``prompts/_tools/orders.yaml``), confined to the tools folder like
        partials; :class:`ToolFileError` naming the prompt file and line when it cannot be used, naming the tool
        file and its line when it does not validate."""
        if ref in self._tool_files:
            return self._tool_files[ref]
        folder = self.tools_dir
        path = f"{folder}/{ref}{TOOL_FILE_SUFFIX}"
        problem = path_problem(self.source, path, folder)
        if problem:
            raise ToolFileError(f"tool file {path[:200]!r} {problem}", file=prompt_file or path, line=line)
        if not self.source.exists(path):
            known = [
                f[len(folder) + 1 : -len(TOOL_FILE_SUFFIX)] for f in self.source.list_files(folder, (TOOL_FILE_SUFFIX,))
            ]
            hint = _closest(ref, known)
            raise ToolFileError(
                f"tool file not found: {path[:200]}" + (f"; did you mean '{hint}'?" if hint else ""),
                file=prompt_file or path,
                line=line,
            )
        spec = parse_tool_file(self.source.read_text(path), path)
        self._tool_files[ref] = spec
        return spec

    def tool_file_paths(self, name: str) -> list[str]:
        """The tool files prompt ``name`` references with ``use:`` (best effort: [] when its file does not
        parse), so a release can refuse uncommitted changes to them."""
        try:
            spec, _ = parse_prompt_text(self.source.read_text(self.prompt_file(name)), self.prompt_file(name))
        except UserError:
            return []
        refs = {entry.file for entry in spec.tools if isinstance(entry, ToolRefSpec)}
        return sorted(f"{self.tools_dir}/{ref}{TOOL_FILE_SUFFIX}" for ref in refs)

    def resolve_tools(self, file: str, spec: PromptSpec, lines: LineMap | None) -> list[ToolSpec]:
        """The prompt's tools, references resolved, as :class:`~llmops_cli.records.chat.ToolSpec`; checks that no
        name repeats and that ``tool_choice`` / ``parallel_tool_calls`` name declared tools."""

        def line_of(*path: str | int) -> int | None:
            return lines.line(path) if lines else None

        tools: list[ToolSpec] = []
        declared_at: dict[str, int] = {}
        for i, entry in enumerate(spec.tools):
            if isinstance(entry, ToolRefSpec):
                try:
                    tool_file = self.tool_file(entry.file, file)
                except ToolFileError as exc:  # the line is looked up only for the message (it parses the file)
                    if exc.file == file and exc.line is None:
                        exc.line = line_of("tools", i, "use")
                    raise
                chosen = [t for t in tool_file.tools if entry.tool in ("*", t.name)]
                if not chosen:
                    names = ", ".join(t.name for t in tool_file.tools[:20])
                    raise ToolFileError(
                        f"tools -> {i} -> use: no tool {entry.tool!r} in {self.tools_dir}/{entry.file}"
                        f"{TOOL_FILE_SUFFIX} (it defines: {names})",
                        file=file,
                        line=line_of("tools", i, "use"),
                    )
            else:
                chosen = [entry]
            for tool in chosen:
                if tool.name in declared_at:
                    raise ToolFileError(
                        f"tools -> {i}: tool {tool.name!r} is declared twice "
                        f"(also by tools -> {declared_at[tool.name]})",
                        file=file,
                        line=line_of("tools", i),
                    )
                declared_at[tool.name] = i
                tools.append(tool.to_record())
        if len(tools) > MAX_TOOLS:
            raise ToolFileError(
                f"tools: {len(tools)} tools, more than the {MAX_TOOLS} allowed", file=file, line=line_of("tools")
            )
        choice = spec.tool_choice
        if not tools and choice not in (None, "none"):
            raise ToolFileError(
                "tool_choice is set but the prompt declares no tools", file=file, line=line_of("tool_choice")
            )
        if not tools and spec.parallel_tool_calls is not None:
            msg = "parallel_tool_calls is set but the prompt declares no tools"
            raise ToolFileError(msg, file=file, line=line_of("parallel_tool_calls"))
        if isinstance(choice, NamedToolChoice) and choice.name not in declared_at:
            names = ", ".join(sorted(declared_at)[:20])
            raise ToolFileError(
                f"tool_choice names {choice.name!r}, which the prompt does not declare (tools: {names})",
                file=file,
                line=line_of("tool_choice", "name"),
            )
        return tools

    # -- golden sets -------------------------------------------------------------------------------
    def golden_file(self, name: str) -> str | None:
        base = f"{self.config.paths.evals.strip('/')}/{name}"
        for suffix in GOLDEN_SUFFIXES:
            if self.source.exists(base + suffix):
                return base + suffix
        return None

    def golden_names(self) -> list[str]:
        """Prompt names that have a golden-set file (whether or not the prompt exists)."""
        evals = self.config.paths.evals.strip("/")
        names = []
        for f in self.source.list_files(evals, GOLDEN_SUFFIXES):
            stem = f[len(evals) + 1 :]
            if stem.endswith(".labels.yaml"):  # a judge's human labels (llmops_cli.judging.labels), not a golden set
                continue
            for suffix in GOLDEN_SUFFIXES:
                if stem.endswith(suffix):
                    names.append(stem[: -len(suffix)])
                    break
        return sorted(set(names))

    def golden_set(self, name: str) -> GoldenSet | None:
        file = self.golden_file(name)
        if file is None:
            return None
        from .goldens import parse_golden  # golden sets are not needed to list or render prompts

        cache_dir = self.config.cache_dir(str(self.root)) if self.root else None
        return parse_golden(self.source.read_text(file), file, name, cache_dir)


def parse_prompt_text(text: str, file: str) -> tuple[PromptSpec, LineMap]:
    """Parse and validate a prompt file's YAML (never templating the raw text)."""
    data = parse_yaml(text, file, max_chars=MAX_PROMPT_FILE_CHARS, max_nodes=MAX_SMALL_YAML_NODES)
    lines = LineMap(text)
    if not isinstance(data, dict):
        raise PromptFileError("a prompt file must be a YAML mapping", file=file, line=1)
    try:
        spec = PromptSpec.model_validate(data)
    except ValidationError as exc:
        msg, line = format_validation_error(exc, lines)
        raise PromptFileError(msg, file=file, line=line) from None
    return spec, lines


def parse_tool_file(text: str, file: str) -> ToolFileSpec:
    """Parse and validate a shared tool file (bounded YAML, no anchors); errors name the file and line."""
    data = parse_yaml(text, file, max_chars=MAX_PROMPT_FILE_CHARS, max_nodes=MAX_SMALL_YAML_NODES)
    if not isinstance(data, dict):
        raise ToolFileError("a tool file must be a YAML mapping with 'tools:'", file=file, line=1)
    try:
        return ToolFileSpec.model_validate(data)
    except ValidationError as exc:
        msg, line = format_validation_error(exc, LineMap(text))
        raise ToolFileError(msg, file=file, line=line) from None


def _join(folder: str, rel: str) -> str:
    return posixpath.normpath(posixpath.join(folder, rel))


def _closest(name: str, known: list[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return match[0] if match else None
