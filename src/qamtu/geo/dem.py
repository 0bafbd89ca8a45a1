"""Digital elevation models: read a DEM (GeoTIFF in any CRS, SRTM ``.hgt``/``.hgt.zip``, the shipped GEBCO windows)
onto a north-up grid in the study area's CRS, with voids filled and flagged.

:func:`read_terrain` returns a :class:`Terrain`: ground heights (m above the geoid/MSL of the source) on a grid in
the study area's projected CRS covering the area plus a margin, at about the DEM's own resolution (10-500 m), with
bilinear resampling. :meth:`Terrain.height_at` gives the ground height under any point (bilinear; points beyond
the grid take the edge value). The engine samples path profiles from the same grid
(:mod:`qamtu.engine.terrain`).

Voids (SRTM -32768, the raster's nodata, NaN) are filled before resampling by inverse-distance interpolation from
their edges (GDAL's ``FillNodata`` through :func:`rasterio.fill.fillnodata`); the share of void cells is reported in
``Terrain.info["void_share"]`` and a warning is given above 1 %.

Errors (all :class:`qamtu.errors.DataFileError`, naming the file): missing/empty/unreadable file, a GeoTIFF without
CRS or geotransform (an unknown CRS), a DEM that does not overlap the study area or leaves part of it uncovered,
all nodata, an ``.hgt`` whose size or name is not SRTM's.
"""

from __future__ import annotations

import math
import os
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from affine import Affine

from qamtu.errors import DataFileError, InvalidInputError

__all__ = ["Terrain", "read_terrain", "read_dem_source", "dem_paths", "DemSource", "TERRAIN_MARGIN_M"]

#: Margin around the study area's grid covered by the terrain grid (sites just outside the boundary), m.
TERRAIN_MARGIN_M = 3_000.0
#: SRTM void value.
SRTM_VOID = -32768
_HGT_NAME = re.compile(r"^([NS])(\d{2})([EW])(\d{3})\.hgt(\.zip)?$", re.IGNORECASE)


@dataclass
class DemSource:
    """A DEM as read from a file, before resampling: band (float64, NaN = void), transform, CRS, provenance."""

    heights: np.ndarray
    transform: Affine
    crs: Any
    source: str


@dataclass(eq=False)
class Terrain:
    """Ground heights on a north-up grid in a projected CRS.

    Attributes
    ----------
    crs : str
    transform : affine.Affine
        (col, row) -> (x, y) of the upper-left corner; ``a`` the resolution, ``e`` its negative.
    height_m : ndarray of float64, shape (rows, cols)
        Ground height, m (above the source's vertical datum: EGM96 geoid for SRTM, MSL for GEBCO).
    source : str
        What the heights are (file names and kind), for every output's ``terrain`` key.
    attribution : str
    info : dict
        ``void_share``, ``source_crs``, ``resolution_m``, ``files``.
    """

    crs: str
    transform: Affine
    height_m: np.ndarray
    source: str
    attribution: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def resolution_m(self) -> float:
        return float(self.transform.a)

    def height_at(self, x_m, y_m) -> np.ndarray:
        """Bilinear ground height at points ``(x_m, y_m)`` of the grid's CRS (edge value beyond the grid)."""
        x = np.asarray(x_m, dtype=float)
        y = np.asarray(y_m, dtype=float)
        return _bilinear(self.height_m, self.transform, x, y)


def _bilinear(z: np.ndarray, t: Affine, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    rows, cols = z.shape
    fc = np.clip((x - t.c) / t.a - 0.5, 0.0, cols - 1.0)
    fr = np.clip((y - t.f) / t.e - 0.5, 0.0, rows - 1.0)
    c0 = np.minimum(np.floor(fc).astype(np.int64), max(cols - 2, 0))
    r0 = np.minimum(np.floor(fr).astype(np.int64), max(rows - 2, 0))
    c1 = np.minimum(c0 + 1, cols - 1)
    r1 = np.minimum(r0 + 1, rows - 1)
    wc = fc - c0
    wr = fr - r0
    return ((z[r0, c0] * (1 - wc) + z[r0, c1] * wc) * (1 - wr) + (z[r1, c0] * (1 - wc) + z[r1, c1] * wc) * wr)


def _check_file(p: Path) -> str:
    from qamtu.geo.rasters import check_input_file

    return check_input_file(p, "DEM file", "a GeoTIFF, an SRTM .hgt/.hgt.zip or a shipped .npz")


def _read_hgt(p: Path, source: str) -> DemSource:
    m = _HGT_NAME.match(p.name)
    if m is None:
        raise DataFileError(
            f"{source}: an SRTM tile must be named like N43E076.hgt or N43E076.hgt.zip (the name gives its position)"
        )
    lat0 = int(m.group(2)) * (1 if m.group(1).upper() == "N" else -1)
    lon0 = int(m.group(4)) * (1 if m.group(3).upper() == "E" else -1)
    try:
        if m.group(5):
            with zipfile.ZipFile(p) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(".hgt")]
                if len(names) != 1:
                    raise DataFileError(f"{source}: the zip must hold exactly one .hgt file, found {len(names)}")
                raw = zf.read(names[0])
        else:
            raw = p.read_bytes()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataFileError(f"{source}: cannot read the SRTM tile ({type(exc).__name__}: {exc})") from None
    n_values = len(raw) // 2
    side = int(round(math.sqrt(n_values)))
    if len(raw) % 2 or side * side != n_values or side not in (1201, 3601):
        raise DataFileError(
            f"{source}: {len(raw)} bytes is not an SRTM tile (1201 x 1201 or 3601 x 3601 big-endian int16)"
        )
    z = np.frombuffer(raw, dtype=">i2").reshape(side, side).astype(np.float64)
    z[z == SRTM_VOID] = np.nan
    step = 1.0 / (side - 1)
    # cell centres at whole-degree lines: the NW cell centre is (lat0 + 1, lon0)
    transform = Affine(step, 0.0, lon0 - step / 2, 0.0, -step, lat0 + 1 + step / 2)
    return DemSource(z, transform, "EPSG:4326", source)


