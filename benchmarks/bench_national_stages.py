"""Benchmark: ``qamtu national``'s run, stage by stage, against the territory-only run of before issue 13.

Candidate: the scenario's defaults (people first, capacity, one candidate lattice per environment class).
Both run once untimed on Konaev first (Numba compilation, reach cache). Baseline, in the same process: the same
cities with the pre-issue-13 planning (territory target only, no capacity stage, one uniform 700 m lattice). Prints per run the wall time of each stage (plan, schedule, search), the plan's
per-city breakdown (coverage links, optimiser, engine checks, capacity), total sites (for coverage / for capacity),
people vs territory shares, the minimum crews for both deadlines, the main assumptions, and the time ratio.

    .venv/bin/python benchmarks/bench_national_stages.py [--cities all|id,id,...] [--resolution-m 250]

``--cities all`` is the 20-city national default (a few minutes on a 2-core machine; the target is <= 5 min).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import defaultdict


def _run(raw: dict, cities, resolution_m):
    from qamtu.chain.national import run_national
    from qamtu.chain.scenario import validate_scenario

    sc = validate_scenario(raw, source="benchmark", preset="national-fast")  # the national job's settings
    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(stage, done, total, detail=""):
        now = time.perf_counter() - t0
        marks.setdefault(stage + ":start", now)
        marks[stage + ":end"] = now

    report, runs = run_national(sc, city_ids=cities, resolution_m=resolution_m, progress=progress)
    total = time.perf_counter() - t0
    stages = {s: marks[s + ":end"] - marks[s + ":start"] for s in ("plan", "schedule", "search") if s + ":end" in marks}
    parts = defaultdict(float)
    sites = cov = cap = below = 0
    for r in runs.values():
        if r.plan is None:
            continue
        s = r.plan.summary
        for k, v in s["timings_s"].items():
            parts[k] += v
        sites += s["sites_selected"]
        cov += s.get("sites_for_coverage", s["sites_selected"])
        cap += s.get("sites_for_capacity", 0)
        below += s["population_share"] < s["territory_share"]
    return {"total": total, "stages": stages, "parts": dict(parts), "sites": sites, "coverage_sites": cov,
            "capacity_sites": cap, "people_below_territory": below, "cities": len(runs),
            "crews": [(c["deadline"], c["minimum"]) for c in report.comparison], "scenario": sc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cities", default="konaev,taldykorgan,pavlodar,kokshetau")
    ap.add_argument("--resolution-m", type=float, default=None)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    cities = None if args.cities == "all" else args.cities.split(",")
    runs = {"candidate (defaults: people first, capacity, env-class lattice)": {}}
    if not args.no_baseline:
        runs["baseline (territory only, no capacity, 700 m lattice)"] = {
            "planning": {"people_first": False, "candidate_spacing_m": 700.0, "capacity": {"enabled": False}}}
    for raw in runs.values():  # warm-up, untimed: Numba compilation and the per-class reach cache
        _run(raw, ["konaev"], 500.0)
    out = {}
    for name, raw in runs.items():
        r = _run(raw, cities, args.resolution_m)
        out[name] = r
        pl = r["scenario"]["planning"]
        print(f"== {name}")
        print(f"   cities {r['cities']}, resolution {args.resolution_m or pl['resolution_m']:g} m, method "
              f"{pl['method']}, people_first {pl['people_first']}, lattice "
              f"{pl['candidate_spacing_m'] or 'by environment class'}, capacity {pl['capacity']}")
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in r["stages"].items())
        print(f"   stages: {stages}; total {r['total']:.1f} s")
        print("   plan parts (sum over cities): " + ", ".join(f"{k} {v:.1f} s" for k, v in r["parts"].items()))
        print(f"   sites {r['sites']} ({r['coverage_sites']} for coverage, {r['capacity_sites']} for capacity); "
              f"cities with people share < territory share: {r['people_below_territory']}; minimum crews "
              + ", ".join(f"{d}: {m}" for d, m in r["crews"]))
    if len(out) == 2:
        (_, c), (_, b) = out.items()
        print(f"time ratio candidate / baseline: {c['total'] / b['total']:.2f}x")


if __name__ == "__main__":
    main()
