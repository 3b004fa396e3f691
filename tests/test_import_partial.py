"""Partial imports: a prompt built by code becomes a marked stub (tests and assertions still land), test
generators come in through their one-line export, absolute-looking references resolve under the config's
folder (still confined), and Prompty Mustache/Handlebars templates are translated or kept as stubs."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from llmops_cli.importers.partial import export_command, export_file, extract_function
from tests.conftest import run_cli, write

JS = """\
import fs from 'node:fs';

export async function buildPrompt({ vars }) {
  const header = `Answer as ${vars.persona}`;  // braces in strings: {
  return [{ role: 'system', content: header }, { role: 'user', content: vars.question }];
}

export const other = () => 'x';
"""
PY = """\
import json


def helper():
    return 1


def make_prompt(context):
    question = context["vars"]["question"]
    return json.dumps([{"role": "user", "content": question}])


OTHER = 2
"""
CONFIG = """\
description: Support bot
prompts:
  - file://prompts.mjs:buildPrompt
  - 'Plain: {{question}}'
providers: [openai:gpt-4o-mini-2024-07-18]
tests:
  - vars: {persona: pirate, question: Where is my parcel?}
    assert:
      - {type: icontains, value: parcel}
      - {type: llm-rubric, value: Sounds like a pirate}
"""


def _import(src: Path, out: Path, fmt: str = "promptfoo", file: str = "promptfooconfig.yaml") -> str:
    write(out, "llmops.yaml", "models:\n  chat: {model: openai/gpt-4o-mini-2024-07-18}\n")
    r = run_cli("import", fmt, file, "--out", str(out), cwd=src)
    assert r.exit_code == 0, r.output
    return r.output


def test_function_extraction_js_and_python() -> None:
    found = extract_function(JS, "buildPrompt", ".mjs")
    assert found is not None
    source, line = found
    assert line == 3 and source.startswith("export async function buildPrompt") and source.endswith("}")
    assert "other" not in source
    py = extract_function(PY, "make_prompt", ".py")
    assert py is not None and py[1] == 8 and py[0].splitlines()[-1].strip().startswith("return json.dumps")
    assert "OTHER" not in py[0]
    assert extract_function(PY, "missing", ".py") is None


def test_code_prompt_becomes_a_stub_and_the_tests_still_land(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, "promptfooconfig.yaml", CONFIG)
    write(src, "prompts.mjs", JS)
    report = _import(src, out)
    assert "prompt function `buildPrompt`" in report and "stub" in report
    stub_file = next((out / "prompts").rglob("*build*.prompt.yaml"))
    stub = yaml.safe_load(stub_file.read_text())
    content = stub["messages"][0]["content"]
    assert "[import-gap]" in content and "export async function buildPrompt" in content  # source quoted
    assert set(stub["inputs"]) == {"persona", "question"}  # inferred from the tests' vars
    assert "stub" in stub["metadata"]["import"]
    golden = yaml.safe_load(next((out / "evals").rglob("*build*.yaml")).read_text())
    assert golden["cases"][0]["vars"] == {"persona": "pirate", "question": "Where is my parcel?"}
    assert {a["type"] for a in golden["cases"][0]["assert"]} >= {"icontains"}

    lint = run_cli("prompt", "lint", cwd=out)
    assert lint.exit_code == 0, lint.output  # gaps are warnings
    assert "import-stub" in lint.output and "import-gap" in lint.output
    name = stub_file.relative_to(out / "prompts").as_posix().removesuffix(".prompt.yaml")
    ev = run_cli("eval", "run", name, cwd=out, env={"OPENAI_API_KEY": "sk-unused-0123456789"})
    assert ev.exit_code == 2 and "import stub" in ev.stderr and "Traceback" not in ev.stderr
    rendered = run_cli("prompt", "render", name, "--var", "persona=x", "--var", "question=y", cwd=out)
    assert rendered.exit_code == 0 and "question: y" in rendered.stdout  # the stub renders for inspection


def test_stub_source_outside_the_folder_is_not_read(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(tmp_path, "secret.js", "export function leak() { return 'TOPSECRET'; }\n")
    write(src, "promptfooconfig.yaml", CONFIG.replace("file://prompts.mjs:buildPrompt", "file://../secret.js:leak"))
    _import(src, out)
    texts = " ".join(p.read_text() for p in out.rglob("*.yaml"))
    assert "TOPSECRET" not in texts and "source not quoted" in texts


def test_python_test_generator_exports_once_then_imports(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, "promptfooconfig.yaml", "prompts: ['Translate to {{lang}}: {{text}}']\n"
          "providers: [openai:gpt-4o-mini-2024-07-18]\ntests: file://gen/tests.py:generate_tests\n")  # fmt: skip
    write(
        src,
        "gen/tests.py",
        "def generate_tests():\n    return [{'vars': {'lang': l, 'text': 'hi'}} for l in ('fr', 'de')]\n",
    )
    first = _import(src, out)
    assert "test generator `generate_tests`" in first and "export its tests once" in first
    command = export_command("gen/tests.py", "generate_tests")
    assert "\n" not in command and command.startswith("python -c ")
    # the user runs the one-line command in their environment (here: this interpreter)
    argv = shlex.split(command)
    argv[0] = sys.executable
    subprocess.run(argv, cwd=src, check=True, timeout=60)
    assert (src / export_file("gen/tests.py", "generate_tests")).is_file()
    second = _import(src, tmp_path / "out2")
    assert "2 case(s)" in second and "imported from its export" in second


def test_js_generator_command_names_the_export_file() -> None:
    command = export_command("tests/generate.js", "buildTests")
    assert command.startswith("node -e ") and "tests/generate.buildTests.llmops-tests.json" in command
    assert "m.buildTests" in command and "\n" not in command


def test_absolute_looking_references_resolve_under_the_config_folder(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, "promptfooconfig.yaml", "prompts: [file:///prompts/p.txt]\nproviders: [openai:gpt-4o-mini-2024-07-18]\n"
          "tests: file:///tests/*.yaml\n")  # fmt: skip
    write(src, "prompts/p.txt", "Q: {{q}}\n")
    write(src, "tests/a.yaml", "- vars: {q: one}\n- vars: {q: two}\n")
    assert "2 case(s)" in _import(src, out)


def test_absolute_references_outside_the_folder_stay_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "promptfooconfig.yaml", f"prompts: ['x {{{{q}}}}']\ntests: file://{tmp_path}/outside.yaml\n")
    write(tmp_path, "outside.yaml", "- vars: {q: leaked}\n")
    write(tmp_path / "out", "llmops.yaml", "models: {}\n")
    r = run_cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(tmp_path / "out"), cwd=src)
    assert r.exit_code == 2 and "leaves the folder" in r.stderr
    # an absolute-looking path that exists under the folder, but is a link out of it, is refused too
    (src / "tests").mkdir()
    os.symlink(tmp_path / "outside.yaml", src / "tests" / "cases.yaml")
    write(src, "promptfooconfig.yaml", "prompts: ['x {{q}}']\ntests: file:///tests/cases.yaml\n")
    r = run_cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(tmp_path / "out"), cwd=src)
    assert r.exit_code == 2 and "leaves the folder" in r.stderr


def test_prompty_handlebars_imports_and_renders_like_handlebars(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, "t.prompty", "---\nname: T\ntemplate: handlebars\ninputs:\n  items: {type: array}\n"
          "sample:\n  items: [{n: a}, {n: '<b>'}]\n---\nuser:\n{{#each items}}\n{{@index}}={{n}}\n{{/each}}\n")  # fmt: skip
    _import(src, out, "prompty", "t.prompty")
    r = run_cli("prompt", "render", "t", "--case", "sample", cwd=out)
    assert r.exit_code == 0, r.output
    assert "0=a\n1=&lt;b&gt;" in r.stdout


def test_prompty_mustache_partial_becomes_a_stub_with_the_gap_reported(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, "g.prompty", "---\nname: G\ntemplate: mustache\ninputs:\n  who: {type: string}\nsample: {who: Ada}\n"
          "---\nsystem:\n{{> header}}\nuser:\nHi {{who}}\n")  # fmt: skip
    report = _import(src, out, "prompty", "g.prompty")
    assert "Mustache partial `{{> header}}`" in report and "g.prompty:9" in report
    prompt = yaml.safe_load((out / "prompts/g.prompt.yaml").read_text())
    assert "stub" in prompt["metadata"]["import"] and "{{> header}}" in prompt["messages"][0]["content"]
    assert (out / "evals/g.yaml").is_file()  # the sample still lands as a case


def test_prompty_without_template_key_but_mustache_syntax_is_translated(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, "m.prompty", "---\nname: M\nsample: {docs: [{t: x}]}\n---\nuser:\n{{#docs}}\n- {{t}}\n{{/docs}}\n")
    report = _import(src, out, "prompty", "m.prompty")
    assert "template read as mustache" in report
    r = run_cli("prompt", "render", "m", "--case", "sample", cwd=out)
    assert r.exit_code == 0 and "- x" in r.stdout, r.output


def test_code_assertions_keep_their_source_with_the_gap(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, "promptfooconfig.yaml", "prompts: ['Q: {{q}}']\nproviders: [openai:gpt-4o-mini-2024-07-18]\ntests:\n"
          "  - vars: {q: hi}\n    assert:\n      - type: python\n        value: len(output.split()) < 50 and 'sorry' not in output\n")  # fmt: skip
    _import(src, out)
    lint = run_cli("prompt", "lint", cwd=out)
    assert lint.exit_code == 0
    assert (
        "python assertion" in lint.stdout
        and "source: len(output.split()) < 50 and 'sorry' not in output" in " ".join(lint.stdout.split())
    )


def test_hostile_sources_stay_fast_and_forged_stub_markers_do_not_crash(tmp_path: Path) -> None:
    import time

    start = time.perf_counter()
    extract_function("const f " * 200_000, "f", ".js")  # many candidate starts, no `=`
    extract_function("x('" * 300_000, "x", ".js")  # one long line of unclosed quotes
    assert time.perf_counter() - start < 5
    src, out = tmp_path / "src", tmp_path / "out"
    forged = '"\\0llmops-import-stub:bm90IGpzb24=\\0 {{q}}"'  # base64 of "not json"
    write(src, "promptfooconfig.yaml", f"prompts: [{forged}]\nproviders: [openai:gpt-4o-mini-2024-07-18]\n"
          "tests: [{vars: {q: hi}}]\n")  # fmt: skip
    write(out, "llmops.yaml", "models: {}\n")
    r = run_cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(out), cwd=src)
    assert r.exit_code in (0, 2) and "internal error" not in r.stderr, r.output
