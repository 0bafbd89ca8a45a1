"""Per-pixel, per-user-class distributions of SS-RSRP and SINR: coverage and speed judged on probabilities.

The model a pixel's user sees (the one :func:`qamtu.engine.montecarlo.pixel_monte_carlo` draws by brute force):

* every **site** ``l`` in range has one LOS state (``P_LOS``) and one log-normal shadow fading (sigma of the
  state) for all its sectors (one propagation path; TR 38.901 7.4), independent between sites; its sectors differ
  by their beam gains only;
* an **indoor** user has one building loss ``L`` (TR 38.901 7.4.3: low-loss or high-loss building, wall loss +
  indoor distance + N(0, sigma_P)) common to all its links, drawn once per user; an outdoor user has ``L = 0``;
* the user **camps on the strongest SS-RSRP** (best server under shadowing: the strongest sector of the
  strongest site in that draw);
* SSB SINR: the serving SSB against every other sector's SSB at full power (always-on signals, synchronised
  network; each with the beam of the same SSB index, ``Links.ssb_offset_db``) plus noise; PDSCH SINR: the
  serving traffic beam against ``load`` x every other sector's interference beam (its own site's other sectors
  included) plus ``load`` x the weak links' residual, plus ``always_on`` (the config's ``always_on_re_share``) x
  every other sector's SSB-beam power (TRS, broadcast PDSCH, periodic CSI-RS at full power on their share of the
  PDSCH REs, power-averaged), plus noise;
* the **weak links' residual** (links below the relevance floor, not stored: :mod:`qamtu.engine._resid`) is a
  random term with their sum's mean and variance (``Links.residual_mw`` / ``residual_var_mw2``), conditioned, as
  every other site, on being below the serving level (times the residual's interference-to-SS-RSRP ratio,
  ``residual_mw / residual_rsrp_mw``, and the load for the loaded residual: :func:`_resid_moments`, a log-normal
  truncated there); it is added to the moments of the interference sum before its log-normal fit. The weak
  sectors of a site with a stored link (``Links.cosited_weak_mw``) count with that site (same draw); the few weak
  sites that would make it heavy are stored links (``EngineConfig.cutoff_weak_sites``). Not in the SSB interference: the weak sectors' SSBs
  are 30 dB below the reference level and the SSB SINR enters only the maps (no ``Links`` field carries them).

What is computed (per pixel, :func:`pixel_distributions`):

* ``P(SS-RSRP >= thr)`` = ``E_L[1 - prod_l (1 - P(R_l >= thr + L))]``: exact under the model (sites independent
  given ``L``); ``L`` is integrated by Gauss-Hermite quadrature (``N_QUAD`` nodes) over its normal approximation
  (:func:`qamtu.engine.physics.o2i_states`: mean loss, sigma_P and the spread of the indoor distance term).
* ``P(SINR >= g)`` = ``sum_j E[1{site j is the strongest} P(SINR_j >= g | R_j)]``: the serving site's level
  ``y = R_j`` (its strongest sector's SS-RSRP, dB) is integrated on a grid (``Y_STEP_DB``, trapezoid, weights
  normalised so that the probabilities of "site j serves" sum to 1). Given ``y``, every other site is below
  ``y`` (probability ``prod_l F_l(y)``, exact) and, so conditioned, its power is a *truncated* LOS/NLOS log-normal
  mixture whose mean and variance are exact (closed form); the interference of the other sites is the log-normal
  with the sum's mean and variance (Fenton-Wilkinson on the truncated terms, which have no heavy upper tail). The
  serving site's other sectors scale with ``y`` (same shadowing): ``SINR_j >= g`` iff
  ``x (t_j - g load c_j) >= g (load I + N)`` (``I`` with the residual). Where one other site brings at least
  :data:`BRANCH_SHARE` of the conditioned mean, its level below ``y`` is split in :data:`NB_BRANCH` bins (exact
  partial moments; the top one narrow, :data:`BIN_BOUNDS`), each Fenton-Wilkinson'd with the rest: one log-normal
  of the whole sum was up to 0.021 high against the Monte-Carlo with the served beams (a term piled up just below
  ``y``, docs/notes/mcbias-23.md). Only where it can matter (docs/notes/bins-24.md): not at the smallest nodes
  (their weight with the pruned ones <= :data:`SPLIT_EPS`, 0.05: every DL probability moves by at most that,
  measured <= 0.0034 against splitting them too), nor where the single log-normal gives the room a standard
  score beyond +-:data:`Z_SPLIT` at every point of the cell for every user class (:func:`_split_matters`;
  measured <= 0.0008); such a node has instead that site's LOS and NLOS states below ``y`` as two branches where
  both are open (:data:`BRANCH_MIN`): the quantile maps search other thresholds, and without a branch there their
  medians were up to 7 dB off the Monte-Carlo (docs/notes/lead-24.md). This is exact apart from the log-normal fit
  of the conditioned interference sum (or of each bin's or state's) and the grid. Within a cell the conditional
  probability is averaged over :data:`Y_SUB` points, with the interference's log-normal log mean moved linearly from the node's (the
  neighbouring nodes' slope: at a point above the node the others are conditioned below that point, not the
  node) and the point weights tilted by :data:`TILT_FRACTION` of the serving density's slope
  (:func:`_pairs`; both held at the node made the 2 dB grid up to 0.003 low against its converged value,
  docs/notes/grid-21.md). ``tests/engine/test_distribution.py`` checks it against
  the brute-force Monte-Carlo on random layouts (within 0.02), and at the two served-mode pixels where one
  log-normal was worst within 0.01 (the bins: within 0.005 there). With the served-area beams a neighbour aimed at
  its users next door can bring most of the conditioned interference, and a log-normal fit of its level truncated
  below ``y`` puts too little mass just under the cut (P(DL) up to +0.021 high at mid-probability pixels): the
  bins of the strongest site's level below remove it (seeds 1-6 of the tests, 12 pixels, outdoor and indoor:
  max |dP(DL)| 0.0082 against the Monte-Carlo at 20 000 users, sampling sd up to 0.0035; 9 worst pixels at
  200 000-400 000 users: within 0.0041). Left: the log-normal fit within each bin and of the rest (a second
  interferer of similar weight is not split). The building loss enters only through
  the noise (all links of a user share it), so the grid quantities are computed once per pixel and reused for
  every class and node.
* ``P(UL SNR >= g_ul)``: the UE transmits to the DL best server of its own draw, so the same (serving site,
  level) pairs are summed with the indicator "the received level reaches the power-controlled threshold of that
  site" (:func:`_ul_pairs_exceed`); the UL SNR p10 by bisection on it.
* Quantiles: the median SS-RSRP by bisection; the SINR ones (median SSB / PDSCH SINR, PDSCH SINR at the 10th
  percentile) by safeguarded Newton steps on the logit of the probability from a guess, the derivative summed
  with the probability (:func:`_sinr_quantile`, to an estimated 0.05 dB: 2.1-2.3 sums per quantile), each sum
  over every point of every cell (no flat-cell shortcut: :func:`_sinr_sum_points`, a loop that vectorises); the
  PDSCH p10 is searched first with one point per cell (the medians' form, a quarter of the cost), then on every
  point from there (issue 23: p10 map within 0.007 dB of the search from the guess, p99 2.2e-4 dB); the UL SNR
  p10 by bisection.

Cost: per pixel ``O(grid x sites near the serving level)`` normal-CDF look-ups (a table, :func:`phi_table`), then
``O(grid x candidates)`` per probability; the P(DL) of every user class and quadrature node in one pass over the
(site, level) pairs (:func:`_sinr_sum`: the nodes share each pair's per-point quantities, each node's sum keeps its
terms and order); Numba, parallel over pixels (chunks in a spread order, :func:`_chunk_stride`).

Approximations made for speed (issue 21), each with its bound on a probability (a sum over the (site, level)
pairs of weight x conditional probability in [0, 1]):

* pair pruning: after the normalisation the smallest pairs are dropped while their cumulative weight stays
  <= :data:`PRUNE_EPS` (2e-4; by binary exponent of the weight), before their interference moments are computed:
  every SINR/UL probability moves by at most PRUNE_EPS (downwards);
* flat cells: where the conditional probability at the lowest and at the highest of the ``Y_SUB`` points of a
  cell differ by at most :data:`SUB_FLAT` (3e-3), the cell takes their mid-point (it is monotone in the level, so
  the points in between lie in that interval): at most SUB_FLAT / 2;
* saturated cells (issue 22): a cell whose lowest point's conditional probability is >= Phi(:data:`Z_SAT`)
  (1 - 3.2e-5, told by comparing the room with a threshold per pair, :func:`_saturation`, no log) is taken as 1
  (the flat rule took the mid-point of that point and 1): at most 3.2e-5, within the flat cells' bound;
* vectorised loops (issue 22; Numba has no vector math library here): the quantile sums, the serving grid's
  loops over the near sites, P(SS-RSRP) and the UL sums have no branch (:func:`_cdf_pdf` clamps its table index
  and selects the ends; the quantile sums' log is a polynomial, :func:`_log_fast`, error < 2e-13) and may
  reassociate their sums and products (rounding only: measured P rows within 2e-8 of the scalar kernel);
* the grid's first pass takes a site whose both states' medians are ``Y_SIGMAS`` (5) standard deviations below
  the level as below it (F = 1, never the server; its probability above is < 3e-7), and the normal density from a
  table like the CDF (linear interpolation, error < 1.3e-6 of the density, weights then normalised).

So every probability is within PRUNE_EPS + SUB_FLAT / 2 (1.7e-3) of what the full sums give, and the verdict of
:func:`_sinr_verdict` stays exact for the sums used (same terms, each in [0, weight]). Measured against the
kernel before these changes (b959b55) on the reference layouts of Taraz 100 m, Aktau 25 m and Konaev 75 m: every
probability row within 2.0e-4 (p99.9 2.0e-4), SINR quantile maps p99 <= 0.071 dB (max 0.33 dB), city KPI shares
within 3e-4, 2 ``covered`` flips (Aktau, both at P(DL) 0.9000-0.9001 against the 0.9 level);
``docs/notes/kspeed-21.md``.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

BETA = math.log(10.0) / 10.0  # dB -> neper of power
N_QUAD = 4
#: grid step of the serving site's level, dB
Y_STEP_DB = 2.0
#: the grid spans the levels within this many standard deviations of the sites' medians
Y_SIGMAS = 5.0
MAX_Y = 80
#: points per serving-level cell at which the conditional SINR probability is averaged (:func:`_sinr_exceed`)
Y_SUB = 4
#: the pair weight's log-slope across its cell (from the neighbouring nodes' weights) is applied at this fraction
#: (:func:`_pairs`); measured, not derived: 1 over-corrects the node-held density by as much as 0 under-
#: corrects it (Taraz 100 m against the 0.5 dB grid, docs/notes/grid-21.md)
TILT_FRACTION = 0.5
#: the linear weight tilt across a cell is clipped to +-TILT_MAX (a point's weight stays >= 1 / Y_SUB > 0)
TILT_MAX = 2.0
BISECT_STEPS = 7
#: the level of the strongest interfering site (given the serving level) is split in NB_BRANCH bins where it brings
#: at least BRANCH_SHARE of the conditioned interference's mean (:func:`_serving_grid`); the bins' upper bounds
#: are at BIN_BOUNDS of its probability below the level (the last at 1): a narrow top bin where a truncated term
#: piles up (equal bins: 4 of them for the same accuracy, docs/notes/bins-24.md)
BRANCH_SHARE = 0.5
NB_BRANCH = 3
BIN_BOUNDS = (0.5, 0.85)
#: a node is not split where the single log-normal's standard score of the room is beyond +-Z_SPLIT at every point
#: of its cell for every user class (:func:`_split_matters`), nor where it is among the smallest nodes whose
#: cumulative weight (with the pruned ones) stays <= SPLIT_EPS (:func:`_serving_grid`)
Z_SPLIT = 2.5
SPLIT_EPS = 0.05
#: a node not split in bins has the strongest site's LOS and NLOS states below the level as two branches where that
#: site brings at least BRANCH_SHARE of the mean and its LOS probability given the level is in [BRANCH_MIN,
#: 1 - BRANCH_MIN] (the quantile maps' accuracy; :func:`_serving_grid`)
BRANCH_MIN = 0.01
#: bisection steps of the bins' bounds (:func:`_quantile_level`: 2 Y_SIGMAS sigmas / 2^6; the bins' moments are
#: exact for whatever bounds, only their probabilities are off the targets)
QUANTILE_STEPS = 6
PHI_STEP = 0.005
PHI_MAX = 9.0

#: output rows of :func:`pixel_distributions`
ROWS = ("p_rsrp_outdoor", "p_dl_outdoor", "p_rsrp_indoor_low", "p_dl_indoor_low", "p_rsrp_indoor_high",
        "p_dl_indoor_high", "rsrp_median_dbm", "ssb_sinr_median_db", "pdsch_sinr_median_db", "pdsch_sinr_p10_db",
        "p_ul_outdoor", "p_ul_indoor_low", "p_ul_indoor_high", "ul_snr_p10_db")


def phi_table() -> np.ndarray:
    """Standard normal CDF on [-PHI_MAX, PHI_MAX] with step PHI_STEP (linear interpolation error < 1e-6)."""
    from scipy.special import ndtr

    return ndtr(np.arange(-PHI_MAX, PHI_MAX + PHI_STEP / 2, PHI_STEP))


#: the floating-point freedom of the vectorised loops: their sums and products may be reassociated (rounding only;
#: no contraction into fused multiply-adds, which broke the exact cancellation of the serving site's own moments in
#: :func:`_serving_grid`: P(DL) 0.9999 -> 0.94 where the others bring nothing)
_REASSOC = {"reassoc", "nsz"}
_PHI = phi_table()
_PDF = np.exp(-0.5 * np.arange(-PHI_MAX, PHI_MAX + PHI_STEP / 2, PHI_STEP) ** 2) / math.sqrt(2.0 * math.pi)
_PHI_INV_STEP = 1.0 / PHI_STEP


@njit(cache=True, nogil=True, inline="always")
def _cdf(x):
    """Standard normal CDF by table look-up (module table ``_PHI``; :func:`_cdf_pdf`)."""
    return _cdf_pdf(x)[0]


#: the table's last interpolation cell (:func:`_cdf_pdf` clamps its index into the table)
_PHI_LAST = _PHI.size - 1.000001


@njit(cache=True, nogil=True, inline="always")
def _phi_cell(x):
    """The table cell of ``x`` (index, fraction; clamped into the table, no branch) and whether ``x`` is inside
    (-PHI_MAX, PHI_MAX) (:func:`_cdf_pdf`, :func:`_cdf_slope`)."""
    u = min(max((x + PHI_MAX) * _PHI_INV_STEP, 0.0), _PHI_LAST)
    i = int(u)
    return i, u - i, -PHI_MAX < x < PHI_MAX


@njit(cache=True, nogil=True, inline="always")
def _cdf_pdf(x):
    """The standard normal CDF and density by table look-up (``_PHI``, ``_PDF``; the density's linear
    interpolation error < 1.3e-6, PHI_STEP^2 / 8 x max |phi''|); 0 or 1 and density 0 beyond PHI_MAX. Without a
    branch (the index clamped into the table, the ends selected), so that a loop over it vectorises."""
    i, f, inside = _phi_cell(x)
    c = _PHI[i] * (1.0 - f) + _PHI[i + 1] * f
    d = _PDF[i] * (1.0 - f) + _PDF[i + 1] * f
    return (c if inside else (0.0 if x <= -PHI_MAX else 1.0)), (d if inside else 0.0)


@njit(cache=True, nogil=True, inline="always")
def _cdf_slope(x):
    """:func:`_cdf_pdf` with the density taken as the slope of the CDF's interpolation (the derivative of the
    CDF returned; within ~PHI_STEP x max |phi'| / 2 < 6.1e-4 of the density): two table reads instead of four."""
    i, f, inside = _phi_cell(x)
    c = _PHI[i] * (1.0 - f) + _PHI[i + 1] * f
    return (c if inside else (0.0 if x <= -PHI_MAX else 1.0)), ((_PHI[i + 1] - _PHI[i]) * _PHI_INV_STEP if inside
                                                                 else 0.0)


