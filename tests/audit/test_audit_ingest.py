"""Ingest of drive-test CSV and Ookla tiles: good rows, each kind of bad row, empty files, swapped lat/lon."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qamtu.audit import ingest
from qamtu.audit.assign import check_swapped_coordinates
from qamtu.audit.quadkey import lonlat_to_quadkey, quadkey_centre_lonlat
from qamtu.errors import DataFileError, InvalidInputError

from audit_testdata import ASTANA_LAT, ASTANA_LON, astana_boundary, drive_frame

HEADER = "time,lat,lon,operator,tech,rsrp_dbm,sinr_db,dl_mbps,ul_mbps,cell_id\n"
GOOD = "2024-03-01T10:00:00+05:00,51.17,71.43,Kcell,5G,-90,10,120.5,20,A1\n"

# one bad row per kind of problem, with the field it must be reported under
BAD_ROWS = [
    ("not-a-time,51.17,71.43,Kcell,5G,-90,10,120,20,A1\n", "time"),
    (",51.17,71.43,Kcell,5G,-90,10,120,20,A1\n", "time"),
    ("2024-03-01T10:00:00Z,95.0,71.43,Kcell,5G,-90,10,120,20,A1\n", "lat"),
    ("2024-03-01T10:00:00Z,51.17,181,Kcell,5G,-90,10,120,20,A1\n", "lon"),
    ("2024-03-01T10:00:00Z,,71.43,Kcell,5G,-90,10,120,20,A1\n", "lat"),
    ("2024-03-01T10:00:00Z,51.17,71.43,,5G,-90,10,120,20,A1\n", "operator"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,3G,-90,10,120,20,A1\n", "tech"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-160,10,120,20,A1\n", "rsrp_dbm"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-20,10,120,20,A1\n", "rsrp_dbm"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,45,120,20,A1\n", "sinr_db"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,-1,20,A1\n", "dl_mbps"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,99999,20,A1\n", "dl_mbps"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,120,abc,A1\n", "ul_mbps"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,,,,,A1\n", "rsrp_dbm,sinr_db,dl_mbps,ul_mbps"),
]


def test_good_rows_and_optional_empty_fields(tmp_path):
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD + "2024-03-01 10:00:01,51.17,71.43,Tele2,LTE,-95,,30,,\n", encoding="utf-8")
    m = ingest.read_drive_test(path)
    assert m.rows_read == 2 and m.rows_rejected == 0
    f = m.frame
    assert list(f["tech"]) == ["5G", "4G"]  # LTE is an alias of 4G
    assert f["time"].iloc[0] == pd.Timestamp("2024-03-01T05:00:00Z")  # offset honoured
    assert f["time"].iloc[1] == pd.Timestamp("2024-03-01T10:00:01Z")  # no offset: UTC
    assert np.isnan(f["sinr_db"].iloc[1]) and np.isnan(f["ul_mbps"].iloc[1])
    assert f["cell_id"].iloc[0] == "A1" and pd.isna(f["cell_id"].iloc[1])
    assert list(f["row"]) == [1, 2]


@pytest.mark.parametrize(("line", "field"), BAD_ROWS)
def test_each_kind_of_bad_row_is_rejected_with_its_field(tmp_path, line, field):
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD + GOOD + line, encoding="utf-8")
    m = ingest.read_drive_test(path)
    assert m.rows_read == 3 and m.rows_rejected == 1 and len(m.frame) == 2
    rej = m.rejects.iloc[0]
    assert rej["row"] == 3 and rej["field"] == field and rej["file"] == str(path)
    assert "row 3" in m.reject_summary() and repr(field) in m.reject_summary()


def test_rejects_file_is_written(tmp_path):
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD * 3 + BAD_ROWS[0][0] + BAD_ROWS[6][0], encoding="utf-8")
    m = ingest.read_drive_test(path)
    out = ingest.write_rejects(m, tmp_path / "out" / "rejects.csv")
    back = pd.read_csv(out)
    assert list(back.columns) == ["file", "row", "field", "value", "reason"]
    assert list(back["row"]) == [4, 5] and list(back["field"]) == ["time", "tech"]
    assert not list((tmp_path / "out").glob(".*tmp*"))  # no temporary file left behind


def test_mostly_bad_file_stops(tmp_path):
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD + BAD_ROWS[6][0] * 3, encoding="utf-8")
    with pytest.raises(DataFileError, match=r"3 of 4 rows .* failed validation.*row 2, field 'tech'"):
        ingest.read_drive_test(path)
    # the threshold is a parameter
    assert ingest.read_drive_test(path, max_reject_share=0.8).rows_rejected == 3


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataFileError, match="empty"):
        ingest.read_drive_test(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text(HEADER, encoding="utf-8")
    with pytest.raises(DataFileError, match="no data rows"):
        ingest.read_drive_test(header_only)
    with pytest.raises(DataFileError, match="not found"):
        ingest.read_drive_test(tmp_path / "missing.csv")


def test_missing_column_names_the_mapping(tmp_path):
    path = tmp_path / "drive.csv"
    path.write_text("time,lat,lon\n2024-01-01,51,71\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"required columns missing: operator"):
        ingest.read_drive_test(path)


def test_column_mapping_and_preset(tmp_path):
    # a semicolon-separated export with its own names, kbit/s throughput and a custom time format
    path = tmp_path / "export.txt"
    path.write_text(
        "Timestamp;Longitude;Latitude;Operatorname;NetworkTech;Level;SNR;DL_bitrate;UL_bitrate;CellID\n"
        "2024.03.01_10.00.00;71.43;51.17;Kcell;LTE;-97;8.5;25000;4000;1234\n",
        encoding="utf-8",
    )
    m = ingest.read_drive_test(path, preset="gnettrack")
    row = m.frame.iloc[0]
    assert row["dl_mbps"] == pytest.approx(25.0) and row["ul_mbps"] == pytest.approx(4.0)
    assert row["tech"] == "4G" and row["rsrp_dbm"] == -97 and row["time"] == pd.Timestamp("2024-03-01T10:00:00Z")
    # the same file read with an explicit mapping string
    spec = ("time=Timestamp,lat=Latitude,lon=Longitude,operator=Operatorname,tech=NetworkTech,rsrp_dbm=Level,"
            "sinr_db=SNR,dl_mbps=DL_bitrate*0.001,ul_mbps=UL_bitrate*0.001,time_format=%Y.%m.%d_%H.%M.%S")
    m2 = ingest.read_drive_test(path, spec)
    assert m2.frame["dl_mbps"].iloc[0] == pytest.approx(25.0)
    for bad in ("nonsense", "speed=DL", "dl_mbps=DL*zero", "dl_mbps=DL*-1"):
        with pytest.raises(InvalidInputError):
            ingest.parse_column_mapping(bad)
    with pytest.raises(InvalidInputError, match="unknown column preset"):
        ingest.parse_column_mapping(None, "nosuchapp")


def test_projected_coordinates_are_caught(tmp_path):
    path = tmp_path / "utm.csv"
    path.write_text(HEADER + "2024-03-01T10:00:00Z,5670000,530000,Kcell,5G,-90,10,120,20,A1\n" * 3,
                    encoding="utf-8")
    with pytest.raises(DataFileError, match="projected coordinates in metres"):
        ingest.read_drive_test(path)


def test_swapped_lat_lon_detected_by_city_bounds(tmp_path):
    boundaries = astana_boundary()
    frame = drive_frame(50)
    frame[["lat", "lon"]] = frame[["lon", "lat"]].to_numpy()  # columns exchanged: lat ~ 71, lon ~ 51 (both valid)
    path = tmp_path / "swapped.csv"
    frame.to_csv(path, index=False)
    m = ingest.read_drive_test(path)
    assert m.rows_rejected == 0  # each value is in range: only the cities' bounds can tell
    with pytest.raises(DataFileError, match="look swapped"):
        check_swapped_coordinates(m.frame, boundaries, str(path))
    # the right way round passes
    good = tmp_path / "good.csv"
    drive_frame(50).to_csv(good, index=False)
    check_swapped_coordinates(ingest.read_drive_test(good).frame, boundaries, str(good))


def _ookla_frame():
    keys = [lonlat_to_quadkey(ASTANA_LON + dx, ASTANA_LAT + dy, 16) for dx, dy in [(0, 0), (0.01, 0), (0, 0.01)]]
    return pd.DataFrame({
        "quadkey": keys, "avg_d_kbps": [120000, 45000, 8000], "avg_u_kbps": [20000, 9000, 1000],
        "avg_lat_ms": [25, 30, 41], "tests": [30, 10, 5], "devices": [12, 4, 2],
    })


def test_ookla_csv_and_parquet(tmp_path):
    df = _ookla_frame()
    csv = tmp_path / "2024-01-01_performance_mobile_tiles.csv"
    df.to_csv(csv, index=False)
    pq = tmp_path / "2024-04-01_performance_mobile_tiles.parquet"
    df.to_parquet(pq, index=False)
    for path, start in ((csv, "2024-01-01"), (pq, "2024-04-01")):
        m = ingest.read_ookla_tiles(path)
        assert m.kind == "ookla" and m.rows_read == 3 and m.rows_rejected == 0
        f = m.frame
        assert list(f["dl_mbps"]) == [120.0, 45.0, 8.0]
        assert list(f["weight"]) == [30, 10, 5]
        assert (f["time"] == pd.Timestamp(start, tz="UTC")).all()  # period start from Ookla's file name
        lon_c, lat_c = quadkey_centre_lonlat(df["quadkey"][0])
        assert f["lon"].iloc[0] == pytest.approx(lon_c) and f["lat"].iloc[0] == pytest.approx(lat_c)
        assert (f["lon_min"] < f["lon"]).all() and (f["lat"] < f["lat_max"]).all()
        assert set(f["operator"]) == {"all"} and set(f["tech"]) == {"all"}


def test_ookla_quadkey_keeps_leading_zero(tmp_path):
    # a CSV quadkey starting with 0 must not be read as an integer
    path = tmp_path / "tiles.csv"
    key = "0" + "1" * 15
    path.write_text(f"quadkey,avg_d_kbps,avg_u_kbps,avg_lat_ms,tests,devices\n{key},1000,500,20,3,1\n",
                    encoding="utf-8")
    assert ingest.read_ookla_tiles(path).frame["quadkey"].iloc[0] == key


@pytest.mark.parametrize(
    ("field", "value"),
    [("quadkey", "1234"), ("quadkey", "12301230123012301"), ("avg_d_kbps", "-5"), ("avg_u_kbps", "x"),
     ("tests", "0"), ("tests", "2.5"), ("devices", "99"), ("avg_lat_ms", "-1")],
)
def test_ookla_bad_rows(tmp_path, field, value):
    df = _ookla_frame().astype(str)
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)
    df.loc[3, field] = value
    path = tmp_path / "tiles.csv"
    df.to_csv(path, index=False)
    m = ingest.read_ookla_tiles(path)
    assert m.rows_rejected == 1 and m.rejects["row"].iloc[0] == 4 and m.rejects["field"].iloc[0] == field


def test_ookla_empty_and_missing_columns(tmp_path):
    path = tmp_path / "tiles.csv"
    path.write_text("quadkey,avg_d_kbps,avg_u_kbps,avg_lat_ms,tests,devices\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="no data rows"):
        ingest.read_ookla_tiles(path)
    pq = tmp_path / "empty.parquet"
    _ookla_frame().iloc[:0].to_parquet(pq)
    with pytest.raises(DataFileError, match="no data rows"):
        ingest.read_ookla_tiles(pq)
    path.write_text("quadkey,avg_d_kbps\n1,2\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="columns missing: avg_u_kbps"):
        ingest.read_ookla_tiles(path)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from audit_testdata import BAD_LINES, GOOD_LINE  # noqa: E402


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([GOOD_LINE] * 3 + BAD_LINES), min_size=1, max_size=30))
def test_no_row_is_dropped_silently(tmp_path, lines):
    # every row read is either accepted or rejected with a reason, never lost
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    m = ingest.read_drive_test(path, max_reject_share=1.0)
    assert len(m.frame) + m.rows_rejected == m.rows_read == len(lines)
    assert set(m.frame["row"]).isdisjoint(set(m.rejects["row"]))
    assert len(m.frame) == sum(line == GOOD_LINE for line in lines)
