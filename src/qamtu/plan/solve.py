"""One entry point to the optimisers of the covering model: :func:`solve` dispatches by method name.

The optimisers live by concept: the objective (:mod:`qamtu.plan.objective`), the greedy and its heap
(:mod:`qamtu.plan.greedy`), the MILP (:mod:`qamtu.plan.milp`, HiGHS through :mod:`qamtu.plan.highs`), the bounds
(:mod:`qamtu.plan.bounds`) and the local search with the drop-redundant pass (:mod:`qamtu.plan.swap`); every one
returns a :class:`~qamtu.plan.solution.Solution`.
"""

from __future__ import annotations

from qamtu.errors import InvalidInputError
from qamtu.plan.greedy import solve_greedy
from qamtu.plan.milp import solve_milp
from qamtu.plan.problem import CoverageProblem, Targets
from qamtu.plan.solution import Solution

__all__ = ["solve"]


def solve(problem: CoverageProblem, targets: Targets, method: str = "milp", **kwargs: float | bool | int) -> Solution:
    """Dispatch to :func:`~qamtu.plan.milp.solve_milp` or :func:`~qamtu.plan.greedy.solve_greedy` by name; the
    keyword arguments go to that function."""
    if method == "milp":
        return solve_milp(problem, targets, **kwargs)
    if method == "greedy":
        return solve_greedy(problem, targets, **kwargs)
    raise InvalidInputError(f"method {method!r} is not allowed; choose 'milp' or 'greedy'")
