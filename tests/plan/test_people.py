"""People first: the population target, the equal-cost tie-break, and the per-zone report."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from qamtu.plan import Targets
from qamtu.plan.people import DARK_SHARE, prefer_people, zone_shares
from qamtu.plan.problem import CoverageProblem
from qamtu.plan.objective import requirements as _needs


def test_people_first_targets_default_to_the_territory_share():
    assert Targets.people_first(0.6).as_dict() == {"territory_share": 0.6, "population_share": 0.6}
    assert Targets.people_first(0.6, 0.8).population_share == 0.8
    assert Targets.people_first(0.6, enabled=False).population_share is None


def test_equal_cost_plans_prefer_the_one_covering_more_people():
    # two sites of equal cost, each covers half of the territory; only site 1's half has people
    cover = sp.csr_matrix(np.array([[1, 0], [0, 1]], bool))
    prob = CoverageProblem(cover, population=[0.0, 1000.0], area_km2=[1.0, 1.0], cost=[1.0, 1.0],
                           site_ids=["a", "b"], population_total=1000.0, area_total_km2=2.0)
    needs, _ = _needs(prob, Targets(territory_share=0.5))
    out = prefer_people(prob, needs, np.array([True, False]))
    assert out.tolist() == [False, True]


def _random_problem(rng, n_units: int, n_sites: int, density: float, cost_hi: int) -> CoverageProblem:
    cover = sp.csr_matrix(rng.random((n_units, n_sites)) < density)
    pop = rng.integers(0, 100, n_units).astype(float)
    area = rng.random(n_units) + 0.1
    cost = rng.integers(1, cost_hi, n_sites).astype(float)
    return CoverageProblem(cover, pop, area, cost, [str(i) for i in range(n_sites)], pop.sum(), area.sum())


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_people_swaps_never_raise_cost_lower_people_or_break_targets(seed):
    rng = np.random.default_rng(seed)
    prob = _random_problem(rng, 30, 8, 0.25, 4)
    n_sites = prob.n_sites
    targets = Targets(territory_share=0.4)
    needs, feasible = _needs(prob, targets)
    sel = rng.random(n_sites) < 0.6
    t0, p0 = prob.shares(sel)
    out = prefer_people(prob, needs, sel)
    t1, p1 = prob.shares(out)
    assert prob.cost[out].sum() <= prob.cost[sel].sum() + 1e-12
    assert p1 >= p0 - 1e-12
    if t0 >= 0.4 * (1 - 1e-9) and feasible:
        assert t1 >= 0.4 * (1 - 1e-9)
    else:  # a plan that does not meet its needs is returned unchanged
        assert np.array_equal(out, sel)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_first_swap_is_the_best_swap_found_by_enumeration(seed):
    rng = np.random.default_rng(seed)
    prob = _random_problem(rng, 25, 7, 0.3, 3)
    n_sites, cost = prob.n_sites, prob.cost
    targets = Targets(territory_share=0.3, population_share=0.2)
    needs, feasible = _needs(prob, targets)
    sel = rng.random(n_sites) < 0.5
    if not feasible or not targets.met(*prob.shares(sel)):
        return
    people = prob.population_total * prob.shares(sel)[1]
    best = 0.0
    for s_ in np.flatnonzero(sel):
        for t_ in np.flatnonzero(~sel):
            if cost[t_] > cost[s_]:
                continue
            trial = sel.copy()
            trial[s_], trial[t_] = False, True
            terr, popshare = prob.shares(trial)
            if targets.met(terr, popshare, tol=1e-9):
                best = max(best, popshare * prob.population_total - people)
    out = prefer_people(prob, needs, sel, max_moves=1, min_gain_share=0.0)
    gained = prob.population_total * prob.shares(out)[1] - people
    if best > 1e-9:
        assert gained == pytest.approx(best)
    else:
        assert np.array_equal(out, sel)


@pytest.fixture(scope="module")
def core_and_ring():
    """Konaev at 250 m, people moved into a dense core of ~15 % of the territory; the ring around it is empty."""
    from qamtu.engine import EngineConfig
    from qamtu.geo.area import make_study_area
    from qamtu.plan import combine_candidates, lattice_candidates

    base = make_study_area("konaev", resolution_m=250.0)
    rows, cols = np.indices(base.shape)
    x, y = base.pixel_centres()
    cx, cy = base.centre_xy
    r = np.hypot(np.asarray(x) - cx, np.asarray(y) - cy)
    inside = np.asarray(base.mask, bool)
    r_core = np.quantile(r[inside], 0.15)
    core = inside & (r <= r_core)
    pop = np.where(core, 60_000.0 / core.sum(), 0.0)
    area = make_study_area("konaev", resolution_m=250.0, population=pop)
    cand = combine_candidates(lattice_candidates(area, 700.0))
    return area, cand, EngineConfig(max_cutoff_m=4000.0), core


def test_people_first_plan_covers_the_dense_core(core_and_ring):
    from qamtu.plan import CityModel, plan_city

    area, cand, config, core = core_and_ring
    model = CityModel(area, cand, config)
    plan = plan_city(area, cand, Targets.people_first(0.6), config, method="greedy", model=model)
    covered = np.asarray(plan.coverage.covered, bool)
    pop = np.asarray(area.population, float)
    assert plan.targets_met
    core_share = pop[core & covered].sum() / pop[core].sum()
    assert core_share >= 0.6 - 1e-9
    # the core is served first: the first site of the addition order covers core people
    first = plan.sites.iloc[0]
    assert first["added_population"] > 0
    # the report's zones: the dense core is an environment class with its people covered (not dark)
    zones = zone_shares(area, covered).set_index("zone")
    assert set(zones["zone_kind"]) == {"environment class"}
    populated = zones[zones["population"] > 0]
    assert populated["population"].sum() == pytest.approx(pop.sum())
    assert (populated["covered_population_share"] >= DARK_SHARE).any()
    assert (zones["dark"] == (zones["covered_population_share"] < DARK_SHARE)).all()
    # the territory-only plan of the same cost class serves fewer people than the people-first plan
    terr_only = plan_city(area, cand, Targets(territory_share=0.6), config, method="greedy", model=model)
    assert plan.summary["population_share"] > terr_only.summary["population_share"] + 0.1


def test_summary_says_whether_the_plan_is_proven_and_by_how_much(core_and_ring):
    from qamtu.plan import plan_city

    area, cand, config, _ = core_and_ring
    plan = plan_city(area, cand, Targets.people_first(0.3), config, method="greedy")
    s = plan.summary
    gap = s["gap"]
    if gap is None:  # the fitted plan costs less than the round-0 bound: no bound, and the proof says why
        assert s["lower_bound"] is None and s["bound_of"].startswith("none:")
        assert s["proof"].startswith("no lower bound: ") and "no chosen site covers on its own" in s["proof"]
    elif gap <= 0.01:
        assert s["proof"].startswith("proven within 1%")
    else:
        assert s["proof"].startswith("not proven within 1%") and f"gap {gap:.2%}" in s["proof"]
        assert f"{s['cost'] - s['lower_bound']:g} cost units" in s["proof"]


def test_dark_zones_are_districts_where_the_city_has_them():
    from qamtu.geo.area import make_study_area
    from qamtu.plan.people import zone_layer

    area = make_study_area("almaty", resolution_m=1000.0)
    labels, names, kind = zone_layer(area)
    assert kind == "district" and "Medeu" in names
    covered = np.zeros(area.shape, bool)
    covered[labels == names.index("Medeu")] = True  # only Medeu covered: every other district is dark
    zones = zone_shares(area, covered).set_index("zone")
    assert zones["population"].sum() == pytest.approx(float(np.asarray(area.population)[area.mask].sum()))
    assert not zones.loc["Medeu", "dark"] and zones.drop(index="Medeu")["dark"].all()
