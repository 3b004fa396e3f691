"""The release covers the whole call: the content hash and the manifest include the resolved model, api_base,
the api_key_env NAME, params and the response format (and the offline stand-in). Tampering with any of them —
in a bundle's files, in a bundle's manifest, or in a tag's manifest — is refused with IntegrityError."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import IntegrityError
from llmops_cli.git import discover as open_repo
from llmops_cli.releases.bundle import build_bundle, write_bundle
from llmops_cli.releases.create import create_release
from llmops_cli.releases.loader import clear_cache, load_prompt
from tests.conftest import SAMPLE_GOLDEN, GitRepo, run_cli, write

NAME = "support/answer"
TAG = "prompts/support/answer/v1.0.0"
CONFIG = """
models:
  chat:
    model: openai/gpt-4o-mini-2024-07-18
    api_base: http://127.0.0.1:8000/v1
    api_key_env: VLLM_API_KEY
    offline: small
    params: {temperature: 0.2}
  small:
    model: local/smollm2
    params: {max_tokens: 64}
"""
PROMPT = """
model: chat
params: {max_tokens: 300, seed: 7}
inputs:
  question: {type: string}
output:
  format: json
  schema: {type: object, properties: {answer: {type: string}}, required: [answer]}
messages:
  - role: user
    content: "Q: {{ question }}"
