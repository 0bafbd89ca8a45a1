"""The national report: ``index.html``, a page per city, figures, the data behind them and ``summary.json``.

:class:`NationalReport` / :class:`CityReport` hold what a run produced (built by :mod:`qamtu.report.run` from the
plans and the schedule, or by hand in tests); :func:`write_national_report` writes the folder::

    index.html                 summary table, 2025 vs 2027 comparison, national timeline, map of Kazakhstan
    summary.json               {"cities": [{id, sites, cost, territory_share, population_share, gate_month,
                               on_time, ...}], "deadline", "comparison", ...}
    scenario.yaml              the resolved scenario (written by the caller, see qamtu.cli.national)
    figures/timeline.png       data/timeline.csv
    figures/kazakhstan.png     data/cities.geojson
    data/summary.csv data/schedule.csv data/comparison.csv
    cities/<id>/index.html     gate, predicted vs measured, maps, planned sites with explanations
    cities/<id>/map.html       interactive folium map, offline (Leaflet inlined, no tiles)
    cities/<id>/coverage.png coverage.tif throughput.png dl_mbps.tif sites.csv sites.geojson boundary.geojson
    cities/<id>/timeline.csv

Every file is written atomically.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qamtu.fileio import atomic_write, write_csv_atomic, write_json_atomic, write_text_atomic
from qamtu.report import figures
from qamtu.report.i18n import check_lang, translator

STATUSES = ("on_time", "late", "never")


@dataclasses.dataclass
class CityReport:
    """One city's results for the report.

    Attributes
    ----------
    id : str
    names : dict lang -> str
    lat, lon : float, degrees (city centre, for the national map)
    population : float, people (catalogue)
    site_rows : list of dict
        Per planned site: ``site_id, lat, lon, x_m, y_m, cost, order, on_air_month ("YYYY-MM" or None),
        explanation``.
    cost : float, currency units
    territory_share, population_share : float or None, with every planned site on air (engine)
    dl_p5_mbps : float or None, 5th-percentile DL throughput, Mbit/s, with every planned site on air
    gate_label : str or None, "YYYY-MM" of the gate
    status : {"on_time", "late", "never"}
    passes_at_end : bool
    targets : dict with ``territory_share``, ``population_share``, ``dl_p5_mbps`` (None where not set)
    reasons : list of str, targets not met at the end
    timeline : list of (month label, people covered) at the months the city's sites changed
    crs : str or None; transform : affine.Affine or None (north-up grid of the rasters)
    covered : ndarray of float, shape (rows, cols): 1 covered, 0 not, NaN outside the study area; or None
    dl_mbps : ndarray of float, shape (rows, cols), NaN outside; or None
    boundary : shapely geometry in ``crs`` or None
    to_lonlat : callable (x_m, y_m) -> (lon, lat) or None
    measured : list of dict (``kpi``, ``predicted``, ``measured``) or None; measured_source : str or None
    notes : list of str or (i18n key, format parameters); error : str or None (planning failed: the message)
    """

    id: str
    names: dict[str, str]
    lat: float
    lon: float
    population: float
    site_rows: list[dict[str, Any]]
    cost: float
    territory_share: float | None
    population_share: float | None
    dl_p5_mbps: float | None
    gate_label: str | None
    status: str
    passes_at_end: bool
    targets: dict[str, float | None]
    reasons: list[str] = dataclasses.field(default_factory=list)
    timeline: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    crs: str | None = None
    transform: Any = None
    covered: np.ndarray | None = None
    dl_mbps: np.ndarray | None = None
    boundary: Any = None
    to_lonlat: Callable[..., Any] | None = None
    measured: list[dict[str, Any]] | None = None
    measured_source: str | None = None
    notes: list[Any] = dataclasses.field(default_factory=list)
    error: str | None = None

    @property
    def n_sites(self) -> int:
        return len(self.site_rows)

    @property
    def has_rasters(self) -> bool:
        return self.covered is not None and self.dl_mbps is not None and self.transform is not None


@dataclasses.dataclass
class NationalReport:
    """The whole run for the report.

    Attributes
    ----------
    cities : list of CityReport
    start, deadline, comparison_deadline : datetime.date
    months : list of "YYYY-MM", the timeline's months (from the start to past the later deadline)
    comparison : list of dict, one per deadline: ``deadline``, ``cities_on_time``, ``cities``, ``minimum``,
        ``search_method`` (see :meth:`qamtu.rollout.DeadlineComparison.rows`)
    search_resource : {"crews", "budget", "none"}
    resources : dict, the crews, rate and budget used (shown under the comparison)
    currency : str
    schedule_rows : list of dict, one per site (``qamtu.rollout.Schedule.site_rows``)
    notes : list of str or (i18n key, format parameters)
    """

    cities: list[CityReport]
    start: _dt.date
    deadline: _dt.date
    comparison_deadline: _dt.date
    months: list[str]
    comparison: list[dict[str, Any]]
    search_resource: str = "crews"
    resources: dict[str, Any] = dataclasses.field(default_factory=dict)
    currency: str = "cost units"
    schedule_rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    notes: list[Any] = dataclasses.field(default_factory=list)

    def covered_people(self) -> list[float]:
        """National people covered at the end of each month of :attr:`months` (sum over the cities)."""
        total = np.zeros(len(self.months))
        index = {m: i for i, m in enumerate(self.months)}
        for c in self.cities:
            series = np.zeros(len(self.months))
            for label, people in sorted(c.timeline):
                i = index.get(label, 0 if label < self.months[0] else None) if self.months else None
                if i is None:
                    continue
                series[i:] = people
            total += series
        return total.tolist()


def _fmt_pct(x: float | None) -> str:
    return "\u2013" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f} %"


def _fmt_num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "\u2013"
    return f"{x:,.0f}".replace(",", "\u202f") if abs(x) >= 100 else f"{x:.3g}"


def _fmt_int(x: float | None) -> str:
    return "\u2013" if x is None else f"{int(round(x)):,}".replace(",", "\u202f")


def localise(item: Any, t: Callable[[str], str]) -> str:
    """A note or label: a plain string as is, or ``(i18n key, params)`` formatted in the report's language."""
    if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
        key, params = item
        return t(key).format(**params)
    return str(item)


