"""Terrain diffraction: the delta-Bullington method of ITU-R P.526-16 §4.5 as used in P.452-18 §4.2 / P.1812.

Public API
----------
``delta_bullington_loss_db(d_m, h_amsl_m, h_tx_agl_m, h_rx_agl_m, freq_hz, *, ae_m=8_495_000.0,
polarization="horizontal")``
    The median diffraction loss Ld50 (dB) of one terrain profile over land.
``smooth_earth_heights_m(d_m, h_amsl_m, h_tx_amsl_m, h_rx_amsl_m)``
    The heights (m above sea level) at the two ends of P.452's smooth surface for diffraction (Attachment 2,
    §5.1.6.2-5.1.6.3): ``(hstd, hsrd)``.
``knife_edge_loss_db(nu)``
    J(nu) of P.526 eq. 31 (P.452 eq. 13).

The Numba kernels (``_delta_bullington``, ``_lbull``, ``_ldsph``, ...) work in the Recommendations' own units
(distances in km, heights in m, frequency in GHz, lambda = 0.2998 / f in m, as the ITU's reference code) and are
what the engine's per-link terrain path calls (:mod:`qamtu.engine.terrain`); the public function converts at the
edges. The equations are written out in ``docs/reference/terrain.md``; the steps:

* Bullington on the actual profile (P.452 §4.2.1, eqs. 14-22), with the effective-earth bulge
  ``500 d_i (d - d_i) / a_e``;
* Bullington on a zero profile with the antennas above P.452's least-squares smooth surface (Attachment 2
  §5.1.6), and the spherical-earth loss ``Ldsph`` for the same heights (§4.2.2, first-term ``Ldft`` over land,
  eps_r 22, sigma 0.003 S/m);
* ``Ld = Lbulla + max(Ldsph - Lbulls, 0)`` (§4.2.3 eq. 40). Polarisation enters only through ``Ldft``.

Validity: 30 MHz to 6 GHz at least (the P.452/P.1812 range is 0.1-50 GHz / 0.03-6 GHz); profile distances
ascending from 0.

References
----------
ITU-R P.452-18 (10/2023) §4.2 and Attachment 2 §5.1.6; ITU-R P.526-16 (10/2025) §4.5 eq. 31; ITU-R P.1812-7 §4.3.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from qamtu.errors import InvalidInputError, OutOfRangeError

__all__ = ["delta_bullington_loss_db", "delta_bullington_terms", "smooth_earth_heights_m", "knife_edge_loss_db",
           "DEFAULT_AE_M", "FREQ_RANGE_HZ"]

#: Effective earth radius for k = 4/3 (6371 km x 4/3), m.
DEFAULT_AE_M = 8_495_000.0
#: Frequencies accepted by :func:`delta_bullington_loss_db`, Hz (P.1812's 30 MHz to P.452's 50 GHz).
FREQ_RANGE_HZ = (30e6, 50e9)
#: Ground electrical constants over land (P.452 §4.2.2.1): relative permittivity and conductivity (S/m).
LAND_EPS_R = 22.0
LAND_SIGMA = 0.003
#: Speed of light of the ITU's reference code (lambda = 0.2998 / f_GHz m).
C_ITU = 2.998e8


@njit(cache=True, nogil=True, error_model="numpy")
def _j(nu):
    """Knife-edge loss J(nu), P.526 eq. 31: 0 for nu <= -0.78."""
    if nu <= -0.78:
        return 0.0
    return 6.9 + 20.0 * math.log10(math.sqrt((nu - 0.1) ** 2 + 1.0) + nu - 0.1)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _profile_pass(d, h, n, zero, hts, hrs, ap, lam):
    """One pass over a profile (d km, h m; ``zero``: heights all 0) for the antenna heights hts, hrs (m amsl).

    Returns Bullington's maxima over the intermediate points (Stim eq. 14, Srim eq. 18, nu_max eq. 16) and P.452
    Attachment 2's smooth-surface terms: the least-squares sums v1, v2 (eqs. 161-162, all segments) and the
    obstruction maxima hobs, alpha_obt, alpha_obr (§5.1.6.3).
    """
    dt = d[n - 1]
    ce500 = 500.0 / ap
    k = 0.002 * dt / lam
    hz = 0.0 if zero else 1.0  # branch-free, so both loops vectorise
    v1 = 0.0
    v2 = 0.0
    for i in range(1, n):
        di = d[i]
        dp = d[i - 1]
        hi = hz * h[i]
        hp = hz * h[i - 1]
        v1 += (di - dp) * (hi + hp)
        v2 += (di - dp) * (hi * (2.0 * di + dp) + hp * (di + 2.0 * dp))
    stim = -1e300
    srim = -1e300
    numax = -1e300
    hobs = -1e300
    aobt = -1e300
    aobr = -1e300
    inv_dt = 1.0 / dt
    pos2 = -1.0
    neg2 = 1e300
    for i in range(1, n - 1):
        di = d[i]
        r = dt - di
        inv_di = 1.0 / di
        inv_r = 1.0 / r
        ray = (hts * r + hrs * di) * inv_dt
        hi = hz * h[i]
        e = hi + ce500 * di * r
        stim = max(stim, (e - hts) * inv_di)
        srim = max(srim, (e - hrs) * inv_r)
        # nu_i = (e - ray) sqrt(k / (d_i r)); its maximum from squares (one square root after the loop):
        # the largest nu^2 among points above the ray, else minus the smallest among those below
        c = e - ray
        q = c * c * k * inv_di * inv_r
        if c >= 0.0:
            pos2 = max(pos2, q)
        else:
            neg2 = min(neg2, q)
        hh = hi - ray
        hobs = max(hobs, hh)
        aobt = max(aobt, hh * inv_di)
        aobr = max(aobr, hh * inv_r)
    if pos2 >= 0.0:
        numax = math.sqrt(pos2)
    elif n > 2:
        numax = -math.sqrt(neg2)
    return stim, srim, numax, v1, v2, hobs, aobt, aobr


@njit(cache=True, nogil=True, error_model="numpy")
def _bullington(stim, srim, numax, hts, hrs, dt, lam):
    """Lbull from the pass's maxima (P.452 eqs. 15-22); dt km."""
    if stim < (hrs - hts) / dt:  # line of sight (eq. 15, strict)
        luc = _j(numax)
    else:  # trans-horizon: the Bullington point (eqs. 18-21)
        dbp = (hrs - hts + srim * dt) / (stim + srim)
        nub = (hts + stim * dbp - (hts * (dt - dbp) + hrs * dbp) / dt) * math.sqrt(
            0.002 * dt / (lam * dbp * (dt - dbp)))
        luc = _j(nub)
    return luc + (1.0 - math.exp(-luc / 6.0)) * (10.0 + 0.02 * dt)


