"""Every input reader of issue 15's scope, fuzzed: a broken file gives a named error (QamtuError), never another
exception, and on the command line exit 2 with one readable line.

Readers: site tables (CSV and GeoJSON), scenarios (YAML and TOML), boundaries (GeoJSON), population rasters
(GeoTIFF). Each starts from a valid file which Hypothesis corrupts: truncated, bytes flipped or inserted, a line
repeated or dropped, or replaced by random bytes. (Drive-test CSV and Ookla tiles are fuzzed in tests/audit.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qamtu.cli.app import app
from qamtu.errors import QamtuError

SITES_CSV = (b"site_id,lat,lon,height_m,azimuth_deg,mechanical_tilt_deg,electrical_tilt_deg,tx_power_dbm,operator\n"
             b"T-1,42.90,71.37,28,0,2,6,53,Kcell\nT-1,42.90,71.37,28,120,2,6,53,Kcell\n"
             b"\"T,2\",42.91,71.38,30,240,2,6,53,\"Beeline\"\n")
SITES_GEOJSON = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [71.37, 42.9]},
     "properties": {"site_id": "T-1", "height_m": 28, "azimuth_deg": a, "mechanical_tilt_deg": 2,
                    "electrical_tilt_deg": 6, "tx_power_dbm": 53}} for a in (0, 120, 240)]}).encode()
SCENARIO_YAML = (b"name: fuzz\ndeadline: 2025-12-31\ncities: {ids: [taraz]}\n"
                 b"crews: {count: 3, sites_per_crew_month: 2}\nlead_times_months:\n"
                 b"  default: &d {permits: 2, power: 1, backhaul: 1}\n  by_class: {macro: *d}\n")
SCENARIO_TOML = (b'name = "fuzz"\ndeadline = 2025-12-31\n[cities]\nids = ["taraz"]\n'
                 b'[crews]\ncount = 3\nsites_per_crew_month = 2.0\n')
BOUNDARY = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {
    "type": "Polygon", "coordinates": [[[71.3, 42.85], [71.45, 42.85], [71.45, 42.95], [71.3, 42.95],
                                        [71.3, 42.85]]]}}]}).encode()


@st.composite
def corrupted(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "dup_line", "drop_line", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    i = draw(st.integers(0, max(len(data) - 1, 0)))
    if kind == "truncate":
        return data[:i]
    if kind == "flip":
        return data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1:]
    if kind == "insert":
        return data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
    lines = data.split(b"\n")
    j = draw(st.integers(0, len(lines) - 1))
    if kind == "dup_line":
        return b"\n".join(lines[:j + 1] + lines[j:])
    return b"\n".join(lines[:j] + lines[j + 1:])


def _only_named_errors(read, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        read(path)
    except QamtuError as exc:
        assert str(exc).strip(), "an error needs a message"


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(corrupted(SITES_CSV))
def test_site_csv(tmp_path, data):
    from qamtu.geo.sites import read_sites

    _only_named_errors(read_sites, tmp_path / "sites.csv", data)


@FUZZ
@given(corrupted(SITES_GEOJSON))
def test_site_geojson(tmp_path, data):
    from qamtu.geo.sites import read_sites

    _only_named_errors(read_sites, tmp_path / "sites.geojson", data)


@FUZZ
@given(corrupted(SCENARIO_YAML))
def test_scenario_yaml(tmp_path, data):
    from qamtu.chain.scenario import load_scenario

    _only_named_errors(load_scenario, tmp_path / "s.yaml", data)


@FUZZ
@given(corrupted(SCENARIO_TOML))
def test_scenario_toml(tmp_path, data):
    from qamtu.chain.scenario import load_scenario

    _only_named_errors(load_scenario, tmp_path / "s.toml", data)


@FUZZ
@given(corrupted(BOUNDARY))
def test_boundary(tmp_path, data):
    from qamtu.geo.boundary import read_boundary

    _only_named_errors(lambda p: read_boundary(p, "EPSG:32642"), tmp_path / "b.geojson", data)


@pytest.fixture(scope="module")
def raster_bytes(tmp_path_factory) -> bytes:
    import rasterio

    path = tmp_path_factory.mktemp("raster") / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", height=16, width=16, count=1, dtype="float32", crs="EPSG:4326",
                       transform=Affine(0.01, 0, 71.3, 0, -0.01, 42.98)) as dst:
        dst.write(np.full((16, 16), 10.0, "float32"), 1)
    return path.read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_population_raster(tmp_path, raster_bytes, data):
    import shapely
    from pyproj import Transformer

    from qamtu.geo.population import population_from_raster

    blob = data.draw(corrupted(raster_bytes))
    x0, y0 = Transformer.from_crs("EPSG:4326", "EPSG:32642", always_xy=True).transform(71.37, 42.9)
    transform = Affine(1000.0, 0, x0 - 5000, 0, -1000.0, y0 + 5000)
    boundary = shapely.box(x0 - 5000, y0 - 5000, x0 + 5000, y0 + 5000)
    mask = np.ones((10, 10), bool)
    _only_named_errors(lambda p: population_from_raster(p, "EPSG:32642", transform, (10, 10), mask, boundary),
                       tmp_path / "pop.tif", blob)


# --- the same broken files through the command line: exit 2, one line ---

# A stray quote once swallowed the next rows into one field (read as 1 sector, no error): site tables now go
# through qamtu.csvio, which rejects that line by its physical line number.
STRAY_QUOTE = pytest.param("sites.csv", SITES_CSV.replace(b"28,0", b"28,\"0"), id="stray-quote")
CORPUS = {
    "sites.csv": [b"\xff\xfe\x00s\x00i", SITES_CSV[:40], b"\x00" * 64],
    "sites.geojson": [SITES_GEOJSON[:50], b"{}", b"[1,2,3]", SITES_GEOJSON.replace(b"Point", b"Pint")],
    "s.yaml": [b"crews: [1, 2", b"- a\n- b\n", b"deadline: 2025-13-45\n", b"\t\x00\x01"],
    "s.toml": [b"crews = [", b"[crews]\ncount = -1\n", b"name = \"\xe9\"\n"],
    "b.geojson": [BOUNDARY[:60], BOUNDARY.replace(b"Polygon", b"LineString"), b"null"],
}


@pytest.mark.parametrize("name, blob", [(n, b) for n, blobs in CORPUS.items() for b in blobs] + [STRAY_QUOTE])
def test_cli_reports_broken_files_in_one_line(tmp_path, name, blob):
    path = tmp_path / name
    path.write_bytes(blob)
    if name.startswith("sites"):
        args = ["coverage", "--city", "taraz", "--sites", str(path), "--out", str(tmp_path / "o"),
                "--resolution-m", "2000"]
    elif name.startswith("s."):
        args = ["schedule", "--scenario", str(path)]
    else:
        args = ["coverage", "--city", "taraz", "--sites", "x.csv", "--boundary", str(path), "--out",
                str(tmp_path / "o"), "--resolution-m", "2000"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    assert not (tmp_path / "o").exists()
