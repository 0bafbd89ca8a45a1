"""Monte-Carlo drops against the analytic engine.

The grid engine's single-link coverage probability is the expectation of the Monte-Carlo indicator
"sampled SS-RSRP >= threshold" (TR 38.901 7.4: LOS Bernoulli, log-normal shadowing, O2I mixture). With one
sector the pixel probability is exactly that link's, so the mean indicator over N users must lie within a
binomial band of the mean analytic probability at the same positions. The analytic O2I spread treats
0.5 d2D-in as normal (its true law is triangular-like), a documented approximation worth < 0.01 here.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine_testdata import make_area, make_sites
from qamtu.engine import EngineConfig, evaluate
from qamtu.engine.links import evaluate_link_batch, prepare_sectors
from qamtu.engine.montecarlo import drop_users, simulate_users


def test_drop_users_is_reproducible_and_follows_population(small_area):
    a = drop_users(small_area, 5000, seed=7)
    b = drop_users(small_area, 5000, seed=7)
    assert a.equals(b)
    assert small_area.mask.ravel()[a["pixel"]].all()
    # users fall in their pixel
    x, y = small_area.pixel_centres()
    half = small_area.resolution_m / 2
    assert np.all(np.abs(a["x_m"] - x.ravel()[a["pixel"]]) <= half)
    assert np.all(np.abs(a["y_m"] - y.ravel()[a["pixel"]]) <= half)
    # population weighting: dense half of the pixels gets its share of users (binomial 5 sigma)
    pop = small_area.population.ravel()
    dense = pop > np.median(pop[small_area.mask.ravel()])
    share = pop[dense].sum() / pop.sum()
    got = dense[a["pixel"]].mean()
    assert abs(got - share) < 5 * np.sqrt(share * (1 - share) / 5000)


def test_montecarlo_matches_analytic_coverage_probability():
    area = make_area(rows=30, cols=30, resolution_m=40.0)
    sites = make_sites([(600.0, 600.0)]).iloc[[0]].reset_index(drop=True)  # one sector
    cfg = EngineConfig(coverage_users="all")  # the users' mix: indoor users with their O2I loss
    users = drop_users(area, 20000, seed=1, weighting="uniform")
    sim = simulate_users(users, sites, cfg, seed=2)
    sec = prepare_sectors(sites)
    batch = evaluate_link_batch(users["x_m"].to_numpy() - sec.x_m[0], users["y_m"].to_numpy() - sec.y_m[0],
                                np.zeros(len(users), np.int64), users["env_class"].to_numpy(), sec, cfg)
    p = batch.coverage_probability
    assert 0.2 < p.mean() < 0.9
    hits = (sim["rsrp_dbm"] >= cfg.rsrp_threshold_dbm).to_numpy()
    sigma = np.sqrt(np.sum(p * (1 - p))) / len(p)
    assert abs(hits.mean() - p.mean()) < 4 * sigma + 0.003
    # outdoor users alone against the outdoor (FCC-convention) probability
    out_cfg = EngineConfig()
    b_out = evaluate_link_batch(users["x_m"].to_numpy() - sec.x_m[0], users["y_m"].to_numpy() - sec.y_m[0],
                                np.zeros(len(users), np.int64), users["env_class"].to_numpy(), sec, out_cfg)
    outdoor = ~sim["indoor"].to_numpy()
    p_out = b_out.coverage_probability[outdoor]
    hits_out = hits[outdoor]
    sigma_out = np.sqrt(np.sum(p_out * (1 - p_out))) / len(p_out)
    assert abs(hits_out.mean() - p_out.mean()) < 4 * sigma_out + 0.003
    # and the per-pixel map agrees with the users' mean probability
    res = evaluate(area, sites, cfg)
    assert np.nanmean(res.coverage_probability.ravel()[users["pixel"]]) == pytest.approx(p.mean(), abs=0.01)


def test_simulate_users_outputs_are_consistent(small_area, small_sites):
    users = drop_users(small_area, 3000, seed=3)
    a = simulate_users(users, small_sites, EngineConfig(), seed=4)
    b = simulate_users(users, small_sites, EngineConfig(), seed=4)
    assert a.equals(b)  # reproducible with the seed
    assert (a["best_server"] >= 0).all()
    assert (a.loc[a["indoor"], "o2i_loss_db"] > 0).mean() > 0.95
    assert ((a["o2i_model"] == "") == ~a["indoor"]).all()
    assert (a["dl_mbps"] >= 0).all() and (a["ul_mbps"] >= 0).all()
    # indoor share follows the environment profiles (binomial 5 sigma)
    shares = np.array([EngineConfig().environments[k].indoor_share for k in
                       ("dense_urban", "urban", "suburban", "rural")])[users["env_class"]]
    assert abs(a["indoor"].mean() - shares.mean()) < 5 * np.sqrt(0.25 / len(a))
    # the median user's SINR in MC is close to the grid's median over the same pixels (same physics, +-3 dB)
    grid = evaluate(small_area, small_sites, EngineConfig())
    assert np.median(a["sinr_db"]) == pytest.approx(np.nanmedian(grid.sinr_db.ravel()[users["pixel"]]), abs=6.0)


def test_simulate_users_on_an_area_use_the_engines_interference(small_area, small_sites):
    """Given the area, the users' interference is the engine's (with the served-area options: aimed beams,
    neighbours' UL UEs): it changes the SINR and the UL rates, not the RSRP; with the uniform beams and the UL
    margin (the defaults) the area changes nothing."""
    users = drop_users(small_area, 2000, seed=5)
    cfg = EngineConfig(interference_beams="served", ul_interference="neighbours")
    a = simulate_users(users, small_sites, cfg, seed=6, area=small_area)
    b = simulate_users(users, small_sites, cfg, seed=6)
    assert np.array_equal(a["rsrp_dbm"], b["rsrp_dbm"])
    assert not np.allclose(a["sinr_db"], b["sinr_db"]) and not np.allclose(a["ul_mbps"], b["ul_mbps"])
    for off in (cfg.replace(interference_beams="uniform", ul_interference="margin"),
                cfg.replace(interference_beams="uniform", ssb_interference="envelope", ul_interference="margin")):
        assert simulate_users(users, small_sites, off, seed=6, area=small_area).equals(
            simulate_users(users, small_sites, off, seed=6))
