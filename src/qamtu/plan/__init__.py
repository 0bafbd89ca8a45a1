"""Automatic site planning: the fewest, cheapest sites that meet a city's coverage and quality targets.

Layers: ``qamtu.plan`` uses ``qamtu.engine`` (links, ``aggregate(active=...)``) and ``qamtu.geo``; it never
imports the CLI or ``qamtu.report``.

Public API
----------
Abstract covering model and optimisers (no radio, usable on their own)

- :class:`Targets` ``(territory_share=None, population_share=None, dl_p5_mbps=None)``: the one target type
  (:mod:`qamtu.targets`, re-exported here); shares in (0, 1]; at least one target.
- :func:`default_targets` ``(city) -> Targets``: the licence obligation of :mod:`qamtu.targets`, a share of the
  territory by class of city (the cities of republican significance Astana, Almaty, Shymkent; the other regional
  centres); docs/reference/kazakhstan.md.
- :class:`CoverageProblem` ``(cover, population, area_km2, cost, site_ids, population_total, area_total_km2,
  lock=None, exclude=None, budget=None)``: demand units x candidate sites, sparse boolean ``cover``.
- :func:`aggregate_demand` ``(pixel_cover, population, area_km2)``: group pixels with identical coverage
  signature into units (exact for the covering model).
- :func:`solve_milp` ``(problem, targets, time_limit_s=60, mip_rel_gap=0.005, warm_start=True, swap_share=0.6)
  -> Solution`` (greedy plan, knapsack and Lagrangian bounds, the tabu swap search of ``qamtu.plan.swap``, then
  HiGHS branch-and-cut through ``highspy`` with the time left, each stage skipped once the bound proves the plan
  within the gap; units covered by a single site are folded into that site's column, exactly),
  :func:`solve_greedy` ``(problem, targets, prune=True, lower_bound=False, polish_moves=0) -> Solution`` (CELF lazy
  greedy, optionally polished by a fixed number of swap-search moves: the planner's ``method="greedy"`` uses
  ``repair.GREEDY_POLISH_MOVES``), :func:`qamtu.plan.swap.swap_search` (tabu swap search on a feasible plan),
  :func:`lp_lower_bound`, :class:`Solution` (``selected``, ``order``, ``cost``, ``lower_bound``, ``gap``,
  ``status`` in {"optimal", "time_limit", "heuristic", "infeasible", "over_budget"}, model shares),
  :func:`solve` ``(problem, targets, method)`` (dispatch by name).
- Where each piece lives, one concept per module: ``objective`` (requirements, the capped coverage objective,
  ``TOL``), ``solution`` (:class:`Solution`), ``highs`` (HiGHS and the model's matrices), ``bounds`` (knapsack,
  Lagrangian, LP), ``swap`` (the drop-redundant pass and the tabu swap search), ``greedy`` (the gain-per-cost heap
  ``RateQueue``/``pick_by_rate``, :func:`solve_greedy`, :func:`addition_order`), ``milp`` (:func:`solve_milp`),
  ``solve`` (:func:`solve`), ``fit`` (:func:`qamtu.plan.fit.drop_against_engine`: the engine-checked drop pass that
  fits a plan to its targets), ``repair`` (:func:`solve_with_repair`).

Candidates (``qamtu.plan.candidates``)

- :func:`read_candidates` ``(path) -> DataFrame``: CSV or GeoJSON, one row per sector with the site-table columns
  (``site_id, lat, lon, height_m, azimuth_deg, mechanical_tilt_deg, electrical_tilt_deg, tx_power_dbm`` ...) plus
  ``cost`` (per site, the same on every sector row of a site) and an optional ``decision`` column
  (``""``/``"lock"``/``"exclude"``). Errors name file, row and field.
- :func:`lattice_candidates` ``(area, spacing_m, cost=1.0, ...) -> DataFrame``: a hexagonal lattice of generated
  3-sector candidates over the study area.
- :func:`existing_sites` ``(df) -> DataFrame``: on-air sites: cost 0, always in (``decision="lock"``,
  ``origin="existing"``).
- :func:`combine_candidates` ``(*frames, lock=(), exclude=())``: one candidate table; ``lock``/``exclude`` are site
  ids that override the ``decision`` column.
  Candidate tables carry the columns ``site_id``, ``cost``, ``decision``, ``origin`` (``user``/``lattice``/
  ``existing``) on every sector row; a site is the set of its sector rows and is chosen as a whole.

City planning (``qamtu.plan.planner``, ``qamtu.plan.repair``)

- :func:`plan_city` ``(area, candidates, targets, config=None, *, method="milp", budget=None,
  time_limit_s=60.0, mip_rel_gap=0.005, max_repairs=10, demand_block_m=None, progress=None, model=None) -> Plan``.
  Demand is every pixel inside the mask, grouped exactly by coverage signature; ``demand_block_m`` lets the
  optimiser work on square blocks instead (approximate: a block counts as covered by a site covering half of it;
  the engine check and all reported shares stay per pixel, and the bound is labelled an estimate).
- :class:`CityModel` ``(area, candidates, config)`` (:mod:`qamtu.plan.model`): the engine-backed pieces (coverage links within the
  coverage reach, ``relation(on_air)``, ``evaluate(selected)``, ``aggregate(selected)``, ``plan_links(selected)``);
  reusable across methods and runs on the same inputs.
- :func:`solve_with_repair` ``(relation, evaluate, population, area_km2, cost, site_ids, targets, ...)``: the
  engine-in-the-loop repair on any coverage model (callables), returning a :class:`RepairResult`.
- :func:`min_sinr_db` ``(config)``: the DL SINR that gives ``config.min_dl_mbps``; :func:`coverage_reach_m`.

Reproducible runs (``qamtu.plan.record``, ``qamtu.plan.outputs``)

- :func:`plan_record` ``(settings, city_id, plan, files)``: the record written to ``plan.json`` (the resolved scenario,
  the SHA-256 of every input file); ``qamtu.plan.record.recorded_settings`` reads it back after checking them. The
  run itself (a scenario to a plan with its record) is :func:`qamtu.chain.plan.run_plan`.
  ``qamtu.plan.outputs.write_plan_outputs(plan, out_dir, map_fn=None)``.
- :class:`Plan` with

  - ``sites``: DataFrame, one row per chosen site: ``site_id, origin, cost, order, x_m, y_m, lat, lon, n_sectors,
    added_population, added_area_km2, unique_population, unique_area_km2, rejected_neighbours, explanation``.
  - ``sectors``: the candidate sector rows of the chosen sites (a site table the engine can evaluate).
  - ``rejected``: DataFrame of rejected candidates near chosen ones with the reason they lost.
  - ``candidates`` (all candidate sector rows, aligned with ``links``), ``links`` (the engine's ``Links``),
    ``active`` (bool per candidate sector: the chosen ones), so a scheduler can call
    ``qamtu.engine.aggregate(area, plan.links, config, active=subset)`` to re-evaluate any subset of the plan.
  - ``coverage`` / ``coverage_before`` (``CoverageResult`` of the plan / of the locked and existing sites only),
    ``kpis`` / ``kpis_before`` (their ``kpis()``), ``summary`` (dict with ``sites_selected``, ``cost``,
    ``lower_bound``, ``gap``, ``territory_share``, ``population_share``, ``targets_met`` and more),
    ``targets_met`` (bool), ``record`` (the reproducibility record written to ``plan.json``).

People first, capacity, files, decisions (``qamtu.plan.people``, ``.capacity``, ``.exports``, ``.decisions``)

- :meth:`Targets.people_first` ``(territory, population=None, enabled=True)``: the default population target equals
  the territory target; :func:`qamtu.plan.people.prefer_people` (equal-cost swaps toward more people, run after each
  optimiser call), :func:`qamtu.plan.people.zone_shares` (people/territory covered per district or environment
  class, dark zones).
- :class:`qamtu.plan.demand.DemandModel` (sourced defaults), :func:`~qamtu.plan.capacity.sector_load`,
  :func:`~qamtu.plan.capacity.add_capacity_sites`; ``plan_city(..., demand=DemandModel())`` runs the capacity stage.
- :func:`qamtu.plan.candidates.class_spacings_m`, :func:`~qamtu.plan.candidates.env_lattice_candidates`,
  :func:`~qamtu.plan.candidates.colocation_candidates`.
- :func:`qamtu.plan.exports.write_plan_files`: ``planned_sectors.csv``, ``plan.gpkg``, ``planned_sectors_import.csv``.
- :func:`qamtu.plan.decisions.read_decisions`, :func:`~qamtu.plan.decisions.plan_with_decisions`.

The plan is checked with the full engine: the optimiser works on per-site coverage sets, the engine then
evaluates the chosen set with all its interference, and the plan is repaired until the engine says the targets
hold (or the candidates run out); then the sites the engine says are not needed are dropped (the covering model
decides per single link, the engine on the union over sites, so the repaired plan overshoots its targets). The optimisers are deterministic (ties broken by cost and index, HiGHS
single-threaded with a fixed random seed): the same inputs give the same plan unless a solve is cut by its time
limit.
"""

