"""``qamtu simulate-measurements``: a synthetic drive test in the canonical drive-test columns."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from qamtu.cli.app import app
from qamtu.engine.montecarlo import DRIVE_TEST_COLUMNS


def _sites_csv(tmp_path):
    from qamtu.geo.area import make_study_area
    from qamtu.geo.catalogue import get_city
    from qamtu.geo.layout import hex_layout

    area = make_study_area(get_city("taraz"), 400.0)
    sites = hex_layout(area).head(30)
    path = tmp_path / "sites.csv"
    sites.drop(columns=[c for c in ("x_m", "y_m") if c in sites.columns]).to_csv(path, index=False)
    return path


def test_writes_a_drive_test_with_cell_ids(tmp_path):
    sites = _sites_csv(tmp_path)
    out = tmp_path / "drive.csv"
    args = ["simulate-measurements", "--city", "taraz", "--sites", str(sites), "--samples", "200", "--seed", "3",
            "--users", "mixed", "--resolution", "400", "--out", str(out)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns) == list(DRIVE_TEST_COLUMNS) and len(df) == 200
    served = df[df["cell_id"] != ""]
    assert len(served) > 0 and served["cell_id"].str.contains("-").all()
    # the same seed gives the same file
    again = tmp_path / "again.csv"
    assert CliRunner().invoke(app, args[:-1] + [str(again)]).exit_code == 0
    assert again.read_text() == out.read_text()


def test_bad_users_option_is_one_line(tmp_path):
    res = CliRunner().invoke(app, ["simulate-measurements", "--city", "taraz", "--sites", "x.csv", "--users", "car",
                                   "--out", str(tmp_path / "o.csv")])
    assert res.exit_code != 0 and "--users" in res.output
    assert not (tmp_path / "o.csv").exists()
