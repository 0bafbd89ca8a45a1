"""Fixtures for the engine tests (helpers live in engine_testdata.py, a uniquely named module)."""

from __future__ import annotations

import pytest

from engine_testdata import make_area, make_sites


@pytest.fixture
def small_area():
    return make_area()


@pytest.fixture
def small_sites():
    # three sites inside a 2.5 km x 2 km area
    return make_sites([(700.0, 900.0), (1800.0, 1200.0), (1300.0, 300.0)])
