"""``llmops judge label``: a label template from a results file — answers a judge graded, with the judge's
inputs filled in and ``human:`` empty. The file does not validate until every ``human:`` is filled (exit 2
naming the line), so a half-labelled set cannot be calibrated by accident."""

from __future__ import annotations

import os
from typing import Any

import yaml

from ..errors import UsageError
from ..evals.judges import candidate_inputs, select_inputs
from ..evals.plan import EvalOptions, build_plan
from ..evals.results import load_results
from ..pathsafe import confined
from ..project import Project
from ..sources import check_outputs
from .labels import labels_file

__all__ = ["label_candidates", "label_template", "write_label_template"]

HEADER = """\
# Human labels for the judge {judge}, written by `llmops judge label` from {results}.
# Fill in every `human:` with your own score from 1 to 5 (or {{ana: 4, ben: 5}} for several raters), judging
# the answer against the criteria as the judge's rubric describes them. The judge's scores are left out on
# purpose: read the answer, not the judge. Then: llmops judge calibrate {judge}
"""


def label_candidates(project: Project, results_path: str, judge: str) -> list[tuple[float | None, dict[str, Any]]]:
    """Every (sample, assertion) of ``results_path`` graded by ``judge``: ``(judge score 0-1, label item)``."""
    results = load_results(results_path)
    names = sorted({s.prompt for s in results.samples if project.source.exists(project.prompt_file(s.prompt))})
    names = [n for n in names if project.golden_file(n) is not None]
    if not names:
        raise UsageError(f"{results_path}: none of its prompts has a prompt file and golden set in this project")
    plan = build_plan(project, EvalOptions(names=names))
    cases = {(pp.name, cp.case.id): (pp, cp) for pp in plan.prompts for cp in pp.cases}
    declared = plan.judges[judge].prompt.spec.inputs if judge in plan.judges else None
    if declared is None:
        raise UsageError(f"{results_path}: no assertion of its prompts is graded by judge '{judge}'")
    out: list[tuple[float | None, dict[str, Any]]] = []
    for s in results.samples:
        found = cases.get((s.prompt, s.case_id))
        if found is None or s.output is None:
            continue
        pp, cp = found
        messages = pp.prompt.render(cp.variables).messages
        for spec in cp.asserts:
            if cp.judge_of.get(spec.index) != judge:
                continue
            rec = next((a for a in s.assertions if a.index == spec.index), None)
            cands = candidate_inputs(
                spec, variables=cp.variables, expected=cp.case.expected, output=s.output, messages=messages
            )
            item_id = f"{s.prompt.replace('/', '.')}.{s.case_id.replace('/', '.')}.s{s.sample}.a{spec.index}"
            item = {"id": item_id, "source": f"{s.prompt} case {s.case_id} sample {s.sample}", "model": s.model,
                    "vars": select_inputs(declared, cands), "human": None}  # fmt: skip
            out.append((None if rec is None else rec.score, item))
    return out


def _spread(cands: list[tuple[float | None, dict[str, Any]]], n: int) -> list[dict[str, Any]]:
    """``n`` items spread evenly from the judge's lowest to its highest score (unscored ones last)."""
    ordered = sorted(cands, key=lambda c: (c[0] is None, c[0] or 0.0, c[1]["id"]))
    if len(ordered) <= n:
        return [c[1] for c in ordered]
    step = len(ordered) / n
    return [ordered[int(i * step)][1] for i in range(n)]


def label_template(project: Project, results_path: str, judge: str, n: int) -> tuple[str, int]:
    """``(YAML text, items)`` of a label template with ``n`` answers graded by ``judge``."""
    items = _spread(label_candidates(project, results_path, judge), n)
    if not items:
        raise UsageError(f"{results_path}: no answer graded by judge '{judge}' to label")
    doc = {"judge": judge, "scale": "score", "items": [{k: v for k, v in it.items() if v is not None or k == "human"}
                                                       for it in items]}  # fmt: skip
    text = HEADER.format(judge=judge, results=os.path.basename(results_path)[:200])
    text += yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
    return text, len(items)


def write_label_template(project: Project, results_path: str, judge: str, n: int, out: str | None) -> tuple[str, int]:
    """Write the template to ``out`` or ``<evals>/<judge>.labels.yaml`` (never over an existing file)."""

    root = str(project.root or os.getcwd())
    text, count = label_template(project, results_path, judge, n)
    path = out or confined(root, labels_file(project, judge))
    if os.path.lexists(path):
        raise UsageError(f"{path} exists: label the new answers in another file (--out) and merge them by hand")
    check_outputs({"--out": path})
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "x", encoding="utf-8") as fh:
        fh.write(text)
    return path, count
