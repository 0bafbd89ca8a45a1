"""`qamtu national` writes per-city plan files people load elsewhere; `qamtu coverage` reads them back."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from qamtu.cli.app import app

SCENARIO = {
    "cities": {"ids": ["konaev"]},
    "planning": {"resolution_m": 500.0, "candidate_spacing_m": 1000.0, "method": "greedy", "time_limit_s": 20.0},
    "targets": {"regional": {"territory_share": 0.4}},
    "crews": {"count": 1, "sites_per_crew_month": 1.0},
    "search": {"resource": "none"},
}


@pytest.fixture(scope="module")
def national_out(tmp_path_factory):
    root = tmp_path_factory.mktemp("nat13")
    scenario = root / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    out = root / "report"
    res = CliRunner().invoke(app, ["national", "--scenario", str(scenario), "--out", str(out), "--no-strict"])
    assert res.exit_code == 0, res.output
    return out


def test_planned_sectors_are_canonical_and_scheduled(national_out):
    from qamtu.geo.sites import SITE_COLUMNS, read_sites

    folder = national_out / "cities" / "konaev"
    planned = pd.read_csv(folder / "planned_sectors.csv", keep_default_na=False)
    assert list(planned.columns[: len(SITE_COLUMNS)]) == list(SITE_COLUMNS)
    assert set(planned["status"]) == {"planned"}
    schedule = pd.read_csv(national_out / "data" / "schedule.csv")
    months = dict(zip(schedule["site_id"].astype(str), schedule["on_air_month"].astype(str)))
    assert planned["on_air_month"].tolist() == [months[s] for s in planned["site_id"].astype(str)]
    assert len(read_sites(folder / "planned_sectors.csv")) == len(planned)  # the canonical reader takes it as is
    for name in ("planned_sectors_import.csv", "plan.gpkg"):
        assert (folder / name).stat().st_size > 0
    zones = pd.read_csv(folder / "zones.csv")
    assert zones["population"].sum() == pytest.approx(
        json.loads((national_out / "summary.json").read_text())["cities"][0]["population"], rel=1e-6)
    ps = json.loads((folder / "plan_summary.json").read_text())
    assert ps["sites_for_coverage"] + ps["sites_for_capacity"] == ps["sites_selected"] == len(set(planned["site_id"]))
    assert ps["median_neighbour_distance_m"] > 0 and ps["proof"]


def test_round_trip_through_qamtu_coverage_reproduces_the_territory_share(national_out, tmp_path):
    folder = national_out / "cities" / "konaev"
    summary = json.loads((national_out / "summary.json").read_text())
    city = next(c for c in summary["cities"] if c["id"] == "konaev")
    res = CliRunner().invoke(app, ["coverage", "--city", "konaev", "--sites", str(folder / "planned_sectors.csv"),
                                   "--resolution-m", "500", "--out", str(tmp_path), "--no-png", "--json"])
    assert res.exit_code == 0, res.output
    kpis = json.loads((tmp_path / "kpis.json").read_text())
    # the plan's links keep every link down to 60 dB below the reference level (exact subsets for the gates);
    # ``qamtu coverage`` uses the engine's default relevance rule (30 dB; links below it with a single-link
    # P(SS-RSRP >= thr) under 0.05 are not stored), and the union over sites of P(SS-RSRP >= thr) lacks those
    # links: ~0.005 per link at the 0.9 level, so pixels that close to the level may flip; and it counts the
    # weaker links' residual at its mean, pessimistic for P(DL) at the edges of a sparse plan, where the
    # served-area beams make the DL condition bind. With the same rule the shares agree exactly
    # (tests/plan/test_cli_plan.py::test_cli_plan_sectors_reevaluate_to_the_same_shares).
    # Measured at 500 m with the old 20 dB default: territory 0.527 vs 0.576, population 0.468 vs 0.519
    # (docs/notes/served-11.md); the 30 dB default brings the planner tests' Konaev plan within ~0.001. The
    # default rule is the pessimistic side only.
    for key in ("territory_share", "population_share"):
        assert city[key] - 0.06 <= kpis[key] <= city[key] + 0.01


def test_national_decisions_are_honoured_and_listed(national_out, tmp_path):
    folder = national_out / "cities" / "konaev"
    first = pd.read_csv(folder / "planned_sectors.csv")["site_id"].iloc[0]
    dec = tmp_path / "decisions.csv"
    pd.DataFrame([{"city": "konaev", "site_id": first, "decision": "reject", "reason": "military area",
                   "who": "akimat", "date": "2025-04-01"}]).to_csv(dec, index=False)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["national", "--scenario", str(scenario), "--out", str(out), "--no-strict",
                                   "--decisions", str(dec)])
    assert res.exit_code == 0, res.output
    again = pd.read_csv(out / "cities" / "konaev" / "planned_sectors.csv")
    assert first not in set(again["site_id"])
    table = pd.read_csv(out / "cities" / "konaev" / "decisions.csv")
    assert table["overruled"].tolist() == [True] and table["reason"].tolist() == ["military area"]
    assert "military area" in (out / "cities" / "konaev" / "index.html").read_text(encoding="utf-8")
    bad = tmp_path / "bad.csv"
    pd.DataFrame([{"city": "taraz", "site_id": first, "decision": "reject", "reason": "x", "who": "y",
                   "date": "2025-04-01"}]).to_csv(bad, index=False)
    res = CliRunner().invoke(app, ["national", "--scenario", str(scenario), "--out", str(tmp_path / "o2"),
                                   "--no-strict", "--decisions", str(bad)])
    assert res.exit_code == 2 and "'taraz' is not a city of this run" in res.output
