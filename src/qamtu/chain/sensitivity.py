"""The headline's answer under one step of each main assumption, run through the same chain.

The answer to "will the cities be covered by the deadline, and what would it take?" is two numbers: the cities on
time with the scenario's resources (:func:`qamtu.rollout.schedule_rollout`) and the fewest crews (or smallest
monthly budget) with which every city whose plan can meet the targets is on time (:func:`qamtu.rollout.
minimum_crews` / ``minimum_budget``). :func:`answer` computes both; ``qamtu.chain.national`` uses it for the
deadlines compared and :func:`sweep` for the sensitivity table.

One step of each assumption, the plans held fixed:

* schedule assumptions (crews per pool +-1, sites per crew a month +-1 step, every lead time +-1 month) re-run
  the schedule and the search with the same gates;
* radio assumptions (coverage probability +-0.05, neighbour load +-0.25) rebuild each city's gate with the other
  engine setting and re-aggregate the plan's stored links (:func:`qamtu.engine.aggregate`; no path loss is
  recomputed). The coverage-level steps change no probability, only the level they are compared with, so they
  share the scenario gate's evaluator and its kernel passes (:func:`qamtu.chain.national.city_gate`);
* the RSRP threshold (+-5 dB): the stored coverage probabilities belong to the links' threshold, so the links of
  each plan's own sites are computed once more with the other threshold (:func:`qamtu.chain.national.city_gate`);
  the plans stay the same.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Any

from qamtu.rollout import GateResult, ScheduleParams, SiteTask, cached_gate, minimum_budget, minimum_crews
from qamtu.rollout.schedule import on_time_by_deadline

Gate = Callable[[str, frozenset], GateResult]

#: Steps of the sweep (schedule assumptions first, then radio ones).
STEPS = {"crews": 1, "rate": 1.0, "lead": 1, "threshold": 5.0, "probability": 0.05, "load": 0.25}


def probability_values(base: float) -> list[float]:
    """The coverage levels the sweep evaluates for a scenario level ``base``: base and one step either side
    (clipped to 0.5..0.99, a step that clips onto ``base`` dropped), ascending."""
    out = {float(base)}
    for step in (-1, 1):
        out.add(round(min(PROBABILITY_RANGE[1], max(PROBABILITY_RANGE[0], float(base) + step * STEPS["probability"])),
                      4))
    return sorted(out)


#: the coverage levels the sweep may set
PROBABILITY_RANGE = (0.5, 0.99)


def answer(
    tasks: Sequence[SiteTask],
    params: ScheduleParams,
    gate: Gate,
    cities: Sequence[str],
    deadline: _dt.date,
    *,
    resource: str,
    method: str,
    schedule: Any = None,
) -> dict[str, Any]:
    """Cities on time by ``deadline`` with ``params``, and the minimum resource for every reachable city.

    Reachable cities are those whose full plan passes the gate (a city that cannot pass with every site on air
    would make every resource level infeasible). ``schedule``: the schedule with ``params`` if already run.

    Returns
    -------
    dict with ``deadline``, ``cities_on_time``, ``cities``, ``minimum`` (int crews, float budget or None),
    ``search_method``, ``search_cities``
    """
    gate = cached_gate(gate)
    if schedule is not None:
        on_time = sum(schedule.on_time(c, deadline) for c in cities)
    else:  # the same count, asking only the gates up to the deadline
        by_city = on_time_by_deadline(tasks, params, gate, deadline, cities=list(cities))
        on_time = sum(by_city[c] for c in cities)
    by_city: dict[str, set[str]] = {}
    for t in tasks:
        by_city.setdefault(t.city_id, set()).add(t.site_id)
    reachable = [c for c in cities if gate(c, frozenset(by_city.get(c, ()))).passed]
    search_tasks = [t for t in tasks if t.city_id in reachable]
    row: dict[str, Any] = {"deadline": deadline.isoformat(),
                           "cities_on_time": on_time,
                           "cities": len(cities), "minimum": None, "search_method": "none",
                           "search_cities": len(reachable)}
    if resource == "crews" and search_tasks:
        found, _ = minimum_crews(search_tasks, params, gate, deadline, method=method)
        row.update(minimum=found.value, search_method=found.method)
    elif resource == "budget" and search_tasks:
        found, budget, _ = minimum_budget(search_tasks, params, gate, deadline, method=method)
        row.update(minimum=budget, search_method=found.method)
    elif resource != "none":
        row.update(search_method="no city can pass: no plan meets its targets")
    return row


@dataclasses.dataclass
class Chain:
    """What the sweep re-runs: the tasks, resources and gates of the national run, and how to rebuild a gate
    with another engine configuration (``gate_for(city_id, config) -> gate``). ``release(config)``, if given, lets
    go of what the gates of ``config`` keep (evaluators, links at another threshold): the sweep calls it once the
    step of ``config`` is answered, so at most one step's evaluators are held beside the scenario's."""

    tasks: list[SiteTask]
    params: ScheduleParams
    gates: dict[str, Gate]
    cities: list[str]
    deadline: _dt.date
    resource: str
    method: str
    config: Any
    gate_for: Callable[[str, Any], Gate]
    release: Callable[[Any], None] | None = None


def _national(gates: dict[str, Gate]) -> Gate:
    def gate(city_id: str, on_air: frozenset) -> GateResult:
        return gates[city_id](city_id, on_air)

    return gate


def _radio(chain: Chain, config: Any) -> Callable[[], tuple[list[SiteTask], ScheduleParams, Gate]]:
    """The run of a radio step: the scenario's tasks and resources, the gates of ``config`` (made when the step
    runs, so that their answers are let go with it)."""
    return lambda: (chain.tasks, chain.params, _national({c: chain.gate_for(c, config) for c in chain.gates}))


def sweep(chain: Chain, progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """The answer (:func:`answer` at ``chain.deadline``) for the scenario and one step up and down of each
    assumption; one row per run with ``assumption``, ``step`` (-1, 0, +1), ``value`` and the answer's fields."""
    p = chain.params
    crews = min(p.crews.values()) if p.crews else 0
    rate_step = STEPS["rate"] if p.sites_per_crew_month > STEPS["rate"] else p.sites_per_crew_month / 2
    variants: list[tuple[str, int, Any, Callable[[], tuple[list[SiteTask], ScheduleParams, Gate]], Any]] = []
    base_gate = _national(chain.gates)

    def same(tasks=None, params=None, gate=None):
        return lambda: (tasks or chain.tasks, params or p, gate or base_gate)

    variants.append(("base", 0, None, same(), None))
    for step in (-1, 1):
        n = crews + step * STEPS["crews"]
        if n >= 1:
            variants.append(("crews", step, n, same(params=dataclasses.replace(
                p, crews={k: v + step * STEPS["crews"] for k, v in p.crews.items()})), None))
    for step in (-1, 1):
        rate = p.sites_per_crew_month + step * rate_step
        variants.append(("rate", step, rate, same(params=dataclasses.replace(p, sites_per_crew_month=rate)), None))
    for step in (-1, 1):
        tasks = [dataclasses.replace(t, lead_time_months=max(0, t.lead_time_months + step)) for t in chain.tasks]
        mean = sum(t.lead_time_months for t in tasks) / max(len(tasks), 1)
        variants.append(("lead", step, round(mean, 1), same(tasks=tasks), None))
    for name, field, lo, hi in (("threshold", "rsrp_threshold_dbm", -140.0, -60.0),
                                ("probability", "coverage_level", *PROBABILITY_RANGE), ("load", "cell_load", 0.0, 1.0)):
        base = float(getattr(chain.config, field))
        for step in (-1, 1):
            value = round(min(hi, max(lo, base + step * STEPS[name])), 4)
            if value == base:
                continue
            config = dataclasses.replace(chain.config, **{field: value})
            variants.append((name, step, value, _radio(chain, config), config))
    rows = []
    for i, (name, step, value, make, config) in enumerate(variants):
        if progress is not None:
            progress(i, len(variants))
        tasks, params, gate = make()
        row = answer(tasks, params, gate, chain.cities, chain.deadline, resource=chain.resource,
                     method=chain.method)
        rows.append({"assumption": name, "step": step, "value": value, **row})
        if config is not None and chain.release is not None:
            chain.release(config)
    if progress is not None:
        progress(len(variants), len(variants))
    return rows
