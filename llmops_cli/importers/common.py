"""Shared pieces of the importers: confined file access, draft prompts and golden sets, input inference.

Importer inputs are untrusted like any prompt file: YAML goes through the project's strict loader, every
``file://`` reference is confined to the source's folder (no ``..`` escape, no absolute path outside it, no
symlink out), and sizes are bounded. Problems are :class:`~llmops_cli.errors.PromptFileError` with file:line.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import PromptFileError
from ..spec import RESERVED_INPUT_NAMES
from ..yamlio import LineMap, parse_yaml
from .report import Gap, GapKind

MAX_SOURCE_BYTES = 2_000_000  # a config, prompt or test file larger than this is refused
MAX_FILES = 500  # file:// references and glob matches per import
MAX_CASES = 10_000  # test cases per imported golden set
MAX_EXPANSION = 1_000  # cases one promptfoo test may expand into (array vars)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MISSING: Any = object()


_SECRET_NAME = re.compile(
    r"(?i)^(?:id_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?|.*\.(?:pem|key|p12|pfx|jks|keystore|kdbx|gpg|asc|ppk)"
    r"|.*(?:secret|credential|passw(?:or)?d|private[-_]?key|api[-_]?key|token).*)$"
)


def secret_problem(rel: str) -> str | None:
    """Why an imported config may not copy ``rel`` (a path relative to its folder) into a prompt, or None.

    A config at a repository's root sits next to ``.env``, ``.git``, ``.npmrc``, ``.aws/``: a ``file://``
    reference would copy their keys into a prompt file, then into every request and results file. Dotfiles
    and dot-folders are never read; nor are files named like keys or secrets (``*.pem``, ``id_rsa``,
    ``*secret*``, ``*credential*``, ``*token*``…).
    """
    parts = [p for p in rel.replace(os.sep, "/").split("/") if p and p != "."]
    if any(p.startswith(".") for p in parts):
        return "names a dotfile or dot-folder (.env, .git, .npmrc… may hold keys)"
    if parts and _SECRET_NAME.match(parts[-1]):
        return "names a file that looks like a key or secret"
    return None


class SourceDir:
    """Reads files named by an untrusted source, confined to one folder (the config's)."""

    def __init__(self, base: str, label_root: str | None = None) -> None:
        self.base = os.path.realpath(base)
        self.label_root = os.path.realpath(label_root) if label_root else self.base
        self.count = 0

    def label(self, path: str) -> str:
        """A path for messages: relative to where the import started when possible."""
        real = os.path.realpath(path)
        try:
            rel = os.path.relpath(real, self.label_root)
        except ValueError:
            return real
        return real if rel.startswith("..") else rel.replace(os.sep, "/")

    def resolve(self, ref: str, *, file: str, line: int | None) -> str:
        """The real path of ``ref`` (relative to the base, ``file://`` prefix removed), refused if it leaves it."""
        name = ref[7:] if ref.startswith("file://") else ref
        if not name or "\x00" in name:
            raise PromptFileError(f"empty or invalid file reference {ref!r}", file=file, line=line)
        joined = self._absolute_under_base(name) or (name if os.path.isabs(name) else os.path.join(self.base, name))
        real = os.path.realpath(joined)
        if real != self.base and not real.startswith(self.base + os.sep):
            raise PromptFileError(
                f"file reference {ref!r} leaves the folder of the imported file (refused)", file=file, line=line
            )
        if ".git" in os.path.relpath(real, self.base).split(os.sep):  # .git/config may hold a CI token
            raise PromptFileError(f"file reference {ref!r} points into .git (refused)", file=file, line=line)
        why = secret_problem(os.path.relpath(real, self.base)) or secret_problem(os.path.relpath(joined, self.base))
        if why:
            raise PromptFileError(f"file reference {ref!r} {why} (refused)", file=file, line=line)
        return real

    def _absolute_under_base(self, name: str) -> str | None:
        """An absolute-looking ``/tests/x.yaml`` that exists under the base folder (``base/tests/x.yaml``), as
        promptfoo resolves ``file:///tests/…`` against the config's folder; None otherwise. Still confined."""
        if not name.startswith("/") or name.startswith("//"):
            return None
        candidate = os.path.join(self.base, name.lstrip("/"))
        real = os.path.realpath(candidate)
        inside = real.startswith(self.base + os.sep)
        return candidate if inside and (os.path.exists(candidate) or any(c in name for c in "*?[")) else None

    def glob(self, ref: str, *, file: str, line: int | None) -> list[str]:
        """Files matching a glob reference, sorted, each confined and each real file once (directory links
        are not followed: :func:`llmops_cli.pathsafe.expand_glob`); an error when none matches."""
        from ..errors import UsageError
        from ..pathsafe import expand_glob

        name = ref[7:] if ref.startswith("file://") else ref
        if os.path.isabs(name) and self._absolute_under_base(name):
            name = name.lstrip("/")
        if os.path.isabs(name) or ".." in name.replace("\\", "/").split("/"):
            raise PromptFileError(
                f"file reference {ref!r} leaves the folder of the imported file", file=file, line=line
            )
        try:
            matches = expand_glob(os.path.join(self.base, name), max_matches=MAX_FILES)
        except UsageError as exc:
            raise PromptFileError(f"{ref!r}: {exc.message}", file=file, line=line) from None
        matches = [m for m in matches if not secret_problem(os.path.relpath(m, self.base))]  # .git, .env, keys
        files = [self.resolve(m, file=file, line=line) for m in matches if os.path.isfile(m)]
        if not files:
            raise PromptFileError(f"no file matches {ref!r}", file=file, line=line)
        if len(files) > MAX_FILES:
            raise PromptFileError(f"{ref!r} matches more than {MAX_FILES} files", file=file, line=line)
        return files

    def read_text(self, ref: str, *, file: str, line: int | None) -> tuple[str, str]:
        """(real path, text) of a confined file reference."""
        path = self.resolve(ref, file=file, line=line)
        return path, read_bounded(path, file=file, line=line, what=ref)


GENERATION_PARAMS: dict[str, str] = {
    name: name
    for name in ("temperature", "max_tokens", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty")
}
"""Source parameter → llmops param, for the generation parameters every format spells the OpenAI way."""


def read_bounded(path: str, *, file: str | None = None, line: int | None = None, what: str | None = None) -> str:
    """UTF-8 text of a file no larger than :data:`MAX_SOURCE_BYTES`."""
    label = what or path
    pre = f"{label}: "
    if file is None or file == label:  # the message is about the file itself: name it once
        file, pre = label, ""
    try:
        if not os.path.isfile(path):
            raise PromptFileError(f"{pre}no such file", file=file, line=line)
        if os.path.getsize(path) > MAX_SOURCE_BYTES:
            raise PromptFileError(f"{pre}larger than {MAX_SOURCE_BYTES:,} bytes (refused)", file=file, line=line)
        with open(path, "rb") as fh:
            data = fh.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise PromptFileError(f"{pre}cannot read: {exc.strerror}", file=file, line=line) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PromptFileError(f"{pre}not UTF-8 text", file=file, line=line) from None


def load_yaml_text(text: str, file: str) -> Any:
    """Parse YAML with the project's strict safe loader; JSON is YAML too. Importer sources are not prompt
    files: anchors (common in promptfoo configs) are allowed, capped by expanded size."""
    try:
        return parse_yaml(text, file, aliases="cap")
    except RecursionError:
        raise PromptFileError("nested too deeply", file=file) from None


def load_data_file(path: str, text: str, label: str) -> Any:
    """Parse a ``.json`` / ``.yaml`` / ``.yml`` data file (PromptFileError with file:line)."""
    if path.endswith(".json"):  # strict: no NaN/Infinity, no repeated keys, bounded depth and integers
        from ..jsonio import loads_strict

        return loads_strict(text, label)
    return load_yaml_text(text, label)


class GapLog:
    """Collects gaps for one source file, with lines looked up in its YAML text."""

    def __init__(self, file: str, text: str | None = None) -> None:
        self.file = file
        self.lines = LineMap(text) if text is not None else None
        self.gaps: list[Gap] = []

    def line(self, path: tuple[str | int, ...]) -> int | None:
        return self.lines.line(path) if self.lines is not None and path else (1 if self.lines else None)

    def add(
        self, kind: GapKind, path: tuple[str | int, ...], construct: str, detail: str = "", *, line: int | None = None
    ) -> Gap:
        gap = Gap(kind, self.file, yaml_path(path), line if line is not None else self.line(path), construct, detail)
        self.gaps.append(gap)
        return gap


def yaml_path(path: tuple[str | int, ...]) -> str:
    """``("tests", 2, "assert", 0)`` → ``tests[2].assert[0]``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# -- drafts ---------------------------------------------------------------------------------------------------


@dataclass
class DraftCase:
    """A golden case before it is written."""

    id: str
    vars: dict[str, Any] = field(default_factory=dict)
    expected: Any = MISSING
    asserts: list[dict[str, Any]] = field(default_factory=list)
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)  # unmapped constructs that applied to this case


@dataclass
class DraftPrompt:
    """A prompt and its golden set before they are written."""

    name: str
    model: str  # an alias written to llmops.yaml
    messages: list[tuple[str, str]]
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    output: Any = "text"
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    declared_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # types the source declares
    cases: list[DraftCase] = field(default_factory=list)
    default_vars: dict[str, Any] = field(default_factory=dict)
    default_asserts: list[dict[str, Any]] = field(default_factory=list)
    judge_vars: set[str] = field(default_factory=set)  # case vars read by judges, not by the template
    gaps: list[Gap] = field(default_factory=list)  # prompt-level unmapped constructs
    source: str = ""
    tools: list[dict[str, Any]] = field(default_factory=list)  # prompt-file tool definitions (importers/tools.py)
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None


@dataclass
class ModelAliasDraft:
    """An alias to add to ``llmops.yaml``."""

    name: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    api_base: str | None = None
    api_key_env: str | None = None


# -- names ----------------------------------------------------------------------------------------------------


def slug(text: str, fallback: str, limit: int = 60) -> str:
    """A lower-case file-name-safe slug (letters, digits, ``-``, ``_``), never ``..``."""
    s = re.sub(r"[^a-z0-9_]+", "-", str(text).lower()).strip("-_")
    s = s[:limit].strip("-_")
    return s or fallback


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``… whichever is free; added to ``taken``."""
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}-{n}"
        n += 1
    taken.add(candidate)
    return candidate


def checked_name(value: str, what: str, file: str, line: int | None = None) -> str:
    """``value`` when it passes the rule every llmops name follows (:func:`~llmops_cli.limits.label_problem`:
    at most 200 characters, no control or invisible characters); :class:`PromptFileError` (exit 2) naming the
    imported file otherwise: such a name would reach terminals, reports and results files."""
    from ..limits import label_problem

    problem = label_problem(value, what)
    if problem:
        raise PromptFileError(problem, file=file, line=line)
    return value


def is_identifier(name: str) -> bool:
    return bool(_IDENT.match(name)) and name not in RESERVED_INPUT_NAMES


# -- template variables and inputs -----------------------------------------------------------------------------


def template_variables(texts: list[str]) -> set[str]:
    """Variables the Jinja templates read (loop and ``set`` variables excluded); analysed in the renderer's
    bounded sandbox (a template that does not compile reads none)."""
    from ..templating import check_template

    used: set[str] = set()
    for text in texts:
        used |= check_template(text)[1]
    return used


def check_compiles(text: str) -> str | None:
    """None when ``text`` compiles as a prompt template would (the renderer's bounded sandbox: filters and
    tests known, nesting bounded, nothing evaluated at compile time); else the error."""
    from ..templating import check_template

    return check_template(text)[0]


_JSON_TYPE = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
_EMPTY: dict[str, Any] = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}


