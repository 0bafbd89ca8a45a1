"""The tabu swap search (qamtu.plan.swap): it only ever returns feasible plans that are no costlier than its start,
respects locks, exclusions and the budget, is deterministic, and finds the optimum the greedy misses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qamtu.plan.problem import Targets
from qamtu.plan.greedy import solve_greedy
from qamtu.plan.milp import solve_milp
from qamtu.plan.objective import requirements as _needs
from qamtu.plan.swap import swap_search

from test_solve import _problem  # tests/plan is on sys.path (pytest rootdir-less "prepend" import mode)


def _meets(problem, needs, selected) -> bool:
    cov = problem.covered_units(selected)
    return all(float(w[cov].sum()) >= need * (1 - 1e-9) for _, w, need in needs)


def test_swap_search_repairs_the_greedy_on_the_two_rows_instance():
    # The instance of test_solve.test_greedy_is_provably_worse_on_two_rows_instance: greedy {C1, D} = 2.3, the
    # optimum {TOP, BOT} = 2.0. Removing D, adding TOP, then swapping C1 for BOT gets there.
    sets = [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 4, 5, 6], [3, 7]]
    p = _problem(sets, [1.0, 1.0, 1.2, 1.1], 8)
    t = Targets(territory_share=1.0)
    needs, _ = _needs(p, t)
    g = solve_greedy(p, t)
    assert g.cost == pytest.approx(2.3)
    out = swap_search(p, needs, g.selected)
    assert out.tolist() == [True, True, False, False]


def test_swap_search_stops_at_the_given_cost():
    sets = [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 4, 5, 6], [3, 7]]
    p = _problem(sets, [1.0, 1.0, 1.2, 1.1], 8)
    needs, _ = _needs(p, Targets(territory_share=1.0))
    start = np.array([False, False, True, True])
    assert swap_search(p, needs, start, stop_at_cost=2.5).tolist() == start.tolist()


def test_swap_search_returns_an_infeasible_start_unchanged():
    sets = [[0, 1], [2, 3]]
    p = _problem(sets, [1.0, 1.0], 4)
    needs, _ = _needs(p, Targets(territory_share=1.0))
    start = np.array([True, False])
    assert swap_search(p, needs, start).tolist() == [True, False]


@st.composite
def instances(draw):
    n_units = draw(st.integers(4, 40))
    n_sites = draw(st.integers(2, 14))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    sets = [sorted(rng.choice(n_units, size=int(rng.integers(1, max(2, n_units // 2))), replace=False).tolist())
            for _ in range(n_sites)]
    cost = rng.choice([0.0, 1.0, 1.0, 2.0, 2.5], size=n_sites)
    area = rng.uniform(0.1, 2.0, n_units)
    pop = rng.uniform(0.0, 100.0, n_units)
    lock = np.zeros(n_sites, bool)
    exclude = np.zeros(n_sites, bool)
    lock[rng.integers(n_sites)] = draw(st.booleans())
    free = np.flatnonzero(~lock)
    exclude[rng.choice(free)] = draw(st.booleans())
    terr = draw(st.floats(0.1, 1.0))
    pop_share = draw(st.one_of(st.none(), st.floats(0.1, 1.0)))
    return sets, cost, n_units, pop, area, lock, exclude, Targets(territory_share=terr, population_share=pop_share)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_swap_search_invariants(inst):
    sets, cost, n_units, pop, area, lock, exclude, targets = inst
    p = _problem(sets, cost, n_units, pop=pop, area=area, lock=lock, exclude=exclude)
    needs, _ = _needs(p, targets)
    g = solve_greedy(p, targets)
    if g.status == "over_budget":
        return
    assert _meets(p, needs, g.selected)
    out = swap_search(p, needs, g.selected)
    assert _meets(p, needs, out)
    assert p.cost[out].sum() <= g.cost + 1e-9
    assert out[lock].all() and not out[exclude].any()
    assert swap_search(p, needs, g.selected).tolist() == out.tolist()  # deterministic
    # with a budget equal to the greedy's cost the budget is never exceeded
    pb = _problem(sets, cost, n_units, pop=pop, area=area, lock=lock, exclude=exclude, budget=g.cost)
    outb = swap_search(pb, needs, g.selected)
    assert pb.cost[outb].sum() <= g.cost + 1e-9 and _meets(pb, needs, outb)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_milp_with_swap_stage_never_worse_than_greedy_and_bound_is_valid(inst):
    sets, cost, n_units, pop, area, lock, exclude, targets = inst
    p = _problem(sets, cost, n_units, pop=pop, area=area, lock=lock, exclude=exclude)
    g = solve_greedy(p, targets)
    m = solve_milp(p, targets, mip_rel_gap=0.0, time_limit_s=20.0)
    exact = solve_milp(p, targets, mip_rel_gap=0.0, time_limit_s=20.0, warm_start=False)
    assert m.cost <= g.cost + 1e-9
    assert m.cost == pytest.approx(exact.cost, abs=1e-6)  # both proven optimal on instances this small
    assert m.lower_bound is None or m.lower_bound <= exact.cost + 1e-6
