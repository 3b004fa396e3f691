"""The typed results model: what an eval results file (``schema_version: 1``) holds.

::

    EvalResults
     ├─ run: RunInfo            (llmops_cli.evals.run_info) settings, judges, execution (volatile), gate
     ├─ prompts: {name: PromptInfo}     prompt hash, model, golden set, thresholds, clusters, judges
     ├─ summary: Summary        (llmops_cli.evals.summary) per-prompt tallies, totals, verdict
     └─ samples: [SampleRecord]         one per prompt × case × sample: output, assertions, judge, cost

``from_dict`` validates as it builds — types, names without control characters, finite scores in [0, 1],
non-negative counts and costs, judge errors ≤ judge samples, unique ``(prompt, case_id, sample)``, judge
counts that agree with the judge sample scores (:mod:`llmops_cli.evals.consistency`) — and raises
:class:`~llmops_cli.evals.fields.Invalid` naming the JSON path; ``to_dict`` gives the JSON form back (keys
this version does not know are kept in ``extra``). ``llmops_cli.evals.schema`` generates the published JSON
Schema (``schemas/results.schema.json``) from these classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from . import RESULTS_SCHEMA_VERSION
from . import fields as F
from .consistency import check_samples
from .fields import EXTRA, JsonModel, meta
from .run_info import BudgetInfo, CacheStats, Execution, GateInfo, Incomplete, JudgeInfo, RunInfo
from .summary import Summary, summarize

__all__ = [
    "RESULTS_KIND",
    "AssertionRecord",
    "BudgetInfo",
    "CacheStats",
    "CallError",
    "EvalResults",
    "Execution",
    "GateInfo",
    "GoldenSetInfo",
    "Incomplete",
    "JudgeInfo",
    "JudgeStats",
    "PromptInfo",
    "RunInfo",
    "SampleRecord",
    "Status",
    "Tokens",
]

RESULTS_KIND = "llmops-eval-results"
_NONNEG = {"minimum": 0}
_RATE = {"minimum": 0, "maximum": 1}
Status = Literal["pass", "fail", "error"]


@dataclass
class Tokens(JsonModel):
    """Token counts of one call (or of a sample's judge calls together)."""

    prompt: int | None = field(default=0, metadata=meta(schema=_NONNEG))
    completion: int | None = field(default=0, metadata=meta(schema=_NONNEG))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> Tokens | None:
        d = F.obj(data, at, optional=True)
        if d is None:
            return None
        for k, v in d.items():
            F.count(v, f"{at}.{k}")
        return cls(d.get("prompt"), d.get("completion"), cls.extra_of(d))


@dataclass
class JudgeStats(JsonModel):
    """The judge calls of one sample, all assertions together."""

    samples: int | None = field(default=0, metadata=meta(schema=_NONNEG, doc="judge samples asked for"))
    errors: int | None = field(
        default=0, metadata=meta(schema=_NONNEG, doc="judge samples that failed or stayed unparsable")
    )
    replays: int | None = field(default=0, metadata=meta(schema=_NONNEG))
    tokens: Tokens | None = field(default_factory=Tokens, metadata=meta())
    cost_usd: float | None = field(default=0.0, metadata=meta(schema=_NONNEG))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> JudgeStats | None:
        d = F.obj(data, at, optional=True)
        if d is None:
            return None
        tokens = Tokens.from_dict(d.get("tokens"), f"{at}.tokens")
        calls = F.count(d.get("samples"), f"{at}.samples")
        errors = F.count(d.get("errors"), f"{at}.errors")
        replays = F.count(d.get("replays"), f"{at}.replays")
        if (errors or 0) > (calls or 0):
            raise F.Invalid(f"{at}.errors", f"{errors} judge errors exceed the {calls or 0} judge samples")
        cost = F.amount(d.get("cost_usd"), f"{at}.cost_usd")
        return cls(calls, errors, replays, tokens, cost, cls.extra_of(d))


@dataclass
class CallError(JsonModel):
    """Why a generation failed after its retries."""

    kind: str | None = field(default=None, metadata=meta(doc="timeout, rate_limit, http, …"))
    message: str | None = field(default=None, metadata=meta())
    status: int | None = field(default=None, metadata=meta(doc="HTTP status, when there was one"))
    attempts: int | None = field(default=None, metadata=meta(schema=_NONNEG))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> CallError | None:
        d = F.obj(data, at, optional=True, what="an object or null")
        if d is None:
            return None
        status = d.get("status")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
            raise F.Invalid(f"{at}.status", f"{F.show(status)} is not an integer or null")
        return cls(
            kind=F.text(d.get("kind"), f"{at}.kind"),
            message=F.text(d.get("message"), f"{at}.message"),
            status=status,
            attempts=F.count(d.get("attempts"), f"{at}.attempts"),
            extra=cls.extra_of(d),
        )


@dataclass
class AssertionRecord(JsonModel):
    """The result of one assertion on one output. Judge assertions also carry their K sample scores."""

    metric: str = field(default="", metadata=meta(required=True))
    index: int | None = field(default=None, metadata=meta(schema=_NONNEG))
    type: str | None = field(default=None, metadata=meta())
    weight: float | None = field(default=None, metadata=meta(schema=_NONNEG))
    threshold: float | None = field(default=None, metadata=meta(schema=_RATE))
    score: float | None = field(default=None, metadata=meta(schema=_RATE))
    passed: bool | None = field(
        default=None, metadata=meta(doc="null: could not be decided (e.g. every judge sample failed)")
    )
    reason: str | None = field(default=None, metadata=meta())
    samples: list[float | None] | None = field(
        default=None, metadata=meta(omit_none=True, doc="judge sample scores (null: judge error)")
    )
    judge_errors: int | None = field(default=None, metadata=meta(omit_none=True, schema=_NONNEG))
    reasonings: list[str | None] | None = field(default=None, metadata=meta(omit_none=True))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> AssertionRecord:
        d = F.obj(data, at)
        assert d is not None
        metric = F.name(d.get("metric"), f"{at}.metric", "metric")
        atype = F.text(d.get("type"), f"{at}.type", what="a string")
        passed = F.flag(d.get("passed"), f"{at}.passed")
        score = F.score(d.get("score"), f"{at}.score")
        reason = F.text(d.get("reason"), f"{at}.reason")
        weight = F.amount(d.get("weight"), f"{at}.weight")
        threshold = F.score(d.get("threshold"), f"{at}.threshold")
        judge_errors = F.count(d.get("judge_errors"), f"{at}.judge_errors")
        reasonings = None
        if "reasonings" in d:
            reasonings = F.array(d["reasonings"], f"{at}.reasonings") or []
            for k, v in enumerate(reasonings):
                F.text(v, f"{at}.reasonings[{k}]")
        samples = None
        if "samples" in d:
            samples = F.array(d["samples"], f"{at}.samples") or []
            for k, v in enumerate(samples):
                F.score(v, f"{at}.samples[{k}]")
        index = F.count(d.get("index"), f"{at}.index")
        return cls(
            metric, index, atype, weight, threshold, score, passed, reason, samples, judge_errors, reasonings,
            cls.extra_of(d),
        )  # fmt: skip


INPUT_DIGEST_PATTERN = "^(sha256|url-sha256):[0-9a-f]{64}$"
_INPUT_DIGEST = re.compile(INPUT_DIGEST_PATTERN)


@dataclass
class SampleRecord(JsonModel):
    """One generation of one case of one prompt, scored."""

    prompt: str = field(default="", metadata=meta(required=True))
    case_id: str = field(default="", metadata=meta(required=True))
    sample: int = field(
        default=0, metadata=meta(required=True, schema=_NONNEG, doc="which of the R generations of the case")
    )
    cluster: str | None = field(default=None, metadata=meta())
    model: str | None = field(default=None, metadata=meta())
    request_hash: str | None = field(default=None, metadata=meta(doc="sha256 of the request (model, messages, params)"))
    output: str | None = field(default=None, metadata=meta(doc="null when the call failed"))
    replay: bool | None = field(default=None, metadata=meta(doc="answered from the response cache"))
    tokens: Tokens | None = field(default_factory=Tokens, metadata=meta())
    cost_usd: float | None = field(default=None, metadata=meta(schema=_NONNEG, doc="null when the model has no price"))
    latency_ms: float | None = field(default=None, metadata=meta(schema=_NONNEG))
    attempts: int | None = field(default=None, metadata=meta(schema=_NONNEG))
    error: CallError | None = field(default=None, metadata=meta())
    status: Status | None = field(
        default=None, metadata=meta(doc="pass, fail, or error (provider error or nothing could be scored)")
    )
    score: float | None = field(default=None, metadata=meta(schema=_RATE))
    assertions: list[AssertionRecord] = field(default_factory=list, metadata=meta())
    judge: JudgeStats | None = field(default_factory=JudgeStats, metadata=meta())
    inputs: dict[str, str] | None = field(
        default=None,
        metadata=meta(
            omit_none=True,
            schema={
                "type": "object",
                "maxProperties": 64,
                "additionalProperties": {"type": "string", "pattern": INPUT_DIGEST_PATTERN},
            },
            doc="image/file/pdf inputs of the case: input name -> sha256:<hex of the bytes> (url-sha256:<hex of "
            "the URL> for an https image the provider fetched); never a path",
        ),
    )
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    def key(self) -> tuple[str, str, int]:
        """``(prompt, case_id, sample)``: unique in a results file, and its sort order."""
        return (self.prompt, self.case_id, self.sample)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> SampleRecord:
        d = F.obj(data, at)
        assert d is not None
        prompt = F.name(d.get("prompt"), f"{at}.prompt", "prompt name")
        case_id = F.name(d.get("case_id"), f"{at}.case_id", "case id")
        sample = F.required_count(d.get("sample"), f"{at}.sample")
        cluster = None if d.get("cluster") is None else F.name(d["cluster"], f"{at}.cluster", "cluster")
        output = F.text(d.get("output"), f"{at}.output")
        request_hash = F.text(d.get("request_hash"), f"{at}.request_hash")
        error = CallError.from_dict(d.get("error"), f"{at}.error")
        status = d.get("status")
        if status not in (None, "pass", "fail", "error"):
            raise F.Invalid(f"{at}.status", f"{F.show(status)} is not pass, fail or error")
        cost = F.amount(d.get("cost_usd"), f"{at}.cost_usd")
        latency = F.amount(d.get("latency_ms"), f"{at}.latency_ms")
        score = F.score(d.get("score"), f"{at}.score")
        tokens = Tokens.from_dict(d.get("tokens"), f"{at}.tokens")
        replay = F.flag(d.get("replay"), f"{at}.replay")
        attempts = F.count(d.get("attempts"), f"{at}.attempts")
        judge = JudgeStats.from_dict(d.get("judge"), f"{at}.judge")
        asserts_in = F.array(d.get("assertions", []), f"{at}.assertions") or []
        assertions = [AssertionRecord.from_dict(a, f"{at}.assertions[{j}]") for j, a in enumerate(asserts_in)]
        model = F.text(d.get("model"), f"{at}.model")
        inputs = _input_digests(d.get("inputs"), f"{at}.inputs")
        return cls(
            prompt, case_id, sample, cluster, model, request_hash, output, replay, tokens, cost, latency, attempts,
            error, status, score, assertions, judge, inputs, cls.extra_of(d),
        )  # fmt: skip


def _input_digests(value: Any, at: str) -> dict[str, str] | None:
    """A sample's ``inputs`` digests: a mapping of input names to ``sha256:``/``url-sha256:`` digests."""
    d = F.obj(value, at, optional=True)
    if d is None:
        return None
    if len(d) > 64:
        raise F.Invalid(at, "more than 64 inputs")
    for name, digest in d.items():
        F.name(name, f"{at}.{str(name)[:60]}", "input name")
        if not isinstance(digest, str) or not _INPUT_DIGEST.match(digest):
            raise F.Invalid(f"{at}.{name}", f"{F.show(digest)} is not sha256:<64 hex> or url-sha256:<64 hex>")
    return dict(d)


@dataclass
class GoldenSetInfo(JsonModel):
    file: str | None = field(default=None, metadata=meta())
    sha256: str | None = field(default=None, metadata=meta())
    cases: int | None = field(default=None, metadata=meta(schema=_NONNEG))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> GoldenSetInfo | None:
        d = F.obj(data, at, optional=True)
        if d is None:
            return None
        return cls(
            F.text(d.get("file"), f"{at}.file"),
            F.text(d.get("sha256"), f"{at}.sha256"),
            F.count(d.get("cases"), f"{at}.cases"),
            cls.extra_of(d),
        )


@dataclass
class PromptInfo(JsonModel):
    """What was evaluated for one prompt, and its thresholds."""

    prompt_sha256: str | None = field(default=None, metadata=meta())
    file: str | None = field(default=None, metadata=meta())
    model: str | None = field(default=None, metadata=meta(doc="the model id called"))
    model_name: str | None = field(default=None, metadata=meta(doc="the alias the prompt names"))
    offline_from: str | None = field(default=None, metadata=meta(doc="the model an offline stand-in replaced"))
    golden_set: GoldenSetInfo | None = field(default=None, metadata=meta())
    min_pass_rate: float | None = field(default=None, metadata=meta(omit_none=True, schema=_RATE))
    max_error_rate: float | None = field(default=None, metadata=meta(omit_none=True, schema=_RATE))
    clusters: dict[str, str | None] = field(
        default_factory=dict, metadata=meta(doc="case id -> cluster, for every case of the set")
    )
    judges: list[str] = field(default_factory=list, metadata=meta(doc="judge prompts its assertions use"))
    judged_by: dict[str, list[str]] | None = field(
        default=None, metadata=meta(omit_none=True, doc="judged metric -> the judge prompts that graded it")
    )
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any, at: str) -> PromptInfo:
        d = F.obj(data, at)
        assert d is not None
        limits = {k: F.rate(d[k], f"{at}.{k}") if k in d else None for k in ("min_pass_rate", "max_error_rate")}
        texts = {k: F.text(d.get(k), f"{at}.{k}") for k in ("prompt_sha256", "model")}
        extra_texts = {k: F.text(d.get(k), f"{at}.{k}") for k in ("file", "model_name", "offline_from")}
        judges = F.strings(d.get("judges"), f"{at}.judges")
        golden = GoldenSetInfo.from_dict(d.get("golden_set"), f"{at}.golden_set")
        judged_by: dict[str, list[str]] | None = None
        if d.get("judged_by") is not None:
            judged_by = {}
            for metric, names in F.obj_or_empty(d["judged_by"], f"{at}.judged_by").items():
                where = f"{at}.judged_by[{F.show(metric)}]"
                judged_by[F.name(metric, where, "metric")] = F.strings(names, where)
        clusters: dict[str, str | None] = {}
        for cid, cl in F.obj_or_empty(d.get("clusters"), f"{at}.clusters").items():
            cat = f"{at}.clusters[{F.show(cid)}]"
            clusters[F.name(cid, cat, "case id")] = None if cl is None else F.name(cl, cat, "cluster")
        return cls(
            prompt_sha256=texts["prompt_sha256"],
            file=extra_texts["file"],
            model=texts["model"],
            model_name=extra_texts["model_name"],
            offline_from=extra_texts["offline_from"],
            golden_set=golden,
            min_pass_rate=limits["min_pass_rate"],
            max_error_rate=limits["max_error_rate"],
            clusters=clusters,
            judges=judges,
            judged_by=judged_by,
            extra=cls.extra_of(d),
        )


