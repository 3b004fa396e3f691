"""ThreadChooser: threads per phase chosen by measured seconds per token (no model needed)."""

from __future__ import annotations

from llmops_cli.providers.local_threads import FIRST_TRY, MIN_SAMPLES, ThreadChooser


def _chooser() -> tuple[ThreadChooser, list[int]]:
    applied: list[int] = []
    return ThreadChooser(applied.append, 2), applied


def _call(chooser: ThreadChooser, seconds: dict[int, float], tokens: int = 20) -> list[int]:
    """One call: choose, then generate ``tokens`` tokens at the given seconds per token per thread count."""
    chooser.start_call()
    used = []
    for _ in range(tokens):
        used.append(chooser.current)
        chooser.record(seconds[chooser.current])
    return used


def test_quiet_machine_settles_on_all_threads() -> None:
    chooser, applied = _chooser()
    assert applied == [1] and chooser.current == 1
    quiet = {1: 0.013, 2: 0.008}
    for _ in range(FIRST_TRY + 3):
        _call(chooser, quiet)
    assert chooser.best() == 2 and chooser.current == 2
    # later calls mostly use 2 threads; a periodic re-try of 1 thread does not stick
    uses = [_call(chooser, quiet)[0] for _ in range(40)]
    assert uses.count(2) >= 35 and chooser.best() == 2


def test_busy_machine_gives_up_after_one_slow_token_and_backs_off() -> None:
    chooser, _ = _chooser()
    busy = {1: 0.05, 2: 2.5}
    tries = []
    for _ in range(200):
        used = _call(chooser, busy)
        if 2 in used:
            tries.append(used)
    assert tries, "more threads were never tried"
    assert all(used.count(2) == 1 for used in tries)  # each try ends at its first slow token
    assert len(tries) <= 6  # 200 calls: tries at growing intervals
    assert chooser.best() == 1


def test_load_arriving_later_sends_generation_back_to_one_thread() -> None:
    chooser, _ = _chooser()
    for _ in range(FIRST_TRY + 3):
        _call(chooser, {1: 0.013, 2: 0.008})
    assert chooser.current == 2
    used = _call(chooser, {1: 0.013, 2: 1.0})
    assert used[:2] == [2, 1] and chooser.current == 1
    assert chooser.samples[2] >= MIN_SAMPLES


def test_one_thread_configured_never_switches() -> None:
    applied: list[int] = []
    chooser = ThreadChooser(applied.append, 1)
    for _ in range(50):
        _call(chooser, {1: 0.01})
    assert applied == [1] and chooser.current == 1


def test_eval_stats_split_prompt_evaluation_from_generation() -> None:
    from llmops_cli.providers.local_threads import EvalStats

    chooser, _ = _chooser()
    stats = EvalStats(chooser)
    seen: list[int] = []
    evaluate = stats.wrap_eval(lambda tokens: seen.append(len(tokens)))
    before = stats.snapshot()
    evaluate([1, 2, 3, 4])
    for _ in range(3):
        evaluate([5])
    after = stats.snapshot()
    assert seen == [4, 1, 1, 1]
    assert after["prefill_tokens"] - before["prefill_tokens"] == 4
    assert after["decode_tokens"] - before["decode_tokens"] == 3
    assert chooser.samples[1] == 3  # generated tokens' times reach ThreadChooser
    assert all(after[k] >= 0 for k in after)


def test_prompt_evaluation_starts_on_all_threads_and_leaves_them_when_one_is_faster() -> None:
    applied: list[int] = []
    chooser = ThreadChooser(applied.append, 2, initial=2, min_samples=1, first_try=2)
    assert applied == [2]
    busy = {1: 0.0035, 2: 0.019}
    used = [_call(chooser, busy, tokens=1)[0] for _ in range(12)]
    assert used[0] == 2 and used[1] == 1  # the second call tries one thread
    assert used[2:].count(2) <= 1 and chooser.best() == 1
    quiet = ThreadChooser([].append, 2, initial=2, min_samples=1, first_try=2)
    used = [_call(quiet, {1: 0.003, 2: 0.0016}, tokens=1)[0] for _ in range(12)]
    assert used.count(2) >= 10 and quiet.best() == 2
