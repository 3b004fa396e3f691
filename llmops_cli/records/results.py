"""The eval results file (``schema_version: 1``, kind ``llmops-eval-results``) as typed records.

::

    EvalResults
     ├─ run: RunInfo            (.results_run) settings, judges, execution (volatile), gate
     ├─ prompts: {name: PromptInfo}     prompt hash, model, golden set, thresholds, clusters, judges
     ├─ summary: Summary        (.results_summary) per-prompt tallies, totals, verdict
     └─ samples: [SampleRecord]         one per prompt × case × sample: output, assertions, judge, cost

:func:`read_results_document` validates a parsed file — types, names without control characters, finite
scores in [0, 1], non-negative counts and costs, judge errors ≤ judge samples, unique ``(prompt, case_id,
sample)`` — and raises :class:`~.results_types.Invalid` naming the JSON path. The cross-record judge checks
(:mod:`llmops_cli.evals.consistency`) and recomputing a missing summary happen in
:func:`llmops_cli.evals.results.load_results`, which names the file (exit 2). Files written by v0.1.0 carry the
same ``schema_version`` and load as they are (a summary without ``totals`` gets them summed). The JSON Schema
``schemas/results.schema.json`` is generated from these classes (:mod:`llmops_cli.records.schemas`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from .chat import Transcript
from .results_run import BudgetInfo, CacheStats, Execution, GateInfo, Incomplete, JudgeInfo, RunInfo
from .results_summary import (
    CostBreakdown,
    Latency,
    MetricMean,
    PromptSummary,
    Summary,
    TokenTotals,
    TokenUsage,
    Totals,
)
from .results_types import (
    Amount,
    CaseId,
    ClusterName,
    Count,
    InputName,
    Invalid,
    MetricName,
    PromptName,
    ResultsRecord,
    Score,
    Status,
    gc_paused,
    omitted_when_none,
    problem_of,
    show,
)

__all__ = [
    "INPUT_DIGEST_PATTERN",
    "RESULTS_KIND",
    "RESULTS_SCHEMA_VERSION",
    "AssertionRecord",
    "BudgetInfo",
    "CacheStats",
    "CallError",
    "CostBreakdown",
    "EvalResults",
    "Execution",
    "GateInfo",
    "GoldenSetInfo",
    "Incomplete",
    "Invalid",
    "JudgeInfo",
    "JudgeStats",
    "Latency",
    "MetricMean",
    "PromptInfo",
    "PromptSummary",
    "RunInfo",
    "SampleRecord",
    "Status",
    "Summary",
    "TokenTotals",
    "TokenUsage",
    "Tokens",
    "Totals",
    "content_view",
    "read_results_document",
    "results_document_text",
]

RESULTS_KIND: Final = "llmops-eval-results"
RESULTS_SCHEMA_VERSION: Final = 1
INPUT_DIGEST_PATTERN: Final = "^(sha256|url-sha256):[0-9a-f]{64}$"
"""How a sample records an image/file/pdf input: ``sha256:`` of its bytes (``url-sha256:`` of the URL of an
https image the provider fetched); never a path."""
InputDigest = Annotated[str, Field(strict=True, pattern=INPUT_DIGEST_PATTERN)]


class Tokens(ResultsRecord):
    """Token counts of one call (or of a sample's judge calls together)."""

    prompt: Count | None = Field(default=0, description="input tokens")
    completion: Count | None = Field(default=0, description="output tokens")


class JudgeStats(ResultsRecord):
    """The judge calls of one sample, all assertions together."""

    samples: Count | None = Field(default=0, description="judge samples asked for")
    errors: Count | None = Field(default=0, description="judge samples that failed or stayed unparsable")
    replays: Count | None = Field(default=0, description="judge samples answered from the response cache")
    tokens: Tokens | None = Field(default_factory=Tokens, description="tokens of the judge calls")
    cost_usd: Amount | None = Field(default=0.0, description="cost of the judge calls, USD")

    @field_validator("errors")
    @classmethod
    def _errors_within_samples(cls, errors: int | None, info: ValidationInfo) -> int | None:
        calls = info.data.get("samples") or 0
        if (errors or 0) > calls:
            raise ValueError(f"{errors} judge errors exceed the {calls} judge samples")
        return errors


class CallError(ResultsRecord):
    """Why a generation failed after its retries."""

    kind: str | None = Field(default=None, description="timeout, rate_limit, http, …")
    message: str | None = Field(default=None, description="what the provider or the connection said")
    status: int | None = Field(default=None, description="HTTP status, when there was one")
    attempts: Count | None = Field(default=None, description="attempts made")


class AssertionRecord(ResultsRecord):
    """The result of one assertion on one output. Judge assertions also carry their K sample scores."""

    metric: MetricName = Field(description="the metric it scores (its type, or the metric it names)")
    index: Count | None = Field(default=None, description="its position among the case's assertions")
    type: str | None = Field(default=None, description="the assertion type (contains, judge, not-regex, …)")
    weight: Amount | None = Field(default=None, description="its weight in the sample score")
    threshold: Score | None = Field(default=None, description="the score it must reach to pass")
    score: Score | None = Field(default=None, description="null: could not be scored")
    passed: bool | None = Field(default=None, description="null: could not be decided (e.g. every judge sample failed)")
    reason: str | None = Field(default=None, description="why it passed or failed")
    samples: list[Score | None] | None = Field(
        default=None, exclude_if=omitted_when_none, description="judge sample scores (null: judge error)"
    )
    judge_errors: Count | None = Field(
        default=None, exclude_if=omitted_when_none, description="judge samples that failed"
    )
    reasonings: list[str | None] | None = Field(
        default=None, exclude_if=omitted_when_none, description="the judge's reasoning per sample (or its error)"
    )


class SampleRecord(ResultsRecord):
    """One generation of one case of one prompt, scored."""

    prompt: PromptName = Field(description="the evaluated prompt")
    case_id: CaseId = Field(description="the golden-set case")
    sample: Count = Field(description="which of the R generations of the case")
    cluster: ClusterName | None = Field(default=None, description="the case's cluster")
    model: str | None = Field(default=None, description="the model id called")
    request_hash: str | None = Field(default=None, description="sha256 of the request (model, messages, params)")
    output: str | None = Field(default=None, description="null when the call failed")
    replay: bool | None = Field(default=None, description="answered from the response cache")
    tokens: Tokens | None = Field(default_factory=Tokens, description="tokens of the generation")
    cost_usd: Amount | None = Field(default=None, description="null when the model has no price")
    latency_ms: Amount | None = Field(default=None, description="wall time of the call, ms")
    attempts: Count | None = Field(default=None, description="attempts made (retries + 1)")
    error: CallError | None = Field(default=None, description="why the call failed; null when it did not")
    status: Status | None = Field(
        default=None, description="pass, fail, or error (provider error or nothing could be scored)"
    )
    score: Score | None = Field(default=None, description="the weighted score of its assertions")
    assertions: list[AssertionRecord] = Field(default_factory=list, description="one per assertion of the case")
    judge: JudgeStats | None = Field(default_factory=JudgeStats, description="its judge calls, all together")
    inputs: dict[InputName, InputDigest] | None = Field(
        default=None,
        exclude_if=omitted_when_none,
        max_length=64,
        description="image/file/pdf inputs of the case: input name -> sha256:<hex of the bytes> (url-sha256:<hex of "
        "the URL> for an https image the provider fetched); never a path",
    )
    transcript: Transcript | None = Field(
        default=None,
        exclude_if=omitted_when_none,
        description="the conversation of a conversation case or a tool-using prompt (turns, tool calls, why it "
        "stopped)",
    )

    def key(self) -> tuple[str, str, int]:
        """``(prompt, case_id, sample)``: unique in a results file, and its sort order."""
        return (self.prompt, self.case_id, self.sample)


class GoldenSetInfo(ResultsRecord):
    """The golden set a prompt was evaluated on."""

    file: str | None = Field(default=None, description="its path in the repository")
    sha256: str | None = Field(default=None, description="sha256 of its content")
    cases: Count | None = Field(default=None, description="cases it holds")


def _null_is_empty(value: object, empty: type[dict[Any, Any]] | type[list[Any]]) -> object:
    return empty() if value is None else value


class PromptInfo(ResultsRecord):
    """What was evaluated for one prompt, and its thresholds."""

    prompt_sha256: str | None = Field(default=None, description="sha256 of the prompt file (templates included)")
    file: str | None = Field(default=None, description="the prompt file")
    model: str | None = Field(default=None, description="the model id called")
    model_name: str | None = Field(default=None, description="the alias the prompt names")
    offline_from: str | None = Field(default=None, description="the model an offline stand-in replaced")
    golden_set: GoldenSetInfo | None = Field(default=None, description="the golden set it ran on")
    min_pass_rate: Score | None = Field(
        default=None, exclude_if=omitted_when_none, description="the pass rate it must reach"
    )
    max_error_rate: Score | None = Field(
        default=None, exclude_if=omitted_when_none, description="the most its error rate may be"
    )
    clusters: dict[CaseId, ClusterName | None] = Field(
        default_factory=dict, description="case id -> cluster, for every case of the set"
    )
    judges: list[str] = Field(default_factory=list, description="judge prompts its assertions use")
    judged_by: dict[MetricName, list[str]] | None = Field(
        default=None, exclude_if=omitted_when_none, description="judged metric -> the judge prompts that graded it"
    )

    @field_validator("clusters", mode="before")
    @classmethod
    def _null_clusters(cls, value: object) -> object:
        return _null_is_empty(value, dict)  # null reads as no clusters, as it always has

    @field_validator("judges", mode="before")
    @classmethod
    def _null_judges(cls, value: object) -> object:
        return _null_is_empty(value, list)

    @field_validator("judged_by", mode="before")
    @classmethod
    def _null_judged_lists(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: _null_is_empty(v, list) for k, v in value.items()}
        return value


class EvalResults(ResultsRecord):
    """A whole results file."""

    KIND = RESULTS_KIND
    SCHEMA_VERSION = RESULTS_SCHEMA_VERSION

    schema_version: Literal[1] = Field(default=RESULTS_SCHEMA_VERSION, description="the format's version: 1")
    kind: Literal["llmops-eval-results"] = Field(default=RESULTS_KIND, description="llmops-eval-results")
    run: RunInfo = Field(default_factory=RunInfo, description="what was run, under which settings, and how")
    prompts: dict[PromptName, PromptInfo] = Field(default_factory=dict, description="prompt name -> what ran")
    summary: Summary = Field(
        default_factory=Summary, description="derived from the samples; recomputed on load when missing"
    )
    samples: list[SampleRecord] = Field(default_factory=list, description="sorted by (prompt, case_id, sample)")

    def samples_of(self, prompt: str) -> list[SampleRecord]:
        """The sample records of one prompt."""
        return [rec for rec in self.samples if rec.prompt == prompt]


def read_results_document(data: object) -> tuple[EvalResults, bool]:
    """Validate a parsed results file: ``(results, summary_missing)``. ``summary_missing``: the file has no
    complete summary (no ``prompts`` or no ``passed``): the caller recomputes it from the samples. A summary
    without ``totals`` gets them summed from its prompts. Raises :class:`Invalid` (``where`` is the JSON path;
    ``""`` for a document that is not a results file of this schema version)."""
    if not isinstance(data, dict) or data.get("kind") != RESULTS_KIND:
        raise Invalid("", "not an llmops eval results file")
    version = data.get("schema_version")
    if version != RESULTS_SCHEMA_VERSION or isinstance(version, bool):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > RESULTS_SCHEMA_VERSION
        raise Invalid(
            "",
            f"results schema_version {show(version)} is "
            + ("newer than this llmops reads (1): upgrade llmops" if newer else "not supported (this llmops reads 1)"),
        )
    summary = data.get("summary", {})
    summary_missing = no_totals = False
    if isinstance(summary, dict):
        prompts = summary.get("prompts")
        if isinstance(prompts, dict) and prompts and "passed" not in summary:
            raise Invalid("summary.passed", "missing (the summary has prompts)")
        summary_missing = "prompts" not in summary or "passed" not in summary
        no_totals = "totals" not in summary
    try:
        with gc_paused():
            results = EvalResults.model_validate(data)
    except ValidationError as exc:
        raise Invalid(*problem_of(EvalResults, exc)) from None
    if no_totals and not summary_missing:
        results.summary.totals = Totals.of(results.summary.prompts)
    seen: set[tuple[str, str, int]] = set()
    for i, s in enumerate(results.samples):
        key = s.key()
        if key in seen:
            raise Invalid(
                f"samples[{i}]", f"duplicate sample {s.sample} of case {show(s.case_id)} of prompt {show(s.prompt)}"
            )
        seen.add(key)
    return results, summary_missing


_VOLATILE: dict[str, Any] = {
    "run": {"execution"},
    "summary": {"prompts": {"__all__": {"latency_ms", "replays"}}},
    "samples": {"__all__": {"latency_ms": True, "replay": True, "attempts": True, "judge": {"replays"}}},
}
"""Fields that legitimately differ between two runs of the same content (timings, replay flags, run id,
shard): left out of :func:`content_view`."""


def content_view(results: EvalResults) -> dict[str, Any]:
    """The JSON form of ``results`` without the fields that differ between runs of identical content: two
    such views of an unsharded run and of its merged shards are equal."""
    return results.model_dump(exclude=_VOLATILE)


def results_document_text(
    run: Mapping[str, Any],
    prompts: Mapping[str, Any],
    summary: Mapping[str, Any],
    samples: Iterable[Mapping[str, Any]],
    extra: Mapping[str, Any] | None,
    dump: Callable[[object], str],
) -> Iterator[str]:
    """The text of a results file, in pieces, from the JSON forms (``to_dict()``) of its parts: one sample
    per line, streamed (the runner passes its journal's records, already :meth:`SampleRecord.to_dict`
    output). ``dump`` writes one JSON value (the caller's redaction applied); ``extra``: top-level keys this
    version does not know, kept from the file that was read."""
    yield "{\n"
    yield f'"schema_version": {RESULTS_SCHEMA_VERSION},\n"kind": {dump(RESULTS_KIND)},\n'
    for key, value in sorted((extra or {}).items()):
        yield f"{dump(key)}: {dump(value)},\n"
    yield f'"run": {dump(run)},\n"prompts": {dump(prompts)},\n"summary": {dump(summary)},\n'
    yield '"samples": ['
    first = True
    for rec in samples:
        yield ("\n" if first else ",\n") + dump(rec)
        first = False
    yield "\n]\n}\n"
