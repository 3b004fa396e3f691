"""Grammar-constrained sampling for the offline provider that checks a few candidates, not the whole vocabulary.

llama-cpp-python puts the grammar first in its sampler chain, so at every generated token llama.cpp matches all
49,152 vocabulary entries of SmolLM2 against the grammar (~6 ms of CPU a token, half the cost of decoding the
token). Here the grammar sees the :data:`CANDIDATES` most likely tokens instead, and the whole vocabulary only
when none of those is allowed (at the end of a bounded string, say). With greedy decoding (judges) the token
chosen is the same as with the full check: the most likely allowed token is among the first candidates whenever
any is. With temperature sampling, the tokens kept are the allowed ones among the most likely, which the
``top_k``/``top_p``/``min_p`` steps that follow would keep anyway. Everything runs in llama.cpp's C samplers
except one small Python callback per token.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

CANDIDATES = 64


class GrammarFilter:
    """A llama.cpp sampler (for a sampler chain) that keeps the grammar-allowed tokens among the most likely."""

    def __init__(self, llm: Any, grammar: Any, candidates: int = CANDIDATES) -> None:
        from llama_cpp import llama_cpp as capi

        self._capi = capi
        self._grammar = capi.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._grammar:
            raise ValueError("llama.cpp rejected the grammar")
        self._top_k = capi.llama_sampler_init_top_k(candidates)
        self._n_vocab = int(llm.n_vocab())
        self._backup = (capi.llama_token_data * self._n_vocab)()
        self.full_checks = 0  # tokens for which the whole vocabulary had to be checked

        iface = capi.llama_sampler_i()
        self._apply_cb = capi.llama_sampler_i_apply(self._apply)
        self._accept_cb = capi.llama_sampler_i_accept(self._accept)
        self._name_cb = capi.llama_sampler_i_name(lambda _smpl: b"llmops-grammar-filter")
        iface.name = self._name_cb
        iface.apply = self._apply_cb
        iface.accept = self._accept_cb
        self._iface = iface
        self.sampler = capi.llama_sampler()
        self.sampler.iface = ctypes.pointer(iface)
        self.sampler.ctx = None

    def _keep_allowed(self, cur: Any) -> int:
        """Move the finite-logit entries of ``cur`` to its front (order kept); returns how many there are."""
        kept = 0
        data = cur.data
        for i in range(cur.size):
            if data[i].logit != -math.inf:
                if kept != i:
                    data[kept] = data[i]
                kept += 1
        return kept

    def _apply(self, _smpl: Any, cur_p: Any) -> None:
        capi, cur = self._capi, cur_p.contents
        size = int(cur.size)
        ctypes.memmove(self._backup, cur.data, size * ctypes.sizeof(capi.llama_token_data))
        capi.llama_sampler_apply(self._top_k, cur_p)
        capi.llama_sampler_apply(self._grammar, cur_p)
        kept = self._keep_allowed(cur)
        if kept == 0:  # none of the likeliest is allowed: check them all
            self.full_checks += 1
            ctypes.memmove(cur.data, self._backup, size * ctypes.sizeof(capi.llama_token_data))
            cur.size, cur.sorted, cur.selected = size, False, -1
            capi.llama_sampler_apply(self._grammar, cur_p)
            kept = self._keep_allowed_fast(cur, size)
        cur.size = max(kept, 1)

    def _keep_allowed_fast(self, cur: Any, size: int) -> int:
        """:meth:`_keep_allowed` for a whole vocabulary, with numpy."""
        import numpy as np
        from llama_cpp import llama_cpp as capi

        buf = (capi.llama_token_data * size).from_address(ctypes.addressof(cur.data.contents))
        arr = np.ctypeslib.as_array(buf)
        allowed = arr[np.isfinite(arr["logit"])]
        arr[: len(allowed)] = allowed
        return len(allowed)

    def _accept(self, _smpl: Any, token: int) -> None:
        self._capi.llama_sampler_accept(self._grammar, token)

    def close(self) -> None:
        """Free the native samplers (the chain that used this one must have released it first)."""
        for name in ("_grammar", "_top_k"):
            ptr = getattr(self, name, None)
            if ptr:
                self._capi.llama_sampler_free(ptr)
                setattr(self, name, None)

    def __del__(self) -> None:
        self.close()


def init_sampler(llm: Any, original: Any, **kw: Any) -> Any:
    """``Llama._init_sampler`` with :class:`GrammarFilter` in place of the full-vocabulary grammar sampler.

    The chain is llama-cpp-python's (penalties, then greedy or top-k/typical/top-p/min-p/temperature/dist);
    calls using mirostat or Python logits processors keep llama-cpp-python's own chain.
    """
    grammar = kw.get("grammar")
    if grammar is None or kw.get("mirostat_mode") or kw.get("logits_processor") is not None:
        return original(**kw)
    from llama_cpp import _internals
    from llama_cpp import llama_cpp as capi

    sampler = _internals.LlamaSampler()
    sampler.add_penalties(
        n_vocab=llm._n_vocab,
        penalty_last_n=llm.last_n_tokens_size,
        penalty_repeat=kw.get("repeat_penalty", 1.0),
        penalty_freq=kw.get("frequency_penalty", 0.0),
        penalty_present=kw.get("presence_penalty", 0.0),
    )
    grammar_filter = GrammarFilter(llm, grammar)
    capi.llama_sampler_chain_add(sampler.sampler, ctypes.pointer(grammar_filter.sampler))
    # llama-cpp-python removes its Python-owned samplers from the chain before freeing it (else llama.cpp would
    # free them); the filter's own native samplers are freed with it
    sampler.custom_samplers.append((capi.llama_sampler_chain_n(sampler.sampler) - 1, grammar_filter))
    temp = kw.get("temp", 0.8)
    if temp < 0.0:
        sampler.add_dist(llm._seed)
    elif temp == 0.0:
        sampler.add_greedy()
    else:
        sampler.add_top_k(kw.get("top_k", 40))
        sampler.add_typical(kw.get("typical_p", 1.0), 1)
        sampler.add_top_p(kw.get("top_p", 0.95), 1)
        sampler.add_min_p(kw.get("min_p", 0.05), 1)
        sampler.add_temp(temp)
        sampler.add_dist(llm._seed)
    return sampler
