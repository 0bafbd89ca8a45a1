"""`qamtu national` end to end on a small scenario (2 small cities, coarse grid), then reopen what it wrote."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from qamtu.cli.app import app

SCENARIO = {
    "cities": {"ids": ["konaev", "aktau"]},
    "planning": {"resolution_m": 500.0, "candidate_spacing_m": 2000.0, "method": "greedy", "time_limit_s": 20.0},
    "targets": {"regional": {"territory_share": 0.2}},
    "crews": {"count": 1, "sites_per_crew_month": 1.0},
    "lead_times_months": {"default": {"permits": 2, "power": 1, "backhaul": 1}},
    "search": {"resource": "crews", "method": "auto"},
}


#: --pdf where Chromium is installed (make browser); the PDF test is skipped elsewhere.
PDF = ["--pdf"] if shutil.which("chromium") else []


@pytest.fixture(scope="module")
def national_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("national")
    scenario = root / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    out = root / "report"
    # 40 drive-test samples around Konaev's centre (43.86 N, 77.06 E), none in Aktau
    rng = np.random.default_rng(1)
    lines = ["time,lat,lon,operator,tech,rsrp_dbm,sinr_db,dl_mbps,ul_mbps"]
    for i in range(40):
        lines.append(f"2025-10-01T10:{i:02d}:00Z,{43.86 + rng.normal(0, 0.01):.5f},{77.06 + rng.normal(0, 0.01):.5f},"
                     f"OpA,5G,-95,12,{rng.uniform(20, 200):.1f},20")
    for i in range(30):  # measured 4G rows: shown, never compared with the 5G prediction
        lines.append(f"2025-10-01T11:{i:02d}:00Z,{43.86 + rng.normal(0, 0.01):.5f},{77.06 + rng.normal(0, 0.01):.5f},"
                     f"OpA,4G,-90,10,{rng.uniform(5, 60):.1f},5")
    meas = root / "drive.csv"
    meas.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["national", "--scenario", str(scenario), "--out", str(out), "--lang", "ru",
                                      "--measurements", str(meas), "--json", *PDF])
    return result, out, scenario


def test_cli_writes_the_report(national_run):
    result, out, _ = national_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # exit 3 when a city misses the deadline (README: a completed run whose targets were not met), else 0
    assert result.exit_code == (0 if all(c["on_time"] for c in summary["cities"]) else 3), result.output
    assert "Отчёт:" in result.stderr  # with --json the words go to stderr, in the report's language
    terrain = {c["id"]: c["terrain"] for c in summary["cities"]}  # issue 12: every output says its terrain
    assert "GEBCO" in terrain["konaev"] and terrain["aktau"] is None
    assert all("settlement part" in c["boundary"] for c in summary["cities"])  # both are cut administrations
    payload = json.loads(result.stdout)  # ... and stdout is the machine summary only
    assert payload["report"] == str(out / "index.html")
    assert payload.get("pdf") == (str(out / "report.pdf") if PDF else None)
    assert payload["cities_on_time"] == sum(c["on_time"] for c in summary["cities"])
    assert [c["id"] for c in payload["cities"]] == ["konaev", "aktau"]
    # the sensitivity sweep's base row is the headline's answer; every assumption is swept
    sens = summary["sensitivity"]
    base = next(r for r in sens if r["assumption"] == "base")
    assert (base["cities_on_time"], base["minimum"]) == (summary["comparison"][0]["cities_on_time"],
                                                         summary["comparison"][0]["minimum"])
    assert {r["assumption"] for r in sens} >= {"crews", "rate", "lead", "threshold", "probability", "load"}
    assert 'id="sensitivity"' in (out / "index.html").read_text(encoding="utf-8")
    assert [c["id"] for c in summary["cities"]] == ["konaev", "aktau"]
    for c in summary["cities"]:
        assert {"id", "sites", "cost", "territory_share", "population_share", "gate_month", "on_time"} <= set(c)
        assert c["error"] is None
        assert c["sites"] > 0 and c["cost"] == pytest.approx(c["sites"])  # lattice candidates cost 1 each
        for page in ("index.html", "map.html", "coverage.png", "throughput.png", "sites.csv", "sites.geojson"):
            assert (out / "cities" / c["id"] / page).is_file()
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "Сводка" in html and "Конаев" in html  # Russian report
    assert [r["deadline"] for r in summary["comparison"]] == ["2025-12-31", "2027-12-31"]
    # the crew search runs over the cities whose full plan passes its gate in the engine
    passing = sum(c["passes_at_end"] for c in summary["cities"])
    for row in summary["comparison"]:
        assert row["search_cities"] == passing
        if passing:
            assert isinstance(row["minimum"], int) and row["minimum"] >= 1
    if passing:  # more time never needs more crews here (lead time 3 months, 1 site per crew-month)
        assert summary["comparison"][1]["minimum"] <= summary["comparison"][0]["minimum"]
    # measured quality beside predicted where samples fall in the city, labelled; none for Aktau
    konaev = (out / "cities" / "konaev" / "index.html").read_text(encoding="utf-8")
    assert 'id="measured"' in konaev and "Измерено" in konaev and "Прогноз" in konaev
    assert "Доля с DL &gt;= 50 Мбит/с" in konaev  # KPI labels in the report's language
    # outdoor and indoor figures both shown; indoor users lose the building entry loss, so counting them never
    # raises the covered share (TR 38.901 7.4.3 O2I loss >= 0)
    assert "Покрытие населения, включая пользователей в помещениях" in konaev
    for c in summary["cities"]:
        assert c["population_share_all"] <= c["population_share"] + 1e-12
    rows_4g = [r for r in konaev.split("<tr>") if "OpA 4G" in r]
    assert rows_4g and all("другая технология: не сравнивается" in r and "<td>–</td>" in r for r in rows_4g)
    rows_5g = [r for r in konaev.split("<tr>") if "OpA 5G" in r]
    assert rows_5g and all("другая технология" not in r and "<td>–</td>" not in r for r in rows_5g)
    aktau = (out / "cities" / "aktau" / "index.html").read_text(encoding="utf-8")
    assert 'id="measured"' not in aktau and "Измерения по этому городу не заданы" in aktau
    # the resolved scenario is written beside the report and reads back as the same scenario
    from qamtu.chain.scenario import load_scenario

    resolved = load_scenario(out / "scenario.yaml")
    assert resolved["cities"]["ids"] == ["konaev", "aktau"] and resolved["crews"]["count"] == 1


def test_geotiff_agrees_with_summary(national_run):
    import rasterio

    _, out, _ = national_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for c in summary["cities"]:
        with rasterio.open(out / "cities" / c["id"] / "coverage.tif") as src:
            cov = src.read(1)
            assert src.crs is not None and src.crs.to_epsg() // 100 == 326  # the city's UTM zone
            assert src.descriptions == ("covered",) and src.tags(1)["unit"] == "1"
            assert float(src.tags()["assumption_rsrp_threshold_dbm"]) == -110.0
        with rasterio.open(out / "cities" / c["id"] / "dl_mbps.tif") as src:
            assert src.descriptions == ("dl_mbps",) and src.tags(1)["unit"] == "Mbit/s"
            assert src.tags()["assumption_users"] in ("outdoor", "all")
        assert np.nanmean(cov) == pytest.approx(c["territory_share"], abs=1e-9)


def test_gate_month_is_where_the_engine_says_targets_hold(national_run):
    """Re-plan one city (deterministic) and re-evaluate the engine with the sites on air around its gate."""
    import pandas as pd

    from qamtu.engine import aggregate
    from qamtu.geo.catalogue import get_city
    from qamtu.chain.national import plan_one_city
    from qamtu.chain.scenario import load_scenario

    _, out, _ = national_run
    sc = load_scenario(out / "scenario.yaml")  # the resolved scenario of the run (its preset and every setting)
    summary = {c["id"]: c for c in json.loads((out / "summary.json").read_text(encoding="utf-8"))["cities"]}
    sched = pd.read_csv(out / "data" / "schedule.csv")
    city = "konaev"
    run = plan_one_city(get_city(city), sc, 500.0, sc.engine_config())
    assert len(run.plan.sites) == summary[city]["sites"]
    rows = sched[sched.city_id == city]
    gate = summary[city]["gate_month"]
    site_of = run.plan.candidates["site_id"].astype(str).to_numpy()

    def shares(month_label):
        on = set(rows.loc[rows.on_air_month.notna() & (rows.on_air_month <= month_label), "site_id"].astype(str))
        k = aggregate(run.area, run.plan.links, run.config, active=np.isin(site_of, list(on))).kpis()
        return k["territory_share"], len(on)

    target = sc.targets_for(city, republican=False)["territory_share"]
    if gate is None:
        assert shares("9999-12")[0] < target
        return
    share, n_on = shares(gate)
    assert share >= target and n_on > 0
    earlier = sorted(m for m in rows.on_air_month.dropna().unique() if m < gate)
    if earlier:
        assert shares(earlier[-1])[0] < target


def test_gate_at_another_rsrp_threshold_recomputes_only_the_plans_links(national_run):
    """The what-if row for the RSRP threshold: the same plan, its own sites' links computed with -105 dBm."""
    from qamtu.engine import aggregate, compute_links
    from qamtu.geo.catalogue import get_city
    from qamtu.chain.national import city_gate, plan_one_city
    from qamtu.chain.scenario import load_scenario

    _, out, _ = national_run
    sc = load_scenario(out / "scenario.yaml")
    run = plan_one_city(get_city("konaev"), sc, 500.0, sc.engine_config())
    chosen = frozenset(map(str, run.plan.sites["site_id"]))
    base = city_gate(run, run.config)("konaev", chosen)
    harder = run.config.replace(rsrp_threshold_dbm=-105.0)
    res = city_gate(run, harder)("konaev", chosen)
    # independent: the planned sectors evaluated afresh by the engine at -105 dBm
    cand = run.plan.candidates
    sub = cand[cand["site_id"].astype(str).isin(chosen)].reset_index(drop=True)
    fresh = aggregate(run.area, compute_links(run.area, sub, harder.replace(cutoff_margin_db=60.0)), harder).kpis()
    assert res.kpis["territory_share"] == pytest.approx(fresh["territory_share"], abs=1e-9)
    assert res.kpis["territory_share"] <= base.kpis["territory_share"]


