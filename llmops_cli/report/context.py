"""What a results file does not record but a report shows: each case's rendered messages, expected value
and tags, read back from the project's prompt and golden set.

Only used when both are exactly what was evaluated — the prompt's ``sha256`` and the golden file's hash
equal those the results recorded — so a report never shows messages from a different version. Anything
that cannot be loaded is skipped (the report then says nothing about it), never an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import LlmopsError
from ..hashing import sha256_of

if TYPE_CHECKING:
    from ..project import Project
    from ..records.results import EvalResults


def case_context(project: Project, results: EvalResults) -> dict[str, dict[str, dict[str, Any]]]:
    """``{prompt: {case_id: {"messages": [...], "expected": ..., "tags": [...]}}}`` for the prompts of
    ``results`` whose prompt and golden set are unchanged in ``project``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    wanted: dict[str, set[str]] = {}
    for rec in results.samples:
        wanted.setdefault(rec.prompt, set()).add(rec.case_id)
    for name, info in results.prompts.items():
        if name not in wanted:
            continue
        try:
            prompt = project.load(name)
            golden = project.golden_set(name)
            if golden is None or prompt.sha256 != info.prompt_sha256:
                continue
            recorded = info.golden_set.sha256 if info.golden_set is not None else None
            if recorded != sha256_of(project.source.read_text(golden.file)):
                continue
            cases: dict[str, dict[str, Any]] = {}
            for case in golden.cases:
                if case.id not in wanted[name] or case.id in cases:
                    continue
                try:
                    messages = prompt.render(golden.vars_for(case)).messages
                except LlmopsError:
                    messages = None
                cases[case.id] = {"messages": messages, "expected": case.expected, "tags": list(case.tags)}
        except (LlmopsError, OSError, ValueError):
            continue
        out[name] = cases
    return out
