"""Link-budget pieces shared by the exact per-link physics (:mod:`qamtu.engine.links`) and its fast path
(:mod:`qamtu.engine._fast`): power and noise per resource element, the O2I mixtures per environment class and the
measured path-loss correction.

Both link paths import them from here, next to :mod:`qamtu.engine.physics`, so that neither imports the other for
them (``links`` imports ``_fast`` only to run it; ``_fast`` imports nothing of ``links``).
"""

from __future__ import annotations

import numpy as np

from qamtu.engine import physics
from qamtu.engine.config import ENV_CLASSES, EngineConfig


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


def env_states(config: EngineConfig) -> list[physics.O2IStates]:
    """The O2I mixture of every environment class's users (in ``ENV_CLASSES`` order)."""
    return [
        physics.o2i_states(config.freq_hz, p.scenario, p.indoor_share, p.o2i_high_share)
        for p in (config.environments[name] for name in ENV_CLASSES)
    ]


def coverage_states(config: EngineConfig) -> list[physics.O2IStates]:
    """The O2I mixture the coverage probability is about (``config.coverage_users``)."""
    if config.coverage_users == "all":
        return env_states(config)
    outdoor = physics.O2IStates((1.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    return [outdoor] * len(ENV_CLASSES)


def path_loss_correction_db(config: EngineConfig, env_name: str, d3d_m):
    """The measured path-loss correction of ``env_name`` at 3D distance ``d3d_m`` (m), dB; 0 without calibration."""
    if config.calibration is None:
        return 0.0
    return config.calibration.correction_db(env_name, d3d_m)
