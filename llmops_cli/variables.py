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
    if spec.items is not None:
        import jsonschema

        for i, item in enumerate(value):
            errors = sorted(jsonschema.Draft202012Validator(spec.items).iter_errors(item), key=str)
            if errors:
                return f"item {i}: {errors[0].message}"
    return None


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
    if spec is None or spec.type == "string":
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        pass
    if spec.type == "boolean" and raw.lower() in {"true", "false", "yes", "no"}:
        return raw.lower() in {"true", "yes"}
    if spec.type == "array" and raw.strip() and not raw.strip().startswith("["):
        return [part.strip() for part in raw.split(",")]
    return raw


def parse_assignments(inputs: Mapping[str, InputSpec], assignments: list[str]) -> dict[str, Any]:
    """``["k=v", "n=3", "ctx=@file.txt"]`` → variables, typed by the declared inputs.

    ``@path`` reads the value from a file; values of non-string inputs are parsed as JSON.
    """
    from .errors import UsageError

    out: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--var expects KEY=VALUE, got {item!r}")
        if raw.startswith("@"):
            raw = _read_file(raw[1:])
        out[key] = coerce_text_value(inputs.get(key), raw)
    return out


def read_vars_file(path: str) -> dict[str, Any]:
    """Variables from a YAML or JSON file holding a mapping."""
    from .errors import UsageError
    from .yamlio import parse_yaml

    data = parse_yaml(_read_file(path), path)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a vars file must hold a mapping of variable names to values")
    return data


def _read_file(path: str) -> str:
    from .errors import NotFoundError

    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror}") from None
