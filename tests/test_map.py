"""The map builder: offline Leaflet, payload size, tooltips, styles, legend, click parsing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import pytest
import shapely

from footprint.errors import PlanError
from footprint.map import (
    POPULATION_COLOURS,
    UNASSIGNED_FILL,
    base_map,
    build_map,
    footprint_colours,
    static_files,
    unit_properties,
    units_geojson,
    units_layer,
    write_static_files,
)

CDN_HOSTS = (
    "cdn.jsdelivr.net",
    "cdnjs.cloudflare.com",
    "unpkg.com",
    "code.jquery.com",
    "netdna.bootstrapcdn.com",
    "d3js.org",
)


def _features(data: str) -> list[dict]:
    return json.loads(data)["features"]


def test_units_layer_is_small_and_carries_only_what_the_browser_needs(geography, dataset) -> None:
    data, _styles = units_geojson(geography, audit=dataset.audit)
    size = len(data.encode("utf-8"))
    assert size < 1_000_000, f"CCG layer is {size:,} bytes"
    assert '": ' not in data and "], [" not in data  # compact JSON
    feats = _features(data)
    assert len(feats) == 211
    assert set(feats[0]["properties"]) == {
        "code",
        "footprint",
        "style",
        "tooltip",
        "label",  # the name written on the map when zoomed in, where, and from which zoom
        "at",
        "z",
    }
    # coordinates at 1e-5 degree at most, written short (no 2.3399200000000002)
    coords = re.findall(r"-?\d+\.(\d+)", data)
    assert max(len(d) for d in coords) <= 5


def test_static_files_carry_the_geometry_once(geography, dataset) -> None:
    files = static_files(geography)
    names = sorted(files)
    assert [n.split("-")[0] for n in names] == sorted(
        ["units", "la_upper", "la_lower", "area_team_code", "region_code"]
    )
    assert all(re.fullmatch(r"[a-z_]+-[0-9a-f]{16}\.json", n) for n in names)
    units = json.loads(files[next(n for n in names if n.startswith("units-"))])
    assert len(units["features"]) == 211
    # the code, and the unit's name on the map (which never changes while a plan is drawn)
    assert {tuple(f["properties"]) for f in units["features"]} == {("code", "label", "at", "z")}
    assert static_files(geography) == files  # stable names: a browser may cache them


def test_static_files_written_by_many_sessions_at_once(tmp_path) -> None:
    """Each app session writes the files on its first draw; they must not trip over each other."""
    import threading

    from helpers import grid_units, population_table

    from footprint.geography import build_geography

    units = grid_units(4, 4)
    units["geometry"] = units.translate(400_000, 280_000)  # in England, for the display CRS
    geo = build_geography(
        units,
        population_table(units["code"], [100_000] * 16),
        code_column="code",
        population_column="population",
        name="Tiny grid",
    )
    expected = static_files(geo)
    for round_ in range(20):
        folder = tmp_path / f"round{round_}"  # empty (not even created) at the start
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def draw(folder=folder, barrier=barrier, errors=errors) -> None:
            barrier.wait()
            try:
                write_static_files(geo, folder)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=draw) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == expected  # no temp files
    # a file cut short (a full disk) is written again; a whole one is left alone
    first = next(iter(sorted(expected)))
    (folder / first).write_bytes(b"{")
    paths = write_static_files(geo, folder)
    assert sorted(p.name for p in paths) == sorted(expected)
    assert (folder / first).read_bytes() == expected[first]


def test_with_a_data_url_each_change_sends_only_the_properties(geography, dataset) -> None:
    plan = {"E38000001": "North"}
    group = units_layer(
        geography,
        audit=dataset.audit,
        assignment=plan,
        colour_by="footprint",
        data_url="../app.mapdata",
    )
    m = base_map(
        geography,
        audit=dataset.audit,
        tiles=False,
        leaflet_url="../app.leaflet/",
        data_url="../app.mapdata",
    )
    m.add_child(group)
    html = m.get_root().render()
    units_name = next(n for n in static_files(geography) if n.startswith("units-"))
    upper_name = next(n for n in static_files(geography) if n.startswith("la_upper-"))
    assert f'"../app.mapdata/{units_name}"' in html
    assert f'"../app.mapdata/{upper_name}"' in html
    # no polygons or lines inline (only the few crossing dots, as points)
    assert not re.search(r'"(Multi)?(Polygon|LineString)"', html)
    assert len(html.encode("utf-8")) < 150_000
    props, styles = unit_properties(
        geography, audit=dataset.audit, assignment=plan, colour_by="footprint"
    )
    assert len(props) == 211 and props[0]["footprint"] == "North"
    assert styles[props[0]["style"]]["fillColor"] != UNASSIGNED_FILL


def test_instant_click_reports_only_when_asked(geography) -> None:
    # the app's click reporting (app_pages.clicks) rides on units_layer(on_click=...): the
    # map itself knows nothing of streamlit-folium
    from app_pages.clicks import INSTANT_CLICKS_JS

    def script(**kw) -> str:
        m = base_map(geography, tiles=False, leaflet_url="x/")
        m.add_child(units_layer(geography, assignment={}, colour_by="footprint", **kw))
        return m.get_root().render()

    assert "streamlit:setComponentValue" not in script()
    text = script(on_click=INSTANT_CLICKS_JS)
    assert "streamlit:setComponentValue" in text
    # it only acts inside streamlit-folium, with the two objects the app asks for
    assert "window.__GLOBAL_DATA__" in text and '"last_object_clicked_count"' in text


def test_the_map_module_knows_nothing_of_streamlit() -> None:
    import footprint.map as fmap

    source = Path(fmap.__file__).read_text(encoding="utf-8")
    assert "import streamlit" not in source and "streamlit_folium" not in source
    assert not hasattr(fmap, "clicked_unit") and not hasattr(fmap, "_INSTANT_CLICKS_JS")


def test_tooltips_say_what_population_counts(geography, dataset) -> None:
    data, _ = units_geojson(geography, audit=dataset.audit)
    tip = next(f for f in _features(data) if f["properties"]["code"] == "E38000001")["properties"][
        "tooltip"
    ]
    assert "NHS Airedale, Wharfedale and Craven" in tip
    assert "ONS code E38000001" in tip and "NHS code 02N" in tip
    assert "156,676 registered patients (QOF 2013/14 list sizes)" in tip
    assert "Home LA: North Yorkshire" in tip and "Bradford" in tip
    assert "Crosses an LA boundary" in tip


def test_unassigned_ccgs_stand_out(geography) -> None:
    plan = {"E38000001": "North", "E38000002": "South"}
    data, styles = units_geojson(geography, assignment=plan, colour_by="footprint")
    by_code = {f["properties"]["code"]: styles[f["properties"]["style"]] for f in _features(data)}
    unassigned = by_code["E38000003"]
    assigned = by_code["E38000001"]
    assert unassigned["fillColor"] == UNASSIGNED_FILL
    assert unassigned.get("dashArray") and unassigned["weight"] > assigned["weight"] - 1
    assert assigned["fillColor"] != UNASSIGNED_FILL
    # both footprints are far below 300,000: red outline
    assert assigned["color"] == "#c0392b"


def test_population_colours_follow_classes(geography) -> None:
    data, styles = units_geojson(geography, colour_by="population")
    fills = {styles[f["properties"]["style"]]["fillColor"] for f in _features(data)}
    assert fills <= set(POPULATION_COLOURS) and len(fills) >= 3


def test_touching_footprints_get_different_colours(geography, dataset) -> None:
    a, b = dataset.adjacency.pairs[0]
    colours = footprint_colours(geography, {a: "A", b: "B"})
    assert colours["A"] != colours["B"]


def test_the_map_colours_footprints_as_the_exports_do(geography, dataset) -> None:
    # one palette and one choice (footprint._colours) for the map and every export
    from footprint import _colours
    from footprint.map import FOOTPRINT_PALETTE

    assert FOOTPRINT_PALETTE is _colours.FOOTPRINT_PALETTE
    a, b = dataset.adjacency.pairs[0]
    plan = {a: "North", b: "South"}
    assert footprint_colours(geography, plan) == _colours.colour_apart(
        ["North", "South"], {"North": ["South"], "South": ["North"]}
    )
    assert footprint_colours(geography, {a: "North"}) == {
        "North": FOOTPRINT_PALETTE[_colours.stable_index("North")]
    }


def test_highlight_and_locked_show(geography) -> None:
    plan = {"E38000001": "North"}
    data, styles = units_geojson(
        geography, assignment=plan, colour_by="footprint", highlight=["E38000001"], locked=["North"]
    )
    f = next(f for f in _features(data) if f["properties"]["code"] == "E38000001")
    assert styles[f["properties"]["style"]]["weight"] >= 3
    assert "(locked)" in f["properties"]["tooltip"]
    assert "Highlighted" in f["properties"]["tooltip"]


def test_bad_inputs_raise_clear_errors(geography) -> None:
    with pytest.raises(
        PlanError,
        match="colour_by must be one of 'footprint', 'population', 'floor', 'la', "
        "'area_team', 'region'; received 'rainbow'",
    ):
        units_geojson(geography, colour_by="rainbow")  # type: ignore[arg-type]
    # every reason at once
    with pytest.raises(PlanError, match=r"needs the LA audit: pass audit=dataset.audit$"):
        units_geojson(geography, colour_by="la")
    with pytest.raises(PlanError, match="colour_by='floor' needs a floor above 0"):
        units_geojson(geography, colour_by="floor", floor=None)
    with pytest.raises(PlanError, match=r"1 unit code\(s\) that are not in .*: NOPE"):
        units_geojson(geography, assignment={"NOPE": "F1"})
    with pytest.raises(PlanError, match="must map unit codes to footprint names; received list"):
        units_geojson(geography, assignment=["E38000001"])  # type: ignore[arg-type]


def test_rendered_map_loads_leaflet_only_from_the_given_url(geography, dataset) -> None:
    m = build_map(geography, audit=dataset.audit, tiles=False, leaflet_url="../app.leaflet/")
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    assert not [h for h in CDN_HOSTS if h in html]
    assert '<script src="../app.leaflet/leaflet.js">' in html
    assert 'href="../app.leaflet/leaflet.css"' in html
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()
    # OGL attribution and what population means travel with the map
    assert "Open Government Licence v3.0" in html
    assert "registered patients (QOF 2013/14 list sizes)" in html
    assert "branca" not in html  # the legend is plain HTML, not a colormap


def test_self_contained_map_embeds_leaflet(geography) -> None:
    m = build_map(geography, tiles=False)
    html = m.get_root().render()
    assert "data:text/javascript;base64," in html and "data:text/css;base64," in html
    # nothing the page *loads* comes from outside: no script, stylesheet, image or font URL
    # (a plain <a href> link, such as the "Leaflet" credit, loads nothing and is allowed)
    assert not re.search(r"<script[^>]*\ssrc=\"https?://", html)
    assert not re.search(r"<link[^>]*\shref=\"https?://", html)
    assert not re.search(r"<img[^>]*\ssrc=\"https?://", html)
    assert not re.search(r"(url\(|@import)\s*['\"]?https?://", html)


def test_boundary_overlays_are_written_short(geography, dataset) -> None:
    html = (
        base_map(
            geography, audit=dataset.audit, tiles=False, leaflet_url="x/", show_lower_tier=True
        )
        .get_root()
        .render()
    )
    coords = re.findall(r"\[(-?\d+\.\d+),(-?\d+\.\d+)\]", html)
    assert len(coords) > 10_000
    assert max(len(n.split(".")[1]) for pair in coords for n in pair) <= 4


def test_tiles_are_optional_and_background_is_set(geography) -> None:
    with_tiles = build_map(geography, tiles=True).get_root().render()
    without = build_map(geography, tiles=False).get_root().render()
    assert "tile.openstreetmap.org" in with_tiles
    assert "tile.openstreetmap.org" not in without
    assert ".leaflet-container { background:" in without


def test_reference_layers_only_when_asked(geography, dataset) -> None:
    plain = base_map(geography, tiles=False).get_root().render()
    full = (
        base_map(
            geography,
            audit=dataset.audit,
            tiles=False,
            show_lower_tier=True,
            show_area_teams=True,
            show_regions=True,
        )
        .get_root()
        .render()
    )
    for name in (
        "Lower-tier LA boundaries",
        "NHS Area Teams (25)",
        "NHS Regions (4)",
        "CCGs crossing an LA boundary",
    ):
        assert name in full and name not in plain
    assert "Upper-tier LA boundaries" in plain
    assert len(full) > len(plain)


def test_units_layer_is_a_feature_group_with_a_legend(geography) -> None:
    group = units_layer(geography, assignment={"E38000001": "F1"}, colour_by="footprint")
    assert isinstance(group, folium.FeatureGroup)
    legend = [c for c in group._children.values() if type(c).__name__ == "_Legend"]
    assert legend and "Footprints: 1" in legend[0].html_text
    assert "unassigned CCG" in legend[0].html_text


def test_clicked_unit_reads_the_feature_or_the_tooltip() -> None:
    from app_pages.clicks import clicked_unit

    assert clicked_unit({"last_active_drawing": {"properties": {"code": "E38000007"}}}) == (
        "E38000007"
    )
    assert (
        clicked_unit(
            {
                "last_active_drawing": None,
                "last_object_clicked_tooltip": "NHS X ONS code E38000009 · NHS code 01A",
            }
        )
        == "E38000009"
    )
    assert clicked_unit({"last_active_drawing": {"properties": {}}}) is None
    assert clicked_unit(None) is None
    assert clicked_unit({}) is None


def test_clicked_units_reads_a_selection_or_one_click() -> None:
    from app_pages.clicks import clicked_units

    selection = {
        "last_object_clicked_count": 7,
        "last_active_drawing": {
            "type": "Feature",
            "geometry": None,
            "properties": {"codes": ["E38000002", "E38000001", "E38000002", 5, None, ""]},
        },
    }
    # strings only, each once, in the order sent (the page checks them against the map)
    assert clicked_units(selection) == ["E38000002", "E38000001"]
    one = {"last_active_drawing": {"properties": {"code": "E38000009"}}}
    assert clicked_units(one) == ["E38000009"]
    assert clicked_units({"last_active_drawing": {"properties": {"codes": "E38000001"}}}) == []
    assert clicked_units(None) == [] and clicked_units({}) == []


def test_the_draw_tools_select_only_inside_streamlit_folium(geography) -> None:
    from app_pages.clicks import DRAW_TOOLS_JS

    m = base_map(geography, tiles=False, leaflet_url="x/")
    m.add_child(units_layer(geography, assignment={}, on_click=DRAW_TOOLS_JS))
    text = m.get_root().render()
    # shift-click and shift-drag select; the panel sends the selection as one click
    assert "shiftKey" in text and "Put in the chosen footprint" in text
    assert "properties: {codes: chosen}" in text and "map.boxZoom.disable()" in text
    # a plain click is left to the instant report, a shift-click to the selection
    assert text.count('layer.on("click"') == 2


def _wards(tmp_path: Path):
    """A planner's own 2 x 3 grid of wards in the Midlands, with no LA layer."""
    from helpers import grid_units

    from footprint.loader import load_geography

    grid = grid_units(2, 3)
    grid["geometry"] = grid.translate(400_000, 280_000)
    boundaries = tmp_path / "wards.geojson"
    grid.to_crs(4326).to_file(boundaries, driver="GeoJSON")
    people = tmp_path / "people.csv"
    people.write_text(
        "code,population\n" + "".join(f"{c},{150_000 + i}\n" for i, c in enumerate(grid["code"]))
    )
    return load_geography(
        boundaries,
        people,
        code_column="code",
        population_column="population",
        population_label="residents",
        unit_label="ward",
    )


