"""Reproducible plan runs: the plan file records every setting and the SHA-256 of every input file.

``plan.json`` (kind ``"qamtu-plan"``, version 2) keeps the resolved scenario of the run (every setting, defaults
filled in: :meth:`qamtu.chain.scenario.Scenario.resolved`), the city, the input files with their SHA-256, the full
engine configuration, the targets, the versions of qamtu, Python, NumPy, SciPy, HiGHS and pandas, and the result
(the chosen site ids in order, cost, bound, shares). :func:`recorded_settings` reads it back after checking that
every input file still has its recorded SHA-256; :func:`qamtu.chain.plan.scenario_from_record` turns the settings
into the scenario that gives the same plan (the optimisers are deterministic; HiGHS runs with the recorded
options; on a different HiGHS version the plan may differ among equal-cost optima, which the record lets a reader
see). A version 1 file (the request of earlier releases) is read as well.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from typing import Any

import numpy as np

from qamtu.errors import DataFileError, InvalidInputError, where

__all__ = ["sha256_file", "plan_record", "recorded_settings", "read_plan_file", "RECORD_KIND", "RECORD_VERSION"]

RECORD_KIND = "qamtu-plan"
RECORD_VERSION = 2


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


def plan_record(settings: dict[str, Any], city_id: str, plan: Any, files: dict[str, str]) -> dict[str, Any]:
    """The reproducibility record of a plan (JSON-serialisable).

    ``settings``: the resolved scenario as plain types; ``files``: name -> path of every input file (each DEM file
    of a folder listed on its own), recorded with its SHA-256.
    """
    area = plan.coverage.area
    s = plan.summary
    return {
        "kind": RECORD_KIND,
        "version": RECORD_VERSION,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "city": city_id,
        "scenario": settings,
        "files": {name: {"path": str(path), "sha256": sha256_file(path)} for name, path in files.items()},
        "targets": plan.targets.as_dict(),
        "engine_config": settings["engine"],
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
    if doc.get("version") not in (1, RECORD_VERSION):
        raise InvalidInputError(f"{where(str(path), field='version')}: is {doc.get('version')!r}; only 1 and "
                                f"{RECORD_VERSION} are supported")
    key = "scenario" if doc["version"] == RECORD_VERSION else "request"
    if not isinstance(doc.get(key), dict):
        raise InvalidInputError(f"{where(str(path), field=key)}: missing")
    return doc


def recorded_settings(doc: dict[str, Any], source: str = "plan.json") -> dict[str, Any]:
    """The settings recorded in a plan file (version 2: the resolved scenario; version 1: the request), after
    checking every input file's SHA-256."""
    for name, info in (doc.get("files") or {}).items():
        path = info.get("path")
        now = sha256_file(path)
        if now != info.get("sha256"):
            raise InvalidInputError(
                f"{where(source, field='files.' + name)}: {path} has changed since the plan was made "
                f"(SHA-256 {now[:12]}... instead of {str(info.get('sha256'))[:12]}...); the plan cannot be reproduced"
            )
    return doc["scenario"] if doc["version"] == 2 else doc["request"]
