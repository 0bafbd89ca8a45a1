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
    "qamtu.cli.profile",  # profile (issue 12: terrain)
    "qamtu.cli.sweep",  # sweep (issue 16: scale-out on Dask)
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def _version(value: bool) -> None:
    if value:
        from qamtu import __version__

        typer.echo(f"qamtu {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                 help="Print the version and exit."),
) -> None:
    """qamtu: predict, plan, schedule and audit 5G coverage of Kazakhstan's regional centres."""


class Interrupted(BaseException):
    """Raised by the signal handlers of :func:`main` (a BaseException, so no ``except Exception`` swallows it;
    every ``finally`` and the output folders' clean-up still run)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def main() -> None:
    """Console-script entry point: usage errors become one line on stderr and exit code 2; SIGINT (Ctrl-C) and
    SIGTERM stop the run with one line and exit 130 / 143, leaving earlier outputs as they were."""
    import signal
    import sys

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    try:
        _main()
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        typer.echo(f"Interrupted ({name}): stopped; earlier output folders are unchanged", err=True)
        sys.exit(128 + exc.signum)


def _main() -> None:
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
