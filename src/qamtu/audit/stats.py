"""Statistics for the audit: Wilson intervals, seeded bootstrap percentiles, verdicts, tests between periods.

Everything here is a pure function of arrays; nothing reads files.

References
----------
E. B. Wilson, "Probable inference, the law of succession, and statistical inference", J. Am. Stat. Assoc. 22
(158), 209-212, 1927 (the score interval).
A. Agresti and B. A. Coull, "Approximate is better than 'exact' for interval estimation of binomial
proportions", The American Statistician 52 (2), 119-126, 1998 (why Wilson rather than Wald).
B. Efron and R. J. Tibshirani, "An Introduction to the Bootstrap", Chapman & Hall, 1993, ch. 13 (percentile
interval).
L. Kish, "Weighting for unequal Pi", J. Official Statistics 8 (2), 183-200, 1992 (effective sample size of
a weighted mean); L. Kish, "Survey Sampling", Wiley, 1965 (design effect of cluster samples).
W. G. Cochran, "Sampling Techniques", 3rd ed., Wiley, 1977, ch. 6 (variance of a ratio estimate).
R. S. Woodruff, J. Am. Stat. Assoc. 47 (1952) 635-646 (quantile intervals from the CDF's interval).
A. D. Hutson and M. D. Ernst, J. R. Statist. Soc. B 62 (2000) 89-94 (exact bootstrap of order statistics).
A. C. Davison and D. V. Hinkley, "Bootstrap Methods and their Application", Cambridge, 1997, ch. 3
(resampling clusters of hierarchical data).
H. B. Mann and D. R. Whitney, Ann. Math. Statist. 18 (1), 50-60, 1947; N. Cliff, Psychological Bulletin 114 (3),
494-509, 1993 (Cliff's delta); J. Cohen, "Statistical Power Analysis for the Behavioral Sciences", 2nd ed., 1988,
ch. 6 (Cohen's h); S. Holm, Scand. J. Statist. 6 (2), 65-70, 1979 (step-down correction).
"""

from __future__ import annotations

import math

import numpy as np

from qamtu.errors import InvalidInputError

#: Verdict labels, in the order a reader expects them.
MEETS = "meets"
FAILS = "fails"
NOT_ENOUGH_DATA = "not enough data"


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise InvalidInputError(f"confidence {confidence!r} must lie strictly between 0 and 1 (e.g. 0.95)")
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    ``centre = (p + z^2 / (2 n)) / (1 + z^2 / n)``, ``half = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / (4 n^2))``
    with ``p = successes / n`` and ``z`` the two-sided normal quantile for ``confidence``.

    Parameters
    ----------
    successes : float
        Number of samples at or above the norm, 0 <= successes <= n. May be a weighted (non-integer) count.
    n : float
        Number of samples (or an effective sample size), n >= 0. With ``n == 0`` the interval is (0, 1).
    confidence : float
        Two-sided confidence level in (0, 1), default 0.95.

    Returns
    -------
    ci_low, ci_high : float
        Bounds of the interval, within [0, 1].

    References
    ----------
    Wilson (1927), eq. for the score interval; Agresti and Coull (1998), eq. (2).
    """
    if n < 0 or successes < 0 or successes > n + 1e-9:
        raise InvalidInputError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}")
    if n == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = min(successes / n, 1.0)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)  # exactly 0 and 1 at the ends, not rounding noise
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return lo, hi


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of non-negative weights (n for equal weights).

    Used for Ookla tiles: a tile's tests share one average speed, so the tiles (weighted by their tests) are the
    units of the interval, not the tests; ``n_eff`` lies between 1 and the number of tiles.
    """
    w = np.asarray(weights, dtype=float)
    if w.size == 0:
        return 0.0
    s2 = float(np.sum(w * w))
    return float(np.sum(w)) ** 2 / s2 if s2 > 0 else 0.0


