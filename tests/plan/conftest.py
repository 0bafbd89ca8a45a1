"""Shared fixtures of the planner tests: one small city at a coarse resolution, prepared once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def konaev_small():
    """Konaev (the smallest catalogue area, 56 km2) at 250 m with 700 m lattice candidates and a 4 km cut-off cap."""
    from qamtu.engine import EngineConfig
    from qamtu.geo.area import make_study_area
    from qamtu.plan import CityModel, combine_candidates, lattice_candidates

    area = make_study_area("konaev", resolution_m=250.0)
    cand = combine_candidates(lattice_candidates(area, 700.0))
    config = EngineConfig(max_cutoff_m=4000.0)
    model = CityModel(area, cand, config)
    return area, cand, config, model
