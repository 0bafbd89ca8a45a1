"""Where each sector's own users are: its served area, its data beams pointed at them, and their uplink interference.

Two interference terms of the link model depend on where a neighbour's users are, not only on the neighbour's
antenna pattern:

* **downlink**: a neighbour's traffic beams point at its own scheduled users, so the gain it puts toward a victim
  pixel is the people-weighted mean, over the neighbour's served area, of the gain of a beam steered at each
  served user evaluated toward the victim (:meth:`qamtu.radio.antenna.MassiveMimoPanel.served_beam_mix`), not
  the antenna model's mean over beams spread uniformly across its scan range. :meth:`ServedModel.aimed_factor`
  is the ratio of the two per link; :func:`qamtu.engine.links.compute_links` multiplies each link's
  ``interference_mw`` by it (``EngineConfig.interference_beams = "served"``; "uniform" keeps the antenna model's
  mean; the link kernel evaluates it on its own local angles, :func:`qamtu.engine._fast.aimed_one` with the
  tables of :meth:`ServedState.aim_tables`). Passive antennas (one beam) get a factor 1.
* **uplink**: the interference at a sector is the sum over the other cells of their scheduled UE (present with
  the cell load), at a position drawn over the cell's served area (people-weighted), transmitting with its
  open-loop power control toward its own cell (TS 38.213 7.1.1) and received with the victim sector's own
  beams (pointed at the victim's users, by reciprocity the aimed gain above):
  :meth:`ServedModel.ul_interference_mw` (mW per RE at full load; the aggregation scales it by the load).

The served areas are those of the sectors ON AIR. Once per (area, sector table, configuration)
(:func:`served_model`) a coarse grid (:data:`GRID_M`, blocks of pixels summing their people) gets the links of
each point to its :data:`K_STORE` nearest sectors (outdoor user, LOS-averaged mean, no terrain). For a set of
sectors on air (:meth:`ServedModel.state`; every sector by default) a point is served by the strongest mean
SS-RSRP among its :data:`K_SECTORS` nearest active sectors (by (distance, index)), which are also its uplink
victims (:meth:`ServedModel.evaluated_pairs`: those among its stored links first; where fewer than
:data:`K_SECTORS` of them are on air, a sparse subset of a dense table, its nearest active sectors beyond them,
their links evaluated on demand and kept per (point, sector));
sectors that serve nobody with people are weighted by area; sectors that serve no point keep the uniform mean
(factor 1). A state costs an argmax over the evaluated links (plus, for the points short of active stored
sectors, a KD-tree query and the links not met before), the beam mixes of the sectors whose served area is new
(cached per (sector, served area)), and the uplink pair expectations of the points whose server changed (cached
per pair). So for ANY set of sectors on air the served areas, mixes and uplink interference are those of a fresh
model of the table restricted to the active rows (the same numbers). :func:`qamtu.engine.aggregate.aggregate` with
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

from qamtu.engine._fast import aimed_one

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
#: coarse links evaluated on demand beyond the stored ones (a point's nearest active sectors outside its K_STORE
#: nearest: sparse subsets of a dense table), kept per model up to as many as it stores (at least EVAL_PAIRS), at
#: most this many (then dropped and evaluated again when needed): the model's memory at most doubles
EXT_PAIRS_MAX = 4_000_000

#: memory for the served-area signatures of the sector sets met (per model; least recently used dropped first): a
#: set met again whose beam mixes are all still cached gets its state without its serving choice (made on demand)
SIGNATURE_CACHE_BYTES = 16 * 2**20

#: the module cache of :func:`served_model`: at most this many models and, beyond the newest, this many bytes
#: (:attr:`ServedModel.nbytes`), the oldest forgotten first. A forgotten model that a ``Links`` still holds lives on
#: with it; one asked for again is rebuilt (same numbers). :func:`release_cache` forgets them all (a finished
#: city of a national run: :func:`qamtu.chain.national.plan_one_city`).
CACHE_MODELS = 4
CACHE_BYTES = 1 << 30
_CACHE: dict = {}
#: the coarse links' columns and the link batch fields they come from
_BATCH_FIELDS = (("rsrp", "rsrp_dbm"), ("p_los", "p_los"), ("los_gain", "los_gain_db"), ("sf_los", "sf_los_db"),
                 ("sf_nlos", "sf_nlos_db"), ("intf", "interference_mw"))


def _ul_key(config):
    return (config.ue_tx_power_dbm, config.ul_p0_dbm, config.ul_alpha, config.bandwidth_hz, config.scs_hz)


def _ul_power_terms(config):
    """(P_CMAX, P0) per RE, dBm: the UE's open-loop power control over the whole carrier (TS 38.213 7.1.1)."""
    from qamtu.radio import nr

    n_sc = 12 * int(nr.n_prb(config.bandwidth_hz, config.scs_hz))
    return (config.ue_tx_power_dbm - 10.0 * math.log10(n_sc),
            config.ul_p0_dbm + 10.0 * math.log10(config.scs_hz / 15e3) - 10.0 * math.log10(12.0))


