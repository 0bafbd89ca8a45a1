"""Per-pixel, per-user-class distributions of SS-RSRP and SINR: coverage and speed judged on probabilities.

The model a pixel's user sees (the one :func:`qamtu.engine.montecarlo.pixel_monte_carlo` draws by brute force):

* every **site** ``l`` in range has one LOS state (``P_LOS``) and one log-normal shadow fading (sigma of the
  state) for all its sectors (one propagation path; TR 38.901 7.4), independent between sites; its sectors differ
  by their beam gains only;
* an **indoor** user has one building loss ``L`` (TR 38.901 7.4.3: low-loss or high-loss building, wall loss +
  indoor distance + N(0, sigma_P)) common to all its links, drawn once per user; an outdoor user has ``L = 0``;
* the user **camps on the strongest SS-RSRP** (best server under shadowing: the strongest sector of the
  strongest site in that draw);
* SSB SINR: the serving SSB against every other sector's SSB at full power (always-on signals, synchronised
  network) plus noise; PDSCH SINR: the serving traffic beam against ``load`` x every other sector's interference
  beam (its own site's other sectors included) plus the weak links' residual, plus noise.

What is computed (per pixel, :func:`pixel_distributions`):

* ``P(SS-RSRP >= thr)`` = ``E_L[1 - prod_l (1 - P(R_l >= thr + L))]``: exact under the model (sites independent
  given ``L``); ``L`` is integrated by Gauss-Hermite quadrature (``N_QUAD`` nodes) over its normal approximation
  (:func:`qamtu.engine.physics.o2i_states`: mean loss, sigma_P and the spread of the indoor distance term).
* ``P(SINR >= g)``: for each candidate serving site ``j`` the interference of the other sites is approximated by a
  log-normal with the same mean and variance (Fenton-Wilkinson; the moments of each site's LOS/NLOS log-normal
  mixture are exact and add over independent sites); the site's own other sectors scale with the serving signal
  (same shadowing), so ``SINR_j >= g`` iff ``X_j (t_j - g load c_j) >= g D_j``. The per-site probabilities
  ``P_j`` are combined as ``1 - prod_j (1 - P_j)`` (see :data:`COMBINE`), which assumes that the events of two
  sites are independent; with ``g load > 1`` at most one site can pass and the events are disjoint, which the
  product slightly over-counts. ``tests/engine/test_distribution.py`` bounds the whole approximation against
  the brute-force Monte-Carlo on random layouts (within 0.02).
* Quantiles (median SS-RSRP, median SSB / PDSCH SINR, PDSCH SINR at the 10th percentile) by bisection on the
  probabilities (0.02 dB).

Cost: per pixel ``O(sites)`` for the moments and the RSRP probability, ``O(candidates)`` per SINR evaluation;
indoor classes ``N_QUAD`` times that. Numba, parallel over pixels.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

BETA = math.log(10.0) / 10.0  # dB -> neper of power
N_QUAD = 6
#: candidate serving sites: mean traffic signal within this many dB of the strongest
CANDIDATE_RANGE_DB = 40.0
BISECT_STEPS = 13

#: output rows of :func:`pixel_distributions`
ROWS = ("p_rsrp_outdoor", "p_dl_outdoor", "p_rsrp_indoor_low", "p_dl_indoor_low", "p_rsrp_indoor_high",
        "p_dl_indoor_high", "rsrp_median_dbm", "ssb_sinr_median_db", "pdsch_sinr_median_db", "pdsch_sinr_p10_db",
        "p_ul_outdoor", "p_ul_indoor_low", "p_ul_indoor_high", "ul_snr_p10_db")


@njit(cache=True, nogil=True)
def _q(x):
    """P(Z >= x), Z standard normal."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


@njit(cache=True, nogil=True)
def _rsrp_any(y, ns, m_l, m_n, p, s_l, s_n):
    """P(max_l R_l >= y) over independent sites (R_l: LOS/NLOS mixture of normals in dB)."""
    miss = 1.0
    for j in range(ns):
        if m_l[j] + 8.0 * s_l[j] < y and m_n[j] + 8.0 * s_n[j] < y:
            continue
        e = p[j] * _q((y - m_l[j]) / s_l[j]) + (1.0 - p[j]) * _q((y - m_n[j]) / s_n[j])
        miss *= 1.0 - e
    return 1.0 - miss


