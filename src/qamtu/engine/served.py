"""Where each sector's own users are: its served area, its data beams pointed at them, and their uplink interference.

Two interference terms of the link model depend on where a neighbour's users are, not only on the neighbour's
antenna pattern:

* **downlink**: a neighbour's traffic beams point at its own scheduled users, so the gain it puts toward a victim
  pixel is the people-weighted mean, over the neighbour's served area, of the gain of a beam steered at each
  served user evaluated toward the victim (:meth:`qamtu.radio.antenna.MassiveMimoPanel.served_beam_mix`), not
  the antenna model's mean over beams spread uniformly across its scan range. :meth:`ServedModel.aimed_factor`
  is the ratio of the two per link; :func:`qamtu.engine.links.compute_links` multiplies each link's
  ``interference_mw`` by it (``EngineConfig.interference_beams = "served"``; "uniform" keeps the antenna model's
  mean). Passive antennas (one beam) get a factor 1.
* **uplink**: the interference at a sector is the sum over the other cells of their scheduled UE (present with
  the cell load), at a position drawn over the cell's served area (people-weighted), transmitting with its
  open-loop power control toward its own cell (TS 38.213 7.1.1) and received with the victim sector's own
  beams (pointed at the victim's users, by reciprocity the aimed gain above):
  :meth:`ServedModel.ul_interference_mw` (mW per RE at full load; the aggregation scales it by the load).

The served areas are those of the sectors ON AIR. Once per (area, sector table, configuration)
(:func:`served_model`) a coarse grid (:data:`GRID_M`, blocks of pixels summing their people) gets the links of
each point to its :data:`K_STORE` nearest sectors (outdoor user, LOS-averaged mean, no terrain). For a set of
sectors on air (:meth:`ServedModel.state`; every sector by default) a point is served by the strongest mean
SS-RSRP among its first :data:`K_SECTORS` active sectors (by distance), which are also its uplink victims;
sectors that serve nobody with people are weighted by area; sectors that serve no point keep the uniform mean
(factor 1). A state costs an argmax over the stored links, the beam mixes of the sectors whose served area is
new (cached per (sector, served area)), and the uplink pair expectations of the points whose server changed
(cached per pair). A fresh model of the table restricted to the active rows has the same served areas, mixes and
uplink interference wherever at least ``K_SECTORS`` of a point's ``K_STORE`` nearest sectors are on air
(otherwise the state sees fewer of its farther sectors). :func:`qamtu.engine.aggregate.aggregate` with
``active`` uses the state of the active sectors (the planner's checks, the schedule's gates).

Uplink expectation per (served point p of cell k, victim sector v): the UE's SS-RSRP from k, ``R_k``, and the
victim's level ``R_v`` are LOS/NLOS mixtures of log-normals (one draw per site, shared by a site's sectors). The
UE is k's, so it does not camp on v: the expectation is conditioned on ``R_v < R_k`` (pairwise; the other sites
are not conditioned on). ``E[P_UE(R_k) G_v | R_v < R_k]`` is integrated on a grid over ``R_k`` with the
truncated log-normal moment of ``R_v`` in closed form; a co-sited victim shares the draw (no condition: the
serving sector is the site's strongest). UEs are outdoor users at ``ue_height_m``. Victims beyond a point's
``K_SECTORS`` nearest sectors are neglected. :func:`qamtu.engine.montecarlo.ul_interference_monte_carlo` is the
brute-force reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

#: coarse grid of the served areas, m (blocks of ``round(GRID_M / resolution)`` pixels)
GRID_M = 100.0
#: sectors evaluated around each coarse point (serving choice and uplink victims): the first K_SECTORS on air
#: among its K_STORE nearest
K_SECTORS = 48
K_STORE = 96
#: integration grid over the serving level: this many points per LOS state, over +-Z_SPAN standard deviations
N_Z = 12
Z_SPAN = 6.0
BETA = math.log(10.0) / 10.0
#: coarse links evaluated per block when a model is built
EVAL_PAIRS = 1 << 18
#: memory for the beam mixes of the served areas met (per model; least recently computed dropped first)
MIX_CACHE_BYTES = 48 * 2**20

_CACHE: dict = {}


def _ul_key(config):
    return (config.ue_tx_power_dbm, config.ul_p0_dbm, config.ul_alpha, config.bandwidth_hz, config.scs_hz)


def _ul_power_terms(config):
    """(P_CMAX, P0) per RE, dBm: the UE's open-loop power control over the whole carrier (TS 38.213 7.1.1)."""
    from qamtu.radio import nr

    n_sc = 12 * int(nr.n_prb(config.bandwidth_hz, config.scs_hz))
    return (config.ue_tx_power_dbm - 10.0 * math.log10(n_sc),
            config.ul_p0_dbm + 10.0 * math.log10(config.scs_hz / 15e3) - 10.0 * math.log10(12.0))


