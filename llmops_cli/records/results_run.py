"""The ``run`` part of a results file: what was run, under which settings and judges, and how (execution)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from .results_types import Amount, Count, ReasonName, ResultsRecord, omitted_when_none

__all__ = ["BudgetInfo", "CacheStats", "Execution", "GateInfo", "Incomplete", "JudgeInfo", "RunInfo"]


class JudgeInfo(ResultsRecord):
    """A judge the run used: both sides of a gate must be judged by equal ones."""

    prompt: str | None = Field(default=None, description="the judge prompt's name")
    prompt_sha256: str | None = Field(default=None, description="sha256 of the judge prompt file")
    model: str | None = Field(default=None, description="the model id the judge called")
    samples: Count | None = Field(default=None, description="K: judge samples per output")
    config_sha256: str | None = Field(
        default=None,
        exclude_if=omitted_when_none,
        description="sha256 of the judge's configuration: prompt hash (templates, partials), the model it names "
        "and that alias's definition (model id, api_base, key variable, params, budgets)",
    )
    new: bool | None = Field(
        default=None,
        exclude_if=omitted_when_none,
        description="set by eval gate: a judge the base does not have, run as the change wrote it (informational)",
    )

    def same_judge(self, other: JudgeInfo) -> bool:
        """Whether two runs used this judge the same way (the ``new`` mark aside; a file written before
        ``config_sha256`` existed is compared on the rest)."""
        mine = (self.prompt, self.prompt_sha256, self.model, self.samples, self.extra)
        if mine != (other.prompt, other.prompt_sha256, other.model, other.samples, other.extra):
            return False
        return None in (self.config_sha256, other.config_sha256) or self.config_sha256 == other.config_sha256


class GateInfo(ResultsRecord):
    """Set by ``eval gate`` on the results it produced: which side, judged under which configuration."""

    arm: str | None = Field(default=None, description="base or head")
    judged_with_config: str | None = Field(
        default=None, description="config_hash of the head llmops.yaml of the gate run that produced it"
    )


class CacheStats(ResultsRecord):
    """The response cache's counts during the run."""

    hits: Count | None = Field(default=None, exclude_if=omitted_when_none, description="calls the cache answered")
    misses: Count | None = Field(default=None, exclude_if=omitted_when_none, description="calls sent to a provider")
    dir: str | None = Field(default=None, exclude_if=omitted_when_none, description="the cache folder")


class BudgetInfo(ResultsRecord):
    """The spending cap of the command that produced the file (``--max-cost`` / ``budget.max_cost_usd``)."""

    max_cost_usd: Amount | None = Field(default=None, description="the cap, USD")
    spent_usd: Amount | None = Field(
        default=None, description="reported costs, plus the worst case of attempts that got no HTTP answer"
    )
    requests: Count | None = Field(default=None, description="requests started under the cap")
    refused: Count | None = Field(default=None, description="requests not started (cap reached)")


class Incomplete(ResultsRecord):
    """Set when the run stopped before every planned sample was done: the summary covers only the samples
    in the file, and ``llmops eval run --resume <execution.id>`` finishes the run."""

    reason: ReasonName = Field(description="why it stopped: budget")
    samples_planned: Count | None = Field(default=None, description="samples the run planned")
    samples_missing: Count | None = Field(default=None, description="planned samples not in the file")

    @field_validator("samples_missing")
    @classmethod
    def _at_most_planned(cls, missing: int | None, info: ValidationInfo) -> int | None:
        planned = info.data.get("samples_planned")
        if missing is not None and planned is not None and missing > planned:
            raise ValueError(f"{missing} missing samples exceed the {planned} planned")
        return missing


def _shard_problem(shard: str) -> str | None:
    i, _, n = shard.partition("/")
    if not (i.isdigit() and n.isdigit() and len(n) <= 6 and 1 <= int(i) <= int(n)):
        return "is not a shard I/N"
    return None


class Execution(ResultsRecord):
    """How this file was produced (differs between runs of identical content)."""

    id: str | None = Field(
        default=None, exclude_if=omitted_when_none, description="run id (its journal is .llmops/runs/<id>/)"
    )
    started_at: str | None = Field(default=None, exclude_if=omitted_when_none, description="UTC start, ISO 8601")
    finished_at: str | None = Field(default=None, exclude_if=omitted_when_none, description="UTC end, ISO 8601")
    duration_s: Amount | None = Field(default=None, exclude_if=omitted_when_none, description="wall seconds")
    resumed: bool | None = Field(default=None, exclude_if=omitted_when_none, description="continued with --resume")
    shard: str | None = Field(default=None, description="I/N, or null when not sharded")
    shards: list[str] | None = Field(
        default=None, exclude_if=omitted_when_none, description="a merged file: the shards it joined"
    )
    merged_from: Count | None = Field(
        default=None, exclude_if=omitted_when_none, description="a merged file: how many files it joined"
    )
    concurrency: Count | None = Field(default=None, exclude_if=omitted_when_none, description="calls in flight at most")
    cache: CacheStats | None = Field(default=None, exclude_if=omitted_when_none, description="response cache counts")
    calls: dict[str, Any] | None = Field(
        default=None, exclude_if=omitted_when_none, description="provider call statistics"
    )
    journal: str | None = Field(default=None, exclude_if=omitted_when_none, description="the run's journal folder")
    budget: BudgetInfo | None = Field(default=None, exclude_if=omitted_when_none, description="its spending cap")

    @field_validator("shard")
    @classmethod
    def _shard(cls, shard: str | None) -> str | None:
        problem = None if shard is None else _shard_problem(shard)
        if problem:
            raise ValueError(f"{shard[:40]!r} {problem}" if shard else problem)
        return shard


class RunInfo(ResultsRecord):
    """What was run, under which settings: two runs of the same content have equal ``RunInfo`` but for
    ``execution``."""

    llmops_version: str | None = Field(default=None, description="the llmops that wrote the file")
    git_sha: str | None = Field(default=None, description="the commit evaluated")
    source: str | None = Field(default=None, description="working tree, or the git ref read")
    config_hash: str | None = Field(default=None, description="sha256 of llmops.yaml as loaded")
    repeat: Count | None = Field(default=None, description="R: generations per case")
    judge_samples: Count | None = Field(default=None, description="K: judge samples per output")
    judges: dict[str, JudgeInfo] = Field(default_factory=dict, description="judge prompt name -> how it judged")
    judge_config_hash: str | None = Field(
        default=None,
        exclude_if=omitted_when_none,
        description="sha256 of K and every judge's config_sha256: how this run was judged",
    )
    selection: dict[str, Any] | None = Field(
        default=None, description="which prompts were asked for (names, changed_since, merge_base)"
    )
    model_override: str | None = Field(default=None, description="--model: the model every prompt called")
    judge_model_override: str | None = Field(default=None, description="--judge-model: the model every judge called")
    gate: GateInfo | None = Field(default=None, exclude_if=omitted_when_none, description="set by eval gate")
    incomplete: Incomplete | None = Field(
        default=None, exclude_if=omitted_when_none, description="set when the run stopped early (e.g. its budget)"
    )
    execution: Execution | None = Field(
        default=None, exclude_if=omitted_when_none, description="how the file was produced (volatile)"
    )

    @field_validator("judges", mode="before")
    @classmethod
    def _null_judges(cls, value: object) -> object:
        return {} if value is None else value  # null reads as no judges, as it always has
