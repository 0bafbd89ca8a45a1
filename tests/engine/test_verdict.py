"""The gates' fast path (``full=False``): P(DL) computed only as far as its comparison with the level needs.

:func:`qamtu.engine.distribution._sinr_verdict` stops the sum of :func:`_sinr_exceed` once the comparison with
every level of ``[lo, hi]`` is decided. Oracle: the full sum. The verdict must be EXACTLY the full sum's, also for
levels placed on the full sum itself and one ulp on either side (where a loose bound would flip it), and
``aggregate(full=False)`` must give the same ``covered`` and territory as ``aggregate(full=True)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine_testdata import make_area, make_sites
from qamtu.engine import EngineConfig, IncrementalAggregator, aggregate, compute_links
from qamtu.engine import distribution as dist
from qamtu.errors import InvalidInputError


def _random_pairs(rng, npair, ns):
    pj = rng.integers(0, ns, npair).astype(np.int64)
    px = np.exp(dist.BETA * rng.uniform(-120.0, -60.0, npair))
    pw = rng.dirichlet(np.ones(npair)) * rng.uniform(0.9, 1.0)
    pmu = np.log(np.exp(dist.BETA * rng.uniform(-130.0, -80.0, npair)))
    psd = rng.uniform(0.0, 1.5, npair)
    pmu[rng.random(npair) < 0.05] = -1e300  # no interference at this level
    t_lin = np.exp(dist.BETA * rng.uniform(0.0, 12.0, ns))
    c = rng.uniform(0.0, 0.5, ns)
    # the cell slopes of the kernel's sums (dist._pairs): the log mean's change across a cell (below the serving
    # level's, BETA x 2 dB: the others are conditioned below it), the weights' tilt
    c_mu = rng.uniform(0.0, 0.4, npair)
    c_w = rng.uniform(-dist.TILT_MAX, dist.TILT_MAX, npair)
    return pj, px, pw, pmu, psd, t_lin, c, c_mu, c_w


@pytest.mark.parametrize("seed", range(12))
def test_verdict_decides_every_level_as_the_full_sum(seed):
    rng = np.random.default_rng(seed)
    npair, ns = int(rng.integers(5, 120)), int(rng.integers(1, 6))
    pj, px, pw, pmu, psd, t_lin, c, c_mu, c_w = _random_pairs(rng, npair, ns)
    if seed % 3 == 0:  # held at the node
        c_mu[:], c_w[:] = 0.0, 0.0
    noise, resid, step = 10.0 ** (-12.0 + rng.uniform(-1, 1)), 10.0 ** (-12.5 + rng.uniform(-1, 1)), 2.0
    for g_db in (-5.0, 0.0, 5.0, 10.0, 20.0):
        g = 10.0 ** (g_db / 10.0)
        args = (g, npair, pj, px, pw, pmu, psd, t_lin, c, 1.0, resid, noise, step, dist.Y_SUB, c_mu, c_w)
        exact = dist._sinr_exceed(*args)
        levels = [0.0, 0.5, 0.9 - 1e-9, exact, np.nextafter(exact, 2.0), np.nextafter(exact, -1.0), 1.0]
        levels += list(rng.uniform(0.0, 1.0, 5))
        for lo in levels:
            for hi in (lo, min(1.0, lo + 0.1)):
                got = dist._sinr_verdict(*args, lo, hi)
                for level in {lo, hi, 0.5 * (lo + hi)}:
                    assert (got >= level) == (exact >= level), (g_db, lo, hi, level, got, exact)


@pytest.mark.parametrize("seed", range(6))
def test_quantile_search_sum_is_the_kernel_sum_with_every_point(seed):
    """The quantile search's sum (``_sinr_sum_points``: every point of every cell, a loop that vectorises, with
    its derivative) is the kernel's P(DL) sum (``_sinr_exceed``) within the flat-cell bound (SUB_FLAT / 2 of the
    weight), equal to it where that rule cannot act (one point per cell) but for the saturated cells (1 - Phi(Z_SAT)
    of the weight), and its derivative per dB is the central difference of the sum."""
    rng = np.random.default_rng(100 + seed)
    npair, ns = int(rng.integers(5, 200)), int(rng.integers(1, 6))
    pj, px, pw, pmu, psd, t_lin, c, c_mu, c_w = _random_pairs(rng, npair, ns)
    psd = rng.uniform(0.3, 1.5, npair)
    psd[rng.random(npair) < 0.05] = 0.0  # a step
    pisd = np.where(psd > 0.0, 1.0 / np.maximum(psd, 1e-300), -1.0)
    noise, resid, step = 10.0 ** (-12.0 + rng.uniform(-1, 1)), 10.0 ** (-12.5 + rng.uniform(-1, 1)), 2.0
    scr = np.empty((2, npair))
    fac4, fac1 = np.empty(dist.Y_SUB), np.empty(1)
    dist._sub_factors(step, dist.Y_SUB, fac4)
    dist._sub_factors(step, 1, fac1)
    zeros = np.zeros(npair)
    mid = 0
    for g_db in (-5.0, 0.0, 5.0, 10.0, 20.0):
        g = 10.0 ** (g_db / 10.0)
        want = dist._sinr_exceed(g, npair, pj, px, pw, pmu, psd, t_lin, c, 1.0, resid, noise, step, dist.Y_SUB, c_mu,
                                 c_w)
        got, fall = dist._sinr_sum_points(g, npair, pj, px, pw, pmu, pisd, t_lin, c, resid, noise, fac4, dist.Y_SUB,
                                          scr, c_mu, c_w)
        assert abs(got - want) <= 0.5 * dist.SUB_FLAT * pw.sum() + 1e-12
        one = dist._sinr_exceed(g, npair, pj, px, pw, pmu, psd, t_lin, c, 1.0, resid, noise, step, 1, zeros, zeros)
        # (the kernel's sum takes a cell whose lowest point is >= Phi(Z_SAT) as 1)
        sat = 0.5 * math.erfc(dist.Z_SAT / math.sqrt(2.0))
        assert abs(dist._sinr_sum_points(g, npair, pj, px, pw, pmu, pisd, t_lin, c, resid, noise, fac1, 1, scr)[0]
                   - one) <= sat * pw.sum() + 1e-9
        h = 1e-3  # dB
        up = dist._sinr_sum_points(g * 10.0 ** (h / 10.0), npair, pj, px, pw, pmu, pisd, t_lin, c, resid, noise, fac4,
                                   dist.Y_SUB, scr, c_mu, c_w)[0]
        down = dist._sinr_sum_points(g * 10.0 ** (-h / 10.0), npair, pj, px, pw, pmu, pisd, t_lin, c, resid, noise,
                                     fac4, dist.Y_SUB, scr, c_mu, c_w)[0]
        assert fall >= 0.0
        assert abs((down - up) / (2.0 * h) - fall) <= 0.02 * fall + 1e-6, (g_db, fall, (down - up) / (2.0 * h))
        mid += 0.05 < got < 0.95
    assert mid > 0  # not every threshold saturated


def _node_sums_setup(rng, npair, pmu, psd, c_mu):
    """The rest of _sinr_sum's arguments for random pairs: inverse sd, residual, cell step, 9 noises, the cell's
    level factors, the saturation rooms."""
    pisd = np.where(psd > 0.0, 1.0 / np.maximum(psd, 1e-300), -1.0)
    resid, step = 10.0 ** (-12.5 + rng.uniform(-1, 1)), 2.0
    noises = 10.0 ** (-12.0 + rng.uniform(-1.0, 2.5, 9))
    fac = np.empty(dist.Y_SUB)
    dist._sub_factors(step, dist.Y_SUB, fac)
    r_sat = np.empty(npair)
    dist._saturation(npair, pmu, pisd, c_mu, dist.Y_SUB, r_sat)
    return pisd, resid, step, noises, fac, r_sat


def _node_sums(g, k0, k1, pj, px, pw, pmu, pisd, t_lin, c, resid, noises, fac, c_mu, c_w, r_sat):
    """``_sinr_sum`` of the pairs ``k0:k1`` for every noise of ``noises`` (one pass)."""
    out = np.empty(noises.size)
    sl = slice(k0, k1)
    dist._sinr_sum(g, k1 - k0, pj[sl], px[sl], pw[sl], pmu[sl], pisd[sl], t_lin, c, 1.0, resid, noises, fac,
                   dist.Y_SUB, False, 0.0, 0.0, c_mu[sl], c_w[sl], r_sat[sl], np.empty((3 + noises.size, dist.Y_SUB)),
                   out)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_node_sums_in_one_pass_are_the_single_node_sums(seed):
    """The kernel sums every quadrature node (outdoor and the indoor classes' noises) in one pass over the pairs
    (``_sinr_sum`` with an array of noises): each node's sum must be EXACTLY its own single-noise sum (same terms,
    same order), so the outdoor node is the verdict's."""
    rng = np.random.default_rng(200 + seed)
    npair, ns = int(rng.integers(5, 150)), int(rng.integers(1, 6))
    pj, px, pw, pmu, psd, t_lin, c, c_mu, c_w = _random_pairs(rng, npair, ns)
    pisd, resid, step, noises, fac, r_sat = _node_sums_setup(rng, npair, pmu, psd, c_mu)
    for g_db in (-5.0, 0.0, 5.0, 10.0):
        g = 10.0 ** (g_db / 10.0)
        sums = _node_sums(g, 0, npair, pj, px, pw, pmu, pisd, t_lin, c, resid, noises, fac, c_mu, c_w, r_sat)
        for q, noise in enumerate(noises):
            assert sums[q] == dist._sinr_exceed(g, npair, pj, px, pw, pmu, psd, t_lin, c, 1.0, resid, noise, step,
                                                dist.Y_SUB, c_mu, c_w), (g_db, q)


