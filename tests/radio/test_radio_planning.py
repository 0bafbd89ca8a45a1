"""Planning forms (mean path gain, coverage probability), the n78 panel model and pixel throughput:
hand-worked values and statistical cross-checks (fixed seeds)."""

import math

import numpy as np
import pytest

from qamtu.radio import antenna, nr, pathloss


def test_coverage_probability_hand_value():
    # P = P_LOS Phi((Prx_LOS - thr)/s_LOS) + (1 - P_LOS) Phi((Prx_NLOS - thr)/s_NLOS)
    # thr = -100, Prx_LOS = -95 (s 4), Prx_NLOS = -105 (s 6), P_LOS = 0.5:
    # 0.5 Phi(1.25) + 0.5 Phi(-0.8333) = 0.5 * 0.894350 + 0.5 * 0.202328 = 0.548339
    assert pathloss.coverage_probability(-100.0, -95.0, -105.0, 0.5, 4.0, 6.0) == pytest.approx(0.548339, abs=1e-6)
    # an extra O2I sigma of 5 dB adds in quadrature: s = sqrt(16 + 25), sqrt(36 + 25) -> 0.521793
    assert pathloss.coverage_probability(-100.0, -95.0, -105.0, 0.5, 4.0, 6.0, extra_sigma_db=5.0) == pytest.approx(
        0.521793, abs=1e-6
    )
    # no shadowing: a step at the threshold
    assert pathloss.coverage_probability(-100.0, -100.0, -101.0, 0.3, 0.0, 0.0) == pytest.approx(0.3)


def test_coverage_probability_matches_monte_carlo():
    # Draw the LOS state and the log-normal shadowing explicitly (seeded) and count exceedances.
    rng = np.random.default_rng(42)
    n = 200_000
    p_los, prx_los, prx_nlos, s_los, s_nlos, s_o2i, thr = 0.35, -92.0, -104.0, 4.0, 6.0, 4.4, -100.0
    los = rng.random(n) < p_los
    prx = np.where(los, prx_los + rng.normal(0, s_los, n), prx_nlos + rng.normal(0, s_nlos, n))
    prx += rng.normal(0, s_o2i, n)
    empirical = np.mean(prx >= thr)
    analytic = pathloss.coverage_probability(thr, prx_los, prx_nlos, p_los, s_los, s_nlos, extra_sigma_db=s_o2i)
    se = math.sqrt(analytic * (1 - analytic) / n)
    assert abs(empirical - analytic) < 5 * se


def test_mean_path_gain_hand_value():
    # UMa, 3.5 GHz, d2D = 200 m, hBS 25 m, hUT 1.5 m: P_LOS = 0.09 + exp(-200/63) * 0.91 = 0.128048,
    # PL_LOS = 89.5695 dB, PL_NLOS = 114.4620 dB (tests/reference): 10 log10(0.128048 * 10^-8.95695
    # + 0.871952 * 10^-11.44620) = -98.4010 dB
    g = pathloss.mean_path_gain_db("uma", 3.5e9, 200.0, 25.0, 1.5)
    assert g == pytest.approx(-98.4010, abs=2e-3)


def test_shadowing_mean_term():
    # E[10^(X/10)], X ~ N(0, sigma^2) dB, is exp(sigma^2 ln(10)^2 / 200): +1.8421 dB for 4 dB, +4.1447 dB for 6 dB
    assert pathloss.shadowing_mean_gain_db(4.0) == pytest.approx(1.8421, abs=1e-4)
    assert pathloss.shadowing_mean_gain_db(6.0) == pytest.approx(4.1447, abs=1e-4)
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 6.0, 400_000)
    assert 10 * np.log10(np.mean(10 ** (x / 10))) == pytest.approx(4.1447, abs=0.1)
    base = pathloss.mean_path_gain_db("uma", 3.5e9, 300.0, 25.0, 1.5, los_prob=1.0)
    with_mean = pathloss.mean_path_gain_db("uma", 3.5e9, 300.0, 25.0, 1.5, los_prob=1.0, include_shadowing_mean=True)
    assert with_mean - base == pytest.approx(1.8421, abs=1e-4)


def test_short_distances_held_at_model_minimum():
    # d2D below 10 m is evaluated at 10 m (module docstring): the loss is flat there, never lower.
    a = pathloss.path_loss_db("uma", "los", 3.5e9, np.array([1.0, 5.0, 10.0]), 25.0, 1.5)
    np.testing.assert_allclose(a, a[-1])


def test_uma_mean_gain_uses_one_h_e_for_both_states():
    rng = np.random.default_rng(5)
    g = pathloss.mean_path_gain_db("uma", 3.5e9, np.full(1000, 300.0), 25.0, 20.0, rng=rng)
    assert g.shape == (1000,) and np.all(np.isfinite(g))


# ------------------------------------------------------------------ panel
def test_panel_traffic_gain_at_tilt():
    # element at theta = 96 (6 deg tilt): 8 - 12 (6/65)^2 = 7.8978 dBi; 3-element sub-array steered to the tilt:
    # 10 log10(3) = 4.7712; 4 x 8 digital TRX per polarisation: 10 log10(32) = 15.0515; loss 3 dB -> 24.7205 dBi
    panel = antenna.get_antenna("nr-64t64r")
    assert (panel.n_trx_rows, panel.subarray_size) == (4, 3)
    assert panel.traffic_gain_dbi(96.0, 0.0) == pytest.approx(24.7205, abs=1e-4)
    assert 24.0 <= panel.max_gain_dbi <= 25.0


