"""Fast path of the per-link physics (private): qamtu.radio's functions tabulated, evaluated in one Numba loop.

Nothing here is new physics. The tables are filled by calling :mod:`qamtu.radio` (through the same functions as
:func:`qamtu.engine.links.evaluate_link_batch`) on fine grids, and the loop interpolates them:

* antenna gains of every antenna group (model + electrical tilt), the three beams, on a grid of local zenith
  angle (0.05 deg) x local azimuth (0.5 deg), bilinear in dB; the global-to-local rotation for mechanical tilt is
  TR 38.901 eq. 7.1-7 as in :func:`qamtu.radio.antenna.local_angles`;
* per (environment class, BS height): LOS probability, the two states' path losses (with the optional measured
  correction) and shadow-fading spreads versus log10(d2D) on a 0.0005-decade grid, linear;
* the O2I mixture constants of :func:`qamtu.engine.physics.o2i_states`, and the normal tail with ``math.erfc``;
* the same-SSB-index offset of each antenna group versus ``u`` (the antenna's own table,
  :meth:`qamtu.radio.antenna.AntennaModel.ssb_same_index_offset_table`);
* the served-area aimed factor of the interference (:func:`aimed_one`: the beam mixes of
  :mod:`qamtu.engine.served`, the same tables and arithmetic as its per-link ``_aimed_ratio``).

The tile loop of :func:`qamtu.engine.links.compute_links_many` also runs here: :func:`tile_pairs` (the pair search)
and :func:`take32` (float32 gathers).

Accuracy against the exact NumPy path (``tests/engine/test_fast.py``): path terms < 0.01 dB, main-lobe gains
< 0.02 dB; near pattern nulls the dB error is larger, on links whose power is then negligible. The engine uses
this path in :func:`qamtu.engine.links.compute_links` when ``EngineConfig.fast`` is True (default) and falls
back to the exact path when the tables would be too large (more than ``MAX_GROUPS`` antenna groups).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from qamtu.engine import physics
from qamtu.engine.config import ENV_CLASSES

THETA_STEP_DEG = 0.05
PHI_STEP_DEG = 0.5
LOGD_STEP = 0.0005
MAX_GROUPS = 24
#: ln(10) / 10: 10^(x/10) = exp(x LN10_DB)
LN10_DB = math.log(10.0) / 10.0

_GAIN_CACHE: dict = {}
#: the tables of the last few antenna-group lists, shared (never written) by every FastLinks of the same groups, e.g.
#: the served-area models of a national run's cities (31 MB per group each otherwise)
_TABLES_CACHE: dict = {}
TABLES_KEPT = 4


def gain_tables(models) -> np.ndarray:
    """float32 array (n_groups, 3, n_theta, n_phi): SSB, traffic and interference gains in dBi (shared by the calls
    with the same models: not to be written)."""
    keys = tuple(repr(model) for model in models)
    if keys in _TABLES_CACHE:
        return _TABLES_CACHE[keys]
    theta = np.arange(0.0, 180.0 + THETA_STEP_DEG / 2, THETA_STEP_DEG)
    phi = np.arange(-180.0, 180.0 + PHI_STEP_DEG / 2, PHI_STEP_DEG)
    tt, pp = np.meshgrid(theta, phi, indexing="ij")
    out = np.empty((len(models), 3, theta.size, phi.size), dtype=np.float32)
    for g, model in enumerate(models):
        key = repr(model)
        if key not in _GAIN_CACHE:
            _GAIN_CACHE[key] = np.stack([
                np.asarray(model.ssb_gain_dbi(tt, pp, validate=False), dtype=np.float32),
                np.asarray(model.traffic_gain_dbi(tt, pp, validate=False), dtype=np.float32),
                np.asarray(model.interference_gain_dbi(tt, pp, validate=False), dtype=np.float32),
            ])
            if len(_GAIN_CACHE) > MAX_GROUPS:
                _GAIN_CACHE.pop(next(iter(_GAIN_CACHE)))
        out[g] = _GAIN_CACHE[key]
    _TABLES_CACHE[keys] = out
    while len(_TABLES_CACHE) > TABLES_KEPT:
        _TABLES_CACHE.pop(next(iter(_TABLES_CACHE)))
    return out


def path_tables(config, heights: np.ndarray, d_max_m: float):
    """Path terms per (env code, height index) versus log10(d2D): arrays (4, n_h, 5, n_d) and the grid origin.

    Rows: P_LOS, PL_LOS, PL_NLOS, sigma_LOS, sigma_NLOS (dB), from :func:`qamtu.engine.physics.path_terms`.
    """
    l0 = math.log10(config.min_distance_m)
    l1 = math.log10(max(d_max_m, config.min_distance_m) * 1.01) + LOGD_STEP
    logd = np.arange(l0, l1 + LOGD_STEP, LOGD_STEP)
    d = 10.0 ** logd
    out = np.empty((len(ENV_CLASSES), heights.size, 5, d.size))
    for code, name in enumerate(ENV_CLASSES):
        prof = config.environments[name]
        for k, h in enumerate(heights):
            d3d = np.sqrt(d * d + (h - config.ue_height_m) ** 2)
            t = physics.path_terms(prof.scenario, config.freq_hz, d, h, config.ue_height_m,
                                   correction_db=physics.calibration_correction_db(config, name, d3d), min_distance_m=config.min_distance_m)
            out[code, k] = np.stack([t.p_los, t.pl_los_db, t.pl_nlos_db, t.sf_los_db, t.sf_nlos_db])
    return out, l0


@njit(cache=True, nogil=True)
def _interp_path(tab, env, hk, logd, l0, step):
    x = (logd - l0) / step
    if x < 0.0:
        x = 0.0
    n = tab.shape[3]
    i = int(x)
    if i >= n - 1:
        i = n - 2
        f = 1.0
    else:
        f = x - i
    p = tab[env, hk, 0, i] * (1 - f) + tab[env, hk, 0, i + 1] * f
    a = tab[env, hk, 1, i] * (1 - f) + tab[env, hk, 1, i + 1] * f
    b = tab[env, hk, 2, i] * (1 - f) + tab[env, hk, 2, i + 1] * f
    s1 = tab[env, hk, 3, i] * (1 - f) + tab[env, hk, 3, i + 1] * f
    s2 = tab[env, hk, 4, i] * (1 - f) + tab[env, hk, 4, i + 1] * f
    return p, a, b, s1, s2


@njit(cache=True, nogil=True)
def _exceed(margin, sigma):
    if sigma <= 0.0:
        return 1.0 if margin >= 0.0 else 0.0
    return 0.5 * math.erfc(-margin / (sigma * math.sqrt(2.0)))


@njit(cache=True, nogil=True)
def _below_eps(m_los, m_nlos, s_los, s_nlos, e, cov_w, cov_loss, cov_sd, z_eps):
    """Whether every O2I state's LOS and NLOS margins (before the state's loss) are below ``z_eps`` sigmas."""
    for i in range(3):
        if cov_w[e, i] <= 0.0:
            continue
        sd = cov_sd[e, i]
        if m_los - cov_loss[e, i] >= z_eps * math.sqrt(s_los * s_los + sd * sd):
            return False
        if m_nlos - cov_loss[e, i] >= z_eps * math.sqrt(s_nlos * s_nlos + sd * sd):
            return False
    return True


@njit(cache=True, nogil=True)
def aimed_one(th, u, s, ptr, bins, h, model, vert, uni_v, uni_u, th_step, u_step):
    """The aimed factor of sector ``s`` toward local zenith ``th`` (deg) and ``u = sin(theta') sin(phi')``:
    ``sum_b V_b(theta) h_b(u)`` over the sector's mix rows ``ptr[s]:ptr[s + 1]`` divided by the uniform mean's
    product (1 without a mix: ``model[s] < 0``). The tables of :meth:`qamtu.engine.served.ServedState.aim_tables`;
    :func:`qamtu.engine.served._aimed_ratio` (per link) and :func:`link_kernel` (on its own angles) call it."""
    m = model[s]
    if m < 0 or ptr[s + 1] == ptr[s]:
        return 1.0
    nt = vert.shape[2]
    nu = h.shape[1]
    ft = min(max(th / th_step, 0.0), nt - 1.0)
    it = min(int(ft), nt - 2)
    at = ft - it
    fu = min(max((u + 1.0) / u_step, 0.0), nu - 1.0)
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
        return g / base
    return 1.0


def no_aim(n_sectors: int):
    """The tables of :func:`aimed_one` for uniform beams (every factor 1; the dtypes of real ones)."""
    return (np.zeros(n_sectors + 1, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)),
            np.full(n_sectors, -1, np.int64), np.zeros((0, 0, 2)), np.zeros((0, 2)), np.zeros((0, 2)), 0.05, 0.01)


@njit(cache=True, nogil=True)
def link_kernel(dx, dy, sec, env, s_height_k, s_height, s_az, s_mt, s_group, s_eirp, gtab, ptab, l0, h_ut,
                min_d, cov_w, cov_loss, cov_sd, thresholds, body_loss, floors, eps, t_loss, t_nlos, t_dz,
                s_rot, stab, z_eps, aim, first):
    """Per-link values for flat arrays of links (see :func:`qamtu.engine.links.evaluate_link_batch`).

    ``thresholds`` and ``floors`` (one entry per RSRP threshold, the relevance floor that goes with it): the path
    terms and gains are evaluated once per link, the coverage probability and the relevance rule once per
    threshold (columns of ``pcov`` and ``keep``), each exactly as for that threshold alone.

    ``s_rot`` (n_sectors, 4): cos and sin of each sector's azimuth and mechanical tilt; ``stab`` (n_groups,
    n_u): the same-SSB-index offset of each antenna group versus ``u = sin(theta') sin(phi')`` on [-1, 1]
    (:meth:`qamtu.radio.antenna.AntennaModel.ssb_same_index_offset_db`; zero rows for one broadcast beam, no
    rows with ``ssb_interference = "envelope"``), returned for every link (the engine stores those it keeps and the
    weak sites it promotes).

    The rotation of TR 38.901 eq. 7.1-7 is evaluated on the direction's components (``cos``/``sin`` of the
    bearing are ``dy/d2d``, ``dx/d2d``; of the zenith ``-dh/d3d``, ``d2d/d3d``) instead of through angles, and
    the LOS-weighted path gain as ``-PL_LOS + 10 log10(p + (1 - p) 10^(-(PL_NLOS - PL_LOS)/10))``: the same
    values as the angle form to rounding (~1e-15 relative), with 2 instead of 8 trigonometric calls and one
    power fewer per link.

    ``aim``: the served-area tables of :func:`aimed_one` (:meth:`qamtu.engine.served.ServedState.aim_tables`, or
    :func:`no_aim`): ``intf`` is the interference of the traffic beams aimed at the sector's own users, the
    uniform mean times the aimed factor toward the link's local angles.

    ``first``: the terrain hook's first pass (:meth:`qamtu.engine.terrain.TerrainHook.evaluate`), whose links a
    threshold keeps are evaluated again for it: ``pcov`` is left 0 where a threshold keeps a link above its
    floor, and a link every threshold keeps gets neither its interference nor its SSB offset (0; every value the
    engine reads is that of the full evaluation).

    ``z_eps`` (a little below the standard normal quantile of ``eps``): a link below a threshold's floor whose
    every state's margin is below ``z_eps`` standard deviations has a coverage probability below ``eps`` (each
    term of the mixture is), so it is not kept for that threshold and its ``pcov`` is left 0 without the erfc's;
    ``pcov`` is exact wherever ``keep``.
    """
    n = dx.shape[0]
    n_thr = thresholds.shape[0]
    rsrp = np.empty(n)
    signal = np.empty(n)
    intf = np.empty(n)
    pgain = np.empty(n)
    pcov = np.zeros((n, n_thr))
    keep = np.zeros((n, n_thr), dtype=np.bool_)
    plos = np.empty(n)
    dlos = np.empty(n)
    sfl = np.empty(n)
    sfn = np.empty(n)
    ssb = np.zeros(n)
    nt = gtab.shape[2]
    npf = gtab.shape[3]
    n_u = stab.shape[1]
    du = 2.0 / (n_u - 1) if n_u > 1 else 1.0
    deg = 180.0 / math.pi
    a_ptr, a_bins, a_h, a_model, a_vert, a_uv, a_uu, a_ts, a_us = aim  # (unpacked once: no per-link refcounts)
    # geometry and path terms of the previous link (reused by the next sectors of its site), its rotation cosine
    d2d = r = ct = st = cbr = sbr = p = pl_los = pl_nlos = s_los = s_nlos = pg = 0.0
    c_prev = 2.0
    th_l = 0.0
    for k in range(n):
        s = sec[k]
        e = env[k]
        # a site's sectors at a pixel (consecutive links: the same position, antenna height and terrain) share the
        # geometry and the path terms: computed once per site (the same numbers)
        if not (k > 0 and dx[k] == dx[k - 1] and dy[k] == dy[k - 1] and e == env[k - 1]
                and s_height[s] == s_height[sec[k - 1]] and t_dz[k] == t_dz[k - 1] and t_loss[k] == t_loss[k - 1]
                and t_nlos[k] == t_nlos[k - 1]):
            d2d = math.sqrt(dx[k] * dx[k] + dy[k] * dy[k])
            dh = s_height[s] - h_ut + t_dz[k]  # terrain (qamtu.engine.terrain): site ground minus pixel ground
            # TR 38.901 eq. 7.1-7 (qamtu.radio.antenna.local_angles), slant 0: the UE's direction in the global
            # frame (zenith theta = 90 deg + elevation, bearing from north), rotated by the sector's azimuth and tilt
            r = math.sqrt(d2d * d2d + dh * dh)
            if r > 0.0:
                ct = -dh / r
                st = d2d / r
            else:
                ct = 0.0
                st = 1.0
            if d2d > 0.0:
                cbr = dy[k] / d2d
                sbr = dx[k] / d2d
            else:
                cbr = 1.0
                sbr = 0.0
            dd = d2d if d2d > min_d else min_d
            p, pl_los, pl_nlos, s_los, s_nlos = _interp_path(ptab, e, s_height_k[s], math.log10(dd), l0, 0.0005)
            if t_nlos[k]:  # terrain obstructs the ray: NLOS, plus the terrain's diffraction loss
                p = 0.0
            pl_los += t_loss[k]
            pl_nlos += t_loss[k]
            # outdoor: the O2I loss belongs to the user class (qamtu.engine.distribution)
            pg = -pl_los + 10.0 * math.log10(p + (1.0 - p) * math.exp((pl_los - pl_nlos) * LN10_DB))
        caz = s_rot[s, 0]
        saz = s_rot[s, 1]
        cb = s_rot[s, 2]
        sb = s_rot[s, 3]
        cdp = caz * cbr + saz * sbr  # cos(azimuth - bearing)
        sdp = saz * cbr - caz * sbr
        c = cb * ct + sb * cdp * st
        if c > 1.0:
            c = 1.0
        elif c < -1.0:
            c = -1.0
        if c != c_prev:  # (the same for a site's sectors without mechanical tilt)
            th_l = math.acos(c) * deg
            c_prev = c
        y_l = sdp * st  # sin(theta') sin(phi')
        ph_l = math.atan2(y_l, cb * st * cdp - sb * ct) * deg
        # bilinear gain lookup
        xt = th_l / 0.05
        it = int(xt)
        if it >= nt - 1:
            it = nt - 2
        ft = xt - it
        xp = (ph_l + 180.0) / 0.5
        ip = int(xp)
        if ip >= npf - 1:
            ip = npf - 2
        fp = xp - ip
        g = s_group[s]
        w00 = (1 - fp) * (1 - ft)
        w01 = fp * (1 - ft)
        w10 = (1 - fp) * ft
        w11 = fp * ft
        g_ssb = (gtab[g, 0, it, ip] * w00 + gtab[g, 0, it, ip + 1] * w01 + gtab[g, 0, it + 1, ip] * w10
                 + gtab[g, 0, it + 1, ip + 1] * w11)
        g_tr = (gtab[g, 1, it, ip] * w00 + gtab[g, 1, it, ip + 1] * w01 + gtab[g, 1, it + 1, ip] * w10
                + gtab[g, 1, it + 1, ip + 1] * w11)
        g_int = (gtab[g, 2, it, ip] * w00 + gtab[g, 2, it, ip + 1] * w01 + gtab[g, 2, it + 1, ip] * w10
                 + gtab[g, 2, it + 1, ip + 1] * w11)
        plos[k] = p
        dlos[k] = pl_nlos - pl_los
        sfl[k] = s_los
        sfn[k] = s_nlos
        eirp = s_eirp[s]
        base = eirp + g_ssb - body_loss
        smax = s_los if s_los > s_nlos else s_nlos
        gmax = g_ssb
        if g_tr > gmax:
            gmax = g_tr
        if g_int > gmax:
            gmax = g_int
        common = eirp + pg - body_loss
        rsrp[k] = common + g_ssb
        signal[k] = common + g_tr
        pgain[k] = pg
        if not first:
            intf[k] = 10.0 ** ((common + g_int) / 10.0) * aimed_one(th_l, y_l, s, a_ptr, a_bins, a_h, a_model,
                                                                    a_vert, a_uv, a_uu, a_ts, a_us)
        every = True  # every threshold keeps the link
        for t in range(n_thr):
            threshold = thresholds[t]
            strong = eirp + gmax + pg >= floors[t]
            if strong and first:  # kept, and evaluated again: pcov not needed
                keep[k, t] = True
                continue
            if not strong and _below_eps(base - pl_los - threshold, base - pl_nlos - threshold, s_los, s_nlos, e,
                                         cov_w, cov_loss, cov_sd, z_eps):
                every = False
                continue  # below the floor and below epsilon whatever the erfc's: not kept, pcov left 0
            pc = 0.0
            for i in range(3):
                w = cov_w[e, i]
                if w <= 0.0:
                    continue
                sd = cov_sd[e, i]
                if base - pl_los - cov_loss[e, i] + 7.5 * math.sqrt(smax * smax + sd * sd) < threshold:
                    continue
                m_los = base - pl_los - cov_loss[e, i] - threshold
                m_nlos = base - pl_nlos - cov_loss[e, i] - threshold
                pc += w * (p * _exceed(m_los, math.sqrt(s_los * s_los + sd * sd))
                           + (1.0 - p) * _exceed(m_nlos, math.sqrt(s_nlos * s_nlos + sd * sd)))
            pcov[k, t] = pc
            keep[k, t] = strong or (pc >= eps)
            every = every and keep[k, t]
        if first and every:
            intf[k] = 0.0  # evaluated again: neither its interference nor its SSB offset
            continue
        if first:  # (after the relevance rule here; before it otherwise, where it overlaps the erfc's: faster)
            intf[k] = 10.0 ** ((common + g_int) / 10.0) * aimed_one(th_l, y_l, s, a_ptr, a_bins, a_h, a_model,
                                                                    a_vert, a_uv, a_uu, a_ts, a_us)
        if n_u > 1:  # the same-SSB-index offset (linear in u, as the antenna's table)
            f = (y_l + 1.0) / du
            if f < 0.0:
                f = 0.0
            elif f > n_u - 1.0:
                f = n_u - 1.0
            iu = int(f)
            if iu > n_u - 2:
                iu = n_u - 2
            lo = stab[g, iu]
            ssb[k] = lo + (f - iu) * (stab[g, iu + 1] - lo)
    return rsrp, signal, intf, pgain, pcov, keep, plos, dlos, sfl, sfn, ssb


@njit(cache=True, nogil=True)
def _scan_pairs(px, py, pen, cand, cx, cy, radius2, out=None):
    """The pairs within the search radius, in pixel order then candidate order: counted (``out`` None) or written
    into ``out`` = (ii, jj, dx, dy, d2, sec, env); returns their number. One loop for both passes of
    :func:`tile_pairs`, so the two cannot disagree."""
    k = 0
    for i in range(px.shape[0]):
        r2 = radius2[pen[i]]
        for j in range(cand.shape[0]):
            ex = px[i] - cx[j]
            ey = py[i] - cy[j]
            e2 = ex * ex + ey * ey
            if e2 <= r2:
                if out is not None:
                    ii, jj, dx, dy, d2, sec, env = out
                    ii[k] = i
                    jj[k] = j
                    dx[k] = ex
                    dy[k] = ey
                    d2[k] = e2
                    sec[k] = cand[j]
                    env[k] = pen[i]
                k += 1
    return k


@njit(cache=True, nogil=True)
def tile_pairs(px, py, pen, cand, s_x, s_y, radius2):
    """The pairs (pixel i, candidate sector j) of a tile within the pixel's squared search radius
    ``radius2[pen[i]]``, in pixel order then candidate order (NumPy's row-major ``nonzero`` of the distance matrix):
    ``ii``, ``jj``, ``dx``, ``dy`` (pixel minus sector, m), ``d2`` (squared distance), ``sec = cand[jj]``,
    ``env = pen[ii]``. Counted first, then filled (no pixels x candidates matrix)."""
    cx = s_x[cand]
    cy = s_y[cand]
    count = _scan_pairs(px, py, pen, cand, cx, cy, radius2)
    out = (np.empty(count, np.int64), np.empty(count, np.int64), np.empty(count), np.empty(count), np.empty(count),
           np.empty(count, np.int64), np.empty(count, np.int64))
    _scan_pairs(px, py, pen, cand, cx, cy, radius2, out)
    return out


@njit(cache=True, nogil=True)
def take32(values, idx):
    """``values[idx].astype(np.float32)`` in one pass."""
    out = np.empty(idx.shape[0], np.float32)
    for a in range(idx.shape[0]):
        out[a] = values[idx[a]]
    return out


@njit(cache=True)
def _empty_i64(n):
    return np.empty(n, np.int64)


@njit(cache=True)
def _empty_i32(n):
    return np.empty(n, np.int32)


@njit(cache=True)
def _empty_f32(n):
    return np.empty(n, np.float32)


def plain_empty(n: int, dtype) -> np.ndarray:
    """``np.empty(n, dtype)`` (int64, int32 or float32) allocated by Numba: NumPy advises the kernel to back its
    own arrays of 4 MiB and more with transparent huge pages, and where the kernel's THP defrag setting is
    "madvise" (Ubuntu's default) each first touch of such an array may compact memory: measured 0.4-0.5 s of
    CPU for the ~200 MB of Aktau 25 m's links, against 0.08 s with plain pages."""
    make = {np.dtype(np.int64): _empty_i64, np.dtype(np.int32): _empty_i32, np.dtype(np.float32): _empty_f32}
    return make[np.dtype(dtype)](int(n))


def _z_cut(eps: float) -> float:
    """A standard normal quantile a little below that of ``eps`` (1e-6 sigma: far above the erfc's rounding);
    -inf (no shortcut) outside (0, 1)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(eps) - 1e-6 if 0.0 < eps < 1.0 else -math.inf


def ssb_offset_tables(models, config) -> np.ndarray:
    """(n_groups, n_u) same-SSB-index offset tables versus u on [-1, 1] (zero rows for antennas with one broadcast
    beam); (n_groups, 0) when no group has one or ``config.ssb_interference`` is "envelope" (offset 0)."""
    tables = [None if config.ssb_interference == "envelope" else m.ssb_same_index_offset_table() for m in models]
    sizes = {np.asarray(t).size for t in tables if t is not None}
    if not sizes:
        return np.zeros((len(models), 0))
    if len(sizes) > 1:
        from qamtu.errors import InternalError

        raise InternalError(f"same-SSB-index offset tables of {sorted(sizes)} points: the antenna models of one "
                            "sector table must share the u grid")
    n_u = sizes.pop()
    return np.ascontiguousarray(np.stack([np.zeros(n_u) if t is None else np.asarray(t, dtype=float)
                                          for t in tables]))


class FastLinks:
    """Tables for one (sectors, config, cut-off) and a call that evaluates flat link batches."""

    def __init__(self, sectors, config, cache: dict, d_max_m: float):
        codes, models = cache["groups"]
        self.ok = len(models) <= MAX_GROUPS
        if not self.ok:
            return
        self.gtab = gain_tables(models)
        heights, hk = np.unique(sectors.height_m, return_inverse=True)
        self.ptab, self.l0 = path_tables(config, heights, d_max_m)
        self.hk = hk.astype(np.int64)
        self.height = sectors.height_m.astype(float)
        self.az = sectors.azimuth_deg.astype(float)
        self.mt = sectors.mechanical_tilt_deg.astype(float)
        self.group = codes.astype(np.int64)
        self.eirp = (cache["p_re"] + config.ue_antenna_gain_dbi).astype(float)
        cov = cache["cov_states"]
        self.cov_w = np.array([c.weights for c in cov], dtype=float)
        self.cov_loss = np.array([c.mean_loss_db for c in cov], dtype=float)
        self.cov_sd = np.array([c.std_db for c in cov], dtype=float)
        az, mt = np.radians(self.az), np.radians(self.mt)
        self.rot = np.ascontiguousarray(np.column_stack([np.cos(az), np.sin(az), np.cos(mt), np.sin(mt)]))
        self.stab = ssb_offset_tables(models, config)
        self.no_aim = no_aim(len(self.az))
        self.config = config

    def __call__(self, dx, dy, sector_idx, env_code, floor_dbm, terrain=None, thresholds_dbm=None, aim=None,
                 first=False):
        """The kernel's arrays for these links; ``thresholds_dbm`` (with ``floor_dbm`` one floor per threshold):
        ``coverage_probability`` and ``keep`` get one column per threshold, else they are for the config's;
        ``aim``: the served-area tables of :func:`aimed_one` (None: uniform beams); ``first``: the terrain hook's
        first pass (:func:`link_kernel`)."""
        c = self.config
        if terrain is None:
            zeros = np.zeros(np.shape(dx)[0])
            terrain = (zeros, np.zeros(zeros.shape[0], dtype=np.bool_), zeros)
        one = thresholds_dbm is None
        thresholds = np.array([c.rsrp_threshold_dbm] if one else thresholds_dbm, dtype=float)
        floors = np.broadcast_to(np.asarray(floor_dbm, dtype=float), thresholds.shape).copy()
        out = link_kernel(
            np.ascontiguousarray(dx, dtype=float), np.ascontiguousarray(dy, dtype=float),
            np.ascontiguousarray(sector_idx, dtype=np.int64), np.ascontiguousarray(env_code, dtype=np.int64),
            self.hk, self.height, self.az, self.mt, self.group, self.eirp, self.gtab, self.ptab, self.l0,
            float(c.ue_height_m), float(c.min_distance_m), self.cov_w, self.cov_loss, self.cov_sd,
            thresholds, float(c.body_loss_db), floors, float(c.cutoff_coverage_epsilon),
            *terrain, self.rot, self.stab, _z_cut(float(c.cutoff_coverage_epsilon)),
            self.no_aim if aim is None else aim, bool(first),
        )
        if one:  # (rsrp, signal, intf, pgain, pcov, keep, ...): one column -> flat
            out = out[:4] + (np.ascontiguousarray(out[4][:, 0]), np.ascontiguousarray(out[5][:, 0])) + out[6:]
        return out
