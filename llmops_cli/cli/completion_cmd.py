"""``llmops completion SHELL``: the shell completion script (bash, zsh, fish), and the hook that answers it.

The script calls ``llmops`` back with ``_LLMOPS_COMPLETE=complete_<shell>`` set; :func:`enable` registers
typer's shell classes for that call only, so a plain run never loads them. Completion walks the command tree
that ``app`` builds from the command modules, whose heavy imports (litellm, the gate's statistics) happen
inside the commands: a completion request loads none of them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from .. import settings
from . import output

COMPLETE_VAR = settings.COMPLETE.name

INSTALL = {
    "bash": 'eval "$(llmops completion bash)"   # in ~/.bashrc (bash ≥ 4.4)',
    "zsh": 'eval "$(llmops completion zsh)"    # in ~/.zshrc, after compinit',
    "fish": "llmops completion fish > ~/.config/fish/completions/llmops.fish",
}


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def requested() -> bool:
    """Is this process a completion request from the shell script?"""
    return settings.COMPLETE.present()


def enable() -> None:
    """Register the shells typer completes for (done only for a completion request)."""
    from typer.completion import completion_init  # type: ignore[attr-defined]  # re-exported by typer

    completion_init()


def register(app: typer.Typer) -> None:
    app.command("completion")(completion)


def completion(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the shell completion script for commands, options and their choices.

    bash: eval "$(llmops completion bash)" in ~/.bashrc · zsh: eval "$(llmops completion zsh)" in ~/.zshrc ·
    fish: llmops completion fish > ~/.config/fish/completions/llmops.fish
    """
    from typer.completion import get_completion_script  # type: ignore[attr-defined]  # re-exported by typer

    output.print_text(get_completion_script(prog_name="llmops", complete_var=COMPLETE_VAR, shell=shell.value))
    output.info(f"install: {INSTALL[shell.value]}")
