"""The unused ``seed`` is gone from plan_city, the scenario and ``qamtu plan``; plans recorded with it still re-run."""

from __future__ import annotations

import inspect

import pytest

from qamtu.chain.plan import scenario_from_record
from qamtu.chain.scenario import load_scenario
from qamtu.errors import InvalidInputError
from qamtu.plan.planner import plan_city


def test_no_seed_anywhere_in_a_plan_request():
    assert "seed" not in inspect.signature(plan_city).parameters
    assert "seed" not in load_scenario(None)["planning"]


def test_a_record_written_with_a_seed_still_reads():
    doc = {"kind": "qamtu-plan", "version": 1, "request": {"city": "konaev", "method": "greedy", "seed": 7},
           "files": {}}
    sc = scenario_from_record(doc)
    assert sc["planning"]["method"] == "greedy"
    assert "seed" not in sc["planning"]
    with pytest.raises(InvalidInputError, match="unknown field"):
        scenario_from_record({"kind": "qamtu-plan", "version": 1, "request": {"city": "konaev", "sede": 7},
                              "files": {}})
