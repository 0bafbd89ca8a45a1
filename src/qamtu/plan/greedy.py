"""Greedy by gain per cost: the one heap-based loop, the lazy greedy (CELF) on it, and the order of addition.

:class:`RateQueue` holds candidate sites keyed by gain per unit cost (largest first; ties by lower cost where asked,
then by lower index) and :func:`pick_by_rate` is the loop that takes the best site, lets the caller update its
state, and goes on. Gains that only fall as sites are added (a submodular objective) are refreshed lazily: an entry
older than the last pick is re-evaluated when it reaches the top, and only then (CELF). Gains that may also rise
are refreshed by the caller after each pick (:meth:`RateQueue.push` of the sites whose gain changed), so every entry
in the heap is exact and the top is the exact best. The loop serves

- :func:`solve_greedy`: the lazy greedy on the capped coverage objective (:mod:`qamtu.plan.objective`);
- :func:`addition_order`: the order in which chosen sites are explained (new area + population share per cost);
- the repair loop's top-up (:mod:`qamtu.plan.repair`): sites checked one by one with the engine, whose misses
  can grow when a site's interference is added, so its gains are refreshed eagerly.

References
----------
J. Leskovec et al., "Cost-effective outbreak detection in networks", KDD 2007 (CELF lazy evaluation);
G. L. Nemhauser, L. A. Wolsey, M. L. Fisher, Math. Programming 14 (1978) (greedy on submodular functions).
"""

from __future__ import annotations

import heapq
import time
from typing import Callable

import numpy as np

from qamtu.plan.bounds import lp_lower_bound
from qamtu.plan.objective import CoverageState, meets, requirements
from qamtu.plan.problem import CoverageProblem, Targets
from qamtu.plan.solution import Solution, finish
from qamtu.plan.swap import drop_order, drop_redundant, swap_search

__all__ = ["RateQueue", "pick_by_rate", "solve_greedy", "addition_order"]


class RateQueue:
    """Candidate sites keyed by gain per unit cost, the largest first (a binary heap).

    Parameters
    ----------
    cost : ndarray, shape (n_sites,)
    tie_by_cost : bool
        Among equal rates take the cheaper site first (then the lower index); otherwise the lower index.
    cost_floor : float, optional
        The rate is ``gain / max(cost, cost_floor)``; without it a zero-cost site's rate is ``inf``.

    Notes
    -----
    Each site has at most one live entry: pushing a site again replaces its entry (the old one is skipped when it
    surfaces), and :meth:`RateQueue.discard` removes it. An entry remembers how many picks
    (:meth:`RateQueue.picked`) had been made when its gain was computed; :meth:`RateQueue.pop` re-evaluates, with
    ``regain``, entries older than the last pick.
    """

    def __init__(self, cost: np.ndarray, *, tie_by_cost: bool = False, cost_floor: float | None = None):
        self.cost = np.asarray(cost, np.float64)
        self.tie_by_cost = tie_by_cost
        self.cost_floor = cost_floor
        self.picks = 0
        self._heap: list[tuple[float, float, int, int]] = []
        self._live = np.full(self.cost.size, -1, np.int64)  # serial of each site's live entry, -1: none
        self._stamp = np.zeros(self.cost.size, np.int64)  # picks made when the live entry's gain was computed
        self._serial = 0

    def rate(self, site: int, gain: float) -> float:
        c = self.cost[site]
        if self.cost_floor is not None:
            return gain / max(c, self.cost_floor)
        return np.inf if c == 0 else gain / c

    def push(self, site: int, gain: float) -> None:
        """Enter ``site`` with ``gain`` (computed now), replacing its live entry if any."""
        tie = float(self.cost[site]) if self.tie_by_cost else 0.0
        heapq.heappush(self._heap, (-self.rate(site, gain), tie, int(site), self._serial))
        self._live[site] = self._serial
        self._stamp[site] = self.picks
        self._serial += 1

    def discard(self, site: int) -> None:
        self._live[site] = -1

    def picked(self) -> None:
        """Count a pick: entries computed before it are stale from now on (for :meth:`RateQueue.pop` with
        ``regain``)."""
        self.picks += 1

    def pop(self, *, fits: Callable[[int], bool] | None = None, regain: Callable[[int], float] | None = None,
            min_regain: float = -np.inf) -> int | None:
        """Remove and return the site with the largest rate, or None when none is left.

        A site for which ``fits(site)`` is False is dropped for good (e.g. it no longer fits in the budget, which
        only shrinks). With ``regain``, an entry older than the last pick is re-evaluated (``regain(site)``) and
        pushed back, or dropped if its new gain is at most ``min_regain``: exact when gains never rise (a stale
        gain is then an upper bound). Without ``regain`` every live entry is taken as exact.
        """
        while self._heap:
            _, _, s, serial = heapq.heappop(self._heap)
            if serial != self._live[s]:
                continue  # replaced or discarded
            if fits is not None and not fits(s):
                self._live[s] = -1
                continue
            if regain is not None and self._stamp[s] != self.picks:
                g = regain(s)
                if g <= min_regain:
                    self._live[s] = -1
                else:
                    self.push(s, g)
                continue
            self._live[s] = -1
            return s
        return None


