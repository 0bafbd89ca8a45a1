"""Population rasters: reprojection conserves the total inside the boundary; bad rasters give named errors."""

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer

from qamtu.errors import DataFileError
from qamtu.geo.area import make_study_area
from qamtu.geo.population import pixel_areas_m2

CITY = "taldykorgan"  # 74 km2 disc: a small grid


def write_raster(path, data, transform, crs="EPSG:4326", nodata=None):
    with rasterio.open(
        path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype="float32",
        crs=crs, transform=transform, nodata=nodata,
    ) as dst:
        dst.write(data.astype("float32"), 1)
    return path


def lonlat_grid(centre_lon, centre_lat, half_deg=0.1, res_deg=0.001):
    n = int(round(2 * half_deg / res_deg))
    transform = Affine(res_deg, 0, centre_lon - half_deg, 0, -res_deg, centre_lat + half_deg)
    cols, rows = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5)
    lon = transform.c + cols * res_deg
    lat = transform.f - rows * res_deg
    return transform, lon, lat


def source_total_inside(area, data, lon, lat):
    """Independent check: people in source pixels whose centre, projected to UTM, lies inside the boundary."""
    x, y = Transformer.from_crs("EPSG:4326", area.crs, always_xy=True).transform(lon, lat)
    return float(data[shapely.contains_xy(area.boundary, x, y)].sum())


def test_reprojection_from_epsg4326_conserves_the_total(tmp_path):
    base = make_study_area(CITY, resolution_m=100)
    c = base.city
    transform, lon, lat = lonlat_grid(c.lon, c.lat)  # ~80 m x 111 m pixels
    rng = np.random.default_rng(7)
    data = rng.gamma(2.0, 5.0, size=lon.shape)  # people per pixel, rough like WorldPop
    path = write_raster(tmp_path / "pop.tif", data, transform)
    area = make_study_area(CITY, resolution_m=100, population=path)
    expected = source_total_inside(area, data.astype("float32"), lon, lat)
    # conserved to 0.1 %: the only difference is pixel centres within rounding of the boundary line
    assert area.population_total == pytest.approx(expected, rel=1e-3)
    assert np.all(area.population >= 0) and np.all(area.population[~area.mask] == 0)
    assert not area.population_is_model
    # the density resampling itself is nearly conservative: the rescale factor is a small correction
    assert area.info["population_raster_rescale_factor"] == pytest.approx(1.0, abs=0.03)


def test_smooth_blob_keeps_its_total_and_place_without_much_rescaling(tmp_path):
    base = make_study_area(CITY, resolution_m=50)
    c = base.city
    transform, lon, lat = lonlat_grid(c.lon, c.lat, half_deg=0.08, res_deg=0.0008)
    # Gaussian blob of 100,000 people, 1.5 km wide, 1 km east of the centre: fully inside the 4.9 km disc
    x, y = Transformer.from_crs("EPSG:4326", base.crs, always_xy=True).transform(lon, lat)
    cx, cy = base.centre_xy
    areas = pixel_areas_m2("EPSG:4326", transform, lon.shape)
    density = np.exp(-((x - cx - 1000) ** 2 + (y - cy) ** 2) / (2 * 1500.0**2))
    data = density * areas
    data *= 100_000 / data.sum()
    path = write_raster(tmp_path / "blob.tif", data, transform)
    area = make_study_area(CITY, resolution_m=50, population=path)
    inside = source_total_inside(area, data.astype("float32"), lon, lat)
    assert area.population_total == pytest.approx(inside, rel=1e-3)
    # geodesic pixel areas are right: the resampled total needed less than 0.5 % correction
    assert area.info["population_raster_rescale_factor"] == pytest.approx(1.0, abs=5e-3)
    gx, gy = area.pixel_centres()
    mean_x = float((gx * area.population).sum() / area.population.sum())
    assert mean_x - cx == pytest.approx(1000.0, abs=100.0)  # the blob did not move


def test_pixel_areas_geodesic():
    # one degree of longitude at the equator is 111.32 km on WGS 84 (a = 6378137 m: 2 pi a / 360)
    t = Affine(1.0, 0, 0, 0, -1.0, 0.5)
    a = pixel_areas_m2("EPSG:4326", t, (1, 1))
    assert a[0, 0] == pytest.approx(111_319.5 * 110_574, rel=5e-3)
    assert pixel_areas_m2("EPSG:32643", Affine(25, 0, 0, 0, -25, 0), (2, 2))[0, 0] == pytest.approx(625.0)


