"""Sandboxed Jinja: compiling, analysing and rendering prompt templates.

Prompt files come from pull requests, possibly from forks. Templates therefore run in Jinja's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with :class:`~jinja2.StrictUndefined`:
attributes such as ``__class__``, ``__globals__`` or ``mro`` raise :class:`SandboxViolation`,
an undefined variable is an error (never an empty string), and variables cannot be mutated.
``{% include %}`` resolves only inside the project's partials folder, by literal name.

Every render is bounded on top of the sandbox (:mod:`llmops_cli.sandbox`, :mod:`llmops_cli.limits`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError

from . import limits
from .errors import LlmopsError, NotFoundError, SandboxViolation, TemplateError, TemplatePathError
from .limits import MAX_OUTPUT_CHARS
from .sandbox import Budget, LimitedSandbox, RenderLimitError, StrictUndefined, set_budget
from .sources import Source, path_problem
from .yamlio import LineMap


def _check_depth(ast: nodes.Template, origin: TemplateOrigin) -> None:
    """Refuse templates nested deeper than :data:`~llmops_cli.limits.MAX_TEMPLATE_DEPTH` (Jinja's compiler
    is quadratic in nesting: 200 nested loops take seconds to compile)."""
    stack: list[tuple[nodes.Node, int]] = [(ast, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limits.MAX_TEMPLATE_DEPTH:
            line = origin.file_line(getattr(node, "lineno", None))
            raise TemplateError(
                f"template nested deeper than {limits.MAX_TEMPLATE_DEPTH} levels", file=origin.file, line=line
            )
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())


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

    def problem(self, name: str) -> str | None:
        """Why ``{% include name %}`` may not be read (outside the partials folder, a link out of it…)."""
        if name.startswith("/") or ".." in name.split("/"):
            return "must be a relative path without '..'"
        path = posixpath.normpath(f"{self.partials_dir}/{name}" if self.partials_dir else name)
        return path_problem(self.source, path, self.partials_dir)

    def path_for(self, name: str) -> str:
        norm = posixpath.normpath(name)
        if norm.startswith(("../", "/")) or norm == "..":
            raise jinja2.TemplateNotFound(name)
        return f"{self.partials_dir}/{norm}" if self.partials_dir else norm

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        if self.problem(template):
            raise jinja2.TemplateNotFound(template)
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


def sandbox_environment(loader: jinja2.BaseLoader | None = None) -> LimitedSandbox:
    """The environment every prompt template is compiled, analysed and rendered in: the bounded sandbox
    (:class:`~llmops_cli.sandbox.LimitedSandbox`) with llmops's options. Importers check templates with it too."""
    return LimitedSandbox(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=1000,
    )


_CHECKER: list[LimitedSandbox] = []


def check_template(text: str, file: str = "<template>") -> tuple[str | None, set[str]]:
    """(None or the reason ``text`` cannot be used, the variables it reads), compiling it exactly as a prompt
    template is compiled: in the bounded sandbox, with the nesting limit, no constant folded at compile time.
    For text that is not (yet) a prompt file, e.g. a template being imported."""
    if not _CHECKER:
        _CHECKER.append(sandbox_environment())
    env = _CHECKER[0]
    from jinja2 import meta

    try:
        ast = env.parse(text)
        _check_depth(ast, TemplateOrigin(file))
        variables = meta.find_undeclared_variables(ast)
        env.compile(ast)  # what from_string does, without parsing twice
    except jinja2.TemplateSyntaxError as exc:
        return f"line {exc.lineno}: {exc.message}", set()
    except TemplateError as exc:
        return exc.message, set()
    except (RecursionError, MemoryError, SyntaxError):
        return "template is nested too deeply", set()
    return None, variables


# the nodes that load another template by name
_LOADS = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


