"""The planner's map as a folium object: CCGs, LA boundaries, reference layers and a legend.

This module knows nothing of Streamlit (like ``geopandas.explore``): it returns
``folium`` objects that a notebook, an HTML file or the app can show.

Two pieces, so an app can keep the map's view while only the colours change:

* :func:`base_map`: what does not change while a plan is drawn (LA boundaries,
  Area Teams, Regions, CCGs crossing LA boundaries, attribution, Leaflet links);
* :func:`units_layer`: the CCGs coloured by population or by footprint, with
  tooltips and the legend, as a :class:`folium.FeatureGroup`.

:func:`build_map` puts the two together.

Why custom layer elements rather than ``folium.GeoJson``: the CCGs go to the
browser on every change of colour, so the layer is written as compact JSON
(no spaces, coordinates at 1e-5 degree, only ``code``, ``footprint`` and
``tooltip`` properties) with one shared style table, about 0.79 MB for the 211
CCGs. The boundary overlays are sent as lines (each shared border once) in a
pane above the CCG fills that ignores the pointer, so a click always reaches
the CCG underneath.

An app can do better still: :func:`static_files` gives the geometry as files
to serve, and with ``data_url`` the browser fetches them once; each change of
colour then sends only the CCGs' properties (about 60 kB). Without it (a
notebook, a saved HTML file) everything is inline.

No element here pulls a script or stylesheet from a CDN; Leaflet itself comes
from :mod:`footprint._assets`.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import folium
import numpy as np
import shapely
from folium.map import CustomPane, Layer
from folium.template import Template

from ._assets import leaflet_links
from ._colours import FOOTPRINT_PALETTE, plan_colours
from .errors import PlanError

__all__ = [
    "COLOUR_CHOICES",
    "FLOOR_COLOURS",
    "FOOTPRINT_PALETTE",
    "POPULATION_COLOURS",
    "attribution_html",
    "base_map",
    "build_map",
    "footprint_colours",
    "static_files",
    "unit_properties",
    "units_geojson",
    "units_layer",
    "write_static_files",
]

ColourBy = Literal["footprint", "population", "floor", "la", "area_team", "region"]

#: What the map can colour the units by, in the words a planner reads (the app's choices).
COLOUR_CHOICES: dict[str, str] = {
    "footprint": "footprint",
    "population": "population",
    "floor": "distance from the floor",
    "la": "upper-tier LA",
    "area_team": "Area Team",
    "region": "Region",
}
#: The grouping column behind each colouring by group (the LA comes from the LA audit).
_GROUP_COLUMNS = {"area_team": "area_team_code", "region": "region_code"}

#: Upper bounds of the population classes (the last class is open); 300,000 is the usual floor.
POPULATION_BREAKS = (100_000, 200_000, 300_000, 500_000)
#: ColorBrewer YlGnBu, one colour per population class.
POPULATION_COLOURS = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
#: Upper bounds of a footprint's population as a share of the floor (the last class is open).
FLOOR_BREAKS = (0.8, 1.0, 1.2, 1.5)
#: ColorBrewer RdBu: reds below the floor, blues above it.
FLOOR_COLOURS = ("#b2182b", "#f4a582", "#92c5de", "#4393c3", "#2166ac")
#: A locked footprint's heavy outline (and its hatching, drawn over the fill).
LOCKED_STROKE = "#000000"
#: Zoom levels between which CCG names are written on the map, each when it fits.
LABEL_ZOOMS = (8, 13)
UNASSIGNED_FILL = "#d9d9d9"
BELOW_FLOOR_STROKE = "#c0392b"
HIGHLIGHT_STROKE = "#111111"
CROSSING_COLOUR = "#e67e22"
LINK_COLOUR = "#1f5fa8"  # bridges and river crossings: water blue
BACKGROUND = "#e9eef2"
ENGLAND_CENTRE = (52.85, -1.6)

_LINES_PANE = "fp-boundaries"
_MARKS_PANE = "fp-marks"

# Per-geography derived data (compact geometry JSON, neighbour pairs, boundary
# lines). Weak keys: the cache goes when the geography does.
_GEO_CACHE: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _cache_for(obj: Any) -> dict[Any, Any]:
    try:
        return _GEO_CACHE.setdefault(obj, {})
    except TypeError:  # not weak-referenceable: no caching
        return {}


def _dumps(value: Any) -> str:
    """Compact JSON that is also safe inside a ``<script>`` element."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- static per-geography data ---------------------------------------------------------------


def _geojson_texts(geoms: Any, decimals: int) -> list[str]:
    """Compact GeoJSON texts whose coordinates have at most ``decimals`` decimals.

    Neither ``shapely.set_precision`` (which snaps by multiplying) nor GEOS's GeoJSON
    writer gives short numbers: both leave values such as ``-2.3399200000000002``. So
    coordinates are rounded and written by Python, whose float repr is the shortest.
    """
    rounded = shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.round(xy, decimals))
    return [_dumps(json.loads(t)) for t in shapely.to_geojson(rounded).tolist()]


def _unit_geometries(geography: Any, *, decimals: int = 5) -> dict[str, str]:
    """Unit code -> compact GeoJSON geometry text of the display layer (cached).

    Coordinates at 1e-5 degree (about 1 m), which is what keeps the 211 CCGs under 1 MB.
    """
    cache = _cache_for(geography)
    if "geometries" not in cache:
        disp = geography.display_units
        texts = _geojson_texts(disp.geometry.to_numpy(), decimals)
        cache["geometries"] = dict(zip(disp["code"].astype(str), texts, strict=True))
    return cache["geometries"]


def _short_name(name: str) -> str:
    """A unit's name as written on the map: "NHS Kernow CCG" -> "Kernow"."""
    short = name.strip()
    if short.startswith("NHS ") and len(short) > 4:
        short = short[4:]
    if short.endswith(" CCG") and len(short) > 4:
        short = short[:-4]
    return short


def _label_properties(geography: Any) -> dict[str, dict[str, Any]]:
    """Unit code -> its map label: the name (HTML-escaped), where it is written (a point
    inside the unit, as ``[lat, lng]``) and the zoom from which it fits inside the unit
    (``z``), cached. These never change while a plan is drawn."""
    cache = _cache_for(geography)
    if "labels" not in cache:
        disp = geography.display_units
        names = dict(zip(geography.units["code"].astype(str), geography.units["name"], strict=True))
        geoms = disp.geometry.to_numpy()
        points = shapely.point_on_surface(geoms)
        bounds = shapely.bounds(geoms)
        out: dict[str, dict[str, Any]] = {}
        for code, point, (west, _s, east, _n) in zip(
            disp["code"].astype(str), points, bounds, strict=True
        ):
            label = _short_name(str(names.get(code, code)))
            # a label about 6.5 px a character fits when the unit is that wide on screen:
            # a unit w degrees wide is w / 360 * 256 * 2**z pixels wide at zoom z
            need = 6.5 * len(label) + 8
            width = max(east - west, 1e-6)
            z = int(np.ceil(np.log2(need * 360 / (256 * width))))
            out[code] = {
                "label": html.escape(label),
                "at": [round(point.y, 4), round(point.x, 4)],
                "z": int(np.clip(z, *LABEL_ZOOMS)),
            }
        cache["labels"] = out
    return cache["labels"]


