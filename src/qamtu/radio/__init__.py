"""qamtu.radio: the radio physics as pure, vectorised NumPy functions (no I/O, no grids, no geography).

Every function takes scalars or arrays (broadcast with NumPy rules; a float comes back for scalar input), uses SI
units named in its arguments (Hz, metres, degrees, dB/dBm), cites its source in a References section and checks
its inputs against the model's validity range, raising :class:`qamtu.errors.OutOfRangeError` with the parameter,
the bad value and the allowed range. Hot loops that validated upstream pass ``validate=False`` where offered.

Modules and public API
----------------------
``qamtu.radio.pathloss`` (3GPP TR 38.901 V17.0.0 7.4; ITU-R P.525-4)
    ``fspl_db(freq_hz, distance_m)``; ``d3d_m(d2d_m, h_bs_m, h_ut_m)``;
    ``path_loss_db(scenario, condition, freq_hz, d2d_m, h_bs_m, h_ut_m, *, h_building_m=5, street_width_m=20,
    h_e_m=None, rng=None, validate=True)`` with scenario in ``SCENARIOS = ("rma", "uma", "umi", "inh")`` and
    condition in ``("los", "nlos")``; ``breakpoint_distance_m(scenario, freq_hz, h_bs_m, h_ut_m, *, h_e_m=1)``;
    ``uma_effective_environment_height_m(d2d_m, h_ut_m, rng=None)``;
    ``shadow_fading_std_db(scenario, condition, d2d_m=None, *, freq_hz, h_bs_m, h_ut_m)``;
    ``los_probability(scenario, d2d_m, h_ut_m=1.5, *, validate=True)``;
    ``mean_path_gain_db(scenario, freq_hz, d2d_m, h_bs_m, h_ut_m, *, los_prob=None, include_shadowing_mean=False,
    ...)`` (LOS-weighted linear mean; the shadowing mean term is off by default, see its docstring);
    ``coverage_probability(threshold_dbm, prx_los_dbm, prx_nlos_dbm, p_los, sigma_los_db, sigma_nlos_db, *,
    extra_sigma_db=0)``; ``shadowing_mean_gain_db(sigma_db)``; ``VALIDITY`` (ranges per scenario).
``qamtu.radio.o2i`` (TR 38.901 7.4.3)
    ``o2i_loss_db(freq_hz, model, d2d_in_m)`` (model "low"/"high"; IRR glass = 23 + 0.3 f),
    ``wall_loss_db(freq_hz, model)``, ``o2i_std_db(model)`` (also "car"), ``mean_o2i_loss_db(freq_hz, model,
    scenario="uma")`` (mean over d2D-in), ``draw_o2i_loss_db(freq_hz, model, size, rng, scenario)``,
    ``CAR_LOSS_DB = 9``, ``CAR_STD_DB = 5``.
``qamtu.radio.antenna`` (TR 38.901 7.1/7.3; TR 36.814 A.2.1.1)
    Angles: zenith theta (0 up, 90 horizon), local azimuth phi from boresight (counter-clockwise positive), tilts
    positive downward. ``element_gain_dbi(theta_deg, phi_deg)``; ``vertical_array_gain_db(theta_deg, n_elements,
    tilt_deg, spacing_wavelengths=0.5)``; ``sector_36814_gain_dbi(theta_deg, phi_deg, tilt_deg)``;
    ``zenith_angle_deg(d2d_m, h_bs_m, h_ut_m)``; ``bearing_deg(dx_east_m, dy_north_m)``;
    ``local_angles(bearing_to_ut_deg, zenith_to_ut_deg, sector_azimuth_deg, mechanical_tilt_deg=0)`` ->
    (theta_local, phi_local); antenna models with ``ssb_gain_dbi``, ``traffic_gain_dbi``,
    ``interference_gain_dbi`` and ``max_gain_dbi``: ``MassiveMimoPanel`` (n78 64T64R), ``ElementAntenna``,
    ``Sector36814Antenna``, ``VerticalArrayAntenna``; ``get_antenna(name="nr-64t64r", **params)`` with names
    "nr-64t64r", "tr38901-element", "tr36814-sector", "tr38901-10x1". The engine should use ``ssb_gain_dbi`` for
    SS-RSRP and best server, ``traffic_gain_dbi`` for the serving signal in SINR and ``interference_gain_dbi``
    (times the neighbour's load) for interferers.
``qamtu.radio.nr`` (TS 38.101-1, 38.214, 38.215, 38.306)
    ``thermal_noise_dbm(bandwidth_hz, noise_figure_db)``; ``n_prb(bandwidth_hz, scs_hz)``;
    ``ss_rsrp_dbm(tx_power_dbm, n_subcarriers, gain_db)``; ``CQI_TABLE_1``, ``CQI_TABLE_2``;
    ``sinr_to_cqi(sinr_db, table=2, gap_db=3.0)`` (Shannon-gap mapping, a parameter); ``cqi_to_efficiency``;
    ``spectral_efficiency(sinr_db, table=2, gap_db=3.0)``; ``peak_data_rate_mbps(bandwidth_hz, scs_hz, layers,
    modulation, *, direction="dl", scaling=1, frequency_range="fr1")``; ``throughput_mbps(sinr_db, bandwidth_hz,
    layers, tdd_share, load, *, scs_hz=30e3, direction="dl", table=2, gap_db=3.0)`` (processor-sharing load:
    a user gets C (1 - load)).
"""

from qamtu.radio import antenna, nr, o2i, pathloss  # noqa: F401
from qamtu.radio.antenna import get_antenna  # noqa: F401
from qamtu.radio.pathloss import coverage_probability, los_probability, mean_path_gain_db, path_loss_db  # noqa: F401
