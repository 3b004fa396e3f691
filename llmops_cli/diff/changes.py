"""Which prompts changed between two sides, loading only those that may have.

The changed *files* come from git (``git diff -M --name-status`` between the two trees, or
between a tree and the working tree plus untracked files), so identical prompt files are never read
unless something they may depend on changed: a partial or template file (then only prompts whose
text mentions ``include``/``import``/``extends``/``template`` are loaded), a shared tool file (then only
prompts whose text mentions ``use:``), or a model alias in
``llmops.yaml`` (then only prompts whose text mentions that alias). Every load is wrapped: a file
that does not parse on one side becomes a :class:`FileProblem`, and the rest of the diff goes on.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..config import CONFIG_FILE
from ..errors import GitError, UserError
from ..spec import PROMPT_SUFFIX

if TYPE_CHECKING:
    from ..project import Project
    from ..prompt import Prompt
    from ..sources import Source
    from .refs import DiffSides, Side

Status = Literal["added", "removed", "renamed", "modified", "affected", "error"]
_DEP_MARKERS = ("include", "import", "extends", "template")
RENAME_SIMILARITY = 0.5  # like git's default -M50%


@dataclass(frozen=True)
class FileProblem:
    """A file that could not be read or validated on one side."""

    side: str  # "old" | "new"
    ref: str  # the side's label (ref name, merge-base, "working tree")
    path: str
    message: str
    line: int | None = None

    def location(self) -> str:
        return f"{self.ref}:{self.path}" + (f":{self.line}" if self.line else "")

    def to_dict(self) -> dict[str, object]:
        return {"side": self.side, "ref": self.ref, "path": self.path, "line": self.line, "message": self.message}


@dataclass(frozen=True)
class FileChange:
    """A changed path (project-relative). ``status``: A, D, M, R (``old_path`` set), T."""

    status: str
    path: str
    old_path: str | None = None


@dataclass
class PromptChange:
    """One prompt that differs between the sides (before the structural comparison)."""

    old_name: str | None
    new_name: str | None
    status: Status
    old: Prompt | None = None
    new: Prompt | None = None
    problems: list[FileProblem] = field(default_factory=list)
    affected_by: list[str] = field(default_factory=list)  # why an unedited prompt changed behaviour

    @property
    def name(self) -> str:
        return self.new_name or self.old_name or ""


@dataclass
class ChangeSet:
    """Everything :func:`find_changes` learned."""

    old_project: Project
    new_project: Project
    changes: list[PromptChange]
    problems: list[FileProblem]  # every problem, prompt-specific ones included
    files_changed: list[FileChange]
    prompts_compared: int = 0
    prompts_loaded: int = 0


# -- changed files --------------------------------------------------------------------------------
def _parse_name_status(out: str, subdir: str) -> list[FileChange]:
    parts = out.split("\0")
    pre = f"{subdir}/" if subdir else ""
    changes: list[FileChange] = []
    i = 0
    while i < len(parts):
        st = parts[i]
        if not st:
            i += 1
            continue
        code = st[0]
        old: str | None
        if code in "RC":
            old, new = parts[i + 1], parts[i + 2]
            i += 3
            if code == "C":
                code, old = "A", None
        else:
            old, new = None, parts[i + 1]
            i += 2
        if not new.startswith(pre) or (old is not None and not old.startswith(pre)):
            continue
        changes.append(FileChange(code, new[len(pre) :], old[len(pre) :] if old else None))
    return changes


def changed_files(sides: DiffSides) -> list[FileChange]:
    """Paths that differ between the two sides, with git's rename detection."""
    from ..git import name_status, untracked_files

    repo, spec, old = sides.repo, sides.subdir or ".", sides.old.commit
    if old is None:  # resolve_sides always puts a commit on the old side
        raise GitError("the old side of a diff must be a commit, not the working tree")
    if sides.new.is_worktree:
        files = _parse_name_status(name_status(repo, old, None, spec), sides.subdir)
        pre = f"{sides.subdir}/" if sides.subdir else ""
        files += [FileChange("A", p[len(pre) :]) for p in untracked_files(repo, spec) if p.startswith(pre)]
        return files
    return _parse_name_status(name_status(repo, old, sides.new.commit, spec), sides.subdir)