def test_bad_scenario_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("crews: {count: many}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["national", "--scenario", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "crews.count" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["national", "--out", str(tmp_path / "o"), "--lang", "de"])
    assert result.exit_code == 2 and "allowed: en, ru, kk" in result.output


def test_schedule_command_tables_and_overrides(tmp_path, national_run):
    _, out, scenario = national_run
    result = CliRunner().invoke(app, ["schedule", "--scenario", str(scenario), "--cities", "Қонаев",
                                      "--crews", "3", "--search", "none", "--out", str(tmp_path), "--json", "--lang", "kk"])
    payload = json.loads(result.stdout)
    assert result.exit_code == (3 if payload["late"] else 0), result.output
    assert [c["id"] for c in payload["cities"]] == ["konaev"]
    assert payload["comparison"][0]["search_method"] == "none"
    assert payload["schedule"] == str(tmp_path / "schedule.csv")
    assert "Кесте:" in result.stderr  # the words in the language asked for
    import pandas as pd

    sched = pd.read_csv(tmp_path / "schedule.csv")
    per_month = sched.groupby("on_air_month_index").size()
    assert per_month.max() <= 3 * 1.0  # 3 crews x 1 site per crew-month
    assert sched.on_air_month_index.min() >= 2 + 1  # lead time: permits + max(power, backhaul)
    bad = CliRunner().invoke(app, ["schedule", "--scenario", str(scenario), "--crews", "-2"])
    assert bad.exit_code == 2 and "crews.count" in bad.output


@pytest.mark.browser
def test_real_report_opens_in_chromium(national_run):
    from .browser import chromium, console_errors

    _, out, _ = national_run
    with chromium() as driver:
        for page in ("index.html", "cities/konaev/index.html", "cities/konaev/map.html", "cities/aktau/map.html"):
            driver.get((out / page).resolve().as_uri())
            assert console_errors(driver) == [], page
        assert driver.execute_script("return document.querySelectorAll('path.leaflet-interactive').length") >= 1


def test_a_city_that_cannot_be_planned_is_reported_not_dropped(tmp_path):
    (tmp_path / "bad.geojson").write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        yaml.safe_dump({"cities": {"ids": ["konaev"], "files": {"konaev": {"boundary": "bad.geojson"}}}}),
        encoding="utf-8")
    # without --keep-going a failed city stops the run: exit 2, one line naming it, no report (issue 15)
    stopped = CliRunner().invoke(app, ["national", "--scenario", str(tmp_path / "s.yaml"), "--out",
                                       str(tmp_path / "out")])
    assert stopped.exit_code == 2, stopped.output
    assert "city konaev: planning failed" in stopped.output and "--keep-going" in stopped.output
    assert not (tmp_path / "out").exists()
    result = CliRunner().invoke(app, ["national", "--scenario", str(tmp_path / "s.yaml"), "--out",
                                      str(tmp_path / "out"), "--keep-going"])
    assert result.exit_code == 3, result.output  # the city misses the deadline: targets not met
    assert "konaev: planning failed" in result.output and "bad.geojson" in result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    (city,) = summary["cities"]
    assert city["id"] == "konaev" and city["on_time"] is False and "bad.geojson" in city["error"]
    page = (tmp_path / "out" / "cities" / "konaev" / "index.html").read_text(encoding="utf-8")
    assert "Planning failed" in page
    lenient = CliRunner().invoke(app, ["national", "--scenario", str(tmp_path / "s.yaml"), "--out",
                                       str(tmp_path / "out2"), "--no-strict", "--keep-going"])
    assert lenient.exit_code == 0


def test_pdf_has_the_headline_on_page_one(national_run):
    """`--pdf` (headless Chromium's print to PDF): the Russian headline is text on page 1 (pypdf extracts it)."""
    pypdf = pytest.importorskip("pypdf")
    if not PDF:
        pytest.skip("chromium not installed (make browser)")
    _, out, _ = national_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    first = pypdf.PdfReader(out / "report.pdf").pages[0].extract_text()
    flat = " ".join(first.split())
    on_time = sum(c["on_time"] for c in summary["cities"])
    assert "Коротко" in flat
    assert f"{on_time} из 2 городов выполняют целевые показатели качества к 2025-12-31" in flat
