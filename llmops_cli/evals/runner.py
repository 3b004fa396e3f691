"""Run prompts over their golden sets: plan (:mod:`.plan`), execute (:mod:`.execute`: asyncio, cached,
journaled), write the results file (:mod:`.results`).

::

    from llmops_cli.project import Project
    from llmops_cli.evals.runner import EvalOptions, run_eval

    outcome = run_eval(Project.open("."), EvalOptions(names=["support/answer"], repeat=3))
    outcome.results_path, outcome.summary.passed

The gate runs both sides of a comparison with the base's judges (read from git objects)::

    base = Project.at_ref(base_sha, root)
    run_eval(Project.open(root), options, judge_project=base, judge_fallback=Project.open(root))
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from .._version import __version__
from ..errors import UserError
from ..git import head_sha
from ..hashing import sha256_of
from ..project import Project
from ..records.results import BudgetInfo, CacheStats, Execution, Incomplete, PromptInfo, RunInfo, SampleRecord, Summary
from ..sources import check_outputs
from .budget import Budget, check_enforceable
from .cache import ResponseCache
from .calling import Caller
from .execute import Executor
from .journal import Journal, new_run_id, record_key, runs_dir
from .plan import EvalOptions, Plan, build_plan
from .progress import PlainProgress, Progress
from .results import write_results_json
from .summary import summarize

Notify = Callable[[str], None]


@dataclass
class RunOutcome:
    """What :func:`run_eval` did: where the results file is, its summary and prompts, notices to show."""

    run_id: str
    results_path: str
    summary: Summary
    prompts: dict[str, PromptInfo]
    notices: list[str]
    stats: dict[str, Any]
    offline: list[dict[str, str]] = field(default_factory=list)  # {alias, model, replaces} per stand-in used
    incomplete: Incomplete | None = None  # the run stopped early (its budget): --resume finishes it
    budget: Budget | None = None


def git_sha_of(project: Project) -> str | None:
    commit = getattr(project.source, "commit", None)
    if commit is not None:
        return str(commit.hexsha)
    return head_sha(project.root or ".")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def run_eval(
    project: Project,
    options: EvalOptions,
    *,
    judge_project: Project | None = None,
    judge_fallback: Project | None = None,
    resume: str | None = None,
    progress: Progress | None = None,
    notify: Notify | None = None,
    run_root: str | None = None,
    budget: Budget | None = None,
) -> RunOutcome:
    """Plan, execute and write the results file. ``resume``: a run id whose journal to finish (its saved
    options are used, but for ``concurrency``, ``out`` and ``max_cost_usd``). ``run_root``: where
    ``.llmops/runs`` lives (default: the project root). ``budget``: a cap shared with other runs (the gate's
    two sides); else ``options.max_cost_usd`` or llmops.yaml's ``budget.max_cost_usd`` makes one
    (:mod:`.budget`); a run it stops has ``incomplete`` set. ``judge_project``/``judge_fallback``: where judges
    are read (:func:`~llmops_cli.evals.plan.build_plan`)."""
    progress = progress or Progress()
    root = str(run_root or project.root or os.getcwd())
    started_mono = time.perf_counter()
    journal: Journal | None = None
    if resume:
        journal = Journal.open_existing(root, resume)
        meta = journal.meta()
        saved = EvalOptions.from_dict(meta["options"])
        if options.concurrency:
            saved.concurrency = options.concurrency
        if options.out:
            saved.out = options.out
        saved.max_cost_usd = options.max_cost_usd  # the cap bounds what this command spends
        options = saved
        run_id = resume
        started_at = meta["started_at"]
    else:
        run_id = new_run_id()
        started_at = _now()
    # every file the run writes is checked before the first call is paid for (exit 2, never 3 afterwards)
    check_outputs({"--out": options.out}, {"the runs folder": runs_dir(root)})
    plan = build_plan(project, options, judge_project=judge_project, judge_fallback=judge_fallback)
    for line in plan.notices:
        if notify:
            notify(line)
    cap = options.max_cost_usd if options.max_cost_usd is not None else project.config.budget.max_cost_usd
    if budget is None and cap is not None:
        budget = Budget(cap)
    if budget is not None:
        check_enforceable(plan)  # exit 2 before any call when a price or an output bound is unknown
    journal = _open_journal(root, run_id, started_at, options, plan, journal)

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
    executor = Executor(plan, cache, caller, journal, progress, budget)
    journal.start()
    try:
        if len(done) < len(wanted):
            asyncio.run(executor.run(done))
    finally:
        journal.close()
        progress.finish()

    prompts = {pp.name: pp.info() for pp in plan.prompts}
    index = sorted((k, off) for k, off in journal.index() if k in wanted)
    incomplete = None
    if len(index) < len(wanted):  # only a budget stops a run before every sample is journaled
        incomplete = Incomplete(reason="budget", samples_missing=len(wanted) - len(index), samples_planned=len(wanted))

    def journaled() -> Iterator[dict[str, Any]]:
        """The journal's records (``SampleRecord.to_dict()`` output) in canonical order."""
        with open(journal.path, "rb") as fh:
            for _, off in index:
                yield journal.read_at(fh, off)

    records = (SampleRecord.from_dict(d, f"{journal.path}[{n}]") for n, d in enumerate(journaled()))
    summary = summarize(prompts, records)
    run = RunInfo(
        llmops_version=__version__,
        git_sha=git_sha_of(project),
        source=project.source.label,
        config_hash=sha256_of(cfg.model_dump(mode="json")),
        repeat=plan.repeat,
        judge_samples=plan.judge_samples,
        judges={name: j.info() for name, j in sorted(plan.judges.items())},
        judge_config_hash=plan.judge_config_hash() if plan.judges else None,
        selection=plan.selection,
        model_override=options.model,
        judge_model_override=options.judge_model,
        incomplete=incomplete,
        execution=Execution(
            id=run_id,
            started_at=started_at,
            finished_at=_now(),
            duration_s=round(time.perf_counter() - started_mono, 3),
            resumed=bool(resume),
            shard=f"{options.shard[0]}/{options.shard[1]}" if options.shard else None,
            concurrency=plan.concurrency,
            cache=CacheStats(hits=cache.hits, misses=cache.misses, dir=cache.directory),
            calls=asdict(caller.stats),
            journal=journal.directory,
            budget=_budget_info(budget),
        ),
    )
    out = options.out or os.path.join(journal.directory, "results.json")
    info = {name: p.to_dict() for name, p in prompts.items()}
    write_results_json(out, run.to_dict(), info, summary.to_dict(), journaled())
    return RunOutcome(
        run_id, out, summary, prompts, plan.notices, asdict(caller.stats), plan.offline, incomplete, budget
    )


def _budget_info(budget: Budget | None) -> BudgetInfo | None:
    if budget is None:
        return None
    return BudgetInfo(
        max_cost_usd=round(budget.cap_usd, 10),
        spent_usd=round(budget.spent_usd, 10),
        requests=budget.requests,
        refused=budget.refused,
    )


def _open_journal(
    root: str, run_id: str, started_at: str, options: EvalOptions, plan: Plan, journal: Journal | None
) -> Journal:
    """A new run's journal, or the resumed run's ``journal`` (which must have been planned identically)."""
    fingerprint = plan.fingerprint()
    if journal is None:
        meta = {"run_id": run_id, "started_at": started_at, "options": options.to_dict(), "plan": fingerprint}
        return Journal.create(root, run_id, meta)
    if journal.meta().get("plan") != fingerprint:
        raise UserError(
            f"run {run_id} cannot be resumed: prompts, golden sets, judges or models changed since it started"
        )
    return journal


__all__ = [
    "EvalOptions",
    "PlainProgress",
    "Plan",
    "Progress",
    "RunOutcome",
    "build_plan",
    "git_sha_of",
    "record_key",
    "run_eval",
]
