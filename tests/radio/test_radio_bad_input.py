"""Bad input: every message names the parameter, the bad value and the allowed range."""

import numpy as np
import pytest

from qamtu.errors import InvalidInputError, OutOfRangeError
from qamtu.radio import antenna, nr, o2i, pathloss


def _uma(**overrides):
    args = dict(freq_hz=3.5e9, d2d_m=100.0, h_bs_m=25.0, h_ut_m=1.5)
    args.update(overrides)
    return pathloss.path_loss_db("uma", "los", args["freq_hz"], args["d2d_m"], args["h_bs_m"], args["h_ut_m"])


@pytest.mark.parametrize("d", [0.0, -5.0])
def test_zero_or_negative_distance(d):
    with pytest.raises(OutOfRangeError, match=r"d2d_m = .* is outside the valid range for UMa LOS: \(0, 5000\] m"):
        _uma(d2d_m=d)


def test_distance_beyond_model_range():
    with pytest.raises(OutOfRangeError, match=r"d2d_m = 6000 m .*\(0, 5000\] m"):
        _uma(d2d_m=6000.0)
    with pytest.raises(OutOfRangeError, match="RMa NLOS"):
        pathloss.path_loss_db("rma", "nlos", 3.5e9, 7000.0, 35.0, 1.5)
    # RMa LOS is valid to 10 km
    assert pathloss.path_loss_db("rma", "los", 3.5e9, 7000.0, 35.0, 1.5) > 0
    with pytest.raises(OutOfRangeError, match="d3d_m"):
        pathloss.path_loss_db("inh", "los", 3.5e9, 200.0, 3.0, 1.0)


def test_array_message_points_at_first_bad_element():
    with pytest.raises(OutOfRangeError, match=r"d2d_m = -3 m \(at index 2; 2 of 4 values bad\)"):
        _uma(d2d_m=np.array([10.0, 20.0, -3.0, -4.0]))


@pytest.mark.parametrize("f", [0.4e9, 101e9])
def test_frequency_outside_0p5_100_ghz(f):
    with pytest.raises(OutOfRangeError, match=r"freq_hz = .* Hz is outside the valid range for UMa: \[0.5, 100\] GHz"):
        _uma(freq_hz=f)


def test_rma_frequency_limit_30_ghz():
    with pytest.raises(OutOfRangeError, match=r"RMa: \[0.5, 30\] GHz"):
        pathloss.path_loss_db("rma", "los", 40e9, 100.0, 35.0, 1.5)


@pytest.mark.parametrize(
    "scenario, h_bs, h_ut, name",
    [("uma", 25.0, 0.5, "h_ut_m"), ("uma", 25.0, 30.0, "h_ut_m"), ("uma", 5.0, 1.5, "h_bs_m"),
     ("umi", 10.0, 25.0, "h_ut_m"), ("rma", 200.0, 1.5, "h_bs_m"), ("rma", 35.0, 12.0, "h_ut_m"),
     ("inh", 30.0, 1.0, "h_bs_m")],
)
def test_heights_outside_model_range(scenario, h_bs, h_ut, name):
    with pytest.raises(OutOfRangeError, match=name):
        pathloss.path_loss_db(scenario, "los", 3.5e9, 50.0, h_bs, h_ut)


def test_rma_building_and_street():
    with pytest.raises(OutOfRangeError, match=r"h_building_m = 60 m .*\[5, 50\] m"):
        pathloss.path_loss_db("rma", "nlos", 3.5e9, 100.0, 35.0, 1.5, h_building_m=60.0)
    with pytest.raises(OutOfRangeError, match="street_width_m"):
        pathloss.path_loss_db("rma", "nlos", 3.5e9, 100.0, 35.0, 1.5, street_width_m=2.0)


@pytest.mark.parametrize("field", ["freq_hz", "d2d_m", "h_bs_m", "h_ut_m"])
def test_nan_is_named(field):
    with pytest.raises(OutOfRangeError, match=f"{field} must be a finite number, got nan"):
        _uma(**{field: float("nan")})


def test_nan_elsewhere():
    with pytest.raises(OutOfRangeError, match="d2d_m"):
        pathloss.los_probability("umi", np.array([10.0, np.nan]))
    with pytest.raises(OutOfRangeError, match="sinr_db"):
        nr.sinr_to_cqi(np.nan)
    with pytest.raises(OutOfRangeError, match="theta_deg"):
        antenna.element_gain_dbi(np.nan, 0.0)
    with pytest.raises(OutOfRangeError, match="prx_los_dbm"):
        pathloss.coverage_probability(-100.0, np.nan, -110.0, 0.5, 4.0, 6.0)


