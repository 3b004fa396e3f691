"""Structural diff of two prompt versions, in words a reviewer reads.

Model, params, inputs, output format and schema, tools (:mod:`.tools`), messages and partials are compared
field by field;
each difference is a :class:`Change` with a ``kind`` (the impact rules in :mod:`.impact` are keyed
on it) and a sentence such as ``temperature 0.2 → 0.7`` or ``input `locale` added (required)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .change import Change, fmt
from .tools import tool_changes

if TYPE_CHECKING:
    from ..prompt import Prompt
    from ..spec import InputSpec

# integer values are valid numbers: integer → number widens what callers may pass
_WIDER_TYPES = {("integer", "number")}


def structural_changes(old: Prompt, new: Prompt) -> list[Change]:
    """Every difference between two versions of a prompt, in a stable order."""
    out: list[Change] = []
    out += _model(old, new)
    out += _params(old.params, new.params)
    out += _inputs(old.spec.inputs, new.spec.inputs)
    out += _output(old, new)
    out += tool_changes(old, new)
    out += _messages(old, new)
    out += _partials(old.partials, new.partials)
    out += _meta(old, new)
    return out


def _model(old: Prompt, new: Prompt) -> list[Change]:
    if old.model != new.model:
        via = f" (via alias `{new.model_name}`)" if new.model_name != new.model else ""
        return [Change("model_changed", "model", f"model {old.model} → {new.model}{via}")]
    if old.model_name != new.model_name:
        return [
            Change(
                "model_alias_changed",
                "model",
                f"model written as `{old.model_name}` → `{new.model_name}` (same model {new.model})",
            )
        ]
    return []


def _params(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    out = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            out.append(Change("param_added", f"params.{key}", f"{key} set to {fmt(new[key])}"))
        elif key not in new:
            out.append(Change("param_removed", f"params.{key}", f"{key} {fmt(old[key])} removed"))
        elif old[key] != new[key]:
            out.append(Change("param_changed", f"params.{key}", f"{key} {fmt(old[key])} → {fmt(new[key])}"))
    return out


def _inputs(old: dict[str, InputSpec], new: dict[str, InputSpec]) -> list[Change]:
    out = []
    for name in sorted(set(old) | set(new)):
        subj = f"inputs.{name}"
        a, b = old.get(name), new.get(name)
        if a is None and b is not None:
            req = b.is_required
            out.append(
                Change(
                    "input_added_required" if req else "input_added_optional",
                    subj,
                    f"input `{name}` added ({'required' if req else 'optional'}, {b.type})",
                )
            )
            continue
        if b is None and a is not None:
            out.append(Change("input_removed", subj, f"input `{name}` removed"))
            continue
        assert a is not None and b is not None
        if a.type != b.type:
            kind = "input_type_widened" if (a.type, b.type) in _WIDER_TYPES else "input_type_changed"
            out.append(Change(kind, subj, f"input `{name}` type {a.type} → {b.type}"))
        if a.is_required != b.is_required:
            if b.is_required:
                out.append(Change("input_now_required", subj, f"input `{name}` is now required"))
            else:
                out.append(Change("input_now_optional", subj, f"input `{name}` is now optional"))
        if a.enum != b.enum:
            out.append(_enum_change(name, a.enum, b.enum))
        if a.has_default and b.has_default and a.default != b.default:
            out.append(
                Change("input_default_changed", subj, f"input `{name}` default {fmt(a.default)} → {fmt(b.default)}")
            )
        if a.items != b.items:
            out.append(Change("input_items_changed", subj, f"input `{name}` item schema changed"))
        if a.description != b.description:
            out.append(Change("input_description_changed", subj, f"input `{name}` description changed"))
        if a.is_media and b.is_media:
            out += _media_limits(name, a, b)
    return out


def _media_limits(name: str, a: InputSpec, b: InputSpec) -> list[Change]:
    """``max_bytes`` / ``media_types`` of an image/file/pdf input: narrower refuses values callers send today."""
    from ..spec import DEFAULT_MEDIA_BYTES, MEDIA_TYPES

    out = []
    subj = f"inputs.{name}"
    size_a, size_b = a.max_bytes or DEFAULT_MEDIA_BYTES, b.max_bytes or DEFAULT_MEDIA_BYTES
    if size_a != size_b:
        kind = "input_media_narrowed" if size_b < size_a else "input_media_widened"
        out.append(Change(kind, f"{subj}.max_bytes", f"input `{name}` max_bytes {size_a:,} → {size_b:,}"))
    types_a, types_b = set(a.media_types or MEDIA_TYPES), set(b.media_types or MEDIA_TYPES)
    if types_a - types_b:
        dropped = ", ".join(sorted(types_a - types_b))
        out.append(Change("input_media_narrowed", f"{subj}.media_types", f"input `{name}` no longer takes {dropped}"))
    if types_b - types_a:
        added = ", ".join(sorted(types_b - types_a))
        out.append(Change("input_media_widened", f"{subj}.media_types", f"input `{name}` now also takes {added}"))
    return out


def _enum_change(name: str, a: list[Any] | None, b: list[Any] | None) -> Change:
    subj = f"inputs.{name}.enum"
    if b is None:
        return Change("input_enum_widened", subj, f"input `{name}` no longer restricted to {fmt(a)}")
    if a is None:
        return Change("input_enum_narrowed", subj, f"input `{name}` now restricted to {fmt(b)}")
    removed = [v for v in a if v not in b]
    added = [v for v in b if v not in a]
    parts = []
    if added:
        parts.append(f"{fmt(added)} allowed")
    if removed:
        parts.append(f"{fmt(removed)} no longer allowed")
    kind = "input_enum_narrowed" if removed else "input_enum_widened"
    return Change(kind, subj, f"input `{name}` values: " + ", ".join(parts or ["reordered"]))


# -- output -----------------------------------------------------------------------------------------
def _output(old: Prompt, new: Prompt) -> list[Change]:
    a, b = old.spec.output, new.spec.output
    out = []
    if a.format != b.format:
        out.append(Change("output_format_changed", "output.format", f"output format {a.format} → {b.format}"))
    if a.strict != b.strict:
        out.append(Change("output_strict_changed", "output.strict", f"strict output {fmt(a.strict)} → {fmt(b.strict)}"))
    sa, sb = a.schema_, b.schema_
    if sa == sb:
        return out
    if sa is None:
        return [*out, Change("output_schema_added", "output.schema", "output schema added")]
    if sb is None:
        return [*out, Change("output_schema_removed", "output.schema", "output schema removed")]
    out += _schema_fields(sa, sb, "")
    out += _schema_other(sa, sb)
    return out


def _type_of(schema: dict[str, Any]) -> Any:
    t = schema.get("type")
    return sorted(t) if isinstance(t, list) else t


def _schema_fields(a: dict[str, Any], b: dict[str, Any], prefix: str) -> list[Change]:
    """Fields (object properties, recursively; ``[]`` for array items) added, removed or retyped."""
    out: list[Change] = []
    if _type_of(a) != _type_of(b):
        where = f"output field `{prefix}`" if prefix else "output"
        return [
            Change("output_field_retyped", f"output.{prefix or '$'}", f"{where} type {a.get('type')} → {b.get('type')}")
        ]
    pa, pb = a.get("properties") or {}, b.get("properties") or {}
    ra, rb = set(a.get("required") or []), set(b.get("required") or [])
    for key in list(pa) + [k for k in pb if k not in pa]:
        path = f"{prefix}.{key}" if prefix else key
        subj = f"output.{path}"
        if key not in pb:
            out.append(Change("output_field_removed", subj, f"output field `{path}` removed"))
        elif key not in pa:
            req = " (required)" if key in rb else ""
            out.append(Change("output_field_added", subj, f"output field `{path}` added{req}"))
        else:
            if isinstance(pa[key], dict) and isinstance(pb[key], dict):
                out += _schema_fields(pa[key], pb[key], path)
            if key in ra and key not in rb:
                out.append(Change("output_field_now_optional", subj, f"output field `{path}` no longer required"))
            elif key in rb and key not in ra:
                out.append(Change("output_field_now_required", subj, f"output field `{path}` now required"))
    ia, ib = a.get("items"), b.get("items")
    if isinstance(ia, dict) and isinstance(ib, dict):
        out += _schema_fields(ia, ib, f"{prefix}[]")
    return out


def _schema_other(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Schema differences the field walk does not name (descriptions, enums, constraints…)."""
    from deepdiff import DeepDiff

    diff = DeepDiff(a, b, ignore_order=True, view="tree")
    paths = set()
    for leaves in diff.values():
        for leaf in leaves:
            parts = leaf.path(output_format="list")
            if _covered(parts):
                continue
            paths.add(_dd_path(parts))
    if not paths:
        return []
    ordered = sorted(paths)
    shown = ", ".join(ordered[:4]) + (f" and {len(ordered) - 4} more" if len(ordered) > 4 else "")
    return [Change("output_schema_changed", "output.schema", f"output schema changed at {shown}")]


