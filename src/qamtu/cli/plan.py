"""``qamtu plan``: choose the cheapest candidate sites that meet a city's coverage targets (see :mod:`qamtu.plan`).

Every option sets one key of the scenario (:data:`PLAN_OPTIONS`, the engine block of :mod:`qamtu.cli._options`);
``--scenario`` starts from a scenario file instead of the built-in defaults. The run is
:func:`qamtu.chain.plan.plan_job`, which writes the outputs, ``plan.json`` and the resolved ``scenario.yaml``.
Exit codes: 0 targets met, 3 the run completed but the targets are not met (the best plan found is still written),
2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from qamtu.cli._common import EXIT_TARGETS_NOT_MET, echo_json, fail, guarded
from qamtu.cli._options import DASK_HELP, dem_option, engine_options, engine_overrides, landcover_option, number

#: Options of ``qamtu plan`` that set a ``planning`` key: parameter -> (option, key, lo, hi, lo_open).
PLAN_OPTIONS: dict[str, tuple[str, str, float | None, float | None, bool]] = {
    "resolution_m": ("--resolution-m", "planning.resolution_m", 1.0, 5000.0, False),
    "lattice_spacing_m": ("--lattice-spacing-m", "planning.candidate_spacing_m", 50.0, 20000.0, False),
    "lattice_cost": ("--lattice-cost", "planning.candidate_cost", 0.0, None, False),
    "colocation_cost_factor": ("--colocation-cost-factor", "planning.colocation_cost_factor", 0.0, 1.0, False),
    "budget": ("--budget", "planning.budget", 0.0, None, False),
    "time_limit_s": ("--time-limit-s", "planning.time_limit_s", 0.0, None, True),
    "mip_gap": ("--mip-gap", "planning.mip_rel_gap", 0.0, 0.99, False),
    "demand_block_m": ("--demand-block-m", "planning.demand_block_m", 0.0, 5000.0, True),
}
#: Options of ``qamtu plan`` naming one of the city's input files: parameter -> key of ``cities.files.<id>``.
FILE_OPTIONS = {"candidates": "candidates", "existing": "existing", "boundary": "boundary",
                "population": "population", "dem": "dem", "landcover": "landcover", "sites_4g": "sites_4g"}


def _ids(text: Optional[str]) -> list[str]:
    if not text:
        return []
    return [p.strip() for p in text.split(",") if p.strip()]


def plan_overrides(city_id: str, values: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """The scenario keys the plan options set: ``{"dotted.key": (option, value)}`` (None: not given)."""
    out: dict[str, tuple[str, Any]] = {"cities.ids": ("--city", [city_id])}
    for param, (opt, key, lo, hi, lo_open) in PLAN_OPTIONS.items():
        x = number(values.get(param), opt, lo, hi, lo_open)
        if x is not None:
            out[key] = (opt, x)
    for param, key in FILE_OPTIONS.items():
        if values.get(param) is not None:
            out[f"cities.files.{city_id}.{key}"] = (f"--{param.replace('_', '-')}", str(values[param]))
    terr = number(values.get("target_territory"), "--target-territory", 0.0, 1.0, lo_open=True)
    pop = number(values.get("target_population"), "--target-population", 0.0, 1.0, lo_open=True)
    if terr is not None or pop is not None:  # the targets given replace the city's default ones
        out[f"cities.files.{city_id}.targets"] = ("--target-territory/--target-population",
                                                  {"territory_share": terr, "population_share": pop})
    if values.get("territory_only"):
        out["planning.people_first"] = ("--territory-only", False)
    if values.get("no_capacity"):
        out["planning.capacity.enabled"] = ("--no-capacity", False)
    if values.get("method") is not None:
        if values["method"] not in ("milp", "greedy"):
            fail(f"--method must be milp or greedy, got {values['method']!r}")
        out["planning.method"] = ("--method", values["method"])
    for param in ("lock", "exclude"):
        if values.get(param):
            out[f"planning.{param}"] = (f"--{param}", _ids(values[param]))
    if values.get("decisions") is not None:
        out["inputs.decisions"] = ("--decisions", str(values["decisions"]))
    return out


def plan_command(
    city: Optional[str] = typer.Option(None, "--city", help="City id from `qamtu cities` (e.g. taraz)."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    scenario: Optional[Path] = typer.Option(None, "--scenario",
                                            help="Scenario file (YAML or TOML) to start from (default: built-in)."),
    candidates: Optional[Path] = typer.Option(
        None, "--candidates", help="Candidate sites (CSV/GeoJSON, one row per sector, with a cost per site and an "
        "optional decision column lock/exclude)."),
    existing: Optional[Path] = typer.Option(
        None, "--existing", help="Existing on-air 5G sites (site table): cost 0, always in."),
    target_territory: Optional[str] = typer.Option(
        None, "--target-territory", help="Share of the territory to cover, (0, 1]. Default: the licence obligation "
        "of the city's class (qamtu.targets)."),
    target_population: Optional[str] = typer.Option(
        None, "--target-population", help="Share of the population to cover, (0, 1]. Default: the territory "
        "target (people first)."),
    territory_only: bool = typer.Option(
        False, "--territory-only", help="No population target unless --target-population is given (the licence "
        "obligation alone; by default the plan also serves the territory target's share of the people)."),
    budget: Optional[str] = typer.Option(None, "--budget", help="Upper bound on the plan's total cost."),
    method: Optional[str] = typer.Option(
        None, "--method", help="milp (swap search + HiGHS, with a proven bound; default) or greedy (CELF lazy greedy "
        "polished by 5,000 swap moves; fast)."),
    resolution_m: Optional[str] = typer.Option(None, "--resolution-m", help="Grid resolution, m (default 25)."),
    lattice_spacing_m: Optional[str] = typer.Option(
        None, "--lattice-spacing-m", help="Also generate 3-sector candidates on a uniform hexagonal lattice at "
        "this spacing, m (default without --candidates: one lattice per environment class, spacing from the "
        "link budget and the capacity)."),
    sites_4g: Optional[Path] = typer.Option(
        None, "--sites-4g", help="4G sites (site table) as co-location candidates at a reduced cost."),
    colocation_cost_factor: Optional[str] = typer.Option(
        None, "--colocation-cost-factor", help="Cost of a co-located site as a share of --lattice-cost, [0, 1] "
        "(default 0.5)."),
    no_capacity: bool = typer.Option(
        False, "--no-capacity", help="Skip the capacity stage (sites added where busy-hour demand exceeds a "
        "sector's capacity; default demand model of qamtu.plan.capacity)."),
    lattice_cost: Optional[str] = typer.Option(None, "--lattice-cost", help="Cost of each generated site (default 1)."),
    lock: Optional[str] = typer.Option(None, "--lock", help="Site ids to lock in, comma-separated."),
    exclude: Optional[str] = typer.Option(None, "--exclude", help="Site ids to rule out, comma-separated."),
    boundary: Optional[Path] = typer.Option(None, "--boundary", help="City boundary (GeoJSON/GPKG/SHP)."),
    population: Optional[Path] = typer.Option(None, "--population", help="Population raster (GeoTIFF)."),
    dem: Optional[str] = dem_option(),
    landcover: Optional[Path] = landcover_option(),
    demand_block_m: Optional[str] = typer.Option(
        None, "--demand-block-m", help="Optimise on square demand blocks of this side, m (faster on fine grids, "
        "approximate; the engine check stays per pixel). Default: pixels grouped exactly by coverage signature."),
    decisions: Optional[Path] = typer.Option(
        None, "--decisions", help="Decisions file (CSV: site_id, decision accept/reject/lock, reason, who, date): "
        "the plan honours it; plan.json and decisions.csv say where it overruled the optimiser and what it cost."),
    time_limit_s: Optional[str] = typer.Option(
        None, "--time-limit-s", help="Time limit of the MILP (swap search, bounds and HiGHS) per solve, s (default "
        "60)."),
    mip_gap: Optional[str] = typer.Option(None, "--mip-gap", help="HiGHS relative MIP gap (default 0.005)."),
    from_plan: Optional[Path] = typer.Option(
        None, "--from-plan", help="Re-run the plan recorded in a plan.json (its input files must be unchanged)."),
    json_out: bool = typer.Option(False, "--json", help="Print summary.json on stdout."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines on stderr."),
    dask: Optional[str] = typer.Option(None, "--dask", help=DASK_HELP.replace("the cities", "the plan")),
    *, engine: dict[str, Any],
) -> None:
    """Plan the fewest, cheapest sites that meet the city's coverage targets, checked by the full engine."""
    from qamtu.chain.plan import plan_job, scenario_from_record
    from qamtu.chain.scenario import load_scenario
    from qamtu.cli._output import progress_messages
    from qamtu.distributed import open_executor
    from qamtu.fileio import check_output_folder, output_folder
    from qamtu.geo.catalogue import get_city
    from qamtu.plan.outputs import SUMMARY_KEYS
    from qamtu.plan.record import read_plan_file

    check_output_folder(out)
    if from_plan is not None:
        doc = read_plan_file(from_plan)
        sc = scenario_from_record(doc, str(from_plan))
        recorded = doc.get("result", {}).get("sites")
    else:
        if city is None:
            fail("--city is required (or --from-plan FILE)")
        values = dict(
            resolution_m=resolution_m, lattice_spacing_m=lattice_spacing_m, lattice_cost=lattice_cost,
            colocation_cost_factor=colocation_cost_factor, budget=budget, time_limit_s=time_limit_s, mip_gap=mip_gap,
            demand_block_m=demand_block_m, candidates=candidates, existing=existing, boundary=boundary,
            population=population, dem=dem, landcover=landcover, sites_4g=sites_4g, target_territory=target_territory,
            target_population=target_population, territory_only=territory_only, no_capacity=no_capacity,
            method=method, lock=lock, exclude=exclude, decisions=decisions)
        sc = load_scenario(scenario).with_overrides({**plan_overrides(get_city(city).id, values),
                                                     **engine_overrides(engine)})
        recorded = None
    # a spinner with the step and the time elapsed, on stderr (here only); with --dask the city is one task,
    # written by the worker into the output folder's temporary name
    with progress_messages(quiet or dask is not None) as say, open_executor(dask) as executor, \
            output_folder(out, command="plan") as folder:
        s, site_ids, targets_met = executor.map(plan_job, [(sc, str(folder), None if dask else say)])[0]
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


def register(app: typer.Typer) -> None:
    """Add the ``plan`` command to ``app``."""
    app.command("plan")(guarded(engine_options(plan_command)))
