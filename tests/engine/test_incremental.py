"""IncrementalAggregator: a sequence of active subsets gives exactly what a fresh ``aggregate`` gives."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_testdata import make_area, make_sites
from qamtu.engine import EngineConfig, IncrementalAggregator, aggregate, compute_links

SITES_XY = [(400.0, 500.0), (1500.0, 900.0), (1000.0, 250.0), (1900.0, 300.0), (300.0, 1300.0), (1200.0, 1400.0)]


@functools.lru_cache(maxsize=None)
def _case(margin_db: float | None):
    area = make_area(rows=16, cols=20, resolution_m=100.0, seed=3)
    sites = make_sites(SITES_XY)
    cfg = EngineConfig() if margin_db is None else EngineConfig().replace(cutoff_margin_db=margin_db)
    if margin_db is not None and margin_db < 60.0:  # one weak site per pixel stored, the others in the residual
        cfg = cfg.replace(cutoff_weak_sites=1)
    links = compute_links(area, sites, cfg)
    site_of = np.asarray(links.sectors.site_id)
    return area, links, cfg, site_of


def _same(a, b):
    for name in ("rsrp_dbm", "coverage_probability", "sinr_db", "dl_mbps", "ul_mbps", "best_server", "covered",
                 "ssb_sinr_db", "active"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.probabilities.keys() == b.probabilities.keys()
    for key in a.probabilities:
        np.testing.assert_array_equal(a.probabilities[key], b.probabilities[key], err_msg=key)
    for key in a.extra:
        np.testing.assert_array_equal(a.extra[key], b.extra[key], err_msg=key)
    ka, kb = a.kpis(), b.kpis()

    def eq(x, y):
        if isinstance(x, dict):
            return x.keys() == y.keys() and all(eq(x[k], y[k]) for k in x)
        if isinstance(x, float) and math.isnan(x):
            return isinstance(y, float) and math.isnan(y)
        return x == y

    assert eq(ka, kb)


# a low floor (whole weak sites in the residual: at the default 30 dB every site of this small case has a stored
# link at every pixel, its weak sectors go with it, Links.cosited_weak_mw) and every link stored
@pytest.mark.parametrize("margin_db", [20.0, 60.0])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.lists(st.booleans(), min_size=len(SITES_XY), max_size=len(SITES_XY)),
                      min_size=1, max_size=6),
       full=st.booleans())
def test_incremental_equals_fresh_aggregate(margin_db, steps, full):
    area, links, cfg, site_of = _case(margin_db)
    if margin_db < 60.0:
        assert links.residual_mw.any() and links.cosited_weak_mw.any()  # the share-scaled residual path is exercised
    inc = IncrementalAggregator(area, links, cfg, full=full)
    names = np.array([f"S{i}" for i in range(len(SITES_XY))])
    for on in steps:
        active = np.isin(site_of, names[np.asarray(on)])
        _same(inc.evaluate(active), aggregate(area, links, cfg, active=active, full=full))


def test_only_touched_pixels_are_recomputed():
    area, links, cfg, site_of = _case(60.0)
    assert not links.residual_mw.any()
    inc = IncrementalAggregator(area, links, cfg, full=False)
    base = np.isin(site_of, ["S0", "S1"])
    inc.evaluate(base)
    inc.evaluate(base)
    assert inc.recomputed == 0  # nothing changed
    plus = base | (site_of == "S3")
    inc.evaluate(plus)
    touched = np.unique(links.pixel[site_of[links.sector] == "S3"]).size
    assert inc.recomputed == touched
