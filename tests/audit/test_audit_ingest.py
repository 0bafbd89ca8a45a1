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
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,6G,-90,10,120,20,A1\n", "tech"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,,,,,A1\n", "rsrp_dbm,sinr_db,dl_mbps,ul_mbps"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-160,45,-1,x,A1\n", "rsrp_dbm,sinr_db,dl_mbps,ul_mbps"),
    ("2024-03-01T10:00:00Z,51.17\n", "(line)"),
    ('2024-03-01T10:00:00Z,51.17,71.43,"Kcell,5G,-90,10,120,20,A1\n', "(line)"),
]
# a bad MEASURED field drops that field only (issue 17 item 4)
BAD_FIELDS = [
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-160,10,120,20,A1\n", "rsrp_dbm"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-20,10,120,20,A1\n", "rsrp_dbm"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,45,120,20,A1\n", "sinr_db"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,-1,20,A1\n", "dl_mbps"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,99999,20,A1\n", "dl_mbps"),
    ("2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,120,abc,A1\n", "ul_mbps"),
]


def test_good_rows_and_optional_empty_fields(tmp_path):
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD + "2024-03-01 10:00:01,51.17,71.43,Tele2,LTE,-95,,30,,\n", encoding="utf-8")
    m = ingest.read_drive_test(path)
    assert m.rows_read == 2 and m.rows_rejected == 0 and m.rows_excluded == 0
    f = m.frame
    assert list(f["tech"]) == ["5G", "4G"]  # LTE is an alias of 4G
    assert f["time"].iloc[0] == pd.Timestamp("2024-03-01T05:00:00Z")  # offset honoured
    assert f["time"].iloc[1] == pd.Timestamp("2024-03-01T10:00:01Z")  # no offset: UTC
    assert np.isnan(f["sinr_db"].iloc[1]) and np.isnan(f["ul_mbps"].iloc[1])
    assert f["cell_id"].iloc[0] == "A1" and pd.isna(f["cell_id"].iloc[1])
    assert list(f["line"]) == [2, 3]  # physical lines: the header is line 1


@pytest.mark.parametrize(("line", "field"), BAD_ROWS)
def test_each_kind_of_bad_row_is_rejected_with_its_field(tmp_path, line, field):
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD + GOOD + line, encoding="utf-8")
    m = ingest.read_drive_test(path)
    assert m.rows_read == 3 and m.rows_rejected == 1 and len(m.frame) == 2
    rej = m.rejects[m.rejects["action"] == "row rejected"].iloc[0]
    assert rej["line"] == 4 and rej["field"] == field and rej["file"] == str(path)
    assert "line 4" in m.reject_summary() and repr(field) in m.reject_summary()


@pytest.mark.parametrize(("line", "field"), BAD_FIELDS)
def test_a_bad_field_drops_the_field_not_the_row(tmp_path, line, field):
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD + line, encoding="utf-8")
    m = ingest.read_drive_test(path)
    assert m.rows_read == 2 and m.rows_rejected == 0 and len(m.frame) == 2
    assert np.isnan(m.frame[field].iloc[1])
    others = [f for f in ingest.MEASURED_FIELDS if f != field]
    assert m.frame[others].iloc[1].notna().all()  # the row still counts for the fields it has
    rej = m.rejects.iloc[0]
    assert (rej["line"], rej["field"], rej["action"]) == (3, field, "field dropped")


def test_placeholders_are_missing_not_rejects(tmp_path):
    # G-NetTrack-like 'no value' placeholders: RSRP -200, SNR -30 (issue 17)
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD + "2024-03-01T10:00:01Z,51.17,71.43,Kcell,4G,-200,-30,12.5,1,A1\n")
    m = ingest.read_drive_test(path, "missing[rsrp_dbm]=-200,missing[sinr_db]=-30|-99")
    assert m.rows_rejected == 0 and m.rejects.empty
    row = m.frame.iloc[1]
    assert np.isnan(row["rsrp_dbm"]) and np.isnan(row["sinr_db"]) and row["dl_mbps"] == 12.5
    # without the declaration the same values are out of range: the fields are dropped and listed
    m2 = ingest.read_drive_test(path)
    assert set(m2.rejects["field"]) == {"rsrp_dbm", "sinr_db"} and m2.frame["dl_mbps"].iloc[1] == 12.5


def test_fallback_technology_is_excluded_not_rejected(tmp_path):
    path = tmp_path / "drive.csv"
    rows = [GOOD.replace("5G", t) for t in ("HSPA+", "UMTS", "EDGE", "No service", "LTE")]
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    m = ingest.read_drive_test(path)
    assert (m.rows_read, len(m.frame), m.rows_rejected, m.rows_excluded) == (5, 1, 0, 4)
    assert list(m.excluded["tech"]) == ["3G", "3G", "2G", "no service"]
    assert list(m.excluded["reason"]) == ["fallback technology"] * 3 + ["no service"]
    assert list(m.excluded["line"]) == [2, 3, 4, 5]
    # a 3G-only file is not "mostly bad": the guard counts true rejects only
    only3g = tmp_path / "only3g.csv"
    only3g.write_text(HEADER + rows[0] * 20, encoding="utf-8")
    assert ingest.read_drive_test(only3g).rows_excluded == 20


