"""promptfoo ``providers`` → ``llmops.yaml`` model aliases (litellm ids, generation params)."""

from __future__ import annotations

import re
from typing import Any

from ..common import (
    GENERATION_PARAMS,
    ModelAliasDraft,
    param_problem,
    slug,
    unique,
)
from .state import State, safe_id

# promptfoo provider prefix → litellm provider prefix.
PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure",
    "azureopenai": "azure",
    "ollama": "ollama_chat",
    "groq": "groq",
    "mistral": "mistral",
    "google": "gemini",
    "gemini": "gemini",
    "vertex": "vertex_ai",
    "bedrock": "bedrock",
    "openrouter": "openrouter",
    "huggingface": "huggingface",
    "deepseek": "deepseek",
    "togetherai": "together_ai",
    "together": "together_ai",
    "perplexity": "perplexity",
    "xai": "xai",
    "fireworks": "fireworks_ai",
    "cohere": "cohere",
    "cerebras": "cerebras",
    "vllm": "hosted_vllm",
    "lmstudio": "lm_studio",
    "databricks": "databricks",
    "watsonx": "watsonx",
    "replicate": "replicate",
}
_KINDS = {"chat", "messages", "completion", "responses", "text-generation"}
# provider config key → llmops param (same meaning)
PARAMS = {**GENERATION_PARAMS, "num_predict": "max_tokens"}


TOOL_KEYS = ("tools", "functions", "tool_choice", "function_call", "parallel_tool_calls")


# -- providers ----------------------------------------------------------------------------------------------
def _map_provider_tools(st: State, config: dict[str, Any], path: tuple[str | int, ...], *, first: bool) -> None:
    """A provider's ``tools`` / ``functions`` (inline or ``file://…``), ``tool_choice`` / ``function_call`` and
    ``parallel_tool_calls`` → the imported prompts' tools (the first provider's; others' are reported)."""
    from ..common import load_data_file
    from ..tools import map_tool_choice, map_tools

    present = [k for k in TOOL_KEYS if k in config]
    if not present:
        return
    if not first:
        for k in present:
            st.log.add(
                "unmapped", (*path, "config", k), f"provider config `{k}`", "the prompts use the first provider's"
            )
        return
    tools: list[dict[str, Any]] = []
    for key in ("tools", "functions"):
        if key not in config:
            continue
        kpath = (*path, "config", key)
        raw = config[key]
        if isinstance(raw, str) and raw.startswith("file://") and raw.lower().endswith((".json", ".yaml", ".yml")):
            fpath, text = st.src.read_text(raw, file=st.log.file, line=st.log.line(kpath))
            raw = load_data_file(fpath, text, st.src.label(fpath))
        taken = {t["name"] for t in tools}
        for tool in map_tools(raw, st.log, kpath, f"provider config `{key}`"):
            if tool["name"] in taken:
                st.log.add("unmapped", kpath, f"tool `{tool['name']}`", "declared in both tools and functions")
                continue
            tools.append(tool)
            st.mapped(f"provider {key}")
    st.tools = tools
    names = {t["name"] for t in tools}
    for key in ("tool_choice", "function_call"):
        if key in config:
            choice = map_tool_choice(config[key], names, st.log, (*path, "config", key))
            if choice is not None:
                st.tool_choice = choice
                st.mapped(f"provider {key}")
    if "parallel_tool_calls" in config:
        value = config["parallel_tool_calls"]
        if isinstance(value, bool) and tools:
            st.parallel_tool_calls = value
            st.mapped("provider parallel_tool_calls")
        else:
            why = "not true or false" if not isinstance(value, bool) else "no tool was imported"
            st.log.add("unmapped", (*path, "config", "parallel_tool_calls"), "parallel_tool_calls", why)


