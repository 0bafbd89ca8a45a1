"""The console entry point: usage errors are one line on stderr with exit code 2, never a traceback."""

import subprocess
import sys


def _qamtu(*args):
    code = "from qamtu.cli.app import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_unknown_option_is_one_line():
    out = _qamtu("pathloss", "--bogus", "1")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: No such option: --bogus")
    assert "Traceback" not in out.stderr


def test_unknown_command_is_one_line():
    out = _qamtu("no-such-command")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["Error: No such command 'no-such-command'. (see 'qamtu --help')"]


def test_no_arguments_prints_help():
    out = _qamtu()
    assert out.returncode == 0
    assert "pathloss" in out.stdout and "coverage" in out.stdout
