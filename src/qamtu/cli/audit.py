"""Audit commands: ``qamtu audit`` (MEASURED quality against the norms) and ``qamtu calibrate`` (model tuning).

Thin wrappers over :mod:`qamtu.audit`. Options are parsed here so that a bad value gives one readable line on
stderr and exit code 2. ``qamtu audit`` exits with 3 (:data:`~qamtu.cli._common.EXIT_TARGETS_NOT_MET`) when
the run completed but a norm ``fails`` or quality got significantly worse between the periods; 2 when a file was
skipped as bad or nothing was audited (after writing the outputs of what could be read); 0 otherwise.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from qamtu.cli._common import EXIT_TARGETS_NOT_MET, fail, guarded
from qamtu.cli._options import command_scenario

if TYPE_CHECKING:  # pragma: no cover
    from qamtu.audit.pipeline import AuditResult

#: The column-mapping language of :mod:`qamtu.audit.ingest` in one paragraph (kept here so that ``--help`` does
#: not import the audit package; tests/audit/test_audit_field.py checks it names every key the parser accepts).
#: Brackets are escaped for the help's Rich markup, which would otherwise eat ``[rsrp_dbm]`` as a style tag.
MAPPING_HELP = (
    "canonical=Source[*factor] (e.g. dl_mbps=DL_bitrate*0.001 for kbit/s); per technology canonical[4G|5G]=Source "
    "(e.g. rsrp_dbm[5G]=NRxRSRP; nothing after = means not measured on that technology); missing[canonical]=V1|V2 "
    "(placeholders meaning no value, e.g. missing[rsrp_dbm]=-200); time_format=PATTERN (strftime, e.g. "
    "%Y.%m.%d_%H.%M.%S; default ISO 8601); timezone=ZONE (IANA zone of times without an offset, e.g. Asia/Almaty; "
    "default UTC). Canonical names: time, lat, lon, operator, tech, rsrp_dbm, sinr_db, dl_mbps, ul_mbps, cell_id, "
    "session."
)

_PERIOD_HELP = "START..END, ISO 8601 dates, both days included (e.g. 2024-01-01..2024-06-30; open ends allowed)"


def _number(value: Optional[str], option: str, default: float, lo: float, hi: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        fail(f"{option} must be a number, got {value!r}")
    if not (lo <= number <= hi):
        fail(f"{option} = {value} is outside the allowed range [{lo:g}, {hi:g}]")
    return number


def _integer(value: Optional[str], option: str, default: int, lo: int, hi: int) -> int:
    number = _number(value, option, float(default), lo, hi)
    if number != int(number):
        fail(f"{option} must be a whole number, got {value!r}")
    return int(number)


def _files(paths: List[Path]) -> list[Path]:
    if not paths:
        fail("give at least one measurement file")
    for p in paths:
        if not p.exists():
            fail(f"{p}: file not found")
        if p.is_dir():
            fail(f"{p}: is a folder, expected a measurement file")
    return list(paths)


def _boundary_files(entries: List[str], cities: list[str]) -> dict[str, Path]:
    """``--boundary FILE`` (one --city) or ``--boundary ID=FILE`` (repeatable) -> {city id: path}."""
    out: dict[str, Path] = {}
    for entry in entries:
        head, sep, tail = entry.partition("=")
        if sep and head and "/" not in head and "\\" not in head:
            cid, path = head.strip(), Path(tail.strip())
        elif len(cities) == 1:
            cid, path = cities[0], Path(entry)
        else:
            fail(f"--boundary {entry!r}: with several or all cities write ID=FILE, e.g. --boundary astana=astana.geojson")
        if cid in out:
            fail(f"--boundary given twice for {cid!r}")
        if not path.exists():
            fail(f"{path}: boundary file not found")
        out[cid] = path
    return out


def audit_command(
    measurements: List[Path] = typer.Argument(..., help="Measurement file(s): drive-test CSV or Ookla tiles."),
    city: Optional[List[str]] = typer.Option(None, "--city", help="Catalogue city id to audit (repeatable)."),
    all_cities: bool = typer.Option(False, "--all", help="Audit all 20 regional centres."),
    boundary: Optional[List[str]] = typer.Option(
        None, "--boundary",
        help="Without --city/--all: a boundary file (GeoJSON, GeoPackage, shapefile) of ANY area(s) anywhere, each "
             "polygon an area (UTM zone from the boundary). With one --city: that city's boundary; with several: "
             "ID=FILE (repeatable).",
    ),
    area_name: Optional[str] = typer.Option(
        None, "--area-name",
        help="Name of the area of a one-polygon --boundary file (default the file name), or the property that "
             "names the areas of a file with several polygons (default: name, NAME, id).",
    ),
    fmt: str = typer.Option("drive", "--format", help="drive (per-sample CSV) or ookla (open-data tiles)."),
    period_a: Optional[str] = typer.Option(None, "--period-a", help=f"Earlier period: {_PERIOD_HELP}."),
    period_b: Optional[str] = typer.Option(None, "--period-b", help=f"Later period: {_PERIOD_HELP}."),
    columns: Optional[str] = typer.Option(
        None, "--columns", help="Column mapping, comma-separated: " + MAPPING_HELP.replace("[", "\\[")
    ),
    preset: Optional[str] = typer.Option(
        None, "--preset",
        help="Named column layout: canonical; gnettrack (G-NetTrack Pro export: NetworkMode, RSRP, NRxRSRP on 5G, "
             "SNR, DL_bitrate kbit/s, Timestamp 2019.12.16_07.22.43; add timezone=... in --columns); titlecase "
             "(generic, not verified against a vendor).",
    ),
    where_expr: Optional[str] = typer.Option(
        None, "--where", help="Keep rows where this condition on the file's own columns holds, e.g. \"State == 'D'\"; "
                              "the others are counted as excluded."
    ),
    dedupe: bool = typer.Option(
        True, "--dedupe/--no-dedupe",
        help="Merge rows of one file, operator and technology in the same second into one sample (default on).",
    ),
    idle_mbps: Optional[str] = typer.Option(
        None, "--idle-mbps", help="Samples with DL (and UL) below this are idle, out of throughput KPIs (0.1; 0 off)."
    ),
    session_gap_s: Optional[str] = typer.Option(
        None, "--session-gap-s", help="A gap longer than this ends a transfer session without a session column (5)."
    ),
    paired: bool = typer.Option(
        True, "--paired/--unpaired", help="Degradation on 50 m squares measured in both periods, paired (default)."
    ),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad file instead of skipping it."),
    norms: Optional[str] = typer.Option(
        None, "--norms", help="Norms name=Mbps\\[@4G|5G],... (default 4g_minimum=5@4G,5g_proposed=50@5G,national_target=100)."
    ),
    required_share: Optional[str] = typer.Option(None, "--required-share", help="Share that must reach a norm (0.9)."),
    confidence: Optional[str] = typer.Option(None, "--confidence", help="Confidence level of intervals (0.95)."),
    alpha: Optional[str] = typer.Option(None, "--alpha", help="Family-wise level of degradation flags, Holm (0.05)."),
    n_boot: Optional[str] = typer.Option(None, "--n-boot", help="Bootstrap replicates for percentiles (2000)."),
    seed: Optional[str] = typer.Option(None, "--seed", help="Seed of the bootstrap (0)."),
    max_reject_share: Optional[str] = typer.Option(
        None, "--max-reject-share", help="A file with a larger share of rejected rows is skipped (0.5)."
    ),
    max_mbps: Optional[str] = typer.Option(None, "--max-mbps", help="Largest plausible throughput, Mbit/s (5000)."),
    cluster_m: Optional[str] = typer.Option(
        None, "--cluster-m", help="Bin side grouping correlated drive-test samples, m (50; 0 = independent)."
    ),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots."),
    out: Optional[Path] = typer.Option(None, "--out", help="(required) Output folder."),
) -> None:
    """Audit MEASURED quality per area, operator, technology and period against the norms.

    Areas: catalogue cities (--city, --all) or any polygons (--boundary FILE). Every row is accepted, rejected
    (rejects.csv, with its physical line) or excluded (2G/3G fallback, no service, --where); 2G/3G and no
    service are reported as their own KPI. Writes summary.json, kpis_measured.csv, percentiles_measured.csv,
    technology_measured.csv, sessions_measured.csv, samples_measured.csv, degradation_measured.csv (two
    periods), rejects.csv and PNG plots to --out. Verdict per norm: meets if the lower Wilson bound reaches
    --required-share, fails if the upper bound is below it, otherwise not enough data (with the samples
    needed). Exit codes: 0 done; 2 bad input, a skipped file, or nothing audited; 3 done but a norm fails or
    quality got significantly worse.
    """
    from qamtu.audit.ingest import read_measurements
    from qamtu.audit.kpi import DEFAULT_NORMS, parse_norms
    from qamtu.audit.outputs import write_audit_outputs
    from qamtu.audit.periods import parse_period
    from qamtu.audit.pipeline import run_audit
    from qamtu.fileio import check_output_folder, output_folder, relocate, write_text_atomic
    from qamtu.geo.catalogue import get_city

    if out is None:
        fail("missing option --out DIR")
    check_output_folder(out)
    files = _files(measurements)
    if fmt not in ("drive", "ookla"):
        fail(f"--format must be drive or ookla, got {fmt!r}")
    cities = [get_city(c).id for c in city or []]  # names in en/ru/kk and former names work too
    if all_cities and cities:
        fail("give either --city ID (repeatable) or --all, not both")
    custom_areas = not all_cities and not cities
    if custom_areas and not boundary:
        fail("give --city ID (repeatable), --all, or --boundary FILE (any area)")
    if area_name is not None and not custom_areas:
        fail("--area-name names the areas of a --boundary file given without --city/--all")
    boundary_files = {} if custom_areas else _boundary_files(boundary or [], cities)
    if (period_a is None) != (period_b is None):
        fail("give both --period-a and --period-b, or neither")
    if fmt == "ookla" and (columns or preset or where_expr):
        fail("--columns, --preset and --where apply to drive-test files, not to Ookla tiles")
    req = _number(required_share, "--required-share", 0.9, 1e-9, 1.0)
    conf = _number(confidence, "--confidence", 0.95, 0.5, 0.999999)
    a = _number(alpha, "--alpha", 0.05, 1e-9, 0.5)
    nb = _integer(n_boot, "--n-boot", 2000, 100, 100_000)
    sd = _integer(seed, "--seed", 0, 0, 2**32 - 1)
    mrs = _number(max_reject_share, "--max-reject-share", 0.5, 0.0, 1.0)
    mm = _number(max_mbps, "--max-mbps", 5000.0, 1.0, 1e6)
    cm = _number(cluster_m, "--cluster-m", 50.0, 0.0, 10_000.0)
    im = _number(idle_mbps, "--idle-mbps", 0.1, 0.0, 1000.0)
    gap = _number(session_gap_s, "--session-gap-s", 5.0, 0.1, 86_400.0)
    norm_list = parse_norms(norms) if norms else DEFAULT_NORMS
    periods = [parse_period(period_a), parse_period(period_b)] if period_a is not None else None

    bounds = _audit_areas(boundary or [], area_name, cities, all_cities, boundary_files, custom_areas)
    m = read_measurements(files, fmt, columns=columns, preset=preset, max_mbps=mm, max_reject_share=mrs,
                          where=where_expr, strict=strict)
    for skipped in m.skipped:
        typer.echo(f"Skipped file: {skipped['reason']}", err=True)
    for hint in m.hints:
        typer.echo(f"Note: {hint}", err=True)
    if m.rows_rejected or m.fields_dropped:
        typer.echo(m.reject_summary(5), err=True)
    result = run_audit(m, bounds, periods=periods, norms=norm_list, required_share=req, confidence=conf,
                       n_boot=nb, seed=sd, alpha=a, cluster_m=cm if cm > 0 else None, dedupe=dedupe,
                       idle_mbps=im, session_gap_s=gap, paired=paired)
    sc = command_scenario("audit", {
        "measurements": files, "format": fmt, "cities": cities, "all": all_cities, "boundary": boundary or [],
        "area_name": area_name, "period_a": period_a, "period_b": period_b, "columns": columns, "preset": preset,
        "where": where_expr, "dedupe": dedupe, "idle_mbps": im, "session_gap_s": gap, "paired": paired,
        "strict": strict, "norms": [dataclasses.asdict(n) for n in norm_list], "required_share": req,
        "confidence": conf, "alpha": a, "n_boot": nb, "seed": sd, "max_reject_share": mrs, "max_mbps": mm,
        "cluster_m": cm, "plots": plots})
    with output_folder(out, command="audit") as folder:
        paths = relocate(write_audit_outputs(result, m, folder, norm_list, plots=plots), folder, out)
        write_text_atomic(folder / "scenario.yaml", sc.to_yaml())

    verdicts = result.kpis["verdict"].value_counts().to_dict()
    degraded = _echo_audit(result, verdicts, periods, paths)
    s = result.summary
    typer.echo(f"outputs in {out} (summary.json)")
    if s["samples_audited"] == 0:
        o = s["outside"]
        where_txt = ""
        if o.get("samples"):
            where_txt = (f"; the {o['samples']} samples outside lie in lon/lat box {o['bbox_lonlat']}, nearest catalogue "
                         f"city {o['nearest_catalogue_city']} at {o['nearest_city_distance_km']:g} km: give "
                         "--boundary FILE of the area driven")
        fail(f"nothing audited: no accepted sample lies inside the areas ({', '.join(bounds)}) and periods"
             + where_txt)
    if m.skipped:
        fail(f"{len(m.skipped)} file(s) skipped as bad (see above); the outputs cover the other files")
    if verdicts.get("fails", 0) or degraded:
        raise typer.Exit(EXIT_TARGETS_NOT_MET)


def _audit_areas(boundary: list[str], area_name: str | None, cities: list[str], all_cities: bool,
                 boundary_files: dict[str, str], custom_areas: bool) -> dict:
    """The areas audited: the polygons of --boundary files (custom areas) or the catalogue cities."""
    from qamtu.audit.assign import areas_from_file, city_boundaries

    if not custom_areas:
        return city_boundaries(None if all_cities else cities, boundary_files)
    bounds = {}
    for entry in boundary:
        for name, b in areas_from_file(Path(entry), area_name).items():
            if name in bounds:
                fail(f"--boundary: area {name!r} appears in two files; give the areas different names")
            bounds[name] = b
    return bounds


def _echo_audit(result: AuditResult, verdicts: dict, periods: list | None, paths: dict) -> int:
    """Print the accounting, fallback shares, verdicts and degradation of an audit; the number of degraded groups."""
    s = result.summary
    typer.echo(
        f"MEASURED: {s['rows_read']} rows read = {s['rows_accepted']} accepted + {s['rows_rejected']} rejected "
        f"(see {paths['rejects']}) + {s['rows_excluded']} excluded; {s['samples_after_dedupe']} samples after "
        f"de-duplication, {s['samples_audited']} audited, {s['samples_outside_areas']} outside the areas, "
        f"{s['samples_outside_periods']} outside the periods, {s['idle_samples']} idle"
    )
    if result.technology is not None and len(result.technology):
        fb = result.technology[result.technology["tech"].isin(["3G", "2G", "no service"])]
        for r in fb.itertuples(index=False):
            typer.echo(f"  {r.city} {r.operator} {r.period}: {r.tech} {100 * r.share_samples:.1f} % of samples, "
                       f"{100 * r.share_time:.1f} % of drive time")
    typer.echo("verdicts: " + (", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())) or "none (no samples)"))
    degraded = 0
    if result.degradation is not None:
        flagged = result.degradation[result.degradation["degraded"]]
        groups = flagged.drop_duplicates(["city", "operator", "tech"])
        degraded = len(groups)
        typer.echo(f"degradation {periods[0].label} -> {periods[1].label}: {len(groups)} group(s) significantly worse"
                   + ("".join(f"\n  {r.city} {r.operator} {r.tech}: median change {r.median_change_mbps:+.1f} Mbit/s"
                              + (f" over {int(r.matched_squares)} matched squares"
                                 if r.matched_squares == r.matched_squares and r.matched_squares is not None
                                 else "")
                              for r in groups.itertuples(index=False))))
    return degraded


def calibrate_command(
    measurements: List[Path] = typer.Argument(..., help="Drive-test CSV file(s) with RSRP (and cell_id)."),
    sites: Optional[Path] = typer.Option(None, "--sites", help="(required) Site table (CSV or GeoJSON), one row per sector."),
    out: Optional[Path] = typer.Option(None, "--out", help="(required) Output folder (calibration.json and the report)."),
    city: Optional[str] = typer.Option(None, "--city", help="City id (default: the city holding most samples)."),
    boundary: Optional[Path] = typer.Option(None, "--boundary", help="Boundary file of the city."),
    population: Optional[Path] = typer.Option(
        None, "--population", help="Population raster (GeoTIFF) for the environment classes (default: model)."
    ),
    env_class: Optional[str] = typer.Option(
        None, "--env-class", help="Environment class of every sample (default: the study area's class per pixel)."
    ),
    columns: Optional[str] = typer.Option(None, "--columns", help="Column mapping, as for qamtu audit."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Named column layout, as for qamtu audit."),
    tech: str = typer.Option("5G", "--tech", help="Technology of the samples to use: 5G (default) or 4G."),
    holdout: Optional[str] = typer.Option(None, "--holdout", help="Share of 500 m blocks held out (0.3)."),
    holdout_block_m: Optional[str] = typer.Option(
        None, "--holdout-block-m", help="Side of the hold-out blocks, m (500; 0 = split single samples)."
    ),
    seed: Optional[str] = typer.Option(None, "--seed", help="Seed of the hold-out split (0)."),
    loss: str = typer.Option("soft_l1", "--loss", help="Robust loss: soft_l1, huber, cauchy, linear."),
    extra_loss_db: Optional[str] = typer.Option(
        None, "--extra-loss-db", help="Known loss of the set-up, dB (0; about 9 for a phone inside a car)."
    ),
    body_loss_db: Optional[str] = typer.Option(None, "--body-loss-db", help="Body loss of the set-up, dB (engine: 3)."),
    freq_hz: Optional[str] = typer.Option(
        None, "--freq-hz", help="Carrier frequency of the measured cells, Hz (3.65e9, n78; required with --tech 4G)."
    ),
    min_samples: Optional[str] = typer.Option(None, "--min-samples", help="Least training samples per class (20)."),
    resolution_m: Optional[str] = typer.Option(None, "--resolution-m", help="Study-area grid for classes, m (100)."),
    max_reject_share: Optional[str] = typer.Option(None, "--max-reject-share", help="As for qamtu audit (0.5)."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots."),
) -> None:
    """Fit the PREDICTED path loss to MEASURED RSRP per environment class and save calibration.json.

    Serving sector: the site table's cell_id column where present, else the model's best server. The fit is
    robust (scipy least_squares, --loss) on a seeded share of the samples; the rest (--holdout) checks it.
    Writes calibration.json (read by qamtu coverage/plan --calibration), calibration_classes.csv,
    calibration_samples.csv, summary.json, predicted_vs_measured.png and residual_map.png to --out.
    """
    from qamtu.audit.assign import assign_cities, city_boundaries
    from qamtu.audit.calibration import calibrate
    from qamtu.audit.ingest import read_measurements
    from qamtu.audit.outputs import write_calibration_outputs
    from qamtu.fileio import check_output_folder, output_folder, relocate, write_text_atomic
    from qamtu.geo.catalogue import get_city
    from qamtu.geo.sites import read_sites

    if sites is None:
        fail("missing option --sites FILE")
    if out is None:
        fail("missing option --out DIR")
    check_output_folder(out)
    files = _files(measurements)
    if tech not in ("4G", "5G"):
        fail(f"--tech must be 4G or 5G, got {tech!r}")
    if tech == "4G" and freq_hz is None:
        fail("--tech 4G needs --freq-hz, the carrier frequency of the measured LTE cells (e.g. 1.8e9)")
    fq = None if freq_hz is None else _number(freq_hz, "--freq-hz", 3.65e9, 0.5e9, 100e9)
    ho = _number(holdout, "--holdout", 0.3, 0.0, 0.9)
    hb = _number(holdout_block_m, "--holdout-block-m", 500.0, 0.0, 100_000.0)
    sd = _integer(seed, "--seed", 0, 0, 2**32 - 1)
    xl = _number(extra_loss_db, "--extra-loss-db", 0.0, 0.0, 60.0)
    bl = None if body_loss_db is None else _number(body_loss_db, "--body-loss-db", 3.0, 0.0, 30.0)
    ms = _integer(min_samples, "--min-samples", 20, 3, 10**9)
    res_m = _number(resolution_m, "--resolution-m", 100.0, 10.0, 5000.0)
    mrs = _number(max_reject_share, "--max-reject-share", 0.5, 0.0, 1.0)

    m = read_measurements(files, "drive", columns=columns, preset=preset, max_reject_share=mrs, strict=True)
    if m.rows_rejected:
        typer.echo(m.reject_summary(5), err=True)
    site_table = read_sites(sites)
    area = None
    city_id = None if city is None else get_city(city).id
    if env_class is None or city is not None:
        if city_id is None:
            bounds = city_boundaries(None)
            ids = assign_cities(m.frame["lon"].to_numpy(float), m.frame["lat"].to_numpy(float), bounds)
            counts = {c: int((ids == c).sum()) for c in bounds}
            city_id = max(counts, key=counts.get)
            if counts[city_id] == 0:
                fail("no sample lies inside any regional centre; give --city ID (and --boundary) or --env-class")
        from qamtu.geo.area import make_study_area

        area = make_study_area(city_id, resolution_m=res_m, boundary=boundary, population=population)
    result = calibrate(m, site_table, area=area, env_class=env_class, techs=(tech,), holdout_share=ho,
                       holdout_block_m=hb if hb > 0 else None, seed=sd,
                       loss=loss, min_samples=ms, extra_loss_db=xl, body_loss_db=bl, freq_hz=fq)
    extra = {"rows_read": m.rows_read, "rows_rejected": m.rows_rejected, "city": city_id, "sources": list(m.sources),
             "sites": str(sites),
             "env_classes_from": (f"--env-class {env_class}" if env_class is not None else
                                  f"study area of {city_id}: population "
                                  + (f"raster {population}" if population else "model (approximation)")
                                  + f", {res_m:g} m grid")}
    from qamtu.audit.ingest import write_rejects

    sc = command_scenario("calibrate", {
        "measurements": files, "sites": sites, "city": city_id, "boundary": boundary, "population": population,
        "env_class": env_class, "columns": columns, "preset": preset, "tech": tech, "holdout": ho,
        "holdout_block_m": hb, "seed": sd, "loss": loss, "extra_loss_db": xl, "body_loss_db": bl, "freq_hz": fq,
        "min_samples": ms, "resolution_m": res_m, "max_reject_share": mrs, "plots": plots})
    with output_folder(out, command="calibrate") as folder:
        write_rejects(m, folder / "rejects.csv")
        write_text_atomic(folder / "scenario.yaml", sc.to_yaml())
        paths = relocate(write_calibration_outputs(result, folder, sites=site_table, extra_summary=extra, plots=plots),
                         folder, out)
    typer.echo(f"MEASURED: {m.rows_read} rows read, {m.rows_rejected} rejected; {len(result.samples)} samples used")
    for name, c in result.classes.items():
        if c.get("fitted"):
            typer.echo(
                f"{name}: offset {c['offset_db']:+.2f} dB, slope {c['slope_db_per_decade']:+.2f} dB/decade; "
                f"PREDICTED - MEASURED mean/std before {c['mean_error_before_db']:+.2f}/{c['std_before_db']:.2f} dB, "
                f"after {c['mean_error_after_db']:+.2f}/{c['std_after_db']:.2f} dB"
                + (f"; hold-out after {c['holdout_mean_error_after_db']:+.2f}/{c['holdout_std_after_db']:.2f} dB"
                   if c.get("holdout_mean_error_after_db") is not None else "")
            )
        else:
            typer.echo(f"{name}: {c['note']}")
    typer.echo(f"calibration written to {paths['calibration']} (use it with: qamtu coverage|plan --calibration FILE)")


def register(app: typer.Typer) -> None:
    """Add ``audit`` and ``calibrate`` to the qamtu app."""
    from qamtu.cli._output import out_summary, with_json, with_spinner

    app.command("audit")(guarded(with_json(with_spinner(audit_command, "audit"), out_summary)))
    app.command("calibrate")(guarded(with_json(with_spinner(calibrate_command, "calibrate"), out_summary)))