@dataclass
class ServedModel:
    """The coarse served-area grid of a sector table on an area: its points and their links to the nearby sectors.

    The served areas, beam mixes and uplink interference of any set of sectors on air are a :class:`ServedState`
    (:meth:`state`); the model's own (every sector on air) is ``state()``, and the attributes below that name a
    state's quantity (``point_sector``, ``aimed_factor``, ``ul_interference_mw`` ...) are those of ``state()``.

    Attributes
    ----------
    point_xy : float array (n_points, 2)
        Coarse points (block centres of the mask pixels), m.
    point_env : int array (n_points,)
    point_people, point_cnt : float arrays (n_points,)
        People and mask pixels of each point's block.
    near : int array (n_points, k)
        The ``k`` = min(:data:`K_STORE`, n_sectors) nearest sectors of each point, by (distance, index).
    pair_* : float arrays (n_points * k,)
        The coarse links of ``near`` (row-major): mean SS-RSRP, LOS probability, LOS gain, shadowing sigmas and the
        uniform-beam interference power (mW per RE; no aimed factor).
    """

    point_xy: np.ndarray
    point_env: np.ndarray
    point_people: np.ndarray
    point_cnt: np.ndarray
    near: np.ndarray
    pair_rsrp: np.ndarray
    pair_p_los: np.ndarray
    pair_los_gain: np.ndarray
    pair_sf_los: np.ndarray
    pair_sf_nlos: np.ndarray
    pair_intf: np.ndarray
    models: list
    panel: np.ndarray
    sectors: object = field(repr=False)
    config: object = field(repr=False)
    _states: dict = field(default_factory=dict, repr=False)
    _mixes: dict = field(default_factory=dict, repr=False)
    _ul_cache: dict = field(default_factory=dict, repr=False)
    _tables: tuple | None = field(default=None, repr=False)
    _mix_bytes: int = field(default=0, repr=False)

    def __post_init__(self):
        n_pts = self.point_xy.shape[0]
        self.point_key = np.random.default_rng(20261202).random(n_pts) + 0.5  # served-area signatures
        self.site = np.unique(np.asarray(self.sectors.site_id), return_inverse=True)[1].astype(np.int64)
        from qamtu.engine.linkbatch import power_per_re_dbm

        self.p_re = np.asarray(power_per_re_dbm(self.sectors.tx_power_dbm, self.config), float)
        n_pairs = self.pair_rsrp.size
        self._rv = np.ones(n_pairs, np.float32)  # per pair: the victim's aimed factor toward the point ...
        self._rv_sig = np.zeros(n_pairs)  # ... for the victim's served area with this signature (0: uniform)

    def pair_values(self, idx):
        """(LOS median, NLOS median, P(LOS), LOS sigma, NLOS sigma) of the coarse links ``idx`` (float64)."""
        rsrp, p, g = (np.asarray(a[idx], float) for a in (self.pair_rsrp, self.pair_p_los, self.pair_los_gain))
        m_l, m_n = _state_medians(rsrp, p, g)
        return m_l, m_n, p, np.asarray(self.pair_sf_los[idx], float), np.asarray(self.pair_sf_nlos[idx], float)

    # ------------------------------------------------------------------ states
    def state(self, active=None) -> "ServedState":
        """The served areas, beam mixes and uplink interference with the sectors ``active`` on air (default all).

        A point is served by the strongest mean SS-RSRP among the first :data:`K_SECTORS` active sectors of its
        ``near`` row, which are also its uplink victims: for a sector table restricted to the active rows, a
        fresh model finds the same sectors wherever at least ``K_SECTORS`` of them are among the ``K_STORE``
        nearest of the whole table (the served areas, mixes and UL interference are then the same numbers). The
        last few states are cached; beam mixes are cached per (sector, served area).
        """
        n_sec = len(self.sectors)
        act = np.ones(n_sec, bool) if active is None else np.ascontiguousarray(active, dtype=bool)
        key = act.tobytes()
        st = self._states.pop(key, None)
        if st is None:
            st = ServedState(self, act)
        self._states[key] = st
        while len(self._states) > 4:
            del self._states[next(iter(self._states))]
        return st

    def subset(self, sector_idx, sectors) -> "ServedState":
        """The full table's beam mixes (``state()``) for the sector table ``sectors`` = rows ``sector_idx`` (for
        the links of a part of the table: the planner's plan parts)."""
        return self.state().restrict(sector_idx, sectors)

    @property
    def point_sector(self):
        return self.state().point_sector

    @property
    def point_weight(self):
        return self.state().point_weight

    @property
    def has_mix(self) -> bool:
        return bool(self.models) and bool((self.panel >= 0).any())

    def aimed_factor(self, dx_m, dy_m, sector_idx, dz_m=None) -> np.ndarray:
        return self.state().aimed_factor(dx_m, dy_m, sector_idx, dz_m)

    def ul_interference_mw(self, config=None) -> np.ndarray:
        return self.state().ul_interference_mw(config)

    def ul_pairs(self, config):
        return self.state().ul_pairs(config)

    def model_tables(self):
        if self._tables is None and self.models:
            tabs = [m.mix_tables() for m in self.models]
            nb = max(t["vertical"].shape[0] for t in tabs)
            nt = tabs[0]["theta"].size
            vert = np.zeros((len(tabs), nb, nt))
            for i, t in enumerate(tabs):
                vert[i, :t["vertical"].shape[0]] = t["vertical"]
            self._tables = (vert, np.stack([t["uniform"] for t in tabs]), np.stack([t["uniform_u"] for t in tabs]))
        return self._tables

    def mixes_for(self, secs, sigs, point_sector, point_weight):
        """The beam mix of each sector ``secs[i]`` serving the points ``point_sector == secs[i]`` (signature
        ``sigs[i]``): ``(panel, bins, h)`` or None (cached per (sector, signature))."""
        out = [None] * len(secs)
        todo = []
        for i, (s, g) in enumerate(zip(secs, sigs)):
            if self.panel[s] < 0 or g == 0.0:
                continue
            k = (int(s), float(g))
            if k in self._mixes:
                out[i] = self._mixes[k]
            else:
                todo.append(i)
        if todo:
            ts = np.asarray([secs[i] for i in todo], np.int64)
            pick = np.zeros(len(self.sectors), bool)
            pick[ts] = True
            pts = np.flatnonzero((point_sector >= 0) & pick[np.maximum(point_sector, 0)])
            pts = pts[np.argsort(point_sector[pts], kind="stable")]  # per sector, ascending point index
            ps = point_sector[pts]
            th, ph = _local_angles(self.point_xy[pts, 0] - self.sectors.x_m[ps],
                                   self.point_xy[pts, 1] - self.sectors.y_m[ps], ps, self.sectors, self.config)
            for i in todo:
                s = int(secs[i])
                a, e = np.searchsorted(ps, s), np.searchsorted(ps, s, side="right")
                mix = self.models[self.panel[s]].served_beam_mix(th[a:e], ph[a:e], point_weight[pts[a:e]])
                val = None if mix is None else (int(self.panel[s]), np.asarray(mix[0], np.int64),
                                                np.asarray(mix[1], float))
                self._mixes[(s, float(sigs[i]))] = val
                self._mix_bytes += 0 if val is None else val[2].nbytes
                out[i] = val
            while self._mix_bytes > MIX_CACHE_BYTES and len(self._mixes) > len(todo):
                old = self._mixes.pop(next(iter(self._mixes)))
                self._mix_bytes -= 0 if old is None else old[2].nbytes
        return out


