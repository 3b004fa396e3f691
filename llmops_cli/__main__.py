"""``python -m llmops_cli`` runs the CLI."""

from llmops_cli.cli.app import main

main()
