"""Option blocks shared by the commands, each written once: every option sets one scenario key.

* :func:`engine_options`: the engine settings (``--freq-ghz`` ... ``--calibration``) of ``coverage``,
  ``reference-run``, ``plan``, ``national`` and ``schedule``, applied as ``engine.*`` keys
  (:func:`engine_overrides`).
* :func:`run_options`: ``--scenario``, ``--cities``, ``--resolution-m``, ``--deadline`` and ``--dask`` of
  ``national``, ``schedule`` and ``sweep``.
* :func:`dem_option` / :func:`landcover_option`: the geography of ``coverage``, ``plan`` and ``national``.

A block is added to a command function by a decorator: its options join the command's own, and the function gets
their values as one mapping (``engine=`` / ``run=``), parsed and checked here (one readable line and exit 2 for a
bad value).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, Optional

import typer

from qamtu.cli._common import fail
from qamtu.distributed import ADDRESS_HELP
from qamtu.targets import DEADLINE

DEM_HELP = ("Terrain: DEM file(s) (GeoTIFF in any CRS, SRTM .hgt/.hgt.zip; a comma list or a folder) or 'flat'. "
            "Default: the DEM shipped with qamtu where it covers the city, else flat.")
LANDCOVER_HELP = ("Land-cover raster (ESA WorldCover classes): environment class per pixel and the P.2108 clutter "
                  "loss instead of the density classes.")
DASK_HELP = f"Run the cities on Dask ({ADDRESS_HELP}); needs the dask extra of qamtu."


def dem_option(scope: str = "") -> Any:
    """``--dem`` (``scope`` is appended to the help, e.g. " Applies to every city.")."""
    return typer.Option(None, "--dem", help=DEM_HELP + scope)


def landcover_option(scope: str = "") -> Any:
    """``--landcover``."""
    return typer.Option(None, "--landcover", help=LANDCOVER_HELP + scope)


def number(value: Optional[str], option: str, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False) -> Optional[float]:
    """``value`` as a finite number in [lo, hi] (``lo_open``: > lo), or None; a bad value fails with one line."""
    if value is None:
        return None
    try:
        x = float(value)
    except ValueError:
        fail(f"{option} must be a number, got {value!r}")
    if not math.isfinite(x):
        fail(f"{option} must be a finite number, got {value!r}")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        fail(f"{option} = {value} is not allowed; it must be {'>' if lo_open else '>='} {lo:g}"
             + (f" and <= {hi:g}" if hi is not None else ""))
    if hi is not None and x > hi:
        fail(f"{option} = {value} is not allowed; it must be <= {hi:g}")
    return x


#: The engine option block: parameter -> (option, EngineConfig field, scale to the field's unit, lo, hi, lo_open,
#: help). ``--calibration`` (a file) is added beside them.
ENGINE_OPTIONS: dict[str, tuple[str, str, float, float | None, float | None, bool, str]] = {
    "freq_ghz": ("--freq-ghz", "freq_hz", 1e9, 0.0, None, True, "Carrier frequency, GHz (default 3.65)."),
    "bandwidth_mhz": ("--bandwidth-mhz", "bandwidth_hz", 1e6, 0.0, None, True, "Channel bandwidth, MHz (100)."),
    "rsrp_threshold_dbm": ("--rsrp-threshold-dbm", "rsrp_threshold_dbm", 1.0, None, None, False,
                           "SS-RSRP threshold, dBm (-110)."),
    "coverage_level": ("--coverage-level", "coverage_level", 1.0, 0.0, 1.0, False,
                       "SS-RSRP coverage probability a covered pixel needs, 0..1 (default 0.9)."),
    "cell_load": ("--cell-load", "cell_load", 1.0, 0.0, 1.0, False, "Interfering cell load, 0..1 (default 0.5)."),
    "min_dl_mbps": ("--min-dl-mbps", "min_dl_mbps", 1.0, 0.0, None, False,
                    "DL rate a covered pixel needs, Mbit/s (default 50)."),
    "min_ul_mbps": ("--min-ul-mbps", "min_ul_mbps", 1.0, 0.0, None, False,
                    "UL rate a covered pixel also needs, Mbit/s (default: no UL criterion)."),
    "max_cutoff_m": ("--max-cutoff-m", "max_cutoff_m", 1.0, 0.0, None, True,
                     "Cap the engine's link cut-off, m (faster, slightly optimistic SINR)."),
}


def _block(name: str, params: list[inspect.Parameter]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator adding ``params`` to a Typer command; the function receives their values as ``name=dict``."""

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        own = [p for p in sig.parameters.values() if p.name != name]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {p.name: kwargs.pop(p.name, None) for p in params}
            return func(*args, **kwargs, **{name: values})

        wrapper.__signature__ = sig.replace(parameters=[*own, *params])  # type: ignore[attr-defined]
        return wrapper

    return deco


def _option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the engine option block (:data:`ENGINE_OPTIONS` and ``--calibration``); the command gets ``engine``."""
    params = [_option(p, Optional[str], typer.Option(None, opt, help=h))
              for p, (opt, _f, _s, _lo, _hi, _open, h) in ENGINE_OPTIONS.items()]
    params.append(_option("calibration", Optional[str], typer.Option(
        None, "--calibration", help="Path-loss calibration JSON (qamtu calibrate).")))
    return _block("engine", params)(func)


def engine_overrides(values: dict[str, Optional[str]]) -> dict[str, tuple[str, Any]]:
    """The scenario keys the engine block sets: ``{"engine.<field>": (option, value in the field's unit)}``."""
    out: dict[str, tuple[str, Any]] = {}
    for param, (opt, field, scale, lo, hi, lo_open, _h) in ENGINE_OPTIONS.items():
        x = number(values.get(param), opt, lo, hi, lo_open)
        if x is not None:
            out[f"engine.{field}"] = (opt, x * scale)
    if values.get("calibration"):
        out["engine.calibration"] = ("--calibration", str(values["calibration"]))
    return out


def run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the national run block (``--scenario``, ``--cities``, ``--resolution-m``, ``--deadline``, ``--dask``);
    the command gets ``run`` (raw values; :func:`qamtu.cli.national.load_run_scenario` applies them)."""
    from pathlib import Path

    params = [
        _option("scenario", Optional[Path], typer.Option(None, "--scenario", help="Scenario file (YAML or TOML).")),
        _option("cities", Optional[str], typer.Option(None, "--cities",
                                                     help="Comma-separated city ids (default: all).")),
        _option("resolution_m", Optional[float], typer.Option(None, "--resolution-m", help="Grid resolution, m.")),
        _option("deadline", Optional[str], typer.Option(None, "--deadline",
                                                       help=f"Deadline YYYY-MM-DD (default {DEADLINE}).")),
        _option("dask", Optional[str], typer.Option(None, "--dask", help=DASK_HELP)),
    ]
    return _block("run", params)(func)


def command_scenario(section: str, settings: dict[str, Any]) -> Any:
    """The scenario of a command whose settings have a section of their own (``audit``, ``calibrate``): the
    built-in scenario with ``section`` set to every setting the command used (defaults filled in; paths as
    text), so the resolved ``scenario.yaml`` it writes has the one schema of every command."""
    from pathlib import PurePath

    from qamtu.chain.scenario import load_scenario

    def plain(v: Any) -> Any:
        if isinstance(v, PurePath):
            return str(v)
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v

    return load_scenario(None).with_overrides({section: (f"qamtu {section}", plain(settings))})
