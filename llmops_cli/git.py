"""The one git layer: every repository the package opens, every object, ref, tag, note and push goes through here.

Two views of one repository:

* :class:`GitRepoDir` drives the git CLI (one ``git for-each-ref`` lists hundreds of release tags, notes,
  pushes, channel refs) and opens gitpython only when objects must be read (:attr:`GitRepoDir.repo`);
* :func:`open_repo` / :func:`resolve_commit` / :func:`merge_base_of` give gitpython's ``Repo`` and ``Commit``,
  for reading trees and blobs at a ref (:class:`llmops_cli.sources.GitSource`) and diffing commits.

gitpython is imported lazily, inside the functions that need it: ``import llmops_cli`` and ``load_prompt``
from a bundle never load it.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import settings
from .errors import GitError
from .tagnames import TAG_REF_PREFIX, ReleaseTag, parse_tag
from .versions import Version

if TYPE_CHECKING:
    # by name: inside GitRepoDir, ``git`` is its method
    from git import Commit, Repo


class GitRepoDir:
    """A git repository driven through the git CLI, plus the project's place in it."""

    def __init__(self, toplevel: Path, project_root: Path) -> None:
        self.toplevel = toplevel
        self.project_root = project_root
        sub = project_root.relative_to(toplevel).as_posix() if project_root != toplevel else ""
        self.subdir = "" if sub == "." else sub

    @classmethod
    def discover(cls, project_root: str | os.PathLike[str]) -> GitRepoDir:
        root = Path(project_root).resolve()
        for d in (root, *root.parents):  # a plain repository: no subprocess needed
            if (d / ".git").is_dir():
                return cls(d, root)
            if (d / ".git").exists():
                break  # a worktree or submodule (.git file): ask git
        try:
            top = _run(["git", "rev-parse", "--show-toplevel"], cwd=root).strip()
        except GitError:
            raise GitError(f"not a git repository: {root} (releases are git tags)") from None
        return cls(Path(top).resolve(), root)

    def git(self, *args: str, input: str | None = None, check: bool = True) -> str:
        """Run ``git ARGS`` in the repository; :class:`GitError` with git's message on failure."""
        return _run(["git", *args], cwd=self.toplevel, input=input, check=check)

    def git_proc(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=self.toplevel, input=input, capture_output=True, text=True, env=_git_env()
        )

    @cached_property
    def repo(self) -> Repo:
        """gitpython's view (imported only when objects must be read)."""
        import git

        return git.Repo(self.toplevel)

    def head(self) -> str:
        return self.git("rev-parse", "--verify", "HEAD^{commit}").strip()

    def project_path(self, rel: str) -> str:
        """A project-relative path as a repository-relative one."""
        return f"{self.subdir}/{rel}" if self.subdir else rel

    def commit(self, sha: str) -> Commit:
        """gitpython's commit object for a full SHA (no lookup until its tree is read)."""
        import git

        return git.Commit(self.repo, bytes.fromhex(sha))

    # -- notes and pushes --------------------------------------------------------------------------
    def append_note(self, ref: str, message: str, commit: str) -> None:
        """Append a line to ``commit``'s note under ``refs/notes/…`` ``ref``."""
        self.git("notes", f"--ref={ref}", "append", "-m", message, commit)

    def read_note(self, ref: str, commit: str) -> str | None:
        """``commit``'s note under ``ref``; None when it has none."""
        proc = self.git_proc("notes", f"--ref={ref}", "show", commit)
        return proc.stdout if proc.returncode == 0 else None

    def push(self, remote: str, *refspecs: str) -> None:
        """``git push REMOTE REFSPEC…``; :class:`GitError` with git's message on failure."""
        self.git("push", remote, *refspecs)

    def push_proc(self, remote: str, *refspecs: str) -> subprocess.CompletedProcess[str]:
        """``git push --porcelain``, the caller judging the outcome (e.g. a refused fast-forward)."""
        return self.git_proc("push", "--porcelain", remote, *refspecs)

    # -- release tags ------------------------------------------------------------------------------
    def release_tags(self, name: str | None = None, *, detail: bool = True) -> list[ReleaseTag]:
        """Every release tag (of ``name``, or of all prompts), sorted by name then version.

        One ``git for-each-ref``. With ``detail=False`` only names and object ids are listed — no tag
        object is opened, so resolving a version among hundreds of releases stays cheap — and
        :meth:`detailed` reads the one tag that was chosen.
        """
        pattern = TAG_REF_PREFIX + (f"{name}/" if name else "")
        fmt = "%(refname)%00%(objectname)"
        if detail:
            fmt += "%00%(objecttype)%00%(*objectname)%00%(creatordate:iso-strict)%00%(contents)"
        out = self.git("for-each-ref", f"--format={fmt}%01", pattern)
        tags: list[ReleaseTag] = []
        for record in out.split("\x01"):
            record = record.lstrip("\n")
            if not record:
                continue
            parts = record.split("\x00", 5)
            parsed = parse_tag(parts[0])
            if parsed is None or (name is not None and parsed[0] != name):
                continue
            otype, peeled, date, message = parts[2:6] if detail else ("", "", "", None)
            tags.append(
                ReleaseTag(
                    name=parsed[0],
                    version=parsed[1],
                    tag=parts[0].removeprefix("refs/tags/"),
                    object_sha=parts[1],
                    object_type=otype,
                    commit=(peeled or parts[1]) if detail else "",
                    message=(message if otype == "tag" else "") if detail else None,
                    tagger_date=date,
                )
            )
        tags.sort(key=lambda t: (t.name, t.version.sort_key))
        return tags

    def detailed(self, tag: ReleaseTag) -> ReleaseTag:
        """``tag`` with its type, peeled commit and message read from the object database."""
        if tag.has_detail:
            return tag
        odb = self.repo.odb
        sha, otype, message, date = tag.object_sha, "", "", ""
        for _ in range(10):  # peel tags of tags
            stream = odb.stream(bytes.fromhex(sha))
            kind = stream.type.decode()
            otype = otype or kind
            if kind != "tag":
                break
            raw = stream.read().decode("utf-8", "replace")
            head, _, body = raw.partition("\n\n")
            message = message or body
            headers = dict(line.split(" ", 1) for line in head.splitlines() if " " in line)
            sha = headers.get("object", "")
            date = date or headers.get("tagger", "").rsplit(">", 1)[-1].strip()
        return replace(tag, object_type=otype, commit=sha, message=message if otype == "tag" else "", tagger_date=date)

    def tag_message(self, tag: ReleaseTag) -> str:
        """The annotated tag's message ("" for a lightweight tag)."""
        return self.detailed(tag).message or ""

    def release_tag(self, name: str, version: Version) -> ReleaseTag | None:
        for t in self.release_tags(name):
            if t.version == version and str(t.version) == str(version):
                return t
        return None

    def remote_tag(self, remote: str, tag: str) -> str | None:
        """The object a tag names on ``remote`` (None when the remote has no such tag)."""
        proc = self.git_proc("ls-remote", "--tags", remote, f"refs/tags/{tag}")
        if proc.returncode != 0:
            raise GitError(f"cannot reach remote {remote!r}: {proc.stderr.strip() or 'git ls-remote failed'}")
        for line in proc.stdout.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/tags/{tag}":
                return sha
        return None


