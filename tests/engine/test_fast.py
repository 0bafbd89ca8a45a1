"""The tabulated Numba path against the exact per-link path (qamtu.radio called per link).

Stated accuracy (module docstring of qamtu.engine._fast): path terms < 0.01 dB; gains on main lobes < 0.02 dB;
larger in dB near pattern nulls, where the link is weak. Checked on random links around a mixed layout.
"""

from __future__ import annotations

import numpy as np

from engine_testdata import make_sites
from qamtu.engine import EngineConfig
from qamtu.engine._fast import FastLinks
from qamtu.engine.links import _prime_cache, evaluate_link_batch, prepare_sectors


def test_fast_path_matches_exact_path():
    sites = make_sites([(0.0, 0.0), (900.0, 300.0)], tilt=(3.0, 6.0))
    sites.loc[3:, "height_m"] = 32.0
    sites.loc[3:, "electrical_tilt_deg"] = 4.0
    sec = prepare_sectors(sites)
    cfg = EngineConfig()
    cache: dict = {}
    _prime_cache(cache, sec, cfg)
    fast = FastLinks(sec, cfg, cache, 6000.0)
    rng = np.random.default_rng(5)
    n = 40000
    r = 10 ** rng.uniform(1.0, np.log10(5000.0), n)
    a = rng.uniform(0, 2 * np.pi, n)
    dx, dy = r * np.sin(a), r * np.cos(a)
    s = rng.integers(0, len(sec), n)
    env = rng.integers(0, 4, n)
    exact = evaluate_link_batch(dx, dy, s, env, sec, cfg, floor_dbm=-120.0)
    rsrp, signal, intf, pg, pcov, keep = fast(dx, dy, s, env, -120.0)[:6]
    np.testing.assert_allclose(pg, exact.path_gain_db, atol=0.01)  # path terms
    err = np.abs(rsrp - exact.rsrp_dbm)
    strong = exact.rsrp_dbm > np.percentile(exact.rsrp_dbm, 50)
    assert np.median(err) < 0.005 and np.percentile(err, 99) < 0.05 and err[strong].max() < 0.3
    # traffic beam: exact where it serves (the strong half); beyond the scan range its side lobes have nulls that
    # a 0.5 deg azimuth grid smooths (weak links, where only their linear power matters)
    strong_tr = exact.signal_dbm > np.percentile(exact.signal_dbm, 50)
    err_tr = np.abs(signal - exact.signal_dbm)
    assert np.percentile(err_tr[strong_tr], 99) < 0.05 and err_tr[strong_tr].max() < 0.5
    err_i = np.abs(10 * np.log10(intf / exact.interference_mw))
    assert np.percentile(err_i, 99) < 0.05
    # coverage probability: a link in a side-lobe null of the SSB pattern can be off by ~0.2 (dB error x slope);
    # 99.9 % of links are within 0.01, and pixel maps (best link) within 0.02 (test_engine_core)
    err_p = np.abs(pcov - exact.coverage_probability)
    assert np.percentile(err_p, 99.9) < 0.01 and err_p.max() < 0.25
    assert np.mean(keep == exact.keep) > 0.999


def test_kernel_ssb_offsets_equal_the_antenna_models():
    """The same-SSB-index offset the kernel computes for the links it keeps (from the antenna's table, on the
    direction's components) equals :func:`qamtu.engine.links.ssb_offsets` (NumPy, through the local angles)."""
    import dataclasses

    from qamtu.engine.links import compute_links, ssb_offsets
    from qamtu.geo.area import make_study_area
    from qamtu.geo.catalogue import get_city
    from qamtu.plan.candidates import lattice_candidates

    area = make_study_area(get_city("konaev"), resolution_m=500.0)
    area = dataclasses.replace(area, terrain=None, clutter=None)
    sites = lattice_candidates(area, 1500.0)
    links = compute_links(area, sites, EngineConfig())
    x, y = area.pixel_centres()
    sec = links.sector.astype(np.int64)
    dx = np.asarray(x, float).ravel()[links.pixel] - links.sectors.x_m[sec]
    dy = np.asarray(y, float).ravel()[links.pixel] - links.sectors.y_m[sec]
    want = ssb_offsets(dx, dy, sec, links.sectors, EngineConfig())
    assert links.n_links > 1000 and np.mean(want < -1.0) > 0.5  # not vacuous: offsets of several dB
    np.testing.assert_allclose(links.ssb_offset_db, want, rtol=0, atol=1e-5)
    envelope = compute_links(area, sites, EngineConfig(ssb_interference="envelope"))
    assert not envelope.ssb_offset_db.any()


def test_tile_loop_helpers_equal_numpy():
    """tile_pairs = row-major nonzero of the distance matrix (bit for bit); take32 = fancy index + astype."""
    from qamtu.engine._fast import take32, tile_pairs

    rng = np.random.default_rng(3)
    px, py = rng.uniform(0, 1000, 300), rng.uniform(0, 1000, 300)
    pen = rng.integers(0, 4, 300)
    s_x, s_y = rng.uniform(-2000, 3000, 80), rng.uniform(-2000, 3000, 80)
    cand = np.sort(rng.choice(80, 50, replace=False)).astype(np.int64)
    radius2 = np.array([900.0, 1500.0, 2500.0, 4000.0]) ** 2
    ii, jj, dx, dy, d2, sec, env = tile_pairs(px, py, pen, cand, s_x, s_y, radius2)
    ex = px[:, None] - s_x[cand][None, :]
    ey = py[:, None] - s_y[cand][None, :]
    e2 = ex * ex + ey * ey
    wi, wj = np.nonzero(e2 <= radius2[pen][:, None])
    assert 0 < ii.size < e2.size
    for got, want in ((ii, wi), (jj, wj), (dx, ex[wi, wj]), (dy, ey[wi, wj]), (d2, e2[wi, wj]), (sec, cand[wj]),
                      (env, pen[wi])):
        assert got.tobytes() == np.asarray(want).tobytes()
    intf = 10.0 ** rng.uniform(-14, -8, ii.size)
    own = np.flatnonzero(rng.random(ii.size) < 0.7)
    kept = rng.random(own.size) < 0.3
    idx = own[kept]
    assert take32(intf, idx).tobytes() == intf[idx].astype(np.float32).tobytes()
