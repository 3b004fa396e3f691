"""Channels (``production``, ``staging``, any name): movable, auditable pointers at releases.

A channel of a prompt is the ref ``refs/llmops/channels/<prompt>/@<channel>``. It points at a chain
of *move commits*: each move is a commit with the empty tree, the previous move as its parent, and a
message whose body is JSON (prompt, channel, version, tag, tag object, released commit, previous
version, reason). So:

* the current target is the newest move; ``git log`` of the ref is the channel's full history;
* moves are append-only: a push of a channel ref is a fast-forward, and two people moving the same
  channel concurrently get a rejected push, never a silent overwrite (no force anywhere);
* rollback is a new move pointing at an earlier release (the history keeps both).

Push and fetch them like any ref: ``git push origin 'refs/llmops/*:refs/llmops/*'`` /
``git fetch origin '+refs/llmops/*:refs/llmops/*'`` (``llmops release promote --push`` pushes the one moved).

A move may also carry a **canary** (:mod:`.canary`): ``version`` stays the stable release and
``canary: {version, tag, tag_object, released_commit, percent}`` names the release served to ``percent``%
of keys; ``action`` says what the move did (``promote``, ``canary``, ``finish``, ``abort``) and
``previous_canary`` what the canary was before. Moves without these keys (older llmops) read as plain
promotes; an older llmops reading a canary move serves its stable ``version``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import GitError, NotFoundError, UsageError
from ..git import GitRepoDir
from ..records.base import RecordError, load_record
from ..records.releases import MOVE_SCHEMA, CanaryTarget, ChannelMoveRecord, PreviousCanary, check_percent
from ..versions import looks_like_spec

CHANNEL_REF_PREFIX = "refs/llmops/channels/"
_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,62}$")
RESERVED = frozenset({"latest"})


_VERSION_LIKE = re.compile(r"^[vV]\d|^[xX]$")


def channel_problem(channel: object) -> str | None:
    """Why ``channel`` cannot name a channel, or None. A channel may not look like a version or a range
    (``v1``, ``v1.0.1``, ``v1.x``, ``x``): ``load_prompt(name, "v1")`` reads those as versions, so such a
    channel could be promoted but never loaded."""
    if not isinstance(channel, str) or not _CHANNEL.match(channel) or channel.endswith((".", ".lock")):
        return (
            f"bad channel name {str(channel)[:80]!r}: use letters, digits, '.', '_' or '-', starting with a letter "
            "(at most 63 characters)"
        )
    if channel in RESERVED:
        return f"bad channel name {channel!r}: 'latest' is reserved (the highest release)"
    if _VERSION_LIKE.match(channel) or looks_like_spec(channel):
        return f"bad channel name {channel!r}: it reads as a version or range; name channels like 'production'"
    return None


def check_channel(channel: str) -> str:
    problem = channel_problem(channel)
    if problem:
        raise UsageError(problem)
    return channel


def channel_ref(name: str, channel: str) -> str:
    return f"{CHANNEL_REF_PREFIX}{name}/@{check_channel(channel)}"


@dataclass(frozen=True)
class ChannelMove:
    """One move of a channel (newest first in histories)."""

    commit: str
    prompt: str
    channel: str
    version: str
    tag: str
    previous: str | None
    reason: str
    moved_by: str
    moved_at: str
    action: str = "promote"  # promote | canary | finish | abort
    canary: str | None = None  # the canary release's version, None when the channel has no canary
    canary_tag: str | None = None
    canary_percent: float | None = None
    previous_canary: dict[str, Any] | None = None  # {"version", "percent"} before this move
    problem: str | None = None  # a canary record that does not validate (the loader refuses the channel)
    verdict: dict[str, Any] | None = None  # a finish's canary verdict: {"decision", "forced"} (usage compare's)

    @property
    def summary(self) -> str:
        """One line for histories: ``1.0.0 + canary 1.1.0 at 10% (was 5%)``, ``1.1.0 (canary finished …)``."""
        was = self.previous_canary or {}
        pct = f"{was['percent']:g}" if isinstance(was.get("percent"), int | float) else "?"
        if self.problem:
            return f"{self.version} (invalid canary record: {self.problem})"
        if self.action == "canary" and self.canary:
            before = f" (was {pct}%)" if was.get("version") == self.canary else ""
            return f"{self.version} + canary {self.canary} at {self.canary_percent:g}%{before}"
        if self.action == "finish":
            forced = " FORCED over verdict ABORT" if (self.verdict or {}).get("forced") else ""
            return f"{self.version} (canary finished at {pct}%, was {self.previous}){forced}"
        if self.action == "abort":
            return f"{self.version} (canary {was.get('version')} aborted at {pct}%)"
        return f"{self.version} (was {self.previous})" if self.previous else self.version

    def to_dict(self) -> dict[str, Any]:
        canary = (
            {"version": self.canary, "tag": self.canary_tag, "percent": self.canary_percent} if self.canary else None
        )
        return {
            "prompt": self.prompt,
            "channel": self.channel,
            "version": self.version,
            "previous": self.previous,
            "tag": self.tag,
            "action": self.action,
            "canary": canary,
            "previous_canary": self.previous_canary,
            "reason": self.reason,
            "moved_by": self.moved_by,
            "moved_at": self.moved_at,
            "move": self.commit,
            **({"problem": self.problem} if self.problem else {}),
            **({"verdict": self.verdict} if self.verdict else {}),
        }


def _parse_move(commit: str, author: str, date: str, body: str) -> ChannelMove | None:
    _, _, rest = body.partition("\n")
    start = rest.find("{")
    if start < 0:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(rest[start:])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("schema") != MOVE_SCHEMA:
        return None
    try:
        rec = load_record(ChannelMoveRecord, data, source=f"channel move {commit[:12]}")
    except RecordError:  # only the version key is checked strictly; a move that fails it is not one of ours
        return None
    canary, problem = rec.canary_target()
    prev = rec.previous_target()
    return ChannelMove(
        commit=commit,
        prompt=str(rec.prompt),
        channel=str(rec.channel),
        version=str(rec.version),
        tag=str(rec.tag),
        previous=rec.previous,
        reason=str(rec.reason or ""),
        moved_by=author,
        moved_at=date,
        action=str(rec.action or "promote")[:20],
        canary=str(canary.version)[:100] if canary else None,
        canary_tag=str(canary.tag)[:300] if canary else None,
        canary_percent=check_percent(canary.percent) if canary else None,
        previous_canary=prev.model_dump() if prev is not None else None,
        problem=problem,
        verdict=_verdict(rec.verdict),
    )


def _verdict(raw: Any) -> dict[str, Any] | None:
    """A finish's recorded canary verdict, kept small and well-typed (anyone with push access writes moves)."""
    if not isinstance(raw, dict):
        return None
    decision = raw.get("decision")
    return {
        "decision": decision if decision in ("PROMOTE", "KEEP RUNNING", "ABORT", None) else "?",
        "forced": raw.get("forced") is True,
    }


