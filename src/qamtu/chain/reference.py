"""``qamtu reference-run``: every city with the hexagonal reference layout, per-city outputs and a national table.

:func:`run_reference` evaluates each city's reference layout (:func:`qamtu.geo.layout.hex_layout`) with the
engine and hands the results to :func:`qamtu.report.maps.write_coverage_outputs` to be written.
"""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import Any, Callable

from qamtu.chain.scenario import Scenario
from qamtu.fileio import write_csv_atomic, write_json_atomic
from qamtu.report.maps import write_coverage_outputs, write_kpis

def reference_city(city: Any, out: Path, resolution_m: float, config: Any, png: bool,
                   on_engine: Callable[[int, int], None] | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """One city of :func:`run_reference`, written to ``out/<city>``: ``(KPI record, None)`` or ``(None, error)``."""
    from qamtu.chain.coverage import district_rows
    from qamtu.engine import evaluate
    from qamtu.errors import QamtuError
    from qamtu.geo.area import make_study_area
    from qamtu.geo.layout import hex_layout

    try:
        area = make_study_area(city, resolution_m=resolution_m)
        layout = hex_layout(area)
        result = evaluate(area, layout, config, progress=on_engine)
        city_dir = Path(out) / city.id
        written = write_coverage_outputs(result, area, city_dir, sites=layout, png=png,
                                         districts=district_rows(area, result.covered, result.dl_mbps))
        write_csv_atomic(city_dir / "reference_sites.csv", layout)
    except QamtuError as exc:
        return None, str(exc)
    return written["record"], None


def run_reference(
    cities: list[Any],
    out_dir: str | Path,
    scenario: Scenario,
    on_city: Callable[[Any, int], None] | None = None,
    on_engine: Callable[[int, int], None] | None = None,
    executor: Any = None,
) -> dict[str, Any]:
    """Run every city with the reference layout; write per-city outputs and the national KPI table.

    This is what ``qamtu reference-run`` runs, on the scenario's grid (``planning.resolution_m``) with its engine
    settings (:meth:`Scenario.engine_config`); PNG maps when ``report.png``. Per city ``<out>/<city>/``:
    ``coverage.tif``, PNG maps, ``kpis.json``, ``kpis.csv``, ``reference_sites.csv`` (the layout, reusable with
    ``qamtu coverage --sites``). In ``<out>``: ``kpis_national.csv`` / ``kpis_national.json`` (one record per city)
    and ``reference_run.json`` (what ran). A city that fails is recorded with its error and the others go on.
    ``executor`` (:func:`qamtu.distributed.open_executor`) runs one task per city (:func:`reference_city`).

    Returns
    -------
    dict with ``records`` (list of KPI records), ``failed`` (city id -> message), ``paths``, ``seconds``.
    """
    from qamtu.distributed import SequentialExecutor
    from qamtu.geo.layout import REFERENCE_LAYOUT_LABEL

    resolution_m = float(scenario["planning"]["resolution_m"])
    config = scenario.engine_config()
    png = bool(scenario["report"]["png"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    t0 = time.perf_counter()
    ex = executor if executor is not None else SequentialExecutor()
    here = isinstance(ex, SequentialExecutor)  # the per-tile progress callback cannot travel to a worker

    def tick(k: int, n: int, label: str) -> None:
        if on_city is not None and k < n:
            on_city(cities[k], k)

    # one task per city; each writes its own folder, the driver gathers the KPI records
    done = ex.map(reference_city, [(city, out, resolution_m, config, png, on_engine if here else None)
                                   for city in cities], labels=[c.id for c in cities], progress=tick)
    for city, (record, error) in zip(cities, done):
        if error is None:
            records.append(record)
        else:
            failed[city.id] = error
    seconds = time.perf_counter() - t0
    paths = write_kpis(records, out, stem="kpis_national") if records else {}
    write_json_atomic(
        out / "reference_run.json",
        {
            "what": REFERENCE_LAYOUT_LABEL,
            "cities": [c.id for c in cities],
            "resolution_m": resolution_m,
            "engine_config": {k: getattr(config, k) for k in ("freq_hz", "bandwidth_hz", "rsrp_threshold_dbm",
                                                                "coverage_level", "cell_load", "min_dl_mbps")},
            "failed": failed,
            "seconds": round(seconds, 1),
            "finished_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        },
    )
    return {"records": records, "failed": failed, "paths": paths, "seconds": seconds}
