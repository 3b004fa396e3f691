"""Release tags: ``prompts/<name>/v<semver>``, annotated, one per released prompt version.

The naming scheme and the record of one tag; listing and reading them is :mod:`llmops_cli.git`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

from .versions import Version, try_parse_version

TAG_PREFIX = "prompts/"
TAG_REF_PREFIX = "refs/tags/" + TAG_PREFIX


def tag_name(name: str, version: Version | str) -> str:
    """The tag of a release: ``prompts/support/answer/v1.3.0``."""
    return f"{TAG_PREFIX}{name}/v{version}"


def parse_tag(tag: str) -> tuple[str, Version] | None:
    """``prompts/support/answer/v1.3.0`` → (``support/answer``, 1.3.0); None for any other tag."""
    tag = tag.removeprefix("refs/tags/")
    if not tag.startswith(TAG_PREFIX):
        return None
    name, _, last = tag[len(TAG_PREFIX) :].rpartition("/")
    if not name or not last.startswith("v"):
        return None
    version = try_parse_version(last[1:])
    return (name, version) if version is not None else None


@dataclass(frozen=True)
class ReleaseTag:
    """One release tag as found in the repository."""

    name: str
    version: Version
    tag: str
    object_sha: str  # the tag object (the commit itself for a lightweight tag)
    object_type: str  # "tag" for annotated tags; "" until read (see GitRepoDir.detailed)
    commit: str  # the commit the tag points at (peeled); "" until read
    message: str | None  # the annotated tag's message (manifest); None until read
    tagger_date: str = ""

    @property
    def has_detail(self) -> bool:
        return bool(self.object_type) and self.message is not None

    @property
    def annotated(self) -> bool:
        return self.object_type == "tag"
