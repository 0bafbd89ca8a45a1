"""One city's links as several units of work: row bands of the engine's tiles.

:func:`qamtu.engine.links.compute_links` cuts the grid into square tiles of ``isqrt(config.chunk_pixels)`` pixels
and evaluates them in row-major order. A *band* is a run of whole tile rows (``compute_links(..., rows=(r0, r1))``);
:func:`compute_links_banded` runs one band per task on an executor (:mod:`qamtu.distributed`; this module never
imports Dask) and concatenates the bands' links in band order, which is the tile order of the single run.

Why the result is identical (bit for bit) to ``compute_links(area, sites, config)``:

* the cut-off (search radius per environment class and relevance floor) is derived ONCE here, from every
  environment class inside the whole mask, and handed to every band (a band alone could hold fewer classes and
  would get a smaller envelope);
* a tile's links depend only on its pixels, the sectors and the cut-off, never on the other tiles;
* the bands touch disjoint pixels, so their residual arrays (zero outside the band) add exactly (``x + 0.0 == x``).

:func:`qamtu.engine.aggregate.aggregate` is per pixel (best server, total interference, SINR, rates, coverage all
use only that pixel's links and residual), and a pixel's links are all in its band, so :func:`evaluate_banded`
aggregates each band where its links were computed and the driver gathers only the band's rows of the per-pixel
maps (~25 float maps, ~100 bytes per pixel, instead of ~32 bytes per link x ~40 links per pixel); the links never leave the
worker. :func:`compute_links_banded` gathers the links instead (for callers that need them).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from qamtu.engine.aggregate import CoverageResult, aggregate
from qamtu.engine.config import EngineConfig
from qamtu.engine.links import Links, compute_links, link_budget_envelope, prepare_sectors


def band_rows(shape: tuple[int, int], config: EngineConfig, n_bands: int) -> list[tuple[int, int]]:
    """At most ``n_bands`` row ranges ``[r0, r1)`` of whole tile rows covering the grid, as even as possible."""
    rows = int(shape[0])
    tile = max(1, int(math.isqrt(int(config.chunk_pixels))))
    tile_rows = max(1, -(-rows // tile))
    n = max(1, min(int(n_bands), tile_rows))
    edges = [round(i * tile_rows / n) for i in range(n + 1)]
    return [(a * tile, min(rows, b * tile)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def band_links(area: Any, sectors: Any, config: EngineConfig, cutoff: Any, rows: tuple[int, int]) -> Links:
    """The links of one band (a module-level function: the task a worker runs)."""
    return compute_links(area, sectors, config, cutoff=cutoff, rows=rows)


#: The per-pixel maps of :class:`qamtu.engine.aggregate.CoverageResult` (besides the dicts ``extra`` and
#: ``probabilities``, whose maps are gathered the same way).
MAPS = ("rsrp_dbm", "coverage_probability", "sinr_db", "dl_mbps", "ul_mbps", "best_server", "covered",
        "ssb_sinr_db")
_DICTS = ("extra", "probabilities")


def band_maps(area: Any, sectors: Any, config: EngineConfig, cutoff: Any, rows: tuple[int, int],
              agg_config: EngineConfig) -> dict[str, Any]:
    """One band's links aggregated where they are computed: the band's rows of each map (a worker's task)."""
    result = aggregate(area, band_links(area, sectors, config, cutoff, rows), agg_config)
    out: dict[str, Any] = {name: getattr(result, name)[rows[0]:rows[1]].copy() for name in MAPS}
    for name in _DICTS:
        out[name] = {k: v[rows[0]:rows[1]].copy() for k, v in getattr(result, name).items()}
    out["cutoff_m"] = result.cutoff_m
    return out


def _plan(area: Any, sites: Any, config: EngineConfig | None, ex: Any, n_bands: int | None):
    """(config, sectors, cut-off, bands, per-task config), or None when there is nothing to split."""
    from qamtu.distributed import SequentialExecutor

    config = EngineConfig() if config is None else config
    sectors = prepare_sectors(sites, getattr(area, "crs", None))
    mask = np.asarray(area.mask, dtype=bool)
    if len(sectors) == 0 or not mask.any():
        return None
    env = np.asarray(area.env_class)
    cutoff = link_budget_envelope(sectors, config, np.unique(env[mask]))  # the whole area's classes, once
    bands = band_rows(mask.shape, config, default_bands(ex) if n_bands is None else n_bands)
    task_config = config if isinstance(ex, SequentialExecutor) else config.replace(workers=1)
    return config, sectors, cutoff, bands, task_config


def evaluate_banded(area: Any, sites: Any, config: EngineConfig | None = None, executor: Any = None, *,
                    n_bands: int | None = None, progress: Any = None) -> CoverageResult:
    """``evaluate(area, sites, config)`` as one task per band (links computed AND aggregated there); identical maps.

    The driver receives each band's rows of the per-pixel maps only. Parameters as :func:`compute_links_banded`.
    """
    from qamtu.distributed import SequentialExecutor
    from qamtu.engine.aggregate import evaluate

    ex = executor if executor is not None else SequentialExecutor()
    plan = _plan(area, sites, config, ex, n_bands)
    if plan is None:
        return evaluate(area, sites, config)
    config, sectors, cutoff, bands, task_config = plan
    parts = ex.map(band_maps, [(area, sectors, task_config, cutoff, b, config) for b in bands],
                   labels=[f"rows {a}-{b}" for a, b in bands], progress=progress)
    maps: dict[str, Any] = {name: np.concatenate([p[name] for p in parts]) for name in MAPS}
    for name in _DICTS:
        maps[name] = {k: np.concatenate([p[name][k] for p in parts]) for k in parts[0][name]}
    return CoverageResult(area=area, config=config, active=np.ones(len(sectors), dtype=bool),
                          site_ids=np.asarray(sectors.site_id), cutoff_m=parts[0]["cutoff_m"], **maps)


def merge_bands(parts: list[Links], config: EngineConfig) -> Links:
    """Concatenate band links (in band order) into the city's :class:`Links`; residuals (means, variances) are summed.

    Every per-link array of :attr:`Links.ARRAYS` is carried (issue 11's per-link distribution fields ``p_los``,
    ``los_gain_db``, ``sf_los_db``, ``sf_nlos_db`` included), so the merged links are those of the single run.
    """
    first = parts[0]
    arrays = {}
    for k in Links.ARRAYS:
        vals = [getattr(p, k) for p in parts]
        arrays[k] = None if any(v is None for v in vals) else np.concatenate(vals)
    residual = np.zeros_like(first.residual_mw)
    for p in parts:
        residual += p.residual_mw
    extra = {}
    for name in ("residual_var_mw2", "residual_rsrp_mw"):
        extra[name] = None
        if all(getattr(p, name) is not None for p in parts):
            extra[name] = np.sum([getattr(p, name) for p in parts], axis=0)
    return dataclasses.replace(first, config=config, residual_mw=residual, **extra, **arrays)


def default_bands(executor: Any) -> int:
    """Two bands per worker thread of a Dask executor (some slack for uneven bands); 1 when run here."""
    client = getattr(executor, "client", None)
    if client is None:
        return 1
    workers = client.scheduler_info().get("workers", {})
    return max(1, 2 * sum(int(w.get("nthreads", 1)) for w in workers.values()))


def compute_links_banded(area: Any, sites: Any, config: EngineConfig | None = None, executor: Any = None, *,
                         n_bands: int | None = None, progress: Any = None) -> Links:
    """``compute_links(area, sites, config)`` computed as one task per band on ``executor``; identical result.

    Parameters
    ----------
    executor : qamtu.distributed executor, optional
        Default: here, in order. On a Dask cluster every band task runs with ``config.workers = 1`` (one engine
        thread per worker thread); the returned links carry ``config`` as given.
    n_bands : int, optional
        Default :func:`default_bands`.
    progress : callable(done, total, label), optional
        Called as bands finish.
    """
    from qamtu.distributed import SequentialExecutor

    ex = executor if executor is not None else SequentialExecutor()
    plan = _plan(area, sites, config, ex, n_bands)
    if plan is None:
        return compute_links(area, sites, config)
    config, sectors, cutoff, bands, task_config = plan
    parts = ex.map(band_links, [(area, sectors, task_config, cutoff, b) for b in bands],
                   labels=[f"rows {a}-{b}" for a, b in bands], progress=progress)
    return merge_bands(parts, config)
