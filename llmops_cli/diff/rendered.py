"""``--rendered``: render both sides on every golden case and compare the messages a provider gets.

Each side renders with its own golden set at its own version; cases pair by id. A case that fails
to render on one side is reported with the error, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..errors import UserError
from ..records.content import content_text
from .textdiff import TextDiff, text_diff

if TYPE_CHECKING:
    from ..goldens import GoldenSet
    from ..project import Project
    from ..prompt import Prompt, RenderedPrompt
    from .changes import FileProblem
    from .refs import Side

CaseStatus = Literal["changed", "unchanged", "added", "removed", "error"]


@dataclass
class CaseDiff:
    """One golden case rendered on both sides."""

    case_id: str
    status: CaseStatus
    messages: list[TextDiff] = field(default_factory=list)  # the rendered messages that changed
    errors: list[str] = field(default_factory=list)  # "old: file:line: message"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.case_id,
            "status": self.status,
            "messages": [m.to_dict() for m in self.messages],
            "errors": self.errors,
        }


@dataclass
class RenderedDiff:
    """All cases of one prompt; the successful renders are kept for token counting."""

    old_golden: str | None
    new_golden: str | None
    cases: list[CaseDiff] = field(default_factory=list)
    old_renders: list[RenderedPrompt] = field(default_factory=list, repr=False)
    new_renders: list[RenderedPrompt] = field(default_factory=list, repr=False)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("changed", "unchanged", "added", "removed", "error")}
        for c in self.cases:
            out[c.status] += 1
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "old_golden": self.old_golden,
            "new_golden": self.new_golden,
            "counts": self.counts(),
            "cases": [c.to_dict() for c in self.cases if c.status != "unchanged"],
        }


def _golden(
    project: Project, name: str | None, which: str, side: Side, problems: list[FileProblem]
) -> GoldenSet | None:
    from .changes import FileProblem

    if name is None:
        return None
    try:
        return project.golden_set(name)
    except UserError as exc:
        problems.append(FileProblem(which, side.label, exc.file or name, exc.message, exc.line))
        return None


def _render(prompt: Prompt | None, gs: GoldenSet | None, case_id: str) -> tuple[RenderedPrompt | None, str | None]:
    if prompt is None or gs is None:
        return None, None
    try:
        case = next(c for c in gs.cases if c.id == case_id)
    except StopIteration:
        return None, None
    try:
        return prompt.render(gs.vars_for(case)), None
    except UserError as exc:
        return None, str(exc)


def render_goldens(
    old: Prompt | None,
    new: Prompt | None,
    old_name: str | None,
    new_name: str | None,
    old_project: Project,
    new_project: Project,
    old_side: Side,
    new_side: Side,
    problems: list[FileProblem],
) -> RenderedDiff:
    """Render every golden case of the prompt on both sides and pair the results by case id."""
    gs_old = _golden(old_project, old_name, "old", old_side, problems) if old is not None else None
    gs_new = _golden(new_project, new_name, "new", new_side, problems) if new is not None else None
    out = RenderedDiff(gs_old.file if gs_old else None, gs_new.file if gs_new else None)
    ids = list(
        dict.fromkeys(
            [c.id for c in (gs_old.cases if gs_old else [])] + [c.id for c in (gs_new.cases if gs_new else [])]
        )
    )
    old_ids = {c.id for c in gs_old.cases} if gs_old else set()
    new_ids = {c.id for c in gs_new.cases} if gs_new else set()
    for cid in ids:
        ro, eo = _render(old, gs_old, cid)
        rn, en = _render(new, gs_new, cid)
        if ro is not None:
            out.old_renders.append(ro)
        if rn is not None:
            out.new_renders.append(rn)
        errors = [f"{side}: {e}" for side, e in (("old", eo), ("new", en)) if e]
        if errors:
            out.cases.append(CaseDiff(cid, "error", [], errors))
        elif cid not in new_ids or new is None:
            out.cases.append(CaseDiff(cid, "removed"))
        elif cid not in old_ids or old is None:
            out.cases.append(CaseDiff(cid, "added", _message_diffs(None, rn, old_side, new_side, cid)))
        else:
            diffs = _message_diffs(ro, rn, old_side, new_side, cid)
            out.cases.append(CaseDiff(cid, "changed" if diffs else "unchanged", diffs))
    return out


def _message_diffs(
    ro: RenderedPrompt | None, rn: RenderedPrompt | None, old_side: Side, new_side: Side, cid: str
) -> list[TextDiff]:
    a = ro.messages if ro else []
    b = rn.messages if rn else []
    if ro is None and rn is None:
        return []
    out = []
    for i in range(max(len(a), len(b))):
        ma = a[i] if i < len(a) else None
        mb = b[i] if i < len(b) else None
        role = (mb or ma or {}).get("role", "?")
        d = text_diff(
            f"message {i + 1} ({role})",
            content_text(ma["content"]) + "\n" if ma else None,
            content_text(mb["content"]) + "\n" if mb else None,
            f"{old_side.label} [{cid}]",
            f"{new_side.label} [{cid}]",
        )
        if d is not None:
            out.append(d)
    return out
