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
   engine, repeat (the heap loop of :mod:`qamtu.plan.greedy`, its gains refreshed after every engine check).
6. Fit: once the engine says the targets hold, drop the sites it says are not needed (the covering relation is
   per single link, the engine covers on the union over sites, so the plan overshoots;
   :func:`qamtu.plan.fit.drop_against_engine`), and put dropped sites back until a second judge (``confirm``:
   the planner's fresh evaluation) agrees (:func:`qamtu.plan.fit.restore_until`).

The loop is written as steps over two small objects: :class:`_Run` (the inputs, the timers and the round log) and
:class:`_Checked` (a plan with what the engine says of it); :func:`solve_with_repair` reads as those steps.

The lower bound reported is the one of round 0 (MILP dual bound, or LP relaxation for the greedy): the optimistic
relation makes round 0 a relaxation of the real problem, provided every pixel the engine covers under a plan is
covered by some chosen site in the round-0 relation. ``bound_exceptions`` counts the pixels of the final plan for
which that proviso fails (engine-covered, but by no chosen site under the round-0 relation), so a reader can see
how well the bound is founded. Under the distribution engine that proviso fails on many pixels (the union over
sites), and the fitted plan can cost less than the round-0 bound: the result then has no bound (``lower_bound``
None, ``bound_kind`` starting with ``none:`` and saying why).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from qamtu.errors import InvalidInputError
from qamtu.plan.bounds import lp_lower_bound
from qamtu.plan.fit import drop_against_engine, restore_until
from qamtu.plan.greedy import RateQueue, addition_order, pick_by_rate, solve_greedy
from qamtu.plan.milp import solve_milp
from qamtu.plan.objective import capped_shares, requirements
from qamtu.plan.people import prefer_people
from qamtu.plan.problem import CoverageProblem, Targets, aggregate_demand
from qamtu.plan.solution import Solution, relative_gap

__all__ = ["GREEDY_POLISH_MOVES", "RepairResult", "build_problem", "coarsen_relation", "solve_with_repair"]

#: Moves of the tabu swap search that polish the greedy plan of ``method="greedy"`` (a move budget, so plans do not
#: depend on the machine; ~0.5 s on a 5,000-candidate city). It brings the greedy within a few per cent of the
#: MILP where the plain greedy is 6-7 % above it (benchmarks/bench_plan.py).
GREEDY_POLISH_MOVES = 5000

RelationFn = Callable[[np.ndarray | None], sp.csr_matrix]
EvaluateFn = Callable[[np.ndarray], np.ndarray]

_ROUND0_ASSUMPTION = ("per-site coverage with noise and only the existing/locked sites (and the site's own sectors) "
                      "interfering")


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
        Per round: method, status, sites, cost, model and engine shares, lost pixels, relation pairs, seconds;
        a last "top-up" round gives the sites it added.
    solution : Solution
        The optimiser result of the round whose plan was kept.
    dropped : list of int
        The sites the engine drop pass removed for good (not put back), in the order it removed them.
    solve_time_s, evaluate_time_s : float
        Seconds in the optimiser and in ``evaluate``.
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
    rounds: list[dict] = field(default_factory=list)
    solution: Solution | None = None
    solve_time_s: float = 0.0
    evaluate_time_s: float = 0.0
    dropped: list[int] = field(default_factory=list)


def coarsen_relation(relation: sp.spmatrix, blocks: np.ndarray, pop: np.ndarray, area: np.ndarray,
                     rule: str = "majority") -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
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
        raise InvalidInputError(f"coarsen_relation: rule {rule!r} is not allowed; use 'majority' or 'any'")
    rel = sp.csr_matrix((np.ones(int(keep.sum()), bool), (row[keep], covered_area.indices[keep])),
                        shape=(n_blocks, relation.shape[1]))
    return rel, np.bincount(blocks, weights=pop, minlength=n_blocks), block_area


def build_problem(relation: sp.spmatrix, population: np.ndarray, area_km2: np.ndarray, cost: np.ndarray,
                  site_ids: Sequence[str] | np.ndarray, *, population_total: float, area_total_km2: float,
                  lock: np.ndarray | None = None, exclude: np.ndarray | None = None, budget: float | None = None,
                  blocks: np.ndarray | None = None, rule: str = "majority") -> tuple[CoverageProblem, np.ndarray]:
    """The covering problem of a pixel relation: pixels (or demand ``blocks`` by ``rule``,
    :func:`coarsen_relation`) grouped exactly into demand units (:func:`~qamtu.plan.problem.aggregate_demand`).
    Returns the problem and the unit of every pixel (or block), ``-1`` where no site covers it."""
    if blocks is not None:
        relation, population, area_km2 = coarsen_relation(relation, blocks, population, area_km2, rule)
    unit_cover, upop, uarea, pixel_unit = aggregate_demand(relation, population, area_km2)
    prob = CoverageProblem(unit_cover, upop, uarea, cost, site_ids, population_total, area_total_km2, lock=lock,
                           exclude=exclude, budget=budget)
    return prob, pixel_unit


@dataclass
class _Run:
    """The inputs of one :func:`solve_with_repair` call, its timers and its round log."""

    relation: RelationFn
    evaluate: EvaluateFn
    population: np.ndarray
    area_km2: np.ndarray
    population_total: float
    area_total_km2: float
    cost: np.ndarray
    site_ids: Sequence[str] | np.ndarray
    targets: Targets
    lock: np.ndarray
    exclude: np.ndarray
    budget: float | None
    method: str
    time_limit_s: float
    mip_rel_gap: float
    demand_blocks: np.ndarray | None
    say: Callable[[str], None]
    confirm: EvaluateFn | None = None
    t_start: float = field(default_factory=time.perf_counter)
    solve_s: float = 0.0
    evaluate_s: float = 0.0
    rounds: list[dict] = field(default_factory=list)

    def shares(self, covered: np.ndarray) -> tuple[float, float]:
        """(territory, population) shares of the pixels ``covered``."""
        a = float(self.area_km2[covered].sum()) / self.area_total_km2 if self.area_total_km2 > 0 else 0.0
        p = float(self.population[covered].sum()) / self.population_total if self.population_total > 0 else 0.0
        return a, p

    def weights(self) -> np.ndarray:
        """Per pixel, its share of the territory plus its share of the people, each only where ``targets`` has
        that target (the top-up's gains and the engine drop pass's order)."""
        w = np.zeros(self.area_km2.size)
        if self.targets.territory_share is not None and self.area_total_km2 > 0:
            w = w + self.area_km2 / self.area_total_km2
        if self.targets.population_share is not None and self.population_total > 0:
            w = w + self.population / self.population_total
        return w

    def problem(self, relation: sp.csr_matrix, *, blocks: np.ndarray | None = None, rule: str = "majority",
                with_budget: bool = True) -> CoverageProblem:
        return build_problem(relation, self.population, self.area_km2, self.cost, self.site_ids,
                             population_total=self.population_total, area_total_km2=self.area_total_km2,
                             lock=self.lock, exclude=self.exclude, budget=self.budget if with_budget else None,
                             blocks=blocks, rule=rule)[0]

    def optimise(self, prob: CoverageProblem) -> Solution:
        """The optimiser of ``method`` on ``prob``, then the people-first tie-break."""
        t0 = time.perf_counter()
        if self.method == "milp":
            sol = solve_milp(prob, self.targets, time_limit_s=self.time_limit_s, mip_rel_gap=self.mip_rel_gap)
        else:
            sol = solve_greedy(prob, self.targets, polish_moves=GREEDY_POLISH_MOVES)
        if sol.status not in ("infeasible", "over_budget") and prob.population_total > 0:
            sol = _people_tiebreak(prob, self.targets, sol)
        self.solve_s += time.perf_counter() - t0
        return sol

    def check(self, selected: np.ndarray) -> np.ndarray:
        """The pixels ``evaluate`` (the engine) says ``selected`` covers."""
        t0 = time.perf_counter()
        cov = np.asarray(self.evaluate(selected), bool).reshape(-1)
        self.evaluate_s += time.perf_counter() - t0
        return cov


@dataclass
class _Checked:
    """A plan with what the engine says of it, and the relation and optimiser result it came from."""

    selected: np.ndarray
    covered: np.ndarray
    shares: tuple[float, float]
    cost: float
    relation: sp.csr_matrix
    solution: Solution

    @classmethod
    def of(cls, run: _Run, sol: Solution, relation: sp.csr_matrix) -> "_Checked":
        selected = sol.selected.copy()
        covered = run.check(selected)
        return cls(selected, covered, run.shares(covered), float(run.cost[selected].sum()), relation, sol)

    def met(self, targets: Targets) -> bool:
        return targets.met(*self.shares)

    def better_than(self, other: "_Checked", targets: Targets) -> bool:
        """Met beats not met; among met plans the cheaper wins; among unmet ones the larger capped coverage
        (:func:`~qamtu.plan.objective.capped_shares`)."""
        met, other_met = self.met(targets), other.met(targets)
        if met != other_met:
            return met
        if met:
            return self.cost < other.cost - 1e-12
        return capped_shares(targets, self.shares) > capped_shares(targets, other.shares) + 1e-12


def _people_tiebreak(prob: CoverageProblem, targets: Targets, sol: Solution) -> Solution:
    """Among plans of the same (or lower) cost, take the one covering more people
    (:func:`qamtu.plan.people.prefer_people`); the bound stays valid because the cost does not rise."""
    needs, _ = requirements(prob, targets)
    new = prefer_people(prob, needs, sol.selected)
    if np.array_equal(new, sol.selected):
        return sol
    terr, pop = prob.shares(new)
    cost = float(prob.cost[new].sum())
    lb = None if sol.lower_bound is None else min(sol.lower_bound, cost)
    return dataclasses.replace(sol, selected=new, order=addition_order(prob, new), cost=cost, territory_share=terr,
                               population_share=pop, targets_met=targets.met(terr, pop), lower_bound=lb,
                               gap=relative_gap(cost, lb))


def _round0_bound(run: _Run, sol: Solution, rel0: sp.csr_matrix, prob0: CoverageProblem
                  ) -> tuple[float | None, str]:
    """The lower bound of round 0 and what it is a bound of, in words (see the module docstring)."""
    over_budget = sol.status == "over_budget"
    if run.demand_blocks is not None:
        # the majority-rule block model is not a relaxation; the any-pixel block model is: bound that one
        t0 = time.perf_counter()
        prob_any = run.problem(rel0, blocks=run.demand_blocks, rule="any")
        bound = None if over_budget else lp_lower_bound(prob_any, run.targets)
        run.solve_s += time.perf_counter() - t0
        kind = ("LP relaxation of the round-0 covering model on demand blocks where a block counts as covered "
                "by a site covering any of its pixels (a relaxation of the pixel model, so a valid bound); "
                + _ROUND0_ASSUMPTION)
    elif run.method == "milp":
        bound = sol.lower_bound
        kind = ("lower bound of the round-0 covering model (the largest of its knapsack bound, its Lagrangian "
                "bound and the HiGHS MIP dual bound): " + _ROUND0_ASSUMPTION)
    else:
        t0 = time.perf_counter()
        bound = None if over_budget else lp_lower_bound(prob0, run.targets)
        run.solve_s += time.perf_counter() - t0
        kind = ("LP relaxation (or knapsack bound if the LP does not finish) of the round-0 covering model: "
                + _ROUND0_ASSUMPTION)
    if sol.status == "infeasible":
        kind += "; targets lowered to the best reachable shares"
    return bound, kind


def _log_round(run: _Run, k: int, cur: _Checked, lost: np.ndarray) -> None:
    a, p = cur.shares
    sol, selected = cur.solution, cur.selected
    run.rounds.append({
        "round": k, "method": sol.method, "status": sol.status, "sites": int(selected.sum()),
        "cost": float(run.cost[selected].sum()), "model_territory_share": sol.territory_share,
        "model_population_share": sol.population_share, "territory_share": a, "population_share": p,
        "lost_pixels": int(lost.sum()), "pairs": int(cur.relation.nnz), "seconds": time.perf_counter() - run.t_start,
    })
    run.say(f"round {k}: {int(selected.sum())} sites, cost {run.cost[selected].sum():g}, engine territory {a:.3f}, "
            f"population {p:.3f}, {int(lost.sum())} promised pixels lost")


def _tighten(run: _Run, rel0: sp.csr_matrix, cur: _Checked, lost: np.ndarray,
             removed: sp.csr_matrix | None) -> tuple[sp.csr_matrix | None, sp.csr_matrix]:
    """The round-0 relation under the interference of the chosen set, minus every pair promised by a chosen site
    at a pixel the engine did not deliver (``removed`` only grows: the loop ends). Returns the tightened relation,
    or None when nothing changes (the model and the engine agree on the chosen set), and the grown ``removed``."""
    rel, selected = cur.relation, cur.selected
    promised = rel.multiply(selected[None, :]).tocsr()
    lost_pairs = sp.csr_matrix(sp.diags(lost.astype(np.float64)) @ promised.astype(np.float64), dtype=bool)
    removed = (removed + lost_pairs).astype(bool) if removed is not None else lost_pairs
    fresh = sp.csr_matrix(run.relation(selected), dtype=bool).multiply(rel0).tocsr()
    tight = (fresh.astype(np.int8) - fresh.multiply(removed).astype(np.int8)).tocsr()
    tight.eliminate_zeros()
    tight = sp.csr_matrix(tight, dtype=bool)
    if lost_pairs.nnz == 0 and (tight != rel).nnz == 0:
        return None, removed
    return tight, removed


def _repair_rounds(run: _Run, rel0: sp.csr_matrix, first: _Checked, max_repairs: int, stop_after_first: bool
                   ) -> tuple[_Checked, bool]:
    """Rounds 0..max_repairs: check, tighten, solve again. Returns the best engine-checked plan and whether its
    targets are met; ``stop_after_first`` (infeasible or over budget in round 0) ends after round 0."""
    cur, best, removed = first, first, None
    for k in range(max_repairs + 1):
        pred = np.asarray(cur.relation @ cur.selected.astype(np.int32)).reshape(-1) > 0
        lost = pred & ~cur.covered
        _log_round(run, k, cur, lost)
        if cur.met(run.targets):
            return cur, True
        if stop_after_first or k == max_repairs:
            break
        tight, removed = _tighten(run, rel0, cur, lost, removed)
        if tight is None:
            break
        cur = _Checked.of(run, run.optimise(run.problem(tight, blocks=run.demand_blocks)), tight)
        if cur.better_than(best, run.targets):
            best = cur
    return best, False


def _top_up(run: _Run, rel0: sp.csr_matrix, plan: _Checked, max_topups: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Add sites one by one, each the allowed one with the largest gain per cost on the pixels the engine still
    misses (by ``rel0``; ties by index), each checked with the engine, until the targets hold, none is left or
    ``max_topups`` were added. Returns the plan, its covered pixels and whether the targets are met.

    The engine may lose pixels when a site's interference is added, so gains can rise: after every check the gains
    of the sites at the pixels whose state changed are recomputed (:class:`~qamtu.plan.greedy.RateQueue` without
    lazy refresh), which keeps every gain in the queue exact.
    """
    targets, cost, exclude, budget = run.targets, run.cost, run.exclude, run.budget
    site_pixels = rel0.tocsc().T  # (n_sites, n_pixels), CSR
    w = run.weights()
    selected, covered = plan.selected.copy(), plan.covered.copy()
    spent = float(cost[selected].sum())
    topups, met = 0, False
    gain = np.asarray(site_pixels @ ((~covered).astype(float) * w)).reshape(-1)
    queue = RateQueue(cost, cost_floor=1e-12)
    for s in np.flatnonzero(~selected & ~exclude & (gain > 0)):
        queue.push(int(s), gain[s])

    def fits(s: int) -> bool:
        return budget is None or spent + cost[s] <= budget * (1 + 1e-12)

    def take(s: int) -> None:
        nonlocal spent, covered, topups, met
        selected[s] = True
        spent += cost[s]
        now = run.check(selected)
        changed = np.flatnonzero(now != covered)
        covered = now
        topups += 1
        met = targets.met(*run.shares(covered))
        if met or changed.size == 0:
            return
        dirty = np.unique(rel0[changed].indices)
        dirty = dirty[~selected[dirty] & ~exclude[dirty]]
        fresh = np.asarray(site_pixels[dirty] @ ((~covered).astype(float) * w)).reshape(-1)
        for site, g in zip(dirty.tolist(), fresh):
            if g > 0:
                queue.push(site, g)
            else:
                queue.discard(site)

    pick_by_rate(queue, take, done=lambda: met or topups >= max_topups, fits=fits)
    if topups:
        a, p = run.shares(covered)
        status = "met" if met else "not_met"
        run.rounds.append({"round": len(run.rounds), "method": "top-up", "status": status,
                           "sites": int(selected.sum()), "cost": float(cost[selected].sum()), "territory_share": a,
                           "population_share": p, "added": topups, "seconds": time.perf_counter() - run.t_start})
        run.say(f"top-up: added {topups} site(s) checked one by one with the engine; territory {a:.3f}, "
                f"population {p:.3f}")
    return selected, covered, met


def _fit(run: _Run, rel0: sp.csr_matrix, selected: np.ndarray, covered: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The engine-checked drop pass (:func:`qamtu.plan.fit.drop_against_engine`) on a plan that meets its targets;
    candidates ordered on the round-0 relation, ties by the plan's order of addition."""
    t0 = time.perf_counter()
    targets = run.targets
    order = addition_order(run.problem(rel0, with_budget=False), selected)
    out = drop_against_engine(selected, covered, check=run.check, met=lambda cov: targets.met(*run.shares(cov)),
                              relation=rel0, weights=run.weights(), cost=run.cost, lock=run.lock, order=order)
    selected, covered = out.selected, out.covered
    log = {"round": len(run.rounds), "method": "engine-drop", "status": "met", "dropped": len(out.dropped),
           "needed": len(out.needed), "evaluations": out.evaluations, "stopped": out.stopped}
    if run.confirm is not None:
        fresh: dict[bytes, tuple[float, float]] = {}

        def ok(sel: np.ndarray) -> bool:
            t1 = time.perf_counter()
            fresh[sel.tobytes()] = run.shares(np.asarray(run.confirm(sel), bool).reshape(-1))
            run.evaluate_s += time.perf_counter() - t1
            return targets.met(*fresh[sel.tobytes()]) and targets.met(*run.shares(run.check(sel)))

        selected, calls, accepted = restore_until(selected, out.dropped, ok)
        covered = run.check(selected)
        log.update(restored=int(selected.sum() - out.selected.sum()), confirm_evaluations=calls,
                   confirmed=bool(accepted), confirm_territory_share=fresh[selected.tobytes()][0],
                   confirm_population_share=fresh[selected.tobytes()][1])
        if not accepted:
            log["status"] = "met by the planner's engine check, not by the fresh evaluation"
    a, p = run.shares(covered)
    log.update(sites=int(selected.sum()), cost=float(run.cost[selected].sum()), territory_share=a,
               population_share=p, seconds=time.perf_counter() - run.t_start)
    run.rounds.append(log)
    run.say(f"engine drop pass: removed {len(out.dropped)} site(s) in {out.evaluations} engine check(s)"
            + (f", put {log['restored']} back for the fresh evaluation ({log['confirm_evaluations']} check(s), "
               f"territory {log['confirm_territory_share']:.3f})" if "restored" in log else "")
            + f" ({time.perf_counter() - t0:.1f} s); territory {a:.3f}, population {p:.3f}")
    return selected, covered, [s for s in out.dropped if not selected[s]]


def solve_with_repair(
    relation: RelationFn,
    evaluate: EvaluateFn,
    population: np.ndarray,
    area_km2: np.ndarray,
    cost: np.ndarray,
    site_ids: Sequence[str] | np.ndarray,
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
    fit: bool = True,
    confirm: EvaluateFn | None = None,
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
        Passed to :func:`~qamtu.plan.milp.solve_milp` (per round).
    demand_blocks : ndarray of int, shape (n_pixels,), optional
        Block id of every pixel: the optimiser then works on blocks (:func:`coarsen_relation`, approximate: a
        block counts as covered by a site covering half of it), while the engine check and the repair stay at
        pixel level. The lower bound is then the coarsened model's and is labelled so. Default: pixels (exact).
    fit : bool
        Once the engine says the targets hold, remove the sites it says are not needed
        (:func:`qamtu.plan.fit.drop_against_engine`, logged as an ``engine-drop`` round). Default True.
    confirm : callable like ``evaluate``, optional
        A second judge of the fitted plan (the planner passes a fresh engine evaluation of the chosen sites, as
        ``qamtu coverage`` makes it): dropped sites are put back, the last dropped first, until it too says the
        targets hold (:func:`qamtu.plan.fit.restore_until`; its shares are in the round log).
    progress : callable, optional
        Receives one line per round.

    Returns
    -------
    RepairResult
    """
    lock_arr = np.zeros(np.size(cost), bool) if lock is None else np.asarray(lock, bool)
    exclude_arr = np.zeros(np.size(cost), bool) if exclude is None else np.asarray(exclude, bool)
    population = np.asarray(population, float)
    area_km2 = np.asarray(area_km2, float)
    run = _Run(relation=relation, evaluate=evaluate, population=population, area_km2=area_km2,
               population_total=float(population.sum()) if population_total is None else float(population_total),
               area_total_km2=float(area_km2.sum()) if area_total_km2 is None else float(area_total_km2),
               cost=np.asarray(cost, float), site_ids=site_ids, targets=targets, lock=lock_arr, exclude=exclude_arr,
               budget=budget, method=method, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap,
               demand_blocks=demand_blocks, say=progress or (lambda msg: None), confirm=confirm)
    # round 0: the optimistic relation (only the sites surely on air interfere) and its bound
    rel0 = sp.csr_matrix(relation(None), dtype=bool)
    rel0.eliminate_zeros()
    prob0 = run.problem(rel0, blocks=demand_blocks)
    sol0 = run.optimise(prob0)
    infeasible0, over_budget0 = sol0.status == "infeasible", sol0.status == "over_budget"
    bound, bound_kind = _round0_bound(run, sol0, rel0, prob0)
    first = _Checked.of(run, sol0, rel0)
    # repair rounds, then the top-up with the engine in the loop
    best, met = _repair_rounds(run, rel0, first, max_repairs, stop_after_first=infeasible0 or over_budget0)
    selected, covered = best.selected.copy(), best.covered.copy()
    if not met and not infeasible0 and not over_budget0:
        selected, covered, met = _top_up(run, rel0, best, max_topups)
    dropped: list[int] = []
    if met and fit:
        selected, covered, dropped = _fit(run, rel0, selected, covered)
    status = "met" if met else "not_met"
    if not met:
        if infeasible0:
            status = "infeasible"
        elif over_budget0 or (budget is not None and best.solution.status == "over_budget"):
            status = "over_budget"
    return _result(run, rel0, best, selected, covered, status, bound, bound_kind, dropped)


def _result(run: _Run, rel0: sp.csr_matrix, best: _Checked, selected: np.ndarray, covered: np.ndarray, status: str,
            bound: float | None, bound_kind: str, dropped: list[int]) -> RepairResult:
    """The :class:`RepairResult` of the final plan: engine shares, gap, the round-0 bound's exceptions and the
    order of addition (on the kept relation, pixel level, without the budget)."""
    a, p = run.shares(covered)
    total = float(run.cost[selected].sum())
    in_rel0 = np.asarray(rel0 @ selected.astype(np.int32)).reshape(-1) > 0
    exceptions = int((covered & ~in_rel0).sum())
    if bound is not None and total < bound * (1 - 1e-12) - 1e-12:
        # the engine covers pixels no single chosen site covers (its union over sites): round 0 was no relaxation
        bound_kind = (f"none: the round-0 covering model's bound ({bound:g}) is above this engine-checked plan's cost, "
                      f"because the engine covers {exceptions} pixel(s) no chosen site covers on its own in the "
                      f"round-0 relation (it was: {bound_kind})")
        bound = None
    gap = None if status == "over_budget" else relative_gap(total, bound)
    order = addition_order(run.problem(best.relation, with_budget=False), selected)
    return RepairResult(
        selected=selected, order=order, covered=covered, territory_share=a, population_share=p,
        targets_met=run.targets.met(a, p), cost=total, lower_bound=bound, gap=gap, bound_kind=bound_kind,
        bound_exceptions=exceptions, status=status, relation=best.relation, relation0=rel0, rounds=run.rounds,
        solution=best.solution, solve_time_s=run.solve_s, evaluate_time_s=run.evaluate_s, dropped=dropped,
    )
