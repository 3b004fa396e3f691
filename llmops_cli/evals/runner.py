"""Run prompts over their golden sets: plan, execute (asyncio, cached, journaled), write the results file.

::

    from llmops_cli.project import Project
    from llmops_cli.evals.runner import EvalOptions, run_eval

    outcome = run_eval(Project.open("."), EvalOptions(names=["support/answer"], repeat=3))
    outcome.results_path, outcome.summary["passed"]

The gate runs the base side of a comparison from git objects with the head's judges::

    run_eval(Project.at_ref(base_sha, root), options, judge_project=Project.open(root))
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from .._version import __version__
from ..errors import NotFoundError, PromptFileError, UsageError, UserError
from ..git import head_sha, merge_base
from ..goldens import Case, GoldenSet
from ..hashing import sha256_of
from ..models import Target, is_in_process, resolve_target
from ..project import Project
from ..prompt import Prompt
from .assertions import AssertionResult, AssertionSpec, OutputContext, evaluate, parse_assertions, sample_verdict
from .cache import ResponseCache, cache_key
from .journal import Journal, new_run_id, record_key
from .judges import (
    JudgeParseError,
    candidate_inputs,
    judge_prompt_name,
    missing_required,
    normalize,
    parse_verdict,
    repair_messages,
    select_inputs,
)
from .providers import Caller, CallFailed, CallResult
from .results import summarize, write_results
from .selection import changed_prompts, shard_of

Notify = Callable[[str], None]


@dataclass
class EvalOptions:
    """What ``llmops eval run`` was asked to do. None means: from llmops.yaml."""

    names: list[str] | None = None
    changed_since: str | None = None
    repeat: int | None = None
    judge_samples: int | None = None
    concurrency: int | None = None
    model: str | None = None
    judge_model: str | None = None
    api_base: str | None = None
    shard: tuple[int, int] | None = None
    use_cache: bool = True
    timeout_s: float | None = None
    max_retries: int | None = None
    out: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shard"] = list(self.shard) if self.shard else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalOptions:
        d = dict(d)
        d["shard"] = tuple(d["shard"]) if d.get("shard") else None
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class JudgePlan:
    name: str
    prompt: Prompt
    target: Target
    samples: int

    def describe(self) -> dict[str, Any]:
        return {"prompt_sha256": self.prompt.sha256, "model": self.target.model, "samples": self.samples}


@dataclass
class CasePlan:
    case: Case
    variables: dict[str, Any]
    asserts: list[AssertionSpec]
    judge_of: dict[int, str] = field(default_factory=dict)  # assertion index -> judge prompt name


@dataclass
class PromptPlan:
    name: str
    prompt: Prompt
    golden: GoldenSet
    golden_sha256: str
    target: Target
    cases: list[CasePlan]
    judges: dict[str, JudgePlan]
    min_pass_rate: float
    max_error_rate: float

    def describe(self) -> dict[str, Any]:
        return {
            "prompt_sha256": self.prompt.sha256,
            "file": self.prompt.file,
            "model": self.target.model,
            "model_name": self.prompt.model_name,
            "offline_from": self.target.offline_from,
            "golden_set": {"file": self.golden.file, "sha256": self.golden_sha256, "cases": len(self.golden.cases)},
            "min_pass_rate": self.min_pass_rate,
            "max_error_rate": self.max_error_rate,
            "clusters": {c.id: c.cluster for c in self.golden.cases},
            "judges": sorted(self.judges),
        }


@dataclass
class Plan:
    prompts: list[PromptPlan]
    judges: dict[str, JudgePlan]
    repeat: int
    judge_samples: int
    concurrency: int
    selection: dict[str, Any]
    notices: list[str] = field(default_factory=list)
    offline: list[dict[str, str]] = field(default_factory=list)  # aliases that fell back to their stand-in

    def total(self) -> int:
        return sum(len(p.cases) for p in self.prompts) * self.repeat

    def items(self) -> Iterator[tuple[PromptPlan, CasePlan, int]]:
        for pp in self.prompts:
            for cp in pp.cases:
                for s in range(self.repeat):
                    yield pp, cp, s

    def fingerprint(self) -> str:
        return sha256_of(
            {
                "prompts": {p.name: p.describe() for p in self.prompts},
                "cases": {p.name: [c.case.id for c in p.cases] for p in self.prompts},
                "judges": {n: j.describe() for n, j in self.judges.items()},
                "repeat": self.repeat,
            }
        )


# -- planning -----------------------------------------------------------------------------------------------


def build_plan(project: Project, options: EvalOptions, *, judge_project: Project | None = None) -> Plan:
    """Select prompts and cases, validate every assertion and resolve models — all before any call, so bad
    input fails (exit 2) without spending anything."""
    jproject = judge_project or project
    cfg = project.config
    repeat = options.repeat or cfg.eval.repeat
    k = options.judge_samples or jproject.config.judge.samples
    if repeat < 1 or k < 1:
        raise UsageError("--repeat and --judge-samples must be at least 1")
    concurrency = options.concurrency or cfg.concurrency
    if concurrency < 1:
        raise UsageError("--concurrency must be at least 1")

    with_goldens = [n for n in project.golden_names() if project.source.exists(project.prompt_file(n))]
    if options.names:
        names = []
        for n in options.names:
            project.load(n)  # NotFoundError with a hint when unknown
            if project.golden_file(n) is None:
                raise NotFoundError(
                    f"prompt '{n}' has no golden set ({cfg.paths.evals}/{n}.yaml or .jsonl)",
                    file=project.prompt_file(n),
                )
            names.append(n)
        names = sorted(set(names))
    else:
        names = with_goldens
    base_sha = None
    if options.changed_since:
        root = str(project.root or os.getcwd())
        base_sha = merge_base(root, options.changed_since)
        names = changed_prompts(project, options.changed_since, names)

    notices: list[str] = []
    offline: list[dict[str, str]] = []
    targets: dict[str, Target] = {}

    def target_for(config_project: Project, model_name: str, override: str | None, api_base: str | None) -> Target:
        key = f"{id(config_project)}|{model_name}|{override}|{api_base}"
        if key not in targets:
            t = resolve_target(config_project.config, model_name, model_override=override, api_base_override=api_base)
            if t.offline_from:
                notices.append(
                    f"{t.label}: no API key for {t.offline_from} in the environment; using offline model {t.model}"
                )
                entry = {"alias": t.label, "model": t.model, "replaces": t.offline_from}
                if entry not in offline:
                    offline.append(entry)
            targets[key] = t
        return targets[key]

    judges: dict[str, JudgePlan] = {}

    def judge_for(name: str) -> JudgePlan:
        if name not in judges:
            jp = jproject.load(name)
            model_name = options.judge_model or jproject.config.judge.model or jp.model_name
            # --api-base follows --judge-model to the judges; without it judges keep their configured server
            api_base = options.api_base if options.judge_model else None
            judges[name] = JudgePlan(name, jp, target_for(jproject, model_name, None, api_base), k)
        return judges[name]

    plans: list[PromptPlan] = []
    for name in names:
        prompt = project.load(name)
        golden = project.golden_set(name)
        assert golden is not None
        if golden.duplicate_ids:
            dup = golden.duplicate_ids[0]
            raise PromptFileError(f"duplicate case id {dup!r}", file=golden.file, line=golden.line_of(dup))
        target = target_for(project, prompt.model_name, options.model, options.api_base)
        schema = prompt.spec.output.schema_
        cases: list[CasePlan] = []
        used: dict[str, JudgePlan] = {}
        for case in golden.cases:
            try:
                specs = parse_assertions(
                    golden.asserts_for(case),
                    file=golden.file,
                    line=None,
                    where=f"case {case.id!r}",
                    output_schema=schema,
                )
            except PromptFileError as exc:  # the line is looked up only when needed (it re-reads the YAML)
                exc.line = _assert_line(golden, case)
                raise
            variables = golden.vars_for(case)
            try:
                prompt.validate(variables)
            except UserError as exc:
                raise PromptFileError(
                    f"case {case.id!r}: {exc.message}", file=golden.file, line=golden.line_of(case.id, "vars")
                ) from None
            judge_of: dict[int, str] = {}
            for spec in specs:
                if spec.is_judge:
                    jplan = judge_for(judge_prompt_name(spec, jproject.config.judge))
                    used[jplan.name] = jplan
                    judge_of[spec.index] = jplan.name
                    cands = candidate_inputs(spec, variables=variables, expected=case.expected, output="", messages=[])
                    cands["question"] = cands["question"] or "(the prompt)"
                    missing = missing_required(jplan.prompt.spec.inputs, cands)
                    if missing:
                        what = {"reference": "an 'expected' answer", "context": "a context variable"}
                        raise PromptFileError(
                            f"case {case.id!r}: assertion {spec.index} ({spec.type}) needs "
                            + ", ".join(what.get(m, repr(m)) for m in missing)
                            + f" for judge '{jplan.name}'",
                            file=golden.file,
                            line=_assert_line(golden, case),
                        )
            if options.shard and shard_of(name, case.id, options.shard[1]) != options.shard[0]:
                continue
            cases.append(CasePlan(case, variables, specs, judge_of))
        plans.append(
            PromptPlan(
                name=name,
                prompt=prompt,
                golden=golden,
                golden_sha256=sha256_of(project.source.read_text(golden.file)),
                target=target,
                cases=cases,
                judges=used,
                min_pass_rate=golden.defaults.min_pass_rate
                if golden.defaults.min_pass_rate is not None
                else cfg.eval.min_pass_rate,
                max_error_rate=cfg.eval.max_error_rate,
            )
        )
    selection = {"names": names, "changed_since": options.changed_since, "merge_base": base_sha}
    return Plan(plans, judges, repeat, k, concurrency, selection, notices, offline)


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _assert_line(golden: GoldenSet, case: Case) -> int | None:
    return golden.line_of(case.id, "assert") if case.asserts else golden.line_of(case.id)


# -- execution ----------------------------------------------------------------------------------------------


class Progress:
    """Receives progress; the CLI renders it. Default: silent."""

    def start(self, total: int, done: int) -> None: ...

    def advance(self, record: dict[str, Any]) -> None: ...

    def tick(self) -> None:
        """Called about once a second while the run is in progress."""

    def finish(self) -> None: ...


class PlainProgress(Progress):
    """Progress as plain lines for logs (stderr not a terminal): one line every ``every_pct`` percent of the
    cases or ``every_s`` seconds, whichever comes first, with cases done, failures, errors, elapsed and ETA."""

    def __init__(
        self,
        stream: Any,
        *,
        every_pct: float = 10.0,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.every_pct = every_pct
        self.every_s = every_s
        self.clock = clock
        self.total = self.done = self.start_done = self.failed = self.errors = self.judge_errors = 0
        self._t0 = self._last_t = 0.0
        self._last_pct = 0.0

    def start(self, total: int, done: int) -> None:
        self.total, self.done, self.start_done = total, done, done
        self._t0 = self._last_t = self.clock()
        self._last_pct = 100.0 * done / total if total else 100.0
        resumed = f" ({done} already done)" if done else ""
        self._write(f"eval: {total} cases to run{resumed}")

    def advance(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.failed += record.get("status") == "fail"
        self.errors += record.get("status") == "error"
        self.judge_errors += int((record.get("judge") or {}).get("errors") or 0)
        now = self.clock()
        pct = 100.0 * self.done / self.total if self.total else 100.0
        if pct - self._last_pct >= self.every_pct or now - self._last_t >= self.every_s or self.done == self.total:
            self._last_pct, self._last_t = pct, now
            self._write(self.line(now))

    def tick(self) -> None:
        now = self.clock()
        if now - self._last_t >= self.every_s and self.done < self.total:
            self._last_t = now
            self._write(self.line(now))

    def line(self, now: float) -> str:
        """``eval: 58/116 cases (50%), 3 failed, 1 errors, 0 judge errors, elapsed 1m12s, ETA 1m12s``."""
        elapsed = now - self._t0
        ran = self.done - self.start_done
        left = self.total - self.done
        eta = _fmt_s(elapsed / ran * left) if ran and left else ("0s" if not left else "?")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (
            f"eval: {self.done}/{self.total} cases ({pct:.0f}%), {self.failed} failed, {self.errors} errors, "
            f"{self.judge_errors} judge errors, elapsed {_fmt_s(elapsed)}, ETA {eta}"
        )

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed pipe must not stop the run
            pass


def _fmt_s(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclass
class _JudgeSample:
    score: float | None  # normalised 0..1
    reasoning: str = ""
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    replays: int = 0


class Executor:
    """Runs the planned items with a bounded worker pool; every finished item goes to the journal."""

    def __init__(self, plan: Plan, cache: ResponseCache, caller: Caller, journal: Journal, progress: Progress) -> None:
        self.plan = plan
        self.cache = cache
        self.caller = caller
        self.journal = journal
        self.progress = progress
        self._inflight: dict[str, asyncio.Future[CallResult]] = {}

    async def run(self, done: set[tuple[str, str, int]]) -> None:
        items = ((pp, cp, s) for pp, cp, s in self.plan.items() if (pp.name, cp.case.id, s) not in done)
        # more workers than call slots, so a slot freed by a finished call is refilled while that worker scores
        # and journals its result. In-process models run one call at a time anyway: two items in flight keep
        # the model busy, and each case's judges run right after its generation, so cases finish steadily
        # (progress and ETA mean something) instead of all generations first and every case at the end.
        targets = [p.target for p in self.plan.prompts] + [j.target for j in self.plan.judges.values()]
        local_only = bool(targets) and all(is_in_process(t.model) for t in targets)
        workers = 2 if local_only else max(2, 2 * self.plan.concurrency)

        running = workers

        async def worker() -> None:
            nonlocal running
            try:
                for pp, cp, s in items:
                    rec, paid = await self.run_item(pp, cp, s)
                    self.journal.append(rec, durable=paid)
                    self.progress.advance(rec)
            finally:
                running -= 1
                if not running:
                    ticker.cancel()

        async def tick() -> None:  # lets a progress report time-based lines while no case finishes
            report = getattr(self.progress, "tick", None)
            while report is not None:
                await asyncio.sleep(1.0)
                report()

        try:
            async with asyncio.TaskGroup() as tg:
                ticker = tg.create_task(tick())
                for _ in range(workers):
                    tg.create_task(worker())
        except BaseExceptionGroup as group:  # e.g. a template error while rendering: report the first one
            raise _first_leaf(group) from None

    async def call(
        self, key: str, kind: str, target: Target, messages: list[dict[str, Any]], params: dict[str, Any], rf: Any
    ) -> tuple[CallResult, bool]:
        """A cached call: ``(result, replayed)``. Identical calls in flight at once share one request."""
        entry = self.cache.get(key)
        if entry is not None:
            return CallResult.from_cache(entry), True
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), True
        fut: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            result = await self.caller.complete(target, messages, params, rf)
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved
            raise
        finally:
            self._inflight.pop(key, None)
        self.cache.put(key, result.cache_entry(kind))
        fut.set_result(result)
        return result, False

    async def run_item(self, pp: PromptPlan, cp: CasePlan, sample: int) -> tuple[dict[str, Any], bool]:
        rendered = pp.prompt.render(cp.variables)
        t = pp.target
        params, rf = t.prepare(rendered.params, rendered.response_format, pp.prompt.spec.output.schema_)
        messages = rendered.messages
        request_hash = sha256_of(
            {"model": t.model, "api_base": t.api_base, "messages": messages, "params": params, "response_format": rf}
        )
        key = cache_key(
            kind="generation",
            model=t.model,
            api_base=t.api_base,
            messages=messages,
            params=params,
            response_format=rf,
            sample=sample,
        )
        rec: dict[str, Any] = {
            "prompt": pp.name,
            "case_id": cp.case.id,
            "sample": sample,
            "cluster": cp.case.cluster,
            "request_hash": request_hash,
            "model": t.model,
        }
        paid = False
        try:
            gen, replay = await self.call(key, "generation", t, messages, params, rf)
        except CallFailed as exc:
            rec.update(
                output=None,
                replay=False,
                tokens={"prompt": 0, "completion": 0},
                cost_usd=None,
                latency_ms=None,
                attempts=exc.attempts,
                error=exc.to_dict(),
                status="error",
                score=None,
                assertions=[],
                judge={
                    "samples": 0,
                    "errors": 0,
                    "replays": 0,
                    "tokens": {"prompt": 0, "completion": 0},
                    "cost_usd": 0,
                },
            )
            return rec, True
        paid = not replay
        ctx = OutputContext(gen.text, gen.latency_ms, gen.cost_usd, pp.prompt.spec.output.schema_)
        results: list[AssertionResult | None] = [None] * len(cp.asserts)
        judge_tasks = []
        for i, spec in enumerate(cp.asserts):
            if spec.is_judge:
                judge_tasks.append((i, spec))
            else:
                results[i] = evaluate(spec, ctx)
        jstats = {"samples": 0, "errors": 0, "replays": 0, "tokens": {"prompt": 0, "completion": 0}, "cost_usd": 0.0}
        if judge_tasks:
            outs = await asyncio.gather(*(self.judge(cp, spec, gen.text, messages, sample) for _, spec in judge_tasks))
            for (i, spec), samples in zip(judge_tasks, outs, strict=True):
                results[i] = _judge_result(spec, samples)
                for js in samples:
                    jstats["samples"] += 1
                    jstats["errors"] += js.error is not None
                    jstats["replays"] += js.replays
                    jstats["tokens"]["prompt"] += js.prompt_tokens
                    jstats["tokens"]["completion"] += js.completion_tokens
                    jstats["cost_usd"] += js.cost_usd
                    paid = paid or js.calls > js.replays
        final = [r for r in results if r is not None]
        score, passed = sample_verdict(final)
        jstats["cost_usd"] = round(jstats["cost_usd"], 10)
        rec.update(
            output=gen.text,
            replay=replay,
            tokens={"prompt": gen.prompt_tokens, "completion": gen.completion_tokens},
            cost_usd=gen.cost_usd,
            latency_ms=round(gen.latency_ms, 3),
            attempts=gen.attempts,
            error=None,
            status="pass" if passed else ("fail" if passed is False else "error"),
            score=None if score is None else round(score, 6),
            assertions=[r.to_dict() for r in final],
            judge=jstats,
        )
        return rec, paid

    async def judge(
        self, cp: CasePlan, spec: AssertionSpec, output: str, messages: list[dict[str, Any]], sample: int
    ) -> list[_JudgeSample]:
        jplan = self.plan.judges[cp.judge_of[spec.index]]
        cands = candidate_inputs(
            spec, variables=cp.variables, expected=cp.case.expected, output=output, messages=messages
        )
        rendered = jplan.prompt.render(select_inputs(jplan.prompt.spec.inputs, cands))
        return list(
            await asyncio.gather(*(self.judge_sample(jplan, rendered, output, sample, k) for k in range(jplan.samples)))
        )

    async def judge_sample(self, jplan: JudgePlan, rendered: Any, output: str, sample: int, k: int) -> _JudgeSample:
        t = jplan.target
        extra = {"judge_prompt_sha256": jplan.prompt.sha256, "output": output, "generation_sample": sample}
        params, rf = t.prepare(rendered.params, rendered.response_format, jplan.prompt.spec.output.schema_, judge=True)
        msgs = rendered.messages
        js = _JudgeSample(None)

        async def ask(kind: str, messages: list[dict[str, Any]]) -> CallResult | None:
            key = cache_key(
                kind=kind, model=t.model, api_base=t.api_base, messages=messages, params=params,
                response_format=rf, sample=k, extra=extra,
            )  # fmt: skip
            try:
                res, replay = await self.call(key, kind, t, messages, params, rf)
            except CallFailed as exc:
                js.error = f"judge call failed: {exc.kind}: {exc.message}"
                return None
            js.calls += 1
            js.replays += replay
            js.prompt_tokens += res.prompt_tokens
            js.completion_tokens += res.completion_tokens
            js.cost_usd += res.cost_usd or 0.0
            return res

        first = await ask("judge", msgs)
        if first is None:
            return js
        try:
            score, reasoning = parse_verdict(first.text)
        except JudgeParseError as exc:
            second = await ask("judge-repair", repair_messages(msgs, first.text, str(exc)))
            if second is None:
                return js
            try:
                score, reasoning = parse_verdict(second.text)
            except JudgeParseError as exc2:
                js.error = f"unparsable judge reply after one repair: {exc2}"
                return js
        js.score = normalize(score)
        js.reasoning = reasoning
        return js


def _judge_result(spec: AssertionSpec, samples: list[_JudgeSample]) -> AssertionResult:
    scores = [s.score for s in samples]
    valid = [s for s in scores if s is not None]
    errors = sum(1 for s in samples if s.error is not None)
    reasonings = [_clip_reason(s.reasoning if s.score is not None else s.error) for s in samples]
    if not valid:
        first_error = next((s.error for s in samples if s.error), "no judge sample")
        return AssertionResult(
            spec.index, spec.type, spec.metric, spec.weight, spec.threshold, None, None,
            f"judge error: {first_error}", [None] * len(samples), errors, reasonings,
        )  # fmt: skip
    score = sum(valid) / len(valid)
    reasoning = next((s.reasoning for s in samples if s.score is not None and s.reasoning), "")
    if len(reasoning) > 600:
        reasoning = reasoning[:599] + "…"
    note = f" ({errors} of {len(samples)} judge samples errored)" if errors else ""
    return AssertionResult(
        spec.index, spec.type, spec.metric, spec.weight, spec.threshold, round(score, 6), score >= spec.threshold,
        reasoning + note, [None if s is None else round(s, 6) for s in scores], errors, reasonings,
    )  # fmt: skip


def _clip_reason(text: str | None) -> str | None:
    """A judge sample's reasoning (or error) as stored in results: at most 600 characters."""
    if not text:
        return None
    return text if len(text) <= 600 else text[:599] + "…"