def _env(lang: str):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(t=translator(lang), loc=lambda item: localise(item, translator(lang)), fmt_pct=_fmt_pct, fmt_num=_fmt_num, fmt_int=_fmt_int, lang=lang)
    try:
        from importlib.metadata import version

        env.globals["version"] = version("qamtu")
    except Exception:  # not installed as a distribution (source tree on sys.path)
        env.globals["version"] = ""
    env.globals["generated_at"] = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    from qamtu.geo.shipped import ATTRIBUTIONS

    env.globals["attributions"] = ATTRIBUTIONS
    return env


def _write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    write_csv_atomic(path, rows, columns)


def _write_geotiff(path: Path, array: np.ndarray, transform: Any, crs: str, nodata: float = np.nan) -> None:
    import rasterio

    data = np.asarray(array, dtype="float32")
    with atomic_write(path) as tmp:
        with rasterio.open(
            tmp, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype="float32",
            crs=crs, transform=transform, nodata=nodata, compress="deflate",
        ) as dst:
            dst.write(data, 1)


def _feature_collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def summary_dict(report: NationalReport) -> dict[str, Any]:
    """The content of ``summary.json``."""
    return {
        "deadline": report.deadline.isoformat(),
        "comparison_deadline": report.comparison_deadline.isoformat(),
        "start": report.start.isoformat(),
        "currency": report.currency,
        "resources": report.resources,
        "comparison": report.comparison,
        "cities": [
            {
                "id": c.id,
                "name": c.names.get("en", c.id),
                "population": c.population,
                "sites": c.n_sites,
                "cost": c.cost,
                "territory_share": c.territory_share,
                "population_share": c.population_share,
                "dl_p5_mbps": c.dl_p5_mbps,
                "gate_month": c.gate_label,
                "on_time": c.status == "on_time",
                "status": c.status,
                "passes_at_end": c.passes_at_end,
                "targets": c.targets,
                "error": c.error,
            }
            for c in report.cities
        ],
    }