def test_an_own_geography_is_mapped_in_its_own_words(tmp_path) -> None:
    wards = _wards(tmp_path)
    group = units_layer(wards, assignment={"r0c0": "A"}, colour_by="footprint")
    legend = next(c for c in group._children.values() if type(c).__name__ == "_Legend")
    assert "unassigned ward" in legend.html_text and "CCG" not in legend.html_text
    assert "LA boundary" not in legend.html_text  # no LA layer, no LA lines to explain
    props, _ = unit_properties(wards, assignment={"r0c0": "A"}, colour_by="footprint")
    tip = next(p["tooltip"] for p in props if p["code"] == "r0c0")
    assert "1 ward, 150,000 residents" in tip and "CCG" not in tip
    html_text = (
        base_map(wards, tiles=False, show_area_teams=True, show_regions=True).get_root().render()
    )
    assert "NHS Area Teams" not in html_text and "Upper-tier LA boundaries" not in html_text


def test_tooltips_name_the_area_team_and_region(geography) -> None:
    props, _ = unit_properties(geography)
    tip = next(p["tooltip"] for p in props if p["code"] == "E38000001")
    team = geography.units.set_index("code").loc["E38000001", "area_team"]
    assert f"Area Team: {team}" in tip and "Region: North of England" in tip


pytestmark = pytest.mark.realdata


