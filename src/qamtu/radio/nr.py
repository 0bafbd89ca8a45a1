"""NR link layer: thermal noise, SS-RSRP, CQI and spectral efficiency, the TS 38.306 peak rate, pixel throughput.

References
----------
.. [1] 3GPP TS 38.101-1 V17.5.0, clause 5.3.2, Table 5.3.2-1 (maximum transmission bandwidth
   configuration N_RB, FR1).
.. [2] 3GPP TS 38.214 V17.1.0, clause 5.2.2.1, Tables 5.2.2.1-2 (4-bit CQI Table 1, up to 64QAM) and
   5.2.2.1-3 (CQI Table 2, up to 256QAM).
.. [3] 3GPP TS 38.306 V17.0.0, clause 4.1.2 (approximate data rate).
.. [4] 3GPP TS 38.215 V17.1.0, clause 5.1.1 (SS reference signal received power, per resource element).
.. [5] T. Bonald, A. Proutiere, "Insensitive bandwidth sharing in data networks", Queueing Systems 44 (2003):
   in a processor-sharing cell at utilisation rho, a flow's mean throughput is C (1 - rho).
"""

from __future__ import annotations

import numpy as np

from qamtu.errors import InvalidInputError
from qamtu.radio._checks import as_float_array, check_choice, check_range, scalar_or_array
from qamtu.units import THERMAL_NOISE_DBM_PER_HZ

# --------------------------------------------------------------------------------------------------------------
# Noise, resource grid, RSRP
# --------------------------------------------------------------------------------------------------------------


def thermal_noise_dbm(bandwidth_hz, noise_figure_db=0.0):
    """Receiver noise power ``-174 dBm/Hz + NF + 10 log10(B)``, in dBm.

    Parameters
    ----------
    bandwidth_hz : float or ndarray
        Noise bandwidth in Hz, > 0 (e.g. ``n_prb * 12 * scs_hz`` for the occupied bandwidth, or one subcarrier
        for a per-RE quantity such as SS-RSRP).
    noise_figure_db : float or ndarray
        Receiver noise figure in dB, 0-30.

    Returns
    -------
    float or ndarray
        Noise power in dBm. 100 MHz with NF 7 dB gives -87.0 dBm.

    References
    ----------
    kT at T0 = 290 K is 1.380649e-23 J/K x 290 K = 4.0e-21 W/Hz = -173.98 dBm/Hz, rounded to -174 dBm/Hz as link
    budgets do (:data:`qamtu.units.THERMAL_NOISE_DBM_PER_HZ`).
    """
    b = as_float_array(bandwidth_hz, "bandwidth_hz")
    nf = as_float_array(noise_figure_db, "noise_figure_db")
    check_range(b, "bandwidth_hz", 0.0, None, "Hz", lo_inclusive=False)
    check_range(nf, "noise_figure_db", 0.0, 30.0, "dB")
    return scalar_or_array(THERMAL_NOISE_DBM_PER_HZ + nf + 10.0 * np.log10(b), bandwidth_hz, noise_figure_db)


#: TS 38.101-1 V17.5.0 Table 5.3.2-1: N_RB per (SCS kHz, channel bandwidth MHz), FR1.
N_RB_TABLE_FR1 = {
    15: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 35: 188, 40: 216, 45: 242, 50: 270},
    30: {
        5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 35: 92, 40: 106, 45: 119, 50: 133,
        60: 162, 70: 189, 80: 217, 90: 245, 100: 273,
    },
}


