"""The geography options shared by ``coverage``, ``plan`` and ``national`` (issue 12): ``--dem``, ``--landcover``."""

from __future__ import annotations

from typing import Any

import typer

DEM_HELP = ("Terrain: DEM file(s) (GeoTIFF in any CRS, SRTM .hgt/.hgt.zip; a comma list or a folder) or 'flat'. "
            "Default: the DEM shipped with qamtu where it covers the city, else flat.")
LANDCOVER_HELP = ("Land-cover raster (ESA WorldCover classes): environment class per pixel and the P.2108 clutter "
                  "loss instead of the density classes.")


def dem_option(scope: str = "") -> Any:
    """``--dem`` (``scope`` is appended to the help, e.g. " Applies to every city.")."""
    return typer.Option(None, "--dem", help=DEM_HELP + scope)


def landcover_option(scope: str = "") -> Any:
    """``--landcover``."""
    return typer.Option(None, "--landcover", help=LANDCOVER_HELP + scope)
