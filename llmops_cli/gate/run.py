"""Produce the base and head results the gate compares, then decide.

``--base REF``: the prompts as they are at ``git merge-base REF HEAD`` are read from git objects
(:meth:`Project.at_ref`, no checkout). **Both arms are judged with the base's judges** — judge prompts,
``judge.prompt``/``judge.model``, the judge model's alias and K, read from git objects at the merge-base
(:mod:`.judging`) — and R comes from the base too, through the same response cache. Only prompts whose eval
inputs changed (``--changed-since`` semantics: prompt, templates, partials, model alias, golden set, judges)
are evaluated; an unchanged prompt renders byte-identical requests, so it would replay the same cached
answers on both sides (Δ = 0) and is listed as unchanged instead. ``--base FILE``: a results file, which
must carry the same config hash, judges (prompt hash, model, judge configuration hash), K and R as the head
results, and judges configured as at the base's commit when this repository has it (else
:class:`GateInputError`, exit 2).

Sharding (``GateOptions.shard``): both sides evaluate only the cases of slice I/N (the same stable hash of
prompt and case id as ``eval run --shard``), so the shards' ``base.json`` and ``head.json`` merge with
``eval merge`` into exactly the unsharded files; ``eval gate --base base.json --head head.json`` then gives
the unsharded report. Each side's results carry ``run.gate`` (which arm, and the hash of the head
configuration of the gate run that produced it), so a base evaluated at a ref is accepted as comparable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..config import GateConfig
from ..errors import CheckFailed, UserError
from ..evals.model import EvalResults, GateInfo, RunInfo
from ..hashing import sha256_of
from ..judging.pairwise import pairwise_compare
from ..judging.status import judge_statuses
from ..project import Project
from .collect import collect
from .decide import GateReport, decide, verdict_line
from .judging import JudgePolicy, criteria_changes, differs_from_base, judge_changes, mark_new_judges
from .policy import GatePolicy, apply_removals, find_removals, policy_of, valid_moves
from .stats import overall_state

if TYPE_CHECKING:
    from ..evals.budget import Budget
    from ..evals.runner import RunOutcome
    from ..judging.status import JudgeStatus

Notify = Callable[[str], None]


class GateInputError(UserError):
    """The two sides cannot be compared honestly (different judges or configuration)."""


@dataclass
class GateOptions:
    base: str  # a git ref or a results file
    head: str | None = None  # a results file; None: evaluate the working tree
    out_dir: str | None = None  # where base.json / head.json go (default .llmops/gate)
    concurrency: int | None = None
    use_cache: bool = True
    shard: tuple[int, int] | None = None
    attack: dict[str, Any] | None = None  # eval gate --attack: both sides run the derived attack cases
    max_cost_usd: float | None = None  # the cap on both sides together (None: llmops.yaml's budget, if any)
    budget: Budget | None = None  # made by run_gate from the cap


def _is_results_file(spec: str) -> bool:
    return os.path.isfile(spec) and spec.endswith(".json")


def _judged_with(run: RunInfo) -> str | None:
    return run.gate.judged_with_config if run.gate is not None else None


def check_comparable(
    base: EvalResults, head: EvalResults, base_label: str, head_label: str, *, config: bool = True
) -> None:
    """Refuse results produced under different judge configurations (exit 2). ``config``: also require the
    same llmops.yaml hash (results files; a base re-evaluated from a ref legitimately has its own)."""
    b, h = base.run, head.run
    problems = []
    if config and b.config_hash != h.config_hash and _judged_with(b) != h.config_hash:
        problems.append("config_hash (llmops.yaml) differs")
    if b.judge_samples != h.judge_samples:
        problems.append(f"judge samples K differs ({b.judge_samples} vs {h.judge_samples})")
    if b.repeat != h.repeat:
        problems.append(f"repeat R differs ({b.repeat} vs {h.repeat})")
    bj, hj = b.judges, h.judges
    for name in sorted(set(bj) & set(hj)):
        if not bj[name].same_judge(hj[name]):
            problems.append(
                f"judge {name!r} differs: the arms were judged by different judge configurations "
                "(prompt, model or its alias)"
            )
    if problems:
        raise GateInputError(
            f"cannot compare {base_label} with {head_label}: "
            + "; ".join(problems)
            + ". Both sides must be judged the same way: use --base REF to judge both arms with the base's judges."
        )


def _meta(results: EvalResults, label: str) -> dict[str, Any]:
    """A side of the gate report: what was evaluated, under which settings (``GateReport.base``/``head``)."""
    run = results.run
    ex = run.execution
    cache = ex.cache.to_dict() if ex is not None and ex.cache is not None else {}
    return {
        "label": label,
        "git_sha": run.git_sha,
        "source": run.source,
        "config_hash": run.config_hash,
        "repeat": run.repeat,
        "judge_samples": run.judge_samples,
        "judges": {name: j.to_dict() for name, j in run.judges.items()},
        "judge_config_hash": run.judge_config_hash,
        "run_id": ex.id if ex is not None else None,
        "calls": ex.calls if ex is not None else None,
        "cache": {k: v for k, v in cache.items() if k != "dir"},
    }


def compare_results(
    base: EvalResults,
    head: EvalResults,
    config_project: Project,
    *,
    base_label: str = "base",
    head_label: str = "head",
    not_gated: dict[str, tuple[str, str]] | None = None,
    check_config: bool = True,
    gate_config: GateConfig | None = None,
    judge_project: Project | None = None,
) -> GateReport:
    """Gate two loaded results files (thresholds: ``gate_config``, else ``config_project``'s ``gate:``).
    ``judge_project``: the project whose judges graded both arms (default ``config_project``); their calibration
    status is shown per judged metric, and ``gate.judges.min_kappa_lower`` applies (:mod:`..judging.status`)."""
    check_comparable(base, head, base_label, head_label, config=check_config)
    skip = set(not_gated or {})
    names = [n for n in {*base.prompts, *head.prompts} if n not in skip]
    return decide(
        collect(base, names),
        collect(head, names),
        gate_config or config_project.config.gate,
        not_gated=not_gated,
        base_meta=_meta(base, base_label),
        head_meta=_meta(head, head_label),
        settings={"repeat": head.run.repeat, "judge_samples": head.run.judge_samples},
        calibration=_calibration(judge_project or config_project, base, head),
    )


def _calibration(project: Project | None, base: EvalResults, head: EvalResults) -> dict[str, JudgeStatus] | None:
    """The calibration status of every judge that graded either arm, read from ``project``."""
    if project is None:
        return None

    names = {
        j for r in (base, head) for info in r.prompts.values() for js in (info.judged_by or {}).values() for j in js
    }
    return judge_statuses(project, names)


def run_gate(project: Project, options: GateOptions, *, notify: Notify | None = None) -> GateReport:
    """Evaluate what is needed on each side and gate HEAD against the base."""
    from ..evals.results import load_results
    from ..evals.selection import changed_prompts
    from ..git import known_commit, merge_base

    say = notify or (lambda _msg: None)
    root = str(project.root or os.getcwd())
    cap = options.max_cost_usd if options.max_cost_usd is not None else project.config.budget.max_cost_usd
    if cap is not None and options.budget is None:
        from ..evals.budget import Budget

        options = replace(options, budget=Budget(cap))  # one cap for both sides
    out_dir = options.out_dir or os.path.join(root, ".llmops", "gate")
    os.makedirs(out_dir, exist_ok=True)
    cfg = project.config
    head_results = load_results(options.head) if options.head else None

    if _is_results_file(options.base):
        base_results = load_results(options.base)
        check_sides(base_results, head_results, root, options.base, options.head or "the working tree")
        base_commit = known_commit(root, base_results.run.git_sha) if base_results.run.git_sha else None
        head_conf = sha256_of(cfg.model_dump(mode="json"))
        judged_with = _judged_with(base_results.run)
        if head_results is None and head_conf not in (base_results.run.config_hash, judged_with):
            raise GateInputError(
                f"cannot compare {options.base} with the working tree: config_hash (llmops.yaml) differs. "
                "Use --base REF to evaluate both arms with the base's judges."
            )
        base_project = Project.at_ref(base_commit, root) if base_commit else None
        if head_results is None:
            names = [n for n in base_results.prompts if n in project.golden_names()]
            head_results = _evaluate(
                project,
                names,
                options,
                os.path.join(out_dir, "head.json"),
                notify=say,
                trust_base=base_commit,
                judge_project=base_project,
                judge_fallback=project if base_project is not None else None,
            )
        if base_project is None:
            say(f"{options.base} names no commit of this repository: gate settings and judges from the working tree")
            return compare_results(base_results, head_results, project, base_label=options.base, head_label="head")
        assert base_commit is not None
        check_comparable(base_results, head_results, options.base, options.head or "head")
        check_base_judges(base_results, head_results, base_project, options.base, options.head or "head")
        source = f"llmops.yaml at {base_commit[:12]} (the commit of {options.base})"
        policy = policy_of(base_project.config, cfg, source)
        judges = _judge_policy(base_results, head_results, base_project, project, f"llmops.yaml at {base_commit[:12]}")
        report = compare_results(
            base_results,
            head_results,
            project,
            base_label=options.base,
            head_label="head",
            gate_config=base_project.config.gate,
            judge_project=base_project,
        )
        moved = {new: old for old, new in valid_moves(base_project, project).items()}
        _warn_on_criteria(report, base_project, project, moved)
        return _with_policy(report, policy, base_project, project, say, judges=judges)

    if os.path.exists(options.base) and not os.path.isdir(options.base):
        raise GateInputError(f"--base {options.base}: a results file must be a .json file written by `llmops eval run`")
    if head_results is not None and head_results.run.gate is not None and head_results.run.gate.arm == "base":
        raise GateInputError(f"base and head swapped? {options.head} was produced as the gate's base arm")
    base_sha = merge_base(root, options.base)
    base_project = Project.at_ref(base_sha, root)
    base_label = f"{options.base} (merge-base {base_sha[:12]})"
    say(f"base: {base_label}")
    bcfg = base_project.config
    policy = policy_of(bcfg, cfg, f"llmops.yaml at {base_label}")
    moves = valid_moves(base_project, project)

    head_names = (
        sorted(head_results.prompts)
        if head_results is not None
        else [n for n in project.golden_names() if project.source.exists(project.prompt_file(n))]
    )
    base_names = set(base_project.golden_names())
    not_gated: dict[str, tuple[str, str]] = {}
    for n in sorted(base_names - set(head_names)):
        if head_results is None and not project.source.exists(project.prompt_file(n)):
            not_gated[n] = ("removed", "Prompt (or its golden set) removed in head: listed, not gated.")
    moved_to = {new: old for old, new in moves.items() if new in head_names}
    added = [
        n
        for n in head_names
        if n not in moved_to and (n not in base_names or not base_project.source.exists(base_project.prompt_file(n)))
    ]
    for n in added:
        not_gated[n] = ("added", "New prompt or golden set (no base version): listed, not gated.")
    for old in moved_to.values():
        not_gated.pop(old, None)
    candidates = [n for n in head_names if n not in not_gated and n not in moved_to]
    changed = changed_prompts(project, base_sha, candidates) if candidates else []
    changed = sorted({*changed, *moved_to})
    for n in candidates:
        if n not in changed:
            not_gated[n] = ("unchanged", "Eval inputs identical on both sides (cached answers, Δ = 0): not re-run.")
    say(f"gating {len(changed)} changed prompt(s); {len(candidates) - len(changed)} unchanged, {len(added)} added")

    if head_results is None:
        head_results = _evaluate(
            project,
            changed,
            options,
            os.path.join(out_dir, "head.json"),
            repeat=bcfg.eval.repeat,  # R and K set the gate's power: the base's, like its thresholds
            judge_samples=bcfg.judge.samples,
            notify=say,
            arm="head",
            trust_base=base_sha,
            judge_project=base_project,  # the base's judges grade both arms (llmops_cli.gate.judging)
            judge_fallback=project,
        )
    base_results = _evaluate(
        base_project,
        [moved_to.get(n, n) for n in changed],
        options,
        os.path.join(out_dir, "base.json"),
        judge_project=base_project,
        judge_fallback=project,
        repeat=head_results.run.repeat or bcfg.eval.repeat,
        judge_samples=head_results.run.judge_samples or bcfg.judge.samples,
        run_root=root,
        notify=say,
        arm="base",
        judged_with=sha256_of(cfg.model_dump(mode="json")),
        trust_base=base_sha,
        rename=moves,
    )
    report = compare_results(
        base_results,
        head_results,
        project,
        base_label=base_label,
        head_label=options.head or "head",
        not_gated=not_gated,
        check_config=False,
        gate_config=bcfg.gate,
        judge_project=base_project,
    )
    report.base["ref"] = options.base
    report.base["merge_base"] = base_sha
    _warn_on_criteria(report, base_project, project, moved_to)
    _pairwise(report, base_results, head_results, base_project, project)
    judges = _judge_policy(base_results, head_results, base_project, project, f"llmops.yaml at {base_label}")
    return _with_policy(report, policy, base_project, project, say, moves, judges=judges)


def _with_policy(
    report: GateReport,
    policy: GatePolicy,
    base_project: Project,
    project: Project,
    say: Notify,
    moves: dict[str, str] | None = None,
    *,
    judges: JudgePolicy | None = None,
) -> GateReport:
    """Attach where the settings and judges came from, and fail the removals the change makes (:mod:`.policy`)."""
    report.policy = policy
    report.judge = judges
    line = policy.changed_line()
    if line:
        say(line)
    for judge_line in (judges.changed_line(), judges.new_line()) if judges else ():
        if judge_line:
            say(judge_line)
    moves = moves if moves is not None else valid_moves(base_project, project)
    apply_removals(report, find_removals(base_project, project, base_project.config.gate, moves), moves)
    note = judges.status_note() if judges else None
    if note:
        report.line = with_note(report.line, note)
    return report


def _warn_on_criteria(report: GateReport, base_project: Project, project: Project, moved_to: dict[str, str]) -> None:
    """At least WARN for a gated prompt whose golden set changed what a judged metric asks its judge."""

    changed = False
    for p in report.gated:
        notes = criteria_changes(base_project, project, moved_to.get(p.prompt, p.prompt), p.prompt)
        if notes:
            changed = True
            p.judge_notes.extend(notes)
            p.state = overall_state([p.state or "PASS", "WARN"])
            p.reason = f"{p.reason} Judge criteria of {', '.join(n.metric for n in notes)}: {notes[0].detail}".strip()
    if changed:
        report.verdict = overall_state([p.state for p in report.prompts if p.state is not None])
        report.line = verdict_line(report.verdict, report.prompts)


def _pairwise(
    report: GateReport,
    base: EvalResults,
    head: EvalResults,
    base_project: Project,
    project: Project,
) -> None:
    """With ``gate.pairwise.judge`` (the base's), judge each gated prompt's base and head answers in both orders
    and test the preference (:mod:`llmops_cli.judging.pairwise`); a FAIL or WARN there raises the prompt's state."""
    judge = base_project.config.gate.pairwise.judge
    if judge is None:
        return

    th = base_project.config.gate
    for p in report.gated:
        first = {s.case_id: s.output for s in base.samples if s.prompt == p.prompt and s.sample == 0}
        golden = project.golden_set(p.prompt)
        variables = {c.id: golden.vars_for(c) for c in golden.cases} if golden is not None else {}
        pairs = [
            (s.case_id, {"question": str(variables.get(s.case_id, {}).get("question", ""))}, first[s.case_id], s.output)
            for s in head.samples
            if s.prompt == p.prompt and s.sample == 0 and s.output is not None and first.get(s.case_id) is not None
        ]
        result = pairwise_compare(
            base_project,
            judge,
            [(c, i, str(b), str(h)) for c, i, b, h in pairs],
            alpha=th.alpha,
            practical=th.practical,
        )
        p.pairwise = result.to_dict()
        if result.state != "PASS":
            p.state = overall_state([p.state or "PASS", result.state])
            p.reason = f"{p.reason} {result.reason}.".strip()
    report.verdict = overall_state([p.state for p in report.prompts if p.state is not None])
    report.line = verdict_line(report.verdict, report.prompts)


def with_note(line: str, note: str, limit: int = 140) -> str:
    """``line; note`` within ``limit`` characters: the line is shortened, the note is kept whole."""
    tail = f"; {note}"
    if len(line) + len(tail) <= limit:
        return line + tail
    return line[: max(0, limit - len(tail) - 1)] + "…" + tail


def _judge_policy(
    base: EvalResults, head: EvalResults, base_project: Project, project: Project, source: str
) -> JudgePolicy:
    """Which judges graded the arms: the change's attempted judge changes, and its new judges (marked)."""
    new = sorted({*mark_new_judges(head, base_project), *mark_new_judges(base, base_project)})
    names = {*base.run.judges, *head.run.judges, base_project.config.judge.prompt}
    return JudgePolicy(source, judge_changes(base_project, project, names), new)


def check_base_judges(
    base: EvalResults, head: EvalResults, base_project: Project, base_label: str, head_label: str
) -> None:
    """Refuse (exit 2) results judged with a judge the base configures differently: a change's own judge
    must not grade it, even in both arms alike."""
    sides = ((base_label, differs_from_base(base, base_project)), (head_label, differs_from_base(head, base_project)))
    problems = [
        f"{label} was judged with {', '.join(repr(n) for n in names)} as configured differently from the base"
        for label, names in sides
        if names
    ]
    if problems:
        raise GateInputError(
            "cannot gate with these results: "
            + "; ".join(problems)
            + " (judge changed in this PR?). Use --base REF, which judges both arms with the base's judges, or "
            "produce both results with the base's judge configuration."
        )


def check_sides(base: EvalResults, head: EvalResults | None, root: str, base_label: str, head_label: str) -> None:
    """Refuse (exit 2) a base and head given the wrong way round: a side produced as the other arm by
    ``eval gate``, or a base whose commit descends from the head's."""
    from ..git import head_sha, is_ancestor

    b_arm = base.run.gate.arm if base.run.gate else None
    h_arm = head.run.gate.arm if head is not None and head.run.gate else None
    if b_arm == "head" or h_arm == "base":
        raise GateInputError(
            f"base and head swapped? {base_label} was produced as the gate's {b_arm or 'unknown'} arm"
            + (f" and {head_label} as its {h_arm or 'unknown'} arm" if head is not None else "")
            + ": give the base results with --base and the head results with --head"
        )
    b_sha = base.run.git_sha
    h_sha = head.run.git_sha if head is not None else head_sha(root)
    if b_sha and h_sha and b_sha != h_sha and is_ancestor(root, h_sha, b_sha):
        raise GateInputError(
            f"base and head swapped? the base ({base_label}, commit {b_sha[:12]}) is newer than the head "
            f"({head_label}, commit {h_sha[:12]}), which is one of its ancestors: give the older side with --base"
        )


def _evaluate(
    project: Project,
    names: list[str],
    options: GateOptions,
    out: str,
    *,
    judge_project: Project | None = None,
    judge_fallback: Project | None = None,
    repeat: int | None = None,
    judge_samples: int | None = None,
    run_root: str | None = None,
    notify: Notify | None = None,
    arm: str = "head",
    judged_with: str | None = None,
    trust_base: str | None = None,
    rename: dict[str, str] | None = None,
) -> EvalResults:
    """One side: ``run_eval`` over ``names`` (an empty list runs nothing), written to ``out`` with
    ``run.gate`` added, loaded back. ``trust_base``: the commit whose llmops.yaml says which api_base/key
    pairings may carry a key; ``rename``: {old: new} prompt names (declared moves) in the written file."""
    from ..evals.results import load_results, save_results
    from ..evals.runner import EvalOptions, run_eval

    opts = EvalOptions(
        names=list(names),
        repeat=repeat,
        judge_samples=judge_samples,
        concurrency=options.concurrency,
        use_cache=options.use_cache,
        shard=options.shard,
        out=out,
        base=trust_base,
        shard_as=dict(rename) if rename else None,
        attack=options.attack,
    )
    gate_info = GateInfo(arm, judged_with or sha256_of(project.config.model_dump(mode="json")))
    if not names:
        from ..evals.summary import summarize

        run = RunInfo(repeat=repeat, judge_samples=judge_samples, gate=gate_info)
        results = EvalResults(run=run, summary=summarize({}, []))
    else:
        outcome: RunOutcome = run_eval(
            project,
            opts,
            judge_project=judge_project,
            judge_fallback=judge_fallback,
            run_root=run_root,
            notify=notify,
            budget=options.budget,
        )
        if outcome.incomplete is not None and options.budget is not None:
            b = options.budget
            raise CheckFailed(
                f"budget reached during the gate's {arm} run: spent ${b.spent_usd:.6f} of ${b.cap_usd:.6f}; "
                f"{outcome.incomplete.samples_missing} of {outcome.incomplete.samples_planned} samples not run "
                f"(partial results: {outcome.results_path}); no verdict"
            )
        results = load_results(outcome.results_path)
        results.run.gate = gate_info
        if rename:
            rename_prompts(results, rename)
    save_results(out, results)
    return load_results(out)


def rename_prompts(results: EvalResults, rename: dict[str, str]) -> None:
    """Rename prompts of ``results`` in place (a declared move: the base's old name becomes head's new one)."""
    from ..evals.summary import summarize

    results.prompts = {rename.get(n, n): info for n, info in results.prompts.items()}
    for rec in results.samples:
        rec.prompt = rename.get(rec.prompt, rec.prompt)
    results.samples.sort(key=lambda r: r.key())
    results.summary = summarize(results.prompts, results.samples)
