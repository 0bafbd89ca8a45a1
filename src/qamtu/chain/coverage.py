"""``qamtu coverage``: one city's coverage maps and KPIs for a site table.

:func:`coverage_job` builds the study area of the scenario's city (:func:`qamtu.chain.city.study_area`), reads the
site tables, evaluates them with the engine configuration of the scenario
(:meth:`~qamtu.chain.scenario.Scenario.engine_config`) and hands the result to
:func:`qamtu.report.maps.write_coverage_outputs`. :func:`district_rows` gives the KPIs per shipped district written
into ``kpis.json``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from qamtu.chain.scenario import Scenario


def district_rows(area: Any, covered: Any, dl_mbps: Any = None) -> list[dict[str, Any]]:
    """Coverage KPIs per shipped district (Astana, Almaty, Shymkent; :func:`qamtu.plan.people.district_zones`):
    territory and population shares covered, area, people, median DL rate over people. ``covered`` (bool) and
    ``dl_mbps`` are per-pixel maps on the area's grid. Empty for the other cities; the pixels outside every district
    are a row of their own, so the rows add up to the city."""
    from qamtu.engine.aggregate import weighted_percentiles
    from qamtu.plan.people import district_zones

    cov = np.asarray(covered, dtype=bool)
    pop = np.asarray(area.population, dtype=float)
    out = []
    for props, m in district_zones(area):
        n = int(m.sum())
        p_tot = float(pop[m].sum())
        rec: dict[str, Any] = {
            "district": props["name_en"], "kato": props.get("kato", ""),
            "area_km2": n * area.pixel_area_km2, "population_total": p_tot,
            "territory_share": float((cov & m).sum() / n) if n else float("nan"),
            "population_share": float(pop[cov & m].sum() / p_tot) if p_tot > 0 else float("nan"),
        }
        if dl_mbps is not None and p_tot > 0:
            rec["dl_mbps_p50"] = weighted_percentiles(np.asarray(dl_mbps, dtype=float)[m], pop[m], (50,))["50"]
        out.append(rec)
    return out


def coverage_job(scenario: Scenario, folder: str, png: bool, per_metric: bool,
                 executor: Any = None) -> tuple[dict[str, Any], list[str]]:
    """``qamtu coverage`` of the scenario's one city, outputs written to ``folder``: (KPI record, warnings).

    The site tables are the city's ``existing`` and ``sites`` files of the scenario (evaluated together). With
    ``executor`` (``--dask``) the links are computed and aggregated as one task per row band of engine tiles
    (:func:`qamtu.engine.bands.evaluate_banded`: identical maps; the links stay on the workers, only the bands'
    map rows come back); the study area and the outputs are made here."""
    from qamtu.chain.city import study_area
    from qamtu.engine import evaluate
    from qamtu.engine.bands import evaluate_banded
    from qamtu.geo.catalogue import get_city
    from qamtu.geo.sites import check_sites_near_area, combine_site_tables, project_sites, read_sites
    from qamtu.report.maps import write_coverage_outputs

    city_id = scenario["cities"]["ids"][0]
    files = scenario.city_files(city_id)
    paths = [files[k] for k in ("existing", "sites") if files.get(k)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        area = study_area(get_city(city_id), scenario)
        config = scenario.engine_config()
        tables = []
        for path in paths:
            one = read_sites(path)
            check_sites_near_area(one, area, source=str(path))
            tables.append(one)
        table = project_sites(combine_site_tables(tables, paths), area.crs)
        if executor is None:
            result = evaluate(area, table, config)
        else:
            result = evaluate_banded(area, table, config, executor)
        written = write_coverage_outputs(result, area, folder, sites=table, png=png, per_metric=per_metric,
                                         districts=district_rows(area, result.covered, result.dl_mbps))
    return written["record"], [str(w.message) for w in caught]
