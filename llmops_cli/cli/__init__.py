"""The command-line interface: thin typer commands over the core library.

Only this subpackage imports typer and rich. Each command parses its arguments, calls the core,
and renders the result through :mod:`llmops_cli.cli.output`.
"""
