"""The gate/eval verdict a release needs: from a results file, ``$LLMOPS_GATE_RESULT`` or a git note.

``llmops release create`` looks for a passing result *for the commit being released*, in this order:

1. ``--gate-result FILE``, else the file named by ``$LLMOPS_GATE_RESULT`` (handy in CI);
2. the git note on the commit under ``refs/notes/llmops`` (written by ``llmops release record-gate FILE``;
   one JSON record per line, the newest record covering the prompt wins).

A results file is a gate or eval results JSON (an eval results file is read through the typed results model,
:class:`llmops_cli.evals.model.EvalResults`). It must name its commit — ``run.git_sha`` (or a
top-level ``git_sha``) equal to the released commit, and not ``run.dirty: true`` — and carry a verdict:

* overall: ``verdict`` (``"PASS"``/``"WARN"``/``"FAIL"`` or ``{"verdict": …}``), ``gate.verdict``,
  ``summary.verdict``, ``status``/``summary.status`` (``pass``/``fail``), or ``passed``/``summary.passed``;
* per prompt (wins when present): ``prompts: {NAME: "PASS" | {"verdict"|"status"|"passed": …}}`` or
  ``prompts: [{"name"|"prompt": NAME, "verdict"|"status"|"passed": …}]``;
* covered prompts: ``run.prompts`` (list) or ``run.prompt``; a result naming prompts does not count
  for others. A result naming none covers the whole commit.

PASS and WARN allow a release; FAIL refuses it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import settings
from ..errors import GitError, UsageError
from ..evals.model import RESULTS_KIND
from ..evals.results import parse_results
from ..git import GitRepoDir
from ..jsonio import load_file_strict, parse_bounded
from ..redact import redact

NOTES_REF = "refs/notes/llmops"
GATE_ENV = settings.GATE_RESULT.name
NOTE_SCHEMA = "llmops.gate-note/1"
PASSING = frozenset({"PASS", "WARN"})

_WORDS = {
    "PASS": "PASS",
    "PASSED": "PASS",
    "OK": "PASS",
    "SUCCESS": "PASS",
    "WARN": "WARN",
    "WARNING": "WARN",
    "FAIL": "FAIL",
    "FAILED": "FAIL",
    "FAILURE": "FAIL",
    "ERROR": "FAIL",
}


@dataclass(frozen=True)
class GateRecord:
    """A verdict for one commit: overall, and per prompt when the result says so."""

    verdict: str
    git_sha: str | None
    prompts: dict[str, str] | None  # None: covers every prompt of the commit
    source: str
    recorded_at: str | None = None

    def verdict_for(self, name: str) -> str | None:
        if self.prompts is None:
            return self.verdict
        return self.prompts.get(name)

    def matches_commit(self, sha: str) -> bool:
        return bool(self.git_sha) and len(self.git_sha or "") >= 7 and sha.startswith(self.git_sha or "-")

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "git_sha": self.git_sha,
            "prompts": self.prompts,
            "source": self.source,
            **({"recorded_at": self.recorded_at} if self.recorded_at else {}),
        }


def _norm(value: Any) -> str | None:
    if isinstance(value, bool):
        return "PASS" if value else "FAIL"
    if isinstance(value, str):
        return _WORDS.get(value.strip().upper())
    if isinstance(value, dict):
        for k in ("verdict", "status", "passed"):
            if k in value:
                return _norm(value[k])
    return None


def _get(data: dict[str, Any], *path: str) -> Any:
    cur: Any = data
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def _eval_results_record(data: dict[str, Any], source: str) -> GateRecord:
    """An eval results file (validated like every results file: exit 2 naming the JSON path): its verdict is
    ``summary.passed``, for the whole commit unless ``run.prompts`` lists the prompts it covers."""
    results = parse_results(data, source)
    run = results.run
    if run.extra.get("dirty") is True:
        raise UsageError(
            "gate result was produced from a dirty working tree (run.dirty); rerun on a commit", file=source
        )
    verdict = "PASS" if results.summary.passed else "FAIL"
    covered = run.extra.get("prompts")
    per_prompt = {str(n): verdict for n in covered} if isinstance(covered, list) and covered else None
    git_sha = run.git_sha or results.extra.get("git_sha")
    return GateRecord(verdict, str(git_sha) if git_sha else None, per_prompt, source)


def parse_gate_result(data: Any, source: str) -> GateRecord:
    """Read the commit and verdict(s) out of a gate or eval results document."""
    if not isinstance(data, dict):
        raise UsageError("gate result must be a JSON object", file=source)

    if data.get("kind") == RESULTS_KIND:
        return _eval_results_record(data, source)
    run: dict[str, Any] = data["run"] if isinstance(data.get("run"), dict) else {}
    git_sha = run.get("git_sha") or data.get("git_sha")
    if run.get("dirty") is True:
        raise UsageError(
            "gate result was produced from a dirty working tree (run.dirty); rerun on a commit", file=source
        )

    per_prompt: dict[str, str] | None = None
    prompts = data.get("prompts")
    if isinstance(prompts, dict):
        found = {str(k): _norm(v) for k, v in prompts.items()}
        if any(found.values()):
            per_prompt = {k: v for k, v in found.items() if v}
    elif isinstance(prompts, list):
        found2 = {}
        for item in prompts:
            if isinstance(item, dict) and (item.get("name") or item.get("prompt")):
                v = _norm(item)
                if v:
                    found2[str(item.get("name") or item.get("prompt"))] = v
        per_prompt = found2 or None

    overall = None
    for path in (("verdict",), ("gate", "verdict"), ("summary", "verdict"), ("status",), ("summary", "status"),
                 ("passed",), ("summary", "passed")):  # fmt: skip
        overall = _norm(_get(data, *path))
        if overall:
            break
    if overall is None and per_prompt:
        order = ["FAIL", "WARN", "PASS"]
        overall = next(v for v in order if v in per_prompt.values())
    if overall is None:
        raise UsageError("gate result carries no verdict (verdict / gate.verdict / summary.status …)", file=source)
    if per_prompt is None:
        covered = run.get("prompts") or ([run["prompt"]] if isinstance(run.get("prompt"), str) else None)
        if isinstance(covered, list) and covered:
            per_prompt = {str(n): overall for n in covered}
    return GateRecord(overall, str(git_sha) if git_sha else None, per_prompt, source)


def read_gate_file(path: str | os.PathLike[str]) -> GateRecord:
    if not Path(path).is_file():
        raise UsageError("gate result file not found", file=str(path))
    data = load_file_strict(str(path), what="gate result")  # strict and bounded: the file may come from a PR
    return parse_gate_result(data, str(path))


def record_note(repo: GitRepoDir, record: GateRecord, commit: str | None = None) -> str:
    """Append ``record`` to the ``refs/notes/llmops`` note of its commit; returns the full commit SHA."""
    target = commit or record.git_sha
    if not target:
        raise UsageError("gate result names no commit (run.git_sha); pass --commit", file=record.source)
    full = repo.git_proc("rev-parse", "--verify", "-q", f"{target}^{{commit}}")
    if full.returncode != 0:
        raise GitError(f"unknown commit {target!r} (fetch it first?)")
    sha = full.stdout.strip()
    if record.git_sha and not sha.startswith(record.git_sha):
        raise UsageError(f"gate result is for commit {record.git_sha[:12]}, not {sha[:12]}", file=record.source)
    note = {
        "schema": NOTE_SCHEMA,
        **record.to_dict(),
        "git_sha": sha,
        "source": os.path.basename(record.source),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

    line = redact(json.dumps(note, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    repo.append_note(NOTES_REF, line, sha)
    return sha


def note_records(repo: GitRepoDir, commit: str) -> list[GateRecord]:
    """Gate records noted on ``commit``, oldest first."""
    note = repo.read_note(NOTES_REF, commit)
    if note is None:
        return []
    records = []
    for line in note.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = parse_bounded(line)
        except (ValueError, RecursionError):  # a note anyone with push access could have written
            continue
        if isinstance(data, dict) and data.get("schema") == NOTE_SCHEMA and data.get("verdict") in _WORDS.values():
            records.append(
                GateRecord(
                    data["verdict"],
                    data.get("git_sha"),
                    data.get("prompts"),
                    f"git note {NOTES_REF} ({data.get('source')})",
                    data.get("recorded_at"),
                )
            )
    return records


def find_gate(
    repo: GitRepoDir, commit: str, name: str, file: str | os.PathLike[str] | None = None
) -> GateRecord | None:
    """The gate record that decides whether ``name`` may be released at ``commit`` (None: none found).

    A file (argument or ``$LLMOPS_GATE_RESULT``) that is for another commit or does not cover the
    prompt is a :class:`UsageError` — it was named explicitly, so silently ignoring it would mislead.
    """
    path = file or settings.GATE_RESULT.raw() or None
    if path:
        rec = read_gate_file(path)
        if not rec.git_sha:
            raise UsageError("gate result names no commit (expected run.git_sha)", file=str(path))
        if not rec.matches_commit(commit):
            raise UsageError(
                f"gate result is for commit {rec.git_sha[:12]}, but the release is of {commit[:12]} (HEAD); "
                "run the gate on this commit",
                file=str(path),
            )
        if rec.verdict_for(name) is None:
            raise UsageError(f"gate result does not cover prompt '{name}'", file=str(path))
        return rec
    for rec in reversed(note_records(repo, commit)):
        if rec.verdict_for(name) is not None and (not rec.git_sha or rec.matches_commit(commit)):
            return rec
    return None
