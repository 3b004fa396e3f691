"""Pairwise judging for the gate: the judge sees the base and the head answer of the same case, in both orders.

A pairwise judge is a prompt with inputs ``answer_a`` and ``answer_b`` (and ``question``, ``criteria`` if it
declares them) that answers like every judge, ``{"reasoning": "...", "score": 1-5}``: 1 = A is clearly better,
3 = equally good, 5 = B is clearly better. Each case is judged twice, base as A then head as A; the head
**wins** only when both orders prefer it, the base wins only when both prefer the base, anything else is a tie
(position bias cancels). A case whose two answers are byte-identical is a tie without a call. The gate then
tests "the base is preferred more often than the head" with the exact one-sided sign test over the decided
cases, ``P(X ≥ base wins)``, ``X ~ Binomial(base wins + head wins, ½)``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import PromptFileError
from ..project import Project
from .calibrate import CalibrateOptions, prepare_judge

__all__ = ["PairwiseCase", "PairwiseResult", "pairwise_compare", "sign_test_p"]

WARN_ALPHA = 0.15


def sign_test_p(base_wins: int, head_wins: int) -> float:
    """Exact one-sided ``P(X ≥ base_wins)`` for ``X ~ Binomial(base_wins + head_wins, ½)`` (1.0 when no case
    was decided)."""
    n = base_wins + head_wins
    if n == 0:
        return 1.0
    return float(sum(math.comb(n, i) for i in range(base_wins, n + 1)) / 2**n)


@dataclass(frozen=True)
class PairwiseCase:
    case: str
    winner: str  # "base", "head" or "tie"
    base_first: float | None  # score with base as A (1: A better … 5: B better)
    head_first: float | None  # score with head as A


@dataclass
class PairwiseResult:
    """The pairwise finding on one prompt."""

    judge: str
    cases: int
    base_wins: int
    head_wins: int
    ties: int
    errors: int
    p_value: float
    state: str
    reason: str
    decided: list[PairwiseCase] = field(default_factory=list)

    @property
    def preference(self) -> float:
        """(head wins − base wins) / cases: below 0 the base is preferred."""
        return (self.head_wins - self.base_wins) / self.cases if self.cases else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["preference"] = round(self.preference, 6)
        d["p_value"] = round(self.p_value, 9)
        d["decided"] = [asdict(c) for c in self.decided if c.winner != "tie"][:20]
        return d


def _winner(base_first: float | None, head_first: float | None) -> str:
    if base_first is None or head_first is None:
        return "tie"
    if base_first > 3 and head_first < 3:
        return "head"
    if base_first < 3 and head_first > 3:
        return "base"
    return "tie"


def pairwise_compare(
    project: Project,
    judge: str,
    pairs: Sequence[tuple[str, dict[str, Any], str, str]],
    *,
    alpha: float,
    practical: float,
    options: CalibrateOptions | None = None,
) -> PairwiseResult:
    """Judge ``pairs`` — ``(case id, judge inputs, base answer, head answer)`` — in both orders with ``judge``
    from ``project`` (cached like evals) and decide: FAIL when the sign test's ``p < alpha`` and the base is
    preferred by at least ``practical`` of the cases more than the head; WARN at ``p < 0.15``; else PASS."""
    call = prepare_judge(project, judge, options or CalibrateOptions(probes=()))
    declared = call.plan.prompt.spec.inputs
    if "answer_a" not in declared or "answer_b" not in declared:
        raise PromptFileError(f"pairwise judge '{judge}' must declare inputs answer_a and answer_b", file=judge)

    async def one(cid: str, inputs: dict[str, Any], base: str, head: str) -> PairwiseCase:
        if base == head:
            return PairwiseCase(cid, "tie", 3.0, 3.0)
        where = (call.plan.prompt.file, None)
        bf, hf = await asyncio.gather(
            call.mean_score({**inputs, "answer_a": base, "answer_b": head, "answer": f"{base}\n{head}"}, where=where),
            call.mean_score({**inputs, "answer_a": head, "answer_b": base, "answer": f"{head}\n{base}"}, where=where),
        )
        return PairwiseCase(cid, _winner(bf, hf), bf, hf)

    async def run() -> list[PairwiseCase]:
        return list(await asyncio.gather(*(one(*p) for p in pairs)))

    decided = asyncio.run(run())
    bw = sum(c.winner == "base" for c in decided)
    hw = sum(c.winner == "head" for c in decided)
    errors = sum(c.base_first is None or c.head_first is None for c in decided)
    n = len(decided)
    p = sign_test_p(bw, hw)
    drop = (bw - hw) / n if n else 0.0
    if p < alpha and drop >= practical:
        state = "FAIL"
    elif p < WARN_ALPHA and drop >= practical:
        state = "WARN"
    else:
        state = "PASS"
    reason = (
        f"pairwise ({judge}, both orders): base preferred on {bw}, head on {hw}, {n - bw - hw} ties of {n} cases; "
        f"sign test p = {p:.4g}"
    )
    return PairwiseResult(judge, n, bw, hw, n - bw - hw, errors, p, state, reason, decided)
