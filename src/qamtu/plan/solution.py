"""What an optimiser returns: :class:`Solution`, and :func:`finish`, which every optimiser ends with."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from qamtu.plan.objective import Requirement
from qamtu.plan.problem import CoverageProblem, Targets

__all__ = ["Solution", "relative_gap", "finish"]


@dataclass
class Solution:
    """The result of one optimiser run on a :class:`~qamtu.plan.problem.CoverageProblem`.

    Attributes
    ----------
    method : {"milp", "greedy"}
    selected : ndarray of bool, shape (n_sites,)
    order : ndarray of int
        Indices of the selected sites in order of addition (locked sites first; for the MILP the order is a
        greedy ordering of its chosen sites (:func:`qamtu.plan.greedy.addition_order`), for the greedy the order
        in which they were picked).
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
    required: dict[str, float] = field(default_factory=dict)
    solve_time_s: float = 0.0
    message: str = ""


def relative_gap(cost: float, bound: float | None) -> float | None:
    """``(cost - bound) / cost``, at least 0; 0 when the cost is 0; None without a bound."""
    if bound is None:
        return None
    if cost <= 0:
        return 0.0
    return max(0.0, (cost - bound) / cost)


def finish(problem: CoverageProblem, targets: Targets, method: str, selected: np.ndarray, order, bound: float | None,
           status: str, needs: list[Requirement], t0: float, message: str = "") -> Solution:
    """The :class:`Solution` of the plan ``selected`` (added in ``order``), with its cost, model shares and the
    ``bound`` capped at its cost (dropped when ``status == "over_budget"``); ``t0`` is the solve's start
    (``time.perf_counter()``)."""
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
        gap=relative_gap(cost, None if bound is None else min(bound, cost)),
        status=status,
        territory_share=terr,
        population_share=pop,
        targets_met=targets.met(terr, pop),
        required={name: need for name, _, need in needs},
        solve_time_s=time.perf_counter() - t0,
        message=message,
    )
