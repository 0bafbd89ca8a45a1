"""Capacity: busy-hour demand where people live, each sector's capacity from its served pixels, sites added where
demand exceeds capacity.

Demand model
------------
:class:`qamtu.plan.demand.DemandModel` (busy-hour DL traffic per person; defaults and sources there).

Capacity of a sector
--------------------
A sector ``s`` serves the covered pixels ``i`` it is the best server of; with the full-cell rate ``R_i``
(:func:`qamtu.radio.nr.throughput_mbps` at the pixel's SINR with load 0: all the cell's resources) a demand
``D_i`` takes the share ``D_i / R_i`` of the cell's resources, so the sector's utilisation is
``rho_s = sum_i D_i / R_i`` (processor sharing, the load model of the engine). The sector is over capacity when
``rho_s > target_load``; ``target_load`` defaults to the engine's ``cell_load`` (the load the coverage criterion
assumed for interference and user rate), so a plan that meets capacity also keeps the load its coverage assumed.
The sector's capacity at the target load, in Mbit/s, is ``target_load x D_s / rho_s`` (the demand-weighted harmonic
mean of its pixels' rates times the target load).

Adding sites
------------
While some sector is over capacity (and at most ``max_rounds`` rounds), each over-capacity sector, worst first,
gets the candidate site (not chosen, not ruled out) that covers the most of its served demand in the planner's
coverage relation, cheapest first among equals; a sector whose demand a site added in the same round already
covers waits for the next round. The engine re-evaluates the plan after each round. Sites are only ever added next
to over-capacity sectors, so doubling demand adds sites only where demand exceeds capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from qamtu.plan.demand import DemandModel

if TYPE_CHECKING:
    from qamtu.engine import CoverageResult
    from qamtu.plan.model import CityModel

__all__ = ["DemandModel", "CapacityResult", "sector_load", "add_capacity_sites", "neighbour_distances_m"]


def sector_load(result: CoverageResult, demand: DemandModel) -> tuple[np.ndarray, np.ndarray]:
    """Busy-hour demand (Mbit/s) and utilisation of every sector of a coverage result.

    Parameters
    ----------
    result : CoverageResult
    demand : DemandModel

    Returns
    -------
    demand_mbps, utilisation : ndarray, shape (n_sectors,)
        Sum of the served covered pixels' demand, and ``sum_i D_i / R_i`` (0 for sectors that serve nothing).
    """
    from qamtu.radio import nr

    cfg = result.config
    area = result.area
    served = np.asarray(result.covered, bool) & np.asarray(area.mask, bool) & (np.asarray(result.best_server) >= 0)
    idx = np.flatnonzero(served.ravel())
    d = np.asarray(area.population, float).ravel()[idx] * demand.per_person_mbps
    sinr = np.asarray(result.sinr_db, float).ravel()[idx]
    rate = np.asarray(nr.throughput_mbps(sinr, cfg.bandwidth_hz, cfg.dl_layers, cfg.tdd_dl_share, 0.0,
                                         scs_hz=cfg.scs_hz, direction="dl"), float)
    best = np.asarray(result.best_server).ravel()[idx].astype(np.int64)
    n = int(np.asarray(result.active).size)
    with np.errstate(divide="ignore"):
        share = np.where(rate > 0, d / np.where(rate > 0, rate, 1.0), np.where(d > 0, np.inf, 0.0))
    return np.bincount(best, weights=d, minlength=n), np.bincount(best, weights=share, minlength=n)


@dataclass
class CapacityResult:
    """What the capacity stage did: the plan after it and the sites it added, with why."""

    selected: np.ndarray
    added: list[int] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)
    records: list[dict] = field(default_factory=list)
    rounds: int = 0
    overloaded_before: int = 0
    overloaded_after: int = 0
    max_utilisation_after: float = 0.0
    demand_mbps: float = 0.0
    coverage: CoverageResult | None = None


def add_capacity_sites(model: CityModel, selected: np.ndarray, demand: DemandModel, *, max_rounds: int = 10,
                       budget: float | None = None) -> CapacityResult:
    """Add candidate sites next to the sectors whose demand exceeds their capacity (module docstring).

    Parameters
    ----------
    model : CityModel
        Gives ``aggregate(selected)`` (the engine), ``relation(None)`` (round-0 coverage relation over the mask
        pixels), ``sector_site``, ``sites`` (``cost``), ``exclude``, ``mask_flat``.
    selected : ndarray of bool, shape (n_sites,)
        The coverage plan.
    demand : DemandModel
    max_rounds : int
    budget : float, optional
        Total cost the plan may reach; a site that would exceed it is not added.
    """
    sel = np.asarray(selected, bool).copy()
    cost = model.sites["cost"].to_numpy(float)
    limit = demand.load_limit(model.config)
    rel = model.relation(None).tocsc()
    out = CapacityResult(selected=sel)
    res = model.aggregate(sel)
    dem, util = sector_load(res, demand)
    out.overloaded_before = int((util > limit * (1 + 1e-9)).sum())
    out.demand_mbps = float(dem.sum())
    pix_demand = np.asarray(model.population, float) * demand.per_person_mbps  # per mask pixel
    best_mask = np.asarray(res.best_server).ravel()[model.mask_flat]
    covered_mask = np.asarray(res.covered).ravel()[model.mask_flat]
    for rnd in range(int(max_rounds)):
        over = np.flatnonzero(util > limit * (1 + 1e-9))
        if over.size == 0:
            break
        out.rounds = rnd + 1
        taken = np.zeros(model.mask_flat.size, bool)
        added_now = 0
        for k in over[np.argsort(-util[over], kind="stable")]:
            pix = covered_mask & (best_mask == k)
            if (taken & pix).any():
                continue  # a site added this round already relieves this sector: re-evaluate first
            w = np.where(pix, pix_demand, 0.0)
            gain = np.asarray(rel.T @ w).reshape(-1)
            ok = ~sel & ~model.exclude & (gain > 0)
            if budget is not None:
                ok &= cost[sel].sum() + cost <= budget * (1 + 1e-12)
            if not ok.any():
                continue
            cand = np.flatnonzero(ok)
            t = int(cand[np.lexsort((cand, cost[cand], -gain[cand]))[0]])
            sel[t] = True
            added_now += 1
            out.added.append(t)
            site = str(model.sites["site_id"].iloc[int(model.sector_site[k])])
            out.reasons[t] = (f"added for capacity: sector {k} of site {site} carried {dem[k]:.0f} Mbit/s of busy-hour "
                              f"demand at utilisation {util[k]:.2f} > target load {limit:.2f}; this site covers "
                              f"{gain[t]:.0f} Mbit/s of it")
            out.records.append({"site_id": str(model.sites["site_id"].iloc[t]), "round": rnd + 1, "sector": int(k),
                                "sector_site_id": site, "sector_demand_mbps": float(dem[k]),
                                "sector_utilisation": float(util[k]), "relieved_mbps": float(gain[t])})
            col = rel[:, t]
            taken[col.indices] = True
        if added_now == 0:
            break
        res = model.aggregate(sel)
        dem, util = sector_load(res, demand)
        best_mask = np.asarray(res.best_server).ravel()[model.mask_flat]
        covered_mask = np.asarray(res.covered).ravel()[model.mask_flat]
    out.selected = sel
    out.overloaded_after = int((util > limit * (1 + 1e-9)).sum())
    out.max_utilisation_after = float(util.max()) if util.size else 0.0
    out.coverage = res
    return out


def neighbour_distances_m(x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
    """Distance from each site to its nearest other site, m (NaN with fewer than two sites)."""
    from scipy.spatial import cKDTree

    xy = np.column_stack([np.asarray(x_m, float), np.asarray(y_m, float)])
    if len(xy) < 2:
        return np.full(len(xy), np.nan)
    d, _ = cKDTree(xy).query(xy, k=2)
    return d[:, 1]
