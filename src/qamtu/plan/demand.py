"""Busy-hour demand: how much DL traffic each person asks for in the busy hour (:class:`DemandModel`), the input of
the capacity stage (:mod:`qamtu.plan.capacity`) and of the candidate lattices' spacing (:mod:`qamtu.plan.candidates`).

Demand model
------------
Busy-hour DL traffic per person = 5G take-up x active share x rate per active user (:class:`DemandModel`); a
pixel's demand is that times its people. Defaults (all scenario parameters, ``planning.capacity``):

* ``take_up = 0.30``: share of the people using 5G in the busy hour of the planning year. An assumption of the order
  of GSMA Intelligence's 5G adoption forecasts for the CIS region around 2030 (roughly a fifth to a third of
  mobile connections; GSMA, "The Mobile Economy Russia & CIS", 2023). Change it to the operator's forecast.
* ``active_share = 0.0125`` and ``rate_per_active_user_mbps = 10``: together 0.125 Mbit/s per 5G user in the busy
  hour, the average load of a user with 21 GB a month (Ericsson Mobility Report, June 2024: average monthly mobile
  data per smartphone, global 2023, about 21 GB) of which 8 % in the busy hour (a planning convention, about
  1/12 of the daily volume): 21e3 MB x 8 bit x 0.08 / (30 x 3600 s) = 0.124 Mbit/s. Written as 1.25 % of the 5G
  users each pulling 10 Mbit/s (a stream of good-quality video) so each factor can be changed on its own.

Per person that is 0.30 x 0.0125 x 10 = 0.0375 Mbit/s; 10,000 people/km2 (this project's "dense urban" class)
ask for 375 Mbit/s per km2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qamtu.errors import InvalidInputError

if TYPE_CHECKING:
    from qamtu.engine import EngineConfig

__all__ = ["DemandModel"]


@dataclass(frozen=True)
class DemandModel:
    """Busy-hour DL demand per person (see the module docstring for the defaults and their sources).

    Parameters
    ----------
    take_up : float
        Share of the people using 5G, [0, 1].
    active_share : float
        Share of the 5G users active at the same time in the busy hour, [0, 1].
    rate_per_active_user_mbps : float
        DL rate an active user pulls, Mbit/s, >= 0.
    target_load : float or None
        Utilisation a sector may reach, (0, 1]; None: the engine's ``cell_load``.
    """

    take_up: float = 0.30
    active_share: float = 0.0125
    rate_per_active_user_mbps: float = 10.0
    target_load: float | None = None

    def __post_init__(self) -> None:
        for name in ("take_up", "active_share"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0.0 <= v <= 1.0):
                raise InvalidInputError(f"demand: {name} = {v!r} is not allowed; give a share in [0, 1]")
        v = self.rate_per_active_user_mbps
        if not (np.isfinite(v) and 0.0 <= v <= 1e5):
            raise InvalidInputError(f"demand: rate_per_active_user_mbps = {v!r} is not allowed; give 0 to 100000 Mbit/s")
        if self.target_load is not None and not (np.isfinite(self.target_load) and 0.0 < self.target_load <= 1.0):
            raise InvalidInputError(f"demand: target_load = {self.target_load!r} is not allowed; give a share in (0, 1]")

    @property
    def per_person_mbps(self) -> float:
        """Busy-hour DL demand per person, Mbit/s."""
        return self.take_up * self.active_share * self.rate_per_active_user_mbps

    def scaled(self, factor: float) -> "DemandModel":
        """The same model with the rate per active user times ``factor`` (e.g. 2: double demand)."""
        return DemandModel(self.take_up, self.active_share, self.rate_per_active_user_mbps * factor, self.target_load)

    def load_limit(self, config: EngineConfig) -> float:
        return float(config.cell_load if self.target_load is None else self.target_load)

    def as_dict(self) -> dict[str, float | None]:
        return {"take_up": self.take_up, "active_share": self.active_share,
                "rate_per_active_user_mbps": self.rate_per_active_user_mbps, "target_load": self.target_load,
                "per_person_mbps": self.per_person_mbps}
