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
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from qamtu.errors import InternalError, QamtuError
from qamtu.report.records import CityReport, NationalReport
from qamtu.chain.sensitivity import Chain, answer, sweep
from qamtu.rollout import (
    GateResult,
    ScheduleParams,
    SiteTask,
    cached_gate,
    month_index_of,
    month_label,
    schedule_rollout,
)
from qamtu.rollout.gates import dl_p5_from_kpis, engine_gate
from qamtu.chain.scenario import Scenario
from qamtu.targets import Targets

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
    targets: Targets | None = None
    error: str | None = None
    on_air_month: dict[str, str | None] = dataclasses.field(default_factory=dict)
    spacings: dict[str, float] | None = None
    #: Links of the plan's own sectors at another RSRP threshold (dBm -> Links), made once by :func:`city_gate`.
    links_by_threshold: dict[float, Any] = dataclasses.field(default_factory=dict, repr=False)
    #: Gate evaluators kept by :func:`city_gate`: (config with a canonical coverage level, evaluator).
    engines: list[tuple[Any, Any]] = dataclasses.field(default_factory=list, repr=False)
    #: Coverage links shared with the plans of other thresholds and levels (a sweep; :mod:`qamtu.plan.linkshare`).
    links_share: Any = dataclasses.field(default=None, repr=False)
    #: Whether the plan took its coverage links from ``links_share`` (computed by an earlier plan's request).
    links_shared: bool = False


def _status(gate_month: int | None, deadline_index: int) -> str:
    if gate_month is None:
        return "never"
    return "on_time" if gate_month <= deadline_index else "late"


def plan_one_city(city: Any, scenario: Scenario, resolution_m: float, config: Any,
                  progress: Callable[[str], None] | None = None, reuse: CityRun | None = None,
                  decisions: Any = None, siblings: list[Any] | None = None, keep_model: bool = True) -> CityRun:
    """Study area, candidates, plan and gate of one city (errors are kept in ``CityRun.error``).

    The inputs and the plan are those of :mod:`qamtu.chain.city` (what ``qamtu plan`` makes of the same scenario).
    ``siblings``: the engine configurations of other plans of this city that differ from ``config`` only in
    :data:`LINK_FREE_FIELDS` (a sweep's thresholds, levels, loads): the coverage links are computed once for all
    of those that give the same candidate table (:func:`qamtu.chain.city.same_candidates`) and kept on the run
    (``links_share``, :mod:`qamtu.plan.linkshare`). ``reuse``: such an earlier run of the same city; its share
    gives this plan its coverage links (computed with the earlier run's, identical to a computation of their own).
    ``decisions``: the city's rows of a decisions file (:mod:`qamtu.plan.decisions`); the plan honours them.
    Once planned, the served-area models the planning made are released (:func:`qamtu.engine.served.
    release_cache`): the fresh evaluations' go, the one the plan's links hold (its gate) is trimmed.
    ``keep_model`` False: the plan lets go of the planner's model (``Plan.model``: the candidates' coverage links;
    nothing after the plan uses it), as a national run's city stage does.
    """
    from qamtu.chain.city import city_inputs, plan_inputs, same_candidates, study_area
    from qamtu.engine.served import release_cache
    from qamtu.plan.linkshare import LinkShare

    run = CityRun(city=city, config=config)
    try:
        run.targets = scenario.city_targets(city)
        run.area = study_area(city, scenario, resolution_m)
        inputs = city_inputs(city, scenario, config=config, area=run.area)
        run.spacings = inputs.spacings
        if reuse is not None and reuse.links_share is not None:
            run.links_share = reuse.links_share
        elif siblings:
            run.links_share = LinkShare(same_candidates(inputs, [config, *(c for c in siblings if c != config)]))
        source = str(decisions["source"].iloc[0]) if decisions is not None and len(decisions) else "decisions"
        taken = run.links_share.taken if run.links_share is not None else 0
        plan = plan_inputs(inputs, scenario, decisions=decisions, decisions_source=source, progress=progress,
                           share=run.links_share)
        run.plan = plan if keep_model else dataclasses.replace(plan, model=None)
        run.links_shared = run.links_share is not None and run.links_share.taken > taken
    except InternalError:
        raise
    except QamtuError as exc:
        run.error = str(exc)
        return run
    finally:  # the city's served-area models (its fresh evaluations'; its own, kept by its links, trimmed)
        release_cache()

    files = scenario.city_files(city.id)
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
    """The engine-backed gate of a planned city with engine settings ``config`` (existing sites always on).

    The plan's stored links are re-aggregated (no path loss recomputed) unless ``config`` asks for another RSRP
    threshold: the per-link coverage probabilities belong to the threshold they were computed with, so then the
    links of the plan's own sectors (the chosen and the existing sites, every subset the schedule can put on air)
    are computed once with ``config`` (:func:`qamtu.plan.model.subset_links`) and kept on the run.
    """
    cand = run.plan.candidates
    always_on = (cand["origin"].to_numpy() == "existing") if "origin" in cand else None
    links = run.plan.links
    if config.rsrp_threshold_dbm != links.config.rsrp_threshold_dbm:
        links = _plan_links_at(run, config, always_on)
    return engine_gate(run.area, links, config, cand["site_id"].to_numpy(), run.targets, always_on=always_on,
                       engine=_shared_engine(run, links, config))


