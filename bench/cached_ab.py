"""A/B of the fully cached ``eval run`` re-run (1,000 cases) between this checkout and another one.

    PYTHONPATH=. python bench/cached_ab.py OTHER_CHECKOUT [RUNS]     # e.g. a `git archive` of the base commit

Both run the same project against the same response cache, alternating (so machine load hits both alike);
printed: median wall time and median CPU time (user + system of the CLI process, which a busy machine inflates
less than wall time) of each, and their ratios. Used to check that a change (e.g. the redactor) does not cost
the cached re-run (README: within 10%).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project, many_cases  # noqa: E402
from tests.support.fakellm import FakeLLM  # noqa: E402


def _env(tree: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(tree), KEY_ENV: KEY_VALUE, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("LLMOPS_CACHE_DIR", None)
    return env


def _run(tree: Path, root: Path) -> tuple[float, float]:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_cli", "eval", "run", "-q", "--out", "r.json"],
        cwd=root,
        env=_env(tree),
        capture_output=True,
    )
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    for tree in (REPO, other):  # as installed: byte-compiled
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "llmops_cli")], check=True)
    with tempfile.TemporaryDirectory() as tmp, FakeLLM(default_reply="a fake answer") as server:
        root = make_eval_project(Path(tmp), server.url, golden=many_cases(1000))
        subprocess.run(
            [sys.executable, "-m", "llmops_cli", "eval", "run", "-q", "--concurrency", "16", "--out", "r.json"],
            cwd=root,
            env=_env(REPO),
            check=True,
            capture_output=True,
        )
        before = server.count
        this: list[tuple[float, float]] = []
        base: list[tuple[float, float]] = []
        for _ in range(runs):
            base.append(_run(other, root))
            this.append(_run(REPO, root))
        assert server.count == before, "a cached re-run sent requests"

    def med(xs: list[tuple[float, float]], i: int) -> float:
        return statistics.median(x[i] for x in xs)

    print(
        json.dumps(
            {
                "bench": "cached_ab",
                "cases": 1000,
                "runs": runs,
                "other_wall_s": round(med(base, 0), 3),
                "this_wall_s": round(med(this, 0), 3),
                "wall_ratio": round(med(this, 0) / med(base, 0), 3),
                "other_cpu_s": round(med(base, 1), 3),
                "this_cpu_s": round(med(this, 1), 3),
                "cpu_ratio": round(med(this, 1) / med(base, 1), 3),
                "load_avg": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
