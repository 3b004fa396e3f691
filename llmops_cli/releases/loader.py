"""``load_prompt``: the released prompt for serving code, from git tags or from a bundle.

::

    from llmops_cli import load_prompt

    p = load_prompt("support/answer", version="1.3.0")      # also "^1.3", "~1.3.2", "production", "latest"
    p = load_prompt("support/answer", version="^1.3", bundle="prompts.lock.json")   # no git at run time
    request = p.render(question="…", context=["…"])
    log.info("prompt", name=p.name, version=p.version, sha256=p.sha256, git_sha=p.git_sha, model=p.model)

From tags, the prompt is read from the tagged commit's objects (no checkout) and its sha256 and
commit are checked against the manifest in the annotated tag; from a bundle, it is rebuilt from the
bundled files and checked against the bundled manifest. A mismatch raises :class:`IntegrityError`.

Resolved prompts are cached in-process: a version spec or channel is resolved once per process
(pass ``refresh=True`` or call :func:`clear_cache` to pick up a channel move); a bundle is re-read
when its file changes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, NotFoundError, UserError

if TYPE_CHECKING:
    from ..git import GitRepoDir
    from ..prompt import Prompt
    from .tags import ReleaseTag

_CACHE: dict[tuple[Any, ...], Prompt] = {}
_REPOS: dict[str, GitRepoDir] = {}


def clear_cache() -> None:
    """Forget every resolved prompt (the next ``load_prompt`` resolves versions and channels again)."""
    _CACHE.clear()
    _REPOS.clear()


def load_prompt(
    name: str,
    version: str | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    bundle: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    log: Any = None,
    otel: Any = None,
) -> Prompt:
    """Load a prompt for serving code.

    * ``version=None`` and no ``bundle``: the working tree of the project found from ``root``
      (default: ``$LLMOPS_ROOT`` or the current directory, upwards) — for development.
    * ``version``: an exact version (``1.3.0``), a range (``^1.3``, ``~1.3.2``, ``>=1.2,<2``),
      ``latest`` (highest non-prerelease) or a channel name (``production``), resolved from the
      repository's release tags — or, with ``bundle``, from that exported bundle (no git needed;
      ``version=None`` means ``latest`` there).

    ``log`` (a file path, a sink with ``emit(record)``, or False to ignore ``$LLMOPS_LOG``) and ``otel``
    (True, False or :class:`~llmops_cli.serving.OtelOptions`) turn on request records for the returned
    prompt's ``complete()`` / ``acomplete()`` calls (a copy: the cached prompt is not changed).

    Raises :class:`NotFoundError` when nothing matches and :class:`IntegrityError` when the content
    does not match its release manifest.
    """
    if log is not None or otel is not None:
        from ..serving.options import with_serving

        return with_serving(load_prompt(name, version, root=root, bundle=bundle, refresh=refresh), log, otel)
    if version is not None and (not isinstance(version, str) or not version.strip()):
        from ..errors import UsageError

        raise UsageError(f"version must be a version, range, 'latest' or a channel name, not {version!r}")
    if bundle is not None:
        return _from_bundle(name, version or "latest", bundle, refresh)
    if version is None:
        from ..project import Project

        return Project.open(root).load(name)
    return _from_tags(name, version, root, refresh)


load_prompt.cache_clear = clear_cache  # type: ignore[attr-defined]


# -- from git tags ---------------------------------------------------------------------------------
def _repo_for(root: str | os.PathLike[str] | None) -> GitRepoDir:
    from ..git import GitRepoDir
    from ..root import find_root

    project_root = find_root(root)
    key = str(project_root)
    repo = _REPOS.get(key)
    if repo is None:
        repo = _REPOS[key] = GitRepoDir.discover(project_root)
    return repo


def _from_tags(name: str, version: str, root: str | os.PathLike[str] | None, refresh: bool) -> Prompt:
    key = ("git", str(root or os.environ.get("LLMOPS_ROOT") or os.getcwd()), name, version)
    if not refresh and key in _CACHE:
        return _CACHE[key]
    from .resolve import resolve_tag

    repo = _repo_for(root)
    tag = resolve_tag(repo, name, version)
    pkey = ("tag", str(repo.toplevel), tag.tag, tag.object_sha)
    prompt = None if refresh else _CACHE.get(pkey)
    if prompt is None:
        prompt = prompt_at_tag(repo, tag)
    _CACHE[key] = _CACHE[pkey] = prompt
    return prompt


def prompt_at_tag(repo: GitRepoDir, tag: ReleaseTag, *, check: bool = True) -> Prompt:
    """The prompt a release tag points at, verified against the manifest in the tag message."""
    from ..project import Project
    from ..sources import commit_source
    from .manifest import parse_tag_message, verify

    tag = repo.detailed(tag)
    where = f"tag {tag.tag}"
    manifest = parse_tag_message(repo.tag_message(tag), tag.tag) if (check or tag.annotated) else {}
    if check and manifest.get("git_sha") != tag.commit:
        raise IntegrityError(
            f"{where}: points at commit {tag.commit[:12]} but was released from "
            f"{str(manifest.get('git_sha'))[:12]} — the tag was moved; refusing to load it"
        )
    try:
        prompt = Project(commit_source(repo, tag.commit, tag.tag), repo.project_root).load(tag.name)
    except UserError as exc:
        if not check:
            raise
        raise IntegrityError(f"{where}: the released prompt cannot be loaded from its commit: {exc}") from None
    if check:
        verify(prompt, manifest, where=where, commit=tag.commit)
    prompt.version = str(tag.version)
    prompt.git_sha = tag.commit
    return prompt


# -- from a bundle ---------------------------------------------------------------------------------
def _from_bundle(name: str, spec: str, bundle: str | os.PathLike[str], refresh: bool) -> Prompt:
    from .bundle import bundle_key, prompt_from_entry, read_bundle

    bkey = bundle_key(bundle)
    key = ("bundle", bkey, name, spec)
    if not refresh and key in _CACHE:
        return _CACHE[key]
    from .resolve import pick_version
    from .semver import try_parse_version

    data = read_bundle(bundle)
    entry = data["prompts"].get(name)
    if not isinstance(entry, dict) or not isinstance(entry.get("releases"), dict) or not entry["releases"]:
        known = ", ".join(sorted(data["prompts"])) or "none"
        raise NotFoundError(f"prompt '{name}' is not in bundle {bundle} (bundled: {known})")
    versions = {}
    for text in entry["releases"]:
        v = try_parse_version(text)
        if v is not None:
            versions[v] = text
    channels = entry.get("channels") or {}
    chosen = pick_version(name, spec, list(versions), lambda ch: channels.get(ch))
    vtext = versions[chosen]
    pkey = ("bundle", bkey, name, vtext)
    prompt = None if refresh else _CACHE.get(pkey)
    if prompt is None:
        prompt = prompt_from_entry(name, vtext, entry["releases"][vtext], where=f"bundle {bundle}")
    _CACHE[key] = _CACHE[pkey] = prompt
    return prompt
