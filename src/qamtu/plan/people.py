"""People first: prefer the plan that serves more people among plans of equal cost, and say where people stay dark.

Two pieces:

* :func:`prefer_people`: a swap pass on a plan that already meets its requirements. A chosen site ``s`` is
  replaced by a site ``t`` that is not chosen when ``cost[t] <= cost[s]``, every requirement (territory,
  population) still holds under the covering model, and the people covered grow. The best such swap is applied,
  then the next, until none is left or ``max_moves`` is reached. Cost never rises, so a bound that proved the plan
  within a gap still proves the swapped plan; among plans of the same cost the one covering more people wins (the
  tie-break of the people-first objective).
* :func:`zone_shares`: per district (or, without a district layer, per environment class) the people and
  territory in it and the shares covered; a zone is *dark* when less than :data:`DARK_SHARE` of its people are
  covered.

Where the districts come from: the shipped ADM2 districts of Astana, Almaty and Shymkent
(:func:`qamtu.geo.shipped.district_masks`, with the pixels outside them as "(outside the districts)"), or a
district layer the study area carries as ``area.districts`` (a GeoDataFrame or a sequence of ``(name, polygon)`` in
the area's CRS). Without either, the zones are the environment classes of :data:`qamtu.geo.area.ENV_CLASSES` (dense
urban, urban, suburban, rural): the report then says "environment class", not "district".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qamtu.plan.objective import TOL as _TOL, Requirement
from qamtu.plan.problem import CoverageProblem

if TYPE_CHECKING:
    from qamtu.geo import StudyArea

__all__ = ["DARK_SHARE", "district_zones", "prefer_people", "zone_layer", "zone_shares"]

#: A zone is "dark" when less than this share of its people is covered (a reporting convention of this project:
#: the majority of the zone's people are without service).
DARK_SHARE = 0.5


def prefer_people(problem: CoverageProblem, needs: list[Requirement], selected: np.ndarray,
                  *, max_moves: int = 50, min_gain_share: float = 1e-4) -> np.ndarray:
    """Swap chosen sites for ones of equal or lower cost that keep every requirement and cover more people.

    Parameters
    ----------
    problem : CoverageProblem
    needs : list of Requirement
        As :func:`qamtu.plan.objective.requirements` returns them.
    selected : ndarray of bool, shape (n_sites,)
        A plan meeting every requirement (if it does not, it is returned unchanged).
    max_moves : int
        Swaps at most (each move is the best one available).
    min_gain_share : float
        A swap must add at least this share of the study area's people (default 0.01 %).

    Returns
    -------
    ndarray of bool
        The new plan; cost is at most the input's, people covered at least the input's.

    Notes
    -----
    The value of every swap ``(s, t)`` is exact and computed for all pairs at once: with ``cnt`` the number of
    chosen sites covering each unit, ``t`` newly covers its units with ``cnt == 0`` (one sparse product for all
    sites) plus the units only ``s`` covered that ``t`` covers too (one sparse product of the chosen sites'
    once-covered units with the relation), and ``s`` loses its units with ``cnt == 1``. One move costs a few sparse
    products and O(chosen sites x sites) dense work.
    """
    sel = np.asarray(selected, bool).copy()
    pop = problem.population
    if pop.sum() <= 0 or problem.n_sites == 0:
        return sel
    weights = [w for _, w, _ in needs]
    required = np.array([need for _, _, need in needs], float)
    cnt = np.asarray(problem.cover @ sel.astype(np.int64)).reshape(-1)
    stack = np.stack([pop, *weights]).T  # (n_units, 1 + n_needs)
    amount = stack[cnt > 0, 1:].sum(axis=0)
    if np.any(amount < required * (1 - _TOL) - 1e-12):
        return sel
    cost = problem.cost
    free = ~problem.lock & ~problem.exclude
    cover_t = problem.csc.T.tocsr()  # (n_sites, n_units)
    cover_f = problem.cover.astype(np.float64)
    tol_pop = max(float(min_gain_share) * problem.population_total, 1e-9)
    for _ in range(int(max_moves)):
        movable = np.flatnonzero(sel & ~problem.lock)
        if movable.size == 0:
            break
        once = (cnt == 1).astype(np.float64)
        add0 = np.asarray(cover_t @ (stack * (cnt == 0)[:, None]))  # (n_sites, 1 + n_needs)
        rows_s = cover_t[movable]  # (n_movable, n_units): the units of each movable chosen site
        gain_parts = []
        for j in range(stack.shape[1]):
            only_s = rows_s.multiply((once * stack[:, j])[None, :]).tocsr()  # units only s covers, weighted
            lost_j = np.asarray(only_s.sum(axis=1)).reshape(-1)
            shared = (only_s @ cover_f).toarray()  # (n_movable, n_sites): those also covered by t
            gain_parts.append(add0[None, :, j] + shared - lost_j[:, None])
        gain = gain_parts[0]
        ok = (~sel & free)[None, :] & (cost[None, :] <= cost[movable][:, None] + 1e-12) & (gain > tol_pop)
        for j in range(1, stack.shape[1]):
            ok &= amount[j - 1] + gain_parts[j] >= required[j - 1] * (1 - _TOL) - 1e-12
        if not ok.any():
            break
        i_s, i_t = np.nonzero(ok)
        saving = cost[movable[i_s]] - cost[i_t]
        # largest gain, then the largest saving, then the lowest site indices (deterministic)
        k = np.lexsort((i_t, movable[i_s], -saving, -gain[i_s, i_t]))[0]
        s, t = int(movable[i_s[k]]), int(i_t[k])
        sel[s] = False
        sel[t] = True
        cnt[problem.units_of(s)] -= 1
        cnt[problem.units_of(t)] += 1
        amount = stack[cnt > 0, 1:].sum(axis=0)
    return sel


def district_zones(area: StudyArea) -> list[tuple[dict[str, Any], np.ndarray]]:
    """The shipped ADM2 districts of the area's city on its grid (:func:`qamtu.geo.shipped.district_masks`; Astana,
    Almaty, Shymkent) as ``(properties, mask)``, plus the area's pixels outside every district as
    ``"(outside the districts)"`` so the zones add up to the city; empty for the other cities or a study area
    without a catalogue city. The one home of the district zones of the plan's zone table and the coverage KPIs."""
    if getattr(getattr(area, "city", None), "id", None) is None:
        return []
    from qamtu.geo.shipped import district_masks

    masks = list(district_masks(area))
    if not masks:
        return []
    rest = np.asarray(area.mask, dtype=bool).copy()
    for _, m in masks:
        rest &= ~np.asarray(m, bool)
    if rest.any():
        masks.append(({"name_en": "(outside the districts)", "kato": "", "pcode": ""}, rest))
    return masks


