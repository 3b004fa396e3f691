"""mypy is the project's type checker; CI runs it through the test suite (config: ``[tool.mypy]`` in pyproject.toml).

The core (``llmops_cli``) is checked with ``strict = true``; ``llmops_cli.cli`` (typer/rich) is checked with
untyped signatures allowed; tests are not type-checked.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def _mypy(*args: str, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    if cache is None:  # an incremental cache per checkout that outlives the test run: a rerun checks what changed
        key = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
        cache = Path(tempfile.gettempdir()) / f"llmops-mypy-cache-{key}"
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(PYPROJECT), "--cache-dir", str(cache), *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _config() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["mypy"]


def test_mypy_is_installed() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0, "mypy is missing: pip install -c .ci/constraints.txt -e '.[dev]'\n" + proc.stderr


def test_core_is_type_clean() -> None:
    proc = _mypy()  # the files and flags come from [tool.mypy]
    assert proc.returncode == 0, f"mypy found type errors:\n{proc.stdout}{proc.stderr}"
    assert "Success" in proc.stdout, proc.stdout


def test_config_is_strict_and_exclusions_only_shrink() -> None:
    cfg = _config()
    assert cfg["strict"] is True and cfg["files"] == ["llmops_cli"]
    unchecked = {m for o in cfg.get("overrides", []) if o.get("ignore_errors") for m in o["module"]}
    assert not unchecked, f"modules excluded from type checking (ignore_errors): {sorted(unchecked)}"
    lenient = {m for o in cfg.get("overrides", []) if o.get("disallow_untyped_defs") is False for m in o["module"]}
    assert lenient == {"llmops_cli.cli.*"}, lenient


def test_the_check_fails_on_a_type_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x: int) -> str:\n    return x\n", encoding="utf-8")
    proc = _mypy(str(bad), cache=tmp_path / "cache")  # its own cache: xdist may run it beside the full check
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'Incompatible return value type (got "int", expected "str")' in proc.stdout
