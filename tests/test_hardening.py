"""Hardening guarantees that need more than one CLI call: git objects, JUnit, RE2, the scaffold, the library."""

from __future__ import annotations

import json
import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.conftest import GitRepo, run_cli

ROOT = Path(__file__).resolve().parent.parent
CANARY = "CANARY-HARDENING"
CONFIG = f"# {CANARY}\nmodels:\n  chat: {{model: openai/gpt-4o-mini-2024-07-18}}\n"


def _prompt(message: str) -> str:
    return f"model: chat\nmessages:\n{message}"


# -- git objects: a symlink blob is refused; `..`, absolute paths and .git are refused at any ref ----------------
GIT_CASES = {
    "template-symlink-to-config": ({"prompts/t.j2": "../llmops.yaml"}, "  - role: user\n    template: t.j2\n", {}),
    "template-symlink-to-git-config": ({"prompts/t.j2": "../.git/config"}, "  - role: user\n    template: t.j2\n", {}),
    "template-symlink-absolute": ({"prompts/t.j2": "/etc/passwd"}, "  - role: user\n    template: t.j2\n", {}),
    "template-symlink-inside": ({"prompts/t.j2": "other.j2"}, "  - role: user\n    template: t.j2\n", {}),
    "partial-symlink-to-config": (
        {"prompts/_partials/x.j2": "../../llmops.yaml"},
        "  - role: user\n    content: \"{% include 'x.j2' %}\"\n",
        {},
    ),
    "template-dotdot": ({}, "  - role: user\n    template: ../llmops.yaml\n", {}),
    "template-dotgit": ({}, "  - role: user\n    template: .git/config\n", {"prompts/.git/config": CANARY}),
    "include-dotdot": ({}, "  - role: user\n    content: \"{% include '../../llmops.yaml' %}\"\n", {}),
}


@pytest.mark.parametrize("case", sorted(GIT_CASES), ids=str)
def test_git_objects_refuse_symlinks_and_escapes(tmp_git_repo: GitRepo, case: str) -> None:
    from llmops_cli.errors import TemplatePathError
    from llmops_cli.project import Project

    links, message, extra = GIT_CASES[case]
    repo = tmp_git_repo
    repo.write("llmops.yaml", CONFIG)
    repo.write("prompts/p.prompt.yaml", _prompt("  - role: user\n    content: hello\n"))
    repo.write("prompts/other.j2", "other\n")
    repo.commit("base")
    repo.write("prompts/p.prompt.yaml", _prompt(message))
    for rel, text in extra.items():
        repo.write(rel, text)
    for rel, target in links.items():
        path = repo.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
    repo.commit("head")
    # the working tree no longer matches: only git objects are read below
    with pytest.raises(TemplatePathError) as err:
        Project.at_ref("HEAD", repo.root).load("p")
    assert err.value.file and err.value.exit_code == 2
    t0 = time.monotonic()
    r = run_cli("prompt", "diff", "HEAD~1", "HEAD", "--rendered", "--format", "markdown", cwd=repo.root)
    assert time.monotonic() - t0 < 10
    assert "Traceback" not in r.output and CANARY not in r.output and "root:" not in r.output
    assert "error" in r.stdout and ("symbolic link" in r.stdout or "must" in r.stdout), r.stdout


def test_working_tree_symlink_inside_prompts_is_allowed(tmp_path: Path) -> None:
    """Confinement is about where a link resolves: a link to a regular file inside prompts/ still renders."""
    (tmp_path / "prompts").mkdir()
    (tmp_path / "llmops.yaml").write_text(CONFIG)
    (tmp_path / "prompts/real.j2").write_text("real text\n")
    os.symlink("real.j2", tmp_path / "prompts/t.j2")
    (tmp_path / "prompts/p.prompt.yaml").write_text(_prompt("  - role: user\n    template: t.j2\n"))
    r = run_cli("prompt", "render", "p", cwd=tmp_path)
    assert r.exit_code == 0 and "real text" in r.stdout, r.output


def test_lint_reports_template_path_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "llmops.yaml").write_text(CONFIG)
    (tmp_path / "prompts/p.prompt.yaml").write_text(_prompt("  - role: user\n    template: ../llmops.yaml\n"))
    r = run_cli("prompt", "lint", "--json", cwd=tmp_path)
    assert r.exit_code == 1
    finding = json.loads(r.stdout)["findings"][0]
    assert finding["code"] == "template-path"
    assert finding["file"] == "prompts/p.prompt.yaml" and finding["line"] == 4
    assert CANARY not in r.output


