"""Quality gates: a city passes only when the engine says its targets hold with the sites on air.

:func:`engine_gate` builds the gate evaluator that :func:`~qamtu.rollout.schedule.schedule_rollout` calls. It
re-runs ``qamtu.engine.aggregate(area, links, config, active=mask)`` with ``mask`` = the sectors of the sites on
air (plus the sites already on air before the rollout), so the gate sees the interference of exactly those
sites and the throughput each pixel gets; nothing is inferred from a count of sites.

The engine's ``covered`` mask is the coverage criterion (:class:`qamtu.engine.criterion.CoverageCriterion`:
P(SS-RSRP >= -110 dBm) >= 0.9 and P(DL >= ``min_dl_mbps`` at 50 % load) >= 0.9 for outdoor users by default;
50 Mbit/s is the 5G minimum proposed by the ministry, docs/reference/kazakhstan.md), so the territory and
population shares are shares of area/people served at that rate with that probability. A speed target
(``dl_p5_mbps``: the 5th percentile over the covered people of the rate each gets 90 % of the time, see
:func:`dl_p5_from_kpis`; e.g. ITU-R M.2410's 100 Mbit/s user experienced data rate for Dense Urban eMBB) can be
added on top.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from qamtu.errors import InvalidInputError
from qamtu.rollout.schedule import GateResult
from qamtu.targets import Targets


def check_targets(targets: Targets, kpis: Mapping[str, Any]) -> GateResult:
    """The gate's answer for KPIs (``territory_share``, ``population_share``, ``dl_p5_mbps``) against ``targets``
    (:meth:`qamtu.targets.Targets.shortfalls`)."""
    reasons = targets.shortfalls(kpis)
    return GateResult(passed=not reasons, kpis=dict(kpis), reasons=reasons)


def dl_p5_from_kpis(kpis: Mapping[str, Any]) -> float | None:
    """The speed figure of a city: the 5th percentile, over the COVERED people, of the DL rate each reaches 90 %
    of the time (the engine's ``dl_mbps_p10_covered_percentiles``; issue 11). Uncovered people are not in it:
    they are counted by the coverage shares. Older KPI dicts: ``dl_mbps_percentiles`` (over everyone) keyed 5,
    "5", "p5" or "p05", else ``dl_p5_mbps``."""
    pct = kpis.get("dl_mbps_p10_covered_percentiles")
    if isinstance(pct, Mapping) and "5" in pct:
        v = pct["5"]
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    pct = kpis.get("dl_mbps_percentiles")
    if isinstance(pct, Mapping):
        for key in (5, 5.0, "5", "p5", "p05", "5.0"):
            if key in pct:
                return None if pct[key] is None else float(pct[key])
    if "dl_p5_mbps" in kpis:
        return None if kpis["dl_p5_mbps"] is None else float(kpis["dl_p5_mbps"])
    return None


def engine_gate(
    area: Any,
    links: Any,
    config: Any,
    sector_site_ids: Sequence[str] | np.ndarray,
    targets: Targets,
    *,
    always_on: np.ndarray | None = None,
    engine: Any = None,
):
    """Gate evaluator for one city backed by the coverage engine.

    Parameters
    ----------
    area : qamtu.geo.StudyArea
    links : qamtu.engine Links
        Links of every candidate sector (e.g. ``Plan.links``).
    config : qamtu.engine.EngineConfig
    sector_site_ids : sequence of str, shape (n_sectors,)
        The site id of each sector, aligned with ``links`` (e.g. ``Plan.candidates["site_id"]``).
    targets : qamtu.targets.Targets
    always_on : ndarray of bool, shape (n_sectors,), optional
        Sectors on air before the rollout (existing sites), active in every evaluation.
    engine : qamtu.engine.IncrementalAggregator, optional
        An evaluator of ``links`` to share with other gates (e.g. the sensitivity sweep's coverage-level steps:
        one whose ``levels`` contain ``config.coverage_level`` and whose config differs only in it); default: a
        new one for this gate.

    Returns
    -------
    callable ``(city_id, frozenset of site ids) -> GateResult``
        KPIs in the result: the engine's ``kpis()`` plus ``dl_p5_mbps`` and ``population_covered`` (people).
    """
    from qamtu.engine.aggregate import IncrementalAggregator

    site_of = np.asarray([str(s) for s in sector_site_ids])
    base = np.zeros(site_of.shape, bool) if always_on is None else np.asarray(always_on, bool)
    if base.shape != site_of.shape:
        raise InvalidInputError(f"always_on has shape {base.shape}, expected {site_of.shape} (one per sector)")

    # the coverage shares need only ``covered``; the rate maps only when a speed target is set. Successive
    # evaluations differ by a few sites: only the pixels they touch are recomputed (same result as aggregate)
    if engine is None:
        engine = IncrementalAggregator(area, links, config, full=targets.dl_p5_mbps is not None)
    elif engine.links is not links or engine.full != (targets.dl_p5_mbps is not None):
        raise InvalidInputError("engine_gate: the shared evaluator is for other links or another map setting")

    def gate(city_id: str, on_air: frozenset) -> GateResult:
        active = base | np.isin(site_of, list(on_air))
        result = engine.evaluate(active, config)
        kpis = dict(result.kpis())
        kpis["dl_p5_mbps"] = dl_p5_from_kpis(kpis)
        if "population_total" in kpis and "population_share" in kpis:
            kpis["population_covered"] = float(kpis["population_total"]) * float(kpis["population_share"])
        kpis["sites_on_air"] = len(on_air)
        return check_targets(targets, kpis)

    return gate
