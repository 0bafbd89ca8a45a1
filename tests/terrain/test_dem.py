"""DEM reading: any CRS gives the same heights, SRTM .hgt/.hgt.zip with voids, shipped DEMs, clear errors, fuzz."""

import zipfile

import numpy as np
import pytest
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from qamtu.errors import DataFileError, QamtuError
from qamtu.geo.area import make_study_area
from qamtu.geo.dem import read_terrain

from .conftest import write_dem

CRS = "EPSG:32643"  # Almaty's UTM zone
LON0, LAT0 = 76.9, 43.25


def _surface(lon, lat):
    """A smooth analytic terrain (m): a tilted plane plus a broad hill."""
    return 800.0 + 2000.0 * (LAT0 - lat) + 150.0 * np.exp(-(((lon - LON0) / 0.03) ** 2 + ((lat - LAT0) / 0.02) ** 2))


def _bounds():
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(LON0, LAT0)
    return (x - 3000.0, y - 3000.0, x + 3000.0, y + 3000.0), (x, y)


def test_dem_in_another_crs_gives_the_same_heights_as_the_reprojected_one(tmp_path):
    bounds, _ = _bounds()
    # the same surface written in EPSG:4326 (0.0005 deg ~ 45 m) and in UTM (40 m)
    step = 0.0005
    lon = LON0 - 0.1 + step * (np.arange(400) + 0.5)
    lat = LAT0 + 0.1 - step * (np.arange(400) + 0.5)
    geo = _surface(lon[None, :], lat[:, None])
    p_geo = write_dem(tmp_path / "geo.tif", geo, Affine(step, 0, LON0 - 0.1, 0, -step, LAT0 + 0.1), "EPSG:4326")
    x0, y1 = bounds[0] - 4000.0, bounds[3] + 4000.0
    xs = x0 + 40.0 * (np.arange(350) + 0.5)
    ys = y1 - 40.0 * (np.arange(350) + 0.5)
    xx, yy = np.meshgrid(xs, ys)
    lo, la = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(xx, yy)
    p_utm = write_dem(tmp_path / "utm.tif", _surface(lo, la), Affine(40.0, 0, x0, 0, -40.0, y1), CRS)
    a = read_terrain(p_geo, CRS, bounds, resolution_m=40.0)
    b = read_terrain(p_utm, CRS, bounds, resolution_m=40.0)
    rng = np.random.default_rng(1)
    px = rng.uniform(bounds[0], bounds[2], 500)
    py = rng.uniform(bounds[1], bounds[3], 500)
    ha, hb = a.height_at(px, py), b.height_at(px, py)
    truth = _surface(*Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(px, py))
    assert np.max(np.abs(ha - hb)) < 1.0  # metres, on a surface spanning ~250 m
    assert np.max(np.abs(ha - truth)) < 1.0 and np.max(np.abs(hb - truth)) < 1.0


def _hgt_bytes(lat0, lon0, void_box=None):
    side = 1201
    lat = lat0 + 1 - np.arange(side) / 1200.0
    lon = lon0 + np.arange(side) / 1200.0
    z = np.round(_surface(lon[None, :], lat[:, None])).astype(">i2")
    if void_box is not None:
        r0, r1, c0, c1 = void_box
        z[r0:r1, c0:c1] = -32768
    return z.tobytes()


def test_srtm_hgt_and_zip_read_with_voids_filled(tmp_path):
    bounds, (x, y) = _bounds()
    raw = _hgt_bytes(43, 76, void_box=(940, 980, 1140, 1180))  # a 40 x 40 void around (76.967 E, 43.2 N)
    (tmp_path / "N43E076.hgt").write_bytes(raw)
    with zipfile.ZipFile(tmp_path / "N43E076.hgt.zip", "w") as zf:
        zf.writestr("N43E076.hgt", raw)
    a = read_terrain(tmp_path / "N43E076.hgt", CRS, bounds)
    b = read_terrain(tmp_path / "N43E076.hgt.zip", CRS, bounds)
    assert np.array_equal(a.height_m, b.height_m)
    assert a.info["void_share"] == pytest.approx(40 * 40 / 1201**2)
    # away from the void: the surface; in the filled void: interpolated, close to the smooth surface
    assert a.height_at(x + 2500.0, y - 2500.0) == pytest.approx(
        _surface(*Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x + 2500.0, y - 2500.0)), abs=1.5)
    vx, vy = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(76.9667, 43.2)
    assert abs(a.height_at(vx, vy) - _surface(76.9667, 43.2)) < 15.0  # the void's middle, on a 2 m/px slope


