"""Plan a city: candidates -> per-site coverage sets from the engine -> optimiser -> engine check and repair.

How the engine is used
----------------------
* **Coverage links.** :func:`qamtu.engine.compute_links` for every candidate sector, with the search capped at
  the *coverage reach* (:func:`coverage_reach_m`: the farthest distance at which one link can still reach the
  coverage-probability level, found on the engine's own link physics, plus one pixel diagonal). Beyond it a
  sector can interfere but never cover, so these links are all the covering model needs.
* **Coverage relation.** Site ``s`` covers pixel ``i`` (under the sites assumed on air, ``A``) when one of its
  sectors ``k`` has single-link coverage probability >= ``config.coverage_level`` AND DL throughput >=
  ``config.min_dl_mbps`` at ``SINR = S_ik / (load * (I_A(i) + I_own(s, i) - I_ik) + N)``, the engine's SINR with
  the interference of ``A`` and of the site's own other sectors (:func:`min_sinr_db` turns the rate into an SINR
  threshold with :func:`qamtu.radio.nr.throughput_mbps`). Round 0 assumes only the existing and locked sites on
  air: an optimistic relation whose optimum bounds the cost from below (see :mod:`qamtu.plan.repair`).
* **Full check.** The chosen set is evaluated with :func:`qamtu.engine.aggregate` on links computed with the full
  engine cut-off (``config`` as given) for every site that was ever chosen (computed once per site and merged):
  SINR with all chosen sites. ``Plan.links`` holds those links over the whole candidate table, ``Plan.active``
  the chosen sectors; ``aggregate(area, plan.links, config, active=subset)`` re-evaluates any subset of the plan.

Demand: every pixel inside the study-area mask, weighted by its area and population; pixels with identical
coverage signatures are merged into one demand unit (exact, :func:`qamtu.plan.problem.aggregate_demand`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from qamtu.errors import InvalidInputError
from qamtu.plan.explain import explain_plan
from qamtu.plan.problem import Targets
from qamtu.plan.model import CityModel, min_sinr_db
from qamtu.plan.reach import coverage_reach_m
from qamtu.plan.repair import RepairResult, solve_with_repair

if TYPE_CHECKING:
    from qamtu.engine import CoverageResult, EngineConfig, Links
    from qamtu.geo import City, StudyArea
    from qamtu.plan.capacity import CapacityResult
    from qamtu.plan.demand import DemandModel

__all__ = ["Plan", "plan_city", "default_targets", "coverage_reach_m", "min_sinr_db", "CityModel"]


def default_targets(city: City | None, population_share: float | None = None, *, people_first: bool = True) -> Targets:
    """The licence-obligation targets of a city (:func:`qamtu.targets.licence_targets`: the territory share of its
    class; people first, the same share of its people)."""
    from qamtu.targets import licence_targets

    return licence_targets(city, population_share, people_first=people_first)


@dataclass
class Plan:
    """A city plan (see :mod:`qamtu.plan` for the fields)."""

    sites: pd.DataFrame
    sectors: pd.DataFrame
    rejected: pd.DataFrame
    candidates: pd.DataFrame
    links: Links
    active: np.ndarray
    coverage: CoverageResult
    coverage_before: CoverageResult
    kpis: dict
    kpis_before: dict
    summary: dict
    targets: Targets
    targets_met: bool
    result: RepairResult
    model: CityModel
    record: dict = field(default_factory=dict)
    decisions: dict | None = None


def plan_city(
    area: StudyArea,
    candidates: pd.DataFrame,
    targets: Targets,
    config: EngineConfig | None = None,
    *,
    method: str = "milp",
    budget: float | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.005,
    max_repairs: int = 10,
    demand_block_m: float | None = None,
    progress: Callable[[str], None] | None = None,
    model: CityModel | None = None,
    demand: DemandModel | None = None,
    share: Any | None = None,
) -> Plan:
    """Choose the cheapest candidate sites whose plan, checked by the full engine, meets the targets.

    Parameters
    ----------
    area : qamtu.geo.StudyArea
    candidates : DataFrame
        Candidate table (:func:`~qamtu.plan.candidates.combine_candidates`): one row per sector with ``site_id``,
        ``cost``, ``decision``, ``origin`` and the site-table columns.
    targets : Targets
    config : EngineConfig, optional
        Coverage criteria (``coverage_level``, ``min_dl_mbps``, ``cell_load``) and the link budget.
    method : {"milp", "greedy"}
    budget : float, optional
        Upper bound on the total cost of the plan (existing sites cost 0).
    time_limit_s, mip_rel_gap : float
        HiGHS limits per solve.
    max_repairs : int
        Tightening rounds after the first solve (see :mod:`qamtu.plan.repair`).
    demand_block_m : float, optional
        Let the optimiser work on square demand blocks of this side (a multiple of the resolution, m) instead of
        pixels: approximate but much smaller on fine grids (a block counts as covered by a site that covers half
        of it). The engine check, the repair and every reported share stay at pixel level; the lower bound is then
        an estimate (labelled so). Default: pixels, grouped exactly by coverage signature.
    progress : callable(str), optional
    model : CityModel, optional
        A prepared model of the same area/candidates/config (reuses its links; used by the benchmark).
    demand : qamtu.plan.capacity.DemandModel, optional
        Busy-hour demand per person: after the coverage plan, sites are added next to every sector whose demand
        exceeds its capacity at the target load (:func:`qamtu.plan.capacity.add_capacity_sites`). ``Plan.sites``
        then has ``purpose`` = ``coverage``/``capacity``; the summary gives ``sites_for_coverage``,
        ``sites_for_capacity`` and the median distance between neighbouring planned sites. None: coverage only.
    share : qamtu.plan.linkshare.LinkShare, optional
        Coverage links shared with the plans of other thresholds and coverage levels (a sweep; the same plan).

    Returns
    -------
    Plan
    """
    from qamtu.engine import EngineConfig

    if method not in ("milp", "greedy"):
        raise InvalidInputError(f"method {method!r} is not allowed; choose 'milp' or 'greedy'")
    if budget is not None and (not np.isfinite(budget) or budget < 0):
        raise InvalidInputError(f"budget = {budget!r} is not allowed; give a number >= 0")
    config = EngineConfig() if config is None else config
    t0 = time.perf_counter()
    m = model if model is not None else CityModel(area, candidates, config, progress, share=share)
    blocks = None
    if demand_block_m is not None:
        k = int(round(float(demand_block_m) / float(area.resolution_m)))
        if k < 1:
            raise InvalidInputError(f"demand_block_m = {demand_block_m!r} is below the resolution "
                                    f"({area.resolution_m:g} m)")
        if k > 1:
            rows, cols = np.unravel_index(m.mask_flat, area.shape)
            n_bc = -(-area.shape[1] // k)
            _, blocks = np.unique((rows // k) * n_bc + cols // k, return_inverse=True)
    res = solve_with_repair(
        m.relation, m.evaluate, m.population, m.area_km2, m.sites["cost"].to_numpy(float),
        m.sites["site_id"].to_numpy(object), targets, lock=m.lock, exclude=m.exclude, budget=budget,
        population_total=float(area.population_total), area_total_km2=float(area.area_km2), method=method,
        max_repairs=max_repairs, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, demand_blocks=blocks,
        confirm=m.fresh_covered, progress=progress,
    )
    m.release_checks()
    capacity = None
    n_coverage = int(res.selected.sum())
    t_cap = time.perf_counter()
    if demand is not None:
        res, capacity = _capacity_stage(m, res, demand, budget, area, targets)
    t_cap = time.perf_counter() - t_cap
    coverage = m.aggregate(res.selected)
    before_sel = m.lock & (m.sites["origin"] == "existing").to_numpy()
    coverage_before = m.aggregate(before_sel)
    kpis = coverage.kpis()
    kpis_before = coverage_before.kpis()
    sites, rejected = explain_plan(m, res)
    sites["purpose"] = "coverage"
    if capacity is not None:
        ids = m.sites["site_id"].to_numpy(object)
        why = {str(ids[t]): text for t, text in capacity.reasons.items()}
        cap_rows = sites["site_id"].astype(str).isin(list(why))
        sites.loc[cap_rows, "purpose"] = "capacity"
        sites.loc[cap_rows, "explanation"] = [why[sid] + "; " + text for sid, text in
                                              zip(sites.loc[cap_rows, "site_id"].astype(str),
                                                  sites.loc[cap_rows, "explanation"])]
    active = m.sector_mask(res.selected)
    sectors = m.candidates.loc[active].reset_index(drop=True)
    summary = {
        "city": getattr(area.city, "id", None),
        "method": method,
        "status": res.status,
        "targets_met": bool(res.targets_met),
        "sites_selected": int(res.selected.sum()),
        "new_sites": int((res.selected & (m.sites["origin"] != "existing").to_numpy()).sum()),
        "existing_sites": int(before_sel.sum()),
        "cost": float(res.cost),
        "lower_bound": res.lower_bound,
        "gap": res.gap,
        "bound_of": res.bound_kind,
        "bound_exceptions_pixels": res.bound_exceptions,
        "territory_share": float(kpis["territory_share"]),
        "population_share": float(kpis["population_share"]),
        "territory_share_before": float(kpis_before["territory_share"]),
        "population_share_before": float(kpis_before["population_share"]),
        "target_territory_share": targets.territory_share,
        "target_population_share": targets.population_share,
        "budget": budget,
        "demand_block_m": demand_block_m,
        "candidates": int(m.n_sites),
        "candidate_sectors": int(len(m.candidates)),
        "coverage_reach_m": m.reach_m,
        "min_sinr_db": m.sinr_min_db,
        "rounds": res.rounds,
        "sites_for_coverage": n_coverage,
        "sites_for_capacity": 0 if capacity is None else len(capacity.added),
        "sites_put_back_after_capacity": int(res.selected.sum()) - n_coverage - (
            0 if capacity is None else len(capacity.added)),
        **_spacing_summary(sites, area),
        "capacity": None if capacity is None else {
            "demand_model": demand.as_dict(), "busy_hour_demand_mbps": capacity.demand_mbps,
            "target_load": demand.load_limit(config), "sectors_over_capacity_before": capacity.overloaded_before,
            "sectors_over_capacity_after": capacity.overloaded_after,
            "max_utilisation_after": capacity.max_utilisation_after, "rounds": capacity.rounds,
            "added": capacity.records},
        "timings_s": {
            "coverage_links": m.coverage_links_s, "plan_links": m.plan_links_s, "optimiser": res.solve_time_s,
            "engine_checks": res.evaluate_time_s, "capacity": t_cap, "total": time.perf_counter() - t0,
        },
    }
    fit = next((r for r in res.rounds if r.get("method") == "engine-drop"), None)
    summary["fit"] = None if fit is None else {
        k: fit.get(k) for k in ("dropped", "needed", "evaluations", "stopped", "restored", "confirm_evaluations",
                                "confirmed", "confirm_territory_share", "confirm_population_share")}
    summary["proof"] = _proof_text(res, method, time_limit_s, n_coverage, m.sites["cost"].to_numpy(float))
    if not res.targets_met:
        summary["message"] = _unmet_message(res, targets)
    return Plan(sites=sites, sectors=sectors, rejected=rejected, candidates=m.candidates, links=m.plan_links(res.selected),
                active=active, coverage=coverage, coverage_before=coverage_before, kpis=kpis,
                kpis_before=kpis_before, summary=summary, targets=targets, targets_met=bool(res.targets_met),
                result=res, model=m)


def _capacity_stage(m: CityModel, res: RepairResult, demand: DemandModel, budget: float | None, area: StudyArea,
                    targets: Targets) -> tuple[RepairResult, CapacityResult]:
    """Add capacity sites to the repaired coverage plan and return the updated result (engine shares)."""
    import dataclasses

    from qamtu.plan.capacity import add_capacity_sites

    cap = add_capacity_sites(m, res.selected, demand, budget=budget)
    if not cap.added:
        return res, cap
    sel = cap.selected
    covered = np.asarray(cap.coverage.covered).ravel()[m.mask_flat]
    kp = cap.coverage.kpis()
    a, p = float(kp["territory_share"]), float(kp["population_share"])
    order = np.concatenate([np.asarray(res.order, np.int64), np.asarray(cap.added, np.int64)])
    cost_of = m.sites["cost"].to_numpy(float)
    back = [s for s in res.dropped if not sel[s]]
    fits = budget is None or cost_of[sel].sum() + cost_of[back].sum() <= budget * (1 + 1e-12)
    if res.targets_met and not targets.met(a, p) and back and fits:
        # the capacity sites' interference un-covered the fitted plan's edge: put fitted-away sites back
        from qamtu.plan.fit import restore_until

        def shares(cov: np.ndarray) -> tuple[float, float]:
            return (float(m.area_km2[cov].sum()) / float(area.area_km2),
                    float(m.population[cov].sum()) / float(area.population_total) if area.population_total else 0.0)

        new, _, _ = restore_until(sel, back, lambda s: targets.met(*shares(m.evaluate(s))))
        order = np.concatenate([order, np.flatnonzero(new & ~sel)])
        sel = new
        covered = m.evaluate(sel)
        m.release_checks()
        a, p = shares(covered)
    cost = float(cost_of[sel].sum())
    return dataclasses.replace(
        res, selected=sel, order=order,
        covered=covered, territory_share=a, population_share=p, targets_met=bool(targets.met(a, p)), cost=cost,
        bound_kind=res.bound_kind + "; bound and gap are of the coverage plan, before the sites added for capacity",
    ), cap


def _spacing_summary(sites: pd.DataFrame, area: StudyArea) -> dict[str, float | str | None]:
    """Median distance between neighbouring planned sites, overall and in the densest zone (by people per km2)."""
    from qamtu.plan.capacity import neighbour_distances_m
    from qamtu.plan.people import zone_layer

    out: dict[str, float | str | None] = {"median_neighbour_distance_m": None,
                                          "median_neighbour_distance_densest_m": None, "densest_zone": None}
    if len(sites) < 2:
        return out
    d = neighbour_distances_m(sites["x_m"].to_numpy(), sites["y_m"].to_numpy())
    out["median_neighbour_distance_m"] = float(np.median(d))
    labels, names, kind = zone_layer(area)
    r, c = area.rowcol(sites["x_m"].to_numpy(), sites["y_m"].to_numpy())
    r = np.clip(np.asarray(r, int), 0, area.shape[0] - 1)
    c = np.clip(np.asarray(c, int), 0, area.shape[1] - 1)
    site_zone = labels[r, c]
    mask = np.asarray(area.mask, bool)
    pop = np.where(mask, np.asarray(area.population, float), 0.0)
    best, best_density = None, -1.0
    for i, name in enumerate(names):
        z = mask & (labels == i)
        if z.sum() == 0 or (site_zone == i).sum() == 0:
            continue
        density = pop[z].sum() / (z.sum() * area.pixel_area_km2)
        if density > best_density:
            best, best_density = i, density
    if best is not None:
        out["median_neighbour_distance_densest_m"] = float(np.median(d[site_zone == best]))
        out["densest_zone"] = f"{kind} {names[best]}"
    return out


#: The gap within which a plan counts as proven (issue 13: "within 1 % of its bound").
PROOF_GAP = 0.01


def _proof_text(res: RepairResult, method: str, time_limit_s: float, n_coverage: int, cost: np.ndarray) -> str:
    """Whether the coverage plan is proven within :data:`PROOF_GAP` of its lower bound, and if not by how much not.

    The bound and the gap are of the coverage plan (before capacity sites); the text names the bound's kind.
    """
    if res.lower_bound is None and res.bound_kind.startswith("none:"):
        return f"no lower bound: {res.bound_kind[len('none:'):].strip()}"
    if res.lower_bound is None or res.gap is None:
        return (f"no lower bound ({res.status}): the plan's quality is not proven; "
                "run with method milp for a bound")
    cov_cost = float(res.cost) if n_coverage == int(res.selected.sum()) else float(
        cost[np.asarray(res.order[:n_coverage], np.int64)].sum())
    gap = res.gap
    if gap <= PROOF_GAP + 1e-12:
        return f"proven within {PROOF_GAP:.0%}: cost {cov_cost:g} against a lower bound of {res.lower_bound:g} (gap {gap:.2%})"
    slack = cov_cost - float(res.lower_bound)
    return (f"not proven within {PROOF_GAP:.0%}: cost {cov_cost:g} against a lower bound of {res.lower_bound:g} "
            f"(gap {gap:.2%}, {slack:g} cost units; method {method}, {time_limit_s:g} s per solve). Either the plan "
            f"costs up to {slack:g} more than the cheapest plan of the covering model or the bound is that loose: "
            f"the bound ({res.bound_kind}) relaxes integrality and does not count the overlap that discs on a "
            "lattice cannot avoid, so part of the gap is the bound's, not the plan's.")


def _unmet_message(res: RepairResult, targets: Targets) -> str:
    want = []
    if targets.territory_share is not None:
        want.append(f"territory {targets.territory_share:.1%}")
    if targets.population_share is not None:
        want.append(f"population {targets.population_share:.1%}")
    got = f"territory {res.territory_share:.1%}, population {res.population_share:.1%}"
    why = {
        "infeasible": "the candidates cannot reach the targets even all together",
        "over_budget": "the targets do not fit in the budget",
        "not_met": "the repair rounds and the top-up ran out before the engine confirmed the targets",
    }.get(res.status, res.status)
    return (f"targets not met ({why}): wanted {' and '.join(want)}; the best plan found reaches {got} with "
            f"{int(res.selected.sum())} sites at cost {res.cost:g}")