# -- JUnit: a case id with control characters never writes invalid XML ------------------------------------------
@pytest.mark.parametrize("case_id", ["c\x01", "c\x1b[31mred", "c\x00nul", "a\ufffeb", "tab\tok", "<x>&'\""])
def test_junit_is_valid_xml_whatever_the_case_id(case_id: str) -> None:
    from llmops_cli.evals.report import junit_xml
    from llmops_cli.evals.summary import summarize
    from llmops_cli.records.results import AssertionRecord, EvalResults, RunInfo, SampleRecord

    # built directly, unvalidated (model_construct): a results file with such names is refused on load (and
    # the records refuse them when built), and JUnit must still never write invalid XML if one got through
    bad = AssertionRecord.model_construct(metric="contains\x03", passed=False, reason="no \x07 bell", score=None)
    rec = SampleRecord.model_construct(
        prompt="p\x02", case_id=case_id, sample=0, status="fail", latency_ms=1, assertions=[bad]
    )
    summary = summarize({}, [SampleRecord(prompt="p", case_id="c", sample=0, status="fail")])
    summary.prompts = {"p\x02": summary.prompts["p"]}
    results = EvalResults.model_construct(run=RunInfo(repeat=1), prompts={}, summary=summary, samples=[rec])
    xml = junit_xml(results)
    tree = ET.fromstring(xml.encode("utf-8"))  # raises on invalid XML
    names = [tc.get("name") for tc in tree.iter("testcase")]
    assert len(names) == 1 and names[0]


# -- regex assertions run in RE2: linear time, no catastrophic backtracking -------------------------------------
@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("^(a+)+$", "a" * 34 + "!"),
        ("(a|aa)+$", "a" * 5000 + "b"),
        ("(.*a){20}", "a" * 30),
        ("^(\\w+\\s?)*$", "x " * 5000 + "!"),
    ],
)
def test_regex_assertion_is_linear_time(pattern: str, text: str) -> None:
    from llmops_cli.evals.assertions import compile_regex

    t0 = time.monotonic()
    compile_regex(pattern).search(text)
    assert time.monotonic() - t0 < 0.5


@pytest.mark.parametrize("pattern", ["(a)\\1", "(?=x)a", "(?<!x)a", "x{1000}{1000}", "a" * 20_000])
def test_regex_outside_re2_is_a_golden_set_error(pattern: str) -> None:
    from llmops_cli.errors import PromptFileError
    from llmops_cli.evals.assertions import parse_assertions

    with pytest.raises(PromptFileError, match="regular expression"):
        parse_assertions([{"type": "regex", "value": pattern}], file="evals/p.yaml", line=3, where="case c1")


# -- the library: load_prompt(version="") is an error, not "latest" ---------------------------------------------
@pytest.mark.parametrize("version", ["", "   "])
def test_load_prompt_empty_version_is_an_error(sample_project: Path, version: str) -> None:
    from llmops_cli import load_prompt
    from llmops_cli.errors import UserError

    with pytest.raises(UserError, match="version"):
        load_prompt("support/answer", version=version, root=sample_project)


# -- scaffold supply chain -------------------------------------------------------------------------------------
WORKFLOWS = [
    ROOT / ".github/workflows/llmops-pr.yml",
    ROOT / ".github/workflows/release.yml",
    ROOT / "llmops_cli/scaffold/dot-github/workflows/llmops-pr.yml",
]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflows_check_out_without_persisted_credentials(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    checkouts = [
        s
        for job in data["jobs"].values()
        for s in job["steps"]
        if str(s.get("uses", "")).startswith("actions/checkout")
    ]
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)
    text = path.read_text()
    assert "pip install llmops-cli" not in text and not re.search(r"pip install [^\n]*llmops-cli(?![\w@ ]*@)", text)


