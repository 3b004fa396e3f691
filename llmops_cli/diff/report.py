"""The diff as plain data (:class:`DiffReport`) and its stable JSON form (``schema_version`` 1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .change import Change
from .changes import FileProblem
from .cost import CostDiff
from .impact import LEVELS, Impact, level_of
from .rendered import RenderedDiff
from .textdiff import TextDiff

SCHEMA_VERSION = 1
STATUSES = ("added", "removed", "renamed", "modified", "affected", "error")


@dataclass
class SideInfo:
    label: str
    commit: str | None  # None: the working tree

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "commit": self.commit}


@dataclass
class PromptDiff:
    """Everything the diff says about one prompt."""

    name: str
    status: str
    old_name: str | None
    new_name: str | None
    old_file: str | None = None
    new_file: str | None = None
    impact: Impact | None = None  # None when one side could not be loaded
    changes: list[Change] = field(default_factory=list)
    affected_by: list[str] = field(default_factory=list)
    template_diffs: list[TextDiff] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    rendered: RenderedDiff | None = None
    cost: CostDiff | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "old_name": self.old_name,
            "new_name": self.new_name,
            "old_file": self.old_file,
            "new_file": self.new_file,
            "impact": self.impact.to_dict() if self.impact else None,
            "changes": [{**c.to_dict(), "impact": level_of(c)} for c in self.changes],
            "affected_by": self.affected_by,
            "template_diffs": [d.to_dict() for d in self.template_diffs],
            "problems": [p.to_dict() for p in self.problems],
            "rendered": self.rendered.to_dict() if self.rendered else None,
            "cost": self.cost.to_dict() if self.cost else None,
        }


@dataclass
class DiffReport:
    old: SideInfo
    new: SideInfo
    prompts: list[PromptDiff]
    problems: list[FileProblem]
    notes: list[str] = field(default_factory=list)
    prompts_compared: int = 0
    prompts_loaded: int = 0
    rendered: bool = False
    cost: bool = False

    @property
    def changed(self) -> bool:
        """Anything changed (what ``--exit-code`` tests)."""
        return bool(self.prompts or self.problems)

    def summary(self) -> dict[str, Any]:
        by_status = {s: sum(1 for p in self.prompts if p.status == s) for s in STATUSES}
        by_level = {lv: sum(1 for p in self.prompts if p.impact and p.impact.level == lv) for lv in LEVELS}
        return {
            **by_status,
            "impact": by_level,
            "highest_impact": max((p.impact.level for p in self.prompts if p.impact), key=LEVELS.index, default="none"),
            "problems": len(self.problems),
            "prompts_compared": self.prompts_compared,
            "prompts_loaded": self.prompts_loaded,
            "changed": self.changed,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
            "options": {"rendered": self.rendered, "cost": self.cost},
            "summary": self.summary(),
            "prompts": [p.to_dict() for p in self.prompts],
            "problems": [p.to_dict() for p in self.problems],
            "notes": self.notes,
        }
