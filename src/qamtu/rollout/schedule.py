"""Month-by-month rollout schedule with crews, lead times, a monthly budget and quality gates.

The simulation is discrete and deterministic. Month ``m`` (0-based, ``m = 0`` is the start month) runs:

1. the money of the month becomes available: ``monthly_budget`` plus, when ``carry_over`` is true, whatever
   was left unspent in earlier months;
2. each crew pool gets ``floor(crews[pool] * sites_per_crew_month)`` builds for the month (a fractional rate is
   never rounded up, so no month ever builds more sites than its crews can);
3. the sites not yet on air are walked in priority order; a site is built in month ``m`` (and is on air at the
   end of ``m``) when ``m >= lead_time_months`` of the site, its pool still has a build left this month and the
   money left this month covers its cost. A site that does not fit is skipped and the walk goes on (list
   scheduling: a cheaper or ready site further down the list may use what is left);
4. the simulation runs until every site is on air (or nothing left can ever be built, or ``max_months``).

Builds never depend on the gates. Then, for each city, the set of its sites on air at the end of the months in
which that set changed is handed to the gate evaluator (a callable: the engine's ``aggregate(active=...)`` in
real runs, anything in tests). The first month in which the evaluator says the city's targets hold is the
city's gate month. A count of sites never passes a gate.

The gate month is the first month the targets hold. Adding sites can, in principle, lower a KPI (more
interference); the schedule records every evaluation, and ``CitySchedule.passes_at_end`` tells whether the
city still passes with everything built.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from qamtu.errors import InvalidInputError

#: The priority rules the scheduler knows (a user-given order is passed as a sequence instead of a name).
PRIORITY_RULES = ("people-per-cost", "city-by-city")

#: How the gate months are found (see :func:`schedule_rollout`).
GATE_MODES = ("first", "all", "bisect")

#: Deadline set in October 2023 (all regional centres by the end of 2025) and the licence's original one.
DEFAULT_DEADLINE = _dt.date(2025, 12, 31)
COMPARISON_DEADLINE = _dt.date(2027, 12, 31)


@dataclasses.dataclass(frozen=True)
class SiteTask:
    """One site to build.

    Parameters
    ----------
    city_id : str
        The city the site belongs to (catalogue id, e.g. ``"astana"``).
    site_id : str
        The site's id, unique within its city.
    cost : float
        Cost of building the site, in the scenario's currency unit; >= 0.
    lead_time_months : int
        Months from the start month before the site can go on air (permits, power, backhaul); >= 0. A site with
        lead time 2 can be built in month index 2 at the earliest.
    site_class : str
        Site class (e.g. ``"new_macro"``, ``"existing_rooftop"``); informative here, lead times per class are
        resolved before the task is made.
    order : int
        The planner's order within the city (0 = the planner's first choice).
    people : float
        People newly covered by the site in the planner's order (marginal gain); >= 0. Used by the
        ``"people-per-cost"`` rule.
    pool : str
        The crew pool that builds the site (an operator, a region, or ``"national"``).
    """

    city_id: str
    site_id: str
    cost: float
    lead_time_months: int = 0
    site_class: str = "macro"
    order: int = 0
    people: float = 0.0
    pool: str = "national"

    @property
    def key(self) -> str:
        """``"city_id/site_id"``: the site's key in a schedule."""
        return f"{self.city_id}/{self.site_id}"

    def __post_init__(self) -> None:
        if not (isinstance(self.cost, (int, float)) and math.isfinite(self.cost) and self.cost >= 0):
            raise InvalidInputError(f"site {self.key}: cost must be a finite number >= 0, got {self.cost!r}")
        if not isinstance(self.lead_time_months, int) or self.lead_time_months < 0:
            raise InvalidInputError(
                f"site {self.key}: lead_time_months must be an integer >= 0, got {self.lead_time_months!r}"
            )
        if not (math.isfinite(self.people) and self.people >= 0):
            raise InvalidInputError(f"site {self.key}: people must be a finite number >= 0, got {self.people!r}")


@dataclasses.dataclass(frozen=True)
class GateResult:
    """What a gate evaluator says about one city with a given set of sites on air.

    Attributes
    ----------
    passed : bool
        True when every target of the city holds (coverage shares and the throughput rate).
    kpis : dict
        The KPIs behind the verdict (e.g. ``territory_share``, ``population_share``, ``population_covered``,
        ``dl_p5_mbps``); carried into the report. ``population_covered`` (people) feeds the national chart.
    reasons : tuple of str
        The targets that failed, in words (empty when passed).
    """

    passed: bool
    kpis: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    reasons: tuple[str, ...] = ()