from __future__ import annotations

from qamtu.plan.candidates import (
    combine_candidates,
    existing_sites,
    lattice_candidates,
    prepare_candidates,
    read_candidates,
    site_table,
)
from qamtu.plan.model import CityModel, min_sinr_db
from qamtu.plan.planner import Plan, coverage_reach_m, default_targets, plan_city
from qamtu.plan.problem import CoverageProblem, Targets, aggregate_demand
from qamtu.plan.record import plan_record
from qamtu.plan.repair import RepairResult, solve_with_repair
from qamtu.plan.bounds import lp_lower_bound
from qamtu.plan.greedy import addition_order, solve_greedy
from qamtu.plan.milp import solve_milp
from qamtu.plan.solution import Solution
from qamtu.plan.solve import solve

__all__ = [
    "CityModel",
    "Plan",
    "RepairResult",
    "combine_candidates",
    "coverage_reach_m",
    "default_targets",
    "existing_sites",
    "lattice_candidates",
    "min_sinr_db",
    "plan_city",
    "plan_record",
    "prepare_candidates",
    "read_candidates",
    "site_table",
    "solve_with_repair",
    "CoverageProblem",
    "Targets",
    "aggregate_demand",
    "Solution",
    "addition_order",
    "lp_lower_bound",
    "solve",
    "solve_greedy",
    "solve_milp",
]
