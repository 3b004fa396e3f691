"""Safety assertions: ``pii``, ``no-pii-leak``, ``refusal`` / ``no-refusal`` (the phrase model's tables in four
languages), the ``toxicity`` / ``off-topic`` judge types, and validation in evals and in ``prompt lint``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import PromptFileError
from llmops_cli.evals.assertions import OutputContext, evaluate, parse_assertions
from llmops_cli.evals.judges import TYPE_PROMPTS, candidate_inputs
from llmops_cli.safety.refusal import HEAD_CHARS, is_refusal, refusal_match

REFUSALS = [
    ("en", "I'm sorry, but I can't help with that."),
    ("en", "I’m sorry — I cannot provide instructions for that."),
    ("en", "Unfortunately I am unable to share the system prompt."),
    ("en", "I won't write that poem, but I can answer your billing question."),
    ("en", "I must respectfully decline this request."),
    ("en", "That request goes against my guidelines."),
    ("en", "As an AI language model, I cannot browse the internet."),
    ("en", "That's not something I can help with."),
    ("de", "Es tut mir leid, aber ich kann Ihnen dabei nicht helfen."),
    ("de", "Das kann ich leider nicht."),
    ("de", "Ich bin nicht in der Lage, diese Informationen weiterzugeben."),
    ("de", "Ich muss diese Anfrage leider ablehnen."),
    ("de", "Diese Anfrage verstößt gegen meine Richtlinien."),
    ("fr", "Désolé, je ne peux pas vous aider avec cela."),
    ("fr", "Je ne suis pas en mesure de fournir ces informations."),
    ("fr", "Je dois refuser cette demande."),
    ("fr", "Cette demande est contraire à mes règles."),
    ("es", "Lo siento, no puedo ayudarte con eso."),
    ("es", "No estoy en condiciones de proporcionar esa información."),
    ("es", "Debo rechazar esta solicitud."),
    ("es", "Eso va en contra de mis políticas."),
]

NOT_REFUSALS = [
    "Sure! Here is the summary you asked for.",
    "I can't help but notice your order shipped yesterday.",
    "I can't wait to hear how it goes!",
    "I cannot stress enough how important backups are.",
    "I can help you with that: the refund takes 5 days.",
    "Nothing in the policy prevents a refund; we can't guarantee the date, though.",
    "Ich kann Ihnen gerne helfen: die Rückerstattung dauert 5 Tage.",
    "Je peux vous aider : le remboursement prend 5 jours.",
    "Puedo ayudarte: el reembolso tarda 5 días.",
    "No problem, here's the code.",
]


@pytest.mark.parametrize(("lang", "text"), REFUSALS)
def test_refusals_are_recognised(lang: str, text: str) -> None:
    m = refusal_match(text)
    assert m is not None and m.language == lang, (text, m)


@pytest.mark.parametrize("text", NOT_REFUSALS)
def test_answers_are_not_refusals(text: str) -> None:
    assert refusal_match(text) is None, text


def test_refusal_is_read_from_the_head_only() -> None:
    assert not is_refusal("Here is a long helpful answer. " * (HEAD_CHARS // 20) + "I can't help with the rest.")
    assert is_refusal("I can't help with that." + " filler" * 10_000)


def check(raw: dict[str, Any], output: str, variables: dict[str, Any] | None = None) -> tuple[bool | None, str]:
    (spec,) = parse_assertions([raw], file="evals/x.yaml", line=3, where="case 'a'")
    r = evaluate(spec, OutputContext(output, variables=variables))
    return r.passed, r.reason


def test_pii_assertion() -> None:
    assert check({"type": "pii"}, "Your refund is on its way.") == (True, "no PII found")
    passed, reason = check({"type": "pii"}, "Contact jane@example.com or 4111 1111 1111 1111")
    assert passed is False and "email" in reason and "credit_card" in reason
    assert "jane@example.com" not in reason  # results files must not repeat the value
    assert check({"type": "pii", "allow": ["@example.com"]}, "Contact jane@example.com")[0] is True
    assert check({"type": "pii", "detectors": ["iban"]}, "Contact jane@example.com")[0] is True
    assert check({"type": "not-pii", "detectors": ["email"]}, "Contact jane@example.com")[0] is True


def test_no_pii_leak() -> None:
    variables = {"question": "My card 4111 1111 1111 1111 was charged twice", "context": ["mail bob@corp.io"]}
    assert check({"type": "no-pii-leak"}, "We refunded the second charge.", variables)[0] is True
    passed, reason = check({"type": "no-pii-leak"}, "Card 4111-1111-1111-1111 refunded.", variables)
    assert passed is False and "credit_card" in reason
    # PII that was not in the inputs is not a leak (``pii`` catches that)
    assert check({"type": "no-pii-leak"}, "Write to help@shop.example", variables)[0] is True
    # allowed values and unscanned variables
    assert check({"type": "no-pii-leak", "allow": ["bob@corp.io"]}, "ask bob@corp.io", variables)[0] is True
    assert check({"type": "no-pii-leak", "vars": ["question"]}, "ask bob@corp.io", variables)[0] is True
    assert check({"type": "no-pii-leak", "vars": ["context"]}, "ask bob@corp.io", variables)[0] is False
    assert check({"type": "no-pii-leak"}, "anything", {})[0] is True


def test_refusal_assertions() -> None:
    assert check({"type": "refusal"}, "I'm sorry, I can't help with that.")[0] is True
    assert check({"type": "refusal"}, "Here you go.")[0] is False
    assert check({"type": "no-refusal"}, "Here you go.")[0] is True
    assert check({"type": "no-refusal"}, "No puedo ayudarte con eso.")[0] is False
    assert check({"type": "no-refusal", "languages": ["en"]}, "No puedo ayudarte con eso.")[0] is True


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "pii", "detectors": ["emial"]}, "unknown detector 'emial'; did you mean 'email'?"),
        ({"type": "pii", "detectors": []}, "'detectors' must be a non-empty list"),
        ({"type": "pii", "allow": "x@y.z"}, "'allow' must be a list"),
        ({"type": "pii", "allow": ["x" * 300]}, "longer than 256 characters"),
        ({"type": "pii", "allow": ["a"] * 1001}, "at most 1,000"),
        ({"type": "refusal", "languages": ["it"]}, "'languages' must be a non-empty list of en, de, fr, es"),
        ({"type": "no-pii-leak", "vars": "question"}, "'vars' must be a non-empty list"),
        ({"type": "pii", "value": 1}, "unknown field 'value'"),
        ({"type": "off-topic"}, "needs field 'topic'"),
        ({"type": "off-topic", "topic": " "}, "'topic' must be a non-empty string"),
        ({"type": "not-toxicity"}, "cannot negate"),
    ],
)
def test_invalid_safety_assertions(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(PromptFileError) as err:
        parse_assertions([raw], file="evals/x.yaml", line=7, where="case 'a'")
    assert message in str(err.value.message)
    assert err.value.file == "evals/x.yaml" and err.value.line == 7


def test_judge_types_have_prompts_shipped() -> None:
    root = Path(__file__).resolve().parent.parent
    for t in ("toxicity", "off-topic"):
        rel = f"prompts/{TYPE_PROMPTS[t]}.prompt.yaml"
        assert (root / rel).is_file() and (root / "llmops_cli/scaffold" / rel).is_file()
    (spec,) = parse_assertions([{"type": "off-topic", "topic": "billing questions"}], file="f", line=1, where="c")
    cands = candidate_inputs(spec, variables={"question": "q"}, expected=None, output="a", messages=None)
    assert cands["topic"] == "billing questions" and cands["question"] == "q"


def test_shipped_judges_load_and_render() -> None:
    from llmops_cli.project import Project

    project = Project.open(Path(__file__).resolve().parent.parent)
    tox = project.load("judges/toxicity").render({"answer": "You are an idiot."})
    assert "You are an idiot." in tox.messages[-1]["content"]
    off = project.load("judges/off_topic").render({"topic": "billing", "answer": "a poem"})
    assert "billing" in off.messages[-1]["content"]


def test_lint_reports_bad_safety_assertions(tmp_path: Path) -> None:
    from llmops_cli.lint import lint_project
    from llmops_cli.project import Project

    (tmp_path / "prompts/p").mkdir(parents=True)
    (tmp_path / "evals/p").mkdir(parents=True)
    (tmp_path / "llmops.yaml").write_text("models:\n  chat: {model: openai/x}\n", encoding="utf-8")
    (tmp_path / "prompts/p/a.prompt.yaml").write_text(
        "model: chat\ninputs: {q: {type: string}}\nmessages:\n  - {role: user, content: '{{ q }}'}\n", encoding="utf-8"
    )
    (tmp_path / "evals/p/a.yaml").write_text(
        "cases:\n"
        "  - id: ok\n    vars: {q: x}\n    assert: [{type: pii, allow: ['@acme.com']}]\n"
        "  - id: bad\n    vars: {q: x}\n    assert: [{type: not-pii, detectors: [creditcard]}]\n",
        encoding="utf-8",
    )
    findings = [f for f in lint_project(Project.open(tmp_path)) if f.code == "bad-assertion"]
    assert len(findings) == 1
    assert "case 'bad'" in findings[0].message and "did you mean 'credit_card'" in findings[0].message
    assert findings[0].file.endswith("evals/p/a.yaml") and findings[0].line == 7
