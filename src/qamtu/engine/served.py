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

The served area is decided once per (area, sector table, configuration), on a coarse grid (:data:`GRID_M`,
blocks of pixels summing their people), from each point's ``K_SECTORS`` nearest sectors: the sector with the
strongest mean SS-RSRP serves the point (outdoor user, LOS-averaged mean, no terrain). Sectors that serve
nobody with people are weighted by area; sectors that serve no point keep the uniform mean (factor 1). The
served areas are those of the whole sector table: a subset evaluated with ``active`` keeps them (the beam
directions of the remaining sectors' users, the UL interferers' positions).

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
#: sectors evaluated around each coarse point (serving choice and uplink victims)
K_SECTORS = 48
#: integration grid over the serving level: this many points per LOS state, over +-Z_SPAN standard deviations
N_Z = 12
Z_SPAN = 6.0
BETA = math.log(10.0) / 10.0

_CACHE: dict = {}


@dataclass
class ServedModel:
    """The served areas of a sector table on an area, the beam mixes and the uplink interference.

    Attributes
    ----------
    point_xy : float array (n_points, 2)
        Coarse points (block centres of the mask pixels), m.
    point_env : int array (n_points,)
    point_weight : float array (n_points,)
        Share of its serving sector's people (or area) at the point: sums to 1 over each serving sector's points.
    point_sector : int array (n_points,)
        Serving sector (strongest mean SS-RSRP), -1 where none in range.
    mix_ptr, mix_bin, mix_h, mix_model : arrays
        Beam mixes flattened: sector s has rows ``mix_ptr[s]:mix_ptr[s+1]`` (zenith bin, horizontal factor on the
        u grid) of panel model ``mix_model[s]`` (-1: no mix, factor 1).
    """

    point_xy: np.ndarray
    point_env: np.ndarray
    point_weight: np.ndarray
    point_sector: np.ndarray
    mix_ptr: np.ndarray
    mix_bin: np.ndarray
    mix_h: np.ndarray
    mix_model: np.ndarray
    models: list
    sectors: object = field(repr=False)
    config: object = field(repr=False)
    _ul: dict = field(default_factory=dict, repr=False)

    def subset(self, sector_idx, sectors) -> "ServedModel":
        """The same served areas, beam mixes and UL interference for the sector table ``sectors`` = rows
        ``sector_idx`` of this model's table (a subset computed on its own keeps the whole table's served areas:
        the planner's candidate subsets)."""
        idx = np.asarray(sector_idx, dtype=np.int64)
        n = idx.size
        ptr = np.zeros(n + 1, np.int64)
        rows = []
        for k, s in enumerate(idx):
            a, b = self.mix_ptr[s], self.mix_ptr[s + 1]
            rows.append(np.arange(a, b))
            ptr[k + 1] = ptr[k] + (b - a)
        take = np.concatenate(rows) if rows else np.empty(0, np.int64)
        inv = np.full(len(self.sectors), -1, np.int64)
        inv[idx] = np.arange(n)
        point_sector = np.where(self.point_sector >= 0, inv[np.maximum(self.point_sector, 0)], -1)
        out = ServedModel(point_xy=self.point_xy, point_env=self.point_env,
                          point_weight=np.where(point_sector >= 0, self.point_weight, 0.0), point_sector=point_sector,
                          mix_ptr=ptr, mix_bin=self.mix_bin[take], mix_h=self.mix_h[take],
                          mix_model=self.mix_model[idx], models=self.models, sectors=sectors, config=self.config)
        for key, val in self._ul.items():
            if key != "tables":
                out._ul[key] = np.asarray(val)[idx]
        return out

    @property
    def has_mix(self) -> bool:
        return bool((self.mix_model >= 0).any())

    # ------------------------------------------------------------------ downlink
    def aimed_factor(self, dx_m, dy_m, sector_idx, dz_m=None) -> np.ndarray:
        """Per link, aimed interference gain / the antenna model's uniform mean (linear; 1 without a mix)."""
        n = np.asarray(dx_m).shape[0]
        out = np.ones(n)
        if n == 0 or not self.has_mix:
            return out
        sec = np.asarray(sector_idx, dtype=np.int64)
        sel = np.flatnonzero(self.mix_model[sec] >= 0)
        if sel.size == 0:
            return out
        th, ph = _local_angles(np.asarray(dx_m, float)[sel], np.asarray(dy_m, float)[sel], sec[sel], self.sectors,
                               self.config, None if dz_m is None else np.asarray(dz_m, float)[sel])
        u = np.sin(np.radians(th)) * np.sin(np.radians(ph))
        vert, uni_v, uni_u = self._model_tables()
        out[sel] = _aimed_ratio(th, u, sec[sel], self.mix_ptr, self.mix_bin, self.mix_h, self.mix_model, vert,
                                uni_v, uni_u, 0.05, self.models[0].MIX_U_STEP if self.models else 0.01)
        return out

    def _model_tables(self):
        if "tables" not in self._ul:
            tabs = [m.mix_tables() for m in self.models]
            nb = max(t["vertical"].shape[0] for t in tabs)
            nt = tabs[0]["theta"].size
            vert = np.zeros((len(tabs), nb, nt))
            for i, t in enumerate(tabs):
                vert[i, :t["vertical"].shape[0]] = t["vertical"]
            self._ul["tables"] = (vert, np.stack([t["uniform"] for t in tabs]),
                                  np.stack([t["uniform_u"] for t in tabs]))
        return self._ul["tables"]

    # ------------------------------------------------------------------ uplink
    def ul_interference_mw(self, config=None) -> np.ndarray:
        """Expected uplink interference per RE at each sector's receiver at full load, mW (n_sectors,).

        Multiply by the cell load. ``config`` gives the UE power control (``ue_tx_power_dbm``, ``ul_p0_dbm``,
        ``ul_alpha``) and the carrier; default the configuration the model was built with.
        """
        config = self.config if config is None else config
        key = (config.ue_tx_power_dbm, config.ul_p0_dbm, config.ul_alpha, config.bandwidth_hz, config.scs_hz)
        if key not in self._ul:
            self._ul_store(config, self.ul_pairs(config))
        return self._ul[key]

    def _ul_store(self, config, pairs) -> None:
        key = (config.ue_tx_power_dbm, config.ul_p0_dbm, config.ul_alpha, config.bandwidth_hz, config.scs_hz)
        n_sec = len(self.sectors)
        if pairs is None:
            self._ul[key] = np.zeros(n_sec)
        else:
            e = _ul_pair_expectation(*pairs["args"])
            self._ul[key] = np.bincount(pairs["victim"], weights=pairs["weight"] * e, minlength=n_sec)

    def ul_pairs(self, config, _near=None, _batch=None):
        """The (served point, victim sector) pairs of the uplink sum and their distribution parameters.

        Returns None when there is no pair, else a dict with ``point``, ``victim``, ``serving``, ``weight`` (the
        point's share of its cell) and ``args`` (inputs of the expectation kernel), and ``p_ue_max_re``,
        ``p0_re`` (dBm per RE).
        """
        from qamtu.engine.linkbatch import power_per_re_dbm
        from qamtu.radio import nr

        has = np.flatnonzero(self.point_sector >= 0)
        if has.size == 0:
            return None
        if _near is None:
            near = _nearest_sectors(self.sectors, self.point_xy[has])
            pt = np.repeat(has, near.shape[1])
            vic = near.ravel()
            dx = self.point_xy[pt, 0] - self.sectors.x_m[vic]
            dy = self.point_xy[pt, 1] - self.sectors.y_m[vic]
            b = _evaluate(dx, dy, vic, self.point_env[pt], self.sectors, config)
        else:  # every point's links, evaluated by served_model (points without a server dropped here)
            near, b = _near, _batch
            pt = np.repeat(np.arange(self.point_sector.size), near.shape[1])
            vic = near.ravel()
            keep_pt = self.point_sector[pt] >= 0
            pt, vic = pt[keep_pt], vic[keep_pt]
            b = _take_batch(b, np.flatnonzero(keep_pt))
            dx = self.point_xy[pt, 0] - self.sectors.x_m[vic]
            dy = self.point_xy[pt, 1] - self.sectors.y_m[vic]
        intf = np.asarray(b.interference_mw, float) * self.aimed_factor(dx, dy, vic)
        rsrp = np.asarray(b.rsrp_dbm, float)
        serving = self.point_sector[pt]
        is_serv = vic == serving
        # the serving link's distribution per point
        srow = np.full(self.point_sector.size, -1, np.int64)
        srow[pt[is_serv]] = np.flatnonzero(is_serv)
        keep = ~is_serv & (srow[pt] >= 0)
        sr = srow[pt[keep]]
        pt, vic, serving = pt[keep], vic[keep], serving[keep]
        m_l, m_n = _state_medians(rsrp, np.asarray(b.p_los, float), np.asarray(b.los_gain_db, float))
        p_re = np.asarray(power_per_re_dbm(self.sectors.tx_power_dbm, config), float)
        n_sc = 12 * int(nr.n_prb(config.bandwidth_hz, config.scs_hz))
        pmax_re = config.ue_tx_power_dbm - 10.0 * math.log10(n_sc)
        p0_re = config.ul_p0_dbm + 10.0 * math.log10(config.scs_hz / 15e3) - 10.0 * math.log10(12.0)
        site = np.unique(np.asarray(self.sectors.site_id), return_inverse=True)[1]
        v_idx = np.flatnonzero(keep)
        off = 10.0 * np.log10(intf[v_idx]) - rsrp[v_idx] - p_re[vic]
        cosite = site[vic] == site[serving]
        delta = rsrp[v_idx] - rsrp[sr]
        p_los, sfl, sfn = (np.asarray(a, float) for a in (b.p_los, b.sf_los_db, b.sf_nlos_db))
        args = (m_l[sr], m_n[sr], p_los[sr], sfl[sr], sfn[sr], p_re[serving],
                m_l[v_idx], m_n[v_idx], p_los[v_idx], sfl[v_idx], sfn[v_idx], off, cosite, delta,
                float(pmax_re), float(p0_re), float(config.ul_alpha))
        return {"point": pt, "victim": vic, "serving": serving, "weight": self.point_weight[pt], "args": args,
                "p_ue_max_re": pmax_re, "p0_re": p0_re}


