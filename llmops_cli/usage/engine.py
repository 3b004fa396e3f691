"""DuckDB over request logs: one normalised, validated relation of records, read in bounded memory.

DuckDB is imported here, lazily, only when a usage command runs (``import llmops_cli`` never loads it).

Validation
----------
Each JSON Lines line is read with every field as raw JSON (``ts`` and ``outcome`` as text) and checked
against the record format (README, "Usage reports, budgets and spikes"): ``v`` is 1 or 2 (a version-1
record is read as version 2 without guards: ``guard`` null); ``ts`` an RFC 3339
string; ``prompt`` and ``model`` non-empty strings; ``version``/``channel``/``arm``/``error_class`` strings
or null; ``tokens_in``/``tokens_out`` non-negative integers or null; ``cost_usd`` a finite non-negative
number or null; ``latency_ms`` a finite non-negative number; ``outcome`` ``"ok"`` or ``"error"``; ``tags``
an object (or absent); ``guard`` an object or null (or absent). A string where a number belongs (``"12"``),
a float where an integer belongs (``1.5``) or a boolean is invalid — never coerced. A line that is not JSON or
not an object is invalid.
Blank lines are ignored.

Strict by default: the first invalid record stops the command with exit 2 and ``file:line: reason``
(``file: row N`` for Parquet). ``skip_invalid=True`` leaves invalid records out and counts them.
"""

from __future__ import annotations

import atexit
import gzip
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from ..errors import UsageError, UserError
from .sources import LogFiles

if TYPE_CHECKING:
    import duckdb

MEMORY_LIMIT = "256MB"  # 1M records: ~200 MB peak RSS (bench/usage_bench.py); LLMOPS_USAGE_MEMORY overrides
MAX_THREADS = 4
MAX_LINE_BYTES = 8 * 1024 * 1024  # DuckDB read buffer per record (maximum_object_size)
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)  # the serving record versions read (v1: no guard field)

_FIELDS = (
    "v",
    "ts",
    "prompt",
    "version",
    "channel",
    "arm",
    "model",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "latency_ms",
    "outcome",
    "error_class",
    "tags",
    "guard",
)


