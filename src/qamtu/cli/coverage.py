"""Coverage commands: ``qamtu cities``, ``qamtu coverage``, ``qamtu reference-run``.

Thin wrappers over :mod:`qamtu.geo`, :mod:`qamtu.engine` and :mod:`qamtu.report.maps`: everything they write is
reachable from Python with the same functions. Options are parsed here so a bad value always gives one readable
line on stderr and exit code 2 (never a traceback).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

import typer

from qamtu.cli._common import EXIT_ERROR, EXIT_TARGETS_NOT_MET, echo_json, fail, guarded
from qamtu.cli._geo_options import dem_option, landcover_option
from qamtu.cli.national import DASK_HELP
from qamtu.distributed import open_executor

#: Engine options shared by ``coverage`` and ``reference-run``: CLI option -> (EngineConfig field, scale).
_ENGINE_OPTIONS = {
    "--freq-ghz": ("freq_hz", 1e9),
    "--bandwidth-mhz": ("bandwidth_hz", 1e6),
    "--rsrp-threshold-dbm": ("rsrp_threshold_dbm", 1.0),
    "--coverage-level": ("coverage_level", 1.0),
    "--cell-load": ("cell_load", 1.0),
    "--min-dl-mbps": ("min_dl_mbps", 1.0),
    "--min-ul-mbps": ("min_ul_mbps", 1.0),
}


def _number(value: Optional[str], option: str) -> Optional[float]:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        fail(f"{option} must be a number, got {value!r}")
    if number != number or number in (float("inf"), float("-inf")):
        fail(f"{option} must be a finite number, got {value!r}")
    return number


def _share(value: Optional[str], option: str) -> Optional[float]:
    number = _number(value, option)
    if number is not None and not (0.0 <= number <= 1.0):
        fail(f"{option} must be a share in [0, 1], got {value!r}")
    return number


def _engine_config(values: dict[str, Optional[str]], calibration: Optional[str]) -> Any:
    from qamtu.engine import EngineConfig, load_calibration

    kwargs: dict[str, Any] = {}
    for option, (field, scale) in _ENGINE_OPTIONS.items():
        number = _number(values.get(option), option)
        if number is not None:
            kwargs[field] = number * scale
    if calibration is not None:
        kwargs["calibration"] = load_calibration(calibration)
    return EngineConfig(**kwargs)


def coverage_job(city: str, res: float, boundary: Any, population: Any, sites: Any, existing: Any, dem: Any,
                 landcover: Any, config: Any, folder: str, png: bool,
                 per_metric: bool, executor: Any = None) -> tuple[dict[str, Any], list[str]]:
    """``qamtu coverage`` of one city, outputs written to ``folder``: (KPI record, warning messages).

    With ``executor`` (``--dask``) the links are computed and aggregated as one task per row band of engine tiles
    (:func:`qamtu.engine.bands.evaluate_banded`: identical maps; the links stay on the workers, only the bands'
    map rows come back); the study area and the outputs are made here."""
    from qamtu.engine import evaluate
    from qamtu.engine.bands import evaluate_banded
    from qamtu.geo.area import make_study_area, study_area_options
    from qamtu.geo.catalogue import get_city
    from qamtu.geo.sites import check_sites_near_area, combine_site_tables, project_sites, read_sites
    from qamtu.report.maps import write_coverage_outputs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = get_city(city)
        area = make_study_area(c, resolution_m=res, boundary=boundary, population=population,
                               **study_area_options(dem, landcover))
        tables = []
        for path in (existing, sites):
            if path:
                one = read_sites(path)
                check_sites_near_area(one, area, source=str(path))
                tables.append(one)
        table = project_sites(combine_site_tables(tables, [p for p in (existing, sites) if p]), area.crs)
        if executor is None:
            result = evaluate(area, table, config)
        else:
            result = evaluate_banded(area, table, config, executor)
        written = write_coverage_outputs(result, area, folder, sites=table, png=png, per_metric=per_metric)
    return written["record"], [str(w.message) for w in caught]


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
    resolution_m: Optional[str] = typer.Option("25", "--resolution-m", help="Grid resolution, m (default 25)."),
    population: Optional[str] = typer.Option(None, "--population", help="Population raster (people/pixel, any CRS)."),
    boundary: Optional[str] = typer.Option(None, "--boundary", help="City boundary (GeoJSON/GeoPackage/shapefile)."),
    dem: Optional[str] = dem_option(),
    landcover: Optional[str] = landcover_option(),
    existing: Optional[str] = typer.Option(
        None, "--existing", help="Sites already on air (site table), evaluated with --sites."),
    freq_ghz: Optional[str] = typer.Option(None, "--freq-ghz", help="Carrier frequency, GHz (default 3.65)."),
    bandwidth_mhz: Optional[str] = typer.Option(None, "--bandwidth-mhz", help="Channel bandwidth, MHz (100)."),
    rsrp_threshold_dbm: Optional[str] = typer.Option(None, "--rsrp-threshold-dbm", help="SS-RSRP threshold, dBm."),
    coverage_level: Optional[str] = typer.Option(None, "--coverage-level",
                                                 help="Probability every condition must reach, 0..1 (0.9)."),
    cell_load: Optional[str] = typer.Option(None, "--cell-load", help="Interfering cell load, 0..1."),
    min_dl_mbps: Optional[str] = typer.Option(None, "--min-dl-mbps", help="DL rate a covered pixel needs."),
    min_ul_mbps: Optional[str] = typer.Option(None, "--min-ul-mbps",
                                              help="Optional UL rate a covered pixel also needs (default none)."),
    calibration: Optional[str] = typer.Option(None, "--calibration", help="Path-loss calibration JSON."),
    target_territory: Optional[str] = typer.Option(None, "--target-territory-share",
                                                   help="Exit 3 if the covered territory share is below this."),
    target_population: Optional[str] = typer.Option(None, "--target-population-share",
                                                    help="Exit 3 if the covered population share is below this."),
    png: bool = typer.Option(True, "--png/--no-png", help="Draw a PNG map per metric."),
    per_metric: bool = typer.Option(False, "--per-metric-tiffs", help="One GeoTIFF per metric."),
    json_out: bool = typer.Option(False, "--json", help="Print the KPI record as JSON."),
    dask: Optional[str] = typer.Option(None, "--dask", help=DASK_HELP.replace(
        "the cities", "the city's links as one task per row band of tiles")),
) -> None:
    """Coverage maps and KPIs of one city for a site table: GeoTIFF, PNG maps, kpis.json, kpis.csv."""
    from qamtu.fileio import check_output_folder, output_folder

    for value, option in ((city, "--city"), (out, "--out")):
        if value is None or value.strip() == "":
            fail(f"missing option {option}")
    if not sites and not existing:
        fail("missing option --sites (or --existing)")
    check_output_folder(out)  # type: ignore[arg-type]
    res = _number(resolution_m, "--resolution-m")
    t_terr = _share(target_territory, "--target-territory-share")
    t_pop = _share(target_population, "--target-population-share")
    config = _engine_config(
        {"--freq-ghz": freq_ghz, "--bandwidth-mhz": bandwidth_mhz, "--rsrp-threshold-dbm": rsrp_threshold_dbm,
         "--coverage-level": coverage_level, "--cell-load": cell_load, "--min-dl-mbps": min_dl_mbps,
         "--min-ul-mbps": min_ul_mbps},
        calibration,
    )
    # with --dask the city's links are computed as band tasks on the cluster; area, aggregate and outputs here
    with open_executor(dask) as executor, output_folder(out, command="coverage") as folder:  # type: ignore[arg-type]
        rec, caught = coverage_job(city, res, boundary, population, sites, existing, dem, landcover, config,
                                   str(folder), png, per_metric, executor=None if dask is None else executor)
    _echo_warnings(caught)
    if json_out:
        echo_json(rec)
    else:
        typer.echo(_summary_line(rec))
        typer.echo(f"Wrote {Path(out)}: "
                   f"{', '.join(sorted(p.name for p in Path(out).iterdir() if not p.name.startswith('.')))}")  # type: ignore[arg-type]
    missed = []
    if t_terr is not None and rec["territory_share"] < t_terr:
        missed.append(f"territory share {rec['territory_share']:.1%} < target {t_terr:.1%}")
    if t_pop is not None and rec["population_share"] < t_pop:
        missed.append(f"population share {rec['population_share']:.1%} < target {t_pop:.1%}")
    if missed:
        typer.echo(f"Targets not met: {'; '.join(missed)}", err=True)
        raise typer.Exit(EXIT_TARGETS_NOT_MET)


def reference_run_command(
    out: Optional[str] = typer.Option(None, "--out", help="(required) Output folder (created)."),
    cities: Optional[str] = typer.Option(None, "--cities", help="Comma-separated city ids (default: all 20)."),
    resolution_m: Optional[str] = typer.Option("25", "--resolution-m", help="Grid resolution, m (default 25)."),
    rsrp_threshold_dbm: Optional[str] = typer.Option(None, "--rsrp-threshold-dbm", help="SS-RSRP threshold, dBm."),
    coverage_level: Optional[str] = typer.Option(None, "--coverage-level", help="Required P(RSRP>thr), 0..1."),
    cell_load: Optional[str] = typer.Option(None, "--cell-load", help="Interfering cell load, 0..1."),
    min_dl_mbps: Optional[str] = typer.Option(None, "--min-dl-mbps", help="DL rate a covered pixel needs."),
    png: bool = typer.Option(True, "--png/--no-png", help="Draw PNG maps."),
    json_out: bool = typer.Option(False, "--json", help="Print the national KPI records as JSON."),
    dask: Optional[str] = typer.Option(None, "--dask", help=DASK_HELP.replace("the cities", "one task per city")),
) -> None:
    """Every city with the hexagonal reference layout: maps per city and a national KPI table, with progress."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from qamtu.fileio import check_output_folder, output_folder

    if out is None or out.strip() == "":
        fail("missing option --out")
    check_output_folder(out)
    res = _number(resolution_m, "--resolution-m")
    chosen = _city_list(cities)
    config = _engine_config(
        {"--rsrp-threshold-dbm": rsrp_threshold_dbm, "--coverage-level": coverage_level, "--cell-load": cell_load,
         "--min-dl-mbps": min_dl_mbps},
        None,
    )
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

        from qamtu.report.maps import run_reference

        with open_executor(dask) as executor:
            summary = run_reference(chosen, folder, res, config, png=png, on_city=on_city,  # type: ignore[arg-type]
                                    on_engine=on_engine, executor=executor)
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
    app.command("coverage")(guarded(coverage_command))
    app.command("reference-run")(guarded(reference_run_command))
