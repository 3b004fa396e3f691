"""The gate end to end on the scaffold's golden-set shape, sharded gates, results validation and the report."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.evals.results import results_from_dict, save_results, validate_results
from llmops_cli.gate.collect import CHECKS_METRIC, PASS_METRIC, collect, metric_plan
from tests.conftest import GitRepo, run_cli
from tests.support import gateproj as gp
from tests.support.fakellm import FakeLLM

ENV = {gp.KEY_ENV: gp.KEY_VALUE}

# -- a scaffolded project (llmops init) whose golden set keeps the scaffold's two clusters ---------------------

SCAFFOLD_CONFIG = f"""
models:
  chat: {{model: openai/fake-model, api_base: '@URL@', api_key_env: {gp.KEY_ENV}}}
judge: {{prompt: judges/rubric, model: chat, samples: 1}}
concurrency: 4
eval: {{timeout_s: 5, max_retries: 1, backoff_s: 0.05}}
"""


def scaffold_golden(returns: int = 6, catalogue: int = 4) -> str:
    """The scaffold's evals/faq/answer.yaml shape: a `returns` and a `catalogue` cluster, more cases each."""
    lines = ["defaults:", "  assert:", '    - {type: not-icontains, value: "as an AI"}', "cases:"]
    for i in range(returns):
        lines += [
            f"  - id: return-{i}",
            f"    vars: {{question: 'Return question {i}?', faq: ['Items can be returned within 30 days.']}}",
            "    cluster: returns",
            '    assert: [{type: icontains, value: "30 days"}]',
        ]
    for i in range(catalogue):
        lines += [
            f"  - id: unknown-{i}",
            f"    vars: {{question: 'Catalogue question {i}?', faq: ['Shipping is free on orders over $50.']}}",
            "    cluster: catalogue",
            """    assert: [{type: icontains-any, values: ["don't know", "not sure"]}]""",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def faq_server(fake_llm_factory: Callable[..., FakeLLM]) -> FakeLLM:
    return fake_llm_factory(responder=gp.faq_responder)


def _scaffolded(repo: GitRepo, url: str) -> str:
    from llmops_cli.scaffolding import init_project

    init_project(repo.root)
    repo.write("llmops.yaml", SCAFFOLD_CONFIG.replace("@URL@", url))
    repo.write("evals/faq/answer.yaml", scaffold_golden())
    repo.write(".gitignore", ".llmops/\n")
    repo.commit("scaffold")
    return (repo.root / "prompts/faq/answer.prompt.yaml").read_text()


def test_scaffold_degrading_commit_fails_naming_prompt_and_cluster(tmp_git_repo: GitRepo, faq_server: FakeLLM) -> None:
    repo = tmp_git_repo
    prompt = _scaffolded(repo, faq_server.url)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(
        "prompts/faq/answer.prompt.yaml",
        prompt.replace("Answer only from", "Never mention time limits. Answer only from"),
    )
    repo.commit("shorter answers")
    r = run_cli("eval", "gate", "--base", "main", "--markdown", "gate.md", cwd=repo.root, env=ENV)
    assert r.exit_code == 1, r.output
    assert "faq/answer" in r.stdout and "cluster `returns` -1.00, n = 6" in r.stdout
    assert "catalogue" not in r.stdout.split("faq/answer:", 1)[1].split("\n", 1)[0]
    md = (repo.root / "gate.md").read_text()
    assert md.startswith("## ❌ llmops eval gate: FAIL") and "cluster `returns` -1.00, n = 6" in md
    report = json.loads((repo.root / ".llmops/gate/gate.json").read_text())
    (answer,) = [p for p in report["prompts"] if p["status"] == "gated"]
    assert answer["state"] == "FAIL" and answer["decisive_metric"] == CHECKS_METRIC
    assert [c["cluster"] for c in answer["regressed_clusters"]] == ["returns"]
    decisive = [m for m in answer["metrics"] if m["decisive"]]
    assert len(decisive) == 1 and decisive[0]["p_value"] == pytest.approx(1 / 64)
    # one line per prompt; cost of an unpriced model is "unknown", never $0
    table = [line for line in md.splitlines() if line.startswith("| `faq/answer`")]
    assert len(table) == 1 and "unknown → unknown" in table[0] and "$0.0000" not in md


def test_scaffold_wording_change_answered_identically_passes(tmp_git_repo: GitRepo, faq_server: FakeLLM) -> None:
    repo = tmp_git_repo
    prompt = _scaffolded(repo, faq_server.url)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/faq/answer.prompt.yaml", prompt.replace("Answer only from", "Answer strictly from"))
    repo.commit("wording")
    r = run_cli("eval", "gate", "--base", "main", "-f", "json", cwd=repo.root, env=ENV)
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    (answer,) = [p for p in report["prompts"] if p["status"] == "gated"]
    assert report["verdict"] == "PASS" and answer["state"] == "PASS"
    assert "answers byte-identical" in answer["reason"] and answer["regressed_clusters"] == []
    text = run_cli("eval", "gate", "--base", "main", cwd=repo.root, env=ENV)
    assert "1 prompt(s) PASS" in text.stdout and "faq/answer" in text.stdout  # folded, still named


# -- sharding -------------------------------------------------------------------------------------------------


def test_sharded_gate_gives_the_unsharded_report(
    tmp_git_repo: GitRepo, fake_llm_factory: Callable[..., FakeLLM]
) -> None:
    server = fake_llm_factory(responder=gp.responder)
    repo = tmp_git_repo
    gp.make_repo(repo, server.url)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer sloppily."))
    repo.commit("degrade")
    full = run_cli("eval", "gate", "--base", "main", "--out-dir", "full", "-f", "json", cwd=repo.root, env=ENV)
    assert full.exit_code == 1, full.output
    for i in (1, 2):
        shard = run_cli(
            "eval", "gate", "--base", "main", "--shard", f"{i}/2", "--out-dir", f"s{i}", cwd=repo.root, env=ENV
        )
        assert shard.exit_code in (0, 1), shard.output
    sizes = [len(json.loads((repo.root / f"s{i}/head.json").read_text())["samples"]) for i in (1, 2)]
    assert sum(sizes) == 12 and min(sizes) > 0  # both shards did part of the work
    for arm in ("base", "head"):
        merged = run_cli("eval", "merge", f"s1/{arm}.json", f"s2/{arm}.json", "--out", f"{arm}.json", cwd=repo.root)
        assert merged.exit_code in (0, 1), merged.output  # 1: pass-rate thresholds, not an error
    joined = run_cli("eval", "gate", "--base", "base.json", "--head", "head.json", "-f", "json", cwd=repo.root, env=ENV)
    assert joined.exit_code == 1, joined.output
    gated = [p for p in json.loads(full.stdout)["prompts"] if p["status"] == "gated"]
    again = [p for p in json.loads(joined.stdout)["prompts"] if p["status"] == "gated"]
    assert again == gated and gated[0]["state"] == "FAIL"
    cmp = run_cli("eval", "compare", "base.json", "head.json", "-f", "json", cwd=repo.root, env=ENV)
    assert cmp.exit_code == 1 and [p for p in json.loads(cmp.stdout)["prompts"] if p["status"] == "gated"] == gated


# -- results validation -----------------------------------------------------------------------------------------


def _results() -> dict[str, Any]:
    def rec(case: str, score: float, sample: int = 0) -> dict[str, Any]:
        return {
            "prompt": "p", "case_id": case, "sample": sample, "cluster": "k", "output": f"out {case}",
            "request_hash": f"h{case}", "error": None, "status": "pass", "cost_usd": None, "score": score,
            "judge": {"samples": 1, "errors": 0, "cost_usd": 0.0},
            "assertions": [{"type": "judge", "metric": "judge", "score": score, "passed": True, "samples": [score]}],
        }  # fmt: skip

    return {
        "schema_version": 1,
        "kind": "llmops-eval-results",
        "run": {"repeat": 1, "judge_samples": 1, "config_hash": "x", "judges": {}},
        "prompts": {"p": {"clusters": {f"c{i}": "k" for i in range(6)}}},
        "summary": {"passed": True, "prompts": {}},
        "samples": [rec(f"c{i}", 0.75) for i in range(6)],
    }


def _save(tmp_path: Path, name: str, data: dict[str, Any]) -> str:
    path = tmp_path / name
    save_results(str(path), results_from_dict(data))
    return str(path)


def test_compare_of_two_identical_files_passes(tmp_path: Path) -> None:
    path = _save(tmp_path, "a.json", _results())
    r = run_cli("eval", "compare", path, path, "-f", "json", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    (p,) = json.loads(r.stdout)["prompts"]
    assert p["state"] == "PASS" and "No differences" in p["reason"]


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (
            lambda d: d["samples"][2]["assertions"][0]["samples"].__setitem__(0, 5.0),
            "samples[2].assertions[0].samples[0]",
        ),
        (
            lambda d: d["samples"][1]["assertions"][0].__setitem__("score", float("nan")),
            "samples[1].assertions[0].score",
        ),
        (
            lambda d: d["samples"][1]["assertions"][0].__setitem__("score", float("inf")),
            "samples[1].assertions[0].score",
        ),
        (lambda d: d["samples"][0]["assertions"][0].__setitem__("score", -3), "samples[0].assertions[0].score"),
        (lambda d: d["samples"][3]["assertions"][0].__setitem__("score", "0.5"), "samples[3].assertions[0].score"),
        (lambda d: d["samples"][4]["judge"].__setitem__("errors", -1), "samples[4].judge.errors"),
        (lambda d: d["samples"][4]["judge"].__setitem__("errors", 2), "samples[4].judge.errors"),
        (lambda d: d["samples"].append(copy.deepcopy(d["samples"][5])), "samples[6]"),
        (lambda d: d["samples"][0].__setitem__("cost_usd", -0.5), "samples[0].cost_usd"),
        (lambda d: d["samples"][0].__setitem__("sample", "0"), "samples[0].sample"),
        (lambda d: d.__setitem__("samples", {}), "samples"),
    ],
)
def test_invalid_results_exit_2_naming_file_and_path(tmp_path: Path, mutate: Any, where: str) -> None:
    good = _save(tmp_path, "good.json", _results())
    data = _results()
    mutate(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))  # NaN/Infinity written the way Python's json writes them
    r = run_cli("eval", "compare", good, str(bad), cwd=tmp_path)
    assert r.exit_code == 2, r.output
    assert "bad.json" in r.stderr and f"{where}:" in r.stderr and "Traceback" not in r.stderr
    assert validate_results(data) is not None


