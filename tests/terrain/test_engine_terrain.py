"""Terrain in the engine: a ridge between a site and the pixels lowers coverage behind it, nothing in front."""

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box

from qamtu.engine import EngineConfig, evaluate
from qamtu.geo.area import make_study_area
from qamtu.geo.boundary import transform_geometry

from .conftest import write_dem

CITY = "karaganda"  # flat steppe, no shipped DEM


def _setup(tmp_path, ridge_height_m):
    flat = make_study_area(CITY, resolution_m=100, boundary="disc", dem="flat")
    cx, cy = flat.centre_xy
    # study area: a 2.5 km (east) x 2 km box east of the site; site at its west edge
    left, right = cx, cx + 2500.0
    bottom, top = cy - 1000.0, cy + 1000.0
    poly_ll = transform_geometry(box(left + 1, bottom, right, top), flat.crs, "EPSG:4326")
    # DEM in the area's UTM CRS, 50 m: 400 m ground with a north-south ridge 800 m east of the site
    res = 50.0
    x0, y1 = cx - 5000.0, cy + 5000.0
    cols, rows = 320, 200
    xs = x0 + res * (np.arange(cols) + 0.5)
    ridge = ridge_height_m * np.clip(1.0 - np.abs(xs - (cx + 800.0)) / 100.0, 0.0, 1.0)  # 200 m wide at its foot
    dem = np.broadcast_to(400.0 + ridge, (rows, cols))
    path = write_dem(tmp_path / "ridge.tif", dem, Affine(res, 0, x0, 0, -res, y1), flat.crs)
    area = make_study_area(CITY, resolution_m=100, boundary=poly_ll, dem=path)
    lon, lat = flat.to_lonlat(cx - 10.0, cy)
    sites = pd.DataFrame({"site_id": ["S1"], "lat": [lat], "lon": [lon], "height_m": [30.0], "azimuth_deg": [90.0],
                          "mechanical_tilt_deg": [0.0], "electrical_tilt_deg": [3.0], "tx_power_dbm": [49.0]})
    return area, sites, cx


@pytest.mark.parametrize("fast", [True, False])
def test_ridge_lowers_coverage_behind_it_and_changes_nothing_in_front(tmp_path, fast):
    area, sites, cx = _setup(tmp_path, ridge_height_m=40.0)
    flat = _flat_copy(area)
    cfg = EngineConfig(fast=fast)
    with_t = evaluate(area, sites, cfg)
    without = evaluate(flat, sites, cfg)
    x, _ = area.pixel_centres()
    m = area.mask
    front = m & (x < cx + 650.0)
    behind = m & (x > cx + 1000.0)
    assert front.sum() > 50 and behind.sum() > 50
    np.testing.assert_allclose(with_t.rsrp_dbm[front], without.rsrp_dbm[front], atol=1e-9)
    np.testing.assert_allclose(with_t.coverage_probability[front], without.coverage_probability[front], atol=1e-12)
    assert np.isfinite(without.rsrp_dbm[behind]).all()
    drop = without.rsrp_dbm[behind] - np.nan_to_num(with_t.rsrp_dbm[behind], nan=-999.0)  # NaN: below the floor
    assert np.all(drop > 5.0)  # a 40 m ridge: tens of dB of diffraction, and NLOS
    assert np.all(with_t.coverage_probability[behind] <= without.coverage_probability[behind] + 1e-12)
    assert with_t.coverage_probability[behind].mean() < without.coverage_probability[behind].mean()


def _flat_copy(area):
    import dataclasses

    return dataclasses.replace(area, terrain=None, ground_m=None)


def test_flat_dem_gives_the_flat_result_exactly(tmp_path):
    area, sites, _ = _setup(tmp_path, ridge_height_m=0.0)
    assert area.terrain is not None and area.terrain_source == "ridge.tif"
    a = evaluate(area, sites, EngineConfig())
    b = evaluate(_flat_copy(area), sites, EngineConfig())
    np.testing.assert_array_equal(a.rsrp_dbm, b.rsrp_dbm)
