"""The release records: the manifest in a release tag, a channel move, a channel's canary, and the bundle.

Each keeps the JSON it has always had on disk (files, tag messages and move commits written by llmops 0.1.0
and 0.2.0 load unchanged; ``tests/fixtures/records/`` proves it). Their version lives in a string key —
``"schema": "llmops.release/1"``, ``"schema": "llmops.channel-move/1"``, ``"format": "llmops.bundle/1"`` —
which :meth:`~llmops_cli.records.base.Record.stored_version` reads. Unknown keys are kept (an older llmops
reads what a newer one wrote) except in a bundle's canary entry, whose keys are bound by its digest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator

from .base import OpenRecord, Record

__all__ = [
    "BUNDLE_FORMAT",
    "MANIFEST_SCHEMA",
    "MOVE_SCHEMA",
    "Bundle",
    "BundleCanary",
    "BundlePrompt",
    "BundleRelease",
    "CanaryTarget",
    "ChannelMoveRecord",
    "InputSummary",
    "ManifestGate",
    "OutputSummary",
    "PreviousCanary",
    "ReleaseManifest",
    "check_percent",
]

MANIFEST_SCHEMA: Literal["llmops.release/1"] = "llmops.release/1"
MOVE_SCHEMA: Literal["llmops.channel-move/1"] = "llmops.channel-move/1"
BUNDLE_FORMAT: Literal["llmops.bundle/1"] = "llmops.bundle/1"
PERCENT_RULE = "a percentage above 0 and below 100, a whole number or one decimal (e.g. 10 or 2.5)"


def _version_in(text: Any, prefix: str) -> Any:
    """``"llmops.release/1"`` → 1 for ``prefix="llmops.release/"``; anything else as is (refused by the loader)."""
    if isinstance(text, str) and text.startswith(prefix) and re.fullmatch(r"[1-9][0-9]{0,3}", text[len(prefix) :]):
        return int(text[len(prefix) :])
    return text


def check_percent(value: Any) -> float | None:
    """A stored canary percent (a JSON number) normalised, or None when it is not in (0, 100) with at most one
    decimal."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and not 0 < value < 100:  # also keeps huge ints away from float()
        return None
    x = float(value)
    if not math.isfinite(x) or not 0 < x < 100 or abs(x * 10 - round(x * 10)) > 1e-6:
        return None
    return round(x * 10) / 10