#: ``gate(city_id, on_air_site_ids) -> GateResult | bool``; ``on_air_site_ids`` holds the site ids (not keys).
GateEvaluator = Callable[[str, frozenset], "GateResult | bool"]


@dataclasses.dataclass(frozen=True)
class ScheduleParams:
    """Resources and rules of a schedule.

    Parameters
    ----------
    start : datetime.date
        Any day of the first month (month index 0).
    crews : mapping str -> int
        Crews per pool; every pool used by a task must be present. Crews >= 0.
    sites_per_crew_month : float
        Sites one crew finishes per month; > 0. A pool builds at most ``floor(crews * rate)`` sites a month.
    monthly_budget : float or None
        Money available per month in the currency unit of the site costs; ``None`` means unlimited.
    carry_over : bool
        Whether budget unspent in a month is added to the next month's (default True).
    priority : str or sequence of str
        ``"people-per-cost"`` (most people newly covered per unit cost first; ties by city and the planner's
        order), ``"city-by-city"`` (cities in ``city_order``, within a city the planner's order), or a
        user-given sequence of city ids (city by city in that order) or of site keys ``"city/site"`` (exactly
        that order; sites not named follow in the planner's order).
    city_order : sequence of str or None
        City order for ``"city-by-city"`` (default: the order in which cities first appear in the tasks).
    max_months : int
        Horizon of the simulation; it stops earlier once every site is on air or nothing left can be built.
    """

    start: _dt.date = _dt.date(2024, 1, 1)
    crews: Mapping[str, int] = dataclasses.field(default_factory=lambda: {"national": 4})
    sites_per_crew_month: float = 4.0
    monthly_budget: float | None = None
    carry_over: bool = True
    priority: str | Sequence[str] = "people-per-cost"
    city_order: Sequence[str] | None = None
    max_months: int = 120

    def __post_init__(self) -> None:
        if not (self.sites_per_crew_month > 0 and math.isfinite(self.sites_per_crew_month)):
            raise InvalidInputError(
                f"sites_per_crew_month must be a finite number > 0, got {self.sites_per_crew_month!r}"
            )
        for pool, n in self.crews.items():
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise InvalidInputError(f"crews[{pool!r}] must be an integer >= 0, got {n!r}")
        if self.monthly_budget is not None and not (self.monthly_budget >= 0 and math.isfinite(self.monthly_budget)):
            raise InvalidInputError(f"monthly_budget must be a finite number >= 0 or None, got {self.monthly_budget!r}")
        if isinstance(self.priority, str) and self.priority not in PRIORITY_RULES:
            raise InvalidInputError(
                f"priority {self.priority!r} is not known; allowed: {', '.join(PRIORITY_RULES)} or a list of ids"
            )
        if not isinstance(self.max_months, int) or self.max_months < 1:
            raise InvalidInputError(f"max_months must be an integer >= 1, got {self.max_months!r}")

    def capacity(self, pool: str) -> int:
        """Sites pool ``pool`` can build in one month: ``floor(crews * sites_per_crew_month)``."""
        return int(math.floor(self.crews[pool] * self.sites_per_crew_month + 1e-9))


def month_label(start: _dt.date, month_index: int) -> str:
    """``"YYYY-MM"`` of month ``month_index`` counted from the month of ``start`` (index 0)."""
    total = start.year * 12 + (start.month - 1) + month_index
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_index_of(start: _dt.date, day: _dt.date) -> int:
    """Index of the month containing ``day``, counted from the month of ``start`` (negative if before)."""
    return (day.year - start.year) * 12 + (day.month - start.month)


@dataclasses.dataclass
class CitySchedule:
    """Schedule outcome for one city."""

    city_id: str
    gate_month: int | None
    gate_label: str | None
    sites_total: int
    sites_built: int
    cost: float
    evaluations: list[tuple[int, GateResult]]
    passes_at_end: bool

    def kpis_at(self, month_index: int) -> Mapping[str, Any]:
        """KPIs of the last gate evaluation at or before ``month_index`` (empty before the first)."""
        last: Mapping[str, Any] = {}
        for m, res in self.evaluations:
            if m > month_index:
                break
            last = res.kpis
        return last


