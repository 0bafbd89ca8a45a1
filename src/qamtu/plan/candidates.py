"""Candidate sites for the planner: a user's list, a generated lattice, and the sites already on air.

A candidate table is a site table (one row per sector, the canonical columns of :mod:`qamtu.geo.sites`) with
four planning columns on every sector row:

``cost``
    Build cost of the whole site (the same on every sector row of a site; any currency, >= 0).
``decision``
    ``""`` (the optimiser decides), ``"lock"`` (must be built) or ``"exclude"`` (never built).
``origin``
    ``"user"`` (from a candidate file), ``"lattice"`` (generated), ``"colocation"`` (an existing 4G site, at a
    reduced cost: :func:`colocation_candidates`) or ``"existing"`` (on air: cost 0, always in).
``site_id``
    Unique over the whole table; a site is the set of its sector rows and is chosen as a whole.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qamtu.errors import DataFileError, InvalidInputError, where
from qamtu.geo.sites import REQUIRED_SITE_COLUMNS

if TYPE_CHECKING:
    from qamtu.engine import EngineConfig
    from qamtu.geo import StudyArea
    from qamtu.plan.demand import DemandModel

__all__ = [
    "DECISIONS",
    "SECTOR_COLUMNS",
    "read_candidates",
    "prepare_candidates",
    "lattice_candidates",
    "env_lattice_candidates",
    "class_spacings_m",
    "colocation_candidates",
    "COLOCATION_COST_FACTOR",
    "existing_sites",
    "combine_candidates",
    "site_table",
]

#: Allowed values of the ``decision`` column.
DECISIONS = ("", "lock", "exclude")

#: Required sector columns of a site table: the site table's own (qamtu.geo.sites), not a copy of them.
SECTOR_COLUMNS = REQUIRED_SITE_COLUMNS

#: Defaults of a generated lattice site, used where :mod:`qamtu.geo.layout` does not provide its own.
LATTICE_DEFAULTS: dict[str, Any] = {
    "height_m": 30.0,
    "azimuths_deg": (30.0, 150.0, 270.0),
    "mechanical_tilt_deg": 0.0,
    "electrical_tilt_deg": 6.0,
    "tx_power_dbm": 53.0,
}


def _read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The candidate file's rows, read like a site table (:func:`qamtu.geo.sites.read_table_rows`: every CSV line
    accounted for, GeoJSON points reprojected to WGS 84)."""
    from qamtu.geo.sites import read_table_rows

    df, _ = read_table_rows(path)
    if df.empty:
        raise DataFileError(f"{path}: candidate file has no rows")
    return df.reset_index(drop=True)


def read_candidates(path: str | os.PathLike[str], origin: str = "user") -> pd.DataFrame:
    """Read a candidate file (CSV or GeoJSON of points), one row per sector, with a ``cost`` per site.

    Parameters
    ----------
    path : path-like
        CSV with the site-table columns (``site_id, lat, lon, height_m, azimuth_deg, mechanical_tilt_deg,
        electrical_tilt_deg, tx_power_dbm``, optional ``antenna, operator, status``) plus ``cost`` and an optional
        ``decision`` (``lock``/``exclude``/empty); or GeoJSON points with the same properties (``lat``/``lon``
        taken from the geometry when absent).
    origin : str
        Value of the ``origin`` column (``"user"``).

    Returns
    -------
    pandas.DataFrame
        The candidate table (see the module docstring), rows in file order.

    Raises
    ------
    DataFileError
        Missing or unreadable file.
    InvalidInputError
        A missing column or a bad value; the message names file, 1-based data row and field.
    """
    df = _read_table(path)
    return prepare_candidates(df, source=str(path), origin=origin, require_cost=True)


