"""Small synthetic study areas and site tables for the engine tests (no dependence on qamtu.geo's builders)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine


@dataclass
class FakeCity:
    id: str = "testville"


@dataclass
class FakeArea:
    """The subset of qamtu.geo.area.StudyArea the engine reads."""

    shape: tuple[int, int]
    resolution_m: float
    transform: Affine
    mask: np.ndarray
    population: np.ndarray
    env_class: np.ndarray
    crs: str = "EPSG:32643"
    city: Any = field(default_factory=FakeCity)
    boundary_is_approximation: bool = True

    def pixel_centres(self):
        rows, cols = self.shape
        t = self.transform
        xs = t.c + t.a * (np.arange(cols) + 0.5)
        ys = t.f + t.e * (np.arange(rows) + 0.5)
        return np.meshgrid(xs, ys)

    @property
    def area_km2(self) -> float:
        return float(self.mask.sum()) * self.resolution_m**2 / 1e6


def make_area(rows=40, cols=50, resolution_m=50.0, seed=0, disc=True) -> FakeArea:
    rng = np.random.default_rng(seed)
    transform = Affine(resolution_m, 0, 0.0, 0, -resolution_m, rows * resolution_m)
    rr, cc = np.mgrid[0:rows, 0:cols]
    if disc:
        r = np.hypot(rr - rows / 2 + 0.5, cc - cols / 2 + 0.5)
        mask = r <= 0.5 * min(rows, cols)
    else:
        mask = np.ones((rows, cols), bool)
    env = np.where(r < 0.15 * min(rows, cols), 0, np.where(r < 0.3 * min(rows, cols), 1,
                   np.where(r < 0.45 * min(rows, cols), 2, 3))).astype(np.int8) if disc else np.ones((rows, cols), np.int8)
    pop = np.where(mask, rng.gamma(2.0, 10.0, (rows, cols)), 0.0)
    return FakeArea((rows, cols), resolution_m, transform, mask, pop, env)


def make_sites(xy_sites, height_m=25.0, tx_power_dbm=53.0, tilt=(2.0, 6.0), antenna=None) -> pd.DataFrame:
    rows = []
    for i, (x, y) in enumerate(xy_sites):
        for az in (30.0, 150.0, 270.0):
            row = dict(site_id=f"S{i}", x_m=x, y_m=y, height_m=height_m, azimuth_deg=az,
                       mechanical_tilt_deg=tilt[0], electrical_tilt_deg=tilt[1], tx_power_dbm=tx_power_dbm)
            if antenna is not None:
                row["antenna"] = antenna
            rows.append(row)
    return pd.DataFrame(rows)

