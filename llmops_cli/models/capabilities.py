"""What a model supports (strict JSON-Schema output, tool calls), read statically from the model table litellm
ships — without importing litellm, so ``prompt lint`` stays fast.

litellm's ``supports_response_schema`` answers from the same table (``supports_response_schema`` per model), plus
a few providers that accept a schema for every model; :func:`supports_response_schema` mirrors that and says
``None`` when the table does not know the model (a self-hosted or new one), so callers can tell "no" from
"unknown".
"""

from __future__ import annotations

import importlib.util
import json
import os
from functools import cache
from typing import Any

from .targets import is_in_process, provider_of

TABLE_FILE = "model_prices_and_context_window_backup.json"
# providers litellm treats as accepting a response schema for every model (litellm.utils.supports_response_schema)
SCHEMA_EVERYWHERE = frozenset({"predibase", "fireworks_ai", "lm_studio", "nebius", "databricks"})


@cache
def _table() -> dict[str, Any]:
    """litellm's bundled model table (empty when litellm or the file is missing or unreadable)."""
    try:
        spec = importlib.util.find_spec("litellm")  # locates the package without importing it
    except (ImportError, ValueError):
        return {}
    if spec is None or not spec.submodule_search_locations:
        return {}
    for folder in spec.submodule_search_locations:
        try:
            with open(os.path.join(folder, TABLE_FILE), encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return data
    return {}


def model_entry(model: str) -> dict[str, Any] | None:
    """The table entry of a litellm model id (``openai/gpt-4o-2024-08-06`` or ``gpt-4o-2024-08-06``), or None."""
    table = _table()
    entry = table.get(model)
    if entry is None and "/" in model:
        provider, rest = model.split("/", 1)
        candidate = table.get(rest)
        if isinstance(candidate, dict) and candidate.get("litellm_provider") in (provider, None):
            entry = candidate
    return entry if isinstance(entry, dict) else None


def supports_response_schema(model: str) -> bool | None:
    """Does ``model`` take a strict JSON-Schema response format? True / False per litellm's table; None when the
    table does not list the model. In-process ``local/…`` models constrain output with a grammar: True."""
    if is_in_process(model) or provider_of(model) in SCHEMA_EVERYWHERE:
        return True
    entry = model_entry(model)
    if entry is None:
        return None
    return bool(entry.get("supports_response_schema"))


def supports_tools(model: str) -> bool | None:
    """Does ``model`` take tool (function) definitions? Per litellm's table; None when it does not list it."""
    if is_in_process(model):
        return True
    entry = model_entry(model)
    if entry is None:
        return None
    return bool(entry.get("supports_function_calling"))