def n_prb(bandwidth_hz: float, scs_hz: float) -> int:
    """Maximum transmission bandwidth N_RB for an FR1 channel (TS 38.101-1 Table 5.3.2-1).

    Parameters
    ----------
    bandwidth_hz : float
        Channel bandwidth in Hz, one of the table's values (5-50 MHz at 15 kHz; 5-100 MHz at 30 kHz).
    scs_hz : float
        Subcarrier spacing in Hz: 15e3 or 30e3.

    Returns
    -------
    int
        Number of resource blocks; 273 for 100 MHz at 30 kHz.

    References
    ----------
    3GPP TS 38.101-1 V17.5.0, clause 5.3.2, Table 5.3.2-1.
    """
    try:
        scs_khz = float(scs_hz) / 1e3
        bw_mhz = float(bandwidth_hz) / 1e6
    except (TypeError, ValueError):
        raise InvalidInputError(f"bandwidth_hz and scs_hz must be numbers, got {bandwidth_hz!r}, {scs_hz!r}") from None
    key_scs = int(round(scs_khz))
    if key_scs not in N_RB_TABLE_FR1 or abs(scs_khz - key_scs) > 1e-9:
        raise InvalidInputError(
            f"scs_hz = {scs_hz:g} is not an FR1 subcarrier spacing of TS 38.101-1 Table 5.3.2-1 in qamtu: "
            "use 15e3 or 30e3"
        )
    row = N_RB_TABLE_FR1[key_scs]
    key_bw = int(round(bw_mhz))
    if key_bw not in row or abs(bw_mhz - key_bw) > 1e-9:
        allowed = ", ".join(str(b) for b in row)
        raise InvalidInputError(
            f"bandwidth_hz = {bandwidth_hz:g} ({bw_mhz:g} MHz) is not a channel bandwidth for {key_scs} kHz SCS in "
            f"TS 38.101-1 Table 5.3.2-1; allowed (MHz): {allowed}"
        )
    return row[key_bw]


def ss_rsrp_dbm(tx_power_dbm, n_subcarriers, gain_db):
    """SS-RSRP from the total transmit power, ``P_total - 10 log10(N_subcarriers) + gain_db``, in dBm.

    SS-RSRP is the power per resource element of the SSS (TS 38.215 5.1.1); with the total power spread evenly
    over all subcarriers of the carrier, one RE carries ``P_total / N_subcarriers``.

    Parameters
    ----------
    tx_power_dbm : float or ndarray
        Total conducted transmit power of the carrier in dBm (e.g. 53 dBm for 200 W).
    n_subcarriers : int or ndarray
        Number of subcarriers the power is spread over, ``12 * N_RB`` (3276 for 273 PRB).
    gain_db : float or ndarray
        Net gain of the link in dB: antenna gains minus path loss and every other loss (negative in practice).

    Returns
    -------
    float or ndarray
        SS-RSRP in dBm.

    References
    ----------
    3GPP TS 38.215 V17.1.0, clause 5.1.1.
    """
    n = as_float_array(n_subcarriers, "n_subcarriers")
    check_range(n, "n_subcarriers", 1.0, None)
    out = np.asarray(tx_power_dbm, dtype=float) - 10.0 * np.log10(n) + np.asarray(gain_db, dtype=float)
    return scalar_or_array(out, tx_power_dbm, n_subcarriers, gain_db)


# --------------------------------------------------------------------------------------------------------------
# CQI tables and SINR mapping
# --------------------------------------------------------------------------------------------------------------
_QM = {"qpsk": 2, "16qam": 4, "64qam": 6, "256qam": 8}

#: TS 38.214 V17.1.0 Table 5.2.2.1-2 (CQI Table 1): rows (CQI, modulation, code rate x 1024, efficiency).
CQI_TABLE_1 = (
    (0, "out of range", 0, 0.0),
    (1, "qpsk", 78, 0.1523),
    (2, "qpsk", 120, 0.2344),
    (3, "qpsk", 193, 0.3770),
    (4, "qpsk", 308, 0.6016),
    (5, "qpsk", 449, 0.8770),
    (6, "qpsk", 602, 1.1758),
    (7, "16qam", 378, 1.4766),
    (8, "16qam", 490, 1.9141),
    (9, "16qam", 616, 2.4063),
    (10, "64qam", 466, 2.7305),
    (11, "64qam", 567, 3.3223),
    (12, "64qam", 666, 3.9023),
    (13, "64qam", 772, 4.5234),
    (14, "64qam", 873, 5.1152),
    (15, "64qam", 948, 5.5547),
)

