"""The sweep and the late reasons on a toy rollout small enough to work out by hand.

Two cities, two sites each, cost 1, no lead time, 1 crew building 1 site a month, deadline 2024-03-31 (month
index 2). A city passes when both its sites are on air. People per cost puts A's sites first: A's are on air in
months 0 and 1, B's in months 2 and 3, so 1 of 2 cities is on time and B is late because the crew is busy (it
builds a site every month up to the deadline). Two crews build two sites a month: months 0, 0, 1, 1, so both are
on time and the minimum is 2 crews.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from qamtu.rollout import GateResult, ScheduleParams, SiteTask, schedule_rollout
from qamtu.rollout.lateness import late_reason
from qamtu.chain.sensitivity import Chain, answer, sweep

DEADLINE = dt.date(2024, 3, 31)


def _tasks(lead=0):
    return [SiteTask(city_id=c, site_id=f"{c}{i}", cost=1.0, lead_time_months=lead, order=i,
                     people=100.0 if c == "A" else 10.0) for c in "AB" for i in range(2)]


def _gate_for(city, config):
    need = {"A": {"A0", "A1"}, "B": {"B0", "B1"}}[city]

    def gate(city_id, on_air):
        hard_enough = config["coverage_level"] <= 0.9 and config.get("rsrp_threshold_dbm", -110.0) <= -110.0
        return GateResult(passed=hard_enough and need <= set(on_air))

    return gate


PARAMS = ScheduleParams(start=dt.date(2024, 1, 1), crews={"national": 1}, sites_per_crew_month=1.0)
BASE = {"coverage_level": 0.9, "cell_load": 0.5, "rsrp_threshold_dbm": -110.0}


def _gate(config=BASE):
    gates = {c: _gate_for(c, config) for c in "AB"}
    return lambda c, on_air: gates[c](c, on_air)


def test_answer_by_hand():
    row = answer(_tasks(), PARAMS, _gate(), ["A", "B"], DEADLINE, resource="crews", method="linear")
    assert row["cities_on_time"] == 1 and row["minimum"] == 2 and row["search_cities"] == 2


def test_late_reasons_by_hand():
    sched = schedule_rollout(_tasks(), PARAMS, _gate(), cities=["A", "B"])
    assert late_reason(sched, "A", DEADLINE).reason == "on_time"
    why = late_reason(sched, "B", DEADLINE)
    assert why.reason == "crews" and why.late_sites == 1 and why.capacity == 1 and why.gate_month == 3
    # B's sites need 4 months of permits: the lead time binds, whatever the crews
    tasks = [t if t.city_id == "A" else dataclasses.replace(t, lead_time_months=4) for t in _tasks()]
    sched = schedule_rollout(tasks, dataclasses.replace(PARAMS, crews={"national": 9}), _gate(), cities=["A", "B"])
    assert late_reason(sched, "B", DEADLINE).reason == "lead_time"
    # plenty of crews but money for one site a month: the budget binds
    sched = schedule_rollout(_tasks(), dataclasses.replace(PARAMS, crews={"national": 9}, monthly_budget=1.0,
                                                           carry_over=False), _gate(), cities=["A", "B"])
    assert late_reason(sched, "B", DEADLINE).reason == "budget"
    # a gate that never passes: the plan is short
    sched = schedule_rollout(_tasks(), PARAMS, _gate({"coverage_level": 0.95}), cities=["A", "B"])
    assert late_reason(sched, "B", DEADLINE).reason == "plan"


def test_sweep_by_hand():
    chain = Chain(tasks=_tasks(), params=PARAMS, gates={c: _gate_for(c, BASE) for c in "AB"}, cities=["A", "B"],
                  deadline=DEADLINE, resource="crews", method="linear", config=_Config(**BASE),
                  gate_for=lambda c, cfg: _gate_for(c, dataclasses.asdict(cfg)))
    rows = {(r["assumption"], r["step"]): r for r in sweep(chain)}
    assert rows[("base", 0)]["cities_on_time"] == 1 and rows[("base", 0)]["minimum"] == 2
    assert ("crews", -1) not in rows  # 0 crews is not a rollout
    assert rows[("crews", 1)]["cities_on_time"] == 2 and rows[("crews", 1)]["value"] == 2
    assert rows[("rate", -1)]["value"] == 0.5 and rows[("rate", -1)]["cities_on_time"] == 0  # floor(0.5) = 0
    # the step is half the rate when the rate is 1 or less: 1.5 sites a month is still 1 site (floor)
    assert rows[("rate", 1)]["value"] == 1.5 and rows[("rate", 1)]["cities_on_time"] == 1
    # sites from month 1: 4 sites in months 1..2 take 2 crews
    assert rows[("lead", 1)]["cities_on_time"] == 1 and rows[("lead", 1)]["minimum"] == 2
    assert rows[("lead", -1)]["cities_on_time"] == 1  # lead times cannot go below 0
    assert rows[("probability", 1)]["cities_on_time"] == 0 and rows[("probability", 1)]["minimum"] is None
    assert rows[("probability", -1)]["cities_on_time"] == 1
    assert rows[("load", 1)]["value"] == 0.75 and rows[("load", -1)]["value"] == 0.25
    # the RSRP threshold one 5 dB step either way: -105 dBm is harder than the toy plans meet
    assert rows[("threshold", -1)]["value"] == -115.0 and rows[("threshold", -1)]["cities_on_time"] == 1
    assert rows[("threshold", 1)]["value"] == -105.0 and rows[("threshold", 1)]["cities_on_time"] == 0


@dataclasses.dataclass(frozen=True)
class _Config:
    coverage_level: float
    cell_load: float
    rsrp_threshold_dbm: float