@dataclass
class EvalResults(JsonModel):
    """A whole results file."""

    run: RunInfo = field(default_factory=RunInfo, metadata=meta())
    prompts: dict[str, PromptInfo] = field(default_factory=dict, metadata=meta())
    summary: Summary = field(
        default_factory=Summary, metadata=meta(doc="derived from the samples; recomputed on load when missing")
    )
    samples: list[SampleRecord] = field(default_factory=list, metadata=meta(doc="sorted by (prompt, case_id, sample)"))
    schema_version: int = field(
        default=RESULTS_SCHEMA_VERSION, metadata=meta(required=True, schema={"const": RESULTS_SCHEMA_VERSION})
    )
    kind: str = field(default=RESULTS_KIND, metadata=meta(required=True, schema={"const": RESULTS_KIND}))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)

    @classmethod
    def from_dict(cls, data: Any) -> EvalResults:
        """Validate and build. Raises :class:`~llmops_cli.evals.fields.Invalid` (``where`` is the JSON
        path; ``where == ""`` for a document that is not a results file of this schema version)."""
        if not isinstance(data, dict) or data.get("kind") != RESULTS_KIND:
            raise F.Invalid("", "not an llmops eval results file")
        version = data.get("schema_version")
        if version != RESULTS_SCHEMA_VERSION or isinstance(version, bool):
            raise F.Invalid(
                "", f"results schema_version {version!r} is not supported (this llmops reads {RESULTS_SCHEMA_VERSION})"
            )
        run = RunInfo.from_dict(data.get("run", {}))
        prompts = {}
        prompts_in = F.obj(data.get("prompts", {}), "prompts")
        assert prompts_in is not None
        for pname, info in prompts_in.items():
            where = f"prompts[{F.show(pname)}]"
            F.name(pname, where, "prompt name")
            prompts[pname] = PromptInfo.from_dict(info, where)
        summary = Summary.from_dict(data.get("summary", {}))
        samples: list[SampleRecord] = []
        seen: set[tuple[str, str, int]] = set()
        for i, rec in enumerate(F.array(data.get("samples", []), "samples") or []):
            s = SampleRecord.from_dict(rec, f"samples[{i}]")
            if s.key() in seen:
                raise F.Invalid(
                    f"samples[{i}]",
                    f"duplicate sample {s.sample} of case {F.show(s.case_id)} of prompt {F.show(s.prompt)}",
                )
            seen.add(s.key())
            samples.append(s)
        check_samples(samples, run.repeat, run.judge_samples)
        if summary is None:  # derived data: recompute what is not there
            summary = summarize(prompts, samples)
        return cls(run, prompts, summary, samples, RESULTS_SCHEMA_VERSION, RESULTS_KIND, cls.extra_of(data))

    def samples_of(self, prompt: str) -> list[SampleRecord]:
        return [rec for rec in self.samples if rec.prompt == prompt]
