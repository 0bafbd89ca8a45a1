"""Study areas: UTM zone, default disc, grid alignment, population model, environment classes."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qamtu.errors import InvalidInputError
from qamtu.geo.area import ENV_CLASSES, EnvThresholds, make_study_area, utm_crs_for
from qamtu.geo.catalogue import get_city, load_cities
from qamtu.geo.population import MonocentricModel, monocentric_population


@pytest.mark.parametrize(
    ("city_id", "epsg"),
    # UTM zone = floor((lon + 180) / 6) + 1; Kazakhstan spans zones 39N-45N (docs/reference/kazakhstan.md)
    [("almaty", "EPSG:32643"), ("aktau", "EPSG:32639"), ("oskemen", "EPSG:32644"), ("astana", "EPSG:32642"),
     ("oral", "EPSG:32639"), ("semey", "EPSG:32644"), ("kostanay", "EPSG:32641")],
)
def test_utm_zone_per_city(city_id, epsg):
    c = get_city(city_id)
    assert utm_crs_for(c.lon, c.lat) == epsg
    assert make_study_area(c, resolution_m=500).crs == epsg


def test_every_city_is_in_kazakhstans_utm_zones():
    assert {utm_crs_for(c.lon, c.lat) for c in load_cities()} <= {f"EPSG:{32639 + k}" for k in range(7)}
    assert utm_crs_for(-70.0, -33.0) == "EPSG:32719"  # southern hemisphere


@pytest.mark.parametrize("city_id", ["konaev", "taldykorgan", "almaty"])
def test_disc_area_matches_catalogue_within_grid_tolerance(city_id):
    city = get_city(city_id)
    res = 50.0
    area = make_study_area(city, resolution_m=res, boundary="disc")
    assert area.boundary_is_approximation
    radius = math.sqrt(city.area_km2 * 1e6 / math.pi)
    assert area.boundary_area_km2 == pytest.approx(city.area_km2, rel=1e-4)
    # pixel-centre rasterisation: the error is bounded by the perimeter times half a pixel (in practice far less)
    tolerance_km2 = 2 * math.pi * radius * res / 2 / 1e6
    assert abs(area.area_km2 - city.area_km2) < tolerance_km2 / 5


def test_grid_is_north_up_aligned_and_centres_are_inside():
    area = make_study_area("konaev", resolution_m=100, boundary="disc")
    t = area.transform
    assert t.b == 0 and t.d == 0 and t.a == 100 and t.e == -100
    assert t.c % 100 == 0 and t.f % 100 == 0
    x, y = area.pixel_centres()
    assert x.shape == area.shape
    cx, cy = area.centre_xy
    r = math.sqrt(area.boundary.area / math.pi)
    d = np.hypot(x - cx, y - cy)
    assert np.all(d[area.mask] <= r + 1e-6)
    assert np.all(d[~area.mask] >= r * 0.999)
    lon, lat = area.to_lonlat(cx, cy)
    assert (lon, lat) == pytest.approx((area.city.lon, area.city.lat), abs=1e-9)


def test_missing_area_needs_a_boundary():
    city = dataclasses.replace(get_city("konaev"), area_km2=None)
    with pytest.raises(InvalidInputError, match="--boundary"):
        make_study_area(city, boundary="disc")
    # the shipped polygon needs no catalogue area: uncut, not an approximation
    area = make_study_area(city, resolution_m=500)
    assert not area.boundary_is_approximation and area.boundary_area_km2 > 3000


def test_bad_resolution():
    with pytest.raises(InvalidInputError, match="resolution_m"):
        make_study_area("konaev", resolution_m=0)


def test_default_population_is_the_catalogue_figure_and_says_it_is_a_model():
    area = make_study_area("taldykorgan", resolution_m=100)
    assert area.population_total == pytest.approx(area.city.population, rel=1e-12)
    assert np.all(area.population[~area.mask] == 0)
    assert area.population_is_model and "Clark 1951" in area.population_source
    assert "approximate" in area.assumptions()["boundary"]
    # monotone: density falls away from the centre (the administrative centre, inside the real polygon)
    assert "administrative centre" in area.population_source
    x, y = area.pixel_centres()
    cx, cy = area.info["population_centre_xy_m"]
    d = np.hypot(x - cx, y - cy)[area.mask]
    p = area.population[area.mask]
    order = np.argsort(d)
    assert np.all(np.diff(p[order]) <= 1e-9 * p.max())


def test_env_class_follows_thresholds():
    area = make_study_area("almaty", resolution_m=200)
    dens = area.density_per_km2
    t = area.env_thresholds
    assert np.all(area.env_class[dens >= t.dense_urban_per_km2] == ENV_CLASSES.index("dense_urban"))
    assert np.all(area.env_class[(dens < t.suburban_per_km2)] == ENV_CLASSES.index("rural"))
    shares = area.env_share()
    assert sum(shares.values()) == pytest.approx(1.0)
    # Almaty's model centre is dense urban (central density ~5.6x the mean of 3,440/km2)
    assert shares["dense_urban"] > 0
    strict = make_study_area("almaty", resolution_m=200, env_thresholds=EnvThresholds(50_000, 20_000, 8_000))
    assert strict.env_share()["dense_urban"] == 0


def test_env_thresholds_must_decrease():
    with pytest.raises(InvalidInputError, match="strictly decreasing"):
        EnvThresholds(dense_urban_per_km2=100, urban_per_km2=3000)


@settings(max_examples=30, deadline=None)
@given(
    area_km2=st.floats(1.0, 400.0),
    total=st.floats(0.0, 3e6),
    res=st.sampled_from([50.0, 100.0, 250.0]),
    decay=st.floats(0.1, 10.0),
    dx=st.floats(-3000.0, 3000.0),
)
def test_population_model_is_nonnegative_and_sums_to_the_total(area_km2, total, res, decay, dx):
    r = math.sqrt(area_km2 * 1e6 / math.pi)
    n = int(2 * r / res) + 3
    xs = (np.arange(n) - n / 2 + 0.5) * res
    x, y = np.meshgrid(xs, xs)
    mask = np.hypot(x, y) <= r
    if not mask.any():
        mask[n // 2, n // 2] = True
    pop = monocentric_population(x, y, mask, (dx, 0.0), r, total, MonocentricModel(decay))
    assert np.all(pop >= 0)
    assert np.all(pop[~mask] == 0)
    assert pop.sum() == pytest.approx(total, rel=1e-9, abs=1e-6)


@settings(max_examples=12, deadline=None)
@given(
    city_id=st.sampled_from(["konaev", "taldykorgan", "aktau", "zhezkazgan", "taraz", "semey"]),
    res=st.sampled_from([150.0, 300.0, 600.0]),
    decay=st.floats(0.5, 6.0),
)
def test_default_population_sums_to_the_catalogue_population(city_id, res, decay):
    area = make_study_area(city_id, resolution_m=res, population_model=MonocentricModel(decay))
    assert np.all(area.population >= 0)
    assert area.population.sum() == pytest.approx(get_city(city_id).population, rel=1e-12)


def test_the_study_area_records_where_its_boundary_comes_from():
    # the national report's "what these numbers assume" box counts these kinds
    assert make_study_area("taraz", resolution_m=1000.0).info["boundary_kind"] == "shipped"
    cut = make_study_area("zhezkazgan", resolution_m=1000.0)
    assert cut.info["boundary_kind"] == "settlement_cut" and cut.boundary_is_approximation
    assert make_study_area("taraz", resolution_m=1000.0, boundary="disc").info["boundary_kind"] == "disc"
