"""Local search for the covering model: the drop-redundant pass and the tabu swap search (fewer, cheaper sites).

The MILP's LP relaxation is weak on planning instances (every unit is reachable from several candidates, so the
relaxation spreads fractional sites evenly and HiGHS' branch-and-bound barely moves in a minute), and its
incumbent is what users get. This module improves an incumbent directly, on the structure of the problem:

1. *Drop* (:func:`drop_redundant`, the one drop-redundant pass of the planner, also run after the greedy and the
   MILP): remove, one by one in a given order, every chosen site whose removal lowers no requirement's capped
   amount (it loses nothing of a requirement, or the requirement still holds without it; see
   :mod:`qamtu.plan.objective`).
2. *Shrink*: remove the chosen site that loses the least coverage per unit of cost saved; the plan now costs
   less than the best feasible one but misses a requirement.
3. *Repair by swaps*: a tabu search over moves "remove chosen site ``r``, add unchosen site ``a``" that never
   raise the cost above the shrunken plan's, maximising the covered (target-weighted) amount, until every
   requirement holds again (back to 1: a cheaper plan was found) or ``max_stall`` moves pass without a new
   best coverage (stop: the last feasible plan is returned).

The gains are kept incrementally: ``gain[a]`` (weight of the uncovered units ``a`` covers), ``loss[r]`` (weight of
the units only ``r`` covers) and, for every unit covered once, its only chosen site, so a move costs the degree of
the units it touches, not a pass over the instance. The inner loop is compiled with Numba.

The search is deterministic (ties by site index, no random numbers) and stops at ``time_limit_s`` at the latest;
a run that ends on its move limits, not on time, is reproducible. Locked sites are never removed, ruled-out sites
never added, and the budget (if any) is never exceeded.

References
----------
F. Glover, "Tabu search - Part I", ORSA J. Computing 1(3), 1989; for the covering move evaluation with
once-covered owners see e.g. the swap-based local search of A. Ageev and M. Sviridenko for maximum coverage,
J. Comb. Optim. 8 (2004), and the p-median "fast interchange" of M. Resende and R. Werneck, J. Heuristics 10 (2004).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from numba import njit, objmode

from qamtu.plan.objective import TOL, Requirement
from qamtu.plan.problem import CoverageProblem

__all__ = ["drop_order", "drop_redundant", "swap_search"]


@njit(cache=True)
def _now() -> float:
    with objmode(t="float64"):
        t = time.perf_counter()
    return t


@njit(cache=True)
def _apply(site, sign, s_ptr, s_idx, u_ptr, u_idx, w, wsum, counts, owner_sum, gain, loss, amount, sel):
    """Add (sign=+1) or remove (sign=-1) ``site`` and update counts, owners, gains, losses, amounts."""
    n_t = w.shape[0]
    for p in range(s_ptr[site], s_ptr[site + 1]):
        j = s_idx[p]
        wj = wsum[j]
        c = counts[j]
        if sign > 0:
            if c == 0:
                # newly covered: no longer a gain for anyone; a loss for site
                for t in range(n_t):
                    amount[t] += w[t, j]
                for q in range(u_ptr[j], u_ptr[j + 1]):
                    gain[u_idx[q]] -= wj
                loss[site] += wj
            elif c == 1:
                loss[owner_sum[j]] -= wj
            counts[j] = c + 1
            owner_sum[j] += site
        else:
            counts[j] = c - 1
            owner_sum[j] -= site
            if c == 1:
                for t in range(n_t):
                    amount[t] -= w[t, j]
                for q in range(u_ptr[j], u_ptr[j + 1]):
                    gain[u_idx[q]] += wj
                loss[site] -= wj
            elif c == 2:
                loss[owner_sum[j]] += wj
    sel[site] = sign > 0


@njit(cache=True)
def _feasible(amount, need):
    for t in range(amount.shape[0]):
        if amount[t] < need[t]:
            return False
    return True


@njit(cache=True)
def _drop_redundant(order, s_ptr, s_idx, u_ptr, u_idx, w, wsum, counts, owner_sum, gain, loss, amount, sel, need,
                    lock):
    """Remove, in ``order``, every chosen non-locked site whose removal lowers no requirement's capped amount:
    for every requirement ``t`` it loses nothing of ``t``, or ``t`` still holds without it."""
    n_t = w.shape[0]
    for i in range(order.shape[0]):
        s = order[i]
        if not sel[s] or lock[s]:
            continue
        ok = True
        for t in range(n_t):
            lost = 0.0
            for p in range(s_ptr[s], s_ptr[s + 1]):
                j = s_idx[p]
                if counts[j] == 1:
                    lost += w[t, j]
            if lost > 0 and amount[t] - lost < need[t]:
                ok = False
                break
        if ok:
            _apply(s, -1, s_ptr, s_idx, u_ptr, u_idx, w, wsum, counts, owner_sum, gain, loss, amount, sel)


@njit(cache=True)
def _init(s_ptr, s_idx, wsum, sel0, u_ptr, u_idx, w, counts, owner_sum, gain, loss, amount, sel):
    for s in range(gain.shape[0]):
        g = 0.0
        for p in range(s_ptr[s], s_ptr[s + 1]):
            g += wsum[s_idx[p]]
        gain[s] = g
    for s in range(gain.shape[0]):
        if sel0[s]:
            _apply(s, 1, s_ptr, s_idx, u_ptr, u_idx, w, wsum, counts, owner_sum, gain, loss, amount, sel)


@njit(cache=True)
def _shrink_and_repair(s_ptr, s_idx, u_ptr, u_idx, w, wsum, need, cost, lock, allowed, cap_total, counts, owner_sum,
                       gain, loss, amount, sel, tabu_until, corr, moves0, max_stall, max_moves, n_candidates, tenure,
                       keep, deadline):
    """One round: remove the chosen site (not in ``keep``) with the least loss per cost saved, then tabu swaps
    (never above the cost cap) until every requirement holds again. Returns (success, moves so far, removed site)."""
    n_s = cost.shape[0]
    moves = moves0
    r_best = -1
    r_val = np.inf
    for s in range(n_s):
        if sel[s] and not lock[s] and not keep[s] and cost[s] > 0:
            v = loss[s] / cost[s]
            if v < r_val:
                r_val = v
                r_best = s
    if r_best < 0:
        return False, moves, -1
    cur_cost = 0.0
    for s in range(n_s):
        if sel[s]:
            cur_cost += cost[s]
    _apply(r_best, -1, s_ptr, s_idx, u_ptr, u_idx, w, wsum, counts, owner_sum, gain, loss, amount, sel)
    cur_cost -= cost[r_best]
    cap = cap_total
    tabu_until[r_best] = moves + tenure
    covered = 0.0
    for j in range(wsum.shape[0]):
        if counts[j] > 0:
            covered += wsum[j]
    best_cov = covered
    stall = 0
    top_a = np.empty(n_candidates, np.int64)
    top_g = np.empty(n_candidates)
    # the chosen non-locked sites, as a list (moves scan it instead of every site)
    chosen = np.empty(n_s, np.int64)
    n_ch = 0
    for s in range(n_s):
        if sel[s] and not lock[s]:
            chosen[n_ch] = s
            n_ch += 1
    success = _feasible(amount, need)
    while not success and stall < max_stall and moves < max_moves:
        # the n_candidates unchosen allowed non-tabu sites with the largest gains that some move can afford
        max_r_cost = 0.0
        for i in range(n_ch):
            r = chosen[i]
            if tabu_until[r] <= moves and cost[r] > max_r_cost:
                max_r_cost = cost[r]
        n_top = 0
        for a in range(n_s):
            if sel[a] or not allowed[a] or tabu_until[a] > moves or gain[a] <= 0:
                continue
            if cur_cost - max_r_cost + cost[a] > cap + 1e-9:
                continue
            g = gain[a]
            if n_top < n_candidates:
                k = n_top
                n_top += 1
            elif g > top_g[n_top - 1]:
                k = n_top - 1
            else:
                continue
            while k > 0 and top_g[k - 1] < g:
                top_g[k] = top_g[k - 1]
                top_a[k] = top_a[k - 1]
                k -= 1
            top_g[k] = g
            top_a[k] = a
        if n_top == 0:
            break
        mv_a = -1
        mv_r = -1
        mv_delta = -np.inf
        for i in range(n_top):
            a = top_a[i]
            if cur_cost + cost[a] <= cap + 1e-9 and gain[a] > mv_delta:  # a plain addition that fits the cap
                mv_delta = gain[a]
                mv_a = a
                mv_r = -1
            for p in range(s_ptr[a], s_ptr[a + 1]):  # units a would take over from their only chosen site
                j = s_idx[p]
                if counts[j] == 1:
                    corr[owner_sum[j]] += wsum[j]
            for i_r in range(n_ch):
                r = chosen[i_r]
                if tabu_until[r] > moves:
                    continue
                if cur_cost - cost[r] + cost[a] > cap + 1e-9:
                    continue
                d = gain[a] - loss[r] + corr[r]
                if d > mv_delta:
                    mv_delta = d
                    mv_a = a
                    mv_r = r
            for p in range(s_ptr[a], s_ptr[a + 1]):
                j = s_idx[p]
                if counts[j] == 1:
                    corr[owner_sum[j]] = 0.0
        if mv_a < 0:
            break
        if mv_r >= 0:
            _apply(mv_r, -1, s_ptr, s_idx, u_ptr, u_idx, w, wsum, counts, owner_sum, gain, loss, amount, sel)
            tabu_until[mv_r] = moves + tenure
            cur_cost -= cost[mv_r]
            for i in range(n_ch):
                if chosen[i] == mv_r:
                    chosen[i] = mv_a
                    break
        else:
            chosen[n_ch] = mv_a
            n_ch += 1
        _apply(mv_a, 1, s_ptr, s_idx, u_ptr, u_idx, w, wsum, counts, owner_sum, gain, loss, amount, sel)
        tabu_until[mv_a] = moves + tenure
        cur_cost += cost[mv_a]
        covered += mv_delta
        moves += 1
        if covered > best_cov + 1e-12:
            best_cov = covered
            stall = 0
        else:
            stall += 1
        success = _feasible(amount, need)
        if (moves & 255) == 0 and _now() > deadline:
            break
    return success, moves, r_best


@dataclass
class _Arrays:
    """The problem as the compiled kernels read it: the relation by site (``s_ptr``, ``s_idx``) and by unit
    (``u_ptr``, ``u_idx``), the weights per requirement ``w`` (n_req, n_units), their sum scaled by each required
    amount ``wsum``, the required amounts ``need`` (with :data:`~qamtu.plan.objective.TOL` taken off), costs and
    locks."""

    s_ptr: np.ndarray
    s_idx: np.ndarray
    u_ptr: np.ndarray
    u_idx: np.ndarray
    w: np.ndarray
    wsum: np.ndarray
    need: np.ndarray
    cost: np.ndarray
    lock: np.ndarray

    @classmethod
    def of(cls, problem: CoverageProblem, needs: list[Requirement]) -> "_Arrays":
        csc = problem.csc
        csr = problem.cover
        w = np.ascontiguousarray(np.stack([np.asarray(wt, np.float64) for _, wt, _ in needs]))
        need = np.array([float(n) for _, _, n in needs]) * (1 - TOL)
        scale = np.where(need > 0, 1.0 / np.maximum(need, 1e-300), 0.0)
        return cls(s_ptr=csc.indptr.astype(np.int64), s_idx=csc.indices.astype(np.int64),
                   u_ptr=csr.indptr.astype(np.int64), u_idx=csr.indices.astype(np.int64), w=w,
                   wsum=np.ascontiguousarray((w * scale[:, None]).sum(axis=0)), need=need,
                   cost=problem.cost.astype(np.float64), lock=problem.lock.astype(np.bool_))

    def state(self, start: np.ndarray) -> tuple[np.ndarray, ...]:
        """The kernels' state for the plan ``start``: per unit the count of chosen sites covering it and the sum of
        their indices (the only one, where the count is 1); per site its gain and loss; the covered amounts; the
        chosen sites."""
        n_u, n_s, n_t = self.u_ptr.size - 1, self.s_ptr.size - 1, self.w.shape[0]
        arrays = (np.zeros(n_u, np.int64), np.zeros(n_u, np.int64), np.zeros(n_s), np.zeros(n_s), np.zeros(n_t),
                  np.zeros(n_s, np.bool_))
        _init(self.s_ptr, self.s_idx, self.wsum, np.asarray(start, np.bool_), self.u_ptr, self.u_idx, self.w,
              *arrays)
        return arrays


def drop_order(cost: np.ndarray, order: Sequence[int] | np.ndarray) -> np.ndarray:
    """The order in which :func:`drop_redundant` tries the sites of ``order`` (an order of addition): the most
    expensive first, and among equal costs the one added last first."""
    order = np.asarray(order, np.int64)
    return order[np.lexsort((-np.arange(order.size), -np.asarray(cost, np.float64)[order]))]


def drop_redundant(problem: CoverageProblem, needs: list[Requirement], selected: np.ndarray,
                   order: np.ndarray) -> np.ndarray:
    """The drop-redundant pass: remove, one by one in ``order``, every chosen site that is not locked and whose
    removal lowers no requirement's capped amount (it loses nothing of a requirement, or the requirement still
    holds without it, within :data:`~qamtu.plan.objective.TOL`). The capped objective
    (:func:`qamtu.plan.objective.capped_value`) therefore never falls and the cost never rises.

    Parameters
    ----------
    problem : CoverageProblem
    needs : list of Requirement
    selected : ndarray of bool, shape (n_sites,)
    order : ndarray of int
        The sites to try, in this order (:func:`drop_order`); sites not chosen or locked are skipped.

    Returns
    -------
    ndarray of bool
        The plan after the pass (a new array).
    """
    a = _Arrays.of(problem, needs)
    counts, owner_sum, gain, loss, amount, sel = a.state(selected)
    _drop_redundant(np.asarray(order, np.int64), a.s_ptr, a.s_idx, a.u_ptr, a.u_idx, a.w, a.wsum, counts, owner_sum,
                    gain, loss, amount, sel, a.need, a.lock)
    return sel.astype(bool)


def swap_search(problem: CoverageProblem, needs: list[Requirement], selected: np.ndarray, *,
                time_limit_s: float = 10.0, max_stall: int = 20_000, max_moves: int = 2_000_000,
                max_failures: int = 10, n_candidates: int = 20, tenure: int | Sequence[int] = (200, 50, 100, 400),
                stop_at_cost: float | None = None, on_improve: Callable[[float, float], None] | None = None
                ) -> np.ndarray:
    """Improve a plan that meets the requirements ``needs`` (from :func:`qamtu.plan.objective.requirements`).

    Parameters
    ----------
    problem : CoverageProblem
    needs : list of Requirement
    selected : ndarray of bool
        A plan meeting every requirement.
    time_limit_s : float
        Wall-clock limit, checked between rounds (a round is bounded by ``max_stall`` moves).
    max_stall : int
        Moves without a new best coverage after which a round gives up.
    max_failures : int
        Rounds in a row that may give up (each restarts from the best plan and removes another site) before the
        search stops.
    max_moves : int
        Moves in all.
    n_candidates : int
        Sites to add considered per move (the largest gains).
    tenure : int or sequence of int
        Moves during which a site just added or removed may not move again; with several values, each round that
        gives up moves on to the next (the best tenure depends on the instance).
    stop_at_cost : float, optional
        Stop as soon as a plan costing at most this much is found (e.g. when a lower bound proves it good enough).
    on_improve : callable, optional
        Called as ``on_improve(cost, elapsed_s)`` whenever a cheaper plan is found (progress reporting).

    Returns
    -------
    ndarray of bool
        The cheapest feasible plan found (never costlier than ``selected``; ``selected`` itself when nothing
        better is found).
    """
    t0 = time.perf_counter()
    a = _Arrays.of(problem, needs)
    s_ptr, s_idx, u_ptr, u_idx, w, wsum, need_arr = a.s_ptr, a.s_idx, a.u_ptr, a.u_idx, a.w, a.wsum, a.need
    cost, lock = a.cost, a.lock
    allowed = (~problem.exclude).astype(np.bool_)
    budget = np.inf if problem.budget is None else float(problem.budget)
    n_s = problem.n_sites
    state = a.state

    counts, owner_sum, gain, loss, amount, sel = state(selected)
    if not _feasible(amount, need_arr):
        return np.asarray(selected, bool).copy()
    order = drop_order(cost, np.arange(n_s))  # drops: most expensive first, then highest index
    tenure_cycle = [int(t) for t in np.atleast_1d(tenure)]
    _drop_redundant(order, s_ptr, s_idx, u_ptr, u_idx, w, wsum, counts, owner_sum, gain, loss, amount, sel, need_arr,
                    lock)
    best = sel.copy()
    best_cost = float(cost[best].sum())
    tabu_until = np.zeros(n_s, np.int64)
    corr = np.zeros(n_s)
    keep = np.zeros(n_s, np.bool_)  # sites whose removal failed since the last improvement
    moves, failures = 0, 0
    positive = cost[allowed & (cost > 0)]
    eps = 1e-6 * (float(positive.min()) if positive.size else 1.0)  # any strictly cheaper plan is a success
    while moves < max_moves and time.perf_counter() - t0 < time_limit_s:
        if stop_at_cost is not None and best_cost <= stop_at_cost:
            break
        ok, moves, removed = _shrink_and_repair(
            s_ptr, s_idx, u_ptr, u_idx, w, wsum, need_arr, cost, lock, allowed, min(budget, best_cost - eps), counts,
            owner_sum, gain, loss, amount, sel, tabu_until, corr, moves, max_stall, max_moves, n_candidates,
            tenure_cycle[failures % len(tenure_cycle)], keep, t0 + time_limit_s)
        if removed < 0:
            break
        if ok:
            _drop_redundant(order, s_ptr, s_idx, u_ptr, u_idx, w, wsum, counts, owner_sum, gain, loss, amount, sel,
                            need_arr, lock)
            c = float(cost[sel].sum())
            if c < best_cost - 1e-9:
                best_cost, best = c, sel.copy()
                if on_improve is not None:
                    on_improve(c, time.perf_counter() - t0)
                keep[:] = False
                failures = 0
                continue
        # no cheaper plan from this removal: back to the best plan, try removing another site
        failures += 1
        if failures >= max_failures:
            break
        keep[removed] = True
        counts, owner_sum, gain, loss, amount, sel = state(best)
    return best
