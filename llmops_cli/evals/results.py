"""The results file (``schema_version: 1``): reading, writing, merging shards, the content view.

Layout (documented in ``docs/eval.md``; typed by :class:`~llmops_cli.records.results.EvalResults`, JSON Schema
in ``schemas/results.schema.json``)::

    {"schema_version": 1, "kind": "llmops-eval-results",
     "run": {...stable run metadata..., "execution": {...volatile: id, times, shard, cache and call counts...}},
     "prompts": {name: {prompt_sha256, model, golden_set: {file, sha256, cases}, min_pass_rate, clusters, judges}},
     "summary": {"passed": bool, "totals": {...}, "prompts": {name: {...pass rate, metrics, tokens, cost...}}},
     "samples": [one record per prompt x case x sample, sorted by (prompt, case_id, sample)]}

Files are written to a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from ..errors import PromptFileError, UserError
from ..records.results import (
    RESULTS_KIND,
    EvalResults,
    Execution,
    Invalid,
    PromptInfo,
    RunInfo,
    SampleRecord,
    Summary,
    content_view,
    read_results_document,
    results_document_text,
)
from .consistency import check_samples
from .summary import summarize

__all__ = [
    "RESULTS_KIND",
    "EvalResults",
    "content_view",
    "load_results",
    "merge_results",
    "missing_shards",
    "parse_results",
    "results_from_dict",
    "save_results",
    "validate_results",
    "write_results",
    "write_results_json",
]


# -- writing ------------------------------------------------------------------------------------------------


def write_results(
    path: str,
    run: RunInfo,
    prompts: dict[str, PromptInfo],
    summary: Summary,
    samples: Iterable[SampleRecord],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write a results file, streaming ``samples`` (already in canonical order) one per line. ``extra``:
    top-level keys this version does not know, kept from the file that was read."""
    info = {k: v.to_dict() for k, v in prompts.items()}
    write_results_json(path, run.to_dict(), info, summary.to_dict(), (rec.to_dict() for rec in samples), extra)


