"""Moved to :mod:`llmops_cli.tagnames` (below both ``releases`` and ``git``); re-exported for existing imports."""

from ..tagnames import TAG_PREFIX, TAG_REF_PREFIX, ReleaseTag, parse_tag, tag_name

__all__ = ["TAG_PREFIX", "TAG_REF_PREFIX", "ReleaseTag", "parse_tag", "tag_name"]