class ServedState:
    """The served areas of the sectors on air (``active``) of a :class:`ServedModel`, their beam mixes and the
    uplink interference at each sector.

    Attributes
    ----------
    point_sector : int array (n_points,)
        Serving sector (strongest mean SS-RSRP among the point's evaluated active sectors), -1 where none.
    point_weight : float array (n_points,)
        Share of its serving sector's people (or area, for a sector serving no people) at the point.
    signature : float array (n_sectors,)
        Per sector, a signature of its served area (0: none); equal signatures, equal beam mixes.
    mixes : list (n_sectors,) of ``(panel, bins, h)`` or None (uniform beams, factor 1)
    """

    def __init__(self, model: ServedModel | None, active: np.ndarray, *, sectors=None, mixes=None):
        self.model, self.active = model, active
        self.sectors = model.sectors if sectors is None else sectors
        self.config = model.config if model is not None else None
        self._ul: dict = {}
        self._flat = None
        if mixes is not None:  # a restriction (mixes only)
            self.mixes = mixes
            return
        m = model
        n_sec = len(m.sectors)
        n_pts, k = m.near.shape
        act = active[m.near] if n_pts else np.zeros((0, 0), bool)
        use = act & (np.cumsum(act, axis=1) <= K_SECTORS)
        r = np.where(use, m.pair_rsrp.reshape(n_pts, k).astype(float), -np.inf)
        best = r.max(axis=1) if k else np.full(n_pts, -np.inf)
        idx = np.where(use & (r == best[:, None]), m.near, np.iinfo(np.int64).max)
        col = np.argmin(idx, axis=1) if k else np.zeros(n_pts, np.int64)  # ties: the lower sector index
        has = use.any(axis=1) if k else np.zeros(n_pts, bool)
        self.use = use
        self.serving_col = np.where(has, col, -1)
        ps = np.where(has, m.near[np.arange(n_pts), col] if k else -1, -1).astype(np.int64)
        self.point_sector = ps
        sel = ps >= 0
        pop_sec = np.bincount(ps[sel], weights=m.point_people[sel], minlength=n_sec)
        cnt_sec = np.bincount(ps[sel], weights=m.point_cnt[sel], minlength=n_sec)
        use_pop = pop_sec[np.maximum(ps, 0)] > 0
        w = np.where(use_pop, m.point_people, m.point_cnt)
        tot = np.where(use_pop, pop_sec[np.maximum(ps, 0)], cnt_sec[np.maximum(ps, 0)])
        self.point_weight = np.where(sel, w / np.maximum(tot, 1e-300), 0.0)
        self.signature = np.bincount(ps[sel], weights=m.point_key[sel], minlength=n_sec)
        self.mixes = [None] * n_sec
        if m.has_mix:
            secs = np.flatnonzero(self.signature != 0.0)
            for s, mix in zip(secs, m.mixes_for(secs, self.signature[secs], ps, self.point_weight)):
                self.mixes[s] = mix
        #: per sector, the signature of its beam mix (0: none, uniform beams)
        self.mix_signature = np.where([x is not None for x in self.mixes], self.signature, 0.0)

    @property
    def has_mix(self) -> bool:
        return any(x is not None for x in self.mixes)

    def restrict(self, sector_idx, sectors) -> "ServedState":
        """This state's beam mixes for the sector table ``sectors`` = rows ``sector_idx`` (no uplink)."""
        idx = np.asarray(sector_idx, dtype=np.int64)
        st = ServedState(self.model, self.active[idx], sectors=sectors, mixes=[self.mixes[i] for i in idx])
        st.config = self.config
        return st

    # ------------------------------------------------------------------ downlink
    def aimed_factor(self, dx_m, dy_m, sector_idx, dz_m=None) -> np.ndarray:
        """Per link, aimed interference gain / the antenna model's uniform mean (linear; 1 without a mix)."""
        n = np.asarray(dx_m).shape[0]
        out = np.ones(n)
        if n == 0 or not self.has_mix:
            return out
        sec = np.asarray(sector_idx, dtype=np.int64)
        has = np.array([x is not None for x in self.mixes], bool)
        sel = np.flatnonzero(has[sec])
        if sel.size == 0:
            return out
        th, ph = _local_angles(np.asarray(dx_m, float)[sel], np.asarray(dy_m, float)[sel], sec[sel], self.sectors,
                               self.config, None if dz_m is None else np.asarray(dz_m, float)[sel])
        out[sel] = self.ratio_at_angles(th, ph, sec[sel])
        return out

    def ratio_at_angles(self, theta_deg, phi_deg, sec) -> np.ndarray:
        """The aimed factor toward local angles (``theta_deg``, ``phi_deg``) of the sectors ``sec``."""
        if self._flat is None:
            self._flat = _flatten(self.mixes)
        ptr, bins, h, model = self._flat
        if not self.model.models or bins.size == 0:
            return np.ones(np.asarray(sec).shape[0])
        u = np.sin(np.radians(theta_deg)) * np.sin(np.radians(phi_deg))
        vert, uni_v, uni_u = self.model.model_tables()
        return _aimed_ratio(np.asarray(theta_deg, float), u, np.asarray(sec, np.int64), ptr, bins, h, model, vert,
                            uni_v, uni_u, 0.05, self.model.models[0].MIX_U_STEP)

    # ------------------------------------------------------------------ uplink
    def ul_interference_mw(self, config=None) -> np.ndarray:
        """Expected uplink interference per RE at each sector's receiver at full load, mW (n_sectors,).

        Multiply by the cell load. ``config`` gives the UE power control (``ue_tx_power_dbm``, ``ul_p0_dbm``,
        ``ul_alpha``) and the carrier; default the configuration the model was built with.
        """
        config = self.config if config is None else config
        key = _ul_key(config)
        if key not in self._ul:
            n_sec = len(self.sectors)
            j, v, pt = self._ul_pair_index()
            if j.size == 0:
                self._ul[key] = np.zeros(n_sec)
            else:
                e = self._pair_expectation(config, j, pt)
                r = self._victim_ratio(j, v, pt)
                self._ul[key] = np.bincount(v, weights=self.point_weight[pt] * e * r, minlength=n_sec)
        return self._ul[key]

    def _ul_pair_index(self):
        """The uplink pairs: (pair index, victim, point), ordered by point (each point's active evaluated sectors
        but its server)."""
        m = self.model
        k = m.near.shape[1]
        if k == 0:
            e = np.empty(0, np.int64)
            return e, e, e
        serv = np.zeros_like(self.use)
        has = self.serving_col >= 0
        serv[np.flatnonzero(has), self.serving_col[has]] = True
        j = np.flatnonzero((self.use & ~serv).ravel())
        return j, m.near.ravel()[j], j // k

    def _pair_expectation(self, config, j, pt):
        """E[P_UE 10^((R_v + off)/10) | R_v < R_k] with uniform victim beams, per pair ``j`` (cached per pair for
        its server)."""
        m = self.model
        key = _ul_key(config)
        cache = m._ul_cache.get(key)
        if cache is None:
            cache = m._ul_cache[key] = (np.zeros(m.pair_rsrp.size, np.float32),
                                        np.full(m.pair_rsrp.size, -2, np.int32))
        e_all, k_all = cache
        kserv = self.point_sector[pt]
        need = k_all[j] != kserv
        if need.any():
            jj, pp, ks = j[need], pt[need], kserv[need]
            sr = pp * m.near.shape[1] + self.serving_col[pp]
            vic = m.near.ravel()[jj]
            pmax_re, p0_re = _ul_power_terms(config)
            with np.errstate(divide="ignore"):
                off = (10.0 * np.log10(m.pair_intf[jj].astype(float)) - m.pair_rsrp[jj].astype(float)
                       - m.p_re[vic])
            e_all[jj] = _ul_pair_expectation(
                *m.pair_values(sr), m.p_re[ks], *m.pair_values(jj), off, m.site[vic] == m.site[ks],
                m.pair_rsrp[jj].astype(float) - m.pair_rsrp[sr].astype(float), float(pmax_re), float(p0_re),
                float(config.ul_alpha))
            k_all[jj] = ks
        return e_all[j].astype(float)

    def _victim_ratio(self, j, v, pt):
        """Per pair, the victim's aimed factor toward the point (its own beams, at its own users: reciprocity),
        cached per pair for the victim's served area."""
        m = self.model
        if not m.has_mix:
            return np.ones(j.size)
        sig = self.mix_signature[v]
        need = m._rv_sig[j] != sig
        if need.any():
            jj, vv, pp = j[need], v[need], pt[need]
            th, ph = _local_angles(m.point_xy[pp, 0] - m.sectors.x_m[vv], m.point_xy[pp, 1] - m.sectors.y_m[vv], vv,
                                   m.sectors, m.config)
            m._rv[jj] = self.ratio_at_angles(th, ph, vv)
            m._rv_sig[jj] = sig[need]
        return m._rv[j].astype(float)

    def ul_pairs(self, config):
        """The (served point, victim sector) pairs of the uplink sum and their distribution parameters.

        Returns None when there is no pair, else a dict with ``point``, ``victim``, ``serving``, ``weight`` (the
        point's share of its cell), ``evaluated`` (each point's active evaluated sectors, (n_points, k)) and
        ``args`` (inputs of :func:`_ul_pair_expectation`, the victim's aimed beams in ``off``), ``p_ue_max_re``,
        ``p0_re`` (dBm per RE).
        """
        m = self.model
        j, v, pt = self._ul_pair_index()
        if j.size == 0:
            return None
        ks = self.point_sector[pt]
        sr = pt * m.near.shape[1] + self.serving_col[pt]
        pmax_re, p0_re = _ul_power_terms(config)
        off = (10.0 * np.log10(m.pair_intf[j].astype(float) * self._victim_ratio(j, v, pt))
               - m.pair_rsrp[j].astype(float) - m.p_re[v])
        args = (*m.pair_values(sr), m.p_re[ks], *m.pair_values(j), off, m.site[v] == m.site[ks],
                m.pair_rsrp[j].astype(float) - m.pair_rsrp[sr].astype(float), float(pmax_re), float(p0_re),
                float(config.ul_alpha))
        n_pts, k = m.near.shape
        counts = self.use.sum(axis=1)
        evaluated = (m.near[self.use].reshape(n_pts, -1) if n_pts and (counts == counts[0]).all()
                     else None)
        return {"point": pt, "victim": v, "serving": ks, "weight": self.point_weight[pt], "args": args,
                "evaluated": evaluated, "p_ue_max_re": pmax_re, "p0_re": p0_re}


