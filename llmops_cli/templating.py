"""Sandboxed Jinja: compiling, analysing and rendering prompt templates.

Prompt files come from pull requests, possibly from forks. Templates therefore run in Jinja's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with :class:`~jinja2.StrictUndefined`:
attributes such as ``__class__``, ``__globals__`` or ``mro`` raise :class:`SandboxViolation`,
an undefined variable is an error (never an empty string), and variables cannot be mutated.
``{% include %}`` resolves only inside the project's partials folder, by literal name.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .errors import NotFoundError, SandboxViolation, TemplateError
from .sources import Source
from .yamlio import LineMap

MAX_OUTPUT_CHARS = 1_000_000  # a rendered message larger than this is refused (runaway loops)


@dataclass(frozen=True)
class TemplateOrigin:
    """Where a template's text lives, to turn a Jinja line into a file line.

    For a ``.j2`` file the lines are the file's own. For an inline ``content:`` the YAML
    :class:`LineMap` and key path locate the scalar, computed only when an error needs a line.
    """

    file: str
    lines: LineMap | None = field(default=None, compare=False)
    key_path: tuple[str | int, ...] = ()

    def file_line(self, template_line: int | None) -> int | None:
        if template_line is None or self.lines is None:
            return template_line
        start = self.lines.line((*self.key_path, "__value__"))
        if start is None:
            return None
        return start + template_line - (0 if self.lines.is_block(self.key_path) else 1)


class _PartialsLoader(jinja2.BaseLoader):
    """Loads ``{% include "name.j2" %}`` from the partials folder of a :class:`Source`."""

    def __init__(self, source: Source, partials_dir: str) -> None:
        self.source = source
        self.partials_dir = partials_dir.strip("/")

    def path_for(self, name: str) -> str:
        norm = posixpath.normpath(name)
        if norm.startswith(("../", "/")) or norm == "..":
            raise jinja2.TemplateNotFound(name)
        return f"{self.partials_dir}/{norm}" if self.partials_dir else norm

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        path = self.path_for(template)
        try:
            text = self.source.read_text(path)
        except NotFoundError:
            raise jinja2.TemplateNotFound(template) from None
        return text, path, lambda: True


@dataclass
class TemplateInfo:
    """Static facts about one template (its includes resolved transitively)."""

    variables: set[str] = field(default_factory=set)
    includes: dict[str, str] = field(default_factory=dict)  # include name -> partial file text
    missing_includes: list[tuple[str, int]] = field(default_factory=list)  # (name, template line)
    dynamic_includes: list[int] = field(default_factory=list)  # template lines
    unsafe_attributes: list[tuple[str, int]] = field(default_factory=list)


class TemplateEngine:
    """One sandboxed Jinja environment per project source; compiled templates are cached."""

    def __init__(self, source: Source, partials_dir: str) -> None:
        self.loader = _PartialsLoader(source, partials_dir)
        self.env = ImmutableSandboxedEnvironment(
            loader=self.loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
            cache_size=1000,
        )
        self._compiled: dict[str, jinja2.Template] = {}
        self._infos: dict[str, TemplateInfo] = {}
        self._partial_texts: dict[str, str | None] = {}

    # -- static analysis -------------------------------------------------------------------------
    def _parse(self, text: str, origin: TemplateOrigin) -> nodes.Template:
        try:
            return self.env.parse(text)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"Jinja syntax error: {exc.message}", file=origin.file, line=origin.file_line(exc.lineno)
            ) from None

    def partial_text(self, name: str) -> str | None:
        if name not in self._partial_texts:
            try:
                self._partial_texts[name] = self.loader.source.read_text(self.loader.path_for(name))
            except (NotFoundError, jinja2.TemplateNotFound):
                self._partial_texts[name] = None
        return self._partial_texts[name]

    def analyse(self, text: str, origin: TemplateOrigin) -> TemplateInfo:
        """Variables used, partials included (transitively) and problems found, without rendering."""
        cached = self._infos.get(text)
        if cached is not None:
            return cached
        info = TemplateInfo()
        self._walk(self._parse(text, origin), origin, info, seen=set())
        self._infos[text] = info
        return info

    def _walk(self, ast: nodes.Template, origin: TemplateOrigin, info: TemplateInfo, seen: set[str]) -> None:
        from jinja2 import meta

        info.variables |= meta.find_undeclared_variables(ast)
        for node in ast.find_all(nodes.Getattr):
            if node.attr.startswith("_") or node.attr in {"mro", "gi_frame", "f_globals", "func_globals"}:
                info.unsafe_attributes.append((node.attr, node.lineno))
        for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            target = node.template
            if not (isinstance(target, nodes.Const) and isinstance(target.value, str)):
                info.dynamic_includes.append(node.lineno)
                continue
            name = target.value
            if name in seen:
                continue
            seen.add(name)
            body = self.partial_text(name)
            if body is None:
                info.missing_includes.append((name, node.lineno))
                continue
            info.includes[name] = body
            path = self.loader.path_for(name)
            self._walk(self._parse(body, TemplateOrigin(path)), TemplateOrigin(path), info, seen)

    # -- rendering ---------------------------------------------------------------------------------
    def compile(self, text: str, origin: TemplateOrigin) -> jinja2.Template:
        tpl = self._compiled.get(text)
        if tpl is None:
            try:
                tpl = self.env.from_string(text)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(
                    f"Jinja syntax error: {exc.message}",
                    file=exc.filename if exc.filename else origin.file,
                    line=exc.lineno if exc.filename else origin.file_line(exc.lineno),
                ) from None
            self._compiled[text] = tpl
        return tpl

    def render(self, text: str, origin: TemplateOrigin, variables: dict[str, Any]) -> str:
        """Render a template in the sandbox; every failure becomes a one-line :class:`TemplateError`."""
        tpl = self.compile(text, origin)
        try:
            chunks: list[str] = []
            size = 0
            for chunk in tpl.generate(**variables):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise TemplateError(f"rendered message exceeds {MAX_OUTPUT_CHARS:,} characters", file=origin.file)
                chunks.append(chunk)
            return "".join(chunks)
        except SecurityError as exc:
            raise SandboxViolation(f"unsafe template operation blocked: {exc}", file=origin.file) from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"undefined in template: {exc.message}", file=origin.file) from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"included template not found: {exc.name}", file=origin.file) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"Jinja syntax error: {exc.message}", file=exc.filename or origin.file, line=exc.lineno
            ) from None
        except TemplateError:
            raise
        except (TypeError, ValueError, ArithmeticError, LookupError, OverflowError) as exc:
            raise TemplateError(f"template error: {type(exc).__name__}: {exc}", file=origin.file) from None
