"""Calibrate the propagation model on MEASURED RSRP: an offset and a distance slope per environment class.

What is compared
----------------
For every 5G sample with an RSRP (``techs`` is a parameter) the serving sector is found, and the PREDICTED
SS-RSRP of that link is computed with the engine's own per-link physics,
:func:`qamtu.engine.links.evaluate_link_batch` (TR 38.901 path loss and LOS probability, the sector's antenna
pattern for the SSB beam, power per resource element, UE antenna gain, body loss): the same numbers the coverage
maps use. The measurement conditions are set explicitly: drive tests are outdoor, so the prediction uses the
environment class's scenario with an indoor share of 0 (no O2I loss); ``extra_loss_db`` adds a known loss (e.g.
a phone inside a car: TR 38.901 7.4.3.2 gives 9 dB mean car penetration loss; 0 for a roof-mounted scanner) and
``body_loss_db`` replaces the engine's body loss for the measuring set-up.

Serving sector
--------------
If the site table has a ``cell_id`` column and the sample carries one, the sample is matched to that row. Otherwise
the serving sector is the model's best server: the sector (of the sample's operator, if the site table has an
``operator`` column) with the highest PREDICTED SS-RSRP within ``max_distance_m``. The second way selects, among
nearby sectors, the one the model favours, so it biases the predictions slightly upwards where several sectors
are close in level; prefer cell ids. The table of matches says which way each sample was matched.

The fit
-------
Residual ``r = predicted - measured`` (dB). Corrected loss = model loss + ``offset_db`` +
``slope_db_per_decade * log10(d3D / reference_distance_m)`` (docs/DESIGN.md), so the corrected prediction is
``predicted - offset - slope log10(d3D/d_ref)`` and the fit is the robust straight line
``r ~ offset + slope * log10(d3D / d_ref)``, per environment class, with ``scipy.optimize.least_squares``
(``loss="soft_l1"``, ``f_scale`` about one shadow-fading spread, started from ordinary least squares). A seeded
random share of 500 m blocks (``holdout_share``, ``holdout_block_m``) is held out: the fit uses the rest, and the mean error and its
standard deviation before and after the correction are reported on both parts. The JSON stores the fit
validated on the hold-out. Classes with fewer than ``min_samples`` training samples are not fitted (left
uncorrected, and reported); where the distances span less than ``min_log_span`` decades the slope is not
identifiable and only the offset is fitted (slope 0, reported).

Industry practice for a tuned macro model: mean error near 0 dB and standard deviation below about 8 dB.

References
----------
3GPP TR 38.901 V17.0.0, Table 7.4.1-1, 7.4.3.2 (car penetration loss); TS 38.215 V17, 5.1.1 (SS-RSRP);
P. J. Huber, "Robust estimation of a location parameter", Ann. Math. Statist. 35 (1964) 73-101 (robust losses);
SciPy ``optimize.least_squares`` documentation (``soft_l1``: ``rho(z) = 2 ((1 + z)^0.5 - 1)``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from qamtu.errors import InfeasibleError, InvalidInputError

if TYPE_CHECKING:
    from qamtu.engine.calibration_file import PathLossCalibration

# The calibration file's format (kind, version, reference distance, the largest corrections) is defined once, in
# qamtu.engine.calibration_file; it is imported inside the functions so that ``import qamtu.audit`` stays light.


@dataclasses.dataclass
class CalibrationResult:
    """Outcome of :func:`calibrate`.

    Attributes
    ----------
    samples : DataFrame
        One row per sample used: ``lat, lon, x_m, y_m, env_class, sector, site_id, match ("cell_id" or
        "best_server"), d3d_m, measured_rsrp_dbm, predicted_rsrp_dbm, residual_db (predicted - measured, before),
        corrected_rsrp_dbm (predicted after the correction), residual_after_db, split ("fit" or "holdout")``.
    classes : dict
        Per environment class: ``offset_db, slope_db_per_decade, n, n_fit, n_holdout, rmse_db``, the mean and
        standard deviation of the residual before/after on the fit and hold-out parts, and ``note``.
    excluded : dict
        Samples not used and why (counts).
    reference_distance_m : float
    parameters : dict
    """

    samples: pd.DataFrame
    classes: dict[str, dict[str, Any]]
    excluded: dict[str, int]
    reference_distance_m: float
    parameters: dict[str, Any]

    def path_loss_calibration(self) -> PathLossCalibration:
        """The fitted classes as the engine's :class:`~qamtu.engine.calibration_file.PathLossCalibration`."""
        from qamtu.engine.calibration_file import ClassCalibration, PathLossCalibration

        fitted = {
            name: ClassCalibration(c["offset_db"], c["slope_db_per_decade"], int(c["n_fit"]), c["rmse_db"])
            for name, c in self.classes.items()
            if c.get("fitted")
        }
        return PathLossCalibration(self.reference_distance_m, fitted)

    def report(self) -> dict[str, Any]:
        """The ``report`` block of the calibration file: every class's diagnostics, exclusions and parameters."""
        return {
            "quantity": "correction of PREDICTED path loss fitted to MEASURED RSRP",
            "classes": self.classes,
            "excluded": self.excluded,
            "parameters": self.parameters,
        }

    def to_json(self) -> dict[str, Any]:
        """The calibration file of docs/DESIGN.md (fitted classes only), plus a ``report`` block."""
        from qamtu.engine.calibration_file import calibration_document

        return calibration_document(self.path_loss_calibration(), report=self.report())