class LogFileError(UserError):
    """A request log with an invalid record (strict mode) or that cannot be read."""


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a memory cap, UTC session time and no extension auto-install."""
    import duckdb

    threads = max(1, min(MAX_THREADS, os.cpu_count() or 1))
    spill = tempfile.mkdtemp(prefix="llmops-usage-")  # never DuckDB's default ./.tmp in the caller's directory
    atexit.register(shutil.rmtree, spill, ignore_errors=True)
    mem = os.environ.get("LLMOPS_USAGE_MEMORY", MEMORY_LIMIT)
    if not re.fullmatch(r"\d{1,6}\s*[KMGT]i?B", mem, re.I):
        raise UsageError(f"LLMOPS_USAGE_MEMORY: expected a size such as 512MB, got {mem!r}")
    con = duckdb.connect(
        config={
            "memory_limit": mem,
            "threads": threads,
            "preserve_insertion_order": False,
            "autoinstall_known_extensions": False,
            "temp_directory": spill,
        }
    )
    con.execute("SET TimeZone = 'UTC'")  # ICU is built into the duckdb wheel
    return con


# ---- the normalised relation --------------------------------------------------------------------------------


_STR = ("prompt", "version", "channel", "arm", "model", "error_class")
_NUM = ("v", "tokens_in", "tokens_out", "cost_usd", "latency_ms")


# Stage 1: each raw JSON value (its JSON text) cast once: strings only from JSON strings (unescaped by the JSON
# parser only when they hold a backslash), numbers only from JSON numbers, ts from a string (UTC).
def _str(c: str) -> str:
    r = f"{c}::VARCHAR"
    return (
        f"CASE WHEN NOT starts_with({r}, '\"') THEN NULL WHEN contains({r}, '\\') THEN {c}->>'$' ELSE ({r})[2:-2] END"
    )


_TYPED = ", ".join(
    [
        "_file",
        "_row",
        "ts IS NULL AND prompt IS NULL AND outcome IS NULL AND v IS NULL AS _empty",
        """CASE WHEN ends_with(ts, 'Z') THEN try_cast(ts AS TIMESTAMP)
          ELSE try_cast(try_cast(ts AS TIMESTAMPTZ) AS TIMESTAMP) END AS ts""",
        "outcome",
        *(f"{c} IS NULL AS {c}_null" for c in (*_STR, *_NUM)),
        *(f"{_str(c)} AS {c}" for c in _STR),
        *(f"try_cast({c}::VARCHAR AS DOUBLE) AS {c}" for c in _NUM),
        "CASE WHEN tags IS NULL THEN '{}'::JSON WHEN starts_with(tags::VARCHAR, '{') THEN tags END AS tags",
        "guard IS NULL AS guard_null",
        "CASE WHEN starts_with(guard::VARCHAR, '{') THEN guard END AS guard",
    ]
)


def _int_ok(c: str) -> str:
    return f"({c}_null OR coalesce({c} >= 0 AND isfinite({c}) AND {c} = floor({c}), false))"


def _str_ok(c: str) -> str:
    return f"({c}_null OR {c} IS NOT NULL)"


# Stage 2: the first problem of a record (NULL when valid), worded like record_problem().
_PROBLEM = f"""CASE
  WHEN _empty THEN 'not a JSON object (or not valid JSON)'
  WHEN v IS NULL OR v NOT IN {READABLE_VERSIONS} THEN 'v: expected 1 or 2'
  WHEN ts IS NULL THEN 'ts: expected an RFC 3339 timestamp string'
  WHEN coalesce(prompt, '') = '' THEN 'prompt: expected a non-empty string'
  WHEN coalesce(model, '') = '' THEN 'model: expected a non-empty string'
  WHEN NOT {_str_ok("version")} THEN 'version: expected a string or null'
  WHEN NOT {_str_ok("channel")} THEN 'channel: expected a string or null'
  WHEN NOT {_str_ok("arm")} THEN 'arm: expected a string or null'
  WHEN NOT {_str_ok("error_class")} THEN 'error_class: expected a string or null'
  WHEN NOT {_int_ok("tokens_in")} THEN 'tokens_in: expected a non-negative integer or null'
  WHEN NOT {_int_ok("tokens_out")} THEN 'tokens_out: expected a non-negative integer or null'
  WHEN NOT (cost_usd_null OR coalesce(cost_usd >= 0 AND isfinite(cost_usd), false))
    THEN 'cost_usd: expected a finite non-negative number or null'
  WHEN NOT coalesce(latency_ms >= 0 AND isfinite(latency_ms), false)
    THEN 'latency_ms: expected a finite non-negative number'
  WHEN outcome IS NULL OR outcome NOT IN ('ok', 'error') THEN 'outcome: expected "ok" or "error"'
  WHEN tags IS NULL THEN 'tags: expected an object'
  WHEN NOT guard_null AND guard IS NULL THEN 'guard: expected an object or null'
