"""Output tokens observed by earlier runs, for ``eval run --estimate``: read from the journals under
``.llmops/runs/`` (newest first, bounded), keyed by the request (``request_hash``: model, messages, params)
and by prompt and model.

Journals are local files this machine wrote, but they are still read defensively: at most
:data:`MAX_RUNS` runs, :data:`MAX_LINES` lines of each and :data:`MAX_LINE_BYTES` per line; a line that
is not a record is skipped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from ..records.results import Invalid, SampleRecord
from .journal import JOURNAL_FILE, runs_dir

MAX_RUNS = 30
MAX_LINES = 200_000
MAX_LINE_BYTES = 1 << 20


@dataclass
class _Mean:
    total: float = 0.0
    n: int = 0

    def add(self, value: float) -> None:
        self.total += value
        self.n += 1

    def value(self) -> float | None:
        return self.total / self.n if self.n else None


@dataclass
class OutputHistory:
    """Mean output tokens per generation (by request, and by prompt and model) and per judge call (by
    prompt), from earlier runs' journals."""

    by_request: dict[str, _Mean] = field(default_factory=dict)
    by_prompt: dict[tuple[str, str], _Mean] = field(default_factory=dict)
    judge_by_prompt: dict[str, _Mean] = field(default_factory=dict)

    def generation(self, request_hash: str, prompt: str, model: str) -> tuple[float, str] | None:
        """``(mean output tokens, where from)`` of a generation, or None when never observed."""
        m = self.by_request.get(request_hash)
        if m is not None and m.n:
            return m.total / m.n, "history"
        m = self.by_prompt.get((prompt, model))
        if m is not None and m.n:
            return m.total / m.n, "history (prompt)"
        return None

    def judge(self, prompt: str) -> float | None:
        """Mean output tokens of one judge call grading ``prompt``'s outputs, or None."""
        m = self.judge_by_prompt.get(prompt)
        return m.value() if m is not None else None

    def add(self, record: SampleRecord) -> None:
        if record.status not in ("pass", "fail") or record.replay:
            return  # errors carry no output; replays repeat a record already seen
        out = record.tokens.completion if record.tokens is not None else None
        if record.model is None or not _count(out):
            return
        assert out is not None
        if record.request_hash is not None:
            self.by_request.setdefault(record.request_hash, _Mean()).add(out)
        self.by_prompt.setdefault((record.prompt, record.model), _Mean()).add(out)
        judge = record.judge
        if judge is None or judge.replays:
            return
        jout = judge.tokens.completion if judge.tokens is not None else None
        if judge.samples and _count(judge.samples) and _count(jout):
            assert jout is not None
            self.judge_by_prompt.setdefault(record.prompt, _Mean()).add(jout / judge.samples)


def _count(value: int | None) -> bool:
    return value is not None and 0 <= value < 10**9


def load_history(root: str) -> OutputHistory:
    """The output tokens observed by the newest :data:`MAX_RUNS` runs under ``root``."""
    history = OutputHistory()
    folder = runs_dir(root)
    try:
        runs = sorted((e for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)), key=lambda e: e.name)
    except OSError:
        return history
    for entry in reversed(runs[-MAX_RUNS:]):
        path = os.path.join(entry.path, JOURNAL_FILE)
        if os.path.islink(path):
            continue
        try:
            with open(path, "rb") as fh:
                for _ in range(MAX_LINES):
                    raw = fh.readline(MAX_LINE_BYTES + 1)
                    if not raw:
                        break
                    if not raw.endswith(b"\n"):  # too long (skip the rest of it) or torn
                        while raw and not raw.endswith(b"\n"):
                            raw = fh.readline(MAX_LINE_BYTES + 1)
                        continue
                    try:
                        history.add(SampleRecord.from_dict(json.loads(raw)))
                    except (ValueError, Invalid):
                        continue  # not a sample record
        except OSError:
            continue
    return history
