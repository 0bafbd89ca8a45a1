"""Outdoor-to-indoor (O2I) building penetration and car penetration, 3GPP TR 38.901 clause 7.4.3.

``PL = PL_b + PL_tw + PL_in + N(0, sigma_P^2)``: this module gives ``PL_tw + PL_in`` (the O2I loss added to the
outdoor path loss PL_b) and sigma_P. Frequencies in Hz (the TR's formulas take f in GHz).

Material losses (TR 38.901 V17.0.0 Table 7.4.3-1, f in GHz): standard multi-pane glass ``2 + 0.2 f``;
IRR (infrared-reflecting) glass ``23 + 0.3 f``; concrete ``5 + 4 f``.

IRR glass: qamtu uses ``L_IRRglass = 23 + 0.3 f``, the formula printed in Table 7.4.3-1 of
TR 38.901 V17.0.0. Other texts quote ``25.4 + 0.11 f`` (not adopted here); at 3.5 GHz the two differ by 1.7 dB
(24.05 vs 25.79 dB).

References
----------
.. [1] 3GPP TR 38.901 V17.0.0 (2022-03), clause 7.4.3.1, Tables 7.4.3-1 (material penetration losses) and
   7.4.3-2 (O2I building penetration loss model); clause 7.4.3.2 (O2I car penetration loss).
"""

from __future__ import annotations

import numpy as np

from qamtu.radio._checks import as_float_array, check_choice, check_range, scalar_or_array

MODELS = ("low", "high")

#: Car penetration loss, mean and standard deviation in dB (TR 38.901 V17.0.0 clause 7.4.3.2, 0.6-60 GHz).
CAR_LOSS_DB = 9.0
CAR_STD_DB = 5.0

#: sigma_P of the building penetration models, dB (TR 38.901 V17.0.0 Table 7.4.3-2).
O2I_STD_DB = {"low": 4.4, "high": 6.5}

#: d2D-in is the minimum of two independent U(0, D) draws: D = 25 m for UMa/UMi, 10 m for RMa (Table 7.4.3-2 note).
D2D_IN_MAX_M = {"uma": 25.0, "umi": 25.0, "rma": 10.0}

_FREQ_RANGE_HZ = (0.5e9, 100e9)


def glass_loss_db(freq_hz):
    """Standard multi-pane glass penetration loss ``2 + 0.2 f`` dB (f in GHz); TR 38.901 Table 7.4.3-1."""
    return scalar_or_array(2.0 + 0.2 * np.asarray(freq_hz, dtype=float) / 1e9, freq_hz)


def irr_glass_loss_db(freq_hz):
    """IRR glass penetration loss ``23 + 0.3 f`` dB (f in GHz); TR 38.901 V17.0.0 Table 7.4.3-1."""
    return scalar_or_array(23.0 + 0.3 * np.asarray(freq_hz, dtype=float) / 1e9, freq_hz)


def concrete_loss_db(freq_hz):
    """Concrete penetration loss ``5 + 4 f`` dB (f in GHz); TR 38.901 Table 7.4.3-1."""
    return scalar_or_array(5.0 + 4.0 * np.asarray(freq_hz, dtype=float) / 1e9, freq_hz)


def wall_loss_db(freq_hz, model: str, *, validate: bool = True):
    """Through-wall loss PL_tw of the low- or high-loss model, dB.

    * low:  ``5 - 10 log10(0.3 10^(-L_glass/10) + 0.7 10^(-L_concrete/10))``
    * high: ``5 - 10 log10(0.7 10^(-L_IRRglass/10) + 0.3 10^(-L_concrete/10))``

    References
    ----------
    3GPP TR 38.901 V17.0.0, Table 7.4.3-2.
    """
    model = check_choice(model, "model", MODELS)
    f = as_float_array(freq_hz, "freq_hz")
    if validate:
        check_range(f, "freq_hz", *_FREQ_RANGE_HZ, "Hz", context="O2I penetration")
    conc = np.power(10.0, -np.asarray(concrete_loss_db(f)) / 10.0)
    if model == "low":
        mix = 0.3 * np.power(10.0, -np.asarray(glass_loss_db(f)) / 10.0) + 0.7 * conc
    else:
        mix = 0.7 * np.power(10.0, -np.asarray(irr_glass_loss_db(f)) / 10.0) + 0.3 * conc
    return scalar_or_array(5.0 - 10.0 * np.log10(mix), freq_hz)


