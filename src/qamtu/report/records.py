"""What a national run produced, as the report renders it: :class:`CityReport` per city and :class:`NationalReport`.

Built by :mod:`qamtu.chain.national` from the plans and the schedule (or by hand in tests); rendered by
:mod:`qamtu.report.national` (pages, figures, data files) with the wording of :mod:`qamtu.report.content`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable
from typing import Any

import numpy as np

#: a city's status against the deadline
STATUSES = ("on_time", "late", "never")


@dataclasses.dataclass
class CityReport:
    """One city's results for the report.

    Attributes
    ----------
    id : str
    names : dict lang -> str
    lat, lon : float, degrees (city centre, for the national map)
    population : float, people (catalogue)
    site_rows : list of dict
        Per planned site: ``site_id, lat, lon, x_m, y_m, cost, order, on_air_month ("YYYY-MM" or None),
        explanation``.
    cost : float, currency units
    territory_share, population_share : float or None, with every planned site on air (engine)
    dl_p5_mbps : float or None, 5th-percentile DL throughput, Mbit/s, with every planned site on air
    gate_label : str or None, "YYYY-MM" of the gate
    status : {"on_time", "late", "never"}
    passes_at_end : bool
    targets : dict with ``territory_share``, ``population_share``, ``dl_p5_mbps`` (None where not set)
    reasons : list of str, targets not met at the end
    timeline : list of (month label, people covered) at the months the city's sites changed
    crs : str or None; transform : affine.Affine or None (north-up grid of the rasters)
    covered : ndarray of float, shape (rows, cols): 1 covered, 0 not, NaN outside the study area; or None
    dl_mbps : ndarray of float, shape (rows, cols), NaN outside; or None
    boundary : shapely geometry in ``crs`` or None
    to_lonlat : callable (x_m, y_m) -> (lon, lat) or None
    measured : list of dict (``kpi``, ``predicted``, ``measured``) or None; measured_source : str or None
    notes : list of str or (i18n key, format parameters); error : str or None (planning failed: the message)
    kind : {"oblast_centre", "city_of_republican_significance"} (catalogue ``status``)
    late : dict, :class:`qamtu.rollout.lateness.LateReason` as a mapping (``reason``, ``gate_label``,
        ``late_sites``, ``lead_end_label``, ``pool``, ``capacity``); ``{"reason": "failed"}`` when planning failed
    population_share_all : float or None, population share covered counting indoor users too (the engine's
        ``coverage_users="all"``), beside :attr:`population_share` (the scenario's user class)
    terrain : str or None, the elevation model the city was computed on (``None``: flat)
    boundary_note : str or None, what the study area's boundary is (``StudyArea.assumptions()["boundary"]``)
    """

    id: str
    names: dict[str, str]
    lat: float
    lon: float
    population: float
    site_rows: list[dict[str, Any]]
    cost: float
    territory_share: float | None
    population_share: float | None
    dl_p5_mbps: float | None
    gate_label: str | None
    status: str
    passes_at_end: bool
    targets: dict[str, float | None]
    reasons: list[str] = dataclasses.field(default_factory=list)
    timeline: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    crs: str | None = None
    transform: Any = None
    covered: np.ndarray | None = None
    dl_mbps: np.ndarray | None = None
    boundary: Any = None
    to_lonlat: Callable[..., Any] | None = None
    measured: list[dict[str, Any]] | None = None
    measured_source: str | None = None
    notes: list[Any] = dataclasses.field(default_factory=list)
    error: str | None = None
    kind: str = "oblast_centre"
    late: dict[str, Any] = dataclasses.field(default_factory=dict)
    population_share_all: float | None = None
    terrain: str | None = None
    boundary_note: str | None = None

    @property
    def n_sites(self) -> int:
        return len(self.site_rows)

    @property
    def has_rasters(self) -> bool:
        return self.covered is not None and self.dl_mbps is not None and self.transform is not None


@dataclasses.dataclass
class NationalReport:
    """The whole run for the report.

    Attributes
    ----------
    cities : list of CityReport
    start, deadline, comparison_deadline : datetime.date
    months : list of "YYYY-MM", the timeline's months (from the start to past the later deadline)
    comparison : list of dict, one per deadline: ``deadline``, ``cities_on_time``, ``cities``, ``minimum``,
        ``search_method`` (see :meth:`qamtu.rollout.DeadlineComparison.rows`)
    search_resource : {"crews", "budget", "none"}
    resources : dict, the crews, rate and budget used (shown under the comparison)
    currency : str
    schedule_rows : list of dict, one per site (``qamtu.rollout.Schedule.site_rows``)
    notes : list of str or (i18n key, format parameters)
    assumptions : dict, what the numbers assume (see :func:`qamtu.chain.national.assumptions_of`): ``users``,
        ``rsrp_threshold_dbm``, ``coverage_level``, ``min_dl_mbps``, ``cell_load``, ``boundary_approx``,
        ``population_model``, ``cities``
    sensitivity : list of dict, the headline under one step of each assumption (see
        :mod:`qamtu.chain.sensitivity`)
    """

    cities: list[CityReport]
    start: _dt.date
    deadline: _dt.date
    comparison_deadline: _dt.date
    months: list[str]
    comparison: list[dict[str, Any]]
    search_resource: str = "crews"
    resources: dict[str, Any] = dataclasses.field(default_factory=dict)
    currency: str = "cost units"
    schedule_rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    notes: list[Any] = dataclasses.field(default_factory=list)
    assumptions: dict[str, Any] = dataclasses.field(default_factory=dict)
    sensitivity: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def covered_people(self) -> list[float]:
        """National people covered at the end of each month of :attr:`months` (sum over the cities)."""
        total = np.zeros(len(self.months))
        index = {m: i for i, m in enumerate(self.months)}
        for c in self.cities:
            series = np.zeros(len(self.months))
            for label, people in sorted(c.timeline):
                i = index.get(label, 0 if label < self.months[0] else None) if self.months else None
                if i is None:
                    continue
                series[i:] = people
            total += series
        return total.tolist()
