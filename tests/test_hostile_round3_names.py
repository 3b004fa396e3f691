"""Hostile names and write paths, round three (issue #28, findings 8 and 9).

* Names are validated where they are declared — metrics, clusters, tags, case ids (golden sets), tags and
  models (prompt files), model aliases, gate overrides and the judge prompt (``llmops.yaml``), names in
  imported files — with the one rule the results file is written with (:func:`llmops_cli.limits.label_problem`):
  ESC, U+2028, U+0085, zero-width and bidi characters or more than 200 characters are refused at lint and
  load, so ``eval run`` refuses before the first call (exit 2) instead of paying and then exiting 3.
* Channels may not look like versions (``v1``, ``v1.0.1``, ``v1.x``, ``x``); ``key=''`` is no canary key.
* Every file a model-calling command writes is checked before the first call (exit 2, zero calls).
* A 5,000-digit version or ``max_tokens`` is refused (exit 2), not an ``int()`` crash.
* An imported config never copies a dotfile or a key-looking file into a prompt.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from llmops_cli.config import parse_config
from llmops_cli.errors import ConfigError, PromptFileError, UsageError
from llmops_cli.goldens import parse_golden
from llmops_cli.limits import label_problem, name_problem
from llmops_cli.project import parse_prompt_text
from llmops_cli.records.results_types import CaseId, ClusterName, MetricName, PromptName
from llmops_cli.releases import canary
from llmops_cli.releases.channels import channel_problem, check_channel
from llmops_cli.sources import check_outputs, output_problem
from llmops_cli.versions import looks_like_spec, parse_spec, parse_version
from tests.conftest import GitRepo, write
from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project
from tests.support.fakellm import FakeLLM
from tests.test_importers import do_import

REPO_ROOT = Path(__file__).resolve().parent.parent

HOSTILE_CHARS = {
    "ESC": "\x1b",
    "ESC sequence": "\x1b[31m",
    "NUL": "\x00",
    "U+2028": "\u2028",
    "U+2029": "\u2029",
    "U+0085": "\x85",
    "DEL": "\x7f",
    "CR": "\r",
    "tab": "\t",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "RTL override": "\u202e",
    "BOM": "\ufeff",
    "soft hyphen": "\xad",
    "no-break space": "\xa0",
    "ideographic space": "\u3000",
    "word joiner": "\u2060",
}
HOSTILE_NAMES = {
    **{label: f"bad{ch}name" for label, ch in HOSTILE_CHARS.items()},
    "201 chars": "m" * 201,
    "10,000 chars": "x" * 10_000,
}
BENIGN_NAMES = [
    "accuracy",
    "answer relevance",
    "Genauigkeit-ä",
    "正確さ",
    "métrique.1",
    "score/2",
    "emoji 🙂",
    "a" * 200,
]


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str]:
    full = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "NO_COLOR": "1", KEY_ENV: KEY_VALUE, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_cli", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout
    )
    return proc.returncode, proc.stdout + proc.stderr


def _yaml_str(value: str) -> str:
    """A YAML double-quoted scalar of ``value`` (every character escaped as YAML reads it back)."""

    def esc(c: str) -> str:
        if c in '"\\':
            return "\\" + c
        if c.isprintable():
            return c
        return f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"

    return '"' + "".join(esc(c) for c in value) + '"'


# -- one rule: declared == written --------------------------------------------------------------------------
@pytest.mark.parametrize("label", sorted(HOSTILE_NAMES))
def test_the_rule_refuses_what_the_results_model_refuses(label: str) -> None:
    name = HOSTILE_NAMES[label]
    assert label_problem(name, "metric") is not None
    for kind in (MetricName, ClusterName, PromptName, CaseId):  # the results records' name types
        with pytest.raises(ValidationError):
            TypeAdapter(kind).validate_python(name)


@pytest.mark.parametrize("name", BENIGN_NAMES)
def test_benign_names_pass_everywhere(name: str) -> None:
    assert label_problem(name) is None
    assert TypeAdapter(MetricName).validate_python(name) == name
    gs = parse_golden(_golden(metric=name, cluster=name, tag=name), "g.yaml", "p")
    assert gs.cases[0].cluster == name and gs.cases[0].tags == [name]


def test_messages_show_the_code_point_not_the_character() -> None:
    problem = label_problem("a\x1b[2Jb", "metric") or ""
    assert "U+001B" in problem and "\x1b" not in problem
    assert "\u2028" not in (label_problem("a\u2028b") or "") and "U+2028" in (label_problem("a\u2028b") or "")


def test_name_problem_keeps_its_path_rules() -> None:
    assert name_problem("a/../b") and name_problem("/abs") and name_problem("a\\b") and name_problem("")
    assert name_problem("support/answer") is None
    assert "U+200B" in (name_problem("support/\u200banswer") or "")


# -- golden sets ---------------------------------------------------------------------------------------------
def _golden(
    *, metric: str = "acc", cluster: str = "c", tag: str = "t", case_id: str = "a", default: bool = False
) -> str:
    assertion = f"{{type: icontains, value: fake, metric: {_yaml_str(metric)}}}"
    head = f"defaults:\n  assert: [{assertion}]\n" if default else ""
    own = "[]" if default else f"[{assertion}]"
    return (
        f"{head}cases:\n  - id: {_yaml_str(case_id)}\n    vars: {{question: hi}}\n"
        f"    cluster: {_yaml_str(cluster)}\n    tags: [{_yaml_str(tag)}]\n    assert: {own}\n"
    )


@pytest.mark.parametrize("label", sorted(HOSTILE_NAMES))
@pytest.mark.parametrize("where", ["metric", "default metric", "cluster", "tag", "case_id"])
def test_golden_set_refuses_the_name_where_it_is_declared(label: str, where: str) -> None:
    name = HOSTILE_NAMES[label]
    kw: dict[str, Any] = {"default": True, "metric": name} if where == "default metric" else {where: name}
    with pytest.raises(PromptFileError) as exc:
        parse_golden(_golden(**kw), "evals/p.yaml", "p")
    assert exc.value.file == "evals/p.yaml" and exc.value.line is not None
    assert "\x1b" not in str(exc.value) and "\u2028" not in str(exc.value)


@pytest.mark.parametrize("label", ["ESC", "201 chars", "U+0085"])
def test_golden_set_jsonl_refuses_the_name(label: str) -> None:
    case = {"id": "a", "cluster": HOSTILE_NAMES[label], "assert": [{"type": "icontains", "value": "x"}]}
    with pytest.raises(PromptFileError) as exc:
        parse_golden(json.dumps(case) + "\n", "evals/p.jsonl", "p")
    assert exc.value.line == 1


@pytest.mark.parametrize(
    ("where", "label"),
    [("metric", "ESC"), ("metric", "U+2028"), ("metric", "U+0085"), ("metric", "201 chars"), ("cluster", "ESC"),
     ("tag", "RTL override"), ("default metric", "zero-width space")],
)  # fmt: skip
def test_eval_run_refuses_before_any_call_and_lint_reports_it(
    tmp_path: Path, fake_llm: FakeLLM, where: str, label: str
) -> None:
    """Before: lint passed and ``eval run`` made every call, then exited 3 writing the results file."""
    name = HOSTILE_NAMES[label]
    kw: dict[str, Any] = {"default": True, "metric": name} if where == "default metric" else {where: name}
    root = make_eval_project(tmp_path / "p", fake_llm.url, golden=_golden(**kw))
    code, out = _cli("prompt", "lint", "support/answer", cwd=root)
    assert code == 1 and "evals/support/answer.yaml" in out, out
    code, out = _cli("eval", "run", "-q", cwd=root)
    assert code == 2, out
    assert fake_llm.count == 0
    assert "internal error" not in out and "\x1b" not in out


# -- prompt files and llmops.yaml ----------------------------------------------------------------------------
PROMPT = "model: {model}\ntags: [{tag}]\nmessages:\n  - {{role: user, content: hi}}\n"


@pytest.mark.parametrize("label", ["ESC", "U+2028", "BOM", "201 chars"])
@pytest.mark.parametrize("where", ["tag", "model"])
def test_prompt_file_refuses_hostile_tags_and_models(label: str, where: str) -> None:
    values = {"model": _yaml_str("openai/gpt-4o-2024-08-06"), "tag": _yaml_str("ok")}
    values[where] = _yaml_str(HOSTILE_NAMES[label])
    with pytest.raises(PromptFileError) as exc:
        parse_prompt_text(PROMPT.format(**values), "prompts/p.prompt.yaml")
    assert exc.value.line == (2 if where == "tag" else 1)


@pytest.mark.parametrize(
    "config",
    [
        "models:\n  {name}: {{model: openai/x}}\n",
        "models:\n  chat: {{model: {name}}}\n",
        "models:\n  chat: {{model: openai/x, offline: {name}}}\n",
        "gate:\n  overrides:\n    {name}: {{practical: 0.1}}\n",
        "judge: {{prompt: {name}}}\n",
        "judge: {{model: {name}}}\n",
    ],
)
@pytest.mark.parametrize("label", ["ESC", "U+0085", "zero-width space", "201 chars"])
def test_llmops_yaml_refuses_hostile_names(config: str, label: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(config.format(name=_yaml_str(HOSTILE_NAMES[label])))
    assert exc.value.line is not None


def test_llmops_yaml_gate_override_with_a_bad_prompt_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        parse_config("gate:\n  overrides:\n    ../escape: {practical: 0.1}\n")
    assert parse_config("gate:\n  overrides:\n    support/answer: {practical: 0.1}\n").gate.overrides


def test_hostile_tag_in_a_prompt_file_is_exit_2_at_render_and_an_error_at_lint(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root, "llmops.yaml", "models: {}\n")
    write(root, "prompts/p.prompt.yaml", PROMPT.format(model="openai/gpt-4o-2024-08-06", tag='"x\\e[2Jy"'))
    code, out = _cli("prompt", "render", "p", cwd=root)
    assert code == 2 and "prompts/p.prompt.yaml:2" in out and "\x1b" not in out, out
    code, out = _cli("prompt", "lint", cwd=root)
    assert code == 1 and "U+001B" in out and "\x1b" not in out, out


# -- imports -------------------------------------------------------------------------------------------------
def test_gh_models_name_with_esc_is_exit_2(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src, "a.prompt.yml", 'name: "bad\\e[31mname"\nmodel: gpt-4.1-nano\nmessages:\n  - {role: user, content: hi}\n'
    )
    code, out = _cli("import", "gh-models", "a.prompt.yml", "--out", str(tmp_path / "out"), cwd=src)
    assert code == 2 and "a.prompt.yml:1" in out and "\x1b" not in out, out
    assert not (tmp_path / "out" / "prompts").exists()


@pytest.mark.parametrize("label", ["ESC", "U+2028", "201 chars"])
def test_prompty_name_with_hostile_characters_is_refused(tmp_path: Path, label: str) -> None:
    src = tmp_path / "src"
    body = f"---\nname: {_yaml_str(HOSTILE_NAMES[label])}\nmodel:\n  api: chat\n---\nuser:\nhi\n"
    write(src, "a.prompty", body)
    with pytest.raises(PromptFileError) as exc:
        do_import(src, "prompty", ["a.prompty"], tmp_path / "out")
    assert exc.value.file == "a.prompty"


@pytest.mark.parametrize("label", ["ESC", "U+0085", "201 chars"])
def test_promptfoo_tags_with_hostile_characters_are_exit_2_not_3(tmp_path: Path, label: str) -> None:
    src = tmp_path / "src"
    tag = _yaml_str(HOSTILE_NAMES[label])
    write(src, "promptfooconfig.yaml", f'prompts: ["hi"]\nproviders: [openai:gpt-4o-2024-08-06]\ntags: [{tag}]\n')
    code, out = _cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(tmp_path / "out"), cwd=src)
    assert code == 2 and "internal error" not in out, out


def test_imported_metric_with_esc_is_not_imported_and_never_exit_3(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        'prompts: ["hi {{q}}"]\nproviders: [openai:gpt-4o-2024-08-06]\n'
        'tests:\n  - vars: {q: x}\n    assert: [{type: contains, value: x, metric: "m\\ex"}]\n',
    )
    code, out = _cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(tmp_path / "out"), cwd=src)
    assert code == 0, out
    files = list((tmp_path / "out").rglob("*.yaml"))
    assert files
    for f in files:
        assert "\x1b" not in json.dumps(yaml.safe_load(f.read_text()), ensure_ascii=False)


# -- channels and canary keys ---------------------------------------------------------------------------------
VERSION_LIKE = ["v1", "v1.0.1", "v1.x", "v1.2", "v2.0.0-rc.1", "V1", "V2.x", "x", "X", "v0", "v10.x.x", "latest"]
CHANNEL_OK = ["production", "staging", "vnext", "v-next", "version1", "canary-1", "x1", "prod.eu", "Xmas"]


@pytest.mark.parametrize("channel", [*VERSION_LIKE, "1.2", "^1", "~1.2", ">=1", "*", "1.x", ""])
def test_channels_may_not_look_like_versions(channel: str) -> None:
    assert channel_problem(channel) is not None
    with pytest.raises(UsageError):
        check_channel(channel)


@pytest.mark.parametrize("channel", CHANNEL_OK)
def test_ordinary_channels_are_fine_and_load_as_channels(channel: str) -> None:
    assert channel_problem(channel) is None
    assert not looks_like_spec(channel)


def test_x_is_a_range_not_a_channel() -> None:
    assert looks_like_spec("x") and parse_spec("x").comparators == ()


@pytest.fixture
def released(tmp_git_repo: GitRepo) -> GitRepo:
    from llmops_cli.releases.create import create_release
    from tests.conftest import make_sample_project

    make_sample_project(tmp_git_repo.root)
    tmp_git_repo.commit("sample project")
    create_release("support/answer", root=tmp_git_repo.root, allow_no_gate=True)
    return tmp_git_repo


@pytest.mark.parametrize("channel", ["v1", "v1.0.1", "v1.x", "1.2", "x"])
def test_release_promote_refuses_a_version_like_channel(released: GitRepo, channel: str) -> None:
    code, out = _cli("release", "promote", "support/answer@1.0.0", "--to", channel, cwd=released.root)
    assert code == 2, out
    assert "refs/llmops/channels" not in released.git("for-each-ref", "refs/llmops")


def test_promoted_channel_loads(released: GitRepo) -> None:
    code, out = _cli("release", "promote", "support/answer@1.0.0", "--to", "vnext", cwd=released.root)
    assert code == 0, out
    from llmops_cli.releases.loader import clear_cache, load_prompt

    clear_cache()
    assert load_prompt("support/answer", "vnext", root=released.root).version == "1.0.0"


def test_empty_key_is_no_key() -> None:
    for percent in (1.0, 50.0, 99.9):
        assert canary.arm_for("p", "production", "", percent) == canary.STABLE
    # at 99.9% the empty key's hash bucket is on the canary: only the rule keeps it on stable
    assert canary.bucket("p", "production", "") < canary.threshold(99.9)


def test_load_prompt_with_empty_key_gets_the_stable_arm(released: GitRepo) -> None:
    from llmops_cli.releases.canary_moves import change_canary
    from llmops_cli.releases.create import create_release, promote
    from llmops_cli.releases.loader import clear_cache, load_prompt

    root = released.root
    p = root / "prompts/support/answer.prompt.yaml"
    p.write_text(p.read_text().replace("Answer in", "Reply in", 1))
    released.commit("reword")
    create_release("support/answer", root=root, allow_no_gate=True)
    promote("support/answer@1.0.0", "production", root=root)
    change_canary("support/answer@1.0.1", "production", percent="99.9", root=root)
    clear_cache()
    assert load_prompt("support/answer", "production", root=root, key="").arm == canary.STABLE
    assert load_prompt("support/answer", "production", root=root, key=None).arm == canary.STABLE
    assert {load_prompt("support/answer", "production", root=root, key=f"u{i}").arm for i in range(20)} == {
        canary.CANARY
    }


# -- bounded numbers ------------------------------------------------------------------------------------------
BIG = "9" * 5000


@pytest.mark.parametrize(
    "text", [f"1.0.{BIG}", f"{BIG}.0.0", f"^1.{BIG}", f">={BIG}", f"~{BIG}", f"1.0.0-{BIG}", "1." * 200 + "0"]
)
def test_huge_versions_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_spec(text)
    with pytest.raises(UsageError):
        parse_version(text)


def test_ordinary_versions_still_parse() -> None:
    assert str(parse_version("123456789012345678.0.1")) == "123456789012345678.0.1"
    assert str(parse_version("1.0.0+20261207195300123456789")) == "1.0.0+20261207195300123456789"


def test_huge_version_through_load_prompt_and_cli(released: GitRepo) -> None:
    from llmops_cli.releases.loader import load_prompt

    for spec in (f"1.0.{BIG}", f"^{BIG}"):
        with pytest.raises(UsageError):
            load_prompt("support/answer", spec, root=released.root)
    for args in (["release", "promote", f"support/answer@1.0.{BIG}", "--to", "prod"],
                 ["release", "create", "support/answer", "--first", f"1.0.{BIG}", "--allow-no-gate"],
                 ["release", "show", f"support/answer@^1.{BIG}"]):  # fmt: skip
        code, out = _cli(*args, cwd=released.root)
        assert code == 2 and "internal error" not in out, (args[:2], out[-300:])


@pytest.mark.parametrize(
    ("rel", "text"),
    [
        ("prompts/p.prompt.yaml", f"model: openai/gpt-4o-2024-08-06\nparams: {{max_tokens: {BIG}}}\nmessages: []\n"),
        ("prompts/p.prompt.yaml", f"model: openai/gpt-4o-2024-08-06\nparams: {{seed: -{BIG}}}\nmessages: []\n"),
        ("prompts/p.prompt.yaml", f"model: openai/gpt-4o-2024-08-06\nparams: {{seed: 0x{'f' * 5000}}}\nmessages: []\n"),
        ("prompts/p.prompt.yaml", f"model: openai/gpt-4o-2024-08-06\nparams: {{seed: !!int '{BIG}'}}\nmessages: []\n"),
        ("llmops.yaml", f"models:\n  chat: {{model: openai/x, budgets: {{text: {BIG}}}}}\n"),
        ("llmops.yaml", f"concurrency: {BIG}\n"),
    ],
)
def test_huge_integers_in_yaml_are_exit_2(tmp_path: Path, rel: str, text: str) -> None:
    root = tmp_path / "proj"
    write(root, "llmops.yaml", "models: {}\n")
    write(root, "prompts/q.prompt.yaml", "model: openai/gpt-4o-2024-08-06\nmessages:\n  - {role: user, content: hi}\n")
    (root / rel).write_text(text, encoding="utf-8")
    code, out = _cli("prompt", "render", "p" if rel.startswith("prompts") else "q", cwd=root)
    assert code == 2 and "internal error" not in out and "digits" in out, out


def test_huge_integer_in_a_golden_set_is_refused() -> None:
    with pytest.raises(PromptFileError):
        parse_golden(f"cases:\n  - id: a\n    vars: {{n: {BIG}}}\n", "g.yaml", "p")


# -- output paths: checked before paying -------------------------------------------------------------------
@pytest.fixture
def eval_project(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    golden = "cases:\n  - id: a\n    vars: {question: hi}\n    assert: [{type: icontains, value: fake}]\n"
    root = make_eval_project(tmp_path / "p", fake_llm.url, golden=golden)
    (root / "afile").write_text("x")
    (root / "adir").mkdir()
    os.mkfifo(root / "fifo")
    return root


@pytest.mark.parametrize(
    "args",
    [
        ["--out", "afile/results.json"],
        ["--out", "afile/deeper/results.json"],
        ["--junit", "afile/junit.xml"],
        ["--junit", "/proc/junit.xml"],
        ["--out", "/proc/llmops/results.json"],
        ["--out", "/sys/results.json"],
        ["--junit", "fifo"],
        ["--out", "x" * 300 + ".json"],
        ["--out", "adir/" + "y" * 300 + "/r.json"],
        ["--out", "adir"],
        ["--junit", "adir"],
    ],
)
def test_eval_run_checks_outputs_before_paying(eval_project: Path, fake_llm: FakeLLM, args: list[str]) -> None:
    """Before: every call was made, then writing failed with exit 3."""
    code, out = _cli("eval", "run", "-q", *args, cwd=eval_project)
    assert code == 2, out
    assert fake_llm.count == 0
    assert "internal error" not in out


def test_eval_run_still_writes_to_new_folders(eval_project: Path, fake_llm: FakeLLM) -> None:
    code, out = _cli("eval", "run", "-q", "--out", "new/deep/r.json", "--junit", "new/j.xml", cwd=eval_project)
    assert code == 0, out
    assert (eval_project / "new/deep/r.json").is_file() and (eval_project / "new/j.xml").is_file()
    assert not list(eval_project.rglob(".llmops-write-check-*"))


def test_eval_merge_and_report_check_outputs(eval_project: Path, fake_llm: FakeLLM) -> None:
    code, out = _cli("eval", "run", "-q", "--out", "r.json", cwd=eval_project)
    assert code == 0, out
    for args in (["eval", "merge", "r.json", "--out", "afile/m.json"],
                 ["eval", "merge", "r.json", "--out", "m.json", "--junit", "/proc/j.xml"],
                 ["eval", "report", "r.json", "--html", "afile/r.html"],
                 ["eval", "compare", "r.json", "r.json", "--html", "fifo"]):  # fmt: skip
        code, out = _cli(*args, cwd=eval_project)
        assert code == 2 and "internal error" not in out, (args, out)
    assert not (eval_project / "m.json").exists()


def test_release_export_checks_its_output(released: GitRepo) -> None:
    (released.root / "afile").write_text("x")
    code, out = _cli("release", "export", "--out", "afile/b.json", cwd=released.root)
    assert code == 2 and "internal error" not in out, out


@pytest.fixture
def gate_repo(tmp_git_repo: GitRepo, fake_llm_factory: Any) -> tuple[GitRepo, FakeLLM]:
    from tests.support import gateproj as gp

    server = fake_llm_factory(responder=gp.responder)
    gp.make_repo(tmp_git_repo, server.url, n=4)
    tmp_git_repo.git("checkout", "-q", "-b", "feature")
    tmp_git_repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer sloppily."))
    tmp_git_repo.commit("change")
    (tmp_git_repo.root / "afile").write_text("x")
    return tmp_git_repo, server


@pytest.mark.parametrize(
    "args",
    [
        ["--markdown", "afile/report.md"],
        ["--markdown", "/proc/report.md"],
        ["--html", "afile/r.html"],
        ["--out-dir", "afile"],
        ["--out-dir", "afile/sub"],
        ["--out-dir", "/proc/gate"],
    ],
)
def test_eval_gate_checks_outputs_before_paying(gate_repo: tuple[GitRepo, FakeLLM], args: list[str]) -> None:
    repo, server = gate_repo
    from tests.support import gateproj as gp

    code, out = _cli("eval", "gate", "--base", "main", *args, cwd=repo.root, env={gp.KEY_ENV: gp.KEY_VALUE})
    assert code == 2, out
    assert server.count == 0 and "internal error" not in out


def test_eval_gate_refuses_a_link_out_of_its_out_dir(gate_repo: tuple[GitRepo, FakeLLM], tmp_path: Path) -> None:
    repo, server = gate_repo
    from tests.support import gateproj as gp

    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    (repo.root / "gate-out").mkdir()
    (repo.root / "gate-out" / "gate.json").symlink_to(outside)
    code, out = _cli("eval", "gate", "--base", "main", "--out-dir", "gate-out", cwd=repo.root,
                     env={gp.KEY_ENV: gp.KEY_VALUE})  # fmt: skip
    assert code == 2 and "symbolic link" in out, out
    assert server.count == 0 and outside.read_text() == "{}"


def test_output_problem_unit(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "f")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert output_problem(tmp_path / "new" / "deeper" / "x.json") is None
    assert output_problem(tmp_path / "f") is None and output_problem(tmp_path / "link") is None
    assert output_problem(tmp_path / "d", folder=True) is None and output_problem(tmp_path / "new", folder=True) is None
    assert output_problem(tmp_path / "link", link_ok=False)
    assert output_problem(tmp_path / "d")  # a folder where a file goes
    assert output_problem(tmp_path / "f", folder=True)  # a file where a folder goes
    assert output_problem(tmp_path / "f" / "x.json")
    assert output_problem(tmp_path / "dangling")
    assert output_problem("a\0b") and output_problem("")
    assert list(tmp_path.iterdir()).__len__() == 4  # nothing created, no probe left behind
    with pytest.raises(UsageError) as exc:
        check_outputs({"--junit": tmp_path / "f" / "j.xml", "--out": None})
    assert exc.value.message.startswith("--junit ")


# -- importer file references: no dotfiles, no secrets -------------------------------------------------------
SECRET = "OPENAI_API_KEY=sk-CANARY-0123456789"


@pytest.mark.parametrize(
    "ref",
    [
        "file://.env",
        "file://./.env",
        "file://sub/../.env",
        "file://.env.local",
        "file://.npmrc",
        "file://.aws/credentials",
        "file://sub/.hidden/p.txt",
        "file://server.pem",
        "file://id_rsa",
        "file://deploy.key",
        "file://api_token.txt",
        "file://client_secret.json",
        "file://link-to-env.txt",
        "file://.*",
        "file://.env*",
    ],
)
def test_a_root_level_config_cannot_copy_secrets(tmp_path: Path, ref: str) -> None:
    src = tmp_path / "repo"
    for rel in (".env", ".env.local", ".npmrc", ".aws/credentials", "sub/.hidden/p.txt", "server.pem", "id_rsa",
                "deploy.key", "api_token.txt", "client_secret.json"):  # fmt: skip
        write(src, rel, SECRET + "\n")
    (src / "sub").mkdir(exist_ok=True)
    (src / "link-to-env.txt").symlink_to(src / ".env")
    write(src, "promptfooconfig.yaml", f'prompts: ["{ref}"]\nproviders: [openai:gpt-4o-2024-08-06]\n')
    with pytest.raises(PromptFileError) as exc:
        do_import(src, "promptfoo", ["promptfooconfig.yaml"], tmp_path / "out")
    assert exc.value.file == "promptfooconfig.yaml" and "CANARY" not in str(exc.value)
    assert not any("CANARY" in p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())


def test_globs_skip_dotfiles_and_secrets(tmp_path: Path) -> None:
    src = tmp_path / "repo"
    write(src, ".env", SECRET + "\n")
    write(src, "prompts/.secret.txt", SECRET + "\n")
    write(src, "prompts/creds/id_rsa", SECRET + "\n")
    write(src, "prompts/a.txt", "Answer {{question}}\n")
    write(
        src,
        "promptfooconfig.yaml",
        'prompts: ["file://**/*.txt", "file://prompts/**/*"]\nproviders: [openai:gpt-4o-2024-08-06]\n',
    )
    with contextlib.suppress(PromptFileError):  # refusing is fine too: nothing secret may be written
        do_import(src, "promptfoo", ["promptfooconfig.yaml"], tmp_path / "out")
    assert not any("CANARY" in p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())


def test_ordinary_file_references_still_import(tmp_path: Path) -> None:
    src = tmp_path / "repo"
    write(src, ".env", SECRET + "\n")
    write(src, "prompts/answer.txt", "Answer {{question}}\n")
    write(
        src, "promptfooconfig.yaml", 'prompts: ["file://prompts/answer.txt"]\nproviders: [openai:gpt-4o-2024-08-06]\n'
    )
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], tmp_path / "out")
    assert report.prompts


@pytest.mark.parametrize("label", ["ESC", "U+2028", "RTL override"])
def test_prompt_file_named_with_hostile_characters(tmp_path: Path, fake_llm: FakeLLM, label: str) -> None:
    """The file name is the prompt name: lint reports it (escaped), eval run refuses before any call."""
    name = HOSTILE_NAMES[label]
    root = make_eval_project(tmp_path / "p", fake_llm.url)
    write(root, f"prompts/{name}.prompt.yaml", "model: chat\nmessages:\n  - {role: user, content: hi}\n")
    write(root, f"evals/{name}.yaml", "cases:\n  - id: a\n    assert: [{type: icontains, value: x}]\n")
    code, out = _cli("prompt", "lint", cwd=root)
    assert code == 1 and "bad-prompt-name" in out, out
    assert name[3] not in out  # the character itself never reaches the terminal
    code, out = _cli("eval", "run", "-q", cwd=root)
    assert code == 2 and fake_llm.count == 0, out


@pytest.mark.parametrize("label", ["ESC", "U+2028", "U+0085", "zero-width space", "RTL override", "BOM"])
def test_serving_tag_values_follow_the_same_rule(label: str) -> None:
    from llmops_cli.serving.record import validate_tags

    with pytest.raises(UsageError):
        validate_tags({"user": HOSTILE_NAMES[label]})
    assert validate_tags({"user": "Zoë 🙂 42"}) == {"user": "Zoë 🙂 42"}


def test_golden_set_prompt_key_follows_the_prompt_name_rule() -> None:
    with pytest.raises(PromptFileError):
        parse_golden('prompt: "a\\eb"\ncases:\n  - id: a\n', "g.yaml", "p")


@pytest.mark.parametrize(
    ("fmt", "file", "text"),
    [
        ("gh-models", "m.prompt.yml", 'model: "gpt\\e-4"\nmessages:\n  - {role: user, content: hi}\n'),
        ("gh-models", "n.prompt.yml", 'model: "gpt-\\L4"\nmessages:\n  - {role: user, content: hi}\n'),
        (
            "prompty",
            "m.prompty",
            '---\nname: x\nmodel:\n  api: chat\n  configuration:\n    type: openai\n    name: "gpt\\e-4"\n---\nuser:\nhi\n',
        ),
    ],
)
def test_imported_model_ids_follow_the_name_rule(tmp_path: Path, fmt: str, file: str, text: str) -> None:
    """They go into llmops.yaml, which would refuse them at the next load: refused at import instead."""
    src = tmp_path / "src"
    write(src, file, text)
    code, out = _cli("import", fmt, file, "--out", str(tmp_path / "out"), cwd=src)
    assert code == 2 and file in out and "internal error" not in out, out
    assert not (tmp_path / "out" / "llmops.yaml").exists()


@pytest.mark.parametrize("content", ["\ud800 lone high", "lone low \udfff", "pair \ud83d\ude42 split"])
def test_output_with_lone_surrogates_is_written_not_exit_3(tmp_path: Path, fake_llm_factory: Any, content: str) -> None:
    """A provider's JSON may hold ``"\\ud800"``: the output cannot be written as UTF-8, and the run exited 3 after
    the call was paid for. Lone surrogates become U+FFFD."""
    server = fake_llm_factory(responder=lambda body: content)
    golden = "cases:\n  - id: a\n    vars: {question: hi}\n    assert: [{type: icontains, value: lone}]\n"
    root = make_eval_project(tmp_path / "p", server.url, golden=golden)
    code, out = _cli("eval", "run", "-q", "--out", "r.json", cwd=root)
    assert code in (0, 1) and "internal error" not in out, out
    text = json.loads((root / "r.json").read_text(encoding="utf-8"))["samples"][0]["output"]
    assert "\ufffd" in text or "🙂" in text
    code, out = _cli("eval", "show", "r.json", cwd=root)
    assert code in (0, 1), out


@pytest.mark.parametrize(
    "line",
    [
        '{"id": "a", "vars": {"question": "\\ud800"}}',
        '{"id": "a", "vars": {"question": "x"}, "expected": "tail \\udfff"}',
        '{"id": "a", "vars": {"\\ud800": "x"}}',
    ],
)
def test_jsonl_golden_with_a_lone_surrogate_is_exit_2(tmp_path: Path, fake_llm: FakeLLM, line: str) -> None:
    """It loaded, and ``eval run`` exited 3 writing its journal."""
    root = make_eval_project(tmp_path / "p", fake_llm.url)
    write(root, "evals/support/answer.jsonl", line + "\n")
    code, out = _cli("eval", "run", "-q", cwd=root)
    assert code == 2 and "answer.jsonl:1" in out and fake_llm.count == 0, out


def test_strict_json_reader_refuses_lone_surrogates_but_not_pairs() -> None:
    from llmops_cli.jsonio import loads_strict, parse_bounded

    assert parse_bounded('{"a": "\\ud83d\\ude42"}') == {"a": "🙂"}
    assert parse_bounded('{"a": "\\\\ud800 is an escape, written out"}') == {"a": "\\ud800 is an escape, written out"}
    with pytest.raises(ValueError):
        parse_bounded('["ok", {"b": "\\ud800"}]')
    with pytest.raises(PromptFileError):
        loads_strict('{"samples": ["\\udc00"]}', "r.json")


def test_two_outputs_naming_one_file_are_refused(eval_project: Path, fake_llm: FakeLLM) -> None:
    code, out = _cli("eval", "run", "-q", "--out", "r.json", "--junit", "./r.json", cwd=eval_project)
    assert code == 2 and "same file" in out and fake_llm.count == 0, out


def test_unwritable_step_summary_is_refused_before_paying(eval_project: Path, fake_llm: FakeLLM) -> None:
    code, out = _cli(
        "eval", "run", "-q", cwd=eval_project, env={"GITHUB_STEP_SUMMARY": str(eval_project / "afile/s.md")}
    )
    assert code == 2 and "GITHUB_STEP_SUMMARY" in out and fake_llm.count == 0, out
