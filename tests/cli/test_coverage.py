"""CLI end to end: `qamtu cities`, `qamtu coverage` and `qamtu reference-run` in tmp_path; outputs reopened and
compared with the library's answer (as rasterio's CLI tests do)."""

import csv
import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from typer.testing import CliRunner

from qamtu.cli.app import app
from qamtu.engine import EngineConfig, evaluate
from qamtu.geo.area import make_study_area
from qamtu.geo.layout import hex_layout
from qamtu.geo.sites import SITE_COLUMNS, project_sites, read_sites
from qamtu.report.maps import METRICS

runner = CliRunner()
CITY = "konaev"
RES = 200.0


@pytest.fixture(scope="module")
def sites_csv(tmp_path_factory):
    """A small site table: the reference layout at a 2 km ISD (a handful of sites), canonical columns only."""
    area = make_study_area(CITY, resolution_m=RES)
    layout = hex_layout(area, isd_m=2000.0)
    path = tmp_path_factory.mktemp("sites") / "sites.csv"
    layout[list(SITE_COLUMNS)].to_csv(path, index=False)
    return path


def test_cities_table_and_json():
    result = runner.invoke(app, ["cities"])
    assert result.exit_code == 0, result.output
    assert "almaty" in result.stdout and "2,347,924 (2026-01-01)" in result.stdout
    result = runner.invoke(app, ["cities", "--json"])
    cities = json.loads(result.stdout)
    assert len(cities) == 20
    almaty = next(c for c in cities if c["id"] == "almaty")
    assert almaty["utm_crs"] == "EPSG:32643" and almaty["population_date"] == "2026-01-01"


