"""The path-loss calibration file: its in-memory form and the one reader and writer of its JSON format.

``qamtu calibrate`` (:mod:`qamtu.audit.calibration`) writes the file through :func:`write_calibration_file`;
the engine reads it with :func:`load_calibration` and applies it through ``EngineConfig(calibration=...)``. Both
go through this module, so the format (docs/DESIGN.md, "Path-loss calibration file") has one definition::

    {"kind": "qamtu-pathloss-calibration", "version": 1, "reference_distance_m": 1000.0,
     "classes": {"urban": {"offset_db": 3.0, "slope_db_per_decade": -2.0, "n": 120, "rmse_db": 6.1}, ...},
     "report": {...}}

``report`` is optional and free-form (the fit's diagnostics); the reader ignores it. Corrected loss = model loss +
``offset_db`` + ``slope_db_per_decade`` * log10(d3D / ``reference_distance_m``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from qamtu.errors import DataFileError, InvalidInputError, OutOfRangeError, where
from qamtu.geo.area import ENV_CLASSES

#: ``kind`` of every calibration file.
CALIBRATION_KIND = "qamtu-pathloss-calibration"
#: The only format version written and read.
CALIBRATION_VERSION = 1
#: Reference distance of the slope term written by ``qamtu calibrate``, m.
REFERENCE_DISTANCE_M = 1000.0
#: Largest corrections a file may hold; beyond them the site table or the cell ids do not match the measurements.
MAX_ABS_OFFSET_DB = 60.0
MAX_ABS_SLOPE_DB = 40.0


@dataclass(frozen=True)
class ClassCalibration:
    """Path-loss correction for one environment class (see DESIGN.md, path-loss calibration file)."""

    offset_db: float
    slope_db_per_decade: float
    n: int = 0
    rmse_db: float = float("nan")


@dataclass(frozen=True)
class PathLossCalibration:
    """A measured path-loss correction per environment class.

    Corrected loss = model loss + ``offset_db`` + ``slope_db_per_decade`` * log10(d3D / ``reference_distance_m``).
    Classes absent from ``classes`` are not corrected. ``source`` is the file it was read from ("" if built).
    """

    reference_distance_m: float
    classes: Mapping[str, ClassCalibration]
    source: str = ""

    def correction_db(self, env_class: str, d3d_m):
        """Loss correction in dB for ``env_class`` at 3D distance ``d3d_m`` (m, array); 0 for absent classes."""
        import numpy as np

        cal = self.classes.get(env_class)
        d3d = np.asarray(d3d_m, dtype=float)
        if cal is None:
            return np.zeros_like(d3d)
        return cal.offset_db + cal.slope_db_per_decade * np.log10(d3d / self.reference_distance_m)


def calibration_document(
    calibration: PathLossCalibration, *, report: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON document of ``calibration`` (keys in the file's order; a NaN ``rmse_db`` is written as null).

    ``report`` (optional) is stored as the free-form ``report`` block. Not validated: see
    :func:`write_calibration_file`.
    """
    doc: dict[str, Any] = {
        "kind": CALIBRATION_KIND,
        "version": CALIBRATION_VERSION,
        "reference_distance_m": calibration.reference_distance_m,
        "classes": {
            name: {
                "offset_db": c.offset_db,
                "slope_db_per_decade": c.slope_db_per_decade,
                "n": int(c.n),
                "rmse_db": None if c.rmse_db is None or math.isnan(c.rmse_db) else c.rmse_db,
            }
            for name, c in calibration.classes.items()
        },
    }
    if report is not None:
        doc["report"] = report
    return doc


def write_calibration_file(
    path: str | os.PathLike[str], calibration: PathLossCalibration, *, report: Mapping[str, Any] | None = None
) -> Path:
    """Validate ``calibration`` as :func:`load_calibration` would and write it atomically; returns the path.

    Raises
    ------
    InvalidInputError, OutOfRangeError
        The calibration would not be readable (no class, unknown class, a non-finite or implausible value); the
        message names ``path`` and the field. Nothing is written then.
    """
    from qamtu.fileio import write_json_atomic

    doc = calibration_document(calibration, report=report)
    parse_calibration(doc, str(path))
    return write_json_atomic(path, doc)


