"""Item schemas of array inputs: the fast path agrees with jsonschema."""

from __future__ import annotations

import jsonschema
import pytest

from llmops_cli.variables import item_problem

SCHEMAS = [
    {"type": "string"},
    {"type": "integer"},
    {"type": ["string", "null"]},
    {"enum": ["a", "b"]},
    {"type": "object", "required": ["title", "text"], "properties": {"title": {"type": "string"}}},
    {"type": "object", "properties": {"n": {"type": "number"}}, "additionalProperties": False},
    {"type": "string", "minLength": 3, "maxLength": 4},
    {"type": "string", "pattern": "^a"},  # not in the fast path: delegated
]
ITEMS = [
    "x",
    "abcd",
    3,
    3.0,
    2.5,
    True,
    None,
    {"title": "t", "text": "b"},
    {"title": 1, "text": "b"},
    {"n": 1},
    {"m": 1},
    [],
    "a",
]


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("item", ITEMS)
def test_fast_path_matches_jsonschema(schema: dict, item: object) -> None:
    valid = jsonschema.Draft202012Validator(schema).is_valid(item)
    assert (item_problem(schema, item) is None) == valid
