"""The gate's judges come from the base, and a change cannot grade itself.

A judge decides what "worse" means: a pull request that rewrites the judge prompt to always answer 5, or
points the judge model at a lenient one, would hide a real regression if its own judge scored it. So
``eval gate --base REF`` scores **both arms** with the judge configuration of the merge-base, read from git
objects: the judge prompts (with their templates and partials), ``judge.prompt`` and ``judge.model``, the
judge model's alias (model id, ``api_base``, key variable, params, budgets) and K. A change to any of them is
reported (``judge changed in this PR: … — both arms judged with the base's judge``) and takes effect for the
pull requests after it lands.

A judge the base does not have (added by the change) has nothing trusted behind it: it runs as the change
wrote it, and the metrics it grades are **informational**, never decisive, in that change (``new judge``).
Once merged it is the base's judge and decides from the next pull request on. A metric whose golden set
moved it to another judge is informational too, and its prompt is at least WARN (the base's measurement
cannot be repeated).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import LlmopsError
from ..evals.judges import judge_config_sha256

if TYPE_CHECKING:
    from ..config import ProjectConfig
    from ..evals.model import EvalResults
    from ..project import Project
    from .collect import Arm

NoteKind = Literal["new-judge", "new-metric", "judge-switched", "criteria-changed", "uncalibrated-judge"]
_ASKED = ("criteria", "rubric", "question_var", "context_var")  # what a judge assertion asks its judge
_MAX_CHANGES = 20
_ITEM_CHARS = 200


@dataclass
class JudgeNote:
    """Why a judged metric of one prompt does not decide in this change."""

    metric: str
    kind: NoteKind
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class JudgePolicy:
    """Where the judges came from, what the change altered in them (not applied), and its new judges."""

    source: str
    changed: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)

    def changed_line(self) -> str | None:
        if not self.changed:
            return None
        return f"judge changed in this PR: {'; '.join(self.changed)} — both arms judged with the base's judge"

    def new_line(self) -> str | None:
        if not self.new:
            return None
        return (
            f"new judge in this PR (not on the base): {', '.join(self.new)} — its metrics are informational "
            "until it lands on the base"
        )

    def status_note(self) -> str | None:
        """The short mark the status line carries."""
        if self.changed:
            return "judge changed in PR: base judge used"
        if self.new:
            return "new judge: informational"
        return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _alias_of(config: ProjectConfig, model_name: str) -> dict[str, Any] | None:
    _, alias = config.resolve_model(model_name)
    return alias.model_dump(mode="json") if alias else None


def judge_changes(base: Project, head: Project, names: Iterable[str]) -> list[str]:
    """``what: base → head`` for the judge settings (``judge.prompt``, ``judge.model``) and each judge in
    ``names`` that the base has (prompt, the model it names, that alias's definition) the head changes."""
    out: list[str] = []
    bj, hj = base.config.judge, head.config.judge
    for key in ("prompt", "model"):
        b, h = getattr(bj, key), getattr(hj, key)
        if b != h:
            out.append(f"judge.{key} {b or '(unset)'} → {h or '(unset)'}")
    for name in sorted(set(names)):
        if not base.source.exists(base.prompt_file(name)):
            continue  # a new judge: JudgePolicy.new
        if not head.source.exists(head.prompt_file(name)):
            out.append(f"{name} deleted")
            continue
        try:
            bp, hp = base.load(name), head.load(name)
        except LlmopsError:
            out.append(f"{name} unreadable on one side")
            continue
        bm, hm = bj.model or bp.model_name, hj.model or hp.model_name
        ba, ha = _alias_of(base.config, bm), _alias_of(head.config, hm)
        same_file = base.source.read_text(base.prompt_file(name)) == head.source.read_text(head.prompt_file(name))
        if not same_file or (bp.sha256 != hp.sha256 and ba == ha):  # Prompt.sha256 also covers its alias
            what = "prompt" if not same_file else "prompt templates or partials"
            out.append(f"{name} {what} {bp.sha256[:8]} → {hp.sha256[:8]}")
        if bm != hm:
            out.append(f"{name} model {bm} → {hm}")
        elif ba != ha:
            keys = sorted(k for k in {*(ba or {}), *(ha or {})} if (ba or {}).get(k) != (ha or {}).get(k))
            out.append(f"{name} model alias {bm}: {', '.join(keys) or 'defined'} changed")
    unique = list(dict.fromkeys(item[:_ITEM_CHARS] for item in out))
    return unique[:_MAX_CHANGES] + ([f"and {len(unique) - _MAX_CHANGES} more"] if len(unique) > _MAX_CHANGES else [])


def base_judge_hash(base: Project, name: str) -> tuple[str, str] | None:
    """``(config_sha256, prompt_sha256)`` of judge ``name`` as the base configures it; None when the base has
    no such judge (or cannot read it)."""
    if not base.source.exists(base.prompt_file(name)):
        return None
    try:
        prompt = base.load(name)
    except LlmopsError:
        return None
    model_name = base.config.judge.model or prompt.model_name
    return judge_config_sha256(prompt.sha256, model_name, base.config), prompt.sha256


def differs_from_base(results: EvalResults, base: Project) -> list[str]:
    """The judges of ``results`` that the base has but that were not configured as the base configures them
    (by ``config_sha256``, or by prompt hash for files that predate it)."""
    out = []
    for name, info in sorted(results.run.judges.items()):
        expected = base_judge_hash(base, name)
        if expected is None:
            continue
        config_sha, prompt_sha = expected
        if (info.config_sha256 is not None and info.config_sha256 != config_sha) or (
            info.prompt_sha256 is not None and info.prompt_sha256 != prompt_sha
        ):
            out.append(name)
    return out


def mark_new_judges(results: EvalResults, base: Project) -> list[str]:
    """Mark (``new``) the judges of ``results`` that the base does not have; their names."""
    new = []
    for name, info in sorted(results.run.judges.items()):
        if info.new or not base.source.exists(base.prompt_file(name)):
            info.new = True
            new.append(name)
    return new


def _asks(project: Project, name: str) -> dict[str, set[str]]:
    """Judged metric → what the golden set of ``name`` asks its judge (criteria, rubric, inputs), per assertion."""
    from ..evals.assertions import JUDGE_TYPES

    try:
        golden = project.golden_set(name)
    except LlmopsError:
        return {}
    out: dict[str, set[str]] = {}
    if golden is None:
        return out
    for raw in [*golden.defaults.asserts, *(a for c in golden.cases for a in c.asserts)]:
        if isinstance(raw, dict) and raw.get("type") in JUDGE_TYPES:
            asked = {k: raw.get(k) for k in _ASKED}
            out.setdefault(str(raw.get("metric", raw["type"])), set()).add(
                json.dumps(asked, sort_keys=True, default=str)
            )
    return out


def criteria_changes(base: Project, head: Project, old: str, new: str) -> list[JudgeNote]:
    """The judged metrics of a gated prompt whose golden set changed what it asks the judge (``criteria``,
    ``rubric``, ``question_var``, ``context_var``): the head arm's judge is asked something else, so the prompt
    is at least WARN and the change is named."""
    b, h = _asks(base, old), _asks(head, new)
    return [
        JudgeNote(
            metric,
            "criteria-changed",
            "what its judge is asked (criteria, rubric or inputs) changed in this change's golden set: head is "
            "graded against other criteria than the base; review the change (at least WARN).",
        )
        for metric in sorted(set(b) & set(h))
        if b[metric] != h[metric]
    ]


def notes_for(base: Arm, head: Arm) -> list[JudgeNote]:
    """Per judged metric of ``head`` that cannot decide: graded by a new judge, new in this change, or moved
    to another judge by the golden set."""
    from .collect import judge_switched

    notes: list[JudgeNote] = []
    base_metrics = set(base.metrics())
    untrusted = head.untrusted_metrics()
    for metric in sorted(head.judged_metrics):
        judges = ", ".join(head.judged_by.get(metric, [])) or "a judge"
        if metric in base_metrics and judge_switched(base, head, metric):
            was = ", ".join(base.judged_by.get(metric, []))
            notes.append(
                JudgeNote(
                    metric,
                    "judge-switched",
                    f"its judge changed in this change's golden set ({was} → {judges}): the base's measurement "
                    "cannot be repeated; informational, and the prompt is at least WARN.",
                )
            )
        elif metric in untrusted:
            notes.append(
                JudgeNote(
                    metric,
                    "new-judge",
                    f"graded by {judges}, a judge the base does not have: informational until it lands on the base.",
                )
            )
        elif metric not in base_metrics and metric not in base.judged_by:
            notes.append(
                JudgeNote(metric, "new-metric", "new in this change (no base score): informational, not gated.")
            )
    return notes