"""
CONFIG_FILE = "llmops.yaml"
PROMPT_FILE = "prompts/support/answer.prompt.yaml"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    clear_cache()


@pytest.fixture
def released(tmp_git_repo: GitRepo) -> GitRepo:
    write(tmp_git_repo.root, CONFIG_FILE, CONFIG)
    write(tmp_git_repo.root, PROMPT_FILE, PROMPT)
    write(tmp_git_repo.root, "evals/support/answer.yaml", SAMPLE_GOLDEN.replace("context: [Refunds take 5 days.]", ""))
    tmp_git_repo.commit("prompt")
    create_release(NAME, root=tmp_git_repo.root, allow_no_gate=True)
    return tmp_git_repo


def test_manifest_records_the_whole_call(released: GitRepo) -> None:
    p = load_prompt(NAME, "1.0.0", root=released.root)
    message = released.git("tag", "-l", "--format=%(contents)", TAG)
    m = json.loads(message.split("\n\n", 1)[1])
    assert m["model"] == "openai/gpt-4o-mini-2024-07-18" and m["api_base"] == "http://127.0.0.1:8000/v1"
    assert m["api_key_env"] == "VLLM_API_KEY" and m["params"] == {"temperature": 0.2, "max_tokens": 300, "seed": 7}
    assert m["response_format"] == {"type": "json_object"}
    assert m["offline"] == {
        "model": "local/smollm2",
        "api_base": None,
        "api_key_env": None,
        "params": {"max_tokens": 64},
    }
    assert m["sha256"] == p.sha256 and p.call_fields() == {k: m[k] for k in p.call_fields()}
    # the hash covers the call target: the same prompt without api_base hashes differently
    assert p.hash_payload()["call"]["api_base"] == "http://127.0.0.1:8000/v1"
    assert p.legacy_sha256() != p.sha256


# -- bundles ------------------------------------------------------------------------------------------------


def _entry(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["prompts"][NAME]["releases"]["1.0.0"]


def _replace_in(path: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def tamper(entry: dict[str, Any]) -> None:
        text = entry["files"][path]
        assert old in text, old
        entry["files"][path] = text.replace(old, new, 1)

    return tamper


def _manifest(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def tamper(entry: dict[str, Any]) -> None:
        entry["manifest"][key] = value

    return tamper


def _param(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def tamper(entry: dict[str, Any]) -> None:
        entry["manifest"]["params"][key] = value

    return tamper


FILE_TAMPERS = {
    "model": _replace_in(CONFIG_FILE, "gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"),
    "api_base": _replace_in(CONFIG_FILE, "http://127.0.0.1:8000/v1", "https://collector.example/v1"),
    "api_key_env": _replace_in(CONFIG_FILE, "VLLM_API_KEY", "OPENAI_API_KEY"),
    "alias params": _replace_in(CONFIG_FILE, "temperature: 0.2", "temperature: 1.5"),
    "offline": _replace_in(CONFIG_FILE, "offline: small", "offline: chat"),
    "offline params": _replace_in(CONFIG_FILE, "max_tokens: 64", "max_tokens: 4000"),
    "prompt params max_tokens": _replace_in(PROMPT_FILE, "max_tokens: 300", "max_tokens: 4000"),
    "prompt params seed": _replace_in(PROMPT_FILE, "seed: 7", "seed: 8"),
    "response format": _replace_in(
        PROMPT_FILE,
        "format: json\n  schema: {type: object, properties: {answer: {type: string}}, required: [answer]}",
        "format: text",
    ),
}
MANIFEST_TAMPERS = {
    "model": _manifest("model", "openai/gpt-4o-2024-08-06"),
    "api_base": _manifest("api_base", "https://collector.example/v1"),
    "api_base removed": _manifest("api_base", None),
    "api_key_env": _manifest("api_key_env", "OPENAI_API_KEY"),
    "params temperature": _param("temperature", 1.5),
    "params max_tokens": _param("max_tokens", 4000),
    "params seed": _param("seed", 8),
    "params added": _param("top_p", 0.5),
    "response_format": _manifest("response_format", None),
    "offline": _manifest("offline", None),
}


def _bundle(repo: GitRepo) -> dict[str, Any]:
    return build_bundle(open_repo(repo.root), [(NAME, "1.0.0")])


@pytest.mark.parametrize("field", list(FILE_TAMPERS))
def test_bundle_files_tampered(released: GitRepo, tmp_path: Path, field: str) -> None:
    bundle = _bundle(released)
    FILE_TAMPERS[field](_entry(bundle))
    out = write_bundle(bundle, tmp_path / f"{field.replace(' ', '-')}.json")
    with pytest.raises(IntegrityError, match="does not match"):
        load_prompt(NAME, "1.0.0", bundle=out)


@pytest.mark.parametrize("field", list(MANIFEST_TAMPERS))
def test_bundle_manifest_tampered(released: GitRepo, tmp_path: Path, field: str) -> None:
    bundle = _bundle(released)
    MANIFEST_TAMPERS[field](_entry(bundle))
    out = write_bundle(bundle, tmp_path / f"{field.replace(' ', '-')}.json")
    key = field.split()[0]
    with pytest.raises(IntegrityError, match=f"manifest's {key}"):
        load_prompt(NAME, "1.0.0", bundle=out)


def test_bundle_with_an_added_api_base_and_the_original_hash_is_refused(released: GitRepo, tmp_path: Path) -> None:
    """The reported attack: point the alias at another server (and key variable), keep the sha256."""
    bundle = _bundle(released)
    entry = _entry(bundle)
    cfg = entry["files"][CONFIG_FILE]
    entry["files"][CONFIG_FILE] = cfg.replace("http://127.0.0.1:8000/v1", "https://collector.example/v1").replace(
        "VLLM_API_KEY", "OPENAI_API_KEY"
    )
    entry["manifest"]["api_base"] = "https://collector.example/v1"
    entry["manifest"]["api_key_env"] = "OPENAI_API_KEY"
    out = write_bundle(bundle, tmp_path / "attack.json")
    with pytest.raises(IntegrityError, match="sha256"):
        load_prompt(NAME, "1.0.0", bundle=out)
    res = run_cli("release", "show", f"{NAME}@1.0.0", "--bundle", str(out))
    assert res.exit_code == 2 and "refusing" in res.stderr and "Traceback" not in res.output


def test_untampered_bundle_loads(released: GitRepo, tmp_path: Path) -> None:
    out = write_bundle(_bundle(released), tmp_path / "ok.json")
    p = load_prompt(NAME, "1.0.0", bundle=out)
    assert p.call_fields()["api_base"] == "http://127.0.0.1:8000/v1"


# -- tag manifests ------------------------------------------------------------------------------------------


def _retag(repo: GitRepo, tamper: Callable[[dict[str, Any]], None]) -> None:
    message = repo.git("tag", "-l", "--format=%(contents)", TAG)
    title, _, body = message.partition("\n\n")
    entry = {"manifest": json.loads(body)}
    tamper(entry)
    target = repo.git("rev-parse", f"{TAG}^{{commit}}")
    repo.git(
        "tag", "-f", "-a", "--cleanup=verbatim", "-m", f"{title}\n\n{json.dumps(entry['manifest'])}\n", TAG, target
    )


@pytest.mark.parametrize("field", list(MANIFEST_TAMPERS))
def test_tag_manifest_tampered(released: GitRepo, field: str) -> None:
    load_prompt(NAME, "1.0.0", root=released.root)  # loads before
    commit = released.git("rev-parse", f"{TAG}^{{commit}}")
    _retag(released, MANIFEST_TAMPERS[field])
    assert released.git("rev-parse", f"{TAG}^{{commit}}") == commit  # same commit, only the manifest changed
    key = field.split()[0]
    with pytest.raises(IntegrityError, match=f"manifest's {key}"):
        load_prompt(NAME, "1.0.0", root=released.root, refresh=True)


# -- releases made before the call target was hashed ----------------------------------------------------------


def _as_legacy(entry: dict[str, Any], legacy_sha: str) -> None:
    m = entry["manifest"]
    for key in ("api_base", "api_key_env", "response_format", "offline"):
        m.pop(key)
    m["sha256"] = entry["sha256"] = legacy_sha


def test_old_release_whose_alias_sets_a_target_must_be_rereleased(released: GitRepo, tmp_path: Path) -> None:
    legacy = load_prompt(NAME, "1.0.0", root=released.root).legacy_sha256()
    bundle = _bundle(released)
    _as_legacy(_entry(bundle), legacy)
    out = write_bundle(bundle, tmp_path / "legacy.json")
    with pytest.raises(IntegrityError, match="re-release"):
        load_prompt(NAME, "1.0.0", bundle=out)


def test_old_release_of_a_plain_model_still_loads(tmp_git_repo: GitRepo, tmp_path: Path) -> None:
    """No api_base, api_key_env or offline: the hash is what llmops 0.1.0 computed, so old releases verify."""
    write(tmp_git_repo.root, CONFIG_FILE, "models:\n  chat: {model: openai/gpt-4o-mini-2024-07-18}\n")
    write(tmp_git_repo.root, PROMPT_FILE, PROMPT)
    tmp_git_repo.commit("plain")
    create_release(NAME, root=tmp_git_repo.root, allow_no_gate=True)
    p = load_prompt(NAME, "1.0.0", root=tmp_git_repo.root)
    assert "call" not in p.hash_payload() and p.legacy_sha256() == p.sha256
    bundle = build_bundle(open_repo(tmp_git_repo.root), [(NAME, "1.0.0")])
    _as_legacy(_entry(bundle), p.sha256)
    out = write_bundle(bundle, tmp_path / "old.json")
    assert load_prompt(NAME, "1.0.0", bundle=out).sha256 == p.sha256
    # …and is still refused when its content is changed to point elsewhere
    tampered = copy.deepcopy(bundle)
    _replace_in(CONFIG_FILE, "gpt-4o-mini-2024-07-18}", "gpt-4o-mini-2024-07-18, api_base: 'https://x.example'}")(
        _entry(tampered)
    )
    with pytest.raises(IntegrityError, match="hashes no call target"):
        load_prompt(NAME, "1.0.0", bundle=write_bundle(tampered, tmp_path / "old-tampered.json"))
