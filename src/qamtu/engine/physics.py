"""Per-link physics shared by the coverage engine, the Monte-Carlo mode and the 3GPP calibration.

Every quantity comes from :mod:`qamtu.radio`; this module only arranges the calls for arrays of (pixel, sector)
links, so that the grid engine, the user drops and the TR 38.901 calibration run the *same* code:

* :func:`link_geometry` - horizontal and 3D distance, zenith angle and azimuth relative to the sector boresight.
* :class:`SectorAntennas` - the three beam gains of every sector (SSB broadcast beam, traffic beam, interference).
* :func:`path_terms` - LOS probability and per-state path loss (with the optional measured calibration) and
  shadow-fading spread, straight from :func:`qamtu.radio.pathloss.path_loss_db`, ``los_probability`` and
  ``shadow_fading_std_db``.
* :func:`mean_path_gain_db` - the LOS-probability-weighted linear mean of the two states' gains; it is the formula
  of :func:`qamtu.radio.pathloss.mean_path_gain_db` applied to path losses already computed (so they are not
  computed twice); ``tests/engine/test_physics.py`` checks the two agree.
* :func:`o2i_states` - the (outdoor, indoor low-loss, indoor high-loss) mixture of an environment class: weights,
  mean O2I losses (:func:`qamtu.radio.o2i.mean_o2i_loss_db`) and spreads (``o2i_std_db`` combined with the spread
  of the indoor distance term).
* :func:`link_coverage_probability` - the single-link probability that SS-RSRP reaches the threshold, over the
  O2I mixture, via :func:`qamtu.radio.pathloss.coverage_probability`.

Conventions: 38.901 angles (zenith ``theta`` in degrees, 90 = horizon, > 90 below it; azimuth ``phi`` in degrees
from the sector boresight, positive counter-clockwise seen from above). Site azimuths in site tables are compass
bearings (clockwise from north).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qamtu.radio import o2i as _o2i
from qamtu.radio import pathloss as _pl


def link_geometry(dx_m, dy_m, h_bs_m, h_ut_m, azimuth_deg):
    """Geometry of BS -> UT links.

    Parameters
    ----------
    dx_m, dy_m : ndarray
        UT position minus BS position, east and north, m.
    h_bs_m, h_ut_m : float or ndarray
        Antenna heights above ground, m.
    azimuth_deg : float or ndarray
        Sector boresight as a compass bearing, degrees clockwise from north.

    Returns
    -------
    d2d_m, d3d_m : ndarray
        Horizontal and straight-line distances, m.
    theta_deg : ndarray
        Zenith angle of the UT seen from the BS, degrees (90 = horizon, > 90 below it); TR 38.901 7.1.
    phi_deg : ndarray
        Azimuth of the UT relative to the boresight, degrees in [-180, 180), counter-clockwise positive.
    """
    dx = np.asarray(dx_m, dtype=float)
    dy = np.asarray(dy_m, dtype=float)
    d2d = np.hypot(dx, dy)
    dh = np.asarray(h_bs_m, dtype=float) - np.asarray(h_ut_m, dtype=float)
    d3d = np.sqrt(d2d * d2d + dh * dh)
    theta = 90.0 + np.degrees(np.arctan2(dh, d2d))
    bearing = np.degrees(np.arctan2(dx, dy))  # compass bearing of the UT from the BS
    phi = np.mod(np.asarray(azimuth_deg, dtype=float) - bearing + 180.0, 360.0) - 180.0
    return d2d, d3d, theta, phi


@dataclass(frozen=True)
class PathTerms:
    """LOS probability and the two states' path losses (dB) and shadow-fading spreads (dB) of a set of links."""

    p_los: np.ndarray
    pl_los_db: np.ndarray
    pl_nlos_db: np.ndarray
    sf_los_db: np.ndarray
    sf_nlos_db: np.ndarray


