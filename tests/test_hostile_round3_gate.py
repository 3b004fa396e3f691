"""Issue #20: the gate's four defects, as tests.

1. The large-sample test is a sign-flip randomisation test studentized within clusters: valid for every
   cluster layout (singletons, tied clusters), never p = 0 (the issue's 45-case reproduction gave p = 0).
2. Holm across the gated prompts of one PR: a harmless PR touching many prompts FAILs at most at rate α.
3. The MDE is the one of the test that decides (exact tests' attainable levels, the Holm level).
4. Results whose judge counts disagree with their judge samples are refused (exit 2, file and JSON path);
   missing generations count as errors, so a head whose worst cases are nulled or dropped cannot PASS.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.config import GateConfig
from llmops_cli.evals.results import results_from_dict, save_results
from llmops_cli.gate.collect import collect
from llmops_cli.gate.decide import compare_arms, decide
from llmops_cli.gate.markdown import to_markdown
from llmops_cli.gate.power import PowerModel, attainable_level, mde
from llmops_cli.gate.pvalues import choose_test
from llmops_cli.gate.randomisation import DRAWS, robust_variance, studentized_sign_flip_p
from llmops_cli.gate.stats import Thresholds, adjust_across_prompts, compare_metric, compare_prompt
from llmops_cli.records.results import Invalid
from tests.conftest import REPO_ROOT, run_cli

# -- 1. the within-cluster test ----------------------------------------------------------------------------------


def _issue_45() -> tuple[list[float], list[str]]:
    """K = 1, 21 tied cases in one cluster, 24 singletons moving −0.25 ×14, +0.25 ×9, −0.5 ×1."""
    diffs = [0.0] * 21 + [-0.25] * 14 + [0.25] * 9 + [-0.5]
    strata = ["big"] * 21 + [f"single{i}" for i in range(24)]
    return diffs, strata


def test_the_45_case_reproduction_is_not_significant() -> None:
    diffs, strata = _issue_45()
    res = choose_test(diffs, strata)
    assert res.name == "sign-flip within clusters (Monte-Carlo)"
    assert 0.05 < res.p < 0.25  # the exact sign-flip on the same data: 0.12 (issue #20)
    base = {f"c{i:02d}": [0.5] for i in range(45)}
    head = {f"c{i:02d}": [0.5 + d] for i, d in enumerate(diffs)}
    comp = compare_metric("judge", base, head, {f"c{i:02d}": s for i, s in enumerate(strata)})
    assert comp.state != "FAIL" and comp.p_value is not None and comp.p_value > 0.05, comp.reason
    assert comp.lb is not None and comp.lb < 0 < (comp.ub or 0)  # its own 90% interval covers 0


def test_zero_residual_never_gives_p_zero() -> None:
    """Every cluster tied (no residual at all): the randomisation still has a distribution, p ≥ 1/(B+1)."""
    diffs = [-0.25] * 12 + [-0.5] * 12
    strata = ["a"] * 12 + ["b"] * 12
    assert robust_variance(diffs, strata) == 0.0
    p = studentized_sign_flip_p(diffs, strata)
    assert p >= 1 / (DRAWS + 1) and p < 0.001
    # singletons only, all tied: the same
    p_single = studentized_sign_flip_p([-0.25] * 30, [f"s{i}" for i in range(30)])
    assert 0 < p_single < 0.001
    # every difference 0 in a tied cluster plus a few singletons: nothing to see
    assert studentized_sign_flip_p([0.0] * 30 + [0.25, -0.25], ["a"] * 30 + ["x", "y"]) > 0.3


@pytest.mark.parametrize("layout", ["singles", "tied", "clusters"])
def test_the_test_holds_its_level_on_every_layout(layout: str) -> None:
    """Under H0 (each difference symmetric about 0, variance that goes with cluster size) the rejection rate
    at α = 0.05 stays at α: 400 seeded draws, bound 0.075 (the old within-cluster t rejected 13–14%)."""
    rng = random.Random(f"layout-{layout}")
    rejections = 0
    for rep in range(400):
        if layout == "singles":
            strata = ["big"] * 30 + [f"s{i}" for i in range(30)]
            scale = [0.05] * 30 + [0.4] * 30  # the big cluster is nearly at the ceiling
        elif layout == "tied":
            strata = ["big"] * 21 + [f"s{i}" for i in range(24)]
            scale = [0.0] * 21 + [0.3] * 24
        else:
            strata = [f"k{i % 4}" for i in range(50)]
            scale = [0.1 + 0.1 * (i % 4) for i in range(50)]
        diffs = [rng.choice((-1, 1)) * round(rng.random() * s * 4) / 4 for s in scale]
        if sum(1 for d in diffs if d) <= 22:
            continue  # the exact tiers are exact by enumeration
        rejections += studentized_sign_flip_p(diffs, strata, seed=rep) < 0.05
    assert rejections / 400 <= 0.075


def test_a_drop_confined_to_one_cluster_keeps_its_power() -> None:
    """Centring within clusters: a drop in one cluster is not diluted by the between-cluster spread."""
    confined = [-0.4 + 0.1 * (i % 3) for i in range(30)] + [0.1 * ((i % 3) - 1) for i in range(30)]
    strata = ["a"] * 30 + ["b"] * 30
    assert choose_test(confined, strata).p < 0.001


# -- 2. control across the prompts of one PR --------------------------------------------------------------------


def _comps(diffs: list[float]) -> list[Any]:
    base = {f"c{i:02d}": [0.5] for i in range(len(diffs))}
    head = {f"c{i:02d}": [0.5 + d] for i, d in enumerate(diffs)}
    return compare_prompt({"judge": (base, head, "score")})


def test_holm_across_prompts_keeps_a_harmless_many_prompt_pr_from_failing() -> None:
    borderline = [-0.25] * 9 + [0.25] * 3 + [-0.5] * 2 + [0.0] * 6  # alone: p ≈ 0.03, FAIL
    alone = _comps(borderline)
    assert alone[0].state == "FAIL" and alone[0].p_pr == alone[0].p_adjusted == alone[0].p_value
    ten = [(_comps(borderline), Thresholds()) for _ in range(10)]
    assert adjust_across_prompts(ten) == 10
    for comps, _ in ten:
        (c,) = comps
        assert c.p_pr == pytest.approx(min(1.0, 10 * c.p_value)) and c.state != "FAIL"
        assert "over 10 decisive metrics" in c.reason
        assert c.p_adjusted == c.p_value  # the per-prompt p is reported as it was


def test_a_real_regression_still_fails_among_many_prompts() -> None:
    collapse = [-0.75] * 12
    prompts = [(_comps(collapse), Thresholds())] + [(_comps([0.25, -0.25] * 6), Thresholds()) for _ in range(9)]
    adjust_across_prompts(prompts)
    assert prompts[0][0][0].state == "FAIL" and prompts[0][0][0].p_pr == pytest.approx(10 * 0.5**12)
    assert all(c[0].state == "PASS" for c, _ in prompts[1:])


def test_the_mde_grows_with_the_number_of_prompts_gated() -> None:
    noisy = [(-1) ** i * 0.25 * (1 + i % 3) for i in range(60)]
    one = _comps(noisy)[0]
    many = [(_comps(noisy), Thresholds()) for _ in range(10)]
    adjust_across_prompts(many)
    ten = many[0][0][0]
    assert one.mde is not None and ten.mde is not None and ten.mde > 1.2 * one.mde
    assert "at α/10" in ten.reason


def _arm(scores: dict[str, list[float]], prompt: str = "p") -> Any:
    from llmops_cli.gate.collect import Arm, CaseData

    arm = Arm(prompt)
    for cid, s in scores.items():
        arm.cases[cid] = CaseData(cid, None, {"judge": list(s)}, ["out"] * 1, ["h"])
        arm.judged_metrics.add("judge")
        arm.generations += 1
        arm.judge_calls += len(s)
    return arm


def test_the_report_gives_per_prompt_and_per_pr_p_values() -> None:
    rng = random.Random(7)
    base: dict[str, Any] = {}
    head: dict[str, Any] = {}
    for j in range(4):
        b = {f"c{i}": [rng.choice((0.5, 0.75, 1.0))] for i in range(30)}
        h = {cid: [min(1.0, max(0.0, s[0] + rng.choice((-0.25, 0.0, 0.25))))] for cid, s in b.items()}
        base[f"p{j}"], head[f"p{j}"] = _arm(b, f"p{j}"), _arm(h, f"p{j}")
    report = decide(base, head, GateConfig())
    assert report.settings.holm_family == 4
    data = report.to_dict()
    for p in data["prompts"]:
        assert p["p_prompt"] is not None and p["p_pr"] is not None and p["p_pr"] >= p["p_prompt"]
        (m,) = [m for m in p["metrics"] if m["decisive"]]
        assert m["p_pr"] == p["p_pr"] and m["family"] == 4 and "power_model" not in m
    md = to_markdown(report, verbose=True)
    assert "| p (prompt) | p (PR) |" in md and "Holm over the 4 decisive metrics" in md


# -- 3. the MDE of the deciding test ----------------------------------------------------------------------------


def test_attainable_levels_of_the_exact_tests() -> None:
    assert attainable_level([1.0] * 12, 0.05) == pytest.approx(79 / 4096)  # McNemar, 12 discordant pairs
    assert attainable_level([1.0] * 4, 0.05) == 0.0  # 1/16 > 0.05: nothing attainable
    assert attainable_level([0.25, 0.5, 0.75, 0.25, 0.5], 0.05) == pytest.approx(1 / 32)
    assert attainable_level([0.1 * i + 0.0123 for i in range(1, 20)], 0.05) <= 0.05


def test_the_mde_uses_the_attainable_level_and_grows_as_it_shrinks() -> None:
    model = PowerModel(20, 0.2, 1.0, ((1.0, 12),))
    continuous = PowerModel(20, 0.2, 1.0, None)
    exact, approx = mde(model, 0.05, 0.8), mde(continuous, 0.05, 0.8)
    assert exact is not None and approx is not None and exact > approx
    assert mde(PowerModel(20, 0.2, 0.0, ((1.0, 4),)), 0.05, 0.8) is None  # no level attainable: no MDE
    wide, narrow = (
        mde(PowerModel(60, 0.2, 0.5, None), 0.05, 0.8),
        mde(PowerModel(60, 0.2, 0.0, None), 0.05, 0.8),
    )
    assert wide is not None and narrow is not None and wide > narrow  # singletons keep the drop in their variance


# -- 4. results validation: every missing verdict is seen -------------------------------------------------------

K = 3


def _doc(n: int = 6, worst_nulled: int = 0, errors_counted: bool = True) -> dict[str, Any]:
    def rec(i: int) -> dict[str, Any]:
        samples: list[float | None] = [0.75, 1.0, 0.75]
        errors = 0
        if i < worst_nulled:
            samples, errors = [None] * K, K if errors_counted else 0
        return {
            "prompt": "p", "case_id": f"c{i}", "sample": 0, "cluster": "k", "output": f"out {i}",
            "request_hash": f"h{i}", "error": None, "status": "pass", "cost_usd": None,
            "judge": {"samples": K, "errors": errors, "cost_usd": 0.0},
            "assertions": [{"type": "judge", "metric": "judge", "score": 0.8, "passed": True, "samples": samples,
                            "judge_errors": errors}],
        }  # fmt: skip

    return {
        "schema_version": 1,
        "kind": "llmops-eval-results",
        "run": {"repeat": 1, "judge_samples": K, "config_hash": "x", "judges": {}},
        "prompts": {"p": {"clusters": {f"c{i}": "k" for i in range(n)}}},
        "samples": [rec(i) for i in range(n)],
    }


def _assertion(d: dict[str, Any], i: int = 2) -> dict[str, Any]:
    a: dict[str, Any] = d["samples"][i]["assertions"][0]
    return a


SHAPES = [
    ("null samples, judge.errors 0", lambda d: _assertion(d).update(samples=[None] * K, judge_errors=None),
     "samples[2].judge.errors"),
    ("null samples, errors only on the assertion",
     lambda d: _assertion(d).update(samples=[None] * K, judge_errors=K), "samples[2].judge.errors"),
    ("empty samples", lambda d: _assertion(d).update(samples=[]), "samples[2].assertions[0].samples"),
    ("samples missing", lambda d: _assertion(d).pop("samples"), "samples[2].assertions[0].samples"),
    ("5 samples where K = 3", lambda d: _assertion(d).update(samples=[1.0] * 5),
     "samples[2].assertions[0].samples"),
    ("judge_errors above K", lambda d: _assertion(d).update(judge_errors=4), "samples[2].assertions[0].judge_errors"),
    ("judge_errors disagree with the nulls", lambda d: _assertion(d).update(judge_errors=1),
     "samples[2].assertions[0].judge_errors"),
    ("judge.samples disagree", lambda d: d["samples"][2]["judge"].update(samples=6), "samples[2].judge.samples"),
    ("judge stats null", lambda d: d["samples"][2].update(judge=None), "samples[2].judge"),
    ("judge errors without judge assertions",
     lambda d: d["samples"][2].update(assertions=[]), "samples[2].judge.samples"),
    ("sample index beyond R", lambda d: d["samples"][2].update(sample=1), "samples[2].sample"),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "mutate", "where"), SHAPES, ids=[s[0] for s in SHAPES])
def test_malformed_judge_counts_are_refused(shape: str, mutate: Any, where: str) -> None:
    data = _doc()
    results_from_dict(copy.deepcopy(data))  # the unmutated file is fine
    mutate(data)
    with pytest.raises(Invalid) as exc:
        results_from_dict(data)
    assert exc.value.where == where, (shape, str(exc.value))


@pytest.mark.parametrize("shape", ["null samples, judge.errors 0", "5 samples where K = 3", "judge_errors above K"])
def test_malformed_results_exit_2_naming_file_and_path(tmp_path: Path, shape: str) -> None:
    _, mutate, where = next(s for s in SHAPES if s[0] == shape)
    good = tmp_path / "good.json"
    save_results(str(good), results_from_dict(_doc()))
    data = _doc()
    mutate(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    r = run_cli("eval", "compare", str(good), str(bad), cwd=tmp_path, env={"PYTHONPATH": str(REPO_ROOT)})
    assert r.exit_code == 2, r.output
    assert "bad.json" in r.stderr and f"{where}:" in r.stderr and "Traceback" not in r.stderr


def _gate(base: dict[str, Any], head: dict[str, Any]) -> Any:
    b, h = collect(results_from_dict(base))["p"], collect(results_from_dict(head))["p"]
    return compare_arms("p", b, h, GateConfig())


def test_a_head_whose_worst_cases_are_nulled_cannot_pass() -> None:
    base = _doc(n=50)
    counted = _gate(base, _doc(n=50, worst_nulled=10))
    assert counted.state == "FAIL" and any(e.failed and e.kind == "judge" for e in counted.errors)
    with pytest.raises(Invalid):  # the same nulls with judge.errors 0: refused on load
        results_from_dict(_doc(n=50, worst_nulled=10, errors_counted=False))


def test_records_dropped_from_the_head_count_as_errors() -> None:
    base = _doc(n=50)
    head = _doc(n=50)
    head["samples"] = head["samples"][10:]  # the 10 cases are still listed by head's golden set
    gate = _gate(base, head)
    assert gate.cases_not_run == [f"c{i}" for i in range(10)] and not gate.cases_removed
    assert gate.state == "FAIL" and any(e.failed and e.kind == "provider" for e in gate.errors)
    assert gate.head is not None and gate.head.provider_errors == 10


def test_fewer_generations_than_r_count_as_errors() -> None:
    base, head = _doc(n=40), _doc(n=40)
    for doc in (base, head):
        doc["run"]["repeat"] = 2
        doc["samples"] += [{**copy.deepcopy(r), "sample": 1} for r in doc["samples"]]
    head["samples"] = [r for r in head["samples"] if not (r["sample"] == 1 and r["case_id"] < "c3")]
    arm = collect(results_from_dict(head))["p"]
    missing = sum(1 for cid in arm.cases if cid < "c3")
    assert arm.provider_errors == missing and arm.generations == 80
    gate = _gate(base, head)
    assert gate.state == "FAIL" and any(e.failed and e.kind == "provider" for e in gate.errors)


def test_removing_a_case_from_the_golden_set_is_not_an_error() -> None:
    base, head = _doc(n=20), _doc(n=20)
    head["samples"] = head["samples"][1:]
    del head["prompts"]["p"]["clusters"]["c0"]
    gate = _gate(base, head)
    assert gate.cases_removed == ["c0"] and not gate.cases_not_run and gate.state == "PASS"


# -- 5. the simulation never shows p = 0 ------------------------------------------------------------------------


def _simulation() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gate_simulation", REPO_ROOT / "bench" / "gate_simulation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_no_p_value_of_zero_in_the_simulation() -> None:
    """The layouts of issue #20 through the real gate (20 PRs each): every p-value, raw or adjusted, is > 0."""
    sim = _simulation()
    rows = {s.key: s for s in sim.scenarios(quick=False)}
    for key in ("tied-k1-n45", "singles-k3-n60", "prompts3-k1", "collapse-n20-c20", "drop0.1-k3-n100"):
        row = sim.run_row((rows[key], 20, 1))
        assert row["zero_p"] == 0 and row["min_p"] > 0, (key, row["min_p"])
