"""The foundation: units round-trip, errors inherit their builtins, atomic writes leave nothing half-written."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qamtu import errors, units
from qamtu.fileio import atomic_write, write_json_atomic


@given(st.floats(min_value=-300, max_value=300, allow_nan=False))
def test_db_linear_round_trip(value_db):
    assert units.linear_to_db(units.db_to_linear(value_db)) == pytest.approx(value_db, abs=1e-9)


@given(st.floats(min_value=-150, max_value=80, allow_nan=False))
def test_dbm_watt_round_trip(power_dbm):
    assert units.watt_to_dbm(units.dbm_to_watt(power_dbm)) == pytest.approx(power_dbm, abs=1e-9)


def test_known_conversions():
    # 30 dBm = 1 W; 53 dBm = 199.5 W (a typical 64T64R n78 radio)
    assert units.dbm_to_watt(30.0) == pytest.approx(1.0)
    assert units.dbm_to_watt(53.0) == pytest.approx(199.526, rel=1e-4)
    # two equal powers add to +3.01 dB, in linear units
    assert units.sum_dbm(np.array([10.0, 10.0])) == pytest.approx(13.0103, abs=1e-4)


def test_negative_linear_is_an_error():
    with pytest.raises(errors.InvalidInputError):
        units.linear_to_db(-1.0)


def test_error_tree_inherits_builtins():
    assert issubclass(errors.InvalidInputError, ValueError)
    assert issubclass(errors.OutOfRangeError, errors.InvalidInputError)
    assert issubclass(errors.DataFileError, OSError)
    assert issubclass(errors.InfeasibleError, errors.QamtuError)
    assert errors.where("sites.csv", 4, "height_m") == "sites.csv, row 4, field 'height_m'"


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    write_json_atomic(target, {"a": np.float64(1.5)})
    assert target.read_text().strip() == '{\n  "a": 1.5\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_import_qamtu_stays_light():
    code = (
        "import sys, qamtu, qamtu.units, qamtu.errors;"
        "heavy = [m for m in ('typer', 'dask', 'torch', 'folium', 'matplotlib') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
