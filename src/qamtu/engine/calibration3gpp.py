"""The TR 38.901 large-scale calibration (Table 7.8-1), run through the engine's per-link physics.

Set-up (TR 38.901 V17.0.0 Table 7.8-1, the "large scale calibration" of clause 7.8.1):

* 19 sites x 3 sectors on a hexagonal grid with wrap-around (each user sees the nearest of the 7 images of every
  site: the cluster's translation vectors have length sqrt(19) ISD); sector boresights at 30, 150, 270 deg.
* UMa: ISD 500 m, hBS 25 m, minimum BS-UT 2D distance 35 m; UMi-Street Canyon: ISD 200 m, hBS 10 m, 10 m.
* BS power and bandwidth: 6 GHz-type carriers (fc <= 7 GHz) 49 dBm (UMa) / 44 dBm (UMi) over 20 MHz;
  above, 35 dBm over 100 MHz (the table's 30 and 70 GHz values). Both only matter for the SINR (noise).
* BS antenna: 10 x 1 vertical array of TR 38.901 elements, 0.5 lambda, one port, electrical tilt 12 deg
  (zenith 102 deg): :func:`qamtu.radio.antenna.get_antenna` ``("tr38901-10x1")``; no mechanical tilt. This is
  the table's antenna for the 6 GHz case; above 7 GHz qamtu keeps it (the table's larger arrays and UT arrays at
  30/70 GHz are not modelled), so results there show the path-loss and O2I scaling, not the published 30/70 GHz
  calibration.
* UT: isotropic 0 dBi, noise figure 9 dB; 80 % indoor (half low-loss, half high-loss O2I), 20 % outdoor;
  outdoor hUT 1.5 m, indoor ``hUT = 3 (n_fl - 1) + 1.5`` with ``n_fl ~ U{1..N_fl}``, ``N_fl ~ U{4..8}``;
  d2D-in = min of two U(0, 25 m) (:mod:`qamtu.radio.o2i`).
* Users uniformly in the area (users_per_sector x 57 per drop; 16 gives 912), re-drawn within the minimum
  distance of their own site.

Per link (user, site) the engine's physics is used: :func:`qamtu.engine.physics.link_geometry` and
:func:`~qamtu.engine.physics.path_terms` (with d2D-out for the LOS probability of indoor users and a random UMa
effective environment height for users on high floors), then :func:`~qamtu.engine.physics.sample_path_loss_db`
draws the LOS state and shadow fading; the three sectors of a site share them (one propagation path). The O2I
loss (``PL_tw + 0.5 d2D-in + N(0, sigma_P^2)``) belongs to the user: one draw per user, shared by its links
(:func:`user_o2i_loss_db`; a per-link draw let best-server selection pick the luckiest of 19 and made the lower
tail too optimistic), and O2I users get the O2I shadow-fading spread of Table 7.5-6 (7 dB). There is no
spatial correlation of the large-scale parameters: the calibration compares marginal CDFs over users, which do
not depend on it. There is no fast fading (the table's large-scale calibration excludes it).

Outputs: coupling gain (the serving sector's path gain including antenna gains, shadowing and O2I; "coupling
loss" in 3GPP plots, given as a negative number in dB), geometry SIR (serving power over the sum of all other
sectors', full load) and geometry SINR (the same with thermal noise), each as percentiles 5..95 in steps of 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qamtu.engine import physics
from qamtu.errors import InvalidInputError, OutOfRangeError

#: Percentiles reported (5, 10, ..., 95).
PERCENTILES = tuple(range(5, 100, 5))

#: Sector boresights as compass bearings; 38.901 gives 30, 150, 270 deg counter-clockwise from east (x axis).
SECTOR_BEARINGS_DEG = (60.0, 300.0, 180.0)


@dataclass(frozen=True)
class CalibrationSetup:
    """Parameters of one TR 38.901 Table 7.8-1 scenario."""

    scenario: str
    isd_m: float
    h_bs_m: float
    min_distance_m: float
    tx_power_dbm: float
    bandwidth_hz: float
    noise_figure_db: float = 9.0
    indoor_share: float = 0.8
    o2i_high_share: float = 0.5
    electrical_tilt_deg: float = 12.0


def setup_for(scenario: str, freq_hz: float) -> CalibrationSetup:
    """The Table 7.8-1 parameters for ``scenario`` ("uma" or "umi") at ``freq_hz``.

    References
    ----------
    3GPP TR 38.901 V17.0.0, Table 7.8-1.
    """
    scenario = str(scenario).lower()
    if scenario not in ("uma", "umi"):
        raise InvalidInputError(f"scenario {scenario!r} is not one of 'uma', 'umi' (TR 38.901 Table 7.8-1)")
    if not (0.5e9 <= float(freq_hz) <= 100e9):
        raise OutOfRangeError(f"freq_hz = {freq_hz!r} is outside the TR 38.901 range 0.5-100 GHz")
    low_band = float(freq_hz) <= 7e9
    if scenario == "uma":
        return CalibrationSetup("uma", 500.0, 25.0, 35.0, 49.0 if low_band else 35.0, 20e6 if low_band else 100e6)
    return CalibrationSetup("umi", 200.0, 10.0, 10.0, 44.0 if low_band else 35.0, 20e6 if low_band else 100e6)


def hex_sites(isd_m: float) -> np.ndarray:
    """Positions (x, y) in m of the 19 sites (centre + two rings), shape (19, 2)."""
    pts = []
    for q in range(-2, 3):
        for r in range(-2, 3):
            if abs(q + r) <= 2:
                pts.append((isd_m * (q + r / 2.0), isd_m * r * np.sqrt(3.0) / 2.0))
    pts.sort(key=lambda p: (round(np.hypot(*p), 6), np.arctan2(p[1], p[0])))
    return np.asarray(pts)


def wrap_shifts(isd_m: float) -> np.ndarray:
    """The 7 translations (0 and the 6 cluster images) of the 19-site wrap-around, shape (7, 2), m."""
    axial = [(0, 0), (5, -2), (2, 3), (-3, 5), (-5, 2), (-2, -3), (3, -5)]
    return np.asarray([(isd_m * (q + r / 2.0), isd_m * r * np.sqrt(3.0) / 2.0) for q, r in axial])


def _drop_in_hexagon(rng, n, isd_m, min_d):
    """n points uniform in the hexagonal cell (circumradius ISD/sqrt(3), flat top/bottom) around the origin,
    at least ``min_d`` from the centre."""
    rc = isd_m / np.sqrt(3.0)
    out = np.empty((0, 2))
    while out.shape[0] < n:
        m = 2 * (n - out.shape[0]) + 16
        x = rng.uniform(-isd_m / 2.0, isd_m / 2.0, m)
        y = rng.uniform(-rc, rc, m)
        # hexagon with vertices at (0, +-rc): |x| <= isd/2 and |y| <= rc - |x| / sqrt(3)
        ok = (np.abs(y) <= rc - np.abs(x) / np.sqrt(3.0)) & (np.hypot(x, y) >= min_d)
        out = np.vstack([out, np.column_stack([x[ok], y[ok]])])
    return out[:n]


def drop_calibration_users(setup: CalibrationSetup, n_per_site: int, rng: np.random.Generator) -> dict:
    """One drop of users: positions, heights, indoor state, O2I model and d2D-in."""
    sites = hex_sites(setup.isd_m)
    pos = np.vstack([s + _drop_in_hexagon(rng, n_per_site, setup.isd_m, setup.min_distance_m) for s in sites])
    n = pos.shape[0]
    indoor = rng.random(n) < setup.indoor_share
    high = indoor & (rng.random(n) < setup.o2i_high_share)
    n_floors = rng.integers(4, 9, n)  # N_fl ~ U{4..8}
    floor = 1 + np.floor(rng.random(n) * n_floors).astype(int)  # n_fl ~ U{1..N_fl}
    h_ut = np.where(indoor, 3.0 * (floor - 1) + 1.5, 1.5)
    d_in = np.where(indoor, np.minimum(rng.uniform(0, 25.0, n), rng.uniform(0, 25.0, n)), 0.0)
    return dict(xy=pos, indoor=indoor, high=high, h_ut=h_ut, d2d_in=d_in)


#: Shadow-fading spread of O2I (indoor) users, dB: TR 38.901 V17 Table 7.5-6 Part-1, UMa and UMi "O2I" SF = 7 dB.
O2I_SHADOWING_STD_DB = 7.0


def user_o2i_loss_db(freq_hz: float, users: dict, rng: np.random.Generator) -> np.ndarray:
    """Building loss of each user, dB, shape (n_users,): one draw per user, common to all its links.

    ``PL_tw + 0.5 d2D-in + N(0, sigma_P^2)`` (TR 38.901 7.4.3.1, Table 7.4.3-2) for indoor users (low- or
    high-loss building), 0 outdoors. Drawing sigma_P per link instead lets best-server selection pick the luckiest
    of 19 draws and makes the lower tail of the coupling loss too optimistic (issue 11).
    """
    from qamtu.radio import o2i

    out = np.zeros(users["indoor"].shape[0])
    for model, sel in (("low", users["indoor"] & ~users["high"]), ("high", users["high"])):
        if sel.any():
            base = np.asarray(o2i.o2i_loss_db(freq_hz, model, users["d2d_in"][sel]))
            out[sel] = base + rng.normal(0.0, o2i.o2i_std_db(model), int(sel.sum()))
    return out


def calibration_coupling(setup: CalibrationSetup, freq_hz: float, users: dict, rng: np.random.Generator,
                         o2i_loss_db: np.ndarray | None = None):
    """Coupling gains (dB) of every user to every one of the 57 sectors, shape (n_users, 57).

    Indoor users: their building loss (:func:`user_o2i_loss_db`, or ``o2i_loss_db`` if given) on every link, and
    the O2I shadow-fading spread :data:`O2I_SHADOWING_STD_DB` instead of the LOS/NLOS one (Table 7.5-6).
    """
    from qamtu.radio import antenna as ant

    sites = hex_sites(setup.isd_m)
    shifts = wrap_shifts(setup.isd_m)
    xy = users["xy"]
    # wrap-around: nearest image of each site
    diff = xy[:, None, None, :] - (sites[None, :, None, :] + shifts[None, None, :, :])  # (n, 19, 7, 2)
    dist = np.hypot(diff[..., 0], diff[..., 1])
    nearest = np.argmin(dist, axis=2)
    dvec = np.take_along_axis(diff, nearest[:, :, None, None], axis=2)[:, :, 0, :]  # (n, 19, 2)
    dx, dy = dvec[..., 0], dvec[..., 1]
    n = xy.shape[0]
    h_ut = np.broadcast_to(users["h_ut"][:, None], dx.shape)
    d2d = np.hypot(dx, dy)
    d2d_out = np.maximum(d2d - users["d2d_in"][:, None], 0.0)
    # users are dropped at >= 35 m (UMa) / 10 m (UMi) from their site; the 10 m clamp is Table 7.4.1-1's own bound
    terms = physics.path_terms(setup.scenario, freq_hz, d2d, setup.h_bs_m, h_ut, d2d_out_m=d2d_out, rng=rng,
                               min_distance_m=10.0)
    loss, is_los = physics.sample_path_loss_db(terms, rng)  # (n, 19): one path per (user, site)
    indoor = np.broadcast_to(users["indoor"][:, None], loss.shape)
    if indoor.any():  # O2I users: the same standard normal draw scaled to the O2I spread (Table 7.5-6)
        median = np.where(is_los, terms.pl_los_db, terms.pl_nlos_db)
        sigma = np.where(is_los, terms.sf_los_db, terms.sf_nlos_db)
        z = (loss - median) / np.maximum(sigma, 1e-9)
        loss = np.where(indoor, median + O2I_SHADOWING_STD_DB * z, loss)
    per_user = user_o2i_loss_db(freq_hz, users, rng) if o2i_loss_db is None else np.asarray(o2i_loss_db, float)
    o2i_loss = per_user[:, None]
    antenna = ant.get_antenna("tr38901-10x1", tilt_deg=setup.electrical_tilt_deg)
    gains = np.empty((n, 57))
    for k, az in enumerate(SECTOR_BEARINGS_DEG):
        _, _, theta, _ = physics.link_geometry(dx, dy, setup.h_bs_m, h_ut, az)
        bearing = np.degrees(np.arctan2(dx, dy))
        th_l, ph_l = ant.local_angles(bearing, theta, az, 0.0)
        g = np.asarray(antenna.gain_dbi(th_l, ph_l))
        gains[:, k::3] = g - loss - o2i_loss  # sector index = 3 * site + k
    return gains


def run_calibration(scenario: str = "uma", freq_hz: float = 6e9, drops: int = 20, seed: int = 0,
                    users_per_sector: int = 16) -> dict:
    """TR 38.901 Table 7.8-1 large-scale calibration: CDF percentiles of coupling gain and geometry.

    Parameters
    ----------
    scenario : {"uma", "umi"}
    freq_hz : float
        Carrier frequency, Hz (0.5-100 GHz).
    drops : int
        Independent drops (>= 1).
    seed : int
        Seed of the NumPy generator: the same seed gives the same numbers.
    users_per_sector : int
        Users per sector per drop (16: 912 users per drop).

    Returns
    -------
    dict
        ``coupling_loss_db``, ``geometry_sir_db``, ``geometry_sinr_db``: each ``{"5": v, ..., "95": v}`` (dB);
        plus ``scenario``, ``freq_hz``, ``drops``, ``seed``, ``users``, ``setup`` (the parameters used).

    References
    ----------
    3GPP TR 38.901 V17.0.0, clause 7.8.1 and Table 7.8-1.
    """
    if int(drops) != drops or drops < 1:
        raise InvalidInputError(f"drops = {drops!r} must be an integer >= 1")
    if int(users_per_sector) != users_per_sector or users_per_sector < 1:
        raise InvalidInputError(f"users_per_sector = {users_per_sector!r} must be an integer >= 1")
    setup = setup_for(scenario, freq_hz)
    rng = np.random.default_rng(seed)
    noise_dbm = -174.0 + 10.0 * np.log10(setup.bandwidth_hz) + setup.noise_figure_db
    cl, sir, sinr = [], [], []
    for _ in range(int(drops)):
        users = drop_calibration_users(setup, 3 * int(users_per_sector), rng)
        g = calibration_coupling(setup, freq_hz, users, rng)
        lin = np.power(10.0, g / 10.0)
        s = lin.max(axis=1)
        others = lin.sum(axis=1) - s
        cl.append(10.0 * np.log10(s))
        sir.append(10.0 * np.log10(s / others))
        p_mw = 10.0 ** (setup.tx_power_dbm / 10.0)
        sinr.append(10.0 * np.log10(p_mw * s / (p_mw * others + 10.0 ** (noise_dbm / 10.0))))
    cl_all, sir_all, sinr_all = (np.concatenate(v) for v in (cl, sir, sinr))

    def pct(v):
        return {str(p): float(np.percentile(v, p)) for p in PERCENTILES}

    return {
        "scenario": setup.scenario,
        "freq_hz": float(freq_hz),
        "drops": int(drops),
        "seed": int(seed),
        "users": int(cl_all.size),
        "setup": {
            "isd_m": setup.isd_m, "h_bs_m": setup.h_bs_m, "min_distance_m": setup.min_distance_m,
            "tx_power_dbm": setup.tx_power_dbm, "bandwidth_hz": setup.bandwidth_hz,
            "noise_figure_db": setup.noise_figure_db, "indoor_share": setup.indoor_share,
            "o2i_high_share": setup.o2i_high_share, "antenna": "tr38901-10x1, 12 deg electrical tilt",
            "wrap_around": True, "spatial_correlation": False,
        },
        "coupling_loss_db": pct(cl_all),
        "geometry_sir_db": pct(sir_all),
        "geometry_sinr_db": pct(sinr_all),
    }