#: bytes of kernel outputs a shared gate evaluator keeps (per city), so that a set of sites asked again under
#: another coverage level costs no kernel pass
GATE_MEMO_BYTES = 8 * 2**20


def _shared_engine(run: CityRun, links: Any, config: Any) -> Any:
    """The gate evaluator of ``links`` for ``config``, shared by every config that differs only in the coverage
    level among those the sensitivity sweep uses (:func:`qamtu.chain.sensitivity.probability_values` of the
    run's own level): they ask the same kernel passes, compared with other levels. Kept on the run."""
    from qamtu.engine.aggregate import IncrementalAggregator
    from qamtu.chain.sensitivity import probability_values

    full = run.targets.dl_p5_mbps is not None
    values = probability_values(float(run.config.coverage_level))
    level = float(config.coverage_level)
    key = config.replace(coverage_level=values[0]) if level in values else config
    for known, engine in run.engines:  # (EngineConfig is not hashable; a few entries per city)
        if known == key and engine.links is links and engine.full == full:
            return engine
    levels = (values[0], values[-1]) if level in values else None
    engine = IncrementalAggregator(run.area, links, config, full=full, levels=levels,
                                   memo_bytes=GATE_MEMO_BYTES if levels else 0)
    run.engines.append((key, engine))
    return engine


def _plan_links_at(run: CityRun, config: Any, always_on: Any) -> Any:
    """Links of the plan's sectors with the RSRP threshold of ``config``, indexed like the candidate table."""
    from qamtu.plan.model import subset_links

    cache = run.links_by_threshold
    key = float(config.rsrp_threshold_dbm)
    if key not in cache:
        cand = run.plan.candidates
        chosen = set(map(str, run.plan.sites["site_id"]))
        keep = np.asarray(cand["site_id"].astype(str).isin(chosen), dtype=bool)
        if always_on is not None:
            keep = keep | np.asarray(always_on, dtype=bool)
        # (with the plan's served-area model, as the plan's own links: the gate re-aims the beams at the served
        # areas of the sites on air and takes their UL interference, not a fixed aim and the UL margin)
        cache[key] = subset_links(run.area, cand, np.flatnonzero(keep), config, run.plan.links.sectors,
                                  served=run.plan.links.served)
    return cache[key]


#: Engine (scenario ``engine.*``) fields whose change leaves the path terms of the links unchanged: a city stage that
#: differs from another only in these shares its coverage links (:data:`qamtu.engine.links.LINK_SHARED_FIELDS`:
#: each link's coverage probability, radius and relevance rule are derived per threshold from one evaluation).
LINK_FREE_FIELDS = ("rsrp_threshold_dbm", "coverage_level", "cell_load", "min_dl_mbps", "max_cutoff_m")


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