def cluster_effective_sample_size(successes: np.ndarray, sizes: np.ndarray) -> float:
    """Effective sample size of a share estimated from clusters of correlated samples (design effect).

    With ``y_i`` successes among ``m_i`` samples in cluster i (n clusters, N samples), the share is the ratio
    ``p = sum y / sum m``, its variance (ratio estimator, with-replacement approximation)
    ``v = n / (n - 1) * sum (y_i - p m_i)^2 / (sum m)^2``, the design effect ``deff = v / (p (1 - p) / N)`` and
    ``n_eff = N / deff``, capped at N (never more information than independent samples). When every sample
    agrees (p = 0 or 1) the variance is 0 and the number of clusters is returned; with one cluster, 1.

    Parameters
    ----------
    successes, sizes : ndarray, shape (n_clusters,)
        Successes and samples per cluster (sizes > 0).

    References
    ----------
    L. Kish, "Survey Sampling", Wiley, 1965 (ratio means of cluster samples; the design effect);
    W. G. Cochran, "Sampling Techniques", 3rd ed., Wiley, 1977, ch. 6 (variance of a ratio estimate).
    """
    y = np.asarray(successes, dtype=float)
    m = np.asarray(sizes, dtype=float)
    n = y.size
    total = float(m.sum())
    if n == 0 or total <= 0:
        return 0.0
    if n == 1:
        return 1.0
    p = float(y.sum()) / total
    if p <= 0.0 or p >= 1.0:
        return float(n)
    v = n / (n - 1.0) * float(np.sum((y - p * m) ** 2)) / total**2
    if v <= 0.0:
        return total
    deff = v / (p * (1.0 - p) / total)
    return float(min(total, total / deff))


def verdict(ci_low: float, ci_high: float, required_share: float, n: float = 1.0) -> str:
    """Verdict for a share against a required share.

    Rule: ``meets`` if the lower bound of the interval is at or above the required share; ``fails`` if the
    upper bound is below it; otherwise (the interval straddles it, or there are no samples) ``not enough data``.
    """
    if n <= 0:
        return NOT_ENOUGH_DATA
    if ci_low >= required_share:
        return MEETS
    if ci_high < required_share:
        return FAILS
    return NOT_ENOUGH_DATA


def samples_needed(share: float, required_share: float, confidence: float = 0.95, max_n: int = 10**9) -> int | None:
    """Smallest sample size at which the Wilson interval around the observed ``share`` excludes ``required_share``.

    This is what an inspector needs to settle a ``not enough data`` verdict, assuming the share stays as
    observed. Returns None when the share equals the required share (no sample size settles it) or when more
    than ``max_n`` samples would be needed.
    """
    if not 0.0 <= share <= 1.0 or not 0.0 <= required_share <= 1.0:
        raise InvalidInputError(f"shares must lie in [0, 1], got share={share!r}, required={required_share!r}")
    if share == required_share:
        return None

    def decided(n: int) -> bool:
        lo, hi = wilson_interval(share * n, n, confidence)
        return lo >= required_share or hi < required_share

    hi = 1
    while not decided(hi):
        hi *= 2
        if hi > max_n:
            return None
    lo = hi // 2
    # decided() is monotone in n for a fixed share: bisect between lo (undecided or 0) and hi (decided)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if decided(mid):
            hi = mid
        else:
            lo = mid
    return hi