def load_calibration(path: str | os.PathLike[str]) -> PathLossCalibration:
    """Read and validate a path-loss calibration file (JSON, ``kind`` = ``"qamtu-pathloss-calibration"``).

    Parameters
    ----------
    path : path-like
        The JSON file written by ``qamtu calibrate``.

    Returns
    -------
    PathLossCalibration

    Raises
    ------
    DataFileError
        The file is missing, unreadable or not JSON.
    InvalidInputError
        A field is missing or has a value that is not allowed; the message names the file and the field.
    """
    source = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError as exc:
        raise DataFileError(f"{source}: calibration file not found") from exc
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except OSError as exc:
        raise DataFileError(f"{source}: cannot read calibration file ({exc.strerror})") from exc
    return parse_calibration(doc, source)


def parse_calibration(doc: Any, source: str) -> PathLossCalibration:
    """Validate a decoded calibration document; errors name ``source`` (the file) and the field."""
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{source}: a calibration file is a JSON object, got {type(doc).__name__}")
    if doc.get("kind") != CALIBRATION_KIND:
        raise InvalidInputError(
            f"{where(source, field='kind')}: is {doc.get('kind')!r}, expected {CALIBRATION_KIND!r}"
        )
    if doc.get("version") != CALIBRATION_VERSION:
        raise InvalidInputError(
            f"{where(source, field='version')}: is {doc.get('version')!r}, only {CALIBRATION_VERSION} is supported"
        )
    ref = _finite(doc.get("reference_distance_m"), source, "reference_distance_m")
    if ref <= 0:
        raise OutOfRangeError(f"{where(source, field='reference_distance_m')}: is {ref!r}, must be > 0 m")
    classes_doc = doc.get("classes")
    if not isinstance(classes_doc, dict) or not classes_doc:
        raise InvalidInputError(f"{where(source, field='classes')}: must be a non-empty object keyed by class")
    classes = {name: _parse_class(name, entry, source) for name, entry in classes_doc.items()}
    return PathLossCalibration(ref, MappingProxyType(classes), source)


def _parse_class(name: str, entry: Any, source: str) -> ClassCalibration:
    loc = f"classes.{name}"
    if name not in ENV_CLASSES:
        raise InvalidInputError(f"{where(source, field=loc)}: unknown environment class; allowed {ENV_CLASSES}")
    if not isinstance(entry, dict):
        raise InvalidInputError(f"{where(source, field=loc)}: must be an object")
    offset = _finite(entry.get("offset_db"), source, f"{loc}.offset_db")
    slope = _finite(entry.get("slope_db_per_decade"), source, f"{loc}.slope_db_per_decade")
    if abs(offset) > MAX_ABS_OFFSET_DB or abs(slope) > MAX_ABS_SLOPE_DB:
        raise OutOfRangeError(
            f"{where(source, field=loc)}: offset {offset} dB / slope {slope} dB/decade are implausible "
            f"(allowed |offset| <= {MAX_ABS_OFFSET_DB:g} dB, |slope| <= {MAX_ABS_SLOPE_DB:g} dB/decade)"
        )
    n = entry.get("n", 0)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise InvalidInputError(f"{where(source, field=loc + '.n')}: is {n!r}, must be an integer >= 0")
    rmse = entry.get("rmse_db", float("nan"))
    rmse = float("nan") if rmse is None else _finite(rmse, source, f"{loc}.rmse_db")
    return ClassCalibration(offset, slope, n, rmse)


def _finite(value: Any, source: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise InvalidInputError(f"{where(source, field=name)}: is {value!r}, must be a finite number")
    return float(value)