@njit(cache=True, nogil=True, error_model="numpy")
def _lbull(d, h, n, zero, hts, hrs, ap, lam):
    """Bullington loss Lbull (P.452 eqs. 14-22). d (km) and h (m) of points 0..n-1; ``zero``: heights all 0."""
    stim, srim, numax, _, _, _, _, _ = _profile_pass(d, h, n, zero, hts, hrs, ap, lam)
    return _bullington(stim, srim, numax, hts, hrs, d[n - 1], lam)


@njit(cache=True, nogil=True, error_model="numpy")
def _ldft_surface(a, d, hte, hre, f, eps, sigma, vertical):
    """First-term spherical-earth loss for one surface (P.452 §4.2.2.1, eqs. 30-37); a, d in km, h in m, f GHz."""
    kh = 0.036 * (a * f) ** (-1.0 / 3.0) * ((eps - 1.0) ** 2 + (18.0 * sigma / f) ** 2) ** (-0.25)
    k = kh * math.sqrt(eps * eps + (18.0 * sigma / f) ** 2) if vertical else kh
    k2 = k * k
    k4 = k2 * k2
    beta = (1.0 + 1.6 * k2 + 0.67 * k4) / (1.0 + 4.5 * k2 + 1.53 * k4)
    x = 21.88 * beta * (f / (a * a)) ** (1.0 / 3.0) * d
    if x >= 1.6:
        fx = 11.0 + 10.0 * math.log10(x) - 17.6 * x
    else:
        fx = -20.0 * math.log10(x) - 5.6488 * x ** 1.425
    gmin = 2.0 + 20.0 * math.log10(k)
    g = 0.0
    for hh in (hte, hre):
        y = 0.9575 * beta * (f * f / a) ** (1.0 / 3.0) * hh  # normalised height Y (eq. 35)
        b = beta * y  # B = beta * Y (eq. 36); an independent review found B = Y here (0.27 dB low, 0.1 GHz vertical)
        if b > 2.0:
            gy = 17.6 * math.sqrt(b - 1.1) - 5.0 * math.log10(b - 1.1) - 8.0
        else:
            gy = 20.0 * math.log10(b + 0.1 * b * b * b)
        g += gy if gy > gmin else gmin
    return -fx - g