def _read_npz(p: Path, source: str) -> DemSource:
    try:
        with np.load(p, allow_pickle=False) as f:
            z = np.asarray(f["elevation_m"], dtype=np.float64)
            lat = np.asarray(f["lat"], dtype=float)
            lon = np.asarray(f["lon"], dtype=float)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataFileError(
            f"{source}: not a DEM archive with 'elevation_m', 'lat', 'lon' ({type(exc).__name__}: {exc})"
        ) from None
    if z.ndim != 2 or z.shape != (lat.size, lon.size) or lat.size < 2 or lon.size < 2:
        raise DataFileError(f"{source}: elevation_m {z.shape} does not match lat ({lat.size}) x lon ({lon.size})")
    dlat, dlon = np.diff(lat), np.diff(lon)
    if not (np.allclose(dlat, dlat[0]) and np.allclose(dlon, dlon[0]) and dlon[0] > 0 and dlat[0] != 0):
        raise DataFileError(f"{source}: lat/lon must be regular cell-centre axes")
    if dlat[0] > 0:  # rows south to north: flip to north-up
        z, lat = z[::-1], lat[::-1]
    step_y, step_x = abs(float(dlat[0])), float(dlon[0])
    transform = Affine(step_x, 0.0, lon[0] - step_x / 2, 0.0, -step_y, lat[0] + step_y / 2)
    return DemSource(z, transform, "EPSG:4326", source)


def _read_geotiff(p: Path, source: str, crs: str, bounds: tuple[float, float, float, float]) -> DemSource:
    from rasterio.errors import RasterioError

    from qamtu.geo.rasters import open_raster, window_over

    with open_raster(p, "DEM", "a GeoTIFF or an SRTM .hgt/.hgt.zip", "save the DEM with one, e.g. EPSG:4326") as src:
        win = window_over(src, crs, bounds, source)
        try:
            band = src.read(1, window=win, masked=True)
        except (RasterioError, OSError) as exc:
            raise DataFileError(f"{source}: cannot read the DEM's pixels ({exc})") from None
        transform = src.window_transform(win)
        src_crs = src.crs
    z = np.ma.filled(band.astype(np.float64), np.nan)
    z[~np.isfinite(z)] = np.nan
    z[z <= -1000.0] = np.nan  # undeclared fill values (-9999, -32768, -32767): no land lies 1 km below sea level
    return DemSource(z, transform, src_crs, source)


def read_dem_source(path: str | os.PathLike[str], crs: str = "EPSG:4326",
                    bounds: tuple[float, float, float, float] | None = None) -> DemSource:
    """Read one DEM file as it is (GeoTIFF window around ``bounds`` given in ``crs``; a whole .hgt or .npz)."""
    p = Path(path)
    source = _check_file(p)
    name = p.name.lower()
    if name.endswith(".hgt") or name.endswith(".hgt.zip"):
        return _read_hgt(p, source)
    if name.endswith(".npz"):
        return _read_npz(p, source)
    if bounds is None:
        raise InvalidInputError("bounds are needed to read a window of a GeoTIFF DEM")
    return _read_geotiff(p, source, crs, bounds)


_DEM_SUFFIXES = (".tif", ".tiff", ".vrt", ".hgt", ".hgt.zip", ".npz", ".img")


