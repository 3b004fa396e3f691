"""DuckDB over request logs: one normalised, validated relation of records, read in bounded memory.

DuckDB is imported here, lazily, only when a usage command runs (``import llmops_cli`` never loads it).

Validation
----------
Each JSON Lines line is read with every field as raw JSON (``ts`` and ``outcome`` as text) and checked
against the record format — the columns and checks are derived from the ``usage`` marks of
:class:`~llmops_cli.records.requests.RequestRecord` (:func:`~llmops_cli.records.requests.usage_columns`), the one
definition of the format (README, "Usage reports, budgets and spikes"): ``v`` is 1 or 2 (a version-1
record is read as version 2 without guards: ``guard`` null); ``ts`` an RFC 3339
string with its offset (``Z`` or ``±HH:MM``; a naive time is refused, not guessed — a typed Parquet timestamp
is UTC); ``prompt`` and ``model`` non-empty strings; ``version``/``channel``/``arm``/``error_class`` strings
or null; ``tokens_in``/``tokens_out`` non-negative integers or null; ``cost_usd`` a finite non-negative
number or null; ``latency_ms`` a finite non-negative number; ``outcome`` ``"ok"`` or ``"error"``; ``tags``
an object with distinct keys (or absent); ``guard`` an object or null (or absent). A string where a number
belongs (``"12"``), a float where an integer belongs (``1.5``) or a boolean is invalid — never coerced. A line
that is not JSON or not an object is invalid, and so is one that repeats a key (``{"cost_usd": 0, "cost_usd": 9}``:
readers disagree on which value wins). ``NaN``/``Infinity`` and numbers beyond :data:`MAX_COST_USD` /
:data:`MAX_LATENCY_MS` / :data:`MAX_TOKENS` are invalid, so no sum can overflow to infinity. Blank lines are
ignored.

JSON Lines are read in one pass by DuckDB's ``read_json``, which stops at a line that is not a JSON object or
repeats a key; then the files it stops at are read again record by record (``read_ndjson_objects``, about 7×
the CPU), where such a line becomes an invalid record like any other.

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
from typing import TYPE_CHECKING, Any, BinaryIO, TypeGuard, cast

from .. import settings
from ..errors import UsageError, UserError
from ..records.requests import (
    MAX_COST_USD,
    MAX_LATENCY_MS,
    MAX_TOKENS,
    USAGE_KINDS,
    RequestRecord,
    UsageColumn,
    usage_columns,
)
from .logfiles import LogFiles

if TYPE_CHECKING:
    import duckdb

MEMORY_LIMIT = "256MB"  # 1M records: ~200 MB peak RSS (bench/usage_bench.py); LLMOPS_USAGE_MEMORY overrides
MAX_THREADS = 4
MAX_LINE_BYTES = 8 * 1024 * 1024  # DuckDB read buffer per record (maximum_object_size)
READABLE_VERSIONS = RequestRecord.readable_versions()  # the request record versions read (v1: no guard field)
MAX_PROBED_FILES = 256  # JSON Lines files probed one by one when the fast reader stops (more: all read slowly)

COLUMNS: tuple[UsageColumn, ...] = usage_columns()
# feedback and score records (kind "feedback" / "score", llmops_cli.records.feedback/score) share the logs
ANNOTATION_FIELDS = ("kind", "schema_version", "request_id", "score", "metric")
_FIELDS = (*(c.name for c in COLUMNS), *ANNOTATION_FIELDS)
_KINDS: dict[str, tuple[str, ...]] = {}
for _c in COLUMNS:
    _KINDS.setdefault(_c.kind, ())
    _KINDS[_c.kind] += (_c.name,)
_VERSION = _KINDS["version"][0]  # the record's version field (v)
_TS = _KINDS["timestamp"][0]
_OUTCOME = next(c for c in COLUMNS if c.kind == "outcome")
_MAPPINGS = _KINDS.get("mapping", ())  # tags
_OBJECTS = _KINDS.get("object_or_null", ())  # guard
ANNOTATION_KINDS = ("feedback", "score")
MAX_FEEDBACK_SCORE = 1e6  # records.feedback.MAX_FEEDBACK_SCORE
_REQUEST_ID_RE = r"[A-Za-z0-9_.:\-]{1,128}"  # records.feedback.REQUEST_ID_PATTERN


class LogFileError(UserError):
    """A request log with an invalid record (strict mode) or that cannot be read."""


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a memory cap, UTC session time and no extension auto-install."""
    import duckdb

    threads = max(1, min(MAX_THREADS, os.cpu_count() or 1))
    spill = tempfile.mkdtemp(prefix="llmops-usage-")  # never DuckDB's default ./.tmp in the caller's directory
    atexit.register(shutil.rmtree, spill, ignore_errors=True)
    mem = settings.USAGE_MEMORY.get(MEMORY_LIMIT)
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