def current(repo: GitRepoDir, name: str, channel: str) -> ChannelMove | None:
    """The newest move of a channel, None when the channel was never set."""
    moves = history(repo, name, channel, limit=1)
    return moves[0] if moves else None


def history(repo: GitRepoDir, name: str, channel: str, limit: int | None = None) -> list[ChannelMove]:
    """Moves of a channel, newest first."""
    ref = channel_ref(name, channel)
    args = ["log", "--format=%H%x00%an <%ae>%x00%aI%x00%B%x01", f"{ref}", "--"]
    if limit:
        args.insert(1, f"-{limit}")
    proc = repo.git_proc(*args)
    if proc.returncode != 0:
        if repo.git_proc("rev-parse", "-q", "--verify", ref).returncode != 0:
            return []  # never set
        raise GitError(f"cannot read channel {channel} of {name}: {proc.stderr.strip()}")
    out = proc.stdout
    moves = []
    for rec in out.split("\x01"):
        rec = rec.lstrip("\n")
        if not rec:
            continue
        sha, author, date, body = rec.split("\x00", 3)
        move = _parse_move(sha, author, date, body)
        if move is not None:
            moves.append(move)
    return moves


def all_channels(repo: GitRepoDir, name: str | None = None) -> dict[str, dict[str, str]]:
    """{prompt: {channel: version}} for every channel ref (one ``for-each-ref``); version = the stable one."""
    return {p: {c: m.version for c, m in chans.items()} for p, chans in all_moves(repo, name).items()}


