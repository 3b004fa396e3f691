"""JSON Schema validation for the ``json_schema`` serving guard, with every schema regex run by RE2.

jsonschema applies ``pattern`` and ``patternProperties`` with Python's backtracking ``re``: a schema pattern such
as ``^(a+)+$`` against a model's reply could hang a serving call. As in the eval runner
(:mod:`llmops_cli.evals.outputs`, which the core cannot import), those keywords are re-implemented over RE2
(linear time); a pattern RE2 cannot compile (backreferences, lookaround) is refused when the guard is attached.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

MAX_PATTERN_CHARS = 10_000


@functools.lru_cache(maxsize=256)
def re2_compile(pattern: str) -> Any:
    """An RE2 regex (:class:`ValueError` when RE2 cannot compile it or it is too long)."""
    import re2

    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"pattern is longer than {MAX_PATTERN_CHARS:,} characters")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"{detail} (RE2 syntax: no backreferences or lookaround)") from None


def _kw_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and re2_compile(pattern).search(instance) is None:
        yield ValidationError(f"string does not match the pattern {pattern[:60]!r}")


def _kw_pattern_properties(validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if re2_compile(pattern).search(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _kw_additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    props = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in props and not any(re2_compile(p).search(k) for p in patterns)]
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif extra is False and extras:
        yield ValidationError(f"additional properties are not allowed ({len(extras)} unexpected)")


def schema_nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside a schema (iterative: no recursion limit on deep schemas)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))


def re2_validator(schema: dict[str, Any]) -> Any:
    """A validator for ``schema`` whose regex keywords run in RE2; :class:`ValueError` for a schema that is
    invalid, has a pattern RE2 cannot run, combines ``unevaluatedProperties`` with ``patternProperties``
    (evaluated with ``re``), or has a ``$ref`` outside itself."""
    import jsonschema

    base = jsonschema.validators.validator_for(schema)
    try:
        base.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(exc.message) from None
    has_pattern_props = False
    for node in schema_nodes(schema):
        if isinstance(node.get("pattern"), str):
            re2_compile(node["pattern"])
        if isinstance(node.get("patternProperties"), dict):
            has_pattern_props = True
            for key in node["patternProperties"]:
                re2_compile(key)
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            raise ValueError(f"$ref {ref[:60]!r} must point inside the schema ('#...')")
    if has_pattern_props and any("unevaluatedProperties" in n for n in schema_nodes(schema)):
        raise ValueError("'unevaluatedProperties' cannot be combined with 'patternProperties'")
    overrides = {
        "pattern": _kw_pattern,
        "patternProperties": _kw_pattern_properties,
        "additionalProperties": _kw_additional_properties,
    }
    extended = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        base, {k: v for k, v in overrides.items() if k in base.VALIDATORS}
    )
    return extended(schema)
