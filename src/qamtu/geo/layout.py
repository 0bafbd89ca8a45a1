"""The reference layout: a hexagonal macro grid over a study area, labelled as such.

This is not a plan and not any operator's network: it is a yardstick, "what a regular n78 macro grid at a
typical inter-site distance (ISD) would give", used by ``qamtu reference-run`` and as a planner's starting
point. Each site's ISD is chosen by the environment class under it (density smoothed over ``env_window_m``):

=============  ========  ========  =====================================================================
class          ISD (m)   height    why
=============  ========  ========  =====================================================================
dense urban    400       25 m      between TR 38.901 UMa (500 m) and UMi (200 m); typical dense n78 grid
urban          500       25 m      TR 38.901 Table 7.8-1 UMa calibration (ISD 500 m, hBS 25 m)
suburban       800       30 m      typical suburban n78 macro spacing (uplink-limited)
rural          1500      30 m      below ITU-R M.2412's rural 1732 m: the n78 uplink limits the reach
=============  ========  ========  =====================================================================

Sites get 3 sectors at 30/150/270 deg (the 3GPP hexagonal set-up), 53 dBm (200 W, a 64T64R n78 radio),
the default massive-MIMO panel, status ``planned`` and ``operator`` ``"reference"``. The electrical tilt points
the beam centre at half the ISD: ``atan((h - 1.5 m) / (ISD / 2))``.

References
----------
3GPP TR 38.901 V17.0.0, Table 7.8-1 (hexagonal 19-site layout, sector boresights 30/150/270 deg, UMa ISD 500 m,
hBS 25 m); ITU-R M.2412-0 (10/2017), the evaluation configurations of the eMBB test environments (dense urban
macro layer ISD 200 m, urban macro 500 m, rural 1732 m).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from qamtu.errors import InvalidInputError
from qamtu.geo.area import ENV_CLASSES, StudyArea

__all__ = ["DEFAULT_ISD_M", "DEFAULT_HEIGHT_M", "REFERENCE_LAYOUT_LABEL", "hex_lattice", "hex_layout", "layout_env_class"]

#: Inter-site distance per environment class, m (typical n78 macro values; see the module docstring).
DEFAULT_ISD_M: Mapping[str, float] = {"dense_urban": 400.0, "urban": 500.0, "suburban": 800.0, "rural": 1500.0}
#: Antenna height per environment class, m.
DEFAULT_HEIGHT_M: Mapping[str, float] = {"dense_urban": 25.0, "urban": 25.0, "suburban": 30.0, "rural": 30.0}

REFERENCE_LAYOUT_LABEL = (
    "reference layout: hexagonal n78 macro grid at a typical inter-site distance per environment class "
    "(not an operator's network)"
)

_UE_HEIGHT_M = 1.5


def hex_lattice(
    bounds: tuple[float, float, float, float], isd_m: float, origin: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Points of a hexagonal (triangular) site lattice with spacing ``isd_m`` covering ``bounds``.

    Rows are ``isd_m * sqrt(3) / 2`` apart, every other row shifted by ``isd_m / 2``; ``origin`` is a lattice
    point (the city centre, so a site stands there).

    Returns
    -------
    x_m, y_m : ndarray of float64, shape (n,)
    """
    if not (isd_m > 0 and math.isfinite(isd_m)):
        raise InvalidInputError(f"isd_m = {isd_m!r}: must be a positive number of metres")
    left, bottom, right, top = bounds
    ox, oy = origin
    dy = isd_m * math.sqrt(3.0) / 2.0
    j0 = math.floor((bottom - oy) / dy) - 1
    j1 = math.ceil((top - oy) / dy) + 1
    i0 = math.floor((left - ox) / isd_m) - 1
    i1 = math.ceil((right - ox) / isd_m) + 1
    j, i = np.meshgrid(np.arange(j0, j1 + 1), np.arange(i0, i1 + 1), indexing="ij")
    x = ox + (i + 0.5 * (j % 2)) * isd_m
    y = oy + j * dy
    x, y = x.ravel(), y.ravel()
    keep = (x >= left) & (x <= right) & (y >= bottom) & (y <= top)
    return x[keep].astype(np.float64), y[keep].astype(np.float64)