def test_bridges_and_river_crossings_are_drawn_as_dashed_links(geography, dataset) -> None:
    adj = dataset.adjacency
    links = adj.bridges + adj.river_crossings
    # without the LA lines, the links are the one inline line layer of the page
    html_text = (
        base_map(geography, links=links, tiles=False, show_upper_tier=False).get_root().render()
    )
    assert "Island bridges and river crossings" in html_text
    inline = re.findall(r"L\.geoJson\((\{.*?\}), \{\s*pane", html_text)
    assert len(inline) == 1
    data = json.loads(inline[0])
    assert data["geometry"]["type"] == "MultiLineString"
    lines = data["geometry"]["coordinates"]
    assert len(lines) == 13  # 2 Isle of Wight bridges, 11 river crossings
    # each line runs from a point inside one unit to a point inside the other (lon, lat)
    disp = geography.display_units.set_index("code")
    for (a, b), line in zip(links, lines, strict=True):
        for code, (lon, lat) in ((a, line[0]), (b, line[1])):
            assert disp.loc[code, "geometry"].buffer(1e-3).contains(shapely.Point(lon, lat))
    assert (
        "Island bridges and river crossings"
        not in base_map(geography, tiles=False).get_root().render()
    )
    with pytest.raises(
        PlanError,
        match=r"the links to draw name 1 unit code\(s\) that are not "
        r"in .*: NOPE; pass pairs of this geography's codes",
    ):
        base_map(geography, links=[("E38000001", "NOPE")], tiles=False)


