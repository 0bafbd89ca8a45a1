"""`qamtu pathloss | datarate | antenna` end to end with Typer's CliRunner: JSON parsed and compared with the
library; bad arguments give one line on stderr and exit code 2."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from qamtu.cli.app import app
from qamtu.radio import antenna, nr, pathloss

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, list(args))


def test_pathloss_json_matches_library():
    res = _run("pathloss", "--scenario", "uma", "--condition", "los", "--freq-ghz", "3.5", "--h-bs", "25",
               "--h-ut", "1.5", "--d2d", "200,500,600,1000", "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["d2d_m"] for r in rows] == [200.0, 500.0, 600.0, 1000.0]
    d = np.array([200.0, 500.0, 600.0, 1000.0])
    expected = pathloss.path_loss_db("uma", "los", 3.5e9, d, 25.0, 1.5)
    np.testing.assert_allclose([r["path_loss_db"] for r in rows], expected)
    np.testing.assert_allclose([r["d3d_m"] for r in rows], pathloss.d3d_m(d, 25.0, 1.5))
    # the published breakpoint behaviour shows through the CLI too (hand value in tests/reference)
    assert rows[2]["path_loss_db"] == pytest.approx(100.5465, abs=2e-3)


def test_pathloss_rma_options_and_table():
    res = _run("pathloss", "--scenario", "rma", "--condition", "nlos", "--freq-ghz", "3.5", "--h-bs", "35",
               "--h-ut", "1.5", "--d2d", "1000", "--h-building", "5", "--street-width", "20", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["path_loss_db"] == pytest.approx(130.4243, abs=2e-3)
    res = _run("pathloss", "--scenario", "umi", "--condition", "nlos", "--freq-ghz", "3.5", "--h-bs", "10",
               "--h-ut", "1.5", "--d2d", "100")
    assert res.exit_code == 0
    assert "104.64" in res.stdout and "d2D (m)" in res.stdout


def test_pathloss_uma_tall_ut_with_seed_is_reproducible():
    args = ("pathloss", "--scenario", "uma", "--condition", "los", "--freq-ghz", "3.5", "--h-bs", "25",
            "--h-ut", "20", "--d2d", "100,200,300", "--seed", "7", "--json")
    a, b = _run(*args), _run(*args)
    assert a.exit_code == 0 and a.stdout == b.stdout
    expected = pathloss.path_loss_db("uma", "los", 3.5e9, np.array([100.0, 200.0, 300.0]), 25.0, 20.0,
                                     rng=np.random.default_rng(7))
    np.testing.assert_allclose([r["path_loss_db"] for r in json.loads(a.stdout)], expected)


def test_datarate_json_is_the_ts38306_worked_rate():
    res = _run("datarate", "--bandwidth-mhz", "100", "--scs-khz", "30", "--layers", "4", "--modulation", "256qam",
               "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["rate_mbps"] == pytest.approx(2337.00012, abs=1e-6)
    assert out["rate_mbps"] == nr.peak_data_rate_mbps(100e6, 30e3, 4, "256qam")
    assert out["n_prb"] == nr.n_prb(100e6, 30e3) == 273
    res = _run("datarate", "--bandwidth-mhz", "100", "--scs-khz", "30", "--layers", "1", "--modulation", "256qam",
               "--direction", "ul")
    assert res.exit_code == 0
    assert "625.0 Mbit/s" in res.stdout


@pytest.mark.parametrize(
    "pattern, theta, phi, tilt, expected",
    [
        ("tr38901-element", 90.0, 32.5, None, 5.0),  # Table 7.3-1: 3 dB point
        ("tr38901-element", 100.0, 0.0, 10.0, 8.0),  # mechanically tilted 10 deg: the UT is on boresight
        ("tr36814-sector", 96.0, 35.0, 6.0, 14.0),  # 36.814: horizontal 3 dB point at the tilt
    ],
)
def test_antenna_json(pattern, theta, phi, tilt, expected):
    args = ["antenna", "--pattern", pattern, "--theta-deg", str(theta), "--phi-deg", str(phi), "--json"]
    if tilt is not None:
        args += ["--tilt-deg", str(tilt)]
    res = _run(*args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["gain_dbi"] == pytest.approx(expected, abs=1e-9)


def test_antenna_panel_beams_match_library():
    panel = antenna.get_antenna("nr-64t64r")
    for beam, fn in (("ssb", panel.ssb_gain_dbi), ("traffic", panel.traffic_gain_dbi),
                     ("interference", panel.interference_gain_dbi)):
        res = _run("antenna", "--pattern", "nr-64t64r", "--theta-deg", "98", "--phi-deg", "20", "--beam", beam,
                   "--json")
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        assert out["beam"] == beam
        assert out["gain_dbi"] == pytest.approx(fn(98.0, 20.0))


@pytest.mark.parametrize(
    "args, message",
    [
        (["pathloss", "--scenario", "uma", "--condition", "los", "--freq-ghz", "abc", "--h-bs", "25", "--h-ut",
          "1.5", "--d2d", "100"], "--freq-ghz must be a number, got 'abc'"),
        (["pathloss", "--scenario", "uma", "--condition", "los", "--freq-ghz", "200", "--h-bs", "25", "--h-ut",
          "1.5", "--d2d", "100"], "freq_hz = 2e+11 Hz is outside the valid range for UMa: [0.5, 100] GHz"),
        (["pathloss", "--scenario", "uma", "--condition", "los", "--freq-ghz", "3.5", "--h-bs", "25", "--h-ut",
          "1.5", "--d2d", "100,0"], "d2d_m = 0 m"),
        (["pathloss", "--scenario", "uma", "--condition", "los", "--freq-ghz", "3.5", "--h-bs", "25", "--h-ut",
          "1.5", "--d2d", "nan"], "--d2d must be a number"),
        (["pathloss", "--scenario", "uma", "--condition", "los", "--freq-ghz", "3.5", "--h-bs", "25", "--h-ut",
          "40", "--d2d", "100"], "h_ut_m = 40 m is outside the valid range for UMa"),
        (["pathloss", "--scenario", "uma", "--condition", "los", "--freq-ghz", "3.5", "--h-bs", "25", "--h-ut",
          "15", "--d2d", "100"], "give --seed N or --h-e M"),
        (["pathloss", "--scenario", "sma"], "--scenario must be one of rma, uma, umi, inh"),
        (["pathloss", "--scenario", "uma", "--condition", "los"], "missing option --freq-ghz"),
        (["pathloss", "--scenario", "uma", "--condition", "los", "--freq-ghz", "3.5", "--h-bs", "25", "--h-ut",
          "1.5", "--d2d", "100", "--street-width", "10"], "apply to --scenario rma only"),
        (["datarate", "--bandwidth-mhz", "33", "--scs-khz", "30", "--layers", "4", "--modulation", "256qam"],
         "is not a channel bandwidth"),
        (["datarate", "--bandwidth-mhz", "100", "--scs-khz", "30", "--layers", "2.5", "--modulation", "256qam"],
         "--layers must be a whole number"),
        (["datarate", "--bandwidth-mhz", "100", "--scs-khz", "30", "--layers", "4", "--modulation", "1024qam"],
         "--modulation must be one of"),
        (["antenna", "--pattern", "dipole", "--theta-deg", "90", "--phi-deg", "0"], "--pattern must be one of"),
        (["antenna", "--pattern", "tr38901-element", "--theta-deg", "200", "--phi-deg", "0"], "[0, 180] deg"),
        (["antenna", "--pattern", "tr36814-sector", "--theta-deg", "90", "--phi-deg", "0", "--beam", "ssb"],
         "--beam applies to --pattern nr-64t64r only"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args, message):
    res = _run(*args)
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("Error: ")
    assert message in lines[0]
    assert "Traceback" not in res.output


@pytest.mark.parametrize("command", ["pathloss", "datarate", "antenna"])
def test_help(command):
    res = _run(command, "--help")
    assert res.exit_code == 0
    assert "--json" in res.stdout
