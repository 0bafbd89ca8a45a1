"""The shipped real boundaries: areas against the geodesic area, the settlement cut, districts, attribution."""

import math

import numpy as np
import pytest
from shapely.geometry import box

from qamtu.geo.area import make_study_area
from qamtu.chain.coverage import district_rows as district_kpis
from qamtu.geo.catalogue import get_city, load_cities
from qamtu.geo.shipped import (
    BOUNDARY_ATTRIBUTION,
    city_districts,
    city_polygon,
    geodesic_area_km2,
    settlement_cut,
)


@pytest.mark.parametrize("city_id", ["astana", "karaganda"])
def test_real_polygon_area_within_1_percent_of_the_geodesic_area(city_id):
    area = make_study_area(city_id, resolution_m=100)
    assert not area.boundary_is_approximation
    geodesic = geodesic_area_km2(city_polygon(city_id).geometry)  # pyproj Geod on WGS 84: independent of UTM
    assert area.boundary_area_km2 == pytest.approx(geodesic, rel=0.01)
    assert area.area_km2 == pytest.approx(geodesic, rel=0.01)  # the pixels inside, at 100 m
    assert BOUNDARY_ATTRIBUTION in area.assumptions()["boundary"]


def test_zhezkazgan_settlement_cut_is_the_catalogue_area_and_flagged():
    city = get_city("zhezkazgan")
    area = make_study_area(city, resolution_m=100)
    assert area.boundary_is_approximation
    assert area.boundary_area_km2 == pytest.approx(city.area_km2, rel=0.10)
    assert area.area_km2 == pytest.approx(city.area_km2, rel=0.10)
    a = area.assumptions()
    assert a["info_admin_area_km2"] == pytest.approx(8547.4, abs=1)
    assert "settlement part" in a["boundary"] and "8,547 km2" in a["boundary"]
    # the cut lies inside the administration's polygon and contains the administrative centre
    poly = city_polygon("zhezkazgan")
    from qamtu.geo.boundary import transform_geometry
    from shapely.geometry import Point

    admin_m = transform_geometry(poly.geometry, "EPSG:4326", area.crs)
    assert area.boundary.difference(admin_m.buffer(1.0)).area == pytest.approx(0.0, abs=1.0)
    centre = transform_geometry(Point(poly.admin_centre_lon, poly.admin_centre_lat), "EPSG:4326", area.crs)
    assert area.boundary.contains(centre)


def test_settlement_cut_of_a_square_is_the_disc_of_the_target_area():
    sq = box(0, 0, 10_000, 10_000)  # 100 km2
    cut = settlement_cut(sq, (5_000, 5_000), 50.0)
    assert cut.area == pytest.approx(50e6, rel=1e-3)
    # inside the square the disc is whole: radius sqrt(A / pi)
    r = math.sqrt(50e6 / math.pi)
    minx, miny, maxx, maxy = cut.bounds
    assert (maxx - minx) / 2 == pytest.approx(r, rel=1e-3)
    # a corner centre: a quarter disc of the same area
    corner = settlement_cut(sq, (0, 0), 20.0)
    assert corner.area == pytest.approx(20e6, rel=1e-3)
    assert settlement_cut(sq, (0, 0), 200.0).equals(sq)  # smaller than the target: unchanged


def test_every_city_has_a_polygon_holding_its_administrative_centre_and_default_area_near_catalogue():
    from shapely.geometry import Point

    for c in load_cities():
        poly = city_polygon(c.id)
        assert poly is not None
        assert poly.geometry.buffer(0.01).contains(Point(poly.admin_centre_lon, poly.admin_centre_lat))


def test_districts_of_the_three_big_cities_tile_the_city():
    for cid, n in (("astana", 5), ("almaty", 8), ("shymkent", 5)):
        ds = city_districts(cid)
        assert len(ds) == n
        total = sum(geodesic_area_km2(d["geometry"]) for d in ds)
        assert total == pytest.approx(city_polygon(cid).area_km2, rel=0.01)
    assert city_districts("karaganda") == []


def test_district_kpis_add_up_to_the_city():
    area = make_study_area("almaty", resolution_m=250)
    covered = np.zeros(area.shape, dtype=bool)
    covered[: area.shape[0] // 2] = True
    rows = district_kpis(area, covered)
    assert {r["district"] for r in rows} >= {"Almaly", "Medeu", "Bostandyk"}
    people = sum(r["population_total"] for r in rows)
    assert people == pytest.approx(area.population_total, rel=1e-9)
    covered_people = sum(r["population_total"] * r["population_share"] for r in rows if r["population_total"])
    assert covered_people == pytest.approx(area.population[covered & area.mask].sum(), rel=1e-9)
    assert district_kpis(make_study_area("karaganda", resolution_m=500), covered[:1, :1]) == []


def test_self_intersecting_boundary_is_repaired_with_a_warning(tmp_path):
    import json

    from qamtu.errors import DataFileError, InvalidInputError

    c = get_city("karaganda")
    d = 0.02
    bowtie = [[c.lon - d, c.lat - d], [c.lon + d, c.lat + d], [c.lon + d, c.lat - d], [c.lon - d, c.lat + d],
              [c.lon - d, c.lat - d]]
    path = tmp_path / "bowtie.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [bowtie]}}]}))
    with pytest.warns(UserWarning, match="bowtie.geojson.*not a valid polygon.*Self-intersection.*repaired"):
        area = make_study_area(c, resolution_m=100, boundary=path)
    assert area.boundary.is_valid and area.boundary_area_km2 > 1.0
    line = tmp_path / "line.geojson"
    line.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                    "geometry": {"type": "LineString", "coordinates": bowtie[:2]}}]}))
    with pytest.raises(InvalidInputError, match="not a polygon"):
        make_study_area(c, resolution_m=100, boundary=line)
    empty = tmp_path / "empty.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(DataFileError, match="no features"):
        make_study_area(c, resolution_m=100, boundary=empty)
