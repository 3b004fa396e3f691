"""The ``summary`` part of a results file: per-prompt pass rates, metrics, tokens, cost and latency, the totals
and the overall verdict — its typed model and how it is computed from the sample records.

The summary is derived data: :func:`summarize` computes it from the samples (streaming, one
:class:`PromptTally` per prompt); a results file that lacks it (or its ``totals``) gets it recomputed on load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from . import fields as F
from .fields import EXTRA, JsonModel, meta

if TYPE_CHECKING:
    from .model import PromptInfo, SampleRecord

_RATE = {"minimum": 0, "maximum": 1}
_NONNEG = {"minimum": 0}


@dataclass
class MetricMean(JsonModel):
    """Mean of one metric's scores over the prompt's samples."""

    mean: float | None = field(
        default=None, metadata=meta(required=True, schema=_RATE, doc="null when no sample scored it")
    )
    n: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> MetricMean:
        d = F.obj(data, at)
        assert d is not None
        return cls(
            mean=F.score(F.present(d, "mean", at), f"{at}.mean"),
            n=F.required_count(d.get("n"), f"{at}.n"),
            extra=cls.extra_of(d),
        )


@dataclass
class TokenTotals(JsonModel):
    prompt: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    completion: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> TokenTotals:
        d = F.obj(data, at)
        assert d is not None
        return cls(
            prompt=F.required_count(d.get("prompt"), f"{at}.prompt"),
            completion=F.required_count(d.get("completion"), f"{at}.completion"),
            extra=cls.extra_of(d),
        )


@dataclass
class TokenUsage(JsonModel):
    generation: TokenTotals = field(default_factory=TokenTotals, metadata=meta(required=True))
    judge: TokenTotals = field(default_factory=TokenTotals, metadata=meta(required=True))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> TokenUsage:
        d = F.obj(data, at)
        assert d is not None
        return cls(
            generation=TokenTotals.from_dict(d.get("generation"), f"{at}.generation"),
            judge=TokenTotals.from_dict(d.get("judge"), f"{at}.judge"),
            extra=cls.extra_of(d),
        )


@dataclass
class CostBreakdown(JsonModel):
    """USD; null when unknown (a model without a price)."""

    generation: float | None = field(default=None, metadata=meta(required=True, schema=_NONNEG))
    judge: float | None = field(default=None, metadata=meta(required=True, schema=_NONNEG))
    total: float | None = field(default=None, metadata=meta(required=True, schema=_NONNEG))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> CostBreakdown:
        d = F.obj(data, at)
        assert d is not None
        return cls(
            generation=F.amount(F.present(d, "generation", at), f"{at}.generation"),
            judge=F.amount(F.present(d, "judge", at), f"{at}.judge"),
            total=F.amount(F.present(d, "total", at), f"{at}.total"),
            extra=cls.extra_of(d),
        )


@dataclass
class Latency(JsonModel):
    """Nearest-rank percentiles of the successful generations' latency (ms); null when none succeeded."""

    p50: float | None = field(default=None, metadata=meta(required=True, schema=_NONNEG))
    p95: float | None = field(default=None, metadata=meta(required=True, schema=_NONNEG))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> Latency:
        d = F.obj(data, at)
        assert d is not None
        return cls(
            p50=F.amount(F.present(d, "p50", at), f"{at}.p50"),
            p95=F.amount(F.present(d, "p95", at), f"{at}.p95"),
            extra=cls.extra_of(d),
        )


_COUNTS = ("cases", "samples", "passed", "failed", "errors", "judge_calls", "judge_errors")


