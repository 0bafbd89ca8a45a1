"""Calibration recovers a planted offset and slope from synthetic measurements made with the engine's physics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qamtu.audit.calibration import (
    _outdoor_config,
    calibrate,
    predict_rsrp_dbm,
    write_calibration,
)
from qamtu.engine import EngineConfig, load_calibration
from qamtu.engine.calibration_file import CALIBRATION_KIND
from qamtu.engine.links import prepare_sectors
from qamtu.errors import InfeasibleError, InvalidInputError

from audit_testdata import CRS, synthetic

def test_recovers_planted_offset_and_slope():
    frame, sites, _ = synthetic(n=500, offset_db=6.0, slope=8.0, noise_db=4.0, seed=1)
    res = calibrate(frame, sites, env_class="urban", holdout_share=0.3, seed=0)
    c = res.classes["urban"]
    # tolerance: with 350 training samples, 4 dB noise and 1.3 decades of distance, the standard errors are about
    # 0.25 dB (offset) and 0.6 dB/decade (slope); 3 standard errors
    assert c["offset_db"] == pytest.approx(6.0, abs=0.8)
    assert c["slope_db_per_decade"] == pytest.approx(8.0, abs=1.8)
    assert c["n_fit"] + c["n_holdout"] == 500 and 100 < c["n_holdout"] < 200
    # after the correction the mean error is near 0 and the spread is the planted noise, on the hold-out too
    assert abs(c["holdout_mean_error_after_db"]) < 1.0
    assert c["holdout_std_after_db"] == pytest.approx(4.0, abs=0.7)
    assert c["std_before_db"] > c["std_after_db"]
    assert abs(c["mean_error_before_db"]) > 2.0
    assert set(res.samples["match"]) == {"cell_id"}


def test_no_correction_when_nothing_planted():
    frame, sites, _ = synthetic(n=300, offset_db=0.0, slope=0.0, noise_db=3.0, seed=2)
    c = calibrate(frame, sites, env_class="urban").classes["urban"]
    assert abs(c["offset_db"]) < 0.8 and abs(c["slope_db_per_decade"]) < 2.0


def test_robust_loss_resists_outliers():
    frame, sites, _ = synthetic(n=400, offset_db=5.0, slope=0.0, noise_db=3.0, seed=3)
    bad = frame.index[:40]  # 10 % gross errors, 30 dB too weak (e.g. a sample logged indoors)
    frame.loc[bad, "rsrp_dbm"] -= 30.0
    robust = calibrate(frame, sites, env_class="urban", loss="soft_l1", holdout_share=0.0).classes["urban"]
    plain = calibrate(frame, sites, env_class="urban", loss="linear", holdout_share=0.0).classes["urban"]
    assert abs(robust["offset_db"] - 5.0) < abs(plain["offset_db"] - 5.0)
    assert robust["offset_db"] == pytest.approx(5.0, abs=1.5)


def test_json_is_read_by_the_engine_and_applies_the_correction(tmp_path):
    frame, sites, k = synthetic(n=300, offset_db=7.0, slope=5.0, noise_db=2.0, seed=4)
    res = calibrate(frame, sites, env_class="urban")
    path = write_calibration(res, tmp_path / "calibration.json")
    doc = json.loads(path.read_text())
    assert doc["kind"] == CALIBRATION_KIND and doc["version"] == 1 and doc["reference_distance_m"] == 1000.0
    assert set(doc["classes"]["urban"]) >= {"offset_db", "slope_db_per_decade", "n", "rmse_db"}
    cal = load_calibration(path)
    # the engine with the calibration predicts what the calibration report calls corrected: exactly for the link
    # itself; for the serving median up to the slope's different value at the competing sites' distances
    from qamtu.audit.calibration import serving_rsrp_median_dbm

    cfg = _outdoor_config(EngineConfig(), None).replace(calibration=cal)
    sec = prepare_sectors(sites, CRS)
    s = res.samples
    xs, ys, ks = s["x_m"].to_numpy(), s["y_m"].to_numpy(), s["sector"].to_numpy()
    plain, _ = predict_rsrp_dbm(xs, ys, ks, np.full(len(s), 1), sec, _outdoor_config(EngineConfig(), None))
    corrected, _ = predict_rsrp_dbm(xs, ys, ks, np.full(len(s), 1), sec, cfg)
    shift = s["predicted_rsrp_dbm"].to_numpy() - s["corrected_rsrp_dbm"].to_numpy()
    assert np.allclose(plain - corrected, shift, atol=1e-9)
    engine_pred, _ = serving_rsrp_median_dbm(xs, ys, ks, np.full(len(s), 1), sec, cfg, 5000.0)
    assert float(np.median(np.abs(engine_pred - s["corrected_rsrp_dbm"].to_numpy()))) < 0.5
    assert abs(float(np.mean(engine_pred - s["measured_rsrp_dbm"]))) < 0.5


def test_best_server_match_without_cell_ids():
    frame, sites, k = synthetic(n=200, offset_db=0.0, slope=0.0, noise_db=1.0, seed=5, min_d=300.0)
    res = calibrate(frame.drop(columns="cell_id"), sites, env_class="urban")
    assert set(res.samples["match"]) == {"best_server"}
    # samples were drawn in front of their sector: most pick it as the best server
    assert (res.samples["sector"].to_numpy() == k).mean() > 0.7


def test_too_few_samples_and_bad_inputs(tmp_path):
    frame, sites, _ = synthetic(n=15, seed=6)
    res = calibrate(frame, sites, env_class="urban")
    assert not res.classes["urban"]["fitted"] and "fewer than" in res.classes["urban"]["note"]
    with pytest.raises(InfeasibleError, match="no environment class"):
        write_calibration(res, tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()
    with pytest.raises(InvalidInputError, match="no sample"):
        calibrate(frame.assign(tech="4G"), sites, env_class="urban")
    with pytest.raises(InvalidInputError, match="env_class"):
        calibrate(frame, sites, env_class="downtown")
    with pytest.raises(InvalidInputError, match="holdout_share"):
        calibrate(frame, sites, env_class="urban", holdout_share=0.95)
    with pytest.raises(InvalidInputError, match="loss 'l2'"):
        calibrate(frame, sites, env_class="urban", loss="l2")
    with pytest.raises(InvalidInputError, match="max_distance_m"):
        calibrate(frame, sites, env_class="urban", max_distance_m=0.0)
    with pytest.raises(InvalidInputError, match="reference_distance_m"):
        calibrate(frame, sites, env_class="urban", reference_distance_m=-1.0)


def test_implausible_fit_is_refused():
    frame, sites, _ = synthetic(n=200, offset_db=0.0, slope=0.0, noise_db=1.0, seed=7)
    frame["rsrp_dbm"] -= 80.0  # e.g. wrong units or the wrong site table
    with pytest.raises(InfeasibleError, match="exceed what the engine accepts"):
        calibrate(frame, sites, env_class="urban")


def test_standard_errors_cover_the_planted_values():
    frame, sites, _ = synthetic(n=400, offset_db=4.0, slope=-6.0, noise_db=4.0, seed=21)
    c = calibrate(frame, sites, env_class="urban", loss="linear", holdout_share=0.0).classes["urban"]
    # least-squares formula: with 400 samples and 4 dB noise, about 0.25 dB and 0.6 dB/decade
    assert 0.1 < c["offset_se_db"] < 0.5 and 0.2 < c["slope_se_db_per_decade"] < 1.2
    assert abs(c["offset_db"] - 4.0) < 4 * c["offset_se_db"]
    assert abs(c["slope_db_per_decade"] + 6.0) < 4 * c["slope_se_db_per_decade"]


def test_cell_id_match_beyond_the_search_radius_is_excluded():
    frame, sites, _ = synthetic(n=100, seed=22)
    far = frame.index[:10]
    frame.loc[far, "lat"] += 0.5  # some 55 km north: the cell id cannot be right
    res = calibrate(frame, sites, env_class="urban", max_distance_m=10_000.0)
    assert res.excluded["serving_sector_too_far"] == 10
    assert len(res.samples) == 90


def test_calibrate_4g_needs_its_frequency(tmp_path):
    from typer.testing import CliRunner

    from qamtu.cli.app import app

    frame, sites, _ = synthetic(n=30, seed=23)
    meas = tmp_path / "m.csv"
    frame.assign(tech="4G").drop(columns="weight").to_csv(meas, index=False)
    site_path = tmp_path / "s.csv"
    sites.to_csv(site_path, index=False)
    res = CliRunner().invoke(app, ["calibrate", str(meas), "--sites", str(site_path), "--env-class", "urban",
                                   "--tech", "4G", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--freq-hz" in res.output


def test_holdout_is_split_by_blocks():
    frame, sites, _ = synthetic(n=400, seed=24)
    s = calibrate(frame, sites, env_class="urban", holdout_block_m=500.0).samples
    block = list(zip((s["x_m"] // 500).astype(int), (s["y_m"] // 500).astype(int)))
    per_block = pd.Series(s["split"].to_numpy()).groupby(pd.Series(block, dtype=object)).nunique()
    assert (per_block == 1).all()  # no block is split between fit and hold-out
    assert set(s["split"]) == {"fit", "holdout"}
    # per-sample split on request
    s2 = calibrate(frame, sites, env_class="urban", holdout_block_m=None).samples
    per_block2 = pd.Series(s2["split"].to_numpy()).groupby(pd.Series(block, dtype=object)).nunique()
    assert (per_block2 == 2).any()


def test_simulate_then_calibrate_finds_no_bias():
    """Round trip (issue 11): a synthetic drive test drawn from the model's own distributions (per-site LOS state
    and shadowing, strongest server, cell ids) calibrates to no correction: offset within +-1 dB, slope within
    +-1.5 dB/decade, and the held-out spread matches the model's own spread."""
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "engine"))
    from engine_testdata import make_area, make_sites

    from qamtu.engine.montecarlo import DRIVE_TEST_COLUMNS, simulate_measurements

    from affine import Affine
    from pyproj import Transformer

    x0, y0 = 500_000.0, 4_750_000.0  # UTM 43N around 75 E, 42.9 N (Taraz's zone): calibrate finds the same zone
    area = make_area(rows=60, cols=60, resolution_m=50.0, seed=3, disc=False)
    area.transform = Affine(50.0, 0, x0, 0, -50.0, y0 + 60 * 50.0)
    area.env_class[:] = 1  # urban (UMa) everywhere
    sites = make_sites([(600.0, 700.0), (2300.0, 900.0), (1500.0, 2300.0), (400.0, 2500.0), (2700.0, 2600.0)])
    sites["x_m"] += x0
    sites["y_m"] += y0
    lon, lat = Transformer.from_crs(area.crs, "EPSG:4326", always_xy=True).transform(sites["x_m"], sites["y_m"])
    sites = sites.drop(columns=["x_m", "y_m"]).assign(lat=lat, lon=lon)
    drive = simulate_measurements(area, sites, 3000, seed=5, users="outdoor")
    assert list(drive.columns) == list(DRIVE_TEST_COLUMNS)
    assert drive["cell_id"].str.len().gt(0).mean() > 0.95
    res = calibrate(drive, sites, env_class="urban", holdout_share=0.3, seed=0)
    c = res.classes["urban"]
    assert set(res.samples["match"]) == {"cell_id"}
    print("round trip:", {k: c[k] for k in ("offset_db", "slope_db_per_decade", "holdout_std_after_db", "model_std_db")})
    assert abs(c["offset_db"]) <= 1.0, c
    assert abs(c["slope_db_per_decade"]) <= 1.5, c
    assert c["holdout_std_after_db"] == pytest.approx(c["model_std_db"], rel=0.2)