@dataclasses.dataclass
class PlannedCities:
    """The city stage of a national run: each city's plan and its engine-backed gate (shared by a sweep).

    ``runs`` are what the driver keeps (on a Dask cluster: copies without the links and the planner's model);
    ``handles`` are the full runs where they were computed (``executor.call(fn, handle, ...)`` runs there);
    ``gates[city_id](city_id, on_air)`` evaluates the gate where the links are, cached per set of sites.
    """

    ids: list[str]
    resolution_m: float
    runs: dict[str, CityRun]
    gates: dict[str, Callable[..., GateResult]]
    handles: list[Any]
    executor: Any
    config: Any = None
    #: :meth:`other_users_share` per city, once computed
    other_shares: dict[str, float | None] = dataclasses.field(default_factory=dict, repr=False)

    def _here(self) -> bool:
        from qamtu.distributed import SequentialExecutor

        return isinstance(self.executor, SequentialExecutor)

    def gate_with(self, city_id: str, config: Any) -> Callable[..., GateResult]:
        """The gate of a city with other engine settings (the sensitivity sweep), evaluated where its links are."""
        handle = self.handles[self.ids.index(city_id)]
        return functools.partial(self.executor.call, _gate_with, handle, config)

    def forget_config(self, config: Any) -> None:
        """Let go of what the gates of ``config`` (:meth:`gate_with`) keep on every city's run (its evaluators,
        and its links when they are at another RSRP threshold): a sweep's step, once answered. A later
        :meth:`gate_with` of ``config`` builds them again (the same answers)."""
        self.executor.call_many(_forget_config, self.handles, config)

    def other_users_share(self, city_id: str) -> float | None:
        """:func:`_share_other_users` of a city, computed where its links are, once per stage (it depends on the
        plan only: a sweep's combinations that share the stage ask it once)."""
        if city_id not in self.other_shares:
            self.other_shares[city_id] = self.executor.call(_share_other_users, self.handles[self.ids.index(city_id)])
        return self.other_shares[city_id]

    def release(self) -> None:
        """Free the cities' arrays held on the workers."""
        self.executor.release(self.handles)

    def prefetch(self, simulate: Callable[[Callable[..., GateResult]], Any]) -> None:
        """Evaluate, in one batch of tasks (one per city, in parallel), every gate ``simulate(gate)`` asks for.

        ``simulate`` runs a schedule with a recording gate (every answer "not passed"). With ``gate_mode="all"``
        the schedule asks for every month a city's set of sites on air changes whatever the answers, so the real
        schedule then finds all its answers in the gates' caches: on a cluster the gates run in parallel instead of
        one remote call per city and month. Nothing to do when the executor runs here.
        """
        if self._here():
            return
        asked: dict[str, list[frozenset]] = {}

        def record(city_id: str, on_air: frozenset) -> GateResult:
            key = frozenset(on_air)
            if key not in asked.setdefault(city_id, []) and (city_id, key) not in self.gates[city_id].cache:
                asked[city_id].append(key)
            return GateResult(passed=False)

        simulate(record)
        handle = dict(zip(self.ids, self.handles))
        cities = [c for c in asked if asked[c]]
        results = self.executor.map(_gates_of, [(handle[c], c, asked[c]) for c in cities], labels=cities)
        for c, answers in zip(cities, results):
            for on_air, verdict in zip(asked[c], answers):
                self.gates[c].cache[(c, on_air)] = verdict


def _gate_of(run: CityRun, city_id: str, on_air: frozenset) -> GateResult:
    """The gate of a city, evaluated where its run (and its links) lives."""
    return run.gate(city_id, on_air)


