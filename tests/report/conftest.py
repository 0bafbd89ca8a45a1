"""A small synthetic national report (two cities on a coarse grid), built without the engine."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import Transformer

from qamtu.report.records import CityReport, NationalReport


def _city(cid, names, lat, lon, crs, status, gate, n_sites):
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    from_ll = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0 = from_ll.transform(lon, lat)
    res = 500.0
    rows = cols = 24
    transform = Affine(res, 0, x0 - cols * res / 2, 0, -res, y0 + rows * res / 2)
    yy, xx = np.mgrid[0:rows, 0:cols]
    inside = (yy - 12) ** 2 + (xx - 12) ** 2 < 11**2
    dl = np.where(inside, 200.0 * np.exp(-((yy - 12) ** 2 + (xx - 8) ** 2) / 60.0), np.nan)
    covered = np.where(inside, (dl > 50).astype(float), np.nan)
    boundary = shapely.Point(x0, y0).buffer(11 * res)
    sites = []
    for i in range(n_sites):
        sx, sy = x0 + (i - n_sites / 2) * 1500.0, y0 + 400.0 * i
        slon, slat = to_ll.transform(sx, sy)
        sites.append({"site_id": f"{cid}-{i}", "lat": slat, "lon": slon, "x_m": sx, "y_m": sy, "cost": 1.0,
                      "order": i, "on_air_month": f"2024-{i + 3:02d}",
                      "explanation": f"adds {1000 * (n_sites - i)} people <covered>",
                      "added_population": 1000.0 * (n_sites - i), "added_area_km2": 1.25,
                      "unique_population": 500.0})
    return CityReport(
        id=cid, names=names, lat=lat, lon=lon, population=250000.0, site_rows=sites, cost=float(n_sites),
        territory_share=float(np.nanmean(covered)), population_share=0.7, dl_p5_mbps=12.0, gate_label=gate,
        status=status, passes_at_end=status != "never", targets={"territory_share": 0.6, "population_share": None,
                                                                  "dl_p5_mbps": None},
        reasons=[] if status != "never" else ["territory share 0.400 < 0.600"],
        timeline=[("2024-03", 50000.0), ("2024-05", 150000.0)], crs=crs, transform=transform, covered=covered,
        dl_mbps=dl, boundary=boundary,
        to_lonlat=lambda x, y, _t=to_ll: _t.transform(x, y),
        measured=[{"kpi": ("kpi_p5_predicted", {}), "predicted": 120.0, "measured": 95.0,
                   "kind": "rate"}] if cid == "kokshetau" else None,
        kind="oblast_centre", population_share_all=0.55,
        late={"reason": "on_time"} if status == "on_time" else {"reason": "plan"},
    )


@pytest.fixture
def small_report():
    cities = [
        _city("kokshetau", {"en": "Kokshetau", "ru": "Кокшетау", "kk": "Көкшетау"}, 53.2833, 69.4, "EPSG:32642",
              "on_time", "2024-05", 4),
        _city("taraz", {"en": "Taraz", "ru": "Тараз", "kk": "Тараз"}, 42.9, 71.3667, "EPSG:32643", "never", None, 3),
    ]
    months = [f"{2024 + m // 12}-{m % 12 + 1:02d}" for m in range(48)]
    return NationalReport(
        cities=cities, start=dt.date(2024, 1, 1), deadline=dt.date(2025, 12, 31),
        comparison_deadline=dt.date(2027, 12, 31), months=months,
        comparison=[{"deadline": "2025-12-31", "cities_on_time": 1, "cities": 2, "minimum": 2,
                     "search_method": "bisect+verified"},
                    {"deadline": "2027-12-31", "cities_on_time": 1, "cities": 2, "minimum": 1,
                     "search_method": "bisect+verified"}],
        resources={"crews": {"national": 4}, "sites_per_crew_month": 4.0, "monthly_budget": None,
                   "carry_over": True, "priority": "people-per-cost", "resolution_m": 500.0},
        schedule_rows=[{"city_id": c.id, "site_id": s["site_id"], "lead_time_months": 2,
                        "on_air_month": s["on_air_month"]} for c in cities for s in c.site_rows],
        assumptions={"cities": 2, "boundary_approx": 2, "population_model": 2, "users": "outdoor",
                     "rsrp_threshold_dbm": -110.0, "coverage_level": 0.9, "min_dl_mbps": 50.0, "cell_load": 0.5},
        sensitivity=[{"assumption": "crews", "step": -1, "value": 3, "cities_on_time": 1, "cities": 2,
                      "minimum": 2},
                     {"assumption": "base", "step": 0, "value": None, "cities_on_time": 1, "cities": 2, "minimum": 2},
                     {"assumption": "load", "step": 1, "value": 0.75, "cities_on_time": 0, "cities": 2,
                      "minimum": None}],
    )


#: Strings a hostile or careless sites file can carry: each tries to run script in the page, break out of an
#: attribute, a JS string or template literal, or a <script> block. A page that runs one sets ``data-pwned``.
HOSTILE = (
    "${document.documentElement.setAttribute('data-pwned','template')}",
    "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">",
    "`);document.documentElement.setAttribute('data-pwned','backtick');(`",
    "</script><script>document.documentElement.setAttribute('data-pwned','script')</script>",
    "\" onmouseover=\"document.documentElement.setAttribute('data-pwned','attr')\" x=\"",
    "'+document.documentElement.setAttribute('data-pwned','quote')+'",
    "line\u2028separator\u2029and\nnewline\\",
    "{{7*7}} {% raw %}",
    "=HYPERLINK(\"http://example.invalid\",\"x\")",
)


@pytest.fixture
def hostile_report(small_report):
    """``small_report`` with the hostile strings as site ids, explanations, errors, notes and the currency."""
    city = small_report.cities[0]
    base = city.site_rows[0]
    rows = []
    for i, text in enumerate(HOSTILE):
        row = dict(base, site_id=text, explanation=text, order=i, on_air_month=None)
        row["lat"] = base["lat"] + 0.004 * i
        rows.append(row)
    city.site_rows = rows
    city.reasons = list(HOSTILE)
    city.notes = list(HOSTILE)
    city.measured_source = HOSTILE[1]
    city.error = HOSTILE[3]
    small_report.currency = HOSTILE[4]
    small_report.notes = list(HOSTILE)
    small_report.schedule_rows = [{"city_id": city.id, "site_id": text, "on_air_month": "2024-03"} for text in HOSTILE]
    return small_report
