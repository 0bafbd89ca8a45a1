"""Explanations of a plan: what every chosen site adds, what would be lost without it, and why neighbours lost.

Credit is given on the engine's verdict: a pixel counts for site ``s`` when the engine covers it in the final
plan AND ``s`` covers it in the final coverage relation (the one the optimiser last worked with). So

* ``added_*``: people and km^2 a site newly covers at its step of the addition order (locked/existing sites
  first, then by new coverage per cost); the ``added_*`` columns sum to the engine-covered demand that some
  chosen site is credited with;
* ``unique_*``: the demand only this site is credited with (lost if it alone were removed, at first order:
  removing a site also lowers interference, which the first-order figure ignores);
* rejected candidates are compared with the chosen site whose round-0 coverage overlaps theirs most: the share
  of their coverable demand that site also covers, their cost relative to it, and what they would still add.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    from qamtu.plan.model import CityModel
    from qamtu.plan.repair import RepairResult

__all__ = ["explain_plan"]


def _fmt_people(x: float) -> str:
    return f"{x:,.0f}"


def explain_plan(model: CityModel, res: RepairResult, max_neighbours: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-site explanation table of the chosen sites, and the rejected candidates with their reasons.

    Parameters
    ----------
    model : CityModel
        Provides ``sites`` (site table), ``population`` and ``area_km2`` per mask pixel.
    res : RepairResult
        ``selected``, ``order``, ``covered``, ``relation`` (final), ``relation0`` (round 0).
    max_neighbours : int
        Rejected neighbours named per chosen site.

    Returns
    -------
    sites : DataFrame
        One row per chosen site, in order of addition.
    rejected : DataFrame
        One row per candidate not chosen (with ``nearest_chosen``, ``same_coverage_share``, ``cost_ratio``,
        ``would_add_population``, ``would_add_area_km2``, ``reason``).
    """
    sites = model.sites
    pop = np.asarray(model.population, float)
    area = np.asarray(model.area_km2, float)
    sel = np.asarray(res.selected, bool)
    covered = np.asarray(res.covered, bool)
    rel = sp.csr_matrix(res.relation, dtype=bool)
    credit = sp.csc_matrix(sp.diags(covered.astype(np.float64)) @ rel.astype(np.float64))
    credit.eliminate_zeros()
    chosen = np.asarray(res.order, np.int64)
    credited_by = np.asarray(credit[:, sel].sum(axis=1)).reshape(-1)
    done = np.zeros(pop.size, bool)
    rows = []
    for step, s in enumerate(chosen, start=1):
        px = credit.indices[credit.indptr[s]: credit.indptr[s + 1]]
        new = px[~done[px]]
        done[new] = True
        uniq = px[credited_by[px] == 1]
        rows.append({
            "site_id": sites.at[s, "site_id"], "origin": sites.at[s, "origin"], "decision": sites.at[s, "decision"],
            "cost": float(sites.at[s, "cost"]), "order": step,
            "x_m": float(sites.at[s, "x_m"]), "y_m": float(sites.at[s, "y_m"]),
            "lat": float(sites.at[s, "lat"]), "lon": float(sites.at[s, "lon"]),
            "n_sectors": int(sites.at[s, "n_sectors"]),
            "added_population": float(pop[new].sum()), "added_area_km2": float(area[new].sum()),
            "unique_population": float(pop[uniq].sum()), "unique_area_km2": float(area[uniq].sum()),
        })
    out = pd.DataFrame(rows, columns=[
        "site_id", "origin", "decision", "cost", "order", "x_m", "y_m", "lat", "lon", "n_sectors",
        "added_population", "added_area_km2", "unique_population", "unique_area_km2"])

    # rejected candidates vs the chosen site that overlaps them most (round-0 relation, area-weighted)
    rel0 = sp.csc_matrix(res.relation0, dtype=bool)
    rej = np.flatnonzero(~sel)
    rej_rows = []
    neighbours: dict[int, list[tuple[float, str]]] = {int(s): [] for s in chosen}
    if rej.size and chosen.size:
        w = area if area.sum() > 0 else np.ones_like(area)
        r0 = rel0.astype(np.float64)
        cov_w = np.asarray(r0.T @ w).reshape(-1)  # coverable area of each site (round 0)
        overlap = (r0[:, rej].T @ sp.diags(w) @ r0[:, np.sort(chosen)]).tocsr()  # (n_rej, n_chosen)
        chosen_sorted = np.sort(chosen)
        missing = (~covered).astype(np.float64)
        add_pop = np.asarray(r0[:, rej].T @ (missing * pop)).reshape(-1)
        add_area = np.asarray(r0[:, rej].T @ (missing * area)).reshape(-1)
        for n, r in enumerate(rej):
            row = overlap.getrow(n)
            if row.nnz:
                j = int(row.indices[np.argmax(row.data)])
                best = int(chosen_sorted[j])
                same = float(row.data.max() / cov_w[r]) if cov_w[r] > 0 else 0.0
            else:
                best, same = -1, 0.0
            c_r = float(sites.at[r, "cost"])
            c_b = float(sites.at[best, "cost"]) if best >= 0 else float("nan")
            ratio = c_r / c_b if best >= 0 and c_b > 0 else float("nan")
            if sites.at[r, "decision"] == "exclude":
                reason = "ruled out by the user"
            elif cov_w[r] == 0:
                reason = "covers no pixel to the coverage criteria on its own"
            elif add_area[n] <= 0 and add_pop[n] <= 0:
                reason = "everything it could cover is already covered by the plan"
            elif best >= 0:
                cost_txt = f"{ratio:.2g}x the cost" if np.isfinite(ratio) else f"cost {c_r:g} (vs {c_b:g})"
                reason = (f"covers {same:.0%} the same area as {sites.at[best, 'site_id']} at {cost_txt}; "
                          f"would add {add_area[n]:.2f} km2 and {_fmt_people(add_pop[n])} people not covered yet")
            else:
                reason = (f"would add {add_area[n]:.2f} km2 and {_fmt_people(add_pop[n])} people at cost {c_r:g}: "
                          "less per cost than the chosen sites")
            if best >= 0 and same > 0:
                neighbours[best].append((same, f"{sites.at[r, 'site_id']} ({same:.0%} same area, "
                                                f"{ratio:.2g}x cost)" if np.isfinite(ratio) else
                                        f"{sites.at[r, 'site_id']} ({same:.0%} same area)"))
            rej_rows.append({
                "site_id": sites.at[r, "site_id"], "origin": sites.at[r, "origin"],
                "decision": sites.at[r, "decision"], "cost": c_r, "lat": float(sites.at[r, "lat"]),
                "lon": float(sites.at[r, "lon"]),
                "nearest_chosen": sites.at[best, "site_id"] if best >= 0 else "",
                "same_coverage_share": same, "cost_ratio": ratio,
                "would_add_population": float(add_pop[n]), "would_add_area_km2": float(add_area[n]),
                "reason": reason,
            })
    rejected = pd.DataFrame(rej_rows, columns=[
        "site_id", "origin", "decision", "cost", "lat", "lon", "nearest_chosen", "same_coverage_share",
        "cost_ratio", "would_add_population", "would_add_area_km2", "reason"])
    texts, neigh_txt = [], []
    for s, row in zip(chosen, out.itertuples(index=False)):
        nb = sorted(neighbours.get(int(s), []), key=lambda t: -t[0])[:max_neighbours]
        neigh_txt.append("; ".join(t for _, t in nb))
        lead = {"existing": "existing on-air site (cost 0, always in)", }.get(row.origin, "")
        if not lead and row.decision == "lock":
            lead = "locked in by the user"
        parts = [lead] if lead else []
        parts.append(f"step {row.order}: adds {row.added_area_km2:.2f} km2 and {_fmt_people(row.added_population)} "
                     f"people; only it covers {row.unique_area_km2:.2f} km2 and "
                     f"{_fmt_people(row.unique_population)} people; cost {row.cost:g}")
        if nb:
            parts.append("beat " + ", ".join(t for _, t in nb))
        texts.append("; ".join(parts))
    out["rejected_neighbours"] = neigh_txt
    out["explanation"] = texts
    return out, rejected
