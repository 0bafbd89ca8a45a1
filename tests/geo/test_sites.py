"""Site tables: reading CSV/GeoJSON, named errors for bad rows, projection, the far-from-city check."""

import json

import numpy as np
import pandas as pd
import pytest

from qamtu.errors import DataFileError, InvalidInputError
from qamtu.geo.area import make_study_area
from qamtu.geo.sites import (
    DEFAULT_ANTENNA,
    SITE_COLUMNS,
    check_sites_near_area,
    project_sites,
    read_sites,
    validate_sites,
)

GOOD = {
    "site_id": "TLD-001",
    "lat": "45.0167",
    "lon": "78.3667",
    "height_m": "28",
    "azimuth_deg": "30",
    "mechanical_tilt_deg": "2",
    "electrical_tilt_deg": "6",
    "tx_power_dbm": "53",
}


def write_csv(path, rows, columns=None):
    df = pd.DataFrame(rows, columns=columns)
    df.to_csv(path, index=False)
    return path


def three_sectors():
    return [dict(GOOD, azimuth_deg=str(a)) for a in (30, 150, 270)]


def test_read_good_csv_fills_defaults(tmp_path):
    df = read_sites(write_csv(tmp_path / "sites.csv", three_sectors()))
    assert list(df.columns[: len(SITE_COLUMNS)]) == list(SITE_COLUMNS)
    assert len(df) == 3
    assert df["height_m"].dtype == np.float64
    assert set(df["antenna"]) == {DEFAULT_ANTENNA}
    assert set(df["status"]) == {"existing"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lat", "95", "outside"),
        ("lon", "east", "not a finite number"),
        ("height_m", "0", "outside"),
        ("height_m", "785", "not an altitude"),
        ("azimuth_deg", "400", "outside"),
        ("mechanical_tilt_deg", "-91", "outside"),
        ("electrical_tilt_deg", "", "empty"),
        ("tx_power_dbm", "90", "outside"),
        ("status", "dreaming", "not one of existing, planned, candidate"),
        ("antenna", "yagi-3000", "known models: "),
        ("site_id", "", "empty"),
    ],
)
def test_each_bad_row_gives_a_named_error(tmp_path, field, value, message):
    rows = three_sectors()
    rows[1] = dict(rows[1], **{field: value})
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(InvalidInputError) as info:
        read_sites(path)
    text = str(info.value)
    assert str(path) in text and "row 2" in text and f"field {field!r}" in text and message in text
    assert "row 1," not in text and "row 3," not in text


def test_several_problems_are_reported_together(tmp_path):
    rows = three_sectors()
    rows[0]["lat"] = "100"
    rows[2]["height_m"] = "-3"
    with pytest.raises(InvalidInputError, match=r"row 1, field 'lat'.*row 3, field 'height_m'"):
        read_sites(write_csv(tmp_path / "s.csv", rows))


def test_duplicate_sector_is_flagged_with_both_rows(tmp_path):
    rows = three_sectors() + [dict(GOOD, azimuth_deg="390")]  # 390 is not allowed...
    with pytest.raises(InvalidInputError, match="outside"):
        read_sites(write_csv(tmp_path / "s.csv", rows))
    rows = three_sectors() + [dict(GOOD, azimuth_deg="360")]  # ...360 is 0 deg; 30 again is a duplicate
    rows.append(dict(GOOD))
    with pytest.raises(InvalidInputError, match=r"azimuth 30 deg \(rows 1, 5\)"):
        read_sites(write_csv(tmp_path / "s.csv", rows))


def test_missing_columns_and_empty_files(tmp_path):
    with pytest.raises(DataFileError, match="missing column.*tx_power_dbm"):
        read_sites(write_csv(tmp_path / "s.csv", [{k: v for k, v in GOOD.items() if k != "tx_power_dbm"}]))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataFileError, match="empty file"):
        read_sites(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text(",".join(GOOD) + "\n")
    with pytest.raises(DataFileError, match="no data rows"):
        read_sites(tmp_path / "header.csv")
    with pytest.raises(DataFileError, match="not found"):
        read_sites(tmp_path / "nope.csv")
    with pytest.raises(DataFileError, match="unknown site file type"):
        read_sites(write_csv(tmp_path / "s.xlsx", three_sectors()))


def test_geojson_points(tmp_path):
    feats = []
    for a in (30, 150, 270):
        props = {k: v for k, v in GOOD.items() if k not in ("lat", "lon")}
        props["azimuth_deg"] = a
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [78.37, 45.02]},
                      "properties": props})
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    df = read_sites(path)
    assert len(df) == 3 and df["lat"].iloc[0] == pytest.approx(45.02) and df["lon"].iloc[2] == pytest.approx(78.37)


