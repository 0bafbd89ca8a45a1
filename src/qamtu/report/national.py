"""The national report: ``index.html``, a page per city, figures, the data behind them and ``summary.json``.

:class:`~qamtu.report.records.NationalReport` / :class:`~qamtu.report.records.CityReport` hold what a run produced
(:mod:`qamtu.report.records`); :func:`write_national_report` writes the folder::

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qamtu import __version__
from qamtu.fileio import atomic_write, write_csv_atomic, write_json_atomic, write_text_atomic
from qamtu.report import content, figures
from qamtu.report.content import Numbers
from qamtu.report.i18n import check_lang, translator
from qamtu.report.records import CityReport, NationalReport


def localise(item: Any, t: Callable[[str], str], numbers: Numbers | None = None) -> str:
    """A note or label: a plain string as is, or ``(i18n key, params)`` formatted in the report's language
    (float parameters with the language's decimal sign)."""
    if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
        key, params = item
        nums = numbers or Numbers("en")
        return t(key).format(**{k: nums.g(v) if isinstance(v, float) else v for k, v in params.items()})
    return str(item)


def _env(lang: str):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    t = translator(lang)
    nums = Numbers(lang)
    env.globals.update(t=t, loc=lambda item: localise(item, t, nums), fmt_pct=nums.pct, fmt_num=nums.num,
                       fmt_int=nums.int, fmt_dec=nums.dec, lang=lang, version=__version__,
                       site_why=lambda s: content.site_why(s, lang), on_air=lambda s: content.on_air_text(s, lang))
    env.globals["generated_at"] = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    from qamtu.geo.shipped import ATTRIBUTION_PARTS

    env.globals["attributions"] = ATTRIBUTION_PARTS
    return env


def _write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    write_csv_atomic(path, rows, columns)


#: Band name, unit and meaning of the national report's per-city GeoTIFFs.
GEOTIFF_BANDS = {
    "coverage.tif": ("covered", "1", "1 covered, 0 not covered, NaN outside the study area (engine criterion: "
                                     "see the assumption tags)"),
    "dl_mbps.tif": ("dl_mbps", "Mbit/s", "downlink throughput at the cell load of the assumption tags, all planned "
                                         "sites on air; NaN outside the study area"),
}


def _write_geotiff(path: Path, array: np.ndarray, transform: Any, crs: str, tags: dict[str, Any] | None = None,
                   nodata: float = np.nan) -> None:
    """One float32 band with its description, unit and meaning (:data:`GEOTIFF_BANDS`), and ``tags`` (the
    assumptions) on the dataset."""
    import rasterio

    name, unit, meaning = GEOTIFF_BANDS[path.name]
    data = np.asarray(array, dtype="float32")
    with atomic_write(path) as tmp:
        with rasterio.open(
            tmp, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype="float32",
            crs=crs, transform=transform, nodata=nodata, compress="deflate",
        ) as dst:
            dst.write(data, 1)
            dst.set_band_description(1, name)
            dst.update_tags(1, name=name, unit=unit, meaning=meaning)
            dst.update_tags(**{k: str(v) for k, v in (tags or {}).items()})


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
        "headline": content.headline(report, "en"),
        "assumptions": report.assumptions,
        "sensitivity": report.sensitivity,
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
                "kind": c.kind,
                "late": c.late,
                "population_share_all": c.population_share_all,
                "terrain": c.terrain,
                "boundary": c.boundary_note,
            }
            for c in report.cities
        ],
    }


