"""Golden outputs: the whole text and markdown users see from ``prompt diff``, ``eval run``, ``eval show``,
``eval gate`` and ``release list``, compared with ``tests/golden/*`` (NO_COLOR, 100 columns, TERM=dumb).

Everything runs for real: temporary git repositories with real commits and tags, litellm over HTTP to the
loopback server with scripted, request-determined answers. Only the volatile parts are scrubbed
(:class:`tests.support.golden.Scrubber`: temp paths, the server URL, commit SHAs, run ids, dates and the
measured latencies). ``pytest --update-goldens`` (or ``LLMOPS_UPDATE_GOLDENS=1``) rewrites the files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo, make_sample_project, run_cli
from tests.support import gateproj as gp
from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project
from tests.support.fakellm import FakeLLM, all_text
from tests.support.golden import (
    GOLDEN_ENV,
    GoldenMismatch,
    Scrubber,
    check_golden,
    scrub_latency_column,
    transcript,
    update_requested,
)


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """``golden(name, text)``: compare with (or, with the update flag, rewrite) ``tests/golden/<name>``."""
    update = update_requested(bool(request.config.getoption("--update-goldens")))

    def check(name: str, text: str) -> None:
        check_golden(name, text, update=update)

    return check


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    return run_cli(*args, cwd=cwd, env={**GOLDEN_ENV, **(env or {})})


# -- prompt diff -----------------------------------------------------------------------------------------------


def _diff_repo(repo: GitRepo) -> tuple[str, str]:
    """Two commits of the sample project; the second changes a prompt in every way the diff reports."""
    make_sample_project(repo.root)
    repo.write(
        "prompts/support/triage.prompt.yaml",
        """
        model: chat
        inputs:
          ticket: {type: string}
        output: text
        messages:
          - {role: user, content: "Triage: {{ ticket }}"}
        """,
    )
    base = repo.commit("base")
    prompt = repo.root / "prompts/support/answer.prompt.yaml"
    text = prompt.read_text()
    text = text.replace("params: {max_tokens: 300}", "params: {max_tokens: 500}")
    text = text.replace("  locale: {type: string, enum: [en, de], default: en}\n", "  locale: {type: string, enum: [en, de, fr], default: en}\n  customer: {type: string}\n")  # fmt: skip
    text = text.replace("Answer in {{ locale }} using only the context.", "Greet {{ customer }}. Answer in {{ locale }} using only the context.")  # fmt: skip
    prompt.write_text(text)
    repo.write("prompts/_partials/tone.j2", "You are friendly, concise and precise.\n")
    repo.remove("prompts/support/triage.prompt.yaml")
    repo.write(
        "prompts/support/summarize.prompt.yaml",
        """
        model: chat
        inputs:
          thread: {type: string}
        messages:
          - {role: user, content: "Summarize: {{ thread }}"}
        """,
    )
    head = repo.commit("head")
    return base, head


@pytest.mark.parametrize(("fmt", "name"), [("text", "prompt_diff.txt"), ("markdown", "prompt_diff.md")])
def test_prompt_diff_golden(tmp_git_repo: GitRepo, golden: Callable[[str, str], None], fmt: str, name: str) -> None:
    base, head = _diff_repo(tmp_git_repo)
    r = cli("prompt", "diff", base, head, "--format", fmt, cwd=tmp_git_repo.root)
    assert r.exit_code == 0, r.output
    scrub = Scrubber().add(str(tmp_git_repo.root), "<repo>").add_sha(base, "base").add_sha(head, "head")
    if fmt == "markdown":
        golden(name, scrub(r.stdout))
    else:
        golden(name, transcript(("prompt", "diff", "<base>", "<head>"), r.exit_code, scrub(r.stdout), scrub(r.stderr)))


# -- eval run / eval show ------------------------------------------------------------------------------------

EVAL_GOLDEN = """
cases:
  - id: refund
    vars: {question: How do refunds work?, context: [Refunds take 5 days.]}
    expected: Refunds take 5 days.
    assert:
      - {type: icontains, value: 5 days}
      - {type: judge, criteria: Answers the question, metric: helpfulness}
  - id: shipping
    vars: {question: Do you ship to Mars?}
    assert:
      - {type: icontains, value: "no"}
      - {type: judge, criteria: Answers the question, metric: helpfulness}
  - id: hours
    vars: {question: When are you open?}
    assert:
      - {type: regex, value: "\\\\d+ ?(am|pm)"}
      - {type: judge, criteria: Answers the question, metric: helpfulness}
