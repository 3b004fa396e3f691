"""Moved to :mod:`llmops_cli.versions` (below both ``releases`` and ``diff``); re-exported for existing imports."""

from ..versions import (
    BUMPS,
    Version,
    VersionSpec,
    bump_rank,
    impact_to_bump,
    looks_like_spec,
    parse_spec,
    parse_version,
    try_parse_version,
)

__all__ = [
    "BUMPS",
    "Version",
    "VersionSpec",
    "bump_rank",
    "impact_to_bump",
    "looks_like_spec",
    "parse_spec",
    "parse_version",
    "try_parse_version",
]