def test_operator_names_are_case_insensitive(tmp_path):
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD * 2 + GOOD.replace("Kcell", "kcell") + GOOD.replace("Kcell", " KCELL "))
    m = ingest.read_measurements([path])
    assert set(m.frame["operator"]) == {"Kcell"}
    assert list(m.frame["operator_raw"]) == ["Kcell", "Kcell", "kcell", "KCELL"]


def test_where_filter_excludes_rows(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("time,lat,lon,operator,tech,rsrp_dbm,sinr_db,dl_mbps,ul_mbps,State,Speed\n"
                    + "2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,120,20,D,12\n" * 3
                    + "2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,0,0,I,3\n" * 2
                    + "bad,51.17,71.43,Kcell,5G,-90,10,0,0,I,3\n")
    m = ingest.read_drive_test(path, where="State == 'D' and Speed > 5")
    assert (len(m.frame), m.rows_rejected, m.rows_excluded) == (3, 1, 2)
    assert set(m.excluded["reason"]) == {"filtered out"}
    with pytest.raises(InvalidInputError, match="--where"):
        ingest.read_drive_test(path, where="Nope == 1")


def test_rejects_file_is_written(tmp_path):
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD * 3 + BAD_ROWS[0][0] + BAD_ROWS[6][0], encoding="utf-8")
    m = ingest.read_drive_test(path)
    out = ingest.write_rejects(m, tmp_path / "out" / "rejects.csv")
    back = pd.read_csv(out)
    assert list(back.columns) == ["file", "line", "field", "value", "reason", "action"]
    assert list(back["line"]) == [5, 6] and list(back["field"]) == ["time", "tech"]
    assert not list((tmp_path / "out").glob(".*tmp*"))  # no temporary file left behind


def test_mostly_bad_file_stops(tmp_path):
    path = tmp_path / "drive.csv"
    path.write_text(HEADER + GOOD + BAD_ROWS[6][0] * 3, encoding="utf-8")
    with pytest.raises(DataFileError, match=r"3 of 4 rows .* failed validation.*line 3, field 'tech'"):
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


#: The column layout of a G-NetTrack Pro export as published in the 5G NSA dataset of Raca et al. (ACM MMSys 2020,
#: "Beyond Throughput, the Next Generation"): times local, throughput in kbit/s, '-' for no value, NR columns.
GNETTRACK_HEADER = ("Timestamp,Longitude,Latitude,Speed,Operatorname,CellID,NetworkMode,RSRP,RSRQ,SNR,CQI,RSSI,"
                    "DL_bitrate,UL_bitrate,State,PINGAVG,PINGMIN,PINGMAX,PINGSTDEV,PINGLOSS,CELLHEX,NODEHEX,LACHEX,"
                    "RAWCELLID,NRxRSRP,NRxRSRQ,ServingCell_Lon,ServingCell_Lat,ServingCell_Distance\n")
GNETTRACK_ROWS = [
    # LTE downloading
    "2019.12.16_07.22.43,-8.5,51.9,0,A,2,LTE,-91,-11,6,10,-71,25000,300,D,-,-,-,-,-,2,1,-,1,-,-,-8.49,51.89,1000\n",
    # 5G NSA: RSRP and SNR are the LTE anchor's, NRxRSRP the NR cell's
    "2019.12.16_07.22.44,-8.5,51.9,0,A,2,5G,-85,-10,9,12,-65,180000,900,D,-,-,-,-,-,2,1,-,1,-95,-12,-8.49,51.89,1000\n",
    # 5G with placeholders: RSRP -200, SNR -30 ('no value'), throughput still valid
    "2019.12.16_07.22.45,-8.5,51.9,0,A,2,5G,-200,-10,-30,12,-65,90000,900,D,-,-,-,-,-,2,1,-,1,-,-,-8.49,51.89,1000\n",
    # fell back to 3G
    "2019.12.16_07.22.46,-8.5,51.9,0,A,2,HSPA+,-,-,-,-,-80,2000,100,D,-,-,-,-,-,2,1,-,1,-,-,-8.49,51.89,1000\n",
]


