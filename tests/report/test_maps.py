"""Coverage outputs: GeoTIFF reopened with rasterio equals the arrays; PNG maps; kpis.json / kpis.csv."""

import csv
import json
from dataclasses import dataclass

import numpy as np
import pytest
import rasterio

from qamtu.geo.area import make_study_area
from qamtu.geo.layout import hex_layout
from qamtu.report import maps

REQUIRED_KPI_KEYS = {"city", "territory_share", "population_share", "population_total", "area_km2", "sectors",
                     "dl_mbps_percentiles"}


@dataclass
class FakeResult:
    """Arrays of the area's shape with known values (the engine's CoverageResult contract)."""

    area: object
    rsrp_dbm: np.ndarray
    coverage_probability: np.ndarray
    sinr_db: np.ndarray
    dl_mbps: np.ndarray
    ul_mbps: np.ndarray
    best_server: np.ndarray
    covered: np.ndarray
    ssb_sinr_db: np.ndarray = None
    p_covered_outdoor: np.ndarray = None
    p_covered_indoor: np.ndarray = None
    config: object = None

    def kpis(self):
        m = self.area.mask
        return {
            "city": self.area.city.id,
            "territory_share": float(self.covered[m].mean()),
            "population_share": 0.5,
            "population_total": self.area.population_total,
            "area_km2": self.area.area_km2,
            "sectors": 9,
            "sites": 3,
            "dl_mbps_percentiles": {"5": 10.0, "50": 100.0, "95": 400.0},
        }


@pytest.fixture(scope="module")
def area():
    return make_study_area("konaev", resolution_m=250)


@pytest.fixture(scope="module")
def result(area):
    x, y = area.pixel_centres()
    cx, cy = area.centre_xy
    d = np.hypot(x - cx, y - cy)
    rsrp = (-60.0 - d / 100.0).astype(np.float32)
    return FakeResult(
        area=area,
        rsrp_dbm=rsrp,
        coverage_probability=np.clip(1 - d / 5000, 0, 1).astype(np.float32),
        sinr_db=(rsrp + 80).astype(np.float32),
        dl_mbps=np.maximum(500 - d / 10, 0).astype(np.float32),
        ul_mbps=np.maximum(50 - d / 100, 0).astype(np.float32),
        best_server=(np.arange(d.size).reshape(d.shape) % 9).astype(np.int32),
        covered=d < 3000,
        ssb_sinr_db=(rsrp + 70).astype(np.float32),
        p_covered_outdoor=np.clip(1 - d / 4000, 0, 1).astype(np.float32),
        p_covered_indoor=np.clip(1 - d / 2000, 0, 1).astype(np.float32),
    )


def test_multiband_geotiff_reopens_with_crs_band_names_and_values(tmp_path, area, result):
    paths = maps.write_geotiffs(result, area, tmp_path)
    with rasterio.open(paths["coverage"]) as src:
        assert src.crs.to_string() == area.crs
        assert src.transform == area.transform
        assert (src.height, src.width) == area.shape
        assert src.descriptions == tuple(maps.METRICS)
        assert src.tags()["boundary_is_approximation"] == "True"
        assert src.tags(1)["unit"] == "dBm"
        for name, metric in maps.METRICS.items():
            band = src.read(src.descriptions.index(name) + 1)
            expected = np.asarray(getattr(area if metric.source == "area" else result, metric.attr),
                                  dtype=np.float32)
            assert np.all(np.isnan(band[~area.mask]))  # nodata outside the boundary
            np.testing.assert_array_equal(band[area.mask], expected[area.mask])
    np.testing.assert_array_equal(maps.read_geotiff_band(paths["coverage"], "dl_mbps")[area.mask],
                                  result.dl_mbps[area.mask])
    population = maps.read_geotiff_band(paths["coverage"], "population")
    assert np.nansum(population, dtype=np.float64) == pytest.approx(area.population_total, rel=1e-6)


def test_one_geotiff_per_metric(tmp_path, area, result):
    paths = maps.write_geotiffs(result, area, tmp_path, per_metric=True, metrics=("rsrp_dbm", "covered"))
    assert set(paths) == {"rsrp_dbm", "covered"}
    with rasterio.open(paths["covered"]) as src:
        assert src.count == 1 and src.descriptions == ("covered",)
        assert np.nansum(src.read(1)) == result.covered[area.mask].sum()


def test_png_map_and_title(tmp_path, area, result):
    layout = hex_layout(area, isd_m=1500)
    path = maps.plot_metric_png(result, area, "rsrp_dbm", tmp_path / "rsrp.png", sites=layout)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    title = maps._title(area, maps.METRICS["rsrp_dbm"], layout)
    assert "(dBm)" in title and "approximate boundary" in title and "reference layout" in title
    with pytest.raises(ValueError, match="unknown metric 'snr'"):
        maps.plot_metric_png(result, area, "snr", tmp_path / "x.png")


def test_kpi_files(tmp_path, area, result):
    written = maps.write_coverage_outputs(result, area, tmp_path, png=False)
    record = json.loads((tmp_path / "kpis.json").read_text())
    assert REQUIRED_KPI_KEYS <= set(record)
    assert record["dl_mbps_percentiles"] == {"5": 10.0, "50": 100.0, "95": 400.0}
    assert record["boundary_is_approximation"] is True
    assert "approximate" in record["assumptions"]["boundary"]
    assert record["population_date"] == "2023-01-01"
    with open(tmp_path / "kpis.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and float(rows[0]["dl_mbps_p50"]) == 100.0 and rows[0]["city"] == "konaev"
    assert int(rows[0]["sites"]) == 3
    assert written["record"] == record
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporary file
