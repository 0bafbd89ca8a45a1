"""Files of a plan: sites (CSV, GeoJSON) with explanations, sectors, rejected candidates, KPI table, summary, plan
record, before/after coverage maps. Every file is written atomically (:mod:`qamtu.fileio`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from qamtu.fileio import write_csv_atomic, write_json_atomic, write_text_atomic
from qamtu.plan.exports import write_plan_files
from qamtu.plotting import pyplot, save_png

__all__ = ["SUMMARY_KEYS", "write_plan_outputs", "kpi_table", "plot_covered_png"]

#: Keys every ``summary.json`` has.
SUMMARY_KEYS = ("sites_selected", "cost", "lower_bound", "gap", "territory_share", "population_share", "targets_met")


def _flat(kpis: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in kpis.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                out[f"{k}_p{kk}"] = vv
        else:
            out[k] = v
    return out


def kpi_table(before: dict[str, Any], after: dict[str, Any]) -> pd.DataFrame:
    """KPIs before (existing/locked sites only) and after the plan, one row per indicator."""
    b, a = _flat(before), _flat(after)
    keys = list(dict.fromkeys(list(a) + list(b)))
    return pd.DataFrame({"kpi": keys, "before": [b.get(k) for k in keys], "after": [a.get(k) for k in keys]})


def _clean(v: Any) -> Any:
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def sites_geojson(sites: pd.DataFrame) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (WGS 84 points) of a site table with all its columns as properties."""
    feats = []
    for rec in sites.to_dict(orient="records"):
        props = {k: _clean(v) for k, v in rec.items() if k not in ("lat", "lon")}
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]},
                      "properties": props})
    return {"type": "FeatureCollection", "features": feats}


def plot_covered_png(result: Any, area: Any, path: str | os.PathLike[str], sites: pd.DataFrame | None = None,
                     title: str = "") -> Path:
    """A simple map of the covered pixels (matplotlib Agg): covered in green, the boundary, sites as triangles."""
    plt = pyplot()
    left, bottom, right, top = area.bounds
    ext = (left / 1e3, right / 1e3, bottom / 1e3, top / 1e3)
    data = np.where(np.asarray(area.mask, bool), np.asarray(result.covered, float), np.nan)
    fig, ax = plt.subplots(figsize=(7, 6.5))
    ax.imshow(np.ma.masked_invalid(data), extent=ext, origin="upper", cmap="Greens", vmin=-0.2, vmax=1.0,
              interpolation="nearest")
    for g in getattr(area.boundary, "geoms", [area.boundary]):
        xs, ys = g.exterior.xy
        ax.plot(np.asarray(xs) / 1e3, np.asarray(ys) / 1e3, color="black", lw=1.0,
                ls="--" if area.boundary_is_approximation else "-")
    if sites is not None and len(sites):
        ax.scatter(sites["x_m"] / 1e3, sites["y_m"] / 1e3, s=12, c="red", marker="^", lw=0,
                   label=f"{len(sites)} sites")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel(f"easting, km ({area.crs})")
    ax.set_ylabel("northing, km")
    ax.set_title(title, fontsize=9)
    return save_png(fig, path, dpi=100)


def write_plan_outputs(
    plan: Any,
    out_dir: str | os.PathLike[str],
    map_fn: Callable[[Any, Any, Path, pd.DataFrame | None, str], Any] | None = None,
) -> dict[str, Path]:
    """Write every file of a plan into ``out_dir`` and return their paths by name.

    Files: ``plan_sites.csv`` and ``plan_sites.geojson`` (chosen sites, order, cost, explanation),
    ``planned_sectors.csv`` (the plan as a canonical site table, ``status=planned``, usable by ``qamtu coverage
    --sites``), ``planned_sectors_import.csv`` and ``plan.gpkg`` (:mod:`qamtu.plan.exports`),
    ``rejected.csv``, ``decisions.csv`` (with a decisions file: each decision in force beside the optimiser's own
    choice and explanation, ``overruled`` where they differ), ``kpis.csv`` (before/after table) and ``kpis.json``, ``summary.json``, ``plan.json`` (the
    reproducibility record, if the plan has one), ``coverage_before.png`` and ``coverage_after.png``.

    Parameters
    ----------
    plan : Plan
    out_dir : path
    map_fn : callable ``(result, area, path, sites, title)``, optional
        Draws a coverage map; default :func:`plot_covered_png`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["sites_csv"] = write_csv_atomic(out / "plan_sites.csv", plan.sites)
    paths["sites_geojson"] = write_text_atomic(out / "plan_sites.geojson",
                                               json.dumps(sites_geojson(plan.sites), ensure_ascii=False) + "\n")
    paths.update(write_plan_files(out, plan))
    paths["rejected_csv"] = write_csv_atomic(out / "rejected.csv", plan.rejected)
    table = kpi_table(plan.kpis_before, plan.kpis)
    paths["kpis_csv"] = write_csv_atomic(out / "kpis.csv", table)
    terrain = getattr(getattr(plan.coverage, "area", None), "terrain_source", None)  # the DEM used, None: flat
    paths["kpis_json"] = write_json_atomic(out / "kpis.json", {"before": plan.kpis_before, "after": plan.kpis,
                                                               "terrain": terrain})
    summary = {k: plan.summary[k] for k in SUMMARY_KEYS}
    summary.update({k: v for k, v in plan.summary.items() if k not in summary})
    paths["summary"] = write_json_atomic(out / "summary.json", summary)
    if plan.record:
        paths["record"] = write_json_atomic(out / "plan.json", plan.record)
    if plan.decisions is not None:
        paths["decisions_csv"] = write_csv_atomic(out / "decisions.csv", plan.decisions["overruled"])
    draw = map_fn or (lambda res, area, p, sites, title: plot_covered_png(res, area, p, sites, title))
    area = plan.coverage.area
    existing = plan.sites[plan.sites["origin"] == "existing"]
    name = getattr(area.city, "name_en", "")
    s = plan.summary
    draw(plan.coverage_before, area, out / "coverage_before.png", existing,
         f"{name}: covered before the plan ({len(existing)} existing sites): territory "
         f"{s['territory_share_before']:.1%}, population {s['population_share_before']:.1%}")
    draw(plan.coverage, area, out / "coverage_after.png", plan.sites,
         f"{name}: covered with the plan ({s['sites_selected']} sites, cost {s['cost']:g}): territory "
         f"{s['territory_share']:.1%}, population {s['population_share']:.1%}")
    paths["map_before"] = out / "coverage_before.png"
    paths["map_after"] = out / "coverage_after.png"
    return paths