def write_national_report(
    report: NationalReport, out_dir: str | Path, *, lang: str = "en", progress: Callable[[str], None] | None = None,
    basemap: str | None = None,
) -> Path:
    """Write the report folder (see the module docstring) and return the path of ``index.html``.

    Parameters
    ----------
    report : NationalReport
    out_dir : path, created if missing
    lang : {"en", "ru", "kk"}
    progress : callable(str), optional, called once per city page written
    basemap : {None, "osm"}
        ``"osm"``: OpenStreetMap tiles under the interactive maps (fetched online when viewed; only on request).
    """
    check_lang(lang)
    t = translator(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = _env(lang)
    labels = {k: t(k) for k in ("covered", "not_covered", "population", "month", "timeline", "map_kz",
                                "legend_on_time", "legend_late", "legend_never", "boundary", "sites",
                                "coverage_map", "deadline", "chart_sites", "sites_required", "sites_built",
                                "city_timeline", "phase_lead", "phase_build", "phase_gate", "axis_lon", "axis_lat",
                                "axis_x", "axis_y", "mbps", "people_millions")}
    labels["coverage"] = labels["coverage_map"]

    # national figures and their data
    deadlines = [(t("deadline"), report.deadline.strftime("%Y-%m")),
                 (t("deadline"), report.comparison_deadline.strftime("%Y-%m"))]
    on_air, required = content.sites_on_air(report)
    figures.step_figure(out / "figures" / "sites_on_air.png", report.months, figures.StepSeries(
        values=on_air, reference=required, label=t("sites_built"), reference_label=f"{t('sites_required')}: {required}",
        ylabel=t("chart_sites"), title=t("chart_sites"), legend_loc="lower right"), deadlines, t("month"), lang=lang)
    _write_csv(out / "data" / "sites_on_air.csv",
               [{"month": m, "sites_on_air": n, "sites_required": required} for m, n in zip(report.months, on_air)],
               ["month", "sites_on_air", "sites_required"])
    phases = content.city_phases(report, lang)
    figures.city_timeline_figure(out / "figures" / "city_timeline.png", report.months,
                                 [dataclasses.asdict(p) for p in phases], deadlines, labels, lang=lang)
    _write_csv(out / "data" / "city_timeline.csv", [dataclasses.asdict(p) for p in phases],
               [f.name for f in dataclasses.fields(content.Phases)])
    covered = report.covered_people()
    total = float(sum(c.population for c in report.cities))
    figures.step_figure(out / "figures" / "timeline.png", report.months, figures.StepSeries(
        values=np.asarray(covered) / 1e6, reference=total / 1e6, label=t("covered"), reference_label=t("population"),
        ylabel=t("people_millions"), title=t("timeline")), deadlines, t("month"), lang=lang)
    _write_csv(out / "data" / "timeline.csv",
               [{"month": m, "people_covered": p} for m, p in zip(report.months, covered)])
    pts = [{"lon": c.lon, "lat": c.lat, "name": content.city_label(c, lang), "status": c.status}
           for c in report.cities]
    figures.kazakhstan_map_figure(out / "figures" / "kazakhstan.png", pts, labels, lang=lang)
    write_json_atomic(out / "data" / "cities.geojson", _feature_collection([
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
         "properties": {"id": c.id, "name": c.names.get("en", c.id), "status": c.status,
                        "gate_month": c.gate_label}}
        for c in report.cities]))
    summary = summary_dict(report)
    write_json_atomic(out / "summary.json", summary)
    _write_csv(out / "data" / "summary.csv", [
        {k: v for k, v in row.items() if k not in ("targets", "late")} for row in summary["cities"]])
    _write_csv(out / "data" / "schedule.csv", report.schedule_rows,
               None if report.schedule_rows else ["city_id", "site_id", "on_air_month"])
    _write_csv(out / "data" / "comparison.csv", report.comparison,
               None if report.comparison else ["deadline", "cities_on_time", "cities", "minimum", "search_method"])
    if report.sensitivity:
        _write_csv(out / "data" / "sensitivity.csv", report.sensitivity)

    for c in report.cities:
        _write_city(c, out / "cities" / c.id, env, t, labels, report, lang, basemap)
        if progress is not None:
            progress(c.id)

    data_files = ["summary.json", "scenario.yaml", "data/summary.csv", "data/schedule.csv", "data/comparison.csv",
                  "data/sites_on_air.csv", "data/city_timeline.csv", "data/timeline.csv", "data/cities.geojson",
                  "data/sensitivity.csv"]
    data_files = [f for f in data_files if (out / f).exists() or f == "scenario.yaml"]
    cities = [_city_ctx(c, lang) for c in report.cities]
    for ctx, c in zip(cities, report.cities):
        ctx["why_late"] = content.late_text(c, report, lang)
    html = env.get_template("index.html.j2").render(
        cities=cities,
        headline=content.headline(report, lang),
        deadline=report.deadline.isoformat(),
        comparison_deadline=report.comparison_deadline.isoformat(),
        comparison=report.comparison,
        search_label=t("min_budget") if report.search_resource == "budget" else t("min_crews"),
        resources=content.resources_text(report, lang),
        currency=content.currency(report, lang),
        show_cost=any(abs(c.cost - c.n_sites) > 1e-9 for c in report.cities),
        phases=phases,
        assumptions=content.assumptions(report, lang),
        glossary=content.glossary(lang),
        sensitivity=_sensitivity_rows(report, lang),
        map_caption=t("map_kz_caption"),
        data_files=data_files,
        notes=report.notes,
    )
    return write_text_atomic(out / "index.html", html)


def _sensitivity_rows(report: NationalReport, lang: str) -> list[dict[str, str]]:
    """The sensitivity table's rows in words: assumption, value, cities on time (of n) by the deadline."""
    t = translator(lang)
    nums = Numbers(lang)
    out = []
    for row in report.sensitivity:
        name, value = row["assumption"], row["value"]
        if name == "base":
            shown = ""
        elif name in ("probability", "load"):
            shown = nums.pct(float(value))
        else:
            shown = nums.g(float(value))
        out.append({"assumption": t(f"sens_{name}"), "value": shown, "base": name == "base",
                    "on_time": row["cities_on_time"], "n": row["cities"],
                    "minimum": "\u2013" if row.get("minimum") is None else nums.num(row["minimum"])})
    return out