@njit(cache=True, nogil=True, error_model="numpy")
def _ldsph(d, hte, hre, ap, f, lam, vertical):
    """Spherical-earth diffraction loss Ldsph over land (P.452 §4.2.2, eqs. 23-29); d, ap in km, h in m."""
    dlos = math.sqrt(2.0 * ap) * (math.sqrt(0.001 * hte) + math.sqrt(0.001 * hre))
    if d >= dlos:
        return _ldft_surface(ap, d, hte, hre, f, LAND_EPS_R, LAND_SIGMA, vertical)
    c = (hte - hre) / (hte + hre)
    m = 250.0 * d * d / (ap * (hte + hre))
    arg = 1.5 * c * math.sqrt(3.0 * m / (m + 1.0) ** 3)
    if arg > 1.0:
        arg = 1.0
    elif arg < -1.0:
        arg = -1.0
    b = 2.0 * math.sqrt((m + 1.0) / (3.0 * m)) * math.cos(math.pi / 3.0 + math.acos(arg) / 3.0)
    dse1 = d * (1.0 + b) / 2.0
    dse2 = d - dse1
    hse = ((hte - 500.0 * dse1 * dse1 / ap) * dse2 + (hre - 500.0 * dse2 * dse2 / ap) * dse1) / d
    hreq = 17.456 * math.sqrt(dse1 * dse2 * lam / d)
    if hse > hreq:
        return 0.0
    aem = 500.0 * (d / (math.sqrt(hte) + math.sqrt(hre))) ** 2
    ldft = _ldft_surface(aem, d, hte, hre, f, LAND_EPS_R, LAND_SIGMA, vertical)
    if ldft < 0.0:
        return 0.0
    return (1.0 - hse / hreq) * ldft


@njit(cache=True, nogil=True, error_model="numpy")
def _smooth_from_pass(v1, v2, hobs, aobt, aobr, dt, h0, hn):
    """hstd, hsrd (P.452 Attachment 2 §5.1.6.2-5.1.6.3) from the pass's sums: least squares, lowered by the
    highest obstruction shared by its slopes seen from each end, capped at the ends' ground."""
    hst = (2.0 * v1 * dt - v2) / (dt * dt)
    hsr = (v2 - v1 * dt) / (dt * dt)
    if hobs > 0.0:
        gt = aobt / (aobt + aobr)
        hst -= hobs * gt
        hsr -= hobs * (1.0 - gt)
    return min(hst, h0), min(hsr, hn)


@njit(cache=True, nogil=True, error_model="numpy")
def _smooth_heights(d, h, n, hts, hrs):
    """hstd, hsrd of P.452 Attachment 2 §5.1.6.2-5.1.6.3 (least squares, obstruction correction, capped)."""
    _, _, _, v1, v2, hobs, aobt, aobr = _profile_pass(d, h, n, False, hts, hrs, 8495.0, 0.1)
    return _smooth_from_pass(v1, v2, hobs, aobt, aobr, d[n - 1], h[0], h[n - 1])


