"""Moved: the results records' field checks are :mod:`llmops_cli.records.results_types`. This module re-exports
:class:`Invalid` (a validation problem with its JSON path) for code written against the old location."""

from __future__ import annotations

from ..records.results_types import Invalid, show

__all__ = ["Invalid", "show"]
