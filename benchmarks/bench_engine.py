"""Benchmark of the coverage engine against a plain baseline, in one process.

1. Almaty at 25 m with a hexagonal layout of a few hundred sectors (``qamtu.geo.layout.hex_layout`` with one
   inter-site distance, ``--isd-m``, default 2500 m: about 400 sectors):

   * the engine: ``compute_links`` (link-budget cut-off, k-d tree per tile, relevance floor) + ``aggregate``;
   * the baseline: a plain per-site NumPy loop, every sector against every pixel, no cut-off, the same per-link
     physics (:func:`qamtu.engine.links.evaluate_link_batch`), accumulating best server, coverage probability and
     interference per pixel. Running it over the whole city takes minutes, so by default it runs over a square
     window of pixels in the centre (``--window-px``, all sectors); its rate (site-pixel evaluations per second)
     is the same whatever the window, and the two are compared on the window's pixels.

   Prints site-pixel evaluations per second for each (for the engine: pixels x sectors it answers for, divided
   by its wall time) and the ratio, and how far the engine's maps are from the baseline's there.

2. All 20 regional centres at 25 m with the same kind of layout (``--isd-m``) or the labelled reference layout
   (``--reference-layout``): wall time of ``evaluate`` per city and in total, and the peak resident memory of the
   process (``resource.getrusage``).

Every timing is repeated ``--repeat`` times and the median is quoted.

Usage::

    .venv/bin/python benchmarks/bench_engine.py [--isd-m 2500] [--window-px 160] [--repeat 3] [--skip-cities]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import numpy as np


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is KiB on Linux


def baseline_window(area, sectors, config, rows, cols):
    """Plain per-site loop over the pixels of a window: no cut-off, same per-link physics."""
    from qamtu.engine.links import evaluate_link_batch, noise_per_re_dbm
    from qamtu.radio import nr

    x, y = area.pixel_centres()
    win_mask = np.zeros(area.shape, bool)
    win_mask[rows, cols] = True
    win_mask &= area.mask
    px, py = x[win_mask], y[win_mask]
    env = area.env_class[win_mask].astype(np.int64)
    n = px.size
    best_rsrp = np.full(n, -np.inf)
    best = np.full(n, -1)
    best_signal = np.full(n, np.nan)
    best_int = np.zeros(n)
    total_int = np.zeros(n)
    pcov = np.zeros(n)
    cache: dict = {}
    for s in range(len(sectors)):
        b = evaluate_link_batch(px - sectors.x_m[s], py - sectors.y_m[s], np.full(n, s), env, sectors, config,
                                _cache=cache)
        better = b.rsrp_dbm > best_rsrp
        best_rsrp = np.where(better, b.rsrp_dbm, best_rsrp)
        best = np.where(better, s, best)
        best_signal = np.where(better, b.signal_dbm, best_signal)
        best_int = np.where(better, b.interference_mw, best_int)
        total_int += b.interference_mw
        pcov = np.maximum(pcov, b.coverage_probability)
    noise = 10 ** (noise_per_re_dbm(config) / 10)
    sinr = 10 * np.log10(10 ** (best_signal / 10) / (config.cell_load * (total_int - best_int) + noise))
    dl = nr.throughput_mbps(sinr, config.bandwidth_hz, config.dl_layers, config.tdd_dl_share, config.cell_load)
    return win_mask, dict(rsrp=best_rsrp, best=best, sinr=sinr, pcov=pcov, dl=dl), n * len(sectors)


def part_almaty(args) -> None:
    from qamtu.engine import EngineConfig, aggregate, compute_links, prepare_sectors
    from qamtu.geo.area import make_study_area
    from qamtu.geo.catalogue import get_city
    from qamtu.geo.layout import hex_layout

    area = make_study_area(get_city("almaty"), 25.0)
    sites = hex_layout(area, isd_m=args.isd_m)
    config = EngineConfig(workers=args.workers)
    sectors = prepare_sectors(sites, area.crs)
    n_pix = int(area.mask.sum())
    print(f"Almaty 25 m: {n_pix} pixels inside the boundary, {len(sectors)} sectors ({sectors.n_sites} sites, "
          f"ISD {args.isd_m:g} m)")
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        links = compute_links(area, sites, config)
        res = aggregate(area, links)
        times.append(time.perf_counter() - t0)
    t_engine = statistics.median(times)
    info = links.info
    print(f"  engine: median {t_engine:.2f} s over {args.repeat} runs ({', '.join(f'{t:.2f}' for t in times)}); "
          f"cut-off {info.cutoff_m:.0f} m (coverage {info.coverage_radius_m:.0f} m, tail "
          f"{info.tail_radius_m:.0f} m), {links.n_links / n_pix:.1f} stored links per pixel, "
          f"links {links.nbytes / 2**20:.0f} MiB")
    t_agg = []
    active = np.ones(len(sectors), bool)
    active[::2] = False
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        aggregate(area, links, active=active)
        t_agg.append(time.perf_counter() - t0)
    print(f"  aggregate(active=half the sectors) from stored links: median {statistics.median(t_agg):.3f} s")

    r0 = area.shape[0] // 2 - args.window_px // 2
    c0 = area.shape[1] // 2 - args.window_px // 2
    rows = slice(r0, r0 + args.window_px)
    cols = slice(c0, c0 + args.window_px)
    tb = []
    for _ in range(args.baseline_repeat):
        t0 = time.perf_counter()
        win_mask, base, n_eval = baseline_window(area, sectors, config, rows, cols)
        tb.append(time.perf_counter() - t0)
    t_base = statistics.median(tb)
    rate_engine = n_pix * len(sectors) / t_engine
    rate_base = n_eval / t_base
    print(f"  baseline (per-site loop, no cut-off) on a {args.window_px} x {args.window_px} window: "
          f"{n_eval} evaluations, median {t_base:.2f} s over {args.baseline_repeat} runs")
    print(f"  site-pixel evaluations per second: engine {rate_engine:.3e}, baseline {rate_base:.3e}, "
          f"ratio {rate_engine / rate_base:.1f}x (target >= 10x)")
    e = {k: getattr(res, a)[win_mask] for k, a in (("rsrp", "rsrp_dbm"), ("best", "best_server"), ("sinr", "sinr_db"),
                                                   ("pcov", "coverage_probability"), ("dl", "dl_mbps"))}
    both = np.isfinite(e["rsrp"])
    print(f"  agreement on the {int(both.sum())} window pixels both compute (of {int(win_mask.sum())}): "
          f"best server equal {np.mean(e['best'][both] == base['best'][both]) * 100:.2f} %, "
          f"max |dRSRP| {np.max(np.abs(e['rsrp'][both] - base['rsrp'][both])):.4f} dB, "
          f"max |dSINR| {np.max(np.abs(e['sinr'][both] - base['sinr'][both])):.4f} dB "
          f"(median {np.median(np.abs(e['sinr'][both] - base['sinr'][both])):.4f}), "
          f"max |dP_cov| {np.max(np.abs(e['pcov'][both] - base['pcov'][both])):.2e}, "
          f"DL equal {np.mean(np.isclose(e['dl'][both], base['dl'][both], rtol=1e-4)) * 100:.2f} %")


def mc_links_rate(area, sites, config, n_pixels: int, n_users: int, seed: int = 0):
    """The plain NumPy per-pixel Monte-Carlo's rate on ``n_pixels`` random pixels of ``area``: (pixel, sector)
    links answered per second (each drawn ``n_users`` times), its links and seconds. Links of those pixels only."""
    import copy

    from qamtu.engine import compute_links
    from qamtu.engine.montecarlo import pixel_monte_carlo

    rows, cols = np.nonzero(area.mask)
    rng = np.random.default_rng(seed)
    pick = rng.choice(rows.size, min(n_pixels, rows.size), replace=False)
    sub = copy.copy(area)
    sub.mask = np.zeros(area.shape, bool)
    sub.mask[rows[pick], cols[pick]] = True
    links = compute_links(sub, sites, config)
    t0 = time.perf_counter()
    n_mc = 0
    for i in pick:
        pix = int(rows[i]) * area.shape[1] + int(cols[i])
        n_mc += int((links.pixel == pix).sum())
        pixel_monte_carlo(links, pix, int(area.env_class[rows[i], cols[i]]), n_users=n_users, seed=int(i))
    t_mc = time.perf_counter() - t0
    return n_mc / t_mc, n_mc, t_mc


def part_cities(args) -> None:
    """All 20 cities at 25 m (or ``--cities``, extrapolated per pixel to the 20): wall and CPU time of the whole
    evaluation (links + distribution kernel, every class and map), peak RSS, computed links per second (links the
    engine actually computed and fed to the kernel; not the pairs its cut-off skipped) against the plain NumPy
    per-pixel Monte-Carlo in the same run, and the ratio."""
    from qamtu.engine import EngineConfig, evaluate
    from qamtu.engine.multires import evaluate_multires
    from qamtu.geo.area import make_study_area
    from qamtu.geo.catalogue import load_cities
    from qamtu.geo.layout import hex_layout

    config = EngineConfig(workers=args.workers)
    label = "reference layout" if args.reference_layout else f"hexagonal layout, ISD {args.isd_m:g} m"
    mode = (f"multi-resolution, step {args.multires_step}" if args.multires_step > 1
            else "exact (every pixel)")
    if args.verdict_only:
        if args.multires_step > 1:
            raise SystemExit("--verdict-only and --multires-step do not go together")
        mode += "; VERDICT ONLY (the outdoor criterion's probabilities, no maps, no indoor classes)"
    what = "links + verdict" if args.verdict_only else "links + kernel, every class and map"
    cities = [c for c in load_cities() if c.area_km2 is not None]
    chosen = cities if not args.cities else [c for c in cities if c.id in args.cities.split(",")]
    px_all = 0
    rate_mc = None
    lines, wall, cpu, links_total, px_done = [], 0.0, 0.0, 0, 0
    for city in cities:
        area = make_study_area(city, args.cities_resolution_m)
        n_px = int(area.mask.sum())
        px_all += n_px
        if city not in chosen:
            continue
        sites = hex_layout(area) if args.reference_layout else hex_layout(area, isd_m=args.isd_m)
        if rate_mc is None:
            # Numba compiles on first use (or loads its on-disk cache): a warm-up on the same city at 400 m keeps
            # that one-off cost out of the first city's timing
            coarse = make_study_area(city, 400.0)
            evaluate(coarse, hex_layout(coarse) if args.reference_layout else hex_layout(coarse, isd_m=args.isd_m),
                     config)
            rate_mc, n_mc, t_mc = mc_links_rate(area, sites, config, args.mc_pixels, args.mc_users)
        t0, c0 = time.perf_counter(), time.process_time()
        if args.multires_step > 1:
            stats: list = []
            res = evaluate_multires(area, sites, config, step=args.multires_step, stats=stats)
            n_links, extra = stats[0].links, f", {stats[0].interpolated / max(n_px, 1):.2f} of px interpolated"
        else:
            from qamtu.engine import aggregate, compute_links

            links = compute_links(area, sites, config)
            c_links = time.process_time() - c0
            res = aggregate(area, links, config, full=not args.verdict_only)
            n_links = links.n_links
            extra = (f" (links {c_links:.1f} s CPU = {c_links / max(n_links, 1) * 1e6:.2f} us per link, kernel "
                     f"{time.process_time() - c0 - c_links:.1f} s CPU)")
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        wall, cpu, links_total, px_done = wall + dt, cpu + dc, links_total + n_links, px_done + n_px
        k = res.kpis()
        lines.append(f"    {city.id}: {n_px} px, {len(sites)} sectors, {n_links} links computed{extra}, "
                     f"{dt:.1f} s wall, {dc:.1f} s CPU, territory {k['territory_share']:.3f}, "
                     f"population {k['population_share']:.3f}")
        print(lines[-1], flush=True)
        del res, area
    rate_eng = links_total / wall if wall > 0 else float("nan")
    scope = "all 20 cities" if len(chosen) == len(cities) else (
        f"{len(chosen)} of {len(cities)} cities ({px_done} of {px_all} px), EXTRAPOLATED per pixel to the 20")
    factor = px_all / max(px_done, 1)
    print(f"Cities at {args.cities_resolution_m:g} m ({label}, {mode}): {scope}: wall {wall * factor:.1f} s "
          f"(target <= 120 s), CPU {cpu * factor:.1f} s, {wall / max(px_done, 1) * 1e6:.1f} us wall per pixel; "
          f"peak resident memory {peak_rss_gib():.2f} GiB (target < 4 GiB)")
    print(f"  computed links per second: engine {rate_eng:,.0f} ({what}); plain NumPy "
          f"per-pixel Monte-Carlo ({args.mc_users} users, {args.mc_pixels} pixels of {chosen[0].id}) {rate_mc:,.0f}; "
          f"ratio {rate_eng / rate_mc:.1f}x")


def part_distribution(args) -> None:
    """The distribution engine (aggregate: per-pixel probabilities, all user classes, quantile maps) against a plain
    NumPy per-pixel Monte-Carlo of the same model (montecarlo.pixel_monte_carlo, ``--mc-users`` users per pixel)
    on a sample of pixels: links per second = (pixel, sector) pairs answered per second by each method (the
    Monte-Carlo draws each pair ``--mc-users`` times to reach its accuracy)."""
    from qamtu.engine import EngineConfig, aggregate, compute_links
    from qamtu.geo.area import make_study_area
    from qamtu.geo.catalogue import get_city
    from qamtu.geo.layout import hex_layout

    area = make_study_area(get_city(args.dist_city), args.dist_resolution_m)
    sites = hex_layout(area)
    config = EngineConfig(workers=args.workers)
    links = compute_links(area, sites, config)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        aggregate(area, links, config)
        times.append(time.perf_counter() - t0)
    t_eng = statistics.median(times)
    rate_eng = links.n_links / t_eng
    rate_mc, _, _ = mc_links_rate(area, sites, config, args.mc_pixels, args.mc_users)
    print(f"{args.dist_city} {args.dist_resolution_m:g} m, reference layout: {int(area.mask.sum())} px, {len(sites)} "
          f"sectors, {links.n_links} links; aggregate median {t_eng:.2f} s over {args.repeat} runs "
          f"({t_eng / max(int(area.mask.sum()), 1) * 1e6:.1f} us per pixel)")
    print(f"  distribution engine: {rate_eng:,.0f} links/s; NumPy per-pixel Monte-Carlo ({args.mc_users} users, "
          f"{args.mc_pixels} pixels): {rate_mc:,.0f} links/s; ratio {rate_eng / rate_mc:.1f}x "
          f"(the Monte-Carlo's 0.02 accuracy needs ~2000 users per pixel and class)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--isd-m", type=float, default=2500.0)
    ap.add_argument("--window-px", type=int, default=160)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-repeat", type=int, default=1)
    ap.add_argument("--workers", type=int, default=0, help="tile threads (0 = the engine default: the machine's cores)")
    ap.add_argument("--reference-layout", action="store_true", help="cities part: the default reference layout")
    ap.add_argument("--skip-almaty", action="store_true")
    ap.add_argument("--skip-cities", action="store_true")
    ap.add_argument("--skip-distribution", action="store_true")
    ap.add_argument("--cities", default="", help="cities part: only these ids (comma-separated), extrapolated")
    ap.add_argument("--cities-resolution-m", type=float, default=25.0)
    ap.add_argument("--multires-step", type=int, default=0,
                    help="cities part: multi-resolution lattice step (qamtu.engine.multires); 0 = exact")
    ap.add_argument("--verdict-only", action="store_true",
                    help="cities part: the kernel computes only what the outdoor criterion needs (aggregate "
                         "full=False: no maps, no indoor classes): the floor of what a 25 m evaluation costs")
    ap.add_argument("--dist-city", default="taraz")
    ap.add_argument("--dist-resolution-m", type=float, default=100.0)
    ap.add_argument("--mc-users", type=int, default=2000)
    ap.add_argument("--mc-pixels", type=int, default=40)
    args = ap.parse_args(argv)
    if not args.skip_distribution:
        part_distribution(args)
    if not args.skip_almaty:
        part_almaty(args)
    if not args.skip_cities:
        part_cities(args)
    print(f"peak resident memory of the process: {peak_rss_gib():.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
