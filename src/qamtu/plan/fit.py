"""Fit a plan to its targets with the engine as the judge: the engine-checked drop pass.

The covering model decides coverage per pixel from single links ("site ``s`` covers pixel ``i`` when one of its
links alone reaches the coverage level", :meth:`qamtu.plan.model.CityModel.relation`), while the engine covers a
pixel on the distribution of the whole network: P(SS-RSRP >= threshold) is the union over the sites on air and
P(DL) integrates over the best-server choice (:mod:`qamtu.engine.distribution`). Two sites that each reach 0.7 at
a pixel cover it together (1 - 0.3^2 = 0.91), which the covering model cannot see; so a plan that meets its targets
in the covering model covers far more than asked under the engine (issue 11: 0.80-0.84 of the territory against a
0.60 target). :func:`drop_against_engine` removes the sites the engine says are not needed:

* Candidates: the chosen sites that are not locked and cost something (a free site saves nothing).
* Order: least *redundancy loss* per cost first (:func:`redundancy_loss`: each engine-covered pixel's weight split
  evenly among the chosen sites that cover it in the relation, summed per site), then the most expensive, then
  the one added last (:func:`qamtu.plan.swap.drop_order`), then the lowest index. Recomputed after every accepted
  drop, so the order follows the plan.
* Batches: drop the first ``k`` candidates together and ask the engine (``check``) whether every target still
  holds. Accepted: keep the smaller plan and double ``k``; refused: halve ``k``; refused at ``k = 1``: the site is
  needed (by the engine, on this plan) and is never tried again. The pass stops when no candidate is left, after
  ``patience`` sites in a row were found needed, or after ``max_evaluations`` engine calls. Removing sites only
  shrinks the plan, so the number of engine calls is about ``log2`` of the batch per accepted batch plus one per
  site found needed.

Every plan the pass returns was checked by the engine (the last accepted ``check``), never by the covering model;
the pass is deterministic (no randomness, ties broken by index). Without any accepted batch it returns the plan it
was given.

A second judge may disagree at the margin: the planner checks on its own links (stored down to 60 dB below the
reference level, served areas of the whole candidate table, so that any subset can be re-evaluated exactly), while
``qamtu coverage`` on the plan's sites computes fresh links with the engine's default relevance rule and the plan's
own served areas (Konaev: 0.601 on the plan's links, 0.594 fresh). :func:`restore_until` puts dropped sites back,
the last dropped first, by bisection on how many, until that judge also says the targets hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp

from qamtu.errors import InvalidInputError
from qamtu.plan.swap import drop_order

__all__ = ["DropResult", "redundancy_loss", "drop_against_engine", "restore_until", "FIT_PATIENCE",
           "FIT_MAX_EVALUATIONS"]

#: Sites found needed in a row (a refused single drop each) after which the pass stops: the order puts the least
#: redundant sites last, so a run of needed sites means the rest are needed too, most likely.
FIT_PATIENCE = 8
#: Engine calls the pass may make at most (a bound on its time; measured: Pavlodar at 250 m, 214 sites, 73 dropped
#: in 31 calls; Konaev, Taldykorgan, Aktau at 25 m, 30-54 sites, 12-15 dropped in 14-21 calls).
FIT_MAX_EVALUATIONS = 150
#: Share of the candidates in the first batch.
FIT_FIRST_BATCH = 0.125


@dataclass
class DropResult:
    """What :func:`drop_against_engine` did.

    Attributes
    ----------
    selected : ndarray of bool, shape (n_sites,)
        The plan after the pass.
    covered : ndarray of bool, shape (n_pixels,)
        The engine's covered pixels of ``selected`` (the last accepted check; the input's when nothing was dropped).
    dropped : list of int
        The sites removed, in the order they were removed.
    needed : list of int
        The sites whose removal alone the engine refused.
    evaluations : int
        Engine calls made.
    stopped : str
        Why the pass ended: ``"no candidates"``, ``"patience"`` or ``"max evaluations"``.
    """

    selected: np.ndarray
    covered: np.ndarray
    dropped: list[int] = field(default_factory=list)
    needed: list[int] = field(default_factory=list)
    evaluations: int = 0
    stopped: str = "no candidates"


def redundancy_loss(relation: sp.spmatrix, covered: np.ndarray, selected: np.ndarray,
                    weights: np.ndarray) -> np.ndarray:
    """Per site, the weight of the engine-covered pixels it covers in ``relation``, each pixel's weight split
    evenly among the chosen sites covering it there (a first-order estimate of what removing the site costs).

    Parameters
    ----------
    relation : sparse (n_pixels, n_sites) bool
    covered : ndarray of bool, shape (n_pixels,)
        The engine's covered pixels of the plan.
    selected : ndarray of bool, shape (n_sites,)
    weights : ndarray, shape (n_pixels,)
        Demand weight of each pixel (e.g. its share of the territory plus its share of the people).

    Returns
    -------
    ndarray, shape (n_sites,)
        0 for sites not selected.
    """
    rel = sp.csr_matrix(relation, dtype=np.float64)
    sel = np.asarray(selected, bool)
    count = np.asarray(rel @ sel.astype(np.float64)).reshape(-1)
    share = np.where(np.asarray(covered, bool) & (count > 0), np.asarray(weights, float) / np.maximum(count, 1.0), 0.0)
    loss = np.asarray(rel.T @ share).reshape(-1)
    return np.where(sel, loss, 0.0)


def drop_against_engine(
    selected: np.ndarray,
    covered: np.ndarray,
    *,
    check: Callable[[np.ndarray], np.ndarray],
    met: Callable[[np.ndarray], bool],
    relation: sp.spmatrix,
    weights: np.ndarray,
    cost: np.ndarray,
    lock: np.ndarray,
    order: np.ndarray,
    patience: int = FIT_PATIENCE,
    max_evaluations: int = FIT_MAX_EVALUATIONS,
) -> DropResult:
    """Remove chosen sites in engine-checked batches while every target still holds (module docstring).

    Parameters
    ----------
    selected : ndarray of bool, shape (n_sites,)
        A plan whose targets the engine says are met.
    covered : ndarray of bool, shape (n_pixels,)
        The engine's covered pixels of ``selected``.
    check : callable ``(selected) -> bool ndarray (n_pixels,)``
        The engine: covered pixels with exactly ``selected`` on air.
    met : callable ``(covered) -> bool``
        Whether covered pixels meet every target.
    relation : sparse (n_pixels, n_sites) bool
        Coverage relation used only to order the candidates (:func:`redundancy_loss`).
    weights : ndarray, shape (n_pixels,)
        Pixel weights of :func:`redundancy_loss`.
    cost : ndarray, shape (n_sites,)
    lock : ndarray of bool, shape (n_sites,)
        Never removed.
    order : ndarray of int
        The plan's order of addition (ties of the ordering: see :func:`~qamtu.plan.swap.drop_order`).
    patience, max_evaluations : int
        Stop rules (:data:`FIT_PATIENCE`, :data:`FIT_MAX_EVALUATIONS`).

    Returns
    -------
    DropResult
    """
    if patience < 1 or max_evaluations < 0:
        raise InvalidInputError(f"drop_against_engine: patience = {patience!r} must be >= 1 and max_evaluations = "
                                f"{max_evaluations!r} >= 0")
    sel = np.asarray(selected, bool).copy()
    cov = np.asarray(covered, bool).copy()
    cost = np.asarray(cost, np.float64)
    lock = np.asarray(lock, bool)
    out = DropResult(selected=sel, covered=cov)
    tie_rank = np.empty(sel.size, np.int64)
    ranked = drop_order(cost, np.asarray(order, np.int64))
    tie_rank[:] = ranked.size
    tie_rank[ranked] = np.arange(ranked.size)
    needed = np.zeros(sel.size, bool)
    k, in_a_row = 0, 0
    while True:
        cand = np.flatnonzero(sel & ~lock & ~needed & (cost > 0))
        if cand.size == 0:
            out.stopped = "no candidates"
            break
        if out.evaluations >= max_evaluations:
            out.stopped = "max evaluations"
            break
        loss = redundancy_loss(relation, cov, sel, weights)[cand] / cost[cand]
        queue = cand[np.lexsort((cand, tie_rank[cand], loss))]
        if k == 0:
            k = max(1, int(round(FIT_FIRST_BATCH * queue.size)))
        k = min(k, queue.size)
        trial = sel.copy()
        trial[queue[:k]] = False
        now = np.asarray(check(trial), bool).reshape(-1)
        out.evaluations += 1
        if met(now):
            sel, cov = trial, now
            out.dropped.extend(int(s) for s in queue[:k])
            k, in_a_row = 2 * k, 0
        elif k > 1:
            k //= 2
        else:
            needed[queue[0]] = True
            out.needed.append(int(queue[0]))
            in_a_row += 1
            if in_a_row >= patience:
                out.stopped = "patience"
                break
    out.selected, out.covered = sel, cov
    return out


def restore_until(selected: np.ndarray, dropped: list[int], ok: Callable[[np.ndarray], bool]
                  ) -> tuple[np.ndarray, int, bool]:
    """The plan ``selected`` with the fewest of the ``dropped`` sites put back, the last dropped first, for which
    ``ok`` holds; found by bisection on their number (``ok`` is assumed to hold more easily with more sites).

    Parameters
    ----------
    selected : ndarray of bool, shape (n_sites,)
        The plan after the drop pass.
    dropped : list of int
        The sites the pass removed, in the order it removed them.
    ok : callable ``(selected) -> bool``
        The judge (e.g. a fresh engine evaluation meets every target).

    Returns
    -------
    selected : ndarray of bool
        The first plan ``ok`` accepted (``selected`` itself when it does), else the plan with every dropped site
        back.
    evaluations : int
        Calls of ``ok``.
    accepted : bool
        Whether ``ok`` holds for the returned plan.
    """
    sel = np.asarray(selected, bool)
    back = np.asarray(dropped, np.int64)[::-1]

    def plan(j: int) -> np.ndarray:
        out = sel.copy()
        out[back[:j]] = True
        return out

    calls = 1
    if ok(sel):
        return sel.copy(), calls, True
    lo, hi, hi_ok = 0, back.size, False  # ``ok`` fails with lo sites back; hi: the first known (or last) to pass
    while hi - lo > 1:
        mid = (lo + hi) // 2
        calls += 1
        if ok(plan(mid)):
            hi, hi_ok = mid, True
        else:
            lo = mid
    if not hi_ok and hi > 0:
        calls += 1
        hi_ok = bool(ok(plan(hi)))
    return plan(hi), calls, hi_ok