#: TS 38.214 V17.1.0 Table 5.2.2.1-3 (CQI Table 2, 256QAM): rows (CQI, modulation, code rate x 1024, efficiency).
CQI_TABLE_2 = (
    (0, "out of range", 0, 0.0),
    (1, "qpsk", 78, 0.1523),
    (2, "qpsk", 193, 0.3770),
    (3, "qpsk", 449, 0.8770),
    (4, "16qam", 378, 1.4766),
    (5, "16qam", 490, 1.9141),
    (6, "16qam", 616, 2.4063),
    (7, "64qam", 466, 2.7305),
    (8, "64qam", 567, 3.3223),
    (9, "64qam", 666, 3.9023),
    (10, "64qam", 772, 4.5234),
    (11, "64qam", 873, 5.1152),
    (12, "256qam", 711, 5.5547),
    (13, "256qam", 797, 6.2266),
    (14, "256qam", 885, 6.9141),
    (15, "256qam", 948, 7.4063),
)

_TABLES = {1: CQI_TABLE_1, 2: CQI_TABLE_2}

#: Default SNR gap of the SINR -> CQI mapping, dB (see :func:`sinr_to_cqi`).
DEFAULT_SNR_GAP_DB = 3.0


def _table(table: int):
    if table not in _TABLES:
        raise InvalidInputError(f"table = {table!r} is not a CQI table: use 1 (TS 38.214 Table 5.2.2.1-2) or 2 "
                                "(Table 5.2.2.1-3)")
    return _TABLES[table]


def cqi_efficiency_array(table: int = 2) -> np.ndarray:
    """Efficiencies (bit/s/Hz per layer) of CQI 0..15 of the chosen table as an array of shape (16,)."""
    return np.array([row[3] for row in _table(table)])


def sinr_to_cqi(sinr_db, table: int = 2, gap_db: float = DEFAULT_SNR_GAP_DB):
    """Map SINR to the highest CQI whose efficiency the link supports, with a Shannon-gap model.

    The CQI chosen is the largest index whose efficiency does not exceed ``log2(1 + SINR / Gamma)``, Gamma =
    ``gap_db``; 0 ("out of range") below CQI 1. 3GPP defines CQI by a 10 % BLER target and leaves the SINR mapping
    to the receiver, so it is a documented parameter here. The default Gamma = 3 dB puts CQI 1 at -6.5 dB SINR and
    CQI 15 at 19.6 dB (Table 1) / 25.3 dB (Table 2), the range of published 10 % BLER link-level curves
    for LTE/NR; pass another ``gap_db`` to follow a different receiver. Cross-check: the attenuated Shannon bound
    of 3GPP TR 36.942 Annex A.2 (alpha = 0.6, overheads included) gives 0.6 log2(1 + 10) = 2.08 bit/s/Hz at 10 dB,
    i.e. 2.41 before a 14 % overhead, where Gamma = 3 dB gives CQI 6 of Table 2 (2.4063). A gap of 7 dB or more, also
    quoted in the literature, puts CQI 15 of Table 2 at about 30 dB and is pessimistic for link budgets.

    Parameters
    ----------
    sinr_db : float or ndarray
        SINR in dB (NaN is an error; -inf gives CQI 0).
    table : {1, 2}
        CQI table: 1 = TS 38.214 Table 5.2.2.1-2 (64QAM), 2 = Table 5.2.2.1-3 (256QAM, default).
    gap_db : float
        SNR gap Gamma in dB, >= 0.

    Returns
    -------
    int or ndarray of int
        CQI index 0..15.

    References
    ----------
    3GPP TS 38.214 V17.1.0, clause 5.2.2.1, Tables 5.2.2.1-2 and 5.2.2.1-3.
    """
    s = as_float_array(sinr_db, "sinr_db")
    if np.any(np.isnan(s)):
        check_range(s, "sinr_db", None, None, "dB")
    check_range(np.asarray(gap_db, dtype=float), "gap_db", 0.0, 30.0, "dB")
    eff = cqi_efficiency_array(table)
    shannon = np.log2(1.0 + np.power(10.0, (s - gap_db) / 10.0))
    cqi = np.searchsorted(eff, shannon, side="right") - 1
    cqi = np.clip(cqi, 0, 15)
    if np.ndim(sinr_db) == 0:
        return int(cqi)
    return cqi.astype(np.int64)


