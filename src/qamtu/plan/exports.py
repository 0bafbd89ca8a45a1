"""Files people load elsewhere: the plan's sectors in the canonical site format, a GeoPackage, an import CSV.

* ``planned_sectors.csv``: the plan's sectors in the canonical site-table format of :mod:`qamtu.geo.sites`
  (``site_id, lat, lon, height_m, azimuth_deg, mechanical_tilt_deg, electrical_tilt_deg, tx_power_dbm, antenna,
  operator, status``) with ``status=planned`` for the new sites (``existing`` for those on air), plus ``sector``
  (1-based within the site), ``origin``, ``cost`` and, from ``national``'s schedule, ``on_air_month`` (YYYY-MM).
  ``qamtu coverage --sites planned_sectors.csv`` reads it as it is.
* ``plan.gpkg``: a GeoPackage (EPSG:4326) with the layers ``sites`` (points, one per site, with the plan's
  explanation columns), ``sectors`` (one wedge polygon per sector, 65 deg wide and :data:`WEDGE_RADIUS_M` long,
  pointing along the azimuth; for display, not a coverage prediction) and ``coverage`` (the covered pixels of the
  engine's final map, dissolved into polygons). Opens in QGIS and GeoPandas.
* ``planned_sectors_import.csv``: one row per sector with the column names of planning-tool transmitter tables:
  ``Site, Sector, Latitude, Longitude, Height (m), Azimuth (deg), Mechanical Downtilt (deg), Electrical Downtilt
  (deg), Power (dBm), Antenna`` (the names used by Atoll-style transmitter imports; units in the header, WGS 84
  decimal degrees). Map them once in the tool's import dialogue.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import numpy as np
import pandas as pd

from qamtu.fileio import atomic_write, write_csv_atomic

if TYPE_CHECKING:
    from qamtu.geo import StudyArea
    from qamtu.plan.planner import Plan

__all__ = ["IMPORT_COLUMNS", "WEDGE_RADIUS_M", "planned_sectors", "import_table", "write_geopackage",
           "write_plan_files"]

#: Canonical column -> column name in ``planned_sectors_import.csv``.
IMPORT_COLUMNS: dict[str, str] = {
    "site_id": "Site",
    "sector": "Sector",
    "lat": "Latitude",
    "lon": "Longitude",
    "height_m": "Height (m)",
    "azimuth_deg": "Azimuth (deg)",
    "mechanical_tilt_deg": "Mechanical Downtilt (deg)",
    "electrical_tilt_deg": "Electrical Downtilt (deg)",
    "tx_power_dbm": "Power (dBm)",
    "antenna": "Antenna",
}

#: Length of the sector wedges of the GeoPackage's ``sectors`` layer, m (a display size).
WEDGE_RADIUS_M = 250.0
_WEDGE_WIDTH_DEG = 65.0


def planned_sectors(sectors: pd.DataFrame, on_air_month: Mapping[str, str | None] | None = None) -> pd.DataFrame:
    """The plan's sector rows in the canonical site format (see the module docstring).

    Parameters
    ----------
    sectors : DataFrame
        ``Plan.sectors`` (candidate sector rows of the chosen sites).
    on_air_month : mapping site id -> "YYYY-MM" (or None), optional
        The schedule's month per new site; adds the ``on_air_month`` column (``on air`` for existing sites).
    """
    from qamtu.geo.sites import DEFAULT_ANTENNA, SITE_COLUMNS

    df = sectors.reset_index(drop=True).copy()
    origin = df["origin"].astype(str) if "origin" in df else pd.Series([""] * len(df))
    df["status"] = np.where(origin.to_numpy() == "existing", "existing", "planned")
    if "antenna" not in df or df["antenna"].isna().all():
        df["antenna"] = DEFAULT_ANTENNA
    df["antenna"] = df["antenna"].fillna(DEFAULT_ANTENNA).replace("", DEFAULT_ANTENNA)
    if "operator" not in df:
        df["operator"] = ""
    df["operator"] = df["operator"].fillna("")
    df["sector"] = df.groupby("site_id", sort=False).cumcount() + 1
    cols = list(SITE_COLUMNS) + ["sector"] + [c for c in ("origin", "cost") if c in df]
    out = df[cols].copy()
    if on_air_month is not None:
        out["on_air_month"] = [("on air" if st == "existing" else on_air_month.get(str(s)))
                               for s, st in zip(out["site_id"], out["status"])]
    return out


def import_table(planned: pd.DataFrame) -> pd.DataFrame:
    """``planned_sectors_import.csv``'s table: :data:`IMPORT_COLUMNS` renamed, in that order."""
    return planned[list(IMPORT_COLUMNS)].rename(columns=IMPORT_COLUMNS)