def json_type(value: Any) -> str | None:
    for py, name in _JSON_TYPE.items():
        if type(value) is py:
            return name
    return None


def infer_type(values: list[Any]) -> str | None:
    """The one input type that fits every value (integers widen to number); None when they disagree."""
    types = {json_type(v) for v in values}
    if not types:
        return "string"
    if types <= {"integer", "number"}:
        return "number" if "number" in types else "integer"
    if len(types) == 1:
        return types.pop()
    return None


def stringify(value: Any) -> str:
    """How Nunjucks / mustache would print a scalar; JSON for structures."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def plain(value: Any, depth: int = 0) -> Any:
    """JSON-compatible copy of a parsed value: dates as ISO strings, keys as strings, bounded depth."""
    import datetime

    if depth > 64:
        raise PromptFileError("a value is nested more than 64 levels deep (refused)")
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def assertion_problem(assertion: dict[str, Any]) -> str | None:
    """None when llmops accepts the assertion exactly as it would in a golden set; else why not."""
    from ..evals.assertions import parse_assertions

    try:
        parse_assertions([assertion], file="", line=None, where="")
    except PromptFileError as exc:
        return exc.message.split(": ", 2)[-1]
    return None


def regex_literal(text: str) -> str:
    """``text`` as a regular expression matching it literally, valid in Python's ``re`` and in RE2."""
    return "".join("\\" + c if c in "\\.^$|?*+()[]{}" else c for c in text)


def param_problem(key: str, value: Any) -> str | None:
    """None when llmops accepts ``value`` for the generation param ``key``; else why not."""
    from .. import spec

    check = getattr(spec, "check_params", None)  # the allowlist with value ranges, where the project has one
    if check is not None:
        try:
            check({key: value})
        except ValueError as exc:
            return str(exc)
        return None
    if key == "stop":
        ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        return None if ok else "must be a string or a list of strings"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "must be a finite number"
    lo, hi, integer = _RANGES.get(key, (-math.inf, math.inf, False))
    if integer and not isinstance(value, int):
        return "must be a whole number"
    if not lo <= value <= hi:
        return f"must be between {lo} and {hi}"
    return None


_RANGES: dict[str, tuple[float, float, bool]] = {
    "temperature": (0, 2, False),
    "top_p": (0, 1, False),
    "max_tokens": (1, 10_000_000, True),
    "seed": (-(2**63), 2**63 - 1, True),
    "presence_penalty": (-2, 2, False),
    "frequency_penalty": (-2, 2, False),
}
