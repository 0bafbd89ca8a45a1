"""Input checks shared by the radio modules (private).

Every check raises :class:`qamtu.errors.OutOfRangeError` (or :class:`~qamtu.errors.InvalidInputError`) with a
message that names the parameter, the offending value and the allowed range. Checks are vectorised: for an array
the message quotes the first offending element, its index and how many elements are out of range.
"""

from __future__ import annotations

import numpy as np

from qamtu.errors import InvalidInputError, OutOfRangeError


def as_float_array(value, name: str) -> np.ndarray:
    """``np.asarray(value, float)`` or a clear error naming the parameter."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a number or an array of numbers, got {value!r}") from None


def _first_bad(arr: np.ndarray, bad: np.ndarray, unit: str = "") -> str:
    n_bad = int(np.count_nonzero(bad))
    if arr.ndim == 0:
        return f"{float(arr):g}{_unit(unit)}"
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    where = idx[0] if len(idx) == 1 else idx
    return f"{float(arr[idx]):g}{_unit(unit)} (at index {where}; {n_bad} of {arr.size} values bad)"


def check_finite(arr: np.ndarray, name: str, unit: str = "") -> None:
    bad = ~np.isfinite(arr)
    if np.any(bad):
        raise OutOfRangeError(f"{name} must be a finite number, got {_first_bad(arr, bad, unit)}")


def check_range(
    arr: np.ndarray,
    name: str,
    lo: float | None,
    hi: float | None,
    unit: str = "",
    context: str = "",
    lo_inclusive: bool = True,
) -> None:
    """Raise if any element of ``arr`` is NaN/inf or outside ``[lo, hi]`` (``(lo, hi]`` if not lo_inclusive)."""
    check_finite(arr, name, unit)
    bad = np.zeros(arr.shape, dtype=bool)
    if lo is not None:
        bad |= (arr < lo) if lo_inclusive else (arr <= lo)
    if hi is not None:
        bad |= arr > hi
    if np.any(bad):
        # Frequencies read better in GHz: quote the value in Hz (the parameter's unit) and the range in GHz.
        scale, range_unit = (1e9, "GHz") if unit == "Hz" else (1.0, unit)
        lo_txt = "-inf" if lo is None else f"{lo / scale:g}"
        hi_txt = "inf" if hi is None else f"{hi / scale:g}"
        bracket = "[" if lo_inclusive else "("
        ctx = f" for {context}" if context else ""
        raise OutOfRangeError(
            f"{name} = {_first_bad(arr, bad, unit)} is outside the valid range{ctx}: "
            f"{bracket}{lo_txt}, {hi_txt}]{_unit(range_unit)}"
        )


def check_choice(value: str, name: str, allowed) -> str:
    """Lower-case ``value`` and check it is one of ``allowed``."""
    if not isinstance(value, str) or value.lower() not in allowed:
        raise InvalidInputError(f"{name} = {value!r} is not one of {', '.join(repr(a) for a in allowed)}")
    return value.lower()


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def scalar_or_array(result: np.ndarray, *inputs) -> float | np.ndarray:
    """Return a Python float when every input was a scalar, otherwise the array."""
    if all(np.ndim(x) == 0 for x in inputs):
        return float(result)
    return result
