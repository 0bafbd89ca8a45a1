"""Study areas: a city's UTM grid, boundary, population and environment class per pixel.

A :class:`StudyArea` is what the engine evaluates: a north-up grid in the city's own UTM zone, aligned to the
resolution, with ``mask`` (pixel centre inside the boundary), ``population`` (people per pixel, 0 outside) and
``env_class`` (codes into :data:`ENV_CLASSES`, chosen from population density by :class:`EnvThresholds`).
Build one with :func:`make_study_area`.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from affine import Affine
from shapely.geometry.base import BaseGeometry

from qamtu.errors import InvalidInputError
from qamtu.geo.catalogue import City, get_city
from qamtu.geo.classes import ENV_CLASSES, ENV_CODES  # re-exported here; defined in their one home

if TYPE_CHECKING:  # pragma: no cover
    from qamtu.geo.dem import Terrain
    from qamtu.geo.population import MonocentricModel

__all__ = [
    "ENV_CLASSES",
    "ENV_CODES",
    "EnvThresholds",
    "StudyArea",
    "make_study_area",
    "utm_crs_for",
    "MAX_PIXELS",
    "DISC_BOUNDARY",
    "population_centre",
]

#: Largest grid accepted (rows x cols); 64 M pixels of float64 is 512 MB per layer.
MAX_PIXELS = 64_000_000


def utm_crs_for(lon: float, lat: float) -> str:
    """The WGS 84 / UTM zone CRS of a point: ``"EPSG:326zz"`` north of the equator, ``"EPSG:327zz"`` south.

    Zone ``zz = floor((lon + 180) / 6) + 1`` (1..60). The Norway/Svalbard exceptions do not apply to Kazakhstan
    (zones 39N-45N, EPSG:32639-32645) and are not implemented.

    Examples
    --------
    >>> utm_crs_for(76.915, 43.24)  # Almaty
    'EPSG:32643'
    """
    if not (-180.0 <= lon <= 180.0) or not (-90.0 <= lat <= 90.0):
        raise InvalidInputError(f"(lon, lat) = ({lon}, {lat}): must be WGS 84 degrees, lon in [-180, 180], lat in [-90, 90]")
    zone = min(int(math.floor((lon + 180.0) / 6.0)) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


@dataclass(frozen=True)
class EnvThresholds:
    """Population-density thresholds (people/km2) that set a pixel's environment class.

    A pixel is ``dense_urban`` if its density >= ``dense_urban_per_km2``, else ``urban`` if >= ``urban_per_km2``,
    else ``suburban`` if >= ``suburban_per_km2``, else ``rural``. The defaults are planning conventions, not a
    standard: dense urban 10,000, urban 3,000, suburban 500 people/km2, chosen for this project (roughly: blocks of
    mid/high-rise flats, mixed mid-rise districts, districts of detached houses); change them to local practice.

    ``smoothing_m`` (>= 0) averages density over a square window of that side before classifying, so a park or
    a single empty pixel in a raster does not flip the class; 0 (default) classifies each pixel.
    """

    dense_urban_per_km2: float = 10_000.0
    urban_per_km2: float = 3_000.0
    suburban_per_km2: float = 500.0
    smoothing_m: float = 0.0

    def __post_init__(self) -> None:
        values = (self.dense_urban_per_km2, self.urban_per_km2, self.suburban_per_km2)
        if not all(math.isfinite(v) and v >= 0 for v in values) or not (values[0] > values[1] > values[2]):
            raise InvalidInputError(
                f"env thresholds {values} people/km2: must be finite, >= 0 and strictly decreasing "
                "(dense urban > urban > suburban)"
            )
        if not (math.isfinite(self.smoothing_m) and self.smoothing_m >= 0):
            raise InvalidInputError(f"smoothing_m = {self.smoothing_m!r}: must be >= 0 m")

    def classify(self, density_per_km2: np.ndarray) -> np.ndarray:
        """Environment codes (int8, 0..3, see :data:`ENV_CLASSES`) for densities in people/km2 (any shape)."""
        d = np.asarray(density_per_km2, dtype=np.float64)
        codes = np.full(d.shape, ENV_CODES["rural"], dtype=np.int8)
        codes[d >= self.suburban_per_km2] = ENV_CODES["suburban"]
        codes[d >= self.urban_per_km2] = ENV_CODES["urban"]
        codes[d >= self.dense_urban_per_km2] = ENV_CODES["dense_urban"]
        return codes

    def to_dict(self) -> dict[str, float]:
        return {
            "dense_urban_per_km2": self.dense_urban_per_km2,
            "urban_per_km2": self.urban_per_km2,
            "suburban_per_km2": self.suburban_per_km2,
            "smoothing_m": self.smoothing_m,
        }


@functools.lru_cache(maxsize=64)
def _transformer(src: str, dst: str):  # type: ignore[no-untyped-def]
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


@dataclass(eq=False)
class StudyArea:
    """A city's study area: grid, boundary, population and environment class.

    Attributes
    ----------
    city : City
    crs : str
        Projected CRS of the grid, the city's UTM zone, e.g. ``"EPSG:32643"``; units metres.
    boundary : shapely (Multi)Polygon in ``crs``.
    boundary_is_approximation : bool
        True when the boundary is the catalogue's disc, or the settlement cut of an oversized administration's
        polygon, rather than a real boundary: every output says so.
    resolution_m : float
        Pixel side, m.
    transform : affine.Affine
        North-up transform from (col, row) to (x, y) of the pixel's upper-left corner; origin a multiple of
        ``resolution_m``.
    shape : (int, int)
        (n_rows, n_cols).
    mask : ndarray of bool, shape ``shape``
        Pixel centre inside ``boundary``.
    population : ndarray of float64, shape ``shape``
        People per pixel, 0 outside ``mask``.
    env_class : ndarray of int8, shape ``shape``
        Codes into :data:`ENV_CLASSES`; pixels outside the mask are classified from their (zero) density.
    population_source : str
        What the population is: the user's raster or the monocentric model (with the catalogue figure and date).
    population_is_model : bool
        True when the population comes from the monocentric model, not from data.
    env_thresholds : EnvThresholds
    terrain : qamtu.geo.dem.Terrain or None
        Ground heights around the area (:func:`qamtu.geo.dem.read_terrain`); ``None``: flat.
    ground_m : ndarray of float64, shape ``shape``, or None
        Ground height under each pixel centre, m (``None`` when flat).
    clutter : ndarray of bool, shape ``shape``, or None
        With a land-cover raster: the terminal stands in clutter (trees, buildings; :mod:`qamtu.geo.landcover`).
    landcover_source : str or None
        The land-cover raster that set ``env_class`` (``None``: density classes).
    info : dict
        Provenance details (raster rescale factor, boundary file, ...), JSON-serialisable.
    """

    city: City
    crs: str
    boundary: BaseGeometry
    boundary_is_approximation: bool
    resolution_m: float
    transform: Affine
    shape: tuple[int, int]
    mask: np.ndarray
    population: np.ndarray
    env_class: np.ndarray
    population_source: str = ""
    population_is_model: bool = True
    env_thresholds: EnvThresholds = field(default_factory=EnvThresholds)
    info: dict[str, Any] = field(default_factory=dict)
    terrain: Terrain | None = None
    ground_m: np.ndarray | None = None
    clutter: np.ndarray | None = None
    landcover_source: str | None = None

    @property
    def terrain_source(self) -> str | None:
        """What the terrain is (for ``kpis.json`` key ``terrain``), or ``None`` when the area is flat."""
        return None if self.terrain is None else self.terrain.source

    # -- geometry -------------------------------------------------------------------------------------------------
    @property
    def pixel_area_km2(self) -> float:
        """Area of one pixel, km2."""
        return self.resolution_m**2 / 1e6

    @property
    def area_km2(self) -> float:
        """Area of the pixels inside the boundary, km2 (the denominator of territory shares)."""
        return float(self.mask.sum()) * self.pixel_area_km2

    @property
    def boundary_area_km2(self) -> float:
        """Area of the boundary polygon itself, km2."""
        return float(self.boundary.area) / 1e6

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Grid bounds (left, bottom, right, top), m."""
        n_rows, n_cols = self.shape
        t = self.transform
        return (t.c, t.f + t.e * n_rows, t.c + t.a * n_cols, t.f)

    @property
    def centre_xy(self) -> tuple[float, float]:
        """The catalogue centre of the city in the grid's CRS, m."""
        x, y = self.from_lonlat(self.city.lon, self.city.lat)
        return float(x), float(y)

    def pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates ``(x_m, y_m)``, each float64 of shape ``shape``."""
        n_rows, n_cols = self.shape
        t = self.transform
        xs = t.c + t.a * (np.arange(n_cols) + 0.5)
        ys = t.f + t.e * (np.arange(n_rows) + 0.5)
        x, y = np.meshgrid(xs, ys)
        return x, y

    def rowcol(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices (int64) of the pixels containing points ``(x_m, y_m)`` (may fall outside)."""
        t = self.transform
        col = np.floor((np.asarray(x_m, dtype=float) - t.c) / t.a).astype(np.int64)
        row = np.floor((np.asarray(y_m, dtype=float) - t.f) / t.e).astype(np.int64)
        return row, col

    def to_lonlat(self, x_m: Any, y_m: Any) -> tuple[Any, Any]:
        """Grid coordinates (m) to WGS 84 ``(lon, lat)`` degrees; scalars or arrays."""
        return _transformer(self.crs, "EPSG:4326").transform(x_m, y_m)

    def from_lonlat(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        """WGS 84 ``(lon, lat)`` degrees to grid coordinates ``(x_m, y_m)``; scalars or arrays."""
        return _transformer("EPSG:4326", self.crs).transform(lon, lat)

    # -- population -----------------------------------------------------------------------------------------------
    @property
    def population_total(self) -> float:
        """People inside the boundary."""
        return float(self.population[self.mask].sum())

    @property
    def density_per_km2(self) -> np.ndarray:
        """Population density, people/km2, shape ``shape``."""
        return self.population / self.pixel_area_km2

    def env_share(self) -> dict[str, float]:
        """Share of the territory inside the boundary in each environment class."""
        n = max(int(self.mask.sum()), 1)
        return {name: float(((self.env_class == code) & self.mask).sum() / n) for code, name in enumerate(ENV_CLASSES)}

    def assumptions(self) -> dict[str, Any]:
        """What the area rests on, for every output (KPI files, map titles): JSON-serialisable."""
        c = self.city
        if "boundary_description" in self.info:
            boundary = self.info["boundary_description"]
        elif self.boundary_is_approximation:
            boundary = (
                f"approximate: disc of {c.area_km2:g} km2 (catalogue area, scope {c.area_scope}) around the "
                "catalogue centre; not a real city boundary"
            )
        else:
            boundary = (
                f"from file {self.info['boundary_file']}" if "boundary_file" in self.info
                else "given by the caller as a geometry"
            )
        return {
            "city": c.id,
            "city_name": c.name_en,
            "crs": self.crs,
            "resolution_m": self.resolution_m,
            "boundary": boundary,
            "boundary_is_approximation": self.boundary_is_approximation,
            "catalogue_area_km2": c.area_km2,
            "catalogue_population": c.population,
            "catalogue_population_date": c.population_date.isoformat(),
            "population_source": self.population_source,
            "population_is_model": self.population_is_model,
            "env_thresholds_per_km2": self.env_thresholds.to_dict(),
            "terrain": self.terrain_source,
            "landcover": self.landcover_source,
            **{f"info_{k}": v for k, v in self.info.items() if k != "boundary_description"},
        }


def _aligned_grid(geom: BaseGeometry, resolution_m: float) -> tuple[Affine, tuple[int, int]]:
    minx, miny, maxx, maxy = geom.bounds
    left = math.floor(minx / resolution_m) * resolution_m
    bottom = math.floor(miny / resolution_m) * resolution_m
    right = math.ceil(maxx / resolution_m) * resolution_m
    top = math.ceil(maxy / resolution_m) * resolution_m
    n_cols = max(int(round((right - left) / resolution_m)), 1)
    n_rows = max(int(round((top - bottom) / resolution_m)), 1)
    return Affine(resolution_m, 0.0, left, 0.0, -resolution_m, top), (n_rows, n_cols)


def _smooth(density: np.ndarray, window_px: int) -> np.ndarray:
    from scipy.ndimage import uniform_filter

    return uniform_filter(density, size=window_px, mode="constant", cval=0.0)


#: ``boundary="disc"`` asks for the catalogue's disc (the approximation used before real polygons shipped).
DISC_BOUNDARY = "disc"


def population_centre(city: City, crs: str, geom: BaseGeometry, catalogue_xy: tuple[float, float]):
    """Where the modelled population is centred: the shipped administrative centre of the city when it lies inside
    (or within 1 km of) the boundary, else the catalogue centre. Returns ``((x_m, y_m), description)``."""
    from shapely.geometry import Point

    from qamtu.geo.shipped import city_polygon

    poly = city_polygon(city.id)
    if poly is not None:
        x, y = _transformer("EPSG:4326", crs).transform(poly.admin_centre_lon, poly.admin_centre_lat)
        if geom.distance(Point(x, y)) <= 1000.0:
            return (float(x), float(y)), f"administrative centre ({poly.admin_centre_name})"
    return catalogue_xy, "catalogue centre"


def study_area_options(dem: Any = None, landcover: Any = None) -> dict[str, Any]:
    """``make_study_area`` keyword arguments for the user's ``--dem`` / ``--landcover`` (omitted when ``None``, so
    the defaults apply: the shipped DEM or flat; density classes)."""
    out: dict[str, Any] = {}
    if dem is not None:
        out["dem"] = dem
    if landcover is not None:
        out["landcover"] = landcover
    return out


def _terrain_for(city: City, crs: str, bounds: tuple[float, float, float, float], dem: Any) -> Terrain | None:
    """The terrain of a study area (see ``make_study_area``'s ``dem``)."""
    from qamtu.geo.dem import read_terrain
    from qamtu.geo.shipped import default_dem

    if dem is False or (isinstance(dem, str) and dem.strip().lower() == "flat"):
        return None
    if dem is not None:
        return read_terrain(dem, crs, bounds)
    shipped = default_dem(city.id)
    if shipped is None:
        return None
    paths, kind, attribution = shipped
    label = ("SRTM3 v2.1 3 arc-second (shipped)" if kind == "srtm3" else "GEBCO 2023 15 arc-second (shipped)")
    return read_terrain(paths, crs, bounds, attribution=attribution, label=label)


def make_study_area(
    city: City | str,
    resolution_m: float = 25.0,
    boundary: str | os.PathLike[str] | BaseGeometry | Any | None = None,
    population: str | os.PathLike[str] | np.ndarray | None = None,
    env_thresholds: EnvThresholds | None = None,
    population_model: MonocentricModel | None = None,
    dem: Any = None,
    landcover: str | os.PathLike[str] | None = None,
) -> StudyArea:
    """Build the study area of a city.

    Parameters
    ----------
    city : City or str
        A catalogue city or its id.
    resolution_m : float
        Pixel side in metres, in [1, 5000]. Default 25 m.
    boundary : path, shapely geometry, GeoDataFrame/GeoSeries, or None
        The city boundary: a vector file (GeoJSON/GeoPackage/shapefile; reprojected; features unioned), a shapely
        (Multi)Polygon in WGS 84 lon/lat, or a GeoPandas object with a CRS. ``None`` (default): the city's real
        polygon shipped with qamtu (:func:`qamtu.geo.shipped.default_boundary`), or its settlement cut where the
        polygon is a city administration much larger than the catalogue's area (flagged
        ``boundary_is_approximation=True``, the administration's area in ``info["admin_area_km2"]``). ``"disc"``:
        a disc of the catalogue's area around the catalogue centre, flagged as an approximation.
    population : path, ndarray or None
        A population raster (people per pixel, any CRS; reprojected with the total inside the boundary
        conserved), an array of people per pixel already on this grid (shape must match), or ``None``
        (default): the monocentric model (:class:`~qamtu.geo.population.MonocentricModel`) scaled to the
        catalogue population.
    env_thresholds : EnvThresholds, optional
    population_model : MonocentricModel, optional
        Parameters of the default model.
    dem : path, list of paths, "flat"/False, or None
        Terrain: a DEM (GeoTIFF in any CRS, SRTM ``.hgt``/``.hgt.zip`` tiles; :func:`qamtu.geo.dem.read_terrain`),
        ``"flat"`` (or ``False``) for flat ground, or ``None`` (default): the DEM shipped with qamtu where it covers
        the city (SRTM3 for Almaty, GEBCO 15" for Shymkent, Taraz, Turkistan, Konaev), else flat.
    landcover : path or None
        A classified land-cover raster (ESA WorldCover legend, any CRS; :func:`qamtu.geo.landcover.read_landcover`)
        that sets ``env_class`` instead of the density thresholds and marks terminals in clutter. ``None``
        (default): density classes.

    Raises
    ------
    InvalidInputError
        Unknown city, resolution out of range, no area in the catalogue and no boundary (pass ``--boundary``),
        grid too large, a boundary far from the city.
    DataFileError
        Unreadable or empty boundary/population files, files without CRS.
    """
    from rasterio.features import geometry_mask

    if isinstance(city, str):
        city = get_city(city)
    try:
        resolution_m = float(resolution_m)
    except (TypeError, ValueError):
        raise InvalidInputError(f"resolution_m = {resolution_m!r}: must be a number of metres") from None
    if not (1.0 <= resolution_m <= 5000.0):
        raise InvalidInputError(f"resolution_m = {resolution_m:g}: must be in [1, 5000] m")
    thresholds = env_thresholds or EnvThresholds()
    crs = utm_crs_for(city.lon, city.lat)
    cx, cy = _transformer("EPSG:4326", crs).transform(city.lon, city.lat)
    info: dict[str, Any] = {}

    geom, approx = _resolve_boundary(city, boundary, crs, (cx, cy), info)

    transform, shape = _aligned_grid(geom, resolution_m)
    if shape[0] * shape[1] > MAX_PIXELS:
        raise InvalidInputError(
            f"a {shape[0]} x {shape[1]} grid at {resolution_m:g} m exceeds {MAX_PIXELS:,} pixels; "
            "use a coarser --resolution-m"
        )
    mask = geometry_mask([geom], out_shape=shape, transform=transform, invert=True, all_touched=False)
    if not mask.any():
        raise InvalidInputError(
            f"no pixel centre at {resolution_m:g} m falls inside the boundary of {city.name_en} "
            f"({geom.area / 1e6:.3g} km2); use a finer resolution"
        )

    area = StudyArea(
        city=city,
        crs=crs,
        boundary=geom,
        boundary_is_approximation=approx,
        resolution_m=resolution_m,
        transform=transform,
        shape=shape,
        mask=mask,
        population=np.zeros(shape),
        env_class=np.zeros(shape, dtype=np.int8),
        env_thresholds=thresholds,
        info=info,
    )

    pop = _population_for(area, population, population_model)
    area.terrain = _terrain_for(city, crs, area.bounds, dem)
    if area.terrain is not None:
        x, y = area.pixel_centres()
        area.ground_m = area.terrain.height_at(x, y)
    area.population = pop
    density = area.density_per_km2
    if thresholds.smoothing_m > 0:
        window_px = max(int(round(thresholds.smoothing_m / resolution_m)), 1)
        density = _smooth(density, window_px)
    area.env_class = thresholds.classify(density)
    if landcover is not None:
        from qamtu.geo.landcover import read_landcover

        lc = read_landcover(landcover, crs, transform, shape, mask)
        area.env_class = lc.env_class
        area.clutter = lc.clutter
        area.landcover_source = lc.source
        area.info.update({f"landcover_{k}": v for k, v in lc.info.items() if k != "source"})
    return area


def _resolve_boundary(
    city: City, boundary: Any, crs: str, centre_xy: tuple[float, float], info: dict[str, Any]
) -> tuple[BaseGeometry, bool]:
    """The boundary polygon in ``crs`` and whether it is an approximation; records its kind in ``info``."""
    from qamtu.geo.boundary import boundary_from_lonlat, disc_boundary, read_boundary
    from qamtu.geo.shipped import default_boundary

    cx, cy = centre_xy
    shipped = default_boundary(city, crs) if boundary is None else None
    if shipped is not None:
        geom = shipped.geometry
        approx = shipped.is_approximation
        info.update(shipped.info)
        info["boundary_description"] = shipped.description
        info["boundary_kind"] = "settlement_cut" if approx else "shipped"
    elif boundary is None or (isinstance(boundary, str) and boundary.strip().lower() == DISC_BOUNDARY):
        if city.area_km2 is None:
            raise InvalidInputError(
                f"city {city.id!r} has no area in the catalogue, so no default boundary can be drawn; "
                "pass a boundary file (--boundary FILE: GeoJSON, GeoPackage or shapefile)"
            )
        geom = disc_boundary(cx, cy, city.area_km2)
        approx = True
        info["boundary_kind"] = "disc"
    elif isinstance(boundary, BaseGeometry):
        geom = boundary_from_lonlat(boundary, crs)
        approx = False
        info["boundary_kind"] = "given"
    elif hasattr(boundary, "to_crs") and hasattr(boundary, "crs"):  # GeoDataFrame / GeoSeries
        import shapely

        if boundary.crs is None:
            raise InvalidInputError("the boundary GeoDataFrame has no CRS; set one (e.g. EPSG:4326)")
        geom = shapely.union_all(list(boundary.to_crs(crs).geometry))
        if geom.is_empty or geom.area <= 0:
            raise InvalidInputError("the boundary GeoDataFrame has no polygon area")
        approx = False
        info["boundary_kind"] = "given"
    else:
        geom = read_boundary(boundary, crs)
        info["boundary_file"] = str(boundary)
        info["boundary_kind"] = "given"
        approx = False

    if not approx and shipped is None:
        from shapely.geometry import Point

        distance_m = geom.distance(Point(cx, cy))
        if distance_m > 30_000.0:
            raise InvalidInputError(
                f"the boundary lies {distance_m / 1000:.0f} km from the centre of {city.name_en}: wrong file, "
                "wrong city, or a wrong CRS in the file"
            )

    return geom, approx


def _population_for(
    area: StudyArea, population: str | os.PathLike[str] | np.ndarray | None, population_model: MonocentricModel | None
) -> np.ndarray:
    """People per pixel on the area's grid (model, array or raster); records the source on ``area``."""
    from qamtu.geo.population import MonocentricModel, monocentric_population, population_from_raster

    city, crs, geom, mask, shape, transform = area.city, area.crs, area.boundary, area.mask, area.shape, area.transform
    cx, cy = _transformer("EPSG:4326", crs).transform(city.lon, city.lat)
    if population is None:
        model = population_model or MonocentricModel()
        x, y = area.pixel_centres()
        radius_m = math.sqrt(geom.area / math.pi)
        centre, centre_name = population_centre(city, crs, geom, (cx, cy))
        pop = monocentric_population(x, y, mask, centre, radius_m, float(city.population), model)
        area.population_is_model = True
        area.population_source = (
            f"model: {model.describe()} ({city.population:,} people at {city.population_date.isoformat()}, "
            f"equivalent radius {radius_m / 1000:.2f} km, centred on the {centre_name})"
        )
        area.info["population_model_edge_decay"] = model.edge_decay
        area.info["population_centre_xy_m"] = [float(centre[0]), float(centre[1])]
    elif isinstance(population, np.ndarray):
        if population.shape != shape:
            raise InvalidInputError(f"population array has shape {population.shape}; the grid is {shape}")
        if not np.all(np.isfinite(population)) or (population < 0).any():
            raise InvalidInputError("population array must be finite and >= 0 people per pixel")
        pop = np.where(mask, population.astype(np.float64), 0.0)
        area.population_is_model = False
        area.population_source = "array given by the caller (people per pixel on this grid)"
    else:
        pop, raster_info = population_from_raster(population, crs, transform, shape, mask, geom)
        area.population_is_model = False
        area.population_source = (
            f"raster {raster_info['source']} ({raster_info['source_crs']}), reprojected with its total inside the "
            f"boundary conserved: {raster_info['source_total_in_boundary']:,.0f} people"
        )
        area.info.update({f"population_raster_{k}": v for k, v in raster_info.items()})
        ratio = raster_info["source_total_in_boundary"] / city.population
        if not (0.2 <= ratio <= 5.0):
            warnings.warn(
                f"the population raster has {raster_info['source_total_in_boundary']:,.0f} people inside the "
                f"boundary, {ratio:.2f} x the catalogue's {city.population_label}; check the raster's units",
                stacklevel=3,
            )
    return pop
