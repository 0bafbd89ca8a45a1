"""Read measured quality: per-sample drive-test CSV and Ookla open-data mobile tiles, validated row by row.

Every row that fails a check is kept in a rejects table (file, row, field, value, reason); nothing is dropped
silently, and a file whose share of rejected rows exceeds ``max_reject_share`` stops with a clear error.

Drive-test CSV, canonical columns
---------------------------------
===========  ==========================================================  ======================
column       meaning                                                     allowed
===========  ==========================================================  ======================
time         sample time, ISO 8601 (offset honoured; none = UTC)         required
lat, lon     WGS84 latitude / longitude, degrees                         required, -90..90 / -180..180
operator     operator name as written in the file                        required, non-empty
tech         radio technology: 4G or 5G (aliases below)                  required
rsrp_dbm     (SS-)RSRP of the serving cell, dBm                          -156..-31, may be empty
sinr_db      (SS-)SINR, dB                                               -23..40, may be empty
dl_mbps      downlink throughput, Mbit/s                                 0..max_mbps, may be empty
ul_mbps      uplink throughput, Mbit/s                                   0..max_mbps, may be empty
cell_id      serving cell / sector id, text                              optional column
===========  ==========================================================  ======================

The four measured fields may be empty one by one (drive-test logs interleave radio records and throughput
records), but a row with all four empty has no measurement and is rejected. Each KPI counts only the rows that
carry its quantity, and says how many. RSRP limits: TS 38.133 V17 Table 10.1.6.1-1 reports SS-RSRP from -156
to -31 dBm; SINR limits: TS 38.133 Table 10.1.16.1-1 reports SS-SINR from -23 to 40 dB.

Tech aliases (case-insensitive): 4G = ``4G, LTE, LTE-A, LTE+, 4G+, E-UTRA``; 5G = ``5G, NR, 5G NR, NR5G, 5G NSA,
5G SA, NR NSA, NR SA, 5G-NSA, 5G-SA, NR-NSA, NR-SA``. Anything else (2G, 3G, ...) is rejected.

Column mapping
--------------
Exports of drive-test apps use their own headers and units. Name them with a mapping ``canonical=Source`` and,
where the unit differs, a factor: ``canonical=Source*factor`` (the file's value times the factor gives the
canonical unit). As a string (the CLI's ``--columns``)::

    time=Timestamp,lat=Latitude,lon=Longitude,operator=Operatorname,tech=NetworkTech,
    rsrp_dbm=Level,sinr_db=SNR,dl_mbps=DL_bitrate*0.001,ul_mbps=UL_bitrate*0.001,cell_id=CellID

Named presets (``COLUMN_PRESETS``) cover layouts met in practice; they are conveniences written from the apps'
published descriptions as far as we know them, NOT verified vendor specifications: check them against your
file's header and override any column with an explicit mapping (explicit entries win over the preset):

- ``canonical``: the table above.
- ``gnettrack``: a G-NetTrack-style text log (``Timestamp`` as ``YYYY.MM.DD_hh.mm.ss``, ``Latitude``,
  ``Longitude``, ``Operatorname``, ``NetworkTech``, ``Level`` in dBm, ``SNR`` in dB, ``DL_bitrate`` and
  ``UL_bitrate`` in kbit/s, ``CellID``); separator detected (often ``;`` or tab).
- ``titlecase``: a generic spreadsheet layout (``Time, Latitude, Longitude, Operator, Technology, RSRP, SINR,
  DL Mbps, UL Mbps, Cell ID``).

Ookla open-data mobile tiles
----------------------------
Columns ``quadkey`` (zoom 16, text of digits 0-3), ``avg_d_kbps``, ``avg_u_kbps``, ``avg_lat_ms``, ``tests``,
``devices`` (other columns such as ``tile`` are ignored: the geometry is derived from the quadkey, see
:mod:`qamtu.audit.quadkey`). Parquet or CSV. The tiles carry no operator or technology: they become operator
``all``, tech ``all``, with the tile centre as ``lat``/``lon``, ``dl_mbps = avg_d_kbps / 1000`` and weight =
``tests``. The period start is taken from ``period_start`` or from a ``YYYY-MM-DD`` date in the file name (Ookla
names its quarterly files so); otherwise the tiles have no time.

References
----------
3GPP TS 38.133 V17.9.0, Tables 10.1.6.1-1 (SS-RSRP report mapping, -156..-31 dBm) and 10.1.16.1-1 (SS-SINR
report mapping, -23..40 dB).
Ookla, "Speedtest by Ookla Global Fixed and Mobile Network Performance Maps", open data on AWS (README: tile
schema quadkey, avg_d_kbps, avg_u_kbps, avg_lat_ms, tests, devices; zoom level 16 Web-Mercator tiles).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from qamtu.audit.quadkey import is_valid_quadkey, quadkey_bounds_lonlat, quadkey_centre_lonlat
from qamtu.errors import DataFileError, InvalidInputError, where

#: Canonical drive-test columns, in order.
DRIVE_COLUMNS = ("time", "lat", "lon", "operator", "tech", "rsrp_dbm", "sinr_db", "dl_mbps", "ul_mbps")
#: Optional canonical columns.
OPTIONAL_COLUMNS = ("cell_id",)
#: Measured fields that may be empty one by one.
MEASURED_FIELDS = ("rsrp_dbm", "sinr_db", "dl_mbps", "ul_mbps")
#: Ookla open-data mobile tile columns.
OOKLA_COLUMNS = ("quadkey", "avg_d_kbps", "avg_u_kbps", "avg_lat_ms", "tests", "devices")

#: Allowed ranges (inclusive) of the measured fields. TS 38.133 Tables 10.1.6.1-1 and 10.1.16.1-1.
RSRP_RANGE_DBM = (-156.0, -31.0)
SINR_RANGE_DB = (-23.0, 40.0)
#: Default upper limit of a plausible throughput, Mbit/s: above the TS 38.306 peak rate of a 100 MHz n78
#: carrier with 4 layers and 256QAM (about 2.3 Gbit/s) with margin; a larger value is usually a kbit/s column
#: read as Mbit/s. A parameter.
DEFAULT_MAX_MBPS = 5000.0
#: Default share of rejected rows above which a file is refused as mostly bad.
DEFAULT_MAX_REJECT_SHARE = 0.5

_TECH_ALIASES = {
    "4G": ("4g", "lte", "lte-a", "lte+", "4g+", "e-utra", "eutra"),
    "5G": ("5g", "nr", "5g nr", "nr5g", "5g nsa", "5g sa", "nr nsa", "nr sa", "5g-nsa", "5g-sa", "nr-nsa", "nr-sa"),
}
_TECH_LOOKUP = {alias: tech for tech, aliases in _TECH_ALIASES.items() for alias in aliases}
_MISSING = {"", "na", "nan", "n/a", "null", "none", "-"}


@dataclasses.dataclass(frozen=True)
class ColumnMap:
    """A column mapping: canonical name -> (source column, factor), plus an optional time format.

    ``time_format`` is a ``strftime`` pattern for the time column; None means ISO 8601.
    """

    columns: Mapping[str, tuple[str, float]]
    time_format: str | None = None


COLUMN_PRESETS: dict[str, ColumnMap] = {
    "canonical": ColumnMap({c: (c, 1.0) for c in DRIVE_COLUMNS + OPTIONAL_COLUMNS}),
    "gnettrack": ColumnMap(
        {
            "time": ("Timestamp", 1.0),
            "lat": ("Latitude", 1.0),
            "lon": ("Longitude", 1.0),
            "operator": ("Operatorname", 1.0),
            "tech": ("NetworkTech", 1.0),
            "rsrp_dbm": ("Level", 1.0),
            "sinr_db": ("SNR", 1.0),
            "dl_mbps": ("DL_bitrate", 0.001),
            "ul_mbps": ("UL_bitrate", 0.001),
            "cell_id": ("CellID", 1.0),
        },
        time_format="%Y.%m.%d_%H.%M.%S",
    ),
    "titlecase": ColumnMap(
        {
            "time": ("Time", 1.0),
            "lat": ("Latitude", 1.0),
            "lon": ("Longitude", 1.0),
            "operator": ("Operator", 1.0),
            "tech": ("Technology", 1.0),
            "rsrp_dbm": ("RSRP", 1.0),
            "sinr_db": ("SINR", 1.0),
            "dl_mbps": ("DL Mbps", 1.0),
            "ul_mbps": ("UL Mbps", 1.0),
            "cell_id": ("Cell ID", 1.0),
        }
    ),
}

REJECT_COLUMNS = ("file", "row", "field", "value", "reason")


@dataclasses.dataclass
class Measurements:
    """Validated measurements from one or more files.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per accepted sample (drive test) or tile (Ookla): ``time`` (UTC, may be NaT for tiles), ``lat``,
        ``lon`` (deg), ``operator``, ``tech``, ``rsrp_dbm``, ``sinr_db``, ``dl_mbps``, ``ul_mbps``, ``cell_id``,
        ``weight`` (1 per sample; tests per tile), ``source`` (file) and ``row`` (1-based data row in it).
        Ookla tiles add ``quadkey``, ``lon_min``, ``lat_min``, ``lon_max``, ``lat_max``, ``latency_ms``,
        ``tests``, ``devices``. All values are MEASURED.
    kind : str
        ``"drive"`` or ``"ookla"``.
    rows_read : int
        Data rows read from the files (header excluded).
    rejects : pandas.DataFrame
        One row per problem found: ``file``, ``row``, ``field``, ``value``, ``reason``. A rejected row may
        appear more than once (one line per bad field).
    sources : tuple of str
    """

    frame: pd.DataFrame
    kind: str
    rows_read: int
    rejects: pd.DataFrame
    sources: tuple[str, ...]

    @property
    def rows_rejected(self) -> int:
        """Number of distinct rejected rows."""
        if self.rejects.empty:
            return 0
        return int(self.rejects[["file", "row"]].drop_duplicates().shape[0])

    def reject_summary(self, n_examples: int = 5) -> str:
        """One paragraph: how many rows were rejected and the first examples (file, row, field, reason)."""
        if self.rejects.empty:
            return f"{self.rows_read} rows read, none rejected"
        lines = [f"{self.rows_rejected} of {self.rows_read} rows rejected; first examples:"]
        for rec in self.rejects.head(n_examples).itertuples(index=False):
            lines.append(f"  {where(rec.file, int(rec.row), rec.field)}: {rec.reason} (value {rec.value!r})")
        return "\n".join(lines)


def parse_column_mapping(text: str | None, preset: str | None = None) -> ColumnMap:
    """Build a :class:`ColumnMap` from a preset name and/or a ``canonical=Source[*factor],...`` string.

    Explicit entries override the preset's. With neither, the canonical layout is used.

    Raises
    ------
    InvalidInputError
        On an unknown preset or canonical name, a malformed entry, or a factor that is not a positive number.
    """
    if preset is not None and preset not in COLUMN_PRESETS:
        raise InvalidInputError(f"unknown column preset {preset!r}; allowed: {', '.join(sorted(COLUMN_PRESETS))}")
    base = COLUMN_PRESETS[preset or "canonical"]
    columns = dict(base.columns)
    time_format = base.time_format
    allowed = DRIVE_COLUMNS + OPTIONAL_COLUMNS
    for entry in (text or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        if "=" not in entry:
            raise InvalidInputError(
                f"column mapping entry {entry!r} must look like canonical=Source or canonical=Source*factor"
            )
        key, value = (part.strip() for part in entry.split("=", 1))
        if key == "time_format":
            time_format = value
            continue
        if key not in allowed:
            raise InvalidInputError(
                f"column mapping names {key!r}; allowed canonical names: {', '.join(allowed)}, time_format"
            )
        factor = 1.0
        if "*" in value:
            value, factor_text = (part.strip() for part in value.rsplit("*", 1))
            try:
                factor = float(factor_text)
            except ValueError:
                raise InvalidInputError(f"column mapping {entry!r}: factor {factor_text!r} is not a number") from None
            if not np.isfinite(factor) or factor <= 0:
                raise InvalidInputError(f"column mapping {entry!r}: factor must be a positive number")
        if not value:
            raise InvalidInputError(f"column mapping {entry!r} names no source column")
        columns[key] = (value, factor)
    return ColumnMap(columns, time_format)


def _read_text_table(path: Path) -> pd.DataFrame:
    """Read a delimited text file as strings, detecting ',', ';' or tab from the header line."""
    if not path.exists():
        raise DataFileError(f"{path}: file not found")
    if path.is_dir():
        raise DataFileError(f"{path}: is a folder, expected a CSV file")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = fh.readline()
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    if header.strip() == "":
        raise DataFileError(f"{path}: the file is empty (no header and no data rows)")
    sep = max((",", ";", "\t"), key=header.count)
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataFileError(f"{path}: cannot be read as a delimited text table: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataFileError(f"{path}: the file has a header but no data rows")
    return frame


def _missing(series: pd.Series) -> np.ndarray:
    s = series.astype(str).str.strip().str.lower()
    return s.isin(_MISSING).to_numpy() | series.isna().to_numpy()


class _Rejects:
    def __init__(self, file: str, rows: np.ndarray):
        self.file = file
        self.rows = rows  # 1-based row numbers, shape (n,)
        self.records: list[pd.DataFrame] = []
        self.bad = np.zeros(rows.shape, dtype=bool)

    def add(self, mask: np.ndarray, field: str, values: pd.Series, reason: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.bad |= mask
        self.records.append(
            pd.DataFrame(
                {
                    "file": self.file,
                    "row": self.rows[mask],
                    "field": field,
                    "value": values[mask].astype(str).to_numpy(),
                    "reason": reason,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.records:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS})
        out = pd.concat(self.records, ignore_index=True)
        return out.sort_values(["row"], kind="stable").reset_index(drop=True)


def _numeric(
    raw: pd.Series,
    field: str,
    rej: _Rejects,
    *,
    required: bool,
    lo: float | None,
    hi: float | None,
    factor: float = 1.0,
    unit: str = "",
) -> np.ndarray:
    missing = _missing(raw)
    values = pd.to_numeric(raw.where(~missing, None), errors="coerce").to_numpy(dtype=float)
    bad_parse = ~missing & ~np.isfinite(values)
    rej.add(bad_parse, field, raw, "not a finite number")
    if required:
        rej.add(missing, field, raw, "required value is empty")
    values = values * factor
    ok = np.isfinite(values)
    if lo is not None or hi is not None:
        lo_v = -np.inf if lo is None else lo
        hi_v = np.inf if hi is None else hi
        out = ok & ((values < lo_v) | (values > hi_v))
        if hi is None:
            allowed = f">= {lo:g} {unit}".strip()
        elif lo is None:
            allowed = f"<= {hi:g} {unit}".strip()
        else:
            allowed = f"{lo:g}..{hi:g} {unit}".strip()
        rej.add(out, field, raw, f"outside the allowed range {allowed}")
    return values


def _check_share(source: str, rows_read: int, rej: _Rejects, max_reject_share: float, rejects: pd.DataFrame) -> None:
    n_bad = int(rej.bad.sum())
    if rows_read > 0 and n_bad / rows_read > max_reject_share:
        examples = "; ".join(
            f"{where(r.file, int(r.row), r.field)}: {r.reason} (value {r.value!r})"
            for r in rejects.head(3).itertuples(index=False)
        )
        raise DataFileError(
            f"{source}: {n_bad} of {rows_read} rows ({100 * n_bad / rows_read:.0f} %) failed validation, more than "
            f"the allowed {100 * max_reject_share:.0f} %; is this the right format and column mapping? "
            f"First problems: {examples}"
        )


def _projected_hint(source: str, lat: pd.Series, lon: pd.Series) -> None:
    """Stop early if most coordinates look like projected metres rather than degrees."""
    la = pd.to_numeric(lat, errors="coerce").abs()
    lo = pd.to_numeric(lon, errors="coerce").abs()
    big = ((la > 1000) | (lo > 1000)).to_numpy()
    if big.size and big.mean() > 0.5:
        raise DataFileError(
            f"{source}: {int(big.sum())} of {big.size} rows have lat/lon values beyond 1000 in magnitude (e.g. "
            f"lat={lat.iloc[int(np.argmax(big))]!r}, lon={lon.iloc[int(np.argmax(big))]!r}): these look like "
            "projected coordinates in metres (e.g. UTM), not WGS84 degrees; convert them to EPSG:4326 lon/lat"
        )


def read_drive_test(
    path: str | Path,
    columns: ColumnMap | str | None = None,
    *,
    preset: str | None = None,
    max_mbps: float = DEFAULT_MAX_MBPS,
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE,
) -> Measurements:
    """Read and validate a per-sample drive-test CSV.

    Parameters
    ----------
    path : str or Path
        CSV (separator ``,``, ``;`` or tab, detected from the header), UTF-8.
    columns : ColumnMap or str, optional
        Column mapping (see the module docstring); a string is parsed with :func:`parse_column_mapping`.
    preset : str, optional
        Named layout from :data:`COLUMN_PRESETS`, combined with ``columns`` (explicit entries win).
    max_mbps : float
        Largest plausible throughput in Mbit/s (default 5000).
    max_reject_share : float
        A file with a larger share of rejected rows stops with :class:`DataFileError` (default 0.5).

    Returns
    -------
    Measurements
        ``kind == "drive"``; MEASURED values.

    Raises
    ------
    DataFileError
        Missing, empty or unreadable file; required columns absent; coordinates in metres; too many bad rows.
    InvalidInputError
        Bad column mapping.
    """
    path = Path(path)
    source = str(path)
    if not 0.0 <= max_reject_share <= 1.0:
        raise InvalidInputError(f"max_reject_share {max_reject_share!r} must lie in [0, 1]")
    if max_mbps <= 0:
        raise InvalidInputError(f"max_mbps {max_mbps!r} must be positive")
    cmap = columns if isinstance(columns, ColumnMap) else parse_column_mapping(columns, preset)
    raw = _read_text_table(path)
    missing_cols = [
        f"{canon} (from {src!r})"
        for canon, (src, _) in cmap.columns.items()
        if canon in DRIVE_COLUMNS and src not in raw.columns
    ]
    if missing_cols:
        raise DataFileError(
            f"{source}: required columns missing: {', '.join(missing_cols)}; the file has: "
            f"{', '.join(map(str, raw.columns))}. Name your columns with a mapping such as "
            "--columns time=Timestamp,lat=Latitude,... or a preset"
        )
    n = len(raw)
    rows = np.arange(1, n + 1)
    rej = _Rejects(source, rows)

    def col(canon: str) -> pd.Series:
        return raw[cmap.columns[canon][0]]

    def fac(canon: str) -> float:
        return cmap.columns[canon][1]

    _projected_hint(source, col("lat"), col("lon"))

    # time
    t_raw = col("time")
    t_missing = _missing(t_raw)
    if cmap.time_format:
        parsed = pd.to_datetime(t_raw.where(~t_missing, None), format=cmap.time_format, errors="coerce", utc=True)
        allowed_time = f"time in the format {cmap.time_format!r}"
    else:
        parsed = pd.to_datetime(t_raw.where(~t_missing, None), format="ISO8601", errors="coerce", utc=True)
        allowed_time = "an ISO 8601 time such as 2024-05-01T12:30:00+05:00"
    rej.add(t_missing, "time", t_raw, "required value is empty")
    rej.add(~t_missing & parsed.isna().to_numpy(), "time", t_raw, f"cannot parse; expected {allowed_time}")

    lat = _numeric(col("lat"), "lat", rej, required=True, lo=-90.0, hi=90.0, factor=fac("lat"), unit="deg")
    lon = _numeric(col("lon"), "lon", rej, required=True, lo=-180.0, hi=180.0, factor=fac("lon"), unit="deg")

    op_raw = col("operator")
    rej.add(_missing(op_raw), "operator", op_raw, "operator is empty")

    tech_raw = col("tech")
    tech = tech_raw.astype(str).str.strip().str.lower().map(_TECH_LOOKUP)
    rej.add(
        tech.isna().to_numpy(),
        "tech",
        tech_raw,
        "tech must be 4G or 5G (aliases: LTE, LTE-A, NR, 5G NSA, 5G SA, ...)",
    )

    rsrp = _numeric(col("rsrp_dbm"), "rsrp_dbm", rej, required=False, lo=RSRP_RANGE_DBM[0], hi=RSRP_RANGE_DBM[1],
                    factor=fac("rsrp_dbm"), unit="dBm")
    sinr = _numeric(col("sinr_db"), "sinr_db", rej, required=False, lo=SINR_RANGE_DB[0], hi=SINR_RANGE_DB[1],
                    factor=fac("sinr_db"), unit="dB")
    dl = _numeric(col("dl_mbps"), "dl_mbps", rej, required=False, lo=0.0, hi=max_mbps, factor=fac("dl_mbps"),
                  unit="Mbit/s")
    ul = _numeric(col("ul_mbps"), "ul_mbps", rej, required=False, lo=0.0, hi=max_mbps, factor=fac("ul_mbps"),
                  unit="Mbit/s")
    all_empty = np.all([_missing(col(f)) for f in MEASURED_FIELDS], axis=0)
    rej.add(all_empty, "rsrp_dbm,sinr_db,dl_mbps,ul_mbps", col("dl_mbps"),
            "no measurement: rsrp_dbm, sinr_db, dl_mbps and ul_mbps are all empty")

    if "cell_id" in cmap.columns and cmap.columns["cell_id"][0] in raw.columns:
        cid_raw = col("cell_id")
        cell_id = pd.Series(
            np.where(_missing(cid_raw), None, cid_raw.astype(str).str.strip().to_numpy(dtype=object)), dtype=object
        )
    else:
        cell_id = pd.Series([None] * n, dtype=object)

    rejects = rej.frame()
    _check_share(source, n, rej, max_reject_share, rejects)
    keep = ~rej.bad
    frame = pd.DataFrame(
        {
            "time": parsed.to_numpy()[keep],
            "lat": lat[keep],
            "lon": lon[keep],
            "operator": op_raw.astype(str).str.strip().to_numpy()[keep],
            "tech": tech.to_numpy()[keep],
            "rsrp_dbm": rsrp[keep],
            "sinr_db": sinr[keep],
            "dl_mbps": dl[keep],
            "ul_mbps": ul[keep],
            "cell_id": cell_id.to_numpy()[keep],
            "weight": np.ones(int(keep.sum())),
            "source": source,
            "row": rows[keep],
        }
    )
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return Measurements(frame=frame, kind="drive", rows_read=n, rejects=rejects, sources=(source,))


_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def read_ookla_tiles(
    path: str | Path,
    *,
    period_start: str | pd.Timestamp | None = None,
    zoom: int = 16,
    max_mbps: float = DEFAULT_MAX_MBPS,
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE,
) -> Measurements:
    """Read and validate Ookla open-data mobile tiles (parquet or CSV).

    Parameters
    ----------
    path : str or Path
        ``.parquet`` (read with pyarrow) or a delimited text file.
    period_start : str or Timestamp, optional
        Start of the quarter the tiles describe; default: a ``YYYY-MM-DD`` date in the file name, else none.
    zoom : int
        Required quadkey length (Ookla publishes zoom 16).
    max_mbps, max_reject_share
        As in :func:`read_drive_test`.

    Returns
    -------
    Measurements
        ``kind == "ookla"``; one row per tile, weight = tests; MEASURED values.

    Notes
    -----
    A tile's tests share one average speed: the share of tests at or above a norm treats every test in a tile
    as having the tile's average (tiles straddling the norm blur the share), and intervals use Kish's effective
    number of tiles, not the number of tests (see :func:`qamtu.audit.stats.effective_sample_size`).
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise DataFileError(f"{source}: file not found")
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            raw = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
            raise DataFileError(f"{source}: cannot be read as parquet: {exc}") from None
        if raw.empty:
            raise DataFileError(f"{source}: the file has no data rows")
        raw = raw.astype({c: str for c in raw.columns if c == "quadkey"})
    else:
        raw = _read_text_table(path)
    missing_cols = [c for c in OOKLA_COLUMNS if c not in raw.columns]
    if missing_cols:
        raise DataFileError(
            f"{source}: Ookla tile columns missing: {', '.join(missing_cols)}; the file has: "
            f"{', '.join(map(str, raw.columns))}"
        )
    if period_start is None:
        m = _DATE_IN_NAME.search(path.name)
        period_start = m.group(1) if m else None
    start = pd.NaT
    if period_start is not None:
        start = pd.to_datetime(str(period_start), format="ISO8601", errors="coerce", utc=True)
        if pd.isna(start):
            raise InvalidInputError(f"period_start {period_start!r} is not an ISO 8601 date such as 2024-01-01")

    n = len(raw)
    rows = np.arange(1, n + 1)
    rej = _Rejects(source, rows)
    qk = raw["quadkey"].astype(str).str.strip()
    bad_qk = ~qk.map(lambda s: is_valid_quadkey(s) and len(s) == zoom).to_numpy(dtype=bool)
    rej.add(bad_qk, "quadkey", raw["quadkey"], f"quadkey must be {zoom} digits, each 0-3 (zoom {zoom})")
    max_kbps = max_mbps * 1000.0
    d = _numeric(raw["avg_d_kbps"], "avg_d_kbps", rej, required=True, lo=0.0, hi=max_kbps, unit="kbit/s")
    u = _numeric(raw["avg_u_kbps"], "avg_u_kbps", rej, required=True, lo=0.0, hi=max_kbps, unit="kbit/s")
    lat_ms = _numeric(raw["avg_lat_ms"], "avg_lat_ms", rej, required=False, lo=0.0, hi=None, unit="ms")
    tests = _numeric(raw["tests"], "tests", rej, required=True, lo=1.0, hi=None, unit="tests")
    devices = _numeric(raw["devices"], "devices", rej, required=True, lo=1.0, hi=None, unit="devices")
    frac = np.isfinite(tests) & (tests != np.round(tests))
    rej.add(frac, "tests", raw["tests"], "tests must be a whole number")
    more_dev = np.isfinite(tests) & np.isfinite(devices) & (devices > tests)
    rej.add(more_dev, "devices", raw["devices"], "devices cannot exceed tests")
    rejects = rej.frame()
    _check_share(source, n, rej, max_reject_share, rejects)

    keep = ~rej.bad
    qk_keep = qk.to_numpy()[keep]
    centres = np.array([quadkey_centre_lonlat(q) for q in qk_keep], dtype=float).reshape(-1, 2)
    bounds = np.array([quadkey_bounds_lonlat(q) for q in qk_keep], dtype=float).reshape(-1, 4)
    m = int(keep.sum())
    frame = pd.DataFrame(
        {
            "time": pd.Series([start] * m, dtype="datetime64[ns, UTC]"),
            "lat": centres[:, 1],
            "lon": centres[:, 0],
            "operator": "all",
            "tech": "all",
            "rsrp_dbm": np.full(m, np.nan),
            "sinr_db": np.full(m, np.nan),
            "dl_mbps": d[keep] / 1000.0,
            "ul_mbps": u[keep] / 1000.0,
            "cell_id": pd.Series([None] * m, dtype=object),
            "weight": tests[keep],
            "source": source,
            "row": rows[keep],
            "quadkey": qk_keep,
            "lon_min": bounds[:, 0],
            "lat_min": bounds[:, 1],
            "lon_max": bounds[:, 2],
            "lat_max": bounds[:, 3],
            "latency_ms": lat_ms[keep],
            "tests": tests[keep].astype(np.int64),
            "devices": devices[keep].astype(np.int64),
        }
    )
    return Measurements(frame=frame, kind="ookla", rows_read=n, rejects=rejects, sources=(source,))


