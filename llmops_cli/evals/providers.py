"""Provider calls through ``litellm.acompletion``: model resolution, retries with back-off, AIMD limiting.

litellm's and the OpenAI SDK's own retries are switched off (``num_retries=0``, ``max_retries=0``); this
module retries 429, 5xx, timeouts, dropped connections and unparsable bodies itself, with exponential
back-off and full jitter, honouring ``retry-after-ms`` / ``Retry-After``. When 429s keep coming the
number of calls in flight is halved (at most once per second) and grows back by one per window of
successes (additive increase, multiplicative decrease). litellm is imported on the first real call.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

from ..config import ModelAlias, ProjectConfig
from ..errors import ProviderError

# Environment variables litellm reads a provider's key from (for the offline fallback decision).
PROVIDER_KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "cohere": "COHERE_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "xai": "XAI_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
    "azure": "AZURE_API_KEY",
}
# Sent as the key to a custom api_base with no api_key_env, so an ambient provider key never leaves for it.
PLACEHOLDER_KEY = "no-key"
MAX_RETRY_AFTER_S = 60.0


@dataclass(frozen=True)
class Target:
    """Where a call goes: the litellm model id, base URL and the NAME of the key's env var."""

    model: str
    api_base: str | None = None
    api_key_env: str | None = None
    label: str = ""  # the alias or id as written
    offline_from: str | None = None  # the model replaced by its offline fallback
    params: dict[str, Any] = field(default_factory=dict, hash=False)  # the offline alias's params, on top

    def prepare(
        self, params: dict[str, Any], response_format: dict[str, Any] | None, output_schema: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The request's params and response format for this target.

        The target's own params go on top of the prompt's (e.g. a smaller ``max_tokens`` offline). An
        in-process model also gets the prompt's output schema as a grammar, so a small model emits the
        declared JSON object instead of free-form JSON.
        """
        if self.params:
            params = {**params, **self.params}
        if response_format and output_schema and is_in_process(self.model):
            from ..providers.local import schema_response_format

            response_format = schema_response_format(output_schema, params.get("max_tokens"))
        return params, response_format

    def api_key(self) -> str | None:
        """The key, read from the environment at call time (never stored, never logged)."""
        if self.api_key_env:
            return os.environ.get(self.api_key_env)
        if self.api_base:
            return PLACEHOLDER_KEY
        return None

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"model": self.model, "api_base": self.api_base}
        if self.offline_from:
            d["offline_from"] = self.offline_from
        return d


def is_in_process(model: str) -> bool:
    """Models run inside this process (llama.cpp), not behind an HTTP API."""
    return model.startswith("local/")


def provider_of(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else "openai"


def _key_missing(model: str, alias: ModelAlias | None) -> bool:
    env = alias.api_key_env if alias and alias.api_key_env else PROVIDER_KEY_ENV.get(provider_of(model))
    return bool(env) and not os.environ.get(env or "")


def resolve_target(
    config: ProjectConfig,
    name: str,
    *,
    model_override: str | None = None,
    api_base_override: str | None = None,
) -> Target:
    """The call target for a model name (alias or id), applying ``--model`` / ``--api-base`` and the
    alias's ``offline`` fallback when the provider's key is not in the environment."""
    wanted = model_override or name
    model, alias = config.resolve_model(wanted)
    api_base = alias.api_base if alias else None
    key_env = alias.api_key_env if alias else None
    offline_from = None
    extra_params: dict[str, Any] = {}
    if alias and alias.offline and _key_missing(model, alias):
        offline_from = model
        off_model, off_alias = config.resolve_model(alias.offline)
        model = off_model
        api_base = off_alias.api_base if off_alias else None
        key_env = off_alias.api_key_env if off_alias else None
        extra_params = dict(off_alias.params) if off_alias else {}
    if api_base_override:
        api_base = api_base_override
    if is_in_process(model):
        from ..providers.local import preflight

        preflight(model)  # the [local] extra and the model file: a clear error before any call
    if not key_env and not api_base and _key_missing(model, None):
        env = PROVIDER_KEY_ENV[provider_of(model)]
        raise ProviderError(
            f"model {wanted!r} ({model}) needs {env} in the environment; set it, or give the alias an "
            "'offline' model in llmops.yaml"
        )
    if key_env and not os.environ.get(key_env):
        raise ProviderError(
            f"model {wanted!r} needs an API key in the environment variable {key_env}, which is not set",
            file="llmops.yaml",
        )
    return Target(
        model=model,
        api_base=api_base,
        api_key_env=key_env,
        label=wanted,
        offline_from=offline_from,
        params=extra_params,
    )


# -- results and errors ---------------------------------------------------------------------------------------


@dataclass
class CallResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_ms: float
    model: str
    attempts: int = 1

    def cache_entry(self, kind: str) -> dict[str, Any]:
        return {
            "kind": kind,
            "text": self.text,
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
            "cost_usd": self.cost_usd,
            "latency_ms": round(self.latency_ms, 3),
            "model": self.model,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    @classmethod
    def from_cache(cls, entry: dict[str, Any]) -> CallResult:
        usage = entry.get("usage") or {}
        return cls(
            text=entry["text"],
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cost_usd=entry.get("cost_usd"),
            latency_ms=float(entry.get("latency_ms") or 0.0),
            model=str(entry.get("model") or ""),
            attempts=0,
        )


class CallFailed(Exception):
    """A provider call that failed for good (after retries, or not retryable). Recorded as an error."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.attempts = attempts

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "status": self.status, "attempts": self.attempts}


