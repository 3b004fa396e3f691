"""Secrets that bypass llmops' own output functions — a Python warning, a ``logging`` record, a library's
``print()`` — are redacted too: the CLI runs every command with ``sys.stdout``/``sys.stderr`` routed through
the redactor. Key values with regular-expression metacharacters are matched literally."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

import pytest

from llmops_cli.redact import redact

KEY = "s3cr3t+key.(with)*meta[chars]?$^|{2}"


SCRIPT = """
import logging, sys, warnings
from llmops_cli.redact import redacted_std_streams
key = sys.argv[1]
with redacted_std_streams():
    print(f"library print {key}")
    sys.stdout.writelines([f"lines {key}\\n"])
    warnings.warn(f"a warning about {key}", UserWarning, stacklevel=1)
    logging.getLogger("some.library").error("request failed with key %s", key)  # last-resort handler
    print(f"Authorization: Bearer {key}", file=sys.stderr)
"""


def test_every_std_stream_write_is_redacted() -> None:
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", SCRIPT, KEY], capture_output=True, text=True, env=env, timeout=60
    )
    text = proc.stdout + proc.stderr
    assert "library print" in text and "a warning about" in text and "request failed" in text, text
    assert KEY not in text and "s3cr3t" not in text, text
    assert text.count("[REDACTED") >= 5, text


def test_metacharacter_key_is_matched_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert redact(f"x {KEY} y") == "x [REDACTED:OPENAI_API_KEY] y"
    assert redact("s3cr3t+key.XwithX") == "s3cr3t+key.XwithX"  # the pattern is not a regex
    # after "Bearer", the token shape used to claim "s3cr3t+key." and leave "(with)*meta…" in the output
    assert redact(f"Authorization: Bearer {KEY}") == "Authorization: Bearer [REDACTED:OPENAI_API_KEY]"
    assert redact(f'{{"authorization": "Bearer {KEY}"}}').count("meta") == 0


def test_cli_main_routes_streams_through_the_redactor(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """A usage error whose text carries the key (here: an unknown option named after it) is redacted."""
    from llmops_cli.cli.app import main

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["prompt", "render", f"--{KEY}"])
    assert code == 2
    assert KEY not in out.getvalue() + err.getvalue()