@njit(cache=True, nogil=True)
def _q(x):
    """P(Z >= x), Z standard normal."""
    return _cdf(-x)


@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _serving_grid(ns, m_l, m_n, p, s_l, s_n, e1l, e1n, e2l, e2n, a_int, a_ssb, ys, w, mu_i, sd_i, mu_s, sd_s,
                  with_ssb, top, bottom, cand, near, qa, fgrid, hist, bins, is_l, is_n, g_dl, t_lin, c_int, resid,
                  noise_lo, noise_hi, r1=0.0, r2=0.0, r_ratio=0.0):
    """Fill, per (candidate site j, level index i), the weight of "j serves at level ys[i]" and the log-normal
    parameters (neper, of mW) of the other sites' conditioned interference (traffic ``*_i`` and SSB ``*_s``).

    Sites whose highest plausible level (``Y_SIGMAS`` sigmas above the LOS median) is below the grid never serve
    and are below every level of the grid: their (untruncated) moments are summed once. ``r1`` / ``r2``: the weak
    links' residual (mean, mW, and variance, mW^2; traffic interference only), a log-normal conditioned, as the
    other sites, on being below the serving level ``y`` times ``exp(r_ratio)`` (:func:`_resid_moments`). Returns
    the number of
    levels used. ``top``, ``bottom`` (float), ``cand`` (bool), ``near`` (int): scratch of at least ``ns``
    entries, ``qa`` of (:data:`_NEAR_ROWS`, ns) (the caller's, reused from pixel to pixel): the near sites'
    parameters, contiguous, so that the loops over them (phase 1's CDFs, phase 2's truncated moments) have no
    branch and vectorise (their sums and products reassociated: rounding only). ``bins``: scratch (4, 4,
    NB_BRANCH) of the strongest interferer's split; ``g_dl``, ``t_lin``, ``c_int``, ``resid``, ``noise_lo``,
    ``noise_hi``: what :func:`_split_matters` tests a node's DL probability with.
    """
    hi = -1e300
    lo = -1e300
    lo2 = -1e300  # the second largest lower bound
    for j in range(ns):
        t = m_n[j] + Y_SIGMAS * s_n[j]
        low = m_n[j] - Y_SIGMAS * s_n[j]
        if p[j] > 1e-9:
            t = max(t, m_l[j] + Y_SIGMAS * s_l[j])
            low = min(low, m_l[j] - Y_SIGMAS * s_l[j])
        top[j] = t
        bottom[j] = low
        hi = max(hi, t)
        if low > lo:
            lo2 = lo
            lo = low  # below the largest lower bound some site is almost surely above
        elif low > lo2:
            lo2 = low
    # a site can serve only if its highest plausible level beats every other site's lowest plausible one
    for j in range(ns):
        other_low = lo2 if bottom[j] == lo else lo
        cand[j] = top[j] >= other_low
    ny = int((hi - lo) / Y_STEP_DB) + 2
    if ny > MAX_Y:
        ny = MAX_Y
    step = (hi - lo) / (ny - 1)
    nn = 0
    f1 = 0.0
    f2 = 0.0
    g1 = 0.0
    g2 = 0.0
    for l in range(ns):
        if top[l] >= lo:
            near[nn] = l
            nn += 1
        else:
            m1 = p[l] * e1l[l] + (1 - p[l]) * e1n[l]
            v = max(p[l] * e2l[l] + (1 - p[l]) * e2n[l] - m1 * m1, 0.0)
            f1 += a_int[l] * m1
            f2 += a_int[l] * a_int[l] * v
            g1 += a_ssb[l] * m1
            g2 += a_ssb[l] * a_ssb[l] * v
    # the near sites' parameters, contiguous (rows of ``qa``; the vectorised loops below)
    qm_l, qm_n, qp, qis_l, qis_n, qtop, dens = qa[0], qa[1], qa[2], qa[3], qa[4], qa[5], qa[6]
    qb_l, qb_n, qe1l, qe1n, qe2l, qe2n, qa_i, qa_s, qc1, qc2 = (qa[7], qa[8], qa[9], qa[10], qa[11], qa[12], qa[13],
                                                               qa[14], qa[15], qa[16])
    for q in range(nn):
        l = near[q]
        qm_l[q] = m_l[l]
        qm_n[q] = m_n[l]
        qp[q] = p[l]
        qis_l[q] = is_l[l]
        qis_n[q] = is_n[l]
        qtop[q] = top[l]
        qb_l[q] = BETA * s_l[l]
        qb_n[q] = BETA * s_n[l]
        qe1l[q] = p[l] * e1l[l]
        qe1n[q] = (1 - p[l]) * e1n[l]
        qe2l[q] = p[l] * e2l[l]
        qe2n[q] = (1 - p[l]) * e2n[l]
        qa_i[q] = a_int[l]
        qa_s[q] = a_ssb[l]
    total = 0.0
    for j in range(ns):
        for i in range(ny):
            for b in range(NB_BRANCH):
                w[j, i, b] = 0.0
    # phase 1, every level: every near site's CDF at y (their product: "all other sites below y", kept in
    # ``fgrid``) and the weight of "candidate j serves at y" (every weight enters the normalisation)
    for i in range(ny):
        y = lo + i * step
        ys[i] = y
        fg = fgrid[i]
        prod_f = 1.0
        zero = 0
        for q in range(nn):
            cl, dl = _cdf_pdf((y - qm_l[q]) * qis_l[q])
            cn, dn = _cdf_pdf((y - qm_n[q]) * qis_n[q])
            # Y_SIGMAS above both states' medians: below y but for ~1e-7, never the server
            below = qtop[q] < y
            fl = 1.0 if below else qp[q] * cl + (1 - qp[q]) * cn
            fg[q] = fl
            dens[q] = 0.0 if below else qp[q] * dl * qis_l[q] + (1 - qp[q]) * dn * qis_n[q]  # the density at y
            tiny = fl <= 1e-300
            zero += tiny
            prod_f *= 1.0 if tiny else fl
        if zero > 0:
            continue
        tw = 0.5 if (i == 0 or i == ny - 1) else 1.0
        for q in range(nn):
            j = near[q]
            if cand[j]:
                wj = tw * dens[q] * (prod_f / fg[q])
                total += wj
                w[j, i, 0] = wj  # (phase 2 splits it on the strongest interferer's LOS state)
    if total <= 0.0:
        return ny
    # normalised; the smallest weights dropped while their sum stays <= PRUNE_EPS (whole binary-exponent classes,
    # smallest first: every probability summed over the pairs moves by at most PRUNE_EPS)
    for k in range(_N_EXP):
        hist[k] = 0.0
    for q in range(nn):
        j = near[q]
        for i in range(ny):
            if w[j, i, 0] > 0.0:
                w[j, i, 0] /= total
                hist[_exp_class(w[j, i, 0])] += w[j, i, 0]
    cut = _N_EXP
    dropped = 0.0
    while cut > 0 and dropped + hist[cut - 1] <= PRUNE_EPS:
        cut -= 1
        dropped += hist[cut]
    # the next smallest classes, while their weight and the dropped one stay <= SPLIT_EPS, are not split
    cut_split = cut
    while cut_split > 0 and dropped + hist[cut_split - 1] <= SPLIT_EPS:
        cut_split -= 1
        dropped += hist[cut_split]
    # phase 2 (only at levels with a kept pair): the truncated moments of the other sites, then per kept pair the
    # log-normal of its conditioned interference; the residual's log-normal (sd, and its standard score at y = 0)
    r_sd = math.sqrt(math.log(1.0 + r2 / (r1 * r1))) if r1 > 0.0 and r2 > 0.0 else 0.0
    r_z = (r_ratio - math.log(r1)) / r_sd + 0.5 * r_sd if r_sd > 1e-9 else 0.0
    if r_sd <= 1e-9:
        r_sd = 0.0
    for i in range(ny):
        kept = 0
        for q in range(nn):
            j = near[q]
            if w[j, i, 0] > 0.0:
                if _exp_class(w[j, i, 0]) >= cut:
                    w[j, i, 0] = 0.0
                else:
                    kept += 1
        if kept == 0:
            continue  # no pair at this level: its interference moments are never read
        y = ys[i]
        fg = fgrid[i]
        t1 = f1
        t2 = f2
        if r_sd > 0.0:
            q1, q2 = _resid_moments(r1, r2, r_z + BETA * y / r_sd, r_sd)
            t1 += q1
            t2 += q2
        elif r1 > 0.0:
            t1 += r1
        u1 = g1
        u2 = g2
        for q in range(nn):
            fl = fg[q]
            zl = (y - qm_l[q]) * qis_l[q]
            zn = (y - qm_n[q]) * qis_n[q]
            inv_fl = 1.0 / fl
            # truncated moments E[X; X < y], E[X^2; X < y] of the mixture (X in mW), divided by F(y)
            m1 = (qe1l[q] * _cdf(zl - qb_l[q]) + qe1n[q] * _cdf(zn - qb_n[q])) * inv_fl
            m2 = (qe2l[q] * _cdf(zl - 2 * qb_l[q]) + qe2n[q] * _cdf(zn - 2 * qb_n[q])) * inv_fl
            ok = fl > 1e-300
            m1 = m1 if ok else 0.0
            v = max(m2 - m1 * m1, 0.0) if ok else 0.0
            qc1[q] = m1
            qc2[q] = v
            t1 += qa_i[q] * m1
            t2 += qa_i[q] * qa_i[q] * v
            u1 += qa_s[q] * m1
            u2 += qa_s[q] * qa_s[q] * v
        # the two strongest interfering sites at this level (mean of the conditioned traffic-beam interference;
        # their indices among the near sites): the level of the strongest one other than the server is split below
        # (in NB_BRANCH bins or in its LOS/NLOS states; ``bins`` (4, 4, NB_BRANCH): per level, [0, 1] the two
        # sites' level bins, [2, 3] their states)
        d1 = -1
        d2 = -1
        s1 = 0.0
        s2 = 0.0
        for q in range(nn):
            sl = qa_i[q] * qc1[q]
            if sl > s1:
                d2 = d1
                s2 = s1
                d1 = q
                s1 = sl
            elif sl > s2:
                d2 = q
                s2 = sl
        done = 0  # bits: the slots of ``bins`` computed at this level (on first use)
        for q in range(nn):
            j = near[q]
            wj = w[j, i, 0]
            if wj <= 0.0:
                continue
            w[j, i, 0] = 0.0
            m_i = t1 - a_int[j] * qc1[q]
            v_i = t2 - a_int[j] * a_int[j] * qc2[q]
            m_s = u1 - a_ssb[j] * qc1[q]
            v_s = u2 - a_ssb[j] * a_ssb[j] * qc2[q]
            dq = d1 if d1 != q else d2
            d = near[dq] if dq >= 0 else -1
            share = a_int[d] * qc1[dq] / m_i if dq >= 0 and m_i > 1e-300 and fg[dq] > 1e-300 else 0.0
            nb = 0
            t = 0 if dq == d1 else 1
            if share >= BRANCH_SHARE:
                if _exp_class(wj) < cut_split and _split_matters(m_i, v_i, y, step, g_dl, t_lin[j], c_int[j], resid,
                                                                 noise_lo, noise_hi):
                    # site d below y in NB_BRANCH bins (BIN_BOUNDS; its exact partial moments in each), each bin
                    # with the rest Fenton-Wilkinson'd: a single log-normal fits worst a dominant term piled up just
                    # below y, a bimodal LOS/NLOS one or a neighbour aiming its served beams at its own users next
                    # door (P(DL) up to 0.021 high against the Monte-Carlo with one bin, docs/notes/mcbias-23.md)
                    if not done & (1 << t):
                        _level_bins(y, d, bins[t], p, m_l, m_n, s_l, s_n, e1l, e1n, e2l, e2n)
                        done |= 1 << t
                    nb = NB_BRANCH
                else:
                    # where the bins do not matter to the DL probability (the quantile maps' other thresholds may
                    # sit in the bulk): site d's LOS and NLOS states below y as two branches where both are open
                    # (its bimodal mixture is what one log-normal fits worst; without them the maps' medians were
                    # up to 7 dB off the Monte-Carlo, docs/notes/lead-24.md)
                    t += 2
                    if not done & (1 << t):
                        _state_bins(y, d, bins[t], p, m_l, m_n, s_l, s_n, e1l, e1n, e2l, e2n)
                        done |= 1 << t
                    rho_l = bins[t, 0, 0] / bins[t, 3, 0] if bins[t, 3, 0] > 1e-300 else 0.0
                    if BRANCH_MIN <= rho_l <= 1.0 - BRANCH_MIN:
                        nb = 2
            if nb == 0:
                w[j, i, 0] = wj
                _fw(m_i, v_i, mu_i, sd_i, j, i, 0)
                if with_ssb:
                    _fw(m_s, v_s, mu_s, sd_s, j, i, 0)
                continue
            bt = bins[t]
            ptot = bt[3, 0]
            for b in range(nb):
                fz, p1, p2 = bt[0, b], bt[1, b], bt[2, b]
                if fz <= 1e-300 or ptot <= 1e-300:
                    continue
                wb = fz / ptot
                k1 = p1 / fz
                k2 = max(p2 / fz - k1 * k1, 0.0)
                w[j, i, b] = wj * wb
                _fw(m_i - a_int[d] * qc1[dq] + a_int[d] * k1, v_i - a_int[d] * a_int[d] * (qc2[dq] - k2), mu_i,
                    sd_i, j, i, b)
                if with_ssb:
                    _fw(m_s - a_ssb[d] * qc1[dq] + a_ssb[d] * k1, v_s - a_ssb[d] * a_ssb[d] * (qc2[dq] - k2), mu_s,
                        sd_s, j, i, b)
    return ny


