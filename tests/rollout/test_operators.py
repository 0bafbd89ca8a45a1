"""Several operators in one scenario: each plans to its own targets; the result is given per operator and in total."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from qamtu.cli.app import app
from qamtu.errors import InvalidInputError
from qamtu.chain.scenario import operator_scenario, validate_scenario

SCENARIO = {
    "cities": {"ids": ["konaev"]},
    "planning": {"resolution_m": 500.0, "candidate_spacing_m": 1000.0, "method": "greedy",
                 "capacity": {"enabled": False}},
    "crews": {"count": 1, "sites_per_crew_month": 1.0},
    "search": {"resource": "crews"},
    "operators": {
        "kcell": {"targets": {"regional": {"territory_share": 0.5}}, "crews": {"count": 2}},
        "beeline": {"targets": {"regional": {"territory_share": 0.25, "population_share": 0.3}},
                    "planning": {"candidate_cost": 2.0}},
    },
}


def test_operator_scenarios_merge_their_overrides():
    sc = validate_scenario(SCENARIO)
    k, b = operator_scenario(sc, "kcell"), operator_scenario(sc, "beeline")
    assert k["targets"]["regional"]["territory_share"] == 0.5 and k["crews"]["count"] == 2
    assert b["targets"]["regional"]["population_share"] == 0.3 and b["planning"]["candidate_cost"] == 2.0
    assert b["crews"]["count"] == 1 and b["planning"]["resolution_m"] == 500.0  # shared keys
    with pytest.raises(InvalidInputError, match="operators.x.deadline"):
        validate_scenario({"operators": {"x": {"deadline": "2030-01-01"}}})
    with pytest.raises(InvalidInputError, match=r"operator x.*territory_share"):
        validate_scenario({"operators": {"x": {"targets": {"regional": {"territory_share": 0}}}}})


@pytest.mark.slow
def test_each_operator_meets_its_own_targets_and_totals_add_up(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["national", "--scenario", str(scenario), "--out", str(out), "--no-strict"])
    assert res.exit_code == 0, res.output
    rows = {r["operator"]: r for r in json.loads((out / "operators.json").read_text())["operators"]}
    assert set(rows) == {"kcell", "beeline", "total"}
    for name, want_t, want_p in (("kcell", 0.5, 0.5), ("beeline", 0.25, 0.3)):  # people first: p defaults to t
        summary = json.loads((out / "operators" / name / "summary.json").read_text())
        city = summary["cities"][0]
        assert city["territory_share"] >= want_t - 1e-9 and city["population_share"] >= want_p - 1e-9
        assert rows[name]["plans_meeting_targets"] == 1
        assert (out / "operators" / name / "cities" / "konaev" / "planned_sectors.csv").exists()
    assert rows["beeline"]["cost"] == pytest.approx(2.0 * rows["beeline"]["sites"])
    for key in ("sites", "cost", "people_covered"):
        assert rows["total"][key] == pytest.approx(rows["kcell"][key] + rows["beeline"][key])
