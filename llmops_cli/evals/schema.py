"""The JSON Schema of the results file, generated from the typed model (:mod:`llmops_cli.evals.model`).

Published as ``schemas/results.schema.json`` next to the prompt file's schema; a test checks that the file
equals :func:`results_json_schema` and that the results ``llmops eval run`` writes validate against it.
``from_dict`` checks more than the schema can say (names without control characters or ``..``, judge errors
≤ judge samples, unique samples), so a file the schema accepts may still be refused on load — never the
other way round.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union

from ..records.base import Record
from .fields import JsonModel
from .model import EvalResults

SCHEMA_FILE = "schemas/results.schema.json"
_PRIMITIVES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def results_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a results file (``schema_version: 1``)."""
    defs: dict[str, Any] = {}
    root = _model(EvalResults, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "llmops eval results file",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def _model(cls: type[JsonModel], defs: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("extra"):
            continue
        schema = {**_type(hints[f.name], defs, f.metadata.get("schema") or {})}
        if f.metadata.get("doc"):
            schema = {"description": f.metadata["doc"], **schema}
        props[f.name] = schema
        if f.metadata.get("required"):
            required.append(f.name)
    out: dict[str, Any] = {"type": "object"}
    doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    if doc and not doc.startswith(cls.__name__ + "("):
        out["description"] = doc
    out["properties"] = props
    if required:
        out["required"] = required
    out["additionalProperties"] = True  # unknown keys are kept, not refused (newer writers)
    return out


def _type(tp: Any, defs: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The schema of a type hint; ``extra`` keywords (``minimum``, …) apply to its non-null part."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _type(args[0], defs, extra) if len(args) == 1 else {"anyOf": [_type(a, defs, extra) for a in args]}
        if set(inner) <= {"type", "minimum", "maximum", "enum", "const"} and isinstance(inner.get("type"), str):
            if "enum" in inner:
                return {**inner, "type": [inner["type"], "null"], "enum": [*inner["enum"], None]}
            return {**inner, "type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is Literal:
        values = list(typing.get_args(tp))
        return {"type": "string", "enum": values}
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": _type(item, defs, {}), **extra}
    if origin is dict:
        _key, value = typing.get_args(tp)
        return {"type": "object", "additionalProperties": _type(value, defs, {}), **extra}
    if tp is Any:
        return {**extra}
    if isinstance(tp, type) and issubclass(tp, JsonModel):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # placeholder: a model met again while its schema is being built
            defs[tp.__name__] = _model(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if isinstance(tp, type) and issubclass(tp, Record):  # the records layer's pydantic models (a transcript)
        if tp.__name__ not in defs:
            schema = tp.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                defs.setdefault(name, sub)
            defs[tp.__name__] = schema
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if tp in _PRIMITIVES:
        return {"type": _PRIMITIVES[tp], **extra}
    raise TypeError(f"no JSON Schema for {tp!r}")  # a new field type: teach the generator


if __name__ == "__main__":  # python -m llmops_cli.evals.schema > schemas/results.schema.json
    import json
    import sys

    sys.stdout.write(json.dumps(results_json_schema(), indent=2, ensure_ascii=False) + "\n")
