"""The map's clicks as streamlit-folium reports them: the app's side of the protocol.

:mod:`footprint.map` builds a Leaflet map and knows nothing of its host; this module is
what the app adds for streamlit-folium (0.27): a click report sent at once
(:data:`INSTANT_CLICKS_JS`, given to ``units_layer(on_click=...)``) and the reading of
the value ``st_folium`` returns (:func:`clicked_unit`).
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
    layer.on("click", function () {
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
