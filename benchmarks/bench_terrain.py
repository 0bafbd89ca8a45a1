"""Benchmark of terrain in the engine, in one process (issue 12's targets; medians of ``--repeat`` runs).

1. **Engine with terrain against flat**: Almaty (its real polygon) on the labelled reference layout
   (:func:`qamtu.geo.layout.hex_layout` defaults), ``evaluate`` with the shipped SRTM3 DEM (profile of every
   evaluated link + delta-Bullington, :mod:`qamtu.engine.terrain`) against the same area and layout flat.
   Target: terrain <= 3 x the flat time. Default 25 m (``--resolution-m``).
2. **Profile extraction + delta-Bullington**: :func:`qamtu.engine.terrain.profile_kernel` on random links over
   the Almaty DEM, 100-point profiles (bilinear sampling + the full delta-Bullington on each), single-threaded.
   Target: >= 1 M links/s per core. The rate is also given for the engine's own kernel (``terrain_kernel``: two
   delta-Bullingtons per link, actual and ground plane, with the early exit for profiles below the ground line).

Usage::

    .venv/bin/python benchmarks/bench_terrain.py [--resolution-m 25] [--repeat 3] [--links 200000]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np


def _median_time(fn, repeat, clock=time.perf_counter):
    times = []
    out = None
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        times.append(clock() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolution-m", type=float, default=25.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--links", type=int, default=200_000)
    ap.add_argument("--skip-engine", action="store_true")
    args = ap.parse_args()

    from qamtu.engine import EngineConfig, evaluate
    from qamtu.engine.terrain import TerrainHook, profile_kernel, terrain_kernel
    from qamtu.geo.area import make_study_area
    from qamtu.geo.layout import hex_layout

    area = make_study_area("almaty", resolution_m=args.resolution_m)
    flat = dataclasses.replace(area, terrain=None, ground_m=None)
    sites = hex_layout(area)
    config = EngineConfig()
    print(f"Almaty at {args.resolution_m:g} m: {int(area.mask.sum()):,} pixels, {len(sites)} sectors; "
          f"terrain {area.terrain_source} ({area.terrain.resolution_m:g} m grid)")

    # 2. kernel rates (compile first)
    t = area.terrain
    rng = np.random.default_rng(0)
    left, bottom, right, top = area.bounds
    n = args.links
    xa, ya = rng.uniform(left, right, n), rng.uniform(bottom, top, n)
    ang = rng.uniform(0, 2 * np.pi, n)
    dist = rng.uniform(200.0, 5000.0, n)
    xb, yb = xa + dist * np.cos(ang), ya + dist * np.sin(ang)
    z = np.ascontiguousarray(t.height_m)
    x0, y0, res = float(t.transform.c), float(t.transform.f), float(t.transform.a)
    profile_kernel(xa[:10], ya[:10], xb[:10], yb[:10], z, x0, y0, res, 100, 30.0, 1.5, 3.65, 8495.0, False)
    # single-threaded kernels: CPU time of the process = time on one core (wall time on a busy machine is longer)
    secs, ld = _median_time(
        lambda: profile_kernel(xa, ya, xb, yb, z, x0, y0, res, 100, 30.0, 1.5, 3.65, 8495.0, False), args.repeat,
        time.process_time)
    print(f"profile + delta-Bullington, 100-point profiles: {n / secs / 1e6:.2f} M links/s per core (CPU time; "
          f"median of {args.repeat}; target >= 1 M links/s); mean Ld {float(np.mean(ld)):.1f} dB")
    hook = TerrainHook(area, _sectors(sites, area), config)
    pix = rng.integers(0, area.mask.size, n)
    sec = rng.integers(0, len(hook.s_x), n)
    xs, ys = area.pixel_centres()
    px, py = xs.ravel()[pix], ys.ravel()[pix]
    hook(px[:10], py[:10], pix[:10], sec[:10])
    secs_h, (loss, nlos, _) = _median_time(lambda: hook(px, py, pix, sec), args.repeat, time.process_time)
    print(f"engine terrain kernel (profile at the DEM spacing, actual + ground-plane delta-Bullington): "
          f"{n / secs_h / 1e6:.2f} M links/s per core (CPU time); {nlos.mean():.1%} of these random links obstructed")

    if args.skip_engine:
        return
    # 1. engine with terrain against flat (JIT warm-up on a coarse grid first)
    coarse = make_study_area("almaty", resolution_m=1000.0)
    evaluate(coarse, sites, config)
    evaluate(dataclasses.replace(coarse, terrain=None, ground_m=None), sites, config)
    t_flat, r_flat = _median_time(lambda: evaluate(flat, sites, config), args.repeat)
    t_dem, r_dem = _median_time(lambda: evaluate(area, sites, config), args.repeat)
    kf, kd = r_flat.kpis(), r_dem.kpis()
    print(f"evaluate flat: {t_flat:.1f} s; with the DEM: {t_dem:.1f} s; ratio {t_dem / t_flat:.2f} "
          f"(median of {args.repeat}; target <= 3)")
    print(f"  territory covered: flat {kf['territory_share']:.1%}, terrain {kd['territory_share']:.1%}; "
          f"population: flat {kf['population_share']:.1%}, terrain {kd['population_share']:.1%}")


def _sectors(sites, area):
    from qamtu.engine.links import prepare_sectors

    return prepare_sectors(sites, area.crs)


if __name__ == "__main__":
    main()
