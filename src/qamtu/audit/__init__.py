"""qamtu.audit: MEASURED quality against the norms, degradation between periods, and model calibration.

Every table, plot and JSON this package writes says whether a value is ``measured`` (from drive tests or
crowdsourced tiles) or ``predicted`` (from the propagation model); the two are never mixed in one column.

Public API
----------
Ingest (:mod:`qamtu.audit.ingest`, lines read with :mod:`qamtu.csvio`)
    ``read_drive_test(path, columns=None, *, preset=None, max_mbps=5000, max_reject_share=0.5, where=None)``;
    ``read_ookla_tiles(path, *, period_start=None, zoom=16, ...) -> Measurements``;
    ``read_measurements(paths, fmt="drive"|"ookla", ..., where=None, strict=False) -> Measurements`` (several
    files combined; a bad file is skipped and listed in ``skipped`` unless strict; operators normalised);
    ``parse_column_mapping(text, preset)`` (the mapping language: ``canonical=Source*factor``,
    ``canonical[5G]=Source``, ``missing[canonical]=V``, ``time_format=``, ``timezone=``), ``COLUMN_PRESETS``;
    ``write_rejects(measurements, path)``. ``Measurements`` has ``frame``, ``excluded``, ``kind``,
    ``rows_read`` (= accepted + ``rows_rejected`` + ``rows_excluded``), ``rejects``, ``skipped``,
    ``reject_summary()``.
Quadkeys (:mod:`qamtu.audit.quadkey`)
    ``quadkey_to_tile``, ``tile_to_quadkey``, ``tile_bounds_lonlat``, ``quadkey_bounds_lonlat``,
    ``quadkey_centre_lonlat``, ``lonlat_to_quadkey`` (Bing Maps Tile System).
Areas and periods (:mod:`qamtu.audit.assign`, :mod:`qamtu.audit.periods`)
    ``city_boundary(city_id, boundary=None)``, ``city_boundaries(ids, boundary_files)``, ``CityBoundary``,
    ``areas_from_file(path, area_name=None)`` (any polygons, UTM zone from each), ``utm_crs(lon, lat)``,
    ``locate_outside(lon, lat)``, ``assign_cities(lon, lat, boundaries)``, ``check_swapped_coordinates(frame,
    boundaries)``;
    ``parse_period("2024-01-01..2024-06-30")`` (both days included; open ends allowed), ``assign_periods``.
Statistics and KPIs (:mod:`qamtu.audit.stats`, :mod:`qamtu.audit.kpi`)
    ``wilson_interval``, ``bootstrap_percentile_ci``, ``verdict``, ``samples_needed``, ``holm_adjust``,
    ``mann_whitney_worse``, ``two_proportion_worse``; ``Norm``, ``DEFAULT_NORMS``, ``parse_norms``,
    ``compute_kpis(frame, norms, required_share=0.9, confidence=0.95)``, ``compute_percentiles(...)``.
    Verdict rule: lower Wilson bound >= required share -> ``meets``; upper bound < required share -> ``fails``;
    otherwise ``not enough data`` with ``samples_needed``.
Sampling (:mod:`qamtu.audit.sampling`)
    ``dedupe_per_second(frame)``, ``idle_mask(dl, ul, idle_mbps=0.1)``, ``assign_sessions``, ``session_table``,
    ``sample_durations``; ``technology_shares(timeline)`` (time on fallback) and ``session_kpis(sessions, norms)``
    in :mod:`qamtu.audit.kpi`.
Degradation (:mod:`qamtu.audit.degradation`)
    ``degradation_tests(frame, period_a, period_b, norms, alpha=0.05, paired=True)``: paired on squares measured
    in both periods (Wilcoxon signed-rank, rank-biserial) or unpaired (Mann-Whitney, Cliff's delta) for the
    median; two-proportion z-test (share), Cohen's h; Holm-corrected flags.
The audit in one call (:mod:`qamtu.audit.pipeline`)
    ``run_audit(measurements, boundaries, periods=..., dedupe=True, idle_mbps=0.1, paired=True, ...) ->
    AuditResult`` (``kpis``, ``percentiles``, ``degradation``, ``technology``, ``sessions``, ``samples``,
    ``summary``); ``city_quality(measurements, city_id, ...) -> DataFrame``: the MEASURED KPI
    rows of one city, for the national report to show beside the PREDICTED quality.
Calibration (:mod:`qamtu.audit.calibration`)
    ``calibrate(measurements, sites, *, area=None, env_class=None, config=None, techs=("5G",),
    holdout_share=0.3, seed=0, loss="soft_l1", ...) -> CalibrationResult`` (per-class offset and slope, errors
    before/after on fit and hold-out, per-sample table); ``predict_rsrp_dbm(x_m, y_m, sector_idx, env_code,
    sectors, config)`` (the engine's per-link physics); ``write_calibration(result, path)`` writes the path-loss
    calibration JSON of docs/DESIGN.md that ``qamtu.engine.load_calibration`` reads.
Outputs (:mod:`qamtu.audit.outputs`)
    ``write_audit_outputs(result, out_dir)`` and ``write_calibration_outputs(result, out_dir)``: CSV tables,
    ``summary.json`` and PNG plots (matplotlib, Agg backend, imported inside the functions).

Examples
--------
>>> from qamtu.audit import read_measurements, city_boundaries, run_audit  # doctest: +SKIP
>>> m = read_measurements(["drive_2024.csv"], "drive")  # doctest: +SKIP
>>> res = run_audit(m, city_boundaries(["astana"]), periods=["2024-01-01..2024-06-30",
...                                                       "2024-07-01..2024-12-31"])  # doctest: +SKIP
>>> res.kpis[["operator", "tech", "period", "norm", "share", "verdict"]]  # doctest: +SKIP
"""

