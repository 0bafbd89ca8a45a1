"""Static figures of the national report (matplotlib, Agg backend; PNG written atomically).

Each figure has its data written beside it by :mod:`qamtu.report.national` (CSV / GeoJSON / GeoTIFF).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qamtu.plotting import pyplot, save_png

#: Status colours (colour-blind safe: Okabe-Ito palette).
STATUS_COLOURS = {"on_time": "#009E73", "late": "#E69F00", "never": "#D55E00"}


def figure(lang: str = "en", figsize: tuple[float, float] = (8.0, 3.6)):
    """A new (figure, axes) whose tick labels use the decimal sign of ``lang`` (a comma in ru/kk)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=figsize)
    _decimal_ticks(ax, lang)
    return fig, ax


def _decimal_ticks(ax, lang: str) -> None:
    if lang == "en":
        ax.ticklabel_format(style="plain", useOffset=False)
        return
    from matplotlib.ticker import FuncFormatter

    def fmt(value, _pos):
        text = f"{value:.0f}" if float(value).is_integer() else f"{value:.6g}"
        return text.replace(".", ",").replace("-", "\u2212")

    ax.xaxis.set_major_formatter(FuncFormatter(fmt))
    ax.yaxis.set_major_formatter(FuncFormatter(fmt))


def _month_axis(ax, month_labels: Sequence[str]) -> np.ndarray:
    x = np.arange(len(month_labels))
    step = max(1, len(month_labels) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([month_labels[i] for i in range(0, len(month_labels), step)], rotation=45, ha="right",
                       fontsize=8)
    return x


def _deadline_lines(ax, month_labels: Sequence[str], deadlines: Sequence[tuple[str, str]]) -> None:
    for i, (name, month) in enumerate(deadlines):
        if month in month_labels:
            ax.axvline(month_labels.index(month), color=("#D55E00", "#CC79A7")[i % 2], ls="--", lw=1.2,
                       label=f"{name} {month}")
        elif month_labels and month > month_labels[-1]:
            ax.annotate(f"{name} {month} \u2192", xy=(1.0, 0.05 + 0.08 * i), xycoords="axes fraction", ha="right",
                        fontsize=8)


@dataclasses.dataclass(frozen=True)
class StepSeries:
    """A national quantity per month for :func:`step_figure`, with its reference level and words."""

    values: Sequence[float]
    reference: float
    label: str
    reference_label: str
    ylabel: str
    title: str
    legend_loc: str = "upper left"


def step_figure(
    path: Path,
    month_labels: Sequence[str],
    series: StepSeries,
    deadlines: Sequence[tuple[str, str]],
    month_word: str,
    *,
    lang: str = "en",
) -> Path:
    """A quantity at the end of each month (step line) against its reference level (dotted) and the deadlines
    (dashed): the sites on air against the sites required, or the people covered against the population.

    Parameters
    ----------
    month_labels : sequence of "YYYY-MM", length n_months
    series : StepSeries, ``values`` of length n_months
    deadlines : sequence of (label, "YYYY-MM")
    month_word : str, the x axis label
    """
    fig, ax = figure(lang)
    x = _month_axis(ax, month_labels)
    ax.step(x, np.asarray(series.values, float), where="post", color="#0072B2", lw=2, label=series.label)
    ax.axhline(series.reference, color="#333333", ls=":", lw=1.2, label=series.reference_label)
    _deadline_lines(ax, month_labels, deadlines)
    ax.set_ylabel(series.ylabel)
    ax.set_xlabel(month_word)
    ax.set_ylim(0, max(series.reference * 1.08, 1e-6))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc=series.legend_loc)
    ax.set_title(series.title)
    return save_png(fig, path)


def city_timeline_figure(
    path: Path,
    month_labels: Sequence[str],
    phases: Sequence[dict],
    deadlines: Sequence[tuple[str, str]],
    labels: dict[str, str],
    *,
    lang: str = "en",
) -> Path:
    """One row per city: lead times (start to first buildable month), construction (first to last site on air)
    and a diamond at the month the targets are met, coloured by status; deadlines as vertical lines.

    Parameters
    ----------
    phases : sequence of dict with ``name``, ``lead_end``, ``first_on_air``, ``last_on_air``, ``gate``
        (labels "YYYY-MM" or None) and ``status``
    """
    index = {m: i for i, m in enumerate(month_labels)}

    def at(label: str | None) -> float | None:
        if label is None:
            return None
        return float(index.get(label, len(month_labels) if label > month_labels[-1] else 0))

    fig, ax = figure(lang, figsize=(8.0, 0.9 + 0.32 * max(len(phases), 1)))
    x = _month_axis(ax, month_labels)
    ax.set_xlim(-0.5, len(x) + 0.5)
    for row, p in enumerate(phases):
        y = len(phases) - 1 - row
        lead = at(p["lead_end"])
        if lead:
            ax.broken_barh([(0, lead)], (y - 0.3, 0.6), color="#BBBBBB",
                           label=labels["phase_lead"] if row == 0 else None)
        first, last = at(p["first_on_air"]), at(p["last_on_air"])
        if first is not None and last is not None:
            ax.broken_barh([(first, last - first + 1)], (y - 0.3, 0.6), color="#56B4E9",
                           label=labels["phase_build"] if row == 0 else None)
        gate = at(p["gate"])
        if gate is not None:
            ax.scatter([gate + 0.5], [y], marker="D", s=36, color=STATUS_COLOURS.get(p["status"], "#000000"),
                       edgecolor="black", lw=0.5, zorder=3, label=labels["phase_gate"] if row == 0 else None)
    ax.set_yticks(range(len(phases)))
    ax.set_yticklabels([p["name"] for p in reversed(phases)], fontsize=8)
    _deadline_lines(ax, month_labels, deadlines)
    ax.grid(axis="x", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles, names, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=5, frameon=False)
    ax.set_title(labels["city_timeline"], pad=24)
    return save_png(fig, path)


