"""City names as users type them, `qamtu --version`, and `--json` that parses on the quick commands."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qamtu.cli.app import app
from qamtu.errors import InvalidInputError
from qamtu.geo.catalogue import get_city, load_cities
from qamtu.geo.names import suggestions


@pytest.mark.parametrize("name, cid", [
    ("almaty", "almaty"), ("ALMATY", "almaty"), ("Алматы", "almaty"), ("Alma-Ata", "almaty"),
    ("uralsk", "oral"), ("Уральск", "oral"), ("Орал", "oral"),
    ("Ust-Kamenogorsk", "oskemen"), ("Өскемен", "oskemen"), ("Усть-Каменогорск", "oskemen"),
    ("Kapchagay", "konaev"), ("Қонаев", "konaev"),
    ("Nur-Sultan", "astana"), ("Akmola", "astana"), ("Tselinograd", "astana"),
    ("Semipalatinsk", "semey"), ("Petropavlovsk", "petropavl"), ("  taraz ", "taraz"),
])
def test_city_names_in_three_languages_and_former_names(name, cid):
    assert get_city(name).id == cid


@pytest.mark.parametrize("typo, best", [("almty", "almaty"), ("uralks", "oral"), ("Карганда", "karaganda"),
                                        ("astna", "astana")])
def test_unknown_name_suggests_the_closest(typo, best):
    assert suggestions(typo, load_cities())[0] == best
    with pytest.raises(InvalidInputError, match=f"did you mean '{best}'"):
        get_city(typo)


def test_nonsense_name_lists_the_ids_without_a_guess():
    with pytest.raises(InvalidInputError) as err:
        get_city("zzzzqqq")
    assert "did you mean" not in str(err.value) and "astana" in str(err.value)


def test_version():
    from qamtu import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"qamtu {__version__}"


@pytest.mark.parametrize("args", [
    ["cities", "--json"],
    ["pathloss", "--scenario", "uma", "--condition", "los", "--freq-ghz", "3.5", "--h-bs", "25", "--h-ut", "1.5",
     "--d2d", "100,500", "--json"],
    ["datarate", "--bandwidth-mhz", "100", "--scs-khz", "30", "--layers", "2", "--modulation", "256qam", "--json"],
    ["antenna", "--pattern", "tr38901-element", "--theta-deg", "90", "--phi-deg", "0", "--json"],
])
def test_json_parses(args):
    """The quick commands; `national` and `schedule` are checked in tests/report/test_national_cli.py."""
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)


def _drive_csv(path, n=60):
    import numpy as np

    rng = np.random.default_rng(3)
    lines = ["time,lat,lon,operator,tech,rsrp_dbm,sinr_db,dl_mbps,ul_mbps"]
    for i in range(n):  # around Astana's centre (51.167 N, 71.433 E), every sample far above every norm
        lines.append(f"2024-03-01T10:{i % 60:02d}:00Z,{51.1667 + rng.normal(0, 0.01):.5f},"
                     f"{71.4333 + rng.normal(0, 0.01):.5f},OpA,5G,-90,15,400,30")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_audit_json_is_the_summary_on_stdout(tmp_path):
    drive = _drive_csv(tmp_path / "drive.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["audit", str(drive), "--city", "Астана", "--no-plots", "--n-boot", "100",
                                      "--out", str(out), "--json"])
    assert result.exit_code in (0, 3), result.output
    payload = json.loads(result.stdout)
    assert payload == json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert payload["rows_read"] == 60
    assert {k["city"] for k in payload["kpis"]} == {"astana"}  # the Russian name resolved to the id
    assert "MEASURED:" in result.stderr and "MEASURED:" not in result.stdout


def test_every_command_has_json_and_marks_what_it_requires():
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        opts = [o for p in command.params for o in p.opts]
        assert "--json" in opts, f"qamtu {name} has no --json"
    help_text = CliRunner().invoke(app, ["pathloss", "--help"], env={"COLUMNS": "200"}).stdout
    assert "(required) rma, uma, umi or inh" in help_text
