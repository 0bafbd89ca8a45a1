"""Engine configuration: the n78 link budget, the coverage criteria and the environment mapping.

Every number the engine uses is a documented field of :class:`EngineConfig`; nothing is hard-wired in the
computation. The optional path-loss calibration (written by ``qamtu calibrate``) is read by
:func:`qamtu.engine.calibration_file.load_calibration` and applied through ``EngineConfig(calibration=...)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from qamtu.engine.calibration_file import ClassCalibration, PathLossCalibration  # noqa: F401 (public names)
from qamtu.errors import InvalidInputError, OutOfRangeError

# Environment classes in the order of their integer codes in ``StudyArea.env_class``: the study area's own
# definition, so the engine's mapping cannot drift from the codes it reads.
from qamtu.geo.area import ENV_CLASSES

#: Propagation scenarios of 3GPP TR 38.901 that the engine maps environment classes onto.
SCENARIOS = ("uma", "umi", "rma")


@dataclass(frozen=True)
class EnvProfile:
    """How one environment class is propagated.

    Parameters
    ----------
    scenario : {"uma", "umi", "rma"}
        3GPP TR 38.901 scenario whose path loss, LOS probability and shadowing apply.
    indoor_share : float, 0..1
        Share of users (and so of a pixel's population) indoors. Indoor users see the O2I loss.
    o2i_high_share : float, 0..1
        Share of the indoor users in "high-loss" buildings (IRR glass + concrete, TR 38.901 7.4.3);
        the rest are in "low-loss" buildings (standard glass + concrete). RMa uses low-loss only.
    beamforming_loss_db : float
        Loss of the traffic beam's gain against the ideal plane-wave array gain, from the angular spread of the
        channel (the power arrives over a spread of angles wider than the beam). Defaults: 4 dB dense urban,
        3 dB urban, 2.5 dB suburban (UMa NLOS: TR 38.901 Table 7.5-6 ASD ~ 17-25 deg (lgASD mean 1.41, 1.24 LOS)
        against a 64T64R beam of ~ 13 deg horizontally, 8 columns), 1.5 dB rural (RMa ASD ~ 8 deg); a planning
        assumption, keep it a parameter.
    """

    scenario: str
    indoor_share: float
    o2i_high_share: float
    beamforming_loss_db: float = 3.0

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise InvalidInputError(f"scenario {self.scenario!r} is not allowed; use one of {SCENARIOS}")
        for name in ("indoor_share", "o2i_high_share"):
            value = getattr(self, name)
            if not (0.0 <= float(value) <= 1.0):
                raise OutOfRangeError(f"{name} = {value!r} must lie in [0, 1]")
        if self.scenario == "rma" and self.o2i_high_share > 0:
            raise InvalidInputError(
                f"o2i_high_share = {self.o2i_high_share!r} for scenario 'rma': TR 38.901 7.4.3 uses the "
                "low-loss O2I model only in RMa; set it to 0"
            )

    def o2i_weights(self) -> tuple[float, float, float]:
        """Shares of (outdoor, indoor low-loss, indoor high-loss) users; they sum to 1."""
        indoor = float(self.indoor_share)
        high = float(self.o2i_high_share)
        return (1.0 - indoor, indoor * (1.0 - high), indoor * high)


def _default_environments() -> Mapping[str, EnvProfile]:
    # Dense urban and urban: 38.901 calibration assumes 80 % indoor users (Table 7.8-1); suburban and rural
    # fewer. High-loss (thermally efficient, IRR-glass) buildings are a minority of Kazakhstan's mostly Soviet-era
    # concrete stock; the shares are planning assumptions, not measurements: keep them parameters.
    return MappingProxyType(
        {
            "dense_urban": EnvProfile("uma", 0.8, 0.3, 4.0),
            "urban": EnvProfile("uma", 0.7, 0.2, 3.0),
            "suburban": EnvProfile("uma", 0.6, 0.1, 2.5),
            "rural": EnvProfile("rma", 0.5, 0.0, 1.5),
        }
    )


def tdd_shares(pattern: str, special_symbols: tuple[int, int, int] = (10, 2, 2)) -> tuple[float, float]:
    """Downlink and uplink time shares of a TDD slot pattern.

    Parameters
    ----------
    pattern : str
        Slots, e.g. ``"DDDSU"`` (the common n78 pattern, 2.5 ms at 30 kHz SCS); letters D, S, U.
    special_symbols : (int, int, int)
        OFDM symbols (DL, guard, UL) of a special slot; they sum to 14. Default 10:2:2.

    Returns
    -------
    (dl_share, ul_share) : floats in [0, 1]

    References
    ----------
    3GPP TS 38.213 V17, clause 11.1 (slot configuration); 14 OFDM symbols per slot with normal CP (TS 38.211 4.3.2).
    """
    pattern = pattern.strip().upper()
    if not pattern or set(pattern) - set("DSU"):
        raise InvalidInputError(f"TDD pattern {pattern!r} must be a non-empty string of D, S and U")
    if len(special_symbols) != 3 or sum(special_symbols) != 14 or min(special_symbols) < 0:
        raise InvalidInputError(f"special_symbols {special_symbols!r} must be three counts >= 0 summing to 14")
    n = len(pattern)
    dl = pattern.count("D") + pattern.count("S") * special_symbols[0] / 14.0
    ul = pattern.count("U") + pattern.count("S") * special_symbols[2] / 14.0
    return dl / n, ul / n


@dataclass(frozen=True)
class EngineConfig:
    """Everything the coverage engine assumes, with n78 defaults.

    Parameters
    ----------
    freq_hz : float
        Carrier centre frequency, Hz. Default 3.65 GHz: the middle of the 3.6-3.8 GHz n78 allocation (the two
        100 MHz lots are 3600-3700 and 3700-3800 MHz; the path-loss difference across the band is < 0.5 dB).
    bandwidth_hz : float
        Channel bandwidth, Hz (100 MHz: one lot).
    scs_hz : float
        Subcarrier spacing, Hz (30 kHz: 273 PRB at 100 MHz, TS 38.101-1 Table 5.3.2-1).
    ue_height_m : float
        UE antenna height above ground, m (1.5 m, pedestrian; TR 38.901 outdoor UT height).
    ue_noise_figure_db, ue_tx_power_dbm, ue_antenna_gain_dbi, body_loss_db : float
        UE receiver noise figure (7 dB), power class 3 output (23 dBm, TS 38.101-1), antenna gain (0 dBi) and
        body loss (3 dB, applied to every link, down and up).
    gnb_noise_figure_db : float
        gNB receiver noise figure for the uplink, dB (5 dB, a typical n78 macro value).
    ul_interference_margin_db : float
        Uplink interference over thermal at the gNB with ``ul_interference = "margin"``, dB (3 dB at 50 % load, a
        common planning margin).
    ul_p0_dbm, ul_alpha : float
        Open-loop PUSCH power control (TS 38.213 7.1.1): ``P = min(P_CMAX, P0 + 10 log10(2^mu M_RB) + alpha PL)``
        with ``P0`` = p0-NominalPUSCH (-90 dBm, per 180 kHz) and fractional compensation ``alpha`` = 0.8 (typical
        operator settings; 38.213 allows 0.4-1). The engine allocates the whole carrier (``M_RB`` = N_PRB).
    rsrp_threshold_dbm : float
        SS-RSRP a UE needs to be "in coverage", dBm per resource element. Default -110 dBm: with the noise per
        30 kHz RE at -122.2 dBm (7 dB NF) it leaves about 12 dB of SSB SNR, enough for initial access with margin;
        n78 operators' coverage maps commonly draw the edge of "good" 5G between -105 and -115 dBm.
    coverage_level : float
        The coverage probability a pixel must reach, 0..1 (0.9, the FCC 5G-NR map's cell-edge probability).
    coverage_users : {"outdoor", "indoor", "all"}
        The user class whose probabilities decide ``covered`` (:class:`qamtu.engine.criterion.CoverageCriterion`).
        ``"outdoor"`` (default): an outdoor user at ``ue_height_m``, the territory obligation (FCC map convention:
        outdoor, 90 % probability, 50 % load); ``"indoor"``: indoor users of the pixel's building mix, with their
        building loss drawn once per user; ``"all"``: the pixel's population mix. The KPIs report all three. It
        also selects the O2I mixture of the per-link ``coverage_probability`` that decides which links are kept
        ("indoor" keeps the outdoor one: a superset).
    cell_load : float
        Share of resources busy in every cell, 0..1 (0.5, FCC map convention). Interference is
        ``cell_load`` x each neighbour's mean received power; the user gets the idle share (see qamtu.radio.nr).
    always_on_re_share : float
        Share of the serving cell's PDSCH resource elements on which every neighbouring sector transmits
        always-on signals at full power whatever its load (0..1, default 0.01). On those REs a neighbour
        interferes with its SSB-beam power (see ``ssb_interference``), so the PDSCH interference is
        ``cell_load`` x traffic-beam power + ``always_on_re_share`` x SSB-beam power (power average over the REs;
        the residual of the cut weak links carries the load term only). Default, counted for n78, 100 MHz,
        30 kHz, 273 PRB, DDDSU, per 20 ms (40 slots, 1.83 M REs): SSBs and CORESETs of a synchronised network fall
        on the serving cell's own SSB/CORESET REs (same SSB position and CORESET symbols; TS 38.213 4.1, 10.1),
        not on its PDSCH: 0; TRS (TS 38.214 5.1.6.1.1: 2 slots x 2 symbols x 3 REs/PRB every 20 ms): 0.18 %;
        SIB1/paging/other broadcast PDSCH (~48 PRB x 12 symbols per 20 ms): 0.4 %; periodic CSI-RS for CSI and
        beam management: ~0.3-0.5 %. Sum ~1 %. Not a field figure: a parameter for operators' own counts.
    interference_beams : {"served", "uniform"}
        Where a neighbour's traffic beams point when they interfere. ``"served"`` (default): at the neighbour's
        own served users, people-weighted (:mod:`qamtu.engine.served`); the served areas are those of the sectors
        ON AIR: :func:`qamtu.engine.aggregate.aggregate` with ``active`` re-aims the beams at the served areas of
        the active sectors, each ~100 m point served among its 48 nearest ACTIVE sectors whatever their rank in the
        table the links were computed on (any subset evaluates as a fresh model of its own sites). ``"uniform"``:
        spread uniformly over the antenna's scan range (the antenna model's mean interference gain; the default
        until issue 11's served models were signable). Passive antennas are the same either way. Why "served" is
        the default: traffic beams do point at their own users (issue 11 item 3; Taraz 100 m reference layout,
        outdoor medians: PDSCH 15.9 dB against SSB 12.6 dB, a 3.3 dB gap, 5.0 dB with uniform beams;
        docs/notes/served-21.md), and
        its plans are now signable: with the weak links' residual as a conditioned random term
        (docs/notes/resid-21.md) a fresh evaluation at the default ``cutoff_margin_db`` agrees with the planner's
        links (60 dB) within ~0.011 territory; measured in a national run of Astana / Almaty / Shymkent / Konaev
        (250 m) with these defaults: 557 / 624 / 653 / 18 sites, territory on the planner's links 0.763 / 0.761
        / 0.756 / 0.604, fresh 0.752 / 0.750 / 0.751 / 0.604 (population 0.857 / 0.814 / 0.821 / 0.635 vs
        0.839 / 0.800 / 0.810 / 0.635), every plan confirmed by its fresh evaluation (docs/notes/served-22.md,
        with the cost: CPU and memory). With the loaded residual's truncation fixed and the
        ``cutoff_weak_sites`` weak sites stored (resid2-22) the 20-city national run (12ac459) gives 3,277 sites,
        planner and fresh evaluation within 0.0014 territory in every city, every plan confirmed
        (docs/notes/lead-22.md).
    ssb_interference : {"same_index", "envelope"}
        A neighbour's SSB as an interferer (SSB SINR, and the always-on term of the PDSCH; a link field).
        ``"same_index"`` (default): the beam it sends in the same symbols as the user's SSB index (synchronised
        SSB bursts, TS 38.213 4.1), on average the sweep's mean gain toward the user (per link: independent of
        the rest of the sector table); ``"envelope"``: its best beam toward the user (as if every beam of the
        sweep were on at once).
    ul_interference : {"neighbours", "margin"}
        Uplink interference at the gNB. ``"neighbours"``: the other cells' scheduled UEs at the load,
        on the served areas of the sectors on air, with their open-loop power control
        (:meth:`qamtu.engine.served.ServedState.ul_interference_mw`; needs links computed with a served model,
        which ``compute_links`` builds under either option; default, issue 11 item 4: the UL interference of the
        neighbours' users at the load, with ``interference_beams = "served"``); ``"margin"``: the fixed rise over
        thermal ``ul_interference_margin_db`` (the default before; with ``"uniform"`` beams, for comparisons).
    min_dl_mbps : float
        Downlink rate a covered pixel must reach, Mbit/s (50: the 5G minimum proposed by the ministry), with
        probability ``coverage_level`` at ``cell_load``.
    min_ul_mbps : float or None
        Optional uplink rate a covered pixel must also reach with that probability (None: no UL condition).
    tdd_pattern : str
        TDD slot pattern (``"DDDSU"``, special slot 10:2:2): DL share 0.743, UL share 0.229.
    dl_layers, ul_layers : int
        The UE's largest number of MIMO layers (4 down: a 4-Rx n78 handset; 1 up: one transmit chain at the cell
        edge). The rank is adapted per SINR (:func:`qamtu.radio.nr.rank_adapted_throughput_mbps`): the power is
        split over the layers and the rank that maximises the rate is used.
    environments : mapping of env class -> EnvProfile
        Scenario, indoor share and O2I mix per environment class (keys: dense_urban, urban, suburban, rural).
    calibration : PathLossCalibration or None
        Measured path-loss correction (from :func:`qamtu.engine.calibration_file.load_calibration`); None
        applies the 38.901 models as such.
    min_distance_m : float
        Distances shorter than this are clamped to it for path loss and LOS probability (10 m: the lower
        validity bound of TR 38.901 Table 7.4.1-1 for UMa, UMi and RMa).
    cutoff_margin_db : float
        Link-relevance criterion (see :mod:`qamtu.engine.links`): a link whose mean received power, with the
        largest of its beams' gains, is more than this below the noise per RE is dropped (30 dB: each dropped link
        changes I+N by at most 0.0043 dB). Dropped links are summed into the pixel's residual, which the
        distribution engine counts as a random term of the interference (mean and variance over LOS state and
        shadowing, conditioned below the serving level: :mod:`qamtu.engine._resid`), but for the
        ``cutoff_weak_sites`` weak sites stored per pixel; with them a fresh evaluation of the Konaev 100 m
        reference layout with served beams gives territory 0.9975 at 30, 40 and 60 dB, indoor 0.4904 / 0.4913 /
        0.4913 (0.9821 / 0.9971 / 0.9975 / 0.9975 at 30 / 40 / 50 / 60 dB with the former constant residual at
        the links' median power; docs/notes/resid-21.md, resid2-22.md). 30 dB stores ~2 % more links than 20 dB on the Taraz
        reference layout (docs/notes/served-11.md).
    cutoff_weak_sites : int
        Per pixel, this many of the weak sites (no link above the relevance floor there) are stored all the same,
        those of largest variance of interference (the LOS-capable ones that make the residual heavy), each as
        its strongest sector's link with its other sectors folded onto it
        (:func:`qamtu.engine._resid.weak_links`); the rest stays in the residual. Default 8: Astana's
        served plan (637 sites, 250 m) fresh at 30 dB 0.8653 / 0.9028 territory / population against 0.8655 /
        0.9032 at 60 dB (0.8582 / 0.8916 with 0), for +34 % links and +25-29 % aggregation CPU on the Taraz
        100 m reference layout (raising ``cutoff_margin_db`` to 40 dB instead: +65 % links, +41-43 % CPU;
        docs/notes/resid2-22.md). 0..64.
    cutoff_coverage_epsilon : float
        A link is also kept while its single-link RSRP coverage probability is at least this (0.05): a pixel's
        coverage probability is then exact wherever it is >= 0.05, so ``covered`` is exact for any level >= 0.05.
        (0.01 instead costs 3x the time and 2.6x the memory on a dense reference layout, measured on Taraz, and
        changed no covered pixel there.)
    cutoff_tail_margin_db : float
        The search radius is the distance beyond which the expected interference of all sectors is this far below
        the noise per RE (10 dB: I + N is raised by at most 0.41 dB where noise dominates); see
        :func:`qamtu.engine.links.cutoff_distance_m`.
    max_cutoff_m : float or None
        Upper bound on the derived cut-off distance, m (None: derived only). Setting it trades accuracy for speed.
    chunk_pixels : int
        Pixels per work chunk (a square tile); bounds memory, does not change results.
    fast : bool
        Evaluate links with the tabulated Numba path (:mod:`qamtu.engine._fast`: qamtu.radio's functions on fine
        grids, interpolated; < 0.02 dB from the exact path on main lobes) instead of calling qamtu.radio per link
        (exact, several times slower). Default True.
    workers : int
        Threads evaluating tiles in parallel (NumPy releases the GIL in its array loops); 0 = the number of CPUs,
        at most 4. Default 0: on an idle 2-core machine, all 20 cities at 25 m took 47.8 s with two threads
        against a median of 83.6 s with one (benchmarks/bench_engine.py); on a machine loaded by other work the
        gain shrinks. Does not change results (tested).
    """

    freq_hz: float = 3.65e9
    bandwidth_hz: float = 100e6
    scs_hz: float = 30e3
    ue_height_m: float = 1.5
    ue_noise_figure_db: float = 7.0
    ue_tx_power_dbm: float = 23.0
    ue_antenna_gain_dbi: float = 0.0
    body_loss_db: float = 3.0
    gnb_noise_figure_db: float = 5.0
    ul_interference_margin_db: float = 3.0
    ul_p0_dbm: float = -90.0
    ul_alpha: float = 0.8
    rsrp_threshold_dbm: float = -110.0
    coverage_level: float = 0.9
    coverage_users: str = "outdoor"
    cell_load: float = 0.5
    always_on_re_share: float = 0.01
    interference_beams: str = "served"
    ssb_interference: str = "same_index"
    ul_interference: str = "neighbours"
    min_dl_mbps: float = 50.0
    min_ul_mbps: float | None = None
    tdd_pattern: str = "DDDSU"
    tdd_special_symbols: tuple[int, int, int] = (10, 2, 2)
    dl_layers: int = 4
    ul_layers: int = 1
    environments: Mapping[str, EnvProfile] = field(default_factory=_default_environments)
    calibration: PathLossCalibration | None = None
    min_distance_m: float = 10.0
    cutoff_margin_db: float = 30.0
    cutoff_coverage_epsilon: float = 0.05
    cutoff_tail_margin_db: float = 10.0
    cutoff_weak_sites: int = 8
    max_cutoff_m: float | None = None
    chunk_pixels: int = 1024
    fast: bool = True
    workers: int = 0

    def __post_init__(self) -> None:
        checks = {
            "freq_hz": (0.5e9, 100e9),
            "bandwidth_hz": (1e6, 400e6),
            "scs_hz": (15e3, 120e3),
            "ue_height_m": (1.0, 22.5),
            "ue_noise_figure_db": (0.0, 20.0),
            "ue_tx_power_dbm": (-10.0, 33.0),
            "ue_antenna_gain_dbi": (-20.0, 20.0),
            "body_loss_db": (0.0, 30.0),
            "gnb_noise_figure_db": (0.0, 20.0),
            "ul_interference_margin_db": (0.0, 40.0),
            "ul_p0_dbm": (-202.0, 24.0),
            "ul_alpha": (0.0, 1.0),
            "rsrp_threshold_dbm": (-160.0, -40.0),
            "coverage_level": (0.0, 1.0),
            "cell_load": (0.0, 1.0),
            "always_on_re_share": (0.0, 1.0),
            "min_dl_mbps": (0.0, 1e5),
            "min_distance_m": (1.0, 100.0),
            "cutoff_margin_db": (0.0, 60.0),
            "cutoff_coverage_epsilon": (1e-12, 0.5),
            "cutoff_tail_margin_db": (0.0, 60.0),
        }
        for name, (lo, hi) in checks.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (lo <= float(value) <= hi):
                raise OutOfRangeError(f"EngineConfig.{name} = {value!r} is outside the allowed range [{lo}, {hi}]")
        for name in ("dl_layers", "ul_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or not (1 <= value <= 8):
                raise OutOfRangeError(f"EngineConfig.{name} = {value!r} must be an integer in 1..8")
        if not isinstance(self.cutoff_weak_sites, int) or isinstance(self.cutoff_weak_sites, bool) or not (
                0 <= self.cutoff_weak_sites <= 64):
            raise OutOfRangeError(
                f"EngineConfig.cutoff_weak_sites = {self.cutoff_weak_sites!r} must be an integer in 0..64")
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or not (0 <= self.workers <= 64):
            raise OutOfRangeError(f"EngineConfig.workers = {self.workers!r} must be an integer in 0..64")
        if not isinstance(self.chunk_pixels, int) or self.chunk_pixels < 1:
            raise OutOfRangeError(f"EngineConfig.chunk_pixels = {self.chunk_pixels!r} must be an integer >= 1")
        if self.max_cutoff_m is not None and not (float(self.max_cutoff_m) > 0):
            raise OutOfRangeError(f"EngineConfig.max_cutoff_m = {self.max_cutoff_m!r} must be > 0 m or None")
        if self.coverage_users not in ("outdoor", "indoor", "all"):
            raise InvalidInputError(
                f"EngineConfig.coverage_users = {self.coverage_users!r} must be 'outdoor', 'indoor' or 'all'"
            )
        if self.interference_beams not in ("served", "uniform"):
            raise InvalidInputError(
                f"EngineConfig.interference_beams = {self.interference_beams!r} must be 'served' or 'uniform'")
        if self.ssb_interference not in ("same_index", "envelope"):
            raise InvalidInputError(
                f"EngineConfig.ssb_interference = {self.ssb_interference!r} must be 'same_index' or 'envelope'")
        if self.ul_interference not in ("neighbours", "margin"):
            raise InvalidInputError(
                f"EngineConfig.ul_interference = {self.ul_interference!r} must be 'neighbours' or 'margin'")
        if self.min_ul_mbps is not None and not (0.0 <= float(self.min_ul_mbps) <= 1e5):
            raise OutOfRangeError(f"EngineConfig.min_ul_mbps = {self.min_ul_mbps!r} must be in [0, 1e5] or None")
        tdd_shares(self.tdd_pattern, self.tdd_special_symbols)  # validates
        missing = [c for c in ENV_CLASSES if c not in self.environments]
        if missing:
            raise InvalidInputError(f"EngineConfig.environments lacks {missing}; it needs a profile for each of {ENV_CLASSES}")
        for name, prof in self.environments.items():
            if not isinstance(prof, EnvProfile):
                raise InvalidInputError(f"EngineConfig.environments[{name!r}] must be an EnvProfile")
        object.__setattr__(self, "environments", MappingProxyType(dict(self.environments)))

    # ------------------------------------------------------------------ derived quantities
    @property
    def criterion(self):
        """The coverage criterion these fields define (:class:`qamtu.engine.criterion.CoverageCriterion`)."""
        from qamtu.engine.criterion import CoverageCriterion

        return CoverageCriterion.from_config(self)

    @property
    def tdd_dl_share(self) -> float:
        """Downlink time share of ``tdd_pattern``."""
        return tdd_shares(self.tdd_pattern, self.tdd_special_symbols)[0]

    @property
    def tdd_ul_share(self) -> float:
        """Uplink time share of ``tdd_pattern``."""
        return tdd_shares(self.tdd_pattern, self.tdd_special_symbols)[1]

    def replace(self, **changes) -> "EngineConfig":
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def env_profile(self, code: int) -> EnvProfile:
        """The profile of environment class ``code`` (0..3, see :data:`ENV_CLASSES`)."""
        return self.environments[ENV_CLASSES[code]]
