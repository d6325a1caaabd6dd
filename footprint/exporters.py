"""Plans written out for other tools: GeoPackage, GeoJSON, shapefile, CSV, KML and an HTML report.

Every export is built the same way: the assignment is checked against the
geography, units are dissolved into footprints in British National Grid
(EPSG:27700), and a metadata block (data vintage and digest, what the
population counts, the constraints, the solver status, the creation time and
the Open Government Licence attribution) travels inside the file. Geometry is
written by pyogrio into a private temporary folder and read back as bytes, so
the functions return bytes a web app can offer for download and never leave
files behind.

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

from ._colours import colour_apart
from ._text import clean_name, clean_text, safe_cell
from ._version import version
from .errors import PlanError
from .plans import clean_plan, write_plan_csv

log = logging.getLogger(__name__)

__all__ = [
    "EXPORT_FORMATS",
    "ExportFormat",
    "export_csv",
    "export_geojson",
    "export_geopackage",
    "export_html_report",
    "export_kml",
    "export_shapefile_zip",
    "footprint_layer",
]

TOOL = f"footprint {version()}"
ANALYSIS_CRS = 27700
UNASSIGNED_NOTE = (
    "units left unassigned are listed in the assignment table with an empty footprint and "
    "are not part of the footprints layer"
)
KML_NS = "http://www.opengis.net/kml/2.2"


def _colours(footprints: gpd.GeoDataFrame) -> list[str]:
    """One colour per footprint, the same as on the app's map, such that touching ones differ.

    Neighbouring footprints in similar colours read as one; the shared palette and
    choice (:mod:`footprint._colours`) keep touching footprints apart and give a
    footprint the colour it has in the app.
    """
    labels = [str(f) for f in footprints["footprint"]]
    touching: dict[str, set[str]] = {lab: set() for lab in labels}
    if len(labels) > 1:
        left, right = footprints.sindex.query(footprints.geometry, predicate="intersects")
        for i, j in zip(left, right, strict=True):
            if i != j:
                touching[labels[int(i)]].add(labels[int(j)])
    colours = colour_apart(labels, touching)
    return [colours[lab] for lab in labels]


# --- the shared preparation ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Prepared:
    units: gpd.GeoDataFrame  # unit_code, nhs_code, name, population, footprint, geometry (27700)
    footprints: gpd.GeoDataFrame  # footprint, population, n_units, units, area_km2, [+table]
    metadata: dict[str, str]
    unassigned: list[str]


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


def footprint_layer(
    geography, assignment: Mapping[str, str], *, table: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """Units dissolved into footprints, in EPSG:27700, one row per footprint.

    Columns ``footprint, population, n_units, units, area_km2`` (``units`` is the
    ``; ``-joined unit codes), plus any further columns of ``table`` (a
    per-footprint summary with a ``footprint`` column, e.g. from
    ``footprint.validate.summarise_plan``), list cells joined as text.
    """
    return _prepare(geography, assignment, metadata=None, table=table).footprints


def _prepare(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None,
    table: pd.DataFrame | None,
) -> _Prepared:
    plan = _check_assignment(geography, assignment)
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
    units = units.sort_values("unit_code", kind="stable").reset_index(drop=True)
    unassigned = units.loc[units["footprint"] == "", "unit_code"].tolist()

    assigned = units[units["footprint"] != ""]
    rows = []
    for label, group in assigned.groupby("footprint", sort=True):
        rows.append(
            {
                "footprint": str(label),
                "population": int(group["population"].sum()),
                "n_units": len(group),
                "units": "; ".join(group["unit_code"]),
                "geometry": shapely.union_all(group.geometry.to_numpy()),
            }
        )
    footprints = gpd.GeoDataFrame(
        rows,
        columns=["footprint", "population", "n_units", "units", "geometry"],
        geometry="geometry",
        crs=units.crs,
    )
    footprints["population"] = footprints["population"].astype("int64")
    footprints["n_units"] = footprints["n_units"].astype("int64")
    footprints.insert(4, "area_km2", (footprints.geometry.area / 1e6).round(1))
    if table is not None:
        footprints = _merge_table(footprints, table)

    meta: dict[str, str] = {
        "title": "Commissioning support footprints",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": TOOL,
        "data": clean_text(geography.name),
        "data_digest": clean_text(geography.source_digest),
        "population": clean_text(geography.population_label),
        "n_units": str(len(units)),
        "n_footprints": str(len(footprints)),
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
    return _Prepared(units, footprints, meta, unassigned)


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
) -> bytes:
    """A GeoPackage with three layers, all in EPSG:27700 where spatial.

    ``footprints``: the dissolved footprints with their population and units;
    ``assignment``: every unit (``unit_code, nhs_code, name, population,
    footprint``) with its boundary, unassigned ones with an empty footprint;
    ``metadata``: a ``key, value`` table (data vintage and digest, population
    label, constraints, status, created time, attribution).
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table)
    with tempfile.TemporaryDirectory(prefix="footprint-export-") as tmp:
        path = Path(tmp) / "plan.gpkg"
        _write(prep.footprints, path, layer="footprints", driver="GPKG")
        _write(prep.units, path, layer="assignment", driver="GPKG", append=True)
        _write(_metadata_frame(prep.metadata), path, layer="metadata", driver="GPKG", append=True)
        return path.read_bytes()


