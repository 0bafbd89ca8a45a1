"""Optimisers on a :class:`~qamtu.plan.problem.CoverageProblem`: the MILP (HiGHS), the greedy (CELF) and bounds.

The covering model (a weighted partial set cover with costs)::

    minimise    sum_s c_s x_s
    subject to  y_j <= sum_{s covers j} x_s                 for every demand unit j
                sum_j a_j y_j >= T_area * A_total          (territory target, if given)
                sum_j p_j y_j >= T_pop  * P_total          (population target, if given)
                sum_s c_s x_s <= B                          (budget, if given)
                x_s = 1 (locked in), x_s = 0 (ruled out), x_s in {0, 1}, 0 <= y_j <= 1

``y`` may be continuous: for binary ``x`` the optimum always has ``y_j = 1`` exactly where some chosen site
covers ``j`` (and 0 elsewhere), so relaxing ``y`` changes nothing.

When the targets cannot be reached even with every allowed site, the targets are lowered to the best reachable
shares and the cheapest plan reaching those is returned with ``status="infeasible"``. When a budget is given and
the targets cannot be met within it, the plan that maximises the (target-capped) covered shares within the budget
is returned with ``status="over_budget"``.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from qamtu.errors import InvalidInputError
from qamtu.plan.problem import CoverageProblem, Targets
from qamtu.plan.swap import swap_search

__all__ = ["Solution", "solve_milp", "solve_greedy", "lp_lower_bound", "knapsack_lower_bound",
           "lagrangian_lower_bound", "addition_order",
           "solve"]

#: Relative tolerance used when comparing covered amounts with required amounts.
_TOL = 1e-9


@dataclass
class Solution:
    """The result of one optimiser run on a :class:`CoverageProblem`.

    Attributes
    ----------
    method : {"milp", "greedy"}
    selected : ndarray of bool, shape (n_sites,)
    order : ndarray of int
        Indices of the selected sites in order of addition (locked sites first; for the MILP the order is a
        greedy ordering of its chosen sites, for the greedy the order in which they were picked).
    cost : float
    lower_bound : float or None
        A lower bound on the cost of any plan meeting the (possibly lowered) targets *in this covering model*:
        for the MILP the largest of the knapsack, Lagrangian and HiGHS MIP dual bounds (rounded up when every
        cost is an integer); for the greedy the LP relaxation when asked for. ``None`` when the budget binds (the
        problem then is a coverage maximisation, not a cost minimisation).
    gap : float or None
        ``(cost - lower_bound) / cost`` (0 when cost is 0).
    status : {"optimal", "time_limit", "heuristic", "infeasible", "over_budget"}
    territory_share, population_share : float
        Shares covered under the covering model.
    targets_met : bool
        Whether the original targets are met under the covering model.
    required : dict
        The amounts each target required (after lowering to the reachable maximum, if it had to be).
    solve_time_s : float
    message : str
    """

    method: str
    selected: np.ndarray
    order: np.ndarray
    cost: float
    lower_bound: float | None
    gap: float | None
    status: str
    territory_share: float
    population_share: float
    targets_met: bool
    required: dict = field(default_factory=dict)
    solve_time_s: float = 0.0
    message: str = ""


def _gap(cost: float, bound: float | None) -> float | None:
    if bound is None:
        return None
    if cost <= 0:
        return 0.0
    return max(0.0, (cost - bound) / cost)


def _needs(problem: CoverageProblem, targets: Targets) -> tuple[list[tuple[str, np.ndarray, float]], bool]:
    """Required amounts, lowered to the reachable maximum; and whether the original targets are reachable."""
    reach = problem.covered_units(~problem.exclude)
    needs = []
    feasible = True
    for name, w, need in problem.requirements(targets):
        best = float(w[reach].sum())
        if need > best * (1 + _TOL) + 1e-12:
            feasible = False
        # a target of 100 % sums the same weights in another order: never ask for more than is reachable
        need = min(need, best)
        needs.append((name, w, need))
    return needs, feasible


def _finish(problem, targets, method, selected, order, bound, status, needs, t0, message="") -> Solution:
    cost = float(problem.cost[selected].sum())
    terr, pop = problem.shares(selected)
    if status == "over_budget":
        bound = None
    return Solution(
        method=method,
        selected=selected,
        order=np.asarray(order, np.int64),
        cost=cost,
        lower_bound=None if bound is None else float(min(bound, cost)),
        gap=_gap(cost, None if bound is None else min(bound, cost)),
        status=status,
        territory_share=terr,
        population_share=pop,
        targets_met=targets.met(terr, pop),
        required={name: need for name, _, need in needs},
        solve_time_s=time.perf_counter() - t0,
        message=message,
    )


# ------------------------------------------------------------------------------------------------------------------
# HiGHS
# ------------------------------------------------------------------------------------------------------------------
def _new_highs():
    """A ``highspy.Highs`` instance with its output off (the one-time banner is kept off stdout)."""
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


@dataclass
class _HighsResult:
    status: str  # "optimal", "time_limit", "infeasible", "other"
    x: np.ndarray | None
    objective: float
    dual_bound: float
    message: str


def _highs(c, a, row_lo, row_hi, col_lo, col_hi, integer_cols: int, *, time_limit_s: float = 60.0,
           mip_rel_gap: float = 0.0, x0: np.ndarray | None = None, lp_solver: str = "ipm") -> _HighsResult:
    """Solve ``min c x, row_lo <= A x <= row_hi, col_lo <= x <= col_hi`` with the first ``integer_cols``
    columns integer, with HiGHS (highspy); ``x0`` is passed as a starting solution."""
    import highspy

    inf = highspy.kHighsInf
    a = sp.csc_matrix(a, dtype=np.float64)
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = int(a.shape[1])
    lp.num_row_ = int(a.shape[0])
    lp.col_cost_ = np.asarray(c, np.float64)
    lp.col_lower_ = np.asarray(col_lo, np.float64)
    lp.col_upper_ = np.asarray(col_hi, np.float64)
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -inf).astype(np.float64)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, inf).astype(np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    if integer_cols:
        kinds = [highspy.HighsVarType.kInteger] * integer_cols + [highspy.HighsVarType.kContinuous] * (
            lp.num_col_ - integer_cols)
        lp.integrality_ = kinds
    h = _new_highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    if not integer_cols:  # covering LPs: the interior-point solver is much faster than dual simplex here
        h.setOptionValue("solver", lp_solver)
    h.passModel(lp)
    if x0 is not None and integer_cols:
        start = highspy.HighsSolution()
        start.col_value = [float(v) for v in x0]
        start.value_valid = True
        h.setSolution(start)
    h.run()
    status = h.getModelStatus()
    text = h.modelStatusToString(status)
    ms = highspy.HighsModelStatus
    kind = {ms.kOptimal: "optimal", ms.kTimeLimit: "time_limit", ms.kInfeasible: "infeasible"}.get(status, "other")
    info = h.getInfo()
    sol = h.getSolution()
    has_x = kind in ("optimal", "time_limit") and getattr(info, "primal_solution_status", 2) == 2
    x = np.asarray(sol.col_value, np.float64) if has_x and len(sol.col_value) == lp.num_col_ else None
    bound = float(info.mip_dual_bound) if integer_cols else float(info.objective_function_value)
    return _HighsResult(kind, x, float(info.objective_function_value), bound, f"HiGHS: {text}")


# ------------------------------------------------------------------------------------------------------------------
# MILP
# ------------------------------------------------------------------------------------------------------------------
def _split_units(problem: CoverageProblem):
    """Units covered by one site only, folded into that site's column, and the units covered by several.

    A unit that only site ``s`` covers has ``y_j <= x_s`` as its only link, and raising ``y_j`` never hurts, so
    ``y_j = x_s`` at an optimum: its weight moves onto ``x_s`` in the target rows and the unit leaves the model.
    Exact, and it removes most continuous variables of a planning instance.

    Returns
    -------
    multi : ndarray of int
        Units covered by two sites or more (they keep a ``y`` variable).
    single : ndarray of int
        Units covered by exactly one site.
    owner : ndarray of int
        The site covering each unit of ``single``.
    """
    nnz = np.diff(problem.cover.indptr)
    multi = np.flatnonzero(nnz >= 2)
    single = np.flatnonzero(nnz == 1)
    owner = problem.cover.indices[problem.cover.indptr[single]]
    return multi, single, owner


#: Seconds kept back from HiGHS' time limit (at most 5 % of the whole limit) for building the model and stopping (it
#: overruns its limit by ~0.5 s on city-sized models), so that solve_milp as a whole keeps to its time_limit_s.
_HIGHS_OVERRUN_S = 1.0


def _integer_bound(problem: CoverageProblem, bound: float | None) -> float | None:
    """With integer costs the optimum is an integer, so a bound may be rounded up."""
    if bound is not None and np.all(np.abs(problem.cost - np.round(problem.cost)) < 1e-9):
        return float(np.ceil(bound - 1e-6))
    return bound


def _milp_matrices(problem: CoverageProblem, needs, budget):
    """Constraint matrix of the covering model over columns ``[x (n_sites), y (multi units)]``."""
    n_s = problem.n_sites
    multi, single, owner = _split_units(problem)
    n_m = multi.size
    cover = problem.cover[multi].astype(np.float64)
    link = sp.hstack([-cover, sp.identity(n_m, format="csr")], format="csr")
    rows = [link]
    lo = [np.full(n_m, -np.inf)]
    hi = [np.zeros(n_m)]
    for _, w, need in needs:
        private = np.bincount(owner, weights=w[single], minlength=n_s)
        rows.append(sp.csr_matrix(np.concatenate([private, w[multi]])[None, :]))
        lo.append(np.array([need * (1 - _TOL)]))
        hi.append(np.array([np.inf]))
    if budget is not None:
        rows.append(sp.csr_matrix(np.concatenate([problem.cost, np.zeros(n_m)])[None, :]))
        lo.append(np.array([-np.inf]))
        hi.append(np.array([budget]))
    return sp.vstack(rows, format="csr"), np.concatenate(lo), np.concatenate(hi), multi


def _bounds(problem: CoverageProblem, n_y: int):
    from scipy.optimize import Bounds

    lb = np.concatenate([problem.lock.astype(float), np.zeros(n_y)])
    ub = np.concatenate([(~problem.exclude).astype(float), np.ones(n_y)])
    return Bounds(lb, ub)


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
    needs, feasible = _needs(problem, targets)
    n_s = problem.n_sites
    start = solve_greedy(problem, targets) if warm_start else None
    a, lo, hi, multi = _milp_matrices(problem, needs, problem.budget)
    c = np.concatenate([problem.cost, np.zeros(multi.size)])
    b = _bounds(problem, multi.size)

    def pack(selected):
        return np.concatenate([selected.astype(float), problem.covered_units(selected)[multi].astype(float)])

    best = start if start is not None and start.status != "over_budget" else None  # feasible incumbents only
    # 1. the knapsack bound (instant)
    bound = _integer_bound(problem, knapsack_lower_bound(problem, needs))
    # 2. the tabu swap search (qamtu.plan.swap) from the greedy plan, until the bound proves it within the gap
    if best is not None and swap_share > 0 and _gap(best.cost, bound) > mip_rel_gap:
        left = time_limit_s - (time.perf_counter() - t0)
        searched = swap_search(problem, needs, best.selected, time_limit_s=max(swap_share * left, 1e-3),
                               stop_at_cost=bound / (1 - mip_rel_gap) if bound > 0 else 0.0)
        if problem.cost[searched].sum() < best.cost - 1e-9:
            best = _finish(problem, targets, "milp", searched, addition_order(problem, searched), None, "heuristic",
                           needs, t0)
    # 3. the Lagrangian bound, its subgradient steps aimed at the best plan's cost
    if best is not None and _gap(best.cost, bound) > mip_rel_gap:
        left = time_limit_s - (time.perf_counter() - t0)
        bound = max(bound, _integer_bound(problem, lagrangian_lower_bound(
            problem, needs, best.cost, time_limit_s=max(min(0.1 * time_limit_s, 5.0, 0.5 * left), 1e-3))))
    # 4. branch-and-cut (HiGHS) from the best incumbent with the time left, unless the bound already proves it
    message = "the knapsack/Lagrangian bound proves the plan within the gap"
    status_kind = "optimal"
    proven = best is not None and bound is not None and _gap(best.cost, bound) <= mip_rel_gap
    left = time_limit_s - (time.perf_counter() - t0) - min(_HIGHS_OVERRUN_S, 0.05 * time_limit_s)
    if best is not None and not proven and left < 0.05:
        message = "time limit reached before branch-and-cut"
        status_kind = "time_limit"
    elif not proven:
        res = _highs(c, a, lo, hi, b.lb, b.ub, n_s, time_limit_s=max(left, 0.05), mip_rel_gap=mip_rel_gap,
                     x0=None if best is None else pack(best.selected))
        message = res.message
        no_plan = res.status == "infeasible" or (best is None and res.x is None)
        if no_plan and problem.budget is not None:  # the budget binds (or no plan within it was found in time)
            return _milp_max_coverage(problem, targets, needs, t0, time_limit_s, mip_rel_gap, start)
        if res.status == "infeasible" and problem.budget is None:
            # the requirements never exceed what every allowed site covers (_needs), so without a budget the model
            # is feasible: an "infeasible" is HiGHS' presolve tolerance at a requirement equal to the reachable
            # maximum (a 100 % target). Retry with the requirement rows eased by 1e-9 relative more.
            lo_eased = np.where(np.isfinite(lo), lo - 1e-9 * np.maximum(1.0, np.abs(lo)), lo)
            res = _highs(c, a, lo_eased, hi, b.lb, b.ub, n_s, time_limit_s=max(left, 0.05),
                         mip_rel_gap=mip_rel_gap, x0=None if best is None else pack(best.selected))
            message = res.message
        if res.status == "infeasible":
            raise RuntimeError(f"HiGHS found the covering model infeasible: {res.message}")
        status_kind = res.status
        if res.status in ("optimal", "time_limit") and np.isfinite(res.dual_bound):
            bound = res.dual_bound if bound is None else max(bound, res.dual_bound)
        if res.x is not None:
            sel = res.x[:n_s] > 0.5
            if best is None or problem.cost[sel].sum() < best.cost - 1e-9:
                best = _finish(problem, targets, "milp", sel, np.flatnonzero(sel), None, "heuristic", needs, t0)
        if best is None:
            raise RuntimeError(f"HiGHS found no plan for the covering model: {res.message}")
    selected, _ = _reverse_delete(problem, needs, best.selected.copy(), list(np.flatnonzero(best.selected)))
    bound = _integer_bound(problem, bound)
    status = "optimal" if feasible else "infeasible"
    if feasible and status_kind != "optimal" and not (bound is not None
                                                    and _gap(problem.cost[selected].sum(), bound) <= mip_rel_gap):
        status = "time_limit"
    return _finish(problem, targets, "milp", selected, addition_order(problem, selected), bound, status, needs, t0,
                   message)


def _milp_max_coverage(problem, targets, needs, t0, time_limit_s, mip_rel_gap, start=None) -> Solution:
    """Budget binds: maximise sum_t min(covered_t, need_t) / need_t within the budget (ties: cheaper)."""
    n_s, n_t = problem.n_sites, len(needs)
    multi, single, owner = _split_units(problem)
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
    b0 = _bounds(problem, n_m)
    col_lo = np.concatenate([b0.lb, np.zeros(n_t)])
    col_hi = np.concatenate([b0.ub, np.array([need for _, _, need in needs])])
    x0 = None
    if start is not None:
        cov = problem.covered_units(start.selected)
        z0 = [min(float(w[cov].sum()), need) for _, w, need in needs]
        x0 = np.concatenate([start.selected.astype(float), cov[multi].astype(float), z0])
    res = _highs(c, a, np.concatenate(lo), np.concatenate(hi), col_lo, col_hi, n_s, time_limit_s=time_limit_s,
                 mip_rel_gap=mip_rel_gap, x0=x0)
    if res.x is None:
        sol = start if start is not None else solve_greedy(problem, targets)
        selected = sol.selected
    else:
        selected = res.x[:n_s] > 0.5
    return _finish(problem, targets, "milp", selected, addition_order(problem, selected), None, "over_budget",
                   needs, t0, "the targets cannot be met within the budget; best coverage within the budget")


def lp_lower_bound(problem: CoverageProblem, targets: Targets, time_limit_s: float = 60.0) -> float | None:
    """A lower bound on the minimum cost of the covering model: its LP relaxation (``0 <= x <= 1``, HiGHS
    interior point), or, if the LP does not finish in ``time_limit_s``, the knapsack bound
    (:func:`knapsack_lower_bound`). Returns ``None`` if the LP is infeasible (budget too small for the targets)."""
    needs, _ = _needs(problem, targets)
    a, lo, hi, multi = _milp_matrices(problem, needs, problem.budget)
    b = _bounds(problem, multi.size)
    c = np.concatenate([problem.cost, np.zeros(multi.size)])
    res = _highs(c, a, lo, hi, b.lb, b.ub, 0, time_limit_s=time_limit_s)
    if res.status == "infeasible":
        return None
    if res.status != "optimal":
        return max(knapsack_lower_bound(problem, needs),
                   lagrangian_lower_bound(problem, needs, time_limit_s=max(0.25 * time_limit_s, 1e-3)))
    return float(res.objective)


def knapsack_lower_bound(problem: CoverageProblem, needs) -> float:
    """Fractional-knapsack bound: ignore overlaps between sites (a site's coverage counts in full), take the
    locked sites, then sites by decreasing coverable amount per cost until each requirement is met; the largest
    of the per-requirement costs. Valid because the union of the chosen sites' coverage never exceeds the sum."""
    best = 0.0
    allowed = ~problem.exclude & ~problem.lock
    base = float(problem.cost[problem.lock].sum())
    for _, w, need in needs:
        amount = np.asarray(problem.csc.T.astype(np.float64) @ w).reshape(-1)
        have = float(w[problem.covered_units(problem.lock)].sum())
        rest = need * (1 - _TOL) - have
        total = base
        if rest > 0:
            idx = np.flatnonzero(allowed & (amount > 0))
            free = idx[problem.cost[idx] == 0]
            rest -= float(amount[free].sum())
            idx = idx[problem.cost[idx] > 0]
            order = idx[np.argsort(-(amount[idx] / problem.cost[idx]), kind="stable")]
            for s in order:
                if rest <= 0:
                    break
                take = min(1.0, rest / amount[s])
                total += take * problem.cost[s]
                rest -= take * amount[s]
        best = max(best, total)
    return best


def lagrangian_lower_bound(problem: CoverageProblem, needs, upper_bound: float | None = None, *,
                           time_limit_s: float = 10.0, max_iterations: int = 2000) -> float:
    """Lagrangian bound on the minimum cost: relax the linking constraints ``y_j <= sum_{s covers j} x_s``.

    For multipliers ``mu >= 0`` the relaxed problem separates: each free site is taken when its reduced cost
    ``c_s - sum_{j in s} mu_j`` is negative (locked sites always, excluded never), and the demand side is a
    fractional knapsack ``min sum mu_j y_j`` s.t. ``sum w_j y_j >= need``, ``0 <= y <= 1`` over the units some
    allowed site can reach, solved exactly by sorting ``mu_j / w_j``. Every ``mu >= 0`` gives a valid lower bound
    (weak duality); the multipliers are improved by subgradient steps with Polyak's step size towards
    ``upper_bound`` (an incumbent's cost) and converge towards the LP-relaxation bound, at the cost of two sparse
    products and one sort per step: it stays cheap where the LP itself does not finish. With two requirements
    the bound of each alone is valid and the larger is returned. When every cost is an integer the bound is
    rounded up (the optimum is an integer).

    References
    ----------
    M. L. Fisher, "The Lagrangian relaxation method for solving integer programming problems", Management Science
    27(1), 1981; B. T. Polyak, "Minimization of unsmooth functionals", USSR Comp. Math. 9(3), 1969.
    """
    t0 = time.perf_counter()
    a_csr = problem.cover.astype(np.float64)
    a_t = problem.csc.T.astype(np.float64).tocsr()
    cost = problem.cost
    lock, exclude = problem.lock, problem.exclude
    free = ~lock & ~exclude
    reach = problem.covered_units(~exclude)
    best = float(cost[lock].sum())
    deadline = t0 + max(time_limit_s, 1e-3)
    per_need = max(1, max_iterations // max(len(needs), 1))
    for _, w, need in needs:
        need = float(need) * (1 - _TOL)
        units = np.flatnonzero(reach & (w > 0))
        if need <= 0 or units.size == 0:
            continue
        wu = w[units]

        def value(mu: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            reduced = cost - a_t @ mu
            x = lock | (free & (reduced < 0))
            y = np.zeros(w.size)
            ratio = mu[units] / wu
            order = np.argsort(ratio, kind="stable")
            cum = np.cumsum(wu[order])
            k = int(np.searchsorted(cum, need))  # first index where the cumulative amount reaches the need
            if k >= order.size:  # the need exceeds what the reachable units hold: no finite bound from here
                return -np.inf, x, y
            y[units[order[:k]]] = 1.0
            prev = cum[k - 1] if k > 0 else 0.0
            y[units[order[k]]] = (need - prev) / wu[order[k]]
            val = float(reduced[x].sum() + mu @ y)
            return val, x, y

        # start from the best multipliers proportional to the weights, mu = lam * w: L is concave in lam and at its
        # maximum equals the knapsack bound, so the subgradient steps start where that bound ends
        scale = (upper_bound if upper_bound else float(cost[free].sum()) or 1.0) / need
        mu = np.zeros(w.size)

        def along(lam: float) -> float:
            mu[units] = lam * wu
            return value(mu)[0]

        lo_l, hi_l = np.log(scale) - np.log(50.0), np.log(scale) + np.log(50.0)
        for _ in range(16):  # ternary search on log(lam) (L is unimodal along the ray)
            m1, m2 = lo_l + (hi_l - lo_l) / 3, hi_l - (hi_l - lo_l) / 3
            if along(np.exp(m1)) < along(np.exp(m2)):
                lo_l = m1
            else:
                hi_l = m2
        mu[units] = np.exp(0.5 * (lo_l + hi_l)) * wu
        theta, stall, best_need = 2.0, 0, -np.inf
        for _ in range(per_need):
            val, x, y = value(mu)
            if val > best_need + 1e-12 * max(1.0, abs(val)):
                best_need, stall = val, 0
            else:
                stall += 1
                if stall >= 20:
                    theta, stall = theta / 2, 0
            g = y - a_csr @ x.astype(np.float64)
            g[(mu <= 0) & (g < 0)] = 0.0  # projected subgradient: mu stays at 0 where it would go negative
            norm2 = float(g @ g)
            target = upper_bound if upper_bound is not None else best_need + abs(best_need) * 0.05 + 1.0
            if norm2 <= 0 or theta < 1e-4 or target - best_need <= 1e-9 * max(1.0, abs(target)) \
                    or time.perf_counter() > deadline:
                break
            mu = np.maximum(mu + theta * (target - val) / norm2 * g, 0.0)
        best = max(best, best_need)
    return float(_integer_bound(problem, best))


# ------------------------------------------------------------------------------------------------------------------
# Greedy (CELF)
# ------------------------------------------------------------------------------------------------------------------
class _Coverage:
    """Incremental coverage state for greedy selection: f(S) = sum_t min(cov_t(S), need_t) / need_t."""

    def __init__(self, problem: CoverageProblem, needs):
        self.p = problem
        self.weights = np.stack([w for _, w, _ in needs]) if needs else np.zeros((0, problem.n_units))
        self.need = np.array([need for _, _, need in needs], np.float64)
        self.covered = np.zeros(problem.n_units, bool)
        self.amount = np.zeros(len(needs))

    def value(self, amount: np.ndarray) -> float:
        need = self.need
        ok = need > 0
        return float(np.sum(np.minimum(amount[ok], need[ok]) / need[ok]))

    def new_amount(self, site: int) -> np.ndarray:
        units = self.p.units_of(site)
        fresh = units[~self.covered[units]]
        return self.weights[:, fresh].sum(axis=1)

    def gain(self, site: int) -> float:
        return self.value(self.amount + self.new_amount(site)) - self.value(self.amount)

    def add(self, site: int) -> None:
        units = self.p.units_of(site)
        fresh = units[~self.covered[units]]
        self.amount += self.weights[:, fresh].sum(axis=1)
        self.covered[units] = True

    def done(self) -> bool:
        return bool(np.all(self.amount >= self.need * (1 - _TOL)))


def solve_greedy(problem: CoverageProblem, targets: Targets, *, prune: bool = True,
                 lower_bound: bool = False, polish_moves: int = 0) -> Solution:
    """Lazy greedy (CELF): repeatedly add the site with the largest gain per unit cost until the targets hold.

    The gain is the increase of ``f(S) = sum_t min(covered_t(S), required_t) / required_t``, a monotone
    submodular function, so stale gains are upper bounds and lazy evaluation (CELF) picks exactly what the plain
    greedy would. Locked sites go in first. Sites that no longer fit in the budget are skipped. Zero-cost sites
    with a positive gain are taken first. Ties are broken by lower cost, then lower index (deterministic).
    With ``prune=True`` a reverse-delete pass then removes, most expensive first, every non-locked site whose
    removal does not lower ``f``.

    Parameters
    ----------
    problem : CoverageProblem
    targets : Targets
    prune : bool
        Run the reverse-delete pass.
    lower_bound : bool
        Also solve the LP relaxation to report a lower bound and gap (costs an LP solve).
    polish_moves : int
        After the greedy, run the tabu swap search (:func:`qamtu.plan.swap.swap_search`) for at most this many
        moves (0: the plain greedy, the default of this function; the planner's ``method="greedy"`` polishes). A
        move budget, not a time budget, so the result does not depend on the machine.

    References
    ----------
    J. Leskovec et al., "Cost-effective outbreak detection in networks", KDD 2007 (CELF lazy evaluation);
    G. L. Nemhauser, L. A. Wolsey, M. L. Fisher, Math. Programming 14 (1978) (greedy on submodular functions).
    """
    t0 = time.perf_counter()
    needs, feasible = _needs(problem, targets)
    state = _Coverage(problem, needs)
    selected = np.zeros(problem.n_sites, bool)
    order: list[int] = []
    spent = 0.0
    budget = problem.budget
    for s in np.flatnonzero(problem.lock):
        state.add(int(s))
        selected[s] = True
        order.append(int(s))
        spent += problem.cost[s]
    cost = problem.cost
    heap: list[tuple[float, float, int, int]] = []
    n_picked = 0
    for s in np.flatnonzero(~problem.lock & ~problem.exclude):
        s = int(s)
        g = state.gain(s)
        if g <= 0:
            continue
        rate = np.inf if cost[s] == 0 else g / cost[s]
        heapq.heappush(heap, (-rate, float(cost[s]), s, n_picked))
    while heap and not state.done():
        neg_rate, c_s, s, stamp = heapq.heappop(heap)
        if budget is not None and spent + c_s > budget * (1 + 1e-12):
            continue  # never fits again: spending only grows
        if stamp != n_picked:  # stale: recompute and push back
            g = state.gain(s)
            if g <= 1e-15:
                continue
            rate = np.inf if c_s == 0 else g / c_s
            heapq.heappush(heap, (-rate, c_s, s, n_picked))
            continue
        state.add(s)
        selected[s] = True
        order.append(s)
        spent += c_s
        n_picked += 1
    if prune:
        selected, order = _reverse_delete(problem, needs, selected, order)
    needs_met = state.done() if not prune else _Coverage_done(problem, needs, selected)
    if polish_moves > 0 and needs_met:
        polished = swap_search(problem, needs, selected, max_moves=int(polish_moves), time_limit_s=600.0)
        if problem.cost[polished].sum() < problem.cost[selected].sum() - 1e-9:
            selected = polished
            order = [int(s) for s in addition_order(problem, selected)]
    status = "heuristic" if feasible else "infeasible"
    if budget is not None and not needs_met:
        status = "over_budget"
    bound = lp_lower_bound(problem, targets) if lower_bound and status != "over_budget" else None
    return _finish(problem, targets, "greedy", selected, order, bound, status, needs, t0)


def _Coverage_done(problem, needs, selected) -> bool:  # noqa: N802 - helper mirroring _Coverage.done
    cov = problem.covered_units(selected)
    return all(float(w[cov].sum()) >= need * (1 - _TOL) for _, w, need in needs)


def _reverse_delete(problem, needs, selected, order):
    weights = np.stack([w for _, w, _ in needs])
    need = np.array([n for _, _, n in needs])
    counts = np.asarray(problem.cover @ selected.astype(np.int32)).reshape(-1)
    amount = weights[:, counts > 0].sum(axis=1)

    def value(a):
        ok = need > 0
        return float(np.sum(np.minimum(a[ok], need[ok]) / need[ok]))

    selected = selected.copy()
    position = {s: i for i, s in enumerate(order)}
    candidates = [s for s in order if not problem.lock[s]]
    candidates.sort(key=lambda s: (-problem.cost[s], -position[s]))
    for s in candidates:
        units = problem.units_of(s)
        lost = units[counts[units] == 1]
        new_amount = amount - weights[:, lost].sum(axis=1)
        if value(new_amount) >= value(amount) - 1e-12:
            selected[s] = False
            counts[units] -= 1
            amount = new_amount
    return selected, [s for s in order if selected[s]]


# ------------------------------------------------------------------------------------------------------------------
def addition_order(problem: CoverageProblem, selected: np.ndarray) -> np.ndarray:
    """Order chosen sites for the explanations: locked first, then greedily by new (area + population) share per
    cost (zero-cost first). Deterministic (ties by index)."""
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
    gains = {s: float(weight[problem.units_of(s)].sum()) for s in rest}
    heap = [(-(np.inf if problem.cost[s] == 0 else gains[s] / problem.cost[s]), s, 0) for s in rest]
    heapq.heapify(heap)
    n = 0
    while heap:
        neg, s, stamp = heapq.heappop(heap)
        if stamp != n:
            units = problem.units_of(s)
            g = float(weight[units[~covered[units]]].sum())
            rate = np.inf if problem.cost[s] == 0 else g / problem.cost[s]
            heapq.heappush(heap, (-rate, s, n))
            continue
        covered[problem.units_of(s)] = True
        order.append(s)
        n += 1
    return np.asarray(order, np.int64)


def solve(problem: CoverageProblem, targets: Targets, method: str = "milp", **kwargs) -> Solution:
    """Dispatch to :func:`solve_milp` or :func:`solve_greedy` by name."""
    if method == "milp":
        return solve_milp(problem, targets, **kwargs)
    if method == "greedy":
        return solve_greedy(problem, targets, **kwargs)
    raise InvalidInputError(f"method {method!r} is not allowed; choose 'milp' or 'greedy'")
