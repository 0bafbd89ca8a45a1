"""Candidates that look like a real network: a lattice per environment class, 4G co-location at a reduced cost."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qamtu.errors import InvalidInputError
from qamtu.plan.candidates import (
    CANDIDATE_SHARE_OF_SPACING,
    REFERENCE_SINR_DB,
    class_spacings_m,
    colocation_candidates,
    combine_candidates,
    env_lattice_candidates,
    lattice_candidates,
)
from qamtu.plan.demand import DemandModel


def test_env_lattice_is_tighter_where_dense(konaev_small):
    from qamtu.geo.area import ENV_CODES

    area, _, _, _ = konaev_small
    present = {n for n, c in ENV_CODES.items() if ((np.asarray(area.env_class) == c) & area.mask).any()}
    spacing = {n: s for n, s in {"dense_urban": 300.0, "urban": 400.0, "suburban": 600.0, "rural": 900.0}.items()
               if n in present}
    cand = env_lattice_candidates(area, spacing)
    sites = cand.drop_duplicates("site_id")
    assert set(sites["env_class"]) <= set(spacing)
    # every site sits in (or is assigned to) its class, and the site density per km2 falls with the spacing
    r, c = area.rowcol(sites["x_m"].to_numpy(), sites["y_m"].to_numpy())
    inside = (r >= 0) & (r < area.shape[0]) & (c >= 0) & (c < area.shape[1])
    inside[inside] &= np.asarray(area.mask)[r[inside], c[inside]]
    density = {}
    for name in spacing:
        z = (np.asarray(area.env_class) == ENV_CODES[name]) & area.mask
        n = int(((sites["env_class"] == name).to_numpy() & inside).sum())
        density[name] = n / (z.sum() * area.pixel_area_km2)
        # a hexagonal lattice has 2 / (sqrt(3) s^2) points per unit area
        if z.sum() * area.pixel_area_km2 > 20 * (spacing[name] / 1e3) ** 2:
            assert density[name] == pytest.approx(2 / (math.sqrt(3) * (spacing[name] / 1e3) ** 2), rel=0.35)
    names = sorted(spacing, key=spacing.get)
    assert all(density[a] >= density[b] for a, b in zip(names, names[1:]) if density[b] > 0)
    with pytest.raises(InvalidInputError, match="environment class"):
        env_lattice_candidates(area, {"downtown": 300.0})


def test_class_spacings_follow_reach_and_capacity(konaev_small):
    from qamtu.radio import nr

    area, _, config, _ = konaev_small
    cover_only = class_spacings_m(area, config)
    assert all(250.0 <= s <= 3000.0 for s in cover_only.values())
    # a demand 100x the default binds capacity in the densest class present: the hand formula of the docstring
    heavy = DemandModel().scaled(100.0)
    with_cap = class_spacings_m(area, config, heavy)
    assert all(with_cap[k] <= cover_only[k] + 1e-9 for k in cover_only)
    name = next(k for k in ("dense_urban", "urban", "suburban", "rural") if k in with_cap)
    from qamtu.geo.area import ENV_CODES

    z = (np.asarray(area.env_class) == ENV_CODES[name]) & area.mask
    density = float(np.asarray(area.population)[z].sum()) / (z.sum() * area.pixel_area_km2)
    rate = float(nr.throughput_mbps(REFERENCE_SINR_DB, config.bandwidth_hz, config.dl_layers, config.tdd_dl_share,
                                    0.0, scs_hz=config.scs_hz, direction="dl"))
    isd_km = math.sqrt(2 * 3 * config.cell_load * rate / (math.sqrt(3) * density * heavy.per_person_mbps))
    expected = float(np.clip(CANDIDATE_SHARE_OF_SPACING * 1e3 * isd_km, 250.0, 3000.0))
    assert expected < cover_only[name]  # capacity binds, not the reach
    assert with_cap[name] == pytest.approx(expected, rel=1e-9)


def test_colocated_4g_sites_are_preferred_at_their_reduced_cost(konaev_small):
    from qamtu.plan import plan_city
    from qamtu.plan.problem import Targets

    area, _, config, _ = konaev_small
    lattice = lattice_candidates(area, 900.0)
    grid4g = lattice.drop(columns=["cost", "decision", "origin", "x_m", "y_m"]).copy()
    grid4g["site_id"] = "4G-" + grid4g["site_id"]
    grid4g["status"] = "existing"
    coloc = colocation_candidates(grid4g, cost=1.0, factor=0.5)
    assert set(coloc["origin"]) == {"colocation"} and np.allclose(coloc["cost"], 0.5)
    cand = combine_candidates(lattice, coloc)
    plan = plan_city(area, cand, Targets.people_first(0.3), config, method="greedy")
    assert plan.targets_met
    # each 4G site is a twin of a lattice site at half the cost: the plan builds only on the 4G grid
    assert set(plan.sites["origin"]) == {"colocation"}
    assert plan.summary["cost"] == pytest.approx(0.5 * plan.summary["sites_selected"])
    with pytest.raises(InvalidInputError, match="co-location"):
        colocation_candidates(grid4g, cost=1.0, factor=1.5)


def test_cli_plan_default_lattice_follows_the_environment_and_takes_4g_sites(konaev_small, tmp_path):
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from qamtu.cli.app import app

    area, _, _, _ = konaev_small
    grid4g = lattice_candidates(area, 900.0).drop(columns=["cost", "decision", "origin", "x_m", "y_m"])
    grid4g["site_id"] = "4G-" + grid4g["site_id"]
    grid4g["status"] = "existing"
    path = tmp_path / "grid4g.csv"
    grid4g.to_csv(path, index=False)
    out = tmp_path / "plan"
    res = CliRunner().invoke(app, ["plan", "--city", "konaev", "--resolution-m", "500", "--max-cutoff-m", "4000",
                                   "--target-territory", "0.3", "--method", "greedy", "--quiet", "--sites-4g",
                                   str(path), "--colocation-cost-factor", "0.4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    sites = pd.read_csv(out / "plan_sites.csv")
    assert set(sites["origin"]) <= {"lattice", "colocation"} and (sites["origin"] == "colocation").any()
    assert (sites.loc[sites["origin"] == "colocation", "cost"] == 0.4).all()
    lattice_ids = sites.loc[sites["origin"] == "lattice", "site_id"]
    assert lattice_ids.str.match(r"^L[DUSR]\d{5}$").all()  # the environment-class lattice is the default
    record = json.loads((out / "plan.json").read_text())
    assert record["files"]["sites_4g"]["sha256"] and record["scenario"]["planning"]["capacity"]["enabled"] is True
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sites_for_coverage"] + summary["sites_for_capacity"] == summary["sites_selected"]
