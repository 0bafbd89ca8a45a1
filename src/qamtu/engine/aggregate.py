"""From links to maps: best server, SS-RSRP, coverage probability, SINR, throughput, KPIs.

Choices made (each a documented part of the model, not an accident of the code):

* **Best server**: the active sector with the highest mean SS-RSRP at the pixel (ties: the lower sector index).
* **Coverage probability** of a pixel: the largest single-link coverage probability over its active sectors,
  ``max_s P(RSRP_s >= thr)``. This is a rigorous lower bound of the probability that *some* sector reaches the
  threshold, whatever the correlation of the links' shadowing and O2I state (a user's indoor state is common to
  all its links, so independence would overstate it); for a pixel dominated by one sector it is that sector's
  probability (the FCC-style cell-edge probability).
* **DL SINR** at cell load ``rho``: ``S / (rho * sum_{s != serving} I_s + N)``, all in mW per resource element
  (powers add in linear units): ``S`` = mean received power of the serving sector's traffic beam, ``I_s`` = mean
  received power of neighbour ``s`` with its interference gain (its data beams pointed at its own users),
  ``N`` = thermal noise in one subcarrier plus the UE noise figure.
* **DL throughput**: :func:`qamtu.radio.nr.throughput_mbps` at that SINR with ``dl_layers``, the TDD downlink
  share and the load (the user gets the idle share ``1 - rho``).
* **UL throughput**: SNR of the UE (``ue_tx_power_dbm`` spread over the carrier, body loss, the serving sector's
  traffic-beam gain reciprocally) against the gNB noise per RE plus ``ul_interference_margin_db``, then
  :func:`~qamtu.radio.nr.throughput_mbps` with ``ul_layers``, the TDD uplink share and the load.
* **covered**: ``coverage_probability >= coverage_level`` and ``dl_mbps >= min_dl_mbps``.
* Weak links (below the relevance floor of :mod:`qamtu.engine.links`) enter the interference through the pixel's
  residual: exactly when all sectors are active, scaled by the share of active sectors for a subset (an estimate:
  median SINR error < 0.1 dB, at most a few dB at isolated pixels in the tests). Callers that need exact subsets
  compute the links with a large ``cutoff_margin_db`` (e.g. 60 dB: every link in range stored, no residual; more
  memory) or compute the subset's links with ``compute_links(..., cutoff=links.info)``.
* Pixels inside the mask with no active link in range: RSRP and SINR NaN, throughput 0, coverage probability 0,
  best server -1, not covered. Outside the mask: NaN, -1 and False.

``aggregate(area, links, config, active=mask)`` re-evaluates any subset of the sectors from the stored links in
one pass over them (Numba), without touching path loss or antenna patterns. Which links are stored depends only on
each link and on the cut-off (:class:`~qamtu.engine.links.CutoffInfo`), so with the same cut-off the answer equals
``evaluate`` on the subset's site table exactly, apart from the residual of weak links (scaled, see above); with
no weak links it is bit-identical (tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qamtu.engine._kernels import reduce_links, sector_sums
from qamtu.engine.config import EngineConfig
from qamtu.engine.links import Links, compute_links, noise_per_re_dbm, power_per_re_dbm
from qamtu.errors import InvalidInputError

PERCENTILES = ("5", "10", "50", "90", "95")


def weighted_percentiles(values: np.ndarray, weights: np.ndarray, percentiles=PERCENTILES) -> dict[str, float]:
    """Percentiles of ``values`` over a population given by ``weights`` (inverted weighted CDF).

    The p-th percentile is the smallest value whose cumulative weight reaches p % of the total; with equal weights
    this is the "inverted CDF" definition of :func:`numpy.percentile`. Returns NaN when the total weight is 0.
    """
    v = np.asarray(values, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    ok = np.isfinite(v) & (w > 0)
    v, w = v[ok], w[ok]
    total = w.sum()
    if total <= 0:
        return {str(p): float("nan") for p in percentiles}
    order = np.argsort(v, kind="stable")
    cw = np.cumsum(w[order])
    out = {}
    for p in percentiles:
        target = float(p) / 100.0 * total
        k = int(np.searchsorted(cw, target * (1 - 1e-12), side="left"))
        out[str(p)] = float(v[order][min(k, v.size - 1)])
    return out


@dataclass
class CoverageResult:
    """Maps of one study area (arrays of ``area.shape``) and their KPIs.

    Attributes
    ----------
    area : StudyArea
    config : EngineConfig
    rsrp_dbm : float32 array
        Mean SS-RSRP of the best server, dBm per RE (NaN outside the mask or with no server).
    coverage_probability : float32 array
        Largest single-link probability that SS-RSRP >= ``config.rsrp_threshold_dbm`` (NaN outside).
    sinr_db : float32 array
        DL SINR at ``config.cell_load``, dB.
    dl_mbps, ul_mbps : float32 arrays
        Achievable user throughput, Mbit/s.
    best_server : int32 array
        Index of the serving sector into the site table (-1 outside or none).
    covered : bool array
    active : bool array, shape (n_sectors,)
        The sectors that were evaluated.
    sector_ids : ndarray of str
        ``site_id`` of every sector of the site table (index = sector).
    cutoff_m : float
    """

    area: Any
    config: EngineConfig
    rsrp_dbm: np.ndarray
    coverage_probability: np.ndarray
    sinr_db: np.ndarray
    dl_mbps: np.ndarray
    ul_mbps: np.ndarray
    best_server: np.ndarray
    covered: np.ndarray
    active: np.ndarray
    site_ids: np.ndarray
    cutoff_m: float
    extra: dict = field(default_factory=dict)

    @property
    def sectors(self) -> int:
        """Active sectors evaluated."""
        return int(self.active.sum())

    @property
    def sites(self) -> int:
        """Distinct sites among the active sectors."""
        return int(np.unique(self.site_ids[self.active]).size)

    def sector_population(self) -> np.ndarray:
        """People served by each sector (best server), float64 array of shape (n_sectors,)."""
        pop = np.where(self.area.mask, self.area.population, 0.0).ravel().astype(np.float64)
        return sector_sums(self.best_server.ravel().astype(np.int64), pop, self.active.size)

    def kpis(self) -> dict[str, Any]:
        """City-level indicators (JSON-serialisable).

        Keys: ``city``, ``territory_share`` and ``population_share`` (covered, 0..1), ``population_total``,
        ``area_km2``, ``sectors``, ``sites``, ``dl_mbps_percentiles`` and ``ul_mbps_percentiles`` (over
        population; area-weighted when the area has no population), ``mean_rsrp_dbm`` and ``mean_sinr_db``
        (population-weighted means of the dB values over served pixels), ``rsrp_coverage_share`` (population
        share with coverage probability >= level), ``boundary_is_approximation``, ``resolution_m``,
        ``cutoff_m`` and the criteria used.
        """
        area = self.area
        mask = np.asarray(area.mask, dtype=bool)
        pop = np.where(mask, np.asarray(area.population, dtype=float), 0.0)
        pop_total = float(pop.sum())
        n_pix = int(mask.sum())
        weights = pop if pop_total > 0 else mask.astype(float)
        wsum = float(weights.sum())
        cov = self.covered & mask
        served = mask & (self.best_server >= 0)

        def wmean(arr):
            w = weights[served]
            return float(np.sum(w * arr[served]) / w.sum()) if w.sum() > 0 else float("nan")

        city = getattr(area, "city", None)
        cfg = self.config
        return {
            "city": getattr(city, "id", str(city)),
            "territory_share": float(cov.sum() / n_pix) if n_pix else float("nan"),
            "population_share": float(pop[cov].sum() / pop_total) if pop_total > 0 else float("nan"),
            "population_total": pop_total,
            "area_km2": float(area.area_km2),
            "sectors": self.sectors,
            "sites": self.sites,
            "dl_mbps_percentiles": weighted_percentiles(self.dl_mbps[mask], weights[mask]),
            "ul_mbps_percentiles": weighted_percentiles(self.ul_mbps[mask], weights[mask]),
            "mean_rsrp_dbm": wmean(self.rsrp_dbm),
            "mean_sinr_db": wmean(self.sinr_db),
            "rsrp_coverage_share": float(
                weights[mask & (self.coverage_probability >= cfg.coverage_level)].sum() / wsum
            ) if wsum > 0 else float("nan"),
            "served_share": float(weights[served].sum() / wsum) if wsum > 0 else float("nan"),
            "boundary_is_approximation": bool(getattr(area, "boundary_is_approximation", False)),
            "resolution_m": float(getattr(area, "resolution_m", float("nan"))),
            "cutoff_m": float(self.cutoff_m),
            "rsrp_threshold_dbm": cfg.rsrp_threshold_dbm,
            "coverage_level": cfg.coverage_level,
            "min_dl_mbps": cfg.min_dl_mbps,
            "cell_load": cfg.cell_load,
            "freq_hz": cfg.freq_hz,
            "bandwidth_hz": cfg.bandwidth_hz,
        }


def aggregate(area, links: Links, config: EngineConfig | None = None, active=None) -> CoverageResult:
    """Maps and KPIs from stored links, for all sectors or an ``active`` subset.

    Parameters
    ----------
    area : StudyArea
        The area the links were computed on.
    links : Links
        From :func:`qamtu.engine.links.compute_links`.
    config : EngineConfig, optional
        Default: the configuration the links were computed with. Only the aggregation fields (threshold level,
        load, rates, TDD, layers, noise figures) may differ; the RSRP threshold of the stored coverage
        probabilities is the links' own.
    active : array-like of bool, shape (n_sectors,), optional
        Sectors to evaluate (default all). Inactive sectors neither serve nor interfere.

    Returns
    -------
    CoverageResult
    """
    from qamtu.radio import nr

    config = links.config if config is None else config
    if config.rsrp_threshold_dbm != links.config.rsrp_threshold_dbm or config.freq_hz != links.config.freq_hz:
        raise InvalidInputError(
            "aggregate: rsrp_threshold_dbm and freq_hz must equal those the links were computed with "
            f"({links.config.rsrp_threshold_dbm} dBm, {links.config.freq_hz} Hz); recompute the links"
        )
    n_sec = len(links.sectors)
    if active is None:
        active_arr = np.ones(n_sec, dtype=bool)
    else:
        active_arr = np.asarray(active)
        if active_arr.dtype != bool or active_arr.shape != (n_sec,):
            raise InvalidInputError(
                f"active must be a boolean array of shape ({n_sec},) (one flag per sector), "
                f"got dtype {active_arr.dtype} shape {active_arr.shape}"
            )
    shape = tuple(links.shape)
    n_pix = shape[0] * shape[1]
    best_link, total_int, pmax = reduce_links(
        links.pixel, links.sector, links.rsrp_dbm, links.interference_mw, links.coverage_probability,
        active_arr, n_pix,
    )
    mask = np.asarray(area.mask, dtype=bool).ravel()
    served = best_link >= 0
    k = best_link[served]
    rsrp = np.full(n_pix, np.nan)
    rsrp[served] = links.rsrp_dbm[k]
    best = np.full(n_pix, -1, dtype=np.int32)
    best[served] = links.sector[k]
    signal_mw = np.power(10.0, links.signal_dbm[k].astype(np.float64) / 10.0)
    interference_mw = np.maximum(total_int[served] - links.interference_mw[k].astype(np.float64), 0.0)
    if links.residual_mw is not None:
        # weak links not stored individually (below the relevance floor): exact for all sectors; for a subset, their
        # sum is scaled by the share of active sectors (an estimate: which weak links belong to active sectors is
        # not stored)
        share = float(active_arr.sum()) / max(n_sec, 1)
        if share > 0:
            interference_mw = interference_mw + share * links.residual_mw[served]
    interference_mw = config.cell_load * interference_mw
    noise_mw = 10.0 ** (noise_per_re_dbm(config) / 10.0)
    sinr = np.full(n_pix, np.nan)
    sinr[served] = 10.0 * np.log10(signal_mw / (interference_mw + noise_mw))
    dl = np.zeros(n_pix)
    ul = np.zeros(n_pix)
    if served.any():
        dl[served] = nr.throughput_mbps(
            sinr[served], config.bandwidth_hz, config.dl_layers, config.tdd_dl_share, config.cell_load,
            scs_hz=config.scs_hz, direction="dl",
        )
        # uplink: UE power per RE over the carrier, reciprocal traffic-beam gain, gNB noise + interference margin
        sector = links.sector[k]
        gain_tr = links.signal_dbm[k].astype(np.float64) - power_per_re_dbm(
            links.sectors.tx_power_dbm[sector], config
        )  # = traffic gain + UE gain - body loss + path gain
        ue_re = float(power_per_re_dbm(config.ue_tx_power_dbm, config))
        ul_noise = noise_per_re_dbm(config, config.gnb_noise_figure_db) + config.ul_interference_margin_db
        ul_snr = ue_re + gain_tr - ul_noise
        ul[served] = nr.throughput_mbps(
            ul_snr, config.bandwidth_hz, config.ul_layers, config.tdd_ul_share, config.cell_load,
            scs_hz=config.scs_hz, direction="ul",
        )
    pcov = pmax.copy()
    covered = (pcov >= config.coverage_level) & (dl >= config.min_dl_mbps) & served
    outside = ~mask
    for arr in (rsrp, sinr, pcov, dl, ul):
        arr[outside] = np.nan
    best[outside] = -1
    covered &= mask

    def grid(a, dtype):
        return a.reshape(shape).astype(dtype, copy=False)

    return CoverageResult(
        area=area,
        config=config,
        rsrp_dbm=grid(rsrp, np.float32),
        coverage_probability=grid(pcov, np.float32),
        sinr_db=grid(sinr, np.float32),
        dl_mbps=grid(dl, np.float32),
        ul_mbps=grid(ul, np.float32),
        best_server=grid(best, np.int32),
        covered=grid(covered, bool),
        active=active_arr.copy(),
        site_ids=np.asarray(links.sectors.site_id),
        cutoff_m=links.cutoff_m,
    )


def evaluate(area, sites, config: EngineConfig | None = None, progress=None) -> CoverageResult:
    """``aggregate(area, compute_links(area, sites, config, progress), config)``."""
    config = EngineConfig() if config is None else config
    return aggregate(area, compute_links(area, sites, config, progress), config)
