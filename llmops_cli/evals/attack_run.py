"""``llmops eval attack``: run a prompt's derived attack cases (:mod:`.attack`) as an eval run, read the ASR."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from .attack import AttackOptions, PromptAttack, attack_summary


@dataclass
class AttackRun:
    """What :func:`run_attack` did: the results file, the ASR per prompt and family, and the derivation."""

    run_id: str
    results_path: str
    prompts: list[PromptAttack]
    options: AttackOptions
    notices: list[str] = field(default_factory=list)

    def worst(self) -> float:
        """The highest ASR of any prompt (0 when nothing was scored)."""
        return max((p.total.asr or 0.0 for p in self.prompts), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "llmops.eval.attack/1",
            "run_id": self.run_id,
            "results": self.results_path,
            "attack": self.options.to_dict(),
            "prompts": [p.to_dict() for p in self.prompts],
        }


def run_attack(
    project: Any,
    names: list[str],
    attack: AttackOptions,
    *,
    concurrency: int | None = None,
    use_cache: bool = True,
    shard: tuple[int, int] | None = None,
    out: str | None = None,
    resume: str | None = None,
    progress: Any = None,
    notify: Any = None,
) -> AttackRun:
    """Run the derived attack cases of ``names`` (default: every prompt with a golden set) as a normal eval run
    (cached, journaled, resumable) and read the attack success rates from its results file."""
    from .results import load_results
    from .runner import EvalOptions, run_eval

    options = EvalOptions(
        names=list(names) or None,
        concurrency=concurrency,
        use_cache=use_cache,
        shard=shard,
        out=out,
        attack=attack.to_dict(),
    )
    outcome = run_eval(project, options, resume=resume, progress=progress, notify=notify)
    results = load_results(outcome.results_path)
    saved = results.run.selection.get("attack") if isinstance(results.run.selection, dict) else None
    if saved is None:
        raise UsageError(f"run {outcome.run_id} is not an attack run (eval attack --resume takes attack runs only)")
    return AttackRun(
        outcome.run_id, outcome.results_path, attack_summary(results.samples), AttackOptions.from_dict(saved),
        list(outcome.notices),
    )  # fmt: skip
