"""Every environment variable llmops reads, declared once: its name, type, default and meaning.

This module is the only one that touches ``os.environ`` (``tests/test_settings.py`` walks the package's syntax
trees to keep it so). A module reads a variable through its :class:`Setting` (``settings.LOG.raw()``), a variable
whose *name* comes from elsewhere (an alias's ``api_key_env``, a provider's key variable) through
:func:`value_of`, and the whole environment (for a child process, the redactor, a function that takes an
environment mapping) through :func:`environ`.

README's table of environment variables is generated from :data:`SETTINGS`::

    python -m llmops_cli.settings --markdown          # print the table
    python -m llmops_cli.settings --readme README.md  # rewrite the table in README.md

Values are read at each call, never cached here: a variable set after import takes effect.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["SETTINGS", "Setting", "environ", "markdown_table", "value_of"]

_TRUE = frozenset({"1", "true", "yes", "on"})


class Setting:
    """One environment variable: its name, the kind of value, the default when unset, and what it does."""

    __slots__ = ("default", "group", "meaning", "name", "type")

    def __init__(self, name: str, type: str, default: str, meaning: str, group: str) -> None:
        self.name = name
        self.type = type
        """The kind of value: ``path``, ``int``, ``size``, ``flag``, ``text``, ``presence``, ``secret``."""
        self.default = default
        """What applies when the variable is unset, in words (``""``: nothing)."""
        self.meaning = meaning
        """One or two sentences for README's table."""
        self.group = group
        """Who sets it: ``llmops``, ``local model``, ``CI`` (GitHub Actions), ``terminal``, ``set by llmops``."""

    def __repr__(self) -> str:
        return f"Setting({self.name!r})"

    def raw(self) -> str | None:
        """The value as set (None when unset)."""
        return os.environ.get(self.name)

    def get(self, default: str) -> str:
        """The value as set, else ``default`` (an empty value is a value)."""
        return os.environ.get(self.name, default)

    def text(self) -> str:
        """The value without surrounding whitespace; ``""`` when unset."""
        return os.environ.get(self.name, "").strip()

    def present(self) -> bool:
        """Whether the variable is set at all, even to an empty value (``NO_COLOR``'s rule)."""
        return self.name in os.environ

    def flag(self) -> bool:
        """True for 1, true, yes or on (any case, whitespace ignored)."""
        return self.text().lower() in _TRUE

    def positive_int(self, default: int) -> int:
        """The value as a positive integer, ``default`` when unset or blank; ValueError naming the variable."""
        raw = self.text()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise ValueError(f"{self.name} must be a positive integer, got {raw!r}") from exc
        if value <= 0:
            raise ValueError(f"{self.name} must be a positive integer, got {raw!r}")
        return value

    def set_default(self, value: str) -> None:
        """Set the variable for this process (and its children) unless it is already set."""
        os.environ.setdefault(self.name, value)


def value_of(name: str) -> str | None:
    """The value of a variable whose name llmops does not fix (see :data:`KEYS`): None when unset."""
    return os.environ.get(name)


def environ() -> Mapping[str, str]:
    """The whole environment, read-only: for a child process's environment, the redactor's scan of key
    variables, and functions that take an environment mapping (tests pass their own)."""
    return os.environ


# -- the table ---------------------------------------------------------------------------------------------
_L, _LOCAL, _CI, _TERM, _SET = "llmops", "local model", "CI", "terminal", "set by llmops"