_STR = (*_KINDS.get("name", ()), *_KINDS.get("label", ()), "request_id", "metric")
_NUM = (
    _VERSION,
    *_KINDS.get("count", ()),
    *_KINDS.get("money", ()),
    *_KINDS.get("duration", ()),
    "schema_version",
    "score",
)


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
        " AND ".join(f"{c} IS NULL" for c in (_TS, _KINDS["name"][0], _OUTCOME.name, _VERSION, "kind")) + " AS _empty",
        "_dup",
        f"""CASE WHEN ends_with({_TS}, 'Z') THEN try_cast({_TS} AS TIMESTAMP)
          WHEN ends_with({_TS}, 'z') OR (substr({_TS}, -6, 1) IN ('+', '-') AND substr({_TS}, -3, 1) = ':')
          THEN try_cast(try_cast({_TS} AS TIMESTAMPTZ) AS TIMESTAMP) END AS {_TS}""",
        _OUTCOME.name,
        "kind",
        *(f"{c} IS NULL AS {c}_null" for c in (*_STR, *_NUM)),
        *(f"{_str(c)} AS {c}" for c in _STR),
        *(f"try_cast({c}::VARCHAR AS DOUBLE) AS {c}" for c in _NUM),
        *(
            f"CASE WHEN {c} IS NULL THEN '{{}}'::JSON WHEN starts_with({c}::VARCHAR, '{{') THEN {c} END AS {c}"
            for c in _MAPPINGS
        ),
        *(f"{c} IS NULL AS {c}_null" for c in _OBJECTS),
        *(f"CASE WHEN starts_with({c}::VARCHAR, '{{') THEN {c} END AS {c}" for c in _OBJECTS),
    ]
)


def _int_ok(c: str) -> str:
    return f"({c}_null OR coalesce({c} >= 0 AND {c} <= {MAX_TOKENS} AND {c} = floor({c}), false))"


def _str_ok(c: str) -> str:
    return f"({c}_null OR {c} IS NOT NULL)"


_ANNOTATION_SQL = f"""  WHEN kind IS NOT NULL AND kind <> 'request' THEN CASE
    WHEN kind NOT IN {ANNOTATION_KINDS} THEN 'kind: expected "feedback", "score" or none (a request record)'
    WHEN schema_version IS NULL OR schema_version <> 1 THEN 'schema_version: expected 1'
    WHEN ts IS NULL THEN 'ts: expected an RFC 3339 timestamp string with its offset (Z or ±HH:MM)'
    WHEN NOT coalesce(regexp_full_match(request_id, '{_REQUEST_ID_RE}'), false)
      THEN 'request_id: expected 1-128 characters of letters, digits, _.:-'
    WHEN kind = 'feedback' AND NOT (score_null OR coalesce(abs(score) <= {MAX_FEEDBACK_SCORE:.0f}, false))
      THEN 'score: expected a finite number between -1e+06 and 1e+06 or null'
    WHEN kind = 'score' AND coalesce(metric, '') = '' THEN 'metric: expected a non-empty string'
    WHEN kind = 'score' AND NOT (score_null OR coalesce(score >= 0 AND score <= 1, false))
      THEN 'score: expected a number between 0 and 1 or null'
  END
"""


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _problems() -> list[tuple[str, str, str]]:
    """``(kind, field, why)`` of every check, in the order they are made: by kind (the order of
    :data:`~llmops_cli.records.requests.USAGE_KINDS`), then by field in record order. ``why`` is the message
    (``tokens_in: expected a non-negative integer or null``), the same in SQL and in :func:`record_problem`."""
    versions = " or ".join(str(v) for v in READABLE_VERSIONS)
    outcomes = " or ".join(f'"{v}"' for v in _OUTCOME.values)
    words = {
        "version": f"expected {versions}",
        "timestamp": "expected an RFC 3339 timestamp string with its offset (Z or ±HH:MM)",
        "name": "expected a non-empty string",
        "label": "expected a string or null",
        "count": "expected a non-negative integer or null",
        "money": f"expected a finite non-negative number (at most {MAX_COST_USD:.0e}) or null",
        "duration": f"expected a finite non-negative number (at most {MAX_LATENCY_MS:.0e})",
        "outcome": f"expected {outcomes}",
        "mapping": "expected an object",
        "object_or_null": "expected an object or null",
    }
    return [(kind, c, f"{c}: {words[kind]}") for kind in USAGE_KINDS for c in _KINDS.get(kind, ())]


