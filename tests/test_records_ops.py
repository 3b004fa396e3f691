"""The ops records (request record, release manifest, channel move, canary, bundle) written by older llmops
keep loading: fixtures in tests/fixtures/records/ were made by ``make_fixtures.py`` with the code of v0.1.0
(before call targets: ``v0.1.0-early``; before guards: ``v0.1.0``) and v0.2.0."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import IntegrityError
from llmops_cli.records.base import RecordError, load_record
from llmops_cli.records.releases import Bundle, ChannelMoveRecord
from llmops_cli.records.requests import (
    CONTENT_KEYS,
    OPTIONAL_KEYS,
    RECORD_KEYS,
    USAGE_KINDS,
    RequestRecord,
    usage_columns,
)
from llmops_cli.records.schemas import SCHEMAS, schema_text
from llmops_cli.releases.bundle import read_bundle
from llmops_cli.releases.channels import _parse_move
from llmops_cli.releases.loader import clear_cache, load_prompt
from llmops_cli.releases.manifest import format_tag_message, parse_tag_message, read_manifest
from llmops_cli.serving.record import CallIdentity, build_record, to_json_line, upgrade_record
from llmops_cli.usage import engine, open_records, resolve_logs
from llmops_cli.usage.engine import record_problem

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "records"
NEW_KEYS = {"vars", "tools_called", "turn", "tool_calls"}  # request-record keys added after v0.2.0
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


# -- the request record ----------------------------------------------------------------------------------------


def _lines(version: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (FIXTURES / version / "requests.jsonl").read_text().splitlines()]


def test_request_records_of_v0_2_0_round_trip_byte_for_byte() -> None:
    for raw in _lines("v0.2.0"):
        rec = load_record(RequestRecord, raw, source="requests.jsonl")
        assert rec.to_json() == raw and list(rec.to_json()) == list(raw)
        assert to_json_line(rec.to_json()) == to_json_line(raw)


def test_request_records_of_v0_1_0_are_lifted_to_v2() -> None:
    for raw in _lines("v0.1.0"):
        assert raw["v"] == 1 and "guard" not in raw
        out = load_record(RequestRecord, raw, source="requests.jsonl").to_json()
        assert out["v"] == 2 and out["guard"] is None
        assert list(out) == [*RECORD_KEYS, *(k for k in CONTENT_KEYS if k in raw)]
        assert upgrade_record(raw) == out


def test_build_record_writes_the_model_s_keys_and_validates() -> None:
    identity = CallIdentity(name="support/answer", sha256="a" * 64, version="1.0.0", channel="production")
    rec = build_record(
        identity,
        ts="2026-12-07T22:50:18.890836Z",
        request_id="r1",
        model="openai/fake-model",
        params_hash="0" * 16,
        tokens_in=3,
        tokens_out=None,
        cost_usd=None,
        latency_ms=1.23456,
        error_class="RateLimitError",
        retries=2,
        tags={"tenant": "acme"},
    )
    assert tuple(rec) == RECORD_KEYS == tuple(k for k in RequestRecord.model_fields if k not in OPTIONAL_KEYS)
    model = load_record(RequestRecord, rec, source="built")
    assert model.to_json() == rec and (model.outcome, model.latency_ms, model.arm) == ("error", 1.235, None)


def test_unknown_keys_of_a_newer_llmops_are_kept() -> None:
    raw = _lines("v0.2.0")[0] | {"tools_called": ["lookup"], "feedback": {"score": 1}}
    out = load_record(RequestRecord, raw, source="x").to_json()
    assert out["tools_called"] == ["lookup"] and list(out)[-2:] == ["tools_called", "feedback"]


HOSTILE_REQUESTS: dict[str, tuple[dict[str, Any], str]] = {
    "tokens as text": ({"tokens_in": "12"}, "tokens_in"),
    "fractional tokens": ({"tokens_out": 1.5}, "tokens_out"),
    "negative tokens": ({"tokens_in": -1}, "tokens_in"),
    "bool tokens": ({"tokens_in": True}, "tokens_in"),
    "huge tokens": ({"tokens_in": 10**13}, "tokens_in"),
    "negative cost": ({"cost_usd": -0.01}, "cost_usd"),
    "huge cost": ({"cost_usd": 1e10}, "cost_usd"),
    "latency text": ({"latency_ms": "5"}, "latency_ms"),
    "latency null": ({"latency_ms": None}, "latency_ms"),
    "outcome": ({"outcome": "maybe"}, "outcome"),
    "empty prompt": ({"prompt": 7}, "prompt"),
    "model null": ({"model": None}, "model"),
    "channel number": ({"channel": 3}, "channel"),
    "tags list": ({"tags": ["a"]}, "tags"),
    "guard text": ({"guard": "pass"}, "guard"),
    "version 3": ({"v": 3}, "v"),
    "version text": ({"v": "2"}, "v"),
}


@pytest.mark.parametrize("case", list(HOSTILE_REQUESTS))
def test_hostile_request_records_are_refused_by_the_model_and_by_usage(case: str) -> None:
    change, key = HOSTILE_REQUESTS[case]
    raw = _lines("v0.2.0")[0] | change
    with pytest.raises(RecordError) as info:
        load_record(RequestRecord, raw, source="logs/requests.jsonl")
    assert str(info.value).startswith(f"logs/requests.jsonl: $.{key}")
    problem = record_problem(json.dumps(raw))
    assert problem is not None and problem.startswith(f"{key}:"), problem


def test_usage_reads_the_columns_the_record_marks() -> None:
    marked = [name for name, info in RequestRecord.model_fields.items() if (info.json_schema_extra or {}).get("usage")]  # type: ignore[union-attr]
    assert [c.name for c in usage_columns()] == marked == list(engine._FIELDS[: len(marked)])
    assert engine._FIELDS[len(marked) :] == engine.ANNOTATION_FIELDS  # feedback and score records share the logs
    assert engine.READABLE_VERSIONS == RequestRecord.readable_versions() == (1, 2)
    assert {c.kind for c in usage_columns()} == set(USAGE_KINDS)
    assert next(c for c in usage_columns() if c.kind == "outcome").values == ("ok", "error")
    for _kind, name, why in engine._PROBLEMS:  # every check is worded once, for SQL and Python alike
        assert why.startswith(f"{name}: ") and why in engine._PROBLEM


# -- release manifests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_tag_messages_are_written_back_byte_for_byte(version: str) -> None:
    for path in sorted((FIXTURES / version).glob("manifest-*.txt")):
        text = path.read_text()
        manifest = parse_tag_message(text, path.name)
        assert format_tag_message(manifest) == text
        assert manifest.has_call_target() == (version != "v0.1.0-early")


def _manifest_text(change: dict[str, Any] | None = None, drop: str | None = None) -> str:
    text = (FIXTURES / "v0.2.0" / "manifest-1.0.0.txt").read_text()
    title, _, body = text.partition("\n\n")
    data = json.loads(body) | (change or {})
    data.pop(drop or "", None)
    return f"{title}\n\n{json.dumps(data)}\n"


@pytest.mark.parametrize(
    ("change", "drop", "match"),
    [
        ({"name": 5}, None, r"tag t: release manifest \$\.name: "),
        ({"gate": "PASS"}, None, r"\$\.gate"),
        ({"params": [1]}, None, r"\$\.params"),
        ({"inputs": {"q": {"type": "string"}}}, None, r"\$\.inputs\.q\.required: field required"),
        (None, "sha256", r"\$\.sha256: field required"),
        ({"schema": "llmops.release/2"}, None, "not an llmops release manifest"),
    ],
)
def test_hostile_manifests_are_integrity_errors_naming_the_path(
    change: dict[str, Any] | None, drop: str | None, match: str
) -> None:
    with pytest.raises(IntegrityError, match=match):
        parse_tag_message(_manifest_text(change, drop), "t")


def test_a_deep_manifest_is_an_integrity_error() -> None:
    with pytest.raises(IntegrityError, match="not valid JSON"):
        parse_tag_message("title\n\n" + '{"a":' * 100_000 + "1" + "}" * 100_000, "t")


# -- channel moves -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_move_bodies_round_trip(version: str) -> None:
    for path in sorted((FIXTURES / version).glob("move-*.txt")):
        body = json.loads(path.read_text().partition("\n\n")[2])
        rec = load_record(ChannelMoveRecord, body, source=path.name)
        assert rec.to_json() == body
        canary, problem = rec.canary_target()
        assert problem is None and (canary is None) == (body.get("canary") is None)


def test_a_move_with_a_hostile_canary_reads_with_its_problem() -> None:
    body = json.loads((FIXTURES / "v0.2.0" / "move-2.txt").read_text().partition("\n\n")[2])
    for bad, why in ((10.25, "canary percent"), ("10", "canary percent"), ([], "not an object"), ({}, "no version")):
        rec = load_record(
            ChannelMoveRecord,
            body | {"canary": bad if why != "canary percent" else body["canary"] | {"percent": bad}},
            source="m",
        )
        assert rec.canary_target()[0] is None and why in (rec.canary_target()[1] or "")
    assert _parse_move("c" * 40, "", "", "t\n\n" + json.dumps(body | {"schema": "llmops.channel-move/9"})) is None


# -- bundles ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_bundles_validate_and_round_trip(version: str) -> None:
    data = json.loads((FIXTURES / version / "bundle.json").read_text())
    bundle = load_record(Bundle, data, source="bundle.json")
    assert bundle.to_json() == data
    for entry in bundle.prompts.values():
        for v, rel in entry.releases.items():
            assert read_manifest(rel.manifest, "b").version == v


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        (lambda c: c.update(extra=1), r"not a canary record .*unknown field"),
        (lambda c: c.update(percent=10.25), r"percent"),
        (lambda c: c.update(percent="2.5"), r"percent"),
        (lambda c: c.pop("move"), r"move: field required"),
        (lambda c: c.update(percent=5), r"was modified"),
    ],
)
def test_hostile_bundle_canaries_are_refused(tmp_path: Path, tamper: Any, match: str) -> None:
    data = json.loads((FIXTURES / "v0.2.0" / "bundle.json").read_text())
    tamper(data["prompts"]["support/answer"]["canaries"]["production"])
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data))
    with pytest.raises(IntegrityError, match=match):
        read_bundle(path)


def test_todays_code_writes_what_v0_2_0_wrote(tmp_path: Path) -> None:
    """The fixtures made again with this checkout: the same files, keys and values (ids, hashes, times and
    the loopback port aside) — the records layer changed no byte of what llmops writes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    subprocess.run(
        [sys.executable, str(FIXTURES / "make_fixtures.py"), str(tmp_path)], check=True, env=env, timeout=300
    )

    def norm(text: str) -> str:
        for pattern, repl in (
            (r"[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32}", "HEX"),
            (r"\d{4}-\d\d-\d\dT[\d:.]+(Z|\+00:00)", "TIME"),
            (r"127\.0\.0\.1:\d+", "HOST"),
            (r'"latency_ms":[\d.]+', "LATENCY"),
            (r'"llmops_version": "[^"]*"', "LLMOPS_VERSION"),  # the version that wrote the bundle
        ):
            text = re.sub(pattern, repl, text)
        return text

    def without_new_keys(text: str) -> str:  # keys added since v0.2.0 (content logging's vars): not compared
        return "".join(
            to_json_line({k: v for k, v in json.loads(x).items() if k not in NEW_KEYS}) + "\n"
            for x in text.splitlines()
        )

    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in (FIXTURES / "v0.2.0").iterdir())
    for name in made:
        if name != "made-by.txt":
            new, old = (tmp_path / name).read_text(), (FIXTURES / "v0.2.0" / name).read_text()
            if name.endswith(".jsonl"):
                new, old = without_new_keys(new), without_new_keys(old)
            assert norm(new) == norm(old), name


