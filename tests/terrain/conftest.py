"""Helpers for the terrain tests: write small GeoTIFF DEMs."""

import numpy as np
import rasterio


def write_dem(path, data, transform, crs, nodata=None, dtype="float32"):
    profile = {"driver": "GTiff", "height": data.shape[0], "width": data.shape[1], "count": 1, "dtype": dtype,
               "crs": crs, "transform": transform}
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.asarray(data, dtype=dtype), 1)
    return path
