"""The command-line interface: thin typer commands over the core library.

Only this subpackage imports typer and rich. Each command parses its arguments, calls the core,
and renders the result through :mod:`llmops_cli.cli.output`.
"""

from .. import settings as _settings

# Start-up time is a feature: pydantic scans every installed distribution's entry points for
# plugins on first use (~15-25 ms). The CLI uses none; a user who needs one can set the variable.
_settings.PYDANTIC_DISABLE_PLUGINS.set_default("__all__")