END"""

_NORMAL = f"""_file, _row, ({_PROBLEM}) AS _problem, ts, prompt, version, channel, arm, model,
  tokens_in::BIGINT AS tokens_in, tokens_out::BIGINT AS tokens_out, cost_usd, latency_ms, outcome, error_class, tags,
  guard"""

# ts and outcome are read as VARCHAR (DuckDB unescapes strings itself): any non-string JSON value becomes text that
# is never a timestamp nor "ok"/"error", so this is as strict as JSON and cheaper; the rest stay raw JSON.
_VARCHAR_FIELDS = ("ts", "outcome")
_JSON_COLUMNS = "{" + ", ".join(f"'{f}': '{'VARCHAR' if f in _VARCHAR_FIELDS else 'JSON'}'" for f in _FIELDS) + "}"


def _jsonl_sql() -> str:
    return (
        f"SELECT filename AS _file, NULL::BIGINT AS _row, * EXCLUDE (filename) FROM read_json($jsonl, "
        f"format='newline_delimited', columns={_JSON_COLUMNS}, ignore_errors=true, filename=true, "
        f"maximum_object_size={MAX_LINE_BYTES}, compression='auto')"
    )


def _parquet_sql(con: duckdb.DuckDBPyConnection, files: tuple[str, ...]) -> str:
    """The Parquet files mapped onto the same raw JSON columns as JSON Lines (missing columns are null)."""
    try:
        desc = con.execute("DESCRIBE SELECT * FROM read_parquet($p, union_by_name=true)", {"p": list(files)}).fetchall()
    except Exception as exc:  # duckdb.Error: not Parquet, unreadable
        raise LogFileError(f"cannot read Parquet: {_short(exc)}", file=files[0]) from exc
    types = {str(name): str(typ).upper() for name, typ, *_ in desc}
    cols = []
    for f in _FIELDS:
        typ = types.get(f)
        if typ is None:
            cols.append(f"NULL::JSON AS {f}")
        elif f in ("tags", "guard") and (typ.startswith("VARCHAR") or typ == "JSON"):
            cols.append(f"try_cast({f} AS JSON) AS {f}")
        elif f in _VARCHAR_FIELDS:
            cols.append(f"CAST({f} AS VARCHAR) AS {f}")
        else:
            cols.append(f"to_json({f}) AS {f}")
    return (
        f"SELECT filename AS _file, file_row_number + 1 AS _row, {', '.join(cols)} "
        f"FROM read_parquet($parquet, union_by_name=true, filename=true, file_row_number=true)"
    )


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split("\nLINE ")[0].split())  # one line, without DuckDB's echo of our SQL
    return text[:400] if text else type(exc).__name__


@dataclass
class Records:
    """Request logs opened in DuckDB: ``normal`` is a SQL subquery of every record, normalised, with
    ``_problem`` (why it is invalid, NULL when valid), ``_file`` and ``_row`` (Parquet row number)."""

    con: duckdb.DuckDBPyConnection
    files: LogFiles
    normal: str
    params: dict[str, Any]
    skip_invalid: bool = False
    invalid: int = 0
    examples: list[str] = field(default_factory=list)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run ``sql`` ({normal} stands for the normalised records); DuckDB errors become exit-2 errors."""
        try:
            if "{normal}" in sql:
                sql, params = sql.replace("{normal}", self.normal), {**self.params, **(params or {})}
            return self.con.execute(sql, params or {}).fetchall()
        except Exception as exc:
            raise _as_user_error(exc) from exc

    def note_invalid(self, count: int) -> None:
        """Record how many invalid records a pass saw; in strict mode, raise naming the first one."""
        self.invalid = int(count)
        if not count:
            return
        bad = self.query(
            "SELECT _file, min(_row), _problem, count(*) FROM ({normal}) WHERE _problem IS NOT NULL "
            "GROUP BY _file, _problem ORDER BY _file, min(_row) NULLS FIRST, count(*) DESC LIMIT 5"
        )
        self.examples = [
            f"{f}: {n} record{'s' if n != 1 else ''}: {p}" + (f" (first at row {r})" if r else "") for f, r, p, n in bad
        ]
        if not self.skip_invalid:
            s = "s" if count != 1 else ""
            raise LogFileError(
                f"{_locate(bad[0][0], bad[0][1], bad[0][2])} ({count} invalid record{s}; "
                "--skip-invalid leaves them out and counts them)"
            )

    def materialize(self, since: datetime | None = None, until: datetime | None = None) -> None:
        """Validate everything and keep the valid records in ``[since, until)`` as the table ``records``
        (without the columns check and compare never read: tokens, error class)."""
        window, params = window_sql(since, until)
        self.query(
            f"CREATE TEMP TABLE checked AS SELECT {_KEPT} FROM ({{normal}}) WHERE _problem IS NOT NULL OR ({window})",
            params,
        )
        (count,) = self.con.execute("SELECT count(*) FROM checked WHERE _problem IS NOT NULL").fetchone() or (0,)
        self.note_invalid(count)
        self.con.execute("CREATE TEMP VIEW records AS SELECT * EXCLUDE (_problem) FROM checked WHERE _problem IS NULL")


_KEPT = "_problem, ts, prompt, version, channel, arm, model, tokens_in, cost_usd, latency_ms, outcome, tags, guard"


def window_sql(since: datetime | None, until: datetime | None) -> tuple[str, dict[str, Any]]:
    """A SQL condition on ``ts`` for ``[since, until)`` and its parameters."""
    cond, params = [], {}
    if since is not None:
        cond.append("ts >= $since")
        params["since"] = naive_utc(since)
    if until is not None:
        cond.append("ts < $until")
        params["until"] = naive_utc(until)
    return " AND ".join(cond) or "true", params


