"""Lower bounds on the cost of the covering model: knapsack, Lagrangian and LP relaxation.

Each bound is valid for the covering model of :mod:`qamtu.plan.milp` with the requirements of
:func:`qamtu.plan.objective.requirements`: no plan meeting them costs less. From the cheapest to the tightest:

- :func:`knapsack_lower_bound`: overlaps between sites ignored, a fractional knapsack per requirement (instant);
- :func:`lagrangian_lower_bound`: the linking constraints relaxed, multipliers improved by subgradient steps
  towards the LP bound (two sparse products and a sort per step; it stays cheap where the LP does not finish);
- :func:`lp_lower_bound`: the LP relaxation solved by HiGHS' interior-point method.

With integer costs the optimum is an integer and a bound may be rounded up (:func:`integer_bound`).
"""

from __future__ import annotations

import time

import numpy as np

from qamtu.plan.highs import column_bounds, covering_matrices, run_highs
from qamtu.plan.objective import TOL, Requirement, requirements
from qamtu.plan.problem import CoverageProblem, Targets

__all__ = ["integer_bound", "knapsack_lower_bound", "lagrangian_lower_bound", "lp_lower_bound"]


def integer_bound(problem: CoverageProblem, bound: float | None) -> float | None:
    """With integer costs the optimum is an integer, so a bound may be rounded up."""
    if bound is not None and np.all(np.abs(problem.cost - np.round(problem.cost)) < 1e-9):
        return float(np.ceil(bound - 1e-6))
    return bound


def lp_lower_bound(problem: CoverageProblem, targets: Targets, time_limit_s: float = 60.0) -> float | None:
    """A lower bound on the minimum cost of the covering model: its LP relaxation (``0 <= x <= 1``, HiGHS
    interior point), or, if the LP does not finish in ``time_limit_s``, the knapsack bound
    (:func:`knapsack_lower_bound`). Returns ``None`` if the LP is infeasible (budget too small for the targets)."""
    needs, _ = requirements(problem, targets)
    a, lo, hi, multi = covering_matrices(problem, needs, problem.budget)
    b = column_bounds(problem, multi.size)
    c = np.concatenate([problem.cost, np.zeros(multi.size)])
    res = run_highs(c, a, lo, hi, b.lb, b.ub, 0, time_limit_s=time_limit_s)
    if res.status == "infeasible":
        return None
    if res.status != "optimal":
        return max(knapsack_lower_bound(problem, needs),
                   lagrangian_lower_bound(problem, needs, time_limit_s=max(0.25 * time_limit_s, 1e-3)))
    return float(res.objective)


def knapsack_lower_bound(problem: CoverageProblem, needs: list[Requirement]) -> float:
    """Fractional-knapsack bound: ignore overlaps between sites (a site's coverage counts in full), take the
    locked sites, then sites by decreasing coverable amount per cost until each requirement is met; the largest
    of the per-requirement costs. Valid because the union of the chosen sites' coverage never exceeds the sum."""
    best = 0.0
    allowed = ~problem.exclude & ~problem.lock
    base = float(problem.cost[problem.lock].sum())
    for _, w, need in needs:
        amount = np.asarray(problem.csc.T.astype(np.float64) @ w).reshape(-1)
        have = float(w[problem.covered_units(problem.lock)].sum())
        rest = need * (1 - TOL) - have
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


def lagrangian_lower_bound(problem: CoverageProblem, needs: list[Requirement], upper_bound: float | None = None, *,
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
        need = float(need) * (1 - TOL)
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
    return float(integer_bound(problem, best))
