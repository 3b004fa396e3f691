"""Project configuration: ``llmops.yaml`` at the project root.

Example::

    models:                       # aliases prompts may name instead of a litellm model id
      chat:
        model: openai/gpt-4o-mini-2024-07-18
        offline: local/smollm2    # used instead when the provider's API key is not set
      local-vllm:
        model: openai/meta-llama/Llama-3.1-8B-Instruct
        api_base: http://127.0.0.1:8000/v1
        api_key_env: VLLM_API_KEY # the *name* of an environment variable, never a key
    judge:
      prompt: judges/rubric       # judges are prompts in prompts/
      model: chat
      samples: 3
    paths: {prompts: prompts, evals: evals, partials: prompts/_partials, tools: prompts/_tools}
    concurrency: 8
    cache: {dir: .llmops/cache}
    budget: {max_cost_usd: 5.00}  # eval run / eval gate stop before spending more (--max-cost wins)
"""

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import settings
from .errors import ConfigError
from .limits import MAX_PROMPT_FILE_CHARS, MAX_SMALL_YAML_NODES, checked_label, name_problem
from .yamlio import LineMap, parse_yaml

CONFIG_FILE = "llmops.yaml"


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) URL with a host (None when it is one)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
            return "must be an http:// or https:// URL with a host"
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ModelAlias(_Strict):
    """A named model: the litellm id, where to reach it and default params."""

    model: str = Field(..., description="litellm model id, e.g. openai/gpt-4o-mini-2024-07-18")
    api_base: str | None = Field(None, description="Base URL of an OpenAI-compatible server, vLLM, Ollama…")
    api_key_env: str | None = Field(None, description="Name of the environment variable holding the key.")
    params: dict[str, Any] = Field(default_factory=dict, description="Default params, under the prompt's.")
    offline: str | None = Field(
        None, description="Model id used instead when the provider's API key is not in the environment."
    )
    budgets: dict[Literal["text", "json", "judge"], int] = Field(
        default_factory=dict,
        description="max_tokens per kind of output (free text, JSON, judge verdicts), on top of params.",
    )

    @field_validator("model", "offline")
    @classmethod
    def _model_id(cls, value: str | None) -> str | None:
        return checked_label(value, "model id")

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, tokens in value.items():
            if isinstance(tokens, bool) or not 1 <= tokens <= 100_000:
                raise ValueError(f"budgets.{kind} must be a whole number of tokens from 1 to 100000")
        return value

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str | None) -> str | None:
        if value is not None and (problem := url_problem(value)):
            raise ValueError(f"api_base {problem}")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and (not value.replace("_", "").isalnum() or value.startswith("sk-")):
            raise ValueError("api_key_env must be the NAME of an environment variable, not a key")
        return value

    @field_validator("params")
    @classmethod
    def _params(cls, value: dict[str, Any]) -> dict[str, Any]:
        from .spec import check_params

        return check_params(value)


class PathsConfig(_Strict):
    prompts: str = "prompts"
    evals: str = "evals"
    partials: str = "prompts/_partials"
    tools: str = "prompts/_tools"  # shared tool definitions (``use: FILE/TOOL`` in a prompt's tools)

    @field_validator("prompts", "evals", "partials", "tools")
    @classmethod
    def _relative(cls, value: str) -> str:
        parts = value.strip("/").split("/")
        if value.startswith("/") or "\\" in value or ".." in parts or ".git" in parts or not value.strip("/"):
            raise ValueError("must be a folder inside the project (relative, no '..', not .git)")
        return value


class JudgeConfig(_Strict):
    prompt: str = Field("judges/rubric", description="Default judge prompt (a prompt name).")
    model: str | None = Field(None, description="Judge model id or alias; defaults to the judge prompt's.")
    samples: int = Field(1, ge=1, le=20, description="Judge calls per output (K).")

    @field_validator("prompt")
    @classmethod
    def _prompt_name(cls, value: str) -> str:
        problem = name_problem(value, "prompt name")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("model")
    @classmethod
    def _model_name(cls, value: str | None) -> str | None:
        return checked_label(value, "model")


class CacheConfig(_Strict):
    dir: str = Field(".llmops/cache", description="Response cache; LLMOPS_CACHE_DIR overrides it.")


class EvalConfig(_Strict):
    timeout_s: float = Field(60.0, gt=0, description="Per-call timeout.")
    max_retries: int = Field(4, ge=0, le=20, description="Retries on 429/5xx/timeouts per call.")
    repeat: int = Field(1, ge=1, le=50, description="Generations per case (R).")
    min_pass_rate: float = Field(
        1.0, ge=0, le=1, description="Share of outputs that must pass per prompt (a golden set's defaults override)."
    )
    max_error_rate: float = Field(
        0.0, ge=0, le=1, description="Share of outputs that may end in a provider or judge error per prompt."
    )
    backoff_s: float = Field(0.5, gt=0, le=60, description="Base of the exponential back-off between retries.")