@njit(cache=True, nogil=True, error_model="numpy")
def _delta_bullington(d, h, n, htg, hrg, f, ap, vertical):
    """Ld (P.452 eq. 40) of the profile's first ``n`` points: d in km (d[0] = 0), h in m amsl, f in GHz, ap km.

    One pass over the actual profile; the smooth-profile Bullington is evaluated only when the spherical-earth
    loss is positive (Lbulls >= 0, so otherwise max(Ldsph - Lbulls, 0) = 0).
    """
    lam = 0.2998 / f
    dt = d[n - 1]
    hts = h[0] + htg
    hrs = h[n - 1] + hrg
    stim, srim, numax, v1, v2, hobs, aobt, aobr = _profile_pass(d, h, n, False, hts, hrs, ap, lam)
    lbulla = _bullington(stim, srim, numax, hts, hrs, dt, lam)
    hstd, hsrd = _smooth_from_pass(v1, v2, hobs, aobt, aobr, dt, h[0], h[n - 1])
    hte = hts - hstd
    hre = hrs - hsrd
    ldsph = _ldsph(dt, hte, hre, ap, f, lam, vertical)
    if ldsph <= 0.0:
        return lbulla
    lbulls = _lbull(d, h, n, True, hte, hre, ap, lam)
    extra = ldsph - lbulls
    return lbulla + (extra if extra > 0.0 else 0.0)


def knife_edge_loss_db(nu: float) -> float:
    """J(nu) = 6.9 + 20 log10(sqrt((nu - 0.1)^2 + 1) + nu - 0.1) for nu > -0.78, else 0 (ITU-R P.526-16 eq. 31)."""
    return float(_j(float(nu)))


def _profile(d_m, h_amsl_m) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(d_m, dtype=float)
    h = np.asarray(h_amsl_m, dtype=float)
    if d.ndim != 1 or h.shape != d.shape:
        raise InvalidInputError(f"d_m and h_amsl_m must be 1-D of the same length, got shapes {d.shape}, {h.shape}")
    if d.size < 2:
        raise InvalidInputError(f"a profile needs at least 2 points (the two ends), got {d.size}")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(h))):
        raise InvalidInputError("d_m and h_amsl_m must be finite (fill DEM voids before building a profile)")
    if d[0] != 0.0 or np.any(np.diff(d) <= 0.0):
        raise InvalidInputError("d_m must start at 0 (the transmitter) and increase strictly")
    return d, h


def smooth_earth_heights_m(d_m, h_amsl_m, h_tx_amsl_m: float, h_rx_amsl_m: float) -> tuple[float, float]:
    """The smooth-surface heights ``(hstd, hsrd)`` (m amsl) at the two ends for the diffraction model.

    P.452-18 Attachment 2 §5.1.6.2 (least-squares straight line through the terrain heights), §5.1.6.3
    (lowered by the highest obstruction above the direct ray, shared by its slopes seen from each end, then capped
    at the ground heights of the ends). On a profile that is a tilted plane below the ray, they are the plane's
    heights at the ends, exactly.
    """
    d, h = _profile(d_m, h_amsl_m)
    return tuple(float(v) for v in _smooth_heights(d / 1000.0, h, d.size, float(h_tx_amsl_m), float(h_rx_amsl_m)))


def _checked(d_m, h_amsl_m, h_tx_agl_m, h_rx_agl_m, freq_hz, ae_m, polarization):
    d, h = _profile(d_m, h_amsl_m)
    f = float(freq_hz)
    if not (FREQ_RANGE_HZ[0] <= f <= FREQ_RANGE_HZ[1]):
        raise OutOfRangeError(f"freq_hz = {f:g}: outside [{FREQ_RANGE_HZ[0]:g}, {FREQ_RANGE_HZ[1]:g}] Hz")
    if not (float(h_tx_agl_m) > 0 and float(h_rx_agl_m) > 0):
        raise InvalidInputError(f"antenna heights ({h_tx_agl_m}, {h_rx_agl_m}) m above ground must be > 0")
    if not (float(ae_m) > 0 and math.isfinite(float(ae_m))):
        raise OutOfRangeError(f"ae_m = {ae_m!r}: the effective earth radius must be a positive finite number of m")
    pol = str(polarization).strip().lower()
    if pol not in ("horizontal", "vertical"):
        raise InvalidInputError(f"polarization = {polarization!r}: must be 'horizontal' or 'vertical'")
    return d / 1000.0, h, float(h_tx_agl_m), float(h_rx_agl_m), f / 1e9, float(ae_m) / 1000.0, pol == "vertical"


