"""Clutter loss of a terminal standing in clutter on a terrestrial path: ITU-R P.2108-1 §3.2 (statistical model).

``L_ctt(p) = -5 log10(10^(-0.2 L_l) + 10^(-0.2 L_s)) - 6 Q^-1(p / 100)`` (eq. 3), with
``L_l = 23.5 + 9.6 log10(f)`` (eq. 4) and ``L_s = 32.98 + 23.9 log10(d) + 3 log10(f)`` (eq. 5), f in GHz
(2-67 GHz), d the path length in km (>= 0.25 km; shorter paths use 0.25 km), p the percentage of locations
(50: median, ``Q^-1(0.5) = 0``). It applies to one end of the path; for both ends in clutter P.2108 adds the
loss of each end.

References
----------
ITU-R P.2108-1 (09/2021) "Prediction of clutter loss", §3.2.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from qamtu.errors import OutOfRangeError

__all__ = ["terrestrial_clutter_loss_db", "FREQ_RANGE_HZ"]

#: Frequencies of P.2108 §3.2, Hz.
FREQ_RANGE_HZ = (2e9, 67e9)


@njit(cache=True, nogil=True, error_model="numpy")
def _lctt50(d_km, f_ghz):
    d = d_km if d_km > 0.25 else 0.25
    ll = 23.5 + 9.6 * math.log10(f_ghz)
    ls = 32.98 + 23.9 * math.log10(d) + 3.0 * math.log10(f_ghz)
    return -5.0 * math.log10(10.0 ** (-0.2 * ll) + 10.0 ** (-0.2 * ls))


def terrestrial_clutter_loss_db(freq_hz, distance_m, p_percent: float = 50.0):
    """Clutter loss (dB) of one terminal in clutter, P.2108-1 §3.2, at ``p_percent`` % of locations.

    Parameters
    ----------
    freq_hz : float or array, 2-67 GHz
    distance_m : float or array, path length, m (below 250 m the loss at 250 m)
    p_percent : float in (0, 100)

    Examples
    --------
    >>> round(float(terrestrial_clutter_loss_db(3.5e9, 1000.0)), 2)
    28.58
    """
    from scipy.stats import norm

    f = np.asarray(freq_hz, dtype=float)
    if np.any((f < FREQ_RANGE_HZ[0]) | (f > FREQ_RANGE_HZ[1])):
        raise OutOfRangeError(f"freq_hz = {freq_hz}: P.2108 §3.2 covers {FREQ_RANGE_HZ[0]:g}-{FREQ_RANGE_HZ[1]:g} Hz")
    if not (0.0 < float(p_percent) < 100.0):
        raise OutOfRangeError(f"p_percent = {p_percent}: must be in (0, 100)")
    d_km = np.maximum(np.asarray(distance_m, dtype=float) / 1000.0, 0.25)
    f_ghz = f / 1e9
    ll = 23.5 + 9.6 * np.log10(f_ghz)
    ls = 32.98 + 23.9 * np.log10(d_km) + 3.0 * np.log10(f_ghz)
    out = -5.0 * np.log10(10.0 ** (-0.2 * ll) + 10.0 ** (-0.2 * ls)) - 6.0 * norm.isf(float(p_percent) / 100.0)
    return float(out) if np.ndim(out) == 0 else out
