"""The one gain-per-cost heap (qamtu.plan.greedy): lazy, it takes a best site at every step (CELF); eager,
it is the exact best site at every step even when gains rise; the repair top-up built on it picks what the plain
argmax over every site picks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qamtu.plan.greedy import RateQueue, pick_by_rate, solve_greedy
from qamtu.plan.objective import CoverageState, requirements
from qamtu.plan.problem import Targets
from qamtu.plan.repair import _Checked, _Run, _top_up

from test_repair import Toy
from test_solve import _problem


def _check_each_pick_is_a_best_one(problem, targets, order):
    """Replay ``order``: every pick has the largest gain per cost of all sites at that step (a zero-cost site with a
    gain counts as infinite), up to floating-point rounding (CELF compares a stale gain with a fresh one, so among
    sites whose rates tie exactly it may take either); and the picks stop exactly when the targets are met."""
    needs, _ = requirements(problem, targets)
    state = CoverageState(problem, needs)
    locked = np.flatnonzero(problem.lock).tolist()
    assert order[: len(locked)] == locked
    for s in locked:
        state.add(s)

    def rate(s):
        g = state.gain(s)
        return 0.0 if g <= 1e-15 else (np.inf if problem.cost[s] == 0 else g / problem.cost[s])

    free = [int(s) for s in np.flatnonzero(~problem.lock & ~problem.exclude)]
    for s in order[len(locked):]:
        assert not state.done()
        best = max(rate(t) for t in free if t not in order[: order.index(s)])
        assert rate(s) > 0 and (rate(s) == best or rate(s) >= best * (1 - 1e-12))
        state.add(s)
    assert state.done() or max((rate(t) for t in free if t not in order), default=0.0) == 0.0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
@example(4922)  # two sites tie exactly at the last pick; CELF takes the one with the fresh gain
def test_lazy_heap_takes_a_best_site_every_step(seed):
    rng = np.random.default_rng(seed)
    n_units, n_sites = int(rng.integers(5, 40)), int(rng.integers(2, 15))
    sets = [sorted(rng.choice(n_units, size=int(rng.integers(1, max(2, n_units // 2))), replace=False).tolist())
            for _ in range(n_sites)]
    cost = rng.choice([0.0, 1.0, 1.0, 2.0, 2.5], size=n_sites)
    p = _problem(sets, cost, n_units, pop=rng.integers(0, 9, n_units), lock=rng.random(n_sites) < 0.1)
    t = Targets(territory_share=float(rng.choice([0.4, 0.7, 1.0])), population_share=0.5)
    _check_each_pick_is_a_best_one(p, t, solve_greedy(p, t, prune=False).order.tolist())


def test_eager_heap_finds_a_gain_that_rose():
    # gains after the first pick: site 2 rises from 1 to 5 (a lazy heap would never look at it again)
    cost = np.ones(3)
    queue = RateQueue(cost)
    for s, g in enumerate([4.0, 3.0, 1.0]):
        queue.push(s, g)
    picks = []

    def take(s):
        picks.append(s)
        if s == 0:
            queue.push(2, 5.0)

    pick_by_rate(queue, take)
    assert picks == [0, 2, 1]


def test_ties_by_cost_then_index():
    queue = RateQueue(np.array([2.0, 1.0, 1.0, 0.0, 0.0]), tie_by_cost=True)
    for s, g in enumerate([2.0, 1.0, 1.0, 0.0, 3.0]):  # rates 1, 1, 1, inf, inf
        queue.push(s, g)
    order = []
    pick_by_rate(queue, order.append)
    assert order == [3, 4, 1, 2, 0]
    queue = RateQueue(np.array([2.0, 1.0, 0.0]), cost_floor=1e-12)  # zero cost: gain / 1e-12, not inf
    for s, g in enumerate([4.0, 1.0, 0.0]):
        queue.push(s, g)
    order = []
    pick_by_rate(queue, order.append)
    assert order == [0, 1, 2]


def test_sites_that_do_not_fit_are_dropped_for_good():
    queue = RateQueue(np.array([3.0, 1.0, 1.0]))
    for s in range(3):
        queue.push(s, 6.0)
    seen, order = [], []

    def fits(s):
        seen.append(s)
        return s != 1

    pick_by_rate(queue, order.append, fits=fits)
    assert order == [2, 0]
    assert seen.count(1) == 1


def _reference_top_up(toy, targets, selected, covered, max_topups, budget=None):
    """The top-up as a plain argmax over every site after every engine check (the behaviour to keep)."""
    rel0 = sp.csr_matrix(toy.relation(None), dtype=bool)
    csc0 = rel0.tocsc()
    w = toy.area / toy.area.sum() + toy.pop / toy.pop.sum()
    selected, spent, added = selected.copy(), float(toy.cost[selected].sum()), []
    for _ in range(max_topups):
        gain = np.asarray(csc0.T @ ((~covered).astype(float) * w)).reshape(-1)
        allowed = ~selected & (gain > 0)
        if budget is not None:
            allowed &= spent + toy.cost <= budget * (1 + 1e-12)
        if not allowed.any():
            break
        s = int(np.argmax(np.where(allowed, gain / np.maximum(toy.cost, 1e-12), -np.inf)))
        selected[s] = True
        spent += toy.cost[s]
        added.append(s)
        covered = toy.evaluate(selected)
        a, p = toy.area[covered].sum() / toy.area.sum(), toy.pop[covered].sum() / toy.pop.sum()
        if targets.met(a, p):
            break
    return added, covered


@pytest.mark.parametrize("seed", range(8))
def test_top_up_picks_the_plain_argmax_even_when_the_engine_loses_pixels(seed):
    # a high load: every added site's interference can un-cover pixels, so gains rise between picks
    toy = Toy(seed=seed, n=18, n_sites=12, load=1.5)
    toy.cost[seed % 12] = 0.0
    targets = Targets(territory_share=0.9, population_share=0.9)
    rel0 = sp.csr_matrix(toy.relation(None), dtype=bool)
    start = np.zeros(12, bool)
    start[[seed % 12, (seed + 5) % 12]] = True
    budget = None if seed % 2 else float(toy.cost.sum() * 0.6)
    run = _Run(relation=toy.relation, evaluate=toy.evaluate, population=toy.pop, area_km2=toy.area,
               population_total=float(toy.pop.sum()), area_total_km2=float(toy.area.sum()), cost=toy.cost,
               site_ids=toy.ids, targets=targets, lock=np.zeros(12, bool), exclude=np.zeros(12, bool), budget=budget,
               method="greedy", time_limit_s=10.0, mip_rel_gap=0.0, demand_blocks=None, say=lambda m: None)
    covered0 = toy.evaluate(start)
    plan = _Checked(start, covered0, run.shares(covered0), float(toy.cost[start].sum()), rel0, None)
    selected, covered, met = _top_up(run, rel0, plan, max_topups=12)
    added, ref_covered = _reference_top_up(toy, targets, start, covered0, 12, budget)
    assert np.flatnonzero(selected & ~start).tolist() == sorted(added)
    assert np.array_equal(covered, ref_covered)
    if added:
        assert run.rounds[-1]["added"] == len(added)
