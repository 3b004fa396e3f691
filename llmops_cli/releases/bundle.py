"""Release bundles (``prompts.lock.json``): releases packed for deploys without git.

A bundle holds, per prompt and version, the release manifest and the text of every file the prompt
needs (``llmops.yaml``, the prompt file, template files, partials) — exactly the files read while
loading it — so the loader rebuilds the :class:`~llmops_cli.prompt.Prompt` through an in-memory
:class:`MemorySource` and checks its sha256 against the manifest::

    {"format": "llmops.bundle/1", "created_at": "…", "git_sha": "…",
     "prompts": {"support/answer": {
         "releases": {"1.3.0": {"tag": "…", "git_sha": "…", "sha256": "…", "manifest": {…},
                                "files": {"llmops.yaml": "…", "prompts/support/answer.prompt.yaml": "…"}}},
         "channels": {"production": "1.3.0"},
         "canaries": {"production": {"stable": "1.3.0", "version": "1.4.0", "percent": 10,
                                     "move": "<channel move commit>", "sha256": "…"}}}}}

``canaries`` (optional, so older readers still read the bundle and serve the stable arm) carries a
channel's canary when both of its releases are bundled; its ``sha256`` binds channel, both releases'
content hashes, percent and move, and every value is validated on read (:func:`.canary.bundle_problem`).

Reading a bundle imports neither gitpython, typer, rich nor litellm.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, NotFoundError, PromptFileError, UserError
from ..jsonio import load_file_strict
from ..records.base import RecordError, load_record
from ..records.releases import BUNDLE_FORMAT, Bundle
from ..sources import commit_source
from ..versions import looks_like_spec, parse_spec
from .manifest import read_manifest, verify
from .resolve import channel_state, resolve_tag

if TYPE_CHECKING:
    from ..git import GitRepoDir
    from ..prompt import Prompt
    from ..sources import Source
    from ..tagnames import ReleaseTag

__all__ = ["BUNDLE_FORMAT", "MemorySource", "build_bundle", "prompt_from_entry", "read_bundle", "write_bundle"]


class MemorySource:
    """A project tree held in memory: {project-relative path: text}."""

    def __init__(self, files: dict[str, str], label: str = "bundle") -> None:
        self.files = files
        self.label = label

    def read_text(self, path: str) -> str:
        p = str(PurePosixPath(path))
        if p not in self.files:
            raise NotFoundError(f"no such file in {self.label}", file=p)
        return self.files[p]

    def exists(self, path: str) -> bool:
        return str(PurePosixPath(path)) in self.files

    def list_files(self, prefix: str, suffixes: tuple[str, ...]) -> list[str]:
        pre = prefix.strip("/")
        pre = f"{pre}/" if pre else ""
        return sorted(p for p in self.files if p.startswith(pre) and p.endswith(suffixes))

    def blob_id(self, path: str) -> str | None:
        text = self.files.get(str(PurePosixPath(path)))
        return None if text is None else str(hash(text))


class RecordingSource:
    """Wraps a source and remembers every file read through it (to pack exactly what a prompt needs)."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.label = inner.label
        self.read: dict[str, str] = {}

    def read_text(self, path: str) -> str:
        text = self.inner.read_text(path)
        self.read[str(PurePosixPath(path))] = text
        return text

    def exists(self, path: str) -> bool:
        return self.inner.exists(path)

    def list_files(self, prefix: str, suffixes: tuple[str, ...]) -> list[str]:
        return self.inner.list_files(prefix, suffixes)

    def blob_id(self, path: str) -> str | None:
        return self.inner.blob_id(path)


def release_entry(repo: GitRepoDir, tag: ReleaseTag) -> dict[str, Any]:
    """A bundle entry for one release tag (verified against its manifest first)."""
    from ..project import Project
    from .manifest import parse_tag_message

    tag = repo.detailed(tag)
    manifest = parse_tag_message(repo.tag_message(tag), tag.tag)
    recorder = RecordingSource(commit_source(repo, tag.commit, tag.tag))
    prompt = Project(recorder).load(tag.name)
    verify(prompt, manifest, where=f"tag {tag.tag}", commit=tag.commit)
    return {
        "tag": tag.tag,
        "git_sha": tag.commit,
        "sha256": prompt.sha256,
        "manifest": manifest.to_json(),
        "files": dict(sorted(recorder.read.items())),
    }