@njit(cache=True, nogil=True)
def _level_bins(y, d, bins, p, m_l, m_n, s_l, s_n, e1l, e1n, e2l, e2n):
    """Site ``d``'s level below ``y`` in NB_BRANCH bins, bin b up to BIN_BOUNDS[b] of P(X < y) (the last up to
    ``y``): ``bins[0, b]`` P(bin b), ``bins[1, b]`` E[X; bin b], ``bins[2, b]`` E[X^2; bin b] (X its level in mW);
    ``bins[3, 0]`` P(X < y)."""
    ptot, c1, c2 = _below(y, p[d], 1.0 - p[d], d, m_l, m_n, s_l, s_n, e1l, e1n, e2l, e2n)
    bins[3, 0] = ptot
    q0, q1, q2 = 0.0, 0.0, 0.0
    for b in range(NB_BRANCH):
        if b < NB_BRANCH - 1:
            yb = _quantile_level(y, ptot * BIN_BOUNDS[b], p[d], d, m_l, m_n, s_l, s_n)
            r0, r1, r2 = _below(yb, p[d], 1.0 - p[d], d, m_l, m_n, s_l, s_n, e1l, e1n, e2l, e2n)
        else:
            r0, r1, r2 = ptot, c1, c2
        bins[0, b] = r0 - q0
        bins[1, b] = r1 - q1
        bins[2, b] = r2 - q2
        q0, q1, q2 = r0, r1, r2


@njit(cache=True, nogil=True)
def _state_bins(y, d, bins, p, m_l, m_n, s_l, s_n, e1l, e1n, e2l, e2n):
    """Site ``d``'s level below ``y`` by LOS state, as :func:`_level_bins`' bins: ``bins[:3, 0]`` its LOS
    component's P, E[X; .], E[X^2; .] below ``y``, ``bins[:3, 1]`` its NLOS component's; ``bins[3, 0]`` P(X < y)."""
    bins[0, 0], bins[1, 0], bins[2, 0] = _below(y, p[d], 0.0, d, m_l, m_n, s_l, s_n, e1l, e1n, e2l, e2n)
    bins[0, 1], bins[1, 1], bins[2, 1] = _below(y, 0.0, 1.0 - p[d], d, m_l, m_n, s_l, s_n, e1l, e1n, e2l, e2n)
    bins[3, 0] = bins[0, 0] + bins[0, 1]


