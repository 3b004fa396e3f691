"""``llmops usage judge``: the prompt's reference-free judges on a seeded, stratified sample of logged calls.

::

    llmops usage judge LOGS --prompt support/answer --sample 5% --since 24h --seed 7

Which judges: the model-graded assertions of the golden set's ``defaults.assert`` (``evals/<prompt>.yaml``)
that need no reference answer — ``judge`` (the rubric; its judge prompt must not *require* ``reference``),
``answer-relevance``, ``faithfulness`` (the call's ``context`` variable), ``toxicity``, ``off-topic``;
``factuality`` needs a reference and is left out. Judges, judge model and samples come from ``llmops.yaml`` as
in ``eval run``, and every judge call goes through the same response cache with the same keys: judging a call
again, or a call whose output and question an eval already graded, pays nothing.

Which calls: successful calls of the prompt in the window whose record kept content (``log_content=True``:
``vars``, ``input``, ``output``), not yet scored on every metric (``rescore`` judges them again), sampled per
(version, arm, UTC day) stratum (:mod:`.logged`). A call whose content is missing or malformed is counted.

Output: one :class:`~llmops_cli.records.score.ScoreRecord` per (call, metric), appended to ``to`` (default
``llmops-scores.jsonl`` beside the first log), which ``usage report`` reads with the logs to show quality per
prompt/version/arm/day, and ``usage sample --where "judge.<metric> < 3"`` filters on.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, cast

from ..errors import NotFoundError, UsageError, UserError
from ..goldens import Case
from ..models import resolve_target
from ..project import Project
from ..records.base import dump_record
from ..records.results import AssertionRecord
from ..records.score import MAX_REASONING_CHARS, ScoreRecord
from ..redact import redactor
from ..serving.record import to_json_line, utc_timestamp
from .appendlog import append_records
from .engine import open_records
from .logfiles import LogFiles, resolve_logs
from .logged import LoggedCall, load_content, select_calls

SCORES_FILE = "llmops-scores.jsonl"
REFERENCE_TYPES = frozenset({"factuality"})
MAX_CALLS = 100_000


@dataclass
class JudgeRun:
    """What ``usage judge`` did."""

    prompt: str
    scores_file: str
    matched: int
    sampled: int
    judged: int = 0
    already_scored: int = 0  # sampled calls a previous run already judged on every metric (not judged again)
    no_content: int = 0
    judge_errors: int = 0
    replayed: int = 0  # judge calls answered by the cache
    calls: int = 0  # judge calls made or replayed
    cost_usd: float = 0.0
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    strata: dict[str, dict[str, int]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    provider: dict[str, Any] = field(default_factory=dict)  # requests sent, retries, rate limits, failures

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "llmops.usage.judge/1", "prompt": self.prompt, "scores_file": self.scores_file,
                "matched": self.matched, "sampled": self.sampled, "judged": self.judged,
                "skipped": {"no_content": self.no_content, "already_scored": self.already_scored},
                "judge_errors": self.judge_errors,
                "judge_calls": {"total": self.calls, "replayed": self.replayed, "cost_usd": round(self.cost_usd, 9)},
                "metrics": self.metrics, "strata": self.strata, "notices": self.notices,
                "provider": self.provider}  # fmt: skip


def default_scores_file(files: LogFiles) -> str:
    """``llmops-scores.jsonl`` in the folder of the first local log."""
    for f in (*files.jsonl, *files.parquet):
        if "://" not in f:
            return os.path.join(os.path.dirname(os.path.abspath(f)), SCORES_FILE)
    raise UsageError("the logs are remote: say where the scores go with --to FILE")


def _judge_specs(project: Project, name: str) -> tuple[list[Any], Any]:
    """The reference-free judge assertions of the golden set's defaults, and the golden set."""
    from ..evals.assertions import parse_assertions

    golden = project.golden_set(name)
    if golden is None:
        raise NotFoundError(
            f"prompt '{name}' has no golden set: usage judge runs the judges of its defaults.assert",
            file=project.prompt_file(name),
        )
    prompt = project.load(name)
    specs = parse_assertions(
        golden.defaults.asserts, file=golden.file, line=None, where="defaults", output_schema=prompt.spec.output.schema_
    )
    return [s for s in specs if s.is_judge], golden


