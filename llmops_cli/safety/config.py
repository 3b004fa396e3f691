"""Validation of the safety settings shared by assertions (``pii``, ``no-pii-leak``, ``refusal``,
``no-refusal``) and serving guards: detector names, ``allow:`` lists, languages, variable names.

Each check returns the problem as one line (None when the value is fine), so ``llmops prompt lint``, the
eval planner and ``load_prompt(..., guards=...)`` word it the same way.
"""

from __future__ import annotations

import difflib
from typing import Any

from .detectors import DETECTORS
from .refusal import LANGUAGES

MAX_ALLOW = 1000  # entries of one allow list
MAX_ALLOW_CHARS = 256  # characters of one entry
SAFETY_TYPES = frozenset({"pii", "no-pii-leak", "refusal", "no-refusal"})


def detectors_problem(value: Any) -> str | None:
    """``detectors:``: a non-empty list of known detector names."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return f"'detectors' must be a non-empty list of detector names ({', '.join(DETECTORS)})"
    for name in value:
        if name not in DETECTORS:
            hint = difflib.get_close_matches(name, list(DETECTORS), n=1)
            return (
                f"unknown detector {name!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + (f" (known: {', '.join(DETECTORS)})")
            )
    return None


def allow_problem(value: Any) -> str | None:
    """``allow:``: a list of strings (values, or ``@domain`` for e-mail addresses), bounded."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return "'allow' must be a list of non-empty strings (values, or @domain for e-mail addresses)"
    if len(value) > MAX_ALLOW:
        return f"'allow' has {len(value):,} entries (at most {MAX_ALLOW:,})"
    long = next((v for v in value if len(v) > MAX_ALLOW_CHARS), None)
    if long is not None:
        return f"'allow' entry {long[:40]!r}… is longer than {MAX_ALLOW_CHARS} characters"
    return None


def languages_problem(value: Any) -> str | None:
    """``languages:``: a non-empty list of the refusal model's languages."""
    if not isinstance(value, list) or not value or any(v not in LANGUAGES for v in value):
        return f"'languages' must be a non-empty list of {', '.join(LANGUAGES)}"
    return None


def vars_problem(value: Any) -> str | None:
    """``vars:`` of ``no-pii-leak``: the case variables whose PII must not leak (a non-empty list of names)."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        return "'vars' must be a non-empty list of variable names"
    return None


_CHECKS = {"detectors": detectors_problem, "allow": allow_problem, "languages": languages_problem}


def safety_fields_problem(atype: str, fields: dict[str, Any]) -> str | None:
    """The first problem of a safety assertion's fields (``atype`` without ``not-``), or None."""
    for key, check in _CHECKS.items():
        if key in fields:
            problem = check(fields[key])
            if problem:
                return problem
    if atype == "no-pii-leak" and "vars" in fields:
        return vars_problem(fields["vars"])
    return None
