"""The release manifest: what an annotated release tag's message records, and checking it.

A tag message is a one-line title, a blank line, then the manifest as JSON::

    llmops release support/answer 1.3.0

    {
      "schema": "llmops.release/1",
      "name": "support/answer",
      "version": "1.3.0",
      "sha256": "…",            # Prompt.sha256 of the released content
      "git_sha": "…",           # the commit the tag points at
      "model": "openai/gpt-4o-mini-2024-07-18", "model_name": "chat",
      "params": {…}, "api_base": null, "api_key_env": null, "response_format": null,
      "offline": {"model": "local/smollm2", "api_base": null, "api_key_env": null, "params": {…}} | null,
      "inputs": {"question": {"type": "string", "required": true}, …},
      "output": {"format": "json", "fields": {"answer": "string"}},
      "file": "prompts/support/answer.prompt.yaml",
      "previous": "1.2.0", "bump": "minor", "impact": "feature", "impact_reasons": […],
      "gate": {"verdict": "PASS", "source": "…", "git_sha": "…"} | null,
      "message": "…", "created_at": "…", "llmops_version": "…"
    }

The call fields (:data:`CALL_FIELDS`: model, api_base, api_key_env, params, response_format, offline) say
where the release's calls go, with which key variable and params; the content sha256 covers them too. A
manifest whose call fields differ from the content it describes is refused (:class:`IntegrityError`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import IntegrityError
from ..hashing import canonical_json
from ..records.base import RecordError, load_record
from ..records.releases import MANIFEST_SCHEMA, InputSummary, ManifestGate, OutputSummary, ReleaseManifest

if TYPE_CHECKING:
    from ..prompt import Prompt

__all__ = ["CALL_FIELDS", "MANIFEST_SCHEMA", "ReleaseManifest", "build_manifest", "parse_tag_message", "verify"]

# the tool fields are in a manifest only when the prompt declares them (older manifests have none)
CALL_FIELDS = (
    "model", "api_base", "api_key_env", "params", "response_format", "offline",
    "tools", "tool_choice", "parallel_tool_calls",
)  # fmt: skip


def schema_summary(prompt: Prompt) -> tuple[dict[str, InputSummary], OutputSummary]:
    """Inputs and output in brief: names, types, required flags, top-level output fields."""
    inputs = {
        k: InputSummary(type=v.type, required=v.is_required, **({"enum": v.enum} if v.enum else {}))
        for k, v in prompt.spec.inputs.items()
    }
    out: dict[str, Any] = {"format": prompt.spec.output.format}
    schema = prompt.spec.output.schema_
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        out["fields"] = {
            k: (v.get("type", "any") if isinstance(v, dict) else "any") for k, v in schema["properties"].items()
        }
        if isinstance(schema.get("required"), list):
            out["required"] = schema["required"]
    return inputs, OutputSummary(**out)


def build_manifest(
    prompt: Prompt, version: str, git_sha: str, *, gate: dict[str, Any] | None = None, **extra: Any
) -> ReleaseManifest:
    """The manifest of a new release of ``prompt`` (``extra``: previous, bump, impact, message, created_at…)."""
    inputs, output = schema_summary(prompt)
    return ReleaseManifest(
        name=prompt.name,
        version=version,
        sha256=prompt.sha256,
        git_sha=git_sha,
        **prompt.call_fields(),
        model_name=prompt.model_name,
        inputs=inputs,
        output=output,
        file=prompt.file,
        gate=ManifestGate(**gate) if gate is not None else None,
        **extra,
        llmops_version=__version__,
    )


def format_tag_message(manifest: ReleaseManifest) -> str:
    title = f"llmops release {manifest.name} {manifest.version}"
    return f"{title}\n\n{json.dumps(manifest.to_json(), indent=2, sort_keys=True, ensure_ascii=False, default=str)}\n"


def parse_tag_message(message: str, tag: str) -> ReleaseManifest:
    """The manifest in a release tag's message; :class:`IntegrityError` when there is none or it does not
    match :class:`~llmops_cli.records.releases.ReleaseManifest` (the error names the tag and the JSON path)."""
    _, _, body = message.partition("\n")
    start = body.find("{")
    if start < 0:
        raise IntegrityError(f"tag {tag} carries no release manifest (not made by `llmops release create`?)")
    try:
        data, _ = json.JSONDecoder().raw_decode(body[start:])
    except (json.JSONDecodeError, RecursionError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise IntegrityError(f"tag {tag}: release manifest is not valid JSON ({why})") from None
    if not isinstance(data, dict) or data.get("schema") != MANIFEST_SCHEMA:
        raise IntegrityError(f"tag {tag}: not an llmops release manifest")
    return read_manifest(data, f"tag {tag}")


def read_manifest(data: Any, where: str) -> ReleaseManifest:
    """A manifest (a tag's, a bundle's) as its record; :class:`IntegrityError` naming ``where`` and the path."""
    try:
        return load_record(ReleaseManifest, data, source=where)
    except RecordError as exc:
        raise IntegrityError(f"{where}: release manifest {exc.message}") from None


def verify(prompt: Prompt, manifest: ReleaseManifest, *, where: str, commit: str | None = None) -> None:
    """Refuse content that does not match its manifest (tampered bundle, re-pointed tag)."""
    if prompt.name != manifest.name:
        raise IntegrityError(f"{where}: manifest is for {manifest.name!r}, not {prompt.name!r}")
    if commit is not None and manifest.git_sha != commit:
        raise IntegrityError(
            f"{where}: tag points at commit {commit[:12]} but was released from "
            f"{manifest.git_sha[:12]} — the tag was moved; refusing to load it"
        )
    call = prompt.call_fields()
    recorded = {k: getattr(manifest, k) for k in CALL_FIELDS if k in manifest.model_fields_set}
    differ = [k for k, v in recorded.items() if canonical_json(v) != canonical_json(call.get(k))]
    if prompt.sha256 != manifest.sha256:
        if not manifest.has_call_target() and prompt.legacy_sha256() == manifest.sha256:
            raise IntegrityError(
                f"{where}: its manifest (llmops 0.1.0) hashes no call target, but this content sets the model's "
                "api_base, api_key_env or offline stand-in, which may have been added since — refusing to load "
                "it; re-release the prompt (llmops release create) to cover the target"
            )
        also = f" (the call differs too: {', '.join(differ)})" if differ else ""
        raise IntegrityError(
            f"{where}: content sha256 {prompt.sha256[:16]}… does not match the released "
            f"{manifest.sha256[:16]}…{also} — refusing to load modified content"
        )
    if differ:
        key = differ[0]
        raise IntegrityError(
            f"{where}: the manifest's {key} ({_short(recorded[key])}) differs from the released content's "
            f"({_short(call.get(key))}) — refusing to load it"
        )


def _short(value: Any) -> str:
    text = canonical_json(value)
    return text if len(text) <= 80 else text[:77] + "..."
