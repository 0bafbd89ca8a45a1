"""``qamtu calibrate-3gpp``: the TR 38.901 Table 7.8-1 large-scale calibration.

Prints the 5th..95th percentiles (step 5) of coupling loss (serving-cell coupling gain, dB) and of geometry
without noise (SIR) and with noise (SINR), from :func:`qamtu.engine.calibration3gpp.run_calibration`.
"""

from __future__ import annotations

from typing import Optional

import typer

from qamtu.cli._common import echo_json, fail, guarded


def register(app: typer.Typer) -> None:
    @app.command("calibrate-3gpp")
    @guarded
    def calibrate_3gpp(
        scenario: str = typer.Option("uma", "--scenario", help="uma or umi (TR 38.901 Table 7.8-1)."),
        freq_ghz: float = typer.Option(6.0, "--freq-ghz", help="Carrier frequency in GHz (0.5-100)."),
        drops: int = typer.Option(20, "--drops", help="Independent drops (1-10000)."),
        seed: int = typer.Option(0, "--seed", help="Random seed, 0 to 2**32-1 (same seed, same numbers)."),
        users_per_sector: int = typer.Option(16, "--users-per-sector", help="Users per sector per drop (1-1000)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
        out: Optional[str] = typer.Option(None, "--out", help="Also write the JSON to this file (atomically)."),
    ) -> None:
        """Run the TR 38.901 large-scale calibration; print coupling loss and geometry percentiles."""
        from qamtu.engine.calibration3gpp import PERCENTILES, run_calibration

        if scenario.lower() not in ("uma", "umi"):
            fail(f"--scenario must be 'uma' or 'umi', got {scenario!r}")
        for value, option, lo, hi in ((drops, "--drops", 1, 10_000), (seed, "--seed", 0, 2**32 - 1),
                                      (users_per_sector, "--users-per-sector", 1, 1_000)):
            if not lo <= value <= hi:
                fail(f"{option} must be an integer from {lo} to {hi}, got {value}")
        from qamtu.cli._output import with_spinner

        result = with_spinner(run_calibration, f"TR 38.901 calibration, {drops} drops")(
            scenario, freq_ghz * 1e9, drops, seed, users_per_sector)
        if out is not None:
            from qamtu.fileio import write_json_atomic

            write_json_atomic(out, result)
        if as_json:
            echo_json(result)
            return
        s = result["setup"]
        typer.echo(
            f"TR 38.901 Table 7.8-1 calibration: {result['scenario'].upper()} {freq_ghz:g} GHz, ISD "
            f"{s['isd_m']:g} m, {result['drops']} drops, {result['users']} users, seed {result['seed']}"
        )
        typer.echo(f"{'pct':>4} {'coupling loss dB':>17} {'SIR dB':>8} {'SINR dB':>8}")
        for p in PERCENTILES:
            k = str(p)
            typer.echo(
                f"{p:>4} {result['coupling_loss_db'][k]:>17.2f} {result['geometry_sir_db'][k]:>8.2f} "
                f"{result['geometry_sinr_db'][k]:>8.2f}"
            )
