"""Input drift in ``llmops usage check``: generated logs with known drift, stationary logs, hostile inputs."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmops_cli.usage.engine import open_records
from llmops_cli.usage.input_drift import (
    MAX_INPUT_CHARS,
    DriftOptions,
    compare_inputs,
    input_drift,
    input_text,
    script_of,
)
from llmops_cli.usage.logfiles import resolve_logs
from llmops_cli.usage.synth import input_text as gen_text
from llmops_cli.usage.synth import inputs_records, write_records
from tests.conftest import run_cli

START = datetime(2026, 12, 1, tzinfo=UTC)
CHANGE_H = 24 * 7 + 12


def test_scripts_and_languages() -> None:
    assert (
        script_of("Where is my parcel? I have been waiting for the delivery and you said it would come") == "latin:en"
    )
    assert script_of("Wo ist mein Paket? Ich warte und das ist nicht gut, wie lange noch") == "latin:de"
    assert script_of("Где мой заказ? Почему деньги не вернули") == "cyrillic"
    assert script_of("我的包裹在哪里") == "han"
    assert script_of("12345 !!!") == "none"
    assert script_of("zzz qqq") == "latin:other"


def test_input_text_is_bounded_and_typed() -> None:
    assert input_text({"q": "a", "ctx": ["b", {"c": "d"}], "n": 3}, None) == "a b d"
    assert input_text(None, [{"role": "system", "content": "rules"}, {"role": "user", "content": "hi"}]) == "hi"
    assert input_text("not an object", None) is None and input_text(None, None) is None
    assert len(input_text({"q": "x" * 10**6}, None) or "") == MAX_INPUT_CHARS
    deep: dict[str, object] = {"q": "top"}
    node = deep
    for _ in range(100):
        node["n"] = {"q": "deeper"}
        node = node["n"]  # type: ignore[assignment]
    assert input_text(deep, None).count("deeper") <= 17  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "feature"),
    [
        ({"mean_words": 60.0}, "length"),
        ({"languages": {"en": 0.6, "ru": 0.4}}, "script"),
        ({"topics": {"billing": 0.2, "shipping": 0.2, "account": 0.2, "security": 0.4}}, "topic"),
    ],
)
def test_each_feature_detects_its_change(change: dict[str, object], feature: str) -> None:
    rng = random.Random(3)
    ref = [gen_text(rng) for _ in range(2000)]
    cur = [gen_text(rng, **change) for _ in range(600)]  # type: ignore[arg-type]
    d = compare_inputs("p", cur, ref, DriftOptions())
    assert feature in {f.feature for f in d.drifted}, d.features
    same = compare_inputs("p", [gen_text(rng) for _ in range(600)], ref, DriftOptions())
    assert not same.drifted, same.features
    few = compare_inputs("p", cur[:50], ref, DriftOptions())
    assert few.features == []  # fewer than min_inputs: not tested


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    out = {}
    for name, after in (("steady", None), ("drifted", {"languages": {"en": 0.6, "ru": 0.4}})):
        path = d / f"{name}.jsonl"
        write_records(
            path,
            inputs_records(start=START, hours=24 * 8, per_hour=40, seed=1, change_at_h=CHANGE_H if after else None,
                           after=after),
        )  # fmt: skip
        out[name] = path
    return out


def test_usage_check_flags_the_drifted_prompt_only(logs: dict[str, Path], tmp_path: Path) -> None:
    now = (START + timedelta(hours=24 * 8)).isoformat()
    r = run_cli("usage", "check", str(logs["steady"]), "--now", now, "--no-provider", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    r = run_cli("usage", "check", str(logs["drifted"]), "--now", now, "--no-provider", "--json", cwd=tmp_path)
    assert r.exit_code == 1, r.output
    found = [f for f in json.loads(r.stdout)["findings"] if f["kind"] == "input-drift"]
    assert len(found) == 1 and found[0]["group"] == {"prompt": "support/answer"}
    assert "script: " in found[0]["message"]  # mixed Russian/English text: Latin letters still dominate
    r = run_cli("usage", "check", str(logs["drifted"]), "--now", now, "--no-provider", "--no-input-drift", cwd=tmp_path)
    assert r.exit_code == 0
    # before the change the same logs are steady
    before = (START + timedelta(hours=CHANGE_H)).isoformat()
    recs = open_records(resolve_logs([str(logs["drifted"])]))
    assert not any(d.drifted for d in input_drift(recs, datetime.fromisoformat(before)))


def test_hostile_inputs_are_skipped_not_fatal(tmp_path: Path, logs: dict[str, Path]) -> None:
    path = tmp_path / "hostile.jsonl"
    lines = logs["steady"].read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[-1])
    extra = [
        {**bad, "vars": "a string, not an object"},
        {**bad, "vars": {"q": "\u202e\u0000" * 1000}},
        {**bad, "vars": None, "input": [{"role": "user", "content": 12}]},
        {**bad, "vars": {"q": "<script>alert(1)</script>"}},
    ]
    path.write_text("\n".join(lines + [json.dumps(e) for e in extra]) + "\n", encoding="utf-8")
    now = (START + timedelta(hours=24 * 8)).isoformat()
    r = run_cli("usage", "check", str(path), "--now", now, "--no-provider", cwd=tmp_path)
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
