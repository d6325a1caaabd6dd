"""A nested plan's second level on the map: the borders between clusters inside each footprint.

The footprints are drawn as any plan is (:func:`footprint.map.units_layer`); this layer adds
the lines that divide a footprint into its clusters, magenta and dashed, in the map's
boundary pane, so a planner sees both levels at once. A footprint of one cluster adds no
line. The layer is named in the map's layer control with the cluster range, in the
population's own words: add it before the layer control (``base_map(...,
layer_control=False)``, then the layer, then ``folium.LayerControl``), whose script must
come after every layer it lists.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import shapely
from folium.map import Layer

from ._text import clean_name, population_word
from .map import _geojson_texts, _LinesLayer

__all__ = ["CLUSTER_COLOUR", "CLUSTER_LINE_STYLE", "cluster_borders", "cluster_layer"]

#: Cluster borders: magenta and dashed, apart from the black LA boundaries and the white
#: borders between CCGs.
CLUSTER_COLOUR = "#c2185b"
CLUSTER_LINE_STYLE: dict[str, Any] = {"color": CLUSTER_COLOUR, "weight": 2.5, "dashArray": "6 4"}

#: Degrees: a border within this of a footprint's outline is the outline, not a cluster border
#: (about 1 m; the display layer is a coverage, so shared edges coincide exactly).
_ON_OUTLINE = 1e-5


def cluster_borders(
    geography: Any,
    assignment: Mapping[str, str],
    clusters: Mapping[str, str],
    *,
    decimals: int = 5,
) -> str:
    """The borders between clusters of one footprint, as one GeoJSON Feature of lines.

    Parameters
    ----------
    geography
        Its ``display_units`` (EPSG:4326, ``code`` and ``geometry``) are dissolved.
    assignment, clusters
        Unit code -> footprint name, and unit code -> cluster name. Units missing from
        either are left out.
    decimals
        Decimal places of the coordinates written.
    """
    units = geography.display_units
    shapes = dict(zip(units["code"].astype(str), units.geometry, strict=True))
    by_footprint: dict[str, dict[str, list[Any]]] = {}
    for code, fp in assignment.items():
        cluster = clusters.get(code)
        if cluster and code in shapes:
            by_footprint.setdefault(fp, {}).setdefault(cluster, []).append(shapes[code])
    lines: list[Any] = []
    for groups in by_footprint.values():
        if len(groups) < 2:
            continue
        polygons = [shapely.union_all(parts) for parts in groups.values()]
        outline = shapely.boundary(shapely.union_all(polygons))
        borders = shapely.union_all(shapely.boundary(polygons))
        inner = shapely.difference(borders, shapely.buffer(outline, _ON_OUTLINE))
        lines.extend(p for p in shapely.get_parts(shapely.line_merge(inner)) if not p.is_empty)
    geom = shapely.MultiLineString(lines) if lines else shapely.MultiLineString()
    text = _geojson_texts([geom], decimals)[0]
    return '{"type":"Feature","properties":{},"geometry":' + text + "}"


def cluster_layer(
    geography: Any,
    assignment: Mapping[str, str],
    clusters: Mapping[str, str],
    *,
    cluster_range: tuple[int, int],
) -> Layer:
    """The cluster borders as a map overlay, named with the cluster range (add it to a map).

    The name is escaped: Leaflet's layer control shows it as HTML.
    """
    lo, hi = cluster_range
    # Leaflet's layer control shows a layer's name as HTML: markup in a label stays text
    people = html.escape(clean_name(population_word(geography.population_label)))
    return _LinesLayer(
        cluster_borders(geography, assignment, clusters),
        name=f"Clusters ({lo:,} to {hi:,} {people})",
        style=CLUSTER_LINE_STYLE,
    )
