"""The map's clicks as streamlit-folium reports them: the app's side of the protocol.

:mod:`footprint.map` builds a Leaflet map and knows nothing of its host; this module is
what the app adds for streamlit-folium (0.27): a click report sent at once
(:data:`INSTANT_CLICKS_JS`, given to ``units_layer(on_click=...)``), the selection of
several units (:data:`SELECT_JS`: shift-click, or a box drawn with shift held), and the
reading of the value ``st_folium`` returns (:func:`clicked_units`).

A selection travels in the same two values as a click: ``last_active_drawing`` then
holds ``{"properties": {"codes": [...]}}`` instead of one clicked feature, and the click
count goes up by one, so that streamlit-folium's own reports see nothing new.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: What the map reports back. Keep to these two: INSTANT_CLICKS_JS builds exactly this value.
MAP_EVENTS = ["last_active_drawing", "last_object_clicked_count"]

# streamlit-folium reports a click to Streamlit 250 ms after it happens (a debounce meant for
# panning). For a click on a CCG that is a quarter of the time the planner waits, so this
# sends the very value streamlit-folium is about to send, at once, and records it as sent;
# its own debounced report then finds nothing new and sends nothing. The value is built the
# way streamlit-folium 0.27 builds it (the returned objects, in its key order); when the
# page is not streamlit-folium's, or asks for other objects, it does nothing and the
# normal report goes ahead.
INSTANT_CLICKS_JS = """(function (layer) {
    var ORDER = ["last_object_clicked_count", "last_active_drawing"];
    layer.on("click", function (e) {
        if (e.originalEvent && e.originalEvent.shiftKey) { return; }  // a selection: SELECT_JS
        setTimeout(function () {  // after streamlit-folium's own click handlers
            var g = window.__GLOBAL_DATA__;
            if (!g || !Array.isArray(g.returned_objects) || window.parent === window) { return; }
            if (g.returned_objects.some(function (k) { return ORDER.indexOf(k) < 0; })) { return; }
            var value = {};
            ORDER.forEach(function (k) {
                if (g.returned_objects.indexOf(k) >= 0) { value[k] = g[k]; }
            });
            if (JSON.stringify(value) === JSON.stringify(g.previous_data)) { return; }
            g.previous_data = value;
            window.parent.postMessage({isStreamlitMessage: true,
                type: "streamlit:setComponentValue", value: value, dataType: "json"}, "*");
        }, 0);
    });
})"""

#: The map's tools for the Draw page: every click reported at once, and selection.
#: Shift-click a unit to add it to (or take it from) the selection; hold shift and drag to
#: add every unit whose label point is inside the box. A panel on the map counts the
#: selection and sends it ("Put in the chosen footprint") or clears it (also Escape).
SELECT_JS = """(function (layer) {
    var ORDER = ["last_object_clicked_count", "last_active_drawing"];
    var sel = window.fpSelected = window.fpSelected || {};
    var LOOK = {color: "#ff1493", weight: 3, opacity: 1, dashArray: "5 3"};
    var fromStreamlit = function () {
        var g = window.__GLOBAL_DATA__;
        if (!g || !Array.isArray(g.returned_objects) || window.parent === window) { return null; }
        if (g.returned_objects.some(function (k) { return ORDER.indexOf(k) < 0; })) {
            return null;
        }
        return g;
    };
    var post = function (g) {
        var value = {};
        ORDER.forEach(function (k) {
            if (g.returned_objects.indexOf(k) >= 0) { value[k] = g[k]; }
        });
        g.previous_data = value;
        window.parent.postMessage({isStreamlitMessage: true,
            type: "streamlit:setComponentValue", value: value, dataType: "json"}, "*");
    };
    var codes = function () { return Object.keys(sel).sort(); };
    var restyle = function () {
        var units = window.fpUnits;
        if (!units) { return; }
        units.eachLayer(function (f) {
            if (sel[f.feature.properties.code]) { f.setStyle(LOOK); } else { units.resetStyle(f); }
        });
        var panel = window.fpPanel, n = codes().length;
        if (!panel) { return; }
        panel.style.display = n ? "" : "none";
        panel.querySelector(".fp-n").textContent = n + (n === 1 ? " selected" : " selected");
    };
    var send = function () {
        var g = fromStreamlit(), chosen = codes();
        if (!g || !chosen.length) { return; }
        g.last_object_clicked_count = (g.last_object_clicked_count || 0) + 1;
        g.last_active_drawing = {type: "Feature", geometry: null, properties: {codes: chosen}};
        post(g);
        Object.keys(sel).forEach(function (k) { delete sel[k]; });
        restyle();
    };
    var clear = function () {
        Object.keys(sel).forEach(function (k) { delete sel[k]; });
        restyle();
    };
    window.fpUnits = layer;
    layer.on("layeradd", function (e) {
        var f = e.layer;
        if (f.feature && sel[f.feature.properties.code]) { f.setStyle(LOOK); }
    });
    layer.on("click", function (e) {
        if (!e.originalEvent || !e.originalEvent.shiftKey) { return; }
        var code = e.sourceTarget && e.sourceTarget.feature &&
            e.sourceTarget.feature.properties.code;
        setTimeout(function () {  // after streamlit-folium's handlers: undo what they noted
            var g = fromStreamlit();
            if (g && g.previous_data) {
                g.last_object_clicked_count = g.previous_data.last_object_clicked_count;
                g.last_active_drawing = g.previous_data.last_active_drawing;
            }
            if (!code || Date.now() - (window.fpBoxEnded || 0) < 400) { return; }
            if (sel[code]) { delete sel[code]; } else { sel[code] = true; }
            restyle();
        }, 0);
    });
    var install = function (map) {
        if (map.fpSelectTools) { restyle(); return; }
        map.fpSelectTools = true;
        map.boxZoom.disable();
        var box = L.control({position: "topleft"});
        box.onAdd = function () {
            var div = L.DomUtil.create("div", "fp-legend fp-select");
            var look = ' style="font: 12px sans-serif; margin-left: 4px; cursor: pointer"';
            div.style.whiteSpace = "nowrap";
            div.innerHTML = '<b class="fp-n"></b>' +
                '<button type="button" class="fp-put"' + look +
                '>Put in the chosen footprint</button>' +
                '<button type="button" class="fp-clear"' + look + '>Clear</button>';
            L.DomEvent.disableClickPropagation(div);
            div.querySelector(".fp-put").addEventListener("click", send);
            div.querySelector(".fp-clear").addEventListener("click", clear);
            window.fpPanel = div;
            return div;
        };
        box.addTo(map);
        document.addEventListener("keydown", function (e) {
            if (e.key === "Escape") { clear(); }
        });
        var start = null, rect = null;
        var container = map.getContainer();
        container.addEventListener("mousedown", function (e) {
            if (!e.shiftKey || e.button !== 0) { return; }
            start = map.mouseEventToContainerPoint(e);
            map.dragging.disable();
        }, true);
        container.addEventListener("mousemove", function (e) {
            if (!start) { return; }
            var here = map.mouseEventToContainerPoint(e);
            var b = L.latLngBounds(map.containerPointToLatLng(start),
                map.containerPointToLatLng(here));
            if (rect) { rect.setBounds(b); } else {
                rect = L.rectangle(b, {color: "#ff1493", weight: 1.5, dashArray: "4 3",
                    fillOpacity: 0.08, interactive: false}).addTo(map);
            }
        }, true);
        document.addEventListener("mouseup", function (e) {
            if (!start) { return; }
            var end = map.mouseEventToContainerPoint(e), moved = start.distanceTo(end) > 5;
            var b = L.latLngBounds(map.containerPointToLatLng(start),
                map.containerPointToLatLng(end));
            start = null;
            map.dragging.enable();
            if (rect) { rect.remove(); rect = null; }
            if (!moved || !window.fpUnits) { return; }
            window.fpBoxEnded = Date.now();
            window.fpUnits.eachLayer(function (f) {
                var p = f.feature.properties;
                if (p.at && b.contains(L.latLng(p.at[0], p.at[1]))) { sel[p.code] = true; }
            });
            restyle();
        }, true);
        restyle();
    };
    if (layer._map) { install(layer._map); } else {
        layer.once("add", function () { install(layer._map); });
    }
})"""

#: What the Draw page's map is given: instant clicks and selection.
DRAW_TOOLS_JS = f"(function (layer) {{ ({INSTANT_CLICKS_JS})(layer); ({SELECT_JS})(layer); }})"

_CODE_IN_TOOLTIP = re.compile(r"ONS code\s+(\S+)")


def clicked_unit(event: Mapping[str, Any] | None) -> str | None:
    """The unit code of the CCG a map click landed on, from the dict st_folium returns.

    Reads ``last_active_drawing`` (the clicked feature, whose ``code`` property
    footprint.map sets) and falls back to the ``ONS code`` line of
    ``last_object_clicked_tooltip``. ``None`` when the click was not on a CCG.
    """
    if not event:
        return None
    drawing = event.get("last_active_drawing")
    if isinstance(drawing, Mapping):
        props = drawing.get("properties")
        if isinstance(props, Mapping) and isinstance(props.get("code"), str) and props["code"]:
            return props["code"]
    tip = event.get("last_object_clicked_tooltip")
    if isinstance(tip, str) and (match := _CODE_IN_TOOLTIP.search(tip)):
        return match.group(1)
    return None


def clicked_units(event: Mapping[str, Any] | None) -> list[str]:
    """The unit codes a map event carries: the CCGs of a selection sent from the map
    (``last_active_drawing.properties.codes``, see :data:`SELECT_JS`), or the one CCG
    clicked (:func:`clicked_unit`); ``[]`` for anything else.

    The codes come from the browser: only strings are kept, each once, in order, and the
    caller checks them against the geography.
    """
    drawing = event.get("last_active_drawing") if event else None
    props = drawing.get("properties") if isinstance(drawing, Mapping) else None
    codes = props.get("codes") if isinstance(props, Mapping) else None
    if isinstance(codes, list):
        return list(dict.fromkeys(c for c in codes if isinstance(c, str) and c))
    one = clicked_unit(event)
    return [one] if one else []
