"""NR link references: TS 38.306 4.1.2 worked rate, TS 38.101-1 Table 5.3.2-1, TS 38.214 CQI tables, noise, RSRP.

Sources: 3GPP TS 38.306 V17.0.0 clause 4.1.2; 3GPP TS 38.101-1 V17.5.0 Table 5.3.2-1; 3GPP TS 38.214 V17.1.0
Tables 5.2.2.1-2 and 5.2.2.1-3; 3GPP TS 38.215 V17.1.0 clause 5.1.1 (SS-RSRP per RE).
"""

import numpy as np
import pytest

from qamtu.radio import nr


def test_ts38306_worked_rate_100mhz_30khz_4layers_256qam():
    """TS 38.306 4.1.2, DL FR1, one carrier, f = 1, by hand term by term.

    rate = 1e-6 * v * Qm * f * Rmax * N_PRB * 12 / Ts * (1 - OH)
    v = 4 layers, Qm = 8 (256QAM), f = 1, Rmax = 948/1024 = 0.92578125     -> v Qm f Rmax = 29.625
    N_PRB = 273 (TS 38.101-1 Table 5.3.2-1, 100 MHz at 30 kHz), mu = 1
    Ts = 1e-3 / (14 * 2^1) = 35.714 us                                      -> 273 * 12 / Ts = 91.728e6 /s
    OH = 0.14 (DL, FR1)                                                     -> 29.625 * 91.728e6 * 0.86
    = 2337.00012 Mbit/s (about 2.34 Gbit/s). Tolerance 1e-6 Mbit/s: exact arithmetic.
    """
    terms = 4 * 8 * 1.0 * (948 / 1024)
    assert terms == 29.625
    assert 273 * 12 / (1e-3 / 28) == pytest.approx(91.728e6)
    rate = nr.peak_data_rate_mbps(100e6, 30e3, 4, "256qam")
    assert rate == pytest.approx(2337.00012, abs=1e-6)
    assert rate == pytest.approx(1e-6 * terms * 91.728e6 * 0.86, rel=1e-12)


@pytest.mark.parametrize(
    "bw, scs, layers, mod, direction, scaling, expected",
    [
        # UL FR1, OH = 0.08: 1 * 8 * 0.92578125 * 91.728e6 * 0.92 = 625.01166 Mbit/s
        (100e6, 30e3, 1, "256qam", "ul", 1.0, 625.01166),
        # 20 MHz / 30 kHz: N_PRB = 51; 2 layers 64QAM f = 0.75: 2*6*0.75*0.92578125 * 51*12/35.714us * 0.86
        (20e6, 30e3, 2, "64qam", "dl", 0.75, 122.78881),
        # 5 MHz / 15 kHz: N_PRB = 25, mu = 0, Ts = 71.43 us; 1 * 2 * 0.92578125 * 25*12/71.43us * 0.86 = 6.68784
        (5e6, 15e3, 1, "qpsk", "dl", 1.0, 6.68784),
    ],
)
def test_ts38306_other_cases(bw, scs, layers, mod, direction, scaling, expected):
    got = nr.peak_data_rate_mbps(bw, scs, layers, mod, direction=direction, scaling=scaling)
    assert got == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    "bw_mhz, scs_khz, n",
    [(100, 30, 273), (90, 30, 245), (60, 30, 162), (40, 30, 106), (20, 30, 51), (5, 30, 11),
     (50, 15, 270), (20, 15, 106), (10, 15, 52), (5, 15, 25)],
)
def test_ts38101_1_table_5_3_2_1(bw_mhz, scs_khz, n):
    # TS 38.101-1 V17.5.0 Table 5.3.2-1, maximum transmission bandwidth configuration N_RB (FR1)
    assert nr.n_prb(bw_mhz * 1e6, scs_khz * 1e3) == n


