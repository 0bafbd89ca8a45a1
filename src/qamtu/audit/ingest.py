"""Read measured quality: per-sample drive-test CSV and Ookla open-data mobile tiles, validated row by row.

Every physical line of a file ends up in exactly one of three places, so that for every file
``rows_read == rows_accepted + rows_rejected + rows_excluded``:

- **accepted**: a 4G or 5G sample with a valid time, position and operator, and at least one valid measured field;
- **rejected**: a line that cannot be used (broken line, bad time, position or operator, unknown technology, no
  valid measurement); listed in the rejects table with its PHYSICAL line number (header = line 1, blank lines
  counted, as an editor shows them) and the field at fault;
- **excluded**: a valid sample outside the norms' scope: a fallback technology (2G, 3G) or no service, or a row
  a ``where`` filter leaves out. Excluded rows are not errors: the time on fallback and without service is
  reported as its own KPI (:func:`qamtu.audit.kpi.technology_shares`).

A bad MEASURED field (not a number, outside its range) drops that field only: the row still counts for the fields
it has, and the rejects table lists the field with ``action == "field dropped"``. A placeholder declared with
``missing[field]=...`` (e.g. RSRP -200, "no value" in several apps) is simply empty.

A file whose share of rejected rows exceeds ``max_reject_share`` is refused as a whole (:class:`DataFileError`);
:func:`read_measurements` reports and skips such a file (``Measurements.skipped``) unless ``strict``.

Drive-test CSV, canonical columns
---------------------------------
===========  ==========================================================  ======================
column       meaning                                                     allowed
===========  ==========================================================  ======================
time         sample time, ISO 8601 (offset honoured; none = ``timezone``) required
lat, lon     WGS84 latitude / longitude, degrees                         required, -90..90 / -180..180
operator     operator name (case-insensitive: Kcell = KCELL)             required, non-empty
tech         radio technology (aliases below)                            required
rsrp_dbm     (SS-)RSRP of the serving cell, dBm                          -156..-31, may be empty
sinr_db      (SS-)SINR, dB                                               -23..40, may be empty
dl_mbps      downlink throughput, Mbit/s                                 0..max_mbps, may be empty
ul_mbps      uplink throughput, Mbit/s                                   0..max_mbps, may be empty
cell_id      serving cell / sector id, text                              optional column
session      transfer (download) id, text                                optional column
===========  ==========================================================  ======================

This is the layout ``qamtu simulate-measurements`` writes. RSRP limits: TS 38.133 V17 Table 10.1.6.1-1 reports
SS-RSRP from -156 to -31 dBm; SINR limits: TS 38.133 Table 10.1.16.1-1 reports SS-SINR from -23 to 40 dB.

Technologies (case-insensitive aliases): audited ``4G`` = 4G, LTE, LTE-A, LTE+, 4G+, E-UTRA; ``5G`` = 5G, NR,
5G NR, NR5G, 5G NSA, 5G SA, NR NSA, NR SA (and with ``-``). Excluded, counted as fallback: ``3G`` = 3G, UMTS,
WCDMA, HSPA, HSPA+, HSDPA, HSUPA, TD-SCDMA, EVDO, CDMA2000; ``2G`` = 2G, GSM, GPRS, EDGE, CDMA, 1xRTT;
``no service`` = no service, out of service, searching, limited, emergency, offline. Anything else is rejected.

Operators: names are matched case-insensitively and with spaces collapsed ("Kcell", "kcell", "KCELL" are one
operator); the most frequent spelling names it, and ``operator_raw`` keeps what each row said.

Column mapping language
-----------------------
Entries separated by commas (the CLI's ``--columns``), explicit entries overriding a preset's:

``canonical=Source``, ``canonical=Source*factor``
    Take ``canonical`` from the column ``Source`` (times ``factor`` to reach the canonical unit, e.g.
    ``dl_mbps=DL_bitrate*0.001`` for kbit/s).
``canonical[TECH]=Source[*factor]``
    Per technology (4G or 5G) for the measured fields and ``cell_id``: e.g. ``rsrp_dbm[5G]=NRxRSRP`` reads 5G
    NSA rows' RSRP from the NR column while 4G rows keep ``rsrp_dbm=RSRP``. ``canonical[TECH]=`` (nothing)
    means "not measured on that technology".
``missing[canonical]=V1|V2``
    Placeholder values that mean "no value" (e.g. ``missing[rsrp_dbm]=-200``): the field is empty, not a reject.
``time_format=PATTERN``
    ``strftime`` pattern of the time column (e.g. ``%Y.%m.%d_%H.%M.%S``); default ISO 8601.
``timezone=ZONE``
    IANA zone of timestamps without an offset (e.g. ``Asia/Almaty``); default UTC. A local time that does not
    exist or is ambiguous (a DST change) is rejected.

Presets (``COLUMN_PRESETS``)
----------------------------
``canonical``
    The table above.
``gnettrack``
    G-NetTrack Pro (Gyokov Solutions) log export, checked against the public 5G NSA dataset recorded with it
    (Raca et al., "Beyond Throughput, the Next Generation: a 5G Dataset with Channel and Context Metrics",
    ACM MMSys 2020): tab- or comma-separated, columns ``Timestamp`` (``2019.12.16_07.22.43``, local time: set
    ``timezone``), ``Longitude``, ``Latitude``, ``Speed``, ``Operatorname``, ``CellID``, ``NetworkMode``
    (``LTE``, ``5G``, ``HSPA+``, ...), ``RSRP`` (dBm), ``RSRQ``, ``SNR`` (dB), ``CQI``, ``RSSI``, ``DL_bitrate``
    and ``UL_bitrate`` (kbit/s), ``State`` (``D`` downloading, ``I`` idle), ping columns, ``NRxRSRP``,
    ``NRxRSRQ`` (the NR cell of an NSA connection) and serving-cell position. On 5G NSA rows ``RSRP`` and ``SNR``
    are the LTE anchor's, so the preset reads ``rsrp_dbm[5G]=NRxRSRP`` and no SINR on 5G (``sinr_db[5G]=``).
    Placeholders: ``-`` (empty), RSRP -200 and SNR -30 (treated as missing).
``titlecase``
    A generic spreadsheet layout (``Time, Latitude, Longitude, Operator, Technology, RSRP, SINR, DL Mbps,
    UL Mbps, Cell ID``). NOT verified against any vendor's export: check it against your file's header.

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
from qamtu.csvio import CsvTable, read_csv_table, to_number
from qamtu.errors import DataFileError, InvalidInputError, QamtuError

#: Canonical drive-test columns, in order.
DRIVE_COLUMNS = ("time", "lat", "lon", "operator", "tech", "rsrp_dbm", "sinr_db", "dl_mbps", "ul_mbps")
#: Optional canonical columns.
OPTIONAL_COLUMNS = ("cell_id", "session")
#: Measured fields that may be empty one by one.
MEASURED_FIELDS = ("rsrp_dbm", "sinr_db", "dl_mbps", "ul_mbps")
#: Fields that may be mapped per technology.
PER_TECH_FIELDS = MEASURED_FIELDS + ("cell_id",)
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

#: Technologies audited against the norms.
AUDITED_TECHS = ("4G", "5G")
#: Technology classes counted as excluded (fallback or no service).
EXCLUDED_TECHS = ("3G", "2G", "no service")

_TECH_ALIASES = {
    "4G": ("4g", "lte", "lte-a", "lte+", "4g+", "e-utra", "eutra", "lte-advanced", "lte ca", "lte-ca"),
    "5G": ("5g", "nr", "5g nr", "nr5g", "5g nsa", "5g sa", "nr nsa", "nr sa", "5g-nsa", "5g-sa", "nr-nsa", "nr-sa",
           "5g+", "en-dc", "endc"),
    "3G": ("3g", "umts", "wcdma", "hspa", "hspa+", "hsdpa", "hsupa", "hsdpa+", "hsdpa/hsupa", "3g+", "h", "h+",
           "td-scdma", "tdscdma", "evdo", "ev-do", "cdma2000", "dc-hspa+", "dc-hsdpa"),
    "2G": ("2g", "gsm", "gprs", "edge", "cdma", "1xrtt", "iden", "e", "g"),
    "no service": ("no service", "no_service", "noservice", "out of service", "out_of_service", "searching",
                   "limited", "limited service", "emergency", "emergency only", "offline", "no signal"),
}
_TECH_LOOKUP = {alias: tech for tech, aliases in _TECH_ALIASES.items() for alias in aliases}
_MISSING = {"", "na", "nan", "n/a", "null", "none", "-", "--"}

REJECT_COLUMNS = ("file", "line", "field", "value", "reason", "action")
EXCLUDED_COLUMNS = ("time", "lat", "lon", "operator", "operator_raw", "tech", "tech_raw", "reason", "source", "line")


@dataclasses.dataclass(frozen=True)
class ColumnMap:
    """A column mapping (see the module docstring for the language).

    Attributes
    ----------
    columns : mapping canonical name -> (source column, factor)
    per_tech : mapping (canonical, tech) -> (source column or None, factor)
        None: the field is not measured on that technology.
    missing : mapping canonical -> tuple of str
        Placeholder values meaning "no value".
    time_format : str or None
        ``strftime`` pattern of the time column; None = ISO 8601.
    timezone : str or None
        IANA zone of naive timestamps; None = UTC.
    """

    columns: Mapping[str, tuple[str, float]]
    time_format: str | None = None
    timezone: str | None = None
    per_tech: Mapping[tuple[str, str], tuple[str | None, float]] = dataclasses.field(default_factory=dict)
    missing: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def source(self, canon: str, tech: str | None = None) -> tuple[str | None, float] | None:
        """(source, factor) of ``canon`` on ``tech`` (a per-technology entry first); None if not mapped."""
        if tech is not None and (canon, tech) in self.per_tech:
            return self.per_tech[(canon, tech)]
        return self.columns.get(canon)


COLUMN_PRESETS: dict[str, ColumnMap] = {
    "canonical": ColumnMap({c: (c, 1.0) for c in DRIVE_COLUMNS + OPTIONAL_COLUMNS}),
    "gnettrack": ColumnMap(
        {
            "time": ("Timestamp", 1.0),
            "lat": ("Latitude", 1.0),
            "lon": ("Longitude", 1.0),
            "operator": ("Operatorname", 1.0),
            "tech": ("NetworkMode", 1.0),
            "rsrp_dbm": ("RSRP", 1.0),
            "sinr_db": ("SNR", 1.0),
            "dl_mbps": ("DL_bitrate", 0.001),
            "ul_mbps": ("UL_bitrate", 0.001),
            "cell_id": ("CellID", 1.0),
        },
        time_format="%Y.%m.%d_%H.%M.%S",
        per_tech={("rsrp_dbm", "5G"): ("NRxRSRP", 1.0), ("sinr_db", "5G"): (None, 1.0)},
        missing={"rsrp_dbm": ("-200",), "sinr_db": ("-30",)},
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

def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS})


def _empty_excluded() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in EXCLUDED_COLUMNS})
    out["time"] = pd.Series(dtype="datetime64[ns, UTC]")
    return out


@dataclasses.dataclass
class Measurements:
    """Validated measurements from one or more files.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per accepted sample (drive test) or tile (Ookla): ``time`` (UTC, may be NaT for tiles), ``lat``,
        ``lon`` (deg), ``operator`` (normalised), ``operator_raw``, ``tech``, ``rsrp_dbm``, ``sinr_db``,
        ``dl_mbps``, ``ul_mbps``, ``cell_id``, ``session``, ``weight`` (1 per sample; tests per tile), ``source``
        (file) and ``line`` (physical line in it). Ookla tiles add ``quadkey``, ``lon_min``, ``lat_min``,
        ``lon_max``, ``lat_max``, ``latency_ms``, ``tests``, ``devices``. All values are MEASURED.
    kind : str
        ``"drive"`` or ``"ookla"``.
    rows_read : int
        Non-blank data lines of the files read (header excluded); skipped files not included.
    rejects : pandas.DataFrame
        One row per problem: ``file``, ``line``, ``field``, ``value``, ``reason``, ``action`` (``row rejected``
        or ``field dropped``).
    sources : tuple of str
    excluded : pandas.DataFrame
        Valid rows not audited (columns :data:`EXCLUDED_COLUMNS`; ``reason``: ``fallback technology``, ``no
        service`` or ``filtered out``).
    skipped : list of dict
        Files refused as a whole (``file``, ``reason``), when :func:`read_measurements` is not strict.
    hints : list of str
        Readable notes about the files' layout (delimiter, decimal comma).
    """

    frame: pd.DataFrame
    kind: str
    rows_read: int
    rejects: pd.DataFrame
    sources: tuple[str, ...]
    excluded: pd.DataFrame = dataclasses.field(default_factory=_empty_excluded)
    skipped: list[dict[str, str]] = dataclasses.field(default_factory=list)
    hints: list[str] = dataclasses.field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        """Number of distinct rejected rows."""
        if self.rejects.empty:
            return 0
        r = self.rejects[self.rejects["action"] == "row rejected"]
        return int(r[["file", "line"]].drop_duplicates().shape[0])

    @property
    def rows_excluded(self) -> int:
        return int(len(self.excluded))

    @property
    def fields_dropped(self) -> int:
        """Number of single fields dropped from accepted rows."""
        if self.rejects.empty:
            return 0
        return int((self.rejects["action"] == "field dropped").sum())

    def reject_summary(self, n_examples: int = 5) -> str:
        """One paragraph: rows read, rejected, excluded, fields dropped, and the first examples."""
        head = (f"{self.rows_read} rows read: {len(self.frame)} accepted, {self.rows_rejected} rejected, "
                f"{self.rows_excluded} excluded; {self.fields_dropped} single fields dropped")
        if self.rejects.empty:
            return head
        lines = [head + "; first problems:"]
        for rec in self.rejects.head(n_examples).itertuples(index=False):
            lines.append(f"  {rec.file}, line {int(rec.line)}, field {rec.field!r}: {rec.reason} "
                         f"(value {rec.value!r}; {rec.action})")
        return "\n".join(lines)


_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\]]*)\])?$")


def _tech_name(text: str, entry: str) -> str:
    tech = _TECH_LOOKUP.get(text.strip().lower())
    if tech not in AUDITED_TECHS:
        raise InvalidInputError(f"column mapping {entry!r}: technology {text!r} must be 4G or 5G")
    return tech


def _check_timezone(zone: str) -> str:
    try:
        pd.Timestamp("2024-01-01").tz_localize(zone)
    except Exception:  # pytz/zoneinfo raise several types for an unknown zone
        raise InvalidInputError(f"timezone {zone!r} is not a known IANA time zone such as Asia/Almaty or UTC") from None
    return zone


def parse_column_mapping(text: str | None, preset: str | None = None) -> ColumnMap:
    """Build a :class:`ColumnMap` from a preset name and/or a mapping string (see the module docstring).

    Explicit entries override the preset's. With neither, the canonical layout is used.

    Raises
    ------
    InvalidInputError
        On an unknown preset, canonical name or technology, a malformed entry, a bad time zone, or a factor that
        is not a positive number.
    """
    if preset is not None and preset not in COLUMN_PRESETS:
        raise InvalidInputError(f"unknown column preset {preset!r}; allowed: {', '.join(sorted(COLUMN_PRESETS))}")
    base = COLUMN_PRESETS[preset or "canonical"]
    columns = dict(base.columns)
    per_tech = dict(base.per_tech)
    missing = dict(base.missing)
    time_format, timezone = base.time_format, base.timezone
    allowed = DRIVE_COLUMNS + OPTIONAL_COLUMNS
    for entry in (text or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        if "=" not in entry:
            raise InvalidInputError(f"column mapping entry {entry!r} must look like canonical=Source, "
                                    "canonical[5G]=Source, missing[canonical]=V, time_format=... or timezone=...")
        key_text, value = (part.strip() for part in entry.split("=", 1))
        m = _KEY.match(key_text)
        if not m:
            raise InvalidInputError(f"column mapping entry {entry!r}: {key_text!r} is not a name or name[...]")
        key, bracket = m.group(1), m.group(2)
        if key == "time_format" and bracket is None:
            if not value:
                raise InvalidInputError("time_format is empty; give a strftime pattern such as %Y.%m.%d_%H.%M.%S")
            try:
                pd.to_datetime(pd.Series(["2024-01-01"]), format=value, errors="coerce")
            except ValueError as exc:
                msg = " ".join(str(exc).split())
                raise InvalidInputError(f"time_format {value!r} is not a strftime pattern ({msg}); e.g. "
                                        "%Y.%m.%d_%H.%M.%S or %d.%m.%Y %H:%M:%S") from None
            time_format = value
            continue
        if key == "timezone" and bracket is None:
            timezone = _check_timezone(value)
            continue
        if key == "missing":
            if bracket not in MEASURED_FIELDS + ("time", "lat", "lon", "operator", "tech", "cell_id"):
                raise InvalidInputError(f"column mapping {entry!r}: missing[...] takes a canonical name, e.g. "
                                        "missing[rsrp_dbm]=-200")
            vals = tuple(v.strip() for v in value.split("|") if v.strip())
            if not vals:
                raise InvalidInputError(f"column mapping {entry!r} gives no placeholder value")
            missing[bracket] = tuple(dict.fromkeys(missing.get(bracket, ()) + vals))
            continue
        if key not in allowed:
            raise InvalidInputError(
                f"column mapping names {key!r}; allowed canonical names: {', '.join(allowed)}, time_format, "
                "timezone, missing[...]"
            )
        if bracket is not None and key not in PER_TECH_FIELDS:
            raise InvalidInputError(f"column mapping {entry!r}: only {', '.join(PER_TECH_FIELDS)} can be mapped "
                                    "per technology")
        factor = 1.0
        if "*" in value:
            value, factor_text = (part.strip() for part in value.rsplit("*", 1))
            try:
                factor = float(factor_text)
            except ValueError:
                raise InvalidInputError(f"column mapping {entry!r}: factor {factor_text!r} is not a number") from None
            if not np.isfinite(factor) or factor <= 0:
                raise InvalidInputError(f"column mapping {entry!r}: factor must be a positive number")
        if bracket is not None:
            per_tech[(key, _tech_name(bracket, entry))] = (value or None, factor)
            continue
        if not value:
            raise InvalidInputError(f"column mapping {entry!r} names no source column")
        columns[key] = (value, factor)
    return ColumnMap(columns, time_format, timezone, per_tech, missing)


def _missing(series: pd.Series, extra: Sequence[str] = ()) -> np.ndarray:
    s = series.astype(str).str.strip()
    out = s.str.lower().isin(_MISSING).to_numpy() | series.isna().to_numpy()
    if extra:
        out |= s.isin(list(extra)).to_numpy()
        nums = [float(v) for v in extra if _is_number(v)]
        if nums:
            out |= np.isin(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float), nums)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Problems:
    """Rejects of one file: row-level (the row is not used) and field-level (one field dropped)."""

    def __init__(self, file: str, lines: np.ndarray):
        self.file = file
        self.lines = lines  # physical line numbers, shape (n,)
        self.records: list[pd.DataFrame] = []
        self.bad = np.zeros(lines.shape, dtype=bool)
        self.n_structural = 0

    def add(self, mask: np.ndarray, field: str, values: pd.Series | np.ndarray, reason: str,
            action: str = "row rejected") -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if action == "row rejected":
            self.bad |= mask
        vals = pd.Series(np.asarray(values, dtype=object)[mask]).astype(str).str.slice(0, 80)
        self.records.append(pd.DataFrame({"file": self.file, "line": self.lines[mask], "field": field,
                                          "value": vals.to_numpy(), "reason": reason, "action": action}))

    def add_structural(self, table: CsvTable) -> None:
        self.n_structural = table.rows_rejected
        if table.rejects:
            self.records.append(pd.DataFrame({
                "file": self.file, "line": [r.line for r in table.rejects],
                "field": [r.field or "(line)" for r in table.rejects], "value": [r.value for r in table.rejects],
                "reason": [r.reason for r in table.rejects], "action": "row rejected"}))

    def frame(self) -> pd.DataFrame:
        if not self.records:
            return _empty_rejects()
        out = pd.concat(self.records, ignore_index=True)
        return out.sort_values(["line"], kind="stable").reset_index(drop=True).loc[:, list(REJECT_COLUMNS)]


def _range_text(lo: float | None, hi: float | None, unit: str) -> str:
    if hi is None:
        return f">= {lo:g} {unit}".strip()
    if lo is None:
        return f"<= {hi:g} {unit}".strip()
    return f"{lo:g}..{hi:g} {unit}".strip()


def _numeric(raw: pd.Series, field: str, prob: _Problems, *, required: bool, lo: float | None, hi: float | None,
             factor: float | np.ndarray = 1.0, unit: str = "", decimal_comma: bool = False,
             placeholders: Sequence[str] = (), scope: np.ndarray | None = None,
             action: str = "row rejected") -> np.ndarray:
    """Parse a numeric column; problems go to ``prob`` (only rows in ``scope``); bad values become NaN."""
    scope = np.ones(len(raw), dtype=bool) if scope is None else scope
    missing = _missing(raw, placeholders)
    values = to_number(raw.where(~missing, ""), decimal_comma)
    bad_parse = ~missing & ~np.isfinite(values)
    prob.add(bad_parse & scope, field, raw, "not a finite number", action)
    if required:
        prob.add(missing & scope, field, raw, "required value is empty", action)
    values = values * factor
    ok = np.isfinite(values)
    lo_v = -np.inf if lo is None else lo
    hi_v = np.inf if hi is None else hi
    out = ok & ((values < lo_v) | (values > hi_v))
    prob.add(out & scope, field, raw, f"outside the allowed range {_range_text(lo, hi, unit)}"
             + (f" (after the factor {factor:g})" if np.ndim(factor) == 0 and factor != 1.0 else ""), action)
    values = np.where(out | bad_parse, np.nan, values)
    return values


def _check_share(source: str, rows_read: int, prob: _Problems, max_reject_share: float,
                 rejects: pd.DataFrame) -> None:
    n_bad = int(prob.bad.sum()) + prob.n_structural
    if rows_read > 0 and n_bad / rows_read > max_reject_share:
        first = rejects[rejects["action"] == "row rejected"].head(3)
        examples = "; ".join(f"line {int(r.line)}, field {r.field!r}: {r.reason} (value {r.value!r})"
                             for r in first.itertuples(index=False))
        raise DataFileError(
            f"{source}: {n_bad} of {rows_read} rows ({100 * n_bad / rows_read:.0f} %) failed validation, more than "
            f"the allowed {100 * max_reject_share:.0f} %; is this the right format and column mapping? "
            f"First problems: {examples}"
        )


def _projected_hint(source: str, lat: np.ndarray, lon: np.ndarray) -> None:
    """Stop early if most coordinates look like projected metres rather than degrees."""
    big = (np.abs(lat) > 1000) | (np.abs(lon) > 1000)
    if big.size and big.mean() > 0.5:
        i = int(np.argmax(big))
        raise DataFileError(
            f"{source}: {int(big.sum())} of {big.size} rows have lat/lon values beyond 1000 in magnitude (e.g. "
            f"lat={lat[i]:g}, lon={lon[i]:g}): these look like projected coordinates in metres (e.g. UTM), not "
            "WGS84 degrees; convert them to EPSG:4326 lon/lat"
        )


_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def parse_times(raw: pd.Series, time_format: str | None, timezone: str | None) -> pd.Series:
    """Parse times to UTC (NaT where unparseable): ``time_format`` (strftime) or ISO 8601; naive times in
    ``timezone`` (default UTC); a nonexistent or ambiguous local time is NaT."""
    text = raw.astype(str).str.strip()
    fmt = time_format or "ISO8601"
    parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    if timezone and timezone.upper() != "UTC":
        naive = ~text.str.contains(_OFFSET, regex=True)
        if naive.any():
            local = pd.to_datetime(text[naive], format=fmt, errors="coerce")
            if getattr(local.dt, "tz", None) is not None:  # offset the regex did not see: already aware
                local = local.dt.tz_convert("UTC")
            else:
                local = local.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
            parsed = parsed.copy()
            parsed[naive] = local
    return parsed


def _time_hint(text: pd.Series, cmap: ColumnMap) -> str:
    sample = next((v for v in text if str(v).strip()), "")
    if cmap.time_format:
        return f"time in the format {cmap.time_format!r} (time_format)"
    hint = "an ISO 8601 time such as 2024-05-01T12:30:00+05:00"
    if re.match(r"^\d{4}\.\d{2}\.\d{2}_\d{2}\.\d{2}\.\d{2}$", str(sample).strip()):
        hint += "; this looks like G-NetTrack's time: add time_format=%Y.%m.%d_%H.%M.%S (or --preset gnettrack)"
    else:
        hint += "; for another layout add time_format=PATTERN to the mapping (strftime, e.g. %d.%m.%Y %H:%M:%S)"
    return hint


def classify_tech(raw: pd.Series) -> np.ndarray:
    """Technology class of each value (``4G``, ``5G``, ``3G``, ``2G``, ``no service``) or None when unknown."""
    s = raw.astype(str).str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    return s.map(_TECH_LOOKUP).to_numpy(dtype=object)


def normalise_operators(raw: pd.Series) -> pd.Series:
    """One name per operator, matched case-insensitively with spaces collapsed; the most frequent spelling
    (ties: the first in sorted order) names the group. ``"Kcell"``, ``"kcell"``, ``"KCELL"`` become one."""
    text = raw.astype(str).str.strip().str.replace(r"\s+", " ", regex=True)
    key = text.str.casefold()
    counts = pd.DataFrame({"key": key, "text": text}).value_counts().reset_index(name="n")
    counts = counts.sort_values(["key", "n", "text"], ascending=[True, False, True], kind="stable")
    names = counts.drop_duplicates("key").set_index("key")["text"]
    return key.map(names)


def _filter_mask(table: pd.DataFrame, where_expr: str, source: str) -> np.ndarray:
    """Rows kept by a pandas ``query`` expression over the file's own columns (numbers where they parse)."""
    data = pd.DataFrame(index=table.index)
    for c in table.columns:
        num = pd.to_numeric(table[c].astype(str).str.strip().replace("", np.nan), errors="coerce")
        has = table[c].astype(str).str.strip() != ""
        data[c] = num if has.any() and num[has].notna().all() else table[c].astype(str).str.strip()
    try:
        kept = data.eval(where_expr)
    except Exception as exc:  # pandas raises many types for a bad expression
        msg = " ".join(str(exc).split())
        raise InvalidInputError(f"{source}: --where {where_expr!r} cannot be evaluated over the file's columns "
                                f"({', '.join(table.columns)}): {type(exc).__name__}: {msg}") from None
    kept = np.asarray(kept)
    if kept.dtype != bool or kept.shape != (len(table),):
        raise InvalidInputError(f"--where {where_expr!r} must be a condition (true/false per row), e.g. State == 'D'")
    return kept


