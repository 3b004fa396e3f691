"""Tools in prompt files (issue #22, prompt-file side): ``tools`` (inline and shared tool files), ``tool_choice``,
``parallel_tool_calls``, ``output.strict``; the mapping to the chat contract types; hashing, the release manifest
and the eval cache key; ``prompt render``; ``prompt lint``; ``prompt diff`` (breaking tool changes, tool-definition
tokens); the importers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops_cli.diff.impact import classify_impact
from llmops_cli.errors import IntegrityError
from llmops_cli.evals.cache import cache_key
from llmops_cli.git import discover as open_repo
from llmops_cli.importers import import_files
from llmops_cli.lint import lint_project
from llmops_cli.models.capabilities import supports_response_schema, supports_tools
from llmops_cli.project import Project
from llmops_cli.prompt import Prompt
from llmops_cli.records.chat import ResponseFormat, ToolChoice, ToolSpec
from llmops_cli.releases.manifest import build_manifest, verify
from tests.conftest import GitRepo, run_cli, write
from tests.support.fakellm import FakeLLM

REPO_ROOT = Path(__file__).resolve().parent.parent

ORDERS = """\
description: Order tools shared by the support prompts
tools:
  - name: lookup_order
    description: Look up an order by its id.
    parameters:
      type: object
      properties:
        order_id: {type: string, description: "The order id, e.g. A1"}
      required: [order_id]
      additionalProperties: false
    strict: true
  - name: cancel_order
    description: Cancel an order.
    parameters:
      type: object
      properties:
        order_id: {type: string}
        reason: {type: string, enum: [customer, fraud, stock]}
      required: [order_id]
"""

AGENT = """\
model: openai/gpt-4o-2024-08-06
inputs: {question: {type: string}}
tools:
  - use: orders/lookup_order
  - name: escalate
    description: Hand the conversation to a person.
    parameters:
      type: object
      properties:
        reason: {type: string, enum: [angry, legal]}
tool_choice: auto
parallel_tool_calls: false
messages:
  - {role: user, content: "{{ question }}"}