def path_terms(scenario, freq_hz, d2d_m, h_bs_m, h_ut_m, *, d2d_out_m=None, correction_db=0.0, h_e_m=None,
               rng=None, min_distance_m=10.0):
    """Path-loss terms of TR 38.901 for arrays of links.

    Parameters
    ----------
    scenario : {"uma", "umi", "rma"}
    freq_hz : float
        Carrier frequency, Hz.
    d2d_m : ndarray
        Horizontal BS-UT distance, m; values below ``min_distance_m`` are evaluated at it.
    h_bs_m, h_ut_m : float or ndarray
        Antenna heights, m (broadcast with ``d2d_m``).
    d2d_out_m : ndarray, optional
        Outdoor part of the distance for the LOS probability (indoor users); default ``d2d_m``.
    correction_db : float or ndarray
        Measured path-loss correction added to both states (see :class:`~qamtu.engine.config.PathLossCalibration`).
    h_e_m, rng
        UMa effective environment height, or a generator to draw it (needed only for hUT >= 13 m).
    min_distance_m : float
        Clamp for short distances (TR 38.901 Table 7.4.1-1 lower validity bound, 10 m).

    Returns
    -------
    PathTerms

    Notes
    -----
    Inputs are validated by the caller (the engine checks sector heights and the configuration once), so the radio
    functions run with ``validate=False``: beyond the 5 km of Table 7.4.1-1 (UMa/UMi) they extrapolate the
    formulas, which the engine uses only for links far below the noise (see :mod:`qamtu.engine.links`).

    References
    ----------
    3GPP TR 38.901 V17.0.0, Table 7.4.1-1 (path loss, sigma_SF) and Table 7.4.2-1 (P_LOS).
    """
    d2d = np.maximum(np.asarray(d2d_m, dtype=float), min_distance_m)
    d_out = d2d if d2d_out_m is None else np.maximum(np.asarray(d2d_out_m, dtype=float), 0.0)
    kw = dict(validate=False)
    if scenario == "uma":
        if h_e_m is None:
            h_e_m = _pl.uma_effective_environment_height_m(d2d, h_ut_m, rng)
        kw["h_e_m"] = h_e_m
    pl_los = np.asarray(_pl.path_loss_db(scenario, "los", freq_hz, d2d, h_bs_m, h_ut_m, **kw), dtype=float)
    pl_nlos = np.asarray(_pl.path_loss_db(scenario, "nlos", freq_hz, d2d, h_bs_m, h_ut_m, **kw), dtype=float)
    corr = np.asarray(correction_db, dtype=float)
    if np.any(corr != 0.0):
        pl_los = pl_los + corr
        pl_nlos = pl_nlos + corr
    p = np.asarray(_pl.los_probability(scenario, d_out, h_ut_m, validate=False), dtype=float)
    sf_los = np.asarray(
        _pl.shadow_fading_std_db(scenario, "los", d2d, freq_hz=freq_hz, h_bs_m=h_bs_m, h_ut_m=h_ut_m), dtype=float
    )
    sf_nlos = np.asarray(_pl.shadow_fading_std_db(scenario, "nlos", d2d), dtype=float)
    shape = np.broadcast(d2d, p, pl_los).shape
    return PathTerms(*(np.broadcast_to(a, shape) for a in (p, pl_los, pl_nlos, sf_los, sf_nlos)))


def calibration_correction_db(config, env_name: str, d3d_m):
    """The path-loss correction (dB, added to both states' path loss) of ``config.calibration`` for environment
    class ``env_name`` at 3D distances ``d3d_m``; 0 without a calibration. The link-budget helper every path-term
    evaluation uses (links, the fast tables of :mod:`qamtu.engine._fast`, the Monte-Carlo reference)."""
    if config.calibration is None:
        return 0.0
    return config.calibration.correction_db(env_name, d3d_m)


def mean_path_gain_db(terms: PathTerms):
    """LOS-probability-weighted mean path gain (linear average of the two states' median gains), dB.

    The formula of :func:`qamtu.radio.pathloss.mean_path_gain_db` (``include_shadowing_mean=False``): coverage maps
    threshold the median power and account for shadowing in the coverage probability.
    """
    g = terms.p_los * np.power(10.0, -terms.pl_los_db / 10.0) + (1.0 - terms.p_los) * np.power(
        10.0, -terms.pl_nlos_db / 10.0
    )
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(g)


@dataclass(frozen=True)
class O2IStates:
    """The O2I mixture of an environment class: (outdoor, indoor low-loss, indoor high-loss)."""

    weights: tuple[float, float, float]
    mean_loss_db: tuple[float, float, float]
    std_db: tuple[float, float, float]

    @property
    def mean_linear_gain(self) -> float:
        """Probability-weighted linear mean of the states' median O2I gains (1 for all-outdoor)."""
        return float(sum(w * 10.0 ** (-loss / 10.0) for w, loss in zip(self.weights, self.mean_loss_db)))

    @property
    def mean_gain_db(self) -> float:
        """:attr:`mean_linear_gain` in dB (<= 0)."""
        return float(10.0 * np.log10(self.mean_linear_gain))