def _flatten(mixes):
    """(ptr, bins, h, panel) of a list of per-sector mixes for :func:`_aimed_ratio`."""
    n = len(mixes)
    ptr = np.zeros(n + 1, np.int64)
    model = np.full(n, -1, np.int64)
    bins, rows = [], []
    for s, mix in enumerate(mixes):
        if mix is not None:
            model[s] = mix[0]
            bins.append(mix[1])
            rows.append(mix[2])
        ptr[s + 1] = ptr[s] + (0 if mix is None else mix[1].size)
    if not rows:
        return ptr, np.empty(0, np.int64), np.zeros((0, 2)), model
    return ptr, np.concatenate(bins), np.concatenate(rows), model


def _evaluator(sectors, config, max_dist_m):
    """Link evaluation of the coarse pass (``f(dx, dy, sec, env) -> batch``): the engine's tabulated fast path
    when ``config.fast`` (as compute_links, tables up to ``max_dist_m``), else the exact one; no terrain, no
    relevance floor."""
    from qamtu.engine.linkbatch import _LinkBatch, _prime_cache, evaluate_link_batch

    cache: dict = {}
    _prime_cache(cache, sectors, config)
    if config.fast:
        from qamtu.engine._fast import FastLinks

        fast = FastLinks(sectors, config, cache, float(max_dist_m) + 1.0)
        if fast.ok:
            return lambda dx, dy, sec, env: _LinkBatch(*fast(dx, dy, sec, env, -1e9))
    return lambda dx, dy, sec, env: evaluate_link_batch(dx, dy, sec, env, sectors, config, floor_dbm=-1e9,
                                                        _cache=cache)


