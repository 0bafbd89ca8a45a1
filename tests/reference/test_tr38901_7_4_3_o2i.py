"""3GPP TR 38.901 V17.0.0 clause 7.4.3: O2I building penetration (Tables 7.4.3-1, 7.4.3-2) and car penetration.

Hand-worked at f = 3.5 GHz. Materials (Table 7.4.3-1): L_glass = 2 + 0.2 f = 2.7 dB; L_IRRglass = 23 + 0.3 f =
24.05 dB (the formula qamtu adopts, see qamtu.radio.o2i); L_concrete = 5 + 4 f = 19 dB. Tolerance 1e-4 dB.
"""

import numpy as np
import pytest

from qamtu.radio import o2i


def test_low_loss_wall():
    # PL_tw = 5 - 10 log10(0.3 * 10^(-2.7/10) + 0.7 * 10^(-19/10)) = 5 - 10 log10(0.16110954 + 0.00881248)
    #       = 5 - 10 log10(0.16992202) = 5 + 7.69750 = 12.69750 dB
    assert o2i.wall_loss_db(3.5e9, "low") == pytest.approx(12.69750, abs=1e-4)


def test_high_loss_wall():
    # PL_tw = 5 - 10 log10(0.7 * 10^(-24.05/10) + 0.3 * 10^(-19/10)) = 5 - 10 log10(0.00275485 + 0.00377678)
    #       = 5 - 10 log10(0.00653163) = 5 + 21.84979 = 26.84979 dB
    assert o2i.wall_loss_db(3.5e9, "high") == pytest.approx(26.84979, abs=1e-4)


def test_indoor_distance_term_and_mean():
    # PL_in = 0.5 d2D-in: 10 m adds 5 dB
    assert o2i.o2i_loss_db(3.5e9, "low", 10.0) == pytest.approx(17.69750, abs=1e-4)
    # d2D-in = min(U(0,25), U(0,25)) has mean 25/3 m -> PL_in = 4.16667 dB (UMa/UMi)
    assert o2i.mean_o2i_loss_db(3.5e9, "high", "uma") == pytest.approx(26.84979 + 25 / 6, abs=1e-4)
    # RMa: U(0, 10) -> mean 10/3 m -> 1.66667 dB
    assert o2i.mean_o2i_loss_db(3.5e9, "low", "rma") == pytest.approx(12.69750 + 10 / 6, abs=1e-4)


def test_std_and_car():
    # Table 7.4.3-2: sigma_P = 4.4 dB (low), 6.5 dB (high); 7.4.3.2: car mu = 9 dB, sigma = 5 dB
    assert o2i.o2i_std_db("low") == 4.4
    assert o2i.o2i_std_db("high") == 6.5
    assert (o2i.CAR_LOSS_DB, o2i.CAR_STD_DB) == (9.0, 5.0)


def test_monte_carlo_draw_matches_mean_and_spread():
    # Statistical check with a fixed seed: mean of the draws = PL_tw + 0.5 * 25/3, and
    # var = sigma_P^2 + 0.25 var(d2D-in), var(min of two U(0, D)) = D^2/18 -> 6.5^2 + 0.25 * 625/18 = 50.93 dB^2.
    rng = np.random.default_rng(7)
    x = o2i.draw_o2i_loss_db(3.5e9, "high", 40000, rng, "uma")
    sem = np.sqrt(50.93 / x.size)
    assert abs(x.mean() - (26.84979 + 25 / 6)) < 5 * sem
    assert x.var() == pytest.approx(50.93, rel=0.05)