def _plans(
    project: Project, specs: list[Any], samples: int | None, notices: list[str]
) -> tuple[dict[str, Any], list[Any]]:
    """Judge plans (as ``eval run`` builds them) of the specs whose judge needs no reference."""
    from ..evals.judges import candidate_inputs, judge_config_sha256, judge_prompt_name, missing_required
    from ..evals.plan import EvalOptions, JudgePlan, key_trust

    cfg = project.config
    k = samples or cfg.judge.samples
    trust = key_trust(project, EvalOptions())
    plans: dict[str, JudgePlan] = {}
    kept = []
    for spec in specs:
        if spec.type in REFERENCE_TYPES:
            notices.append(f"assertion {spec.index} ({spec.type}) needs a reference answer: left out")
            continue
        jname = judge_prompt_name(spec, cfg.judge)
        if jname not in plans:
            jp = project.load(jname)
            model_name = cfg.judge.model or jp.model_name
            target = resolve_target(cfg, model_name, trust=trust)
            if target.offline_from:
                notices.append(
                    f"{target.label}: no API key for {target.offline_from}; using offline model {target.model}"
                )
            plans[jname] = JudgePlan(jname, jp, target, k, judge_config_sha256(jp.sha256, model_name, cfg))
        cands = candidate_inputs(spec, variables={}, expected=None, output="x", messages=[])
        cands["question"] = "x"
        cands["context"] = "x"  # per call: a call without its context variable gets a judge error
        if missing_required(plans[jname].prompt.spec.inputs, cands):
            notices.append(f"assertion {spec.index} ({spec.type}, judge {jname}) needs a reference answer: left out")
            continue
        kept.append(spec)
    return {n: p for n, p in plans.items() if any(judge_prompt_name(s, cfg.judge) == n for s in kept)}, kept


