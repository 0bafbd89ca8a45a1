"""The audit as one call: validated measurements -> cities and periods -> KPIs, percentiles, degradation.

:func:`run_audit` is what ``qamtu audit`` runs; :func:`city_quality` is the small entry point for the national
report, which puts MEASURED quality beside PREDICTED quality on each city's page.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from qamtu.audit.assign import CityBoundary, assign_cities, check_swapped_coordinates, city_boundary, locate_outside
from qamtu.audit.degradation import degradation_tests
from qamtu.audit.ingest import Measurements, read_measurements
from qamtu.audit.kpi import DEFAULT_NORMS, Norm, compute_kpis, compute_percentiles, session_kpis, technology_shares
from qamtu.audit.sampling import (
    DEFAULT_IDLE_MBPS,
    DEFAULT_SESSION_GAP_S,
    assign_sessions,
    dedupe_per_second,
    idle_mask,
    sample_durations,
    session_table,
)
from qamtu.audit.periods import Period, all_period, assign_periods, parse_period
from qamtu.errors import InvalidInputError

#: Keys of each object in ``summary["kpis"]`` (the contract of ``summary.json``).
SUMMARY_KPI_KEYS = ("city", "operator", "tech", "period", "norm", "norm_mbps", "samples", "n_eff", "share", "ci_low",
                    "ci_high", "verdict", "samples_needed", "samples_needed_eff")


@dataclasses.dataclass
class AuditResult:
    """Everything an audit computed; every value is MEASURED.

    Attributes
    ----------
    frame : DataFrame
        The accepted samples with ``city`` and ``period`` (None where outside every city / period).
    kpis, percentiles : DataFrame
        See :func:`qamtu.audit.kpi.compute_kpis` and :func:`qamtu.audit.kpi.compute_percentiles`.
    degradation : DataFrame or None
        See :func:`qamtu.audit.degradation.degradation_tests`; None unless two periods were given.
    summary : dict
        JSON-ready: ``rows_read``, ``rows_rejected``, ``rows_excluded``, ``samples_audited``, counts outside
        areas/periods and where the outside samples are, parameters, ``kpis``.
    technology : DataFrame or None
        Drive tests: share of samples and time per technology class (:func:`qamtu.audit.kpi.technology_shares`).
    sessions : DataFrame or None
        Drive tests: one row per transfer session (:func:`qamtu.audit.sampling.session_table`).
    samples : DataFrame or None
        Per-sample table (:data:`SAMPLE_COLUMNS`): area, period, bin and status of each sample.
    """

    frame: pd.DataFrame
    kpis: pd.DataFrame
    percentiles: pd.DataFrame
    degradation: pd.DataFrame | None
    summary: dict[str, Any]
    technology: pd.DataFrame | None = None
    sessions: pd.DataFrame | None = None
    samples: pd.DataFrame | None = None


def _records(df: pd.DataFrame, keys: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for rec in df.loc[:, list(keys)].to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if v is pd.NA or (isinstance(v, float) and not np.isfinite(v)):
                v = None
            elif isinstance(v, np.generic):
                v = v.item()
            clean[k] = v
        out.append(clean)
    return out


def spatial_bins(frame: pd.DataFrame, boundaries: Mapping[str, CityBoundary], cluster_m: float) -> np.ndarray:
    """Name of the ``cluster_m`` square holding each row, ``"<area>:<ix>:<iy>"`` in the area's projected CRS
    (``ix = floor(x / cluster_m)``); None for rows outside every area."""
    if not cluster_m > 0:
        raise InvalidInputError(f"cluster_m {cluster_m!r} must be a positive number of metres (or None)")
    from pyproj import Transformer

    out = np.full(len(frame), None, dtype=object)
    city = frame["city"].to_numpy(dtype=object)
    for cid, b in boundaries.items():
        idx = np.flatnonzero(city == cid)
        if idx.size == 0:
            continue
        tr = Transformer.from_crs("EPSG:4326", b.crs, always_xy=True)
        x, y = tr.transform(frame["lon"].to_numpy(float)[idx], frame["lat"].to_numpy(float)[idx])
        ix = np.floor(np.asarray(x) / cluster_m).astype(np.int64)
        iy = np.floor(np.asarray(y) / cluster_m).astype(np.int64)
        out[idx] = [f"{cid}:{i}:{j}" for i, j in zip(ix.tolist(), iy.tolist())]
    return out


def _dedupe_excluded(exc: pd.DataFrame) -> pd.DataFrame:
    """Excluded rows, one per (source, operator, tech, reason, UTC second), as :func:`dedupe_per_second`."""
    if exc.empty:
        return exc.assign(rows_merged=pd.Series(dtype=np.int64))
    sec = pd.to_datetime(exc["time"], utc=True).dt.floor("s")
    keys = [exc["source"], exc["operator"], exc["tech"].fillna(""), exc["reason"], sec]
    merged = exc.groupby(keys, sort=False, dropna=False)["line"].transform("size")
    first = ~pd.DataFrame({"a": keys[0], "b": keys[1], "c": keys[2], "d": keys[3], "e": keys[4]}).duplicated()
    out = exc.assign(rows_merged=merged.to_numpy(), time=sec)[first.to_numpy()]
    return out.reset_index(drop=True)


SAMPLE_COLUMNS = ("source", "line", "rows_merged", "time", "lat", "lon", "operator", "operator_raw", "tech", "status",
                  "city", "period", "bin", "rsrp_dbm", "sinr_db", "dl_mbps", "ul_mbps", "idle", "session_id")


def run_audit(
    measurements: Measurements,
    boundaries: Mapping[str, CityBoundary],
    *,
    periods: Sequence[Period | str] | None = None,
    norms: Sequence[Norm] = DEFAULT_NORMS,
    required_share: float = 0.9,
    confidence: float = 0.95,
    percentiles: Sequence[float] = (5.0, 50.0, 95.0),
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    check_swapped: bool = True,
    cluster_m: float | None = 50.0,
    dedupe: bool = True,
    idle_mbps: float = DEFAULT_IDLE_MBPS,
    session_gap_s: float = DEFAULT_SESSION_GAP_S,
    paired: bool = True,
) -> AuditResult:
    """Audit MEASURED quality against the norms.

    Parameters
    ----------
    measurements : Measurements
        From :func:`qamtu.audit.ingest.read_measurements`.
    boundaries : mapping area name -> CityBoundary
        The areas audited: catalogue cities (:func:`qamtu.audit.assign.city_boundaries`) or any polygons
        (:func:`qamtu.audit.assign.areas_from_file`). The output column ``city`` holds the area name.
    periods : sequence of Period or ``START..END`` strings, optional
        Disjoint periods; default one period ``all``. With exactly two, the second is tested against the first
        for degradation.
    norms, required_share, confidence
        See :func:`qamtu.audit.kpi.compute_kpis`.
    percentiles, n_boot, seed
        See :func:`qamtu.audit.kpi.compute_percentiles`.
    alpha : float
        Family-wise level of the degradation flags (Holm).
    check_swapped : bool
        Stop when the coordinates look swapped (:func:`qamtu.audit.assign.check_swapped_coordinates`).
    cluster_m : float or None
        Drive tests only: side of the square bins (m, in each area's projected CRS) that group correlated
        samples for the intervals and tests (default 50 m, about the shadow-fading decorrelation distance of
        TR 38.901 Table 7.5-6: 37 m LOS / 50 m NLOS in UMa). None treats every sample as independent.
    dedupe, idle_mbps, session_gap_s
        Drive tests only: per-second de-duplication, the idle rule and sessions (:mod:`qamtu.audit.sampling`).
    paired : bool
        Degradation on squares measured in both periods, paired (:func:`qamtu.audit.degradation.degradation_tests`).

    Raises
    ------
    DataFileError
        Swapped coordinates.
    InvalidInputError
        Bad parameters, overlapping periods, no areas.
    """
    if not boundaries:
        raise InvalidInputError("no areas to audit: give --city ID, --all or --boundary FILE")
    plist = [parse_period(p) if isinstance(p, str) else p for p in (periods or [])] or [all_period()]
    drive = measurements.kind == "drive"
    use_clusters = cluster_m is not None and drive
    frame, exc, filtered = _prepare_samples(
        measurements, boundaries, plist, check_swapped=check_swapped, cluster_m=cluster_m if use_clusters else None,
        dedupe=drive and dedupe, idle_mbps=idle_mbps if drive else None, session_gap_s=session_gap_s,
    )
    kpis = compute_kpis(frame, norms, required_share=required_share, confidence=confidence)
    pct = compute_percentiles(frame, percentiles, n_boot=n_boot, confidence=confidence, seed=seed)
    degr = None
    if len(plist) == 2:
        degr = degradation_tests(frame, plist[0].label, plist[1].label, norms, alpha=alpha, paired=paired)
    tech_kpis = sessions = None
    if drive:
        timeline = pd.concat([frame[["source", "time", "operator", "tech", "city", "period"]
                                    + (["cluster"] if use_clusters else [])],
                              exc[["source", "time", "operator", "tech", "city", "period"]
                                  + (["cluster"] if use_clusters else [])]], ignore_index=True)
        timeline["duration_s"] = sample_durations(timeline["source"], timeline["time"])
        tech_kpis = technology_shares(timeline, confidence)
        sessions = session_table(frame)
    samples = _sample_table(frame, exc, filtered)
    summary = _summary(measurements, boundaries, frame, plist, norms, kpis, rows_accepted=int(len(measurements.frame)),
                       required_share=required_share, confidence=confidence, cluster_m=cluster_m,
                       use_clusters=use_clusters, dedupe=drive and dedupe, idle_mbps=idle_mbps)
    if tech_kpis is not None:
        fb = tech_kpis[tech_kpis["tech"].isin(["3G", "2G", "no service"])]
        summary["fallback_and_no_service"] = _records(fb, ("city", "operator", "period", "tech", "samples",
                                                           "samples_total", "share_samples", "share_time"))
    if sessions is not None and len(sessions):
        summary["sessions"] = _sessions_summary(sessions, norms, required_share=required_share, confidence=confidence,
                                                session_gap_s=session_gap_s)
    if degr is not None:
        summary["degradation"] = _degradation_summary(degr, plist, alpha=alpha, paired=paired and use_clusters)
    return AuditResult(frame=frame, kpis=kpis, percentiles=pct, degradation=degr, summary=summary,
                       technology=tech_kpis, sessions=sessions, samples=samples)


def _prepare_samples(
    measurements: Measurements,
    boundaries: Mapping[str, CityBoundary],
    plist: Sequence[Period],
    *,
    check_swapped: bool,
    cluster_m: float | None,
    dedupe: bool,
    idle_mbps: float | None,
    session_gap_s: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The audited samples, the excluded ones and the filtered-out ones, each with its area, period and bin.

    ``cluster_m`` None: no spatial bins; ``idle_mbps`` None: no idle rule and no sessions (not a drive test).
    """
    frame = measurements.frame.copy()
    source = ", ".join(measurements.sources)
    if check_swapped:
        check_swapped_coordinates(frame, boundaries, source)
    exc_all = measurements.excluded
    filtered = exc_all[exc_all["reason"] == "filtered out"]
    exc = exc_all[exc_all["reason"] != "filtered out"].copy()
    if dedupe:
        frame = dedupe_per_second(frame)
        exc = _dedupe_excluded(exc)
    else:
        frame["rows_merged"] = 1
        exc["rows_merged"] = 1
    # audited and excluded samples share the area, period and bin assignment
    both = pd.concat([frame.assign(_audited=True), exc.assign(_audited=False)], ignore_index=True)
    both["city"] = assign_cities(both["lon"].to_numpy(float), both["lat"].to_numpy(float), boundaries)
    both["period"] = assign_periods(both["time"], plist)
    both["bin"] = spatial_bins(both, boundaries, cluster_m) if cluster_m is not None else None
    if cluster_m is not None:  # integer label per bin (-1 outside every area), unique across areas
        both["cluster"] = pd.factorize(pd.Series(both["bin"], dtype=object))[0].astype(np.int64)
    aud = both["_audited"].to_numpy(dtype=bool)
    frame = both[aud].drop(columns=["_audited", "tech_raw", "reason"], errors="ignore").reset_index(drop=True)
    exc = both[~aud].drop(columns="_audited").reset_index(drop=True)
    drive = idle_mbps is not None
    frame["idle"] = idle_mask(frame["dl_mbps"], frame["ul_mbps"], idle_mbps) if drive else False
    frame["session_id"] = assign_sessions(frame, frame["idle"].to_numpy(), session_gap_s) if drive else None
    frame["dl_mbps_measured"] = frame["dl_mbps"]
    frame.loc[frame["idle"], ["dl_mbps", "ul_mbps"]] = np.nan  # idle: out of the throughput KPIs
    return frame, exc, filtered


def _summary(
    measurements: Measurements,
    boundaries: Mapping[str, CityBoundary],
    frame: pd.DataFrame,
    plist: Sequence[Period],
    norms: Sequence[Norm],
    kpis: pd.DataFrame,
    *,
    rows_accepted: int,
    required_share: float,
    confidence: float,
    cluster_m: float | None,
    use_clusters: bool,
    dedupe: bool,
    idle_mbps: float,
) -> dict[str, Any]:
    """The audit's ``summary.json`` core: accounting of every row, the rules applied, areas, periods and KPIs."""
    drive = measurements.kind == "drive"
    in_city = frame["city"].notna().to_numpy()
    in_period = frame["period"].notna().to_numpy()
    outside = ~in_city
    return {
        "quantity": "measured",
        "format": measurements.kind,
        "sources": list(measurements.sources),
        "files_skipped": list(measurements.skipped),
        "accounting": "rows_read = rows_accepted + rows_rejected + rows_excluded (physical lines of the files used, "
                      "blank lines not counted); rejects.csv lists rejected rows and dropped fields",
        "rows_read": int(measurements.rows_read),
        "rows_accepted": rows_accepted,
        "rows_rejected": int(measurements.rows_rejected),
        "rows_excluded": int(measurements.rows_excluded),
        "excluded_by_reason": {str(k): int(v) for k, v in measurements.excluded["reason"].value_counts().items()},
        "fields_dropped": int(measurements.fields_dropped),
        "rejects_first": _records(measurements.rejects.head(5), ("file", "line", "field", "value", "reason",
                                                                 "action")),
        "rejects_by_field": {str(k): int(v) for k, v in measurements.rejects["field"].value_counts().items()},
        "dedupe": ("one sample per file, operator, technology and UTC second (mean position and throughput, power "
                   "mean of RSRP/SINR)" if dedupe else "off"),
        "samples_after_dedupe": int(len(frame)),
        "rows_merged_by_dedupe": int(rows_accepted - len(frame)),
        "idle_rule": (f"a sample with downlink < {idle_mbps:g} Mbit/s and uplink empty or < {idle_mbps:g} Mbit/s is "
                      "idle (no transfer): left out of the throughput KPIs, kept for RSRP/SINR" if drive and
                      idle_mbps > 0 else "off"),
        "idle_samples": int(frame["idle"].sum()),
        "samples_outside_areas": int(outside.sum()),
        "samples_outside_cities": int(outside.sum()),
        "outside": locate_outside(frame["lon"].to_numpy(float)[outside], frame["lat"].to_numpy(float)[outside]),
        "samples_outside_periods": int((in_city & ~in_period).sum()),
        "samples_audited": int((in_city & in_period).sum()),
        "cities": {
            cid: {"crs": b.crs, "boundary_is_approximation": b.is_approximation,
                  "samples": int((frame["city"] == cid).sum())}
            for cid, b in boundaries.items()
        },
        "periods": [{"label": p.label, "start": None if p.start is None else p.start.isoformat(),
                     "end_exclusive": None if p.end is None else p.end.isoformat()} for p in plist],
        "norms": [{"name": n.name, "dl_mbps": n.dl_mbps, "techs": list(n.techs) if n.techs else "all"}
                  for n in norms],
        "required_share": required_share,
        "confidence": confidence,
        "cluster_m": cluster_m if drive else None,
        "independence": (
            f"drive-test samples grouped in {cluster_m:g} m bins: intervals use the design-effect sample size "
            "(n_eff), percentiles a cluster bootstrap, the degradation test one median per bin"
            if use_clusters
            else ("Ookla tiles: Kish effective number of tiles (weights = tests)" if measurements.kind == "ookla"
                  else "every sample treated as independent")
        ),
        "verdict_rule": (
            "meets if the lower Wilson bound >= required_share; fails if the upper bound < required_share; "
            "otherwise not enough data. samples_needed: samples (as counted in units) that would settle it if the "
            "share and clustering stayed as observed = samples_needed_eff (smallest effective n whose Wilson "
            "interval excludes required_share) x design effect units / n_eff"
        ),
        "kpis": _records(kpis, SUMMARY_KPI_KEYS),
    }

def _sessions_summary(sessions: pd.DataFrame, norms: Sequence[Norm], *, required_share: float, confidence: float,
                      session_gap_s: float) -> dict[str, Any]:
    """The sessions block of the summary: count, rule, per-group medians and the informative session KPIs."""
    per = sessions[sessions["city"].notna() & sessions["period"].notna()].groupby(
        ["city", "operator", "tech", "period"], sort=True)["dl_mbps_mean"]
    return {
        "count": int(len(sessions)),
        "rule": (f"a session column, else runs of non-idle samples with gaps <= {session_gap_s:g} s; session "
                 "throughput = mean downlink of its samples; kpis: share of sessions at or above each norm, sessions as "
                 "independent units (informative: verdicts and the exit code use the samples)"),
        "per_group": [{"city": k[0], "operator": k[1], "tech": k[2], "period": k[3], "sessions": int(v.size),
                       "median_session_dl_mbps": round(float(v.median()), 3)} for k, v in per],
        "kpis": _records(session_kpis(sessions, norms, required_share=required_share, confidence=confidence),
                         ("city", "operator", "tech", "period", "norm", "sessions", "share", "ci_low", "ci_high",
                          "verdict")),
    }

def _degradation_summary(degr: pd.DataFrame, plist: Sequence[Period], *, alpha: float, paired: bool) -> dict[str, Any]:
    """The degradation block of the summary: periods, design, corrections and the degraded groups."""
    return {
        "period_a": plist[0].label,
        "period_b": plist[1].label,
        "alpha": alpha,
        "design": ("paired: only squares measured in both periods, one pair of medians per square"
                   if paired else "unpaired"),
        "correction": "Holm (1979) within each family: median tests across groups; share tests per norm",
        "tests": ("one-sided Wilcoxon signed-rank on per-square differences (paired) or Mann-Whitney U "
                  "(unpaired) for the median; one-sided pooled two-proportion z-test for the share"),
        "degraded": _records(degr[degr["degraded"]], ("city", "operator", "tech", "norm", "matched_squares",
                                                      "median_change_mbps", "effect_size", "mw_p_holm",
                                                      "share_change", "prop_p_holm")),
    }

def _sample_table(frame: pd.DataFrame, exc: pd.DataFrame, filtered: pd.DataFrame) -> pd.DataFrame:
    """Per-sample table: where (area, period, bin) and how (status) each sample was counted."""
    a = frame.copy()
    a["status"] = np.where(a["city"].isna(), "outside areas",
                           np.where(a["period"].isna(), "outside periods",
                                    np.where(a["idle"], "audited (idle: radio only)", "audited")))
    a["dl_mbps"] = a["dl_mbps_measured"]
    e = exc.copy()
    e["status"] = e["reason"]
    f = filtered.assign(status="filtered out", rows_merged=1)
    parts = [p for p in (a, e, f) if len(p)]
    if not parts:
        return pd.DataFrame(columns=list(SAMPLE_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    for c in SAMPLE_COLUMNS:
        if c not in out.columns:
            out[c] = None
    out = out.loc[:, list(SAMPLE_COLUMNS)]
    return out.sort_values(["source", "line"], kind="stable").reset_index(drop=True)


def city_quality(
    measurements: Measurements | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    city_id: str,
    *,
    fmt: str = "drive",
    boundary: Any = None,
    periods: Sequence[Period | str] | None = None,
    norms: Sequence[Norm] = DEFAULT_NORMS,
    required_share: float = 0.9,
    confidence: float = 0.95,
    cluster_m: float | None = 50.0,
) -> pd.DataFrame:
    """MEASURED quality of one city, for the national report to show beside the PREDICTED quality.

    Parameters
    ----------
    measurements : Measurements or path(s)
        Already validated measurements, or file(s) read with ``fmt`` (``"drive"`` or ``"ookla"``).
    city_id : str
        Catalogue id.
    boundary : path or geometry, optional
        The city's boundary; default the catalogue's disc (as the study area uses).
    periods, norms, required_share, confidence, cluster_m
        As in :func:`run_audit`.

    Returns
    -------
    DataFrame
        The KPI rows of :func:`qamtu.audit.kpi.compute_kpis` for this city (``quantity == "measured"``), one per
        operator, tech, period and norm; empty when no sample falls inside the city.
    """
    if not isinstance(measurements, Measurements):
        measurements = read_measurements(measurements, fmt)
    b = {city_id: city_boundary(city_id, boundary)}
    res = run_audit(measurements, b, periods=periods, norms=norms, required_share=required_share,
                    confidence=confidence, cluster_m=cluster_m, check_swapped=False, n_boot=100)
    return res.kpis
