"""Reproducible plan runs: a :class:`PlanRequest` holds every input, and the plan file records it.

``plan.json`` (kind ``"qamtu-plan"``, version 1) keeps the request (file paths with their SHA-256), the full
engine configuration, the targets, method and solver limits, the versions of qamtu, Python, NumPy, SciPy,
HiGHS and pandas, and the result (the chosen site ids in order, cost, bound, shares). :func:`request_from_record`
reads it back, checks that every input file still has its recorded SHA-256, and gives a request that
:func:`run_request` turns into the same plan (the optimisers are deterministic; HiGHS runs with the recorded
options; on a different HiGHS version the plan may differ among equal-cost optima, which the record lets a reader
see).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from qamtu.errors import DataFileError, InvalidInputError, where

__all__ = ["PlanRequest", "sha256_file", "build_inputs", "run_request", "plan_record", "request_from_record",
           "read_plan_file", "RECORD_KIND"]

RECORD_KIND = "qamtu-plan"
_FILE_FIELDS = ("candidates", "existing", "boundary", "population", "calibration", "landcover", "decisions",
                "sites_4g")


@dataclass
class PlanRequest:
    """Everything a plan run depends on (what ``qamtu plan`` takes on its command line).

    Attributes
    ----------
    city : str
        Catalogue id.
    resolution_m : float
        Grid resolution, m.
    candidates, existing, boundary, population, calibration : str or None
        Input files: candidate table (with ``cost``), existing on-air sites, city boundary, population raster,
        path-loss calibration JSON.
    lattice_spacing_m : float or None
        Spacing of a uniform lattice of generated candidates. When neither ``candidates`` nor a spacing is given,
        one lattice per environment class (:func:`~qamtu.plan.candidates.class_spacings_m`) is generated.
    lattice_cost : float
        Cost of each generated site.
    lock, exclude : list of str
        Site ids to lock in / rule out.
    target_territory, target_population : float or None
        Targets; when both are None the city's default territory target applies
        (:func:`~qamtu.plan.planner.default_targets`). With ``people_first`` (the default) a missing population
        target equals the territory target (:meth:`~qamtu.plan.problem.Targets.people_first`).
    people_first : bool
        See above; False plans for the territory target alone.
    min_dl_mbps, coverage_level, cell_load : float or None
        Overrides of the engine's coverage criteria (None: :class:`~qamtu.engine.EngineConfig` defaults).
    max_cutoff_m : float or None
        Cap of the engine's link cut-off (speed against accuracy; None: derived only).
    budget : float or None
    method : {"milp", "greedy"}
    time_limit_s, mip_rel_gap : float
    max_repairs : int
    demand_block_m : float or None
        Optimise on square demand blocks of this side, m (approximate; see ``plan_city``).
    sites_4g : str or None
        Site table of the 4G grid: candidates at ``colocation_cost_factor`` x ``lattice_cost``
        (:func:`~qamtu.plan.candidates.colocation_candidates`).
    colocation_cost_factor : float
    capacity : bool
        Run the capacity stage with the default demand model (:class:`~qamtu.plan.capacity.DemandModel`).
    decisions : str or None
        Decisions file (:mod:`qamtu.plan.decisions`): the re-plan honours it, and the optimiser's own plan on the
        same inputs is made too, so the record says where people overruled it and what that cost.
    """

    city: str
    resolution_m: float = 25.0
    candidates: str | None = None
    existing: str | None = None
    boundary: str | None = None
    population: str | None = None
    dem: str | None = None
    landcover: str | None = None
    calibration: str | None = None
    lattice_spacing_m: float | None = None
    lattice_cost: float = 1.0
    lock: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    target_territory: float | None = None
    target_population: float | None = None
    people_first: bool = True
    min_dl_mbps: float | None = None
    coverage_level: float | None = None
    cell_load: float | None = None
    max_cutoff_m: float | None = None
    budget: float | None = None
    method: str = "milp"
    time_limit_s: float = 60.0
    mip_rel_gap: float = 0.005
    max_repairs: int = 10
    demand_block_m: float | None = None
    decisions: str | None = None
    sites_4g: str | None = None
    colocation_cost_factor: float = 0.5
    capacity: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    return h.hexdigest()


def build_inputs(req: PlanRequest):
    """Study area, candidate table, targets and engine configuration of a request."""
    from qamtu.engine import EngineConfig, load_calibration
    from qamtu.geo.area import make_study_area, study_area_options
    from qamtu.geo.catalogue import get_city
    from qamtu.geo.sites import read_sites
    from qamtu.plan.candidates import (
        class_spacings_m,
        colocation_candidates,
        combine_candidates,
        env_lattice_candidates,
        existing_sites,
        lattice_candidates,
        read_candidates,
    )
    from qamtu.plan.planner import default_targets
    from qamtu.plan.problem import Targets

    if req.method not in ("milp", "greedy"):
        raise InvalidInputError(f"--method {req.method!r} is not allowed; choose milp or greedy")
    city = get_city(req.city)
    area = make_study_area(city, resolution_m=req.resolution_m, boundary=req.boundary, population=req.population,
                           **study_area_options(req.dem, req.landcover))
    changes: dict[str, Any] = {}
    for name in ("min_dl_mbps", "coverage_level", "cell_load", "max_cutoff_m"):
        value = getattr(req, name)
        if value is not None:
            changes[name] = float(value)
    if req.calibration is not None:
        changes["calibration"] = load_calibration(req.calibration)
    config = EngineConfig(**changes)
    frames = []
    if req.existing is not None:
        frames.append(existing_sites(read_sites(req.existing), source=str(req.existing)))
    if req.candidates is not None:
        frames.append(read_candidates(req.candidates))
    if req.lattice_spacing_m is not None:
        frames.append(lattice_candidates(area, req.lattice_spacing_m, cost=req.lattice_cost))
    elif req.candidates is None:
        frames.append(env_lattice_candidates(area, class_spacings_m(area, config, request_demand(req)),
                                             cost=req.lattice_cost))
    if req.sites_4g is not None:
        frames.append(colocation_candidates(read_sites(req.sites_4g), req.lattice_cost, req.colocation_cost_factor,
                                            source=str(req.sites_4g)))
    candidates = combine_candidates(*frames, lock=req.lock, exclude=req.exclude)
    if req.target_territory is None and req.target_population is None:
        targets = default_targets(city, people_first=req.people_first)
    else:
        targets = Targets.people_first(req.target_territory, req.target_population, enabled=req.people_first)
    return area, candidates, targets, config


def request_demand(req: PlanRequest):
    """The demand model of a request: the default :class:`~qamtu.plan.capacity.DemandModel`, or None without
    capacity."""
    from qamtu.plan.capacity import DemandModel

    return DemandModel() if req.capacity else None


def run_request(req: PlanRequest, progress: Callable[[str], None] | None = None):
    """Build the inputs of ``req`` and plan; returns the :class:`~qamtu.plan.planner.Plan` with ``record`` set."""
    from qamtu.plan.planner import plan_city

    area, candidates, targets, config = build_inputs(req)
    kwargs = dict(method=req.method, budget=req.budget, time_limit_s=req.time_limit_s,
                  mip_rel_gap=req.mip_rel_gap, max_repairs=req.max_repairs, demand_block_m=req.demand_block_m,
                  progress=progress, demand=request_demand(req))
    if req.decisions is None:
        plan = plan_city(area, candidates, targets, config, **kwargs)
        plan.record = plan_record(req, plan, config)
        return plan
    from qamtu.plan.decisions import plan_with_decisions, read_decisions

    decisions = read_decisions(req.decisions)
    plan = plan_with_decisions(area, candidates, decisions, targets, config, source=req.decisions, **kwargs)
    plan.record = plan_record(req, plan, config)
    plan.record["decisions"] = plan.decisions
    return plan


def _config_dict(config: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if f.name == "environments":
            v = {k: dataclasses.asdict(p) for k, p in v.items()}
        elif f.name == "calibration":
            v = None if v is None else {"source": v.source, "reference_distance_m": v.reference_distance_m,
                                        "classes": {k: dataclasses.asdict(c) for k, c in v.classes.items()}}
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def _versions() -> dict[str, str]:
    import pandas
    import scipy

    import qamtu

    out = {"qamtu": qamtu.__version__, "python": platform.python_version(), "numpy": np.__version__,
           "scipy": scipy.__version__, "pandas": pandas.__version__}
    try:
        from importlib.metadata import version

        out["highspy"] = version("highspy")
    except Exception:  # noqa: BLE001 - optional information
        out["highspy"] = "unknown"
    return out


def plan_record(req: PlanRequest, plan: Any, config: Any) -> dict[str, Any]:
    """The reproducibility record of a plan (JSON-serialisable)."""
    files = {}
    for name in _FILE_FIELDS:
        path = getattr(req, name)
        if path is not None:
            files[name] = {"path": str(path), "sha256": sha256_file(path)}
    if req.dem is not None and str(req.dem).strip().lower() != "flat":  # every DEM file (a folder is expanded)
        from qamtu.geo.dem import dem_paths

        for i, path in enumerate(dem_paths(req.dem)):
            files[f"dem_{i + 1}"] = {"path": str(path), "sha256": sha256_file(path)}
    area = plan.coverage.area
    s = plan.summary
    return {
        "kind": RECORD_KIND,
        "version": 1,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "request": req.to_dict(),
        "files": files,
        "targets": plan.targets.as_dict(),
        "engine_config": _config_dict(config),
        "study_area": area.assumptions(),
        "versions": _versions(),
        "result": {
            "sites": plan.sites["site_id"].tolist(),
            "cost": s["cost"], "lower_bound": s["lower_bound"], "gap": s["gap"], "status": s["status"],
            "targets_met": s["targets_met"], "territory_share": s["territory_share"],
            "population_share": s["population_share"],
        },
    }


def read_plan_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a plan file's structure."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise DataFileError(f"{path}: plan file not found") from None
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict) or doc.get("kind") != RECORD_KIND:
        raise InvalidInputError(f"{where(str(path), field='kind')}: expected {RECORD_KIND!r}")
    if doc.get("version") != 1:
        raise InvalidInputError(f"{where(str(path), field='version')}: is {doc.get('version')!r}; only 1 is supported")
    if not isinstance(doc.get("request"), dict):
        raise InvalidInputError(f"{where(str(path), field='request')}: missing")
    return doc


def request_from_record(doc: dict[str, Any], source: str = "plan.json") -> PlanRequest:
    """The request recorded in a plan file, after checking every input file's SHA-256."""
    names = {f.name for f in dataclasses.fields(PlanRequest)}
    # plans recorded before the unused ``seed`` field was removed still re-run (it never changed a plan)
    raw = {k: v for k, v in doc["request"].items() if k != "seed"}
    unknown = set(raw) - names
    if unknown:
        raise InvalidInputError(f"{where(source, field='request')}: unknown field(s) {sorted(unknown)}")
    req = PlanRequest(**raw)
    for name, info in (doc.get("files") or {}).items():
        path = info.get("path")
        now = sha256_file(path)
        if now != info.get("sha256"):
            raise InvalidInputError(
                f"{where(source, field='files.' + name)}: {path} has changed since the plan was made "
                f"(SHA-256 {now[:12]}... instead of {str(info.get('sha256'))[:12]}...); the plan cannot be reproduced"
            )
    return req
