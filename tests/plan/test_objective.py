"""The coverage objective (qamtu.plan.objective) and the one drop-redundant pass (qamtu.plan.swap.drop_redundant);
and that the modules of qamtu.plan import each other without a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qamtu.plan
from qamtu.plan.objective import capped_shares, capped_value, meets, requirements
from qamtu.plan.problem import Targets
from qamtu.plan.swap import drop_order, drop_redundant

from test_solve import _problem


def test_capped_value_counts_each_requirement_up_to_one():
    assert capped_value(np.array([5.0, 30.0]), np.array([10.0, 20.0])) == pytest.approx(0.5 + 1.0)
    assert capped_value(np.array([5.0, 3.0]), np.array([10.0, 0.0])) == pytest.approx(0.5)  # nothing required
    t = Targets(territory_share=0.6, population_share=0.8)
    assert capped_shares(t, (0.3, 0.9)) == pytest.approx(0.5 + 1.0)
    assert capped_shares(Targets(population_share=0.5), (0.9, 0.25)) == pytest.approx(0.5)


def test_drop_order_is_most_expensive_first_then_last_added_first():
    cost = np.array([1.0, 3.0, 1.0, 3.0, 2.0])
    assert drop_order(cost, [2, 0, 1, 4, 3]).tolist() == [3, 1, 4, 0, 2]


def test_drop_pass_follows_its_order():
    # units 0..3; sites 0 and 1 both cover units 0-1 (one of them is redundant), site 2 covers 2-3
    p = _problem([[0, 1], [0, 1], [2, 3]], [1.0, 1.0, 1.0], 4)
    needs, _ = requirements(p, Targets(territory_share=1.0))
    sel = np.array([True, True, True])
    assert drop_redundant(p, needs, sel, np.array([0, 1, 2])).tolist() == [False, True, True]
    assert drop_redundant(p, needs, sel, np.array([1, 0, 2])).tolist() == [True, False, True]
    p_locked = _problem([[0, 1], [0, 1], [2, 3]], [1.0, 1.0, 1.0], 4, lock=np.array([True, False, False]))
    assert drop_redundant(p_locked, needs, sel, np.array([0, 1, 2])).tolist() == [True, False, True]


def test_drop_pass_keeps_sites_that_serve_an_unmet_requirement():
    # the target (100 %) is not met by the plan; site 1 adds a unit, site 2 adds nothing new: only site 2 goes
    p = _problem([[0, 1], [2], [0]], [1.0, 1.0, 1.0], 4)
    needs, _ = requirements(p, Targets(territory_share=1.0))
    sel = np.array([True, True, True])
    assert drop_redundant(p, needs, sel, np.array([2, 1, 0])).tolist() == [True, True, False]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_after_the_drop_pass_every_free_site_is_needed(seed):
    rng = np.random.default_rng(seed)
    n_units, n_sites = int(rng.integers(4, 30)), int(rng.integers(2, 12))
    sets = [sorted(rng.choice(n_units, size=int(rng.integers(1, max(2, n_units // 2))), replace=False).tolist())
            for _ in range(n_sites)]
    lock = rng.random(n_sites) < 0.15
    p = _problem(sets, rng.choice([0.5, 1.0, 2.0], size=n_sites), n_units, pop=rng.integers(0, 9, n_units),
                 lock=lock)
    needs, _ = requirements(p, Targets(territory_share=float(rng.choice([0.3, 0.6, 0.9])), population_share=0.5))
    sel = (rng.random(n_sites) < 0.6) | lock
    out = drop_redundant(p, needs, sel, drop_order(p.cost, np.flatnonzero(sel)))
    assert not np.any(out & ~sel) and np.all(out[lock])
    capped = [min(float(w[p.covered_units(out)].sum()), n) for _, w, n in needs]
    before = [min(float(w[p.covered_units(sel)].sum()), n) for _, w, n in needs]
    assert all(c >= b * (1 - 1e-9) - 1e-12 for c, b in zip(capped, before))  # no requirement's capped amount fell
    if meets(p, needs, sel):
        assert meets(p, needs, out)
    for s in np.flatnonzero(out & ~lock):  # removing any free site left would lower a capped amount
        less = out.copy()
        less[s] = False
        after = [min(float(w[p.covered_units(less)].sum()), n) for _, w, n in needs]
        assert any(a < c * (1 - 1e-9) for a, c in zip(after, capped))


def _plan_imports(path: Path) -> set[str]:
    """The qamtu.plan modules a module of qamtu.plan imports at its top level (not under TYPE_CHECKING, not inside
    functions)."""
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qamtu.plan."):
            out.add(node.module.split(".")[2])
    return out


def test_plan_modules_import_without_a_circle():
    folder = Path(qamtu.plan.__file__).parent
    graph = {p.stem: _plan_imports(p) for p in folder.glob("*.py") if p.stem != "__init__"}
    assert {"objective", "greedy", "milp", "bounds", "highs", "swap", "repair", "solution"} <= set(graph)
    state: dict[str, int] = {}

    def visit(m, path):
        if state.get(m) == 1:
            raise AssertionError(f"import circle: {' -> '.join(path + [m])}")
        if state.get(m) == 2:
            return
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            visit(n, path + [m])
        state[m] = 2

    for m in sorted(graph):
        visit(m, [])
