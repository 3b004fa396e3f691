"""Cross-field checks of a results file: every missing judge verdict is an error the gate can see.

A results file comes from a pull request, so its counts cannot be trusted to agree with its scores. The
gate's error rule counts judge errors from ``samples[i].judge.errors`` and scores from the assertions'
``samples``; if the two disagree, a head could null its worst judge samples (``[null, null, null]`` with
``judge.errors: 0``) and lose those cases from the comparison without the error rule noticing. So, per
sample record (JSON paths in every message, raised as :class:`~llmops_cli.records.results_types.Invalid`, exit 2):

* ``sample`` is one of the run's R generations (``0 ≤ sample < run.repeat``);
* a judge assertion carries its judge samples: a non-empty ``samples`` list of exactly K entries
  (``run.judge_samples``; without it, the same length throughout the file), ``null`` for an error;
* its ``judge_errors`` (≤ K) equals the number of ``null`` samples;
* the record's ``judge.samples`` and ``judge.errors`` equal the totals over its judge assertions (and are 0
  when it has none).

Generations missing altogether (fewer than R records for a case, or a case run on one side only) are
counted as provider errors by the gate (:mod:`llmops_cli.gate.collect`, :mod:`llmops_cli.gate.decide`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..records.results import AssertionRecord, Invalid, SampleRecord
from .assertions import JUDGE_TYPES


def is_judged(a: AssertionRecord) -> bool:
    """A judge graded this assertion (it has judge samples, or a judge assertion type)."""
    return a.samples is not None or (a.type or "").removeprefix("not-") in JUDGE_TYPES


def check_samples(samples: Sequence[SampleRecord], repeat: int | None, judge_samples: int | None) -> None:
    """Raise :class:`Invalid` at the first record whose judge counts disagree (see the module docstring)."""
    k = judge_samples or None
    k_from = "run.judge_samples" if k else ""
    for i, rec in enumerate(samples):
        at = f"samples[{i}]"
        if repeat and rec.sample >= repeat:
            raise Invalid(f"{at}.sample", f"sample {rec.sample} but run.repeat is {repeat} (samples 0–{repeat - 1})")
        calls = errors = 0
        for j, a in enumerate(rec.assertions):
            if not is_judged(a):
                continue
            where = f"{at}.assertions[{j}]"
            if a.samples is None:
                raise Invalid(f"{where}.samples", "missing: a judge assertion carries its K judge sample scores")
            if not a.samples:
                raise Invalid(f"{where}.samples", "empty: a judge assertion carries its K judge sample scores")
            if k is None:
                k, k_from = len(a.samples), f"{where}.samples"
            if len(a.samples) != k:
                raise Invalid(f"{where}.samples", f"{len(a.samples)} judge samples, but K = {k} ({k_from})")
            nulls = sum(1 for s in a.samples if s is None)
            if a.judge_errors is not None and a.judge_errors > k:
                raise Invalid(f"{where}.judge_errors", f"{a.judge_errors} judge errors exceed K = {k}")
            if a.judge_errors is not None and a.judge_errors != nulls:
                raise Invalid(
                    f"{where}.judge_errors", f"{a.judge_errors} judge errors, but {nulls} of its samples are null"
                )
            calls += len(a.samples)
            errors += nulls
        judge = rec.judge
        stated_calls = (judge.samples or 0) if judge is not None else 0
        stated_errors = (judge.errors or 0) if judge is not None else 0
        if calls and judge is None:
            raise Invalid(f"{at}.judge", f"null, but its judge assertions carry {calls} judge samples")
        if stated_calls != calls:
            raise Invalid(
                f"{at}.judge.samples", f"{stated_calls} judge samples, but its judge assertions carry {calls}"
            )
        if stated_errors != errors:
            raise Invalid(
                f"{at}.judge.errors", f"{stated_errors} judge errors, but {errors} of its judge sample scores are null"
            )
