"""Issue 15: the CLI under hostile or careless use: named errors (exit 2, one line), interrupts, kills, records.

Each case here was a traceback, a hang or a lie before: a YAML alias bomb, a tiny build rate, a boundary with an
unclosed ring or a NaN, a folder or a UTF-16/Latin-1/binary file where a file is expected, ``--out`` an existing
file, ``calibrate-3gpp --seed -1``, SIGINT, a kill while the report is written, overrides missing from the record.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qamtu.cli.app import app

runner = CliRunner()


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


# --- scenario files ---

BOMB = textwrap.dedent("""\
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    name: *i
    """)


def test_yaml_alias_bomb_is_refused_cheaply(tmp_path):
    # 9^9 = 387 M strings once expanded; before the fix the validator formatted it (6 GB, 55 s). Run in a child
    # with 2 s of CPU and 512 MB of address space: it must be refused well inside both, with a named error.
    assert len(BOMB) < 800
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    code = textwrap.dedent(f"""
        import resource, tracemalloc
        resource.setrlimit(resource.RLIMIT_CPU, (2, 2))
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from qamtu.chain.scenario import load_scenario
        from qamtu.errors import DataFileError
        tracemalloc.start()
        try:
            load_scenario({str(path)!r})
        except DataFileError as exc:
            print("refused:", exc)
        print("peak_bytes", tracemalloc.get_traced_memory()[1])
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # 73 aliases: under the alias limit, so the expanded-size guard refuses it (its walk stops at 100,000 values)
    assert "refused:" in out.stdout and "more than 100000 values (aliases expanded)" in out.stdout
    peak = int(out.stdout.split("peak_bytes")[1])
    assert peak < 4 * 1024 * 1024
    result = runner.invoke(app, ["schedule", "--scenario", str(path)])
    assert "values (aliases expanded)" in _one_line_error(result)
    many = tmp_path / "many.yaml"  # many cheap aliases: refused while parsing, before anything is built
    many.write_text("x: &x 1\nname: [" + ", ".join(["*x"] * 101) + "]\n", encoding="utf-8")
    assert "line 2: more than 100 YAML aliases" in _one_line_error(runner.invoke(app, ["schedule", "--scenario",
                                                                                        str(many)]))


