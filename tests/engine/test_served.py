"""Served areas (qamtu.engine.served): traffic beams aimed at the interferer's own users, and the uplink
interference of the neighbouring cells' UEs, against direct evaluation, hand computations and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine_testdata import make_area, make_sites
from qamtu.engine import EngineConfig, aggregate, compute_links
from qamtu.engine.served import _ul_pair_expectation
from qamtu.radio.antenna import get_antenna

#: the served-area models (the defaults, see EngineConfig.interference_beams; spelt out: the tests are about them)
CFG = EngineConfig(interference_beams="served", ul_interference="neighbours")


def test_the_served_area_models_are_the_defaults():
    d = EngineConfig()
    assert (d.interference_beams, d.ul_interference) == ("served", "neighbours")


def test_served_beam_mix_equals_the_direct_average_over_served_users():
    """The histogram/convolution mix equals the people-weighted mean, evaluated beam by beam, of the gain of a
    traffic beam steered at each served user toward the victim direction (within 0.15 dB), and a beam steered
    at a user gives that user the traffic-beam gain."""
    m = get_antenna("nr-64t64r")
    rng = np.random.default_rng(1)
    n = 2000
    th_s = 90 + np.degrees(np.arctan2(23.5, rng.uniform(35, 400, n)))
    ph_s = rng.uniform(-75, 75, n)
    w = rng.uniform(0, 1, n)
    mix = m.served_beam_mix(th_s, ph_s, w)
    tv = 90 + np.degrees(np.arctan2(23.5, rng.uniform(30, 2000, 300)))
    pv = rng.uniform(-180, 180, 300)
    g = 10 ** (m.steered_gain_dbi(tv[:, None], pv[:, None], th_s[None, :], ph_s[None, :]) / 10)
    direct = 10 * np.log10((g * (w / w.sum())[None, :]).sum(axis=1))
    assert np.abs(m.aimed_interference_gain_dbi(tv, pv, mix) - direct).max() < 0.15  # measured 0.06
    assert np.abs(m.steered_gain_dbi(th_s, ph_s, th_s, ph_s) - m.traffic_gain_dbi(th_s, ph_s)).max() < 0.01
    # users spread over the whole scan give about the antenna model's uniform mean (its definition)
    th_u = np.repeat(np.linspace(81.0, 111.0, 31), 49)
    ph_u = np.tile(np.linspace(-60.0, 60.0, 49), 31)
    uni = m.served_beam_mix(th_u, ph_u, np.ones(th_u.size))
    diff = m.aimed_interference_gain_dbi(tv, pv, uni) - m.interference_gain_dbi(tv, pv)
    # (the model's mean steers to sin(phi) at the horizon, the mix to sin(theta) sin(phi): ~1 dB far off boresight)
    assert abs(np.median(diff)) < 0.2 and np.abs(diff).max() < 1.5  # measured 0.10 / 1.13 dB


def test_engine_links_carry_the_aimed_gain_and_passive_antennas_are_unchanged():
    """Per link, interference_mw("served") / interference_mw("uniform") is the ratio of the antenna's aimed gain
    (mix of the sector's served points) to its uniform mean; for a passive antenna the two runs are identical."""
    area = make_area(rows=16, cols=20, resolution_m=60.0, seed=3)
    sites = make_sites([(300.0, 300.0), (900.0, 600.0), (500.0, 800.0)], tx_power_dbm=49.0)
    a = compute_links(area, sites, CFG)
    b = compute_links(area, sites, CFG.replace(interference_beams="uniform"))
    assert np.array_equal(a.pixel, b.pixel) and np.array_equal(a.sector, b.sector)
    assert np.array_equal(a.rsrp_dbm, b.rsrp_dbm)
    ratio = a.interference_mw.astype(float) / b.interference_mw.astype(float)
    assert np.any(np.abs(10 * np.log10(ratio)) > 0.5)
    # the ratio for one sector's links from the antenna's own functions
    from qamtu.engine.served import _local_angles

    served = a.served
    s = 0
    pts = np.flatnonzero(served.point_sector == s)
    dxs = served.point_xy[pts, 0] - served.sectors.x_m[s]
    dys = served.point_xy[pts, 1] - served.sectors.y_m[s]
    th_s, ph_s = _local_angles(dxs, dys, np.full(pts.size, s), served.sectors, CFG)
    model = get_antenna("nr-64t64r", tilt_deg=float(served.sectors.electrical_tilt_deg[s]))
    mix = model.served_beam_mix(th_s, ph_s, served.point_weight[pts])
    k = np.flatnonzero(a.sector == s)
    x, y = area.pixel_centres()
    px = np.asarray(x, float).ravel()[a.pixel[k]]
    py = np.asarray(y, float).ravel()[a.pixel[k]]
    th, ph = _local_angles(px - served.sectors.x_m[s], py - served.sectors.y_m[s], np.full(k.size, s),
                           served.sectors, CFG)
    want = model.aimed_interference_gain_dbi(th, ph, mix) - model.interference_gain_dbi(th, ph)
    assert np.abs(10 * np.log10(ratio[k]) - want).max() < 0.05  # float32 storage and the fast path's tables
    passive = sites.assign(antenna="tr36814-sector")
    c = compute_links(area, passive, CFG)
    d = compute_links(area, passive, CFG.replace(interference_beams="uniform"))
    assert np.array_equal(c.interference_mw, d.interference_mw)


def _pair(ml_k, mn_k, p_k, sk, pref_k, ml_v, mn_v, p_v, sv, off, cosite=False, delta=0.0, pmax=-12.15,
          p0=-97.78, alpha=0.8):
    a = [np.array([v], dtype=float) for v in (ml_k, mn_k, p_k, sk, sk, pref_k, ml_v, mn_v, p_v, sv, sv, off)]
    return float(_ul_pair_expectation(*a, np.array([cosite]), np.array([delta], float), pmax, p0, alpha)[0])


def test_ul_pair_expectation_hand_computation():
    """No shadowing (sigma 1e-4 dB), NLOS only: the UE of cell k at SS-RSRP -80 dBm from k (SSB EPRE 17.85 dBm per
    RE, PL 97.85 dB) sends P0_RE + 0.8 PL = -97.78 + 78.28 = -19.50 dBm per RE (below P_CMAX per RE -12.15);
    the victim hears it 95 dB below its own SSB EPRE... by hand: P_UE + R_v + off = -19.50 - 95 + (5 - 17.85) =
    -127.35 dBm. Far from k (R_k = -110 dBm) the power is capped: -12.15 - 112 - 12.85 = -137.0 dBm. A victim
    stronger than k does not count (that UE camps on the victim): 0. Co-sited: R_v = R_k + delta."""
    tiny = 1e-4
    got = _pair(-80.0, -80.0, 0.0, tiny, 17.85, -95.0, -95.0, 0.0, tiny, 5.0 - 17.85)
    assert 10 * math.log10(got) == pytest.approx(-97.78 + 0.8 * 97.85 - 95.0 + 5.0 - 17.85, abs=0.01)
    got = _pair(-110.0, -110.0, 0.0, tiny, 17.85, -112.0, -112.0, 0.0, tiny, -12.85)
    assert 10 * math.log10(got) == pytest.approx(-12.15 - 112.0 - 12.85, abs=0.01)
    assert _pair(-100.0, -100.0, 0.0, tiny, 17.85, -90.0, -90.0, 0.0, tiny, -12.85) == 0.0
    got = _pair(-80.0, -80.0, 0.0, tiny, 17.85, 0.0, 0.0, 0.0, tiny, -12.85, cosite=True, delta=-7.0)
    assert 10 * math.log10(got) == pytest.approx(-19.50 - 87.0 - 12.85, abs=0.02)


@pytest.mark.parametrize("case", [
    (-95.0, -112.0, 0.3, 6.0, -100.0, -118.0, 0.2, 6.0),  # mixture both sides, victim ~5 dB weaker
    (-118.0, -126.0, 0.0, 6.0, -121.0, -130.0, 0.1, 6.0),  # cell edge: the power cap binds often
    (-90.0, -90.0, 0.0, 4.0, -92.0, -92.0, 0.0, 8.0),  # victim almost as strong: strong conditioning
])
def test_ul_pair_expectation_matches_brute_force(case):
    """E[P_UE(R_k) 10^((R_v + off)/10) | R_v < R_k] of the kernel (grid + closed-form truncated moment) against a
    plain Monte-Carlo of the LOS/NLOS mixtures with rejection (10^6 draws: sd < 0.5 %), within 2 %."""
    ml_k, mn_k, p_k, s_k, ml_v, mn_v, p_v, s_v = case
    got = _pair(ml_k, mn_k, p_k, s_k, 17.85, ml_v, mn_v, p_v, s_v, -12.85)
    rng = np.random.default_rng(7)
    n = 1_000_000
    xk = np.where(rng.random(n) < p_k, ml_k, mn_k) + s_k * rng.standard_normal(n)
    xv = np.where(rng.random(n) < p_v, ml_v, mn_v) + s_v * rng.standard_normal(n)
    ok = xv < xk
    p_ue = np.minimum(-12.15, -97.78 + 0.8 * (17.85 - xk[ok]))
    ref = float(np.mean(10 ** ((p_ue + xv[ok] - 12.85) / 10)))
    assert got == pytest.approx(ref, rel=0.02)


@pytest.mark.parametrize("seed", [2, 5])
def test_ul_interference_matches_brute_force_monte_carlo(seed):
    """Per-sector UL interference (the expectation summed over the other cells' served points) within 0.2 dB of
    the brute-force Monte-Carlo of the same model (UE positions drawn over each cell's served points, LOS and
    shadowing drawn, redrawn until the UE is its cell's)."""
    from qamtu.engine.montecarlo import ul_interference_monte_carlo

    rng = np.random.default_rng(seed)
    area = make_area(rows=24, cols=30, resolution_m=60.0, seed=seed)
    xy = [(float(rng.uniform(0, 1800)), float(rng.uniform(0, 1440))) for _ in range(int(rng.integers(3, 7)))]
    sites = make_sites(xy, tx_power_dbm=float(rng.uniform(46, 53)))
    sites["azimuth_deg"] = (sites["azimuth_deg"] + rng.uniform(0, 120)) % 360
    links = compute_links(area, sites, CFG)
    an = links.served.ul_interference_mw(CFG)
    noise = 10 ** ((-174 + 10 * np.log10(30e3) + CFG.gnb_noise_figure_db) / 10)
    for v in np.argsort(an)[::-1][:4]:  # the four most interfered sectors
        mc = ul_interference_monte_carlo(links, int(v), n_draws=20000, seed=int(v))
        assert 10 * np.log10(an[v] / mc) == pytest.approx(0.0, abs=0.2)  # measured <= 0.08 dB
        assert an[v] > 0.01 * noise  # a case that matters


def test_two_cell_uplink_interference_by_hand():
    """Two one-sector cells facing each other, two pixels: each pixel is served by its own cell, so the UL
    interference at cell B is cell A's UE at pixel 0 (weight 1), integrated here with scipy over the two LOS/NLOS
    mixtures from the engine's own link values (an independent quadrature), and the UL noise-plus-interference the
    aggregation uses is 10 log10(N + load I)."""
    from scipy import integrate
    from scipy.stats import norm

    from qamtu.engine.aggregate import ul_noise_interference_dbm
    from qamtu.engine.links import noise_per_re_dbm, power_per_re_dbm

    area = make_area(rows=1, cols=2, resolution_m=300.0, disc=False)
    x, y = area.pixel_centres()
    x0, x1 = float(np.asarray(x).ravel()[0]), float(np.asarray(x).ravel()[1])
    yc = float(np.asarray(y).ravel()[0])
    sites = make_sites([(x0 - 150.0, yc), (x1 + 150.0, yc)], tx_power_dbm=49.0).iloc[[0, 4]].reset_index(drop=True)
    sites["azimuth_deg"] = [90.0, 270.0]  # A looks east at both pixels, B west
    sites["antenna"] = "tr38901-element"
    sites["electrical_tilt_deg"] = 0.0
    cfg = CFG.replace(cutoff_margin_db=60.0)
    links = compute_links(area, sites, cfg)
    served = links.served
    assert list(served.point_sector) == [0, 1]
    k0 = np.flatnonzero(links.pixel == 0)
    rec = {int(links.sector[k]): k for k in k0}
    p_re = np.asarray(power_per_re_dbm(sites["tx_power_dbm"].to_numpy(float), cfg))

    def mixture(k):
        r, p, d = float(links.rsrp_dbm[k]), float(links.p_los[k]), float(links.los_gain_db[k])
        m_n = r - 10 * np.log10(p * 10 ** (d / 10) + 1 - p)
        return [(p, m_n + d, float(links.sf_los_db[k])), (1 - p, m_n, float(links.sf_nlos_db[k]))]

    a, b = mixture(rec[0]), mixture(rec[1])
    off = 10 * np.log10(float(links.interference_mw[rec[1]])) - float(links.rsrp_dbm[rec[1]]) - p_re[1]
    pmax = 23.0 - 10 * np.log10(12 * 273)
    p0 = -90.0 + 10 * np.log10(2) - 10 * np.log10(12)

    def inner(xk):  # E[10^(R_v/10); R_v < xk] and P(R_v < xk)
        t = sum(w * integrate.quad(lambda z: norm.pdf(z, m, s) * 10 ** (z / 10), m - 10 * s, min(xk, m + 10 * s))[0]
                for w, m, s in b if w > 0 and xk > m - 10 * s)
        return t, sum(w * norm.cdf(xk, m, s) for w, m, s in b if w > 0)

    num = den = 0.0
    for w, m, s in a:
        if w <= 0:
            continue
        num += w * integrate.quad(lambda xk: norm.pdf(xk, m, s) * 10 ** (min(pmax, p0 + 0.8 * (p_re[0] - xk)) / 10)
                                  * inner(xk)[0], m - 8 * s, m + 8 * s, limit=200)[0]
        den += w * integrate.quad(lambda xk: norm.pdf(xk, m, s) * inner(xk)[1], m - 8 * s, m + 8 * s, limit=200)[0]
    hand = num / den * 10 ** (off / 10)
    got = served.ul_interference_mw(cfg)
    assert got[1] == pytest.approx(hand, rel=0.02)
    nd = ul_noise_interference_dbm(links, cfg)
    n = 10 ** (noise_per_re_dbm(cfg, cfg.gnb_noise_figure_db) / 10)
    assert nd[1] == pytest.approx(10 * np.log10(n + cfg.cell_load * hand), abs=0.01)
    assert ul_noise_interference_dbm(links, cfg.replace(ul_interference="margin"))[1] == pytest.approx(
        10 * np.log10(n) + cfg.ul_interference_margin_db)


def test_aggregate_uses_the_neighbours_uplink_interference():
    """The uplink maps follow ``ul_interference`` ("neighbours" vs "margin"); the downlink maps do not."""
    area = make_area(rows=12, cols=15, resolution_m=60.0, seed=4)
    sites = make_sites([(300.0, 300.0), (600.0, 400.0)], tx_power_dbm=49.0)
    links = compute_links(area, sites, CFG)
    res = aggregate(area, links, CFG)
    res_margin = aggregate(area, links, CFG.replace(ul_interference="margin"))
    assert not np.allclose(np.nan_to_num(res.extra["ul_snr_p10_db"]), np.nan_to_num(res_margin.extra["ul_snr_p10_db"]))
    # the downlink does not depend on the UL choice
    assert np.array_equal(np.nan_to_num(res.sinr_db), np.nan_to_num(res_margin.sinr_db))


def test_ssb_same_index_offset_is_the_sweep_mean_over_the_best_beam():
    """A neighbour's SSB as an interferer: the mean over the sweep's beams of their gains toward the point minus the
    best beam's (direct evaluation of the 8 beams' array factors); 0 for a passive antenna; stored per link."""
    from qamtu.radio.antenna import _ula_gain_db

    m = get_antenna("nr-64t64r")
    rng = np.random.default_rng(3)
    th = 90 + np.degrees(np.arctan2(23.5, rng.uniform(30, 2000, 400)))
    ph = rng.uniform(-180, 180, 400)
    u = np.sin(np.radians(th)) * np.sin(np.radians(ph))
    g = 10 ** (_ula_gain_db(u[:, None], m.ssb_beam_directions_u[None, :], m.n_cols, m.spacing_wavelengths) / 10)
    want = 10 * np.log10(g.mean(axis=1) / g.max(axis=1))
    assert np.abs(m.ssb_same_index_offset_db(th, ph) - want).max() < 0.05
    assert np.median(want[np.abs(ph) < 60]) < -6.0  # the envelope over-states it by 6-9 dB inside the sweep
    assert np.all(get_antenna("tr36814-sector").ssb_same_index_offset_db(th, ph) == 0.0)
    area = make_area(rows=8, cols=10, resolution_m=60.0, seed=1)
    sites = make_sites([(200.0, 200.0), (500.0, 300.0)], tx_power_dbm=49.0)
    a = compute_links(area, sites, CFG)
    b = compute_links(area, sites, CFG.replace(ssb_interference="envelope"))
    assert np.all(b.ssb_offset_db == 0.0) and np.all(a.ssb_offset_db <= 1e-6) and a.ssb_offset_db.min() < -5.0
    ra, rb = aggregate(area, a), aggregate(area, b)
    inside = area.mask & np.isfinite(rb.ssb_sinr_db)
    assert np.all(ra.ssb_sinr_db[inside] >= rb.ssb_sinr_db[inside] - 0.7)  # less SSB interference (bisection)


def _maps(res):
    return [res.rsrp_dbm, res.coverage_probability, res.sinr_db, res.ssb_sinr_db, res.dl_mbps, res.ul_mbps,
            res.extra["pdsch_sinr_p10_db"], res.extra["ul_snr_p10_db"]]


def _grid_layout(n_side=5, pitch_m=450.0, seed=0):
    rng = np.random.default_rng(seed)
    xy = [(200.0 + pitch_m * i + float(rng.uniform(-60, 60)), 200.0 + pitch_m * j + float(rng.uniform(-60, 60)))
          for i in range(n_side) for j in range(n_side)]
    sites = make_sites(xy, tx_power_dbm=49.0)
    sites["azimuth_deg"] = (sites["azimuth_deg"] + np.repeat(rng.uniform(0, 120, len(xy)), 3)) % 360
    return sites


@pytest.mark.parametrize("share", [0.8, 0.45])
def test_active_subset_has_the_served_areas_of_the_sectors_on_air(share):
    """aggregate(active=S) equals a fresh compute_links + aggregate of the table restricted to S (same cut-off,
    60 dB relevance margin): the served areas, beam mixes and UL interference are those of the sectors on air
    (75 sectors: a point's 48 evaluated sectors are the first 48 active among its 96 nearest; exact while S has
    48 of them; at 45 % the subset leaves a few points' farthest victims out, within 0.1 dB of UL interference).
    The SINR maps differ by the subset's residual estimate (weak links at 2e-5 of the interference, scaled by
    the active share; measured 0.004 / 0.017 dB, the same order as with uniform beams, 0.002 / 0.006 dB) and
    the float32 rounding of the re-aimed interference; verdicts identical."""
    from qamtu.engine.served import served_model

    area = make_area(rows=48, cols=48, resolution_m=50.0, seed=7)
    sites = _grid_layout()
    cfg = CFG.replace(cutoff_margin_db=60.0)
    links = compute_links(area, sites, cfg)
    assert len(sites) == 75
    keep = np.random.default_rng(1).random(25) < share
    active = sites["site_id"].isin([f"S{i}" for i in np.flatnonzero(keep)]).to_numpy()
    idx = np.flatnonzero(active)
    sub_sites = sites[active].reset_index(drop=True)
    sub = aggregate(area, links, active=active)
    fresh_links = compute_links(area, sub_sites, cfg, cutoff=links.info)
    fresh = aggregate(area, fresh_links)
    np.testing.assert_array_equal(sub.best_server, np.where(fresh.best_server >= 0,
                                                            idx[np.maximum(fresh.best_server, 0)], -1))
    np.testing.assert_array_equal(sub.covered, fresh.covered)
    for a, b in zip(_maps(sub), _maps(fresh)):
        if a is sub.dl_mbps:  # rates are CQI steps: a 0.01 dB SINR change may cross one
            assert np.mean(np.abs(a - b) > 1e-3) < 0.01
        else:
            np.testing.assert_allclose(a, b, atol=0.05, rtol=0)
    # the served model of the subset: the same served areas and beam mixes, the same uplink interference
    st = links.served.state(active)
    own = served_model(area, fresh_links.sectors, cfg).state()
    np.testing.assert_array_equal(st.point_sector, np.where(own.point_sector >= 0,
                                                            idx[np.maximum(own.point_sector, 0)], -1))
    np.testing.assert_array_equal(st.point_weight, own.point_weight)
    ul_sub, ul_own = st.ul_interference_mw(cfg)[idx], own.ul_interference_mw(cfg)
    if share > 0.5:
        np.testing.assert_array_equal(ul_sub, ul_own)
    else:
        assert np.abs(10 * np.log10(ul_sub / ul_own)).max() < 0.1
    # and it differs from the whole table's (the reason it must follow the active set)
    full = aggregate(area, links)
    assert np.nanmax(np.abs(full.sinr_db - sub.sinr_db)) > 1.0


def test_incremental_aggregator_equals_aggregate_as_the_served_areas_change():
    """The gates' incremental evaluation re-aims the beams and recomputes the UL interference of the sectors
    whose served areas changed, and equals aggregate(active) exactly on a sequence of subsets one site swap
    apart; it recomputes only part of the area."""
    from qamtu.engine.aggregate import IncrementalAggregator

    area = make_area(rows=48, cols=48, resolution_m=50.0, seed=8)
    sites = _grid_layout(seed=3)
    cfg = CFG.replace(cutoff_margin_db=60.0, max_cutoff_m=900.0)
    links = compute_links(area, sites, cfg)
    site = sites["site_id"].to_numpy()
    order = np.random.default_rng(2).permutation(25)
    for full in (False, True):
        inc = IncrementalAggregator(area, links, cfg, full=full, keep=2)
        partial = 0
        # the same number on air (the residual's share unchanged): a site swapped for another at each step
        for on in ((0, 12), (1, 13), (2, 14), (1, 13), (3, 15), (0, 12)):
            active = np.isin(site, [f"S{i}" for i in order[on[0]:on[1]]])
            got = inc.evaluate(active)
            ref = aggregate(area, links, active=active, full=full)
            partial += 0 < inc.recomputed < area.mask.sum()
            np.testing.assert_array_equal(got.covered, ref.covered)
            for a, b in zip(_maps(got), _maps(ref)):
                np.testing.assert_array_equal(a, b)
        assert partial >= 1


def _dense_layout(n_sites, span_m, seed):
    """A candidate-like dense table: ``n_sites`` three-sector sites at random positions (~180 m apart)."""
    rng = np.random.default_rng(seed)
    xy = [(float(x), float(y)) for x, y in rng.uniform(0.0, span_m, (n_sites, 2))]
    sites = make_sites(xy, tx_power_dbm=49.0)
    sites["azimuth_deg"] = (sites["azimuth_deg"] + np.repeat(rng.uniform(0, 120, n_sites), 3)) % 360
    return sites


@pytest.mark.parametrize("share", [0.05, 0.2, 0.5])
def test_served_state_of_a_sparse_subset_of_a_dense_table_equals_a_fresh_model(share):
    """On a dense table (480 sectors: a point stores its 96 nearest, ~32 sites) a sparse subset leaves most
    points with fewer than 48 active sectors among the stored ones; the state still serves each point among its
    48 nearest ACTIVE sectors (found beyond the stored ones, evaluated on demand): served areas, weights, beam
    mixes and uplink interference are those of a fresh model of the restricted table, bit for bit."""
    from qamtu.engine import prepare_sectors
    from qamtu.engine.served import K_SECTORS, served_model

    area = make_area(rows=48, cols=48, resolution_m=50.0, seed=7)
    sites = _dense_layout(160, 2400.0, 5)
    model = served_model(area, prepare_sectors(sites, area.crs), CFG)
    keep = np.random.default_rng(int(share * 100)).random(160) < share
    active = np.repeat(keep, 3)
    idx = np.flatnonzero(active)
    # the case of the defect: many points hold fewer than 48 (or all, when fewer) active among their stored
    stored_active = active[model.near].sum(axis=1)
    assert np.mean(stored_active < min(K_SECTORS, idx.size)) > 0.05  # (11 % at 50 % on air, all at 5 %)
    st = model.state(active)
    own = served_model(area, prepare_sectors(sites[active].reset_index(drop=True), area.crs), CFG).state()
    np.testing.assert_array_equal(st.point_sector, np.where(own.point_sector >= 0,
                                                            idx[np.maximum(own.point_sector, 0)], -1))
    np.testing.assert_array_equal(st.evaluated, idx[own.evaluated])
    np.testing.assert_array_equal(st.point_weight, own.point_weight)
    for s, mix in zip(idx, own.mixes):
        assert (st.mixes[s] is None) == (mix is None)
        if mix is not None:
            assert st.mixes[s][0] == mix[0]
            np.testing.assert_array_equal(st.mixes[s][1], mix[1])
            np.testing.assert_array_equal(st.mixes[s][2], mix[2])
    ul = st.ul_interference_mw(CFG)
    np.testing.assert_array_equal(ul[idx], own.ul_interference_mw(CFG))
    assert np.all(ul[~active] == 0.0)
    # the links evaluated beyond the stored ones are kept: the same state again evaluates none
    n_added = model.pairs.n_ext
    assert n_added > 0
    model._states.clear()
    np.testing.assert_array_equal(model.state(active).ul_interference_mw(CFG), ul)
    assert model.pairs.n_ext == n_added


def test_served_state_after_its_added_links_were_dropped(monkeypatch):
    """When the links added on demand exceed their cap they are dropped; a state made before finds its links
    again (evaluated anew: the same numbers)."""
    from qamtu.engine import prepare_sectors
    from qamtu.engine import served as served_mod

    area = make_area(rows=30, cols=30, resolution_m=50.0, seed=2)
    model = served_mod.served_model(area, prepare_sectors(_dense_layout(120, 1500.0, 9), area.crs),
                                    CFG.replace(cell_load=0.45))
    rng = np.random.default_rng(4)
    a, b = (np.repeat(rng.random(120) < 0.1, 3) for _ in range(2))
    ref_a = model.state(a).ul_interference_mw(CFG)
    monkeypatch.setattr(served_mod, "EXT_PAIRS_MAX", model.pairs.n_ext + 1)
    st = served_mod.ServedState(model, a)
    gen = model.pairs.generation
    model.state(b)  # needs more added links than the cap leaves: the kept ones are dropped
    assert model.pairs.generation == gen + 1
    np.testing.assert_array_equal(st.ul_interference_mw(CFG.replace(ul_p0_dbm=-89.0)) > 0,
                                  ref_a > 0)
    np.testing.assert_array_equal(st.ul_interference_mw(CFG), ref_a)


def test_the_model_cache_is_bounded_by_bytes_and_a_released_model_gives_the_same_states(monkeypatch):
    """``served_model``'s cache forgets the oldest models beyond ``CACHE_BYTES`` (the newest kept whatever its
    size); ``release_cache`` empties it and trims the models (no states, no added links, no mixes) while a model
    still held (a plan's links, for its gate) gives the same served areas, mixes and UL interference after."""
    from qamtu.engine import prepare_sectors
    from qamtu.engine import served as served_mod

    area = make_area(rows=30, cols=30, resolution_m=50.0, seed=2)
    served_mod.release_cache()
    tables = [prepare_sectors(_dense_layout(n, 1500.0, 9), area.crs) for n in (60, 90)]
    first = served_mod.served_model(area, tables[0], CFG)
    active = np.repeat(np.random.default_rng(4).random(60) < 0.1, 3)
    st = first.state(active)
    ref = (st.point_sector.copy(), st.ul_interference_mw(CFG).copy(), list(st.mixes))
    assert first.pairs.n_ext > 0 and first._states and first._mixes
    size = first.nbytes
    assert size > first.pairs.n_base * 40  # (6 float32 link values, the sector, the victims' cached aim)
    monkeypatch.setattr(served_mod, "CACHE_BYTES", size + 1)
    second = served_mod.served_model(area, tables[1], CFG)
    assert list(served_mod._CACHE.values()) == [second]  # the older one forgotten: both exceed the bound
    assert served_mod.served_model(area, tables[1], CFG) is second
    served_mod.release_cache()
    assert not served_mod._CACHE and second.pairs.n_ext == 0 and not second._states
    first.trim()  # (held here, as a plan's links hold theirs)
    assert first.pairs.n_ext == 0 and not first._states and not first._mixes and first.nbytes < size
    again = first.state(active)
    np.testing.assert_array_equal(again.point_sector, ref[0])
    np.testing.assert_array_equal(again.ul_interference_mw(CFG), ref[1])
    for a, b in zip(again.mixes, ref[2]):
        assert (a is None) == (b is None) and (a is None or np.array_equal(a[2], b[2]))
    # a state made before the trim looks its links up again
    other = CFG.replace(ul_p0_dbm=-89.0)
    np.testing.assert_array_equal(st.ul_interference_mw(other), again.ul_interference_mw(other))


def test_aggregate_of_a_sparse_subset_of_a_dense_table_equals_a_fresh_evaluation():
    """aggregate(active=S) on a dense table's links (360 sectors, 30 of them on air) equals compute_links +
    aggregate of S alone: best server, covered and every map (float rounding of the re-aimed interference).
    Both without the per-pixel residual of the links cut away (as the planner's plan links: 60 dB margin,
    residual dropped): a subset scales the whole table's residual by its share of the sectors, an estimate
    (0.13 dB SINR here with uniform beams, 0.32 dB with served ones), not the served areas. Likewise without the
    weak sectors folded into their site's stored link (``Links.cosited_weak_mw``): their beams keep the whole
    table's aim (measured 0.021 dB on the maps here)."""
    area = make_area(rows=40, cols=40, resolution_m=50.0, seed=7)
    sites = _dense_layout(120, 2000.0, 5)
    cfg = CFG.replace(cutoff_margin_db=60.0)
    links = compute_links(area, sites, cfg)
    links = links.take(slice(None), residual_mw=None, cosited_weak_mw=None)
    keep = np.zeros(120, bool)
    keep[np.random.default_rng(5).choice(120, 10, replace=False)] = True
    active = np.repeat(keep, 3)
    idx = np.flatnonzero(active)
    sub = aggregate(area, links, active=active)
    fresh_links = compute_links(area, sites[active].reset_index(drop=True), cfg, cutoff=links.info)
    assert fresh_links.n_links == int(active[links.sector].sum())
    fresh = aggregate(area, fresh_links.take(slice(None), residual_mw=None, cosited_weak_mw=None))
    np.testing.assert_array_equal(sub.best_server, np.where(fresh.best_server >= 0,
                                                            idx[np.maximum(fresh.best_server, 0)], -1))
    np.testing.assert_array_equal(sub.covered, fresh.covered)
    assert sub.covered.sum() > 0.2 * area.mask.sum()
    for a, b in zip(_maps(sub), _maps(fresh)):
        np.testing.assert_allclose(a, b, atol=1e-3, rtol=0)
    # the subset's own served areas matter here: the whole table's aim is far off
    assert np.nanmax(np.abs(aggregate(area, links).sinr_db - sub.sinr_db)) > 1.0