def _boundary_lines(geography: Any, key: str, *, decimals: int = 4) -> str:
    """Borders of a polygon layer as compact GeoJSON lines, each shared border once (cached).

    ``key`` is ``"la_upper"``, ``"la_lower"`` or a grouping column of the units
    (``"area_team_code"``, ``"region_code"``).
    """
    cache = _cache_for(geography)
    ck = ("lines", key, decimals)
    if ck not in cache:
        if key == "la_upper":
            layer = geography.display_la_upper
        elif key == "la_lower":
            layer = geography.display_la_lower
        else:
            layer = geography.dissolved(key)
        if layer is None or len(layer) == 0:
            cache[ck] = ""
        else:
            lines = shapely.union_all(shapely.boundary(layer.geometry.to_numpy()))
            lines = shapely.line_merge(shapely.set_precision(lines, 10.0**-decimals))
            parts = [p for p in shapely.get_parts(lines) if not p.is_empty]
            geom = shapely.MultiLineString(parts) if parts else shapely.MultiLineString()
            cache[ck] = (
                '{"type":"Feature","properties":{},"geometry":'
                + _geojson_texts([geom], decimals)[0]
                + "}"
            )
    return cache[ck]


def _la_shares(audit: Any) -> dict[str, str]:
    """Unit code -> "Kent 85%, Medway 15%" (shares of at least 0.5%, largest first), cached."""
    cache = _cache_for(audit)
    if "shares" not in cache:
        shares = audit.shares
        shares = shares[shares["share"] >= 0.005].sort_values(
            ["unit_code", "share"], ascending=[True, False]
        )
        out: dict[str, str] = {}
        for code, grp in shares.groupby("unit_code", sort=False):
            pairs = zip(grp["la_name"], grp["share"], strict=True)
            out[str(code)] = ", ".join(f"{name} {share:.0%}" for name, share in pairs)
        cache["shares"] = out
    return cache["shares"]


# --- static files (the parts of the map that never change, for an app to serve) ----------------

_STATIC_KEYS = ("units", "la_upper", "la_lower", "area_team_code", "region_code")


