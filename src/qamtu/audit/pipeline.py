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

from qamtu.audit.assign import CityBoundary, assign_cities, check_swapped_coordinates, city_boundary
from qamtu.audit.degradation import degradation_tests
from qamtu.audit.ingest import Measurements, read_measurements
from qamtu.audit.kpi import DEFAULT_NORMS, Norm, compute_kpis, compute_percentiles
from qamtu.audit.periods import Period, all_period, assign_periods, parse_period
from qamtu.errors import InvalidInputError

#: Keys of each object in ``summary["kpis"]`` (the contract of ``summary.json``).
SUMMARY_KPI_KEYS = ("city", "operator", "tech", "period", "norm", "norm_mbps", "samples", "share", "ci_low",
                    "ci_high", "verdict", "samples_needed")


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
        JSON-ready: ``rows_read``, ``rows_rejected``, counts outside cities/periods, parameters, ``kpis``.
    """

    frame: pd.DataFrame
    kpis: pd.DataFrame
    percentiles: pd.DataFrame
    degradation: pd.DataFrame | None
    summary: dict[str, Any]


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


def spatial_clusters(frame: pd.DataFrame, boundaries: Mapping[str, CityBoundary], cluster_m: float) -> np.ndarray:
    """Integer cluster label per row: the ``cluster_m`` square bin of the sample in its city's CRS.

    Rows outside every city get -1 (they are in no KPI group). Labels are unique across cities.
    """
    if not cluster_m > 0:
        raise InvalidInputError(f"cluster_m {cluster_m!r} must be a positive number of metres (or None)")
    from pyproj import Transformer

    out = np.full(len(frame), -1, dtype=np.int64)
    keys: list[tuple[str, int, int]] = []
    idx_all: list[np.ndarray] = []
    city = frame["city"].to_numpy(dtype=object)
    for cid, b in boundaries.items():
        idx = np.flatnonzero(city == cid)
        if idx.size == 0:
            continue
        tr = Transformer.from_crs("EPSG:4326", b.crs, always_xy=True)
        x, y = tr.transform(frame["lon"].to_numpy(float)[idx], frame["lat"].to_numpy(float)[idx])
        ix = np.floor(np.asarray(x) / cluster_m).astype(np.int64)
        iy = np.floor(np.asarray(y) / cluster_m).astype(np.int64)
        keys.extend(zip([cid] * idx.size, ix.tolist(), iy.tolist()))
        idx_all.append(idx)
    if idx_all:
        codes, _ = pd.factorize(pd.Series(keys, dtype=object))
        out[np.concatenate(idx_all)] = codes
    return out


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
) -> AuditResult:
    """Audit MEASURED quality against the norms.

    Parameters
    ----------
    measurements : Measurements
        From :func:`qamtu.audit.ingest.read_measurements`.
    boundaries : mapping city id -> CityBoundary
        The cities audited (:func:`qamtu.audit.assign.city_boundaries`).
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
        Drive tests only: side of the square bins (m, in each city's projected CRS) that group correlated
        samples for the intervals and tests (default 50 m, about the shadow-fading decorrelation distance of
        TR 38.901 Table 7.5-6: 37 m LOS / 50 m NLOS in UMa). None treats every sample as independent.

    Raises
    ------
    DataFileError
        Swapped coordinates.
    InvalidInputError
        Bad parameters, overlapping periods, no cities.
    """
    if not boundaries:
        raise InvalidInputError("no cities to audit: give --city ID or --all")
    plist = [parse_period(p) if isinstance(p, str) else p for p in (periods or [])] or [all_period()]
    frame = measurements.frame.copy()
    source = ", ".join(measurements.sources)
    if check_swapped:
        check_swapped_coordinates(frame, boundaries, source)
    frame["city"] = assign_cities(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), boundaries)
    frame["period"] = assign_periods(frame["time"], plist)
    if cluster_m is not None and measurements.kind == "drive":
        frame["cluster"] = spatial_clusters(frame, boundaries, cluster_m)
    kpis = compute_kpis(frame, norms, required_share=required_share, confidence=confidence)
    pct = compute_percentiles(frame, percentiles, n_boot=n_boot, confidence=confidence, seed=seed)
    degr = None
    if len(plist) == 2:
        degr = degradation_tests(frame, plist[0].label, plist[1].label, norms, alpha=alpha)
    in_city = frame["city"].notna().to_numpy()
    in_period = frame["period"].notna().to_numpy()
    summary: dict[str, Any] = {
        "quantity": "measured",
        "format": measurements.kind,
        "sources": list(measurements.sources),
        "rows_read": int(measurements.rows_read),
        "rows_rejected": int(measurements.rows_rejected),
        "rejects_first": _records(measurements.rejects.head(5), ("file", "row", "field", "value", "reason")),
        "rejects_by_field": {str(k): int(v) for k, v in measurements.rejects["field"].value_counts().items()},
        "rows_accepted": int(len(frame)),
        "samples_outside_cities": int((~in_city).sum()),
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
        "cluster_m": cluster_m if measurements.kind == "drive" else None,
        "independence": (
            f"drive-test samples grouped in {cluster_m:g} m bins: intervals use the design-effect sample size "
            "(n_eff), percentiles a cluster bootstrap, the Mann-Whitney test one median per bin"
            if cluster_m is not None and measurements.kind == "drive"
            else ("Ookla tiles: Kish effective number of tiles (weights = tests)" if measurements.kind == "ookla"
                  else "every sample treated as independent")
        ),
        "verdict_rule": (
            "meets if the lower Wilson bound >= required_share; fails if the upper bound < required_share; "
            "otherwise not enough data (samples_needed: smallest n whose Wilson interval around the observed "
            "share excludes required_share; n counts effective samples, n_eff, when samples are clustered)"
        ),
        "kpis": _records(kpis, SUMMARY_KPI_KEYS),
    }
    if degr is not None:
        summary["degradation"] = {
            "period_a": plist[0].label,
            "period_b": plist[1].label,
            "alpha": alpha,
            "correction": "Holm (1979) within each family: median tests across groups; share tests per norm",
            "tests": "one-sided Mann-Whitney U (median), one-sided pooled two-proportion z-test (share)",
            "degraded": _records(degr[degr["degraded"]], ("city", "operator", "tech", "norm", "median_change_mbps",
                                                          "mw_p_holm", "share_change", "prop_p_holm")),
        }
    return AuditResult(frame=frame, kpis=kpis, percentiles=pct, degradation=degr, summary=summary)


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
    frame = measurements.frame.copy()
    plist = [parse_period(p) if isinstance(p, str) else p for p in (periods or [])] or [all_period()]
    frame["city"] = assign_cities(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), b)
    frame["period"] = assign_periods(frame["time"], plist)
    if cluster_m is not None and measurements.kind == "drive":
        frame["cluster"] = spatial_clusters(frame, b, cluster_m)
    return compute_kpis(frame, norms, required_share=required_share, confidence=confidence)