def o2i_states(freq_hz: float, scenario: str, indoor_share: float, o2i_high_share: float) -> O2IStates:
    """Weights, mean losses and spreads of the outdoor / indoor-low / indoor-high mixture.

    The mean indoor loss is :func:`qamtu.radio.o2i.mean_o2i_loss_db` (d2D-in at its mean, D/3). Its spread adds in
    quadrature sigma_P (:func:`qamtu.radio.o2i.o2i_std_db`) and the standard deviation of ``0.5 d2D-in`` with
    d2D-in the minimum of two U(0, D): ``0.5 D / sqrt(18)`` (2.95 dB for D = 25 m), so the analytic coverage
    probability matches a Monte-Carlo draw of :func:`qamtu.radio.o2i.draw_o2i_loss_db` to the normal approximation.

    References
    ----------
    3GPP TR 38.901 V17.0.0, clause 7.4.3.1, Table 7.4.3-2 and its note on d2D-in.
    """
    d_max = _o2i.D2D_IN_MAX_M[scenario]
    sd_in = 0.5 * d_max / np.sqrt(18.0)  # std of 0.5 * min(U1, U2), U ~ U(0, D): D^2/18 variance of the minimum
    w_out = 1.0 - indoor_share
    w_low = indoor_share * (1.0 - o2i_high_share)
    w_high = indoor_share * o2i_high_share
    low = float(_o2i.mean_o2i_loss_db(freq_hz, "low", scenario))
    high = float(_o2i.mean_o2i_loss_db(freq_hz, "high", scenario))
    s_low = float(np.hypot(_o2i.o2i_std_db("low"), sd_in))
    s_high = float(np.hypot(_o2i.o2i_std_db("high"), sd_in))
    return O2IStates((w_out, w_low, w_high), (0.0, low, high), (0.0, s_low, s_high))


def link_coverage_probability(threshold_dbm, rx_los_dbm, rx_nlos_dbm, terms: PathTerms, states: O2IStates):
    """Single-link probability that the received power reaches ``threshold_dbm``.

    ``sum_i w_i * coverage_probability(thr, rx_los - L_i, rx_nlos - L_i, P_LOS, sf_los, sf_nlos, sigma_i)`` over
    the O2I states i (outdoor, indoor low, indoor high) of :func:`o2i_states`.

    Parameters
    ----------
    threshold_dbm : float
    rx_los_dbm, rx_nlos_dbm : ndarray
        Median received power outdoors in each LOS state, dBm.
    terms : PathTerms
    states : O2IStates

    References
    ----------
    :func:`qamtu.radio.pathloss.coverage_probability`; 3GPP TR 38.901 V17.0.0 7.4.1-7.4.3.
    """
    out = np.zeros(np.shape(rx_los_dbm))
    for w, loss, sd in zip(states.weights, states.mean_loss_db, states.std_db):
        if w <= 0.0:
            continue
        out += w * np.asarray(
            _pl.coverage_probability(
                threshold_dbm, rx_los_dbm - loss, rx_nlos_dbm - loss, terms.p_los, terms.sf_los_db,
                terms.sf_nlos_db, extra_sigma_db=sd, validate=False,
            )
        )
    return out


def max_state_coverage_probability(threshold_dbm, rx_los_dbm, rx_nlos_dbm, terms: PathTerms, states: O2IStates):
    """The largest single-state coverage probability over the O2I states (an upper bound of the mixture)."""
    out = np.zeros(np.shape(rx_los_dbm))
    for w, loss, sd in zip(states.weights, states.mean_loss_db, states.std_db):
        if w <= 0.0:
            continue
        p = np.asarray(
            _pl.coverage_probability(
                threshold_dbm, rx_los_dbm - loss, rx_nlos_dbm - loss, terms.p_los, terms.sf_los_db,
                terms.sf_nlos_db, extra_sigma_db=sd, validate=False,
            )
        )
        out = np.maximum(out, p)
    return out


def sample_path_loss_db(terms: PathTerms, rng: np.random.Generator):
    """Draw the LOS state and the log-normal shadow fading of each link; return (path loss in dB, is_los).

    ``is_los ~ Bernoulli(P_LOS)``, ``loss = PL_state + N(0, sigma_SF,state^2)``: the marginal distribution of
    TR 38.901 7.4 per link, without spatial correlation (the marginal CDFs over users do not need it).

    References
    ----------
    3GPP TR 38.901 V17.0.0, Tables 7.4.1-1 and 7.4.2-1.
    """
    shape = np.shape(terms.p_los)
    is_los = rng.random(shape) < terms.p_los
    z = rng.standard_normal(shape)
    loss = np.where(is_los, terms.pl_los_db + z * terms.sf_los_db, terms.pl_nlos_db + z * terms.sf_nlos_db)
    return loss, is_los
