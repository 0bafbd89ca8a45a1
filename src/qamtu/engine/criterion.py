"""The coverage criterion, defined once: what "covered" means for the maps, the planner and the schedule's gates.

A pixel is **covered** for a user class when, for a user of that class at a random position of the pixel (over
LOS state, log-normal shadowing and, indoors, the building loss drawn once per user):

* ``P(SS-RSRP >= rsrp_threshold_dbm) >= probability``, and
* ``P(DL throughput >= min_dl_mbps at cell_load) >= probability``, and, when ``min_ul_mbps`` is set,
* ``P(UL throughput >= min_ul_mbps at cell_load) >= probability``.

Defaults (the territory obligation as a planner would defend it): -110 dBm, 0.9, 50 % load, outdoor users,
50 Mbit/s DL, no UL minimum. The probabilities come from :mod:`qamtu.engine.distribution`.

Because the throughput with rank adaptation is monotone in the SINR, the rate criterion is a SINR threshold:
:meth:`CoverageCriterion.min_dl_sinr_db` (found by bisection on :func:`qamtu.radio.nr.rank_adapted_throughput_mbps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qamtu.errors import InvalidInputError, OutOfRangeError

USER_CLASSES = ("outdoor", "indoor", "all")


@dataclass(frozen=True)
class CoverageCriterion:
    """What "covered" means (see the module docstring).

    Parameters
    ----------
    rsrp_threshold_dbm : float
        SS-RSRP threshold, dBm per RE (-110).
    probability : float
        Probability both (all) conditions must reach at the pixel, 0..1 (0.9).
    cell_load : float
        Share of resources busy in every cell (0.5): the neighbours' traffic interference scales with it and the
        user gets the idle share.
    user_class : {"outdoor", "indoor", "all"}
        Whose probabilities decide ``covered`` ("outdoor": the territory obligation; "indoor": indoor users in the
        pixel's mix of low- and high-loss buildings; "all": the pixel's population mix).
    min_dl_mbps : float
        DL rate a user must get (50 Mbit/s).
    min_ul_mbps : float or None
        UL rate a user must get; None = no UL condition.
    """

    rsrp_threshold_dbm: float = -110.0
    probability: float = 0.9
    cell_load: float = 0.5
    user_class: str = "outdoor"
    min_dl_mbps: float = 50.0
    min_ul_mbps: float | None = None

    def __post_init__(self) -> None:
        if self.user_class not in USER_CLASSES:
            raise InvalidInputError(f"user_class {self.user_class!r} must be one of {USER_CLASSES}")
        if not 0.0 <= float(self.probability) <= 1.0:
            raise OutOfRangeError(f"probability {self.probability!r} must be in [0, 1]")
        if not 0.0 <= float(self.cell_load) <= 1.0:
            raise OutOfRangeError(f"cell_load {self.cell_load!r} must be in [0, 1]")
        if self.min_ul_mbps is not None and float(self.min_ul_mbps) < 0:
            raise OutOfRangeError(f"min_ul_mbps {self.min_ul_mbps!r} must be >= 0 or None")

    @classmethod
    def from_config(cls, config: Any) -> "CoverageCriterion":
        """The criterion held by an :class:`~qamtu.engine.config.EngineConfig`."""
        return cls(config.rsrp_threshold_dbm, config.coverage_level, config.cell_load, config.coverage_users,
                   config.min_dl_mbps, config.min_ul_mbps)

    def min_dl_sinr_db(self, config: Any) -> float:
        """Smallest PDSCH SINR (dB, before the split over layers) that gives ``min_dl_mbps`` at ``cell_load``."""
        return _min_sinr_db(config, self.min_dl_mbps, self.cell_load, "dl")

    def min_ul_sinr_db(self, config: Any) -> float:
        """Smallest PUSCH SINR (dB) that gives ``min_ul_mbps`` (``-inf`` when no UL condition)."""
        if self.min_ul_mbps is None:
            return float("-inf")
        return _min_sinr_db(config, self.min_ul_mbps, self.cell_load, "ul")

    def covered(self, p_rsrp, p_dl, p_ul=None) -> np.ndarray:
        """Boolean: every condition reaches ``probability`` (NaN probabilities are not covered)."""
        level = float(self.probability) - 1e-9
        with np.errstate(invalid="ignore"):
            ok = (np.asarray(p_rsrp) >= level) & (np.asarray(p_dl) >= level)
            if self.min_ul_mbps is not None and p_ul is not None:
                ok &= np.asarray(p_ul) >= level
        return ok


def link_rate_mbps(sinr_db, config: Any, direction: str = "dl", load: float | None = None):
    """Rank-adapted user throughput at an SINR (total over the layers, power split over them), Mbit/s."""
    from qamtu.radio import nr

    dl = direction == "dl"
    return nr.rank_adapted_throughput_mbps(
        sinr_db, config.bandwidth_hz, config.dl_layers if dl else config.ul_layers,
        config.tdd_dl_share if dl else config.tdd_ul_share, config.cell_load if load is None else load,
        scs_hz=config.scs_hz, direction=direction,
    )


#: :func:`_min_sinr_db` by the carrier fields :func:`link_rate_mbps` reads, the rate, the load and the direction
#: (a bisection of 60 rate evaluations: every plan, gate evaluator and aggregation asks it)
_MIN_SINR_CACHE: dict[tuple, float] = {}


def _min_sinr_db(config: Any, rate_mbps: float, load: float, direction: str) -> float:
    key = (float(config.bandwidth_hz), int(config.dl_layers), int(config.ul_layers), float(config.tdd_dl_share),
           float(config.tdd_ul_share), float(config.scs_hz), float(rate_mbps), float(load), direction)
    if key not in _MIN_SINR_CACHE:
        if len(_MIN_SINR_CACHE) > 1024:
            _MIN_SINR_CACHE.clear()
        _MIN_SINR_CACHE[key] = _bisect_min_sinr_db(config, rate_mbps, load, direction)
    return _MIN_SINR_CACHE[key]


def _bisect_min_sinr_db(config: Any, rate_mbps: float, load: float, direction: str) -> float:
    if rate_mbps <= 0:
        return float("-inf")
    lo, hi = -30.0, 60.0
    if link_rate_mbps(hi, config, direction, load) < rate_mbps:
        return float("inf")
    if link_rate_mbps(lo, config, direction, load) >= rate_mbps:
        return lo
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if link_rate_mbps(mid, config, direction, load) >= rate_mbps:
            hi = mid
        else:
            lo = mid
    return hi
