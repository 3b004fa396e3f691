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

A channel with a canary (:mod:`.canary`) is resolved to both releases once; ``key=`` then picks the arm
per call by a stable hash (no key: the stable arm). The returned prompt is a per-(channel, arm) copy with
``channel`` and ``arm`` set; cached prompts are never mutated.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

from .. import settings
from ..errors import IntegrityError, NotFoundError, UserError

if TYPE_CHECKING:
    from ..git import GitRepoDir
    from ..prompt import Prompt
    from ..tagnames import ReleaseTag

_CACHE: dict[tuple[Any, ...], Prompt | _Split] = {}
_REPOS: dict[str, GitRepoDir] = {}


class _Split:
    """A channel with a canary, resolved: the two per-arm prompt copies and the bucket threshold."""

    __slots__ = ("bucket", "canary", "channel", "name", "stable", "threshold")

    def __init__(self, name: str, channel: str, percent: float, stable: Prompt, canary: Prompt) -> None:
        from .canary import bucket, threshold

        self.name, self.channel, self.stable, self.canary = name, channel, stable, canary
        self.threshold, self.bucket = threshold(percent), bucket

    def pick(self, key: str | int | None) -> Prompt:
        """The canary copy when ``key``'s bucket is below the threshold (:func:`.canary.arm_for`), else stable."""
        if key is None or key == "":  # an empty key (an unset user id) is no key: the stable arm
            return self.stable
        return self.canary if self.bucket(self.name, self.channel, key) < self.threshold else self.stable


def _pick(hit: Prompt | _Split, key: str | int | None) -> Prompt:
    return hit.pick(key) if isinstance(hit, _Split) else hit


def _arm_copy(prompt: Prompt, pkey: tuple[Any, ...], channel: str, arm: str | None) -> Prompt:
    """The cached copy of ``prompt`` with ``channel``/``arm`` set (the shared prompt itself stays untouched)."""
    akey = ("arm", *pkey, channel, arm)
    copy = _CACHE.get(akey)
    if not isinstance(copy, _prompt_type()):
        prompt.sha256  # noqa: B018  (computed once, inherited by the copy)
        copy = _CACHE[akey] = dataclasses.replace(prompt, channel=channel, arm=arm)
    return copy


def _is_channel(spec: str) -> bool:
    from ..versions import looks_like_spec

    return spec.strip() != "latest" and not looks_like_spec(spec)


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
    key: str | int | None = None,
    log: Any = None,
    otel: Any = None,
    guards: Any = None,
) -> Prompt:
    """Load a prompt for serving code.

    * ``version=None`` and no ``bundle``: the working tree of the project found from ``root``
      (default: ``$LLMOPS_ROOT`` or the current directory, upwards) — for development.
    * ``version``: an exact version (``1.3.0``), a range (``^1.3``, ``~1.3.2``, ``>=1.2,<2``),
      ``latest`` (highest non-prerelease) or a channel name (``production``), resolved from the
      repository's release tags — or, with ``bundle``, from that exported bundle (no git needed;
      ``version=None`` means ``latest`` there).
    * ``key`` (a user, tenant or session id): when ``version`` names a channel with a canary, picks the arm —
      the same key always gets the same release (see :mod:`llmops_cli.releases.canary`); without a key
      (None or ``''``), the stable arm. Loaded by channel, the prompt's ``channel`` is set, and ``arm`` too
      when there is a canary.

    ``log`` (a file path, a sink with ``emit(record)``, or False to ignore ``$LLMOPS_LOG``) and ``otel``
    (True, False or :class:`~llmops_cli.serving.OtelOptions`) turn on request records for the returned
    prompt's ``complete()`` / ``acomplete()`` calls (a copy: the cached prompt is not changed).
    ``guards`` (a list of :mod:`llmops_cli.safety.guards` guards, or mappings ``{"type": "pii", ...}``) check
    the inputs before a call and the reply after it — block, redact or flag; a blocked input makes no request.

    Raises :class:`NotFoundError` when nothing matches and :class:`IntegrityError` when the content
    does not match its release manifest.
    """
    if log is not None or otel is not None or guards is not None:
        loaded = load_prompt(name, version, root=root, bundle=bundle, refresh=refresh, key=key)
        return loaded.with_serving(log, otel, guards)
    if version is not None and (not isinstance(version, str) or not version.strip()):
        from ..errors import UsageError

        raise UsageError(f"version must be a version, range, 'latest' or a channel name, not {version!r}")
    if key is not None and (not isinstance(key, str | int) or isinstance(key, bool)):
        from .canary import key_text

        key_text(key)  # raises UsageError naming the accepted types
    if bundle is not None:
        return _pick(_from_bundle(name, version or "latest", bundle, refresh), key)
    if version is None:
        from ..project import Project

        return Project.open(root).load(name)
    return _pick(_from_tags(name, version, root, refresh), key)


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