def _gate_with(run: CityRun, config: Any, city_id: str, on_air: frozenset) -> GateResult:
    """The gate of a city with engine settings ``config``, evaluated where its run lives.

    The gate is kept on the run per ``config`` object (the sweep asks one config for many site sets); its
    evaluator is shared with every gate whose config differs only in the coverage level (:func:`city_gate`).
    """
    cache = run.__dict__.setdefault("_gates_by_config", {})
    entry = cache.get(id(config))
    if entry is None or entry[0] is not config:
        entry = cache[id(config)] = (config, city_gate(run, config))
    return entry[1](city_id, on_air)


def _forget_config(run: CityRun, config: Any) -> None:
    """:meth:`PlannedCities.forget_config` on one city's run: its gates of ``config`` (:func:`_gate_with`), the
    evaluators made for ``config`` alone (not one the run's own gate shares, :func:`_shared_engine`) and the links
    of the plan's sectors at ``config``'s threshold when it is not the plan's."""
    cache = run.__dict__.get("_gates_by_config", {})
    for key in [k for k, (known, _) in cache.items() if known == config]:
        del cache[key]
    run.engines = [(key, engine) for key, engine in run.engines if engine.config != config]
    if run.plan is not None and float(config.rsrp_threshold_dbm) != float(run.plan.links.config.rsrp_threshold_dbm):
        run.links_by_threshold.pop(float(config.rsrp_threshold_dbm), None)


def _gates_of(run: CityRun, city_id: str, sets: list[frozenset]) -> list[GateResult]:
    """Several gates of one city in one task."""
    return [run.gate(city_id, on_air) for on_air in sets]


def _light(run: CityRun) -> CityRun:
    """The run without what only the gate needs (links, the planner's model): what goes back to the driver."""
    plan = None if run.plan is None else dataclasses.replace(run.plan, links=None, model=None)
    return dataclasses.replace(run, plan=plan, gate=None, links_by_threshold={}, engines=[], links_share=None)


