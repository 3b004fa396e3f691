"""Hostile tool definitions (issue #22): every one a clean exit 2 naming the file and line, never a hang, a
traceback or a read outside the project.

Remote and recursive ``$ref``, ``$id`` / dynamic references, huge enums, deep schemas, 10,000 tools, names with
control characters, tool files outside the tools folder (``..``, symbolic links, a link to a folder), YAML bombs
and oversized tool files, duplicate and unknown tools, ``tool_choice`` naming a tool the prompt lacks.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from llmops_cli.errors import EXIT_USAGE, UserError
from llmops_cli.project import Project
from tests.conftest import GitRepo, run_cli, write

REPO_ROOT = Path(__file__).resolve().parent.parent
BOUND_S = 30  # "never a hang": a 50,000-node prompt file parses in ~2 s alone, far slower on a loaded runner
HEAD = "model: openai/gpt-4o-2024-08-06\nmessages:\n  - {role: user, content: hi}\n"


def _project(root: Path, tools_yaml: str, tool_files: dict[str, str] | None = None) -> Project:
    write(root, "llmops.yaml", "models: {}\n")
    (root / "prompts").mkdir(exist_ok=True)
    (root / "prompts" / "p.prompt.yaml").write_text(HEAD + tools_yaml, encoding="utf-8")
    for rel, text in (tool_files or {}).items():
        path = root / "prompts" / "_tools" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Project.open(root)


def _refused(root: Path, tools_yaml: str, tool_files: dict[str, str] | None = None) -> UserError:
    """Loading the prompt raises a user error (exit 2) that names a file and a line, quickly."""
    project = _project(root, tools_yaml, tool_files)
    t0 = time.monotonic()
    with pytest.raises(UserError) as info:
        project.load("p")
    assert time.monotonic() - t0 < BOUND_S
    err = info.value
    assert err.exit_code == EXIT_USAGE
    assert err.file, f"no file in {err}"
    assert err.line or "characters, more than the" in err.message, f"no line in {err}"  # whole-file size: no line
    return err


def _inline(parameters: object, name: str = "f") -> str:
    return "tools:\n  - " + json.dumps({"name": name, "parameters": parameters}) + "\n"


# -- schemas --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ref",
    [
        "https://evil.example/schema.json",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "other.json#/x",
        "//evil.example/x",
        "urn:uuid:0000",
    ],
)
def test_remote_ref_in_an_inline_tool(tmp_path: Path, ref: str) -> None:
    err = _refused(tmp_path, _inline({"type": "object", "properties": {"a": {"$ref": ref}}}))
    assert err.file == "prompts/p.prompt.yaml" and err.line == 5
    assert "$ref" in err.message and ("remote" in err.message or "only" in err.message)


def test_remote_ref_in_a_tool_file_names_the_tool_file(tmp_path: Path) -> None:
    tool_file = "tools:\n  - name: f\n    parameters:\n      type: object\n      properties:\n        a: {$ref: 'https://evil.example/x'}\n"
    err = _refused(tmp_path, "tools:\n  - use: shared/f\n", {"shared.yaml": tool_file})
    assert err.file == "prompts/_tools/shared.yaml"
    assert err.line is not None and err.line >= 3
    assert "remote $ref" in err.message


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"self": {"$ref": "#"}}},
        {"type": "object", "$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}},
         "properties": {"head": {"$ref": "#/$defs/n"}}},
        {"type": "object", "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}},
         "properties": {"x": {"$ref": "#/$defs/a"}}},
        {"type": "object", "definitions": {"a": {"items": {"$ref": "#/definitions/a"}}}},
    ],
    ids=["root", "self-cycle", "two-cycle", "definitions"],
)  # fmt: skip
def test_recursive_schemas_are_refused(tmp_path: Path, schema: dict[str, object]) -> None:
    err = _refused(tmp_path, _inline(schema))
    assert "recursi" in err.message


def test_a_ref_to_a_missing_definition_or_an_odd_pointer(tmp_path: Path) -> None:
    err = _refused(tmp_path, _inline({"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}}))
    assert "does not exist" in err.message
    err = _refused(tmp_path, _inline({"type": "object", "properties": {"a": {"$ref": "#/properties/b"}}}))
    assert "#/$defs/NAME" in err.message


@pytest.mark.parametrize("keyword", ["$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef"])
def test_base_changing_and_dynamic_keywords_are_refused(tmp_path: Path, keyword: str) -> None:
    err = _refused(tmp_path, _inline({"type": "object", keyword: "https://evil.example/x"}))
    assert keyword in err.message


def test_a_foreign_meta_schema_is_refused(tmp_path: Path) -> None:
    err = _refused(tmp_path, _inline({"type": "object", "$schema": "https://evil.example/meta"}))
    assert "Draft 2020-12" in err.message


def test_huge_enum(tmp_path: Path) -> None:
    values = list(range(1001))
    err = _refused(tmp_path, _inline({"type": "object", "properties": {"a": {"enum": values}}}))
    assert "enum of 1,001 values" in err.message


def test_enum_past_the_yaml_node_bound(tmp_path: Path) -> None:
    values = [1] * 60_000
    err = _refused(tmp_path, _inline({"type": "object", "properties": {"a": {"enum": values}}}))
    assert "nodes" in err.message or "enum" in err.message


def test_deep_schema(tmp_path: Path) -> None:
    node: dict[str, object] = {"type": "string"}
    for _ in range(40):
        node = {"type": "object", "properties": {"a": node}}
    err = _refused(tmp_path, _inline(node))
    assert "deeper" in err.message


def test_parameters_that_are_not_an_object_schema(tmp_path: Path) -> None:
    assert "object schema" in _refused(tmp_path, _inline({"type": "string"})).message
    assert "not an object" in _refused(tmp_path, _inline({"type": "object", "properties": {"a": 3}})).message


# -- many tools, names ----------------------------------------------------------------------------------------
def test_ten_thousand_tools(tmp_path: Path) -> None:
    tools = "".join(f"  - {{name: t{i}}}\n" for i in range(10_000))
    err = _refused(tmp_path, "tools:\n" + tools)
    assert "128" in err.message or "nodes" in err.message


def test_ten_thousand_tools_through_a_tool_file(tmp_path: Path) -> None:
    tools = "".join(f"  - {{name: t{i}}}\n" for i in range(10_000))
    err = _refused(tmp_path, "tools:\n  - use: many/*\n", {"many.yaml": "tools:\n" + tools})
    assert err.file == "prompts/_tools/many.yaml"


def test_many_tool_files_add_up_past_the_limit(tmp_path: Path) -> None:
    files = {f"f{k}.yaml": "tools:\n" + "".join(f"  - {{name: t{k}_{i}}}\n" for i in range(100)) for k in range(2)}
    err = _refused(tmp_path, "tools:\n  - use: f0/*\n  - use: f1/*\n", files)
    assert "200 tools, more than the 128" in err.message


@pytest.mark.parametrize(
    "name",
    ["bad\x1b[31mname", "tab\tname", "zero\u200bwidth", "rtl\u202eabc", "a" * 65, "", "sp ace", "dot.name"],
)
def test_tool_names_outside_the_provider_rule(tmp_path: Path, name: str) -> None:
    err = _refused(tmp_path, "tools:\n  - " + json.dumps({"name": name}) + "\n")
    assert "tool name" in err.message
    assert "\x1b" not in str(err) and "\u202e" not in str(err)


def test_tool_choice_with_a_control_character_name(tmp_path: Path) -> None:
    err = _refused(tmp_path, "tools:\n  - {name: f}\ntool_choice: " + json.dumps({"name": "f\x1b"}) + "\n")
    assert "\x1b" not in str(err)


def test_control_characters_in_descriptions_are_escaped_in_render(tmp_path: Path) -> None:
    tool = {
        "name": "f",
        "description": "evil \x1b]0;pwned\x07 text",
        "parameters": {"type": "object", "properties": {"k\x1b[2J": {"type": "string"}}},
    }
    _project(tmp_path, "tools:\n  - " + json.dumps(tool) + "\n")
    res = run_cli("prompt", "render", "p", cwd=tmp_path, env={"PYTHONPATH": str(REPO_ROOT)})
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout
    assert "f(k\\x1b[2J?: string)" in res.stdout


# -- tool files: confinement, bombs ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "use", ["../../etc/passwd", "../_partials/x", "/etc/passwd/x", "a/../../b/x", "a\\b/x", "x", "f/bad name"]
)
def test_tool_references_that_leave_the_tools_folder(tmp_path: Path, use: str) -> None:
    err = _refused(tmp_path, "tools:\n  - " + json.dumps({"use": use}) + "\n")
    assert "tool reference" in err.message


def test_symlinked_tool_file_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("tools:\n  - {name: secret}\n", encoding="utf-8")
    _project(tmp_path, "tools:\n  - use: linked/*\n")
    (tmp_path / "prompts" / "_tools").mkdir()
    os.symlink(outside, tmp_path / "prompts" / "_tools" / "linked.yaml")
    err = _refused(tmp_path, "tools:\n  - use: linked/*\n")
    assert "symbolic link" in err.message and err.file == "prompts/p.prompt.yaml" and err.line == 5


def test_symlinked_folder_out_of_the_tools_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "t.yaml").write_text("tools:\n  - {name: secret}\n", encoding="utf-8")
    _project(tmp_path, "")
    (tmp_path / "prompts" / "_tools").mkdir()
    os.symlink(elsewhere, tmp_path / "prompts" / "_tools" / "dir")
    err = _refused(tmp_path, "tools:\n  - use: dir/t/secret\n")
    assert "symbolic link" in err.message


def test_a_link_to_a_file_outside_the_project(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    _project(root, "")
    (root / "prompts" / "_tools").mkdir()
    os.symlink("/etc/hostname", root / "prompts" / "_tools" / "host.yaml")
    err = _refused(root, "tools:\n  - use: host/*\n")
    assert "symbolic link" in err.message or "not found" in err.message


BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "tools: [{name: f, description: *d}]\n"
)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (BILLION_LAUGHS, "anchors"),
        ("tools:\n  - name: f\n    parameters: " + "[" * 100 + "]" * 100 + "\n", "deeper"),
        ("tools:\n  - name: f\n    description: " + "x" * 300_000 + "\n", "characters"),
        ("tools:\n  - {name: f}\n  - {name: f}\n", "more than once"),
        ("tools: []\n", "at least 1"),
        ("- just a list\n", "mapping"),
        ("tools:\n  - {name: f, extra: 1}\n", "unknown field"),
        ("tools:\n  - {name: f\n", "invalid YAML"),
        ("tools:\n  - {name: f, name: g}\n", "duplicate key"),
        ("tools:\n  - {name: f, parameters: {type: object, x: .nan}}\n", "non-finite"),
    ],
    ids=["billion-laughs", "deep", "huge", "duplicate-tool", "empty", "not-mapping", "extra-field", "syntax",
         "duplicate-key", "nan"],
)  # fmt: skip
def test_bad_tool_files(tmp_path: Path, text: str, needle: str) -> None:
    err = _refused(tmp_path, "tools:\n  - use: bad/*\n", {"bad.yaml": text})
    assert err.file == "prompts/_tools/bad.yaml"
    assert needle in err.message


def test_binary_tool_file(tmp_path: Path) -> None:
    _project(tmp_path, "")
    (tmp_path / "prompts" / "_tools").mkdir()
    (tmp_path / "prompts" / "_tools" / "bin.yaml").write_bytes(b"\x00\x01\x02" * 100)
    project = Project.open(tmp_path)
    (tmp_path / "prompts" / "p.prompt.yaml").write_text(HEAD + "tools:\n  - use: bin/*\n", encoding="utf-8")
    with pytest.raises(UserError) as info:
        project.load("p")
    assert "binary" in info.value.message and info.value.file == "prompts/_tools/bin.yaml"


# -- references and tool_choice -------------------------------------------------------------------------------
def test_missing_tool_file_and_unknown_tool(tmp_path: Path) -> None:
    err = _refused(tmp_path, "tools:\n  - use: nope/x\n", {"orders.yaml": "tools:\n  - {name: lookup}\n"})
    assert "tool file not found: prompts/_tools/nope.yaml" in err.message and err.line == 5
    err = _refused(tmp_path, "tools:\n  - use: orders/lookpu\n", {"orders.yaml": "tools:\n  - {name: lookup}\n"})
    assert "no tool 'lookpu'" in err.message and "lookup" in err.message and err.line == 5


def test_duplicate_tools_across_inline_and_files(tmp_path: Path) -> None:
    files = {"orders.yaml": "tools:\n  - {name: lookup}\n"}
    err = _refused(tmp_path, "tools:\n  - {name: lookup}\n  - use: orders/*\n", files)
    assert "declared twice" in err.message and err.line == 6
    err = _refused(tmp_path, "tools:\n  - {name: a}\n  - {name: a}\n")
    assert "declared twice" in err.message


def test_tool_choice_naming_a_missing_tool(tmp_path: Path) -> None:
    err = _refused(tmp_path, "tools:\n  - {name: a}\ntool_choice: {name: b}\n")
    assert "tool_choice names 'b'" in err.message and err.line == 6
    err = _refused(tmp_path, "tool_choice: required\n")
    assert "declares no tools" in err.message and err.line == 4
    err = _refused(tmp_path, "parallel_tool_calls: true\n")
    assert "declares no tools" in err.message
    err = _refused(tmp_path, "tools:\n  - {name: a}\ntool_choice: sometimes\n")
    assert "tool_choice" in err.message


def test_cli_exit_2_with_file_and_line(tmp_path: Path) -> None:
    _project(tmp_path, _inline({"type": "object", "properties": {"a": {"$ref": "https://evil.example/x"}}}))
    env = {"PYTHONPATH": str(REPO_ROOT)}
    for args in (["prompt", "render", "p"], ["prompt", "lint", "p"]):
        res = run_cli(*args, cwd=tmp_path, env=env)
        assert res.exit_code in (EXIT_USAGE, 1), res.output  # render: 2; lint: the finding, exit 1
        assert "prompts/p.prompt.yaml:5" in res.output
        assert "Traceback" not in res.output
    assert run_cli("prompt", "render", "p", cwd=tmp_path, env=env).exit_code == EXIT_USAGE


def test_symlink_blob_in_git_is_refused_at_a_ref(tmp_git_repo: GitRepo) -> None:
    repo = tmp_git_repo
    repo.write("llmops.yaml", "models: {}\n")
    repo.write("prompts/p.prompt.yaml", HEAD + "tools:\n  - use: linked/*\n")
    root = Path(repo.root)
    (root / "prompts" / "_tools").mkdir(parents=True)
    os.symlink("/etc/hostname", root / "prompts" / "_tools" / "linked.yaml")
    repo.commit("linked tool file")
    with pytest.raises(UserError) as info:
        Project.at_ref("HEAD", root).load("p")
    assert "symbolic link" in info.value.message and info.value.line == 5


def test_a_tool_file_outside_the_prompts_folder_makes_pre_commit_lint_everything(tmp_path: Path) -> None:
    from llmops_cli.lint import prompts_for_files

    write(tmp_path, "shared/tools/orders.yaml", "tools:\n  - {name: lookup}\n")
    _project(tmp_path, "tools:\n  - use: orders/lookup\n")
    write(tmp_path, "llmops.yaml", "paths: {tools: shared/tools}\n")
    project = Project.open(tmp_path)
    assert [t.name for t in project.load("p").tools] == ["lookup"]
    assert prompts_for_files(project, ["shared/tools/orders.yaml"], str(tmp_path)) is None


@pytest.mark.parametrize(
    ("parameters", "needle"),
    [
        ("{type: object, properties: {1: {type: string}, a: {type: string}}}", "not a string"),
        ("{type: object, properties: {a: {type: string, default: 2024-01-01}}}", "date value"),
        ("{type: object, examples: [{1: x, b: y}]}", "not a string"),
    ],
)
def test_non_json_values_in_a_schema(tmp_path: Path, parameters: str, needle: str) -> None:
    err = _refused(tmp_path, f"tools:\n  - name: f\n    parameters: {parameters}\n")
    assert needle in err.message and err.line == 6
