"""Benchmark: the minimum-crews search of the rollout, with the engine as the gate.

Baseline: a linear scan over the crew counts in which every schedule re-evaluates its gates with the engine
(no memo). Candidate: ``qamtu.rollout.minimum_crews`` (bisection, verified by scanning below the answer, with the
gate evaluations memoised across schedules by ``cached_gate``). Both must return the same minimum. Prints the
median of ``--repeat`` runs of each and their ratio, on the same machine in the same process.

    .venv/bin/python benchmarks/bench_national.py [--cities konaev,aktau] [--resolution-m 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import time
import warnings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cities", default="konaev,kokshetau,zhezkazgan,turkistan")
    ap.add_argument("--resolution-m", type=float, default=500.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")

    from qamtu.geo.catalogue import get_city
    from qamtu.chain.national import plan_one_city
    from qamtu.rollout import ScheduleParams, minimum_crews, schedule_rollout
    from qamtu.chain.scenario import validate_scenario

    sc = validate_scenario({"targets": {"regional": {"territory_share": 0.1}},
                            "planning": {"candidate_spacing_m": 2000.0}}, source="benchmark",
                           preset="national-fast")
    config = sc.engine_config()
    runs = [plan_one_city(get_city(c), sc, args.resolution_m, config) for c in args.cities.split(",")]
    runs = [r for r in runs if r.gate is not None and r.tasks and r.plan.targets_met]  # feasible cities only
    if not runs:
        raise SystemExit("no city's plan meets the benchmark target; choose other --cities")
    gates = {r.city.id: r.gate for r in runs}
    tasks = [t for r in runs for t in r.tasks]
    calls = [0]

    def gate(city, on_air):
        calls[0] += 1
        return gates[city](city, on_air)

    params = ScheduleParams(start=dt.date(2024, 1, 1), crews={"national": 1}, sites_per_crew_month=1.0)
    deadline = dt.date(2025, 12, 31)
    hi = max(1, len(tasks))

    def baseline():
        for n in range(1, hi + 1):
            if schedule_rollout(tasks, dataclasses.replace(params, crews={"national": n}), gate).all_pass_by(deadline):
                return n
        return None

    def candidate():
        return minimum_crews(tasks, params, gate, deadline, max_crews=hi)[0].value

    results = {}
    for name, fn in (("baseline (linear scan, no memo)", baseline), ("minimum_crews (bisect+verify, memo)", candidate)):
        times, answer = [], None
        for _ in range(args.repeat):
            calls[0] = 0
            t0 = time.perf_counter()
            answer = fn()
            times.append(time.perf_counter() - t0)
        results[name] = (statistics.median(times), answer, calls[0])
    print(f"cities {','.join(gates)} at {args.resolution_m:g} m: {len(tasks)} sites, crews searched 1..{hi}")
    for name, (med, answer, n_calls) in results.items():
        print(f"{name:40s} median {med:8.3f} s   minimum crews {answer}   engine gate calls {n_calls}")
    (b, ab, _), (c, ac, _) = results.values()
    assert ab == ac, f"the two searches disagree: {ab} vs {ac}"
    print(f"ratio baseline / candidate: {b / c:.1f}x")


if __name__ == "__main__":
    main()