def plan_cities(scenario: Scenario, *, city_ids: list[str] | None = None, resolution_m: float | None = None,
                executor: Any = None, progress: Progress | None = None, keep_going: bool = True,
                reuse: PlannedCities | None = None, decisions: str | None = None,
                siblings: list[Any] | None = None) -> PlannedCities:
    """Plan each city of the run (:func:`plan_one_city`), one task per city on ``executor`` (default: here).

    ``decisions``: a decisions file with a ``city`` column (:func:`_decisions_by_city`); each city's rows go to its
    plan.

    ``siblings``: engine configurations of later city stages that differ from this one's only in
    :data:`LINK_FREE_FIELDS`: each city computes its coverage links for them too (:func:`plan_one_city`).
    ``reuse``: such an earlier city stage; each city takes its coverage links from it (where they are: on a
    cluster, the task runs beside them). ``keep_going``: as for :func:`run_national`.
    """
    from qamtu.distributed import SequentialExecutor
    from qamtu.geo.catalogue import load_cities

    catalogue = {c.id: c for c in load_cities()}
    ids = city_ids if city_ids is not None else scenario.city_ids(list(catalogue))
    unknown = [c for c in ids if c not in catalogue]
    if unknown:
        raise QamtuError(f"unknown city ids {unknown}; allowed: {', '.join(catalogue)}")
    res = float(resolution_m if resolution_m is not None else scenario["planning"]["resolution_m"])
    config = scenario.engine_config()
    ex = executor if executor is not None else SequentialExecutor()

    def tick(done: int, total: int, detail: str) -> None:
        if progress is not None:
            progress("plan", done, total, detail)

    here = isinstance(ex, SequentialExecutor)

    def said(i: int, cid: str) -> Callable[[str], None] | None:  # the planner's messages (not sent to workers)
        return (lambda msg: tick(i, len(ids), f"{cid}: {msg}"[:70])) if here and progress is not None else None

    # on a cluster a task computes its links on its worker's own thread (one thread per worker process), not on
    # a pool of the machine's cores that every worker process of the machine would start (results do not depend
    # on EngineConfig.workers)
    task_config = config if here else config.replace(workers=1)
    task_siblings = [c if here else c.replace(workers=1) for c in siblings] if siblings else None
    donors = dict(zip(reuse.ids, reuse.handles)) if reuse is not None else {}
    by_city = _decisions_by_city(decisions, ids) if decisions else {}
    handles = ex.keep(plan_one_city, [(catalogue[cid], scenario, res, task_config, said(i, cid), donors.get(cid),
                                       by_city.get(cid), task_siblings, False) for i, cid in enumerate(ids)],
                     labels=ids,
                     progress=tick)
    kept = handles if here else ex.call_many(_light, handles)
    runs = dict(zip(ids, kept))
    failed = [cid for cid in ids if runs[cid].error is not None]
    if failed and not keep_going:
        ex.release(handles)
        cid = failed[0]
        raise QamtuError(f"city {cid}: planning failed: {runs[cid].error} (run with --keep-going to report "
                         "the other cities and mark this one failed)")
    gates = {cid: cached_gate(functools.partial(ex.call, _gate_of, h))
             for cid, h in zip(ids, handles) if runs[cid].error is None and runs[cid].plan is not None}
    return PlannedCities(list(ids), res, runs, gates, list(handles), ex, config)


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
    executor: Any = None,
    planned: PlannedCities | None = None,
    decisions: str | None = None,
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
        Also run the sweep of :mod:`qamtu.chain.sensitivity` (the headline under one step of each assumption).
    executor : qamtu.distributed executor, optional
        Where the cities are planned (:func:`qamtu.distributed.open_executor`); default: here, one after the other.
    planned : PlannedCities, optional
        The city stage of an earlier call (:func:`plan_cities`) to reuse: a sweep over schedule keys plans once.
    decisions : path, optional
        Decisions file (:mod:`qamtu.plan.decisions`) with a ``city`` column on every row: each city's re-plan
        honours its rows; the city page lists where they overruled the optimiser and what that cost.
    """

    def tick(stage: str, done: int, total: int, detail: str = "") -> None:
        if progress is not None:
            progress(stage, done, total, detail)

    if planned is None:
        planned = plan_cities(scenario, city_ids=city_ids, resolution_m=resolution_m, executor=executor,
                              progress=progress, keep_going=keep_going, decisions=decisions)
    stage = planned
    ids, res, runs, gates, config = stage.ids, stage.resolution_m, stage.runs, stage.gates, stage.config
    deadline = deadline or scenario["deadline"]
    comparison_deadline = scenario["comparison_deadline"]

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
    stage.prefetch(lambda g: schedule_rollout(tasks, params, g, cities=planned, gate_mode="all"))
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
                      gate_for=lambda cid, cfg: cached_gate(stage.gate_with(cid, cfg)),
                      release=stage.forget_config)
        rows_sensitivity = sweep(chain, progress=lambda i, n: tick("sensitivity", i, n, ""))
        for row in rows_sensitivity:
            row["cities"] = len(ids)

    last = max(sched.months, month_index_of(params.start, comparison_deadline) + 1)
    months = [month_label(params.start, m) for m in range(last)]

    measured = _measured(measurements, ids, runs, scenario) if measurements else {}
    cities = [_city_report(cid, runs[cid], sched, params, deadline, measured, config, stage) for cid in ids]
    spacing: Any = scenario["planning"]["candidate_spacing_m"]
    if spacing is None:  # one lattice per environment class: the range of the spacings used
        used = [v for r in runs.values() if r.spacings for v in r.spacings.values()]
        spacing = f"{min(used):.0f}-{max(used):.0f}" if used else "-"
    notes_national = [("note_method", {"res": res, "spacing": spacing if isinstance(spacing, str) else float(spacing),
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


def _city_notes(r: CityRun) -> list[tuple[str, dict[str, Any]]]:
    """The notes of a planned city's page: boundary, terrain, a plan short of its targets, people, capacity and
    decisions (i18n keys with their parameters)."""
    plan = r.plan
    notes = []
    info = getattr(r.area, "info", {})
    if info.get("settlement_cut"):
        notes.append(("note_boundary_cut", {"admin": f"{info['admin_area_km2']:,.0f}",
                                            "area": f"{r.area.boundary_area_km2:,.0f}"}))
    elif getattr(r.area, "boundary_is_approximation", False):
        notes.append(("note_boundary_approx", {}))
    terrain = getattr(r.area, "terrain_source", None)
    if terrain is None:
        notes.append(("note_terrain_flat", {}))
    else:
        name = "SRTM3" if "SRTM3" in terrain else "GEBCO" if "GEBCO" in terrain else terrain
        notes.append(("note_terrain", {"name": name, "res": f"{r.area.terrain.resolution_m:.0f}"}))
    if not plan.targets_met:
        notes.append(("note_plan_short", {}))
    notes.append(_people_note(r))
    if plan.summary.get("capacity") is not None:
        notes.append(_capacity_note(plan.summary))
    if plan.decisions is not None:
        notes.append(_decisions_note(plan.decisions))
    return notes


def _city_report(cid: str, r: CityRun, sched: Any, params: ScheduleParams, deadline: _dt.date,
                 measured_rows: dict[str, dict[str, Any]], config: Any, stage: PlannedCities) -> CityReport:
    """The report's content of one city: its sites with their on-air months, maps, timeline, notes and status
    (sets ``r.on_air_month``)."""
    c = r.city
    deadline_index = month_index_of(params.start, deadline)
    names = {"en": c.name_en, "ru": c.name_ru, "kk": c.name_kk}
    if r.error is not None or r.plan is None:
        return CityReport(
            id=cid, names=names, lat=c.lat, lon=c.lon, population=float(c.population), site_rows=[], cost=0.0,
            territory_share=None, population_share=None, dl_p5_mbps=None, gate_label=None, status="never",
            passes_at_end=False, targets=dataclasses.asdict(r.targets) if r.targets else {}, error=r.error,
            kind=c.status, late={"reason": "failed"})
    cs = sched.cities[cid]
    plan = r.plan
    cov = plan.coverage
    kp = dict(plan.kpis)
    on_air = {t.site_id: sched.site_month[t.key] for t in r.tasks}
    r.on_air_month = {sid: None if m is None else month_label(params.start, m) for sid, m in on_air.items()}
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
    notes = _city_notes(r)
    terrain = getattr(r.area, "terrain_source", None)
    return CityReport(
        id=cid, names=names, lat=c.lat, lon=c.lon, population=float(c.population), site_rows=rows,
        cost=float(sum(t.cost for t in r.tasks)),
        territory_share=kp.get("territory_share"), population_share=kp.get("population_share"),
        dl_p5_mbps=dl_p5_from_kpis(kp), gate_label=cs.gate_label, status=_status(cs.gate_month, deadline_index),
        passes_at_end=cs.passes_at_end, targets=dataclasses.asdict(r.targets), reasons=list(final.reasons),
        timeline=timeline, crs=r.area.crs, transform=r.area.transform, covered=covered, dl_mbps=dl,
        boundary=r.area.boundary, to_lonlat=r.area.to_lonlat,
        measured=measured_rows.get(cid, {}).get("rows"), measured_source=measured_rows.get(cid, {}).get("source"),
        notes=notes, kind=c.status, late=_late(sched, cid, deadline),
        terrain=terrain, boundary_note=r.area.assumptions().get("boundary"),
        population_share_all=(kp.get("population_share") if config.coverage_users == "all"
                              else stage.other_users_share(cid)),
    )


def run_operators(scenario: Scenario, **kwargs: Any) -> dict[str, tuple[NationalReport, dict[str, CityRun]]]:
    """:func:`run_national` once per operator of ``scenario["operators"]`` (each with its own targets, candidates,
    existing sites, crews and budget; :func:`qamtu.chain.scenario.operator_scenario`)."""
    from qamtu.chain.scenario import operator_scenario

    return {name: run_national(operator_scenario(scenario, name), **kwargs) for name in scenario["operators"]}


def operator_totals(results: dict[str, tuple[NationalReport, dict[str, CityRun]]]) -> list[dict[str, Any]]:
    """One row per operator and a ``total`` row: sites, cost, people covered, cities meeting their targets in the
    plan, and the minimum crews for each deadline (the total adds the operators' crews: each builds its own)."""
    rows = []
    for name, (report, runs) in results.items():
        plans = [r.plan for r in runs.values() if r.plan is not None]
        row: dict[str, Any] = {
            "operator": name, "cities": len(runs), "sites": int(sum(p.summary["sites_selected"] for p in plans)),
            "cost": float(sum(p.summary["cost"] for p in plans)),
            "people_covered": float(sum(p.kpis["population_share"] * p.kpis["population_total"] for p in plans)),
            "plans_meeting_targets": int(sum(bool(p.targets_met) for p in plans)),
        }
        for c in report.comparison:
            row[f"minimum_crews_{c['deadline']}"] = c["minimum"]
        rows.append(row)
    if rows:
        total: dict[str, Any] = {"operator": "total"}
        for k in rows[0]:
            if k == "operator":
                continue
            vals = [r.get(k) for r in rows]
            total[k] = None if any(v is None for v in vals) else sum(vals)
        rows.append(total)
    return rows


def write_city_plans(runs: dict[str, CityRun], out_dir: Any) -> dict[str, dict[str, Any]]:
    """Each planned city's files people load elsewhere, in ``<out_dir>/cities/<id>/``
    (:func:`qamtu.plan.exports.write_plan_files`): ``planned_sectors.csv`` (canonical site format,
    ``status=planned``, the schedule's ``on_air_month``), ``planned_sectors_import.csv``, ``plan.gpkg``,
    ``zones.csv`` (people and territory covered per district or environment class, dark zones) and
    ``plan_summary.json`` (the plan's summary: sites for coverage and capacity, neighbour distances, proof); with a
    decisions file also ``decisions.csv`` (each decision beside the optimiser's own choice)."""
    from pathlib import Path

    from qamtu.fileio import write_csv_atomic, write_json_atomic
    from qamtu.plan.exports import write_plan_files

    out = {}
    for cid, r in runs.items():
        if r.plan is None:
            continue
        folder = Path(out_dir) / "cities" / cid
        out[cid] = write_plan_files(folder, r.plan, r.on_air_month)
        out[cid]["zones_csv"] = write_csv_atomic(folder / "zones.csv", people_zones(r))
        summary = {k: v for k, v in r.plan.summary.items() if k != "rounds"}
        if r.spacings is not None:
            summary["candidate_spacing_by_class_m"] = r.spacings
        out[cid]["plan_summary"] = write_json_atomic(folder / "plan_summary.json", summary)
        if r.plan.decisions is not None:
            out[cid]["decisions_csv"] = write_csv_atomic(folder / "decisions.csv", r.plan.decisions["overruled"])
    return out


def people_zones(run: CityRun) -> Any:
    """Per zone (district, else environment class) people and territory covered by the city's plan
    (:func:`qamtu.plan.people.zone_shares`)."""
    from qamtu.plan.people import zone_shares

    return zone_shares(run.area, np.asarray(run.plan.coverage.covered, bool))


def _people_note(run: CityRun) -> tuple[str, dict[str, Any]]:
    """The city page's line: people vs territory covered and the zones where most people stay dark."""
    zones = people_zones(run)
    dark = zones[zones["dark"]]
    kp = run.plan.kpis
    tg = run.plan.targets
    target = ", ".join(f"{k} {v:.0%}" for k, v in (("territory", tg.territory_share),
                                                     ("people", tg.population_share)) if v is not None)
    listed = ", ".join(f"{z} ({p:.0%} of the people, {c:.0%} covered)" for z, p, c in
                       zip(dark["zone"], dark["population_share"], dark["covered_population_share"])) or "none"
    kind = str(zones["zone_kind"].iloc[0]) if len(zones) else "zone"
    return ("note_people_zones", {"people": f"{kp['population_share']:.1%}", "territory": f"{kp['territory_share']:.1%}",
                                  "target": target, "kind": kind, "dark": listed})


def _decisions_by_city(path: str, ids: list[str]) -> dict[str, Any]:
    """Rows of a national decisions file per city id (every row must name one of the run's cities)."""
    from qamtu.errors import InvalidInputError, where
    from qamtu.plan.decisions import read_decisions

    dec = read_decisions(path)
    for rec in dec.to_dict("records"):
        if rec["city"] not in ids:
            raise InvalidInputError(f"{where(path, rec['row'], 'city')}: {rec['city']!r} is not a city of this run; "
                                    f"allowed: {', '.join(ids)}")
    return {cid: grp for cid, grp in dec.groupby("city", sort=False)}


def _decisions_note(d: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The city page's line: the decisions that overruled the optimiser and their cost."""
    over = [r for r in d["overruled"] if r["overruled"]]
    c = d["cost_of_decisions"]
    listed = "; ".join(f"{r['decision']} {r['site_id']} ({r['who']}, {r['date']}: {r['reason']}; optimiser: "
                       f"{r['optimiser']})" for r in over) or "none"
    return ("note_decisions", {"n": len(over), "listed": listed, "sites": f"{c['sites']:+d}",
                               "cost": f"{c['cost']:+g}", "territory": f"{c['territory_share']:+.1%}",
                               "people": f"{c['population_share']:+.1%}"})


def _capacity_note(s: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The city page's line: sites for coverage and for capacity, neighbour distances."""
    def metres(v: Any) -> str:
        return "n/a" if v is None else f"{v:,.0f}"

    return ("note_capacity", {"coverage_sites": s["sites_for_coverage"], "capacity_sites": s["sites_for_capacity"],
                              "demand": f"{s['capacity']['busy_hour_demand_mbps']:,.0f}",
                              "spacing_all": metres(s["median_neighbour_distance_m"]),
                              "spacing_dense": metres(s["median_neighbour_distance_densest_m"]),
                              "zone": s["densest_zone"] or "n/a"})


def assumptions_of(runs: dict[str, CityRun], config: Any) -> dict[str, Any]:
    """What the numbers assume: where each study area's boundary comes from (``boundary_kinds``: the shipped
    real polygon, its settlement cut, a given file, the catalogue's disc), how many use the population model and
    a terrain model, the user class and the coverage criterion of the engine."""
    areas = [r.area for r in runs.values() if r.area is not None]
    kinds: dict[str, int] = {}
    for a in areas:
        kind = str(getattr(a, "info", {}).get("boundary_kind", "disc" if a.boundary_is_approximation else "given"))
        kinds[kind] = kinds.get(kind, 0) + 1
    failed = sum(r.area is None for r in runs.values())
    if failed:
        kinds["failed"] = failed
    return {
        "cities": len(runs),
        "boundary_approx": sum(bool(getattr(a, "boundary_is_approximation", True)) for a in areas) + failed,
        "boundary_kinds": kinds,
        "terrain": sum(getattr(a, "terrain_source", None) is not None for a in areas),
        "population_model": sum(bool(getattr(a, "population_is_model", True)) for a in areas) + failed,
        "users": config.coverage_users, "rsrp_threshold_dbm": config.rsrp_threshold_dbm,
        "coverage_level": config.coverage_level, "min_dl_mbps": config.min_dl_mbps, "cell_load": config.cell_load,
    }


def _share_other_users(run: CityRun) -> float | None:
    """Population share covered for the other user class than the scenario's (``all`` <-> ``outdoor``), from the
    plan's stored links (:func:`qamtu.engine.aggregate`; no path loss recomputed)."""
    from qamtu.engine import aggregate

    other = "all" if run.config.coverage_users == "outdoor" else "outdoor"
    res = aggregate(run.area, run.plan.links, dataclasses.replace(run.config, coverage_users=other),
                    active=run.plan.active, full=False)  # (no maps; every class's probabilities when "all")
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
