"""Bias probes run with a calibration, each an effect size with a 95 % interval and a flag.

==================  ===========================================================  ============================
probe               what is measured                                             flagged when
==================  ===========================================================  ============================
verbosity           the same answer padded with neutral filler (as long again):  interval's lower end > 0
                    mean (padded − original) judge score, 1-5 points             (one-sided 2.5 %)
sensitivity         each probed item's answer replaced by another item's         mean score > 2 (a wrong
                    answer (wrong for this question): mean judge score, 1-5      answer must score 1-2)
self_preference     items whose ``model`` is the judge's model family: their     interval's lower end > 0
                    mean signed error minus the other items' (no extra calls)
==================  ===========================================================  ============================

Probes re-judge at most ``probe_items`` items, spread evenly over the label set, so their cost is bounded.
Intervals are normal intervals on a mean (or a difference of two means, Welch).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

from ..records.judging import AgreementStat, ProbeResult
from .labels import Labels, consensus

if TYPE_CHECKING:
    from .caller import JudgeCall

__all__ = ["FILLER", "ProbeRun", "model_family", "pad_answer", "run_probes", "shift_effect"]

#: Neutral filler: says nothing about the question, adds no fact, no claim of quality.
FILLER = (
    "To put it another way, the points above are the answer to the question as it was asked.",
    "Each part of the reply above was written with the question in mind.",
    "There is nothing further to add beyond what has already been said here.",
    "The reply above is given in full, and this paragraph only restates that.",
)
Z95 = NormalDist().inv_cdf(0.975)


@dataclass
class ProbeRun:
    result: ProbeResult
    pairs: list[tuple[float, float]]  # (baseline, probed) scores per probed item


def pad_answer(answer: str) -> str:
    """``answer`` followed by neutral filler sentences until the text is about twice as long."""
    extra: list[str] = []
    size = 0
    i = 0
    while size < max(len(answer), 80):
        sentence = FILLER[i % len(FILLER)]
        extra.append(sentence)
        size += len(sentence) + 1
        i += 1
    return answer.rstrip() + "\n\n" + " ".join(extra)


def model_family(model: str) -> str:
    """``openai/gpt-4o-2024-08-06`` → ``gpt``; ``anthropic/claude-3-5-sonnet`` → ``claude``."""
    name = model.rsplit("/", 1)[-1].lower()
    return name.split("-", 1)[0].split(":", 1)[0]


def _mean_stat(values: Sequence[float]) -> AgreementStat:
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return AgreementStat(value=mean, method="normal interval on the mean", n=n)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = Z95 * sd / math.sqrt(n)
    return AgreementStat(value=mean, low=mean - half, high=mean + half, method="normal interval on the mean", n=n)


def shift_effect(pairs: Sequence[tuple[float, float]]) -> tuple[AgreementStat | None, bool]:
    """The verbosity decision: mean (probed − baseline) with its 95 % normal interval, flagged when the
    interval's lower end is above 0 (a one-sided test at 2.5 %)."""
    if not pairs:
        return None, False
    effect = _mean_stat([p - b for b, p in pairs])
    return effect, effect.low is not None and effect.low > 0


def _spread(indices: list[int], m: int) -> list[int]:
    if len(indices) <= m:
        return indices
    step = len(indices) / m
    return [indices[int(i * step)] for i in range(m)]


async def run_probes(
    call: JudgeCall, labels: Labels, scores: Sequence[float | None], names: Sequence[str], max_items: int
) -> list[ProbeRun]:
    """Run the named probes (unknown names are refused by the CLI) against the already judged ``scores``."""
    items = labels.labels.items
    scored = [i for i, s in enumerate(scores) if s is not None]
    chosen = _spread(scored, max(0, max_items))
    out: list[ProbeRun] = []

    async def rescore(changes: dict[int, str]) -> dict[int, float | None]:
        idx = list(changes)
        got = await asyncio.gather(
            *(
                call.mean_score(
                    {**labels.item_vars(items[i]), "answer": changes[i]},
                    where=(labels.file, labels.line_of(i, "vars")),
                )
                for i in idx
            )
        )
        return dict(zip(idx, got, strict=True))

    if "verbosity" in names and chosen:
        padded = await rescore({i: pad_answer(str(labels.item_vars(items[i])["answer"])) for i in chosen})
        pairs = [(float(scores[i] or 0), s) for i, s in padded.items() if s is not None]
        effect, flagged = shift_effect(pairs)
        out.append(
            ProbeRun(
                ProbeResult(
                    name="verbosity",
                    effect=effect,
                    flagged=flagged,
                    detail=f"mean score change (1-5 points) when {len(pairs)} answers are padded with neutral filler",
                ),
                pairs,
            )
        )
    if "sensitivity" in names and len(chosen) >= 2:
        answers = {i: str(labels.item_vars(items[i])["answer"]) for i in chosen}
        swapped = {i: answers[chosen[(j + 1) % len(chosen)]] for j, i in enumerate(chosen)}
        swapped = {i: a for i, a in swapped.items() if a.strip() != answers[i].strip()}
        got = await rescore(swapped)
        pairs = [(float(scores[i] or 0), s) for i, s in got.items() if s is not None]
        effect = _mean_stat([s for _, s in pairs]) if pairs else None
        out.append(
            ProbeRun(
                ProbeResult(
                    name="sensitivity",
                    effect=effect,
                    flagged=bool(effect and effect.value is not None and effect.value > 2.0),
                    detail=f"mean score (1-5) of {len(pairs)} answers swapped to another item's (wrong here)",
                ),
                pairs,
            )
        )
    if "self_preference" in names:
        out += _self_preference(call.plan.target.model, labels, scores)
    return out


def _self_preference(judge_model: str, labels: Labels, scores: Sequence[float | None]) -> list[ProbeRun]:
    if labels.labels.scale != "score":
        return []
    family = model_family(judge_model)
    same: list[float] = []
    other: list[float] = []
    for it, s in zip(labels.labels.items, scores, strict=True):
        if s is None or it.model is None:
            continue
        human = consensus(it.ratings())
        assert isinstance(human, int)
        (same if model_family(it.model) == family else other).append(s - human)
    if len(same) < 2 or len(other) < 2:
        return []
    ms, mo = math.fsum(same) / len(same), math.fsum(other) / len(other)
    vs = math.fsum((x - ms) ** 2 for x in same) / (len(same) - 1)
    vo = math.fsum((x - mo) ** 2 for x in other) / (len(other) - 1)
    diff = ms - mo
    half = Z95 * math.sqrt(vs / len(same) + vo / len(other))
    effect = AgreementStat(
        value=diff, low=diff - half, high=diff + half, method="Welch normal interval", n=len(same) + len(other)
    )
    return [
        ProbeRun(
            ProbeResult(
                name="self_preference",
                effect=effect,
                flagged=effect.low is not None and effect.low > 0,
                detail=f"mean signed error on {len(same)} answers by the judge's family ({family}) minus on "
                f"{len(other)} others (1-5 points)",
            ),
            [],
        )
    ]
