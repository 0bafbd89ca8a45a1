"""The reference layout: a labelled hexagonal macro grid with an ISD per environment class."""

import math

import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree

from qamtu.geo.area import make_study_area
from qamtu.geo.layout import DEFAULT_ISD_M, REFERENCE_LAYOUT_LABEL, hex_lattice, hex_layout


def test_hex_lattice_spacing():
    x, y = hex_lattice((0, 0, 5000, 5000), 500.0, (0.0, 0.0))
    d, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=7)
    # every interior point has six neighbours at exactly the ISD (a triangular lattice)
    interior = (x > 600) & (x < 4400) & (y > 600) & (y < 4400)
    assert np.allclose(d[interior, 1:], 500.0)


def test_uniform_layout_site_count_matches_hexagon_area():
    area = make_study_area("taldykorgan", resolution_m=100)
    isd = 500.0
    layout = hex_layout(area, isd_m=isd, edge_margin=0.0)
    n_sites = layout["site_id"].nunique()
    # one site per hexagon of area sqrt(3)/2 * ISD^2 (3GPP hexagonal layout)
    expected = area.boundary.area / (math.sqrt(3) / 2 * isd**2)
    assert n_sites == pytest.approx(expected, rel=0.05)
    assert len(layout) == 3 * n_sites
    assert set(layout["azimuth_deg"]) == {30.0, 150.0, 270.0}
    assert layout.attrs["label"] == REFERENCE_LAYOUT_LABEL
    assert set(layout["status"]) == {"planned"} and set(layout["tx_power_dbm"]) == {53.0}
    assert layout["height_m"].between(25, 30).all()


def test_isd_follows_environment_class_and_covers_the_boundary():
    area = make_study_area("aktau", resolution_m=100)
    layout = hex_layout(area)
    sites = layout.drop_duplicates("site_id")
    assert set(sites["env_class"]) >= {"dense_urban", "urban", "suburban"}
    for env, isd in DEFAULT_ISD_M.items():
        assert (sites.loc[sites["env_class"] == env, "isd_m"] == isd).all()
    # denser classes are nearer the centre (monocentric model)
    cx, cy = area.centre_xy
    r = np.hypot(sites["x_m"] - cx, sites["y_m"] - cy)
    assert r[sites["env_class"] == "dense_urban"].max() < r[sites["env_class"] == "suburban"].min() + 800
    # every point of the boundary lies within one ISD of a site (no holes at class borders)
    pts = np.column_stack([sites["x_m"], sites["y_m"]])
    x, y = area.pixel_centres()
    inside = np.column_stack([x[area.mask], y[area.mask]])
    d, _ = cKDTree(pts).query(inside)
    assert d.max() < max(DEFAULT_ISD_M.values())
    # no two sites closer than half the smaller ISD
    dd, _ = cKDTree(pts).query(pts, k=2)
    assert dd[:, 1].min() >= 0.5 * min(DEFAULT_ISD_M.values()) - 1e-6
    # sites lie inside the boundary or within a quarter ISD of it
    dist = shapely.distance(area.boundary, shapely.points(pts))
    assert np.all(dist <= 0.25 * sites["isd_m"].to_numpy() + 1e-6)