# --- colourings, locked footprints, names on the map -----------------------------------------


def _style_of(geography, code: str, **kw) -> dict:
    props, styles = unit_properties(geography, **kw)
    return styles[next(p["style"] for p in props if p["code"] == code)]


def test_colour_by_area_team_region_and_la_gives_each_group_one_colour(geography, dataset) -> None:
    units = geography.units.set_index("code")
    home = dataset.audit.units.set_index("unit_code")["home_la"]
    for colour_by, group_of in (
        ("area_team", units["area_team_code"]),
        ("region", units["region_code"]),
        ("la", home),
    ):
        props, styles = unit_properties(geography, audit=dataset.audit, colour_by=colour_by)
        fill = {p["code"]: styles[p["style"]]["fillColor"] for p in props}
        by_group: dict[str, set[str]] = {}
        for code, colour in fill.items():
            by_group.setdefault(group_of[code], set()).add(colour)
        assert all(len(c) == 1 for c in by_group.values()), colour_by  # one colour a group
        # touching groups differ, as touching footprints do
        expected = footprint_colours(geography, {c: group_of[c] for c in fill})
        assert fill == {c: expected[group_of[c]] for c in fill}
        legend = next(
            c
            for c in units_layer(
                geography, audit=dataset.audit, colour_by=colour_by
            )._children.values()
            if type(c).__name__ == "_Legend"
        )
        assert f": {len(by_group)}</b>" in legend.html_text
    assert len({units.loc[c, "region_code"] for c in units.index}) == 4


