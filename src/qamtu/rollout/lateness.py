"""Why a city misses the deadline: which resource binds, read off a finished schedule.

A city passes its gate in month ``g``; it is late when ``g`` is after the deadline month ``D``. The sites it
needed are those on air by ``g``; the ones that went on air after ``D`` are the late ones. For each late site:

* **lead time** binds when its lead time (permits + max(power, backhaul)) ends after ``D``: no crew could have
  built it by the deadline;
* **crews** bind when, in every month from the end of its lead time to ``D``, its crew pool built as many sites
  as it can (``floor(crews x rate)``): the crews were busy with sites of higher priority;
* **budget** binds otherwise (a month with a free crew and the site not built: the money ran out).

The city's reason is the first of these that holds for any late site, in that order (lead time cannot be bought
with crews or money; crews before budget). A city that never passes has reason ``plan`` (the plan does not meet
the targets even with every site on air) or ``horizon`` (sites were left unbuilt when the schedule stopped).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt

from qamtu.rollout.schedule import Schedule, month_index_of

REASONS = ("on_time", "lead_time", "crews", "budget", "plan", "horizon")


@dataclasses.dataclass(frozen=True)
class LateReason:
    """Why one city is where it is against the deadline.

    Attributes
    ----------
    reason : {"on_time", "lead_time", "crews", "budget", "plan", "horizon"}
    gate_month : int or None, month index in which the city passes (None: never)
    late_sites : int, sites the city needed that went on air after the deadline
    lead_end_month : int or None, latest end of lead time among the late sites (month index)
    pool : str or None, crew pool of the late sites (the first one's)
    capacity : int or None, sites that pool builds a month
    """

    reason: str
    gate_month: int | None
    late_sites: int = 0
    lead_end_month: int | None = None
    pool: str | None = None
    capacity: int | None = None


def late_reason(schedule: Schedule, city_id: str, deadline: _dt.date) -> LateReason:
    """The binding resource of ``city_id`` in ``schedule`` against ``deadline`` (see the module docstring)."""
    cs = schedule.cities[city_id]
    d = month_index_of(schedule.params.start, deadline)
    g = cs.gate_month
    if g is not None and g <= d:
        return LateReason("on_time", g)
    if g is None:
        return LateReason("plan" if not cs.passes_at_end and cs.sites_built == cs.sites_total else "horizon", None)
    late = [t for t in schedule.tasks if t.city_id == city_id
            and schedule.site_month[t.key] is not None and d < schedule.site_month[t.key] <= g]
    if not late:  # the gate needed the sites' combination only after D although all were on air: cannot happen
        return LateReason("crews", g)
    lead_end = max(t.lead_time_months for t in late)
    pool = late[0].pool
    cap = schedule.params.capacity(pool)
    common = dict(gate_month=g, late_sites=len(late), lead_end_month=lead_end, pool=pool, capacity=cap)
    if any(t.lead_time_months > d for t in late):
        return LateReason("lead_time", **common)
    for t in late:
        months = range(t.lead_time_months, min(d, schedule.months - 1) + 1)
        if all(schedule.builds[m].get(t.pool, 0) >= schedule.params.capacity(t.pool) for m in months):
            return LateReason("crews", **{**common, "pool": t.pool, "capacity": schedule.params.capacity(t.pool)})
    return LateReason("budget" if schedule.params.monthly_budget is not None else "crews", **common)