def pick_by_rate(queue: RateQueue, take: Callable[[int], None], *, done: Callable[[], bool] = lambda: False,
                 fits: Callable[[int], bool] | None = None, regain: Callable[[int], float] | None = None,
                 min_regain: float = -np.inf) -> None:
    """The greedy loop: until ``done()`` or the queue is empty, pop the best site (:meth:`RateQueue.pop` with
    ``fits``, ``regain``, ``min_regain``) and hand it to ``take`` (which updates the caller's state, and may push
    refreshed gains)."""
    while not done():
        s = queue.pop(fits=fits, regain=regain, min_regain=min_regain)
        if s is None:
            return
        take(s)
        queue.picked()


def solve_greedy(problem: CoverageProblem, targets: Targets, *, prune: bool = True,
                 lower_bound: bool = False, polish_moves: int = 0) -> Solution:
    """Lazy greedy (CELF): repeatedly add the site with the largest gain per unit cost until the targets hold.

    The gain is the increase of the capped coverage objective (:func:`qamtu.plan.objective.capped_value`), a
    monotone submodular function, so stale gains are upper bounds and lazy evaluation (CELF) picks exactly what
    the plain greedy would. Locked sites go in first. Sites that no longer fit in the budget are skipped.
    Zero-cost sites with a positive gain are taken first. Ties are broken by lower cost, then lower index
    (deterministic). With ``prune=True`` the drop-redundant pass (:func:`qamtu.plan.swap.drop_redundant`) then
    removes, most expensive first (among equal costs the one added last first), every non-locked site whose removal
    does not lower the objective.

    Parameters
    ----------
    problem : CoverageProblem
    targets : Targets
    prune : bool
        Run the drop-redundant pass.
    lower_bound : bool
        Also solve the LP relaxation to report a lower bound and gap (costs an LP solve).
    polish_moves : int
        After the greedy, run the tabu swap search (:func:`qamtu.plan.swap.swap_search`) for at most this many
        moves (0: the plain greedy, the default of this function; the planner's ``method="greedy"`` polishes). A
        move budget, not a time budget, so the result does not depend on the machine.
    """
    t0 = time.perf_counter()
    needs, feasible = requirements(problem, targets)
    state = CoverageState(problem, needs)
    selected = np.zeros(problem.n_sites, bool)
    order: list[int] = []
    spent = 0.0
    budget = problem.budget
    cost = problem.cost

    def take(s: int) -> None:
        nonlocal spent
        state.add(s)
        selected[s] = True
        order.append(s)
        spent += cost[s]

    for s in np.flatnonzero(problem.lock):
        take(int(s))
    queue = RateQueue(cost, tie_by_cost=True)
    for s in np.flatnonzero(~problem.lock & ~problem.exclude):
        g = state.gain(int(s))
        if g > 0:
            queue.push(int(s), g)

    def fits(s: int) -> bool:  # a site that does not fit never fits again: spending only grows
        return budget is None or not spent + cost[s] > budget * (1 + 1e-12)

    pick_by_rate(queue, take, done=state.done, fits=fits, regain=state.gain, min_regain=1e-15)
    if prune:
        selected = drop_redundant(problem, needs, selected, drop_order(cost, order))
        order = [s for s in order if selected[s]]
    needs_met = state.done() if not prune else meets(problem, needs, selected)
    if polish_moves > 0 and needs_met:
        polished = swap_search(problem, needs, selected, max_moves=int(polish_moves), time_limit_s=600.0)
        if problem.cost[polished].sum() < problem.cost[selected].sum() - 1e-9:
            selected = polished
            order = [int(s) for s in addition_order(problem, selected)]
    status = "heuristic" if feasible else "infeasible"
    if budget is not None and not needs_met:
        status = "over_budget"
    bound = lp_lower_bound(problem, targets) if lower_bound and status != "over_budget" else None
    return finish(problem, targets, "greedy", selected, order, bound, status, needs, t0)


def addition_order(problem: CoverageProblem, selected: np.ndarray) -> np.ndarray:
    """Order chosen sites for the explanations: locked first, then greedily by new (area + population) share per
    cost (zero-cost first). Deterministic (ties by index).

    The first gains count each site's whole coverage (not what the locked sites leave); they are refreshed lazily
    after the first pick (:func:`pick_by_rate`).
    """
    sel = np.flatnonzero(selected)
    locked = [int(s) for s in sel if problem.lock[s]]
    rest = [int(s) for s in sel if not problem.lock[s]]
    w = []
    if problem.area_total_km2 > 0:
        w.append(problem.area_km2 / problem.area_total_km2)
    if problem.population_total > 0:
        w.append(problem.population / problem.population_total)
    weight = np.sum(w, axis=0) if w else np.ones(problem.n_units)
    covered = np.zeros(problem.n_units, bool)
    for s in locked:
        covered[problem.units_of(s)] = True
    order = list(locked)
    queue = RateQueue(problem.cost)
    for s in rest:
        queue.push(s, float(weight[problem.units_of(s)].sum()))

    def regain(s: int) -> float:
        units = problem.units_of(s)
        return float(weight[units[~covered[units]]].sum())

    def take(s: int) -> None:
        covered[problem.units_of(s)] = True
        order.append(s)

    pick_by_rate(queue, take, regain=regain)
    return np.asarray(order, np.int64)
