"""Monte-Carlo mode: drop users on a study area and sample their large-scale channel.

:func:`drop_users` places users (fixed seed) in the pixels of the mask, weighted by population (or uniformly),
each at a uniform position inside its pixel. :func:`simulate_users` then draws, per user, the indoor state
(environment class's ``indoor_share``), the building type (``o2i_high_share``) and the O2I loss
(:func:`qamtu.radio.o2i.draw_o2i_loss_db`: wall loss + 0.5 min(U, U) + N(0, sigma_P^2)), and per (user, site) the
LOS state and the log-normal shadow fading (:func:`qamtu.engine.physics.sample_path_loss_db`; the sectors of a
site share them, one propagation path). Antenna gains, path-loss terms and the link budget are the grid engine's
own (:func:`qamtu.engine.links.beam_gains`, :func:`qamtu.engine.physics.path_terms`), so the grid's analytic
coverage probability is the expectation of the Monte-Carlo indicator (tested statistically). Like the grid
engine, the LOS probability is evaluated at the full 2D distance. No spatial correlation: users are independent
draws.

Per user: serving sector (strongest sampled SS-RSRP), SS-RSRP, DL SINR at the configured load (interferers'
sampled powers with their interference gains), DL and UL throughput.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qamtu.engine import physics
from qamtu.engine.config import ENV_CLASSES, EngineConfig
from qamtu.engine.links import (
    beam_gains,
    cutoff_distance_m,
    noise_per_re_dbm,
    power_per_re_dbm,
    prepare_sectors,
)
from qamtu.errors import InvalidInputError


def ul_snr_db(rsrp_dbm, p_ref_dbm, traffic_offset_db, config, nd_dbm=None):
    """PUSCH SNR per RE with open-loop power control (TS 38.213 7.1.1, whole carrier allocated).

    The UE estimates ``PL = p_ref - RSRP`` (``p_ref``: the SSB EPRE, dBm per RE) and sends
    ``min(P_CMAX - 10 log10(12 N_PRB), P0_RE + alpha PL)`` per RE, ``P0_RE = ul_p0_dbm + 10 log10(2^mu) -
    10 log10(12)`` (p0-NominalPUSCH is per 180 kHz); the gNB receives it with the reciprocal traffic-beam gain
    (``traffic_offset_db`` = traffic-beam received power minus SS-RSRP) against its noise per RE plus the rise
    over thermal ``ul_interference_margin_db``, or ``nd_dbm`` (noise plus interference per RE, per user) when
    given. The same formula as :func:`qamtu.engine.distribution._ul_exceed`.
    """
    from qamtu.radio import nr

    n_sc = 12 * int(nr.n_prb(config.bandwidth_hz, config.scs_hz))
    pmax_re = config.ue_tx_power_dbm - 10.0 * np.log10(n_sc)
    p0_re = config.ul_p0_dbm + 10.0 * np.log10(config.scs_hz / 15e3) - 10.0 * np.log10(12.0)
    nd = noise_per_re_dbm(config, config.gnb_noise_figure_db) + config.ul_interference_margin_db
    if nd_dbm is not None:
        nd = np.asarray(nd_dbm, dtype=float)
    rsrp = np.asarray(rsrp_dbm, dtype=float)
    p_ue = np.minimum(pmax_re, p0_re + config.ul_alpha * (np.asarray(p_ref_dbm, float) - rsrp))
    return p_ue + rsrp + np.asarray(traffic_offset_db, float) - np.asarray(p_ref_dbm, float) - nd


def drop_users(area, n_users: int, seed: int = 0, weighting: str = "population") -> pd.DataFrame:
    """Drop ``n_users`` users in the study area.

    Parameters
    ----------
    area : StudyArea
    n_users : int
        Number of users (>= 1).
    seed : int
        Seed of the NumPy generator.
    weighting : {"population", "uniform"}
        Pixel chosen with probability proportional to its population, or uniformly over the mask.

    Returns
    -------
    pandas.DataFrame
        Columns ``x_m``, ``y_m`` (position in the area's CRS), ``pixel`` (flat index), ``env_class`` (code).
    """
    if int(n_users) != n_users or n_users < 1:
        raise InvalidInputError(f"n_users = {n_users!r} must be an integer >= 1")
    if weighting not in ("population", "uniform"):
        raise InvalidInputError(f"weighting = {weighting!r} must be 'population' or 'uniform'")
    rng = np.random.default_rng(seed)
    mask = np.asarray(area.mask, dtype=bool).ravel()
    idx = np.nonzero(mask)[0]
    if idx.size == 0:
        raise InvalidInputError("the study area's mask is empty: nowhere to drop users")
    if weighting == "population":
        w = np.asarray(area.population, dtype=float).ravel()[idx]
        if not np.all(np.isfinite(w)) or w.sum() <= 0:
            raise InvalidInputError("population weighting needs a positive, finite population inside the mask")
        pix = rng.choice(idx, size=int(n_users), p=w / w.sum())
    else:
        pix = rng.choice(idx, size=int(n_users))
    rows, cols = area.shape
    r, c = np.divmod(pix, cols)
    t = area.transform
    x = t.c + t.a * (c + rng.random(pix.size))
    y = t.f + t.e * (r + rng.random(pix.size))
    env = np.asarray(area.env_class).ravel()[pix].astype(np.int64)
    return pd.DataFrame({"x_m": x, "y_m": y, "pixel": pix.astype(np.int64), "env_class": env})


def simulate_users(users: pd.DataFrame, sites, config: EngineConfig | None = None, seed: int = 0, *,
                   crs: str | None = None, chunk_users: int = 2048, user_class: str = "mixed",
                   area=None) -> pd.DataFrame:
    """Sample the large-scale channel of every user and compute its serving link, SINR and throughput.

    Parameters
    ----------
    users : pandas.DataFrame
        From :func:`drop_users` (``x_m``, ``y_m``, ``env_class``).
    sites : pandas.DataFrame or Sectors
        Site table (one row per sector).
    config : EngineConfig, optional
    seed : int
        Seed for the channel draws (independent of the drop's seed).
    crs : str, optional
        CRS for projecting ``lat``/``lon`` when the site table has no ``x_m``/``y_m``.
    chunk_users : int
        Users processed at a time (memory: chunk_users x sectors).
    user_class : {"mixed", "outdoor", "indoor"}
        "mixed": indoor with the environment class's ``indoor_share`` (default); "outdoor": every user outdoors;
        "indoor": every user indoors (building type by ``o2i_high_share``).
    area : StudyArea, optional
        The area the users are on: with it and the served-area models of ``config`` (``interference_beams =
        "served"``, ``ul_interference = "neighbours"``, the defaults) the interference is the engine's
        (:mod:`qamtu.engine.served`: the neighbours' traffic beams aimed at their served users, the UL
        interference of their UEs; the same-index SSB of ``config.ssb_interference`` needs no area); otherwise
        (no area, or the options "uniform" / "margin") the antenna model's uniform mean and the fixed UL margin,
        as the engine's "uniform" / "margin" options.

    Returns
    -------
    pandas.DataFrame
        The users' columns plus ``indoor`` (bool), ``o2i_model`` ("", "low", "high"), ``o2i_loss_db``,
        ``best_server`` (sector index, -1 if none in range), ``rsrp_dbm``, ``sinr_db``, ``dl_mbps``, ``ul_mbps``.
    """
    from scipy.spatial import cKDTree

    from qamtu.radio import o2i

    config = EngineConfig() if config is None else config
    sectors = prepare_sectors(sites, crs)
    rng = np.random.default_rng(seed)
    n = len(users)
    env = users["env_class"].to_numpy(dtype=np.int64)
    prof = [config.environments[name] for name in ENV_CLASSES]
    indoor_share = np.array([p.indoor_share for p in prof])[env]
    high_share = np.array([p.o2i_high_share for p in prof])[env]
    if user_class not in ("mixed", "outdoor", "indoor"):
        raise InvalidInputError(f"user_class {user_class!r} must be 'mixed', 'outdoor' or 'indoor'")
    indoor = rng.random(n) < indoor_share
    if user_class != "mixed":
        indoor[:] = user_class == "indoor"
    high = indoor & (rng.random(n) < high_share)
    o2i_loss = np.zeros(n)
    for code in np.unique(env):
        scen = prof[int(code)].scenario
        for model, sel in (("low", indoor & ~high & (env == code)), ("high", high & (env == code))):
            if sel.any():
                o2i_loss[sel] = o2i.draw_o2i_loss_db(config.freq_hz, model, int(sel.sum()), rng, scen)
    served = None
    if area is not None and (config.interference_beams == "served" or config.ul_interference == "neighbours"):
        from qamtu.engine.served import served_model

        served = served_model(area, sectors, config)
    from qamtu.engine.links import ssb_offsets

    site_code, _ = pd.factorize(sectors.site_id)
    n_sites = int(site_code.max()) + 1
    p_re = power_per_re_dbm(sectors.tx_power_dbm, config)
    noise_mw = 10.0 ** (noise_per_re_dbm(config) / 10.0)
    cutoff = cutoff_distance_m(sectors, config, np.unique(env))
    tree = cKDTree(np.column_stack([sectors.x_m, sectors.y_m]))
    cache: dict = {}
    best = np.full(n, -1, dtype=np.int64)
    rsrp = np.full(n, np.nan)
    sinr = np.full(n, np.nan)
    ul_gain = np.full(n, np.nan)
    p_ref = np.full(n, np.nan)
    ux = users["x_m"].to_numpy(dtype=float)
    uy = users["y_m"].to_numpy(dtype=float)
    for u0 in range(0, n, chunk_users):
        u1 = min(n, u0 + chunk_users)
        m_u = u1 - u0
        # one uniform (LOS) and one normal (shadowing) per (user, site), shared by the site's sectors
        u_los = rng.random((m_u, n_sites))
        z_sf = rng.standard_normal((m_u, n_sites))
        near = tree.query_ball_point(np.column_stack([ux[u0:u1], uy[u0:u1]]), cutoff)
        lens = np.fromiter((len(v) for v in near), dtype=np.int64, count=m_u)
        if lens.sum() == 0:
            continue
        uu = np.repeat(np.arange(m_u), lens)
        ss = np.fromiter((s for v in near for s in sorted(v)), dtype=np.int64, count=int(lens.sum()))
        dx = ux[u0:u1][uu] - sectors.x_m[ss]
        dy = uy[u0:u1][uu] - sectors.y_m[ss]
        d2d, d3d, h_bs, g_ssb, g_tr, g_int = beam_gains(dx, dy, ss, sectors, config, _cache=cache)
        loss = np.empty(uu.size)
        e_link = env[u0:u1][uu]
        for code in np.unique(e_link):
            m = e_link == code
            name = ENV_CLASSES[int(code)]
            terms = physics.path_terms(
                prof[int(code)].scenario, config.freq_hz, d2d[m], h_bs[m], config.ue_height_m,
                correction_db=physics.calibration_correction_db(config, name, d3d[m]), min_distance_m=config.min_distance_m,
            )
            is_los = u_los[uu[m], site_code[ss[m]]] < terms.p_los
            z = z_sf[uu[m], site_code[ss[m]]]
            loss[m] = np.where(is_los, terms.pl_los_db + z * terms.sf_los_db, terms.pl_nlos_db + z * terms.sf_nlos_db)
        common = p_re[ss] + config.ue_antenna_gain_dbi - config.body_loss_db - loss - o2i_loss[u0:u1][uu]
        r_link = common + g_ssb
        # best server per user (links grouped by user, in ascending sector order)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        has = lens > 0
        rmax_u = np.full(m_u, -np.inf)
        rmax_u[has] = np.maximum.reduceat(r_link, starts[has])
        cand = np.nonzero(r_link == rmax_u[uu])[0]
        grp, first_idx = np.unique(uu[cand], return_index=True)  # first maximum: the lowest sector index
        order_best = np.full(m_u, -1, dtype=np.int64)
        order_best[grp] = cand[first_idx]
        i_lin = np.power(10.0, (common + g_int) / 10.0)
        if served is not None and served.has_mix:
            i_lin = i_lin * served.aimed_factor(dx, dy, ss)
        ssb_lin = np.power(10.0, (r_link + ssb_offsets(dx, dy, ss, sectors, config)) / 10.0)
        i_tot = np.bincount(uu, weights=i_lin, minlength=m_u)
        sel = order_best >= 0
        kb = order_best[sel]
        users_sel = np.nonzero(sel)[0] + u0
        best[users_sel] = ss[kb]
        rsrp[users_sel] = r_link[kb]
        bf = np.array([p.beamforming_loss_db for p in prof])[env[u0:u1][sel]]
        s_mw = np.power(10.0, (common[kb] + g_tr[kb] - bf) / 10.0)
        p_ref[users_sel] = p_re[ss[kb]]
        ssb_tot = np.bincount(uu, weights=ssb_lin, minlength=m_u)
        i_mw = config.cell_load * np.maximum(i_tot[sel] - i_lin[kb], 0.0) + config.always_on_re_share * np.maximum(
            ssb_tot[sel] - ssb_lin[kb], 0.0)
        sinr[users_sel] = 10.0 * np.log10(s_mw / (i_mw + noise_mw))
        ul_gain[users_sel] = common[kb] + g_tr[kb] - bf - p_re[ss[kb]]
    dl = np.zeros(n)
    ul = np.zeros(n)
    ok = best >= 0
    if ok.any():
        from qamtu.engine.criterion import link_rate_mbps

        dl[ok] = link_rate_mbps(sinr[ok], config, "dl")
        nd = None
        if served is not None and config.ul_interference == "neighbours":
            from qamtu.engine.links import noise_per_re_dbm as _nd

            i_ul = config.cell_load * served.ul_interference_mw(config)
            nd = 10.0 * np.log10(10.0 ** (_nd(config, config.gnb_noise_figure_db) / 10.0) + i_ul[best[ok]])
        ul[ok] = link_rate_mbps(ul_snr_db(rsrp[ok], p_ref[ok], ul_gain[ok] + p_ref[ok] - rsrp[ok], config, nd),
                                config, "ul")
    out = users.copy()
    out["indoor"] = indoor
    out["o2i_model"] = np.where(high, "high", np.where(indoor, "low", ""))
    out["o2i_loss_db"] = o2i_loss
    out["best_server"] = best
    out["rsrp_dbm"] = rsrp
    out["sinr_db"] = sinr
    out["dl_mbps"] = dl
    out["ul_mbps"] = ul
    return out


def pixel_monte_carlo(links, pixel: int, env_code: int, config=None, *, n_users: int = 20000, seed: int = 0,
                      user_class: str = "outdoor", active=None, residual_share: float = 1.0) -> dict:
    """Brute-force Monte-Carlo of one pixel's users from its stored links: the reference of the distributions.

    Per user: one LOS state and one shadow-fading draw per site (shared by the site's sectors), the building loss
    of the class drawn once per user with :func:`qamtu.radio.o2i.draw_o2i_loss_db` (the full TR 38.901 7.4.3
    model, not the normal approximation of :mod:`qamtu.engine.distribution`), camping on the strongest SS-RSRP;
    SSB SINR against the other sectors' SSB at full power, PDSCH SINR against ``load`` x their interference beams
    plus the pixel's residual plus ``always_on_re_share`` x their SSB-beam power (always-on signals). The residual
    (the weak links, not stored) is drawn as the kernel models it (:func:`_draw_residual`); it and the
    ``residual_share`` scaling of a subset are the model's, not brute force. Plain NumPy, no approximation
    beyond the sampling.

    Returns
    -------
    dict with ``rsrp_dbm``, ``ssb_sinr_db``, ``pdsch_sinr_db``, ``ul_snr_db`` (arrays per user; the UL to the
    user's DL best server of its draw, :func:`ul_snr_db`) and ``p_rsrp``, ``p_dl``, ``p_ul`` (fractions of users
    reaching the criterion's RSRP threshold, DL SINR threshold and UL SNR threshold; ``p_ul`` is 1 without a UL
    condition).
    """
    from qamtu.radio import o2i as _o2i

    config = links.config if config is None else config
    crit = config.criterion
    rng = np.random.default_rng(seed)
    sel = links.pixel == pixel
    if active is not None:
        sel &= np.asarray(active)[links.sector]
    k = np.flatnonzero(sel)
    prof = config.environments[ENV_CLASSES[env_code]]
    rsrp = links.rsrp_dbm[k].astype(float)
    p = links.p_los[k].astype(float)
    d = links.los_gain_db[k].astype(float)
    nlos = rsrp - 10 * np.log10(p * 10 ** (d / 10) + 1 - p)
    t = links.signal_dbm[k].astype(float) - prof.beamforming_loss_db - rsrp
    cos = 0.0 if links.cosited_weak_mw is None else links.cosited_weak_mw[k].astype(float)  # same draw as k's site
    i_off = 10 * np.log10(links.interference_mw[k].astype(float) + cos) - rsrp
    _, site = np.unique(np.asarray(links.sectors.site_id)[links.sector[k]], return_inverse=True)
    ns = int(site.max()) + 1 if k.size else 0
    u_los = rng.random((n_users, ns))
    z = rng.standard_normal((n_users, ns))
    # per-site draws, broadcast to the site's sectors (the sectors of a site share the path: same p, sigma)
    los = u_los[:, site] < p[None, :]
    sf = np.where(los, links.sf_los_db[k][None, :], links.sf_nlos_db[k][None, :]) * z[:, site]
    r = nlos[None, :] + np.where(los, d[None, :], 0.0) + sf
    if user_class == "outdoor":
        loss = np.zeros(n_users)
    else:
        high = rng.random(n_users) < (prof.o2i_high_share if user_class in ("indoor", "mixed") else 1.0)
        if user_class == "indoor_low":
            high[:] = False
        loss = np.where(
            high, _o2i.draw_o2i_loss_db(config.freq_hz, "high", n_users, rng, prof.scenario),
            _o2i.draw_o2i_loss_db(config.freq_hz, "low", n_users, rng, prof.scenario),
        )
    r = r - loss[:, None]
    best = np.argmax(r, axis=1)
    rows = np.arange(n_users)
    r_best = r[rows, best]
    noise = 10 ** (noise_per_re_dbm(config) / 10)
    off = np.zeros(k.size) if links.ssb_offset_db is None else links.ssb_offset_db[k].astype(float)
    lin = 10 ** ((r + off[None, :]) / 10)  # the other sectors' SSB with the beam of the user's SSB index
    ssb_i = lin.sum(axis=1) - lin[rows, best]
    resid = _draw_residual(links, pixel, residual_share, r_best + loss, rng)
    intf = 10 ** ((r + i_off[None, :]) / 10)
    pd_i = crit.cell_load * (intf.sum(axis=1) - intf[rows, best] + resid * 10 ** (-loss / 10))
    pd_i = pd_i + config.always_on_re_share * ssb_i  # neighbours' always-on signals on their share of the REs
    s = 10 ** ((r_best + t[best]) / 10)
    ssb = 10 * np.log10(10 ** (r_best / 10) / (ssb_i + noise))
    pdsch = 10 * np.log10(s / (pd_i + noise))
    g = crit.min_dl_sinr_db(config)
    # uplink: the UE transmits to its DL best server of this draw (its SSB EPRE sets the path-loss estimate)
    p_ref = np.asarray(power_per_re_dbm(links.sectors.tx_power_dbm, config), float)[links.sector[k]]
    from qamtu.engine.aggregate import ul_noise_interference_dbm

    nd = ul_noise_interference_dbm(links, config)[links.sector[k]]  # the serving sector's noise + interference
    ul = ul_snr_db(r_best, p_ref[best], t[best], config, nd[best])
    g_ul = crit.min_ul_sinr_db(config)
    return {
        "rsrp_dbm": r_best, "ssb_sinr_db": ssb, "pdsch_sinr_db": pdsch, "ul_snr_db": ul,
        "p_rsrp": float(np.mean(r_best >= crit.rsrp_threshold_dbm)), "p_dl": float(np.mean(pdsch >= g)),
        "p_ul": float(np.mean(ul >= g_ul)),
    }


def _draw_residual(links, pixel: int, share: float, serving_dbm: np.ndarray, rng) -> np.ndarray | float:
    """Per user, the pixel's weak-link residual (mW, outdoor): with ``Links.residual_var_mw2`` the log-normal
    with its mean and variance (both x ``share``) conditioned below the user's serving level ``serving_dbm`` x
    ``residual_mw / residual_rsrp_mw`` (:mod:`qamtu.engine.distribution`, :func:`_resid_moments`), drawn by
    inverting its CDF; without it, or with no residual, the constant mean."""
    from scipy.special import ndtr, ndtri

    if links.residual_mw is None:
        return 0.0
    m = float(links.residual_mw[pixel]) * share
    var = None if links.residual_var_mw2 is None else float(links.residual_var_mw2[pixel]) * share
    if var is None or m <= 0.0 or var <= 0.0:
        return m
    s2 = np.log1p(var / m ** 2)
    mu, s = np.log(m) - 0.5 * s2, np.sqrt(s2)
    lvl = None if links.residual_rsrp_mw is None else float(links.residual_rsrp_mw[pixel]) * share
    cap = np.full(serving_dbm.shape, np.inf) if not lvl else np.log(m / lvl) + serving_dbm * np.log(10.0) / 10.0
    f = ndtr((cap - mu) / s)
    u = np.clip(rng.random(serving_dbm.shape) * f, 1e-300, None)
    return np.exp(mu + s * ndtri(u))


def ul_interference_monte_carlo(links, victim: int, config=None, *, n_draws: int = 20000, seed: int = 0,
                                condition: str = "pair", max_tries: int = 40) -> float:
    """Brute-force uplink interference at sector ``victim`` at full load, mW per RE: the reference of
    :meth:`qamtu.engine.served.ServedModel.ul_interference_mw`.

    For every other cell k (the serving sectors of the served points that have ``victim`` among their evaluated
    sectors), ``n_draws`` UEs: a served point drawn with its people weight (the weight left over by k's points
    that do not see the victim contributes 0), a LOS state and a shadow-fading draw per site (shared when k and
    the victim are co-sited), redrawn until the UE is k's (``condition="pair"``: the victim's SS-RSRP below
    k's; ``"best"``: k is the strongest of every evaluated sector at the point, all sites drawn), power
    ``min(P_CMAX, P0 + alpha PL)`` per RE, received with the victim's gain toward it. Plain NumPy.
    """
    from qamtu.engine.links import evaluate_link_batch
    from qamtu.engine.served import _state_medians

    if condition not in ("pair", "best"):
        raise InvalidInputError(f"condition = {condition!r} must be 'pair' or 'best'")
    config = links.config if config is None else config
    served = links.served
    pairs = served.ul_pairs(config)
    if pairs is None:
        return 0.0
    rng = np.random.default_rng(seed)
    (ml_k, mn_k, p_k, sl_k, sn_k, pref_k, ml_v, mn_v, p_v, sl_v, sn_v, off, cosite, delta,
     pmax, p0, alpha) = pairs["args"]
    sel_v = pairs["victim"] == victim
    site = np.unique(np.asarray(served.sectors.site_id), return_inverse=True)[1]
    total = 0.0
    for k in np.unique(pairs["serving"][sel_v]):
        rows = np.flatnonzero(sel_v & (pairs["serving"] == k))
        w = pairs["weight"][rows]
        probs = np.append(w, max(0.0, 1.0 - w.sum()))
        pick = rng.choice(rows.size + 1, size=int(n_draws), p=probs / probs.sum())
        got = pick < rows.size
        r = rows[pick[got]]
        m = r.size
        x_k = np.full(m, np.nan)
        x_v = np.full(m, np.nan)
        todo = np.arange(m)
        if condition == "best":
            pts = pairs["point"][r]
            near = pairs["evaluated"][pts]  # the point's evaluated sectors (those of the analytic)
        for _ in range(int(max_tries)):
            if todo.size == 0:
                break
            rr = r[todo]
            z = rng.standard_normal((2, todo.size))
            los_k = rng.random(todo.size) < p_k[rr]
            xk = np.where(los_k, ml_k[rr] + sl_k[rr] * z[0], mn_k[rr] + sn_k[rr] * z[0])
            los_v = rng.random(todo.size) < p_v[rr]
            xv = np.where(cosite[rr], xk + delta[rr],
                          np.where(los_v, ml_v[rr] + sl_v[rr] * z[1], mn_v[rr] + sn_v[rr] * z[1]))
            if condition == "pair":
                ok = cosite[rr] | (xv < xk)
            else:  # every evaluated sector of the point, one draw per site (k's and the victim's as above)
                nb = near[todo]
                pt = pairs["point"][rr]
                sec = nb.ravel()
                pp = np.repeat(pt, nb.shape[1])
                b = evaluate_link_batch(served.point_xy[pp, 0] - served.sectors.x_m[sec],
                                        served.point_xy[pp, 1] - served.sectors.y_m[sec], sec,
                                        served.point_env[pp], served.sectors, config, floor_dbm=-1e9)
                lm_l, lm_n = _state_medians(np.asarray(b.rsrp_dbm, float), np.asarray(b.p_los, float),
                                            np.asarray(b.los_gain_db, float))
                shape = nb.shape
                s_site = site[nb]
                zs = rng.standard_normal(shape)
                us = rng.random(shape)
                # the draws of k's and the victim's sites are those above
                kk = site[k]
                vv = site[victim]
                for col in range(shape[1]):
                    same_k = s_site[:, col] == kk
                    same_v = s_site[:, col] == vv
                    zs[same_k, col] = z[0][same_k]
                    us[same_k, col] = np.where(los_k[same_k], 0.0, 1.0)
                    zs[same_v & ~same_k, col] = z[1][same_v & ~same_k]
                    us[same_v & ~same_k, col] = np.where(los_v[same_v & ~same_k], 0.0, 1.0)
                plos = np.asarray(b.p_los, float).reshape(shape)
                lev = np.where(us < plos, lm_l.reshape(shape) + np.asarray(b.sf_los_db, float).reshape(shape) * zs,
                               lm_n.reshape(shape) + np.asarray(b.sf_nlos_db, float).reshape(shape) * zs)
                ok = nb[np.arange(todo.size), np.argmax(lev, axis=1)] == k
            x_k[todo[ok]] = xk[ok]
            x_v[todo[ok]] = xv[ok]
            todo = todo[~ok]
        done = np.isfinite(x_k)
        p_ue = np.minimum(pmax, p0 + alpha * (pref_k[r[done]] - x_k[done]))
        contrib = np.power(10.0, (p_ue + x_v[done] + off[r[done]]) / 10.0)
        total += contrib.sum() / float(n_draws)
    return float(total)


#: Columns of a drive-test CSV (qamtu.audit.ingest's canonical drive-test columns).
DRIVE_TEST_COLUMNS = ("time", "lat", "lon", "operator", "tech", "rsrp_dbm", "sinr_db", "dl_mbps", "ul_mbps", "cell_id")


def simulate_measurements(area, sites, n_samples: int, seed: int = 0, *, users: str = "outdoor", config=None,
                          start: str = "2025-06-01T09:00:00Z") -> pd.DataFrame:
    """A synthetic drive test drawn from the model's own distributions (``qamtu simulate-measurements``).

    Sample positions are uniform over the study area (:func:`drop_users`, ``weighting="uniform"``); each sample is a
    user of the class ``users`` ("outdoor", "indoor" or "mixed") with its own LOS states, shadowing and building
    loss (:func:`simulate_users`), served by its strongest SS-RSRP. ``cell_id`` is the serving sector's id
    (:func:`qamtu.engine.links.sector_cell_ids`: the site table's ``cell_id`` column, else ``<site_id>-<k>``,
    which ``qamtu calibrate`` understands). Samples with no sector in range keep their row with empty RSRP and
    cell id. One sample per second from ``start``.
    """
    from pyproj import Transformer

    from qamtu.engine.links import sector_cell_ids

    if users not in ("outdoor", "indoor", "mixed"):
        raise InvalidInputError(f"users = {users!r} must be 'outdoor', 'indoor' or 'mixed'")
    config = EngineConfig() if config is None else config
    sectors = prepare_sectors(sites, getattr(area, "crs", None))
    drop = drop_users(area, int(n_samples), seed=seed, weighting="uniform")
    sim = simulate_users(drop, sectors, config, seed=seed + 1, user_class=users, area=area)
    lon, lat = Transformer.from_crs(area.crs, "EPSG:4326", always_xy=True).transform(
        sim["x_m"].to_numpy(), sim["y_m"].to_numpy())
    best = sim["best_server"].to_numpy()
    ok = best >= 0
    ids = sector_cell_ids(sectors.frame)
    cell = np.where(ok, ids[np.maximum(best, 0)], "")
    if "operator" in sectors.frame.columns:
        ops = sectors.frame["operator"].fillna("").astype(str).to_numpy()
        operator = np.where(ok, ops[np.maximum(best, 0)], "")
        operator = np.where(operator == "", "model", operator)
    else:
        operator = np.full(best.size, "model", dtype=object)
    t0 = pd.Timestamp(start)
    return pd.DataFrame({
        "time": (t0 + pd.to_timedelta(np.arange(best.size), unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lat": np.round(lat, 7), "lon": np.round(lon, 7), "operator": operator, "tech": "5G",
        "rsrp_dbm": np.where(ok, np.round(sim["rsrp_dbm"].to_numpy(), 2), np.nan),
        "sinr_db": np.where(ok, np.round(sim["sinr_db"].to_numpy(), 2), np.nan),
        "dl_mbps": np.round(sim["dl_mbps"].to_numpy(), 3), "ul_mbps": np.round(sim["ul_mbps"].to_numpy(), 3),
        "cell_id": cell,
    }, columns=list(DRIVE_TEST_COLUMNS))
