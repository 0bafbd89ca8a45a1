"""The engine-checked drop pass (qamtu.plan.fit): it never breaks a target by the engine, never drops a locked site,
is deterministic, and removes what the engine's union over sites makes redundant.

Toy engine (a stand-in with the structure of issue 11's, not radio): every link has a coverage probability that falls
with distance; the covering relation asks one link to reach the level (as ``CityModel.relation`` does), the engine
asks the union over the sites on air, ``1 - prod(1 - p)``, to reach it, and sites on air also interfere (a pixel's
probabilities shrink with the number of other sites close to it), so the engine is neither monotone nor the
relation's.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from qamtu.plan.fit import drop_against_engine, redundancy_loss, restore_until
from qamtu.plan.problem import Targets
from qamtu.plan.repair import solve_with_repair

LEVEL = 0.9


class UnionToy:
    def __init__(self, seed=0, n=20, n_sites=16, reach=4.0, crowd=0.0):
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0:n, 0:n]
        self.px = np.stack([x.ravel(), y.ravel()], 1).astype(float) + 0.5
        self.sites = rng.uniform(0, n, (n_sites, 2))
        d = np.sqrt(((self.px[:, None, :] - self.sites[None, :, :]) ** 2).sum(-1))
        self.p = 1.0 / (1.0 + np.exp(2.0 * (d - reach)))  # per-link probability, 0.5 at ``reach``
        self.close = d < 1.5 * reach
        self.crowd = crowd
        self.pop = rng.integers(0, 30, len(self.px)).astype(float)
        self.area = np.full(len(self.px), 0.01)
        self.cost = rng.integers(1, 4, n_sites).astype(float)
        self.ids = [f"U{i}" for i in range(n_sites)]
        self.lock = np.zeros(n_sites, bool)
        self.calls = 0

    def probabilities(self, on):
        others = (self.close[:, on].sum(1, keepdims=True) - self.close * on[None, :]).clip(0)
        return self.p * (1.0 - self.crowd) ** others

    def relation(self, on_air):
        on = self.lock.copy() if on_air is None else np.asarray(on_air, bool) | self.lock
        return sp.csr_matrix(self.probabilities(on) >= LEVEL)

    def evaluate(self, selected):
        self.calls += 1
        on = np.asarray(selected, bool)
        q = np.prod(1.0 - self.probabilities(on)[:, on], axis=1)
        return 1.0 - q >= LEVEL

    def shares(self, covered):
        return self.area[covered].sum() / self.area.sum(), self.pop[covered].sum() / self.pop.sum()


def test_redundancy_loss_splits_each_covered_pixel_among_its_sites():
    rel = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]], bool))
    covered = np.array([True, True, True, False])
    w = np.array([2.0, 1.0, 4.0, 8.0])
    sel = np.array([True, True, False])
    # pixel 0 shared by sites 0 and 1 (1 each), pixel 1 only site 0, pixel 2 only site 1 among the chosen, pixel 3
    # not covered; site 2 not chosen: 0
    assert redundancy_loss(rel, covered, sel, w).tolist() == [2.0, 5.0, 0.0]


def test_removes_a_site_that_only_the_union_makes_redundant():
    # three sites over 10 pixels; every link reaches 0.7 where it reaches at all (below the 0.9 level: the covering
    # relation sees nothing), so only pairs cover (1 - 0.3^2 = 0.91). Sites 0+1 overlap on pixels 0-5, site 2
    # adds pixels 4-5 with site 1 and pixels 6-7 with nobody.
    p = np.zeros((10, 3))
    p[0:6, 0] = 0.7
    p[0:6, 1] = 0.7
    p[4:8, 2] = 0.7

    def check(sel):
        return 1.0 - np.prod(1.0 - p[:, sel], axis=1) >= LEVEL

    targets = Targets(territory_share=0.6)
    met = lambda cov: targets.met(cov.mean(), 1.0)  # noqa: E731
    sel = np.ones(3, bool)
    assert met(check(sel))
    out = drop_against_engine(sel, check(sel), check=check, met=met, relation=sp.csr_matrix(p >= LEVEL),
                              weights=np.full(10, 0.1), cost=np.ones(3), lock=np.zeros(3, bool),
                              order=np.arange(3))
    # 0+1 cover pixels 0-5 = 0.6: site 2 is redundant; without 0 or 1 only pixels 4-5 remain
    assert out.selected.tolist() == [True, True, False]
    assert out.dropped == [2] and sorted(out.needed) == [0, 1]
    assert np.array_equal(out.covered, check(out.selected)) and met(out.covered)


def test_locked_and_free_sites_are_never_tried():
    p = np.full((4, 3), 0.95)

    def check(sel):
        return 1.0 - np.prod(1.0 - p[:, sel], axis=1) >= LEVEL

    tried = []

    def spy(sel):
        tried.append(sel.copy())
        return check(sel)

    lock = np.array([True, False, False])
    cost = np.array([1.0, 0.0, 1.0])
    out = drop_against_engine(np.ones(3, bool), check(np.ones(3, bool)), check=spy, met=lambda c: c.all(),
                              relation=sp.csr_matrix(p >= LEVEL), weights=np.ones(4), cost=cost, lock=lock,
                              order=np.arange(3))
    assert out.selected.tolist() == [True, True, False]  # only site 2 (not locked, not free) could go
    assert all(t[0] and t[1] for t in tried)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.3, 0.7), st.sampled_from([0.0, 0.05]), st.integers(1, 4))
def test_never_breaks_a_target_never_drops_a_lock_and_is_deterministic(seed, share, crowd, patience):
    toy = UnionToy(seed=seed, crowd=crowd)
    rng = np.random.default_rng(seed + 7)
    lock = rng.random(toy.cost.size) < 0.2
    targets = Targets(territory_share=share, population_share=share)
    met = lambda cov: targets.met(*toy.shares(cov))  # noqa: E731
    sel = np.ones(toy.cost.size, bool)
    cov = toy.evaluate(sel)
    if not met(cov):
        return
    kw = dict(check=toy.evaluate, met=met, relation=toy.relation(sel), weights=toy.area + toy.pop / toy.pop.sum(),
              cost=toy.cost, lock=lock, order=np.arange(toy.cost.size), patience=patience)
    out = drop_against_engine(sel, cov, **kw)
    assert out.selected[lock].all()
    assert not (out.selected & ~sel).any()
    fresh = toy.evaluate(out.selected)
    assert np.array_equal(fresh, out.covered) and met(fresh)
    assert len(out.dropped) == int(sel.sum() - out.selected.sum())
    again = drop_against_engine(sel, cov, **kw)
    assert np.array_equal(again.selected, out.selected) and again.dropped == out.dropped
    assert again.evaluations == out.evaluations
    # every site found needed was needed when it was tried: removing it now (from a smaller plan) fails too here,
    # unless interference made the smaller plan better (crowd > 0)
    if crowd == 0.0:
        for s in out.needed:
            less = out.selected.copy()
            less[s] = False
            assert not met(toy.evaluate(less))


@pytest.mark.parametrize("method", ["milp", "greedy"])
def test_repair_with_fit_meets_targets_with_fewer_sites(method):
    toy = UnionToy(seed=5, n=24, n_sites=18)
    t = Targets(territory_share=0.5, population_share=0.5)
    args = (toy.relation, toy.evaluate, toy.pop, toy.area, toy.cost, toy.ids, t)
    loose = solve_with_repair(*args, method=method, fit=False)
    fitted = solve_with_repair(*args, method=method)
    assert loose.targets_met and fitted.targets_met
    assert fitted.cost < loose.cost  # the single-link relation overshoots under the union
    assert fitted.rounds[-1]["method"] == "engine-drop" and fitted.rounds[-1]["dropped"] > 0
    fresh = toy.evaluate(fitted.selected)
    assert np.array_equal(fresh, fitted.covered) and t.met(*toy.shares(fresh))
    assert toy.shares(fresh)[0] < toy.shares(loose.covered)[0]
    # the order of addition and the bound describe the fitted plan
    assert sorted(fitted.order.tolist()) == np.flatnonzero(fitted.selected).tolist()
    assert fitted.lower_bound is None or fitted.lower_bound <= fitted.cost + 1e-9


@pytest.mark.parametrize("need", [0, 1, 3, 6, 7])
def test_restore_until_puts_back_the_fewest_last_dropped_sites(need):
    # 8 sites, the pass dropped 7 of them (site 0 kept) in the order 1..7; the judge wants at least ``need`` of
    # the last dropped back (7, 6, ...)
    dropped = [1, 2, 3, 4, 5, 6, 7]
    sel = np.zeros(8, bool)
    sel[0] = True
    asked = []

    def ok(s):
        asked.append(s.copy())
        return bool(s[[7, 6, 5, 4, 3, 2, 1][:need]].all())

    out, calls, accepted = restore_until(sel, dropped, ok)
    assert accepted and calls == len(asked)
    assert sorted(np.flatnonzero(out).tolist()) == sorted([0] + [7, 6, 5, 4, 3, 2, 1][:need])
    assert calls <= 1 + int(np.ceil(np.log2(len(dropped)))) + 1


def test_restore_until_says_when_even_the_whole_plan_fails():
    sel = np.array([True, False, False])
    out, calls, accepted = restore_until(sel, [1, 2], lambda s: False)
    assert not accepted and out.tolist() == [True, True, True] and calls == 3


def test_repair_with_a_stricter_second_judge_puts_sites_back():
    toy = UnionToy(seed=5, n=24, n_sites=18)
    t = Targets(territory_share=0.5, population_share=0.5)
    args = (toy.relation, toy.evaluate, toy.pop, toy.area, toy.cost, toy.ids, t)
    plain = solve_with_repair(*args)

    def strict(selected):  # a judge that loses every pixel within 0.03 of the level
        on = np.asarray(selected, bool)
        return 1.0 - np.prod(1.0 - toy.probabilities(on)[:, on], axis=1) >= LEVEL + 0.03

    judged = solve_with_repair(*args, confirm=strict)
    log = judged.rounds[-1]
    assert log["confirmed"] and t.met(*toy.shares(strict(judged.selected)))
    assert t.met(*toy.shares(toy.evaluate(judged.selected))) and judged.targets_met
    assert judged.cost >= plain.cost and not (plain.selected & ~judged.selected).any()
    assert log["restored"] == int(judged.selected.sum() - plain.selected.sum()) > 0


def test_capacity_sites_that_uncover_the_fitted_edge_bring_fitted_away_sites_back(monkeypatch):
    """The capacity stage adds a site whose interference costs the fitted plan its target: the planner puts the
    fitted-away sites back (the last dropped first) until the engine says the targets hold again."""
    import types

    import pandas as pd

    import qamtu.plan.capacity as capacity
    from qamtu.plan.planner import _capacity_stage
    from qamtu.plan.repair import RepairResult

    n_pix, n_sites = 10, 5
    # site 4 (capacity) jams pixels 0-3; sites 0-1 cover 0-5, site 2 covers 6-7, site 3 covers 8-9
    cover = np.zeros((n_pix, n_sites), bool)
    cover[0:6, 0:2] = True
    cover[6:8, 2] = True
    cover[8:10, 3] = True

    def covered_by(sel):
        cov = (cover[:, :4] & sel[None, :4]).any(1)
        if sel[4]:
            cov[0:3] &= sel[2] & sel[3]  # only with sites 2 and 3 back do the jammed pixels hold
        return cov

    m = types.SimpleNamespace(
        sites=pd.DataFrame({"cost": np.ones(n_sites), "site_id": [f"S{i}" for i in range(n_sites)]}),
        mask_flat=np.arange(n_pix), area_km2=np.full(n_pix, 0.1), population=np.ones(n_pix),
        evaluate=lambda sel: covered_by(np.asarray(sel, bool)), release_checks=lambda: None)
    area = types.SimpleNamespace(area_km2=1.0, population_total=10.0)
    fitted = np.array([True, True, False, False, False])

    class Coverage:
        def __init__(self, sel):
            self.covered = covered_by(sel)

        def kpis(self):
            return {"territory_share": self.covered.mean(), "population_share": self.covered.mean()}

    def fake_capacity(model, selected, demand, budget=None):
        sel = np.asarray(selected, bool).copy()
        sel[4] = True
        return capacity.CapacityResult(selected=sel, added=[4], coverage=Coverage(sel))

    monkeypatch.setattr(capacity, "add_capacity_sites", fake_capacity)
    targets = Targets(territory_share=0.6)
    res = RepairResult(selected=fitted, order=np.array([0, 1]), covered=covered_by(fitted), territory_share=0.6,
                       population_share=0.6, targets_met=True, cost=2.0, lower_bound=None, gap=None, bound_kind="",
                       bound_exceptions=0, status="met", relation=sp.csr_matrix(cover),
                       relation0=sp.csr_matrix(cover), dropped=[3, 2])
    out, cap = _capacity_stage(m, res, None, None, area, targets)
    # without help: site 4 leaves pixels 3-5 = 0.3; with the last dropped (2) back: 3-7 = 0.5; with both: 1.0
    assert out.targets_met and out.selected.tolist() == [True, True, True, True, True]
    assert sorted(out.order.tolist()) == [0, 1, 2, 3, 4] and out.order.tolist()[:3] == [0, 1, 4]
    assert out.territory_share == pytest.approx(1.0)
    # a budget that cannot pay for the fitted-away sites: nothing is put back and the miss is reported
    out2, _ = _capacity_stage(m, res, None, 3.5, area, targets)
    assert not out2.targets_met and out2.selected.tolist() == [True, True, False, False, True]
