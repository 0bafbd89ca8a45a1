"""KPIs of MEASURED quality per city, operator, technology and period, against throughput norms.

For each group and each norm that applies to the group's technology: the share of samples (drive tests) or of
tests (Ookla tiles, each tile weighted by its ``tests``) whose downlink throughput is at or above the norm, with
a Wilson interval, and a verdict against a required share:

- ``meets``: the lower Wilson bound is at or above the required share;
- ``fails``: the upper Wilson bound is below the required share;
- ``not enough data``: otherwise (the interval straddles the required share, or no samples). Then
  ``samples_needed`` says how many samples (drive tests: samples as counted in ``units``; Ookla: tiles) would
  settle it if the share and the clustering stayed as observed: the smallest effective size ``n`` whose Wilson
  interval around the observed share excludes the required share (``samples_needed_eff``, beside it), times the
  design effect ``units / n_eff`` of the group. It is comparable with ``units``: a value below ``units`` cannot
  occur for an undecided group. Empty when no sample size settles it.

Drive-test samples a few metres apart are not independent (shadow fading decorrelates over some 37-50 m in
UMa, TR 38.901 Table 7.5-6), so counting each as a Bernoulli trial makes the interval too narrow. When the
frame has a ``cluster`` column (the audit pipeline bins samples on a 50 m grid by default), the interval uses the
design-effect sample size of the clusters (:func:`qamtu.audit.stats.cluster_effective_sample_size`) and
``n_eff`` reports it; ``samples`` still counts samples.

Percentiles of ``dl_mbps``, ``ul_mbps``, ``rsrp_dbm`` and ``sinr_db`` come with seeded percentile-bootstrap
intervals. For Ookla tiles the interval's sample size is Kish's effective number of tiles (tests as weights),
because the tests inside a tile share one reported average; ``samples`` still reports the number of tests.

Norm defaults (``DEFAULT_NORMS``; all parameters): 5 Mbit/s on 4G (Order No. 410 of 22 Nov 2017 as amended by
Order No. 182/NK of 18 May 2023, as reported), 50 Mbit/s on 5G (proposed by the ministry, not confirmed as
adopted), 100 Mbit/s on every technology (national project "Accessible Internet" 2024-2027 target). Tiles and
other rows with tech ``all`` are checked against every norm.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Sequence

import numpy as np
import pandas as pd

from qamtu.audit.stats import (
    bootstrap_percentile_ci,
    cluster_effective_sample_size,
    effective_sample_size,
    samples_needed,
    verdict,
    wilson_interval,
)
from qamtu.errors import InvalidInputError

GROUP_KEYS = ("city", "operator", "tech", "period")
#: Metrics whose percentiles are reported.
PERCENTILE_METRICS = ("dl_mbps", "ul_mbps", "rsrp_dbm", "sinr_db")


@dataclasses.dataclass(frozen=True)
class Norm:
    """A throughput norm: downlink at or above ``dl_mbps`` for the technologies ``techs`` (None: every one)."""

    name: str
    dl_mbps: float
    techs: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.dl_mbps) and self.dl_mbps >= 0):
            raise InvalidInputError(f"norm {self.name!r}: dl_mbps {self.dl_mbps!r} must be a number >= 0")

    def applies_to(self, tech: str) -> bool:
        return self.techs is None or tech == "all" or tech in self.techs


DEFAULT_NORMS: tuple[Norm, ...] = (
    Norm("4g_minimum", 5.0, ("4G",)),
    Norm("5g_proposed", 50.0, ("5G",)),
    Norm("national_target", 100.0, None),
)


def parse_norms(text: str) -> tuple[Norm, ...]:
    """Parse ``name=mbps[@tech[+tech]]`` entries separated by commas, e.g. ``4g=5@4G,5g=50@5G,target=100``."""
    norms = []
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        if "=" not in entry:
            raise InvalidInputError(f"norm {entry!r} must look like name=mbps or name=mbps@4G")
        name, rest = (p.strip() for p in entry.split("=", 1))
        techs: tuple[str, ...] | None = None
        if "@" in rest:
            rest, tech_text = (p.strip() for p in rest.split("@", 1))
            techs = tuple(t.strip().upper() for t in tech_text.split("+") if t.strip())
            bad = [t for t in techs if t not in ("4G", "5G")]
            if bad:
                raise InvalidInputError(f"norm {entry!r}: technology {bad[0]!r} is not 4G or 5G")
        try:
            mbps = float(rest)
        except ValueError:
            raise InvalidInputError(f"norm {entry!r}: {rest!r} is not a number of Mbit/s") from None
        norms.append(Norm(name, mbps, techs))
    if not norms:
        raise InvalidInputError(f"no norms in {text!r}")
    return tuple(norms)


def _group_seed(seed: int, key: tuple) -> int:
    return int(np.random.SeedSequence([seed, zlib.crc32(repr(key).encode())]).generate_state(1)[0])


def share_at_or_above(
    values: np.ndarray,
    weights: np.ndarray,
    norm_mbps: float,
    confidence: float = 0.95,
    clusters: np.ndarray | None = None,
) -> dict[str, float]:
    """Share (weighted) of ``values >= norm_mbps`` with its Wilson interval and the sample sizes used.

    Returns a dict with ``units`` (rows), ``samples`` (sum of weights: samples or tests), ``n_eff``, ``share``,
    ``ci_low``, ``ci_high``. ``n_eff``: the number of rows for equal weights and no clusters (the plain Wilson
    interval of ``k`` of ``n``); Kish's effective size for unequal weights (tiles); the design-effect size of
    :func:`qamtu.audit.stats.cluster_effective_sample_size` when ``clusters`` (one label per row, equal
    weights) groups correlated samples.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    n_units = int(v.size)
    if n_units == 0:
        return {"units": 0, "samples": 0.0, "n_eff": 0.0, "share": float("nan"), "ci_low": 0.0, "ci_high": 1.0}
    total = float(w.sum())
    hit = v >= norm_mbps
    share = float(w[hit].sum()) / total
    equal = bool(np.all(w == w[0]))
    if clusters is not None and equal:
        codes, inverse = np.unique(np.asarray(clusters), return_inverse=True)
        sizes = np.bincount(inverse, minlength=codes.size)
        succ = np.bincount(inverse, weights=hit.astype(float), minlength=codes.size)
        n_eff = cluster_effective_sample_size(succ, sizes)
    else:
        n_eff = float(n_units) if equal else effective_sample_size(w)
    lo, hi = wilson_interval(share * n_eff, n_eff, confidence)
    return {"units": n_units, "samples": total, "n_eff": n_eff, "share": share, "ci_low": lo, "ci_high": hi}


