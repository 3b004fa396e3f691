"""Validating render variables against a prompt's declared ``inputs``."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from .spec import InputSpec

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    # image / file / pdf: a project path or https URL (str), or the bytes themselves (library calls)
    "image": (str, bytes, bytearray),
    "file": (str, bytes, bytearray),
    "pdf": (str, bytes, bytearray),
}


def type_name(value: Any) -> str:
    """JSON type name of a Python value (for messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def value_matches(spec: InputSpec, value: Any) -> str | None:
    """None when ``value`` fits ``spec``; else the reason it does not."""
    expected = _PY_TYPES[spec.type]
    if isinstance(value, bool) and spec.type != "boolean":
        return f"expected {spec.type}, got boolean"
    if not isinstance(value, expected):
        return f"expected {spec.type}, got {type_name(value)}"
    if spec.enum is not None and value not in spec.enum:
        return f"{value!r} is not one of {spec.enum}"
    if spec.items is not None and isinstance(value, list | tuple):  # items: arrays only (spec.InputSpec)
        for i, item in enumerate(value):
            reason = item_problem(spec.items, item)
            if reason:
                return f"item {i}: {reason}"
    return None


# JSON Schema keywords the fast path understands; anything else goes to the jsonschema package.
_SIMPLE_KEYWORDS = frozenset(
    {"type", "required", "properties", "enum", "description", "title", "additionalProperties", "minLength", "maxLength"}
)
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    **{k: v for k, v in _PY_TYPES.items() if k not in ("image", "file", "pdf")},
    "null": (type(None),),
}


def item_problem(schema: dict[str, Any], item: Any) -> str | None:
    """Why ``item`` does not satisfy ``schema`` (None if it does).

    Render is on the CLI's start-up path, and the simple item schemas prompts use (type, required,
    properties, enum) are checked here without importing jsonschema (~25 ms). Other keywords are
    delegated to jsonschema, so the result is the same either way.
    """
    if not set(schema) <= _SIMPLE_KEYWORDS or not isinstance(schema.get("additionalProperties", False), bool):
        import jsonschema

        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(item), key=str)
        return errors[0].message if errors else None
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_is_json_type(item, n) for n in names):
            return f"{item!r} is not of type {expected!r}"
    if "enum" in schema and item not in schema["enum"]:
        return f"{item!r} is not one of {schema['enum']}"
    if isinstance(item, str):
        if len(item) < schema.get("minLength", 0):
            return f"{item!r} is shorter than {schema['minLength']} characters"
        if "maxLength" in schema and len(item) > schema["maxLength"]:
            return f"{item!r} is longer than {schema['maxLength']} characters"
    if isinstance(item, dict):
        for key in schema.get("required", []):
            if key not in item:
                return f"{key!r} is a required property"
        props = schema.get("properties", {})
        for key, sub in props.items():
            if key in item and isinstance(sub, dict):
                reason = item_problem(sub, item[key])
                if reason:
                    return reason
        if schema.get("additionalProperties") is False:
            extra = sorted(set(item) - set(props))
            if extra:
                return f"additional properties are not allowed ({', '.join(map(repr, extra))})"
    return None


def _is_json_type(value: Any, name: str) -> bool:
    if name not in _JSON_TYPES:
        return False
    if isinstance(value, bool):
        return name == "boolean"
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _JSON_TYPES[name])


def validate_variables(inputs: Mapping[str, InputSpec], given: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Apply defaults and check ``given`` against ``inputs``.

    Returns the complete variables and a list of problems, one per offending variable
    (missing required, unknown extra, wrong type or not in enum). Defaults are deep-copied.
    """
    problems: list[str] = []
    out: dict[str, Any] = {}
    for name, spec in inputs.items():
        if name in given:
            reason = value_matches(spec, given[name])
            if reason:
                problems.append(f"`{name}`: {reason}")
            out[name] = given[name]
        elif spec.has_default:
            out[name] = copy.deepcopy(spec.default)
        elif spec.is_required:
            problems.append(f"`{name}`: missing required input ({spec.type})")
        else:
            out[name] = None
    for name in given:
        if name not in inputs:
            problems.append(f"`{name}`: unknown input (declared: {', '.join(inputs) or 'none'})")
    return out, problems


def coerce_text_value(spec: InputSpec | None, raw: str) -> Any:
    """Turn a command-line string into a value of the input's type (JSON/YAML for non-strings)."""
    if spec is None or spec.type == "string" or spec.is_media:
        return raw
    try:
        # NaN, Infinity and overflowing numbers stay strings (and are then refused as the wrong type)
        return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        pass
    if spec.type == "boolean" and raw.lower() in {"true", "false", "yes", "no"}:
        return raw.lower() in {"true", "yes"}
    if spec.type == "array" and raw.strip() and not raw.strip().startswith("["):
        return [part.strip() for part in raw.split(",")]
    return raw


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"non-finite number {text} is not allowed")
    return value


def parse_assignments(inputs: Mapping[str, InputSpec], assignments: list[str]) -> dict[str, Any]:
    """``["k=v", "n=3", "ctx=@file.txt"]`` → variables, typed by the declared inputs.

    ``@path`` reads the value from a file; values of non-string inputs are parsed as JSON. An image/file/pdf
    input's value is a path inside the project or an https URL (``photo=@evals/r1.png`` is ``photo=evals/r1.png``).
    """
    from .errors import UsageError

    out: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--var expects KEY=VALUE, got {item!r}")
        spec = inputs.get(key)
        if raw.startswith("@"):
            raw = raw[1:] if spec is not None and spec.is_media else _read_file(raw[1:])
        out[key] = coerce_text_value(inputs.get(key), raw)
    return out


def read_vars_file(path: str) -> dict[str, Any]:
    """Variables from a YAML or JSON file holding a mapping."""
    from .errors import UsageError
    from .yamlio import parse_yaml

    data = parse_yaml(_read_file(path), path, aliases="cap")
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a vars file must hold a mapping of variable names to values")
    return data


def _read_file(path: str) -> str:
    from .errors import NotFoundError, UsageError
    from .limits import MAX_FILE_BYTES

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise NotFoundError(f"cannot read {path[:200]}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path[:200]}: not valid UTF-8 at byte {exc.start}") from None
    if len(text) > MAX_FILE_BYTES:
        raise UsageError(f"{path[:200]}: larger than {MAX_FILE_BYTES:,} characters")
    return text
