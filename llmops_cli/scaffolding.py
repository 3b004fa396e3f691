"""``llmops init``: copy the starter project (``llmops_cli/scaffold/``) into a directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


@dataclass
class ScaffoldResult:
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # existed already and were left alone


def _walk(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name == "__pycache__":
            continue
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            out.extend(_walk(child, rel + "/"))
        else:
            out.append((rel, child))
    return out


def scaffold_files() -> list[tuple[str, Traversable]]:
    """(relative path, resource) of every starter file. ``dot-`` prefixes become ``.``."""
    root = resources.files("llmops_cli") / "scaffold"
    return [(rel.replace("dot-", ".", 1) if rel.startswith("dot-") else rel, res) for rel, res in _walk(root)]


def init_project(target: Path, *, force: bool = False) -> ScaffoldResult:
    """Write the starter files into ``target``; existing files are kept unless ``force``."""
    result = ScaffoldResult()
    target.mkdir(parents=True, exist_ok=True)
    for rel, res in scaffold_files():
        dest = target / rel
        if dest.exists() and not force:
            result.skipped.append(rel)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(res.read_bytes())
        result.created.append(rel)
    return result
