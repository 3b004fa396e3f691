"""``llmops import``: every mapped construct, every reported-unmappable one, untrusted-input handling,
idempotence and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops_cli.errors import PromptFileError, UsageError
from llmops_cli.importers import ImportReport, import_files
from llmops_cli.lint import lint_project
from llmops_cli.project import Project
from tests.conftest import run_cli, write


def do_import(src: Path, fmt: str, files: list[str], out: Path, **kw: Any) -> ImportReport:
    cwd = os.getcwd()
    os.chdir(src)
    try:
        return import_files(fmt, files, str(out), **kw)
    finally:
        os.chdir(cwd)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def constructs(report: ImportReport) -> list[str]:
    return [g.construct for g in report.unmapped]


def lint_errors(out: Path) -> list[str]:
    return [f"{f.code}: {f.message}" for f in lint_project(Project.open(out)) if f.severity == "error"]


# -- promptfoo: mapped constructs -----------------------------------------------------------------------------

ALL_MAPPED = """
description: Every mapped assertion
prompts: ["Q: {{question}}"]
providers:
  - id: openai:chat:gpt-4o-mini-2024-07-18
    config: {temperature: 0.1, max_tokens: 99, top_p: 0.9, seed: 3, stop: ["END"], presence_penalty: 0.1,
             frequency_penalty: 0.2}
tests:
  - description: All of them
    vars: {question: capital of France?, query: capital of France?, context: Paris is the capital of France.}
    assert:
      - {type: equals, value: Paris}
      - {type: contains, value: Par}
      - {type: icontains, value: par}
      - {type: starts-with, value: P}
      - {type: regex, value: "^P.*s$"}
      - {type: contains-any, value: "Paris, Lyon"}
      - {type: icontains-any, value: [paris, lyon]}
      - {type: contains-all, value: [Pa, is]}
      - {type: icontains-all, value: [pa, IS], threshold: 0.5}
      - {type: is-json}
      - {type: is-json, value: {type: object}}
      - {type: cost, threshold: 0.01}
      - {type: latency, threshold: 2000}
      - {type: llm-rubric, value: Names the capital, weight: 2, metric: capital, threshold: 0.75}
      - {type: model-graded-closedqa, value: Says Paris}
      - {type: factuality, value: Paris is the capital of France.}
      - {type: answer-relevance}
      - {type: context-faithfulness}
      - {type: not-contains, value: London}
      - {type: not-icontains, value: london}
      - {type: not-regex, value: "\\\\d"}
      - {type: not-starts-with, value: Nope}
