"""Git-aware prompt diff: what a change does between two refs (``llmops prompt diff``).

Public API::

    from llmops_cli.diff import diff_prompts, classify_impact

    report = diff_prompts(root, ["main"], rendered=True)   # DiffReport; report.to_dict() is the JSON
    impact = classify_impact(old_prompt, new_prompt)        # Impact(level, reasons, changes)

Modules load lazily: importing this package imports neither litellm nor deepdiff.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Impact", "classify_impact", "diff_prompts", "release_tag"]

_LAZY = {
    "diff_prompts": ".compare",
    "classify_impact": ".impact",
    "Impact": ".impact",
    "release_tag": ".refs",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmops_cli.diff' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
