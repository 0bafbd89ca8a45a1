"""``qamtu plan``: one city's plan from a scenario, written with its reproducibility record.

:func:`run_plan` plans the scenario's one city with :mod:`qamtu.chain.city` (the same inputs and planner settings
``qamtu national`` uses for the same scenario) and records the run (:func:`qamtu.plan.record.plan_record`);
:func:`plan_job` also writes the outputs (:func:`qamtu.plan.outputs.write_plan_outputs`, maps drawn by
:func:`qamtu.report.maps.plot_metric_png`) and the resolved ``scenario.yaml``. :func:`scenario_from_record` gives the
scenario recorded in a ``plan.json`` (``qamtu plan --from-plan``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from qamtu.chain.scenario import Scenario, validate_scenario
from qamtu.errors import InvalidInputError

#: Version 1 plan files recorded the command's request; its fields -> the scenario keys they set (the input files
#: and the targets are mapped by :func:`_settings_from_request`).
_REQUEST_KEYS = {
    "resolution_m": "planning.resolution_m", "lattice_spacing_m": "planning.candidate_spacing_m",
    "lattice_cost": "planning.candidate_cost", "lock": "planning.lock", "exclude": "planning.exclude",
    "people_first": "planning.people_first", "budget": "planning.budget", "method": "planning.method",
    "time_limit_s": "planning.time_limit_s", "mip_rel_gap": "planning.mip_rel_gap",
    "max_repairs": "planning.max_repairs", "demand_block_m": "planning.demand_block_m",
    "colocation_cost_factor": "planning.colocation_cost_factor", "capacity": "planning.capacity.enabled",
    "min_dl_mbps": "engine.min_dl_mbps", "coverage_level": "engine.coverage_level", "cell_load": "engine.cell_load",
    "max_cutoff_m": "engine.max_cutoff_m", "calibration": "engine.calibration", "decisions": "inputs.decisions",
}
#: Fields of version 1 requests that no longer set anything (``seed``: recorded, never read by the optimisers).
_RETIRED_REQUEST_KEYS = ("seed",)
#: The city's input files a plan reads (``cities.files.<id>``), in the order they are recorded.
CITY_FILES = ("candidates", "existing", "sites", "boundary", "population", "landcover", "sites_4g")


def input_files(scenario: Scenario, city_id: str) -> dict[str, str]:
    """Every input file of the city's plan, by name (each DEM file of a folder on its own: ``dem_1``, ...)."""
    files = scenario.city_files(city_id)
    out = {k: files[k] for k in CITY_FILES if files.get(k)}
    if scenario["engine"].get("calibration"):
        out["calibration"] = scenario["engine"]["calibration"]
    if scenario["inputs"]["decisions"]:
        out["decisions"] = scenario["inputs"]["decisions"]
    dem = files.get("dem")
    if dem is not None and str(dem).strip().lower() != "flat":
        from qamtu.geo.dem import dem_paths

        for i, path in enumerate(dem_paths(dem)):
            out[f"dem_{i + 1}"] = str(path)
    return out


def run_plan(scenario: Scenario, progress: Callable[[str], None] | None = None) -> Any:
    """The plan of the scenario's one city (``cities.ids``), with ``Plan.record`` set."""
    from qamtu.chain.city import city_inputs, plan_inputs
    from qamtu.geo.catalogue import get_city
    from qamtu.plan.record import plan_record

    city = get_city(scenario["cities"]["ids"][0])
    decisions_path = scenario["inputs"]["decisions"]
    decisions = None
    if decisions_path:
        from qamtu.plan.decisions import read_decisions

        decisions = read_decisions(decisions_path)
    inputs = city_inputs(city, scenario)
    plan = plan_inputs(inputs, scenario, decisions=decisions, decisions_source=str(decisions_path),
                       progress=progress)
    plan.record = plan_record(scenario.resolved(), city.id, plan, input_files(scenario, city.id))
    if decisions is not None:
        plan.record["decisions"] = plan.decisions
    return plan


def _map_fn() -> Callable[..., Any]:
    """The coverage map drawer of the plan's before/after maps (:func:`qamtu.report.maps.plot_metric_png`)."""
    from qamtu.report.maps import plot_metric_png

    def draw(result: Any, area: Any, path: Path, sites: Any, title: str) -> Any:
        return plot_metric_png(result, area, "covered", path, sites=sites)

    return draw


def plan_job(scenario: Scenario, folder: str, say: Any = None) -> tuple[dict[str, Any], list[Any], bool]:
    """Plan the scenario's city and write its outputs and ``scenario.yaml`` to ``folder``: (summary, site ids,
    targets met). A module-level function so that ``--dask`` runs it on a worker (which then writes ``folder``)."""
    from qamtu.fileio import write_text_atomic
    from qamtu.plan.outputs import write_plan_outputs

    plan = run_plan(scenario, progress=say)
    write_plan_outputs(plan, folder, map_fn=_map_fn())
    write_text_atomic(Path(folder) / "scenario.yaml", scenario.to_yaml())
    return plan.summary, list(plan.sites["site_id"]), bool(plan.targets_met)


def _settings_from_request(req: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[str, Any]]]:
    """A version 1 request as (the city's files and targets, the other keys it sets)."""
    files = ("candidates", "existing", "boundary", "population", "dem", "landcover", "sites_4g")
    known = {"city", "target_territory", "target_population", *files, *_REQUEST_KEYS, *_RETIRED_REQUEST_KEYS}
    unknown = sorted(set(req) - known)
    if unknown:
        raise InvalidInputError(f"plan.json (version 1), request: unknown field(s) {', '.join(unknown)}; known: "
                                f"{', '.join(sorted(known - set(_RETIRED_REQUEST_KEYS)))}")
    city = str(req["city"])
    entry = {k: req[k] for k in files if req.get(k) is not None}
    if req.get("target_territory") is not None or req.get("target_population") is not None:
        entry["targets"] = {"territory_share": req.get("target_territory"),
                            "population_share": req.get("target_population")}
    keys = {_REQUEST_KEYS[k]: (k, v) for k, v in req.items() if k in _REQUEST_KEYS and v is not None}
    keys["cities.ids"] = ("city", [city])
    return {city: entry}, keys


def scenario_from_record(doc: dict[str, Any], source: str = "plan.json") -> Scenario:
    """The scenario recorded in a plan file, after checking every input file's SHA-256
    (:func:`qamtu.plan.record.recorded_settings`)."""
    from qamtu.plan.record import recorded_settings

    settings = recorded_settings(doc, source)
    if doc["version"] != 1:
        return validate_scenario(settings, source=f"{source} (recorded scenario)")
    files, keys = _settings_from_request(settings)
    base = validate_scenario({"cities": {"ids": list(files), "files": files}}, source=f"{source} (request)")
    return base.with_overrides(keys)