def test_init_writes_a_pinned_source_and_the_schema(tmp_path: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    r = run_cli("init", str(tmp_path / "p"), "--llmops-source", f"git+https://git.example.org/me/llmops@{commit}")
    assert r.exit_code == 0, r.output
    req = (tmp_path / "p/.github/llmops-requirements.txt").read_text()
    lines = [ln for ln in req.splitlines() if ln and not ln.startswith("#")]
    assert lines == [f"llmops-cli @ git+https://git.example.org/me/llmops@{commit}"]
    schema = json.loads((tmp_path / "p/schemas/prompt.schema.json").read_text())
    assert schema["title"] == "llmops prompt file"
    prompt = (tmp_path / "p/prompts/faq/answer.prompt.yaml").read_text()
    assert "$schema=../../schemas/prompt.schema.json" in prompt
    assert (tmp_path / "p" / "prompts/faq" / "../../schemas/prompt.schema.json").resolve().is_file()


def test_init_accepts_a_hashed_wheel_and_a_hash_pinned_lock(tmp_path: Path) -> None:
    digest = "a" * 64
    wheel = f"https://files.example.org/llmops_cli-0.1.0-py3-none-any.whl#sha256={digest}"
    assert run_cli("init", str(tmp_path / "w"), "--llmops-source", wheel).exit_code == 0
    assert f"llmops-cli @ {wheel}" in (tmp_path / "w/.github/llmops-requirements.txt").read_text()
    lock = tmp_path / "lock.txt"
    lock.write_text(f"llmops-cli==0.1.0 \\\n    --hash=sha256:{digest}\npyyaml==6.0.3 --hash=sha256:{'b' * 64}\n")
    r = run_cli("init", str(tmp_path / "l"), "--llmops-source", str(lock))
    assert r.exit_code == 0, r.output
    assert f"llmops-cli==0.1.0 --hash=sha256:{digest}" in (tmp_path / "l/.github/llmops-requirements.txt").read_text()


@pytest.mark.parametrize(
    "source",
    [
        "llmops-cli",
        "llmops-cli>=0.1",
        "llmops-cli==0.1.0",
        "git+https://git.example.org/me/llmops",
        "git+https://git.example.org/me/llmops@main",
        "git+https://git.example.org/me/llmops@v0.1.0",
        "git+https://git.example.org/me/llmops@0123456",
        "git+http://git.example.org/me/llmops@0123456789abcdef0123456789abcdef01234567",
        "https://files.example.org/llmops_cli-0.1.0-py3-none-any.whl",
        "https://files.example.org/llmops_cli-0.1.0-py3-none-any.whl#md5=abc",
        "",
    ],
)
def test_init_refuses_an_unpinned_source(tmp_path: Path, source: str) -> None:
    r = run_cli("init", str(tmp_path / "p"), "--llmops-source", source)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error:") and "Traceback" not in r.output
    assert not (tmp_path / "p/.github").exists()  # refused before anything was written


def test_init_refuses_a_lock_with_an_unhashed_line(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text(f"llmops-cli==0.1.0 --hash=sha256:{'a' * 64}\nrequests\n")
    r = run_cli("init", str(tmp_path / "p"), "--llmops-source", str(lock))
    assert r.exit_code == 2 and "requests" in r.stderr


def test_init_without_a_known_source_writes_no_requirement(tmp_path: Path) -> None:
    from llmops_cli.scaffolding import requirements_text

    text = requirements_text(None)
    assert [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")] == []


def test_no_reference_to_domains_the_project_does_not_own() -> None:
    """The scaffold names only files it writes and this project's README; no llmops.dev, no github.com/llmops."""
    hits = []
    for path in ROOT.rglob("*"):
        if any(
            part in {".git", ".venv", "__pycache__", ".llmops"} or part.endswith(".egg-info") for part in path.parts
        ):
            continue
        if path.is_file() and path.suffix in {".py", ".md", ".yml", ".yaml", ".json", ".j2", ".toml", ".txt"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            if path.name == Path(__file__).name:
                continue
            for needle in ("llmops.dev", "github.com/llmops"):
                if needle in text:
                    hits.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not hits, hits


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "[1, NaN]", "1e999"])
def test_non_finite_command_line_numbers_are_refused(sample_project: Path, value: str) -> None:
    (sample_project / "prompts/n.prompt.yaml").write_text(
        "model: chat\ninputs:\n  n: {type: number}\n  l: {type: array, default: []}\n"
        "messages: [{role: user, content: '{{ n }} {{ l }}'}]\n"
    )
    name = "l" if value.startswith("[") else "n"
    r = run_cli("prompt", "render", "n", "--var", "n=1", "--var", f"{name}={value}", cwd=sample_project)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error:") and "nan" not in r.stdout.lower() and "inf" not in r.stdout.lower()


def test_error_line_lookup_never_expands_an_alias_bomb() -> None:
    """The line map used for error messages composes only checked YAML and visits a shared node once."""
    from llmops_cli.yamlio import LineMap
    from tests.test_hostile_inputs import BOMB

    t0 = time.monotonic()
    lines = LineMap("root:\n" + BOMB + "\n")
    assert lines.line(("root", "i", 3)) in (None, 10)
    deep = LineMap("a: " + "[" * 200_000 + "]" * 200_000 + "\n")  # would crash libyaml's recursive composer
    assert deep.line(("a",)) is None
    assert time.monotonic() - t0 < 2