@dataclasses.dataclass
class Schedule:
    """Result of :func:`schedule_rollout`.

    Attributes
    ----------
    params : ScheduleParams
    tasks : list of SiteTask, in priority order
    site_month : dict str -> int or None
        Month index in which each site (by key) goes on air; ``None`` if it was never built in the horizon.
    cities : dict str -> CitySchedule
    months : int
        Number of months simulated.
    builds : list of dict str -> int
        Per month, sites built per pool.
    spend : list of float
        Money spent per month.
    available : list of float
        Money available per month (``inf`` when unlimited).
    """

    params: ScheduleParams
    tasks: list[SiteTask]
    site_month: dict[str, int | None]
    cities: dict[str, CitySchedule]
    months: int
    builds: list[dict[str, int]]
    spend: list[float]
    available: list[float]

    def label(self, month_index: int) -> str:
        return month_label(self.params.start, month_index)

    def all_pass_by(self, deadline: _dt.date) -> bool:
        """True when every city passed its gate in or before the month of ``deadline``."""
        last = month_index_of(self.params.start, deadline)
        return all(c.gate_month is not None and c.gate_month <= last for c in self.cities.values())

    def on_time(self, city_id: str, deadline: _dt.date) -> bool:
        g = self.cities[city_id].gate_month
        return g is not None and g <= month_index_of(self.params.start, deadline)

    def site_rows(self) -> list[dict[str, Any]]:
        """One row per site: city, site, class, pool, cost, lead time, priority rank, month on air."""
        rows = []
        for rank, t in enumerate(self.tasks):
            m = self.site_month[t.key]
            rows.append(
                {
                    "city_id": t.city_id,
                    "site_id": t.site_id,
                    "site_class": t.site_class,
                    "pool": t.pool,
                    "cost": t.cost,
                    "lead_time_months": t.lead_time_months,
                    "people": t.people,
                    "priority_rank": rank,
                    "on_air_month_index": m,
                    "on_air_month": None if m is None else self.label(m),
                }
            )
        return rows


def order_tasks(
    tasks: Sequence[SiteTask], params: ScheduleParams, cities: Iterable[str] | None = None
) -> list[SiteTask]:
    """Sort the tasks by the priority rule of ``params`` (deterministic; see :class:`ScheduleParams`).

    ``cities`` lists city ids known besides those of the tasks (a user order may name a city with no site).
    """
    cities_seen: list[str] = list(dict.fromkeys(cities or []))
    for t in tasks:
        if t.city_id not in cities_seen:
            cities_seen.append(t.city_id)
    rule = params.priority
    if isinstance(rule, str) and rule == "people-per-cost":

        def ratio(t: SiteTask) -> float:
            return math.inf if t.cost == 0 else t.people / t.cost

        return sorted(tasks, key=lambda t: (-ratio(t), cities_seen.index(t.city_id), t.order, t.site_id))
    if isinstance(rule, str):  # city-by-city
        city_order = list(params.city_order) if params.city_order is not None else cities_seen
        missing = [c for c in cities_seen if c not in city_order]
        city_order = city_order + missing
        return sorted(tasks, key=lambda t: (city_order.index(t.city_id), t.order, t.site_id))
    # user-given sequence: city ids (city by city in that order) or site keys (exactly that order)
    given = list(rule)
    keys = {t.key for t in tasks}
    if given and all(x in cities_seen for x in given):
        city_order = given + [c for c in cities_seen if c not in given]
        return sorted(tasks, key=lambda t: (city_order.index(t.city_id), t.order, t.site_id))
    unknown = [x for x in given if x not in keys]
    if unknown:
        raise InvalidInputError(
            f"priority order names {unknown[:5]}, which are neither all city ids ({', '.join(cities_seen)}) "
            "nor site keys 'city_id/site_id' of the plan"
        )
    rank = {k: i for i, k in enumerate(given)}
    return sorted(
        tasks, key=lambda t: (rank.get(t.key, len(rank)), cities_seen.index(t.city_id), t.order, t.site_id)
    )


def _as_gate_result(value: GateResult | bool) -> GateResult:
    if isinstance(value, GateResult):
        return value
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        return GateResult(passed=bool(value))
    raise InvalidInputError(f"the gate evaluator must return a GateResult or a bool, got {type(value).__name__}")


