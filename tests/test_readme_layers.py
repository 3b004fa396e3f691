"""README's layer diagram (section Development) matches the code: every module it names exists, every package
of ``llmops_cli`` is placed in it, and the package's imports only point the way its arrows do."""

from __future__ import annotations

import re

from tests.test_architecture import PKG, _import_graph

README = PKG.parent / "README.md"
NAME = re.compile(r"(?<![\w/.])((?:[a-z_]+/)*[a-z_]+(?:\.py|/))")
SIDEWAYS = re.compile(r"(\w+) → ([\w, ]+)")


def _diagram(text: str | None = None) -> str:
    text = text if text is not None else README.read_text(encoding="utf-8")
    dev = text.split("\n## Development", 1)[1]
    return dev.split("```text\n", 1)[1].split("```", 1)[0]


def parse_layers(diagram: str) -> tuple[list[list[str]], set[tuple[str, str]]]:
    """(layers top to bottom, each a list of module paths like ``gate/`` or ``git.py``; the sideways arrows)."""
    layers: list[list[str]] = [[]]
    sideways: set[tuple[str, str]] = set()
    for line in diagram.splitlines():
        stripped = line.strip()
        if stripped.startswith("▼"):
            layers.append([])
        elif stripped.startswith("│"):
            for part in stripped.split("sideways:", 1)[1:]:
                for src, dsts in SIDEWAYS.findall(part):
                    sideways.update((src, d.strip()) for d in dsts.split(",") if d.strip())
        else:
            words = line.split("  ")
            layers[-1] += [m.group(1) for w in words if (m := NAME.fullmatch(w.strip()))]
    return [layer for layer in layers if layer], sideways


def _module_path(module: str) -> str:
    """``llmops_cli.gate.run`` → ``gate/run.py``; a package's ``__init__`` → ``gate/``."""
    rel = module.split(".")[1:]
    path = PKG.joinpath(*rel)
    return "/".join(rel) + ("/" if path.is_dir() else ".py")


def layer_of(path: str, layers: list[list[str]]) -> tuple[int, str] | None:
    """(layer index, the diagram's name) of the most specific diagram entry that holds ``path``."""
    best: tuple[int, str] | None = None
    for i, layer in enumerate(layers):
        for name in layer:
            if (path == name or (name.endswith("/") and path.startswith(name))) and (
                best is None or len(name) > len(best[1])
            ):
                best = (i, name)
    return best


def _unit(name: str) -> str:
    return name.split("/")[0].removesuffix(".py")


def arrow_problems(
    graph: dict[str, set[str]], layers: list[list[str]], sideways: set[tuple[str, str]], feature_layer: int = 1
) -> list[str]:
    """Import edges that go against the diagram: upwards, or sideways between two entries of the features
    layer without a declared sideways arrow. Modules the diagram does not place are not judged."""
    problems = []
    for mod in sorted(graph):
        src = layer_of(_module_path(mod), layers)
        for dep in sorted(graph[mod]):
            dst = layer_of(_module_path(dep), layers)
            if src is None or dst is None or src[1] == dst[1]:
                continue
            a, b = _unit(src[1]), _unit(dst[1])
            if dst[0] < src[0]:
                problems.append(f"{mod} imports {dep}: upwards ({src[1]} → {dst[1]})")
            elif dst[0] == src[0] == feature_layer and a != b and (a, b) not in sideways:
                problems.append(f"{mod} imports {dep}: sideways {a} → {b} is not in the diagram")
    return problems


def test_diagram_parses() -> None:
    layers, sideways = parse_layers(_diagram())
    assert len(layers) == 4, layers
    assert layers[0] == ["cli/"] and "gate/" in layers[1] and "git.py" in layers[2] and "errors.py" in layers[3]
    assert ("gate", "evals") in sideways


def test_every_module_the_diagram_names_exists() -> None:
    layers, sideways = parse_layers(_diagram())
    missing = [n for layer in layers for n in layer if not (PKG / n).exists()]
    assert not missing, f"README's diagram names what llmops_cli/ does not have: {missing}"
    units = {_unit(n) for layer in layers for n in layer}
    assert not {u for arrow in sideways for u in arrow} - units, sideways


def test_every_package_is_in_the_diagram() -> None:
    layers, _ = parse_layers(_diagram())
    named = {n for layer in layers for n in layer}
    packages = {f"{p.name}/" for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    assert packages - named == set(), f"packages missing from README's diagram: {sorted(packages - named)}"


def test_imports_follow_the_arrows() -> None:
    layers, sideways = parse_layers(_diagram())
    # the edges that run; type-only imports are held to the layer table by tests/test_architecture.py
    problems = arrow_problems(_import_graph(type_only=False), layers, sideways)
    assert not problems, "README's diagram disagrees with the imports:\n" + "\n".join(problems)


def test_every_sideways_arrow_is_a_real_import() -> None:
    layers, sideways = parse_layers(_diagram())
    graph = _import_graph()
    real = {
        (_unit(s[1]), _unit(d[1]))
        for mod, deps in graph.items()
        for dep in deps
        if (s := layer_of(_module_path(mod), layers)) and (d := layer_of(_module_path(dep), layers))
    }
    assert sideways - real == set(), f"arrows in README's diagram that no import backs: {sideways - real}"


def test_the_cli_reaches_every_entry_point_layer_module() -> None:
    layers, _ = parse_layers(_diagram())
    graph = _import_graph()
    reached = {_unit(_module_path(d)) for m, deps in graph.items() if m.startswith("llmops_cli.cli.") for d in deps}
    assert {_unit(n) for n in layers[1]} - reached == set(), "an entry point the commands never call"


def test_the_checks_can_fail() -> None:
    diagram = "cli/\n  │\n  ▼\ngate/  evals/  diff/\n  │   (sideways: gate → evals)\n  ▼\ngit.py\n"
    layers, sideways = parse_layers(diagram)
    assert layers == [["cli/"], ["gate/", "evals/", "diff/"], ["git.py"]] and sideways == {("gate", "evals")}
    graph = {
        "llmops_cli.git": {"llmops_cli.gate.run"},  # upwards
        "llmops_cli.gate.run": {"llmops_cli.evals.report", "llmops_cli.diff.compare", "llmops_cli.git"},
        "llmops_cli.cli.app": {"llmops_cli.git"},  # skipping a layer downwards is fine
    }
    assert arrow_problems(graph, layers, sideways) == [
        "llmops_cli.gate.run imports llmops_cli.diff.compare: sideways gate → diff is not in the diagram",
        "llmops_cli.git imports llmops_cli.gate.run: upwards (git.py → gate/)",
    ]
