"""The unused ``seed`` is gone from plan_city, PlanRequest and ``qamtu plan``; plans recorded with it still re-run."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from qamtu.errors import InvalidInputError
from qamtu.plan.planner import plan_city
from qamtu.plan.record import PlanRequest, request_from_record


def test_no_seed_anywhere_in_a_plan_request():
    assert "seed" not in inspect.signature(plan_city).parameters
    assert "seed" not in {f.name for f in dataclasses.fields(PlanRequest)}


def test_a_record_written_with_a_seed_still_reads():
    req = request_from_record({"request": {"city": "konaev", "method": "greedy", "seed": 7}, "files": {}})
    assert req == PlanRequest(city="konaev", method="greedy")
    with pytest.raises(InvalidInputError, match="unknown field"):
        request_from_record({"request": {"city": "konaev", "sede": 7}, "files": {}})
