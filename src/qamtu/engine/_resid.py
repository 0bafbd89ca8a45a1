"""The weak links' residual interference as a random sum: its mean and variance per pixel.

A link below the relevance floor (:mod:`qamtu.engine.links`) is not stored; its interference enters the pixel's
residual. The link's power is a LOS/NLOS log-normal mixture (TR 38.901 7.4; ``p`` the LOS probability, ``d`` the
LOS minus NLOS median in dB, ``s_l`` / ``s_n`` the shadow-fading sigmas), of which ``interference_mw`` is the
LOS-weighted linear mean of the two MEDIANS, ``I = p m_l + (1 - p) m_n`` (no shadowing term). With
``beta = ln(10) / 10`` and ``D = p e^(beta d) + 1 - p``:

* mean:  ``E = I (p e^(beta d + (beta s_l)^2 / 2) + (1 - p) e^((beta s_n)^2 / 2)) / D``
* second moment: ``E2 = I^2 (p e^(2 beta d + 2 (beta s_l)^2) + (1 - p) e^(2 (beta s_n)^2)) / D^2``

the moments :mod:`qamtu.engine.distribution` gives a stored site's power. A site's sectors share one LOS state and
one shadow draw (fully correlated): consecutive weak links of a pixel from the same site (the sectors of a site
are consecutive rows of the site table in practice; the links are in ascending sector order) are summed before
the variance is taken, ``Var = (sum I)^2 (E2 / I^2 - (E / I)^2)`` with the first link's mixture (a site's sectors
have the same position, hence the same ``p``, ``d`` and sigmas). Different sites are independent. A site whose
sectors are not consecutive rows is counted as independent parts (variance underestimated by at most the
cross terms).

The weak sectors of a site that has a STORED link at the pixel (the back and side lobes of a near site) are not
in the residual: they share that site's draw, so their interference is added to the site's first stored link
(``Links.cosited_weak_mw``) and the kernel scales it with that site's level (truncated below the serving level,
or the serving site's own other sectors). Counted in the residual instead (independent, conditioned on the
residual's own level) they made Astana's served plan 0.016 territory more pessimistic at 30 dB.

The residual's relative variance is large (100-250 where Astana's served plan flips between 30 and 60 dB: many
weak sites, each with a small LOS probability and a LOS level tens of dB above its NLOS one), and a single
log-normal with that mean and variance, conditioned below the serving level, is a poor fit: drawn as modelled it
was 0.02-0.03 below drawing every link (Monte-Carlo, docs/notes/resid2-22.md). So per pixel the
``EngineConfig.cutoff_weak_sites`` weak sites of largest variance are stored as links (:func:`weak_links`: the
strongest sector of each, its other sectors folded onto it as above); the kernel conditions each of them
below the serving level as any stored site, and the rest stays in the residual.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

BETA = math.log(10.0) / 10.0


@njit(cache=True, nogil=True)
def _mixture_factors(p, d_db, s_l, s_n):
    """(E / I, E2 / I^2) of a link's LOS/NLOS log-normal mixture relative to its median mix ``I``."""
    p = min(max(p, 0.0), 1.0)
    el = math.exp(BETA * d_db)
    den = p * el + 1.0 - p
    bl = (BETA * s_l) ** 2
    bn = (BETA * s_n) ** 2
    m1 = (p * el * math.exp(0.5 * bl) + (1.0 - p) * math.exp(0.5 * bn)) / den
    m2 = (p * el * el * math.exp(2.0 * bl) + (1.0 - p) * math.exp(2.0 * bn)) / (den * den)
    return m1, m2


@njit(cache=True, nogil=True)
def _promote(p0, p1, ii, own, kept, out, intf, rsrp_dbm, plos, dlos, sfl, sfn, sec, site_of_sector, max_sites,
             site_v, site_k):
    """:func:`weak_links`'s promotion at one pixel (its links ``own[p0:p1]``): marks in ``out`` the strongest
    SS-RSRP link of each of the ``max_sites`` weak sites (no ``kept`` link) of largest variance; returns how many.
    ``site_v``, ``site_k``: scratch of at least ``p1 - p0``."""
    nb = 0
    a0 = p0
    while a0 < p1:
        s = site_of_sector[sec[own[a0]]]
        a1 = a0 + 1
        while a1 < p1 and site_of_sector[sec[own[a1]]] == s:
            a1 += 1
        run_i = 0.0
        vf = 0.0
        top = -1
        for a in range(a0, a1):
            if kept[a]:
                top = -2
                break
            link = own[a]
            run_i += intf[link]
            if top == -1:
                m1, m2 = _mixture_factors(float(plos[link]), float(dlos[link]), float(sfl[link]), float(sfn[link]))
                vf = max(m2 - m1 * m1, 0.0)
            if top == -1 or rsrp_dbm[link] > rsrp_dbm[own[top]]:
                top = a
        if top >= 0:
            site_v[nb] = run_i * run_i * vf
            site_k[nb] = top
            nb += 1
        a0 = a1
    n_add = 0
    for _ in range(min(max_sites, nb)):  # the largest first (a few per pixel: selection, not a sort)
        q = 0
        for r in range(1, nb):
            if site_v[r] > site_v[q]:
                q = r
        if site_v[q] <= 0.0:
            break
        out[site_k[q]] = True
        n_add += 1
        site_v[q] = -1.0
    return n_add


