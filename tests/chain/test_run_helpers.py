"""Helpers of the national run that need no planner: per-site lead times and classes from a candidate table."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from qamtu.errors import InvalidInputError
from qamtu.chain.national import _per_site_columns, _pool, _status


def test_per_site_lead_times_and_classes():
    df = pd.DataFrame({"site_id": ["a", "a", "b", "c"], "site_class": ["rooftop", "rooftop", "", "tower"],
                       "lead_time_months": [2, 2, math.nan, 0]})
    out = _per_site_columns(df, "cands.csv")
    assert out == {"a": {"site_class": "rooftop", "lead_time_months": 2}, "b": {},
                   "c": {"site_class": "tower", "lead_time_months": 0}}
    assert _per_site_columns(pd.DataFrame({"site_id": ["a"]}), "x") == {}
    with pytest.raises(InvalidInputError, match=r"cands.csv, field 'lead_time_months' of site 'b': 1.5"):
        _per_site_columns(pd.DataFrame({"site_id": ["b"], "lead_time_months": [1.5]}), "cands.csv")


def test_status_against_deadline():
    assert _status(None, 23) == "never"
    assert _status(23, 23) == "on_time"
    assert _status(24, 23) == "late"


def test_crew_pools():
    class City:
        region_en = "Akmola Region"

    assert _pool("national", City, {"operator": "OpA"}) == "national"
    assert _pool("region", City, {}) == "Akmola Region"
    assert _pool("operator", City, {"operator": "OpA"}) == "OpA"
    assert _pool("operator", City, {}) == "unassigned"
    out = _per_site_columns(pd.DataFrame({"site_id": ["a", "b"], "operator": ["OpA", None]}), "c.csv")
    assert out == {"a": {"operator": "OpA"}, "b": {}}