@pytest.mark.parametrize("seed", range(4))
def test_node_sums_with_split_nodes_are_the_sums_of_their_terms(seed):
    """A split node's bins are consecutive pairs of one (site, level) (``_sinr_sum`` keeps the logs of their
    rooms across them): every node's sum must be EXACTLY its terms (each pair summed alone) added in order."""
    rng = np.random.default_rng(300 + seed)
    nnode, ns = int(rng.integers(5, 60)), int(rng.integers(1, 6))
    bins = rng.integers(1, 5, nnode)  # 1 to 4 bins per node: the node's site and level, the bins' own log-normals
    npair = int(bins.sum())
    pj, px, pw, pmu, psd, t_lin, c, c_mu, c_w = _random_pairs(rng, npair, ns)
    first = np.repeat(np.cumsum(bins) - bins, bins)  # each pair's node's first pair
    pj, px = pj[first], px[first]
    pisd, resid, step, noises, fac, r_sat = _node_sums_setup(rng, npair, pmu, psd, c_mu)
    for g_db in (-5.0, 0.0, 5.0, 10.0):
        g = 10.0 ** (g_db / 10.0)
        args = (pj, px, pw, pmu, pisd, t_lin, c, resid, noises, fac, c_mu, c_w, r_sat)
        sums = _node_sums(g, 0, npair, *args)
        terms = np.zeros(noises.size)
        for k in range(npair):
            terms += _node_sums(g, k, k + 1, *args)
        assert np.array_equal(sums, terms), g_db


