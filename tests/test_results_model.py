"""The typed results model: real ``eval run`` output round-trips through it unchanged and validates against
the published JSON Schema; results files of v0.1.0 still load; unknown keys survive a load/save."""

# ruff: noqa: F811  (pytest fixtures imported by name)

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from llmops_cli.errors import PromptFileError
from llmops_cli.evals.results import load_results, results_from_dict, save_results, validate_results
from llmops_cli.evals.runner import EvalOptions, run_eval
from llmops_cli.evals.schema import SCHEMA_FILE, results_json_schema
from llmops_cli.project import Project
from llmops_cli.records.results import SampleRecord
from tests.conftest import REPO_ROOT, run_cli
from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project
from tests.support.fakellm import FakeLLM, Fault
from tests.support.fixtures import fake_llm  # noqa: F401

FIXTURES = REPO_ROOT / "tests" / "fixtures"
GOLDEN = """
defaults:
  assert:
    - {type: judge, criteria: "Answers the question", metric: helpfulness}
cases:
  - id: refund
    vars: {question: How do refunds work?}
    expected: Refunds take 5 days.
    cluster: billing
    assert:
      - {type: icontains, value: "5 days"}
  - id: shipping
    vars: {question: Do you ship to Mars?}
    assert:
      - {type: not-icontains, value: sorry}
  - id: broken
    vars: {question: number 13}
"""


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO_ROOT / SCHEMA_FILE).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(doc)]


def test_published_schema_is_the_generated_one() -> None:
    committed = json.loads((REPO_ROOT / SCHEMA_FILE).read_text(encoding="utf-8"))
    assert committed == results_json_schema(), f"run: python -m llmops_cli.evals.schema > {SCHEMA_FILE}"
    assert (REPO_ROOT / "schemas" / "prompt.schema.json").is_file()  # published side by side


@pytest.fixture
def produced(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Results files written by ``llmops eval run`` (judges, a provider error, repeat 2), by two shards and by
    ``eval merge``."""
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.delenv("LLMOPS_CACHE_DIR", raising=False)
    fake_llm.on("GRADE", '{"reasoning": "Clear.", "score": 4}')
    fake_llm.on("number 13", Fault.server_error())
    root = make_eval_project(tmp_path, fake_llm.url, golden=GOLDEN)
    run_eval(Project.open(root), EvalOptions(repeat=2, max_retries=0, out=str(root / "full.json")))
    for i in (1, 2):
        opts = EvalOptions(repeat=2, max_retries=0, shard=(i, 2), out=str(root / f"s{i}.json"))
        run_eval(Project.open(root), opts)
    r = run_cli("eval", "merge", "s1.json", "s2.json", "--out", "merged.json", cwd=root, env={KEY_ENV: KEY_VALUE})
    assert r.exit_code in (0, 1), r.stderr
    return [root / name for name in ("full.json", "s1.json", "s2.json", "merged.json")]


def test_eval_run_output_validates_and_round_trips(produced: list[Path]) -> None:
    for path in produced:
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert not _errors(doc), (path.name, _errors(doc)[:5])
        typed = load_results(str(path))
        assert typed.to_dict() == doc, path.name  # the model loses and adds nothing
    full = load_results(str(produced[0]))
    statuses = {r.status for r in full.samples}
    assert statuses == {"pass", "fail", "error"} and any(a.samples for r in full.samples for a in r.assertions)
    broken = next(r for r in full.samples if r.case_id == "broken")
    assert broken.error is not None and broken.error.kind and broken.output is None
    assert full.summary.prompts["support/answer"].errors == 2 and full.summary.totals.samples == 6


def test_schema_refuses_what_the_model_refuses_by_type(produced: list[Path]) -> None:
    """The schema is not a rubber stamp: type and range errors the model refuses, the schema refuses too."""
    doc = json.loads(produced[0].read_text(encoding="utf-8"))
    for mutate in (
        lambda d: d["samples"][0].__setitem__("sample", "0"),
        lambda d: d["samples"][-1]["assertions"][0].__setitem__("score", 1.5),
        lambda d: d["summary"]["prompts"]["support/answer"].__setitem__("status", "maybe"),
        lambda d: d["run"].__setitem__("repeat", -1),
        lambda d: d.__setitem__("schema_version", 2),
    ):
        bad = json.loads(json.dumps(doc))
        mutate(bad)
        assert _errors(bad) and validate_results(bad) is not None


def test_results_of_v0_1_0_still_load() -> None:
    """A file as v0.1.0 wrote it (no summary totals, no judge reasonings) loads; its totals are recomputed,
    and saving it writes today's layout."""
    path = FIXTURES / "results-0.1.0.json"
    old = json.loads(path.read_text(encoding="utf-8"))
    assert "totals" not in old["summary"]
    res = load_results(str(path))
    assert res.summary.totals.samples == len(old["samples"]) == 3
    assert res.summary.totals.errors == 1 and res.summary.passed is False
    judged = [a for r in res.samples for a in r.assertions if a.samples is not None]
    assert judged and all(a.reasonings is None for a in judged)
    assert not _errors(old)
    assert not _errors(res.to_dict())


def test_unknown_keys_survive_a_round_trip(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "results-0.1.0.json").read_text(encoding="utf-8"))
    doc["from_the_future"] = {"x": 1}
    doc["run"]["dirty"] = False
    doc["samples"][0]["trace_id"] = "abc"
    res = results_from_dict(doc)
    assert res.extra == {"from_the_future": {"x": 1}} and res.samples[0].extra == {"trace_id": "abc"}
    save_results(str(tmp_path / "r.json"), res)
    again = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert again["run"]["dirty"] is False and again["samples"][0]["trace_id"] == "abc"
    assert again["from_the_future"] == {"x": 1}


def test_from_dict_names_the_json_path(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "results-0.1.0.json").read_text(encoding="utf-8"))
    doc["samples"][2]["judge"]["errors"] = 5
    (tmp_path / "bad.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(PromptFileError) as info:
        load_results(str(tmp_path / "bad.json"))
    assert info.value.file == str(tmp_path / "bad.json")
    assert "samples[2].judge.errors: 5 judge errors exceed the" in info.value.message


def test_sample_record_builds_without_a_file() -> None:
    rec = SampleRecord(prompt="p", case_id="c", sample=0, status="pass")
    assert SampleRecord.from_dict(rec.to_dict(), "rec") == rec
