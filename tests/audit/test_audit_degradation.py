"""The degradation test flags a planted drop and leaves noise alone (seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qamtu.audit.degradation import DEGRADATION_COLUMNS, degradation_tests
from qamtu.audit.ingest import read_drive_test
from qamtu.audit.pipeline import run_audit
from qamtu.errors import InvalidInputError

from audit_testdata import astana_boundary, drive_frame, same_route

A, B = "2024-01-01..2024-06-30", "2024-07-01..2024-12-31"


def _two_periods(rng, n, median_a, median_b, groups=(("astana", "Kcell", "5G"),)):
    rows = []
    for city, op, tech in groups:
        for period, med in ((A, median_a), (B, median_b)):
            v = rng.lognormal(np.log(med), 0.5, n)
            rows.append(pd.DataFrame({"city": city, "operator": op, "tech": tech, "period": period,
                                      "dl_mbps": v, "weight": 1.0}))
    return pd.concat(rows, ignore_index=True)


def test_planted_drop_is_flagged():
    rng = np.random.default_rng(11)
    frame = _two_periods(rng, 120, 80.0, 50.0)  # median falls from 80 to 50 Mbit/s
    out = degradation_tests(frame, A, B)
    assert list(out.columns) == list(DEGRADATION_COLUMNS)
    row = out[out["norm"] == "5g_proposed"].iloc[0]
    assert row["median_change_mbps"] < -20
    assert row["cliffs_delta"] < -0.3 and row["cohens_h"] < 0
    assert row["worse_median"] and row["worse_share"] and row["degraded"]
    assert row["quantity"] == "measured"


def test_noise_is_not_flagged_across_many_groups():
    # 20 groups with the same distribution in both periods: with Holm at alpha 0.05 none may be flagged
    groups = [(f"city{i}", op, "5G") for i in range(10) for op in ("Kcell", "Tele2")]
    rng = np.random.default_rng(2024)
    frame = _two_periods(rng, 80, 70.0, 70.0, groups)
    out = degradation_tests(frame, A, B, alpha=0.05)
    assert len(out.drop_duplicates(["city", "operator"])) == 20
    assert not out["degraded"].any()
    # Holm never lowers a p-value
    assert (out["mw_p_holm"] >= out["mw_p"] - 1e-15).all()


def test_improvement_is_not_a_degradation():
    rng = np.random.default_rng(5)
    out = degradation_tests(_two_periods(rng, 100, 50.0, 90.0), A, B)
    assert not out["degraded"].any()
    assert (out["median_change_mbps"] > 0).all()


def test_group_in_one_period_only_is_not_flagged():
    rng = np.random.default_rng(1)
    frame = _two_periods(rng, 30, 80.0, 40.0)
    frame = frame[~((frame["period"] == B))]
    out = degradation_tests(frame, A, B)
    assert out["mw_p"].isna().all() and not out["degraded"].any()


def test_bad_parameters():
    frame = _two_periods(np.random.default_rng(0), 10, 1.0, 1.0)
    with pytest.raises(InvalidInputError):
        degradation_tests(frame, A, A)
    with pytest.raises(InvalidInputError):
        degradation_tests(frame, A, B, alpha=0.9)


def test_run_audit_end_to_end_in_python(tmp_path):
    boundaries = astana_boundary()
    frame = drive_frame(300, seed=4)
    late = same_route(frame)
    frame.loc[late, "dl_mbps"] = (frame.loc[late, "dl_mbps"] * 0.4).round(2)  # planted drop after 1 July
    frame.loc[len(frame)] = ["2024-02-01T00:00:00Z", 43.24, 76.915, "Kcell", "4G", -90, 5, 10, 2, "X"]  # Almaty
    path = tmp_path / "drive.csv"
    frame.to_csv(path, index=False)
    m = read_drive_test(path)
    res = run_audit(m, boundaries, periods=[A, B], n_boot=200)
    s = res.summary
    assert s["rows_read"] == 301 and s["rows_rejected"] == 0 and s["samples_outside_cities"] == 1
    assert s["samples_audited"] == 300
    assert {k["period"] for k in s["kpis"]} == {A, B}
    assert res.degradation is not None and res.degradation["degraded"].all()
    assert set(res.degradation["operator"]) == {"Kcell", "Tele2"}
    with pytest.raises(InvalidInputError, match="overlap"):
        run_audit(m, boundaries, periods=["2024-01-01..2024-07-31", B])


def test_city_quality_for_the_national_report(tmp_path):
    from qamtu.audit import city_quality

    path = tmp_path / "drive.csv"
    drive_frame(120, seed=3).to_csv(path, index=False)
    q = city_quality(path, "astana")
    assert set(q["city"]) == {"astana"} and set(q["quantity"]) == {"measured"}
    assert q["samples"].groupby([q["operator"], q["tech"], q["norm"]]).sum().sum() > 0
    assert {"share", "ci_low", "ci_high", "verdict"} <= set(q.columns)
    # samples outside the city give an empty table, not an error
    assert city_quality(path, "almaty").empty


def test_import_audit_stays_light():
    import subprocess
    import sys

    code = ("import sys, qamtu.audit; bad = [m for m in ('typer', 'matplotlib', 'folium', 'dask') "
            "if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_few_correlated_clusters_are_not_many_observations():
    # 3 bins per period with 100 samples each; the bins' levels differ a little between periods. Counted as
    # 300 independent samples the drop looks significant; with one median per bin (3 vs 3, smallest exact
    # one-sided Mann-Whitney p-value 1/20 = 0.05) it cannot reach alpha = 0.05.
    rng = np.random.default_rng(8)
    rows = []
    for period, levels, first in ((A, [80.0, 90.0, 100.0], 0), (B, [70.0, 85.0, 95.0], 3)):
        for j, lev in enumerate(levels):
            rows.append(pd.DataFrame({"city": "astana", "operator": "Kcell", "tech": "5G", "period": period,
                                      "dl_mbps": lev + rng.normal(0, 3.0, 100), "weight": 1.0,
                                      "cluster": first + j}))
    frame = pd.concat(rows, ignore_index=True)
    clustered = degradation_tests(frame, A, B, paired=False)
    assert degradation_tests(frame, A, B)["matched_squares"].iloc[0] == 0  # paired: no square in both periods
    independent = degradation_tests(frame.drop(columns="cluster"), A, B)
    assert independent["worse_median"].all()
    assert not clustered["worse_median"].any()
    # bin medians about A = (80, 90, 100), B = (70, 85, 95): U_A = 1 + 2 + 3 = 6 of 9; exact null distribution
    # of U for 3 vs 3 (20 orderings) has counts 1,1,2,3,3,3,3,2,1,1 for U = 0..9, so P(U >= 6) = 7/20
    assert clustered["mw_p"].iloc[0] == pytest.approx(7 / 20)
