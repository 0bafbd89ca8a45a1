"""Benchmark of the TR 38.901 Table 7.8-1 calibration: 20 drops of 912 users (16 per sector), time and memory.

For scale, the issue quotes an established open-source implementation of the same calibration at about
7 minutes and 9 GB on this machine, almost all of it spent generating spatially correlated large-scale
parameters, which the marginal CDFs of the calibration do not need (qamtu draws them per link, independently).

Usage::

    .venv/bin/python benchmarks/bench_calibration.py [--repeat 3] [--drops 20]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc


def main(argv=None) -> int:
    from qamtu.engine.calibration3gpp import run_calibration

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--drops", type=int, default=20)
    args = ap.parse_args(argv)
    for scenario in ("uma", "umi"):
        for freq_ghz in (6.0, 30.0):
            times = []
            for rep in range(args.repeat):
                t0 = time.perf_counter()
                res = run_calibration(scenario, freq_ghz * 1e9, drops=args.drops, seed=rep)
                times.append(time.perf_counter() - t0)
            tracemalloc.start()
            run_calibration(scenario, freq_ghz * 1e9, drops=args.drops, seed=0)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            cl, sinr = res["coupling_loss_db"], res["geometry_sinr_db"]
            print(f"{scenario.upper()} {freq_ghz:g} GHz, {args.drops} drops x 912 users: median "
                  f"{statistics.median(times):.2f} s over {args.repeat} runs, peak traced memory "
                  f"{peak / 2**20:.0f} MiB; coupling loss 5/50/95 % {cl['5']:.1f}/{cl['50']:.1f}/{cl['95']:.1f} dB, "
                  f"SINR 5/50/95 % {sinr['5']:.1f}/{sinr['50']:.1f}/{sinr['95']:.1f} dB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
