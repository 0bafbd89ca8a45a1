"""Units and constants: dB <-> linear, dBm <-> W, physical constants.

Powers add in linear units: convert at the edges with these helpers, never add dBm values.
All functions accept scalars and NumPy arrays alike.
"""

from __future__ import annotations

import numpy as np

#: Speed of light in m/s, as used by 3GPP TR 38.901 (c = 3.0e8 m/s).
SPEED_OF_LIGHT_M_S = 3.0e8

#: Thermal noise power spectral density at 290 K, dBm/Hz (kT = -173.98 dBm/Hz, rounded as in link budgets).
THERMAL_NOISE_DBM_PER_HZ = -174.0

#: Boltzmann constant, J/K.
BOLTZMANN_J_PER_K = 1.380649e-23


def db_to_linear(value_db):
    """Power ratio in dB to a linear ratio: ``10 ** (value_db / 10)``."""
    return np.power(10.0, np.asarray(value_db, dtype=float) / 10.0)


def linear_to_db(value_linear):
    """Linear power ratio to dB: ``10 log10(value)``. Zero gives ``-inf``; negative values are an error."""
    value = np.asarray(value_linear, dtype=float)
    if np.any(value < 0):
        from qamtu.errors import InvalidInputError

        raise InvalidInputError("linear power ratio must be >= 0 to convert to dB")
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(value)


def dbm_to_mw(power_dbm):
    """Power in dBm to milliwatts."""
    return db_to_linear(power_dbm)


def mw_to_dbm(power_mw):
    """Power in milliwatts to dBm (0 mW gives -inf)."""
    return linear_to_db(power_mw)


def dbm_to_watt(power_dbm):
    """Power in dBm to watts."""
    return db_to_linear(power_dbm) / 1000.0


def watt_to_dbm(power_w):
    """Power in watts to dBm (0 W gives -inf)."""
    return linear_to_db(np.asarray(power_w, dtype=float) * 1000.0)


def sum_dbm(powers_dbm, axis=None):
    """Sum powers given in dBm, in linear units, and return dBm."""
    return mw_to_dbm(np.sum(dbm_to_mw(powers_dbm), axis=axis))