def _evaluate(dx, dy, sec, env, sectors, config):
    """Links of the coarse pass: the engine's tabulated fast path when ``config.fast`` (as compute_links), else the
    exact one; no terrain, no relevance floor."""
    from qamtu.engine.linkbatch import _LinkBatch, _prime_cache, evaluate_link_batch

    cache: dict = {}
    _prime_cache(cache, sectors, config)
    if config.fast and dx.size:
        from qamtu.engine._fast import FastLinks

        fast = FastLinks(sectors, config, cache, float(np.sqrt(np.max(dx * dx + dy * dy))) + 1.0)
        if fast.ok:
            return _LinkBatch(*fast(dx, dy, sec, env, -1e9))
    return evaluate_link_batch(dx, dy, sec, env, sectors, config, floor_dbm=-1e9, _cache=cache)


def _take_batch(b, idx):
    import dataclasses

    return dataclasses.replace(b, **{f.name: (None if getattr(b, f.name) is None else np.asarray(getattr(b, f.name))[idx])
                                     for f in dataclasses.fields(b)})


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
    """Indices of the ``k`` nearest sectors of each point (n, k), ascending sector index within a row; -1 pad."""
    from scipy.spatial import cKDTree

    n_sec = len(sectors)
    k = min(K_SECTORS if k is None else int(k), n_sec)
    tree = cKDTree(np.column_stack([sectors.x_m, sectors.y_m]))
    _, idx = tree.query(xy, k=k)
    idx = np.asarray(idx, dtype=np.int64).reshape(len(xy), k)
    return np.sort(idx, axis=1)


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
    point_sector = np.full(n_pts, -1, np.int64)
    if n_pts:
        near = _nearest_sectors(sectors, xy)
        kk = near.shape[1]
        pt = np.repeat(np.arange(n_pts), kk)
        sec = near.ravel()
        dx = xy[pt, 0] - sectors.x_m[sec]
        dy = xy[pt, 1] - sectors.y_m[sec]
        b = _evaluate(dx, dy, sec, env[pt], sectors, config)
        r = np.asarray(b.rsrp_dbm, float).reshape(n_pts, kk)
        best = np.argmax(r, axis=1)  # ties: the lower sector index (rows ascending)
        point_sector = near[np.arange(n_pts), best]
    # people per serving sector; sectors without people: area weights
    pop_sec = np.bincount(point_sector[point_sector >= 0], weights=people[point_sector >= 0], minlength=n_sec)
    cnt_sec = np.bincount(point_sector[point_sector >= 0], weights=cnt[point_sector >= 0], minlength=n_sec)
    use_pop = pop_sec[np.maximum(point_sector, 0)] > 0
    w = np.where(use_pop, people, cnt)
    tot = np.where(use_pop, pop_sec[np.maximum(point_sector, 0)], cnt_sec[np.maximum(point_sector, 0)])
    weight = np.where(point_sector >= 0, w / np.maximum(tot, 1e-300), 0.0)
    # beam mixes of the panels
    codes, models = sectors.antenna_groups()
    panel_ids = {}
    panels = []
    for g, m in enumerate(models):
        if config.interference_beams == "served" and hasattr(m, "mix_tables"):
            panel_ids[g] = len(panels)
            panels.append(m)
    ptr = np.zeros(n_sec + 1, np.int64)
    bins: list = []
    rows: list = []
    mix_model = np.full(n_sec, -1, np.int64)
    if panels and n_pts:
        has = np.flatnonzero(point_sector >= 0)
        order = has[np.argsort(point_sector[has], kind="stable")]
        ps = point_sector[order]
        th, ph = _local_angles(xy[order, 0] - sectors.x_m[ps], xy[order, 1] - sectors.y_m[ps], ps, sectors, config)
        bounds = np.searchsorted(ps, np.arange(n_sec + 1))
        for s in range(n_sec):
            a, e = bounds[s], bounds[s + 1]
            g = int(codes[s])
            if g in panel_ids and e > a:
                mix = models[g].served_beam_mix(th[a:e], ph[a:e], weight[order[a:e]])
                if mix is not None:
                    mix_model[s] = panel_ids[g]
                    bins.extend(mix[0].tolist())
                    rows.append(mix[1])
            ptr[s + 1] = len(bins)
    else:
        ptr[:] = 0
    n_u = panels[0].mix_tables()["u"].size if panels else 1
    out = ServedModel(
        point_xy=xy, point_env=env, point_weight=weight, point_sector=point_sector, mix_ptr=ptr,
        mix_bin=np.asarray(bins, np.int64), mix_h=np.concatenate(rows) if rows else np.zeros((0, n_u)),
        mix_model=mix_model, models=panels, sectors=sectors, config=config,
    )
    if n_pts and config.ul_interference == "neighbours":  # the UL sum from the same links (no second pass)
        out._ul_store(config, out.ul_pairs(config, near, b))
    if len(_CACHE) > 16:
        _CACHE.clear()
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