def test_moderate_aliases_are_still_read(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("lead_times_months:\n  default: &lt {permits: 2, power: 1, backhaul: 1}\n"
                    "  by_class: {macro: *lt, small: *lt}\n", encoding="utf-8")
    from qamtu.chain.scenario import load_scenario

    assert load_scenario(path).lead_time_months("small") == 3


def test_a_huge_value_is_never_formatted_into_the_message(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: [" + ",".join(["x" * 50] * 20000) + "]\n", encoding="utf-8")
    line = _one_line_error(runner.invoke(app, ["schedule", "--scenario", str(path)]))
    assert "key 'name' = <list of 20000 items>" in line and len(line) < 400


@pytest.mark.parametrize("kind, data, match", [
    ("utf16", "name: Астана\n".encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
    ("latin1", "name: Almaty caf\xe9\n".encode("latin-1"), r"is not UTF-8 text \(byte 0xe9 on line 1"),
    ("binary", bytes(range(256)) * 4, "is a binary file"),
])
def test_scenario_in_another_encoding_is_a_named_error(tmp_path, kind, data, match):
    import re

    path = tmp_path / f"{kind}.yaml"
    path.write_bytes(data)
    assert re.search(match, _one_line_error(runner.invoke(app, ["schedule", "--scenario", str(path)])))


def test_scenario_that_is_a_folder(tmp_path):
    (tmp_path / "s.yaml").mkdir()
    assert "is a folder, not a file" in _one_line_error(
        runner.invoke(app, ["national", "--scenario", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o")]))


def test_tiny_build_rate_is_refused_before_any_search(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("crews: {sites_per_crew_month: 0.000001}\n", encoding="utf-8")
    line = _one_line_error(runner.invoke(app, ["schedule", "--scenario", str(path)]))
    assert "'crews.sites_per_crew_month' = 1e-06 is not allowed; expected a number >= 0.01" in line
    line = _one_line_error(runner.invoke(app, ["schedule", "--sites-per-crew-month", "0.000001"]))
    assert "sites_per_crew_month" in line and "--sites-per-crew-month 1e-06" in line


# --- the record: every command-line override lands in scenario.yaml ---


def test_overrides_land_in_the_resolved_scenario(tmp_path, monkeypatch):
    from qamtu.report.records import NationalReport
    from qamtu.chain.scenario import load_scenario

    seen = {}

    def fake_run(sc, **kwargs):
        seen["scenario"] = sc
        return NationalReport(cities=[], start=sc["start"], deadline=sc["deadline"],
                              comparison_deadline=sc["comparison_deadline"], months=[], comparison=[]), {}

    monkeypatch.setattr("qamtu.chain.national.run_national", fake_run)
    out = tmp_path / "out"
    result = runner.invoke(app, ["schedule", "--out", str(out), "--deadline", "2027-06-30", "--cities",
                                 "taraz,aktau", "--resolution-m", "400", "--crews", "7",
                                 "--sites-per-crew-month", "2.5", "--monthly-budget", "12", "--search", "none",
                                 "--priority", "city-by-city"])
    assert result.exit_code == 0, result.output
    text = (out / "scenario.yaml").read_text(encoding="utf-8")
    assert "--deadline 2027-06-30" in text.splitlines()[0]  # the header names the options
    again = load_scenario(out / "scenario.yaml")
    assert again["deadline"].isoformat() == "2027-06-30"
    assert again["cities"]["ids"] == ["taraz", "aktau"]
    assert again["planning"]["resolution_m"] == 400.0
    assert again["crews"]["count"] == 7 and again["crews"]["sites_per_crew_month"] == 2.5
    assert again["budget"]["monthly"] == 12.0 and again["search"]["resource"] == "none"
    assert again["priority"] == "city-by-city"
    assert again.resolved() == seen["scenario"].resolved()  # the record is what the run used
    assert oct(os.stat(out / "scenario.yaml").st_mode & 0o777) != oct(0o600)


# --- output folders ---


def test_out_that_is_an_existing_file(tmp_path):
    f = tmp_path / "report.html"
    f.write_text("x")
    line = _one_line_error(runner.invoke(app, ["schedule", "--out", str(f)]))
    assert "is an existing file" in line
    line = _one_line_error(runner.invoke(app, ["coverage", "--city", "taraz", "--sites", "s.csv", "--out", str(f)]))
    assert "is an existing file" in line and f.read_text() == "x"


def test_read_only_out_fails_before_the_run():
    ro = Path("/sys/fs/qamtu-out")
    if os.access("/sys/fs", os.W_OK) and not _sys_is_read_only():
        pytest.skip("/sys/fs is writable here")
    line = _one_line_error(runner.invoke(app, ["schedule", "--out", str(ro)]))
    assert line.startswith(f"Error: cannot write output {ro}: ")


def _sys_is_read_only() -> bool:
    try:
        os.mkdir("/sys/fs/qamtu-probe")
    except OSError:
        return True
    os.rmdir("/sys/fs/qamtu-probe")
    return False


def test_disk_full_while_writing_keeps_the_old_folder(tmp_path, monkeypatch):
    import errno

    from qamtu import fileio
    from qamtu.report.records import NationalReport

    def fake_run(sc, **kwargs):
        return NationalReport(cities=[], start=sc["start"], deadline=sc["deadline"],
                              comparison_deadline=sc["comparison_deadline"], months=[], comparison=[]), {}

    monkeypatch.setattr("qamtu.chain.national.run_national", fake_run)
    out = tmp_path / "out"
    assert runner.invoke(app, ["schedule", "--out", str(out)]).exit_code == 0
    before = _digest(out)
    real = fileio.os.replace

    def full(src, dst):
        if str(dst).endswith("summary.json"):
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", full)
    line = _one_line_error(runner.invoke(app, ["schedule", "--out", str(out), "--deadline", "2027-01-01"]))
    assert "summary.json: No space left on device (the disk is full)" in line
    assert _digest(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_calibrate_3gpp_negative_seed():
    line = _one_line_error(runner.invoke(app, ["calibrate-3gpp", "--seed", "-1"]))
    assert line == "Error: --seed must be an integer from 0 to 4294967295, got -1"


# --- boundaries ---

RING = [[71.3, 42.85], [71.45, 42.85], [71.45, 42.95], [71.3, 42.95]]


def _fc(coords) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [coords]}}]})


@pytest.mark.parametrize("name, text, match", [
    ("unclosed.geojson", _fc(RING), "not form a closed linestring"),
    ("nan.geojson", _fc(RING + [RING[0]]).replace("42.95]", "NaN]", 1), "row 1, field 'geometry': a coordinate is NaN"),
    ("folder", None, "is a folder; give the boundary file"),
])
def test_broken_boundaries_are_named_errors(tmp_path, name, text, match):
    p = tmp_path / name
    if text is None:
        p.mkdir()
    else:
        p.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["coverage", "--city", "taraz", "--sites", str(tmp_path / "s.csv"), "--out",
                                 str(tmp_path / "out"), "--boundary", str(p), "--resolution-m", "500"])
    assert match in _one_line_error(result)
    assert not (tmp_path / "out").exists()


# --- signals and kills (the console entry point in a child process) ---

#: The national run with planning stubbed (a one-city report built without the engine, its deadline from the
#: scenario): the CLI, the output folder, the signals and the whole report phase are real.
STUB_RUN = """
import datetime as dt
import qamtu.chain.national as r
from qamtu.report.records import CityReport, NationalReport
def run_national(sc, **kwargs):
    rows = [{"site_id": f"A-{i}", "lat": 43.65 + 0.01 * i, "lon": 51.17, "x_m": 0.0, "y_m": 0.0, "cost": 1.0,
             "order": i, "on_air_month": "2024-05", "explanation": "adds people"} for i in range(3)]
    city = CityReport(id="aktau", names={"en": "Aktau"}, lat=43.65, lon=51.17, population=2.6e5, site_rows=rows,
                      cost=3.0, territory_share=0.5, population_share=0.6, dl_p5_mbps=20.0, gate_label="2024-05",
                      status="on_time", passes_at_end=True,
                      targets={"territory_share": 0.6, "population_share": None, "dl_p5_mbps": None},
                      timeline=[("2024-05", 1.5e5)])
    months = [f"{2024 + m // 12}-{m % 12 + 1:02d}" for m in range(48)]
    return NationalReport(cities=[city], start=sc["start"], deadline=sc["deadline"],
                          comparison_deadline=sc["comparison_deadline"], months=months, comparison=[]), {}
r.run_national = run_national
"""


def _run_main(args: list[str], patch: str = "", timeout: float = 300) -> subprocess.CompletedProcess:
    code = patch + "\nfrom qamtu.cli.app import main\nimport sys\nsys.argv = ['qamtu'] + " + repr(args) + "\nmain()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_sigint_prints_one_line_and_exits_130(tmp_path):
    patch = ("import os, signal, qamtu.chain.national as r\n"
             "def stop(*a, **k):\n    os.kill(os.getpid(), signal.SIGINT)\n"
             "r.run_national = stop\n")
    out = _run_main(["schedule", "--out", str(tmp_path / "o")], patch)
    assert out.returncode == 130, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert lines == ["Interrupted (SIGINT): stopped; earlier output folders are unchanged"]
    assert not (tmp_path / "o").exists()


def test_kill_during_the_report_phase_leaves_a_consistent_folder(tmp_path):
    out = tmp_path / "report"
    args = ["national", "--out", str(out)]
    first = _run_main(args, STUB_RUN)
    assert first.returncode == 0, first.stderr
    before = _digest(out)
    assert "index.html" in before and "cities/aktau/map.html" in before
    args += ["--deadline", "2027-06-30"]  # the runs killed below would write a different summary.json

    # die while the city's page is written: after the new summary.json and data/ were written
    def killer(sig: str) -> str:
        return STUB_RUN + ("import os, signal, qamtu.report.national as n\n"
                "orig = n._write_city\ncount = [0]\n"
                "def write_city(c, folder, *a, **k):\n"
                "    count[0] += 1\n"
                "    if count[0] == 1:\n"
                "        (folder / 'half.html').parent.mkdir(parents=True, exist_ok=True)\n"
                "        (folder / 'half.html').write_text('half')\n"
                f"        os.kill(os.getpid(), signal.{sig})\n"
                "    return orig(c, folder, *a, **k)\n"
                "n._write_city = write_city\n")

    killed = _run_main(args, killer("SIGKILL"))
    assert killed.returncode == -signal.SIGKILL
    assert _digest(out) == before  # the complete old report, untouched
    stale = [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")]
    assert len(stale) == 1  # SIGKILL cannot clean up: the next run does

    termed = _run_main(args, killer("SIGTERM"))
    assert termed.returncode == 143
    assert [ln for ln in termed.stderr.splitlines() if ln.startswith("Interrupted")] == [
        "Interrupted (SIGTERM): stopped; earlier output folders are unchanged"]
    assert _digest(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []  # both temporaries gone