def _wedge(lon: float, lat: float, azimuth_deg: float, to_xy, to_ll):
    from shapely.geometry import Polygon

    x0, y0 = to_xy(lon, lat)
    az = np.radians(azimuth_deg + np.linspace(-_WEDGE_WIDTH_DEG / 2, _WEDGE_WIDTH_DEG / 2, 9))
    xs = np.concatenate([[x0], x0 + WEDGE_RADIUS_M * np.sin(az), [x0]])
    ys = np.concatenate([[y0], y0 + WEDGE_RADIUS_M * np.cos(az), [y0]])
    lo, la = to_ll(xs, ys)
    return Polygon(np.column_stack([lo, la]))


def write_geopackage(path: str | os.PathLike[str], sites: pd.DataFrame, planned: pd.DataFrame, area: StudyArea,
                     covered: np.ndarray) -> Path:
    """Write ``plan.gpkg`` (layers ``sites``, ``sectors``, ``coverage``; EPSG:4326), atomically.

    Parameters
    ----------
    path : path of the GeoPackage
    sites : DataFrame
        ``Plan.sites`` (one row per chosen site, with ``lat``, ``lon``).
    planned : DataFrame
        :func:`planned_sectors` of the plan.
    area : StudyArea
        Its CRS and transform place the coverage polygons.
    covered : ndarray of bool, shape ``area.shape``
        The engine's covered pixels.
    """
    import geopandas as gpd
    import shapely
    from rasterio.features import shapes

    out = Path(path)
    site_cols = [c for c in sites.columns if c not in ("lat", "lon", "x_m", "y_m")]
    g_sites = gpd.GeoDataFrame(sites[site_cols].reset_index(drop=True),
                               geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs="EPSG:4326")
    wedges = [_wedge(lo, la, az, area.from_lonlat, area.to_lonlat)
              for lo, la, az in zip(planned["lon"], planned["lat"], planned["azimuth_deg"])]
    g_sectors = gpd.GeoDataFrame(planned.reset_index(drop=True), geometry=wedges, crs="EPSG:4326")
    cov = (np.asarray(covered, bool) & np.asarray(area.mask, bool)).astype(np.uint8)
    polys = [shapely.geometry.shape(g) for g, v in shapes(cov, mask=cov.astype(bool), transform=area.transform)
             if v == 1]
    merged = shapely.union_all(polys) if polys else shapely.geometry.Polygon()
    g_cov = gpd.GeoDataFrame({"covered": [1], "area_km2": [float(cov.sum()) * area.resolution_m ** 2 / 1e6]},
                             geometry=[merged], crs=area.crs).to_crs("EPSG:4326")
    with atomic_write(out) as tmp:
        # the temporary name keeps the .gpkg suffix so the driver is chosen by name as well
        target = Path(str(tmp) + ".gpkg")
        try:
            g_sites.to_file(target, layer="sites", driver="GPKG")
            g_sectors.to_file(target, layer="sectors", driver="GPKG")
            g_cov.to_file(target, layer="coverage", driver="GPKG")
            os.replace(target, tmp)
        finally:
            if target.exists():
                target.unlink()
    return out


def write_plan_files(folder: str | os.PathLike[str], plan: Plan,
                     on_air_month: Mapping[str, str | None] | None = None) -> dict[str, Path]:
    """Write ``planned_sectors.csv``, ``planned_sectors_import.csv`` and ``plan.gpkg`` of a plan into ``folder``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    planned = planned_sectors(plan.sectors, on_air_month)
    paths = {}
    paths["planned_sectors_csv"] = write_csv_atomic(out / "planned_sectors.csv", planned)
    paths["import_csv"] = write_csv_atomic(out / "planned_sectors_import.csv", import_table(planned))
    paths["gpkg"] = write_geopackage(out / "plan.gpkg", plan.sites, planned, plan.coverage.area,
                                     np.asarray(plan.coverage.covered, bool))
    return paths
