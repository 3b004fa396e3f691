"""The command layer stays thin: ``llmops_cli/cli/`` parses, calls the library, prints.

It never writes files, opens sockets or HTTP connections, or runs git or another process itself — the library
does (``gate/publish.py``, ``report/publish.py``, ``evals/report.py``, ``releases/``, ``git.py``). An AST walk
over every module of the package finds each import and call that would do so; the allow-list below names
the few that are genuinely needed, each with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parent.parent / "llmops_cli" / "cli"

# Modules the CLI must not import (at any depth, module- or function-level; type-checking imports aside).
FORBIDDEN_MODULES = {
    "subprocess": "runs processes",
    "socket": "opens sockets",
    "ssl": "opens sockets",
    "http": "HTTP",
    "urllib": "HTTP",
    "httpx": "HTTP",
    "requests": "HTTP",
    "aiohttp": "HTTP",
    "git": "gitpython: git is reached through llmops_cli/git.py, called by the library",
    "llmops_cli.git": "the git layer: commands call library functions that use it",
    "tempfile": "creates files",
}
# Calls of these attributes (``x.write_text(...)``, ``repo.push(...)``): file writes, pushes, status posts.
FORBIDDEN_ATTRS = {
    "write_text", "write_bytes", "mkdir", "makedirs", "touch", "unlink", "rmdir", "rename", "symlink_to",
    "hardlink_to", "chmod", "push", "push_proc", "post_status", "urlopen", "write",
}  # fmt: skip
# ``os.X(...)`` calls that write, delete or run processes (``os.replace``: str.replace is fine).
FORBIDDEN_OS = {"remove", "replace", "system", "popen", "open", "fdopen", "fork", "kill", "truncate"}
FORBIDDEN_OS_PREFIXES = ("exec", "spawn", "posix_spawn")
# ``shutil.X(...)`` calls that copy, move or delete files (shutil.get_terminal_size is fine).
FORBIDDEN_SHUTIL = {
    "copy",
    "copy2",
    "copyfile",
    "copytree",
    "move",
    "rmtree",
    "make_archive",
    "unpack_archive",
    "chown",
}
# Builtins/names whose call the CLI must not make.
FORBIDDEN_CALLS = {"open": "opens a file", "post_status": "posts the commit status"}

ALLOWED = {
    ("output.py", "write"): "the terminal streams: data to stdout, messages to stderr, through the redactor",
}


def _type_checking_ids(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                for inner in node.body:
                    skip.update(id(n) for n in ast.walk(inner))
    return skip


def _imported(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    """Absolute names an import statement brings in (relative imports resolved against ``package``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - (node.level - 1)])
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    return [target, *(f"{target}.{a.name}" for a in node.names)]


def _forbidden_module(name: str) -> str | None:
    for mod, why in FORBIDDEN_MODULES.items():
        if name == mod or name.startswith(mod + "."):
            return f"imports {name} ({why})"
    return None


def violations(source: str, filename: str, package: str = "llmops_cli.cli") -> list[str]:
    """Every import or call in ``source`` that would make the command layer do the library's work."""
    tree = ast.parse(source)
    skip = _type_checking_ids(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        problem = None
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imported(node, package):
                problem = problem or _forbidden_module(name)
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                problem = f"calls {func.id}() ({FORBIDDEN_CALLS[func.id]})"
            elif isinstance(func, ast.Attribute):
                owner = func.value.id if isinstance(func.value, ast.Name) else ""
                if owner == "os" and (func.attr in FORBIDDEN_OS or func.attr.startswith(FORBIDDEN_OS_PREFIXES)):
                    problem = f"calls os.{func.attr}()"
                elif owner == "shutil" and func.attr in FORBIDDEN_SHUTIL:
                    problem = f"calls shutil.{func.attr}()"
                elif func.attr in FORBIDDEN_ATTRS and (filename, func.attr) not in ALLOWED:
                    problem = f"calls .{func.attr}()"
        if problem:
            found.append((node.lineno, f"{filename}:{node.lineno}: {problem}"))
    return [text for _, text in sorted(found)]


def test_the_cli_does_not_write_files_open_connections_or_run_git() -> None:
    found = [v for path in sorted(CLI.glob("*.py")) for v in violations(path.read_text("utf-8"), path.name)]
    assert not found, "the command layer does work the library should do:\n" + "\n".join(found)


def test_every_allowance_is_used_and_has_a_reason() -> None:
    for (filename, attr), reason in ALLOWED.items():
        assert reason and (CLI / filename).is_file()
        tree = ast.parse((CLI / filename).read_text("utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", None) == attr]
        assert calls, f"allowance {filename}:{attr} is no longer needed: remove it"


def test_the_checker_catches_each_kind_of_work() -> None:
    source = """
import subprocess
from urllib.request import urlopen
from ..git import discover
from .. import git
from pathlib import Path
import os
import shutil

def cmd(path: Path, repo) -> None:
    path.write_text("x")
    path.parent.mkdir(parents=True)
    with open(path, "w") as fh:
        fh.write("x")
    repo.push("origin", "refs/notes/llmops")
    os.replace("a", "b")
    os.execvp("git", ["git"])
    shutil.rmtree(path)
    "text".replace("a", "b")  # fine
    os.environ.get("HOME")  # fine
"""
    found = violations(source, "x_cmd.py")
    assert found == [
        "x_cmd.py:2: imports subprocess (runs processes)",
        "x_cmd.py:3: imports urllib.request (HTTP)",
        "x_cmd.py:4: imports llmops_cli.git (the git layer: commands call library functions that use it)",
        "x_cmd.py:5: imports llmops_cli.git (the git layer: commands call library functions that use it)",
        "x_cmd.py:11: calls .write_text()",
        "x_cmd.py:12: calls .mkdir()",
        "x_cmd.py:13: calls open() (opens a file)",
        "x_cmd.py:14: calls .write()",
        "x_cmd.py:15: calls .push()",
        "x_cmd.py:16: calls os.replace()",
        "x_cmd.py:17: calls os.execvp()",
        "x_cmd.py:18: calls shutil.rmtree()",
    ], found
    assert violations("if TYPE_CHECKING:\n    import subprocess\n", "x_cmd.py") == []
