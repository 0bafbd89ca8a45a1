"""qamtu.engine: coverage over a study-area grid, Monte-Carlo user drops, and the TR 38.901 calibration.

Public API
----------
Configuration (:mod:`qamtu.engine.config`)
    ``EngineConfig`` (frozen; n78 defaults, every number documented), ``EnvProfile`` (scenario, indoor share,
    O2I mix of an environment class), ``tdd_shares(pattern)``.
Calibration file (:mod:`qamtu.engine.calibration_file`, the one reader and writer of the format)
    ``PathLossCalibration`` and ``load_calibration(path)`` (the JSON written by ``qamtu calibrate``; validated
    with named errors); ``write_calibration_file(path, calibration, report=...)`` writes it, validated the same way.
Links (:mod:`qamtu.engine.links`)
    ``compute_links(area, sites, config=None, progress=None, *, cutoff=None, rows=None) -> Links``: sparse
    (pixel, sector) links within the link-budget cut-off, each with mean SS-RSRP, traffic-beam signal,
    interference power, path gain and single-link coverage probability, plus ``Links.residual_mw`` /
    ``residual_var_mw2`` / ``residual_rsrp_mw`` (per pixel, the mean and variance of the summed interference of
    in-range links below the relevance floor, not stored one by one, and their sites' SS-RSRP); computed per tile of pixels (memory
    bounded, results independent of the tile size and of ``workers``). ``link_budget_envelope(sectors, config)
    -> CutoffInfo`` derives the search radius (coverage radius and interference-tail radius) and the relevance
    floor; ``cutoff_distance_m`` returns the radius; pass ``cutoff=`` to reuse one (e.g. a subset of sites with
    the full table's cut-off). ``evaluate_link_batch`` is the exact per-link physics (qamtu.radio called per
    link); ``EngineConfig(fast=True)`` (default) evaluates the same functions tabulated on fine grids in a Numba
    loop (:mod:`qamtu.engine._fast`; < 0.02 dB on main lobes). ``prepare_sectors(sites, crs)``.
Maps (:mod:`qamtu.engine.aggregate`, :mod:`qamtu.engine.distribution`)
    ``aggregate(area, links, config=None, active=None, *, full=True) -> CoverageResult``: per pixel and user class
    (outdoor, indoor, all) the probabilities of the coverage criterion (:mod:`qamtu.engine.criterion`,
    ``config.criterion``) over LOS state, shadowing and building loss, best server under shadowing = strongest
    SS-RSRP; median SS-RSRP, median SSB / PDSCH SINR, 10th-percentile DL/UL rates, ``covered``; ``active`` (bool
    per sector) re-evaluates a subset of the sectors from the stored links (the planner's and the scheduler's inner
    loop, with ``full=False``). ``evaluate(area, sites, config=None)`` = compute + aggregate.
    ``IncrementalAggregator(area, links, config, full=...).evaluate(active)``: the same for a sequence of subsets,
    recomputing only the pixels whose links' flags changed (the schedule's gates).
    ``CoverageResult``: arrays of ``area.shape``, ``probabilities`` and ``kpis()``; ``sector_population()``.
Monte-Carlo (:mod:`qamtu.engine.montecarlo`)
    ``drop_users(area, n_users, seed, weighting="population")``, ``simulate_users(users, sites, config, seed)``:
    per-user sampled LOS state, shadowing, indoor state and O2I loss; per-user RSRP, SINR and throughput;
    ``simulate_measurements`` (a synthetic drive test), ``pixel_monte_carlo`` (the brute-force reference).
3GPP calibration (:mod:`qamtu.engine.calibration3gpp`)
    ``run_calibration(scenario, freq_hz, drops=20, seed=0) -> dict``: TR 38.901 Table 7.8-1 large-scale set-up;
    percentiles 5..95 of coupling loss and geometry (with and without noise).

``import qamtu.engine`` imports NumPy, SciPy, pandas, Numba and qamtu.radio only (no Typer, Folium or Dask).
"""

from qamtu.engine.aggregate import CoverageResult, IncrementalAggregator, aggregate, evaluate, weighted_percentiles
from qamtu.engine.calibration_file import PathLossCalibration, load_calibration
from qamtu.engine.config import ENV_CLASSES, EngineConfig, EnvProfile, tdd_shares
from qamtu.engine.links import (
    CutoffInfo,
    Links,
    compute_links,
    cutoff_distance_m,
    evaluate_link_batch,
    link_budget_envelope,
    prepare_sectors,
)

__all__ = [
    "ENV_CLASSES",
    "CoverageResult",
    "CutoffInfo",
    "EngineConfig",
    "EnvProfile",
    "Links",
    "PathLossCalibration",
    "aggregate",
    "IncrementalAggregator",
    "compute_links",
    "cutoff_distance_m",
    "evaluate",
    "evaluate_link_batch",
    "link_budget_envelope",
    "load_calibration",
    "prepare_sectors",
    "tdd_shares",
    "weighted_percentiles",
]
