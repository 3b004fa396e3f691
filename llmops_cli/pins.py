"""Hash pins that pip agrees with: a requirements file read with pip's own grammar, then held to the pin rule.

pip reads a requirements file in this order (``pip/_internal/req/req_file.py``): split the text with
``str.splitlines``; join a line ending in ``\\`` with the next (backslashes stripped from both ends, never after
a comment line); drop comments — ``#`` at the start of a line or after whitespace, to the end of the line;
expand ``${VAR}``; cut each line at its first space-separated token starting with ``-`` into the requirement
(``NAME[extras] SPECIFIER ; MARKER``, PEP 508) and its options (``shlex``-split). This module reproduces
those steps exactly, so ``name==1.0 ; python_version>"0" # --hash=sha256:…`` is read as pip reads it: an
unhashed requirement (the ``--hash`` is inside a comment).

The pin rule, for a lock file (``llmops init --llmops-source LOCK``):

* every requirement is ``NAME[extras]==VERSION`` (one exact ``==``/``===`` version, no wildcard, no URL,
  no path, no editable) with an optional environment marker, and carries at least one
  ``--hash=sha256:<64 hex>`` (sha384/sha512 also count) — pip checks every download against them;
* the only per-requirement option is ``--hash``; file-level option lines may set where packages come from
  (``--index-url``, ``--extra-index-url``, ``--no-index``, ``--find-links``, ``--trusted-host``) or how
  (``--require-hashes``, ``--only-binary``, ``--prefer-binary``, ``--pre``): none of them can skip a hash.
  ``-r``/``-c`` (other files), ``-e`` (editables cannot be hashed), ``--config-settings``, ``--global-option``,
  ``--use-feature`` and ``${VAR}`` (expanded from the environment of the CI job) are refused;
* the text is UTF-8, at most :data:`MAX_LOCK_BYTES`, without control characters other than tab and newlines.

:func:`render_lock` writes the lock back in one canonical line per requirement, led by ``--require-hashes``,
and reads its own output again: the written file must mean exactly what was validated.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from .errors import UsageError

MAX_LOCK_BYTES = 1_000_000
MAX_REQUIREMENTS = 2_000
MAX_LINE_CHARS = 20_000

# pip's own expressions (req_file.py)
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{[A-Za-z0-9_]*\}?")
_HASH = re.compile(r"^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$")
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")

# file-level options that cannot make pip skip a hash: name -> takes a value
_FILE_OPTIONS = {
    "--index-url": True,
    "--extra-index-url": True,
    "--find-links": True,
    "--trusted-host": True,
    "--only-binary": True,
    "--no-index": False,
    "--require-hashes": False,
    "--prefer-binary": False,
    "--pre": False,
}


@dataclass(frozen=True)
class PinnedRequirement:
    """One hash-pinned requirement of a lock file."""

    name: str  # canonical (PEP 503) name
    requirement: str  # NAME[extras]==VERSION ; MARKER, as packaging writes it
    hashes: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Lock:
    """A validated lock: its requirements and its file-level option lines."""

    requirements: tuple[PinnedRequirement, ...]
    options: tuple[str, ...] = field(default=())

    def pins(self, name: str) -> bool:
        """Whether the lock pins the project ``name``."""
        from packaging.utils import canonicalize_name

        want = canonicalize_name(name)
        return any(r.name == want for r in self.requirements)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """pip's preprocessing: (first physical line number, logical line) without comments or blank lines."""
    joined: list[tuple[int, str]] = []
    pending: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.endswith("\\") or _COMMENT.match(line):
            if _COMMENT.match(line):
                line = " " + line
            if pending:
                pending.append(line)
                joined.append((first, "".join(pending)))
                pending = []
            else:
                joined.append((number, line))
        else:
            if not pending:
                first = number
            pending.append(line.strip("\\"))
    if pending:
        joined.append((first, "".join(pending)))
    out = []
    for number, line in joined:
        line = _COMMENT.sub("", line).strip()
        if line:
            out.append((number, line))
    return out


def split_args_options(line: str) -> tuple[str, str]:
    """pip's ``break_args_options``: the requirement part and the options part of a logical line."""
    tokens = line.split(" ")
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]), " ".join(tokens[i:])
    return line, ""


