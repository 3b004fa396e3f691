"""Creating, listing, showing and promoting releases (the core behind ``llmops release …``)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..diff.impact import detect_impact
from ..errors import CheckFailed, GitError, IntegrityError, NotFoundError, UsageError, UserError
from ..git import GitRepoDir, discover
from ..sources import commit_source
from ..tagnames import ReleaseTag, tag_name
from ..versions import BUMPS, bump_rank, impact_to_bump, parse_version
from .gate_record import GATE_ENV, PASSING, find_gate
from .loader import load_prompt, prompt_at_tag
from .resolve import resolve_tag

if TYPE_CHECKING:
    from ..project import Project
    from ..prompt import Prompt
    from .channels import ChannelMove
    from .gate_record import GateRecord
    from .manifest import ReleaseManifest

DEFAULT_FIRST_VERSION = "1.0.0"


@dataclass
class ReleaseResult:
    name: str
    version: str
    tag: str
    commit: str
    previous: str | None
    bump: str
    impact: str | None
    reasons: list[str]
    gate: dict[str, Any] | None
    manifest: ReleaseManifest
    pushed_to: str | None = None
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "tag": self.tag,
            "commit": self.commit,
            "previous": self.previous,
            "bump": self.bump,
            "impact": self.impact,
            "reasons": self.reasons,
            "gate": self.gate,
            "pushed_to": self.pushed_to,
            "dry_run": self.dry_run,
        }


def head_project(repo: GitRepoDir) -> tuple[Project, str]:
    """The project as committed at HEAD (read from objects) and HEAD's SHA."""
    from ..project import Project

    head = repo.head()
    return Project(commit_source(repo, head, "HEAD"), repo.project_root), head


def release_paths(project: Project, name: str) -> list[str]:
    """Project-relative files a release of ``name`` depends on: prompt, templates, partials, tool files, golden
    set, judge prompt(s) and ``llmops.yaml``. Best effort: files that fail to load still list their own path."""
    from ..config import CONFIG_FILE
    from ..project import GOLDEN_SUFFIXES

    paths = {CONFIG_FILE, project.prompt_file(name)}
    evals = project.config.paths.evals.strip("/")
    paths.update(f"{evals}/{name}{s}" for s in GOLDEN_SUFFIXES)
    judges = {project.config.judge.prompt}
    for n in (name, *sorted(judges)):
        paths.add(project.prompt_file(n))
        paths.update(project.tool_file_paths(n))
        try:
            p = project.load(n)
        except Exception:  # the working tree / HEAD may not load; lint reports it
            continue
        paths.update(m.template_file for m in p.messages if m.template_file)
        partials_dir = project.config.paths.partials.strip("/")
        paths.update(f"{partials_dir}/{inc}" if partials_dir else inc for inc in p.partials)
    return sorted(paths)


def dirty_paths(repo: GitRepoDir, paths: list[str]) -> list[str]:
    """Those of ``paths`` (project-relative) with uncommitted changes, staged or not, or untracked."""
    out = repo.git(
        "status", "--porcelain", "--untracked-files=all", "--ignored=no", "--", *(repo.project_path(p) for p in paths)
    )
    return [line[3:] for line in out.splitlines() if line.strip()]


def check_gate(
    repo: GitRepoDir, commit: str, name: str, gate_result: str | None, allow_no_gate: bool
) -> GateRecord | None:
    rec = find_gate(repo, commit, name, gate_result)
    if rec is None:
        if allow_no_gate:
            return None
        raise UsageError(
            f"no gate result recorded for {commit[:12]} (HEAD) covering '{name}': pass --gate-result FILE, set "
            f"${GATE_ENV}, record one with `llmops release record-gate FILE`, or release anyway with --allow-no-gate"
        )
    verdict = rec.verdict_for(name)
    if verdict not in PASSING:
        raise CheckFailed(f"gate verdict for '{name}' at {commit[:12]} is {verdict} ({rec.source}); not releasing")
    return rec