def _git_env() -> dict[str, str]:
    env = dict(settings.environ())
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    return env


def _run(cmd: list[str], cwd: Path, input: str | None = None, check: bool = True) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, text=True, env=_git_env())
    except FileNotFoundError:
        raise GitError("git is not installed (needed for releases)") from None
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise GitError(f"git {' '.join(cmd[1:3])} failed: {msg[-1] if msg else f'exit {proc.returncode}'}")
    return proc.stdout


def discover(root: str | os.PathLike[str] | None) -> GitRepoDir:
    """The repository holding the project found from ``root`` (``$LLMOPS_ROOT`` or the cwd when None)."""
    from .root import find_root

    return GitRepoDir.discover(find_root(root))


# -- gitpython views ------------------------------------------------------------------------------
def open_repo(path: str | os.PathLike[str]) -> Repo:
    """The git repository containing ``path``; :class:`GitError` when there is none."""
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(f"not a git repository: {path}") from None


def resolve_commit(repo: Repo, ref: str) -> Commit:
    """A commit for a branch, tag, SHA or any rev expression; :class:`GitError` when unknown."""
    import git

    try:
        obj = repo.rev_parse(ref)
    except (git.BadName, git.BadObject, ValueError, IndexError):
        raise GitError(f"unknown git ref: {ref!r}") from None
    while obj.type == "tag":
        obj = obj.object
    if obj.type != "commit":
        raise GitError(f"git ref {ref!r} does not name a commit")
    return obj