def cqi_to_efficiency(cqi, table: int = 2):
    """Spectral efficiency (bit/s/Hz per layer) of a CQI index, ``Qm * R / 1024`` as printed in the table.

    Parameters
    ----------
    cqi : int or ndarray of int
        CQI index 0..15 (0 gives 0).
    table : {1, 2}

    References
    ----------
    3GPP TS 38.214 V17.1.0, Tables 5.2.2.1-2 and 5.2.2.1-3.
    """
    c = np.asarray(cqi)
    if not np.issubdtype(c.dtype, np.integer):
        if np.any(~np.isfinite(c.astype(float))) or np.any(c.astype(float) != np.round(c.astype(float))):
            raise InvalidInputError(f"cqi must be an integer 0..15, got {cqi!r}")
        c = c.astype(np.int64)
    check_range(c.astype(float), "cqi", 0, 15)
    out = cqi_efficiency_array(table)[c]
    return scalar_or_array(out, cqi)


def spectral_efficiency(sinr_db, table: int = 2, gap_db: float = DEFAULT_SNR_GAP_DB):
    """Spectral efficiency per layer (bit/s/Hz) reached at an SINR: the efficiency of :func:`sinr_to_cqi`.

    A step function of SINR, capped at CQI 15 (7.4063 bit/s/Hz for Table 2), 0 below CQI 1.

    References
    ----------
    3GPP TS 38.214 V17.1.0, clause 5.2.2.1.
    """
    return cqi_to_efficiency(sinr_to_cqi(sinr_db, table, gap_db), table)


# --------------------------------------------------------------------------------------------------------------
# Data rates
# --------------------------------------------------------------------------------------------------------------
#: TS 38.306 4.1.2 overhead OH^(j) by (direction, frequency range).
OVERHEAD = {("dl", "fr1"): 0.14, ("dl", "fr2"): 0.18, ("ul", "fr1"): 0.08, ("ul", "fr2"): 0.10}
#: Maximum code rate of TS 38.306 4.1.2, 948/1024.
R_MAX = 948.0 / 1024.0


def _mu(scs_hz: float) -> int:
    mu = np.log2(float(scs_hz) / 15e3)
    if not np.isclose(mu, round(mu)) or round(mu) < 0 or round(mu) > 4:
        raise InvalidInputError(f"scs_hz = {scs_hz:g} is not an NR subcarrier spacing (15, 30, 60, 120, 240 kHz)")
    return int(round(mu))


