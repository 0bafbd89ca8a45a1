"""`qamtu sweep`: every combination, plans shared across schedule keys, the same numbers as separate runs, resumable."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

import qamtu.chain.national as run_module
from qamtu.cli.app import app
from qamtu.errors import InvalidInputError
from qamtu.chain.scenario import validate_scenario
from qamtu.sweep import combinations, parse_vary, run_sweep

from .conftest import SCENARIO


def _scenario():
    return validate_scenario(dict(SCENARIO), source="test")


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """crews x load on two small cities: 4 combinations, 2 city stages (load changes the plans)."""
    root = tmp_path_factory.mktemp("sweep")
    (root / "scenario.yaml").write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    result = CliRunner().invoke(app, ["sweep", "--scenario", str(root / "scenario.yaml"), "--out", str(root / "s"),
                                      "--vary", "crews=1,3", "--vary", "load=0.5,0.9"])
    assert result.exit_code == 0, result.output
    assert "4 combinations: 4 run, 0 already done; 2 city stage(s) planned, 1 on reused links" in result.output
    return root


def test_one_row_per_combination_and_the_chart(swept):
    data = json.loads((swept / "s" / "sweep.json").read_text(encoding="utf-8"))
    rows = data["combinations"]
    assert [(r["crews"], r["load"]) for r in rows] == [(1, 0.5), (1, 0.9), (3, 0.5), (3, 0.9)]
    csv = (swept / "s" / "sweep.csv").read_text(encoding="utf-8").splitlines()
    assert csv[0].startswith("combination,crews,load,cities,cities_on_time") and len(csv) == 5
    assert (swept / "s" / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the crews change the schedule, not the plans; the load changes the plans
    by = {(r["crews"], r["load"]): r for r in rows}
    assert by[(1, 0.5)]["sites"] == by[(3, 0.5)]["sites"] and by[(1, 0.9)]["sites"] == by[(3, 0.9)]["sites"]
    assert by[(1, 0.5)]["territory_share_mean"] == by[(3, 0.5)]["territory_share_mean"]
    # a greedy plan stops at its target, so the shares need not be ordered by load; they differ
    assert by[(1, 0.5)]["territory_share_mean"] != by[(1, 0.9)]["territory_share_mean"]


def test_a_shared_plan_gives_the_numbers_of_a_separate_run(swept, tmp_path):
    """The combination crews=3, load=0.9 equals `qamtu schedule` run alone with those values."""
    sc = dict(SCENARIO, engine={"cell_load": 0.9})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(sc), encoding="utf-8")
    result = CliRunner().invoke(app, ["schedule", "--scenario", str(tmp_path / "s.yaml"), "--crews", "3", "--no-strict",
                                      "--out", str(tmp_path / "alone")])
    assert result.exit_code == 0, result.output
    alone = json.loads((tmp_path / "alone" / "summary.json").read_text(encoding="utf-8"))
    combo = json.loads((swept / "s" / "combinations" / "crews=3_load=0.9" / "summary.json").read_text("utf-8"))
    assert combo.pop("combination") == {"crews": 3, "load": 0.9}
    assert combo == alone
    assert (swept / "s" / "combinations" / "crews=3_load=0.9" / "schedule.csv").read_text() == (
        tmp_path / "alone" / "schedule.csv").read_text()


def test_a_crashed_sweep_resumes_without_rerunning_finished_combinations(tmp_path, monkeypatch):
    vary = parse_vary(["crews=1,2", "sites_per_crew_month=1,2"])
    real = run_module.run_national
    calls = []

    def crash_on_third(*args, **kwargs):
        calls.append(kwargs.get("planned"))
        if len(calls) == 3:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "run_national", crash_on_third)
    with pytest.raises(RuntimeError, match="power cut"):
        run_sweep(_scenario(), vary, tmp_path / "s")
    # all four share one city stage
    assert len({id(p) for p in calls}) == 1
    done = sorted(p.parent.name for p in (tmp_path / "s" / "combinations").glob("*/summary.json"))
    assert done == ["crews=1_sites_per_crew_month=1", "crews=1_sites_per_crew_month=2"]
    assert not (tmp_path / "s" / "sweep.csv").exists()  # no table of a half sweep
    stamp = {d: (tmp_path / "s" / "combinations" / d / "summary.json").stat().st_mtime_ns for d in done}

    monkeypatch.setattr(run_module, "run_national", real)
    result = run_sweep(_scenario(), vary, tmp_path / "s")
    assert result.skipped == done
    assert result.ran == ["crews=2_sites_per_crew_month=1", "crews=2_sites_per_crew_month=2"]
    for d in done:  # untouched
        assert (tmp_path / "s" / "combinations" / d / "summary.json").stat().st_mtime_ns == stamp[d]
    assert len(result.rows) == 4

    # everything done: nothing is planned at all
    again = run_sweep(_scenario(), vary, tmp_path / "s")
    assert again.ran == [] and again.city_stages == 0 and again.rows == result.rows


@pytest.mark.parametrize("specs, match", [
    (["crews"], "KEY=V1,V2"),
    (["nope=1,2"], "unknown key 'nope'"),
    (["crews=1,1"], "given twice"),
    (["crews=1", "crews=2"], "twice"),
    (["load=0.5", "cell_load=0.6"], "one scenario key twice"),
    ([], "at least one --vary"),
])
def test_bad_vary_is_a_named_error(specs, match):
    with pytest.raises(InvalidInputError, match=match):
        combinations(parse_vary(specs))


def test_a_bad_value_stops_the_sweep_before_anything_runs(tmp_path):
    result = CliRunner().invoke(app, ["sweep", "--cities", "konaev", "--out", str(tmp_path / "s"),
                                      "--vary", "crews=2,-1"])
    assert result.exit_code == 2
    assert "crews.count" in result.output and "--vary crews -1" in result.output
    assert not (tmp_path / "s").exists()


def _untimed(x):
    """A plan summary without its timings (keys ending in _s)."""
    if isinstance(x, dict):
        return {k: _untimed(v) for k, v in x.items() if not k.endswith("_s") and k != "seconds"}
    if isinstance(x, list):
        return [_untimed(v) for v in x]
    return x


def test_shared_links_give_the_plan_of_fresh_links():
    """A city stage on coverage links shared with another threshold, level and load: its links are those of its
    own computation (every array, bit for bit), and so are its plan, KPIs and maps."""
    import numpy as np
    import pandas as pd

    from engine.test_links_many import assert_same_links
    from qamtu.geo.catalogue import get_city
    from qamtu.chain.national import plan_one_city

    sc, city = _scenario(), get_city("konaev")
    base_cfg = sc.engine_config()
    cfg = base_cfg.replace(rsrp_threshold_dbm=-104.0, coverage_level=0.8, cell_load=0.9, min_dl_mbps=80.0)
    base = plan_one_city(city, sc, 1000.0, base_cfg, siblings=[base_cfg, cfg])
    fresh = plan_one_city(city, sc, 1000.0, cfg)
    shared = plan_one_city(city, sc, 1000.0, cfg, None, base, siblings=[base_cfg, cfg])
    assert shared.links_share is base.links_share and base.links_share.evaluations == 1  # really shared
    assert shared.links_shared and not base.links_shared
    assert_same_links(shared.plan.model.coverage_links, fresh.plan.model.coverage_links)
    assert shared.plan.model.coverage_links.n_links != base.plan.model.coverage_links.n_links  # not vacuous
    pd.testing.assert_frame_equal(shared.plan.sites, fresh.plan.sites)
    assert shared.plan.kpis == fresh.plan.kpis
    assert _untimed(shared.plan.summary) == _untimed(fresh.plan.summary)
    np.testing.assert_array_equal(shared.plan.coverage.dl_mbps, fresh.plan.coverage.dl_mbps)
    # the stage that computed them for both plans as a run of its own would
    alone = plan_one_city(city, sc, 1000.0, base_cfg)
    assert_same_links(base.plan.model.coverage_links, alone.plan.model.coverage_links)
    pd.testing.assert_frame_equal(base.plan.sites, alone.plan.sites)


def test_a_threshold_sweep_computes_each_citys_coverage_links_once(tmp_path, monkeypatch):
    """threshold x probability on two cities (uniform candidate lattice): 4 city stages, the coverage links of
    each city computed once for the 4 (not 4 times); every combination's summary is that of a separate run; a
    crashed sweep resumes, its remaining stages again sharing one computation per city."""
    import qamtu.engine.links as links_module
    from qamtu.plan.model import EXACT_SUBSET_MARGIN_DB
    from qamtu.report.national import summary_dict
    from qamtu.sweep import HEADLINE, apply, headline

    real_links, real_run = links_module.compute_links_many, run_module.run_national
    coverage = []  # (city, configurations) of each computation of coverage links

    def counting(area, sites, configs, *args, **kwargs):
        # coverage links of the candidates carry the planner's reach as their search cap; not counted: a plan's
        # links of its chosen sites (exact relevance rule) and the fit's fresh evaluation of them (qamtu.plan.fit)
        if configs[0].cutoff_margin_db != EXACT_SUBSET_MARGIN_DB and configs[0].max_cutoff_m is not None:
            coverage.append((area.city.id, len(configs)))
        return real_links(area, sites, configs, *args, **kwargs)

    def crash_on_second(*args, **kwargs):
        if len(crashed) == 1:
            raise RuntimeError("power cut")
        crashed.append(1)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(links_module, "compute_links_many", counting)
    vary = parse_vary(["threshold_dbm=-105,-112", "probability=0.8,0.9"])
    crashed: list[int] = []
    monkeypatch.setattr(run_module, "run_national", crash_on_second)
    with pytest.raises(RuntimeError, match="power cut"):
        run_sweep(_scenario(), vary, tmp_path / "s")
    assert sorted(coverage) == [("aktau", 4), ("konaev", 4)]  # one computation per city, for all 4 stages
    monkeypatch.setattr(run_module, "run_national", real_run)
    coverage.clear()
    result = run_sweep(_scenario(), vary, tmp_path / "s")
    assert result.skipped == ["threshold_dbm=-105_probability=0.8"] and len(result.ran) == 3
    assert result.city_stages == 3 and result.links_reused == 2
    assert sorted(coverage) == [("aktau", 3), ("konaev", 3)]

    coverage.clear()
    for c, row in zip(combinations(vary), result.rows):
        report, _ = real_run(apply(_scenario(), c), sensitivity=False)
        alone = summary_dict(report)
        combo = json.loads((tmp_path / "s" / "combinations" / c.id / "summary.json").read_text("utf-8"))
        assert combo.pop("combination") == c.values
        assert combo == alone, c.id
        assert {k: row[k] for k in HEADLINE} == headline(alone)  # the sweep's table too
    assert sorted(coverage) == [("aktau", 1)] * 4 + [("konaev", 1)] * 4  # separate runs: one per city and run
    # the thresholds and levels really change the plans (the test could fail)
    assert len({(r["sites"], r["territory_share_mean"]) for r in result.rows}) > 1


def test_a_threshold_that_moves_the_candidate_lattice_gets_links_of_its_own():
    """With the per-class lattice (spacing from the link budget) another threshold has other candidates: it is not
    in the first plan's share, computes its own links, and plans as a separate run would."""
    import pandas as pd

    from qamtu.geo.catalogue import get_city
    from qamtu.chain.national import plan_one_city

    sc = validate_scenario(dict(SCENARIO, planning={**SCENARIO["planning"], "candidate_spacing_m": None}),
                           source="test")
    city = get_city("konaev")
    base_cfg = sc.engine_config()
    cfg = base_cfg.replace(rsrp_threshold_dbm=-100.0)
    base = plan_one_city(city, sc, 1000.0, base_cfg, siblings=[base_cfg, cfg])
    assert base.spacings is not None and base.links_share.configs == [base_cfg]  # cfg's lattice differs
    other = plan_one_city(city, sc, 1000.0, cfg, None, base, siblings=[base_cfg, cfg])
    assert other.spacings != base.spacings and not other.links_shared
    pd.testing.assert_frame_equal(other.plan.sites, plan_one_city(city, sc, 1000.0, cfg).plan.sites)
