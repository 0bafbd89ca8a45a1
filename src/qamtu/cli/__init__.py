"""The ``qamtu`` command line (Typer). One module per command group; only this package turns errors into exit codes."""
