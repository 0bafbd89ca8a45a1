"""Site tables: one row per sector, read from CSV or GeoJSON, validated, projected.

Canonical columns (:data:`SITE_COLUMNS`):

============================  ========  =====================================================================
column                        required  meaning, unit, allowed range
============================  ========  =====================================================================
``site_id``                   yes       site identifier (text, non-empty); sectors of one site share it
``lat``, ``lon``              yes       WGS 84 degrees, lat in [-90, 90], lon in [-180, 180]
``height_m``                  yes       antenna height above ground, m, in (0, 300]
``azimuth_deg``               yes       boresight azimuth clockwise from north, deg, in [0, 360] (360 -> 0)
``mechanical_tilt_deg``       yes       downtilt of the panel, deg, in [-90, 90] (positive = down)
``electrical_tilt_deg``       yes       electrical downtilt of the (broadcast) beam, deg, in [-90, 90]
``tx_power_dbm``              yes       total conducted power of the sector, dBm, in [0, 70]
``antenna``                   no        antenna model name (``qamtu.radio.antenna.get_antenna``);
                                        default :data:`DEFAULT_ANTENNA`
``operator``                  no        operator name; default ``""``
``status``                    no        ``existing``, ``planned`` or ``candidate``; default ``existing``
============================  ========  =====================================================================

A table holds at most :data:`MAX_SITE_ROWS` (100,000) sector rows and a file at most :data:`MAX_SITE_FILE_BYTES`
(256 MiB); a larger one is a :class:`~qamtu.errors.DataFileError`, raised before the file is parsed in full.

Other columns are kept unchanged. Every error names the file, the 1-based data row (header excluded, as a
spreadsheet counts) and the field. Rows are never dropped silently.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qamtu.errors import DataFileError, InvalidInputError, where

if TYPE_CHECKING:  # pragma: no cover
    from qamtu.geo.area import StudyArea

__all__ = [
    "SITE_COLUMNS",
    "REQUIRED_SITE_COLUMNS",
    "SITE_STATUSES",
    "SITE_RANGES",
    "DEFAULT_ANTENNA",
    "read_sites",
    "read_table_rows",
    "validate_sites",
    "project_sites",
    "check_sites_near_area",
    "known_antenna_names",
    "combine_site_tables",
    "sites_near_area",
]

REQUIRED_SITE_COLUMNS: tuple[str, ...] = (
    "site_id",
    "lat",
    "lon",
    "height_m",
    "azimuth_deg",
    "mechanical_tilt_deg",
    "electrical_tilt_deg",
    "tx_power_dbm",
)
SITE_COLUMNS: tuple[str, ...] = REQUIRED_SITE_COLUMNS + ("antenna", "operator", "status")
SITE_STATUSES: tuple[str, ...] = ("existing", "planned", "candidate")

#: Allowed ranges of the numeric columns: (low, high, low_inclusive). High is always inclusive.
SITE_RANGES: dict[str, tuple[float, float, bool]] = {
    "lat": (-90.0, 90.0, True),
    "lon": (-180.0, 180.0, True),
    "height_m": (0.0, 300.0, False),
    "azimuth_deg": (0.0, 360.0, True),
    "mechanical_tilt_deg": (-90.0, 90.0, True),
    "electrical_tilt_deg": (-90.0, 90.0, True),
    "tx_power_dbm": (0.0, 70.0, True),
}

_FALLBACK_DEFAULT_ANTENNA = "nr-64t64r"


def _radio_antenna_module() -> Any | None:
    try:
        import qamtu.radio.antenna as antenna
    except ModuleNotFoundError as exc:
        if exc.name not in ("qamtu.radio.antenna", "qamtu.radio"):
            raise
        return None
    return antenna


def _default_antenna() -> str:
    mod = _radio_antenna_module()
    for attr in ("DEFAULT_ANTENNA", "DEFAULT_ANTENNA_NAME"):
        name = getattr(mod, attr, None) if mod is not None else None
        if isinstance(name, str):
            return name
    get = getattr(mod, "get_antenna", None) if mod is not None else None
    if get is not None:
        import inspect

        default = inspect.signature(get).parameters.get("name")
        if default is not None and isinstance(default.default, str):
            return default.default
    return _FALLBACK_DEFAULT_ANTENNA


#: The antenna model a row without ``antenna`` gets: the n78 massive-MIMO panel of ``qamtu.radio.antenna``.
DEFAULT_ANTENNA: str = _default_antenna()


def known_antenna_names() -> list[str] | None:
    """Model names that ``qamtu.radio.antenna.get_antenna`` accepts, or None if they cannot be listed."""
    mod = _radio_antenna_module()
    if mod is None:
        return None
    for attr in ("antenna_names", "available_antennas", "list_antennas"):
        func = getattr(mod, attr, None)
        if callable(func):
            return sorted(str(n) for n in func())
    for attr in ("ANTENNA_NAMES", "ANTENNAS", "ANTENNA_MODELS"):
        value = getattr(mod, attr, None)
        if value is not None:
            return sorted(str(n) for n in value)
    return None


def _antenna_is_known(name: str) -> bool | None:
    """True/False when ``qamtu.radio.antenna`` can tell; None when the radio package is not there."""
    mod = _radio_antenna_module()
    if mod is None:
        return None
    names = known_antenna_names()
    if names is not None:
        return name in names
    get = getattr(mod, "get_antenna", None)
    if get is None:
        return None
    try:
        get(name)
    except (KeyError, ValueError):  # InvalidInputError is a ValueError
        return False
    return True


class _Problems:
    """Collects row-level problems so one run reports several at once (one readable line)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, row: int | None, field: str | None, message: str) -> None:
        self.items.append(f"{where(self.source, row, field)}: {message}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = "; ".join(self.items[:5])
        more = f" (and {len(self.items) - 5} more problems)" if len(self.items) > 5 else ""
        raise InvalidInputError(shown + more)


def _fmt_range(field: str) -> str:
    low, high, low_incl = SITE_RANGES[field]
    return f"{'[' if low_incl else '('}{low:g}, {high:g}]"


def validate_sites(df: pd.DataFrame, source: str = "sites", row_numbers=None) -> pd.DataFrame:
    """Validate a site table and return a clean copy with canonical columns and dtypes.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per sector; values may be text (as read from CSV) or numbers. Row ``i`` (0-based position) is
        reported as data row ``i + 1``.
    source : str
        File name (or a label) used in error messages.
    row_numbers : array of int, optional
        The row number of each data row as a person sees it (:func:`read_sites` passes the physical line minus the
        header line, so a blank line in the file does not shift the numbers); default ``1..len(df)``.

    Returns
    -------
    pandas.DataFrame with a fresh RangeIndex: the canonical columns first (numeric ones float64, ``site_id``,
    ``antenna``, ``operator``, ``status`` str; azimuth reduced to [0, 360)), then any extra columns unchanged.

    Raises
    ------
    DataFileError
        No rows, or required columns missing (the message lists them and the canonical columns).
    InvalidInputError
        A bad value: the message names file, row and field, the value and what is allowed (up to 5 problems,
        with the count of the rest); duplicate (site_id, azimuth_deg) pairs name both rows.
    """
    if len(df) == 0:
        raise DataFileError(f"{source}: no data rows; expected one row per sector with {', '.join(SITE_COLUMNS)}")
    if len(df) > MAX_SITE_ROWS:
        raise DataFileError(_too_many_rows(source))
    df = df.rename(columns=lambda c: str(c).strip().lower()).reset_index(drop=True)
    names = list(df.columns)
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise DataFileError(f"{source}: column(s) {', '.join(map(repr, twice))} appear more than once (names are "
                            "compared without case and surrounding spaces); keep one of each")
    missing = [c for c in REQUIRED_SITE_COLUMNS if c not in df.columns]
    if missing:
        raise DataFileError(
            f"{source}: missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED_SITE_COLUMNS)}; "
            f"optional: antenna, operator, status"
        )
    problems = _Problems(source)
    out = pd.DataFrame(index=df.index)
    rows = np.arange(1, len(df) + 1) if row_numbers is None else np.asarray(row_numbers, dtype=np.int64)

    def text_col(name: str) -> pd.Series:
        s = df[name]
        return s.map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).strip())

    site_id = text_col("site_id")
    for r in rows[(site_id == "").to_numpy()]:
        problems.add(int(r), "site_id", "empty; every sector needs its site's id")
    out["site_id"] = site_id

    for name in REQUIRED_SITE_COLUMNS[1:]:
        raw = df[name]
        values = pd.to_numeric(raw, errors="coerce").astype(np.float64)
        raw_text = text_col(name)
        low, high, low_incl = SITE_RANGES[name]
        for i in np.flatnonzero(~np.isfinite(values.to_numpy())):
            if raw_text.iloc[i] == "":
                problems.add(int(rows[i]), name, f"empty; a number in {_fmt_range(name)} is required")
            else:
                problems.add(int(rows[i]), name, f"{raw_text.iloc[i]!r} is not a finite number")
        v = values.to_numpy()
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(v) & ((v < low if low_incl else v <= low) | (v > high))
        for i in np.flatnonzero(bad):
            hint = ""
            if name == "height_m" and v[i] > 300:
                hint = " (a height above ground, not an altitude above sea level)"
            problems.add(int(rows[i]), name, f"{v[i]:g} is outside {_fmt_range(name)}{hint}")
        out[name] = values

    if "antenna" in df.columns:
        antenna = text_col("antenna").str.lower().replace("", DEFAULT_ANTENNA)
    else:
        antenna = pd.Series([DEFAULT_ANTENNA] * len(df), index=df.index)
    for name in sorted(set(antenna)):
        known = _antenna_is_known(name)
        if known is False:
            names = known_antenna_names()
            allowed = f"known models: {', '.join(names)}" if names else "see qamtu.radio.antenna.get_antenna"
            first = int(rows[np.flatnonzero((antenna == name).to_numpy())[0]])
            problems.add(first, "antenna", f"unknown antenna model {name!r}; {allowed}")
    out["antenna"] = antenna
    out["operator"] = text_col("operator") if "operator" in df.columns else ""
    if "status" in df.columns:
        status = text_col("status").str.lower().replace("", "existing")
        for i in np.flatnonzero(~status.isin(SITE_STATUSES).to_numpy()):
            problems.add(int(rows[i]), "status", f"{status.iloc[i]!r} is not one of {', '.join(SITE_STATUSES)}")
    else:
        status = pd.Series(["existing"] * len(df), index=df.index)
    out["status"] = status
    problems.raise_if_any()

    out["azimuth_deg"] = np.mod(out["azimuth_deg"].to_numpy(), 360.0)
    key = pd.DataFrame({"site_id": out["site_id"], "az": out["azimuth_deg"].round(6)})
    dup = key.duplicated(keep=False)
    if dup.any():
        for (sid, az), group in key[dup].groupby(["site_id", "az"], sort=False):
            rows_txt = ", ".join(str(rows[i]) for i in group.index)
            problems.add(
                int(rows[group.index[0]]),
                "azimuth_deg",
                f"site {sid!r} has two sectors at azimuth {az:g} deg (rows {rows_txt}); each (site_id, "
                "azimuth_deg) pair must be unique",
            )
        problems.raise_if_any()

    spread = out.groupby("site_id").agg(lat_min=("lat", "min"), lat_max=("lat", "max"), lon_min=("lon", "min"),
                                        lon_max=("lon", "max"))
    dlat_m = (spread["lat_max"] - spread["lat_min"]) * 111_000.0
    dlon_m = (spread["lon_max"] - spread["lon_min"]) * 111_000.0 * np.cos(np.radians(spread["lat_min"]))
    far = spread.index[np.hypot(dlat_m, dlon_m) > 100.0]
    if len(far):
        warnings.warn(
            f"{source}: sectors of site(s) {', '.join(map(str, far[:10]))} are more than 100 m apart; "
            "check the site ids",
            stacklevel=2,
        )

    extra = [c for c in df.columns if c not in SITE_COLUMNS]
    for c in extra:
        out[c] = df[c]
    return out.reset_index(drop=True)


