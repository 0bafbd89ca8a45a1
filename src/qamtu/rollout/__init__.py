"""The rollout schedule against a deadline, with quality gates re-evaluated by the engine.

Public API
----------
Schedule (:mod:`qamtu.rollout.schedule`)
    ``SiteTask(city_id, site_id, cost, lead_time_months=0, site_class="macro", order=0, people=0.0,
    pool="national")``: one site to build (cost in the scenario's currency; lead time in months from the start).
    ``ScheduleParams(start, crews={pool: n}, sites_per_crew_month, monthly_budget=None, carry_over=True,
    priority="people-per-cost" | "city-by-city" | [city ids] | ["city/site", ...], city_order=None,
    max_months=120)``.
    ``GateResult(passed, kpis={}, reasons=())``; a gate evaluator is any callable
    ``gate(city_id, frozenset(site ids on air)) -> GateResult | bool``.
    ``schedule_rollout(tasks, params, gate, *, cities=None, gate_mode="first"|"all"|"bisect") -> Schedule``:
    month-by-month simulation; ``Schedule.site_month[key]`` (month index each site goes on air),
    ``Schedule.cities[id].gate_month`` / ``.gate_label`` ("YYYY-MM"), ``all_pass_by(date)``, ``on_time(city,
    date)``, ``site_rows()``. ``all_pass_by_deadline(tasks, params, gate, deadline)``: the same answer as
    ``schedule_rollout(...).all_pass_by(deadline)`` asking fewer gates (the searches use it).
    ``cached_gate(gate)`` memoises a gate. ``month_label``, ``month_index_of``.
    ``DEFAULT_DEADLINE`` = 2025-12-31, ``COMPARISON_DEADLINE`` = 2027-12-31.
Search (:mod:`qamtu.rollout.search`)
    ``minimum_feasible(feasible, lo, hi, method="auto"|"bisect"|"linear") -> SearchResult``;
    ``minimum_crews(tasks, params, gate, deadline) -> (SearchResult, Schedule | None)`` (same crews in every pool);
    ``minimum_budget(tasks, params, gate, deadline, step=None) -> (SearchResult, budget | None, Schedule | None)``;
    ``compare_deadlines(tasks, params, gate, (d2025, d2027)) -> DeadlineComparison`` with ``rows()``.
Gates from the engine (:mod:`qamtu.rollout.gates`)
    ``GateTargets`` and ``engine_gate(...)``: the gate evaluator that re-runs ``qamtu.engine.aggregate`` with
    ``active`` = the sectors of the sites on air.
Scenario files (:mod:`qamtu.rollout.scenario`)
    ``load_scenario(path | None) -> Scenario`` (YAML or TOML, validated; errors name the key and what is
    allowed), ``DEFAULT_SCENARIO``, ``Scenario.to_yaml()`` (the resolved scenario written beside the report).
"""

from qamtu.rollout.schedule import (
    COMPARISON_DEADLINE,
    DEFAULT_DEADLINE,
    GATE_MODES,
    PRIORITY_RULES,
    CitySchedule,
    GateEvaluator,
    GateResult,
    Schedule,
    ScheduleParams,
    SiteTask,
    all_pass_by_deadline,
    cached_gate,
    month_index_of,
    month_label,
    order_tasks,
    schedule_rollout,
)
from qamtu.rollout.search import (
    DeadlineComparison,
    SearchResult,
    compare_deadlines,
    minimum_budget,
    minimum_crews,
    minimum_feasible,
)

__all__ = [
    "COMPARISON_DEADLINE",
    "DEFAULT_DEADLINE",
    "GATE_MODES",
    "PRIORITY_RULES",
    "CitySchedule",
    "DeadlineComparison",
    "GateEvaluator",
    "GateResult",
    "Schedule",
    "ScheduleParams",
    "SearchResult",
    "SiteTask",
    "all_pass_by_deadline",
    "cached_gate",
    "compare_deadlines",
    "minimum_budget",
    "minimum_crews",
    "minimum_feasible",
    "month_index_of",
    "month_label",
    "order_tasks",
    "schedule_rollout",
]