def prepare_candidates(
    df: pd.DataFrame,
    source: str = "candidates",
    origin: str = "user",
    require_cost: bool = True,
    default_cost: float | None = None,
) -> pd.DataFrame:
    """Validate a candidate table and fill the planning columns (see :func:`read_candidates`)."""
    df = df.copy().reset_index(drop=True)
    missing = [c for c in SECTOR_COLUMNS if c not in df.columns]
    if missing:
        raise InvalidInputError(f"{source}: missing column(s) {missing}; a candidate table needs {list(SECTOR_COLUMNS)}")
    df["site_id"] = df["site_id"].astype(object)
    for i, v in enumerate(df["site_id"]):
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
            raise InvalidInputError(f"{where(source, i + 1, 'site_id')}: is empty; every sector row needs a site id")
    df["site_id"] = df["site_id"].map(lambda v: str(v).strip())
    _validate_sector_columns(df, source)
    # cost: a number >= 0 on at least one row of each site, equal on every row that gives it
    if "cost" not in df.columns:
        if require_cost and default_cost is None:
            raise InvalidInputError(f"{source}: missing column 'cost' (build cost per site, a number >= 0)")
        df["cost"] = default_cost
    cost = pd.to_numeric(df["cost"], errors="coerce")
    for i, (raw, v) in enumerate(zip(df["cost"], cost)):
        blank = raw is None or (isinstance(raw, float) and math.isnan(raw)) or str(raw).strip() == ""
        if not blank and (not np.isfinite(v) or v < 0):
            raise InvalidInputError(f"{where(source, i + 1, 'cost')}: is {raw!r}; allowed: a number >= 0")
    df["cost"] = cost
    decision = df["decision"] if "decision" in df.columns else pd.Series([""] * len(df))
    norm = []
    for i, v in enumerate(decision):
        s = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip().lower()
        if s not in DECISIONS:
            raise InvalidInputError(f"{where(source, i + 1, 'decision')}: is {v!r}; allowed: 'lock', 'exclude' or empty")
        norm.append(s)
    df["decision"] = norm
    for sid, rows in df.groupby("site_id", sort=False).groups.items():
        rows = list(rows)
        costs = df.loc[rows, "cost"].dropna().unique()
        if len(costs) == 0:
            if default_cost is None:
                raise InvalidInputError(f"{where(source, rows[0] + 1, 'cost')}: site {sid!r} has no cost on any row")
            df.loc[rows, "cost"] = default_cost
        elif len(costs) > 1:
            bad = next(r for r in rows if df.at[r, "cost"] != costs[0] and not pd.isna(df.at[r, "cost"]))
            raise InvalidInputError(
                f"{where(source, bad + 1, 'cost')}: site {sid!r} has different costs on its sector rows "
                f"({', '.join(f'{c:g}' for c in costs)}); the cost is per site"
            )
        else:
            df.loc[rows, "cost"] = costs[0]
        decs = {d for d in df.loc[rows, "decision"] if d}
        if len(decs) > 1:
            raise InvalidInputError(f"{where(source, rows[0] + 1, 'decision')}: site {sid!r} is both locked and excluded")
        df.loc[rows, "decision"] = decs.pop() if decs else ""
    df["cost"] = df["cost"].astype(float)
    df["origin"] = origin
    if "status" not in df.columns:
        df["status"] = "existing" if origin == "existing" else "candidate"
    return df


def _validate_sector_columns(df: pd.DataFrame, source: str) -> None:
    """Check the radio columns with :func:`qamtu.geo.sites.validate_sites` (errors name file, row and field) and
    put its parsed numbers back into ``df``."""
    from qamtu.geo.sites import validate_sites

    clean = validate_sites(df, source)
    for col in REQUIRED_SITE_COLUMNS[1:]:
        df[col] = clean[col].to_numpy()


