"""The one redactor: every text llmops writes or prints passes through :func:`redact` at its sink.

It removes

* the value of every key variable it knows that is set in the environment: the standard provider variables
  (:data:`STANDARD_KEY_ENVS`, e.g. ``OPENAI_API_KEY``, ``HF_TOKEN``, ``GITHUB_TOKEN``) and each alias's
  ``api_key_env`` (registered by the model layer when a project's models are resolved) — replaced by
  ``[REDACTED:NAME]``;
* token-shaped strings whatever their source: ``Bearer <token>``, ``Authorization: Basic <credentials>`` (as
  ``actions/checkout`` persists in ``.git/config``), ``sk-…``, GitHub (``ghp_…``, ``github_pat_…``), Hugging Face
  (``hf_…``) and Slack (``xox…-``) tokens — replaced by ``[REDACTED]``.

Values shorter than :data:`MIN_SECRET_CHARS` are not treated as secrets (redacting ``"test"`` everywhere would
garble output without protecting anything). The sinks: the journal, the response cache, results files, JUnit,
markdown and ``$GITHUB_STEP_SUMMARY``, gate reports, terminal output (``cli/output.py``) and the messages of
llmops' exceptions. Release bundles and tag manifests are not redacted: they are content-addressed copies of
committed files, and changing a byte would break their hash.

Cheap by design: one regex, compiled once per set of secrets; a text that contains none of the secrets'
values and none of the token shapes' literal prefixes is returned untouched after a few substring scans.
Writers of many records (the journal, results files) take one :func:`redactor` for the whole run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable

__all__ = [
    "MIN_SECRET_CHARS",
    "STANDARD_KEY_ENVS",
    "known_key_envs",
    "redact",
    "redact_exception",
    "redactor",
    "register_key_envs",
]

STANDARD_KEY_ENVS: tuple[str, ...] = (
    "OPENAI_API_KEY",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "VERTEXAI_API_KEY",
    "GROQ_API_KEY",
    "MISTRAL_API_KEY",
    "COHERE_API_KEY",
    "CO_API_KEY",
    "TOGETHER_API_KEY",
    "TOGETHERAI_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "XAI_API_KEY",
    "FIREWORKS_API_KEY",
    "FIREWORKS_AI_API_KEY",
    "PERPLEXITYAI_API_KEY",
    "PERPLEXITY_API_KEY",
    "REPLICATE_API_KEY",
    "VOYAGE_API_KEY",
    "CEREBRAS_API_KEY",
    "HF_TOKEN",
    "HUGGINGFACE_API_KEY",
    "HUGGING_FACE_HUB_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
)
MIN_SECRET_CHARS = 8

# Token shapes. Each alternative starts with a literal listed in _SHAPE_LITERALS (the cheap pre-check).
_SHAPES = (
    r"(?<![A-Za-z0-9])(?:sk-[A-Za-z0-9_\-]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|hf_[A-Za-z0-9]{20,}"
    r"|xox[abpr]-[A-Za-z0-9\-]{10,})"
    r"|(?P<bearer>[Bb]earer|BEARER|(?i:authorization\s*:\s*basic))\s+(?P<token>[A-Za-z0-9._~+/=\-]{8,})"
)
_SHAPE_LITERALS = (
    *("sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "hf_", "xox"),
    *("earer", "EARER", "uthorization", "UTHORIZATION"),
)

_extra_envs: set[str] = set()
_cache: dict[tuple[tuple[str, str], ...], _Redactor] = {}


def register_key_envs(names: Iterable[str | None]) -> None:
    """Add environment variable names whose values must never be written (aliases' ``api_key_env``)."""
    for name in names:
        if name and name not in _extra_envs:
            _extra_envs.add(name)


def known_key_envs() -> tuple[str, ...]:
    """Every variable name whose value is redacted (standard ones, then registered ones)."""
    return STANDARD_KEY_ENVS + tuple(sorted(_extra_envs - set(STANDARD_KEY_ENVS)))


class _Redactor:
    def __init__(self, secrets: tuple[tuple[str, str], ...]) -> None:
        variants: dict[str, str] = {}
        for name, value in secrets:
            variants.setdefault(value, name)
            escaped = json.dumps(value, ensure_ascii=False)[1:-1]  # as it appears inside a JSON string
            variants.setdefault(escaped, name)
            ascii_escaped = json.dumps(value)[1:-1]
            variants.setdefault(ascii_escaped, name)
        self.names = variants
        ordered = sorted(variants, key=len, reverse=True)  # the longest first: no partial replacement
        literal = "|".join(re.escape(v) for v in ordered)
        self.regex = re.compile(f"(?P<secret>{literal})|{_SHAPES}" if literal else _SHAPES)
        self.literals = (*ordered, *_SHAPE_LITERALS)

    def _replace(self, m: re.Match[str]) -> str:
        secret = m.group("secret") if "secret" in self.regex.groupindex else None
        if secret is not None:
            return f"[REDACTED:{self.names[secret]}]"
        if m.group("bearer"):
            name = self.names.get(m.group("token"))
            return f"{m.group('bearer')} [REDACTED{':' + name if name else ''}]"
        return "[REDACTED]"

    def __call__(self, text: str) -> str:
        for lit in self.literals:
            if lit in text:
                return self.regex.sub(self._replace, text)
        return text


def redactor() -> _Redactor:
    """The redactor for the environment as it is now: a callable ``text -> text``. A writer of many records
    takes one and reuses it (reading the key variables costs more than scanning a short text)."""
    return _current()


def _current() -> _Redactor:
    env = os.environ
    secrets = []
    for name in STANDARD_KEY_ENVS:
        value = env.get(name)
        if value and len(value) >= MIN_SECRET_CHARS:
            secrets.append((name, value))
    for name in tuple(_extra_envs):
        value = env.get(name)
        if value and len(value) >= MIN_SECRET_CHARS:
            secrets.append((name, value))
    key = tuple(secrets)
    r = _cache.get(key)
    if r is None:
        if len(_cache) > 64:
            _cache.clear()
        r = _cache[key] = _Redactor(key)
    return r


def redact(text: str) -> str:
    """``text`` without any known key value or token-shaped secret."""
    if not text:
        return text
    return _current()(text)


def redact_exception(exc: BaseException) -> BaseException:
    """Scrub an exception's message in place (``args`` and a ``message`` attribute); returns it."""
    try:
        if exc.args:
            exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
        msg = getattr(exc, "message", None)
        if isinstance(msg, str):
            exc.message = redact(msg)  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # an exception type with read-only fields: leave it
        pass
    return exc
