"""Scale-out on Dask, in one run: worker processes for the city stage, and what a sweep saves by sharing.

1. ``national`` on 4 cities (``--cities``) at ``--resolution-m`` with a ``LocalCluster`` of 1 and of 2
   single-threaded worker processes (``--dask local:1`` / ``local:2``): the wall time of the city stage
   (:func:`qamtu.chain.national.plan_cities`) and of the whole run, and the ratio 1 worker / 2 workers. Each cluster
   runs the job once untimed first (worker start, imports, Numba compilation), then ``--repeat`` times; medians.
   On 2 cores expect close to 2x for the city stage; the schedule and search stay on the driver (they query the
   gates on the workers).
2. A sweep of 12 combinations (crews 1,2,3 x RSRP threshold -105,-110 dBm x coverage probability 0.8,0.9)
   against 12 separate national runs of the same combinations, in this process after a warm-up, ``--repeat``
   times (medians of wall and CPU time). The sweep plans 4 city stages (one per threshold and probability) and
   schedules 12 times; the separate runs plan 12 times. Twice: with the scenario's per-class candidate lattice
   (its spacing follows the link budget, so each threshold and probability has its own candidates and its own
   links: only the schedule stage is shared) and with a uniform lattice (``--uniform-spacing-m``): then the 4
   stages of a city share one computation of its coverage links (:mod:`qamtu.plan.linkshare`). Target: >= 3x.
   The separate runs are checked to give the same headline figures as the sweep. Each separate run, and each
   sweep, starts with qamtu's caches of computed values emptied (:func:`cold_caches`), as a process of its own
   would (Numba's compiled kernels and the files read stay warm for both).

Usage::

    .venv/bin/python benchmarks/bench_dask.py [--cities konaev,aktau,taldykorgan,kyzylorda] [--resolution-m 250]
        [--sweep-cities konaev,aktau] [--sweep-resolution-m 500] [--uniform-spacing-m 1000] [--repeat 2]
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
    ap.add_argument("--uniform-spacing-m", type=float, default=1000.0)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-cluster", action="store_true")
    ap.add_argument("--skip-sweep", action="store_true")
    a = ap.parse_args()

    from qamtu.chain.national import run_national

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
    vary = {"crews": [1, 2, 3], "threshold_dbm": [-105, -110], "probability": [0.8, 0.9]}
    base = scenario(a.sweep_cities.split(","), a.sweep_resolution_m)
    run_national(base, sensitivity=False)  # warm-up (Numba)
    uniform = base.with_overrides({"planning.candidate_spacing_m": ("--uniform-spacing-m", a.uniform_spacing_m)})
    for label, sc in (("per-class lattice", base), (f"uniform {a.uniform_spacing_m:g} m lattice", uniform)):
        r = sweep_vs_separate(sc, vary, a.repeat)
        print(f"sweep of {r['n']} combinations ({', '.join(vary)}), {a.sweep_cities} at {a.sweep_resolution_m:g} m, "
              f"{label} (medians of {a.repeat}): {r['city_stages']} city stages, {r['links_reused']} on shared "
              f"links; sweep {r['sweep_s']:.1f} s wall / {r['sweep_cpu_s']:.1f} s CPU, 12 separate runs "
              f"{r['alone_s']:.1f} s / {r['alone_cpu_s']:.1f} s -> {r['alone_s'] / r['sweep_s']:.1f}x wall, "
              f"{r['alone_cpu_s'] / r['sweep_cpu_s']:.1f}x CPU (headline figures identical: {r['same']})")


def cold_caches() -> None:
    """Empty qamtu's in-process caches of computed values (coverage reach, cut-off envelopes, minimum SINR, served
    areas, antenna gain tables), as a separate ``qamtu national`` process starts (files read stay cached)."""
    import qamtu.engine._fast as fast
    import qamtu.engine.criterion as criterion
    import qamtu.engine.links as links
    import qamtu.engine.served as served
    import qamtu.plan.reach as reach

    for module, name in ((reach, "_REACH_CACHE"), (links, "_CUTOFF_CACHE"), (criterion, "_MIN_SINR_CACHE"),
                         (served, "_CACHE"), (fast, "_GAIN_CACHE")):
        getattr(module, name, {}).clear()  # (an older qamtu, run as the baseline, lacks some)


def sweep_vs_separate(base, vary: dict, repeat: int) -> dict:
    """Medians of ``repeat`` timings of the sweep and of the separate runs of its combinations, each started with
    cold caches (:func:`cold_caches`), as separate processes would."""
    from qamtu.report.national import summary_dict
    from qamtu.chain.national import run_national
    from qamtu.sweep import HEADLINE, apply, combinations, headline, run_sweep

    times: dict[str, list[float]] = {"sweep_s": [], "sweep_cpu_s": [], "alone_s": [], "alone_cpu_s": []}
    same = True
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            cold_caches()
            t0, c0 = time.perf_counter(), time.process_time()
            result = run_sweep(base, vary, Path(tmp) / "sweep")
            times["sweep_s"].append(time.perf_counter() - t0)
            times["sweep_cpu_s"].append(time.process_time() - c0)
        alone = []
        t_alone = c_alone = 0.0
        for c in combinations(vary):
            cold_caches()
            t0, c0 = time.perf_counter(), time.process_time()
            report, _ = run_national(apply(base, c), sensitivity=False)
            t_alone += time.perf_counter() - t0
            c_alone += time.process_time() - c0
            alone.append(headline(summary_dict(report)))
        times["alone_s"].append(t_alone)
        times["alone_cpu_s"].append(c_alone)
        same = same and all({k: r[k] for k in HEADLINE} == h for r, h in zip(result.rows, alone))
    out = {k: statistics.median(v) for k, v in times.items()}
    return dict(out, n=len(result.rows), city_stages=result.city_stages, links_reused=result.links_reused, same=same)


if __name__ == "__main__":
    main()
