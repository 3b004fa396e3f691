"""Every JSON file llmops reads from a pull request goes through one strict, bounded parser
(:mod:`llmops_cli.jsonio`): results files, bundles, gate result files, importer data files, git notes.
Python's ``json`` alone accepts ``NaN``, repeats keys, builds 10,000-digit integers and raises
``RecursionError`` on deep nesting; each of those is a one-line exit-2 error naming the file here."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_cli.errors import UserError
from llmops_cli.importers.common import load_data_file
from llmops_cli.jsonio import load_file_strict, loads_strict, parse_bounded
from llmops_cli.limits import MAX_JSON_DEPTH
from llmops_cli.releases.gate_record import read_gate_file

HOSTILE = {
    "nan": '{"a": NaN}',
    "infinity": '{"a": Infinity}',
    "neg-infinity": '{"a": [-Infinity]}',
    "overflow-float": '{"a": 1e400}',
    "huge-int": '{"a": ' + "9" * 5_000 + "}",
    "int-over-limit": '{"a": ' + "9" * 31 + "}",
    "duplicate-key": '{"a": 1, "a": 2}',
    "duplicate-nested-key": '{"a": {"b": 1, "b": 1}}',
    "deep-array": "[" * 100_000 + "]" * 100_000,
    "deep-object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "just-over-depth": "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
    "truncated": '{"a": [1, 2',
    "trailing-garbage": '{"a": 1} x',
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_strict_parser_refuses(name: str) -> None:
    with pytest.raises(UserError, match=r"f\.json"):
        loads_strict(HOSTILE[name], "f.json")
    with pytest.raises(ValueError):
        parse_bounded(HOSTILE[name])


def test_strict_parser_names_the_json_path_of_a_non_finite_number() -> None:
    with pytest.raises(UserError, match=r"\$\.samples\[1\]\.score: non-finite number NaN"):
        loads_strict('{"samples": [{}, {"score": NaN}]}', "r.json")


def test_strict_parser_accepts_ordinary_json() -> None:
    deep_ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert loads_strict('{"a": [1, 2.5, -3e10, "x", null, true], "b": {"c": 12345678901234567890}}', "f")["b"]
    assert loads_strict(deep_ok, "f") is not None


@pytest.mark.parametrize("name", list(HOSTILE))
def test_gate_result_file(name: str, tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text(HOSTILE[name], encoding="utf-8")
    with pytest.raises(UserError, match=r"gate\.json"):
        read_gate_file(path)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_importer_data_file(name: str) -> None:
    with pytest.raises(UserError, match=r"tests\.json"):
        load_data_file("tests.json", HOSTILE[name], "tests.json")


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text('{"a": "' + "x" * 2_000 + '"}', encoding="utf-8")
    with pytest.raises(UserError, match="more than the 1,000 allowed"):
        load_file_strict(str(path), max_bytes=1_000)
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(UserError, match="not UTF-8"):
        load_file_strict(str(path))
