"""Moved: the typed results model is :mod:`llmops_cli.records.results` (pydantic records). This module
re-exports it for code written against the old location; new code imports from ``llmops_cli.records``."""

from __future__ import annotations

from ..records.results import (
    RESULTS_KIND,
    AssertionRecord,
    BudgetInfo,
    CacheStats,
    CallError,
    EvalResults,
    Execution,
    GateInfo,
    GoldenSetInfo,
    Incomplete,
    JudgeInfo,
    JudgeStats,
    PromptInfo,
    RunInfo,
    SampleRecord,
    Status,
    Tokens,
)

__all__ = [
    "RESULTS_KIND",
    "AssertionRecord",
    "BudgetInfo",
    "CacheStats",
    "CallError",
    "EvalResults",
    "Execution",
    "GateInfo",
    "GoldenSetInfo",
    "Incomplete",
    "JudgeInfo",
    "JudgeStats",
    "PromptInfo",
    "RunInfo",
    "SampleRecord",
    "Status",
    "Tokens",
]