def _city_ctx(c: CityReport, lang: str) -> dict[str, Any]:
    d = dict(c.__dict__)
    d["name"] = content.city_label(c, lang)
    d["kind_label"] = translator(lang)(f"kind_{c.kind}")
    d["not_met"] = content.not_met(c, lang)
    d["n_sites"] = c.n_sites
    d["has_rasters"] = c.has_rasters
    return d


#: Colours of the interactive map: covered / not covered pixels (categorical) and the site markers.
COVERED_RGBA_HEX = "#0072B2"
NOT_COVERED_RGBA_HEX = "#C8C8C8"
SITE_HEX = "#D55E00"
MAP_LOCALE_KEYS = ("zoom_in", "zoom_out", "km", "m", "layers")


def _write_city(c: CityReport, folder: Path, env, t, labels: dict, report: NationalReport, lang: str,
                basemap: str | None = None) -> None:
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
        tags = {"city_id": c.id, "software": f"qamtu {__version__}",
                **{f"assumption_{k}": v for k, v in report.assumptions.items()}}
        _write_geotiff(folder / "coverage.tif", c.covered, c.transform, c.crs, tags)
        _write_geotiff(folder / "dl_mbps.tif", c.dl_mbps, c.transform, c.crs, tags)
        rows, cols = c.covered.shape
        tr = c.transform
        extent = (tr.c, tr.c + tr.a * cols, tr.f + tr.e * rows, tr.f)
        sites_xy = np.array([[s["x_m"], s["y_m"]] for s in c.site_rows if "x_m" in s], float).reshape(-1, 2)
        rings = _rings(c.boundary)
        name = content.city_label(c, lang)
        figures.raster_figure(folder / "coverage.png", c.covered, extent, f"{name}: {t('coverage_map')}",
                              kind="coverage", sites_xy=sites_xy, boundary_xy=rings, labels=labels, lang=lang)
        figures.raster_figure(folder / "throughput.png", c.dl_mbps, extent, f"{name}: {t('throughput_map')}",
                              kind="throughput", sites_xy=sites_xy, boundary_xy=rings, labels=labels, lang=lang)
        overlay, bounds_ll = _overlay_lonlat(c)

    has_map = False
    try:
        from qamtu.report.webmap import city_map, offline_html

        popups = []
        for s in c.site_rows:
            popups.append({
                "lat": s["lat"], "lon": s["lon"], "site_id": s["site_id"],
                "popup": _popup(s, t, lang),
            })
        fmap = city_map(
            centre_lonlat=(c.lon, c.lat), bounds_lonlat=bounds_ll,
            boundary_geojson=boundary_geojson,
            overlay_rgba=overlay, sites=popups,
            labels={"boundary": t("boundary"), "coverage": t("coverage_map"), "sites": t("sites")},
            legend=[(COVERED_RGBA_HEX, t("covered")), (NOT_COVERED_RGBA_HEX, t("not_covered")),
                    (SITE_HEX, t("map_legend_sites"))],
            basemap=basemap,
        )
        write_text_atomic(folder / "map.html", offline_html(fmap, {k: t(f"map_{k}") for k in MAP_LOCALE_KEYS}))
        has_map = True
    except ImportError as exc:  # folium missing: the page says so instead of an empty frame
        c.notes.append(f"interactive map not written: {exc} (pip install folium)")

    ctx = _city_ctx(c, lang)
    ctx["has_map"] = has_map
    html = env.get_template("city.html.j2").render(
        c=ctx, deadline=report.deadline.isoformat(), currency=content.currency(report, lang),
        show_cost=abs(c.cost - c.n_sites) > 1e-9, assumptions=content.assumptions(report, lang),
        why_late=content.late_text(c, report, lang))
    write_text_atomic(folder / "index.html", html)


def _popup(s: dict, t, lang: str) -> str:
    from html import escape

    return (f"<b>{escape(str(s['site_id']))}</b><br>{escape(t('order'))}: {escape(str(s.get('order', '')))}<br>"
            f"{escape(t('on_air'))}: {escape(content.on_air_text(s, lang))}<br>"
            f"{escape(content.site_why(s, lang))}")


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
    from matplotlib.colors import to_rgb

    rgba = np.zeros((*dst.shape, 4), np.uint8)
    rgba[dst >= 0] = (*(int(255 * v) for v in to_rgb(COVERED_RGBA_HEX)), 170)
    rgba[dst < 0] = (*(int(255 * v) for v in to_rgb(NOT_COVERED_RGBA_HEX)), 160)
    w = dst_t.c
    n = dst_t.f
    e = w + dst_t.a * dw
    s = n + dst_t.e * dh
    return rgba, (w, s, e, n)
