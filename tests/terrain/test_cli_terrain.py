"""CLI: `qamtu profile`, and `qamtu coverage` with --dem / --landcover / --existing; land-cover reader."""

import json

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from typer.testing import CliRunner

from qamtu.cli.app import app
from qamtu.errors import DataFileError, QamtuError
from qamtu.geo.area import ENV_CODES, make_study_area
from qamtu.geo.landcover import read_landcover
from qamtu.geo.layout import hex_layout
from qamtu.geo.sites import SITE_COLUMNS
from qamtu.radio.terrain import delta_bullington_loss_db

from .conftest import write_dem

runner = CliRunner()
CRS = "EPSG:32643"


def test_profile_over_a_ridge_matches_the_library(tmp_path):
    # UTM DEM: flat 500 m with a 60 m north-south ridge 2 km east of (43.9 N, 77.0 E)
    tr = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = tr.transform(77.0, 43.9)
    res = 20.0
    x0, y1 = x - 2000.0, y + 2000.0
    xs = x0 + res * (np.arange(400) + 0.5)
    ridge = 60.0 * np.clip(1.0 - np.abs(xs - (x + 2000.0)) / 60.0, 0.0, 1.0)
    path = write_dem(tmp_path / "ridge.tif", np.broadcast_to(500.0 + ridge, (200, 400)),
                     Affine(res, 0, x0, 0, -res, y1), CRS)
    lon2, lat2 = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x + 4000.0, y)
    args = ["profile", "--dem", str(path), "--from", "43.9,77.0", "--to", f"{lat2},{lon2}", "--h-tx", "30",
            "--h-rx", "1.5", "--freq-ghz", "3.65"]
    result = runner.invoke(app, args + ["--json"])
    assert result.exit_code == 0, result.output
    rec = json.loads(result.stdout)
    assert not rec["line_of_sight"] and len(rec["obstructions"]) == 1
    assert rec["obstructions"][0]["peak_m"] == pytest.approx(2000.0, abs=60.0)
    prof = rec["profile"]
    ld = delta_bullington_loss_db(prof["d_m"], prof["ground_m"], 30.0, 1.5, 3.65e9)
    assert rec["ld_db"] == pytest.approx(ld, abs=0.01) and ld > 20.0  # the JSON profile is rounded to 1 cm
    assert rec["engine_forces_nlos"] and 0 < rec["engine_excess_loss_db"] <= rec["ld_db"] + 1e-9
    text = runner.invoke(app, args)
    assert text.exit_code == 0 and "obstructed" in text.stdout and "forces NLOS" in text.stdout
    bad = runner.invoke(app, ["profile", "--dem", str(path), "--from", "43.9", "--to", "43.9,77.05", "--h-tx", "30",
                              "--h-rx", "1.5", "--freq-ghz", "3.65"])
    assert bad.exit_code == 2 and "--from must be LAT,LON" in bad.output
    far = runner.invoke(app, ["profile", "--dem", str(path), "--from", "50,60", "--to", "50.01,60.01", "--h-tx",
                              "30", "--h-rx", "1.5", "--freq-ghz", "3.65"])
    assert far.exit_code == 2 and "does not overlap" in far.output


def _worldcover(tmp_path, area, codes_fn, name="lc.tif"):
    """A WorldCover-like raster (EPSG:4326, ~10 m) over the area's grid, classes from codes_fn(lon, lat)."""
    left, bottom, right, top = area.bounds
    to_ll = Transformer.from_crs(area.crs, "EPSG:4326", always_xy=True)
    lon0, lat0 = to_ll.transform(left - 2000, bottom - 2000)
    lon1, lat1 = to_ll.transform(right + 2000, top + 2000)
    step = 0.0005
    lon = lon0 + step * (np.arange(int((lon1 - lon0) / step)) + 0.5)
    lat = lat1 - step * (np.arange(int((lat1 - lat0) / step)) + 0.5)
    codes = codes_fn(lon[None, :], lat[:, None]).astype("uint8")
    return write_dem(tmp_path / name, codes, Affine(step, 0, lon0, 0, -step, lat1), "EPSG:4326", nodata=0,
                     dtype="uint8")


