"""Population on a study-area grid: a user's raster reprojected with its total conserved, or a monocentric model.

Two sources, both giving people per pixel (float64, 0 outside the boundary):

* :func:`population_from_raster`: a GeoTIFF (WorldPop, GHSL, ...) of people per pixel in any CRS, reprojected to
  the grid. People per pixel are turned into densities (people/m2, with the true pixel area: geodesic for a
  geographic CRS), resampled with ``Resampling.average`` and turned back into people per target pixel; the result
  is then rescaled so that the total inside the boundary equals the raster's own total inside the boundary (source
  pixels whose centre lies inside). The rescale factor is reported; for a smooth raster it is close to 1.
* :func:`monocentric_population`: the negative-exponential density of Clark (1951), ``D(r) = D0 exp(-b r)``,
  centred on the catalogue centre, with the gradient ``b = edge_decay / R`` chosen from the city's size
  (``R = sqrt(A / pi)`` the radius of the disc of the city's area ``A``), scaled so that the people inside the
  boundary sum to the catalogue population. With the default ``edge_decay = 3`` the density at ``R`` is
  ``exp(-3) = 5 %`` of the central density, and the central density is about 5.6 times the mean.

References
----------
.. [1] C. Clark, "Urban population densities", Journal of the Royal Statistical Society A 114(4), 490-496, 1951.
.. [2] A. Bertaud and S. Malpezzi, "The spatial distribution of population in 48 world cities: implications for
   economies in transition", 2003 (negative-exponential fits for many cities; cities planned without land markets,
   such as Soviet ones, can depart from the model, so a measured raster is better wherever one exists).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from affine import Affine
from shapely.geometry.base import BaseGeometry

from qamtu.errors import DataFileError, InvalidInputError

if TYPE_CHECKING:  # pragma: no cover
    import pyproj
    import rasterio.crs

#: Most source pixels read from a population raster over one study area (64 M float64 values are 512 MB); a
#: finer raster is refused with a message saying to resample it.
MAX_RASTER_PIXELS = 64_000_000

__all__ = ["MAX_RASTER_PIXELS", "MonocentricModel", "monocentric_population", "population_from_raster", "pixel_areas_m2"]


@dataclass(frozen=True)
class MonocentricModel:
    """Negative-exponential (Clark 1951) population density around the city centre.

    Attributes
    ----------
    edge_decay : float
        ``b * R``: the density falls by ``exp(edge_decay)`` from the centre to the radius ``R`` of the disc of the
        city's area. Default 3.0 (edge density 5 % of the centre); valid range (0, 10]. Larger values concentrate
        people in the centre.

    References
    ----------
    C. Clark, "Urban population densities", J. Royal Statistical Society A 114(4), 490-496, 1951.
    """

    edge_decay: float = 3.0

    def __post_init__(self) -> None:
        if not (0.0 < self.edge_decay <= 10.0):
            raise InvalidInputError(f"edge_decay = {self.edge_decay!r}: must be in (0, 10]")

    def gradient_per_m(self, radius_m: float) -> float:
        """Density gradient ``b`` in 1/m for a city of equivalent radius ``radius_m`` (m)."""
        return self.edge_decay / radius_m

    def describe(self) -> str:
        return (
            "monocentric negative-exponential density model (Clark 1951), D(r) = D0 exp(-b r), "
            f"b = {self.edge_decay:g} / R with R the radius of the disc of the city's area, "
            "scaled to the catalogue population"
        )


def monocentric_population(
    x_m: np.ndarray,
    y_m: np.ndarray,
    mask: np.ndarray,
    centre_xy_m: tuple[float, float],
    radius_m: float,
    total: float,
    model: MonocentricModel | None = None,
) -> np.ndarray:
    """People per pixel from the monocentric model, summing to ``total`` over the pixels in ``mask``.

    Parameters
    ----------
    x_m, y_m : ndarray, shape (n_rows, n_cols)
        Pixel centres, metres.
    mask : ndarray of bool, shape (n_rows, n_cols)
        Pixels inside the boundary; the result is 0 outside.
    centre_xy_m : (float, float)
        Centre of the city, metres.
    radius_m : float
        Equivalent radius ``sqrt(A / pi)`` of the city's area, m, > 0.
    total : float
        People to distribute, >= 0.
    model : MonocentricModel, optional

    Returns
    -------
    ndarray of float64, shape (n_rows, n_cols): people per pixel, >= 0, ``sum == total`` to rounding.
    """
    model = model or MonocentricModel()
    if not (radius_m > 0 and math.isfinite(radius_m)):
        raise InvalidInputError(f"radius_m = {radius_m!r}: must be a positive finite number of metres")
    if not (total >= 0 and math.isfinite(total)):
        raise InvalidInputError(f"total = {total!r}: must be a non-negative number of people")
    if not mask.any():
        raise InvalidInputError("the study area has no pixel inside the boundary; use a finer resolution")
    r = np.hypot(x_m - centre_xy_m[0], y_m - centre_xy_m[1])
    b = model.gradient_per_m(radius_m)
    # exp(-b (r - r_min)) keeps the weights in (0, 1] even far from the centre (no underflow to all zeros).
    r_min = float(r[mask].min())
    weight = np.where(mask, np.exp(-b * (r - r_min)), 0.0)
    return weight * (total / weight.sum())


def pixel_areas_m2(crs: str | pyproj.CRS | rasterio.crs.CRS, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """Area of each pixel of a north-up raster in m2, shape ``shape``.

    Geographic CRS: geodesic area on the CRS's ellipsoid (pyproj ``Geod``), one value per row. Projected CRS:
    ``|a e - b d|`` times the square of the linear unit (the map projection's scale distortion is ignored: the
    conservation step in :func:`population_from_raster` absorbs a uniform bias).
    """
    from pyproj import CRS, Geod

    crs = CRS.from_user_input(crs)
    n_rows, n_cols = shape
    if crs.is_geographic:
        geod = crs.get_geod() or Geod(ellps="WGS84")
        if transform.b != 0 or transform.d != 0:
            raise DataFileError("rotated geographic rasters are not supported; warp the raster north-up first")
        dlon = abs(transform.a)
        rows = np.arange(n_rows + 1)
        lat_edges = transform.f + transform.e * rows
        areas = np.empty(n_rows)
        for i in range(n_rows):
            lat1, lat2 = lat_edges[i], lat_edges[i + 1]
            area, _ = geod.polygon_area_perimeter([0.0, dlon, dlon, 0.0], [lat1, lat1, lat2, lat2])
            areas[i] = abs(area)
        return np.repeat(areas[:, None], n_cols, axis=1)
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    area = abs(transform.a * transform.e - transform.b * transform.d) * unit**2
    return np.full(shape, area)


def population_from_raster(
    path: str | os.PathLike[str],
    crs: str,
    transform: Affine,
    shape: tuple[int, int],
    mask: np.ndarray,
    boundary: BaseGeometry,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Reproject a population raster (people per pixel, any CRS) onto a grid, conserving the total.

    Parameters
    ----------
    path : path-like
        GeoTIFF (or any raster GDAL reads) whose band 1 is people per pixel (WorldPop "ppp", GHSL POP); nodata
        and NaN count as 0; negative values are an error.
    crs, transform, shape : the target grid (projected CRS in metres, north-up affine transform, (rows, cols)).
    mask : ndarray of bool, shape ``shape``: target pixels inside the boundary.
    boundary : shapely geometry in ``crs``: the boundary whose total is conserved.

    Returns
    -------
    population : ndarray of float64, shape ``shape``: people per target pixel, 0 outside ``mask``.
    info : dict
        ``source`` (path), ``source_crs``, ``source_resolution``, ``source_total_in_boundary`` (people in source
        pixels whose centre lies inside the boundary), ``rescale_factor`` (conserved total / resampled total),
        ``uncovered_share`` (share of ``mask`` pixels the raster does not cover).

    Raises
    ------
    DataFileError
        Missing, empty or unreadable file; a raster without CRS; no overlap with the area; negative counts; no
        population inside the boundary.
    """
    from rasterio.errors import RasterioError
    from rasterio.features import geometry_mask
    from rasterio.warp import Resampling, reproject

    from qamtu.geo.boundary import transform_geometry
    from qamtu.geo.rasters import open_raster, window_over

    source = str(Path(path))
    src = open_raster(path, "population raster", "a GeoTIFF of people per pixel",
                      "population rasters must be georeferenced (e.g. WorldPop is EPSG:4326)")
    with src:
        n_rows, n_cols = shape
        left, top = transform.c, transform.f
        right, bottom = transform.c + transform.a * n_cols, transform.f + transform.e * n_rows
        win = window_over(src, crs, (left, bottom, right, top), source)
        if int(win.width) * int(win.height) > MAX_RASTER_PIXELS:
            raise DataFileError(
                f"{source}: the raster has {int(win.width) * int(win.height)} pixels over the study area; the most "
                f"read is {MAX_RASTER_PIXELS} (resample it to a coarser grid, e.g. gdalwarp -tr)")
        try:
            band = src.read(1, window=win, masked=True)
        except (RasterioError, OSError) as exc:
            raise DataFileError(f"{source}: cannot read the raster's pixels ({exc})") from None
        t = src.transform
        src_transform = Affine(
            t.a, t.b, t.c + t.a * win.col_off + t.b * win.row_off, t.d, t.e, t.f + t.d * win.col_off + t.e * win.row_off
        )
        src_crs = src.crs
        src_res = src.res
    counts = np.ma.filled(band.astype(np.float64), 0.0)
    counts[~np.isfinite(counts)] = 0.0
    if (counts < 0).any():
        r, c = np.argwhere(counts < 0)[0]
        raise DataFileError(
            f"{source}: negative population {counts[r, c]:g} at pixel (row {int(r + win.row_off) + 1}, col "
            f"{int(c + win.col_off) + 1}); people per pixel must be >= 0 (declare nodata for fill values)"
        )
    density = counts / pixel_areas_m2(src_crs, src_transform, counts.shape)  # people / m2
    dst = np.full(shape, np.nan)
    reproject(
        source=density,
        destination=dst,
        src_transform=src_transform,
        src_crs=src_crs,
        dst_transform=transform,
        dst_crs=crs,
        resampling=Resampling.average,
        src_nodata=None,
        dst_nodata=np.nan,
    )
    uncovered = mask & ~np.isfinite(dst)
    uncovered_share = float(uncovered.sum() / max(mask.sum(), 1))
    pixel_area_m2 = abs(transform.a * transform.e)
    population = np.where(mask & np.isfinite(dst), dst, 0.0) * pixel_area_m2

    # The conserved quantity: people in source pixels whose centre lies inside the boundary.
    boundary_src = transform_geometry(boundary, crs, src_crs)
    inside_src = geometry_mask([boundary_src], out_shape=counts.shape, transform=src_transform, invert=True)
    source_total = float(counts[inside_src].sum())
    resampled_total = float(population.sum())
    if source_total <= 0 or resampled_total <= 0:
        raise DataFileError(f"{source}: the raster has no population inside the boundary")
    factor = source_total / resampled_total
    population *= factor
    if uncovered_share > 0.01:
        warnings.warn(
            f"{source}: the raster does not cover {uncovered_share:.1%} of the study area; those pixels get 0 people",
            stacklevel=2,
        )
    info = {
        "source": source,
        "source_crs": src_crs.to_string(),
        "source_resolution": [float(v) for v in src_res],
        "source_total_in_boundary": source_total,
        "rescale_factor": factor,
        "uncovered_share": uncovered_share,
    }
    return population, info
