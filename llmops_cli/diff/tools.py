"""Tool changes between two prompt versions: tools added or removed, and per tool what its parameters schema,
description and strict flag did; ``tool_choice`` and ``parallel_tool_calls``.

The application that serves a tool-using prompt implements its tools and receives the arguments the model
writes, so changes that can make those arguments differ in shape are *breaking*: a tool added (the
application must implement it) or removed, a parameter removed, a parameter's type changed, the ``required``
list changed, an enum narrowed. Other schema keywords (descriptions, formats, bounds) are *patch*, like
template wording; a new optional parameter or a widened enum is a *feature*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .change import Change, fmt

if TYPE_CHECKING:
    from ..prompt import Prompt
    from ..records.chat import ToolChoice, ToolSpec

MAX_CHANGES_PER_TOOL = 20


def tool_changes(old: Prompt, new: Prompt) -> list[Change]:
    """Every tool difference between two versions, tools in the new version's order (removed ones first)."""
    a = {t.name: t for t in old.tools}
    b = {t.name: t for t in new.tools}
    out: list[Change] = []
    for name in a:
        if name not in b:
            out.append(Change("tool_removed", f"tools.{name}", f"tool `{name}` removed"))
    for name, tool in b.items():
        if name not in a:
            out.append(
                Change("tool_added", f"tools.{name}", f"tool `{name}` added (the application must implement it)")
            )
        else:
            out += _tool(a[name], tool)[:MAX_CHANGES_PER_TOOL]
    ca, cb = old.tool_choice, new.tool_choice
    if ca != cb:
        out.append(Change("tool_choice_changed", "tool_choice", f"tool_choice {_choice(ca)} → {_choice(cb)}"))
    if old.parallel_tool_calls != new.parallel_tool_calls:
        pa, pb = (fmt(v) if v is not None else "unset" for v in (old.parallel_tool_calls, new.parallel_tool_calls))
        out.append(Change("parallel_tool_calls_changed", "parallel_tool_calls", f"parallel_tool_calls {pa} → {pb}"))
    return out


def _choice(choice: ToolChoice | None) -> str:
    if choice is None:
        return "unset"
    return f"{{name: {choice.name}}}" if choice.mode == "function" else choice.mode


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(value: Any) -> set[Any]:
    return set(value) if isinstance(value, list) else set()


def _tool(a: ToolSpec, b: ToolSpec) -> list[Change]:
    out: list[Change] = []
    subj = f"tools.{b.name}"
    if a.description != b.description:
        out.append(Change("tool_description_changed", subj, f"tool `{b.name}` description changed"))
    if a.strict != b.strict:
        out.append(Change("tool_strict_changed", subj, f"tool `{b.name}` strict {fmt(a.strict)} → {fmt(b.strict)}"))
    if a.parameters != b.parameters:
        fields = _schema(a.parameters, b.parameters, b.name, "")
        out += fields
        if not fields or _other_keywords_differ(a.parameters, b.parameters):
            out.append(Change("tool_schema_changed", subj, f"tool `{b.name}` parameters schema changed"))
    return out


def _type(schema: Any) -> Any:
    t = schema.get("type") if isinstance(schema, dict) else None
    return sorted(t) if isinstance(t, list) else t


def _schema(a: dict[str, Any], b: dict[str, Any], tool: str, prefix: str) -> list[Change]:
    """Parameters added, removed, retyped, required or not, enums narrowed or widened (recursively)."""
    where = f"`{tool}` argument `{prefix}`" if prefix else f"`{tool}` arguments"
    subj = f"tools.{tool}.{prefix or '$'}"
    if _type(a) != _type(b):
        return [Change("tool_param_retyped", subj, f"tool {where} type {fmt(a.get('type'))} → {fmt(b.get('type'))}")]
    out: list[Change] = []
    ea, eb = a.get("enum"), b.get("enum")
    if ea != eb:
        out.append(_enum(tool, prefix, ea, eb))
    pa, pb = _dict(a.get("properties")), _dict(b.get("properties"))
    ra, rb = _names(a.get("required")), _names(b.get("required"))
    for key in list(pa) + [k for k in pb if k not in pa]:
        path = f"{prefix}.{key}" if prefix else str(key)
        psubj = f"tools.{tool}.{path}"
        if key not in pb:
            out.append(Change("tool_param_removed", psubj, f"tool `{tool}` argument `{path}` removed"))
        elif key not in pa:
            req = key in rb
            kind = "tool_param_added_required" if req else "tool_param_added_optional"
            text = f"tool `{tool}` argument `{path}` added ({'required' if req else 'optional'})"
            out.append(Change(kind, psubj, text))
        else:
            if isinstance(pa[key], dict) and isinstance(pb[key], dict):
                out += _schema(pa[key], pb[key], tool, path)
            if key in ra and key not in rb:
                out.append(
                    Change("tool_required_changed", psubj, f"tool `{tool}` argument `{path}` no longer required")
                )
            elif key in rb and key not in ra:
                out.append(Change("tool_required_changed", psubj, f"tool `{tool}` argument `{path}` now required"))
    ia, ib = a.get("items"), b.get("items")
    if isinstance(ia, dict) and isinstance(ib, dict):
        out += _schema(ia, ib, tool, f"{prefix}[]")
    return out


def _enum(tool: str, prefix: str, a: Any, b: Any) -> Change:
    subj = f"tools.{tool}.{prefix or '$'}.enum"
    name = f"tool `{tool}` argument `{prefix}`" if prefix else f"tool `{tool}` arguments"
    if not isinstance(b, list):
        return Change("tool_enum_widened", subj, f"{name} no longer restricted to {fmt(a)}")
    if not isinstance(a, list):
        return Change("tool_enum_narrowed", subj, f"{name} now restricted to {fmt(b)}")
    removed = [v for v in a if v not in b]
    added = [v for v in b if v not in a]
    parts = ([f"{fmt(added)} allowed"] if added else []) + ([f"{fmt(removed)} no longer allowed"] if removed else [])
    kind = "tool_enum_narrowed" if removed else "tool_enum_widened"
    return Change(kind, subj, f"{name} values: " + ", ".join(parts or ["reordered"]))


_WALKED = frozenset({"type", "enum", "properties", "required", "items"})


def _other_keywords_differ(a: Any, b: Any) -> bool:
    """Do two schemas differ in a keyword the walk does not report (description, format, bounds, $defs…)?"""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if not (isinstance(x, dict) and isinstance(y, dict)):
            if x != y:
                return True
            continue
        for key in set(x) | set(y):
            if key in ("type", "enum", "required"):
                continue
            if key == "properties" and isinstance(x.get(key), dict) and isinstance(y.get(key), dict):
                px, py = x[key], y[key]
                stack.extend((px[k], py[k]) for k in px if k in py)
            elif key == "items":
                stack.append((x.get(key), y.get(key)))
            elif key not in _WALKED and x.get(key) != y.get(key):
                return True
    return False
