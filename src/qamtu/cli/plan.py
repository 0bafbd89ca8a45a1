"""``qamtu plan``: choose the cheapest candidate sites that meet a city's coverage targets (see :mod:`qamtu.plan`).

A thin wrapper over :func:`qamtu.plan.record.run_request` and :func:`qamtu.plan.outputs.write_plan_outputs`; maps
are drawn with :func:`qamtu.report.maps.plot_metric_png`. Exit codes: 0 targets met, 3 the run completed but the
targets are not met (the best plan found is still written), 2 bad input.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import typer

from qamtu.cli._common import EXIT_TARGETS_NOT_MET, echo_json, fail, guarded
from qamtu.cli._geo_options import dem_option, landcover_option
from qamtu.cli.national import DASK_HELP
from qamtu.distributed import open_executor


def _num(value: Optional[str], option: str, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False) -> Optional[float]:
    if value is None:
        return None
    try:
        x = float(value)
    except ValueError:
        fail(f"{option} must be a number, got {value!r}")
    if not math.isfinite(x):
        fail(f"{option} must be a finite number, got {value!r}")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        fail(f"{option} = {value} is not allowed; it must be {'>' if lo_open else '>='} {lo:g}"
             + (f" and <= {hi:g}" if hi is not None else ""))
    if hi is not None and x > hi:
        fail(f"{option} = {value} is not allowed; it must be <= {hi:g}")
    return x


def _ids(text: Optional[str]) -> list[str]:
    if not text:
        return []
    return [p.strip() for p in text.split(",") if p.strip()]


def _map_fn():
    """Coverage map drawer: the report's map if available, else the planner's own simple map."""
    try:
        from qamtu.report.maps import plot_metric_png
    except ImportError:
        return None

    def draw(result: Any, area: Any, path: Path, sites: Any, title: str) -> Any:
        return plot_metric_png(result, area, "covered", path, sites=sites)

    return draw


def plan_job(req: Any, folder: str, say: Any = None) -> tuple[dict[str, Any], list[Any], bool]:
    """Run a plan request and write its outputs to ``folder``: (summary, site ids, targets met).

    A module-level function so that ``--dask`` runs it on a worker (which then writes ``folder``)."""
    from qamtu.plan.outputs import write_plan_outputs
    from qamtu.plan.record import run_request

    plan = run_request(req, progress=say)
    write_plan_outputs(plan, folder, map_fn=_map_fn())
    return plan.summary, list(plan.sites["site_id"]), bool(plan.targets_met)


def register(app: typer.Typer) -> None:
    """Add the ``plan`` command to ``app``."""

    @app.command("plan")
    @guarded
    def plan_cmd(
        city: Optional[str] = typer.Option(None, "--city", help="City id from `qamtu cities` (e.g. taraz)."),
        out: Path = typer.Option(..., "--out", help="Output folder."),
        candidates: Optional[Path] = typer.Option(
            None, "--candidates", help="Candidate sites (CSV/GeoJSON, one row per sector, with a cost per site and an "
            "optional decision column lock/exclude)."),
        existing: Optional[Path] = typer.Option(
            None, "--existing", help="Existing on-air 5G sites (site table): cost 0, always in."),
        target_territory: Optional[str] = typer.Option(
            None, "--target-territory", help="Share of the territory to cover, (0, 1]. Default: 0.75 for Astana, "
            "Almaty, Shymkent, 0.60 for the other regional centres (licence obligation)."),
        target_population: Optional[str] = typer.Option(
            None, "--target-population", help="Share of the population to cover, (0, 1]. Default: the territory "
            "target (people first)."),
        territory_only: bool = typer.Option(
            False, "--territory-only", help="No population target unless --target-population is given (the licence "
            "obligation alone; by default the plan also serves the territory target's share of the people)."),
        min_dl_mbps: Optional[str] = typer.Option(None, "--min-dl-mbps",
                                                  help="DL rate a covered pixel needs, Mbit/s (default 50)."),
        coverage_level: Optional[str] = typer.Option(
            None, "--coverage-level", help="SS-RSRP coverage probability a covered pixel needs (default 0.9)."),
        cell_load: Optional[str] = typer.Option(None, "--cell-load", help="Cell load, 0..1 (default 0.5)."),
        budget: Optional[str] = typer.Option(None, "--budget", help="Upper bound on the plan's total cost."),
        method: str = typer.Option(
            "milp", "--method", help="milp (swap search + HiGHS, with a proven bound) or greedy (CELF lazy greedy "
            "polished by 5,000 swap moves; fast)."),
        resolution_m: str = typer.Option("25", "--resolution-m", help="Grid resolution, m."),
        lattice_spacing_m: Optional[str] = typer.Option(
            None, "--lattice-spacing-m", help="Also generate 3-sector candidates on a uniform hexagonal lattice at "
            "this spacing, m (default without --candidates: one lattice per environment class, spacing from the "
            "link budget and the capacity)."),
        sites_4g: Optional[Path] = typer.Option(
            None, "--sites-4g", help="4G sites (site table) as co-location candidates at a reduced cost."),
        colocation_cost_factor: str = typer.Option(
            "0.5", "--colocation-cost-factor", help="Cost of a co-located site as a share of --lattice-cost, [0, 1]."),
        no_capacity: bool = typer.Option(
            False, "--no-capacity", help="Skip the capacity stage (sites added where busy-hour demand exceeds a "
            "sector's capacity; default demand model of qamtu.plan.capacity)."),
        lattice_cost: str = typer.Option("1", "--lattice-cost", help="Cost of each generated site (default 1)."),
        lock: Optional[str] = typer.Option(None, "--lock", help="Site ids to lock in, comma-separated."),
        exclude: Optional[str] = typer.Option(None, "--exclude", help="Site ids to rule out, comma-separated."),
        boundary: Optional[Path] = typer.Option(None, "--boundary", help="City boundary (GeoJSON/GPKG/SHP)."),
        population: Optional[Path] = typer.Option(None, "--population", help="Population raster (GeoTIFF)."),
        dem: Optional[str] = dem_option(),
        landcover: Optional[Path] = landcover_option(),
        calibration: Optional[Path] = typer.Option(None, "--calibration",
                                                   help="Path-loss calibration JSON (qamtu calibrate)."),
        max_cutoff_m: Optional[str] = typer.Option(
            None, "--max-cutoff-m", help="Cap the engine's link cut-off, m (faster, slightly optimistic SINR)."),
        demand_block_m: Optional[str] = typer.Option(
            None, "--demand-block-m", help="Optimise on square demand blocks of this side, m (faster on fine grids, "
            "approximate; the engine check stays per pixel). Default: pixels grouped exactly by coverage signature."),
        decisions: Optional[Path] = typer.Option(
            None, "--decisions", help="Decisions file (CSV: site_id, decision accept/reject/lock, reason, who, date): "
            "the plan honours it; plan.json and decisions.csv say where it overruled the optimiser and what it cost."),
        time_limit_s: str = typer.Option("60", "--time-limit-s", help="Time limit of the MILP (swap search, bounds and HiGHS) per solve, s."),
        mip_gap: str = typer.Option("0.005", "--mip-gap", help="HiGHS relative MIP gap."),
        from_plan: Optional[Path] = typer.Option(
            None, "--from-plan", help="Re-run the plan recorded in a plan.json (its input files must be unchanged)."),
        json_out: bool = typer.Option(False, "--json", help="Print summary.json on stdout."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress lines on stderr."),
        dask: Optional[str] = typer.Option(None, "--dask", help=DASK_HELP.replace("the cities", "the plan")),
    ) -> None:
        """Plan the fewest, cheapest sites that meet the city's coverage targets, checked by the full engine."""
        from qamtu.fileio import check_output_folder, output_folder
        from qamtu.plan.outputs import SUMMARY_KEYS
        from qamtu.plan.record import PlanRequest, read_plan_file, request_from_record

        check_output_folder(out)

        if from_plan is not None:
            doc = read_plan_file(from_plan)
            req = request_from_record(doc, str(from_plan))
            recorded = doc.get("result", {}).get("sites")
        else:
            if city is None:
                fail("--city is required (or --from-plan FILE)")
            if method not in ("milp", "greedy"):
                fail(f"--method must be milp or greedy, got {method!r}")
            req = PlanRequest(
                city=city,
                resolution_m=_num(resolution_m, "--resolution-m", 1.0, 5000.0),
                candidates=None if candidates is None else str(candidates),
                existing=None if existing is None else str(existing),
                boundary=None if boundary is None else str(boundary),
                population=None if population is None else str(population),
                dem=dem, landcover=None if landcover is None else str(landcover),
                calibration=None if calibration is None else str(calibration),
                lattice_spacing_m=_num(lattice_spacing_m, "--lattice-spacing-m", 50.0, 20000.0),
                lattice_cost=_num(lattice_cost, "--lattice-cost", 0.0),
                lock=_ids(lock), exclude=_ids(exclude),
                target_territory=_num(target_territory, "--target-territory", 0.0, 1.0, lo_open=True),
                target_population=_num(target_population, "--target-population", 0.0, 1.0, lo_open=True),
                people_first=not territory_only,
                decisions=None if decisions is None else str(decisions),
                sites_4g=None if sites_4g is None else str(sites_4g),
                colocation_cost_factor=_num(colocation_cost_factor, "--colocation-cost-factor", 0.0, 1.0),
                capacity=not no_capacity,
                min_dl_mbps=_num(min_dl_mbps, "--min-dl-mbps", 0.0),
                coverage_level=_num(coverage_level, "--coverage-level", 0.0, 1.0),
                cell_load=_num(cell_load, "--cell-load", 0.0, 1.0),
                max_cutoff_m=_num(max_cutoff_m, "--max-cutoff-m", 0.0, lo_open=True),
                budget=_num(budget, "--budget", 0.0),
                method=method,
                time_limit_s=_num(time_limit_s, "--time-limit-s", 0.0, lo_open=True),
                mip_rel_gap=_num(mip_gap, "--mip-gap", 0.0, 0.99),
                demand_block_m=_num(demand_block_m, "--demand-block-m", 0.0, 5000.0, lo_open=True),
            )
            recorded = None
        from qamtu.cli._output import progress_messages

        # a spinner with the step and the time elapsed, on stderr (here only); with --dask the city is one task,
        # written by the worker into the output folder's temporary name
        with progress_messages(quiet or dask is not None) as say, open_executor(dask) as executor, \
                output_folder(out, command="plan") as folder:
            s, site_ids, targets_met = executor.map(plan_job, [(req, str(folder), None if dask else say)])[0]
        if json_out:
            echo_json({k: s[k] for k in SUMMARY_KEYS} | {"status": s["status"]})
        else:
            bound = "n/a" if s["lower_bound"] is None else f"{s['lower_bound']:g}"
            gap = "n/a" if s["gap"] is None else f"{s['gap']:.2%}"
            typer.echo(f"{s['city']}: {s['sites_selected']} sites ({s['new_sites']} new), cost {s['cost']:g}, "
                       f"lower bound {bound}, gap {gap}; territory {s['territory_share']:.1%}, population "
                       f"{s['population_share']:.1%}; targets {'met' if s['targets_met'] else 'NOT met'}; "
                       f"written to {out}")
        if s.get("cost_of_decisions") is not None:
            c = s["cost_of_decisions"]
            typer.echo(f"decisions: {s['decisions_overruling']} overrule the optimiser; they cost {c['sites']:+d} "
                       f"sites, {c['cost']:+g} cost, territory {c['territory_share']:+.1%}, population "
                       f"{c['population_share']:+.1%} (see decisions.csv)", err=True)
        if recorded is not None:
            same = site_ids == list(recorded)
            typer.echo(f"reproduced the recorded plan: {'identical' if same else 'DIFFERENT'} site list", err=True)
        if not targets_met:
            typer.echo(f"Error: {s.get('message', 'targets not met')}", err=True)
            raise typer.Exit(EXIT_TARGETS_NOT_MET)
