"""The chain: one scenario per run, the same inputs for ``plan`` and ``national``, ``scenario.yaml`` beside every
command's outputs, and a report layer that renders only (no solver, no engine compute)."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from qamtu.cli.app import app

runner = CliRunner()
CITY = "konaev"
RES = "1000"

#: Modules the report layer must not import: the planner and its solvers, the chain, and the engine's compute.
FORBIDDEN = ("qamtu.plan", "qamtu.chain", "qamtu.sweep", "highspy", "qamtu.engine.links", "qamtu.engine._fast",
             "qamtu.engine._kernels", "qamtu.engine.aggregate", "qamtu.engine.montecarlo", "qamtu.engine.bands",
             "qamtu.engine.physics", "qamtu.engine.terrain", "qamtu.engine.calibration3gpp", "qamtu.rollout.search",
             "qamtu.rollout.gates")


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``plan`` and ``national`` on the same city and resolution (coarse, greedy: seconds)."""
    root = tmp_path_factory.mktemp("chain")
    plan = runner.invoke(app, ["plan", "--city", CITY, "--resolution-m", RES, "--method", "greedy", "--quiet",
                               "--out", str(root / "plan")])
    assert plan.exit_code in (0, 3), plan.output
    national = runner.invoke(app, ["national", "--cities", CITY, "--resolution-m", RES, "--no-sensitivity",
                                   "--no-strict", "--out", str(root / "national")])
    assert national.exit_code == 0, national.output
    return root


def _resolved(folder: Path) -> dict:
    text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    assert text.startswith("# qamtu scenario, resolved")
    return yaml.safe_load(text)


def test_plan_and_national_resolve_the_same_settings_for_the_same_city_and_resolution(runs):
    from qamtu.chain.city import city_inputs
    from qamtu.chain.scenario import load_scenario
    from qamtu.geo.catalogue import get_city

    plan, national = _resolved(runs / "plan"), _resolved(runs / "national")
    assert plan["engine"] == national["engine"]  # every engine setting, defaults filled in
    assert plan["planning"]["candidate_spacing_m"] == national["planning"]["candidate_spacing_m"]
    assert plan["planning"]["resolution_m"] == national["planning"]["resolution_m"] == float(RES)
    # the national job's faster settings come from its named preset, and only those differ
    assert plan["preset"] == "standard" and national["preset"] == "national-fast"
    differ = {k for k in plan["planning"] if plan["planning"][k] != national["planning"][k]}
    assert differ == {"time_limit_s"}  # --method greedy given to plan; national-fast's time limit is 30 s
    assert plan["targets"] == national["targets"] and plan["cities"]["files"] == national["cities"]["files"] == {}
    # the same scenario gives both commands the same candidate table (chain.city builds it once for both)
    city = get_city(CITY)
    a = city_inputs(city, load_scenario(runs / "plan" / "scenario.yaml"))
    b = city_inputs(city, load_scenario(runs / "national" / "scenario.yaml"))
    pd.testing.assert_frame_equal(a.candidates, b.candidates)
    assert a.spacings == b.spacings and a.targets == b.targets and a.config == b.config
    # and the same plan: plan's sites are national's sites for the city
    ours = pd.read_csv(runs / "plan" / "plan_sites.csv")["site_id"].tolist()
    theirs = pd.read_csv(runs / "national" / "cities" / CITY / "planned_sectors.csv")["site_id"].unique().tolist()
    assert sorted(ours) == sorted(theirs)


