"""Tiles of one city as units of work: what the driver gathers with ``evaluate_banded`` against the links.

Baseline: the single run's links (what a driver would hold if it gathered them, 32 B per link + the residual).
Measured: the pickled band results of :func:`qamtu.engine.bands.band_maps` (each band's rows of the 7 per-pixel
maps), run here one band after the other (SequentialExecutor semantics); and what every band task is sent (the
study area and the sector table, pickled). The maps are checked equal to the single run's. Prints the ratio.

Usage::

    PYTHONPATH=src python benchmarks/bench_bands.py [--city konaev] [--resolution-m 100] [--isd-m 1000] [--bands 4]
"""

from __future__ import annotations

import argparse
import pickle

import numpy as np

from qamtu.distributed import SequentialExecutor
from qamtu.engine import EngineConfig, aggregate, compute_links
from qamtu.engine.bands import MAPS, _plan, band_maps
from qamtu.geo.area import make_study_area
from qamtu.geo.layout import hex_layout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--city", default="konaev")
    ap.add_argument("--resolution-m", type=float, default=100.0)
    ap.add_argument("--isd-m", type=float, default=1000.0)
    ap.add_argument("--bands", type=int, default=4)
    args = ap.parse_args()
    area = make_study_area(args.city, resolution_m=args.resolution_m)
    sites = hex_layout(area, isd_m=args.isd_m)
    cfg = EngineConfig()
    links = compute_links(area, sites, cfg)
    ref = aggregate(area, links, cfg)
    config, sectors, cutoff, bands, task_config = _plan(area, sites, cfg, SequentialExecutor(), args.bands)
    parts = [band_maps(area, sectors, task_config, cutoff, b, config) for b in bands]
    for name in MAPS:
        np.testing.assert_array_equal(np.concatenate([p[name] for p in parts]), getattr(ref, name), err_msg=name)
    link_bytes = links.nbytes + links.residual_mw.nbytes
    gathered = sum(len(pickle.dumps(p)) for p in parts)
    print(f"{args.city} at {args.resolution_m:g} m: grid {area.shape}, {int(area.mask.sum())} pixels in the mask, "
          f"{len(sectors)} sectors, {links.n_links} links, {len(bands)} bands {bands}")
    print(f"links (baseline, stay on the workers): {link_bytes / 1e6:.2f} MB; "
          f"gathered map rows: {gathered / 1e6:.3f} MB; ratio {link_bytes / gathered:.1f}x less gathered (maps equal to the single run)")
    print(f"sent to every band task: area {len(pickle.dumps(area)) / 1e6:.3f} MB, "
          f"sectors {len(pickle.dumps(sectors)) / 1e6:.3f} MB")


if __name__ == "__main__":
    main()