def dem_paths(value: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """The DEM files a user named: a file, a comma-separated list, or a folder (its GeoTIFF/.hgt/.hgt.zip files).

    Raises
    ------
    DataFileError
        A missing path, or a folder without DEM files.
    """
    items = [value] if isinstance(value, (str, os.PathLike)) else list(value)
    out: list[str] = []
    for item in items:
        parts = [x.strip() for x in str(item).split(",") if x.strip()] if isinstance(item, str) else [str(item)]
        for part in parts:
            p = Path(part)
            if p.is_dir():
                found = sorted(str(f) for f in p.iterdir() if f.is_file() and f.name.lower().endswith(_DEM_SUFFIXES))
                if not found:
                    raise DataFileError(f"{p}: the folder holds no DEM file ({', '.join(_DEM_SUFFIXES)})")
                out.extend(found)
            else:
                out.append(str(p))
    if not out:
        raise InvalidInputError("no DEM file given")
    return out


def _native_resolution_m(dem: DemSource) -> float:
    from pyproj import CRS

    c = CRS.from_user_input(dem.crs)
    res = abs(dem.transform.a)
    if c.is_geographic:
        rows = dem.heights.shape[0]
        lat = dem.transform.f + dem.transform.e * rows / 2
        return res * 111_320.0 * max(math.cos(math.radians(lat)), 0.2)
    unit = c.axis_info[0].unit_conversion_factor if c.axis_info else 1.0
    return res * unit


def read_terrain(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], crs: str,
                 bounds: tuple[float, float, float, float], mask_bounds: tuple[float, float, float, float] | None = None,
                 *, resolution_m: float | None = None, margin_m: float = TERRAIN_MARGIN_M, attribution: str = "",
                 label: str | None = None) -> Terrain:
    """Read one or several DEM files (mosaicked; later files fill what earlier ones leave void) onto a grid in
    ``crs`` covering ``bounds`` (left, bottom, right, top, m) plus ``margin_m``.

    Parameters
    ----------
    paths : path, list of paths, comma-separated paths, or a folder (see :func:`dem_paths`)
        GeoTIFF (any CRS GDAL knows), SRTM ``.hgt``/``.hgt.zip`` tiles, or the shipped GEBCO ``.npz`` windows.
    crs : str
        Projected CRS of the study area.
    bounds : tuple
        The study area's grid bounds in ``crs``; they must be covered entirely (a DEM that leaves part of the
        area uncovered is refused). The margin around them is filled from the nearest heights where uncovered.
    resolution_m : float, optional
        Terrain grid resolution; default the DEM's own (clipped to 10-500 m).

    Raises
    ------
    DataFileError
        See the module docstring.
    """
    from rasterio.fill import fillnodata
    from rasterio.warp import Resampling, reproject
    from scipy import ndimage

    items = dem_paths(paths)
    left, bottom, right, top = bounds
    outer = (left - margin_m, bottom - margin_m, right + margin_m, top + margin_m)
    sources = [read_dem_source(p, crs, outer) for p in items]
    names = ", ".join(Path(s.source).name for s in sources)
    res = resolution_m or min(max(min(_native_resolution_m(s) for s in sources), 10.0), 500.0)
    res = float(round(res, 1))
    x0 = math.floor(outer[0] / res) * res
    y1 = math.ceil(outer[3] / res) * res
    cols = max(int(math.ceil((outer[2] - x0) / res)), 2)
    rows = max(int(math.ceil((y1 - outer[1]) / res)), 2)
    transform = Affine(res, 0.0, x0, 0.0, -res, y1)
    out = np.full((rows, cols), np.nan)
    n_cells = n_void = 0
    for s in sources:
        void = ~np.isfinite(s.heights)
        n_cells += s.heights.size
        n_void += int(void.sum())
        if void.all():
            continue
        z = s.heights
        if void.any():
            z = fillnodata(np.where(void, 0.0, z).astype(np.float32), mask=(~void).astype(np.uint8),
                           max_search_distance=max(z.shape)).astype(np.float64)
            z[~np.isfinite(z)] = np.nan
        dst = np.full((rows, cols), np.nan)
        reproject(source=z, destination=dst, src_transform=s.transform, src_crs=s.crs, dst_transform=transform,
                  dst_crs=crs, resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)
        fill = ~np.isfinite(out) & np.isfinite(dst)
        out[fill] = dst[fill]
    if n_void == n_cells:
        raise DataFileError(f"{names}: every DEM cell is nodata (void)")
    if not np.isfinite(out).any():
        raise DataFileError(f"{names}: the DEM does not overlap the study area ({crs} bounds "
                            f"{tuple(round(v) for v in bounds)})")
    # the study area's own bounds must be covered
    inner = bounds if mask_bounds is None else mask_bounds
    c0 = int(math.floor((inner[0] - x0) / res))
    c1 = int(math.ceil((inner[2] - x0) / res))
    r0 = int(math.floor((y1 - inner[3]) / res))
    r1 = int(math.ceil((y1 - inner[1]) / res))
    core = out[max(r0, 0):r1, max(c0, 0):c1]
    uncovered = float((~np.isfinite(core)).mean()) if core.size else 1.0
    if uncovered > 0.0:
        raise DataFileError(
            f"{names}: the DEM leaves {uncovered:.1%} of the study area uncovered; give a DEM that covers the whole "
            "area (several tiles may be passed)"
        )
    missing = ~np.isfinite(out)
    if missing.any():  # the margin only: nearest covered height
        idx = ndimage.distance_transform_edt(missing, return_distances=False, return_indices=True)
        out = out[tuple(idx)]
    void_share = n_void / max(n_cells, 1)
    if void_share > 0.01:
        warnings.warn(f"{names}: {void_share:.1%} of the DEM cells are voids, filled by interpolation", stacklevel=2)
    info = {"files": [s.source for s in sources], "source_crs": str(sources[0].crs), "resolution_m": res,
            "void_share": void_share}
    return Terrain(crs=crs, transform=transform, height_m=out, source=label or names, attribution=attribution,
                   info=info)
