"""Test data shared by the audit tests (a uniquely named module, so that no other folder's conftest shadows it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import Transformer

from shapely.geometry import Point

from qamtu.audit.assign import CityBoundary
from qamtu.audit.calibration import _outdoor_config, predict_rsrp_dbm, serving_rsrp_median_dbm
from qamtu.engine import EngineConfig
from qamtu.engine.links import prepare_sectors
from qamtu.geo.sites import validate_sites

ASTANA_LON, ASTANA_LAT = 71.43333, 51.16667  # catalogue centre (en.wikipedia Astana infobox)


def astana_boundary() -> dict[str, CityBoundary]:
    """A 10 km disc around Astana's catalogue centre in UTM 42N (built here, independent of qamtu.geo)."""
    crs = "EPSG:32642"
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(ASTANA_LON, ASTANA_LAT)
    return {"astana": CityBoundary("astana", crs, Point(x, y).buffer(10_000.0), True)}


def drive_frame(n: int = 200, seed: int = 0, start: str = "2024-01-01", end: str = "2024-12-31") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, end, periods=n, tz="UTC")
    return pd.DataFrame({
        "time": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lat": ASTANA_LAT + rng.uniform(-0.03, 0.03, n),
        "lon": ASTANA_LON + rng.uniform(-0.05, 0.05, n),
        "operator": rng.choice(["Kcell", "Tele2"], n),
        "tech": rng.choice(["4G", "5G"], n),
        "rsrp_dbm": rng.uniform(-120, -70, n).round(1),
        "sinr_db": rng.uniform(-5, 25, n).round(1),
        "dl_mbps": rng.lognormal(np.log(80), 0.5, n).round(2),
        "ul_mbps": rng.lognormal(np.log(15), 0.5, n).round(2),
        "cell_id": rng.choice(["A1", "A2", "B1"], n),
    })


def same_route(frame: pd.DataFrame, split: str = "2024-07-01") -> pd.Series:
    """Make the samples after ``split`` retrace the route (positions, operators, techs) of those before it, as a
    re-drive of the same streets; returns the mask of the later samples."""
    late = pd.to_datetime(frame["time"]) >= pd.Timestamp(split, tz="UTC")
    for c in ("lat", "lon", "operator", "tech"):
        frame.loc[late, c] = np.resize(frame.loc[~late, c].to_numpy(), int(late.sum()))
    return late


#: One good drive-test line and one line per kind of bad row (header: canonical columns with cell_id).
GOOD_LINE = "2024-03-01T10:00:00+05:00,51.17,71.43,Kcell,5G,-90,10,120.5,20,A1\n"
BAD_LINES = [
    "not-a-time,51.17,71.43,Kcell,5G,-90,10,120,20,A1\n",
    "2024-03-01T10:00:00Z,95.0,71.43,Kcell,5G,-90,10,120,20,A1\n",
    "2024-03-01T10:00:00Z,51.17,71.43,,5G,-90,10,120,20,A1\n",
    "2024-03-01T10:00:00Z,51.17,71.43,Kcell,3G,-90,10,120,20,A1\n",
    "2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-160,10,120,20,A1\n",
    "2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,-90,10,-1,20,A1\n",
    "2024-03-01T10:00:00Z,51.17,71.43,Kcell,5G,,,,,A1\n",
]


CRS = "EPSG:32642"
TO_XY = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
TO_LL = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def make_sites() -> pd.DataFrame:
    x0, y0 = TO_XY.transform(ASTANA_LON, ASTANA_LAT)
    rows = []
    for i, (dx, dy) in enumerate([(0.0, 0.0), (1500.0, 0.0), (-1500.0, 800.0)]):
        lon, lat = TO_LL.transform(x0 + dx, y0 + dy)
        for az in (30, 150, 270):
            rows.append(dict(site_id=f"S{i}", lat=lat, lon=lon, height_m=25.0, azimuth_deg=az, mechanical_tilt_deg=0.0,
                             electrical_tilt_deg=6.0, tx_power_dbm=53.0, operator="Kcell", cell_id=f"S{i}-{az}"))
    return validate_sites(pd.DataFrame(rows))


def synthetic(n=500, offset_db=6.0, slope=8.0, noise_db=4.0, seed=0, env_code=1, min_d=150.0):
    """Samples in front of random sectors; MEASURED = engine prediction - planted correction + noise."""
    sites = make_sites()
    sec = prepare_sectors(sites, CRS)
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(sec), n)
    r = np.exp(rng.uniform(np.log(min_d), np.log(3000.0), n))
    ang = np.radians(sec.azimuth_deg[k] + rng.uniform(-50, 50, n))
    x = sec.x_m[k] + r * np.sin(ang)
    y = sec.y_m[k] + r * np.cos(ang)
    cfg = _outdoor_config(EngineConfig(), None)
    _, d3d = predict_rsrp_dbm(x, y, k, np.full(n, env_code), sec, cfg)
    # the model's median of a serving sector's measured RSRP (what calibrate compares with; issue 11)
    pred, _ = serving_rsrp_median_dbm(x, y, k, np.full(n, env_code), sec, cfg, 5000.0)
    meas = pred - (offset_db + slope * np.log10(d3d / 1000.0)) + rng.normal(0.0, noise_db, n)
    lon, lat = TO_LL.transform(x, y)
    frame = pd.DataFrame(dict(time=pd.Timestamp("2024-05-01", tz="UTC"), lat=lat, lon=lon, operator="Kcell",
                              tech="5G", rsrp_dbm=meas, sinr_db=np.nan, dl_mbps=np.nan, ul_mbps=np.nan,
                              cell_id=sites["cell_id"].to_numpy()[k], weight=1.0))
    return frame, sites, k
