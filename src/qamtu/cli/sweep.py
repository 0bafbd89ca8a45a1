"""``qamtu sweep``: every combination of the varied scenario keys through the national chain (:mod:`qamtu.sweep`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from qamtu.cli._common import guarded
from qamtu.cli._output import with_json
from qamtu.cli._options import run_options
from qamtu.cli.national import _progress_bars, load_run_scenario
from qamtu.distributed import open_executor


def sweep_command(
    vary: list[str] = typer.Option(..., "--vary", help="(required) KEY=V1,V2,... (repeat): crews, "
                                   "sites_per_crew_month, monthly_budget, priority, deadline, threshold_dbm, "
                                   "probability, load, min_dl_mbps, resolution_m, candidate_spacing_m, method, or a "
                                   "dotted scenario key (engine.cell_load)."),
    out: Path = typer.Option(..., "--out", help="(required) Folder for sweep.csv, sweep.json, sweep.png (resumed)."),
    *, run: dict[str, Any],
) -> None:
    """Run every combination of the --vary values; plans are shared by combinations that differ only in schedule
    keys. One row of headline figures per combination (sweep.csv/json) and one chart (sweep.png); a rerun with the
    same --out skips the finished combinations."""
    from qamtu.sweep import parse_vary, run_sweep

    spec = parse_vary(vary)
    sc = load_run_scenario(run)
    bars, callback = _progress_bars()
    with bars, open_executor(run.get("dask")) as executor:
        result = run_sweep(sc, spec, out, executor=executor, progress=callback)
    typer.echo(f"Sweep: {out / 'sweep.csv'} ({len(result.rows)} combinations: {len(result.ran)} run, "
               f"{len(result.skipped)} already done; {result.city_stages} city stage(s) planned, "
               f"{result.links_reused} on reused links)")


def register(app: typer.Typer) -> None:
    summary = lambda kwargs: Path(kwargs["out"]) / "sweep.json"  # noqa: E731
    app.command("sweep")(guarded(with_json(run_options(sweep_command), summary)))