def weighted_quantile(values: np.ndarray, q: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Quantiles ``q`` (fractions in [0, 1]) of ``values`` along the last axis, optionally weighted.

    Unweighted: NumPy's default (linear interpolation, type 7). Weighted: the inverted weighted CDF (the
    smallest value whose cumulative weight share reaches q), which reduces to the lower empirical quantile
    for equal weights.
    """
    v = np.asarray(values, dtype=float)
    qq = np.asarray(q, dtype=float)
    if weights is None:
        return np.quantile(v, qq, axis=-1)
    w = np.broadcast_to(np.asarray(weights, dtype=float), v.shape)
    order = np.argsort(v, axis=-1)
    vs = np.take_along_axis(v, order, axis=-1)
    ws = np.take_along_axis(w, order, axis=-1)
    cw = np.cumsum(ws, axis=-1)
    total = cw[..., -1:]
    share = cw / total
    # index of the first cumulative share >= q, per row and per q
    out = []
    for qi in np.atleast_1d(qq):
        idx = np.sum(share < qi - 1e-12, axis=-1)
        idx = np.minimum(idx, v.shape[-1] - 1)
        out.append(np.take_along_axis(vs, idx[..., None], axis=-1)[..., 0])
    res = np.stack(out, axis=0)
    return res if np.ndim(qq) else res[0]


def bootstrap_percentile_ci(
    values: np.ndarray,
    percentiles: tuple[float, ...] = (5.0, 50.0, 95.0),
    *,
    weights: np.ndarray | None = None,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    max_block_elements: int = 4_000_000,
    exact_above: int | None = 5000,
    clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentiles of ``values`` with seeded percentile-bootstrap confidence intervals.

    Parameters
    ----------
    values : ndarray, shape (n,)
        Measured values (e.g. DL throughput in Mbit/s), no NaN.
    percentiles : tuple of float
        Percentiles in [0, 100].
    weights : ndarray, shape (n,), optional
        Non-negative weights (e.g. Ookla tests per tile); the units resampled are the rows.
    n_boot : int
        Bootstrap replicates (>= 100).
    confidence : float
        Two-sided level of the interval.
    seed : int
        Seed of ``numpy.random.default_rng``: the same inputs give the same interval.
    exact_above : int or None
        Unweighted samples larger than this use the exact bootstrap distribution of the order statistic instead
        of Monte-Carlo replicates (:func:`exact_bootstrap_order_statistic_ci`): the same interval without its
        Monte-Carlo error, in O(n) rather than O(n_boot n). None: always Monte-Carlo.
    clusters : ndarray, shape (n,), optional
        Cluster label per value: the clusters are resampled (cluster bootstrap, Davison and Hinkley 1997,
        ch. 3), so correlated samples in one cluster count as one draw. Implemented with multinomial cluster
        counts as replicate weights and the weighted (inverted-CDF) quantile. Above ``exact_above`` values
        (unweighted) Woodruff's interval with the clusters' design-based variance is used instead
        (:func:`woodruff_quantile_ci`), O(n) rather than O(n_boot n).

    Returns
    -------
    estimate, ci_low, ci_high : ndarray, shape (len(percentiles),)
        NaN everywhere when ``values`` is empty.

    References
    ----------
    Efron and Tibshirani (1993), ch. 13, percentile interval.
    """
    x = np.asarray(values, dtype=float)
    q = np.asarray(percentiles, dtype=float) / 100.0
    if np.any((q < 0) | (q > 1)):
        raise InvalidInputError(f"percentiles must lie in [0, 100], got {percentiles!r}")
    if n_boot < 100:
        raise InvalidInputError(f"n_boot must be at least 100, got {n_boot}")
    nan = np.full(q.shape, np.nan)
    if x.size == 0:
        return nan, nan.copy(), nan.copy()
    if np.any(~np.isfinite(x)):
        raise InvalidInputError("bootstrap_percentile_ci needs finite values (drop NaN first and count them)")
    w = None if weights is None else np.asarray(weights, dtype=float)
    estimate = np.atleast_1d(weighted_quantile(x, q, w))
    alpha = 1.0 - confidence
    if clusters is not None and w is None and exact_above is not None and x.size > exact_above:
        lo, hi = woodruff_quantile_ci(x, q, confidence, clusters=np.asarray(clusters))
        return estimate, lo, hi
    if clusters is not None:
        boot = _cluster_bootstrap(x, q, w, np.asarray(clusters), n_boot, seed, max_block_elements)
        return estimate, np.quantile(boot, alpha / 2.0, axis=0), np.quantile(boot, 1.0 - alpha / 2.0, axis=0)
    if w is None and exact_above is not None and x.size > exact_above:
        lo, hi = exact_bootstrap_order_statistic_ci(x, q, confidence)
        return estimate, lo, hi
    rng = np.random.default_rng(seed)
    n = x.size
    block = max(1, min(n_boot, max_block_elements // max(n, 1)))
    reps = []
    done = 0
    while done < n_boot:
        b = min(block, n_boot - done)
        idx = rng.integers(0, n, size=(b, n))
        xb = x[idx]
        if w is None:
            reps.append(np.quantile(xb, q, axis=1).T)
        else:
            reps.append(np.atleast_2d(weighted_quantile(xb, q, w[idx])).T)
        done += b
    boot = np.concatenate(reps, axis=0)  # (n_boot, len(q))
    lo = np.quantile(boot, alpha / 2.0, axis=0)
    hi = np.quantile(boot, 1.0 - alpha / 2.0, axis=0)
    return estimate, lo, hi


def _cluster_bootstrap(
    x: np.ndarray, q: np.ndarray, w: np.ndarray | None, clusters: np.ndarray, n_boot: int, seed: int,
    max_block_elements: int,
) -> np.ndarray:
    """Replicates (n_boot, len(q)) of the weighted quantiles with clusters resampled with replacement."""
    if clusters.shape != x.shape:
        raise InvalidInputError(f"clusters has shape {clusters.shape}; one label per value {x.shape} is needed")
    order = np.argsort(x, kind="stable")
    xs = x[order]
    _, inverse = np.unique(clusters[order], return_inverse=True)
    n_cl = int(inverse.max()) + 1
    base = np.ones(x.size) if w is None else w[order]
    rng = np.random.default_rng(seed)
    block = max(1, min(n_boot, max_block_elements // max(x.size, 1)))
    out = []
    done = 0
    while done < n_boot:
        b = min(block, n_boot - done)
        counts = rng.multinomial(n_cl, np.full(n_cl, 1.0 / n_cl), size=b)  # (b, n_clusters)
        wb = counts[:, inverse] * base  # (b, n): replicate weight of each sorted value
        cw = np.cumsum(wb, axis=1)
        total = cw[:, -1:]
        reps = np.empty((b, q.size))
        for i, level in enumerate(q):
            idx = np.sum(cw < level * total - 1e-12 * total, axis=1)  # first index reaching the level
            reps[:, i] = xs[np.minimum(idx, x.size - 1)]
        out.append(reps)
        done += b
    return np.concatenate(out, axis=0)


def woodruff_quantile_ci(
    values: np.ndarray, q: np.ndarray, confidence: float = 0.95, *, clusters: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Woodruff's confidence interval of sample quantiles, with a cluster (design-based) variance.

    For each level ``q`` the estimate ``Q = quantile(x, q)`` defines the share ``p`` of values at or below it;
    its standard error ``se`` is the ratio-estimator formula over the clusters (Cochran 1977, ch. 6; the
    binomial ``sqrt(p (1 - p) / N)`` without clusters); the interval is ``[quantile(x, p - z se),
    quantile(x, p + z se)]``, clipped to [0, 1].

    References
    ----------
    R. S. Woodruff, "Confidence intervals for medians and other position measures", J. Am. Stat. Assoc. 47
    (1952) 635-646; W. G. Cochran, "Sampling Techniques", 3rd ed., 1977, ch. 6.
    """
    x = np.asarray(values, dtype=float)
    qq = np.atleast_1d(np.asarray(q, dtype=float))
    z = _z(confidence)
    n = x.size
    inverse = None
    if clusters is not None:
        _, inverse = np.unique(np.asarray(clusters), return_inverse=True)
        sizes = np.bincount(inverse).astype(float)
    lo = np.empty(qq.shape)
    hi = np.empty(qq.shape)
    for i, level in enumerate(qq):
        est = float(np.quantile(x, level))
        ind = (x <= est).astype(float)
        p = float(ind.mean())
        if inverse is None or sizes.size < 2:
            var = p * (1.0 - p) / n
        else:
            y = np.bincount(inverse, weights=ind, minlength=sizes.size)
            k = sizes.size
            var = k / (k - 1.0) * float(np.sum((y - p * sizes) ** 2)) / n**2
        se = math.sqrt(max(var, 0.0))
        lo[i] = np.quantile(x, min(max(p - z * se, 0.0), 1.0))
        hi[i] = np.quantile(x, min(max(p + z * se, 0.0), 1.0))
    return lo, hi


def exact_bootstrap_order_statistic_ci(
    values: np.ndarray, q: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap interval of sample quantiles from the exact bootstrap distribution (no resampling).

    The quantile at level ``q`` is represented by the order statistic ``k = round((n - 1) q) + 1`` (1-based; the
    NumPy type-7 estimate interpolates between ``k`` and a neighbour, a difference of at most one gap between
    adjacent sorted values). In a bootstrap resample of size n, the number of values at or below ``x_(j)`` is
    Binomial(n, j / n), so ``P(X*_(k) <= x_(j)) = P(Bin(n, j/n) >= k)``. The interval bounds are the
    ``x_(j)`` where this distribution first reaches ``(1 -+ confidence) / 2``: the limit of the Monte-Carlo
    percentile interval as the number of replicates grows.

    Parameters
    ----------
    values : ndarray, shape (n,)
        Finite values, n >= 1.
    q : ndarray
        Quantile levels in [0, 1].
    confidence : float

    Returns
    -------
    ci_low, ci_high : ndarray, shape like ``q``

    References
    ----------
    A. D. Hutson and M. D. Ernst, "The exact bootstrap mean and variance of an L-estimator", J. R. Statist. Soc.
    B 62 (1) (2000) 89-94; Efron and Tibshirani (1993), ch. 13.
    """
    from scipy.stats import binom

    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    qq = np.atleast_1d(np.asarray(q, dtype=float))
    alpha = 1.0 - confidence
    j = np.arange(1, n + 1)
    lo = np.empty(qq.shape)
    hi = np.empty(qq.shape)
    for i, level in enumerate(qq):
        k = int(np.clip(np.rint((n - 1) * level) + 1, 1, n))
        cdf = binom.sf(k - 1, n, j / n)  # P(X*_(k) <= x_(j)), non-decreasing in j, 1 at j = n
        lo[i] = x[min(int(np.searchsorted(cdf, alpha / 2.0, side="left")), n - 1)]
        hi[i] = x[min(int(np.searchsorted(cdf, 1.0 - alpha / 2.0, side="left")), n - 1)]
    return lo, hi


def holm_adjust(p_values: np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (NaN entries are left NaN and do not count in the family).

    ``p_adj(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`` over the p-values sorted ascending.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    adj = np.minimum(1.0, (m - np.arange(m)) * pv[order])
    adj = np.maximum.accumulate(adj)
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def mann_whitney_worse(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """One-sided Mann-Whitney U test that ``after`` is stochastically smaller than ``before`` (quality got worse).

    Returns
    -------
    p_value : float
        One-sided p-value (scipy.stats.mannwhitneyu, ``alternative="greater"`` on (before, after); exact for
        small samples without ties, normal approximation with tie correction otherwise). NaN if a side is empty.
    cliffs_delta : float
        ``P(after > before) - P(after < before)`` in [-1, 1], equal to the rank-biserial correlation; negative
        means the later period is worse. ``delta = 1 - 2 U_before / (n_before n_after)``.
    """
    a = np.asarray(before, dtype=float)
    b = np.asarray(after, dtype=float)
    if a.size == 0 or b.size == 0:
        return float("nan"), float("nan")
    from scipy.stats import mannwhitneyu

    res = mannwhitneyu(a, b, alternative="greater")
    delta = 1.0 - 2.0 * float(res.statistic) / (a.size * b.size)
    return float(res.pvalue), delta


def two_proportion_worse(
    successes_before: float, n_before: float, successes_after: float, n_after: float
) -> tuple[float, float, float]:
    """One-sided pooled two-proportion z-test that the share fell from ``before`` to ``after``.

    ``z = (p_before - p_after) / sqrt(p (1 - p) (1/n_before + 1/n_after))`` with the pooled share ``p``;
    ``p_value = 1 - Phi(z)``.

    Returns
    -------
    z, p_value, cohens_h : float
        ``cohens_h = 2 asin(sqrt(p_after)) - 2 asin(sqrt(p_before))`` (negative: worse later). When the pooled
        share is 0 or 1 the test has no evidence: ``z = 0``, ``p_value = 1``. NaN if a side has no samples.
    """
    if n_before <= 0 or n_after <= 0:
        return float("nan"), float("nan"), float("nan")
    from scipy.stats import norm

    p1 = successes_before / n_before
    p2 = successes_after / n_after
    h = 2.0 * math.asin(math.sqrt(min(max(p2, 0.0), 1.0))) - 2.0 * math.asin(math.sqrt(min(max(p1, 0.0), 1.0)))
    pooled = (successes_before + successes_after) / (n_before + n_after)
    var = pooled * (1.0 - pooled) * (1.0 / n_before + 1.0 / n_after)
    if var <= 0:
        return 0.0, 1.0, h
    z = (p1 - p2) / math.sqrt(var)
    return z, float(norm.sf(z)), h


def wilcoxon_worse(differences: np.ndarray) -> tuple[float, float]:
    """One-sided Wilcoxon signed-rank test that paired differences ``after - before`` are below zero (worse).

    Returns
    -------
    p_value : float
        One-sided p-value (scipy.stats.wilcoxon, ``alternative="less"``, zero differences dropped as Wilcoxon
        proposed; exact for small n without ties, normal approximation otherwise). NaN without pairs; 1.0 when
        every difference is zero (no evidence of a change).
    rank_biserial : float
        Matched-pairs rank-biserial correlation ``(R+ - R-) / (R+ + R-)`` in [-1, 1] over the non-zero
        differences (Kerby 2014); negative means the later period is worse on most pairs. NaN without pairs.

    References
    ----------
    F. Wilcoxon, "Individual comparisons by ranking methods", Biometrics Bulletin 1 (1945) 80-83;
    D. S. Kerby, "The simple difference formula", Comprehensive Psychology 3 (2014).
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan"), float("nan")
    nz = d[d != 0]
    if nz.size == 0:
        return 1.0, 0.0
    from scipy.stats import rankdata, wilcoxon

    ranks = rankdata(np.abs(nz))
    r_plus, r_minus = float(ranks[nz > 0].sum()), float(ranks[nz < 0].sum())
    res = wilcoxon(nz, alternative="less")
    return float(res.pvalue), (r_plus - r_minus) / (r_plus + r_minus)
