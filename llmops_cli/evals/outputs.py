"""Reading a model output safely: RE2 regexes, JSON (bare or fenced) with bounds, JSON paths, JSON Schema.

A model's output and a golden set's patterns and schemas are untrusted: every regex runs in RE2 (linear
time), JSON is parsed strictly with depth and integer-size bounds, and JSON Schema keywords that apply
regexes are re-implemented over RE2. Used by :mod:`llmops_cli.evals.assertions` and the judges.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

from ..safety.schema import schema_nodes

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator


def short(value: Any, n: int = 60) -> str:
    """A value for a reason message: ``repr`` of its text (JSON for non-strings), cut to ``n`` characters."""
    s = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return repr(s if len(s) <= n else s[: n - 1] + "…")


MAX_REGEX_CHARS = 10_000


@functools.lru_cache(maxsize=256)
def compile_regex(pattern: str, flags: str = "") -> Any:
    """Compile a ``regex`` assertion with RE2: linear time in the input, whatever the pattern.

    Golden sets come from pull requests: a backtracking engine would let ``^(a+)+$`` hang CI on a
    34-character output. RE2 has no backreferences or lookaround; such patterns are refused as invalid.
    Flags: ``i`` (ignore case), ``m`` (multi-line ``^``/``$``), ``s`` (``.`` matches newlines).
    """
    import re2

    if not isinstance(flags, str):
        raise ValueError("'flags' must be a string of i, m, s")
    if len(pattern) > MAX_REGEX_CHARS:
        raise ValueError(f"pattern is longer than {MAX_REGEX_CHARS:,} characters")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    prefix = ""
    for ch in flags:
        if ch == "i":
            options.case_sensitive = False
        elif ch == "s":
            options.dot_nl = True
        elif ch == "m":
            prefix = "(?m)"
        else:
            raise ValueError(f"unknown regex flag {ch!r} (use i, m, s)")
    try:
        return re2.compile(prefix + pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"{detail} (RE2 syntax: no backreferences or lookaround)") from None


# -- JSON helpers -------------------------------------------------------------------------------------------

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```$", re.DOTALL)
_PATH_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(-?\d+)\]|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")


MAX_OUTPUT_JSON_DEPTH = 32  # nesting of a model's JSON output that assertions look into
MAX_OUTPUT_INT_DIGITS = 1000  # digits of an integer in it (int() of a long digit string is quadratic)


def parse_json_output(text: str) -> Any:
    """JSON of an output: the whole text, or the body of one surrounding Markdown code fence.

    :class:`ValueError` when it is not strict JSON (``NaN``, a repeated key) or nests deeper than
    :data:`MAX_OUTPUT_JSON_DEPTH` levels: a model's output is untrusted, it must not crash the run."""
    from ..jsonio import parse_bounded

    s = text.strip()
    m = _FENCE.match(s)
    if m:
        s = m.group(1).strip()
    return parse_bounded(s, MAX_OUTPUT_JSON_DEPTH, max_int_digits=MAX_OUTPUT_INT_DIGITS)


# -- JSON Schema, with RE2 for every regex it applies --------------------------------------------------------
#
# jsonschema applies ``pattern``, ``patternProperties`` and (through them) ``additionalProperties`` with
# Python's backtracking ``re``: ``{"pattern": "^(a+)+$"}`` on a 40-character output hangs the run. The
# validator below re-implements those keywords over RE2; ``unevaluatedProperties`` next to a
# ``patternProperties`` is refused (jsonschema evaluates it with ``re``); ``$ref`` must stay inside the schema.

_RE_KEYWORDS = ("pattern", "patternProperties")


def _re2_search(pattern: str, text: str) -> bool:
    return compile_regex(pattern).search(text) is not None


def _kw_pattern(validator: Any, patrn: str, instance: Any, schema: dict[str, Any]) -> Any:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not _re2_search(patrn, instance):
        yield ValidationError(f"{short(instance)} does not match {short(patrn)}")


def _kw_pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: dict[str, Any]) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for k, v in instance.items():
            if _re2_search(pattern, k):
                yield from validator.descend(v, subschema, path=k, schema_path=pattern)


