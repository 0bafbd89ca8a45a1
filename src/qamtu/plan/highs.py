"""HiGHS (through ``highspy``) and the covering model written as its matrices.

:func:`run_highs` solves ``min c x, row_lo <= A x <= row_hi, col_lo <= x <= col_hi`` with the first columns
integer, deterministically (one thread, ``random_seed = 0``). :func:`covering_matrices` writes the covering model of
:mod:`qamtu.plan.milp` over the columns ``[x (n_sites), y (units covered by several sites)]``, the units covered
by a single site folded into that site's column (:func:`split_units`, exact). The MILP (:mod:`qamtu.plan.milp`)
and the LP bound (:func:`qamtu.plan.bounds.lp_lower_bound`) both build on these.

References
----------
Q. Huangfu and J. A. J. Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp. 10 (2018);
HiGHS 1.x, https://highs.dev.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from qamtu.plan.objective import TOL, Requirement
from qamtu.plan.problem import CoverageProblem

if TYPE_CHECKING:
    import highspy
    from scipy.optimize import Bounds

__all__ = ["HighsResult", "run_highs", "split_units", "covering_matrices", "column_bounds"]


def _new_highs() -> highspy.Highs:
    """A ``highspy.Highs`` instance with its output off (the one-time banner is kept off stdout)."""
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
class HighsResult:
    """What :func:`run_highs` found: ``status`` in {"optimal", "time_limit", "infeasible", "other"}, the primal
    ``x`` (None when HiGHS has none), the objective, the dual bound (MIP dual bound, or the LP objective) and
    HiGHS' status in words."""

    status: str
    x: np.ndarray | None
    objective: float
    dual_bound: float
    message: str


def run_highs(c: np.ndarray, a: sp.spmatrix, row_lo: np.ndarray, row_hi: np.ndarray, col_lo: np.ndarray,
              col_hi: np.ndarray, integer_cols: int, *, time_limit_s: float = 60.0,
              mip_rel_gap: float = 0.0, x0: np.ndarray | None = None, lp_solver: str = "ipm") -> HighsResult:
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
    return HighsResult(kind, x, float(info.objective_function_value), bound, f"HiGHS: {text}")


def split_units(problem: CoverageProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def covering_matrices(problem: CoverageProblem, needs: list[Requirement], budget: float | None
                      ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Constraint matrix of the covering model over columns ``[x (n_sites), y (multi units)]``."""
    n_s = problem.n_sites
    multi, single, owner = split_units(problem)
    n_m = multi.size
    cover = problem.cover[multi].astype(np.float64)
    link = sp.hstack([-cover, sp.identity(n_m, format="csr")], format="csr")
    rows = [link]
    lo = [np.full(n_m, -np.inf)]
    hi = [np.zeros(n_m)]
    for _, w, need in needs:
        private = np.bincount(owner, weights=w[single], minlength=n_s)
        rows.append(sp.csr_matrix(np.concatenate([private, w[multi]])[None, :]))
        lo.append(np.array([need * (1 - TOL)]))
        hi.append(np.array([np.inf]))
    if budget is not None:
        rows.append(sp.csr_matrix(np.concatenate([problem.cost, np.zeros(n_m)])[None, :]))
        lo.append(np.array([-np.inf]))
        hi.append(np.array([budget]))
    return sp.vstack(rows, format="csr"), np.concatenate(lo), np.concatenate(hi), multi


def column_bounds(problem: CoverageProblem, n_y: int) -> Bounds:
    """Bounds of the columns ``[x, y]``: locked sites at 1, ruled-out ones at 0, every ``y`` in [0, 1]."""
    from scipy.optimize import Bounds

    lb = np.concatenate([problem.lock.astype(float), np.zeros(n_y)])
    ub = np.concatenate([(~problem.exclude).astype(float), np.ones(n_y)])
    return Bounds(lb, ub)
