"""Path loss: free space (ITU-R P.525) and 3GPP TR 38.901 Table 7.4.1-1, with LOS probability, shadow fading and
the two planning forms (LOS-weighted mean path gain, coverage probability).

Conventions
-----------
* Public functions take Hz, metres and degrees; the formulas' GHz appear only in locals (``fc_ghz``).
* ``d2d_m`` is the horizontal distance between the base-station and the user-terminal antennas, ``d3d_m`` the
  straight-line distance; the LOS branch (PL1 or PL2) is chosen by comparing ``d2d_m`` with the breakpoint, the
  formula is evaluated at ``d3d_m`` (TR 38.901 Table 7.4.1-1, note 1 and Figure 7.4.1-1).
* NLOS is always ``max(PL_LOS, PL'_NLOS)``.
* Scalars in, float out; arrays broadcast against each other (NumPy rules) and give arrays.
* ``validate=True`` (the default) checks every input against the validity range of the model and raises
  :class:`qamtu.errors.OutOfRangeError` naming the parameter, the bad value and the allowed range. Callers that
  evaluate millions of points and have validated upstream pass ``validate=False``; then no check is made and the
  formulas are simply evaluated (extrapolated) where they are asked to be.
* Distances shorter than the model's minimum (10 m for RMa/UMa/UMi, d3D = 1 m for InH) are evaluated at that
  minimum: the TR gives no value closer in, and holding the loss flat is the conservative choice for coverage (it
  only affects pixels at the foot of the mast). Distances beyond the maximum are an error when validating.
  d2D must be > 0, except for InH where d2D = 0 (a UT right below a ceiling AP, d3D = hBS - hUT) is allowed.

Validity ranges enforced (TR 38.901 V17.0.0 Table 7.4.1-1 and its notes; where the TR gives only a nominal value
the range qamtu accepts is stated and is wider, because real sites are not at the nominal height):

======  ===========  ===========  ============  =====================================
model   fc (GHz)     hBS (m)      hUT (m)       distance
======  ===========  ===========  ============  =====================================
RMa     0.5 - 30     10 - 150     1 - 10        d2D 10 m - 10 km (LOS), 10 m - 5 km (NLOS)
UMa     0.5 - 100    10 - 150 *   1.5 - 22.5    d2D 10 m - 5 km
UMi     0.5 - 100    3 - 50 *     1.5 - 22.5    d2D 10 m - 5 km
InH     0.5 - 100    1 - 10 *     0.5 - 3 *     d3D 1 m - 150 m
======  ===========  ===========  ============  =====================================

``*`` TR nominal values: UMa hBS = 25 m, UMi hBS = 10 m, InH hBS = 3 m (ceiling), hUT = 1 m.
RMa also needs the average building height h (5 - 50 m) and street width W (5 - 50 m).

References
----------
.. [1] 3GPP TR 38.901 V17.0.0 (2022-03), "Study on channel model for frequencies from 0.5 to 100 GHz",
   clause 7.4.1, Table 7.4.1-1 (path loss); clause 7.4.2, Table 7.4.2-1 (LOS probability).
.. [2] ITU-R Recommendation P.525-4 (08/2019), "Calculation of free-space attenuation", eq. (4).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from qamtu.errors import InvalidInputError
from qamtu.radio._checks import as_float_array, check_choice, check_range, scalar_or_array
from qamtu.units import SPEED_OF_LIGHT_M_S

SCENARIOS = ("rma", "uma", "umi", "inh")
CONDITIONS = ("los", "nlos")

#: Validity ranges per scenario (see the module docstring). Distances: d2D for rma/uma/umi, d3D for inh.
VALIDITY = {
    "rma": {
        "freq_hz": (0.5e9, 30e9),
        "h_bs_m": (10.0, 150.0),
        "h_ut_m": (1.0, 10.0),
        "d_min_m": 10.0,
        "d_max_m": {"los": 10_000.0, "nlos": 5_000.0},
    },
    "uma": {
        "freq_hz": (0.5e9, 100e9),
        "h_bs_m": (10.0, 150.0),
        "h_ut_m": (1.5, 22.5),
        "d_min_m": 10.0,
        "d_max_m": {"los": 5_000.0, "nlos": 5_000.0},
    },
    "umi": {
        "freq_hz": (0.5e9, 100e9),
        "h_bs_m": (3.0, 50.0),
        "h_ut_m": (1.5, 22.5),
        "d_min_m": 10.0,
        "d_max_m": {"los": 5_000.0, "nlos": 5_000.0},
    },
    "inh": {
        "freq_hz": (0.5e9, 100e9),
        "h_bs_m": (1.0, 10.0),
        "h_ut_m": (0.5, 3.0),
        "d_min_m": 1.0,  # d3D
        "d_max_m": {"los": 150.0, "nlos": 150.0},  # d3D
    },
}

_SCENARIO_NAMES = {"rma": "RMa", "uma": "UMa", "umi": "UMi-Street Canyon", "inh": "InH-Office"}

#: Shadow-fading standard deviations in dB, TR 38.901 V17.0.0 Table 7.4.1-1. RMa LOS: 4 dB before the
#: breakpoint (PL1), 6 dB after (PL2).
SHADOW_FADING_STD_DB = {
    ("rma", "los"): (4.0, 6.0),
    ("rma", "nlos"): 8.0,
    ("uma", "los"): 4.0,
    ("uma", "nlos"): 6.0,
    ("umi", "los"): 4.0,
    ("umi", "nlos"): 7.82,
    ("inh", "los"): 3.0,
    ("inh", "nlos"): 8.03,
}


# --------------------------------------------------------------------------------------------------------------
# Free space and geometry
# --------------------------------------------------------------------------------------------------------------
def fspl_db(freq_hz, distance_m, *, validate: bool = True):
    """Free-space basic transmission loss between isotropic antennas.

    ``L = 20 log10(4 pi d f / c)`` (equivalently 32.45 + 20 log10(f/MHz) + 20 log10(d/km)).

    Parameters
    ----------
    freq_hz : float or ndarray
        Frequency in Hz, > 0.
    distance_m : float or ndarray
        Path length in metres, > 0. Broadcasts against ``freq_hz``.
    validate : bool
        Check the inputs (default True).

    Returns
    -------
    float or ndarray
        Free-space loss in dB.

    References
    ----------
    ITU-R P.525-4 (08/2019), eq. (4); c = 3.0e8 m/s as in 3GPP TR 38.901.
    """
    f = as_float_array(freq_hz, "freq_hz")
    d = as_float_array(distance_m, "distance_m")
    if validate:
        check_range(f, "freq_hz", 0.0, None, "Hz", lo_inclusive=False)
        check_range(d, "distance_m", 0.0, None, "m", lo_inclusive=False)
    out = 20.0 * np.log10(4.0 * np.pi * d * f / SPEED_OF_LIGHT_M_S)
    return scalar_or_array(out, freq_hz, distance_m)


def d3d_m(d2d_m, h_bs_m, h_ut_m):
    """Straight-line distance between the antennas, ``sqrt(d2D^2 + (hBS - hUT)^2)``, in metres.

    Parameters
    ----------
    d2d_m, h_bs_m, h_ut_m : float or ndarray
        Horizontal distance and antenna heights above ground in metres (broadcast together).

    References
    ----------
    3GPP TR 38.901 V17.0.0, Figure 7.4.1-1.
    """
    d2 = np.asarray(d2d_m, dtype=float)
    dh = np.asarray(h_bs_m, dtype=float) - np.asarray(h_ut_m, dtype=float)
    return scalar_or_array(np.sqrt(d2 * d2 + dh * dh), d2d_m, h_bs_m, h_ut_m)


def breakpoint_distance_m(scenario, freq_hz, h_bs_m, h_ut_m, *, h_e_m=1.0):
    """Breakpoint distance of the LOS model, in metres.

    * RMa: ``dBP = 2 pi hBS hUT fc / c`` with the actual antenna heights.
    * UMa: ``d'BP = 4 h'BS h'UT fc / c`` with effective heights ``h' = h - hE`` (``hE`` from
      :func:`uma_effective_environment_height_m`, 1 m for hUT < 13 m).
    * UMi: ``d'BP = 4 (hBS - 1)(hUT - 1) fc / c`` (hE = 1 m always).

    Parameters
    ----------
    scenario : {"rma", "uma", "umi"}
        InH has no breakpoint (an error).
    freq_hz : float or ndarray
        Centre frequency in Hz.
    h_bs_m, h_ut_m : float or ndarray
        Antenna heights in metres.
    h_e_m : float or ndarray
        Effective environment height for UMa, metres (ignored otherwise). Default 1 m.

    Returns
    -------
    float or ndarray
        Breakpoint distance in metres (compare with d2D).

    References
    ----------
    3GPP TR 38.901 V17.0.0, Table 7.4.1-1, notes 1 and 5.
    """
    scenario = check_choice(scenario, "scenario", SCENARIOS)
    f = np.asarray(freq_hz, dtype=float)
    hb = np.asarray(h_bs_m, dtype=float)
    hu = np.asarray(h_ut_m, dtype=float)
    if scenario == "rma":
        out = 2.0 * np.pi * hb * hu * f / SPEED_OF_LIGHT_M_S  # Table 7.4.1-1 note 5
    elif scenario == "uma":
        he = np.asarray(h_e_m, dtype=float)
        out = 4.0 * (hb - he) * (hu - he) * f / SPEED_OF_LIGHT_M_S  # note 1
    elif scenario == "umi":
        out = 4.0 * (hb - 1.0) * (hu - 1.0) * f / SPEED_OF_LIGHT_M_S  # note 1 with hE = 1 m
    else:
        raise InvalidInputError("scenario 'inh' (InH-Office) has no breakpoint distance; use 'rma', 'uma' or 'umi'")
    return scalar_or_array(out, freq_hz, h_bs_m, h_ut_m, h_e_m)


# --------------------------------------------------------------------------------------------------------------
# UMa effective environment height
# --------------------------------------------------------------------------------------------------------------
def _uma_c(d2d, h_ut):
    """C(d2D, hUT) of TR 38.901 Table 7.4.1-1 note 1."""
    g = np.where(d2d <= 18.0, 0.0, 1.25 * (d2d / 100.0) ** 3 * np.exp(-d2d / 150.0))
    hu = np.clip(h_ut, 13.0, 23.0)
    c = np.where(h_ut < 13.0, 0.0, ((hu - 13.0) / 10.0) ** 1.5 * g)
    return c


def uma_effective_environment_height_m(d2d_m, h_ut_m, rng: np.random.Generator | None = None):
    """Effective environment height hE for the UMa breakpoint, in metres.

    hE = 1 m with probability ``1 / (1 + C(d2D, hUT))``, otherwise drawn uniformly from
    ``{12, 15, ..., hUT - 1.5}`` m. ``C = 0`` for hUT < 13 m (and for d2D <= 18 m), so hE = 1 m
    deterministically there and ``rng`` is not needed. Where ``C > 0`` a random draw is needed and ``rng`` must be a
    seeded :class:`numpy.random.Generator` (an error otherwise, so results are never silently irreproducible).
    If ``hUT - 1.5 < 12`` m the set is empty and hE = 1 m (qamtu's reading of the note).

    Parameters
    ----------
    d2d_m : float or ndarray
        Horizontal distance in metres.
    h_ut_m : float or ndarray
        UT antenna height in metres (broadcasts with ``d2d_m``).
    rng : numpy.random.Generator, optional
        Random generator for the draw; required only where C > 0.

    Returns
    -------
    float or ndarray
        hE in metres, shape of the broadcast inputs.

    References
    ----------
    3GPP TR 38.901 V17.0.0, Table 7.4.1-1, note 1.
    """
    d2d = np.asarray(d2d_m, dtype=float)
    hu = np.asarray(h_ut_m, dtype=float)
    d2d, hu = np.broadcast_arrays(d2d, hu)
    c = _uma_c(d2d, hu)
    h_e = np.ones(d2d.shape)
    need = c > 0.0
    if np.any(need):
        if rng is None:
            raise InvalidInputError(
                "UMa with hUT >= 13 m needs a random effective environment height hE (TR 38.901 Table 7.4.1-1 "
                "note 1): pass rng=numpy.random.default_rng(seed), or an explicit h_e_m"
            )
        u = rng.random(d2d.shape)
        k = rng.random(d2d.shape)
        not_one = need & (u >= 1.0 / (1.0 + c))
        n_choices = np.floor((hu - 1.5 - 12.0) / 3.0) + 1.0  # values 12, 15, ..., <= hUT - 1.5
        draw = 12.0 + 3.0 * np.floor(k * np.maximum(n_choices, 1.0))
        h_e = np.where(not_one & (n_choices >= 1.0), draw, 1.0)
    return scalar_or_array(h_e, d2d_m, h_ut_m)


# --------------------------------------------------------------------------------------------------------------
# Table 7.4.1-1 formulas (no checks; arrays already broadcast)
# --------------------------------------------------------------------------------------------------------------
def _rma_pl1(d3d, fc_ghz, h):
    # Table 7.4.1-1, RMa LOS PL1
    return (
        20.0 * np.log10(40.0 * np.pi * d3d * fc_ghz / 3.0)
        + np.minimum(0.03 * h**1.72, 10.0) * np.log10(d3d)
        - np.minimum(0.044 * h**1.72, 14.77)
        + 0.002 * np.log10(h) * d3d
    )


def _rma_los(d2d, d3d, f_hz, h_bs, h_ut, h):
    fc = f_hz / 1e9
    d_bp = 2.0 * np.pi * h_bs * h_ut * f_hz / SPEED_OF_LIGHT_M_S
    pl1 = _rma_pl1(d3d, fc, h)
    pl2 = _rma_pl1(d_bp, fc, h) + 40.0 * np.log10(d3d / d_bp)  # Table 7.4.1-1, RMa LOS PL2
    return np.where(d2d <= d_bp, pl1, pl2)


def _rma_nlos(d2d, d3d, f_hz, h_bs, h_ut, h, w):
    fc = f_hz / 1e9
    pl_nlos = (  # Table 7.4.1-1, RMa NLOS PL'
        161.04
        - 7.1 * np.log10(w)
        + 7.5 * np.log10(h)
        - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
        + (43.42 - 3.1 * np.log10(h_bs)) * (np.log10(d3d) - 3.0)
        + 20.0 * np.log10(fc)
        - (3.2 * np.log10(11.75 * h_ut) ** 2 - 4.97)
    )
    return np.maximum(_rma_los(d2d, d3d, f_hz, h_bs, h_ut, h), pl_nlos)


def _uma_los(d2d, d3d, f_hz, h_bs, h_ut, h_e):
    fc = f_hz / 1e9
    d_bp = 4.0 * (h_bs - h_e) * (h_ut - h_e) * f_hz / SPEED_OF_LIGHT_M_S
    pl1 = 28.0 + 22.0 * np.log10(d3d) + 20.0 * np.log10(fc)  # Table 7.4.1-1, UMa LOS PL1
    pl2 = (  # Table 7.4.1-1, UMa LOS PL2
        28.0 + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc) - 9.0 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2)
    )
    return np.where(d2d <= d_bp, pl1, pl2)


def _uma_nlos(d2d, d3d, f_hz, h_bs, h_ut, h_e):
    fc = f_hz / 1e9
    pl_nlos = 13.54 + 39.08 * np.log10(d3d) + 20.0 * np.log10(fc) - 0.6 * (h_ut - 1.5)  # UMa NLOS PL'
    return np.maximum(_uma_los(d2d, d3d, f_hz, h_bs, h_ut, h_e), pl_nlos)


def _umi_los(d2d, d3d, f_hz, h_bs, h_ut):
    fc = f_hz / 1e9
    d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * f_hz / SPEED_OF_LIGHT_M_S
    pl1 = 32.4 + 21.0 * np.log10(d3d) + 20.0 * np.log10(fc)  # Table 7.4.1-1, UMi-Street Canyon LOS PL1
    pl2 = (  # Table 7.4.1-1, UMi-Street Canyon LOS PL2
        32.4 + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc) - 9.5 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2)
    )
    return np.where(d2d <= d_bp, pl1, pl2)


def _umi_nlos(d2d, d3d, f_hz, h_bs, h_ut):
    fc = f_hz / 1e9
    pl_nlos = 35.3 * np.log10(d3d) + 22.4 + 21.3 * np.log10(fc) - 0.3 * (h_ut - 1.5)  # UMi NLOS PL'
    return np.maximum(_umi_los(d2d, d3d, f_hz, h_bs, h_ut), pl_nlos)


def _inh_los(d3d, f_hz):
    return 32.4 + 17.3 * np.log10(d3d) + 20.0 * np.log10(f_hz / 1e9)  # Table 7.4.1-1, InH-Office LOS


def _inh_nlos(d3d, f_hz):
    pl_nlos = 17.3 + 38.3 * np.log10(d3d) + 24.9 * np.log10(f_hz / 1e9)  # InH-Office NLOS PL'
    return np.maximum(_inh_los(d3d, f_hz), pl_nlos)


# --------------------------------------------------------------------------------------------------------------
# Public path loss
# --------------------------------------------------------------------------------------------------------------
def _validate_common(scenario, condition, f, d2d, h_bs, h_ut, h_building=None, street_width=None):
    v = VALIDITY[scenario]
    name = _SCENARIO_NAMES[scenario]
    check_range(f, "freq_hz", *v["freq_hz"], "Hz", context=name)
    check_range(h_bs, "h_bs_m", *v["h_bs_m"], "m", context=name)
    check_range(h_ut, "h_ut_m", *v["h_ut_m"], "m", context=name)
    if scenario == "inh":
        check_range(d2d, "d2d_m", 0.0, None, "m", context=name, lo_inclusive=True)
        d3 = np.sqrt(d2d**2 + (h_bs - h_ut) ** 2)
        check_range(d3, "d3d_m", 0.0, v["d_max_m"][condition], "m", context=f"{name} {condition.upper()}",
                    lo_inclusive=False)
    else:
        check_range(d2d, "d2d_m", 0.0, v["d_max_m"][condition], "m", context=f"{name} {condition.upper()}",
                    lo_inclusive=False)
    if scenario == "rma":
        check_range(h_building, "h_building_m", 5.0, 50.0, "m", context=name)
        check_range(street_width, "street_width_m", 5.0, 50.0, "m", context=name)


def path_loss_db(
    scenario: str,
    condition: str,
    freq_hz,
    d2d_m,
    h_bs_m,
    h_ut_m,
    *,
    h_building_m=5.0,
    street_width_m=20.0,
    h_e_m=None,
    rng: np.random.Generator | None = None,
    validate: bool = True,
):
    """Basic path loss of 3GPP TR 38.901 Table 7.4.1-1 (without shadow fading), in dB.

    Parameters
    ----------
    scenario : {"rma", "uma", "umi", "inh"}
        Rural macro, urban macro, urban micro street canyon, indoor hotspot office.
    condition : {"los", "nlos"}
        Line-of-sight state. NLOS is ``max(PL_LOS, PL'_NLOS)``.
    freq_hz : float or ndarray
        Carrier frequency in Hz (0.5-100 GHz; RMa 0.5-30 GHz).
    d2d_m : float or ndarray
        Horizontal BS-UT distance in metres, > 0 (see the module docstring for the model's range and for distances
        shorter than its minimum).
    h_bs_m, h_ut_m : float or ndarray
        Antenna heights above ground in metres (ranges per scenario in the module docstring).
    h_building_m : float or ndarray
        RMa average building height h in metres (5-50, default 5). Ignored otherwise.
    street_width_m : float or ndarray
        RMa average street width W in metres (5-50, default 20). Ignored otherwise.
    h_e_m : float or ndarray, optional
        UMa effective environment height in metres. If None it follows note 1 of the table: 1 m for hUT < 13 m,
        a draw with ``rng`` otherwise (see :func:`uma_effective_environment_height_m`).
    rng : numpy.random.Generator, optional
        Needed only for UMa with hUT >= 13 m when ``h_e_m`` is not given.
    validate : bool
        Check every input against the model's range (default True). Pass False in hot loops that validated
        upstream.

    Returns
    -------
    float or ndarray
        Path loss in dB, shape of the broadcast inputs (float for scalar inputs).

    Raises
    ------
    OutOfRangeError
        An input outside the model's validity range, or NaN.
    InvalidInputError
        Unknown scenario/condition; UMa with hUT >= 13 m and neither ``h_e_m`` nor ``rng``.

    Notes
    -----
    The optional UMa/UMi NLOS formulas of the table are not implemented.

    References
    ----------
    3GPP TR 38.901 V17.0.0 (2022-03), clause 7.4.1, Table 7.4.1-1 and its notes 1 and 5.
    """
    scenario = check_choice(scenario, "scenario", SCENARIOS)
    condition = check_choice(condition, "condition", CONDITIONS)
    f = as_float_array(freq_hz, "freq_hz")
    d2d = as_float_array(d2d_m, "d2d_m")
    hb = as_float_array(h_bs_m, "h_bs_m")
    hu = as_float_array(h_ut_m, "h_ut_m")
    hbuild = as_float_array(h_building_m, "h_building_m")
    width = as_float_array(street_width_m, "street_width_m")
    if validate:
        _validate_common(scenario, condition, f, d2d, hb, hu, hbuild, width)
    d_min = VALIDITY[scenario]["d_min_m"]

    if scenario == "inh":
        d3d = np.maximum(np.sqrt(d2d * d2d + (hb - hu) ** 2), d_min)
        out = _inh_los(d3d, f) if condition == "los" else _inh_nlos(d3d, f)
        return scalar_or_array(out, freq_hz, d2d_m, h_bs_m, h_ut_m)

    d2d_eff = np.maximum(d2d, d_min)
    d3d = np.sqrt(d2d_eff * d2d_eff + (hb - hu) ** 2)
    if scenario == "rma":
        fn = _rma_los if condition == "los" else _rma_nlos
        args = (hbuild,) if condition == "los" else (hbuild, width)
        out = fn(d2d_eff, d3d, f, hb, hu, *args)
        return scalar_or_array(out, freq_hz, d2d_m, h_bs_m, h_ut_m, h_building_m, street_width_m)
    if scenario == "umi":
        out = (_umi_los if condition == "los" else _umi_nlos)(d2d_eff, d3d, f, hb, hu)
        return scalar_or_array(out, freq_hz, d2d_m, h_bs_m, h_ut_m)

    # UMa: effective environment height
    if h_e_m is None:
        h_e = np.asarray(uma_effective_environment_height_m(d2d_eff, hu, rng), dtype=float)
    else:
        h_e = as_float_array(h_e_m, "h_e_m")
        if validate:
            check_range(h_e, "h_e_m", 1.0, None, "m", context="UMa")
    if validate:
        check_range(hu - h_e, "h_ut_m - h_e_m", 0.0, None, "m", context="UMa effective UT height",
                    lo_inclusive=False)
        check_range(hb - h_e, "h_bs_m - h_e_m", 0.0, None, "m", context="UMa effective BS height",
                    lo_inclusive=False)
    out = (_uma_los if condition == "los" else _uma_nlos)(d2d_eff, d3d, f, hb, hu, h_e)
    return scalar_or_array(out, freq_hz, d2d_m, h_bs_m, h_ut_m, h_e_m if h_e_m is not None else 0.0)


# --------------------------------------------------------------------------------------------------------------
# Shadow fading and LOS probability
# --------------------------------------------------------------------------------------------------------------
def shadow_fading_std_db(scenario, condition, d2d_m=None, *, freq_hz=None, h_bs_m=None, h_ut_m=None):
    """Log-normal shadow-fading standard deviation sigma_SF in dB (TR 38.901 Table 7.4.1-1).

    RMa LOS: 4 dB up to the breakpoint (PL1), 6 dB beyond (PL2); this case needs ``d2d_m``, ``freq_hz``,
    ``h_bs_m`` and ``h_ut_m`` to locate the breakpoint. Every other case is a constant: UMa 4 / 6 dB,
    UMi-Street Canyon 4 / 7.82 dB, InH-Office 3 / 8.03 dB, RMa NLOS 8 dB (LOS / NLOS).

    Parameters
    ----------
    scenario : {"rma", "uma", "umi", "inh"}
    condition : {"los", "nlos"}
    d2d_m : float or ndarray, optional
        Horizontal distance in metres; if given the result has its shape.
    freq_hz, h_bs_m, h_ut_m : float or ndarray, optional
        Needed for RMa LOS only.

    Returns
    -------
    float or ndarray
        sigma_SF in dB.

    Notes
    -----
    Some system simulators use 7 dB for every UMa/UMi link below 6 GHz; qamtu follows the table.

    References
    ----------
    3GPP TR 38.901 V17.0.0, Table 7.4.1-1 (column "Shadow fading std").
    """
    scenario = check_choice(scenario, "scenario", SCENARIOS)
    condition = check_choice(condition, "condition", CONDITIONS)
    value = SHADOW_FADING_STD_DB[(scenario, condition)]
    if isinstance(value, tuple):
        if d2d_m is None or freq_hz is None or h_bs_m is None or h_ut_m is None:
            raise InvalidInputError(
                "RMa LOS shadow fading depends on the breakpoint (4 dB before, 6 dB after): "
                "give d2d_m, freq_hz, h_bs_m and h_ut_m"
            )
        d_bp = breakpoint_distance_m("rma", freq_hz, h_bs_m, h_ut_m)
        out = np.where(np.asarray(d2d_m, dtype=float) <= d_bp, value[0], value[1])
        return scalar_or_array(out, d2d_m, freq_hz, h_bs_m, h_ut_m)
    if d2d_m is None:
        return float(value)
    return scalar_or_array(np.full(np.shape(d2d_m), value, dtype=float), d2d_m)


def los_probability(scenario, d2d_m, h_ut_m=1.5, *, validate: bool = True):
    """Probability of line of sight, TR 38.901 Table 7.4.2-1.

    * RMa: 1 for d <= 10 m, ``exp(-(d - 10)/1000)`` beyond.
    * UMi-Street Canyon: 1 for d <= 18 m, ``18/d + exp(-d/36)(1 - 18/d)`` beyond.
    * UMa: 1 for d <= 18 m, ``[18/d + exp(-d/63)(1 - 18/d)][1 + C'(hUT) 5/4 (d/100)^3 exp(-d/150)]`` beyond,
      ``C' = 0`` for hUT <= 13 m, ``((hUT - 13)/10)^1.5`` for 13 < hUT <= 23 m.
    * InH-Office (mixed office): 1 for d <= 1.2 m, ``exp(-(d - 1.2)/4.7)`` for 1.2 < d < 6.5 m,
      ``0.32 exp(-(d - 6.5)/32.6)`` beyond.

    Parameters
    ----------
    scenario : {"rma", "uma", "umi", "inh"}
    d2d_m : float or ndarray
        Outdoor horizontal distance d2D-out in metres, >= 0 (for indoor users of an outdoor cell, the distance to
        the building wall, not to the user).
    h_ut_m : float or ndarray
        UT height in metres, used by UMa only (1-23 m; C' is defined up to 23 m).
    validate : bool
        Check the inputs (default True).

    Returns
    -------
    float or ndarray
        P_LOS in [0, 1].

    Notes
    -----
    For UMa with hUT > 13 m the table's product exceeds 1 just beyond 18 m (up to about 1.006 at hUT = 22.5 m,
    because the first factor is 1 at 18 m and the second already above 1); qamtu clips it to [0, 1]. With the
    clip every branch is non-increasing in d (checked by the tests for hUT up to 23 m).

    References
    ----------
    3GPP TR 38.901 V17.0.0, clause 7.4.2, Table 7.4.2-1.
    """
    scenario = check_choice(scenario, "scenario", SCENARIOS)
    d = as_float_array(d2d_m, "d2d_m")
    hu = as_float_array(h_ut_m, "h_ut_m")
    if validate:
        check_range(d, "d2d_m", 0.0, None, "m")
        if scenario == "uma":
            check_range(hu, "h_ut_m", 1.0, 23.0, "m", context="UMa LOS probability")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if scenario == "rma":
            p = np.where(d <= 10.0, 1.0, np.exp(-(d - 10.0) / 1000.0))
        elif scenario == "umi":
            p = np.where(d <= 18.0, 1.0, 18.0 / d + np.exp(-d / 36.0) * (1.0 - 18.0 / d))
        elif scenario == "uma":
            c_prime = np.where(hu <= 13.0, 0.0, ((np.clip(hu, 13.0, 23.0) - 13.0) / 10.0) ** 1.5)
            p_far = (18.0 / d + np.exp(-d / 63.0) * (1.0 - 18.0 / d)) * (
                1.0 + c_prime * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0)
            )
            p = np.where(d <= 18.0, 1.0, p_far)
        else:
            p = np.where(
                d <= 1.2,
                1.0,
                np.where(d < 6.5, np.exp(-(d - 1.2) / 4.7), 0.32 * np.exp(-(d - 6.5) / 32.6)),
            )
    p = np.clip(p, 0.0, 1.0)
    if scenario == "uma":
        return scalar_or_array(p, d2d_m, h_ut_m)
    return scalar_or_array(p, d2d_m)


# --------------------------------------------------------------------------------------------------------------
# Planning forms
# --------------------------------------------------------------------------------------------------------------
def shadowing_mean_gain_db(sigma_db):
    """Mean of a log-normal power gain with zero-mean dB deviation sigma, in dB: ``sigma^2 ln(10) / 20``.

    ``E[10^(X/10)] = exp(sigma^2 ln(10)^2 / 200)`` for ``X ~ N(0, sigma^2)`` (dB). For sigma = 6 dB it is 4.14 dB.
    """
    s = np.asarray(sigma_db, dtype=float)
    return scalar_or_array(s * s * np.log(10.0) / 20.0, sigma_db)


def mean_path_gain_db(
    scenario: str,
    freq_hz,
    d2d_m,
    h_bs_m,
    h_ut_m,
    *,
    los_prob=None,
    include_shadowing_mean: bool = False,
    h_building_m=5.0,
    street_width_m=20.0,
    h_e_m=None,
    rng: np.random.Generator | None = None,
    validate: bool = True,
):
    """Path gain averaged over the LOS/NLOS mixture, in dB (a negative number: -loss).

    ``G = P_LOS 10^(-PL_LOS/10) + (1 - P_LOS) 10^(-PL_NLOS/10)``, the average taken in linear units.

    Parameters
    ----------
    scenario : {"rma", "uma", "umi", "inh"}
    freq_hz, d2d_m, h_bs_m, h_ut_m : float or ndarray
        As in :func:`path_loss_db` (broadcast together).
    los_prob : float or ndarray, optional
        LOS probability to use; default :func:`los_probability` at ``d2d_m`` (pass it for indoor users, whose
        P_LOS is computed at d2D-out).
    include_shadowing_mean : bool
        If True, each state's gain is multiplied by the mean of its log-normal shadowing,
        ``exp(sigma^2 ln(10)^2 / 200)`` (+4.1 dB for sigma = 6 dB). Default False, because coverage maps threshold
        the *median* received power and account for shadowing separately in :func:`coverage_probability`;
        including the mean would credit every pixel with several dB it gets only on average. Use True when
        summing mean interference powers.
    h_building_m, street_width_m, h_e_m, rng, validate
        As in :func:`path_loss_db`.

    Returns
    -------
    float or ndarray
        Mean path gain in dB.

    References
    ----------
    3GPP TR 38.901 V17.0.0, Tables 7.4.1-1 and 7.4.2-1.
    """
    kw = dict(h_building_m=h_building_m, street_width_m=street_width_m, validate=validate)
    if h_e_m is None and check_choice(scenario, "scenario", SCENARIOS) == "uma":
        # Draw hE once so LOS and NLOS use the same effective height.
        d_min = VALIDITY["uma"]["d_min_m"]
        h_e_m = uma_effective_environment_height_m(
            np.maximum(np.asarray(d2d_m, dtype=float), d_min), h_ut_m, rng
        )
    pl_los = np.asarray(path_loss_db(scenario, "los", freq_hz, d2d_m, h_bs_m, h_ut_m, h_e_m=h_e_m, **kw))
    pl_nlos = np.asarray(path_loss_db(scenario, "nlos", freq_hz, d2d_m, h_bs_m, h_ut_m, h_e_m=h_e_m, **kw))
    if los_prob is None:
        p = np.asarray(los_probability(scenario, d2d_m, h_ut_m, validate=validate))
    else:
        p = as_float_array(los_prob, "los_prob")
        if validate:
            check_range(p, "los_prob", 0.0, 1.0)
    g_los = np.power(10.0, -pl_los / 10.0)
    g_nlos = np.power(10.0, -pl_nlos / 10.0)
    if include_shadowing_mean:
        s_los = np.asarray(
            shadow_fading_std_db(scenario, "los", d2d_m, freq_hz=freq_hz, h_bs_m=h_bs_m, h_ut_m=h_ut_m)
        )
        s_nlos = np.asarray(shadow_fading_std_db(scenario, "nlos", d2d_m))
        g_los = g_los * np.power(10.0, shadowing_mean_gain_db(s_los) / 10.0)
        g_nlos = g_nlos * np.power(10.0, shadowing_mean_gain_db(s_nlos) / 10.0)
    out = 10.0 * np.log10(p * g_los + (1.0 - p) * g_nlos)
    return scalar_or_array(out, freq_hz, d2d_m, h_bs_m, h_ut_m, 0.0 if los_prob is None else los_prob)


def coverage_probability(
    threshold_dbm,
    prx_los_dbm,
    prx_nlos_dbm,
    p_los,
    sigma_los_db,
    sigma_nlos_db,
    *,
    extra_sigma_db=0.0,
    validate: bool = True,
):
    """Probability that the received power reaches a threshold, over LOS state and log-normal shadowing.

    ``P(Prx >= thr) = P_LOS Q((thr - Prx_LOS)/s_LOS) + (1 - P_LOS) Q((thr - Prx_NLOS)/s_NLOS)``,
    ``Q(x) = 1 - Phi(x)``, with ``s = sqrt(sigma_SF^2 + extra_sigma^2)``: an extra independent log-normal term
    (e.g. the O2I penetration spread sigma_P of TR 38.901 7.4.3) adds in quadrature. With ``s = 0`` the
    probability is a step (1 where the median reaches the threshold).

    Parameters
    ----------
    threshold_dbm : float or ndarray
        Threshold on the received power, dBm (any consistent dB unit works).
    prx_los_dbm, prx_nlos_dbm : float or ndarray
        Median received power in each state, dBm (transmit power + gains - path loss of that state).
    p_los : float or ndarray
        LOS probability in [0, 1].
    sigma_los_db, sigma_nlos_db : float or ndarray
        Shadow-fading standard deviations in dB, >= 0 (:func:`shadow_fading_std_db`).
    extra_sigma_db : float or ndarray
        Standard deviation of an extra independent log-normal term in dB, >= 0 (default 0).
    validate : bool
        Check the inputs (default True).

    Returns
    -------
    float or ndarray
        Probability in [0, 1], shape of the broadcast inputs.

    References
    ----------
    3GPP TR 38.901 V17.0.0, Tables 7.4.1-1 (sigma_SF) and 7.4.2-1 (P_LOS); the normal CDF is
    :func:`scipy.special.ndtr`.
    """
    thr = as_float_array(threshold_dbm, "threshold_dbm")
    a = as_float_array(prx_los_dbm, "prx_los_dbm")
    b = as_float_array(prx_nlos_dbm, "prx_nlos_dbm")
    p = as_float_array(p_los, "p_los")
    s1 = as_float_array(sigma_los_db, "sigma_los_db")
    s2 = as_float_array(sigma_nlos_db, "sigma_nlos_db")
    s3 = as_float_array(extra_sigma_db, "extra_sigma_db")
    if validate:
        check_range(p, "p_los", 0.0, 1.0)
        for arr, name in ((s1, "sigma_los_db"), (s2, "sigma_nlos_db"), (s3, "extra_sigma_db")):
            check_range(arr, name, 0.0, None, "dB")
        for arr, name in ((thr, "threshold_dbm"), (a, "prx_los_dbm"), (b, "prx_nlos_dbm")):
            if np.any(np.isnan(arr)):
                check_range(arr, name, None, None, "dBm")
    p_los_ok = _exceed(a - thr, np.sqrt(s1 * s1 + s3 * s3))
    p_nlos_ok = _exceed(b - thr, np.sqrt(s2 * s2 + s3 * s3))
    out = p * p_los_ok + (1.0 - p) * p_nlos_ok
    return scalar_or_array(
        out, threshold_dbm, prx_los_dbm, prx_nlos_dbm, p_los, sigma_los_db, sigma_nlos_db, extra_sigma_db
    )


def _exceed(margin_db, sigma_db):
    """P(margin + N(0, sigma^2) >= 0) = Phi(margin / sigma); a step where sigma = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = margin_db / sigma_db
        return np.where(sigma_db > 0.0, ndtr(z), (margin_db >= 0.0).astype(float))
