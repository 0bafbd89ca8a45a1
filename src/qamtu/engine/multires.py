"""Multi-resolution evaluation (an option, not the default): the distribution kernel on a coarse lattice, the
smooth blocks between lattice pixels interpolated.

Radio-planning tools compute fine path-loss matrices near each transmitter and coarse ones far away. Here the idea
is applied to the kernel's *outputs*:

1. the links and the kernel are computed exactly on the lattice of every ``step``-th pixel (rows and columns),
   with the whole area's cut-off (:func:`qamtu.engine.links.compute_links` on a sub-mask: links are per pixel);
2. each ``step`` x ``step`` block between four lattice pixels is **interpolated** (bilinear, every output row of
   :data:`qamtu.engine.distribution.ROWS`; best server of the nearest corner) only when all of the following hold,
   and **refined** (every pixel's links and kernel computed exactly) otherwise:

   * the four corners are inside the mask and served (and, with ``same_best``, by the same best server);
   * every pixel of the block has the corners' environment class (and land-cover clutter flag, when the area has
     one): these change the link budget by a step, not smoothly;
   * no site is within ``near_m`` of the block (close to a site the levels change fast with the distance);
   * the corners' probabilities agree within ``tol_p`` and their quantiles (medians, 10th percentiles) within
     ``tol_db``; a row that is NaN at a corner is NaN at all four;
   * the corners' outdoor ``P(SS-RSRP)`` and ``P(DL)`` (and ``P(UL)`` with an UL condition) fall on the same side
     of the coverage level (so ``covered`` can flip only where the exact probability is near the level);

3. pixels in no interpolated block (beyond the last lattice row / column, blocks touching the mask's edge) are
   computed exactly.

Exact pixels (lattice and refined) are bit for bit those of :func:`qamtu.engine.aggregate.evaluate`
(``tests/engine/test_multires.py``). The interpolated pixels' error is measured, not bounded; on the reference
layout at 25 m only ~13 % of the pixels are interpolated with the default tolerances (the indoor classes'
probabilities and the medians vary by 0.1 / 4 dB over 100 m), so the gain is ~1.2x: ``docs/notes/speed-11.md``
has the figures and why this is not the default. With terrain (``area.terrain``) every pixel is computed exactly.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from qamtu.engine import distribution as _dist
from qamtu.engine.config import EngineConfig

#: default lattice step (pixels) and agreement tolerances of :func:`evaluate_multires`
STEP = 4
TOL_P = 0.02
TOL_DB = 6.0
#: rows of :data:`qamtu.engine.distribution.ROWS` that are probabilities (the others are quantiles, dB / dBm)
PROB_ROWS = (0, 1, 2, 3, 4, 5, 10, 11, 12)
QUANT_ROWS = (6, 7, 8, 9, 13)


@dataclass
class MultiresStats:
    """What :func:`evaluate_multires` computed: pixels inside the mask, evaluated exactly on the lattice, refined,
    interpolated; links computed (lattice + refined)."""

    pixels: int
    lattice: int
    refined: int
    interpolated: int
    links: int
    blocks: int
    blocks_interpolated: int


def _sub_area(area, mask):
    """``area`` with another mask (same grid, population, classes): the pixels whose links are computed."""
    sub = copy.copy(area)
    sub.mask = mask
    return sub


def _exact_rows(area, mask, sectors, config, info, served):
    """Links and kernel rows (every class and map) of the pixels ``mask``: (rows, best, n_links)."""
    from qamtu.engine.aggregate import IncrementalAggregator
    from qamtu.engine.links import compute_links

    sub = _sub_area(area, mask)
    links = compute_links(sub, sectors, config, cutoff=info, served=served)
    if links.n_links == 0:
        n_pix = mask.size
        return np.full((len(_dist.ROWS), n_pix), np.nan), np.full(n_pix, -1, np.int32), 0, links
    ag = IncrementalAggregator(sub, links, config, full=True)
    ag.evaluate(None)
    rows, best = ag.pixel_rows()
    return rows, best, links.n_links, links


def _block_view(a, k, nb_r, nb_c, di, dj):
    """The pixel at offset (di, dj) of every block (blocks of side ``k`` between lattice pixels)."""
    return a[di:di + k * nb_r:k, dj:dj + k * nb_c:k][:nb_r, :nb_c]


def _interpolable_blocks(area, sectors, rows_l, best_l, ok_l, config, k, tol_p, tol_db, near_m, same_best):
    """Boolean (blocks_r, blocks_c): the blocks that may be interpolated (the rules of the module docstring)."""
    shape = area.shape
    nb_r, nb_c = (shape[0] - 1) // k, (shape[1] - 1) // k
    corners = [(0, 0), (k, 0), (0, k), (k, k)]
    good = np.ones((nb_r, nb_c), bool)
    for di, dj in corners:
        good &= _block_view(ok_l, k, nb_r, nb_c, di, dj)
    if same_best:
        b0 = _block_view(best_l, k, nb_r, nb_c, 0, 0)
        for di, dj in corners[1:]:
            good &= _block_view(best_l, k, nb_r, nb_c, di, dj) == b0
    env = np.asarray(area.env_class)
    clutter = getattr(area, "clutter", None)
    e0 = _block_view(env, k, nb_r, nb_c, 0, 0)
    c0 = None if clutter is None else _block_view(np.asarray(clutter), k, nb_r, nb_c, 0, 0)
    for di in range(k + 1):
        for dj in range(k + 1):
            good &= _block_view(env, k, nb_r, nb_c, di, dj) == e0
            if c0 is not None:
                good &= _block_view(np.asarray(clutter), k, nb_r, nb_c, di, dj) == c0
    crit = config.criterion
    level = float(crit.probability) - 1e-9
    verdict_rows = (0, 1, 10) if crit.min_ul_mbps is not None else (0, 1)
    for r in range(len(_dist.ROWS)):
        vals = np.stack([_block_view(rows_l[r], k, nb_r, nb_c, di, dj) for di, dj in corners])
        nan = np.isnan(vals)
        good &= nan.all(axis=0) | ~nan.any(axis=0)
        with np.errstate(invalid="ignore"):
            spread = np.nan_to_num(vals.max(axis=0) - vals.min(axis=0))
        good &= spread <= (tol_p if r in PROB_ROWS else tol_db)
        if r in verdict_rows:
            side = vals >= level
            good &= side.all(axis=0) | ~side.any(axis=0)
    # no site within near_m of the block (block centre to site, plus the block's half diagonal)
    res = float(area.resolution_m)
    t = area.transform
    col = (np.asarray(sectors.x_m) - t.c) / t.a - 0.5
    row = (np.asarray(sectors.y_m) - t.f) / t.e - 0.5
    reach = (near_m / res) + k  # pixels
    for r_s, c_s in {(round(float(a), 3), round(float(b), 3)) for a, b in zip(row, col)}:
        a0 = max(int(np.floor((r_s - reach) / k)), 0)
        a1 = min(int(np.ceil((r_s + reach) / k)) + 1, nb_r)
        b0_ = max(int(np.floor((c_s - reach) / k)), 0)
        b1 = min(int(np.ceil((c_s + reach) / k)) + 1, nb_c)
        if a0 < a1 and b0_ < b1:
            good[a0:a1, b0_:b1] = False
    return good


def evaluate_multires(area, sites, config: EngineConfig | None = None, *, step: int = STEP, tol_p: float = TOL_P,
                      tol_db: float = TOL_DB, near_m: float | None = None, same_best: bool = False,
                      stats: list | None = None):
    """:func:`qamtu.engine.aggregate.evaluate` (all sectors, every class and map) with the kernel evaluated on
    the lattice of every ``step``-th pixel and the smooth blocks interpolated (module docstring).

    ``near_m``: blocks within this distance of a site are refined (default ``2 x step`` pixels). ``stats``: a
    list that gets one :class:`MultiresStats`. ``step`` 1 is the exact evaluation.
    """
    from qamtu.engine.aggregate import result_from_rows
    from qamtu.engine.links import link_budget_envelope, prepare_sectors
    from qamtu.engine.served import served_model

    config = EngineConfig() if config is None else config
    k = int(step)
    mask = np.asarray(area.mask, dtype=bool)
    shape = mask.shape
    n_pix = mask.size
    sectors = prepare_sectors(sites, getattr(area, "crs", None))
    env = np.asarray(area.env_class)
    info = link_budget_envelope(sectors, config, np.unique(env[mask])) if mask.any() else None
    served = None
    if len(sectors) and (config.interference_beams == "served" or config.ul_interference == "neighbours"):
        served = served_model(area, sectors, config)
    if near_m is None:
        near_m = k * float(area.resolution_m)
    exact_only = k <= 1 or getattr(area, "terrain", None) is not None or min(shape) <= k or info is None
    lattice = np.zeros(shape, bool)
    if not exact_only:
        lattice[::k, ::k] = True
    lattice &= mask
    rows_all = np.full((len(_dist.ROWS), n_pix), np.nan)
    best_all = np.full(n_pix, -1, np.int32)
    n_links = 0
    interp = np.zeros(shape, bool)
    n_blocks = n_good = 0
    links_meta = None
    if lattice.any():
        rows_l, best_l, nl, links_meta = _exact_rows(area, lattice, sectors, config, info, served)
        n_links += nl
        rows_all[:, lattice.ravel()] = rows_l[:, lattice.ravel()]
        best_all[lattice.ravel()] = best_l[lattice.ravel()]
        rows_g = rows_l.reshape(len(_dist.ROWS), *shape)
        best_g = best_l.reshape(shape)
        ok_l = lattice & (best_g >= 0)
        good = _interpolable_blocks(area, sectors, rows_g, best_g, ok_l, config, k, tol_p, tol_db, near_m,
                                    same_best)
        n_blocks, n_good = good.size, int(good.sum())
        nb_r, nb_c = good.shape
        flat = rows_all.reshape(len(_dist.ROWS), *shape)
        best_flat = best_all.reshape(shape)
        v00 = np.stack([_block_view(rows_g[r], k, nb_r, nb_c, 0, 0) for r in range(len(_dist.ROWS))])
        v10 = np.stack([_block_view(rows_g[r], k, nb_r, nb_c, k, 0) for r in range(len(_dist.ROWS))])
        v01 = np.stack([_block_view(rows_g[r], k, nb_r, nb_c, 0, k) for r in range(len(_dist.ROWS))])
        v11 = np.stack([_block_view(rows_g[r], k, nb_r, nb_c, k, k) for r in range(len(_dist.ROWS))])
        bsec = {c: _block_view(best_g, k, nb_r, nb_c, *c) for c in ((0, 0), (k, 0), (0, k), (k, k))}
        gi, gj = np.nonzero(good)
        for di in range(k + 1):
            for dj in range(k + 1):
                if (di, dj) in ((0, 0), (k, 0), (0, k), (k, k)):
                    continue
                u, v = di / k, dj / k
                pr, pc = gi * k + di, gj * k + dj
                inside = mask[pr, pc] & ~lattice[pr, pc]
                a, b = gi[inside], gj[inside]
                val = ((1 - u) * (1 - v) * v00[:, a, b] + u * (1 - v) * v10[:, a, b] + (1 - u) * v * v01[:, a, b]
                       + u * v * v11[:, a, b])
                flat[:, pr[inside], pc[inside]] = val
                near_corner = (k if 2 * di > k else 0, k if 2 * dj > k else 0)  # ties: the upper-left one
                best_flat[pr[inside], pc[inside]] = bsec[near_corner][a, b]
                interp[pr[inside], pc[inside]] = True
    refine = mask & ~lattice & ~interp
    if refine.any():
        rows_f, best_f, nl, links_f = _exact_rows(area, refine, sectors, config, info, served)
        n_links += nl
        links_meta = links_f if links_meta is None else links_meta
        rows_all[:, refine.ravel()] = rows_f[:, refine.ravel()]
        best_all[refine.ravel()] = best_f[refine.ravel()]
    if links_meta is None:
        from qamtu.engine.links import empty_links

        links_meta = empty_links(shape, sectors, config, info)
    if stats is not None:
        stats.append(MultiresStats(pixels=int(mask.sum()), lattice=int(lattice.sum()), refined=int(refine.sum()),
                                   interpolated=int(interp.sum()), links=n_links, blocks=n_blocks,
                                   blocks_interpolated=n_good))
    return result_from_rows(area, links_meta, config, np.ones(len(sectors), bool), rows_all, best_all, full=True,
                            all_classes=True)