def _failed_sql(kind: str, c: str) -> str:
    """The SQL condition under which field ``c`` of this kind fails its check."""
    if kind == "version":
        return f"{c} IS NULL OR {c} NOT IN {READABLE_VERSIONS}"
    if kind == "timestamp":
        return f"{c} IS NULL"
    if kind == "name":
        return f"coalesce({c}, '') = ''"
    if kind == "label":
        return f"NOT {_str_ok(c)}"
    if kind == "count":
        return f"NOT {_int_ok(c)}"
    if kind == "money":
        return f"NOT ({c}_null OR coalesce({c} >= 0 AND {c} <= {MAX_COST_USD:.0f}, false))"
    if kind == "duration":
        return f"NOT coalesce({c} >= 0 AND {c} <= {MAX_LATENCY_MS:.0f}, false)"
    if kind == "outcome":
        return f"{c} IS NULL OR {c} NOT IN ({', '.join(_sql_text(v) for v in _OUTCOME.values)})"
    if kind == "mapping":
        return f"{c} IS NULL"
    return f"NOT {c}_null AND {c} IS NULL"  # object_or_null


def _problem_sql() -> str:
    whens = ["WHEN _empty THEN 'not a JSON object (or not valid JSON)'", "WHEN _dup THEN 'duplicate key in the record'"]
    whens.append(_ANNOTATION_SQL.strip())  # a feedback or score record: its own checks
    for kind, c, why in _problems():
        whens.append(f"WHEN {_failed_sql(kind, c)} THEN {_sql_text(why)}")
        if kind == "mapping":
            whens.append(
                f"WHEN {c} <> '{{}}' AND len(json_keys({c})) <> len(list_distinct(json_keys({c}))) "
                f"THEN {_sql_text(c + ': duplicate key')}"
            )
    return "CASE\n  " + "\n  ".join(whens) + "\nEND"


# Stage 2: the first problem of a record (NULL when valid), worded like record_problem().
_PROBLEM = _problem_sql()
_NORMAL = ", ".join(
    [
        "_file",
        "_row",
        f"({_PROBLEM}) AS _problem",
        *(f"{c.name}::BIGINT AS {c.name}" if c.kind == "count" else c.name for c in COLUMNS if c.kind != "version"),
        "CASE WHEN kind IS NULL THEN 'request' ELSE kind END AS _kind",
        "request_id",
        "score",
        "metric",
    ]
)

# ts and outcome are read as VARCHAR (DuckDB unescapes strings itself): any non-string JSON value becomes text that
# is never a timestamp nor "ok"/"error", so this is as strict as JSON and cheaper; the rest stay raw JSON.
_VARCHAR_FIELDS = ("ts", "outcome", "kind")
_JSON_COLUMNS = "{" + ", ".join(f"'{f}': '{'VARCHAR' if f in _VARCHAR_FIELDS else 'JSON'}'" for f in _FIELDS) + "}"