def _outdoor_config(config: Any, body_loss_db: float | None) -> Any:
    """The engine configuration for outdoor measurements: indoor share 0 in every class, no calibration."""
    from qamtu.engine.config import EnvProfile

    envs = {name: EnvProfile(p.scenario, 0.0, 0.0) for name, p in config.environments.items()}
    changes: dict[str, Any] = {"environments": envs, "calibration": None}
    if body_loss_db is not None:
        changes["body_loss_db"] = float(body_loss_db)
    return config.replace(**changes)


def predict_rsrp_dbm(
    x_m: np.ndarray,
    y_m: np.ndarray,
    sector_idx: np.ndarray,
    env_code: np.ndarray,
    sectors: Any,
    config: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """PREDICTED mean SS-RSRP (dBm per RE) of the links (sample, sector), with the engine's per-link physics.

    Parameters
    ----------
    x_m, y_m : ndarray, shape (n,)
        Sample positions in the sectors' projected CRS, m.
    sector_idx : ndarray of int, shape (n,)
        Serving sector of each sample (index into ``sectors``).
    env_code : ndarray of int, shape (n,)
        Environment class code 0..3 (``qamtu.engine.ENV_CLASSES``).
    sectors : qamtu.engine.links.Sectors
    config : qamtu.engine.EngineConfig
        Used as given (set indoor shares, body loss and calibration before calling).

    Returns
    -------
    rsrp_dbm, d3d_m : ndarray, shape (n,)
    """
    from qamtu.engine import physics
    from qamtu.engine.links import evaluate_link_batch

    sector_idx = np.asarray(sector_idx, dtype=np.int64)
    dx = np.asarray(x_m, dtype=float) - sectors.x_m[sector_idx]
    dy = np.asarray(y_m, dtype=float) - sectors.y_m[sector_idx]
    batch = evaluate_link_batch(dx, dy, sector_idx, np.asarray(env_code, dtype=np.int64), sectors, config)
    _, d3d, _, _ = physics.link_geometry(dx, dy, sectors.height_m[sector_idx], config.ue_height_m,
                                         sectors.azimuth_deg[sector_idx])
    return np.asarray(batch.rsrp_dbm, dtype=float), np.asarray(d3d, dtype=float)


def serving_rsrp_median_dbm(x_m, y_m, serving, env_code, sectors: Any, config: Any, max_distance_m: float,
                            n_grid: int = 161, chunk: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """The model's median (and standard deviation) of the measured SS-RSRP of the serving sector, dBm.

    A drive-test sample is taken on the sector that was the strongest *in that draw*: its shadowing is not a
    random draw of the link's but conditioned on beating every other site. The prediction is therefore the median
    of the serving site's level ``y`` given that every other site is below it, density
    ``f_j(y) prod_l F_l(y)`` (LOS/NLOS mixtures of log-normals per site, sites independent; the model of
    :mod:`qamtu.engine.distribution`), shifted by the serving sector's gain relative to its site's strongest
    sector. Comparing dB with this median (not with a mean power) makes the fit unbiased on measurements drawn
    from the model itself (``tests/audit/test_audit_calibration.py``: simulate -> calibrate round trip).
    """
    from scipy.spatial import cKDTree
    from scipy.special import log_ndtr

    from qamtu.engine.links import evaluate_link_batch

    x_m = np.asarray(x_m, float)
    y_m = np.asarray(y_m, float)
    serving = np.asarray(serving, np.int64)
    env_code = np.asarray(env_code, np.int64)
    n = x_m.size
    med = np.full(n, np.nan)
    sd = np.full(n, np.nan)
    _, site_code = np.unique(np.asarray(sectors.site_id), return_inverse=True)
    tree = cKDTree(np.column_stack([sectors.x_m, sectors.y_m]))
    z = np.linspace(-5.5, 5.5, n_grid)
    for c0 in range(0, n, chunk):
        sl = slice(c0, min(n, c0 + chunk))
        xs, ys, sv, ev = x_m[sl], y_m[sl], serving[sl], env_code[sl]
        m = xs.size
        neigh = tree.query_ball_point(np.column_stack([xs, ys]), r=max_distance_m)
        ii = np.repeat(np.arange(m), [len(v) for v in neigh])
        kk = np.concatenate([np.asarray(v, np.int64) for v in neigh]) if m else np.zeros(0, np.int64)
        b = evaluate_link_batch(xs[ii] - sectors.x_m[kk], ys[ii] - sectors.y_m[kk], kk, ev[ii], sectors, config)
        p = np.clip(b.p_los, 0.0, 1.0)
        m_n = b.rsrp_dbm - 10 * np.log10(p * 10 ** (b.los_gain_db / 10) + 1 - p)
        frame = pd.DataFrame({"i": ii, "site": site_code[kk], "k": kk, "r": b.rsrp_dbm, "mn": m_n, "p": p,
                              "d": b.los_gain_db, "sl": np.maximum(b.sf_los_db, 1e-3),
                              "sn": np.maximum(b.sf_nlos_db, 1e-3)})
        best = frame.sort_values("r", ascending=False).drop_duplicates(["i", "site"])  # strongest sector per site
        serving_site = site_code[sv]
        own = best[best["site"].to_numpy() == serving_site[best["i"].to_numpy()]].set_index("i")
        others = best[best["site"].to_numpy() != serving_site[best["i"].to_numpy()]]
        ok = np.isin(np.arange(m), own.index.to_numpy())
        rows = np.flatnonzero(ok)
        o = own.loc[rows]
        # grid of the serving site's level over its own mixture's range
        lo = np.minimum(o["mn"] - 5.5 * o["sn"], o["mn"] + o["d"] - 5.5 * o["sl"]).to_numpy()
        hi = np.maximum(o["mn"] + 5.5 * o["sn"], o["mn"] + o["d"] + 5.5 * o["sl"]).to_numpy()
        grid = lo[:, None] + (hi - lo)[:, None] * (z[None, :] - z[0]) / (z[-1] - z[0])
        pj, mnj, dj, slj, snj = (o[c].to_numpy()[:, None] for c in ("p", "mn", "d", "sl", "sn"))
        dens = (pj * np.exp(-0.5 * ((grid - mnj - dj) / slj) ** 2) / slj
                + (1 - pj) * np.exp(-0.5 * ((grid - mnj) / snj) ** 2) / snj)
        logw = np.log(np.maximum(dens, 1e-300))
        pos = np.full(m, -1)
        pos[rows] = np.arange(rows.size)
        oi = pos[others["i"].to_numpy()]
        keep = oi >= 0
        oi = oi[keep]
        if oi.size:
            q = {c: others[c].to_numpy()[keep][:, None] for c in ("p", "mn", "d", "sl", "sn")}
            g = grid[oi]
            f = (q["p"] * np.exp(log_ndtr((g - q["mn"] - q["d"]) / q["sl"]))
                 + (1 - q["p"]) * np.exp(log_ndtr((g - q["mn"]) / q["sn"])))
            np.add.at(logw, oi, np.log(np.maximum(f, 1e-300)))
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        cw = np.cumsum(w, axis=1)
        j = np.argmax(cw >= 0.5, axis=1)
        j0 = np.maximum(j - 1, 0)
        r_ = np.arange(rows.size)
        c_lo, c_hi = cw[r_, j0], cw[r_, j]
        frac = np.where(c_hi > c_lo, (0.5 - c_lo) / np.maximum(c_hi - c_lo, 1e-300), 0.0)
        level = grid[r_, j0] + frac * (grid[r_, j] - grid[r_, j0])
        mean = (w * grid).sum(axis=1)
        # the serving sector's gain relative to its site's strongest sector (same path, same draw)
        serv = pd.DataFrame({"i": ii, "k": kk, "r": b.rsrp_dbm}).set_index(["i", "k"])["r"]
        r_serv = serv.reindex(list(zip(rows, sv[rows]))).to_numpy()
        delta = r_serv - o["r"].to_numpy()
        med[c0 + rows] = level + delta
        sd[c0 + rows] = np.sqrt(np.maximum((w * grid ** 2).sum(axis=1) - mean ** 2, 0.0))
    return med, sd


def _best_server(
    x_m: np.ndarray, y_m: np.ndarray, env_code: np.ndarray, operators: np.ndarray | None, sectors: Any, config: Any,
    max_distance_m: float, chunk: int = 20000,
) -> np.ndarray:
    """Index of the sector with the highest PREDICTED SS-RSRP within ``max_distance_m`` (-1 where none)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([sectors.x_m, sectors.y_m]))
    n = x_m.size
    best = np.full(n, -1, dtype=np.int64)
    best_val = np.full(n, -np.inf)
    neigh = tree.query_ball_point(np.column_stack([x_m, y_m]), r=max_distance_m)
    sample_idx = np.repeat(np.arange(n), [len(v) for v in neigh])
    sector_idx = np.concatenate([np.asarray(v, dtype=np.int64) for v in neigh]) if n else np.zeros(0, np.int64)
    site_ops = None
    if operators is not None and "operator" in sectors.frame.columns:
        site_ops = sectors.frame["operator"].fillna("").astype(str).str.strip().str.lower().to_numpy()
    if site_ops is not None:
        ok = (site_ops[sector_idx] == "") | (site_ops[sector_idx] == operators[sample_idx])
        sample_idx, sector_idx = sample_idx[ok], sector_idx[ok]
    for start in range(0, sample_idx.size, chunk):
        s = sample_idx[start:start + chunk]
        k = sector_idx[start:start + chunk]
        rsrp, _ = predict_rsrp_dbm(x_m[s], y_m[s], k, env_code[s], sectors, config)
        order = np.lexsort((-rsrp, s))  # per sample, highest first
        s_o, k_o, r_o = s[order], k[order], rsrp[order]
        first = np.ones(s_o.size, dtype=bool)
        first[1:] = s_o[1:] != s_o[:-1]
        s_f, k_f, r_f = s_o[first], k_o[first], r_o[first]
        better = r_f > best_val[s_f]
        best[s_f[better]] = k_f[better]
        best_val[s_f[better]] = r_f[better]
    return best


def _standard_errors(u: np.ndarray, after: np.ndarray, fit_slope: bool) -> tuple[float, float | None]:
    """Approximate standard errors of (offset, slope): the least-squares formula ``s^2 (A^T A)^-1`` with the
    residual variance ``s^2`` after the fit (exact for the linear loss, indicative for the robust ones)."""
    a = np.column_stack([np.ones_like(u), u]) if fit_slope else np.ones((u.size, 1))
    dof = u.size - a.shape[1]
    if dof <= 0:
        return float("nan"), None
    s2 = float(np.sum(after**2)) / dof
    cov = s2 * np.linalg.pinv(a.T @ a)
    return float(np.sqrt(cov[0, 0])), (float(np.sqrt(cov[1, 1])) if fit_slope else None)


def _fit_line(
    u: np.ndarray, r: np.ndarray, *, fit_slope: bool, loss: str, f_scale_db: float
) -> tuple[float, float]:
    """Robust fit of ``r = offset + slope * u``; returns (offset, slope)."""
    from scipy.optimize import least_squares

    if fit_slope:
        a = np.column_stack([np.ones_like(u), u])
        x0 = np.linalg.lstsq(a, r, rcond=None)[0]

        def fun(p: np.ndarray) -> np.ndarray:
            return p[0] + p[1] * u - r
    else:
        x0 = np.array([float(np.mean(r))])

        def fun(p: np.ndarray) -> np.ndarray:
            return p[0] - r
    res = least_squares(fun, x0, loss=loss, f_scale=f_scale_db)
    if not res.success:
        raise InfeasibleError(f"the robust fit did not converge: {res.message}")
    return (float(res.x[0]), float(res.x[1])) if fit_slope else (float(res.x[0]), 0.0)


def _moments(x: np.ndarray) -> tuple[float | None, float | None]:
    if x.size == 0:
        return None, None
    return float(np.mean(x)), (float(np.std(x, ddof=1)) if x.size > 1 else 0.0)


#: Robust losses of ``scipy.optimize.least_squares`` that the fit accepts.
LOSSES = ("linear", "soft_l1", "huber", "cauchy", "arctan")


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """How the correction is fitted and checked on the hold-out (the :func:`calibrate` parameters of these names).

    ``reference_distance_m`` None is the calibration file's ``REFERENCE_DISTANCE_M`` (1000 m).

    Raises
    ------
    InvalidInputError
        A value :func:`calibrate` does not accept.
    """

    holdout_share: float = 0.3
    holdout_block_m: float | None = 500.0
    seed: int = 0
    loss: str = "soft_l1"
    f_scale_db: float = 6.0
    min_samples: int = 20
    min_log_span: float = 0.3
    reference_distance_m: float | None = None

    def __post_init__(self) -> None:
        if self.reference_distance_m is None:
            from qamtu.engine.calibration_file import REFERENCE_DISTANCE_M

            object.__setattr__(self, "reference_distance_m", REFERENCE_DISTANCE_M)
        if not 0.0 <= self.holdout_share <= 0.9:
            raise InvalidInputError(f"holdout_share {self.holdout_share!r} must lie in [0, 0.9]")
        if self.loss not in LOSSES:
            raise InvalidInputError(f"loss {self.loss!r} is not one of {', '.join(LOSSES)}")
        if self.holdout_block_m is not None and not self.holdout_block_m > 0:
            raise InvalidInputError(
                f"holdout_block_m {self.holdout_block_m!r} must be a positive number of metres or None")
        if not (self.f_scale_db > 0 and self.min_samples >= 3 and self.reference_distance_m > 0):
            raise InvalidInputError("f_scale_db and reference_distance_m must be > 0; min_samples >= 3")


@dataclasses.dataclass(frozen=True)
class _Setup:
    """How the samples were taken and matched (the :func:`calibrate` parameters of these names)."""

    techs: list[str]
    max_distance_m: float
    extra_loss_db: float


@dataclasses.dataclass(frozen=True)
class _Matched:
    """The usable samples (rows of ``data``) with their position, environment class and serving sector."""

    data: pd.DataFrame
    crs: Any
    x: np.ndarray
    y: np.ndarray
    codes: np.ndarray
    serving: np.ndarray
    match: np.ndarray
    keep: np.ndarray


@dataclasses.dataclass(frozen=True)
class _Residuals:
    """Per kept sample: 3D distance, PREDICTED serving median (and the model's spread), MEASURED, and their gap."""

    d3d: np.ndarray
    pred: np.ndarray
    model_sd: np.ndarray
    meas: np.ndarray
    resid: np.ndarray


def calibrate(
    measurements: Any,
    sites: pd.DataFrame,
    *,
    area: Any = None,
    env_class: str | Sequence[str] | np.ndarray | None = None,
    config: Any = None,
    techs: Sequence[str] = ("5G",),
    holdout_share: float = 0.3,
    holdout_block_m: float | None = 500.0,
    seed: int = 0,
    loss: str = "soft_l1",
    f_scale_db: float = 6.0,
    min_samples: int = 20,
    min_log_span: float = 0.3,
    max_distance_m: float = 10_000.0,
    extra_loss_db: float = 0.0,
    body_loss_db: float | None = None,
    reference_distance_m: float | None = None,
    freq_hz: float | None = None,
) -> CalibrationResult:
    """Fit the path-loss correction per environment class to MEASURED RSRP (see the module docstring).

    The steps: select the samples (:func:`_select_samples`), place them and give each its environment class
    (:func:`_project`, :func:`_class_codes`), match each to its serving sector (:func:`_match_serving`), compare
    MEASURED with the model's median (:func:`_residuals`), split off the hold-out (:func:`_holdout_mask`), fit
    each class (:func:`_fit_class`) and tabulate (:func:`_result`).

    Parameters
    ----------
    measurements : Measurements or DataFrame
        Validated drive-test samples (``lat``, ``lon``, ``tech``, ``operator``, ``rsrp_dbm``, ``cell_id``).
    sites : DataFrame
        The site table (:func:`qamtu.geo.sites.read_sites`), one row per sector; an extra ``cell_id`` column
        enables matching by cell id.
    area : qamtu.geo.StudyArea, optional
        Gives the CRS and each sample's environment class (pixel lookup); samples outside its grid are excluded.
    env_class : str or array of str, optional
        Environment class of every sample (one name, or one per sample row); overrides ``area``'s classes.
    config : qamtu.engine.EngineConfig, optional
        Engine configuration (default ``EngineConfig()``); its scenarios per class are used, outdoors.
    techs : sequence of str
        Technologies of the samples to use (default 5G: the model is the n78 carrier's).
    holdout_share, holdout_block_m, seed, loss, f_scale_db, min_samples, min_log_span, reference_distance_m
        The fit's settings, see :class:`FitSettings`: ``holdout_share`` is the share held out (seeded by
        ``seed``), in [0, 0.9]. ``holdout_block_m`` holds out whole square blocks of this side (m) rather than
        single samples (default 500 m), so that the hold-out checks the fit in places it has not seen:
        neighbouring samples share their shadow fading (decorrelation 37-50 m in UMa, TR 38.901 Table 7.5-6) and a
        per-sample split would flatter the fit; ``holdout_share`` is then the probability of a block being held
        out; None: per-sample split. ``loss`` and ``f_scale_db`` are the robust loss of
        ``scipy.optimize.least_squares`` (``"soft_l1"``, ``"huber"``, ``"cauchy"``, ``"arctan"``, ``"linear"``)
        and its scale, dB. ``min_samples`` and ``min_log_span`` are the least training samples per class and the
        least spread of log10(d3D) for fitting a slope. ``reference_distance_m`` is ``d_ref`` of the slope term
        (default the file format's, 1000 m).
    max_distance_m : float
        Search radius of the best-server match, m.
    extra_loss_db, body_loss_db : float
        Measurement set-up losses (see the module docstring).
    freq_hz : float, optional
        Carrier frequency of the measured cells, Hz (default the configuration's, 3.65 GHz n78). Measurements of
        another band (e.g. LTE 1800) calibrate the model at that band; the model's own frequency terms carry
        the result to n78 only as far as the clutter correction is band-independent: prefer n78 measurements.

    Raises
    ------
    InvalidInputError
        Bad parameters or class names; no usable sample.
    InfeasibleError
        A fitted correction beyond what the engine accepts (|offset| > 60 dB or |slope| > 40 dB/decade): the site
        table or the cell ids probably do not match the measurements.
    """
    from qamtu.engine.config import EngineConfig
    from qamtu.engine.links import prepare_sectors

    fit = FitSettings(holdout_share=holdout_share, holdout_block_m=holdout_block_m, seed=seed, loss=loss,
                      f_scale_db=f_scale_db, min_samples=min_samples, min_log_span=min_log_span,
                      reference_distance_m=reference_distance_m)
    if not max_distance_m > 0:
        raise InvalidInputError(f"max_distance_m {max_distance_m!r} must be > 0")
    setup = _Setup(list(techs), max_distance_m, extra_loss_db)
    frame = getattr(measurements, "frame", measurements)
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError("measurements must be a Measurements object or a DataFrame")
    config = config or EngineConfig()
    if freq_hz is not None:
        config = config.replace(freq_hz=float(freq_hz))
    cfg = _outdoor_config(config, body_loss_db)
    excluded: dict[str, int] = {}
    data, env_arr = _select_samples(frame, setup.techs, env_class, excluded)
    crs, x, y = _project(data, area)
    codes, keep = _class_codes(x, y, env_class, env_arr, area, excluded)
    sectors = prepare_sectors(sites, crs)
    matched = _match_serving(data, crs, x, y, codes, keep, sectors, cfg, setup.max_distance_m, excluded)
    idx = np.flatnonzero(matched.keep)
    res = _residuals(matched, idx, sectors, cfg, setup)
    holdout = _holdout_mask(x[idx], y[idx], fit)
    u = np.log10(res.d3d / fit.reference_distance_m)
    classes, offset, slope = _fit_classes(codes[idx], holdout, u, res, fit, cfg)
    excluded["total_used"] = int(idx.size)
    return _result(matched, idx, sectors, res, holdout, offset + slope * u, classes, excluded, fit, setup, cfg)


def _select_samples(
    frame: pd.DataFrame, techs: Sequence[str], env_class: Any, excluded: dict[str, int]
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The samples of ``techs`` with an RSRP (renumbered from 0) and, for a per-row ``env_class``, their classes.

    Counts the others into ``excluded``; raises InvalidInputError if none is left or ``env_class`` has the wrong
    length.
    """
    n_total = len(frame)
    use = frame["tech"].isin(list(techs)).to_numpy().copy()
    excluded["other_technology"] = int((~use).sum())
    has_rsrp = frame["rsrp_dbm"].notna().to_numpy()
    excluded["no_rsrp"] = int((use & ~has_rsrp).sum())
    use &= has_rsrp
    env_arr = None
    if env_class is not None and not isinstance(env_class, str):
        env_arr = np.asarray(env_class, dtype=object)
        if env_arr.shape != (n_total,):
            raise InvalidInputError(f"env_class has {env_arr.shape[0]} entries; one per sample ({n_total}) needed")
        env_arr = env_arr[use]
    data = frame.loc[use].reset_index(drop=True)
    if data.empty:
        raise InvalidInputError(
            f"no sample to calibrate with: none of the {n_total} samples has tech in {list(techs)} and an RSRP"
        )
    return data, env_arr


def _project(data: pd.DataFrame, area: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """The CRS (the study area's, else the UTM zone of the samples' median position) and the samples in it, m."""
    from pyproj import Transformer

    if area is not None:
        crs = area.crs
    else:
        from qamtu.geo.area import utm_crs_for

        crs = utm_crs_for(float(data["lon"].median()), float(data["lat"].median()))
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
        data["lon"].to_numpy(float), data["lat"].to_numpy(float))
    return crs, np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _class_codes(
    x: np.ndarray, y: np.ndarray, env_class: Any, env_arr: np.ndarray | None, area: Any, excluded: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Environment class code per sample (``env_class`` given, else the study area's pixel) and the samples kept
    (those inside the area's grid; counted into ``excluded``)."""
    from qamtu.engine.config import ENV_CLASSES

    n = x.size
    if isinstance(env_class, str):
        if env_class not in ENV_CLASSES:
            raise InvalidInputError(f"env_class {env_class!r} is not one of {', '.join(ENV_CLASSES)}")
        return np.full(n, ENV_CLASSES.index(env_class), dtype=np.int64), np.ones(n, dtype=bool)
    if env_arr is not None:
        bad = [v for v in pd.unique(env_arr) if v not in ENV_CLASSES]
        if bad:
            raise InvalidInputError(f"env_class {bad[0]!r} is not one of {', '.join(ENV_CLASSES)}")
        return np.array([ENV_CLASSES.index(v) for v in env_arr], dtype=np.int64), np.ones(n, dtype=bool)
    if area is None:
        raise InvalidInputError("give the study area (its environment classes) or env_class for the samples")
    row, col = area.rowcol(x, y)
    nrow, ncol = area.shape
    keep = (row >= 0) & (row < nrow) & (col >= 0) & (col < ncol)
    codes = np.zeros(n, dtype=np.int64)
    codes[keep] = area.env_class[row[keep], col[keep]].astype(np.int64)
    excluded["outside_study_area_grid"] = int((~keep).sum())
    return codes, keep


def _cell_id_matches(data: pd.DataFrame, sectors: Any) -> tuple[np.ndarray, np.ndarray]:
    """Serving sector by cell id (-1 where the sample has none or it is not in the site table) and the match kind."""
    serving = np.full(len(data), -1, dtype=np.int64)
    match = np.full(len(data), "", dtype=object)
    if "cell_id" not in data.columns:
        return serving, match
    from qamtu.engine.links import sector_cell_ids

    ids = np.asarray(sector_cell_ids(sectors.frame), dtype=str)
    lookup: dict[str, int] = {}
    dup = set()
    for i, cid in enumerate(ids):
        if cid in lookup:
            dup.add(cid)
        lookup[cid] = i
    if dup:
        raise InvalidInputError(f"sites: cell_id {sorted(dup)[0]!r} appears on more than one row")
    cids = data["cell_id"].to_numpy(dtype=object)
    for i, cid in enumerate(cids):
        if cid is not None and not (isinstance(cid, float) and math.isnan(cid)) and str(cid) in lookup:
            serving[i] = lookup[str(cid)]
            match[i] = "cell_id"
    return serving, match


def _match_serving(
    data: pd.DataFrame, crs: Any, x: np.ndarray, y: np.ndarray, codes: np.ndarray, keep: np.ndarray, sectors: Any,
    cfg: Any, max_distance_m: float, excluded: dict[str, int],
) -> _Matched:
    """Serving sector of every kept sample: its cell id, else the model's best server within ``max_distance_m``.

    Samples with no serving sector, or whose cell-id match lies beyond ``max_distance_m`` (a wrong id or a wrong
    site position, not a link to fit), are dropped and counted into ``excluded``; none left is an error.
    """
    serving, match = _cell_id_matches(data, sectors)
    need = keep & (serving < 0)
    if need.any():
        ops = data["operator"].astype(str).str.strip().str.lower().to_numpy()
        idx = np.flatnonzero(need)
        best = _best_server(x[idx], y[idx], codes[idx], ops[idx], sectors, cfg, max_distance_m)
        serving[idx] = best
        match[idx[best >= 0]] = "best_server"
    no_server = keep & (serving < 0)
    excluded["no_serving_sector"] = int(no_server.sum())
    keep = keep & (serving >= 0)
    far = np.zeros(len(data), dtype=bool)
    far[keep] = np.hypot(x[keep] - sectors.x_m[serving[keep]], y[keep] - sectors.y_m[serving[keep]]) > max_distance_m
    excluded["serving_sector_too_far"] = int(far.sum())
    keep &= ~far
    if not keep.any():
        raise InvalidInputError(
            f"no sample could be matched to a serving sector within {max_distance_m:g} m "
            f"(excluded: {excluded}); check the site table, its cell_id column and the coordinates"
        )
    return _Matched(data, crs, x, y, codes, serving, match, keep)


def _residuals(matched: _Matched, idx: np.ndarray, sectors: Any, cfg: Any, setup: _Setup) -> _Residuals:
    """PREDICTED (the model's median of the serving sector's level, less ``extra_loss_db``) - MEASURED, dB."""
    x, y, serving, codes = matched.x[idx], matched.y[idx], matched.serving[idx], matched.codes[idx]
    _, d3d = predict_rsrp_dbm(x, y, serving, codes, sectors, cfg)
    # sites farther than 5 km never beat the serving one at n78 (the search is bounded for speed)
    pred, model_sd = serving_rsrp_median_dbm(x, y, serving, codes, sectors, cfg, min(setup.max_distance_m, 5000.0))
    pred = pred - setup.extra_loss_db
    meas = matched.data["rsrp_dbm"].to_numpy(float)[idx]
    return _Residuals(d3d, pred, model_sd, meas, pred - meas)


def _holdout_mask(x: np.ndarray, y: np.ndarray, fit: FitSettings) -> np.ndarray:
    """True for the held-out samples: seeded, whole ``holdout_block_m`` blocks at a time (or per sample)."""
    rng = np.random.default_rng(fit.seed)
    if fit.holdout_block_m is None:
        return rng.random(x.size) < fit.holdout_share
    bx = np.floor(x / fit.holdout_block_m).astype(np.int64)
    by = np.floor(y / fit.holdout_block_m).astype(np.int64)
    block, _ = pd.factorize(pd.Series(list(zip(bx.tolist(), by.tolist())), dtype=object))
    return (rng.random(int(block.max()) + 1 if block.size else 0) < fit.holdout_share)[block]


def _fit_classes(
    codes: np.ndarray, holdout: np.ndarray, u: np.ndarray, res: _Residuals, fit: FitSettings, cfg: Any
) -> tuple[dict[str, dict[str, Any]], np.ndarray, np.ndarray]:
    """The report entry of every class present, and each sample's fitted offset and slope (0 where not fitted)."""
    from qamtu.engine.config import ENV_CLASSES

    classes: dict[str, dict[str, Any]] = {}
    offset = np.zeros(codes.size)
    slope = np.zeros(codes.size)
    env_names = np.array(ENV_CLASSES, dtype=object)[codes]
    for name in ENV_CLASSES:
        in_class = env_names == name
        if not in_class.any():
            continue
        classes[name], off, slo = _fit_class(name, in_class, holdout, u, res, fit, cfg.environments[name].scenario)
        offset[in_class] = off
        slope[in_class] = slo
    return classes, offset, slope


def _fit_class(
    name: str, in_class: np.ndarray, holdout: np.ndarray, u: np.ndarray, res: _Residuals, fit: FitSettings,
    scenario: str,
) -> tuple[dict[str, Any], float, float]:
    """Fit one class on its training samples and evaluate it on both parts; returns (entry, offset, slope).

    Fewer than ``min_samples`` training samples: not fitted (offset and slope 0). Raises InfeasibleError for a
    correction beyond what the calibration file allows.
    """
    from qamtu.engine.calibration_file import MAX_ABS_OFFSET_DB, MAX_ABS_SLOPE_DB

    resid = res.resid
    fit_m = in_class & ~holdout
    ho_m = in_class & holdout
    entry: dict[str, Any] = {"n": int(in_class.sum()), "n_fit": int(fit_m.sum()), "n_holdout": int(ho_m.sum()),
                             "scenario": scenario}
    if fit_m.sum() < fit.min_samples:
        entry.update(fitted=False, offset_db=0.0, slope_db_per_decade=0.0, rmse_db=None,
                     note=f"not fitted: {int(fit_m.sum())} training samples, fewer than {fit.min_samples}")
        return entry, 0.0, 0.0
    span = float(np.ptp(u[fit_m]))
    fit_slope = span >= fit.min_log_span
    off, slo = _fit_line(u[fit_m], resid[fit_m], fit_slope=fit_slope, loss=fit.loss, f_scale_db=fit.f_scale_db)
    if abs(off) > MAX_ABS_OFFSET_DB or abs(slo) > MAX_ABS_SLOPE_DB:
        raise InfeasibleError(
            f"class {name!r}: fitted offset {off:.1f} dB / slope {slo:.1f} dB/decade exceed what the engine "
            f"accepts (|offset| <= {MAX_ABS_OFFSET_DB:g} dB, |slope| <= {MAX_ABS_SLOPE_DB:g} dB/decade); check "
            "that the site table and the cell ids belong to these measurements"
        )
    after = resid - (off + slo * u)
    se_off, se_slo = _standard_errors(u[fit_m], after[fit_m], fit_slope)
    mb_fit, sb_fit = _moments(resid[fit_m])
    ma_fit, sa_fit = _moments(after[fit_m])
    mb_ho, sb_ho = _moments(resid[ho_m])
    ma_ho, sa_ho = _moments(after[ho_m])
    entry.update(
        fitted=True, offset_db=off, slope_db_per_decade=slo, offset_se_db=se_off,
        slope_se_db_per_decade=se_slo,
        rmse_db=float(np.sqrt(np.mean(after[fit_m] ** 2))),
        log10_distance_span=span,
        mean_error_before_db=mb_fit, std_before_db=sb_fit, mean_error_after_db=ma_fit, std_after_db=sa_fit,
        holdout_mean_error_before_db=mb_ho, holdout_std_before_db=sb_ho,
        holdout_mean_error_after_db=ma_ho, holdout_std_after_db=sa_ho,
        holdout_rmse_after_db=None if not ho_m.any() else float(np.sqrt(np.mean(after[ho_m] ** 2))),
        model_std_db=float(np.sqrt(np.mean(res.model_sd[in_class] ** 2))),
        note="offset and slope fitted" if fit_slope else (
            f"offset only: distances span {span:.2f} decades, less than {fit.min_log_span:g}; slope set to 0"),
    )
    return entry, off, slo


def _result(
    matched: _Matched, idx: np.ndarray, sectors: Any, res: _Residuals, holdout: np.ndarray, corr: np.ndarray,
    classes: dict[str, dict[str, Any]], excluded: dict[str, int], fit: FitSettings, setup: _Setup,
    cfg: Any,
) -> CalibrationResult:
    """The per-sample table (before and after the correction ``corr``, dB) and the parameters, as the result."""
    from qamtu.engine.config import ENV_CLASSES

    data, serving = matched.data, matched.serving
    samples = pd.DataFrame({
        "lat": data["lat"].to_numpy(float)[idx], "lon": data["lon"].to_numpy(float)[idx],
        "x_m": matched.x[idx], "y_m": matched.y[idx],
        "env_class": np.array(ENV_CLASSES, dtype=object)[matched.codes[idx]],
        "operator": data["operator"].to_numpy()[idx],
        "sector": serving[idx], "site_id": sectors.site_id[serving[idx]], "match": matched.match[idx],
        "d3d_m": res.d3d, "measured_rsrp_dbm": res.meas, "predicted_rsrp_dbm": res.pred, "residual_db": res.resid,
        "corrected_rsrp_dbm": res.pred - corr, "residual_after_db": res.resid - corr,
        "split": np.where(holdout, "holdout", "fit"),
    })
    params = {
        "techs": setup.techs, "holdout_share": fit.holdout_share, "holdout_block_m": fit.holdout_block_m,
        "seed": fit.seed, "loss": fit.loss, "f_scale_db": fit.f_scale_db,
        "min_samples": fit.min_samples, "min_log_span": fit.min_log_span, "max_distance_m": setup.max_distance_m,
        "extra_loss_db": setup.extra_loss_db, "body_loss_db": cfg.body_loss_db, "indoor_share": 0.0,
        "freq_hz": cfg.freq_hz, "crs": matched.crs, "residual": "predicted - measured, dB",
        "serving_sector": "cell_id match where the site table has cell_id, else the model's best server",
    }
    return CalibrationResult(samples=samples, classes=classes, excluded=excluded,
                             reference_distance_m=float(fit.reference_distance_m), parameters=params)


def write_calibration(result: CalibrationResult, path: Any) -> Any:
    """Write the calibration JSON (docs/DESIGN.md format, plus ``report``) atomically; returns the path.

    The format is :mod:`qamtu.engine.calibration_file`'s (the engine's reader validates what is written).

    Raises
    ------
    InfeasibleError
        If no class could be fitted (the engine needs at least one class in the file).
    """
    from qamtu.engine.calibration_file import write_calibration_file

    calibration = result.path_loss_calibration()
    if not calibration.classes:
        raise InfeasibleError(
            "no environment class had enough samples to fit; nothing to save (see the report: "
            + "; ".join(f"{k}: {v.get('note')}" for k, v in result.classes.items()) + ")"
        )
    return write_calibration_file(path, calibration, report=result.report())


def class_summary(result: CalibrationResult) -> pd.DataFrame:
    """The per-class report as a table (one row per environment class)."""
    rows = [{"env_class": k, "quantity": "correction of PREDICTED path loss to MEASURED RSRP", **v}
            for k, v in result.classes.items()]
    return pd.DataFrame(rows)
