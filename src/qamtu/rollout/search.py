"""The smallest resource (crews, or monthly budget) with which every city passes its gate by a deadline.

The search calls the scheduler. With more crews (or more money) a greedy list schedule usually finishes no later,
but that is not guaranteed (list scheduling has timing anomalies: R. L. Graham, "Bounds on multiprocessing timing
anomalies", SIAM J. Appl. Math. 17(2), 1969), and a gate need not be monotone in the set of sites either. So the
search is exponential, then bisecting (``lo, lo+1, lo+3, lo+7, ...`` until a value works, then bisection between
the last failure and it: about ``2 log2(answer)`` schedules, never a scan up to the answer), and then verifies the
answer by checking the values below it: every one when there are at most :data:`VERIFY_LIMIT` (the answer is then
the true minimum over the range, also for a predicate that is not monotone), else the :data:`VERIFY_WINDOW` values
just below, and the result says so. The range itself is bounded: at most :data:`MAX_CREWS` crews per pool.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from collections.abc import Callable, Sequence

from qamtu.errors import InvalidInputError
from qamtu.rollout.schedule import (
    COMPARISON_DEADLINE,
    DEFAULT_DEADLINE,
    GateEvaluator,
    Schedule,
    ScheduleParams,
    SiteTask,
    all_pass_by_deadline,
    cached_gate,
    schedule_rollout,
)

SEARCH_METHODS = ("auto", "bisect", "linear")

#: Most crews per pool a search (and a scenario) may use; a resource beyond it is not a plan but a typo.
MAX_CREWS = 100_000
#: ``auto``: when at most this many values lie below the answer, each is checked (the answer is then exact).
VERIFY_LIMIT = 256
#: ``auto``: otherwise, this many values just below the answer are checked.
VERIFY_WINDOW = 16
#: ``linear``: the most values a linear scan may evaluate.
LINEAR_LIMIT = 4096


@dataclasses.dataclass
class SearchResult:
    """Outcome of :func:`minimum_feasible` and the searches built on it.

    Attributes
    ----------
    value : int or None
        The smallest feasible value in ``[lo, hi]``; None when even ``hi`` is infeasible.
    method : str
        ``"bisect"``, ``"linear"``, ``"bisect+verified"`` (bisection, then every value below checked
        infeasible), or ``"linear (not monotone)"`` (the verification found a smaller feasible value).
    monotone_verified : bool
        True when every evaluated value below the answer was infeasible and every one at or above it feasible.
    evaluations : dict int -> bool
        Every value tried and whether it was feasible.
    """

    value: int | None
    method: str
    monotone_verified: bool
    evaluations: dict[int, bool]


def minimum_feasible(
    feasible: Callable[[int], bool], lo: int, hi: int, *, method: str = "auto"
) -> SearchResult:
    """Smallest integer ``v`` in ``[lo, hi]`` with ``feasible(v)`` true.

    Parameters
    ----------
    feasible : callable int -> bool
    lo, hi : int
        The range searched, ``lo <= hi``.
    method : {"auto", "bisect", "linear"}
        ``"linear"`` scans ``lo, lo+1, ...`` (exact for any predicate; at most :data:`LINEAR_LIMIT` values);
        ``"bisect"`` assumes monotonicity (exponential probes, then bisection); ``"auto"`` does the same and then
        checks the values below the answer (all of them up to :data:`VERIFY_LIMIT`, else a window), falling back
        to the smallest feasible value found.

    Returns
    -------
    SearchResult
    """
    if method not in SEARCH_METHODS:
        raise InvalidInputError(f"search method {method!r} is not known; allowed: {', '.join(SEARCH_METHODS)}")
    if not (isinstance(lo, int) and isinstance(hi, int) and lo <= hi):
        raise InvalidInputError(f"search range must be integers lo <= hi, got [{lo!r}, {hi!r}]")
    seen: dict[int, bool] = {}

    def f(v: int) -> bool:
        if v not in seen:
            seen[v] = bool(feasible(v))
        return seen[v]

    if method == "linear":
        if hi - lo + 1 > LINEAR_LIMIT:
            raise InvalidInputError(f"a linear search over {hi - lo + 1} values is refused (the most is "
                                    f"{LINEAR_LIMIT}); use method auto or bisect")
        for v in range(lo, hi + 1):
            if f(v):
                return SearchResult(v, "linear", _consistent(seen, v), seen)
        return SearchResult(None, "linear", _consistent(seen, None), seen)

    # exponential phase: lo, lo+1, lo+3, lo+7, ... (capped at hi) until a value works
    last_fail, v, k = lo - 1, lo, 0
    while not f(v):
        last_fail = v
        if v == hi:
            break
        k += 1
        v = min(hi, lo + 2**k - 1)
    if last_fail == hi:  # nothing works at the probes, the top included
        if method == "bisect":
            return SearchResult(None, f"bisect: infeasible at the top of the range ({hi})", False, seen)
        # "auto" promises the exact answer for any predicate where it can check every value: one that is not
        # monotone (e.g. a budget without carry-over, where more money can reorder the builds) may hold below
        if hi - lo + 1 <= VERIFY_LIMIT:
            for u in range(lo, hi):
                if f(u):
                    return SearchResult(u, "linear (not monotone)", False, seen)
            return SearchResult(None, "linear (infeasible in the whole range)", _consistent(seen, None), seen)
        return SearchResult(None, f"exponential: infeasible at {len(seen)} values up to the top of the range "
                                  f"({hi}); the others not checked", False, seen)
    a, b = last_fail + 1, v  # invariant: f(b) is true, every probe below a failed
    while a < b:
        mid = (a + b) // 2
        if f(mid):
            b = mid
        else:
            a = mid + 1
    if method == "bisect":
        return SearchResult(b, "bisect", _consistent(seen, b), seen)
    full = b - lo <= VERIFY_LIMIT
    for u in range(lo if full else b - VERIFY_WINDOW, b):  # verification
        if f(u):
            if full:
                return SearchResult(u, "linear (not monotone)", False, seen)
            return SearchResult(u, f"bisect; not monotone ({u} found below {b} in the window checked)", False, seen)
    if full:
        return SearchResult(b, "bisect+verified", _consistent(seen, b), seen)
    return SearchResult(b, f"bisect+verified {VERIFY_WINDOW} values below", False, seen)


def _consistent(seen: dict[int, bool], answer: int | None) -> bool:
    if answer is None:
        return not any(seen.values())
    return all(ok == (v >= answer) for v, ok in seen.items())


def _with_crews(params: ScheduleParams, n: int) -> ScheduleParams:
    return dataclasses.replace(params, crews={p: n for p in params.crews})


def minimum_crews(
    tasks: Sequence[SiteTask],
    params: ScheduleParams,
    gate: GateEvaluator,
    deadline: _dt.date = DEFAULT_DEADLINE,
    *,
    max_crews: int | None = None,
    method: str = "auto",
) -> tuple[SearchResult, Schedule | None]:
    """Fewest crews per pool (the same number in every pool) with which every city passes by ``deadline``.

    Parameters
    ----------
    tasks, params, gate
        As for :func:`~qamtu.rollout.schedule.schedule_rollout`; ``params.crews`` names the pools (their
        counts are replaced by the value searched).
    deadline : datetime.date
    max_crews : int, optional
        Upper end of the range; default: enough crews to build every site of the largest pool in one month (more
        cannot start a site earlier), at most :data:`MAX_CREWS`.
    method : {"auto", "bisect", "linear"}

    Returns
    -------
    (SearchResult, Schedule or None)
        The search and the schedule at the minimum (None when no value in range works).
    """
    gate = cached_gate(gate)
    if max_crews is None:
        per_pool = max((sum(t.pool == p for t in tasks) for p in params.crews), default=1)
        max_crews = max(1, min(MAX_CREWS, math.ceil(per_pool / params.sites_per_crew_month)))
    if not (isinstance(max_crews, int) and 1 <= max_crews <= MAX_CREWS):
        raise InvalidInputError(f"max_crews must be an integer from 1 to {MAX_CREWS}, got {max_crews!r}")
    cities = list(dict.fromkeys(t.city_id for t in tasks))  # the scheduler's own default order (ties break by it)

    def feasible(n: int) -> bool:
        return all_pass_by_deadline(tasks, _with_crews(params, n), gate, deadline, cities=cities)

    res = minimum_feasible(feasible, 1, max_crews, method=method)
    best = None if res.value is None else schedule_rollout(tasks, _with_crews(params, res.value), gate, cities=cities)
    return res, best


def minimum_budget(
    tasks: Sequence[SiteTask],
    params: ScheduleParams,
    gate: GateEvaluator,
    deadline: _dt.date = DEFAULT_DEADLINE,
    *,
    step: float | None = None,
    method: str = "auto",
) -> tuple[SearchResult, float | None, Schedule | None]:
    """Smallest monthly budget (a multiple of ``step``) with which every city passes by ``deadline``.

    Parameters
    ----------
    step : float, optional
        Budget granularity in the currency unit; default: the cheapest site's cost (or 1 if all are free).

    Returns
    -------
    (SearchResult over multiples of step, the budget in currency units or None, Schedule or None)
    """
    gate = cached_gate(gate)
    costs = [t.cost for t in tasks if t.cost > 0]
    if step is None:
        step = min(costs) if costs else 1.0
    if not step > 0:
        raise InvalidInputError(f"budget step must be > 0, got {step!r}")
    hi = max(1, math.ceil(sum(costs) / step)) if costs else 1
    cities = list(dict.fromkeys(t.city_id for t in tasks))  # the scheduler's own default order (ties break by it)

    def run(k: int) -> Schedule:
        return schedule_rollout(tasks, dataclasses.replace(params, monthly_budget=k * step), gate, cities=cities)

    res = minimum_feasible(lambda k: all_pass_by_deadline(tasks, dataclasses.replace(params, monthly_budget=k * step),
                                                          gate, deadline, cities=cities), 0, hi, method=method)
    if res.value is None:
        return res, None, None
    return res, res.value * step, run(res.value)


@dataclasses.dataclass
class DeadlineComparison:
    """The same plan against two deadlines: the schedule with the given resources and the minimum crews."""

    deadlines: tuple[_dt.date, _dt.date]
    schedule: Schedule
    min_crews: tuple[SearchResult, SearchResult]

    def rows(self) -> list[dict]:
        """One row per deadline: deadline, cities on time with the given crews, minimum crews."""
        out = []
        for d, search in zip(self.deadlines, self.min_crews):
            on_time = [c for c in self.schedule.cities if self.schedule.on_time(c, d)]
            out.append(
                {
                    "deadline": d.isoformat(),
                    "cities_on_time": len(on_time),
                    "cities": len(self.schedule.cities),
                    "min_crews_per_pool": search.value,
                    "search_method": search.method,
                }
            )
        return out


def compare_deadlines(
    tasks: Sequence[SiteTask],
    params: ScheduleParams,
    gate: GateEvaluator,
    deadlines: tuple[_dt.date, _dt.date] = (DEFAULT_DEADLINE, COMPARISON_DEADLINE),
    *,
    method: str = "auto",
) -> DeadlineComparison:
    """2025 against 2027 (by default): who is on time with the given crews, and the fewest crews for each."""
    gate = cached_gate(gate)
    sched = schedule_rollout(tasks, params, gate)
    searches = tuple(minimum_crews(tasks, params, gate, d, method=method)[0] for d in deadlines)
    return DeadlineComparison(deadlines, sched, searches)  # type: ignore[arg-type]
