"""The coverage engine against a plain per-pixel loop written from qamtu.radio, and its invariances.

References used by the hand-written loop: 3GPP TR 38.901 V17.0.0 Tables 7.4.1-1 (path loss), 7.4.2-1 (LOS
probability), 7.4.3-2 (O2I); TS 38.306 4.1.2 via qamtu.radio.nr.throughput_mbps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine_testdata import make_area, make_sites
from qamtu.engine import EngineConfig, aggregate, compute_links, evaluate
from qamtu.engine.config import ENV_CLASSES
from qamtu.radio import antenna as ant
from qamtu.radio import nr
from qamtu.radio import o2i
from qamtu.radio import pathloss as pl

CFG = EngineConfig()
_MODELS: dict = {}


def _antenna(name, tilt):
    if (name, tilt) not in _MODELS:
        _MODELS[(name, tilt)] = ant.get_antenna(name, tilt_deg=tilt)
    return _MODELS[(name, tilt)]


def reference_pixel(x, y, env_code, sites: pd.DataFrame, cfg: EngineConfig):
    """One pixel, every sector, no cut-off: straight from qamtu.radio, one link at a time."""
    prof = cfg.environments[ENV_CLASSES[env_code]]
    n_sc = 12 * nr.n_prb(cfg.bandwidth_hz, cfg.scs_hz)
    noise_mw = 10 ** (nr.thermal_noise_dbm(cfg.scs_hz, cfg.ue_noise_figure_db) / 10)
    dmax = o2i.D2D_IN_MAX_M[prof.scenario]
    w = [1 - prof.indoor_share, prof.indoor_share * (1 - prof.o2i_high_share), prof.indoor_share * prof.o2i_high_share]
    loss = [0.0, o2i.mean_o2i_loss_db(cfg.freq_hz, "low", prof.scenario), o2i.mean_o2i_loss_db(cfg.freq_hz, "high", prof.scenario)]
    sd_in = 0.5 * dmax / np.sqrt(18)
    sd = [0.0, np.hypot(o2i.o2i_std_db("low"), sd_in), np.hypot(o2i.o2i_std_db("high"), sd_in)]
    w_cov = w if cfg.coverage_users == "all" else [1.0, 0.0, 0.0]
    links = []
    for row in sites.itertuples(index=False):
        dx, dy = x - row.x_m, y - row.y_m
        d2d = max(np.hypot(dx, dy), cfg.min_distance_m)
        theta = ant.zenith_angle_deg(d2d, row.height_m, cfg.ue_height_m)
        bearing = ant.bearing_deg(dx, dy)
        th, ph = ant.local_angles(bearing, theta, row.azimuth_deg, row.mechanical_tilt_deg)
        model = _antenna(getattr(row, "antenna", "nr-64t64r"), row.electrical_tilt_deg)
        pg = pl.mean_path_gain_db(prof.scenario, cfg.freq_hz, d2d, row.height_m, cfg.ue_height_m, validate=False)
        p_re = nr.ss_rsrp_dbm(row.tx_power_dbm, n_sc, 0.0)
        base = p_re + cfg.ue_antenna_gain_dbi - cfg.body_loss_db
        rsrp = base + model.ssb_gain_dbi(th, ph) + pg
        sig = base + model.traffic_gain_dbi(th, ph) + pg
        intf = 10 ** ((base + model.interference_gain_dbi(th, ph) + pg) / 10)
        pl_los = pl.path_loss_db(prof.scenario, "los", cfg.freq_hz, d2d, row.height_m, cfg.ue_height_m, validate=False)
        pl_nlos = pl.path_loss_db(prof.scenario, "nlos", cfg.freq_hz, d2d, row.height_m, cfg.ue_height_m, validate=False)
        plos = pl.los_probability(prof.scenario, d2d, cfg.ue_height_m)
        s_los = pl.shadow_fading_std_db(prof.scenario, "los", d2d, freq_hz=cfg.freq_hz, h_bs_m=row.height_m,
                                        h_ut_m=cfg.ue_height_m)
        s_nlos = pl.shadow_fading_std_db(prof.scenario, "nlos")
        g_ssb = model.ssb_gain_dbi(th, ph)
        pcov = 0.0
        for wi, li, si in zip(w_cov, loss, sd):
            if wi > 0:
                pcov += wi * pl.coverage_probability(
                    cfg.rsrp_threshold_dbm, base + g_ssb - pl_los - li, base + g_ssb - pl_nlos - li, plos, s_los,
                    s_nlos, extra_sigma_db=si)
        links.append((rsrp, sig, intf, pcov))
    best = int(np.argmax([lk[0] for lk in links]))
    i_mw = cfg.cell_load * sum(lk[2] for k, lk in enumerate(links) if k != best)
    sinr = 10 * np.log10(10 ** (links[best][1] / 10) / (i_mw + noise_mw))
    dl = nr.throughput_mbps(sinr, cfg.bandwidth_hz, cfg.dl_layers, cfg.tdd_dl_share, cfg.cell_load)
    return dict(best=best, rsrp=links[best][0], sinr=sinr, pcov=max(lk[3] for lk in links), dl=dl)


# (fast path, coverage users, tolerance on RSRP in dB, on SINR in dB, on the coverage probability)
LOOP_CASES = [(False, "outdoor", 1e-3, 0.05, 1e-5), (False, "all", 1e-3, 0.05, 1e-5), (True, "outdoor", 0.25, 0.3, 0.02)]


@pytest.mark.parametrize("fast,users,tol_rsrp,tol_sinr,tol_p", LOOP_CASES)
def test_vectorised_engine_equals_per_pixel_loop(small_area, small_sites, fast, users, tol_rsrp, tol_sinr, tol_p):
    """The stored links (outdoor mean SS-RSRP of the best server, its single-link coverage probability, the
    mean-power SINR they imply) equal a per-pixel loop over qamtu.radio: exact path to float32 storage, fast
    path within its interpolation error. (The maps' distributions are checked against a brute-force Monte-Carlo
    in test_distribution.py.)"""
    # the loop uses the antenna model's uniform mean interference gain (the aimed beams of qamtu.engine.served
    # are checked against the antenna's own functions in test_served.py)
    cfg = CFG.replace(coverage_users=users, fast=fast, interference_beams="uniform")
    links = compute_links(small_area, small_sites, cfg)
    n = small_area.mask.size
    best_k = np.full(n, -1)
    best_r = np.full(n, -np.inf)
    total = np.bincount(links.pixel, weights=links.interference_mw.astype(float), minlength=n)
    pmax = np.zeros(n)
    np.maximum.at(pmax, links.pixel, links.coverage_probability.astype(float))
    for k in range(links.n_links):
        if links.rsrp_dbm[k] > best_r[links.pixel[k]]:
            best_r[links.pixel[k]] = links.rsrp_dbm[k]
            best_k[links.pixel[k]] = k
    noise = 10 ** (nr.thermal_noise_dbm(cfg.scs_hz, cfg.ue_noise_figure_db) / 10)
    flat = np.arange(n).reshape(small_area.mask.shape)
    res = type("R", (), {})()
    kk = best_k[flat]
    res.best_server = np.where(kk >= 0, links.sector[np.maximum(kk, 0)], -1)
    res.rsrp_dbm = np.where(kk >= 0, links.rsrp_dbm[np.maximum(kk, 0)], np.nan)
    s_mw = 10 ** (links.signal_dbm[np.maximum(kk, 0)].astype(float) / 10)
    i_mw = cfg.cell_load * (total[flat] + links.residual_mw[flat] - links.interference_mw[np.maximum(kk, 0)])
    res.sinr_db = 10 * np.log10(s_mw / (i_mw + noise))
    res.coverage_probability = pmax[flat]
    x, y = small_area.pixel_centres()
    rng = np.random.default_rng(1)
    rows, cols = np.nonzero(small_area.mask)
    pick = rng.choice(rows.size, 25, replace=False)
    for k in pick:
        r, c = rows[k], cols[k]
        ref = reference_pixel(x[r, c], y[r, c], int(small_area.env_class[r, c]), small_sites, cfg)
        assert res.best_server[r, c] == ref["best"]
        assert res.rsrp_dbm[r, c] == pytest.approx(ref["rsrp"], abs=tol_rsrp)
        assert res.sinr_db[r, c] == pytest.approx(ref["sinr"], abs=tol_sinr)
        assert res.coverage_probability[r, c] == pytest.approx(ref["pcov"], abs=tol_p)


def _grids(res):
    return [res.rsrp_dbm, res.coverage_probability, res.sinr_db, res.dl_mbps, res.ul_mbps, res.best_server, res.covered]


@pytest.mark.parametrize("chunk,workers", [(1, 1), (37, 2), (400, 3), (10**6, 1)])
def test_chunk_size_does_not_change_results(small_area, small_sites, chunk, workers):
    ref_links = compute_links(small_area, small_sites, CFG.replace(chunk_pixels=64, workers=1))
    ref = aggregate(small_area, ref_links)
    links = compute_links(small_area, small_sites, CFG.replace(chunk_pixels=chunk, workers=workers))
    res = aggregate(small_area, links)
    for a, b in zip(_grids(ref), _grids(res)):
        np.testing.assert_array_equal(a, b)  # bit for bit
    s_ref, s = ref_links.sorted(), links.sorted()
    np.testing.assert_array_equal(s_ref.pixel, s.pixel)
    np.testing.assert_array_equal(s_ref.sector, s.sector)
    np.testing.assert_array_equal(s_ref.rsrp_dbm, s.rsrp_dbm)
    np.testing.assert_array_equal(ref_links.residual_mw, links.residual_mw)


def test_site_beyond_cutoff_changes_nothing(small_area, small_sites):
    base_links = compute_links(small_area, small_sites, CFG)
    base = aggregate(small_area, base_links)
    far = make_sites([(0.0, 0.0)])
    far["site_id"] = "FAR"
    # place it just beyond the cut-off from every pixel of the area
    x, y = small_area.pixel_centres()
    far["x_m"] = x[small_area.mask].max() + base_links.cutoff_m * 1.01
    far["y_m"] = y[small_area.mask].mean()
    res = evaluate(small_area, pd.concat([small_sites, far], ignore_index=True), CFG)
    for a, b in zip(_grids(base), _grids(res)):
        np.testing.assert_array_equal(a, b)
    # and the cut-off is not vacuous: the same site well inside it does change the maps
    near = far.copy()
    near["x_m"] = x[small_area.mask].max() + 300.0
    res_near = evaluate(small_area, pd.concat([small_sites, near], ignore_index=True), CFG)
    assert not np.array_equal(np.nan_to_num(base.sinr_db), np.nan_to_num(res_near.sinr_db))


def test_cutoff_is_derived_from_the_link_budget(small_sites):
    from qamtu.engine.links import link_budget_envelope, prepare_sectors

    sec = prepare_sectors(small_sites)
    base = link_budget_envelope(sec, CFG)
    assert base.cutoff_m == max(base.coverage_radius_m, base.tail_radius_m)
    # 10 dB less power: a link reaches the RSRP threshold less far
    low = link_budget_envelope(prepare_sectors(small_sites.assign(tx_power_dbm=43.0)), CFG)
    assert low.coverage_radius_m < base.coverage_radius_m
    # a stricter tail margin or a smaller epsilon widens the search; a cap caps it
    assert link_budget_envelope(sec, CFG.replace(cutoff_tail_margin_db=30.0)).tail_radius_m > base.tail_radius_m
    assert link_budget_envelope(sec, CFG.replace(cutoff_coverage_epsilon=1e-4)).coverage_radius_m > base.coverage_radius_m
    assert link_budget_envelope(sec, CFG.replace(max_cutoff_m=1000.0)).cutoff_m == 1000.0
    # the floor sits cutoff_margin_db below the reference level, which is at least the noise per RE
    assert base.floor_dbm == pytest.approx(base.reference_level_dbm - CFG.cutoff_margin_db)
    assert base.reference_level_dbm >= -174 + 10 * np.log10(30e3) + CFG.ue_noise_figure_db - 1e-9


def test_active_subset_equals_evaluate_on_subset(small_area, small_sites):
    keep_sites = {"S0", "S2"}
    active = small_sites["site_id"].isin(keep_sites).to_numpy()
    subset_sites = small_sites[active].reset_index(drop=True)
    index_map = np.nonzero(active)[0]
    # every link stored (no residual): bit-identical with the same cut-off, with the uniform beams and the fixed
    # UL margin (with the default served-area models the subset re-aims the stored interference: equal to float32
    # rounding, tests/engine/test_served.py::test_active_subset_has_the_served_areas_of_the_sectors_on_air)
    cfg = CFG.replace(cutoff_margin_db=60.0, interference_beams="uniform", ul_interference="margin")
    links = compute_links(small_area, small_sites, cfg)
    assert not links.residual_mw.any()
    sub = aggregate(small_area, links, active=active)
    direct = aggregate(small_area, compute_links(small_area, subset_sites, cfg, cutoff=links.info))
    best = np.where(direct.best_server >= 0, index_map[np.maximum(direct.best_server, 0)], -1)
    np.testing.assert_array_equal(sub.best_server, best)
    for a, b in zip(_grids(sub)[:5] + [sub.covered], _grids(direct)[:5] + [direct.covered]):
        np.testing.assert_array_equal(a, b)
    assert sub.kpis()["sites"] == 2 and sub.kpis()["sectors"] == 6
    # default floor: weak links enter through the scaled residual; the maps stay within a fraction of a dB
    cfg = CFG.replace(interference_beams="uniform", ul_interference="margin")
    links = compute_links(small_area, small_sites, cfg)
    sub = aggregate(small_area, links, active=active)
    direct = evaluate(small_area, subset_sites, cfg)
    np.testing.assert_array_equal(sub.best_server, np.where(direct.best_server >= 0,
                                                            index_map[np.maximum(direct.best_server, 0)], -1))
    np.testing.assert_allclose(sub.rsrp_dbm, direct.rsrp_dbm, atol=0.2)  # weak sites: median within 0.2 dB
    err = np.abs(sub.sinr_db - direct.sinr_db)
    assert np.nanmax(err) < 8.0 and np.nanmedian(err) < 0.25  # documented estimate for subsets (isolated pixels)


def test_powers_add_in_linear_units():
    """Two equal interferers at the same distance give +3.01 dB interference over one (hand case)."""
    area = make_area(rows=1, cols=1, resolution_m=10.0, disc=False)  # one pixel at (5, 5)
    cfg = CFG.replace(cell_load=1.0, ue_noise_figure_db=0.0)
    serving = make_sites([(5.0, 5.0 - 200.0)])  # 200 m south, its sector 0 points at 30 deg
    serving = serving.iloc[[0]].assign(azimuth_deg=0.0)
    interferer = serving.assign(site_id="I1", x_m=5.0 - 400.0, y_m=5.0, azimuth_deg=90.0, tx_power_dbm=40.0)
    twin = interferer.assign(site_id="I2", x_m=5.0 + 400.0, azimuth_deg=270.0)
    one = evaluate(area, pd.concat([serving, interferer], ignore_index=True), cfg)
    two = evaluate(area, pd.concat([serving, interferer, twin], ignore_index=True), cfg)
    links = compute_links(area, pd.concat([serving, interferer, twin], ignore_index=True), cfg)
    i1, i2 = links.interference_mw[links.sector == 1][0], links.interference_mw[links.sector == 2][0]
    assert i1 == pytest.approx(i2, rel=1e-6)  # mirror images
    s = 10 ** (links.signal_dbm[links.sector == 0][0] / 10)
    n = 10 ** ((-174 + 10 * np.log10(30e3)) / 10)  # noise per 30 kHz RE with NF 0 dB
    i_one = one.kpis()["pdsch_sinr_db_median"]
    i_two = two.kpis()["pdsch_sinr_db_median"]
    assert i_one > i_two  # (the deterministic hand case of the SINR is in test_distribution.py)
    assert 10 * np.log10((i1 + i2) / i1) == pytest.approx(10 * np.log10(2), abs=0.01)  # 3.01 dB


def test_inactive_everything_gives_no_service(small_area, small_sites):
    links = compute_links(small_area, small_sites, CFG)
    res = aggregate(small_area, links, active=np.zeros(len(small_sites), bool))
    inside = small_area.mask
    assert np.all(res.best_server[inside] == -1) and np.all(np.isnan(res.rsrp_dbm[inside]))
    assert np.all(res.dl_mbps[inside] == 0) and not res.covered.any()
    assert res.kpis()["population_share"] == 0.0


def test_active_mask_is_checked(small_area, small_sites):
    from qamtu.errors import InvalidInputError

    links = compute_links(small_area, small_sites, CFG)
    with pytest.raises(InvalidInputError, match="one flag per sector"):
        aggregate(small_area, links, active=np.ones(3, bool))


def test_kpis_keys_and_consistency(small_area, small_sites):
    res = evaluate(small_area, small_sites, CFG)
    k = res.kpis()
    for key in ("city", "territory_share", "population_share", "population_total", "area_km2", "sectors", "sites",
                "dl_mbps_percentiles", "ul_mbps_percentiles", "rsrp_dbm_median", "boundary_is_approximation",
                "user_classes", "ssb_sinr_db_median", "pdsch_sinr_db_median"):
        assert key in k
    assert set(k["dl_mbps_percentiles"]) == {"5", "10", "50", "90", "95"}
    p = k["dl_mbps_percentiles"]
    assert p["5"] <= p["10"] <= p["50"] <= p["90"] <= p["95"]
    cov = res.covered & small_area.mask
    assert k["territory_share"] == pytest.approx(cov.sum() / small_area.mask.sum())
    assert k["population_share"] == pytest.approx(small_area.population[cov].sum() / small_area.population.sum())
    assert np.all(np.isnan(res.rsrp_dbm[~small_area.mask])) and np.all(res.best_server[~small_area.mask] == -1)
    # covered implies both criteria
    assert np.all(res.coverage_probability[cov] >= CFG.coverage_level - 1e-6)
    assert np.all(res.probabilities["p_dl_outdoor"][cov] >= CFG.coverage_level - 1e-6)
    for cls in ("outdoor", "indoor", "all"):
        assert {"territory_share", "population_share"} <= set(k["user_classes"][cls])
    assert k["user_classes"]["outdoor"]["territory_share"] == k["territory_share"]
    assert res.sector_population().sum() == pytest.approx(small_area.population.sum())