class TemplateEngine:
    """One sandboxed Jinja environment per project source; compiled templates are cached."""

    def __init__(self, source: Source, partials_dir: str) -> None:
        self.loader = _PartialsLoader(source, partials_dir)
        self.env = sandbox_environment(self.loader)
        self._compiled: dict[str, jinja2.Template] = {}
        self._infos: dict[str, TemplateInfo] = {}
        self._partial_texts: dict[str, str | None] = {}

    # -- static analysis -------------------------------------------------------------------------
    def _parse(self, text: str, origin: TemplateOrigin) -> nodes.Template:
        try:
            ast = self.env.parse(text)
            _check_depth(ast, origin)
            return ast
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"Jinja syntax error: {exc.message}", file=origin.file, line=origin.file_line(exc.lineno)
            ) from None
        except (RecursionError, MemoryError):
            raise TemplateError("template is nested too deeply", file=origin.file) from None

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
        try:
            self._walk(self._parse(text, origin), origin, info, seen=set())
        except jinja2.TemplateSyntaxError as exc:  # e.g. an unknown filter, found while analysing
            file = exc.filename if exc.filename and not exc.filename.startswith("<") else origin.file
            line = exc.lineno if file != origin.file else origin.file_line(exc.lineno)
            raise TemplateError(f"Jinja error: {exc.message}", file=file, line=line) from None
        except (RecursionError, MemoryError):
            raise TemplateError("template is nested too deeply", file=origin.file) from None
        self._infos[text] = info
        return info

    def _walk(self, ast: nodes.Template, origin: TemplateOrigin, info: TemplateInfo, seen: set[str]) -> None:
        from jinja2 import meta

        info.variables |= meta.find_undeclared_variables(ast)
        for attr in ast.find_all(nodes.Getattr):
            if attr.attr.startswith("_") or attr.attr in {"mro", "gi_frame", "f_globals", "func_globals"}:
                info.unsafe_attributes.append((attr.attr, attr.lineno))
        for node in ast.find_all(_LOADS):
            if not isinstance(node, _LOADS):  # find_all is typed as the common base (Stmt)
                continue
            target = node.template
            if not (isinstance(target, nodes.Const) and isinstance(target.value, str)):
                info.dynamic_includes.append(node.lineno)
                continue
            name = target.value
            problem = self.loader.problem(name)
            if problem:
                raise TemplatePathError(
                    f"include {name[:200]!r} {problem}", file=origin.file, line=origin.file_line(node.lineno)
                )
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
            except (RecursionError, MemoryError, SyntaxError):  # SyntaxError: Python's own nesting limits
                raise TemplateError("template is nested too deeply", file=origin.file) from None
            self._compiled[text] = tpl
        return tpl

    def render(self, text: str, origin: TemplateOrigin, variables: dict[str, Any]) -> str:
        """Render a template in the sandbox; every failure becomes a one-line :class:`TemplateError`."""
        tpl = self.compile(text, origin)
        previous = set_budget(Budget(limits.RENDER_BUDGET_S))
        try:
            chunks: list[str] = []
            size = 0
            for chunk in tpl.generate(**variables):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise TemplateError(f"rendered message exceeds {MAX_OUTPUT_CHARS:,} characters", file=origin.file)
                chunks.append(chunk)
            return "".join(chunks)
        except RenderLimitError as exc:
            file, line = _error_location(exc, origin)
            raise RenderLimitError(exc.message, file=file, line=line) from None
        except (RecursionError, MemoryError) as exc:
            file, line = _error_location(exc, origin)
            what = "recursion too deep" if isinstance(exc, RecursionError) else "out of memory"
            raise RenderLimitError(f"template limit: {what}", file=file, line=line) from None
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
        except LlmopsError:
            raise
        except Exception as exc:  # whatever a template raises is the template's problem: exit 2, not a crash
            file, line = _error_location(exc, origin)
            msg = f"template error: {type(exc).__name__}: {str(exc)[:300]}"
            raise TemplateError(msg, file=file, line=line) from None
        finally:
            set_budget(previous)


def _error_location(exc: BaseException, origin: TemplateOrigin) -> tuple[str, int | None]:
    """The file and line of the template frame an exception came from (Jinja rewrites tracebacks)."""
    file, line = origin.file, None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == "<template>":
            file, line = origin.file, origin.file_line(tb.tb_lineno)
        elif code.co_filename.endswith(".j2") and not code.co_filename.startswith("/"):
            file, line = code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    return file, line