@pytest.mark.parametrize("n", [1, 2, 3, 10, 64, 97, 3822])
def test_chunk_order_is_a_permutation(n):
    """The parallel loop's chunk order (``ci * stride mod n``) visits every chunk once."""
    s = dist._chunk_stride(n)
    assert sorted((np.arange(n) * s) % n) == list(range(n))


@pytest.mark.parametrize("margin_db", [None, 60.0])
def test_aggregate_without_maps_gives_the_same_coverage(margin_db):
    area = make_area(rows=16, cols=20, resolution_m=100.0, seed=5)
    sites = make_sites([(400.0, 500.0), (1500.0, 900.0), (1000.0, 250.0), (1900.0, 300.0), (300.0, 1300.0)])
    cfg = EngineConfig() if margin_db is None else EngineConfig().replace(cutoff_margin_db=margin_db)
    links = compute_links(area, sites, cfg)
    n = len(links.sectors)
    rng = np.random.default_rng(7)
    mid = 0
    for active in [np.ones(n, bool)] + [rng.random(n) < 0.6 for _ in range(4)]:
        fast = aggregate(area, links, cfg, active=active, full=False)
        full = aggregate(area, links, cfg, active=active, full=True)
        np.testing.assert_array_equal(fast.covered, full.covered)
        np.testing.assert_array_equal(fast.best_server, full.best_server)
        level = cfg.coverage_level - 1e-9
        p_fast, p_full = fast.probabilities["p_dl_outdoor"], full.probabilities["p_dl_outdoor"]
        inside = area.mask & (full.best_server >= 0) & (full.probabilities["p_rsrp_outdoor"] >= level)
        np.testing.assert_array_equal(p_fast[inside] >= level, p_full[inside] >= level)
        mid += int(((p_full[inside] > 0.05) & (p_full[inside] < 0.999)).sum())
        kf, kk = fast.kpis(), full.kpis()
        assert (kf["territory_share"], kf["population_share"]) == (kk["territory_share"], kk["population_share"])
        out_f, out_k = kf["user_classes"]["outdoor"], kk["user_classes"]["outdoor"]
        # (dl_territory_share differs by design: without maps P(DL) is not computed where P(SS-RSRP) fails)
        for key in ("territory_share", "population_share", "rsrp_territory_share"):
            assert out_f[key] == out_k[key], key
    assert mid > 0  # some pixels are not trivially decided


