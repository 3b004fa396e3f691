"""Loading, validating, hashing and rendering prompt files (library and CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_cli import PromptFileError, SandboxViolation, TemplateError, VariablesError, load_prompt
from llmops_cli.project import Project
from tests.conftest import make_sample_project, write


def test_load_and_render_library(sample_project: Path) -> None:
    p = load_prompt("support/answer", root=sample_project)
    r = p.render(question="Where is my parcel?", context=["It ships in 2 days."])
    assert r.model == "openai/gpt-4o-mini-2024-07-18"
    assert r.params == {"temperature": 0.2, "max_tokens": 300}
    assert r.messages[0] == {
        "role": "system",
        "content": "You are friendly and concise.\nAnswer in en using only the context.",
    }
    assert r.messages[1]["content"] == "- It ships in 2 days.\nQuestion: Where is my parcel?"
    assert len(p.sha256) == 64 and r.prompt_sha256 == p.sha256
    assert p.partials == {"tone.j2": "You are friendly and concise.\n"}


def test_defaults_apply_and_are_not_shared(sample_project: Path) -> None:
    p = load_prompt("support/answer", root=sample_project)
    assert p.render(question="q").variables == {"question": "q", "context": [], "locale": "en"}


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        ({}, "`question`: missing required input"),
        ({"question": "q", "colour": "red"}, "`colour`: unknown input"),
        ({"question": 3}, "`question`: expected string, got integer"),
        ({"question": "q", "context": "nope"}, "`context`: expected array, got string"),
        ({"question": "q", "locale": "fr"}, "`locale`: 'fr' is not one of ['en', 'de']"),
    ],
)
def test_variables_are_validated(sample_project: Path, given: dict, needle: str) -> None:
    p = load_prompt("support/answer", root=sample_project)
    with pytest.raises(VariablesError) as exc:
        p.render(given)
    assert needle in str(exc.value)


def test_every_offending_variable_is_named(sample_project: Path) -> None:
    p = load_prompt("support/answer", root=sample_project)
    with pytest.raises(VariablesError) as exc:
        p.render({"question": 1, "extra": 2, "locale": "xx"})
    assert len(exc.value.problems) == 3


def test_variables_cannot_rewrite_the_request(sample_project: Path) -> None:
    """YAML is parsed before rendering: a value that looks like YAML stays text."""
    p = load_prompt("support/answer", root=sample_project)
    evil = "x\nmodel: openai/gpt-4o\nparams: {temperature: 2}\n{{ 7*7 }}"
    r = p.render(question=evil)
    assert r.model == "openai/gpt-4o-mini-2024-07-18"
    assert "{{ 7*7 }}" in r.messages[1]["content"]  # values are never re-templated


@pytest.mark.parametrize(
    "expr",
    [
        "{{ question.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ question.__class__.mro() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{% for c in ''.__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ context.append(1) }}",
    ],
)
def test_sandbox_blocks_escapes(sample_project: Path, expr: str) -> None:
    write(
        sample_project,
        "prompts/evil.prompt.yaml",
        f"""
        model: chat
        inputs: {{question: {{type: string}}, context: {{type: array, default: []}}}}
        messages:
          - role: user
            content: "{expr}"
    """,
    )
    p = Project.open(sample_project).load("evil")
    with pytest.raises((SandboxViolation, TemplateError)):
        p.render(question="q")


def test_undefined_is_strict(sample_project: Path) -> None:
    write(
        sample_project,
        "prompts/u.prompt.yaml",
        """
        model: chat
        messages: [{role: user, content: "Hi {{ nobody }}"}]
    """,
    )
    with pytest.raises(TemplateError, match="undefined"):
        Project.open(sample_project).load("u").render()


def test_hash_ignores_comments_order_whitespace_and_description(sample_project: Path) -> None:
    proj = Project.open(sample_project)
    h1 = proj.load("support/answer").sha256
    f = sample_project / "prompts/support/answer.prompt.yaml"
    text = f.read_text()
    reordered = "# a comment\n" + text.replace("description: Answer a support question", "description: Other words")
    reordered = reordered.replace("params: {max_tokens: 300}", "params:\n  max_tokens:   300   # budget\n")
    f.write_text(reordered)
    assert Project.open(sample_project).load("support/answer").sha256 == h1


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        ("prompts/support/answer.prompt.yaml", "max_tokens: 300", "max_tokens: 301"),
        ("prompts/support/answer.prompt.yaml", "Answer in", "Reply in"),
        ("prompts/support/answer.prompt.yaml", "enum: [en, de]", "enum: [en, de, fr]"),
        ("prompts/_partials/tone.j2", "friendly", "formal"),
        ("llmops.yaml", "gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"),
    ],
)
def test_hash_covers_behaviour(sample_project: Path, path: str, old: str, new: str) -> None:
    h1 = Project.open(sample_project).load("support/answer").sha256
    f = sample_project / path
    f.write_text(f.read_text().replace(old, new))
    assert Project.open(sample_project).load("support/answer").sha256 != h1


def test_template_file_and_nested_partials(tmp_path: Path) -> None:
    root = make_sample_project(tmp_path)
    write(root, "prompts/_partials/outer.j2", 'Outer {% include "inner.j2" %}')
    write(root, "prompts/_partials/inner.j2", "inner {{ name }}")
    write(root, "prompts/greet/system.j2", '{% include "outer.j2" %}!')
    write(
        root,
        "prompts/greet/hello.prompt.yaml",
        """
        model: chat
        inputs: {name: {type: string}}
        messages: [{role: system, template: system.j2}]
    """,
    )
    p = Project.open(root).load("greet/hello")
    assert p.render(name="Ada").messages[0]["content"] == "Outer inner Ada!"
    assert set(p.partials) == {"outer.j2", "inner.j2"}
    assert p.variables_used == {"name"}


@pytest.mark.parametrize(
    ("body", "exc", "line", "needle"),
    [
        ("model: chat\nmessages: [\n", PromptFileError, 3, "invalid YAML"),
        (
            "model: chat\ncolour: red\nmessages: [{role: user, content: hi}]\n",
            PromptFileError,
            2,
            "colour: unknown field",
        ),
        ("model: chat\nmessages:\n  - role: robot\n    content: hi\n", PromptFileError, 3, "messages -> 0 -> role"),
        (
            "model: chat\nmessages:\n  - role: user\n    content: |\n      ok\n      {% if %}\n",
            TemplateError,
            6,
            "syntax",
        ),
        (
            "model: chat\nmessages:\n  - role: user\n    content: '{% include \"nope.j2\" %}'\n",
            TemplateError,
            4,
            "nope.j2",
        ),
        ("model: chat\nmessages: [{role: user, template: missing.j2}]\n", TemplateError, 2, "missing.j2"),
        (
            "model: chat\ninputs: {a: {type: strin}}\nmessages: [{role: user, content: hi}]\n",
            PromptFileError,
            2,
            "inputs -> a -> type",
        ),
        ("- just\n- a list\n", PromptFileError, 1, "mapping"),
    ],
)
def test_bad_files_give_file_and_line(sample_project: Path, body: str, exc: type, line: int, needle: str) -> None:
    (sample_project / "prompts/bad.prompt.yaml").write_text(body)
    with pytest.raises(exc) as info:
        Project.open(sample_project).load("bad")
    assert info.value.file.endswith(".prompt.yaml")
    assert info.value.line == line, str(info.value)
    assert needle in str(info.value)


def test_binary_file_is_a_user_error(sample_project: Path) -> None:
    (sample_project / "prompts/bin.prompt.yaml").write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(PromptFileError, match="binary"):
        Project.open(sample_project).load("bin")


def test_golden_case_render_and_lines(sample_project: Path) -> None:
    proj = Project.open(sample_project)
    gs = proj.golden_set("support/answer")
    assert [c.id for c in gs.cases] == ["refund", "shipping"]
    assert gs.line_of("shipping") == 8
    assert gs.cases[0].asserts == [{"type": "icontains", "value": "5 days"}]


def test_schema_file_is_current_and_validates_real_prompts() -> None:
    import jsonschema
    import yaml

    from llmops_cli.spec import prompt_json_schema

    root = Path(__file__).resolve().parent.parent
    committed = json.loads((root / "schemas/prompt.schema.json").read_text())
    assert committed == prompt_json_schema(), "run: llmops schema > schemas/prompt.schema.json"
    files = sorted((root / "prompts").rglob("*.prompt.yaml"))
    assert files
    for f in files:
        jsonschema.validate(yaml.safe_load(f.read_text()), committed)


def test_large_golden_sets_are_parsed_once(tmp_path: Path) -> None:
    """A large YAML golden set is cached as JSON by content hash; edits are seen at once."""
    root = make_sample_project(tmp_path / "p")
    cases = "".join(
        f"  - {{id: c{i}, vars: {{question: 'Question number {i}?'}}, tags: [t{i % 7}]}}\n" for i in range(800)
    )
    write(root, "evals/support/answer.yaml", "cases:\n" + cases)
    first = Project.open(root).golden_set("support/answer")
    cached = list((root / ".llmops/cache/parsed-yaml").glob("*.json"))
    assert len(first.cases) == 800 and len(cached) == 1
    again = Project.open(root).golden_set("support/answer")
    assert [c.model_dump() for c in again.cases] == [c.model_dump() for c in first.cases]
    write(root, "evals/support/answer.yaml", "cases:\n" + cases.replace("c799", "last"))
    assert Project.open(root).golden_set("support/answer").cases[-1].id == "last"


def test_jsonl_golden_sets(sample_project: Path) -> None:
    (sample_project / "evals/support/answer.yaml").unlink()
    write(
        sample_project,
        "evals/support/answer.jsonl",
        """
        {"id": "a", "vars": {"question": "Hi?"}, "cluster": "x"}

        {"id": "b", "vars": {"question": "Bye?"}, "assert": [{"type": "icontains", "value": "bye"}]}
    """,
    )
    gs = Project.open(sample_project).golden_set("support/answer")
    assert [c.id for c in gs.cases] == ["a", "b"] and gs.line_of("b") == 3
    write(sample_project, "evals/support/answer.jsonl", '{"id": "a", "vars": {}}\n{"id": "b", "colour": 1}\n')
    with pytest.raises(PromptFileError) as exc:
        Project.open(sample_project).golden_set("support/answer")
    assert exc.value.line == 2 and exc.value.file == "evals/support/answer.jsonl"
