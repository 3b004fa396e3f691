"""``llmops init`` and ``llmops schema``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import output


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("schema")(schema)


def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Scaffold llmops.yaml, prompts/, evals/ and CI workflows."""
    from ..scaffolding import init_project

    result = init_project(directory, force=force)
    for rel in result.created:
        output.print_text(f"created  {directory / rel}")
    for rel in result.skipped:
        output.info(f"kept     {directory / rel} (exists; --force overwrites)")
    output.info("next: llmops prompt list · llmops prompt render <name> --case <id> · llmops prompt lint")


def schema() -> None:
    """Print the JSON Schema of the prompt file (also in schemas/prompt.schema.json)."""
    from ..spec import prompt_json_schema

    output.print_json(prompt_json_schema())
