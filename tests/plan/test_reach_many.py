"""coverage_reaches_m: one evaluation of the probe ring for a family of thresholds and levels, each reach the one
coverage_reach_m finds alone."""

from __future__ import annotations

from qamtu.engine import EngineConfig, prepare_sectors
from qamtu.plan import reach


def test_shared_reaches_equal_separate_ones(monkeypatch):
    from qamtu.geo.area import make_study_area
    from qamtu.geo.catalogue import get_city
    from qamtu.plan.candidates import lattice_candidates

    area = make_study_area(get_city("konaev"), resolution_m=1000.0)
    sectors = prepare_sectors(lattice_candidates(area, 3000.0), area.crs)
    configs = [EngineConfig(rsrp_threshold_dbm=t, coverage_level=p) for t in (-100.0, -115.0) for p in (0.7, 0.95)]
    configs.append(EngineConfig(ue_height_m=10.0))  # another family: evaluated on its own
    monkeypatch.setattr(reach, "_REACH_CACHE", {})
    alone = []
    for c in configs:
        reach._REACH_CACHE.clear()
        alone.append(reach.coverage_reach_m(sectors, c, area))
    reach._REACH_CACHE.clear()
    import qamtu.engine.links as links

    calls = []
    links_real = links.evaluate_link_batch

    def counting(*args, **kwargs):
        calls.append(kwargs.get("thresholds_dbm"))
        return links_real(*args, **kwargs)

    monkeypatch.setattr(links, "evaluate_link_batch", counting)
    shared = reach.coverage_reaches_m(sectors, configs, area)
    assert shared == alone
    assert len(set(alone)) >= 3  # the thresholds and levels move the reach (not vacuous)
    envs = len(set(area.env_class[area.mask].tolist()))
    assert len(calls) == 2 * envs  # per class: one ring for the 4 thresholds x levels, one for the other family
    assert calls.count([-115.0, -100.0]) == envs and calls.count([-110.0]) == envs
