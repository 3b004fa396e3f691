"""``llmops init`` and ``llmops schema``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import output

SOURCE_HELP = (
    "Where the PR workflow installs llmops from, pinned: git+https://HOST/OWNER/REPO@<40-hex commit>, "
    "https://…/llmops_cli-….whl#sha256=<64 hex>, or a hash-pinned lock file (every line NAME==VERSION "
    "--hash=sha256:…). Default: the pinned source this llmops was installed from, if pip recorded one."
)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("schema")(schema)


def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    llmops_source: Annotated[
        str | None, typer.Option("--llmops-source", metavar="PINNED", help=SOURCE_HELP, show_default=False)
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(
            "--action",
            metavar="OWNER/REPO@COMMIT",
            help="Write the PR workflow that `uses:` the llmops GitHub Action pinned to this full 40-hex commit "
            "(it installs that same llmops) instead of the workflow that pip-installs a pinned source.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Scaffold llmops.yaml, prompts/, evals/, the prompt schema and CI workflows (llmops pinned for CI)."""
    from ..scaffolding import REQUIREMENTS_FILE, init_project

    result = init_project(directory, force=force, source=llmops_source, action=action)
    for rel in result.created:
        output.print_text(f"created  {directory / rel}")
    for rel in result.skipped:
        output.info(f"kept     {directory / rel} (exists; --force overwrites)")
    if result.source is None and result.action is None:
        output.warning(
            f"{REQUIREMENTS_FILE}: no pinned llmops source known; the PR workflow fails at its install step "
            "until you pin one (rerun with --llmops-source, see the comments in that file)"
        )
    output.info("next: llmops prompt list · llmops prompt render <name> --case <id> · llmops prompt lint")


def schema(
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Update the project's schemas/prompt.schema.json instead of printing; exit 1 when it was out of "
            "date (the llmops-schema pre-commit hook).",
        ),
    ] = False,
) -> None:
    """Print the JSON Schema of the prompt file (also in schemas/prompt.schema.json)."""
    if write:
        from ..errors import CheckFailed
        from ..root import find_root
        from ..scaffolding import SCHEMA_FILE, sync_schema_file
        from .state import STATE

        if sync_schema_file(find_root(STATE.root)):
            raise CheckFailed(f"{SCHEMA_FILE} was out of date for this llmops: rewritten (stage it)")
        output.info(f"{SCHEMA_FILE} is up to date")
        return
    from ..spec import prompt_json_schema

    output.print_json(prompt_json_schema())