def test_shipped_dems_by_default_and_flat_elsewhere():
    almaty = make_study_area("almaty", resolution_m=500)
    assert "SRTM3" in almaty.terrain_source
    assert almaty.assumptions()["terrain"] == almaty.terrain_source
    c = almaty.centre_xy
    assert 780 < float(almaty.terrain.height_at(*c)) < 900  # the tile reads 819 m at the catalogue point
    assert "GEBCO" in make_study_area("shymkent", resolution_m=500).terrain_source
    karaganda = make_study_area("karaganda", resolution_m=500)
    assert karaganda.terrain is None and karaganda.assumptions()["terrain"] is None
    assert make_study_area("almaty", resolution_m=500, dem="flat").terrain is None


def test_bad_dems_are_refused_by_name(tmp_path):
    bounds, _ = _bounds()
    far = write_dem(tmp_path / "far.tif", np.ones((10, 10)), Affine(0.01, 0, 10.0, 0, -0.01, 50.0), "EPSG:4326")
    with pytest.raises(DataFileError, match="far.tif.*does not overlap"):
        read_terrain(far, CRS, bounds)
    nocrs = write_dem(tmp_path / "nocrs.tif", np.ones((10, 10)), Affine(0.01, 0, 76.8, 0, -0.01, 43.3), None)
    with pytest.raises(DataFileError, match="nocrs.tif.*no CRS"):
        read_terrain(nocrs, CRS, bounds)
    void = write_dem(tmp_path / "void.tif", np.full((300, 300), -9999.0),
                     Affine(0.001, 0, LON0 - 0.15, 0, -0.001, LAT0 + 0.15), "EPSG:4326", nodata=-9999.0)
    with pytest.raises(DataFileError, match="void.tif.*nodata"):
        read_terrain(void, CRS, bounds)
    part = write_dem(tmp_path / "part.tif", np.ones((100, 100)), Affine(0.001, 0, LON0, 0, -0.001, LAT0 + 0.1),
                     "EPSG:4326")
    with pytest.raises(DataFileError, match="part.tif.*uncovered"):
        read_terrain(part, CRS, bounds)
    (tmp_path / "N43E076.hgt").write_bytes(b"\x00" * 1000)
    with pytest.raises(DataFileError, match="not an SRTM tile"):
        read_terrain(tmp_path / "N43E076.hgt", CRS, bounds)
    (tmp_path / "tile.hgt").write_bytes(b"\x00" * (2 * 1201 * 1201))
    with pytest.raises(DataFileError, match="named like"):
        read_terrain(tmp_path / "tile.hgt", CRS, bounds)
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(DataFileError, match="empty"):
        read_terrain(tmp_path / "empty.tif", CRS, bounds)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataFileError, match="no DEM file"):
        read_terrain(tmp_path / "nothing", CRS, bounds)
    with pytest.raises(DataFileError, match="not found"):
        read_terrain(tmp_path / "missing.tif", CRS, bounds)


_NAMES = st.sampled_from(["dem.tif", "N43E076.hgt", "N43E076.hgt.zip", "dem.npz", "dem.tiff"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_NAMES, data=st.binary(min_size=0, max_size=4096), keep=st.integers(0, 4096))
def test_fuzz_broken_dem_files_give_named_errors(tmp_path, name, data, keep):
    """Random bytes, and truncated real files, under every DEM file name: a DataFileError naming the file (or a
    valid read), never another exception."""
    bounds, _ = _bounds()
    p = tmp_path / name
    if keep % 2 and name.endswith(".zip"):
        with zipfile.ZipFile(p, "w") as zf:
            zf.writestr("N43E076.hgt", data)
    elif keep % 3 == 0:
        good = write_dem(tmp_path / "good.tif", np.ones((50, 50)), Affine(0.01, 0, 76.6, 0, -0.01, 43.5), "EPSG:4326")
        p.write_bytes(good.read_bytes()[:keep])
    else:
        p.write_bytes(data)
    try:
        read_terrain(p, CRS, bounds)
    except DataFileError as exc:
        assert name in str(exc)
    except QamtuError:
        pass
