"""Quadkeys against the Bing Maps Tile System documentation and the Web-Mercator formulas."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qamtu.audit import quadkey as qk
from qamtu.errors import InvalidInputError


def test_bing_maps_documented_example():
    # Bing Maps Tile System (Microsoft Learn), "Tile Coordinates and Quadkeys": tile X=3, Y=5 at level 3 -> "213"
    assert qk.tile_to_quadkey(3, 5, 3) == "213"
    assert qk.quadkey_to_tile("213") == (3, 5, 3)


def test_level_one_quadrants():
    # Bing Maps Tile System: at level 1 the four tiles are 0 (NW), 1 (NE), 2 (SW), 3 (SE)
    assert qk.quadkey_to_tile("0") == (0, 0, 1)
    assert qk.quadkey_to_tile("1") == (1, 0, 1)
    assert qk.quadkey_to_tile("2") == (0, 1, 1)
    assert qk.quadkey_to_tile("3") == (1, 1, 1)
    lon_min, lat_min, lon_max, lat_max = qk.quadkey_bounds_lonlat("1")
    assert (lon_min, lat_min, lon_max) == (0.0, 0.0, 180.0)
    assert lat_max == pytest.approx(qk.MAX_LATITUDE_DEG, abs=1e-8)  # the square map's edge, 85.05112878 deg


def test_zoom16_tile_bounds_by_hand():
    # Web-Mercator inverse by hand for tile (x, y) = (45768, 22193) at zoom 16, near Astana (51.17 N, 71.43 E):
    # lon = x / 2^16 * 360 - 180; lat = atan(sinh(pi (1 - 2 y / 2^16)))
    x, y, z = 45768, 22193, 16
    key = qk.tile_to_quadkey(x, y, z)
    assert len(key) == 16
    lon_min, lat_min, lon_max, lat_max = qk.quadkey_bounds_lonlat(key)
    assert lon_min == pytest.approx(45768 / 65536 * 360 - 180, abs=1e-12)
    assert lon_max - lon_min == pytest.approx(360 / 65536, abs=1e-12)  # 0.00549 deg
    assert lat_max == pytest.approx(math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * 22193 / 65536)))), abs=1e-12)
    assert lat_min < lat_max
    lon_c, lat_c = qk.quadkey_centre_lonlat(key)
    assert lon_min < lon_c < lon_max and lat_min < lat_c < lat_max
    # a point inside the tile maps back to it
    assert qk.lonlat_to_quadkey(lon_c, lat_c, 16) == key


def test_known_point_astana():
    # Astana centre (51.16667 N, 71.43333 E): the zoom-16 tile must contain it
    key = qk.lonlat_to_quadkey(71.43333, 51.16667, 16)
    lon_min, lat_min, lon_max, lat_max = qk.quadkey_bounds_lonlat(key)
    assert lon_min <= 71.43333 < lon_max and lat_min <= 51.16667 < lat_max


@pytest.mark.parametrize("bad", ["", "0124", "12a", "0" * 24, None, 123])
def test_invalid_quadkeys(bad):
    assert not qk.is_valid_quadkey(bad)
    with pytest.raises(InvalidInputError):
        qk.quadkey_to_tile(bad)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 23).flatmap(lambda z: st.tuples(st.integers(0, 2**z - 1), st.integers(0, 2**z - 1), st.just(z))))
def test_round_trip(tile):
    x, y, z = tile
    assert qk.quadkey_to_tile(qk.tile_to_quadkey(x, y, z)) == (x, y, z)
