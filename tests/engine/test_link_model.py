"""Rank adaptation and uplink power control: properties and a hand computation."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qamtu.engine import EngineConfig
from qamtu.engine.montecarlo import ul_snr_db
from qamtu.radio import nr


@settings(max_examples=60, deadline=None)
@given(sinr=st.floats(-20, 50), load=st.floats(0, 0.95), layers=st.integers(1, 4))
def test_rank_adaptation_never_lowers_the_rate(sinr, load, layers):
    """The adapted rate is at least the single-layer rate and at least any fixed rank's rate with the power split,
    and it is non-decreasing in the SINR."""
    r = nr.rank_adapted_throughput_mbps(sinr, 100e6, layers, 0.743, load)
    for n in range(1, layers + 1):
        fixed = nr.throughput_mbps(sinr - 10 * math.log10(n), 100e6, n, 0.743, load)
        assert r >= fixed - 1e-9
    assert nr.rank_adapted_throughput_mbps(sinr + 1.0, 100e6, layers, 0.743, load) >= r - 1e-9
    assert nr.rank_adapted_throughput_mbps(sinr, 100e6, layers + 1, 0.743, load) >= r - 1e-9


def test_ul_power_control_hand_computation():
    """TS 38.213 7.1.1 open loop, whole carrier (273 PRB at 30 kHz), per RE, by hand:
    P_max,RE = 23 - 10 log10(3276) = -12.153 dBm; P0,RE = -90 + 10 log10(2) - 10 log10(12) = -97.782 dBm.
    SSB EPRE 18 dBm, RSRP -100 dBm -> PL = 118 dB; P0 + 0.8 PL = -3.382 > P_max -> capped at -12.153 dBm.
    gNB noise per RE: -174 + 10 log10(30e3) + 5 = -124.229 dBm, + 3 dB rise = -121.229 dBm.
    Traffic beam 20 dB above the SSB RSRP: SNR = -12.153 - 118 + 20 + 121.229 = 11.076 dB.
    At RSRP -70 dBm (PL 88 dB): P0 + 0.8 * 88 = -27.382 dBm (not capped): SNR = -27.382 - 88 + 20 + 121.229."""
    cfg = EngineConfig()
    got = ul_snr_db(np.array([-100.0, -70.0]), np.array([18.0, 18.0]), np.array([20.0, 20.0]), cfg)
    pmax = 23 - 10 * math.log10(12 * 273)
    p0 = -90 + 10 * math.log10(2) - 10 * math.log10(12)
    nd = -174 + 10 * math.log10(30e3) + 5 + 3
    assert got[0] == np.float64(got[0]) and abs(got[0] - (pmax - 118 + 20 - nd)) < 1e-9
    assert abs(got[1] - (p0 + 0.8 * 88 - 88 + 20 - nd)) < 1e-9
    assert abs(got[0] - 11.076) < 0.01
