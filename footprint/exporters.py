"""Plans written out: GeoPackage, GeoJSON, shapefile, KML and the plan CSV for other tools; a
print-ready map (PDF, PNG), an HTML report and a table (CSV, Excel) for a meeting.

Every export is built the same way: the assignment is checked against the
geography, units are dissolved into footprints in British National Grid
(EPSG:27700), and a metadata block (data vintage and digest, what the
population counts, the constraints, the solver status, the creation time and
the Open Government Licence attribution) travels inside the file. Geometry is
written by pyogrio into a private temporary folder and read back as bytes, so
the functions return bytes a web app can offer for download and never leave
files behind.

Geometry is clean in every format: footprints are dissolved, holes under 1 km²
(pinholes between generalised boundaries) filled, parts under 0.1 km² dropped
unless a real island, every geometry valid in shapely and GDAL, and coordinates
written in degrees (GeoJSON, KML) snapped to the six decimals written, so no ring
collapses in the file. A footprint has the colour the app's map gives it.

Units the plan leaves unassigned are kept in every assignment table with an
empty footprint and left out of the dissolved footprints; the metadata says so.

Every text attribute written passes through :func:`~footprint._text.clean_name`
(names, codes, labels) or :func:`~footprint._text.clean_text` (metadata values,
which keep their lines), so no control character truncates a GeoPackage or
shapefile field or makes the KML malformed; every text cell of a CSV passes
through :func:`~footprint._text.safe_cell`, so a spreadsheet never runs a name
as a formula; the HTML report escapes every text and draws the map's labels
without mathtext, so ``$5m to $6m`` is shown as typed.

Every exporter takes ``metadata``, a mapping the app fills; these keys are
recognised (any other key is written as it is): ``scenario`` (the plan's name),
``status`` (solver or validation verdict), ``constraints`` (JSON text, a
mapping, or an object with ``to_json()``), ``notes`` and ``source``. Mappings
and lists are written as JSON. An optional ``table`` (the per-footprint summary
of ``footprint.validate.summarise_plan``) adds its columns to the footprints.
A nested plan's ``clusters`` (unit code -> cluster name) add a ``cluster`` column
to the units and the plan CSV, each footprint's cluster names to its row, and a
``clusters`` layer to the GeoPackage.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import html
import io
import json
import logging
import tempfile
import weakref
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ._colours import plan_colours
from ._text import clean_name, clean_text, safe_cell
from ._version import version
from .errors import PlanError
from .plans import clean_plan, write_plan_csv
from .printing import PAPER_SIZES, PrintedMap, render_map

log = logging.getLogger(__name__)

__all__ = [
    "EXPORT_FORMATS",
    "PAPER_SIZES",
    "ExportFormat",
    "export_csv",
    "export_geojson",
    "export_geopackage",
    "export_html_report",
    "export_kml",
    "export_pdf",
    "export_png",
    "export_shapefile_zip",
    "export_table_csv",
    "export_xlsx",
    "footprint_layer",
]

TOOL = f"footprint {version()}"
ANALYSIS_CRS = 27700
UNASSIGNED_NOTE = (
    "units left unassigned are listed in the assignment table with an empty footprint and "
    "are not part of the footprints layer"
)
KML_NS = "http://www.opengis.net/kml/2.2"
#: Interior rings smaller than this (1 km²) are pinholes between generalised boundaries
#: and are filled; no real enclave of a CCG is this small.
MIN_HOLE_M2 = 1_000_000.0
#: Polygon parts smaller than this (0.1 km²) are slivers and are dropped, unless they are a
#: real island: a whole part of a unit's own boundary that touches no other part.
MIN_PART_M2 = 100_000.0
#: Coordinates written in longitude and latitude are on this grid (about 10 cm), so that
#: every ring written is the ring checked (GeoJSON's and KML's six decimals).
DEGREE_GRID = 1e-6

# Per-geography islands (small parts of units that touch no other part); weak keys.
_ISLANDS: weakref.WeakKeyDictionary[Any, shapely.STRtree] = weakref.WeakKeyDictionary()


# --- the shared preparation ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Prepared:
    units: gpd.GeoDataFrame  # unit_code, nhs_code, name, population, footprint, geometry (27700)
    footprints: gpd.GeoDataFrame  # footprint, population, n_units, units, area_km2, [+table]
    metadata: dict[str, str]
    unassigned: list[str]
    colours: dict[str, str]  # footprint -> colour, as on the app's map


def _colours(prep: _Prepared) -> list[str]:
    """One colour per footprint, the one the app's map gives it (:func:`plan_colours`)."""
    return [prep.colours[label] for label in prep.footprints["footprint"]]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if hasattr(value, "to_json") and callable(value.to_json):  # e.g. a Constraints object
        return str(value.to_json())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _flatten(value: object) -> object:
    """List-like cells (units, LAs, problems) as ``; ``-joined text, as files need scalars."""
    if isinstance(value, list | tuple | set | np.ndarray):
        return "; ".join(str(v) for v in value)
    return value


