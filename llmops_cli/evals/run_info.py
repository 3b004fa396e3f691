"""The ``run`` part of a results file: what was run, under which settings and judges, and how (execution).

Typed like the rest of the results model (:mod:`llmops_cli.evals.model`, which re-exports these classes);
``from_dict`` validates and names the JSON path of a bad value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import fields as F
from .fields import EXTRA, JsonModel, meta

_NONNEG = {"minimum": 0}


@dataclass
class JudgeInfo(JsonModel):
    """A judge the run used: both sides of a gate must be judged by equal ones."""

    prompt: str | None = field(default=None, metadata=meta())
    prompt_sha256: str | None = field(default=None, metadata=meta())
    model: str | None = field(default=None, metadata=meta())
    samples: int | None = field(default=None, metadata=meta(schema=_NONNEG, doc="K: judge samples per output"))
    config_sha256: str | None = field(
        default=None,
        metadata=meta(
            omit_none=True,
            doc="sha256 of the judge's configuration: prompt hash (templates, partials), the model it names and "
            "that alias's definition (model id, api_base, key variable, params, budgets)",
        ),
    )
    new: bool | None = field(
        default=None,
        metadata=meta(
            omit_none=True,
            doc="set by eval gate: a judge the base does not have, run as the change wrote it (informational)",
        ),
    )
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    def same_judge(self, other: JudgeInfo) -> bool:
        """Whether two runs used this judge the same way (the ``new`` mark aside; a file written before
        ``config_sha256`` existed is compared on the rest)."""
        mine = (self.prompt, self.prompt_sha256, self.model, self.samples, self.extra)
        if mine != (other.prompt, other.prompt_sha256, other.model, other.samples, other.extra):
            return False
        return None in (self.config_sha256, other.config_sha256) or self.config_sha256 == other.config_sha256

    @classmethod
    def from_dict(cls, data: Any, at: str) -> JudgeInfo:
        d = F.obj(data, at)
        assert d is not None
        return cls(
            F.text(d.get("prompt"), f"{at}.prompt"),
            F.text(d.get("prompt_sha256"), f"{at}.prompt_sha256"),
            F.text(d.get("model"), f"{at}.model"),
            F.count(d.get("samples"), f"{at}.samples"),
            F.text(d.get("config_sha256"), f"{at}.config_sha256"),
            F.flag(d.get("new"), f"{at}.new"),
            cls.extra_of(d),
        )


@dataclass
class GateInfo(JsonModel):
    """Set by ``eval gate`` on the results it produced: which side, judged under which configuration."""

    arm: str | None = field(default=None, metadata=meta(doc="base or head"))
    judged_with_config: str | None = field(
        default=None, metadata=meta(doc="config_hash of the head llmops.yaml of the gate run that produced it")
    )
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> GateInfo | None:
        d = F.obj(data, at, optional=True)
        if d is None:
            return None
        return cls(F.text(d.get("arm"), f"{at}.arm"), F.text(d.get("judged_with_config"), f"{at}.judged_with_config"),
                   cls.extra_of(d))  # fmt: skip


@dataclass
class CacheStats(JsonModel):
    hits: int | None = field(default=None, metadata=meta(omit_none=True, schema=_NONNEG))
    misses: int | None = field(default=None, metadata=meta(omit_none=True, schema=_NONNEG))
    dir: str | None = field(default=None, metadata=meta(omit_none=True))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> CacheStats | None:
        d = F.obj(data, at, optional=True)
        if d is None:
            return None
        hits, misses = (F.count(d.get(k), f"{at}.{k}") for k in ("hits", "misses"))
        return cls(hits, misses, F.text(d.get("dir"), f"{at}.dir"), cls.extra_of(d))


@dataclass
class BudgetInfo(JsonModel):
    """The spending cap of the command that produced the file (``--max-cost`` / ``budget.max_cost_usd``)."""

    max_cost_usd: float | None = field(default=None, metadata=meta(schema=_NONNEG))
    spent_usd: float | None = field(
        default=None,
        metadata=meta(schema=_NONNEG, doc="reported costs, plus the worst case of attempts that got no HTTP answer"),
    )
    requests: int | None = field(default=None, metadata=meta(schema=_NONNEG, doc="requests started under the cap"))
    refused: int | None = field(default=None, metadata=meta(schema=_NONNEG, doc="requests not started (cap reached)"))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> BudgetInfo | None:
        d = F.obj(data, at, optional=True)
        if d is None:
            return None
        requests, refused = (F.count(d.get(k), f"{at}.{k}") for k in ("requests", "refused"))
        return cls(
            F.amount(d.get("max_cost_usd"), f"{at}.max_cost_usd"),
            F.amount(d.get("spent_usd"), f"{at}.spent_usd"),
            requests,
            refused,
            cls.extra_of(d),
        )


@dataclass
class Incomplete(JsonModel):
    """Set when the run stopped before every planned sample was done: the summary covers only the samples
    in the file, and ``llmops eval run --resume <execution.id>`` finishes the run."""

    reason: str = field(default="budget", metadata=meta(required=True, doc="why it stopped: budget"))
    samples_missing: int | None = field(default=None, metadata=meta(schema=_NONNEG))
    samples_planned: int | None = field(default=None, metadata=meta(schema=_NONNEG))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> Incomplete | None:
        d = F.obj(data, at, optional=True)
        if d is None:
            return None
        reason = F.name(d.get("reason"), f"{at}.reason", "reason")
        missing, planned = (F.count(d.get(k), f"{at}.{k}") for k in ("samples_missing", "samples_planned"))
        if missing is not None and planned is not None and missing > planned:
            raise F.Invalid(f"{at}.samples_missing", f"{missing} missing samples exceed the {planned} planned")
        return cls(reason, missing, planned, cls.extra_of(d))


@dataclass
class Execution(JsonModel):
    """How this file was produced (differs between runs of identical content)."""

    id: str | None = field(
        default=None, metadata=meta(omit_none=True, doc="run id (its journal is .llmops/runs/<id>/)")
    )
    started_at: str | None = field(default=None, metadata=meta(omit_none=True))
    finished_at: str | None = field(default=None, metadata=meta(omit_none=True))
    duration_s: float | None = field(default=None, metadata=meta(omit_none=True, schema=_NONNEG))
    resumed: bool | None = field(default=None, metadata=meta(omit_none=True))
    shard: str | None = field(default=None, metadata=meta(doc="I/N, or null when not sharded"))
    shards: list[str] | None = field(
        default=None, metadata=meta(omit_none=True, doc="a merged file: the shards it joined")
    )
    merged_from: int | None = field(default=None, metadata=meta(omit_none=True, schema=_NONNEG))
    concurrency: int | None = field(default=None, metadata=meta(omit_none=True, schema=_NONNEG))
    cache: CacheStats | None = field(default=None, metadata=meta(omit_none=True))
    calls: dict[str, Any] | None = field(default=None, metadata=meta(omit_none=True, doc="provider call statistics"))
    journal: str | None = field(default=None, metadata=meta(omit_none=True))
    budget: BudgetInfo | None = field(default=None, metadata=meta(omit_none=True))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> Execution | None:
        d = F.obj(data, at, optional=True)
        if d is None:
            return None
        texts = {k: F.text(d.get(k), f"{at}.{k}") for k in ("id", "started_at", "finished_at", "journal")}
        shard = F.text(d.get("shard"), f"{at}.shard", what="a string I/N or null")
        if shard is not None:
            i, _, n = shard.partition("/")
            if not (i.isdigit() and n.isdigit() and len(n) <= 6 and 1 <= int(i) <= int(n)):
                raise F.Invalid(f"{at}.shard", f"{F.show(shard)} is not a shard I/N")
        shards = F.strings(d.get("shards"), f"{at}.shards") if d.get("shards") is not None else None
        calls = F.obj(d.get("calls"), f"{at}.calls", optional=True)
        cache = CacheStats.from_dict(d.get("cache"), f"{at}.cache")
        return cls(
            **texts,
            duration_s=F.amount(d.get("duration_s"), f"{at}.duration_s"),
            resumed=F.flag(d.get("resumed"), f"{at}.resumed"),
            shard=shard,
            shards=shards,
            merged_from=F.count(d.get("merged_from"), f"{at}.merged_from"),
            concurrency=F.count(d.get("concurrency"), f"{at}.concurrency"),
            cache=cache,
            calls=calls,
            budget=BudgetInfo.from_dict(d.get("budget"), f"{at}.budget"),
            extra=cls.extra_of(d),
        )


@dataclass
class RunInfo(JsonModel):
    """What was run, under which settings: two runs of the same content have equal ``RunInfo`` but for
    ``execution``."""

    llmops_version: str | None = field(default=None, metadata=meta())
    git_sha: str | None = field(default=None, metadata=meta(doc="the commit evaluated"))
    source: str | None = field(default=None, metadata=meta(doc="working tree, or the git ref read"))
    config_hash: str | None = field(default=None, metadata=meta(doc="sha256 of llmops.yaml as loaded"))
    repeat: int | None = field(default=None, metadata=meta(schema=_NONNEG, doc="R: generations per case"))
    judge_samples: int | None = field(default=None, metadata=meta(schema=_NONNEG, doc="K: judge samples per output"))
    judges: dict[str, JudgeInfo] = field(default_factory=dict, metadata=meta())
    judge_config_hash: str | None = field(
        default=None,
        metadata=meta(omit_none=True, doc="sha256 of K and every judge's config_sha256: how this run was judged"),
    )
    selection: dict[str, Any] | None = field(
        default=None, metadata=meta(doc="which prompts were asked for (names, changed_since, merge_base)")
    )
    model_override: str | None = field(default=None, metadata=meta())
    judge_model_override: str | None = field(default=None, metadata=meta())
    gate: GateInfo | None = field(default=None, metadata=meta(omit_none=True))
    incomplete: Incomplete | None = field(
        default=None, metadata=meta(omit_none=True, doc="set when the run stopped early (e.g. its budget)")
    )
    execution: Execution | None = field(default=None, metadata=meta(omit_none=True))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str = "run") -> RunInfo:
        d = F.obj(data, at)
        assert d is not None
        counts = {k: F.count(d.get(k), f"{at}.{k}") for k in ("repeat", "judge_samples")}
        keys = ("llmops_version", "git_sha", "source", "config_hash", "model_override", "judge_model_override")
        t = {k: F.text(d.get(k), f"{at}.{k}") for k in keys}
        judges = {}
        for jname, j in F.obj_or_empty(d.get("judges"), f"{at}.judges").items():
            judges[jname] = JudgeInfo.from_dict(j, f"{at}.judges[{F.show(jname)}]")
        gate = GateInfo.from_dict(d.get("gate"), f"{at}.gate")
        execution = Execution.from_dict(d.get("execution"), f"{at}.execution")
        selection = F.obj(d.get("selection"), f"{at}.selection", optional=True)
        return cls(
            llmops_version=t["llmops_version"],
            git_sha=t["git_sha"],
            source=t["source"],
            config_hash=t["config_hash"],
            repeat=counts["repeat"],
            judge_samples=counts["judge_samples"],
            judges=judges,
            judge_config_hash=F.text(d.get("judge_config_hash"), f"{at}.judge_config_hash"),
            selection=selection,
            model_override=t["model_override"],
            judge_model_override=t["judge_model_override"],
            gate=gate,
            incomplete=Incomplete.from_dict(d.get("incomplete"), f"{at}.incomplete"),
            execution=execution,
            extra=cls.extra_of(d),
        )
