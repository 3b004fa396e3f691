"""Shell completion: typer's ``_LLMOPS_COMPLETE`` protocol answered by the real entry point (bash, zsh, fish),
the script of ``llmops completion`` driven by a real bash, and no heavy import on a completion request."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

REPO_ROOT = Path(__file__).resolve().parent.parent
TOP = {"prompt", "eval", "release", "import", "init", "schema", "usage", "completion"}


def _complete(env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("_LLMOPS", "_TYPER", "COMP_"))}
    return subprocess.run(
        [sys.executable, *flags, "-m", "llmops_cli"],
        env={**base, "PYTHONPATH": str(REPO_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def bash_words(line: str) -> list[str]:
    words = line.split(" ")
    proc = _complete({"_LLMOPS_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_bash_completes_subcommands_and_options() -> None:
    assert set(bash_words("llmops ")) >= TOP
    assert bash_words("llmops pr") == ["prompt"]
    assert {"run", "gate", "compare", "merge"} <= set(bash_words("llmops eval "))
    assert {"lint", "render", "diff", "list"} <= set(bash_words("llmops prompt "))
    gate = bash_words("llmops eval gate --")
    assert {"--base", "--shard", "--markdown", "--status-context", "--github-status"} <= set(gate)
    assert bash_words("llmops eval gate --fail-on ") == ["fail", "warn"]  # an option's choices
    assert bash_words("llmops completion ") == ["bash", "zsh", "fish"]


def test_zsh_and_fish_complete_subcommands() -> None:
    zsh = _complete({"_LLMOPS_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "llmops ev"})
    assert zsh.returncode == 0 and '"eval":' in zsh.stdout and "_arguments" in zsh.stdout
    fish = _complete(
        {
            "_LLMOPS_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            "_TYPER_COMPLETE_ARGS": "llmops prompt ",
        }
    )
    assert fish.returncode == 0
    assert {"list", "render", "lint", "diff"} <= {line.split("\t")[0] for line in fish.stdout.splitlines()}


def test_a_completion_request_loads_no_heavy_module_and_runs_nothing(tmp_path: Path) -> None:
    proc = _complete(
        {"_LLMOPS_COMPLETE": "complete_bash", "COMP_WORDS": "llmops eval run --", "COMP_CWORD": "3"}, "-X", "importtime"
    )
    assert proc.returncode == 0 and "--model" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "typer" in imported  # the parser -X importtime saw is the real one
    assert not imported & {"litellm", "scipy", "jinja2", "git", "duckdb", "deepdiff"}, sorted(imported)
    assert not (tmp_path / ".llmops").exists()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_command_prints_the_script(shell: str) -> None:
    r = run_cli("completion", shell)
    assert r.exit_code == 0, r.output
    assert "_LLMOPS_COMPLETE" in r.stdout and f"complete_{shell}" in r.stdout
    assert "install:" in r.stderr  # the how-to goes to stderr: `eval "$(llmops completion bash)"` stays clean


def test_completion_refuses_an_unknown_shell() -> None:
    r = run_cli("completion", "tcsh")
    assert r.exit_code == 2 and "tcsh" in r.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_real_bash_sources_the_script_and_completes(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "llmops"  # `llmops` on PATH, running this checkout
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO_ROOT}" exec "{sys.executable}" -m llmops_cli "$@"\n')
    shim.chmod(0o755)
    script = tmp_path / "complete.sh"
    script.write_text(
        'eval "$(llmops completion bash 2>/dev/null)"\n'
        'fn=$(complete -p llmops | sed -E "s/.*-F ([^ ]+) .*/\\1/")\n'
        'COMP_WORDS=(llmops eval ""); COMP_CWORD=2; "$fn" llmops "" eval; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_LLMOPS", "COMP_"))}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(["bash", "--norc", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert {"run", "gate", "compare", "merge"} <= set(proc.stdout.split()), proc.stdout + proc.stderr
