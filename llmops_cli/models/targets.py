"""Where a call goes: a model name resolved through ``llmops.yaml`` (a :class:`ModelRoute`, fixed by the
configuration and covered by the content hash), then, at call time, the environment picks the
:class:`Target` (the offline fallback when the provider's key is not set) and the key rule decides what
key it gets.

**The key rule.** A key is sent only

* to the provider's own endpoint (no ``api_base``): litellm reads the provider's standard variable, or the
  alias's ``api_key_env`` when it names one; or
* to an ``api_base`` whose alias names its ``api_key_env``: that variable's value.

Anything else — an alias with ``api_base`` and no ``api_key_env``, or a base URL given by ``--api-base``
that is not the alias's own — gets :data:`PLACEHOLDER_KEY`, so an ambient ``OPENAI_API_KEY`` never leaves
for a URL nobody tied it to. In ``eval run`` and ``eval gate`` the pairing of alias, ``api_base`` and
``api_key_env`` must also be trusted by the base branch (:mod:`.trust`), else the placeholder is sent too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import settings
from ..errors import ProviderError, UsageError
from ..redact import register_key_envs

if TYPE_CHECKING:
    from ..config import ProjectConfig
    from .trust import KeyTrust

# The environment variable litellm reads a provider's key from (for the offline fallback decision).
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
# Sent as the key wherever the key rule allows none, so an ambient provider key never leaves for that URL.
PLACEHOLDER_KEY = "no-key"


def is_in_process(model: str) -> bool:
    """Models run inside this process (llama.cpp), not behind an HTTP API."""
    return model.startswith("local/")


def provider_of(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else "openai"


def _key_missing(model: str, key_env: str | None) -> bool:
    env = key_env or PROVIDER_KEY_ENV.get(provider_of(model))
    return bool(env) and not settings.value_of(env or "")


@dataclass(frozen=True)
class Endpoint:
    """A configured stand-in model (an alias's ``offline``): id, base URL, key variable NAME, its params."""

    model: str
    api_base: str | None = None
    api_key_env: str | None = None
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    budgets: dict[str, int] = field(default_factory=dict, hash=False)  # max_tokens per kind of output
    alias: str | None = field(default=None, compare=False)  # the alias it was read from (not hashed)

    def describe(self) -> dict[str, Any]:
        d = {"model": self.model, "api_base": self.api_base, "api_key_env": self.api_key_env, "params": self.params}
        if self.budgets:
            d["budgets"] = dict(sorted(self.budgets.items()))
        return d


@dataclass(frozen=True)
class ModelRoute:
    """A model name (alias or litellm id) resolved through ``llmops.yaml``; independent of the environment."""

    name: str  # as written
    model: str  # litellm id
    api_base: str | None = None
    api_key_env: str | None = None
    offline: Endpoint | None = None

    def hash_fields(self) -> dict[str, Any]:
        """The route's fields beyond the model id, for the content hash; empty for a plain provider model
        (so those hashes are what they were before the call target was hashed)."""
        d: dict[str, Any] = {}
        if self.api_base is not None:
            d["api_base"] = self.api_base
        if self.api_key_env is not None:
            d["api_key_env"] = self.api_key_env
        if self.offline is not None:
            d["offline"] = self.offline.describe()
        return d


def resolve_route(config: ProjectConfig, name: str) -> ModelRoute:
    """The route of a model name; registers every alias's key variable with the redactor."""
    register_key_envs(a.api_key_env for a in config.models.values())
    model, alias = config.resolve_model(name)
    if alias is None:
        return ModelRoute(name, model)
    offline = None
    if alias.offline:
        off_model, off_alias = config.resolve_model(alias.offline)
        offline = Endpoint(
            off_model,
            off_alias.api_base if off_alias else None,
            off_alias.api_key_env if off_alias else None,
            dict(off_alias.params) if off_alias else {},
            dict(off_alias.budgets.items()) if off_alias else {},
            alias.offline if off_alias else None,
        )
    return ModelRoute(name, model, alias.api_base, alias.api_key_env, offline)


@dataclass(frozen=True)
class Target:
    """Where one call goes: the litellm model id, base URL and the NAME of the key's variable."""

    model: str
    api_base: str | None = None
    api_key_env: str | None = None
    label: str = ""  # the alias or id as written
    offline_from: str | None = None  # the model replaced by its offline fallback
    params: dict[str, Any] = field(default_factory=dict, hash=False)  # the offline alias's params, on top
    key_for_base: bool = True  # False when api_base is not the one the alias naming api_key_env gave
    budgets: dict[str, int] = field(default_factory=dict, hash=False)  # the offline alias's max_tokens per kind
    withheld: str | None = None  # why the alias's own key is not sent (an untrusted pairing), for notices

    def prepare(
        self,
        params: dict[str, Any],
        response_format: dict[str, Any] | None,
        output_schema: dict[str, Any] | None,
        *,
        judge: bool = False,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The request's params and response format for this target.

        The target's own params go on top of the prompt's (e.g. a smaller ``max_tokens`` offline), then its
        ``budgets`` set ``max_tokens`` by kind of output: ``judge`` (a judge's verdict), ``json`` (a response
        format) or ``text``. An in-process model also gets the prompt's output schema as a grammar whose
        strings and arrays are bounded by that budget, so a small model emits the declared JSON object and
        closes it within ``max_tokens`` (raised to what the schema's structure alone needs, if more).
        """
        if self.params:
            params = {**params, **self.params}
        kind = "judge" if judge else ("json" if response_format else "text")
        if kind not in self.budgets and kind == "judge" and response_format:
            kind = "json"
        if kind in self.budgets:
            params = {**params, "max_tokens": self.budgets[kind]}
        if response_format and output_schema and is_in_process(self.model):
            from ..providers.local import schema_budget, schema_response_format

            budget = params.get("max_tokens")
            response_format = schema_response_format(output_schema, budget)
            needed = schema_budget(output_schema, budget)
            if budget and needed > int(budget):
                params = {**params, "max_tokens": needed}
        return params, response_format

    @property
    def sends_key(self) -> bool:
        """Whether the key rule lets a real key go with this call (else the placeholder is sent)."""
        return self.api_base is None or bool(self.api_key_env and self.key_for_base)

    def api_key(self) -> str | None:
        """The key to send, read from the environment at call time (never stored, never logged). None lets
        litellm read the provider's own variable for the provider's own endpoint."""
        if not self.sends_key:
            return PLACEHOLDER_KEY
        if self.api_key_env:
            return settings.value_of(self.api_key_env) or (PLACEHOLDER_KEY if self.api_base else None)
        return None

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"model": self.model, "api_base": self.api_base}
        if self.offline_from:
            d["offline_from"] = self.offline_from
        return d


def check_api_base(url: str, what: str = "--api-base") -> str:
    """``url`` when it is an http(s) URL with a host; :class:`UsageError` (exit 2) otherwise."""
    from ..config import url_problem

    problem = url_problem(url)
    if problem:
        raise UsageError(f"{what} {url[:200]!r} {problem}")
    return url


def choose_target(
    route: ModelRoute,
    *,
    api_base_override: str | None = None,
    label: str | None = None,
    trust: KeyTrust | None = None,
) -> Target:
    """The call target for a route now: the offline fallback when the provider's key is not in the
    environment, then ``api_base_override``; :class:`ProviderError` when a needed key is missing.
    ``trust``: the alias/URL/key-variable pairings that may carry a key (:mod:`.trust`); None: all."""
    model, api_base, key_env = route.model, route.api_base, route.api_key_env
    alias_name: str | None = route.name
    params: dict[str, Any] = {}
    budgets: dict[str, int] = {}
    offline_from = None
    if route.offline is not None and _key_missing(model, key_env):
        offline_from = model
        off = route.offline
        model, api_base, key_env, params = off.model, off.api_base, off.api_key_env, dict(off.params)
        budgets = dict(off.budgets)
        alias_name = off.alias
    key_for_base = True
    withheld = None
    if api_base_override and api_base_override != api_base:
        api_base, key_for_base = api_base_override, False
    elif trust is not None and api_base and key_env and not trust.allows(alias_name or "", api_base, key_env):
        from .trust import withheld_notice

        key_for_base = False
        withheld = withheld_notice(alias_name or route.name, api_base, key_env, trust)
    if is_in_process(model):
        from ..providers.local import preflight

        preflight(model)  # the [local] extra and the model file: a clear error before any call
    wanted = label or route.name
    target = Target(model, api_base, key_env, wanted, offline_from, params, key_for_base, budgets, withheld)
    if not key_env and not api_base and _key_missing(model, None):
        env = PROVIDER_KEY_ENV[provider_of(model)]
        raise ProviderError(
            f"model {wanted!r} ({model}) needs {env} in the environment; set it, or give the alias an "
            "'offline' model in llmops.yaml"
        )
    if key_env and target.sends_key and not settings.value_of(key_env):
        raise ProviderError(
            f"model {wanted!r} needs an API key in the environment variable {key_env}, which is not set",
            file="llmops.yaml",
        )
    return target


def resolve_target(
    config: ProjectConfig,
    name: str,
    *,
    model_override: str | None = None,
    api_base_override: str | None = None,
    trust: KeyTrust | None = None,
) -> Target:
    """The call target for a model name (alias or id), applying ``--model`` / ``--api-base``, the alias's
    ``offline`` fallback when the provider's key is not in the environment, and the trusted pairings."""
    wanted = model_override or name
    return choose_target(resolve_route(config, wanted), api_base_override=api_base_override, trust=trust)
