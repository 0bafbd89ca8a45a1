"""A/B of ``compute_links`` between two source trees (lspeed-21): outputs and CPU time.

Run each mode with ``PYTHONPATH`` pointing at the ``src`` under test (e.g. a ``git archive <commit> src`` export
at /tmp/base and this worktree), in separate processes:

    PYTHONPATH=/tmp/base/src python benchmarks/links_ab.py save /tmp/ab/base
    PYTHONPATH=$PWD/src python benchmarks/links_ab.py save /tmp/ab/new
    PYTHONPATH=$PWD/src python benchmarks/links_ab.py compare /tmp/ab/base /tmp/ab/new
    PYTHONPATH=<src> python benchmarks/links_ab.py time 3 taraz 100 default   # CPU per computed (kept) link

Cases: Taraz 100 m (terrain), Aktau 25 m (flat), Konaev 75 m (terrain), reference layouts (``hex_layout``), with
the default ``EngineConfig`` (served areas) and ``interference_beams="uniform"``, ``ul_interference="margin"``; ``LS_WORKERS`` sets ``EngineConfig.workers``
(default 1; set ``NUMBA_NUM_THREADS`` alike). ``compare`` prints, per case, BIT-IDENTICAL or per array the number
of differing entries and the largest absolute and relative difference (every ``Links`` array, the residual, the
cut-off and its info).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

import numpy as np

CASES = [("taraz", 100.0), ("aktau", 25.0), ("konaev", 75.0)]


def setup(city: str, res: float):
    from qamtu.geo.area import make_study_area
    from qamtu.geo.catalogue import get_city
    from qamtu.geo.layout import hex_layout

    area = make_study_area(get_city(city), res)
    return area, hex_layout(area)


def configs() -> dict:
    from qamtu.engine import EngineConfig

    w = int(os.environ.get("LS_WORKERS", "1"))
    return {"default": EngineConfig(workers=w),
            "uniform": EngineConfig(workers=w, interference_beams="uniform", ul_interference="margin")}


def dump(links) -> dict:
    from qamtu.engine.links import Links

    d = {k: getattr(links, k) for k in Links.ARRAYS if getattr(links, k) is not None}
    d["residual_mw"] = links.residual_mw
    d["cutoff_m"] = np.array(links.cutoff_m)
    i = links.info
    d["info"] = np.array([i.cutoff_m, i.coverage_radius_m, i.tail_radius_m, i.reference_level_dbm, i.floor_dbm,
                          i.density_per_km2, *i.per_env_m])
    return d


def save(out: str) -> None:
    from qamtu.engine import compute_links

    os.makedirs(out, exist_ok=True)
    for city, res in CASES:
        area, sites = setup(city, res)
        for name, cfg in configs().items():
            links = compute_links(area, sites, cfg)
            np.savez(f"{out}/{city}_{name}.npz", **dump(links))
            print(city, name, links.n_links, flush=True)


def compare(a: str, b: str) -> None:
    for city, _res in CASES:
        for name in configs():
            x_all, y_all = np.load(f"{a}/{city}_{name}.npz"), np.load(f"{b}/{city}_{name}.npz")
            msgs = []
            for k in sorted(set(x_all.files) | set(y_all.files)):
                if k not in x_all.files or k not in y_all.files:
                    msgs.append(f"{k}: missing")
                    continue
                x, y = x_all[k], y_all[k]
                if x.dtype != y.dtype or x.shape != y.shape:
                    msgs.append(f"{k}: dtype/shape {x.dtype}{x.shape} vs {y.dtype}{y.shape}")
                    continue
                if x.tobytes() == y.tobytes():
                    continue
                diff = np.abs(x.astype(float) - y.astype(float))
                rel = diff / np.maximum(np.abs(x.astype(float)), 1e-300)
                msgs.append(f"{k}: {int((x != y).sum())} of {x.size} differ, max abs {diff.max():.3g}, "
                            f"max rel {rel.max():.3g}")
            print(f"{city} {name}: " + ("BIT-IDENTICAL" if not msgs else "; ".join(msgs)), flush=True)


def timeit(reps: int, city: str = "taraz", res: float = 100.0, cfgname: str = "default") -> None:
    from qamtu.engine import compute_links

    area, sites = setup(city, res)
    cfg = configs()[cfgname]
    compute_links(area, sites, cfg)  # warm-up (Numba, cut-off cache)
    cpu, wall = [], []
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        links = compute_links(area, sites, cfg)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    med = statistics.median(cpu)
    print(json.dumps({"case": f"{city} {res:g} {cfgname}", "links": links.n_links, "cpu_s": cpu, "median_s": med,
                      "us_per_link": med / links.n_links * 1e6, "wall_s": statistics.median(wall)}), flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "save":
        save(sys.argv[2])
    elif mode == "compare":
        compare(sys.argv[2], sys.argv[3])
    elif mode == "time":
        timeit(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5])
    else:
        raise SystemExit("modes: save DIR | compare DIR_A DIR_B | time REPS CITY RES_M default|served")
