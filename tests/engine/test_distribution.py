"""The per-pixel distributions (qamtu.engine.distribution) against a brute-force Monte-Carlo, and their invariants."""

from __future__ import annotations

import numpy as np
import pytest

from engine_testdata import make_area, make_sites
from qamtu.engine import EngineConfig, aggregate, compute_links
from qamtu.engine.montecarlo import pixel_monte_carlo

CFG = EngineConfig()


def _random_case(seed):
    rng = np.random.default_rng(seed)
    area = make_area(rows=24, cols=30, resolution_m=60.0, seed=seed)
    n_sites = int(rng.integers(3, 7))
    xy = [(float(rng.uniform(0, 1800)), float(rng.uniform(0, 1440))) for _ in range(n_sites)]
    sites = make_sites(xy, tx_power_dbm=float(rng.uniform(46, 53)))
    sites["azimuth_deg"] = (sites["azimuth_deg"] + rng.uniform(0, 120)) % 360
    return area, sites, rng


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_probabilities_match_brute_force_monte_carlo(seed):

    """P(SS-RSRP >= -110 dBm) and P(DL >= 50 Mbit/s at 50 % load), outdoor and indoor users, within 0.02 of a
    brute-force Monte-Carlo (20 000 users per pixel: sampling sd <= 0.0035) on random layouts."""
    area, sites, rng = _random_case(seed)
    links = compute_links(area, sites, CFG)
    res = aggregate(area, links)
    rows, cols = np.nonzero(area.mask)
    pick = rng.choice(rows.size, 12, replace=False)
    errs = []
    for i in pick:
        r, c = int(rows[i]), int(cols[i])
        pix = r * area.mask.shape[1] + c
        env = int(area.env_class[r, c])
        for cls, key in (("outdoor", "outdoor"), ("indoor", "indoor")):
            mc = pixel_monte_carlo(links, pix, env, n_users=20000, seed=seed * 100 + i, user_class=cls)
            errs.append((abs(res.probabilities[f"p_rsrp_{key}"][r, c] - mc["p_rsrp"]),
                         abs(res.probabilities[f"p_dl_{key}"][r, c] - mc["p_dl"])))
    errs = np.array(errs)
    # measured with the served-area defaults (stop 23, b925ad9): max 0.008 (RSRP), 0.017 (DL) on seeds 1-3; the DL
    # error was the Fenton-Wilkinson fit of a dominant interferer truncated below the serving level, up to +0.021 at
    # 400k users on seed 1; with its level split in bins where it can matter (mcbias-23, bins-24) max 0.0082 (DL) on
    # seeds 1-6 with 12 pixels each (docs/notes/bins-24.md); the worst pixels at 0.01:
    # test_served_beams_dominant_interferer_matches_brute_force
    assert errs.max() <= 0.02, errs.max(axis=0)


@pytest.mark.parametrize("seed, i", [(1, 437), (4, 264)])
def test_served_beams_dominant_interferer_matches_brute_force(seed, i):
    """P(DL >= 50 Mbit/s) outdoor within 0.01 of the brute force where a neighbour aiming its served beams at its
    own users next door brings most of the conditioned interference (its level piled up just below the serving
    level: the pixels where one log-normal of the sum was worst, +0.021 and +0.013, docs/notes/mcbias-23.md).
    60 000 users: sampling sd <= 0.0019."""
    area, sites, _ = _random_case(seed)
    links = compute_links(area, sites, CFG)
    res = aggregate(area, links)
    rows, cols = np.nonzero(area.mask)
    r, c = int(rows[i]), int(cols[i])
    mc = pixel_monte_carlo(links, r * area.mask.shape[1] + c, int(area.env_class[r, c]), n_users=60000, seed=7,
                           user_class="outdoor")
    # one log-normal of the conditioned sum (main 979aa50): +0.021 / +0.013 against 400 000 users; the strongest
    # interferer's level in bins (bins-24): 0.6879 / 0.8861 against 0.6886 / 0.8906 here (-0.0007 / -0.0046; at
    # 400 000 users +0.0041 / -0.0009); main against this draw: +0.016 (fails) / +0.0097
    assert res.probabilities["p_dl_outdoor"][r, c] == pytest.approx(mc["p_dl"], abs=0.01)