def schedule_rollout(
    tasks: Sequence[SiteTask],
    params: ScheduleParams,
    gate: GateEvaluator,
    *,
    cities: Iterable[str] | None = None,
    gate_mode: str = "first",
) -> Schedule:
    """Simulate the rollout month by month (see the module docstring for the rules).

    Parameters
    ----------
    tasks : sequence of SiteTask
        Every site to build; keys ``city_id/site_id`` must be unique.
    params : ScheduleParams
    gate : callable ``(city_id, frozenset of site ids on air) -> GateResult | bool``
        Decides whether a city meets its targets with exactly those sites on air. Called only when the set
        changes (and once with the empty set per city before month 0, so that a city already served passes in
        month 0).
    cities : iterable of str, optional
        Cities to track; default: the cities of ``tasks``. A city with no task is evaluated once with no sites.
    gate_mode : {"first", "all", "bisect"}
        Which months are evaluated. ``"first"`` walks the months in which the city's set of sites on air
        changed, in order, up to the first that passes (then the final set once more); ``"all"`` evaluates
        every such month (the report's coverage-over-time curve); ``"bisect"`` bisects over those months and
        is exact only when the gate is monotone in the set of sites (adding a site never breaks a target that
        held): a shortcut for searches, to be checked against ``"first"``.

    Returns
    -------
    Schedule

    Raises
    ------
    InvalidInputError
        Duplicate site keys, a pool without a crew entry, or a bad priority order.
    """
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise InvalidInputError(f"site keys must be unique; duplicated: {dup[:5]}")
    for t in tasks:
        if t.pool not in params.crews:
            raise InvalidInputError(
                f"site {t.key} is built by pool {t.pool!r}, which has no crews; pools given: {sorted(params.crews)}"
            )
    if gate_mode not in GATE_MODES:
        raise InvalidInputError(f"gate_mode {gate_mode!r} is not known; allowed: {', '.join(GATE_MODES)}")
    cities = list(cities or [])
    ordered = order_tasks(tasks, params, cities)
    city_ids: list[str] = list(dict.fromkeys([*cities, *(t.city_id for t in ordered)]))
    site_month, months, builds, spend, available = _builds(ordered, params)

    # 2. gates: the sites of a city on air at the end of each month in which one of them went on air
    city_out: dict[str, CitySchedule] = {}
    for c in city_ids:
        city_tasks = [t for t in ordered if t.city_id == c]
        change_months = sorted({site_month[t.key] for t in city_tasks if site_month[t.key] is not None})

        def on_air_at(m: int, _tasks: list[SiteTask] = city_tasks) -> frozenset:
            return frozenset(t.site_id for t in _tasks if site_month[t.key] is not None and site_month[t.key] <= m)

        evals: dict[int, GateResult] = {}

        def ev(m: int, _c: str = c, _on_air=on_air_at, _evals: dict = evals) -> GateResult:
            if m not in _evals:
                _evals[m] = _as_gate_result(gate(_c, _on_air(m)))
            return _evals[m]

        first: int | None = None
        if ev(-1).passed:
            first = -1
        elif gate_mode == "all":
            for m in change_months:
                if ev(m).passed and first is None:
                    first = m
        elif gate_mode == "first":
            for m in change_months:
                if ev(m).passed:
                    first = m
                    break
        else:  # bisect: assumes that once the targets hold, they keep holding as sites are added
            lo, hi = 0, len(change_months) - 1
            if change_months and ev(change_months[hi]).passed:
                while lo < hi:
                    mid = (lo + hi) // 2
                    if ev(change_months[mid]).passed:
                        hi = mid
                    else:
                        lo = mid + 1
                first = change_months[lo]
        if change_months:
            ev(change_months[-1])  # the verdict with everything built
        gm = None if first is None else max(first, 0)
        evaluations = sorted(evals.items())
        city_out[c] = CitySchedule(
            city_id=c,
            gate_month=gm,
            gate_label=None if gm is None else month_label(params.start, gm),
            sites_total=len(city_tasks),
            sites_built=sum(site_month[t.key] is not None for t in city_tasks),
            cost=float(sum(t.cost for t in city_tasks)),
            evaluations=evaluations,
            passes_at_end=evaluations[-1][1].passed,
        )
    return Schedule(params, ordered, site_month, city_out, months, builds, spend, available)


