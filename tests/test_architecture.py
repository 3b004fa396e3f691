"""Guards on the architecture: a light core, a thin CLI, documented commands."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "llmops_cli"
HEAVY = ("typer", "rich", "litellm", "click")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {m.split(".")[0] for m in out}


@pytest.mark.parametrize(
    "code",
    [
        "import llmops_cli",
        "from llmops_cli import load_prompt",
        "from llmops_cli.project import Project",
        "from llmops_cli.lint import lint_project",
        "import llmops_cli.models",
        "from llmops_cli.models import resolve_target, Target",
        "import llmops_cli.redact",
    ],
)
def test_core_imports_stay_light(code: str) -> None:
    loaded = _modules_after(code)
    assert not loaded & set(HEAVY), f"{code!r} pulled in {sorted(loaded & set(HEAVY))}"


def test_only_cli_package_imports_typer_or_rich() -> None:
    offenders = []
    for path in PKG.rglob("*.py"):
        if "cli" in path.relative_to(PKG).parts[:1]:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in ("typer", "rich", "click"):
                    offenders.append(f"{path.relative_to(PKG)}: {n}")
    assert not offenders, offenders


def test_litellm_is_never_imported_at_module_level() -> None:
    offenders = []
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # top-level statements only
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "litellm" for a in node.names):
                offenders.append(str(path.relative_to(PKG)))
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "litellm":
                offenders.append(str(path.relative_to(PKG)))
    assert not offenders, offenders


def test_litellm_is_imported_only_by_the_model_layer() -> None:
    """One model layer: every ``import litellm`` (at any depth, any form) lives in llmops_cli/models/."""
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module",
                "__import__",
            ):
                names = [a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if any(n.split(".")[0] == "litellm" for n in names) and rel.parts[0] != "models":
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"litellm imported outside llmops_cli/models/: {offenders}"
    # and inside it, exactly once
    sites = [
        f"{p.name}:{n.lineno}"
        for p in (PKG / "models").rglob("*.py")
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(n, ast.Import) and any(a.name == "litellm" for a in n.names)
    ]
    assert sites == [sites[0]] and sites[0].startswith("runtime.py"), sites


def test_public_surface_is_deliberate() -> None:
    import llmops_cli

    assert sorted(llmops_cli.__all__) == llmops_cli.__all__
    for name in llmops_cli.__all__:
        assert getattr(llmops_cli, name) is not None


def _walk_commands(cmd, path=()):  # type: ignore[no-untyped-def]
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _walk_commands(sub, (*path, name))


def test_every_command_and_option_has_help() -> None:
    import typer.main

    from llmops_cli.cli.app import app

    root = typer.main.get_command(app)
    missing = []
    for path, cmd in _walk_commands(root):
        if path and not (cmd.help or cmd.short_help):
            missing.append(" ".join(path))
        for param in cmd.params:
            if param.param_type_name == "option" and not getattr(param, "help", None):
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert not missing, f"commands/options without help: {missing}"


def test_readme_documents_every_command() -> None:
    import typer.main

    from llmops_cli.cli.app import app

    readme = (PKG.parent / "README.md").read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    undocumented = [
        "llmops " + " ".join(path)
        for path, cmd in _walk_commands(root)
        if path and not getattr(cmd, "commands", None) and ("llmops " + " ".join(path)) not in readme
    ]
    assert not undocumented, f"commands missing from README.md: {undocumented}"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (never executed; still an edge of the graph)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                for inner in node.body:
                    skip.update(id(n) for n in ast.walk(inner))
    return skip


def _import_graph(*, type_only: bool = True) -> dict[str, set[str]]:
    """module -> the package modules it imports, module-level, function-level and ``if TYPE_CHECKING:`` alike
    (a type-only import is a dependency too: it hides a cycle, not removes it); ``type_only=False`` leaves
    the type-checking imports out (the edges that run).

    Relative imports are resolved; ``from PKG import NAME`` is an edge to ``PKG.NAME`` when that is a
    module and to ``PKG`` (its ``__init__``) otherwise.
    """
    files = {_module_name(p): p for p in PKG.rglob("*.py")}
    packages = {_module_name(p) for p in PKG.rglob("__init__.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = set() if type_only else _type_checking_nodes(tree)
        base = mod if mod in packages else mod.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in files)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = base.split(".")
                    parts = parts[: len(parts) - (node.level - 1)]
                    target = ".".join([*parts, node.module] if node.module else parts)
                else:
                    target = node.module or ""
                if not target.startswith(PKG.name):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    edges.add(sub if sub in files else target)
        edges.discard(mod)
        graph[mod] = {e for e in edges if e in files}
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Every set of modules that reach each other (strongly connected components of more than one)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for start in sorted(graph):
        if start not in index:
            visit(start)
    return found


# Cycles through type-only imports that another branch of issue #21 removes (the results model moves to
# records/; the gate report and its policy). Each entry must still be a cycle: delete it when it is gone.
PENDING_TYPE_ONLY_CYCLES: set[frozenset[str]] = set()
# gone: evals.model <-> summary <-> consistency (the results model is records/results*.py); gate.decide <-> policy
# (decide types the policy with a protocol)


def test_import_graph_walker_sees_function_level_and_relative_imports() -> None:
    graph = _import_graph()
    assert "llmops_cli.errors" in graph["llmops_cli.sources"]  # module level, relative
    assert "llmops_cli.git" in graph["llmops_cli.releases.loader"]  # function level, two dots
    assert "llmops_cli.git" in graph["llmops_cli.releases.bundle"]  # under if TYPE_CHECKING
    assert "llmops_cli.git" not in _import_graph(type_only=False)["llmops_cli.releases.bundle"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None
    assert _cycles({"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c"}, "e": {"a"}}) == [
        frozenset({"c", "d"}),
        frozenset({"a", "b"}),
    ]


def test_package_has_no_import_cycles() -> None:
    """No two modules reach each other, type-only imports included (beyond the pending list, which shrinks)."""
    cycles = set(_cycles(_import_graph()))
    assert not cycles - PENDING_TYPE_ONLY_CYCLES, "import cycles: " + "; ".join(
        " <-> ".join(sorted(c)) for c in cycles - PENDING_TYPE_ONLY_CYCLES
    )
    assert not PENDING_TYPE_ONLY_CYCLES - cycles, f"no longer cycles, remove them: {PENDING_TYPE_ONLY_CYCLES - cycles}"
    cycle = _find_cycle(_import_graph(type_only=False))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycles_of_issue_21_are_gone() -> None:
    """``prompt`` ↔ ``serving`` and ``releases.canary`` ↔ ``releases.channels``, type-only imports included."""
    graph = _import_graph()
    serving = {m for m in graph if m.startswith("llmops_cli.serving")}
    assert not {m for m in serving if "llmops_cli.prompt" in graph[m]}
    assert "llmops_cli.releases.channels" not in graph["llmops_cli.releases.canary"]
    assert "llmops_cli.releases.canary" not in graph["llmops_cli.releases.channels"]


def test_git_is_reached_only_through_the_git_layer() -> None:
    """gitpython (outside type hints) and subprocess are imported by llmops_cli/git.py alone."""
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(n.split(".")[0] in ("git", "subprocess") for n in names) and rel.as_posix() != "git.py":
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"git reached outside llmops_cli/git.py: {offenders}"


# -- package-level layering --------------------------------------------------------------------------------
# The top-level units of the package (a subpackage or a module of llmops_cli; "" is llmops_cli/__init__.py)
# and the units each may import, module-level, function-level or for type hints alike. An import
# edge that is not in this table fails the test: a new dependency between packages is a decision, made here.
# The table itself must stay acyclic, so no two packages can ever reach each other.
FOUNDATION = {
    "_version", "errors", "limits", "redact", "hashing", "jsonio", "yamlio", "versions", "tagnames", "pathsafe", "pins",
    "settings", "records",
}  # fmt: skip
CORE = {
    "root", "config", "toolspec", "spec", "variables", "sandbox", "templating", "sources", "git", "goldens",
    "providers", "models", "safety", "serving", "prompt", "project", "lint", "media",
}  # fmt: skip
LAYERS: dict[str, set[str]] = {
    # foundation: no package-level state, imported by everything
    "_version": set(),
    "settings": set(),  # the one reader of the environment (the table of every variable llmops reads)
    "limits": set(),
    "redact": {"settings"},
    "hashing": set(),
    "errors": {"redact"},
    "jsonio": {"errors", "limits"},
    "yamlio": {"errors", "limits"},
    "versions": {"errors"},  # semver and ranges
    "tagnames": {"versions"},  # prompts/<name>/v<semver>
    "pathsafe": {"errors"},  # the one glob expander (no directory links followed); writes confined to a root
    "pins": {"errors"},  # requirements files read with pip's grammar, held to the hash-pin rule
    "records": {"errors", "limits"},  # the typed, versioned models of everything llmops persists or exchanges
    # core: a project, its prompts, their sources and models
    "toolspec": FOUNDATION,  # tools in prompt files: definitions, tool files, tool_choice, schema bounds
    "spec": FOUNDATION | {"toolspec"},
    "config": FOUNDATION | {"spec"},
    "root": FOUNDATION | {"config"},
    "git": FOUNDATION | {"root"},  # the one door into git
    "sources": FOUNDATION | {"git"},
    "variables": FOUNDATION | {"spec"},
    "sandbox": FOUNDATION,  # the bounded Jinja sandbox
    "templating": FOUNDATION | {"sandbox", "sources"},
    "goldens": FOUNDATION | {"config"},
    "providers": FOUNDATION,
    "models": FOUNDATION | {"config", "providers", "toolspec"},  # a rendered prompt's tools
    "safety": FOUNDATION,  # PII detectors, the refusal model, guards: shared by serving, lint and evals
    "serving": FOUNDATION | {"models", "safety"},  # a rendered prompt's calls in serving code: logs, retries, tracing
    "media": FOUNDATION | {"spec", "sources"},  # image/file/pdf inputs: magic bytes, header dimensions, confined reads
    "prompt": FOUNDATION | {"spec", "config", "toolspec", "models", "serving", "templating", "variables", "media"},
    "project": FOUNDATION | (CORE - {"lint", "project"}),
    "lint": FOUNDATION | (CORE - {"lint"}),
    "scaffolding": FOUNDATION | {"spec"},
    # features: each stands on the core, never on a sibling unless listed
    "report": FOUNDATION | CORE,
    "diff": FOUNDATION | CORE,
    "evals": FOUNDATION | CORE,
    "importers": FOUNDATION | CORE | {"evals"},  # assertion validation
    "judging": FOUNDATION | CORE | {"evals"},  # judges you can trust: agreement, labels, calibration, probes
    "gate": FOUNDATION | CORE | {"evals", "report", "judging"},
    "releases": FOUNDATION | CORE | {"diff", "evals", "gate"},  # the bump from impact; drift: gate's tests
    "usage": FOUNDATION | CORE | {"gate", "releases", "evals"},  # reports over serving logs; judges on logged calls
    # the public facade and the command line
    "": FOUNDATION | {"project", "prompt", "releases"},
    "cli": FOUNDATION
    | CORE
    | {"scaffolding", "report", "diff", "evals", "importers", "gate", "releases", "usage"}
    | {"judging"},
    "__main__": {"cli"},
}


def _unit(module: str) -> str:
    """``llmops_cli.releases.create`` → ``releases``; ``llmops_cli`` → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer_violations(graph: dict[str, set[str]], table: dict[str, set[str]]) -> list[str]:
    problems = []
    for mod in sorted(graph):
        src = _unit(mod)
        if src not in table:
            problems.append(f"{mod}: unit {src!r} is not in LAYERS (place it there)")
            continue
        for dep in sorted(graph[mod]):
            dst = _unit(dep)
            if dst != src and dst not in table[src]:
                problems.append(f"{mod} imports {dep}: {src or 'llmops_cli'} -> {dst or 'llmops_cli'} is not allowed")
    return problems


