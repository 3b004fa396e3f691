"""Usage from request logs: reports, budget and spike checks, canary comparison, and quality in production —
feedback imports, online judging of logged calls, production calls back into golden sets (``llmops usage``).

Reads the JSON Lines request records written by :mod:`llmops_cli.serving` (plain, gzip, rotated) and Parquet
files with the same columns, through DuckDB. DuckDB is imported lazily, only when logs are read::

    from llmops_cli.usage import open_records, resolve_logs, build_report
    rep = build_report(open_records(resolve_logs(["logs/"])), by=["prompt", "version"])

Quality: :mod:`.feedback` (``usage feedback``), :mod:`.quality` (feedback and scores joined to calls in the
report), :mod:`.logged` (selecting and sampling logged calls, reading back their content), :mod:`.where` (the
``--where`` language), :mod:`.judge` (``usage judge``) and :mod:`.sample` (``usage sample``).
"""

from __future__ import annotations

from .check import CheckOptions, CheckResult, Finding, run_check
from .compare import Comparison, run_compare
from .engine import LogFileError, Records, open_records, parse_now, parse_when
from .logfiles import LogFiles, resolve_logs
from .report import UsageReport, build_report, parse_by

__all__ = [
    "CheckOptions",
    "CheckResult",
    "Comparison",
    "Finding",
    "LogFileError",
    "LogFiles",
    "Records",
    "UsageReport",
    "build_report",
    "open_records",
    "parse_by",
    "parse_now",
    "parse_when",
    "resolve_logs",
    "run_check",
    "run_compare",
]