@njit(cache=True, nogil=True, inline="always")
def _split_matters(m, v, y, step, g, t_j, c_j, resid, noise_lo, noise_hi):
    """Whether the DL probability of node (j, y) can be mid-range: the single log-normal (mean ``m``, variance
    ``v``, mW) of its conditioned interference gives a standard score of the room within (-Z_SPLIT, Z_SPLIT) at
    some point of the cell (``y`` +- ``step`` / 2, dBm) for some noise in [``noise_lo``, ``noise_hi``] (mW: the
    user classes' quadrature nodes), at the DL threshold ``g`` (linear; ``t_j``, ``c_j``: the serving site's
    traffic-beam factor and own-site interference, ``resid``: the constant residual, as :func:`_sinr_sum`).

    The cell's points move the log mean from the node's (:func:`_pairs`); it rises with the level (the others
    are conditioned below a higher one), so the top point's room against the node's log mean overstates its
    score and the bottom point's understates it: the range tested contains the cell's. Beyond +-Z_SPLIT the
    bins changed P(DL) by at most 0.0008 (docs/notes/bins-24.md): the fit's shape moves the probability where
    the room is within the bulk of the interference, not in its tails. The quantile maps' searches (other
    thresholds) see the bins only where the DL probability is mid-range."""
    num = t_j - g * c_j
    if num <= 0.0 or m <= 1e-300:
        return False
    x = math.exp(BETA * y) * num / g
    f = math.exp(0.5 * BETA * step)
    room_hi = x * f - noise_lo - resid
    if room_hi <= 0.0:
        return False
    s2 = math.log(1.0 + max(v, 0.0) / (m * m))
    sd = math.sqrt(s2)
    if sd <= 1e-12:
        return False
    mu = math.log(m) - 0.5 * s2
    if (math.log(room_hi) - mu) / sd <= -Z_SPLIT:
        return False
    room_lo = x / f - noise_hi - resid
    return room_lo <= 0.0 or (math.log(room_lo) - mu) / sd < Z_SPLIT


@njit(cache=True, nogil=True, inline="always")
def _below(x, wl, wn, d, m_l, m_n, s_l, s_n, e1l, e1n, e2l, e2n):
    """Site ``d``'s P(X < x), E[X; X < x], E[X^2; X < x] (X its level in mW), its LOS and NLOS components
    weighted ``wl``, ``wn`` (its LOS probability and the complement)."""
    zl = (x - m_l[d]) / s_l[d]
    zn = (x - m_n[d]) / s_n[d]
    bl = BETA * s_l[d]
    bn = BETA * s_n[d]
    return (wl * _cdf(zl) + wn * _cdf(zn), wl * e1l[d] * _cdf(zl - bl) + wn * e1n[d] * _cdf(zn - bn),
            wl * e2l[d] * _cdf(zl - 2 * bl) + wn * e2n[d] * _cdf(zn - 2 * bn))


@njit(cache=True, nogil=True)
def _quantile_level(y, f, p, d, m_l, m_n, s_l, s_n):
    """The level (dB, below ``y``) below which site ``d``'s LOS/NLOS mixture (LOS probability ``p``) has the
    probability ``f`` (bisection, QUANTILE_STEPS)."""
    lo = y - 2.0 * Y_SIGMAS * max(s_l[d], s_n[d])
    hi = y
    for _ in range(QUANTILE_STEPS):
        mid = 0.5 * (lo + hi)
        if p * _cdf((mid - m_l[d]) / s_l[d]) + (1 - p) * _cdf((mid - m_n[d]) / s_n[d]) < f:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@njit(cache=True, nogil=True)
def _resid_moments(m, v, z, s):
    """Mean and variance of the log-normal with mean ``m``, variance ``v`` and log standard deviation ``s``
    conditioned below the level of standard score ``z`` (the weak links' residual below the serving level: a
    weak site above it would serve)."""
    f = _cdf(z)
    if f <= 1e-300:
        return 0.0, 0.0
    k1 = m * _cdf(z - s) / f
    k2 = (v + m * m) * _cdf(z - 2.0 * s) / f
    return k1, max(k2 - k1 * k1, 0.0)


@njit(cache=True, nogil=True)
def _fw(m, v, mu, sd, j, i, b):
    """Fenton-Wilkinson: the log-normal (neper of mW) with mean ``m`` and variance ``v`` into ``mu/sd[j, i, b]``."""
    if m <= 1e-300:
        mu[j, i, b] = -1e300
        sd[j, i, b] = 0.0
    else:
        s2 = math.log(1.0 + max(v, 0.0) / (m * m))
        mu[j, i, b] = math.log(m) - 0.5 * s2
        sd[j, i, b] = math.sqrt(s2)


@njit(cache=True, nogil=True)
def _sub_factors(step, nsub, fac):
    """``fac[sub]``: the level factors of the ``nsub`` points of a serving-level cell of width ``step`` dB."""
    for sub in range(nsub):
        fac[sub] = math.exp(BETA * step * ((sub + 0.5) / nsub - 0.5))


#: relative bound on the rounding of a sum of up to MAX_Y x (sites) non-negative terms (n u, u = 2^-53, n < 1e6),
#: with a wide margin: :func:`_sinr_verdict` stops on "fails" only when even this much more could not help
VERDICT_ROUNDING = 1e-9
#: a serving-level cell whose lowest and highest points' conditional probabilities are within this of each other
#: is taken at their mid-point (:func:`_sinr_sum`; every probability moves by at most half of it)
SUB_FLAT = 3e-3
#: the smallest (site, level) pairs are dropped while their cumulative weight stays <= PRUNE_EPS (:func:`_pairs`:
#: every SINR / UL probability, a sum of weight x conditional probability in [0, 1], moves by at most this)
PRUNE_EPS = 2e-4


@njit(cache=True, nogil=True)
def _sinr_sum(g, npair, pj, px, pw, pmu, pisd, t_lin, c, load, resid, noise, fac, nsub, decide, lo_level,
              hi_level, c_mu, c_w, r_sat, pts, out):
    """The sums of :func:`_sinr_exceed` (``decide`` False) or of :func:`_sinr_verdict` (``decide`` True: stopped
    once its comparison with every level in ``[lo_level, hi_level]`` is decided), with the cell's level factors
    precomputed (:func:`_sub_factors`), one per noise of ``noise`` (an array: the quadrature nodes of a class's
    building loss), into ``out``; returns ``out[0]`` (with ``decide``, ``noise`` has one entry).

    One loop for both (the terms and their order are the same by construction). A per-pair helper function,
    even with ``inline="always"``, made the sums 1.8-2.2x slower (land-11; measured again by speed-11), so the
    term stays inline here. The nodes share the pair's per-point quantities (level x the serving sector's
    margin, log mean, weight: ``pts``, scratch (3 + noise nodes, >= nsub); rows 3: the logs of the rooms, kept
    across the consecutive pairs of one (site, level), the bins of a split node: pairs-24, 0.958x the kernel
    CPU at Aktau 25 m, bit-identical); each node's sum has the terms and order of a sum of its own, so the
    outdoor one is the verdict's (issue 23: the outdoor and the 8 indoor nodes in one pass; 1.2x on the classes,
    bit-identical). The sums stay scalar with the flat-cell rule: the same terms in two
    branch-free passes (every cell's end points, then the middle points of the cells that are not flat) made
    the classes 0.69x as fast, and the every-point form (:func:`_sinr_sum_points`) evaluates 4 points per cell
    where this loop evaluates 1.7 on average (Aktau 25 m; docs/notes/kclass-23.md).
    ``c_mu``, ``c_w`` (from :func:`_pairs`): the interference's log-normal mean moved linearly across the cell
    and the point weights tilted linearly (summing to the pair's weight). ``r_sat`` (:func:`_saturation`): the
    room at the cell's lowest point from which its conditional probability is >= Phi(Z_SAT): the cell is then
    taken as 1 without a log or a table read (error <= 1 - Phi(Z_SAT) = 3.2e-5 of the weight, within the flat
    cells' SUB_FLAT / 2).
    """
    nn = noise.shape[0]
    rem = 0.0
    if decide:
        for k in range(npair):
            rem += pw[k]
    for q in range(nn):
        out[q] = 0.0
    inv_g = 1.0 / g
    inv_load = 1.0 / load if load > 0.0 else 0.0
    inv_nsub = 1.0 / nsub
    xs, mus, wts, lrs = pts[0], pts[1], pts[2], pts[3:]
    for k in range(npair):
        j = pj[k]
        num = t_lin[j] - g * load * c[j]
        if num > 0.0:
            if k == 0 or pj[k - 1] != j or px[k - 1] != px[k]:
                # a new node (a split node's bins are consecutive pairs of the same site and level: the same rooms,
                # so the logs of the rooms, ``lrs[q, point]``, are kept across them; NaN: not yet taken)
                for q in range(nn):
                    for si in range(nsub):
                        lrs[q, si] = np.nan
            mu0 = pmu[k]
            isd = pisd[k]
            dmu = c_mu[k]
            tl = c_w[k]
            for si in range(nsub):
                # order: the lowest point, the highest, then the others (the probability rises with the level)
                sub = si - 1 if si >= 2 else (nsub - 1) * si
                off = (sub + 0.5) * inv_nsub - 0.5  # the point's offset from the node, cells
                xs[si] = px[k] * fac[sub] * num * inv_g
                mus[si] = mu0 + dmu * off
                wts[si] = 1.0 + tl * off
            for q in range(nn):
                noise_q = noise[q]
                acc = 0.0
                c_first = 0.0
                for si in range(nsub):
                    mu = mus[si]
                    if load > 0.0:
                        room = (xs[si] - noise_q) * inv_load - resid  # the interference the others may bring, mW
                    else:
                        room = 1e300 if xs[si] >= noise_q else 0.0
                    if si == 0 and room > 0.0 and room >= r_sat[k]:
                        acc = nsub
                        break
                    cv = 0.0
                    if room > 0.0:
                        if mu < -1e299:
                            cv = 1.0
                        else:
                            lr = lrs[q, si]
                            if lr != lr:
                                lr = math.log(room)
                                lrs[q, si] = lr
                            if isd < 0.0:
                                cv = 1.0 if lr >= mu else 0.0
                            else:
                                cv = _cdf((lr - mu) * isd)
                    if nsub > 2 and si < 2:
                        # every point of the cell lies between the lowest and the highest: where they are within
                        # SUB_FLAT, their mid-point stands for the cell (error <= SUB_FLAT / 2 times the weight)
                        if si == 0:
                            c_first = cv
                            if cv >= 1.0 - SUB_FLAT:
                                acc = nsub * 0.5 * (cv + 1.0)
                                break
                        elif cv - c_first <= SUB_FLAT:
                            acc = nsub * 0.5 * (c_first + cv)
                            break
                    acc += wts[si] * cv
                out[q] += pw[k] * acc * inv_nsub
            if decide and out[0] >= hi_level:
                return out[0]
        if decide:
            rem -= pw[k]
            bound = (out[0] + max(rem, 0.0)) * (1.0 + VERDICT_ROUNDING) + VERDICT_ROUNDING
            if bound < lo_level:
                out[0] = bound
                return bound
    return out[0]


