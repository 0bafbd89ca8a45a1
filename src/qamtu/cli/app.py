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
    """Console-script entry point."""
    app()