@dataclass
class _Failure:
    kind: str
    message: str
    retryable: bool
    status: int | None = None
    retry_after: float | None = None


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(exc, "litellm_response_headers", None)
    if not headers:
        resp = getattr(exc, "response", None)
        headers = getattr(resp, "headers", None)
    if not headers:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(ms) / 1000.0))
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return min(MAX_RETRY_AFTER_S, max(0.0, when.timestamp() - time.time()))
    except (TypeError, ValueError, AttributeError):
        return None


def classify(exc: BaseException) -> _Failure:
    """Is a failed call worth retrying? 429, 408, 5xx, timeouts, connection errors and unparsable bodies are."""
    msg = _clean_message(exc)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return _Failure("timeout", "timed out", True)
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = None
    if "Timeout" in name:
        return _Failure("timeout", msg, True, status)
    if status == 429 or "RateLimit" in name:
        return _Failure("rate_limit", msg, True, 429, _retry_after(exc))
    if "APIConnectionError" in name or "ConnectError" in name:
        return _Failure("connection", msg, True, status)
    if status is not None and (status >= 500 or status == 408):
        return _Failure("server_error", msg, True, status, _retry_after(exc))
    if status is not None and 400 <= status < 500:
        return _Failure("bad_request" if status == 400 else f"http_{status}", msg, False, status)
    if name in ("AuthenticationError", "NotFoundError", "BadRequestError", "PermissionDeniedError"):
        return _Failure(name, msg, False, status)
    return _Failure("error", f"{name}: {msg}", True, status)


def _clean_message(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ").strip()
    for prefix in ("litellm.",):
        text = text.removeprefix(prefix)
    return text[:500]


# -- AIMD concurrency limiter -----------------------------------------------------------------------------------


class AimdLimiter:
    """Bounds the calls in flight to ``limit`` (between 1 and ``maximum``): halved on a 429 (at most once a
    second), plus ``1/limit`` per success. Create it inside the running event loop."""

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = float(self.maximum)
        self.in_flight = 0
        self.cuts = 0
        self._cond = asyncio.Condition()
        self._last_cut = 0.0

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < max(1, int(self.limit)))
            self.in_flight += 1

    async def release(self, outcome: str) -> None:
        async with self._cond:
            self.in_flight -= 1
            if outcome == "ok":
                self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            elif outcome == "rate_limit":
                now = time.monotonic()
                if now - self._last_cut >= 1.0:
                    self.limit = max(1.0, self.limit / 2.0)
                    self._last_cut = now
                    self.cuts += 1
            self._cond.notify_all()


# -- the caller -----------------------------------------------------------------------------------------------


@dataclass
class CallStats:
    calls: int = 0  # requests sent
    retries: int = 0
    rate_limited: int = 0
    failures: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


_LITELLM: Any = None