@njit(cache=True, nogil=True)
def _sinr_exceed(g, npair, pj, px, pw, pmu, psd, t_lin, c, load, resid, noise, step, nsub, c_mu, c_w):
    """P(SINR >= g) (g linear) from the compact (site, level) pairs of the serving grid (:func:`_pairs`), in the
    form of the kernel's P(DL) sums.

    Each pair stands for the grid cell ``[y - step/2, y + step/2]`` of the serving level: the conditional
    probability is averaged over ``nsub`` points of the cell (:data:`Y_SUB`), the conditioned interference's log
    mean moved by ``c_mu`` across the cell and the point weights tilted by ``c_w`` (the cell slopes of
    :func:`_pairs`; zeros hold both at the node's). Where the noise dominates (indoor users at mid probabilities) the conditional probability is nearly
    a step in ``y``, and a single node per 2 dB cell made P(DL) up to 0.03 too low (review of issue 11).
    The sum is :func:`_sinr_sum` (shared with :func:`_sinr_verdict`).
    """
    fac = np.empty(nsub)
    _sub_factors(step, nsub, fac)
    pisd = _inverse_sd(psd, npair)
    r_sat = np.empty(npair)
    _saturation(npair, pmu, pisd, c_mu, nsub, r_sat)
    return _sinr_sum(g, npair, pj, px, pw, pmu, pisd, t_lin, c, load, resid, np.full(1, noise), fac, nsub, False,
                     0.0, 0.0, c_mu, c_w, r_sat, np.empty((4, nsub)), np.empty(1))


@njit(cache=True, nogil=True)
def _sinr_verdict(g, npair, pj, px, pw, pmu, psd, t_lin, c, load, resid, noise, step, nsub, c_mu, c_w, lo_level,
                  hi_level):
    """:func:`_sinr_exceed`, stopped as soon as its comparison with every level in ``[lo_level, hi_level]`` is
    decided; returns a value that compares with those levels as the full sum does (exact verdict).

    The terms are those of :func:`_sinr_exceed` (the same loop, :func:`_sinr_sum`), added in the same order, and
    are >= 0, and rounding is monotone, so a partial sum >= ``hi_level`` means the full sum is too (returned: the
    partial sum). Each remaining term is at most its pair's weight ``pw``, so when the partial sum plus the
    remaining weight, widened by :data:`VERDICT_ROUNDING`, is below ``lo_level``, so is the full sum (returned:
    that bound, below every level). ``tests/engine/test_verdict.py`` checks the verdicts against
    :func:`_sinr_exceed`.
    """
    fac = np.empty(nsub)
    _sub_factors(step, nsub, fac)
    pisd = _inverse_sd(psd, npair)
    r_sat = np.empty(npair)
    _saturation(npair, pmu, pisd, c_mu, nsub, r_sat)
    return _sinr_sum(g, npair, pj, px, pw, pmu, pisd, t_lin, c, load, resid, np.full(1, noise), fac, nsub, True,
                     lo_level, hi_level, c_mu, c_w, r_sat, np.empty((4, nsub)), np.empty(1))


#: a cell whose lowest point's conditional probability is >= Phi(Z_SAT) (1 - 3.2e-5) is taken as 1 (:func:`_sinr_sum`)
Z_SAT = 4.0


@njit(cache=True, nogil=True)
def _saturation(npair, pmu, pisd, c_mu, nsub, r_sat):
    """``r_sat[k]``: the room (mW) at the lowest of the ``nsub`` points of pair k's cell from which that point's
    conditional probability is >= Phi(Z_SAT) (and so every point's: it rises with the level); 0 where there is
    no interference, the step's own level where it is one."""
    off = 0.5 / nsub - 0.5
    for k in range(npair):
        mu = pmu[k] + c_mu[k] * off
        if mu < -1e299:
            r_sat[k] = 0.0
        else:
            r_sat[k] = math.exp(mu + (Z_SAT / pisd[k] if pisd[k] > 0.0 else 0.0)) * (1.0 + 1e-12)


@njit(cache=True, nogil=True)
def _inverse_sd(sd, n):
    """The per-pair form :func:`_sinr_sum` takes: ``1 / sd``, -1 where ``sd <= 0`` (a step)."""
    out = np.empty(n)
    for k in range(n):
        out[k] = 1.0 / sd[k] if sd[k] > 0.0 else -1.0
    return out


@njit(cache=True, nogil=True, inline="always")
def _branching(w, j, i):
    """The branches of node (j, i) in use, as bits."""
    k = 0
    for b in range(NB_BRANCH):
        k += (w[j, i, b] > 0.0) << b
    return k


@njit(cache=True, nogil=True)
def _pairs(ns, ny, ys, xs, w, mu, sd, pj, px, pw, pmu, psd, c_mu=None, c_w=None, py=None, mu2=None, sd2=None,
           pmu2=None, psd2=None):
    """Compact the non-zero (site, level) weights into flat arrays; returns their number. ``px`` gets the level
    in mW (``xs``: scratch of ``ny``), ``psd`` the inverse of the standard deviation (-1 where it is 0: a step),
    the form :func:`_sinr_sum` takes; ``c_mu``, ``c_w`` (optional) the pair's slopes across its cell, ``py``
    (optional) the level in dBm; ``pmu2``, ``psd2`` (optional) likewise from a second log-normal per pair
    (``mu2``, ``sd2``: the SSB interference of the maps).

    The cell slopes of pair (j, i, b) are its changes across the cell (per cell width, from the neighbouring
    nodes of the same site and branching: central difference, one-sided where a neighbour has no kept pair, 0
    where neither has): ``c_mu[n]`` of the interference's log mean (its log sd is held: moving it too gained
    little for a division per point), ``c_w[n]`` the weight's linear tilt (:data:`TILT_FRACTION` of its
    log-slope, clipped to +-TILT_MAX).
    The node holds the others conditioned below its own level; at a point above it they may reach higher (more
    interference), and the serving density changes across the cell: held at the node's, both made the 2 dB grid
    low by up to 0.003 in P(DL) against its converged value (docs/notes/grid-21.md)."""
    for i in range(ny):
        xs[i] = math.exp(BETA * ys[i])
    n = 0
    for j in range(ns):
        for i in range(ny):
            for b in range(NB_BRANCH):
                if w[j, i, b] > 0.0:
                    pj[n] = j
                    px[n] = xs[i]
                    if py is not None:
                        py[n] = ys[i]
                    pw[n] = w[j, i, b]
                    pmu[n] = mu[j, i, b]
                    psd[n] = 1.0 / sd[j, i, b] if sd[j, i, b] > 0.0 else -1.0
                    if pmu2 is not None:
                        pmu2[n] = mu2[j, i, b]
                        psd2[n] = 1.0 / sd2[j, i, b] if sd2[j, i, b] > 0.0 else -1.0
                    if c_mu is not None:  # the cell slopes (inline)
                        br = _branching(w, j, i)
                        okl = i > 0 and w[j, i - 1, b] > 0.0 and _branching(w, j, i - 1) == br
                        okh = i + 1 < ny and w[j, i + 1, b] > 0.0 and _branching(w, j, i + 1) == br
                        il = i - 1 if okl else i
                        ih = i + 1 if okh else i
                        h = 1.0 / (ih - il) if ih > il else 0.0
                        c_mu[n] = (mu[j, ih, b] - mu[j, il, b]) * h
                        wm = w[j, i].sum()
                        wl = w[j, i - 1].sum() if i > 0 else 0.0
                        wh = w[j, i + 1].sum() if i + 1 < ny else 0.0
                        if wl > 0.0 and wh > 0.0:
                            t = 0.5 * math.log(wh / wl)
                        elif wh > 0.0:
                            t = math.log(wh / wm)
                        elif wl > 0.0:
                            t = math.log(wm / wl)
                        else:
                            t = 0.0
                        c_w[n] = min(max(TILT_FRACTION * t, -TILT_MAX), TILT_MAX)
                    n += 1
    return n


#: binary exponent classes of the pair weights (:func:`_exp_class`)
_N_EXP = 64


@njit(cache=True, nogil=True, inline="always")
def _exp_class(x):
    """0 for x >= 1/2, k for x in [2^-(k+1), 2^-k), capped at _N_EXP - 1 (x > 0)."""
    e = ((_bits_of(x) >> 52) & 0x7FF) - 1022  # x = m 2^e, m in [1/2, 1) (frexp's e; subnormals: class _N_EXP - 1)
    return min(max(-e, 0), _N_EXP - 1)


#: the SINR quantile search (:func:`_sinr_quantile`) stops when its Newton step on the logit is below Q_TOL_DB
#: from a probability within Q_NEAR_LOGIT of the target's logit, or when its bracket is that narrow, or after
#: Q_MAX_SUMS sums
Q_TOL_DB = 0.05
Q_NEAR_LOGIT = 1.5
Q_MAX_SUMS = 16
#: the search's step where Newton's is unusable before the quantile is bracketed (doubling), dB
Q_STEP_MAX_DB = 10.0
#: the SINR range searched, dB (a quantile outside is returned as the bound)
Q_LO_DB = -25.0
Q_HI_DB = 55.0


@njit(cache=True, nogil=True)
def _logit(p):
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


@njit(cache=True, nogil=True)
def _sinr_guess(npair, pj, px, pw, pmu, t_lin, c, load, resid, noise):
    """A first guess of an SINR quantile (dB): the weighted mean over the heavier pairs (weight >= 1 %) of the
    SINR at which a pair's conditional probability is 1/2 (its interference at the median of its log-normal)."""
    num = 0.0
    den = 0.0
    for k in range(npair):
        if pw[k] < 0.01:
            continue
        j = pj[k]
        i_med = math.exp(pmu[k]) if pmu[k] > -1e299 else 0.0
        x = px[k]
        sinr = x * t_lin[j] / (load * (x * c[j] + i_med + resid) + noise)
        num += pw[k] * 10.0 * math.log10(max(sinr, 1e-30))
        den += pw[k]
    return num / den if den > 0.0 else 10.0


