"""How many threads evaluate prompts and generate tokens: chosen by measuring, because the right answer depends on
the machine's load.

Generating one token of SmolLM2 is ~10 ms of work split into ~500 small steps, each ending in a barrier where the
threads wait for each other. On idle cores a second thread cuts a token's wall time (the work halves, the waits are
microseconds); on a busy machine a thread that is descheduled makes the other spin at every barrier, and the same
token took 1.3-2.7 s instead of 50-95 ms (load average 14 on 2 cores). Prompt evaluation suffers less but still
does (19 ms of CPU a prompt token with 2 threads at load average 9.5, 3.5 ms with one). So a
:class:`ThreadChooser` per phase times every evaluation, keeps a moving average of seconds per token for one
thread and for all of them, uses the faster, re-tries the other now and then (less often each time it loses),
and drops back to one thread at the first evaluation more than :data:`GIVE_UP` times slower than the one-thread
average, so a bad try costs one token (or one prompt).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

ALPHA = 0.2  # weight of a new sample in the moving averages
GIVE_UP = 2.0  # abandon the multi-thread try at a token this many times slower than one thread's average
FIRST_TRY = 4  # calls on one thread before the first try with more threads
RETRY = 16  # calls between tries after a lost try (doubles with each loss, at most MAX_RETRY)
MAX_RETRY = 128
MIN_SAMPLES = 8  # generated tokens a mode needs before its average is trusted


class ThreadChooser:
    """Picks the thread count of one phase (1 or ``threads``) per call, from measured seconds per token.

    ``initial`` is the count used until both have been measured; ``min_samples`` the evaluations a count needs
    before its average is trusted.
    """

    def __init__(
        self,
        set_threads: Callable[[int], None],
        threads: int,
        *,
        initial: int = 1,
        min_samples: int = MIN_SAMPLES,
        first_try: int = FIRST_TRY,
    ) -> None:
        self._set = set_threads
        self.threads = max(1, threads)
        self.initial = initial if initial in (1, self.threads) else 1
        self.min_samples = min_samples
        self.avg: dict[int, float] = {}  # thread count -> moving average of seconds per token
        self.samples: dict[int, int] = {1: 0, self.threads: 0}
        self.current = self.initial
        self._calls = 0
        self._next_try = first_try
        self._retry = RETRY
        self._set(self.current)

    def _use(self, n: int) -> None:
        if n != self.current:
            self._set(n)
            self.current = n

    def best(self) -> int:
        """The thread count with the lower average seconds per token (``initial`` until both are measured)."""
        multi, single = self.avg.get(self.threads), self.avg.get(1)
        if multi is None or single is None:
            return self.initial
        if min(self.samples.get(self.threads, 0), self.samples.get(1, 0)) < self.min_samples:
            return self.initial
        return self.threads if multi < single else 1

    def start_call(self) -> None:
        """Choose the thread count for the next call: the best so far, or now and then the other one."""
        self._calls += 1
        if self.threads == 1:
            return
        best = self.best()
        if self._calls >= self._next_try:
            self._next_try = self._calls + self._retry
            self._use(self.threads if best == 1 else 1)  # the one not in use
        else:
            self._use(best)

    def record(self, seconds: float) -> None:
        """Account one evaluation's wall seconds per token under the current thread count."""
        n = self.current
        old = self.avg.get(n)
        self.avg[n] = seconds if old is None else (1 - ALPHA) * old + ALPHA * seconds
        self.samples[n] = self.samples.get(n, 0) + 1
        single = self.avg.get(1)
        if n != 1 and single is not None and seconds > GIVE_UP * single:
            self._retry = min(MAX_RETRY, self._retry * 2)
            self._next_try = self._calls + self._retry
            self.avg[n] = max(self.avg[n], seconds)
            self._use(1)


class EvalStats:
    """Counts and times ``Llama.eval``: prompt evaluation (several tokens at once) and generation (one at a time).

    Wall time and the process's CPU time (user + system, all threads) per phase; the provider reports them per
    call when ``LLMOPS_LOCAL_STATS`` names a file (``bench/offline_main_job.py`` does).
    """

    def __init__(self, decode: ThreadChooser | None = None, prefill: ThreadChooser | None = None) -> None:
        self.decode, self.prefill = decode, prefill
        self.totals = {"prefill_tokens": 0, "prefill_s": 0.0, "prefill_cpu_s": 0.0}
        self.totals.update(decode_tokens=0, decode_s=0.0, decode_cpu_s=0.0)

    def snapshot(self) -> dict[str, float]:
        return dict(self.totals)

    def wrap_eval(self, evaluate: Callable[[Sequence[int]], Any]) -> Callable[[Sequence[int]], Any]:
        """``Llama.eval`` that accounts each evaluation and feeds its seconds per token to the phase's chooser."""

        def timed_eval(tokens: Sequence[int]) -> Any:
            cpu, started = time.process_time(), time.perf_counter()
            result = evaluate(tokens)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            phase = "decode" if len(tokens) == 1 else "prefill"
            self.totals[f"{phase}_tokens"] += len(tokens)
            self.totals[f"{phase}_s"] += wall
            self.totals[f"{phase}_cpu_s"] += cpu
            chooser = self.decode if phase == "decode" else self.prefill
            if chooser is not None and tokens:
                chooser.record(wall / len(tokens))
            return result

        return timed_eval
