"""The national run: plan every city, schedule the rollout, search the resources, build the report's content.

:func:`run_national` is what ``qamtu national`` runs. Per city: the study area (``qamtu.geo.make_study_area``;
the scenario's boundary/population files or the catalogue's disc and population model), candidates (the
scenario's file, else a hexagonal lattice, plus the operator's existing sites as always-on), the plan
(``qamtu.plan.planner.plan_city``), and a gate evaluator backed by the engine
(:func:`qamtu.rollout.gates.engine_gate`). Then one national schedule (:func:`qamtu.rollout.schedule_rollout`)
and the fewest crews (or smallest monthly budget) for each of the two deadlines. A city whose study area or plan
cannot be made is kept in the report with the error (never dropped silently).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable
from typing import Any

import numpy as np

from qamtu.errors import QamtuError
from qamtu.report.national import CityReport, NationalReport
from qamtu.report.sensitivity import Chain, answer, sweep
from qamtu.rollout import (
    GateResult,
    ScheduleParams,
    SiteTask,
    cached_gate,
    month_index_of,
    month_label,
    schedule_rollout,
)
from qamtu.rollout.gates import GateTargets, dl_p5_from_kpis, engine_gate
from qamtu.rollout.scenario import Scenario

#: ``progress(stage, done, total, detail)``: called as the run advances (the CLI draws rich progress bars).
Progress = Callable[[str, int, int, str], None]


@dataclasses.dataclass
class CityRun:
    """What the run keeps per city besides the report: the plan, the area, the gate, the tasks."""

    city: Any
    area: Any = None
    plan: Any = None
    config: Any = None
    tasks: list[SiteTask] = dataclasses.field(default_factory=list)
    gate: Callable[..., GateResult] | None = None
    targets: GateTargets | None = None
    error: str | None = None


def _status(gate_month: int | None, deadline_index: int) -> str:
    if gate_month is None:
        return "never"
    return "on_time" if gate_month <= deadline_index else "late"


def _engine_config(scenario: Scenario):
    from qamtu.engine import EngineConfig

    knobs = dict(scenario["engine"])
    if "tdd_special_symbols" in knobs and isinstance(knobs["tdd_special_symbols"], list):
        knobs["tdd_special_symbols"] = tuple(knobs["tdd_special_symbols"])
    try:
        return EngineConfig(**knobs)
    except TypeError as exc:
        raise QamtuError(f"{scenario.source}: key 'engine': {exc}") from exc


def plan_one_city(city: Any, scenario: Scenario, resolution_m: float, config: Any,
                  progress: Callable[[str], None] | None = None) -> CityRun:
    """Study area, candidates, plan and gate of one city (errors are kept in ``CityRun.error``)."""
    from qamtu.geo.area import make_study_area
    from qamtu.geo.sites import read_sites
    from qamtu.plan.candidates import combine_candidates, existing_sites, lattice_candidates, read_candidates
    from qamtu.plan.planner import plan_city
    from qamtu.plan.problem import Targets

    run = CityRun(city=city, config=config)
    files = scenario.city_files(city.id)
    republican = city.status == "city_of_republican_significance"
    t = scenario.targets_for(city.id, republican)
    try:
        run.targets = GateTargets(t["territory_share"], t["population_share"], t["dl_p5_mbps"])
        area = make_study_area(city, resolution_m=resolution_m, boundary=files.get("boundary"),
                               population=files.get("population"))
        run.area = area
        pl = scenario["planning"]
        frames = []
        if "candidates" in files:
            frames.append(read_candidates(files["candidates"]))
        else:
            frames.append(lattice_candidates(area, pl["candidate_spacing_m"], cost=pl["candidate_cost"]))
        if "sites" in files:
            frames.append(existing_sites(read_sites(files["sites"]), source=files["sites"]))
        candidates = combine_candidates(*frames)
        plan = plan_city(area, candidates, Targets(territory_share=t["territory_share"],
                                                   population_share=t["population_share"]),
                         config, method=pl["method"], time_limit_s=pl["time_limit_s"], progress=progress)
        run.plan = plan
    except QamtuError as exc:
        run.error = str(exc)
        return run

    per_site = _per_site_columns(plan.candidates, files.get("candidates", "candidates"))
    for i, row in enumerate(plan.sites.to_dict("records")):
        if str(row.get("origin", "")) == "existing":  # on air already: always on in the gate, not scheduled
            continue
        extra = per_site.get(str(row["site_id"]), {})
        pool = _pool(scenario["crews"]["pools"], city, extra)
        site_class = str(extra.get("site_class") or row.get("origin") or "new_site")
        lead = extra.get("lead_time_months")
        run.tasks.append(SiteTask(
            city_id=city.id, site_id=str(row["site_id"]), cost=float(row.get("cost", 0.0)),
            lead_time_months=scenario.lead_time_months(site_class) if lead is None else lead,
            site_class=site_class,
            order=int(row.get("order", i)), people=max(0.0, float(row.get("added_population", 0.0) or 0.0)),
            pool=pool,
        ))
    run.gate = city_gate(run, config)
    return run


def city_gate(run: CityRun, config: Any) -> Callable[..., GateResult]:
    """The engine-backed gate of a planned city with engine settings ``config`` (existing sites always on)."""
    cand = run.plan.candidates
    always_on = (cand["origin"].to_numpy() == "existing") if "origin" in cand else None
    return engine_gate(run.area, run.plan.links, config, cand["site_id"].to_numpy(), run.targets,
                       always_on=always_on)


def _pool(kind: str, city: Any, extra: dict[str, Any]) -> str:
    """The crew pool of a site: ``national``; the city's region; or the site's ``operator`` column (sites with
    no operator, e.g. generated lattice candidates, go to the pool ``"unassigned"``)."""
    if kind == "national":
        return "national"
    if kind == "region":
        return str(city.region_en)
    return str(extra.get("operator") or "unassigned")


def _per_site_columns(candidates: Any, source: str) -> dict[str, dict[str, Any]]:
    """Optional per-site ``site_class``, ``operator`` and ``lead_time_months`` columns of a candidate table.

    ``lead_time_months`` (an integer >= 0, months from the start) overrides the class lead time of the scenario;
    ``operator`` picks the crew pool when the scenario's ``crews.pools`` is ``operator``.
    """
    from qamtu.errors import InvalidInputError, where

    out: dict[str, dict[str, Any]] = {}
    cols = [c for c in ("site_class", "operator", "lead_time_months") if c in candidates.columns]
    if not cols:
        return out
    for rec in candidates[["site_id", *cols]].to_dict("records"):
        entry: dict[str, Any] = {}
        for col in ("site_class", "operator"):
            if col in rec and isinstance(rec[col], str) and rec[col].strip():
                entry[col] = rec[col].strip()
        if "lead_time_months" in rec and rec["lead_time_months"] is not None and rec["lead_time_months"] == rec[
                "lead_time_months"]:
            value = rec["lead_time_months"]
            if not (float(value).is_integer() and 0 <= float(value) <= 240):
                raise InvalidInputError(
                    f"{where(source, None, 'lead_time_months')} of site {rec['site_id']!r}: {value!r} is not allowed; "
                    "expected an integer "
                    "number of months from 0 to 240")
            entry["lead_time_months"] = int(value)
        out.setdefault(str(rec["site_id"]), entry)
    return out


def run_national(
    scenario: Scenario,
    *,
    city_ids: list[str] | None = None,
    resolution_m: float | None = None,
    deadline: _dt.date | None = None,
    measurements: str | None = None,
    progress: Progress | None = None,
    keep_going: bool = True,
    sensitivity: bool = True,
) -> tuple[NationalReport, dict[str, CityRun]]:
    """Plan, schedule and search for the cities of ``scenario`` (or ``city_ids``); return the report content.

    Parameters
    ----------
    scenario : Scenario
    city_ids : list of str, optional
        Overrides ``cities.ids``.
    resolution_m : float, optional
        Overrides ``planning.resolution_m`` (metres per pixel).
    deadline : datetime.date, optional
        Overrides ``deadline``.
    measurements : path, optional
        Drive-test CSV for :func:`qamtu.audit.pipeline.city_quality`; each city page then shows predicted and
        measured quality side by side.
    progress : callable(stage, done, total, detail), optional
    keep_going : bool
        True: a city whose study area or plan fails is kept in the report with its error. False: the first such
        city stops the run with :class:`~qamtu.errors.QamtuError` naming it (``qamtu national`` without
        ``--keep-going``).
    sensitivity : bool
        Also run the sweep of :mod:`qamtu.report.sensitivity` (the headline under one step of each assumption).
    """
    from qamtu.geo.catalogue import load_cities

    def tick(stage: str, done: int, total: int, detail: str = "") -> None:
        if progress is not None:
            progress(stage, done, total, detail)

    catalogue = {c.id: c for c in load_cities()}
    ids = city_ids if city_ids is not None else scenario.city_ids(list(catalogue))
    unknown = [c for c in ids if c not in catalogue]
    if unknown:
        raise QamtuError(f"unknown city ids {unknown}; allowed: {', '.join(catalogue)}")
    res = float(resolution_m if resolution_m is not None else scenario["planning"]["resolution_m"])
    deadline = deadline or scenario["deadline"]
    comparison_deadline = scenario["comparison_deadline"]
    config = _engine_config(scenario)

    runs: dict[str, CityRun] = {}
    for i, cid in enumerate(ids):
        tick("plan", i, len(ids), cid)
        runs[cid] = plan_one_city(catalogue[cid], scenario, res, config,
                                  progress=lambda msg, _i=i, _c=cid: tick("plan", _i, len(ids), f"{_c}: {msg}"[:70]))
        if not keep_going and runs[cid].error is not None:
            raise QamtuError(f"city {cid}: planning failed: {runs[cid].error} (run with --keep-going to report "
                             "the other cities and mark this one failed)")
    tick("plan", len(ids), len(ids), "")

    gates = {cid: cached_gate(r.gate) for cid, r in runs.items() if r.gate is not None}

    def gate(city_id: str, on_air: frozenset) -> GateResult:
        return gates[city_id](city_id, on_air)

    tasks = [t for r in runs.values() for t in r.tasks]
    pools = sorted({t.pool for t in tasks}) or ["national"]
    cr = scenario["crews"]
    bd = scenario["budget"]
    params = ScheduleParams(
        start=scenario["start"], crews={p: scenario.crews_for(p) for p in pools},
        sites_per_crew_month=cr["sites_per_crew_month"], monthly_budget=bd["monthly"], carry_over=bd["carry_over"],
        priority=scenario["priority"], city_order=list(gates), max_months=240,
    )
    planned = list(gates)
    tick("schedule", 0, 1, "")
    sched = schedule_rollout(tasks, params, gate, cities=planned, gate_mode="all")
    tick("schedule", 1, 1, "")

    resource = scenario["search"]["resource"]
    method = scenario["search"]["method"]
    comparison = []
    for k, d in enumerate((deadline, comparison_deadline)):
        tick("search", k, 2, d.isoformat())
        comparison.append(answer(tasks, params, gate, planned, d, resource=resource, method=method,
                                 schedule=sched))
        comparison[-1]["cities"] = len(ids)
    tick("search", 2, 2, "")
    rows_sensitivity: list[dict[str, Any]] = []
    if sensitivity and planned:
        chain = Chain(tasks=tasks, params=params, gates=gates, cities=planned, deadline=deadline,
                      resource=resource, method=method, config=config,
                      gate_for=lambda cid, cfg: cached_gate(city_gate(runs[cid], cfg)))
        rows_sensitivity = sweep(chain, progress=lambda i, n: tick("sensitivity", i, n, ""))
        for row in rows_sensitivity:
            row["cities"] = len(ids)

    deadline_index = month_index_of(params.start, deadline)
    last = max(sched.months, month_index_of(params.start, comparison_deadline) + 1)
    months = [month_label(params.start, m) for m in range(last)]

    measured_rows = _measured(measurements, ids, runs, scenario) if measurements else {}
    cities: list[CityReport] = []
    for cid in ids:
        r = runs[cid]
        c = r.city
        names = {"en": c.name_en, "ru": c.name_ru, "kk": c.name_kk}
        if r.error is not None or r.plan is None:
            cities.append(CityReport(
                id=cid, names=names, lat=c.lat, lon=c.lon, population=float(c.population), site_rows=[], cost=0.0,
                territory_share=None, population_share=None, dl_p5_mbps=None, gate_label=None, status="never",
                passes_at_end=False, targets=dataclasses.asdict(r.targets) if r.targets else {}, error=r.error,
                kind=c.status, late={"reason": "failed"}))
            continue
        cs = sched.cities[cid]
        plan = r.plan
        cov = plan.coverage
        kp = dict(plan.kpis)
        on_air = {t.site_id: sched.site_month[t.key] for t in r.tasks}
        rows = []
        for row in plan.sites.to_dict("records"):
            m = on_air.get(str(row["site_id"]))
            existing = str(row.get("origin", "")) == "existing"
            rows.append({
                "site_id": str(row["site_id"]), "lat": float(row["lat"]), "lon": float(row["lon"]),
                "x_m": float(row["x_m"]), "y_m": float(row["y_m"]), "cost": float(row.get("cost", 0.0)),
                "order": int(row.get("order", 0)), "origin": str(row.get("origin", "")),
                "on_air_month": "on air" if existing else (None if m is None else month_label(params.start, m)),
                "explanation": str(row.get("explanation", "")),
                "added_population": float(row.get("added_population", 0.0) or 0.0),
                "added_area_km2": float(row.get("added_area_km2", 0.0) or 0.0),
                "unique_population": float(row.get("unique_population", 0.0) or 0.0),
            })
        mask = np.asarray(r.area.mask, bool)
        covered = np.where(mask, np.asarray(cov.covered, float), np.nan)
        dl = np.where(mask, np.asarray(cov.dl_mbps, float), np.nan)
        final = cs.evaluations[-1][1]
        timeline = [(month_label(params.start, max(m, 0)), float(res_.kpis.get("population_covered", 0.0)))
                    for m, res_ in cs.evaluations]
        notes = []
        if getattr(r.area, "boundary_is_approximation", False):
            notes.append(("note_boundary_approx", {}))
        if not plan.targets_met:
            notes.append(("note_plan_short", {}))
        cities.append(CityReport(
            id=cid, names=names, lat=c.lat, lon=c.lon, population=float(c.population), site_rows=rows,
            cost=float(sum(t.cost for t in r.tasks)),
            territory_share=kp.get("territory_share"), population_share=kp.get("population_share"),
            dl_p5_mbps=dl_p5_from_kpis(kp), gate_label=cs.gate_label, status=_status(cs.gate_month, deadline_index),
            passes_at_end=cs.passes_at_end, targets=dataclasses.asdict(r.targets), reasons=list(final.reasons),
            timeline=timeline, crs=r.area.crs, transform=r.area.transform, covered=covered, dl_mbps=dl,
            boundary=r.area.boundary, to_lonlat=r.area.to_lonlat,
            measured=measured_rows.get(cid, {}).get("rows"), measured_source=measured_rows.get(cid, {}).get("source"),
            notes=notes, kind=c.status, late=_late(sched, cid, deadline),
            population_share_all=(kp.get("population_share") if config.coverage_users == "all"
                                  else _share_other_users(r)),
        ))
    notes_national = [("note_method", {"res": res, "spacing": float(scenario["planning"]["candidate_spacing_m"]),
                                       "rate": float(params.sites_per_crew_month)})]
    resources = {"crews": dict(params.crews), "sites_per_crew_month": params.sites_per_crew_month,
                 "monthly_budget": params.monthly_budget, "carry_over": params.carry_over,
                 "priority": params.priority, "resolution_m": res}
    report = NationalReport(
        cities=cities, start=params.start, deadline=deadline, comparison_deadline=comparison_deadline,
        months=months, comparison=comparison, search_resource=resource, resources=resources,
        currency=scenario["currency"], schedule_rows=sched.site_rows(), notes=notes_national,
        assumptions=assumptions_of(runs, config), sensitivity=rows_sensitivity,
    )
    return report, runs


def assumptions_of(runs: dict[str, CityRun], config: Any) -> dict[str, Any]:
    """What the numbers assume: how many study areas use the catalogue's disc and the population model, the
    user class and the coverage criterion of the engine."""
    areas = [r.area for r in runs.values() if r.area is not None]
    return {
        "cities": len(runs),
        "boundary_approx": sum(bool(getattr(a, "boundary_is_approximation", True)) for a in areas)
        + sum(r.area is None for r in runs.values()),
        "population_model": sum(bool(getattr(a, "population_is_model", True)) for a in areas)
        + sum(r.area is None for r in runs.values()),
        "users": config.coverage_users, "rsrp_threshold_dbm": config.rsrp_threshold_dbm,
        "coverage_level": config.coverage_level, "min_dl_mbps": config.min_dl_mbps, "cell_load": config.cell_load,
    }


def _share_other_users(run: CityRun) -> float | None:
    """Population share covered for the other user class than the scenario's (``all`` <-> ``outdoor``), from the
    plan's stored links (:func:`qamtu.engine.aggregate`; no path loss recomputed)."""
    from qamtu.engine import aggregate

    other = "all" if run.config.coverage_users == "outdoor" else "outdoor"
    res = aggregate(run.area, run.plan.links, dataclasses.replace(run.config, coverage_users=other),
                    active=run.plan.active)
    return res.kpis().get("population_share")