@njit(cache=True, nogil=True)
def _sinr_exceed(g, ncand, cand, m_l, m_n, p, s_l, s_n, t_lin, a, c, ex, vx, t1, t2, resid, load, noise):
    """P(SINR >= g) (g linear), combined over the candidate serving sites (module docstring)."""
    miss = 1.0
    for k in range(ncand):
        j = cand[k]
        num = t_lin[j] - g * load * c[j]
        if num <= 0.0:
            continue
        mean = load * (max(t1 - a[j] * ex[j], 0.0) + resid) + noise
        var = load * load * max(t2 - a[j] * a[j] * vx[j], 0.0)
        s2 = math.log(1.0 + var / (mean * mean))
        mu = math.log(mean) - 0.5 * s2
        thr = math.log(g) + mu - math.log(num)  # need beta * R_j (neper) >= thr
        sl = math.sqrt((BETA * s_l[j]) ** 2 + s2)
        sn = math.sqrt((BETA * s_n[j]) ** 2 + s2)
        pj = p[j] * _q((thr - BETA * m_l[j]) / sl) + (1.0 - p[j]) * _q((thr - BETA * m_n[j]) / sn)
        miss *= 1.0 - pj
    return 1.0 - miss


@njit(cache=True, nogil=True)
def _sinr_quantile(q, ncand, cand, m_l, m_n, p, s_l, s_n, t_lin, a, c, ex, vx, t1, t2, resid, load, noise):
    """The SINR (dB) exceeded with probability ``q``."""
    lo, hi = -30.0, 60.0
    for _ in range(BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        if _sinr_exceed(10.0 ** (mid / 10.0), ncand, cand, m_l, m_n, p, s_l, s_n, t_lin, a, c, ex, vx, t1, t2,
                        resid, load, noise) >= q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@njit(cache=True, nogil=True)
def _moments(m_l, m_n, p, s_l, s_n):
    """Mean and variance (mW) of a site's power as an interferer.

    The LOS/NLOS mixture is first replaced by the log-normal with the mixture's mean and variance in dB (the
    mixture's linear moments are dominated by rare LOS draws, and a Fenton-Wilkinson fit on them puts far too much
    weight on strong interference; matching in dB keeps the body of the distribution, which decides the
    probabilities near the 10 % level), then its linear moments are returned for the Fenton-Wilkinson sum.
    """
    mu = p * m_l + (1 - p) * m_n
    var = p * s_l * s_l + (1 - p) * s_n * s_n + p * (1 - p) * (m_l - m_n) ** 2
    e1 = math.exp(BETA * mu + 0.5 * BETA * BETA * var)
    e2 = math.exp(2 * BETA * mu + 2 * BETA * BETA * var)
    return e1, max(e2 - e1 * e1, 0.0)


@njit(cache=True, nogil=True, parallel=True)
def pixel_distributions(starts, sector, rsrp, signal, intf, plos, dlos, sfl, sfn, site_of_sector, active,
                        resid_pix, o2i_mu, o2i_sd, env_pix, gh_x, gh_w, thr_dbm, g_dl, load, noise_mw,
                        p_ref_sector, ul_pmax_re, ul_p0_re, ul_alpha, ul_nd_db, g_ul, full, out, best_link):
    """Probabilities and quantiles for each pixel group (links ``starts[i]:starts[i+1]`` are one pixel's).

    ``out`` (len(ROWS), n_groups) is filled in place; ``best_link`` (n_groups,) gets the link of the strongest
    mean SS-RSRP (-1 when no active link). With ``full`` False only the outdoor DL/RSRP probabilities (and the UL
    one) are computed (the planner's inner loop).

    Uplink (per class): :func:`_ul_exceed` for the site with the strongest mean power (the UL serving cell is the
    DL one; the strongest site on average stands for it), its shadowing and LOS state and the user's building loss
    integrated as for the downlink; the interference is the rise over thermal in ``ul_nd_db``.
    """
    n_groups = starts.shape[0] - 1
    for gi in prange(n_groups):
        a0 = starts[gi]
        a1 = starts[gi + 1]
        n = a1 - a0
        best_link[gi] = -1
        if n <= 0:
            continue
        # ---- sites of the pixel: strongest sector, its traffic offset, the summed SSB / interference ratios
        site_id = np.empty(n, np.int64)
        kbest = np.empty(n, np.int64)
        a_int = np.zeros(n)
        a_ssb = np.zeros(n)
        ns = 0
        best_r = -1e300
        for k in range(a0, a1):
            s = sector[k]
            if not active[s]:
                continue
            r = rsrp[k]
            if r > best_r:
                best_r = r
                best_link[gi] = k
            sid = site_of_sector[s]
            j = -1
            for q in range(ns):
                if site_id[q] == sid:
                    j = q
                    break
            if j < 0:
                j = ns
                ns += 1
                site_id[j] = sid
                kbest[j] = k
            elif r > rsrp[kbest[j]]:
                kbest[j] = k
        if ns == 0:
            continue
        m_l = np.empty(ns)
        m_n = np.empty(ns)
        p = np.empty(ns)
        s_l = np.empty(ns)
        s_n = np.empty(ns)
        t_lin = np.empty(ns)
        t_ssb = np.ones(ns)
        c_int = np.empty(ns)
        c_ssb = np.empty(ns)
        ex = np.empty(ns)
        vx = np.empty(ns)
        for j in range(ns):
            k = kbest[j]
            pj = min(max(float(plos[k]), 0.0), 1.0)
            d = float(dlos[k])
            r = float(rsrp[k])
            m_n[j] = r - 10.0 * math.log10(pj * 10.0 ** (d / 10.0) + 1.0 - pj)
            m_l[j] = m_n[j] + d
            p[j] = pj
            s_l[j] = max(float(sfl[k]), 1e-3)
            s_n[j] = max(float(sfn[k]), 1e-3)
            t_lin[j] = 10.0 ** ((float(signal[k]) - r) / 10.0)
            ex[j], vx[j] = _moments(m_l[j], m_n[j], pj, s_l[j], s_n[j])
        for k in range(a0, a1):
            s = sector[k]
            if not active[s]:
                continue
            sid = site_of_sector[s]
            for j in range(ns):
                if site_id[j] == sid:
                    rb = float(rsrp[kbest[j]])
                    a_int[j] += float(intf[k]) / 10.0 ** (rb / 10.0)
                    a_ssb[j] += 10.0 ** ((float(rsrp[k]) - rb) / 10.0)
                    break
        t1 = 0.0
        t2 = 0.0
        u1 = 0.0
        u2 = 0.0
        for j in range(ns):
            k = kbest[j]
            c_int[j] = a_int[j] - float(intf[k]) / 10.0 ** (float(rsrp[k]) / 10.0)
            c_ssb[j] = a_ssb[j] - 1.0
            t1 += a_int[j] * ex[j]
            t2 += a_int[j] * a_int[j] * vx[j]
            u1 += a_ssb[j] * ex[j]
            u2 += a_ssb[j] * a_ssb[j] * vx[j]
        a_int_s = a_int[:ns]
        a_ssb_s = a_ssb[:ns]
        # candidate serving sites
        smax = -1e300
        for j in range(ns):
            v = 10.0 * math.log10(ex[j] * t_lin[j])
            if v > smax:
                smax = v
        cand = np.empty(ns, np.int64)
        ncand = 0
        for j in range(ns):
            if 10.0 * math.log10(ex[j] * t_lin[j]) >= smax - 40.0:
                cand[ncand] = j
                ncand += 1
        pix = gi
        resid = resid_pix[pix]
        e = env_pix[pix]
        # strongest site on average: its path loss drives the UL power control
        jb = 0
        for j in range(ns):
            if ex[j] > ex[jb]:
                jb = j
        # ---- classes: 0 outdoor (L = 0), 1 indoor low-loss, 2 indoor high-loss (L ~ N(mu, sd), quadrature)
        for cls in range(3):
            if cls == 0:
                nq = 1
            else:
                nq = gh_x.shape[0]
                if o2i_sd[e, cls - 1] < 0.0:  # class absent in this environment
                    out[2 * cls, gi] = np.nan
                    out[2 * cls + 1, gi] = np.nan
                    out[10 + cls, gi] = np.nan
                    continue
            pr = 0.0
            pd = 0.0
            pu = 0.0
            for qi in range(nq):
                if cls == 0:
                    loss = 0.0
                    w = 1.0
                else:
                    loss = max(o2i_mu[e, cls - 1] + math.sqrt(2.0) * o2i_sd[e, cls - 1] * gh_x[qi], 0.0)
                    w = gh_w[qi] / math.sqrt(math.pi)
                    if not full:
                        continue
                lin = 10.0 ** (loss / 10.0)
                pr += w * _rsrp_any(thr_dbm + loss, ns, m_l, m_n, p, s_l, s_n)
                pd += w * _sinr_exceed(g_dl, ncand, cand, m_l, m_n, p, s_l, s_n, t_lin, a_int_s, c_int, ex, vx,
                                       t1, t2, resid, load, noise_mw * lin)
                # UL: SNR = P_ue_RE + G - PL - (N + IoT); P_ue = min(Pmax, P0 + alpha PL) with PL = -(R - off)
                # in the serving site's draw; exceed g_ul  <=>  R_dB above a threshold (piecewise in PL)
                if g_ul > -1e299:
                    pu += w * _ul_exceed(g_ul, m_l[jb] - loss, m_n[jb] - loss, p[jb], s_l[jb], s_n[jb],
                                         10.0 * math.log10(t_lin[jb]), p_ref_sector[sector[kbest[jb]]],
                                         ul_pmax_re, ul_p0_re, ul_alpha, ul_nd_db)
            if cls == 0 or full:
                out[2 * cls, gi] = pr
                out[2 * cls + 1, gi] = pd
                out[10 + cls, gi] = pu if g_ul > -1e299 else np.nan
        if full:
            # medians and the 10th percentile, outdoor users
            lo = m_l[0]
            for j in range(ns):
                lo = max(lo, m_l[j])
            hi = lo + 40.0
            lo = lo - 60.0
            for _ in range(BISECT_STEPS + 1):
                mid = 0.5 * (lo + hi)
                if _rsrp_any(mid, ns, m_l, m_n, p, s_l, s_n) >= 0.5:
                    lo = mid
                else:
                    hi = mid
            out[6, gi] = 0.5 * (lo + hi)
            out[7, gi] = _sinr_quantile(0.5, ncand, cand, m_l, m_n, p, s_l, s_n, t_ssb, a_ssb_s, c_ssb, ex, vx,
                                        u1, u2, 0.0, 1.0, noise_mw)
            out[8, gi] = _sinr_quantile(0.5, ncand, cand, m_l, m_n, p, s_l, s_n, t_lin, a_int_s, c_int, ex, vx,
                                        t1, t2, resid, load, noise_mw)
            # UL SNR exceeded by 90 % of outdoor users: the serving site's RSRP at its 10th percentile
            lo = m_n[jb] - 60.0
            hi = m_l[jb] + 40.0
            for _ in range(BISECT_STEPS + 1):
                mid = 0.5 * (lo + hi)
                if p[jb] * _q((mid - m_l[jb]) / s_l[jb]) + (1.0 - p[jb]) * _q((mid - m_n[jb]) / s_n[jb]) >= 0.9:
                    lo = mid
                else:
                    hi = mid
            r10 = 0.5 * (lo + hi)
            p_ref = p_ref_sector[sector[kbest[jb]]]
            t_db = 10.0 * math.log10(t_lin[jb])
            p_ue = min(ul_pmax_re, ul_p0_re + ul_alpha * (p_ref - r10))
            out[13, gi] = p_ue + r10 + t_db - p_ref - ul_nd_db
            out[9, gi] = _sinr_quantile(0.9, ncand, cand, m_l, m_n, p, s_l, s_n, t_lin, a_int_s, c_int, ex, vx,
                                        t1, t2, resid, load, noise_mw)


@njit(cache=True, nogil=True)
def _ul_exceed(g_db, m_l, m_n, p, s_l, s_n, t_db, p_ref, pmax_re, p0_re, alpha, nd_db):
    """P(PUSCH SNR >= g_db) for a serving site whose SS-RSRP ``R`` (dBm) is a LOS/NLOS mixture of normals.

    Open-loop power control per RE (TS 38.213 7.1.1 with the whole carrier allocated): the UE estimates
    ``PL = p_ref - R`` (``p_ref``: the SSB EPRE) and sends ``P = min(pmax_re, p0_re + alpha PL)`` per RE; the gNB
    receives ``P + R + t_db - p_ref`` (the traffic beam's gain, reciprocal) against ``nd_db`` (noise + rise over
    thermal). The SNR is non-decreasing in ``R``, so the event is ``R >= R*`` with
    ``R* = max(g + nd + p_ref - t - pmax, p_ref + (g + nd - t - p0) / (1 - alpha))``.
    """
    r1 = g_db + nd_db + p_ref - t_db - pmax_re
    if alpha < 1.0:
        r2 = p_ref + (g_db + nd_db - t_db - p0_re) / (1.0 - alpha)
    else:
        r2 = -1e300 if p0_re + t_db - nd_db >= g_db else 1e300
    r_star = max(r1, r2)
    return p * _q((r_star - m_l) / s_l) + (1.0 - p) * _q((r_star - m_n) / s_n)


def gauss_hermite(n: int = N_QUAD):
    """Nodes and weights of the n-point Gauss-Hermite rule (weight exp(-x^2))."""
    x, w = np.polynomial.hermite.hermgauss(n)
    return x.astype(float), w.astype(float)
