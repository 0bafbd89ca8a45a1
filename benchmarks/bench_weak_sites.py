"""Benchmark of the weak sites stored per pixel (``EngineConfig.cutoff_weak_sites``): what they cost and what they
buy, against the residual alone (``cutoff_weak_sites=0``) and against a higher relevance margin, in one process.

A city on its reference layout (:func:`qamtu.geo.layout.hex_layout`) or a site table (``--sites``, e.g. a plan's
``planned_sectors.csv``), served-area beams and UL from the neighbours' users (the served options, or
``--scenario``'s engine section). For each variant (relevance margin, weak sites stored): the links stored,
``compute_links`` CPU (warm), ``aggregate`` CPU (covered-only and full maps, ``--repeats`` times, interleaved), the
KPI shares (outdoor and indoor, territory and population) and the per-pixel P(DL outdoor) p99 difference against
the last variant (the converged reference, 60 dB). Prints each cost as a ratio to the first variant (the residual
alone at 30 dB). Run with ``NUMBA_NUM_THREADS=1`` for stable CPU times.

Usage::

    .venv/bin/python benchmarks/bench_weak_sites.py [--city taraz] [--resolution-m 100] [--repeats 3] \\
        [--variants 30:0,30:4,30:8,40:0,60:8]
    .venv/bin/python benchmarks/bench_weak_sites.py --city astana --resolution-m 250 \\
        --sites out/cities/astana/planned_sectors.csv --scenario served.yaml
"""

from __future__ import annotations

import argparse
import time

import numpy as np

#: (relevance margin dB, weak sites stored) per variant; the first is the baseline, the last the reference
VARIANTS = "30:0,30:4,30:8,40:0,60:8"


def _shares(kpis) -> list[float]:
    indoor = kpis["user_classes"]["indoor"]
    return [kpis["territory_share"], kpis["population_share"], indoor["territory_share"],
            indoor["population_share"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--city", default="taraz")
    parser.add_argument("--resolution-m", type=float, default=100.0)
    parser.add_argument("--sites", default=None, help="site table (default: the city's hex reference layout)")
    parser.add_argument("--scenario", default=None, help="scenario file (its engine section; default served)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", default=VARIANTS, help=f"margin:weak_sites,... (default {VARIANTS})")
    args = parser.parse_args()
    variants = [(float(m), int(k)) for m, k in (v.split(":") for v in args.variants.split(","))]

    from qamtu.engine import EngineConfig, aggregate, compute_links

    if args.scenario:
        from qamtu.chain.city import study_area
        from qamtu.chain.scenario import load_scenario
        from qamtu.geo.catalogue import get_city

        scenario = load_scenario(args.scenario)
        area = study_area(get_city(args.city), scenario, args.resolution_m)
        base = scenario.engine_config()
    else:
        from qamtu.geo import make_study_area

        area = make_study_area(args.city, args.resolution_m)
        base = EngineConfig(interference_beams="served", ul_interference="neighbours")
    if args.sites:
        from qamtu.geo.sites import combine_site_tables, project_sites, read_sites

        sites = project_sites(combine_site_tables([read_sites(args.sites)], [args.sites]), area.crs)
    else:
        from qamtu.geo.layout import hex_layout

        sites = hex_layout(area)
    links, cfgs, t_links = {}, {}, {}
    for margin, weak in variants:
        cfg = base.replace(cutoff_margin_db=margin, cutoff_weak_sites=weak)
        compute_links(area, sites, cfg)  # compile / warm
        t0 = time.process_time()
        links[(margin, weak)] = compute_links(area, sites, cfg)
        t_links[(margin, weak)] = time.process_time() - t0
        cfgs[(margin, weak)] = cfg
    results = {v: aggregate(area, links[v], cfgs[v]) for v in variants}
    cost = {(v, full): 0.0 for v in variants for full in (False, True)}
    for _ in range(args.repeats):
        for full in (False, True):
            for v in variants:
                t0 = time.process_time()
                aggregate(area, links[v], cfgs[v], full=full)
                cost[(v, full)] += time.process_time() - t0
    ref = np.asarray(results[variants[-1]].probabilities["p_dl_outdoor"], float)
    ref_shares = np.array(_shares(results[variants[-1]].kpis()))
    first = variants[0]
    print(f"{args.city} {args.resolution_m:g} m, {len(sites)} sectors; shares: territory / population outdoor, "
          "then indoor; CPU ratios against the first row")
    for v in variants:
        p = np.asarray(results[v].probabilities["p_dl_outdoor"], float)
        ok = np.isfinite(p) & np.isfinite(ref)
        shares = np.array(_shares(results[v].kpis()))
        print(f"margin {v[0]:g} dB, weak sites {v[1]}: links {links[v].n_links} "
              f"(x{links[v].n_links / links[first].n_links:.3f}), compute_links {t_links[v]:.2f} s, "
              f"aggregate covered-only {cost[(v, False)] / args.repeats:.2f} s "
              f"(x{cost[(v, False)] / cost[(first, False)]:.3f}), full {cost[(v, True)] / args.repeats:.2f} s "
              f"(x{cost[(v, True)] / cost[(first, True)]:.3f}); shares {np.round(shares, 4).tolist()}, "
              f"max |diff| vs last {np.abs(shares - ref_shares).max():.4f}, P(DL) p99 |diff| "
              f"{np.percentile(np.abs(p[ok] - ref[ok]), 99):.4f}")


if __name__ == "__main__":
    main()