def layout_env_class(area: StudyArea, env_window_m: float = 500.0) -> np.ndarray:
    """Environment class (int8 codes) for placing sites: density averaged over ``env_window_m`` inside the
    boundary, classified with ``area.env_thresholds``; pixels outside the boundary take the nearest inside class.
    """
    from scipy.ndimage import distance_transform_edt, uniform_filter

    size = max(int(round(env_window_m / area.resolution_m)), 1)
    m = area.mask.astype(np.float64)
    num = uniform_filter(area.density_per_km2 * m, size=size, mode="constant", cval=0.0)
    den = uniform_filter(m, size=size, mode="constant", cval=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dens = np.where(den > 1e-9, num / den, 0.0)
    env = area.env_thresholds.classify(dens)
    if (~area.mask).any():
        _, (ri, ci) = distance_transform_edt(~area.mask, return_indices=True)
        env = env[ri, ci]
    return env


def hex_layout(
    area: StudyArea,
    isd_m: float | Mapping[str, float] | None = None,
    *,
    height_m: float | Mapping[str, float] | None = None,
    tx_power_dbm: float = 53.0,
    antenna: str | None = None,
    azimuths_deg: tuple[float, ...] = (30.0, 150.0, 270.0),
    mechanical_tilt_deg: float = 0.0,
    electrical_tilt_deg: float | None = None,
    env_window_m: float = 500.0,
    edge_margin: float = 0.25,
    site_prefix: str = "REF",
) -> pd.DataFrame:
    """A hexagonal macro reference layout over the study area, one row per sector.

    Parameters
    ----------
    area : StudyArea
    isd_m : float or mapping, optional
        Inter-site distance, m: one number for a uniform grid, or a mapping env class -> ISD (missing classes take
        :data:`DEFAULT_ISD_M`). Default :data:`DEFAULT_ISD_M`.
    height_m : float or mapping, optional
        Antenna height, m, one number or per class; default :data:`DEFAULT_HEIGHT_M`.
    tx_power_dbm : float
        Conducted power per sector, dBm (default 53 dBm = 200 W).
    antenna : str, optional
        Antenna model name; default the site table default (the n78 64T64R panel).
    azimuths_deg : tuple of float
        Sector boresights, deg from north (default 30, 150, 270).
    mechanical_tilt_deg : float
        Mechanical downtilt, deg (default 0).
    electrical_tilt_deg : float, optional
        Electrical downtilt, deg; default ``atan((h - 1.5) / (ISD / 2))`` per site, rounded to 0.5 deg.
    env_window_m : float
        Window over which density is averaged to pick a site's class (m).
    edge_margin : float
        Lattice points outside the boundary are kept within ``edge_margin * ISD`` of it (their hexagonal cell
        then lies at least about a quarter inside), so the grid covers the boundary, not only its interior.
    site_prefix : str
        Site ids are ``"{prefix}-{city}-{n:04d}"``.

    Returns
    -------
    pandas.DataFrame
        Canonical site columns (validated, see :mod:`qamtu.geo.sites`), plus ``x_m``, ``y_m`` (grid CRS),
        ``env_class`` (name), ``isd_m`` and ``layout`` (``"reference"``); ``df.attrs["label"]`` is
        :data:`REFERENCE_LAYOUT_LABEL` and ``df.attrs["isd_m_by_env"]`` the ISDs used.

    Notes
    -----
    Lattices are laid densest class first, all anchored at the city centre; a site of a sparser class is dropped
    when a site already placed lies closer than half its ISD, so class borders get neither clusters nor holes
    wider than about one ISD.
    """
    from qamtu.geo.sites import DEFAULT_ANTENNA, validate_sites

    isd, uniform = _isd_by_class(isd_m)
    heights = _per_class(height_m, DEFAULT_HEIGHT_M)
    if not (0.0 <= edge_margin <= 1.0):
        raise InvalidInputError(f"edge_margin = {edge_margin!r}: must be in [0, 1] (a fraction of the ISD)")
    x, y, codes = _place_sites(area, isd, uniform=uniform, edge_margin=edge_margin, env_window_m=env_window_m)
    lon, lat = area.to_lonlat(x, y)
    names = [ENV_CLASSES[k] for k in codes]
    site_isd = np.array([isd[n] for n in names])
    site_h = np.array([heights[n] for n in names])
    if electrical_tilt_deg is None:
        etilt = np.round(np.degrees(np.arctan((site_h - _UE_HEIGHT_M) / (site_isd / 2.0))) * 2.0) / 2.0
    else:
        etilt = np.full(len(x), float(electrical_tilt_deg))
    n_sec = len(azimuths_deg)
    ids = [f"{site_prefix}-{area.city.id}-{k + 1:04d}" for k in range(len(x))]
    rep = lambda a: np.repeat(np.asarray(a), n_sec)  # noqa: E731
    table = pd.DataFrame(
        {
            "site_id": rep(ids),
            "lat": rep(lat),
            "lon": rep(lon),
            "height_m": rep(site_h),
            "azimuth_deg": np.tile(np.asarray(azimuths_deg, dtype=float), len(x)),
            "mechanical_tilt_deg": float(mechanical_tilt_deg),
            "electrical_tilt_deg": rep(etilt),
            "tx_power_dbm": float(tx_power_dbm),
            "antenna": antenna or DEFAULT_ANTENNA,
            "operator": "reference",
            "status": "planned",
        }
    )
    extra: dict[str, Any] = {
        "x_m": rep(x),
        "y_m": rep(y),
        "env_class": rep(names),
        "isd_m": rep(site_isd),
        "layout": "reference",
    }
    for k, v in extra.items():
        table[k] = v
    out = validate_sites(table, source="reference layout")
    out.attrs["label"] = REFERENCE_LAYOUT_LABEL
    out.attrs["isd_m_by_env"] = dict(isd)
    return out


def _per_class(value: float | Mapping[str, float] | None, defaults: Mapping[str, float]) -> dict[str, float]:
    """One number per environment class from a number, a partial mapping (the rest from ``defaults``) or None."""
    if isinstance(value, Mapping):
        return {c: float(value.get(c, defaults[c])) for c in ENV_CLASSES}
    if value is None:
        return {c: float(defaults[c]) for c in ENV_CLASSES}
    return {c: float(value) for c in ENV_CLASSES}


def _isd_by_class(isd_m: float | Mapping[str, float] | None) -> tuple[dict[str, float], bool]:
    """The ISD per class (checked) and whether the grid is uniform (one number given)."""
    if isinstance(isd_m, Mapping):
        unknown = set(isd_m) - set(ENV_CLASSES)
        if unknown:
            raise InvalidInputError(f"isd_m has unknown class(es) {sorted(unknown)}; classes: {', '.join(ENV_CLASSES)}")
    isd = _per_class(isd_m, DEFAULT_ISD_M)
    for c, v in isd.items():
        if not (50.0 <= v <= 20_000.0):
            raise InvalidInputError(f"isd_m for {c} = {v!r}: must be in [50, 20000] m")
    return isd, not (isd_m is None or isinstance(isd_m, Mapping))


def _place_sites(
    area: StudyArea, isd: Mapping[str, float], *, uniform: bool, edge_margin: float, env_window_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Site positions (grid CRS) and class codes, densest class first, sorted north to south, west to east."""
    import shapely
    from scipy.spatial import cKDTree

    env = layout_env_class(area, env_window_m)
    centre = area.centre_xy
    n_rows, n_cols = area.shape
    sites_x: list[np.ndarray] = []
    sites_y: list[np.ndarray] = []
    sites_c: list[np.ndarray] = []
    placed = np.empty((0, 2))
    classes = [ENV_CLASSES[0]] if uniform else list(ENV_CLASSES)
    for c in classes:
        spacing = isd[c]
        region = area.boundary.buffer(edge_margin * spacing) if edge_margin > 0 else area.boundary
        x, y = hex_lattice(region.bounds, spacing, centre)
        inside = shapely.contains_xy(region, x, y)
        x, y = x[inside], y[inside]
        row, col = area.rowcol(x, y)
        code = env[np.clip(row, 0, n_rows - 1), np.clip(col, 0, n_cols - 1)]
        if uniform:
            keep = np.ones(len(x), dtype=bool)
        else:
            keep = code == ENV_CLASSES.index(c)
            if len(placed) and keep.any():
                dist, _ = cKDTree(placed).query(np.column_stack([x, y]))
                keep &= dist >= 0.5 * spacing
        sites_x.append(x[keep])
        sites_y.append(y[keep])
        sites_c.append(code[keep] if uniform else np.full(int(keep.sum()), ENV_CLASSES.index(c)))
        placed = np.vstack([placed, np.column_stack([x[keep], y[keep]])])

    x = np.concatenate(sites_x)
    y = np.concatenate(sites_y)
    codes = np.concatenate(sites_c).astype(int)
    if len(x) == 0:
        raise InvalidInputError(f"the reference layout put no site in {area.city.name_en}; reduce isd_m")
    order = np.lexsort((x, -y))  # north to south, west to east: stable, readable ids
    return x[order], y[order], codes[order]
