"""Prompt-state cache of the offline provider: evaluated prompt prefixes kept in RAM with honest accounting."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class PrefixStateCache:
    """An LRU of evaluated prompt states for ``Llama.set_cache`` whose size accounting is honest.

    llama-cpp-python's ``LlamaRAMCache`` counts only the native state (~30 MB for a 1,300-token prompt)
    while every saved ``LlamaState`` also holds a copy of the logits buffer (``n_batch x n_vocab`` floats:
    ~100 MB for SmolLM2), so a "768 MB" cache grew the process by gigabytes. A restored state always
    re-decodes at least one token before sampling (``Llama.generate``), so those logits are never read:
    this cache keeps only the last row and counts every byte it keeps against ``capacity_bytes``.
    Lookups return the entry sharing the longest token prefix with the prompt (most recently used wins ties).
    """

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = int(capacity_bytes)
        self._states: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._sizes: dict[tuple[int, ...], int] = {}
        self.hits = 0
        self.misses = 0

    @property
    def cache_size(self) -> int:
        """Bytes held: native states plus the arrays kept with them."""
        return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._states)

    def __bool__(self) -> bool:  # Llama checks ``if self.cache:``: an empty cache must still be used
        return True

    def _longest(self, key: tuple[int, ...]) -> tuple[int, tuple[int, ...] | None]:
        best, best_key = 0, None
        for k in reversed(self._states):
            n = 0
            for a, b in zip(k, key, strict=False):
                if a != b:
                    break
                n += 1
            if n > best:
                best, best_key = n, k
        return best, best_key

    def __getitem__(self, key: Any) -> Any:
        n, k = self._longest(tuple(key))
        if k is None or n == 0:
            self.misses += 1
            raise KeyError("no cached prefix")
        self.hits += 1
        self._states.move_to_end(k)
        return self._states[k]

    def __contains__(self, key: Any) -> bool:
        return self._longest(tuple(key))[1] is not None

    def __setitem__(self, key: Any, state: Any) -> None:
        key = tuple(key)
        if state.scores is not None and len(state.scores) > 1:
            state.scores = state.scores[-1:].copy()  # broadcast back by load_state; never sampled from
        native = max(int(state.llama_state_size), len(state.llama_state or b""))  # the buffer, not just its data
        size = native + int(state.scores.nbytes) + int(state.input_ids.nbytes)
        if size > self.capacity_bytes:
            return
        # a state whose tokens extend a cached key makes that shorter entry redundant
        for k in [k for k in self._states if len(k) <= len(key) and key[: len(k)] == k]:
            del self._states[k], self._sizes[k]
        self._states[key] = state
        self._sizes[key] = size
        while self.cache_size > self.capacity_bytes and len(self._states) > 1:
            old, _ = self._states.popitem(last=False)
            del self._sizes[old]


def lean_save_state(llm: Any) -> Any:
    """``Llama.save_state`` without its transient copies: one buffer for the native state (llama-cpp-python
    allocates it, copies it twice and also copies up to ``n_batch x n_vocab`` logits, ~100 MB a call), and
    only the last logits row, which ``load_state`` broadcasts back and ``generate`` never samples from (a
    restored state always re-decodes at least one token)."""
    import ctypes

    from llama_cpp import LlamaState
    from llama_cpp import llama_cpp as capi

    size = int(capi.llama_state_get_size(llm._ctx.ctx))
    buf = (ctypes.c_uint8 * size)()
    n_bytes = int(capi.llama_state_get_data(llm._ctx.ctx, buf, size))
    if n_bytes > size:
        raise RuntimeError("llama_state_get_data wrote past its buffer")
    return LlamaState(
        input_ids=llm.input_ids.copy(),  # all n_ctx slots: load_state installs this very array
        scores=llm._scores[-1:].copy(),
        n_tokens=llm.n_tokens,
        llama_state=buf,
        llama_state_size=n_bytes,
        seed=llm._seed,
    )
