"""Candidate links shared by city plans whose engine settings differ only in what the path terms ignore.

A sweep plans a city once per combination of, say, RSRP threshold and coverage level. The planner's coverage links
(:class:`qamtu.plan.model.CityModel`: every candidate sector within its coverage reach) hold the same path terms,
gains and powers for all of them; only each link's coverage probability (the threshold), the search radius (the
reach, from the threshold and the level) and the relevance rule differ. A :class:`LinkShare` holds the engine
configurations of those plans (``configs``); the first plan that asks for its coverage links gets them computed for
every configuration of its family at once (:func:`qamtu.engine.links.compute_links_many`: one evaluation of the
path terms, each configuration's links identical to its own computation), the later plans find theirs computed.

Only links of the same area and the same sector table are shared (a fingerprint of both): a threshold that changes
the candidate lattice (per-class spacings follow the link budget) has its own table, and the plan's full-engine
links of the chosen sites (different per plan) are not shared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["LinkShare"]


def _fingerprint(area: Any, sites: Any) -> str:
    """A digest of what the links of ``sites`` on ``area`` depend on besides the engine configuration."""
    from qamtu.engine import prepare_sectors

    sectors = prepare_sectors(sites, getattr(area, "crs", None))
    h = hashlib.sha1()
    h.update(repr((tuple(area.shape), float(area.resolution_m), tuple(area.transform), getattr(area, "crs", None),
                   getattr(area, "terrain_source", None))).encode())
    for arr in (area.mask, area.env_class):
        h.update(np.ascontiguousarray(np.asarray(arr)).tobytes())
    for name in ("x_m", "y_m", "height_m", "azimuth_deg", "mechanical_tilt_deg", "electrical_tilt_deg",
                 "tx_power_dbm"):
        h.update(np.ascontiguousarray(getattr(sectors, name), dtype=float).tobytes())
    h.update("\0".join(map(str, sectors.antenna)).encode())
    return h.hexdigest()


class LinkShare:
    """Links computed once for a family of engine configurations (see the module docstring).

    ``configs``: the configurations whose plans will ask (a sweep's, for one city). ``evaluations`` counts the
    link computations run (one per family, area and sector table), ``taken`` the requests answered with links an
    earlier request computed.
    """

    def __init__(self, configs: Iterable[Any] = ()):
        self.configs = list(configs)
        self.evaluations = 0
        self.taken = 0
        self._links: dict[tuple[str, str, str], Any] = {}

    def family(self, config: Any) -> list[Any]:
        """``config`` and the configurations of the share that differ from it only in
        :data:`qamtu.engine.links.LINK_SHARED_FIELDS` (only ``config`` when it is not one of the share's)."""
        from qamtu.engine.links import same_link_terms

        if config not in self.configs:
            return [config]
        return [config] + [c for c in self.configs if c != config and same_link_terms(c, config)]

    def links(self, tag: str, area: Any, sites: Any, config: Any, derive: Callable[[Any], Any] | None = None,
              **kwargs: Any) -> Any:
        """``compute_links(area, sites, derive(config), **kwargs)``, computed for the whole family of ``config``
        on the first request (``tag`` names the kind of links, e.g. ``"coverage"``). The links of the others are
        kept until each is asked for once (then the plan that asked holds them, and the share lets them go)."""
        from qamtu.engine.links import compute_links_many

        derive = derive if derive is not None else (lambda c: c)
        key = (tag, _fingerprint(area, sites))
        want = repr(derive(config))
        got = self._links.pop((*key, want), None)
        self.taken += got is not None
        if got is None:
            todo: dict[str, Any] = {}
            for c in self.family(config):
                d = derive(c)
                todo.setdefault(repr(d), d)
            for text, links in zip(todo, compute_links_many(area, sites, list(todo.values()), **kwargs)):
                if text == want:
                    got = links
                else:
                    self._links[(*key, text)] = links
            self.evaluations += 1
        return got
