"""The ``qamtu`` Typer application: every command group registers itself here."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="qamtu",
    help="qamtu: predict, plan, schedule and audit 5G (NR n78) coverage of Kazakhstan's 20 regional centres.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Command modules; each defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = (
    "qamtu.cli.calc",  # pathloss, datarate, antenna (issue: radio physics)
    "qamtu.cli.coverage",  # cities, coverage, reference-run (issue: coverage engine, geo and outputs)
    "qamtu.cli.calib3gpp",  # calibrate-3gpp (issue: coverage engine, 3GPP calibration)
    "qamtu.cli.plan",  # plan (issue: site planning)
    "qamtu.cli.national",  # national, schedule (issue: rollout and report)
    "qamtu.cli.audit",  # audit, calibrate (issue: quality audit)
    "qamtu.cli.simulate",  # simulate-measurements (issue 11: synthetic drive test from the model)
)

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a group still being written: skip it, but only if it is that module
        if exc.name != _name:
            raise
        continue
    _module.register(app)


@app.callback()
def _root() -> None:
    """qamtu: predict, plan, schedule and audit 5G coverage of Kazakhstan's regional centres."""


def main() -> None:
    """Console-script entry point: usage errors become one line on stderr and exit code 2."""
    import sys

    try:  # Typer >= 0.20 vendors Click as typer._click; older Typer uses Click itself
        from typer._click import exceptions as click_exceptions
    except ImportError:  # pragma: no cover - depends on the installed Typer
        from click import exceptions as click_exceptions

    try:
        code = app(standalone_mode=False, prog_name="qamtu")
    except getattr(click_exceptions, "NoArgsIsHelpError", ()) as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx is not None else "qamtu --help")
        sys.exit(0)
    except click_exceptions.UsageError as exc:
        path = exc.ctx.command_path if exc.ctx is not None else "qamtu"
        typer.echo(f"Error: {exc.format_message()} (see '{path} --help')", err=True)
        sys.exit(exc.exit_code)
    except click_exceptions.ClickException as exc:
        typer.echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