# -- published JSON Schemas ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", list(SCHEMAS))
def test_published_schemas_are_current(rel: str) -> None:
    record, title = SCHEMAS[rel]
    assert (ROOT / rel).read_text(encoding="utf-8") == schema_text(record, title), (
        "run: python -m llmops_cli.records.schemas --write"
    )


def test_current_fixtures_validate_against_the_published_schemas() -> None:
    jsonschema = pytest.importorskip("jsonschema")

    def check(rel: str, doc: Any) -> None:
        jsonschema.validate(doc, json.loads((ROOT / rel).read_text(encoding="utf-8")))

    here = FIXTURES / "v0.2.0"
    for raw in _lines("v0.2.0"):
        check("schemas/request-record.schema.json", raw)
    for path in here.glob("manifest-*.txt"):
        check("schemas/release-manifest.schema.json", json.loads(path.read_text().partition("\n\n")[2]))
    for path in here.glob("move-*.txt"):
        check("schemas/channel-move.schema.json", json.loads(path.read_text().partition("\n\n")[2]))
    bundle = json.loads((here / "bundle.json").read_text())
    check("schemas/bundle.schema.json", bundle)
    check("schemas/bundle-canary.schema.json", bundle["prompts"]["support/answer"]["canaries"]["production"])
    with pytest.raises(jsonschema.ValidationError):
        check("schemas/request-record.schema.json", _lines("v0.2.0")[0] | {"outcome": "maybe"})
