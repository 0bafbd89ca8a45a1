"""The national page's words: headline, late reasons, numbers in each language."""

from __future__ import annotations

import dataclasses

import pytest

from qamtu.report import content
from qamtu.report.content import Numbers


def test_numbers_per_language():
    assert Numbers("en").pct(0.6234) == "62.3\u00a0%" and Numbers("ru").pct(0.6234) == "62,3\u00a0%"
    assert Numbers("kk").num(1234567.0) == "1\u202f234\u202f567" and Numbers("ru").num(2.5) == "2,5"
    assert Numbers("ru").dec(51.12345, 3) == "51,123" and Numbers("en").int(None) == "\u2013"


def test_headline_by_hand(small_report):
    lines = content.headline(small_report, "en")
    assert lines[0] == ("1 of 2 cities meet the quality targets by 2025-12-31 with the scenario's resources "
                        "(4 crews, 4 sites per crew a month).")
    assert lines[-1] == "1 of 2 cities cannot meet the targets even with every planned site on air: Taraz."
    ru = content.headline(small_report, "ru")
    assert ru[0].startswith("1 из 2 городов выполняют") and ru[-1].endswith("Тараз.")


def test_headline_says_what_it_takes(small_report):
    report = dataclasses.replace(small_report, comparison=[
        dict(row, search_cities=1) for row in small_report.comparison])
    lines = content.headline(report, "en")
    # 2 crews x 4 sites per crew a month = 8 sites a month
    assert ("For every city whose plan can meet the targets (1 of 2) to be on time by 2025-12-31, it takes at "
            "least 2 crews, about 8 sites built a month.") in lines
    pools = dataclasses.replace(report, resources=dict(report.resources, crews={"a": 2, "b": 2}))
    assert any("in each of the 2 crew pools" in line for line in content.headline(pools, "en"))
    budget = dataclasses.replace(report, search_resource="budget", currency="KZT")
    assert any("monthly budget of 2 KZT" in line for line in content.headline(budget, "en"))


@pytest.mark.parametrize("reason, words", [
    ({"reason": "crews", "late_sites": 3, "gate_label": "2026-04", "pool": "national", "capacity": 8},
     "Crews: the national crews build 8 sites a month"),
    ({"reason": "lead_time", "late_sites": 2, "gate_label": "2026-04", "lead_end_label": "2026-02"},
     "cannot be built before 2026-02"),
    ({"reason": "budget", "late_sites": 1, "gate_label": "2026-01"}, "Budget: the monthly budget runs out"),
])
def test_late_reason_in_words(small_report, reason, words):
    city = dataclasses.replace(small_report.cities[0], status="late", late=reason)
    text = content.late_text(city, small_report, "en")
    assert words in text and reason["gate_label"] in text


def test_pdf_without_a_browser_is_one_clear_error(monkeypatch, tmp_path):
    from qamtu.errors import QamtuError
    from qamtu.report import pdf

    monkeypatch.setenv("QAMTU_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.raises(QamtuError, match="QAMTU_CHROMIUM"):
        pdf.html_to_pdf(tmp_path / "index.html", tmp_path / "report.pdf")
    monkeypatch.delenv("QAMTU_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(QamtuError, match="make browser"):
        pdf.find_chromium()
    assert not (tmp_path / "report.pdf").exists()
