"""Capacity: busy-hour demand where people live, each sector's capacity from its served pixels, sites added where
demand exceeds capacity.

Demand model
------------
Busy-hour DL traffic per person = 5G take-up x active share x rate per active user (:class:`DemandModel`); a
pixel's demand is that times its people. Defaults (all scenario parameters, ``planning.capacity``):

* ``take_up = 0.30``: share of the people using 5G in the busy hour of the planning year. An assumption of the order
  of GSMA Intelligence's 5G adoption forecasts for the CIS region around 2030 (roughly a fifth to a third of
  mobile connections; GSMA, "The Mobile Economy Russia & CIS", 2023). Change it to the operator's forecast.
* ``active_share = 0.0125`` and ``rate_per_active_user_mbps = 10``: together 0.125 Mbit/s per 5G user in the busy
  hour, the average load of a user with 21 GB a month (Ericsson Mobility Report, June 2024: average monthly mobile
  data per smartphone, global 2023, about 21 GB) of which 8 % in the busy hour (a planning convention, about
  1/12 of the daily volume): 21e3 MB x 8 bit x 0.08 / (30 x 3600 s) = 0.124 Mbit/s. Written as 1.25 % of the 5G
  users each pulling 10 Mbit/s (a stream of good-quality video) so each factor can be changed on its own.

Per person that is 0.30 x 0.0125 x 10 = 0.0375 Mbit/s; 10,000 people/km2 (this project's "dense urban" class)
ask for 375 Mbit/s per km2.

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

from qamtu.errors import InvalidInputError

if TYPE_CHECKING:
    from qamtu.engine import CoverageResult, EngineConfig
    from qamtu.plan.planner import CityModel

__all__ = ["DemandModel", "CapacityResult", "sector_load", "add_capacity_sites", "neighbour_distances_m"]


@dataclass(frozen=True)
class DemandModel:
    """Busy-hour DL demand per person (see the module docstring for the defaults and their sources).

    Parameters
    ----------
    take_up : float
        Share of the people using 5G, [0, 1].
    active_share : float
        Share of the 5G users active at the same time in the busy hour, [0, 1].
    rate_per_active_user_mbps : float
        DL rate an active user pulls, Mbit/s, >= 0.
    target_load : float or None
        Utilisation a sector may reach, (0, 1]; None: the engine's ``cell_load``.
    """

    take_up: float = 0.30
    active_share: float = 0.0125
    rate_per_active_user_mbps: float = 10.0
    target_load: float | None = None

    def __post_init__(self) -> None:
        for name in ("take_up", "active_share"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0.0 <= v <= 1.0):
                raise InvalidInputError(f"demand: {name} = {v!r} is not allowed; give a share in [0, 1]")
        v = self.rate_per_active_user_mbps
        if not (np.isfinite(v) and 0.0 <= v <= 1e5):
            raise InvalidInputError(f"demand: rate_per_active_user_mbps = {v!r} is not allowed; give 0 to 100000 Mbit/s")
        if self.target_load is not None and not (np.isfinite(self.target_load) and 0.0 < self.target_load <= 1.0):
            raise InvalidInputError(f"demand: target_load = {self.target_load!r} is not allowed; give a share in (0, 1]")

    @property
    def per_person_mbps(self) -> float:
        """Busy-hour DL demand per person, Mbit/s."""
        return self.take_up * self.active_share * self.rate_per_active_user_mbps

    def scaled(self, factor: float) -> "DemandModel":
        """The same model with the rate per active user times ``factor`` (e.g. 2: double demand)."""
        return DemandModel(self.take_up, self.active_share, self.rate_per_active_user_mbps * factor, self.target_load)

    def load_limit(self, config: EngineConfig) -> float:
        return float(config.cell_load if self.target_load is None else self.target_load)

    def as_dict(self) -> dict[str, float | None]:
        return {"take_up": self.take_up, "active_share": self.active_share,
                "rate_per_active_user_mbps": self.rate_per_active_user_mbps, "target_load": self.target_load,
                "per_person_mbps": self.per_person_mbps}


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
