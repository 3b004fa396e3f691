"""The results, gate-report and import-report records (``llmops_cli/records/``): the only place those formats
are defined, round trips that lose nothing, hostile files refused with exit 2 naming file and JSON path, and
the published schemas equal to the generated ones."""

from __future__ import annotations

import ast
import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from llmops_cli.errors import EXIT_USAGE, PromptFileError
from llmops_cli.evals.results import load_results, parse_results, results_from_dict, save_results
from llmops_cli.records import gate_report, import_report, results
from llmops_cli.records.results import EvalResults, Invalid, SampleRecord
from llmops_cli.records.schemas import SCHEMAS, schema_text
from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"
PACKAGE = REPO_ROOT / "llmops_cli"

# -- 1. no module outside records/ builds or parses these formats' keys by hand --------------------------------
# The rule: the keys below belong to the results, gate-report and import-report formats and to no other format
# llmops reads or writes (each is checked to be a field of a record, so the list cannot drift from the models;
# ``judge_errors`` and ``judge_calls`` are left out: the usage judge's summary uses them too).
# Outside ``llmops_cli/records/`` none of them may appear as a dict-literal key, a subscript, the key of
# ``.get``/``.pop``/``.setdefault`` or the left side of ``in``; and the formats' ``kind`` strings may not appear at
# all. One exemption: dict-literal keys in ``report/html.py``, which builds the HTML page's own data for its
# script from the typed records (it reads none of these keys).
FORMAT_KEYS = frozenset({
    "judge_samples", "judge_config_hash", "judged_with_config", "judged_by",
    "judge_model_override", "model_override", "samples_missing", "samples_planned", "min_pass_rate",
    "max_error_rate", "merged_from", "reasonings", "worst_cases", "cases_not_run", "cases_added", "cases_removed",
    "regressed_clusters", "decisive_metric", "p_prompt", "holm_family", "judge_notes", "base_output", "head_output",
    "provider_errors", "cost_per_1k", "eval_cost", "approximated",
})  # fmt: skip
KIND_STRINGS = frozenset({results.RESULTS_KIND, gate_report.GATE_REPORT_KIND})
PAYLOAD_MODULE = "report/html.py"


def _record_fields() -> set[str]:
    out: set[str] = set()
    for module in (results, gate_report, import_report):
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__.startswith("llmops_cli.records"):
                out |= {f.alias or name for name, f in obj.model_fields.items()}
    return out


def hand_built_keys(source: str, *, payload: bool = False) -> list[tuple[int, str]]:
    """``(line, key)`` of every use of a format key (or kind string) in ``source`` that the rule forbids."""
    hits: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        keys: list[object] = []
        if isinstance(node, ast.Dict) and not payload:
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            keys = [node.slice.value]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if node.func.attr in ("get", "pop", "setdefault") and isinstance(node.args[0], ast.Constant):
                keys = [node.args[0].value]
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Constant)
            and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
        ):
            keys = [node.left.value]
        if isinstance(node, ast.Constant) and node.value in KIND_STRINGS:
            hits.append((node.lineno, str(node.value)))
        hits += [(node.lineno, k) for k in keys if isinstance(k, str) and k in FORMAT_KEYS]
    return hits


def test_the_format_keys_are_fields_of_the_records() -> None:
    assert not FORMAT_KEYS - _record_fields(), sorted(FORMAT_KEYS - _record_fields())


def test_no_module_outside_records_builds_or_parses_these_formats_by_hand() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("records/"):
            continue
        for line, key in hand_built_keys(path.read_text(encoding="utf-8"), payload=rel == PAYLOAD_MODULE):
            offenders.append(f"llmops_cli/{rel}:{line}: {key!r}")
    assert not offenders, "format keys handled outside llmops_cli/records/ (use the records):\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    "snippet",
    [
        'n = rec["judge"]["judge_samples"]',
        'n = summary.get("min_pass_rate", 1.0)',
        'doc = {"kind": "llmops-eval-results", "samples": []}',
        'out = {"verdict": v, "worst_cases": []}',
        'if "holm_family" in settings: pass',
        'settings.setdefault("judge_samples", 1)',
    ],
)
def test_the_scan_finds_hand_built_keys(snippet: str) -> None:
    assert hand_built_keys(snippet), snippet


# -- 2. round trips -------------------------------------------------------------------------------------------


def _doc() -> dict[str, Any]:
    return json.loads((FIXTURES / "results-0.1.0.json").read_text(encoding="utf-8"))


