"""How the ``summary`` of a results file is computed from its sample records: per-prompt pass rates, metrics,
tokens, cost and latency, the totals and the overall verdict (typed by
:class:`llmops_cli.records.results_summary.Summary`).

The summary is derived data: :func:`summarize` computes it from the samples (streaming, one
:class:`PromptTally` per prompt); a results file that lacks it (or its ``totals``) gets it recomputed on load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..records.results import (
    CostBreakdown,
    Latency,
    MetricMean,
    PromptInfo,
    PromptSummary,
    SampleRecord,
    Summary,
    TokenTotals,
    TokenUsage,
    Totals,
)

__all__ = ["PromptSummary", "PromptTally", "Summary", "percentile", "summarize"]  # the records re-exported: old imports


# -- computing it -------------------------------------------------------------------------------------------


@dataclass
class PromptTally:
    """Streaming accumulator of one prompt's samples."""

    min_pass_rate: float = 1.0
    max_error_rate: float = 0.0
    samples: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    judge_calls: int = 0
    judge_errors: int = 0
    replays: int = 0
    cases: set[str] = field(default_factory=set)
    metric_sum: dict[str, float] = field(default_factory=dict)
    metric_n: dict[str, int] = field(default_factory=dict)
    gen_in: int = 0
    gen_out: int = 0
    judge_in: int = 0
    judge_out: int = 0
    gen_cost: float = 0.0
    judge_cost: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, rec: SampleRecord) -> None:
        self.samples += 1
        self.cases.add(rec.case_id)
        if rec.status == "pass":
            self.passed += 1
        elif rec.status == "fail":
            self.failed += 1
        else:
            self.errors += 1
        if rec.replay:
            self.replays += 1
        if rec.tokens is not None:
            self.gen_in += rec.tokens.prompt or 0
            self.gen_out += rec.tokens.completion or 0
        self.gen_cost += float(rec.cost_usd or 0.0)
        if rec.error is None and rec.latency_ms is not None:
            self.latencies.append(float(rec.latency_ms))
        judge = rec.judge
        if judge is not None:
            if judge.tokens is not None:
                self.judge_in += judge.tokens.prompt or 0
                self.judge_out += judge.tokens.completion or 0
            self.judge_cost += float(judge.cost_usd or 0.0)
            self.judge_calls += judge.samples or 0
            self.judge_errors += judge.errors or 0
        for a in rec.assertions:
            scores = [s for s in a.samples if s is not None] if a.samples is not None else [a.score]
            for s in scores:
                if s is None:
                    continue
                self.metric_sum[a.metric] = self.metric_sum.get(a.metric, 0.0) + float(s)
                self.metric_n[a.metric] = self.metric_n.get(a.metric, 0) + 1

    def summary(self) -> PromptSummary:
        scored = self.passed + self.failed
        pass_rate = self.passed / scored if scored else None
        error_rate = self.errors / self.samples if self.samples else 0.0
        ok = (
            pass_rate is None or pass_rate >= self.min_pass_rate - 1e-12
        ) and error_rate <= self.max_error_rate + 1e-12
        lat = sorted(self.latencies)
        return PromptSummary(
            status="pass" if ok else "fail",
            cases=len(self.cases),
            samples=self.samples,
            passed=self.passed,
            failed=self.failed,
            errors=self.errors,
            pass_rate=_round(pass_rate),
            min_pass_rate=self.min_pass_rate,
            error_rate=_round(error_rate),
            max_error_rate=self.max_error_rate,
            judge_calls=self.judge_calls,
            judge_errors=self.judge_errors,
            metrics={
                m: MetricMean(mean=_round(self.metric_sum[m] / self.metric_n[m]), n=self.metric_n[m])
                for m in sorted(self.metric_n)
            },
            tokens=TokenUsage(
                generation=TokenTotals(prompt=self.gen_in, completion=self.gen_out),
                judge=TokenTotals(prompt=self.judge_in, completion=self.judge_out),
            ),
            cost_usd=CostBreakdown(
                generation=_round(self.gen_cost, 8),
                judge=_round(self.judge_cost, 8),
                total=_round(self.gen_cost + self.judge_cost, 8),
            ),
            latency_ms=Latency(p50=_round(percentile(lat, 50), 1), p95=_round(percentile(lat, 95), 1)),
            replays=self.replays,
        )


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def summarize(prompts: Mapping[str, PromptInfo], records: Iterable[SampleRecord]) -> Summary:
    """Per-prompt summary and overall verdict of a stream of sample records."""
    tallies = {
        pname: PromptTally(
            min_pass_rate=1.0 if p.min_pass_rate is None else p.min_pass_rate,
            max_error_rate=0.0 if p.max_error_rate is None else p.max_error_rate,
        )
        for pname, p in prompts.items()
    }
    for rec in records:
        tallies.setdefault(rec.prompt, PromptTally()).add(rec)
    per_prompt = {pname: tallies[pname].summary() for pname in sorted(tallies)}
    return Summary(
        passed=all(s.status == "pass" for s in per_prompt.values()),
        totals=Totals.of(per_prompt),
        prompts=per_prompt,
    )