def lattice_candidates(
    area: StudyArea,
    spacing_m: float,
    cost: float = 1.0,
    *,
    prefix: str = "L",
    margin_m: float | None = None,
    **sector: Any,
) -> pd.DataFrame:
    """Generated candidates on a hexagonal lattice over the study area, 3 sectors per site.

    Parameters
    ----------
    area : qamtu.geo.StudyArea
        Uses ``boundary``, ``crs`` (m), ``centre_xy`` and ``to_lonlat``.
    spacing_m : float
        Distance between neighbouring lattice points, m, in [50, 20000].
    cost : float
        Cost of each generated site (>= 0). Default 1: the plan's cost is then its number of new sites.
    prefix : str
        Site ids are ``f"{prefix}{k:05d}"`` in lattice order (north to south, west to east).
    margin_m : float, optional
        Candidates are kept within this distance outside the boundary (default ``spacing_m / 2``), so the edge
        of the city can be served from just outside.
    **sector
        Overrides of :data:`LATTICE_DEFAULTS` (``height_m``, ``azimuths_deg``, ``mechanical_tilt_deg``,
        ``electrical_tilt_deg``, ``tx_power_dbm``, ``antenna``).

    Returns
    -------
    pandas.DataFrame
        Candidate table (``origin="lattice"``), one row per sector, with ``x_m``, ``y_m`` in ``area.crs``.
    """
    import shapely

    spacing_m = float(spacing_m)
    if not np.isfinite(spacing_m) or not 50.0 <= spacing_m <= 20_000.0:
        raise InvalidInputError(f"lattice spacing_m = {spacing_m!r}; allowed: 50 to 20000 m")
    if not np.isfinite(cost) or cost < 0:
        raise InvalidInputError(f"lattice cost = {cost!r}; allowed: a number >= 0")
    params = dict(LATTICE_DEFAULTS)
    unknown = set(sector) - set(params) - {"antenna"}
    if unknown:
        raise InvalidInputError(f"lattice_candidates: unknown sector parameter(s) {sorted(unknown)}")
    params.update(sector)
    margin = spacing_m / 2 if margin_m is None else float(margin_m)
    region = area.boundary.buffer(margin) if margin > 0 else area.boundary
    minx, miny, maxx, maxy = region.bounds
    cx, cy = area.centre_xy
    dy = spacing_m * math.sqrt(3) / 2
    j0, j1 = math.floor((miny - cy) / dy) - 1, math.ceil((maxy - cy) / dy) + 1
    xs, ys = [], []
    for j in range(j1, j0 - 1, -1):  # north to south
        y = cy + j * dy
        off = (spacing_m / 2) if j % 2 else 0.0
        i0 = math.floor((minx - cx - off) / spacing_m) - 1
        i1 = math.ceil((maxx - cx - off) / spacing_m) + 1
        row = cx + off + spacing_m * np.arange(i0, i1 + 1)
        xs.append(row)
        ys.append(np.full(row.shape, y))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    inside = shapely.contains_xy(region, x, y)
    x, y = x[inside], y[inside]
    if x.size == 0:
        raise InvalidInputError(f"no lattice point at {spacing_m:g} m spacing falls in the study area; use a smaller spacing")
    lon, lat = area.to_lonlat(x, y)
    az = tuple(float(a) for a in params["azimuths_deg"])
    n_sec = len(az)
    ids = np.array([f"{prefix}{k:05d}" for k in range(x.size)], dtype=object)
    df = pd.DataFrame(
        {
            "site_id": np.repeat(ids, n_sec),
            "lat": np.repeat(np.asarray(lat, float), n_sec),
            "lon": np.repeat(np.asarray(lon, float), n_sec),
            "height_m": float(params["height_m"]),
            "azimuth_deg": np.tile(np.asarray(az), x.size),
            "mechanical_tilt_deg": float(params["mechanical_tilt_deg"]),
            "electrical_tilt_deg": float(params["electrical_tilt_deg"]),
            "tx_power_dbm": float(params["tx_power_dbm"]),
            "status": "candidate",
            "cost": float(cost),
            "decision": "",
            "origin": "lattice",
            "x_m": np.repeat(x, n_sec),
            "y_m": np.repeat(y, n_sec),
        }
    )
    if "antenna" in params:
        df["antenna"] = params["antenna"]
    return df


#: Share of the SINR-to-rate reference used to size a site for capacity when deriving the lattice spacing: the
#: engine's full-cell rate at this SINR (dB) stands for a typical served pixel (the capacity stage then checks the
#: real SINRs of the plan; this value only sets how fine the candidate lattice is).
REFERENCE_SINR_DB = 10.0
#: Candidates per site spacing: the lattice spacing is this share of the spacing a site needs (reach or capacity), so
#: the optimiser has about two candidates per site in each direction to choose from.
CANDIDATE_SHARE_OF_SPACING = 0.5
#: Cost of a 5G site co-located on an existing 4G site, as a share of a new site's cost (an assumption: the tower,
#: the permits, the power feed and usually the backhaul are there; the radio, antennas and works remain).
COLOCATION_COST_FACTOR = 0.5