def test_a_saved_file_loads_and_saves_to_the_same_bytes(tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    save_results(str(first), load_results(str(FIXTURES / "results-0.1.0.json")))
    again = tmp_path / "b.json"
    save_results(str(again), load_results(str(first)))
    assert first.read_bytes() == again.read_bytes()
    assert load_results(str(first)).to_dict() == json.loads(first.read_text(encoding="utf-8"))


def test_numbers_keep_their_json_type_through_a_round_trip() -> None:
    doc = _doc()
    rec = doc["samples"][0]
    rec["cost_usd"], rec["latency_ms"] = 0, 12  # ints where floats are usual
    rec["judge"]["cost_usd"] = 0
    typed = results_from_dict(doc)
    out = typed.samples[0].to_dict()
    assert out["cost_usd"] == 0 and isinstance(out["cost_usd"], int) and isinstance(out["latency_ms"], int)
    assert isinstance(out["judge"]["cost_usd"], int)


def test_unknown_keys_survive_at_every_level(tmp_path: Path) -> None:
    doc = _doc()
    doc["run"]["execution"]["future"] = [1, 2]
    doc["prompts"]["support/answer"]["golden_set"]["owner"] = "team-a"
    doc["samples"][1]["assertions"][0]["explanation"] = {"why": "x"}
    doc["samples"][1]["judge"]["tokens"]["cached"] = 3
    typed = results_from_dict(doc)
    path = tmp_path / "r.json"
    save_results(str(path), typed)
    back = json.loads(path.read_text(encoding="utf-8"))
    assert back["run"]["execution"]["future"] == [1, 2]
    assert back["prompts"]["support/answer"]["golden_set"]["owner"] == "team-a"
    assert back["samples"][1]["assertions"][0]["explanation"] == {"why": "x"}
    assert back["samples"][1]["judge"]["tokens"]["cached"] == 3


def test_a_record_built_in_code_is_validated_too() -> None:
    with pytest.raises(ValueError, match="relative path"):
        SampleRecord(prompt="../escape", case_id="c", sample=0)
    with pytest.raises(ValueError, match="control or invisible"):
        SampleRecord(prompt="p", case_id="c\x1b[31m", sample=0)


def test_the_gate_and_import_reports_round_trip_through_their_records() -> None:
    from tests.support.htmlreport import synthetic_gate

    report = synthetic_gate(12)[2]
    typed = gate_report.GateReportRecord.model_validate(report)
    assert typed.to_dict() == report and json.dumps(typed.to_dict()) == json.dumps(report)  # same key order
    from llmops_cli.importers.report import Gap, ImportReport

    rep = ImportReport(format="promptfoo", sources=["a.yaml"], cases=2)
    rep.gaps += [Gap("unmapped", "a.yaml", "tests[0].assert[1]", 7, "javascript", "not run"), Gap("approximated", "a.yaml", "", None, "x")]  # fmt: skip
    rep.files.append(("prompts/a.prompt.yaml", "created"))
    rec = import_report.ImportReportRecord.model_validate(rep.to_dict())
    assert rec.to_dict() == rep.to_dict() and rec.unmapped[0].construct_ == "javascript"


# -- 3. hostile files: exit 2, file and JSON path ---------------------------------------------------------------


def _set(path: str, value: object) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        cur: Any = d
        steps = [int(x) if x.isdigit() else x for x in path.replace("[", ".").replace("]", "").split(".")]
        for step in steps[:-1]:
            cur = cur[step]
        cur[steps[-1]] = value

    return mutate


HOSTILE = [
    ("count as a string", _set("samples[0].sample", "0"), "$.samples[0].sample", "not an integer"),
    ("count as a bool", _set("samples[1].attempts", True), "$.samples[1].attempts", "not an integer"),
    ("count as a float", _set("samples[1].tokens.prompt", 1.5), "$.samples[1].tokens.prompt", "not an integer"),
    ("negative count", _set("samples[1].judge.errors", -1), "$.samples[1].judge.errors", "below 0"),
    ("NaN score", _set("samples[1].assertions[0].score", math.nan), "$.samples[1].assertions[0].score", "finite"),
    ("infinite cost", _set("samples[0].cost_usd", math.inf), "$.samples[0].cost_usd", "finite"),
    ("score above 1", _set("samples[1].assertions[1].score", 1.5), "$.samples[1].assertions[1].score", "above 1"),
    ("huge integer score", _set("samples[1].assertions[1].score", 10**30), "$.samples[1].assertions[1].score", "above"),
    ("negative latency", _set("samples[2].latency_ms", -3.0), "$.samples[2].latency_ms", "below 0"),
    ("unknown status", _set("samples[0].status", "maybe"), "$.samples[0].status", "'pass', 'fail' or 'error'"),
    ("unknown summary status", _set("summary.prompts.support/answer.status", "meh"),
     '$.summary.prompts["support/answer"].status', "'pass' or 'fail'"),
    ("judge errors above samples", _set("samples[1].judge.errors", 5), "$.samples[1].judge.errors", "exceed"),
    ("object where an array goes", _set("samples", {}), "$.samples", "not an array"),
    ("array where an object goes", _set("run", []), "$.run", "not an object"),
    ("null assertions", _set("samples[0].assertions", None), "$.samples[0].assertions", "not an array"),
    ("prompt name with ..", _set("samples[0].prompt", "../x"), "$.samples[0].prompt", "relative path"),
    ("escape code in a metric", _set("samples[1].assertions[0].metric", "m\x1b[2J"),
     "$.samples[1].assertions[0].metric", "control or invisible"),
    ("bad shard label", _set("run.execution", {"shard": "3/2"}), "$.run.execution.shard", "not a shard"),
    ("missing required key", lambda d: d["samples"][0].pop("case_id"), "$.samples[0].case_id", "missing"),
    ("missing summary count", lambda d: d["summary"]["prompts"]["support/answer"].pop("cases"),
     '$.summary.prompts["support/answer"].cases', "missing"),
    ("incomplete above planned", _set("run.incomplete", {"reason": "budget", "samples_planned": 2, "samples_missing": 5}),
     "$.run.incomplete.samples_missing", "exceed"),
    ("newer schema_version", _set("schema_version", 2), "", "newer than this llmops reads (1): upgrade llmops"),
    ("older schema_version", _set("schema_version", 0), "", "not supported"),
    ("unknown kind", _set("kind", "llmops-gate-report"), "", "not an llmops eval results file"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "mutate", "where", "what"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_results_are_refused_naming_file_and_json_path(
    tmp_path: Path, name: str, mutate: Any, where: str, what: str
) -> None:
    doc = _doc()
    mutate(doc)
    with pytest.raises(PromptFileError) as info:
        parse_results(copy.deepcopy(doc), str(tmp_path / "bad.json"))
    err = info.value
    assert err.exit_code == EXIT_USAGE and err.file == str(tmp_path / "bad.json")
    assert what in err.message, (name, err.message)
    if where:
        assert f"{where}: " in err.message, (name, err.message)


def test_the_cli_refuses_a_hostile_file_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    doc = _doc()
    doc["samples"][1]["judge"]["errors"] = 5
    (tmp_path / "bad.json").write_text(json.dumps(doc), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_cli", "eval", "show", "bad.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "bad.json" in proc.stderr and "$.samples[1].judge.errors: 5 judge errors exceed" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_invalid_names_the_path_without_the_file() -> None:
    doc = _doc()
    doc["samples"][2]["score"] = "high"
    with pytest.raises(Invalid) as info:
        results_from_dict(doc)
    assert info.value.where == "samples[2].score" and "not a number" in info.value.what


def test_v0_1_0_results_still_load_and_get_totals() -> None:
    typed = results_from_dict(_doc())
    assert typed.summary.totals.samples == 3 and typed.schema_version == 1 and isinstance(typed, EvalResults)


# -- 4. the published schemas are the generated ones ------------------------------------------------------------


@pytest.mark.parametrize("file", sorted(SCHEMAS))
def test_published_schema_equals_the_generated_one(file: str) -> None:
    assert (REPO_ROOT / file).read_text(encoding="utf-8") == schema_text(*SCHEMAS[file]), (
        f"run: python -m llmops_cli.records.schemas --write   ({file} is out of date)"
    )


def test_loading_results_leaves_no_leak_report_at_exit() -> None:
    """Loading pauses and then freezes the cyclic GC; the frozen objects go back to the final collection at exit
    (duckdb's bindings report objects the final collection never saw as leaked)."""
    code = (
        "import duckdb\nfrom llmops_cli.evals.results import load_results\n"
        "duckdb.connect().sql('select 1').fetchall()\n"
        f"print(len(load_results({str(FIXTURES / 'results-0.1.0.json')!r}).samples))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(REPO_ROOT)}, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "3", proc.stderr
    assert "leaked" not in proc.stderr, proc.stderr[:500]
