"""Coverage outputs people can use: GeoTIFFs with CRS and band names, PNG maps, KPI CSV and ``kpis.json``.

Every file is written atomically (:mod:`qamtu.fileio`). Every output carries what it rests on: an approximate
(disc) boundary is said in the map titles, in the GeoTIFF tags and in ``kpis.json`` (``assumptions``), and so is
a modelled population and a reference layout.

Public API
----------
``METRICS``: the mapped quantities (name -> :class:`Metric`: result attribute, unit, label, colour scale).
``write_geotiffs(result, area, out_dir, per_metric=False) -> dict[str, Path]``: one multi-band float32 GeoTIFF
``coverage.tif`` (band descriptions = metric names, units in band tags, NaN nodata outside the boundary), or
one file per metric.
``plot_metric_png(result, area, metric, path, sites=None) -> Path``: a map with city outline, sites, colour bar
and a title with units.
``kpi_record(kpis, area, sites=None) -> dict``: the KPIs plus ``assumptions`` (JSON-serialisable; the site
table's label, e.g. the reference layout's, under ``assumptions["site_table"]``).
``flatten_kpis(record) -> dict``: one flat CSV row (``dl_mbps_p5`` ...).
``write_kpis(record, out_dir) -> dict[str, Path]``: ``kpis.json`` and ``kpis.csv``.
``write_coverage_outputs(result, area, out_dir, sites=None, png=True) -> dict``: all of the above.
The reference run (every city with the hexagonal layout) is :func:`qamtu.chain.reference.run_reference`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from qamtu.errors import InvalidInputError
from qamtu.fileio import atomic_write, neutralise_cell, write_json_atomic, write_text_atomic
from qamtu.plotting import pyplot, save_png

__all__ = [
    "Metric",
    "METRICS",
    "GEOTIFF_NAME",
    "write_geotiffs",
    "plot_metric_png",
    "kpi_record",
    "flatten_kpis",
    "write_kpis",
    "write_coverage_outputs",
    "read_geotiff_band",
]

GEOTIFF_NAME = "coverage.tif"


@dataclass(frozen=True)
class Metric:
    """One mapped quantity.

    Attributes
    ----------
    name : str
        Band / file name (``rsrp_dbm``).
    attr : str
        Attribute of ``CoverageResult``.
    unit : str
        Unit for titles and colour bars ("" when dimensionless).
    label : str
        Human-readable name.
    cmap : str
        Matplotlib colour map.
    vmin, vmax : float or None
        Colour range (None: from the data).
    png : bool
        Whether a PNG map is drawn by default.
    source : {"result", "area"}
        Whether ``attr`` is read from the ``CoverageResult`` or from the ``StudyArea`` (population, env class).
    """

    name: str
    attr: str
    unit: str
    label: str
    cmap: str = "viridis"
    vmin: float | None = None
    vmax: float | None = None
    png: bool = True
    source: str = "result"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("rsrp_dbm", "rsrp_dbm", "dBm", "median SS-RSRP of the strongest server, outdoor users (per RE)",
               "viridis", -130.0, -60.0),
        Metric("coverage_probability", "coverage_probability", "", "P(SS-RSRP >= threshold), the criterion's users",
               "magma", 0.0, 1.0),
        Metric("ssb_sinr_db", "ssb_sinr_db", "dB", "median SSB SINR, outdoor users (neighbours' SSB at full power)",
               "plasma", -5.0, 30.0),
        Metric("sinr_db", "sinr_db", "dB", "median PDSCH SINR at the cell load, outdoor users", "plasma", -5.0, 30.0),
        Metric("dl_mbps", "dl_mbps", "Mbit/s", "DL rate reached by 90 % of outdoor users (10th percentile)",
               "cividis", 0.0, None),
        Metric("ul_mbps", "ul_mbps", "Mbit/s", "UL rate reached by 90 % of outdoor users (10th percentile)",
               "cividis", 0.0, None),
        Metric("p_covered", "p_covered_outdoor", "",
               "P(covered), outdoor users: the smaller of P(SS-RSRP >= thr) and P(DL >= norm)", "magma", 0.0, 1.0),
        Metric("p_covered_indoor", "p_covered_indoor", "",
               "P(covered), indoor users (the pixel's building mix)", "magma", 0.0, 1.0),
        Metric("covered", "covered", "", "covered (the criterion's probabilities both reach the level)", "Greens",
               0.0, 1.0),
        Metric("best_server", "best_server", "", "serving sector index into the site table", "tab20", None, None,
               png=False),
        Metric("population", "population", "people/pixel", "population per pixel", "YlOrRd", 0.0, None, png=False,
               source="area"),
        Metric("env_class", "env_class", "", "environment class code (0 dense urban, 1 urban, 2 suburban, 3 rural)",
               "viridis", 0.0, 3.0, png=False, source="area"),
    )
}


def _metric(name: str) -> Metric:
    if name not in METRICS:
        raise InvalidInputError(f"unknown metric {name!r}; metrics: {', '.join(METRICS)}")
    return METRICS[name]


def _band(result: Any, area: Any, metric: Metric) -> np.ndarray:
    arr = np.asarray(getattr(area if metric.source == "area" else result, metric.attr))
    if arr.shape != tuple(area.shape):
        raise InvalidInputError(f"{metric.source}.{metric.attr} has shape {arr.shape}; the area grid is {tuple(area.shape)}")
    out = arr.astype(np.float32)
    if metric.name == "best_server":
        out = np.where(arr >= 0, out, np.nan).astype(np.float32)
    out[~np.asarray(area.mask, dtype=bool)] = np.nan
    return out


def _tags(area: Any, result: Any) -> dict[str, str]:
    a = area.assumptions()
    tags = {
        "city": area.city.id,
        "city_name": area.city.name_en,
        "boundary_is_approximation": str(bool(area.boundary_is_approximation)),
        "boundary": str(a["boundary"]),
        "population_source": str(a["population_source"]),
        "population_date": area.city.population_date.isoformat(),
        "resolution_m": f"{area.resolution_m:g}",
        "software": "qamtu",
    }
    cfg = getattr(result, "config", None)
    if cfg is not None:
        for key in ("freq_hz", "bandwidth_hz", "rsrp_threshold_dbm", "coverage_level", "cell_load", "min_dl_mbps"):
            if hasattr(cfg, key):
                tags[key] = f"{getattr(cfg, key):g}"
    return tags


def _write_tif(path: Path, bands: list[tuple[Metric, np.ndarray]], area: Any, tags: dict[str, str]) -> Path:
    import rasterio

    n_rows, n_cols = area.shape
    profile = {
        "driver": "GTiff",
        "height": n_rows,
        "width": n_cols,
        "count": len(bands),
        "dtype": "float32",
        "crs": area.crs,
        "transform": area.transform,
        "nodata": float("nan"),
        "compress": "deflate",
        "predictor": 3,
    }
    if n_rows >= 256 and n_cols >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with atomic_write(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.update_tags(**tags)
            for i, (metric, data) in enumerate(bands, start=1):
                dst.write(data, i)
                dst.set_band_description(i, metric.name)
                dst.update_tags(i, name=metric.name, unit=metric.unit or "1", label=metric.label)
    return path


def write_geotiffs(
    result: Any, area: Any, out_dir: str | os.PathLike[str], per_metric: bool = False,
    metrics: tuple[str, ...] | None = None,
) -> dict[str, Path]:
    """Write the result's maps as GeoTIFF (float32, the area's CRS and transform, NaN outside the boundary).

    Parameters
    ----------
    result : CoverageResult
        Arrays of ``area.shape``.
    area : StudyArea
    out_dir : path-like
        Created if missing.
    per_metric : bool
        False (default): one multi-band ``coverage.tif`` whose band descriptions are the metric names; True: one
        single-band ``<metric>.tif`` per metric.
    metrics : tuple of str, optional
        Names from :data:`METRICS` (default all).

    Returns
    -------
    dict mapping ``"coverage"`` (multi-band) or each metric name to its path.
    """
    out = Path(out_dir)
    chosen = [_metric(m) for m in (metrics or tuple(METRICS))]
    bands = [(m, _band(result, area, m)) for m in chosen]
    tags = _tags(area, result)
    if not per_metric:
        return {"coverage": _write_tif(out / GEOTIFF_NAME, bands, area, tags)}
    return {m.name: _write_tif(out / f"{m.name}.tif", [(m, data)], area, tags) for m, data in bands}


def read_geotiff_band(path: str | os.PathLike[str], name: str) -> np.ndarray:
    """Read the band described as ``name`` from a GeoTIFF written by :func:`write_geotiffs` (float32 array)."""
    import rasterio

    with rasterio.open(path) as src:
        if name not in src.descriptions:
            raise InvalidInputError(f"{path}: no band named {name!r}; bands: {', '.join(map(str, src.descriptions))}")
        return src.read(src.descriptions.index(name) + 1)


def _sites_label(sites: Any | None) -> str | None:
    """The site table's label: ``attrs["label"]``, or the reference layout's label when a saved reference layout
    (column ``layout`` == ``"reference"``) is read back from a file."""
    if sites is None:
        return None
    label = getattr(sites, "attrs", {}).get("label")
    if label:
        return str(label)
    if "layout" in getattr(sites, "columns", ()) and len(sites) and (sites["layout"] == "reference").all():
        from qamtu.geo.layout import REFERENCE_LAYOUT_LABEL

        return REFERENCE_LAYOUT_LABEL
    return None


def _title(area: Any, metric: Metric, sites: Any | None) -> str:
    unit = f" ({metric.unit})" if metric.unit else ""
    lines = [f"{area.city.name_en}: {metric.label}{unit}"]
    notes = []
    if area.boundary_is_approximation:
        notes.append("approximate boundary (disc of the catalogue area)")
    if getattr(area, "population_is_model", False):
        notes.append(f"modelled population {area.city.population_label}")
    label = _sites_label(sites)
    if label:
        notes.append(label.split(":")[0])
    if notes:
        lines.append("; ".join(notes))
    return "\n".join(lines)


def plot_metric_png(
    result: Any, area: Any, metric: str, path: str | os.PathLike[str], sites: Any | None = None, dpi: int = 110
) -> Path:
    """Draw one metric as a PNG map: raster, city outline, sites, colour bar with units, title.

    Axes are the area's UTM coordinates in km (north up). Sites (``x_m``/``y_m``, or ``lat``/``lon``) are drawn
    once per site. The title says when the boundary is approximate, the population modelled, or the sites a
    reference layout.
    """
    plt = pyplot()
    from matplotlib import colors

    m = _metric(metric)
    data = _band(result, area, m)
    left, bottom, right, top = area.bounds
    extent_km = (left / 1e3, right / 1e3, bottom / 1e3, top / 1e3)
    vmin = m.vmin
    vmax = m.vmax
    finite = data[np.isfinite(data)]
    if vmax is None:
        vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
        vmax = max(vmax, (vmin or 0.0) + 1e-6)
    if vmin is None:
        vmin = float(finite.min()) if finite.size else 0.0
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    cmap = plt.get_cmap(m.cmap).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    im = ax.imshow(np.ma.masked_invalid(data), extent=extent_km, origin="upper", cmap=cmap,
                   norm=colors.Normalize(vmin=vmin, vmax=vmax), interpolation="nearest")
    geoms = getattr(area.boundary, "geoms", [area.boundary])
    for g in geoms:
        xs, ys = g.exterior.xy
        ax.plot(np.asarray(xs) / 1e3, np.asarray(ys) / 1e3, color="black", lw=1.2,
                ls="--" if area.boundary_is_approximation else "-")
    if sites is not None and len(sites):
        one = sites.drop_duplicates("site_id") if "site_id" in sites.columns else sites
        if "x_m" in one.columns:
            sx, sy = one["x_m"].to_numpy(), one["y_m"].to_numpy()
        else:
            sx, sy = area.from_lonlat(one["lon"].to_numpy(), one["lat"].to_numpy())
        size = float(np.clip(3000.0 / max(len(one), 1), 2.0, 20.0))
        ax.scatter(np.asarray(sx) / 1e3, np.asarray(sy) / 1e3, s=size, c="red", marker="^", lw=0,
                   label=f"{len(one)} sites")
        ax.legend(loc="lower right", fontsize=8, framealpha=0.8)
    ax.set_xlim(extent_km[0], extent_km[1])
    ax.set_ylim(extent_km[2], extent_km[3])
    ax.set_aspect("equal")
    ax.set_xlabel(f"easting, km ({area.crs})")
    ax.set_ylabel("northing, km")
    ax.set_title(_title(area, m, sites), fontsize=10)
    cb = fig.colorbar(im, ax=ax, shrink=0.85)
    cb.set_label(f"{m.label}, {m.unit}" if m.unit else m.label)
    return save_png(fig, path, dpi=dpi)


def kpi_record(kpis: Mapping[str, Any], area: Any, sites: Any | None = None) -> dict[str, Any]:
    """KPIs of one city with everything they rest on (JSON-serialisable).

    Adds to the engine's ``kpis()``: ``city_name``, ``population_date``, ``boundary_is_approximation``,
    ``terrain`` (the DEM's source, ``None`` for flat ground) and ``assumptions`` (the area's :meth:`~qamtu.geo.area.StudyArea.assumptions` plus the site table's label).
    """
    rec = dict(kpis)
    rec.setdefault("city", area.city.id)
    rec["city_name"] = area.city.name_en
    rec["population_date"] = area.city.population_date.isoformat()
    rec["boundary_is_approximation"] = bool(area.boundary_is_approximation)
    rec["terrain"] = getattr(area, "terrain_source", None)  # the DEM used, or None: flat
    assumptions = dict(area.assumptions())
    if sites is not None:
        assumptions["site_table"] = _sites_label(sites) or "site table given by the user"
        if "isd_m_by_env" in getattr(sites, "attrs", {}):
            assumptions["isd_m_by_env"] = dict(sites.attrs["isd_m_by_env"])
    rec["assumptions"] = assumptions
    return rec


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return ""
    return value


def flatten_kpis(record: Mapping[str, Any]) -> dict[str, Any]:
    """One flat row for CSV: percentiles become ``dl_mbps_p5`` ...; ``assumptions`` keep only the boundary and
    population notes; other nested values are dropped."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "assumptions":
            continue
        if isinstance(value, Mapping):
            if key == "user_classes":  # user_classes_outdoor_territory_share ...
                for cls, entry in value.items():
                    for k2, v in entry.items():
                        row[f"user_classes_{cls}_{k2}"] = _scalar(v)
                continue
            if key.endswith("_percentiles"):
                stem = key[: -len("_percentiles")]
                for p, v in value.items():
                    row[f"{stem}_p{p}"] = _scalar(v)
            continue
        if isinstance(value, (list, tuple, np.ndarray)):
            continue
        row[key] = _scalar(value)
    a = record.get("assumptions", {})
    for key in ("boundary", "population_source", "site_table"):
        if key in a:
            row[key] = a[key]
    return row


def _csv_text(rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    columns: list[str] = []
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writerow({k: neutralise_cell(k) for k in columns})
    for r in rows:
        writer.writerow({k: neutralise_cell(r.get(k, "")) for k in columns})
    return buf.getvalue()


def write_kpis(record: Mapping[str, Any] | list[Mapping[str, Any]], out_dir: str | os.PathLike[str],
               stem: str = "kpis") -> dict[str, Path]:
    """Write ``<stem>.json`` (the record, or a list of records) and ``<stem>.csv`` (flattened rows)."""
    out = Path(out_dir)
    records = list(record) if isinstance(record, list) else [record]
    json_path = write_json_atomic(out / f"{stem}.json", record if isinstance(record, list) else dict(record))
    csv_path = write_text_atomic(out / f"{stem}.csv", _csv_text([flatten_kpis(r) for r in records]))
    return {"json": json_path, "csv": csv_path}


def write_coverage_outputs(
    result: Any, area: Any, out_dir: str | os.PathLike[str], sites: Any | None = None, png: bool = True,
    per_metric: bool = False, districts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write the GeoTIFF(s), one PNG per mapped metric (unless ``png=False``), ``kpis.json`` and ``kpis.csv``.

    ``districts``: per-district KPI rows computed by the caller (:func:`qamtu.chain.coverage.district_rows`),
    written under ``districts`` in ``kpis.json``; this module draws and writes, it computes no coverage.

    Returns
    -------
    dict with ``geotiffs`` (name -> path), ``pngs`` (metric -> path), ``kpis`` (``json``/``csv`` paths) and
    ``record`` (the KPI record written).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tifs = write_geotiffs(result, area, out, per_metric=per_metric)
    pngs: dict[str, Path] = {}
    if png:
        for name, m in METRICS.items():
            if m.png:
                pngs[name] = plot_metric_png(result, area, name, out / f"{name}.png", sites=sites)
    record = kpi_record(result.kpis(), area, sites)
    if districts:
        record["districts"] = list(districts)
    paths = write_kpis(record, out)
    return {"geotiffs": tifs, "pngs": pngs, "kpis": paths, "record": record}
