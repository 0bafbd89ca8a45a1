"""From links to maps: per-pixel, per-user-class probabilities, quantiles, rates, ``covered`` and the KPIs.

Choices made (each a documented part of the model, not an accident of the code):

* **Distributions, not means.** Every probability and quantile is over the pixel's user of a class (outdoor,
  indoor in a low-loss building, indoor in a high-loss building), over each site's LOS state and shadowing and
  the user's building loss (drawn once per user): :mod:`qamtu.engine.distribution`. The "indoor" class is the
  pixel's building mix, "all" the pixel's population mix (environment class profile).
* **Best server**: the user camps on the strongest SS-RSRP of its draw (the distribution module); the
  ``best_server`` map is the sector with the strongest mean SS-RSRP (ties: lower index), for sector loads.
* **covered** (:class:`qamtu.engine.criterion.CoverageCriterion`): ``P(SS-RSRP >= thr) >= level`` and
  ``P(DL >= min_dl_mbps at the load) >= level`` (and the optional UL condition) for the criterion's user class.
* **PDSCH SINR** at cell load ``rho``: serving traffic beam (with the environment's beam-forming loss for
  angular spread) against ``rho`` x every other sector's interference beam plus noise; **SSB SINR**: serving SSB
  against every other sector's SSB at full power (always-on) plus noise. **DL rate**: rank adaptation over
  ``dl_layers`` with the power split over layers (:func:`qamtu.radio.nr.rank_adapted_throughput_mbps`), TDD DL
  share, idle share ``1 - rho``; the map ``dl_mbps`` is the rate at the 10th percentile of the SINR (what a user
  gets 90 % of the time). **UL**: open-loop power control (distribution module), interference at the serving
  sector from the other cells' UEs at the load (:func:`ul_noise_interference_dbm`; or the fixed rise over
  thermal ``ul_interference_margin_db``); ``ul_mbps`` at the 10th percentile.
* **Served areas follow ``active``**: the interfering traffic beams are aimed at, and the UL interference comes
  from, the users of the active sectors (:meth:`qamtu.engine.served.ServedModel.state`; the stored
  ``interference_mw`` is aimed for every sector on air and is re-aimed per link for the others).
* Weak links (below the relevance floor of :mod:`qamtu.engine.links`) enter the interference through the pixel's
  residual, a random term (mean and variance) of the interference sum the kernel fits: exactly when all sectors
  are active, mean and variance scaled by the share of active sectors for a subset (an estimate: a random
  share of independent terms). Callers that need exact subsets compute the links with a large
  ``cutoff_margin_db`` or with ``compute_links(..., cutoff=links.info)``.
* Pixels inside the mask with no active link in range: RSRP and SINR NaN, throughput 0, probabilities 0, best
  server -1, not covered. Outside the mask: NaN, -1 and False.

``aggregate(area, links, config, active=mask)`` re-evaluates any subset of the sectors from the stored links in
one pass over them (Numba), without touching path loss or antenna patterns; ``full=False`` computes only what
``covered`` needs (the planner's and the scheduler's inner loop).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qamtu.engine import distribution as _dist
from qamtu.engine._kernels import sector_sums
from qamtu.engine.config import ENV_CLASSES, EngineConfig
from qamtu.engine.links import Links, compute_links, noise_per_re_dbm, power_per_re_dbm
from qamtu.errors import InvalidInputError

PERCENTILES = ("5", "10", "50", "90", "95")
#: memory for the per-link aimed-beam factors of the served areas met by an :class:`IncrementalAggregator`
FACTOR_CACHE_BYTES = 64 * 2**20


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
        Median SS-RSRP of the strongest server, outdoor users, dBm per RE (NaN outside the mask or no server).
    coverage_probability : float32 array
        Probability that SS-RSRP >= ``config.rsrp_threshold_dbm`` for the criterion's user class (NaN outside).
    sinr_db : float32 array
        Median PDSCH SINR at ``config.cell_load``, outdoor users, dB.
    dl_mbps, ul_mbps : float32 arrays
        DL / UL user throughput at the 10th percentile (reached by 90 % of outdoor users), Mbit/s.
    ssb_sinr_db : float32 array
        Median SSB SINR (outdoor users), dB.
    probabilities : dict of str -> float32 array
        ``p_rsrp_<class>``, ``p_dl_<class>``, ``p_ul_<class>`` (when a UL condition is set) and
        ``p_covered_<class>`` (both/all conditions' smaller probability) for classes outdoor, indoor, all;
        ``covered_<class>`` bool maps.
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
    ssb_sinr_db: np.ndarray | None = None
    probabilities: dict = field(default_factory=dict)

    @property
    def p_covered_outdoor(self) -> np.ndarray:
        """P(covered) of outdoor users: the smaller of their RSRP and DL (and UL) probabilities."""
        return self.probabilities["p_covered_outdoor"]

    @property
    def p_covered_indoor(self) -> np.ndarray:
        """P(covered) of indoor users (the pixel's building mix)."""
        return self.probabilities["p_covered_indoor"]

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

        Keys: ``city``; ``territory_share`` and ``population_share`` (covered for the criterion's user class,
        outdoor by default: shares of the pixels / of the people, 0..1); ``user_classes`` = {"outdoor", "indoor",
        "all"} -> {``territory_share``, ``population_share``, ``rsrp_territory_share`` (P(SS-RSRP >= thr) >=
        level), ``dl_territory_share`` (P(DL >= min) >= level)}; ``population_total``, ``area_km2``, ``sectors``,
        ``sites``; ``dl_mbps_percentiles`` / ``ul_mbps_percentiles`` (the maps' 10th-percentile rates over the
        population; area-weighted without population); ``dl_mbps_p10_covered_percentiles`` (the same over the
        covered people only); ``ssb_sinr_db_median`` and ``pdsch_sinr_db_median`` (population-weighted medians
        of the per-pixel median SINRs, outdoor users); ``rsrp_dbm_median`` (same for the median SS-RSRP);
        ``rsrp_coverage_share``, ``served_share``, ``boundary_is_approximation``, ``resolution_m``, ``cutoff_m``
        and the criterion.
        """
        area = self.area
        mask = np.asarray(area.mask, dtype=bool)
        pop = np.where(mask, np.asarray(area.population, dtype=float), 0.0)
        pop_total = float(pop.sum())
        n_pix = int(mask.sum())
        weights = pop if pop_total > 0 else mask.astype(float)
        wsum = float(weights.sum())
        served = mask & (self.best_server >= 0)
        cfg = self.config
        crit = cfg.criterion

        def shares(flag):
            flag = np.asarray(flag, bool) & mask
            return {
                "territory_share": float(flag.sum() / n_pix) if n_pix else float("nan"),
                "population_share": float(pop[flag].sum() / pop_total) if pop_total > 0 else float("nan"),
            }

        level = crit.probability - 1e-9
        classes = {}
        for cls in ("outdoor", "indoor", "all"):
            entry = shares(self.probabilities.get(f"covered_{cls}", self.covered))
            with np.errstate(invalid="ignore"):
                p_r = self.probabilities.get(f"p_rsrp_{cls}")
                p_d = self.probabilities.get(f"p_dl_{cls}")
                if p_r is not None:
                    entry["rsrp_territory_share"] = shares(p_r >= level)["territory_share"]
                if p_d is not None:
                    entry["dl_territory_share"] = shares(p_d >= level)["territory_share"]
            classes[cls] = entry

        def wmedian(a):
            if a is None:
                return float("nan")
            return weighted_percentiles(np.where(served, a, np.nan)[mask], weights[mask], ("50",))["50"]

        city = getattr(area, "city", None)
        cov = np.asarray(self.covered, bool) & mask
        head = shares(cov)
        return {
            "city": getattr(city, "id", str(city)),
            "territory_share": head["territory_share"],
            "population_share": head["population_share"],
            "user_class": crit.user_class,
            "user_classes": classes,
            "population_total": pop_total,
            "area_km2": float(area.area_km2),
            "sectors": self.sectors,
            "sites": self.sites,
            "dl_mbps_percentiles": weighted_percentiles(self.dl_mbps[mask], weights[mask]),
            "ul_mbps_percentiles": weighted_percentiles(self.ul_mbps[mask], weights[mask]),
            "dl_mbps_p10_covered_percentiles": weighted_percentiles(self.dl_mbps[cov], weights[cov]),
            "ssb_sinr_db_median": wmedian(self.ssb_sinr_db),
            "pdsch_sinr_db_median": wmedian(self.sinr_db),
            "rsrp_dbm_median": wmedian(self.rsrp_dbm),
            "rsrp_coverage_share": float(
                weights[mask & (np.nan_to_num(self.coverage_probability) >= level)].sum() / wsum
            ) if wsum > 0 else float("nan"),
            "served_share": float(weights[served].sum() / wsum) if wsum > 0 else float("nan"),
            "boundary_is_approximation": bool(getattr(area, "boundary_is_approximation", False)),
            "resolution_m": float(getattr(area, "resolution_m", float("nan"))),
            "cutoff_m": float(self.cutoff_m),
            "rsrp_threshold_dbm": cfg.rsrp_threshold_dbm,
            "coverage_level": cfg.coverage_level,
            "min_dl_mbps": cfg.min_dl_mbps,
            "min_ul_mbps": cfg.min_ul_mbps,
            "cell_load": cfg.cell_load,
            "freq_hz": cfg.freq_hz,
            "bandwidth_hz": cfg.bandwidth_hz,
        }


def ul_noise_interference_dbm(links: Links, config: EngineConfig, active=None) -> np.ndarray:
    """Per sector: the gNB receiver's noise plus the uplink interference per RE at ``config.cell_load``, dBm.

    ``config.ul_interference = "neighbours"``: the other cells' UEs, on the served areas of the ``active``
    sectors (default all; :meth:`qamtu.engine.served.ServedState.ul_interference_mw` x load); "margin", or links
    without a served model: the fixed rise over thermal ``ul_interference_margin_db``.
    """
    n_sec = len(links.sectors)
    noise = noise_per_re_dbm(config, config.gnb_noise_figure_db)
    served = _served_of(links)
    if config.ul_interference == "margin" or served is None:
        return np.full(n_sec, noise + config.ul_interference_margin_db)
    i_mw = config.criterion.cell_load * served.state(active).ul_interference_mw(config)
    return 10.0 * np.log10(10.0 ** (noise / 10.0) + i_mw)


def _served_of(links: Links):
    served = getattr(links, "served", None)
    if served is not None and len(served.sectors) != len(links.sectors):
        raise InvalidInputError(f"links.served describes {len(served.sectors)} sectors, the links "
                                f"{len(links.sectors)}: pass served=ServedModel.subset(...) or None when re-indexing "
                                "links")
    return served


def pixel_groups(links: Links):
    """``(starts, group_pixel, order)``: links grouped by pixel (``order`` None when already contiguous)."""
    pixel = links.pixel
    order = None
    if pixel.size:
        change = np.flatnonzero(pixel[1:] != pixel[:-1]) + 1
        starts = np.concatenate([[0], change, [pixel.size]]).astype(np.int64)
        gp = pixel[starts[:-1]]
        if np.unique(gp).size != gp.size:  # a pixel's links are not contiguous: sort once
            order = np.argsort(pixel, kind="stable")
            ps = pixel[order]
            change = np.flatnonzero(ps[1:] != ps[:-1]) + 1
            starts = np.concatenate([[0], change, [ps.size]]).astype(np.int64)
            gp = ps[starts[:-1]]
        return starts, gp.astype(np.int64), order
    return np.zeros(1, np.int64), np.empty(0, np.int64), None


def o2i_class_parameters(config: EngineConfig):
    """Per environment class: (mean, sd) of the building loss of indoor low-loss and high-loss users, dB.

    From :func:`qamtu.engine.physics.o2i_states` (TR 38.901 7.4.3); sd = -1 marks a class with no such users.
    """
    from qamtu.engine import physics

    mu = np.zeros((len(ENV_CLASSES), 2))
    sd = np.zeros((len(ENV_CLASSES), 2))
    for e, name in enumerate(ENV_CLASSES):
        prof = config.environments[name]
        st = physics.o2i_states(config.freq_hz, prof.scenario, 1.0, prof.o2i_high_share)
        for c in range(2):
            mu[e, c] = st.mean_loss_db[c + 1]
            sd[e, c] = st.std_db[c + 1] if st.weights[c + 1] > 0 else -1.0
    return mu, sd


def _class_mix(prob: np.ndarray, env: np.ndarray, config: EngineConfig):
    """(outdoor, indoor, all) probabilities from the rows (outdoor, indoor-low, indoor-high) per pixel."""
    high = np.array([config.environments[n].o2i_high_share for n in ENV_CLASSES])[env]
    indoor_share = np.array([config.environments[n].indoor_share for n in ENV_CLASSES])[env]
    low_p = np.nan_to_num(prob[1])
    high_p = np.nan_to_num(prob[2])
    indoor = (1.0 - high) * low_p + high * high_p
    return prob[0], indoor, (1.0 - indoor_share) * prob[0] + indoor_share * indoor


def aggregate(area, links: Links, config: EngineConfig | None = None, active=None, *,
              full: bool = True) -> CoverageResult:
    """Maps and KPIs from stored links, for all sectors or an ``active`` subset.

    Parameters
    ----------
    area : StudyArea
        The area the links were computed on.
    links : Links
        From :func:`qamtu.engine.links.compute_links`.
    config : EngineConfig, optional
        Default: the configuration the links were computed with. Only the aggregation fields (criterion, load,
        rates, TDD, layers, noise figures, UL power control, O2I shares) may differ.
    active : array-like of bool, shape (n_sectors,), optional
        Sectors to evaluate (default all). Inactive sectors neither serve nor interfere.
    full : bool
        False: only the probabilities ``covered`` needs, for the criterion's class (no quantile maps; RSRP, SINR
        and rate maps NaN / 0). Default True.

    Returns
    -------
    CoverageResult
    """
    return IncrementalAggregator(area, links, config, full=full).evaluate(active)


class IncrementalAggregator:
    """:func:`aggregate` of one (area, links, config, full) for a sequence of ``active`` subsets, recomputing
    only the pixels whose inputs changed since the previous call.

    A pixel's distributions depend only on its own links' active flags, on the served areas of its links'
    active sectors (their interfering beams, :mod:`qamtu.engine.served`; and their uplink interference where
    the output uses it: maps or a UL condition) and on its weak-link residual, which is scaled by the share of
    active sectors. So after the first call (every pixel), a call starts from the kept state (one of the last
    ``keep`` subsets evaluated) nearest to it and recomputes only the pixels with a link whose sector's flag,
    served area or UL interference differs, plus, when the number of active sectors differs, the pixels with a
    non-zero residual; the other pixels keep that state's kernel output. The result equals a fresh
    :func:`aggregate` exactly (same kernel, same inputs per pixel; each pixel is computed independently). Used
    by the schedule's quality gates (:func:`qamtu.rollout.gates.engine_gate`), which evaluate hundreds of
    subsets that differ by a few sites. ``recomputed`` counts the pixels the last call computed.

    ``levels`` = (lo, hi): with ``full`` False the kernel decides P(DL) only against the coverage levels in
    ``[lo, hi]`` (default: the config's own); ``evaluate(active, config=other)`` then gives the result for any
    ``other`` that differs from ``config`` only in ``coverage_level`` within that range, from the same kernel pass
    (the sensitivity sweep's probability steps share the gate's evaluations). ``memo_bytes`` > 0 keeps the kernel
    output of every subset evaluated (least recently used dropped beyond that many bytes), so a subset asked
    again, under any of those levels, costs no kernel pass.
    """

    def __init__(self, area, links: Links, config: EngineConfig | None = None, *, full: bool = True,
                 keep: int = 8, levels: tuple[float, float] | None = None, memo_bytes: int = 0):
        config = links.config if config is None else config
        if config.freq_hz != links.config.freq_hz:
            raise InvalidInputError(
                f"aggregate: freq_hz must equal the links' ({links.config.freq_hz} Hz); recompute the links"
            )
        if links.p_los is None:
            raise InvalidInputError(
                "aggregate: these links lack the per-link distributions (p_los ...); recompute them")
        self.area, self.links, self.config, self.full = area, links, config, bool(full)
        self.n_sec = len(links.sectors)
        crit = config.criterion
        self.shape = tuple(links.shape)
        self.n_pix = self.shape[0] * self.shape[1]
        self.mask = np.asarray(area.mask, dtype=bool).ravel()
        self.env_full = np.asarray(area.env_class).ravel().astype(np.int64)
        starts, gpix, order = pixel_groups(links)

        def arr(a):
            return a if order is None else a[order]

        self.starts, self.gpix = starts, gpix
        n_groups = gpix.size
        sectors = links.sectors
        _, site_code = np.unique(np.asarray(sectors.site_id), return_inverse=True)
        residual = np.zeros(self.n_pix) if links.residual_mw is None else np.asarray(links.residual_mw, float)
        self.resid_g = residual[gpix]
        # its variance (a random term of the kernel's interference sum); -1: none given, a constant at its mean
        var, lvl = links.residual_var_mw2, links.residual_rsrp_mw
        self.resid_var_g = np.full(n_groups, -1.0) if var is None or links.residual_mw is None else \
            np.asarray(var, float)[gpix]
        # it is conditioned below the serving level x (residual / the weak sites' SS-RSRP) (log, neper; none known:
        # not conditioned)
        self.resid_ratio_g = np.full(n_groups, 700.0)
        if lvl is not None:
            lv = np.asarray(lvl, float)[gpix]
            ok = (lv > 0.0) & (self.resid_g > 0.0)
            self.resid_ratio_g[ok] = np.log(self.resid_g[ok] / lv[ok])
        bf_loss = np.array([config.environments[n].beamforming_loss_db for n in ENV_CLASSES])
        self.env_g = self.env_full[gpix]
        self.group_of_link = np.repeat(np.arange(n_groups), np.diff(starts))
        self.sector_link = arr(links.sector).astype(np.int64)
        self.sector_out = arr(links.sector)
        # per-link inputs of the kernel, in pixel-group order (gathered for a subset of the groups)
        self.link_arrays = (
            self.sector_link, arr(links.rsrp_dbm).astype(np.float64),
            arr(links.signal_dbm).astype(np.float64) - bf_loss[self.env_g][self.group_of_link],
            arr(links.interference_mw).astype(np.float64),  # aimed at the users of every sector on air
            np.zeros(links.n_links) if links.ssb_offset_db is None else arr(links.ssb_offset_db).astype(np.float64),
            arr(links.p_los).astype(np.float64),
            arr(links.los_gain_db).astype(np.float64), arr(links.sf_los_db).astype(np.float64),
            arr(links.sf_nlos_db).astype(np.float64),
            np.zeros(links.n_links) if links.cosited_weak_mw is None else
            arr(links.cosited_weak_mw).astype(np.float64),  # the weak sectors of the link's site (_resid)
        )
        # every class's exact probabilities: for the maps, or when ``covered`` is not the outdoor class's
        self.all_classes = bool(full or crit.user_class != "outdoor")
        p_own = float(crit.probability)
        self.levels = (p_own, p_own) if levels is None else (float(min(levels)), float(max(levels)))
        if not self.levels[0] <= p_own <= self.levels[1]:
            raise InvalidInputError(f"levels {levels}: must contain the config's coverage_level {p_own}")
        o2i_mu, o2i_sd = o2i_class_parameters(config)
        gh_x, gh_w = _dist.gauss_hermite()
        noise_mw = 10.0 ** (noise_per_re_dbm(config) / 10.0)
        g_dl = crit.min_dl_sinr_db(config)
        g_ul = crit.min_ul_sinr_db(config)
        n_sc = 12 * int(__import__("qamtu.radio.nr", fromlist=["n_prb"]).n_prb(config.bandwidth_hz, config.scs_hz))
        mu_num = int(round(config.scs_hz / 15e3))
        ul_pmax_re = config.ue_tx_power_dbm - 10.0 * np.log10(n_sc)
        ul_p0_re = config.ul_p0_dbm + 10.0 * np.log10(mu_num) - 10.0 * np.log10(12.0)
        ul_nd = ul_noise_interference_dbm(links, config) if links.served is None else None
        p_ref = np.asarray(power_per_re_dbm(sectors.tx_power_dbm, config), dtype=float)
        self.site_code = site_code.astype(np.int64)
        self.o2i = (o2i_mu, o2i_sd)
        self.tail = (
            gh_x, gh_w, float(crit.rsrp_threshold_dbm),
            10.0 ** (g_dl / 10.0) if np.isfinite(g_dl) else (np.inf if g_dl > 0 else 1e-30), float(crit.cell_load),
            float(config.always_on_re_share), noise_mw, p_ref, float(ul_pmax_re), float(ul_p0_re),
            float(config.ul_alpha), ul_nd,
            float(g_ul) if np.isfinite(g_ul) else (-1e300 if g_ul < 0 else 1e300),
            self.all_classes, bool(full), self.levels[0] - 1e-9, self.levels[1] - 1e-9,
        )
        self.keep = int(keep)
        self._served_init(links, config)
        self._states: list = []  # (active, share, out, best_link, mix signatures, ul_nd), most recent first
        self.out = np.full((len(_dist.ROWS), n_groups), np.nan)
        self.best_link = np.full(n_groups, -1, np.int64)
        self.recomputed = 0
        self.memo_bytes = int(memo_bytes)
        self._memo: dict = {}  # active.tobytes() -> (out, best_link), least recently used first

    def _config_for(self, config: EngineConfig | None) -> EngineConfig:
        """``config`` checked to differ from the evaluator's only in ``coverage_level`` within ``levels``."""
        if config is None or config is self.config:
            return self.config
        level = float(config.coverage_level)
        if (config.replace(coverage_level=self.config.coverage_level) != self.config
                or not self.levels[0] <= level <= self.levels[1]):
            raise InvalidInputError(
                f"IncrementalAggregator.evaluate: config may differ from the evaluator's only in coverage_level, "
                f"within {self.levels}; got coverage_level {level} or other changed fields")
        return config

    def _served_init(self, links: Links, config: EngineConfig) -> None:
        """The served-area terms that follow the active set (:mod:`qamtu.engine.served`): the interfering traffic
        beams aimed at the users of the sectors on air (a per-link factor on the stored interference, which is
        aimed for every sector on air) and the uplink interference from their UEs."""
        self.served = _served_of(links)
        self.aim = self.served is not None and self.served.has_mix
        self.ul_follow = self.served is not None and config.ul_interference == "neighbours"
        # the uplink noise + interference changes the kernel's output only with a UL condition or the maps
        self.ul_matters = self.full or self.tail[12] > -1e299
        if self.served is not None and not (self.ul_follow and self.ul_matters):
            # (without maps or a UL condition the kernel's outputs do not use it: any value gives the same result)
            self.tail = self.tail[:11] + (ul_noise_interference_dbm(links, config.replace(
                ul_interference="margin")),) + self.tail[12:]
        if not self.aim:
            return
        self.full_state = self.served.state()
        n_links = self.sector_link.size
        self.fac = np.ones(n_links, np.float32)  # per link: aimed factor of the loaded served areas / of every sector on air
        self.fac_sig = self.full_state.mix_signature.copy()  # the served areas loaded in ``fac``, per sector
        self.sec_order = np.argsort(self.sector_link, kind="stable")
        self.sec_ptr = np.searchsorted(self.sector_link[self.sec_order], np.arange(self.n_sec + 1))
        self._fac_cache: dict = {}  # (sector, mix signature) -> factors of the sector's links (sec_order order)
        self._fac_bytes = 0
        self._geometry = None

    def _link_geometry(self):
        """Pixel centres (flat) and the terrain hook (or None) for the links' angles."""
        if self._geometry is None:
            from qamtu.engine.terrain import TerrainHook

            x, y = self.area.pixel_centres()
            hook = TerrainHook(self.area, self.links.sectors, self.links.config) if TerrainHook.needed(
                self.area) else None
            self._geometry = (np.asarray(x, float).ravel(), np.asarray(y, float).ravel(), hook)
        return self._geometry

    def _load_factors(self, state, active_arr: np.ndarray) -> None:
        """``fac`` of every active sector set to the beam mixes of ``state`` (computed once per served area)."""
        from qamtu.engine.served import _local_angles

        want = state.mix_signature
        stale = np.flatnonzero(active_arr & (want != self.fac_sig))
        if stale.size == 0:
            return
        ptr, order = self.sec_ptr, self.sec_order
        missing = [s for s in stale if (int(s), float(want[s])) not in self._fac_cache]
        if missing:
            ms = np.asarray(missing, np.int64)
            lens = ptr[ms + 1] - ptr[ms]
            idx = order[np.repeat(ptr[ms] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
                        + np.arange(int(lens.sum()))]
            x, y, hook = self._link_geometry()
            sec = self.sector_link[idx]
            pix = self.gpix[self.group_of_link[idx]]
            sectors = self.links.sectors
            dz = None if hook is None else hook.ground_only(pix, sec)[2]
            th, ph = _local_angles(x[pix] - sectors.x_m[sec], y[pix] - sectors.y_m[sec], sec, sectors,
                                   self.links.config, dz)
            f = (state.ratio_at_angles(th, ph, sec) / self.full_state.ratio_at_angles(th, ph, sec)).astype(np.float32)
            bounds = np.concatenate([[0], np.cumsum(lens)])
            for i, s in enumerate(ms):
                self._fac_cache[(int(s), float(want[s]))] = f[bounds[i]:bounds[i + 1]]
                self._fac_bytes += 4 * int(lens[i])
            while self._fac_bytes > FACTOR_CACHE_BYTES and len(self._fac_cache) > len(missing):
                self._fac_bytes -= self._fac_cache.pop(next(iter(self._fac_cache))).nbytes
        for s in stale:
            self.fac[order[ptr[s]:ptr[s + 1]]] = self._fac_cache[(int(s), float(want[s]))]
            self.fac_sig[s] = want[s]

    def _dirty_groups(self, active_arr: np.ndarray, share: float, state, mix_sig, ul_nd) -> np.ndarray:
        """Indices of the pixel groups to recompute when starting from ``state``."""
        old_active, old_share = state[0], state[1]
        changed = active_arr != old_active
        if self.aim:  # an active sector's served area changed: its interfering beams moved
            changed |= active_arr & (mix_sig != state[4])
        if self.ul_follow and self.ul_matters:
            changed |= active_arr & (ul_nd != state[5])
        dirty = np.zeros(self.gpix.size, bool)
        if changed.any():
            dirty[self.group_of_link[changed[self.sector_link]]] = True
        if share != old_share:
            dirty |= self.resid_g != 0.0
        return np.flatnonzero(dirty)

    def evaluate(self, active=None, config: EngineConfig | None = None) -> CoverageResult:
        """The :class:`CoverageResult` of ``aggregate(area, links, config, active, full=full)``.

        Starts from the kept state (the last ``keep`` evaluated subsets) that needs the fewest pixels recomputed.
        ``config``: another coverage level within ``levels`` (see the class docstring); default the evaluator's.
        """
        config = self._config_for(config)
        n_sec = self.n_sec
        if active is None:
            active_arr = np.ones(n_sec, dtype=bool)
        else:
            active_arr = np.asarray(active)
            if active_arr.dtype != bool or active_arr.shape != (n_sec,):
                raise InvalidInputError(
                    f"active must be a boolean array of shape ({n_sec},) (one flag per sector), "
                    f"got dtype {active_arr.dtype} shape {active_arr.shape}"
                )
        active_arr = np.ascontiguousarray(active_arr)
        key = active_arr.tobytes() if self.memo_bytes > 0 else None
        if key is not None and key in self._memo:
            self.out, self.best_link = self._memo.pop(key)
            self._memo[key] = (self.out, self.best_link)  # most recently used
            self.recomputed = 0
            return self._result(active_arr, config)
        share = float(active_arr.sum()) / max(n_sec, 1)
        mix_sig = None
        if self.aim:
            st = self.served.state(active_arr)
            self._load_factors(st, active_arr)
            mix_sig = st.mix_signature
        tail = self.tail
        if self.ul_follow and self.ul_matters:
            ul_nd = ul_noise_interference_dbm(self.links, self.config, active_arr)
            tail = tail[:11] + (ul_nd,) + tail[12:]
        ul_nd = tail[11]
        groups, base = None, None
        for state in self._states:
            g = self._dirty_groups(active_arr, share, state, mix_sig, ul_nd)
            if groups is None or g.size < groups.size:
                groups, base = g, state
        starts = self.starts
        if base is None:
            sub_starts, idx, resid = starts, None, share * self.resid_g
            resid_var = np.where(self.resid_var_g >= 0.0, share * self.resid_var_g, -1.0)
            resid_ratio = self.resid_ratio_g
            env_g = self.env_g
            out = np.full((len(_dist.ROWS), self.gpix.size), np.nan)
            best_link = np.full(self.gpix.size, -1, np.int64)
        else:
            lens = np.diff(starts)[groups]
            sub_starts = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
            idx = np.repeat(starts[groups] - sub_starts[:-1], lens) + np.arange(int(sub_starts[-1]))
            resid = share * self.resid_g[groups]
            resid_var = np.where(self.resid_var_g[groups] >= 0.0, share * self.resid_var_g[groups], -1.0)
            resid_ratio = self.resid_ratio_g[groups]
            env_g = self.env_g[groups]
            out, best_link = base[2].copy(), base[3].copy()
        n_sub = sub_starts.size - 1
        if n_sub:
            sub_out = np.full((len(_dist.ROWS), n_sub), np.nan)
            sub_best = np.full(n_sub, -1, np.int64)
            links_in = self.link_arrays if idx is None else tuple(a[idx] for a in self.link_arrays)
            if self.aim:  # the interfering beams aimed at the users of the active sectors
                links_in = links_in[:3] + (links_in[3] * (self.fac if idx is None else self.fac[idx]),) + links_in[4:]
            _dist.pixel_distributions(
                sub_starts, *links_in, self.site_code, active_arr, resid, resid_var, resid_ratio, *self.o2i, env_g,
                *tail,
                sub_out, sub_best,
            )
            if base is None:
                out, best_link = sub_out, sub_best
            else:
                out[:, groups] = sub_out
                best_link[groups] = np.where(sub_best >= 0, idx[np.maximum(sub_best, 0)], -1)
        self.recomputed = n_sub
        self.out, self.best_link = out, best_link
        self._states.insert(0, (active_arr.copy(), share, out, best_link, mix_sig, ul_nd))
        del self._states[self.keep:]
        if key is not None:
            self._memo[key] = (out, best_link)
            size = out.nbytes + best_link.nbytes
            while len(self._memo) > 1 and size * len(self._memo) > self.memo_bytes:
                del self._memo[next(iter(self._memo))]
        return self._result(active_arr, config)

    def _result(self, active_arr: np.ndarray, config: EngineConfig) -> CoverageResult:
        rows, best = self.pixel_rows()
        return result_from_rows(self.area, self.links, config, active_arr, rows, best, full=self.full,
                                all_classes=self.all_classes)

    def pixel_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The last evaluation per pixel: the kernel's rows (len(ROWS), n_pixels), NaN where the pixel has no
        link, and the best server (int32, -1 where no active link)."""
        gpix, out, best_link = self.gpix, self.out, self.best_link
        rows = np.full((len(_dist.ROWS), self.n_pix), np.nan)
        rows[:, gpix] = out
        best = np.full(self.n_pix, -1, dtype=np.int32)
        ok = best_link >= 0
        best[gpix[ok]] = self.sector_out[best_link[ok]]
        return rows, best


def result_from_rows(area, links: Links, config: EngineConfig, active_arr: np.ndarray, pixel_rows: np.ndarray,
                     best: np.ndarray, *, full: bool, all_classes: bool) -> CoverageResult:
    """The :class:`CoverageResult` from the kernel's rows per pixel (``pixel_rows``, (len(ROWS), n_pixels)) and
    the best server per pixel (-1: no active link, not served); ``links`` gives the sector table and cut-off.
    Shared by :class:`IncrementalAggregator` and the multi-resolution evaluation (:mod:`qamtu.engine.multires`)."""
    crit = config.criterion
    shape = tuple(links.shape)
    n_pix = shape[0] * shape[1]
    mask = np.asarray(area.mask, dtype=bool).ravel()
    env_full = np.asarray(area.env_class).ravel().astype(np.int64)
    rows = {name: pixel_rows[r] for r, name in enumerate(_dist.ROWS)}
    best = np.asarray(best, np.int32).copy()
    served = best >= 0
    env_pix = np.clip(env_full, 0, len(ENV_CLASSES) - 1)
    probs = {}
    for q in ("rsrp", "dl", "ul"):
        stack = np.stack([rows[f"p_{q}_outdoor"], rows[f"p_{q}_indoor_low"], rows[f"p_{q}_indoor_high"]])
        for cls, val in zip(("outdoor", "indoor", "all"), _class_mix(stack, env_pix, config)):
            probs[f"p_{q}_{cls}"] = np.where(served, np.nan_to_num(val), 0.0)
    if not all_classes:  # P(DL) is not computed where P(SS-RSRP) misses this config's level
        probs["p_dl_outdoor"][probs["p_rsrp_outdoor"] < float(crit.probability) - 1e-9] = 0.0
    has_ul = crit.min_ul_mbps is not None
    for cls in ("outdoor", "indoor", "all"):
        parts = [probs[f"p_rsrp_{cls}"], probs[f"p_dl_{cls}"]] + ([probs[f"p_ul_{cls}"]] if has_ul else [])
        probs[f"p_covered_{cls}"] = np.minimum.reduce(parts)
        probs[f"covered_{cls}"] = crit.covered(probs[f"p_rsrp_{cls}"], probs[f"p_dl_{cls}"],
                                               probs[f"p_ul_{cls}"] if has_ul else None) & served & mask
    covered = probs[f"covered_{crit.user_class}"].copy()
    dl = np.zeros(n_pix)
    ul = np.zeros(n_pix)
    if full and served.any():
        from qamtu.engine.criterion import link_rate_mbps

        dl[served] = link_rate_mbps(rows["pdsch_sinr_p10_db"][served], config, "dl")
        ul[served] = link_rate_mbps(rows["ul_snr_p10_db"][served], config, "ul")
    rsrp = rows["rsrp_median_dbm"].copy()
    sinr = rows["pdsch_sinr_median_db"].copy()
    ssb = rows["ssb_sinr_median_db"].copy()
    pcov = probs[f"p_rsrp_{crit.user_class}"].copy()
    outside = ~mask
    for a in (rsrp, sinr, ssb, pcov, dl, ul):
        a[outside] = np.nan
    for key, a in probs.items():
        if a.dtype != bool:
            a[outside] = np.nan
    best[outside] = -1

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
        extra={name: grid(np.where(mask, rows[name], np.nan), np.float32)
               for name in ("pdsch_sinr_p10_db", "ul_snr_p10_db")},
        ssb_sinr_db=grid(ssb, np.float32),
        probabilities={k: grid(v, bool if v.dtype == bool else np.float32) for k, v in probs.items()},
    )


def evaluate(area, sites, config: EngineConfig | None = None, progress=None) -> CoverageResult:
    """``aggregate(area, compute_links(area, sites, config, progress), config)``."""
    config = EngineConfig() if config is None else config
    return aggregate(area, compute_links(area, sites, config, progress), config)
