"""qamtu.geo: the regional-centre catalogue, study areas (CRS, grid, boundary, population, environment class),
site tables and the reference layout.

Public API
----------
Catalogue (:mod:`qamtu.geo.catalogue`)
    ``City`` (frozen dataclass; ``area_km2``/``elevation_m`` may be None; ``population`` with
    ``population_date``), ``load_cities() -> list[City]`` (the 20 centres, package data with sources),
    ``get_city(id)``, ``city_ids()``.
Study area (:mod:`qamtu.geo.area`)
    ``utm_crs_for(lon, lat) -> "EPSG:326zz"``; ``ENV_CLASSES = ("dense_urban", "urban", "suburban", "rural")``
    (int8 codes 0..3); ``EnvThresholds`` (people/km2); ``StudyArea`` (``city, crs, boundary,
    boundary_is_approximation, resolution_m, transform, shape, mask, population, env_class,
    population_source, population_is_model, env_thresholds, info``; ``pixel_centres()``, ``rowcol(x, y)``,
    ``to_lonlat``, ``from_lonlat``, ``area_km2`` (pixels inside), ``boundary_area_km2``, ``population_total``,
    ``density_per_km2``, ``env_share()``, ``assumptions()`` (dict for every output));
    ``make_study_area(city, resolution_m=25.0, boundary=None, population=None, env_thresholds=None,
    population_model=None)``.
Boundaries (:mod:`qamtu.geo.boundary`)
    ``read_boundary(path, crs)`` (GeoJSON/GeoPackage/shapefile, reprojected, features unioned),
    ``disc_boundary(x_m, y_m, area_km2)``.
Population (:mod:`qamtu.geo.population`)
    ``MonocentricModel(edge_decay=3.0)`` (Clark 1951 negative exponential), ``monocentric_population(...)``,
    ``population_from_raster(path, crs, transform, shape, mask, boundary) -> (people, info)`` (total inside the
    boundary conserved), ``pixel_areas_m2(crs, transform, shape)``.
Sites (:mod:`qamtu.geo.sites`)
    ``SITE_COLUMNS``, ``REQUIRED_SITE_COLUMNS``, ``SITE_STATUSES``, ``SITE_RANGES``, ``DEFAULT_ANTENNA``;
    ``read_sites(path)`` (CSV/GeoJSON, validated), ``validate_sites(df, source)``, ``project_sites(df, crs)``
    (adds ``x_m``, ``y_m``), ``check_sites_near_area(df, area)`` (wrong CRS / swapped lat-lon).
Reference layout (:mod:`qamtu.geo.layout`)
    ``hex_layout(area, isd_m=None, ...)`` (hexagonal macro grid, ISD per environment class, 3 sectors at
    30/150/270 deg, labelled), ``DEFAULT_ISD_M``, ``DEFAULT_HEIGHT_M``, ``REFERENCE_LAYOUT_LABEL``.
"""

from qamtu.geo.area import ENV_CLASSES, ENV_CODES, EnvThresholds, StudyArea, make_study_area, utm_crs_for
from qamtu.geo.catalogue import City, city_ids, get_city, load_cities
from qamtu.geo.layout import DEFAULT_ISD_M, REFERENCE_LAYOUT_LABEL, hex_layout
from qamtu.geo.sites import SITE_COLUMNS, project_sites, read_sites, validate_sites

__all__ = [
    "ENV_CLASSES",
    "ENV_CODES",
    "EnvThresholds",
    "StudyArea",
    "make_study_area",
    "utm_crs_for",
    "City",
    "city_ids",
    "get_city",
    "load_cities",
    "DEFAULT_ISD_M",
    "REFERENCE_LAYOUT_LABEL",
    "hex_layout",
    "SITE_COLUMNS",
    "project_sites",
    "read_sites",
    "validate_sites",
]