def test_gnettrack_export_through_the_preset(tmp_path):
    path = tmp_path / "gnettrack.csv"
    path.write_text(GNETTRACK_HEADER + "".join(GNETTRACK_ROWS), encoding="utf-8")
    m = ingest.read_drive_test(path, "timezone=Europe/Dublin", preset="gnettrack")
    assert (m.rows_read, len(m.frame), m.rows_rejected, m.rows_excluded) == (4, 3, 0, 1)
    f = m.frame
    assert list(f["tech"]) == ["4G", "5G", "5G"]
    assert list(f["dl_mbps"]) == pytest.approx([25.0, 180.0, 90.0])  # kbit/s -> Mbit/s
    assert f["rsrp_dbm"].iloc[0] == -91  # LTE: RSRP
    assert f["rsrp_dbm"].iloc[1] == -95  # 5G NSA: NRxRSRP, not the anchor's -85
    assert np.isnan(f["sinr_db"].iloc[1])  # SNR on a 5G row is the anchor's: not taken as SS-SINR
    assert np.isnan(f["rsrp_dbm"].iloc[2])  # '-' in NRxRSRP
    assert f["time"].iloc[0] == pd.Timestamp("2019-12-16T07:22:43Z")  # Dublin in December = UTC
    assert m.excluded["tech"].tolist() == ["3G"] and m.excluded["tech_raw"].tolist() == ["HSPA+"]
    # the same file read with an explicit mapping string in the documented language
    spec = ("time=Timestamp,lat=Latitude,lon=Longitude,operator=Operatorname,tech=NetworkMode,rsrp_dbm=RSRP,"
            "rsrp_dbm[5G]=NRxRSRP,sinr_db=SNR,sinr_db[5G]=,dl_mbps=DL_bitrate*0.001,ul_mbps=UL_bitrate*0.001,"
            "missing[rsrp_dbm]=-200,missing[sinr_db]=-30,time_format=%Y.%m.%d_%H.%M.%S,timezone=Asia/Almaty")
    m2 = ingest.read_drive_test(path, spec)
    assert m2.frame["rsrp_dbm"].iloc[1] == -95 and m2.frame["dl_mbps"].iloc[1] == pytest.approx(180.0)
    assert m2.frame["time"].iloc[0] == pd.Timestamp("2019-12-16T01:22:43Z")  # Almaty, UTC+6 in 2019


def test_time_without_format_gets_a_hint(tmp_path):
    path = tmp_path / "gnettrack.csv"
    path.write_text(GNETTRACK_HEADER + GNETTRACK_ROWS[0] * 3, encoding="utf-8")
    spec = ("time=Timestamp,lat=Latitude,lon=Longitude,operator=Operatorname,tech=NetworkMode,rsrp_dbm=RSRP,"
            "sinr_db=SNR,dl_mbps=DL_bitrate,ul_mbps=UL_bitrate")
    with pytest.raises(DataFileError, match=r"time_format=%Y\.%m\.%d_%H\.%M\.%S"):
        ingest.read_drive_test(path, spec)


def test_mapping_language_errors():
    for bad in ("nonsense", "speed=DL", "dl_mbps=DL*zero", "dl_mbps=DL*-1", "rsrp_dbm[3G]=X", "lat[5G]=X",
                "missing[foo]=1", "missing[rsrp_dbm]=", "timezone=Mars/Olympus", "time_format=",
                "time_format=%Q", "time_format=%"):
        with pytest.raises(InvalidInputError):
            ingest.parse_column_mapping(bad)
    with pytest.raises(InvalidInputError, match="unknown column preset"):
        ingest.parse_column_mapping(None, "nosuchapp")
    cm = ingest.parse_column_mapping("rsrp_dbm[NR]=NRxRSRP,missing[rsrp_dbm]=-200|-140")
    assert cm.source("rsrp_dbm", "5G") == ("NRxRSRP", 1.0) and cm.source("rsrp_dbm", "4G") == ("rsrp_dbm", 1.0)
    assert cm.missing["rsrp_dbm"] == ("-200", "-140")


def test_semicolon_comma_decimal_export(tmp_path):
    # what a Russian-locale Excel writes: ';' between fields, ',' as the decimal mark
    path = tmp_path / "excel.csv"
    path.write_text(HEADER.replace(",", ";") + "2024-03-01T10:00:00Z;51,17;71,43;Kcell;5G;-90;10,5;120,5;20;A1\n")
    m = ingest.read_drive_test(path)
    assert m.frame["lat"].iloc[0] == pytest.approx(51.17) and m.frame["dl_mbps"].iloc[0] == pytest.approx(120.5)
    assert any("decimal comma" in h for h in m.hints)


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
    assert m.rows_rejected == 1 and m.rejects["line"].iloc[0] == 5 and m.rejects["field"].iloc[0] == field


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
    assert len(m.frame) + m.rows_rejected + m.rows_excluded == m.rows_read == len(lines)
    rejected = set(m.rejects.loc[m.rejects["action"] == "row rejected", "line"])
    assert set(m.frame["line"]).isdisjoint(rejected) and set(m.excluded["line"]).isdisjoint(rejected)
