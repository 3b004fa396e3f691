"""``llmops init``: copy the starter project (``llmops_cli/scaffold/``) into a directory.

Besides the starter files, ``init`` writes two generated files:

* ``schemas/prompt.schema.json`` — the JSON Schema of the prompt file, which the scaffolded prompts name
  by relative path (``$schema=../../schemas/prompt.schema.json``): editors never fetch it from a domain.
* ``.github/llmops-requirements.txt`` — exactly what the PR workflow installs. It is pinned: a git
  commit, a wheel or archive URL with its sha256, or a fully hash-pinned lock file (``--llmops-source``).
  The default is the source this llmops was itself installed from, when pip recorded a pinned one
  (PEP 610 ``direct_url.json``: a git commit or a hashed archive); otherwise the file holds only
  instructions, and the workflow fails at the install step until a pin is written. Never an unpinned
  package name: that job holds the provider key.

With ``--action OWNER/REPO@<40-hex commit>`` the PR workflow is the short form that ``uses:`` the llmops GitHub
Action (``action.yml`` of this repository) pinned to that commit, which installs the llmops of that same commit;
no requirements file is written then.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from .errors import UsageError
from .pathsafe import confined
from .pins import MAX_LOCK_BYTES, parse_lock, render_lock

REQUIREMENTS_FILE = ".github/llmops-requirements.txt"
SCHEMA_FILE = "schemas/prompt.schema.json"
PR_WORKFLOW = ".github/workflows/llmops-pr.yml"

# OWNER/REPO[/PATH]@<40-hex commit>: the `uses:` of a pinned action
_ACTION = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}(?:/[A-Za-z0-9._-]{1,100}){0,4}@[0-9a-f]{40}$"
)

_GIT = re.compile(r"^git\+https://[A-Za-z0-9.-]+(?::\d+)?/[A-Za-z0-9._~/-]+@[0-9a-f]{40}$")
_ARCHIVE = re.compile(r"^https://[^\s#\x00-\x1f\x7f]+\.(?:whl|tar\.gz|zip)#sha256=[0-9a-f]{64}$")
MAX_SOURCE_CHARS = 2_000  # a URL or a lock file's path

_HEADER = """\
# What .github/workflows/llmops-pr.yml installs (`pip install -r` this file). Written by `llmops init`.
#
# Keep it pinned: that job holds your provider key, so whoever controls what this file resolves to controls
# the job. Allowed forms (`llmops init --llmops-source …` writes them):
#   llmops-cli @ git+https://HOST/OWNER/REPO@<full 40-hex commit>     (a commit, never a branch or tag)
#   llmops-cli @ https://…/llmops_cli-X.Y.Z-py3-none-any.whl#sha256=<64 hex>
#   a hash-pinned lock: every requirement NAME==VERSION --hash=sha256:… (e.g. `pip-compile --generate-hashes`),
#   read with pip's own grammar (a `--hash` after ` #` is a comment, not a pin) and written back led by
#   --require-hashes, so pip refuses anything unhashed
# For a fully reproducible job, prefer the lock: it pins llmops' dependencies too (pip then checks every hash).
# Never write an unpinned package name. See "Security model" in the llmops README.
"""


@dataclass
class ScaffoldResult:
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # existed already and were left alone
    source: str | None = None  # the pinned llmops source written to the requirements file (None: none known)
    action: str | None = None  # OWNER/REPO@<commit> the PR workflow uses (None: the workflow installs llmops)


def _walk(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name == "__pycache__":
            continue
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            out.extend(_walk(child, rel + "/"))
        else:
            out.append((rel, child))
    return out


def scaffold_files() -> list[tuple[str, Traversable]]:
    """(relative path, resource) of every starter file. ``dot-`` prefixes become ``.``."""
    root = resources.files("llmops_cli") / "scaffold"
    return [(rel.replace("dot-", ".", 1) if rel.startswith("dot-") else rel, res) for rel, res in _walk(root)]


def installed_source() -> str | None:
    """The pinned source the running llmops was installed from (PEP 610), or None."""
    from importlib import metadata

    try:
        raw = metadata.distribution("llmops-cli").read_text("direct_url.json")
        info = json.loads(raw) if raw else None
    except (metadata.PackageNotFoundError, ValueError, OSError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str):
        return None
    url = info["url"]
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git":
        candidate = f"git+{url}@{vcs.get('commit_id', '')}"
        return candidate if _GIT.match(candidate) else None
    archive = info.get("archive_info")
    if isinstance(archive, dict):
        digest = (archive.get("hashes") or {}).get("sha256")
        if not digest and str(archive.get("hash", "")).startswith("sha256="):
            digest = archive["hash"].split("=", 1)[1]
        candidate = f"{url}#sha256={digest}"
        return candidate if digest and _ARCHIVE.match(candidate) else None
    return None


def requirements_text(source: str | None) -> str:
    """The requirements file for a pinned ``source`` (or only the instructions when None).

    :class:`UsageError` for anything that is not pinned: a bare or ranged package name, a branch or tag,
    a short commit, an http (not https) URL, an archive without its sha256, a lock line without a hash.
    """
    if source is None:
        return (
            _HEADER
            + "#\n# No pinned source was given to `llmops init`: add one line above (the install fails until then).\n"
        )
    spec = source.strip()
    if len(spec) > MAX_SOURCE_CHARS:
        raise UsageError(f"--llmops-source: {len(spec):,} characters (at most {MAX_SOURCE_CHARS:,}); refused")
    if _GIT.match(spec) or _ARCHIVE.match(spec):
        return _HEADER + f"llmops-cli @ {spec}\n"
    if spec and not spec.startswith(("git+", "http")) and "\x00" not in spec:
        lock = _read_lock(spec)
        if lock is not None:
            return _HEADER + lock
    raise UsageError(
        f"--llmops-source {spec[:200]!r} is not pinned: give git+https://HOST/OWNER/REPO@<40-hex commit>, "
        "an https URL of a wheel or archive ending in #sha256=<64 hex>, or a hash-pinned lock file"
    )


def _read_lock(spec: str) -> str | None:
    """The canonical text of the lock file at ``spec`` (None when no such file); :class:`UsageError` when it
    is unreadable, not UTF-8, too large or breaks the pin rule (:mod:`llmops_cli.pins`)."""
    path = Path(spec)
    try:
        if not path.is_file():
            return None
        with path.open("rb") as fh:
            data = fh.read(MAX_LOCK_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"--llmops-source: cannot read the lock file: {exc.strerror or exc}", file=spec) from None
    if len(data) > MAX_LOCK_BYTES:
        raise UsageError(f"--llmops-source: lock file larger than {MAX_LOCK_BYTES:,} bytes (refused)", file=spec)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError("--llmops-source: the lock file is not UTF-8 text", file=spec, line=line) from None
    lock = parse_lock(text.removeprefix("\ufeff"), spec)
    if not lock.pins("llmops-cli"):
        raise UsageError(f"--llmops-source {spec[:200]}: the lock file does not pin llmops-cli")
    return render_lock(lock)


def schema_text() -> str:
    """``schemas/prompt.schema.json`` as ``init`` writes it."""
    from .spec import prompt_json_schema

    return json.dumps(prompt_json_schema(), indent=2, ensure_ascii=False) + "\n"


def sync_schema_file(root: Path) -> bool:
    """Rewrite ``root/schemas/prompt.schema.json`` when it differs from this llmops' schema; True if it did."""
    dest = root / SCHEMA_FILE
    if dest.is_symlink() or dest.parent.is_symlink() or (dest.exists() and not dest.is_file()):
        raise UsageError(f"{SCHEMA_FILE} is a link or not a regular file: refusing to write through it")
    text = schema_text()
    try:
        if dest.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    return True