def test_colour_by_distance_from_the_floor_follows_the_footprints_share_of_it(geography) -> None:
    from footprint.map import FLOOR_COLOURS

    pop = geography.units.set_index("code")["population"]
    codes = list(pop.index)
    plan = {codes[0]: "One", codes[1]: "Two", codes[2]: "Two"}
    floor = int(pop[codes[0]])  # "One" holds exactly the floor: the first class above it
    one = _style_of(geography, codes[0], assignment=plan, colour_by="floor", floor=floor)
    assert one["fillColor"] == FLOOR_COLOURS[2]
    low = _style_of(geography, codes[0], assignment=plan, colour_by="floor", floor=floor * 10)
    assert low["fillColor"] == FLOOR_COLOURS[0] and low["color"] == "#c0392b"
    high = _style_of(geography, codes[0], assignment=plan, colour_by="floor", floor=floor // 2)
    assert high["fillColor"] == FLOOR_COLOURS[4]
    out = _style_of(geography, codes[5], assignment=plan, colour_by="floor", floor=floor)
    assert out["fillColor"] == UNASSIGNED_FILL and out["dashArray"]
    legend = units_layer(geography, assignment=plan, colour_by="floor", floor=300_000)
    text = next(c for c in legend._children.values() if type(c).__name__ == "_Legend").html_text
    assert "240,000 – 300,000" in text and "450,000 or more" in text


def test_a_locked_footprint_is_outlined_and_hatched_on_the_map_and_in_the_legend(
    geography,
) -> None:
    plan = {"E38000001": "North", "E38000002": "South"}
    locked = _style_of(geography, "E38000001", assignment=plan, locked=["North"])
    free = _style_of(geography, "E38000002", assignment=plan, locked=["North"])
    assert locked["hatch"] and locked["weight"] >= 3.5 and locked["color"] == "#000000"
    assert "hatch" not in free and free["weight"] < 2
    m = base_map(geography, tiles=False, leaflet_url="x/")
    m.add_child(units_layer(geography, assignment=plan, colour_by="footprint", locked=["North"]))
    html_text = m.get_root().render()
    assert 'fillColor: "url(#fp-hatch)"' in html_text and "locked footprint (hatched)" in html_text
    # no lock among the plan's footprints, no lock in the legend
    group = units_layer(geography, assignment=plan, colour_by="footprint", locked=["Gone"])
    text = next(c for c in group._children.values() if type(c).__name__ == "_Legend").html_text
    assert "locked" not in text


def test_names_are_written_short_escaped_and_only_when_they_fit(geography, tmp_path) -> None:
    data, _ = units_geojson(geography)
    props = {f["properties"]["code"]: f["properties"] for f in _features(data)}
    names = geography.units.set_index("code")["name"]
    code = next(c for c, n in names.items() if "&" in n)  # NHS Barking & Dagenham
    assert props[code]["label"] == "Barking &amp; Dagenham"
    assert all(not p["label"].startswith("NHS ") for p in props.values())
    # small London CCGs need a closer zoom than large rural ones
    big = geography.display_units.to_crs(27700).area.idxmax()
    large = str(geography.display_units.loc[big, "code"])
    london = [
        c for c in props if "London" in str(geography.units.set_index("code").loc[c, "region"])
    ]
    assert props[large]["z"] < min(props[c]["z"] for c in london)
    assert all(8 <= p["z"] <= 13 for p in props.values())
    # the label sits inside its unit ([lat, lng])
    shape = geography.display_units.set_index("code").loc[code, "geometry"]
    lat, lng = props[code]["at"]
    assert shape.buffer(1e-3).contains(shapely.Point(lng, lat))
    # the same labels travel in the static file the app serves
    units_file = next(v for k, v in static_files(geography).items() if k.startswith("units-"))
    assert '"label":"Barking \\u0026amp; Dagenham"' in units_file.decode()


def test_hostile_unit_names_are_written_as_text(tmp_path) -> None:
    from helpers import grid_units

    from footprint.loader import load_geography

    grid = grid_units(1, 2)
    grid["geometry"] = grid.translate(400_000, 280_000)
    grid["name"] = ["<img src=x onerror=alert(1)>", "</script><b>NHS"]
    boundaries = tmp_path / "wards.geojson"
    grid.to_crs(4326).to_file(boundaries, driver="GeoJSON")
    people = tmp_path / "people.csv"
    people.write_text("code,population\n" + "".join(f"{c},1000\n" for c in grid["code"]))
    wards = load_geography(
        boundaries, people, code_column="code", name_column="name", population_column="population"
    )
    html_text = build_map(wards, tiles=False).get_root().render()
    assert "<img src=x" not in html_text and "</script><b>" not in html_text
    data, _ = units_geojson(wards)
    labels = sorted(f["properties"]["label"] for f in _features(data))
    assert labels == ["&lt;/script&gt;&lt;b&gt;NHS", "&lt;img src=x onerror=alert(1)&gt;"]
