"""Bing Maps quadkeys: tile x/y at a zoom level, and the tile's bounds and centre in WGS84 longitude/latitude.

Ookla's open-data tiles are Web-Mercator (EPSG:3857) tiles at zoom 16 identified by their quadkey; the tile
polygon and its centre are derived here from the quadkey alone.

References
----------
J. Schwartz, "Bing Maps Tile System", Microsoft Learn (Bing Maps documentation), sections "Tile Coordinates and
Quadkeys" (example: tile X = 3, Y = 5 at level 3 has quadkey "213") and "Ground Resolution and Map Scale"
(latitude limits +-85.05112878 deg).
"""

from __future__ import annotations

import numpy as np

from qamtu.errors import InvalidInputError

#: Web-Mercator latitude limit (deg): the square world map spans +-85.05112878 deg (Bing Maps Tile System).
MAX_LATITUDE_DEG = 85.05112878
#: Deepest level of detail in the Bing Maps tile system.
MAX_ZOOM = 23


def is_valid_quadkey(quadkey: object) -> bool:
    """Return True if ``quadkey`` is a non-empty string of the digits 0-3, at most 23 characters long."""
    if not isinstance(quadkey, str) or not 1 <= len(quadkey) <= MAX_ZOOM:
        return False
    return all(ch in "0123" for ch in quadkey)


def quadkey_to_tile(quadkey: str) -> tuple[int, int, int]:
    """Decode a quadkey into ``(tile_x, tile_y, zoom)``.

    Parameters
    ----------
    quadkey : str
        Digits 0-3, one per level of detail; its length is the zoom level (1-23).

    Returns
    -------
    tile_x, tile_y, zoom : int
        Tile column (0 at 180 deg W, growing east), tile row (0 at the top, growing south), level of detail.

    Raises
    ------
    InvalidInputError
        If the quadkey is empty, too long, or has a character other than 0-3.

    References
    ----------
    Bing Maps Tile System, "Tile Coordinates and Quadkeys" (QuadKeyToTileXY).
    """
    if not is_valid_quadkey(quadkey):
        raise InvalidInputError(
            f"quadkey {quadkey!r} is not valid: expected 1 to {MAX_ZOOM} digits, each 0, 1, 2 or 3"
        )
    tile_x = 0
    tile_y = 0
    zoom = len(quadkey)
    for i, ch in enumerate(quadkey):
        mask = 1 << (zoom - 1 - i)
        digit = ord(ch) - ord("0")
        if digit & 1:
            tile_x |= mask
        if digit & 2:
            tile_y |= mask
    return tile_x, tile_y, zoom


def tile_to_quadkey(tile_x: int, tile_y: int, zoom: int) -> str:
    """Encode tile ``(tile_x, tile_y)`` at ``zoom`` as a quadkey (Bing Maps TileXYToQuadKey).

    Raises
    ------
    InvalidInputError
        If ``zoom`` is outside 1-23 or a tile index outside ``0 .. 2**zoom - 1``.
    """
    if not 1 <= int(zoom) <= MAX_ZOOM:
        raise InvalidInputError(f"zoom {zoom} is outside the allowed range 1-{MAX_ZOOM}")
    n = 1 << int(zoom)
    if not (0 <= int(tile_x) < n and 0 <= int(tile_y) < n):
        raise InvalidInputError(f"tile ({tile_x}, {tile_y}) is outside 0..{n - 1} at zoom {zoom}")
    digits = []
    for i in range(int(zoom), 0, -1):
        mask = 1 << (i - 1)
        digit = 0
        if int(tile_x) & mask:
            digit += 1
        if int(tile_y) & mask:
            digit += 2
        digits.append(str(digit))
    return "".join(digits)


def tile_bounds_lonlat(tile_x: int, tile_y: int, zoom: int) -> tuple[float, float, float, float]:
    """Return the WGS84 bounds ``(lon_min, lat_min, lon_max, lat_max)`` in degrees of a Web-Mercator tile.

    Longitude is linear in the tile column: ``lon = x / 2**z * 360 - 180``. Latitude follows the inverse
    spherical Mercator projection: ``lat = degrees(atan(sinh(pi * (1 - 2 y / 2**z))))``.

    References
    ----------
    Bing Maps Tile System, "Pixel Coordinates" (PixelXYToLatLong; the tile corner is pixel ``256 * tile``).
    """
    n = float(1 << int(zoom))

    def lon(x: float) -> float:
        return x / n * 360.0 - 180.0

    def lat(y: float) -> float:
        return float(np.degrees(np.arctan(np.sinh(np.pi * (1.0 - 2.0 * y / n)))))

    return lon(tile_x), lat(tile_y + 1), lon(tile_x + 1), lat(tile_y)


def quadkey_bounds_lonlat(quadkey: str) -> tuple[float, float, float, float]:
    """Return ``(lon_min, lat_min, lon_max, lat_max)`` in degrees of the tile named by ``quadkey``."""
    return tile_bounds_lonlat(*quadkey_to_tile(quadkey))


def quadkey_centre_lonlat(quadkey: str) -> tuple[float, float]:
    """Return the tile centre ``(lon, lat)`` in degrees: the midpoint in Web-Mercator, not in degrees.

    The centre pixel row maps to ``lat(y + 0.5)``, which differs from the mean of the two edge latitudes by a
    negligible amount at zoom 16 (under 1 mm at 50 deg N) but is the exact centre of the Mercator square.
    """
    tile_x, tile_y, zoom = quadkey_to_tile(quadkey)
    n = float(1 << zoom)
    lon = (tile_x + 0.5) / n * 360.0 - 180.0
    lat = float(np.degrees(np.arctan(np.sinh(np.pi * (1.0 - 2.0 * (tile_y + 0.5) / n)))))
    return lon, lat


def lonlat_to_tile(lon_deg: float, lat_deg: float, zoom: int) -> tuple[int, int]:
    """Return the tile ``(tile_x, tile_y)`` at ``zoom`` that contains the point (Bing Maps LatLongToPixelXY).

    Latitude is clipped to +-85.05112878 deg and longitude to +-180 deg, as the tile system does.
    """
    lat = float(np.clip(lat_deg, -MAX_LATITUDE_DEG, MAX_LATITUDE_DEG))
    lon = float(np.clip(lon_deg, -180.0, 180.0))
    n = 1 << int(zoom)
    x = (lon + 180.0) / 360.0
    sin_lat = np.sin(np.radians(lat))
    y = 0.5 - np.log((1.0 + sin_lat) / (1.0 - sin_lat)) / (4.0 * np.pi)
    tile_x = int(min(max(np.floor(x * n), 0), n - 1))
    tile_y = int(min(max(np.floor(y * n), 0), n - 1))
    return tile_x, tile_y


def lonlat_to_quadkey(lon_deg: float, lat_deg: float, zoom: int = 16) -> str:
    """Return the quadkey of the tile at ``zoom`` (default 16, Ookla's open data) that contains the point."""
    return tile_to_quadkey(*lonlat_to_tile(lon_deg, lat_deg, zoom), zoom)
