"""Options given before the command (``llmops -C DIR --verbose …``), shared by all commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class GlobalState:
    root: Path | None = None
    verbose: bool = False

    def project(self):  # -> Project (import kept lazy for start-up time)
        from ..project import Project

        return Project.open(self.root)


STATE = GlobalState()
