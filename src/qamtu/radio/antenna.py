"""Base-station antenna patterns: TR 38.901 element and arrays, the TR 36.814 3-sector pattern, an n78 massive-MIMO
panel, and the global-to-antenna-frame rotation.

Angle conventions (3GPP TR 38.901 clause 7.1)
---------------------------------------------
* ``theta_deg``: zenith angle in degrees, 0 = straight up, 90 = horizon, 180 = straight down. A user below the
  antenna (the usual case) is at theta > 90.
* ``phi_deg``: azimuth in degrees in the antenna's local frame, 0 = boresight, positive counter-clockwise seen from
  above (TR 38.901's phi); values are wrapped to [-180, 180).
* Tilts are *down*-tilts in degrees below the horizon (positive = pointing down): the beam points at
  ``theta = 90 + tilt``. *Mechanical* tilt rotates the whole antenna (:func:`local_angles`); *electrical* tilt
  steers the array's vertical beam inside the antenna frame (the ``tilt_deg`` of the patterns below).
* Geographic inputs of :func:`local_angles` are bearings (degrees clockwise from north), as site tables give
  sector azimuths; they are converted to TR 38.901's counter-clockwise azimuth internally.

Every pattern function is vectorised (scalars or arrays, broadcast) and cheap (no per-point Python loops, no
large temporaries): the coverage engine evaluates them per pixel and sector.

References
----------
.. [1] 3GPP TR 38.901 V17.0.0 (2022-03), clause 7.1 (coordinate systems, eqs. 7.1-1 to 7.1-8), clause 7.3 and
   Table 7.3-1 (antenna element radiation pattern).
.. [2] 3GPP TR 36.814 V9.2.0, Annex A.2.1.1, Table A.2.1.1-2 (3D antenna pattern).
.. [3] 3GPP TR 36.897 V13.0.0, clause 5.2 (array factor of a uniform array with fixed downtilt weights).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from qamtu.errors import InvalidInputError
from qamtu.radio._checks import as_float_array, check_range, scalar_or_array


def _wrap180(angle_deg):
    return (np.asarray(angle_deg, dtype=float) + 180.0) % 360.0 - 180.0


def _check_angles(theta, phi):
    check_range(theta, "theta_deg", 0.0, 180.0, "deg", context="zenith angle")
    check_range(phi, "phi_deg", None, None, "deg")


# --------------------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------------------
def zenith_angle_deg(d2d_m, h_bs_m, h_ut_m):
    """Zenith angle of the UT seen from the BS antenna, degrees: ``90 + atan2(hBS - hUT, d2D)``.

    A UT below the antenna gives theta > 90 (TR 38.901 convention). Scalars or arrays (broadcast).
    """
    d2 = np.asarray(d2d_m, dtype=float)
    dh = np.asarray(h_bs_m, dtype=float) - np.asarray(h_ut_m, dtype=float)
    return scalar_or_array(90.0 + np.degrees(np.arctan2(dh, d2)), d2d_m, h_bs_m, h_ut_m)


def bearing_deg(dx_east_m, dy_north_m):
    """Bearing of the vector (dx east, dy north) in degrees clockwise from north, in [0, 360)."""
    out = np.degrees(np.arctan2(np.asarray(dx_east_m, dtype=float), np.asarray(dy_north_m, dtype=float))) % 360.0
    return scalar_or_array(out, dx_east_m, dy_north_m)


def local_angles(bearing_to_ut_deg, zenith_to_ut_deg, sector_azimuth_deg, mechanical_tilt_deg=0.0, *,
                 validate: bool = True):
    """Convert a direction in the global frame to the antenna's local (theta', phi'), TR 38.901 eqs. 7.1-7/7.1-8.

    The antenna frame is rotated by the bearing angle alpha (sector azimuth) and the mechanical down-tilt beta
    (slant gamma = 0):

    ``theta' = arccos(cos(beta) cos(theta) + sin(beta) cos(phi - alpha) sin(theta))``
    ``phi'   = arg(cos(beta) sin(theta) cos(phi - alpha) - sin(beta) cos(theta) + j sin(phi - alpha) sin(theta))``

    Parameters
    ----------
    bearing_to_ut_deg : float or ndarray
        Geographic bearing from the site to the UT, degrees clockwise from north (:func:`bearing_deg`).
    zenith_to_ut_deg : float or ndarray
        Zenith angle of the UT seen from the antenna, degrees (:func:`zenith_angle_deg`; 90 = horizon).
    sector_azimuth_deg : float or ndarray
        Sector boresight bearing, degrees clockwise from north.
    mechanical_tilt_deg : float or ndarray
        Mechanical down-tilt in degrees (positive = down).
    validate : bool
        Check that the zenith angle is in [0, 180] deg and finite (default True).

    Returns
    -------
    theta_local_deg, phi_local_deg : float or ndarray
        Zenith angle in [0, 180] and azimuth in [-180, 180) relative to boresight (positive counter-clockwise),
        degrees. For zero tilt ``theta' = theta`` and ``phi' = -(bearing - azimuth)`` wrapped.

    References
    ----------
    3GPP TR 38.901 V17.0.0, clause 7.1, eqs. 7.1-7 and 7.1-8 (with gamma = 0).
    """
    if validate:
        check_range(as_float_array(zenith_to_ut_deg, "zenith_to_ut_deg"), "zenith_to_ut_deg", 0.0, 180.0, "deg")
    # TR azimuth is counter-clockwise from x (east): phi = 90 - bearing; alpha = 90 - sector azimuth, so
    # phi - alpha = sector_azimuth - bearing.
    dphi = np.radians(np.asarray(sector_azimuth_deg, dtype=float) - np.asarray(bearing_to_ut_deg, dtype=float))
    th = np.radians(np.asarray(zenith_to_ut_deg, dtype=float))
    beta = np.radians(np.asarray(mechanical_tilt_deg, dtype=float))
    cb, sb = np.cos(beta), np.sin(beta)
    ct, st = np.cos(th), np.sin(th)
    cdp = np.cos(dphi)
    theta_l = np.degrees(np.arccos(np.clip(cb * ct + sb * cdp * st, -1.0, 1.0)))  # eq. 7.1-7
    phi_l = np.degrees(np.arctan2(np.sin(dphi) * st, cb * st * cdp - sb * ct))  # eq. 7.1-8
    phi_l = _wrap180(phi_l)
    args = (bearing_to_ut_deg, zenith_to_ut_deg, sector_azimuth_deg, mechanical_tilt_deg)
    return scalar_or_array(theta_l, *args), scalar_or_array(phi_l, *args)


# --------------------------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------------------------
def element_gain_dbi(
    theta_deg,
    phi_deg,
    *,
    hpbw_deg: float = 65.0,
    sla_v_db: float = 30.0,
    a_max_db: float = 30.0,
    max_gain_dbi: float = 8.0,
    validate: bool = True,
):
    """TR 38.901 Table 7.3-1 antenna element pattern, in dBi.

    ``A_V = -min(12 ((theta - 90)/65)^2, 30)``, ``A_H = -min(12 (phi/65)^2, 30)``,
    ``A = -min(-(A_V + A_H), 30)``; gain = ``A + 8 dBi``. Boresight (theta = 90, phi = 0) gives 8 dBi and the
    half-power points are at +-32.5 deg (5 dBi).

    Parameters
    ----------
    theta_deg : float or ndarray
        Local zenith angle in degrees, [0, 180].
    phi_deg : float or ndarray
        Local azimuth in degrees relative to boresight (wrapped to [-180, 180)).
    hpbw_deg, sla_v_db, a_max_db, max_gain_dbi : float
        Pattern parameters (defaults: the table's 65 deg, 30 dB, 30 dB, 8 dBi).
    validate : bool
        Check the angles (default True).

    Returns
    -------
    float or ndarray
        Gain in dBi, in [8 - 30, 8].

    References
    ----------
    3GPP TR 38.901 V17.0.0, clause 7.3, Table 7.3-1.
    """
    th = as_float_array(theta_deg, "theta_deg")
    ph = as_float_array(phi_deg, "phi_deg")
    if validate:
        _check_angles(th, ph)
    ph = _wrap180(ph)
    a_v = -np.minimum(12.0 * ((th - 90.0) / hpbw_deg) ** 2, sla_v_db)  # Table 7.3-1, vertical cut
    a_h = -np.minimum(12.0 * (ph / hpbw_deg) ** 2, a_max_db)  # Table 7.3-1, horizontal cut
    a = -np.minimum(-(a_v + a_h), a_max_db)  # Table 7.3-1, 3D pattern
    return scalar_or_array(a + max_gain_dbi, theta_deg, phi_deg)


def _ula_gain_db(direction_cosine, steer_cosine, n: int, spacing_wl: float):
    """Power gain (dB) of an n-element uniform linear array with unit-power phase weights steered to
    ``steer_cosine``, relative to one element: ``|sum_k exp(j 2 pi k d (u - u_s))|^2 / n``; ``10 log10(n)`` at the
    steering direction. Closed form ``sin^2(n psi/2) / (n sin^2(psi/2))``; floored at -60 dB to avoid -inf at nulls.
    """
    if n == 1:
        return np.zeros(np.broadcast(np.asarray(direction_cosine), np.asarray(steer_cosine)).shape)
    psi = 2.0 * np.pi * spacing_wl * (np.asarray(direction_cosine) - np.asarray(steer_cosine))
    den = np.sin(psi / 2.0)
    num = np.sin(n * psi / 2.0)
    small = np.abs(den) < 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(small, float(n), num * num / (n * np.where(small, 1.0, den * den)))
    return 10.0 * np.log10(np.maximum(g, 1e-6))


def vertical_array_gain_db(theta_deg, n_elements: int, tilt_deg=0.0, spacing_wavelengths: float = 0.5):
    """Array factor of a uniform vertical array steered to the electrical down-tilt, in dB (add to the element).

    Elements on the z axis with spacing ``d`` (wavelengths); weights ``w_k = exp(-j 2 pi k d cos(theta_tilt)) /
    sqrt(N)`` with ``theta_tilt = 90 + tilt_deg``. The power gain toward ``theta`` is
    ``|sum_k exp(j 2 pi k d (cos theta - cos theta_tilt))|^2 / N``: ``10 log10(N)`` dB at the steering direction
    (10 dB for the 10 x 1 calibration array), side lobes and nulls elsewhere (floored at -60 dB).

    Parameters
    ----------
    theta_deg : float or ndarray
        Local zenith angle in degrees.
    n_elements : int
        Number of vertical elements N >= 1.
    tilt_deg : float or ndarray
        Electrical down-tilt in degrees (12 deg in the TR 38.901 calibration).
    spacing_wavelengths : float
        Element spacing in wavelengths (default 0.5).

    Returns
    -------
    float or ndarray
        Array gain in dB relative to one element.

    References
    ----------
    3GPP TR 38.901 V17.0.0, clause 7.3 and Table 7.8-1 (10 x 1 array, 0.5 lambda, 102 deg steering);
    3GPP TR 36.897 V13.0.0, clause 5.2 (array factor with down-tilt weights).
    """
    if int(n_elements) != n_elements or n_elements < 1:
        raise InvalidInputError(f"n_elements = {n_elements!r} must be an integer >= 1")
    th = np.radians(np.asarray(theta_deg, dtype=float))
    th_s = np.radians(90.0 + np.asarray(tilt_deg, dtype=float))
    out = _ula_gain_db(np.cos(th), np.cos(th_s), int(n_elements), spacing_wavelengths)
    return scalar_or_array(out, theta_deg, tilt_deg)


def sector_36814_gain_dbi(
    theta_deg,
    phi_deg,
    tilt_deg=0.0,
    *,
    max_gain_dbi: float = 17.0,
    hpbw_h_deg: float = 70.0,
    front_to_back_db: float = 25.0,
    hpbw_v_deg: float = 10.0,
    sla_v_db: float = 20.0,
    validate: bool = True,
):
    """TR 36.814 3-sector 3D antenna pattern, in dBi.

    ``A_H = -min(12 (phi/70)^2, 25)``, ``A_V = -min(12 ((theta - theta_tilt)/10)^2, 20)`` with
    ``theta_tilt = 90 + tilt``, ``A = -min(-(A_H + A_V), 25)``; gain = ``A + max_gain_dbi``.

    Parameters
    ----------
    theta_deg, phi_deg : float or ndarray
        Local zenith angle and azimuth in degrees.
    tilt_deg : float or ndarray
        Electrical down-tilt in degrees.
    max_gain_dbi : float
        Boresight gain. Default 17 dBi, a typical macro panel and the macro base-station antenna gain of the
        IMT-Advanced evaluation guidelines (ITU-R M.2135-1) that use this pattern; keep it a parameter.
    hpbw_h_deg, front_to_back_db, hpbw_v_deg, sla_v_db : float
        Pattern parameters (defaults: Table A.2.1.1-2, 70 deg, 25 dB, 10 deg, 20 dB).
    validate : bool
        Check the angles (default True).

    Returns
    -------
    float or ndarray
        Gain in dBi.

    References
    ----------
    3GPP TR 36.814 V9.2.0, Annex A.2.1.1, Table A.2.1.1-2; ITU-R M.2135-1 (12/2009) (BS antenna gain).
    """
    th = as_float_array(theta_deg, "theta_deg")
    ph = as_float_array(phi_deg, "phi_deg")
    tilt = as_float_array(tilt_deg, "tilt_deg")
    if validate:
        _check_angles(th, ph)
        check_range(tilt, "tilt_deg", -90.0, 90.0, "deg")
    ph = _wrap180(ph)
    a_h = -np.minimum(12.0 * (ph / hpbw_h_deg) ** 2, front_to_back_db)  # Table A.2.1.1-2, horizontal
    a_v = -np.minimum(12.0 * ((th - (90.0 + tilt)) / hpbw_v_deg) ** 2, sla_v_db)  # vertical
    a = -np.minimum(-(a_h + a_v), front_to_back_db)  # combining method
    return scalar_or_array(a + max_gain_dbi, theta_deg, phi_deg, tilt_deg)


# --------------------------------------------------------------------------------------------------------------
# Antenna models (what the engine asks for)
# --------------------------------------------------------------------------------------------------------------
class AntennaModel:
    """Interface every antenna model offers to the engine (all angles local, degrees, vectorised).

    * ``ssb_gain_dbi(theta, phi)``: gain of the broadcast (SSB) beam; sets SS-RSRP and best-server selection.
    * ``traffic_gain_dbi(theta, phi)``: gain of a UE-specific data beam pointed at the UE; sets the serving
      signal in SINR.
    * ``interference_gain_dbi(theta, phi)``: mean gain that the sector's data beams, pointed at its own users,
      put toward the location; the engine uses it for *interferers* (times their load).
    * ``max_gain_dbi``: the largest gain of any of the three (for link-budget cut-offs).

    For a passive antenna the three are the same pattern (``gain_dbi``). Every method takes ``validate=True``
    (check the angles); hot loops that built the angles themselves pass ``validate=False``.
    """

    name: str = ""
    max_gain_dbi: float = 0.0

    def gain_dbi(self, theta_deg, phi_deg, *, validate: bool = True):  # pragma: no cover - overridden
        raise NotImplementedError

    def ssb_gain_dbi(self, theta_deg, phi_deg, *, validate: bool = True):
        return self.gain_dbi(theta_deg, phi_deg, validate=validate)

    def traffic_gain_dbi(self, theta_deg, phi_deg, *, validate: bool = True):
        return self.gain_dbi(theta_deg, phi_deg, validate=validate)

    def interference_gain_dbi(self, theta_deg, phi_deg, *, validate: bool = True):
        return self.gain_dbi(theta_deg, phi_deg, validate=validate)

    def steered_gain_dbi(self, theta_deg, phi_deg, served_theta_deg, served_phi_deg):
        """Gain toward (theta, phi) of the data beam serving a user at (served_theta, served_phi), dBi.

        A passive antenna has one beam: its pattern toward (theta, phi), wherever the served user is. Arrays
        broadcast. The reference of :meth:`MassiveMimoPanel.served_beam_mix` (tests).
        """
        out = self.gain_dbi(theta_deg, phi_deg, validate=False)
        return np.broadcast_to(out, np.broadcast(np.asarray(out), np.asarray(served_theta_deg),
                                                 np.asarray(served_phi_deg)).shape).astype(float)

    def ssb_same_index_offset_db(self, theta_deg, phi_deg):
        """SSB gain toward (theta, phi) of the beam a neighbour sends with a given SSB index, minus
        :meth:`ssb_gain_dbi` (the best beam), dB: 0 for an antenna with one broadcast beam."""
        return np.zeros(np.broadcast(np.asarray(theta_deg), np.asarray(phi_deg)).shape)

    def ssb_same_index_offset_table(self):
        """The table :meth:`ssb_same_index_offset_db` interpolates (linearly, clamped at the ends) versus
        ``u = sin(theta) sin(phi)`` on an even grid over [-1, 1], or None where it is 0 everywhere (one broadcast
        beam). The engine's fast path (:mod:`qamtu.engine._fast`) reads it."""
        return None

    def served_beam_mix(self, served_theta_deg, served_phi_deg, weights):
        """The distribution of the sector's data beams over its served users (None: the beams do not move).

        See :meth:`MassiveMimoPanel.served_beam_mix`; a passive antenna's interference gain does not depend on
        where its users are.
        """
        return None


@dataclass(frozen=True)
class ElementAntenna(AntennaModel):
    """A single TR 38.901 Table 7.3-1 element (8 dBi, 65 deg), no electrical tilt."""

    name: str = "tr38901-element"

    @property
    def max_gain_dbi(self) -> float:  # type: ignore[override]
        return 8.0

    def gain_dbi(self, theta_deg, phi_deg, *, validate: bool = True):
        return element_gain_dbi(theta_deg, phi_deg, validate=validate)


@dataclass(frozen=True)
class Sector36814Antenna(AntennaModel):
    """TR 36.814 3-sector pattern with electrical down-tilt ``tilt_deg`` (default 6 deg)."""

    tilt_deg: float = 6.0
    peak_gain_dbi: float = 17.0
    name: str = "tr36814-sector"

    @property
    def max_gain_dbi(self) -> float:  # type: ignore[override]
        return self.peak_gain_dbi

    def gain_dbi(self, theta_deg, phi_deg, *, validate: bool = True):
        return sector_36814_gain_dbi(theta_deg, phi_deg, self.tilt_deg, max_gain_dbi=self.peak_gain_dbi,
                                     validate=validate)


@dataclass(frozen=True)
class VerticalArrayAntenna(AntennaModel):
    """N x 1 vertical array of TR 38.901 elements (0.5 lambda) steered to ``tilt_deg``.

    The TR 38.901 Table 7.8-1 calibration antenna is ``VerticalArrayAntenna(10, 12.0)``: 8 + 10 = 18 dBi at
    theta = 102 deg.
    """

    n_elements: int = 10
    tilt_deg: float = 12.0
    spacing_wavelengths: float = 0.5
    name: str = "tr38901-10x1"

    @property
    def max_gain_dbi(self) -> float:  # type: ignore[override]
        return 8.0 + 10.0 * np.log10(self.n_elements)

    def gain_dbi(self, theta_deg, phi_deg, *, validate: bool = True):
        e = np.asarray(element_gain_dbi(theta_deg, phi_deg, validate=validate))
        af = vertical_array_gain_db(theta_deg, self.n_elements, self.tilt_deg, self.spacing_wavelengths)
        return scalar_or_array(e + af, theta_deg, phi_deg)


@dataclass(frozen=True)
class MassiveMimoPanel(AntennaModel):
    """n78 64T64R massive-MIMO panel: 12 x 8 dual-polarised elements driven by 64 transceivers.

    Geometry: ``n_rows`` x ``n_cols`` cross-polarised TR 38.901 elements (8 dBi, 65 deg), spacing 0.5 lambda.
    Each transceiver (TRX) feeds a fixed vertical sub-array of ``n_rows * n_cols * 2 / n_trx`` elements per
    polarisation (3 for 12 x 8 x 2 / 64) with a fixed electrical down-tilt ``tilt_deg``; the 4 x 8 TRX grid per
    polarisation is digitally beamformed. All gains are relative to the total conducted power and include
    ``loss_db`` (element efficiency, feed network, radome).

    Beams
    -----
    * **Traffic** (``traffic_gain_dbi``): the UE-specific beam steered at the UE, horizontally within
      +-``h_scan_deg`` and vertically within +-``v_scan_deg`` around the tilt. At the UE it gets the full
      digital array gain: element + sub-array factor + ``10 log10(n_trx_cols * n_trx_rows)`` - loss, peaking at
      24.74 dBi (theta = 94 deg, phi = 0) with the defaults. Off boresight it falls with the element pattern
      (scan loss); beyond the horizontal limit, with the array factor of the beam pointed at the limit; beyond
      the vertical limits the gNB may instead use a vertically wide beam like the SSB's (still steered
      horizontally at the UE), whichever is stronger.
    * **SSB** (``ssb_gain_dbi``): the broadcast beam sweep, ``n_ssb_beams`` (8) beams covering
      +-``ssb_span_deg`` (60) deg in azimuth at the tilt (centres evenly spaced in sin(phi)), each using the full
      horizontal aperture; vertically the SSB keeps the sub-array's wide beam (``ssb_vertical_rows = 1`` TRX row)
      so that it also reaches high floors. The gain toward a point is that of the best beam of the sweep (the UE
      reports the strongest SSB): 18.6 dBi at the beam centres and 15.9 dBi on boresight (the crossover of the
      two central beams) with the defaults, i.e. 6-9 dB below the traffic beam.
    * **Interference** (``interference_gain_dbi``): the mean, in linear units, of the traffic-beam gain toward
      the point over the sector's users, modelled as beams steered uniformly over +-``h_scan_deg`` in azimuth
      and +-``v_scan_deg`` in zenith around the tilt (horizontal and vertical factors averaged separately).
      **The engine should use this for interfering sectors** (scaled by their load): a neighbour's beam points
      at a given location only while it serves a user there, so on average the location receives the
      beam-averaged gain, not the SSB envelope and not the peak.

    The factors that depend on theta alone (sub-array, vertical digital beam) and the horizontal factors of the
    SSB and interference beams, which depend only on ``u = sin(theta) sin(phi)``, are precomputed at
    construction (0.01 deg and 2.5e-4 steps) and linearly interpolated, so each call costs the element pattern,
    a few table look-ups and, for the traffic beam, one closed-form array factor per point.

    References
    ----------
    3GPP TR 38.901 V17.0.0, clause 7.3 (element pattern, panel array model); 3GPP TR 36.897 V13.0.0 clause 5.2
    (sub-array with fixed tilt weights, TXRU virtualisation). The 24-25 dBi traffic-beam gain of commercial
    64T64R n78 panels is a vendor figure (secondary sources); ``loss_db`` sets it.
    """

    n_rows: int = 12
    n_cols: int = 8
    n_trx: int = 64
    tilt_deg: float = 6.0
    spacing_wavelengths: float = 0.5
    loss_db: float = 3.0
    h_scan_deg: float = 60.0
    v_scan_deg: float = 15.0
    n_ssb_beams: int = 8
    ssb_span_deg: float = 60.0
    ssb_vertical_rows: int = 1
    name: str = "nr-64t64r"
    _tables: dict = field(init=False, repr=False, compare=False, default_factory=dict)
    _max_gain: float = field(init=False, repr=False, compare=False, default=0.0)

    #: Zenith step (deg) and u step of the precomputed tables (linear interpolation between grid points).
    THETA_STEP_DEG = 0.01
    U_POINTS = 8001

    def __post_init__(self):
        per_pol = self.n_trx // 2
        if self.n_trx % 2 or per_pol % self.n_cols or self.n_rows % (per_pol // self.n_cols):
            raise InvalidInputError(
                f"MassiveMimoPanel: n_trx = {self.n_trx} cannot drive {self.n_rows} x {self.n_cols} dual-polarised "
                "elements with equal vertical sub-arrays (need n_trx/2 divisible by n_cols and n_rows divisible "
                "by the TRX rows)"
            )
        if not 1 <= self.ssb_vertical_rows <= self.n_trx_rows:
            raise InvalidInputError(
                f"ssb_vertical_rows = {self.ssb_vertical_rows} must be in [1, {self.n_trx_rows}]"
            )
        # Every factor that depends on theta alone (sub-array, vertical digital beam) is tabulated against theta,
        # every horizontal factor of the SSB and interference beams against u = sin(theta) sin(phi); a call then
        # costs the element pattern, the traffic beam's horizontal factor and a few table look-ups.
        t0 = 90.0 + self.tilt_deg
        th = np.arange(0.0, 180.0 + self.THETA_STEP_DEG / 2, self.THETA_STEP_DEG)
        sub = np.asarray(vertical_array_gain_db(th, self.subarray_size, self.tilt_deg, self.spacing_wavelengths))
        v_wide = self._vertical_digital_db(th, t0, self.ssb_vertical_rows)
        v_steered = self._vertical_digital_db(th, np.clip(th, t0 - self.v_scan_deg, t0 + self.v_scan_deg),
                                              self.n_trx_rows)
        # Interference: mean (linear) over traffic beams steered uniformly over +-v_scan around the tilt.
        steer_v = np.linspace(t0 - self.v_scan_deg, t0 + self.v_scan_deg, 121)
        g_v = np.power(10.0, self._vertical_digital_db(th[:, None], steer_v[None, :], self.n_trx_rows) / 10.0)
        v_int = 10.0 * np.log10(g_v.mean(axis=1))
        u = np.linspace(-1.0, 1.0, self.U_POINTS)
        ssb_env = _ula_gain_db(u[:, None], self.ssb_beam_directions_u[None, :], self.n_cols,
                               self.spacing_wavelengths).max(axis=1)
        steer_h = np.sin(np.radians(np.linspace(-self.h_scan_deg, self.h_scan_deg, 241)))
        g_h = np.power(10.0, _ula_gain_db(u[:, None], steer_h[None, :], self.n_cols, self.spacing_wavelengths) / 10)
        h_int = 10.0 * np.log10(g_h.mean(axis=1))
        tables = {
            # Fallback for the traffic beam: vertically as wide as the SSB, used where stronger (near the mast).
            "v_traffic": sub + np.maximum(v_steered, v_wide) - self.loss_db,
            "v_ssb": sub + v_wide - self.loss_db,
            "v_interference": sub + v_int - self.loss_db,
            "h_ssb": ssb_env,
            "h_interference": h_int,
        }
        object.__setattr__(self, "_tables", tables)
        object.__setattr__(self, "_max_gain", float(np.max(self.traffic_gain_dbi(th, np.zeros_like(th)))))

    # --- derived geometry ---
    @property
    def n_trx_rows(self) -> int:
        return self.n_trx // 2 // self.n_cols

    @property
    def subarray_size(self) -> int:
        return self.n_rows // self.n_trx_rows

    @property
    def max_gain_dbi(self) -> float:  # type: ignore[override]
        """Peak traffic-beam gain (the largest of the three beams), found on a 0.01 deg zenith grid at phi = 0."""
        return self._max_gain

    @property
    def ssb_beam_directions_u(self) -> np.ndarray:
        """Direction cosines ``sin(phi)`` of the SSB beam centres: evenly spaced in u over +-ssb_span_deg."""
        u_max = np.sin(np.radians(self.ssb_span_deg))
        edges = np.linspace(-u_max, u_max, self.n_ssb_beams + 1)
        return 0.5 * (edges[:-1] + edges[1:])

    # --- building blocks ---
    def _prepare(self, theta_deg, phi_deg, validate):
        th = as_float_array(theta_deg, "theta_deg")
        ph = as_float_array(phi_deg, "phi_deg")
        if validate:
            _check_angles(th, ph)
        ph = _wrap180(ph)
        u = np.sin(np.radians(th)) * np.sin(np.radians(ph))
        return th, ph, u

    def _theta_lookup(self, th, key):
        return _lookup(th, 0.0, self.THETA_STEP_DEG, self._tables[key])

    def _u_lookup(self, u, key):
        return _lookup(u, -1.0, 2.0 / (self.U_POINTS - 1), self._tables[key])

    def _vertical_digital_db(self, theta, steer_theta, n_rows):
        d_rows = self.spacing_wavelengths * self.subarray_size
        return _ula_gain_db(np.cos(np.radians(theta)), np.cos(np.radians(steer_theta)), n_rows, d_rows)

    # --- the three beams ---
    def traffic_gain_dbi(self, theta_deg, phi_deg, *, validate: bool = True):
        """Gain of the UE-specific beam steered at the UE, dBi (see the class docstring)."""
        th, ph, u = self._prepare(theta_deg, phi_deg, validate)
        steer_phi = np.clip(ph, -self.h_scan_deg, self.h_scan_deg)
        u_s = np.sin(np.radians(th)) * np.sin(np.radians(steer_phi))
        h = _ula_gain_db(u, u_s, self.n_cols, self.spacing_wavelengths)
        e = np.asarray(element_gain_dbi(th, ph, validate=False))
        out = e + h + self._theta_lookup(th, "v_traffic")
        return scalar_or_array(out, theta_deg, phi_deg)

    def ssb_gain_dbi(self, theta_deg, phi_deg, *, validate: bool = True):
        """Gain of the best SSB beam of the sweep toward the point, dBi (see the class docstring)."""
        th, ph, u = self._prepare(theta_deg, phi_deg, validate)
        e = np.asarray(element_gain_dbi(th, ph, validate=False))
        out = e + self._u_lookup(u, "h_ssb") + self._theta_lookup(th, "v_ssb")
        return scalar_or_array(out, theta_deg, phi_deg)

    def interference_gain_dbi(self, theta_deg, phi_deg, *, validate: bool = True):
        """Mean traffic-beam gain toward the point over the sector's users, dBi (see the class docstring)."""
        th, ph, u = self._prepare(theta_deg, phi_deg, validate)
        e = np.asarray(element_gain_dbi(th, ph, validate=False))
        out = e + self._u_lookup(u, "h_interference") + self._theta_lookup(th, "v_interference")
        return scalar_or_array(out, theta_deg, phi_deg)

    def ssb_same_index_offset_db(self, theta_deg, phi_deg):
        """The mean over the SSB sweep of the beams' gains toward (theta, phi) minus the best beam's, dB (<= 0).

        In a synchronised network every cell sends its SSB index i in the same symbols (TS 38.213 4.1), so the SSB
        (SS-SINR, TS 38.215 5.1.5) a user measures on its best beam's index is interfered by each neighbour's beam
        of that same index, which points wherever index i points from that neighbour: on average over the
        indices the sweep's linear mean, not the envelope toward the user (:meth:`ssb_gain_dbi`, the neighbour's
        best beam, which sets the neighbour's own SS-RSRP). About -8 dB inside the sweep with the defaults.
        Depends on ``u = sin(theta) sin(phi)`` only (the vertical factor is common to the sweep).
        """
        th, ph, u = self._prepare(theta_deg, phi_deg, False)
        self.ssb_same_index_offset_table()
        return scalar_or_array(self._u_lookup(u, "h_ssb_mean"), theta_deg, phi_deg)

    def ssb_same_index_offset_table(self):
        """The sweep-mean minus best-beam table versus u on ``U_POINTS`` points over [-1, 1] (see the base)."""
        if "h_ssb_mean" not in self._tables:
            uu = np.linspace(-1.0, 1.0, self.U_POINTS)
            g = np.power(10.0, _ula_gain_db(uu[:, None], self.ssb_beam_directions_u[None, :], self.n_cols,
                                            self.spacing_wavelengths) / 10.0)
            self._tables["h_ssb_mean"] = 10.0 * np.log10(g.mean(axis=1)) - self._tables["h_ssb"]
        return self._tables["h_ssb_mean"]

    # --- data beams pointed at the sector's own users (interference toward a neighbour's users) ---
    #: u grid of the served-beam mixes (direction cosine sin(theta) sin(phi)), and the steering zenith bins (deg)
    MIX_U_STEP = 0.01
    MIX_THETA_BIN_DEG = 1.0

    def _steering(self, served_theta_deg, served_phi_deg):
        """(u_s, theta_c, wide) of the traffic beam serving users at these directions (as traffic_gain_dbi)."""
        th = np.asarray(served_theta_deg, dtype=float)
        ph = _wrap180(served_phi_deg)
        t0 = 90.0 + self.tilt_deg
        u_s = np.sin(np.radians(th)) * np.sin(np.radians(np.clip(ph, -self.h_scan_deg, self.h_scan_deg)))
        th_c = np.clip(th, t0 - self.v_scan_deg, t0 + self.v_scan_deg)
        # beyond the vertical scan the gNB may use the vertically wide (SSB-like) beam where it is stronger
        wide = (self._vertical_digital_db(th, th_c, self.n_trx_rows)
                < self._vertical_digital_db(th, t0, self.ssb_vertical_rows))
        return u_s, th_c, wide

    def steered_gain_dbi(self, theta_deg, phi_deg, served_theta_deg, served_phi_deg):
        """Gain toward (theta, phi) of the traffic beam steered at a user at (served_theta, served_phi), dBi.

        Element + sub-array + horizontal array factor toward ``u`` of the beam steered to ``u_s`` + vertical
        digital factor of the beam steered to the clipped served zenith (or the vertically wide beam beyond the
        scan where it is stronger) - loss; at the served direction itself it equals :meth:`traffic_gain_dbi`.
        Direct evaluation (no histogram): the reference of :meth:`served_beam_mix`.
        """
        th = np.asarray(theta_deg, dtype=float)
        ph = _wrap180(phi_deg)
        u = np.sin(np.radians(th)) * np.sin(np.radians(ph))
        u_s, th_c, wide = self._steering(served_theta_deg, served_phi_deg)
        t0 = 90.0 + self.tilt_deg
        v = np.where(wide, self._vertical_digital_db(th, t0, self.ssb_vertical_rows),
                     self._vertical_digital_db(th, th_c, self.n_trx_rows))
        h = _ula_gain_db(u, u_s, self.n_cols, self.spacing_wavelengths)
        e = np.asarray(element_gain_dbi(th, ph, validate=False))
        sub = np.asarray(vertical_array_gain_db(th, self.subarray_size, self.tilt_deg, self.spacing_wavelengths))
        return e + sub + h + v - self.loss_db

    def mix_tables(self):
        """(u grid, theta grid, vertical factors): the fixed tables of the served-beam mixes.

        ``vertical`` (n_bins + 1, n_theta), linear power: row b the vertical digital factor of a beam steered to
        zenith ``t0 - v_scan + b`` deg, the last row the vertically wide beam; columns on the zenith grid of
        ``THETA_STEP`` 0.05 deg. Also ``uniform`` (n_theta,) and ``uniform_u`` (n_u,): the linear vertical and
        horizontal factors of :meth:`interference_gain_dbi` (beams uniform over the scan), whose product the
        served mix replaces.
        """
        if "mix" not in self._tables:
            t0 = 90.0 + self.tilt_deg
            theta = np.arange(0.0, 180.0 + 0.025, 0.05)
            n_bins = int(round(2 * self.v_scan_deg / self.MIX_THETA_BIN_DEG)) + 1
            steer = t0 - self.v_scan_deg + self.MIX_THETA_BIN_DEG * np.arange(n_bins)
            vert = np.empty((n_bins + 1, theta.size))
            vert[:n_bins] = 10.0 ** (self._vertical_digital_db(theta[None, :], steer[:, None], self.n_trx_rows) / 10)
            vert[n_bins] = 10.0 ** (self._vertical_digital_db(theta, t0, self.ssb_vertical_rows) / 10)
            u = np.linspace(-1.0, 1.0, int(round(2.0 / self.MIX_U_STEP)) + 1)
            du = np.arange(-(u.size - 1), u.size) * self.MIX_U_STEP
            kernel = 10.0 ** (_ula_gain_db(du, 0.0, self.n_cols, self.spacing_wavelengths) / 10.0)
            steer_v = np.linspace(t0 - self.v_scan_deg, t0 + self.v_scan_deg, 121)
            uni_v = np.power(10.0, self._vertical_digital_db(theta[:, None], steer_v[None, :], self.n_trx_rows)
                             / 10.0).mean(axis=1)
            steer_h = np.sin(np.radians(np.linspace(-self.h_scan_deg, self.h_scan_deg, 241)))
            uni_u = np.power(10.0, _ula_gain_db(u[:, None], steer_h[None, :], self.n_cols,
                                                self.spacing_wavelengths) / 10).mean(axis=1)
            self._tables["mix"] = {"u": u, "theta": theta, "vertical": vert, "kernel": kernel, "steer": steer,
                                   "uniform": uni_v, "uniform_u": uni_u}
        return self._tables["mix"]

    def served_beam_mix(self, served_theta_deg, served_phi_deg, weights):
        """The sector's data beams pointed at its own users: ``(bins, h)`` for :meth:`aimed_interference_gain_dbi`.

        The users' directions (local zenith and azimuth) and weights (people) give the distribution of the beams:
        steering zenith in ``MIX_THETA_BIN_DEG`` bins (clipped to the scan; the wide-beam fallback its own bin),
        steering ``u_s`` on a ``MIX_U_STEP`` grid (split linearly between the two nearest grid points). Per
        zenith bin b the horizontal factor mixed over the bin's beams, ``h[b](u) = sum_s w_s AF(u - u_s)`` (a
        convolution: the array factor depends on ``u - u_s`` only), is tabulated on the u grid. The mean gain
        toward a direction is then ``element + sub-array - loss + 10 log10(sum_b V_b(theta) h[b](u))``.

        Returns
        -------
        (bins, h) : int array (n_b,), float array (n_b, n_u); weights normalised to sum 1. ``None`` when the
        weights are all zero.
        """
        w = np.asarray(weights, dtype=float).ravel()
        th = np.asarray(served_theta_deg, dtype=float).ravel()
        ph = np.asarray(served_phi_deg, dtype=float).ravel()
        ok = w > 0
        if not ok.any():
            return None
        w, th, ph = w[ok] / w[ok].sum(), th[ok], ph[ok]
        tab = self.mix_tables()
        n_bins = tab["steer"].size
        u_s, th_c, wide = self._steering(th, ph)
        b = np.where(wide, n_bins, np.clip(np.rint((th_c - tab["steer"][0]) / self.MIX_THETA_BIN_DEG), 0,
                                           n_bins - 1).astype(np.int64))
        n_u = tab["u"].size
        f = np.clip((u_s + 1.0) / self.MIX_U_STEP, 0.0, n_u - 1.0)
        i0 = np.minimum(f.astype(np.int64), n_u - 2)
        a = f - i0
        hist = np.zeros((n_bins + 1, n_u))
        np.add.at(hist, (b, i0), w * (1.0 - a))
        np.add.at(hist, (b, i0 + 1), w * a)
        used = np.flatnonzero(hist.sum(axis=1) > 0)
        kernel = tab["kernel"]
        h = np.array([np.convolve(hist[k], kernel)[n_u - 1:2 * n_u - 1] for k in used])
        return used.astype(np.int64), h

    def aimed_interference_gain_dbi(self, theta_deg, phi_deg, mix):
        """Mean gain toward (theta, phi) of the sector's data beams distributed as ``mix``
        (:meth:`served_beam_mix`), dBi; :meth:`interference_gain_dbi` when ``mix`` is None."""
        if mix is None:
            return self.interference_gain_dbi(theta_deg, phi_deg, validate=False)
        th = np.asarray(theta_deg, dtype=float)
        ph = _wrap180(phi_deg)
        u = np.sin(np.radians(th)) * np.sin(np.radians(ph))
        tab = self.mix_tables()
        bins, h = mix
        g = np.zeros(np.broadcast(th, u).shape)
        for k, b in enumerate(bins):
            g = g + _lookup(th, 0.0, 0.05, tab["vertical"][b]) * _lookup(u, -1.0, self.MIX_U_STEP, h[k])
        e = np.asarray(element_gain_dbi(th, ph, validate=False))
        sub = np.asarray(vertical_array_gain_db(th, self.subarray_size, self.tilt_deg, self.spacing_wavelengths))
        return e + sub - self.loss_db + 10.0 * np.log10(np.maximum(g, 1e-30))


def _lookup(x, x0: float, dx: float, table: np.ndarray):
    """Linear interpolation in a table sampled at ``x0 + k dx`` (clamped at the ends); cheaper than np.interp."""
    f = np.clip((np.asarray(x, dtype=float) - x0) / dx, 0.0, table.size - 1.0)
    i = np.minimum(f.astype(np.intp), table.size - 2)
    w = f - i
    lo = table[i]
    return lo + w * (table[i + 1] - lo)


#: Antenna models by name; :func:`get_antenna` builds them.
ANTENNA_MODELS = {
    "nr-64t64r": MassiveMimoPanel,
    "tr38901-element": ElementAntenna,
    "tr36814-sector": Sector36814Antenna,
    "tr38901-10x1": VerticalArrayAntenna,
}


def get_antenna(name: str = "nr-64t64r", **params) -> AntennaModel:
    """Return an antenna model by name.

    Parameters
    ----------
    name : {"nr-64t64r", "tr38901-element", "tr36814-sector", "tr38901-10x1"}
        ``nr-64t64r`` (default): :class:`MassiveMimoPanel`; ``tr38901-element``: one Table 7.3-1 element;
        ``tr36814-sector``: :class:`Sector36814Antenna`; ``tr38901-10x1``: the TR 38.901 Table 7.8-1 calibration
        antenna (10 x 1 vertical array, 0.5 lambda, 12 deg electrical down-tilt).
    **params
        Overrides of the model's fields, e.g. ``tilt_deg=8``.

    Returns
    -------
    AntennaModel
        Immutable; the same configuration returns the same (cached) object.
    """
    key = str(name).lower()
    if key not in ANTENNA_MODELS:
        raise InvalidInputError(f"antenna {name!r} is not one of {', '.join(repr(k) for k in ANTENNA_MODELS)}")
    try:
        frozen = tuple(sorted(params.items()))
        hash(frozen)
    except TypeError:
        raise InvalidInputError(f"antenna {name!r}: parameters must be plain numbers or strings") from None
    return _build_antenna(key, frozen)


@functools.lru_cache(maxsize=64)
def _build_antenna(key: str, frozen_params: tuple) -> AntennaModel:
    """Models are immutable, and the panel precomputes tables (~0.5 s): build each configuration once."""
    try:
        return ANTENNA_MODELS[key](**dict(frozen_params))
    except TypeError as exc:
        raise InvalidInputError(f"antenna {key!r}: {exc}") from None