def _clusters(grp: pd.DataFrame) -> np.ndarray | None:
    """Cluster labels of a group's rows, or None when the frame has none (independent samples)."""
    if "cluster" not in grp.columns:
        return None
    c = grp["cluster"]
    if c.isna().any():
        return None
    return c.to_numpy()


def compute_kpis(
    frame: pd.DataFrame,
    norms: Sequence[Norm] = DEFAULT_NORMS,
    *,
    required_share: float = 0.9,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share-above-norm KPIs per (city, operator, tech, period) and norm, with verdicts. MEASURED values.

    Parameters
    ----------
    frame : DataFrame
        Validated measurements (:class:`qamtu.audit.ingest.Measurements.frame`) with ``city`` and ``period``
        columns added; rows with either empty are not in any group (count them before calling).
    norms : sequence of Norm
    required_share : float
        Share of samples (or tests) that must reach the norm, in (0, 1], e.g. 0.9 or 0.95.
    confidence : float
        Level of the Wilson intervals.

    Returns
    -------
    DataFrame
        Columns ``city, operator, tech, period, norm, norm_mbps, quantity ("measured"), units, samples, n_eff,
        share, ci_low, ci_high, required_share, verdict, samples_needed, samples_needed_eff``; rows with
        ``dl_mbps`` empty are not counted (``samples`` counts the rows that carry a throughput).
    """
    if not 0.0 < required_share <= 1.0:
        raise InvalidInputError(f"required_share {required_share!r} must lie in (0, 1], e.g. 0.9")
    missing = [c for c in GROUP_KEYS + ("dl_mbps", "weight") if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"compute_kpis needs columns {', '.join(missing)}")
    rows = []
    data = frame[frame["city"].notna() & frame["period"].notna() & frame["dl_mbps"].notna()]
    for key, grp in data.groupby(list(GROUP_KEYS), sort=True, dropna=True):
        tech = key[2]
        v = grp["dl_mbps"].to_numpy(dtype=float)
        w = grp["weight"].to_numpy(dtype=float)
        cl = _clusters(grp)
        for norm in norms:
            if not norm.applies_to(tech):
                continue
            s = share_at_or_above(v, w, norm.dl_mbps, confidence, cl)
            verd = verdict(s["ci_low"], s["ci_high"], required_share, s["n_eff"])
            needed = needed_eff = None
            if verd == "not enough data" and s["units"] > 0:
                needed_eff = samples_needed(s["share"], required_share, confidence)
                if needed_eff is not None:
                    deff = s["units"] / s["n_eff"] if s["n_eff"] > 0 else 1.0
                    needed = max(int(np.ceil(needed_eff * deff - 1e-9)), s["units"] + 1)
            rows.append(
                {
                    "city": key[0],
                    "operator": key[1],
                    "tech": tech,
                    "period": key[3],
                    "norm": norm.name,
                    "norm_mbps": norm.dl_mbps,
                    "quantity": "measured",
                    "units": s["units"],
                    "samples": int(round(s["samples"])),
                    "n_eff": s["n_eff"],
                    "share": s["share"],
                    "ci_low": s["ci_low"],
                    "ci_high": s["ci_high"],
                    "required_share": required_share,
                    "verdict": verd,
                    "samples_needed": needed,
                    "samples_needed_eff": needed_eff,
                }
            )
    cols = [
        "city", "operator", "tech", "period", "norm", "norm_mbps", "quantity", "units", "samples", "n_eff",
        "share", "ci_low", "ci_high", "required_share", "verdict", "samples_needed", "samples_needed_eff",
    ]
    out = pd.DataFrame(rows, columns=cols)
    out["samples_needed"] = out["samples_needed"].astype("Int64")
    out["samples_needed_eff"] = out["samples_needed_eff"].astype("Int64")
    return out


def compute_percentiles(
    frame: pd.DataFrame,
    percentiles: Sequence[float] = (5.0, 50.0, 95.0),
    *,
    metrics: Sequence[str] = PERCENTILE_METRICS,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    exact_above: int | None = 5000,
) -> pd.DataFrame:
    """Percentiles of each metric per (city, operator, tech, period) with seeded bootstrap intervals. MEASURED.

    Each group's bootstrap uses its own stream derived from ``seed`` and the group key, so adding a group does
    not change the others' intervals. Ookla tiles are weighted by tests (the tiles are resampled). Unweighted
    groups larger than ``exact_above`` samples use the exact bootstrap distribution of the order statistic
    (:func:`qamtu.audit.stats.exact_bootstrap_order_statistic_ci`: the same interval without Monte-Carlo error).
    With a ``cluster`` column the clusters are resampled (cluster bootstrap) instead of the samples.

    Returns
    -------
    DataFrame
        ``city, operator, tech, period, metric, quantity, percentile, value, ci_low, ci_high, samples``.
    """
    rows = []
    data = frame[frame["city"].notna() & frame["period"].notna()]
    for key, grp in data.groupby(list(GROUP_KEYS), sort=True, dropna=True):
        for metric in metrics:
            if metric not in grp.columns:
                continue
            ok = grp[metric].notna().to_numpy()
            if not ok.any():
                continue
            v = grp[metric].to_numpy(dtype=float)[ok]
            w = grp["weight"].to_numpy(dtype=float)[ok]
            weights = None if np.all(w == w[0]) else w
            cl = _clusters(grp)
            cl = None if cl is None else cl[ok]
            est, lo, hi = bootstrap_percentile_ci(
                v, tuple(percentiles), weights=weights, n_boot=n_boot, confidence=confidence,
                seed=_group_seed(seed, key + (metric,)), exact_above=exact_above, clusters=cl,
            )
            for p, e, a, b in zip(percentiles, est, lo, hi):
                rows.append(
                    {
                        "city": key[0], "operator": key[1], "tech": key[2], "period": key[3], "metric": metric,
                        "quantity": "measured", "percentile": float(p), "value": float(e), "ci_low": float(a),
                        "ci_high": float(b), "samples": int(round(w.sum())),
                    }
                )
    cols = ["city", "operator", "tech", "period", "metric", "quantity", "percentile", "value", "ci_low", "ci_high",
            "samples"]
    return pd.DataFrame(rows, columns=cols)


#: Technology classes in the order the technology KPI reports them.
TECH_CLASSES = ("5G", "4G", "3G", "2G", "no service")


def technology_shares(timeline: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Share of samples and of drive time on each technology class, per (city, operator, period). MEASURED.

    Parameters
    ----------
    timeline : DataFrame
        Every valid sample, audited (4G/5G) or excluded (fallback, no service), with ``city``, ``operator``,
        ``period``, ``tech`` (a class of :data:`TECH_CLASSES`), ``duration_s`` (see
        :func:`qamtu.audit.sampling.sample_durations`) and ``cluster`` (optional, for the interval).

    Returns
    -------
    DataFrame
        ``city, operator, period, tech, quantity, samples, samples_total, share_samples, ci_low, ci_high,
        time_s, share_time``; the Wilson interval is on the share of samples (design-effect size with clusters).
        Fallback = tech 3G or 2G; ``no service`` its own row.
    """
    cols = ["city", "operator", "period", "tech", "quantity", "samples", "samples_total", "share_samples", "ci_low",
            "ci_high", "time_s", "share_time"]
    data = timeline[timeline["city"].notna() & timeline["period"].notna()]
    rows = []
    for key, grp in data.groupby(["city", "operator", "period"], sort=True):
        n = len(grp)
        total_t = float(grp["duration_s"].sum())
        cl = _clusters(grp)
        for tech in TECH_CLASSES:
            hit = (grp["tech"] == tech).to_numpy()
            if not hit.any():
                continue
            s = share_at_or_above(hit.astype(float), np.ones(n), 0.5, confidence, cl)
            rows.append({"city": key[0], "operator": key[1], "period": key[2], "tech": tech, "quantity": "measured",
                         "samples": int(hit.sum()), "samples_total": n, "share_samples": s["share"],
                         "ci_low": s["ci_low"], "ci_high": s["ci_high"],
                         "time_s": float(grp["duration_s"].to_numpy()[hit].sum()),
                         "share_time": float(grp["duration_s"].to_numpy()[hit].sum()) / total_t if total_t > 0
                         else float("nan")})
    return pd.DataFrame(rows, columns=cols)


def session_kpis(
    sessions: pd.DataFrame,
    norms: Sequence[Norm] = DEFAULT_NORMS,
    *,
    required_share: float = 0.9,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of transfer SESSIONS whose mean downlink reaches each norm, per (city, operator, tech, period).

    A session (one download, :func:`qamtu.audit.sampling.session_table`) is how a speed-test app or a regulator's
    probe reports throughput; sessions are treated as independent units (plain Wilson interval on their count),
    with the verdict rule of :func:`compute_kpis`. MEASURED.

    Returns
    -------
    DataFrame
        ``city, operator, tech, period, norm, norm_mbps, quantity, sessions, share, ci_low, ci_high,
        required_share, verdict``.
    """
    cols = ["city", "operator", "tech", "period", "norm", "norm_mbps", "quantity", "sessions", "share", "ci_low",
            "ci_high", "required_share", "verdict"]
    rows = []
    data = sessions[sessions["city"].notna() & sessions["period"].notna() & sessions["dl_mbps_mean"].notna()]
    for key, grp in data.groupby(["city", "operator", "tech", "period"], sort=True):
        v = grp["dl_mbps_mean"].to_numpy(dtype=float)
        for norm in norms:
            if not norm.applies_to(key[2]):
                continue
            s = share_at_or_above(v, np.ones(v.size), norm.dl_mbps, confidence)
            rows.append({"city": key[0], "operator": key[1], "tech": key[2], "period": key[3], "norm": norm.name,
                         "norm_mbps": norm.dl_mbps, "quantity": "measured", "sessions": s["units"],
                         "share": s["share"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
                         "required_share": required_share,
                         "verdict": verdict(s["ci_low"], s["ci_high"], required_share, s["n_eff"])})
    return pd.DataFrame(rows, columns=cols)
