"""The impact class of a change between two releases, for ``release create --bump auto``.

The rules live in one place, :mod:`llmops_cli.diff.impact` (the same ones ``llmops prompt diff`` shows):
breaking → major, feature → minor, patch → patch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..prompt import Prompt


def detect_impact(old: Prompt | None, new: Prompt | None) -> tuple[str | None, list[str]]:
    """``(breaking|feature|patch, reasons)``, or ``(None, [])`` when nothing behaviour-relevant changed."""
    from ..diff.impact import classify_impact

    if old is not None and new is not None and old.sha256 == new.sha256:
        return None, []
    impact = classify_impact(old, new)
    if impact.level == "none":  # the content hash moved, but no rule names the change
        return "patch", ["content changed"]
    return impact.level, list(impact.reasons)