# -- loading with error capture -------------------------------------------------------------------
class _WithoutConfig:
    """A source that hides an unreadable ``llmops.yaml`` so the rest of the side still loads."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.label = inner.label

    def read_text(self, path: str) -> str:
        return self.inner.read_text(path)

    def exists(self, path: str) -> bool:
        return path != CONFIG_FILE and self.inner.exists(path)

    def list_files(self, prefix: str, suffixes: tuple[str, ...]) -> list[str]:
        return self.inner.list_files(prefix, suffixes)

    def blob_id(self, path: str) -> str | None:
        return self.inner.blob_id(path)


def open_side(side: Side, which: str, problems: list[FileProblem]) -> Project:
    """The project on one side; an invalid ``llmops.yaml`` is reported and defaults are used."""
    from ..project import Project

    try:
        return Project(side.source)
    except UserError as exc:
        problems.append(_problem(exc, which, side, CONFIG_FILE))
        return Project(_WithoutConfig(side.source))


def _problem(exc: UserError, which: str, side: Side, default_path: str) -> FileProblem:
    return FileProblem(which, side.label, exc.file or default_path, exc.message, exc.line)


def load_or_problem(project: Project, name: str, which: str, side: Side) -> tuple[Prompt | None, FileProblem | None]:
    """Load one prompt; a :class:`UserError` becomes a :class:`FileProblem` naming side, path and line."""
    try:
        return project.load(name), None
    except UserError as exc:
        return None, _problem(exc, which, side, project.prompt_file(name))


# -- the change set -------------------------------------------------------------------------------
def _changed_aliases(old: Project, new: Project) -> set[str]:
    names = set(old.config.models) | set(new.config.models)
    return {a for a in names if old.config.models.get(a) != new.config.models.get(a)}


def _pair_untracked_renames(
    removed: dict[str, str], added: dict[str, str], old: Project, new: Project
) -> dict[str, str]:
    """Pair removed and added prompt files by content similarity (git cannot see untracked renames)."""
    pairs: dict[str, str] = {}
    if not removed or not added or len(removed) * len(added) > 400:
        return pairs
    texts_old = {n: _text(old, f) for n, f in removed.items()}
    texts_new = {n: _text(new, f) for n, f in added.items()}
    for on, ot in texts_old.items():
        best, score = None, RENAME_SIMILARITY
        for nn, nt in texts_new.items():
            if nn in pairs.values() or ot is None or nt is None:
                continue
            sm = difflib.SequenceMatcher(None, ot, nt, autojunk=False)
            if sm.quick_ratio() >= score and (r := sm.ratio()) >= score:
                best, score = nn, r
        if best is not None:
            pairs[on] = best
    return pairs


def _text(project: Project, path: str) -> str | None:
    try:
        return project.source.read_text(path)
    except UserError:
        return None


def find_changes(sides: DiffSides, names: list[str] | None = None) -> ChangeSet:
    """The prompts that differ between ``sides.old`` and ``sides.new`` (restricted to ``names``)."""
    from .refs import check_names, select

    problems: list[FileProblem] = []
    old_p = open_side(sides.old, "old", problems)
    new_p = open_side(sides.new, "new", problems)
    files = changed_files(sides)

    old_names, new_names = old_p.prompt_names(), new_p.prompt_names()
    if names:
        check_names(names, set(old_names) | set(new_names))
    old_sel = set(select(names or [], old_names))
    new_sel = set(select(names or [], new_names))

    by_path = {f.path: f for f in files}
    renames: dict[str, str] = {}  # old name -> new name
    for f in files:
        if f.status == "R" and f.old_path:
            on, nn = old_p.name_for_file(f.old_path), new_p.name_for_file(f.path)
            if on and nn and (on in old_sel or nn in new_sel):
                renames[on] = nn
    removed = {n: old_p.prompt_file(n) for n in old_sel if n not in new_names and n not in renames}
    added = {n: new_p.prompt_file(n) for n in new_sel if n not in old_names and n not in renames.values()}
    for on, nn in _pair_untracked_renames(removed, added, old_p, new_p).items():
        renames[on] = nn
        removed.pop(on)
        added.pop(nn)

    # What unedited prompts may depend on.
    alias_changes: set[str] = set()
    config_changed = CONFIG_FILE in by_path
    all_prompts_suspect = False
    if config_changed:
        alias_changes = _changed_aliases(old_p, new_p)
        all_prompts_suspect = old_p.config.paths != new_p.config.paths
    prompt_files = {old_p.prompt_file(n) for n in old_names} | {new_p.prompt_file(n) for n in new_names}
    evals = new_p.config.paths.evals.strip("/") + "/"
    dep_files = [
        f.path
        for f in files
        if f.path not in prompt_files
        and f.path != CONFIG_FILE
        and not f.path.startswith(evals)
        and not f.path.endswith(PROMPT_SUFFIX)
    ]
    dep_files += [f.old_path for f in files if f.old_path and f.old_path not in prompt_files]
    tools_dirs = {f"{p.tools_dir}/" for p in (old_p, new_p)}
    tool_deps = [f for f in dep_files if f.startswith(tuple(tools_dirs))]
    dep_files = [f for f in dep_files if f not in tool_deps]

    changes: list[PromptChange] = []
    loaded = 0
    common = sorted((old_sel & new_sel) & set(new_names) & set(old_names))
    for name in common:
        file = new_p.prompt_file(name)
        edited = file in by_path or old_p.prompt_file(name) in by_path
        if not edited and not all_prompts_suspect:
            if not dep_files and not tool_deps and not alias_changes:
                continue
            text = _text(new_p, file)
            if text is not None:
                needs = (
                    (dep_files and any(m in text for m in _DEP_MARKERS))
                    or (tool_deps and "use:" in text)
                    or any(a in text for a in alias_changes)
                )
                if not needs:
                    continue
        loaded += 1
        ch = _compare(name, name, sides, old_p, new_p, edited)
        if ch is not None:
            changes.append(ch)
    for on, nn in sorted(renames.items()):
        loaded += 1
        ch = _compare(on, nn, sides, old_p, new_p, True)
        if ch is not None:
            changes.append(ch)
    for name in sorted(removed):
        loaded += 1
        old, prob = load_or_problem(old_p, name, "old", sides.old)
        changes.append(PromptChange(name, None, "removed", old=old, problems=[prob] if prob else []))
    for name in sorted(added):
        loaded += 1
        new, prob = load_or_problem(new_p, name, "new", sides.new)
        changes.append(PromptChange(None, name, "added", new=new, problems=[prob] if prob else []))

    changes.sort(key=lambda c: c.name)
    for c in changes:
        problems.extend(c.problems)
    compared = len(old_sel | new_sel) - len(renames)
    return ChangeSet(old_p, new_p, changes, problems, files, prompts_compared=compared, prompts_loaded=loaded)


def _compare(
    old_name: str, new_name: str, sides: DiffSides, old_p: Project, new_p: Project, edited: bool
) -> PromptChange | None:
    old, p1 = load_or_problem(old_p, old_name, "old", sides.old)
    new, p2 = load_or_problem(new_p, new_name, "new", sides.new)
    renamed = old_name != new_name
    if p1 or p2 or old is None or new is None:
        return PromptChange(old_name, new_name, "error", old, new, [p for p in (p1, p2) if p])
    if renamed:
        return PromptChange(old_name, new_name, "renamed", old, new)
    if edited:
        return PromptChange(old_name, new_name, "modified", old, new)
    if old.hash_payload() == new.hash_payload():
        return None
    own_templates = [m.template_file for m in new.messages if m.template_file] + [
        m.template_file for m in old.messages if m.template_file
    ]
    template_edited = any(_text(old_p, t) != _text(new_p, t) for t in set(own_templates))
    if template_edited:
        return PromptChange(old_name, new_name, "modified", old, new)
    return PromptChange(old_name, new_name, "affected", old, new, affected_by=dependency_reasons(old, new))


def dependency_reasons(old: Prompt, new: Prompt) -> list[str]:
    """Why a prompt whose own file is unchanged behaves differently: partials, shared tools, model alias."""
    reasons: list[str] = []
    old_tools, new_tools = {t.name: t for t in old.tools}, {t.name: t for t in new.tools}
    for name in [*old_tools, *(n for n in new_tools if n not in old_tools)]:
        ta, tb = old_tools.get(name), new_tools.get(name)
        if ta != tb:
            what = "added" if ta is None else "removed" if tb is None else "changed"
            reasons.append(f"shared tool `{name}` {what}")
    for inc in sorted(set(old.partials) | set(new.partials)):
        a, b = old.partials.get(inc), new.partials.get(inc)
        if a != b:
            what = "added" if a is None else "removed" if b is None else "changed"
            reasons.append(f"partial `{inc}` {what}")
    if old.alias != new.alias or old.model != new.model:
        alias = new.model_name
        if old.model != new.model:
            reasons.append(f"model alias `{alias}` in {CONFIG_FILE} now resolves to {new.model} (was {old.model})")
        else:
            reasons.append(f"model alias `{alias}` changed in {CONFIG_FILE}")
    return reasons