def _check_assignment(geography, assignment: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(assignment, Mapping):
        raise PlanError(
            f"the assignment must map unit codes to footprint labels; received "
            f"{type(assignment).__name__}"
        )
    known = set(geography.units["code"])
    problems: list[str] = []
    unknown = sorted(str(c) for c in assignment if c not in known)
    if unknown:
        problems.append(
            f"{len(unknown)} unit code(s) are not in the geography {geography.name!r}: "
            f"{', '.join(unknown[:15])}"
            + (" …" if len(unknown) > 15 else "")
            + "; is the plan for another geography?"
        )
    bad = [(c, v) for c, v in assignment.items() if v is not None and not isinstance(v, str)]
    for code, label in bad[:15]:
        problems.append(f"unit {code!r} -> {label!r}: footprint labels must be text")
    if problems:
        raise PlanError("Cannot export the plan", problems=problems)
    return clean_plan(assignment)


# --- clean geometry --------------------------------------------------------------------------


def _islands(geography: Any) -> shapely.STRtree:
    """The small real islands of a geography: parts of units that touch no other part.

    Generalised boundaries leave slivers beside a unit (a part that touches a
    neighbour or the unit's own main part); a real island (the Isles of Scilly, a
    tidal island) is a whole part that touches nothing. Only parts under
    :data:`MIN_PART_M2` matter, as larger parts are kept anyway. Cached per geography.
    """
    with contextlib.suppress(KeyError, TypeError):
        return _ISLANDS[geography]
    units = geography.units
    if units.crs is None or units.crs.to_epsg() != ANALYSIS_CRS:
        units = units.to_crs(ANALYSIS_CRS)
    parts = shapely.get_parts(units.geometry.to_numpy())
    left, right = shapely.STRtree(parts).query(parts, predicate="intersects")
    touches = np.zeros(len(parts), dtype=bool)
    touches[left[left != right]] = True
    small = shapely.area(parts) < MIN_PART_M2
    tree = shapely.STRtree(parts[small & ~touches])
    with contextlib.suppress(TypeError):
        _ISLANDS[geography] = tree
    return tree


def _clean_polygons(geom: Any, islands: shapely.STRtree) -> Any:
    """A (multi)polygon without pinholes or slivers, valid in shapely and GDAL.

    Holes under :data:`MIN_HOLE_M2` are filled; parts under :data:`MIN_PART_M2` are
    dropped unless they hold a real island (:func:`_islands`); the largest part is
    kept whatever its size, so a footprint never vanishes. Parts a filled hole
    swallowed are merged back by the final union.
    """
    if geom is None or geom.is_empty:
        return geom
    polys = [
        p
        for p in shapely.get_parts(shapely.make_valid(geom))
        if p.geom_type in ("Polygon", "MultiPolygon")
    ]
    polys = [q for p in polys for q in shapely.get_parts(p)]
    if not polys:
        return shapely.MultiPolygon()
    filled = [
        shapely.Polygon(
            p.exterior, [r for r in p.interiors if shapely.area(shapely.Polygon(r)) >= MIN_HOLE_M2]
        )
        for p in polys
    ]
    largest = max(range(len(filled)), key=lambda i: filled[i].area)
    kept = [
        p
        for i, p in enumerate(filled)
        if i == largest or p.area >= MIN_PART_M2 or len(islands.query(p, predicate="intersects"))
    ]
    out = shapely.union_all(kept) if len(kept) > 1 else kept[0]
    return out if out.is_valid else shapely.make_valid(out)


def _clean_layer(gdf: gpd.GeoDataFrame, islands: shapely.STRtree) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.geometry = [_clean_polygons(g, islands) for g in gdf.geometry]
    return out


def _on_degree_grid(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A layer in EPSG:4326 with its coordinates on :data:`DEGREE_GRID`, still valid.

    Writing six decimals rounds coordinates; a narrow ring rounded by the writer can
    collapse to two distinct points, which GDAL rejects ("Too few points in geometry
    component"). Snapping here, with shapely keeping the output valid and dropping
    what collapses, means the writer's rounding changes nothing.
    """
    out = gdf.to_crs(4326)
    out.geometry = shapely.set_precision(out.geometry.to_numpy(), DEGREE_GRID)
    return out


def footprint_layer(
    geography, assignment: Mapping[str, str], *, table: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """Units dissolved into footprints, in EPSG:27700, one row per footprint.

    Columns ``footprint, population, n_units, units, area_km2`` (``units`` is the
    ``; ``-joined unit codes), plus any further columns of ``table`` (a
    per-footprint summary with a ``footprint`` column, e.g. from
    ``footprint.validate.summarise_plan``), list cells joined as text.

    The geometry is clean, as in every export: holes under 1 km² (pinholes between
    generalised boundaries) are filled and parts under 0.1 km² dropped unless they
    are a real island (a part of a unit that touches no other part), and every
    geometry is valid.
    """
    return _prepare(geography, assignment, metadata=None, table=table).footprints


def _units_frame(geography, plan: Mapping[str, str]) -> gpd.GeoDataFrame:
    """Every unit with its footprint (``""`` when unassigned), in EPSG:27700, sorted by code."""
    src = geography.units
    units = gpd.GeoDataFrame(
        {
            "unit_code": [clean_name(c) for c in src["code"].astype(str)],
            "nhs_code": [clean_name(c) for c in src["nhs_code"]],
            "name": [clean_name(n) for n in src["name"]],
            "population": src["population"].astype("int64").to_numpy(),
            "footprint": [plan.get(c, "") for c in src["code"]],
        },
        geometry=src.geometry.to_numpy(),
        crs=src.crs,
    )
    if units.crs is None or units.crs.to_epsg() != ANALYSIS_CRS:
        units = units.to_crs(ANALYSIS_CRS)
    return units.sort_values("unit_code", kind="stable").reset_index(drop=True)


def _dissolve(units: gpd.GeoDataFrame, islands: shapely.STRtree) -> gpd.GeoDataFrame:
    """The assigned units dissolved into clean footprints, one row per footprint."""
    rows = [
        {
            "footprint": str(label),
            "population": int(group["population"].sum()),
            "n_units": len(group),
            "units": "; ".join(group["unit_code"]),
            "geometry": _clean_polygons(shapely.union_all(group.geometry.to_numpy()), islands),
        }
        for label, group in units[units["footprint"] != ""].groupby("footprint", sort=True)
    ]
    footprints = gpd.GeoDataFrame(
        rows,
        columns=["footprint", "population", "n_units", "units", "geometry"],
        geometry="geometry",
        crs=units.crs,
    )
    footprints["population"] = footprints["population"].astype("int64")
    footprints["n_units"] = footprints["n_units"].astype("int64")
    footprints.insert(4, "area_km2", (footprints.geometry.area / 1e6).round(1))
    return footprints


def _metadata(
    geography,
    metadata: Mapping[str, object] | None,
    *,
    n_units: int,
    n_footprints: int,
    unassigned: list[str],
) -> dict[str, str]:
    meta: dict[str, str] = {
        "title": "Commissioning support footprints",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": TOOL,
        "data": clean_text(geography.name),
        "data_digest": clean_text(geography.source_digest),
        "population": clean_text(geography.population_label),
        "n_units": str(n_units),
        "n_footprints": str(n_footprints),
        "n_unassigned": str(len(unassigned)),
        "unassigned_units": "; ".join(unassigned),
        "unassigned_note": UNASSIGNED_NOTE,
        "crs": "EPSG:27700 (British National Grid, metres)",
    }
    for key, value in (metadata or {}).items():
        meta[clean_name(key) or "key"] = clean_text(_text(value))
    # the licence terms travel with every export, whatever the caller passed
    attribution = [clean_text(a) for a in geography.attribution]
    if "attribution" in meta and meta["attribution"] not in attribution:
        attribution.append(meta["attribution"])
    meta["attribution"] = " | ".join(attribution)
    return meta


def _prepare(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None,
    table: pd.DataFrame | None,
    clusters: Mapping[str, str] | None = None,
) -> _Prepared:
    plan = _check_assignment(geography, assignment)
    units = _units_frame(geography, plan)
    islands = _islands(geography)
    footprints = _dissolve(units, islands)
    if clusters is not None:
        units, footprints = _with_clusters(units, footprints, clusters)
    if table is not None:
        footprints = _merge_table(footprints, table)
    units = _clean_layer(units, islands)
    unassigned = units.loc[units["footprint"] == "", "unit_code"].tolist()
    meta = _metadata(
        geography, metadata, n_units=len(units), n_footprints=len(footprints), unassigned=unassigned
    )
    return _Prepared(units, footprints, meta, unassigned, plan_colours(geography, plan))


def _with_clusters(
    units: gpd.GeoDataFrame, footprints: gpd.GeoDataFrame, clusters: Mapping[str, str]
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A nested plan's second level: each unit's cluster, each footprint's cluster names."""
    plan = clean_plan(clusters)
    units = units.copy()
    units.insert(
        units.columns.get_loc("footprint") + 1,
        "cluster",
        [plan.get(c, "") for c in units["unit_code"]],
    )
    names = units[units["cluster"] != ""].groupby("footprint")["cluster"].unique()
    footprints = footprints.copy()
    footprints.insert(
        footprints.columns.get_loc("units") + 1,
        "clusters",
        ["; ".join(sorted(names.get(fp, []))) for fp in footprints["footprint"]],
    )
    return units, footprints


def _cluster_layer(prep: _Prepared, geography) -> gpd.GeoDataFrame:
    """The clusters dissolved like the footprints, each with the footprint it lies in."""
    units = prep.units[prep.units["cluster"] != ""]
    layer = _dissolve(units.assign(footprint=units["cluster"]), _islands(geography))
    layer = layer.rename(columns={"footprint": "cluster"})
    parent = dict(zip(units["cluster"], units["footprint"], strict=False))
    layer.insert(1, "footprint", [parent[c] for c in layer["cluster"]])
    return layer


def _merge_table(footprints: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
    if "footprint" not in table.columns:
        raise PlanError(
            "the per-footprint table has no 'footprint' column; its columns are "
            f"{', '.join(map(repr, table.columns))}. Pass the table summarise_plan returns"
        )
    side = pd.DataFrame(table.drop(columns=["geometry"], errors="ignore"))
    side.columns = [clean_name(c) or f"column_{i}" for i, c in enumerate(side.columns)]
    extra = [c for c in side.columns if c not in footprints.columns]
    if not extra:
        return footprints
    side = side[["footprint", *extra]].copy()
    # labels are matched as the footprints were built: cleaned, so they meet again
    side["footprint"] = side["footprint"].map(clean_name)
    for col in extra:
        side[col] = side[col].map(_flatten).map(_clean_cell)
    return footprints.merge(side, on="footprint", how="left")


def _clean_cell(value: object) -> object:
    """A text cell without control characters; numbers, booleans and gaps as they are."""
    return clean_name(value) if isinstance(value, str) else value


def _metadata_frame(meta: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"key": list(meta.keys()), "value": list(meta.values())})


def _write(gdf: gpd.GeoDataFrame | pd.DataFrame, path: Path, **kw: Any) -> None:
    pyogrio.write_dataframe(gdf, path, **kw)


# --- formats ---------------------------------------------------------------------------------


def export_geopackage(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """A GeoPackage with three layers, all in EPSG:27700 where spatial.

    ``footprints``: the dissolved footprints with their population and units;
    ``assignment``: every unit (``unit_code, nhs_code, name, population,
    footprint``) with its boundary, unassigned ones with an empty footprint;
    ``metadata``: a ``key, value`` table (data vintage and digest, population
    label, constraints, status, created time, attribution).
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table, clusters=clusters)
    with tempfile.TemporaryDirectory(prefix="footprint-export-") as tmp:
        path = Path(tmp) / "plan.gpkg"
        _write(prep.footprints, path, layer="footprints", driver="GPKG")
        _write(prep.units, path, layer="assignment", driver="GPKG", append=True)
        if clusters is not None:
            _write(
                _cluster_layer(prep, geography), path, layer="clusters", driver="GPKG", append=True
            )
        _write(_metadata_frame(prep.metadata), path, layer="metadata", driver="GPKG", append=True)
        return path.read_bytes()


def export_geojson(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """Dissolved footprints as RFC 7946 GeoJSON (EPSG:4326) with a top-level ``metadata`` member.

    The attribution is repeated in a top-level ``attribution`` list, where
    readers that ignore foreign members still leave it visible in the text.
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table, clusters=clusters)
    with tempfile.TemporaryDirectory(prefix="footprint-export-") as tmp:
        path = Path(tmp) / "footprints.geojson"
        _write(
            _on_degree_grid(prep.footprints),
            path,
            driver="GeoJSON",
            layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "6"},
        )
        body = json.loads(path.read_text(encoding="utf-8"))
    meta = dict(prep.metadata)
    meta["crs"] = "EPSG:4326 (WGS84 longitude/latitude, RFC 7946)"
    out = {
        "type": "FeatureCollection",
        "name": clean_name(meta.get("scenario")) or "footprints",
        "metadata": meta,
        "attribution": list(geography.attribution),
        "features": body["features"],
    }
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _shapefile_names(columns: list[str]) -> dict[str, str]:
    """dBASE field names: at most 10 characters, unique."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in col)[:10] or "field"
        name, i = base, 1
        while name.lower() in used:
            suffix = str(i)
            name = base[: 10 - len(suffix)] + suffix
            i += 1
        used.add(name.lower())
        out[col] = name
    return out


def _dbf_text(value: object) -> str:
    """Text cut to the 254 bytes a dBASE field holds, on a character boundary."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    raw = str(value).encode("utf-8")[:254]
    return raw.decode("utf-8", errors="ignore")


def _readme(meta: Mapping[str, str], *, files: Mapping[str, str]) -> str:
    lines = [meta.get("title", "Commissioning support footprints"), ""]
    lines += [f"{k}: {v}" for k, v in meta.items() if k != "title"]
    lines += ["", "Files:"] + [f"  {name}: {what}" for name, what in files.items()]
    return "\n".join(lines) + "\n"


def export_shapefile_zip(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """A zip of the dissolved footprints as a shapefile (EPSG:27700, with ``.prj``) and notes.

    The shapefile keeps the scalar columns under 10-character field names (the
    list of units does not fit a dBASE field, so membership goes in
    ``assignment.csv``); ``README.txt`` holds the metadata and attribution and
    ``fields.txt`` maps the short field names back to the full ones.
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table, clusters=clusters)
    layer = prep.footprints.drop(columns=["units"])
    cols = [c for c in layer.columns if c != "geometry"]
    names = _shapefile_names(cols)
    layer = layer.rename(columns=names)
    for col in layer.columns:
        if col != "geometry" and (
            layer[col].dtype == object or pd.api.types.is_string_dtype(layer[col])
        ):
            layer[col] = layer[col].map(_dbf_text)
    files = {
        "footprints.shp/.shx/.dbf/.prj/.cpg": "dissolved footprints, EPSG:27700",
        "assignment.csv": "unit_code, nhs_code, name, population, footprint (one row per unit)",
        "fields.txt": "shapefile field name -> full column name",
        "README.txt": "this file",
    }
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="footprint-export-") as tmp:
        shp = Path(tmp) / "footprints.shp"
        _write(layer, shp, driver="ESRI Shapefile", encoding="UTF-8")
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, arcname=part.name)
            zf.writestr("assignment.csv", _table_csv(prep.units.drop(columns="geometry")))
            zf.writestr("fields.txt", "".join(f"{v}\t{k}\n" for k, v in names.items()))
            zf.writestr("README.txt", _readme(prep.metadata, files=files))
    return buf.getvalue()


def _table_csv(frame: pd.DataFrame) -> str:
    """A table as CSV text: text cells through :func:`safe_cell`, numbers left numbers.

    A name such as ``=HYPERLINK(...)`` or ``+cmd|' /C calc'!A0`` is written ``'=HYPERLINK(...)``,
    which a spreadsheet shows as text instead of running it.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in frame.columns])
    for row in frame.itertuples(index=False):
        writer.writerow(
            [
                v
                if isinstance(v, int | float | np.integer | np.floating)
                and not isinstance(v, bool | np.bool_)
                else safe_cell(v)
                for v in row
            ]
        )
    return buf.getvalue()


def export_csv(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """The plan as ``unit_code,footprint`` CSV, sorted by unit code; codes stay text (``00C``).

    Every unit of the geography has a row; unassigned units have an empty
    footprint. Metadata is not written (the file is meant to be read back as a
    plan); use the GeoPackage or report for the provenance.
    """
    plan = _check_assignment(geography, assignment)
    # one writer for plan files: the import (plans.read_plan_csv) reads exactly this back
    return write_plan_csv(
        plan, codes=sorted(geography.units["code"].astype(str)), clusters=clusters
    )


# --- KML -------------------------------------------------------------------------------------


def _kml_colour(hex_rgb: str, alpha: int) -> str:
    r, g, b = hex_rgb[1:3], hex_rgb[3:5], hex_rgb[5:7]
    return f"{alpha:02x}{b}{g}{r}"


def _kml_ring(parent: ET.Element, tag: str, ring) -> None:
    coords = " ".join(f"{x:.6f},{y:.6f}" for x, y in np.asarray(ring.coords)[:, :2])
    boundary = ET.SubElement(parent, f"{{{KML_NS}}}{tag}")
    lr = ET.SubElement(boundary, f"{{{KML_NS}}}LinearRing")
    ET.SubElement(lr, f"{{{KML_NS}}}coordinates").text = coords


def _kml_polygon(parent: ET.Element, poly) -> None:
    el = ET.SubElement(parent, f"{{{KML_NS}}}Polygon")
    _kml_ring(el, "outerBoundaryIs", poly.exterior)
    for hole in poly.interiors:
        _kml_ring(el, "innerBoundaryIs", hole)


def export_kml(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """Footprints as KML placemarks (one per footprint) for Google Earth and similar viewers.

    Each placemark is named after its footprint, describes its population and
    units, and carries them as ``ExtendedData``; the document description holds
    the metadata and attribution. Written with :mod:`xml.etree`, so names with
    ``&``, ``<`` or quotes are escaped properly.
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table, clusters=clusters)
    ET.register_namespace("", KML_NS)
    k = f"{{{KML_NS}}}"
    root = ET.Element(f"{k}kml")
    doc = ET.SubElement(root, f"{k}Document")
    ET.SubElement(doc, f"{k}name").text = clean_name(prep.metadata.get("scenario")) or "Footprints"
    ET.SubElement(doc, f"{k}description").text = "\n".join(
        f"{key}: {value}" for key, value in prep.metadata.items() if value
    )
    fps = _on_degree_grid(prep.footprints)
    label = prep.metadata["population"]
    for i, colour in enumerate(_colours(prep)):
        style = ET.SubElement(doc, f"{k}Style", id=f"fp{i}")
        line = ET.SubElement(style, f"{k}LineStyle")
        ET.SubElement(line, f"{k}color").text = _kml_colour("#333333", 255)
        ET.SubElement(line, f"{k}width").text = "1"
        poly = ET.SubElement(style, f"{k}PolyStyle")
        ET.SubElement(poly, f"{k}color").text = _kml_colour(colour, 0x99)
    for i, row in enumerate(fps.itertuples(index=False)):
        pm = ET.SubElement(doc, f"{k}Placemark")
        ET.SubElement(pm, f"{k}name").text = row.footprint
        ET.SubElement(
            pm, f"{k}description"
        ).text = f"Population ({label}): {row.population:,}\nUnits ({row.n_units}): {row.units}"
        ET.SubElement(pm, f"{k}styleUrl").text = f"#fp{i}"
        data = ET.SubElement(pm, f"{k}ExtendedData")
        keys = ("footprint", "population", "n_units", "units", "clusters", "area_km2")
        for key in (k for k in keys if k in fps.columns):
            d = ET.SubElement(data, f"{k}Data", name=key)
            ET.SubElement(d, f"{k}value").text = clean_name(getattr(row, key))
        geom = row.geometry
        polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon"]
        if len(polys) == 1:
            _kml_polygon(pm, polys[0])
        else:
            multi = ET.SubElement(pm, f"{k}MultiGeometry")
            for p in polys:
                _kml_polygon(multi, p)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- HTML report -----------------------------------------------------------------------------


def _printed(prep: _Prepared) -> PrintedMap:
    """What the print-ready map draws, from the shared preparation."""
    meta = prep.metadata
    return PrintedMap(
        units=prep.units,
        footprints=prep.footprints,
        colours=prep.colours,
        title=clean_name(meta.get("scenario")) or "Unnamed plan",
        date=meta["created"][:10],
        population_label=meta["population"],
        attribution=tuple(meta["attribution"].split(" | ")),
    )


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;width:100%}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em}
img{max-width:100%;height:auto;border:1px solid #eee}
.small{font-size:.85em;color:#555}
"""


def _number(value: float) -> str:
    """Floats for people: ``12,346`` for areas, three significant figures for ratios."""
    if np.isnan(value):
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _html_table(frame: pd.DataFrame) -> str:
    out = ['<table class="footprints">', "<thead><tr>"]
    out += [f"<th>{html.escape(clean_name(c))}</th>" for c in frame.columns]
    out.append("</tr></thead><tbody>")
    for row in frame.itertuples(index=False):
        out.append("<tr>")
        for value in row:
            if isinstance(value, bool | np.bool_):
                out.append(f"<td>{'yes' if value else 'no'}</td>")
            elif isinstance(value, int | np.integer):
                out.append(f'<td class="num">{int(value):,}</td>')
            elif isinstance(value, float | np.floating):
                out.append(f'<td class="num">{_number(float(value))}</td>')
            else:
                out.append(f"<td>{html.escape(clean_text(_text(_flatten(value))))}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def export_html_report(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """One self-contained HTML page describing the plan, to print or e-mail.

    Title, scenario name (``metadata["scenario"]``), status
    (``metadata["status"]``), a static map of the footprints (a PNG embedded as
    a data URI), the per-footprint table (``table`` when given, else the
    population, units and area computed here), the constraints
    (``metadata["constraints"]``), the other metadata and the attribution. No
    scripts, stylesheets or images are fetched from anywhere.
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table, clusters=clusters)
    meta = prep.metadata
    scenario = clean_name(meta.get("scenario")) or "Unnamed plan"
    status = clean_name(meta.get("status")) or "not stated"
    png = render_map(_printed(prep), paper="A4", image_format="png", dpi=120)
    img = base64.b64encode(png).decode("ascii")

    if table is not None:
        shown = pd.DataFrame(table).drop(columns=["geometry"], errors="ignore")
    else:
        shown = pd.DataFrame(prep.footprints.drop(columns="geometry"))
        names = dict(zip(prep.units["unit_code"], prep.units["name"], strict=True))
        shown["unit_names"] = [
            "; ".join(names[c] for c in units.split("; ")) for units in shown["units"]
        ]
    constraints = meta.get("constraints", "")
    with contextlib.suppress(TypeError, ValueError):
        constraints = json.dumps(json.loads(constraints), indent=2, sort_keys=True)
    total = int(prep.units["population"].sum())
    assigned = int(prep.footprints["population"].sum()) if len(prep.footprints) else 0
    skip = {"title", "scenario", "status", "constraints", "attribution", "unassigned_units"}
    meta_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in meta.items()
        if k not in skip
    )
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(meta['title'])}: {e(scenario)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(meta['title'])}</h1>",
        f"<p><strong>Scenario:</strong> {e(scenario)}<br><strong>Status:</strong> {e(status)}"
        f"<br><strong>Data:</strong> {e(meta['data'])} (digest {e(meta['data_digest'])})"
        f"<br><strong>Created:</strong> {e(meta['created'])}</p>",
        f"<p>{len(prep.footprints)} footprints covering {len(prep.units) - len(prep.unassigned)}"
        f" of {len(prep.units)} units; {assigned:,} of {total:,} {e(meta['population'])}.</p>",
    ]
    if prep.unassigned:
        parts.append(
            f"<p><strong>Unassigned units ({len(prep.unassigned)}):</strong> "
            f"{e(meta['unassigned_units'])} (hatched grey on the map).</p>"
        )
    if meta.get("notes"):
        parts.append(f"<h2>Notes</h2><p>{e(meta['notes'])}</p>")
    parts += [
        "<h2>Map</h2>",
        f'<img alt="Map of the footprints of {e(scenario)}" src="data:image/png;base64,{img}">',
        f'<h2>Footprints</h2><p class="small">Population: {e(meta["population"])}.</p>',
        _html_table(shown),
        "<h2>Constraints</h2>",
        f"<pre>{e(constraints) or 'not stated'}</pre>",
        "<h2>About this export</h2>",
        f'<table class="meta">{meta_rows}</table>',
        "<h2>Attribution</h2><ul>",
        *[f"<li>{e(a)}</li>" for a in meta["attribution"].split(" | ")],
        "</ul></body></html>",
    ]
    return "\n".join(parts).encode("utf-8")