def _state_medians(rsrp, p_los, los_gain):
    """LOS and NLOS median levels (dB) from the LOS-averaged mean ``rsrp`` (as the distribution kernel does)."""
    p = np.clip(p_los, 0.0, 1.0)
    m_n = rsrp - 10.0 * np.log10(p * 10.0 ** (los_gain / 10.0) + 1.0 - p)
    return m_n + los_gain, m_n


def _local_angles(dx, dy, sec, sectors, config, dz=None):
    """Local zenith and azimuth (deg) of the UE seen from the sector's antenna (as links.beam_gains)."""
    from qamtu.engine import physics
    from qamtu.radio import antenna as _ant

    h_bs = sectors.height_m[sec]
    d2d, _d3d, theta, _phi = physics.link_geometry(dx, dy, h_bs, config.ue_height_m, sectors.azimuth_deg[sec])
    if dz is not None:
        theta = 90.0 + np.degrees(np.arctan2(h_bs + dz - config.ue_height_m, d2d))
    bearing = np.degrees(np.arctan2(dx, dy))
    th, ph = _ant.local_angles(bearing, theta, sectors.azimuth_deg[sec], sectors.mechanical_tilt_deg[sec],
                               validate=False)
    return np.asarray(th, float), np.asarray(ph, float)


def _nearest_sectors(sectors, xy, k=None):
    """Indices of the ``k`` nearest sectors of each point (n, k), ordered by (distance, sector index)."""
    from scipy.spatial import cKDTree

    n_sec = len(sectors)
    k = min(K_SECTORS if k is None else int(k), n_sec)
    tree = cKDTree(np.column_stack([sectors.x_m, sectors.y_m]))
    _, idx = tree.query(xy, k=k)
    idx = np.asarray(idx, dtype=np.int64).reshape(len(xy), k)
    d2 = (xy[:, 0:1] - sectors.x_m[idx]) ** 2 + (xy[:, 1:2] - sectors.y_m[idx]) ** 2
    order = np.lexsort((idx, d2), axis=1)
    return np.take_along_axis(idx, order, axis=1)