class _Written(OpenRecord):
    """An open record written back as it was read: keys not set are left out (``exclude_unset``), except the
    format/version key, which is always written."""

    _ALWAYS: ClassVar[tuple[str, ...]] = ()

    def model_post_init(self, context: Any, /) -> None:
        self.__pydantic_fields_set__.update(self._ALWAYS)

    def to_json(self) -> dict[str, Any]:
        """The JSON form: the keys that were read or set (unknown ones included), none added."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# -- the release manifest ----------------------------------------------------------------------------------
class ManifestGate(_Written):
    """The gate verdict a release was made under."""

    verdict: str | None = Field(description="The gate's verdict for this prompt (``PASS``…), null without a gate.")
    source: str | None = Field(None, description="Where the gate result came from (a file, a git note).")
    git_sha: str | None = Field(None, description="The commit the gate ran on.")
    allowed_without_gate: bool | None = Field(None, description="True when released with ``--allow-no-gate``.")


class InputSummary(_Written):
    """One declared input, in brief."""

    type: str = Field(description="The input's type (``string``, ``number``…).")
    required: bool = Field(description="Whether a call must give it.")
    enum: list[Any] | None = Field(None, description="Its allowed values, when restricted.")


class OutputSummary(_Written):
    """The declared output, in brief."""

    format: str = Field(description="``text`` or ``json``.")
    fields: dict[str, Any] | None = Field(None, description="Top-level output fields and their types (json).")
    required: list[Any] | None = Field(None, description="The output schema's required fields (json).")


class ReleaseManifest(_Written):
    """What an annotated release tag's message records (after a title line and a blank line).

    The call fields (``model``, ``api_base``, ``api_key_env``, ``params``, ``response_format``, ``offline``) say
    where the release's calls go; a manifest of llmops 0.1.0 (before call targets were hashed) has no
    ``api_base``, ``api_key_env``, ``response_format`` nor ``offline`` — absent, not null
    (:meth:`has_call_target`)."""

    KIND: ClassVar[str | None] = "llmops.release"
    SCHEMA_VERSION: ClassVar[int | None] = 1
    VERSION_KEY: ClassVar[str] = "schema"
    _ALWAYS: ClassVar[tuple[str, ...]] = ("schema_",)

    schema_: Literal["llmops.release/1"] = Field(MANIFEST_SCHEMA, alias="schema", description="The format and version.")
    name: str = Field(description="The prompt's name.")
    version: str = Field(description="The release's semantic version.")
    sha256: str = Field(description="``Prompt.sha256`` of the released content.")
    git_sha: str = Field(description="The commit the tag points at.")
    model: str | None = Field(None, description="The resolved litellm model id.")
    api_base: str | None = Field(None, description="The alias's base URL (absent in 0.1.0 manifests).")
    api_key_env: str | None = Field(None, description="The variable holding the key (absent in 0.1.0 manifests).")
    params: dict[str, Any] | None = Field(None, description="The params sent (alias defaults overlaid).")
    response_format: dict[str, Any] | None = Field(None, description="The response format sent, or null.")
    offline: dict[str, Any] | None = Field(None, description="The alias's offline stand-in, or null.")
    tools: list[dict[str, Any]] | None = Field(None, description="The tools sent (only when the prompt declares some).")
    tool_choice: Any = Field(None, description="The tool choice sent (only when the prompt sets one).")
    parallel_tool_calls: bool | None = Field(None, description="Whether parallel tool calls are allowed (when set).")
    model_name: str | None = Field(None, description="The model as written in the prompt file (an alias or an id).")
    inputs: dict[str, InputSummary] | None = Field(None, description="The declared inputs, in brief.")
    output: OutputSummary | None = Field(None, description="The declared output, in brief.")
    file: str | None = Field(None, description="The prompt file, project-relative.")
    previous: str | None = Field(None, description="The version this one follows, or null for the first.")
    bump: str | None = Field(None, description="``initial``, ``major``, ``minor`` or ``patch``.")
    impact: str | None = Field(None, description="The detected impact of the change, or null.")
    impact_reasons: list[str] | None = Field(None, description="Why the impact was detected.")
    gate: ManifestGate | None = Field(None, description="The gate verdict released under.")
    message: str | None = Field(None, description="The release note (``-m``).")
    created_at: str | None = Field(None, description="When the release was made (ISO 8601, UTC).")
    llmops_version: str | None = Field(None, description="The llmops that made it.")

    @classmethod
    def stored_version(cls, data: Mapping[str, Any]) -> Any:
        return _version_in(data.get("schema"), "llmops.release/")

    def has_call_target(self) -> bool:
        """False for a manifest of llmops 0.1.0, which records (and hashes) no call target."""
        return "api_base" in self.model_fields_set


# -- channel moves and canaries -----------------------------------------------------------------------------
class CanaryTarget(_Written):
    """The ``canary`` of a channel move: the release served to ``percent``% of keys."""

    version: Any = Field(description="The canary release's version.")
    tag: Any = Field(description="Its release tag.")
    percent: Any = Field(description="Share of keys on the canary: (0, 100), one decimal at most.")
    tag_object: str | None = Field(None, description="The tag object's id when the move was made.")
    released_commit: str | None = Field(None, description="The commit the tag pointed at.")

    def problem(self, stable: Any) -> str | None:
        """Why this canary cannot be served (the channel is then refused), or None."""
        version, tag = self.version, self.tag
        if not isinstance(version, str) or not isinstance(tag, str) or not version or not tag:
            return "its canary record names no version and tag"
        if check_percent(self.percent) is None:
            return f"its canary percent {str(self.percent)[:40]!r} is not {PERCENT_RULE}"
        if version == stable:
            return f"its canary {version[:40]} is the stable version"
        return None


class PreviousCanary(_Written):
    """What a channel's canary was before a move (shown in histories)."""

    version: Any = Field(None, description="The canary's version.")
    percent: Any = Field(None, description="Its percent.")


