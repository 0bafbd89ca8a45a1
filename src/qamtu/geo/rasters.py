"""Opening the user's georeferenced rasters (population, DEM, land cover) with one set of named errors, and the
window of a raster that covers a study area."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from qamtu.errors import DataFileError

__all__ = ["open_raster", "window_over", "check_input_file"]


def check_input_file(p: Path, what: str, expected: str) -> str:
    """``str(p)`` if ``p`` is an existing non-empty file, else a :class:`DataFileError` naming it."""
    source = str(p)
    if not p.exists():
        raise DataFileError(f"{source}: {what} not found")
    if p.is_dir():
        raise DataFileError(f"{source}: is a folder; expected {expected}")
    if not p.is_file():
        raise DataFileError(f"{source}: not a file; expected {expected}")
    if p.stat().st_size == 0:
        raise DataFileError(f"{source}: empty file; expected {expected}")
    return source


def open_raster(path: str | os.PathLike[str], what: str, expected: str, crs_hint: str) -> Any:
    """Open a raster that must be a non-empty, georeferenced file (a rasterio dataset; close it after use).

    ``what`` names it in messages ("population raster", "DEM", "land-cover raster"), ``expected`` says what
    was expected in an empty file, ``crs_hint`` how to fix a missing CRS.

    Raises
    ------
    DataFileError
        ``<path>: <what> not found``, ``empty file; expected ...``, ``not a readable raster``, ``the raster has no
        CRS (unknown CRS)``, ``the raster has no geotransform``.
    """
    import rasterio
    from rasterio.errors import RasterioError

    p = Path(path)
    source = check_input_file(p, what, expected)
    try:
        src = rasterio.open(p)
    except (RasterioError, OSError) as exc:
        raise DataFileError(f"{source}: not a readable raster ({exc})") from None
    if src.crs is None:
        src.close()
        raise DataFileError(f"{source}: the raster has no CRS (unknown CRS); {crs_hint}")
    if src.transform.is_identity:
        src.close()
        raise DataFileError(f"{source}: the raster has no geotransform (pixel coordinates only)")
    t = src.transform
    if not (math.isfinite(t.determinant) and t.determinant != 0.0 and all(math.isfinite(v) for v in t[:6])):
        src.close()
        raise DataFileError(f"{source}: the raster's geotransform is degenerate ({tuple(t[:6])}); a pixel must "
                            "have a non-zero, finite size")
    return src


def window_over(src: Any, crs: str, bounds: tuple[float, float, float, float], source: str, pad: int = 2) -> Any:
    """The window of ``src`` covering ``bounds`` (left, bottom, right, top in ``crs``) plus ``pad`` pixels.

    Raises
    ------
    DataFileError
        The CRSs cannot be related, or the raster does not overlap the bounds.
    """
    from rasterio.errors import RasterioError
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds

    try:
        sb = transform_bounds(crs, src.crs, *bounds, densify_pts=21)
    except Exception as exc:  # rasterio raises CRSError/ValueError variants here
        raise DataFileError(f"{source}: cannot relate the raster's CRS {src.crs} to {crs} ({exc})") from None
    full = Window(0, 0, src.width, src.height)
    try:
        w = from_bounds(*sb, transform=src.transform)
        col0, row0 = math.floor(w.col_off) - pad, math.floor(w.row_off) - pad
        col1, row1 = math.ceil(w.col_off + w.width) + pad, math.ceil(w.row_off + w.height) + pad
        win = Window(col0, row0, col1 - col0, row1 - row0).intersection(full)
    except (RasterioError, ValueError):
        win = None
    if win is None or win.width < 1 or win.height < 1:
        raise DataFileError(
            f"{source}: the raster (bounds {tuple(round(v, 4) for v in src.bounds)} in {src.crs}) does not "
            "overlap the study area"
        )
    return win
