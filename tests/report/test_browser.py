"""The report opens in headless Chromium with no console error; screenshots show the map and the table."""

from __future__ import annotations

import io

import numpy as np
import pytest

from qamtu.report.figures import STATUS_COLOURS
from qamtu.report.national import write_national_report

from .browser import chromium, console_errors, open_clean

pytestmark = pytest.mark.browser


def _png(driver) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(driver.get_screenshot_as_png()), format="png")


def _distinct_colours(img: np.ndarray) -> int:
    q = (img[..., :3] * 15).round().astype(int)
    return len(np.unique(q.reshape(-1, 3), axis=0))


def test_index_and_city_pages_render_offline(small_report, tmp_path):
    index = write_national_report(small_report, tmp_path / "rep", lang="en")
    with chromium() as driver:
        open_clean(driver, index)
        rows = driver.find_elements("css selector", "table#summary tbody tr")
        assert [r.get_attribute("data-city") for r in rows] == ["kokshetau", "taraz"]
        assert "Kokshetau" in rows[0].text and "on time" in rows[0].text
        # the figures loaded (an image that failed to load has naturalWidth 0)
        for fig in ("timeline", "kzmap"):
            width = driver.execute_script(f"return document.querySelector('#{fig} img').naturalWidth")
            assert width > 300
        kz = driver.find_element("css selector", "#kzmap img")
        driver.execute_script("arguments[0].scrollIntoView()", kz)
        shot = tmp_path / "index.png"
        driver.save_screenshot(str(shot))
        img = _png(driver)
        assert _distinct_colours(img) > 20
        # inside the map's on-screen box: the outline's fill and the two status colours of the cities
        box = driver.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];", kz)
        scale = img.shape[1] / driver.execute_script("return window.innerWidth")
        x0, y0, x1, y1 = (int(v * scale) for v in box)
        crop = img[max(y0, 0):y1, max(x0, 0):x1, :3]
        assert crop.size > 0
        for hex_colour in (STATUS_COLOURS["on_time"], STATUS_COLOURS["never"], "#f2f2f2"):
            rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
            near = np.all(np.abs(crop - rgb) < 0.04, axis=-1)
            assert near.sum() >= 20, f"colour {hex_colour} not visible in the map of Kazakhstan"
        table = driver.find_element("id", "summary")
        assert table.size["height"] > 40 and table.size["width"] > 400

        city = tmp_path / "rep" / "cities" / "kokshetau" / "index.html"
        driver.get(city.resolve().as_uri())
        assert console_errors(driver) == []
        assert len(driver.find_elements("css selector", "table#sites tbody tr")) == 4
        assert "95" in driver.find_element("id", "measured").text

        # the interactive map itself: Leaflet ran (inlined), drew the sites and the overlay, fetched nothing
        driver.get((city.parent / "map.html").resolve().as_uri())
        assert console_errors(driver) == []
        assert driver.execute_script("return typeof L") == "object"
        markers = driver.find_elements("css selector", "path.leaflet-interactive")
        assert len(markers) >= 4
        assert len(driver.find_elements("css selector", "img.leaflet-image-layer")) == 1
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert not [r for r in resources if r.startswith("http")]
        driver.save_screenshot(str(tmp_path / "map.png"))
        img = _png(driver)
        # the overlay's viridis colours are present on the map (not a blank page)
        assert _distinct_colours(img) > 10