def test_project_sites_and_far_sites():
    area = make_study_area("taldykorgan", resolution_m=200)
    df = validate_sites(pd.DataFrame(three_sectors()))
    proj = project_sites(df, area.crs)
    x, y = area.from_lonlat(78.3667, 45.0167)
    assert proj["x_m"].iloc[0] == pytest.approx(x) and proj["y_m"].iloc[0] == pytest.approx(y)
    check_sites_near_area(df, area)  # near: no error
    swapped = df.copy()
    swapped["lat"], swapped["lon"] = df["lon"].to_numpy(), df["lat"].to_numpy()
    with pytest.raises(InvalidInputError, match=r"row 1 .*swapped"):
        check_sites_near_area(swapped, area, source="s.csv")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(
    lat=st.floats(-90, 90), lon=st.floats(-180, 180), height=st.floats(0.5, 300), az=st.floats(0, 360),
    tilt=st.floats(-90, 90), power=st.floats(0, 70),
)
def test_valid_values_round_trip_through_csv(tmp_path_factory, lat, lon, height, az, tilt, power):
    row = dict(GOOD, lat=repr(lat), lon=repr(lon), height_m=repr(height), azimuth_deg=repr(az),
               mechanical_tilt_deg=repr(tilt), electrical_tilt_deg=repr(-tilt), tx_power_dbm=repr(power))
    path = write_csv(tmp_path_factory.mktemp("rt") / "s.csv", [row])
    df = read_sites(path)
    assert df["lat"].iloc[0] == lat and df["lon"].iloc[0] == lon and df["height_m"].iloc[0] == height
    assert 0.0 <= df["azimuth_deg"].iloc[0] < 360.0 and df["azimuth_deg"].iloc[0] == pytest.approx(az % 360.0)


def test_sectors_of_one_site_far_apart_warn(tmp_path):
    rows = three_sectors()
    rows[2]["lat"] = "45.03"  # 1.5 km north of the other two sectors
    with pytest.warns(UserWarning, match="TLD-001"):
        read_sites(write_csv(tmp_path / "s.csv", rows))


def test_a_site_table_over_the_documented_maximum_is_refused(tmp_path, monkeypatch):
    # issue 15: a 1,000,000-row table took > 9 GB in the engine; the reader stops at MAX_SITE_ROWS + 1 rows
    import qamtu.geo.sites as sites_mod

    monkeypatch.setattr(sites_mod, "MAX_SITE_ROWS", 50)
    line = ",".join(GOOD[c] for c in GOOD)
    path = tmp_path / "big.csv"
    path.write_text(",".join(GOOD) + "\n" + "\n".join(line.replace("TLD-001", f"S{i}") for i in range(5000)) + "\n")
    with pytest.raises(DataFileError, match=r"big\.csv: more than 50 sector rows; the most a site table may hold"):
        read_sites(path)
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [78.3667, 45.0167]},
                 "properties": {k: v for k, v in GOOD.items() if k not in ("lat", "lon")} | {"site_id": f"S{i}"}}
                for i in range(60)]
    gj = tmp_path / "big.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(DataFileError, match="more than 50 sector rows"):
        read_sites(gj)
    with pytest.raises(DataFileError, match="more than 50 sector rows"):
        validate_sites(pd.DataFrame([GOOD] * 51))
    monkeypatch.setattr(sites_mod, "MAX_SITE_FILE_BYTES", 1000)
    with pytest.raises(DataFileError, match=r"bytes; the largest site file read is 1000 bytes"):
        read_sites(path)


# --- every physical line accounted for (issue 15 item 2: site tables read through qamtu.csvio) ---

def _lines(rows):
    header = ",".join(SITE_COLUMNS[:8])
    return "\n".join([header] + [",".join(str(r[c]) for c in SITE_COLUMNS[:8]) for r in rows]) + "\n"


def test_stray_quote_is_an_error_naming_its_line(tmp_path):
    text = _lines(three_sectors()).splitlines()
    text[2] = text[2].replace(",28,", ',"28,')  # physical line 3: an unbalanced quote
    path = tmp_path / "s.csv"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(InvalidInputError, match=r"s\.csv, line 3: unbalanced quote"):
        read_sites(path)


def test_truncated_line_is_an_error_not_padded(tmp_path):
    text = _lines(three_sectors()).splitlines()
    text[3] = ",".join(text[3].split(",")[:5])  # physical line 4 has 5 of 8 fields
    path = tmp_path / "s.csv"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(InvalidInputError, match=r"line 4: truncated: 5 fields, the header has 8"):
        read_sites(path)


def test_blank_lines_do_not_shift_row_numbers(tmp_path):
    rows = three_sectors()
    rows[2]["height_m"] = "-5"
    text = _lines(rows).splitlines()
    path = tmp_path / "s.csv"
    path.write_text("\n".join(text[:2] + ["", ""] + text[2:]) + "\n")  # the bad row sits on physical line 6
    with pytest.raises(InvalidInputError, match=r"row 5, field 'height_m'"):
        read_sites(path)


def test_semicolon_decimal_comma_file_from_russian_excel(tmp_path):
    rows = three_sectors()
    header = ";".join(SITE_COLUMNS[:8])
    body = [";".join(str(r[c]).replace(".", ",") for c in SITE_COLUMNS[:8]) for r in rows]
    path = tmp_path / "s.csv"
    path.write_text("\n".join([header] + body) + "\n")
    df = read_sites(path)
    assert len(df) == 3
    assert df["lat"].tolist() == pytest.approx([45.0167] * 3)
    assert df["azimuth_deg"].tolist() == [30.0, 150.0, 270.0]


def test_a_column_named_twice_after_trimming_is_a_named_error(tmp_path):
    # Hypothesis found it: a GeoJSON property "\tsite_id" beside "site_id" made two site_id columns (a traceback)
    df = pd.DataFrame([GOOD])
    df[" SITE_ID"] = "X"
    with pytest.raises(DataFileError, match="'site_id' appear more than once"):
        validate_sites(df, "s.csv")
