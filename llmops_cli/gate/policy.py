"""The gate's policy comes from the base, and a change cannot gate itself out.

A pull request must not be able to weaken its own gate, so:

* **Settings from the base.** ``gate:`` (``practical``, ``alpha``, error rates, per-prompt ``overrides``,
  ``max_removed_cases``) is read from ``llmops.yaml`` at the merge-base; a change to them in the pull request
  is reported (``gate settings changed in this PR: …``) and takes effect once merged. So are R and K
  (``eval.repeat``, ``judge.samples``), which set the gate's power.
* **Removals fail.** A prompt the base gates (prompt file and golden set at the base) that the change
  deletes, whose golden set it deletes or empties, or that loses more than ``max_removed_cases`` of its base
  cases (removed or renamed ids), is FAIL — never "nothing to gate". Two declarations in the change's own
  ``llmops.yaml`` say what was meant, and both stay visible:

  - ``gate.moves: {old: new}`` — a rename: the old prompt at the base is gated against the new one at head;
  - ``gate.accept_removal: {name: reason}`` — a removal on purpose: WARN instead of FAIL, named in the
    status line and the report, so a reviewer sees it (``--fail-on warn`` blocks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..config import GateConfig, ProjectConfig
from ..limits import name_problem

if TYPE_CHECKING:
    from ..project import Project
    from .decide import GateReport

DECLARATIONS = ("moves", "accept_removal")  # read from the change itself; not policy
RemovalKind = Literal["prompt-removed", "golden-set-removed", "golden-set-emptied", "cases-removed"]
_SHOWN_IDS = 5


@dataclass
class GatePolicy:
    """Where the thresholds came from, and which settings the change tried to alter (not applied)."""

    source: str
    changed: list[str] = field(default_factory=list)

    def changed_line(self) -> str | None:
        if not self.changed:
            return None
        return f"gate settings changed in this PR: {'; '.join(self.changed)} — gated with the base's settings"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "changed": list(self.changed)}


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):  # an empty mapping (no overrides) adds nothing: unset keys show as "(unset)"
        for k in sorted(value):
            _flatten(f"{prefix}.{k}" if prefix else str(k), value[k], out)
    else:
        out[prefix] = value


def _settings(config: ProjectConfig) -> dict[str, Any]:
    gate = config.gate.model_dump(mode="json", exclude=set(DECLARATIONS))
    flat: dict[str, Any] = {}
    _flatten("gate", gate, flat)
    flat["eval.repeat"] = config.eval.repeat
    flat["judge.samples"] = config.judge.samples
    return flat


def policy_changes(base: ProjectConfig, head: ProjectConfig) -> list[str]:
    """``key: base → head`` for every gate setting (and R, K) the head changes."""
    b, h = _settings(base), _settings(head)
    out = []
    for key in sorted(set(b) | set(h)):
        if b.get(key, "(unset)") != h.get(key, "(unset)"):
            out.append(f"{key} {b.get(key, '(unset)')} → {h.get(key, '(unset)')}"[:200])
    return out


def policy_of(base: ProjectConfig, head: ProjectConfig, source: str) -> GatePolicy:
    return GatePolicy(source, policy_changes(base, head))


# -- removals -------------------------------------------------------------------------------------------------


@dataclass
class Removal:
    """A prompt the base gates that the change removes (or strips of its cases)."""

    prompt: str
    kind: RemovalKind
    detail: str
    accepted: str | None = None  # the reason given in gate.accept_removal

    @property
    def state(self) -> str:
        return "WARN" if self.accepted is not None else "FAIL"

    def reason(self) -> str:
        if self.accepted is not None:
            return f"{self.detail} Accepted in this PR (gate.accept_removal): {self.accepted}"
        return (
            f"{self.detail} A change may not gate itself out: restore it, declare a rename in gate.moves, or "
            "state the removal in gate.accept_removal (WARN, named in the status)."
        )


def valid_moves(base: Project, head: Project) -> dict[str, str]:
    """``gate.moves`` of the head whose old name is a gated base prompt gone from head, and whose new name is a
    head prompt with a golden set that the base did not gate (others are ignored: a copy is not a move, and
    an old prompt whose move is invalid counts as removed)."""
    out: dict[str, str] = {}
    for old, new in head.config.gate.moves.items():
        if name_problem(new, "prompt name") or new == old:
            continue
        if _gated(base, old) and _gated(head, new) and not _gated(base, new) and not _gated(head, old):
            out[old] = new
    return out


def _gated(project: Project, name: str) -> bool:
    return project.golden_file(name) is not None and project.source.exists(project.prompt_file(name))


def find_removals(base: Project, head: Project, config: GateConfig, moves: dict[str, str]) -> list[Removal]:
    """Every prompt gated at ``base`` that ``head`` deletes, or whose golden set it deletes, empties or cuts by
    more than ``config.max_removed_cases`` (``config``: the base's). ``moves``: declared renames."""
    accept = head.config.gate.accept_removal
    found: list[Removal] = []
    for old in base.golden_names():
        if not base.source.exists(base.prompt_file(old)):
            continue
        name = moves.get(old, old)
        moved = f" (moved to {name!r})" if name != old else ""
        removal: Removal | None = None
        if not head.source.exists(head.prompt_file(name)):
            removal = Removal(old, "prompt-removed", f"Prompt {old!r}{moved} is gated at the base and deleted here.")
        elif head.golden_file(name) is None:
            removal = Removal(old, "golden-set-removed", f"The golden set of {name!r}{moved} is deleted.")
        else:
            removal = _case_removal(base, head, old, name, config.max_removed_cases)
        if removal is not None:
            removal.accepted = accept.get(old, accept.get(name))
            found.append(removal)
    return found


def _case_removal(base: Project, head: Project, old: str, name: str, limit: float) -> Removal | None:
    b_file, h_file = base.golden_file(old), head.golden_file(name)
    assert b_file is not None and h_file is not None
    if old == name and base.source.read_text(b_file) == head.source.read_text(h_file):
        return None
    b_set, h_set = base.golden_set(old), head.golden_set(name)
    assert b_set is not None and h_set is not None
    b_ids = {c.id for c in b_set.cases}
    h_ids = {c.id for c in h_set.cases}
    if not b_ids:
        return None
    if not h_ids:
        return Removal(old, "golden-set-emptied", f"The golden set of {name!r} has no cases left (base: {len(b_ids)}).")
    gone = sorted(b_ids - h_ids)
    share = len(gone) / len(b_ids)
    if share <= limit:
        return None
    shown = ", ".join(gone[:_SHOWN_IDS]) + (f" and {len(gone) - _SHOWN_IDS} more" if len(gone) > _SHOWN_IDS else "")
    return Removal(
        old,
        "cases-removed",
        f"{len(gone)} of {len(b_ids)} base cases of {name!r} are removed or renamed ({share:.0%} > "
        f"max_removed_cases {limit:.0%}): {shown}.",
    )


def apply_removals(report: GateReport, removals: list[Removal], moves: dict[str, str]) -> None:
    """Put each removal into ``report`` (FAIL, or WARN when accepted), then recompute verdict and line."""
    from .decide import PromptGate
    from .stats import overall_state

    if not removals:
        return
    by_name = {p.prompt: p for p in report.prompts}
    for r in removals:
        name = moves.get(r.prompt, r.prompt)
        current = by_name.get(name) or by_name.get(r.prompt)
        if r.kind == "cases-removed" and current is not None and current.status == "gated":
            current.state = overall_state([current.state or "PASS", r.state])
            current.reason = f"{r.reason()} {current.reason}".strip()
            continue
        report.prompts = [p for p in report.prompts if p.prompt not in (r.prompt, name)]
        report.prompts.append(PromptGate(r.prompt, r.kind, r.state, r.reason()))
    report.prompts.sort(key=lambda p: p.prompt)
    report.verdict = overall_state([p.state for p in report.prompts if p.state is not None])
    report.line = _line(report, removals)


def _line(report: GateReport, removals: list[Removal]) -> str:
    from .decide import verdict_line

    rest = verdict_line(report.verdict, report.prompts).split(": ", 1)[1] if report.gated else ""
    failed = [r for r in removals if r.accepted is None]
    accepted = [r for r in removals if r.accepted is not None]
    parts = []
    if failed:
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        parts.append(f"{failed[0].prompt}: {failed[0].kind}{more}")
    if accepted:  # before the rest: the status line is where a reviewer must see it
        parts.append("accepted removal: " + ", ".join(r.prompt for r in accepted))
    if rest:
        parts.append(rest)
    line = f"{report.verdict}: {'; '.join(parts)}"
    return line if len(line) <= 140 else line[:139] + "…"
