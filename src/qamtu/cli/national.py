"""``qamtu national`` (plan, schedule and report on every city) and ``qamtu schedule`` (the same run, tables only).

Both read one scenario file (YAML or TOML, :mod:`qamtu.chain.scenario`; the built-in defaults with the
``national-fast`` preset without one) and accept overrides on the command line (each option sets one scenario key,
:func:`load_run_scenario`); the resolved ``scenario.yaml`` beside the outputs lists every setting used, so that file
alone reproduces the run. The run itself is :func:`qamtu.chain.national.run_national`. A completed run exits 3 when some city misses the deadline (the
report is written: the README's "targets not met"); ``--no-strict`` exits 0 then. A city whose planning fails (a bad file
of its own, an infeasible study area) stops the run with exit 2 and leaves the output folder as it was; with
``--keep-going`` the other cities are planned and the report marks that city failed. The output folder is
written into a temporary sibling and swapped in whole at the end (:func:`qamtu.fileio.output_folder`).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Optional

import typer

from qamtu.cli._common import EXIT_TARGETS_NOT_MET, echo_json, fail, guarded
from qamtu.cli._options import DASK_HELP, dem_option, engine_options, engine_overrides, landcover_option, run_options
from qamtu.distributed import open_executor

#: The preset of ``national``, ``schedule`` and ``sweep`` when the scenario file names none.
RUN_PRESET = "national-fast"


def _date(value: Optional[str], option: str) -> Optional[_dt.date]:
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}")
    return None  # pragma: no cover


def _cities(value: Optional[str]) -> Optional[list[str]]:
    """City ids from ``--cities``: ids or names (en/ru/kk, former names), comma-separated."""
    from qamtu.geo.catalogue import get_city

    if value is None:
        return None
    names = [c.strip() for c in value.split(",") if c.strip()]
    if not names:
        fail(f"--cities must be a comma-separated list of city ids or names, got {value!r}")
    return [get_city(n).id for n in names]


def _progress_bars(lang: str = "en"):
    """A rich progress display on stderr (stage names in ``lang``) and the callback ``run_national`` calls."""
    from qamtu.report.i18n import translator

    t = translator(lang)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=False)
    tasks: dict[str, Any] = {}

    def callback(stage: str, done: int, total: int, detail: str = "") -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(t(f"stage_{stage}"), total=total, detail=detail)
        bars.update(tasks[stage], completed=done, total=total, detail=detail)

    return bars, callback


def load_run_scenario(run: dict[str, Any], overrides: Optional[dict[str, tuple[str, Any]]] = None):
    """The scenario of a national run: the file of ``--scenario`` (the :data:`RUN_PRESET` preset when it names
    none) with the run block's options and ``overrides`` (``{"dotted.key": (option, value)}``) applied as keys, so
    the resolved ``scenario.yaml`` written beside the outputs reproduces the run (each option is validated like the
    key it sets)."""
    from qamtu.chain.scenario import load_scenario

    sc = load_scenario(run.get("scenario"), preset=RUN_PRESET)
    options: dict[str, tuple[str, Any]] = {}
    ids = _cities(run.get("cities"))
    if ids is not None:
        options["cities.ids"] = ("--cities", ids)
    if run.get("resolution_m") is not None:
        options["planning.resolution_m"] = ("--resolution-m", run["resolution_m"])
    dl = _date(run.get("deadline"), "--deadline")
    if dl is not None:
        options["deadline"] = ("--deadline", dl)
    options.update(overrides or {})
    return sc.with_overrides(options) if options else sc


def _warn_failed(report: Any) -> None:
    """One warning line per city whose planning failed (reached only with ``--keep-going``)."""
    for c in (c for c in report.cities if c.error):
        typer.echo(f"warning: {c.id}: planning failed: {c.error}", err=True)


def _with_city_files(sc: Any, ids: Optional[list[str]], files: dict[str, Optional[str]]):
    """The scenario with ``--dem``/``--landcover``/``--existing`` set for every city (a city's own file in the
    scenario wins), validated like the file's keys."""
    from qamtu.geo.catalogue import city_ids

    options = {}
    for key, value in files.items():
        if not value:
            continue
        for cid in ids if ids is not None else sc.city_ids(city_ids()):
            if key not in sc.city_files(cid):
                options[f"cities.files.{cid}.{key}"] = (f"--{key}", str(value))
    return sc.with_overrides(options) if options else sc