def _options(text: str, where: str) -> list[tuple[str, str | None]]:
    """(option, value) pairs of an options string, long spellings only (pip would also take abbreviations;
    a lock never needs them)."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"{where}: options pip cannot split ({exc})") from None
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        name, eq, value = tok.partition("=")
        if name == "--hash" or _FILE_OPTIONS.get(name):
            if not eq:
                if i + 1 >= len(tokens):
                    raise UsageError(f"{where}: {name} needs a value")
                i += 1
                value = tokens[i]
            out.append((name, value))
        elif name in _FILE_OPTIONS and not eq:
            out.append((name, None))
        else:
            shown = tok if len(tok) <= 40 else tok[:40] + "…"
            raise UsageError(
                f"{where}: option {shown!r} is not allowed in a hash-pinned lock "
                "(allowed: --hash on a requirement; --index-url, --extra-index-url, --find-links, "
                "--trusted-host, --no-index, --require-hashes, --only-binary, --prefer-binary, --pre on their own line)"
            )
        i += 1
    return out


def _requirement(args: str, where: str) -> tuple[str, str]:
    """(canonical name, canonical text) of a ``NAME[extras]==VERSION ; MARKER`` requirement."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(args)
    except InvalidRequirement as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise UsageError(f"{where}: not a requirement pip can read as NAME==VERSION ({first[:160]})") from None
    if req.url:
        raise UsageError(f"{where}: a URL requirement in a lock; pin NAME==VERSION with --hash instead")
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "===") or specs[0].version.endswith(".*"):
        raise UsageError(f"{where}: {req.name} is not pinned to one exact version (NAME==VERSION)")
    return canonicalize_name(req.name), str(req)


def parse_lock(text: str, file: str) -> Lock:
    """Validate a lock file's text against the pin rule (see the module docstring); :class:`UsageError`
    naming ``file:line`` for the first problem."""
    if len(text) > MAX_LOCK_BYTES:
        raise UsageError(f"larger than {MAX_LOCK_BYTES:,} bytes (refused)", file=file)
    for number, raw in enumerate(text.splitlines(), start=1):
        if _BAD_CHARS.search(raw) or len(raw) > MAX_LINE_CHARS:
            raise UsageError("control characters or an overlong line (refused)", file=file, line=number)
    requirements: list[PinnedRequirement] = []
    options: list[str] = []
    for number, line in logical_lines(text):
        where = f"{file}:{number}"
        if _ENV_VAR.search(line):
            raise UsageError(f"{where}: ${{…}} is expanded from the CI job's environment by pip (refused)")
        args, opts = split_args_options(line)
        parsed = _options(opts, where)
        if not args:
            if any(name == "--hash" for name, _ in parsed):
                raise UsageError(f"{where}: --hash without a requirement (pip ignores it)")
            options += [name if value is None else f"{name} {shlex.quote(value)}" for name, value in parsed]
            continue
        name, canonical = _requirement(args, where)
        hashes = []
        for opt, value in parsed:
            if opt != "--hash":
                raise UsageError(f"{where}: {opt} is a file option; put it on its own line")
            if value is None or not _HASH.match(value):
                raise UsageError(f"{where}: --hash must be sha256:<64 lowercase hex> (or sha384/sha512)")
            hashes.append(value)
        if not hashes:
            raise UsageError(f"{where}: {canonical[:120]} carries no --hash that pip reads (comments do not count)")
        requirements.append(PinnedRequirement(name, canonical, tuple(dict.fromkeys(hashes)), number))
        if len(requirements) > MAX_REQUIREMENTS:
            raise UsageError(f"more than {MAX_REQUIREMENTS} requirements (refused)", file=file)
    if not requirements:
        raise UsageError("no requirements (a lock needs NAME==VERSION --hash=sha256:… lines)", file=file)
    return Lock(tuple(requirements), tuple(dict.fromkeys(options)))


def render_lock(lock: Lock) -> str:
    """The canonical text of a validated lock: ``--require-hashes``, the option lines, then one requirement per
    line with its hashes; re-read with :func:`parse_lock` to prove it means the same to pip."""
    options = ["--require-hashes", *(o for o in lock.options if o != "--require-hashes")]
    lines = [*options, *(f"{r.requirement} " + " ".join(f"--hash={h}" for h in r.hashes) for r in lock.requirements)]
    text = "\n".join(lines) + "\n"
    again = parse_lock(text, "(rendered lock)")

    def meaning(x: Lock) -> list[object]:
        return [x.options, *((r.requirement, r.hashes) for r in x.requirements)]

    if meaning(again) != meaning(Lock(lock.requirements, tuple(options))):
        raise UsageError("the lock cannot be written back so that pip reads the same requirements (refused)")
    return text