def subdir_of(repo: Repo, root: str | os.PathLike[str]) -> str:
    """The project's directory relative to the repository's working tree ("" at its top)."""
    work = Path(repo.working_tree_dir or ".").resolve()
    sub = Path(root).resolve().relative_to(work).as_posix()
    return "" if sub == "." else sub


def merge_base_of(repo: Repo, a: Commit, b: Commit) -> Commit | None:
    """The best common ancestor of two commits; None when they have none."""
    bases = repo.merge_base(a, b)
    return bases[0] if bases else None


def merge_base(root: str | os.PathLike[str], ref: str) -> str:
    """``git merge-base REF HEAD`` of the repository holding ``root``."""
    repo = open_repo(root)
    other = resolve_commit(repo, ref)
    try:
        head = repo.head.commit
    except ValueError:
        raise GitError("the repository has no commits yet") from None
    base = merge_base_of(repo, other, head)
    if base is None:
        raise GitError(f"{ref!r} and HEAD have no common ancestor")
    return base.hexsha


def head_sha(path: str | os.PathLike[str]) -> str | None:
    """HEAD's commit SHA of the repository holding ``path``; None outside a repository or before a commit."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=str(path), capture_output=True, text=True, timeout=10, env=_git_env()
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


_NO_INDEX_WRITES = {"GIT_OPTIONAL_LOCKS": "0"}  # status/diff must never refresh (rewrite) the user's index


def name_status(repo: Repo, old: str, new: str | None, pathspec: str) -> str:
    """``git diff -M --name-status -z OLD [NEW] -- PATHSPEC`` (NEW None: against the working tree)."""
    revs = [old] if new is None else [old, new]
    return str(repo.git.diff("-M", "--name-status", "-z", *revs, "--", pathspec, env=_NO_INDEX_WRITES))


def untracked_files(repo: Repo, pathspec: str) -> list[str]:
    """Untracked, not ignored files under ``pathspec`` (repository-relative paths)."""
    out = str(repo.git.ls_files("--others", "--exclude-standard", "-z", "--full-name", "--", pathspec,
                                env=_NO_INDEX_WRITES))  # fmt: skip
    return [p for p in out.split("\0") if p]


def is_dirty(repo: Repo, subdir: str = "") -> bool:
    """Uncommitted changes (untracked files included) under ``subdir`` of the working tree."""
    args = ["--porcelain", "--untracked-files=normal"]
    if subdir:
        args += ["--", subdir]
    return bool(str(repo.git.status(*args, env=_NO_INDEX_WRITES)).strip())


def tree_blobs(repo: Repo, commit: str) -> list[tuple[str, str, str]]:
    """``(mode, path, blob sha)`` of every file in ``commit`` (one ``git ls-tree -r``; submodules left out)."""
    out = str(repo.git.ls_tree("-r", "-z", "--full-tree", commit))
    blobs = []
    for entry in out.split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            blobs.append((parts[0], path, parts[2]))
    return blobs


def blob_stream(repo: Repo, sha: str) -> Any:
    """A stream over one blob's bytes (``.size`` and ``.read(n)``), straight from the object database."""
    return repo.odb.stream(bytes.fromhex(sha))


def known_commit(root: str | os.PathLike[str], ref: str) -> str | None:
    """The full SHA of ``ref`` when the repository holding ``root`` has that commit; None otherwise."""
    try:
        return resolve_commit(open_repo(root), ref).hexsha
    except GitError:
        return None


def is_ancestor(root: str | os.PathLike[str], older: str, newer: str) -> bool | None:
    """Whether commit ``older`` is an ancestor of (or equal to) ``newer``; None when either is unknown."""
    try:
        repo = open_repo(root)
        a, b = resolve_commit(repo, older), resolve_commit(repo, newer)
    except GitError:
        return None
    return bool(repo.is_ancestor(a, b))
