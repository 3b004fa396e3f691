"""Moving a channel's canary: ``llmops release promote … --canary N / --finish / --abort``.

Each change is one move commit in the channel's history (:mod:`.channels`), pushed like any channel move;
the arithmetic (percent rules, bucketing) is in :mod:`.canary`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, UsageError
from ..git import discover
from ..records.releases import CanaryTarget, PreviousCanary
from ..versions import try_parse_version
from .canary import parse_percent, stored_percent
from .create import split_ref
from .loader import prompt_at_tag
from .resolve import resolve_tag

if TYPE_CHECKING:
    from ..git import GitRepoDir
    from .channels import ChannelMove


def change_canary(
    ref: str,
    channel: str,
    *,
    percent: str | None = None,
    finish: bool = False,
    abort: bool = False,
    root: str | os.PathLike[str] | None = None,
    reason: str = "",
    push: bool = False,
    remote: str = "origin",
    verdict: dict[str, Any] | None = None,
) -> ChannelMove | None:
    """``release promote --canary/--finish/--abort``: exactly one of them; returns the new move (None: nothing
    changed, the canary already has that percent). Every refusal is a :class:`UsageError` (exit 2).
    ``verdict``: the canary verdict a ``--finish`` was made under (``{"decision", "forced"}``), kept in the
    move (:func:`llmops_cli.usage.finish.finish_canary` gives it)."""
    from . import channels as ch

    if sum((percent is not None, finish, abort)) != 1:
        raise UsageError("use one of --canary PERCENT, --finish or --abort")
    pct = parse_percent(percent) if percent is not None else None
    name, spec = split_ref(ref)
    if pct is not None and spec is None:
        raise UsageError(f"say which release to canary: {name}@VERSION --canary {percent}")
    ch.check_channel(channel)
    repo = discover(root)
    if pct is not None:
        assert spec is not None
        moved = start_canary(repo, name, channel, spec, pct, reason)
    else:
        moved = end_canary(repo, name, channel, finish=finish, expect=spec, reason=reason, verdict=verdict)
    if push and moved is not None:
        ch.push(repo, remote, name, channel)
    return moved


def start_canary(
    repo: GitRepoDir, name: str, channel: str, spec: str, percent: float, reason: str
) -> ChannelMove | None:
    """Serve release ``spec`` to ``percent``% of keys on ``channel`` (or change the running canary's percent)."""
    from . import channels as ch

    tags = repo.release_tags(name, detail=False)
    tag = resolve_tag(repo, name, spec, tags)  # NotFoundError (exit 2) for an unreleased version
    prev = ch.current(repo, name, channel)
    if prev is None:
        raise UsageError(
            f"a canary needs a stable version: channel {channel} of {name} is not set "
            f"(llmops release promote {name}@VERSION --to {channel} first)"
        )
    version = str(tag.version)
    if version == prev.version:
        raise UsageError(f"{name}@{version} is already the stable version of {channel}; a canary must differ")
    if prev.canary is not None and prev.canary != version:
        raise UsageError(
            f"channel {channel} of {name} already has canary {prev.canary} at {prev.canary_percent:g}%: "
            "finish it (--finish) or abort it (--abort) first"
        )
    if prev.canary == version and prev.canary_percent == percent:
        return None
    prompt_at_tag(repo, tag)  # refuses a moved or tampered release before anything moves
    stable_ok = next((t for t in tags if str(t.version) == prev.version), None)
    if stable_ok is None:
        raise IntegrityError(f"channel {channel} of {name} points at {prev.version}, which is not a release")
    was = None
    if prev.canary is not None:
        if prev.canary_percent is None:  # a move record with a canary always carries its percent
            raise IntegrityError(f"channel {channel} of {name}: canary {prev.canary} has no percent recorded")
        was = PreviousCanary(version=prev.canary, percent=stored_percent(prev.canary_percent))
    verb = f"{was.percent:g}% → {percent:g}%" if was else f"at {percent:g}%"
    canary = CanaryTarget(
        version=version, tag=tag.tag, **ch.release_ids(repo, tag.tag), percent=stored_percent(percent)
    )
    title = f"{channel}: {name} {prev.version} + canary {version} {verb}"
    return ch.write_move(
        repo,
        name,
        channel,
        prev,
        prev.version,
        stable_ok.tag,
        reason,
        title=title,
        action="canary",
        canary=canary,
        previous_canary=was,
    )


def end_canary(
    repo: GitRepoDir,
    name: str,
    channel: str,
    *,
    finish: bool,
    expect: str | None,
    reason: str,
    verdict: dict[str, Any] | None = None,
) -> ChannelMove:
    """``--finish`` (the channel moves to the canary version) or ``--abort`` (it stays on the stable one)."""
    from . import channels as ch

    flag = "--finish" if finish else "--abort"
    prev = ch.current(repo, name, channel)
    if prev is None or prev.canary is None or prev.canary_tag is None or prev.canary_percent is None:
        raise UsageError(f"channel {channel} of {name} has no canary to {flag[2:]}")
    asked = try_parse_version(expect) if expect is not None else None
    if expect is not None and str(asked) != prev.canary:
        raise UsageError(f"the canary of {channel} of {name} is {prev.canary}, not {expect}; {flag} takes NAME")
    was = PreviousCanary(version=prev.canary, percent=stored_percent(prev.canary_percent))
    if finish:
        tags = [t for t in repo.release_tags(name, detail=False) if str(t.version) == prev.canary]
        if not tags:
            raise IntegrityError(f"channel {channel} of {name} has canary {prev.canary}, which is not a release")
        prompt_at_tag(repo, tags[0])  # the release the whole channel is about to serve must verify
        version, tag = prev.canary, tags[0].tag  # the verified tag, not the name the move recorded
        title = f"{channel}: {name} {prev.version} → {version} (canary finished at {prev.canary_percent:g}%)"
    else:
        version, tag = prev.version, prev.tag
        title = f"{channel}: {name} canary {prev.canary} aborted at {prev.canary_percent:g}%, stays {version}"
    action = "finish" if finish else "abort"
    return ch.write_move(
        repo, name, channel, prev, version, tag, reason, title=title, action=action, previous_canary=was,
        verdict=verdict,
    )  # fmt: skip