@njit(cache=True, nogil=True)
def _sinr_quantile(q, npair, pj, px, pw, pmu, pisd, t_lin, c, resid, noise, fac, nsub, guess, scr, c_mu=None,
                   c_w=None):
    """The SINR (dB) exceeded with probability ``q`` (``fac``: the cell's level factors, :func:`_sub_factors`), and
    the slope of the probability per dB there (> 0; 0 when the quantile is at a bound). ``scr``: scratch of
    :func:`_sinr_sum_points`.

    P(SINR >= g) (:func:`_sinr_sum_points`, every point of every cell) falls with ``g``. From ``guess``, Newton
    steps on ``logit P - logit q`` (nearly linear in dB for a log-normal-like SINR; the derivative comes with the
    sum), kept inside the bracket the sums have established (a step outside it, or without a usable slope,
    bisects the bracket or, before there is one, steps by :data:`Q_STEP_MAX_DB` doubling). It stops when a
    Newton step taken from a probability within :data:`Q_NEAR_LOGIT` of the target in logit is at most
    :data:`Q_TOL_DB` (returning the stepped value, clipped to the bracket: its error is of the order of the
    step squared times the logit's curvature), or when the bracket is that narrow (linear interpolation in it).
    Bounded to [Q_LO_DB, Q_HI_DB].
    """
    lq = _logit(q)
    a = Q_LO_DB  # P(a) >= q (assumed until summed: ``ka``)
    b = Q_HI_DB  # P(b) < q (``kb``)
    pa = 1.0
    pb = 0.0
    ka = False
    kb = False
    g = min(max(guess, Q_LO_DB), Q_HI_DB)
    step = Q_STEP_MAX_DB
    for _ in range(Q_MAX_SUMS):
        pg, d = _sinr_sum_points(10.0 ** (g / 10.0), npair, pj, px, pw, pmu, pisd, t_lin, c, resid, noise, fac,
                                 nsub, scr, c_mu, c_w)
        if pg >= q:
            if g >= Q_HI_DB:
                return Q_HI_DB, 0.0
            a, pa, ka = g, pg, True
        else:
            if g <= Q_LO_DB:
                return Q_LO_DB, 0.0
            b, pb, kb = g, pg, True
        gn = g
        if d > 0.0 and 0.0 < pg < 1.0:
            lg = math.log(pg / (1.0 - pg))
            gn = g + (lg - lq) * pg * (1.0 - pg) / d  # Newton on the logit
            if abs(gn - g) <= Q_TOL_DB and abs(lg - lq) <= Q_NEAR_LOGIT:
                return min(max(gn, a), b), d
        if ka and kb and b - a <= Q_TOL_DB:
            break
        if not (a < gn < b) or gn == g:
            if ka and kb:
                gn = 0.5 * (a + b)
            else:
                gn = min(g + step, b) if ka else max(g - step, a)
                step *= 2.0
        g = gn
    if not (ka and kb) or pa - pb <= 1e-12:
        return 0.5 * (a + b), 0.0
    return a + (b - a) * (pa - q) / (pa - pb), (pa - pb) / (b - a)


