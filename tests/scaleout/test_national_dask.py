"""`qamtu national --dask tcp://...` gives the same summary and per-city KPIs as the single-process run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from qamtu.cli.app import app

from .conftest import SCENARIO, _env


@pytest.mark.slow
def test_national_on_a_loopback_cluster_equals_the_single_process_run(tmp_path, loopback_cluster):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    summaries = {}
    for name, extra in (("here", []), ("dask", ["--dask", loopback_cluster])):
        out = tmp_path / name
        result = CliRunner().invoke(app, ["national", "--scenario", str(scenario), "--out", str(out), "--no-strict",
                                          *extra])
        assert result.exit_code == 0, result.output
        summaries[name] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    here, dask = summaries["here"], summaries["dask"]
    assert [c["id"] for c in dask["cities"]] == ["konaev", "aktau"]
    # per-city KPIs and gates, exactly (same functions, same seeds): no tolerance
    for a, b in zip(here["cities"], dask["cities"]):
        for key in ("sites", "cost", "territory_share", "population_share", "dl_p5_mbps", "gate_month", "status",
                    "passes_at_end"):
            assert a[key] == b[key], (a["id"], key, a[key], b[key])
    assert here == dask
    assert any(c["sites"] > 0 for c in dask["cities"])  # the comparison is about real plans


def test_import_qamtu_engine_leaves_dask_out():
    code = ("import sys, qamtu, qamtu.engine, qamtu.distributed, qamtu.cli.app, qamtu.chain.national; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')); "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("address", ["local:0", "nowhere", "local:x", "http//x"])
def test_bad_address_is_one_line(tmp_path, address):
    result = CliRunner().invoke(app, ["schedule", "--cities", "konaev", "--dask", address])
    assert result.exit_code == 2
    assert "--dask" in result.output and "local:N" in result.output


def test_unreachable_scheduler_is_one_line(tmp_path):
    pytest.importorskip("distributed")
    from qamtu.distributed import open_executor
    from qamtu.errors import QamtuError

    with pytest.raises(QamtuError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        with open_executor("tcp://127.0.0.1:9", timeout_s=2):
            pass


def test_missing_extra_gives_the_install_line(monkeypatch):
    import qamtu.distributed as qd
    from qamtu.errors import QamtuError

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    with pytest.raises(QamtuError, match=r"pip install 'qamtu\[dask\]'"):
        with qd.open_executor("local:1"):
            pass


@pytest.mark.slow
def test_reference_run_on_the_cluster_equals_the_single_process_run(tmp_path, loopback_cluster):
    """reference-run: one task per city, each writing its own folder; the driver gathers the KPI records.

    (``coverage`` and ``plan`` run their one city as one task through the same executor; their job functions are
    what the single-process commands run, tested in tests/cli and tests/plan.)"""
    outs = {}
    for name, extra in (("here", []), ("dask", ["--dask", loopback_cluster])):
        ref = tmp_path / name / "ref"
        result = CliRunner().invoke(app, ["reference-run", "--out", str(ref), "--cities", "konaev,aktau",
                                          "--resolution-m", "2000", "--no-png", "--json", *extra])
        assert result.exit_code == 0, result.output
        outs[name] = (json.loads((ref / "kpis_national.json").read_text(encoding="utf-8")),
                      (ref / "konaev" / "kpis.csv").read_text(encoding="utf-8"))
    assert len(outs["dask"][0]) == 2
    assert outs["here"] == outs["dask"]


@pytest.mark.slow
def test_sweep_on_the_cluster_equals_the_single_process_sweep(tmp_path, loopback_cluster):
    """Shared plans and coverage links shared across thresholds and loads (futures on the workers: a later stage's
    task takes them from the first stage's run) give the same table as in one process."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    tables = {}
    for name, extra in (("here", []), ("dask", ["--dask", loopback_cluster])):
        result = CliRunner().invoke(app, ["sweep", "--scenario", str(scenario), "--resolution-m", "1000",
                                          "--out", str(tmp_path / name), "--vary", "threshold_dbm=-105,-112",
                                          "--vary", "load=0.5,0.9", *extra])
        assert result.exit_code == 0, result.output
        assert "4 city stage(s) planned, 3 on reused links" in result.output
        tables[name] = (tmp_path / name / "sweep.csv").read_text(encoding="utf-8")
    assert tables["here"] == tables["dask"]
    assert len(tables["here"].splitlines()) == 5
