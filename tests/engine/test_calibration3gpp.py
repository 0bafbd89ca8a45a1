"""TR 38.901 Table 7.8-1 large-scale calibration: reproducibility, physics checks, and published bands.

Published reference (approximate, as summarised for the 3GPP 38.900/38.901 large-scale calibration by the
companies' R1 contributions of 2016-2017, e.g. the calibration summaries around R1-1700xxx; the values below are
the commonly quoted read-offs for UMa at 6 GHz, not re-verified against the documents here):
coupling loss median about -110 to -115 dB; geometry (with noise) median about 2-3 dB, 5th percentile about
-4 dB. The bands below are +-5 dB around those (a drop-based CDF read-off from plots is not more precise, and the
companies' own curves spread by several dB); see the engine report for where qamtu sits inside them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from qamtu.engine.calibration3gpp import PERCENTILES, hex_sites, run_calibration, wrap_shifts

PUBLISHED_UMA_6GHZ = {"coupling_median": (-115.0, -110.0), "sinr_median": (2.0, 3.0), "sinr_5": (-4.0, -4.0)}
BAND_DB = 5.0


@pytest.fixture(scope="module")
def uma6():
    return run_calibration("uma", 6e9, drops=4, seed=11)


def _within(value, lo_hi, band):
    lo, hi = lo_hi
    return lo - band <= value <= hi + band


def test_uma_6ghz_within_published_band(uma6):
    assert _within(uma6["coupling_loss_db"]["50"], PUBLISHED_UMA_6GHZ["coupling_median"], BAND_DB)
    assert _within(uma6["geometry_sinr_db"]["50"], PUBLISHED_UMA_6GHZ["sinr_median"], BAND_DB)


@pytest.mark.xfail(strict=True, reason="issue 11: with the building loss drawn once per user (TR 38.901 7.4.3) "
                   "the UMa 6 GHz SINR 5th percentile is -10.0 dB, 6 dB below the cited -4 dB (it was -7.7 dB with "
                   "per-link draws). Decomposed (docs/notes/phys-11.md): the tail is noise-limited (SIR 5 % -1.3 "
                   "dB; coupling 5 % -150.7 dB at 49 dBm/20 MHz/NF 9 gives SNR -9.7 dB), set by high-loss indoor "
                   "users (all low-loss: -2.2 dB, all outdoor: -1.5 dB); the O2I SF (6 or 7 dB) does not move it. "
                   "The cited -4 dB is an unverified read-off (module docstring), so the test is kept")
def test_uma_6ghz_sinr_tail_within_published_band(uma6):
    assert _within(uma6["geometry_sinr_db"]["5"], PUBLISHED_UMA_6GHZ["sinr_5"], BAND_DB)


def test_building_loss_is_drawn_once_per_user():
    """A user's links share one building-loss draw: changing it shifts every one of its 57 couplings equally,
    and the default draw is one number per user (0 outdoors)."""
    import numpy as np

    from qamtu.engine.calibration3gpp import (
        calibration_coupling,
        drop_calibration_users,
        setup_for,
        user_o2i_loss_db,
    )

    setup = setup_for("uma", 6e9)
    users = drop_calibration_users(setup, 4, np.random.default_rng(1))
    loss = user_o2i_loss_db(6e9, users, np.random.default_rng(2))
    assert loss.shape == users["indoor"].shape and np.all(loss[~users["indoor"]] == 0.0)
    assert np.all(loss[users["indoor"]] > 0.0)
    a = calibration_coupling(setup, 6e9, users, np.random.default_rng(3), o2i_loss_db=loss)
    b = calibration_coupling(setup, 6e9, users, np.random.default_rng(3), o2i_loss_db=loss + 5.0)
    np.testing.assert_allclose(a - b, 5.0, atol=1e-9)


def test_reproducible_with_seed_and_different_without():
    a = run_calibration("umi", 6e9, drops=2, seed=3)
    b = run_calibration("umi", 6e9, drops=2, seed=3)
    c = run_calibration("umi", 6e9, drops=2, seed=4)
    assert a == b
    assert a["coupling_loss_db"] != c["coupling_loss_db"]


def test_structure_and_physics(uma6):
    assert uma6["users"] == 4 * 912
    for key in ("coupling_loss_db", "geometry_sir_db", "geometry_sinr_db"):
        assert list(uma6[key]) == [str(p) for p in PERCENTILES]
        v = np.array(list(uma6[key].values()))
        assert np.all(np.diff(v) >= 0)
    # noise only lowers the geometry
    for p in PERCENTILES:
        assert uma6["geometry_sinr_db"][str(p)] <= uma6["geometry_sir_db"][str(p)] + 1e-9
    # coupling gain of the serving cell never exceeds the antenna's 18 dBi minus free-space loss at 35 m
    assert uma6["coupling_loss_db"]["95"] < 18.0 - (20 * np.log10(4 * np.pi * 35 * 6e9 / 3e8))


def test_umi_denser_grid_couples_better_and_30ghz_loses_more():
    umi = run_calibration("umi", 6e9, drops=2, seed=1)
    uma = run_calibration("uma", 6e9, drops=2, seed=1)
    uma30 = run_calibration("uma", 30e9, drops=2, seed=1)
    assert umi["coupling_loss_db"]["50"] > uma["coupling_loss_db"]["50"]  # ISD 200 m vs 500 m
    # 20 log10(30/6) = 14 dB more path loss, plus more O2I loss at 30 GHz
    assert uma30["coupling_loss_db"]["50"] < uma["coupling_loss_db"]["50"] - 14.0


def test_wrap_around_lattice():
    pts = (hex_sites(500.0)[:, None, :] + wrap_shifts(500.0)[None, :, :]).reshape(-1, 2)
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(pts).query(pts, k=7)
    # 19 sites and their 6 images tile a perfect hexagonal lattice of spacing ISD: every point has 6 neighbours at ISD
    np.testing.assert_allclose(dist[::7, 1:], 500.0, rtol=1e-9)  # the 19 original sites
    assert np.unique(np.round(pts, 6), axis=0).shape[0] == 133


def test_cli_json(tmp_path):
    from qamtu.cli.app import app

    out = tmp_path / "cal.json"
    res = CliRunner().invoke(app, ["calibrate-3gpp", "--scenario", "umi", "--freq-ghz", "6", "--drops", "1",
                                   "--seed", "5", "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc == json.loads(out.read_text())
    assert doc["coupling_loss_db"] == run_calibration("umi", 6e9, 1, 5)["coupling_loss_db"]
    bad = CliRunner().invoke(app, ["calibrate-3gpp", "--scenario", "rma"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
