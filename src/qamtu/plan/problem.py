"""The abstract covering model the optimisers work on: demand units, candidate sites and who covers whom.

Nothing here knows about radio: a :class:`CoverageProblem` is demand units (each with a population and an area),
candidate sites (each with a cost and a decision: free, locked in, ruled out) and a sparse boolean relation
"site ``s`` covers unit ``j``". :func:`aggregate_demand` builds it from a pixel-level relation by grouping pixels
whose coverage signature (the set of sites that can cover them) is identical; that grouping is exact for the
covering model (pixels with the same signature are interchangeable in every constraint).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from qamtu.errors import InternalError, InvalidInputError
from qamtu.targets import Targets  # the one target type, re-exported for the planner's callers

__all__ = ["Targets", "CoverageProblem", "aggregate_demand"]


@dataclass
class CoverageProblem:
    """A weighted partial covering instance.

    Parameters
    ----------
    cover : scipy.sparse matrix, shape (n_units, n_sites), bool
        ``cover[j, s]`` is True if site ``s`` covers demand unit ``j``.
    population : ndarray, shape (n_units,)
        People in each unit (>= 0).
    area_km2 : ndarray, shape (n_units,)
        Territory of each unit, km^2 (>= 0).
    cost : ndarray, shape (n_sites,)
        Build cost of each site (>= 0, any currency; existing on-air sites cost 0).
    site_ids : sequence of str, length n_sites
    population_total, area_total_km2 : float
        Totals of the whole study area, including what no candidate can cover: shares are relative to these.
    lock, exclude : ndarray of bool, shape (n_sites,), optional
        Sites that must be chosen / must not be chosen. A site cannot be both.
    budget : float or None
        Upper bound on the total cost of the chosen sites.
    """

    cover: sp.csr_matrix
    population: np.ndarray
    area_km2: np.ndarray
    cost: np.ndarray
    site_ids: np.ndarray
    population_total: float
    area_total_km2: float
    lock: np.ndarray | None = None
    exclude: np.ndarray | None = None
    budget: float | None = None
    _csc: sp.csc_matrix | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        cover = sp.csr_matrix(self.cover, dtype=bool)
        cover.eliminate_zeros()
        cover.sort_indices()
        self.cover = cover
        n_units, n_sites = cover.shape
        self.population = np.asarray(self.population, dtype=np.float64).reshape(-1)
        self.area_km2 = np.asarray(self.area_km2, dtype=np.float64).reshape(-1)
        self.cost = np.asarray(self.cost, dtype=np.float64).reshape(-1)
        self.site_ids = np.asarray([str(s) for s in self.site_ids], dtype=object)
        for name, arr, n in (
            ("population", self.population, n_units),
            ("area_km2", self.area_km2, n_units),
            ("cost", self.cost, n_sites),
            ("site_ids", self.site_ids, n_sites),
        ):
            if arr.shape != (n,):
                raise InvalidInputError(f"coverage problem: {name} has shape {arr.shape}, expected ({n},)")
        for name, arr in (("population", self.population), ("area_km2", self.area_km2), ("cost", self.cost)):
            bad = ~np.isfinite(arr) | (arr < 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                label = f"site {self.site_ids[i]!r}" if name == "cost" else f"unit {i}"
                raise InvalidInputError(f"coverage problem: {name} of {label} is {arr[i]!r}; must be finite and >= 0")
        if len(set(self.site_ids.tolist())) != n_sites:
            raise InvalidInputError("coverage problem: site ids are not unique")
        self.lock = np.zeros(n_sites, bool) if self.lock is None else np.asarray(self.lock, bool).reshape(-1)
        self.exclude = np.zeros(n_sites, bool) if self.exclude is None else np.asarray(self.exclude, bool).reshape(-1)
        if self.lock.shape != (n_sites,) or self.exclude.shape != (n_sites,):
            raise InvalidInputError("coverage problem: lock/exclude must have one entry per site")
        both = self.lock & self.exclude
        if both.any():
            raise InvalidInputError(
                f"site {self.site_ids[int(np.flatnonzero(both)[0])]!r} is both locked in and ruled out; choose one"
            )
        if not (self.population_total >= self.population.sum() - 1e-6 * max(1.0, self.population_total)):
            raise InvalidInputError("coverage problem: population_total is smaller than the population of the units")
        if not (self.area_total_km2 >= self.area_km2.sum() - 1e-9 * max(1.0, self.area_total_km2)):
            raise InvalidInputError("coverage problem: area_total_km2 is smaller than the area of the units")
        if self.budget is not None:
            if not np.isfinite(self.budget) or self.budget < 0:
                raise InvalidInputError(f"budget = {self.budget!r} is not allowed; give a number >= 0")
            locked_cost = float(self.cost[self.lock].sum())
            if locked_cost > self.budget * (1 + 1e-12):
                raise InvalidInputError(
                    f"budget {self.budget:g} is below the cost of the locked-in sites ({locked_cost:g})"
                )
        self._csc = None

    # -- shape and access ---------------------------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return int(self.cover.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.cover.shape[1])

    @property
    def csc(self) -> sp.csc_matrix:
        """The relation by site (column access), cached."""
        if self._csc is None:
            self._csc = self.cover.tocsc()
            self._csc.sort_indices()
        return self._csc

    def units_of(self, site: int) -> np.ndarray:
        """Indices of the units that site ``site`` covers."""
        c = self.csc
        return c.indices[c.indptr[site] : c.indptr[site + 1]]

    # -- evaluation ---------------------------------------------------------------------------------------------
    def covered_units(self, selected: np.ndarray) -> np.ndarray:
        """Boolean mask over units covered by at least one selected site."""
        sel = np.asarray(selected, bool)
        return np.asarray(self.cover @ sel.astype(np.int32)).reshape(-1) > 0

    def shares(self, selected: np.ndarray) -> tuple[float, float]:
        """(territory share, population share) covered by the selected sites, under this model."""
        cov = self.covered_units(selected)
        return self.shares_of_units(cov)

    def shares_of_units(self, covered: np.ndarray) -> tuple[float, float]:
        area = float(self.area_km2[covered].sum()) / self.area_total_km2 if self.area_total_km2 > 0 else 0.0
        pop = float(self.population[covered].sum()) / self.population_total if self.population_total > 0 else 0.0
        return area, pop

    def requirements(self, targets: Targets) -> list[tuple[str, np.ndarray, float]]:
        """One ``(name, weights, required amount)`` per target given (amount in the units of the weights)."""
        out = []
        if targets.territory_share is not None:
            out.append(("territory", self.area_km2, targets.territory_share * self.area_total_km2))
        if targets.population_share is not None:
            out.append(("population", self.population, targets.population_share * self.population_total))
        return out

    def max_shares(self) -> tuple[float, float]:
        """The best shares any plan can reach: every site that is not ruled out."""
        return self.shares(~self.exclude)


def aggregate_demand(
    pixel_cover: sp.spmatrix,
    population: np.ndarray,
    area_km2: np.ndarray,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Group demand pixels with identical coverage signatures into demand units (exact).

    Parameters
    ----------
    pixel_cover : scipy.sparse matrix, shape (n_pixels, n_sites), bool
        ``pixel_cover[i, s]`` is True if site ``s`` covers pixel ``i``.
    population : ndarray, shape (n_pixels,)
        People per pixel.
    area_km2 : ndarray, shape (n_pixels,)
        Territory per pixel, km^2.

    Returns
    -------
    unit_cover : scipy.sparse.csr_matrix, shape (n_units, n_sites), bool
        One row per distinct non-empty signature, in order of the first pixel that has it.
    unit_population, unit_area_km2 : ndarray, shape (n_units,)
        Sums over the pixels of each unit.
    pixel_unit : ndarray of int64, shape (n_pixels,)
        The unit of each pixel, ``-1`` for pixels no site covers.

    Notes
    -----
    Two pixels with the same set of covering sites appear in exactly the same constraints of the covering model
    (a pixel is covered iff one of its sites is chosen), so replacing them by one unit carrying their summed
    weights changes neither the feasible set nor any objective: the aggregation is exact, not an approximation.
    Signatures are hashed with two independent 64-bit random linear hashes and the grouping is then verified
    exactly (the rebuilt pixel relation must equal the input), so a hash collision cannot go unnoticed.
    """
    cover = sp.csr_matrix(pixel_cover, dtype=bool)
    cover.eliminate_zeros()
    cover.sort_indices()
    n_pixels, n_sites = cover.shape
    population = np.asarray(population, np.float64).reshape(-1)
    area_km2 = np.asarray(area_km2, np.float64).reshape(-1)
    if population.shape != (n_pixels,) or area_km2.shape != (n_pixels,):
        raise InvalidInputError("aggregate_demand: population and area_km2 need one value per pixel")
    nnz_row = np.diff(cover.indptr)
    coverable = np.flatnonzero(nnz_row > 0)
    pixel_unit = np.full(n_pixels, -1, np.int64)
    if coverable.size == 0:
        return sp.csr_matrix((0, n_sites), dtype=bool), np.zeros(0), np.zeros(0), pixel_unit
    rng = np.random.default_rng(0x9A17)  # fixed: the hash only has to separate signatures, verified below
    keys = rng.integers(1, 2**63 - 1, size=(2, n_sites), dtype=np.int64).astype(np.uint64)
    rows = np.repeat(np.arange(n_pixels), nnz_row)
    h = np.zeros((2, n_pixels), np.uint64)
    with np.errstate(over="ignore"):
        for k in range(2):
            np.add.at(h[k], rows, keys[k][cover.indices])
    sig = np.stack([h[0][coverable], h[1][coverable], nnz_row[coverable].astype(np.uint64)], axis=1)
    _, first, inverse = np.unique(sig, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    # canonical unit order: by the first pixel carrying the signature (independent of hash values)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    unit_of_coverable = rank[inverse]
    pixel_unit[coverable] = unit_of_coverable
    n_units = order.size
    rep_pixels = coverable[first[order]]
    unit_cover = cover[rep_pixels]
    # exact verification: every pixel's row equals its unit's row
    rebuilt = unit_cover[unit_of_coverable]
    diff = rebuilt != cover[coverable]
    if diff.nnz:
        raise InternalError("aggregate_demand: two coverage signatures share a hash (should not happen); please "
                         "report it with the inputs")
    unit_population = np.bincount(unit_of_coverable, weights=population[coverable], minlength=n_units)
    unit_area = np.bincount(unit_of_coverable, weights=area_km2[coverable], minlength=n_units)
    return sp.csr_matrix(unit_cover), unit_population, unit_area, pixel_unit