def test_landcover_sets_classes_and_clutter(tmp_path):
    area = make_study_area("taldykorgan", resolution_m=200)
    clon = area.city.lon
    path = _worldcover(tmp_path, area, lambda lon, lat: np.where(lon < clon, 50, 10) + 0 * lat)
    lc = read_landcover(path, area.crs, area.transform, area.shape, area.mask)
    x, _ = area.pixel_centres()
    cx, _ = area.from_lonlat(clon, area.city.lat)
    west = area.mask & (x < cx - 1000)
    east = area.mask & (x > cx + 1000)
    assert np.all(lc.env_class[west] == ENV_CODES["dense_urban"])  # all built-up around: share 1
    assert np.all(lc.env_class[east] == ENV_CODES["rural"]) and lc.clutter[east].all() and lc.clutter[west].all()
    full = make_study_area("taldykorgan", resolution_m=200, landcover=path)
    assert full.landcover_source == str(path) and np.array_equal(full.env_class, lc.env_class)
    assert full.assumptions()["landcover"] == str(path)


def test_landcover_clutter_loss_lowers_rural_tree_pixels_only(tmp_path):
    from qamtu.engine import EngineConfig

    area0 = make_study_area("taldykorgan", resolution_m=250, dem="flat")
    grass = _worldcover(tmp_path, area0, lambda lon, lat: np.full(np.broadcast(lon, lat).shape, 30), "grass.tif")
    trees = _worldcover(tmp_path, area0, lambda lon, lat: np.full(np.broadcast(lon, lat).shape, 10), "trees.tif")
    a = make_study_area("taldykorgan", resolution_m=250, dem="flat", landcover=grass)
    b = make_study_area("taldykorgan", resolution_m=250, dem="flat", landcover=trees)
    sites = hex_layout(a, isd_m=1500.0)
    # per link (the maps are medians over each pixel's sites since issue 11; the clutter loss is per link)

    from qamtu.engine import compute_links

    la, lb = compute_links(a, sites, EngineConfig()), compute_links(b, sites, EngineConfig())
    fa = pd.DataFrame({"p": la.pixel, "s": la.sector, "r": la.rsrp_dbm})
    fb = pd.DataFrame({"p": lb.pixel, "s": lb.sector, "r": lb.rsrp_dbm})
    both = fa.merge(fb, on=["p", "s"])
    assert len(both) > 1000
    drop = (both["r_x"] - both["r_y"]).to_numpy()
    # P.2108 §3.2 median at 3.65 GHz: 20.2 dB at <= 250 m to 28.7 dB for long paths (one end in clutter)
    assert drop.min() > 19.0 and drop.max() < 29.5


def test_landcover_bad_input(tmp_path):
    area = make_study_area("taldykorgan", resolution_m=400)
    odd = _worldcover(tmp_path, area, lambda lon, lat: np.full(np.broadcast(lon, lat).shape, 33), "odd.tif")
    with pytest.raises(DataFileError, match="class code 33"):
        read_landcover(odd, area.crs, area.transform, area.shape, area.mask)
    far = write_dem(tmp_path / "far.tif", np.full((10, 10), 50), Affine(0.01, 0, 10.0, 0, -0.01, 50.0), "EPSG:4326",
                    dtype="uint8")
    with pytest.raises(DataFileError, match="far.tif"):
        read_landcover(far, area.crs, area.transform, area.shape, area.mask)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048))
def test_fuzz_broken_landcover_files(tmp_path, data):
    area = make_study_area("taldykorgan", resolution_m=1000, dem="flat")
    p = tmp_path / "lc.tif"
    p.write_bytes(data)
    try:
        read_landcover(p, area.crs, area.transform, area.shape, area.mask)
    except DataFileError as exc:
        assert "lc.tif" in str(exc)
    except QamtuError:
        pass


