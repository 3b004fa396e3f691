"""Strict, bounded JSON reading for files that may come from a pull request (results files, bundles).

Python's :mod:`json` accepts ``NaN``/``Infinity`` literals, repeats a key silently (last wins), turns
``1e400`` into ``inf``, and recurses once per nesting level (``RecursionError`` deep down). Here each of
those is a :class:`~llmops_cli.errors.PromptFileError` (exit 2) naming the file, and the parsed document
is bounded in size and depth, so code reading it further never meets a shape no writer produces.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

from .errors import PromptFileError, UserError
from .limits import MAX_JSON_DEPTH, MAX_JSON_FILE_BYTES, MAX_JSON_INT_DIGITS


class _Refused(ValueError):
    pass


class _NonFinite:
    """Stands in for ``NaN``/``Infinity``/``1e400`` until the walk reports it with its JSON path."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _finite_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text[:40])


def _bounded_int(text: str, limit: int = MAX_JSON_INT_DIGITS) -> int:
    if len(text.lstrip("-")) > limit:
        raise _Refused(f"integer of {len(text):,} digits is too large (at most {limit})")
    return int(text)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"duplicate key {key[:80]!r}")
        out[key] = value
    return out


def _problem(value: Any, limit: int) -> str | None:
    """Where ``value`` nests deeper than ``limit`` or holds a non-finite number (iterative walk), or None."""
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        v, where, d = stack.pop()
        if isinstance(v, _NonFinite):
            return f"{where}: non-finite number {v.text} is not allowed"
        if isinstance(v, dict):
            items: Any = ((f"{where}.{k[:40]}", c) for k, c in v.items())
        elif isinstance(v, list):
            items = ((f"{where}[{i}]", c) for i, c in enumerate(v))
        else:
            continue
        if d >= limit:
            return f"{where}: nested deeper than {limit} levels"
        stack.extend((c, w, d + 1) for w, c in items if isinstance(c, dict | list | _NonFinite))
    return None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(text: str, data: Any) -> str | None:
    """Where a string of ``data`` holds a lone surrogate (``"\\ud800"`` unpaired: not Unicode, and no UTF-8
    writer can write it back), or None. Strings are walked only when ``text`` has such an escape at all."""
    if not _SURROGATE_ESCAPE.search(text):
        return None
    stack: list[tuple[Any, str]] = [(data, "$")]
    while stack:
        v, where = stack.pop()
        if isinstance(v, str):
            if _SURROGATE.search(v):
                return f"{where}: a lone surrogate (\\ud800-\\udfff) is not Unicode text"
        elif isinstance(v, dict):
            for k, c in v.items():
                if _SURROGATE.search(k):
                    return f"{where}: a key holds a lone surrogate (not Unicode text)"
                stack.append((c, f"{where}.{k[:40]}"))
        elif isinstance(v, list):
            stack.extend((c, f"{where}[{i}]") for i, c in enumerate(v))
    return None


def parse_bounded(text: str, max_depth: int = MAX_JSON_DEPTH, *, max_int_digits: int = MAX_JSON_INT_DIGITS) -> Any:
    """Parse untrusted JSON text (e.g. a model's output); :class:`ValueError` when it is not strict JSON
    (``NaN``, a repeated key, a huge integer) or nests deeper than ``max_depth`` — never ``RecursionError``."""
    try:
        data = json.loads(
            text,
            parse_constant=_NonFinite,
            parse_float=_finite_float,
            parse_int=lambda t: _bounded_int(t, max_int_digits),
            object_pairs_hook=_no_duplicates,
        )
    except RecursionError:
        raise ValueError(f"nested deeper than {max_depth} levels") from None
    problem = _problem(data, max_depth) or _lone_surrogate(text, data)
    if problem:
        raise ValueError(problem)
    return data


def loads_strict(text: str, file: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON text strictly; :class:`PromptFileError` naming ``file`` (and the line, where known)."""
    try:
        data = json.loads(
            text,
            parse_constant=_NonFinite,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            object_pairs_hook=_no_duplicates,
        )
    except json.JSONDecodeError as exc:
        raise PromptFileError(f"invalid JSON: {exc.msg}", file=file, line=exc.lineno) from None
    except _Refused as exc:
        raise PromptFileError(f"invalid JSON: {exc}", file=file) from None
    except RecursionError:
        raise PromptFileError(f"invalid JSON: nested deeper than {max_depth} levels", file=file) from None
    except ValueError as exc:  # e.g. int() over sys.get_int_max_str_digits
        raise PromptFileError(f"invalid JSON: {str(exc)[:120]}", file=file) from None
    problem = _problem(data, max_depth) or _lone_surrogate(text, data)
    if problem:
        raise PromptFileError(f"invalid JSON: {problem}", file=file)
    return data


def load_file_strict(path: str, *, what: str = "file", max_bytes: int = MAX_JSON_FILE_BYTES) -> Any:
    """Read and strictly parse a JSON file of at most ``max_bytes``; :class:`UserError` (exit 2) otherwise."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise UserError(f"no such {what}: {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise PromptFileError(f"{what} is {size:,} bytes, more than the {max_bytes:,} allowed", file=path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(max_bytes + 1)
    except UnicodeDecodeError:
        raise PromptFileError(f"{what} is not UTF-8 text", file=path) from None
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(text) > max_bytes:  # grew since stat
        raise PromptFileError(f"{what} is more than the {max_bytes:,} bytes allowed", file=path)
    return loads_strict(text, path)
