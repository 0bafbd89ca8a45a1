"""The weak links' residual as a random sum (qamtu.engine._resid, the kernel's conditioned log-normal term): its
moments against brute force, and fresh evaluations that do not depend on the relevance floor."""

from __future__ import annotations

import numpy as np

from qamtu.engine import EngineConfig, aggregate, compute_links
from qamtu.engine._resid import weak_moments


def test_weak_moments_match_brute_force_draws():
    """Mean and variance of the summed weak links of two pixels (co-sited sectors share one LOS state and one
    shadow draw, sites independent) against 400 000 draws of the mixture; a site with a stored link at the pixel
    (pixel 0's site 0, pixel 1's site 1) has its weak sectors folded into its first stored link instead."""
    rng = np.random.default_rng(5)
    n = 10
    ii = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    sec = np.array([0, 1, 2, 3, 5, 6, 0, 1, 3, 4])
    site_of_sector = np.array([0, 0, 0, 1, 1, 1, 2])
    kept = np.array([False, True, False, False, False, False, False, False, True, False])
    rsrp = rng.uniform(-120.0, -100.0, n)
    intf = 10 ** (rng.uniform(-130.0, -110.0, n) / 10)
    site_p = np.array([0.3, 0.05, 0.5])
    site_d = np.array([12.0, 15.0, 10.0])
    plos, dlos = site_p[site_of_sector[sec]], site_d[site_of_sector[sec]]
    sfl, sfn = np.full(n, 3.0), np.full(n, 5.0)  # (moderate sigmas: the sample variance converges)
    mean, var, level, fold = weak_moments(ii, np.arange(n), kept, intf, rsrp, plos, dlos, sfl, sfn, sec,
                                          site_of_sector, 2)
    np.testing.assert_array_equal(fold, [0, intf[0] + intf[2], 0, 0, 0, 0, 0, 0, intf[9], 0])
    draws = 400_000
    los = rng.random((draws, 3)) < site_p[None, :]
    z = rng.standard_normal((draws, 3))
    in_residual = {0: [3, 4, 5], 1: [6, 7]}  # pixel 0: site 1 and site 2; pixel 1: site 0
    for px, links in in_residual.items():
        total = np.zeros(draws)
        for k in links:
            s = site_of_sector[sec[k]]
            den = plos[k] * 10 ** (dlos[k] / 10) + 1 - plos[k]
            db = np.where(los[:, s], dlos[k] + sfl[k] * z[:, s], sfn[k] * z[:, s])  # over the NLOS median
            total += intf[k] / den * 10 ** (db / 10)
        np.testing.assert_allclose(mean[px], total.mean(), rtol=0.01)
        np.testing.assert_allclose(var[px], total.var(), rtol=0.05)
        assert level[px] > 0


def test_weak_moments_mean_is_exact_and_kept_links_excluded():
    """The mean is the mixture's closed form summed over the weak links of sites with no stored link."""
    ii = np.array([0, 0, 0])
    sec = np.array([0, 1, 2])
    site = np.array([0, 1, 2])
    kept = np.array([False, True, False])
    intf = np.array([1e-12, 5e-9, 2e-12])
    p, d, sl, sn = np.array([0.2] * 3), np.array([10.0] * 3), np.array([4.0] * 3), np.array([6.0] * 3)
    mean, var, _, fold = weak_moments(ii, np.arange(3), kept, intf, np.full(3, -110.0), p, d, sl, sn, sec, site, 1)
    b = np.log(10) / 10
    fac = (0.2 * np.exp(b * 10 + (b * 4) ** 2 / 2) + 0.8 * np.exp((b * 6) ** 2 / 2)) / (0.2 * 10 + 0.8)
    np.testing.assert_allclose(mean[0], 3e-12 * fac, rtol=1e-12)
    assert var[0] > 0 and not fold.any()


def _evaluate(area, sites, margin_db, constant=False):
    cfg = EngineConfig(cutoff_margin_db=margin_db, interference_beams="served", ul_interference="neighbours")
    links = compute_links(area, sites, cfg)
    if constant:  # the residual as a constant at its mean (no variance, no conditioning): the former model
        links = links.take(slice(None), residual_var_mw2=None)
    res = aggregate(area, links, cfg)
    return links, res.kpis()["territory_share"], np.asarray(res.probabilities["p_dl_outdoor"], float)


def test_fresh_evaluation_does_not_depend_on_the_relevance_floor():
    """Konaev 100 m, hex layout, served-area beams: a fresh evaluation keeping every link within 30 dB of the
    reference level (the rest in the residual) agrees with one keeping every link within 60 dB: territory within
    0.002, P(DL) per pixel p99 within 0.03 (measured 0.9971 vs 0.9975, p99 0.012, max 0.070). The residual as a
    constant at its mean misses both (measured territory 0.9780, p99 0.137, max 0.410): the test fails with it.
    Where the residual's spread matters most (6 pixels), the kernel's P(DL) is within 0.03 of the Monte-Carlo that
    draws the residual as modelled (measured: kernel 0.016-0.025 below it, the log-normal fit of the interference
    sum with a heavy residual term; at 60 dB the kernel is within 0.006 of the Monte-Carlo of every link).
    """
    from qamtu.engine.montecarlo import pixel_monte_carlo
    from qamtu.geo import make_study_area
    from qamtu.geo.layout import hex_layout

    area = make_study_area("konaev", 100)
    sites = hex_layout(area)
    _, t60, p60 = _evaluate(area, sites, 60)
    links, t30, p30 = _evaluate(area, sites, 30)
    ok = np.isfinite(p60) & np.isfinite(p30)
    assert abs(t30 - t60) <= 0.002, (t30, t60)
    assert np.percentile(np.abs(p30[ok] - p60[ok]), 99) <= 0.03
    _, tc, pc = _evaluate(area, sites, 30, constant=True)
    assert abs(tc - t60) > 0.005 and np.percentile(np.abs(pc[ok] - p60[ok]), 99) > 0.03, (tc, t60)
    env = np.asarray(area.env_class).ravel()
    worst = np.argsort(np.where(ok, p30 - pc, -1.0).ravel())[-6:]  # where the residual's spread matters most
    for px in worst:
        mc = pixel_monte_carlo(links, int(px), int(env[px]), n_users=20000, seed=int(px))
        # measured up to 0.025 (kernel below: the log-normal fit of the interference sum with a heavy residual)
        assert abs(mc["p_dl"] - p30.ravel()[px]) <= 0.03, (px, mc["p_dl"], p30.ravel()[px])
