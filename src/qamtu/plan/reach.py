"""The coverage reach of a candidate sector: how far one link can still meet the coverage-probability level.

Used by the planner to cap its coverage links (:mod:`qamtu.plan.planner`) and by the candidate lattices to space
their sites per environment class (:func:`qamtu.plan.candidates.class_spacings_m`); a module of its own so that
neither imports the other for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from qamtu.engine import EngineConfig
    from qamtu.engine.links import Sectors
    from qamtu.geo import StudyArea

__all__ = ["coverage_reach_m", "coverage_reaches_m"]


#: Reach per (sector parameters, environment class, engine configuration): the same for every city, so a national
#: run computes it once per class (the search is the costly part of deriving lattice spacings).
_REACH_CACHE: dict[tuple, float] = {}


def coverage_reach_m(sectors: Sectors, config: EngineConfig, area: StudyArea, *,
                     max_search_m: float = 30_000.0) -> float:
    """Farthest distance at which one link of these sectors reaches ``config.coverage_level``, m.

    Evaluated with the engine's link physics (:func:`qamtu.engine.links.evaluate_link_batch`) for every
    distinct (height, power, antenna, tilts) of the sectors, every environment class present in the area, on a
    ring of 360 bearings around the boresight and a logarithmic distance grid (ratio 1.01); the result is the
    grid point after the farthest passing one, plus one pixel diagonal, capped by the engine's own cut-off.
    """
    return coverage_reaches_m(sectors, [config], area, max_search_m=max_search_m)[0]


def coverage_reaches_m(sectors: Sectors, configs: list[EngineConfig], area: StudyArea, *,
                       max_search_m: float = 30_000.0) -> list[float]:
    """:func:`coverage_reach_m` of each configuration; those that differ only in
    :data:`qamtu.engine.links.LINK_SHARED_FIELDS` (a sweep's thresholds and levels) share one evaluation of the
    ring's path terms (each threshold's coverage probability as with that threshold alone)."""
    from qamtu.engine.links import Sectors, cutoff_distance_m, evaluate_link_batch, same_link_terms

    d = 10.0 * 1.01 ** np.arange(int(math.ceil(math.log(max_search_m / 10.0) / math.log(1.01))) + 1)
    bearings = np.radians(np.arange(0.0, 360.0, 1.0))
    frame = sectors.frame
    key_cols = ["height_m", "azimuth_deg", "mechanical_tilt_deg", "electrical_tilt_deg", "tx_power_dbm"]
    keys = pd.DataFrame({c: getattr(sectors, c) for c in key_cols})
    keys["antenna"] = sectors.antenna
    keys["azimuth_deg"] = 0.0  # the ring covers every bearing: the boresight does not matter
    first = keys.drop_duplicates().index.to_numpy()
    envs = np.unique(np.asarray(area.env_class)[np.asarray(area.mask, bool)])
    far = [0.0] * len(configs)
    for idx in first:
        sub = Sectors(frame=frame.iloc[[idx]], x_m=np.zeros(1), y_m=np.zeros(1),
                      height_m=sectors.height_m[[idx]], azimuth_deg=np.zeros(1),
                      mechanical_tilt_deg=sectors.mechanical_tilt_deg[[idx]],
                      electrical_tilt_deg=sectors.electrical_tilt_deg[[idx]],
                      tx_power_dbm=sectors.tx_power_dbm[[idx]], antenna=sectors.antenna[[idx]],
                      site_id=sectors.site_id[[idx]])
        dd, bb = np.meshgrid(d, bearings, indexing="ij")
        dx, dy = (dd * np.sin(bb)).ravel(), (dd * np.cos(bb)).ravel()
        params = tuple(keys.iloc[idx].tolist())
        for code in envs:
            ckeys = [(params, int(code), repr(c), float(max_search_m)) for c in configs]
            todo = [c for c, k in zip(configs, ckeys) if k not in _REACH_CACHE]
            while todo:  # one evaluation per family of configurations with the same path terms
                group = [c for c in todo if same_link_terms(c, todo[0])]
                todo = [c for c in todo if not same_link_terms(c, todo[0])]
                thresholds = sorted({float(c.rsrp_threshold_dbm) for c in group})
                batch = evaluate_link_batch(dx, dy, np.zeros(dx.size, np.int64), np.full(dx.size, int(code)), sub,
                                            group[0], thresholds_dbm=thresholds)
                for c in group:
                    pcov = batch.coverage_probability[:, thresholds.index(float(c.rsrp_threshold_dbm))]
                    passing = (pcov >= c.coverage_level).reshape(dd.shape).any(axis=1)
                    last = int(np.flatnonzero(passing)[-1]) if passing.any() else -1
                    _REACH_CACHE[(params, int(code), repr(c), float(max_search_m))] = (
                        0.0 if last < 0 else float(d[min(last + 1, d.size - 1)]))
            far = [max(f, _REACH_CACHE[k]) for f, k in zip(far, ckeys)]
    out = []
    for f, c in zip(far, configs):
        f += float(area.resolution_m) * math.sqrt(2.0)
        out.append(float(min(f, cutoff_distance_m(sectors, c))))
    return out
