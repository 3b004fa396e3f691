"""Where project files are read from: the working tree, or a git commit read straight from objects.

Everything that loads prompts, partials, golden sets or ``llmops.yaml`` goes through a
:class:`Source`, so the same code renders a prompt as it is on disk, at ``main``, or at a release
tag — without a checkout, a stash or a temporary clone.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from .errors import NotFoundError, PromptFileError
from .limits import MAX_FILE_BYTES

if TYPE_CHECKING:
    import git

    from .git import GitRepoDir


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


def _too_large(size: int, path: str) -> PromptFileError:
    return PromptFileError(f"file is {size:,} bytes, more than the {MAX_FILE_BYTES:,} allowed", file=path)


def path_problem(source: Source, path: str, folder: str) -> str | None:
    """Why ``path`` may not be read as a template confined to ``folder`` (None: it may).

    Lexically: no absolute path, no ``..``, nothing under ``.git``, inside ``folder``. Then, where the
    source knows links (the working tree, git objects), after resolving symlinks the file must be a
    regular file inside ``folder``; in git objects a symlink blob is refused outright.
    """
    if not path or path.startswith("/") or "\\" in path or any(c in path for c in "\0\n\r"):
        return "must be a relative path"
    parts = path.split("/")
    if ".." in parts:
        return "must not contain '..'"
    if ".git" in parts:
        return "must not point into .git"
    folder = folder.strip("/")
    norm = posixpath.normpath(path)
    if folder and not norm.startswith(folder + "/"):
        return f"must be inside {folder}/"
    base = source
    while hasattr(base, "inner"):  # wrappers (recording, error capture) delegate to a real source
        base = base.inner
    check = getattr(base, "link_problem", None)
    return check(norm, folder) if check else None


# -- output files: checked before any model call ---------------------------------------------------------------
_NAME_MAX = 255  # bytes in one path component (ext4, xfs, apfs…)
_PATH_MAX = 4096


def output_problem(path: str | os.PathLike[str], *, folder: bool = False, link_ok: bool = True) -> str | None:
    """Why llmops could not write ``path`` (a file; with ``folder``, a folder to write files into), or None.

    Commands that pay for model calls and then write (``eval run --out/--junit``, ``eval gate --markdown/
    --html/--out-dir``) ask before the first call: a path that is a folder (or, for ``folder``, a file), an
    existing FIFO or device, a component longer than the file system allows, or a place where no file can be
    created (read-only, no permission, a file where a folder should be) is refused up front (exit 2). Nothing
    is created: the nearest existing folder is probed with a temporary file, removed at once. Without
    ``link_ok`` (a file llmops names inside a folder the user named) a symbolic link is refused too: writing
    through it would land outside that folder.
    """
    text = os.fspath(path)
    if not text or "\0" in text:
        return "is empty" if not text else "contains a NUL character"
    full = os.path.abspath(text)
    try:
        encoded = os.fsencode(full)
    except UnicodeError:
        return "is not a valid file name"
    if len(encoded) >= _PATH_MAX or any(len(part) > _NAME_MAX for part in encoded.split(b"/")):
        return "is longer than the file system allows"
    if not link_ok and os.path.islink(full):
        return "is a symbolic link (llmops writes only inside the folder named)"
    try:
        st = os.stat(full) if os.path.lexists(full) else None
    except OSError as exc:  # a dangling link, a loop, a component that is a file
        return f"cannot be used: {exc.strerror}"
    if st is not None:
        if folder and not stat.S_ISDIR(st.st_mode):
            return "exists and is not a folder"
        if not folder and stat.S_ISDIR(st.st_mode):
            return "is a folder, not a file"
        if not folder and not stat.S_ISREG(st.st_mode):
            return "exists and is not a regular file (a FIFO or device?)"
    probe = full if folder and st is not None else os.path.dirname(full)
    while not os.path.lexists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        return f"cannot be created: {probe} is not a folder"
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=".llmops-write-check-", dir=probe)
    except OSError as exc:
        return f"cannot be written: {exc.strerror} ({probe})"
    os.close(fd)
    os.unlink(tmp)
    return None


def check_outputs(
    paths: dict[str, str | os.PathLike[str] | None],
    folders: dict[str, str | None] | None = None,
    inside: dict[str, str] | None = None,
) -> None:
    """:class:`UsageError` (exit 2) naming the option when one of ``paths`` (option → file), ``folders``
    (option → folder) or ``inside`` (files llmops names inside a folder the user named: no symbolic links)
    cannot be written (:func:`output_problem`), or when two of the files are one; None values are skipped."""
    from .errors import UsageError

    checks = [
        *((option, value, {}) for option, value in paths.items()),
        *((option, value, {"folder": True}) for option, value in (folders or {}).items()),
        *((option, value, {"link_ok": False}) for option, value in (inside or {}).items()),
    ]
    seen: dict[str, str] = {}
    for option, value, kw in checks:
        problem = None if value is None else output_problem(value, **kw)
        if problem:
            raise UsageError(f"{option} {str(value)[:200]!r} {problem}")
        if value is not None and not kw.get("folder"):
            real = os.path.realpath(value)
            if real in seen:  # one would overwrite the other
                raise UsageError(f"{seen[real]} and {option} name the same file {str(value)[:200]!r}")
            seen[real] = option


def _decode(data: bytes, path: str, label: str) -> str:
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
        try:
            p = (self.root / path).resolve()
        except (OSError, RuntimeError, ValueError):
            raise NotFoundError("no such file", file=path[:200]) from None
        if p != self.root and self.root not in p.parents:
            raise NotFoundError(f"path escapes the project root: {path[:200]}")
        if ".git" in p.relative_to(self.root).parts:
            raise NotFoundError(f"path points into .git: {path[:200]}")
        return p

    def read_text(self, path: str) -> str:
        p = self._abs(path)
        try:
            with open(p, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size > MAX_FILE_BYTES:
                    raise _too_large(size, path)
                data = fh.read(MAX_FILE_BYTES + 1)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFoundError("no such file", file=path[:200]) from None
        except OSError as exc:
            raise NotFoundError(f"cannot read file: {exc.strerror}", file=path[:200]) from None
        if len(data) > MAX_FILE_BYTES:
            raise _too_large(len(data), path)
        return _decode(data, path, self.label)

    def read_bytes(self, path: str, limit: int) -> bytes:
        """The bytes of a regular file inside the root (links resolved and confined, as :meth:`read_text`);
        :class:`NotFoundError` / :class:`PromptFileError` when absent, not a regular file (a FIFO is opened
        without blocking and refused) or larger than ``limit``."""
        p = self._abs(path)
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(p, flags)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError("no such file", file=path[:200]) from None
        except OSError as exc:
            raise NotFoundError(f"cannot read file: {exc.strerror}", file=path[:200]) from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise PromptFileError("is not a regular file", file=path[:200])
        with os.fdopen(fd, "rb") as fh:
            if st.st_size > limit:
                raise PromptFileError(f"file is {st.st_size:,} bytes, more than the {limit:,} allowed", file=path)
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise PromptFileError(f"file is more than the {limit:,} bytes allowed", file=path[:200])
        return data

    def exists(self, path: str) -> bool:
        try:
            return self._abs(path).is_file()
        except (NotFoundError, OSError):
            return False

    def link_problem(self, path: str, folder: str) -> str | None:
        """After resolving symlinks: a regular file inside ``folder``? (None when it is.)"""
        try:
            real = (self.root / path).resolve(strict=True)
            base = (self.root / folder).resolve()
            mode = real.stat().st_mode
        except FileNotFoundError:
            return None  # a missing file is reported as missing
        except (OSError, RuntimeError):
            return "cannot be resolved"
        if real != base and base not in real.parents:
            return f"resolves outside {folder}/ (symbolic link)"
        if ".git" in real.parts[len(self.root.parts) :]:
            return "must not point into .git"
        if not stat.S_ISREG(mode):
            return "is not a regular file"
        return None

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
        self._modes: dict[str, str] = {}

    def _full(self, path: str) -> str:
        return f"{self.subdir}/{path}" if self.subdir else path

    def _files(self) -> dict[str, str]:
        """path -> blob sha of every file in the commit (one ``ls-tree -r``, cached)."""
        if self._index is None:
            from .git import tree_blobs

            idx: dict[str, str] = {}
            prefix = f"{self.subdir}/" if self.subdir else ""
            for mode, path, sha in tree_blobs(self.repo, self.commit.hexsha):
                if path.startswith(prefix):
                    idx[path[len(prefix) :]] = sha
                    self._modes[path[len(prefix) :]] = mode
            self._index = idx
        return self._index

    def read_text(self, path: str) -> str:
        path = str(PurePosixPath(path))
        sha = self._files().get(path)
        if sha is None:
            raise NotFoundError(f"no such file at {self.label}", file=path)
        from .git import blob_stream

        stream = blob_stream(self.repo, sha)
        if stream.size > MAX_FILE_BYTES:
            raise _too_large(stream.size, path)
        return _decode(stream.read(), path, self.label)

    def read_bytes(self, path: str, limit: int) -> bytes:
        """The bytes of a file in the commit; a symbolic link blob or a blob larger than ``limit`` is refused."""
        path = str(PurePosixPath(path))
        sha = self._files().get(path)
        if sha is None:
            raise NotFoundError(f"no such file at {self.label}", file=path[:200])
        if self._modes.get(path) == "120000":
            raise PromptFileError("is a symbolic link (refused in git objects)", file=path[:200])
        from .git import blob_stream

        stream = blob_stream(self.repo, sha)
        if stream.size > limit:
            raise PromptFileError(f"file is {stream.size:,} bytes, more than the {limit:,} allowed", file=path)
        return bytes(stream.read())

    def link_problem(self, path: str, folder: str) -> str | None:
        """A symlink blob is refused (git stores the link, never what it points to)."""
        self._files()
        mode = self._modes.get(str(PurePosixPath(path)))
        if mode == "120000":
            return "is a symbolic link (refused in git objects)"
        return None

    def exists(self, path: str) -> bool:
        return str(PurePosixPath(path)) in self._files()

    def list_files(self, prefix: str, suffixes: tuple[str, ...]) -> list[str]:
        pre = prefix.strip("/")
        pre = f"{pre}/" if pre else ""
        return sorted(p for p in self._files() if p.startswith(pre) and p.endswith(suffixes))

    def blob_id(self, path: str) -> str | None:
        return self._files().get(str(PurePosixPath(path)))


def commit_source(repo: GitRepoDir, sha: str, label: str) -> GitSource:
    """A :class:`GitSource` for commit ``sha`` of ``repo`` (project-relative paths)."""
    return GitSource(repo.repo, repo.commit(sha), label=label, subdir=repo.subdir)


def git_source(root: str | os.PathLike[str], ref: str) -> GitSource:
    """A :class:`GitSource` for ``ref`` in the repository holding the project at ``root``.

    When the project lives in a subdirectory of the repository, paths stay project-relative.
    """
    from .git import open_repo, resolve_commit, subdir_of

    repo = open_repo(root)
    return GitSource(repo, resolve_commit(repo, ref), label=ref, subdir=subdir_of(repo, root))
