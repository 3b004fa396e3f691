"""The diff pipeline: resolve sides → find changed prompts → structural/impact/text → rendered/cost."""

from __future__ import annotations

import os
from pathlib import Path

from .changes import ChangeSet, PromptChange, find_changes
from .impact import classify_impact
from .refs import DiffSides, resolve_sides
from .report import DiffReport, PromptDiff, SideInfo
from .textdiff import TextDiff, text_diff


def diff_prompts(
    root: str | os.PathLike[str],
    args: list[str] | None = None,
    *,
    rendered: bool = False,
    cost: bool = False,
) -> DiffReport:
    """Compare the project between two sides named by ``args`` (refs, ``NAME@VERSION``, prompt names).

    ``rendered`` renders every golden case on both sides; ``cost`` counts input tokens of those
    renders and estimates cost per 1,000 calls (imports litellm).
    """
    sides = resolve_sides(Path(root), list(args or []))
    return diff_sides(sides, rendered=rendered, cost=cost)


def diff_sides(sides: DiffSides, *, rendered: bool = False, cost: bool = False) -> DiffReport:
    cs = find_changes(sides, sides.names)
    prompts = [_prompt_diff(ch, cs, sides, rendered, cost) for ch in cs.changes]
    return DiffReport(
        old=SideInfo(sides.old.label, sides.old.commit),
        new=SideInfo(sides.new.label, sides.new.commit),
        prompts=prompts,
        problems=cs.problems,
        notes=sides.notes,
        prompts_compared=cs.prompts_compared,
        prompts_loaded=cs.prompts_loaded,
        rendered=rendered,
        cost=cost,
    )


def _prompt_diff(ch: PromptChange, cs: ChangeSet, sides: DiffSides, show_rendered: bool, cost: bool) -> PromptDiff:
    old_file = cs.old_project.prompt_file(ch.old_name) if ch.old_name else None
    new_file = cs.new_project.prompt_file(ch.new_name) if ch.new_name else None
    pd = PromptDiff(
        name=ch.name,
        status=ch.status,
        old_name=ch.old_name,
        new_name=ch.new_name,
        old_file=old_file,
        new_file=new_file,
        affected_by=ch.affected_by,
        problems=ch.problems,
    )
    loadable = (
        ch.status != "error"
        and not (ch.status == "added" and ch.new is None)
        and not (ch.status == "removed" and ch.old is None)
    )
    if loadable:
        impact = classify_impact(ch.old, ch.new)
        pd.impact = impact
        pd.changes = impact.changes
        pd.template_diffs = template_diffs(ch, sides.old.label, sides.new.label)
    if (show_rendered or cost) and (ch.old is not None or ch.new is not None):
        from .rendered import render_goldens

        pd.rendered = render_goldens(
            ch.old,
            ch.new,
            ch.old_name,
            ch.new_name,
            cs.old_project,
            cs.new_project,
            sides.old,
            sides.new,
            cs.problems,
        )
        if cost:
            from .cost import cost_diff

            pd.cost = cost_diff(ch.old, ch.new, pd.rendered.old_renders, pd.rendered.new_renders)
        if not show_rendered:  # --cost alone: renders feed the token counts, their diffs are not shown
            pd.rendered = None
    return pd


def template_diffs(ch: PromptChange, old_label: str, new_label: str) -> list[TextDiff]:
    """Unified diffs of each message template and each included partial that changed."""
    old, new = ch.old, ch.new
    a = old.messages if old else []
    b = new.messages if new else []
    out: list[TextDiff] = []
    for i in range(max(len(a), len(b))):
        ma = a[i] if i < len(a) else None
        mb = b[i] if i < len(b) else None
        role = (mb or ma).role  # type: ignore[union-attr]
        fa = f"{old_label}:{(ma.template_file or ma.origin.file) if ma else '/dev/null'}"
        fb = f"{new_label}:{(mb.template_file or mb.origin.file) if mb else '/dev/null'}"
        d = text_diff(f"message {i + 1} ({role})", ma.text if ma else None, mb.text if mb else None, fa, fb)
        if d is not None:
            out.append(d)
    pa = old.partials if old else {}
    pb = new.partials if new else {}
    if old is not None and new is not None:
        for inc in sorted(set(pa) | set(pb)):
            path = new.engine.loader.path_for(inc)
            d = text_diff(f"partial {inc}", pa.get(inc), pb.get(inc), f"{old_label}:{path}", f"{new_label}:{path}")
            if d is not None:
                out.append(d)
    return out