def kazakhstan_outline() -> dict:
    """GeoJSON FeatureCollection of Kazakhstan's outline (Natural Earth 1:110m, vendored; see static/SOURCES.md)."""
    from qamtu.report.webmap import STATIC_DIR

    return json.loads((STATIC_DIR / "kazakhstan_ne110m.geojson").read_text(encoding="utf-8"))


def kazakhstan_map_figure(path: Path, cities: Sequence[dict], labels: dict[str, str], *, lang: str = "en") -> Path:
    """Map of Kazakhstan (outline, lon/lat graticule) with the cities coloured by status.

    Parameters
    ----------
    cities : sequence of dict with ``lon``, ``lat``, ``name``, ``status`` in {"on_time", "late", "never"}
    """
    outline = kazakhstan_outline()
    fig, ax = figure(lang, figsize=(8.0, 4.6))
    for feat in outline["features"]:
        geom = feat["geometry"]
        polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        for poly in polys:
            ring = np.asarray(poly[0])
            ax.fill(ring[:, 0], ring[:, 1], facecolor="#f2f2f2", edgecolor="#555555", lw=1)
    for status in ("on_time", "late", "never"):
        pts = [c for c in cities if c["status"] == status]
        if pts:
            ax.scatter([c["lon"] for c in pts], [c["lat"] for c in pts], s=60, color=STATUS_COLOURS[status],
                       edgecolor="black", lw=0.6, zorder=3, label=labels[f"legend_{status}"])
    ax.set_xlim(46, 88)
    ax.set_ylim(40, 56)
    ax.set_aspect(1 / np.cos(np.deg2rad(48.0)))  # equirectangular at the country's mid-latitude
    _city_labels(ax, cities)
    ax.grid(alpha=0.3)
    ax.set_xlabel(labels["axis_lon"])
    ax.set_ylabel(labels["axis_lat"])
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(labels["map_kz"])
    return save_png(fig, path)


def _city_labels(ax, cities: Sequence[dict]) -> None:
    """City names beside their points, moved apart where they overlap (adjustText), with a leader line."""
    texts = [ax.text(c["lon"], c["lat"], c["name"], fontsize=7, zorder=4) for c in cities]
    if len(texts) < 2:
        return
    from adjustText import adjust_text

    adjust_text(texts, x=[c["lon"] for c in cities], y=[c["lat"] for c in cities], ax=ax,
                expand=(1.15, 1.3), arrowprops={"arrowstyle": "-", "color": "#777777", "lw": 0.5})


def raster_figure(
    path: Path,
    values: np.ndarray,
    extent_m: tuple[float, float, float, float],
    title: str,
    *,
    kind: str,
    sites_xy: np.ndarray | None = None,
    boundary_xy: Sequence[np.ndarray] = (),
    labels: dict[str, str] | None = None,
    lang: str = "en",
) -> Path:
    """A city raster (coverage mask or DL throughput) in the city's UTM metres, with the sites on top.

    Parameters
    ----------
    values : ndarray, shape (rows, cols), north-up; NaN outside the study area
    extent_m : (left, right, bottom, top) in metres of the city's CRS
    kind : {"coverage", "throughput"}
    sites_xy : ndarray, shape (n, 2), metres, optional
    boundary_xy : sequence of ndarray, shape (k, 2), the boundary rings in metres
    """
    from matplotlib.colors import ListedColormap

    labels = labels or {}
    fig, ax = figure(lang, figsize=(6.0, 5.2))
    if kind == "coverage":
        im = ax.imshow(values, extent=extent_m, cmap=ListedColormap(["#dddddd", "#0072B2"]), vmin=0, vmax=1,
                       interpolation="nearest")
        cb = fig.colorbar(im, ax=ax, ticks=[0.25, 0.75], shrink=0.8)
        cb.ax.set_yticklabels([labels.get("not_covered", "not covered"), labels.get("covered", "covered")])
    else:
        im = ax.imshow(values, extent=extent_m, cmap="viridis", vmin=0, interpolation="nearest")
        cb = fig.colorbar(im, ax=ax, shrink=0.8, label=labels.get("mbps", "Mbit/s"))
        _decimal_ticks(cb.ax, lang)
    for ring in boundary_xy:
        ax.plot(ring[:, 0], ring[:, 1], color="#333333", lw=1)
    if sites_xy is not None and len(sites_xy):
        ax.scatter(sites_xy[:, 0], sites_xy[:, 1], s=14, marker="^", color="#D55E00", edgecolor="black", lw=0.4,
                   zorder=3)
    ax.set_title(title)
    ax.set_xlabel(labels.get("axis_x", "x, m"))
    ax.set_ylabel(labels.get("axis_y", "y, m"))
    ax.tick_params(labelsize=7)
    return save_png(fig, path)
