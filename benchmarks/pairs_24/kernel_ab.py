"""pairs-24: in-process A/B of the distribution kernel (``pixel_distributions``, every class and map) on the
reference layout of a city at 25 m (default Aktau), NUMBA_NUM_THREADS=1, process time, median of REPS alternating
runs after a warm-up on 200 groups; then the kernel rows of the first two modules compared (max / p99 |diff|).

    git show main:src/qamtu/engine/distribution.py > src/qamtu/engine/_dist_main.py   # untracked, never committed
    git show base-24:src/qamtu/engine/distribution.py > src/qamtu/engine/_dist_base.py
    PYTHONPATH=$PWD/src NUMBA_NUM_THREADS=1 NUMBA_CACHE_DIR=/tmp/NAME/nc python benchmarks/pairs_24/kernel_ab.py \
        /tmp/NAME/aktau25.pkl 3 distribution _dist_base _dist_main [--profile]

The kernel's arguments are captured from ``aggregate`` once (the first run builds the links and pickles them to
the given path, ~400 MB for Aktau 25 m). ``--profile`` adds the variants without the maps (``noq``), without
the maps and the UL (``noq_noul``), and with neither nor the DL sums (``grid``: g_dl 1e30, every pair skipped):
differences of the variants give the cost of each part."""
import importlib
import os
import pickle
import resource
import sys
import time

import numpy as np

path, reps, names = sys.argv[1], int(sys.argv[2]), [a for a in sys.argv[3:] if not a.startswith("--")]
profile = "--profile" in sys.argv
city_id = os.environ.get("CITY", "aktau")
if not os.path.exists(path):
    from qamtu.engine import EngineConfig, aggregate, compute_links
    from qamtu.geo.area import make_study_area
    from qamtu.geo.catalogue import load_cities
    from qamtu.geo.layout import hex_layout

    agg = importlib.import_module("qamtu.engine.aggregate")
    area = make_study_area([c for c in load_cities() if c.id == city_id][0], 25.0)
    config = EngineConfig(workers=1)
    links = compute_links(area, hex_layout(area), config)
    calls, orig = [], agg._dist.pixel_distributions

    def wrap(*a):
        calls.append([x.copy() if isinstance(x, np.ndarray) else x for x in a])
        return orig(*a)

    agg._dist.pixel_distributions = wrap
    aggregate(area, links, config)
    agg._dist.pixel_distributions = orig
    with open(path, "wb") as f:
        pickle.dump(calls, f, protocol=4)
calls = pickle.load(open(path, "rb"))
mods = {n: importlib.import_module("qamtu.engine." + n) for n in names}


def variant(c, v):
    c = list(c)
    if v in ("noq", "noq_noul", "grid"):
        c[33] = False  # quantiles
    if v in ("noq_noul", "grid"):
        c[31] = -1e300  # g_ul: no UL
    if v == "grid":
        c[22] = 1e30  # g_dl: every pair's DL term skipped
    return c


def run(mod, v):
    t, outs = 0.0, []
    for c in calls:
        c = variant(c, v)
        out, bl = np.full_like(c[36], np.nan), np.full_like(c[37], -1)
        t0 = time.process_time()
        mod.pixel_distributions(*c[:36], out, bl)
        t += time.process_time() - t0
        outs.append(out)
    return t, np.concatenate(outs, axis=1)


variants = ["all"] + (["noq", "noq_noul", "grid"] if profile else [])
for n in names:
    for v in variants:
        c = variant(calls[0], v)
        mods[n].pixel_distributions(c[0][:201], *c[1:36], np.full((c[36].shape[0], 200), np.nan),
                                    np.full(200, -1, np.int64))
times = {(n, v): [] for n in names for v in variants}
rows = {}
for r in range(reps):
    for n in (names if r % 2 == 0 else names[::-1]):
        for v in variants:
            t, rows[(n, v)] = run(mods[n], v)
            times[(n, v)].append(t)
            print(f"rep {r} {n} {v}: {t:.2f} s", flush=True)
for v in variants:
    med = {n: float(np.median(times[(n, v)])) for n in names}
    print(f"{v}: " + ", ".join(f"{n} {med[n]:.2f} s ({med[n] / med[names[-1]]:.3f}x {names[-1]})" for n in names))
print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
if len(names) >= 2:
    a, b = rows[(names[0], "all")], rows[(names[1], "all")]
    for r, row in enumerate(mods[names[0]].ROWS):
        d = np.abs(a[r] - b[r])
        d = d[np.isfinite(d)]
        if d.size:
            print(f"  {names[0]} - {names[1]} {row:22s}: max {d.max():.3g}, p99 {np.quantile(d, 0.99):.3g}, "
                  f"NaN mismatches {int((np.isnan(a[r]) != np.isnan(b[r])).sum())}")