MARGIN_REMOVED_IN = "0.3.0"
"""The release that refuses ``gate.margin`` (and ``margin`` in ``gate.overrides``) in llmops.yaml."""


class ConfigDeprecationWarning(FutureWarning):
    """A key llmops.yaml may still hold, ignored now and refused from a named release (shown by default)."""


def _margin_problem(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
    return None if ok else f"must be a number from 0 to 1, got {value!r} (deprecated and ignored)"


class GateJudgesConfig(_Strict):
    min_kappa_lower: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="A judged metric decides the gate only when its judge is calibrated (evals/<judge>.calibration."
        "json, not stale) with kappa's 95% lower bound at least this; otherwise it is reported, not gated. "
        "Unset: every judge decides (its calibration status is still shown).",
    )


class GatePairwiseConfig(_Strict):
    judge: str | None = Field(
        None,
        description="A pairwise judge prompt (inputs answer_a, answer_b): every gated prompt's base and head "
        "answers are judged in both orders and the preference is tested with an exact sign test.",
    )

    @field_validator("judge")
    @classmethod
    def _judge_name(cls, value: str | None) -> str | None:
        problem = None if value is None else name_problem(value, "prompt name")
        if problem:
            raise ValueError(problem)
        return value


class GateConfig(_Strict):
    practical: float = Field(0.02, ge=0, le=1, description="Smallest drop worth failing for (0-1 scale).")
    alpha: float = Field(0.05, gt=0, lt=0.5)
    max_judge_error_rate: float = Field(
        0.05, ge=0, le=1, description="Share of judge calls that may error per arm before the gate fails closed."
    )
    max_provider_error_rate: float = Field(
        0.05, ge=0, le=1, description="Share of generations that may error per arm before the gate fails closed."
    )
    overrides: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Per-prompt overrides: {prompt name: {practical, margin, alpha}}."
    )
    judges: GateJudgesConfig = Field(
        default_factory=GateJudgesConfig, description="What a judge must show before its metrics may decide."
    )
    pairwise: GatePairwiseConfig = Field(
        default_factory=GatePairwiseConfig, description="Pairwise judging of base vs head answers (off by default)."
    )
    max_removed_cases: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of a gated prompt's base cases a change may remove or rename before the gate fails.",
    )
    # Declarations of the change itself, read from the pull request's llmops.yaml (not policy):
    moves: dict[str, str] = Field(
        default_factory=dict, description="Prompts renamed in this change: {old name: new name}; gated old vs new."
    )
    accept_removal: dict[str, str] = Field(
        default_factory=dict,
        description="{prompt name: reason}: a removal made on purpose (prompt, golden set or cases): WARN, not FAIL.",
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_margin(cls, data: Any) -> Any:
        """``margin`` (v0.1's non-inferiority margin) is still accepted, checked and ignored until it is removed in
        :data:`MARGIN_REMOVED_IN` (:func:`parse_config` warns where it is set)."""
        if isinstance(data, dict) and "margin" in data:
            problem = _margin_problem(data["margin"])
            if problem:
                raise ValueError(f"margin {problem}")
            data = {k: v for k, v in data.items() if k != "margin"}
        return data

    @field_validator("moves", "accept_removal")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        from .limits import MAX_NAME_CHARS, name_problem

        if len(value) > 1000:
            raise ValueError("at most 1000 entries")
        for key, v in value.items():
            problem = name_problem(key, "prompt name") or (
                None if len(v) <= MAX_NAME_CHARS and v.isprintable() else f"{key}: value must be one printable line"
            )
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("overrides")
    @classmethod
    def _override_keys(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for name, over in value.items():
            problem = name_problem(name, "prompt name")
            if problem:
                raise ValueError(problem)
            unknown = sorted(set(over) - {"practical", "margin", "alpha"})
            if unknown:
                raise ValueError(f"{name}: unknown override {', '.join(unknown)} (allowed: practical, margin, alpha)")
            for key, v in over.items():
                if not (0 < v < 0.5 if key == "alpha" else 0 <= v <= 1):
                    raise ValueError(f"{name}: {key} = {v} is out of range")
        return {name: {k: v for k, v in over.items() if k != "margin"} for name, over in value.items()}


class BudgetConfig(_Strict):
    max_cost_usd: float | None = Field(
        None, gt=0, le=1_000_000, description="Most USD one `eval run` / `eval gate` may spend (--max-cost wins)."
    )


class CanaryMargins(_Strict):
    """The smallest worsening of each metric worth aborting a canary for (null: the metric does not decide)."""

    quality: float | None = Field(
        0.05, gt=0, le=1, description="Judge score drop (0-1 scale, per judge metric; 0.05 = 0.2 points on 1-5)."
    )
    feedback: float | None = Field(0.05, gt=0, le=1, description="Feedback score drop (feedback on a 0-1 scale).")
    error_rate: float | None = Field(0.01, gt=0, le=1, description="Error-rate rise, absolute (0.01 = 1 point).")
    cost_per_call: float | None = Field(
        0.10, gt=0, le=10, description="Cost-per-call rise, relative to the stable arm (0.10 = 10%)."
    )
    latency_ms: float | None = Field(
        0.20, gt=0, le=10, description="Mean-latency rise, relative to the stable arm (0.20 = 20%)."
    )


class CanaryConfig(_Strict):
    """The canary verdict of ``llmops usage compare`` (always-valid sequential test, see docs/releases.md)."""

    alpha: float = Field(
        0.05, gt=0, lt=0.5, description="Chance of ever aborting an equal canary, however often it is checked."
    )
    min_calls: int = Field(100, ge=10, le=10_000_000, description="Calls each arm needs before PROMOTE.")
    min_scored: int = Field(
        30, ge=10, le=10_000_000, description="Judge scores / feedback each arm needs before a quality metric counts."
    )
    margins: CanaryMargins = Field(default_factory=CanaryMargins)


class ProjectConfig(_Strict):
    version: int = 1
    models: dict[str, ModelAlias] = Field(default_factory=dict)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    paths: PathsConfig = Field(default_factory=PathsConfig)
    concurrency: int = Field(8, ge=1, le=512)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    # not in model_dump(): a spending cap changes no result, so it must not change the config hash
    budget: BudgetConfig = Field(default_factory=BudgetConfig, exclude=True)
    # not in model_dump() either: how a canary is judged in production changes no eval result
    canary: CanaryConfig = Field(default_factory=CanaryConfig, exclude=True)

    @field_validator("models")
    @classmethod
    def _alias_names(cls, value: dict[str, ModelAlias]) -> dict[str, ModelAlias]:
        for name in value:
            checked_label(name, "model alias")
        return value

    def resolve_model(self, name: str) -> tuple[str, ModelAlias | None]:
        """(litellm model id, alias) for a model name that may be an alias."""
        alias = self.models.get(name)
        return (alias.model, alias) if alias else (name, None)

    def cache_dir(self, root: str) -> str:
        """Cache directory: ``$LLMOPS_CACHE_DIR`` or ``cache.dir`` relative to the project root."""
        env = settings.CACHE_DIR.raw()
        if env:
            return env
        return self.cache.dir if os.path.isabs(self.cache.dir) else os.path.join(root, self.cache.dir)


def format_validation_error(
    exc: ValidationError, lines: LineMap, prefix: tuple[str | int, ...] = ()
) -> tuple[str, int | None]:
    """First problem of a pydantic error as ``(message, line)`` with the key path ``a -> b -> c``."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal[", "tag:"))))
    path = " -> ".join(str(p) for p in (*prefix, *loc)) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "field required"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{path}: {msg}{suffix}", lines.line((*prefix, *loc))


def parse_config(text: str | None, file: str = CONFIG_FILE) -> ProjectConfig:
    """Validate ``llmops.yaml`` text (None: defaults)."""
    if text is None:
        return ProjectConfig()
    data = parse_yaml(text, file, aliases="cap", max_chars=MAX_PROMPT_FILE_CHARS, max_nodes=MAX_SMALL_YAML_NODES)
    if data is None:
        return ProjectConfig()
    if not isinstance(data, dict):
        raise ConfigError("llmops.yaml must be a mapping", file=file, line=1)
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        msg, line = format_validation_error(exc, LineMap(text))
        raise ConfigError(msg, file=file, line=line) from None
    _warn_deprecated(data, text, file)
    return config


_warned: dict[Any, Any] = {}  # the warnings registry of deprecated keys: each file and line is shown once


def deprecated_keys(data: dict[str, Any]) -> list[tuple[str | int, ...]]:
    """Key paths of llmops.yaml that are accepted but deprecated (``gate.margin``, ``margin`` in an override)."""
    gate = data.get("gate")
    if not isinstance(gate, dict):
        return []
    found: list[tuple[str | int, ...]] = [("gate", "margin")] if "margin" in gate else []
    overrides = gate.get("overrides")
    if isinstance(overrides, dict):
        found += [
            ("gate", "overrides", n, "margin") for n, o in overrides.items() if isinstance(o, dict) and "margin" in o
        ]
    return found


def _warn_deprecated(data: dict[str, Any], text: str, file: str) -> None:
    keys = deprecated_keys(data)
    if not keys:
        return
    import warnings

    lines = LineMap(text)
    for key in keys:
        path = ".".join(str(k) for k in key)
        message = (
            f"{path} is deprecated and ignored (the gate no longer uses a non-inferiority margin; see docs/gate.md); "
            f"llmops {MARGIN_REMOVED_IN} will refuse it: remove it"
        )
        warnings.warn_explicit(message, ConfigDeprecationWarning, file, lines.line(key) or 1, registry=_warned)
