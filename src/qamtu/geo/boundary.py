"""City boundaries: a user's vector file (GeoJSON, GeoPackage, shapefile) or the catalogue's approximate disc.

Both come back as one shapely (Multi)Polygon in the study area's projected CRS (metres).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import shapely.errors
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from qamtu.errors import DataFileError, InvalidInputError, where

__all__ = ["disc_boundary", "read_boundary", "boundary_from_lonlat", "transform_geometry", "repair_boundary"]

#: Number of segments of the polygon that approximates the default disc (relative area error ~ (2 pi / n)^2 / 6,
#: 2.5e-5 for n = 512: far below the grid's own error).
DISC_SEGMENTS = 512


def transform_geometry(geom: BaseGeometry, src_crs: Any, dst_crs: Any) -> BaseGeometry:
    """Reproject a shapely geometry between two CRSs (pyproj, ``always_xy``: x = easting/longitude)."""
    from pyproj import Transformer

    tr = Transformer.from_crs(src_crs, dst_crs, always_xy=True)

    def func(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, func)


def disc_boundary(x_m: float, y_m: float, area_km2: float) -> BaseGeometry:
    """A disc of ``area_km2`` around ``(x_m, y_m)`` in a metric CRS: the default, approximate city boundary.

    Parameters
    ----------
    x_m, y_m : float
        Centre, metres in the projected CRS.
    area_km2 : float
        Area of the disc, km2, > 0. The radius is ``sqrt(area / pi)``.
    """
    if not (area_km2 > 0 and math.isfinite(area_km2)):
        raise InvalidInputError(f"area_km2 = {area_km2!r}: must be a positive finite number of km2")
    radius_m = math.sqrt(area_km2 * 1e6 / math.pi)
    return Point(x_m, y_m).buffer(radius_m, quad_segs=DISC_SEGMENTS // 4)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep the polygonal parts of a geometry (after ``make_valid`` a polygon may carry stray lines)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def repair_boundary(geom: BaseGeometry, source: str) -> BaseGeometry:
    """An invalid (e.g. self-intersecting) polygon repaired by ``shapely.make_valid`` with a warning naming the file,
    what GEOS found and the area before and after; its polygonal parts only."""
    import warnings

    from shapely.validation import explain_validity

    why = explain_validity(geom)
    fixed = _polygonal(shapely.make_valid(geom))
    warnings.warn(
        f"{source}: the boundary is not a valid polygon ({why}); repaired (area {geom.area:.6g} -> "
        f"{fixed.area:.6g} in the file's units squared); check the file",
        stacklevel=3,
    )
    return fixed


def _check_polygon(geom: BaseGeometry, source: str) -> BaseGeometry:
    if geom.is_empty:
        raise DataFileError(f"{source}: the boundary is empty (no polygon area)")
    if not geom.is_valid:
        geom = repair_boundary(geom, source)
    if geom.is_empty or geom.area <= 0:
        raise DataFileError(f"{source}: the boundary has no area")
    return geom


def boundary_from_lonlat(geom: BaseGeometry, crs: str, source: str = "boundary") -> BaseGeometry:
    """Project a shapely (Multi)Polygon given in WGS 84 lon/lat (EPSG:4326) into ``crs``."""
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInputError(f"{source}: a boundary must be a Polygon or MultiPolygon, got {geom.geom_type}")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInputError(
            f"{source}: bounds {geom.bounds} are not WGS 84 lon/lat degrees; pass a file with its CRS instead"
        )
    return _check_polygon(transform_geometry(geom, "EPSG:4326", crs), source)


def read_boundary(path: str | os.PathLike[str], crs: str) -> BaseGeometry:
    """Read a city boundary from a GeoJSON, GeoPackage or shapefile and return it in ``crs``.

    All polygon features are unioned into one geometry (a city made of several parts stays one boundary).

    Parameters
    ----------
    path : path-like
        Vector file readable by GeoPandas (pyogrio). It must carry a CRS (GeoJSON is WGS 84 by RFC 7946).
    crs : str
        Target CRS, e.g. ``"EPSG:32643"``.

    Returns
    -------
    shapely Polygon or MultiPolygon in ``crs``.

    Raises
    ------
    DataFileError
        Missing, unreadable or empty file; no CRS; coordinates that do not fit the declared CRS.
    InvalidInputError
        A feature that is not a polygon (the message names its 1-based feature row).
    """
    import geopandas as gpd

    p = Path(path)
    source = str(p)
    if not p.exists():
        raise DataFileError(f"{source}: boundary file not found")
    if p.is_dir():
        raise DataFileError(f"{source}: is a folder; give the boundary file (.geojson, .gpkg or .shp)")
    if p.is_file() and p.stat().st_size == 0:
        raise DataFileError(f"{source}: empty file; expected a GeoJSON, GeoPackage or shapefile with a polygon")
    try:
        gdf = gpd.read_file(p)
    except (RuntimeError, OSError, ValueError, shapely.errors.GEOSException) as exc:
        # pyogrio's DataSourceError is a RuntimeError; GEOS refuses e.g. a ring that is not closed
        detail = " ".join(str(exc).split())[:300]
        raise DataFileError(
            f"{source}: cannot read as a GeoJSON, GeoPackage or shapefile ({type(exc).__name__}: {detail})"
        ) from None
    if len(gdf) == 0:
        raise DataFileError(f"{source}: the file has no features; expected at least one polygon")
    if gdf.crs is None:
        raise DataFileError(
            f"{source}: the boundary has no CRS (a shapefile needs its .prj); save it with a CRS, e.g. EPSG:4326"
        )
    geoms = gdf.geometry
    for i, g in enumerate(geoms, start=1):
        if g is None or g.is_empty:
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            raise InvalidInputError(
                f"{where(source, i, 'geometry')}: {g.geom_type} is not a polygon; a boundary needs "
                "Polygon or MultiPolygon features"
            )
    geoms = geoms[~(geoms.isna() | geoms.is_empty)]
    if len(geoms) == 0:
        raise DataFileError(f"{source}: every feature has an empty geometry")
    bad = [i for i, g in enumerate(gdf.geometry, start=1)
           if g is not None and not g.is_empty and not np.isfinite(shapely.get_coordinates(g)).all()]
    if bad:
        raise InvalidInputError(f"{where(source, bad[0], 'geometry')}: a coordinate is NaN or infinite"
                                + (f" (also in {len(bad) - 1} other feature(s))" if len(bad) > 1 else ""))
    if gdf.crs.is_geographic:
        minx, miny, maxx, maxy = geoms.total_bounds
        if not (-180.5 <= minx <= maxx <= 180.5 and -90.5 <= miny <= maxy <= 90.5):
            raise DataFileError(
                f"{source}: coordinates {tuple(round(v, 1) for v in geoms.total_bounds)} do not fit the declared "
                f"geographic CRS {gdf.crs.to_string()}; the file's CRS is wrong"
            )
    try:
        projected = geoms.to_crs(crs)
    except Exception as exc:  # pyproj raises its own CRSError/ProjError types
        raise DataFileError(f"{source}: cannot reproject from {gdf.crs.to_string()} to {crs} ({exc})") from None
    bounds = projected.total_bounds
    if not np.all(np.isfinite(bounds)):
        raise DataFileError(
            f"{source}: coordinates do not fit the declared CRS {gdf.crs.to_string()} (reprojection gave "
            "non-finite values); the file's CRS is wrong"
        )
    try:
        valid = [g if g.is_valid else repair_boundary(g, source) for g in projected]
        return _check_polygon(shapely.union_all(valid), source)
    except shapely.errors.GEOSException as exc:
        raise DataFileError(f"{source}: the boundary geometry cannot be repaired ({' '.join(str(exc).split())[:300]})"
                            ) from None
