"""Numba kernels of the engine (private): the per-pixel reduction over sparse links.

The reduction visits links in storage order and accumulates per pixel in float64. Links of one pixel are always
stored in ascending sector order (see :func:`qamtu.engine.links.compute_links`), so the sums are bit-identical
whatever the chunk size and whatever other pixels' links are interleaved with them.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def reduce_links(pixel, sector, rsrp_dbm, interference_mw, coverage_probability, active, n_pixels):
    """Best server, total interference-beam power and best single-link coverage probability per pixel.

    Parameters
    ----------
    pixel, sector : int32 arrays, shape (n_links,)
    rsrp_dbm : float32 array, shape (n_links,)
        Mean SS-RSRP of each link, dBm.
    interference_mw : float32 array, shape (n_links,)
        Mean received power of each link with the interference beam at full load, mW per RE.
    coverage_probability : float32 array, shape (n_links,)
    active : bool array, shape (n_sectors,)
    n_pixels : int

    Returns
    -------
    best_link : int64 array, shape (n_pixels,); -1 where no active link
    total_interference_mw : float64 array, shape (n_pixels,)
    max_coverage_probability : float64 array, shape (n_pixels,)
    """
    best_link = np.full(n_pixels, -1, dtype=np.int64)
    best_rsrp = np.full(n_pixels, -np.inf, dtype=np.float64)
    total = np.zeros(n_pixels, dtype=np.float64)
    pmax = np.zeros(n_pixels, dtype=np.float64)
    for k in range(pixel.shape[0]):
        s = sector[k]
        if not active[s]:
            continue
        p = pixel[k]
        r = np.float64(rsrp_dbm[k])
        if r > best_rsrp[p]:
            best_rsrp[p] = r
            best_link[p] = k
        total[p] += np.float64(interference_mw[k])
        c = np.float64(coverage_probability[k])
        if c > pmax[p]:
            pmax[p] = c
    return best_link, total, pmax


@njit(cache=True, nogil=True)
def sector_sums(best_sector, weight, n_sectors):
    """Sum ``weight`` per serving sector (pixels with best_sector < 0 are skipped)."""
    out = np.zeros(n_sectors, dtype=np.float64)
    for i in range(best_sector.shape[0]):
        s = best_sector[i]
        if s >= 0:
            out[s] += weight[i]
    return out