def read_measurements(
    paths: Sequence[str | Path] | str | Path,
    fmt: str = "drive",
    *,
    columns: ColumnMap | str | None = None,
    preset: str | None = None,
    max_mbps: float = DEFAULT_MAX_MBPS,
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE,
) -> Measurements:
    """Read one or more files of one format (``"drive"`` or ``"ookla"``) and combine them.

    Each file is validated on its own (its own reject share), then the accepted rows, the rejects and the row
    counts are concatenated.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise InvalidInputError("no measurement files given")
    if fmt not in ("drive", "ookla"):
        raise InvalidInputError(f"format {fmt!r} is not known; allowed: drive, ookla")
    parts = []
    for p in paths:
        if fmt == "drive":
            parts.append(read_drive_test(p, columns, preset=preset, max_mbps=max_mbps,
                                         max_reject_share=max_reject_share))
        else:
            parts.append(read_ookla_tiles(p, max_mbps=max_mbps, max_reject_share=max_reject_share))
    if len(parts) == 1:
        return parts[0]
    frame = pd.concat([m.frame for m in parts], ignore_index=True)
    rejects = pd.concat([m.rejects for m in parts], ignore_index=True)
    return Measurements(
        frame=frame,
        kind=fmt,
        rows_read=sum(m.rows_read for m in parts),
        rejects=rejects,
        sources=tuple(s for m in parts for s in m.sources),
    )


def write_rejects(measurements: Measurements, path: str | Path) -> Path:
    """Write the rejects table (``file,row,field,value,reason``) to ``path`` atomically, even when empty."""
    from qamtu.fileio import write_csv_atomic

    return write_csv_atomic(path, measurements.rejects, REJECT_COLUMNS)
