"""The ops records (request record, release manifest, channel move, canary, bundle) written by older llmops
keep loading: fixtures in tests/fixtures/records/ were made by ``make_fixtures.py`` with the code of v0.1.0
(before call targets: ``v0.1.0-early``; before guards: ``v0.1.0``) and v0.2.0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_cli.releases.bundle import read_bundle
from llmops_cli.releases.channels import _parse_move
from llmops_cli.releases.loader import clear_cache, load_prompt
from llmops_cli.releases.manifest import parse_tag_message
from llmops_cli.usage import open_records, resolve_logs

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "records"
VERSIONS = ("v0.1.0-early", "v0.1.0", "v0.2.0")


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


@pytest.mark.parametrize("version", VERSIONS)
def test_old_manifests_parse(version: str) -> None:
    for path in sorted((FIXTURES / version).glob("manifest-*.txt")):
        manifest = parse_tag_message(path.read_text(), path.name)
        assert manifest.name == "support/answer" and path.name == f"manifest-{manifest.version}.txt"


@pytest.mark.parametrize("version", VERSIONS)
def test_old_channel_moves_parse(version: str) -> None:
    moves = [
        _parse_move("c" * 40, "T <t@example.com>", "", p.read_text())
        for p in sorted((FIXTURES / version).glob("move-*.txt"))
    ]
    assert moves and all(m is not None and m.problem is None for m in moves)
    assert moves[0] is not None and (moves[0].version, moves[0].action, moves[0].canary) == ("1.0.0", "promote", None)
    if len(moves) > 1:
        actions = [(m.action, m.version, m.canary, m.canary_percent) for m in moves if m is not None]
        assert actions[1:] == [
            ("canary", "1.0.0", "1.0.1", 10.0),
            ("canary", "1.0.0", "1.0.1", 2.5),
            ("abort", "1.0.0", None, None),
            ("canary", "1.0.0", "1.0.1", 50.0),
            ("finish", "1.0.1", None, None),
        ]


@pytest.mark.parametrize("version", VERSIONS)
def test_old_bundles_load(version: str) -> None:
    bundle = FIXTURES / version / "bundle.json"
    data = read_bundle(bundle)
    entry = data["prompts"]["support/answer"]
    assert entry["channels"] == {"production": "1.0.0"}
    p = load_prompt("support/answer", "production", bundle=bundle)
    assert (p.version, p.name) == ("1.0.0", "support/answer")
    if "canaries" in entry:  # canary at 2.5% when the bundle was made
        assert entry["canaries"]["production"]["percent"] == 2.5
        arms = {load_prompt("support/answer", "production", bundle=bundle, key=f"user-{i}").arm for i in range(200)}
        assert arms == {"stable", "canary"}
    latest = load_prompt("support/answer", "1.0.1", bundle=bundle)
    assert latest.version == "1.0.1"


@pytest.mark.parametrize("version", ["v0.1.0", "v0.2.0"])
def test_old_request_logs_are_read_by_usage(version: str) -> None:
    path = FIXTURES / version / "requests.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    recs = open_records(resolve_logs([str(path)]))
    [(count, guarded, invalid)] = recs.query("SELECT count(*), count(guard), count(_problem) FROM ({normal})")
    assert (count, invalid) == (len(lines), 0)
    assert guarded == sum(1 for x in lines if x.get("guard"))
