"""The covering model as a MILP, solved in stages: greedy, swap search, bounds, then HiGHS branch-and-cut.

The covering model (a weighted partial set cover with costs)::

    minimise    sum_s c_s x_s
    subject to  y_j <= sum_{s covers j} x_s                 for every demand unit j
                sum_j a_j y_j >= T_area * A_total          (territory target, if given)
                sum_j p_j y_j >= T_pop  * P_total          (population target, if given)
                sum_s c_s x_s <= B                          (budget, if given)
                x_s = 1 (locked in), x_s = 0 (ruled out), x_s in {0, 1}, 0 <= y_j <= 1

``y`` may be continuous: for binary ``x`` the optimum always has ``y_j = 1`` exactly where some chosen site
covers ``j`` (and 0 elsewhere), so relaxing ``y`` changes nothing. Its matrices are written by
:func:`qamtu.plan.highs.covering_matrices`.

When the targets cannot be reached even with every allowed site, the targets are lowered to the best reachable
shares and the cheapest plan reaching those is returned with ``status="infeasible"``. When a budget is given and
the targets cannot be met within it, the plan that maximises the capped coverage objective
(:func:`qamtu.plan.objective.capped_value`) within the budget is returned with ``status="over_budget"``.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from qamtu.errors import InfeasibleError, InternalError, InvalidInputError
from qamtu.plan.bounds import integer_bound, knapsack_lower_bound, lagrangian_lower_bound
from qamtu.plan.greedy import addition_order, solve_greedy
from qamtu.plan.highs import column_bounds, covering_matrices, run_highs, split_units
from qamtu.plan.objective import Requirement, requirements
from qamtu.plan.problem import CoverageProblem, Targets
from qamtu.plan.solution import Solution, finish, relative_gap
from qamtu.plan.swap import drop_order, drop_redundant, swap_search

__all__ = ["solve_milp"]

#: Seconds kept back from HiGHS' time limit (at most 5 % of the whole limit) for building the model and stopping (it
#: overruns its limit by ~0.5 s on city-sized models), so that solve_milp as a whole keeps to its time_limit_s.
_HIGHS_OVERRUN_S = 1.0


def solve_milp(
    problem: CoverageProblem,
    targets: Targets,
    *,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.005,
    warm_start: bool = True,
    swap_share: float = 0.6,
) -> Solution:
    """Solve the covering model to ``mip_rel_gap``.

    The stages, each skipped once the bound proves the plan within ``mip_rel_gap``:

    1. the greedy plan (:func:`solve_greedy`) and the knapsack bound (:func:`knapsack_lower_bound`);
    2. the tabu swap search (:func:`qamtu.plan.swap.swap_search`) from the greedy plan, for ``swap_share`` of the
       time left: on city-sized instances it is what finds near-optimal plans (the LP relaxation is weak there,
       every unit being reachable from several candidates, and branch-and-bound barely moves in a minute);
    3. the Lagrangian bound (:func:`lagrangian_lower_bound`, at most 10 % of the time and 5 s), its subgradient
       steps aimed at the best plan's cost;
    4. the HiGHS MIP solver (``highspy``, branch-and-cut) from the best plan, with the time left: on small and
       medium instances it proves optimality; its dual bound replaces the cheap bounds when better.

    Parameters
    ----------
    problem : CoverageProblem
    targets : Targets
    time_limit_s : float
        Wall-clock limit for HiGHS, seconds (> 0). On time-out the best plan found is returned with
        ``status="time_limit"`` and the dual bound reached.
    mip_rel_gap : float
        Relative gap, in [0, 1), at which the solve stops: as soon as the bound proves the plan within it, in
        whichever stage.
    warm_start : bool
        Start from the greedy plan (:func:`solve_greedy`), so the MILP is never worse than the greedy; without it
        stages 1 and 2 are skipped and HiGHS starts from nothing.
    swap_share : float
        Share of the time left after stage 1 given to the swap search, in [0, 1].

    Returns
    -------
    Solution

    Notes
    -----
    Every stage is deterministic (HiGHS runs single-threaded with ``random_seed = 0``; the swap search uses no
    random numbers): the same problem gives the same plan when no stage is cut by the wall-clock limit (a solve
    cut by the limit can end at different points on different runs).
    A reverse-delete pass then drops any chosen site whose removal keeps every target (it can only lower the cost).

    References
    ----------
    Q. Huangfu and J. A. J. Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp. 10 (2018);
    HiGHS 1.x MIP solver (branch-and-cut), https://highs.dev.
    """
    if not 0 <= swap_share <= 1:
        raise InvalidInputError(f"swap_share = {swap_share!r}; must be in [0, 1]")
    if not time_limit_s > 0:
        raise InvalidInputError(f"time_limit_s = {time_limit_s!r}; must be > 0")
    if not 0 <= mip_rel_gap < 1:
        raise InvalidInputError(f"mip_rel_gap = {mip_rel_gap!r}; must be in [0, 1)")
    t0 = time.perf_counter()
    needs, feasible = requirements(problem, targets)
    n_s = problem.n_sites
    start = solve_greedy(problem, targets) if warm_start else None
    a, lo, hi, multi = covering_matrices(problem, needs, problem.budget)
    c = np.concatenate([problem.cost, np.zeros(multi.size)])
    b = column_bounds(problem, multi.size)

    def pack(selected):
        return np.concatenate([selected.astype(float), problem.covered_units(selected)[multi].astype(float)])

    best = start if start is not None and start.status != "over_budget" else None  # feasible incumbents only
    # 1. the knapsack bound (instant)
    bound = integer_bound(problem, knapsack_lower_bound(problem, needs))
    # 2. the tabu swap search (qamtu.plan.swap) from the greedy plan, until the bound proves it within the gap
    if best is not None and swap_share > 0 and relative_gap(best.cost, bound) > mip_rel_gap:
        left = time_limit_s - (time.perf_counter() - t0)
        searched = swap_search(problem, needs, best.selected, time_limit_s=max(swap_share * left, 1e-3),
                               stop_at_cost=bound / (1 - mip_rel_gap) if bound > 0 else 0.0)
        if problem.cost[searched].sum() < best.cost - 1e-9:
            best = finish(problem, targets, "milp", searched, addition_order(problem, searched), None, "heuristic",
                           needs, t0)
    # 3. the Lagrangian bound, its subgradient steps aimed at the best plan's cost
    if best is not None and relative_gap(best.cost, bound) > mip_rel_gap:
        left = time_limit_s - (time.perf_counter() - t0)
        bound = max(bound, integer_bound(problem, lagrangian_lower_bound(
            problem, needs, best.cost, time_limit_s=max(min(0.1 * time_limit_s, 5.0, 0.5 * left), 1e-3))))
    # 4. branch-and-cut (HiGHS) from the best incumbent with the time left, unless the bound already proves it
    message = "the knapsack/Lagrangian bound proves the plan within the gap"
    status_kind = "optimal"
    proven = best is not None and bound is not None and relative_gap(best.cost, bound) <= mip_rel_gap
    left = time_limit_s - (time.perf_counter() - t0) - min(_HIGHS_OVERRUN_S, 0.05 * time_limit_s)
    if best is not None and not proven and left < 0.05:
        message = "time limit reached before branch-and-cut"
        status_kind = "time_limit"
    elif not proven:
        res = run_highs(c, a, lo, hi, b.lb, b.ub, n_s, time_limit_s=max(left, 0.05), mip_rel_gap=mip_rel_gap,
                        x0=None if best is None else pack(best.selected))
        message = res.message
        no_plan = res.status == "infeasible" or (best is None and res.x is None)
        if no_plan and problem.budget is not None:  # the budget binds (or no plan within it was found in time)
            return _milp_max_coverage(problem, targets, needs, t0, time_limit_s, mip_rel_gap, start)
        if res.status == "infeasible" and problem.budget is None:
            # the requirements never exceed what every allowed site covers (requirements()), so without a budget the
            # model is feasible: an "infeasible" is HiGHS' presolve tolerance at a requirement equal to the reachable
            # maximum (a 100 % target). Retry with the requirement rows eased by 1e-9 relative more.
            lo_eased = np.where(np.isfinite(lo), lo - 1e-9 * np.maximum(1.0, np.abs(lo)), lo)
            res = run_highs(c, a, lo_eased, hi, b.lb, b.ub, n_s, time_limit_s=max(left, 0.05),
                            mip_rel_gap=mip_rel_gap, x0=None if best is None else pack(best.selected))
            message = res.message
        if res.status == "infeasible":
            raise InternalError(f"HiGHS found the covering model infeasible although every requirement is reachable "
                                f"(checked before the solve): {res.message}")
        status_kind = res.status
        if res.status in ("optimal", "time_limit") and np.isfinite(res.dual_bound):
            bound = res.dual_bound if bound is None else max(bound, res.dual_bound)
        if res.x is not None:
            sel = res.x[:n_s] > 0.5
            if best is None or problem.cost[sel].sum() < best.cost - 1e-9:
                best = finish(problem, targets, "milp", sel, np.flatnonzero(sel), None, "heuristic", needs, t0)
        if best is None:
            raise InfeasibleError(f"HiGHS found no plan for the covering model within time_limit_s = "
                                  f"{time_limit_s:g} s (give more time, or warm_start=True): {res.message}")
    selected = drop_redundant(problem, needs, best.selected, drop_order(problem.cost, np.flatnonzero(best.selected)))
    bound = integer_bound(problem, bound)
    status = "optimal" if feasible else "infeasible"
    within_gap = bound is not None and relative_gap(problem.cost[selected].sum(), bound) <= mip_rel_gap
    if feasible and status_kind != "optimal" and not within_gap:
        status = "time_limit"
    return finish(problem, targets, "milp", selected, addition_order(problem, selected), bound, status, needs, t0,
                  message)


def _milp_max_coverage(problem: CoverageProblem, targets: Targets, needs: list[Requirement], t0: float,
                       time_limit_s: float, mip_rel_gap: float, start: Solution | None = None) -> Solution:
    """Budget binds: maximise the capped coverage objective (:func:`qamtu.plan.objective.capped_value`,
    ``sum_t min(covered_t, need_t) / need_t``, linear with ``z_t <= covered_t``, ``z_t <= need_t``) within the
    budget (ties: cheaper)."""
    n_s, n_t = problem.n_sites, len(needs)
    multi, single, owner = split_units(problem)
    n_m = multi.size
    cover = problem.cover[multi].astype(np.float64)
    blocks = [sp.hstack([-cover, sp.identity(n_m), sp.csr_matrix((n_m, n_t))], format="csr")]
    lo, hi = [np.full(n_m, -np.inf)], [np.zeros(n_m)]
    for t, (_, w, need) in enumerate(needs):  # z_t <= covered amount of target t
        z = np.zeros(n_t)
        z[t] = 1.0
        private = np.bincount(owner, weights=w[single], minlength=n_s)
        blocks.append(sp.csr_matrix(np.concatenate([-private, -w[multi], z])[None, :]))
        lo.append(np.array([-np.inf]))
        hi.append(np.array([0.0]))
    blocks.append(sp.csr_matrix(np.concatenate([problem.cost, np.zeros(n_m + n_t)])[None, :]))
    lo.append(np.array([-np.inf]))
    hi.append(np.array([problem.budget]))
    a = sp.vstack(blocks, format="csr")
    scale = problem.budget if problem.budget and problem.budget > 0 else 1.0
    c = np.concatenate([1e-6 * problem.cost / scale, np.zeros(n_m),
                        np.array([-1.0 / max(need, 1e-300) for _, _, need in needs])])
    b0 = column_bounds(problem, n_m)
    col_lo = np.concatenate([b0.lb, np.zeros(n_t)])
    col_hi = np.concatenate([b0.ub, np.array([need for _, _, need in needs])])
    x0 = None
    if start is not None:
        cov = problem.covered_units(start.selected)
        z0 = [min(float(w[cov].sum()), need) for _, w, need in needs]
        x0 = np.concatenate([start.selected.astype(float), cov[multi].astype(float), z0])
    res = run_highs(c, a, np.concatenate(lo), np.concatenate(hi), col_lo, col_hi, n_s, time_limit_s=time_limit_s,
                 mip_rel_gap=mip_rel_gap, x0=x0)
    if res.x is None:
        sol = start if start is not None else solve_greedy(problem, targets)
        selected = sol.selected
    else:
        selected = res.x[:n_s] > 0.5
    return finish(problem, targets, "milp", selected, addition_order(problem, selected), None, "over_budget",
                   needs, t0, "the targets cannot be met within the budget; best coverage within the budget")
