"""Function-level imports show the real import graph only when they are the exception (issue #21).

A module outside the package may be imported inside a function only when it is listed in :data:`LAZY_MODULES`
with its reason: a heavy or optional dependency (seconds of import time, an extra that may not be installed)
or a standard-library module whose import is measurably slow. Everything else goes at module level.

Imports of llmops's own modules inside functions keep ``import llmops_cli``, ``load_prompt`` and shell
completion light (the CLI loads a command's code when the command runs). They are counted per package and
may not grow beyond :data:`INTERNAL_CEILING`: a new one either goes at module level (the architecture test
proves there is no cycle) or raises the ceiling here, in review.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "llmops_cli"

#: The modules (first dotted part) a function may import, and why.
LAZY_MODULES = {
    "litellm": "the model layer's one import of litellm (about a second; never on `import llmops_cli`)",
    "openai": "the OpenAI SDK (litellm's dependency), only for its error types",
    "opentelemetry": "the [otel] extra, only when OpenTelemetry is turned on",
    "llama_cpp": "the [local] extra, only for local/ models",
    "numpy": "with llama_cpp (local models)",
    "duckdb": "only `llmops usage` reads logs",
    "typer": "the command line (completion answers before the app is built)",
    "rich": "terminal rendering, only when something is printed",
    "git": "gitpython, reached through llmops_cli/git.py only when a command needs git",
    "jinja2": "the template sandbox, only when a template is rendered",
    "jsonschema": "only when an output or a file is validated against a JSON Schema",
    "referencing": "with jsonschema",
    "re2": "the optional linear-time regex engine",
    "deepdiff": "only `prompt diff`",
    "packaging": "only where pip's requirement grammar is needed (pins)",
    "importlib": "import_module / importlib.metadata / resources (metadata reads the installed distributions)",
    "difflib": "text diffs, only when a diff is shown (a slow import)",
    "tempfile": "imports random and shutil; only where a temporary file is made",
    "urllib": "URL parsing, only where a URL is checked",
    "html": "HTML escaping, only in the Markdown/HTML writers",
    "unicodedata": "the Unicode database (large), only when a name is checked",
    "ctypes": "the local model cache's memory accounting",
    "warnings": "only where a warning is filtered",
    "datetime": "a date in an importer's report (inside a nested helper)",
    "pydantic": "its ValidationError, where a caller's untyped history is read (serving)",
}

#: Function-level imports of llmops's own modules, per package (statements): may shrink, never grow.
INTERNAL_CEILING = {
    "cli": 101,  # each command imports its library entry point when it runs: `llmops --help` stays light
    "config": 2,
    "diff": 8,
    "errors": 1,
    "evals": 30,
    "gate": 32,
    "git": 1,
    "goldens": 1,
    "importers": 25,
    "lint": 6,
    "models": 5,
    "project": 2,
    "prompt": 7,
    "providers": 2,
    "releases": 56,
    "report": 4,
    "safety": 1,
    "scaffolding": 1,
    "serving": 9,
    "sources": 5,
    "toolspec": 1,
    "usage": 33,
    "variables": 5,
}


def _function_imports() -> list[tuple[str, int, ast.Import | ast.ImportFrom]]:
    """(path relative to the package, line, node) of every import inside a function, type-checking ones aside."""
    out = []
    for path in sorted(PKG.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
                type_only.update(id(n) for inner in node.body for n in ast.walk(inner))
        seen: set[int] = set()
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in type_only | seen:
                    seen.add(id(node))
                    out.append((path.relative_to(PKG).as_posix(), node.lineno, node))
    return out


def _is_internal(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return bool(node.level) or (node.module or "").split(".")[0] == PKG.name
    return all(a.name.split(".")[0] == PKG.name for a in node.names)


def _external_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [(node.module or "").split(".")[0]]
    return [a.name.split(".")[0] for a in node.names]


def _unit(rel: str) -> str:
    parts = rel.removesuffix(".py").split("/")
    return "" if parts == ["__init__"] else parts[0]


def test_only_listed_modules_are_imported_inside_functions() -> None:
    offenders = [
        f"{rel}:{line} {ast.unparse(node)}"
        for rel, line, node in _function_imports()
        if not _is_internal(node) and any(name not in LAZY_MODULES for name in _external_names(node))
    ]
    assert not offenders, "import these at module level (or list the module in LAZY_MODULES with its reason):\n" + (
        "\n".join(offenders)
    )


def test_every_listed_module_is_still_imported_lazily() -> None:
    used = {name for _, _, node in _function_imports() if not _is_internal(node) for name in _external_names(node)}
    assert set(LAZY_MODULES) <= used, f"no longer imported inside a function: {set(LAZY_MODULES) - used}"


def test_internal_function_level_imports_do_not_grow() -> None:
    counts = Counter(_unit(rel) for rel, _, node in _function_imports() if _is_internal(node))
    grown = {u: (n, INTERNAL_CEILING.get(u, 0)) for u, n in counts.items() if n > INTERNAL_CEILING.get(u, 0)}
    assert not grown, (
        f"more function-level imports of llmops modules than allowed (found, ceiling): {grown} — import them at "
        "module level (tests/test_architecture.py proves there is no cycle) unless they keep a light path light"
    )


def test_the_walker_sees_nested_imports_and_skips_type_only_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mod.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import litellm\n"
        "def f():\n    def g():\n        import os\n    from .x import y\n    if TYPE_CHECKING:\n        import git\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "PKG", tmp_path)
    found = [(rel, ast.unparse(node), _is_internal(node)) for rel, _, node in _function_imports()]
    assert sorted(found) == [("mod.py", "from .x import y", True), ("mod.py", "import os", False)]
