"""Benchmark of the planner: the MILP against the greedy (polished CELF, and plain CELF) on one city, side by side.

Plans a city (default Almaty, 25 m grid, generated 3-sector candidates on a 400 m hexagonal lattice, the CLI's
default spacing: about 5,000 candidate sites) with both methods on the same covering model (round 0: per-site
coverage sets from the engine's links, see ``qamtu.plan.planner``), ``--repeats`` times each, and prints the median
time, the cost, the lower bound and the gap of each, and the greedy/MILP ratios of cost and time. The issue's targets: MILP within
1 % of its bound in at most 60 s; greedy within 5 % of the MILP cost in at most a tenth of its time.

With ``--full`` it then runs the whole engine-checked plan (``plan_city``: repair rounds with the full engine)
for each method once, which needs the full-cut-off links of every chosen site (use a coarser ``--full-resolution-m``
and/or ``--max-cutoff-m`` on a small machine).

Usage::

    python benchmarks/bench_plan.py [--city almaty] [--resolution-m 25] [--spacing-m 400] [--repeats 3]
                                    [--time-limit-s 60] [--target-territory T] [--lp] [--full]

``--lp`` also solves the LP relaxation by interior point for reference (minutes on this instance: the reason the
MILP does not rely on it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", default="almaty")
    ap.add_argument("--resolution-m", type=float, default=25.0)
    ap.add_argument("--spacing-m", type=float, default=400.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--time-limit-s", type=float, default=60.0)
    ap.add_argument("--mip-gap", type=float, default=0.01,
                    help="the MILP stops once its plan is proven within this gap (default: the issue's 1 %%)")
    ap.add_argument("--target-territory", type=float, default=None)
    ap.add_argument("--target-population", type=float, default=None)
    ap.add_argument("--demand-block-m", type=float, default=None,
                    help="optimise on square demand blocks of this side (approximate; default exact pixels)")
    ap.add_argument("--lp", action="store_true", help="also solve the LP relaxation (slow) for reference")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--full-resolution-m", type=float, default=100.0)
    ap.add_argument("--max-cutoff-m", type=float, default=5000.0)
    args = ap.parse_args(argv)

    import numpy as np

    from qamtu.engine import EngineConfig
    from qamtu.geo.area import make_study_area
    from qamtu.plan import CityModel, Targets, combine_candidates, default_targets, lattice_candidates
    from qamtu.plan.bounds import lp_lower_bound
    from qamtu.plan.greedy import solve_greedy
    from qamtu.plan.milp import solve_milp
    from qamtu.plan.repair import build_problem

    t0 = time.perf_counter()
    area = make_study_area(args.city, resolution_m=args.resolution_m)
    cand = combine_candidates(lattice_candidates(area, args.spacing_m))
    config = EngineConfig()
    print(f"{area.city.name_en}: {area.shape[0]}x{area.shape[1]} grid at {args.resolution_m:g} m, "
          f"{int(area.mask.sum()):,} pixels inside, {cand['site_id'].nunique():,} candidate sites "
          f"({len(cand):,} sectors) on a {args.spacing_m:g} m lattice  [{time.perf_counter() - t0:.1f} s]")
    t = time.perf_counter()
    model = CityModel(area, cand, config)
    t_links = time.perf_counter() - t
    t = time.perf_counter()
    rel = model.relation(None)
    blocks = None
    if args.demand_block_m:
        k = int(round(args.demand_block_m / args.resolution_m))
        rows, cols = np.unravel_index(model.mask_flat, area.shape)
        _, blocks = np.unique((rows // k) * (-(-area.shape[1] // k)) + cols // k, return_inverse=True)
    prob, _ = build_problem(rel, model.population, model.area_km2, model.sites["cost"].to_numpy(float),
                            model.sites["site_id"].to_numpy(object), population_total=area.population_total,
                            area_total_km2=area.area_km2, lock=model.lock, exclude=model.exclude, blocks=blocks)
    t_model = time.perf_counter() - t
    if args.target_territory is None and args.target_population is None:
        targets = default_targets(area.city)
    else:
        targets = Targets(args.target_territory, args.target_population)
    reach_terr, reach_pop = prob.max_shares()
    print(f"coverage links: {model.n_coverage_links:,} within {model.reach_m:.0f} m in {t_links:.1f} s; "
          f"relation {rel.nnz:,} pairs -> {prob.n_units:,} demand units (exact signature grouping) in "
          f"{t_model:.1f} s{'' if blocks is None else f' on {args.demand_block_m:g} m demand blocks (approximate)'}; best reachable: territory {reach_terr:.3f}, population {reach_pop:.3f}")
    print(f"targets: {targets.as_dict()}  (DL >= {config.min_dl_mbps:g} Mbit/s at load {config.cell_load:g}, "
          f"coverage probability >= {config.coverage_level:g})")
    lp, t_lp = None, 0.0
    if args.lp:
        t = time.perf_counter()
        lp = lp_lower_bound(prob, targets, time_limit_s=600.0)
        t_lp = time.perf_counter() - t

    from qamtu.plan.repair import GREEDY_POLISH_MOVES

    solve_greedy(prob, targets, polish_moves=10)  # compile the swap search's Numba kernels outside the timings
    runs: dict[str, list] = {"milp": [], "greedy": [], "celf": []}
    for _ in range(args.repeats):
        t = time.perf_counter()
        g = solve_greedy(prob, targets)
        runs["celf"].append((time.perf_counter() - t, g))
        t = time.perf_counter()
        g = solve_greedy(prob, targets, polish_moves=GREEDY_POLISH_MOVES)
        runs["greedy"].append((time.perf_counter() - t, g))
        t = time.perf_counter()
        m = solve_milp(prob, targets, time_limit_s=args.time_limit_s, mip_rel_gap=args.mip_gap)
        runs["milp"].append((time.perf_counter() - t, m))
    med = {k: statistics.median(x[0] for x in v) for k, v in runs.items()}
    last = {k: v[-1][1] for k, v in runs.items()}
    bound = last["milp"].lower_bound
    print()
    print(f"{'method':8s} {'median s':>9s} {'cost':>10s} {'lower bound':>12s} {'gap':>7s} {'status':>11s} "
          f"{'territory':>9s} {'population':>10s}")
    for k in ("milp", "greedy", "celf"):
        s = last[k]
        b = bound if k != "milp" else s.lower_bound
        gap = max(0.0, (s.cost - b) / s.cost) if b is not None and s.cost > 0 else float("nan")
        print(f"{k:8s} {med[k]:9.2f} {s.cost:10.1f} {b if b is not None else float('nan'):12.1f} {gap:7.2%} "
              f"{s.status:>11s} {s.territory_share:9.3f} {s.population_share:10.3f}")
    if args.lp:
        lp_txt = "not solved" if lp is None else f"{lp:.2f}"
        print(f"LP relaxation (lp_lower_bound, interior point, 600 s cap): {lp_txt} in {t_lp:.1f} s")
    print("The MILP's bound: the best of the knapsack, Lagrangian and HiGHS bounds, rounded up (integer costs). "
          "The greedy's gap is measured against the MILP's bound.")
    print(f"greedy = the planner's method='greedy': CELF lazy greedy + {GREEDY_POLISH_MOVES} swap-search moves; "
          "celf = the plain lazy greedy (the baseline)")
    print("MILP cost over repeats: " + ", ".join(f"{r[1].cost:g} in {r[0]:.1f} s" for r in runs["milp"]))
    ratio_cost = last["greedy"].cost / last["milp"].cost
    ratio_time = med["greedy"] / med["milp"]
    mgap = last["milp"].gap
    print(f"greedy / MILP: cost {ratio_cost:.4f} (target <= 1.05), time {ratio_time:.3f} (target <= 0.1); "
          f"MILP gap {'n/a' if mgap is None else f'{mgap:.2%}'} (target <= 1 %) in {med['milp']:.1f} s "
          "(target <= 60 s)")
    print(f"plain CELF / MILP: cost {last['celf'].cost / last['milp'].cost:.4f}, time {med['celf'] / med['milp']:.4f}")
    same = all(np.array_equal(r[1].selected, runs["greedy"][0][1].selected) for r in runs["greedy"])
    print(f"greedy plans identical over repeats: {same}")

    if args.full:
        from qamtu.plan import plan_city

        print()
        area_f = make_study_area(args.city, resolution_m=args.full_resolution_m)
        cand_f = combine_candidates(lattice_candidates(area_f, args.spacing_m))
        cfg_f = EngineConfig(max_cutoff_m=args.max_cutoff_m)
        model_f = CityModel(area_f, cand_f, cfg_f)
        for k in ("greedy", "milp"):
            t = time.perf_counter()
            plan = plan_city(area_f, cand_f, targets, cfg_f, method=k, model=model_f,
                             time_limit_s=args.time_limit_s, mip_rel_gap=args.mip_gap)
            s = plan.summary
            print(f"full engine-checked plan ({k}, {args.full_resolution_m:g} m, cut-off <= {args.max_cutoff_m:g} m): "
                  f"{s['sites_selected']} sites, cost {s['cost']:g}, bound {s['lower_bound']}, gap "
                  f"{s['gap'] if s['gap'] is None else round(s['gap'], 4)}, territory {s['territory_share']:.3f}, "
                  f"met {s['targets_met']}, rounds {len(s['rounds'])}, {time.perf_counter() - t:.1f} s "
                  f"(timings {dict((a, round(b, 1)) for a, b in s['timings_s'].items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