def _late(sched: Any, city_id: str, deadline: _dt.date) -> dict[str, Any]:
    """:func:`qamtu.rollout.lateness.late_reason` as the report's plain mapping (months as "YYYY-MM")."""
    from qamtu.rollout.lateness import late_reason

    why = late_reason(sched, city_id, deadline)
    out = dataclasses.asdict(why)
    for key in ("gate_month", "lead_end_month"):
        m = out.pop(key)
        out[key.replace("_month", "_label")] = None if m is None else month_label(sched.params.start, m)
    return out


#: The technology the engine predicts (NR n78); measured rows of another technology (4G) are shown, not compared.
PREDICTED_TECH = "5G"


def _measured(path: str, ids: list[str], runs: dict[str, CityRun], scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Measured KPIs per city from ``qamtu.audit`` beside the predicted ones (labelled as such).

    Measured: the share of drive-test samples at or above each norm (``qamtu.audit.pipeline.city_quality``, per
    operator and technology). Predicted: the population share whose DL throughput in the plan's engine map is at
    or above the same norm. They are different estimators of the same quality (samples along roads, people in
    pixels) and are shown side by side, not merged; only 5G rows are compared with the (5G) prediction, rows of
    another technology are shown with no predicted value (``other_tech``).
    """
    from qamtu.audit.ingest import read_measurements
    from qamtu.audit.pipeline import city_quality

    meas = read_measurements(path, "drive")
    out: dict[str, dict[str, Any]] = {}
    for cid in ids:
        r = runs[cid]
        if r.plan is None:
            continue
        frame = city_quality(meas, cid, boundary=scenario.city_files(cid).get("boundary"))
        if frame is None or len(frame) == 0:
            continue
        kp = r.plan.kpis
        pct = kp.get("dl_mbps_percentiles", {}) or {}
        rows = []
        for rec in frame.to_dict("records"):
            norm = rec.get("norm_mbps")
            label = ("kpi_share_norm", {"norm": f"{norm:g}", "samples": rec.get("samples"),
                                        "who": f"{rec.get('operator', '')} {rec.get('tech', '')}, {rec.get('period', '')}"})
            same_tech = str(rec.get("tech", "")).upper() == PREDICTED_TECH
            rows.append({"kpi": label, "predicted": _predicted_share(r, norm) if same_tech else None,
                         "measured": rec.get("share"), "kind": "share", "other_tech": not same_tech})
        if "5" in pct:
            rows.append({"kpi": ("kpi_p5_predicted", {}), "predicted": pct["5"],
                         "measured": None, "kind": "rate"})
        out[cid] = {"rows": rows, "source": f"{path} (qamtu.audit, {len(frame)} KPI rows)"}
    return out


def _predicted_share(run: CityRun, norm_mbps: float | None) -> float | None:
    """Predicted population share with DL >= ``norm_mbps`` (engine map of the full plan)."""
    if norm_mbps is None:
        return None
    area = run.area
    mask = np.asarray(area.mask, bool)
    pop = np.where(mask, np.asarray(area.population, float), 0.0)
    if pop.sum() <= 0:
        return None
    dl = np.asarray(run.plan.coverage.dl_mbps, float)
    return float(pop[np.nan_to_num(dl) >= norm_mbps].sum() / pop.sum())