# --- the print-ready map --------------------------------------------------------------------


def export_pdf(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
    paper: str = "A4",
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """The plan as a one-page print-ready PDF map, landscape ``paper`` ("A4" or "A3").

    Footprints in the app's colours labelled with their names and populations, a
    legend, a London inset, a scale bar, the scenario's name (``metadata["scenario"]``)
    and date, what the population counts and the attribution
    (:mod:`footprint.printing`). ``table`` is accepted for a common signature, and
    ``clusters`` too (the printed map draws the footprints; their clusters are not drawn).
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table, clusters=clusters)
    return render_map(_printed(prep), paper=paper, image_format="pdf")


def export_png(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
    paper: str = "A4",
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """The print-ready map of :func:`export_pdf` as a PNG at 200 dpi (A4: 2,338 x 1,654 px)."""
    prep = _prepare(geography, assignment, metadata=metadata, table=table, clusters=clusters)
    return render_map(_printed(prep), paper=paper, image_format="png")


# --- the spreadsheet table ------------------------------------------------------------------

# Per-geography unit -> home LA name (the upper-tier LA holding most of the unit); weak keys.
_HOME_LA: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def _home_las(geography) -> dict[str, str]:
    """Unit code -> the name of the upper-tier LA holding most of it ({} without LAs)."""
    if not geography.has_la_layer:
        return {}
    with contextlib.suppress(KeyError, TypeError):
        return _HOME_LA[geography]
    from .audit import audit_la

    units = audit_la(geography).units.dropna(subset=["home_la_name"])
    out = dict(zip(units["unit_code"].astype(str), units["home_la_name"].astype(str), strict=True))
    with contextlib.suppress(TypeError):
        _HOME_LA[geography] = out
    return out


def _plan_table(geography, prep: _Prepared) -> pd.DataFrame:
    """One row per unit (grouped by footprint), then one row per footprint: a reader's table.

    Columns: what the row is, the unit's code, NHS code and name, its footprint, its
    population (headed with what it counts), and, where the geography has them, its
    LA and Area Team by name. A footprint's row has its total population, its unit
    count in the name column and its LAs and Area Teams joined.
    """
    unit_word, units_word = str(geography.unit_label), str(geography.unit_label_plural)
    units = pd.DataFrame(prep.units.drop(columns="geometry"))
    src = geography.units.assign(code=geography.units["code"].astype(str)).set_index("code")
    las = _home_las(geography)
    teams = dict(src["area_team"].dropna().astype(str)) if "area_team" in src else {}
    units["la"] = units["unit_code"].map(lambda c: clean_name(las.get(c, "")))
    units["team"] = units["unit_code"].map(lambda c: clean_name(teams.get(c, "")))
    units["row"] = unit_word
    units = units.sort_values(["footprint", "name", "unit_code"], kind="stable")
    rows: list[pd.DataFrame] = []
    for label, group in units[units["footprint"] != ""].groupby("footprint", sort=True):
        count = f"{len(group)} {unit_word if len(group) == 1 else units_word}"
        rows += [group, _footprint_row(str(label), group, count)]
    rows.append(units[units["footprint"] == ""])  # unassigned units last
    out = pd.concat(rows, ignore_index=True)
    headers = {
        "row": "Row",
        "unit_code": f"{unit_word} code",
        "nhs_code": "NHS code",
        "name": f"{unit_word} name",
        "footprint": "Footprint",
        "population": f"Population ({prep.metadata['population']})",
        "la": "Local authority",
        "team": "Area Team",
    }
    keep = [c for c in headers if c not in ("la", "team") or out[c].fillna("").astype(bool).any()]
    out = out[keep].rename(columns=headers)
    out[headers["population"]] = out[headers["population"]].astype("int64")
    return out.fillna("")


def _footprint_row(label: str, units: pd.DataFrame, count: str) -> pd.DataFrame:
    """A footprint's row of the table: its total population, unit count, LAs and Area Teams."""
    return pd.DataFrame(
        [
            {
                "row": "Footprint total",
                "footprint": label,
                "name": count,
                "population": int(units["population"].sum()),
                "la": "; ".join(sorted({v for v in units["la"] if v})),
                "team": "; ".join(sorted({v for v in units["team"] if v})),
            }
        ]
    )


def _about_lines(prep: _Prepared) -> list[str]:
    meta = prep.metadata
    return [
        f"Scenario: {clean_name(meta.get('scenario')) or 'Unnamed plan'}",
        f"Created: {meta['created']} by {meta['tool']}",
        f"Data: {meta['data']}",
        f"Population: {meta['population']}",
        *(f"Attribution: {a}" for a in meta["attribution"].split(" | ")),
    ]


def export_table_csv(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """The plan as a table for a spreadsheet: UTF-8 CSV with a byte order mark (Excel).

    One row per unit (code, NHS code, name, footprint, population, LA and Area
    Team by name) grouped by footprint, each group followed by its footprint's row
    (total population, LAs, Area Teams); then a blank line and the scenario, date,
    what the population counts and the attribution. Every text cell passes through
    :func:`~footprint._text.safe_cell`, so no name runs as a formula. This is a
    report: the two-column plan CSV (:func:`export_csv`) is the file to import.
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table, clusters=clusters)
    body = _table_csv(_plan_table(geography, prep))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([])
    for line in _about_lines(prep):
        writer.writerow([safe_cell(line)])
    return ("\ufeff" + body + buf.getvalue()).encode("utf-8")


def export_xlsx(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """The table of :func:`export_table_csv` as an Excel workbook (openpyxl).

    Sheet ``Plan``: the table with a bold, frozen header, a filter, populations as
    numbers with thousands separators, and the attribution below it; sheet
    ``About``: every metadata key and value. Text is stored as text (never a formula).
    """
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    prep = _prepare(geography, assignment, metadata=metadata, table=table, clusters=clusters)
    frame = _plan_table(geography, prep)
    wb = Workbook()
    ws = wb.active
    ws.title = "Plan"
    _xlsx_rows(ws, [list(frame.columns)])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    _xlsx_rows(ws, frame.itertuples(index=False))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for i, col in enumerate(frame.columns, start=1):
        width = max([len(str(col)), *(len(str(v)) for v in frame[col])]) + 2
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width, 60)
    _xlsx_rows(ws, [[""], *([line] for line in _about_lines(prep))])
    about = wb.create_sheet("About")
    _xlsx_rows(about, [["key", "value"], *prep.metadata.items()])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_rows(ws: Any, rows: Any) -> None:
    """Rows added below the sheet's last; text stays text (openpyxl reads ``=...`` as a formula)."""
    for values in rows:
        r = ws.max_row + 1 if ws.max_row > 1 or ws.cell(row=1, column=1).value is not None else 1
        for i, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=i)
            if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
                value, bool | np.bool_
            ):
                cell.value = value
                cell.number_format = "#,##0"
            else:
                cell.value = clean_name(value)
                cell.data_type = "s"