def naive_utc(t: datetime) -> datetime:
    """``ts`` is stored as naive UTC: aware datetimes are converted, naive ones taken as UTC."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _as_user_error(exc: Exception) -> Exception:
    import duckdb

    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, duckdb.OutOfMemoryException):
        return LogFileError(
            f"the logs need more memory than LLMOPS_USAGE_MEMORY allows ({_short(exc)}); "
            "narrow --since or raise LLMOPS_USAGE_MEMORY"
        )
    if isinstance(exc, duckdb.Error):
        return LogFileError(f"cannot read the logs: {_short(exc)}")
    return exc


def open_records(files: LogFiles, *, skip_invalid: bool = False) -> Records:
    """Open the logs (nothing is read yet): a connection and the normalised-records subquery."""
    con = connect()
    parts = []
    params: dict[str, Any] = {}
    if files.jsonl:
        parts.append(_jsonl_sql())
        params["jsonl"] = list(files.jsonl)
    if files.parquet:
        parts.append(_parquet_sql(con, files.parquet))
        params["parquet"] = list(files.parquet)
    raw = " UNION ALL BY NAME ".join(f"({p})" for p in parts)
    normal = f"SELECT {_NORMAL} FROM (SELECT {_TYPED} FROM ({raw}))"
    return Records(con=con, files=files, normal=normal, params=params, skip_invalid=skip_invalid)


def _locate(file: str, row: int | None, problem: str) -> str:
    """``file:line: reason`` for the first invalid record of a file (a Python re-scan of JSON Lines)."""
    if row is not None:
        return f"{file}: row {row}: {problem}"
    if "://" not in file:
        try:
            for lineno, reason in _invalid_lines(file):
                return f"{file}:{lineno}: {reason}"
        except (OSError, EOFError) as exc:  # unreadable or truncated (gzip) file
            return f"{file}: {problem} ({type(exc).__name__})"
    return f"{file}: {problem}"


def _invalid_lines(path: str) -> Iterator[tuple[int, str]]:
    """Line numbers and reasons of invalid records; a line over :data:`MAX_LINE_BYTES` is skipped unread."""
    with cast(BinaryIO, gzip.open(path, "rb")) if path.endswith(".gz") else open(path, "rb") as fh:
        lineno = 0
        while raw := fh.readline(MAX_LINE_BYTES + 1):
            lineno += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (chunk := fh.readline(MAX_LINE_BYTES)) and not chunk.endswith(b"\n"):
                    pass
                continue
            if raw.strip():
                reason = record_problem(raw)
                if reason:
                    yield lineno, reason


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


def record_problem(line: bytes | str) -> str | None:
    """The first problem of one JSON Lines record, as the SQL check words it (None when valid)."""
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):
        return "not valid JSON"
    if not isinstance(rec, dict):
        return "not a JSON object record"
    g = rec.get
    ts = g("ts")
    if g("v") not in READABLE_VERSIONS or isinstance(g("v"), bool):
        return "v: expected 1 or 2"
    if not isinstance(ts, str) or _parse_ts(ts) is None:
        return "ts: expected an RFC 3339 timestamp string"
    for key in ("prompt", "model"):
        if not isinstance(g(key), str) or not g(key):
            return f"{key}: expected a non-empty string"
    for key in ("version", "channel", "arm", "error_class"):
        if g(key) is not None and not isinstance(g(key), str):
            return f"{key}: expected a string or null"
    for key in ("tokens_in", "tokens_out"):
        val = g(key)
        if val is not None and not (_is_num(val) and float(val).is_integer()):
            return f"{key}: expected a non-negative integer or null"
    if g("cost_usd") is not None and not _is_num(g("cost_usd")):
        return "cost_usd: expected a finite non-negative number or null"
    if not _is_num(g("latency_ms")):
        return "latency_ms: expected a finite non-negative number"
    if g("outcome") not in ("ok", "error"):
        return 'outcome: expected "ok" or "error"'
    if g("tags") is not None and not isinstance(g("tags"), dict):
        return "tags: expected an object"
    if g("guard") is not None and not isinstance(g("guard"), dict):
        return "guard: expected an object or null"
    return None


def _parse_ts(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


# ---- time windows ---------------------------------------------------------------------------------------------

_REL = re.compile(r"(\d{1,6})\s*(m|min|h|d|w)", re.I)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(text: str, now: datetime, *, option: str = "--since") -> datetime:
    """``30m``/``24h``/``7d``/``2w`` before ``now``, ``today`` (00:00 UTC), or an ISO date/time (UTC if naive)."""
    text = text.strip()
    if text.lower() == "today":
        return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    m = _REL.fullmatch(text)
    if m:
        return now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2).lower()])
    t = _parse_ts(text)
    if t is None:
        raise UsageError(f"{option}: expected 24h, 7d, 30m, today or an ISO date/time, got {text!r}")
    return t.astimezone(UTC)


def parse_now(text: str | None) -> datetime:
    """``--now`` (replay a past check); the current UTC time when None."""
    if not text:
        return datetime.now(UTC)
    t = _parse_ts(text.strip())
    if t is None:
        raise UsageError(f"--now: expected an ISO date/time, got {text!r}")
    return t.astimezone(UTC)


__all__ = [
    "LogFileError",
    "Records",
    "connect",
    "open_records",
    "parse_now",
    "parse_when",
    "record_problem",
]
