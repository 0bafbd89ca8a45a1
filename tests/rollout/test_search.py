"""The resource searches return the true minimum (checked against a linear scan)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from qamtu.rollout import (
    ScheduleParams,
    SiteTask,
    all_pass_by_deadline,
    compare_deadlines,
    minimum_budget,
    minimum_crews,
    minimum_feasible,
    schedule_rollout,
)
from qamtu.rollout.schedule import on_time_by_deadline


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=30), st.sampled_from(["auto", "linear", "bisect"]))
def test_minimum_feasible_against_linear_scan(pattern, method):
    def feasible(v):
        return pattern[v]

    res = minimum_feasible(feasible, 0, len(pattern) - 1, method=method)
    truth = next((i for i, ok in enumerate(pattern) if ok), None)
    if method == "bisect":
        monotone = all(pattern[i] <= pattern[i + 1] for i in range(len(pattern) - 1))
        if monotone:
            assert res.value == truth
    else:
        # linear, and auto for any predicate: bisection verified, or fallen back to the scan (also when the top
        # of the range fails but a value below it holds)
        assert res.value == truth
    if method == "auto" and res.value is not None:
        assert res.monotone_verified == (res.method == "bisect+verified")


@st.composite
def small_rollouts(draw):
    n = draw(st.integers(1, 10))
    tasks = [
        SiteTask(
            draw(st.sampled_from(["aa", "bb"])),
            f"s{i}",
            cost=float(draw(st.integers(1, 5))),
            lead_time_months=draw(st.integers(0, 4)),
            order=i,
            people=float(draw(st.integers(0, 100))),
        )
        for i in range(n)
    ]
    need = {"aa": draw(st.integers(0, 4)), "bb": draw(st.integers(0, 4))}
    months = draw(st.integers(1, 12))
    return tasks, need, months


@settings(max_examples=60, deadline=None)
@given(small_rollouts())
def test_minimum_crews_is_the_minimum(data):
    tasks, need, months = data
    params = ScheduleParams(start=dt.date(2024, 1, 1), crews={"national": 1}, sites_per_crew_month=1.0)
    deadline = dt.date(2024, months, 28)

    def gate(city, on_air):
        return len(on_air) >= min(need[city], sum(t.city_id == city for t in tasks))

    res, best = minimum_crews(tasks, params, gate, deadline, max_crews=12)
    scan = [
        schedule_rollout(tasks, dataclasses.replace(params, crews={"national": n}), gate).all_pass_by(deadline)
        for n in range(1, 13)
    ]
    truth = next((i + 1 for i, ok in enumerate(scan) if ok), None)
    assert res.value == truth
    if truth is not None:
        assert best.all_pass_by(deadline)


@settings(max_examples=40, deadline=None)
@given(small_rollouts(), st.booleans())
def test_minimum_budget_is_the_minimum(data, carry):
    tasks, need, months = data
    params = ScheduleParams(crews={"national": 3}, sites_per_crew_month=1.0, carry_over=carry)
    deadline = dt.date(2024, months, 28)

    def gate(city, on_air):
        return len(on_air) >= min(need[city], sum(t.city_id == city for t in tasks))

    res, budget, best = minimum_budget(tasks, params, gate, deadline, step=1.0)
    hi = int(sum(t.cost for t in tasks))
    scan = [
        schedule_rollout(tasks, dataclasses.replace(params, monthly_budget=float(b)), gate).all_pass_by(deadline)
        for b in range(0, hi + 1)
    ]
    truth = next((b for b, ok in enumerate(scan) if ok), None)
    assert res.value == truth
    if truth is not None:
        assert budget == float(truth) and best.all_pass_by(deadline)


def test_compare_deadlines_2025_vs_2027():
    # 30 sites in one city, the gate needs all 30; lead time 1 month; start Jan 2024
    tasks = [SiteTask("aa", f"s{i}", cost=1.0, lead_time_months=1, order=i) for i in range(30)]
    params = ScheduleParams(start=dt.date(2024, 1, 1), crews={"national": 1}, sites_per_crew_month=1.0)
    cmp = compare_deadlines(tasks, params, lambda c, s: len(s) == 30)
    rows = cmp.rows()
    # one crew: months 1..30 -> last site in month index 30 = July 2026: late for 2025, on time for 2027
    assert cmp.schedule.cities["aa"].gate_label == "2026-07"
    assert [r["cities_on_time"] for r in rows] == [0, 1]
    # 2025 (month index 23): 23 build months from month 1 -> 2 crews (2 a month: 15 months); 2027: 1 crew
    assert [r["min_crews_per_pool"] for r in rows] == [2, 1]


# --- issue 15: the search is logarithmic in the answer and bounded by the range ---


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10**9), st.sampled_from(["auto", "bisect"]))
def test_search_is_logarithmic_in_the_answer(answer, method):
    # a monotone predicate over [1, 10^9]: exponential probes then bisection, then (auto) a bounded check below
    from qamtu.rollout.search import VERIFY_LIMIT, VERIFY_WINDOW

    res = minimum_feasible(lambda v: v >= answer, 1, 10**9, method=method)
    assert res.value == answer
    log2 = answer.bit_length()
    extra = (min(VERIFY_LIMIT, answer - 1) if answer - 1 <= VERIFY_LIMIT else VERIFY_WINDOW) if method == "auto" else 0
    assert len(res.evaluations) <= 2 * log2 + 2 + extra


def test_infeasible_everywhere_is_answered_with_few_evaluations():
    res = minimum_feasible(lambda v: False, 1, 10**9, method="auto")
    assert res.value is None and len(res.evaluations) <= 32
    assert "not checked" in res.method


def test_linear_search_over_a_huge_range_is_refused():
    import pytest

    from qamtu.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="linear search over 1000000 values is refused"):
        minimum_feasible(lambda v: v > 5, 1, 10**6, method="linear")


def test_tiny_build_rate_is_bounded():
    # sites_per_crew_month = 1e-6 (the scenario refuses it; the library call bounds it): 2,000,000 crews would be
    # the old upper end, searched linearly (7 minutes); now at most MAX_CREWS and a logarithmic number of schedules
    from qamtu.rollout.search import MAX_CREWS

    tasks = [SiteTask("aa", f"s{i}", cost=1.0, lead_time_months=0, order=i) for i in range(2)]
    params = ScheduleParams(start=dt.date(2024, 1, 1), crews={"national": 1}, sites_per_crew_month=1e-6)
    calls = []

    def gate(city, on_air):
        calls.append(1)
        return len(on_air) == 2

    res, best = minimum_crews(tasks, params, gate, dt.date(2025, 12, 31))
    assert max(res.evaluations) <= MAX_CREWS
    assert len(res.evaluations) <= 2 * MAX_CREWS.bit_length() + 2
    assert res.value is None and best is None  # even 100,000 crews build 0.1 site a month


def test_minimum_crews_breaks_ties_as_the_scheduler_does():
    # Hypothesis found it: two cities with equal priority; the search passed the cities sorted by id, which
    # changed the scheduler's tie-break, so it answered 2 crews where 1 is enough with the scheduler's own order.
    tasks = [SiteTask("bb", "s0", cost=1.0, lead_time_months=0, order=0, people=0.0),
             SiteTask("aa", "s1", cost=1.0, lead_time_months=0, order=1, people=0.0)]
    need = {"aa": 0, "bb": 1}
    params = ScheduleParams(start=dt.date(2024, 1, 1), crews={"national": 1}, sites_per_crew_month=1.0)

    def gate(city, on_air):
        return len(on_air) >= need[city]

    deadline = dt.date(2024, 1, 28)
    assert schedule_rollout(tasks, params, gate).all_pass_by(deadline)
    res, best = minimum_crews(tasks, params, gate, deadline, max_crews=12)
    assert res.value == 1 and best.all_pass_by(deadline)


@settings(max_examples=150, deadline=None)
@given(small_rollouts(), st.integers(1, 4), st.integers(0, 2**30), st.integers(-2, 14),
       st.sampled_from([None, 3.0, 7.0]))
def test_deadline_walks_answer_as_the_full_schedule(data, crews, seed, deadline_month, budget):
    """The searches' shortcut (walk stopped at the deadline and at the first late city) against the full
    schedule's ``all_pass_by``, for an arbitrary (not monotone) gate; it never asks a set the schedule does not."""
    import random

    tasks, _, _ = data
    params = ScheduleParams(start=dt.date(2024, 1, 1), crews={"national": crews}, sites_per_crew_month=1.0,
                            monthly_budget=budget)
    rng = random.Random(seed)
    verdict: dict = {}

    def gate(city, on_air):  # a fixed random verdict per (city, set)
        key = (city, frozenset(on_air))
        if key not in verdict:
            verdict[key] = rng.random() < 0.4
        return verdict[key]

    asked_full, asked_short = set(), set()

    def recording(asked):
        return lambda city, on_air: asked.add((city, frozenset(on_air))) or gate(city, on_air)

    deadline = dt.date(2024, 1, 1) + dt.timedelta(days=31 * deadline_month) if deadline_month >= 0 \
        else dt.date(2023, 12 + deadline_month, 1)
    cities = ["bb", "aa"]
    sched = schedule_rollout(tasks, params, recording(asked_full), cities=cities)
    got = all_pass_by_deadline(tasks, params, recording(asked_short), deadline, cities=cities)
    assert got == sched.all_pass_by(deadline)
    per_city = on_time_by_deadline(tasks, params, recording(asked_short), deadline, cities=cities)
    assert per_city == {c: sched.on_time(c, deadline) for c in sched.cities}
    assert asked_short <= asked_full