ROOT = Setting(
    "LLMOPS_ROOT",
    "path",
    "found from the current directory",
    "The project root (where `llmops.yaml` is); overrides the search upwards from the current directory.",
    _L,
)
CACHE_DIR = Setting(
    "LLMOPS_CACHE_DIR",
    "path",
    "`cache.dir` of llmops.yaml (`.llmops/cache`)",
    "The eval response cache (CI restores it between runs).",
    _L,
)
LOG = Setting(
    "LLMOPS_LOG",
    "path",
    "no request log",
    "Serving: the JSONL file every model call of `load_prompt` is logged to (read at "
    "each call); `llmops usage`: the default log, with its rotated siblings.",
    _L,
)
OTEL = Setting(
    "LLMOPS_OTEL",
    "flag",
    "off",
    "Serving: an OpenTelemetry span per model call when 1/true/yes/on (needs the `otel` extra).",
    _L,
)
GATE_RESULT = Setting(
    "LLMOPS_GATE_RESULT",
    "path",
    "the gate's git note",
    "`release create`: the gate result (gate.json) that must pass for the released commit.",
    _L,
)
USAGE_MEMORY = Setting(
    "LLMOPS_USAGE_MEMORY", "size", "256MB", "`llmops usage`: DuckDB's memory limit (e.g. 512MB, 2GiB).", _L
)
LOCAL_THREADS = Setting("LLMOPS_LOCAL_THREADS", "int", "2", "Threads the local model evaluates prompts on.", _LOCAL)
LOCAL_DECODE_THREADS = Setting(
    "LLMOPS_LOCAL_DECODE_THREADS",
    "int",
    "measured: 1 or the prompt threads",
    "Threads the local model generates tokens on (set: fixed, no measuring).",
    _LOCAL,
)
LOCAL_CTX = Setting("LLMOPS_LOCAL_CTX", "int", "4096", "The local model's context window, in tokens.", _LOCAL)
LOCAL_CACHE_MB = Setting(
    "LLMOPS_LOCAL_CACHE_MB", "int", "256", "RAM (MB) for cached prompt states of the local model.", _LOCAL
)
LOCAL_MODEL_CACHE = Setting(
    "LLMOPS_LOCAL_MODEL_CACHE",
    "path",
    "`$XDG_CACHE_HOME/llmops/models`",
    "Where the local model's prepared (Q8_0) weights are kept.",
    _LOCAL,
)
LOCAL_WEIGHTS = Setting(
    "LLMOPS_LOCAL_WEIGHTS",
    "text",
    "prepared (Q8_0)",
    "`original` (or off, 0): run the shipped weights as they are, without the faster Q8_0 copy.",
    _LOCAL,
)
LOCAL_STATS = Setting(
    "LLMOPS_LOCAL_STATS",
    "path",
    "none",
    "A file the local model appends each call's evaluation figures to (one JSON line; benchmarks).",
    _LOCAL,
)
XDG_CACHE_HOME = Setting(
    "XDG_CACHE_HOME", "path", "`~/.cache`", "Base of the default `LLMOPS_LOCAL_MODEL_CACHE`.", _LOCAL
)
KEYS = Setting(
    "`*_API_KEY`, `HF_TOKEN`, … and each alias's `api_key_env`",
    "secret",
    "",
    "Provider keys, read at call time and never written: a missing key picks the "
    "alias's `offline` model; every value is redacted from output.",
    _L,
)
GITHUB_BASE_REF = Setting(
    "GITHUB_BASE_REF",
    "text",
    "",
    "Set: a pull-request job, whose llmops.yaml is not trusted with keys (see Security model).",
    _CI,
)
GITHUB_STEP_SUMMARY = Setting(
    "GITHUB_STEP_SUMMARY", "path", "", "`eval run` / `eval gate` append their markdown summary to this file.", _CI
)
GITHUB_TOKEN = Setting(
    "GITHUB_TOKEN", "secret", "", "`eval gate --github-status`: the token that posts the commit status.", _CI
)
GITHUB_REPOSITORY = Setting("GITHUB_REPOSITORY", "text", "", "`--github-status`: the repository (owner/name).", _CI)
GITHUB_EVENT_PATH = Setting(
    "GITHUB_EVENT_PATH",
    "path",
    "",
    "`--github-status`: the event payload; its `pull_request.head.sha` is the commit.",
    _CI,
)
GITHUB_SHA = Setting("GITHUB_SHA", "text", "", "`--github-status`: the commit when the event names none.", _CI)
GITHUB_SERVER_URL = Setting(
    "GITHUB_SERVER_URL", "text", "https://github.com", "`--github-status`: the server in the status's link.", _CI
)
GITHUB_RUN_ID = Setting("GITHUB_RUN_ID", "text", "", "`--github-status`: the run the status links to.", _CI)
GITHUB_API_URL = Setting(
    "GITHUB_API_URL", "text", "https://api.github.com", "`--github-status`: the API the status is posted to.", _CI
)
COLUMNS = Setting("COLUMNS", "int", "the terminal's width; 160 when piped", "Width of the CLI's output.", _TERM)
NO_COLOR = Setting("NO_COLOR", "presence", "", "Set (to anything): no colour (https://no-color.org).", _TERM)
TERM = Setting("TERM", "text", "", "`dumb`: no colour.", _TERM)
COMPLETE = Setting(
    "_LLMOPS_COMPLETE",
    "text",
    "",
    "Set by the script of `llmops completion`: the process answers a completion request and exits.",
    _TERM,
)
LITELLM_LOCAL_MODEL_COST_MAP = Setting(
    "LITELLM_LOCAL_MODEL_COST_MAP",
    "flag",
    "True (set unless set)",
    "litellm reads its bundled price table instead of fetching one (no network at import).",
    _SET,
)
PYDANTIC_DISABLE_PLUGINS = Setting(
    "PYDANTIC_DISABLE_PLUGINS",
    "text",
    "`__all__` (set by the CLI unless set)",
    "The CLI skips pydantic's plugin scan (start-up time); set it yourself to use a plugin.",
    _SET,
)

