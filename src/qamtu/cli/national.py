"""``qamtu national`` (plan, schedule and report on every city) and ``qamtu schedule`` (the same run, tables only).

Both read one scenario file (YAML or TOML, :mod:`qamtu.rollout.scenario`; the built-in defaults without one) and
accept overrides on the command line. A completed run exits 0 even when some city misses the deadline (that is a
finding the report shows); with ``--strict`` it exits 3 then.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Optional

import typer

from qamtu.cli._common import EXIT_TARGETS_NOT_MET, echo_json, fail, guarded
from qamtu.distributed import ADDRESS_HELP, open_executor

DASK_HELP = f"Run the cities on Dask ({ADDRESS_HELP}); needs qamtu[dask]."


def _date(value: Optional[str], option: str) -> Optional[_dt.date]:
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}")
    return None  # pragma: no cover


def _cities(value: Optional[str]) -> Optional[list[str]]:
    if value is None:
        return None
    ids = [c.strip() for c in value.split(",") if c.strip()]
    if not ids:
        fail(f"--cities must be a comma-separated list of city ids, got {value!r}")
    return ids


def _progress_bars():
    """A rich progress display on stderr and the callback ``run_national`` calls."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=False)
    tasks: dict[str, Any] = {}

    def callback(stage: str, done: int, total: int, detail: str = "") -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total, detail=detail)
        bars.update(tasks[stage], completed=done, total=total, detail=detail)

    return bars, callback


def _load(scenario: Optional[Path], resolution_m: Optional[float], deadline: Optional[str],
          overrides: dict[str, Any]):
    from qamtu.rollout.scenario import load_scenario
    from qamtu.sweep import with_overrides

    sc = with_overrides(load_scenario(scenario), overrides, "command-line options")  # validated like file keys
    if resolution_m is not None and not (10.0 <= resolution_m <= 2000.0):
        fail(f"--resolution-m must be from 10 to 2000 m, got {resolution_m:g}")
    return sc, _date(deadline, "--deadline")


