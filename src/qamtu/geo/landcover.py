"""Land cover: a classified raster (ESA WorldCover by default) sets each pixel's environment class, and marks the
terminals that stand in clutter the TR 38.901 scenario does not model (for the P.2108 clutter loss).

Class table (ESA WorldCover 2020/2021 v100/v200 codes; :data:`WORLDCOVER_CLASSES`)
-----------------------------------------------------------------------------------
==== ============================ ================== ========
code class                          environment class   clutter
==== ============================ ================== ========
10   Tree cover                     rural               yes
20   Shrubland                      rural               no
30   Grassland                      rural               no
40   Cropland                       rural               no
50   Built-up                       by built-up share   yes
60   Bare / sparse vegetation       rural               no
70   Snow and ice                   rural               no
80   Permanent water bodies         rural               no
90   Herbaceous wetland             rural               no
95   Mangroves                      rural               yes
100  Moss and lichen                rural               no
==== ============================ ================== ========

A built-up pixel's class comes from the share of built-up land within ``window_m`` (default 500 m) around it,
the way the density thresholds read a neighbourhood: >= 0.6 dense urban, >= 0.3 urban, else suburban. Any other
code (and nodata) is an error naming the code and the pixel, so a raster with another legend is never misread;
pass ``classes=`` with its own table.

Clutter ("yes" above): the terminal stands among trees or buildings. Where the pixel's TR 38.901 scenario already
models the terminal's clutter (UMa, UMi: urban street canyons) nothing is added; where it does not (RMa, the
open-country macro model used for rural pixels), :func:`qamtu.radio.clutter.terrestrial_clutter_loss_db` (ITU-R
P.2108-1 §3.2, median) is added to that link (:mod:`qamtu.engine.terrain`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from qamtu.errors import DataFileError

__all__ = ["WORLDCOVER_CLASSES", "LandCover", "read_landcover", "BUILT_UP_SHARES"]

#: code -> (name, environment class or None for "by built-up share", terminal in clutter)
WORLDCOVER_CLASSES: dict[int, tuple[str, str | None, bool]] = {
    10: ("Tree cover", "rural", True),
    20: ("Shrubland", "rural", False),
    30: ("Grassland", "rural", False),
    40: ("Cropland", "rural", False),
    50: ("Built-up", None, True),
    60: ("Bare / sparse vegetation", "rural", False),
    70: ("Snow and ice", "rural", False),
    80: ("Permanent water bodies", "rural", False),
    90: ("Herbaceous wetland", "rural", False),
    95: ("Mangroves", "rural", True),
    100: ("Moss and lichen", "rural", False),
}
#: Built-up share around a built-up pixel -> class: dense urban, urban, else suburban.
BUILT_UP_SHARES = (0.6, 0.3)


@dataclass
class LandCover:
    """Land cover on a study area's grid: ``env_class`` (int8 codes of ``ENV_CLASSES``), ``clutter`` (bool: the
    terminal stands in clutter), ``code`` (the raster's class per pixel, majority), ``source`` and ``info``."""

    env_class: np.ndarray
    clutter: np.ndarray
    code: np.ndarray
    source: str
    info: dict[str, Any]


def read_landcover(path: str | os.PathLike[str], crs: str, transform: Affine, shape: tuple[int, int],
                   mask: np.ndarray, *, classes: dict[int, tuple[str, str | None, bool]] | None = None,
                   window_m: float = 500.0) -> LandCover:
    """Read a classified land-cover raster (any CRS) onto a study-area grid (majority class per pixel).

    Raises
    ------
    DataFileError
        Missing/empty/unreadable file, no CRS, no overlap with the area, all nodata, part of the area uncovered,
        or a class code not in the table (the message names the code and a pixel).
    """
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.warp import Resampling, reproject
    from scipy.ndimage import uniform_filter

    from qamtu.geo.classes import ENV_CODES
    from qamtu.geo.rasters import open_raster

    table = classes or WORLDCOVER_CLASSES
    source = str(Path(path))
    with open_raster(path, "land-cover raster", "a classified GeoTIFF (e.g. ESA WorldCover)",
                     "ESA WorldCover is EPSG:4326") as src:
        nodata = src.nodata
        dst = np.full(shape, -1, dtype=np.int32)
        try:
            reproject(source=rasterio.band(src, 1), destination=dst, dst_transform=transform, dst_crs=crs,
                      resampling=Resampling.mode, dst_nodata=-1)
        except (RasterioError, ValueError, OSError) as exc:
            raise DataFileError(f"{source}: cannot resample onto the study area ({exc})") from None
    if nodata is not None:
        dst[dst == int(nodata)] = -1
    inside = np.asarray(mask, dtype=bool)
    covered = dst >= 0
    if not covered.any():
        raise DataFileError(f"{source}: the land-cover raster does not overlap the study area (or is all nodata)")
    missing = inside & ~covered
    if missing.any():
        r, c = np.argwhere(missing)[0]
        raise DataFileError(
            f"{source}: the land-cover raster leaves {missing.sum() / inside.sum():.1%} of the study area uncovered "
            f"or nodata (first at grid row {r + 1}, col {c + 1})"
        )
    unknown = inside & ~np.isin(dst, list(table))
    if unknown.any():
        r, c = np.argwhere(unknown)[0]
        raise DataFileError(
            f"{source}: class code {int(dst[r, c])} at grid row {r + 1}, col {c + 1} is not in the class table "
            f"(allowed: {', '.join(str(k) for k in sorted(table))}; ESA WorldCover legend)"
        )
    env = np.full(shape, ENV_CODES["rural"], dtype=np.int8)
    clutter = np.zeros(shape, dtype=bool)
    built = np.zeros(shape, dtype=bool)
    for code, (_, cls, in_clutter) in table.items():
        m = dst == code
        if cls is None:
            built |= m
        else:
            env[m] = ENV_CODES[cls]
        clutter[m] = in_clutter
    res = abs(transform.a)
    window_px = max(int(round(window_m / res)), 1)
    share = uniform_filter(built.astype(float), size=window_px, mode="nearest")
    env[built] = ENV_CODES["suburban"]
    env[built & (share >= BUILT_UP_SHARES[1])] = ENV_CODES["urban"]
    env[built & (share >= BUILT_UP_SHARES[0])] = ENV_CODES["dense_urban"]
    counts = {int(k): int(((dst == k) & inside).sum()) for k in table if ((dst == k) & inside).any()}
    info = {"source": source, "classes_in_area": counts, "built_up_window_m": window_m,
            "clutter_share": float(clutter[inside].mean()) if inside.any() else math.nan}
    return LandCover(env, clutter, dst, source, info)
