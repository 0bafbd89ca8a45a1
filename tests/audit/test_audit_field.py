"""Drive tests as inspectors have them (issue 17) and the audit side of issue 15: any area, excluded vs rejected,
sampling hygiene, paired before/after, readable outputs, fuzzed readers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qamtu.audit import ingest
from qamtu.audit.assign import CityBoundary, areas_from_file, utm_crs
from qamtu.audit.degradation import degradation_tests
from qamtu.audit.kpi import compute_kpis, session_kpis, technology_shares
from qamtu.audit.outputs import round_for_csv
from qamtu.audit.pipeline import run_audit
from qamtu.audit.sampling import dedupe_per_second, idle_mask, sample_durations
from qamtu.cli.app import app

from audit_testdata import drive_frame

runner = CliRunner()
HEADER = "time,lat,lon,operator,tech,rsrp_dbm,sinr_db,dl_mbps,ul_mbps,cell_id\n"
CORK_LON, CORK_LAT = -8.4756, 51.8985  # Cork, Ireland (en.wikipedia infobox): ~6,000 km from Kazakhstan


def _run(args):
    return runner.invoke(app, [str(a) for a in args])


def _square_geojson(path, lon, lat, half_deg=0.02, names=None):
    feats = []
    for i, name in enumerate(names or [None]):
        x0 = lon + 2.5 * half_deg * i
        ring = [[x0 - half_deg, lat - half_deg], [x0 + half_deg, lat - half_deg], [x0 + half_deg, lat + half_deg],
                [x0 - half_deg, lat + half_deg], [x0 - half_deg, lat - half_deg]]
        feats.append({"type": "Feature", "properties": {} if name is None else {"name": name},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def _cork_drive(n=120, seed=0, tech="5G", start="2024-03-01T08:00:00Z"):
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, periods=n, freq="s")
    return pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "lat": CORK_LAT + rng.uniform(-0.01, 0.01, n),
                         "lon": CORK_LON + rng.uniform(-0.01, 0.01, n), "operator": "Vodafone IE", "tech": tech,
                         "rsrp_dbm": -90.0, "sinr_db": 10.0, "dl_mbps": rng.uniform(20, 200, n).round(1),
                         "ul_mbps": 10.0, "cell_id": "c1"})


def test_utm_zone_from_position():
    # zone = floor((lon + 180) / 6) + 1: Astana 71.4 E -> 42 N; Cork 8.5 W -> 29 N; Sydney 151.2 E, 33.9 S -> 56 S
    assert utm_crs(71.43, 51.17) == "EPSG:32642"
    assert utm_crs(CORK_LON, CORK_LAT) == "EPSG:32629"
    assert utm_crs(151.21, -33.87) == "EPSG:32756"
    assert utm_crs(180.0, 0.0) == "EPSG:32660"


def test_custom_area_far_from_kazakhstan(tmp_path):
    drive = tmp_path / "cork.csv"
    frame = _cork_drive()
    frame.loc[len(frame)] = ["2024-03-01T09:00:00Z", 53.35, -6.26, "Vodafone IE", "5G", -90, 10, 50, 5, "c2"]  # Dublin
    frame.to_csv(drive, index=False)
    area = _square_geojson(tmp_path / "cork.geojson", CORK_LON, CORK_LAT)
    out = tmp_path / "o"
    res = _run(["audit", drive, "--boundary", area, "--area-name", "Cork centre", "--no-plots", "--n-boot", "100",
                "--out", out])
    assert res.exit_code in (0, 3), res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["cities"]["Cork centre"]["crs"] == "EPSG:32629" and s["samples_audited"] == 120
    assert s["samples_outside_areas"] == 1 and s["outside"]["bbox_lonlat"][:2] == [-6.26, 53.35]
    assert {k["city"] for k in s["kpis"]} == {"Cork centre"}
    # several polygons = several areas, named by a property
    areas = areas_from_file(_square_geojson(tmp_path / "two.geojson", CORK_LON, CORK_LAT, names=["west", "east"]))
    assert set(areas) == {"west", "east"} and all(b.crs == "EPSG:32629" for b in areas.values())


def test_nothing_audited_exits_non_zero_with_where_the_samples_are(tmp_path):
    drive = tmp_path / "cork.csv"
    _cork_drive(30).to_csv(drive, index=False)
    res = _run(["audit", drive, "--city", "astana", "--no-plots", "--out", tmp_path / "o"])
    assert res.exit_code == 2
    assert "nothing audited" in res.output and "nearest catalogue city" in res.output and "--boundary" in res.output
    assert "Traceback" not in res.output


def test_3g_only_file_in_a_batch_is_excluded_not_fatal(tmp_path):
    good = tmp_path / "good.csv"
    _cork_drive(60).to_csv(good, index=False)
    only3g = tmp_path / "3g.csv"
    _cork_drive(40, tech="HSPA+", start="2024-03-01T09:00:00Z").to_csv(only3g, index=False)
    broken = tmp_path / "broken.csv"
    broken.write_text(HEADER + "garbage,,,\n" * 10)
    area = _square_geojson(tmp_path / "cork.geojson", CORK_LON, CORK_LAT)
    out = tmp_path / "o"
    res = _run(["audit", good, only3g, broken, "--boundary", area, "--no-plots", "--n-boot", "100", "--out", out])
    # the broken file is reported and skipped (exit 2 at the end), the 3G file counted as fallback
    assert res.exit_code == 2 and "Skipped file" in res.output and "broken.csv" in res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["rows_read"] == 100 and s["rows_excluded"] == 40 and s["rows_rejected"] == 0
    assert [f["file"] for f in s["files_skipped"]] == [str(broken)]
    fb = s["fallback_and_no_service"][0]
    assert fb["tech"] == "3G" and fb["samples"] == 40 and fb["share_samples"] == pytest.approx(0.4)
    # the two drives are contiguous in time except a 59-minute gap, capped at 10 s per sample: 60 + 40 s on 3G
    assert fb["share_time"] == pytest.approx(40 / 100, abs=0.01)
    tech = pd.read_csv(out / "technology_measured.csv")
    assert set(tech["tech"]) == {"5G", "3G"}
    # --strict stops at the bad file
    res = _run(["audit", good, broken, "--boundary", area, "--strict", "--no-plots", "--out", tmp_path / "o2"])
    assert res.exit_code == 2 and "failed validation" in res.output


def test_per_second_dedupe_by_hand():
    # three rows in one second, one in the next: RSRP power mean 10 log10((10^-9 + 10^-10 + 10^-11) / 3)
    f = pd.DataFrame({
        "time": pd.to_datetime(["2024-01-01T00:00:00.1Z", "2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00.9Z",
                                "2024-01-01T00:00:01.2Z"], utc=True),
        "lat": [51.0, 51.0002, 51.0004, 51.001], "lon": 71.0, "operator": "Kcell", "operator_raw": "Kcell",
        "tech": "5G", "rsrp_dbm": [-90.0, -100.0, -110.0, -95.0], "sinr_db": [10.0, np.nan, 10.0, 5.0],
        "dl_mbps": [30.0, 60.0, np.nan, 10.0], "ul_mbps": np.nan, "cell_id": "A", "session": None, "weight": 1.0,
        "source": "f.csv", "line": [2, 3, 4, 5]})
    d = dedupe_per_second(f)
    assert len(d) == 2 and list(d["rows_merged"]) == [3, 1] and list(d["line"]) == [2, 5]
    expected = 10 * np.log10((1e-9 + 1e-10 + 1e-11) / 3)  # -94.3 dBm, not the -100 dBm arithmetic mean
    assert d["rsrp_dbm"].iloc[0] == pytest.approx(expected)
    assert d["sinr_db"].iloc[0] == pytest.approx(10.0) and d["dl_mbps"].iloc[0] == pytest.approx(45.0)
    assert d["lat"].iloc[0] == pytest.approx(51.0002) and d["time"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert len(dedupe_per_second(f.iloc[[0, 3]])) == 2  # nothing to merge: unchanged


def test_idle_rule_and_durations():
    assert list(idle_mask(np.array([0.05, 0.05, 5.0, np.nan]), np.array([np.nan, 2.0, 0.0, 0.0]), 0.1)) == [
        True, False, False, False]
    t = pd.Series(pd.to_datetime(["2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", "2024-01-01T00:00:03Z",
                                  "2024-01-01T01:00:00Z"], utc=True))
    # gaps 1, 2, 3597 (capped at 10) s; the last sample lasts the file's median gap (2 s)
    assert list(sample_durations(pd.Series(["f"] * 4), t)) == [1.0, 2.0, 10.0, 2.0]


def test_idle_samples_leave_the_throughput_kpis(tmp_path):
    frame = drive_frame(100, seed=1)
    frame["tech"], frame["operator"] = "5G", "Kcell"
    frame["dl_mbps"], frame["ul_mbps"] = 80.0, 5.0
    frame.loc[:29, ["dl_mbps", "ul_mbps"]] = 0.0  # 30 idle gaps between downloads
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    from audit_testdata import astana_boundary

    m = ingest.read_measurements([path])
    res = run_audit(m, astana_boundary(), n_boot=100, cluster_m=None)
    k = res.kpis[res.kpis["norm"] == "5g_proposed"].iloc[0]
    assert k["samples"] == 70 and k["share"] == 1.0 and res.summary["idle_samples"] == 30
    res0 = run_audit(m, astana_boundary(), n_boot=100, cluster_m=None, idle_mbps=0.0)
    assert res0.kpis[res0.kpis["norm"] == "5g_proposed"]["share"].iloc[0] == pytest.approx(0.7)


def test_sessions_from_time_gaps(tmp_path):
    frame = _cork_drive(30)
    frame.loc[10:14, ["dl_mbps", "ul_mbps"]] = 0.0  # idle between two downloads
    frame["time"] = pd.date_range("2024-03-01T08:00:00Z", periods=30, freq="s").strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    m = ingest.read_measurements([path])
    area = areas_from_file(_square_geojson(tmp_path / "a.geojson", CORK_LON, CORK_LAT))
    res = run_audit(m, area, n_boot=100)
    sess = res.sessions
    assert list(sess["samples"]) == [10, 15]
    assert sess["dl_mbps_mean"].iloc[0] == pytest.approx(frame["dl_mbps"].iloc[:10].mean())
    # session KPI: both sessions above 5 Mbit/s -> 2 of 2, Wilson lower bound n / (n + z^2) = 2 / 5.8415
    k = session_kpis(sess.assign(tech="4G"), required_share=0.9).iloc[0]
    assert (k["sessions"], k["share"]) == (2, 1.0) and k["ci_low"] == pytest.approx(2 / (2 + 1.959964**2), rel=1e-5)


def test_paired_degradation_on_matched_squares():
    # squares 0-9 in A, 5-14 in B; on the 5 shared squares B is 10 Mbit/s lower; B's other squares are better
    rows = []
    for period, squares, shift in (("A", range(10), 0.0), ("B", range(5, 15), -10.0)):
        for sq in squares:
            level = 50.0 + 2 * sq + (shift if sq < 10 else 60.0)
            rows.append(pd.DataFrame({"city": "x", "operator": "Kcell", "tech": "5G", "period": period,
                                      "dl_mbps": level + np.array([-1.0, 0.0, 1.0]), "weight": 1.0, "cluster": sq}))
    frame = pd.concat(rows, ignore_index=True)
    d = degradation_tests(frame, "A", "B").iloc[0]
    assert (d["squares_a"], d["squares_b"], d["matched_squares"]) == (10, 10, 5)
    assert d["median_change_mbps"] == pytest.approx(-10.0)  # median of per-square differences
    assert d["effect_size"] == pytest.approx(-1.0)  # every matched square got worse
    assert d["mw_p"] == pytest.approx(1 / 32)  # exact Wilcoxon, n = 5, all negative: 1 / 2^5
    assert d["n_a"] == 15 and d["n_b"] == 15  # samples of the matched squares only
    u = degradation_tests(frame, "A", "B", paired=False).iloc[0]
    assert u["median_change_mbps"] > 0 and pd.isna(u["matched_squares"])  # unpaired: B looks better


def test_samples_needed_is_in_raw_samples():
    rng = np.random.default_rng(0)
    cluster = np.repeat(np.arange(40), 10)  # 40 bins of 10 correlated samples
    hit = np.repeat(rng.random(40) < 0.9, 10)
    frame = pd.DataFrame({"city": "x", "operator": "K", "tech": "5G", "period": "all", "weight": 1.0,
                          "dl_mbps": np.where(hit, 100.0, 1.0), "cluster": cluster})
    k = compute_kpis(frame, required_share=0.9).query("norm == '5g_proposed'").iloc[0]
    assert k["verdict"] == "not enough data"
    assert k["samples_needed"] > k["units"] == 400  # never fewer than the samples already taken
    deff = k["units"] / k["n_eff"]
    assert k["samples_needed"] == int(np.ceil(k["samples_needed_eff"] * deff - 1e-9))


def test_technology_shares_by_hand():
    tl = pd.DataFrame({"city": "x", "operator": "K", "period": "all",
                       "tech": ["5G", "5G", "4G", "3G", "no service"], "duration_s": [1.0, 1.0, 2.0, 4.0, 2.0]})
    t = technology_shares(tl).set_index("tech")
    assert t.loc["3G", "share_samples"] == pytest.approx(0.2) and t.loc["3G", "share_time"] == pytest.approx(0.4)
    assert t.loc["no service", "share_time"] == pytest.approx(0.2) and t["samples_total"].eq(5).all()


def test_csv_numbers_are_rounded():
    f = pd.DataFrame({"dl_mbps": [7.1000000000000005], "share": [0.123456789], "rsrp_dbm": [-90.123456],
                      "lat": [51.123456789], "mw_p": [1.234567891e-12]})
    r = round_for_csv(f)
    assert r["dl_mbps"].iloc[0] == 7.1 and r["share"].iloc[0] == 0.1235 and r["lat"].iloc[0] == 51.123457
    assert "7.1000000000000005" not in r.to_csv(index=False, float_format="%.6g")


def test_map_has_one_row_per_period(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    from audit_testdata import astana_boundary
    from qamtu.audit.kpi import DEFAULT_NORMS
    from qamtu.audit.outputs import plot_verdict_map

    path = tmp_path / "d.csv"
    drive_frame(120, seed=2).to_csv(path, index=False)
    m = ingest.read_measurements([path])
    one = run_audit(m, astana_boundary(), n_boot=100, percentiles=())
    two = run_audit(m, astana_boundary(), n_boot=100, percentiles=(),
                    periods=["2024-01-01..2024-06-30", "2024-07-01..2024-12-31"])
    norms = DEFAULT_NORMS[:1]
    h1 = Image.open(plot_verdict_map(one.frame, one.kpis, "astana", norms, tmp_path / "one.png")).size[1]
    h2 = Image.open(plot_verdict_map(two.frame, two.kpis, "astana", norms, tmp_path / "two.png")).size[1]
    assert h2 > 1.7 * h1  # two rows of panels
    assert len(two.samples) == 120 and two.samples["bin"].str.startswith("astana:").all()


# ---- issue 15, audit side -----------------------------------------------------------------------------------


def test_stray_quote_and_truncated_rows_are_counted(tmp_path):
    # '"Kcell' on one line and 'Kcell"' ten lines later used to swallow the lines between them
    lines = [f"2024-03-01T10:00:{i % 60:02d}Z,51.17,71.43,Kcell,5G,-90,10,120,20,A1\n" for i in range(200)]
    lines[20] = lines[20].replace("Kcell", '"Kcell')
    lines[30] = lines[30].replace("Kcell", 'Kcell"')
    lines[50] = "2024-03-01T10:00:00Z,51.17,71.43\n"  # truncated: rejected, not padded with empty values
    path = tmp_path / "d.csv"
    path.write_text(HEADER + "".join(lines))
    m = ingest.read_drive_test(path)
    assert m.rows_read == 200 and m.rows_rejected == 3 and len(m.frame) == 197
    assert sorted(m.rejects["line"]) == [22, 32, 52]


def test_over_long_line_is_one_reject(tmp_path):
    path = tmp_path / "d.csv"
    good = "2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,120,20,A1\n"
    path.write_text(HEADER + good * 5 + "x" * (2 << 20) + "\n" + good * 5)
    m = ingest.read_drive_test(path)
    assert m.rows_read == 11 and m.rows_rejected == 1 and len(m.frame) == 10
    assert "longer than" in m.rejects["reason"].iloc[0] and m.rejects["line"].iloc[0] == 7


_PIECES = st.sampled_from([
    "2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,120,20,A1", "2024-03-01T10:00:01Z,51.17,71.43,KCELL,LTE,,,5,,",
    "2024-03-01T10:00:02Z,51.17,71.43,kcell,HSPA+,,,1,,", "2024-03-01T10:00:03Z,51.17,71.43,Kcell,no service,,,,,",
    "x,1", '"open,quote', "", "2024-03-01T10:00:04Z,51.17,71.43,Kcell,5G,-200,-30,7.5,1,A1", "\x00\xff",
    "2024-03-01T10:00:05Z,91,71.43,Kcell,5G,-90,10,120,20,A1", ";;;;", "a,b,c,d,e,f,g,h,i,j,k,l",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_PIECES, min_size=1, max_size=25))
def test_rows_read_is_accepted_plus_rejected_plus_excluded(tmp_path, pieces):
    assume(any(p.strip() for p in pieces))  # an all-blank file is "no data rows", tested elsewhere
    path = tmp_path / "r.csv"
    path.write_bytes((HEADER + "\n".join(pieces) + "\n").encode("utf-8", "surrogateescape"))
    m = ingest.read_measurements([path], columns="missing[rsrp_dbm]=-200", max_reject_share=1.0)
    assert m.rows_read == len(m.frame) + m.rows_rejected + m.rows_excluded == sum(bool(p.strip()) for p in pieces)
    rejected = set(m.rejects.loc[m.rejects["action"] == "row rejected", "line"])
    assert not rejected & set(m.frame["line"]) and not rejected & set(m.excluded["line"])
    # Kcell, KCELL and kcell are one operator, named by its most frequent spelling
    assert len(set(m.frame["operator"]) | set(m.excluded["operator"])) <= 1


_FUZZ_BYTES = st.lists(st.sampled_from([
    b"time,lat,lon,operator,tech,rsrp_dbm,sinr_db,dl_mbps,ul_mbps\n", b"2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,120,20\n",
    b'"', b",", b";", b"\t", b"\n", b"\r\n", b"\x00", b"\xff\xfe", b"nan", b"1e309", b"-", b"\xd0\x9a\xd0\xb0", b" ",
    b"quadkey,avg_d_kbps,avg_u_kbps,avg_lat_ms,tests,devices\n", b"1203012301230123,1000,500,20,3,1\n",
]), max_size=30)


@settings(max_examples=int(__import__("os").environ.get("QAMTU_FUZZ_EXAMPLES", "30")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_FUZZ_BYTES, st.sampled_from(["drive", "ookla"]))
def test_fuzzed_readers_give_named_errors_and_one_line(tmp_path, chunks, fmt):
    path = tmp_path / ("2024-01-01_tiles.csv" if fmt == "ookla" else "drive.csv")
    path.write_bytes(b"".join(chunks))
    res = _run(["audit", path, "--format", fmt, "--city", "astana", "--no-plots", "--n-boot", "100",
                "--out", tmp_path / "o"])
    assert res.exit_code in (0, 2, 3), (res.exit_code, res.output, res.exception)
    assert "Traceback" not in res.output
    if res.exit_code == 2:
        err = [line for line in res.output.splitlines() if line.startswith("Error:")]
        assert len(err) == 1


def test_corrupt_parquet_is_one_line(tmp_path):
    path = tmp_path / "2024-01-01_performance_mobile_tiles.parquet"
    path.write_bytes(b"PAR1" + b"\n\x00garbage\nmore" * 10)
    res = _run(["audit", path, "--format", "ookla", "--city", "astana", "--out", tmp_path / "o"])
    assert res.exit_code == 2 and "cannot be read as parquet" in res.output
    err = [line for line in res.output.splitlines() if "parquet" in line]
    assert len(err) == 1


def test_mapping_help_names_every_key():
    from qamtu.cli.audit import MAPPING_HELP

    for key in ("time_format", "timezone", "missing[", "[5G]") + ingest.DRIVE_COLUMNS + ingest.OPTIONAL_COLUMNS:
        assert key in MAPPING_HELP
    res = runner.invoke(app, ["audit", "--help"], terminal_width=200)
    assert "timezone" in res.output and "gnettrack" in res.output and "--where" in res.output
    assert "missing[canonical]=V1|V2" in res.output and "missing[rsrp_dbm]=-200" in res.output  # not eaten as markup


def test_city_boundary_class_still_takes_any_area():
    from shapely.geometry import box

    b = CityBoundary("road", "EPSG:32629", box(0, 0, 1, 1), False)
    assert b.city_id == "road"
