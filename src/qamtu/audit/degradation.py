"""Did MEASURED quality get worse between two periods? Per city, operator and technology.

For each group present in both periods (A = before, B = after):

- the change in median downlink throughput, tested one-sided with the Mann-Whitney U test (H1: B is
  stochastically smaller than A), effect size Cliff's delta ``P(B > A) - P(B < A)`` (= the rank-biserial
  correlation; negative: worse in B);
- for each norm that applies, the change in the share at or above the norm, tested one-sided with the pooled
  two-proportion z-test (H1: the share fell), effect size Cohen's h (negative: worse in B).

Multiple groups are many tests: p-values are Holm-adjusted within each family, the family being all groups
for the median test, and all groups for the share test of one norm. ``worse_median`` / ``worse_share`` are
set where the adjusted p-value is below ``alpha``; ``degraded`` is their logical OR.

Correlated drive-test samples, same places: when the frame has a ``cluster`` column (50 m squares by default in
:func:`qamtu.audit.pipeline.run_audit`), the comparison is PAIRED by default: only squares measured in both
periods count (a drive along other streets in period B says nothing about the streets of period A), each square
gives one pair of medians, and

- the median test is the one-sided Wilcoxon signed-rank test on the per-square differences ``median_B -
  median_A`` (H1: they sit below zero), effect size the matched-pairs rank-biserial correlation
  (``effect_size``; negative: worse on most squares);
- ``median_change_mbps`` is the median of those per-square differences, so its sign and the effect size's are
  computed on the same units (squares) and agree whenever most squares moved one way;
- the share test uses the samples of the matched squares with the clusters' design-effect sample size;
- ``squares_a``, ``squares_b`` and ``matched_squares`` say how many squares each period had and how many were
  compared. ``paired=False`` compares all squares unpaired (Mann-Whitney on per-square medians, Cliff's delta).

Ookla tiles: the Mann-Whitney test uses the tile averages (one value per tile, unweighted), and the share test
uses the tests-weighted share with Kish's effective number of tiles as the sample size.

References
----------
Mann and Whitney (1947); Cliff (1993); Cohen (1988), ch. 6; Holm (1979); see :mod:`qamtu.audit.stats`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from qamtu.audit.kpi import DEFAULT_NORMS, Norm, _clusters, share_at_or_above
from qamtu.audit.stats import holm_adjust, mann_whitney_worse, two_proportion_worse, wilcoxon_worse
from qamtu.errors import InvalidInputError

DEGRADATION_COLUMNS = (
    "city", "operator", "tech", "period_a", "period_b", "quantity", "design", "squares_a", "squares_b",
    "matched_squares", "n_a", "n_b", "median_a_mbps", "median_b_mbps", "median_change_mbps", "median_test", "mw_p",
    "mw_p_holm", "effect_size", "cliffs_delta", "norm", "norm_mbps", "share_a", "share_b",
    "share_change", "z", "prop_p", "prop_p_holm", "cohens_h", "worse_median", "worse_share", "degraded",
)


def degradation_tests(
    frame: pd.DataFrame,
    period_a: str,
    period_b: str,
    norms: Sequence[Norm] = DEFAULT_NORMS,
    *,
    alpha: float = 0.05,
    metric: str = "dl_mbps",
    paired: bool = True,
) -> pd.DataFrame:
    """Compare period ``period_b`` with ``period_a`` per (city, operator, tech) and flag significant drops.

    Parameters
    ----------
    frame : DataFrame
        Validated measurements with ``city`` and ``period`` labels (as the KPI step uses).
    period_a, period_b : str
        Labels of the earlier and later period, as in ``frame["period"]``.
    norms : sequence of Norm
        Norms for the share test; one output row per group and applicable norm.
    alpha : float
        Family-wise significance level after Holm's correction, in (0, 0.5].
    metric : str
        The measured throughput column, default ``dl_mbps``.
    paired : bool
        With clusters: compare only squares measured in both periods, paired (default; see above).

    Returns
    -------
    DataFrame
        Columns :data:`DEGRADATION_COLUMNS`; ``quantity`` is ``"measured"``. Groups present in only one period
        appear with NaN tests and ``degraded`` False (nothing to compare).
    """
    if not 0.0 < alpha <= 0.5:
        raise InvalidInputError(f"alpha {alpha!r} must lie in (0, 0.5], e.g. 0.05")
    if period_a == period_b:
        raise InvalidInputError("period A and period B must differ")
    data = frame[frame["city"].notna() & frame[metric].notna() & frame["period"].isin([period_a, period_b])]
    rows = []
    for key, grp in data.groupby(["city", "operator", "tech"], sort=True):
        a = grp[grp["period"] == period_a]
        b = grp[grp["period"] == period_b]
        va, vb = a[metric].to_numpy(float), b[metric].to_numpy(float)
        wa, wb = a["weight"].to_numpy(float), b["weight"].to_numpy(float)
        ca, cb = _clusters(a), _clusters(b)
        design, sq_a, sq_b, matched, change = "samples, unpaired", None, None, None, None
        if ca is not None and cb is not None:
            sq_a, sq_b = int(np.unique(ca).size), int(np.unique(cb).size)
            if paired:
                common = np.intersect1d(ca, cb)
                matched = int(common.size)
                a, b = a[np.isin(ca, common)], b[np.isin(cb, common)]
                va, vb = a[metric].to_numpy(float), b[metric].to_numpy(float)
                wa, wb = a["weight"].to_numpy(float), b["weight"].to_numpy(float)
                ca, cb = _clusters(a), _clusters(b)
                ma = a.groupby("cluster")[metric].median()
                mb = b.groupby("cluster")[metric].median()
                diff = (mb - ma.reindex(mb.index)).to_numpy(float)
                mw_p, effect = wilcoxon_worse(diff)
                _, delta = mann_whitney_worse(ma.to_numpy(float), mb.to_numpy(float))
                change = float(np.median(diff)) if diff.size else float("nan")
                design, test = "squares measured in both periods, paired", "Wilcoxon signed-rank, paired"
            else:
                # correlated samples: test one value per cluster (its median), the independent units
                mw_p, delta = mann_whitney_worse(a.groupby("cluster")[metric].median().to_numpy(float),
                                                 b.groupby("cluster")[metric].median().to_numpy(float))
                effect, design, test = delta, "squares, unpaired", "Mann-Whitney U on square medians"
        else:
            mw_p, delta = mann_whitney_worse(va, vb)
            effect, test = delta, "Mann-Whitney U"
        med_a = float(np.median(va)) if va.size else float("nan")
        med_b = float(np.median(vb)) if vb.size else float("nan")
        if change is None:
            change = med_b - med_a
        for norm in norms:
            if not norm.applies_to(key[2]):
                continue
            sa = share_at_or_above(va, wa, norm.dl_mbps, clusters=ca)
            sb = share_at_or_above(vb, wb, norm.dl_mbps, clusters=cb)
            z, prop_p, h = two_proportion_worse(sa["share"] * sa["n_eff"], sa["n_eff"],
                                                sb["share"] * sb["n_eff"], sb["n_eff"])
            rows.append(
                {
                    "city": key[0], "operator": key[1], "tech": key[2], "period_a": period_a, "period_b": period_b,
                    "quantity": "measured", "design": design, "squares_a": sq_a, "squares_b": sq_b,
                    "matched_squares": matched, "n_a": int(va.size), "n_b": int(vb.size), "median_a_mbps": med_a,
                    "median_b_mbps": med_b, "median_change_mbps": change, "median_test": test, "mw_p": mw_p,
                    "effect_size": effect, "cliffs_delta": delta, "norm": norm.name, "norm_mbps": norm.dl_mbps, "share_a": sa["share"],
                    "share_b": sb["share"], "share_change": sb["share"] - sa["share"], "z": z, "prop_p": prop_p,
                    "cohens_h": h,
                }
            )
    out = pd.DataFrame(rows, columns=[c for c in DEGRADATION_COLUMNS if c not in
                                      ("mw_p_holm", "prop_p_holm", "worse_median", "worse_share", "degraded")])
    if out.empty:
        return pd.DataFrame(columns=list(DEGRADATION_COLUMNS))
    # Holm family for the median test: one p-value per group (the rows repeat it once per norm)
    groups = out.drop_duplicates(["city", "operator", "tech"])
    adj = holm_adjust(groups["mw_p"].to_numpy())
    key_adj = dict(zip(map(tuple, groups[["city", "operator", "tech"]].to_numpy()), adj))
    out["mw_p_holm"] = [key_adj[k] for k in map(tuple, out[["city", "operator", "tech"]].to_numpy())]
    out["prop_p_holm"] = np.nan
    for _, idx in out.groupby("norm").groups.items():
        out.loc[idx, "prop_p_holm"] = holm_adjust(out.loc[idx, "prop_p"].to_numpy())
    out["worse_median"] = (out["mw_p_holm"] < alpha).fillna(False).astype(bool)
    out["worse_share"] = (out["prop_p_holm"] < alpha).fillna(False).astype(bool)
    out["degraded"] = out["worse_median"] | out["worse_share"]
    return out.loc[:, list(DEGRADATION_COLUMNS)]