def zone_layer(area: StudyArea) -> tuple[np.ndarray, list[str], str]:
    """The zones of a study area: ``(labels, names, kind)``.

    ``labels`` (int, shape ``area.shape``) indexes ``names``, -1 outside every zone; ``kind`` is ``"district"``
    when the area carries a district layer (``area.districts``), else ``"environment class"``.
    """
    from qamtu.geo.area import ENV_CLASSES

    masks = district_zones(area)
    if masks:
        labels = np.full(area.shape, -1, np.int64)
        names = []
        for i, (props, m) in enumerate(masks):
            labels[np.asarray(m, bool) & (labels < 0)] = i
            names.append(str(props.get("name_en", i)))
        return labels, names, "district"
    districts = getattr(area, "districts", None)
    if districts is not None and len(districts):
        from rasterio.features import rasterize

        if hasattr(districts, "geometry"):
            name_col = next((c for c in ("name", "name_en", "district", "id") if c in districts.columns), None)
            names = [str(n) for n in (districts[name_col] if name_col else range(len(districts)))]
            geoms = list(districts.geometry)
        else:
            names = [str(n) for n, _ in districts]
            geoms = [g for _, g in districts]
        shapes = [(g, i) for i, g in enumerate(geoms) if g is not None and not g.is_empty]
        labels = rasterize(shapes, out_shape=area.shape, transform=area.transform, fill=-1, dtype="int32")
        return labels.astype(np.int64), names, "district"
    codes = np.asarray(area.env_class, np.int64)
    return codes, list(ENV_CLASSES), "environment class"


def zone_shares(area: StudyArea, covered: np.ndarray) -> pd.DataFrame:
    """People and territory per zone and the shares of them covered.

    Parameters
    ----------
    area : StudyArea
    covered : ndarray of bool, shape ``area.shape``
        The engine's covered pixels (``CoverageResult.covered``).

    Returns
    -------
    DataFrame
        One row per zone with people or territory in the mask: ``zone``, ``zone_kind``, ``population``,
        ``area_km2``, ``population_share`` (of the city's people living there), ``covered_population_share``,
        ``covered_territory_share`` and ``dark`` (covered people share below :data:`DARK_SHARE`).
    """
    labels, names, kind = zone_layer(area)
    mask = np.asarray(area.mask, bool)
    cov = np.asarray(covered, bool) & mask
    pop = np.where(mask, np.asarray(area.population, float), 0.0)
    px_km2 = float(area.resolution_m) ** 2 / 1e6
    total_pop = float(pop.sum())
    rows = []
    for i, name in enumerate(names):
        z = mask & (labels == i)
        n = int(z.sum())
        if n == 0:
            continue
        p = float(pop[z].sum())
        pc = float(pop[z & cov].sum())
        rows.append({
            "zone": name, "zone_kind": kind, "population": p, "area_km2": n * px_km2,
            "population_share": p / total_pop if total_pop > 0 else 0.0,
            "covered_population_share": pc / p if p > 0 else float("nan"),
            "covered_territory_share": int((z & cov).sum()) / n,
            "dark": bool(p > 0 and pc / p < DARK_SHARE),
        })
    return pd.DataFrame(rows, columns=["zone", "zone_kind", "population", "area_km2", "population_share",
                                       "covered_population_share", "covered_territory_share", "dark"])
