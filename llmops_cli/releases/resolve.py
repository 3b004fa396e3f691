"""Which release a version spec selects: an exact version, a range, ``latest`` or a channel name.

Shared by :mod:`.loader` (``load_prompt``), :mod:`.bundle` and :mod:`.create`, below all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, NotFoundError
from ..versions import looks_like_spec, parse_spec, try_parse_version

if TYPE_CHECKING:
    from ..git import GitRepoDir
    from ..tagnames import ReleaseTag
    from .channels import ChannelMove


def resolve_tag(repo: GitRepoDir, name: str, spec: str, tags: list[ReleaseTag] | None = None) -> ReleaseTag:
    """The release tag of ``name`` that ``spec`` (version, range, ``latest`` or channel) selects."""
    tags = repo.release_tags(name, detail=False) if tags is None else tags
    if not tags:
        raise NotFoundError(f"prompt '{name}' has no releases (no tags prompts/{name}/v*)")
    by_version = {t.version: t for t in tags}
    chosen = pick_version(name, spec, list(by_version), lambda ch: _channel_version(repo, name, ch))
    return by_version[chosen]


def _channel_version(repo: GitRepoDir, name: str, channel: str) -> str | None:
    from . import channels

    move = channels.current(repo, name, channel)
    return move.version if move else None


def pick_version(name: str, spec: str, versions: list[Any], channel_lookup: Any) -> Any:
    spec = spec.strip()
    if spec == "latest":
        stable = [v for v in versions if not v.is_prerelease]
        if not stable:
            raise NotFoundError(f"prompt '{name}' has only prereleases; ask for one by version")
        return max(stable)
    if looks_like_spec(spec):
        found = parse_spec(spec).select(versions)
        if found is None:
            have = ", ".join(str(v) for v in sorted(versions)[-5:])
            raise NotFoundError(f"no release of '{name}' matches {spec!r} (latest releases: {have})")
        return found
    target = channel_lookup(spec)
    if target is None:
        raise NotFoundError(
            f"channel '{spec}' of prompt '{name}' is not set (llmops release promote {name}@VER --to {spec})"
        )
    v = try_parse_version(target)
    if v is None or v not in versions:
        raise IntegrityError(f"channel '{spec}' of '{name}' points at {target}, which is not a release")
    return v


@dataclass(frozen=True)
class ChannelState:
    """What a channel serves now: the stable release, and the canary release with its percent (or None)."""

    channel: str
    stable: ReleaseTag
    canary: ReleaseTag | None
    percent: float | None
    move: ChannelMove


def channel_state(repo: GitRepoDir, name: str, channel: str, tags: list[ReleaseTag] | None = None) -> ChannelState:
    """The channel's current stable and canary releases (one ``git log``); errors like :func:`resolve_tag`."""
    from . import channels as ch

    tags = repo.release_tags(name, detail=False) if tags is None else tags
    if not tags:
        raise NotFoundError(f"prompt '{name}' has no releases (no tags prompts/{name}/v*)")
    ch.check_channel(channel)
    mv = ch.current(repo, name, channel)
    by_version = {t.version: t for t in tags}
    stable = by_version[pick_version(name, channel, list(by_version), lambda _c: mv.version if mv else None)]
    assert mv is not None  # pick_version raised otherwise
    if mv.problem:
        raise IntegrityError(f"channel '{channel}' of '{name}' (move {mv.commit[:12]}): {mv.problem}")
    if mv.canary is None or mv.canary_percent is None:
        return ChannelState(channel, stable, None, None, mv)
    canary = next((t for t in tags if str(t.version) == mv.canary), None)
    if canary is None:
        raise IntegrityError(f"channel '{channel}' of '{name}' has canary {mv.canary}, which is not a release")
    return ChannelState(channel, stable, canary, mv.canary_percent, mv)