def _from_tags(name: str, version: str, root: str | os.PathLike[str] | None, refresh: bool) -> Prompt | _Split:
    key = ("git", str(root or settings.ROOT.raw() or os.getcwd()), name, version)
    if not refresh and key in _CACHE:
        return _CACHE[key]
    repo = _repo_for(root)
    if not _is_channel(version):
        from .resolve import resolve_tag

        prompt = _tag_prompt(repo, resolve_tag(repo, name, version), refresh)[0]
        _CACHE[key] = prompt
        return prompt
    from .canary import CANARY, STABLE
    from .resolve import channel_state

    state = channel_state(repo, name, version.strip())
    stable, spkey = _tag_prompt(repo, state.stable, refresh)
    result: Prompt | _Split
    if state.canary is None or state.percent is None:
        result = _arm_copy(stable, spkey, state.channel, None)
    else:
        canary, cpkey = _tag_prompt(repo, state.canary, refresh)
        result = _Split(
            name,
            state.channel,
            state.percent,
            _arm_copy(stable, spkey, state.channel, STABLE),
            _arm_copy(canary, cpkey, state.channel, CANARY),
        )
    _CACHE[key] = result
    return result


def _tag_prompt(repo: GitRepoDir, tag: ReleaseTag, refresh: bool) -> tuple[Prompt, tuple[Any, ...]]:
    """The verified prompt of a release tag (cached per tag object) and its cache key."""
    pkey = ("tag", str(repo.toplevel), tag.tag, tag.object_sha)
    prompt = None if refresh else _CACHE.get(pkey)
    if not isinstance(prompt, _prompt_type()):
        prompt = prompt_at_tag(repo, tag)
        _CACHE[pkey] = prompt
    return prompt, pkey


def _prompt_type() -> type[Prompt]:
    from ..prompt import Prompt

    return Prompt


def prompt_at_tag(repo: GitRepoDir, tag: ReleaseTag, *, check: bool = True) -> Prompt:
    """The prompt a release tag points at, verified against the manifest in the tag message."""
    from ..project import Project
    from ..sources import commit_source
    from .manifest import parse_tag_message, verify

    tag = repo.detailed(tag)
    where = f"tag {tag.tag}"
    manifest = parse_tag_message(repo.tag_message(tag), tag.tag) if (check or tag.annotated) else None
    if check and manifest is not None and manifest.git_sha != tag.commit:
        raise IntegrityError(
            f"{where}: points at commit {tag.commit[:12]} but was released from "
            f"{manifest.git_sha[:12]} — the tag was moved; refusing to load it"
        )
    try:
        prompt = Project(commit_source(repo, tag.commit, tag.tag), repo.project_root).load(tag.name)
    except UserError as exc:
        if not check:
            raise
        raise IntegrityError(f"{where}: the released prompt cannot be loaded from its commit: {exc}") from None
    if check and manifest is not None:
        verify(prompt, manifest, where=where, commit=tag.commit)
    prompt.version = str(tag.version)
    prompt.git_sha = tag.commit
    return prompt


# -- from a bundle ---------------------------------------------------------------------------------
def _from_bundle(name: str, spec: str, bundle: str | os.PathLike[str], refresh: bool) -> Prompt | _Split:
    from .bundle import bundle_key, prompt_from_entry, read_bundle

    bkey = bundle_key(bundle)
    key = ("bundle", bkey, name, spec)
    if not refresh and key in _CACHE:
        return _CACHE[key]
    from ..versions import try_parse_version
    from .resolve import pick_version

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

    def release(vtext: str) -> tuple[Prompt, tuple[Any, ...]]:
        pkey = ("bundle", bkey, name, vtext)
        prompt = None if refresh else _CACHE.get(pkey)
        if not isinstance(prompt, _prompt_type()):
            prompt = _CACHE[pkey] = prompt_from_entry(name, vtext, entry["releases"][vtext], where=f"bundle {bundle}")
        return prompt, pkey

    stable, spkey = release(versions[chosen])
    result: Prompt | _Split = stable
    if _is_channel(spec):
        from ..records.releases import check_percent
        from .canary import CANARY, STABLE

        channel = spec.strip()
        rec = (entry.get("canaries") or {}).get(channel)  # validated with the bundle (read_bundle)
        percent = check_percent(rec["percent"]) if isinstance(rec, dict) else None
        if rec is None or percent is None:
            result = _arm_copy(stable, spkey, channel, None)
        else:
            canary, cpkey = release(rec["version"])
            result = _Split(
                name,
                channel,
                percent,
                _arm_copy(stable, spkey, channel, STABLE),
                _arm_copy(canary, cpkey, channel, CANARY),
            )
    _CACHE[key] = result
    return result
