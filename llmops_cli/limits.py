"""Bounds on the work untrusted input can cause: file sizes, YAML shape, template rendering, names.

Prompt files, templates, golden sets and ``llmops.yaml`` arrive in pull requests, possibly from forks.
Every limit here turns an input that would hang or crash CI into a one-line exit-2 error naming the file.
"""

from __future__ import annotations

import re

# -- files ----------------------------------------------------------------------------------------------------
MAX_FILE_BYTES = 32 * 1024 * 1024  # any file read from the project (golden sets are the largest)
MAX_PROMPT_FILE_CHARS = 256 * 1024  # a prompt file, a .j2 template, a partial, llmops.yaml, a vars file

# -- YAML -----------------------------------------------------------------------------------------------------
MAX_YAML_DEPTH = 64  # nested mappings/sequences
MAX_YAML_NODES = 500_000  # nodes (after alias expansion, where aliases are allowed): a golden set
MAX_SMALL_YAML_NODES = 50_000  # nodes in a prompt file, llmops.yaml or a vars file
MAX_YAML_INT_CHARS = 1000  # digits of a YAML integer (Python refuses int() of more than 4,300 anyway)

# -- JSON (results files, bundles) ---------------------------------------------------------------------------
MAX_JSON_FILE_BYTES = 256 * 1024 * 1024  # a results file of many thousand samples, a bundle of many releases
MAX_JSON_DEPTH = 128  # nested objects/arrays (golden values nest up to 64 YAML levels, inside a record)
MAX_JSON_INT_DIGITS = 30  # integers in results and bundles are counts, far below 10**30

# -- templates ------------------------------------------------------------------------------------------------
MAX_TEMPLATE_DEPTH = 100  # nested syntax nodes in a template (loops in loops in conditions…)
MAX_OUTPUT_CHARS = 1_000_000  # a rendered message
MAX_VALUE_LEN = 1_000_000  # a string or sequence a template computes
MAX_INT_BITS = 10_000  # an integer a template computes (~3,000 digits)
MAX_RANGE = 10_000  # range() length
MAX_LOOP_ITERATIONS = 1_000_000  # loop iterations per render, all loops together
MAX_CALLS = 50_000  # function, method and macro calls per render
RENDER_BUDGET_S = 2.0  # wall-clock time per render
MAX_FORMAT_WIDTH = 100_000  # widths and precisions in format strings, padding filters

# -- names ----------------------------------------------------------------------------------------------------
MAX_NAME_CHARS = 200  # prompt names, case ids, metrics, clusters, tags, channels, model aliases
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ALLOWED_NONPRINTABLE = frozenset({"Co", "Cn"})  # private use; unassigned in this Python's Unicode tables


def bad_name_char(value: str) -> str | None:
    """The first character a name may not hold, or None: control characters (ESC, NUL, U+0085…), format
    characters (zero-width space, bidi overrides, U+FEFF), line and paragraph separators (U+2028/U+2029) and
    spaces other than the ASCII space. They would reach terminals, JUnit XML, markdown and HTML unseen."""
    if value.isascii():
        m = _ASCII_CONTROL.search(value)
        return m.group() if m else None
    if value.isprintable():
        return None
    import unicodedata

    for ch in value:
        if not ch.isprintable() and unicodedata.category(ch) not in _ALLOWED_NONPRINTABLE:
            return ch
    return None


def label_problem(value: object, what: str = "name", *, max_chars: int = MAX_NAME_CHARS) -> str | None:
    """Why ``value`` is not acceptable as a declared name (metric, cluster, tag, channel, model alias), or None.

    The one character and length rule for every name llmops writes into results, logs, terminal output,
    JUnit, markdown or HTML: a string of at most ``max_chars`` characters without control, format or
    separator characters (:func:`bad_name_char`). Checked where a name is declared (golden sets, prompt files,
    ``llmops.yaml``, imports) with the same function the results model checks at write time, so a name that
    loads never fails after the model calls are paid for.
    """
    if not isinstance(value, str):
        return f"{what} must be a string, not {type(value).__name__}"
    if len(value) > max_chars:
        return f"{what} is {len(value):,} characters long (at most {max_chars})"
    ch = bad_name_char(value)
    if ch is not None:
        return f"{what} {value[:40]!r} contains control or invisible characters (U+{ord(ch):04X})"
    return None


def checked_label(value: str | None, what: str) -> str | None:
    """``value`` when it passes :func:`label_problem` (None passes); :class:`ValueError` otherwise — for the
    validators of the models where names are declared."""
    problem = None if value is None else label_problem(value, what)
    if problem:
        raise ValueError(problem)
    return value


def name_problem(name: str, what: str = "name") -> str | None:
    """Why ``name`` (a prompt name or case id) is not acceptable, or None.

    Names end up in paths, terminal output, JUnit XML and markdown: :func:`label_problem`, not empty, no
    ``..`` segment, no leading ``/``, no backslash.
    """
    if not name:
        return f"{what} is empty"
    problem = label_problem(name, what)
    if problem:
        return problem
    if name.startswith("/") or ".." in name.split("/") or "\\" in name:
        return f"{what} {name[:60]!r} must be a relative path without '..' or backslashes"
    return None
