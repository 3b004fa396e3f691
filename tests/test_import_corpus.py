"""The importer fixture corpus: ≥ 90% import without error, every import lints clean, unmapped constructs
are reported, and ``eval run`` completes on each imported project against the loopback server."""

# ruff: noqa: F811  (pytest fixtures imported by name)

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fakellm import FakeLLM
from tests.support.fixtures import fake_llm  # noqa: F401
from tests.support.importcorpus import KEY_ENV, expectation, fixtures, reply, run_fixture

FIXTURES = fixtures()


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-fake-corpus-0123456789")
    monkeypatch.delenv("LLMOPS_CACHE_DIR", raising=False)


def test_corpus_is_large_and_mostly_importable(tmp_path: Path) -> None:
    assert len(FIXTURES) >= 30
    formats = {expectation(f)["format"] for f in FIXTURES}
    assert formats == {"promptfoo", "gh-models", "prompty"}
    outcomes = [run_fixture(f, tmp_path, None, evaluate=False) for f in FIXTURES]
    ok = sum(o.imported for o in outcomes)
    assert ok / len(outcomes) >= 0.9, [(o.name, o.error) for o in outcomes if not o.imported]
    # the ones that fail are exactly the ones expected to, with file:line
    for fx, o in zip(FIXTURES, outcomes, strict=True):
        assert o.imported != bool(expectation(fx).get("error")), (o.name, o.error)
        if not o.imported:
            assert o.error and ":" in o.error.split(" ", 1)[0], o.error


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_imports_lints_and_evaluates(fixture: Path, tmp_path: Path, fake_llm: FakeLLM) -> None:
    exp = expectation(fixture)
    fake_llm.responder = reply
    outcome = run_fixture(fixture, tmp_path, fake_llm.url)
    if exp.get("error"):
        assert not outcome.imported and outcome.error
        return
    assert outcome.imported, outcome.error
    assert outcome.lint_errors == []
    for construct in exp.get("unmapped", []):
        assert any(construct in u for u in outcome.unmapped), (construct, outcome.unmapped)
    assert outcome.eval_ok, outcome.eval_detail
    assert bool(outcome.stubs) == bool(exp.get("stub")), outcome.stubs
    if outcome.stubs:
        assert outcome.stub_refused, "eval run must refuse an import stub with exit 2"
    if "cases" in exp:
        assert outcome.cases == exp["cases"], outcome.cases
    golden = list((tmp_path / fixture.name / "evals").rglob("*.yaml"))
    if golden and len(golden) > len(outcome.stubs):  # a golden set of a real prompt was evaluated
        assert outcome.samples > 0