def _covered(parts: list[Any]) -> bool:
    """Is a deepdiff path one the field walk already reports (a property, its type, required)?"""
    if not parts:
        return False
    if parts[-1] in ("type", "properties", "items") or "required" in parts:
        return True
    return len(parts) >= 2 and parts[-2] == "properties"


def _dd_path(parts: list[Any]) -> str:
    return ".".join(str(p) for p in parts) or "$"


# -- messages, partials, metadata -----------------------------------------------------------------
def _messages(old: Prompt, new: Prompt) -> list[Change]:
    out = []
    n = max(len(old.messages), len(new.messages))
    for i in range(n):
        a = old.messages[i] if i < len(old.messages) else None
        b = new.messages[i] if i < len(new.messages) else None
        subj = f"messages.{i}"
        if a is None and b is not None:
            out.append(Change("message_added", subj, f"message {i + 1} ({b.role}) added"))
        elif b is None and a is not None:
            out.append(Change("message_removed", subj, f"message {i + 1} ({a.role}) removed"))
        elif a is not None and b is not None:
            if a.role != b.role:
                out.append(Change("message_role_changed", subj, f"message {i + 1} role {a.role} → {b.role}"))
            if a.text != b.text:
                src = f" ({b.template_file})" if b.template_file else ""
                out.append(Change("message_text_changed", subj, f"message {i + 1} ({b.role}) template changed{src}"))
            if a.attach != b.attach:
                was, now = ", ".join(a.attach) or "nothing", ", ".join(b.attach) or "nothing"
                out.append(Change("message_attach_changed", subj, f"message {i + 1} ({b.role}) attaches {was} → {now}"))
    return out


def _partials(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    out = []
    for inc in sorted(set(old) | set(new)):
        a, b = old.get(inc), new.get(inc)
        if a == b:
            continue
        what = "now included" if a is None else "no longer included" if b is None else "changed"
        out.append(Change("partial_changed", f"partials.{inc}", f"partial `{inc}` {what}"))
    return out


def _meta(old: Prompt, new: Prompt) -> list[Change]:
    out = []
    if old.spec.guards != new.spec.guards:
        out.append(Change("guards_changed", "guards", "serving guards changed"))
    for key in ("description", "tags", "metadata"):
        if getattr(old.spec, key) != getattr(new.spec, key):
            out.append(Change("metadata_changed", key, f"{key} changed"))
    return out
