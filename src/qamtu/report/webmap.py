"""Interactive maps that work offline: folium/Leaflet with the library inlined and no tile layer.

folium's templates load Leaflet, jQuery, Bootstrap and Font Awesome from CDNs. :func:`offline_html` drops those
links and inlines the Leaflet 1.9.4 and jQuery 3.7.1 files vendored in ``qamtu/report/static`` (source and
licence in ``static/SOURCES.md``), with the CSS's images as data URIs, so a page opens with no network. The maps use no
basemap (a tile layer would be fetched at view time): the city boundary, the coverage raster as an image overlay
and the sites are drawn on a plain background.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from qamtu.errors import InternalError, InvalidInputError


def _static(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def leaflet_inline() -> tuple[str, str]:
    """(JavaScript, CSS) of Leaflet 1.9.4 with the CSS images embedded as data URIs."""
    js = _static("leaflet.js").decode("utf-8")
    css = _static("leaflet.css").decode("utf-8")
    for img in ("layers-2x.png", "layers.png", "marker-icon.png"):
        data = base64.b64encode(_static(f"leaflet-{img}")).decode("ascii")
        css = css.replace(f"url(images/{img})", f"url(data:image/png;base64,{data})")
    return js, css


#: Package data of the report: vendored Leaflet and the Kazakhstan outline (see SOURCES.md there).
STATIC_DIR = Path(__file__).resolve().parent / "static"

_EXTERNAL = re.compile(r'<(script|link)\b[^>]*(?:src|href)="https?://[^"]*"[^>]*>(?:</script>)?\s*', re.I)


def _locale_script(locale: dict[str, str]) -> str:
    """Leaflet's own words (zoom buttons, scale bar units) in the report's language, set before the map is made."""
    import json

    zoom_in, zoom_out = json.dumps(locale["zoom_in"]), json.dumps(locale["zoom_out"])
    layers = json.dumps(locale["layers"])
    km, m = json.dumps(" " + locale["km"]), json.dumps(" " + locale["m"])
    return (
        f"L.Control.Zoom.mergeOptions({{zoomInTitle: {zoom_in}, zoomOutTitle: {zoom_out}}});\n"
        "L.Control.Scale.mergeOptions({imperial: false});\n"
        "L.Control.Scale.include({_updateMetric: function (maxMeters) {"
        " var meters = this._getRoundNum(maxMeters);"
        f" var label = meters < 1000 ? meters + {m} : (meters / 1000) + {km};"
        " this._updateScale(this._mScale, label, meters / maxMeters); }});\n"
        "L.Control.Attribution.mergeOptions({prefix: '<a href=\"https://leafletjs.com\">Leaflet</a>'});\n"
        "document.addEventListener('DOMContentLoaded', function () {"
        " document.querySelectorAll('.leaflet-control-layers-toggle').forEach(function (e) {"
        f" e.title = {layers}; }}); }});\n"
    )


def offline_html(fmap: Any, locale: dict[str, str] | None = None) -> str:
    """Render a folium map to a standalone HTML page that fetches nothing from the network.

    Parameters
    ----------
    fmap : folium.Map
    locale : dict, optional
        ``zoom_in``, ``zoom_out``, ``km``, ``m``, ``layers``: Leaflet's control words in the page's language.

    Raises
    ------
    RuntimeError
        If an external script or stylesheet is still referenced after inlining (a folium feature that needs a
        library qamtu does not vendor).
    """
    html = fmap.get_root().render()
    html = _EXTERNAL.sub("", html)
    js, css = leaflet_inline()
    jquery = _static("jquery.min.js").decode("utf-8")  # folium's popup template calls $(...)
    inline = f"<style>{css}</style>\n<script>{js}</script>\n<script>{jquery}</script>\n"
    if locale:
        inline += f"<script>{_locale_script(locale)}</script>\n"
    html = html.replace("<head>", "<head>\n" + inline, 1)
    leftover = re.findall(r'<(?:script|link|img)\b[^>]+(?:src|href)="(https?://[^"]+)"', html)
    if leftover:
        raise InternalError(f"the offline map still references external resources: {leftover[:3]}")
    return html


def legend_html(items: list[tuple[str, str]]) -> str:
    """A fixed legend box (lower right) with one colour swatch per item; texts are HTML-escaped."""
    from html import escape

    rows = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;margin-right:6px;'
        f'background:{escape(colour)};border:1px solid #555;vertical-align:middle"></span>{escape(text)}</div>'
        for colour, text in items)
    return ('<div class="qamtu-legend" style="position:fixed;bottom:24px;right:10px;z-index:1000;'
            'background:rgba(255,255,255,0.92);padding:6px 9px;border:1px solid #999;border-radius:4px;'
            f'font:12px sans-serif">{rows}</div>')


def png_data_uri(rgba: np.ndarray) -> str:
    """PNG data URI of an RGBA uint8 image, shape (rows, cols, 4)."""
    import matplotlib.image as mpimg

    buf = io.BytesIO()
    mpimg.imsave(buf, rgba, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


#: Characters written as ``\\uXXXX`` in a JSON string that goes into the map's ``<script>`` (besides what
#: ``json.dumps`` escapes with ``ensure_ascii``, which covers quotes, backslashes, control characters and U+2028/9):
#: ``<``, ``>``, ``&``, ``'`` so no markup closes around it, the backtick and ``$`` of template literals, and the
#: braces, because branca compiles every element's rendered script once more as a Jinja template (``{{ ... }}`` in
#: a site id would otherwise run as Python while the map is rendered).
_JS_ESCAPES = {c: f"\\u{ord(c):04x}" for c in "<>&'`${}"}


def js_string(text: str) -> str:
    """``text`` as a JavaScript string literal, safe inside a ``<script>`` block and inert for Jinja."""
    return "".join(_JS_ESCAPES.get(ch, ch) for ch in json.dumps(str(text), ensure_ascii=True))


@functools.cache
def _bound_element() -> type:
    """A folium element that binds a popup or tooltip to its parent layer with the content as a JS string.

    folium's ``Popup`` and ``Tooltip`` paste their text into a JavaScript template literal (only backticks are
    escaped), so ``${...}`` in a site id runs as code and ``</script>`` ends the script; and branca renders the
    result once more as a Jinja template. Here the content is one string literal from :func:`js_string`: the
    browser receives it as data and Leaflet sets it as the popup's HTML, in which every user-supplied part has been
    escaped with :func:`html.escape` by the caller.
    """
    from branca.element import MacroElement
    from folium.template import Template

    class Bound(MacroElement):
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "{{ this._parent.get_name() }}.{{ this.method }}({{ this.literal }}, {{ this.options|tojson }});"
            "{% endmacro %}"
        )

        def __init__(self, method: str, content: str, options: dict[str, Any]) -> None:
            super().__init__()
            self._name = "Bound"
            if method not in ("bindPopup", "bindTooltip"):
                raise InternalError(f"unknown Leaflet binding {method!r}; allowed: bindPopup, bindTooltip")
            self.method = method
            self.literal = js_string(content)
            self.options = {str(k): v for k, v in options.items() if isinstance(v, (bool, int, float))}

    return Bound


def _Bound(method: str, content: str, options: dict[str, Any]) -> Any:  # noqa: N802 - reads as the class it builds
    return _bound_element()(method, content, options)


def city_map(
    *,
    centre_lonlat: tuple[float, float],
    bounds_lonlat: tuple[float, float, float, float] | None,
    boundary_geojson: dict | None,
    overlay_rgba: np.ndarray | None,
    sites: list[dict],
    labels: dict[str, str],
    legend: list[tuple[str, str]] | None = None,
    basemap: str | None = None,
) -> Any:
    """A folium map of one city: boundary, coverage overlay (an RGBA image in lon/lat bounds) and sites.

    Parameters
    ----------
    centre_lonlat : (lon, lat), degrees
    bounds_lonlat : (west, south, east, north), degrees, of ``overlay_rgba``; also used to fit the view
    boundary_geojson : GeoJSON mapping in lon/lat, or None
    overlay_rgba : ndarray of uint8, shape (rows, cols, 4), north-up in EPSG:4326, or None
    sites : list of dict
        ``lat``, ``lon``, ``site_id`` (plain text, escaped here) and ``popup`` (HTML markup whose user-supplied
        parts the caller has escaped with :func:`html.escape`) per site.
    labels : dict
        ``boundary``, ``coverage``, ``sites`` layer names in the report's language.
    legend : list of (CSS colour, text), optional
        Drawn in the lower right corner (the colours of the overlay and the site markers).
    basemap : {None, "osm"}
        ``"osm"``: OpenStreetMap tiles under the layers (fetched online when the page is viewed; only when the
        user asks). Default: no basemap, the page works offline.
    """
    import folium

    lon, lat = centre_lonlat
    fmap = folium.Map(location=[lat, lon], zoom_start=12, tiles=None, control_scale=True)
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(fmap)
    elif basemap is not None:
        raise InvalidInputError(f"basemap {basemap!r} is not known; allowed: osm or none")
    fmap.default_js = []
    fmap.default_css = []
    if overlay_rgba is not None and bounds_lonlat is not None:
        w, s, e, n = bounds_lonlat
        folium.raster_layers.ImageOverlay(
            image=png_data_uri(overlay_rgba), bounds=[[s, w], [n, e]], opacity=0.75, name=labels["coverage"]
        ).add_to(fmap)
    if boundary_geojson is not None:
        folium.GeoJson(
            boundary_geojson,
            name=labels["boundary"],
            style_function=lambda _f: {"color": "#333333", "weight": 2, "fill": False},
        ).add_to(fmap)
    group = folium.FeatureGroup(name=labels["sites"])
    for s in sites:
        marker = folium.CircleMarker([s["lat"], s["lon"]], radius=5, color="#D55E00", fill=True, fill_opacity=0.9)
        marker.add_child(_Bound("bindPopup", s["popup"], {"maxWidth": 320}))
        marker.add_child(_Bound("bindTooltip", html.escape(str(s["site_id"])), {"sticky": True}))
        marker.add_to(group)
    group.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if legend:
        fmap.get_root().html.add_child(folium.Element(legend_html(legend)))
    if bounds_lonlat is not None:
        w, s_, e, n = bounds_lonlat
        fmap.fit_bounds([[s_, w], [n, e]])
    return fmap