def judge_logged(
    project: Project,
    logs: list[str],
    prompt_name: str,
    *,
    n: int | None = None,
    fraction: float | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    seed: int = 0,
    to: str | None = None,
    rescore: bool = False,
    skip_invalid: bool = False,
    concurrency: int | None = None,
    judge_samples: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> JudgeRun:
    """Judge a sample of ``prompt_name``'s logged calls and append score records (see the module doc).
    ``progress(done, total)`` is called after each judged call."""
    from ..evals.cache import ResponseCache
    from ..evals.calling import Caller
    from ..evals.execute import Executor
    from ..evals.plan import Plan
    from ..evals.progress import Progress
    from ..sources import check_outputs

    if n is not None and not 1 <= n <= MAX_CALLS:
        raise UsageError(f"--n must be 1-{MAX_CALLS:,}")
    if fraction is not None and not 0 < fraction <= 1:
        raise UsageError("--sample must be a share between 0% and 100%")
    if n is not None and fraction is not None:
        raise UsageError("give --sample or --n, not both")
    files = resolve_logs(logs)
    scores_file = to or default_scores_file(files)
    check_outputs({"--to": scores_file})
    if os.path.isfile(scores_file) and scores_file not in files.jsonl:  # what was already judged counts
        files = resolve_logs([*logs, scores_file]) if logs else LogFiles((*files.jsonl, scores_file), files.parquet)
    recs = open_records(files, skip_invalid=skip_invalid)
    notices: list[str] = []
    specs, _golden = _judge_specs(project, prompt_name)
    plans, specs = _plans(project, specs, judge_samples, notices)
    if not specs:
        raise UsageError(
            f"prompt '{prompt_name}' has no reference-free judge in defaults.assert of its golden set "
            "(judge, answer-relevance, faithfulness, toxicity, off-topic)"
        )
    if n is None and fraction is None:  # judging every call of a busy prompt is never what a default should do
        raise UsageError("say how many calls to judge: --sample 5% (of every stratum) or --n 500")
    metrics = sorted({s.metric for s in specs})
    selection = select_calls(recs, prompt_name, since=since, until=until, n=n, fraction=fraction, seed=seed,
                             stratify=True, ok_only=True, unscored=None if rescore else metrics)  # fmt: skip
    if len(selection.calls) > MAX_CALLS:
        raise UsageError(f"{len(selection.calls):,} calls sampled, more than {MAX_CALLS:,}: lower --sample or --n")
    load_content(recs, selection.calls)
    run = JudgeRun(prompt_name, scores_file, selection.matched, len(selection.calls) + selection.already_scored,
                   already_scored=selection.already_scored, notices=notices)  # fmt: skip
    run.strata = {
        f"{v or '-'}|{a or '-'}|{d}": {"calls": size, "sampled": picked}
        for (v, a, d), (size, picked) in selection.strata.items()
    }
    usable = [c for c in selection.calls if c.content_problem is None and c.output is not None]
    run.no_content = len(selection.calls) - len(usable)
    if not usable:
        return run

    cfg = project.config
    root = str(project.root or os.getcwd())
    conc = concurrency or cfg.concurrency
    plan = Plan([], plans, 1, next(iter(plans.values())).samples, conc, {})
    cache = ResponseCache(cfg.cache_dir(root), read=True)
    caller = Caller(concurrency=conc, timeout_s=cfg.eval.timeout_s, max_retries=cfg.eval.max_retries,
                    backoff_base_s=cfg.eval.backoff_s)  # fmt: skip
    executor = Executor(plan, cache, caller, cast(Any, None), Progress())
    judge_of = {s.index: _judge_name(cfg, s) for s in specs}
    redact = redactor()
    lines: list[str] = []
    sums: dict[str, list[float]] = {m: [] for m in metrics}

    async def grade(call: LoggedCall) -> list[ScoreRecord]:
        from ..evals.execute import _judge_result
        from ..evals.plan import CasePlan

        case = Case.model_construct(id=call.request_id, vars=call.vars or {}, expected=None, cluster=None, tags=[],
                                    asserts=[], description=None, metadata={})  # fmt: skip
        cp = CasePlan(case, call.vars or {}, specs, judge_of)
        out = []
        for spec in specs:
            jplan = plans[judge_of[spec.index]]
            try:
                samples = await executor.judge(cp, spec, call.output or "", call.messages or [], 0)
                result: AssertionRecord = _judge_result(spec, samples)
                replayed = all(js.calls and js.replays == js.calls for js in samples)
                run.calls += sum(js.calls for js in samples)
                run.replayed += sum(js.replays for js in samples)
                run.cost_usd += sum(js.cost_usd for js in samples)
                reasoning = next((r for r in result.reasonings or [] if r), None)
                error = None if result.score is not None else result.reason
            except UserError as exc:  # the judge prompt refuses this call's inputs (a missing context…)
                result = AssertionRecord(
                    index=spec.index, type=spec.type, metric=spec.metric, weight=spec.weight,
                    threshold=spec.threshold, score=None, passed=None, reason="",
                )  # fmt: skip
                replayed, reasoning, error = False, None, f"judge inputs: {exc.message[:300]}"
            out.append(
                ScoreRecord(
                    ts=utc_timestamp(time.time()),
                    request_id=call.request_id,
                    prompt=call.prompt,
                    version=call.version,
                    channel=call.channel,
                    arm=call.arm,
                    call_ts=call.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    metric=spec.metric,
                    judge=jplan.name,
                    judge_model=jplan.target.model,
                    score=result.score,
                    passed=result.passed,
                    threshold=spec.threshold,
                    error=redact(error)[:MAX_REASONING_CHARS] if error else None,
                    reasoning=_clip(redact(reasoning)) if reasoning else None,
                    replayed=replayed,
                )
            )
        return out

    async def main() -> None:
        queue = iter(usable)

        async def worker() -> None:
            for call in queue:
                for rec in await grade(call):
                    lines.append(to_json_line(dump_record(rec)))
                    if rec.score is None:
                        run.judge_errors += 1
                    else:
                        sums[rec.metric].append(rec.score)
                run.judged += 1
                if progress is not None:
                    progress(run.judged, len(usable))

        async with asyncio.TaskGroup() as tg:
            for _ in range(max(2, 2 * conc)):
                tg.create_task(worker())

    try:
        asyncio.run(main())
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        raise first from None
    finally:
        if lines:
            append_records(scores_file, lines)
    run.provider = asdict(caller.stats)
    run.metrics = {m: {"scored": len(v), "mean": round(sum(v) / len(v), 6) if v else None} for m, v in sums.items()}
    return run


def _judge_name(cfg: Any, spec: Any) -> str:
    from ..evals.judges import judge_prompt_name

    return judge_prompt_name(spec, cfg.judge)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASONING_CHARS else text[: MAX_REASONING_CHARS - 1] + "…"


def parse_share(text: str) -> float:
    """``--sample``: ``5%`` or ``0.05`` → 0.05 (a share in (0, 1])."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise UsageError(
            f"--sample: expected a percentage such as 5% or a share such as 0.05, got {text[:40]!r}"
        ) from None
    if not 0 < value <= 1:
        raise UsageError("--sample must be a share between 0% and 100%")
    return value