class _Pairs:
    """Per coarse link (pair of point and sector) columns: the stored links of ``near`` (pair ``j`` < ``n_base``,
    row-major, fixed) and the links added on demand (``n_base + i``, found by the key ``point * n_sec + sector``).

    Columns: the link values (``rsrp`` ... ``intf``, float32), ``point`` and ``sector``, and the caches of the
    states (:meth:`column`), all of the same length."""

    VALUES = ("rsrp", "p_los", "los_gain", "sf_los", "sf_nlos", "intf")

    def __init__(self, near: np.ndarray, n_sec: int, values: dict):
        n_pts, k = near.shape
        self.n_sec, self.k, self.n_base = int(n_sec), int(k), n_pts * k
        self.base = dict(values)
        self.base["sector"] = near.reshape(-1)
        self.fill: dict = {name: 0 for name in self.base}
        self.ext = {name: np.zeros(0, a.dtype) for name, a in self.base.items()}
        self.ext["point"] = np.zeros(0, np.int64)
        self.n_ext = 0
        self.keys = np.zeros(0, np.int64)  # sorted keys of the added links ...
        self.pos = np.zeros(0, np.int64)  # ... and their index in ``ext``
        #: changes when the added links are dropped (states made before look theirs up again)
        self.generation = 0

    def column(self, name: str, dtype, fill) -> None:
        """Add a per-pair column (a cache) filled with ``fill`` if it is not there."""
        if name not in self.base:
            self.base[name] = np.full(self.n_base, fill, dtype)
            self.ext[name] = np.full(self.ext["sector"].size, fill, dtype)
            self.fill[name] = fill

    def get(self, name: str, j: np.ndarray) -> np.ndarray:
        j = np.asarray(j, np.int64)
        if name == "point":
            base = j // max(self.k, 1)
        else:
            base = self.base[name][np.minimum(j, max(self.n_base - 1, 0))] if self.n_base else None
        if self.n_ext == 0:
            return base
        out = np.array(base, copy=True) if base is not None else np.empty(j.shape, self.ext[name].dtype)
        e = j >= self.n_base
        out[e] = self.ext[name][j[e] - self.n_base]
        return out

    def put(self, name: str, j: np.ndarray, values) -> None:
        e = j >= self.n_base
        self.base[name][j[~e]] = np.asarray(values)[~e] if np.ndim(values) else values
        if e.any():
            self.ext[name][j[e] - self.n_base] = np.asarray(values)[e] if np.ndim(values) else values

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Pair index of each key among the added links, -1 where absent."""
        if self.keys.size == 0:
            return np.full(keys.shape, -1, np.int64)
        at = np.searchsorted(self.keys, keys)
        ok = at < self.keys.size
        ok[ok] = self.keys[at[ok]] == keys[ok]
        return np.where(ok, self.n_base + self.pos[np.minimum(at, self.keys.size - 1)], -1)

    def add(self, keys: np.ndarray, values: dict, limit: int) -> np.ndarray:
        """Append links (distinct keys, absent), return their pair indices (storage grown up to ``limit``)."""
        n = keys.size
        cap = self.ext["sector"].size
        if self.n_ext + n > cap:
            cap = max(min(2 * cap, limit), self.n_ext + n)
            for name, a in self.ext.items():
                grown = np.full(cap, self.fill.get(name, 0), a.dtype)
                grown[:self.n_ext] = a[:self.n_ext]
                self.ext[name] = grown
        sl = slice(self.n_ext, self.n_ext + n)
        self.ext["point"][sl] = keys // self.n_sec
        self.ext["sector"][sl] = keys % self.n_sec
        for name in self.VALUES:
            self.ext[name][sl] = values[name]
        pos = np.arange(self.n_ext, self.n_ext + n)
        self.n_ext += n
        order = np.argsort(keys)  # merged into the sorted keys (distinct: the same order as a full sort)
        at = np.searchsorted(self.keys, keys[order])
        self.keys, self.pos = np.insert(self.keys, at, keys[order]), np.insert(self.pos, at, pos[order])
        return self.n_base + pos

    def drop_added(self) -> None:
        for name, a in self.ext.items():
            self.ext[name] = np.zeros(0, a.dtype)
        self.n_ext = 0
        self.keys = np.zeros(0, np.int64)
        self.pos = np.zeros(0, np.int64)
        self.generation += 1


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
    _tables: tuple | None = field(default=None, repr=False)
    _mix_bytes: int = field(default=0, repr=False)
    _signatures: dict = field(default_factory=dict, repr=False)
    _signature_bytes: int = field(default=0, repr=False)

    def __post_init__(self):
        n_pts = self.point_xy.shape[0]
        self.point_key = np.random.default_rng(20261202).random(n_pts) + 0.5  # served-area signatures
        self.site = np.unique(np.asarray(self.sectors.site_id), return_inverse=True)[1].astype(np.int64)
        from qamtu.engine.linkbatch import power_per_re_dbm

        self.p_re = np.asarray(power_per_re_dbm(self.sectors.tx_power_dbm, self.config), float)
        self.pairs = _Pairs(self.near, len(self.sectors), {
            "rsrp": self.pair_rsrp, "p_los": self.pair_p_los, "los_gain": self.pair_los_gain,
            "sf_los": self.pair_sf_los, "sf_nlos": self.pair_sf_nlos, "intf": self.pair_intf})
        # per pair: the victim's aimed factor toward the point, for the victim's served area with the signature
        # ``rv_sig`` (0: uniform)
        self.pairs.column("rv", np.float32, 1.0)
        self.pairs.column("rv_sig", np.float64, 0.0)
        self._evaluate = None  # (range m, evaluator) of the links added on demand

    def pair_values(self, idx):
        """(LOS median, NLOS median, P(LOS), LOS sigma, NLOS sigma) of the coarse links ``idx`` (float64)."""
        g = self.pairs.get
        rsrp, p, gain = (np.asarray(g(name, idx), float) for name in ("rsrp", "p_los", "los_gain"))
        m_l, m_n = _state_medians(rsrp, p, gain)
        return m_l, m_n, p, np.asarray(g("sf_los", idx), float), np.asarray(g("sf_nlos", idx), float)

    def evaluated_pairs(self, act: np.ndarray) -> np.ndarray:
        """Per point, its links to its ``min(K_SECTORS, n_active)`` nearest active sectors (by (distance, sector
        index)): pair indices (n_points, that many), ordered.

        Those among the point's stored ``near`` sectors are stored; a point with fewer active sectors there gets
        its nearest active sectors beyond them from a KD-tree of the active sectors, their links evaluated as the
        stored ones (kept per (point, sector) for the next states), so the result is the ``near`` of a fresh model
        of the table restricted to the active rows."""
        n_pts, k = self.near.shape
        kk = min(K_SECTORS, int(act.sum()))
        if n_pts == 0 or kk == 0:
            return np.zeros((n_pts, 0), np.int64)
        a = act[self.near]
        cnt = np.cumsum(a, axis=1)
        use = a & (cnt <= K_SECTORS)
        j = np.flatnonzero(use.ravel())
        full = np.minimum(cnt[:, -1], K_SECTORS) == kk
        out = np.empty((n_pts, kk), np.int64)
        out[full] = j[full[j // k]].reshape(-1, kk)
        if not full.all():
            out[~full] = self._extend(np.flatnonzero(~full), act, a, kk)
        return out

    def _extend(self, rows: np.ndarray, act: np.ndarray, a: np.ndarray, kk: int) -> np.ndarray:
        """:meth:`evaluated_pairs` of the points ``rows`` (fewer than ``kk`` active sectors in ``near``)."""
        from scipy.spatial import cKDTree

        k = self.near.shape[1]
        act_idx = np.flatnonzero(act)
        xy = self.point_xy[rows]
        tree = cKDTree(np.column_stack([self.sectors.x_m[act_idx], self.sectors.y_m[act_idx]]))
        q = min(act_idx.size, kk + 16)
        while True:  # the kk nearest, with every sector at the kk-th distance (ties: the lower index first)
            _, ii = tree.query(xy, k=q)
            sec = act_idx[np.asarray(ii, np.int64).reshape(rows.size, q)]
            d2 = (xy[:, 0:1] - self.sectors.x_m[sec]) ** 2 + (xy[:, 1:2] - self.sectors.y_m[sec]) ** 2
            if q == act_idx.size or not (np.partition(d2, kk - 1, axis=1)[:, kk - 1] >= d2.max(axis=1)).any():
                break
            q = min(act_idx.size, 2 * q)
        # the stored active links (their pair index known) and the queried sectors, each sector once, the kk
        # nearest by (distance, sector index)
        cand, pair = _nearest_pairs(rows, a[rows], self.near[rows], sec, xy,
                                    np.ascontiguousarray(self.sectors.x_m, dtype=np.float64),
                                    np.ascontiguousarray(self.sectors.y_m, dtype=np.float64), kk)
        new = pair < 0
        if new.any():
            keys = np.repeat(rows, kk).reshape(rows.size, kk)[new] * len(self.sectors) + cand[new]
            pair[new] = self._added_pairs(keys)
        return pair

    def _ext_limit(self) -> int:
        return int(min(EXT_PAIRS_MAX, max(self.pairs.n_base, EVAL_PAIRS)))

    def _added_pairs(self, keys: np.ndarray) -> np.ndarray:
        """Pair indices of links (keys ``point * n_sec + sector``) outside ``near``: the kept ones, the others
        evaluated (the coarse pass's evaluator, its range extended as needed) and kept."""
        got = self.pairs.find(keys)
        miss = got < 0
        if miss.any():
            ukeys, inv = np.unique(keys[miss], return_inverse=True)
            if self.pairs.n_ext + ukeys.size > self._ext_limit() and self.pairs.n_ext:
                self.pairs.drop_added()  # (states made before find theirs again: ServedState.pair_index)
                self._states.clear()
                return self._added_pairs(keys)
            n_sec = len(self.sectors)
            pt, sec = ukeys // n_sec, ukeys % n_sec
            dx, dy = self.point_xy[pt, 0] - self.sectors.x_m[sec], self.point_xy[pt, 1] - self.sectors.y_m[sec]
            dist = float(np.sqrt(np.max(dx * dx + dy * dy)))
            if self._evaluate is None or self._evaluate[0] < dist:
                span = max(np.ptp(self.point_xy, axis=0).max(), np.ptp(self.sectors.x_m), np.ptp(self.sectors.y_m))
                rng_m = max(dist, float(span) * 1.5)
                self._evaluate = (rng_m, _evaluator(self.sectors, self.config, rng_m))
            vals = {name: np.zeros(ukeys.size, np.float32) for name in _Pairs.VALUES}
            for p0 in range(0, ukeys.size, EVAL_PAIRS):
                sl = slice(p0, p0 + EVAL_PAIRS)
                b = self._evaluate[1](dx[sl], dy[sl], sec[sl], self.point_env[pt[sl]])
                for name, attr in _BATCH_FIELDS:
                    vals[name][sl] = getattr(b, attr)
            got[miss] = self.pairs.add(ukeys, vals, self._ext_limit())[inv]
        return got

    @property
    def nbytes(self) -> int:
        """Bytes of the model's arrays: the stored and added links with their per-pair caches, the points, the
        cached states and beam mixes (about 52 bytes per stored link, plus the states' per point)."""
        p = self.pairs
        arrays = [*p.base.values(), *p.ext.values(), p.keys, p.pos, self.point_xy, self.point_env,
                  self.point_people, self.point_cnt, self.point_key, self.site, self.p_re]  # (near = base["sector"])
        for st in self._states.values():
            arrays += [a for a in vars(st).values() if isinstance(a, np.ndarray)]
        return int(sum(a.nbytes for a in arrays)) + int(self._mix_bytes) + int(self._signature_bytes)

    def trim(self) -> None:
        """Forget what a state recomputes on demand (same numbers): the cached states, the links added for sparse
        subsets (:meth:`evaluated_pairs`) and the beam mixes. States made before stay valid
        (:meth:`ServedState.pair_index`)."""
        self._states.clear()
        if self.pairs.n_ext:
            self.pairs.drop_added()
        self._mixes.clear()
        self._mix_bytes = 0
        self._signatures.clear()
        self._signature_bytes = 0

    # ------------------------------------------------------------------ states
    def state(self, active=None) -> "ServedState":
        """The served areas, beam mixes and uplink interference with the sectors ``active`` on air (default all).

        A point is served by the strongest mean SS-RSRP among its :data:`K_SECTORS` nearest active sectors
        (:meth:`evaluated_pairs`), which are also its uplink victims: those a fresh model of the sector table
        restricted to the active rows finds (the served areas, mixes and UL interference are the same numbers).
        The last few states are cached (all but the newest without their serving choice, made again if asked
        for); beam mixes are cached per (sector, served area). The served-area
        signatures of the sets met are kept (:data:`SIGNATURE_CACHE_BYTES`): a set met again whose mixes are all
        cached gets its mixes from them, its serving choice (``point_sector`` ...) made only if asked for (the
        same numbers).
        """
        n_sec = len(self.sectors)
        act = np.ones(n_sec, bool) if active is None else np.ascontiguousarray(active, dtype=bool)
        key = act.tobytes()
        st = self._states.pop(key, None)
        if st is None:
            st = self._known_state(key, act)
        if st is None:
            st = ServedState(self, act)
            self._signatures[key] = st.signature
            self._signature_bytes += st.signature.nbytes + len(key)
            while self._signature_bytes > SIGNATURE_CACHE_BYTES and len(self._signatures) > 1:
                old_key, old = next(iter(self._signatures.items()))
                del self._signatures[old_key]
                self._signature_bytes -= old.nbytes + len(old_key)
        for other in self._states.values():  # (the earlier states keep their mixes, not their serving choice)
            other.forget_serving()
        self._states[key] = st
        while len(self._states) > 4:
            del self._states[next(iter(self._states))]
        return st

    def _known_state(self, key: bytes, act: np.ndarray) -> "ServedState | None":
        """The state of a set whose signatures are kept and whose beam mixes are all cached, else None."""
        sig = self._signatures.pop(key, None)
        if sig is None:
            return None
        self._signatures[key] = sig  # most recently used
        secs = np.flatnonzero(sig != 0.0)
        mixes = [None] * len(self.sectors)
        if self.has_mix:
            for s in secs:
                if self.panel[s] < 0:
                    continue
                mix = self._mixes.get((int(s), float(sig[s])), False)
                if mix is False:
                    return None
                mixes[s] = mix
        return ServedState(self, act, mixes=mixes, signature=sig)

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

    #: attributes of the serving choice, made on first use by a state built from kept signatures
    #: (:meth:`ServedModel.state`)
    _SERVING = ("_gen", "pair", "evaluated", "serving_col", "point_sector", "point_weight")

    def __init__(self, model: ServedModel | None, active: np.ndarray, *, sectors=None, mixes=None, signature=None):
        self.model, self.active = model, active
        self.sectors = model.sectors if sectors is None else sectors
        self.config = model.config if model is not None else None
        self._ul: dict = {}
        self._flat = None
        if mixes is not None:  # a restriction (mixes only), or a set met before (its signatures and mixes)
            self.mixes = mixes
            if signature is not None:
                self.signature = signature
                self.mix_signature = np.where([x is not None for x in mixes], signature, 0.0)
            return
        m = model
        n_sec = len(m.sectors)
        self._serve()
        ps = self.point_sector
        sel = ps >= 0
        self.signature = np.bincount(ps[sel], weights=m.point_key[sel], minlength=n_sec)
        self.mixes = [None] * n_sec
        if m.has_mix:
            secs = np.flatnonzero(self.signature != 0.0)
            for s, mix in zip(secs, m.mixes_for(secs, self.signature[secs], ps, self.point_weight)):
                self.mixes[s] = mix
        #: per sector, the signature of its beam mix (0: none, uniform beams)
        self.mix_signature = np.where([x is not None for x in self.mixes], self.signature, 0.0)

    def __getattr__(self, name: str):
        # (only called for attributes not set: the serving choice of a state built from kept signatures)
        if name in ServedState._SERVING and "signature" in self.__dict__:
            self._serve()
            return self.__dict__[name]
        raise AttributeError(name)

    def forget_serving(self) -> None:
        """Drop the serving choice (the per-point arrays; made again on demand, the same numbers) and the flat copy
        of the mixes (:meth:`ratio_at_angles` makes it again); keep the mixes."""
        if "signature" in self.__dict__:
            for name in ServedState._SERVING:
                self.__dict__.pop(name, None)
            self._flat = None

    def _serve(self) -> None:
        """The serving choice: each point's evaluated sectors, its server, and its weight in its server's cell."""
        m = self.model
        n_sec = len(m.sectors)
        n_pts = m.near.shape[0]
        self._gen = m.pairs.generation
        self.pair = m.evaluated_pairs(self.active)  # (n_points, kk): each point's evaluated sectors, nearest first
        kk = self.pair.shape[1]
        #: the evaluated sectors of each point (n_points, kk): its nearest active ones
        self.evaluated = m.pairs.get("sector", self.pair.ravel()).reshape(n_pts, kk)
        r = m.pairs.get("rsrp", self.pair.ravel()).reshape(n_pts, kk).astype(float)
        best = r.max(axis=1) if kk else np.full(n_pts, -np.inf)
        idx = np.where(r == best[:, None], self.evaluated, np.iinfo(np.int64).max)
        col = np.argmin(idx, axis=1) if kk else np.zeros(n_pts, np.int64)  # ties: the lower sector index
        has = np.full(n_pts, kk > 0)
        self.serving_col = np.where(has, col, -1)
        ps = np.where(has, self.evaluated[np.arange(n_pts), col] if kk else -1, -1).astype(np.int64)
        self.point_sector = ps
        sel = ps >= 0
        pop_sec = np.bincount(ps[sel], weights=m.point_people[sel], minlength=n_sec)
        cnt_sec = np.bincount(ps[sel], weights=m.point_cnt[sel], minlength=n_sec)
        use_pop = pop_sec[np.maximum(ps, 0)] > 0
        w = np.where(use_pop, m.point_people, m.point_cnt)
        tot = np.where(use_pop, pop_sec[np.maximum(ps, 0)], cnt_sec[np.maximum(ps, 0)])
        self.point_weight = np.where(sel, w / np.maximum(tot, 1e-300), 0.0)

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

    def aim_tables(self):
        """The tables of :func:`qamtu.engine._fast.aimed_one` (the mixes flattened, the panels' vertical and
        uniform factors, the grid steps), or None without a mix (every factor 1)."""
        if self._flat is None:
            self._flat = _flatten(self.mixes)
        ptr, bins, h, model = self._flat
        if not self.model.models or bins.size == 0:
            return None
        vert, uni_v, uni_u = self.model.model_tables()
        return ptr, bins, h, model, vert, uni_v, uni_u, 0.05, float(self.model.models[0].MIX_U_STEP)

    def ratio_at_angles(self, theta_deg, phi_deg, sec) -> np.ndarray:
        """The aimed factor toward local angles (``theta_deg``, ``phi_deg``) of the sectors ``sec``."""
        aim = self.aim_tables()
        if aim is None:
            return np.ones(np.asarray(sec).shape[0])
        u = np.sin(np.radians(theta_deg)) * np.sin(np.radians(phi_deg))
        return _aimed_ratio(np.asarray(theta_deg, float), u, np.asarray(sec, np.int64), aim)

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

    def pair_index(self) -> np.ndarray:
        """:attr:`pair` (the model's pair indices of each point's evaluated sectors), looked up again if the
        model dropped its added links since."""
        if self._gen != self.model.pairs.generation:
            self.pair = self.model.evaluated_pairs(self.active)
            self._gen = self.model.pairs.generation
        return self.pair

    def _ul_pair_index(self):
        """The uplink pairs: (pair index, victim, point), ordered by point (each point's evaluated sectors but its
        server, nearest first)."""
        pair = self.pair_index()
        n_pts, kk = pair.shape
        if kk == 0:
            e = np.empty(0, np.int64)
            return e, e, e
        other = np.ones((n_pts, kk), bool)
        other[np.arange(n_pts), self.serving_col] = False
        pt = np.nonzero(other)[0]
        return pair[other], self.evaluated[other], pt

    def _serving_pair(self, pt):
        return self.pair_index()[pt, self.serving_col[pt]]

    def _pair_expectation(self, config, j, pt):
        """E[P_UE 10^((R_v + off)/10) | R_v < R_k] with uniform victim beams, per pair ``j`` (cached per pair for
        its server)."""
        m = self.model
        pairs = m.pairs
        key = _ul_key(config)
        names = (f"ul_e{key}", f"ul_k{key}")
        pairs.column(names[0], np.float32, 0.0)
        pairs.column(names[1], np.int32, -2)
        kserv = self.point_sector[pt]
        need = pairs.get(names[1], j) != kserv
        if need.any():
            jj, pp, ks = j[need], pt[need], kserv[need]
            sr = self._serving_pair(pp)
            vic = pairs.get("sector", jj)
            pmax_re, p0_re = _ul_power_terms(config)
            intf, rsrp, rsrp_k = (pairs.get(n, i).astype(float) for n, i in (("intf", jj), ("rsrp", jj),
                                                                             ("rsrp", sr)))
            with np.errstate(divide="ignore"):
                off = 10.0 * np.log10(intf) - rsrp - m.p_re[vic]
            pairs.put(names[0], jj, _ul_pair_expectation(
                *m.pair_values(sr), m.p_re[ks], *m.pair_values(jj), off, m.site[vic] == m.site[ks], rsrp - rsrp_k,
                float(pmax_re), float(p0_re), float(config.ul_alpha)))
            pairs.put(names[1], jj, ks)
        return pairs.get(names[0], j).astype(float)

    def _victim_ratio(self, j, v, pt):
        """Per pair, the victim's aimed factor toward the point (its own beams, at its own users: reciprocity),
        cached per pair for the victim's served area."""
        m = self.model
        if not m.has_mix:
            return np.ones(j.size)
        sig = self.mix_signature[v]
        need = m.pairs.get("rv_sig", j) != sig
        if need.any():
            jj, vv, pp = j[need], v[need], pt[need]
            th, ph = _local_angles(m.point_xy[pp, 0] - m.sectors.x_m[vv], m.point_xy[pp, 1] - m.sectors.y_m[vv], vv,
                                   m.sectors, m.config)
            m.pairs.put("rv", jj, self.ratio_at_angles(th, ph, vv))
            m.pairs.put("rv_sig", jj, sig[need])
        return m.pairs.get("rv", j).astype(float)

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
        sr = self._serving_pair(pt)
        pmax_re, p0_re = _ul_power_terms(config)
        rsrp, rsrp_k = m.pairs.get("rsrp", j).astype(float), m.pairs.get("rsrp", sr).astype(float)
        off = (10.0 * np.log10(m.pairs.get("intf", j).astype(float) * self._victim_ratio(j, v, pt)) - rsrp
               - m.p_re[v])
        args = (*m.pair_values(sr), m.p_re[ks], *m.pair_values(j), off, m.site[v] == m.site[ks], rsrp - rsrp_k,
                float(pmax_re), float(p0_re), float(config.ul_alpha))
        return {"point": pt, "victim": v, "serving": ks, "weight": self.point_weight[pt], "args": args,
                "evaluated": self.evaluated, "p_ue_max_re": pmax_re, "p0_re": p0_re}


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


@njit(cache=True, nogil=True)
def _nearest_pairs(rows, active_near, near, queried, xy, x_m, y_m, kk):
    """Per point ``rows[i]``: the ``kk`` nearest of its candidate sectors by (squared distance, sector index), as
    (sectors, pair indices) of shape (len(rows), kk). Candidates: its stored sectors ``near[i]`` where
    ``active_near[i]`` (pair ``rows[i] * k + column``) and the sectors ``queried[i]`` (pair -1 unless stored too:
    a sector is taken once, with its stored pair)."""
    m, k = near.shape
    q = queried.shape[1]
    cand_out = np.empty((m, kk), np.int64)
    pair_out = np.empty((m, kk), np.int64)
    seen = np.full(x_m.size, -1, np.int64)  # the last point that took each sector
    us = np.empty(k + q, np.int64)
    up = np.empty(k + q, np.int64)
    ud = np.empty(k + q, np.float64)
    for i in range(m):
        n = 0
        for c in range(k + q):
            if c < k:
                if not active_near[i, c]:
                    continue
                s = near[i, c]
                p = rows[i] * k + c
            else:
                s = queried[i, c - k]
                p = -1
            if seen[s] == i:
                continue
            seen[s] = i
            dx = xy[i, 0] - x_m[s]
            dy = xy[i, 1] - y_m[s]
            us[n] = s
            up[n] = p
            ud[n] = dx * dx + dy * dy
            n += 1
        order = np.argsort(ud[:n])
        a = 0
        while a < n:  # equal distances (co-sited sectors): by sector index
            b = a + 1
            while b < n and ud[order[b]] == ud[order[a]]:
                b += 1
            for j in range(a + 1, b):
                t = order[j]
                r = j - 1
                while r >= a and us[order[r]] > us[t]:
                    order[r + 1] = order[r]
                    r -= 1
                order[r + 1] = t
            if b >= kk:
                break
            a = b
        for j in range(kk):
            cand_out[i, j] = us[order[j]]
            pair_out[i, j] = up[order[j]]
    return cand_out, pair_out


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
            for name, attr in _BATCH_FIELDS:
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
    _CACHE[key] = out
    _bound_cache()
    return out


def _bound_cache() -> None:
    """Forget the oldest cached models until at most :data:`CACHE_MODELS` and :data:`CACHE_BYTES` remain (the
    newest is kept whatever its size)."""
    while len(_CACHE) > 1 and (len(_CACHE) > CACHE_MODELS
                               or sum(m.nbytes for m in _CACHE.values()) > CACHE_BYTES):
        del _CACHE[next(iter(_CACHE))]


def release_cache() -> None:
    """Forget every cached model (:func:`served_model`) and trim the forgotten ones (:meth:`ServedModel.trim`):
    those still held elsewhere (a plan's links, for its gate) keep only what they cannot recompute."""
    for model in _CACHE.values():
        model.trim()
    _CACHE.clear()


@njit(cache=True, nogil=True)
def _aimed_ratio(th, u, sec, aim):
    """Per link: :func:`qamtu.engine._fast.aimed_one` (the tables ``aim`` of :meth:`ServedState.aim_tables`).

    Serial (``nogil``): compute_links calls it from its tile threads."""
    out = np.ones(th.shape[0])
    ptr, bins, h, model, vert, uni_v, uni_u, th_step, u_step = aim
    for i in range(th.shape[0]):
        out[i] = aimed_one(th[i], u[i], sec[i], ptr, bins, h, model, vert, uni_v, uni_u, th_step, u_step)
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
