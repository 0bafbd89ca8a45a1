"""qamtu.engine: coverage over a study-area grid, Monte-Carlo user drops, and the TR 38.901 calibration.

Public API
----------
Configuration (:mod:`qamtu.engine.config`)
    ``EngineConfig`` (frozen; n78 defaults, every number documented), ``EnvProfile`` (scenario, indoor share,
    O2I mix of an environment class), ``PathLossCalibration`` and ``load_calibration(path)`` (the JSON written by
    ``qamtu calibrate``; validated with named errors), ``tdd_shares(pattern)``.
Links (:mod:`qamtu.engine.links`)
    ``compute_links(area, sites, config=None, progress=None) -> Links``: sparse (pixel, sector) links within the
    link-budget cut-off, each with mean SS-RSRP, traffic-beam signal, interference power, path gain and single-link
    coverage probability; computed per tile of pixels (memory bounded, results independent of the tile size).
    ``cutoff_distance_m(sectors, config)`` derives the cut-off; ``prepare_sectors(sites, crs)``.
Maps (:mod:`qamtu.engine.aggregate`)
    ``aggregate(area, links, config=None, active=None) -> CoverageResult``: best server, SS-RSRP, coverage
    probability, DL SINR at load, DL/UL throughput, ``covered``; ``active`` (bool per sector) re-evaluates a subset
    of the sectors from the stored links in one Numba pass (no path loss recomputed): the planner's and the
    scheduler's inner loop. ``evaluate(area, sites, config=None)`` = compute + aggregate.
    ``CoverageResult``: arrays of ``area.shape`` and ``kpis()``; ``sector_population()``.
Monte-Carlo (:mod:`qamtu.engine.montecarlo`)
    ``drop_users(area, n_users, seed, weighting="population")``, ``simulate_users(users, sites, config, seed)``:
    per-user sampled LOS state, shadowing, indoor state and O2I loss; per-user RSRP, SINR and throughput.
3GPP calibration (:mod:`qamtu.engine.calibration3gpp`)
    ``run_calibration(scenario, freq_hz, drops=20, seed=0) -> dict``: TR 38.901 Table 7.8-1 large-scale set-up;
    percentiles 5..95 of coupling loss and geometry (with and without noise).

``import qamtu.engine`` imports NumPy, SciPy, pandas, Numba and qamtu.radio only (no Typer, Folium or Dask).
"""

from qamtu.engine.aggregate import CoverageResult, aggregate, evaluate, weighted_percentiles
from qamtu.engine.config import (
    ENV_CLASSES,
    EngineConfig,
    EnvProfile,
    PathLossCalibration,
    load_calibration,
    tdd_shares,
)
from qamtu.engine.links import Links, compute_links, cutoff_distance_m, prepare_sectors

__all__ = [
    "ENV_CLASSES",
    "CoverageResult",
    "EngineConfig",
    "EnvProfile",
    "Links",
    "PathLossCalibration",
    "aggregate",
    "compute_links",
    "cutoff_distance_m",
    "evaluate",
    "load_calibration",
    "prepare_sectors",
    "tdd_shares",
    "weighted_percentiles",
]