def read_drive_test(
    path: str | Path,
    columns: ColumnMap | str | None = None,
    *,
    preset: str | None = None,
    max_mbps: float = DEFAULT_MAX_MBPS,
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE,
    where: str | None = None,
) -> Measurements:
    """Read and validate a per-sample drive-test CSV.

    Parameters
    ----------
    path : str or Path
        Delimited text (``,``, ``;``, tab or ``|``, detected), UTF-8, read with :func:`qamtu.csvio.read_csv_table`.
    columns : ColumnMap or str, optional
        Column mapping (see the module docstring); a string is parsed with :func:`parse_column_mapping`.
    preset : str, optional
        Named layout from :data:`COLUMN_PRESETS`, combined with ``columns`` (explicit entries win).
    max_mbps : float
        Largest plausible throughput in Mbit/s (default 5000).
    max_reject_share : float
        A file with a larger share of rejected rows stops with :class:`DataFileError` (default 0.5).
    where : str, optional
        Keep only rows for which this pandas expression over the file's OWN columns holds (e.g. ``State == 'D'``);
        the others are counted as excluded (``filtered out``).

    Returns
    -------
    Measurements
        ``kind == "drive"``; MEASURED values; ``rows_read == len(frame) + rows_rejected + rows_excluded``.

    Raises
    ------
    DataFileError
        Missing, empty or unreadable file; required columns absent; coordinates in metres; too many bad rows.
    InvalidInputError
        Bad column mapping or filter.
    """
    path = Path(path)
    source = str(path)
    if not 0.0 <= max_reject_share <= 1.0:
        raise InvalidInputError(f"max_reject_share {max_reject_share!r} must lie in [0, 1]")
    if max_mbps <= 0:
        raise InvalidInputError(f"max_mbps {max_mbps!r} must be positive")
    cmap = columns if isinstance(columns, ColumnMap) else parse_column_mapping(columns, preset)
    table = read_csv_table(path)
    raw = table.frame
    header = table.header
    missing_cols = [f"{canon} (from {cmap.columns[canon][0]!r})" for canon in DRIVE_COLUMNS
                    if cmap.columns[canon][0] not in header]
    if missing_cols:
        raise DataFileError(
            f"{source}: required columns missing: {', '.join(missing_cols)}; the file has: {', '.join(header)} "
            f"(delimiter {table.delimiter!r}). Name your columns with a mapping such as --columns "
            "time=Timestamp,lat=Latitude,... or a preset (--preset gnettrack)" + "".join(f"; {h}" for h in table.hints)
        )
    if table.rows_read == 0:
        raise DataFileError(f"{source}: the file has a header but no data rows")
    n = len(raw)
    lines = table.lines
    prob = _Problems(source, lines)
    prob.add_structural(table)
    dc = table.decimal_comma
    miss = cmap.missing

    def col(canon: str) -> pd.Series:
        return raw[cmap.columns[canon][0]]

    lat = _numeric(col("lat"), "lat", prob, required=True, lo=-90.0, hi=90.0, factor=cmap.columns["lat"][1],
                   unit="deg", decimal_comma=dc, placeholders=miss.get("lat", ()))
    lon = _numeric(col("lon"), "lon", prob, required=True, lo=-180.0, hi=180.0, factor=cmap.columns["lon"][1],
                   unit="deg", decimal_comma=dc, placeholders=miss.get("lon", ()))
    _projected_hint(source, to_number(col("lat"), dc), to_number(col("lon"), dc))

    t_raw = col("time")
    t_missing = _missing(t_raw, miss.get("time", ()))
    parsed = parse_times(t_raw.where(~t_missing, ""), cmap.time_format, cmap.timezone)
    prob.add(t_missing, "time", t_raw, "required value is empty")
    prob.add(~t_missing & parsed.isna().to_numpy(), "time", t_raw,
             f"cannot parse{' (or not a valid local time in ' + cmap.timezone + ')' if cmap.timezone else ''}; "
             f"expected {_time_hint(t_raw, cmap)}")

    op_raw = col("operator")
    prob.add(_missing(op_raw, miss.get("operator", ())), "operator", op_raw, "operator is empty")

    tech_raw = col("tech")
    tech_missing = _missing(tech_raw, miss.get("tech", ()))
    tech = classify_tech(tech_raw)
    prob.add(tech_missing, "tech", tech_raw, "required value is empty")
    prob.add(~tech_missing & pd.isna(tech), "tech", tech_raw,
             "unknown technology; audited: 4G (LTE, ...), 5G (NR, 5G NSA, ...); counted as fallback: 3G (UMTS, "
             "HSPA+, ...), 2G (GSM, EDGE, ...), no service")

    filtered = np.zeros(n, dtype=bool)
    if where:
        filtered = ~_filter_mask(raw, where, source) & ~prob.bad
    fallback = ~prob.bad & ~filtered & np.isin(tech.astype(str), EXCLUDED_TECHS)
    audited = ~prob.bad & ~filtered & np.isin(tech.astype(str), AUDITED_TECHS)

    # measured fields: the source column may depend on the technology; problems drop the field only
    tech_s = np.where(pd.isna(tech), "", tech.astype(str))
    measured = _measured_fields(table, cmap, audited, tech_s, prob, max_mbps)
    none = audited & np.all([~np.isfinite(measured[f]) for f in MEASURED_FIELDS], axis=0)
    prob.add(none, ",".join(MEASURED_FIELDS), col("dl_mbps"),
             "no measurement: rsrp_dbm, sinr_db, dl_mbps and ul_mbps are all empty or dropped")
    audited &= ~none

    cell_id = _text_field(table, cmap, "cell_id", tech_s)
    session = _text_field(table, cmap, "session", tech_s)
    rejects = prob.frame()
    _check_share(source, table.rows_read, prob, max_reject_share, rejects)
    op_text = op_raw.astype(str).str.strip().to_numpy(dtype=object)
    frame = pd.DataFrame({
        "time": parsed[audited].reset_index(drop=True),
        "lat": lat[audited], "lon": lon[audited],
        "operator": op_text[audited], "operator_raw": op_text[audited],
        "tech": tech[audited],
        **{f: measured[f][audited] for f in MEASURED_FIELDS},
        "cell_id": cell_id[audited], "session": session[audited],
        "weight": np.ones(int(audited.sum())), "source": source, "line": lines[audited],
    })
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    exc_mask = fallback | filtered
    excluded = pd.DataFrame({
        "time": parsed[exc_mask].reset_index(drop=True), "lat": lat[exc_mask], "lon": lon[exc_mask],
        "operator": op_text[exc_mask], "operator_raw": op_text[exc_mask],
        "tech": np.where(filtered[exc_mask], None, tech[exc_mask]),
        "tech_raw": tech_raw.astype(str).to_numpy(dtype=object)[exc_mask],
        "reason": np.where(filtered[exc_mask], "filtered out",
                           np.where(tech[exc_mask] == "no service", "no service", "fallback technology")),
        "source": source, "line": lines[exc_mask],
    }, columns=list(EXCLUDED_COLUMNS))
    excluded["time"] = pd.to_datetime(excluded["time"], utc=True)
    return Measurements(frame=frame, kind="drive", rows_read=table.rows_read, rejects=rejects, sources=(source,),
                        excluded=excluded, hints=[f"{source}: {h}" for h in table.hints])