class ChannelMoveRecord(_Written):
    """The JSON body of a channel move commit (``refs/llmops/channels/<prompt>/@<channel>``).

    Moves without ``action``/``canary`` (older llmops) read as plain promotes. Values are read leniently
    (a move commit comes from whoever could push the ref): a canary that does not validate makes the channel
    refused, with the reason, rather than the history unreadable."""

    KIND: ClassVar[str | None] = "llmops.channel-move"
    SCHEMA_VERSION: ClassVar[int | None] = 1
    VERSION_KEY: ClassVar[str] = "schema"
    _ALWAYS: ClassVar[tuple[str, ...]] = ("schema_",)

    schema_: Literal["llmops.channel-move/1"] = Field(MOVE_SCHEMA, alias="schema", description="Format and version.")
    prompt: Any = Field(None, description="The prompt's name.")
    channel: Any = Field(None, description="The channel moved.")
    version: Any = Field(None, description="The (stable) release the channel serves after the move.")
    tag: Any = Field(None, description="That release's tag.")
    tag_object: str | None = Field(None, description="The tag object's id when the move was made.")
    released_commit: str | None = Field(None, description="The commit the tag pointed at.")
    previous: Any = Field(None, description="The version served before the move, or null.")
    reason: Any = Field(None, description="Why (``--reason``).")
    action: Any = Field(None, description="``promote``, ``canary``, ``finish`` or ``abort`` (absent: promote).")
    canary: Any = Field(None, description="The canary after the move (:class:`CanaryTarget`), or null.")
    previous_canary: Any = Field(None, description="The canary before the move (:class:`PreviousCanary`), or null.")
    verdict: Any = Field(
        None,
        description="A finish's canary verdict: ``{decision: PROMOTE|KEEP RUNNING|ABORT|null, forced: bool}`` "
        "(``forced``: finished with --force while the verdict was ABORT); absent on other moves.",
    )

    @classmethod
    def stored_version(cls, data: Mapping[str, Any]) -> Any:
        return _version_in(data.get("schema"), "llmops.channel-move/")

    def canary_target(self) -> tuple[CanaryTarget | None, str | None]:
        """(the canary, None) when it validates; (None, why) when it does not; (None, None) without one."""
        raw = self.canary
        if raw is None:
            return None, None
        if not isinstance(raw, dict):
            return None, "its canary record is not an object"
        target = CanaryTarget.model_construct(
            _fields_set=set(raw) & set(CanaryTarget.model_fields), **{k: raw.get(k) for k in CanaryTarget.model_fields}
        )
        problem = target.problem(self.version)
        return (None, problem) if problem else (target, None)

    def previous_target(self) -> PreviousCanary | None:
        """The canary before the move, small and well-typed (shown in histories only)."""
        raw = self.previous_canary
        if not isinstance(raw, dict):
            return None
        return PreviousCanary(version=str(raw.get("version"))[:100], percent=check_percent(raw.get("percent")))


# -- the bundle -----------------------------------------------------------------------------------------------
class BundleCanary(Record):
    """``canaries[channel]`` of a bundled prompt: its canary, when both releases are bundled. No other key is
    allowed: ``sha256`` binds channel, both releases' content hashes, percent and move."""

    model_config = ConfigDict(extra="forbid", strict=True)

    stable: str = Field(description="The channel's stable version (also in ``channels``).")
    version: str = Field(description="The canary version (another bundled release).")
    percent: int | float = Field(description="Share of keys on the canary.")
    move: str = Field(description="The channel move commit the canary comes from.")
    sha256: str = Field(description="Digest over prompt, channel, both releases' content hashes, percent and move.")

    @field_validator("percent")
    @classmethod
    def _percent(cls, value: int | float) -> int | float:
        if check_percent(value) is None:
            raise ValueError(f"{str(value)[:40]!r} is not {PERCENT_RULE}")
        return value


class BundleRelease(_Written):
    """One release packed in a bundle: its manifest and the text of every file loading it reads."""

    model_config = ConfigDict(extra="allow", strict=True)

    tag: str | None = Field(None, description="The release tag.")
    git_sha: str | None = Field(None, description="The released commit.")
    sha256: str | None = Field(None, description="The content hash (the manifest's).")
    manifest: dict[str, Any] = Field(description="The release manifest (:class:`ReleaseManifest`).")
    files: dict[str, str] = Field(description="Project-relative path → text of each file the prompt needs.")


class BundlePrompt(_Written):
    """A prompt's part of a bundle."""

    model_config = ConfigDict(extra="allow", strict=True)

    releases: dict[str, BundleRelease] = Field(description="Version → the bundled release.")
    channels: dict[str, str] | None = Field(None, description="Channel → its (stable) version, when bundled.")
    canaries: dict[str, Any] | None = Field(
        None, description="Channel → its canary (:class:`BundleCanary`), when both releases are bundled."
    )


class Bundle(_Written):
    """``prompts.lock.json``: releases packed for deploys without git."""

    KIND: ClassVar[str | None] = "llmops.bundle"
    SCHEMA_VERSION: ClassVar[int | None] = 1
    VERSION_KEY: ClassVar[str] = "format"
    _ALWAYS: ClassVar[tuple[str, ...]] = ("format",)

    format: Literal["llmops.bundle/1"] = Field(BUNDLE_FORMAT, description="The format and version.")
    created_at: str | None = Field(None, description="When the bundle was made (ISO 8601, UTC).")
    git_sha: str | None = Field(None, description="HEAD when the bundle was made.")
    prompts: dict[str, BundlePrompt] = Field(description="Prompt name → its bundled releases and channels.")

    @classmethod
    def stored_version(cls, data: Mapping[str, Any]) -> Any:
        return _version_in(data.get("format"), "llmops.bundle/")
