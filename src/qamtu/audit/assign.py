"""Assign measured samples to audit areas (catalogue cities or any boundary), and catch swapped lat/lon.

An audit area is a :class:`CityBoundary`: a catalogue city (:func:`city_boundary`) or any polygon from a boundary
file anywhere on Earth (:func:`areas_from_file`, projected to the UTM zone of its centroid). Samples outside
every area are counted and located (:func:`locate_outside`).

A city's boundary is its :class:`qamtu.geo.StudyArea` boundary: the catalogue's approximate disc by default, or a
user's boundary file. A sample belongs to the first city whose boundary contains it (the 20 regional centres are
hundreds of kilometres apart, so boundaries do not overlap in practice).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from qamtu.errors import DataFileError, InvalidInputError

if TYPE_CHECKING:  # pragma: no cover
    from shapely.geometry.base import BaseGeometry

    from qamtu.geo.area import StudyArea


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
    geometry: BaseGeometry
    is_approximation: bool

    @classmethod
    def from_study_area(cls, area: StudyArea) -> CityBoundary:
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


def utm_crs(lon: float, lat: float) -> str:
    """EPSG code of the WGS 84 / UTM zone holding ``(lon, lat)``, e.g. ``"EPSG:32642"`` for Astana.

    Zone ``floor((lon + 180) / 6) + 1`` (1-60), north 326zz, south 327zz (NGA, "The Universal Grids", DMA TM
    8358.2). The Norway/Svalbard exceptions are not applied: a zone off by one still measures metres well.
    """
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInputError(f"({lon!r}, {lat!r}) is not a WGS 84 lon/lat position")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


#: Property names tried, in order, to name the areas of a boundary file with several features.
AREA_NAME_PROPERTIES = ("name", "NAME", "Name", "name_en", "id", "ID")


def areas_from_file(path: str | os.PathLike[str], area_name: str | None = None) -> dict[str, CityBoundary]:
    """Audit areas from a boundary file anywhere on Earth (no catalogue city needed).

    Each area is projected to the UTM zone of its own centroid. Features are named by the property
    ``area_name`` when the file has it, else (without ``area_name``, or with several features) by the first of
    :data:`AREA_NAME_PROPERTIES` present; features with the same name are one area. Without a name property
    the whole file is one area named ``area_name`` or the file's stem.

    Raises
    ------
    DataFileError, InvalidInputError
        As :func:`qamtu.geo.boundary.read_boundary` (unreadable file, no CRS, not polygons, ...), or a name
        property with empty values.
    """
    import geopandas as gpd
    import shapely

    from qamtu.geo.boundary import boundary_from_lonlat, read_boundary

    p = Path(path)
    if p.is_dir():
        raise DataFileError(f"{p}: is a folder, expected a boundary file (GeoJSON, GeoPackage, shapefile)")
    read_boundary(p, "EPSG:4326")  # validates the file as a whole, with named errors
    gdf = gpd.read_file(p).to_crs("EPSG:4326")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    prop = None
    if area_name is not None and area_name in gdf.columns:
        prop = area_name
    elif area_name is None or len(gdf) > 1:
        prop = next((c for c in AREA_NAME_PROPERTIES if c in gdf.columns), None)
    if prop is None:
        groups = {area_name or p.stem: list(gdf.geometry)}
    else:
        names = gdf[prop].astype(str).str.strip()
        if (names == "").any() or gdf[prop].isna().any():
            raise DataFileError(f"{p}: property {prop!r} names the areas but is empty on some features")
        groups = {}
        for name, geom in zip(names, gdf.geometry):
            groups.setdefault(name, []).append(geom)
    out: dict[str, CityBoundary] = {}
    for name, geoms in groups.items():
        geom_ll = shapely.union_all([g if g.is_valid else shapely.make_valid(g) for g in geoms])
        c = geom_ll.centroid
        crs = utm_crs(float(c.x), float(c.y))
        out[name] = CityBoundary(name, crs, boundary_from_lonlat(geom_ll, crs, str(p)), False)
    return out


def locate_outside(lon: np.ndarray, lat: np.ndarray) -> dict[str, Any]:
    """Where samples outside every area are: their count, lon/lat bounding box and the nearest catalogue city
    (great-circle distance from their median position, km, spherical Earth R = 6371.0088 km)."""
    from qamtu.geo.catalogue import load_cities

    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.size == 0:
        return {"samples": 0}
    mlon, mlat = float(np.median(lon)), float(np.median(lat))
    best, best_d = None, np.inf
    for c in load_cities():
        p1, p2 = np.radians(mlat), np.radians(c.lat)
        dlon = np.radians(c.lon - mlon)
        a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
        d = 2 * 6371.0088 * np.arcsin(np.sqrt(min(1.0, a)))
        if d < best_d:
            best, best_d = c.id, d
    return {"samples": int(lon.size),
            "bbox_lonlat": [round(float(lon.min()), 5), round(float(lat.min()), 5), round(float(lon.max()), 5),
                            round(float(lat.max()), 5)],
            "median_lonlat": [round(mlon, 5), round(mlat, 5)],
            "nearest_catalogue_city": best, "nearest_city_distance_km": round(float(best_d), 1)}
