"""Maps a planner can read: labels that do not overlap, a legend, categorical colours, a basemap only on request."""

from __future__ import annotations

import numpy as np

from qamtu.plotting import pyplot
from qamtu.geo.catalogue import load_cities
from qamtu.report import figures
from qamtu.report.national import COVERED_RGBA_HEX, NOT_COVERED_RGBA_HEX, write_national_report


def test_city_labels_of_the_national_map_do_not_overlap():
    fig, ax = figures.figure("en", figsize=(8.0, 4.6))
    cities = [{"lon": c.lon, "lat": c.lat, "name": c.name_en} for c in load_cities()]
    ax.set_xlim(46, 88)
    ax.set_ylim(40, 56)
    ax.set_aspect(1 / np.cos(np.deg2rad(48.0)))
    ax.scatter([c["lon"] for c in cities], [c["lat"] for c in cities])
    figures._city_labels(ax, cities)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) == 20
    overlaps = [(i, j) for i in range(20) for j in range(i + 1, 20) if boxes[i].overlaps(boxes[j])]
    assert overlaps == [], [(ax.texts[i].get_text(), ax.texts[j].get_text()) for i, j in overlaps]
    pyplot().close(fig)


def test_interactive_map_legend_colours_and_basemap(small_report, tmp_path):
    import dataclasses

    small_report = dataclasses.replace(small_report, cities=small_report.cities[:1])  # one city is enough here
    write_national_report(small_report, tmp_path / "off", lang="ru")
    html = (tmp_path / "off" / "cities" / "kokshetau" / "map.html").read_text(encoding="utf-8")
    assert 'class="qamtu-legend"' in html and "покрыто" in html and "не покрыто" in html
    assert COVERED_RGBA_HEX in html and NOT_COVERED_RGBA_HEX in html
    assert "tile.openstreetmap.org" not in html  # offline by default
    assert "fitBounds" in html  # initial view: the city's extent
    write_national_report(small_report, tmp_path / "osm", lang="ru", basemap="osm")
    osm = (tmp_path / "osm" / "cities" / "kokshetau" / "map.html").read_text(encoding="utf-8")
    assert "tile.openstreetmap.org" in osm
