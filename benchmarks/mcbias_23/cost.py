"""mcbias-23: process time of aggregate() on test_distribution's random layouts (seeds 1-6), median of 5 after a
warm-up. Run once per source tree (PYTHONPATH) with its own NUMBA_CACHE_DIR and NUMBA_NUM_THREADS=1."""
import time
import numpy as np
from test_distribution import _random_case, CFG
from qamtu.engine import aggregate, compute_links

cases = []
for seed in range(1, 7):
    area, sites, _ = _random_case(seed)
    cases.append((area, compute_links(area, sites, CFG)))
for area, links in cases:
    aggregate(area, links)
t = []
for _ in range(5):
    t0 = time.process_time()
    for area, links in cases:
        aggregate(area, links)
    t.append(time.process_time() - t0)
print("aggregate, 6 layouts: median %.3f s (min %.3f)" % (np.median(t), min(t)))
