"""Radio calculator commands: ``qamtu pathloss``, ``qamtu datarate``, ``qamtu antenna``.

Thin wrappers over :mod:`qamtu.radio`: every number comes from the library. Options are parsed here (not by Typer's
converters) so that a bad or missing value always gives one readable line on stderr and exit code 2.
"""

from __future__ import annotations

from typing import Optional

import typer

from qamtu.cli._common import echo_json, fail, guarded

_SCENARIOS = ("rma", "uma", "umi", "inh")
_CONDITIONS = ("los", "nlos")
_MODULATIONS = ("qpsk", "16qam", "64qam", "256qam")
_PATTERNS = ("tr38901-element", "tr36814-sector", "tr38901-10x1", "nr-64t64r")
_BEAMS = ("ssb", "traffic", "interference")


def _required(value: Optional[str], option: str) -> str:
    if value is None or value.strip() == "":
        fail(f"missing option {option}")
    return value.strip()


def _number(value: Optional[str], option: str, *, required: bool = True, default: float | None = None) -> float:
    if value is None:
        if required:
            fail(f"missing option {option}")
        return default  # type: ignore[return-value]
    try:
        number = float(value)
    except ValueError:
        fail(f"{option} must be a number, got {value!r}")
    if number != number:  # NaN
        fail(f"{option} must be a number, got {value!r}")
    return number


def _integer(value: Optional[str], option: str, *, required: bool = True, default: int | None = None) -> int:
    number = _number(value, option, required=required, default=default)
    if number is None:
        return None  # type: ignore[return-value]
    if number != int(number):
        fail(f"{option} must be a whole number, got {value!r}")
    return int(number)


def _choice(value: Optional[str], option: str, allowed: tuple[str, ...]) -> str:
    text = _required(value, option).lower()
    if text not in allowed:
        fail(f"{option} must be one of {', '.join(allowed)}; got {value!r}")
    return text


def _number_list(value: Optional[str], option: str) -> list[float]:
    text = _required(value, option)
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        out.append(_number(part, option))
    if not out:
        fail(f"{option} needs at least one number, got {value!r}")
    return out


