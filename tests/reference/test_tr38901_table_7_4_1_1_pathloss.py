"""3GPP TR 38.901 V17.0.0 Table 7.4.1-1 (path loss), hand-worked, two distances either side of each breakpoint.

Source: 3GPP TR 38.901 V17.0.0 (2022-03), "Study on channel model for frequencies from 0.5 to 100 GHz", clause 7.4.1,
Table 7.4.1-1 and its notes 1 (effective heights, hE) and 5 (RMa breakpoint); ITU-R P.525-4 eq. (4) for free space.
Every expected value below was worked by hand from the printed formula, term by term (shown in the comments, logs to
5-6 digits), with fc = 3.5 GHz (20 log10(3.5) = 10.8814) and c = 3.0e8 m/s. Tolerance 2e-3 dB: the hand
arithmetic is carried to 4 decimals; a wrong coefficient or branch moves the result by 0.1 dB or more.
"""

import math

import numpy as np
import pytest

from qamtu.radio import pathloss

FC_HZ = 3.5e9
TOL_DB = 2e-3


def _pl(scenario, condition, d2d, h_bs, h_ut, **kw):
    return pathloss.path_loss_db(scenario, condition, FC_HZ, d2d, h_bs, h_ut, **kw)


# ---------------------------------------------------------------- free space
def test_fspl_itu_r_p525():
    # ITU-R P.525-4 eq. (4): L = 32.45 + 20 log10(f/MHz) + 20 log10(d/km) = 32.44 + 70.88 + 0 = 103.32 dB
    # (exactly 20 log10(4 pi 1000 3.5e9 / 3e8) = 20 log10(146607.7) = 103.3231 dB with c = 3e8)
    assert pathloss.fspl_db(3.5e9, 1000.0) == pytest.approx(103.3231, abs=TOL_DB)


# ---------------------------------------------------------------- UMa
# hBS = 25 m, hUT = 1.5 m, hE = 1 m (hUT < 13 m): d'BP = 4 * 24 * 0.5 * 3.5e9 / 3e8 = 560 m.
# 9 log10(d'BP^2 + (hBS - hUT)^2) = 9 log10(313600 + 552.25) = 9 * 5.49715 = 49.4743
def test_uma_breakpoint():
    assert pathloss.breakpoint_distance_m("uma", FC_HZ, 25.0, 1.5) == pytest.approx(560.0)


@pytest.mark.parametrize(
    "d2d, expected",
    [
        # PL1 = 28 + 22 log10(d3D) + 20 log10(fc); d3D = sqrt(200^2 + 23.5^2) = 201.3759, log10 = 2.30401
        # 28 + 50.6882 + 10.8814 = 89.5695
        (200.0, 89.5695),
        # d3D = 500.5519, log10 = 2.69945: 28 + 59.3879 + 10.8814 = 98.2692 (PL1, d2D = 500 <= 560)
        (500.0, 98.2692),
        # PL2 = 28 + 40 log10(d3D) + 20 log10(fc) - 9 log10(d'BP^2 + (hBS-hUT)^2); d3D = 600.4600, log10 = 2.77848
        # 28 + 111.1394 + 10.8814 - 49.4743 = 100.5465
        (600.0, 100.5465),
        # d3D = 1000.2761, log10 = 3.00012: 28 + 120.0048 + 10.8814 - 49.4743 = 109.4119
        (1000.0, 109.4119),
    ],
)
def test_uma_los(d2d, expected):
    assert _pl("uma", "los", d2d, 25.0, 1.5) == pytest.approx(expected, abs=TOL_DB)


@pytest.mark.parametrize(
    "d2d, expected",
    [
        # PL' = 13.54 + 39.08 log10(d3D) + 20 log10(fc) - 0.6 (hUT - 1.5) = 13.54 + 90.0406 + 10.8814 - 0 = 114.4620
        # > PL_LOS = 89.5695, so NLOS = 114.4620
        (200.0, 114.4620),
        # 13.54 + 39.08 * 3.00012 + 10.8814 = 13.54 + 117.2447 + 10.8814 = 141.6660 (> 109.4119)
        (1000.0, 141.6660),
    ],
)
def test_uma_nlos(d2d, expected):
    assert _pl("uma", "nlos", d2d, 25.0, 1.5) == pytest.approx(expected, abs=TOL_DB)


