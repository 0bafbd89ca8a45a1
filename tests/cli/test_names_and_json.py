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