@intrinsic
def _bits_of(typingctx, x):
    """The IEEE-754 bits of a float64 as an int64 (an LLVM bitcast: :func:`_log_fast`)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _float_of(typingctx, x):
    """The float64 of IEEE-754 bits given as an int64 (the inverse of :func:`_bits_of`)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _log_fast(x):
    """Natural log of a positive normal float64 without a library call, so that a loop over it vectorises (Numba
    has no vector math library here): ``x = m 2^e`` with ``m`` in [sqrt(1/2), sqrt(2)), ``ln m = 2 atanh(s)``,
    ``s = (m - 1) / (m + 1)``, |s| <= 0.172, by its series to s^15 (absolute error < 2e-13)."""
    bits = _bits_of(x)
    e = (bits >> 52) - 1023
    m = _float_of((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > 1.4142135623730951
    m = m * (1.0 - 0.5 * big)
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    p = p * s2 + 1.0
    return 2.0 * s * p + (float(e) + 1.0 * big) * 0.6931471805599453


@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _sinr_sum_points(g, npair, pj, px, pw, pmu, pisd, t_lin, c, resid, noise, fac, nsub, scr, c_mu=None, c_w=None):
    """P(SINR >= g) summed over every point of every pair's cell (the quantile search's form, load 1) and its
    derivative per dB of ``g``: ``(P, -dP/dB)``. ``scr``: scratch (2, >= npair).

    The terms of :func:`_sinr_sum` without the flat-cell shortcut (every point evaluated, so the loop over the
    pairs has no branch and vectorises: :func:`_log_fast`, :func:`_cdf_slope`); the sum reassociated (rounding
    only). The probabilities are those of the full sums (no SUB_FLAT term).
    """
    inv_g = 1.0 / g
    amp = scr[0]
    tx = scr[1]
    for k in range(npair):
        j = pj[k]
        amp[k] = px[k] * (t_lin[j] - g * c[j]) * inv_g  # the room at the node is amp - noise - resid
        tx[k] = px[k] * t_lin[j]
    floor = noise + resid
    inv_nsub = 1.0 / nsub
    out = 0.0
    dout = 0.0
    for sub in range(nsub):
        off = (sub + 0.5) * inv_nsub - 0.5
        f = fac[sub]
        for k in range(npair):
            room = amp[k] * f - floor
            ok = room > 0.0
            lr = _log_fast(room if ok else 1.0)
            mu = pmu[k]
            wt = pw[k]
            if c_mu is not None:
                mu += c_mu[k] * off
                wt *= 1.0 + c_w[k] * off
            isd = pisd[k]
            cv, dv = _cdf_slope((lr - mu) * isd if isd >= 0.0 else (PHI_MAX if lr >= mu else -PHI_MAX))
            dv *= isd * f * tx[k] / room  # dP / d(-ln g)
            out += wt * cv if ok else 0.0
            dout += wt * dv if ok and isd > 0.0 else 0.0
    return out * inv_nsub, dout * inv_nsub * inv_g * BETA


@njit(cache=True, nogil=True, fastmath=_REASSOC)
def _rsrp_any(y, ns, m_l, m_n, p, is_l, is_n):
    """P(max_l R_l >= y) over independent sites (R_l: LOS/NLOS mixture of normals in dB; ``is_*``: the inverse
    standard deviations). The product reassociated (a vectorised loop; rounding only)."""
    miss = 1.0
    for j in range(ns):
        e = p[j] * _q((y - m_l[j]) * is_l[j]) + (1.0 - p[j]) * _q((y - m_n[j]) * is_n[j])
        miss *= 1.0 - e
    return 1.0 - miss


#: pixel groups per chunk of the parallel loop: the chunk's scratch arrays are allocated once (sized for its
#: largest group) and reused by its groups
CHUNK_GROUPS = 32
#: rows of the per-site scratch of :func:`pixel_distributions` (see :func:`_group_sites`)
_SITE_ROWS = 25
#: rows of the near-site scratch of :func:`_serving_grid` (``qa``)
_NEAR_ROWS = 17
#: rows of the per-pair scratch (px, pw, pmi, psi, pms, pss, py, c_mu, c_w: the cell slopes; 2 of the quantile
#: search, :func:`_sinr_sum_points`; r_sat, :func:`_saturation`)
_PAIR_ROWS = 12


@njit(cache=True, nogil=True)
def _group_sites(a0, a1, sector, rsrp, signal, intf, ssb_off, plos, dlos, sfl, sfn, cosited, site_of_sector, active,
                 load, always_on, site_id, kbest, sf):
    """The sites of one pixel group (links ``a0:a1``): per site its strongest sector's link (``kbest``), the
    LOS/NLOS medians and spreads, the mixture's moments and the interference ratios, into the rows of ``sf``
    (``sf[r, j]``, r: 0 m_l, 1 m_n, 2 p, 3 s_l, 4 s_n, 5 t_lin, 6 t_ssb, 7 c_int, 8 c_ssb, 9 e1l, 10 e1n, 11 e2l,
    12 e2n, 13 a_int, 14 a_ssb). Returns (number of sites, the link of the strongest mean SS-RSRP or -1)."""
    m_l, m_n, p, s_l, s_n, t_lin, t_ssb = sf[0], sf[1], sf[2], sf[3], sf[4], sf[5], sf[6]
    c_int, c_ssb, e1l, e1n, e2l, e2n, a_int, a_ssb = sf[7], sf[8], sf[9], sf[10], sf[11], sf[12], sf[13], sf[14]
    ns = 0
    best_r = -1e300
    best = -1
    for k in range(a0, a1):
        s = sector[k]
        if not active[s]:
            continue
        r = rsrp[k]
        if r > best_r:
            best_r = r
            best = k
        sid = site_of_sector[s]
        j = -1
        for q in range(ns):
            if site_id[q] == sid:
                j = q
                break
        if j < 0:
            j = ns
            ns += 1
            site_id[j] = sid
            kbest[j] = k
        elif r > rsrp[kbest[j]]:
            kbest[j] = k
    for j in range(ns):
        a_int[j] = 0.0
        a_ssb[j] = 0.0
        t_ssb[j] = 1.0
        k = kbest[j]
        pj = min(max(float(plos[k]), 0.0), 1.0)
        d = float(dlos[k])
        r = float(rsrp[k])
        m_n[j] = r - math.log(pj * math.exp(BETA * d) + 1.0 - pj) / BETA
        m_l[j] = m_n[j] + d
        p[j] = pj
        s_l[j] = max(float(sfl[k]), 1e-3)
        s_n[j] = max(float(sfn[k]), 1e-3)
        sf[23, j] = 1.0 / s_l[j]
        sf[24, j] = 1.0 / s_n[j]
        t_lin[j] = math.exp(BETA * (float(signal[k]) - r))
        e1l[j] = math.exp(BETA * m_l[j] + 0.5 * (BETA * s_l[j]) ** 2)
        e1n[j] = math.exp(BETA * m_n[j] + 0.5 * (BETA * s_n[j]) ** 2)
        e2l[j] = math.exp(2 * BETA * m_l[j] + 2 * (BETA * s_l[j]) ** 2)
        e2n[j] = math.exp(2 * BETA * m_n[j] + 2 * (BETA * s_n[j]) ** 2)
    for k in range(a0, a1):
        s = sector[k]
        if not active[s]:
            continue
        sid = site_of_sector[s]
        for j in range(ns):
            if site_id[j] == sid:
                rb = float(rsrp[kbest[j]])
                # (``cosited``: the site's weak sectors at this pixel, folded into this link: the same draw)
                a_int[j] += (float(intf[k]) + float(cosited[k])) * math.exp(-BETA * rb)
                a_ssb[j] += math.exp(BETA * (float(rsrp[k]) + float(ssb_off[k]) - rb))
                break
    for j in range(ns):
        k = kbest[j]
        c_int[j] = a_int[j] - float(intf[k]) * math.exp(-BETA * float(rsrp[k]))
        c_ssb[j] = max(a_ssb[j] - math.exp(BETA * float(ssb_off[k])), 0.0)
    # PDSCH interference per unit of a site's level: ``load`` x its traffic/interference beams plus, on the
    # share ``always_on`` of the REs, its always-on signals at full power (SSB beam); the serving site's other
    # sectors likewise (``c_int``). The kernels then see a load of 1 (the residual scaled by ``load``).
    for j in range(ns):
        a_int[j] = load * a_int[j] + always_on * a_ssb[j]
        c_int[j] = load * c_int[j] + always_on * c_ssb[j]
    return ns, best


@njit(cache=True, nogil=True)
def _chunk_stride(n):
    """A stride coprime with ``n`` near 0.618 n: chunk ``ci * stride mod n`` is a permutation of the chunks in
    which every run of consecutive indices is spread over the whole range (a golden-ratio sequence)."""
    s = max(int(0.618 * n), 1)
    while math.gcd(s, n) != 1:
        s += 1
    return s


@njit(cache=True, nogil=True, parallel=True)
def pixel_distributions(starts, sector, rsrp, signal, intf, ssb_off, plos, dlos, sfl, sfn, cosited, site_of_sector,
                        active, resid_pix, resid_var_pix, resid_ratio_pix, o2i_mu, o2i_sd, env_pix, gh_x, gh_w, thr_dbm,
                        g_dl, load, always_on, noise_mw, p_ref_sector, ul_pmax_re, ul_p0_re, ul_alpha, ul_nd_sector,
                        g_ul, full, quantiles, level, level_hi, out, best_link):
    """Probabilities and quantiles for each pixel group (links ``starts[i]:starts[i+1]`` are one pixel's).

    ``ssb_off`` (per link, dB): the sector's SSB as an interferer minus its SS-RSRP (``Links.ssb_offset_db``).
    ``resid_pix`` (mW), ``resid_var_pix`` (mW^2), ``resid_ratio_pix`` (neper) per group: the weak links' residual
    (its mean, variance, and the log of its interference-to-SS-RSRP ratio: it is conditioned below the serving
    level times that ratio); a negative variance: the residual is a constant at its mean (links without
    ``Links.residual_var_mw2``).
    ``out`` (len(ROWS), n_groups) is filled in place; ``best_link`` (n_groups,) gets the link of the strongest
    mean SS-RSRP (-1 when no active link). With ``full`` False only the outdoor DL/RSRP probabilities (and the UL
    one) are computed (the planner's and the gates' inner loop), and only as far as their comparison with every
    level in ``[level, level_hi]`` needs: where P(SS-RSRP) is below ``level`` the DL one is not computed (0), and
    P(DL) is a value that compares with those levels as the exact one does (:func:`_sinr_verdict`). ``quantiles``
    (only with ``full``): also the median and 10th-percentile rows (the maps); without it those rows are left.

    Uplink (per class): the UL serving cell is the DL best server of the user's own draw, so P(UL) sums
    :func:`_ul_pairs_exceed` over the same (serving site, level) pairs as the DL, the building loss integrated as
    for the downlink (an earlier version used the strongest-mean site's own distribution and missed the selection
    gain: up to 0.35 too low between sites); ``ul_nd_sector`` is each sector's receiver noise plus uplink
    interference per RE, dBm (the serving sector's is used: :mod:`qamtu.engine.served`, or a fixed rise over thermal).

    The groups are processed in chunks of :data:`CHUNK_GROUPS` (parallel over chunks); each chunk allocates its
    scratch once, sized for its largest group (every array is written before it is read, per group), so a group
    costs no allocation (:func:`_group_eval`). Numba gives each thread one contiguous block of the parallel loop,
    and a pixel's cost depends on where it is (sites, near-site pairs), so the loop visits the chunks in the
    order of :func:`_chunk_stride` (each block spread over the whole area; Aktau 25 m, 2 threads: the busier
    thread's share of the work 0.537 -> 0.503).
    """
    n_groups = starts.shape[0] - 1
    n_chunks = (n_groups + CHUNK_GROUPS - 1) // CHUNK_GROUPS
    stride = _chunk_stride(n_chunks)
    for ci in prange(n_chunks):
        g0 = (ci * stride) % n_chunks * CHUNK_GROUPS
        g1 = min(g0 + CHUNK_GROUPS, n_groups)
        nmax = 1
        for gi in range(g0, g1):
            nmax = max(nmax, starts[gi + 1] - starts[gi])
        site_i = np.empty((3, nmax), np.int64)  # site_id, kbest, near
        cand = np.empty(nmax, np.bool_)
        sf = np.empty((_SITE_ROWS, nmax))
        ys = np.empty((2, MAX_Y))  # the grid's levels (dBm) and their linear values
        grid = np.empty((5 if quantiles else 3, nmax, MAX_Y, NB_BRANCH))  # w, mu_i, sd_i (, mu_s, sd_s)
        pj = np.empty(NB_BRANCH * nmax * MAX_Y, np.int64)
        pf = np.empty((_PAIR_ROWS, NB_BRANCH * nmax * MAX_Y))
        # the cells' level factors (Y_SUB points, 1 point); _sinr_sum's scratch (3 rows, 1 per quadrature node)
        fac = np.empty((6 + 2 * gh_x.shape[0], Y_SUB))
        nodes = np.empty((4, 1 + 2 * gh_x.shape[0]))  # per quadrature node: weight, building loss, noise, P(DL)
        fgrid = np.empty((MAX_Y, nmax))
        qa = np.empty((_NEAR_ROWS, nmax))
        hist = np.empty(_N_EXP)
        bins = np.empty((4, 4, NB_BRANCH))  # the strongest interferers' bins (:func:`_serving_grid`)
        for gi in range(g0, g1):
            _group_eval(gi, starts, sector, rsrp, signal, intf, ssb_off, plos, dlos, sfl, sfn, cosited, site_of_sector,
                        active, resid_pix, resid_var_pix, resid_ratio_pix, o2i_mu, o2i_sd, env_pix, gh_x, gh_w, thr_dbm,
                        g_dl, load, always_on, noise_mw, p_ref_sector, ul_pmax_re, ul_p0_re, ul_alpha, ul_nd_sector,
                        g_ul, full, quantiles, level, level_hi, out, best_link, site_i, cand, sf, ys, grid, pj, pf,
                        fac, fgrid, qa, hist, bins, nodes)


@njit(cache=True, nogil=True)
def _group_eval(gi, starts, sector, rsrp, signal, intf, ssb_off, plos, dlos, sfl, sfn, cosited, site_of_sector,
                active, resid_pix, resid_var_pix, resid_ratio_pix, o2i_mu, o2i_sd, env_pix, gh_x, gh_w, thr_dbm, g_dl,
                load, always_on, noise_mw, p_ref_sector, ul_pmax_re, ul_p0_re, ul_alpha, ul_nd_sector, g_ul, full,
                quantiles, level, level_hi, out, best_link, site_i, cand, sf, ys2, grid, pj, pf, fac, fgrid, qa, hist,
                bins, nodes):
    """One pixel group of :func:`pixel_distributions`, on the chunk's scratch."""
    ys = ys2[0]
    a0 = starts[gi]
    a1 = starts[gi + 1]
    best_link[gi] = -1
    if a1 <= a0:
        return
    ns, best = _group_sites(a0, a1, sector, rsrp, signal, intf, ssb_off, plos, dlos, sfl, sfn, cosited,
                            site_of_sector, active, load, always_on, site_i[0], site_i[1], sf)
    best_link[gi] = best
    if ns == 0:
        return
    m_l, m_n, p, s_l, s_n, t_lin, t_ssb = sf[0], sf[1], sf[2], sf[3], sf[4], sf[5], sf[6]
    c_int, c_ssb, e1l, e1n, e2l, e2n, a_int, a_ssb = sf[7], sf[8], sf[9], sf[10], sf[11], sf[12], sf[13], sf[14]
    kbest = site_i[1]
    is_l, is_n = sf[23], sf[24]
    if not full:
        # only ``covered`` (outdoor) is asked: where the RSRP condition fails the DL one does not matter
        pr0 = _rsrp_any(thr_dbm, ns, m_l, m_n, p, is_l, is_n)
        if pr0 < level:
            out[0, gi] = pr0
            out[1, gi] = 0.0
            return
    # (the grid zeroes ``w`` on the levels it uses; the log-normal parameters are written and read only where
    # ``w > 0``; the SSB ones only for the quantile maps)
    w, mu_i, sd_i = grid[0], grid[1], grid[2]
    mu_s = grid[3] if quantiles else grid[1]
    sd_s = grid[4] if quantiles else grid[2]
    # the weak links' residual (x load): a random term of the fitted interference sum where its variance is
    # given (>= 0), else a constant at its mean
    random_resid = resid_var_pix[gi] >= 0.0
    r1 = load * resid_pix[gi] if random_resid else 0.0
    r2 = load * load * resid_var_pix[gi] if random_resid else 0.0
    # (conditioned below the serving level x residual / SS-RSRP of the weak sites: the loaded residual r1 below
    # that x load)
    r_ratio = resid_ratio_pix[gi] + (math.log(load) if load > 0.0 else 0.0)
    e = env_pix[gi]
    # ---- classes: 0 outdoor (L = 0), 1 indoor low-loss, 2 indoor high-loss (L ~ N(mu, sd), quadrature); the
    # quadrature nodes of every class asked (per node: weight, building loss, noise), then P(DL) of every node in
    # one pass over the pairs (with ``full`` False only the outdoor verdict at the levels asked: exact, see
    # _sinr_verdict)
    nn = 0
    for cls in range(3):
        for qi in range(_class_nodes(cls, full, o2i_sd[e], gh_x.shape[0])):
            if cls == 0:
                nodes[0, nn] = 1.0
                nodes[1, nn] = 0.0
            else:
                nodes[0, nn] = gh_w[qi] / math.sqrt(math.pi)
                nodes[1, nn] = max(o2i_mu[e, cls - 1] + math.sqrt(2.0) * o2i_sd[e, cls - 1] * gh_x[qi], 0.0)
            nodes[2, nn] = noise_mw * 10.0 ** (nodes[1, nn] / 10.0)
            nn += 1
    resid = 0.0 if random_resid else load * resid_pix[gi]
    ny = _serving_grid(ns, m_l, m_n, p, s_l, s_n, e1l, e1n, e2l, e2n, a_int, a_ssb, ys, w, mu_i, sd_i, mu_s, sd_s,
                       quantiles, sf[15], sf[16], cand, site_i[2], qa, fgrid, hist, bins, sf[23], sf[24], g_dl, t_lin,
                       c_int, resid, nodes[2, :nn].min(), nodes[2, :nn].max(), r1, r2, r_ratio)
    px, pw, pmi, psi, pms, pss, py = pf[0], pf[1], pf[2], pf[3], pf[4], pf[5], pf[6]
    c_mu, c_w, r_sat = pf[7], pf[8], pf[11]
    if quantiles:  # (with the SSB interference's log-normals)
        npair = _pairs(ns, ny, ys, ys2[1], w, mu_i, sd_i, pj, px, pw, pmi, psi, c_mu, c_w, py, mu_s, sd_s, pms, pss)
    else:
        npair = _pairs(ns, ny, ys, ys2[1], w, mu_i, sd_i, pj, px, pw, pmi, psi, c_mu, c_w, py)
    _saturation(npair, pmi, psi, c_mu, Y_SUB, r_sat)
    # uplink: the UE transmits to its DL best server of its own draw, so P(UL) is integrated over the same
    # (serving site, level) pairs as the DL; per site its traffic-beam offset and SSB EPRE
    y_step = ys[1] - ys[0]
    fac_sub = fac[0]
    fac_one = fac[1, :1]
    _sub_factors(y_step, Y_SUB, fac_sub)
    _sub_factors(y_step, 1, fac_one)
    t_db, p_ref_j, nd_j = sf[20], sf[21], sf[22]
    for j in range(ns):
        t_db[j] = 10.0 * math.log10(t_lin[j])
        p_ref_j[j] = p_ref_sector[sector[kbest[j]]]
        nd_j[j] = ul_nd_sector[sector[kbest[j]]]
    _sinr_sum(g_dl, npair, pj, px, pw, pmi, psi, t_lin, c_int, 1.0, resid, nodes[2, :nn], fac_sub, Y_SUB, not full,
              level, level_hi, c_mu, c_w, r_sat, fac[2:], nodes[3, :nn])
    k = 0
    for cls in range(3):
        nq = _class_nodes(cls, full, o2i_sd[e], gh_x.shape[0])
        if nq == 0:  # not asked, or no such users in this environment
            out[2 * cls, gi] = np.nan
            out[2 * cls + 1, gi] = np.nan
            out[10 + cls, gi] = np.nan
            continue
        pr = 0.0
        pd = 0.0
        pu = 0.0
        for _ in range(nq):
            wq = nodes[0, k]
            loss = nodes[1, k]
            pr += wq * _rsrp_any(thr_dbm + loss, ns, m_l, m_n, p, is_l, is_n)
            pd += wq * nodes[3, k]
            if g_ul > -1e299:
                pu += wq * _ul_pairs_exceed(g_ul, loss, y_step, npair, pj, py, pw, ns, t_db, p_ref_j, ul_pmax_re,
                                            ul_p0_re, ul_alpha, nd_j, sf[15])
            k += 1
        out[2 * cls, gi] = pr
        out[2 * cls + 1, gi] = pd
        out[10 + cls, gi] = pu if g_ul > -1e299 else np.nan
    if quantiles:
        _group_quantiles(gi, ns, m_l, m_n, p, is_l, is_n, thr_dbm, npair, pj, px, pw, pmi, psi, pms, pss, py, t_lin,
                         t_ssb, c_int, c_ssb, resid, noise_mw, fac_sub, fac_one, y_step, t_db, p_ref_j, nd_j,
                         ul_pmax_re, ul_p0_re, ul_alpha, out, sf[15], c_mu, c_w, pf[9:11])


@njit(cache=True, nogil=True, inline="always")
def _class_nodes(cls, full, o2i_sd_env, n_gh):
    """The quadrature nodes of user class ``cls`` (0 outdoor: one; 1, 2 the indoor classes: ``n_gh``, none where
    not ``full`` or where the environment has no such users, ``o2i_sd_env[cls - 1] < 0``)."""
    if cls == 0:
        return 1
    return 0 if not full or o2i_sd_env[cls - 1] < 0.0 else n_gh


@njit(cache=True, nogil=True)
def _group_quantiles(gi, ns, m_l, m_n, p, is_l, is_n, thr_dbm, npair, pj, px, pw, pmi, psi, pms, pss, py, t_lin, t_ssb,
                     c_int, c_ssb, resid, noise_mw, fac_sub, fac_one, y_step, t_db, p_ref_j, nd_j, ul_pmax_re,
                     ul_p0_re, ul_alpha, out, r_star, c_mu, c_w, scr):
    """The quantile rows of one pixel group (medians and 10th percentiles, outdoor users)."""
    lo = m_l[0]
    for j in range(ns):
        lo = max(lo, m_l[j])
    hi = lo + 40.0
    lo = lo - 60.0
    for _ in range(BISECT_STEPS + 4):
        mid = 0.5 * (lo + hi)
        if _rsrp_any(mid, ns, m_l, m_n, p, is_l, is_n) >= 0.5:
            lo = mid
        else:
            hi = mid
    out[6, gi] = 0.5 * (lo + hi)
    guess = _sinr_guess(npair, pj, px, pw, pms, t_ssb, c_ssb, 1.0, 0.0, noise_mw)
    out[7, gi] = _sinr_quantile(0.5, npair, pj, px, pw, pms, pss, t_ssb, c_ssb, 0.0, noise_mw, fac_one, 1, guess,
                                scr)[0]
    guess = _sinr_guess(npair, pj, px, pw, pmi, t_lin, c_int, 1.0, resid, noise_mw)
    med, slope = _sinr_quantile(0.5, npair, pj, px, pw, pmi, psi, t_lin, c_int, resid, noise_mw, fac_one, 1, guess,
                                scr)
    out[8, gi] = med
    # the 10th percentile's guess: a normal SINR in dB with the median's slope (sd = phi(0) / slope)
    drop = 1.2816 * 0.3989 / slope if slope > 0.0 else Q_STEP_MAX_DB
    # searched first on one point per cell (a quarter of a sum's cost: the medians' form), then from there on every
    # point (the quantile of the kernel's sums; usually one sum and a Newton step)
    g1 = _sinr_quantile(0.9, npair, pj, px, pw, pmi, psi, t_lin, c_int, resid, noise_mw, fac_one, 1,
                        med - min(drop, 2.0 * Q_STEP_MAX_DB), scr)[0]
    out[9, gi] = _sinr_quantile(0.9, npair, pj, px, pw, pmi, psi, t_lin, c_int, resid, noise_mw, fac_sub, Y_SUB, g1,
                                scr, c_mu, c_w)[0]
    # UL SNR exceeded by 90 % of outdoor users (served by their DL best server of each draw)
    lo = -40.0
    hi = 60.0
    for _ in range(BISECT_STEPS + 6):
        mid = 0.5 * (lo + hi)
        if _ul_pairs_exceed(mid, 0.0, y_step, npair, pj, py, pw, ns, t_db, p_ref_j, ul_pmax_re, ul_p0_re, ul_alpha,
                            nd_j, r_star) >= 0.9:
            lo = mid
        else:
            hi = mid
    out[13, gi] = 0.5 * (lo + hi)


@njit(cache=True, nogil=True)
def _ul_r_star(g_db, t_db, p_ref, pmax_re, p0_re, alpha, nd_db):
    """The serving SS-RSRP (dBm, as received) from which the PUSCH SNR reaches ``g_db`` (see :func:`_ul_exceed`)."""
    r1 = g_db + nd_db + p_ref - t_db - pmax_re
    if alpha < 1.0:
        r2 = p_ref + (g_db + nd_db - t_db - p0_re) / (1.0 - alpha)
    else:
        r2 = -1e300 if p0_re + t_db - nd_db >= g_db else 1e300
    return max(r1, r2)


@njit(cache=True, nogil=True, fastmath=_REASSOC)
def _ul_pairs_exceed(g_db, loss, step, npair, pj, py, pw, ns, t_db, p_ref, pmax_re, p0_re, alpha, nd_db, r_star):
    """P(PUSCH SNR >= g_db) of a user with building loss ``loss`` served by the DL best server of its draw.

    ``t_db``, ``p_ref``, ``nd_db`` are per candidate site (its serving sector's traffic offset, SSB EPRE and
    receiver noise plus interference, dBm per RE).

    The (serving site j, level y) pairs of :func:`_serving_grid` carry P(site j serves with its level in the grid
    cell around y); the SNR is non-decreasing in the received level ``y - loss``, so the event is
    ``y >= R*_j + loss`` (:func:`_ul_r_star`), taken with the share of the cell ``[y - step/2, y + step/2]`` above
    the threshold (the density is about flat over one cell). The sum reassociated (a vectorised loop).
    """
    for j in range(ns):
        r_star[j] = _ul_r_star(g_db, t_db[j], p_ref[j], pmax_re, p0_re, alpha, nd_db[j]) + loss
    inv_step = 1.0 / step
    out = 0.0
    for k in range(npair):
        out += pw[k] * min(max((py[k] + 0.5 * step - r_star[pj[k]]) * inv_step, 0.0), 1.0)
    return out


@njit(cache=True, nogil=True)
def _ul_exceed(g_db, m_l, m_n, p, s_l, s_n, t_db, p_ref, pmax_re, p0_re, alpha, nd_db):
    """P(PUSCH SNR >= g_db) for a serving site whose SS-RSRP ``R`` (dBm) is a LOS/NLOS mixture of normals.

    Open-loop power control per RE (TS 38.213 7.1.1 with the whole carrier allocated): the UE estimates
    ``PL = p_ref - R`` (``p_ref``: the SSB EPRE) and sends ``P = min(pmax_re, p0_re + alpha PL)`` per RE; the gNB
    receives ``P + R + t_db - p_ref`` (the traffic beam's gain, reciprocal) against ``nd_db`` (noise + rise over
    thermal). The SNR is non-decreasing in ``R``, so the event is ``R >= R*`` with
    ``R* = max(g + nd + p_ref - t - pmax, p_ref + (g + nd - t - p0) / (1 - alpha))``.
    """
    r_star = _ul_r_star(g_db, t_db, p_ref, pmax_re, p0_re, alpha, nd_db)
    return p * _q((r_star - m_l) / s_l) + (1.0 - p) * _q((r_star - m_n) / s_n)


def gauss_hermite(n: int = N_QUAD):
    """Nodes and weights of the n-point Gauss-Hermite rule (weight exp(-x^2))."""
    x, w = np.polynomial.hermite.hermgauss(n)
    return x.astype(float), w.astype(float)