def test_coverage_end_to_end_matches_the_api(tmp_path, sites_csv):
    out = tmp_path / "out"
    args = ["coverage", "--city", CITY, "--sites", str(sites_csv), "--out", str(out), "--resolution-m", str(RES),
            "--cell-load", "0.7", "--no-png"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "approximate boundary" in result.stdout

    area = make_study_area(CITY, resolution_m=RES)
    sites = project_sites(read_sites(sites_csv), area.crs)
    api = evaluate(area, sites, EngineConfig(cell_load=0.7))
    with rasterio.open(out / "coverage.tif") as src:
        assert src.crs.to_string() == area.crs and src.transform == area.transform
        for name, metric in METRICS.items():
            band = src.read(src.descriptions.index(name) + 1)
            expected = np.asarray(getattr(area if metric.source == "area" else api, metric.attr),
                                  dtype=np.float32)
            np.testing.assert_array_equal(band[area.mask], expected[area.mask], err_msg=name)
            assert np.all(np.isnan(band[~area.mask]))
    kpis = json.loads((out / "kpis.json").read_text())
    ref = api.kpis()
    for key in ("territory_share", "population_share", "population_total", "area_km2", "sectors"):
        assert kpis[key] == pytest.approx(ref[key], rel=1e-9)
    assert kpis["dl_mbps_percentiles"] == pytest.approx(ref["dl_mbps_percentiles"])
    assert kpis["cell_load"] == 0.7
    assert kpis["assumptions"]["boundary_is_approximation"] is True


def test_coverage_pngs_and_targets(tmp_path, sites_csv):
    out = tmp_path / "out"
    args = ["coverage", "--city", CITY, "--sites", str(sites_csv), "--out", str(out), "--resolution-m", "400",
            "--target-territory-share", "1.0"]
    result = runner.invoke(app, args)
    rec = json.loads((out / "kpis.json").read_text())
    if rec["territory_share"] < 1.0:  # a 2 km grid cannot cover all of Konaev at the default criteria
        assert result.exit_code == 3, result.output
        assert "Targets not met: territory share" in result.stderr
    for name in ("rsrp_dbm", "sinr_db", "dl_mbps", "coverage_probability"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--city", "gotham"], "unknown city 'gotham'"),
        (["--resolution-m", "fine"], "--resolution-m must be a number"),
        (["--cell-load", "x"], "--cell-load must be a number"),
        (["--sites", "missing.csv"], "missing.csv: site file not found"),
        (["--boundary", "nowhere.geojson"], "nowhere.geojson: boundary file not found"),
        (["--population", "nowhere.tif"], "nowhere.tif: population raster not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, sites_csv, args, message):
    base = {"--city": CITY, "--sites": str(sites_csv), "--out": str(tmp_path / "o"), "--resolution-m": "500"}
    base.update(dict(zip(args[::2], args[1::2])))
    argv = ["coverage"] + [v for kv in base.items() for v in kv] + ["--no-png"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.output


def test_bad_site_row_names_file_row_field(tmp_path, sites_csv):
    df = pd.read_csv(sites_csv)
    df.loc[3, "tx_power_dbm"] = 120
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    result = runner.invoke(app, ["coverage", "--city", CITY, "--sites", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert f"{bad}, row 4, field 'tx_power_dbm': 120 is outside [0, 70]" in result.stderr


def test_swapped_lat_lon_is_caught(tmp_path, sites_csv):
    df = pd.read_csv(sites_csv)
    df["lat"], df["lon"] = df["lon"].to_numpy(), df["lat"].to_numpy()
    bad = tmp_path / "swapped.csv"
    df.to_csv(bad, index=False)
    result = runner.invoke(app, ["coverage", "--city", CITY, "--sites", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "lat and lon look swapped" in result.stderr


def test_reference_run_writes_maps_and_a_national_table(tmp_path):
    out = tmp_path / "ref"
    result = runner.invoke(app, ["reference-run", "--out", str(out), "--cities", "konaev,zhezkazgan",
                                 "--resolution-m", "500", "--no-png"])
    assert result.exit_code == 0, result.output
    with open(out / "kpis_national.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["city"] for r in rows] == ["konaev", "zhezkazgan"]
    records = json.loads((out / "kpis_national.json").read_text())
    for rec in records:
        assert rec["assumptions"]["site_table"].startswith("reference layout")
        assert (out / rec["city"] / "coverage.tif").exists()
        layout = read_sites(out / rec["city"] / "reference_sites.csv")
        assert rec["sectors"] == len(layout) and set(layout["status"]) == {"planned"}
    # the saved layout, run again with `qamtu coverage`, is still labelled as the reference layout
    again = tmp_path / "again"
    result = runner.invoke(app, ["coverage", "--city", "konaev", "--sites", str(out / "konaev" / "reference_sites.csv"),
                                 "--out", str(again), "--resolution-m", "500", "--no-png"])
    assert result.exit_code == 0, result.output
    rec = json.loads((again / "kpis.json").read_text())
    assert rec["assumptions"]["site_table"].startswith("reference layout")
    assert rec["sectors"] == records[0]["sectors"]
    assert rec["territory_share"] == pytest.approx(records[0]["territory_share"])
    run = json.loads((out / "reference_run.json").read_text())
    assert run["cities"] == ["konaev", "zhezkazgan"] and run["failed"] == {}
    result = runner.invoke(app, ["reference-run", "--out", str(out), "--cities", "konaev,atlantis"])
    assert result.exit_code == 2 and "unknown city 'atlantis'" in result.stderr


def test_coverage_with_boundary_and_population_files(tmp_path, sites_csv):
    import geopandas as gpd
    from affine import Affine
    from shapely.geometry import box

    from qamtu.geo.catalogue import get_city

    c = get_city(CITY)
    boundary = tmp_path / "konaev.geojson"
    gpd.GeoDataFrame(geometry=[box(c.lon - 0.04, c.lat - 0.03, c.lon + 0.04, c.lat + 0.03)], crs="EPSG:4326").to_file(
        boundary, driver="GeoJSON"
    )
    raster = tmp_path / "pop.tif"
    transform = Affine(0.002, 0, c.lon - 0.1, 0, -0.002, c.lat + 0.1)
    data = np.full((100, 100), 4.0, dtype="float32")  # 4 people per ~160 m x 222 m cell: ~110 people/km2
    with rasterio.open(raster, "w", driver="GTiff", height=100, width=100, count=1, dtype="float32",
                       crs="EPSG:4326", transform=transform) as dst:
        dst.write(data, 1)
    out = tmp_path / "out"
    result = runner.invoke(app, ["coverage", "--city", CITY, "--sites", str(sites_csv), "--out", str(out),
                                 "--resolution-m", "400", "--boundary", str(boundary), "--population", str(raster),
                                 "--no-png"])
    assert result.exit_code == 0, result.output
    assert "approximate boundary" not in result.stdout and "modelled population" not in result.stdout
    assert "check the raster's units" in result.stderr  # ~4,800 people vs the catalogue's 55,198: a warning
    rec = json.loads((out / "kpis.json").read_text())
    assert rec["boundary_is_approximation"] is False
    assert rec["assumptions"]["boundary"] == f"from file {boundary}"
    assert rec["assumptions"]["population_is_model"] is False
    # 0.08 x 0.06 deg at 43.9 N = 6.42 km x 6.67 km = 42.8 km2; uniform 4 people per 0.002-deg cell (35.7 ha)
    assert rec["population_total"] == pytest.approx(42.8 / 0.0357 * 4, rel=0.03)
