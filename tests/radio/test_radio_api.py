"""Smoke-level checks of the radio API the engine relies on: shapes, broadcasting, scalar in -> float out."""

import numpy as np
import pytest

from qamtu.errors import InvalidInputError, OutOfRangeError
from qamtu.radio import antenna, nr, o2i, pathloss


@pytest.mark.parametrize("scenario,h_bs", [("rma", 35.0), ("uma", 25.0), ("umi", 10.0), ("inh", 3.0)])
@pytest.mark.parametrize("condition", ["los", "nlos"])
def test_path_loss_scalar_and_array(scenario, condition, h_bs):
    h_ut = 1.0 if scenario == "inh" else 1.5
    d = np.array([20.0, 50.0, 100.0])
    pl = pathloss.path_loss_db(scenario, condition, 3.5e9, d, h_bs, h_ut)
    assert pl.shape == (3,)
    one = pathloss.path_loss_db(scenario, condition, 3.5e9, 50.0, h_bs, h_ut)
    assert isinstance(one, float)
    assert one == pytest.approx(pl[1])
    # broadcasting: (2, 1) frequencies against (3,) distances
    grid = pathloss.path_loss_db(scenario, condition, np.array([[3.5e9], [3.7e9]]), d, h_bs, h_ut)
    assert grid.shape == (2, 3)


def test_validate_false_matches_validated():
    d = np.linspace(10, 5000, 50)
    a = pathloss.path_loss_db("uma", "nlos", 3.6e9, d, 25.0, 1.5)
    b = pathloss.path_loss_db("uma", "nlos", 3.6e9, d, 25.0, 1.5, validate=False)
    np.testing.assert_array_equal(a, b)


def test_mean_gain_between_los_and_nlos():
    d = np.array([30.0, 300.0, 3000.0])
    g = pathloss.mean_path_gain_db("uma", 3.6e9, d, 25.0, 1.5)
    pl_los = pathloss.path_loss_db("uma", "los", 3.6e9, d, 25.0, 1.5)
    pl_nlos = pathloss.path_loss_db("uma", "nlos", 3.6e9, d, 25.0, 1.5)
    assert np.all(-g <= pl_nlos + 1e-12) and np.all(-g >= pl_los - 1e-12)


def test_o2i_and_car_constants():
    assert o2i.CAR_LOSS_DB == 9.0 and o2i.CAR_STD_DB == 5.0
    assert o2i.o2i_std_db("low") == 4.4 and o2i.o2i_std_db("high") == 6.5
    assert o2i.o2i_loss_db(3.5e9, "high", 0.0) > o2i.o2i_loss_db(3.5e9, "low", 0.0)


def test_antenna_models_by_name():
    for name in ("nr-64t64r", "tr38901-element", "tr36814-sector", "tr38901-10x1"):
        ant = antenna.get_antenna(name)
        th = np.array([90.0, 100.0, 120.0])
        ph = np.array([0.0, 30.0, -60.0])
        for fn in (ant.ssb_gain_dbi, ant.traffic_gain_dbi, ant.interference_gain_dbi):
            g = fn(th, ph)
            assert g.shape == (3,) and np.all(np.isfinite(g))
            assert np.all(g <= ant.max_gain_dbi + 1e-9)
    with pytest.raises(InvalidInputError, match="not one of"):
        antenna.get_antenna("dipole")


def test_nr_basics():
    assert nr.n_prb(100e6, 30e3) == 273
    assert nr.thermal_noise_dbm(100e6, 7.0) == pytest.approx(-87.0)
    with pytest.raises(OutOfRangeError):
        nr.thermal_noise_dbm(-1.0, 7.0)


def test_antenna_validate_false_matches_validated():
    rng = np.random.default_rng(2)
    th = rng.uniform(60.0, 140.0, 500)
    ph = rng.uniform(-180.0, 180.0, 500)
    for name in ("nr-64t64r", "tr38901-element", "tr36814-sector", "tr38901-10x1"):
        ant = antenna.get_antenna(name)
        for fn in (ant.ssb_gain_dbi, ant.traffic_gain_dbi, ant.interference_gain_dbi):
            np.testing.assert_array_equal(fn(th, ph), fn(th, ph, validate=False))
    a = antenna.local_angles(ph, th, 30.0, 4.0)
    b = antenna.local_angles(ph, th, 30.0, 4.0, validate=False)
    np.testing.assert_array_equal(a, b)


def test_radio_imports_no_cli_or_heavy_optional_packages():
    # Layering (docs/DESIGN.md): radio -> units/errors only; no Typer, Folium, Dask or geography.
    import subprocess
    import sys

    code = (
        "import sys, qamtu.radio; "
        "bad = [m for m in ('typer', 'folium', 'dask', 'geopandas', 'rasterio', 'qamtu.geo', 'qamtu.engine', "
        "'qamtu.cli') if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