def test_layering_check_catches_an_upward_edge() -> None:
    graph = {"llmops_cli.git": {"llmops_cli.releases.create"}, "llmops_cli.releases.create": {"llmops_cli.git"}}
    assert _layer_violations(graph, LAYERS) == [
        "llmops_cli.git imports llmops_cli.releases.create: git -> releases is not allowed"
    ]
    assert _layer_violations({"llmops_cli.newpkg.x": set()}, LAYERS) == [
        "llmops_cli.newpkg.x: unit 'newpkg' is not in LAYERS (place it there)"
    ]


def test_layer_table_is_acyclic() -> None:
    graph = {unit: {d for d in deps if d != unit} for unit, deps in LAYERS.items()}
    assert all(d in graph for deps in graph.values() for d in deps), "LAYERS names a unit it does not define"
    cycle = _find_cycle(graph)
    assert cycle is None, "LAYERS lets packages reach each other: " + " -> ".join(cycle or [])


# Type-only edges another branch of issue #21 removes (report renders the results model once it is in records/).
PENDING_TYPE_ONLY_EDGES: set[str] = set()  # report.publish -> evals.model: gone (it reads records.results)


def test_packages_import_only_what_the_layer_table_allows() -> None:
    problems = set(_layer_violations(_import_graph(), LAYERS))
    assert not problems - PENDING_TYPE_ONLY_EDGES, "\n".join(sorted(problems - PENDING_TYPE_ONLY_EDGES))
    assert not PENDING_TYPE_ONLY_EDGES - problems, f"fixed, remove them: {PENDING_TYPE_ONLY_EDGES - problems}"
    assert not _layer_violations(_import_graph(type_only=False), LAYERS)


def test_only_the_entry_point_imports_the_cli() -> None:
    """The library never reaches up into llmops_cli/cli (typer/rich) — only ``python -m llmops_cli`` does."""
    assert [u for u, deps in LAYERS.items() if "cli" in deps] == ["__main__"]
