"""Sparse (pixel, sector) links: path gain, beam gains, SS-RSRP and single-link coverage probability.

What a link holds
-----------------
For every pixel inside the study-area mask and every sector that can matter there (see "Which links are kept"):

* ``rsrp_dbm``: the SS-RSRP of an **outdoor** user averaged over the LOS state (before shadowing), dBm per
  resource element: ``P_RE + G_SSB + G_UE - L_body + PG``, where ``P_RE = P_total - 10 log10(12 N_PRB)``
  (:func:`qamtu.radio.nr.ss_rsrp_dbm`) and ``PG`` is the LOS-probability-weighted linear mean of the two states'
  median gains (TR 38.901 Tables 7.4.1-1, 7.4.2-1; :func:`qamtu.engine.physics.mean_path_gain_db`) with the
  optional measured path-loss calibration. O2I loss is not in it: it belongs to the user (drawn once per user,
  common to all its links) and is applied per user class by the aggregation (:mod:`qamtu.engine.distribution`).
* ``signal_dbm``: the same with the traffic-beam gain (the serving signal when this sector serves the pixel).
* ``interference_mw``: the same with the interference gain (a neighbour's data beams pointed at its own users,
  mean in linear units), in mW per RE at full load; the aggregation scales it by the cell load.
* ``path_gain_db``: ``PG`` (for the uplink).
* ``p_los``, ``los_gain_db``, ``sf_los_db``, ``sf_nlos_db``: the LOS probability, ``PL_NLOS - PL_LOS`` and the two
  states' shadow-fading spreads; with ``rsrp_dbm`` they give the full per-link distribution (LOS/NLOS mixture of
  log-normals) the aggregation integrates over.
* ``coverage_probability``: probability that this sector's SS-RSRP reaches the threshold, over LOS state,
  log-normal shadowing and, with ``coverage_users="all"``, the O2I mixture
  (:func:`qamtu.engine.physics.link_coverage_probability`); by default for an outdoor user (FCC convention). It
  decides which links are kept and the planner's coverage relation; the maps use the distributions.

Which links are evaluated and stored (the cut-off)
--------------------------------------------------
:func:`link_budget_envelope` derives, from the link budget of the sectors (no hard-coded distance):

* a **search radius** (``cutoff_m``): the larger of the *coverage radius* (beyond it no link can reach
  ``cutoff_coverage_epsilon`` of coverage probability, even at boresight, outdoors) and the *tail radius* (beyond
  it the expected interference of all sectors of the densest part of the layout is ``cutoff_tail_margin_db``
  below the reference level, noise plus the expected interference), per environment class of the pixel (rural
  RMa pixels need a wider search than urban ones). Every (pixel, sector) pair within it is evaluated; pairs beyond it are neglected, with the error bounds stated in :func:`link_budget_envelope`
  (and measured by ``benchmarks/bench_engine.py`` against a baseline without cut-off).
* a **relevance floor** ``cutoff_margin_db`` below the reference level. A link whose received power with its
  strongest beam is below the floor and whose coverage probability is below epsilon is not stored individually;
  its interference is added to the pixel's residual, as a random sum: its mean ``residual_mw`` and variance
  ``residual_var_mw2`` (:mod:`qamtu.engine._resid`; in ascending sector order), so the full evaluation stays
  close to that of every link (the kernel fits the residual with the interference it sums) and memory stays
  bounded (a pixel stores its few tens of relevant links, not the hundreds in range). Per pixel the
  ``cutoff_weak_sites`` weak sites (no link above the floor there) of largest variance are stored all the same,
  each as its strongest sector's link, its other sectors folded onto it (``cosited_weak_mw``;
  :func:`qamtu.engine._resid.weak_links`): the LOS-capable ones that make the residual heavy, which a
  single log-normal fits badly. Such a link's ``coverage_probability`` is below the epsilon (0 where the kernel
  skipped its erfc's); with terrain it gets the second pass as a kept link (profile, diffraction, clutter).

Both rules depend only on the link itself and on the cut-off, never on the tile, so results do not depend on the
chunk size, and a sector beyond the search radius changes nothing.

Links are computed per square tile of about ``EngineConfig.chunk_pixels`` pixels; within a tile the links of a
pixel are stored in ascending sector order, which makes the per-pixel sums of the aggregation independent of the
tiling (bit for bit).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from qamtu.engine import physics
from qamtu.engine.config import ENV_CLASSES, EngineConfig
from qamtu.errors import InvalidInputError, OutOfRangeError
from qamtu.radio.antenna import AntennaModel as AntennaModelBase

#: Sector-table columns the engine reads (``x_m``, ``y_m`` are added from lat/lon when absent).
REQUIRED_COLUMNS = ("site_id", "height_m", "azimuth_deg", "mechanical_tilt_deg", "electrical_tilt_deg", "tx_power_dbm")

DEFAULT_ANTENNA = "nr-64t64r"


# ----------------------------------------------------------------------------------------------------------------
# Sectors
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Sectors:
    """The sector table as arrays (one entry per sector, in the order of the site table's rows).

    Attributes
    ----------
    frame : pandas.DataFrame
        The site table as given (with ``x_m``, ``y_m`` in the study area's CRS).
    x_m, y_m, height_m, azimuth_deg, mechanical_tilt_deg, electrical_tilt_deg, tx_power_dbm : ndarray
    antenna : ndarray of str
        Antenna model name per sector (``qamtu.radio.antenna.get_antenna``).
    site_id : ndarray of str
    """

    frame: pd.DataFrame
    x_m: np.ndarray
    y_m: np.ndarray
    height_m: np.ndarray
    azimuth_deg: np.ndarray
    mechanical_tilt_deg: np.ndarray
    electrical_tilt_deg: np.ndarray
    tx_power_dbm: np.ndarray
    antenna: np.ndarray
    site_id: np.ndarray
    _models: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.x_m.shape[0])

    @property
    def n_sites(self) -> int:
        return int(pd.unique(self.site_id).shape[0])

    def antenna_groups(self) -> tuple[np.ndarray, list[Any]]:
        """Integer group code per sector and the antenna model of each group (model name + electrical tilt)."""
        keys = list(zip(self.antenna.tolist(), np.round(self.electrical_tilt_deg, 6).tolist()))
        uniq: dict[tuple[str, float], int] = {}
        codes = np.empty(len(keys), dtype=np.int32)
        for i, key in enumerate(keys):
            codes[i] = uniq.setdefault(key, len(uniq))
        models = [self._model(name, tilt) for (name, tilt) in uniq]
        return codes, models

    def _model(self, name: str, tilt: float):
        key = (name, tilt)
        if key not in self._models:
            from qamtu.radio import antenna as _ant

            cls = _ant.ANTENNA_MODELS.get(str(name).lower())
            if cls is None:
                raise InvalidInputError(
                    f"antenna {name!r} is not one of {', '.join(repr(k) for k in _ant.ANTENNA_MODELS)}"
                )
            fields = getattr(cls, "__dataclass_fields__", {})
            if "tilt_deg" in fields:
                self._models[key] = _ant.get_antenna(name, tilt_deg=float(tilt))
            else:
                if tilt != 0.0:
                    raise InvalidInputError(
                        f"antenna {name!r} has no electrical tilt, but electrical_tilt_deg = {tilt:g} was given"
                    )
                self._models[key] = _ant.get_antenna(name)
        return self._models[key]


def prepare_sectors(sites: pd.DataFrame, crs: str | None = None) -> Sectors:
    """Turn a site table (one row per sector, qamtu.geo canonical columns) into :class:`Sectors`.

    Parameters
    ----------
    sites : pandas.DataFrame
        Canonical columns (see :mod:`qamtu.geo.sites`). If ``x_m``/``y_m`` are absent they are projected from
        ``lat``/``lon`` into ``crs`` with :func:`qamtu.geo.sites.project_sites`.
    crs : str, optional
        The study area's CRS (needed only when projecting).
    """
    if isinstance(sites, Sectors):
        return sites
    if not isinstance(sites, pd.DataFrame):
        raise InvalidInputError(f"sites must be a pandas DataFrame (one row per sector), got {type(sites).__name__}")
    frame = sites
    if "x_m" not in frame.columns or "y_m" not in frame.columns:
        if crs is None:
            raise InvalidInputError("sites lack x_m/y_m and no CRS was given to project lat/lon")
        from qamtu.geo.sites import project_sites

        frame = project_sites(frame, crs)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"sites lack the column(s) {missing}; required: {list(REQUIRED_COLUMNS)}")

    def num(col: str) -> np.ndarray:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad)) + 1
            raise InvalidInputError(f"sites, row {row}, field {col!r}: {frame[col].iloc[row - 1]!r} is not a number")
        return values

    height = num("height_m")
    if np.any((height < 3.0) | (height > 150.0)):
        row = int(np.argmax((height < 3.0) | (height > 150.0))) + 1
        raise OutOfRangeError(f"sites, row {row}, field 'height_m': {height[row - 1]:g} m is outside [3, 150] m")
    if "antenna" in frame.columns:
        antenna = frame["antenna"].fillna("").astype(str).str.strip().str.lower().to_numpy()
        antenna = np.where(antenna == "", DEFAULT_ANTENNA, antenna)
    else:
        antenna = np.full(len(frame), DEFAULT_ANTENNA, dtype=object)
    return Sectors(
        frame=frame,
        x_m=num("x_m"),
        y_m=num("y_m"),
        height_m=height,
        azimuth_deg=num("azimuth_deg"),
        mechanical_tilt_deg=num("mechanical_tilt_deg"),
        electrical_tilt_deg=num("electrical_tilt_deg"),
        tx_power_dbm=num("tx_power_dbm"),
        antenna=np.asarray(antenna, dtype=object),
        site_id=frame["site_id"].astype(str).to_numpy(),
    )


from qamtu.engine.linkbatch import (  # noqa: E402,F401  (moved; re-exported under the old names)
    _coverage_states, _env_states, _LinkBatch, _prime_cache, beam_gains, evaluate_link_batch, n_subcarriers,
    noise_per_re_dbm, power_per_re_dbm,
)


# ----------------------------------------------------------------------------------------------------------------
# The cut-off envelope
# ----------------------------------------------------------------------------------------------------------------
_CUTOFF_CACHE: dict = {}


def max_sector_density_per_m2(sectors: Sectors, radius_m: float = 1500.0) -> float:
    """Largest number of sectors within ``radius_m`` of any sector, divided by the disc's area (sectors/m2)."""
    from scipy.spatial import cKDTree

    xy = np.column_stack([sectors.x_m, sectors.y_m])
    counts = cKDTree(xy).query_ball_point(xy, radius_m, return_length=True)
    return float(np.max(counts)) / (math.pi * radius_m * radius_m)


@dataclass(frozen=True)
class CutoffInfo:
    """What the link budget says about which links matter (see :func:`link_budget_envelope`).

    Attributes
    ----------
    cutoff_m : float
        Search radius around a pixel, m: ``max(coverage_radius_m, tail_radius_m)`` (capped by
        ``config.max_cutoff_m``).
    coverage_radius_m : float
        Beyond it no link reaches ``cutoff_coverage_epsilon`` of coverage probability.
    tail_radius_m : float
        Beyond it the expected interference of all sectors is ``cutoff_tail_margin_db`` below the reference level.
    reference_level_dbm : float
        Noise per RE plus the expected interference of a pixel in the densest part of the layout, dBm per RE.
    floor_dbm : float
        ``reference_level_dbm - cutoff_margin_db``: links weaker than this (with their strongest beam) and below
        ``cutoff_coverage_epsilon`` are not stored individually; their power is kept in the pixel's residual.
    density_per_km2 : float
        Sector density of the densest part of the layout.
    per_env_m : tuple of 4 floats
        The search radius for pixels of each environment class (``cutoff_m`` is the largest); 0 for classes not
        considered. A rural (RMa) pixel needs a wider search than an urban one.
    """

    cutoff_m: float
    coverage_radius_m: float
    tail_radius_m: float
    reference_level_dbm: float
    floor_dbm: float
    density_per_km2: float
    per_env_m: tuple = ()


def link_budget_envelope(sectors: Sectors, config: EngineConfig, env_codes=None, *,
                         max_search_m: float = 100e3) -> CutoffInfo:
    """The cut-off radius and the relevance floor of a set of sectors (see the module docstring).

    Two radii, both from the link budget of these sectors, evaluated for every distinct (height, power per RE,
    antenna model and electrical tilt, mechanical tilt) and environment class present, on a logarithmic distance
    grid (ratio 1.01, 10 m to ``max_search_m``):

    * **coverage radius**: beyond it no single link reaches ``cutoff_coverage_epsilon`` of coverage probability,
      even with the best SSB gain over all azimuths at that elevation (the envelope also covers the interval to
      the next grid point), outdoors, with the scenario's LOS probability and shadowing. A pixel's coverage
      probability (the best link's) is therefore exact wherever it is >= epsilon.
    * **tail radius**: beyond it the expected interference of *all* sectors, with the sector density of the densest
      part of the layout (:func:`max_sector_density_per_m2`) and each sector's interference gain averaged over
      azimuth in linear units (sectors face every way around a pixel), outdoors, is ``cutoff_tail_margin_db``
      below the reference level: noise per RE plus the expected interference from beyond ``r0``, the radius of
      the disc holding one site (the nearest interfering site is about that far). With 20 dB the neglected tail
      changes I + N by about 0.04 dB where the layout is densest (measured against a baseline without cut-off in
      ``benchmarks/bench_engine.py``).

    Parameters
    ----------
    sectors : Sectors
    config : EngineConfig
    env_codes : iterable of int, optional
        Environment classes to consider (default all four).

    Returns
    -------
    CutoffInfo
    """
    from qamtu.radio import antenna as _ant

    noise_dbm = noise_per_re_dbm(config)
    if len(sectors) == 0:
        return CutoffInfo(0.0, 0.0, 0.0, noise_dbm, noise_dbm - config.cutoff_margin_db, 0.0, (0.0,) * len(ENV_CLASSES))
    env_codes = tuple(range(len(ENV_CLASSES))) if env_codes is None else tuple(sorted({int(c) for c in env_codes}))
    p_re = power_per_re_dbm(sectors.tx_power_dbm, config)
    codes, models = sectors.antenna_groups()
    combo = pd.DataFrame(
        {"h": sectors.height_m, "p": p_re, "g": codes, "mt": sectors.mechanical_tilt_deg}
    ).drop_duplicates()
    density = max_sector_density_per_m2(sectors)
    per_site = float(pd.Series(sectors.site_id).value_counts().median())
    key_models = tuple(repr(m) for m in models)
    key = (repr(config), env_codes, max_search_m, key_models, round(density, 12), per_site,
           tuple(map(tuple, combo.to_numpy().tolist())))
    if key in _CUTOFF_CACHE:
        return _CUTOFF_CACHE[key]
    ratio = 1.01
    d = 10.0 * ratio ** np.arange(int(math.ceil(math.log(max_search_m / 10.0) / math.log(ratio))) + 1)
    width = d * (ratio - 1.0)  # annulus width of each grid point (left-point rule on a decreasing integrand)
    phi = np.linspace(-180.0, 180.0, 361)
    noise_mw = 10.0 ** (noise_dbm / 10.0)
    states = _env_states(config)
    cov_states = _coverage_states(config)
    n_env = len(ENV_CLASSES)
    r_cov_env = np.zeros(n_env)
    mean_int_env = np.zeros((n_env, d.size))  # worst combo's azimuth-mean interference power, per env class
    for h, p, g, mt in combo.itertuples(index=False):
        model = models[int(g)]
        theta = 90.0 + np.degrees(np.arctan2(h - config.ue_height_m, d))
        th_l, ph_l = _ant.local_angles(phi[None, :], theta[:, None], 0.0, mt, validate=False)
        th_l = np.asarray(th_l)
        ph_l = np.asarray(ph_l)
        gmax = np.asarray(model.ssb_gain_dbi(th_l, ph_l, validate=False)).max(axis=1)
        gmax = np.maximum(gmax, np.append(gmax[1:], gmax[-1]))  # cover the interval to the next grid point
        g_int_mean = 10.0 * np.log10(
            np.mean(np.power(10.0, np.asarray(model.interference_gain_dbi(th_l, ph_l, validate=False)) / 10.0),
                    axis=1)
        )
        for code in env_codes:
            name = ENV_CLASSES[code]
            prof = config.environments[name]
            d3d = np.sqrt(d * d + (h - config.ue_height_m) ** 2)
            terms = physics.path_terms(
                prof.scenario, config.freq_hz, d, h, config.ue_height_m,
                correction_db=physics.calibration_correction_db(config, name, d3d), min_distance_m=config.min_distance_m,
            )
            pg = physics.mean_path_gain_db(terms)
            base = p + config.ue_antenna_gain_dbi + gmax
            pc = np.maximum(*(
                physics.max_state_coverage_probability(
                    config.rsrp_threshold_dbm, base - terms.pl_los_db, base - terms.pl_nlos_db, terms, st
                ) for st in (states[code], cov_states[code])
            ))
            idx = np.nonzero(pc >= config.cutoff_coverage_epsilon)[0]
            if idx.size:
                r_cov_env[code] = max(r_cov_env[code], float(d[min(int(idx[-1]) + 1, d.size - 1)]))
            mean_int_env[code] = np.maximum(
                mean_int_env[code], np.power(10.0, (p + config.ue_antenna_gain_dbi + g_int_mean + pg) / 10.0)
            )
    # expected interference of all sectors beyond d[i]: density * sum_{j >= i} P(d_j) 2 pi d_j w_j (per env class)
    annulus = density * mean_int_env * 2.0 * math.pi * d * width
    tail = np.cumsum(annulus[:, ::-1], axis=1)[:, ::-1]
    r0 = 1.0 / math.sqrt(math.pi * density / per_site)
    i0 = min(int(np.searchsorted(d, r0)), d.size - 1)
    i_ref = float(max(tail[c, i0] for c in env_codes))
    ref_mw = noise_mw + i_ref
    r_int_env = np.zeros(n_env)
    for c in env_codes:
        over = np.nonzero(tail[c] > ref_mw * 10.0 ** (-config.cutoff_tail_margin_db / 10.0))[0]
        r_int_env[c] = float(d[min(int(over[-1]) + 1, d.size - 1)]) if over.size else float(d[0])
    per_env = np.maximum(r_cov_env, r_int_env)
    if config.max_cutoff_m is not None:
        per_env = np.minimum(per_env, float(config.max_cutoff_m))
    r_cov, r_int = float(r_cov_env.max()), float(r_int_env.max())
    far = float(per_env.max())
    ref_dbm = 10.0 * math.log10(ref_mw)
    info = CutoffInfo(far, r_cov, r_int, ref_dbm, ref_dbm - config.cutoff_margin_db, density * 1e6,
                      tuple(float(v) for v in per_env))
    if len(_CUTOFF_CACHE) > 256:
        _CUTOFF_CACHE.clear()
    _CUTOFF_CACHE[key] = info
    return info


def cutoff_distance_m(sectors: Sectors, config: EngineConfig, env_codes=None) -> float:
    """The search radius of :func:`link_budget_envelope`, m."""
    return link_budget_envelope(sectors, config, env_codes).cutoff_m


# ----------------------------------------------------------------------------------------------------------------
# Links over a study area
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Links:
    """Sparse links of a study area (see the module docstring for each array).

    Attributes
    ----------
    shape : (int, int)
        Grid shape of the study area.
    pixel : int64 array, shape (n_links,)
        Flat (row-major) pixel index.
    sector : int32 array, shape (n_links,)
        Index into ``sectors``.
    rsrp_dbm, signal_dbm, path_gain_db, coverage_probability : float32 arrays, shape (n_links,)
    interference_mw : float32 array, shape (n_links,)
    sectors : Sectors
    cutoff_m : float
        The cut-off distance used for the spatial search, m.
    config : EngineConfig
    residual_mw : float64 array, shape (n_pixels,)
        Per pixel, the MEAN of the summed interference-beam power (mW per RE, full load; over each link's LOS
        state and shadow fading) of the links inside the cut-off that are below the relevance floor and not
        stored individually (the ``cutoff_weak_sites`` weak sites stored are not in it).
    residual_var_mw2 : float64 array, shape (n_pixels,), optional
        Its variance, mW^2 (co-sited weak links fully correlated, sites independent: :mod:`qamtu.engine._resid`).
        The kernel adds mean and variance to the interference moments it fits (:mod:`qamtu.engine.distribution`);
        None (e.g. links made before it existed): the residual counts as a constant at its mean.
    cosited_weak_mw : float32 array, shape (n_links,), optional
        The interference-beam power (as ``interference_mw``, not re-aimed for subsets) of the weak sectors of this
        link's site at this pixel, on the site's first stored link (0 on the others): the same LOS state and
        shadow draw as the link (:mod:`qamtu.engine._resid`). None: 0.
    residual_rsrp_mw : float64 array, shape (n_pixels,), optional
        The mean of the weak sites' summed SS-RSRP (per site its strongest weak sector), mW: the kernel conditions
        the residual on being below the serving level scaled by ``residual_mw / residual_rsrp_mw`` (every other
        site is below the level of the serving one).
    info : CutoffInfo
    ssb_offset_db : float32 array, shape (n_links,), optional
        This sector's SSB as an interferer minus its SS-RSRP, dB (<= 0): with
        ``EngineConfig.ssb_interference = "same_index"`` the beam it sends with the index the user measures
        (sweep mean, :meth:`qamtu.radio.antenna.AntennaModel.ssb_same_index_offset_db`), 0 with "envelope".
    served : qamtu.engine.served.ServedModel or None
        The sectors' served areas: ``interference_mw`` holds the traffic beams aimed at the users of ``served``'s
        state with every sector on air; :func:`qamtu.engine.aggregate.aggregate` re-aims them, and takes the
        uplink interference, from the state of the ``active`` sectors (:meth:`~qamtu.engine.served.ServedModel.
        state`).
    """

    shape: tuple[int, int]
    pixel: np.ndarray
    sector: np.ndarray
    rsrp_dbm: np.ndarray
    signal_dbm: np.ndarray
    interference_mw: np.ndarray
    path_gain_db: np.ndarray
    coverage_probability: np.ndarray
    sectors: Sectors
    cutoff_m: float
    config: EngineConfig
    residual_mw: np.ndarray | None = None
    info: CutoffInfo | None = None
    residual_var_mw2: np.ndarray | None = None
    residual_rsrp_mw: np.ndarray | None = None
    p_los: np.ndarray | None = None
    los_gain_db: np.ndarray | None = None
    sf_los_db: np.ndarray | None = None
    sf_nlos_db: np.ndarray | None = None
    ssb_offset_db: np.ndarray | None = None
    served: Any = None
    cosited_weak_mw: np.ndarray | None = None

    #: per-link arrays, in the order :meth:`take` and :meth:`concat` handle them
    ARRAYS = ("pixel", "sector", "rsrp_dbm", "signal_dbm", "interference_mw", "path_gain_db", "coverage_probability",
              "p_los", "los_gain_db", "sf_los_db", "sf_nlos_db", "ssb_offset_db", "cosited_weak_mw")

    def take(self, index, **changes) -> "Links":
        """A copy holding the links ``index`` (any NumPy index) with other fields replaced by ``changes``."""
        arrays = {k: (None if getattr(self, k) is None else getattr(self, k)[index]) for k in self.ARRAYS}
        if "sectors" in changes and "served" not in changes:
            arrays["served"] = None  # its per-sector arrays index the old table
        arrays.update(changes)
        return dataclasses.replace(self, **arrays)

    @staticmethod
    def concat(parts: list["Links"], **fields) -> "Links":
        """Links of several parts (same grid) in the canonical order: by pixel, then ascending sector."""
        pixel = np.concatenate([p.pixel for p in parts])
        sector = np.concatenate([p.sector for p in parts])
        order = np.lexsort((sector, pixel))
        arrays = {}
        for k in Links.ARRAYS:
            vals = [getattr(p, k) for p in parts]
            arrays[k] = None if any(v is None for v in vals) else np.concatenate(vals)[order]
        if "sectors" in fields and "served" not in fields:
            fields = {**fields, "served": None}  # the parts' served models index their own tables
        return dataclasses.replace(parts[0], **arrays, **fields)

    @property
    def n_links(self) -> int:
        return int(self.pixel.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(
            a.nbytes for a in (self.pixel, self.sector, self.rsrp_dbm, self.signal_dbm, self.interference_mw,
                               self.path_gain_db, self.coverage_probability)
        )

    def sorted(self) -> "Links":
        """A copy ordered by (pixel, sector) (the canonical order; useful to compare two runs)."""
        return self.take(np.lexsort((self.sector, self.pixel)))


def empty_links(shape, sectors, config, info=None) -> Links:
    """Links with no link (an area with no sector in range)."""
    arrays = {k: np.empty(0, np.int64 if k == "pixel" else np.int32 if k == "sector" else np.float32)
              for k in Links.ARRAYS}
    return Links(shape=tuple(shape), sectors=sectors, cutoff_m=0.0, config=config,
                 residual_mw=np.zeros(int(shape[0]) * int(shape[1])),
                 residual_var_mw2=np.zeros(int(shape[0]) * int(shape[1])),
                 residual_rsrp_mw=np.zeros(int(shape[0]) * int(shape[1])), info=info, **arrays)


def _area_arrays(area):
    x, y = area.pixel_centres()
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def compute_links(area, sites, config: EngineConfig | None = None,
                  progress: Callable[[int, int], Any] | None = None, *, cutoff: CutoffInfo | None = None,
                  rows: tuple[int, int] | None = None, served=None) -> Links:
    """Links between every pixel of ``area`` (inside its mask) and every sector that can matter there.

    Parameters
    ----------
    area : qamtu.geo.area.StudyArea
        Needs ``shape``, ``mask``, ``env_class``, ``crs`` and ``pixel_centres()``.
    sites : pandas.DataFrame or Sectors
        The site table, one row per sector (canonical columns of :mod:`qamtu.geo.sites`).
    config : EngineConfig, optional
        Defaults to ``EngineConfig()``.
    progress : callable(done, total), optional
        Called after each tile with the pixels done so far and the total inside the mask.
    cutoff : CutoffInfo, optional
        Use this cut-off and floor instead of deriving them from ``sites`` (e.g. those of a larger site table, so
        that the links of a subset are exactly those the full table would store).
    rows : (int, int), optional
        Compute only the tiles whose first row is in ``[rows[0], rows[1])`` (a *band*; both multiples of the tile
        side ``isqrt(config.chunk_pixels)``, or ``rows[1]`` = the grid's rows). The links are those of the full
        run on those pixels, in the same order; ``residual_mw`` is zero outside the band. Give the full run's
        ``cutoff`` (:mod:`qamtu.engine.bands` does), as a band's environment classes may differ from the area's.
    served : qamtu.engine.served.ServedModel or ServedState, optional
        The served areas to use (beam directions, UL interference) instead of those of ``sites`` on ``area``: a
        model of this table, or a larger table's beam mixes restricted to these rows
        (:meth:`~qamtu.engine.served.ServedModel.subset`: the planner's plan parts; the links then carry no
        model). Without it, they are computed where ``config`` asks for a served-area model
        (``interference_beams = "served"`` or ``ul_interference = "neighbours"``, the defaults).

    Returns
    -------
    Links

    Notes
    -----
    Memory: one tile's candidate pairs (``chunk_pixels`` x sectors in range) are evaluated at a time; the result
    holds 32 bytes per kept link. Several configurations that differ only in :data:`LINK_SHARED_FIELDS` (an RSRP
    threshold, a coverage level, a search cap): :func:`compute_links_many` evaluates the path terms once for all.
    """
    return compute_links_many(area, sites, [EngineConfig() if config is None else config], progress, cutoff=cutoff,
                              rows=rows, served=served)[0]


#: EngineConfig fields the per-link path terms, gains and powers do not depend on: the RSRP threshold (it changes
#: each link's coverage probability and, through it, the relevance rule and the coverage radius), the coverage
#: level and the load and rate criterion (read by the aggregation and the planner only) and the search cap.
#: Configurations that differ only in these share one evaluation of the links (:func:`compute_links_many`).
LINK_SHARED_FIELDS = ("rsrp_threshold_dbm", "coverage_level", "cell_load", "min_dl_mbps", "max_cutoff_m")


def same_link_terms(a: EngineConfig, b: EngineConfig) -> bool:
    """Whether two engine configurations differ only in :data:`LINK_SHARED_FIELDS`."""
    return a.replace(**{f: getattr(b, f) for f in LINK_SHARED_FIELDS}) == b


def _link_variants(configs: list[EngineConfig], infos: list[CutoffInfo]):
    """The distinct (threshold, cut-off) of ``configs``: configurations that share both have the same links.

    Returns the variant of each configuration, the first configuration of each variant, and per variant the
    threshold, the relevance floor, the search radius and the squared radius per environment class.
    """
    variants: dict[tuple, int] = {}
    variant_of = [variants.setdefault((float(c.rsrp_threshold_dbm), i), len(variants)) for c, i in zip(configs, infos)]
    first = [variant_of.index(v) for v in range(len(variants))]
    thresholds = np.array([configs[i].rsrp_threshold_dbm for i in first], dtype=float)
    floors = np.array([infos[i].floor_dbm for i in first], dtype=float)
    cut = [infos[i].cutoff_m for i in first]
    env_cut2 = np.empty((len(first), len(ENV_CLASSES)))
    for v, i in enumerate(first):
        env_cut2[v] = cut[v] * cut[v]
        if len(infos[i].per_env_m) == len(ENV_CLASSES):
            env_cut2[v] = np.minimum(np.asarray(infos[i].per_env_m, dtype=float) ** 2, cut[v] * cut[v])
    return variant_of, first, thresholds, floors, cut, env_cut2


def compute_links_many(area, sites, configs: list[EngineConfig], progress: Callable[[int, int], Any] | None = None,
                       *, cutoff: CutoffInfo | None = None, rows: tuple[int, int] | None = None,
                       served=None) -> list[Links]:
    """:func:`compute_links` for several configurations that differ only in :data:`LINK_SHARED_FIELDS`, sharing
    the work: one spatial search with the widest of their search radii, one evaluation of each pair's path terms,
    gains and powers, then per configuration its own coverage probability (its RSRP threshold), radius and
    relevance rule (floor and epsilon), residual and kept set. Each result is identical, array for array and bit
    for bit, to ``compute_links(area, sites, config)`` (the pairs are evaluated one by one, in the same order).

    With terrain, the second pass (profiles, :meth:`qamtu.engine.terrain.TerrainHook.evaluate`) runs once on the
    links any configuration keeps. Without the fast path (``EngineConfig.fast`` False) the configurations are
    computed one after the other.
    Configurations whose threshold and cut-off coincide (e.g. only the load differs) share their arrays.
    """
    from scipy.spatial import cKDTree

    from qamtu.engine._fast import plain_empty, take32, tile_pairs
    from qamtu.engine._resid import weak_links

    if not configs:
        return []
    config = configs[0]
    for other in configs[1:]:
        if not same_link_terms(other, config):
            raise InvalidInputError("compute_links_many: the configurations may differ only in "
                                    f"{', '.join(LINK_SHARED_FIELDS)}")
    band = rows
    sectors = prepare_sectors(sites, getattr(area, "crs", None))
    mask = np.asarray(area.mask, dtype=bool)
    env = np.asarray(area.env_class)
    rows, cols = mask.shape
    total = int(mask.sum())
    if len(sectors) == 0 or total == 0:
        return [empty_links((rows, cols), sectors, c, link_budget_envelope(sectors, c)) for c in configs]
    if np.any((env[mask] < 0) | (env[mask] >= len(ENV_CLASSES))):
        raise InvalidInputError(f"area.env_class has codes outside 0..{len(ENV_CLASSES) - 1} inside the mask")
    infos = [link_budget_envelope(sectors, c, np.unique(env[mask])) if cutoff is None else cutoff for c in configs]
    variant_of, first, thresholds, floors, cut, env_cut2 = _link_variants(configs, infos)
    n_var = len(first)
    far = max(cut)
    widest = env_cut2.max(axis=0)
    residual = np.zeros((n_var, rows * cols))
    residual_var = np.zeros((n_var, rows * cols))  # the weak links' variance and SS-RSRP (qamtu.engine._resid)
    residual_rsrp = np.zeros((n_var, rows * cols))
    site_code = np.unique(np.asarray(sectors.site_id), return_inverse=True)[1].astype(np.int64)
    x, y = _area_arrays(area)
    tree = cKDTree(np.column_stack([sectors.x_m, sectors.y_m]))
    tile = max(1, int(math.isqrt(int(config.chunk_pixels))))
    cache: dict = {}
    _prime_cache(cache, sectors, config)
    fast = None
    if config.fast:
        from qamtu.engine._fast import FastLinks

        fast = FastLinks(sectors, config, cache, far + 1.5 * tile * float(getattr(area, "resolution_m", 0.0) or 0.0))
        fast = fast if fast.ok else None
    from qamtu.engine.terrain import TerrainHook  # the one terrain/clutter hook

    hook = TerrainHook(area, sectors, config) if TerrainHook.needed(area) else None
    from qamtu.engine.served import ServedModel, served_model

    if n_var > 1 and fast is None:
        links = [compute_links(area, sectors, configs[first[v]], progress, cutoff=cutoff, rows=band, served=served)
                 for v in range(n_var)]
        return [dataclasses.replace(links[v], config=c) for v, c in zip(variant_of, configs)]
    if served is None and (config.interference_beams == "served" or config.ul_interference == "neighbours"):
        served = served_model(area, sectors, config)  # whole area (also for a band: the same for every band)
    # the beam mixes of every sector on air (a ServedState given: those of a larger table's sectors)
    aim_state = served.state() if isinstance(served, ServedModel) else served
    aim = aim_state.aim_tables() if aim_state is not None and aim_state.has_mix else None
    parts: list[dict[str, list[np.ndarray]]] = [{k: [] for k in Links.ARRAYS} for _ in range(n_var)]
    flat_index = np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)
    start, stop = (0, rows) if band is None else (int(band[0]), min(rows, int(band[1])))
    if start % tile or (stop % tile and stop != rows) or not 0 <= start <= stop:
        raise InvalidInputError(f"rows={band}: a band starts and ends on a multiple of the tile side {tile} "
                                f"(or ends at the last row, {rows})")
    tiles = [
        (r0, min(rows, r0 + tile), c0, min(cols, c0 + tile))
        for r0 in range(start, stop, tile) for c0 in range(0, cols, tile)
        if mask[r0:r0 + tile, c0:c0 + tile].any()
    ]
    if band is not None:
        total = int(sum(mask[r0:r1, c0:c1].sum() for r0, r1, c0, c1 in tiles))

    def run_tile(bounds):
        r0, r1, c0, c1 = bounds
        m = mask[r0:r1, c0:c1]
        px = x[r0:r1, c0:c1][m]
        py = y[r0:r1, c0:c1][m]
        pix = flat_index[r0:r1, c0:c1][m]
        pen = env[r0:r1, c0:c1][m]
        cx, cy = 0.5 * (px.min() + px.max()), 0.5 * (py.min() + py.max())
        half_diag = 0.5 * math.hypot(px.max() - px.min(), py.max() - py.min())
        cand = np.asarray(sorted(tree.query_ball_point([cx, cy], far + half_diag + 1e-6)), dtype=np.int64)
        out = [None] * n_var
        if cand.size:
            # pixel order, then ascending sector
            ii, jj, dxs, dys, d2s, secs, envs = tile_pairs(px, py, pen.astype(np.int64), cand, sectors.x_m,
                                                           sectors.y_m, widest)
            if ii.size:

                def batch_of(sel, terr):  # links ``sel`` (all if None), per-link terrain ``terr`` (or None)
                    # traffic beams pointed at the interferer's own users (qamtu.engine.served); the fast kernel
                    # computes the aimed factor and the SSB offsets of every link itself
                    s = slice(None) if sel is None else sel
                    first = hook is not None and sel is None  # the hook's first pass (TerrainHook.evaluate)
                    if fast is not None and n_var > 1:
                        return _LinkBatch(*fast(dxs[s], dys[s], secs[s], envs[s], floors, terr, thresholds, aim,
                                                first))
                    if fast is not None:
                        return _LinkBatch(*fast(dxs[s], dys[s], secs[s], envs[s], floors[0], terr, aim=aim,
                                                first=first))
                    b = evaluate_link_batch(dxs[s], dys[s], secs[s], envs[s], sectors, config, floor_dbm=floors[0],
                                            _cache=cache, terrain=terr)
                    dz = None if terr is None else terr[2]
                    if aim is not None:
                        b.interference_mw = b.interference_mw * aim_state.aimed_factor(dxs[s], dys[s], secs[s], dz)
                    # the SSB offsets of every link (the stored ones and the weak sites promoted); none on the
                    # hook's first pass: the links it keeps are evaluated again
                    b.ssb_offset_db = np.zeros(b.interference_mw.shape[0]) if first else ssb_offsets(
                        dxs[s], dys[s], secs[s], sectors, config, dz, groups=cache["groups"])
                    return b

                batches = batch_of(None, None) if hook is None else hook.evaluate(batch_of, px[ii], py[ii], pix[ii],
                                                                                  secs)
                batches = batches if isinstance(batches, list) else [batches] * n_var  # one per threshold
                for v, batch in enumerate(batches):
                    pcov = batch.coverage_probability.reshape(ii.size, -1)
                    keep = batch.keep.reshape(ii.size, -1)
                    # this configuration's pairs (all of them with one configuration), in the same order
                    own = np.arange(ii.size) if n_var == 1 else np.flatnonzero(d2s <= env_cut2[v][envs])
                    # the few weak sites that would dominate the residual are kept (their strongest sector), then
                    # the weak links' moments summed per pixel, in ascending sector order
                    # (qamtu.engine._resid.weak_links)
                    relevant = keep[:, v] if n_var == 1 else keep[own, v]
                    mine, added, *weak = weak_links(ii, own, relevant, batch.interference_mw, batch.rsrp_dbm,
                                                    batch.p_los, batch.los_gain_db, batch.sf_los_db, batch.sf_nlos_db,
                                                    secs, site_code, int(config.cutoff_weak_sites), pix.size)
                    kept = own[mine]
                    for arr, part in zip((residual, residual_var, residual_rsrp), weak):
                        arr[v, pix] += part
                    fields = {"coverage_probability": pcov[:, v], "cosited_weak_mw": weak[3]}
                    out[v] = (pix[ii[kept]], secs[kept].astype(np.int32)) + tuple(
                        take32(fields[name] if name in fields else getattr(batch, name), kept)
                        for name in Links.ARRAYS[2:])
                    if added and hook is not None:
                        promoted = np.flatnonzero(~relevant[mine])  # (among the kept links)
                        _promoted_fields(out[v], promoted, kept[promoted], v, batch_of, hook, px, py, pix, ii, secs)
        return px.size, out

    workers = config.workers if config.workers > 0 else min(4, os.cpu_count() or 1)
    done = 0
    if workers > 1 and len(tiles) > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=workers)
        results = pool.map(run_tile, tiles)  # in tile order; tiles write disjoint pixels of the residual
    else:
        pool = None
        results = map(run_tile, tiles)
    try:
        for n_done, outs in results:
            done += n_done
            for v, out in enumerate(outs):
                if out is not None:
                    for key, arr in zip(Links.ARRAYS, out):
                        parts[v][key].append(arr)
            if progress is not None:
                progress(done, total)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def cat(v, key):
        dtype = np.int64 if key == "pixel" else np.int32 if key == "sector" else np.float32
        if not parts[v][key]:
            return np.empty(0, dtype=dtype)
        return np.concatenate(parts[v][key], out=plain_empty(sum(a.shape[0] for a in parts[v][key]), dtype))

    model = served if isinstance(served, ServedModel) else None
    made = [Links(shape=(rows, cols), sectors=sectors, cutoff_m=cut[v], config=configs[first[v]],
                  residual_mw=residual[v], residual_var_mw2=residual_var[v],
                  residual_rsrp_mw=residual_rsrp[v], info=infos[first[v]], served=model,
                  **{k: cat(v, k) for k in Links.ARRAYS}) for v in range(n_var)]
    return [dataclasses.replace(made[v], config=c) for v, c in zip(variant_of, configs)]


def _promoted_fields(out: tuple, at: np.ndarray, k: np.ndarray, v: int, batch_of, hook, px, py, pix, ii,
                     secs) -> None:
    """The weak sites' links ``k`` (a tile's links) that :func:`qamtu.engine._resid.weak_links` keeps, stored at
    ``at`` of the arrays ``out`` (``Links.ARRAYS`` order; configuration ``v``), get their terrain second pass
    (profile, diffraction, clutter: as a kept link's). Without terrain the batch holds their values (the SSB
    offsets of every link included)."""
    sub = batch_of(k, hook(px[ii[k]], py[ii[k]], pix[ii[k]], secs[k]))
    for name, arr in zip(Links.ARRAYS[2:], out[2:]):
        if name == "cosited_weak_mw":
            continue
        value = getattr(sub, name)
        arr[at] = value.reshape(k.size, -1)[:, v] if name == "coverage_probability" else value


def ssb_offsets(dx_m, dy_m, sector_idx, sectors: Sectors, config: EngineConfig, dz_m=None, *,
                groups=None) -> np.ndarray:
    """Per link, the sector's SSB power as an interferer minus its SS-RSRP, dB (``Links.ssb_offset_db``).

    ``groups``: ``sectors.antenna_groups()`` when the caller has it already (computed here otherwise)."""
    n = np.asarray(dx_m).shape[0]
    out = np.zeros(n)
    if config.ssb_interference == "envelope" or n == 0:
        return out
    from qamtu.engine.served import _local_angles

    sec = np.asarray(sector_idx, dtype=np.int64)
    codes, models = sectors.antenna_groups() if groups is None else groups
    gcode = codes[sec]
    for g, model in enumerate(models):
        m = np.flatnonzero(gcode == g)
        if m.size == 0 or type(model).ssb_same_index_offset_db is AntennaModelBase.ssb_same_index_offset_db:
            continue
        th, ph = _local_angles(np.asarray(dx_m, float)[m], np.asarray(dy_m, float)[m], sec[m], sectors, config,
                               None if dz_m is None else np.asarray(dz_m, float)[m])
        out[m] = model.ssb_same_index_offset_db(th, ph)
    return out


def sector_cell_ids(frame: pd.DataFrame) -> np.ndarray:
    """A stable id per sector row: the ``cell_id`` column where given, else ``<site_id>-<k>`` (k: the sector's
    0-based order among its site's rows). ``qamtu simulate-measurements`` writes them, ``qamtu calibrate`` reads
    them."""
    site = frame["site_id"].astype(str).to_numpy()
    k = pd.Series(site).groupby(site).cumcount().to_numpy()
    default = np.array([f"{s}-{i}" for s, i in zip(site, k)], dtype=object)
    if "cell_id" in frame.columns:
        given = frame["cell_id"].astype(str).str.strip()
        has = frame["cell_id"].notna() & (given != "")
        return np.where(has.to_numpy(), given.to_numpy(dtype=object), default)
    return default
