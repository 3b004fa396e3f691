"""Per-case stability over repeated samples (``eval run --repeat R``, judge samples K): which cases flip.

For each case with ``n ≥ 2`` verdicts of which ``c`` pass:

* **flaky** when it has both passes and fails; the *flip fraction* is the share of such cases;
* **pass@k** (at least one of ``k`` tries passes) and **pass^k** (all ``k`` pass) per case, with the unbiased
  estimators over the ``n`` observed samples, ``1 − C(n−c, k)/C(n, k)`` and ``C(c, k)/C(n, k)`` (Chen et al.
  2021; Yao et al. 2024), averaged over cases;
* the *flakiest* cases are those whose pass share is closest to one half.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import comb
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..evals.model import EvalResults

__all__ = ["CaseStability", "Stability", "pass_at_k", "pass_hat_k", "results_stability", "stability"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """P(at least one of ``k`` samples drawn without replacement from ``n`` with ``c`` passes passes)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError("need 0 <= c <= n and 1 <= k <= n")
    return 1.0 - comb(n - c, k) / comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """P(all ``k`` samples drawn without replacement from ``n`` with ``c`` passes pass)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError("need 0 <= c <= n and 1 <= k <= n")
    return comb(c, k) / comb(n, k)


@dataclass(frozen=True)
class CaseStability:
    case: str
    passes: int
    samples: int

    @property
    def flaky(self) -> bool:
        return 0 < self.passes < self.samples


@dataclass
class Stability:
    """One prompt's stability over its repeated verdicts."""

    cases: int
    flaky: int
    k: int
    pass_at_k: float | None
    pass_hat_k: float | None
    flakiest: list[CaseStability] = field(default_factory=list)

    @property
    def flip_fraction(self) -> float | None:
        return self.flaky / self.cases if self.cases else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "flaky": self.flaky,
            "flip_fraction": self.flip_fraction,
            "k": self.k,
            "pass_at_k": self.pass_at_k,
            "pass_hat_k": self.pass_hat_k,
            "flakiest": [{"case": c.case, "passes": c.passes, "samples": c.samples} for c in self.flakiest],
        }


def stability(verdicts: Mapping[str, Sequence[bool]], k: int | None = None, top: int = 5) -> Stability:
    """Stability of ``verdicts`` (case → its sample verdicts); ``k`` defaults to the fewest samples of a case."""
    usable = {cid: list(v) for cid, v in verdicts.items() if len(v) >= 2}
    if not usable:
        return Stability(0, 0, k or 1, None, None)
    kk = k if k is not None else min(len(v) for v in usable.values())
    per = [CaseStability(cid, sum(v), len(v)) for cid, v in sorted(usable.items())]
    at = [pass_at_k(c.samples, c.passes, kk) for c in per if c.samples >= kk]
    hat = [pass_hat_k(c.samples, c.passes, kk) for c in per if c.samples >= kk]
    flaky = [c for c in per if c.flaky]
    flakiest = sorted(flaky, key=lambda c: (abs(c.passes / c.samples - 0.5), c.case))[:top]
    return Stability(
        cases=len(per),
        flaky=len(flaky),
        k=kk,
        pass_at_k=sum(at) / len(at) if at else None,
        pass_hat_k=sum(hat) / len(hat) if hat else None,
        flakiest=flakiest,
    )


def results_stability(results: EvalResults, k: int | None = None, top: int = 5) -> dict[str, Stability]:
    """Per prompt of a results file: the stability of each case's sample verdicts (``status`` pass/fail;
    errors are not verdicts)."""
    by_prompt: dict[str, dict[str, list[bool]]] = {}
    for s in results.samples:
        if s.status in ("pass", "fail"):
            by_prompt.setdefault(s.prompt, {}).setdefault(s.case_id, []).append(s.status == "pass")
    return {p: stability(v, k, top) for p, v in sorted(by_prompt.items())}
