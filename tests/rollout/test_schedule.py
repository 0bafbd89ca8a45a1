"""Property tests of the rollout scheduler on abstract inputs (no engine)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qamtu.errors import InvalidInputError
from qamtu.rollout import (
    GateResult,
    ScheduleParams,
    SiteTask,
    month_index_of,
    month_label,
    schedule_rollout,
)

CITIES = ("aa", "bb", "cc")
POOLS = ("north", "south")


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 14))
    tasks = []
    for i in range(n):
        city = draw(st.sampled_from(CITIES))
        tasks.append(
            SiteTask(
                city_id=city,
                site_id=f"s{i}",
                cost=float(draw(st.integers(0, 9))),
                lead_time_months=draw(st.integers(0, 5)),
                order=i,
                people=float(draw(st.integers(0, 1000))),
                pool=draw(st.sampled_from(POOLS)),
            )
        )
    crews = {p: draw(st.integers(0, 3)) for p in POOLS}
    rate = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]))
    budget = draw(st.one_of(st.none(), st.floats(0, 20).map(lambda x: round(x, 1))))
    carry = draw(st.booleans())
    priority = draw(st.sampled_from(["people-per-cost", "city-by-city", ["cc", "aa"]]))
    params = ScheduleParams(
        start=dt.date(2024, 1, 1),
        crews=crews,
        sites_per_crew_month=rate,
        monthly_budget=budget,
        carry_over=carry,
        priority=priority,
        max_months=40,
    )
    # a gate that passes when a city-specific (hidden) subset of its sites is on air, non-monotone on purpose
    need = {c: draw(st.integers(0, 3)) for c in CITIES}
    forbid_exact = {c: draw(st.integers(0, 4)) for c in CITIES}
    return tasks, params, need, forbid_exact


def make_gate(need, forbid_exact, log):
    def gate(city, on_air):
        ok = len(on_air) >= need[city] and len(on_air) != forbid_exact[city]
        log.append((city, on_air, ok))
        return GateResult(passed=ok, kpis={"n": len(on_air)})

    return gate


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.sampled_from(["first", "all"]))
def test_schedule_respects_crews_lead_times_budget_and_gates(data, mode):
    tasks, params, need, forbid = data
    log = []
    sched = schedule_rollout(tasks, params, make_gate(need, forbid, log), cities=CITIES, gate_mode=mode)
    by_key = {t.key: t for t in tasks}
    # never more sites in a month than the pool's crews can build
    for m in range(sched.months):
        for pool in POOLS:
            n = sum(1 for k, mm in sched.site_month.items() if mm == m and by_key[k].pool == pool)
            assert n <= params.crews[pool] * params.sites_per_crew_month + 1e-9
            assert n == sched.builds[m][pool]
    # never before lead time
    for k, m in sched.site_month.items():
        if m is not None:
            assert m >= by_key[k].lead_time_months
    # never over the month's budget; carry-over only when asked
    if params.monthly_budget is not None:
        carried = 0.0
        for m in range(sched.months):
            money = params.monthly_budget + (carried if params.carry_over else 0.0)
            spent = sum(by_key[k].cost for k, mm in sched.site_month.items() if mm == m)
            assert spent <= money + 1e-6
            assert math.isclose(spent, sched.spend[m], abs_tol=1e-9)
            carried = money - spent
    # a gate month only where the evaluator said the targets hold with exactly the sites on air then
    for city, cs in sched.cities.items():
        if cs.gate_month is None:
            continue
        on_air = frozenset(by_key[k].site_id for k, m in sched.site_month.items()
                           if m is not None and m <= cs.gate_month and by_key[k].city_id == city)
        if cs.gate_month == 0 and any(c == city and s == frozenset() and ok for c, s, ok in log):
            continue  # passed with nothing built: gate month is the first month
        assert len(on_air) >= need[city] and len(on_air) != forbid[city]
        assert any(c == city and s == on_air and ok for c, s, ok in log)
        # and it is the first such month among the months in which the city's set changed
        for m in range(cs.gate_month):
            earlier = frozenset(by_key[k].site_id for k, mm in sched.site_month.items()
                                if mm is not None and mm <= m and by_key[k].city_id == city)
            assert not (len(earlier) >= need[city] and len(earlier) != forbid[city])


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_schedule_builds_everything_when_resources_allow(data):
    tasks, params, need, forbid = data
    import dataclasses

    params = dataclasses.replace(params, crews={p: 2 for p in POOLS}, sites_per_crew_month=1.0, monthly_budget=None)
    sched = schedule_rollout(tasks, params, lambda c, s: False, cities=CITIES)
    assert all(m is not None for m in sched.site_month.values())
    assert all(cs.gate_month is None for cs in sched.cities.values())


def test_gate_month_is_when_evaluator_passes_not_a_count():
    # 4 sites in one city, one crew building one site a month; the gate needs s2 and s3 on air, not 2 sites
    tasks = [SiteTask("aa", f"s{i}", cost=1.0, order=i) for i in range(4)]
    params = ScheduleParams(crews={"national": 1}, sites_per_crew_month=1.0, priority="city-by-city")
    sched = schedule_rollout(tasks, params, lambda c, s: {"s2", "s3"} <= s)
    assert [sched.site_month[f"aa/s{i}"] for i in range(4)] == [0, 1, 2, 3]
    assert sched.cities["aa"].gate_month == 3
    assert sched.cities["aa"].gate_label == "2024-04"


def test_lead_time_budget_and_carry_over_worked_example():
    # cost 10 each, budget 6 a month: with carry-over a site every second month, without it none ever
    tasks = [SiteTask("aa", f"s{i}", cost=10.0, lead_time_months=1, order=i) for i in range(3)]
    base = dict(crews={"national": 5}, sites_per_crew_month=1.0, monthly_budget=6.0)
    carry = schedule_rollout(tasks, ScheduleParams(**base, carry_over=True), lambda c, s: len(s) == 3)
    # month 0: lead time; money 6, 12 (build, 2 left), 8 (no), 14 (build), 10 (build)
    assert [carry.site_month[f"aa/s{i}"] for i in range(3)] == [1, 3, 4]
    assert carry.cities["aa"].gate_month == 4
    none = schedule_rollout(tasks, ScheduleParams(**base, carry_over=False, max_months=12), lambda c, s: True)
    assert all(m is None for m in none.site_month.values())
    # the empty set passes this gate: the city passes in month 0 with nothing built
    assert none.cities["aa"].gate_month == 0


def test_people_per_cost_priority_order():
    tasks = [
        SiteTask("aa", "cheap", cost=1.0, people=100.0, order=1),
        SiteTask("bb", "dear", cost=10.0, people=500.0, order=0),
        SiteTask("aa", "best", cost=2.0, people=1000.0, order=0),
    ]
    params = ScheduleParams(crews={"national": 1}, sites_per_crew_month=1.0)
    sched = schedule_rollout(tasks, params, lambda c, s: False)
    assert [t.site_id for t in sched.tasks] == ["best", "cheap", "dear"]
    assert [sched.site_month[t.key] for t in sched.tasks] == [0, 1, 2]


def test_user_order_by_site_keys_and_city_ids():
    tasks = [SiteTask("aa", "x", 1.0, order=0), SiteTask("bb", "y", 1.0, order=0), SiteTask("aa", "z", 1.0, order=1)]
    p = ScheduleParams(crews={"national": 1}, sites_per_crew_month=1.0, priority=["bb/y", "aa/z"])
    assert [t.key for t in schedule_rollout(tasks, p, lambda c, s: False).tasks] == ["bb/y", "aa/z", "aa/x"]
    p = ScheduleParams(crews={"national": 1}, sites_per_crew_month=1.0, priority=["bb"])
    assert [t.key for t in schedule_rollout(tasks, p, lambda c, s: False).tasks] == ["bb/y", "aa/x", "aa/z"]
    with pytest.raises(InvalidInputError, match="neither all city ids"):
        schedule_rollout(tasks, ScheduleParams(priority=["nowhere"]), lambda c, s: False)


def test_bad_inputs_are_named():
    with pytest.raises(InvalidInputError, match="cost"):
        SiteTask("aa", "s", cost=-1.0)
    with pytest.raises(InvalidInputError, match="lead_time_months"):
        SiteTask("aa", "s", cost=1.0, lead_time_months=-2)
    with pytest.raises(InvalidInputError, match="priority 'fastest'"):
        ScheduleParams(priority="fastest")
    with pytest.raises(InvalidInputError, match="no crews"):
        schedule_rollout([SiteTask("aa", "s", 1.0, pool="west")], ScheduleParams(), lambda c, s: True)
    with pytest.raises(InvalidInputError, match="unique"):
        schedule_rollout([SiteTask("aa", "s", 1.0), SiteTask("aa", "s", 2.0)], ScheduleParams(), lambda c, s: True)


def test_month_labels():
    start = dt.date(2024, 1, 15)
    assert month_label(start, 0) == "2024-01"
    assert month_label(start, 23) == "2025-12"
    assert month_index_of(start, dt.date(2025, 12, 31)) == 23
    assert month_index_of(start, dt.date(2027, 12, 31)) == 47


@settings(max_examples=80, deadline=None)
@given(scenarios())
def test_bisect_gate_mode_agrees_with_first_for_a_monotone_gate(data):
    tasks, params, need, _ = data
    calls = {"first": 0, "bisect": 0}

    def gate_for(mode):
        def gate(city, on_air):
            calls[mode] += 1
            return len(on_air) >= need[city]  # monotone: adding a site never breaks it
        return gate

    first = schedule_rollout(tasks, params, gate_for("first"), cities=CITIES, gate_mode="first")
    bisect = schedule_rollout(tasks, params, gate_for("bisect"), cities=CITIES, gate_mode="bisect")
    assert {c: s.gate_month for c, s in first.cities.items()} == {c: s.gate_month for c, s in bisect.cities.items()}
    assert first.site_month == bisect.site_month