def export_geojson(
    geography,
    assignment: Mapping[str, str],
    *,
    metadata: Mapping[str, object] | None = None,
    table: pd.DataFrame | None = None,
) -> bytes:
    """Dissolved footprints as RFC 7946 GeoJSON (EPSG:4326) with a top-level ``metadata`` member.

    The attribution is repeated in a top-level ``attribution`` list, where
    readers that ignore foreign members still leave it visible in the text.
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table)
    with tempfile.TemporaryDirectory(prefix="footprint-export-") as tmp:
        path = Path(tmp) / "footprints.geojson"
        _write(
            prep.footprints.to_crs(4326),
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
) -> bytes:
    """A zip of the dissolved footprints as a shapefile (EPSG:27700, with ``.prj``) and notes.

    The shapefile keeps the scalar columns under 10-character field names (the
    list of units does not fit a dBASE field, so membership goes in
    ``assignment.csv``); ``README.txt`` holds the metadata and attribution and
    ``fields.txt`` maps the short field names back to the full ones.
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table)
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
) -> bytes:
    """The plan as ``unit_code,footprint`` CSV, sorted by unit code; codes stay text (``00C``).

    Every unit of the geography has a row; unassigned units have an empty
    footprint. Metadata is not written (the file is meant to be read back as a
    plan); use the GeoPackage or report for the provenance.
    """
    plan = _check_assignment(geography, assignment)
    # one writer for plan files: the import (plans.read_plan_csv) reads exactly this back
    return write_plan_csv(plan, codes=sorted(geography.units["code"].astype(str)))


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
) -> bytes:
    """Footprints as KML placemarks (one per footprint) for Google Earth and similar viewers.

    Each placemark is named after its footprint, describes its population and
    units, and carries them as ``ExtendedData``; the document description holds
    the metadata and attribution. Written with :mod:`xml.etree`, so names with
    ``&``, ``<`` or quotes are escaped properly.
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table)
    ET.register_namespace("", KML_NS)
    k = f"{{{KML_NS}}}"
    root = ET.Element(f"{k}kml")
    doc = ET.SubElement(root, f"{k}Document")
    ET.SubElement(doc, f"{k}name").text = clean_name(prep.metadata.get("scenario")) or "Footprints"
    ET.SubElement(doc, f"{k}description").text = "\n".join(
        f"{key}: {value}" for key, value in prep.metadata.items() if value
    )
    fps = prep.footprints.to_crs(4326)
    label = prep.metadata["population"]
    for i, colour in enumerate(_colours(prep.footprints)):
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
        for key in ("footprint", "population", "n_units", "units", "area_km2"):
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


def _map_png(prep: _Prepared, *, title: str) -> bytes:
    """A static map of the footprints, drawn off-screen (no pyplot, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 9), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    units = prep.units
    unassigned = units[units["footprint"] == ""]
    if len(unassigned):
        unassigned.plot(ax=ax, color="#eeeeee", edgecolor="#999999", linewidth=0.3, hatch="//")
    fps = prep.footprints
    if len(fps):
        fps.plot(ax=ax, color=_colours(fps), edgecolor="#444444", linewidth=0.4)
        if len(fps) <= 60:
            points = fps.geometry.representative_point()
            for label, pt in zip(fps["footprint"], points, strict=True):
                ax.annotate(
                    label,
                    (pt.x, pt.y),
                    ha="center",
                    va="center",
                    fontsize=6,
                    parse_math=False,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
                )
    ax.set_axis_off()
    ax.set_aspect("equal")
    # parse_math=False: "$5m to $6m" is money, not mathematics, and "$x$" must not fail
    ax.set_title(title, fontsize=11, parse_math=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


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
) -> bytes:
    """One self-contained HTML page describing the plan, to print or e-mail.

    Title, scenario name (``metadata["scenario"]``), status
    (``metadata["status"]``), a static map of the footprints (a PNG embedded as
    a data URI), the per-footprint table (``table`` when given, else the
    population, units and area computed here), the constraints
    (``metadata["constraints"]``), the other metadata and the attribution. No
    scripts, stylesheets or images are fetched from anywhere.
    """
    prep = _prepare(geography, assignment, metadata=metadata, table=table)
    meta = prep.metadata
    scenario = clean_name(meta.get("scenario")) or "Unnamed plan"
    status = clean_name(meta.get("status")) or "not stated"
    png = _map_png(prep, title=f"{scenario}: {len(prep.footprints)} footprints")
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


# --- registry for the app --------------------------------------------------------------------


Exporter = Callable[..., bytes]


@dataclass(frozen=True)
class ExportFormat:
    """One download the app offers: button label, file extension, MIME type and exporter."""

    label: str
    extension: str
    mime: str
    function: Exporter


EXPORT_FORMATS: dict[str, ExportFormat] = {
    "gpkg": ExportFormat(
        "GeoPackage", ".gpkg", "application/geopackage+sqlite3", export_geopackage
    ),
    "geojson": ExportFormat("GeoJSON", ".geojson", "application/geo+json", export_geojson),
    "shapefile": ExportFormat("Shapefile (zip)", ".zip", "application/zip", export_shapefile_zip),
    "csv": ExportFormat("Plan CSV", ".csv", "text/csv", export_csv),
    "kml": ExportFormat("KML", ".kml", "application/vnd.google-earth.kml+xml", export_kml),
    "html": ExportFormat("HTML report", ".html", "text/html", export_html_report),
}
