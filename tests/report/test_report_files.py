"""The report folder without a browser: files, summary.json, languages, offline maps."""

from __future__ import annotations

import json
import re

import pytest

from qamtu.errors import InvalidInputError
from qamtu.report.i18n import LANGUAGES, STRINGS, check_lang, missing_keys
from qamtu.report.national import write_national_report


def test_every_language_has_every_key():
    for lang in LANGUAGES:
        assert missing_keys(lang) == []
        assert all(STRINGS[lang][k].strip() for k in STRINGS[lang])
        for key, text in STRINGS[lang].items():  # the same format placeholders as English
            assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", STRINGS["en"][key])), key
    with pytest.raises(InvalidInputError, match="allowed: en, ru, kk"):
        check_lang("de")


@pytest.mark.parametrize("lang, word", [("en", "Summary"), ("ru", "Сводка"), ("kk", "Жиынтық")])
def test_report_files_and_summary(small_report, tmp_path, lang, word):
    small_report.cities[0].site_rows[0]["site_id"] = "<covered>"
    index = write_national_report(small_report, tmp_path, lang=lang)
    html = index.read_text(encoding="utf-8")
    assert word in html
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    kok, taraz = summary["cities"]
    assert kok["id"] == "kokshetau" and kok["sites"] == 4 and kok["on_time"] is True and kok["gate_month"] == "2024-05"
    assert taraz["on_time"] is False and taraz["gate_month"] is None
    for key in ("id", "sites", "cost", "territory_share", "population_share", "gate_month", "on_time"):
        assert key in kok
    # timeline data: national people covered sums the cities' step functions
    rows = (tmp_path / "data" / "timeline.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "month,people_covered"
    by_month = dict(r.split(",") for r in rows[1:])
    assert float(by_month["2024-02"]) == 0.0
    assert float(by_month["2024-03"]) == 100000.0 and float(by_month["2025-12"]) == 300000.0
    # user strings (site ids) are escaped in the city page
    city = (tmp_path / "cities" / "kokshetau" / "index.html").read_text(encoding="utf-8")
    assert "&lt;covered&gt;" in city and "<covered>" not in city


def test_interactive_map_fetches_nothing(small_report, tmp_path):
    write_national_report(small_report, tmp_path)
    html = (tmp_path / "cities" / "kokshetau" / "map.html").read_text(encoding="utf-8")
    assert not re.findall(r'<(?:script|link|img)\b[^>]+(?:src|href)="https?://', html)
    assert "L.imageOverlay" in html and "L.circleMarker" in html
    assert "Leaflet 1.9.4" in html or "1.9.4" in html  # the vendored library is inlined