def test_quantiles_match_brute_force_monte_carlo():
    """Median SS-RSRP, median SSB and PDSCH SINR of outdoor users against the Monte-Carlo."""
    area, sites, rng = _random_case(7)
    links = compute_links(area, sites, CFG)
    res = aggregate(area, links)
    rows, cols = np.nonzero(area.mask)
    for i in rng.choice(rows.size, 10, replace=False):
        r, c = int(rows[i]), int(cols[i])
        mc = pixel_monte_carlo(links, r * area.mask.shape[1] + c, int(area.env_class[r, c]), n_users=20000, seed=i)
        assert res.rsrp_dbm[r, c] == pytest.approx(np.median(mc["rsrp_dbm"]), abs=0.5)
        # the SINR medians: within 1.5 dB (3 dB above 30 dB, where the log-normal fit of a vanishing interference
        # matters and no rate depends on it)
        for mine, theirs in ((res.ssb_sinr_db[r, c], mc["ssb_sinr_db"]), (res.sinr_db[r, c], mc["pdsch_sinr_db"])):
            ref = float(np.median(theirs))
            assert mine == pytest.approx(ref, abs=1.5 if ref < 30 else 3.0)
        # the 10th percentile (the rate map's SINR): 90 % of the brute-force users reach it, within 0.02
        reach = float(np.mean(mc["pdsch_sinr_db"] >= res.extra["pdsch_sinr_p10_db"][r, c]))
        assert reach == pytest.approx(0.9, abs=0.05)  # measured 0.862..0.899 (rural RMa pixels the worst)


def test_indoor_never_covered_more_than_outdoor():
    area, sites, _ = _random_case(11)
    res = aggregate(area, compute_links(area, sites, CFG))
    p = res.probabilities
    inside = area.mask
    for q in ("rsrp", "dl"):
        assert np.all(p[f"p_{q}_indoor"][inside] <= p[f"p_{q}_outdoor"][inside] + 1e-9)
        assert np.all(p[f"p_{q}_all"][inside] <= p[f"p_{q}_outdoor"][inside] + 1e-9)
    assert not np.any(p["covered_indoor"] & ~p["covered_outdoor"])
    k = res.kpis()["user_classes"]
    assert k["indoor"]["territory_share"] <= k["outdoor"]["territory_share"]
    assert k["all"]["population_share"] <= k["outdoor"]["population_share"]


@pytest.mark.parametrize("always_on", [0.0, 0.01, 0.3])
def test_deterministic_limit_is_the_hand_computation(always_on):
    """No shadowing, NLOS only: the median PDSCH SINR is S / (load * sum I + always_on * sum SSB + N) with powers
    added in linear units (hand computation; SSB = the other sectors' SS-RSRP, their always-on signals at full
    power on ``always_on_re_share`` of the REs), and P(RSRP >= thr) is 0 or 1."""
    from qamtu.engine.links import noise_per_re_dbm

    area = make_area(rows=1, cols=1, resolution_m=10.0, disc=False)
    sites = make_sites([(5.0, -195.0), (-395.0, 5.0), (405.0, 5.0)])
    links = compute_links(area, sites, CFG.replace(cutoff_margin_db=60.0, always_on_re_share=always_on))
    links.p_los[:] = 0.0
    links.sf_los_db[:] = 1e-4
    links.sf_nlos_db[:] = 1e-4
    res = aggregate(area, links)
    k = int(np.argmax(links.rsrp_dbm))
    nlos = links.rsrp_dbm.astype(float)  # p_los = 0: the stored mean is the NLOS median
    bf = CFG.environments["urban"].beamforming_loss_db if int(area.env_class[0, 0]) == 1 else \
        CFG.environments[["dense_urban", "urban", "suburban", "rural"][int(area.env_class[0, 0])]].beamforming_loss_db
    s = 10 ** ((links.signal_dbm[k] - bf) / 10)
    i = CFG.cell_load * (links.interference_mw.astype(float).sum() - links.interference_mw[k])
    # the other sectors' always-on signals with the beam of the user's SSB index (Links.ssb_offset_db)
    ssb = 10 ** ((links.rsrp_dbm.astype(float) + links.ssb_offset_db.astype(float)) / 10)
    i += always_on * (ssb.sum() - ssb[k])
    n = 10 ** (noise_per_re_dbm(CFG) / 10)
    # a step CDF: within 0.65 dB (the quantile search's bracket; smooth CDFs are interpolated inside it)
    assert res.sinr_db[0, 0] == pytest.approx(10 * np.log10(s / (i + n)), abs=0.65)
    assert res.rsrp_dbm[0, 0] == pytest.approx(nlos[k], abs=0.05)  # bisection: 100 dB / 2^11
    assert res.probabilities["p_rsrp_outdoor"][0, 0] == float(nlos.max() >= CFG.rsrp_threshold_dbm)