def write_results_json(
    path: str,
    run: dict[str, Any],
    prompts: dict[str, Any],
    summary: dict[str, Any],
    samples: Iterable[dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> None:
    """:func:`write_results` from the JSON forms (``to_dict()``) of the parts: the runner streams its
    journal's records, which are already :meth:`SampleRecord.to_dict` output, without rebuilding them."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    from ..redact import redactor

    redact = redactor()

    def dump(value: object) -> str:
        return redact(_dumps(value))

    with open(tmp, "w", encoding="utf-8") as fh:
        for piece in results_document_text(run, prompts, summary, samples, extra, dump):
            fh.write(piece)
    os.replace(tmp, path)


def save_results(path: str, results: EvalResults) -> None:
    write_results(path, results.run, results.prompts, results.summary, results.samples, results.extra)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# -- reading ------------------------------------------------------------------------------------------------


def results_from_dict(data: object) -> EvalResults:
    """Validate a parsed results file (:func:`~llmops_cli.records.results.read_results_document`), check that
    its judge counts agree with its scores (:mod:`.consistency`) and recompute a missing summary. Raises
    :class:`~llmops_cli.records.results_types.Invalid` naming the JSON path."""
    results, summary_missing = read_results_document(data)
    check_samples(results.samples, results.run.repeat, results.run.judge_samples)
    if summary_missing:  # derived data: recompute what is not there
        results.summary = summarize(results.prompts, results.samples)
    return results


def parse_results(data: object, path: str) -> EvalResults:
    """:func:`results_from_dict`, its problems as a :class:`PromptFileError` (exit 2) naming ``path`` and
    the JSON path of the bad value (``$.samples[3].judge.errors``)."""
    try:
        return results_from_dict(data)
    except Invalid as bad:
        raise PromptFileError(f"invalid results file: $.{bad}" if bad.where else bad.what, file=path) from None


def load_results(path: str) -> EvalResults:
    """Read and validate a results file; :class:`UserError` (exit 2) naming the file and the JSON path when
    it is not one this version understands. A summary (or its totals) missing from the file is recomputed."""
    from ..jsonio import load_file_strict

    return parse_results(load_file_strict(path, what="results file"), path)


def validate_results(data: object) -> str | None:
    """What is wrong with a results document (``"<JSON path>: <problem>"``), or None."""
    try:
        results_from_dict(data)
    except Invalid as bad:
        return str(bad) if bad.where else bad.what
    return None


# -- merging shards -----------------------------------------------------------------------------------------

_MUST_MATCH = ("llmops_version", "git_sha", "config_hash", "repeat", "judge_samples", "judges", "selection")


def merge_results(paths: list[str]) -> EvalResults:
    """Join shard results into one results file equal in content to an unsharded run (see
    :func:`content_view`). The shards must come from the same commit, config and settings, and must not
    overlap."""
    if not paths:
        raise UserError("eval merge needs at least one results file")
    parts = [(p, load_results(p)) for p in paths]
    first_path, first = parts[0]
    prompts: dict[str, PromptInfo] = {}
    samples: dict[tuple[str, str, int], SampleRecord] = {}
    shards: list[str] = []
    executions: list[Execution] = []
    for path, data in parts:
        if data.run.incomplete is not None:
            raise UserError(
                f"cannot merge {path}: the run stopped early ({data.run.incomplete.reason} reached); "
                "finish it with `llmops eval run --resume RUN` first"
            )
        for key in _MUST_MATCH:
            if getattr(data.run, key) != getattr(first.run, key):
                raise UserError(f"cannot merge {path} with {first_path}: run.{key} differs")
        for name, info in data.prompts.items():
            if name in prompts and prompts[name] != info:
                raise UserError(f"cannot merge {path}: prompt {name!r} differs from the other shards")
            prompts[name] = info
        for rec in data.samples:
            k = rec.key()
            if k in samples:
                raise UserError(f"cannot merge {path}: sample {k} also appears in another file (overlapping shards?)")
            samples[k] = rec
        ex = data.run.execution or Execution()
        executions.append(ex)
        if ex.shard:
            shards.append(ex.shard)
    check_shards([(p, d) for p, d in parts], shards)
    started = [e.started_at for e in executions if e.started_at]
    finished = [e.finished_at for e in executions if e.finished_at]
    run = first.run.model_copy(update={"execution": None})
    run.execution = Execution(
        merged_from=len(parts),
        shards=sorted(shards),
        started_at=min(started) if started else None,
        finished_at=max(finished) if finished else None,
        shard=None,
    )
    ordered = [samples[k] for k in sorted(samples)]
    merged_prompts = dict(sorted(prompts.items()))
    return EvalResults(run=run, prompts=merged_prompts, summary=summarize(merged_prompts, ordered), samples=ordered)


def check_shards(parts: list[tuple[str, EvalResults]], shards: list[str]) -> None:
    """Refuse (exit 2) a merge of shards that cannot make the whole run: sharded and unsharded files mixed,
    different shard counts, a shard given twice or missing, or a file holding cases of another shard."""
    from .selection import shard_of

    if not shards:
        return
    labels: dict[str, tuple[int, int]] = {}
    for path, data in parts:
        label = data.run.execution.shard if data.run.execution else None
        if not label:
            raise UserError(f"cannot merge {path}: it is not a shard (no run.execution.shard) but the others are")
        i, _, n = label.partition("/")
        if not (i.isdigit() and n.isdigit() and 1 <= int(i) <= int(n) <= 10_000):
            raise UserError(f"cannot merge {path}: shard label {label[:40]!r} is not I/N")
        if (int(i), int(n)) in labels.values():
            raise UserError(f"cannot merge {path}: shard {label} is given twice")
        labels[path] = (int(i), int(n))
        for rec in data.samples:
            owner = shard_of(rec.prompt, rec.case_id, int(n))
            if owner != int(i):
                raise UserError(
                    f"cannot merge {path}: it is labelled shard {label} but holds case {rec.case_id[:80]!r} of "
                    f"prompt {rec.prompt[:80]!r}, which belongs to shard {owner}/{n}"
                )
    counts = {n for _, n in labels.values()}
    if len(counts) > 1:
        raise UserError(f"cannot merge shards of different counts: {', '.join(sorted(shards))}")
    missing = missing_shards(shards)
    if missing:
        raise UserError(
            f"cannot merge: shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing "
            f"(given: {', '.join(sorted(shards))}); the merged file would not be the whole run"
        )


def missing_shards(shards: list[str]) -> list[str]:
    """Shards ``I/N`` not among ``shards`` (empty when complete or unsharded)."""
    if not shards:
        return []
    n = int(shards[0].split("/")[1])
    have = set(shards)
    return [f"{i}/{n}" for i in range(1, n + 1) if f"{i}/{n}" not in have]
