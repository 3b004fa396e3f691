"""docs/cli.md is the command reference generated from the typer app (``python -m llmops_cli.cli.docs``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from llmops_cli.cli.docs import reference

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "cli.md"
REGENERATE = "python -m llmops_cli.cli.docs > docs/cli.md"


def _leaf_commands() -> list[str]:
    import typer.main

    from llmops_cli.cli.app import app

    root = typer.main.get_command(app)
    ctx = root.context_class(root, info_name="llmops")
    out = []

    def walk(cmd, ctx, path):  # type: ignore[no-untyped-def]
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                walk(sub, sub.context_class(sub, info_name=name, parent=ctx), (*path, name))
        else:
            out.append(" ".join(("llmops", *path)))

    walk(root, ctx, ())
    return out


def test_docs_cli_md_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == reference(), (
        f"docs/cli.md does not match the commands; regenerate it: {REGENERATE} (then review git diff docs/cli.md)"
    )


def test_every_command_has_a_section_with_usage_and_exit_codes() -> None:
    text = reference()
    leaves = _leaf_commands()
    assert len(leaves) >= 20, leaves
    for cmd in leaves:
        section = text.split(f"# {cmd}\n", 1)[1].split("\n#", 1)[0]
        assert f"```text\n{cmd} [OPTIONS]" in section, cmd
        assert "Exit codes: 0, " in section and section.rstrip().endswith("2, 3."), cmd
    assert "| `--fail-on <fail\\|warn>` | Exit 1 on FAIL only (default) or on WARN too. [default: fail] |" in text
    assert "Exit codes: 0, 1, 2, 3." in text.split("# llmops prompt lint\n", 1)[1].split("\n#", 1)[0]
    assert "Exit codes: 0, 2, 3." in text.split("# llmops prompt list\n", 1)[1].split("\n#", 1)[0]


def test_the_module_prints_the_reference_whatever_the_terminal(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "33", "TERM": "xterm-256color", "FORCE_COLOR": "1"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_cli.cli.docs"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == reference()


def test_a_changed_command_changes_the_reference() -> None:
    """The comparison can fail: a new command, option or help text shows up in the generated text."""
    app = typer.Typer(help="Top [bold]help[/].")
    sub = typer.Typer(help="A group.")
    app.add_typer(sub, name="grp")

    @sub.command("go")
    def go(
        n: int = typer.Option(3, "--n", help="How many | pipes."), flag: bool = typer.Option(False, help="x")
    ) -> None:
        """Do it; exit 1 when it fails.

        Forms

          go --n 2    twice
        """

    text = reference(app)
    assert "Top help." in text and "[bold]" not in text
    assert "#### llmops grp go" in text and "```text\nllmops grp go [OPTIONS]\n```" in text
    assert "| `--n <int>` | How many \\| pipes. [default: 3] |" in text, text
    assert "```text\n  go --n 2    twice\n```" in text
    assert "Exit codes: 0, 1, 2, 3." in text
    assert "| [`llmops grp go`](#llmops-grp-go) | Do it; exit 1 when it fails. |" in text


def test_commands_a_group_loads_lazily_are_documented() -> None:
    """A group that builds its commands only when asked (``list_commands`` / ``get_command``) is walked too."""
    import typer.core
    import typer.main

    def late() -> None:
        """Loaded on demand."""

    class LazyGroup(typer.core.TyperGroup):
        def list_commands(self, ctx):  # type: ignore[no-untyped-def]
            return [*super().list_commands(ctx), "late"]

        def get_command(self, ctx, name):  # type: ignore[no-untyped-def]
            if name == "late":
                lazy = typer.Typer()
                lazy.command("late")(late)
                return typer.main.get_command(lazy)
            return super().get_command(ctx, name)

    app = typer.Typer(cls=LazyGroup, help="Lazy.", add_completion=False)

    @app.callback()
    def root() -> None:
        """Root."""

    @app.command("now")
    def now() -> None:
        """Registered up front."""

    text = reference(app)
    assert "### llmops now" in text and "### llmops late" in text and "Loaded on demand." in text