def write_national_report(
    report: NationalReport, out_dir: str | Path, *, lang: str = "en", progress: Callable[[str], None] | None = None
) -> Path:
    """Write the report folder (see the module docstring) and return the path of ``index.html``.

    Parameters
    ----------
    report : NationalReport
    out_dir : path, created if missing
    lang : {"en", "ru", "kk"}
    progress : callable(str), optional, called once per city page written
    """
    check_lang(lang)
    t = translator(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = _env(lang)
    labels = {k: t(k) for k in ("covered", "not_covered", "population", "month", "timeline", "map_kz",
                                "legend_on_time", "legend_late", "legend_never", "boundary", "sites",
                                "coverage_map")}
    labels["coverage"] = labels["coverage_map"]

    # national figures and their data
    covered = report.covered_people()
    total = float(sum(c.population for c in report.cities))
    deadlines = [(t("deadline"), report.deadline.strftime("%Y-%m")),
                 (t("deadline"), report.comparison_deadline.strftime("%Y-%m"))]
    figures.timeline_figure(out / "figures" / "timeline.png", report.months, covered, total, deadlines, labels)
    _write_csv(out / "data" / "timeline.csv",
               [{"month": m, "people_covered": p} for m, p in zip(report.months, covered)])
    pts = [{"lon": c.lon, "lat": c.lat, "name": c.names.get(lang) or c.names.get("en", c.id), "status": c.status}
           for c in report.cities]
    figures.kazakhstan_map_figure(out / "figures" / "kazakhstan.png", pts, labels)
    write_json_atomic(out / "data" / "cities.geojson", _feature_collection([
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
         "properties": {"id": c.id, "name": c.names.get("en", c.id), "status": c.status,
                        "gate_month": c.gate_label}}
        for c in report.cities]))
    summary = summary_dict(report)
    write_json_atomic(out / "summary.json", summary)
    _write_csv(out / "data" / "summary.csv", [
        {k: v for k, v in row.items() if k not in ("targets",)} for row in summary["cities"]])
    _write_csv(out / "data" / "schedule.csv", report.schedule_rows,
               None if report.schedule_rows else ["city_id", "site_id", "on_air_month"])
    _write_csv(out / "data" / "comparison.csv", report.comparison,
               None if report.comparison else ["deadline", "cities_on_time", "cities", "minimum", "search_method"])

    for c in report.cities:
        _write_city(c, out / "cities" / c.id, env, t, labels, report, lang)
        if progress is not None:
            progress(c.id)

    search_label = t("min_budget") if report.search_resource == "budget" else t("min_crews")
    resources_text = ", ".join(f"{k}: {v}" for k, v in report.resources.items())
    data_files = ["summary.json", "scenario.yaml", "data/summary.csv", "data/schedule.csv", "data/comparison.csv",
                  "data/timeline.csv", "data/cities.geojson"]
    data_files = [f for f in data_files if (out / f).exists() or f == "scenario.yaml"]
    html = env.get_template("index.html.j2").render(
        cities=[_city_ctx(c, lang) for c in report.cities],
        deadline=report.deadline.isoformat(),
        comparison_deadline=report.comparison_deadline.isoformat(),
        comparison=report.comparison,
        search_label=search_label,
        resources_text=resources_text,
        currency=report.currency,
        map_caption=t("map_kz_caption"),
        data_files=data_files,
        notes=report.notes,
    )
    return write_text_atomic(out / "index.html", html)


def _city_ctx(c: CityReport, lang: str) -> dict[str, Any]:
    d = dict(c.__dict__)
    d["name"] = c.names.get(lang) or c.names.get("en", c.id)
    d["n_sites"] = c.n_sites
    d["has_rasters"] = c.has_rasters
    return d


