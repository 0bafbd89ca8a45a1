"""One city's inputs and its plan: the only place that builds them (``qamtu plan`` and ``qamtu national`` alike).

From a :class:`~qamtu.chain.scenario.Scenario` and a catalogue city: the study area (:func:`study_area`: the
scenario's grid, the city's boundary/population/DEM/land-cover files or the shipped defaults), the engine
configuration (:meth:`Scenario.engine_config`), the demand model of the capacity stage (:func:`demand_model`), the
targets (:meth:`Scenario.city_targets`), the candidate table (:func:`candidate_table`) and the plan
(:func:`plan_inputs`, with the scenario's planner settings, :func:`planner_options`).

The candidate table, in this order (the order breaks ties between equal candidates): the city's candidates file;
a uniform lattice at ``planning.candidate_spacing_m`` when given, else (without a candidates file) one lattice per
environment class (:func:`qamtu.plan.candidates.class_spacings_m`); the 4G sites as co-location candidates; the
sites on air (``existing``/``sites``: cost 0, always in). The 4G and on-air tables are cut to the city
(:func:`qamtu.geo.sites.sites_near_area`), so one national table serves every city.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from qamtu.chain.scenario import Scenario


@dataclasses.dataclass
class CityInputs:
    """What a city's plan is made from (:func:`city_inputs`)."""

    city: Any
    area: Any
    candidates: Any
    targets: Any
    config: Any
    demand: Any
    #: Lattice spacing per environment class, m (None when the candidates come from a file or a uniform lattice).
    spacings: dict[str, float] | None = None


def study_area(city: Any, scenario: Scenario, resolution_m: float | None = None) -> Any:
    """The study area of ``city`` on the scenario's grid (``resolution_m`` overrides ``planning.resolution_m``)."""
    from qamtu.geo.area import make_study_area, study_area_options

    files = scenario.city_files(city.id)
    res = float(resolution_m if resolution_m is not None else scenario["planning"]["resolution_m"])
    return make_study_area(city, resolution_m=res, boundary=files.get("boundary"), population=files.get("population"),
                           **study_area_options(files.get("dem"), files.get("landcover")))


def demand_model(scenario: Scenario) -> Any:
    """The busy-hour demand model of ``planning.capacity`` (:class:`qamtu.plan.capacity.DemandModel`), or None when
    the capacity stage is off."""
    from qamtu.plan.demand import DemandModel

    cap = scenario["planning"]["capacity"]
    if not cap["enabled"]:
        return None
    return DemandModel(cap["take_up"], cap["active_share"], cap["rate_per_active_user_mbps"], cap["target_load"])


def candidate_table(city_id: str, scenario: Scenario, area: Any, config: Any,
                    demand: Any) -> tuple[Any, dict[str, float] | None]:
    """The candidate table of a city (see the module docstring) and the per-class lattice spacings used, if any."""
    from qamtu.geo.sites import read_sites, sites_near_area
    from qamtu.plan.candidates import (
        class_spacings_m,
        colocation_candidates,
        combine_candidates,
        env_lattice_candidates,
        existing_sites,
        lattice_candidates,
        read_candidates,
    )

    files = scenario.city_files(city_id)
    pl = scenario["planning"]
    frames = []
    spacings = None
    if "candidates" in files:
        frames.append(read_candidates(files["candidates"]))
    if pl["candidate_spacing_m"] is not None:
        frames.append(lattice_candidates(area, pl["candidate_spacing_m"], cost=pl["candidate_cost"]))
    elif "candidates" not in files:
        spacings = class_spacings_m(area, config, demand)
        frames.append(env_lattice_candidates(area, spacings, cost=pl["candidate_cost"]))
    if "sites_4g" in files:  # the 4G grid, cut to the city like the existing sites
        frames.append(colocation_candidates(sites_near_area(read_sites(files["sites_4g"]), area),
                                            pl["candidate_cost"], pl["colocation_cost_factor"],
                                            source=files["sites_4g"]))
    for key in ("sites", "existing"):  # on air from month one, cost 0 (a national table is cut to the city)
        if key in files:
            frames.append(existing_sites(sites_near_area(read_sites(files[key]), area), source=files[key]))
    return combine_candidates(*frames, lock=pl["lock"], exclude=pl["exclude"]), spacings


def city_inputs(city: Any, scenario: Scenario, *, resolution_m: float | None = None, config: Any = None,
                area: Any = None) -> CityInputs:
    """Study area, candidates, targets, engine configuration and demand model of one city of ``scenario``.

    ``config``: an engine configuration to use instead of the scenario's (a worker's copy with ``workers=1``);
    ``area``: a study area already made for the city.
    """
    config = scenario.engine_config() if config is None else config
    targets = scenario.city_targets(city)
    area = study_area(city, scenario, resolution_m) if area is None else area
    demand = demand_model(scenario)
    candidates, spacings = candidate_table(city.id, scenario, area, config, demand)
    return CityInputs(city, area, candidates, targets, config, demand, spacings)


def planner_options(scenario: Scenario) -> dict[str, Any]:
    """The keyword arguments of :func:`qamtu.plan.planner.plan_city` that the scenario's ``planning`` sets."""
    pl = scenario["planning"]
    return dict(method=pl["method"], budget=pl["budget"], time_limit_s=pl["time_limit_s"],
                mip_rel_gap=pl["mip_rel_gap"], max_repairs=pl["max_repairs"], demand_block_m=pl["demand_block_m"])


def same_candidates(inputs: CityInputs, configs: list[Any]) -> list[Any]:
    """The engine configurations among ``configs`` that give this city the candidate table of ``inputs``: all of
    them when the table does not depend on the engine (a candidates file, a uniform lattice), else those whose
    per-class lattice spacings (:func:`qamtu.plan.candidates.class_spacings_m`: from the link budget, so from the
    RSRP threshold and the coverage level) are those of ``inputs``."""
    if inputs.spacings is None:
        return list(configs)
    from qamtu.plan.candidates import class_spacings_m

    return [c for c in configs if class_spacings_m(inputs.area, c, inputs.demand) == inputs.spacings]


def plan_inputs(inputs: CityInputs, scenario: Scenario, *, decisions: Any = None, decisions_source: str = "decisions",
                progress: Callable[[str], None] | None = None, model: Any = None, share: Any = None) -> Any:
    """The plan of a city (:func:`qamtu.plan.planner.plan_city`, or :func:`qamtu.plan.decisions.plan_with_decisions`
    when ``decisions`` has rows) with the scenario's planner settings; ``model``: a planner model to reuse;
    ``share``: coverage links shared with other thresholds and levels (:mod:`qamtu.plan.linkshare`)."""
    from qamtu.plan.planner import plan_city

    kw = dict(planner_options(scenario), progress=progress, demand=inputs.demand)
    if decisions is not None and len(decisions):
        from qamtu.plan.decisions import plan_with_decisions

        return plan_with_decisions(inputs.area, inputs.candidates, decisions, inputs.targets, inputs.config,
                                   source=decisions_source, **kw)
    return plan_city(inputs.area, inputs.candidates, inputs.targets, inputs.config, model=model, share=share, **kw)
