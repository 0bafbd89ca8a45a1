"""pairs-24: the quantile maps (median SSB / PDSCH SINR, PDSCH SINR p10, outdoor users) of kernel modules against
the brute-force Monte-Carlo (``pixel_monte_carlo``, 20k users) on test_distribution's random layouts (seeds 1-6,
12 pixels each, the served-area defaults): max, mean |engine - MC| and the mean signed error, dB.

    PYTHONPATH=$PWD/src:$PWD/tests/engine NUMBA_CACHE_DIR=/tmp/NAME/nc python benchmarks/pairs_24/mcmaps.py \
        distribution _dist_main   # modules of qamtu.engine (copies: see kernel_ab.py)

MC sampling error of a median with 20k users: ~0.01-0.03 dB here (not the figures' scale)."""
import importlib
import sys

import numpy as np
from test_distribution import CFG, _random_case

from qamtu.engine import aggregate, compute_links
from qamtu.engine.montecarlo import pixel_monte_carlo

agg = importlib.import_module("qamtu.engine.aggregate")
own = agg._dist
mods = {n: importlib.import_module("qamtu.engine." + n) for n in sys.argv[1:]}
err = {k: [] for k in mods}
for seed in range(1, 7):
    area, sites, rng = _random_case(seed)
    links = compute_links(area, sites, CFG)
    res = {}
    for k, m in mods.items():
        agg._dist = m
        res[k] = aggregate(area, links)
    agg._dist = own
    rows, cols = np.nonzero(area.mask)
    for i in rng.choice(rows.size, 12, replace=False):
        r, c = int(rows[i]), int(cols[i])
        mc = pixel_monte_carlo(links, r * area.mask.shape[1] + c, int(area.env_class[r, c]), n_users=20000,
                               seed=seed * 100 + i, user_class="outdoor")
        ref = (np.median(mc["ssb_sinr_db"]), np.median(mc["pdsch_sinr_db"]), np.quantile(mc["pdsch_sinr_db"], 0.1))
        for k in mods:
            e = (res[k].ssb_sinr_db[r, c], res[k].sinr_db[r, c], res[k].extra["pdsch_sinr_p10_db"][r, c])
            err[k].append(np.array(e, float) - np.array(ref))
for k in mods:
    a = np.array(err[k])
    print(f"{k}: engine - MC (dB), SSB median / PDSCH median / PDSCH p10: max |.| "
          + " / ".join(f"{x:.3f}" for x in np.abs(a).max(axis=0)) + "; mean |.| "
          + " / ".join(f"{x:.3f}" for x in np.abs(a).mean(axis=0)) + "; mean "
          + " / ".join(f"{x:+.3f}" for x in a.mean(axis=0)))