def action_workflow_text(action: str) -> str:
    """The PR workflow in its ``uses: OWNER/REPO@<40-hex commit>`` form; :class:`UsageError` unless pinned."""
    spec = action.strip()
    if not _ACTION.match(spec):
        raise UsageError(
            f"--action {spec[:200]!r}: give OWNER/REPO@<full 40-hex commit> (never a branch or tag: "
            "the job holds the provider key)"
        )
    template = (resources.files("llmops_cli") / "scaffold_action" / "llmops-pr.yml").read_text(encoding="utf-8")
    return template.replace("@LLMOPS_ACTION@", spec)


def init_project(
    target: Path, *, force: bool = False, source: str | None = None, action: str | None = None
) -> ScaffoldResult:
    """Write the starter files into ``target``; existing files are kept unless ``force``.

    ``source``: where the PR workflow installs llmops from (see :func:`requirements_text`); default: the
    pinned source this llmops was installed from, if any. ``action``: write the workflow that ``uses:`` the
    llmops GitHub Action at ``OWNER/REPO@<40-hex commit>`` instead (no requirements file then).
    """
    if action is not None and source is not None:
        raise UsageError("--action and --llmops-source exclude each other: the action installs its own commit")
    generated: dict[str, str] = {}
    chosen: str | None = None
    if action is not None:
        generated[PR_WORKFLOW] = action_workflow_text(action)  # validated before anything is written
    else:
        chosen = source if source is not None else installed_source()
        generated[REQUIREMENTS_FILE] = requirements_text(chosen)  # validated before anything is written
    generated[SCHEMA_FILE] = schema_text()
    result = ScaffoldResult(source=chosen, action=action.strip() if action else None)
    files: list[tuple[str, bytes]] = [(rel, res.read_bytes()) for rel, res in scaffold_files() if rel not in generated]
    files += [(rel, text.encode("utf-8")) for rel, text in generated.items()]
    planned = []
    for rel, data in files:
        dest = target / rel
        if dest.exists() and not (force or (rel == REQUIREMENTS_FILE and source is not None)):
            result.skipped.append(rel)  # kept as it is (a link included): nothing is written through it
            continue
        if target.exists():
            confined(target, rel)  # a link out of the project is refused before the first file is written
        planned.append((rel, dest, data))
    try:
        target.mkdir(parents=True, exist_ok=True)
        for rel, dest, data in planned:
            dest.parent.mkdir(parents=True, exist_ok=True)
            Path(confined(target, rel)).write_bytes(data)  # checked again: a folder made above could not be a link
            result.created.append(rel)
    except OSError as exc:
        raise UsageError(f"cannot write the project: {exc.strerror or exc}", file=exc.filename or str(target)) from None
    return result