#: Most sector rows in one site table (every operator's n78 sectors in the largest regional centre are a few
#: thousand; Kazakhstan's whole mobile network is about 10^5 sectors). A larger table is refused with a clear
#: error before it is parsed in full, so the engine's memory stays bounded.
MAX_SITE_ROWS = 100_000
#: Largest site file read, bytes (100,000 rows of a wide CSV or GeoJSON fit well within it).
MAX_SITE_FILE_BYTES = 256 * 1024 * 1024


def _too_many_rows(source: str) -> str:
    return (f"{source}: more than {MAX_SITE_ROWS} sector rows; the most a site table may hold is {MAX_SITE_ROWS} "
            "(split it per city)")


def _read_csv(p: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The CSV's rows as text and their row numbers (physical line - 1), every physical line accounted for.

    A line the reader cannot use (wrong field count, unbalanced quote, over-long, not UTF-8) is an error naming
    its line: a site table is read whole or not at all, so no sector is dropped silently. A semicolon-separated,
    decimal-comma file (a Russian-locale Excel export) is read as such.
    """
    from qamtu.csvio import read_csv_table

    try:
        table = read_csv_table(p, max_rows=MAX_SITE_ROWS)
    except DataFileError as exc:
        if f"more than {MAX_SITE_ROWS} data rows" in str(exc):
            raise DataFileError(_too_many_rows(str(p))) from None
        raise
    if table.rejects:
        shown = "; ".join(f"{p}, line {r.line}" + (f", field {r.field!r}" if r.field else "") + f": {r.reason}"
                          for r in table.rejects[:5])
        more = f" (and {len(table.rejects) - 5} more lines)" if len(table.rejects) > 5 else ""
        raise InvalidInputError(shown + more + "".join(f"; hint: {h}" for h in table.hints))
    df = table.frame.rename(columns=lambda c: str(c).strip().lower())
    if table.decimal_comma:
        for c in [c for c in (*REQUIRED_SITE_COLUMNS[1:], "cost") if c in df.columns]:
            df[c] = df[c].str.replace(r"^(\s*[+-]?\d+),(\d+\s*)$", r"\1.\2", regex=True)
    return df, table.lines - 1


def _read_geojson(p: Path) -> pd.DataFrame:
    import geopandas as gpd
    import shapely.errors

    try:
        gdf = gpd.read_file(p, max_features=MAX_SITE_ROWS + 1)
    except (RuntimeError, OSError, ValueError, shapely.errors.GEOSException) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise DataFileError(f"{p}: not a readable GeoJSON ({type(exc).__name__}: {detail})") from None
    if len(gdf) == 0:
        raise DataFileError(f"{p}: the GeoJSON has no features; expected one Point feature per sector")
    if gdf.crs is None:
        raise DataFileError(f"{p}: the file has no CRS")
    gdf = gdf.to_crs("EPSG:4326")
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    lon = []
    lat = []
    for i, g in enumerate(gdf.geometry, start=1):
        if g is None or g.is_empty:
            lon.append(df["lon"].iloc[i - 1] if "lon" in df.columns else np.nan)
            lat.append(df["lat"].iloc[i - 1] if "lat" in df.columns else np.nan)
            continue
        if g.geom_type != "Point":
            raise InvalidInputError(f"{where(str(p), i, 'geometry')}: {g.geom_type}; a site is a Point")
        lon.append(g.x)
        lat.append(g.y)
    df["lon"] = lon
    df["lat"] = lat
    return df


def read_table_rows(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Read a site or candidate table as it is in the file, before validation.

    CSV through :func:`qamtu.csvio.read_csv_table` (every physical line accounted for; a line it cannot use is an
    error naming that line, so no sector is dropped silently; ``;``-separated decimal-comma files are read as
    such); GeoJSON with one Point feature per row (reprojected to WGS 84 ``lat``/``lon``).

    Returns
    -------
    (DataFrame, row_numbers)
        The rows (CSV values as text) and, for a CSV, each row's number as a spreadsheet shows it (physical line
        - 1; None for GeoJSON, whose rows are numbered 1..n).

    Raises
    ------
    DataFileError
        Missing, empty, too large or unreadable file; unknown suffix.
    InvalidInputError
        A line of the CSV that cannot be read (named by its line).
    """
    from qamtu.geo.rasters import check_input_file

    p = Path(path)
    check_input_file(p, "site file", "a CSV or GeoJSON site table")
    size = p.stat().st_size
    if size > MAX_SITE_FILE_BYTES:
        raise DataFileError(f"{p}: {size} bytes; the largest site file read is {MAX_SITE_FILE_BYTES} bytes "
                            f"(at most {MAX_SITE_ROWS} sector rows; split it per city)")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(p)
    if suffix in (".geojson", ".json"):
        return _read_geojson(p), None
    raise DataFileError(f"{p}: unknown site file type {suffix!r}; use .csv or .geojson")


def read_sites(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a site table (CSV, or GeoJSON with one Point feature per sector).

    A GeoJSON's point geometry (reprojected to WGS 84) gives ``lat`` and ``lon``; the other columns come from the
    feature properties. See the module docstring for the columns, :func:`read_table_rows` for the reading rules
    and :func:`validate_sites` for the checks.

    Raises
    ------
    DataFileError
        Missing, empty or unreadable file; unknown suffix; missing columns.
    InvalidInputError
        Bad values or an unreadable line (file, row or line, and field named).
    """
    df, rows = read_table_rows(path)
    return validate_sites(df, source=str(Path(path)), row_numbers=rows)


def project_sites(df: pd.DataFrame, crs: str) -> pd.DataFrame:
    """Return a copy of a site table with ``x_m``, ``y_m`` (float64, metres) in the projected ``crs``."""
    from pyproj import Transformer

    for c in ("lat", "lon"):
        if c not in df.columns:
            raise InvalidInputError(f"site table has no {c!r} column; cannot project it")
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tr.transform(df["lon"].to_numpy(dtype=float), df["lat"].to_numpy(dtype=float))
    out = df.copy()
    out["x_m"] = np.asarray(x, dtype=np.float64)
    out["y_m"] = np.asarray(y, dtype=np.float64)
    return out


def check_sites_near_area(
    df: pd.DataFrame, area: StudyArea, max_distance_m: float | None = None, source: str = "sites"
) -> None:
    """Raise if sites lie far outside the study area (a wrong CRS, swapped lat/lon, another city's file).

    Parameters
    ----------
    df : site table with ``lat``, ``lon``.
    area : StudyArea (its ``crs`` and ``boundary`` are used).
    max_distance_m : float, optional
        Largest allowed distance from the boundary, m; default ``max(20 km, equivalent radius of the area)``.

    Raises
    ------
    InvalidInputError
        Naming up to 10 offending rows (1-based) and their distance; says when swapping lat and lon would put
        them inside the area.
    """
    import shapely

    if max_distance_m is None:
        max_distance_m = max(20_000.0, math.sqrt(area.boundary.area / math.pi))
    proj = project_sites(df, area.crs)
    pts = shapely.points(proj["x_m"].to_numpy(), proj["y_m"].to_numpy())
    dist = shapely.distance(area.boundary, pts)
    bad = np.flatnonzero(~(dist <= max_distance_m))
    if len(bad) == 0:
        return
    swapped = project_sites(df.rename(columns={"lat": "lon", "lon": "lat"}), area.crs)
    sw_dist = shapely.distance(area.boundary, shapely.points(swapped["x_m"].to_numpy(), swapped["y_m"].to_numpy()))
    hint = " (lat and lon look swapped)" if np.all(sw_dist[bad] <= max_distance_m) else ""
    listed = ", ".join(f"row {i + 1} ({dist[i] / 1000:.0f} km)" for i in bad[:10])
    more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
    raise InvalidInputError(
        f"{source}: {len(bad)} sector(s) lie more than {max_distance_m / 1000:.0f} km outside the study area of "
        f"{area.city.name_en}: {listed}{more}{hint}; lat/lon must be WGS 84 degrees"
    )


def combine_site_tables(tables: list[pd.DataFrame], sources: list[str]) -> pd.DataFrame:
    """Concatenate site tables from several files (e.g. ``--existing`` and ``--sites``), refusing a site id that
    appears in two of them (the same site twice would count its power twice)."""
    seen: dict[str, str] = {}
    for df, src in zip(tables, sources):
        ids = pd.unique(df["site_id"].astype(str))
        for sid in ids:
            if sid in seen:
                raise InvalidInputError(f"{src}: site_id {sid!r} is also in {seen[sid]}; a site belongs to one file")
        seen.update(dict.fromkeys(ids, src))
    return pd.concat(list(tables), ignore_index=True)


def sites_near_area(df: pd.DataFrame, area: StudyArea, margin_m: float = 5_000.0) -> pd.DataFrame:
    """The rows of a site table within ``margin_m`` of a study area's boundary (a national table cut to one city);
    whole sites are kept or dropped together."""
    import shapely

    if len(df) == 0:
        return df
    proj = project_sites(df, area.crs)
    dist = shapely.distance(area.boundary, shapely.points(proj["x_m"].to_numpy(), proj["y_m"].to_numpy()))
    near_ids = set(df["site_id"].astype(str)[dist <= margin_m])
    return df[df["site_id"].astype(str).isin(near_ids)].reset_index(drop=True)