def peak_data_rate_mbps(
    bandwidth_hz: float,
    scs_hz: float,
    layers: int,
    modulation: str,
    *,
    direction: str = "dl",
    scaling: float = 1.0,
    frequency_range: str = "fr1",
    n_rb: int | None = None,
) -> float:
    """Approximate maximum data rate of one carrier, TS 38.306 clause 4.1.2, in Mbit/s.

    ``rate = 1e-6 * v_layers * Qm * f * Rmax * (N_PRB * 12 / Ts) * (1 - OH)`` with ``Rmax = 948/1024``,
    ``Ts = 1e-3 / (14 * 2^mu)`` s, OH = 0.14 (DL FR1), 0.18 (DL FR2), 0.08 (UL FR1), 0.10 (UL FR2).
    100 MHz, 30 kHz, 4 layers, 256QAM, f = 1, DL FR1 gives 2337.0 Mbit/s.

    Parameters
    ----------
    bandwidth_hz : float
        Channel bandwidth in Hz (sets N_PRB by TS 38.101-1 Table 5.3.2-1 unless ``n_rb`` is given).
    scs_hz : float
        Subcarrier spacing in Hz (sets mu).
    layers : int
        Number of MIMO layers, 1-8.
    modulation : {"qpsk", "16qam", "64qam", "256qam"}
        Sets Qm = 2, 4, 6, 8.
    direction : {"dl", "ul"}
    scaling : float
        Scaling factor f, one of 1, 0.8, 0.75, 0.4.
    frequency_range : {"fr1", "fr2"}
        Selects the overhead.
    n_rb : int, optional
        N_PRB, overriding the table lookup (for FR2 or other tables).

    Returns
    -------
    float
        Rate in Mbit/s.

    References
    ----------
    3GPP TS 38.306 V17.0.0, clause 4.1.2; 3GPP TS 38.101-1 V17.5.0, Table 5.3.2-1.
    """
    modulation = check_choice(modulation, "modulation", tuple(_QM))
    direction = check_choice(direction, "direction", ("dl", "ul"))
    frequency_range = check_choice(frequency_range, "frequency_range", ("fr1", "fr2"))
    if int(layers) != layers or not 1 <= layers <= 8:
        raise InvalidInputError(f"layers = {layers!r} must be an integer 1-8 (TS 38.306 4.1.2)")
    if scaling not in (1.0, 0.8, 0.75, 0.4):
        raise InvalidInputError(f"scaling = {scaling!r} must be one of 1, 0.8, 0.75, 0.4 (TS 38.306 4.1.2)")
    mu = _mu(scs_hz)
    n = n_prb(bandwidth_hz, scs_hz) if n_rb is None else int(n_rb)
    if n < 1:
        raise InvalidInputError(f"n_rb = {n_rb!r} must be >= 1")
    ts_s = 1e-3 / (14.0 * 2**mu)  # average OFDM symbol duration, normal cyclic prefix
    oh = OVERHEAD[(direction, frequency_range)]
    return 1e-6 * layers * _QM[modulation] * scaling * R_MAX * (n * 12 / ts_s) * (1.0 - oh)