def class_spacings_m(area: StudyArea, config: EngineConfig, demand: DemandModel | None = None, *,
                     floor_m: float = 250.0, ceiling_m: float = 3000.0, **sector: Any) -> dict[str, float]:
    """Candidate lattice spacing per environment class, from the link budget and (optionally) the capacity.

    For each class present in the area: the coverage reach ``r`` of a lattice site in that class
    (:func:`qamtu.plan.reach.coverage_reach_m`, the engine's own link physics) and, with a demand model, the
    inter-site distance at which a 3-sector site's capacity carries the class's mean demand density,
    ``ISD_cap = sqrt(2 * 3 * C / (sqrt(3) * D))`` (hexagonal site area ``sqrt(3)/2 ISD^2``; ``C`` the sector
    capacity at the target load with the full-cell rate at :data:`REFERENCE_SINR_DB`; ``D`` the demand in
    Mbit/s per km^2). The spacing is :data:`CANDIDATE_SHARE_OF_SPACING` of ``min(r, ISD_cap)``, clipped to
    ``[floor_m, ceiling_m]``. Classes absent from the area are left out.
    """
    import dataclasses

    from qamtu.engine import prepare_sectors
    from qamtu.geo.area import ENV_CLASSES
    from qamtu.plan.reach import coverage_reach_m
    from qamtu.radio import nr

    probe = lattice_candidates(area, 20_000.0, margin_m=20_000.0, **sector).iloc[: len(
        sector.get("azimuths_deg", LATTICE_DEFAULTS["azimuths_deg"]))]
    sectors = prepare_sectors(probe, area.crs)
    mask = np.asarray(area.mask, bool)
    env = np.asarray(area.env_class)
    pop = np.asarray(area.population, float)
    out = {}
    for code, name in enumerate(ENV_CLASSES):
        z = mask & (env == code)
        if not z.any():
            continue
        one = dataclasses.replace(area, env_class=np.where(mask, code, env).astype(env.dtype))
        need = coverage_reach_m(sectors, config, one)
        if demand is not None and demand.per_person_mbps > 0:
            density = float(pop[z].sum()) / (int(z.sum()) * float(area.resolution_m) ** 2 / 1e6)
            d_km2 = density * demand.per_person_mbps
            rate = float(nr.throughput_mbps(REFERENCE_SINR_DB, config.bandwidth_hz, config.dl_layers,
                                            config.tdd_dl_share, 0.0, scs_hz=config.scs_hz, direction="dl"))
            cap = demand.load_limit(config) * rate * len(probe)
            if d_km2 > 0:
                need = min(need, 1e3 * math.sqrt(2.0 * cap / (math.sqrt(3.0) * d_km2)))
        out[name] = float(np.clip(CANDIDATE_SHARE_OF_SPACING * need, floor_m, ceiling_m))
    return out


def env_lattice_candidates(area: StudyArea, spacing_by_class: dict[str, float], cost: float = 1.0,
                           **sector: Any) -> pd.DataFrame:
    """Generated candidates whose lattice follows the environment class: one hexagonal lattice per class at its
    spacing (:func:`class_spacings_m`), each keeping the points that fall in pixels of its class (points outside
    the grid count as rural). Site ids are ``L{D,U,S,R}nnnnn`` (dense urban, urban, suburban, rural).
    """
    from qamtu.geo.area import ENV_CLASSES, ENV_CODES

    env = np.asarray(area.env_class).astype(np.int64)
    present = sorted(ENV_CODES[n] for n in spacing_by_class if n in ENV_CODES)
    frames = []
    for name, spacing in spacing_by_class.items():
        if name not in ENV_CODES:
            raise InvalidInputError(f"spacing_by_class: unknown environment class {name!r}; allowed: "
                                    f"{', '.join(ENV_CLASSES)}")
        try:
            df = lattice_candidates(area, spacing, cost, prefix=f"L{name[0].upper()}", **sector)
        except InvalidInputError:
            continue  # no point of this lattice in the area
        sites = df.drop_duplicates("site_id")
        r, c = area.rowcol(sites["x_m"].to_numpy(), sites["y_m"].to_numpy())
        inside = (r >= 0) & (r < area.shape[0]) & (c >= 0) & (c < area.shape[1])
        code = np.full(len(sites), ENV_CODES["rural"])
        code[inside] = env[r[inside], c[inside]]
        # a point in a class without its own lattice (e.g. the rural margin just outside the boundary) belongs to
        # the nearest less dense class that has one, else to the least dense class present
        if present:
            code = np.array([next((p for p in present if p >= k), present[-1]) for k in code], np.int64)
        keep = set(sites["site_id"][code == ENV_CODES[name]])
        df = df[df["site_id"].isin(keep)]
        df["env_class"] = name
        frames.append(df)
    if not frames or not sum(len(f) for f in frames):
        raise InvalidInputError("no environment-class lattice point falls in the study area; use smaller spacings")
    return pd.concat(frames, ignore_index=True)


