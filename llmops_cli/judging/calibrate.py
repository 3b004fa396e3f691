"""``llmops judge calibrate JUDGE``: run a judge on its human-labelled items and measure how far to trust it.

The judge is called through the evals' own judge path (:meth:`~llmops_cli.evals.execute.Executor.judge_sample`:
the response cache with the sample index in the key, one repair re-ask, judge errors counted and excluded,
never scored), so a calibration re-run with unchanged judge and labels costs nothing. The result is a
:class:`~llmops_cli.records.judging.JudgeCalibration` record, committed beside the labels
(``<evals>/<judge>.calibration.json``) so the gate can tell a calibrated judge from a stale or uncalibrated one.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from ..errors import UsageError
from ..evals.cache import ResponseCache
from ..evals.calling import Caller
from ..evals.execute import Executor
from ..evals.journal import Journal
from ..evals.judges import judge_config_sha256
from ..evals.plan import EvalOptions, JudgePlan, Plan, key_trust
from ..evals.progress import Progress
from ..models import resolve_target
from ..models.targets import check_api_base
from ..pathsafe import confined
from ..project import Project
from ..records.base import dump_record
from ..records.judging import (
    AgreementStat,
    CalibratedItem,
    Confusion,
    JudgeCalibration,
    LabelItem,
)
from ..sources import check_outputs
from . import agreement as ag
from .caller import JudgeCall
from .labels import Labels, consensus, load_labels
from .probes import ProbeRun, run_probes

__all__ = ["CalibrateOptions", "calibrate", "calibration_file", "write_calibration"]

CALIBRATION_SUFFIX = ".calibration.json"


@dataclass
class CalibrateOptions:
    """What ``llmops judge calibrate`` was asked to do (None: from llmops.yaml)."""

    samples: int | None = None  # judge samples per item (K)
    judge_model: str | None = None
    api_base: str | None = None
    concurrency: int | None = None
    use_cache: bool = True
    probes: Sequence[str] = ("verbosity", "sensitivity", "self_preference")
    probe_items: int = 50  # items each probe re-judges (the cost of probing is bounded)


def prepare_judge(project: Project, judge: str, options: CalibrateOptions) -> JudgeCall:
    """Resolve the judge prompt, its model (llmops.yaml ``judge.model`` overrides the prompt's, as in evals) and
    a cached caller — before any call, so bad input fails without spending anything."""
    cfg = project.config
    if options.api_base is not None:
        check_api_base(options.api_base)
    prompt = project.load(judge)
    model_name = options.judge_model or cfg.judge.model or prompt.model_name
    api_base = options.api_base if options.judge_model else None
    target = resolve_target(cfg, model_name, api_base_override=api_base, trust=key_trust(project, EvalOptions()))
    k = options.samples or cfg.judge.samples
    concurrency = options.concurrency or cfg.concurrency
    if k < 1 or concurrency < 1:
        raise UsageError("--judge-samples and --concurrency must be at least 1")
    jplan = JudgePlan(judge, prompt, target, k, judge_config_sha256(prompt.sha256, model_name, cfg))
    root = str(project.root or os.getcwd())
    cache = ResponseCache(cfg.cache_dir(root), read=options.use_cache)
    caller = Caller(
        concurrency=concurrency,
        timeout_s=cfg.eval.timeout_s,
        max_retries=cfg.eval.max_retries,
        backoff_base_s=cfg.eval.backoff_s,
    )
    plan = Plan(prompts=[], judges={judge: jplan}, repeat=1, judge_samples=k, concurrency=concurrency, selection={})
    # a calibration journals nothing: the executor is used only for its cached, repairing judge calls
    executor = Executor(plan, cache, caller, cast(Journal, None), Progress())
    return JudgeCall(jplan, executor)


def _stat(est: ag.Estimate) -> AgreementStat:
    value = None if math.isnan(est.value) else est.value
    return AgreementStat(value=value, low=est.low, high=est.high, method=est.method, n=est.n)


def _judge_label(score: float, labels: Labels) -> int | str:
    rounded = math.floor(score + 0.5)
    if labels.labels.scale == "pass_fail":
        return "pass" if score >= labels.labels.pass_at else "fail"
    return rounded


def _raters(items: Sequence[LabelItem]) -> list[str]:
    names: list[str] = []
    for it in items:
        if isinstance(it.human, dict):
            names += [r for r in it.human if r not in names]
    return names


def _alpha_units(items: Sequence[LabelItem], judge: Sequence[float | None] | None, scale: str) -> list[list[Any]]:
    raters = _raters(items)
    units: list[list[Any]] = []
    for i, it in enumerate(items):
        row: list[Any] = []
        for r in raters:
            v = it.human.get(r) if isinstance(it.human, dict) else (it.human if r == raters[0] else None)
            row.append(None if v is None else (v if scale == "score" else float(v == "pass")))
        if judge is not None:
            s = judge[i]
            row.append(None if s is None else (s if scale == "score" else float(s >= 0.5)))
        units.append(row)
    return units


def agreement_record(
    labels: Labels, judge_scores: Sequence[float | None]
) -> tuple[str, dict[str, AgreementStat | None], Confusion]:
    """The headline statistic's name, every statistic, and the confusion matrix of ``judge_scores`` (1-5, None
    for a judge error) against the consensus human labels."""
    items = labels.labels.items
    scale = labels.labels.scale
    humans = [consensus(it.ratings()) for it in items]
    pairs = [(h, s) for h, s in zip(humans, judge_scores, strict=True) if s is not None]
    if len(pairs) < 2:
        raise UsageError(f"{labels.file}: fewer than 2 items were scored by the judge; nothing to measure")
    human_l = [h for h, _ in pairs]
    judge_l = [_judge_label(s, labels) for _, s in pairs]
    stats: dict[str, AgreementStat | None] = {}
    if scale == "score":
        cats: list[Any] = [1, 2, 3, 4, 5]
        name = "quadratic-weighted kappa"
        stats["kappa"] = _stat(ag.cohen_kappa(human_l, judge_l, weights="quadratic", categories=cats))
        stats["accuracy"] = _stat(ag.accuracy(human_l, judge_l))
        stats["mean_signed_error"] = _stat(ag.mean_signed_error([float(h) for h in human_l], [s for _, s in pairs]))
        stats["f1_fail"] = None
    else:
        cats = ["pass", "fail"]
        name = "Cohen's kappa"
        stats["kappa"] = _stat(ag.cohen_kappa(human_l, judge_l, categories=cats))
        stats["accuracy"] = _stat(ag.accuracy(human_l, judge_l))
        stats["f1_fail"] = _stat(ag.f1_score(human_l, judge_l, positive="fail"))
        stats["mean_signed_error"] = None
    several = any(len(it.ratings()) > 1 for it in items)
    level: ag.Level = "ordinal" if scale == "score" else "nominal"
    stats["human_alpha"] = (
        _stat(ag.krippendorff_alpha(_alpha_units(items, None, scale), level=level)) if several else None
    )
    if several:
        as_unit: list[float | None] = [
            None if s is None else (s if scale == "score" else float(s >= labels.labels.pass_at)) for s in judge_scores
        ]
        stats["judge_alpha"] = _stat(ag.krippendorff_alpha(_alpha_units(items, as_unit, scale), level=level))
    else:
        stats["judge_alpha"] = None
    _, counts = ag.confusion_matrix(human_l, judge_l, cats)
    return name, stats, Confusion(categories=[str(c) for c in cats], counts=counts)


def calibrate(project: Project, judge: str, options: CalibrateOptions | None = None) -> JudgeCalibration:
    """Judge every labelled item, compare with the humans, run the bias probes; the calibration record."""
    options = options or CalibrateOptions()
    labels = load_labels(project, judge)
    call = prepare_judge(project, judge, options)
    items = labels.labels.items

    async def run() -> tuple[list[float | None], list[ProbeRun]]:
        scores = await asyncio.gather(
            *(
                call.mean_score(labels.item_vars(it), where=(labels.file, labels.line_of(i, "vars")))
                for i, it in enumerate(items)
            )
        )
        probes = await run_probes(call, labels, list(scores), options.probes, options.probe_items)
        return list(scores), probes

    scores, probes = asyncio.run(run())
    name, stats, confusion = agreement_record(labels, scores)
    kappa = stats.pop("kappa")
    assert kappa is not None
    per_item = [
        CalibratedItem(
            id=it.id,
            human=consensus(it.ratings()),
            judge=None if s is None else round(s, 6),
            error=None,
        )
        for it, s in zip(items, scores, strict=True)
    ]
    return JudgeCalibration(
        judge=judge,
        judge_sha256=call.plan.prompt.sha256,
        judge_config_sha256=call.plan.config_sha256,
        model=call.plan.target.model,
        labels_file=labels.file,
        labels_sha256=labels.sha256,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        scale=labels.labels.scale,
        samples=call.plan.samples,
        items=len(items),
        scored=sum(s is not None for s in scores),
        judge_errors=sum(s is None for s in scores),
        statistic=name,
        kappa=kappa,
        accuracy=stats["accuracy"],
        f1_fail=stats["f1_fail"],
        mean_signed_error=stats["mean_signed_error"],
        human_alpha=stats["human_alpha"],
        judge_alpha=stats["judge_alpha"],
        confusion=confusion,
        probes=[p.result for p in probes],
        per_item=per_item,
    )


def calibration_file(project: Project, judge: str) -> str:
    """Where ``judge``'s calibration record is committed: ``<paths.evals>/<judge>.calibration.json``."""
    return f"{project.config.paths.evals.strip('/')}/{judge}{CALIBRATION_SUFFIX}"


def write_calibration(project: Project, record: JudgeCalibration, path: str | None = None) -> str:
    """Write ``record`` (atomically) to ``path`` or beside the labels; returns the path written."""
    root = str(project.root or os.getcwd())
    target = path or confined(root, calibration_file(project, record.judge))
    check_outputs({"--out": target})
    text = json.dumps(dump_record(record, exclude_none=True), indent=2, ensure_ascii=False) + "\n"
    tmp = f"{target}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, target)
    return target