@dataclass
class PromptSummary(JsonModel):
    """One prompt's tally and verdict."""

    status: Literal["pass", "fail"] = field(default="pass", metadata=meta(required=True))
    cases: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    samples: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    passed: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    failed: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    errors: int = field(
        default=0, metadata=meta(required=True, schema=_NONNEG, doc="samples that ended in a provider error")
    )
    pass_rate: float | None = field(
        default=None, metadata=meta(schema=_RATE, doc="passed / (passed + failed); null when none was scored")
    )
    min_pass_rate: float = field(default=1.0, metadata=meta(required=True, schema=_RATE))
    error_rate: float | None = field(default=None, metadata=meta(schema=_RATE))
    max_error_rate: float = field(default=0.0, metadata=meta(required=True, schema=_RATE))
    judge_calls: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    judge_errors: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    metrics: dict[str, MetricMean] = field(default_factory=dict, metadata=meta(required=True))
    tokens: TokenUsage = field(default_factory=TokenUsage, metadata=meta(required=True))
    cost_usd: CostBreakdown = field(
        default_factory=lambda: CostBreakdown(None, None, None), metadata=meta(required=True)
    )
    latency_ms: Latency = field(default_factory=lambda: Latency(None, None), metadata=meta(required=True))
    replays: int | None = field(
        default=None, metadata=meta(schema=_NONNEG, doc="samples answered from the response cache")
    )
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> PromptSummary:
        d = F.obj(data, at)
        assert d is not None
        status = d.get("status")
        if status not in ("pass", "fail"):
            raise F.Invalid(f"{at}.status", f"{F.show(status)} is not pass or fail")
        c = {key: F.required_count(d.get(key), f"{at}.{key}") for key in _COUNTS}
        replays = F.count(d.get("replays"), f"{at}.replays")
        rates = {k: None if d.get(k) is None else F.rate(d.get(k), f"{at}.{k}") for k in ("pass_rate", "error_rate")}
        limits = {k: F.rate(d.get(k), f"{at}.{k}") for k in ("min_pass_rate", "max_error_rate")}
        metrics_in = F.obj(d.get("metrics"), f"{at}.metrics")
        assert metrics_in is not None
        metrics = {}
        for m, v in metrics_in.items():
            mat = f"{at}.metrics[{F.show(m)}]"
            metrics[F.name(m, mat, "metric")] = MetricMean.from_dict(v, mat)
        return cls(
            status=status,
            cases=c["cases"],
            samples=c["samples"],
            passed=c["passed"],
            failed=c["failed"],
            errors=c["errors"],
            pass_rate=rates["pass_rate"],
            min_pass_rate=limits["min_pass_rate"],
            error_rate=rates["error_rate"],
            max_error_rate=limits["max_error_rate"],
            judge_calls=c["judge_calls"],
            judge_errors=c["judge_errors"],
            metrics=metrics,
            tokens=TokenUsage.from_dict(d.get("tokens"), f"{at}.tokens"),
            cost_usd=CostBreakdown.from_dict(d.get("cost_usd"), f"{at}.cost_usd"),
            latency_ms=Latency.from_dict(d.get("latency_ms"), f"{at}.latency_ms"),
            replays=replays,
            extra=cls.extra_of(d),
        )


@dataclass
class Totals(JsonModel):
    """Sums over every prompt."""

    samples: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    passed: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    failed: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    errors: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    judge_errors: int = field(default=0, metadata=meta(required=True, schema=_NONNEG))
    cost_usd: float | None = field(default=None, metadata=meta(schema=_NONNEG))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> Totals:
        d = F.obj(data, at)
        assert d is not None
        keys = ("samples", "passed", "failed", "errors", "judge_errors")
        counts = {k: F.required_count(d.get(k), f"{at}.{k}") for k in keys}
        return cls(**counts, cost_usd=F.amount(d.get("cost_usd"), f"{at}.cost_usd"), extra=cls.extra_of(d))

    @classmethod
    def of(cls, prompts: Mapping[str, PromptSummary]) -> Totals:
        s = prompts.values()
        return cls(
            samples=sum(p.samples for p in s),
            passed=sum(p.passed for p in s),
            failed=sum(p.failed for p in s),
            errors=sum(p.errors for p in s),
            judge_errors=sum(p.judge_errors for p in s),
            cost_usd=_round(sum(p.cost_usd.total or 0.0 for p in s), 8),
        )


@dataclass
class Summary(JsonModel):
    """The verdict of a run: ``passed`` when every prompt met its thresholds. Written in full; a file
    without ``passed`` or ``prompts`` (or ``totals``) gets them recomputed from its samples on load."""

    passed: bool = field(default=True, metadata=meta(doc="every prompt met its thresholds"))
    totals: Totals = field(default_factory=Totals, metadata=meta())
    prompts: dict[str, PromptSummary] = field(default_factory=dict, metadata=meta())
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str = "summary") -> Summary | None:
        """The summary, validated; None when it lacks ``prompts`` or ``passed`` (the caller recomputes it from
        the samples). A summary without ``totals`` gets them summed from its prompts."""
        d = F.obj(data, at)
        assert d is not None
        passed = F.flag(d.get("passed"), f"{at}.passed", optional="passed" not in d)
        prompts_in = F.obj(d.get("prompts"), f"{at}.prompts", optional="prompts" not in d) or {}
        prompts = {}
        for pname, s in prompts_in.items():
            pat = f"{at}.prompts[{F.show(pname)}]"
            F.name(pname, pat, "prompt name")
            prompts[pname] = PromptSummary.from_dict(s, pat)
        # v0.1.0 wrote no totals: they are derived data, summed from the prompts below
        totals = Totals.from_dict(d.get("totals"), f"{at}.totals") if "totals" in d else None
        if prompts and passed is None:
            raise F.Invalid(f"{at}.passed", "missing (the summary has prompts)")
        if "prompts" not in d or passed is None:
            return None
        return cls(passed, totals or Totals.of(prompts), prompts, cls.extra_of(d))


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
                m: MetricMean(_round(self.metric_sum[m] / self.metric_n[m]), self.metric_n[m])
                for m in sorted(self.metric_n)
            },
            tokens=TokenUsage(TokenTotals(self.gen_in, self.gen_out), TokenTotals(self.judge_in, self.judge_out)),
            cost_usd=CostBreakdown(
                _round(self.gen_cost, 8), _round(self.judge_cost, 8), _round(self.gen_cost + self.judge_cost, 8)
            ),
            latency_ms=Latency(_round(percentile(lat, 50), 1), _round(percentile(lat, 95), 1)),
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
