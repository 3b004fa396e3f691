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

import contextlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from . import settings

__all__ = [
    "MIN_SECRET_CHARS",
    "STANDARD_KEY_ENVS",
    "known_key_envs",
    "redact",
    "redact_exception",
    "redacted_std_streams",
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
        # Two passes: known values first (wherever they stand, also right after "Bearer", where the token
        # shape would otherwise claim only the part of a value made of token characters), then token shapes.
        self.secret_regex = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
        self.secrets = tuple(ordered)
        self.regex = _SHAPES_RE

    def _replace_secret(self, m: re.Match[str]) -> str:
        return f"[REDACTED:{self.names[m.group()]}]"

    def _replace(self, m: re.Match[str]) -> str:
        if m.group("bearer"):
            return f"{m.group('bearer')} [REDACTED]"
        return "[REDACTED]"

    def __call__(self, text: str) -> str:
        if self.secret_regex is not None:
            for lit in self.secrets:
                if lit in text:
                    text = self.secret_regex.sub(self._replace_secret, text)
                    break
        for lit in _SHAPE_LITERALS:
            if lit in text:
                return self.regex.sub(self._replace, text)
        return text


_SHAPES_RE = re.compile(_SHAPES)


def redactor() -> _Redactor:
    """The redactor for the environment as it is now: a callable ``text -> text``. A writer of many records
    takes one and reuses it (reading the key variables costs more than scanning a short text)."""
    return _current()


def _current() -> _Redactor:
    env = settings.environ()
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


class RedactingStream:
    """A text stream that redacts each write and forwards it to ``inner``: installed as ``sys.stdout`` /
    ``sys.stderr`` for a CLI command (:func:`redacted_std_streams`), it also covers what bypasses llmops'
    own output functions — Python warnings, ``logging``'s last-resort handler, a library's ``print()``,
    tracebacks."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact(text) if isinstance(text, str) else text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)


@contextlib.contextmanager
def redacted_std_streams() -> Iterator[None]:
    """Route ``sys.stdout`` and ``sys.stderr`` through the redactor while the block runs."""
    before = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(before[0]), RedactingStream(before[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = before
