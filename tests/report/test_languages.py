"""The national page in a browser: headline and charts shown; ru and kk pages free of English; offline.

Latin-script words are allowed only from :data:`ALLOWED` (units, standards, technology names, the product name)
and ids (city and site ids, file names in links), so a label left untranslated fails the test.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from qamtu.report.national import write_national_report

from .browser import chromium, open_clean

pytestmark = pytest.mark.browser

#: Latin words a Russian or Kazakh reader expects to see as is.
ALLOWED = {"NR", "n78", "5G", "4G", "LTE", "DL", "UL", "RSRP", "SINR", "3GPP", "TR", "qamtu", "UTC", "PDF",
           "Natural", "Earth", "Leaflet", "OpenStreetMap", "CSV", "GeoTIFF", "GeoJSON", "JSON", "YAML", "x", "y",
           "SRTM3", "GEBCO"}
FILE = re.compile(r"\S+\.(?:csv|json|geojson|tif|png|yaml|html|pdf)\b")
WORD = re.compile(r"[0-9A-Za-z]*[A-Za-z][0-9A-Za-z]*")

VISIBLE_TEXT = """
const skip = new Set(['SCRIPT', 'STYLE', 'CODE', 'NOSCRIPT']);
const out = [];
const page = document.documentElement.lang;
const walk = (n) => { if (n.nodeType === 3) { out.push(n.textContent); return; }
  if (n.nodeType === 1 && n.lang && n.lang !== page) return;  // text marked as another language on purpose
  if (n.nodeType === 1 && !skip.has(n.tagName)) { for (const c of n.childNodes) walk(c);
    for (const a of ['alt', 'title']) if (n.getAttribute && n.getAttribute(a)) out.push(n.getAttribute(a)); } };
walk(document.body); return out.join(' ');
"""


def latin_words(text: str, ids: set[str]) -> list[str]:
    text = FILE.sub(" ", text.replace("Natural Earth 1:110m", "Natural Earth"))
    words = []
    for w in WORD.findall(text):
        if w in ALLOWED or w.lower() in ids or w.isdigit():
            continue
        words.append(w)
    return words


def _requests(driver) -> list[str]:
    """Network URLs (http, https, ws) the browser requested since the last call (Chrome's performance log)."""
    import json

    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if url.startswith(("http:", "https:", "ws:", "wss:")):
                urls.append(url)
    return urls


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_no_english_left_offline(small_report, tmp_path, lang):
    index = write_national_report(small_report, tmp_path / lang, lang=lang)
    ids = {c.id for c in small_report.cities}
    pages = [index] + [tmp_path / lang / "cities" / c.id / name for c in small_report.cities
                       for name in ("index.html", "map.html")]
    with chromium(performance_log=True) as driver:
        for page in pages:
            open_clean(driver, page)
            text = driver.execute_script(VISIBLE_TEXT)
            if page.name == "map.html":  # the popups are in the page's script until opened: scan their HTML
                popups = [json.loads(lit) for lit in re.findall(r'bindPopup\(("(?:[^"\\]|\\.)*")',
                                                                 page.read_text(encoding="utf-8"))]
                assert popups, "no popup found in the map"
                text += " " + re.sub(r"<[^>]+>", " ", " ".join(html.unescape(p) for p in popups))
            assert latin_words(text, ids) == [], f"{page}: English left in the {lang} page"
            assert _requests(driver) == [], page


def test_latin_scan_catches_an_untranslated_label():
    assert latin_words("Площадки в эфире: Sites on air, data/summary.csv, RSRP", {"kokshetau"}) == [
        "Sites", "on", "air"]


def test_national_page_shows_headline_and_charts(small_report, tmp_path):
    index = write_national_report(small_report, tmp_path / "en", lang="en")
    with chromium() as driver:
        open_clean(driver, index)
        headline = driver.find_element("id", "headline")
        assert headline.is_displayed()
        assert "1 of 2 cities meet the quality targets by 2025-12-31" in headline.text
        assert "cannot meet the targets even with every planned site on air: Taraz" in headline.text
        # the headline comes before every table
        first_table_y = driver.find_element("id", "summary").location["y"]
        assert headline.location["y"] < first_table_y
        for fig in ("rollout", "citytimeline", "timeline", "kzmap"):
            width = driver.execute_script(f"return document.querySelector('#{fig} img').naturalWidth")
            assert width > 300, fig
        late = driver.find_elements("css selector", "table#late tbody tr")
        assert [r.get_attribute("data-city") for r in late] == ["taraz"]
        assert "does not meet the targets" in late[0].text
        assert driver.find_element("id", "assumptions").is_displayed()
        assert len(driver.find_elements("css selector", "#glossary dt")) >= 8


@pytest.mark.parametrize("lang, words", [("kk", "Қысқаша"), ("en", "In short")])
def test_pdf_in_each_language_has_the_headline_on_page_one(small_report, tmp_path, lang, words):
    import shutil

    pypdf = pytest.importorskip("pypdf")
    if shutil.which("chromium") is None:
        pytest.skip("chromium not installed (make browser)")
    from qamtu.report import content
    from qamtu.report.pdf import html_to_pdf

    index = write_national_report(small_report, tmp_path, lang=lang)
    pdf = html_to_pdf(index, tmp_path / "report.pdf")
    first = " ".join(pypdf.PdfReader(pdf).pages[0].extract_text().split())
    assert words in first
    assert " ".join(content.headline(small_report, lang)[0].split()) in first
