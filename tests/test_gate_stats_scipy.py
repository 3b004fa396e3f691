"""The gate's statistics on SciPy: same outputs as the hand-rolled v0.1 distributions, same decisions, same
simulation, and SciPy loaded by the gate only.

``tests/fixtures/gate_stats_reference.json`` and ``tests/fixtures/gate_simulation_quick20.json`` were recorded
with the pure-Python implementation (before SciPy): ``python -m tests.support.stats_reference`` and
``python bench/gate_simulation.py --quick --reps 20 --jobs 1 --json …``. Issue #20 changed the tests on purpose
(the paired t beyond 22 non-zero differences became the Monte-Carlo sign-flip test, the MDE that of the
deciding test): the ``paired_test`` and ``compare`` entries were re-recorded then (no state of the grid
changed), the distributions are still the pure-Python ones; the simulation fixture was re-recorded with the
extended simulation. The randomised exact tests (the tie with the data broken by a key derived from it,
``tests/test_gate_randomised.py``) changed the small-sample p-values and MDEs on purpose: both fixtures'
test outputs were re-recorded again (``python -m tests.support.stats_reference``, keeping the recorded
distributions; the simulation command above).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from llmops_cli.gate import stats
from tests.support.stats_reference import BINOM, DFS, QS, XS, compute, differences

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def test_stats_outputs_match_the_pure_python_reference() -> None:
    """Distributions to 1e-9 (relative); test names, states, reasons, flips and counts exactly."""
    expected = json.loads((FIXTURES / "gate_stats_reference.json").read_text(encoding="utf-8"))
    actual = json.loads(json.dumps(compute()))  # tuples -> lists, as recorded
    problems = differences(expected, actual, rel=1e-9)
    assert not problems, "\n".join(problems[:20])
    states = {c["state"] for c in expected["compare"]}
    tests = {c["test"] for c in expected["compare"]} | {p[2][1] for p in expected["paired_test"]}
    assert states == {"PASS", "WARN", "FAIL"}  # the grid reaches every decision ...
    assert {
        "sign-flip exact",
        "sign test exact (McNemar)",
        "sign-flip (Monte-Carlo)",
        "sign-flip within clusters (Monte-Carlo)",
    } <= tests


def test_the_comparison_notices_a_changed_output() -> None:
    """The reference check can fail: a p-value off by 1e-6 is reported with its JSON path."""
    expected = json.loads((FIXTURES / "gate_stats_reference.json").read_text(encoding="utf-8"))
    changed = json.loads(json.dumps(expected))
    changed["t_ppf"][3][2] *= 1 + 1e-6
    changed["compare"][0]["state"] = "FAIL" if expected["compare"][0]["state"] != "FAIL" else "PASS"
    problems = differences(expected, changed)
    assert any(p.startswith("$.t_ppf[3][2]") for p in problems)
    assert any(p.startswith("$.compare[0].state") for p in problems)


@pytest.mark.parametrize("df", [d for d in DFS if not math.isinf(d)])
def test_distributions_are_scipy_stats(df: float) -> None:
    """t CDF and quantiles equal ``scipy.stats.t`` (the gate calls the ``scipy.special`` functions behind it)."""
    from scipy.stats import t

    for x in XS:
        assert stats.t_cdf(x, df) == pytest.approx(float(t.cdf(x, df)), rel=1e-12, abs=1e-300)
    for q in QS:
        assert stats.t_ppf(q, df) == pytest.approx(float(t.ppf(q, df)), rel=1e-12)


def test_binomial_tails_are_scipy_stats() -> None:
    from scipy.stats import binom

    for k, n, p in BINOM:
        assert stats.binom_sf(k, n, p) == pytest.approx(float(binom.sf(k - 1, n, p)), rel=1e-9, abs=1e-300)


def test_exact_tests_stay_exact() -> None:
    """The binomial tail at ½ is exact rational arithmetic, the sign-flip test an exact enumeration."""
    assert stats.binom_sf(8, 10) == 56 / 1024
    assert stats.mcnemar_p(6, 1) == 8 / 128
    assert stats.sign_flip_p([-1.0] * 5) == 1 / 32
    assert stats.sign_flip_p([-0.3, 0.3]) == 0.75


def test_gate_simulation_is_unchanged(tmp_path: Path) -> None:
    """``bench/gate_simulation.py`` (quick rows, 20 simulated PRs each, fixed seed) gives the very same counts."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gate_simulation.py"), "--quick", "--reps", "20", "--jobs", "1",
         "--json", str(tmp_path / "sim.json")],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr  # 1: a target missed, which 20 draws per row may well do
    actual = json.loads((tmp_path / "sim.json").read_text(encoding="utf-8"))
    expected = json.loads((FIXTURES / "gate_simulation_quick20.json").read_text(encoding="utf-8"))
    assert actual["rows"] == expected["rows"]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.split()  # fmt: skip
    return {m.split(".")[0] for m in out}


@pytest.mark.parametrize(
    "code",
    [
        "import llmops_cli",
        "from llmops_cli import load_prompt; load_prompt('support/answer').render(question='q', context=[])",
        "import llmops_cli.gate.stats, llmops_cli.gate.decide, llmops_cli.evals.model",
        "import sys; sys.argv = ['llmops', 'prompt', 'render', 'support/answer', '--var', 'question=q', "
        "'--var', 'context=[]']\nfrom llmops_cli.cli.app import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
    ],
)
def test_scipy_is_loaded_by_the_gate_only(code: str) -> None:
    loaded = _modules_after(code)
    assert not loaded & {"scipy", "numpy"}, f"{code!r} pulled in {sorted(loaded & {'scipy', 'numpy'})}"


def test_the_gate_does_load_scipy() -> None:
    """The check above can fail: computing a t quantile imports SciPy."""
    assert "scipy" in _modules_after("from llmops_cli.gate.stats import t_ppf; t_ppf(0.95, 9)")
