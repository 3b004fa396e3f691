"""Canary channels in real temporary git repositories: stable bucketing, promote --canary/--finish/--abort,
history, load_prompt(key=), bundles and hostile values."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import IntegrityError, NotFoundError, UsageError
from llmops_cli.git import discover as open_repo
from llmops_cli.hashing import sha256_of
from llmops_cli.records.releases import CanaryTarget
from llmops_cli.releases import canary, channels
from llmops_cli.releases.bundle import build_bundle, write_bundle
from llmops_cli.releases.canary import arm_for, bucket, parse_percent
from llmops_cli.releases.canary_moves import change_canary
from llmops_cli.releases.create import create_release, promote
from llmops_cli.releases.loader import clear_cache, load_prompt
from tests.conftest import GitRepo, make_sample_project, run_cli

NAME = "support/answer"
PROMPT = "prompts/support/answer.prompt.yaml"
REF = "refs/llmops/channels/support/answer/@production"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


@pytest.fixture
def repo(tmp_git_repo: GitRepo) -> GitRepo:
    """1.0.0 on production, 1.0.1 released (not on any channel)."""
    make_sample_project(tmp_git_repo.root)
    tmp_git_repo.commit("sample project")
    create_release(NAME, root=tmp_git_repo.root, allow_no_gate=True)
    p = tmp_git_repo.root / PROMPT
    p.write_text(p.read_text().replace("Answer in", "Reply in", 1))
    tmp_git_repo.commit("reword")
    create_release(NAME, root=tmp_git_repo.root, allow_no_gate=True)
    promote(f"{NAME}@1.0.0", "production", root=tmp_git_repo.root)
    return tmp_git_repo


def start(repo: GitRepo, percent: str, version: str = "1.0.1", **kw: Any) -> channels.ChannelMove | None:
    return change_canary(f"{NAME}@{version}", "production", percent=percent, root=repo.root, **kw)


def history(repo: GitRepo) -> list[channels.ChannelMove]:
    return channels.history(open_repo(repo.root), NAME, "production")


# -- bucketing ---------------------------------------------------------------------------------------
def test_bucket_is_the_documented_sha256_formula() -> None:
    for key in ("user-1", "ünïcode", "", "x" * 1000):
        digest = hashlib.sha256(f"{NAME}\0production\0{key}".encode()).digest()
        assert bucket(NAME, "production", key) == int.from_bytes(digest[:8], "big") % 10_000
    assert bucket(NAME, "production", 42) == bucket(NAME, "production", "42")  # ints hash as decimal text
    # pinned values: a change here re-buckets every deployed key (bundles, other processes, other versions)
    assert [bucket(NAME, "production", f"user-{i}") for i in range(3)] == PINNED
    assert bucket(NAME, "staging", "user-0") != bucket(NAME, "production", "user-0")
    with pytest.raises(UsageError):
        bucket(NAME, "production", True)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        bucket(NAME, "production", 1.5)  # type: ignore[arg-type]


def test_key_type_is_checked_on_every_channel_load(repo: GitRepo) -> None:
    with pytest.raises(UsageError, match="key must be"):
        load_prompt(NAME, "production", root=repo.root, key=b"user")  # type: ignore[arg-type]
    assert load_prompt(NAME, "production", root=repo.root, key=7).arm is None


PINNED = [7833, 3333, 8891]  # bucket(NAME, "production", "user-0/1/2"), computed once by hand


def test_ten_percent_of_100k_keys_within_one_point() -> None:
    canary_share = sum(arm_for(NAME, "production", f"user-{i}", 10) == "canary" for i in range(100_000)) / 1000
    assert 9.0 <= canary_share <= 11.0, canary_share
    share = sum(arm_for(NAME, "production", i, 2.5) == "canary" for i in range(100_000)) / 1000
    assert 1.5 <= share <= 3.5, share


def test_raising_the_percent_is_monotone() -> None:
    keys = [f"k{i}" for i in range(20_000)]
    at = {p: {k for k in keys if arm_for(NAME, "production", k, p) == "canary"} for p in (0.1, 10, 10.5, 50, 99.9)}
    assert at[0.1] <= at[10] <= at[10.5] <= at[50] <= at[99.9]
    assert len(at[0.1]) < len(at[10]) < len(at[50]) < len(at[99.9])
    assert arm_for(NAME, "production", None, 99.9) == "stable"  # no key: the stable arm


def test_arms_are_the_same_in_another_process(repo: GitRepo) -> None:
    start(repo, "30")
    keys = [f"user-{i}" for i in range(400)]
    here = [load_prompt(NAME, "production", root=repo.root, key=k).version for k in keys]
    code = (
        "import json, sys; from llmops_cli import load_prompt; "
        f"print(json.dumps([load_prompt({NAME!r}, 'production', key=k).version for k in json.load(sys.stdin)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "LLMOPS_ROOT": str(repo.root)}
    proc = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(keys), capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == here
    assert 0.2 < here.count("1.0.1") / len(keys) < 0.4


# -- promote --canary / --finish / --abort -----------------------------------------------------------
def test_canary_raise_and_finish_are_history(repo: GitRepo) -> None:
    m = start(repo, "10", reason="try shorter answers")
    assert m and (m.version, m.canary, m.canary_percent, m.action) == ("1.0.0", "1.0.1", 10.0, "canary")
    assert start(repo, "10") is None  # same percent: nothing moves
    keys = [f"user-{i}" for i in range(5000)]
    on10 = {k for k in keys if load_prompt(NAME, "production", root=repo.root, key=k).arm == "canary"}
    start(repo, "50", reason="looks good")
    clear_cache()
    on50 = {k for k in keys if load_prompt(NAME, "production", root=repo.root, key=k).arm == "canary"}
    assert on10 < on50 and 0.45 < len(on50) / len(keys) < 0.55  # raising keeps the first 10% on the canary
    res = run_cli("release", "promote", NAME, "--to", "production", "--finish", "-m", "ship it", cwd=repo.root)
    assert res.exit_code == 0, res.output
    assert "1.0.1 (canary finished at 50%, was 1.0.0)" in res.stdout
    clear_cache()
    p = load_prompt(NAME, "production", root=repo.root, key="user-1")
    assert (p.version, p.channel, p.arm) == ("1.0.1", "production", None)
    hist = history(repo)
    assert [(h.action, h.version, h.canary, h.canary_percent, h.reason) for h in hist] == [
        ("finish", "1.0.1", None, None, "ship it"),
        ("canary", "1.0.0", "1.0.1", 50.0, "looks good"),
        ("canary", "1.0.0", "1.0.1", 10.0, "try shorter answers"),
        ("promote", "1.0.0", None, None, ""),
    ]
    assert hist[0].previous == "1.0.0" and hist[0].previous_canary == {"version": "1.0.1", "percent": 50.0}
    assert hist[1].previous_canary == {"version": "1.0.1", "percent": 10.0}
    assert all(h.moved_by == "Test <test@example.com>" and h.moved_at for h in hist)
    assert repo.git("rev-list", "--count", REF) == "4"  # append-only chain, one commit per change
    body = json.loads(repo.git("log", "-1", "--format=%B", f"{REF}~1").split("\n\n", 1)[1])
    assert body["canary"]["percent"] == 50 and body["canary"]["tag"] == "prompts/support/answer/v1.0.1"
    assert body["canary"]["released_commit"] == repo.git("rev-parse", "prompts/support/answer/v1.0.1^{commit}")
    out = run_cli("release", "history", NAME, "--channel", "production", cwd=repo.root).stdout
    assert "1.0.0 + canary 1.0.1 at 50% (was 10%)" in out and "ship it" in out
    js = json.loads(run_cli("release", "history", NAME, "--json", cwd=repo.root).stdout)
    assert js[1]["canary"] == {"version": "1.0.1", "tag": "prompts/support/answer/v1.0.1", "percent": 50.0}


def test_abort_keeps_the_stable_version(repo: GitRepo) -> None:
    start(repo, "2.5")
    res = run_cli("release", "list", NAME, "--json", cwd=repo.root)
    rows = {r["version"]: r for r in json.loads(res.stdout)}
    assert rows["1.0.0"]["channels"] == ["production"] and rows["1.0.1"]["canary"] == [
        {"channel": "production", "percent": 2.5}
    ]
    assert "production (canary 2.5%)" in run_cli("release", "list", cwd=repo.root).stdout
    res = run_cli("release", "promote", NAME, "--to", "production", "--abort", "-m", "p95 up", "--json", cwd=repo.root)
    assert res.exit_code == 0, res.output
    moved = json.loads(res.stdout)["moved"]
    assert (moved["action"], moved["version"], moved["canary"], moved["reason"]) == ("abort", "1.0.0", None, "p95 up")
    assert [p.version for p in (load_prompt(NAME, "production", root=repo.root, key=k) for k in range(300))] == [
        "1.0.0"
    ] * 300
    assert history(repo)[0].summary == "1.0.0 (canary 1.0.1 aborted at 2.5%)"
    assert channels.all_channels(open_repo(repo.root), NAME) == {NAME: {"production": "1.0.0"}}
    # after the abort the channel moves as before, and a new canary can start
    assert start(repo, "5") is not None


def test_channel_and_arm_fields_are_not_content(repo: GitRepo) -> None:
    exact = load_prompt(NAME, "1.0.1", root=repo.root)
    assert (exact.channel, exact.arm) == (None, None)
    plain = load_prompt(NAME, "production", root=repo.root, key="anyone")
    assert (plain.version, plain.channel, plain.arm) == ("1.0.0", "production", None)  # no canary: arm None
    start(repo, "50")
    clear_cache()
    exact = load_prompt(NAME, "1.0.1", root=repo.root)
    keys = [f"u{i}" for i in range(200)]
    got = [load_prompt(NAME, "production", root=repo.root, key=k) for k in keys]
    canary_p = next(p for p in got if p.arm == "canary")
    stable_p = next(p for p in got if p.arm == "stable")
    assert (canary_p.version, canary_p.channel) == ("1.0.1", "production")
    assert (stable_p.version, stable_p.channel) == ("1.0.0", "production")
    assert all(p is canary_p or p is stable_p for p in got)  # one cached copy per (channel, arm)
    assert load_prompt(NAME, "production", root=repo.root).arm == "stable"  # no key: stable
    # the canary copy is the release itself, plus two fields outside the content hash
    assert canary_p is not exact and (exact.channel, exact.arm) == (None, None)  # the shared prompt is untouched
    assert canary_p.sha256 == exact.sha256 == sha256_of(exact.hash_payload())
    assert dataclasses.replace(exact, channel="x", arm="canary", _sha256=None).sha256 == exact.sha256
    assert "channel" not in json.dumps(canary_p.hash_payload()) and "arm" not in canary_p.hash_payload()
    assert load_prompt(NAME, "1.0.1", root=repo.root) is exact
    assert load_prompt(NAME, "latest", root=repo.root).arm is None


# -- refusals ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("percent", ["0", "100", "150", "-1", "NaN", "nan", "inf", "ten", "10.25", "1e1", "", " 5%"])
def test_nonsense_percent_is_exit_2(repo: GitRepo, percent: str) -> None:
    res = run_cli("release", "promote", f"{NAME}@1.0.1", "--to", "production", f"--canary={percent}", cwd=repo.root)
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--canary" in lines[0], res.stderr
    assert "Traceback" not in res.output
    assert repo.git("rev-list", "--count", REF) == "1"  # nothing moved


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([f"{NAME}@9.9.9", "--canary", "10"], "no release"),  # unreleased version
        ([f"{NAME}@1.0.0", "--canary", "10"], "already the stable version"),
        ([NAME, "--canary", "10"], "say which release"),
        ([NAME, "--finish"], "no canary to finish"),
        ([NAME, "--abort"], "no canary to abort"),
        ([f"{NAME}@1.0.1", "--canary", "10", "--finish"], "one of"),
        ([NAME, "--finish", "--abort"], "one of"),
    ],
)
def test_refusals_are_exit_2(repo: GitRepo, args: list[str], message: str) -> None:
    res = run_cli("release", "promote", *args, "--to", "production", cwd=repo.root)
    assert res.exit_code == 2, res.output
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_canary_needs_a_stable_version_and_blocks_plain_moves(repo: GitRepo) -> None:
    with pytest.raises(UsageError, match="needs a stable version"):
        change_canary(f"{NAME}@1.0.1", "staging", percent="10", root=repo.root)
    with pytest.raises(UsageError):
        change_canary(f"{NAME}@1.0.1", "latest", percent="10", root=repo.root)
    start(repo, "10")
    with pytest.raises(UsageError, match="finish it"):  # a plain move would silently drop the canary
        promote(f"{NAME}@1.0.1", "production", root=repo.root)
    p = repo.root / PROMPT
    p.write_text(p.read_text().replace("Reply in", "Respond in", 1))
    repo.commit("again")
    create_release(NAME, root=repo.root, allow_no_gate=True)  # 1.0.2
    with pytest.raises(UsageError, match=r"already has canary 1\.0\.1"):
        start(repo, "10", version="1.0.2")
    with pytest.raises(UsageError, match=r"is 1\.0\.1, not 1\.0\.2"):
        change_canary(f"{NAME}@1.0.2", "production", finish=True, root=repo.root)
    assert change_canary(f"{NAME}@1.0.1", "production", finish=True, root=repo.root).version == "1.0.1"  # type: ignore[union-attr]


def test_canary_of_a_tampered_release_is_refused(repo: GitRepo) -> None:
    tag = "prompts/support/answer/v1.0.1"
    message = repo.git("tag", "-l", "--format=%(contents)", tag)
    repo.git("tag", "-f", "-a", "--cleanup=verbatim", "-m", message, tag, "HEAD~1")  # re-pointed tag
    with pytest.raises(IntegrityError, match="moved"):
        start(repo, "10")
    assert repo.git("rev-list", "--count", REF) == "1"


def test_hostile_canary_in_a_move_commit_is_refused_on_load(repo: GitRepo) -> None:
    """A channel ref fetched from someone else's push: its canary record is validated like a bundle's."""
    gitrepo = open_repo(repo.root)
    prev = channels.current(gitrepo, NAME, "production")
    for bad in (150, -1, 0, "10", True, 10.25, None):
        hostile = CanaryTarget(version="1.0.1", tag="prompts/support/answer/v1.0.1", percent=bad)
        channels.write_move(
            gitrepo, NAME, "production", prev, "1.0.0", prev.tag, "", title="x", action="canary", canary=hostile
        )  # type: ignore[union-attr]
        clear_cache()
        with pytest.raises(IntegrityError, match="canary percent"):
            load_prompt(NAME, "production", root=repo.root, key="k")
        assert channels.current(gitrepo, NAME, "production").problem  # type: ignore[union-attr]
        with pytest.raises(IntegrityError):
            build_bundle(gitrepo, [(NAME, "production")])
        prev = channels.current(gitrepo, NAME, "production")
    unknown = CanaryTarget(version="7.7.7", tag="prompts/support/answer/v7.7.7", percent=5)
    channels.write_move(
        gitrepo, NAME, "production", prev, "1.0.0", prev.tag, "", title="x", action="canary", canary=unknown
    )  # type: ignore[union-attr]
    clear_cache()
    with pytest.raises(IntegrityError, match="not a release"):
        load_prompt(NAME, "production", root=repo.root)
    out = run_cli("release", "history", NAME, "--channel", "production", cwd=repo.root).stdout
    assert "invalid canary record: its canary percent '10.25'" in out and "canary 7.7.7 at 5%" in out


def test_percent_parser() -> None:
    assert [parse_percent(t) for t in ("10", "2.5", "0.1", "99.9", " 50 ", "05")] == [10, 2.5, 0.1, 99.9, 50, 5]
    for bad in ("0", "0.0", "100", "100.0", "-1", "NaN", "10.", ".5", "1,5", "１０", "10 %"):
        with pytest.raises(UsageError):
            parse_percent(bad)
    assert canary.threshold(10) == 1000 and canary.threshold(2.5) == 250 and canary.threshold(0.1) == 10
    assert [canary.check_percent(v) for v in (10, 2.5, 0.1, 99.9)] == [10, 2.5, 0.1, 99.9]
    for bad in (0, 100, -1, 150, float("nan"), float("inf"), True, "10", None, 10**400, 10.25):
        assert canary.check_percent(bad) is None


def test_push_sends_canary_moves_fast_forward(repo: GitRepo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "refs/tags/*:refs/tags/*", "main")
    start(repo, "10", push=True)
    run_cli("release", "promote", NAME, "--to", "production", "--abort", "--push", cwd=repo.root)
    remote_ref = subprocess.run(["git", "rev-parse", REF], cwd=remote, capture_output=True, text=True).stdout.strip()
    assert remote_ref == repo.git("rev-parse", REF)


# -- bundles -----------------------------------------------------------------------------------------
def _export(repo: GitRepo, out: Path, *refs: str) -> dict[str, Any]:
    res = run_cli("release", "export", *refs, "--out", str(out), cwd=repo.root)
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text())


def test_bundle_keeps_the_arm_of_every_key(repo: GitRepo, tmp_path: Path) -> None:
    start(repo, "20")
    out = tmp_path / "prompts.lock.json"
    data = _export(repo, out, f"{NAME}@production")  # the channel: both of its releases
    entry = data["prompts"][NAME]
    assert data["format"] == "llmops.bundle/1" and sorted(entry["releases"]) == ["1.0.0", "1.0.1"]
    rec = entry["canaries"]["production"]
    assert (rec["stable"], rec["version"], rec["percent"]) == ("1.0.0", "1.0.1", 20)
    assert rec["move"] == repo.git("rev-parse", REF)
    keys = [f"user-{i}" for i in range(2000)]
    from_git = [load_prompt(NAME, "production", root=repo.root, key=k) for k in keys]
    from_bundle = [load_prompt(NAME, "production", bundle=out, key=k) for k in keys]
    assert [(p.version, p.arm, p.channel, p.sha256) for p in from_bundle] == [
        (p.version, p.arm, p.channel, p.sha256) for p in from_git
    ]
    assert 0.17 < sum(p.arm == "canary" for p in from_bundle) / len(keys) < 0.23
    assert load_prompt(NAME, "production", bundle=out).arm == "stable"
    assert load_prompt(NAME, "1.0.1", bundle=out).arm is None
    # a range export that leaves the canary's release out serves the stable version only
    only = _export(repo, tmp_path / "only.json", f"{NAME}@1.0.0")
    assert "canaries" not in only["prompts"][NAME] and only["prompts"][NAME]["channels"] == {"production": "1.0.0"}
    # another process, no git: same arms
    code = (
        "import json, sys; from llmops_cli import load_prompt; "
        f"print(json.dumps([load_prompt({NAME!r}, 'production', bundle={str(out)!r}, key=k).version "
        "for k in json.load(sys.stdin)]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(keys[:300]), capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [p.version for p in from_git[:300]]


def _canary_rec(b: dict[str, Any]) -> dict[str, Any]:
    return b["prompts"][NAME]["canaries"]["production"]


HOSTILE: dict[str, Any] = {
    "percent-0": lambda b: _canary_rec(b).__setitem__("percent", 0),
    "percent-100": lambda b: _canary_rec(b).__setitem__("percent", 100),
    "percent-150": lambda b: _canary_rec(b).__setitem__("percent", 150),
    "percent-negative": lambda b: _canary_rec(b).__setitem__("percent", -1),
    "percent-string": lambda b: _canary_rec(b).__setitem__("percent", "ten"),
    "percent-bool": lambda b: _canary_rec(b).__setitem__("percent", True),
    "percent-two-decimals": lambda b: _canary_rec(b).__setitem__("percent", 10.25),
    "percent-huge-int": lambda b: _canary_rec(b).__setitem__("percent", 10**100),
    "percent-edited": lambda b: _canary_rec(b).__setitem__("percent", 90),  # valid value, digest mismatch
    "version-unbundled": lambda b: _canary_rec(b).__setitem__("version", "9.9.9"),
    "version-is-stable": lambda b: _canary_rec(b).__setitem__("version", "1.0.0"),
    "version-object": lambda b: _canary_rec(b).__setitem__("version", {}),
    "stable-mismatch": lambda b: _canary_rec(b).__setitem__("stable", "1.0.1"),
    "channel-moved": lambda b: b["prompts"][NAME]["channels"].__setitem__("production", "1.0.1"),
    "channel-missing": lambda b: b["prompts"][NAME].__setitem__("channels", {}),
    "extra-key": lambda b: _canary_rec(b).__setitem__("salt", "x"),
    "missing-digest": lambda b: _canary_rec(b).pop("sha256"),
    "canaries-list": lambda b: b["prompts"][NAME].__setitem__("canaries", [1]),
    "record-string": lambda b: b["prompts"][NAME]["canaries"].__setitem__("production", "1.0.1"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_bundle_canary_is_refused(repo: GitRepo, tmp_path: Path, name: str) -> None:
    start(repo, "10")
    bundle = build_bundle(open_repo(repo.root), [(NAME, "production")])
    HOSTILE[name](bundle)
    out = write_bundle(bundle, tmp_path / "b.json")
    for spec in ("production", "1.0.0"):
        with pytest.raises(IntegrityError, match=r"b\.json"):
            load_prompt(NAME, spec, bundle=out, key="k")
    res = run_cli("release", "show", f"{NAME}@production", "--bundle", str(out))
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output


def test_hostile_bundle_percent_nan_text(repo: GitRepo, tmp_path: Path) -> None:
    start(repo, "10")
    out = write_bundle(build_bundle(open_repo(repo.root), [(NAME, "production")]), tmp_path / "b.json")
    out.write_text(out.read_text().replace('"percent": 10', '"percent": NaN'))
    with pytest.raises(IntegrityError):
        load_prompt(NAME, "production", bundle=out, key="k")


def test_bundle_without_canaries_still_loads(repo: GitRepo, tmp_path: Path) -> None:
    """Bundles written before canaries (no ``canaries`` key) load as before."""
    out = tmp_path / "old.json"
    data = _export(repo, out)
    assert "canaries" not in data["prompts"][NAME]
    p = load_prompt(NAME, "production", bundle=out, key="u")
    assert (p.version, p.channel, p.arm) == ("1.0.0", "production", None)
    with pytest.raises(NotFoundError):
        load_prompt(NAME, "staging", bundle=out)