@pytest.mark.parametrize(
    "d2d, expected",
    [
        # hUT = 17.5 m, explicit hE = 12 m (note 1): h'BS = 13, h'UT = 5.5, d'BP = 4*13*5.5*3.5e9/3e8 = 3336.67 m
        # d2D = 1000 < d'BP: PL1, d3D = sqrt(1000^2 + 7.5^2) = 1000.0281: 28 + 22*3.000012 + 10.8814 = 104.8816
        (1000.0, 104.8816),
        # d2D = 4000 > d'BP: PL2 = 28 + 40 log10(4000.0070) + 10.8814 - 9 log10(3336.67^2 + 7.5^2)
        # = 28 + 144.0824 + 10.8814 - 63.4197 = 119.5441
        (4000.0, 119.5441),
    ],
)
def test_uma_los_with_effective_height(d2d, expected):
    assert _pl("uma", "los", d2d, 25.0, 17.5, h_e_m=12.0) == pytest.approx(expected, abs=TOL_DB)


# ---------------------------------------------------------------- UMi-Street Canyon
# hBS = 10 m, hUT = 1.5 m: d'BP = 4 * 9 * 0.5 * 3.5e9 / 3e8 = 210 m
# 9.5 log10(d'BP^2 + (hBS - hUT)^2) = 9.5 log10(44100 + 72.25) = 9.5 * 4.64514 = 44.1289
def test_umi_breakpoint():
    assert pathloss.breakpoint_distance_m("umi", FC_HZ, 10.0, 1.5) == pytest.approx(210.0)


@pytest.mark.parametrize(
    "d2d, expected",
    [
        # PL1 = 32.4 + 21 log10(d3D) + 20 log10(fc); d3D = 100.3606, log10 = 2.00156: 32.4 + 42.0328 + 10.8814
        (100.0, 85.3142),
        # d3D = 200.1805, log10 = 2.30142: 32.4 + 48.3298 + 10.8814 = 91.6112 (d2D = 200 <= 210)
        (200.0, 91.6112),
        # PL2 = 32.4 + 40 log10(d3D) + 20 log10(fc) - 9.5 log10(...); d3D = 250.1445, log10 = 2.39819
        # 32.4 + 95.9276 + 10.8814 - 44.1289 = 95.0801
        (250.0, 95.0801),
        # d3D = 400.0903, log10 = 2.60216: 32.4 + 104.0864 + 10.8814 - 44.1289 = 103.2388
        (400.0, 103.2388),
    ],
)
def test_umi_los(d2d, expected):
    assert _pl("umi", "los", d2d, 10.0, 1.5) == pytest.approx(expected, abs=TOL_DB)


@pytest.mark.parametrize(
    "d2d, expected",
    [
        # PL' = 35.3 log10(d3D) + 22.4 + 21.3 log10(fc) - 0.3 (hUT - 1.5); 21.3 log10(3.5) = 11.5886
        # 35.3 * 2.00156 + 22.4 + 11.5886 = 70.6552 + 33.9886 = 104.6438 (> LOS 85.3142)
        (100.0, 104.6438),
        # 35.3 * 2.60216 + 33.9886 = 91.8562 + 33.9886 = 125.8448 (> LOS 103.2388)
        (400.0, 125.8448),
    ],
)
def test_umi_nlos(d2d, expected):
    assert _pl("umi", "nlos", d2d, 10.0, 1.5) == pytest.approx(expected, abs=TOL_DB)


# ---------------------------------------------------------------- RMa
# hBS = 35 m, hUT = 1.5 m, h = 5 m, W = 20 m: dBP = 2 pi * 35 * 1.5 * 3.5e9 / 3e8 = 3848.45 m (actual heights).
# PL1(d) = 20 log10(40 pi d fc / 3) + min(0.03 h^1.72, 10) log10(d) - min(0.044 h^1.72, 14.77) + 0.002 log10(h) d
#   with h = 5: 0.03 h^1.72 = 0.477914, 0.044 h^1.72 = 0.700940, 0.002 log10(5) = 0.0013979
# PL1(dBP) = 121.4213
def test_rma_breakpoint():
    assert pathloss.breakpoint_distance_m("rma", FC_HZ, 35.0, 1.5) == pytest.approx(3848.451, abs=1e-3)


@pytest.mark.parametrize(
    "d2d, expected",
    [
        # d3D = 1000.5610: 20 log10(40 pi 1000.561 * 3.5 / 3) = 103.3280; + 0.477914 * 3.000244 = 1.4339;
        # - 0.700940; + 0.0013979 * 1000.561 = 1.3987 -> 105.4596
        (1000.0, 105.4596),
        # d3D = 3000.1870: 112.8661 + 0.477914 * 3.477148 - 0.700940 + 0.0013979 * 3000.187 = 118.0210
        (3000.0, 118.0210),
        # PL2 = PL1(dBP) + 40 log10(d3D / dBP); d3D = 5000.1122: 121.4213 + 40 log10(1.299254) = 121.4213 + 4.5478
        (5000.0, 125.9690),
        # d3D = 8000.0701: 121.4213 + 40 log10(2.078726) = 121.4213 + 12.7123 = 134.1336
        (8000.0, 134.1336),
    ],
)
def test_rma_los(d2d, expected):
    assert _pl("rma", "los", d2d, 35.0, 1.5) == pytest.approx(expected, abs=TOL_DB)