def _measured_fields(table: CsvTable, cmap: ColumnMap, audited: np.ndarray, tech_s: np.ndarray, prob: _Problems,
                     max_mbps: float) -> dict[str, np.ndarray]:
    """The measured values (NaN where empty or dropped) of the audited rows, read from each technology's column."""
    raw, header, source = table.frame, table.header, prob.file
    n = len(raw)
    lim = {"rsrp_dbm": (*RSRP_RANGE_DBM, "dBm"), "sinr_db": (*SINR_RANGE_DB, "dB"),
           "dl_mbps": (0.0, max_mbps, "Mbit/s"), "ul_mbps": (0.0, max_mbps, "Mbit/s")}
    measured: dict[str, np.ndarray] = {}
    for field in MEASURED_FIELDS:
        values = np.full(n, np.nan)
        for t in AUDITED_TECHS:
            src = cmap.source(field, t)
            rows_t = audited & (tech_s == t)
            if src is None or src[0] is None or not rows_t.any():
                continue
            if src[0] not in header:
                raise DataFileError(f"{source}: column {src[0]!r} ({field} on {t}) is missing; the file has: "
                                    f"{', '.join(header)}")
            v = _numeric(raw[src[0]], field, prob, required=False, lo=lim[field][0], hi=lim[field][1],
                         factor=src[1], unit=lim[field][2], decimal_comma=table.decimal_comma,
                         placeholders=cmap.missing.get(field, ()), scope=rows_t, action="field dropped")
            values[rows_t] = v[rows_t]
        measured[field] = values
    return measured


