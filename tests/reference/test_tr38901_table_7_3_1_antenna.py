"""Antenna patterns: TR 38.901 Table 7.3-1 element, TR 36.814 Table A.2.1.1-2 sector, vertical array factor,
and the TR 38.901 eq. 7.1-7 global-to-local rotation.

Sources: 3GPP TR 38.901 V17.0.0 clause 7.1 (eq. 7.1-1 to 7.1-7) and Table 7.3-1; 3GPP TR 36.814 V9.2.0 Table
A.2.1.1-2; TR 38.901 Table 7.8-1 (10 x 1 calibration array, 102 deg steering). Tolerances 1e-9 dB for closed forms.
"""

import numpy as np
import pytest

from qamtu.radio import antenna


@pytest.mark.parametrize(
    "theta, phi, expected",
    [
        (90.0, 0.0, 8.0),  # boresight: maximum element gain 8 dBi
        (90.0, 32.5, 5.0),  # A_H = -12 (32.5/65)^2 = -3 dB: the horizontal 3 dB point of the 65 deg HPBW
        (90.0, -32.5, 5.0),
        (122.5, 0.0, 5.0),  # A_V = -12 ((122.5 - 90)/65)^2 = -3 dB
        (57.5, 0.0, 5.0),
        (122.5, 32.5, 2.0),  # A = -min(-(-3 - 3), 30) = -6 dB
        (90.0, 180.0, -22.0),  # A_H = -min(12 (180/65)^2 = 92, 30) = -30 -> 8 - 30
        (0.0, 0.0, 8.0 - 12.0 * (90.0 / 65.0) ** 2),  # A_V = -23.0059 (below SLA_V = 30)
        (180.0, 180.0, -22.0),  # -(A_V + A_H) = 53 capped at 30
    ],
)
def test_element_pattern_table_7_3_1(theta, phi, expected):
    assert antenna.element_gain_dbi(theta, phi) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    "theta, phi, tilt, expected",
    [
        (96.0, 0.0, 6.0, 17.0),  # beam peak at theta = 90 + tilt: 17 dBi (max_gain_dbi default)
        (96.0, 35.0, 6.0, 14.0),  # horizontal HPBW 70 deg: -12 (35/70)^2 = -3 dB
        (101.0, 0.0, 6.0, 14.0),  # vertical HPBW 10 deg: -12 (5/10)^2 = -3 dB
        (96.0, 180.0, 6.0, -8.0),  # front-to-back ratio 25 dB
        (150.0, 0.0, 6.0, -3.0),  # side-lobe level 20 dB
        (0.0, 180.0, 6.0, -8.0),  # -(A_H + A_V) = 45 capped at A_m = 25
    ],
)
def test_sector_pattern_36814(theta, phi, tilt, expected):
    assert antenna.sector_36814_gain_dbi(theta, phi, tilt) == pytest.approx(expected, abs=1e-9)


def test_vertical_array_factor_hand_values():
    # 2 elements, 0.5 lambda, no tilt: psi = pi cos(theta); G = sin^2(psi)/(2 sin^2(psi/2))
    # theta = 90: N = 2 -> 3.0103 dB; theta = 60: psi = pi/2 -> 1 / (2 * 0.5) = 1 -> 0 dB; theta = 0: null (floor)
    assert antenna.vertical_array_gain_db(90.0, 2, 0.0) == pytest.approx(10 * np.log10(2), abs=1e-9)
    assert antenna.vertical_array_gain_db(60.0, 2, 0.0) == pytest.approx(0.0, abs=1e-9)
    assert antenna.vertical_array_gain_db(0.0, 2, 0.0) == pytest.approx(-60.0)
    # steering: 10 elements steered to 12 deg down-tilt add 10 log10(10) = 10 dB at theta = 102
    assert antenna.vertical_array_gain_db(102.0, 10, 12.0) == pytest.approx(10.0, abs=1e-9)


def test_calibration_10x1_array():
    # TR 38.901 Table 7.8-1 BS antenna: 10 x 1, 0.5 lambda, steered to 102 deg. At theta = 102, phi = 0:
    # element 8 - 12 (12/65)^2 = 8 - 0.40899 = 7.59101 dBi, plus 10 dB array gain = 17.59101 dBi
    ant = antenna.get_antenna("tr38901-10x1")
    assert ant.gain_dbi(102.0, 0.0) == pytest.approx(17.59101, abs=1e-5)
    # The array gain peaks at 102 deg: it is lower 3 deg either side
    assert ant.gain_dbi(np.array([99.0, 105.0]), 0.0).max() < 17.59101


def _rotate_explicit(bearing, zenith, azimuth, tilt):
    """TR 38.901 eq. 7.1-1..7.1-4: local unit vector = R^T * global, R = Rz(alpha) Ry(beta) Rx(0)."""
    phi = np.radians(90.0 - bearing)
    th = np.radians(zenith)
    a = np.radians(90.0 - azimuth)
    b = np.radians(tilt)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rho = np.array([np.sin(th) * np.cos(phi), np.sin(th) * np.sin(phi), np.cos(th)])
    loc = (rz @ ry).T @ rho
    return np.degrees(np.arccos(loc[2])), np.degrees(np.arctan2(loc[1], loc[0]))


@pytest.mark.parametrize(
    "bearing, zenith, azimuth, tilt",
    [(30.0, 100.0, 30.0, 10.0), (75.0, 95.0, 30.0, 6.0), (250.0, 120.0, 270.0, 3.0), (10.0, 60.0, 350.0, 12.0)],
)
def test_local_angles_match_rotation_matrices(bearing, zenith, azimuth, tilt):
    theta_l, phi_l = antenna.local_angles(bearing, zenith, azimuth, tilt)
    theta_x, phi_x = _rotate_explicit(bearing, zenith, azimuth, tilt)
    assert theta_l == pytest.approx(theta_x, abs=1e-9)
    assert phi_l == pytest.approx(phi_x, abs=1e-9)


def test_local_angles_simple_cases():
    # A UT 10 deg below the horizon along the boresight of an antenna tilted down 10 deg is on its boresight.
    assert antenna.local_angles(30.0, 100.0, 30.0, 10.0) == pytest.approx((90.0, 0.0), abs=1e-9)
    # 90 deg clockwise of boresight (bearing + 90) on the horizon is phi' = -90 (TR 38.901 phi is counter-clockwise)
    assert antenna.local_angles(120.0, 90.0, 30.0, 0.0) == pytest.approx((90.0, -90.0), abs=1e-9)
    # zenith angle of a UT 1.5 m high, 100 m from a 25 m mast: 90 + atan(0.235) = 90 + 13.22455 = 103.22455 deg
    assert antenna.zenith_angle_deg(100.0, 25.0, 1.5) == pytest.approx(103.22455, abs=1e-5)
    assert antenna.bearing_deg(1.0, 0.0) == pytest.approx(90.0)