@pytest.mark.parametrize(
    "table, cqi, mod, rate1024, eff",
    [
        # TS 38.214 Table 5.2.2.1-2 (CQI Table 1)
        (1, 1, "qpsk", 78, 0.1523),
        (1, 6, "qpsk", 602, 1.1758),
        (1, 7, "16qam", 378, 1.4766),
        (1, 10, "64qam", 466, 2.7305),
        (1, 15, "64qam", 948, 5.5547),
        # TS 38.214 Table 5.2.2.1-3 (CQI Table 2)
        (2, 2, "qpsk", 193, 0.3770),
        (2, 4, "16qam", 378, 1.4766),
        (2, 7, "64qam", 466, 2.7305),
        (2, 12, "256qam", 711, 5.5547),
        (2, 15, "256qam", 948, 7.4063),
    ],
)
def test_ts38214_cqi_rows(table, cqi, mod, rate1024, eff):
    rows = nr.CQI_TABLE_1 if table == 1 else nr.CQI_TABLE_2
    assert rows[cqi] == (cqi, mod, rate1024, eff)
    assert nr.cqi_to_efficiency(cqi, table) == eff


@pytest.mark.parametrize("rows", [nr.CQI_TABLE_1, nr.CQI_TABLE_2])
def test_cqi_tables_efficiency_is_qm_r_over_1024(rows):
    # The printed efficiency is Qm * R / 1024 rounded to 4 decimals (TS 38.214 Tables 5.2.2.1-2/-3).
    qm = {"qpsk": 2, "16qam": 4, "64qam": 6, "256qam": 8}
    assert len(rows) == 16
    for cqi, mod, r, eff in rows[1:]:
        assert eff == pytest.approx(qm[mod] * r / 1024, abs=6e-5), cqi
    effs = [row[3] for row in rows]
    assert effs == sorted(effs)


def test_thermal_noise():
    # -174 dBm/Hz + NF + 10 log10(B): 20 MHz, NF 9 dB -> -174 + 9 + 73.0103 = -91.9897 dBm
    assert nr.thermal_noise_dbm(20e6, 9.0) == pytest.approx(-91.9897, abs=1e-4)
    # one 30 kHz subcarrier, NF 7 dB: -174 + 7 + 44.7712 = -122.2288 dBm
    assert nr.thermal_noise_dbm(30e3, 7.0) == pytest.approx(-122.2288, abs=1e-4)


def test_ss_rsrp_per_resource_element():
    # TS 38.215 5.1.1 (power per RE): 53 dBm (200 W) over 273 * 12 = 3276 subcarriers:
    # 53 - 10 log10(3276) = 53 - 35.1534 = 17.8466 dBm per RE; with 24 dBi gain and 120 dB loss: -78.1534 dBm
    assert nr.ss_rsrp_dbm(53.0, 3276, 0.0) == pytest.approx(17.8466, abs=1e-4)
    assert nr.ss_rsrp_dbm(53.0, 3276, 24.0 - 120.0) == pytest.approx(-78.1534, abs=1e-4)


def test_sinr_to_cqi_shannon_gap_thresholds():
    # Gamma = 3 dB: CQI k is reached where log2(1 + SINR/Gamma) >= eff_k, i.e. SINR >= Gamma (2^eff_k - 1).
    # CQI 1 (0.1523): 3 + 10 log10(2^0.1523 - 1) = 3 - 9.5335 = -6.5335 dB
    assert nr.sinr_to_cqi(-6.52, table=2) == 1
    assert nr.sinr_to_cqi(-6.55, table=2) == 0
    # Table 2 CQI 15 (7.4063): 3 + 10 log10(2^7.4063 - 1) = 3 + 22.2695 = 25.2695 dB
    assert nr.sinr_to_cqi(25.28, table=2) == 15
    assert nr.sinr_to_cqi(25.26, table=2) == 14
    # the gap is a parameter: with Gamma = 0 dB CQI 1 needs only -9.5335 dB
    assert nr.sinr_to_cqi(-9.5, table=1, gap_db=0.0) == 1
    np.testing.assert_array_equal(nr.sinr_to_cqi(np.array([-20.0, 40.0]), table=1), [0, 15])