def throughput_mbps(
    sinr_db,
    bandwidth_hz: float,
    layers: int = 1,
    tdd_share: float = 1.0,
    load=0.0,
    *,
    scs_hz: float = 30e3,
    direction: str = "dl",
    table: int = 2,
    gap_db: float = DEFAULT_SNR_GAP_DB,
):
    """Achievable user throughput at a location from its SINR, in Mbit/s.

    ``rate = 1e-6 * layers * SE(SINR) * (N_PRB * 12 / Ts) * (1 - OH) * tdd_share * (1 - load)``: the TS 38.306
    4.1.2 formula with ``Qm * f * Rmax`` replaced by the CQI-table spectral efficiency reached at the SINR
    (:func:`spectral_efficiency`), times the share of the TDD frame in this direction, times the share of the
    cell's resources the user gets.

    Load model: ``load`` is the utilisation rho of the serving cell by other traffic (fraction of PRB-time in use),
    and the cell shares its resources among active users by processor sharing (what proportional-fair schedulers
    approximate). A flow then sees on average the capacity the background leaves free, ``C (1 - rho)``
    (Bonald & Proutiere 2003). load = 0 gives the single-user rate, load = 1 a saturated cell (0 Mbit/s). The same
    load should scale the neighbours' interference in the SINR (done by the caller).

    Parameters
    ----------
    sinr_db : float or ndarray
        SINR in dB (per layer).
    bandwidth_hz : float
        Channel bandwidth in Hz (N_PRB from TS 38.101-1 Table 5.3.2-1).
    layers : int
        MIMO layers (1-8).
    tdd_share : float
        Share of the frame for this direction, (0, 1] (e.g. DDDSU with a 10:2:2 special slot: 0.743 DL).
    load : float or ndarray
        Cell utilisation in [0, 1].
    scs_hz : float
        Subcarrier spacing in Hz (default 30 kHz).
    direction : {"dl", "ul"}
        Selects the TS 38.306 overhead (FR1).
    table : {1, 2}
        CQI table.
    gap_db : float
        SNR gap of the SINR mapping (:func:`sinr_to_cqi`).

    Returns
    -------
    float or ndarray
        Throughput in Mbit/s, shape of the broadcast ``sinr_db`` and ``load``.

    References
    ----------
    3GPP TS 38.306 V17.0.0 clause 4.1.2; TS 38.214 V17.1.0 clause 5.2.2.1; Bonald & Proutiere (2003).
    """
    direction = check_choice(direction, "direction", ("dl", "ul"))
    if int(layers) != layers or not 1 <= layers <= 8:
        raise InvalidInputError(f"layers = {layers!r} must be an integer 1-8")
    check_range(np.asarray(tdd_share, dtype=float), "tdd_share", 0.0, 1.0, lo_inclusive=False)
    rho = as_float_array(load, "load")
    check_range(rho, "load", 0.0, 1.0)
    se = np.asarray(spectral_efficiency(sinr_db, table, gap_db), dtype=float)
    mu = _mu(scs_hz)
    n = n_prb(bandwidth_hz, scs_hz)
    ts_s = 1e-3 / (14.0 * 2**mu)
    oh = OVERHEAD[(direction, "fr1")]
    full = 1e-6 * layers * se * (n * 12 / ts_s) * (1.0 - oh) * tdd_share
    return scalar_or_array(full * (1.0 - rho), sinr_db, load)


def rank_adapted_throughput_mbps(
    sinr_db,
    bandwidth_hz: float,
    max_layers: int = 4,
    tdd_share: float = 1.0,
    load=0.0,
    *,
    scs_hz: float = 30e3,
    direction: str = "dl",
    table: int = 2,
    gap_db: float = DEFAULT_SNR_GAP_DB,
    return_layers: bool = False,
):
    """Throughput with rank adaptation: the transmit power split over ``n`` layers, ``n`` chosen per SINR.

    ``rate = max_{n = 1..max_layers} throughput_mbps(SINR - 10 log10 n, layers=n)``: each of ``n`` layers gets
    ``1/n`` of the power (its SINR drops by ``10 log10 n`` dB; the interference per RE does not change), and the
    scheduler picks the rank that maximises the rate (TS 38.214 5.2.2.2: the UE reports the RI with the CQI that
    maximise the rate). ``max_layers`` is the UE's capability (4 DL, 1-2 UL for an n78 handset). The rate never
    falls below the single-layer rate and is non-decreasing in the SINR.

    Returns
    -------
    float or ndarray (and the chosen layers, int, when ``return_layers``)
    """
    if int(max_layers) != max_layers or not 1 <= max_layers <= 8:
        raise InvalidInputError(f"max_layers = {max_layers!r} must be an integer 1-8")
    sinr = np.asarray(sinr_db, dtype=float)
    best = None
    layers = None
    for n in range(1, int(max_layers) + 1):
        r = np.asarray(throughput_mbps(sinr - 10.0 * np.log10(n), bandwidth_hz, n, tdd_share, load, scs_hz=scs_hz,
                                       direction=direction, table=table, gap_db=gap_db), dtype=float)
        if best is None:
            best, layers = r, np.ones(r.shape, dtype=int)
        else:
            better = r > best
            best = np.where(better, r, best)
            layers = np.where(better, n, layers)
    if return_layers:
        return scalar_or_array(best, sinr_db, load), scalar_or_array(layers, sinr_db, load)
    return scalar_or_array(best, sinr_db, load)
