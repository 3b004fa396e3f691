"""JSON grammars for the offline provider: a prompt's output schema bounded by its token budget, as a llama.cpp grammar.

A small model can spend its whole ``max_tokens`` inside one JSON string and be cut off unparseable; here every
free string's ``maxLength`` and every array's ``maxItems`` are derived from the budget (:func:`fit_schema`), and
the grammar built from it is cached per schema (:func:`schema_grammar`).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

DEFAULT_MAX_TOKENS = 256

MAX_GRAMMAR_STRING = 200  # characters; each bounded string expands into that many nested grammar rules
MIN_GRAMMAR_STRING = 8
MAX_ARRAY_ITEMS = 4  # items per array when the budget allows (fewer when strings would get too short)
SHORT_STRING = 16  # a string whose schema caps it this short costs a fixed amount, not a share
COMFORTABLE_STRING = 24  # characters per string before an array loses items
_UNSAFE_SCHEMA_KEYWORDS = frozenset({"pattern", "patternProperties", "format", "minLength"})
# Worst-case-ish token costs used to fit a schema into a token budget (strings are counted at one token
# per character, which over-counts English ~4x, so the estimate errs on the safe side).
_NUMBER_TOKENS = 8
_KEY_OVERHEAD = 4  # quotes, colon, comma/space


_FIXED_PATTERN = re.compile(r"\^((?:\\d|\[[^\]\\]{1,20}\]|[-/.: A-Za-z0-9])(?:\{\d{1,2}\})?){1,40}\$")
_PATTERN_ATOM = re.compile(r"(\\d|\[[^\]\\]{1,20}\]|[-/.: A-Za-z0-9])(?:\{(\d{1,2})\})?")


def _pattern_length(pattern: Any) -> int | None:
    """The exact length of strings a simple anchored fixed-width pattern matches (``^\\d{4}-\\d{2}$`` -> 7)."""
    if not isinstance(pattern, str) or not _FIXED_PATTERN.fullmatch(pattern):
        return None
    return sum(int(m.group(2) or 1) for m in _PATTERN_ATOM.finditer(pattern[1:-1]))


def _clean(node: Any) -> Any:
    """The schema without keywords llama.cpp's converter mistranslates; small integer ranges become enums;
    a simple fixed-width ``pattern`` becomes that ``maxLength``."""
    if isinstance(node, list):
        return [_clean(v) for v in node]
    if not isinstance(node, dict):
        return node
    width = _pattern_length(node.get("pattern"))
    if width is not None:
        node = {**node, "maxLength": min(int(node.get("maxLength", width)), width)}
    # keywords llama.cpp's schema-to-grammar converter mistranslates (an invalid grammar crashes the native
    # sampler), so they are left to the json-schema assertion to check
    out = {k: _clean(v) for k, v in node.items() if k not in _UNSAFE_SCHEMA_KEYWORDS}
    if width is not None:  # a simple fixed-width pattern translates safely (with \\d spelled [0-9]): keep it
        out["pattern"] = node["pattern"].replace("\\d", "[0-9]")
    types = out.get("type")
    if isinstance(types, list) and len(types) > 1:
        # the converter turns a type list into bare types, dropping the bounds: spell it as anyOf
        rest = {k: v for k, v in out.items() if k not in ("type", "description")}
        alts = [_clean({**rest, "type": t}) if t != "null" else {"type": "null"} for t in types]
        return {"anyOf": alts, **({"description": out["description"]} if "description" in out else {})}
    lo, hi = out.get("minimum"), out.get("maximum")
    if out.get("type") == "integer" and isinstance(lo, int) and isinstance(hi, int) and 0 <= hi - lo <= 20:
        # the converter ignores minimum/maximum: a judge's "score 1-5" becomes exactly those values
        out = {k: v for k, v in out.items() if k not in ("minimum", "maximum", "type")}
        out["enum"] = list(range(lo, hi + 1))
    return out


def _types(node: dict[str, Any]) -> list[str]:
    t = node.get("type")
    return [str(x) for x in t] if isinstance(t, list) else [str(t)] if t else []


def _cost(node: Any, items: int) -> tuple[int, int]:
    """``(fixed tokens, free string slots)`` of the longest value ``node`` allows, arrays at ``items``."""
    if not isinstance(node, dict):
        return 4, 0
    if "enum" in node or "const" in node:
        values = node.get("enum") or [node.get("const")]
        return max(len(json.dumps(v)) for v in values) + 1, 0
    options = [o for key in ("anyOf", "oneOf") for o in node.get(key) or [] if isinstance(o, dict)]
    types = _types(node)
    if options or len(types) > 1:
        alts = [_cost(o, items) for o in options] + [_cost({**node, "type": t}, items) for t in types] or [(4, 0)]
        return max(alts, key=lambda c: (c[1], c[0]))
    kind = types[0] if types else ("object" if "properties" in node else "")
    if kind == "string":
        short = int(node.get("maxLength", SHORT_STRING + 1)) <= SHORT_STRING  # codes, dates: a fixed cost
        return (int(node["maxLength"]) + 3, 0) if short else (3, 1)
    if kind in ("number", "integer"):
        return _NUMBER_TOKENS, 0
    if kind in ("boolean", "null"):
        return 2, 0
    if kind == "array":
        n = min(int(node.get("maxItems", items)), items)
        fixed, slots = _cost(node.get("items") or {}, items)
        return 2 + n * (fixed + 1), n * slots
    if kind == "object" or "properties" in node:
        fixed, slots = 2, 0
        for key, value in (node.get("properties") or {}).items():
            f, sl = _cost(value, items)
            fixed += len(str(key)) // 3 + _KEY_OVERHEAD + f
            slots += sl
        return fixed, slots
    return 16, 1  # anything else: room for a short value


def _apply_bounds(node: Any, chars: int, items: int) -> Any:
    if isinstance(node, list):
        return [_apply_bounds(v, chars, items) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _apply_bounds(v, chars, items) for k, v in node.items()}
    types = _types(out)
    if "string" in types and "enum" not in out and "const" not in out:
        out["maxLength"] = min(int(out.get("maxLength", chars)), chars)
    if "array" in types:
        out["maxItems"] = min(int(out.get("maxItems", items)), items)
        out["minItems"] = min(int(out.get("minItems", 0)), out["maxItems"])
    return out


def fit_schema(schema: dict[str, Any], max_tokens: int | None) -> dict[str, Any]:
    """``schema`` with every free string's ``maxLength`` and every array's ``maxItems`` derived from the
    token budget, so the longest JSON the grammar allows still closes within ``max_tokens``.

    Arrays get up to :data:`MAX_ARRAY_ITEMS` items, fewer when the strings would get under
    :data:`MIN_GRAMMAR_STRING` characters; strings share what the structure leaves, counted at one token per
    character (at most :data:`MAX_GRAMMAR_STRING`).
    """
    budget = int(max_tokens or DEFAULT_MAX_TOKENS)
    cleaned = _clean(schema)
    chars = MIN_GRAMMAR_STRING
    items = 1
    for n in range(MAX_ARRAY_ITEMS, 0, -1):
        fixed, slots = _cost(cleaned, n)
        room = budget - fixed
        per = room // slots if slots else MAX_GRAMMAR_STRING
        if per >= COMFORTABLE_STRING or n == 1:
            chars, items = max(MIN_GRAMMAR_STRING, min(MAX_GRAMMAR_STRING, per)), n
            break
    bounded: dict[str, Any] = _apply_bounds(cleaned, chars, items)  # a schema object stays an object
    return bounded


def schema_budget(schema: dict[str, Any], max_tokens: int | None) -> int:
    """The token count :func:`fit_schema`'s bounds add up to (at most ``max_tokens`` unless the structure
    alone needs more)."""
    bounded = fit_schema(schema, max_tokens)
    fixed, slots = _cost(bounded, MAX_ARRAY_ITEMS)

    def longest_string(node: Any) -> int:
        if isinstance(node, dict):
            own = int(node.get("maxLength", 0)) if "string" in _types(node) else 0
            return max([own] + [longest_string(v) for v in node.values()])
        if isinstance(node, list):
            return max([0] + [longest_string(v) for v in node])
        return 0

    return fixed + slots * longest_string(bounded)


def schema_response_format(schema: dict[str, Any], max_tokens: int | None) -> dict[str, Any]:
    """A ``json_schema`` response format for ``schema`` bounded by the token budget (see :func:`fit_schema`).

    llama.cpp turns the schema into a grammar; without bounds, a small model can spend its whole budget
    inside one string and be cut off with unparseable JSON.
    """
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": fit_schema(schema, max_tokens)}}


# JSON strings may not hold raw control characters (json.loads rejects them): llama.cpp's converter allows them.
_CHAR_RULE = r'char ::= [^"\\] |'
_STRICT_CHAR_RULE = r'char ::= [^"\\\x7F\x00-\x1F] |'
# Compact JSON: the converter lets a space follow every brace, colon and comma, and a small model takes most of
# them, a generated token each (~10% of a verdict's tokens); ``{"a":1}`` parses the same.
_SPACE_RULE = 'space ::= " "?'
_COMPACT_SPACE_RULE = 'space ::= ""'


@functools.lru_cache(maxsize=32)
def schema_grammar(schema_json: str) -> Any:
    """The llama.cpp grammar for a JSON schema (cached by its canonical JSON text)."""
    from llama_cpp import LlamaGrammar
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    gbnf = (
        json_schema_to_gbnf(schema_json)
        .replace(_CHAR_RULE, _STRICT_CHAR_RULE)
        .replace(_SPACE_RULE, _COMPACT_SPACE_RULE)
    )
    return LlamaGrammar.from_string(gbnf, verbose=False)


_BOUNDED_JSON_GBNF = r"""
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value){0,24} )? "}" ws
array  ::= "[" ws ( value ("," ws value){0,32} )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) ){0,MAXCHARS} "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws     ::= | " " | "\n" [ \t]{0,20}
"""


@functools.lru_cache(maxsize=8)
def bounded_json_grammar(max_chars: int) -> Any:
    """llama.cpp's JSON grammar with strings of at most ``max_chars`` characters (cached per bound)."""
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(_BOUNDED_JSON_GBNF.replace("MAXCHARS", str(max_chars)), verbose=False)
