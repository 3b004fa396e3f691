"""Logged calls of one prompt for ``usage judge`` and ``usage sample``: select (window, ``--where``, a seeded
stratified sample) and read back what content logging kept (input variables, messages, output).

Selection reads the logs once into a temporary table of the few columns it needs (requests of the prompt in
the window, every feedback and score record). A call logged twice under one request id counts once (its first
record). Sampling is deterministic: calls are ordered by ``md5(seed || request_id)`` inside each stratum
(version, arm, UTC day), so the same seed picks the same calls, and a call stays picked when more calls are
logged later in other strata. The allocation: ``--sample P%`` takes ``ceil(P × size)`` of every stratum;
``--n N`` splits N in proportion to the strata sizes (largest remainders), never more than a stratum holds.

Content comes from the JSON Lines logs only (a record written with ``log_content=True``: ``vars``, ``input``,
``output``); each value is parsed with bounds (:data:`MAX_CONTENT_CHARS`, :data:`MAX_CONTENT_DEPTH`) and a
call whose content is missing, too large or malformed is counted, not used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..jsonio import parse_bounded
from .engine import MAX_LINE_BYTES, Records, window_sql
from .where import Where

MAX_CONTENT_CHARS = 1_000_000  # vars, messages or output of one call, as JSON text
MAX_CONTENT_DEPTH = 24
MAX_SELECTED = 1_000_000


@dataclass
class LoggedCall:
    """One logged call, with its feedback and judge scores, and (after :func:`load_content`) its content."""

    request_id: str
    ts: datetime
    prompt: str
    version: str | None
    channel: str | None
    arm: str | None
    model: str
    outcome: str
    feedback: float | None = None
    vars: dict[str, Any] | None = None
    messages: list[dict[str, Any]] | None = None
    output: str | None = None
    content_problem: str | None = None  # why the content cannot be used (None: usable, or not loaded yet)

    @property
    def day(self) -> str:
        return self.ts.strftime("%Y-%m-%d")


@dataclass
class Selection:
    """The calls picked, how many matched, and the strata (version, arm, day) → (size, picked)."""

    calls: list[LoggedCall]
    matched: int
    strata: dict[tuple[str | None, str | None, str], tuple[int, int]] = field(default_factory=dict)
    already_scored: int = 0  # sampled calls left out: they have a score for every metric asked


def allocate(sizes: dict[Any, int], *, n: int | None = None, fraction: float | None = None) -> dict[Any, int]:
    """How many calls to take from each stratum (see the module doc)."""
    if fraction is not None:
        return {k: min(size, math.ceil(fraction * size - 1e-9)) for k, size in sizes.items()}
    total = sum(sizes.values())
    if n is None or n >= total:
        return dict(sizes)
    quotas = {k: n * size / total for k, size in sizes.items()}
    out = {k: int(q) for k, q in quotas.items()}
    left = n - sum(out.values())
    by_remainder = sorted(sizes, key=lambda k: (-(quotas[k] - out[k]), [str(p) for p in k]))
    for k in by_remainder[:left]:
        out[k] += 1
    return out


def _load_table(recs: Records, prompt: str, since: datetime | None, until: datetime | None) -> None:
    window, params = window_sql(since, until)
    recs.query(
        f"""CREATE OR REPLACE TEMP TABLE logged AS
        SELECT _problem, _kind, request_id, ts, prompt, version, channel, arm, model, outcome, error_class,
               latency_ms, cost_usd, tokens_in, tokens_out, tags, score, metric
        FROM ({{all}})
        WHERE _problem IS NOT NULL
           OR (request_id IS NOT NULL AND (_kind <> 'request' OR (prompt = $prompt AND ({window}))))""",
        {**params, "prompt": prompt},
    )
    ((bad,),) = recs.query("SELECT count(*) FROM logged WHERE _problem IS NOT NULL")
    recs.note_invalid(bad)


def select_calls(
    recs: Records,
    prompt: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    where: Where | None = None,
    n: int | None = None,
    fraction: float | None = None,
    seed: int = 0,
    stratify: bool = True,
    ok_only: bool = False,
    unscored: list[str] | None = None,
) -> Selection:
    """The calls of ``prompt`` in the window that match ``where``, sampled (see the module doc).
    ``ok_only``: successful calls only; ``unscored``: after sampling, leave out the calls that already have a
    score for every one of these metrics (a judge run already graded them; counted in ``already_scored``)."""
    _load_table(recs, prompt, since, until)
    metrics = list(where.metrics) if where else []
    params: dict[str, Any] = dict(where.params) if where else {}
    ctes = [
        "c AS (SELECT * FROM logged WHERE _problem IS NULL AND _kind = 'request' "
        "QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY ts) = 1)",
        "fb AS (SELECT request_id, avg(score) AS fb_mean FROM (SELECT DISTINCT request_id, ts, score FROM logged "
        "WHERE _problem IS NULL AND _kind = 'feedback') GROUP BY request_id)",
    ]
    joins = ["LEFT JOIN fb USING (request_id)"]
    for i, metric in enumerate(metrics):
        params[f"m{i}"] = metric
        ctes.append(
            f"j{i} AS (SELECT request_id, arg_max(score, ts) AS s FROM logged WHERE _problem IS NULL AND "
            f"_kind = 'score' AND metric = $m{i} GROUP BY request_id)"
        )
        joins.append(f"LEFT JOIN j{i} USING (request_id)")
    conds = [where.sql if where else "true"]
    if ok_only:
        conds.append("c.outcome = 'ok'")
    params["seed"] = str(seed)
    stratum = (
        "struct_pack(v := c.version, a := c.arm, d := strftime(c.ts, '%Y-%m-%d'))"
        if stratify
        else "struct_pack(v := NULL::VARCHAR, a := NULL::VARCHAR, d := '')"
    )
    matched = f"""WITH {", ".join(ctes)},
        m AS (SELECT c.request_id, c.ts, c.prompt, c.version, c.channel, c.arm, c.model, c.outcome, fb.fb_mean,
                     {stratum} AS _s, md5($seed || c.request_id) AS _h
              FROM c {" ".join(joins)} WHERE {" AND ".join(conds)})"""
    sizes_rows = recs.query(f"{matched} SELECT _s.v, _s.a, _s.d, count(*) FROM m GROUP BY ALL", params)
    sizes = {(v, a, d): int(cnt) for v, a, d, cnt in sizes_rows}
    alloc = allocate(sizes, n=n, fraction=fraction)
    total = sum(sizes.values())
    take = [{"v": v, "a": a, "d": d, "k": k} for (v, a, d), k in alloc.items() if k > 0]
    calls: list[LoggedCall] = []
    if take:
        rows = recs.query(
            f"""{matched}, alloc AS (SELECT unnest($alloc, recursive := true))
            SELECT request_id, ts, prompt, version, channel, arm, model, outcome, fb_mean FROM (
              SELECT *, row_number() OVER (PARTITION BY _s ORDER BY _h, request_id) AS _rn FROM m) r
            JOIN alloc ON r._s.v IS NOT DISTINCT FROM alloc.v AND r._s.a IS NOT DISTINCT FROM alloc.a
                      AND r._s.d IS NOT DISTINCT FROM alloc.d
            WHERE r._rn <= alloc.k ORDER BY ts, request_id LIMIT {MAX_SELECTED}""",
            {**params, "alloc": take},
        )
        calls = [
            LoggedCall(
                request_id=rid,
                ts=ts,
                prompt=pr,
                version=ver,
                channel=ch,
                arm=arm,
                model=model,
                outcome=out,
                feedback=fb,
            )
            for rid, ts, pr, ver, ch, arm, model, out, fb in rows
        ]
    scored = 0
    if unscored and calls:  # after sampling: the same command picks the same calls, and skips those done
        done = {
            rid
            for (rid,) in recs.query(
                "SELECT request_id FROM logged WHERE _problem IS NULL AND _kind = 'score' AND request_id IN "
                "(SELECT unnest($ids)) AND metric IN (SELECT unnest($metrics)) GROUP BY request_id "
                "HAVING count(DISTINCT metric) >= $n",
                {"ids": [c.request_id for c in calls], "metrics": list(unscored), "n": len(set(unscored))},
            )
        }
        scored = sum(c.request_id in done for c in calls)
        calls = [c for c in calls if c.request_id not in done]
    strata = {k: (sizes[k], alloc.get(k, 0)) for k in sizes}
    return Selection(calls=calls, matched=total, strata=strata, already_scored=scored)


def _parse(text: str | None, what: str) -> tuple[Any, str | None]:
    if text is None:
        return None, None
    if len(text) > MAX_CONTENT_CHARS:
        return None, f"{what} larger than {MAX_CONTENT_CHARS:,} characters"
    try:
        return parse_bounded(text, MAX_CONTENT_DEPTH), None
    except RecursionError:
        return None, f"{what} nested deeper than {MAX_CONTENT_DEPTH} levels"
    except ValueError:
        return None, f"{what} is not valid JSON"


def _messages(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    out = []
    for m in value:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            return None
        out.append({"role": m["role"], "content": m["content"]})
    return out


def load_content(recs: Records, calls: list[LoggedCall]) -> None:
    """Fill each call's ``vars``, ``messages`` and ``output`` from its logged record (JSON Lines logs); a call
    without usable content gets ``content_problem``."""
    by_id = {c.request_id: c for c in calls}
    files = [*(recs.params.get("jsonl") or []), *(recs.params.get("jsonl_bad") or [])]
    found: set[str] = set()
    if by_id and files:
        rows = recs.query(
            f"""SELECT rid, vars, input, output FROM (
                  SELECT json->>'request_id' AS rid, (json->'vars')::VARCHAR AS vars, (json->'input')::VARCHAR AS input,
                         json->'output' AS output, json->>'ts' AS ts
                  FROM read_ndjson_objects($files, ignore_errors=true, maximum_object_size={MAX_LINE_BYTES},
                                           compression='auto')
                  WHERE json_type(json) = 'OBJECT' AND coalesce(json->>'kind', 'request') = 'request')
                WHERE rid IN (SELECT unnest($ids))
                QUALIFY row_number() OVER (PARTITION BY rid ORDER BY ts) = 1""",
            {"files": files, "ids": list(by_id)},
        )
        for rid, vars_text, input_text, output_json in rows:
            call = by_id.get(rid)
            if call is None:
                continue
            found.add(rid)
            variables, problem = _parse(vars_text, "vars")
            messages, problem2 = _parse(input_text, "input")
            output, problem3 = _parse(output_json, "output")
            problem = problem or problem2 or problem3
            if problem is None and not isinstance(variables, dict):
                problem = "no logged input variables (log_content=True records them)"
            if problem is None and output is not None and not isinstance(output, str):
                problem = "output: expected a string"
            call.content_problem = problem
            if problem is None:
                call.vars, call.output = variables, output
                call.messages = _messages(messages) or []
    for rid, call in by_id.items():
        if rid not in found:
            call.content_problem = "no logged content (a Parquet log, or the record was not found)"