def _report_overrides(**given: Any) -> dict[str, tuple[str, Any]]:
    """``report.*`` / ``inputs.*`` keys of the options given (None: not given, the scenario's value holds)."""
    keys = {"lang": ("report.lang", "--lang"), "basemap": ("report.basemap", "--basemap"),
            "pdf": ("report.pdf", "--pdf"), "sensitivity": ("report.sensitivity", "--sensitivity"),
            "measurements": ("inputs.measurements", "--measurements"), "decisions": ("inputs.decisions", "--decisions")}
    out = {}
    for name, value in given.items():
        if value is not None:
            key, option = keys[name]
            out[key] = (option, str(value) if isinstance(value, Path) else value)
    return out


def _finish(report, lang: str, as_json: bool, strict: bool, files: dict[str, str]) -> None:
    """Print the run's summary (the headline in ``lang``; with ``--json`` the machine summary on stdout and the
    words on stderr) and exit 3 when a city misses the deadline (``EXIT_TARGETS_NOT_MET``, as the README says)."""
    from qamtu.report.content import headline
    from qamtu.report.i18n import translator

    t = translator(lang)
    late = [c for c in report.cities if c.status != "on_time"]
    _warn_failed(report)
    for key, path in files.items():
        typer.echo(f"{t(key)}: {path}", err=as_json)
    for line in headline(report, lang):
        typer.echo(line, err=as_json)
    if as_json:
        echo_json({
            **files, "deadline": report.deadline.isoformat(), "cities_total": len(report.cities),
            "cities_on_time": len(report.cities) - len(late), "late": [c.id for c in late],
            "headline": headline(report, "en"), "comparison": report.comparison,
            "cities": [{"id": c.id, "status": c.status, "gate_month": c.gate_label, "sites": c.n_sites,
                        "cost": c.cost, "reason": (c.late or {}).get("reason"), "error": c.error}
                       for c in report.cities],
        })
    if late and strict:
        raise typer.Exit(EXIT_TARGETS_NOT_MET)


def _national_operators(sc: Any, out: Path, keep_going: bool, strict: bool) -> None:
    """Several operators: one report per operator in ``out/operators/<name>/`` and ``out/operators.csv`` /
    ``operators.json`` with each operator and the total (:func:`qamtu.chain.national.run_operators`)."""
    from qamtu.chain.national import operator_totals, run_operators, write_city_plans
    from qamtu.fileio import output_folder, write_csv_atomic, write_json_atomic, write_text_atomic
    from qamtu.report.national import write_national_report

    lang = sc["report"]["lang"]
    bars, callback = _progress_bars(lang)
    with bars:
        results = run_operators(sc, progress=callback, keep_going=keep_going, sensitivity=sc["report"]["sensitivity"],
                                decisions=sc["inputs"]["decisions"])
        rows = operator_totals(results)
        with output_folder(out, command="national") as folder:
            for name, (report, runs) in results.items():
                write_national_report(report, folder / "operators" / name, lang=lang)
                write_city_plans(runs, folder / "operators" / name)
            write_csv_atomic(folder / "operators.csv", rows)
            write_json_atomic(folder / "operators.json", {"operators": rows})
            write_text_atomic(folder / "scenario.yaml", sc.to_yaml())
    for report, _ in results.values():
        _warn_failed(report)
    for row in rows:
        typer.echo(f"{row['operator']}: {row['sites']} sites, {row['plans_meeting_targets']} of {row['cities']} city "
                   f"plans meet their targets")
    typer.echo(f"Reports: {out / 'operators'}")
    late = any(c.status != "on_time" for report, _ in results.values() for c in report.cities)
    if late and strict:
        raise typer.Exit(EXIT_TARGETS_NOT_MET)