@njit(cache=True, nogil=True)
def weak_links(ii, own, kept, intf, rsrp_dbm, plos, dlos, sfl, sfn, sec, site_of_sector, max_sites, n_px):
    """The weak links of a tile: the ``max_sites`` weak sites per pixel that are stored all the same, and the
    residual moments of the rest, in one pass over the pixels.

    ``own`` (ascending: pixel order, then ascending sector) are the links considered, ``ii[link]`` their pixel
    (0..n_px-1), ``kept`` (over ``own``) the relevance mask and ``site_of_sector[sec[link]]`` the link's site code;
    runs of consecutive links of one (pixel, site) are a site's (module docstring).

    Per pixel, first the promotion: of each of the ``max_sites`` weak SITES (no kept link at the pixel) of largest
    variance (as the residual counts it: the heavy LOS-capable ones), as many as there are, the strongest SS-RSRP
    link is kept too (its other sectors then fold onto it). Then, with that mask, the mean (mW) and variance
    (mW^2) of the summed interference of the links not kept whose site has no kept link at the pixel, and the mean
    of their sites' summed SS-RSRP (mW; per site its strongest weak sector's: the kernel conditions the residual
    below the serving level). The weak links of a site that HAS a kept link there (the same draw) go to that
    site's first kept link instead: ``fold[link]`` (mW, per link of ``intf``) is what its interference gains.

    Returns (the new mask over ``own``, the number of links promoted, mean, var, level, fold); ``max_sites`` 0
    gives the moments of ``kept`` as it is.
    """
    mask = kept.copy()
    mean = np.zeros(n_px)
    var = np.zeros(n_px)
    level = np.zeros(n_px)
    fold = np.zeros(intf.shape[0])
    n = own.shape[0]
    n_add = 0
    site_v = np.empty(n)
    site_k = np.empty(n, np.int64)
    q_prev = (math.nan, math.nan, math.nan, math.nan)
    m1 = m2 = 0.0
    p0 = 0
    while p0 < n:
        px = ii[own[p0]]
        p1 = p0 + 1
        while p1 < n and ii[own[p1]] == px:
            p1 += 1
        if max_sites > 0:
            n_add += _promote(p0, p1, ii, own, kept, mask, intf, rsrp_dbm, plos, dlos, sfl, sfn, sec,
                              site_of_sector, max_sites, site_v, site_k)
        a0 = p0
        while a0 < p1:  # the pixel's (pixel, site) runs
            s = site_of_sector[sec[own[a0]]]
            a1 = a0 + 1
            while a1 < p1 and site_of_sector[sec[own[a1]]] == s:
                a1 += 1
            host = -1
            for a in range(a0, a1):
                if mask[a]:
                    host = own[a]
                    break
            run_i = 0.0
            run_r = 0.0  # the largest 10^(rsrp / 10) m1 of the run's weak links, taken at the largest rsrp of
            top_r = -math.inf  # the links since the mixture last changed (exp is monotonic: the same number)
            run_v = -1.0
            for a in range(a0, a1):
                if mask[a]:
                    continue
                link = own[a]
                if host >= 0:
                    fold[host] += intf[link]
                    continue
                q = (float(plos[link]), float(dlos[link]), float(sfl[link]), float(sfn[link]))
                if q != q_prev:  # (a site's sectors share the mixture: computed once per run)
                    if top_r > -math.inf:
                        run_r = max(run_r, math.exp(BETA * top_r) * m1)
                        top_r = -math.inf
                    m1, m2 = _mixture_factors(q[0], q[1], q[2], q[3])
                    q_prev = q
                mean[px] += intf[link] * m1
                run_i += intf[link]
                top_r = max(top_r, float(rsrp_dbm[link]))
                if run_v < 0.0:
                    run_v = max(m2 - m1 * m1, 0.0)  # the run's first weak link's mixture (the site's)
            if top_r > -math.inf:
                run_r = max(run_r, math.exp(BETA * top_r) * m1)
            if run_v >= 0.0:
                var[px] += run_i * run_i * run_v
                level[px] += run_r
            a0 = a1
        p0 = p1
    return mask, n_add, mean, var, level, fold
