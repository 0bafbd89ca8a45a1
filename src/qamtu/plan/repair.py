"""Solve on per-site coverage sets, check with the full model, tighten, solve again: the repair loop.

Interference couples sites: whether site ``s`` covers pixel ``i`` depends on which other sites are on air. The
covering model cannot express that, so the planner works in rounds (:func:`solve_with_repair`):

1. Build the relation ``R`` = "site ``s`` covers pixel ``i``" under an interference assumption (round 0: only the
   sites that are surely on air, existing and locked ones; an *optimistic* relation).
2. Aggregate pixels by signature (exact) and solve the covering model (MILP or greedy).
3. Evaluate the chosen set with the full model (``evaluate``: the engine, SINR with every chosen site). If the
   targets hold, stop.
4. Otherwise tighten: ``R <- R AND relation(interference of the chosen set)``, and remove the pairs
   ``(i, s)`` for every chosen ``s`` at every pixel ``i`` the model promised but the engine did not deliver
   ("lost" pixels). ``R`` only shrinks and loses at least one pair per round, so the loop ends.
5. If the tightened model can no longer reach the targets, or the rounds run out, top up: add the allowed site
   with the largest gain per cost on the pixels the engine still misses (by the round-0 relation), check with the
   engine, repeat.

The lower bound reported is the one of round 0 (MILP dual bound, or LP relaxation for the greedy): the optimistic
relation makes round 0 a relaxation of the real problem, provided every pixel the engine covers under a plan is
covered by some chosen site in the round-0 relation. ``bound_exceptions`` counts the pixels of the final plan for
which that proviso fails (engine-covered, but by no chosen site under the round-0 relation), so a reader can see
how well the bound is founded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp

from qamtu.plan.problem import CoverageProblem, Targets, aggregate_demand
from qamtu.plan.solve import Solution, _gap, addition_order, lp_lower_bound, solve_greedy, solve_milp

__all__ = ["RepairResult", "solve_with_repair"]

#: Moves of the tabu swap search that polish the greedy plan of ``method="greedy"`` (a move budget, so plans do not
#: depend on the machine; ~0.5 s on a 5,000-candidate city). It brings the greedy within a few per cent of the
#: MILP where the plain greedy is 6-7 % above it (benchmarks/bench_plan.py).
GREEDY_POLISH_MOVES = 5000

RelationFn = Callable[[np.ndarray | None], sp.csr_matrix]
EvaluateFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class RepairResult:
    """What :func:`solve_with_repair` found.

    Attributes
    ----------
    selected : ndarray of bool, shape (n_sites,)
    order : ndarray of int
        Selected sites in order of addition (locked first).
    covered : ndarray of bool, shape (n_pixels,)
        Pixels covered according to ``evaluate`` (the engine) for ``selected``.
    territory_share, population_share : float
        Engine shares of ``selected``.
    targets_met : bool
        By the engine.
    cost, lower_bound, gap : float, float or None, float or None
        ``gap = (cost - lower_bound) / cost``; ``lower_bound`` from round 0 (see the module docstring).
    bound_kind : str
        What the bound is a bound of, in words.
    bound_exceptions : int
        Pixels covered by the engine under ``selected`` that no selected site covers in the round-0 relation.
    status : str
        ``"met"``, ``"infeasible"`` (the candidates cannot reach the targets), ``"over_budget"``,
        ``"not_met"`` (repair and top-up ran out).
    relation : scipy.sparse.csr_matrix, shape (n_pixels, n_sites)
        The final (tightened) relation; ``relation0`` the round-0 one.
    rounds : list of dict
        Per round: method, model cost and shares, engine shares, lost pixels, pairs removed, units, seconds.
    solution : Solution
        The last optimiser result.
    """

    selected: np.ndarray
    order: np.ndarray
    covered: np.ndarray
    territory_share: float
    population_share: float
    targets_met: bool
    cost: float
    lower_bound: float | None
    gap: float | None
    bound_kind: str
    bound_exceptions: int
    status: str
    relation: sp.csr_matrix
    relation0: sp.csr_matrix
    rounds: list = field(default_factory=list)
    solution: Solution | None = None
    solve_time_s: float = 0.0
    evaluate_time_s: float = 0.0


def coarsen_relation(relation: sp.spmatrix, blocks: np.ndarray, pop: np.ndarray, area: np.ndarray,
                     rule: str = "majority"):
    """Demand blocks instead of pixels.

    With ``rule="majority"`` block ``b`` counts as covered by site ``s`` when ``s`` covers at least half of its
    pixels (by area): approximate, used to plan. With ``rule="any"`` it counts as covered when ``s`` covers any of
    its pixels: every plan then covers at least as much in the block model as in the pixel model, so the block
    model is a relaxation and its optimum (or LP bound) is a valid lower bound for the pixel problem.
    Returns the block relation and the blocks' population and area.
    """
    blocks = np.asarray(blocks, np.int64)
    n_blocks = int(blocks.max()) + 1 if blocks.size else 0
    n_pix = blocks.size
    agg = sp.csr_matrix((np.asarray(area, float), (blocks, np.arange(n_pix))), shape=(n_blocks, n_pix))
    covered_area = (agg @ sp.csr_matrix(relation, dtype=np.float64)).tocsr()
    block_area = np.bincount(blocks, weights=area, minlength=n_blocks)
    row = np.repeat(np.arange(n_blocks), np.diff(covered_area.indptr))
    if rule == "any":
        keep = covered_area.data > 0
    elif rule == "majority":
        keep = covered_area.data >= 0.5 * block_area[row] - 1e-12
    else:
        raise ValueError(f"rule {rule!r}: use 'majority' or 'any'")
    rel = sp.csr_matrix((np.ones(int(keep.sum()), bool), (row[keep], covered_area.indices[keep])),
                        shape=(n_blocks, relation.shape[1]))
    return rel, np.bincount(blocks, weights=pop, minlength=n_blocks), block_area


def _problem(relation, pop, area, pop_total, area_total, cost, site_ids, lock, exclude, budget, blocks=None,
             rule="majority"):
    if blocks is not None:
        relation, pop, area = coarsen_relation(relation, blocks, pop, area, rule)
    unit_cover, upop, uarea, pixel_unit = aggregate_demand(relation, pop, area)
    prob = CoverageProblem(unit_cover, upop, uarea, cost, site_ids, pop_total, area_total, lock=lock,
                           exclude=exclude, budget=budget)
    return prob, pixel_unit


def _better(targets, sh, cost, best) -> bool:
    """Is an engine-checked plan with shares ``sh`` and ``cost`` better than ``best``? Met beats not met; among
    met plans the cheaper wins; among unmet ones the larger target-capped coverage."""
    met = targets.met(*sh)
    best_met = targets.met(*best[0])
    if met != best_met:
        return met
    if met:
        return cost < best[1] - 1e-12
    return _capped(targets, sh) > _capped(targets, best[0]) + 1e-12


def _people_tiebreak(prob: CoverageProblem, targets: Targets, sol: Solution) -> Solution:
    """Among plans of the same (or lower) cost, take the one covering more people
    (:func:`qamtu.plan.people.prefer_people`); the bound stays valid because the cost does not rise."""
    import dataclasses

    from qamtu.plan.people import prefer_people
    from qamtu.plan.solve import _needs

    needs, _ = _needs(prob, targets)
    new = prefer_people(prob, needs, sol.selected)
    if np.array_equal(new, sol.selected):
        return sol
    terr, pop = prob.shares(new)
    cost = float(prob.cost[new].sum())
    lb = None if sol.lower_bound is None else min(sol.lower_bound, cost)
    return dataclasses.replace(sol, selected=new, order=addition_order(prob, new), cost=cost, territory_share=terr,
                               population_share=pop, targets_met=targets.met(terr, pop), lower_bound=lb,
                               gap=_gap(cost, lb))


def _capped(targets, sh) -> float:
    v = 0.0
    if targets.territory_share is not None:
        v += min(sh[0], targets.territory_share) / targets.territory_share
    if targets.population_share is not None:
        v += min(sh[1], targets.population_share) / targets.population_share
    return v


def solve_with_repair(
    relation: RelationFn,
    evaluate: EvaluateFn,
    population: np.ndarray,
    area_km2: np.ndarray,
    cost: np.ndarray,
    site_ids,
    targets: Targets,
    *,
    lock: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
    budget: float | None = None,
    population_total: float | None = None,
    area_total_km2: float | None = None,
    method: str = "milp",
    max_repairs: int = 10,
    max_topups: int = 200,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.005,
    demand_blocks: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> RepairResult:
    """Plan with the covering model, check with ``evaluate``, repair until the targets hold.

    Parameters
    ----------
    relation : callable ``(on_air: bool ndarray (n_sites,) or None) -> csr_matrix (n_pixels, n_sites) bool``
        Which site covers which pixel, assuming the sites in ``on_air`` (and each site's own sectors) interfere;
        ``None`` means only the sites that are surely on air (locked).
    evaluate : callable ``(selected: bool ndarray (n_sites,)) -> bool ndarray (n_pixels,)``
        Pixels covered with exactly ``selected`` on air (the full engine).
    population, area_km2 : ndarray, shape (n_pixels,)
        Demand weights of the pixels (people; km^2).
    cost : ndarray, shape (n_sites,)
    site_ids : sequence of str
    targets : Targets
    lock, exclude : bool ndarray (n_sites,), optional
    budget : float, optional
    population_total, area_total_km2 : float, optional
        Denominators of the shares (default: sums over the pixels given).
    method : {"milp", "greedy"}
    max_repairs : int
        Tightening rounds after round 0.
    max_topups : int
        Sites the final top-up may add one by one, each checked with ``evaluate``.
    time_limit_s, mip_rel_gap : float
        Passed to :func:`~qamtu.plan.solve.solve_milp` (per round).
    demand_blocks : ndarray of int, shape (n_pixels,), optional
        Block id of every pixel: the optimiser then works on blocks (:func:`coarsen_relation`, approximate: a
        block counts as covered by a site covering half of it), while the engine check and the repair stay at
        pixel level. The lower bound is then the coarsened model's and is labelled so. Default: pixels (exact).
    progress : callable, optional
        Receives one line per round.

    Returns
    -------
    RepairResult
    """
    t_start = time.perf_counter()
    population = np.asarray(population, float)
    area_km2 = np.asarray(area_km2, float)
    cost = np.asarray(cost, float)
    n_sites = cost.size
    lock = np.zeros(n_sites, bool) if lock is None else np.asarray(lock, bool)
    exclude = np.zeros(n_sites, bool) if exclude is None else np.asarray(exclude, bool)
    pop_total = float(population.sum()) if population_total is None else float(population_total)
    area_total = float(area_km2.sum()) if area_total_km2 is None else float(area_total_km2)
    say = progress or (lambda msg: None)
    rounds: list[dict] = []
    t_solve = t_eval = 0.0

    def shares(covered):
        a = float(area_km2[covered].sum()) / area_total if area_total > 0 else 0.0
        p = float(population[covered].sum()) / pop_total if pop_total > 0 else 0.0
        return a, p

    def run(prob):
        nonlocal t_solve
        t0 = time.perf_counter()
        if method == "milp":
            sol = solve_milp(prob, targets, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
        else:
            sol = solve_greedy(prob, targets, polish_moves=GREEDY_POLISH_MOVES)
        if sol.status not in ("infeasible", "over_budget") and prob.population_total > 0:
            sol = _people_tiebreak(prob, targets, sol)
        t_solve += time.perf_counter() - t0
        return sol

    def check(selected):
        nonlocal t_eval
        t0 = time.perf_counter()
        cov = np.asarray(evaluate(selected), bool).reshape(-1)
        t_eval += time.perf_counter() - t0
        return cov

    rel0 = sp.csr_matrix(relation(None), dtype=bool)
    rel0.eliminate_zeros()
    rel = rel0
    prob0, _ = _problem(rel0, population, area_km2, pop_total, area_total, cost, site_ids, lock, exclude, budget,
                        demand_blocks)
    sol = run(prob0)
    infeasible0 = sol.status == "infeasible"
    over_budget0 = sol.status == "over_budget"
    what = ("per-site coverage with noise and only the existing/locked sites (and the site's own sectors) "
            "interfering")
    if demand_blocks is not None:
        # the majority-rule block model is not a relaxation; the any-pixel block model is: bound that one
        t0 = time.perf_counter()
        prob_any, _ = _problem(rel0, population, area_km2, pop_total, area_total, cost, site_ids, lock, exclude,
                               budget, demand_blocks, rule="any")
        bound = None if over_budget0 else lp_lower_bound(prob_any, targets)
        t_solve += time.perf_counter() - t0
        bound_kind = ("LP relaxation of the round-0 covering model on demand blocks where a block counts as covered "
                      "by a site covering any of its pixels (a relaxation of the pixel model, so a valid bound); "
                      + what)
    elif method == "milp":
        bound = sol.lower_bound
        bound_kind = ("lower bound of the round-0 covering model (the largest of its knapsack bound, its Lagrangian "
                      "bound and the HiGHS MIP dual bound): " + what)
    else:
        t0 = time.perf_counter()
        bound = None if over_budget0 else lp_lower_bound(prob0, targets)
        t_solve += time.perf_counter() - t0
        bound_kind = "LP relaxation (or knapsack bound if the LP does not finish) of the round-0 covering model: " + what
    if infeasible0:
        bound_kind += "; targets lowered to the best reachable shares"
    selected = sol.selected.copy()
    covered = check(selected)
    best = (shares(covered), float(cost[selected].sum()), selected.copy(), covered.copy(), rel, sol)
    removed = None
    status = "not_met"
    for k in range(max_repairs + 1):
        a, p = shares(covered)
        pred = np.asarray(rel @ selected.astype(np.int32)).reshape(-1) > 0
        lost = pred & ~covered
        rounds.append({
            "round": k, "method": sol.method, "status": sol.status, "sites": int(selected.sum()),
            "cost": float(cost[selected].sum()), "model_territory_share": sol.territory_share,
            "model_population_share": sol.population_share, "territory_share": a, "population_share": p,
            "lost_pixels": int(lost.sum()), "pairs": int(rel.nnz), "seconds": time.perf_counter() - t_start,
        })
        say(f"round {k}: {int(selected.sum())} sites, cost {cost[selected].sum():g}, engine territory {a:.3f}, "
            f"population {p:.3f}, {int(lost.sum())} promised pixels lost")
        if targets.met(a, p):
            status = "met"
            best = (shares(covered), float(cost[selected].sum()), selected.copy(), covered.copy(), rel, sol)
            break
        if infeasible0 or over_budget0:
            break
        if k == max_repairs:
            break
        # tighten: the round-0 relation under the interference of the chosen set, minus every pair promised by
        # a chosen site at a pixel the engine did not deliver (``removed`` only grows: the loop ends)
        promised = rel.multiply(selected[None, :]).tocsr()
        lost_pairs = sp.csr_matrix(sp.diags(lost.astype(np.float64)) @ promised.astype(np.float64), dtype=bool)
        removed = (removed + lost_pairs).astype(bool) if removed is not None else lost_pairs
        fresh = sp.csr_matrix(relation(selected), dtype=bool).multiply(rel0).tocsr()
        tight = (fresh.astype(np.int8) - fresh.multiply(removed).astype(np.int8)).tocsr()
        tight.eliminate_zeros()
        tight = sp.csr_matrix(tight, dtype=bool)
        if lost_pairs.nnz == 0 and (tight != rel).nnz == 0:
            break  # nothing changes: the model and the engine agree on the chosen set
        rel = tight
        prob, _ = _problem(rel, population, area_km2, pop_total, area_total, cost, site_ids, lock, exclude, budget,
                           demand_blocks)
        sol = run(prob)
        selected = sol.selected.copy()
        covered = check(selected)
        if _better(targets, shares(covered), cost[selected].sum(), best):
            best = (shares(covered), float(cost[selected].sum()), selected.copy(), covered.copy(), rel, sol)
    selected, covered, rel, sol = best[2].copy(), best[3].copy(), best[4], best[5]
    # top-up with the engine in the loop
    topups = 0
    if status != "met" and not infeasible0 and not over_budget0:
        csc0 = rel0.tocsc()
        weight_area = area_km2 / area_total if area_total > 0 else np.zeros_like(area_km2)
        weight_pop = population / pop_total if pop_total > 0 else np.zeros_like(population)
        w = (weight_area if targets.territory_share is not None else 0) + (
            weight_pop if targets.population_share is not None else 0)
        spent = float(cost[selected].sum())
        while topups < max_topups:
            missing = (~covered).astype(float) * w
            gain = np.asarray(csc0.T @ missing).reshape(-1)
            allowed = ~selected & ~exclude & (gain > 0)
            if budget is not None:
                allowed &= spent + cost <= budget * (1 + 1e-12)
            if not allowed.any():
                break
            rate = np.where(allowed, gain / np.maximum(cost, 1e-12), -np.inf)
            s = int(np.argmax(rate))
            selected[s] = True
            spent += cost[s]
            covered = check(selected)
            topups += 1
            a, p = shares(covered)
            if targets.met(a, p):
                status = "met"
                break
        if topups:
            a, p = shares(covered)
            rounds.append({"round": len(rounds), "method": "top-up", "status": status, "sites": int(selected.sum()),
                           "cost": float(cost[selected].sum()), "territory_share": a, "population_share": p,
                           "added": topups, "seconds": time.perf_counter() - t_start})
            say(f"top-up: added {topups} site(s) checked one by one with the engine; territory {a:.3f}, "
                f"population {p:.3f}")
    if status != "met":
        if infeasible0:
            status = "infeasible"
        elif over_budget0 or (budget is not None and sol.status == "over_budget"):
            status = "over_budget"
    a, p = shares(covered)
    total = float(cost[selected].sum())
    if bound is None or status == "over_budget":
        gap = None
    else:
        gap = max(0.0, (total - bound) / total) if total > 0 else 0.0
    in_rel0 = np.asarray(rel0 @ selected.astype(np.int32)).reshape(-1) > 0
    exceptions = int((covered & ~in_rel0).sum())
    final_prob, _ = _problem(rel, population, area_km2, pop_total, area_total, cost, site_ids, lock, exclude, None)
    order = addition_order(final_prob, selected)
    return RepairResult(
        selected=selected, order=order, covered=covered, territory_share=a, population_share=p,
        targets_met=targets.met(a, p), cost=total, lower_bound=bound, gap=gap, bound_kind=bound_kind,
        bound_exceptions=exceptions, status=status, relation=rel, relation0=rel0, rounds=rounds, solution=sol,
        solve_time_s=t_solve, evaluate_time_s=t_eval,
    )