def build_bundle(repo: GitRepoDir, selections: list[tuple[str, str | None]] | None = None) -> dict[str, Any]:
    """Bundle the selected releases: [(prompt name, version spec or None for all)]; None = every release."""
    from . import channels as ch

    all_tags = repo.release_tags()
    by_name: dict[str, list[ReleaseTag]] = {}
    for t in all_tags:
        by_name.setdefault(t.name, []).append(t)
    if selections is None:
        selections = [(n, None) for n in sorted(by_name)]
    prompts: dict[str, Any] = {}
    for name, spec in selections:
        tags = by_name.get(name, [])
        if not tags:
            raise NotFoundError(f"prompt '{name}' has no releases (llmops release create {name})")
        if spec is None:
            chosen = tags
        elif not looks_like_spec(spec):  # a channel or "latest": that one release (and a channel's canary)
            chosen = [resolve_tag(repo, name, spec, tags)]
            if spec.strip() != "latest":
                canary = channel_state(repo, name, spec.strip(), tags).canary
                chosen += [canary] if canary is not None else []
        else:
            vs = parse_spec(spec)
            chosen = [t for t in tags if vs.matches(t.version)]
            if not chosen:
                raise NotFoundError(f"no release of '{name}' matches {spec!r}")
        entry = prompts.setdefault(name, {"releases": {}, "channels": {}})
        for t in chosen:
            entry["releases"][str(t.version)] = release_entry(repo, t)
    from .canary import bundle_record

    for name, moves in ch.all_moves(repo).items():
        if name in prompts:
            releases = prompts[name]["releases"]
            for channel, mv in moves.items():
                if mv.problem and mv.version in releases:
                    raise IntegrityError(f"channel '{channel}' of '{name}' (move {mv.commit[:12]}): {mv.problem}")
                if mv.version in releases:
                    prompts[name]["channels"][channel] = mv.version
                    if mv.canary is not None and mv.canary in releases and mv.canary_percent is not None:
                        prompts[name].setdefault("canaries", {})[channel] = bundle_record(
                            name, channel, mv.version, mv.canary, mv.canary_percent, mv.commit, releases
                        )
    return {
        "format": BUNDLE_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_sha": repo.head(),
        "prompts": prompts,
    }


def write_bundle(bundle: dict[str, Any], out: str | os.PathLike[str]) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(bundle, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


_BUNDLES: dict[tuple[str, int, int], dict[str, Any]] = {}


def bundle_key(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    p = os.path.abspath(path)
    try:
        st = os.stat(p)
    except OSError:
        raise NotFoundError(f"bundle not found: {path}") from None
    return (p, st.st_mtime_ns, st.st_size)


def read_bundle(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A bundle file, parsed and shape-checked (cached while the file is unchanged)."""
    key = bundle_key(path)
    cached = _BUNDLES.get(key)
    if cached is not None:
        return cached

    try:
        data = load_file_strict(key[0], what="bundle")
    except PromptFileError as exc:  # not strict JSON, too large or too deep: not a bundle llmops wrote
        raise IntegrityError(f"bundle is not valid: {exc.message}", file=str(path), line=exc.line) from None
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT or not isinstance(data.get("prompts"), dict):
        raise IntegrityError(f"not an llmops bundle (expected format {BUNDLE_FORMAT})", file=str(path))
    try:  # the shape build_bundle writes (records.releases.Bundle), then the canaries' own checks
        load_record(Bundle, data, source=str(path))
    except RecordError as exc:
        raise IntegrityError(f"malformed bundle: {exc.message}", file=str(path)) from None
    from .canary import bundle_problem

    for name, entry in data["prompts"].items():
        problem = bundle_problem(name, entry)
        if problem:
            raise IntegrityError(f"malformed bundle: {problem}", file=str(path))
    _BUNDLES[key] = data
    return data


def prompt_from_entry(name: str, version: str, entry: Any, where: str) -> Prompt:
    """Rebuild a released prompt from its bundle entry and verify it against the manifest."""
    from ..project import Project

    if not isinstance(entry, dict) or not isinstance(entry.get("files"), dict) or "manifest" not in entry:
        raise IntegrityError(f"{where}: malformed release entry for {name}@{version}")
    manifest = read_manifest(entry["manifest"], f"{where} {name}@{version}")
    if manifest.version != version or entry.get("sha256") != manifest.sha256:
        raise IntegrityError(f"{where}: entry {name}@{version} does not match its manifest")
    try:
        prompt = Project(MemorySource(entry["files"], label=f"{where} {name}@{version}")).load(name)
    except UserError as exc:
        raise IntegrityError(f"{where}: {name}@{version} cannot be rebuilt from the bundle: {exc}") from None
    verify(prompt, manifest, where=f"{where} {name}@{version}")
    prompt.version = version
    prompt.git_sha = manifest.git_sha
    return prompt
