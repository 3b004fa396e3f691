"""Progress of an eval run: the silent default and plain log lines; the CLI adds a progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..records.results import SampleRecord


class Progress:
    """Receives progress; the CLI renders it. Default: silent."""

    def start(self, total: int, done: int) -> None: ...

    def advance(self, record: SampleRecord) -> None: ...

    def tick(self) -> None:
        """Called about once a second while the run is in progress."""

    def finish(self) -> None: ...


class PlainProgress(Progress):
    """Progress as plain lines for logs (stderr not a terminal): one line every ``every_pct`` percent of the
    cases or ``every_s`` seconds, whichever comes first, with cases done, failures, errors, elapsed and ETA."""

    def __init__(
        self,
        stream: Any,
        *,
        every_pct: float = 10.0,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.every_pct = every_pct
        self.every_s = every_s
        self.clock = clock
        self.total = self.done = self.start_done = self.failed = self.errors = self.judge_errors = 0
        self._t0 = self._last_t = 0.0
        self._last_pct = 0.0

    def start(self, total: int, done: int) -> None:
        self.total, self.done, self.start_done = total, done, done
        self._t0 = self._last_t = self.clock()
        self._last_pct = 100.0 * done / total if total else 100.0
        resumed = f" ({done} already done)" if done else ""
        self._write(f"eval: {total} cases to run{resumed}")

    def advance(self, record: SampleRecord) -> None:
        self.done += 1
        self.failed += record.status == "fail"
        self.errors += record.status == "error"
        self.judge_errors += (record.judge.errors or 0) if record.judge else 0
        now = self.clock()
        pct = 100.0 * self.done / self.total if self.total else 100.0
        if pct - self._last_pct >= self.every_pct or now - self._last_t >= self.every_s or self.done == self.total:
            self._last_pct, self._last_t = pct, now
            self._write(self.line(now))

    def tick(self) -> None:
        now = self.clock()
        if now - self._last_t >= self.every_s and self.done < self.total:
            self._last_t = now
            self._write(self.line(now))

    def line(self, now: float) -> str:
        """``eval: 58/116 cases (50%), 3 failed, 1 errors, 0 judge errors, elapsed 1m12s, ETA 1m12s``."""
        elapsed = now - self._t0
        ran = self.done - self.start_done
        left = self.total - self.done
        eta = _fmt_s(elapsed / ran * left) if ran and left else ("0s" if not left else "?")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (
            f"eval: {self.done}/{self.total} cases ({pct:.0f}%), {self.failed} failed, {self.errors} errors, "
            f"{self.judge_errors} judge errors, elapsed {_fmt_s(elapsed)}, ETA {eta}"
        )

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed pipe must not stop the run
            pass


def _fmt_s(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
