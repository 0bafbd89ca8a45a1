"""qamtu.report: maps, figures and pages made from the engine's results (matplotlib with the Agg backend,
imported inside the functions that draw; every file written atomically).

Modules
-------
:mod:`qamtu.report.maps`
    Per-city coverage outputs: ``write_geotiffs(result, area, out_dir, per_metric=False)`` (multi-band float32
    GeoTIFF ``coverage.tif`` with CRS, transform, band names and units, NaN outside the boundary),
    ``plot_metric_png(result, area, metric, path, sites=None)`` (city outline, sites, colour bar, title with units
    and "approximate boundary" when so), ``kpi_record`` / ``flatten_kpis`` / ``write_kpis`` (``kpis.json`` with
    ``city``, ``territory_share``, ``population_share``, ``population_total``, ``area_km2``, ``sectors``,
    ``dl_mbps_percentiles`` and ``assumptions``; ``kpis.csv``), ``write_coverage_outputs`` (all of them),
    ``read_geotiff_band``, ``METRICS``.
Other modules (national report figures, offline web maps, translations) document their own API in their module
docstrings.

``import qamtu.report`` imports nothing heavy: import the module you need.
"""