def _text_field(table: CsvTable, cmap: ColumnMap, canon: str, tech_s: np.ndarray) -> np.ndarray:
    """A text field (``cell_id``, ``session``) per row from each technology's column; None where empty."""
    raw, header = table.frame, table.header
    out = np.full(len(raw), None, dtype=object)
    for t in AUDITED_TECHS:
        src = cmap.source(canon, t)
        if src is None or src[0] is None or src[0] not in header:
            continue
        rows_t = tech_s == t
        s = raw[src[0]]
        vals = np.where(_missing(s, cmap.missing.get(canon, ())), None, s.astype(str).str.strip().to_numpy(dtype=object))
        out[rows_t] = vals[rows_t]
    return out


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
        ``.parquet`` (read with pyarrow) or a delimited text file (read with :mod:`qamtu.csvio`).
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
    if path.is_dir():
        raise DataFileError(f"{source}: is a folder, expected Ookla tiles (parquet or CSV)")
    table = None
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            raw = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
            msg = " ".join(str(exc).split())[:200]
            raise DataFileError(f"{source}: cannot be read as parquet: {msg}") from None
        if raw.empty:
            raise DataFileError(f"{source}: the file has no data rows")
        raw = raw.astype(str)
        lines = np.arange(1, len(raw) + 1)
        n_read = len(raw)
        header = [str(c) for c in raw.columns]
    else:
        table = read_csv_table(path)
        raw, lines, n_read, header = table.frame, table.lines, table.rows_read, table.header
    missing_cols = [c for c in OOKLA_COLUMNS if c not in header]
    if missing_cols:
        raise DataFileError(
            f"{source}: Ookla tile columns missing: {', '.join(missing_cols)}; the file has: {', '.join(header)}"
        )
    if n_read == 0:
        raise DataFileError(f"{source}: the file has a header but no data rows")
    if period_start is None:
        m = _DATE_IN_NAME.search(path.name)
        period_start = m.group(1) if m else None
    start = pd.NaT
    if period_start is not None:
        start = pd.to_datetime(str(period_start), format="ISO8601", errors="coerce", utc=True)
        if pd.isna(start):
            raise InvalidInputError(f"period_start {period_start!r} is not an ISO 8601 date such as 2024-01-01")

    prob = _Problems(source, lines)
    if table is not None:
        prob.add_structural(table)
    dc = bool(table is not None and table.decimal_comma)
    qk = raw["quadkey"].astype(str).str.strip()
    bad_qk = ~qk.map(lambda s: is_valid_quadkey(s) and len(s) == zoom).to_numpy(dtype=bool)
    prob.add(bad_qk, "quadkey", raw["quadkey"], f"quadkey must be {zoom} digits, each 0-3 (zoom {zoom})")
    max_kbps = max_mbps * 1000.0
    num = {"decimal_comma": dc}
    d = _numeric(raw["avg_d_kbps"], "avg_d_kbps", prob, required=True, lo=0.0, hi=max_kbps, unit="kbit/s", **num)
    u = _numeric(raw["avg_u_kbps"], "avg_u_kbps", prob, required=True, lo=0.0, hi=max_kbps, unit="kbit/s", **num)
    lat_ms = _numeric(raw["avg_lat_ms"], "avg_lat_ms", prob, required=False, lo=0.0, hi=None, unit="ms", **num)
    tests = _numeric(raw["tests"], "tests", prob, required=True, lo=1.0, hi=None, unit="tests", **num)
    devices = _numeric(raw["devices"], "devices", prob, required=True, lo=1.0, hi=None, unit="devices", **num)
    frac = np.isfinite(tests) & (tests != np.round(tests))
    prob.add(frac, "tests", raw["tests"], "tests must be a whole number")
    more_dev = np.isfinite(tests) & np.isfinite(devices) & (devices > tests)
    prob.add(more_dev, "devices", raw["devices"], "devices cannot exceed tests")
    rejects = prob.frame()
    _check_share(source, n_read, prob, max_reject_share, rejects)

    keep = ~prob.bad
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
            "operator_raw": "all",
            "tech": "all",
            "rsrp_dbm": np.full(m, np.nan),
            "sinr_db": np.full(m, np.nan),
            "dl_mbps": d[keep] / 1000.0,
            "ul_mbps": u[keep] / 1000.0,
            "cell_id": pd.Series([None] * m, dtype=object),
            "session": pd.Series([None] * m, dtype=object),
            "weight": tests[keep],
            "source": source,
            "line": lines[keep],
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
    return Measurements(frame=frame, kind="ookla", rows_read=n_read, rejects=rejects, sources=(source,),
                        hints=[] if table is None else [f"{source}: {h}" for h in table.hints])


