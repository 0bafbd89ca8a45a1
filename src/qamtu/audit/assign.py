"""Assign measured samples to cities by the city's boundary, and catch swapped latitude/longitude.

A city's boundary is its :class:`qamtu.geo.StudyArea` boundary: the catalogue's approximate disc by default, or a
user's boundary file. A sample belongs to the first city whose boundary contains it (the 20 regional centres are
hundreds of kilometres apart, so boundaries do not overlap in practice).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from qamtu.errors import DataFileError, InvalidInputError


@dataclasses.dataclass(frozen=True)
class CityBoundary:
    """A city's boundary in its projected CRS (metres).

    Attributes
    ----------
    city_id : str
    crs : str
        Projected CRS of ``geometry``, e.g. ``"EPSG:32642"``.
    geometry : shapely Polygon or MultiPolygon
    is_approximation : bool
        True for the catalogue's disc (no real boundary given): outputs say so.
    """

    city_id: str
    crs: str
    geometry: Any
    is_approximation: bool

    @classmethod
    def from_study_area(cls, area: Any) -> "CityBoundary":
        """Take the boundary of a :class:`qamtu.geo.StudyArea`."""
        return cls(area.city.id, area.crs, area.boundary, bool(area.boundary_is_approximation))

    def contains_lonlat(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Boolean mask of WGS84 points (degrees) inside the boundary."""
        import shapely
        from pyproj import Transformer

        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        out = np.zeros(lon.shape, dtype=bool)
        ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        if not ok.any():
            return out
        # cheap pre-filter on the boundary's lon/lat bounding box (densified edges, 0.01 deg margin)
        lon_min, lat_min, lon_max, lat_max = self.lonlat_bounds
        ok &= (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)
        if not ok.any():
            return out
        tr = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        x, y = tr.transform(lon[ok], lat[ok])
        out[ok] = shapely.contains_xy(self.geometry, np.asarray(x), np.asarray(y))
        return out

    @property
    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        """WGS84 bounds ``(lon_min, lat_min, lon_max, lat_max)`` of the boundary, with a 0.01 deg margin."""
        from pyproj import Transformer

        tr = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon_min, lat_min, lon_max, lat_max = tr.transform_bounds(*self.geometry.bounds, densify_pts=21)
        return lon_min - 0.01, lat_min - 0.01, lon_max + 0.01, lat_max + 0.01


def city_boundary(
    city_id: str, boundary: str | os.PathLike[str] | Any | None = None, *, resolution_m: float = 500.0
) -> CityBoundary:
    """The boundary of a regional centre, as the study area defines it.

    Parameters
    ----------
    city_id : str
        Catalogue id (see ``qamtu cities``).
    boundary : path or shapely geometry, optional
        A boundary file (GeoJSON, GeoPackage, shapefile) or a lon/lat polygon; default: the catalogue's disc.
    resolution_m : float
        Grid resolution of the study area built to get the boundary (coarse: only the boundary is used).
    """
    from qamtu.geo.area import make_study_area

    area = make_study_area(city_id, resolution_m=resolution_m, boundary=boundary)
    return CityBoundary.from_study_area(area)


def city_boundaries(
    city_ids: Sequence[str] | None = None, boundary_files: Mapping[str, Any] | None = None
) -> dict[str, CityBoundary]:
    """Boundaries of several cities (all 20 regional centres when ``city_ids`` is None)."""
    from qamtu.geo.catalogue import load_cities

    ids = [c.id for c in load_cities()] if city_ids is None else list(city_ids)
    files = dict(boundary_files or {})
    unknown = set(files) - set(ids)
    if unknown:
        raise InvalidInputError(f"boundary files given for cities not audited: {', '.join(sorted(unknown))}")
    return {cid: city_boundary(cid, files.get(cid)) for cid in ids}


def assign_cities(lon: np.ndarray, lat: np.ndarray, boundaries: Mapping[str, CityBoundary]) -> np.ndarray:
    """City id of each point (the first boundary that contains it), or None outside every boundary.

    Returns
    -------
    ndarray of object, shape like ``lon``
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = np.full(lon.shape, None, dtype=object)
    for cid, b in boundaries.items():
        free = out == None  # noqa: E711 (element-wise on an object array)
        if not free.any():
            break
        inside = np.zeros(lon.shape, dtype=bool)
        inside[free] = b.contains_lonlat(lon[free], lat[free])
        out[inside] = cid
    return out


def check_swapped_coordinates(
    frame: pd.DataFrame, boundaries: Mapping[str, CityBoundary], source: str = "measurements", *, share: float = 0.5
) -> None:
    """Stop if the coordinates look swapped: most points fall outside every city, but inside when lat/lon swap.

    Parameters
    ----------
    frame : DataFrame
        With ``lat`` and ``lon`` columns (degrees).
    boundaries : mapping
        The cities audited.
    share : float
        The rule fires when fewer than ``share`` of the points lie inside a city as given and more than
        ``share`` lie inside one with latitude and longitude exchanged.

    Raises
    ------
    DataFileError
        Naming the two shares and the fix (exchange the columns, e.g. ``--columns lat=lon,lon=lat``).
    """
    if frame.empty or not boundaries:
        return
    lat = frame["lat"].to_numpy(dtype=float)
    lon = frame["lon"].to_numpy(dtype=float)
    inside = assign_cities(lon, lat, boundaries) != None  # noqa: E711
    if inside.mean() >= share:
        return
    swapped = assign_cities(lat, lon, boundaries) != None  # noqa: E711
    if swapped.mean() > share:
        raise DataFileError(
            f"{source}: only {100 * inside.mean():.0f} % of the {len(frame)} points fall inside the audited "
            f"cities ({', '.join(boundaries)}), but {100 * swapped.mean():.0f} % do when latitude and longitude "
            "are exchanged: the lat and lon columns look swapped (or the file is not WGS84 lat/lon). Fix the file "
            "or map the columns the other way round, e.g. --columns lat=lon,lon=lat"
        )
