"""Static figures of the national report (matplotlib, Agg backend; PNG written atomically).

Each figure has its data written beside it by :mod:`qamtu.report.national` (CSV / GeoJSON / GeoTIFF).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qamtu.fileio import atomic_write

#: Status colours (colour-blind safe: Okabe-Ito palette).
STATUS_COLOURS = {"on_time": "#009E73", "late": "#E69F00", "never": "#D55E00"}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return path


def kazakhstan_outline() -> dict:
    """GeoJSON FeatureCollection of Kazakhstan's outline (Natural Earth 1:110m, vendored; see static/SOURCES.md)."""
    from qamtu.report.webmap import STATIC_DIR

    return json.loads((STATIC_DIR / "kazakhstan_ne110m.geojson").read_text(encoding="utf-8"))


def timeline_figure(
    path: Path,
    month_labels: Sequence[str],
    covered_people: Sequence[float],
    total_people: float,
    deadlines: Sequence[tuple[str, str]],
    labels: dict[str, str],
) -> Path:
    """National population covered per month (step line) with vertical lines at the deadlines.

    Parameters
    ----------
    month_labels : sequence of "YYYY-MM", length n_months
    covered_people : sequence of float, length n_months, people covered at the end of each month
    total_people : float, people of all the cities (upper reference line)
    deadlines : sequence of (label, "YYYY-MM")
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.0, 3.6))
    x = np.arange(len(month_labels))
    ax.step(x, np.asarray(covered_people) / 1e6, where="post", color="#0072B2", lw=2, label=labels["covered"])
    ax.axhline(total_people / 1e6, color="#999999", ls=":", lw=1, label=labels["population"])
    for i, (name, month) in enumerate(deadlines):
        if month in month_labels:
            xi = month_labels.index(month)
            ax.axvline(xi, color=("#D55E00", "#CC79A7")[i % 2], ls="--", lw=1.2, label=f"{name} {month}")
        elif month_labels and month > month_labels[-1]:
            ax.annotate(f"{name} {month} \u2192", xy=(1.0, 0.05), xycoords="axes fraction", ha="right", fontsize=8)
    step = max(1, len(month_labels) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([month_labels[i] for i in range(0, len(month_labels), step)], rotation=45, ha="right",
                       fontsize=8)
    ax.set_ylabel(f"{labels['population']}, 10\u2076")
    ax.set_xlabel(labels["month"])
    ax.set_ylim(0, max(total_people / 1e6 * 1.05, 1e-6))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(labels["timeline"])
    return _save(fig, path)


def kazakhstan_map_figure(path: Path, cities: Sequence[dict], labels: dict[str, str]) -> Path:
    """Map of Kazakhstan (outline, lon/lat graticule) with the cities coloured by status.

    Parameters
    ----------
    cities : sequence of dict with ``lon``, ``lat``, ``name``, ``status`` in {"on_time", "late", "never"}
    """
    plt = _plt()
    outline = kazakhstan_outline()
    fig, ax = plt.subplots(figsize=(8.0, 4.6))
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
    for c in cities:
        ax.annotate(c["name"], (c["lon"], c["lat"]), xytext=(4, 3), textcoords="offset points", fontsize=7)
    ax.set_xlim(46, 88)
    ax.set_ylim(40, 56)
    ax.set_aspect(1 / np.cos(np.deg2rad(48.0)))  # equirectangular at the country's mid-latitude
    ax.grid(alpha=0.3)
    ax.set_xlabel("lon, \u00b0E")
    ax.set_ylabel("lat, \u00b0N")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(labels["map_kz"])
    return _save(fig, path)


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
    plt = _plt()
    from matplotlib.colors import ListedColormap

    fig, ax = plt.subplots(figsize=(6.0, 5.2))
    if kind == "coverage":
        im = ax.imshow(values, extent=extent_m, cmap=ListedColormap(["#dddddd", "#0072B2"]), vmin=0, vmax=1,
                       interpolation="nearest")
        cb = fig.colorbar(im, ax=ax, ticks=[0.25, 0.75], shrink=0.8)
        if labels:
            cb.ax.set_yticklabels([labels["not_covered"], labels["covered"]])
    else:
        im = ax.imshow(values, extent=extent_m, cmap="viridis", vmin=0, interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8, label="Mbit/s")
    for ring in boundary_xy:
        ax.plot(ring[:, 0], ring[:, 1], color="#333333", lw=1)
    if sites_xy is not None and len(sites_xy):
        ax.scatter(sites_xy[:, 0], sites_xy[:, 1], s=14, marker="^", color="#D55E00", edgecolor="black", lw=0.4,
                   zorder=3)
    ax.set_title(title)
    ax.set_xlabel("x, m")
    ax.set_ylabel("y, m")
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(labelsize=7)
    return _save(fig, path)