def import_litellm() -> Any:
    """litellm, imported on first need with the local cost map (no network) and custom providers."""
    global _LITELLM
    if _LITELLM is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        with contextlib.suppress(ImportError):  # the OpenAI SDK imports these on its first call (~1 s): now
            import openai.resources  # noqa: F401
        litellm.suppress_debug_info = True
        litellm.telemetry = False
        try:
            from ..providers import register_custom_providers  # type: ignore[attr-defined]
        except ImportError:
            pass
        else:
            register_custom_providers(litellm)
        _LITELLM = litellm
    return _LITELLM


class Caller:
    """Makes provider calls with retries, back-off and an AIMD limiter shared by every call of a run."""

    def __init__(
        self,
        *,
        concurrency: int,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.stats = CallStats()
        self._limiter: AimdLimiter | None = None
        self._no_cost_models: set[str] = set()
        self._serial: dict[str, asyncio.Semaphore] = {}

    def _model_slot(self, target: Target) -> contextlib.AbstractAsyncContextManager[Any]:
        """In-process models (``local/…``) run one call at a time: waiting for the model must not count
        against the call's timeout, nor hold a slot that a remote provider could use."""
        if not is_in_process(target.model):
            return contextlib.nullcontext()
        return self._serial.setdefault(target.model, asyncio.Semaphore(1))

    @property
    def limiter(self) -> AimdLimiter:
        if self._limiter is None:
            self._limiter = AimdLimiter(self.concurrency)
        return self._limiter

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential back-off for retry number ``attempt`` (0-based)."""
        return random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * (2**attempt)))

    async def complete(
        self,
        target: Target,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        response_format: dict[str, Any] | None,
    ) -> CallResult:
        """One chat completion; :class:`CallFailed` when it fails for good."""
        litellm = import_litellm()
        kwargs: dict[str, Any] = dict(params)
        kwargs.update(
            model=target.model,
            messages=messages,
            timeout=self.timeout_s,
            num_retries=0,
            max_retries=0,
            drop_params=True,
        )
        if response_format:
            kwargs["response_format"] = response_format
        if target.api_base:
            kwargs["api_base"] = target.api_base
        key = target.api_key()
        if key:
            kwargs["api_key"] = key
        attempt = 0
        while True:
            async with self._model_slot(target):
                limiter = self.limiter
                await limiter.acquire()
                self.stats.calls += 1
                start = time.perf_counter()
                outcome = "error"
                try:
                    resp = await asyncio.wait_for(litellm.acompletion(**kwargs), self.timeout_s + 5.0)
                    result = self._result(litellm, resp, target, time.perf_counter() - start, attempt + 1)
                    outcome = "ok"
                    return result
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failure = classify(exc)
                    outcome = failure.kind
                finally:
                    await limiter.release(outcome)
            self.stats.by_kind[failure.kind] = self.stats.by_kind.get(failure.kind, 0) + 1
            if failure.kind == "rate_limit":
                self.stats.rate_limited += 1
            if not failure.retryable or attempt >= self.max_retries:
                self.stats.failures += 1
                raise CallFailed(failure.kind, failure.message, status=failure.status, attempts=attempt + 1)
            delay = self.backoff(attempt)
            if failure.retry_after is not None:
                delay = failure.retry_after + random.uniform(0, 0.1 * failure.retry_after + 0.05)
            self.stats.retries += 1
            attempt += 1
            await asyncio.sleep(delay)

    def _result(self, litellm: Any, resp: Any, target: Target, seconds: float, attempts: int) -> CallResult:
        try:
            text = resp.choices[0].message.content
        except (AttributeError, IndexError, KeyError, TypeError):
            text = None
        if not isinstance(text, str):
            raise ValueError("the provider answered without message content")
        usage = getattr(resp, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = (getattr(resp, "_hidden_params", None) or {}).get("response_cost")
        if cost is None and target.model not in self._no_cost_models:
            try:
                cost = float(litellm.completion_cost(completion_response=resp, model=target.model))
            except Exception:
                self._no_cost_models.add(target.model)
                cost = None
        return CallResult(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=float(cost) if cost is not None else None,
            latency_ms=seconds * 1000.0,
            model=str(getattr(resp, "model", None) or target.model),
            attempts=attempts,
        )
