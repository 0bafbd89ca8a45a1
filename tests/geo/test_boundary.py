"""Boundaries from files: reprojected, unioned, and named errors for empty files and bad CRSs."""

import json

import geopandas as gpd
import pytest
from shapely.geometry import LineString, box

from qamtu.errors import DataFileError, InvalidInputError
from qamtu.geo.area import make_study_area
from qamtu.geo.boundary import read_boundary
from qamtu.geo.catalogue import get_city

KONAEV = get_city("konaev")


def two_boxes_lonlat():
    lon, lat = KONAEV.lon, KONAEV.lat
    return [box(lon - 0.04, lat - 0.02, lon, lat + 0.02), box(lon - 0.005, lat - 0.02, lon + 0.03, lat + 0.01)]  # overlapping


def test_geojson_features_are_unioned_and_reprojected(tmp_path):
    path = tmp_path / "city.geojson"
    gpd.GeoDataFrame(geometry=two_boxes_lonlat(), crs="EPSG:4326").to_file(path, driver="GeoJSON")
    area = make_study_area(KONAEV, resolution_m=50, boundary=path)
    assert not area.boundary_is_approximation
    assert area.boundary.geom_type == "Polygon"  # the two overlapping boxes became one
    # boxes of 0.04 x 0.04 and 0.03 x 0.03 degrees (net of the overlap) at 43.9 N: 1 deg lon = 80.3 km,
    # 1 deg lat = 111.1 km, so 0.0025 deg2 = 22.3 km2
    assert area.boundary_area_km2 == pytest.approx(0.0025 * 80.3 * 111.1, rel=0.01)
    assert abs(area.area_km2 - area.boundary_area_km2) < 0.05 * area.boundary_area_km2
    assert "approximate" not in area.assumptions()["boundary"]


def test_geopackage_in_another_crs(tmp_path):
    gdf = gpd.GeoDataFrame(geometry=two_boxes_lonlat(), crs="EPSG:4326").to_crs("EPSG:3857")
    path = tmp_path / "city.gpkg"
    gdf.to_file(path, driver="GPKG")
    geom = read_boundary(path, "EPSG:32643")
    ref = gpd.GeoSeries(two_boxes_lonlat(), crs="EPSG:4326").to_crs("EPSG:32643").union_all()
    assert geom.symmetric_difference(ref).area < 1e-6 * ref.area


def test_shapefile_without_prj_is_a_named_error(tmp_path):
    path = tmp_path / "city.shp"
    gpd.GeoDataFrame(geometry=two_boxes_lonlat(), crs="EPSG:4326").to_file(path)
    (tmp_path / "city.prj").unlink()
    with pytest.raises(DataFileError, match=r"city\.shp: the boundary has no CRS"):
        read_boundary(path, "EPSG:32643")


def test_empty_corrupt_and_wrong_files(tmp_path):
    empty = tmp_path / "empty.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(DataFileError, match=r"empty\.geojson: the file has no features"):
        read_boundary(empty, "EPSG:32643")
    zero = tmp_path / "zero.geojson"
    zero.write_text("")
    with pytest.raises(DataFileError, match="empty file"):
        read_boundary(zero, "EPSG:32643")
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a geopackage at all")
    with pytest.raises(DataFileError, match=r"junk\.gpkg: cannot read"):
        read_boundary(junk, "EPSG:32643")
    line = tmp_path / "line.geojson"
    gpd.GeoDataFrame(geometry=[LineString([(77, 43.8), (77.1, 43.9)])], crs="EPSG:4326").to_file(line)
    with pytest.raises(InvalidInputError, match=r"line\.geojson, row 1, field 'geometry': LineString"):
        read_boundary(line, "EPSG:32643")


def test_metres_declared_as_degrees_is_a_bad_crs(tmp_path):
    utm = gpd.GeoSeries(two_boxes_lonlat(), crs="EPSG:4326").to_crs("EPSG:32643")
    path = tmp_path / "wrong.gpkg"
    gpd.GeoDataFrame(geometry=list(utm), crs="EPSG:4326").to_file(path, driver="GPKG")  # wrong CRS label
    with pytest.raises(DataFileError, match=r"wrong\.gpkg: coordinates .* do not fit the declared"):
        read_boundary(path, "EPSG:32643")


def test_boundary_of_another_city_is_refused(tmp_path):
    path = tmp_path / "almaty.geojson"
    a = get_city("almaty")
    gpd.GeoDataFrame(geometry=[box(a.lon - 0.01, a.lat - 0.01, a.lon + 0.01, a.lat + 0.01)], crs="EPSG:4326").to_file(
        path, driver="GeoJSON"
    )
    with pytest.raises(InvalidInputError, match="km from the centre of Konaev"):
        make_study_area(KONAEV, resolution_m=100, boundary=path)


def test_city_without_area_works_with_a_boundary(tmp_path):
    import dataclasses

    path = tmp_path / "city.geojson"
    gpd.GeoDataFrame(geometry=two_boxes_lonlat(), crs="EPSG:4326").to_file(path, driver="GeoJSON")
    city = dataclasses.replace(KONAEV, area_km2=None)
    area = make_study_area(city, resolution_m=100, boundary=path)
    assert area.population_total == pytest.approx(city.population)
    assert area.assumptions()["boundary"] == f"from file {path}"


def test_geometry_and_geoseries_boundaries_agree():
    geom = box(KONAEV.lon - 0.03, KONAEV.lat - 0.03, KONAEV.lon + 0.03, KONAEV.lat + 0.03)
    a = make_study_area(KONAEV, resolution_m=200, boundary=geom)
    b = make_study_area(KONAEV, resolution_m=200, boundary=gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(3857))
    assert a.shape == b.shape and (a.mask == b.mask).all()
    assert a.assumptions()["boundary"] == "given by the caller as a geometry"
    with pytest.raises(InvalidInputError, match="not WGS 84 lon/lat"):
        make_study_area(KONAEV, resolution_m=200, boundary=box(600000, 4800000, 610000, 4810000))