"""


def test_promptfoo_maps_every_same_meaning_assertion(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "promptfooconfig.yaml", ALL_MAPPED)
    out = tmp_path / "out"
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    assert report.unmapped == []
    assert report.prompts == ["src"]
    golden = load(out / "evals/src.yaml")
    case = golden["cases"][0]
    assert case["id"] == "all-of-them" and case["expected"] == "Paris is the capital of France."
    assert case["assert"] == [
        {"type": "equals", "value": "Paris"},
        {"type": "contains", "value": "Par"},
        {"type": "icontains", "value": "par"},
        {"type": "starts-with", "value": "P"},
        {"type": "regex", "value": "^P.*s$"},
        {"type": "contains-any", "values": ["Paris", "Lyon"]},
        {"type": "icontains-any", "values": ["paris", "lyon"]},
        {"type": "contains-all", "values": ["Pa", "is"]},
        {"type": "icontains-all", "values": ["pa", "IS"], "threshold": 0.5},
        {"type": "is-json"},
        {"type": "json-schema", "schema": {"type": "object"}},
        {"type": "cost", "max_usd": 0.01},
        {"type": "latency", "max_ms": 2000},
        {"type": "judge", "criteria": "Names the capital", "threshold": 0.75, "weight": 2, "metric": "capital"},
        {"type": "judge", "criteria": "Says Paris"},
        {"type": "factuality"},
        {"type": "answer-relevance"},
        {"type": "faithfulness", "context_var": "context"},
        {"type": "not-contains", "value": "London"},
        {"type": "not-icontains", "value": "london"},
        {"type": "not-regex", "value": "\\d"},
        {"type": "not-starts-with", "value": "Nope"},
    ]
    prompt = load(out / "prompts/src.prompt.yaml")
    assert prompt["model"] == "gpt-4o-mini-2024-07-18"
    assert prompt["messages"] == [{"role": "user", "content": "Q: {{question}}"}]
    assert set(prompt["inputs"]) == {"question", "context"}  # query is unused by template and judges here
    config = load(out / "llmops.yaml")
    alias = config["models"]["gpt-4o-mini-2024-07-18"]
    assert alias["model"] == "openai/gpt-4o-mini-2024-07-18"
    assert alias["params"] == {
        "temperature": 0.1,
        "max_tokens": 99,
        "top_p": 0.9,
        "seed": 3,
        "stop": ["END"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
    }
    # judges the assertions need come from the starter project
    for judge in ("rubric", "factuality", "faithfulness", "answer_relevance"):
        assert (out / f"prompts/judges/{judge}.prompt.yaml").is_file()
    assert lint_errors(out) == []


def test_promptfoo_prompts_files_defaults_and_vars(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        """
        prompts:
          - file://p/chat.json
          - file://p/two.txt
          - {label: Labelled, raw: "Hi {{ who }}"}
        providers: ["anthropic:messages:claude-3-5-haiku-20241022", "ollama:chat:llama3.2:3b"]
        defaultTest:
          vars: {who: team}
          assert: [{type: not-icontains, value: sorry}]
        tests:
          - vars: {who: [Ann, Bob], doc: file://docs/a.md}
            assert: [{type: icontains, value: "{{who}}"}]
          - file://more.csv
        """,
    )
    write(src, "p/chat.json", '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi {{who}}"}]')
    write(src, "p/two.txt", "First {{who}}\n---\nSecond {{who}} {{doc}}\n")
    write(src, "docs/a.md", "Doc text\n")
    write(src, "more.csv", "who,__expected1,__expected2\nCid,icontains: cid,not-contains: Dan\n")
    out = tmp_path / "out"
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    assert report.prompts == ["src/chat", "src/two-1", "src/two-2", "src/labelled"]
    chat = load(out / "prompts/src/chat.prompt.yaml")
    assert [m["role"] for m in chat["messages"]] == ["system", "user"]
    assert chat["model"] == "claude-3-5-haiku-20241022"
    assert load(out / "llmops.yaml")["models"]["llama3-2-3b"]["model"] == "ollama_chat/llama3.2:3b"
    golden = load(out / "evals/src/two-2.yaml")
    assert golden["defaults"] == {"vars": {"who": "team"}, "assert": [{"type": "not-icontains", "value": "sorry"}]}
    ids = [c["id"] for c in golden["cases"]]
    assert ids == ["case-001-1", "case-001-2", "case-002"]
    assert golden["cases"][0]["vars"] == {"who": "Ann", "doc": "Doc text\n"}
    assert golden["cases"][1]["assert"] == [{"type": "icontains", "value": "Bob"}]  # templated value rendered
    assert golden["cases"][2]["assert"] == [
        {"type": "icontains", "value": "cid"},
        {"type": "not-contains", "value": "Dan"},
    ]
    two = load(out / "prompts/src/two-2.prompt.yaml")
    assert two["inputs"]["doc"] == {"type": "string", "default": ""}  # missing in some cases
    assert any(g.construct == "2 providers (a matrix)" for g in report.approximated)
    assert lint_errors(out) == []


def test_nunjucks_rewrites_and_refusals(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        """
        prompts:
          - "{% if xs.length === 0 %}none{% elseif xs.length > 1 && ok %}many{% endif %} {{ xs | dump }} {{ xs.join('-') }} {{ n.toUpperCase() }}"
          - "{{ name.padStart(5) }}"
          - "Key {{ env.SECRET_NAME }}"
          - "{% include 'x.njk' %}"
        providers: [openai:gpt-4o-2024-08-06]
        tests: [{vars: {xs: [[1, 2]], ok: true, n: a, name: b}}]
        """,
    )
    out = tmp_path / "out"
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    assert len(report.prompts) == 2  # padStart and include are refused
    text = load(out / "prompts/src/prompt.prompt.yaml")["messages"][0]["content"]
    assert text == (
        "{% if xs|length == 0 %}none{% elif xs|length > 1 and ok %}many{% endif %} "
        "{{ xs | tojson }} {{ xs|join('-') }} {{ n|upper }}"
    )
    names = constructs(report)
    assert "JavaScript method call in the template" in names
    assert "Nunjucks include/import/extends" in names
    assert "environment variable env.SECRET_NAME read by the template" in names
    env_prompt = load(out / "prompts/src/prompt-2.prompt.yaml")
    assert env_prompt["inputs"]["env_SECRET_NAME"] == {"type": "string", "default": ""}
    assert lint_errors(out) == []


def test_unmapped_constructs_are_listed_with_locations_and_marked(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        """
        prompts: ["{{q}}"]
        providers:
          - id: openai:gpt-4o-mini-2024-07-18
            config: {apiKey: sk-live-abcdef0123456789, top_k: 3}
          - file://provider.py
          - http
        defaultTest:
          options: {transform: output.trim()}
        tests:
          - vars: {q: one}
            assert:
              - {type: javascript, value: "JSON.parse(output).ok === true"}
              - {type: python, value: "True"}
              - {type: similar, value: x, threshold: 0.8}
              - {type: not-llm-rubric, value: rude}
              - {type: contains, value: one, transform: output.trim()}
          - vars: {q: two}
            threshold: 0.5
        redteam: {plugins: [pii]}
        outputPath: out.json
        """,
    )
    out = tmp_path / "out"
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    where = {g.construct: (g.file, g.line, g.path) for g in report.unmapped}
    assert where["javascript assertion"] == ("promptfooconfig.yaml", 12, "tests[0].assert[0]")
    assert where["python assertion"][1] == 13
    assert where["similar assertion"][1] == 14
    assert where["not-llm-rubric assertion"][1] == 15
    assert where["contains assertion with `transform`"][1] == 16
    assert where["API key written in the config"][2] == "providers[0].config.apiKey"
    assert where["provider config `top_k`"][2] == "providers[0].config.top_k"
    assert where["custom provider `file://provider.py`"][1] == 5
    assert where["custom provider `http`"][1] == 6
    assert where["output transform"][2] == "defaultTest.options.transform"
    assert where["test `threshold`"][2] == "tests[1].threshold"
    assert where["top-level `redteam`"][1] == 19 and where["top-level `outputPath`"][1] == 20
    golden = load(out / "evals/src.yaml")
    marks = golden["cases"][0]["metadata"]["import"]["unmapped"]
    assert any(m.startswith("javascript assertion at promptfooconfig.yaml:12") for m in marks)
    assert any("output transform" in m for m in marks)  # defaultTest's gap applies to every case
    assert any("test `threshold`" in m for m in golden["cases"][1]["metadata"]["import"]["unmapped"])
    prompt = load(out / "prompts/src.prompt.yaml")
    assert any("custom provider" in m for m in prompt["metadata"]["import"]["unmapped"])
    # the key never leaves the config
    for path in out.rglob("*"):
        if path.is_file():
            assert "sk-live-abcdef0123456789" not in path.read_text(encoding="utf-8", errors="replace")
    assert "sk-live" not in json.dumps(report.to_dict())
    findings = [f for f in lint_project(Project.open(out)) if f.code == "import-gap"]
    assert findings and all(f.severity == "warning" for f in findings)
    assert any("javascript assertion" in f.message and f.file == "evals/src.yaml" for f in findings)
    assert lint_errors(out) == []


# -- GitHub Models and Prompty --------------------------------------------------------------------------------


def test_gh_models_mapping(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "label.prompt.yml",
        """
        name: Labeller
        model: mistral-ai/Mistral-Large-2411
        modelParameters: {temperature: 0.3, maxTokens: 40, topP: 0.5, logprobs: true}
        messages:
          - role: system
            content: 'Label it. Keep {{ spaced }} and {% raw %} and {"a": 1} literal.'
          - role: user
            content: "{{text}} / {{unknown}}"
        testData:
          - {text: crash on start, expected: bug}
        evaluators:
          - {name: has label, string: {contains: "{{expected}}"}}
          - {name: starts, string: {startsWith: "Label"}}
          - {name: ends, string: {endsWith: "."}}
          - {name: same, string: {equals: bug}}
          - {name: sim, uses: github/similarity}
          - {name: rel, uses: github/relevance}
          - {name: odd, string: {matchesGlob: "*"}}
        """,
    )
    out = tmp_path / "out"
    report = do_import(src, "gh-models", ["label.prompt.yml"], out)
    prompt = load(out / "prompts/label.prompt.yaml")
    assert prompt["model"] == "mistral-large-2411"
    assert load(out / "llmops.yaml")["models"]["mistral-large-2411"]["model"] == "github/Mistral-Large-2411"
    assert prompt["params"] == {"temperature": 0.3, "max_tokens": 40, "top_p": 0.5}
    assert prompt["inputs"] == {"text": {"type": "string"}}
    rendered = Project.open(out).load("label").render({"text": "crash"}).messages
    assert rendered[0]["content"] == 'Label it. Keep {{ spaced }} and {% raw %} and {"a": 1} literal.'
    assert rendered[1]["content"] == "crash / {{unknown}}"
    golden = load(out / "evals/label.yaml")
    assert golden["defaults"]["assert"] == [
        {"type": "starts-with", "value": "Label", "metric": "starts"},
        {"type": "regex", "value": "\\.$", "metric": "ends"},
        {"type": "equals", "value": "bug", "metric": "same"},
        {"type": "judge", "criteria": "The answer conveys the same meaning as the reference answer.", "metric": "sim"},
        {"type": "answer-relevance", "metric": "rel"},
    ]
    case = golden["cases"][0]
    assert case["expected"] == "bug" and case["assert"] == [{"type": "contains", "value": "bug", "metric": "has label"}]
    assert {"model parameter `logprobs`", "string evaluator `matchesGlob`"} <= set(constructs(report))
    assert lint_errors(out) == []


def test_prompty_mapping(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "qa.prompty",
        """
        ---
        name: QA
        description: Answers questions
        model:
          api: chat
          configuration: {type: openai, name: gpt-4o-2024-08-06, api_key: "${env:OPENAI_API_KEY}"}
          parameters: {temperature: 0.4, max_tokens: 200, response_format: {type: json_object}, logit_bias: {}}
        inputs:
          question: {type: string, description: The question}
          n: {type: int, default: 3}
          history: {type: list, is_chat_history: true, default: []}
        sample: {question: Why is the sky blue?, n: 2, history: []}
        ---
        system:
        Answer in {{n}} sentences as JSON.
        {% for m in history %}
        {{m.role}}:
        {{m.content}}
        {% endfor %}

        user:
        {{question}}

        assistant:
        Sure.
        """,
    )
    out = tmp_path / "out"
    report = do_import(src, "prompty", ["qa.prompty"], out)
    prompt = load(out / "prompts/qa.prompt.yaml")
    assert [m["role"] for m in prompt["messages"]] == ["system", "user", "assistant"]
    assert prompt["output"] == "json" and prompt["params"] == {"temperature": 0.4, "max_tokens": 200}
    assert prompt["inputs"] == {
        "history": {"type": "array", "default": []},
        "n": {"type": "integer", "default": 3},
        "question": {"type": "string", "description": "The question"},
    }
    golden = load(out / "evals/qa.yaml")
    assert golden["cases"] == [{"id": "sample", "vars": {"question": "Why is the sky blue?", "n": 2, "history": []}}]
    names = set(constructs(report))
    assert {"API key", "model parameter `logit_bias`", "chat history input"} <= names
    assert "role markers produced by the template (chat history loop)" in names
    line = next(g.line for g in report.unmapped if g.construct == "model parameter `logit_bias`")
    assert line == 7  # counted in the .prompty file, front matter included
    assert lint_errors(out) == []


# -- untrusted input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    ["file://../outside.txt", "file:///etc/passwd", "file://link/secret.txt", "file://sub/../../outside.txt"],
)
def test_file_references_are_confined(tmp_path: Path, ref: str) -> None:
    src = tmp_path / "proj" / "src"
    write(tmp_path / "proj", "outside.txt", "outside\n")
    write(tmp_path, "secret/secret.txt", "secret\n")
    (src).mkdir(parents=True)
    (src / "sub").mkdir()
    (src / "link").symlink_to(tmp_path / "secret")
    write(src, "promptfooconfig.yaml", f'prompts: ["{ref}"]\nproviders: [openai:gpt-4o-2024-08-06]\n')
    with pytest.raises(PromptFileError) as exc:
        do_import(src, "promptfoo", ["promptfooconfig.yaml"], tmp_path / "out")
    assert exc.value.file == "promptfooconfig.yaml" and exc.value.line == 1
    assert "leaves the folder" in exc.value.message
    assert not (tmp_path / "out" / "prompts").exists()


def test_oversized_and_malformed_inputs_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "promptfooconfig.yaml", 'prompts: ["file://big.txt"]\n')
    (src / "big.txt").write_text("x" * 2_000_001)
    with pytest.raises(PromptFileError, match="larger than"):
        do_import(src, "promptfoo", ["promptfooconfig.yaml"], tmp_path / "out")
    write(src, "bad.yaml", "prompts: [\n  - 'a'\n tests: x\n")
    with pytest.raises(PromptFileError) as exc:
        do_import(src, "promptfoo", ["bad.yaml"], tmp_path / "out")
    assert exc.value.file == "bad.yaml" and exc.value.line
    write(
        src,
        "arr.yaml",
        "prompts: ['{{a}}{{b}}']\ntests:\n  - vars: {a: "
        + str(list(range(40)))
        + ", b: "
        + str(list(range(40)))
        + "}\n",
    )
    with pytest.raises(PromptFileError, match="expand into 1,600 cases"):
        do_import(src, "promptfoo", ["arr.yaml"], tmp_path / "out")
    write(src, "x.prompty", "---\nmodel: [\n")
    with pytest.raises(PromptFileError):
        do_import(src, "prompty", ["x.prompty"], tmp_path / "out")


# -- idempotence, conflicts, llmops.yaml -----------------------------------------------------------------------


def test_reimport_is_idempotent_and_never_overwrites_without_force(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "promptfooconfig.yaml", ALL_MAPPED)
    out = tmp_path / "out"
    first = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    assert {a for _, a in first.files} == {"created"}
    snapshot = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    assert {a for _, a in again.files} == {"unchanged"}
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == snapshot
    prompt = out / "prompts/src.prompt.yaml"
    prompt.write_text(prompt.read_text() + "# edited by hand\n")
    with pytest.raises(UsageError, match="use --force"):
        do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    assert prompt.read_text().endswith("# edited by hand\n")
    forced = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out, force=True)
    assert ("prompts/src.prompt.yaml", "overwritten") in forced.files
    assert prompt.read_bytes() == snapshot[prompt]


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "promptfooconfig.yaml", ALL_MAPPED)
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], tmp_path / "out", dry_run=True)
    assert report.dry_run and {a for _, a in report.files} == {"would-create"}
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.yaml"))


def test_existing_config_keeps_its_text_and_aliases(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(
        out,
        "llmops.yaml",
        """
        # my project
        models:
          # the production model
          gpt-4o-mini: {model: openai/gpt-4o-mini-2024-07-18}
          claude: {model: anthropic/claude-3-5-haiku-20241022}
        judge: {prompt: judges/rubric, model: claude}
        concurrency: 4
        """,
    )
    before = (out / "llmops.yaml").read_text()
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        "prompts: ['{{q}}']\nproviders: [openai:gpt-4o-mini, 'anthropic:claude-3-5-haiku-20241022']\n",
    )
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    after = (out / "llmops.yaml").read_text()
    assert after.startswith(before.rstrip("\n").split("judge:")[0].rstrip("\n"))
    assert "# the production model" in after and "concurrency: 4" in after
    models = load(out / "llmops.yaml")["models"]
    assert models["gpt-4o-mini-2"] == {"model": "openai/gpt-4o-mini"}  # name taken by another model
    assert "claude-3-5-haiku-20241022" in models
    assert report.aliases == ["gpt-4o-mini-2", "claude-3-5-haiku-20241022"]
    assert load(out / "prompts/src.prompt.yaml")["model"] == "gpt-4o-mini-2"
    again = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    assert again.aliases == [] and (out / "llmops.yaml").read_text() == after


def test_generated_files_use_no_anchors_and_allowed_params_only(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        """
        x-shared: &shared {temperature: 0.2, repeat_penalty: 1.1}
        prompts: ["{{q}}"]
        providers: [{id: "ollama:chat:qwen2.5:7b", config: *shared}, {id: "ollama:chat:phi4", config: *shared}]
        tests:
          - vars: {q: a}
            assert: &checks [{type: contains, value: a}]
          - vars: {q: b}
            assert: *checks
        """,
    )
    out = tmp_path / "out"
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    for path in [out / "llmops.yaml", out / "evals/src.yaml", out / "prompts/src.prompt.yaml"]:
        text = path.read_text()
        assert "&id" not in text and "*id" not in text
    models = load(out / "llmops.yaml")["models"]
    assert models["qwen2-5-7b"]["params"] == {"temperature": 0.2}
    assert "provider config `repeat_penalty`" in constructs(report)


# -- CLI ------------------------------------------------------------------------------------------------------


def test_cli_import_text_json_and_errors(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        "prompts: ['{{q}}']\nproviders: [openai:gpt-4o-2024-08-06]\ntests:\n  - vars: {q: hi}\n    assert: [{type: javascript, value: 'true'}]\n",
    )
    out = tmp_path / "out"
    res = run_cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(out), cwd=src)
    assert res.exit_code == 0, res.output
    assert "created" in res.stdout and "unmapped     promptfooconfig.yaml:5 (tests[0].assert[0])" in res.stdout
    res = run_cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(out), "--json", cwd=src)
    data = json.loads(res.stdout)
    assert data["schema_version"] == 1 and {f["action"] for f in data["files"]} == {"unchanged"}
    assert data["unmapped"][0]["line"] == 5
    write(src, "esc.yaml", "prompts: ['file://../x.txt']\n")
    res = run_cli("import", "promptfoo", "esc.yaml", "--out", str(out), cwd=src)
    assert res.exit_code == 2 and "error: esc.yaml:1:" in res.stderr and "Traceback" not in res.output
    res = run_cli("import", "gh-models", "missing.prompt.yml", "--out", str(out), cwd=src)
    assert res.exit_code == 2
    res = run_cli("prompt", "lint", cwd=out)
    assert res.exit_code == 0 and "import-gap" in res.stdout


def test_hostile_values_are_refused_or_reported(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        """
        prompts: ["{{q}} {{when}}"]
        providers: [openai:gpt-4o-2024-08-06]
        tests:
          - vars: {q: a, when: 2024-05-01}
            assert:
              - {type: icontains, value: "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}"}
              - {type: icontains, value: "{{ q.__class__ }}"}
        """,
    )
    out = tmp_path / "out"
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    details = {g.path: g.detail for g in report.unmapped}
    assert "template logic" in details["tests[0].assert[0]"]
    assert "not a variable" in details["tests[0].assert[1]"]
    case = load(out / "evals/src.yaml")["cases"][0]
    assert case["vars"]["when"] == "2024-05-01" and "assert" not in case
    assert lint_errors(out) == []
    write(src, "deep.yaml", "prompts: ['{{q}}']\ntests: file://deep.jsonl\n")
    (src / "deep.jsonl").write_text('{"vars": {"q": ' + "[" * 100_000 + "]" * 100_000 + "}}\n")
    with pytest.raises(PromptFileError, match="nested too deeply"):
        do_import(src, "promptfoo", ["deep.yaml"], out)


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/../b", "a b"])
def test_name_option_is_checked(tmp_path: Path, name: str) -> None:
    src = tmp_path / "src"
    write(src, "x.prompty", "user:\n{{q}}\n")
    with pytest.raises(UsageError, match="--name"):
        do_import(src, "prompty", ["x.prompty"], tmp_path / "out", name=name)


def test_importers_stay_light() -> None:
    import subprocess
    import sys

    code = "import llmops_cli.importers, llmops_cli.importers.promptfoo, sys; print(' '.join(sys.modules))"
    loaded = {m.split(".")[0] for m in subprocess.check_output([sys.executable, "-c", code], text=True).split()}
    assert not loaded & {"typer", "rich", "click", "litellm"}


SWAPS: list[Any] = [None, 7, True, "text {{x}}", ["a", {"b": 1}], {"k": [1]}, "file://nope.txt"]


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data[:2]) if isinstance(data, list) else []
    for k, v in items:
        out.append((*path, k))
        if len(path) < 2:
            out += _paths(v, (*path, k))
    return out


@pytest.mark.parametrize("fixture", ["pf-graded-mix", "pf-json-contract", "pf-rag-judge", "gh-llm-evaluator"])
def test_mutated_sources_never_crash(tmp_path: Path, fixture: str) -> None:
    """Every value swapped for another type: the import succeeds or is a user error (exit 2), never a bug."""
    import contextlib
    import random
    import shutil

    from llmops_cli.errors import UserError
    from tests.support.importcorpus import CORPUS, expectation

    exp = expectation(CORPUS / fixture)
    source = CORPUS / fixture / exp["files"][0]
    data = yaml.load(source.read_text(), Loader=yaml.CSafeLoader)
    rnd = random.Random(fixture)
    runs = 0
    for n, path in enumerate(_paths(data)):
        for value in rnd.sample(SWAPS, 2):
            mutated = json.loads(json.dumps(data))
            target = mutated
            for p in path[:-1]:
                target = target[p]
            target[path[-1]] = value
            src = tmp_path / f"m{n}-{runs}"
            shutil.copytree(CORPUS / fixture, src)
            (src / exp["files"][0]).write_text(yaml.safe_dump(mutated))
            with contextlib.suppress(UserError):
                do_import(src, exp["format"], exp["files"], src / "out")
            runs += 1
    assert runs > 20


def test_simple_javascript_checks_map_to_the_same_assertion(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        """
        prompts: ["{{q}}"]
        providers: [openai:gpt-4o-2024-08-06]
        tests:
          - vars: {q: a}
            assert:
              - {type: javascript, value: "output.length <= 280 ? 1 : 0"}
              - {type: javascript, value: "return output.length > 10;"}
              - {type: javascript, value: "output.includes('Paris')"}
              - {type: javascript, value: "!output.toLowerCase().includes('sorry')"}
              - {type: not-javascript, value: "output.includes('x')"}
              - {type: not-javascript, value: "!output.includes('y')"}
              - {type: javascript, value: "output.toLowerCase().includes('NYC')"}
              - {type: javascript, value: "output.length < 180 ? 1 : 0.5"}
        """,
    )
    out = tmp_path / "out"
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    assert load(out / "evals/src.yaml")["cases"][0]["assert"] == [
        {"type": "char-count", "max": 280},
        {"type": "char-count", "min": 11},
        {"type": "contains", "value": "Paris"},
        {"type": "not-icontains", "value": "sorry"},
        {"type": "not-contains", "value": "x"},
        {"type": "contains", "value": "y"},
    ]
    assert [g.path for g in report.unmapped] == ["tests[0].assert[6]", "tests[0].assert[7]"]
    assert sum(g.construct.startswith("javascript `") for g in report.approximated) >= 4


def test_provider_options_and_metadata_are_not_dropped(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        """
        prompts: ["{{q}}"]
        providers:
          - {id: openai:gpt-4o-2024-08-06, label: main, delay: 100, prompts: [x]}
        tests:
          - vars: {q: a}
            metadata: {since: 2024-01-02, owner: qa}
        """,
    )
    out = tmp_path / "out"
    report = do_import(src, "promptfoo", ["promptfooconfig.yaml"], out)
    assert {(g.construct, g.line) for g in report.unmapped} == {
        ("provider option `delay`", 3),
        ("provider option `prompts`", 3),
    }
    case = load(out / "evals/src.yaml")["cases"][0]
    assert case["metadata"]["since"] == "2024-01-02" and case["metadata"]["owner"] == "qa"
    assert load(out / "prompts/src.prompt.yaml")["model"] == "main"


def _corpus(tmp_path: Path, name: str) -> tuple[ImportReport, Path]:
    from tests.support.importcorpus import CORPUS, expectation

    exp = expectation(CORPUS / name)
    out = tmp_path / name
    return do_import(CORPUS / name, exp["format"], exp["files"], out), out


def test_corpus_mappings_in_detail(tmp_path: Path) -> None:
    _, out = _corpus(tmp_path, "pf-json-contract")
    prompt = load(out / "prompts/pf-json-contract.prompt.yaml")
    assert prompt["output"] == "json" and [m["role"] for m in prompt["messages"]] == ["system", "user"]
    golden = load(out / "evals/pf-json-contract.yaml")
    assert golden["defaults"]["assert"][0]["type"] == "json-schema"
    _, out = _corpus(tmp_path, "pf-graded-mix")
    cases = {c["id"]: c for c in load(out / "evals/pf-graded-mix.yaml")["cases"]}
    assert cases["mountains"]["assert"][:2] == [
        {"type": "icontains", "value": "kilimanjaro"},
        {"type": "not-icontains", "value": "everest"},
    ]  # assert-set without a threshold is flattened
    assert cases["capital-of-kenya"]["expected"] == "Nairobi is the capital of Kenya."
    assert {"type": "answer-relevance", "question_var": "query", "threshold": 0.6} in cases["capital-of-kenya"][
        "assert"
    ]
    _, out = _corpus(tmp_path, "pf-assertion-templates")
    # the prompt built by code is a stub beside it now, so the two prompts live in a folder
    case = load(out / "evals/pf-assertion-templates/answer.yaml")["cases"][0]
    assert "stub" in load(out / "prompts/pf-assertion-templates/built-in-js.prompt.yaml")["metadata"]["import"]
    assert case["assert"][0] == {"type": "icontains-all", "values": ["test helpers", "vitest"]}
    assert case["vars"]["spec"].startswith("it('says hello'")
    _, out = _corpus(tmp_path, "pf-glob-tests")
    ids = [c["id"] for c in load(out / "evals/pf-glob-tests.yaml")["cases"]]
    assert ids == ["confirm-modal", "settings-page"]  # cases/*.yaml in sorted order
    _, out = _corpus(tmp_path, "pf-jsonl-labels")
    assert sorted(p.name for p in (out / "prompts/pf-jsonl-labels").iterdir()) == [
        "extraction-v1.prompt.yaml",
        "extraction-v2-1.prompt.yaml",
        "extraction-v2-2.prompt.yaml",
    ]
    report, out = _corpus(tmp_path, "prompty-sample-file")
    prompt = load(out / "prompts/catalog.prompt.yaml")
    assert prompt["inputs"]["documents"]["type"] == "array"  # the sample holds a list, prompty said object
    assert any(g.construct == "input `documents` declared object" for g in report.approximated)
    assert load(out / "llmops.yaml")["models"]["gpt-4o-catalog"]["model"] == "azure/gpt-4o-catalog"


def test_param_values_llmops_refuses_are_reported(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "p.prompt.yml",
        """
        model: openai/gpt-4o-2024-08-06
        modelParameters: {temperature: 7, max_tokens: 0.5, top_p: 0.5}
        messages: [{role: user, content: "{{q}}"}]
        """,
    )
    out = tmp_path / "out"
    report = do_import(src, "gh-models", ["p.prompt.yml"], out)
    assert load(out / "prompts/p.prompt.yaml")["params"] == {"top_p": 0.5}
    assert {g.construct for g in report.unmapped} == {
        "model parameter `temperature`",
        "model parameter `max_tokens`",
    }
