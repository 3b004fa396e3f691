"""Where a gate report goes after the decision: ``gate.json``, the markdown file, the HTML report, the GitHub
step summary and the commit status ``llmops/eval``. Everything written is redacted."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..project import Project
    from ..records.results import EvalResults
    from .decide import GateReport


@dataclass(frozen=True)
class GateOutputs:
    """The files a gate run writes besides base.json and head.json (``folder``: where those went)."""

    folder: str
    markdown: str | None = None
    html: str | None = None
    head: str | None = None
    """``--head`` results file, for the HTML report (default: the head.json this run wrote)."""
    verbose: bool = False
    started: float = 0.0
    """When the gate run started (``time.time()``): an older head.json in ``folder`` is not this run's."""


def default_out_dir(project: Project) -> str:
    """``.llmops/gate`` under the project root (the current directory when there is none)."""
    return os.path.join(str(project.root or os.getcwd()), ".llmops", "gate")


def write_gate_outputs(report: GateReport, outputs: GateOutputs, root: str | os.PathLike[str] | None = None) -> str:
    """Write ``gate.json``, the markdown file and the HTML report, append the markdown to the step summary;
    returns the markdown."""
    from ..evals.report import append_step_summary
    from ..redact import redact
    from .markdown import to_markdown

    md = redact(to_markdown(report, verbose=outputs.verbose))
    gate_json = redact(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    with open(os.path.join(outputs.folder, "gate.json"), "w", encoding="utf-8") as fh:
        fh.write(gate_json + "\n")
    if outputs.markdown:
        os.makedirs(os.path.dirname(os.path.abspath(outputs.markdown)), exist_ok=True)
        with open(outputs.markdown, "w", encoding="utf-8") as fh:
            fh.write(md)
    if outputs.html:
        from ..report.publish import write_html_report

        head = head_results(outputs.head, outputs.folder, outputs.started)
        write_html_report(outputs.html, results=head, gate=report.record(), root=root)
    append_step_summary(md)
    return md


def head_results(head: str | None, folder: str, since: float) -> EvalResults | None:
    """Head's results for the HTML report: ``head``, or the head.json this gate run wrote (never an older one)."""
    from ..evals.results import load_results

    path = head or os.path.join(folder, "head.json")
    if not os.path.isfile(path) or (head is None and os.path.getmtime(path) < since - 1):
        return None
    return load_results(path)


def status_state(verdict: str, fail_on_warn: bool = False) -> str:
    """The commit status state of a verdict: WARN fails the status too under ``--fail-on warn``."""
    from .github import STATES

    return "failure" if verdict == "WARN" and fail_on_warn else STATES[verdict]


def post_gate_status(
    report: GateReport,
    *,
    fail_on_warn: bool = False,
    env: Mapping[str, str] | None = None,
    context: str | None = None,
) -> str:
    """Post the verdict as the commit status ``context`` (default ``llmops/eval``); returns the state posted
    (StatusError on failure)."""
    from .github import post_status

    state = status_state(report.verdict, fail_on_warn)
    post_status(state, report.line, env, context=context)
    return state


def post_error_status(message: str, env: Mapping[str, str] | None = None, context: str | None = None) -> None:
    """Post ``error`` as the commit status when the gate could not run (StatusError on failure)."""
    from .github import STATES, post_status

    post_status(STATES["ERROR"], f"llmops gate error: {message}", env, context=context)
