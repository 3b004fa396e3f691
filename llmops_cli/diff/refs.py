"""Which two versions of the project a diff compares: refs, release names, the working tree.

Argument forms (see ``docs/diff.md``)::

    (nothing)            HEAD               → working tree
    A                    merge-base(A, HEAD) → working tree   (a PR's changes, uncommitted edits included)
    A B                  A                  → B               (exact commits, like ``git diff A B``)
    A..B / A...B         one token: exact / merge-base of A and B → B
    NAME@1.2.0           release tag ``prompts/NAME/v1.2.0`` (exact, never a merge-base), and selects NAME

Tokens after the refs are prompt names. A token is taken as a ref while fewer than two refs have
been seen, no name has been seen yet, and it resolves in git; everything else is a prompt name.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GitError, UsageError
from ..git import is_dirty, merge_base_of, open_repo, resolve_commit, subdir_of
from ..sources import FsSource, GitSource, Source
from ..tagnames import tag_name

if TYPE_CHECKING:
    from git import Commit, Repo

_RELEASE = re.compile(r"^(?P<name>[^@\s]+)@v?(?P<version>\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)$")


def release_tag(name: str, version: str) -> str:
    """The git tag of a prompt release (the scheme is defined once, in :mod:`llmops_cli.tagnames`)."""
    return tag_name(name, version.removeprefix("v"))


@dataclass
class Side:
    """One side of a diff: a label for people, where files are read from, and the commit if any."""

    label: str
    source: Source
    commit: str | None = None  # full sha; None for the working tree

    @property
    def is_worktree(self) -> bool:
        return self.commit is None


@dataclass
class DiffSides:
    """The resolved comparison: old side, new side, prompt names to restrict to, notes for people."""

    old: Side
    new: Side
    repo: Repo
    names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    subdir: str = ""


def _try_commit(repo: Repo, token: str) -> Commit | None:
    try:
        return resolve_commit(repo, token)
    except GitError:
        return None


def resolve_sides(root: str | Path, tokens: list[str]) -> DiffSides:
    """Turn the command's positional arguments into two sides and a name filter.

    Raises :class:`GitError` (exit 2) for refs that do not exist and :class:`UsageError` for
    arguments that do not fit.
    """
    repo = open_repo(root)
    subdir = subdir_of(repo, root)

    refs: list[tuple[str, Commit, bool]] = []  # (label, commit, exact)
    ranges: list[tuple[str, Commit, Commit, bool]] = []
    names: list[str] = []
    release_names: list[str] = []
    for tok in tokens:
        rel = _RELEASE.match(tok)
        if rel and not names and len(refs) < 2 and not ranges:
            tag = release_tag(rel["name"], rel["version"])
            commit = _try_commit(repo, f"refs/tags/{tag}")
            if commit is None:
                raise GitError(f"no release {tok}: tag {tag!r} does not exist")
            refs.append((tok, commit, True))
            release_names.append(rel["name"])
            continue
        if not names and not refs and not ranges and (".." in tok) and not tok.startswith("."):
            three = "..." in tok
            a, b = tok.split("..." if three else "..", 1)
            ca = resolve_commit(repo, a or "HEAD")
            cb = resolve_commit(repo, b or "HEAD")
            ranges.append((tok, ca, cb, three))
            continue
        if not names and len(refs) < 2 and not ranges:
            commit = _try_commit(repo, tok)
            if commit is not None:
                refs.append((tok, commit, False))
                continue
        names.append(tok)
    # A release token also selected its prompt; a second mention of it is not another name.
    names = list(dict.fromkeys([*release_names, *names]))

    def git_side(label: str, commit: Commit) -> Side:
        return Side(label, GitSource(repo, commit, label=label, subdir=subdir), commit.hexsha)

    notes: list[str] = []
    if ranges:
        label, ca, cb, three = ranges[0]
        a, b = label.split("..." if three else "..", 1)
        if three:
            base = _merge_base(repo, ca, cb, label)
            old = git_side(f"merge-base({a or 'HEAD'}, {b or 'HEAD'}) {base.hexsha[:10]}", base)
        else:
            old = git_side(a or "HEAD", ca)
        new = git_side(b or "HEAD", cb)
    elif len(refs) == 2:
        old = git_side(refs[0][0], refs[0][1])
        new = git_side(refs[1][0], refs[1][1])
    elif len(refs) == 1:
        label, commit, exact = refs[0]
        if exact:
            old = git_side(label, commit)
        else:
            head = resolve_commit(repo, "HEAD")
            base = _merge_base(repo, commit, head, label)
            blabel = label if base.hexsha == commit.hexsha else f"merge-base({label}, HEAD) {base.hexsha[:10]}"
            old = git_side(blabel, base)
        new = Side("working tree", FsSource(root))
    else:
        tip = _try_commit(repo, "HEAD")
        if tip is None:
            raise GitError("the repository has no commits yet: nothing to compare the working tree with")
        old = git_side("HEAD", tip)
        new = Side("working tree", FsSource(root))
    if new.is_worktree and refs and is_dirty(repo, subdir):
        example = f"{refs[0][0]} HEAD"
        notes.append(
            f"comparing {old.label} with the working tree, uncommitted changes included "
            f"(name two refs, e.g. '{example}', to compare commits only)"
        )
    return DiffSides(old=old, new=new, names=names, notes=notes, repo=repo, subdir=subdir)


def _merge_base(repo: Repo, a: Commit, b: Commit, label: str) -> Commit:
    base = merge_base_of(repo, a, b)
    if base is None:
        raise GitError(f"{label!r} and HEAD have no common ancestor; name two refs to compare them directly")
    return base


def check_names(names: list[str], known: set[str]) -> None:
    """Every requested name must be a prompt on at least one side (or a glob matching one)."""
    for n in names:
        if any(ch in n for ch in "*?[") and fnmatch.filter(known, n):
            continue
        if n not in known:
            raise UsageError(f"unknown git ref or prompt name: {n!r}")


def select(names: list[str], known: list[str]) -> list[str]:
    """The known names matching the requested ones (exact or glob); all when none requested."""
    if not names:
        return known
    return [k for k in known if any(k == n or fnmatch.fnmatchcase(k, n) for n in names)]
