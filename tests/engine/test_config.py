"""EngineConfig validation, TDD shares, the path-loss calibration file, physics cross-checks, import hygiene."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qamtu.engine import EngineConfig, EnvProfile, load_calibration, tdd_shares
from qamtu.engine import physics
from qamtu.engine.calibration_file import ClassCalibration, PathLossCalibration, write_calibration_file
from qamtu.errors import DataFileError, InvalidInputError, OutOfRangeError
from qamtu.radio import pathloss as pl


def test_defaults_are_the_documented_n78_values():
    cfg = EngineConfig()
    assert cfg.freq_hz == 3.65e9 and cfg.bandwidth_hz == 100e6 and cfg.scs_hz == 30e3
    assert cfg.rsrp_threshold_dbm == -110.0 and cfg.coverage_level == 0.9 and cfg.cell_load == 0.5
    assert cfg.min_dl_mbps == 50.0
    # DDDSU with a 10:2:2 special slot (TS 38.213 slot formats): DL (3 + 10/14)/5, UL (1 + 2/14)/5
    assert cfg.tdd_dl_share == pytest.approx((3 + 10 / 14) / 5)
    assert cfg.tdd_ul_share == pytest.approx((1 + 2 / 14) / 5)


@pytest.mark.parametrize("field,value", [("cell_load", 1.5), ("coverage_level", -0.1), ("freq_hz", 1e12),
                                         ("dl_layers", 0), ("chunk_pixels", 0), ("coverage_users", "cars"),
                                         ("cutoff_weak_sites", -1), ("cutoff_weak_sites", 2.0)])
def test_bad_config_values_are_named(field, value):
    with pytest.raises(InvalidInputError, match=field):
        EngineConfig(**{field: value})


def test_env_profile_checks():
    with pytest.raises(InvalidInputError, match="scenario"):
        EnvProfile("inh", 0.5, 0.5)
    with pytest.raises(OutOfRangeError, match="indoor_share"):
        EnvProfile("uma", 1.5, 0.5)
    with pytest.raises(InvalidInputError, match="rma"):
        EnvProfile("rma", 0.5, 0.2)
    assert sum(EnvProfile("uma", 0.8, 0.5).o2i_weights()) == pytest.approx(1.0)


def test_tdd_pattern_errors():
    assert tdd_shares("DDDDDDDSUU") == pytest.approx(((7 + 10 / 14) / 10, (2 + 2 / 14) / 10))
    with pytest.raises(InvalidInputError, match="TDD pattern"):
        tdd_shares("DDXU")


def _write(tmp_path, doc):
    p = tmp_path / "cal.json"
    p.write_text(json.dumps(doc))
    return p


GOOD = {"kind": "qamtu-pathloss-calibration", "version": 1, "reference_distance_m": 1000.0,
        "classes": {"urban": {"offset_db": 3.0, "slope_db_per_decade": -2.0, "n": 120, "rmse_db": 6.1}}}


def test_load_calibration_and_apply(tmp_path):
    cal = load_calibration(_write(tmp_path, GOOD))
    assert cal.correction_db("urban", 1000.0) == pytest.approx(3.0)
    assert cal.correction_db("urban", 10000.0) == pytest.approx(1.0)
    assert cal.correction_db("rural", 500.0) == 0.0
    # the engine adds it to both LOS states' loss
    t0 = physics.path_terms("uma", 3.65e9, np.array([1000.0]), 25.0, 1.5)
    t1 = physics.path_terms("uma", 3.65e9, np.array([1000.0]), 25.0, 1.5, correction_db=3.0)
    assert t1.pl_nlos_db[0] - t0.pl_nlos_db[0] == pytest.approx(3.0)


@pytest.mark.parametrize("patch,match", [
    ({"kind": "other"}, "kind"),
    ({"version": 2}, "version"),
    ({"reference_distance_m": -5}, "reference_distance_m"),
    ({"classes": {"city": {"offset_db": 1, "slope_db_per_decade": 0}}}, "classes.city"),
    ({"classes": {"urban": {"offset_db": "x", "slope_db_per_decade": 0}}}, "classes.urban.offset_db"),
    ({"classes": {"urban": {"offset_db": 1.0}}}, "slope_db_per_decade"),
    ({"classes": {"urban": {"offset_db": 100.0, "slope_db_per_decade": 0}}}, "implausible"),
])
def test_load_calibration_named_errors(tmp_path, patch, match):
    path = _write(tmp_path, {**GOOD, **patch})
    with pytest.raises(InvalidInputError, match=match) as err:
        load_calibration(path)
    assert str(path) in str(err.value)  # the message names the file as well as the field


def test_calibration_file_round_trip(tmp_path):
    """What the writer writes, the reader reads back as the same PathLossCalibration; a NaN rmse becomes null."""
    cal = PathLossCalibration(500.0, {"urban": ClassCalibration(3.5, -2.25, 120, 6.1),
                                      "rural": ClassCalibration(-1.0, 0.0, 40, float("nan"))})
    path = write_calibration_file(tmp_path / "c.json", cal, report={"note": "anything"})
    back = load_calibration(path)
    assert back.source == str(path) and back.reference_distance_m == 500.0
    assert back.classes["urban"] == cal.classes["urban"]
    assert back.classes["rural"].offset_db == -1.0 and back.classes["rural"].n == 40
    assert np.isnan(back.classes["rural"].rmse_db)
    doc = json.loads(path.read_text())
    assert doc["classes"]["rural"]["rmse_db"] is None and doc["report"] == {"note": "anything"}
    assert list(doc) == ["kind", "version", "reference_distance_m", "classes", "report"]
    # the file written from a document the reader accepts is the same calibration (GOOD written by hand)
    assert write_calibration_file(tmp_path / "g.json", load_calibration(_write(tmp_path, GOOD))).read_text() == (
        json.dumps(GOOD, indent=2) + "\n")


@pytest.mark.parametrize("cal,match", [
    (PathLossCalibration(1000.0, {}), "classes"),
    (PathLossCalibration(0.0, {"urban": ClassCalibration(1.0, 0.0)}), "reference_distance_m"),
    (PathLossCalibration(1000.0, {"city": ClassCalibration(1.0, 0.0)}), "classes.city"),
    (PathLossCalibration(1000.0, {"urban": ClassCalibration(float("inf"), 0.0)}), "classes.urban.offset_db"),
    (PathLossCalibration(1000.0, {"urban": ClassCalibration(1.0, 45.0)}), "implausible"),
])
def test_writer_refuses_what_the_reader_would(tmp_path, cal, match):
    path = tmp_path / "bad.json"
    with pytest.raises(InvalidInputError, match=match) as err:
        write_calibration_file(path, cal)
    assert str(path) in str(err.value) and not path.exists()


def test_load_calibration_file_errors(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        load_calibration(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataFileError, match="not valid JSON"):
        load_calibration(bad)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["uma", "umi", "rma"]), st.floats(10.0, 5000.0), st.floats(10.0, 40.0))
def test_mean_path_gain_matches_radio(scenario, d2d, h_bs):
    """The engine's mean path gain (from path losses already computed) equals qamtu.radio's own function."""
    terms = physics.path_terms(scenario, 3.65e9, np.array([d2d]), h_bs, 1.5)
    ours = physics.mean_path_gain_db(terms)[0]
    ref = pl.mean_path_gain_db(scenario, 3.65e9, d2d, h_bs, 1.5, validate=False)
    assert ours == pytest.approx(ref, abs=1e-9)


def test_link_geometry_conventions():
    # a UT due east of a BS whose sector points north-east (45 deg): 45 deg clockwise of boresight = phi -45
    d2d, d3d, theta, phi = physics.link_geometry(np.array([100.0]), np.array([0.0]), 25.0, 1.5, 45.0)
    assert d2d[0] == pytest.approx(100.0) and d3d[0] == pytest.approx(np.hypot(100, 23.5))
    assert theta[0] == pytest.approx(90 + np.degrees(np.arctan(23.5 / 100)))
    assert phi[0] == pytest.approx(-45.0)


def test_import_engine_leaves_out_cli_and_optional_libraries():
    code = ("import sys, qamtu.engine, qamtu.engine.montecarlo, qamtu.engine.calibration3gpp; "
            "bad = [m for m in ('typer', 'folium', 'dask') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