"""


def _eval_responder(body: dict[str, Any]) -> str:
    """Answers determined by the request: the judge grades by keyword, the model answers per question."""
    text = all_text(body)
    if "GRADE" in text:
        answer = text.split("answer=", 1)[-1]
        score = 5 if "5 days" in answer else 4 if "9am" in answer else 2
        return json.dumps({"reasoning": "graded by keyword", "score": score})
    if "refunds" in text:
        return "Refunds take 5 days."
    if "Mars" in text:
        return "We ship to every planet."  # fails `icontains: no`
    return "We are open from 9am to 5pm."


@pytest.fixture
def eval_project(tmp_path: Path, fake_llm_factory: Callable[..., FakeLLM]) -> tuple[Path, FakeLLM]:
    server = fake_llm_factory(responder=_eval_responder)
    root = make_eval_project(tmp_path / "proj", server.url, golden=EVAL_GOLDEN)
    return root, server


def _eval_scrubber(root: Path, server: FakeLLM) -> Scrubber:
    return Scrubber().add(str(root), "<proj>").add(server.url, "<server>")


def test_eval_run_and_show_golden(eval_project: tuple[Path, FakeLLM], golden: Callable[[str, str], None]) -> None:
    root, server = eval_project
    env = {KEY_ENV: KEY_VALUE, "LLMOPS_CACHE_DIR": str(root / ".cache")}
    r = cli("eval", "run", "--quiet", "--out", "results.json", cwd=root, env=env)
    assert r.exit_code == 1, r.output  # `shipping` fails its assertion: the prompt is below its threshold
    assert server.count == 6  # three generations, three judge calls: no retries, nothing cached
    scrub = _eval_scrubber(root, server)
    run_id = re.search(r"\(run (\S+)\)", r.stderr)
    assert run_id, r.stderr
    scrub.add(run_id.group(1), "<run-id>")
    golden(
        "eval_run.txt",
        transcript(("eval", "run", "--quiet", "--out", "results.json"), r.exit_code,
                   scrub_latency_column(scrub(r.stdout)), scrub(r.stderr)),
    )  # fmt: skip

    shown = cli("eval", "show", "results.json", "--failed", cwd=root, env=env)
    assert shown.exit_code == 0, shown.output
    golden(
        "eval_show.txt",
        transcript(("eval", "show", "results.json", "--failed"), shown.exit_code,
                   scrub_latency_column(scrub(shown.stdout)), scrub(shown.stderr)),
    )  # fmt: skip
    # the summary table of `eval show` is the one `eval run` printed
    assert scrub_latency_column(r.stdout) in scrub_latency_column(shown.stdout)


# -- eval gate -----------------------------------------------------------------------------------------------


def test_eval_gate_golden(
    tmp_git_repo: GitRepo, fake_llm_factory: Callable[..., FakeLLM], golden: Callable[[str, str], None]
) -> None:
    repo = tmp_git_repo
    server = fake_llm_factory(responder=gp.responder)
    gp.make_repo(repo, server.url, n=12)
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer sloppily."))
    head = repo.commit("sloppy")
    summary = repo.root.parent / "step-summary.md"
    env = {
        gp.KEY_ENV: gp.KEY_VALUE,
        "LLMOPS_CACHE_DIR": str(repo.root.parent / "cache"),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    args = ("eval", "gate", "--base", "main", "--markdown", "gate.md")
    r = cli(*args, cwd=repo.root, env=env)
    assert r.exit_code == 1, r.output
    scrub = Scrubber().add(str(repo.root), "<repo>").add(server.url, "<server>")
    scrub.add_sha(base, "base").add_sha(head, "head")
    golden("eval_gate.txt", transcript(args, r.exit_code, scrub(r.stdout), scrub(r.stderr)))
    md = (repo.root / "gate.md").read_text(encoding="utf-8")
    golden("eval_gate.md", scrub(md))
    assert summary.read_text(encoding="utf-8") == md  # the step summary is the markdown report
    gate_json = json.loads((repo.root / ".llmops/gate/gate.json").read_text(encoding="utf-8"))
    assert gate_json["verdict"] == "FAIL"


# -- release list --------------------------------------------------------------------------------------------


def test_release_list_golden(tmp_git_repo: GitRepo, tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    repo = tmp_git_repo
    make_sample_project(repo.root)
    repo.write(
        "prompts/support/triage.prompt.yaml",
        'model: chat\ninputs: {ticket: {type: string}}\nmessages: [{role: user, content: "T: {{ ticket }}"}]\n',
    )
    first = repo.commit("sample project")
    assert cli("release", "create", "support/answer", "--allow-no-gate", cwd=repo.root).exit_code == 0
    assert cli("release", "create", "support/triage", "--first", "0.1.0", "--allow-no-gate", cwd=repo.root).exit_code == 0  # fmt: skip
    prompt = repo.root / "prompts/support/answer.prompt.yaml"
    prompt.write_text(prompt.read_text().replace("concise", "brief") + "tags: [support]\n")
    repo.write("prompts/_partials/tone.j2", "You are friendly and brief.\n")
    second = repo.commit("briefer")
    gate_file = tmp_path / "gate.json"
    gate_file.write_text(json.dumps({"run": {"git_sha": second}, "verdict": "PASS"}))
    assert cli("release", "record-gate", str(gate_file), cwd=repo.root).exit_code == 0
    created = cli("release", "create", "support/answer", cwd=repo.root)
    assert created.exit_code == 0, created.output
    for ref, channel in (("support/answer@1.0.0", "staging"), ("support/answer@1.0.1", "production")):
        assert cli("release", "promote", ref, "--to", channel, cwd=repo.root).exit_code == 0
    assert cli("release", "promote", "support/answer@1.0.0", "--to", "canary", cwd=repo.root).exit_code == 0
    r = cli("release", "list", cwd=repo.root)
    assert r.exit_code == 0, r.output
    scrub = Scrubber().add(str(repo.root), "<repo>").add_sha(first, "first").add_sha(second, "second")
    golden("release_list.txt", transcript(("release", "list"), r.exit_code, scrub(r.stdout), scrub(r.stderr)))


# -- the goldens can fail --------------------------------------------------------------------------------------


def test_a_changed_output_fails_with_a_unified_diff(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("NAME  VERSION\nsupport/answer  1.0.0\n", encoding="utf-8")
    check_golden("x.txt", "NAME  VERSION\nsupport/answer  1.0.0\n", directory=tmp_path)  # same: passes
    with pytest.raises(GoldenMismatch) as info:
        check_golden("x.txt", "NAME  VERSION\nsupport/answer  1.0.1\n", directory=tmp_path)
    msg = str(info.value)
    assert "-support/answer  1.0.0\n+support/answer  1.0.1" in msg and "--update-goldens" in msg
    with pytest.raises(GoldenMismatch, match="no golden file"):
        check_golden("missing.txt", "anything", directory=tmp_path)


def test_update_mode_rewrites_and_then_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.txt").write_text("old\n", encoding="utf-8")
    check_golden("x.txt", "new", update=True, directory=tmp_path)
    assert (tmp_path / "x.txt").read_text(encoding="utf-8") == "new\n"
    check_golden("x.txt", "new", directory=tmp_path)
    monkeypatch.delenv("LLMOPS_UPDATE_GOLDENS", raising=False)
    assert not update_requested(False)
    monkeypatch.setenv("LLMOPS_UPDATE_GOLDENS", "1")
    assert update_requested(False) and update_requested(True)


def test_every_golden_file_is_checked_by_a_test() -> None:
    """No stale golden files: each one under tests/golden is named in this module."""
    source = Path(__file__).read_text(encoding="utf-8")
    names = sorted(p.name for p in (Path(__file__).parent / "golden").iterdir())
    assert names, "tests/golden is empty"
    assert [n for n in names if f'"{n}"' not in source] == []


def test_scrubber_is_narrow() -> None:
    scrub = Scrubber().add("/tmp/x/repo", "<repo>").add_sha("0123456789abcdef0123456789abcdef01234567", "base")
    text = "in /tmp/x/repo at 0123456789ab (0123456) on 2026-11-27T19:49:21+00:00, 42 cases, sha 0123456789abcdef9"
    assert scrub(text) == "in <repo> at <base:12>... (<base:7>) on <date>..................., 42 cases, sha 0123456789abcdef9"  # fmt: skip
    table = "PROMPT          P50/P95 MS  METRICS\nsupport/answer  12/340      judge 4.00\nother           —/—         —\n✓ passed"
    assert scrub_latency_column(table).splitlines() == [
        "PROMPT          P50/P95 MS  METRICS",
        "support/answer  <ms>/<ms>   judge 4.00",
        "other           —/—         —",
        "✓ passed",
    ]
    misaligned = table.replace("PROMPT          ", "PROMPT  ", 1)
    assert scrub_latency_column(misaligned) == misaligned  # only the cells under the header are touched
