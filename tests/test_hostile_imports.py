"""An imported project's ``file://`` references never reach ``.git``: run at a repository's root, a promptfoo
config naming ``file://.git/config`` would otherwise copy the token ``actions/checkout`` persists there into a
prompt file. Direct references are refused; globs skip ``.git``."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from llmops_cli.errors import PromptFileError
from tests.conftest import write
from tests.test_importers import do_import

TOKEN = "AUTHORIZATION: basic CANARY-GIT-TOKEN"


@pytest.mark.parametrize("ref", ["file://.git/config", "file://./.git/config", "file://sub/../.git/config"])
def test_file_reference_into_git_is_refused(tmp_path: Path, ref: str) -> None:
    src = tmp_path / "repo"
    write(src, ".git/config", f"[http]\n\textraheader = {TOKEN}\n")
    (src / "sub").mkdir()
    write(src, "promptfooconfig.yaml", f'prompts: ["{ref}"]\nproviders: [openai:gpt-4o-2024-08-06]\n')
    with pytest.raises(PromptFileError) as exc:
        do_import(src, "promptfoo", ["promptfooconfig.yaml"], tmp_path / "out")
    assert ".git" in exc.value.message and exc.value.file == "promptfooconfig.yaml"
    out = tmp_path / "out"
    assert not any("CANARY" in p.read_text() for p in out.rglob("*") if p.is_file())


def test_glob_skips_git(tmp_path: Path) -> None:
    src = tmp_path / "repo"
    write(src, ".git/config", f"[http]\n\textraheader = {TOKEN}\n")
    write(src, "prompts/a.txt", "Answer {{question}}\n")
    write(src, "promptfooconfig.yaml", 'prompts: ["file://**/*"]\nproviders: [openai:gpt-4o-2024-08-06]\n')
    with contextlib.suppress(PromptFileError):  # refusing the glob is fine too: nothing from .git may be written
        do_import(src, "promptfoo", ["promptfooconfig.yaml"], tmp_path / "out")
    out = tmp_path / "out"
    assert not any("CANARY" in p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