def _builds(ordered: Sequence[SiteTask], params: ScheduleParams):
    """The month each site goes on air (None: never), the months simulated, and per month the builds per pool,
    the spending and the money available. Depends on crews, lead times, budget and priority only, never on the
    gates."""
    site_month: dict[str, int | None] = {t.key: None for t in ordered}
    remaining = list(ordered)
    builds: list[dict[str, int]] = []
    spend: list[float] = []
    available: list[float] = []
    carried = 0.0
    max_lead = max((t.lead_time_months for t in ordered), default=0)
    month = -1
    for month in range(params.max_months):
        if not remaining:
            month -= 1
            break
        money = math.inf if params.monthly_budget is None else params.monthly_budget + carried
        left = {p: params.capacity(p) for p in params.crews}
        spent = 0.0
        built: dict[str, int] = {p: 0 for p in params.crews}
        still: list[SiteTask] = []
        for t in remaining:
            if t.lead_time_months <= month and left[t.pool] > 0 and t.cost <= money - spent + 1e-9 * max(1.0, t.cost):
                left[t.pool] -= 1
                built[t.pool] += 1
                spent += t.cost
                site_month[t.key] = month
            else:
                still.append(t)
        remaining = still
        builds.append(built)
        spend.append(spent)
        available.append(money)
        if params.monthly_budget is not None:
            carried = (money - spent) if params.carry_over else 0.0
        if month >= max_lead and remaining and not any(built.values()) and not _can_ever_build(remaining, params):
            break
    months = max(month + 1, 0)

    return site_month, months, builds, spend, available


def all_pass_by_deadline(
    tasks: Sequence[SiteTask],
    params: ScheduleParams,
    gate: GateEvaluator,
    deadline: _dt.date,
    *,
    cities: Iterable[str] | None = None,
) -> bool:
    """``schedule_rollout(tasks, params, gate, cities=cities).all_pass_by(deadline)``, asking fewer gates.

    The answer needs, per city, only whether one of the sets on air up to the deadline's month passes (the
    ``"first"`` walk finds the first passing month in order, so it is at or before the deadline exactly when one
    of those months passes): the walk stops at the deadline, and at the first city that misses it. Used by the
    feasibility searches (:mod:`qamtu.rollout.search`), which ask it for many resource levels.
    """
    return all(_on_time_walk(tasks, params, gate, deadline, cities, stop_at_late=True).values())


def on_time_by_deadline(
    tasks: Sequence[SiteTask],
    params: ScheduleParams,
    gate: GateEvaluator,
    deadline: _dt.date,
    *,
    cities: Iterable[str] | None = None,
) -> dict[str, bool]:
    """Per city, ``schedule_rollout(tasks, params, gate, cities=cities).on_time(city, deadline)``, asking only the
    gates of the months up to the deadline (see :func:`all_pass_by_deadline`)."""
    return _on_time_walk(tasks, params, gate, deadline, cities, stop_at_late=False)


def _on_time_walk(tasks, params, gate, deadline, cities, *, stop_at_late: bool) -> dict[str, bool]:
    """City -> on time by ``deadline`` (the ``"first"`` walk stopped at the deadline); with ``stop_at_late`` the
    first late city ends the walk (its entry False, later cities absent)."""
    cities = list(cities or [])
    ordered = order_tasks(tasks, params, cities)
    city_ids: list[str] = list(dict.fromkeys([*cities, *(t.city_id for t in ordered)]))
    site_month = _builds(ordered, params)[0]
    last = month_index_of(params.start, deadline)
    out: dict[str, bool] = {}
    for c in city_ids:
        city_tasks = [t for t in ordered if t.city_id == c]
        change_months = sorted({site_month[t.key] for t in city_tasks if site_month[t.key] is not None})

        def on_air_at(m: int, _tasks: list[SiteTask] = city_tasks) -> frozenset:
            return frozenset(t.site_id for t in _tasks if site_month[t.key] is not None and site_month[t.key] <= m)

        # gate month max(first, 0) <= last: no month qualifies before the start
        ok = last >= 0 and (_as_gate_result(gate(c, on_air_at(-1))).passed or any(
            _as_gate_result(gate(c, on_air_at(m))).passed for m in change_months if m <= last))
        out[c] = ok
        if stop_at_late and not ok:
            break
    return out


def _can_ever_build(remaining: Sequence[SiteTask], params: ScheduleParams) -> bool:
    """False when no remaining site can ever be built (no crews for its pool, or unaffordable for good)."""
    for t in remaining:
        if params.capacity(t.pool) == 0:
            continue
        if params.monthly_budget is None or params.carry_over and params.monthly_budget > 0:
            return True
        if t.cost <= params.monthly_budget + 1e-9:
            return True
    return False


def cached_gate(gate: GateEvaluator) -> GateEvaluator:
    """Wrap ``gate`` so that each (city, set of sites on air) is evaluated once (searches re-run schedules)."""
    cache: dict[tuple[str, frozenset], GateResult] = {}

    def wrapped(city_id: str, on_air: frozenset) -> GateResult:
        key = (city_id, frozenset(on_air))
        if key not in cache:
            cache[key] = _as_gate_result(gate(city_id, key[1]))
        return cache[key]

    wrapped.cache = cache  # type: ignore[attr-defined]
    return wrapped
