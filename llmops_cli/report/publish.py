"""Write an HTML report file: the results view, or with a gate report the gate view."""

from __future__ import annotations

import os

from ..records.gate_report import GateReportRecord
from ..records.results import EvalResults


def write_html_report(
    path: str | os.PathLike[str],
    *,
    results: EvalResults | None = None,
    gate: GateReportRecord | None = None,
    root: str | os.PathLike[str] | None = None,
) -> None:
    """Write the results view (or, with ``gate``, the gate view) to ``path`` (parents created).

    Messages, expected values and tags come from the project at ``root`` (found from the current directory
    when None) when it has the evaluated prompt and golden set unchanged; without a project the report shows
    what the results file holds.
    """
    from ..errors import UserError
    from ..project import Project
    from .context import case_context
    from .html import gate_html, results_html

    context = None
    if results is not None:
        try:
            context = case_context(Project.open(root), results)
        except UserError:  # no project here
            context = None
    text = (
        gate_html(gate, head_results=results, context=context)
        if gate is not None
        else results_html(results or EvalResults(), context=context)
    )
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
