"""Provider drift: a release's eval baseline, and ``llmops eval drift NAME@CHANNEL`` against it.

``record_baseline`` keeps, for a release, the per-case scores of the eval that admitted it (an eval results
file whose prompt hash is the release's): a :class:`~llmops_cli.records.baseline.ReleaseBaseline` in a git
note on the release's tag object (``refs/notes/llmops-baseline``; push it with
``git push origin refs/notes/llmops-baseline``), with the model's price and deprecation date at that time.

``run_drift`` re-runs the release's golden set *now* — the project as committed at the release (same prompt,
same pinned model and params, same judges), response cache off so every answer is fresh — and compares it
with the baseline **paired, case by case**, with the gate's statistics (:func:`llmops_cli.gate.stats.compare_prompt`:
sign-flip / McNemar tests, the practical margin and α of llmops.yaml's ``gate:``). A decisive metric in FAIL
(a significant drop of at least the practical size) means the provider changed behaviour under a pinned release.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import CheckFailed, IntegrityError, NotFoundError, UsageError
from ..git import GitRepoDir, discover
from ..hashing import sha256_of
from ..records.base import dump_record, load_record
from ..records.baseline import MAX_CASES, MAX_NOTE_BYTES, BaselineCase, Price, ReleaseBaseline
from ..tagnames import ReleaseTag

NOTES_REF = "refs/notes/llmops-baseline"


def _digest(b: ReleaseBaseline) -> str:
    data = dump_record(b)
    data.pop("sha256", None)
    return sha256_of(data)


def _release(repo: GitRepoDir, ref: str) -> ReleaseTag:
    from .create import split_ref
    from .resolve import resolve_tag

    name, spec = split_ref(ref)
    return repo.detailed(resolve_tag(repo, name, spec or "latest"))


def baseline_from_results(path: str, tag: ReleaseTag, sha256: str, model: str | None) -> ReleaseBaseline:
    """A baseline of release ``tag`` from the eval results file ``path`` (its prompt hash must be ``sha256``)."""
    from ..evals.results import load_results
    from ..gate.collect import collect
    from ..models.prices import deprecation_of, price_of

    results = load_results(path)
    info = results.prompts.get(tag.name)
    if info is None:
        raise NotFoundError(f"{path}: the results hold no eval of '{tag.name}'")
    if info.prompt_sha256 != sha256:
        raise UsageError(
            f"{path}: the results evaluated '{tag.name}' with content {str(info.prompt_sha256)[:12]}, not the "
            f"release {tag.version} ({sha256[:12]}): record the eval that admitted this release"
        )
    arm = collect(results, [tag.name]).get(tag.name)
    if arm is None or not arm.cases:
        raise UsageError(f"{path}: no scored case of '{tag.name}'")
    if len(arm.cases) > MAX_CASES:
        raise UsageError(f"{path}: {len(arm.cases)} cases; a baseline holds at most {MAX_CASES}")
    cases = [
        BaselineCase(
            case_id=c.case_id,
            cluster=c.cluster,
            scores={m: v[:200] for m, v in sorted(c.scores.items())},
            outputs_sha256=[None if o is None else sha256_of(o) for o in c.outputs][:200],
        )
        for c in sorted(arm.cases.values(), key=lambda c: c.case_id)
    ]
    price = None
    if model:
        p = price_of(model)
        price = Price(input_per_token=p.input_per_token, output_per_token=p.output_per_token) if p else None
    b = ReleaseBaseline(
        prompt=tag.name,
        version=str(tag.version),
        tag=tag.tag,
        prompt_sha256=sha256,
        model=model,
        price=price,
        deprecation_date=deprecation_of(model) if model else None,
        recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        results_sha256=_file_sha256(path),
        repeat=results.run.repeat,
        judge_samples=results.run.judge_samples,
        cases=cases,
    )
    b.sha256 = _digest(b)
    return b


def _file_sha256(path: str) -> str:

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def record_baseline(ref: str, results_path: str, *, root: str | os.PathLike[str] | None = None) -> ReleaseBaseline:
    """``llmops release baseline NAME@VERSION RESULTS``: note the baseline on the release's tag object."""
    from .loader import prompt_at_tag

    repo = discover(root)
    tag = _release(repo, ref)
    prompt = prompt_at_tag(repo, tag)
    if read_baseline(repo, tag, missing_ok=True) is not None:
        raise UsageError(f"{tag.name}@{tag.version} already has a baseline; baselines are never overwritten")
    b = baseline_from_results(results_path, tag, prompt.sha256, prompt.model)
    line = json.dumps(dump_record(b), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    if len(line) > MAX_NOTE_BYTES:
        raise UsageError(f"the baseline of {tag.name}@{tag.version} would exceed {MAX_NOTE_BYTES} bytes")
    repo.append_note(NOTES_REF, line, tag.object_sha)
    return b


def baseline_after_release(
    name: str, version: str, results_path: str, *, root: str | os.PathLike[str] | None = None
) -> list[str]:
    """``release create --gate-result FILE``: when FILE is an eval results file of this release's content, note
    it as the baseline; otherwise say why not (a warning, never a failed release: the tag already exists)."""
    from ..errors import UserError

    try:
        b = record_baseline(f"{name}@{version}", results_path, root=root)
    except UserError as exc:
        return [f"no eval baseline recorded ({exc}); `llmops release baseline {name}@{version} RESULTS.json` adds one"]
    return [f"eval baseline of {len(b.cases)} cases recorded ({NOTES_REF}); share it: git push origin {NOTES_REF}"]


def read_baseline(repo: GitRepoDir, tag: ReleaseTag, *, missing_ok: bool = False) -> ReleaseBaseline | None:
    """The verified baseline of ``tag`` (None when it has none and ``missing_ok``)."""
    note = repo.read_note(NOTES_REF, tag.object_sha)
    source = f"git note {NOTES_REF} on {tag.tag}"
    if note is None or not note.strip():
        if missing_ok:
            return None
        raise NotFoundError(
            f"{tag.name}@{tag.version} has no eval baseline: record the eval that admitted it with "
            f"`llmops release baseline {tag.name}@{tag.version} RESULTS.json`"
        )
    if len(note) > MAX_NOTE_BYTES:
        raise IntegrityError(f"{source}: larger than {MAX_NOTE_BYTES} bytes")
    first = note.strip().splitlines()[0]
    try:
        data = json.loads(first)
    except (ValueError, RecursionError):
        raise IntegrityError(f"{source}: not JSON") from None
    b = load_record(ReleaseBaseline, data, source=source)
    if b.sha256 != _digest(b):
        raise IntegrityError(f"{source}: modified (its sha256 does not match its content)")
    if b.prompt != tag.name or b.version != str(tag.version):
        raise IntegrityError(f"{source}: names {b.prompt}@{b.version}, not {tag.name}@{tag.version}")
    return b


@dataclass
class DriftResult:
    """A drift check of one release: the gate's comparison of now against the baseline."""

    prompt: str
    version: str
    baseline: ReleaseBaseline
    comparisons: list[Any] = field(default_factory=list)
    results_path: str | None = None

    @property
    def failed(self) -> list[Any]:
        return [c for c in self.comparisons if c.decisive and c.state == "FAIL"]

    def lines(self) -> list[str]:
        out = []
        for c in self.comparisons:
            delta = "–" if c.delta is None else f"{c.delta:+.3f}"
            p = "–" if c.p_value is None else f"{c.p_value:.3g}"
            out.append(
                f"{c.state:<4} {self.prompt}@{self.version} {c.metric}: Δ {delta} over {c.n_cases} cases (p {p})"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "llmops.eval-drift/1",
            "prompt": self.prompt,
            "version": self.version,
            "baseline_recorded_at": self.baseline.recorded_at,
            "drifted": bool(self.failed),
            "metrics": [c.to_dict() for c in self.comparisons],
            "results": self.results_path,
        }


def run_drift(
    ref: str,
    *,
    root: str | os.PathLike[str] | None = None,
    out: str | None = None,
    notify: Any = None,
    concurrency: int | None = None,
) -> DriftResult:
    """Re-run ``ref``'s golden set now and compare it with the release's baseline (see the module)."""
    from ..evals.results import load_results
    from ..evals.runner import EvalOptions, run_eval
    from ..gate.collect import Arm, CaseData, collect, metric_plan
    from ..gate.stats import Thresholds, compare_prompt
    from ..project import Project
    from .loader import prompt_at_tag

    repo = discover(root)
    tag = _release(repo, ref)
    prompt = prompt_at_tag(repo, tag)
    base = read_baseline(repo, tag)
    assert base is not None
    if base.prompt_sha256 != prompt.sha256:
        raise IntegrityError(f"the baseline of {tag.name}@{tag.version} was recorded for other content")
    project = Project.at_ref(tag.commit, repo.project_root)
    folder = tempfile.mkdtemp(prefix="llmops-drift-")
    path = out or os.path.join(folder, "results.json")
    opts = EvalOptions(
        names=[tag.name],
        repeat=base.repeat,
        judge_samples=base.judge_samples,
        concurrency=concurrency,
        use_cache=False,  # fresh answers: a replay from the cache would hide any drift
        out=path,
    )
    outcome = run_eval(project, opts, run_root=str(repo.project_root), notify=notify)
    head = collect(load_results(outcome.results_path), [tag.name]).get(tag.name) or Arm(tag.name)
    then = Arm(tag.name, prompt_sha256=base.prompt_sha256)
    for c in base.cases:
        then.cases[c.case_id] = CaseData(c.case_id, c.cluster, {m: list(v) for m, v in c.scores.items()})
    then.judged_metrics = set(head.judged_metrics)
    then.judged_by = dict(head.judged_by)  # the release's own judges grade both (the project at its tag)
    plan = metric_plan(then, head)
    common = sorted(set(then.cases) & set(head.cases))
    if not common:
        raise UsageError(f"{tag.name}@{tag.version}: no case of the baseline was evaluated now")
    metrics = {
        m: ({k: then.cases[k].scores.get(m, []) for k in common}, {k: head.cases[k].scores.get(m, []) for k in common},
            kind, decisive)
        for m, (kind, decisive) in plan.items()
    }  # fmt: skip
    clusters = {k: then.cases[k].cluster for k in common}
    gate = project.config.gate
    comps = compare_prompt(metrics, clusters, Thresholds(practical=gate.practical, alpha=gate.alpha))  # type: ignore[arg-type]
    return DriftResult(tag.name, str(tag.version), base, comps, outcome.results_path)


def check_drift(result: DriftResult) -> None:
    """Exit 1 (:class:`CheckFailed`) naming the prompt when a decisive metric dropped beyond the margin."""
    if result.failed:
        names = ", ".join(c.metric for c in result.failed)
        raise CheckFailed(
            f"eval drift: {result.prompt}@{result.version} scores lower now than when it was released ({names}): "
            "the provider changed behaviour under the pinned model"
        )


__all__ = [
    "NOTES_REF",
    "DriftResult",
    "baseline_after_release",
    "check_drift",
    "read_baseline",
    "record_baseline",
    "run_drift",
]
