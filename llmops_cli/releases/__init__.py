"""Releases: immutable semver tags per prompt, channels, bundles, and ``load_prompt`` for serving code.

Modules: versions and ranges live in :mod:`llmops_cli.versions`, the tag scheme (``prompts/<name>/v<semver>``) in
:mod:`llmops_cli.tagnames` (below ``git`` and ``diff``, which use them too);
:mod:`.manifest` (what a tag records), :mod:`.channels` (production/staging pointers),
:mod:`.gate_record` (the gate verdict a release needs), :mod:`.bundle` (``prompts.lock.json``),
:mod:`.loader` (``load_prompt``), :mod:`.create` (``llmops release create/promote``).
Nothing is imported here, so ``from llmops_cli import load_prompt`` stays light.
"""
