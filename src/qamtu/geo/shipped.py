"""The geodata shipped with qamtu: the 20 cities' real polygons, the districts of the three largest cities, and the
terrain of the southern cities (see ``qamtu/data/geo/SOURCE.md`` for sources and licences).

* :func:`city_polygon` -- a city's polygon (WGS 84 lon/lat) and its properties (KATO code, geodesic area,
  administrative centre).
* :func:`default_boundary` -- the default study-area boundary of a city in a projected CRS: the real polygon, or,
  where the polygon is a city administration much larger than the settlement (area > :data:`CUT_RATIO` x the
  catalogue's area), the **settlement cut** (:func:`settlement_cut`), flagged as an approximation.
* :func:`city_districts` -- the ADM2 districts of Astana, Almaty and Shymkent (for KPIs per district).
* :func:`default_dem` -- the shipped DEM covering a city (SRTM3 for Almaty, GEBCO 15" for Shymkent, Taraz,
  Turkistan, Konaev), or ``None`` (the city runs flat).
* :data:`ATTRIBUTIONS` -- the attribution lines every output carries.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from qamtu.errors import DataFileError, InvalidInputError

__all__ = [
    "ATTRIBUTIONS",
    "ATTRIBUTION_PARTS",
    "BOUNDARY_ATTRIBUTION",
    "SRTM_ATTRIBUTION",
    "GEBCO_ATTRIBUTION",
    "CUT_RATIO",
    "CityPolygon",
    "DefaultBoundary",
    "city_polygon",
    "city_districts",
    "settlement_cut",
    "default_boundary",
    "default_dem",
    "geodesic_area_km2",
    "district_masks",
]

CITIES_RESOURCE = "data/geo/kz_20_regional_centres.geojson"
DISTRICTS_RESOURCE = "data/geo/kz_city_districts_adm2.geojson"
SRTM_DIR = "data/terrain/srtm3_almaty"
GEBCO_DIR = "data/terrain/gebco2023_crops"

#: The attributions of the shipped data as (kind, the licensors' own wording): kind "boundaries" or "terrain" is
#: the label a report translates; the wording stays as the licensors give it.
ATTRIBUTION_PARTS: tuple[tuple[str, str], ...] = (
    ("boundaries", "geokz (A. Rodionov); OCHA COD-AB Kazakhstan; © OpenStreetMap contributors (CC BY 4.0)"),
    ("terrain", "SRTM3 v2.1 (NASA/USGS/NGA, public domain)"),
    ("terrain", "GEBCO Compilation Group (2023) GEBCO 2023 Grid, doi:10.5285/f98b053b-0cbc-6c23-e053-6c86abc0af7b"),
)
BOUNDARY_ATTRIBUTION, SRTM_ATTRIBUTION, GEBCO_ATTRIBUTION = (
    f"{kind.capitalize()}: {text}" for kind, text in ATTRIBUTION_PARTS
)
#: Every attribution of the shipped data, for footers and ``qamtu cities``.
ATTRIBUTIONS: tuple[str, ...] = (BOUNDARY_ATTRIBUTION, SRTM_ATTRIBUTION, GEBCO_ATTRIBUTION)

#: A shipped polygon larger than ``CUT_RATIO`` x the catalogue's area is a city administration with rural
#: districts: the default study area is then its settlement cut.
CUT_RATIO = 1.5

#: Shipped DEM per city id: (kind, resource names). SRTM3 (~90 m) where it exists, else GEBCO 15" (~460 m).
_DEMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "almaty": ("srtm3", ("N42E076.hgt.zip", "N42E077.hgt.zip", "N43E076.hgt.zip", "N43E077.hgt.zip")),
    "shymkent": ("gebco", ("shymkent_gebco2023_15s.npz",)),
    "taraz": ("gebco", ("taraz_gebco2023_15s.npz",)),
    "turkistan": ("gebco", ("turkistan_gebco2023_15s.npz",)),
    "konaev": ("gebco", ("konaev_gebco2023_15s.npz",)),
}


@dataclass(frozen=True)
class CityPolygon:
    """A shipped city polygon in WGS 84 lon/lat with its properties.

    Attributes
    ----------
    city_id : str
    geometry : shapely (Multi)Polygon, lon/lat degrees.
    kato : str
        Official KATO code of the administration.
    area_km2 : float
        Geodesic area of the polygon (WGS 84), km2.
    admin_centre_lon, admin_centre_lat : float
        The administrative centre (the point the population model and the settlement cut are centred on).
    admin_centre_name : str
    """

    city_id: str
    geometry: BaseGeometry
    kato: str
    area_km2: float
    admin_centre_lon: float
    admin_centre_lat: float
    admin_centre_name: str


@dataclass(frozen=True)
class DefaultBoundary:
    """The default boundary of a city in a projected CRS (see :func:`default_boundary`).

    ``geometry`` in metres; ``is_approximation`` True for a settlement cut; ``info`` JSON-serialisable provenance
    (``boundary_source``, ``admin_area_km2``, ``settlement_cut``, ``admin_centre_lon/lat``).
    """

    geometry: BaseGeometry
    is_approximation: bool
    description: str
    centre_xy_m: tuple[float, float]
    info: dict[str, Any]


def _read_json(resource: str) -> dict[str, Any]:
    try:
        text = resources.files("qamtu").joinpath(resource).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:  # a broken installation
        raise DataFileError(f"qamtu/{resource}: shipped data missing from the installation ({exc})") from None
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def _polygons() -> dict[str, CityPolygon]:
    out = {}
    for f in _read_json(CITIES_RESOURCE)["features"]:
        p = f["properties"]
        out[p["id"]] = CityPolygon(
            city_id=p["id"], geometry=shape(f["geometry"]), kato=str(p["kato"]), area_km2=float(p["area_km2"]),
            admin_centre_lon=float(p["admin_centre_lon"]), admin_centre_lat=float(p["admin_centre_lat"]),
            admin_centre_name=str(p["admin_centre_name"]),
        )
    return out


def city_polygon(city_id: str) -> CityPolygon | None:
    """The shipped polygon of a catalogue city, or ``None`` if none is shipped for that id."""
    return _polygons().get(str(city_id).strip().lower())


def city_districts(city_id: str) -> list[dict[str, Any]]:
    """The ADM2 districts of a city (Astana, Almaty, Shymkent; empty for the others).

    Returns a list of dicts ``{"name_en", "name_ru", "name_kk", "kato", "pcode", "geometry"}`` (geometry in WGS 84
    lon/lat), in file order.
    """
    key = str(city_id).strip().lower()
    out = []
    for f in _read_json(DISTRICTS_RESOURCE)["features"]:
        p = f["properties"]
        if p["city_id"] == key:
            out.append({k: str(p[k]) for k in ("name_en", "name_ru", "name_kk", "kato", "pcode")}
                       | {"geometry": shape(f["geometry"])})
    return out


def geodesic_area_km2(geom_lonlat: BaseGeometry) -> float:
    """Area of a lon/lat (Multi)Polygon on the WGS 84 ellipsoid, km2 (pyproj ``Geod.geometry_area_perimeter``)."""
    from pyproj import Geod

    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(geom_lonlat)
    return abs(area) / 1e6


def settlement_cut(geom_m: BaseGeometry, centre_xy_m: tuple[float, float], target_km2: float,
                   rtol: float = 1e-4) -> BaseGeometry:
    """The part of a polygon (metric CRS) inside the disc around ``centre_xy_m`` whose area is ``target_km2``.

    The disc's radius is found by bisection on ``area(polygon & disc(r))``, which grows continuously from 0 to the
    polygon's area; the result is the compact part of a city administration around its administrative centre:
    the settlement, where the administration also holds villages and steppe. If the polygon is not larger than
    the target, it is returned unchanged.

    Raises
    ------
    InvalidInputError
        Target not positive, or the centre is farther than 30 km from the polygon.
    """
    if not (target_km2 > 0 and math.isfinite(target_km2)):
        raise InvalidInputError(f"target_km2 = {target_km2!r}: must be a positive number of km2")
    target = target_km2 * 1e6
    if geom_m.area <= target:
        return geom_m
    centre = Point(centre_xy_m)
    if geom_m.distance(centre) > 30_000.0:
        raise InvalidInputError("the administrative centre lies more than 30 km from the polygon")
    lo = geom_m.distance(centre)
    minx, miny, maxx, maxy = geom_m.bounds
    hi = max(math.hypot(x - centre_xy_m[0], y - centre_xy_m[1]) for x in (minx, maxx) for y in (miny, maxy))
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        a = geom_m.intersection(centre.buffer(mid, quad_segs=64)).area
        if abs(a - target) <= rtol * target:
            break
        lo, hi = (mid, hi) if a < target else (lo, mid)
    return geom_m.intersection(centre.buffer(mid, quad_segs=64))


def default_boundary(city, crs: str) -> DefaultBoundary | None:
    """The default study-area boundary of a catalogue city in ``crs``, or ``None`` if no polygon is shipped.

    The real polygon when its area is at most :data:`CUT_RATIO` x the catalogue's area (or the catalogue has no
    area); otherwise the :func:`settlement_cut` to the catalogue's area around the administrative centre, flagged
    as an approximation with the administration's area in ``info["admin_area_km2"]``.
    """
    from qamtu.geo.boundary import boundary_from_lonlat, transform_geometry

    poly = city_polygon(city.id)
    if poly is None:
        return None
    geom = boundary_from_lonlat(poly.geometry, crs, source=f"qamtu/{CITIES_RESOURCE} ({city.id})")
    centre = transform_geometry(Point(poly.admin_centre_lon, poly.admin_centre_lat), "EPSG:4326", crs)
    centre_xy = (float(centre.x), float(centre.y))
    info: dict[str, Any] = {
        "boundary_source": f"qamtu/{CITIES_RESOURCE} (KATO {poly.kato})",
        "boundary_attribution": BOUNDARY_ATTRIBUTION,
        "admin_area_km2": round(poly.area_km2, 1),
        "admin_centre_lon": poly.admin_centre_lon,
        "admin_centre_lat": poly.admin_centre_lat,
    }
    if city.area_km2 is not None and poly.area_km2 > CUT_RATIO * city.area_km2:
        cut = settlement_cut(geom, centre_xy, city.area_km2)
        info["settlement_cut"] = True
        description = (
            f"approximate: settlement part of the city administration's real polygon ({poly.area_km2:,.0f} km2, "
            f"{BOUNDARY_ATTRIBUTION}): the polygon cut to the disc around the administrative centre "
            f"({poly.admin_centre_name}) that leaves the catalogue's {city.area_km2:g} km2"
        )
        return DefaultBoundary(cut, True, description, centre_xy, info)
    info["settlement_cut"] = False
    description = f"real polygon of the city ({poly.area_km2:,.1f} km2 geodesic, KATO {poly.kato}; {BOUNDARY_ATTRIBUTION})"
    return DefaultBoundary(geom, False, description, centre_xy, info)


def default_dem(city_id: str) -> tuple[list[Any], str, str] | None:
    """The shipped DEM of a city: ``(paths, kind, attribution)`` with kind ``"srtm3"`` or ``"gebco"``, or ``None``.

    The paths are :mod:`importlib.resources` traversables turned into file paths (the package is installed as
    files, as setuptools does).
    """
    entry = _DEMS.get(str(city_id).strip().lower())
    if entry is None:
        return None
    kind, names = entry
    folder = SRTM_DIR if kind == "srtm3" else GEBCO_DIR
    base = resources.files("qamtu").joinpath(folder)
    paths = [base.joinpath(n) for n in names]
    for p in paths:
        if not p.is_file():
            raise DataFileError(f"qamtu/{folder}/{p.name}: shipped DEM missing from the installation")
    return [str(p) for p in paths], kind, SRTM_ATTRIBUTION if kind == "srtm3" else GEBCO_ATTRIBUTION


def district_masks(area) -> list[tuple[dict[str, Any], Any]]:
    """Pixel masks of the shipped districts of the area's city on its grid (pixel centre inside the district and
    inside the area's mask): a list of ``(properties, mask)``, empty for a city without districts."""
    from rasterio.features import geometry_mask

    from qamtu.geo.boundary import transform_geometry

    out = []
    for d in city_districts(area.city.id):
        geom = transform_geometry(d["geometry"], "EPSG:4326", area.crs)
        m = geometry_mask([geom], out_shape=area.shape, transform=area.transform, invert=True) & area.mask
        out.append(({k: v for k, v in d.items() if k != "geometry"}, m))
    return out
