"""Scenario files: defaults, YAML and TOML, errors that name the key and what is allowed."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields as dt_fields

import pytest
import yaml

from qamtu.errors import DataFileError, InvalidInputError
from qamtu.chain.scenario import DEFAULT_SCENARIO, load_scenario


def test_defaults_round_trip_through_yaml(tmp_path):
    sc = load_scenario(None)
    assert sc["deadline"] == dt.date(2025, 12, 31)
    assert sc["comparison_deadline"] == dt.date(2027, 12, 31)
    assert sc.lead_time_months("anything") == 3 + max(1, 1)
    path = tmp_path / "resolved.yaml"
    path.write_text(sc.to_yaml(), encoding="utf-8")
    again = load_scenario(path)
    assert again.resolved() == sc.resolved()
    assert again.engine_config() == sc.engine_config()
    assert set(again["engine"]) == {f.name for f in dt_fields(type(sc.engine_config()))}  # every engine setting


def test_yaml_overrides_merge_and_paths_resolve(tmp_path):
    (tmp_path / "cands.csv").write_text("site_id\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        yaml.safe_dump(
            {
                "deadline": "2026-06-30",
                "cities": {"ids": ["kokshetau", "taraz"], "files": {"taraz": {"candidates": "cands.csv",
                                                                               "targets": {"population_share": 0.9}}}},
                "crews": {"count": 7, "per_pool": {"north": 2}},
                "lead_times_months": {"default": {"permits": 5}, "by_class": {"rooftop": {"permits": 1, "power": 0,
                                                                                           "backhaul": 2}}},
                "priority": ["taraz", "kokshetau"],
            }
        ),
        encoding="utf-8",
    )
    sc = load_scenario(tmp_path / "s.yaml")
    assert sc["deadline"] == dt.date(2026, 6, 30)
    assert sc.city_ids(["astana", "kokshetau", "taraz"]) == ["kokshetau", "taraz"]
    assert sc.city_files("taraz")["candidates"] == str((tmp_path / "cands.csv").resolve())
    assert sc.targets_for("taraz", republican=False) == {"territory_share": 0.6, "population_share": 0.9,
                                                         "dl_p5_mbps": None}
    assert sc.crews_for("north") == 2 and sc.crews_for("south") == 7
    assert sc.lead_time_months("other") == 5 + 1  # default merged key by key
    assert sc.lead_time_months("rooftop") == 1 + 2
    assert sc["planning"]["resolution_m"] == DEFAULT_SCENARIO["planning"]["resolution_m"]


def test_toml_is_read(tmp_path):
    (tmp_path / "s.toml").write_text('deadline = 2027-12-31\n[crews]\ncount = 2\n', encoding="utf-8")
    sc = load_scenario(tmp_path / "s.toml")
    assert sc["deadline"] == dt.date(2027, 12, 31) and sc["crews"]["count"] == 2


@pytest.mark.parametrize(
    "raw, match",
    [
        ({"crew": 3}, r"unknown key 'crew'; allowed here: .*crews"),
        ({"crews": {"count": -1}}, r"key 'crews.count' = -1 .* integer from 0"),
        ({"crews": {"sites_per_crew_month": 0}}, r"'crews.sites_per_crew_month' = 0 .* number >= 0.01"),
        ({"deadline": "end of 2025"}, r"'deadline' = 'end of 2025' .* date YYYY-MM-DD"),
        ({"deadline": "2023-01-01"}, r"'deadline' .* on or after start"),
        ({"targets": {"regional": {"territory_share": 1.5}}}, r"'targets.regional.territory_share' = 1.5 .* \(0, 1\]"),
        ({"targets": {"regional": {"territory_share": None}}}, r"at least one of territory_share"),
        ({"priority": "fastest"}, r"'priority' = 'fastest'"),
        ({"planning": {"method": "anneal"}}, r"'planning.method' = 'anneal' .* milp, greedy"),
        ({"cities": {"files": {"taraz": {"candidates": "nope.csv"}}}}, r"'cities.files.taraz.candidates' .* existing"),
        ({"lead_times_months": {"by_class": {"x": {"permits": 1}}}}, r"'lead_times_months.by_class.x.power'"),
        ({"budget": {"carry_over": "yes"}}, r"'budget.carry_over' = 'yes' .* true or false"),
        ({"search": {"resource": "time"}}, r"'search.resource' = 'time' .* crews, budget, none"),
    ],
)
def test_errors_name_the_key_and_what_is_allowed(tmp_path, raw, match):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=match) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        load_scenario(tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("crews: [1, 2\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="not valid YAML"):
        load_scenario(tmp_path / "broken.yaml")
    (tmp_path / "s.json").write_text("{}", encoding="utf-8")
    with pytest.raises(DataFileError, match="unknown suffix"):
        load_scenario(tmp_path / "s.json")
    with pytest.raises(InvalidInputError, match="unknown city ids"):
        load_scenario(None).__class__(dict(load_scenario(None).data, cities={"ids": ["atlantis"], "files": {}}),
                                      "x").city_ids(["astana"])
