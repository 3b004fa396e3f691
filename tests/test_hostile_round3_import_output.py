"""Hostile inputs, round three: what `llmops import` prints from an imported config (provider ids, file names,
construct details) never drives the terminal — control characters are shown escaped, on stdout and stderr."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli, write

CONFIG = r"""
prompts:
  - "Say hi to {{name}}"
providers:
  - "exec:\e[31mevil\e]0;title\a\r\e[2J"
tests:
  - vars: {name: "Bob"}
    assert:
      - type: contains
        value: "hi"
"""


def test_import_report_escapes_control_characters(tmp_path: Path) -> None:
    write(tmp_path, "llmops.yaml", "models: {}\n")
    write(tmp_path, "promptfooconfig.yaml", CONFIG)
    res = run_cli("import", "promptfoo", "promptfooconfig.yaml", cwd=tmp_path)
    assert res.exit_code == 0, res.output
    assert "custom provider" in res.stdout  # the gap is reported...
    for ch in ("\x1b", "\x07", "\r"):
        assert ch not in res.stdout and ch not in res.stderr  # ...with no raw control character
    assert "\\x1b[31mevil" in res.stdout
