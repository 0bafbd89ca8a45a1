"""People decide, on the record: the decisions file, the re-plan that honours it, and what overruling cost."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from qamtu.cli.app import app
from qamtu.errors import InvalidInputError
from qamtu.plan.decisions import plan_with_decisions, read_decisions


def _write(tmp_path, rows, name="decisions.csv"):
    p = tmp_path / name
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_bad_decision_files_name_row_and_field(tmp_path):
    ok = {"site_id": "L00001", "decision": "reject", "reason": "landlord refuses", "who": "planner A",
          "date": "2025-03-01"}
    with pytest.raises(InvalidInputError, match=r"row 2.*decision.*'maybe'"):
        read_decisions(_write(tmp_path, [ok, {**ok, "decision": "maybe"}]))
    with pytest.raises(InvalidInputError, match=r"row 1.*reason.*empty"):
        read_decisions(_write(tmp_path, [{**ok, "reason": ""}]))
    with pytest.raises(InvalidInputError, match=r"row 1.*date"):
        read_decisions(_write(tmp_path, [{**ok, "date": "March"}]))
    with pytest.raises(InvalidInputError, match="missing column"):
        read_decisions(_write(tmp_path, [{"site_id": "x"}]))


def test_replan_honours_decisions_and_prices_the_overrule(konaev_small, tmp_path):
    from qamtu.plan import plan_city
    from qamtu.plan.problem import Targets

    area, cand, config, model = konaev_small
    targets = Targets.people_first(0.5)
    free = plan_city(area, cand, targets, config, method="greedy", model=model)
    chosen = free.sites["site_id"].tolist()
    top = chosen[0]  # the optimiser's first pick
    spare = free.rejected.sort_values("would_add_population")["site_id"].iloc[0]  # adds the least
    dec = read_decisions(_write(tmp_path, [
        {"site_id": top, "decision": "reject", "reason": "no roof access", "who": "ops", "date": "2025-01-10"},
        {"site_id": spare, "decision": "lock", "reason": "landlord already signed", "who": "CTO",
         "date": "2025-01-11"},
        {"site_id": chosen[1], "decision": "accept", "reason": "agreed", "who": "ops", "date": "2025-01-12"},
    ]))
    plan = plan_with_decisions(area, cand, dec, targets, config, method="greedy")
    ids = set(plan.sites["site_id"])
    assert top not in ids and spare in ids and chosen[1] in ids
    assert plan.targets_met
    over = {r["site_id"]: r for r in plan.decisions["overruled"]}
    assert over[top]["overruled"] and over[top]["optimiser"] == "chosen"
    assert over[spare]["overruled"] and over[spare]["optimiser"] == "not chosen"
    assert not over[chosen[1]]["overruled"]
    assert over[top]["optimiser_explanation"].startswith("step 1")
    assert over[top]["reason"] == "no roof access"
    c = plan.decisions["cost_of_decisions"]
    assert c["sites"] == plan.summary["sites_selected"] - free.summary["sites_selected"]
    assert c["cost"] == pytest.approx(plan.summary["cost"] - free.summary["cost"])
    assert plan.decisions["free_plan"]["sites"] == chosen
    assert plan.summary["decisions_overruling"] == 2


@pytest.mark.slow
def test_cli_plan_decisions_on_the_record(tmp_path):
    base = ["plan", "--city", "konaev", "--resolution-m", "500", "--lattice-spacing-m", "1000", "--max-cutoff-m",
            "4000", "--quiet", "--target-territory", "0.3", "--method", "greedy"]
    first = tmp_path / "first"
    assert CliRunner().invoke(app, base + ["--out", str(first)]).exit_code == 0
    sid = pd.read_csv(first / "plan_sites.csv")["site_id"].iloc[0]
    dec = _write(tmp_path, [{"site_id": sid, "decision": "reject", "reason": "heritage zone", "who": "regulator",
                             "date": "2025-02-02"}])
    out = tmp_path / "second"
    res = CliRunner().invoke(app, base + ["--out", str(out), "--decisions", str(dec)])
    assert res.exit_code == 0, res.output
    assert "overrule the optimiser" in res.stderr
    record = json.loads((out / "plan.json").read_text())
    assert record["files"]["decisions"]["sha256"]
    assert record["decisions"]["rows"][0]["reason"] == "heritage zone"
    assert record["decisions"]["overruled"][0]["overruled"] is True
    assert sid not in set(pd.read_csv(out / "plan_sites.csv")["site_id"])
    table = pd.read_csv(out / "decisions.csv")
    assert table["who"].tolist() == ["regulator"]
    bad = _write(tmp_path, [{"site_id": "nope", "decision": "reject", "reason": "x", "who": "y",
                             "date": "2025-02-02"}], "bad.csv")
    res = CliRunner().invoke(app, base + ["--out", str(tmp_path / "third"), "--decisions", str(bad)])
    assert res.exit_code == 2 and "'nope' is not a candidate site" in res.output