def o2i_loss_db(freq_hz, model: str, d2d_in_m, *, validate: bool = True):
    """O2I building penetration loss ``PL_tw + PL_in`` in dB, without the random term N(0, sigma_P^2).

    Parameters
    ----------
    freq_hz : float or ndarray
        Carrier frequency in Hz, 0.5-100 GHz.
    model : {"low", "high"}
        Low-loss (standard glass, 30 % glass / 70 % concrete) or high-loss (IRR glass, 70 % / 30 %) building.
    d2d_in_m : float or ndarray
        Indoor horizontal distance in metres, >= 0 (``PL_in = 0.5 d2D-in``). Broadcasts with ``freq_hz``.
    validate : bool
        Check the inputs (default True).

    Returns
    -------
    float or ndarray
        Loss in dB.

    References
    ----------
    3GPP TR 38.901 V17.0.0, clause 7.4.3.1, Table 7.4.3-2.
    """
    d_in = as_float_array(d2d_in_m, "d2d_in_m")
    if validate:
        check_range(d_in, "d2d_in_m", 0.0, None, "m")
    out = np.asarray(wall_loss_db(freq_hz, model, validate=validate)) + 0.5 * d_in
    return scalar_or_array(out, freq_hz, d2d_in_m)


def o2i_std_db(model: str) -> float:
    """Standard deviation sigma_P in dB: 4.4 (low-loss), 6.5 (high-loss), 5.0 ("car"); TR 38.901 7.4.3."""
    model = check_choice(model, "model", MODELS + ("car",))
    return CAR_STD_DB if model == "car" else O2I_STD_DB[model]


def mean_o2i_loss_db(freq_hz, model: str, scenario: str = "uma", *, validate: bool = True):
    """Mean O2I loss over d2D-in, for planning: ``PL_tw + 0.5 E[d2D-in]``, in dB.

    d2D-in is the minimum of two independent U(0, D) draws, whose mean is D/3: 25/3 m for UMa/UMi
    (PL_in = 4.17 dB), 10/3 m for RMa (1.67 dB). The mean is taken in dB (the usual link-budget figure);
    sigma_P is left to :func:`o2i_std_db`, to be combined with shadow fading in quadrature.

    Parameters
    ----------
    freq_hz : float or ndarray
        Carrier frequency in Hz, 0.5-100 GHz.
    model : {"low", "high"}
        Building type. The TR uses only the low-loss model for RMa.
    scenario : {"uma", "umi", "rma"}
        Sets D (default "uma").

    References
    ----------
    3GPP TR 38.901 V17.0.0, Table 7.4.3-2 and its note on d2D-in.
    """
    scenario = check_choice(scenario, "scenario", tuple(D2D_IN_MAX_M))
    return o2i_loss_db(freq_hz, model, D2D_IN_MAX_M[scenario] / 3.0, validate=validate)


def draw_o2i_loss_db(freq_hz, model: str, size, rng: np.random.Generator, scenario: str = "uma"):
    """Random O2I losses for Monte-Carlo drops: ``PL_tw + 0.5 min(U1, U2) + N(0, sigma_P^2)``, dB.

    Parameters
    ----------
    freq_hz : float
        Carrier frequency in Hz.
    model : {"low", "high", "car"}
        Building type, or "car" (``N(9, 5^2)`` dB, clause 7.4.3.2).
    size : int or tuple of int
        Number/shape of draws.
    rng : numpy.random.Generator
        Seeded generator.
    scenario : {"uma", "umi", "rma"}
        Sets the d2D-in range D.

    References
    ----------
    3GPP TR 38.901 V17.0.0, clause 7.4.3.
    """
    if check_choice(model, "model", MODELS + ("car",)) == "car":
        return rng.normal(CAR_LOSS_DB, CAR_STD_DB, size)
    scenario = check_choice(scenario, "scenario", tuple(D2D_IN_MAX_M))
    d_max = D2D_IN_MAX_M[scenario]
    d_in = np.minimum(rng.uniform(0.0, d_max, size), rng.uniform(0.0, d_max, size))
    return np.asarray(o2i_loss_db(freq_hz, model, d_in)) + rng.normal(0.0, o2i_std_db(model), size)
