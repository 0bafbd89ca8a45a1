"""Scale-out on Dask, in one run: worker processes for the city stage, and what a sweep saves by sharing.

1. ``national`` on 4 cities (``--cities``) at ``--resolution-m`` with a ``LocalCluster`` of 1 and of 2
   single-threaded worker processes (``--dask local:1`` / ``local:2``): the wall time of the city stage
   (:func:`qamtu.chain.national.plan_cities`) and of the whole run, and the ratio 1 worker / 2 workers. Each cluster
   runs the job once untimed first (worker start, imports, Numba compilation), then ``--repeat`` times; medians.
   On 2 cores expect close to 2x for the city stage; the schedule and search stay on the driver (they query the
   gates on the workers).
2. A sweep of 12 combinations (crews 1,2,3 x build rate 1,2 x load 0.5,0.9) against 12 separate national runs of
   the same combinations, both in this process after a warm-up: the sweep plans 2 city stages (one per load; the
   second on the first's links) and schedules 12 times; the separate runs plan 12 times. Target: >= 3x. The
   separate runs are checked to give the same headline figures as the sweep.

Usage::

    .venv/bin/python benchmarks/bench_dask.py [--cities konaev,aktau,taldykorgan,kyzylorda] [--resolution-m 250]
        [--sweep-cities konaev,aktau] [--sweep-resolution-m 500] [--repeat 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def scenario(cities: list[str], resolution_m: float):
    from qamtu.chain.scenario import load_scenario

    sc = load_scenario(None, preset="national-fast")
    return sc.with_overrides({"cities.ids": ("--cities", cities), "crews.count": ("--crews", 2),
                              "planning.resolution_m": ("--resolution-m", resolution_m)})


def national_on(address: str, sc, repeat: int) -> tuple[float, float, dict]:
    from qamtu.distributed import open_executor
    from qamtu.report.national import summary_dict
    from qamtu.chain.national import plan_cities, run_national

    stage, total = [], []
    with open_executor(address) as ex:
        run_national(sc, executor=ex, sensitivity=False)  # warm-up: worker imports and Numba compilation
        for _ in range(repeat):
            t0 = time.perf_counter()
            planned = plan_cities(sc, executor=ex)
            t1 = time.perf_counter()
            report, _ = run_national(sc, planned=planned, sensitivity=False)
            t2 = time.perf_counter()
            planned.release()
            stage.append(t1 - t0)
            total.append(t2 - t0)
    return statistics.median(stage), statistics.median(total), summary_dict(report)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cities", default="konaev,aktau,taldykorgan,kyzylorda")
    ap.add_argument("--resolution-m", type=float, default=250.0)
    ap.add_argument("--sweep-cities", default="konaev,aktau")
    ap.add_argument("--sweep-resolution-m", type=float, default=500.0)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-cluster", action="store_true")
    ap.add_argument("--skip-sweep", action="store_true")
    a = ap.parse_args()

    from qamtu.report.national import summary_dict
    from qamtu.chain.national import run_national
    from qamtu.sweep import apply, combinations, headline, run_sweep

    if not a.skip_cluster:
        sc = scenario(a.cities.split(","), a.resolution_m)
        s1, t1, sum1 = national_on("local:1", sc, a.repeat)
        s2, t2, sum2 = national_on("local:2", sc, a.repeat)
        assert sum1 == sum2, "1 and 2 workers gave different summaries"
        print(f"national, {a.cities} at {a.resolution_m:g} m (medians of {a.repeat}):")
        print(f"  city stage: 1 worker {s1:.2f} s, 2 workers {s2:.2f} s -> {s1 / s2:.2f}x")
        print(f"  whole run:  1 worker {t1:.2f} s, 2 workers {t2:.2f} s -> {t1 / t2:.2f}x (same summary)")

    if a.skip_sweep:
        return
    vary = {"crews": [1, 2, 3], "sites_per_crew_month": [1, 2], "load": [0.5, 0.9]}
    base = scenario(a.sweep_cities.split(","), a.sweep_resolution_m)
    run_national(base, sensitivity=False)  # warm-up (Numba)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = run_sweep(base, vary, Path(tmp) / "sweep")
        t_sweep = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = []
    for c in combinations(vary):
        report, _ = run_national(apply(base, c), sensitivity=False)
        alone.append(headline(summary_dict(report)))
    t_alone = time.perf_counter() - t0
    same = all(dict((k, r[k]) for k in h) == h for r, h in zip(result.rows, alone))
    print(f"sweep of {len(result.rows)} combinations ({', '.join(vary)}), {a.sweep_cities} at "
          f"{a.sweep_resolution_m:g} m: {t_sweep:.1f} s ({result.city_stages} city stages, {result.links_reused} on "
          f"reused links); 12 separate runs: {t_alone:.1f} s -> {t_alone / t_sweep:.1f}x "
          f"(headline figures identical: {same})")


if __name__ == "__main__":
    main()
