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
cross terms); a site of which some sectors are stored and others weak has its weak part independent of its
stored links (the residual's share of that site is the weak sectors only, 30 dB below the reference).
"""

from __future__ import annotations

import math

from numba import njit
import numpy as np

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
def weak_moments(ii, own, kept, intf, rsrp_dbm, plos, dlos, sfl, sfn, sec, site_of_sector, n_px):
    """Per pixel ``ii`` (0..n_px-1) the mean (mW) and variance (mW^2) of the summed interference of the links
    ``own[a]`` not ``kept[a]`` (``own`` ascending: pixel order, then ascending sector); ``site_of_sector[sec[link]]``:
    the link's site code. Co-sited consecutive weak links of a pixel are fully correlated (module docstring).
    Also the mean of the weak sites' summed SS-RSRP (mW; per site its strongest weak sector's): the level at
    which the kernel truncates the residual (a weak site is below the serving level, as every other site)."""
    mean = np.zeros(n_px)
    var = np.zeros(n_px)
    level = np.zeros(n_px)
    run_px = -1
    run_site = -1
    run_i = 0.0
    run_v = 0.0  # E2 / I^2 - (E / I)^2 of the run's first link
    run_r = 0.0  # the site's strongest weak sector's mean SS-RSRP, mW
    for a in range(own.shape[0]):
        if kept[a]:
            continue
        link = own[a]
        px = ii[link]
        s = site_of_sector[sec[link]]
        m1, m2 = _mixture_factors(float(plos[link]), float(dlos[link]), float(sfl[link]), float(sfn[link]))
        mean[px] += intf[link] * m1
        r = math.exp(BETA * float(rsrp_dbm[link])) * m1
        if px == run_px and s == run_site:
            run_i += intf[link]
            run_r = max(run_r, r)
            continue
        if run_px >= 0:
            var[run_px] += run_i * run_i * run_v
            level[run_px] += run_r
        run_px = px
        run_site = s
        run_i = intf[link]
        run_r = r
        run_v = max(m2 - m1 * m1, 0.0)
    if run_px >= 0:
        var[run_px] += run_i * run_i * run_v
        level[run_px] += run_r
    return mean, var, level
