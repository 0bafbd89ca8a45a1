"""The coverage objective of the planner, in one place: requirements, the capped objective and when it is met.

A plan's targets become *requirements* (:func:`requirements`): per target, the weight of every demand unit (its
area or its people) and the amount the plan must cover, lowered to what every allowed site together reaches. The
optimisers compare plans with the *capped coverage objective*

    f(S) = sum_t min(covered_t(S), required_t) / required_t        (targets with required_t > 0)

(:func:`capped_value`): monotone and submodular in the set of sites ``S``, equal to the number of requirements
exactly when every one is met, and it does not reward covering more than a target asks for. The greedy maximises
it per unit cost (:class:`CoverageState`), the drop-redundant pass keeps it (:func:`qamtu.plan.swap.drop_redundant`),
the budgeted MILP maximises it within the budget (:mod:`qamtu.plan.milp`) and the repair loop ranks engine-checked
plans that miss their targets by it, on shares (:func:`capped_shares`).

A requirement counts as met at ``required * (1 - TOL)`` (:data:`TOL` absorbs floating-point rounding of the sums).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from qamtu.plan.problem import CoverageProblem, Targets

__all__ = ["TOL", "Requirement", "requirements", "capped_value", "capped_shares", "meets", "CoverageState"]

#: Relative tolerance used when comparing covered amounts with required amounts.
TOL = 1e-9


class Requirement(NamedTuple):
    """One target as an amount to cover: ``name`` ("territory"/"population"), ``weights`` per demand unit
    (ndarray, shape (n_units,); km^2 or people) and the ``amount`` required, in the units of the weights."""

    name: str
    weights: np.ndarray
    amount: float


def requirements(problem: CoverageProblem, targets: Targets) -> tuple[list[Requirement], bool]:
    """The requirements of ``targets`` on ``problem``, each lowered to the reachable maximum, and whether the
    original targets are reachable with every allowed site."""
    reach = problem.covered_units(~problem.exclude)
    needs = []
    feasible = True
    for name, w, need in problem.requirements(targets):
        best = float(w[reach].sum())
        if need > best * (1 + TOL) + 1e-12:
            feasible = False
        # a target of 100 % sums the same weights in another order: never ask for more than is reachable
        need = min(need, best)
        needs.append(Requirement(name, w, need))
    return needs, feasible


def capped_value(achieved: np.ndarray, required: np.ndarray) -> float:
    """The capped coverage objective ``sum_t min(achieved_t, required_t) / required_t`` over ``required_t > 0``.

    Parameters
    ----------
    achieved, required : ndarray, shape (n_requirements,)
        Covered and required amounts (any unit, the same for both), or covered and target shares.
    """
    achieved = np.asarray(achieved, np.float64)
    required = np.asarray(required, np.float64)
    ok = required > 0
    return float(np.sum(np.minimum(achieved[ok], required[ok]) / required[ok]))


def capped_shares(targets: Targets, shares: tuple[float, float]) -> float:
    """:func:`capped_value` of the (territory, population) ``shares`` against the shares ``targets`` ask for."""
    achieved, required = [], []
    if targets.territory_share is not None:
        achieved.append(shares[0])
        required.append(targets.territory_share)
    if targets.population_share is not None:
        achieved.append(shares[1])
        required.append(targets.population_share)
    return capped_value(np.array(achieved, np.float64), np.array(required, np.float64))


def meets(problem: CoverageProblem, needs: list[Requirement], selected: np.ndarray) -> bool:
    """Whether the sites ``selected`` cover every requirement (within :data:`TOL`) under the covering model."""
    cov = problem.covered_units(selected)
    return all(float(w[cov].sum()) >= need * (1 - TOL) for _, w, need in needs)


class CoverageState:
    """Covered units and amounts of a growing set of sites, and the gain of :func:`capped_value` from one more.

    Parameters
    ----------
    problem : CoverageProblem
    needs : list of Requirement
    """

    def __init__(self, problem: CoverageProblem, needs: list[Requirement]):
        self.problem = problem
        self.weights = np.stack([w for _, w, _ in needs]) if needs else np.zeros((0, problem.n_units))
        self.need = np.array([need for _, _, need in needs], np.float64)
        self.covered = np.zeros(problem.n_units, bool)
        self.amount = np.zeros(len(needs))

    def value(self, amount: np.ndarray) -> float:
        return capped_value(amount, self.need)

    def new_amount(self, site: int) -> np.ndarray:
        """Amount per requirement that ``site`` would add (its units not yet covered)."""
        units = self.problem.units_of(site)
        fresh = units[~self.covered[units]]
        return self.weights[:, fresh].sum(axis=1)

    def gain(self, site: int) -> float:
        """Increase of the objective if ``site`` were added."""
        return self.value(self.amount + self.new_amount(site)) - self.value(self.amount)

    def add(self, site: int) -> None:
        units = self.problem.units_of(site)
        fresh = units[~self.covered[units]]
        self.amount += self.weights[:, fresh].sum(axis=1)
        self.covered[units] = True

    def done(self) -> bool:
        """Every requirement met (within :data:`TOL`)."""
        return bool(np.all(self.amount >= self.need * (1 - TOL)))
