"""The coverage targets of a city and the licence obligation they default to: the one home of both.

:class:`Targets` is the one target type: the planner plans for it (:mod:`qamtu.plan`) and the schedule's quality
gate checks it (:mod:`qamtu.rollout.gates`). The licence obligation's shares (:data:`LICENCE_TERRITORY_SHARE`:
0.75 of the territory of the cities of republican significance, 0.60 of the other regional centres) and its dates
(:data:`START`, :data:`DEADLINE`, :data:`COMPARISON_DEADLINE`) are written here once; the scenario's defaults
(:mod:`qamtu.chain.scenario`), the planner's :func:`~qamtu.plan.planner.default_targets` and the schedule's
:data:`~qamtu.rollout.schedule.DEFAULT_DEADLINE` read them from here.

References
----------
docs/reference/kazakhstan.md, "The task": coverage of 75 % of the territory of the cities of republican
significance and 60 % of the territory of regional centres (licence obligation as announced, Dec 2022); the
deadline moved from the end of 2027 to the end of 2025 (October 2023).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qamtu.errors import InvalidInputError

__all__ = ["Targets", "LICENCE_TERRITORY_SHARE", "START", "DEADLINE", "COMPARISON_DEADLINE", "licence_class",
           "licence_targets"]

#: Territory share of the licence obligation per class of city (``republican``: Astana, Almaty, Shymkent).
LICENCE_TERRITORY_SHARE = {"republican": 0.75, "regional": 0.60}
#: First month of building (after the October 2023 decision).
START = _dt.date(2024, 1, 1)
#: The moved deadline of the licence obligation.
DEADLINE = _dt.date(2025, 12, 31)
#: The licence's original deadline, shown side by side.
COMPARISON_DEADLINE = _dt.date(2027, 12, 31)

_TOL = 1e-9


@dataclass(frozen=True)
class Targets:
    """Coverage targets of a city, as shares in (0, 1], and optionally a 5th-percentile DL rate.

    Parameters
    ----------
    territory_share : float or None
        Share of the study area's territory (pixels inside the boundary, by area) that must be covered.
    population_share : float or None
        Share of the study area's population that must be covered.
    dl_p5_mbps : float or None
        5th percentile of the DL throughput (engine KPI ``dl_mbps_percentiles``), Mbit/s, >= 0; checked by the
        schedule's quality gate (e.g. ITU-R M.2410's 100 Mbit/s user experienced rate), not planned for.

    Notes
    -----
    "Covered" is decided by the coverage engine (``CoverageResult.covered``: SS-RSRP coverage probability at least
    the configured level AND DL throughput at least the configured rate at the configured cell load); the targets
    only say which share of what must be covered. At least one target must be given.
    """

    territory_share: float | None = None
    population_share: float | None = None
    dl_p5_mbps: float | None = None

    def __post_init__(self) -> None:
        if self.territory_share is None and self.population_share is None and self.dl_p5_mbps is None:
            raise InvalidInputError("targets: give a territory share and/or a population share (both are None)")
        for name in ("territory_share", "population_share"):
            value = getattr(self, name)
            if value is None:
                continue
            if not math.isfinite(value) or not 0.0 < float(value) <= 1.0:
                raise InvalidInputError(f"targets: {name} = {value!r} is not allowed; give a share in (0, 1]")
        x = self.dl_p5_mbps
        if x is not None and not (math.isfinite(x) and x >= 0):
            raise InvalidInputError(f"targets: dl_p5_mbps = {x!r} is not allowed; give a number >= 0 or None")

    @classmethod
    def people_first(cls, territory_share: float | None, population_share: float | None = None, *,
                     enabled: bool = True, dl_p5_mbps: float | None = None) -> "Targets":
        """The people-first targets: a population target equal to the territory target unless one is given.

        The one home of the rule ``plan`` and ``national`` share: with ``enabled`` (the default) and no
        ``population_share``, the plan must also serve at least ``territory_share`` of the people, so a plan cannot
        meet its territory target on the empty fringe and leave the dense centre dark. ``enabled=False`` keeps the
        territory-only target (the licence obligation alone).
        """
        if enabled and population_share is None:
            population_share = territory_share
        return cls(territory_share=territory_share, population_share=population_share, dl_p5_mbps=dl_p5_mbps)

    def as_dict(self) -> dict[str, float | None]:
        """The shares (and ``dl_p5_mbps`` when set)."""
        out = {"territory_share": self.territory_share, "population_share": self.population_share}
        if self.dl_p5_mbps is not None:
            out["dl_p5_mbps"] = self.dl_p5_mbps
        return out

    def met(self, territory_share: float, population_share: float, tol: float = _TOL) -> bool:
        """True if the achieved shares meet every share target given (``tol`` absorbs floating-point rounding)."""
        ok = True
        if self.territory_share is not None:
            ok &= territory_share >= self.territory_share - tol
        if self.population_share is not None:
            ok &= population_share >= self.population_share - tol
        return bool(ok)

    def shortfalls(self, kpis: Mapping[str, Any]) -> tuple[str, ...]:
        """Why KPIs (``territory_share``, ``population_share``, ``dl_p5_mbps``) miss the targets; empty when met."""
        reasons = []
        for name, label in (("territory_share", "territory"), ("population_share", "population")):
            target = getattr(self, name)
            if target is not None and not float(kpis.get(name, 0.0)) >= target - _TOL:
                reasons.append(f"{label} share {float(kpis.get(name, 0.0)):.3f} < {target:.3f}")
        if self.dl_p5_mbps is not None:
            p5 = kpis.get("dl_p5_mbps")
            if p5 is None or not p5 >= self.dl_p5_mbps - _TOL:
                reasons.append(f"5th-percentile DL {p5 if p5 is None else round(p5, 1)} Mbit/s < {self.dl_p5_mbps:g}")
        return tuple(reasons)


def licence_class(city: Any) -> str:
    """``"republican"`` for the cities of republican significance (catalogue status), else ``"regional"``."""
    return "republican" if getattr(city, "status", None) == "city_of_republican_significance" else "regional"


def licence_targets(city: Any, population_share: float | None = None, *, people_first: bool = True) -> Targets:
    """The licence obligation's territory target of a city (:data:`LICENCE_TERRITORY_SHARE` of its class); people
    first (the default), the same share of the city's people as well (:meth:`Targets.people_first`)."""
    share = LICENCE_TERRITORY_SHARE[licence_class(city)]
    return Targets.people_first(share, population_share, enabled=people_first)