def test_unsupported_schema_version_is_refused(tmp_path: Path) -> None:
    data = _results()
    data["schema_version"] = 2
    bad = tmp_path / "v2.json"
    bad.write_text(json.dumps(data))
    r = run_cli("eval", "gate", "--base", str(bad), "--head", str(bad), cwd=tmp_path)
    assert r.exit_code == 2 and "schema_version 2" in r.stderr and "v2.json" in r.stderr


# -- metrics that decide ------------------------------------------------------------------------------------------


def test_metric_plan_keeps_derived_duplicates_out_of_the_decision() -> None:
    data = _results()
    for rec in data["samples"]:
        rec["assertions"].append({"type": "icontains", "metric": "icontains", "score": 1.0, "passed": True})
        rec["assertions"].append({"type": "is-json", "metric": "is-json", "score": 1.0, "passed": True})
    arm = collect(results_from_dict(data))["p"]
    plan = metric_plan(arm, arm)
    assert plan["judge"] == ("score", True) and plan[CHECKS_METRIC] == ("pass", True)
    assert plan[PASS_METRIC][1] is False and plan["icontains"][1] is False and plan["is-json"][1] is False
    one = collect(results_from_dict(_results()))["p"]
    assert metric_plan(one, one) == {"judge": ("score", True), PASS_METRIC: ("pass", False)}
