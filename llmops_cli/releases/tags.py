"""Release tags: ``prompts/<name>/v<semver>``, annotated, one per released prompt version.

Listing reads every release ref of the repository with one ``git for-each-ref`` call (tag object,
peeled commit and message together), so resolving a version among hundreds of releases costs one
subprocess, not one object lookup per tag. Nothing here imports gitpython.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GitError
from .semver import Version, try_parse_version

if TYPE_CHECKING:
    import git

TAG_PREFIX = "prompts/"
TAG_REF_PREFIX = "refs/tags/" + TAG_PREFIX


def tag_name(name: str, version: Version | str) -> str:
    """The tag of a release: ``prompts/support/answer/v1.3.0``."""
    return f"{TAG_PREFIX}{name}/v{version}"


def parse_tag(tag: str) -> tuple[str, Version] | None:
    """``prompts/support/answer/v1.3.0`` → (``support/answer``, 1.3.0); None for any other tag."""
    tag = tag.removeprefix("refs/tags/")
    if not tag.startswith(TAG_PREFIX):
        return None
    name, _, last = tag[len(TAG_PREFIX) :].rpartition("/")
    if not name or not last.startswith("v"):
        return None
    version = try_parse_version(last[1:])
    return (name, version) if version is not None else None


@dataclass(frozen=True)
class ReleaseTag:
    """One release tag as found in the repository."""

    name: str
    version: Version
    tag: str
    object_sha: str  # the tag object (the commit itself for a lightweight tag)
    object_type: str  # "tag" for annotated tags; "" until read (see GitRepoDir.detailed)
    commit: str  # the commit the tag points at (peeled); "" until read
    message: str | None  # the annotated tag's message (manifest); None until read
    tagger_date: str = ""

    @property
    def has_detail(self) -> bool:
        return bool(self.object_type) and self.message is not None

    @property
    def annotated(self) -> bool:
        return self.object_type == "tag"


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
    def repo(self) -> git.Repo:
        """gitpython's view (imported only when objects must be read)."""
        import git

        return git.Repo(self.toplevel)

    def head(self) -> str:
        return self.git("rev-parse", "--verify", "HEAD^{commit}").strip()

    def project_path(self, rel: str) -> str:
        """A project-relative path as a repository-relative one."""
        return f"{self.subdir}/{rel}" if self.subdir else rel

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
        tags.sort(key=lambda t: (t.name, t.version.sort_key))  # type: ignore[attr-defined]
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
    env = dict(os.environ)
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
