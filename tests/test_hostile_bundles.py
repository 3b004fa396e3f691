"""Hostile release bundles (``prompts.lock.json``): serving code loads them, so a malformed or booby-trapped
bundle must end in :class:`IntegrityError` (exit 2 from the CLI), never another exception, a hang or a
``RecursionError`` — whatever part of the file was changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import IntegrityError
from llmops_cli.releases.bundle import write_bundle
from llmops_cli.releases.loader import clear_cache, load_prompt
from tests.conftest import GitRepo, run_cli
from tests.test_release_integrity import NAME, _bundle, released  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _fresh() -> None:
    clear_cache()


def _rel(b: dict[str, Any]) -> dict[str, Any]:
    return b["prompts"][NAME]["releases"]["1.0.0"]


Tamper = Callable[[dict[str, Any]], None]
SHAPE: dict[str, Tamper] = {
    "channels-string": lambda b: b["prompts"][NAME].__setitem__("channels", "production"),
    "channels-list": lambda b: b["prompts"][NAME].__setitem__("channels", [{}]),
    "channel-version-object": lambda b: b["prompts"][NAME].__setitem__("channels", {"production": {}}),
    "releases-list": lambda b: b["prompts"][NAME].__setitem__("releases", []),
    "release-null": lambda b: b["prompts"][NAME]["releases"].__setitem__("1.0.0", None),
    "files-null": lambda b: _rel(b).__setitem__("files", None),
    "file-text-bool": lambda b: _rel(b)["files"].__setitem__("llmops.yaml", True),
    "file-text-object": lambda b: _rel(b)["files"].__setitem__("llmops.yaml", {}),
    "prompt-file-null": lambda b: _rel(b)["files"].__setitem__("prompts/support/answer.prompt.yaml", None),
    "manifest-list": lambda b: _rel(b).__setitem__("manifest", []),
    "entry-string": lambda b: b["prompts"].__setitem__(NAME, "x"),
}


@pytest.mark.parametrize("name", list(SHAPE))
@pytest.mark.parametrize("spec", ["1.0.0", "latest", "production"])
def test_malformed_bundle_is_an_integrity_error(released: GitRepo, tmp_path: Path, name: str, spec: str) -> None:  # noqa: F811
    bundle = _bundle(released)
    SHAPE[name](bundle)
    out = write_bundle(bundle, tmp_path / "b.json")
    with pytest.raises(IntegrityError):
        load_prompt(NAME, spec, bundle=out)


def _text(released: GitRepo) -> str:  # noqa: F811
    return json.dumps(_bundle(released))


RAW: dict[str, Callable[[str], str]] = {
    "nan": lambda t: t.replace('"format":', '"x": NaN, "format":', 1),
    "infinity": lambda t: t.replace('"format":', '"x": -Infinity, "format":', 1),
    "overflow": lambda t: t.replace('"format":', '"x": 1e999, "format":', 1),
    "huge-int": lambda t: t.replace('"format":', '"x": ' + "7" * 10_000 + ', "format":', 1),
    "duplicate-format": lambda t: t.replace('"format":', '"format": "other", "format":', 1),
    "duplicate-prompt": lambda t: t.replace('"prompts": {', '"prompts": {"' + NAME + '": {}, ', 1),
    "deep-100000": lambda t: t.replace('"format":', '"x": ' + "[" * 100_000 + "]" * 100_000 + ', "format":', 1),
    "deep-500": lambda t: t.replace('"format":', '"x": ' + '{"a":' * 500 + "0" + "}" * 500 + ', "format":', 1),
    "truncated": lambda t: t[: len(t) // 2],
}


@pytest.mark.parametrize("name", list(RAW))
def test_hostile_bundle_text_is_an_integrity_error(released: GitRepo, tmp_path: Path, name: str) -> None:  # noqa: F811
    out = tmp_path / "b.json"
    out.write_text(RAW[name](_text(released)), encoding="utf-8")
    with pytest.raises(IntegrityError, match=r"b\.json"):
        load_prompt(NAME, "1.0.0", bundle=out)


def test_hostile_bundle_through_the_cli_is_exit_2(released: GitRepo, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "b.json"
    out.write_text(RAW["deep-100000"](_text(released)), encoding="utf-8")
    r = run_cli("release", "show", f"{NAME}@1.0.0", "--bundle", str(out))
    assert r.exit_code == 2 and "b.json" in r.stderr and "Traceback" not in r.output, r.output