"""


def project(root: Path, prompt: str = AGENT, orders: str = ORDERS, **extra: str) -> Project:
    write(root, "llmops.yaml", "models: {}\n")
    write(root, "prompts/_tools/orders.yaml", orders)
    write(root, "prompts/agent.prompt.yaml", prompt)
    for rel, text in extra.items():
        write(root, rel, text)
    return Project.open(root)


def load(root: Path, prompt: str = AGENT, orders: str = ORDERS) -> Prompt:
    return project(root, prompt, orders).load("agent")


# -- the prompt file → contract types ---------------------------------------------------------------------------
def test_tools_resolve_to_tool_specs_in_order(tmp_path: Path) -> None:
    p = load(tmp_path)
    assert [t.name for t in p.tools] == ["lookup_order", "escalate"]
    assert isinstance(p.tools[0], ToolSpec) and p.tools[0].strict is True
    assert p.tools[0].parameters["required"] == ["order_id"]
    assert p.tool_choice == ToolChoice(mode="auto")
    assert p.parallel_tool_calls is False
    rendered = p.render(question="where is A1?")
    assert rendered.tools == p.tools and rendered.tool_choice == ToolChoice(mode="auto")
    assert rendered.parallel_tool_calls is False


def test_use_star_takes_every_tool_of_a_file_and_named_choice(tmp_path: Path) -> None:
    prompt = AGENT.replace("  - use: orders/lookup_order\n", "  - use: orders/*\n").replace(
        "tool_choice: auto", "tool_choice: {name: cancel_order}"
    )
    p = load(tmp_path, prompt)
    assert [t.name for t in p.tools] == ["lookup_order", "cancel_order", "escalate"]
    assert p.tool_choice == ToolChoice(mode="function", name="cancel_order")


def test_nested_tool_file_folders(tmp_path: Path) -> None:
    write(tmp_path, "prompts/_tools/billing/refunds.yaml", "tools:\n  - {name: refund, description: Refund.}\n")
    prompt = AGENT.replace("  - use: orders/lookup_order\n", "  - use: billing/refunds/refund\n")
    assert [t.name for t in load(tmp_path, prompt).tools] == ["refund", "escalate"]


def test_tools_folder_is_configurable(tmp_path: Path) -> None:
    write(tmp_path, "shared/tools/orders.yaml", ORDERS)
    proj = project(tmp_path)
    write(tmp_path, "llmops.yaml", "paths: {tools: shared/tools}\n")
    os.remove(tmp_path / "prompts/_tools/orders.yaml")
    assert [t.name for t in Project.open(tmp_path).load("agent").tools] == ["lookup_order", "escalate"]
    assert proj.tools_dir == "prompts/_tools"


def test_strict_output_maps_to_a_json_schema_response_format(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    prompt = AGENT + "output: " + json.dumps({"format": "json", "schema": schema, "strict": True}) + "\n"
    p = load(tmp_path, prompt)
    assert p.output_format == ResponseFormat(type="json_schema", schema=schema, strict=True)
    assert p.response_format == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": True},
    }
    plain = load(tmp_path, AGENT + "output: json\n")
    assert plain.output_format == ResponseFormat(type="json_object") and plain.response_format == {
        "type": "json_object"
    }
    assert load(tmp_path).output_format is None


def test_strict_output_needs_a_schema(tmp_path: Path) -> None:
    from llmops_cli.errors import PromptFileError

    with pytest.raises(PromptFileError) as info:
        load(tmp_path, AGENT + "output: {format: json, strict: true}\n")
    assert "requires format: json and a schema" in info.value.message


# -- a tool change is a prompt change ------------------------------------------------------------------------------
def test_prompts_without_tools_keep_their_hash_payload(tmp_path: Path) -> None:
    plain = "model: openai/gpt-4o-2024-08-06\nmessages:\n  - {role: user, content: hi}\noutput: json\n"
    payload = load(tmp_path, plain).hash_payload()
    assert set(payload) == {"model", "params", "inputs", "output", "messages", "partials"}
    assert payload["output"] == {"format": "json", "schema": None}
    assert "tools" not in load(tmp_path, plain).call_fields()


def test_every_tool_change_changes_the_content_hash(tmp_path: Path) -> None:
    base = load(tmp_path).sha256
    changes = [
        (AGENT.replace("Hand the conversation", "Pass the conversation"), ORDERS),
        (AGENT.replace("tool_choice: auto", "tool_choice: required"), ORDERS),
        (AGENT.replace("parallel_tool_calls: false", "parallel_tool_calls: true"), ORDERS),
        (AGENT.replace("[angry, legal]", "[angry]"), ORDERS),
        (AGENT, ORDERS.replace("Look up an order", "Find an order")),  # the shared tool file
        (AGENT, ORDERS.replace("    strict: true\n", "")),
    ]
    hashes = {base}
    for prompt, orders in changes:
        sha = load(tmp_path, prompt, orders).sha256
        assert sha not in hashes
        hashes.add(sha)
    # a tool of the file the prompt does not use is not part of it
    assert load(tmp_path, AGENT, ORDERS.replace("Cancel an order.", "Cancel it.")).sha256 == base


def test_request_hash_and_eval_cache_key_cover_the_tools(tmp_path: Path) -> None:
    a = load(tmp_path).render(question="q")
    b = load(tmp_path, AGENT.replace("[angry, legal]", "[angry]")).render(question="q")
    assert a.messages == b.messages and a.request_hash != b.request_hash
    assert a.to_dict()["tools"][0]["name"] == "lookup_order"
    common: dict[str, Any] = {
        "kind": "generation", "model": "m", "api_base": None, "messages": a.messages, "params": {},
        "response_format": None, "sample": 0,
    }  # fmt: skip
    assert cache_key(**common) == cache_key(**common, tools=None) == cache_key(**common, tools={})
    key_a, key_b = cache_key(**common, tools=a.tool_fields()), cache_key(**common, tools=b.tool_fields())
    assert len({cache_key(**common), key_a, key_b}) == 3


def test_generation_key_and_request_hash_take_the_tools(tmp_path: Path) -> None:
    from llmops_cli.evals.execute import generation_key, request_hash_of
    from llmops_cli.models import Target

    p = load(tmp_path)
    target = Target(model=p.model)
    msgs = p.render(question="q").messages
    assert generation_key(target, msgs, {}, None, 0) != generation_key(target, msgs, {}, None, 0, p.tool_fields())
    assert request_hash_of(target, msgs, {}, None) != request_hash_of(target, msgs, {}, None, p.tool_fields())


def test_release_manifest_records_and_checks_the_tools(tmp_path: Path) -> None:
    p = load(tmp_path)
    manifest = build_manifest(p, "1.0.0", "0" * 40)
    assert manifest.tools is not None and [t["name"] for t in manifest.tools] == ["lookup_order", "escalate"]
    assert manifest.tool_choice == {"mode": "auto", "name": None} and manifest.parallel_tool_calls is False
    verify(p, manifest, where="tag")
    tampered = manifest.model_copy(update={"tools": manifest.tools[:1]})
    with pytest.raises(IntegrityError, match="manifest's tools"):
        verify(p, tampered, where="tag")
    changed = load(tmp_path, AGENT.replace("[angry, legal]", "[angry]"))
    with pytest.raises(IntegrityError, match="does not match"):
        verify(changed, manifest, where="tag")


# -- render ------------------------------------------------------------------------------------------------------
def test_prompt_render_shows_the_tools(tmp_path: Path) -> None:
    project(tmp_path)
    env = {"PYTHONPATH": str(REPO_ROOT)}
    res = run_cli("prompt", "render", "agent", "--var", "question=hi", cwd=tmp_path, env=env)
    assert res.exit_code == 0, res.output
    assert "── tools (2)" in res.stdout
    assert "lookup_order(order_id: string)  [strict]  — Look up an order by its id." in res.stdout
    assert 'escalate(reason?: "angry"|"legal")  — Hand the conversation to a person.' in res.stdout
    assert "tool_choice: auto  parallel_tool_calls: false" in res.stdout
    res = run_cli("prompt", "render", "agent", "--var", "question=hi", "--json", cwd=tmp_path, env=env)
    data = json.loads(res.stdout)
    assert [t["name"] for t in data["tools"]] == ["lookup_order", "escalate"]
    assert data["tool_choice"] == {"mode": "auto", "name": None} and data["parallel_tool_calls"] is False


# -- lint --------------------------------------------------------------------------------------------------------
BAD_AGENT = """\
model: openai/gpt-3.5-turbo
tools:
  - use: orders/*
  - name: broken
    parameters: {type: object, properties: {a: {type: strin}}}
  - name: strictish
    description: Strict but loose.
    parameters: {type: object, properties: {a: {type: string}, b: {type: integer}}, required: [a]}
    strict: true
  - name: regexy
    description: A pattern RE2 cannot run.
    parameters: {type: object, properties: {a: {type: string, pattern: "(a)\\\\1"}}}
output: {format: json, schema: {type: object, properties: {x: {type: string}}}, strict: true}
messages:
  - {role: user, content: hi}
"""


def _findings(root: Path) -> list[tuple[str, str, str, int | None]]:
    return [(f.severity, f.code, f.file, f.line) for f in lint_project(Project.open(root), ["agent"])]


def test_lint_checks_tool_schemas_strict_rules_and_model_support(tmp_path: Path) -> None:
    orders = ORDERS.replace("    description: Cancel an order.\n", "")
    project(tmp_path, BAD_AGENT, orders)
    findings = lint_project(Project.open(tmp_path), ["agent"])
    got = {(f.severity, f.code, f.file, f.line) for f in findings}
    assert ("error", "bad-tool-schema", "prompts/agent.prompt.yaml", 5) in got
    assert ("error", "bad-tool-schema", "prompts/agent.prompt.yaml", 12) in got  # RE2
    assert ("warning", "tool-description", "prompts/_tools/orders.yaml", 13) in got  # cancel_order, in its file
    assert ("warning", "tool-description", "prompts/agent.prompt.yaml", 5) in got
    assert ("warning", "strict-schema", "prompts/agent.prompt.yaml", 8) in got
    assert ("warning", "strict-output-unsupported", "prompts/agent.prompt.yaml", 13) in got
    messages = " | ".join(f.message for f in findings)
    assert "every property must be required (not: b)" in messages
    assert "needs 'additionalProperties: false'" in messages
    assert "'strin' is not valid" in messages
    assert "gpt-3.5-turbo" in messages and "json_object" in messages


def test_lint_is_quiet_about_a_correct_tool_prompt(tmp_path: Path) -> None:
    project(tmp_path, AGENT.replace("model: openai/gpt-4o-2024-08-06", "model: openai/gpt-4o-2024-08-06"))
    codes = {code for _, code, _, _ in _findings(tmp_path)}
    assert codes == {"no-golden-set"}


def test_lint_reports_load_errors_of_tools_with_their_line(tmp_path: Path) -> None:
    project(tmp_path, AGENT.replace("tool_choice: auto", "tool_choice: {name: refund}"))
    assert _findings(tmp_path) == [("error", "tools", "prompts/agent.prompt.yaml", 11)]


def test_lint_does_not_import_litellm(tmp_path: Path) -> None:
    project(tmp_path, BAD_AGENT)
    code = (
        "import sys\nfrom llmops_cli.project import Project\nfrom llmops_cli.lint import lint_project\n"
        f"f = lint_project(Project.open({str(tmp_path)!r}))\n"
        "assert any(x.code == 'strict-output-unsupported' for x in f)\n"
        "assert 'litellm' not in sys.modules, 'lint imported litellm'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_model_capabilities_from_the_static_table() -> None:
    assert supports_response_schema("openai/gpt-4o-2024-08-06") is True
    assert supports_response_schema("gpt-4o-mini-2024-07-18") is True
    assert supports_response_schema("openai/gpt-3.5-turbo") is False
    assert supports_response_schema("hosted_vllm/my-own-model") is None
    assert supports_response_schema("local/smollm2") is True  # grammar-constrained
    assert supports_response_schema("fireworks_ai/anything") is True
    assert supports_tools("openai/gpt-4o-2024-08-06") is True
    assert supports_tools("nobody/knows") is None


# -- diff --------------------------------------------------------------------------------------------------------
def _impact(tmp_path: Path, new_prompt: str, new_orders: str = ORDERS) -> tuple[str, list[tuple[str, str]]]:
    old = load(tmp_path / "old")
    new = load(tmp_path / "new", new_prompt, new_orders)
    impact = classify_impact(old, new)
    return impact.level, [(c.kind, c.text) for c in impact.changes]


@pytest.mark.parametrize(
    ("prompt", "orders", "kind", "level", "text"),
    [
        (AGENT.replace("  - use: orders/lookup_order\n", ""), ORDERS, "tool_removed", "breaking",
         "tool `lookup_order` removed"),
        (AGENT.replace("/lookup_order", "/*"), ORDERS, "tool_added", "breaking", "tool `cancel_order` added"),
        (AGENT, ORDERS.replace("      required: [order_id]\n      additionalProperties", "      additionalProperties"),
         "tool_required_changed", "breaking", "argument `order_id` no longer required"),
        (AGENT, ORDERS.replace("order_id: {type: string, description", "order_id: {type: integer, description"),
         "tool_param_retyped", "breaking", 'argument `order_id` type "string" → "integer"'),
        (AGENT.replace("[angry, legal]", "[angry]"), ORDERS, "tool_enum_narrowed", "breaking",
         '["legal"] no longer allowed'),
        (AGENT.replace("reason: {type: string, enum: [angry, legal]}", "note: {type: string}"), ORDERS,
         "tool_param_removed", "breaking", "argument `reason` removed"),
        (AGENT.replace("[angry, legal]", "[angry, legal, other]"), ORDERS, "tool_enum_widened", "feature",
         '["other"] allowed'),
        (AGENT.replace("properties:\n        reason:", "properties:\n        note: {type: string}\n        reason:"),
         ORDERS, "tool_param_added_optional", "feature", "argument `note` added (optional)"),
        (AGENT.replace("properties:\n        reason:", "required: [note]\n      properties:\n        note: {type: string}\n        reason:"),
         ORDERS, "tool_param_added_required", "breaking", "argument `note` added (required)"),
        (AGENT.replace("tool_choice: auto", "tool_choice: required"), ORDERS, "tool_choice_changed", "feature",
         "tool_choice auto → required"),
        (AGENT.replace("Hand the conversation", "Pass the conversation"), ORDERS, "tool_description_changed",
         "patch", "tool `escalate` description changed"),
        (AGENT, ORDERS.replace('"The order id, e.g. A1"', '"The order id"'), "tool_schema_changed", "patch",
         "tool `lookup_order` parameters schema changed"),
        (AGENT.replace("parallel_tool_calls: false", "parallel_tool_calls: true"), ORDERS,
         "parallel_tool_calls_changed", "patch", "parallel_tool_calls false → true"),
    ],
)  # fmt: skip
def test_diff_classifies_tool_changes(
    tmp_path: Path, prompt: str, orders: str, kind: str, level: str, text: str
) -> None:
    got_level, changes = _impact(tmp_path, prompt, orders)
    assert got_level == level, changes
    assert any(k == kind and text in t for k, t in changes), changes


def test_unchanged_tools_make_no_change(tmp_path: Path) -> None:
    level, changes = _impact(tmp_path, AGENT)
    assert (level, changes) == ("none", [])


def test_diff_cost_counts_tool_definition_tokens(tmp_path: Path) -> None:
    from llmops_cli.diff.cost import side_cost

    p = load(tmp_path)
    renders = [p.render(question="where is my order?")]
    with_tools = side_cost(p, renders)
    plain = load(
        tmp_path / "plain", AGENT.split("tools:")[0] + "messages:\n  - {role: user, content: '{{ question }}'}\n"
    )
    without = side_cost(plain, [plain.render(question="where is my order?")])
    assert without.tool_tokens == 0 and with_tools.tool_tokens > 30
    assert with_tools.mean_input_tokens == pytest.approx(without.mean_input_tokens + with_tools.tool_tokens)
    assert with_tools.to_dict()["tool_definition_tokens"] == with_tools.tool_tokens


def test_prompt_diff_cli_calls_out_breaking_tool_changes(tmp_git_repo: GitRepo) -> None:
    repo = tmp_git_repo
    repo.write("llmops.yaml", "models: {}\n")
    repo.write("prompts/_tools/orders.yaml", ORDERS)
    repo.write("prompts/agent.prompt.yaml", AGENT)
    repo.commit("base")
    repo.write(
        "prompts/_tools/orders.yaml",
        ORDERS.replace("required: [order_id]\n      additionalProperties", "additionalProperties"),
    )
    res = run_cli("prompt", "diff", "--cost", cwd=repo.root, env={"PYTHONPATH": str(REPO_ROOT)})
    assert res.exit_code == 0, res.output
    assert "agent  affected  BREAKING" in res.stdout
    assert "shared tool `lookup_order` changed" in res.stdout
    assert "tool `lookup_order` argument `order_id` no longer required  [breaking]" in res.stdout
    assert "tool definitions:" in res.stdout


# -- importers ---------------------------------------------------------------------------------------------------
PROMPTFOO = """\
prompts: ["Answer: {{question}}"]
providers:
  - id: openai:chat:gpt-4o-2024-08-06
    config:
      tools: file://tools.json
      tool_choice: {type: function, function: {name: lookup_order}}
      parallel_tool_calls: false
      functions:
        - {name: legacy_fn, parameters: {type: object, properties: {x: {type: string}}}}
        - {name: "bad name!", parameters: {type: object}}
      response_format:
        type: json_schema
        json_schema: {name: out, strict: true, schema: {type: object, properties: {a: {type: string}}, required: [a], additionalProperties: false}}
tests:
  - vars: {question: where is A1}
    assert:
      - type: is-valid-openai-tools-call
      - type: tool-call-f1
        value: [lookup_order]
        threshold: 0.8
"""
TOOLS_JSON = [
    {"type": "function", "function": {"name": "lookup_order", "description": "Find an order", "strict": True,
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"],
                    "additionalProperties": False}}},
    {"type": "web_search_preview"},
    {"name": "anthropic_style", "description": "d", "input_schema": {"type": "object", "properties": {}}},
    {"type": "function", "function": {"name": "remote", "parameters": {"type": "object", "properties": {
        "a": {"$ref": "https://evil.example/x.json"}}}}},
]  # fmt: skip


def _import(src: Path, fmt: str, file: str, out: Path) -> Any:
    cwd = os.getcwd()
    os.chdir(src)
    try:
        return import_files(fmt, [file], str(out))
    finally:
        os.chdir(cwd)


def test_promptfoo_tools_tool_choice_and_tool_assertions(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, "promptfooconfig.yaml", PROMPTFOO)
    write(src, "tools.json", json.dumps(TOOLS_JSON))
    report = _import(src, "promptfoo", "promptfooconfig.yaml", out)
    prompt = yaml.safe_load((out / "prompts/src.prompt.yaml").read_text(encoding="utf-8"))
    assert [t["name"] for t in prompt["tools"]] == ["lookup_order", "anthropic_style", "legacy_fn"]
    assert prompt["tools"][0]["strict"] is True and prompt["tools"][0]["parameters"]["required"] == ["order_id"]
    assert prompt["tool_choice"] == {"name": "lookup_order"} and prompt["parallel_tool_calls"] is False
    assert prompt["output"]["strict"] is True
    gaps = {g.construct: g.detail for g in report.unmapped}
    assert "only function tools" in gaps["provider config `tools` entry"]
    assert "remote $ref" in gaps["tool 'remote'"]
    assert "tool name" in gaps["tool 'bad name!'"]
    # the imported project loads and its tools are the contract types
    loaded = Project.open(out).load("src")
    assert [t.name for t in loaded.tools] == ["lookup_order", "anthropic_style", "legacy_fn"]
    golden = yaml.safe_load((out / "evals/src.yaml").read_text(encoding="utf-8"))
    asserts = golden["cases"][0].get("assert", [])
    from llmops_cli.evals import assertions

    if "tool-call-f1" in getattr(assertions, "ASSERTION_FIELDS", {}) or any(
        a.get("type") == "tool-call-f1" for a in asserts
    ):  # the tool assertions are in this build: mapped
        assert {"type": "tool-args-valid"} in asserts
        assert {"type": "tool-call-f1", "expected": ["lookup_order"], "threshold": 0.8} in asserts
    else:  # not yet: the mapping is reported, naming the llmops assertion it maps to
        assert "maps to llmops `tool-args-valid`" in gaps["is-valid-openai-tools-call assertion"]
        assert "maps to llmops `tool-call-f1`" in gaps["tool-call-f1 assertion"]


def test_promptfoo_tool_choice_naming_a_tool_not_imported(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    cfg = PROMPTFOO.replace("      tools: file://tools.json\n", "").replace("lookup_order}}", "ghost}}")
    write(src, "promptfooconfig.yaml", cfg.split("tests:")[0])
    report = _import(src, "promptfoo", "promptfooconfig.yaml", out)
    prompt = yaml.safe_load((out / "prompts/src.prompt.yaml").read_text(encoding="utf-8"))
    assert "tool_choice" not in prompt and [t["name"] for t in prompt["tools"]] == ["legacy_fn"]
    assert any(g.construct == "tool_choice" and "ghost" in g.detail for g in report.unmapped)


def test_prompty_tools(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(
        src,
        "agent.prompty",
        """\
        ---
        name: Agent
        model:
          api: chat
          configuration: {type: openai, name: gpt-4o-2024-08-06}
          parameters:
            temperature: 0
            tools:
              - type: function
                function:
                  name: get_weather
                  description: Weather for a city
                  parameters: {type: object, properties: {city: {type: string}}, required: [city]}
            tool_choice: {type: function, function: {name: get_weather}}
            parallel_tool_calls: true
        tools:
          - {kind: function, name: get_time, description: Time in a city, parameters: {type: object, properties: {}}}
          - {kind: mcp, name: server}
        ---
        system:
        You help.
        user:
        {{question}}
        """,
    )
    report = _import(src, "prompty", "agent.prompty", out)
    prompt = yaml.safe_load((out / "prompts/agent.prompt.yaml").read_text(encoding="utf-8"))
    assert [t["name"] for t in prompt["tools"]] == ["get_time", "get_weather"]
    assert prompt["tool_choice"] == {"name": "get_weather"} and prompt["parallel_tool_calls"] is True
    assert prompt["params"] == {"temperature": 0}
    assert any("only function tools" in g.detail for g in report.unmapped)
    assert [t.name for t in Project.open(out).load("agent").tools] == ["get_time", "get_weather"]


def test_gh_models_strict_json_schema(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    write(
        src,
        "x.prompt.yml",
        "model: openai/gpt-4o-mini\nmessages:\n  - {role: user, content: hi}\nresponseFormat: json_schema\n"
        "jsonSchema: " + json.dumps({"name": "o", "strict": True, "schema": schema}) + "\n",
    )
    _import(src, "gh-models", "x.prompt.yml", out)
    prompt = yaml.safe_load((out / "prompts/x.prompt.yaml").read_text(encoding="utf-8"))
    assert prompt["output"] == {"format": "json", "schema": schema, "strict": True}


# -- releases ----------------------------------------------------------------------------------------------------
def test_release_of_a_tool_prompt_covers_its_tool_file(tmp_git_repo: GitRepo, tmp_path: Path) -> None:
    from llmops_cli.errors import GitError
    from llmops_cli.releases.bundle import build_bundle, write_bundle
    from llmops_cli.releases.create import create_release
    from llmops_cli.releases.loader import clear_cache, load_prompt

    clear_cache()
    repo = tmp_git_repo
    repo.write("llmops.yaml", "models: {}\n")
    repo.write("prompts/_tools/orders.yaml", ORDERS)
    repo.write("prompts/agent.prompt.yaml", AGENT)
    repo.commit("tool prompt")
    (repo.root / "prompts/_tools/orders.yaml").write_text(ORDERS.replace("Look up", "Find"), encoding="utf-8")
    with pytest.raises(GitError, match=r"uncommitted changes.*_tools/orders\.yaml"):
        create_release("agent", root=repo.root, allow_no_gate=True)
    repo.git("checkout", "--", "prompts/_tools/orders.yaml")
    res = create_release("agent", root=repo.root, allow_no_gate=True)
    released = load_prompt("agent", res.version, root=repo.root)
    assert [t.name for t in released.tools] == ["lookup_order", "escalate"]
    out = write_bundle(build_bundle(open_repo(repo.root), [("agent", res.version)]), tmp_path / "b.json")
    entry = json.loads(out.read_text())["prompts"]["agent"]["releases"][res.version]
    assert "prompts/_tools/orders.yaml" in entry["files"]
    from_bundle = load_prompt("agent", res.version, bundle=out)
    assert from_bundle.tools == released.tools and from_bundle.sha256 == released.sha256
    # a bundle whose tool file was edited no longer matches the manifest
    data = json.loads(out.read_text())
    files = data["prompts"]["agent"]["releases"][res.version]["files"]
    files["prompts/_tools/orders.yaml"] = files["prompts/_tools/orders.yaml"].replace("Look up", "Find")
    out.write_text(json.dumps(data))
    clear_cache()
    with pytest.raises(IntegrityError):
        load_prompt("agent", res.version, bundle=out)


# -- the eval cache, end to end ------------------------------------------------------------------------------------
def test_eval_cache_misses_after_a_tool_change_and_replays_otherwise(
    tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same messages, different tool definition: the second run pays again; an unchanged rerun replays."""
    from llmops_cli.evals.plan import EvalOptions
    from llmops_cli.evals.runner import run_eval
    from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project

    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.delenv("LLMOPS_CACHE_DIR", raising=False)
    fake_llm.default_reply = "Your order A1 ships today."
    root = make_eval_project(tmp_path, fake_llm.url, golden="cases: [{id: a, vars: {question: where is A1}}]")
    write(root, "prompts/_tools/orders.yaml", ORDERS)
    prompt = AGENT.replace("model: openai/gpt-4o-2024-08-06", "model: chat")
    write(root, "prompts/support/answer.prompt.yaml", prompt)

    def run() -> None:
        run_eval(Project.open(root), EvalOptions(names=["support/answer"]), notify=lambda _: None)

    run()
    assert fake_llm.count == 1
    run()
    assert fake_llm.count == 1  # replayed
    write(root, "prompts/_tools/orders.yaml", ORDERS.replace("Look up an order", "Find an order"))
    run()
    assert fake_llm.count == 2  # the shared tool file changed: a new request
    write(root, "prompts/support/answer.prompt.yaml", prompt.replace("tool_choice: auto", "tool_choice: required"))
    run()
    assert fake_llm.count == 3
