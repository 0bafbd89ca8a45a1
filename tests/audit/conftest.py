"""Small measurement files the audit tests make for themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Point

from qamtu.audit.assign import CityBoundary

ASTANA_LON, ASTANA_LAT = 71.43333, 51.16667  # catalogue centre (en.wikipedia Astana infobox)


@pytest.fixture
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
