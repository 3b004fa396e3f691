"""Impact class of a prompt change, for semantic versioning of prompt releases.

``classify_impact(old, new)`` is pure: two loaded prompts (None for "absent") in, an
:class:`Impact` out. The level is the highest of the levels of every structural change
(:data:`IMPACT_RULES`), so one breaking change makes the whole prompt change breaking.

========== ===================================================================================
breaking   prompt removed or renamed; required input added; input removed; input type changed
           (other than integer → number); input became required; input values restricted
           (enum added or values removed); input item schema changed; output format changed;
           output schema removed; output field removed, retyped or no longer required; tool added
           (the application must implement it) or removed; tool argument removed or retyped; a
           tool's required list changed (a required argument added, an argument now required or
           no longer required); a tool enum narrowed
feature    new prompt; optional input added; input widened (integer → number, enum values
           added or enum dropped); input became optional; output schema added; output field
           added or now required; the resolved model changed; optional tool argument added; tool
           enum widened; tool_choice changed
patch      template wording (message text, messages added/removed/reordered, partials); params;
           input defaults; other output-schema keywords (descriptions, enums, constraints); the
           model written differently but resolving to the same model; tool descriptions, strict
           flags, other tool-schema keywords; parallel_tool_calls; strict output on or off
none       description, tags, metadata or input descriptions only
========== ===================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .change import Change
from .structural import structural_changes

if TYPE_CHECKING:
    from ..prompt import Prompt

Level = Literal["none", "patch", "feature", "breaking"]
LEVELS: tuple[Level, ...] = ("none", "patch", "feature", "breaking")
# The semver bump each level asks for.
BUMP: dict[Level, str | None] = {"none": None, "patch": "patch", "feature": "minor", "breaking": "major"}

IMPACT_RULES: dict[str, Level] = {
    # prompt as a whole
    "prompt_added": "feature",
    "prompt_removed": "breaking",
    "prompt_renamed": "breaking",
    # model and params
    "model_changed": "feature",
    "model_alias_changed": "patch",
    "param_added": "patch",
    "param_removed": "patch",
    "param_changed": "patch",
    # inputs
    "input_added_required": "breaking",
    "input_added_optional": "feature",
    "input_removed": "breaking",
    "input_type_changed": "breaking",
    "input_type_widened": "feature",
    "input_now_required": "breaking",
    "input_now_optional": "feature",
    "input_enum_narrowed": "breaking",
    "input_enum_widened": "feature",
    "input_items_changed": "breaking",
    "input_default_changed": "patch",
    "input_description_changed": "none",
    "input_media_narrowed": "breaking",  # a smaller max_bytes or fewer media_types refuses values sent today
    "input_media_widened": "feature",
    # output
    "output_format_changed": "breaking",
    "output_schema_added": "feature",
    "output_schema_removed": "breaking",
    "output_field_removed": "breaking",
    "output_field_retyped": "breaking",
    "output_field_now_optional": "breaking",
    "output_field_added": "feature",
    "output_field_now_required": "feature",
    "output_schema_changed": "patch",
    "output_strict_changed": "patch",
    # tools (the application implements them and receives the arguments the model writes)
    "tool_added": "breaking",
    "tool_removed": "breaking",
    "tool_param_removed": "breaking",
    "tool_param_retyped": "breaking",
    "tool_param_added_required": "breaking",
    "tool_required_changed": "breaking",
    "tool_enum_narrowed": "breaking",
    "tool_param_added_optional": "feature",
    "tool_enum_widened": "feature",
    "tool_choice_changed": "feature",
    "tool_description_changed": "patch",
    "tool_strict_changed": "patch",
    "tool_schema_changed": "patch",
    "parallel_tool_calls_changed": "patch",
    # wording
    "message_added": "patch",
    "message_removed": "patch",
    "message_role_changed": "patch",
    "message_text_changed": "patch",
    "message_attach_changed": "patch",
    "partial_changed": "patch",
    "metadata_changed": "none",
}


@dataclass(frozen=True)
class Impact:
    """The level of a change and the reasons for it (the changes at that level, in words)."""

    level: Level
    reasons: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    @property
    def bump(self) -> str | None:
        """The semver part to bump: ``major``, ``minor``, ``patch`` or None."""
        return BUMP[self.level]

    def to_dict(self) -> dict[str, object]:
        return {"level": self.level, "bump": self.bump, "reasons": list(self.reasons)}


def level_of(change: Change) -> Level:
    """The impact level of one structural change (unknown kinds count as patch)."""
    return IMPACT_RULES.get(change.kind, "patch")


def max_level(levels: list[Level]) -> Level:
    return max(levels, key=LEVELS.index, default="none")


def classify_impact(old: Prompt | None, new: Prompt | None) -> Impact:
    """Impact of going from ``old`` to ``new`` (None: the prompt does not exist on that side)."""
    if old is None and new is None:
        return Impact("none")
    if old is None:
        assert new is not None
        ch = Change("prompt_added", new.name, f"new prompt `{new.name}`")
        return Impact("feature", [ch.text], [ch])
    if new is None:
        ch = Change("prompt_removed", old.name, f"prompt `{old.name}` removed")
        return Impact("breaking", [ch.text], [ch])
    changes = []
    if old.name != new.name:
        changes.append(Change("prompt_renamed", new.name, f"renamed from `{old.name}` (callers load prompts by name)"))
    changes += structural_changes(old, new)
    return impact_of(changes)


def impact_of(changes: list[Change]) -> Impact:
    """Impact of a list of structural changes: the highest level, with the changes at that level."""
    level = max_level([level_of(c) for c in changes])
    reasons = [c.text for c in changes if level_of(c) == level] if level != "none" else []
    return Impact(level, reasons, list(changes))


def detect_impact(old: Prompt | None, new: Prompt | None) -> tuple[str | None, list[str]]:
    """The impact of a change between two releases, for ``release create --bump auto``.

    ``(breaking|feature|patch, reasons)``, or ``(None, [])`` when nothing behaviour-relevant changed.
    """
    if old is not None and new is not None and old.sha256 == new.sha256:
        return None, []
    impact = classify_impact(old, new)
    if impact.level == "none":  # the content hash moved, but no rule names the change
        return "patch", ["content changed"]
    return impact.level, list(impact.reasons)