def coarse_points(area, grid_m: float = GRID_M):
    """Blocks of about ``grid_m`` of the mask: centre (mean of the pixel centres), env class (of the block's first
    pixel), people and pixel count."""
    mask = np.asarray(area.mask, dtype=bool)
    res = float(getattr(area, "resolution_m", grid_m) or grid_m)
    stride = max(1, int(round(grid_m / res)))
    r, c = np.nonzero(mask)
    if r.size == 0:
        return np.empty((0, 2)), np.empty(0, np.int64), np.empty(0), np.empty(0)
    x, y = area.pixel_centres()
    x = np.asarray(x, float)[r, c]
    y = np.asarray(y, float)[r, c]
    cols_b = -(-mask.shape[1] // stride)
    block = (r // stride) * cols_b + (c // stride)
    _, first, inv = np.unique(block, return_index=True, return_inverse=True)
    cnt = np.bincount(inv).astype(float)
    pop = np.where(np.isfinite(np.asarray(area.population, float)[r, c]), np.asarray(area.population, float)[r, c],
                   0.0)
    people = np.bincount(inv, weights=pop)
    xy = np.column_stack([np.bincount(inv, weights=x) / cnt, np.bincount(inv, weights=y) / cnt])
    env = np.asarray(area.env_class)[r, c][first].astype(np.int64)
    return xy, env, people, cnt


def served_model(area, sectors, config) -> ServedModel | None:
    """The :class:`ServedModel` of a sector table on an area (cached per area, sector table and configuration)."""
    n_sec = len(sectors)
    if n_sec == 0:
        return None
    key = (id(area), id(sectors), n_sec, repr(config), float(np.sum(sectors.x_m)), float(np.sum(sectors.y_m)))
    if key in _CACHE:
        return _CACHE[key]
    xy, env, people, cnt = coarse_points(area)
    n_pts = xy.shape[0]
    k = min(K_STORE, n_sec) if n_pts else 0
    near = np.zeros((n_pts, k), np.int64)
    vals = {name: np.zeros(n_pts * k, np.float32) for name in ("rsrp", "p_los", "los_gain", "sf_los", "sf_nlos",
                                                                 "intf")}
    if n_pts:
        near = _nearest_sectors(sectors, xy, k)
        far = np.sqrt(np.max((xy[:, 0] - sectors.x_m[near[:, -1]]) ** 2 + (xy[:, 1] - sectors.y_m[near[:, -1]]) ** 2))
        evaluate = _evaluator(sectors, config, far)
        step = max(1, EVAL_PAIRS // k)
        for p0 in range(0, n_pts, step):  # in blocks of points (bounded temporaries)
            pt = np.repeat(np.arange(p0, min(n_pts, p0 + step)), k)
            sec = near[p0:p0 + step].ravel()
            b = evaluate(xy[pt, 0] - sectors.x_m[sec], xy[pt, 1] - sectors.y_m[sec], sec, env[pt])
            for name, attr in (("rsrp", "rsrp_dbm"), ("p_los", "p_los"), ("los_gain", "los_gain_db"),
                               ("sf_los", "sf_los_db"), ("sf_nlos", "sf_nlos_db"), ("intf", "interference_mw")):
                vals[name][p0 * k:p0 * k + pt.size] = getattr(b, attr)  # (float32, as the fine links)
    codes, models = sectors.antenna_groups()
    panel_ids: dict = {}
    panels: list = []
    for g, m in enumerate(models):
        if config.interference_beams == "served" and hasattr(m, "mix_tables"):
            panel_ids[g] = len(panels)
            panels.append(m)
    panel = np.array([panel_ids.get(int(c), -1) for c in codes], np.int64)
    out = ServedModel(point_xy=xy, point_env=env, point_people=people, point_cnt=cnt, near=near,
                      pair_rsrp=vals["rsrp"], pair_p_los=vals["p_los"], pair_los_gain=vals["los_gain"],
                      pair_sf_los=vals["sf_los"], pair_sf_nlos=vals["sf_nlos"], pair_intf=vals["intf"],
                      models=panels, panel=panel, sectors=sectors, config=config)
    if len(_CACHE) >= 4:  # (a model holds ~50 bytes per coarse link)
        del _CACHE[next(iter(_CACHE))]
    _CACHE[key] = out
    return out


@njit(cache=True, nogil=True)
def _aimed_ratio(th, u, sec, ptr, bins, h, model, vert, uni_v, uni_u, th_step, u_step):
    """Per link: sum_b V_b(theta) h_b(u) over the sector's mix rows, divided by the uniform mean's product.

    Serial (``nogil``): compute_links calls it from its tile threads."""
    n = th.shape[0]
    out = np.ones(n)
    nt = vert.shape[2]
    nu = h.shape[1]
    for i in range(n):
        s = sec[i]
        m = model[s]
        if m < 0 or ptr[s + 1] == ptr[s]:
            continue
        ft = min(max(th[i] / th_step, 0.0), nt - 1.0)
        it = min(int(ft), nt - 2)
        at = ft - it
        fu = min(max((u[i] + 1.0) / u_step, 0.0), nu - 1.0)
        iu = min(int(fu), nu - 2)
        au = fu - iu
        g = 0.0
        for r in range(ptr[s], ptr[s + 1]):
            b = bins[r]
            v = vert[m, b, it] * (1.0 - at) + vert[m, b, it + 1] * at
            g += v * (h[r, iu] * (1.0 - au) + h[r, iu + 1] * au)
        base = (uni_v[m, it] * (1.0 - at) + uni_v[m, it + 1] * at) * (uni_u[m, iu] * (1.0 - au)
                                                                      + uni_u[m, iu + 1] * au)
        if base > 0.0 and g > 0.0:
            out[i] = g / base
    return out


@njit(cache=True, nogil=True)
def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@njit(cache=True, nogil=True, parallel=True)
def _ul_pair_expectation(ml_k, mn_k, p_k, sl_k, sn_k, pref_k, ml_v, mn_v, p_v, sl_v, sn_v, off, cosite, delta,
                         pmax_re, p0_re, alpha):
    """Per pair: E[P_UE(R_k) 10^((R_v + off)/10) | R_v < R_k] in mW (module docstring).

    ``R_k`` integrated on ``N_Z`` midpoints over +-``Z_SPAN`` sigmas per LOS state (normal weights normalised);
    given ``R_k = x`` the victim's truncated moment ``E[10^(R_v/10); R_v < x]`` and ``P(R_v < x)`` are closed
    form. Co-sited: ``R_v = R_k + delta``, no condition.
    """
    n = ml_k.shape[0]
    out = np.zeros(n)
    zs = np.empty(N_Z)
    ws = np.empty(N_Z)
    tot = 0.0
    for q in range(N_Z):
        z = -Z_SPAN + (q + 0.5) * 2.0 * Z_SPAN / N_Z
        zs[q] = z
        ws[q] = math.exp(-0.5 * z * z)
        tot += ws[q]
    for q in range(N_Z):
        ws[q] /= tot
    for i in prange(n):
        num = 0.0
        den = 0.0
        for st in range(2):
            pk = p_k[i] if st == 0 else 1.0 - p_k[i]
            if pk <= 0.0:
                continue
            mk = ml_k[i] if st == 0 else mn_k[i]
            sk = sl_k[i] if st == 0 else sn_k[i]
            for q in range(N_Z):
                x = mk + sk * zs[q]
                p_ue = min(pmax_re, p0_re + alpha * (pref_k[i] - x))
                wq = pk * ws[q]
                if cosite[i]:
                    num += wq * 10.0 ** ((p_ue + x + delta[i] + off[i]) / 10.0)
                    den += wq
                    continue
                t = 0.0
                f = 0.0
                for sv in range(2):
                    pv = p_v[i] if sv == 0 else 1.0 - p_v[i]
                    if pv <= 0.0:
                        continue
                    mv = ml_v[i] if sv == 0 else mn_v[i]
                    sv_ = sl_v[i] if sv == 0 else sn_v[i]
                    zv = (x - mv) / sv_
                    f += pv * _phi(zv)
                    t += pv * math.exp(BETA * mv + 0.5 * (BETA * sv_) ** 2) * _phi(zv - BETA * sv_)
                num += wq * 10.0 ** ((p_ue + off[i]) / 10.0) * t
                den += wq * f
        out[i] = num / den if den > 0.0 else 0.0
    return out
