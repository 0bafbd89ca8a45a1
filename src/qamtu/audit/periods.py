"""Periods of measurement: ``START..END`` with ISO 8601 dates, both days included.

Syntax
------
``2024-01-01..2024-06-30``  from the start of 1 January to the end of 30 June 2024 (UTC);
``2024-07-01..``            from 1 July 2024 on (open end);
``..2023-12-31``            everything up to the end of 31 December 2023 (open start).
A time of day may be given (``2024-01-01T06:00..2024-01-01T18:00``); then the end is that instant (exclusive)
rather than the end of the day. Times without an offset are UTC, as in :mod:`qamtu.audit.ingest`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from qamtu.errors import InvalidInputError

#: Label of the single period used when none is given.
ALL_PERIOD = "all"


@dataclasses.dataclass(frozen=True)
class Period:
    """A half-open time interval ``[start, end)`` in UTC with the label the user wrote."""

    label: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None

    def contains(self, times: pd.Series) -> np.ndarray:
        """Boolean mask of ``times`` (tz-aware UTC) inside the period; NaT is never inside a bounded period."""
        t = pd.to_datetime(times, utc=True)
        mask = np.ones(len(t), dtype=bool)
        if self.start is None and self.end is None:
            return mask
        known = t.notna().to_numpy()
        mask &= known
        if self.start is not None:
            mask &= (t >= self.start).fillna(False).to_numpy(dtype=bool)
        if self.end is not None:
            mask &= (t < self.end).fillna(False).to_numpy(dtype=bool)
        return mask


def _parse_bound(text: str, is_end: bool, spec: str) -> pd.Timestamp | None:
    text = text.strip()
    if text == "":
        return None
    ts = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    if pd.isna(ts):
        raise InvalidInputError(
            f"period {spec!r}: {text!r} is not an ISO 8601 date; write e.g. 2024-01-01..2024-06-30"
        )
    if is_end and "T" not in text and " " not in text:
        ts = ts + pd.Timedelta(days=1)  # the end date is included whole
    return ts


def parse_period(spec: str) -> Period:
    """Parse ``START..END`` (see the module docstring) into a :class:`Period`.

    Raises
    ------
    InvalidInputError
        If ``..`` is missing, a bound is not ISO 8601, or the end is not after the start.
    """
    if not isinstance(spec, str) or ".." not in spec:
        raise InvalidInputError(
            f"period {spec!r} must be START..END with ISO 8601 dates, e.g. 2024-01-01..2024-06-30"
        )
    start_text, end_text = spec.split("..", 1)
    start = _parse_bound(start_text, False, spec)
    end = _parse_bound(end_text, True, spec)
    if start is not None and end is not None and end <= start:
        raise InvalidInputError(f"period {spec!r}: the end must come after the start")
    return Period(label=spec.strip(), start=start, end=end)


def all_period() -> Period:
    """The unbounded period labelled ``"all"``."""
    return Period(label=ALL_PERIOD, start=None, end=None)


def assign_periods(times: pd.Series, periods: list[Period]) -> np.ndarray:
    """Label each time with the first period that contains it, or None.

    Raises
    ------
    InvalidInputError
        If two periods overlap (a sample would count twice).
    """
    for i, a in enumerate(periods):
        for b in periods[i + 1 :]:
            a_start = a.start if a.start is not None else pd.Timestamp.min.tz_localize("UTC")
            b_start = b.start if b.start is not None else pd.Timestamp.min.tz_localize("UTC")
            a_end = a.end if a.end is not None else pd.Timestamp.max.tz_localize("UTC")
            b_end = b.end if b.end is not None else pd.Timestamp.max.tz_localize("UTC")
            if a_start < b_end and b_start < a_end:
                raise InvalidInputError(f"periods {a.label!r} and {b.label!r} overlap; they must be disjoint")
    labels = np.full(len(times), None, dtype=object)
    for p in periods:
        m = p.contains(times) & (labels == None)  # noqa: E711 (element-wise on an object array)
        labels[m] = p.label
    return labels
