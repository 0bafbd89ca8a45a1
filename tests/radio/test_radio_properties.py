"""Hypothesis properties of the radio physics (TR 38.901 path loss and LOS probability, coverage probability,
unit round trips, antenna bounds, throughput monotonicity). Modest example counts, no deadline."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qamtu import units
from qamtu.radio import antenna, nr, pathloss

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# RMa LOS is the one place where TR 38.901's own formula is not monotone: PL2 = PL1(dBP) + 40 log10(d3D/dBP) is
# evaluated at d3D > dBP when d2D = dBP, while PL1 carries the linear term 0.002 log10(h) d; for tall buildings
# (h = 50 m) and dBP of a few km, PL1(d3D) exceeds PL2 by up to ~0.01 dB across the breakpoint (worked out:
# eps = (hBS - hUT)^2 / (2 dBP^2), drop ~ eps (0.002 log10(h) dBP - (20 - a)/ln 10) <= 0.0072 dB at dBP ~ 3 km).
# qamtu keeps the published formula; the property allows that drop there and nowhere else.
RMA_LOS_BREAKPOINT_DROP_DB = 0.01


def _params(scenario):
    v = pathloss.VALIDITY[scenario]
    f = st.floats(v["freq_hz"][0], v["freq_hz"][1])
    hb = st.floats(*v["h_bs_m"])
    hu = st.floats(*v["h_ut_m"])
    return f, hb, hu


@st.composite
def link(draw, scenario):
    f, hb, hu = _params(scenario)
    v = pathloss.VALIDITY[scenario]
    d_max = min(v["d_max_m"].values())
    d1 = draw(st.floats(0.5, d_max))
    d2 = draw(st.floats(d1, d_max))
    return draw(f), d1, d2, draw(hb), draw(hu)


@pytest.mark.parametrize("scenario", ["rma", "uma", "umi", "inh"])
@pytest.mark.parametrize("condition", ["los", "nlos"])
@SETTINGS
@given(data=st.data())
def test_path_loss_non_decreasing_in_distance(scenario, condition, data):
    f, d1, d2, hb, hu = data.draw(link(scenario))
    kw = {}
    if scenario == "inh":
        assume(math.hypot(d2, hb - hu) <= 150.0)
    if scenario == "rma":
        kw = dict(h_building_m=data.draw(st.floats(5.0, 50.0)), street_width_m=data.draw(st.floats(5.0, 50.0)))
    if scenario == "uma":
        kw = dict(h_e_m=1.0)  # a fixed hE (the random draw would move the breakpoint between the two calls)
    pl1 = pathloss.path_loss_db(scenario, condition, f, d1, hb, hu, **kw)
    pl2 = pathloss.path_loss_db(scenario, condition, f, d2, hb, hu, **kw)
    slack = RMA_LOS_BREAKPOINT_DROP_DB if scenario == "rma" else 1e-9
    assert pl2 >= pl1 - slack


@pytest.mark.parametrize("scenario", ["rma", "uma", "umi", "inh"])
@SETTINGS
@given(data=st.data())
def test_nlos_never_below_los(scenario, data):
    f, d1, _, hb, hu = data.draw(link(scenario))
    if scenario == "inh":
        assume(math.hypot(d1, hb - hu) <= 150.0)
    kw = dict(h_e_m=1.0) if scenario == "uma" else {}
    los = pathloss.path_loss_db(scenario, "los", f, d1, hb, hu, **kw)
    nlos = pathloss.path_loss_db(scenario, "nlos", f, d1, hb, hu, **kw)
    assert nlos >= los


@pytest.mark.parametrize("scenario", ["rma", "uma", "umi", "inh"])
@SETTINGS
@given(d1=st.floats(0.0, 20_000.0), dd=st.floats(0.0, 5_000.0), h_ut=st.floats(1.0, 23.0))
def test_los_probability_bounded_and_non_increasing(scenario, d1, dd, h_ut):
    p1 = pathloss.los_probability(scenario, d1, h_ut)
    p2 = pathloss.los_probability(scenario, d1 + dd, h_ut)
    assert 0.0 <= p2 <= p1 <= 1.0


@SETTINGS
@given(
    thr1=st.floats(-150.0, -40.0),
    step=st.floats(0.0, 50.0),
    prx_los=st.floats(-160.0, -30.0),
    prx_nlos=st.floats(-160.0, -30.0),
    p_los=st.floats(0.0, 1.0),
    s_los=st.floats(0.0, 10.0),
    s_nlos=st.floats(0.0, 10.0),
    extra=st.floats(0.0, 8.0),
)
def test_coverage_probability_non_increasing_in_threshold(thr1, step, prx_los, prx_nlos, p_los, s_los, s_nlos, extra):
    args = (prx_los, prx_nlos, p_los, s_los, s_nlos)
    c1 = pathloss.coverage_probability(thr1, *args, extra_sigma_db=extra)
    c2 = pathloss.coverage_probability(thr1 + step, *args, extra_sigma_db=extra)
    assert 0.0 <= c2 <= c1 + 1e-15 <= 1.0 + 1e-15


@SETTINGS
@given(x=st.lists(st.floats(-200.0, 200.0), min_size=1, max_size=20))
def test_db_linear_round_trip_arrays(x):
    arr = np.array(x)
    np.testing.assert_allclose(units.linear_to_db(units.db_to_linear(arr)), arr, atol=1e-9)
    np.testing.assert_allclose(units.mw_to_dbm(units.dbm_to_mw(arr)), arr, atol=1e-9)


@SETTINGS
@given(d=st.floats(10.0, 5000.0), f=st.floats(0.5e9, 100e9))
def test_mean_path_gain_round_trips_through_linear(d, f):
    # With P_LOS = 1 (0) the linear-domain mixture is the LOS (NLOS) state alone: dB -> linear -> dB round trip.
    los = pathloss.path_loss_db("umi", "los", f, d, 10.0, 1.5)
    nlos = pathloss.path_loss_db("umi", "nlos", f, d, 10.0, 1.5)
    assert pathloss.mean_path_gain_db("umi", f, d, 10.0, 1.5, los_prob=1.0) == pytest.approx(-los, abs=1e-9)
    assert pathloss.mean_path_gain_db("umi", f, d, 10.0, 1.5, los_prob=0.0) == pytest.approx(-nlos, abs=1e-9)
    mixed = pathloss.mean_path_gain_db("umi", f, d, 10.0, 1.5)
    assert -nlos - 1e-9 <= mixed <= -los + 1e-9


@SETTINGS
@given(theta=st.floats(0.0, 180.0), phi=st.floats(-720.0, 720.0))
def test_element_gain_bounds_and_symmetry(theta, phi):
    g = antenna.element_gain_dbi(theta, phi)
    assert -22.0 - 1e-9 <= g <= 8.0 + 1e-9
    assert g == pytest.approx(antenna.element_gain_dbi(theta, -phi), abs=1e-9)
    assert g == pytest.approx(antenna.element_gain_dbi(theta, phi + 360.0), abs=1e-9)


@SETTINGS
@given(theta=st.floats(0.0, 180.0), bearing=st.floats(0.0, 360.0), az=st.floats(0.0, 360.0))
def test_local_angles_without_tilt_is_a_pure_azimuth_shift(theta, bearing, az):
    assume(1e-6 < theta < 180.0 - 1e-6)  # azimuth undefined at the poles
    th_l, ph_l = antenna.local_angles(bearing, theta, az, 0.0)
    assert th_l == pytest.approx(theta, abs=1e-7)
    expected = (az - bearing + 180.0) % 360.0 - 180.0
    diff = (ph_l - expected + 180.0) % 360.0 - 180.0
    assert abs(diff) < 1e-7


@SETTINGS
@given(theta=st.floats(92.0, 120.0), phi=st.floats(-60.0, 60.0))
def test_panel_traffic_beam_dominates_broadcast_and_interference(theta, phi):
    # Within the scan range the UE-specific beam, pointed at the UE, is never weaker than the SSB sweep's best beam
    # or the average of beams pointed elsewhere.
    panel = antenna.get_antenna("nr-64t64r")
    t = panel.traffic_gain_dbi(theta, phi)
    assert t >= panel.ssb_gain_dbi(theta, phi) - 1e-9
    assert t >= panel.interference_gain_dbi(theta, phi) - 1e-9
    assert t <= panel.max_gain_dbi + 1e-9


@SETTINGS
@given(s1=st.floats(-20.0, 40.0), ds=st.floats(0.0, 20.0), l1=st.floats(0.0, 1.0), dl=st.floats(0.0, 1.0))
def test_throughput_monotone_in_sinr_and_load(s1, ds, l1, dl):
    l2 = min(l1 + dl, 1.0)
    a = nr.throughput_mbps(s1, 100e6, 2, 0.75, l1)
    assert nr.throughput_mbps(s1 + ds, 100e6, 2, 0.75, l1) >= a
    assert nr.throughput_mbps(s1, 100e6, 2, 0.75, l2) <= a + 1e-12