def create_release(
    name: str,
    *,
    root: str | os.PathLike[str] | None = None,
    bump: str = "auto",
    message: str = "",
    push: bool = False,
    remote: str = "origin",
    allow_no_gate: bool = False,
    gate_result: str | None = None,
    first_version: str = DEFAULT_FIRST_VERSION,
    dry_run: bool = False,
) -> ReleaseResult:
    """Tag HEAD's ``name`` as its next version, after every check (see docs/releases.md)."""
    from ..lint import lint_prompt
    from .manifest import build_manifest, format_tag_message

    if bump not in ("auto", *BUMPS):
        raise UsageError(f"--bump must be auto, major, minor or patch (got {bump!r})")
    repo = discover(root)
    try:
        project, head = head_project(repo)
    except GitError:
        raise GitError("the repository has no commits yet; commit the prompt first") from None

    # 1. exactly this prompt's files must be committed
    from ..project import Project

    paths = set(release_paths(project, name))
    with contextlib.suppress(UserError):  # a broken llmops.yaml in the working tree is listed as dirty anyway
        paths |= set(release_paths(Project.open(repo.project_root), name))
    dirty = dirty_paths(repo, sorted(paths))
    if dirty:
        raise GitError(f"uncommitted changes to files of '{name}': {', '.join(dirty)} — commit them first")
    if name not in project.prompt_names():
        raise NotFoundError(f"no prompt named '{name}' at HEAD ({project.prompt_file(name)})")

    # 2. lint
    errors = [f for f in lint_prompt(project, name) if f.severity == "error"]
    if errors:
        listed = "; ".join(f"{f.location()}: {f.message}" for f in errors[:5])
        raise CheckFailed(f"lint found {len(errors)} error(s) in '{name}': {listed}")
    prompt = project.load(name)

    # 3. version: first release, or bump from the previous one by impact
    tags = repo.release_tags(name)
    previous: ReleaseTag | None = max(tags, key=lambda t: t.version) if tags else None
    impact: str | None = None
    reasons: list[str] = []
    if previous is None:
        version = parse_version(first_version)
        chosen = "initial"
    else:
        old = prompt_at_tag(repo, previous)
        impact, reasons = detect_impact(old, prompt)
        if impact is None:
            raise UsageError(
                f"nothing to release: '{name}' at HEAD has the same content as {previous.version} "
                f"(sha256 {prompt.sha256[:12]}; description, tags and metadata are not part of a release)"
            )
        required = impact_to_bump(impact, previous.version)
        if bump == "auto":
            chosen = required
        elif bump_rank(bump) < bump_rank(required):
            raise UsageError(
                f"--bump {bump} is lower than the detected {impact} impact, which needs a {required} bump: "
                + "; ".join(reasons)
            )
        else:
            chosen = bump
        version = previous.version.bump(chosen)
    tag = tag_name(name, version)

    # 4. versions are immutable, here and on the remote
    if (
        repo.release_tag(name, version) is not None
        or repo.git_proc("rev-parse", "-q", "--verify", f"refs/tags/{tag}").returncode == 0
    ):
        raise UsageError(f"{name}@{version} already exists (tag {tag}); release tags are never moved or overwritten")
    if push:
        remote_obj = repo.remote_tag(remote, tag)
        if remote_obj is not None:
            raise GitError(
                f"remote {remote!r} already has tag {tag} (→ {remote_obj[:12]}), which is not this release; "
                f"fetch tags (`git fetch {remote} --tags`) and release again"
            )

    # 5. gate
    rec = check_gate(repo, head, name, gate_result, allow_no_gate)
    gate = (
        {"verdict": rec.verdict_for(name), "source": rec.source, "git_sha": rec.git_sha}
        if rec
        else {"verdict": None, "allowed_without_gate": True}
    )

    manifest = build_manifest(
        prompt,
        str(version),
        head,
        previous=str(previous.version) if previous else None,
        bump=chosen,
        impact=impact,
        impact_reasons=reasons,
        gate=gate,
        message=message,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    result = ReleaseResult(
        name, str(version), tag, head, manifest.previous, chosen, impact, reasons, gate, manifest, dry_run=dry_run
    )
    if dry_run:
        return result
    proc = repo.git_proc("tag", "-a", "--cleanup=verbatim", "-F", "-", tag, head, input=format_tag_message(manifest))
    if proc.returncode != 0:
        raise GitError(f"could not create tag {tag}: {proc.stderr.strip()}")
    if push:
        pushed = repo.push_proc(remote, f"refs/tags/{tag}:refs/tags/{tag}")
        if pushed.returncode != 0:
            last = (pushed.stderr or pushed.stdout).strip().splitlines()
            raise GitError(
                f"tag {tag} was created locally but the push to {remote!r} was refused "
                f"({last[-1] if last else 'error'}); nothing was overwritten"
            )
        result.pushed_to = remote
    return result


# -- reading ---------------------------------------------------------------------------------------
def split_ref(text: str) -> tuple[str, str | None]:
    """``support/answer@1.3.0`` → (``support/answer``, ``1.3.0``); no ``@`` → (text, None)."""
    name, sep, version = text.rpartition("@")
    if not sep:
        return text, None
    if not name or not version:
        raise UsageError(f"expected NAME@VERSION, got {text!r}")
    return name, version


def list_releases(root: str | os.PathLike[str] | None = None, name: str | None = None) -> list[dict[str, Any]]:
    """Every release (of ``name``), oldest first per prompt, with the channels pointing at it."""
    from . import channels as ch
    from .manifest import parse_tag_message

    repo = discover(root)
    moves = ch.all_moves(repo, name)
    chans = {p: {c: m.version for c, m in cm.items()} for p, cm in moves.items()}
    rows = []
    for t in repo.release_tags(name):
        try:
            m: ReleaseManifest | None = parse_tag_message(repo.tag_message(t), t.tag)
        except IntegrityError:
            m = None
        rows.append(
            {
                "name": t.name,
                "version": str(t.version),
                "tag": t.tag,
                "commit": t.commit,
                "date": t.tagger_date,
                "sha256": m.sha256 if m else None,
                "model": m.model if m else None,
                "gate": m.gate.verdict if m and m.gate else None,
                "channels": sorted(c for c, v in chans.get(t.name, {}).items() if v == str(t.version)),
                "canary": [
                    {"channel": c, "percent": mv.canary_percent}
                    for c, mv in sorted(moves.get(t.name, {}).items())
                    if mv.canary == str(t.version)
                ],
                "valid_manifest": m is not None,
            }
        )
    return rows


def show_release(
    ref: str, root: str | os.PathLike[str] | None = None, bundle: str | None = None
) -> tuple[ReleaseManifest, Prompt]:
    """(manifest, verified prompt) of ``NAME@VERSION`` (a spec or channel works too)."""
    from .manifest import parse_tag_message, read_manifest

    name, spec = split_ref(ref)
    spec = spec or "latest"
    if bundle is not None:
        from .bundle import read_bundle

        prompt = load_prompt(name, spec, bundle=bundle, refresh=True)
        entry = read_bundle(bundle)["prompts"][name]["releases"][prompt.version]
        return read_manifest(entry["manifest"], f"bundle {bundle}"), prompt
    repo = discover(root)
    tag = repo.detailed(resolve_tag(repo, name, spec))
    prompt = prompt_at_tag(repo, tag)
    return parse_tag_message(repo.tag_message(tag), tag.tag), prompt


def promote(
    ref: str,
    channel: str,
    *,
    root: str | os.PathLike[str] | None = None,
    reason: str = "",
    push: bool = False,
    remote: str = "origin",
) -> tuple[ReleaseTag, ChannelMove | None]:
    """Point ``channel`` at the release ``NAME@VERSION`` (verified first). None move: already there."""
    from . import channels as ch

    name, spec = split_ref(ref)
    if spec is None:
        raise UsageError(f"say which release to promote: {name}@VERSION")
    ch.check_channel(channel)
    repo = discover(root)
    tag = resolve_tag(repo, name, spec)
    prompt_at_tag(repo, tag)  # refuses a moved or tampered release
    moved = ch.move(repo, name, channel, str(tag.version), tag.tag, reason)
    if push:
        ch.push(repo, remote, name, channel)
    return tag, moved