def pathloss(
    scenario: Optional[str] = typer.Option(None, "--scenario", help="(required) rma, uma, umi or inh (TR 38.901 7.4.1)."),
    condition: Optional[str] = typer.Option(None, "--condition", help="(required) los or nlos."),
    freq_ghz: Optional[str] = typer.Option(None, "--freq-ghz", help="(required) Carrier frequency, GHz (0.5-100)."),
    h_bs: Optional[str] = typer.Option(None, "--h-bs", help="(required) Base-station antenna height, m."),
    h_ut: Optional[str] = typer.Option(None, "--h-ut", help="(required) User-terminal antenna height, m."),
    d2d: Optional[str] = typer.Option(None, "--d2d", help="(required) Horizontal distance(s), m, comma-separated."),
    h_building: Optional[str] = typer.Option(None, "--h-building", help="RMa average building height, m (5)."),
    street_width: Optional[str] = typer.Option(None, "--street-width", help="RMa average street width, m (20)."),
    h_e: Optional[str] = typer.Option(None, "--h-e", help="UMa effective environment height hE, m (optional)."),
    seed: Optional[str] = typer.Option(None, "--seed", help="Seed for the UMa hE draw when --h-ut >= 13 m."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of {d2d_m, d3d_m, path_loss_db}."),
) -> None:
    """Path loss of 3GPP TR 38.901 Table 7.4.1-1 at one or more distances."""
    import numpy as np

    from qamtu.radio import pathloss as pl

    scen = _choice(scenario, "--scenario", _SCENARIOS)
    cond = _choice(condition, "--condition", _CONDITIONS)
    f_ghz = _number(freq_ghz, "--freq-ghz")
    hb = _number(h_bs, "--h-bs")
    hu = _number(h_ut, "--h-ut")
    distances = np.array(_number_list(d2d, "--d2d"))
    hbuild = _number(h_building, "--h-building", required=False, default=5.0)
    width = _number(street_width, "--street-width", required=False, default=20.0)
    he = _number(h_e, "--h-e", required=False, default=None)
    seed_value = _integer(seed, "--seed", required=False, default=None)
    if scen != "rma" and (h_building is not None or street_width is not None):
        fail("--h-building and --street-width apply to --scenario rma only")
    if scen != "uma" and (h_e is not None or seed is not None):
        fail("--h-e and --seed apply to --scenario uma only")
    if scen == "uma" and he is None and 13.0 <= hu <= 22.5 and seed_value is None:
        fail("UMa with --h-ut >= 13 m draws the effective environment height hE (TR 38.901 Table 7.4.1-1 note 1): "
             "give --seed N or --h-e M")
    rng = np.random.default_rng(seed_value) if seed_value is not None else None
    loss = np.atleast_1d(
        pl.path_loss_db(scen, cond, f_ghz * 1e9, distances, hb, hu, h_building_m=hbuild, street_width_m=width,
                        h_e_m=he, rng=rng)
    )
    d3 = np.atleast_1d(pl.d3d_m(distances, hb, hu))
    rows = [
        {"d2d_m": float(a), "d3d_m": float(b), "path_loss_db": float(c)} for a, b, c in zip(distances, d3, loss)
    ]
    if as_json:
        echo_json(rows)
        return
    typer.echo(f"TR 38.901 {scen.upper()} {cond.upper()}, fc = {f_ghz:g} GHz, hBS = {hb:g} m, hUT = {hu:g} m")
    typer.echo(f"{'d2D (m)':>12} {'d3D (m)':>12} {'PL (dB)':>10}")
    for row in rows:
        typer.echo(f"{row['d2d_m']:12.1f} {row['d3d_m']:12.1f} {row['path_loss_db']:10.2f}")


def datarate(
    bandwidth_mhz: Optional[str] = typer.Option(None, "--bandwidth-mhz", help="(required) Channel bandwidth, MHz."),
    scs_khz: Optional[str] = typer.Option(None, "--scs-khz", help="(required) Subcarrier spacing, kHz (15 or 30)."),
    layers: Optional[str] = typer.Option(None, "--layers", help="(required) MIMO layers (1-8)."),
    modulation: Optional[str] = typer.Option(None, "--modulation", help="(required) qpsk, 16qam, 64qam or 256qam."),
    direction: str = typer.Option("dl", "--direction", help="dl (default) or ul."),
    scaling: Optional[str] = typer.Option(None, "--scaling", help="Scaling factor f: 1, 0.8, 0.75 or 0.4 (1)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON with key rate_mbps."),
) -> None:
    """Approximate peak data rate of one NR carrier, 3GPP TS 38.306 clause 4.1.2 (FR1)."""
    from qamtu.radio import nr

    bw = _number(bandwidth_mhz, "--bandwidth-mhz")
    scs = _number(scs_khz, "--scs-khz")
    n_layers = _integer(layers, "--layers")
    mod = _choice(modulation, "--modulation", _MODULATIONS)
    dirn = _choice(direction, "--direction", ("dl", "ul"))
    f = _number(scaling, "--scaling", required=False, default=1.0)
    rate = nr.peak_data_rate_mbps(bw * 1e6, scs * 1e3, n_layers, mod, direction=dirn, scaling=f)
    n_rb = nr.n_prb(bw * 1e6, scs * 1e3)
    result = {
        "rate_mbps": rate,
        "bandwidth_mhz": bw,
        "scs_khz": scs,
        "n_prb": n_rb,
        "layers": n_layers,
        "modulation": mod,
        "direction": dirn,
        "scaling": f,
        "overhead": nr.OVERHEAD[(dirn, "fr1")],
    }
    if as_json:
        echo_json(result)
        return
    typer.echo(
        f"{rate:.1f} Mbit/s  (TS 38.306 4.1.2: {n_layers} layers x {mod}, {bw:g} MHz / {scs:g} kHz = {n_rb} PRB, "
        f"f = {f:g}, OH = {result['overhead']:.2f}, {dirn.upper()} FR1)"
    )


def antenna(
    pattern: Optional[str] = typer.Option(None, "--pattern", help="(required) , ".join(_PATTERNS) + "."),
    theta_deg: Optional[str] = typer.Option(None, "--theta-deg", help="(required) Zenith angle, deg (90 = horizon)."),
    phi_deg: Optional[str] = typer.Option(None, "--phi-deg", help="(required) Azimuth from boresight, deg."),
    tilt_deg: Optional[str] = typer.Option(
        None,
        "--tilt-deg",
        help="Down-tilt, deg: electrical for arrays and the 36.814 sector; mechanical for the single element.",
    ),
    beam: str = typer.Option("traffic", "--beam", help="nr-64t64r only: ssb, traffic or interference."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON with key gain_dbi."),
) -> None:
    """Antenna gain in dBi toward (theta, phi), TR 38.901 angle conventions."""
    from qamtu.radio import antenna as ant

    name = _choice(pattern, "--pattern", _PATTERNS)
    theta = _number(theta_deg, "--theta-deg")
    phi = _number(phi_deg, "--phi-deg")
    tilt = _number(tilt_deg, "--tilt-deg", required=False, default=None)
    beam_name = _choice(beam, "--beam", _BEAMS)
    if name != "nr-64t64r" and beam_name != "traffic":
        fail("--beam applies to --pattern nr-64t64r only")
    if name == "tr38901-element":
        # A single element has nothing to steer: the tilt rotates it (mechanical, TR 38.901 eq. 7.1-7).
        th_l, ph_l = ant.local_angles(-phi, theta, 0.0, 0.0 if tilt is None else tilt)
        gain = ant.element_gain_dbi(th_l, ph_l)
        tilt_used = 0.0 if tilt is None else tilt
    else:
        model = ant.get_antenna(name) if tilt is None else ant.get_antenna(name, tilt_deg=tilt)
        tilt_used = model.tilt_deg
        fn = {"ssb": model.ssb_gain_dbi, "traffic": model.traffic_gain_dbi,
              "interference": model.interference_gain_dbi}[beam_name]
        gain = fn(theta, phi)
    result = {"pattern": name, "theta_deg": theta, "phi_deg": phi, "tilt_deg": tilt_used, "gain_dbi": float(gain)}
    if name == "nr-64t64r":
        result["beam"] = beam_name
    if as_json:
        echo_json(result)
        return
    extra = f", {beam_name} beam" if name == "nr-64t64r" else ""
    typer.echo(f"{float(gain):.2f} dBi  ({name}{extra}, theta = {theta:g} deg, phi = {phi:g} deg, "
               f"tilt = {tilt_used:g} deg)")


def register(app: typer.Typer) -> None:
    """Add ``pathloss``, ``datarate`` and ``antenna`` to the qamtu app."""
    app.command("pathloss")(guarded(pathloss))
    app.command("datarate")(guarded(datarate))
    app.command("antenna")(guarded(antenna))
