"""Sampling hygiene for drive tests: one sample per second, idle gaps, transfer sessions, time per sample.

Per-second de-duplication
    Apps log several readings in one second (the 5G dataset of issue 17: 1,180 of 11,618 rows repeat a
    timestamp). Rows of the same file, operator and technology within the same UTC second become ONE sample:
    position and throughput are the mean of the rows (a throughput is a rate over the second, so the mean is the
    second's rate); RSRP and SINR are power means, ``10 log10(mean(10^(x/10)))``, because powers add in linear
    units; cell id and session are the first row's; ``line`` is the first row's physical line and ``rows_merged``
    says how many rows made the sample. ``dedupe=False`` keeps every row.

Idle samples
    A sample is idle when its downlink is below ``idle_mbps`` (default 0.1 Mbit/s) and its uplink is empty or
    below it too: no transfer was running (the gaps between downloads). Idle samples are left out of the
    THROUGHPUT KPIs (share at or above a norm, throughput percentiles, degradation) and counted; RSRP and SINR
    still use them. A transfer that stalls to zero inside a coverage hole looks the same, so the count is
    reported beside every result; ``idle_mbps=0`` disables the rule.

Sessions
    A session is one transfer: the ``session`` column when the file has one, otherwise a run of non-idle samples
    of one file and operator with no gap longer than ``session_gap_s`` (default 5 s) between consecutive samples.
    The session's throughput is the mean of its samples' downlink (each sample one second after
    de-duplication), its technology the most frequent one.

Time per sample
    For the share of drive TIME on fallback technologies and without service, each sample lasts until the next
    sample of the same file (any technology), capped at ``max_gap_s`` (default 10 s: a longer gap is a pause in
    logging, not time on the last technology); the last sample of a file lasts the file's median interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qamtu.errors import InvalidInputError

#: Default idle threshold, Mbit/s.
DEFAULT_IDLE_MBPS = 0.1
#: Default gap that ends a session, s.
DEFAULT_SESSION_GAP_S = 5.0
#: Default cap on the time one sample represents, s.
DEFAULT_MAX_GAP_S = 10.0


def _power_mean_db(values: pd.Series, keys: list[pd.Series]) -> pd.Series:
    lin = np.power(10.0, values.to_numpy(dtype=float) / 10.0)
    m = pd.Series(lin, index=values.index).groupby(keys, sort=False, dropna=False).mean()
    return 10.0 * np.log10(m)


def dedupe_per_second(frame: pd.DataFrame) -> pd.DataFrame:
    """One sample per (source, operator, tech, UTC second); see the module docstring. Adds ``rows_merged``.

    Rows keep their first-appearance order; a frame with no repeated second comes back with the same rows.
    """
    if frame.empty:
        return frame.assign(rows_merged=pd.Series(dtype=np.int64))
    f = frame.copy()
    f["_second"] = pd.to_datetime(f["time"], utc=True).dt.floor("s")
    keys = [f["source"], f["operator"], f["tech"], f["_second"]]
    g = f.groupby(keys, sort=False, dropna=False)
    out = g.agg(time=("_second", "first"), lat=("lat", "mean"), lon=("lon", "mean"),
                operator_raw=("operator_raw", "first"), dl_mbps=("dl_mbps", "mean"), ul_mbps=("ul_mbps", "mean"),
                cell_id=("cell_id", "first"), session=("session", "first"), weight=("weight", "first"),
                line=("line", "min"), rows_merged=("line", "size"))
    out["rsrp_dbm"] = _power_mean_db(f["rsrp_dbm"], keys)
    out["sinr_db"] = _power_mean_db(f["sinr_db"], keys)
    out = out.reset_index(names=["source", "operator", "tech", "_second"]).drop(columns="_second")
    extra = [c for c in frame.columns if c not in out.columns]
    for c in extra:  # any other column: the first row's value
        out[c] = g[c].first().to_numpy()
    cols = list(frame.columns) + ["rows_merged"]
    return out.loc[:, cols].reset_index(drop=True)


def idle_mask(dl_mbps: np.ndarray, ul_mbps: np.ndarray, idle_mbps: float = DEFAULT_IDLE_MBPS) -> np.ndarray:
    """True where no transfer ran: downlink below ``idle_mbps`` and uplink empty or below it (see above)."""
    if not idle_mbps >= 0:
        raise InvalidInputError(f"idle_mbps {idle_mbps!r} must be >= 0 Mbit/s")
    dl = np.asarray(dl_mbps, dtype=float)
    ul = np.asarray(ul_mbps, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(dl) & (dl < idle_mbps) & (~np.isfinite(ul) | (ul < idle_mbps))


def assign_sessions(frame: pd.DataFrame, idle: np.ndarray, gap_s: float = DEFAULT_SESSION_GAP_S) -> np.ndarray:
    """Session label per row (None for idle rows and rows without a downlink); see the module docstring."""
    if not gap_s > 0:
        raise InvalidInputError(f"session gap {gap_s!r} must be a positive number of seconds")
    out = np.full(len(frame), None, dtype=object)
    active = ~np.asarray(idle, dtype=bool) & frame["dl_mbps"].notna().to_numpy()
    if not active.any():
        return out
    f = frame.loc[active, ["source", "operator", "time", "session"]].copy()
    f["_pos"] = np.flatnonzero(active)
    if f["session"].notna().any():
        lab = f["source"].astype(str) + "|" + f["operator"].astype(str) + "|" + f["session"].astype(str)
        out[f["_pos"].to_numpy()] = np.where(f["session"].notna(), lab, None)
        return out
    f = f.sort_values(["source", "operator", "time"], kind="stable")
    t = pd.to_datetime(f["time"], utc=True)
    same = (f["source"].eq(f["source"].shift()) & f["operator"].eq(f["operator"].shift())).to_numpy()
    gap = t.diff().dt.total_seconds().to_numpy()
    new = ~same | ~(gap <= gap_s)
    number = np.cumsum(new)
    lab = f["source"].astype(str).to_numpy() + "|" + f["operator"].astype(str).to_numpy() + "|s" + number.astype(str)
    out[f["_pos"].to_numpy()] = lab
    return out


def session_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per session (``frame`` needs ``session_id``, ``city``, ``period``): its area, operator, most
    frequent technology, period of its start, start, end, samples, duration and mean downlink. MEASURED."""
    cols = ["city", "operator", "tech", "period", "source", "session", "start", "end", "samples", "duration_s",
            "dl_mbps_mean", "quantity"]
    data = frame[frame["session_id"].notna()]
    if data.empty:
        return pd.DataFrame(columns=cols)
    data = data.sort_values(["session_id", "time"], kind="stable")
    g = data.groupby("session_id", sort=True)
    # most frequent technology and area of each session (ties: the first in sorted order)
    def mode_of(col: str) -> pd.Series:
        counts = data.groupby(["session_id", col], sort=True, dropna=False).size().rename("n").reset_index()
        counts = counts.sort_values(["session_id", "n"], ascending=[True, False], kind="stable")
        return counts.drop_duplicates("session_id").set_index("session_id")[col]

    out = g.agg(operator=("operator", "first"), period=("period", "first"), source=("source", "first"),
                start=("time", "first"), end=("time", "last"), samples=("time", "size"),
                dl_mbps_mean=("dl_mbps", "mean"))
    out["tech"] = mode_of("tech")
    out["city"] = mode_of("city")
    out["duration_s"] = (out["end"] - out["start"]).dt.total_seconds() + 1.0
    out["session"] = [str(i).split("|")[-1] for i in out.index]
    out["quantity"] = "measured"
    return out.reset_index(drop=True).loc[:, cols]


def sample_durations(source: pd.Series, time: pd.Series, max_gap_s: float = DEFAULT_MAX_GAP_S) -> np.ndarray:
    """Seconds each sample stands for (see the module docstring), in the input order."""
    n = len(time)
    out = np.zeros(n)
    if n == 0:
        return out
    f = pd.DataFrame({"source": source.to_numpy(), "t": pd.to_datetime(time, utc=True).to_numpy(),
                      "pos": np.arange(n)})
    f = f.sort_values(["source", "t"], kind="stable")
    nxt = f.groupby("source")["t"].shift(-1)
    d = (nxt - f["t"]).dt.total_seconds()
    med = d.groupby(f["source"]).transform("median").fillna(1.0)
    d = d.fillna(med).clip(lower=0.0, upper=max_gap_s)
    out[f["pos"].to_numpy()] = d.to_numpy()
    return out
