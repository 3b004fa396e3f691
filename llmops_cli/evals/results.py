"""The results file (``schema_version: 1``): writing it from a journal, reading, merging shards, summaries.

Layout (documented in ``docs/eval.md``)::

    {"schema_version": 1, "kind": "llmops-eval-results",
     "run": {...stable run metadata..., "execution": {...volatile: id, times, shard, cache and call counts...}},
     "prompts": {name: {prompt_sha256, model, golden_set: {file, sha256, cases}, min_pass_rate, clusters, judges}},
     "summary": {"passed": bool, "prompts": {name: {...pass rate, metrics, tokens, cost, latency...}}},
     "samples": [one record per prompt x case x sample, sorted by (prompt, case_id, sample)]}

Files are written to a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import PromptFileError, UserError
from . import RESULTS_SCHEMA_VERSION

RESULTS_KIND = "llmops-eval-results"
# Fields that legitimately differ between two runs of the same content (excluded by content_view()).
VOLATILE_RUN_KEYS = ("execution",)
VOLATILE_SAMPLE_KEYS = ("latency_ms", "replay", "attempts")
VOLATILE_SUMMARY_KEYS = ("latency_ms", "replays")


# -- summary ------------------------------------------------------------------------------------------------


@dataclass
class PromptTally:
    """Streaming accumulator of one prompt's samples."""

    min_pass_rate: float = 1.0
    max_error_rate: float = 0.0
    samples: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    judge_calls: int = 0
    judge_errors: int = 0
    replays: int = 0
    cases: set[str] = field(default_factory=set)
    metric_sum: dict[str, float] = field(default_factory=dict)
    metric_n: dict[str, int] = field(default_factory=dict)
    gen_in: int = 0
    gen_out: int = 0
    judge_in: int = 0
    judge_out: int = 0
    gen_cost: float = 0.0
    judge_cost: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, rec: dict[str, Any]) -> None:
        self.samples += 1
        self.cases.add(rec["case_id"])
        status = rec.get("status")
        if status == "pass":
            self.passed += 1
        elif status == "fail":
            self.failed += 1
        else:
            self.errors += 1
        if rec.get("replay"):
            self.replays += 1
        tokens = rec.get("tokens") or {}
        self.gen_in += int(tokens.get("prompt") or 0)
        self.gen_out += int(tokens.get("completion") or 0)
        self.gen_cost += float(rec.get("cost_usd") or 0.0)
        if rec.get("error") is None and rec.get("latency_ms") is not None:
            self.latencies.append(float(rec["latency_ms"]))
        judge = rec.get("judge") or {}
        jt = judge.get("tokens") or {}
        self.judge_in += int(jt.get("prompt") or 0)
        self.judge_out += int(jt.get("completion") or 0)
        self.judge_cost += float(judge.get("cost_usd") or 0.0)
        self.judge_calls += int(judge.get("samples") or 0)
        self.judge_errors += int(judge.get("errors") or 0)
        for a in rec.get("assertions") or []:
            scores = [s for s in a.get("samples", []) if s is not None] if "samples" in a else [a.get("score")]
            for s in scores:
                if s is None:
                    continue
                m = a["metric"]
                self.metric_sum[m] = self.metric_sum.get(m, 0.0) + float(s)
                self.metric_n[m] = self.metric_n.get(m, 0) + 1

    def summary(self) -> dict[str, Any]:
        scored = self.passed + self.failed
        pass_rate = self.passed / scored if scored else None
        error_rate = self.errors / self.samples if self.samples else 0.0
        ok = (
            pass_rate is None or pass_rate >= self.min_pass_rate - 1e-12
        ) and error_rate <= self.max_error_rate + 1e-12
        lat = sorted(self.latencies)
        return {
            "status": "pass" if ok else "fail",
            "cases": len(self.cases),
            "samples": self.samples,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "pass_rate": _round(pass_rate),
            "min_pass_rate": self.min_pass_rate,
            "error_rate": _round(error_rate),
            "max_error_rate": self.max_error_rate,
            "judge_calls": self.judge_calls,
            "judge_errors": self.judge_errors,
            "metrics": {
                m: {"mean": _round(self.metric_sum[m] / self.metric_n[m]), "n": self.metric_n[m]}
                for m in sorted(self.metric_n)
            },
            "tokens": {
                "generation": {"prompt": self.gen_in, "completion": self.gen_out},
                "judge": {"prompt": self.judge_in, "completion": self.judge_out},
            },
            "cost_usd": {
                "generation": _round(self.gen_cost, 8),
                "judge": _round(self.judge_cost, 8),
                "total": _round(self.gen_cost + self.judge_cost, 8),
            },
            "latency_ms": {"p50": _round(percentile(lat, 50), 1), "p95": _round(percentile(lat, 95), 1)},
            "replays": self.replays,
        }


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def summarize(prompts: dict[str, dict[str, Any]], records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per-prompt summary and overall verdict of a stream of sample records."""
    tallies = {
        name: PromptTally(min_pass_rate=p.get("min_pass_rate", 1.0), max_error_rate=p.get("max_error_rate", 0.0))
        for name, p in prompts.items()
    }
    for rec in records:
        tallies.setdefault(rec["prompt"], PromptTally()).add(rec)
    per_prompt = {name: tallies[name].summary() for name in sorted(tallies)}
    return {
        "passed": all(s["status"] == "pass" for s in per_prompt.values()),
        "totals": _totals(per_prompt),
        "prompts": per_prompt,
    }


def _totals(per_prompt: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "samples": sum(s["samples"] for s in per_prompt.values()),
        "passed": sum(s["passed"] for s in per_prompt.values()),
        "failed": sum(s["failed"] for s in per_prompt.values()),
        "errors": sum(s["errors"] for s in per_prompt.values()),
        "judge_errors": sum(s["judge_errors"] for s in per_prompt.values()),
        "cost_usd": _round(sum(s["cost_usd"]["total"] or 0.0 for s in per_prompt.values()), 8),
    }


# -- writing ------------------------------------------------------------------------------------------------


def sample_sort_key(rec: dict[str, Any]) -> tuple[str, str, int]:
    return (rec["prompt"], rec["case_id"], int(rec["sample"]))


def write_results(
    path: str,
    run: dict[str, Any],
    prompts: dict[str, dict[str, Any]],
    summary: dict[str, Any],
    samples: Iterable[dict[str, Any]],
) -> None:
    """Write a results file, streaming ``samples`` (already in canonical order) one per line."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    from ..redact import redactor

    redact = redactor()

    def dump(value: Any) -> str:
        return redact(_dumps(value))

    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("{\n")
        fh.write(f'"schema_version": {RESULTS_SCHEMA_VERSION},\n"kind": "{RESULTS_KIND}",\n')
        fh.write(f'"run": {dump(run)},\n"prompts": {dump(prompts)},\n"summary": {dump(summary)},\n"samples": [')
        first = True
        for rec in samples:
            fh.write(("\n" if first else ",\n") + dump(rec))
            first = False
        fh.write("\n]\n}\n")
    os.replace(tmp, path)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# -- reading ------------------------------------------------------------------------------------------------


def load_results(path: str) -> dict[str, Any]:
    """Read and validate a results file (:func:`validate_results`); :class:`UserError` (exit 2) naming the
    file and the JSON path when it is not one this version understands."""
    from ..jsonio import load_file_strict

    data = load_file_strict(path, what="results file")
    if not isinstance(data, dict) or data.get("kind") != RESULTS_KIND:
        raise PromptFileError("not an llmops eval results file", file=path)
    version = data.get("schema_version")
    if version != RESULTS_SCHEMA_VERSION or isinstance(version, bool):
        raise PromptFileError(
            f"results schema_version {version!r} is not supported (this llmops reads {RESULTS_SCHEMA_VERSION})",
            file=path,
        )
    problem = validate_results(data)
    if problem:
        raise PromptFileError(f"invalid results file: {problem}", file=path)
    data.setdefault("run", {})
    data.setdefault("prompts", {})
    data.setdefault("samples", [])
    summary = data.get("summary") or {}
    if "prompts" not in summary or "passed" not in summary:  # derived data: recompute what is not there
        data["summary"] = summarize(data["prompts"], data["samples"])
    elif "totals" not in summary:
        data["summary"]["totals"] = _totals(summary["prompts"])
    return data


class _Bad(Exception):
    """A validation problem: ``where`` is the JSON path, ``what`` the complaint."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")


def _typed(value: Any, types: tuple[type, ...], where: str, what: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        raise _Bad(where, f"{_show(value)} is not {what}")
    return value


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _count(value: Any, where: str, *, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Bad(where, f"{_show(value)} is not a non-negative integer")
    return value


def _amount(value: Any, where: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise _Bad(where, f"{_show(value)} is not a finite non-negative number")


def _score(value: Any, where: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and 0 <= value <= 1):
        raise _Bad(where, f"{_show(value)} is not a finite score in [0, 1]")


def validate_results(data: dict[str, Any]) -> str | None:
    """What is wrong with a loaded results dict (``"<JSON path>: <problem>"``), or None.

    Checks types, finite scores in [0, 1], non-negative counts and costs, judge errors ≤ judge samples,
    and unique ``(prompt, case_id, sample)`` records.
    """
    try:
        _validate(data)
    except _Bad as bad:
        return str(bad)
    return None


def _name(value: Any, where: str, what: str) -> str:
    """A prompt name, case id, metric or cluster: a string with no control characters (it reaches the
    terminal, JUnit and HTML), at most 200 characters, and for prompt names and case ids no ``..``."""
    from ..limits import _CONTROL, MAX_NAME_CHARS, name_problem

    _typed(value, (str,), where, f"a {what}")
    if what in ("prompt name", "case id"):
        problem = name_problem(value, what)
    elif len(value) > MAX_NAME_CHARS:
        problem = f"{what} is {len(value):,} characters long (at most {MAX_NAME_CHARS})"
    else:
        problem = f"{what} {value[:40]!r} contains control characters" if _CONTROL.search(value) else None
    if problem:
        raise _Bad(where, problem)
    return value


def _rate(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _Bad(where, f"{_show(value)} is not a number in [0, 1]")


def _strings(obj: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        _typed(obj.get(key), (str,), f"{where}.{key}", "a string or null", optional=True)


def _validate_run(run: dict[str, Any]) -> None:
    for key in ("repeat", "judge_samples"):
        _count(run.get(key), f"run.{key}")
    texts = ("llmops_version", "git_sha", "source", "config_hash", "model_override", "judge_model_override")
    _strings(run, texts, "run")
    judges = _typed(run.get("judges"), (dict,), "run.judges", "an object", optional=True) or {}
    for name, j in judges.items():
        _typed(j, (dict,), f"run.judges[{_show(name)}]", "an object")
    gate = _typed(run.get("gate"), (dict,), "run.gate", "an object", optional=True) or {}
    _strings(gate, ("judged_with_config",), "run.gate")
    ex = _typed(run.get("execution"), (dict,), "run.execution", "an object", optional=True) or {}
    _strings(ex, ("id", "started_at", "finished_at", "journal"), "run.execution")
    shard = _typed(ex.get("shard"), (str,), "run.execution.shard", "a string I/N or null", optional=True)
    if shard is not None:
        i, _, n = shard.partition("/")
        if not (i.isdigit() and n.isdigit() and len(n) <= 6 and 1 <= int(i) <= int(n)):
            raise _Bad("run.execution.shard", f"{_show(shard)} is not a shard I/N")
    shards = _typed(ex.get("shards"), (list,), "run.execution.shards", "an array", optional=True) or []
    for k, sh in enumerate(shards):
        _typed(sh, (str,), f"run.execution.shards[{k}]", "a string")
    _typed(ex.get("calls"), (dict,), "run.execution.calls", "an object", optional=True)
    cache = _typed(ex.get("cache"), (dict,), "run.execution.cache", "an object", optional=True) or {}
    for k in ("hits", "misses"):
        _count(cache.get(k), f"run.execution.cache.{k}")
    _amount(ex.get("duration_s"), "run.execution.duration_s")


_SUMMARY_COUNTS = ("cases", "samples", "passed", "failed", "errors", "judge_calls", "judge_errors", "replays")


def _present(obj: dict[str, Any], key: str, where: str) -> None:
    if key not in obj:
        raise _Bad(f"{where}.{key}", "missing")


def _validate_summary(summary: dict[str, Any]) -> None:
    passed = _typed(summary.get("passed"), (bool,), "summary.passed", "true or false", optional="passed" not in summary)
    present = "prompts" in summary
    prompts = _typed(summary.get("prompts"), (dict,), "summary.prompts", "an object", optional=not present) or {}
    for name, s in prompts.items():
        at = f"summary.prompts[{_show(name)}]"
        _name(name, at, "prompt name")
        _typed(s, (dict,), at, "an object")
        if s.get("status") not in ("pass", "fail"):
            raise _Bad(f"{at}.status", f"{_show(s.get('status'))} is not pass or fail")
        for key in _SUMMARY_COUNTS:
            _count(s.get(key), f"{at}.{key}", optional=key == "replays")
        for key in ("pass_rate", "error_rate"):
            if s.get(key) is not None:
                _rate(s.get(key), f"{at}.{key}")
        for key in ("min_pass_rate", "max_error_rate"):
            _rate(s.get(key), f"{at}.{key}")
        metrics = _typed(s.get("metrics"), (dict,), f"{at}.metrics", "an object")
        for m, v in metrics.items():
            mat = f"{at}.metrics[{_show(m)}]"
            _name(m, mat, "metric")
            _typed(v, (dict,), mat, "an object")
            _present(v, "mean", mat)
            _score(v.get("mean"), f"{mat}.mean")
            _count(v.get("n"), f"{mat}.n", optional=False)
        tokens = _typed(s.get("tokens"), (dict,), f"{at}.tokens", "an object")
        for side in ("generation", "judge"):
            t = _typed(tokens.get(side), (dict,), f"{at}.tokens.{side}", "an object")
            for k in ("prompt", "completion"):
                _count(t.get(k), f"{at}.tokens.{side}.{k}", optional=False)
        cost = _typed(s.get("cost_usd"), (dict,), f"{at}.cost_usd", "an object")
        for k in ("generation", "judge", "total"):
            _present(cost, k, f"{at}.cost_usd")
            _amount(cost.get(k), f"{at}.cost_usd.{k}")
        lat = _typed(s.get("latency_ms"), (dict,), f"{at}.latency_ms", "an object")
        for k in ("p50", "p95"):
            _present(lat, k, f"{at}.latency_ms")
            _amount(lat.get(k), f"{at}.latency_ms.{k}")
    if "totals" in summary or prompts:
        totals = _typed(summary.get("totals"), (dict,), "summary.totals", "an object")
        for key in ("samples", "passed", "failed", "errors", "judge_errors"):
            _count(totals.get(key), f"summary.totals.{key}", optional=False)
        _amount(totals.get("cost_usd"), "summary.totals.cost_usd")
    if prompts and passed is None:
        raise _Bad("summary.passed", "missing (the summary has prompts)")


def _validate(data: dict[str, Any]) -> None:
    run = _typed(data.get("run", {}), (dict,), "run", "an object")
    _validate_run(run)
    prompts = _typed(data.get("prompts", {}), (dict,), "prompts", "an object")
    for name, info in prompts.items():
        where = f"prompts[{_show(name)}]"
        _name(name, where, "prompt name")
        _typed(info, (dict,), where, "an object")
        for key in ("min_pass_rate", "max_error_rate"):
            if key in info:
                _rate(info[key], f"{where}.{key}")
        _strings(info, ("prompt_sha256", "model"), where)
        judges = _typed(info.get("judges"), (list,), f"{where}.judges", "an array", optional=True) or []
        for k, j in enumerate(judges):
            _typed(j, (str,), f"{where}.judges[{k}]", "a string")
        golden = _typed(info.get("golden_set"), (dict,), f"{where}.golden_set", "an object", optional=True) or {}
        _strings(golden, ("file", "sha256"), f"{where}.golden_set")
        _count(golden.get("cases"), f"{where}.golden_set.cases")
        clusters = _typed(info.get("clusters"), (dict,), f"{where}.clusters", "an object", optional=True) or {}
        for cid, cl in clusters.items():
            _name(cid, f"{where}.clusters[{_show(cid)}]", "case id")
            if cl is not None:
                _name(cl, f"{where}.clusters[{_show(cid)}]", "cluster")
    _validate_summary(_typed(data.get("summary", {}), (dict,), "summary", "an object"))
    samples = _typed(data.get("samples", []), (list,), "samples", "an array")
    seen: set[tuple[str, str, int]] = set()
    for i, rec in enumerate(samples):
        at = f"samples[{i}]"
        _typed(rec, (dict,), at, "an object")
        prompt = _name(rec.get("prompt"), f"{at}.prompt", "prompt name")
        case_id = _name(rec.get("case_id"), f"{at}.case_id", "case id")
        sample = _count(rec.get("sample"), f"{at}.sample", optional=False)
        key = (prompt, case_id, sample)
        if key in seen:
            raise _Bad(at, f"duplicate sample {sample} of case {_show(case_id)} of prompt {_show(prompt)}")
        seen.add(key)
        if rec.get("cluster") is not None:
            _name(rec["cluster"], f"{at}.cluster", "cluster")
        for field_name in ("output", "request_hash"):
            _typed(rec.get(field_name), (str,), f"{at}.{field_name}", "a string or null", optional=True)
        _typed(rec.get("error"), (dict,), f"{at}.error", "an object or null", optional=True)
        if rec.get("status") not in (None, "pass", "fail", "error"):
            raise _Bad(f"{at}.status", f"{_show(rec.get('status'))} is not pass, fail or error")
        _amount(rec.get("cost_usd"), f"{at}.cost_usd")
        _amount(rec.get("latency_ms"), f"{at}.latency_ms")
        _score(rec.get("score"), f"{at}.score")
        tokens = _typed(rec.get("tokens"), (dict,), f"{at}.tokens", "an object", optional=True) or {}
        for k, v in tokens.items():
            _count(v, f"{at}.tokens.{k}")
        _typed(rec.get("replay"), (bool,), f"{at}.replay", "true, false or null", optional=True)
        _count(rec.get("attempts"), f"{at}.attempts")
        judge = _typed(rec.get("judge"), (dict,), f"{at}.judge", "an object", optional=True) or {}
        jtokens = _typed(judge.get("tokens"), (dict,), f"{at}.judge.tokens", "an object", optional=True) or {}
        for k, v in jtokens.items():
            _count(v, f"{at}.judge.tokens.{k}")
        calls = _count(judge.get("samples"), f"{at}.judge.samples") or 0
        errors = _count(judge.get("errors"), f"{at}.judge.errors") or 0
        _count(judge.get("replays"), f"{at}.judge.replays")
        if errors > calls:
            raise _Bad(f"{at}.judge.errors", f"{errors} judge errors exceed the {calls} judge samples")
        _amount(judge.get("cost_usd"), f"{at}.judge.cost_usd")
        assertions = _typed(rec.get("assertions", []), (list,), f"{at}.assertions", "an array")
        for j, a in enumerate(assertions):
            aat = f"{at}.assertions[{j}]"
            _typed(a, (dict,), aat, "an object")
            _name(a.get("metric"), f"{aat}.metric", "metric")
            _typed(a.get("type"), (str,), f"{aat}.type", "a string", optional=True)
            _typed(a.get("passed"), (bool,), f"{aat}.passed", "true, false or null", optional=True)
            _score(a.get("score"), f"{aat}.score")
            _typed(a.get("reason"), (str,), f"{aat}.reason", "a string or null", optional=True)
            _amount(a.get("weight"), f"{aat}.weight")
            _score(a.get("threshold"), f"{aat}.threshold")
            _count(a.get("judge_errors"), f"{aat}.judge_errors")
            if "reasonings" in a:
                for k, v in enumerate(_typed(a["reasonings"], (list,), f"{aat}.reasonings", "an array")):
                    _typed(v, (str,), f"{aat}.reasonings[{k}]", "a string or null", optional=True)
            if "samples" in a:
                for k, v in enumerate(_typed(a["samples"], (list,), f"{aat}.samples", "an array")):
                    _score(v, f"{aat}.samples[{k}]")


def iter_samples(results: dict[str, Any], prompt: str | None = None) -> Iterator[dict[str, Any]]:
    for rec in results.get("samples", []):
        if prompt is None or rec["prompt"] == prompt:
            yield rec


def content_view(results: dict[str, Any]) -> dict[str, Any]:
    """The results without fields that differ between runs of identical content (timings, replay flags,
    run id, shard): two such views of an unsharded run and of its merged shards are equal."""
    view = json.loads(json.dumps(results))
    for k in VOLATILE_RUN_KEYS:
        view.get("run", {}).pop(k, None)
    for s in view.get("summary", {}).get("prompts", {}).values():
        for k in VOLATILE_SUMMARY_KEYS:
            s.pop(k, None)
    for rec in view.get("samples", []):
        for k in VOLATILE_SAMPLE_KEYS:
            rec.pop(k, None)
        (rec.get("judge") or {}).pop("replays", None)
    return view


# -- merging shards -----------------------------------------------------------------------------------------

_MUST_MATCH = ("llmops_version", "git_sha", "config_hash", "repeat", "judge_samples", "judges", "selection")


def merge_results(paths: list[str]) -> dict[str, Any]:
    """Join shard results into one results dict equal in content to an unsharded run (see
    :func:`content_view`). The shards must come from the same commit, config and settings, and must not
    overlap."""
    if not paths:
        raise UserError("eval merge needs at least one results file")
    parts = [(p, load_results(p)) for p in paths]
    first_path, first = parts[0]
    prompts: dict[str, dict[str, Any]] = {}
    samples: dict[tuple[str, str, int], dict[str, Any]] = {}
    shards: list[str] = []
    executions = []
    for path, data in parts:
        for key in _MUST_MATCH:
            if data["run"].get(key) != first["run"].get(key):
                raise UserError(f"cannot merge {path} with {first_path}: run.{key} differs")
        for name, info in data["prompts"].items():
            if name in prompts and prompts[name] != info:
                raise UserError(f"cannot merge {path}: prompt {name!r} differs from the other shards")
            prompts[name] = info
        for rec in data["samples"]:
            k = sample_sort_key(rec)
            if k in samples:
                raise UserError(f"cannot merge {path}: sample {k} also appears in another file (overlapping shards?)")
            samples[k] = rec
        ex = data["run"].get("execution") or {}
        executions.append(ex)
        if ex.get("shard"):
            shards.append(ex["shard"])
    run = {k: v for k, v in first["run"].items() if k != "execution"}
    started = [e.get("started_at") for e in executions if e.get("started_at")]
    finished = [e.get("finished_at") for e in executions if e.get("finished_at")]
    run["execution"] = {
        "merged_from": len(parts),
        "shards": sorted(shards),
        "started_at": min(started) if started else None,
        "finished_at": max(finished) if finished else None,
    }
    ordered = [samples[k] for k in sorted(samples)]
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "kind": RESULTS_KIND,
        "run": run,
        "prompts": dict(sorted(prompts.items())),
        "summary": summarize(prompts, ordered),
        "samples": ordered,
    }


def missing_shards(shards: list[str]) -> list[str]:
    """Shards ``I/N`` not among ``shards`` (empty when complete or unsharded)."""
    if not shards:
        return []
    n = int(shards[0].split("/")[1])
    have = {s for s in shards}
    return [f"{i}/{n}" for i in range(1, n + 1) if f"{i}/{n}" not in have]


def save_results(path: str, results: dict[str, Any]) -> None:
    write_results(path, results["run"], results["prompts"], results["summary"], results["samples"])
