"""compute_links_many: configurations that differ only in the threshold, coverage level, load or search cap share
one evaluation of the path terms, and each gets exactly (bit for bit) the links of its own computation."""

from __future__ import annotations

import numpy as np
import pytest

from qamtu.engine import EngineConfig
from qamtu.engine.links import Links, compute_links, compute_links_many


@pytest.fixture(scope="module")
def city():
    from qamtu.geo.area import make_study_area
    from qamtu.geo.catalogue import get_city
    from qamtu.plan.candidates import lattice_candidates

    area = make_study_area(get_city("konaev"), resolution_m=500.0)
    return area, lattice_candidates(area, 1500.0)


def assert_same_links(got: Links, want: Links) -> None:
    """Every per-link array, the residual and the cut-off identical (bytes and dtype)."""
    for name in Links.ARRAYS:
        a, b = getattr(got, name), getattr(want, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name
    for name in ("residual_mw", "residual_var_mw2", "residual_rsrp_mw"):
        assert getattr(got, name).tobytes() == getattr(want, name).tobytes(), name
    assert got.cutoff_m == want.cutoff_m and got.info == want.info and got.config == want.config


@pytest.mark.parametrize("options, terrain", [({}, True), ({}, False),
                                              ({"interference_beams": "served", "coverage_users": "all"}, True)])
def test_each_configuration_gets_the_links_of_its_own_computation(city, options, terrain):
    import dataclasses

    area, cand = city
    assert area.terrain is not None  # the shipped DEM: the terrain hook's two passes
    if not terrain:
        area = dataclasses.replace(area, terrain=None, clutter=None)
    base = EngineConfig(**options)
    configs = [base.replace(rsrp_threshold_dbm=t, coverage_level=p) for t in (-100.0, -112.0, -120.0)
               for p in (0.8, 0.95)]
    configs += [base.replace(rsrp_threshold_dbm=-112.0, max_cutoff_m=2500.0), configs[2].replace(cell_load=0.9)]
    many = compute_links_many(area, cand, configs)
    direct = [compute_links(area, cand, c) for c in configs]
    for got, want in zip(many, direct):
        assert_same_links(got, want)
    # not vacuous: the thresholds and the cap give different kept sets and radii
    assert len({d.n_links for d in direct}) >= 3
    assert len({d.cutoff_m for d in direct}) >= 2
    # the load changes no link: its arrays are those of the same threshold's (shared, not copied)
    assert many[-1].pixel is many[2].pixel and many[-1].config.cell_load == 0.9


def test_one_evaluation_of_the_path_terms(city, monkeypatch):
    """The kernel evaluates each pair once for all thresholds (its calls carry every threshold at once); the
    served-area model's coarse links (default ``interference_beams = "served"``: no relevance floor, one
    threshold) are evaluated once for both configurations."""
    import qamtu.engine._fast as fast

    area, cand = city
    seen = []
    real = fast.link_kernel

    def counting(*args):
        seen.append((args[18].copy(), args[20].copy(), args[0].size))  # thresholds, relevance floors, pairs
        return real(*args)

    monkeypatch.setattr(fast, "link_kernel", counting)
    configs = [EngineConfig(rsrp_threshold_dbm=t) for t in (-100.0, -110.0)]
    many = compute_links_many(area, cand, configs)
    fine = [t for t, floors, _ in seen if (floors > -1e8).all()]
    assert fine and all(list(t) == [-100.0, -110.0] for t in fine)
    coarse = sum(n for _, floors, n in seen if (floors <= -1e8).all())
    assert many[0].served is many[1].served and coarse == many[0].served.pairs.n_base > 0


def test_configurations_that_change_the_path_terms_are_refused(city):
    from qamtu.errors import InvalidInputError

    area, cand = city
    with pytest.raises(InvalidInputError, match="may differ only in"):
        compute_links_many(area, cand, [EngineConfig(), EngineConfig(ue_height_m=10.0)])
