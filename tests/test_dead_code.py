"""No dead code: vulture at high confidence over the package (with tests/support/vulture_whitelist.py for
what it cannot see), and the removals of issue #21 stay removed (``gate.margin`` is accepted, with a warning,
until 0.3.0)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from llmops_cli.config import MARGIN_REMOVED_IN, ConfigDeprecationWarning, GateConfig, parse_config
from llmops_cli.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "llmops_cli"
WHITELIST = ROOT / "tests" / "support" / "vulture_whitelist.py"
MIN_CONFIDENCE = 80  # unused imports (90), variables and unreachable code (100); not the 60% guesses


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _unused(paths: list[Path], min_confidence: int = MIN_CONFIDENCE) -> list[str]:
    vulture = pytest.importorskip("vulture", reason="vulture is in the dev extra: pip install -e '.[dev]'")
    v = vulture.Vulture()
    v.scavenge([str(p) for p in paths])
    return [
        f"{_shown(Path(i.filename))}:{i.first_lineno}: {i.message} ({i.confidence}% confidence)"
        for i in v.get_unused_code(min_confidence=min_confidence, sort_by_size=False)
    ]


def test_no_dead_code_at_high_confidence() -> None:
    found = _unused([PKG, WHITELIST])
    assert not found, (
        "vulture finds dead code; remove it (or, if it is used in a way vulture cannot see, add it with the "
        "reason to tests/support/vulture_whitelist.py):\n" + "\n".join(found)
    )


def test_every_whitelist_entry_is_still_needed() -> None:
    names = {
        line.split("_.", 1)[1].split()[0]
        for line in WHITELIST.read_text(encoding="utf-8").splitlines()
        if line.startswith("_.")
    }
    reported = {f.split("'")[1] for f in _unused([PKG]) if "'" in f}
    assert names and names <= reported, f"whitelist entries that match nothing any more: {sorted(names - reported)}"


def test_the_check_finds_dead_code(tmp_path: Path) -> None:
    mod = tmp_path / "mod.py"
    mod.write_text("import json\n\n\ndef f():\n    return 1\n    print('never')\n", encoding="utf-8")
    found = _unused([mod])
    assert len(found) == 2 and "unused import 'json'" in found[0] and "unreachable code" in found[1], found


def test_removed_helpers_stay_removed() -> None:
    import llmops_cli.models as models
    import llmops_cli.models.runtime as runtime
    import llmops_cli.providers as providers

    for mod, name in ((runtime, "complete"), (runtime, "acomplete"), (providers, "is_local_model")):
        assert not hasattr(mod, name), f"{mod.__name__}.{name} is back"
    assert "complete" not in models.__all__ and "acomplete" not in models.__all__
    with pytest.raises(AttributeError):
        models.complete  # noqa: B018
    assert "margin" not in GateConfig.model_fields


CONFIG = "gate:\n  practical: 0.03\n  margin: 0.1\n  overrides:\n    support/answer: {margin: 0.2, alpha: 0.1}\n"


def test_gate_margin_is_accepted_with_a_warning_naming_the_removal(tmp_path: Path) -> None:
    file = str(tmp_path / "llmops.yaml")  # its own file name: the warnings registry shows each file:line once
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = parse_config(CONFIG, file)
    assert config.gate.practical == 0.03
    assert config.gate.overrides == {"support/answer": {"alpha": 0.1}}  # margin is ignored, not carried
    got = [(w.category, w.filename, w.lineno, str(w.message)) for w in caught]
    assert [g[:3] for g in got] == [(ConfigDeprecationWarning, file, 3), (ConfigDeprecationWarning, file, 5)], got
    assert got[0][3].startswith("gate.margin is deprecated and ignored")
    assert got[1][3].startswith("gate.overrides.support/answer.margin is deprecated")
    assert all(f"llmops {MARGIN_REMOVED_IN} will refuse it" in g[3] for g in got)
    assert MARGIN_REMOVED_IN == "0.3.0"
    assert issubclass(ConfigDeprecationWarning, FutureWarning)  # shown by default, unlike DeprecationWarning


def test_a_config_without_margin_warns_nothing(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_config("gate: {practical: 0.03, overrides: {p: {alpha: 0.1}}}\n", str(tmp_path / "llmops.yaml"))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("gate:\n  margin: .inf\n", 2, "non-finite number"),
        ("gate:\n  practical: 0.02\n  margin: 2\n", 1, "gate: margin must be a number from 0 to 1, got 2"),
        ("gate:\n  margin: [1]\n", 1, "gate: margin must be a number from 0 to 1, got [1]"),
        ("gate:\n  margin: true\n", 1, "gate: margin must be a number from 0 to 1, got True"),
        ("gate:\n  overrides: {p: {margin: 3}}\n", 2, "p: margin = 3.0 is out of range"),
    ],
)
def test_a_bad_margin_is_still_refused(text: str, line: int, message: str) -> None:
    with pytest.raises(UserError) as err:  # ConfigError; a non-finite number: the YAML reader's error
        parse_config(text, "llmops.yaml")
    assert message in err.value.message and err.value.line == line, (err.value.message, err.value.line)
