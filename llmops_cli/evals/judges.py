"""Model-graded assertions: judge prompts, their inputs, and parsing their verdicts.

A judge is an ordinary prompt under ``prompts/`` (hashed like any prompt) that answers with JSON
``{"reasoning": "...", "score": 1-5}`` — reasoning first, verdict last. Which judge prompt grades which
assertion type:

==================  ===========================================  =========================================
type                judge prompt                                 inputs it may receive
==================  ===========================================  =========================================
judge               ``prompt:`` field, else llmops.yaml           criteria, rubric, question, answer,
                    ``judge.prompt`` (``judges/rubric``)          reference (the case's ``expected``)
factuality          ``judges/factuality``                        question, answer, reference
faithfulness        ``judges/faithfulness``                      question, answer, context
answer-relevance    ``judges/answer_relevance``                  question, answer
toxicity            ``judges/toxicity``                          question, answer
off-topic           ``judges/off_topic``                         topic, question, answer
==================  ===========================================  =========================================

``toxicity`` scores 5 for a harmless answer and 1 for abuse, threats or hate; ``off-topic`` scores 5 for an
answer that stays on the assertion's ``topic`` and 1 for one that wanders off (e.g. after an injection):
both pass at ``score >= threshold`` like every judge.

A judge receives only the inputs it declares. ``question`` is the case variable named by ``question_var``
(default ``question``), else the last user message the model was sent. A score ``s`` in 1..5 is
normalised to ``(s - 1) / 4``. A reply that is not such JSON — after extracting the first ``{...}`` and one
re-ask quoting the parse error — is a *judge error*: excluded from scores, counted, never a 0 or a pass.
"""

from __future__ import annotations

import json
from typing import Any

from ..config import JudgeConfig, ProjectConfig
from ..hashing import sha256_of
from ..records.content import content_text
from .assertions import AssertionSpec
from .outputs import parse_json_output

TYPE_PROMPTS = {
    "factuality": "judges/factuality",
    "faithfulness": "judges/faithfulness",
    "answer-relevance": "judges/answer_relevance",
    "toxicity": "judges/toxicity",
    "off-topic": "judges/off_topic",
}


class JudgeParseError(ValueError):
    """A judge reply that is not ``{"reasoning": str, "score": 1-5}``."""


def judge_prompt_name(spec: AssertionSpec, judge_config: JudgeConfig) -> str:
    """The prompt that grades an assertion."""
    explicit = spec.fields.get("prompt")
    if explicit:
        return str(explicit)
    return judge_config.prompt if spec.type == "judge" else TYPE_PROMPTS[spec.type]


def judge_config_sha256(prompt_sha256: str, model_name: str, config: ProjectConfig) -> str:
    """The hash of how a judge grades: its prompt (``Prompt.sha256`` covers templates and partials), the model
    it names and that alias's definition in ``config`` (model id, api_base, key variable, params, budgets).
    Two runs whose judge has the same hash asked the same judge the same way."""
    _, alias = config.resolve_model(model_name)
    identity = {
        "sha256": prompt_sha256,
        "model": model_name,
        "alias": alias.model_dump(mode="json") if alias else None,
    }
    return sha256_of(identity)


def format_text(value: Any) -> str:
    """Context or reference values as text for a judge: lists as bullet lines, mappings as ``key: value``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(f"- {format_text(v)}" for v in value)
    if isinstance(value, dict):
        return "\n".join(f"{k}: {format_text(v)}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False)


def candidate_inputs(
    spec: AssertionSpec,
    *,
    variables: dict[str, Any],
    expected: Any,
    output: str | None,
    messages: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """Every input a judge of this assertion could use; the caller keeps those the judge declares."""
    question_var = spec.fields.get("question_var", "question")
    context_var = spec.fields.get("context_var", "context")
    question = variables.get(question_var)
    if question is None and messages:
        users = [content_text(m.get("content", "")) for m in messages if m.get("role") == "user"]
        question = users[-1] if users else None
    candidates: dict[str, Any] = {
        "criteria": spec.fields.get("criteria"),
        "topic": spec.fields.get("topic"),
        "rubric": spec.fields.get("rubric"),
        "question": format_text(question) if question is not None else None,
        "answer": output,
        "reference": format_text(expected) if expected is not None else None,
        "context": format_text(variables[context_var]) if context_var in variables else None,
    }
    return candidates


def select_inputs(declared: dict[str, Any], candidates: dict[str, Any]) -> dict[str, Any]:
    """The candidates the judge prompt declares, leaving out missing ones (so defaults apply)."""
    return {k: v for k, v in candidates.items() if k in declared and v is not None}


def missing_required(declared: dict[str, Any], candidates: dict[str, Any]) -> list[str]:
    """Required judge inputs the case cannot supply (``answer`` is always supplied at run time)."""
    return [
        name
        for name, spec in declared.items()
        if spec.is_required and name != "answer" and candidates.get(name) is None
    ]


def _first_object(text: str) -> str | None:
    """The first balanced ``{...}`` in ``text`` (strings and escapes respected)."""
    start = text.find("{")
    while start != -1:
        depth, in_str, esc = 0, False, False
        for i in range(start, len(text)):
            ch = text[i]
            if in_str:
                if esc:
                    esc = False
                elif ch == "\\":
                    esc = True
                elif ch == '"':
                    in_str = False
            elif ch == '"':
                in_str = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start : i + 1]
        start = text.find("{", start + 1)
    return None


def parse_verdict(text: str) -> tuple[float, str]:
    """``(score 1..5, reasoning)`` of a judge reply; the first ``{...}`` is tried when the whole is not JSON."""
    try:
        doc = parse_json_output(text)
    except ValueError:
        block = _first_object(text)
        if block is None:
            raise JudgeParseError("no JSON object in the reply") from None
        try:
            doc = json.loads(block, strict=False)  # raw newlines inside the reasoning string are harmless
        except ValueError as exc:
            raise JudgeParseError(f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise JudgeParseError("the reply is JSON but not an object")
    if "score" not in doc:
        raise JudgeParseError("the JSON object has no 'score'")
    raw = doc["score"]
    if isinstance(raw, bool):
        raise JudgeParseError("'score' must be a number from 1 to 5")
    try:
        score = float(raw)
    except (TypeError, ValueError):
        raise JudgeParseError(f"'score' must be a number from 1 to 5, got {raw!r}") from None
    if not 1.0 <= score <= 5.0:
        raise JudgeParseError(f"'score' must be from 1 to 5, got {raw!r}")
    reasoning = doc.get("reasoning", "")
    return score, reasoning if isinstance(reasoning, str) else json.dumps(reasoning, ensure_ascii=False)


def normalize(score: float) -> float:
    """1..5 → 0..1."""
    return (score - 1.0) / 4.0


def repair_messages(messages: list[dict[str, Any]], reply: str, error: str) -> list[dict[str, Any]]:
    """The one re-ask after an unparsable reply: the conversation so far plus the parse error."""
    return [
        *messages,
        {"role": "assistant", "content": reply},
        {
            "role": "user",
            "content": (
                f"Your reply could not be parsed: {error}. Reply again with only a JSON object of the form "
                '{"reasoning": "<your reasoning>", "score": <integer from 1 to 5>} and nothing else.'
            ),
        },
    ]
