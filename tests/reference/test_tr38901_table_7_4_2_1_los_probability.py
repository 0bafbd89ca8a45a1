"""3GPP TR 38.901 V17.0.0 Table 7.4.2-1 (LOS probability), hand-worked.

Source: 3GPP TR 38.901 V17.0.0 (2022-03), clause 7.4.2, Table 7.4.2-1 (d = d2D-out in metres). Tolerance 1e-6:
the expressions are closed-form and the hand values carry 8+ digits.
"""

import math

import numpy as np
import pytest

from qamtu.radio import pathloss


@pytest.mark.parametrize(
    "scenario, d, h_ut, expected",
    [
        # RMa: 1 for d <= 10 m; exp(-(d - 10)/1000): at 1010 m exp(-1) = 0.36787944
        ("rma", 10.0, 1.5, 1.0),
        ("rma", 1010.0, 1.5, 0.36787944),
        # UMi: 1 for d <= 18 m; 18/d + exp(-d/36)(1 - 18/d): at 100 m 0.18 + 0.06217652 * 0.82 = 0.23098475
        ("umi", 18.0, 1.5, 1.0),
        ("umi", 100.0, 1.5, 0.23098475),
        # UMa, hUT <= 13 m (C' = 0): 18/d + exp(-d/63)(1 - 18/d): at 100 m 0.18 + 0.20447663 * 0.82 = 0.34767084
        ("uma", 100.0, 1.5, 0.34767084),
        # UMa, hUT = 22.5 m: C' = ((22.5 - 13)/10)^1.5 = 0.92594546; at 200 m
        # [0.09 + exp(-200/63) * 0.91] * [1 + 0.92594546 * 1.25 * 2^3 * exp(-4/3)]
        #   = 0.12804773 * 3.44076573 = 0.44058224
        ("uma", 200.0, 22.5, 0.44058224),
        # InH-Office (mixed): 1 for d <= 1.2; exp(-(d - 1.2)/4.7) for 1.2 < d < 6.5: at 4 m exp(-2.8/4.7) = 0.55115198
        ("inh", 1.2, 1.0, 1.0),
        ("inh", 4.0, 1.0, 0.55115198),
        # d >= 6.5: 0.32 exp(-(d - 6.5)/32.6): at 20 m 0.32 * exp(-13.5/32.6) = 0.21149695
        ("inh", 20.0, 1.0, 0.21149695),
    ],
)
def test_los_probability(scenario, d, h_ut, expected):
    assert pathloss.los_probability(scenario, d, h_ut) == pytest.approx(expected, abs=1e-6)


def test_uma_effective_height_rule_statistics():
    """TR 38.901 Table 7.4.1-1 note 1: hE = 1 m with probability 1/(1 + C(d2D, hUT)), else U{12, 15, ..., hUT-1.5}.

    At d2D = 200 m, hUT = 22.5 m: g = 1.25 * 2^3 * exp(-200/150) = 2.63597, C = 0.92594546 * g = 2.44077,
    P(hE = 1) = 1/3.44077 = 0.29063; the other draws are uniform over {12, 15, 18, 21}. Checked statistically with
    a fixed seed: the count of hE = 1 within 4.5 binomial standard deviations, and a chi-square test (p > 1e-4) that
    the four heights are equally likely.
    """
    from scipy import stats

    n = 20000
    rng = np.random.default_rng(20260101)
    h_e = pathloss.uma_effective_environment_height_m(np.full(n, 200.0), 22.5, rng)
    p1 = 1.0 / (1.0 + 0.92594546 * 1.25 * 8.0 * math.exp(-200.0 / 150.0))
    assert p1 == pytest.approx(0.29063, abs=1e-5)
    k = np.count_nonzero(h_e == 1.0)
    assert abs(k - n * p1) < 4.5 * math.sqrt(n * p1 * (1 - p1))
    others = h_e[h_e != 1.0]
    values, counts = np.unique(others, return_counts=True)
    np.testing.assert_array_equal(values, [12.0, 15.0, 18.0, 21.0])
    assert stats.chisquare(counts).pvalue > 1e-4


def test_uma_effective_height_deterministic_below_13m():
    # hUT < 13 m: C = 0, hE = 1 m without any random draw (no rng needed)
    h_e = pathloss.uma_effective_environment_height_m(np.array([20.0, 200.0, 2000.0]), 12.9)
    np.testing.assert_array_equal(h_e, 1.0)
