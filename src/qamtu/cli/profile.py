"""``qamtu profile``: one link's terrain profile from a DEM, its obstructions and its losses.

For a planner checking one link: the profile sampled from the DEM (bilinear, at the DEM grid's spacing), the
direct ray with the effective-earth bulge (k = 4/3 by default), the first Fresnel zone, the obstructions (runs of
points above the ray) and the terrain losses of :mod:`qamtu.radio.terrain` (delta-Bullington, P.452-18 §4.2.3:
Bullington on the actual and on the smooth profile, the spherical-earth loss, the total Ld) beside the free-space
loss (P.525), and what qamtu's engine adds for this link (the excess over the plane through the two ground
points; ``nlos`` when the ray is obstructed; :mod:`qamtu.engine.terrain`).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import typer

from qamtu.cli._common import echo_json, fail, guarded


def _latlon(text: Optional[str], option: str) -> tuple[float, float]:
    if text is None:
        fail(f"missing option {option} LAT,LON")
    parts = [p.strip() for p in str(text).split(",")]
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        fail(f"{option} must be LAT,LON in WGS 84 degrees, got {text!r}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        fail(f"{option} = {text!r}: latitude must be in [-90, 90] and longitude in [-180, 180] degrees")
    return lat, lon


def link_profile(dem: str, start: tuple[float, float], end: tuple[float, float], h_tx_m: float, h_rx_m: float,
                 freq_hz: float, *, k_factor: float = 4.0 / 3.0, step_m: float | None = None,
                 polarization: str = "horizontal") -> dict[str, Any]:
    """The profile of one link and its losses (what ``qamtu profile --json`` prints)."""
    from pyproj import Geod

    from qamtu.engine.terrain import _excess
    from qamtu.geo.area import _transformer, utm_crs_for
    from qamtu.geo.dem import read_terrain
    from qamtu.radio.pathloss import fspl_db
    from qamtu.radio.terrain import delta_bullington_terms

    if not (k_factor > 0 and math.isfinite(k_factor)):
        fail(f"--k must be a positive number, got {k_factor!r}")
    (lat1, lon1), (lat2, lon2) = start, end
    crs = utm_crs_for((lon1 + lon2) / 2, (lat1 + lat2) / 2)
    x1, y1 = _transformer("EPSG:4326", crs).transform(lon1, lat1)
    x2, y2 = _transformer("EPSG:4326", crs).transform(lon2, lat2)
    length_m = Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2]
    if length_m < 10.0:
        fail(f"the two ends are {length_m:.1f} m apart; a profile needs at least 10 m")
    bounds = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    terrain = read_terrain(dem, crs, bounds, margin_m=500.0)
    step = float(step_m or terrain.resolution_m)
    n = max(int(math.ceil(length_m / step)) + 1, 3)
    t = np.linspace(0.0, 1.0, n)
    d_m = t * length_m
    h = terrain.height_at(x1 + t * (x2 - x1), y1 + t * (y2 - y1))
    ae_m = 6_371_000.0 * k_factor
    terms = delta_bullington_terms(d_m, h, h_tx_m, h_rx_m, freq_hz, ae_m=ae_m, polarization=polarization)
    lam = 2.998e8 / freq_hz
    hts, hrs = h[0] + h_tx_m, h[-1] + h_rx_m
    bulge = d_m * (length_m - d_m) / (2.0 * ae_m)
    ray = hts + (hrs - hts) * d_m / length_m
    clearance = ray - (h + bulge)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.sqrt(lam * d_m * (length_m - d_m) / length_m)
        nu = np.where(f1 > 0, -clearance * math.sqrt(2.0) / np.where(f1 > 0, f1, 1.0), -np.inf)
    obstructions = []
    inner = np.zeros(n, dtype=bool)
    inner[1:-1] = clearance[1:-1] < 0
    i = 1
    while i < n - 1:
        if inner[i]:
            j = i
            while j + 1 < n - 1 and inner[j + 1]:
                j += 1
            peak = i + int(np.argmax(-clearance[i:j + 1]))
            obstructions.append({"from_m": float(d_m[i]), "to_m": float(d_m[j]), "peak_m": float(d_m[peak]),
                                 "peak_height_m": float(h[peak]), "above_ray_m": float(-clearance[peak]),
                                 "nu": float(nu[peak])})
            i = j + 1
        else:
            i += 1
    dk = d_m / 1000.0
    ex, blocked = _excess(dk, h.astype(float), np.zeros(n), n, float(h_tx_m), float(h_rx_m), freq_hz / 1e9,
                          ae_m / 1000.0, polarization == "vertical")
    fresnel = [int(k) for k in np.flatnonzero((clearance < 0.6 * f1) & (np.arange(n) > 0) & (np.arange(n) < n - 1))]
    return {
        "from": {"lat": lat1, "lon": lon1, "ground_m": float(h[0]), "antenna_m": float(h_tx_m)},
        "to": {"lat": lat2, "lon": lon2, "ground_m": float(h[-1]), "antenna_m": float(h_rx_m)},
        "length_m": float(length_m), "freq_hz": float(freq_hz), "k_factor": float(k_factor),
        "effective_earth_radius_m": ae_m, "polarization": polarization,
        "dem": terrain.source, "dem_resolution_m": terrain.resolution_m, "points": n,
        "line_of_sight": not obstructions, "obstructions": obstructions,
        "min_clearance_m": float(clearance[1:-1].min()) if n > 2 else float("nan"),
        "fresnel_60_incursion_points": len(fresnel),
        "free_space_loss_db": float(fspl_db(freq_hz, length_m)),
        **{k: v for k, v in terms.items()},
        "engine_excess_loss_db": float(ex), "engine_forces_nlos": bool(blocked),
        "profile": {"d_m": d_m.round(2).tolist(), "ground_m": h.round(2).tolist(), "ray_m": ray.round(2).tolist(),
                    "earth_bulge_m": bulge.round(3).tolist(), "clearance_m": clearance.round(2).tolist(),
                    "fresnel_radius_m": f1.round(2).tolist()},
    }


def profile_command(
    dem: Optional[str] = typer.Option(None, "--dem", help="DEM file(s): GeoTIFF (any CRS), SRTM .hgt/.hgt.zip; "
                                      "comma list or folder."),
    start: Optional[str] = typer.Option(None, "--from", help="Transmitter LAT,LON (WGS 84 degrees)."),
    end: Optional[str] = typer.Option(None, "--to", help="Receiver LAT,LON (WGS 84 degrees)."),
    h_tx: Optional[float] = typer.Option(None, "--h-tx", help="Transmitter antenna height above ground, m."),
    h_rx: Optional[float] = typer.Option(None, "--h-rx", help="Receiver antenna height above ground, m."),
    freq_ghz: Optional[float] = typer.Option(None, "--freq-ghz", help="Frequency, GHz (0.03-50)."),
    k_factor: float = typer.Option(4.0 / 3.0, "--k", help="Effective earth-radius factor (default 4/3)."),
    step_m: Optional[float] = typer.Option(None, "--step-m", help="Profile spacing, m (default: the DEM's)."),
    polarization: str = typer.Option("horizontal", "--polarization", help="horizontal or vertical."),
    json_out: bool = typer.Option(False, "--json", help="Print everything, with the profile, as JSON."),
) -> None:
    """One link's terrain profile from a DEM: obstructions, delta-Bullington loss (P.452), what the engine adds."""
    if not dem:
        fail("missing option --dem FILE")
    a = _latlon(start, "--from")
    b = _latlon(end, "--to")
    for value, option in ((h_tx, "--h-tx"), (h_rx, "--h-rx"), (freq_ghz, "--freq-ghz")):
        if value is None:
            fail(f"missing option {option}")
        if not (math.isfinite(value) and value > 0):
            fail(f"{option} must be a positive number, got {value!r}")
    if step_m is not None and not (math.isfinite(step_m) and step_m > 0):
        fail(f"--step-m must be a positive number of metres, got {step_m!r}")
    rec = link_profile(dem, a, b, float(h_tx), float(h_rx), float(freq_ghz) * 1e9, k_factor=k_factor,  # type: ignore[arg-type]
                       step_m=step_m, polarization=polarization)
    if json_out:
        echo_json(rec)
        return
    typer.echo(f"Link {rec['length_m'] / 1000:.3f} km at {rec['freq_hz'] / 1e9:g} GHz, k = {rec['k_factor']:.3f}; "
               f"DEM {rec['dem']} ({rec['dem_resolution_m']:g} m, {rec['points']} points)")
    typer.echo(f"  from ground {rec['from']['ground_m']:.1f} m + {rec['from']['antenna_m']:g} m; "
               f"to ground {rec['to']['ground_m']:.1f} m + {rec['to']['antenna_m']:g} m")
    if rec["obstructions"]:
        typer.echo(f"  obstructed: {len(rec['obstructions'])} obstruction(s) above the ray")
        for o in rec["obstructions"]:
            typer.echo(f"    {o['from_m']:.0f}-{o['to_m']:.0f} m: peak {o['peak_height_m']:.1f} m at "
                       f"{o['peak_m']:.0f} m, {o['above_ray_m']:.1f} m above the ray (nu {o['nu']:.2f})")
    else:
        typer.echo(f"  line of sight: least clearance {rec['min_clearance_m']:.1f} m; "
                   f"{rec['fresnel_60_incursion_points']} point(s) inside 0.6 of the first Fresnel zone")
    typer.echo(f"  free-space loss {rec['free_space_loss_db']:.1f} dB (P.525)")
    typer.echo(f"  delta-Bullington (P.452-18 4.2.3): Ld {rec['ld_db']:.2f} dB = Lbull(actual) "
               f"{rec['lbulla_db']:.2f} + max(Ldsph {rec['ldsph_db']:.2f} - Lbull(smooth) {rec['lbulls_db']:.2f}, 0)")
    typer.echo(f"  engine adds {rec['engine_excess_loss_db']:.2f} dB (excess over the ground plane)"
               + ("; forces NLOS" if rec["engine_forces_nlos"] else ""))


def register(app: typer.Typer) -> None:
    """Add ``profile`` to the qamtu app."""
    app.command("profile")(guarded(profile_command))
