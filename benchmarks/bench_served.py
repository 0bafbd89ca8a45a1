"""Benchmark of the served-area models (``interference_beams="served"``, ``ul_interference="neighbours"``, the
defaults) against uniform beams and the UL margin, in one process, CPU time (``time.process_time``).

A city on its reference layout (:func:`qamtu.geo.layout.hex_layout`); for each model: ``compute_links`` (warm, the
second call), then a gate-like sequence of :class:`qamtu.engine.aggregate.IncrementalAggregator` evaluations
(``full=False``: ``--share`` of the sites on air, three more per step, ``--steps`` steps; the served areas, beam
mixes, per-link aimed factors and UL of the sites on air recomputed per subset), and ``aggregate(full=True)``.
Prints each cost and the ratio served / uniform. Run with ``NUMBA_NUM_THREADS=1`` for stable CPU times.

``--sparse``: instead, the served state of sparse subsets of a dense candidate-like table (lattice candidates
every ``--spacing-m``, as the planner's): per share of the sites on air, ``ServedModel.state(active)`` + its UL
interference (a point short of active stored sectors gets its nearest active ones, links evaluated on demand and
kept), a second subset of the same share (links kept from the first reused), against a fresh served model of the
restricted table (the baseline: what rebuilding per state would cost), which it equals.

Usage::

    .venv/bin/python benchmarks/bench_served.py [--city taraz] [--resolution-m 100] [--steps 16] [--share 0.6]
    .venv/bin/python benchmarks/bench_served.py --sparse [--city taraz] [--spacing-m 400]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _cpu(fn):
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def run(area, layout, config, steps: int, share: float) -> dict:
    from qamtu.engine import aggregate, compute_links
    from qamtu.engine.aggregate import IncrementalAggregator

    compute_links(area, layout, config.replace(chunk_pixels=config.chunk_pixels + 1))  # compile / warm
    t_links, links = _cpu(lambda: compute_links(area, layout, config))
    site = layout["site_id"].astype(str).to_numpy()
    order = np.random.default_rng(5).permutation(np.unique(site))
    n0 = int(share * order.size)
    inc = IncrementalAggregator(area, links, config, full=False)
    gates = []
    for step in range(steps):
        active = np.isin(site, order[:n0 + 3 * step])
        t, res = _cpu(lambda: inc.evaluate(active))
        gates.append(t)
    t_full, full = _cpu(lambda: aggregate(area, links, config))
    k = full.kpis()
    return {"compute_links_s": t_links, "first_gate_s": gates[0], "gate_s": float(np.mean(gates[1:])),
            "aggregate_full_s": t_full, "territory": k["territory_share"],
            "gap_db": k["pdsch_sinr_db_median"] - k["ssb_sinr_db_median"]}


def sparse(area, spacing_m: float) -> None:
    from qamtu.engine import EngineConfig, prepare_sectors
    from qamtu.engine.served import served_model
    from qamtu.plan import combine_candidates, lattice_candidates

    config = EngineConfig()
    cand = combine_candidates(lattice_candidates(area, spacing_m))
    table = prepare_sectors(cand, area.crs)
    site = np.asarray(table.site_id)
    sites = np.unique(site)
    t_model, model = _cpu(lambda: served_model(area, table, config))
    print(f"{len(table)} candidate sectors, {model.near.shape[0]} coarse points; served_model {t_model:.2f} s CPU")
    rng = np.random.default_rng(3)
    for share in (0.05, 0.2, 0.5):
        for run_no in (1, 2):
            active = np.isin(site, sites[rng.random(sites.size) < share])
            t_state, ul = _cpu(lambda: model.state(active).ul_interference_mw(config))
            sub = prepare_sectors(cand[active].reset_index(drop=True), area.crs)
            t_fresh, own = _cpu(lambda: served_model(area, sub, config).state().ul_interference_mw(config))
            same = bool(np.array_equal(ul[active], own))
            print(f"  share {share:.2f} subset {run_no}: state {t_state:6.2f} s, fresh model {t_fresh:6.2f} s, "
                  f"ratio {t_state / t_fresh:.2f}; UL equal: {same}; links kept {model.pairs.n_ext}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--city", default="taraz")
    ap.add_argument("--resolution-m", type=float, default=100.0)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--share", type=float, default=0.6)
    ap.add_argument("--sparse", action="store_true")
    ap.add_argument("--spacing-m", type=float, default=400.0)
    args = ap.parse_args()

    from qamtu.engine import EngineConfig
    from qamtu.geo.area import make_study_area
    from qamtu.geo.layout import hex_layout

    area = make_study_area(args.city, resolution_m=args.resolution_m)
    if args.sparse:
        sparse(area, args.spacing_m)
        return
    layout = hex_layout(area)
    served = EngineConfig()
    uniform = served.replace(interference_beams="uniform", ul_interference="margin")
    base = run(area, layout, uniform, args.steps, args.share)
    new = run(area, layout, served, args.steps, args.share)
    print(f"{args.city} {args.resolution_m:.0f} m, {len(layout)} sectors, CPU s (uniform beams + UL margin -> "
          f"served areas of the sites on air):")
    for key in ("compute_links_s", "first_gate_s", "gate_s", "aggregate_full_s"):
        print(f"  {key:18s} {base[key]:8.2f} -> {new[key]:8.2f}   ratio {new[key] / base[key]:.2f}")
    print(f"  territory {base['territory']:.4f} -> {new['territory']:.4f}; PDSCH - SSB median "
          f"{base['gap_db']:.2f} -> {new['gap_db']:.2f} dB")


if __name__ == "__main__":
    main()
