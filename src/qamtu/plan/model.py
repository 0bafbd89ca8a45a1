"""The engine-backed model of one city's plan: candidate sites and sectors, the coverage links and the covering
relation the optimisers work on, the plan's full-engine links and the engine checks of a chosen set
(:class:`CityModel`), built once per city and shared by every plan of it (:mod:`qamtu.plan.planner`,
:mod:`qamtu.plan.decisions`), the capacity stage (:mod:`qamtu.plan.capacity`) and the explanations
(:mod:`qamtu.plan.explain`).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from qamtu.plan.candidates import site_table
from qamtu.plan.reach import coverage_reach_m, coverage_reaches_m

__all__ = ["CityModel", "EXACT_SUBSET_MARGIN_DB", "min_sinr_db", "subset_links"]


def min_sinr_db(config: Any) -> float:
    """Smallest DL SINR (dB) at which the engine's rate reaches ``config.min_dl_mbps`` at ``config.cell_load``.

    The coverage criterion's own threshold (:meth:`qamtu.engine.criterion.CoverageCriterion.min_dl_sinr_db`: rank
    adaptation over the UE's layers); ``inf`` when no SINR up to 60 dB reaches the rate, ``-inf`` when it is 0.
    """
    return config.criterion.min_dl_sinr_db(config)


#: Relevance margin (dB) for the plan's full-engine links, the largest the engine allows: every link within 60 dB of
#: the reference level (noise plus expected interference) is stored individually, so re-evaluating any subset of
#: the planned sites needs no estimate (the engine's default of 30 dB keeps weaker links only as a per-pixel sum,
#: exact for the full set but scaled by the active share for a subset). What is still left out is 60 dB below
#: the reference per link: even ten thousand such links add 1 % of it (0.04 dB).
EXACT_SUBSET_MARGIN_DB = 60.0


def subset_links(area, candidates: pd.DataFrame, sector_idx: np.ndarray, config, full_sectors, served=None):
    """Links of a subset of the candidate sectors, re-indexed into the full candidate table.

    Links are stored down to ``cutoff_margin_db`` = :data:`EXACT_SUBSET_MARGIN_DB` below the reference level, so
    the per-pixel residual of weaker links, which the merged parts cannot attribute to the sites on air, is
    negligible and is dropped (see :mod:`qamtu.engine.aggregate`). ``served``: the candidate table's served-area
    model (:mod:`qamtu.engine.served`): the part's links are aimed with its every-sector-on-air beam mixes and
    carry it, so that :func:`qamtu.engine.aggregate.aggregate` re-aims them at the served areas of the sites on
    air (default: the part's own model, dropped when re-indexing).
    """
    from qamtu.engine import compute_links, prepare_sectors

    sub = candidates.iloc[sector_idx].reset_index(drop=True)
    sub_served = None if served is None else served.subset(sector_idx, prepare_sectors(sub, area.crs))
    links = compute_links(area, sub, config.replace(cutoff_margin_db=EXACT_SUBSET_MARGIN_DB), served=sub_served)
    return links.take(slice(None), sector=sector_idx[links.sector].astype(np.int32), sectors=full_sectors,
                      config=config, residual_mw=None, info=None, served=served)


def _merge_links(parts: list, shape, full_sectors, config):
    from qamtu.engine.links import Links, empty_links

    if not parts:
        return empty_links(shape, full_sectors, config)
    return Links.concat(parts, cutoff_m=max(p.cutoff_m for p in parts), sectors=full_sectors, config=config,
                        served=parts[0].served)


class CityModel:
    """The engine-backed pieces of a city plan: coverage links, the relation, and the incremental full check.

    Parameters
    ----------
    area : StudyArea
    candidates : DataFrame
        Candidate table (one row per sector; see :mod:`qamtu.plan.candidates`).
    config : EngineConfig
    progress : callable(str), optional
    coverage_links : Links, optional
        The coverage links, computed already (``compute_links`` with ``max_cutoff_m`` = the coverage reach).
    share : qamtu.plan.linkshare.LinkShare, optional
        Where the coverage links are computed once for several thresholds and coverage levels (a sweep).
    """

    def __init__(self, area: Any, candidates: pd.DataFrame, config: Any, progress: Callable[[str], None] | None = None,
                 coverage_links: Any | None = None, share: Any | None = None):
        from qamtu.engine import compute_links, prepare_sectors
        from qamtu.engine.links import noise_per_re_dbm
        from qamtu.geo.sites import project_sites

        self.say = progress or (lambda msg: None)
        self.area = area
        self.config = config
        # (re)project every row: tables combined from several sources may carry x_m/y_m on some rows only
        cand = project_sites(candidates.drop(columns=["x_m", "y_m"], errors="ignore").reset_index(drop=True),
                             area.crs)
        self.candidates = cand
        self.sites, self.sector_site = site_table(cand)
        self.sites["x_m"] = cand.groupby(self.sector_site)["x_m"].mean().to_numpy()
        self.sites["y_m"] = cand.groupby(self.sector_site)["y_m"].mean().to_numpy()
        self.n_sites = len(self.sites)
        self.sectors = prepare_sectors(cand, area.crs)
        self.mask_flat = np.flatnonzero(np.asarray(area.mask, bool).ravel())
        self.pixel_row = np.full(int(np.prod(area.shape)), -1, np.int64)
        self.pixel_row[self.mask_flat] = np.arange(self.mask_flat.size)
        self.population = np.asarray(area.population, float).ravel()[self.mask_flat]
        self.area_km2 = np.full(self.mask_flat.size, float(area.resolution_m) ** 2 / 1e6)
        self.noise_mw = 10.0 ** (noise_per_re_dbm(config) / 10.0)
        self.sinr_min_db = min_sinr_db(config)
        t0 = time.perf_counter()
        self._served = None  # the candidate table's served areas (qamtu.engine.served), shared by every link set
        if config.interference_beams == "served" or config.ul_interference == "neighbours":
            from qamtu.engine.served import served_model

            self._served = served_model(area, self.sectors, config)
        if coverage_links is None:
            if share is not None:  # the siblings' reaches too, from one evaluation of the ring (qamtu.plan.reach)
                coverage_reaches_m(self.sectors, share.family(config), area)
            self.reach_m = coverage_reach_m(self.sectors, config, area)
            cfg = config.replace(max_cutoff_m=self.reach_m)
            self.say(f"coverage links of {len(cand)} candidate sectors within {self.reach_m:.0f} m ...")
            if share is None:
                coverage_links = compute_links(area, cand, cfg, served=self._served)
            else:  # computed once for the plans of the share's other thresholds and levels (qamtu.plan.linkshare;
                # the served areas do not depend on them: the mean best server, UL interference at full load)
                coverage_links = share.links(
                    "coverage", area, cand, config,
                    lambda c: c.replace(max_cutoff_m=coverage_reach_m(self.sectors, c, area)), served=self._served)
        else:
            self.reach_m = float(coverage_links.cutoff_m)
        self.coverage_links_s = time.perf_counter() - t0
        cl = coverage_links
        self.n_coverage_links = int(cl.n_links)
        rows = self.pixel_row[cl.pixel]
        inside = rows >= 0
        # the interference each candidate site's own sectors put on a pixel (within reach)
        site_of_link = self.sector_site[cl.sector]
        own = sp.csr_matrix((cl.interference_mw[inside].astype(np.float64), (rows[inside], site_of_link[inside])),
                            shape=(self.mask_flat.size, self.n_sites))
        own.sum_duplicates()
        keep = inside & (cl.coverage_probability >= config.coverage_level)
        self.cov_row = rows[keep]
        self.cov_site = site_of_link[keep]
        from qamtu.engine.config import ENV_CLASSES

        bf_loss = np.array([config.environments[n].beamforming_loss_db for n in ENV_CLASSES])
        env_flat = np.asarray(area.env_class).ravel().astype(np.int64)
        signal_db = cl.signal_dbm[keep].astype(np.float64) - bf_loss[env_flat[cl.pixel[keep]]]
        self.cov_signal_mw = np.power(10.0, signal_db / 10.0)
        # the traffic signal's own distribution (LOS/NLOS mixture, shadowing): the relation asks for
        # P(SINR >= threshold) >= level with the interference at its mean, as the engine's criterion does
        p_los = cl.p_los[keep].astype(np.float64)
        gap = cl.los_gain_db[keep].astype(np.float64)
        self.cov_nlos_db = signal_db - 10.0 * np.log10(p_los * np.power(10.0, gap / 10.0) + 1.0 - p_los)
        self.cov_p_los = p_los
        self.cov_gap_db = gap
        self.cov_sf = (cl.sf_los_db[keep].astype(np.float64), cl.sf_nlos_db[keep].astype(np.float64))
        self.cov_intf_mw = cl.interference_mw[keep].astype(np.float64)
        self.cov_own_mw = np.asarray(own[self.cov_row, self.cov_site]).reshape(-1)
        self.coverage_links = cl
        # full-cut-off links, computed per site on demand
        self._plan_parts: list = []
        self._plan_done = np.zeros(self.n_sites, bool)
        self._plan_links = None
        self._checker = None
        self.plan_links_s = 0.0
        self.lock = (self.sites["decision"] == "lock").to_numpy()
        self.exclude = (self.sites["decision"] == "exclude").to_numpy()

    # ------------------------------------------------------------------------------------------------------------
    def sector_mask(self, selected: np.ndarray) -> np.ndarray:
        """Boolean per candidate sector: the sectors of the selected sites."""
        return np.asarray(selected, bool)[self.sector_site]

    def plan_links(self, selected: np.ndarray):
        """Full-cut-off links of (at least) the selected sites, over the whole candidate table."""
        need = np.asarray(selected, bool) & ~self._plan_done
        if need.any():
            t0 = time.perf_counter()
            idx = np.flatnonzero(need[self.sector_site])
            self.say(f"full engine links for {int(need.sum())} site(s) ...")
            self._plan_parts.append(subset_links(self.area, self.candidates, idx, self.config, self.sectors,
                                                 self._served))
            self._plan_done |= need
            self._plan_links = None
            self.plan_links_s += time.perf_counter() - t0
        if self._plan_links is None:
            self._plan_links = _merge_links(self._plan_parts, self.area.shape, self.sectors, self.config)
        return self._plan_links

    def aggregate(self, selected: np.ndarray, full: bool = True):
        """The engine's CoverageResult with exactly the selected sites on air (``full=False``: only ``covered``)."""
        from qamtu.engine import aggregate

        links = self.plan_links(selected)
        return aggregate(self.area, links, self.config, active=self.sector_mask(selected), full=full)

    def evaluate(self, selected: np.ndarray) -> np.ndarray:
        """Covered pixels (bool over the mask pixels) with exactly the selected sites on air.

        ``aggregate(selected, full=False).covered``, from an :class:`~qamtu.engine.aggregate.IncrementalAggregator`
        kept while the plan's links stay the same (equal to a fresh aggregate; only the pixels whose links changed
        state are recomputed: the drop pass asks for many plans that differ by a few sites).
        """
        from qamtu.engine.aggregate import IncrementalAggregator

        links = self.plan_links(selected)
        if self._checker is None or self._checker[0] is not links:
            self._checker = (links, IncrementalAggregator(self.area, links, self.config, full=False, keep=2))
        res = self._checker[1].evaluate(self.sector_mask(selected))
        return np.asarray(res.covered).ravel()[self.mask_flat]

    def fresh_covered(self, selected: np.ndarray) -> np.ndarray:
        """Covered pixels (bool over the mask pixels) of a fresh evaluation of the selected sites, as ``qamtu
        coverage`` makes it on the plan's sectors: links of those sectors alone with the engine's own relevance rule
        and served areas (``config`` as given), then :func:`~qamtu.engine.aggregate` (``full=False``)."""
        from qamtu.engine import aggregate, compute_links

        table = self.candidates.loc[self.sector_mask(selected)].reset_index(drop=True)
        links = compute_links(self.area, table, self.config)
        res = aggregate(self.area, links, self.config, full=False)
        return np.asarray(res.covered).ravel()[self.mask_flat]

    def release_checks(self) -> None:
        """Drop the kept evaluator of :meth:`evaluate` (its memory) once the plan is made."""
        self._checker = None

    def relation(self, on_air: np.ndarray | None) -> sp.csr_matrix:
        """``(n_mask_pixels, n_sites)`` bool: site covers pixel with ``on_air`` (or only locked sites) on air."""
        on = self.lock.copy() if on_air is None else (np.asarray(on_air, bool) | self.lock)
        n_pix = self.mask_flat.size
        if on.any():
            links = self.plan_links(on)
            act = self.sector_mask(on)[links.sector]
            rows = self.pixel_row[links.pixel]
            ok = act & (rows >= 0)
            total = np.bincount(rows[ok], weights=links.interference_mw[ok].astype(np.float64), minlength=n_pix)
        else:
            total = np.zeros(n_pix)
        i_tot = total[self.cov_row]
        on_link = on[self.cov_site]
        interference = np.where(on_link, i_tot, i_tot + self.cov_own_mw) - self.cov_intf_mw
        interference = np.maximum(interference, 0.0)
        from scipy.special import ndtr

        need_db = self.sinr_min_db + 10.0 * np.log10(self.config.cell_load * interference + self.noise_mw)
        s_los, s_nlos = self.cov_sf
        p_sinr = (self.cov_p_los * ndtr((self.cov_nlos_db + self.cov_gap_db - need_db) / np.maximum(s_los, 1e-6))
                  + (1.0 - self.cov_p_los) * ndtr((self.cov_nlos_db - need_db) / np.maximum(s_nlos, 1e-6)))
        good = p_sinr >= self.config.coverage_level - 1e-9
        rel = sp.csr_matrix((np.ones(int(good.sum()), bool), (self.cov_row[good], self.cov_site[good])),
                            shape=(n_pix, self.n_sites))
        rel.sum_duplicates()
        rel.data[:] = True
        return rel