def colocation_candidates(df: pd.DataFrame, cost: float, factor: float = COLOCATION_COST_FACTOR,
                          source: str = "4G sites") -> pd.DataFrame:
    """Existing 4G sites as 5G candidates at ``cost * factor`` (``origin="colocation"``).

    ``df`` is a site table of the 4G grid (the sector rows give the antenna heights and azimuths the 5G panels
    would share); the optimiser decides like for any candidate (``decision`` empty unless the table says so).
    """
    if not (np.isfinite(factor) and 0.0 <= factor <= 1.0):
        raise InvalidInputError(f"co-location cost factor = {factor!r}; allowed: a share in [0, 1]")
    out = prepare_candidates(df.drop(columns=["cost"], errors="ignore"), source=source, origin="colocation",
                             require_cost=False, default_cost=float(cost) * float(factor))
    out["status"] = "candidate"
    return out


def existing_sites(df: pd.DataFrame, source: str = "existing") -> pd.DataFrame:
    """Mark a site table as on-air sites: cost 0, always in (``decision="lock"``), ``origin="existing"``."""
    out = prepare_candidates(df, source=source, origin="existing", require_cost=False, default_cost=0.0)
    out["cost"] = 0.0
    out["decision"] = "lock"
    out["status"] = "existing"
    return out


def combine_candidates(
    *frames: pd.DataFrame,
    lock: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> pd.DataFrame:
    """Concatenate candidate tables and apply locks and exclusions by site id.

    Parameters
    ----------
    *frames : DataFrame
        Candidate tables (from :func:`read_candidates`, :func:`lattice_candidates`, :func:`existing_sites`).
    lock, exclude : iterable of str
        Site ids to lock in / rule out; they override the ``decision`` column.

    Raises
    ------
    InvalidInputError
        A site id in two tables, an unknown id in ``lock``/``exclude``, an id in both, or an existing on-air site
        ruled out.
    """
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        raise InvalidInputError("no candidates: give a candidate file, a lattice spacing or existing sites")
    seen: dict[str, str] = {}
    for f in frames:
        origin = str(f["origin"].iloc[0]) if "origin" in f.columns else "?"
        for sid in pd.unique(f["site_id"]):
            if sid in seen:
                raise InvalidInputError(f"site id {sid!r} appears in two candidate tables ({seen[sid]} and {origin})")
            seen[sid] = origin
    df = pd.concat(frames, ignore_index=True, sort=False)
    lock, exclude = [str(s) for s in lock], [str(s) for s in exclude]
    both = sorted(set(lock) & set(exclude))
    if both:
        raise InvalidInputError(f"site(s) {both} are both locked in and ruled out; choose one")
    for name, ids in (("--lock", lock), ("--exclude", exclude)):
        unknown = sorted(set(ids) - set(seen))
        if unknown:
            raise InvalidInputError(f"{name}: unknown site id(s) {unknown[:10]}; they are not among the candidates")
    if exclude:
        gone = df["site_id"].isin(exclude)
        existing = sorted(set(df.loc[gone & (df["origin"] == "existing"), "site_id"]))
        if existing:
            raise InvalidInputError(f"--exclude: {existing} are existing on-air sites; they are always in")
        df.loc[gone, "decision"] = "exclude"
    if lock:
        df.loc[df["site_id"].isin(lock), "decision"] = "lock"
    return df.reset_index(drop=True)


def site_table(candidates: pd.DataFrame, area: StudyArea | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per site of a candidate table, and the site index of every sector row.

    Returns
    -------
    sites : DataFrame
        ``site_id, cost, decision, origin, lat, lon, n_sectors`` (and ``x_m, y_m`` when ``area`` is given), in
        order of first appearance.
    sector_site : ndarray of int64, shape (n_sector_rows,)
        Index into ``sites`` of each sector row.
    """
    codes, uniques = pd.factorize(candidates["site_id"], sort=False)
    g = candidates.groupby(codes, sort=True)
    sites = pd.DataFrame(
        {
            "site_id": np.asarray(uniques, dtype=object),
            "cost": g["cost"].first().to_numpy(float),
            "decision": g["decision"].first().to_numpy(object),
            "origin": g["origin"].first().to_numpy(object),
            "lat": g["lat"].mean().to_numpy(float),
            "lon": g["lon"].mean().to_numpy(float),
            "n_sectors": g.size().to_numpy(np.int64),
        }
    )
    if area is not None:
        x, y = area.from_lonlat(sites["lon"].to_numpy(), sites["lat"].to_numpy())
        sites["x_m"] = np.asarray(x, float)
        sites["y_m"] = np.asarray(y, float)
    return sites, codes.astype(np.int64)

