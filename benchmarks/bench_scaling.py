"""Cost per pixel-link of each stage of the national chain, measured here: the figures behind docs/SCALING.md.

For each (city, resolution) the city stage of ``qamtu national`` (:func:`qamtu.chain.national.plan_one_city`) is run
once untimed (Numba compilation) and ``--repeat`` times timed; the medians are quoted. Stages:

* ``area``: the study area (boundary, population, land cover): seconds per pixel;
* ``coverage_links``: the planner's links of every candidate sector (``qamtu.engine.compute_links``): per link;
* ``plan_links``: full cut-off links of the chosen sites: per link;
* ``optimiser``: the site selection (greedy/MILP on the coverage relation): per coverage link;
* ``engine_checks``: the engine's aggregation of the plan in the repair loop: per plan link;
* ``gate``: one quality-gate evaluation (``engine.aggregate(active=...)`` over the plan links), as the scheduler
  calls it for every month a city's set of sites on air changes: per plan link;
* ``terrain_proxy``: the least a terrain term costs per profile point (``qamtu.engine.terrain`` samples profiles
  the same way and adds a delta-Bullington per link): bilinear sampling of an elevation raster along every link
  path, one sample per pixel crossed
  (``scipy.ndimage.map_coordinates``), per sample.

Also: links per pixel (a property of the site density and the cut-off, not of the resolution: compare the rows)
and bytes per stored link (the ``Links`` arrays). The baseline in the ratio column is the coverage-link stage.

Usage::

    .venv/bin/python benchmarks/bench_scaling.py [--cities konaev,aktau] [--resolutions 250,125] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np


def links_nbytes(links) -> int:
    return int(sum(getattr(links, n).nbytes for n in ("pixel", "sector", "rsrp_dbm", "signal_dbm", "interference_mw",
                                                       "path_gain_db", "coverage_probability")))


def terrain_proxy_s_per_sample(area, links, rng, max_links: int = 200_000) -> float:
    """Seconds per elevation sample along link paths (one sample per pixel crossed)."""
    from scipy.ndimage import map_coordinates

    rows, cols = area.shape
    dem = rng.normal(300.0, 30.0, size=(rows, cols)).astype(np.float32)
    n = min(links.n_links, max_links)
    pick = rng.choice(links.n_links, size=n, replace=False)
    pr, pc = np.unravel_index(links.pixel[pick], area.shape)
    # the far end: a random pixel at the link's own length is as good as the site for a timing
    sr = np.clip(pr + rng.integers(-rows, rows, n), 0, rows - 1)
    sc = np.clip(pc + rng.integers(-cols, cols, n), 0, cols - 1)
    steps = np.maximum(np.hypot(sr - pr, sc - pc).astype(int), 1)
    total = int(steps.sum())
    t0 = time.perf_counter()
    # all samples of all links in one call (vectorised, as an engine would batch them)
    idx = np.repeat(np.arange(n), steps)
    frac = (np.arange(total) - np.repeat(np.cumsum(steps) - steps, steps)) / np.repeat(steps, steps)
    r = pr[idx] + (sr[idx] - pr[idx]) * frac
    c = pc[idx] + (sc[idx] - pc[idx]) * frac
    heights = map_coordinates(dem, [r, c], order=1, mode="nearest")
    np.maximum.reduceat(heights, np.cumsum(steps) - steps)  # the highest point per link (a knife-edge input)
    return (time.perf_counter() - t0) / total


def measure(city_id: str, res: float, repeat: int) -> dict:
    from qamtu.engine import aggregate
    from qamtu.geo.area import make_study_area
    from qamtu.geo.catalogue import get_city
    from qamtu.chain.national import plan_one_city
    from qamtu.chain.scenario import load_scenario

    sc = load_scenario(None, preset="national-fast")
    cfg = sc.engine_config()
    city = get_city(city_id)
    plan_one_city(city, sc, res, cfg)  # compile
    runs, area_s, gate_s = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        area = make_study_area(city, resolution_m=res)
        area_s.append(time.perf_counter() - t0)
        runs.append(plan_one_city(city, sc, res, cfg))
    run = runs[-1]
    plan = run.plan
    active = np.asarray(plan.active, bool)
    for _ in range(repeat):
        t0 = time.perf_counter()
        aggregate(run.area, plan.links, cfg, active=active)
        gate_s.append(time.perf_counter() - t0)
    med = {k: statistics.median(r.plan.summary["timings_s"][k] for r in runs)
           for k in ("coverage_links", "plan_links", "optimiser", "engine_checks", "total")}
    n_pix = int(np.asarray(run.area.mask, bool).sum())
    n_cov = int(plan.model.n_coverage_links)
    n_plan = int(plan.links.n_links)
    rng = np.random.default_rng(0)
    terrain = statistics.median(terrain_proxy_s_per_sample(run.area, plan.links, rng) for _ in range(repeat))
    return {
        "city": city_id, "res_m": res, "pixels": n_pix, "sites": int(plan.summary["sites_selected"]),
        "cov_links": n_cov, "plan_links": n_plan,
        "cov_links_per_px": n_cov / n_pix, "plan_links_per_px": n_plan / n_pix,
        "bytes_per_link": links_nbytes(plan.links) / max(n_plan, 1),
        "area_us_per_px": 1e6 * statistics.median(area_s) / n_pix,
        "cov_us_per_link": 1e6 * med["coverage_links"] / n_cov,
        "plan_us_per_link": 1e6 * med["plan_links"] / max(n_plan, 1),
        "opt_us_per_cov_link": 1e6 * med["optimiser"] / n_cov,
        "checks_us_per_plan_link": 1e6 * med["engine_checks"] / max(n_plan, 1),
        "gate_us_per_plan_link": 1e6 * statistics.median(gate_s) / max(n_plan, 1),
        "terrain_ns_per_sample": 1e9 * terrain,
        "city_stage_s": med["total"] + statistics.median(area_s),
        "seconds": {"area": statistics.median(area_s), **med, "gate": statistics.median(gate_s)},
    }


def fit_fixed_and_marginal(rows: list[dict]) -> None:
    """Per city, least squares ``t = fixed + marginal * n`` over its resolutions (n: pixels or links)."""
    units = {"area": "pixels", "coverage_links": "cov_links", "plan_links": "plan_links",
             "optimiser": "cov_links", "engine_checks": "plan_links", "gate": "plan_links"}
    print("\nper city over its resolutions, t = fixed + marginal x n (least squares):")
    for cid in dict.fromkeys(r["city"] for r in rows):
        sub = [r for r in rows if r["city"] == cid]
        if len(sub) < 2:
            continue
        parts = []
        for stage, unit in units.items():
            n = np.array([r[unit] for r in sub], float)
            t = np.array([r["seconds"][stage] for r in sub], float)
            marginal, fixed = np.polyfit(n, t, 1)
            parts.append(f"{stage} {fixed:.2f} s + {1e6 * marginal:.2f} us/{unit.split('_')[0]}")
        print(f"  {cid}: " + "; ".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cities", default="konaev,aktau")
    ap.add_argument("--resolutions", default="250,125")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rows = []
    for cid in a.cities.split(","):
        for res in (float(r) for r in a.resolutions.split(",")):
            rows.append(measure(cid.strip(), res, a.repeat))
            r = rows[-1]
            print(f"{r['city']:>10} {r['res_m']:>5.0f} m: {r['pixels']:>7} px, {r['sites']:>3} sites, "
                  f"{r['cov_links']:>9} coverage links ({r['cov_links_per_px']:.1f}/px), {r['plan_links']:>9} plan "
                  f"links ({r['plan_links_per_px']:.1f}/px), {r['bytes_per_link']:.0f} B/link, city stage "
                  f"{r['city_stage_s']:.2f} s", flush=True)
    print("\nmedian cost per unit (us; terrain proxy in ns per sample); ratio = stage / coverage-link cost per link")
    cols = [("area_us_per_px", "area/px"), ("cov_us_per_link", "cov-link"), ("plan_us_per_link", "plan-link"),
            ("opt_us_per_cov_link", "optimiser/cov-link"), ("checks_us_per_plan_link", "checks/plan-link"),
            ("gate_us_per_plan_link", "gate/plan-link"), ("terrain_ns_per_sample", "terrain ns/sample")]
    print(f"{'city':>10} {'res':>5} " + " ".join(f"{h:>18}" for _, h in cols))
    for r in rows:
        print(f"{r['city']:>10} {r['res_m']:>5.0f} " + " ".join(f"{r[k]:>18.3f}" for k, _ in cols))
    base = statistics.median(r["cov_us_per_link"] for r in rows)
    print("\nratios to the coverage-link cost (medians over rows): " + ", ".join(
        f"{h} {statistics.median(r[k] for r in rows) / base:.2f}" for k, h in cols[2:6]))
    fit_fixed_and_marginal(rows)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