def _write_city(c: CityReport, folder: Path, env, t, labels: dict, report: NationalReport, lang: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder / "sites.csv", c.site_rows,
               None if c.site_rows else ["site_id", "lat", "lon", "cost", "order", "on_air_month", "explanation"])
    _write_csv(folder / "timeline.csv", [{"month": m, "people_covered": p} for m, p in c.timeline],
               ["month", "people_covered"])
    write_json_atomic(folder / "sites.geojson", _feature_collection([
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
         "properties": {k: v for k, v in s.items() if k not in ("lat", "lon")}}
        for s in c.site_rows]))
    boundary_geojson = None
    if c.boundary is not None and c.to_lonlat is not None:
        import shapely

        boundary_ll = shapely.transform(c.boundary, lambda xy: np.column_stack(c.to_lonlat(xy[:, 0], xy[:, 1])))
        boundary_geojson = json.loads(shapely.to_geojson(boundary_ll))
        write_json_atomic(folder / "boundary.geojson", _feature_collection([
            {"type": "Feature", "properties": {"id": c.id, "crs": "EPSG:4326"}, "geometry": boundary_geojson}]))

    overlay = bounds_ll = None
    if c.has_rasters:
        _write_geotiff(folder / "coverage.tif", c.covered, c.transform, c.crs)
        _write_geotiff(folder / "dl_mbps.tif", c.dl_mbps, c.transform, c.crs)
        rows, cols = c.covered.shape
        tr = c.transform
        extent = (tr.c, tr.c + tr.a * cols, tr.f + tr.e * rows, tr.f)
        sites_xy = np.array([[s["x_m"], s["y_m"]] for s in c.site_rows if "x_m" in s], float).reshape(-1, 2)
        rings = _rings(c.boundary)
        figures.raster_figure(folder / "coverage.png", c.covered, extent, f"{c.names.get(lang, c.id)}: "
                              f"{t('coverage_map')}", kind="coverage", sites_xy=sites_xy, boundary_xy=rings,
                              labels=labels)
        figures.raster_figure(folder / "throughput.png", c.dl_mbps, extent, f"{c.names.get(lang, c.id)}: "
                              f"{t('throughput_map')}", kind="throughput", sites_xy=sites_xy, boundary_xy=rings)
        overlay, bounds_ll = _overlay_lonlat(c)

    has_map = False
    try:
        from qamtu.report.webmap import city_map, offline_html

        popups = []
        for s in c.site_rows:
            popups.append({
                "lat": s["lat"], "lon": s["lon"], "site_id": s["site_id"],
                "popup": _popup(s, t),
            })
        fmap = city_map(
            centre_lonlat=(c.lon, c.lat), bounds_lonlat=bounds_ll,
            boundary_geojson=boundary_geojson,
            overlay_rgba=overlay, sites=popups,
            labels={"boundary": t("boundary"), "coverage": t("coverage_map"), "sites": t("sites")},
        )
        write_text_atomic(folder / "map.html", offline_html(fmap))
        has_map = True
    except ImportError as exc:  # folium missing: the page says so instead of an empty frame
        c.notes.append(f"interactive map not written: {exc} (pip install folium)")

    ctx = _city_ctx(c, lang)
    ctx["has_map"] = has_map
    html = env.get_template("city.html.j2").render(
        c=ctx, deadline=report.deadline.isoformat(), currency=report.currency)
    write_text_atomic(folder / "index.html", html)


def _popup(s: dict, t) -> str:
    from html import escape

    return (f"<b>{escape(str(s['site_id']))}</b><br>{escape(t('order'))}: {escape(str(s.get('order', '')))}<br>"
            f"{escape(t('on_air'))}: {escape(str(s.get('on_air_month') or '-'))}<br>"
            f"{escape(str(s.get('explanation', '')))}")


def _rings(geom: Any) -> list[np.ndarray]:
    if geom is None:
        return []
    polys = list(getattr(geom, "geoms", [geom]))
    out = []
    for p in polys:
        if hasattr(p, "exterior"):
            out.append(np.asarray(p.exterior.coords))
    return out


def _overlay_lonlat(c: CityReport) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The coverage/throughput overlay reprojected to EPSG:4326 as an RGBA image, and its bounds."""
    import rasterio.warp
    import matplotlib

    rows, cols = c.covered.shape
    src = np.where(np.isnan(c.covered), np.nan, np.where(c.covered > 0.5, c.dl_mbps, -1.0)).astype("float32")
    left, top = c.transform.c, c.transform.f
    right, bottom = left + c.transform.a * cols, top + c.transform.e * rows
    w, s, e, n = rasterio.warp.transform_bounds(c.crs, "EPSG:4326", left, bottom, right, top)
    dst_t, dw, dh = rasterio.warp.calculate_default_transform(c.crs, "EPSG:4326", cols, rows, left, bottom,
                                                              right, top)
    dst = np.full((dh, dw), np.nan, "float32")
    rasterio.warp.reproject(src, dst, src_transform=c.transform, src_crs=c.crs, dst_transform=dst_t,
                            dst_crs="EPSG:4326", src_nodata=np.nan, dst_nodata=np.nan,
                            resampling=rasterio.warp.Resampling.nearest)
    vmax = float(np.nanmax(c.dl_mbps)) if np.isfinite(c.dl_mbps).any() else 1.0
    rgba = (matplotlib.colormaps["viridis"](np.clip(np.nan_to_num(dst, nan=0.0) / max(vmax, 1e-9), 0, 1)) * 255).astype(
        np.uint8)
    rgba[dst < 0] = (200, 200, 200, 160)
    rgba[np.isnan(dst)] = (0, 0, 0, 0)
    w = dst_t.c
    n = dst_t.f
    e = w + dst_t.a * dw
    s = n + dst_t.e * dh
    return rgba, (w, s, e, n)