def test_report_imports_no_solver_and_no_engine_compute_module():
    """Importing ``qamtu.report`` and every module of it loads none of :data:`FORBIDDEN` (checked in a fresh
    interpreter), and no import statement in ``report/`` (module level or inside a function) names one."""
    code = ("import importlib, pkgutil, sys, qamtu.report as r\n"
            "for m in pkgutil.iter_modules(r.__path__):\n"
            "    importlib.import_module('qamtu.report.' + m.name)\n"
            "print('\\n'.join(sorted(sys.modules)))\n")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "qamtu.report.national" in loaded and "qamtu.report.maps" in loaded
    assert [m for m in loaded if _forbidden(m)] == []
    import qamtu.report

    named = []
    for path in Path(qamtu.report.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                named += [(path.name, node.module)] + [(path.name, f"{node.module}.{a.name}") for a in node.names]
            elif isinstance(node, ast.Import):
                named += [(path.name, a.name) for a in node.names]
    assert [n for n in named if _forbidden(n[1])] == []


def _sites_csv(tmp_path: Path) -> Path:
    from qamtu.geo.area import make_study_area
    from qamtu.geo.layout import hex_layout
    from qamtu.geo.sites import SITE_COLUMNS

    area = make_study_area(CITY, resolution_m=float(RES))
    path = tmp_path / "sites.csv"
    hex_layout(area, isd_m=3000.0)[list(SITE_COLUMNS)].to_csv(path, index=False)
    return path


#: Commands that write outputs and where their test is: here, or the audit tests (test_audit_cli.py).
COVERED_ELSEWHERE = {"audit", "calibrate"}
#: Commands with an output folder that run no scenario: the TR 38.901 large-scale calibration of the engine itself
#: (its own 3GPP scenario and drops, written to its calibration record); the synthetic drive test, whose --out is one
#: CSV file in the drive-test columns (its settings are its options: city, sites, samples, seed, users).
NO_SCENARIO = {"calibrate-3gpp", "simulate-measurements"}


def test_every_command_writes_its_resolved_scenario(runs, tmp_path):
    sites = _sites_csv(tmp_path)
    runs_here = {
        "coverage": ["coverage", "--city", CITY, "--sites", str(sites), "--resolution-m", RES, "--no-png",
                     "--cell-load", "0.7"],
        "reference-run": ["reference-run", "--cities", CITY, "--resolution-m", RES, "--no-png"],
        "schedule": ["schedule", "--cities", CITY, "--resolution-m", RES, "--search", "none", "--no-strict",
                     "--crews", "3"],
        "sweep": ["sweep", "--cities", CITY, "--resolution-m", RES, "--vary", "crews=1,2"],
    }
    written = {"plan": runs / "plan", "national": runs / "national"}
    for name, args in runs_here.items():
        out = tmp_path / name
        res = runner.invoke(app, args + ["--out", str(out)])
        assert res.exit_code in (0, 3), (name, res.output)
        written[name] = out
    for name, folder in written.items():
        doc = _resolved(folder)
        assert set(doc) >= {"preset", "planning", "engine", "targets", "crews", "report", "audit", "calibrate"}, name
        assert "freq_hz" in doc["engine"] and "candidate_spacing_m" in doc["planning"], name
    assert _resolved(written["coverage"])["engine"]["cell_load"] == 0.7  # a CLI override is a scenario key
    assert _resolved(written["coverage"])["cities"]["files"][CITY]["sites"] == str(sites)
    assert _resolved(written["schedule"])["crews"]["count"] == 3
    # every command with an output folder is checked here or in the audit tests
    with_out = set()
    for cmd in app.registered_commands:
        params = inspect.signature(cmd.callback).parameters.values()
        if any(getattr(p.default, "param_decls", None) and "--out" in p.default.param_decls for p in params):
            with_out.add(cmd.name)
    assert with_out == set(written) | COVERED_ELSEWHERE | NO_SCENARIO


def test_a_bad_preset_is_refused_by_name(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("preset: turbo\n", encoding="utf-8")
    res = runner.invoke(app, ["schedule", "--scenario", str(bad)])
    assert res.exit_code == 2 and "'preset' = 'turbo'" in res.output and "national-fast" in res.output


def test_plan_json_of_version_1_is_still_read(runs, tmp_path):
    """A plan file of the earlier format (the command's request) is re-run through the same chain."""
    doc = json.loads((runs / "plan" / "plan.json").read_text(encoding="utf-8"))
    old = {k: doc[k] for k in ("kind", "files", "result")}
    old.update(version=1, request={"city": CITY, "resolution_m": float(RES), "method": "greedy"})
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    res = runner.invoke(app, ["plan", "--from-plan", str(path), "--out", str(tmp_path / "again"), "--quiet"])
    assert res.exit_code in (0, 3), res.output
    assert "identical" in res.stderr


def test_a_planned_city_leaves_its_served_models_released(monkeypatch):
    """``plan_one_city`` releases the served-area models its planning made (the fresh evaluations' are dropped, a
    national run holds no earlier city's in the cache): the cache is empty after it and the plan's own model
    (held by its links for the gate) was trimmed to what it cannot recompute; the gate still answers."""
    import qamtu.engine.served as served
    from qamtu.chain.national import plan_one_city
    from qamtu.chain.scenario import load_scenario
    from qamtu.cli.national import RUN_PRESET
    from qamtu.geo.catalogue import get_city

    trimmed = []
    real = served.ServedModel.trim
    monkeypatch.setattr(served.ServedModel, "trim", lambda self: (trimmed.append(self), real(self))[1])
    sc = load_scenario(None, preset=RUN_PRESET)
    config = sc.engine_config()
    assert config.interference_beams == "served" and config.ul_interference == "neighbours"
    run = plan_one_city(get_city(CITY), sc, float(RES), config)
    assert run.error is None and len(run.plan.sites)
    assert not served._CACHE
    model = run.plan.links.served
    assert isinstance(model, served.ServedModel) and any(m is model for m in trimmed)
    assert len(trimmed) >= 2  # (and the fresh evaluation's model of the plan's sites)
    on_air = frozenset(map(str, run.plan.sites["site_id"]))
    assert run.gate(CITY, on_air).passed
    # the gate of another RSRP threshold (the what-if sweep) takes links of its own that carry the same served
    # model (re-aimed per set on air, UL from the neighbours), not links without one (fixed aim, UL margin)
    from qamtu.chain.national import _plan_links_at

    other = _plan_links_at(run, config.replace(rsrp_threshold_dbm=config.rsrp_threshold_dbm + 3.0), None)
    assert other.served is model and other.config.rsrp_threshold_dbm == config.rsrp_threshold_dbm + 3.0
