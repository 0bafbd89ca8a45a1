"""Tiles of a large city as units of work: row bands of engine tiles give the links of the single run, exactly.

Oracle: ``qamtu.engine.compute_links`` in one process (the engine's own tiling and thread pool); every array of
:class:`Links` must be EQUAL (not close), and so must the aggregated maps and KPIs.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

from qamtu.cli.app import app
from qamtu.distributed import SequentialExecutor, open_executor
from qamtu.engine import EngineConfig, aggregate, compute_links
from qamtu.engine.links import Links
from qamtu.engine.bands import band_rows, compute_links_banded, evaluate_banded
from qamtu.errors import InvalidInputError
from qamtu.geo.area import make_study_area
from qamtu.geo.layout import hex_layout
from qamtu.geo.sites import SITE_COLUMNS

CITY = "konaev"
RES = 400.0
#: 8 x 8 pixel tiles: a 400 m grid of Konaev has several tile rows, so several bands
CONFIG = EngineConfig(chunk_pixels=64)

#: every per-link array (issue 11's distribution fields p_los ... included) and the residual
LINK_ARRAYS = Links.ARRAYS + ("residual_mw", "residual_var_mw2", "residual_rsrp_mw")


@pytest.fixture(scope="module")
def city():
    area = make_study_area(CITY, resolution_m=RES)
    sites = hex_layout(area, isd_m=2000.0)
    return area, sites, compute_links(area, sites, CONFIG)


def assert_links_equal(got, want):
    for name in LINK_ARRAYS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert got.shape == want.shape and got.cutoff_m == want.cutoff_m and got.info == want.info
    assert got.config == want.config and len(got.sectors) == len(want.sectors)


def assert_results_equal(area, got, want):
    assert_maps_equal(aggregate(area, got, CONFIG), aggregate(area, want, CONFIG))


def assert_maps_equal(a, b):
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        elif isinstance(x, dict):  # extra / probabilities: the per-class probability and quantile maps
            assert sorted(x) == sorted(y), f.name
            for key in x:
                np.testing.assert_array_equal(x[key], y[key], err_msg=f"{f.name}[{key}]")
    assert json.dumps(a.kpis(), sort_keys=True, default=str) == json.dumps(b.kpis(), sort_keys=True, default=str)


def test_bands_are_whole_tile_rows_covering_the_grid():
    tile = 8
    for rows in (1, 7, 8, 9, 64, 65, 100):
        for n in (1, 2, 3, 5, 50):
            bands = band_rows((rows, 10), CONFIG, n)
            assert bands[0][0] == 0 and bands[-1][1] == rows
            assert all(b0 % tile == 0 and (b1 % tile == 0 or b1 == rows) and b1 > b0 for b0, b1 in bands)
            assert all(a[1] == b[0] for a, b in zip(bands, bands[1:]))
            assert len(bands) == min(n, -(-rows // tile))


@pytest.mark.parametrize("n_bands", [2, 3, 1000])
def test_sequential_bands_equal_the_single_run(city, n_bands):
    area, sites, want = city
    assert len(band_rows(area.shape, CONFIG, n_bands)) >= 2
    got = compute_links_banded(area, sites, CONFIG, SequentialExecutor(), n_bands=n_bands)
    assert want.n_links > 1000
    assert_links_equal(got, want)
    assert_results_equal(area, got, want)


@pytest.mark.parametrize("n_bands", [2, 1000])
def test_sequential_band_aggregates_equal_the_single_run(city, n_bands):
    """Each band aggregated alone (its links never gathered): the maps and KPIs of the single run."""
    area, sites, want = city
    got = evaluate_banded(area, sites, CONFIG, SequentialExecutor(), n_bands=n_bands)
    assert np.isfinite(got.sinr_db[area.mask]).sum() > 100
    assert_maps_equal(got, aggregate(area, want, CONFIG))


def test_a_band_keeps_the_whole_areas_cut_off(city):
    """The link-budget envelope depends on the environment classes present: a band uses the whole area's, whether
    the driver hands it over (what ``qamtu.engine.bands`` does) or the band derives it (from the whole mask)."""
    area, sites, want = city
    band = band_rows(area.shape, CONFIG, 3)[0]
    assert set(np.unique(area.env_class[band[0]:band[1]][area.mask[band[0]:band[1]]])) != set(
        np.unique(area.env_class[area.mask]))
    keep = (want.pixel // area.shape[1] >= band[0]) & (want.pixel // area.shape[1] < band[1])
    for cutoff in (want.info, None):
        part = compute_links(area, sites, CONFIG, rows=band, cutoff=cutoff)
        assert part.info == want.info
        np.testing.assert_array_equal(part.pixel, want.pixel[keep])
        np.testing.assert_array_equal(part.rsrp_dbm, want.rsrp_dbm[keep])


def test_a_band_not_on_tile_rows_is_refused(city):
    area, sites, _ = city
    with pytest.raises(InvalidInputError, match="multiple of the tile side 8"):
        compute_links(area, sites, CONFIG, rows=(3, 16))


@pytest.mark.slow
def test_bands_on_a_loopback_cluster_equal_the_single_run(city, loopback_cluster):
    area, sites, want = city
    with open_executor(loopback_cluster) as executor:
        got = compute_links_banded(area, sites, CONFIG, executor)
        maps = evaluate_banded(area, sites, CONFIG, executor)
    assert_links_equal(got, want)
    assert_results_equal(area, got, want)
    assert_maps_equal(maps, aggregate(area, want, CONFIG))


@pytest.mark.slow
def test_coverage_cli_with_dask_equals_the_single_process_run(tmp_path, city, loopback_cluster):
    area, sites, _ = city
    path = tmp_path / "sites.csv"
    sites[list(SITE_COLUMNS)].to_csv(path, index=False)
    out = {}
    for name, extra in (("here", []), ("dask", ["--dask", loopback_cluster])):
        folder = tmp_path / name
        result = CliRunner().invoke(app, ["coverage", "--city", CITY, "--sites", str(path), "--out", str(folder),
                                          "--resolution-m", str(RES), "--no-png", "--json"] + extra)
        assert result.exit_code == 0, result.output
        out[name] = json.loads((folder / "kpis.json").read_text())
    for rec in out.values():
        rec.pop("elapsed_s", None)
        rec.pop("created", None)
    assert out["here"] == out["dask"]
    with rasterio.open(tmp_path / "here" / "coverage.tif") as a, rasterio.open(tmp_path / "dask" / "coverage.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())