def national_command(
    out: Path = typer.Option(..., "--out", help="Folder for the report (created)."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Report language: en, ru or kk (default en)."),
    measurements: Optional[Path] = typer.Option(None, "--measurements",
                                                help="Drive-test CSV: measured quality beside predicted."),
    strict: bool = typer.Option(True, "--strict/--no-strict",
                                help="Exit 3 when a city misses the deadline (default); --no-strict exits 0."),
    keep_going: bool = typer.Option(False, "--keep-going",
                                    help="A city whose planning fails is marked failed in the report and the "
                                         "run goes on (default: the run stops with exit 2, no report)."),
    as_json: bool = typer.Option(False, "--json", help="Summary as JSON on stdout (the words on stderr)."),
    pdf: Optional[bool] = typer.Option(None, "--pdf/--no-pdf",
                                       help="Also write report.pdf (headless Chromium, print to PDF)."),
    sensitivity: Optional[bool] = typer.Option(None, "--sensitivity/--no-sensitivity",
                                               help="Sweep each assumption one step up and down (the page's table; "
                                                    "default on)."),
    basemap: Optional[str] = typer.Option(None, "--basemap",
                                          help="Interactive maps' basemap: none (offline, default) or osm "
                                               "(OpenStreetMap tiles, fetched online when viewed)."),
    dem: Optional[str] = dem_option(" For every city (a city's own dem in the scenario wins)."),
    landcover: Optional[str] = landcover_option(" For every city."),
    existing: Optional[str] = typer.Option(
        None, "--existing", help="Sites on air (one table for all cities, cut to each city): cost 0, on air "
        "from month one."),
    decisions: Optional[Path] = typer.Option(
        None, "--decisions", help="Decisions file (CSV: city, site_id, decision accept/reject/lock, reason, who, "
        "date): each city's re-plan honours it; the city pages say where it overruled the optimiser."),
    *, run: dict[str, Any], engine: dict[str, Any],
) -> None:
    """Plan every city, schedule the rollout against the deadline, and write the HTML report.

    Exit codes: 0 every city meets the targets by the deadline; 3 some city does not (the report is written);
    2 bad input or a failed run."""
    from qamtu.chain.national import run_national, write_city_plans
    from qamtu.fileio import check_output_folder, output_folder, relocate, write_text_atomic
    from qamtu.report.i18n import check_lang
    from qamtu.report.national import write_national_report

    if lang is not None:
        check_lang(lang)
    if basemap is not None and basemap not in ("none", "osm"):
        fail(f"--basemap must be none or osm, got {basemap!r}")
    check_output_folder(out)
    if measurements is not None and not measurements.is_file():
        fail(f"--measurements: file {measurements} does not exist")
    sc = load_run_scenario(run, {**engine_overrides(engine), **_report_overrides(
        lang=lang, basemap=basemap, pdf=pdf, sensitivity=sensitivity, measurements=measurements,
        decisions=decisions)})
    sc = _with_city_files(sc, None, {"dem": dem, "landcover": landcover, "existing": existing})
    if sc["operators"]:
        _national_operators(sc, out, keep_going, strict)
        return
    rp = sc["report"]
    bars, callback = _progress_bars(rp["lang"])
    with bars, open_executor(run.get("dask")) as executor:
        report, runs = run_national(sc, measurements=sc["inputs"]["measurements"], progress=callback,
                                    keep_going=keep_going, sensitivity=rp["sensitivity"], executor=executor,
                                    decisions=sc["inputs"]["decisions"])
        n = len(report.cities)
        callback("report", 0, n, "")
        done = [0]

        def page(cid: str) -> None:
            done[0] += 1
            callback("report", done[0], n, cid)

        with output_folder(out, command="national") as folder:
            write_text_atomic(folder / "scenario.yaml", sc.to_yaml())
            index = write_national_report(report, folder, lang=rp["lang"], progress=page,
                                          basemap=None if rp["basemap"] == "none" else rp["basemap"])
            write_city_plans(runs, folder)
            files = {"report": index}
            if rp["pdf"]:
                from qamtu.report.pdf import html_to_pdf

                callback("pdf", 0, 1, "")
                files["pdf"] = html_to_pdf(index, folder / "report.pdf")
                callback("pdf", 1, 1, "")
        files = {k: str(relocate(v, folder, out)) for k, v in files.items()}
    _finish(report, rp["lang"], as_json, strict, files)


def schedule_command(
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for schedule.csv, summary.json and scenario.yaml."),
    crews: Optional[int] = typer.Option(None, "--crews", help="Crews per pool."),
    rate: Optional[float] = typer.Option(None, "--sites-per-crew-month", help="Sites one crew builds a month."),
    budget: Optional[float] = typer.Option(None, "--monthly-budget", help="Monthly budget (currency units)."),
    priority: Optional[str] = typer.Option(None, "--priority",
                                           help="people-per-cost, city-by-city, or comma-separated city ids."),
    search: Optional[str] = typer.Option(None, "--search", help="Resource to minimise: crews, budget or none."),
    strict: bool = typer.Option(True, "--strict/--no-strict",
                                help="Exit 3 when a city misses the deadline (default); --no-strict exits 0."),
    keep_going: bool = typer.Option(False, "--keep-going",
                                    help="A city whose planning fails is marked failed in summary.json and the "
                                         "run goes on (default: the run stops with exit 2)."),
    as_json: bool = typer.Option(False, "--json", help="Summary as JSON on stdout (the words on stderr)."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Language of the summary lines: en, ru or kk."),
    *, run: dict[str, Any], engine: dict[str, Any],
) -> None:
    """Plan and schedule (no HTML): month each site goes on air, each city's gate, the fewest crews.

    Exit codes: 0 every city meets the targets by the deadline; 3 some city does not; 2 bad input."""
    from qamtu.chain.national import run_national
    from qamtu.fileio import check_output_folder, output_folder, write_csv_atomic, write_json_atomic, \
        write_text_atomic
    from qamtu.report.i18n import check_lang
    from qamtu.report.national import summary_dict

    if out is not None:
        check_output_folder(out)
    if lang is not None:
        check_lang(lang)
    overrides: dict[str, Any] = {**engine_overrides(engine), **_report_overrides(lang=lang)}
    if crews is not None:
        overrides["crews.count"] = ("--crews", crews)
    if rate is not None:
        overrides["crews.sites_per_crew_month"] = ("--sites-per-crew-month", rate)
    if budget is not None:
        overrides["budget.monthly"] = ("--monthly-budget", budget)
    if priority is not None:
        overrides["priority"] = ("--priority", priority if priority in ("people-per-cost", "city-by-city") else [
            p.strip() for p in priority.split(",") if p.strip()])
    if search is not None:
        overrides["search.resource"] = ("--search", search)
    sc = load_run_scenario(run, overrides)
    bars, callback = _progress_bars(sc["report"]["lang"])
    with bars, open_executor(run.get("dask")) as executor:
        report, _ = run_national(sc, progress=callback, keep_going=keep_going, sensitivity=False,
                                 executor=executor)
    files = {}
    if out is not None:
        with output_folder(out, command="schedule") as folder:
            write_csv_atomic(folder / "schedule.csv", report.schedule_rows)
            write_json_atomic(folder / "summary.json", summary_dict(report))
            write_text_atomic(folder / "scenario.yaml", sc.to_yaml())
        files = {"schedule": str(Path(out) / "schedule.csv")}
    _finish(report, sc["report"]["lang"], as_json, strict, files)


def register(app: typer.Typer) -> None:
    """Add ``national`` and ``schedule`` to the qamtu app."""
    app.command("national")(guarded(run_options(engine_options(national_command))))
    app.command("schedule")(guarded(run_options(engine_options(schedule_command))))