def _kpis_equal(x, y):
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_kpis_equal(x[k], y[k]) for k in x)
    if isinstance(x, float) and math.isnan(x):
        return isinstance(y, float) and math.isnan(y)
    return x == y


def test_one_evaluator_serves_several_coverage_levels_as_fresh_aggregates():
    """The sweep's coverage-level steps share the gate's evaluator (levels 0.85..0.95, memo of kernel passes):
    every answer equals a fresh ``aggregate(full=False)`` at that level (covered, P(SS-RSRP), every KPI)."""
    area = make_area(rows=16, cols=20, resolution_m=100.0, seed=5)
    sites = make_sites([(400.0, 500.0), (1500.0, 900.0), (1000.0, 250.0), (1900.0, 300.0), (300.0, 1300.0)])
    cfg = EngineConfig().replace(cutoff_margin_db=60.0)
    links = compute_links(area, sites, cfg)
    n = len(links.sectors)
    rng = np.random.default_rng(11)
    subsets = [rng.random(n) < 0.7 for _ in range(3)] + [np.ones(n, bool)]
    shared = IncrementalAggregator(area, links, cfg, full=False, levels=(0.85, 0.95), memo_bytes=2**20)
    computed = 0
    for active in subsets + subsets[::-1]:  # the second round is answered from the memo
        for level in (0.85, 0.9, 0.95):
            other = cfg.replace(coverage_level=level)
            got = shared.evaluate(active, other)
            computed += shared.recomputed
            want = aggregate(area, links, other, active=active, full=False)
            np.testing.assert_array_equal(got.covered, want.covered)
            np.testing.assert_array_equal(got.probabilities["p_rsrp_outdoor"], want.probabilities["p_rsrp_outdoor"])
            assert _kpis_equal(got.kpis(), want.kpis())
    assert 0 < computed <= len(subsets) * int(area.mask.sum())  # one kernel pass per subset at most
    with pytest.raises(InvalidInputError):
        shared.evaluate(subsets[0], cfg.replace(coverage_level=0.8))
    with pytest.raises(InvalidInputError):
        shared.evaluate(subsets[0], cfg.replace(cell_load=0.7))


@pytest.mark.parametrize("users", ["all", "indoor"])
def test_without_maps_other_classes_keep_their_exact_probabilities(users):
    """``covered`` of the indoor or all-users class without maps: every class's probabilities are computed
    exactly (no verdict shortcut, no quantile rows), so they equal those of the full evaluation."""
    area = make_area(rows=16, cols=20, resolution_m=100.0, seed=5)
    sites = make_sites([(400.0, 500.0), (1500.0, 900.0), (1000.0, 250.0), (1900.0, 300.0), (300.0, 1300.0)])
    cfg = EngineConfig().replace(coverage_users=users)
    links = compute_links(area, sites, cfg)
    fast = aggregate(area, links, cfg, full=False)
    full = aggregate(area, links, cfg, full=True)
    np.testing.assert_array_equal(fast.covered, full.covered)
    for key in full.probabilities:
        np.testing.assert_array_equal(fast.probabilities[key], full.probabilities[key], err_msg=key)
    assert np.isnan(fast.sinr_db[area.mask]).all() and np.isfinite(full.sinr_db[area.mask]).any()
    assert fast.kpis()["population_share"] == full.kpis()["population_share"]