def read_measurements(
    paths: Sequence[str | Path] | str | Path,
    fmt: str = "drive",
    *,
    columns: ColumnMap | str | None = None,
    preset: str | None = None,
    max_mbps: float = DEFAULT_MAX_MBPS,
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE,
    where: str | None = None,
    strict: bool = False,
) -> Measurements:
    """Read one or more files of one format (``"drive"`` or ``"ookla"``) and combine them.

    Each file is validated on its own. A file that cannot be used as a whole (unreadable, missing columns, more
    rejected rows than ``max_reject_share``) is reported in ``skipped`` and left out, unless ``strict``, which
    raises at once; if every file is bad, :class:`DataFileError` lists them. Operators are normalised across all
    files (:func:`normalise_operators`).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise InvalidInputError("no measurement files given")
    if fmt not in ("drive", "ookla"):
        raise InvalidInputError(f"format {fmt!r} is not known; allowed: drive, ookla")
    if where is not None and fmt != "drive":
        raise InvalidInputError("a row filter (--where) applies to drive-test files, not to Ookla tiles")
    cmap = columns if isinstance(columns, ColumnMap) or fmt != "drive" else parse_column_mapping(columns, preset)
    parts: list[Measurements] = []
    skipped: list[dict[str, str]] = []
    for p in paths:
        try:
            if fmt == "drive":
                parts.append(read_drive_test(p, cmap, max_mbps=max_mbps, max_reject_share=max_reject_share,
                                             where=where))
            else:
                parts.append(read_ookla_tiles(p, max_mbps=max_mbps, max_reject_share=max_reject_share))
        except InvalidInputError:
            raise  # a bad mapping or filter is the same mistake for every file
        except QamtuError as exc:
            if strict:
                raise
            skipped.append({"file": str(p), "reason": " ".join(str(exc).split())})
    if not parts:
        raise DataFileError("no measurement file could be used: " + "; ".join(s["reason"] for s in skipped))
    frame = pd.concat([m.frame for m in parts], ignore_index=True)
    nonempty_exc = [m.excluded for m in parts if len(m.excluded)]
    excluded = pd.concat(nonempty_exc, ignore_index=True) if nonempty_exc else _empty_excluded()
    nonempty_rej = [m.rejects for m in parts if len(m.rejects)]
    rejects = pd.concat(nonempty_rej, ignore_index=True) if nonempty_rej else _empty_rejects()
    if fmt == "drive" and (len(frame) or len(excluded)):
        ops = normalise_operators(pd.concat([frame["operator_raw"], excluded["operator_raw"]], ignore_index=True))
        frame["operator"] = ops.iloc[: len(frame)].to_numpy()
        excluded["operator"] = ops.iloc[len(frame):].to_numpy()
    return Measurements(
        frame=frame,
        kind=fmt,
        rows_read=sum(m.rows_read for m in parts),
        rejects=rejects,
        sources=tuple(s for m in parts for s in m.sources),
        excluded=excluded,
        skipped=skipped,
        hints=[h for m in parts for h in m.hints],
    )


def write_rejects(measurements: Measurements, path: str | Path) -> Path:
    """Write the rejects table (``file,line,field,value,reason,action``) atomically, even when empty (text cells
    that a spreadsheet would run as formulas are neutralised)."""
    from qamtu.fileio import write_csv_atomic

    return write_csv_atomic(path, measurements.rejects, REJECT_COLUMNS)