def _folder(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _static_texts(geography: Any) -> dict[str, tuple[str, str]]:
    """Key -> (file name, JSON text) of every static layer of the geography (cached).

    File names carry a hash of their content, so a browser may cache them for good.
    """
    cache = _cache_for(geography)
    if "static" not in cache:
        geoms = _unit_geometries(geography)
        labels = _label_properties(geography)
        texts = {
            "units": '{"type":"FeatureCollection","features":['
            + ",".join(
                '{"type":"Feature","properties":'
                + _dumps({"code": c, **labels[c]})
                + ',"geometry":'
                + g
                + "}"
                for c, g in geoms.items()
            )
            + "]}"
        }
        for key in _STATIC_KEYS[1:]:
            if key in ("la_upper", "la_lower") or key in geography.units.columns:
                text = _boundary_lines(geography, key)
                if text:
                    texts[key] = text
        cache["static"] = {
            key: (f"{key}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}.json", text)
            for key, text in texts.items()
        }
    return cache["static"]


def _static_names(geography: Any) -> dict[str, str]:
    return {key: name for key, (name, _text) in _static_texts(geography).items()}


def static_files(geography: Any) -> dict[str, bytes]:
    """File name -> contents of the map's static data, for an app to serve from one folder.

    The CCG polygons (GeoJSON with only a ``code`` property) and each boundary
    overlay (lines). Serve them at a URL and pass it as ``data_url`` to
    :func:`base_map` and :func:`units_layer`: the browser then fetches the
    geometry once, and each change of colour sends only the CCGs' properties.
    Names include a content hash, so files of different data never clash.
    """
    return {name: text.encode("utf-8") for name, text in _static_texts(geography).values()}


def write_static_files(geography: Any, folder: str | os.PathLike[str]) -> list[Path]:
    """Write the :func:`static_files` missing from ``folder``; return every file's path.

    Safe to call from many threads or processes at once (each app session draws the
    map): each file is written to a uniquely named temporary file in ``folder`` and
    renamed into place, so writers never share a temporary file and a reader never
    sees half a file. A file already there with the right size is left alone (names
    carry a hash of the content, so it is the same file); one of another size (cut
    short by a full disk) is written again. A concurrent writer renaming the same file
    into place first is not an error.

    Raises
    ------
    OSError
        When ``folder`` cannot be created or written and the file is not there.
    """
    from ._cache import atomic_write_bytes

    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in static_files(geography).items():
        path = root / name
        paths.append(path)
        if _has_size(path, len(data)):
            continue
        try:
            atomic_write_bytes(path, data, make_parents=False)
        except OSError:
            if not _has_size(path, len(data)):  # another writer may have put it there
                raise
    return paths


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


# --- colours ---------------------------------------------------------------------------------


def _population_class(value: int) -> int:
    return int(np.searchsorted(POPULATION_BREAKS, value, side="right"))


def footprint_colours(geography: Any, assignment: Mapping[str, str]) -> dict[str, str]:
    """A colour per footprint such that footprints that touch get different colours.

    Each footprint prefers a colour derived from its name, so colours stay put
    while a plan is edited; it takes the next free colour only when a
    neighbouring footprint already has it. The palette and the choice are
    :mod:`footprint._colours`, shared with the exports, so a footprint has one
    colour on the map, in the report and in KML.
    """
    return plan_colours(geography, assignment)


# --- the CCG layer ---------------------------------------------------------------------------


def _check_assignment(geography: Any, assignment: Mapping[str, str] | None) -> dict[str, str]:
    if assignment is None:
        return {}
    if not isinstance(assignment, Mapping):
        raise PlanError(
            f"the plan to map must map unit codes to footprint names; received "
            f"{type(assignment).__name__}"
        )
    known = set(geography.units["code"].astype(str))
    unknown = sorted(str(c) for c in assignment if str(c) not in known)
    if unknown:
        raise PlanError(
            f"the plan to map names {len(unknown)} unit code(s) that are not in "
            f"{geography.name!r}: {', '.join(unknown[:10])}"
            + (" …" if len(unknown) > 10 else "")
            + ". Use the ONS codes of this geography (for example E38000001)"
        )
    return {str(k): str(v) for k, v in assignment.items() if v is not None and str(v).strip()}


def _unit_words(geography: Any) -> tuple[str, str]:
    """What the geography's units are called, one and many ("CCG", "CCGs")."""
    one = str(getattr(geography, "unit_label", "") or "unit")
    return one, str(getattr(geography, "unit_label_plural", "") or f"{one}s")


def _group_count(geography: Any, column: str) -> str:
    """How many groups a grouping column holds, for a layer's name: " (25)"."""
    if column not in geography.units.columns:
        return ""
    return f" ({geography.units[column].dropna().nunique():,})"


def _population_text(value: int, label: str) -> str:
    return f"{value:,} {html.escape(label)}"


def unit_properties(
    geography: Any,
    *,
    audit: Any = None,
    assignment: Mapping[str, str] | None = None,
    colour_by: ColourBy = "population",
    highlight: Iterable[str] = (),
    locked: Iterable[str] = (),
    floor: int | None = 300_000,
    fill_opacity: float = 0.7,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The per-CCG properties of the layer (in the units' order) plus the style table.

    The properties are what changes while a plan is drawn; the geometry does not
    (see :func:`units_geojson` and :func:`static_files`).

    Each feature carries ``code``, ``footprint`` (empty when unassigned),
    ``style`` (an index into the style table) and ``tooltip`` (HTML: name, ONS
    and NHS codes, population with what it counts, home LA and LA shares,
    footprint). This is the part of the map that changes while a plan is
    drawn, so it is kept small.

    Raises
    ------
    PlanError
        When ``colour_by`` is unknown or the plan names codes not in the geography.
    """
    _check_colour_by(geography, colour_by, audit=audit, floor=floor)
    plan = _check_assignment(geography, assignment)
    highlight = {str(c) for c in highlight}
    locked = {str(f) for f in locked}
    units = geography.units
    pop_of = dict(zip(units["code"].astype(str), units["population"].astype(int), strict=True))
    fp_pop: dict[str, int] = {}
    fp_n: dict[str, int] = {}
    for code, fp in plan.items():
        fp_pop[fp] = fp_pop.get(fp, 0) + pop_of[code]
        fp_n[fp] = fp_n.get(fp, 0) + 1
    group_of_unit = _colour_groups(geography, colour_by, audit)
    if colour_by == "footprint":
        colours = footprint_colours(geography, plan)
    else:  # neighbouring groups differ, as footprints do
        colours = footprint_colours(geography, group_of_unit)
    audit_rows = {}
    shares: dict[str, str] = {}
    if audit is not None:
        audit_rows = audit.units.set_index("unit_code").to_dict("index")
        shares = _la_shares(audit)
    label = geography.population_label
    one, many = _unit_words(geography)
    # Area Teams and Regions by name, as a planner reads them (where the geography has them)
    groups = [
        (column, title, geography.group_names(column))
        for column, title in (("area_team_code", "Area Team"), ("region_code", "Region"))
        if column in units.columns
    ]
    group_of = {
        column: dict(zip(units["code"].astype(str), units[column], strict=True))
        for column, _title, _names in groups
    }

    ctx = _Layer(
        plan=plan,
        fp_pop=fp_pop,
        fp_n=fp_n,
        colours=colours,
        colour_by=colour_by,
        floor=floor,
        fill_opacity=fill_opacity,
        highlight=highlight,
        locked=locked,
        label=label,
        one=one,
        many=many,
        audit_rows=audit_rows,
        shares=shares,
        groups=groups,
        group_of=group_of,
        drawn=assignment is not None,
        colour_group=group_of_unit,
    )
    styles: list[dict[str, Any]] = []
    style_index: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for row in units[["code", "nhs_code", "name", "population"]].itertuples(index=False):
        code = str(row.code)
        fp = plan.get(code, "")
        key = _dumps(style := _unit_style(ctx, code, fp, int(row.population)))
        if key not in style_index:
            style_index[key] = len(styles)
            styles.append(style)
        out.append(
            {
                "code": code,
                "footprint": fp,
                "style": style_index[key],
                "tooltip": "<br>".join(_unit_tooltip(ctx, row, code, fp)),
            }
        )
    return out, styles


@dataclass(frozen=True)
class _Layer:
    """What every unit's style and tooltip is read from, worked out once per layer."""

    plan: Mapping[str, str]
    fp_pop: Mapping[str, int]
    fp_n: Mapping[str, int]
    colours: Mapping[str, str]
    colour_by: str
    floor: int | None
    fill_opacity: float
    highlight: set[str]
    locked: set[str]
    label: str
    one: str
    many: str
    audit_rows: Mapping[str, Any]
    shares: Mapping[str, str]
    groups: list[tuple[str, str, Mapping[str, str]]]
    group_of: Mapping[str, Mapping[str, Any]]
    drawn: bool
    colour_group: Mapping[str, str]


def _unit_style(ctx: _Layer, code: str, fp: str, population: int) -> dict[str, Any]:
    """A unit's fill and outline: by population, by its group, by footprint or by the
    footprint's distance from the floor (below the floor outlined), or dashed grey when
    unassigned; a locked footprint gets a heavy black outline and hatching, a highlighted
    unit a heavy outline."""
    style: dict[str, Any] = {
        "color": "#ffffff",
        "weight": 0.6,
        "opacity": 0.9,
        "fillOpacity": ctx.fill_opacity,
    }
    group = ctx.colour_group.get(code)
    if ctx.colour_by == "population":
        style["fillColor"] = POPULATION_COLOURS[_population_class(population)]
    elif ctx.colour_by in _GROUPINGS:
        style["fillColor"] = ctx.colours[group] if group else UNASSIGNED_FILL
    elif fp:
        if ctx.colour_by == "floor" and ctx.floor:
            style["fillColor"] = FLOOR_COLOURS[_floor_class(ctx.fp_pop[fp], ctx.floor)]
        else:
            style["fillColor"] = ctx.colours[fp]
        if ctx.floor is not None and ctx.fp_pop[fp] < ctx.floor:
            style.update(color=BELOW_FLOOR_STROKE, weight=1.6)
    else:
        style.update(
            fillColor=UNASSIGNED_FILL,
            fillOpacity=0.45,
            color="#333333",
            weight=1.6,
            dashArray="4 3",
        )
    if fp and fp in ctx.locked:
        style.update(color=LOCKED_STROKE, weight=3.5, opacity=1.0, dashArray=None, hatch=1)
    if code in ctx.highlight:
        style.update(color=HIGHLIGHT_STROKE, weight=3.2, opacity=1.0, dashArray=None)
    return style


#: The legend's picture of the hatching of a locked footprint.
_HATCH_CSS = "repeating-linear-gradient(45deg,#00000073 0 2px,#ffffff 2px 5px)"
#: The colourings by a group of units rather than by footprint.
_GROUPINGS = ("la", "area_team", "region")


def _floor_class(population: int, floor: int) -> int:
    return int(np.searchsorted(FLOOR_BREAKS, population / floor, side="right"))


def _check_colour_by(geography: Any, colour_by: object, *, audit: Any, floor: int | None) -> None:
    """Refuse a colouring the map cannot draw, saying every reason at once."""
    problems = []
    if colour_by not in COLOUR_CHOICES:
        problems.append(
            f"colour_by must be one of {', '.join(map(repr, COLOUR_CHOICES))}; "
            f"received {colour_by!r}"
        )
    if colour_by == "la" and audit is None:
        problems.append("colour_by='la' needs the LA audit: pass audit=dataset.audit")
    if colour_by == "floor" and not floor:
        problems.append("colour_by='floor' needs a floor above 0: pass floor=300_000")
    column = _GROUP_COLUMNS.get(str(colour_by))
    if column and column not in geography.units.columns:
        problems.append(
            f"colour_by={colour_by!r} needs a {column!r} column, which "
            f"{geography.name!r} does not have; colour by 'footprint' or 'population'"
        )
    if problems:
        raise PlanError("; ".join(problems))


def _colour_groups(geography: Any, colour_by: str, audit: Any) -> dict[str, str]:
    """Unit code -> its group for a colouring by group (home LA, Area Team, Region)."""
    if colour_by == "la":
        rows = audit.units
        return {
            str(c): str(la)
            for c, la in zip(rows["unit_code"], rows["home_la"], strict=True)
            if isinstance(la, str) and la
        }
    column = _GROUP_COLUMNS.get(colour_by)
    if column is None:
        return {}
    units = geography.units
    return {
        str(c): str(g)
        for c, g in zip(units["code"], units[column], strict=True)
        if isinstance(g, str) and g
    }


def _unit_tooltip(ctx: _Layer, row: Any, code: str, fp: str) -> list[str]:
    """A unit's tooltip lines (HTML, every name escaped)."""
    tip = [
        f"<b>{html.escape(str(row.name))}</b>",
        f"ONS code {html.escape(code)} · NHS code {html.escape(str(row.nhs_code) or '-')}",
        _population_text(int(row.population), ctx.label),
    ]
    a = ctx.audit_rows.get(code)
    if a is not None:
        tip.append(f"Home LA: {html.escape(str(a['home_la_name']))} ({a['home_share']:.0%})")
        if code in ctx.shares:
            tip.append(f"LA shares: {html.escape(ctx.shares[code])}")
    named = []
    for column, title, names in ctx.groups:
        value = ctx.group_of[column].get(code)
        if isinstance(value, str) and value:
            named.append(f"{title}: {html.escape(names.get(value, value))}")
    if named:
        tip.append(" · ".join(named))
    if a is not None and a["crosses"]:
        tip.append(f"<i>Crosses an LA boundary: {a['outside_share']:.0%} outside its home LA</i>")
    if fp:
        tip.append(_footprint_line(ctx, fp))
    elif ctx.drawn:
        tip.append("<b>Unassigned</b>: in no footprint yet")
    if code in ctx.highlight:
        tip.append("<i>Highlighted</i>")
    return tip


def _footprint_line(ctx: _Layer, fp: str) -> str:
    state = ""
    if ctx.floor is not None:
        state = (
            "meets the floor" if ctx.fp_pop[fp] >= ctx.floor else f"below the {ctx.floor:,} floor"
        )
    lock = " (locked)" if fp in ctx.locked else ""
    n = ctx.fp_n[fp]
    return (
        f"Footprint <b>{html.escape(fp)}</b>{lock}: {n} "
        f"{html.escape(ctx.one if n == 1 else ctx.many)}, "
        f"{ctx.fp_pop[fp]:,} {html.escape(ctx.label)}" + (f", {state}" if state else "")
    )


def units_geojson(
    geography: Any,
    *,
    audit: Any = None,
    assignment: Mapping[str, str] | None = None,
    colour_by: ColourBy = "population",
    highlight: Iterable[str] = (),
    locked: Iterable[str] = (),
    floor: int | None = 300_000,
    fill_opacity: float = 0.7,
) -> tuple[str, list[dict[str, Any]]]:
    """The CCG layer as compact GeoJSON text plus its style table.

    Each feature carries ``code``, ``footprint`` (empty when unassigned),
    ``style`` (an index into the style table) and ``tooltip`` (HTML: name, ONS
    and NHS codes, population with what it counts, home LA and LA shares,
    footprint); see :func:`unit_properties`.

    Raises
    ------
    PlanError
        When ``colour_by`` is unknown or the plan names codes not in the geography.
    """
    props, styles = unit_properties(
        geography,
        audit=audit,
        assignment=assignment,
        colour_by=colour_by,
        highlight=highlight,
        locked=locked,
        floor=floor,
        fill_opacity=fill_opacity,
    )
    geoms = _unit_geometries(geography)
    labels = _label_properties(geography)
    features = [
        '{"type":"Feature","properties":'
        + _dumps({**p, **labels[p["code"]]})
        + ',"geometry":'
        + geoms[p["code"]]
        + "}"
        for p in props
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}", styles


# Shared by the layers that fetch their geometry: one request and one parse per URL for the
# life of the page (the layers are re-created on every click; the geometry is not re-read).
_FETCH_JS = """
window.fpFetch = window.fpFetch || function (url) {
    var memo = window.fpFetchMemo = window.fpFetchMemo || {};
    if (!memo[url]) {
        memo[url] = fetch(url).then(function (r) {
            if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
            return r.json();
        });
        memo[url].catch(function () { delete memo[url]; });
    }
    return memo[url];
};
window.fpFailed = window.fpFailed || function (layer, err) {
    console.error("footprint map data:", err);
    var map = layer._map || window.map;
    if (!map || map.fpFailedShown) { return; }
    map.fpFailedShown = true;
    var box = L.control({position: "topleft"});
    box.onAdd = function () {
        var div = L.DomUtil.create("div", "fp-legend");
        div.innerHTML = "<b>The map's boundaries could not be loaded.</b><br>" +
            "Reload the page; your drawing is kept.";
        return div;
    };
    box.addTo(map);
};
"""


# What the units' layer adds over the fills once its features exist: the hatching of locked
# footprints (an SVG pattern, in a layer that ignores the pointer, so a click still reaches
# the unit) and the units' names, each written once the map is zoomed in far enough for it
# to fit ("z"). Both go in a layer group beside the units, so they go when the units do.
_DECORATE_JS = """
window.fpDecorate = window.fpDecorate || function (units, marks, styles) {
    var map = units._map;
    if (!map) {  // not on the map yet: decorate once it is
        units.once("add", function () { window.fpDecorate(units, marks, styles); });
        return;
    }
    var svg = map.getRenderer(units)._container;
    if (svg && !svg.querySelector("#fp-hatch")) {
        var ns = "http://www.w3.org/2000/svg";
        var defs = document.createElementNS(ns, "defs");
        var pat = document.createElementNS(ns, "pattern");
        pat.setAttribute("id", "fp-hatch");
        pat.setAttribute("patternUnits", "userSpaceOnUse");
        pat.setAttribute("width", "7");
        pat.setAttribute("height", "7");
        pat.setAttribute("patternTransform", "rotate(45)");
        var bar = document.createElementNS(ns, "rect");
        bar.setAttribute("width", "2.5");
        bar.setAttribute("height", "7");
        bar.setAttribute("fill", "#000000");
        bar.setAttribute("fill-opacity", "0.45");
        pat.appendChild(bar);
        defs.appendChild(pat);
        svg.insertBefore(defs, svg.firstChild);
    }
    units.eachLayer(function (layer) {
        var p = layer.feature.properties;
        if ((styles[p.style] || {}).hatch) {
            marks.addLayer(L.geoJson(layer.feature, {interactive: false, style: {
                stroke: false, fill: true, fillColor: "url(#fp-hatch)", fillOpacity: 1,
                className: "fp-hatch"}}));
        }
        if (p.label && p.at) {
            var tip = L.tooltip({permanent: true, direction: "center", interactive: false,
                className: "fp-label", opacity: 1}).setLatLng(p.at).setContent(p.label);
            tip.options.fpZ = p.z;
            marks.addLayer(tip);
        }
    });
    var show = function () {
        if (!marks._map) { return; }
        var z = map.getZoom();
        marks.eachLayer(function (m) {
            var el = m.options.fpZ !== undefined && m.getElement && m.getElement();
            if (el) { el.style.display = m.options.fpZ <= z ? "" : "none"; }
        });
    };
    map.on("zoomend", show);
    marks.on("add", show);
    marks.on("remove", function () { map.off("zoomend", show); });
    show();
};
"""


class _UnitsGeoJson(Layer):
    """The CCG polygons: styles by index, one tooltip per feature.

    Inline (``data`` is the whole GeoJSON) or, with ``url``, the geometry is fetched
    once from a static file and only the per-CCG properties travel with each change.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }}_styles = {{ this.styles }};
        var {{ this.get_name() }} = L.geoJson({{ this.data if not this.url else "null" }}, {
            style: function (f) { return {{ this.get_name() }}_styles[f.properties.style]; },
            onEachFeature: function (f, layer) {
                layer.bindTooltip(f.properties.tooltip, {sticky: true, className: "fp-tip"});
            }
        }).addTo({{ this._parent.get_name() }});
        {{ this.decorate_js }}
        var {{ this.get_name() }}_marks = L.layerGroup().addTo({{ this._parent.get_name() }});
        {% if this.url %}
        {{ this.fetch_js }}
        (function (layer, props) {
            window.fpFetch({{ this.url|tojson }}).then(function (fc) {
                layer.addData({type: "FeatureCollection", features: fc.features.filter(
                    function (f) { return props[f.properties.code]; }
                ).map(function (f) {
                    return {type: "Feature", geometry: f.geometry,
                            properties: Object.assign({}, f.properties, props[f.properties.code])};
                })});
                window.fpDecorate(layer, {{ this.get_name() }}_marks,
                    {{ this.get_name() }}_styles);
            }).catch(function (e) { window.fpFailed(layer, e); });
        })({{ this.get_name() }}, {{ this.data }});
        {% else %}
        window.fpDecorate({{ this.get_name() }}, {{ this.get_name() }}_marks,
            {{ this.get_name() }}_styles);
        {% endif %}
        {% if this.on_click %}({{ this.on_click }})({{ this.get_name() }});{% endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: str,
        styles: list[dict[str, Any]],
        *,
        name: str,
        url: str | None = None,
        on_click: str | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=False, show=True)
        self._name = "FpUnits"
        self.data = data
        self.url = url
        self.fetch_js = _FETCH_JS
        self.decorate_js = _DECORATE_JS
        self.on_click = on_click
        self.styles = _dumps(styles)


class _Legend(folium.MacroElement):
    """A legend as a plain HTML Leaflet control that comes and goes with its parent layer.

    Plain HTML on purpose: a branca colormap would make streamlit-folium load d3 from a CDN.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var group = {{ this._parent.get_name() }};
            var legend = L.control({position: "bottomleft"});  // over Wales and the sea, not London
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "fp-legend");
                div.innerHTML = {{ this.html }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            group.on("add", function () { legend.addTo(group._map); });
            group.on("remove", function () { legend.remove(); });
            if (group._map) { legend.addTo(group._map); }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str) -> None:
        super().__init__()
        self._name = "FpLegend"
        self.html_text = html_text
        self.html = _dumps(html_text)


def _swatch(fill: str, *, stroke: str = "#ffffff", dash: bool = False, width: float = 1) -> str:
    border = f"{width}px {'dashed' if dash else 'solid'} {stroke}"
    return f'<span class="fp-sw" style="background:{fill};border:{border}"></span>'


def legend_html(
    geography: Any,
    *,
    colour_by: ColourBy,
    n_footprints: int,
    has_plan: bool,
    floor: int | None,
    crossings: bool,
    highlight: bool,
    n_groups: int = 0,
    locked: bool = False,
) -> str:
    """The legend's HTML: what the colours and outlines mean, and what population counts."""
    label = html.escape(geography.population_label)
    one = html.escape(_unit_words(geography)[0])
    rows: list[str] = []
    if colour_by in _GROUPINGS:
        rows.extend(_group_legend(colour_by, n_groups, one))
    elif colour_by == "floor" and floor:
        rows.extend(_floor_legend(floor, label, one))
    elif colour_by == "population":
        rows.append(f"<b>{one} population</b><br><small>{label}</small>")
        edges = (0, *POPULATION_BREAKS)
        for i, colour in enumerate(POPULATION_COLOURS):
            text = (
                f"{edges[i]:,} – {POPULATION_BREAKS[i]:,}"
                if i < len(POPULATION_BREAKS)
                else f"{edges[i]:,} or more"
            )
            rows.append(f"{_swatch(colour, stroke='#999')} {text}")
    else:
        rows.append(
            f"<b>Footprints: {n_footprints:,}</b><br><small>neighbours differ in colour; "
            f"population = {label}</small>"
        )
        rows.append(
            f"{_swatch(FOOTPRINT_PALETTE[0])}{_swatch(FOOTPRINT_PALETTE[1])}"
            f"{_swatch(FOOTPRINT_PALETTE[2])} in a footprint"
        )
        if floor is not None:
            rows.append(
                f"{_swatch('#ffffff', stroke=BELOW_FLOOR_STROKE, width=2)} footprint below "
                f"{floor:,}"
            )
        rows.append(
            f"{_swatch(UNASSIGNED_FILL, stroke='#333', dash=True, width=2)} unassigned {one}"
        )
    if locked:
        rows.append(
            f"{_swatch(_HATCH_CSS, stroke=LOCKED_STROKE, width=3)} locked footprint (hatched)"
        )
    if highlight:
        rows.append(f"{_swatch('#ffffff', stroke=HIGHLIGHT_STROKE, width=3)} highlighted {one}")
    if getattr(geography, "la_upper", None) is not None:  # no LA layer, no LA lines
        rows.append('<span class="fp-line"></span> upper-tier LA boundary')
    if crossings:
        rows.append(
            f'<span class="fp-dot" style="background:{CROSSING_COLOUR}"></span> {one} '
            "crossing an LA boundary"
        )
    # the title folds the rest away, for when the legend hides part of the map
    return f"<details open><summary>{rows[0]}</summary>{'<br>'.join(rows[1:])}</details>"


def _group_legend(colour_by: str, n_groups: int, one: str) -> list[str]:
    what = {"la": "Upper-tier LAs", "area_team": "NHS Area Teams", "region": "NHS Regions"}
    note = f"each {one} in its home LA" if colour_by == "la" else "neighbours differ in colour"
    return [
        f"<b>{what[colour_by]}: {n_groups:,}</b><br><small>{note}</small>",
        f"{_swatch(FOOTPRINT_PALETTE[3])}{_swatch(FOOTPRINT_PALETTE[4])}"
        f"{_swatch(FOOTPRINT_PALETTE[5])} one colour per group; the tooltip names it",
    ]


def _floor_legend(floor: int, label: str, one: str) -> list[str]:
    rows = [f"<b>Footprint population against the floor</b><br><small>{label}</small>"]
    edges = (0.0, *FLOOR_BREAKS)
    for i, colour in enumerate(FLOOR_COLOURS):
        low = f"{edges[i] * floor:,.0f}"
        text = (
            f"{low} – {FLOOR_BREAKS[i] * floor:,.0f}" if i < len(FLOOR_BREAKS) else f"{low} or more"
        )
        rows.append(f"{_swatch(colour, stroke='#999')} {text}")
    rows.append(f"{_swatch(UNASSIGNED_FILL, stroke='#333', dash=True, width=2)} unassigned {one}")
    return rows


def units_layer(
    geography: Any,
    *,
    audit: Any = None,
    assignment: Mapping[str, str] | None = None,
    colour_by: ColourBy = "population",
    highlight: Iterable[str] = (),
    locked: Iterable[str] = (),
    floor: int | None = 300_000,
    fill_opacity: float = 0.7,
    legend: bool = True,
    name: str = "CCGs",
    data_url: str | None = None,
    on_click: str | None = None,
) -> folium.FeatureGroup:
    """The CCGs as a feature group: coloured polygons with tooltips, plus the legend.

    Parameters
    ----------
    geography
        A :class:`~footprint.geography.Geography` (its ``display_units`` are drawn).
    audit
        The LA audit (``dataset.audit``): adds home LA and LA shares to the tooltips.
    assignment
        Unit code -> footprint name; units missing from it are unassigned.
    colour_by
        ``"footprint"`` (neighbouring footprints differ; unassigned CCGs grey with a
        dashed outline), ``"population"`` (classes of registered patients),
        ``"floor"`` (each footprint's population as a share of ``floor``: reds below,
        blues above), or a grouping: ``"la"`` (each CCG's home upper-tier LA; needs
        ``audit``), ``"area_team"`` or ``"region"`` (neighbouring groups differ). The
        keys of :data:`COLOUR_CHOICES`, whose values say them in words.
    highlight
        Unit codes drawn with a bold black outline (e.g. the CCGs that moved).
    locked
        Locked footprints: a heavy black outline and hatching on the map, "(locked)" in
        the tooltips and a line in the legend.
    floor
        Population floor: footprints below it get a red outline.
    data_url
        A folder URL serving :func:`static_files` of this geography. With it, the
        polygons are fetched from there once (and cached by the browser) and the
        layer itself holds only the per-CCG colours and tooltips (about 60 kB
        instead of 0.8 MB for the 211 CCGs). ``None``: everything inline.
    on_click
        A JavaScript function expression, called with the units' Leaflet layer once it is
        made: how a host (the app) attaches its own click reporting, so that this module
        knows nothing of it.

    Raises
    ------
    PlanError
        When ``colour_by`` is unknown or the plan names unknown codes.
    """
    highlight = tuple(highlight)
    locked = tuple(locked)
    kwargs: dict[str, Any] = dict(
        audit=audit,
        assignment=assignment,
        colour_by=colour_by,
        highlight=highlight,
        locked=locked,
        floor=floor,
        fill_opacity=fill_opacity,
    )
    group = folium.FeatureGroup(name=name, control=False)
    if data_url is None:
        data, styles = units_geojson(geography, **kwargs)
        group.add_child(_UnitsGeoJson(data, styles, name=name, on_click=on_click))
    else:
        props, styles = unit_properties(geography, **kwargs)
        by_code = _dumps({p["code"]: p for p in props})
        url = _folder(data_url) + _static_names(geography)["units"]
        group.add_child(_UnitsGeoJson(by_code, styles, name=name, url=url, on_click=on_click))
    if legend:
        plan = _check_assignment(geography, assignment)
        group.add_child(
            _Legend(
                legend_html(
                    geography,
                    colour_by=colour_by,
                    n_footprints=len(set(plan.values())),
                    has_plan=assignment is not None,
                    floor=floor,
                    crossings=audit is not None and bool(audit.units["crosses"].any()),
                    highlight=bool(highlight),
                    n_groups=len(set(_colour_groups(geography, colour_by, audit).values())),
                    locked=bool(set(map(str, locked)) & set(plan.values())),
                )
            )
        )
    return group


# --- the static base ---------------------------------------------------------------------------


class _LinesLayer(Layer):
    """A boundary overlay drawn as lines in a pane that ignores the pointer (inline or fetched)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data if not this.url else "null" }}, {
            pane: {{ this.pane|tojson }}, interactive: false, style: {{ this.style }}
        });
        {% if this.url %}
        {{ this.fetch_js }}
        window.fpFetch({{ this.url|tojson }}).then(function (d) {
            {{ this.get_name() }}.addData(d);
        }).catch(function (e) { window.fpFailed({{ this.get_name() }}, e); });
        {% endif %}
        {% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: str,
        *,
        name: str,
        style: dict[str, Any],
        show: bool = True,
        url: str | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "FpLines"
        self.data = data
        self.url = url
        self.fetch_js = _FETCH_JS
        self.pane = _LINES_PANE
        self.style = _dumps(style)


class _PointsLayer(Layer):
    """Small circles (no images, no icon fonts) marking units, e.g. those crossing an LA border."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data }}, {
            pane: {{ this.pane|tojson }},
            pointToLayer: function (f, ll) {
                return L.circleMarker(ll, Object.assign({pane: {{ this.pane|tojson }},
                    interactive: false}, {{ this.style }}));
            }
        });
        {% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        {% endmacro %}
        """
    )

    def __init__(self, data: str, *, name: str, style: dict[str, Any], show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "FpPoints"
        self.data = data
        self.pane = _MARKS_PANE
        self.style = _dumps(style)


class _Decor(folium.MacroElement):
    """Background colour, legend and tooltip styles, and the data attribution."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .leaflet-container { background: {{ this.background }}; }
        .fp-legend { background: rgba(255,255,255,0.93); padding: 6px 9px;
            font: 12px/1.45 sans-serif; border-radius: 4px;
            box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-width: 240px; }
        .fp-sw { display: inline-block; width: 14px; height: 11px; margin-right: 3px;
            vertical-align: middle; box-sizing: border-box; }
        .fp-line { display: inline-block; width: 16px; border-top: 2px solid #333;
            vertical-align: middle; margin-right: 3px; }
        .fp-dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%;
            margin: 0 5px 0 3px; vertical-align: middle; border: 1px solid #fff; }
        .fp-tip { font: 12px/1.4 sans-serif; }
        /* a clicked CCG keeps no focus ring: Chromium draws it as its bounding box */
        .leaflet-container path.leaflet-interactive:focus { outline: none; }
        .fp-label { background: rgba(255,255,255,0.78); border: 0; box-shadow: none;
            padding: 0 3px; border-radius: 2px; font: 11px/1.25 sans-serif; color: #1a1a1a;
            white-space: nowrap; }
        .fp-label:before { display: none; }
        .leaflet-control-attribution { font-size: 10px; max-width: 75%; }
        .fp-attr, .fp-attr summary { display: inline; cursor: pointer; }
        .fp-attr summary::-webkit-details-marker { display: none; }
        .fp-attr .fp-more { color: #0078a8; text-decoration: underline; }
        .fp-attr[open] div { display: block; margin-top: 2px; }
        .fp-legend details > summary { cursor: pointer; }
        .leaflet-control-layers { font: 12px/1.4 sans-serif; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.setPrefix(
            '<a href="https://leafletjs.com" target="_blank" rel="noopener">Leaflet</a>');
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.attribution }});
        {% endmacro %}
        """
    )

    def __init__(self, *, attribution: str, background: str) -> None:
        super().__init__()
        self._name = "FpDecor"
        self.attribution = _dumps(attribution)
        self.background = background


def attribution_html(geography: Any) -> str:
    """The map's attribution: one short line that stays visible, the full list on a click.

    The line says what population counts and names the licence; "(sources)" opens
    every attribution statement of the data. The full text is in the page either way.
    """
    entries = [str(e) for e in geography.attribution]
    line = "Population: " + html.escape(geography.population_label)
    licences = sorted((e for e in entries if "licence" in e.lower()), key=len)
    if licences:
        line += " · " + html.escape(licences[0])
    if not entries:
        return line
    body = "<br>".join(html.escape(e) for e in entries)
    return (
        f'<details class="fp-attr"><summary>{line} <span class="fp-more">(sources)</span>'
        f"</summary><div>{body}</div></details>"
    )


def _inside_points(geography: Any) -> dict[str, Any]:
    """Unit code -> a point inside its display polygon (cached per geography)."""
    cache = _cache_for(geography)
    if "inside" not in cache:
        disp = geography.display_units
        cache["inside"] = dict(
            zip(
                disp["code"].astype(str),
                shapely.point_on_surface(disp.geometry.to_numpy()),
                strict=True,
            )
        )
    return cache["inside"]


def _link_lines(geography: Any, links: list[tuple[str, str]]) -> str:
    """Each pair as a straight line between points inside its two units, as GeoJSON."""
    where = _inside_points(geography)
    pairs = [tuple(map(str, p)) for p in links]
    unknown = sorted({c for p in pairs for c in p if c not in where})
    if unknown:
        raise PlanError(
            f"the links to draw name {len(unknown)} unit code(s) that are not in "
            f"{geography.name!r}: {', '.join(unknown[:10])}; pass pairs of this geography's "
            "codes (for example dataset.adjacency.bridges)"
        )
    geom = shapely.MultiLineString([[where[a].coords[0], where[b].coords[0]] for a, b in pairs])
    return '{"type":"Feature","properties":{},"geometry":' + _geojson_texts([geom], 4)[0] + "}"


def _crossing_points(geography: Any, audit: Any) -> str:
    cache = _cache_for(audit)
    key = ("crossing", id(geography))
    if key not in cache:
        crosses = set(audit.units.loc[audit.units["crosses"], "unit_code"].astype(str))
        inside = _inside_points(geography)
        codes = [c for c in inside if c in crosses]
        points = [inside[c] for c in codes]
        feats = [
            '{"type":"Feature","properties":{"code":' + _dumps(c) + '},"geometry":' + p + "}"
            for c, p in zip(codes, _geojson_texts(points, 4), strict=True)
        ]
        cache[key] = '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"
    return cache[key]


def _add_overlays(
    m: folium.Map, geography: Any, *, wanted: Mapping[str, bool], data_url: str | None
) -> None:
    """The boundary overlays asked for (LA tiers, Area Teams, Regions) that the geography
    has, each sent inline or fetched once from ``data_url``."""
    overlays = [
        (
            "la_lower",
            "Lower-tier LA boundaries",
            {"color": "#7f7f7f", "weight": 0.8, "dashArray": "2 3"},
        ),
        ("la_upper", "Upper-tier LA boundaries", {"color": "#333333", "weight": 1.4}),
        (
            "area_team_code",
            "NHS Area Teams" + _group_count(geography, "area_team_code"),
            {"color": "#6a3d9a", "weight": 2.6, "opacity": 0.85},
        ),
        (
            "region_code",
            "NHS Regions" + _group_count(geography, "region_code"),
            {"color": "#000000", "weight": 3.6, "opacity": 0.8},
        ),
    ]
    for key, name, style in overlays:
        if not wanted.get(key):
            continue
        if key not in ("la_upper", "la_lower") and key not in geography.units.columns:
            continue
        data = _boundary_lines(geography, key)
        if not data:
            continue
        if data_url is None:
            _LinesLayer(data, name=name, style=style).add_to(m)
        else:
            url = _folder(data_url) + _static_names(geography)[key]
            _LinesLayer("null", name=name, style=style, url=url).add_to(m)


def base_map(
    geography: Any,
    *,
    audit: Any = None,
    show_upper_tier: bool = True,
    show_lower_tier: bool = False,
    show_area_teams: bool = False,
    show_regions: bool = False,
    show_crossings: bool = True,
    links: Iterable[tuple[str, str]] = (),
    tiles: bool = True,
    leaflet_url: str | None = None,
    data_url: str | None = None,
    height: int | str = "100%",
    location: tuple[float, float] = ENGLAND_CENTRE,
    zoom_start: float = 6.5,
    layer_control: bool = True,
) -> folium.Map:
    """The map without the CCGs: LA boundaries, reference layers, attribution, offline Leaflet.

    Parameters
    ----------
    audit
        The LA audit; with it, CCGs crossing an LA boundary get an orange dot.
    show_upper_tier, show_lower_tier, show_area_teams, show_regions
        Which boundary overlays to send; only these cost bytes. Each can be
        switched off again in the map's layer control.
    links
        Pairs of unit codes joined without a shared border (the adjacency's
        island bridges and river crossings), drawn as dashed lines so that a
        planner sees why a footprint spans water.
    tiles
        Add OpenStreetMap tiles below the polygons. They need internet; without it
        the map keeps a plain light background and everything else draws.
    leaflet_url
        A folder URL that serves Leaflet (see :func:`footprint._assets.leaflet_links`);
        ``None`` embeds Leaflet as ``data:`` URLs so the HTML works on its own.
    data_url
        A folder URL serving :func:`static_files` of this geography: the boundary
        overlays are then fetched from there once rather than sent with the page.
        ``None`` writes them inline.
    """
    js, css = leaflet_links(leaflet_url)
    # Leaflet takes fractional zooms (zoom_snap 0.5); folium's annotation says int
    m = folium.Map(
        location=list(location),
        zoom_start=zoom_start,  # type: ignore[arg-type]
        tiles=None,
        height=height,
        control_scale=True,
        zoom_snap=0.5,
        min_zoom=5,
        max_zoom=14,
    )
    # Only the local Leaflet: drop folium's jQuery, Bootstrap and icon-font CDN links
    # (nothing here uses them) so the page loads nothing from outside the app.
    m.default_js = [("leaflet", js)]
    m.default_css = [("leaflet_css", css)]
    if tiles:
        folium.TileLayer(
            "OpenStreetMap", name="OpenStreetMap (needs internet)", control=True, opacity=0.6
        ).add_to(m)
    CustomPane(_LINES_PANE, z_index=450, pointer_events=False).add_to(m)
    CustomPane(_MARKS_PANE, z_index=460, pointer_events=False).add_to(m)
    _Decor(attribution=attribution_html(geography), background=BACKGROUND).add_to(m)

    _add_overlays(
        m,
        geography,
        wanted={
            "la_lower": show_lower_tier,
            "la_upper": show_upper_tier,
            "area_team_code": show_area_teams,
            "region_code": show_regions,
        },
        data_url=data_url,
    )
    links = list(links)
    if links:
        _LinesLayer(
            _link_lines(geography, links),
            name="Island bridges and river crossings",
            style={"color": LINK_COLOUR, "weight": 2.5, "dashArray": "5 4"},
        ).add_to(m)
    if show_crossings and audit is not None and bool(audit.units["crosses"].any()):
        _PointsLayer(
            _crossing_points(geography, audit),
            name=f"{_unit_words(geography)[1]} crossing an LA boundary",
            style={
                "radius": 4,
                "color": "#ffffff",
                "weight": 1,
                "fillColor": CROSSING_COLOUR,
                "fillOpacity": 1.0,
            },
        ).add_to(m)
    if layer_control:
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def build_map(
    geography: Any,
    *,
    audit: Any = None,
    assignment: Mapping[str, str] | None = None,
    colour_by: ColourBy | None = None,
    highlight: Iterable[str] = (),
    locked: Iterable[str] = (),
    floor: int | None = 300_000,
    show_lower_tier: bool = False,
    show_area_teams: bool = False,
    show_regions: bool = False,
    show_crossings: bool = True,
    links: Iterable[tuple[str, str]] = (),
    tiles: bool = True,
    leaflet_url: str | None = None,
    data_url: str | None = None,
    height: int | str = "100%",
) -> folium.Map:
    """A complete map of the CCGs, coloured by population or by footprint.

    Parameters
    ----------
    geography
        A :class:`~footprint.geography.Geography`.
    audit
        The LA audit (``dataset.audit``): home LA and LA shares in the tooltips,
        orange dots on CCGs that cross an LA boundary.
    assignment
        A plan (unit code -> footprint). With one, CCGs are coloured by footprint
        unless ``colour_by`` says otherwise, and unassigned CCGs stand out.
    colour_by
        One of :data:`COLOUR_CHOICES` (see :func:`units_layer`); by default footprint
        when a plan is given, else population.
    highlight, locked, floor
        See :func:`units_layer`.
    show_lower_tier, show_area_teams, show_regions, show_crossings, links, tiles
        See :func:`base_map`.
    leaflet_url, data_url
        See :func:`base_map`.

    Returns
    -------
    folium.Map
        Save it with ``.save("map.html")``: with ``leaflet_url=None`` the file is
        self-contained and draws offline.
    """
    if colour_by is None:
        colour_by = "footprint" if assignment is not None else "population"
    m = base_map(
        geography,
        audit=audit,
        show_lower_tier=show_lower_tier,
        show_area_teams=show_area_teams,
        show_regions=show_regions,
        show_crossings=show_crossings,
        links=links,
        tiles=tiles,
        leaflet_url=leaflet_url,
        data_url=data_url,
        height=height,
    )
    layer = units_layer(
        geography,
        audit=audit,
        assignment=assignment,
        colour_by=colour_by,
        highlight=highlight,
        locked=locked,
        floor=floor,
        fill_opacity=0.6 if tiles else 0.75,
        data_url=data_url,
    )
    m.add_child(layer)  # its own overlay pane sits below the boundary and marker panes
    return m