def map_providers(st: State) -> tuple[list[ModelAliasDraft], str, Any]:
    """Aliases for the mappable providers, the alias the prompts use, and the output format."""
    data, log = st.data, st.log
    key = "providers" if "providers" in data else "targets"
    raw = data.get(key)
    if raw is None:
        items: list[Any] = []
    elif isinstance(raw, list):
        items = raw
    else:
        items = [raw]
    aliases: list[ModelAliasDraft] = []
    output: Any = "text"
    taken: set[str] = set()
    for i, item in enumerate(items):
        path: tuple[str | int, ...] = (key, i) if isinstance(raw, list) else (key,)
        pid, plabel, config = _provider_parts(item)
        if pid is None:
            log.add("unmapped", path, "provider", "not a provider id or {id, config} mapping")
            continue
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            for extra in sorted(set(item) - {"id", "label", "config"}):
                log.add("unmapped", (*path, extra), f"provider option `{extra}`", "no llmops equivalent")
        model = _litellm_id(pid)
        if model is None:
            log.add(
                "unmapped", path, f"custom provider `{safe_id(pid)}`", "llmops calls models through litellm ids only"
            )
            continue
        alias = ModelAliasDraft(unique(slug(plabel or model.split("/", 1)[-1], "model"), taken), model)
        if pid.startswith(("openai:completion:", "ollama:completion:")):
            log.add("approximated", path, f"completion provider `{pid}`", "imported as a chat model")
        key_path: tuple[str | int, ...] = ()
        _map_provider_tools(st, config or {}, path, first=i == 0)
        for ckey, value in (config or {}).items():
            cpath = (*path, "config", ckey)
            if ckey in TOOL_KEYS:
                continue  # _map_provider_tools
            if ckey in PARAMS and (problem := param_problem(PARAMS[ckey], value)) is None:
                alias.params[PARAMS[ckey]] = value
                st.mapped(f"provider param {ckey}")
            elif ckey in PARAMS:
                log.add("unmapped", cpath, f"provider config `{ckey}`", f"value not accepted by llmops: {problem}")
            elif ckey in ("apiKey", "api_key"):
                log.add(
                    "unmapped", cpath, "API key written in the config", "not imported: keys belong in the environment"
                )
            elif ckey in ("apiKeyEnvar", "apiKeyEnv") and isinstance(value, str) and value.replace("_", "").isalnum():
                alias.api_key_env = value
                key_path = cpath
            elif (
                ckey in ("apiBaseUrl", "baseUrl", "apiHost", "base_url")
                and isinstance(value, str)
                and "{{" not in value
            ):
                alias.api_base = value if "://" in value else f"https://{value}"
            elif ckey == "response_format" and isinstance(value, dict) and value.get("type") == "json_object":
                if i == 0:
                    output = "json"
                st.mapped("response_format json_object")
            elif (
                ckey == "response_format"
                and isinstance(value, dict)
                and value.get("type") == "json_schema"
                and isinstance(value.get("json_schema"), dict)
                and isinstance(value["json_schema"].get("schema"), dict)
            ):
                if i == 0:
                    output = {"format": "json", "schema": value["json_schema"]["schema"]}
                    if value["json_schema"].get("strict") is True:
                        output["strict"] = True
                st.mapped("response_format json_schema")
            else:
                log.add("unmapped", cpath, f"provider config `{ckey}`", "not a generation param llmops knows")
        if alias.api_base and alias.api_key_env:
            _unpair_key(st, alias, key_path)
        aliases.append(alias)
        st.mapped("provider")
    if len(aliases) > 1:
        log.add(
            "approximated",
            (key,),
            f"{len(aliases)} providers (a matrix)",
            f"prompts use `{aliases[0].name}`; evaluate the others with `llmops eval run --model ALIAS` "
            f"({', '.join(a.name for a in aliases[1:])})",
        )
    if not aliases:
        first = "chat"
        log.add(
            "approximated",
            (key,),
            "no provider llmops can call",
            "prompts use the alias `chat` from llmops.yaml; point it at your model",
        )
    else:
        first = aliases[0].name
    return aliases, first, output


def _unpair_key(st: State, alias: ModelAliasDraft, path: tuple[str | int, ...]) -> None:
    """An imported URL never gets a key variable: the URL is kept, the variable dropped and reported, so no
    key leaves for a URL that only the imported file vouches for (see ``llmops_cli.models.trust``)."""
    from ...models.trust import show_url

    env, alias.api_key_env = alias.api_key_env, None
    gap = st.log.add(
        "unmapped",
        path,
        f"key variable `{env}` for {show_url(alias.api_base or '')}",
        f"llmops never pairs an imported api_base with a key; after checking the URL, add `api_key_env: {env}` "
        f"to models.{alias.name} in llmops.yaml yourself",
    )
    st.prompt_gaps.append(gap)


def _provider_parts(item: Any) -> tuple[str | None, str | None, dict[str, Any] | None]:
    if isinstance(item, str):
        return item, None, None
    if isinstance(item, dict):
        if isinstance(item.get("id"), str):
            config = item.get("config") if isinstance(item.get("config"), dict) else {}
            return item["id"], item.get("label") if isinstance(item.get("label"), str) else None, config
        if len(item) == 1:
            ((pid, body),) = item.items()
            if isinstance(pid, str) and isinstance(body, dict):
                config = body.get("config") if isinstance(body.get("config"), dict) else {}
                return pid, body.get("label") if isinstance(body.get("label"), str) else None, config
    return None, None, None


def _litellm_id(pid: str) -> str | None:
    """litellm model id of a promptfoo provider id, or None for custom providers."""
    if "://" in pid or pid.startswith(("file:", "exec:", "python:", "webhook:", "golang:")):
        return None
    head, _, rest = pid.partition(":")
    prefix = PROVIDERS.get(head)
    if prefix is None or not rest:
        return None
    kind, _, tail = rest.partition(":")
    if kind in _KINDS and tail:
        rest = tail
        if head == "ollama" and kind == "completion":
            prefix = "ollama"
    elif kind in ("embedding", "embeddings", "assistant", "realtime", "claude-agent-sdk", "image", "moderation"):
        return None
    if rest in ("claude-agent-sdk", "claude-code") or not re.fullmatch(r"[\w.\-/:@]+", rest):
        return None
    return f"{prefix}/{rest}"