def test_panel_ssb_beam_centre():
    # SSB beam 5 of 8 points at u = sin(phi) sin(theta) = 0.108253 (centres evenly spaced in u over +-sin 60 deg);
    # at theta = 96 that is phi = 6.2490 deg. Gain: element 8 - 12 (6/65)^2 - 12 (6.249/65)^2 = 7.7868 dBi,
    # + sub-array 4.7712 + 8 columns 9.0309 + 1 vertical TRX row 0 - loss 3 = 18.5890 dBi
    panel = antenna.get_antenna("nr-64t64r")
    assert panel.ssb_gain_dbi(96.0, 6.24899648) == pytest.approx(18.5890, abs=2e-3)


def test_panel_ssb_table_matches_direct_beam_maximum():
    # Cross-check: the tabulated SSB envelope against the explicit maximum over the 8 beams.
    panel = antenna.get_antenna("nr-64t64r")
    rng = np.random.default_rng(0)
    theta = rng.uniform(85.0, 125.0, 2000)
    phi = rng.uniform(-80.0, 80.0, 2000)
    u = np.sin(np.radians(theta)) * np.sin(np.radians(phi))
    direct = np.max(
        [antenna._ula_gain_db(u, c, panel.n_cols, 0.5) for c in panel.ssb_beam_directions_u], axis=0
    )
    rest = (
        np.asarray(antenna.element_gain_dbi(theta, phi))
        + antenna.vertical_array_gain_db(theta, panel.subarray_size, panel.tilt_deg)
        - panel.loss_db
    )
    table = panel.ssb_gain_dbi(theta, phi) - rest
    strong = direct > -10.0  # away from the nulls, where linear interpolation of a dB curve is coarse
    assert np.max(np.abs(table[strong] - direct[strong])) < 0.02


def test_panel_interference_is_beam_average():
    # Cross-check: interference_gain_dbi against a brute-force linear average of traffic beams steered over
    # +-60 deg azimuth and +-15 deg zenith around the tilt.
    panel = antenna.get_antenna("nr-64t64r")
    for theta, phi in [(96.0, 0.0), (100.0, 30.0), (93.0, -50.0)]:
        u = math.sin(math.radians(theta)) * math.sin(math.radians(phi))
        w = math.cos(math.radians(theta))
        steer_h = np.sin(np.radians(np.linspace(-60, 60, 601)))
        steer_v = np.cos(np.radians(np.linspace(96 - 15, 96 + 15, 301)))
        gh = np.mean(10 ** (antenna._ula_gain_db(u, steer_h, 8, 0.5) / 10))
        gv = np.mean(10 ** (antenna._ula_gain_db(w, steer_v, 4, 1.5) / 10))
        rest = (
            antenna.element_gain_dbi(theta, phi)
            + antenna.vertical_array_gain_db(theta, 3, 6.0)
            - 3.0
        )
        expected = rest + 10 * np.log10(gh) + 10 * np.log10(gv)
        assert panel.interference_gain_dbi(theta, phi) == pytest.approx(expected, abs=0.05)


def test_get_antenna_overrides():
    panel = antenna.get_antenna("nr-64t64r", tilt_deg=9.0)
    assert panel.tilt_deg == 9.0
    # the traffic beam peaks near the new tilt
    assert panel.traffic_gain_dbi(99.0, 0.0) > panel.traffic_gain_dbi(90.0, 0.0)
    sector = antenna.get_antenna("tr36814-sector", tilt_deg=4.0)
    assert sector.gain_dbi(94.0, 0.0) == pytest.approx(17.0)
    assert antenna.get_antenna("tr38901-10x1").max_gain_dbi == pytest.approx(18.0)


# ------------------------------------------------------------------ throughput
def test_throughput_hand_value():
    # SINR 10 dB, Gamma 3 dB: log2(1 + 10^0.7) = 2.5878 -> CQI 6 of Table 2 (2.4063 <= 2.5878 < 2.7305)
    # 1e-6 * 2 layers * 2.4063 * (273 * 12 / 35.714 us = 91.728e6) * (1 - 0.14) * TDD 0.75 * (1 - load 0.5)
    # = 142.3677 Mbit/s
    assert nr.sinr_to_cqi(10.0) == 6
    assert nr.throughput_mbps(10.0, 100e6, 2, 0.75, 0.5) == pytest.approx(142.3677, abs=1e-3)
    # full load leaves nothing; below CQI 1 nothing either
    assert nr.throughput_mbps(10.0, 100e6, 2, 0.75, 1.0) == 0.0
    assert nr.throughput_mbps(-10.0, 100e6, 2, 0.75, 0.0) == 0.0


def test_throughput_tops_out_at_the_peak_rate_shape():
    # At high SINR the efficiency is CQI 15 (7.4063) vs the peak formula's Qm Rmax = 8 * 948/1024 = 7.40625:
    # single user, full TDD share, no load -> the TS 38.306 rate within 0.001 %
    peak = nr.peak_data_rate_mbps(100e6, 30e3, 4, "256qam")
    assert nr.throughput_mbps(40.0, 100e6, 4, 1.0, 0.0) == pytest.approx(peak, rel=1e-5)


def test_throughput_arrays_broadcast():
    out = nr.throughput_mbps(np.array([[0.0], [20.0]]), 100e6, 2, 0.75, np.array([0.0, 0.5, 0.9]))
    assert out.shape == (2, 3)
    assert np.all(np.diff(out, axis=1) <= 0)
