"""The link budget of a batch of (pixel, sector) pairs: power and noise per RE, beam gains, SS-RSRP, coverage
probability and the per-link distribution fields (:func:`evaluate_link_batch`).

Split from :mod:`qamtu.engine.links` (which re-exports every name) so that :mod:`qamtu.engine.served` can evaluate
links without importing ``links``, which builds the served model (no import circle inside the engine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qamtu.engine import physics
from qamtu.engine.config import ENV_CLASSES, EngineConfig


# ----------------------------------------------------------------------------------------------------------------
# Link budget pieces
# ----------------------------------------------------------------------------------------------------------------
def n_subcarriers(config: EngineConfig) -> int:
    """Subcarriers of the carrier: 12 x N_PRB (TS 38.101-1 Table 5.3.2-1, via qamtu.radio.nr.n_prb)."""
    from qamtu.radio import nr

    return 12 * int(nr.n_prb(config.bandwidth_hz, config.scs_hz))


def power_per_re_dbm(tx_power_dbm, config: EngineConfig):
    """Power per resource element for a total conducted power spread evenly over the carrier, dBm.

    References
    ----------
    :func:`qamtu.radio.nr.ss_rsrp_dbm` with zero gain: ``P_total - 10 log10(12 N_PRB)`` (TS 38.215 5.1.1 defines
    SS-RSRP per RE).
    """
    from qamtu.radio import nr

    return np.asarray(nr.ss_rsrp_dbm(np.asarray(tx_power_dbm, dtype=float), n_subcarriers(config), 0.0), dtype=float)


def noise_per_re_dbm(config: EngineConfig, noise_figure_db: float | None = None) -> float:
    """Thermal noise in one subcarrier (bandwidth = SCS) plus the noise figure (UE by default), dBm."""
    from qamtu.radio import nr

    nf = config.ue_noise_figure_db if noise_figure_db is None else noise_figure_db
    return float(nr.thermal_noise_dbm(config.scs_hz, nf))


def _env_states(config: EngineConfig) -> list[physics.O2IStates]:
    return [
        physics.o2i_states(config.freq_hz, p.scenario, p.indoor_share, p.o2i_high_share)
        for p in (config.environments[name] for name in ENV_CLASSES)
    ]


def _coverage_states(config: EngineConfig) -> list[physics.O2IStates]:
    """The O2I mixture the coverage probability is about (``config.coverage_users``)."""
    if config.coverage_users == "all":
        return _env_states(config)
    outdoor = physics.O2IStates((1.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    return [outdoor] * len(ENV_CLASSES)


@dataclass
class _LinkBatch:
    rsrp_dbm: np.ndarray
    signal_dbm: np.ndarray
    interference_mw: np.ndarray
    path_gain_db: np.ndarray
    coverage_probability: np.ndarray
    keep: np.ndarray
    p_los: np.ndarray
    los_gain_db: np.ndarray
    sf_los_db: np.ndarray
    sf_nlos_db: np.ndarray
    ssb_offset_db: np.ndarray | None = None


def _prime_cache(cache: dict, sectors: Sectors, config: EngineConfig) -> None:
    if "groups" not in cache:
        cache["groups"] = sectors.antenna_groups()
        cache["p_re"] = power_per_re_dbm(sectors.tx_power_dbm, config)
        cache["noise"] = noise_per_re_dbm(config)
        cache["states"] = _env_states(config)
        cache["cov_states"] = _coverage_states(config)


def beam_gains(dx_m, dy_m, sector_idx, sectors: Sectors, config: EngineConfig, *, _cache: dict | None = None,
               dz_m=None):
    """Distances and the three beam gains of a flat batch of links.

    Parameters
    ----------
    dx_m, dy_m : ndarray, shape (n,)
        UT position minus sector position (east, north), m.
    sector_idx : ndarray of int, shape (n,)
    sectors : Sectors
    config : EngineConfig

    Returns
    -------
    d2d_m, d3d_m, h_bs_m, ssb_gain_dbi, traffic_gain_dbi, interference_gain_dbi : ndarrays, shape (n,)

    References
    ----------
    3GPP TR 38.901 V17.0.0 clause 7.1 (angles, eq. 7.1-7 via :func:`qamtu.radio.antenna.local_angles`) and the
    antenna models of :mod:`qamtu.radio.antenna`.
    """
    from qamtu.radio import antenna as _ant

    cache = _cache if _cache is not None else {}
    _prime_cache(cache, sectors, config)
    codes, models = cache["groups"]
    n = dx_m.shape[0]
    h_bs = sectors.height_m[sector_idx]
    d2d, d3d, theta, _phi = physics.link_geometry(dx_m, dy_m, h_bs, config.ue_height_m, sectors.azimuth_deg[sector_idx])
    if dz_m is not None:  # terrain: the elevation angle from the antenna's real height over the UE's ground
        theta = 90.0 + np.degrees(np.arctan2(h_bs + dz_m - config.ue_height_m, d2d))
    bearing = np.degrees(np.arctan2(dx_m, dy_m))
    th_l, ph_l = _ant.local_angles(bearing, theta, sectors.azimuth_deg[sector_idx],
                                   sectors.mechanical_tilt_deg[sector_idx], validate=False)
    th_l = np.asarray(th_l, dtype=float)
    ph_l = np.asarray(ph_l, dtype=float)
    g_ssb = np.empty(n)
    g_tr = np.empty(n)
    g_int = np.empty(n)
    gcode = codes[sector_idx]
    for g, model in enumerate(models):
        m = gcode == g
        if not m.any():
            continue
        t, p = th_l[m], ph_l[m]
        g_ssb[m] = model.ssb_gain_dbi(t, p, validate=False)
        g_tr[m] = model.traffic_gain_dbi(t, p, validate=False)
        g_int[m] = model.interference_gain_dbi(t, p, validate=False)
    return d2d, d3d, h_bs, g_ssb, g_tr, g_int


def evaluate_link_batch(
    dx_m: np.ndarray,
    dy_m: np.ndarray,
    sector_idx: np.ndarray,
    env_code: np.ndarray,
    sectors: Sectors,
    config: EngineConfig,
    *,
    floor_dbm: float | None = None,
    _cache: dict | None = None,
    terrain=None,
    thresholds_dbm=None,
) -> _LinkBatch:
    """Evaluate a flat batch of links (the engine's per-link physics; also used by tests and the baseline).

    Parameters
    ----------
    dx_m, dy_m : ndarray, shape (n,)
        Pixel position minus sector position, m.
    sector_idx : ndarray of int, shape (n,)
        Sector of each link (index into ``sectors``).
    env_code : ndarray of int, shape (n,)
        Environment class code (0..3) of each link's pixel.
    sectors : Sectors
    config : EngineConfig
    floor_dbm : float, optional
        Relevance floor of the received power per RE (module docstring); default the noise per RE minus
        ``config.cutoff_margin_db``.
    terrain : (loss_db, nlos, dz_m), optional
        Per-link terrain from :class:`qamtu.engine.terrain.TerrainHook`: the excess diffraction loss is added to
        both states' path losses, ``nlos`` forces the LOS probability to 0, ``dz_m`` (site ground minus pixel
        ground) enters the elevation angle.
    thresholds_dbm : sequence of float, optional
        Several RSRP thresholds: the path terms and gains are evaluated once, ``coverage_probability`` and ``keep``
        get one column per threshold (each as with that threshold in ``config``).

    Returns
    -------
    _LinkBatch
        Arrays of shape (n,) and the ``keep`` mask of the relevance rule (module docstring).
    """
    cache = _cache if _cache is not None else {}
    _prime_cache(cache, sectors, config)
    p_re = cache["p_re"]
    cov_states = cache["cov_states"]
    n = dx_m.shape[0]
    d2d, d3d, h_bs, g_ssb, g_tr, g_int = beam_gains(dx_m, dy_m, sector_idx, sectors, config, _cache=cache,
                                                     dz_m=None if terrain is None else terrain[2])
    pg = np.empty(n)
    thresholds = [config.rsrp_threshold_dbm] if thresholds_dbm is None else [float(t) for t in thresholds_dbm]
    pcov = np.zeros((n, len(thresholds)))
    p_los = np.empty(n)
    los_gain = np.empty(n)
    sf_los = np.empty(n)
    sf_nlos = np.empty(n)
    eirp = p_re[sector_idx] + config.ue_antenna_gain_dbi
    g_max = np.maximum(np.maximum(g_ssb, g_tr), g_int)
    keep = np.zeros((n, len(thresholds)), dtype=bool)
    floor = cache["noise"] - config.cutoff_margin_db if floor_dbm is None else float(floor_dbm)
    for code in np.unique(env_code):
        m = env_code == code
        name = ENV_CLASSES[int(code)]
        prof = config.environments[name]
        cst = cov_states[int(code)]
        terms = physics.path_terms(
            prof.scenario, config.freq_hz, d2d[m], h_bs[m], config.ue_height_m,
            correction_db=physics.calibration_correction_db(config, name, d3d[m]), min_distance_m=config.min_distance_m,
        )
        if terrain is not None:  # qamtu.engine.terrain: obstruction forces NLOS and adds the diffraction loss
            t_loss = terrain[0][m]
            terms = physics.PathTerms(np.where(terrain[1][m], 0.0, terms.p_los), terms.pl_los_db + t_loss,
                                      terms.pl_nlos_db + t_loss, terms.sf_los_db, terms.sf_nlos_db)
        pg[m] = physics.mean_path_gain_db(terms)  # outdoor: O2I belongs to the user class (aggregation)
        p_los[m] = terms.p_los
        los_gain[m] = terms.pl_nlos_db - terms.pl_los_db
        sf_los[m] = terms.sf_los_db
        sf_nlos[m] = terms.sf_nlos_db
        # coverage probability of SS-RSRP (body loss included, as the UE measures it)
        base = eirp[m] + g_ssb[m] - config.body_loss_db
        # the probability is evaluated where it can exceed ~1e-12: within 7.5 standard deviations of the threshold
        # in the LOS state outdoors (the largest mean and, with O2I, never a smaller reach); elsewhere it is 0
        s_max = np.sqrt(np.maximum(terms.sf_los_db, terms.sf_nlos_db) ** 2 + max(cst.std_db) ** 2)
        for t, threshold in enumerate(thresholds):
            live = base - terms.pl_los_db + 7.5 * s_max >= threshold
            pc = np.zeros(int(m.sum()))
            if live.any():
                sub = physics.PathTerms(*(np.asarray(a)[live] for a in (
                    terms.p_los, terms.pl_los_db, terms.pl_nlos_db, terms.sf_los_db, terms.sf_nlos_db)))
                pc[live] = physics.link_coverage_probability(
                    threshold, base[live] - sub.pl_los_db, base[live] - sub.pl_nlos_db, sub, cst
                )
            pcov[m, t] = pc
            keep[m, t] = (eirp[m] + g_max[m] + pg[m] >= floor) | (pc >= config.cutoff_coverage_epsilon)
    if thresholds_dbm is None:
        pcov, keep = pcov[:, 0].copy(), keep[:, 0].copy()
    common = eirp + pg - config.body_loss_db
    return _LinkBatch(
        rsrp_dbm=common + g_ssb,
        signal_dbm=common + g_tr,
        interference_mw=np.power(10.0, (common + g_int) / 10.0),
        path_gain_db=pg,
        coverage_probability=pcov,
        keep=keep,
        p_los=p_los,
        los_gain_db=los_gain,
        sf_los_db=sf_los,
        sf_nlos_db=sf_nlos,
    )
