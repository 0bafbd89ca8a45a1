"""Gate targets: pass only when every target holds; the engine-backed gate is tested end to end in tests/report."""

from __future__ import annotations

import pytest

from qamtu.errors import InvalidInputError
from qamtu.rollout.gates import check_targets, dl_p5_from_kpis
from qamtu.targets import Targets


def test_gate_checks_every_target():
    t = Targets(territory_share=0.6, population_share=0.8, dl_p5_mbps=50.0)
    ok = check_targets(t, {"territory_share": 0.61, "population_share": 0.8, "dl_p5_mbps": 51.0})
    assert ok.passed and ok.reasons == ()
    low_rate = check_targets(t, {"territory_share": 0.9, "population_share": 0.9, "dl_p5_mbps": 20.0})
    assert not low_rate.passed and "5th-percentile DL" in low_rate.reasons[0]
    missing_rate = check_targets(t, {"territory_share": 0.9, "population_share": 0.9})
    assert not missing_rate.passed
    low_share = check_targets(Targets(territory_share=0.75), {"territory_share": 0.7499})
    assert not low_share.passed and "territory share" in low_share.reasons[0]


def test_dl_p5_read_from_engine_percentiles():
    assert dl_p5_from_kpis({"dl_mbps_percentiles": {5: 12.5, 50: 80.0}}) == 12.5
    assert dl_p5_from_kpis({"dl_mbps_percentiles": {"p5": 7.0}}) == 7.0
    assert dl_p5_from_kpis({"dl_p5_mbps": 3.0}) == 3.0
    assert dl_p5_from_kpis({}) is None


def test_bad_targets():
    with pytest.raises(InvalidInputError, match="territory_share"):
        Targets(territory_share=1.2)
    with pytest.raises(InvalidInputError, match="give a territory share"):
        Targets(territory_share=None)
    with pytest.raises(InvalidInputError, match="dl_p5_mbps"):
        Targets(territory_share=0.6, dl_p5_mbps=-1.0)