@pytest.mark.parametrize(
    "d2d, expected",
    [
        # PL' = 161.04 - 7.1 log10(W) + 7.5 log10(h) - (24.37 - 3.7 (h/hBS)^2) log10(hBS)
        #       + (43.42 - 3.1 log10(hBS)) (log10(d3D) - 3) + 20 log10(fc) - (3.2 (log10(11.75 hUT))^2 - 4.97)
        # = 161.04 - 9.23731 + 5.24228 - 37.51235 + 38.63339 * (3.000244 - 3) + 10.88136 + 0.00092 = 130.4243
        (1000.0, 130.4243),
        # log10(3000.187) = 3.477148: 119.53262 + 38.63339 * 0.477148 + 10.88136 + 0.00092 = 148.8488
        (3000.0, 148.8488),
    ],
)
def test_rma_nlos(d2d, expected):
    assert _pl("rma", "nlos", d2d, 35.0, 1.5, h_building_m=5.0, street_width_m=20.0) == pytest.approx(
        expected, abs=TOL_DB
    )


# ---------------------------------------------------------------- InH-Office
# hBS = 3 m, hUT = 1 m; d2D chosen so that d3D = 5 m and 50 m.
@pytest.mark.parametrize(
    "d3d, los, nlos",
    [
        # LOS = 32.4 + 17.3 log10(5) + 20 log10(3.5) = 32.4 + 12.0921 + 10.8814 = 55.3735
        # NLOS' = 17.3 + 38.3 log10(5) + 24.9 log10(3.5) = 17.3 + 26.7700 + 13.5473 = 57.6178 (> LOS)
        (5.0, 55.3735, 57.6178),
        # LOS = 32.4 + 17.3 * 1.69897 + 10.8814 = 72.6735; NLOS' = 17.3 + 38.3 * 1.69897 + 13.5473 = 95.9178
        (50.0, 72.6735, 95.9178),
    ],
)
def test_inh_office(d3d, los, nlos):
    d2d = math.sqrt(d3d**2 - 2.0**2)
    assert _pl("inh", "los", d2d, 3.0, 1.0) == pytest.approx(los, abs=TOL_DB)
    assert _pl("inh", "nlos", d2d, 3.0, 1.0) == pytest.approx(nlos, abs=TOL_DB)


def test_nlos_takes_los_where_los_is_larger():
    # InH: PL'_NLOS < PL_LOS when 17.3 + 38.3 x + 13.5473 < 32.4 + 17.3 x + 10.8814, i.e. x = log10(d3D) < 0.58:
    # at d3D = 2 m LOS = 32.4 + 5.2078 + 10.8814 = 48.4892 and PL' = 17.3 + 11.5293 + 13.5473 = 42.3766,
    # so NLOS = max(...) = 48.4892 (TR 38.901 Table 7.4.1-1: PL_NLOS = max(PL_LOS, PL'_NLOS)).
    d2d = 1e-6  # directly below the BS: d3D = hBS - hUT = 2 m
    assert _pl("inh", "nlos", d2d, 3.0, 1.0) == pytest.approx(48.4892, abs=TOL_DB)


# ---------------------------------------------------------------- shadow fading std
@pytest.mark.parametrize(
    "scenario, condition, sigma",
    [("uma", "los", 4.0), ("uma", "nlos", 6.0), ("umi", "los", 4.0), ("umi", "nlos", 7.82),
     ("inh", "los", 3.0), ("inh", "nlos", 8.03), ("rma", "nlos", 8.0)],
)
def test_shadow_fading_std(scenario, condition, sigma):
    # TR 38.901 V17.0.0 Table 7.4.1-1, column "Shadow fading std [dB]"
    assert pathloss.shadow_fading_std_db(scenario, condition) == sigma


def test_rma_los_shadow_fading_changes_at_breakpoint():
    # RMa LOS: sigma_SF = 4 dB for PL1 (d2D <= dBP = 3848 m), 6 dB for PL2
    s = pathloss.shadow_fading_std_db("rma", "los", np.array([3000.0, 5000.0]), freq_hz=FC_HZ, h_bs_m=35.0,
                                      h_ut_m=1.5)
    np.testing.assert_array_equal(s, [4.0, 6.0])