def test_coverage_cli_with_dem_existing_and_terrain_key(tmp_path):
    area = make_study_area("almaty", resolution_m=500)
    layout = hex_layout(area, isd_m=3000.0)[list(SITE_COLUMNS)]
    ids = layout["site_id"].unique()
    existing = layout[layout["site_id"].isin(ids[: len(ids) // 2])]
    new = layout[~layout["site_id"].isin(ids[: len(ids) // 2])]
    existing.to_csv(tmp_path / "existing.csv", index=False)
    new.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "out"
    res = runner.invoke(app, ["coverage", "--city", "almaty", "--sites", str(tmp_path / "new.csv"), "--existing",
                              str(tmp_path / "existing.csv"), "--out", str(out), "--resolution-m", "500", "--no-png"])
    assert res.exit_code == 0, res.output
    rec = json.loads((out / "kpis.json").read_text())
    assert "SRTM3" in rec["terrain"] and rec["sectors"] == len(layout)
    assert {d["district"] for d in rec["districts"]} >= {"Almaly", "Bostandyk", "Medeu"}
    out2 = tmp_path / "flat"
    res = runner.invoke(app, ["coverage", "--city", "almaty", "--sites", str(tmp_path / "new.csv"), "--existing",
                              str(tmp_path / "existing.csv"), "--out", str(out2), "--resolution-m", "500",
                              "--no-png", "--dem", "flat"])
    assert res.exit_code == 0, res.output
    assert json.loads((out2 / "kpis.json").read_text())["terrain"] is None
    dup = runner.invoke(app, ["coverage", "--city", "almaty", "--sites", str(tmp_path / "existing.csv"),
                              "--existing", str(tmp_path / "existing.csv"), "--out", str(tmp_path / "x"),
                              "--resolution-m", "500", "--no-png"])
    assert dup.exit_code == 2 and "also in" in dup.output
    assert not (tmp_path / "x").exists()


def test_national_dem_flat_and_one_existing_table_cut_to_each_city(tmp_path):
    from qamtu.cli.national import _with_city_files
    from qamtu.geo.catalogue import get_city
    from qamtu.chain.national import plan_one_city
    from qamtu.chain.scenario import load_scenario

    area = make_study_area("konaev", resolution_m=500)
    lay = hex_layout(area, isd_m=3000.0)[list(SITE_COLUMNS)]
    mine = lay[lay["site_id"].isin(lay["site_id"].unique()[:2])].copy()
    astana = get_city("astana")
    other = mine.iloc[:1].copy()
    other["site_id"], other["lat"], other["lon"] = "AST-1", astana.lat, astana.lon
    path = tmp_path / "on_air.csv"
    pd.concat([mine, other]).to_csv(path, index=False)
    sc = _with_city_files(load_scenario(None, preset="national-fast"), ["konaev"],
                          {"dem": "flat", "existing": str(path), "landcover": None})
    assert sc.city_files("konaev")["dem"] == "flat"
    run = plan_one_city(get_city("konaev"), sc, 500.0, sc.engine_config())
    assert run.error is None and run.area.terrain is None  # konaev would get GEBCO by default
    cand = run.plan.candidates
    on_air = set(cand.loc[cand["origin"] == "existing", "site_id"])
    assert on_air == set(mine["site_id"])  # the Astana row is not Konaev's
    assert make_study_area("konaev", resolution_m=500).terrain is not None


def test_plan_records_the_dem_files_it_used(tmp_path):
    from qamtu.geo.shipped import default_dem

    dem = default_dem("konaev")[0][0]
    out = tmp_path / "plan"
    res = runner.invoke(app, ["plan", "--city", "konaev", "--resolution-m", "500", "--method", "greedy",
                              "--target-territory", "0.3", "--dem", dem, "--out", str(out), "--quiet"])
    assert res.exit_code in (0, 3), res.output
    doc = json.loads((out / "plan.json").read_text())
    assert doc["scenario"]["cities"]["files"]["konaev"]["dem"] == dem and doc["files"]["dem_1"]["path"] == dem