def register(app: typer.Typer) -> None:
    @app.command("national")
    @guarded
    def national(
        out: Path = typer.Option(..., "--out", help="Folder for the report (created)."),
        scenario: Optional[Path] = typer.Option(None, "--scenario", help="Scenario file (YAML or TOML)."),
        lang: str = typer.Option("en", "--lang", help="Report language: en, ru or kk."),
        cities: Optional[str] = typer.Option(None, "--cities", help="Comma-separated city ids (default: all)."),
        resolution_m: Optional[float] = typer.Option(None, "--resolution-m", help="Grid resolution, m."),
        deadline: Optional[str] = typer.Option(None, "--deadline", help="Deadline YYYY-MM-DD (default 2025-12-31)."),
        measurements: Optional[Path] = typer.Option(None, "--measurements",
                                                    help="Drive-test CSV: measured quality beside predicted."),
        strict: bool = typer.Option(False, "--strict", help="Exit 3 when a city misses the deadline."),
        dask: Optional[str] = typer.Option(None, "--dask", help=DASK_HELP),
    ) -> None:
        """Plan every city, schedule the rollout against the deadline, and write the HTML report."""
        from qamtu.fileio import write_text_atomic
        from qamtu.report.i18n import check_lang
        from qamtu.report.national import write_national_report
        from qamtu.report.run import run_national

        check_lang(lang)
        if measurements is not None and not measurements.is_file():
            fail(f"--measurements: file {measurements} does not exist")
        sc, dl = _load(scenario, resolution_m, deadline, {})
        bars, callback = _progress_bars()
        with bars, open_executor(dask) as executor:
            report, _ = run_national(sc, city_ids=_cities(cities), resolution_m=resolution_m, deadline=dl,
                                     measurements=None if measurements is None else str(measurements),
                                     progress=callback, executor=executor)
            n = len(report.cities)
            callback("report", 0, n, "")
            done = [0]

            def page(cid: str) -> None:
                done[0] += 1
                callback("report", done[0], n, cid)

            write_text_atomic(out / "scenario.yaml", sc.to_yaml())
            index = write_national_report(report, out, lang=lang, progress=page)
        late = [c.id for c in report.cities if c.status != "on_time"]
        for c in report.cities:
            if c.error:
                typer.echo(f"warning: {c.id}: planning failed: {c.error}", err=True)
        typer.echo(f"Report: {index}")
        typer.echo(f"{n - len(late)} of {n} cities pass their quality gate by {report.deadline.isoformat()}"
                   + (f"; not on time: {', '.join(late)}" if late else ""))
        if strict and late:
            raise typer.Exit(EXIT_TARGETS_NOT_MET)

    @app.command("schedule")
    @guarded
    def schedule(
        scenario: Optional[Path] = typer.Option(None, "--scenario", help="Scenario file (YAML or TOML)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Folder for schedule.csv and summary.json."),
        cities: Optional[str] = typer.Option(None, "--cities", help="Comma-separated city ids (default: all)."),
        resolution_m: Optional[float] = typer.Option(None, "--resolution-m", help="Grid resolution, m."),
        deadline: Optional[str] = typer.Option(None, "--deadline", help="Deadline YYYY-MM-DD."),
        crews: Optional[int] = typer.Option(None, "--crews", help="Crews per pool."),
        rate: Optional[float] = typer.Option(None, "--sites-per-crew-month", help="Sites one crew builds a month."),
        budget: Optional[float] = typer.Option(None, "--monthly-budget", help="Monthly budget (currency units)."),
        priority: Optional[str] = typer.Option(None, "--priority",
                                               help="people-per-cost, city-by-city, or comma-separated city ids."),
        search: Optional[str] = typer.Option(None, "--search", help="Resource to minimise: crews, budget or none."),
        strict: bool = typer.Option(False, "--strict", help="Exit 3 when a city misses the deadline."),
        dask: Optional[str] = typer.Option(None, "--dask", help=DASK_HELP),
    ) -> None:
        """Plan and schedule (no HTML): month each site goes on air, each city's gate, the fewest crews."""
        from qamtu.fileio import write_json_atomic, write_text_atomic
        from qamtu.report.national import _write_csv, summary_dict
        from qamtu.report.run import run_national

        overrides: dict[str, Any] = {}
        if crews is not None:
            overrides["crews.count"] = crews
        if rate is not None:
            overrides["crews.sites_per_crew_month"] = rate
        if budget is not None:
            overrides["budget.monthly"] = budget
        if priority is not None:
            overrides["priority"] = priority if priority in ("people-per-cost", "city-by-city") else [
                p.strip() for p in priority.split(",") if p.strip()]
        if search is not None:
            overrides["search.resource"] = search
        sc, dl = _load(scenario, resolution_m, deadline, overrides)
        bars, callback = _progress_bars()
        with bars, open_executor(dask) as executor:
            report, _ = run_national(sc, city_ids=_cities(cities), resolution_m=resolution_m, deadline=dl,
                                     progress=callback, executor=executor)
        summary = summary_dict(report)
        for c in report.cities:
            if c.error:
                typer.echo(f"warning: {c.id}: planning failed: {c.error}", err=True)
        if out is not None:
            _write_csv(out / "schedule.csv", report.schedule_rows)
            write_json_atomic(out / "summary.json", summary)
            write_text_atomic(out / "scenario.yaml", sc.to_yaml())
        echo_json({"deadline": summary["deadline"], "comparison": summary["comparison"],
                   "cities": [{k: c[k] for k in ("id", "sites", "cost", "gate_month", "on_time")}
                              for c in summary["cities"]]})
        if strict and any(not c["on_time"] for c in summary["cities"]):
            raise typer.Exit(EXIT_TARGETS_NOT_MET)