def test_unknown_names():
    with pytest.raises(InvalidInputError, match="scenario = 'sma' is not one of"):
        pathloss.path_loss_db("sma", "los", 3.5e9, 100.0, 25.0, 1.5)
    with pytest.raises(InvalidInputError, match="condition = 'olos'"):
        pathloss.path_loss_db("uma", "olos", 3.5e9, 100.0, 25.0, 1.5)
    with pytest.raises(InvalidInputError, match="model = 'medium'"):
        o2i.o2i_loss_db(3.5e9, "medium", 5.0)
    with pytest.raises(InvalidInputError, match="not a number|must be a number"):
        pathloss.path_loss_db("uma", "los", "fast", 100.0, 25.0, 1.5)


def test_uma_tall_ut_needs_rng_or_h_e():
    with pytest.raises(InvalidInputError, match="rng=numpy.random.default_rng"):
        pathloss.path_loss_db("uma", "los", 3.5e9, 200.0, 25.0, 20.0)
    # deterministic with a seed
    a = pathloss.path_loss_db("uma", "los", 3.5e9, np.full(50, 200.0), 25.0, 20.0, rng=np.random.default_rng(3))
    b = pathloss.path_loss_db("uma", "los", 3.5e9, np.full(50, 200.0), 25.0, 20.0, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    # hE must leave positive effective heights
    with pytest.raises(OutOfRangeError, match="h_bs_m - h_e_m"):
        pathloss.path_loss_db("uma", "los", 3.5e9, 200.0, 12.0, 20.0, h_e_m=15.0)
    with pytest.raises(OutOfRangeError, match="h_ut_m - h_e_m"):
        pathloss.path_loss_db("uma", "los", 3.5e9, 200.0, 25.0, 1.5, h_e_m=1.5)


def test_probability_and_sigma_ranges():
    with pytest.raises(OutOfRangeError, match=r"p_los = 1.5 is outside the valid range: \[0, 1\]"):
        pathloss.coverage_probability(-100.0, -90.0, -110.0, 1.5, 4.0, 6.0)
    with pytest.raises(OutOfRangeError, match="sigma_nlos_db"):
        pathloss.coverage_probability(-100.0, -90.0, -110.0, 0.5, 4.0, -1.0)
    with pytest.raises(OutOfRangeError, match="los_prob"):
        pathloss.mean_path_gain_db("uma", 3.5e9, 100.0, 25.0, 1.5, los_prob=-0.1)
    with pytest.raises(InvalidInputError, match="RMa LOS shadow fading"):
        pathloss.shadow_fading_std_db("rma", "los")


def test_nr_bad_input():
    with pytest.raises(InvalidInputError, match=r"33 MHz\) is not a channel bandwidth for 30 kHz"):
        nr.n_prb(33e6, 30e3)
    with pytest.raises(InvalidInputError, match="scs_hz = 60000"):
        nr.n_prb(100e6, 60e3)
    with pytest.raises(InvalidInputError, match="layers = 9"):
        nr.peak_data_rate_mbps(100e6, 30e3, 9, "256qam")
    with pytest.raises(InvalidInputError, match="modulation = '1024qam'"):
        nr.peak_data_rate_mbps(100e6, 30e3, 4, "1024qam")
    with pytest.raises(InvalidInputError, match="scaling = 0.5"):
        nr.peak_data_rate_mbps(100e6, 30e3, 4, "256qam", scaling=0.5)
    with pytest.raises(OutOfRangeError, match=r"load = 1.2 is outside the valid range: \[0, 1\]"):
        nr.throughput_mbps(10.0, 100e6, 2, 0.75, 1.2)
    with pytest.raises(OutOfRangeError, match="tdd_share"):
        nr.throughput_mbps(10.0, 100e6, 2, 0.0, 0.5)
    with pytest.raises(InvalidInputError, match="cqi must be an integer"):
        nr.cqi_to_efficiency(3.5)
    with pytest.raises(OutOfRangeError, match="cqi = 16"):
        nr.cqi_to_efficiency(16)
    with pytest.raises(InvalidInputError, match="table = 3"):
        nr.sinr_to_cqi(10.0, table=3)


def test_antenna_bad_input():
    with pytest.raises(OutOfRangeError, match=r"theta_deg = 190 deg .*\[0, 180\] deg"):
        antenna.element_gain_dbi(190.0, 0.0)
    with pytest.raises(InvalidInputError, match="n_elements"):
        antenna.vertical_array_gain_db(90.0, 0)
    with pytest.raises(InvalidInputError, match="unexpected keyword|tilt_degrees"):
        antenna.get_antenna("tr38901-10x1", tilt_degrees=3)
    with pytest.raises(InvalidInputError, match="n_trx = 40"):
        antenna.MassiveMimoPanel(n_trx=40)
