"""``qamtu simulate-measurements``: a synthetic drive test drawn from the model's own distributions.

Writes the canonical drive-test columns (``time, lat, lon, operator, tech, rsrp_dbm, sinr_db, dl_mbps, ul_mbps,
cell_id``) with :func:`qamtu.engine.montecarlo.simulate_measurements`: per sample, its own LOS states, shadowing and
(indoor users) building loss, served by the strongest SS-RSRP; ``cell_id`` is the serving sector's (the site
table's ``cell_id`` column, else ``<site_id>-<k>``, which ``qamtu calibrate`` understands). Inspectors rehearse
audits with it; tests and benchmarks use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from qamtu.cli._common import echo_json, fail, guarded


def register(app: typer.Typer) -> None:
    @app.command("simulate-measurements")
    @guarded
    def simulate_measurements_command(
        city: Optional[str] = typer.Option(None, "--city", help="(required) City id (see 'qamtu cities')."),
        sites: Optional[Path] = typer.Option(None, "--sites",
                                             help="(required) Site table (CSV or GeoJSON, one row per sector)."),
        samples: int = typer.Option(1000, "--samples", help="Number of samples (1-10,000,000)."),
        seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same file)."),
        users: str = typer.Option("outdoor", "--users", help="outdoor, indoor or mixed (the area's indoor share)."),
        resolution_m: float = typer.Option(50.0, "--resolution", help="Study-area grid resolution, m (10-1000)."),
        out: Optional[Path] = typer.Option(None, "--out", help="(required) Output CSV file (written atomically)."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of the line."),
    ) -> None:
        """Draw a synthetic drive test from the coverage model (canonical drive-test CSV)."""
        from qamtu.engine.montecarlo import simulate_measurements
        from qamtu.fileio import write_csv_atomic
        from qamtu.geo.area import make_study_area
        from qamtu.geo.catalogue import get_city
        from qamtu.geo.sites import read_sites

        if city is None:
            fail("missing option --city ID")
        if sites is None:
            fail("missing option --sites FILE")
        if out is None:
            fail("missing option --out FILE.csv")
        if users not in ("outdoor", "indoor", "mixed"):
            fail(f"--users must be outdoor, indoor or mixed, got {users!r}")
        if not 1 <= samples <= 10_000_000:
            fail(f"--samples = {samples} is outside the allowed range [1, 10000000]")
        if not 10.0 <= resolution_m <= 1000.0:
            fail(f"--resolution = {resolution_m:g} is outside the allowed range [10, 1000] m")
        area = make_study_area(get_city(city), resolution_m=resolution_m)
        table = read_sites(sites)
        frame = simulate_measurements(area, table, samples, seed, users=users)
        write_csv_atomic(out, frame)
        served = int((frame["cell_id"] != "").sum())
        if as_json:
            echo_json({"out": str(out), "samples": len(frame), "served": served, "users": users, "seed": seed,
                       "city": city})
        else:
            typer.echo(f"{out}: {len(frame)} samples ({served} served), users {users}, seed {seed}")
