"""Tool definitions and tool choices of other formats → a prompt file's ``tools`` / ``tool_choice``.

Accepted tool shapes (promptfoo provider ``config.tools`` / ``config.functions``, Prompty ``model.parameters.tools``
and top-level ``tools``):

* OpenAI: ``{type: function, function: {name, description, parameters, strict}}``;
* OpenAI legacy ``functions`` and Prompty v2 ``{name, description, parameters}`` (``kind: function`` allowed);
* Anthropic: ``{name, description, input_schema}``.

Each mapped tool is validated exactly as a prompt file's tool is (:class:`~llmops_cli.toolspec.FunctionToolSpec`:
name rule, bounded local-only schema); a tool that fails, repeats a name, or is of another kind (a built-in
search tool, an MCP server) becomes a gap with its reason, never a guess.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..toolspec import MAX_TOOLS, FunctionToolSpec, tool_name_problem
from .common import GapLog

Path = tuple[str | int, ...]


def map_tools(raw: Any, log: GapLog, path: Path, source: str) -> list[dict[str, Any]]:
    """Prompt-file tool definitions for a list of tools in any accepted shape; gaps logged at ``path``."""
    if not isinstance(raw, list):
        log.add("unmapped", path, f"{source}", "not a list of tools")
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        ipath = (*path, i)
        if len(out) >= MAX_TOOLS:
            log.add("unmapped", ipath, f"{len(raw) - i} more tools", f"a prompt sends at most {MAX_TOOLS} tools")
            break
        fields, why = _fields(item)
        if fields is None:
            log.add("unmapped", ipath, f"{source} entry", why)
            continue
        try:
            tool = FunctionToolSpec.model_validate(fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            msg = str(err["msg"]).removeprefix("Value error, ")
            name = fields.get("name") if isinstance(fields.get("name"), str) else "?"
            log.add("unmapped", ipath, f"tool {str(name)[:64]!a}", f"not valid in llmops: {msg[:300]}")
            continue
        if tool.name in seen:
            log.add("unmapped", ipath, f"tool `{tool.name}`", "a second tool of the same name")
            continue
        seen.add(tool.name)
        out.append(tool.model_dump(exclude_defaults=True))
    return out


def _fields(item: Any) -> tuple[dict[str, Any] | None, str]:
    """The llmops tool fields of one entry, or (None, why it cannot be mapped)."""
    if not isinstance(item, dict):
        return None, "not a mapping"
    kind = item.get("type", item.get("kind", "function"))
    if kind != "function" and "input_schema" not in item:
        return None, f"a {str(kind)[:40]!a} tool (only function tools are imported)"
    inner = item.get("function")
    fn: dict[str, Any] = inner if isinstance(inner, dict) else item
    fields: dict[str, Any] = {"name": fn.get("name")}
    if fn.get("description") is not None:
        fields["description"] = fn.get("description")
    params = fn.get("parameters", fn.get("input_schema"))
    if params is not None:
        fields["parameters"] = params
    if fn.get("strict") is not None:
        fields["strict"] = fn.get("strict")
    return fields, ""


def map_tool_choice(raw: Any, names: set[str], log: GapLog, path: Path) -> Any:
    """A prompt file's ``tool_choice`` for OpenAI / Anthropic / legacy ``function_call`` shapes, or None (a gap)."""
    choice: Any = None
    if raw in ("auto", "required", "none"):
        choice = raw
    elif raw == "any":
        choice = "required"
    elif isinstance(raw, dict):
        kind = raw.get("type")
        if kind in ("auto", "none"):
            choice = kind
        elif kind == "any":
            choice = "required"
        else:
            inner = raw.get("function")
            name = inner.get("name") if isinstance(inner, dict) else raw.get("name")
            if tool_name_problem(name) is None:
                choice = {"name": name}
    if choice is None:
        log.add("unmapped", path, "tool_choice", f"{str(raw)[:60]!a} is not auto, required, none or one function")
        return None
    if isinstance(choice, dict) and choice["name"] not in names:
        log.add("unmapped", path, "tool_choice", f"names {choice['name']!r}, which is not among the imported tools")
        return None
    if not names and choice != "none":
        log.add("unmapped", path, "tool_choice", "no tool was imported")
        return None
    return choice