def test_bad_rasters_give_named_errors(tmp_path):
    base = make_study_area(CITY, resolution_m=200)
    c = base.city
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(DataFileError, match=r"empty\.tif: empty file"):
        make_study_area(CITY, resolution_m=200, population=empty)
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    with pytest.raises(DataFileError, match=r"corrupt\.tif: not a readable raster"):
        make_study_area(CITY, resolution_m=200, population=corrupt)
    transform, lon, lat = lonlat_grid(c.lon, c.lat, res_deg=0.01)
    nocrs = write_raster(tmp_path / "nocrs.tif", np.ones(lon.shape), transform, crs=None)
    with pytest.raises(DataFileError, match=r"nocrs\.tif: the raster has no CRS"):
        make_study_area(CITY, resolution_m=200, population=nocrs)
    far_t = Affine(0.01, 0, 10.0, 0, -0.01, 10.0)
    far = write_raster(tmp_path / "far.tif", np.ones((20, 20)), far_t)
    with pytest.raises(DataFileError, match=r"far\.tif: .*does not overlap"):
        make_study_area(CITY, resolution_m=200, population=far)
    neg = np.ones(lon.shape)
    neg[3, 4] = -5
    negp = write_raster(tmp_path / "neg.tif", neg, transform)
    with pytest.raises(DataFileError, match=r"neg\.tif: negative population -5 at pixel \(row 4, col 5\)"):
        make_study_area(CITY, resolution_m=200, population=negp)
    with pytest.raises(DataFileError, match="not found"):
        make_study_area(CITY, resolution_m=200, population=tmp_path / "missing.tif")


def test_nodata_counts_as_zero(tmp_path):
    base = make_study_area(CITY, resolution_m=200)
    c = base.city
    transform, lon, lat = lonlat_grid(c.lon, c.lat, res_deg=0.005)
    data = np.full(lon.shape, 10.0)
    data[: data.shape[0] // 2] = -99999.0  # WorldPop's nodata value on the northern half
    path = write_raster(tmp_path / "nd.tif", data, transform, nodata=-99999.0)
    with pytest.warns(UserWarning, match="check the raster's units"):  # 10 people per pixel is far too few
        area = make_study_area(CITY, resolution_m=200, population=path)
    cx, cy = area.centre_xy
    _, gy = area.pixel_centres()
    north = area.mask & (gy > cy + 500)
    assert area.population[north].sum() == 0
    assert area.population_total == pytest.approx(source_total_inside(area, np.where(data < 0, 0, data), lon, lat),
                                                  rel=1e-3)


def test_ghsl_style_mollweide_raster_is_conserved(tmp_path):
    # GHSL POP grids are people per 100 m cell in World Mollweide (ESRI:54009), an equal-area projection
    base = make_study_area(CITY, resolution_m=100)
    c = base.city
    to_moll = Transformer.from_crs("EPSG:4326", "ESRI:54009", always_xy=True)
    mx, my = to_moll.transform(c.lon, c.lat)
    n = 160
    transform = Affine(100.0, 0, round(mx) - 8000, 0, -100.0, round(my) + 8000)
    rng = np.random.default_rng(3)
    data = rng.gamma(1.5, 20.0, size=(n, n))
    path = write_raster(tmp_path / "ghsl.tif", data, transform, crs="ESRI:54009")
    area = make_study_area(CITY, resolution_m=100, population=path)
    cols, rows = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5)
    lon, lat = Transformer.from_crs("ESRI:54009", "EPSG:4326", always_xy=True).transform(
        transform.c + cols * 100.0, transform.f - rows * 100.0
    )
    assert area.population_total == pytest.approx(source_total_inside(area, data.astype("float32"), lon, lat),
                                                  rel=1e-3)
    assert area.info["population_raster_rescale_factor"] == pytest.approx(1.0, abs=0.03)


def test_a_raster_too_fine_for_the_area_is_refused(tmp_path, monkeypatch):
    # issue 15: a documented maximum of source pixels read per study area (MAX_RASTER_PIXELS)
    import qamtu.geo.population as pop

    base = make_study_area(CITY, resolution_m=500)
    c = base.city
    transform, lon, lat = lonlat_grid(c.lon, c.lat, res_deg=0.002)
    path = write_raster(tmp_path / "fine.tif", np.ones(lon.shape), transform)
    monkeypatch.setattr(pop, "MAX_RASTER_PIXELS", 1000)
    with pytest.raises(DataFileError, match=r"fine\.tif: the raster has \d+ pixels over the study area; the most "
                                            r"read is 1000 \(resample it"):
        make_study_area(CITY, resolution_m=500, population=path)