def test_national_speed_kpi_is_a_percentile_over_covered_people():
    """The city speed figure the national summary and the gates use (``dl_p5_from_kpis``) is the 5th percentile of
    the 10th-percentile DL rate over the covered people only (an uncovered pixel's 0 Mbit/s is not in it)."""
    from qamtu.engine.aggregate import weighted_percentiles
    from qamtu.rollout.gates import dl_p5_from_kpis

    area, sites, _ = _random_case(5)
    res = aggregate(area, compute_links(area, sites.iloc[:3], CFG))  # one site: part of the area uncovered
    k = res.kpis()
    cov = res.covered & area.mask
    assert 0 < cov.sum() < area.mask.sum()
    expect = weighted_percentiles(res.dl_mbps[cov], area.population[cov])["5"]
    assert k["dl_mbps_p10_covered_percentiles"]["5"] == expect
    assert dl_p5_from_kpis(k) == expect
    assert expect >= CFG.min_dl_mbps * 0.999  # covered people reach the norm 90 % of the time


@pytest.mark.parametrize("seed", [2, 5])
def test_uplink_matches_brute_force_served_by_the_draws_best_server(seed):
    """P(UL >= 2 Mbit/s) and the UL SNR p10 against a Monte-Carlo where each user transmits to the DL best server
    of its own draw (the review of issue 11 found the analytic UL served by the strongest-MEAN site: up to 0.35
    too low between sites). Pixels with P(UL) in 0.05-0.98, outdoor and indoor, within 0.02."""
    cfg = CFG.replace(min_ul_mbps=2.0)
    area, sites, rng = _random_case(seed)
    links = compute_links(area, sites, cfg)
    res = aggregate(area, links, cfg)
    p_out = res.probabilities["p_ul_outdoor"]
    p_in = res.probabilities["p_ul_indoor"]
    rows, cols = np.nonzero(area.mask & (((p_out > 0.05) & (p_out < 0.98)) | ((p_in > 0.05) & (p_in < 0.98))))
    assert rows.size >= 4
    pick = rng.choice(rows.size, 4, replace=False)
    errs = []
    for i in pick:
        r, c = int(rows[i]), int(cols[i])
        pix = r * area.mask.shape[1] + c
        env = int(area.env_class[r, c])
        for cls in ("outdoor", "indoor"):
            mc = pixel_monte_carlo(links, pix, env, cfg, n_users=10000, seed=seed * 100 + int(i), user_class=cls)
            errs.append(abs(res.probabilities[f"p_ul_{cls}"][r, c] - mc["p_ul"]))
            if cls == "outdoor":
                reach = float(np.mean(mc["ul_snr_db"] >= res.extra["ul_snr_p10_db"][r, c]))
                assert reach == pytest.approx(0.9, abs=0.02)
    assert max(errs) <= 0.02, errs


def test_indoor_downlink_at_mid_probabilities_matches_brute_force():
    """Indoor P(DL >= 50 Mbit/s) where it is 0.3-0.7 (not only P ~ 1 pixels): within 0.02 of the brute force.

    The review of issue 11 found indoor P(DL) 0.020-0.029 too low on this layout (seed 5) after the serving-level
    grid went to 2 dB with one node per cell (the conditional probability is nearly a step in the level for
    noise-limited indoor users); measured on these 9 pixels before the fix: max 0.029 (two pixels beyond 0.02),
    after (``Y_SUB`` points per cell): max 0.008. 20 000 users per pixel: sampling sd <= 0.0035."""
    area, sites, _ = _random_case(5)
    links = compute_links(area, sites, CFG)
    res = aggregate(area, links)
    p_in = res.probabilities["p_dl_indoor"]
    rows, cols = np.nonzero(area.mask & (p_in > 0.3) & (p_in < 0.7))
    assert rows.size >= 50
    errs = []
    for i in range(0, rows.size, rows.size // 8):  # 9 pixels spread over the mid-probability ones
        r, c = int(rows[i]), int(cols[i])
        mc = pixel_monte_carlo(links, r * area.mask.shape[1] + c, int(area.env_class[r, c]), n_users=20000,
                               seed=i, user_class="indoor")
        errs.append(float(p_in[r, c] - mc["p_dl"]))
    assert max(abs(e) for e in errs) <= 0.02, errs
