"""Candidate tables: reading with named errors, lattice generation, existing sites, locks and exclusions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qamtu.errors import DataFileError, InvalidInputError
from qamtu.plan import combine_candidates, existing_sites, lattice_candidates, read_candidates, site_table

HEADER = "site_id,lat,lon,height_m,azimuth_deg,mechanical_tilt_deg,electrical_tilt_deg,tx_power_dbm,cost,decision\n"


def _row(sid, az, cost="10", decision="", lat=43.87, lon=77.07):
    return f"{sid},{lat},{lon},30,{az},0,6,53,{cost},{decision}\n"


def test_read_candidates_csv(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(HEADER + _row("A", 30) + _row("A", 150, cost="") + _row("B", 0, "7.5", "lock"))
    df = read_candidates(p)
    assert df["cost"].tolist() == [10.0, 10.0, 7.5]
    assert df["decision"].tolist() == ["", "", "lock"]
    assert (df["origin"] == "user").all()
    sites, codes = site_table(df)
    assert sites["site_id"].tolist() == ["A", "B"] and codes.tolist() == [0, 0, 1]
    assert sites["n_sectors"].tolist() == [2, 1]


def test_read_candidates_geojson(tmp_path):
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [77.07, 43.87]},
              "properties": {"site_id": "G1", "height_m": 25, "azimuth_deg": a, "mechanical_tilt_deg": 0,
                             "electrical_tilt_deg": 6, "tx_power_dbm": 53, "cost": 3}} for a in (30, 150, 270)]
    p = tmp_path / "c.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    df = read_candidates(p)
    assert len(df) == 3 and df["lat"].iloc[0] == pytest.approx(43.87) and (df["cost"] == 3).all()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (_row("A", 30, cost="-1"), r"row 1, field 'cost'.*>= 0"),
        (_row("A", 30, cost="ten"), r"row 1, field 'cost'"),
        (_row("A", 30) + _row("A", 150, cost="12"), r"row 2, field 'cost'.*different costs"),
        (_row("A", 30, cost=""), r"row 1, field 'cost'.*no cost"),
        (_row("A", 30, decision="maybe"), r"row 1, field 'decision'.*'lock', 'exclude'"),
        (_row("A", 30, decision="lock") + _row("A", 150, decision="exclude"), r"both locked and excluded"),
        (_row("A", 30).replace(",30,30,", ",-5,30,"), r"row 1, field 'height_m'"),
    ],
)
def test_bad_candidate_rows_name_file_row_field(tmp_path, body, match):
    p = tmp_path / "cand.csv"
    p.write_text(HEADER + body)
    with pytest.raises(InvalidInputError, match=match) as exc:
        read_candidates(p)
    assert "cand.csv" in str(exc.value)


def test_missing_cost_column_and_missing_file(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(HEADER.replace(",cost,decision", "") + "A,43.87,77.07,30,30,0,6,53\n")
    with pytest.raises(InvalidInputError, match="cost"):
        read_candidates(p)
    with pytest.raises(DataFileError, match="not found"):
        read_candidates(tmp_path / "nope.csv")


def test_lattice_existing_and_combine(konaev_small):
    area = konaev_small[0]
    lat = lattice_candidates(area, 1000.0, cost=2.0)
    n_sites = lat["site_id"].nunique()
    assert len(lat) == 3 * n_sites and (lat["cost"] == 2.0).all()
    assert sorted(lat["azimuth_deg"].unique().tolist()) == [30.0, 150.0, 270.0]
    # hexagonal lattice: nearest-neighbour distance equals the spacing
    one = lat.drop_duplicates("site_id")
    xy = one[["x_m", "y_m"]].to_numpy()
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) + np.eye(len(xy)) * 1e9
    assert np.allclose(d.min(1), 1000.0)
    # a lattice at 1 km spacing over 56 km2 (+ half a spacing around it) has about 56/0.866 + the rim
    assert 50 < n_sites < 120
    ex = existing_sites(pd.DataFrame({"site_id": ["E1"], "lat": [43.87], "lon": [77.07], "height_m": [30.0],
                                      "azimuth_deg": [0.0], "mechanical_tilt_deg": [0.0],
                                      "electrical_tilt_deg": [6.0], "tx_power_dbm": [53.0]}))
    assert ex["cost"].tolist() == [0.0] and ex["decision"].tolist() == ["lock"]
    first = lat["site_id"].iloc[0]
    both = combine_candidates(ex, lat, exclude=[first])
    sites, _ = site_table(both)
    assert sites.loc[sites.site_id == first, "decision"].item() == "exclude"
    assert sites.loc[sites.site_id == "E1", "origin"].item() == "existing"
    with pytest.raises(InvalidInputError, match="existing on-air"):
        combine_candidates(ex, lat, exclude=["E1"])
    with pytest.raises(InvalidInputError, match="unknown site id"):
        combine_candidates(lat, lock=["nope"])
    with pytest.raises(InvalidInputError, match="both locked in and ruled out"):
        combine_candidates(lat, lock=[first], exclude=[first])
    with pytest.raises(InvalidInputError, match="two candidate tables"):
        combine_candidates(lat, lat)
    with pytest.raises(InvalidInputError, match="spacing"):
        lattice_candidates(area, 10.0)