def delta_bullington_terms(d_m, h_amsl_m, h_tx_agl_m: float, h_rx_agl_m: float, freq_hz: float, *,
                           ae_m: float = DEFAULT_AE_M, polarization: str = "horizontal") -> dict[str, float]:
    """The parts of :func:`delta_bullington_loss_db` (same arguments), for a planner checking one link.

    Returns ``{"lbulla_db", "lbulls_db", "ldsph_db", "ld_db", "hstd_m", "hsrd_m", "hte_m", "hre_m"}``: Bullington on
    the actual profile, Bullington on the smooth profile, the spherical-earth loss, the total (eq. 40), the
    smooth-surface heights at the ends (m amsl) and the antennas' heights above it.
    """
    d, h, htg, hrg, f, ap, vertical = _checked(d_m, h_amsl_m, h_tx_agl_m, h_rx_agl_m, freq_hz, ae_m, polarization)
    n = d.size
    lam = 0.2998 / f
    hts, hrs = h[0] + htg, h[-1] + hrg
    lbulla = _lbull(d, h, n, False, hts, hrs, ap, lam)
    hstd, hsrd = _smooth_heights(d, h, n, hts, hrs)
    lbulls = _lbull(d, h, n, True, hts - hstd, hrs - hsrd, ap, lam)
    ldsph = _ldsph(d[-1], hts - hstd, hrs - hsrd, ap, f, lam, vertical)
    return {"lbulla_db": float(lbulla), "lbulls_db": float(lbulls), "ldsph_db": float(ldsph),
            "ld_db": float(lbulla + max(ldsph - lbulls, 0.0)), "hstd_m": float(hstd), "hsrd_m": float(hsrd),
            "hte_m": float(hts - hstd), "hre_m": float(hrs - hsrd)}


def delta_bullington_loss_db(d_m, h_amsl_m, h_tx_agl_m: float, h_rx_agl_m: float, freq_hz: float, *,
                             ae_m: float = DEFAULT_AE_M, polarization: str = "horizontal") -> float:
    """Median terrain diffraction loss Ld50 (dB) of one path over land, by the delta-Bullington method.

    Parameters
    ----------
    d_m : array (n,)
        Distances from the transmitter along the profile, m: ``d_m[0] == 0``, strictly increasing, the last one
        the path length.
    h_amsl_m : array (n,)
        Terrain heights at those distances, m above mean sea level.
    h_tx_agl_m, h_rx_agl_m : float
        Antenna heights above the ground at the two ends, m (> 0).
    freq_hz : float
        Frequency, Hz, in :data:`FREQ_RANGE_HZ` (valid at least 30 MHz-6 GHz).
    ae_m : float
        Effective earth radius, m (default k = 4/3: 8,495 km; P.452's validation examples use k50 =
        157/(157 - dN)).
    polarization : "horizontal" or "vertical"

    Returns
    -------
    float
        ``Ld = Lbulla + max(Ldsph - Lbulls, 0)`` (P.452-18 §4.2.3 eq. 40), >= 0 dB.

    Raises
    ------
    InvalidInputError
        Malformed profile, non-positive antenna heights, unknown polarisation.
    OutOfRangeError
        Frequency outside :data:`FREQ_RANGE_HZ`, effective radius not positive.

    Examples
    --------
    A clear line of sight loses nothing:

    >>> delta_bullington_loss_db([0, 500, 1000], [0, 0, 0], 30.0, 30.0, 3.5e9)
    0.0
    """
    d, h, htg, hrg, f, ap, vertical = _checked(d_m, h_amsl_m, h_tx_agl_m, h_rx_agl_m, freq_hz, ae_m, polarization)
    return float(_delta_bullington(d, h, d.size, htg, hrg, f, ap, vertical))
