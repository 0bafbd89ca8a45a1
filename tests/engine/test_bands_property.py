"""Property: any split of a grid into row bands of engine tiles gives the links and maps of the single run, EXACTLY.

The environment class of the fake area changes by row (urban at the top, rural at the bottom, random per row), so a
band can lack some of the area's classes; the cut-off stays the whole area's (given by the driver; and
``compute_links(rows=...)`` derives it from the whole mask when not given).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_testdata import make_area, make_sites
from qamtu.engine import EngineConfig, aggregate, compute_links
from qamtu.engine.bands import band_rows, compute_links_banded, evaluate_banded

FIELDS = ("pixel", "sector", "rsrp_dbm", "signal_dbm", "interference_mw", "path_gain_db", "coverage_probability",
          "residual_mw", "residual_var_mw2", "residual_rsrp_mw")
MAPS = ("rsrp_dbm", "coverage_probability", "sinr_db", "dl_mbps", "ul_mbps", "best_server", "covered")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(5, 40), cols=st.integers(5, 30), side=st.integers(2, 9), n_bands=st.integers(1, 12),
       seed=st.integers(0, 1000))
def test_bands_equal_the_single_run(rows, cols, side, n_bands, seed):
    rng = np.random.default_rng(seed)
    area = make_area(rows=rows, cols=cols, resolution_m=60.0, seed=seed, disc=False)
    area.env_class = np.repeat(np.sort(rng.integers(0, 4, rows)).astype(np.int8)[:, None], cols, axis=1)
    sites = make_sites([(float(x), float(y)) for x, y in rng.uniform(0, 60.0 * max(rows, cols), (3, 2))])
    config = EngineConfig(chunk_pixels=side * side, workers=1)
    want = compute_links(area, sites, config)
    got = compute_links_banded(area, sites, config, n_bands=n_bands)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    assert got.info == want.info
    maps, ref = evaluate_banded(area, sites, config, n_bands=n_bands), aggregate(area, want, config)
    for name in MAPS:
        np.testing.assert_array_equal(getattr(maps, name), getattr(ref, name), err_msg=name)
    assert len(band_rows(area.shape, config, n_bands)) == min(n_bands, -(-rows // side))
