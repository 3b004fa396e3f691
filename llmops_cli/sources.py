"""Where project files are read from: the working tree, or a git commit read straight from objects.

Everything that loads prompts, partials, golden sets or ``llmops.yaml`` goes through a
:class:`Source`, so the same code renders a prompt as it is on disk, at ``main``, or at a release
tag — without a checkout, a stash or a temporary clone.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from .errors import GitError, NotFoundError

if TYPE_CHECKING:
    import git


class Source(Protocol):
    """Read-only view of a project tree. Paths are POSIX, relative to the project root."""

    label: str

    def read_text(self, path: str) -> str:
        """The file's text; :class:`NotFoundError` when absent, :class:`UserError` when binary."""
        ...

    def exists(self, path: str) -> bool: ...

    def list_files(self, prefix: str, suffixes: tuple[str, ...]) -> list[str]:
        """Sorted paths under ``prefix`` ending with one of ``suffixes``."""
        ...

    def blob_id(self, path: str) -> str | None:
        """A cheap identity of the file's content (git blob sha or mtime/size), None when absent."""
        ...


def _decode(data: bytes, path: str, label: str) -> str:
    from .errors import PromptFileError

    if b"\x00" in data[:8192]:
        raise PromptFileError(f"binary file, not text ({label})", file=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PromptFileError(f"not valid UTF-8 at byte {exc.start} ({label})", file=path) from None


class FsSource:
    """The working tree (or any directory) on disk."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.label = "working tree"

    def _abs(self, path: str) -> Path:
        p = (self.root / path).resolve()
        if p != self.root and self.root not in p.parents:
            raise NotFoundError(f"path escapes the project root: {path}")
        return p

    def read_text(self, path: str) -> str:
        p = self._abs(path)
        try:
            data = p.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFoundError("no such file", file=path) from None
        return _decode(data, path, self.label)

    def exists(self, path: str) -> bool:
        try:
            return self._abs(path).is_file()
        except NotFoundError:
            return False

    def list_files(self, prefix: str, suffixes: tuple[str, ...]) -> list[str]:
        base = self._abs(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if name.endswith(suffixes):
                    out.append(name if rel_dir == "." else f"{rel_dir}/{name}")
        return sorted(out)

    def blob_id(self, path: str) -> str | None:
        try:
            st = self._abs(path).stat()
        except (FileNotFoundError, NotFoundError, NotADirectoryError):
            return None
        return f"{st.st_mtime_ns}:{st.st_size}"


class GitSource:
    """A commit's tree, read from git objects with gitpython (no checkout)."""

    def __init__(self, repo: git.Repo, commit: git.Commit, label: str | None = None, subdir: str = "") -> None:
        self.repo = repo
        self.commit = commit
        self.label = label or commit.hexsha[:12]
        self.subdir = subdir.strip("/")
        self._tree = commit.tree
        self._index: dict[str, str] | None = None

    def _full(self, path: str) -> str:
        return f"{self.subdir}/{path}" if self.subdir else path

    def _files(self) -> dict[str, str]:
        """path -> blob sha of every file in the commit (one ``ls-tree -r``, cached)."""
        if self._index is None:
            out = self.repo.git.ls_tree("-r", "-z", "--full-tree", self.commit.hexsha)
            idx: dict[str, str] = {}
            prefix = f"{self.subdir}/" if self.subdir else ""
            for entry in out.split("\0"):
                if not entry:
                    continue
                meta, _, path = entry.partition("\t")
                parts = meta.split()
                if len(parts) == 3 and parts[1] == "blob" and path.startswith(prefix):
                    idx[path[len(prefix) :]] = parts[2]
            self._index = idx
        return self._index

    def read_text(self, path: str) -> str:
        path = str(PurePosixPath(path))
        sha = self._files().get(path)
        if sha is None:
            raise NotFoundError(f"no such file at {self.label}", file=path)
        data = self.repo.odb.stream(bytes.fromhex(sha)).read()
        return _decode(data, path, self.label)

    def exists(self, path: str) -> bool:
        return str(PurePosixPath(path)) in self._files()

    def list_files(self, prefix: str, suffixes: tuple[str, ...]) -> list[str]:
        pre = prefix.strip("/")
        pre = f"{pre}/" if pre else ""
        return sorted(p for p in self._files() if p.startswith(pre) and p.endswith(suffixes))

    def blob_id(self, path: str) -> str | None:
        return self._files().get(str(PurePosixPath(path)))


def open_repo(path: str | os.PathLike[str]) -> git.Repo:
    """The git repository containing ``path``; :class:`GitError` when there is none."""
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(f"not a git repository: {path}") from None


def resolve_commit(repo: git.Repo, ref: str) -> git.Commit:
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


def git_source(root: str | os.PathLike[str], ref: str) -> GitSource:
    """A :class:`GitSource` for ``ref`` in the repository holding the project at ``root``.

    When the project lives in a subdirectory of the repository, paths stay project-relative.
    """
    repo = open_repo(root)
    commit = resolve_commit(repo, ref)
    work = Path(repo.working_tree_dir or ".").resolve()
    sub = Path(root).resolve().relative_to(work).as_posix()
    return GitSource(repo, commit, label=ref, subdir="" if sub == "." else sub)
