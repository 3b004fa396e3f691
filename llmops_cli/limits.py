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
MAX_NAME_CHARS = 200  # prompt names, case ids
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def name_problem(name: str, what: str = "name") -> str | None:
    """Why ``name`` (a prompt name or case id) is not acceptable, or None.

    Names end up in paths, terminal output, JUnit XML and markdown: at most 200 characters, no control
    characters, no ``..`` segment, no leading ``/``.
    """
    if not name:
        return f"{what} is empty"
    if len(name) > MAX_NAME_CHARS:
        return f"{what} is {len(name):,} characters long (at most {MAX_NAME_CHARS})"
    if _CONTROL.search(name):
        return f"{what} {name[:40]!r} contains control characters"
    if name.startswith("/") or ".." in name.split("/") or "\\" in name:
        return f"{what} {name[:60]!r} must be a relative path without '..' or backslashes"
    return None
