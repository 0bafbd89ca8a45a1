"""Coverage commands: ``qamtu cities``, ``qamtu coverage``, ``qamtu reference-run``.

``coverage`` and ``reference-run`` resolve a scenario from their options (each option sets one scenario key; the
engine options are the shared block of :mod:`qamtu.cli._options`) and run :func:`qamtu.chain.coverage.coverage_job`
/ :func:`qamtu.chain.reference.run_reference`; both write the resolved ``scenario.yaml`` beside their outputs.
Options are parsed here so a bad value always gives one readable line on stderr and exit code 2 (never a
traceback).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

import typer

from qamtu.cli._common import EXIT_ERROR, EXIT_TARGETS_NOT_MET, echo_json, fail, guarded
from qamtu.cli._options import DASK_HELP, dem_option, engine_options, engine_overrides, landcover_option, number


def _share(value: Optional[str], option: str) -> Optional[float]:
    x = number(value, option)
    if x is not None and not (0.0 <= x <= 1.0):
        fail(f"{option} must be a share in [0, 1], got {value!r}")
    return x


def _resolution(value: Optional[str]) -> dict[str, tuple[str, Any]]:
    x = number(value, "--resolution-m", 1.0, 5000.0)
    return {} if x is None else {"planning.resolution_m": ("--resolution-m", x)}


def _echo_warnings(caught: list[Any]) -> None:
    seen = set()
    for w in caught:
        text = str(getattr(w, "message", w))
        if text not in seen:
            seen.add(text)
            typer.echo(f"Warning: {text}", err=True)


def _city_list(text: Optional[str]) -> list[Any]:
    from qamtu.geo.catalogue import get_city, load_cities

    if text is None or text.strip() in ("", "all"):
        return load_cities()
    return [get_city(part) for part in text.split(",") if part.strip()]


def _format_area(area_km2: Optional[float]) -> str:
    return "n/a" if area_km2 is None else f"{area_km2:g}"


def _shipped_dict(c: Any) -> dict[str, Any]:
    from qamtu.geo.shipped import BOUNDARY_ATTRIBUTION, CUT_RATIO, city_polygon, default_dem

    poly = city_polygon(c.id)
    dem = default_dem(c.id)
    cut = poly is not None and c.area_km2 is not None and poly.area_km2 > CUT_RATIO * c.area_km2
    return {
        "boundary_polygon_km2": None if poly is None else poly.area_km2,
        "boundary_kato": None if poly is None else poly.kato,
        "boundary_attribution": None if poly is None else BOUNDARY_ATTRIBUTION,
        "boundary_settlement_cut": bool(cut),
        "admin_centre": None if poly is None else [poly.admin_centre_lon, poly.admin_centre_lat],
        "terrain": None if dem is None else dem[1],
        "terrain_attribution": None if dem is None else dem[2],
    }


def _boundary_label(c: Any) -> str:
    d = _shipped_dict(c)
    if d["boundary_polygon_km2"] is None:
        return "disc (approx.)"
    return f"cut ({d['boundary_polygon_km2']:,.0f})" if d["boundary_settlement_cut"] else "polygon"


def _terrain_label(c: Any) -> str:
    return _shipped_dict(c)["terrain"] or "flat"


def cities_command(json_out: bool = typer.Option(False, "--json", help="Print the catalogue as JSON.")) -> None:
    """List the 20 regional centres: id, name, population with its date, area."""
    from qamtu.geo.area import utm_crs_for
    from qamtu.geo.catalogue import load_cities
    from qamtu.geo.shipped import ATTRIBUTIONS

    cities = load_cities()
    if json_out:
        echo_json([dict(c.to_dict(), utm_crs=utm_crs_for(c.lon, c.lat), **_shipped_dict(c)) for c in cities])
        return
    header = ("id", "name", "population (date)", "area km2", "area scope", "UTM", "default boundary", "terrain")
    rows = [
        (c.id, c.name_en, f"{c.population:,} ({c.population_date.isoformat()})", _format_area(c.area_km2),
         c.area_scope, utm_crs_for(c.lon, c.lat), _boundary_label(c), _terrain_label(c))
        for c in cities
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    right = {2, 3}
    for r in [header, *rows]:
        typer.echo("  ".join(str(v).rjust(w) if i in right else str(v).ljust(w)
                             for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    typer.echo("Sources and caveats: qamtu/data/kz_regional_centres.SOURCE.md (areas conflict for some cities);")
    typer.echo("boundaries and terrain: qamtu/data/geo/SOURCE.md. 'cut' = settlement part of a city administration's")
    typer.echo("polygon (an approximation; the administration's area in brackets).")
    for line in ATTRIBUTIONS:
        typer.echo(line)


def _summary_line(rec: dict[str, Any]) -> str:
    p = rec.get("dl_mbps_percentiles", {})
    notes = []
    if rec.get("boundary_is_approximation"):
        notes.append("approximate boundary")
    if rec.get("assumptions", {}).get("population_is_model"):
        notes.append("modelled population")
    approx = f" [{', '.join(notes)}]" if notes else ""
    return (
        f"{rec.get('city_name', rec['city'])}: territory {rec['territory_share']:.1%}, population "
        f"{rec['population_share']:.1%} covered; DL p5/p50/p95 {p.get('5', float('nan')):.0f}/"
        f"{p.get('50', float('nan')):.0f}/{p.get('95', float('nan')):.0f} Mbit/s; {rec['sectors']} sectors"
        f"{approx}"
    )


def coverage_command(
    city: Optional[str] = typer.Option(None, "--city", help="(required) City id (see `qamtu cities`)."),
    sites: Optional[str] = typer.Option(None, "--sites", help="(required) Site table: CSV or GeoJSON, one row per sector."),
    out: Optional[str] = typer.Option(None, "--out", help="(required) Output folder (created)."),
    scenario: Optional[Path] = typer.Option(None, "--scenario",
                                            help="Scenario file (YAML or TOML) to start from (default: built-in)."),
    resolution_m: Optional[str] = typer.Option(None, "--resolution-m", help="Grid resolution, m (default 25)."),
    population: Optional[str] = typer.Option(None, "--population", help="Population raster (people/pixel, any CRS)."),
    boundary: Optional[str] = typer.Option(None, "--boundary", help="City boundary (GeoJSON/GeoPackage/shapefile)."),
    dem: Optional[str] = dem_option(),
    landcover: Optional[str] = landcover_option(),
    existing: Optional[str] = typer.Option(
        None, "--existing", help="Sites already on air (site table), evaluated with --sites."),
    target_territory: Optional[str] = typer.Option(None, "--target-territory-share",
                                                   help="Exit 3 if the covered territory share is below this."),
    target_population: Optional[str] = typer.Option(None, "--target-population-share",
                                                    help="Exit 3 if the covered population share is below this."),
    png: Optional[bool] = typer.Option(None, "--png/--no-png", help="Draw a PNG map per metric (default on)."),
    per_metric: Optional[bool] = typer.Option(None, "--per-metric-tiffs", help="One GeoTIFF per metric."),
    json_out: bool = typer.Option(False, "--json", help="Print the KPI record as JSON."),
    dask: Optional[str] = typer.Option(None, "--dask", help=DASK_HELP.replace(
        "the cities", "the city's links as one task per row band of tiles")),
    *, engine: dict[str, Any],
) -> None:
    """Coverage maps and KPIs of one city for a site table: GeoTIFF, PNG maps, kpis.json, kpis.csv."""
    from qamtu.chain.coverage import coverage_job
    from qamtu.chain.scenario import load_scenario
    from qamtu.distributed import open_executor
    from qamtu.fileio import check_output_folder, output_folder, write_text_atomic
    from qamtu.geo.catalogue import get_city

    for value, option in ((city, "--city"), (out, "--out")):
        if value is None or value.strip() == "":
            fail(f"missing option {option}")
    if not sites and not existing:
        fail("missing option --sites (or --existing)")
    check_output_folder(out)  # type: ignore[arg-type]
    options = {**_resolution(resolution_m), **engine_overrides(engine)}
    cid = get_city(city).id  # type: ignore[arg-type]
    options["cities.ids"] = ("--city", [cid])
    for key, value in (("sites", sites), ("existing", existing), ("population", population),
                       ("boundary", boundary), ("dem", dem), ("landcover", landcover)):
        if value:
            options[f"cities.files.{cid}.{key}"] = (f"--{key}", str(value))
    t_terr = _share(target_territory, "--target-territory-share")
    t_pop = _share(target_population, "--target-population-share")
    if t_terr is not None or t_pop is not None:  # checked after the run (exit 3), not planned for
        options[f"cities.files.{cid}.targets"] = ("--target-territory-share/--target-population-share",
                                                  {"territory_share": t_terr or None, "population_share": t_pop or None})
    for key, value, option in (("png", png, "--png"), ("per_metric_tiffs", per_metric, "--per-metric-tiffs")):
        if value is not None:
            options[f"report.{key}"] = (option, value)
    sc = load_scenario(scenario).with_overrides(options)
    # with --dask the city's links are computed as band tasks on the cluster; area, aggregate and outputs here
    with open_executor(dask) as executor, output_folder(out, command="coverage") as folder:  # type: ignore[arg-type]
        rec, caught = coverage_job(sc, str(folder), sc["report"]["png"], sc["report"]["per_metric_tiffs"],
                                   executor=None if dask is None else executor)
        write_text_atomic(folder / "scenario.yaml", sc.to_yaml())
    _echo_warnings(caught)
    if json_out:
        echo_json(rec)
    else:
        typer.echo(_summary_line(rec))
        typer.echo(f"Wrote {Path(out)}: "
                   f"{', '.join(sorted(p.name for p in Path(out).iterdir() if not p.name.startswith('.')))}")  # type: ignore[arg-type]
    own = sc.city_files(cid).get("targets", {})
    missed = []
    for key, label in (("territory_share", "territory"), ("population_share", "population")):
        target = own.get(key) or (t_terr if key == "territory_share" else t_pop)
        if target is not None and rec[key] < target:
            missed.append(f"{label} share {rec[key]:.1%} < target {target:.1%}")
    if missed:
        typer.echo(f"Targets not met: {'; '.join(missed)}", err=True)
        raise typer.Exit(EXIT_TARGETS_NOT_MET)


def reference_run_command(
    out: Optional[str] = typer.Option(None, "--out", help="(required) Output folder (created)."),
    cities: Optional[str] = typer.Option(None, "--cities", help="Comma-separated city ids (default: all 20)."),
    scenario: Optional[Path] = typer.Option(None, "--scenario",
                                            help="Scenario file (YAML or TOML) to start from (default: built-in)."),
    resolution_m: Optional[str] = typer.Option(None, "--resolution-m", help="Grid resolution, m (default 25)."),
    png: Optional[bool] = typer.Option(None, "--png/--no-png", help="Draw PNG maps (default on)."),
    json_out: bool = typer.Option(False, "--json", help="Print the national KPI records as JSON."),
    dask: Optional[str] = typer.Option(None, "--dask", help=DASK_HELP.replace("the cities", "one task per city")),
    *, engine: dict[str, Any],
) -> None:
    """Every city with the hexagonal reference layout: maps per city and a national KPI table, with progress."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from qamtu.chain.reference import run_reference
    from qamtu.chain.scenario import load_scenario
    from qamtu.distributed import open_executor
    from qamtu.fileio import check_output_folder, output_folder, write_text_atomic

    if out is None or out.strip() == "":
        fail("missing option --out")
    check_output_folder(out)
    chosen = _city_list(cities)
    options = {**_resolution(resolution_m), **engine_overrides(engine)}
    if cities is not None and cities.strip() not in ("", "all"):
        options["cities.ids"] = ("--cities", [c.id for c in chosen])
    if png is not None:
        options["report.png"] = ("--png", png)
    sc = load_scenario(scenario).with_overrides(options) if options else load_scenario(scenario)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with warnings.catch_warnings(record=True) as caught, Progress(*columns, console=console) as progress, \
            output_folder(out, command="reference-run") as folder:
        warnings.simplefilter("always")
        task = progress.add_task("cities", total=len(chosen))
        tiles = progress.add_task("  engine tiles", total=1)

        def on_city(city: Any, i: int) -> None:
            progress.update(task, completed=i, description=f"{city.name_en[:22]}")
            progress.reset(tiles, total=1)

        def on_engine(done: int, total: int) -> None:
            progress.update(tiles, completed=done, total=total)

        with open_executor(dask) as executor:
            summary = run_reference(chosen, folder, sc, on_city=on_city,  # type: ignore[arg-type]
                                    on_engine=on_engine, executor=executor)
        write_text_atomic(folder / "scenario.yaml", sc.to_yaml())
        progress.update(task, completed=len(chosen), description="done")
    _echo_warnings(caught)
    if json_out:
        echo_json(summary["records"])
    else:
        for rec in summary["records"]:
            typer.echo(_summary_line(rec))
        typer.echo(f"{len(summary['records'])} cities in {summary['seconds']:.0f} s; national table: "
                   f"{Path(out) / 'kpis_national.csv'}")  # type: ignore[arg-type]
    if summary["failed"]:
        for cid, msg in summary["failed"].items():
            typer.echo(f"Error: {cid}: {msg}", err=True)
        raise typer.Exit(EXIT_ERROR)


def register(app: typer.Typer) -> None:
    """Add ``cities``, ``coverage`` and ``reference-run`` to the qamtu app."""
    app.command("cities")(guarded(cities_command))
    app.command("coverage")(guarded(engine_options(coverage_command)))
    app.command("reference-run")(guarded(engine_options(reference_run_command)))
