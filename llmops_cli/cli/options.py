"""Option types shared by several commands (one definition each)."""

from __future__ import annotations

from enum import StrEnum


class Format(StrEnum):
    """``--format`` of reports: ``text`` for the terminal, ``markdown`` for a PR comment or step summary,
    ``json`` for machines (stable, versioned)."""

    text = "text"
    markdown = "markdown"
    json = "json"