def _jsonl_sql(param: str = "jsonl") -> str:
    """The fast reader: stops (InvalidInputException) at a line that is not a JSON object or repeats a key."""
    return (
        f"SELECT filename AS _file, NULL::BIGINT AS _row, false AS _dup, * EXCLUDE (filename) FROM read_json("
        f"${param}, format='newline_delimited', columns={_JSON_COLUMNS}, ignore_errors=false, filename=true, "
        f"maximum_object_size={MAX_LINE_BYTES}, compression='auto')"
    )


def _jsonl_tolerant_sql(param: str = "jsonl") -> str:
    """The record-by-record reader: each line as one JSON value (NULL when it is not JSON), fields extracted
    by path, ``_dup`` when the object repeats a key."""
    paths = ", ".join(f"'$.\"{f}\"'" for f in _FIELDS)
    cols = [
        f"_l[{i}]->>'$' AS {f}" if f in _VARCHAR_FIELDS else f"nullif(_l[{i}]::VARCHAR, 'null')::JSON AS {f}"
        for i, f in enumerate(_FIELDS, start=1)
    ]
    return (
        f"SELECT _file, NULL::BIGINT AS _row, coalesce(len(_k) <> len(list_distinct(_k)), false) AS _dup, "
        f"{', '.join(cols)} FROM (SELECT filename AS _file, json_keys(json) AS _k, json_extract(json, [{paths}]) AS _l "
        f"FROM read_ndjson_objects(${param}, ignore_errors=true, filename=true, maximum_object_size={MAX_LINE_BYTES}, "
        f"compression='auto'))"
    )