SETTINGS: tuple[Setting, ...] = (
    ROOT, CACHE_DIR, LOG, OTEL, GATE_RESULT, USAGE_MEMORY, KEYS,
    LOCAL_THREADS, LOCAL_DECODE_THREADS, LOCAL_CTX, LOCAL_CACHE_MB, LOCAL_MODEL_CACHE, LOCAL_WEIGHTS, LOCAL_STATS,
    XDG_CACHE_HOME,
    GITHUB_BASE_REF, GITHUB_STEP_SUMMARY, GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_SHA,
    GITHUB_SERVER_URL, GITHUB_RUN_ID, GITHUB_API_URL,
    COLUMNS, NO_COLOR, TERM, COMPLETE,
    LITELLM_LOCAL_MODEL_COST_MAP, PYDANTIC_DISABLE_PLUGINS,
)  # fmt: skip
"""Every variable, in README's order."""

README_START = "<!-- settings table: generated by `python -m llmops_cli.settings --readme README.md` -->"
README_END = "<!-- end of settings table -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(settings: tuple[Setting, ...] = SETTINGS) -> str:
    """README's table of environment variables (deterministic: the order of :data:`SETTINGS`)."""
    rows = ["| Variable | Type | Default | Meaning | Set by |", "|---|---|---|---|---|"]
    for s in settings:
        name = f"`{s.name}`" if s.name.isidentifier() else s.name  # a family of variables is written as words
        cells = (name, s.type, s.default or "—", s.meaning, s.group)
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"


def replace_readme_table(text: str, table: str | None = None) -> str:
    """``text`` (README.md) with the block between the two markers replaced by the generated table."""
    head, sep, rest = text.partition(README_START)
    _, sep2, tail = rest.partition(README_END)
    if not sep or not sep2:
        raise ValueError(f"README has no settings table block ({README_START!r} … {README_END!r})")
    return f"{head}{README_START}\n{table if table is not None else markdown_table()}{README_END}{tail}"


def _main(argv: list[str]) -> int:
    if argv == ["--markdown"]:
        print(markdown_table(), end="")
        return 0
    if len(argv) == 2 and argv[0] == "--readme":
        with open(argv[1], encoding="utf-8") as fh:
            text = fh.read()
        new = replace_readme_table(text)
        if new != text:
            with open(argv[1], "w", encoding="utf-8") as fh:
                fh.write(new)
        return 0
    print("usage: python -m llmops_cli.settings --markdown | --readme README.md")
    return 2


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))
