"""The optimisers on small hand-made and random covering instances whose optimum is known by enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qamtu.errors import InvalidInputError
from qamtu.plan.problem import CoverageProblem, Targets, aggregate_demand
from qamtu.plan.bounds import lp_lower_bound
from qamtu.plan.greedy import solve_greedy
from qamtu.plan.milp import solve_milp
from qamtu.plan.solve import solve


def _problem(sets, cost, n_units, pop=None, area=None, **kw):
    rows, cols = [], []
    for s, units in enumerate(sets):
        rows += list(units)
        cols += [s] * len(units)
    cover = sp.csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(n_units, len(sets)))
    pop = np.ones(n_units) if pop is None else np.asarray(pop, float)
    area = np.ones(n_units) if area is None else np.asarray(area, float)
    kw.setdefault("population_total", float(pop.sum()))
    kw.setdefault("area_total_km2", float(area.sum()))
    return CoverageProblem(cover, pop, area, cost, [f"S{i}" for i in range(len(sets))], **kw)


def test_greedy_is_provably_worse_on_two_rows_instance():
    # Units a1..a4 = 0..3 and b1..b4 = 4..7. TOP and BOT (cost 1 each) cover one row each: optimum 2.
    # C1 covers 6 units for 1.2 (5 units per cost, the best ratio), so greedy takes it first; then D covers the
    # two units left for 1.1 (1.82 per cost, better than TOP or BOT at 1 per cost). Greedy: 2.3; neither C1 nor D
    # is redundant afterwards, so reverse-delete cannot repair it.
    sets = [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 4, 5, 6], [3, 7]]
    p = _problem(sets, [1.0, 1.0, 1.2, 1.1], 8)
    t = Targets(territory_share=1.0)
    m = solve_milp(p, t, mip_rel_gap=0.0)
    g = solve_greedy(p, t)
    assert m.selected.tolist() == [True, True, False, False]
    assert m.cost == pytest.approx(2.0)
    assert m.status == "optimal" and m.gap == pytest.approx(0.0, abs=1e-6)
    assert g.selected.tolist() == [False, False, True, True]
    assert g.cost == pytest.approx(2.3)
    assert g.targets_met and m.targets_met


def test_partial_target_picks_cheapest_sufficient_site():
    # 10 units; a 60 % territory target. S0 covers 6 units for 5, S1 covers 4 for 1, S2 covers 2 for 1.
    # Options reaching 6 units: {S0} = 5, {S1, S2} = 2 (disjoint: 6 units). Optimum 2.
    sets = [[0, 1, 2, 3, 4, 5], [0, 1, 6, 7], [8, 9]]
    p = _problem(sets, [5.0, 1.0, 1.0], 10)
    sol = solve_milp(p, Targets(territory_share=0.6), mip_rel_gap=0.0)
    assert sol.selected.tolist() == [False, True, True]
    assert sol.territory_share == pytest.approx(0.6)


def test_population_and_territory_targets_differ():
    # S0 covers the dense unit (90 people, 1 km2), S1 the sparse ones (10 people, 9 km2).
    sets = [[0], [1, 2, 3]]
    p = _problem(sets, [3.0, 1.0], 4, pop=[90, 4, 3, 3], area=[1, 3, 3, 3])
    by_pop = solve_milp(p, Targets(population_share=0.5))
    by_area = solve_milp(p, Targets(territory_share=0.5))
    assert by_pop.selected.tolist() == [True, False]
    assert by_area.selected.tolist() == [False, True]
    both = solve_milp(p, Targets(territory_share=0.5, population_share=0.5))
    assert both.selected.tolist() == [True, True]


def test_infeasible_targets_report_best_reachable():
    # Only 5 of 10 units can be covered at all; target 80 %.
    p = _problem([[0, 1, 2], [2, 3, 4], [3, 4]], [1.0, 1.0, 0.5], 10)
    for method in ("milp", "greedy"):
        sol = solve(p, Targets(territory_share=0.8), method=method)
        assert sol.status == "infeasible"
        assert not sol.targets_met
        assert sol.territory_share == pytest.approx(0.5)
    assert solve_milp(p, Targets(territory_share=0.8)).cost == pytest.approx(1.5)


def test_budget_binding_maximises_coverage_within_budget():
    sets = [[0, 1, 2, 3], [4, 5, 6], [7, 8], [9]]
    p = _problem(sets, [2.0, 2.0, 1.0, 1.0], 10, budget=3.0)
    sol = solve_milp(p, Targets(territory_share=1.0))
    assert sol.status == "over_budget" and not sol.targets_met
    assert sol.cost <= 3.0
    assert sol.territory_share == pytest.approx(0.6)  # {S0, S2}: 6 units for 3
    g = solve_greedy(p, Targets(territory_share=1.0))
    assert g.cost <= 3.0 and g.status == "over_budget"


def test_lock_and_exclude_conflict_is_an_error():
    with pytest.raises(InvalidInputError, match="both locked in and ruled out"):
        _problem([[0]], [1.0], 1, lock=[True], exclude=[True])


def test_targets_validation():
    with pytest.raises(InvalidInputError):
        Targets()
    with pytest.raises(InvalidInputError, match="territory_share"):
        Targets(territory_share=1.5)


def _brute_force(p: CoverageProblem, t: Targets):
    best = None
    for bits in itertools.product([False, True], repeat=p.n_sites):
        sel = np.array(bits, bool)
        if (sel & p.exclude).any() or (p.lock & ~sel).any():
            continue
        cost = float(p.cost[sel].sum())
        if p.budget is not None and cost > p.budget + 1e-9:
            continue
        if t.met(*p.shares(sel), tol=1e-9) and (best is None or cost < best - 1e-9):
            best = cost
    return best


@st.composite
def instances(draw):
    n_sites = draw(st.integers(1, 6))
    n_units = draw(st.integers(1, 9))
    sets = [draw(st.lists(st.integers(0, n_units - 1), max_size=n_units, unique=True)) for _ in range(n_sites)]
    cost = draw(st.lists(st.integers(0, 9).map(float), min_size=n_sites, max_size=n_sites))
    pop = draw(st.lists(st.integers(0, 50).map(float), min_size=n_units, max_size=n_units))
    area = draw(st.lists(st.integers(1, 5).map(float), min_size=n_units, max_size=n_units))
    decision = draw(st.lists(st.sampled_from(["", "", "", "lock", "exclude"]), min_size=n_sites, max_size=n_sites))
    lock = np.array([d == "lock" for d in decision])
    exclude = np.array([d == "exclude" for d in decision])
    budget = draw(st.one_of(st.none(), st.integers(0, 30).map(float)))
    if budget is not None and budget < np.asarray(cost)[lock].sum():
        budget = None
    tt = draw(st.one_of(st.none(), st.sampled_from([0.2, 0.5, 0.75, 1.0])))
    tp = draw(st.sampled_from([0.3, 0.6, 0.9])) if tt is None else draw(st.one_of(st.none(), st.just(0.5)))
    p = _problem(sets, cost, n_units, pop=pop, area=area, population_total=sum(pop) + 1.0,
                 lock=lock, exclude=exclude, budget=budget)
    return p, Targets(territory_share=tt, population_share=tp)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_milp_matches_enumeration_and_both_respect_constraints(inst):
    p, t = inst
    best = _brute_force(p, t)
    m = solve_milp(p, t, mip_rel_gap=0.0)
    g = solve_greedy(p, t)
    for sol in (m, g):
        assert not (sol.selected & p.exclude).any()  # ruled out never
        assert (sol.selected[p.lock]).all()  # locked always in
        if p.budget is not None:
            assert sol.cost <= p.budget + 1e-9  # budget never exceeded
        assert set(sol.order.tolist()) == set(np.flatnonzero(sol.selected).tolist())
    if best is not None:
        assert m.targets_met
        assert m.cost == pytest.approx(best, abs=1e-6)
        if g.targets_met:
            assert g.cost >= best - 1e-6
        lb = lp_lower_bound(p, t)
        assert lb is not None and lb <= best + 1e-6
        from qamtu.plan.bounds import knapsack_lower_bound
        from qamtu.plan.objective import requirements

        assert knapsack_lower_bound(p, requirements(p, t)[0]) <= lb + 1e-6  # the LP is at least as tight
        assert m.lower_bound <= m.cost + 1e-9
    else:
        assert not m.targets_met and not g.targets_met


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_signature_aggregation_is_exact(seed):
    rng = np.random.default_rng(seed)
    n_pix, n_sites = 60, 5
    dense = rng.random((n_pix, n_sites)) < 0.3
    pop = rng.integers(0, 20, n_pix).astype(float)
    area = np.full(n_pix, 0.01)
    unit_cover, upop, uarea, pix_unit = aggregate_demand(sp.csr_matrix(dense), pop, area)
    # distinct, non-empty signatures, each pixel mapped to the unit with its signature
    sigs = {tuple(r) for r in dense if r.any()}
    assert unit_cover.shape[0] == len(sigs)
    assert np.array_equal(unit_cover.toarray()[pix_unit[dense.any(1)]], dense[dense.any(1)])
    assert (pix_unit[~dense.any(1)] == -1).all()
    assert upop.sum() == pytest.approx(pop[dense.any(1)].sum())
    # the aggregated and the pixel-level problems have the same optimum
    cost = rng.integers(1, 5, n_sites).astype(float)
    t = Targets(territory_share=0.4, population_share=0.4)
    kw = dict(population_total=float(pop.sum()), area_total_km2=float(area.sum()))
    full = CoverageProblem(sp.csr_matrix(dense), pop, area, cost, list("abcde"), **kw)
    agg = CoverageProblem(unit_cover, upop, uarea, cost, list("abcde"), **kw)
    assert solve_milp(full, t, mip_rel_gap=0).cost == pytest.approx(solve_milp(agg, t, mip_rel_gap=0).cost)