def _parquet_sql(con: duckdb.DuckDBPyConnection, files: tuple[str, ...], label: str) -> str:
    """The Parquet files mapped onto the same raw JSON columns as JSON Lines (missing columns are null)."""
    try:
        desc = con.execute("DESCRIBE SELECT * FROM read_parquet($p, union_by_name=true)", {"p": list(files)}).fetchall()
    except Exception as exc:  # duckdb.Error: not Parquet, unreadable
        raise LogFileError(f"cannot read Parquet: {_short(exc)}", file=label) from exc
    types = {str(name): str(typ).upper() for name, typ, *_ in desc}
    cols = []
    for f in _FIELDS:
        typ = types.get(f)
        if typ is None:
            cols.append(f"NULL::{'VARCHAR' if f in _VARCHAR_FIELDS else 'JSON'} AS {f}")
        elif f in ("tags", "guard") and (typ.startswith("VARCHAR") or typ == "JSON"):  # text that is not JSON: invalid
            cols.append(
                f"CASE WHEN {f} IS NULL THEN NULL ELSE coalesce(try_cast({f} AS JSON), '\"\"'::JSON) END AS {f}"
            )
        elif f == "ts" and typ.startswith("TIMESTAMP"):  # a typed Parquet timestamp is UTC (Parquet's convention)
            cols.append(f"strftime({f}, '%Y-%m-%dT%H:%M:%S.%f') || 'Z' AS {f}")
        elif f in _VARCHAR_FIELDS:
            cols.append(f"CAST({f} AS VARCHAR) AS {f}")
        else:
            cols.append(f"to_json({f}) AS {f}")
    return (
        f"SELECT filename AS _file, file_row_number + 1 AS _row, false AS _dup, {', '.join(cols)} "
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
    parquet_sql: str | None = None
    fell_back: bool = False  # some JSON Lines files are read record by record

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run ``sql`` ({normal} stands for the normalised request records and every invalid record, {all} for
        every record: requests, feedback and scores, ``_kind`` telling them apart); DuckDB errors become exit-2
        errors.

        When the fast JSON Lines reader stops at a line that is not a JSON object (or repeats a key), the
        files it stops at are read record by record (:meth:`_fall_back`), where that line is an invalid
        record, and the query runs again."""
        try:
            return self._run(sql, params)
        except Exception as exc:
            if self.fell_back or not self.files.jsonl or not _is_json_read_error(exc):
                raise _as_user_error(exc) from exc
        try:
            self._fall_back()
            return self._run(sql, params)
        except Exception as exc:
            raise _as_user_error(exc) from exc

    def _fall_back(self) -> None:
        """Probe each JSON Lines file with the fast reader (up to :data:`MAX_PROBED_FILES`); those it stops at
        are read by the slower record-by-record reader, the others stay on the fast one."""
        self.fell_back = True
        files = list(self.params["jsonl"])
        good: list[str] = []
        if len(files) <= MAX_PROBED_FILES:
            touch = ", ".join(f"count({f})" for f in _FIELDS)  # every column, so each is transformed
            for f in files:
                try:
                    self.con.execute(f"SELECT {touch} FROM ({_jsonl_sql('one')})", {"one": [f]}).fetchall()
                    good.append(f)
                except Exception as exc:
                    if not _is_json_read_error(exc):
                        raise
        bad = [f for f in files if f not in set(good)] or files
        good = [f for f in good if f not in set(bad)]
        self.params = {k: v for k, v in self.params.items() if k != "jsonl"} | {"jsonl_bad": bad}
        parts = [_jsonl_tolerant_sql("jsonl_bad")]
        if good:
            self.params["jsonl"] = good
            parts.insert(0, _jsonl_sql("jsonl"))
        self.normal = _normal_sql([*parts, self.parquet_sql])

    def _run(self, sql: str, params: dict[str, Any] | None) -> list[tuple[Any, ...]]:
        if "{normal}" in sql or "{all}" in sql:
            requests = f"SELECT * FROM ({self.normal}) WHERE _problem IS NOT NULL OR _kind = 'request'"
            sql = sql.replace("{normal}", requests).replace("{all}", self.normal)
            params = {**self.params, **(params or {})}
        return self.con.execute(sql, params or {}).fetchall()

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
        # one pass over the logs: request records in the window, every score/feedback record (``annotations``:
        # a judge's or a user's verdict may come after the window of the call it is about), every invalid one
        self.query(
            f"CREATE TEMP TABLE checked AS SELECT {_KEPT}, _kind, score, metric FROM ({{all}}) "
            f"WHERE _problem IS NOT NULL OR _kind <> 'request' OR ({window})",
            params,
        )
        (count,) = self.con.execute("SELECT count(*) FROM checked WHERE _problem IS NOT NULL").fetchone() or (0,)
        self.note_invalid(count)
        self.con.execute(
            "CREATE TEMP VIEW records AS SELECT * EXCLUDE (_problem, _kind, score, metric) FROM checked "
            "WHERE _problem IS NULL AND _kind = 'request'"
        )
        self.con.execute(
            "CREATE TEMP VIEW annotations AS SELECT ts, prompt, request_id, _kind, score, metric FROM checked "
            "WHERE _problem IS NULL AND _kind <> 'request'"
        )


_KEPT = (
    "_problem, ts, prompt, version, channel, arm, model, tokens_in, cost_usd, latency_ms, outcome, tags, guard, "
    "request_id"
)


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


def _is_json_read_error(exc: Exception) -> bool:
    import duckdb

    text = str(exc)
    return isinstance(exc, duckdb.InvalidInputException) and (
        "JSON" in text or "duplicate key" in text or "maximum_object_size" in text
    )


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
    params: dict[str, Any] = {}
    parquet = None
    if files.jsonl:
        params["jsonl"] = [literal_path(f) for f in files.jsonl]
    if files.parquet:
        params["parquet"] = [literal_path(f) for f in files.parquet]
        parquet = _parquet_sql(con, tuple(params["parquet"]), files.parquet[0])

    normal = _normal_sql([_jsonl_sql() if files.jsonl else None, parquet])
    return Records(con=con, files=files, normal=normal, params=params, skip_invalid=skip_invalid, parquet_sql=parquet)


def _normal_sql(parts: list[str | None]) -> str:
    raw = " UNION ALL BY NAME ".join(f"({p})" for p in parts if p)
    return f"SELECT {_NORMAL} FROM (SELECT {_TYPED} FROM ({raw}))"


_DUCKDB_GLOB = re.compile(r"[*?\[]")


def literal_path(path: str) -> str:
    """``path`` as DuckDB reads it literally: DuckDB expands ``*``, ``?`` and ``[…]`` in every local file name it
    is given, so a log named ``a[1].jsonl`` would read ``a1.jsonl``; each such character is written as a
    one-character class (``[[]``, ``[*]``), which matches only itself. Remote addresses are left as they are."""
    if "://" in path or not _DUCKDB_GLOB.search(path):
        return path
    return _DUCKDB_GLOB.sub(lambda m: f"[{m.group()}]", path)


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


class _DuplicateKey(ValueError):
    pass


def _distinct_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _DuplicateKey
    return out


def _is_num(x: Any) -> TypeGuard[int | float]:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


def record_problem(line: bytes | str) -> str | None:
    """The first problem of one JSON Lines record, as the SQL check words it (None when valid)."""
    try:
        rec = json.loads(line, object_pairs_hook=_distinct_keys)
    except _DuplicateKey:
        return "duplicate key in the record"
    except (ValueError, RecursionError):
        return "not valid JSON"
    if not isinstance(rec, dict):
        return "not a JSON object record"
    g = rec.get
    if g("kind") is not None and g("kind") != "request":
        return _annotation_problem(rec)
    for kind, key, why in _PROBLEMS:
        if not _PY_CHECKS[kind](g(key)):
            return why
    return None


def _version_ok(x: Any) -> bool:
    return x in READABLE_VERSIONS and not isinstance(x, bool)


def _ts_ok(x: Any) -> bool:
    return isinstance(x, str) and _parse_ts(x, naive_ok=False) is not None


_PY_CHECKS: dict[str, Any] = {
    "version": _version_ok,
    "timestamp": _ts_ok,
    "name": lambda x: isinstance(x, str) and bool(x),
    "label": lambda x: x is None or isinstance(x, str),
    "count": lambda x: x is None or (_is_num(x) and float(x).is_integer() and x <= MAX_TOKENS),
    "money": lambda x: x is None or (_is_num(x) and x <= MAX_COST_USD),
    "duration": lambda x: _is_num(x) and x <= MAX_LATENCY_MS,
    "outcome": lambda x: x in _OUTCOME.values,
    "mapping": lambda x: x is None or isinstance(x, dict),
    "object_or_null": lambda x: x is None or isinstance(x, dict),
}
_PROBLEMS = _problems()


def _annotation_problem(rec: dict[str, Any]) -> str | None:
    """The first problem of a feedback or score record, as the SQL check words it."""
    g = rec.get
    kind, score = g("kind"), g("score")
    if kind not in ANNOTATION_KINDS:
        return 'kind: expected "feedback", "score" or none (a request record)'
    if g("schema_version") != 1 or isinstance(g("schema_version"), bool):
        return "schema_version: expected 1"
    ts = g("ts")
    if not isinstance(ts, str) or _parse_ts(ts, naive_ok=False) is None:
        return "ts: expected an RFC 3339 timestamp string with its offset (Z or ±HH:MM)"
    rid = g("request_id")
    if not isinstance(rid, str) or not re.fullmatch(_REQUEST_ID_RE, rid):
        return "request_id: expected 1-128 characters of letters, digits, _.:-"
    number = isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score)
    if kind == "feedback" and score is not None and not (number and abs(score) <= MAX_FEEDBACK_SCORE):
        return "score: expected a finite number between -1e+06 and 1e+06 or null"
    if kind == "score":
        if not isinstance(g("metric"), str) or not g("metric"):
            return "metric: expected a non-empty string"
        if score is not None and not (number and 0 <= score <= 1):
            return "score: expected a number between 0 and 1 or null"
    return None


def _parse_ts(text: str, *, naive_ok: bool = True) -> datetime | None:
    """An ISO date/time; a naive one is UTC when ``naive_ok`` (options), refused otherwise (records)."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo:
        return t
    return t.replace(tzinfo=UTC) if naive_ok else None


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
