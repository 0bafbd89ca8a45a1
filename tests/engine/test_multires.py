"""Multi-resolution evaluation (:mod:`qamtu.engine.multires`): exact pixels equal the full evaluation bit for bit,
interpolated ones are within the issue's 0.02 of it; step 1 is the exact evaluation."""

from __future__ import annotations

import numpy as np

from engine_testdata import make_area, make_sites
from qamtu.engine import EngineConfig
from qamtu.engine.aggregate import evaluate
from qamtu.engine.multires import evaluate_multires


def _sites():
    return make_sites([(300.0, 400.0), (2200.0, 2100.0), (500.0, 2200.0), (2000.0, 300.0)])


def _maps(res):
    out = {k: v for k, v in res.probabilities.items()}
    out.update(rsrp=res.rsrp_dbm, sinr=res.sinr_db, ssb=res.ssb_sinr_db, dl=res.dl_mbps, ul=res.ul_mbps,
               best=res.best_server, covered=res.covered)
    return out


def test_step_one_is_the_exact_evaluation():
    area = make_area(rows=24, cols=24, resolution_m=125.0, seed=3)
    cfg = EngineConfig()
    exact, mr = _maps(evaluate(area, _sites(), cfg)), _maps(evaluate_multires(area, _sites(), cfg, step=1))
    for key in exact:
        np.testing.assert_array_equal(exact[key], mr[key], err_msg=key)


def test_exact_pixels_are_bitwise_and_interpolated_ones_bilinear():
    area = make_area(rows=49, cols=49, resolution_m=12.5, seed=4, disc=False)
    area.env_class[30:, 40:] = 2  # a class change: the blocks across it are refined
    sites = make_sites([(-200.0, 300.0), (800.0, 300.0)])
    cfg = EngineConfig()
    stats: list = []
    exact = evaluate(area, sites, cfg)
    # tolerances wide open: every block whose structure allows it is interpolated (exercises both paths)
    mr = evaluate_multires(area, sites, cfg, step=4, tol_p=1.0, tol_db=1e9, stats=stats)
    s = stats[0]
    assert s.lattice + s.refined + s.interpolated == s.pixels == int(area.mask.sum())
    assert s.interpolated > 0 and s.refined > 0, s
    k = 4
    rr, cc = np.mgrid[0:49, 0:49]
    lattice = (rr % k == 0) & (cc % k == 0)
    ex_p = exact.probabilities["p_rsrp_indoor"]
    mr_p = mr.probabilities["p_rsrp_indoor"]
    np.testing.assert_array_equal(ex_p[lattice], mr_p[lattice])
    np.testing.assert_array_equal(ex_p[29:32, 41:44], mr_p[29:32, 41:44])  # refined: its block spans both classes
    # an interpolated pixel is the bilinear value of its block's exact corners
    r, c = 5, 6
    u, v = (r % k) / k, (c % k) / k
    r0, c0 = r - r % k, c - c % k
    p_out = exact.probabilities["p_rsrp_outdoor"]
    corners = [float(p_out[r0 + a, c0 + b]) for a, b in ((0, 0), (k, 0), (0, k), (k, k))]
    want = (1 - u) * (1 - v) * corners[0] + u * (1 - v) * corners[1] + (1 - u) * v * corners[2] + u * v * corners[3]
    assert abs(float(mr.probabilities["p_rsrp_outdoor"][r, c]) - want) < 1e-6
    # and close to the exact value on this smooth stretch (far from both sites)
    d = np.abs(exact.probabilities["p_rsrp_outdoor"] - mr.probabilities["p_rsrp_outdoor"])
    assert d.max() <= 0.02
