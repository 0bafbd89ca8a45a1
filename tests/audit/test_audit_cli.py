"""``qamtu audit`` and ``qamtu calibrate`` end to end with Typer's CliRunner: exit codes, files, summary keys."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qamtu.chain.scenario import load_scenario
from qamtu.cli.app import app
from qamtu.engine import load_calibration

from audit_testdata import ASTANA_LAT, ASTANA_LON, drive_frame, same_route, synthetic

runner = CliRunner()
A, B = "2024-01-01..2024-06-30", "2024-07-01..2024-12-31"
KPI_KEYS = {"city", "operator", "tech", "period", "norm_mbps", "samples", "share", "ci_low", "ci_high", "verdict"}


def _run(args):
    return runner.invoke(app, [str(a) for a in args])


def test_audit_with_planted_drop_exits_3_and_writes_everything(tmp_path):
    frame = drive_frame(400, seed=8)
    late = same_route(frame)  # the paired test compares the same 50 m squares
    frame.loc[late, "dl_mbps"] = (frame.loc[late, "dl_mbps"] * 0.4).round(2)
    frame.loc[3, "tech"] = "6G"  # one bad row
    frame.loc[5, "tech"] = "HSPA+"  # one fallback row: excluded, not rejected
    path = tmp_path / "drive.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    res = _run(["audit", path, "--city", "astana", "--period-a", A, "--period-b", B, "--n-boot", "200", "--out", out])
    assert res.exit_code == 3, res.output  # norms fail / quality got worse: targets not met
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows_read"] == 400 and summary["rows_rejected"] == 1 and summary["rows_excluded"] == 1
    assert summary["rows_accepted"] + summary["rows_rejected"] + summary["rows_excluded"] == 400
    assert summary["rejects_first"][0]["line"] == 5 and summary["rejects_first"][0]["field"] == "tech"
    assert summary["rejects_by_field"] == {"tech": 1}
    assert summary["quantity"] == "measured"
    assert summary["kpis"] and all(KPI_KEYS <= set(k) for k in summary["kpis"])
    assert {k["period"] for k in summary["kpis"]} == {A, B}
    assert summary["degradation"]["degraded"]
    for name in ("kpis_measured.csv", "percentiles_measured.csv", "degradation_measured.csv", "rejects.csv",
                 "technology_measured.csv", "samples_measured.csv", "sessions_measured.csv",
                 "cdf_measured_astana.png", "map_measured_astana.png"):
        assert (out / name).stat().st_size > 0, name
    kpis = pd.read_csv(out / "kpis_measured.csv")
    assert len(kpis) == len(summary["kpis"]) and set(kpis["quantity"]) == {"measured"}
    rejects = pd.read_csv(out / "rejects.csv")
    assert list(rejects["line"]) == [5] and list(rejects["field"]) == ["tech"]
    samples = pd.read_csv(out / "samples_measured.csv")
    assert len(samples) == 399 and set(samples["status"]) >= {"audited", "fallback technology"}
    assert (out / "cdf_measured_astana.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    resolved = load_scenario(out / "scenario.yaml")  # the one schema of every command, the audit's settings in full
    assert resolved["audit"]["cities"] == ["astana"] and resolved["audit"]["n_boot"] == 200
    assert resolved["audit"]["required_share"] == 0.9 and resolved["audit"]["period_a"] == A


def test_audit_exits_0_when_norms_are_met(tmp_path):
    frame = drive_frame(240, seed=9)
    frame["dl_mbps"] = 400.0  # every sample far above every norm
    frame["operator"] = "Kcell"
    path = tmp_path / "drive.csv"
    frame.to_csv(path, index=False)
    res = _run(["audit", path, "--city", "astana", "--no-plots", "--n-boot", "100", "--out", tmp_path / "o"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert {k["verdict"] for k in summary["kpis"]} == {"meets"}
    assert {k["period"] for k in summary["kpis"]} == {"all"}


def test_audit_ookla_tiles(tmp_path):
    from qamtu.audit.quadkey import lonlat_to_quadkey

    rng = np.random.default_rng(0)
    keys = sorted({lonlat_to_quadkey(ASTANA_LON + dx, ASTANA_LAT + dy) for dx, dy in rng.uniform(-0.05, 0.05, (60, 2))})
    tiles = pd.DataFrame({"quadkey": keys, "avg_d_kbps": rng.integers(20_000, 200_000, len(keys)),
                          "avg_u_kbps": 10_000, "avg_lat_ms": 30, "tests": rng.integers(1, 30, len(keys)),
                          "devices": 1})
    path = tmp_path / "2024-04-01_performance_mobile_tiles.parquet"
    tiles.to_parquet(path)
    out = tmp_path / "o"
    res = _run(["audit", path, "--format", "ookla", "--city", "astana", "--no-plots", "--n-boot", "100", "--out", out])
    assert res.exit_code in (0, 3), res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["format"] == "ookla" and summary["rows_read"] == len(keys)
    norms = {k["norm_mbps"] for k in summary["kpis"]}
    assert norms == {5.0, 50.0, 100.0}  # tiles mix technologies: every norm is checked
    assert all(k["samples"] == int(tiles["tests"].sum()) for k in summary["kpis"])  # tests, not tiles


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("", [], "empty"),
        (None, ["--period-a", A], "both --period-a and --period-b"),
        (None, ["--period-a", "2024-01-01..2024-08-01", "--period-b", B], "overlap"),
        (None, ["--alpha", "2"], "--alpha"),
        (None, ["--format", "csv"], "--format"),
    ],
)
def test_audit_errors_are_one_line_and_exit_2(tmp_path, content, extra, message):
    path = tmp_path / "drive.csv"
    if content is None:
        drive_frame(30).to_csv(path, index=False)
    else:
        path.write_text(content)
    res = _run(["audit", path, "--city", "astana", "--out", tmp_path / "o", *extra])
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_audit_swapped_coordinates_exit_2(tmp_path):
    frame = drive_frame(50)
    frame[["lat", "lon"]] = frame[["lon", "lat"]].to_numpy()
    path = tmp_path / "drive.csv"
    frame.to_csv(path, index=False)
    res = _run(["audit", path, "--city", "astana", "--out", tmp_path / "o"])
    assert res.exit_code == 2 and "look swapped" in res.output
    assert not (tmp_path / "o" / "summary.json").exists()


def test_audit_needs_city_or_all(tmp_path):
    path = tmp_path / "drive.csv"
    drive_frame(10).to_csv(path, index=False)
    assert _run(["audit", path, "--out", tmp_path / "o"]).exit_code == 2
    assert _run(["audit", path, "--city", "astana", "--all", "--out", tmp_path / "o"]).exit_code == 2


def _calibration_inputs(tmp_path):
    frame, sites, _ = synthetic(n=300, offset_db=6.0, slope=8.0, noise_db=4.0, seed=11)
    frame = frame[(frame["rsrp_dbm"] > -156) & (frame["rsrp_dbm"] < -31)]
    frame = frame.assign(time="2024-05-01T10:00:00Z").drop(columns="weight")
    meas = tmp_path / "rsrp.csv"
    frame.to_csv(meas, index=False)
    site_path = tmp_path / "sites.csv"
    sites.to_csv(site_path, index=False)
    return meas, site_path


def test_calibrate_end_to_end(tmp_path):
    meas, site_path = _calibration_inputs(tmp_path)
    out = tmp_path / "cal"
    res = _run(["calibrate", meas, "--sites", site_path, "--env-class", "urban", "--out", out])
    assert res.exit_code == 0, res.output
    cal = load_calibration(out / "calibration.json")  # the engine reads what calibrate writes
    assert cal.classes["urban"].offset_db == pytest.approx(6.0, abs=1.0)
    assert cal.classes["urban"].slope_db_per_decade == pytest.approx(8.0, abs=2.0)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows_read"] == 300 and summary["classes"]["urban"]["fitted"]
    for name in ("calibration_classes.csv", "calibration_samples.csv", "predicted_vs_measured.png", "residual_map.png"):
        assert (out / name).stat().st_size > 0
    samples = pd.read_csv(out / "calibration_samples.csv")
    assert {"measured_rsrp_dbm", "predicted_rsrp_dbm", "corrected_rsrp_dbm"} <= set(samples.columns)
    resolved = load_scenario(out / "scenario.yaml")
    assert resolved["calibrate"]["env_class"] == "urban" and resolved["calibrate"]["holdout"] == 0.3
    assert resolved["calibrate"]["sites"] == str(site_path)


def test_calibrate_with_study_area_classes(tmp_path):
    meas, site_path = _calibration_inputs(tmp_path)
    out = tmp_path / "cal"
    res = _run(["calibrate", meas, "--sites", site_path, "--city", "astana", "--resolution-m", "500",
                "--min-samples", "5", "--no-plots", "--out", out])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["city"] == "astana"
    assert sum(c["n"] for c in summary["classes"].values()) == summary["samples_used"]


def test_calibrate_errors(tmp_path):
    meas, site_path = _calibration_inputs(tmp_path)
    res = _run(["calibrate", meas, "--env-class", "urban", "--out", tmp_path / "o"])
    assert res.exit_code == 2 and "--sites" in res.output
    res = _run(["calibrate", meas, "--sites", tmp_path / "none.csv", "--env-class", "urban", "--out", tmp_path / "o"])
    assert res.exit_code == 2 and "not found" in res.output
    res = _run(["calibrate", meas, "--sites", site_path, "--env-class", "urban", "--tech", "3G",
                "--out", tmp_path / "o"])
    assert res.exit_code == 2


def test_audit_with_a_boundary_file(tmp_path):
    frame = drive_frame(200, seed=12)
    path = tmp_path / "drive.csv"
    frame.to_csv(path, index=False)
    d = 0.02
    ring = [[ASTANA_LON - d, ASTANA_LAT - d], [ASTANA_LON + d, ASTANA_LAT - d], [ASTANA_LON + d, ASTANA_LAT + d],
            [ASTANA_LON - d, ASTANA_LAT + d], [ASTANA_LON - d, ASTANA_LAT - d]]
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    bpath = tmp_path / "astana.geojson"
    bpath.write_text(json.dumps(geojson))
    out = tmp_path / "o"
    res = _run(["audit", path, "--city", "astana", "--boundary", f"astana={bpath}", "--no-plots", "--n-boot", "100",
                "--out", out])
    assert res.exit_code in (0, 3), res.output
    s = json.loads((out / "summary.json").read_text())
    inside = ((frame["lon"] - ASTANA_LON).abs() < d) & ((frame["lat"] - ASTANA_LAT).abs() < d)
    assert s["cities"]["astana"]["boundary_is_approximation"] is False
    # the polygon's edges are straight in lon/lat and slightly curved in UTM: allow a sample or two on the edge
    assert abs(s["cities"]["astana"]["samples"] - int(inside.sum())) <= 2
    assert s["samples_outside_cities"] == 200 - s["cities"]["astana"]["samples"]
    res = _run(["audit", path, "--city", "astana", "--city", "almaty", "--boundary", str(bpath), "--out", out])
    assert res.exit_code == 2 and "ID=FILE" in res.output
