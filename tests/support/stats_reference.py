"""Outputs of :mod:`llmops_cli.gate.stats` on a fixed grid of inputs, to pin its behaviour across rewrites.

``python -m tests.support.stats_reference > tests/fixtures/gate_stats_reference.json`` recorded the
reference with the hand-rolled distributions of v0.1 (before ``scipy``; the ``paired_test`` and ``compare``
entries re-recorded when issue #20 replaced the large-sample t-test); ``tests/test_gate_stats_scipy.py``
recomputes the grid with the current code and compares (1e-9 relative, states and reasons exactly).
"""

from __future__ import annotations

import json
import math
import random
import sys
from typing import Any

from llmops_cli.gate import stats

DFS = [1, 2, 3, 4, 5, 7, 9, 14, 19, 29, 49, 99, 200, 1000, math.inf]
QS = [1e-6, 1e-3, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.95, 0.975, 0.99, 0.999]
XS = [-8.0, -3.0, -2.0, -1.5, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 8.0]
BETA_AB = [(0.5, 0.5), (0.5, 2.0), (1.0, 1.0), (2.0, 3.0), (2.5, 0.5), (5.0, 5.0), (10.0, 1.5), (30.0, 40.0)]
BETA_X = [0.0, 1e-4, 0.05, 0.2, 0.4, 0.5, 0.6, 0.8, 0.95, 0.9999, 1.0]
BINOM = [(k, n, p) for n in (1, 5, 10, 23, 60) for k in (0, 1, 2, n // 2, n - 1, n) for p in (0.05, 0.2, 0.5, 0.7)]
MCNEMAR = [(b, c) for b in (0, 1, 3, 6, 12, 25) for c in (0, 1, 4, 9)]


def _diff_sets() -> list[tuple[list[float], list[str] | None]]:
    rng = random.Random(20_260_101)
    sets: list[tuple[list[float], list[str] | None]] = []
    for n in (2, 3, 5, 8, 12, 20, 30, 45, 80):
        for shape in ("drop", "mixed", "ties", "pass"):
            if shape == "drop":
                d = [round(-0.1 + rng.gauss(0, 0.15), 4) for _ in range(n)]
            elif shape == "mixed":
                d = [round(rng.gauss(0, 0.2), 4) for _ in range(n)]
            elif shape == "ties":
                d = [rng.choice([0.0, 0.0, -0.25, 0.25, -0.5]) for _ in range(n)]
            else:
                d = [rng.choice([0.0, 0.0, 0.0, -1.0, 1.0, -1.0]) for _ in range(n)]
            strata = [f"k{i % 3}" for i in range(n)] if n in (30, 80) else None
            sets.append((d, strata))
    return sets


def _arms(diffs: list[float], base: float) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    b = {f"c{i:03d}": [base] for i in range(len(diffs))}
    h = {f"c{i:03d}": [min(1.0, max(0.0, base + d))] for i, d in enumerate(diffs)}
    return b, h


def compute() -> dict[str, Any]:
    """The whole grid: plain JSON (floats, strings, lists)."""
    out: dict[str, Any] = {}
    out["betainc"] = [[a, b, x, stats.betainc(a, b, x)] for a, b in BETA_AB for x in BETA_X]
    out["t_cdf"] = [[x, df, stats.t_cdf(x, df)] for df in DFS for x in XS]
    out["t_ppf"] = [[q, df, stats.t_ppf(q, df)] for df in DFS for q in QS]
    out["binom_sf"] = [[k, n, p, stats.binom_sf(k, n, p)] for k, n, p in BINOM]
    out["mcnemar_p"] = [[b, c, stats.mcnemar_p(b, c)] for b, c in MCNEMAR]
    diff_sets = _diff_sets()
    out["sign_flip_p"] = [[d, stats.sign_flip_p(d)] for d, _ in diff_sets]
    out["paired_test"] = [[d, s, list(stats.paired_test(d, s))] for d, s in diff_sets]
    comps = []
    for d, _strata in diff_sets:
        kind = "pass" if all(v in (0.0, 1.0, -1.0) for v in d) else "score"
        base_level = 0.0 if kind == "pass" else 0.6
        b, h = _arms(d, base_level)
        if kind == "pass":  # base 0/1 so that head = base + d stays 0/1
            b = {cid: [1.0 if v[0] < 0 else 0.0] for cid, v in zip(sorted(b), [[x] for x in d], strict=True)}
            h = {cid: [b[cid][0] + x] for cid, x in zip(sorted(b), d, strict=True)}
        clusters = {cid: f"k{i % 4}" for i, cid in enumerate(sorted(b))} if len(d) >= 8 else None
        comps.append(stats.compare_metric("m", b, h, clusters, kind=kind).to_dict())
        second = {k: [v[0] + 0.01] for k, v in b.items()} if kind == "score" else b
        family = stats.compare_prompt({"m": (b, h, kind), "n": (second, h, kind, True)}, clusters)
        comps.extend(c.to_dict() for c in family)
    out["compare"] = comps
    return out


def _close(a: Any, b: Any, path: str, problems: list[str], rel: float) -> None:
    numbers = isinstance(a, int | float) and isinstance(b, int | float)
    if numbers and (isinstance(a, float) or isinstance(b, float)):
        if math.isinf(a) or math.isinf(b) or math.isnan(a) or math.isnan(b):
            ok = (a == b) or (math.isnan(a) and math.isnan(b))
        else:
            ok = abs(a - b) <= rel * max(1e-300, abs(a), abs(b)) or abs(a - b) <= 1e-15
        if not ok:
            problems.append(f"{path}: {a!r} != {b!r}")
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]", problems, rel)
        return
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        for k in a:
            _close(a[k], b[k], f"{path}.{k}", problems, rel)
        return
    if a != b:
        problems.append(f"{path}: {a!r} != {b!r}")


def differences(expected: Any, actual: Any, rel: float = 1e-9) -> list[str]:
    """Where ``actual`` differs from ``expected`` (numbers: relative ``rel``; everything else exactly)."""
    problems: list[str] = []
    _close(expected, actual, "$", problems, rel)
    return problems


if __name__ == "__main__":
    data = compute()
    sys.stdout.write("{\n")
    for i, (key, rows) in enumerate(data.items()):
        lines = ",\n".join("  " + json.dumps(row, sort_keys=True) for row in rows)
        sys.stdout.write(f"{json.dumps(key)}: [\n{lines}\n]{',' if i < len(data) - 1 else ''}\n")
    sys.stdout.write("}\n")