def all_moves(repo: GitRepoDir, name: str | None = None) -> dict[str, dict[str, ChannelMove]]:
    """{prompt: {channel: current move}} for every channel ref (one ``for-each-ref``; ``commit`` is the move)."""
    pattern = CHANNEL_REF_PREFIX + (f"{name}/" if name else "")
    out = repo.git("for-each-ref", "--format=%(refname)%00%(objectname)%00%(contents)%01", pattern)
    result: dict[str, dict[str, ChannelMove]] = {}
    for rec in out.split("\x01"):
        rec = rec.lstrip("\n")
        if not rec:
            continue
        ref, sha, body = rec.split("\x00", 2)
        rest = ref[len(CHANNEL_REF_PREFIX) :]
        prompt, _, ch = rest.rpartition("/@")
        if not prompt or (name is not None and prompt != name):
            continue
        move = _parse_move(sha, "", "", "title\n" + body)
        if move is not None:
            result.setdefault(prompt, {})[ch] = move
    return result


def move(repo: GitRepoDir, name: str, channel: str, version: str, tag: str, reason: str = "") -> ChannelMove | None:
    """Point ``channel`` of prompt ``name`` at release ``version`` (a new move commit).

    Returns None (and moves nothing) when the channel already points at that version.
    The ref is updated with compare-and-swap, so a concurrent move makes this fail instead of losing one.
    """
    prev = current(repo, name, channel)
    if prev is not None and prev.canary is not None:
        raise UsageError(
            f"channel {channel} of {name} has a canary ({prev.canary} at {prev.canary_percent:g}% of keys): "
            f"finish it (--finish) or abort it (--abort) before moving the channel"
        )
    if prev is not None and prev.version == version:
        return None
    arrow = f"{prev.version} → {version}" if prev else version
    return write_move(repo, name, channel, prev, version, tag, reason, title=f"{channel}: {name} {arrow}")


def release_ids(repo: GitRepoDir, tag: str) -> dict[str, str]:
    """The tag object and released commit a move records for release tag ``tag``."""
    return {
        "tag_object": repo.git("rev-parse", f"refs/tags/{tag}").strip(),
        "released_commit": repo.git("rev-parse", f"refs/tags/{tag}^{{commit}}").strip(),
    }


def write_move(
    repo: GitRepoDir,
    name: str,
    channel: str,
    prev: ChannelMove | None,
    version: str,
    tag: str,
    reason: str,
    *,
    title: str,
    action: str | None = None,
    canary: CanaryTarget | None = None,
    previous_canary: PreviousCanary | None = None,
    verdict: dict[str, Any] | None = None,
) -> ChannelMove:
    """Append one move commit on top of ``prev`` (compare-and-swap). A plain promote writes no ``action``,
    ``canary`` nor ``previous_canary`` (as llmops 0.1.0 did); canary moves write all three."""
    ref = channel_ref(name, channel)
    record = ChannelMoveRecord(
        prompt=name,
        channel=channel,
        version=version,
        tag=tag,
        **release_ids(repo, tag),
        previous=prev.version if prev else None,
        reason=reason,
    )
    body = record.to_json()
    if action is not None:
        body |= {
            "action": action,
            "canary": canary.to_json() if canary is not None else None,
            "previous_canary": previous_canary.to_json() if previous_canary is not None else None,
        }
    if verdict is not None:  # a finish's canary verdict (usage.finish): {"decision", "forced"}
        body["verdict"] = ChannelMoveRecord(verdict=verdict).model_dump(mode="json", include={"verdict"})["verdict"]
    message = f"{title}\n\n{json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False)}\n"
    empty_tree = repo.git("mktree", input="").strip()
    args = ["commit-tree", empty_tree]
    if prev is not None:
        args += ["-p", prev.commit]
    new = repo.git(*args, "-F", "-", input=message).strip()
    proc = repo.git_proc(
        "update-ref", "-m", f"llmops promote {name}@{version} to {channel}", ref, new, prev.commit if prev else ""
    )
    if proc.returncode != 0:
        raise GitError(f"channel {channel} of {name} moved concurrently; try again ({proc.stderr.strip()})")
    moved = current(repo, name, channel)
    if moved is None:  # pragma: no cover - just written
        raise NotFoundError(f"channel {channel} of {name} vanished after the move")
    return moved


def push(repo: GitRepoDir, remote: str, name: str, channel: str) -> None:
    """Push a channel ref (fast-forward only; a concurrent remote move is refused, never overwritten)."""
    ref = channel_ref(name, channel)
    proc = repo.push_proc(remote, f"{ref}:{ref}")
    if proc.returncode != 0:
        raise GitError(
            f"push of channel {channel} of {name} to {remote} was refused (someone moved it meanwhile? "
            f"fetch with `git fetch {remote} '+refs/llmops/*:refs/llmops/*'` and promote again): "
            f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:] or ''}"
        )
