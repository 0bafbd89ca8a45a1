"""Intervals, verdicts and tests of the audit, checked against values computed by hand.

Wilson score interval: E. B. Wilson, J. Am. Stat. Assoc. 22 (1927) 209-212; recommended over the Wald interval
by A. Agresti and B. A. Coull, The American Statistician 52 (1998) 119-126.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qamtu.audit import stats
from qamtu.audit.kpi import DEFAULT_NORMS, Norm, compute_kpis, compute_percentiles, parse_norms, share_at_or_above
from qamtu.errors import InvalidInputError

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_by_hand(k, n, z=Z95):
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_wilson_45_of_50_by_hand():
    # By hand: p = 0.9, z^2 = 3.841459, z^2/n = 0.0768292, 1 + z^2/n = 1.0768292
    # centre = (0.9 + 0.0384146) / 1.0768292 = 0.871462
    # half = 1.959964 / 1.0768292 * sqrt(0.0018 + 0.000384146) = 1.820127 * 0.0467348 = 0.085064
    lo, hi = stats.wilson_interval(45, 50, 0.95)
    assert lo == pytest.approx(0.786398, abs=2e-6)
    assert hi == pytest.approx(0.956526, abs=2e-6)
    assert (lo, hi) == pytest.approx(wilson_by_hand(45, 50), abs=1e-12)


def test_wilson_edge_cases():
    # k = 0: lower bound 0, upper z^2 / (n + z^2) (Agresti & Coull 1998, sec. 2)
    lo, hi = stats.wilson_interval(0, 20)
    assert lo == 0.0
    assert hi == pytest.approx(Z95**2 / (20 + Z95**2), abs=1e-12)
    lo, hi = stats.wilson_interval(20, 20)
    assert hi == 1.0 and lo == pytest.approx(20 / (20 + Z95**2), abs=1e-12)
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(InvalidInputError):
        stats.wilson_interval(6, 5)
    with pytest.raises(InvalidInputError):
        stats.wilson_interval(1, 5, confidence=1.5)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_estimate_and_stays_in_unit_interval(kn):
    k, n = kn
    lo, hi = stats.wilson_interval(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_verdict_rule():
    assert stats.verdict(0.91, 0.99, 0.9) == "meets"
    assert stats.verdict(0.80, 0.899, 0.9) == "fails"
    assert stats.verdict(0.85, 0.95, 0.9) == "not enough data"
    assert stats.verdict(0.95, 0.99, 0.9, n=0) == "not enough data"


def test_samples_needed_settles_the_verdict():
    # observed 0.95 against 0.9: the smallest n whose Wilson interval excludes 0.9
    n = stats.samples_needed(0.95, 0.9)
    assert stats.wilson_interval(0.95 * n, n)[0] >= 0.9
    assert stats.wilson_interval(0.95 * (n - 1), n - 1)[0] < 0.9
    # normal-approximation check: n ~ z^2 p (1 - p) / (p - p0)^2 = 73; Wilson needs somewhat more
    assert 60 <= n <= 140
    assert stats.samples_needed(0.9, 0.9) is None


def test_kish_effective_sample_size():
    assert stats.effective_sample_size(np.ones(10)) == pytest.approx(10)
    # weights 1, 1, 2: (4)^2 / (1 + 1 + 4) = 16 / 6
    assert stats.effective_sample_size(np.array([1.0, 1.0, 2.0])) == pytest.approx(16 / 6)


def test_holm_by_hand():
    # Holm (1979): sorted p = 0.01, 0.02, 0.04 with m = 3 -> 0.03, 0.04, 0.04 (monotone)
    adj = stats.holm_adjust(np.array([0.04, 0.01, 0.02, np.nan]))
    assert adj[:3] == pytest.approx([0.04, 0.03, 0.04])
    assert np.isnan(adj[3])


def test_two_proportion_by_hand():
    # 45/50 before, 35/50 after: pooled 0.8, se = sqrt(0.8 * 0.2 * (2/50)) = 0.08, z = (0.9 - 0.7) / 0.08 = 2.5
    z, p, h = stats.two_proportion_worse(45, 50, 35, 50)
    assert z == pytest.approx(2.5)
    assert p == pytest.approx(0.0062096653, rel=1e-6)  # 1 - Phi(2.5)
    assert h == pytest.approx(2 * math.asin(math.sqrt(0.7)) - 2 * math.asin(math.sqrt(0.9)))
    assert stats.two_proportion_worse(50, 50, 50, 50)[1] == 1.0


def test_cliffs_delta_by_hand():
    # before {3, 4}, after {1, 2}: every after value is smaller -> delta = -1
    p, d = stats.mann_whitney_worse(np.array([3.0, 4.0]), np.array([1.0, 2.0]))
    assert d == -1.0
    # before {1, 3}, after {2, 4}: pairs (after > before) = (2>1, 4>1, 4>3) = 3 of 4, (after < before) = 1 -> 0.5
    p, d = stats.mann_whitney_worse(np.array([1.0, 3.0]), np.array([2.0, 4.0]))
    assert d == pytest.approx(0.5)


def test_bootstrap_is_seeded_and_covers_the_median():
    rng = np.random.default_rng(3)
    x = rng.normal(100.0, 10.0, 300)
    est1, lo1, hi1 = stats.bootstrap_percentile_ci(x, (50.0,), n_boot=500, seed=7)
    est2, lo2, hi2 = stats.bootstrap_percentile_ci(x, (50.0,), n_boot=500, seed=7)
    assert np.array_equal(lo1, lo2) and np.array_equal(hi1, hi2)
    assert est1[0] == pytest.approx(np.median(x))
    assert lo1[0] < est1[0] < hi1[0]
    # the median's standard error is about 1.2533 sigma / sqrt(n) = 0.72: a 95 % interval some 2.8 wide
    assert 1.0 < hi1[0] - lo1[0] < 6.0


def test_weighted_quantile_equals_repetition():
    # a value with weight 3 counts like three copies: lower empirical quantile of [1, 2, 2, 2, 5]
    v = np.array([1.0, 2.0, 5.0])
    w = np.array([1.0, 3.0, 1.0])
    assert stats.weighted_quantile(v, 0.5, w) == 2.0
    assert stats.weighted_quantile(v, 0.9, w) == 5.0


def _frame(values, tech="4G", weights=None, period="all", city="astana", operator="Kcell"):
    n = len(values)
    return pd.DataFrame({
        "city": city, "operator": operator, "tech": tech, "period": period,
        "dl_mbps": np.asarray(values, float), "ul_mbps": np.asarray(values, float) / 4,
        "rsrp_dbm": np.full(n, -90.0), "sinr_db": np.full(n, 10.0),
        "weight": np.ones(n) if weights is None else np.asarray(weights, float),
    })


def test_kpi_share_and_interval_match_hand_values():
    # 45 of 50 samples at or above 5 Mbit/s on 4G, required share 0.9 -> interval straddles 0.9
    frame = _frame([6.0] * 45 + [2.0] * 5)
    kpis = compute_kpis(frame, DEFAULT_NORMS, required_share=0.9)
    row = kpis[kpis["norm"] == "4g_minimum"].iloc[0]
    assert row["samples"] == 50 and row["share"] == pytest.approx(0.9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_by_hand(45, 50), abs=1e-12)
    assert row["verdict"] == "not enough data"
    assert pd.isna(row["samples_needed"])  # the share equals the requirement: no n settles it
    assert row["quantity"] == "measured"
    # the 5G norm does not apply to 4G samples; the national target applies to all
    assert set(kpis["norm"]) == {"4g_minimum", "national_target"}
    assert kpis[kpis["norm"] == "national_target"].iloc[0]["verdict"] == "fails"


def test_kpi_meets_with_enough_samples_and_required_share_parameter():
    frame = _frame([60.0] * 490 + [10.0] * 10, tech="5G")
    row = compute_kpis(frame, required_share=0.95).query("norm == '5g_proposed'").iloc[0]
    lo, hi = wilson_by_hand(490, 500)
    assert row["ci_low"] == pytest.approx(lo) and lo >= 0.95
    assert row["verdict"] == "meets"
    row = compute_kpis(_frame([60.0] * 40 + [10.0] * 10, tech="5G"), required_share=0.95).iloc[0]
    assert row["verdict"] == "fails"  # 0.8 observed, upper bound 0.89 < 0.95


def test_tile_weighting_by_tests():
    # two tiles: 30 tests at 120 Mbit/s, 10 tests at 20 Mbit/s -> 75 % of tests at or above 100
    s = share_at_or_above(np.array([120.0, 20.0]), np.array([30.0, 10.0]), 100.0)
    assert s["share"] == pytest.approx(0.75)
    assert s["samples"] == 40
    assert s["n_eff"] == pytest.approx(40**2 / (30**2 + 10**2))  # Kish: 1.6 tiles, not 40 tests
    assert (s["ci_low"], s["ci_high"]) == pytest.approx(wilson_by_hand(0.75 * 1.6, 1.6), abs=1e-12)


def test_percentiles_table():
    frame = _frame(np.arange(1.0, 101.0))
    pct = compute_percentiles(frame, (50.0,), metrics=("dl_mbps",), n_boot=200)
    row = pct.iloc[0]
    assert row["value"] == pytest.approx(50.5)  # numpy type-7 median of 1..100
    assert row["ci_low"] < 50.5 < row["ci_high"]


def test_parse_norms():
    norms = parse_norms("lte=5@4G, nr=50@5G, target=100")
    assert norms == (Norm("lte", 5.0, ("4G",)), Norm("nr", 50.0, ("5G",)), Norm("target", 100.0, None))
    for bad in ("x", "a=b", "a=5@3G", ""):
        with pytest.raises(InvalidInputError):
            parse_norms(bad)


def test_exact_bootstrap_agrees_with_monte_carlo():
    # two methods for one interval: the exact bootstrap distribution of the order statistic (Hutson & Ernst 2000)
    # is the limit of the Monte-Carlo percentile interval; with 4000 replicates they agree to a small share of
    # the interval's width (Monte-Carlo error of a 2.5 % bound of 4000 replicates: a few per cent of the width)
    rng = np.random.default_rng(12)
    x = rng.lognormal(np.log(60.0), 0.6, 3000)
    est_mc, lo_mc, hi_mc = stats.bootstrap_percentile_ci(x, (5.0, 50.0, 95.0), n_boot=4000, seed=1, exact_above=None)
    est_ex, lo_ex, hi_ex = stats.bootstrap_percentile_ci(x, (5.0, 50.0, 95.0), exact_above=1000)
    assert np.array_equal(est_mc, est_ex)
    width = hi_mc - lo_mc
    assert np.all(np.abs(lo_ex - lo_mc) < 0.2 * width)
    assert np.all(np.abs(hi_ex - hi_mc) < 0.2 * width)
    assert np.all(lo_ex < est_ex) and np.all(est_ex < hi_ex)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.0, 1000.0, allow_nan=False), min_size=1, max_size=60),
    st.floats(0.0, 500.0),
    st.floats(0.0, 500.0),
)
def test_share_never_grows_with_the_norm(values, norm1, norm2):
    lo_norm, hi_norm = sorted((norm1, norm2))
    v = np.array(values)
    w = np.ones_like(v)
    a = share_at_or_above(v, w, lo_norm)
    b = share_at_or_above(v, w, hi_norm)
    assert b["share"] <= a["share"]
    assert a["ci_low"] <= a["share"] <= a["ci_high"]


def test_cluster_design_effect_by_hand():
    # 4 clusters of 5 samples, successes 5, 5, 0, 0 (perfectly correlated inside a cluster): p = 0.5
    # v = n/(n-1) sum (y - p m)^2 / (sum m)^2 = 4/3 * 4 * 2.5^2 / 400 = 0.083333
    # deff = v / (p (1-p) / N) = 0.083333 / 0.0125 = 6.6667; n_eff = 20 / 6.6667 = 3.0   (Kish 1965, design effect;
    # Cochran 1977, ch. 6, ratio-estimate variance)
    n_eff = stats.cluster_effective_sample_size(np.array([5.0, 5.0, 0.0, 0.0]), np.array([5, 5, 5, 5]))
    assert n_eff == pytest.approx(3.0)
    # successes spread evenly over the clusters: no loss of information (capped at N)
    assert stats.cluster_effective_sample_size(np.array([3.0, 2.0, 3.0, 2.0]), np.array([5, 5, 5, 5])) == 20.0
    # all successes: the number of clusters
    assert stats.cluster_effective_sample_size(np.array([5.0, 5.0]), np.array([5, 5])) == 2.0


def test_clustered_samples_give_a_cautious_verdict():
    # 100 samples in 5 bins, all above the norm: independent -> meets; 5 clusters -> not enough data
    frame = _frame([60.0] * 100, tech="5G")
    assert compute_kpis(frame).query("norm == '5g_proposed'").iloc[0]["verdict"] == "meets"
    frame["cluster"] = np.repeat(np.arange(5), 20)
    row = compute_kpis(frame).query("norm == '5g_proposed'").iloc[0]
    assert row["n_eff"] == 5.0 and row["samples"] == 100
    assert row["ci_low"] == pytest.approx(5 / (5 + Z95**2))  # Wilson lower bound at k = n = 5
    assert row["verdict"] == "not enough data"


def test_cluster_bootstrap_is_wider_for_correlated_samples():
    rng = np.random.default_rng(4)
    level = rng.normal(100.0, 20.0, 10)  # 10 bins, each with its own level
    x = np.repeat(level, 30) + rng.normal(0.0, 2.0, 300)
    clusters = np.repeat(np.arange(10), 30)
    _, lo_i, hi_i = stats.bootstrap_percentile_ci(x, (50.0,), n_boot=1000, seed=0)
    _, lo_c, hi_c = stats.bootstrap_percentile_ci(x, (50.0,), n_boot=1000, seed=0, clusters=clusters)
    assert (hi_c - lo_c)[0] > 2.0 * (hi_i - lo_i)[0]


def test_woodruff_agrees_with_the_cluster_bootstrap():
    # two methods for the median's interval of clustered samples: Woodruff (1952) with the design-based variance
    # and the cluster bootstrap; they estimate the same spread, so their widths agree to within a third
    rng = np.random.default_rng(6)
    level = rng.normal(100.0, 15.0, 60)
    x = np.repeat(level, 50) + rng.normal(0.0, 5.0, 3000)
    clusters = np.repeat(np.arange(60), 50)
    _, lo_b, hi_b = stats.bootstrap_percentile_ci(x, (50.0,), n_boot=2000, seed=2, clusters=clusters,
                                                  exact_above=None)
    lo_w, hi_w = stats.woodruff_quantile_ci(x, np.array([0.5]), clusters=clusters)
    assert (hi_w - lo_w)[0] == pytest.approx((hi_b - lo_b)[0], rel=0.35)
    assert lo_w[0] < np.median(x) < hi_w[0]
    # without clusters Woodruff is much narrower here (3000 'independent' samples)
    lo_i, hi_i = stats.woodruff_quantile_ci(x, np.array([0.5]))
    assert (hi_i - lo_i)[0] < 0.5 * (hi_w - lo_w)[0]
