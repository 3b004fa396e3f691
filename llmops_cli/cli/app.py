"""Root of the CLI: global options, command groups, and the one place exceptions become exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .._version import __version__
from ..errors import EXIT_INTERNAL, EXIT_USAGE, LlmopsError, exit_code_for
from ..redact import redacted_std_streams
from . import output
from .state import STATE

app = typer.Typer(
    name="llmops",
    help="Prompts as code: render, lint, diff, evaluate, gate and release LLM prompts from git.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        output.print_text(f"llmops {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    root: Annotated[
        Path | None,
        typer.Option("-C", "--root", help="Project root (default: found from the current directory)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug detail.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    STATE.root = root
    STATE.verbose = verbose


def _register() -> None:
    from . import (
        attack_cmd,
        completion_cmd,
        diff_cmd,
        eval_cmd,
        gate_cmd,
        import_cmd,
        init_cmd,
        judge_cmd,
        prompt_cmd,
        release_cmd,
        usage_cmd,
    )

    diff_cmd.register(prompt_cmd.app)
    app.add_typer(prompt_cmd.app, name="prompt")
    gate_cmd.register(eval_cmd.app)
    attack_cmd.register(eval_cmd.app)
    app.add_typer(eval_cmd.app, name="eval")
    app.add_typer(release_cmd.app, name="release")
    app.add_typer(import_cmd.app, name="import")
    init_cmd.register(app)
    app.add_typer(usage_cmd.app, name="usage")
    app.add_typer(judge_cmd.app, name="judge")
    completion_cmd.register(app)


_register()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Maps every outcome to an exit code (0/1/2/3) in one place."""
    args = sys.argv[1:] if argv is None else argv
    STATE.verbose = "--verbose" in args or "-v" in args
    with redacted_std_streams():  # warnings, logging, libraries' prints: no key reaches the terminal
        code = _run(args)
    if argv is None:
        sys.exit(code)
    return code


def _run(args: list[str]) -> int:
    from . import completion_cmd

    if completion_cmd.requested():  # the completion script calling back: answer it, run nothing
        completion_cmd.enable()
        app(args=args, prog_name="llmops", complete_var=completion_cmd.COMPLETE_VAR)
    try:
        rv = app(args=args, prog_name="llmops", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except (typer.Exit, typer.Abort) as exc:
        code = getattr(exc, "exit_code", 130)
        if isinstance(exc, typer.Abort):
            output.error("aborted")
    except LlmopsError as exc:
        if STATE.verbose:
            output.err().print_exception()
        output.error(output.user_error_line(exc))
        code = exit_code_for(exc)
    except Exception as exc:
        if _is_click_usage_error(exc):  # typer vendors click; match by shape, not by import path
            output.error(exc.format_message())  # type: ignore[attr-defined]
            hint = _usage_hint(exc)
            if hint:
                output.info(hint)
            code = EXIT_USAGE
        elif type(exc).__name__ in ("Exit", "Abort") and hasattr(exc, "exit_code"):
            code = exc.exit_code
        else:  # a bug: say so, hide the traceback unless --verbose
            if STATE.verbose:
                output.err().print_exception()
            output.error(f"internal error: {type(exc).__name__}: {exc} (rerun with --verbose for the traceback)")
            code = EXIT_INTERNAL
    except KeyboardInterrupt:
        output.error("interrupted")
        code = 130
    return code


def _is_click_usage_error(exc: BaseException) -> bool:
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


def _usage_hint(exc: object) -> str | None:
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return None
    return f"Try '{ctx.command_path} --help' for help."