def _kw_additional_properties(validator: Any, ap: Any, instance: Any, schema: dict[str, Any]) -> Any:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    props = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in props and not any(_re2_search(p, k) for p in patterns)]
    if validator.is_type(ap, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], ap, path=extra)
    elif not ap and extras:
        names = ", ".join(short(e, 40) for e in sorted(extras)[:10])
        yield ValidationError(f"Additional properties are not allowed ({names} unexpected)")


@functools.lru_cache(maxsize=16)
def _validator_class(base: type[Validator]) -> type[Validator]:
    import jsonschema

    overrides = {"pattern": _kw_pattern, "patternProperties": _kw_pattern_properties}
    if "additionalProperties" in base.VALIDATORS:
        overrides["additionalProperties"] = _kw_additional_properties
    overrides = {k: v for k, v in overrides.items() if k in base.VALIDATORS}
    # jsonschema's stubs leave extend() unannotated
    extended: type[Validator] = jsonschema.validators.extend(base, overrides)  # type: ignore[no-untyped-call]
    return extended


def check_json_schema(schema: dict[str, Any]) -> None:
    """Refuse (:class:`ValueError`) a schema that is invalid, whose regexes RE2 cannot run, whose ``$ref``
    leaves the schema, or whose references loop without consuming the instance."""
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(exc.message) from None
    has_pattern_props = False
    for node in schema_nodes(schema):
        if isinstance(node.get("pattern"), str):
            compile_regex(node["pattern"])
        if isinstance(node.get("patternProperties"), dict):
            has_pattern_props = True
            for key in node["patternProperties"]:
                compile_regex(key)
        for key in ("$ref", "$dynamicRef", "$recursiveRef"):
            ref = node.get(key)
            if isinstance(ref, str) and not ref.startswith("#"):
                raise ValueError(f"{key} {short(ref)} must point inside the schema ('#...')")
    if has_pattern_props and any("unevaluatedProperties" in n for n in schema_nodes(schema)):
        raise ValueError("'unevaluatedProperties' cannot be combined with 'patternProperties'")
    for probe in (None, True, 0, 1.5, "", "a", [], [None], {}, {"a": None}):
        try:
            schema_errors(schema, probe)
        except RecursionError:
            raise ValueError("its $ref references loop without end") from None
        except Exception as exc:  # referencing errors: an unresolvable $ref
            raise ValueError(f"cannot be applied: {str(exc)[:160]}") from None


def schema_errors(schema: dict[str, Any], doc: Any) -> ValidationError | None:
    """The most relevant way ``doc`` fails ``schema`` (regex keywords in RE2), or None when it conforms."""
    import jsonschema

    cls = _validator_class(jsonschema.validators.validator_for(schema))
    best: ValidationError | None = jsonschema.exceptions.best_match(cls(schema).iter_errors(doc))
    return best


def parse_json_path(path: Any) -> list[str | int]:
    """Steps of a JSON path in the supported subset: ``$``, ``.key``, ``['key']``, ``["key"]``, ``[0]``, ``[-1]``."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise ValueError("'path' must be a JSON path starting with '$' (e.g. $.items[0].name)")
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        m = _PATH_TOKEN.match(path, pos)
        if not m:
            raise ValueError(f"unsupported JSON path {path!r} at {path[pos:]!r} (use .key, ['key'], [0])")
        key, idx, sq, dq = m.groups()
        steps.append(int(idx) if idx is not None else (key if key is not None else (sq if sq is not None else dq)))
        pos = m.end()
    return steps


MISSING = object()


def json_path_get(doc: Any, steps: list[str | int]) -> Any:
    """The value at ``steps`` in ``doc``, or ``MISSING``."""
    cur = doc
    for step in steps:
        if isinstance(step, int):
            if not isinstance(cur, list) or not -len(cur) <= step < len(cur):
                return MISSING
            cur = cur[step]
        else:
            if not isinstance(cur, dict) or step not in cur:
                return MISSING
            cur = cur[step]
    return cur