# --- registry for the app --------------------------------------------------------------------


Exporter = Callable[..., bytes]


@dataclass(frozen=True)
class ExportFormat:
    """One download the app offers: button label, file extension, MIME type and exporter.

    ``audience`` is ``"gis"`` for files other tools read (GeoPackage, KML...) or
    ``"meeting"`` for what people read (the printed map, the report, the table);
    ``options`` names the keyword options the exporter takes beyond the common ones
    (``("paper",)`` for the printed map).
    """

    label: str
    extension: str
    mime: str
    function: Exporter
    audience: str = "gis"
    options: tuple[str, ...] = ()


EXPORT_FORMATS: dict[str, ExportFormat] = {
    "gpkg": ExportFormat(
        "GeoPackage", ".gpkg", "application/geopackage+sqlite3", export_geopackage
    ),
    "geojson": ExportFormat("GeoJSON", ".geojson", "application/geo+json", export_geojson),
    "shapefile": ExportFormat("Shapefile (zip)", ".zip", "application/zip", export_shapefile_zip),
    "kml": ExportFormat("KML", ".kml", "application/vnd.google-earth.kml+xml", export_kml),
    "csv": ExportFormat("Plan CSV", ".csv", "text/csv", export_csv),
    "pdf": ExportFormat("Map (PDF)", ".pdf", "application/pdf", export_pdf, "meeting", ("paper",)),
    "png": ExportFormat("Map (PNG)", ".png", "image/png", export_png, "meeting", ("paper",)),
    "html": ExportFormat("HTML report", ".html", "text/html", export_html_report, "meeting"),
    "xlsx": ExportFormat(
        "Table (Excel)",
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        export_xlsx,
        "meeting",
    ),
    "table_csv": ExportFormat("Table (CSV)", "-table.csv", "text/csv", export_table_csv, "meeting"),
}
"""Every export, by key; :mod:`footprint._cli_export` and the app's Export section both
write from here, so a file made by a script is the file the app makes."""