# -- the whole run ------------------------------------------------------------------------------------------


@dataclass
class RunOutcome:
    run_id: str
    results_path: str
    summary: dict[str, Any]
    prompts: dict[str, dict[str, Any]]
    notices: list[str]
    stats: dict[str, Any]
    offline: list[dict[str, str]] = field(default_factory=list)  # {alias, model, replaces} per stand-in used


def git_sha_of(project: Project) -> str | None:
    commit = getattr(project.source, "commit", None)
    if commit is not None:
        return commit.hexsha
    return head_sha(project.root or ".")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def run_eval(
    project: Project,
    options: EvalOptions,
    *,
    judge_project: Project | None = None,
    resume: str | None = None,
    progress: Progress | None = None,
    notify: Notify | None = None,
    run_root: str | None = None,
) -> RunOutcome:
    """Plan, execute and write the results file. ``resume``: a run id whose journal to finish (its saved
    options are used). ``run_root``: where ``.llmops/runs`` lives (default: the project root)."""
    progress = progress or Progress()
    root = str(run_root or project.root or os.getcwd())
    started_mono = time.perf_counter()
    if resume:
        journal = Journal.open_existing(root, resume)
        meta = journal.meta()
        saved = EvalOptions.from_dict(meta["options"])
        if options.concurrency:
            saved.concurrency = options.concurrency
        if options.out:
            saved.out = options.out
        options = saved
        run_id = resume
        started_at = meta["started_at"]
    else:
        run_id = new_run_id()
        started_at = _now()
        journal = None
    plan = build_plan(project, options, judge_project=judge_project)
    for line in plan.notices:
        if notify:
            notify(line)
    fingerprint = plan.fingerprint()
    if journal is None:
        journal = Journal.create(
            root,
            run_id,
            {"run_id": run_id, "started_at": started_at, "options": options.to_dict(), "plan": fingerprint},
        )
    elif journal.meta().get("plan") != fingerprint:
        raise UserError(
            f"run {run_id} cannot be resumed: prompts, golden sets, judges or models changed since it started"
        )

    cfg = project.config
    cache = ResponseCache(cfg.cache_dir(str(project.root or root)), read=options.use_cache)
    caller = Caller(
        concurrency=plan.concurrency,
        timeout_s=options.timeout_s or cfg.eval.timeout_s,
        max_retries=cfg.eval.max_retries if options.max_retries is None else options.max_retries,
        backoff_base_s=cfg.eval.backoff_s,
    )
    done = {k for k, _ in journal.index()}
    wanted = {(pp.name, cp.case.id, s) for pp, cp, s in plan.items()}
    done &= wanted
    progress.start(plan.total(), len(done))
    executor = Executor(plan, cache, caller, journal, progress)
    journal.start()
    try:
        if len(done) < len(wanted):
            asyncio.run(executor.run(done))
    finally:
        journal.close()
        progress.finish()

    prompts = {pp.name: pp.describe() for pp in plan.prompts}
    index = sorted((k, off) for k, off in journal.index() if k in wanted)

    def records() -> Iterator[dict[str, Any]]:
        with open(journal.path, "rb") as fh:
            for _, off in index:
                yield journal.read_at(fh, off)

    summary = summarize(prompts, records())
    run = {
        "llmops_version": __version__,
        "git_sha": git_sha_of(project),
        "source": project.source.label,
        "config_hash": sha256_of(cfg.model_dump(mode="json")),
        "repeat": plan.repeat,
        "judge_samples": plan.judge_samples,
        "judges": {name: {**j.describe(), "prompt": name} for name, j in sorted(plan.judges.items())},
        "selection": plan.selection,
        "model_override": options.model,
        "judge_model_override": options.judge_model,
        "execution": {
            "id": run_id,
            "started_at": started_at,
            "finished_at": _now(),
            "duration_s": round(time.perf_counter() - started_mono, 3),
            "resumed": bool(resume),
            "shard": f"{options.shard[0]}/{options.shard[1]}" if options.shard else None,
            "concurrency": plan.concurrency,
            "cache": {"hits": cache.hits, "misses": cache.misses, "dir": cache.directory},
            "calls": asdict(caller.stats),
            "journal": journal.directory,
        },
    }
    out = options.out or os.path.join(journal.directory, "results.json")
    write_results(out, run, prompts, summary, records())
    return RunOutcome(run_id, out, summary, prompts, plan.notices, asdict(caller.stats), plan.offline)


__all__ = ["EvalOptions", "PlainProgress", "Plan", "Progress", "RunOutcome", "build_plan", "record_key", "run_eval"]