from __future__ import annotations

from qamtu.audit.assign import (
    CityBoundary,
    areas_from_file,
    assign_cities,
    check_swapped_coordinates,
    city_boundaries,
    city_boundary,
)
from qamtu.audit.calibration import CalibrationResult, calibrate, predict_rsrp_dbm, write_calibration
from qamtu.audit.degradation import degradation_tests
from qamtu.audit.ingest import (
    COLUMN_PRESETS,
    Measurements,
    parse_column_mapping,
    read_drive_test,
    read_measurements,
    read_ookla_tiles,
    write_rejects,
)
from qamtu.audit.kpi import DEFAULT_NORMS, Norm, compute_kpis, compute_percentiles, parse_norms
from qamtu.audit.periods import Period, assign_periods, parse_period
from qamtu.audit.outputs import write_audit_outputs, write_calibration_outputs
from qamtu.audit.pipeline import AuditResult, city_quality, run_audit
from qamtu.audit.stats import bootstrap_percentile_ci, samples_needed, verdict, wilson_interval

__all__ = [
    "AuditResult",
    "CalibrationResult",
    "COLUMN_PRESETS",
    "CityBoundary",
    "DEFAULT_NORMS",
    "Measurements",
    "Norm",
    "Period",
    "areas_from_file",
    "assign_cities",
    "assign_periods",
    "bootstrap_percentile_ci",
    "calibrate",
    "check_swapped_coordinates",
    "city_boundaries",
    "city_boundary",
    "city_quality",
    "compute_kpis",
    "compute_percentiles",
    "degradation_tests",
    "parse_column_mapping",
    "parse_norms",
    "parse_period",
    "predict_rsrp_dbm",
    "read_drive_test",
    "read_measurements",
    "read_ookla_tiles",
    "run_audit",
    "samples_needed",
    "verdict",
    "wilson_interval",
    "write_audit_outputs",
    "write_calibration",
    "write_calibration_outputs",
    "write_rejects",
]
