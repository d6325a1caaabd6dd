"""A planner's own geography treated as carefully as England's: its LA layer, its units' name,
the reference layers it has, zipped MapInfo tables, and whole-la refused without LAs."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from helpers import ROOT, grid_units

from footprint import Dataset, load_geography
from footprint.constraints import Constraints
from footprint.errors import ConstraintsError, InputFileError
from footprint.optimiser import optimise
from footprint.problem import NO_LA_LAYER, Problem
from footprint.uploads import inspect_upload_columns, load_uploaded_geography
from footprint.validate import validate_plan

NO_LA = (
    r"The LA rule cannot be applied:\n  - this geography has no local authority layer, so the "
    r"rule 'keep each LA whole' cannot be checked; upload an LA layer beside the boundaries or "
    r"switch the LA rule off"
)


def _grid(rows: int = 3, cols: int = 3) -> gpd.GeoDataFrame:
    g = grid_units(rows, cols)
    g["geometry"] = g.translate(400_000, 280_000)  # the Midlands, in metres
    g["label"] = [f"Area {c}" for c in g["code"]]
    return g


def _population(g: gpd.GeoDataFrame, each: int = 100_000) -> tuple[str, bytes]:
    return "people.csv", ("code,pop\n" + "".join(f"{c},{each}\n" for c in g["code"])).encode()


def _las(g: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Two LAs: the west column (Newcastle upon Tyne) and the rest (Gateshead)."""
    las = g.assign(la=["W" if c.endswith("c0") else "E" for c in g["code"]]).dissolve(by="la")
    las = las.reset_index()
    las["LAD_NAME"] = las["la"].map({"W": "Newcastle upon Tyne", "E": "Gateshead"})
    las = las.rename(columns={"la": "LAD_CODE"})
    return las[["LAD_CODE", "LAD_NAME", "geometry"]]


def _written(gdf: gpd.GeoDataFrame, name: str, driver: str) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        gdf.to_file(Path(tmp) / name, driver=driver, engine="pyogrio")
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}


def _zipped(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _geojson(gdf: gpd.GeoDataFrame, name: str) -> tuple[str, bytes]:
    return name, _written(gdf.to_crs(4326), name, "GeoJSON")[name]


def _load(g, *, las=None, **kwargs):
    return load_uploaded_geography(
        _geojson(g, "units.geojson"),
        _population(g),
        code_column="code",
        population_column="pop",
        name_column="label",
        la_boundaries=None if las is None else _geojson(las, "las.geojson"),
        la_code_column=None if las is None else "LAD_CODE",
        la_name_column=None if las is None else "LAD_NAME",
        **kwargs,
    )


# --- whole-la without LAs is refused, not silently off ------------------------------------------


def test_whole_la_without_an_la_layer_is_refused_by_the_optimiser_and_the_validator():
    geo = _load(_grid())
    assert not geo.has_la_layer and geo.layers == ()
    problem = Problem.from_dataset(Dataset.from_geography(geo))
    assert problem.la_layer is False
    # it used to plan as if the rule were off and report the plan "optimal"
    with pytest.raises(ConstraintsError, match=NO_LA):
        optimise(problem, Constraints(min_population=300_000, time_limit=20))
    with pytest.raises(ConstraintsError, match=NO_LA):
        validate_plan(problem, dict.fromkeys(problem.codes, "A"), Constraints(min_population=1))
    with pytest.raises(ConstraintsError, match=NO_LA):
        problem.block_members()
    result = optimise(problem, Constraints(min_population=300_000, la_rule="off", time_limit=20))
    assert result.status == "optimal" and result.footprints == 3
    assert validate_plan(problem, result.assignment, Constraints(la_rule="off")) == []


def test_plain_problems_say_whether_they_have_las():
    pops = {"a": 1, "b": 2}
    assert Problem.build(populations=pops, edges=[("a", "b")]).block_members() == {
        "a": ("a",),
        "b": ("b",),
    }
    bare = Problem.build(populations=pops, edges=[("a", "b")], la_layer=False)
    with pytest.raises(ConstraintsError, match=NO_LA):
        bare.require_la_layer()
    assert NO_LA_LAYER.startswith("this geography has no local authority layer")


# --- an LA layer beside the boundaries -----------------------------------------------------------


def test_an_uploaded_la_layer_gives_named_blocks_the_audit_and_whole_la():
    g = _grid()
    geo = _load(g, las=_las(g))
    assert geo.has_la_layer and geo.layers == ("la_upper",)
    assert geo.la_upper["code"].tolist() == ["E", "W"]
    assert geo.la_names == {"E": "Gateshead", "W": "Newcastle upon Tyne"}
    assert geo.la_upper.crs.to_epsg() == 27700 and geo.display_la_upper is not None
    assert geo.name_of("W") == "Newcastle upon Tyne" and geo.name_of("r0c0") == "Area r0c0"
    ds = Dataset.from_geography(geo)
    assert ds.audit is not None and ds.audit.n_blocks == 2
    assert ds.audit.block_names == {"E": "Gateshead", "W": "Newcastle upon Tyne"}
    problem = Problem.from_dataset(ds)
    assert problem.la_layer and problem.block_label("W") == "Newcastle upon Tyne"
    assert problem.block_members()["W"] == ("r0c0", "r1c0", "r2c0")
    result = optimise(problem, Constraints(min_population=300_000, time_limit=20))
    assert result.status == "optimal" and result.footprints == 2  # the column, and the rest
    assert len({result.assignment[f"r{r}c0"] for r in range(3)}) == 1


def test_a_zipped_mapinfo_la_layer_and_units_of_the_planners_name():
    g = _grid()
    las = _zipped(_written(_las(g), "las.tab", "MapInfo File"))
    units = _zipped(_written(g, "units.tab", "MapInfo File"))
    geo = load_uploaded_geography(
        ("units.zip", units),
        _population(g),
        code_column="code",
        population_column="pop",
        name_column="label",
        la_boundaries=("las.zip", las),
        la_code_column="LAD_CODE",
        la_name_column="LAD_NAME",
        unit_label="sub-ICB location",
    )
    assert (geo.unit_label, geo.unit_label_plural) == ("sub-ICB location", "sub-ICB locations")
    assert geo.la_names == {"E": "Gateshead", "W": "Newcastle upon Tyne"}
    assert Problem.from_dataset(Dataset.from_geography(geo)).unit_label == "sub-ICB location"
    assert _load(g).unit_label == "unit" and _load(g).unit_label_plural == "units"


def test_la_layer_problems_are_listed_with_the_boundaries_problems():
    g = _grid()
    las = _las(g)
    with pytest.raises(
        InputFileError,
        match=(
            r"(?s)Cannot build the geography from units\.geojson, people\.csv and las\.geojson:\n"
            r"  - units\.geojson: no column 'nope' to take unit codes from.*"
            r"  - las\.geojson: no column 'LA_CODE' to take LA codes from; the columns are "
            r"'LAD_CODE', 'LAD_NAME'\. Choose the column that holds the local authority codes"
        ),
    ):
        load_uploaded_geography(
            _geojson(g, "units.geojson"),
            _population(g),
            code_column="nope",
            population_column="pop",
            la_boundaries=_geojson(las, "las.geojson"),
            la_code_column="LA_CODE",
        )
    with pytest.raises(
        InputFileError,
        match=(
            r"^Cannot use the LA layer las\.geojson:\n  - las\.geojson: no column 'NAME' for LA "
            r"names; the columns are 'LAD_CODE', 'LAD_NAME'$"
        ),
    ):
        load_uploaded_geography(
            _geojson(g, "units.geojson"),
            _population(g),
            code_column="code",
            population_column="pop",
            la_boundaries=_geojson(las, "las.geojson"),
            la_code_column="LAD_CODE",
            la_name_column="NAME",
        )
    with pytest.raises(
        InputFileError,
        match=(
            r"^las\.geojson: say which column of the LA boundaries holds the LA codes "
            r"\(la_code_column; --la-code-column on the command line\)$"
        ),
    ):
        load_uploaded_geography(
            _geojson(g, "units.geojson"),
            _population(g),
            code_column="code",
            population_column="pop",
            la_boundaries=_geojson(las, "las.geojson"),
        )
    with pytest.raises(
        InputFileError,
        match=(
            r"^an LA code or name column was given without LA boundaries; give the LA boundaries "
            r"too, or leave the LA columns out$"
        ),
    ):
        load_uploaded_geography(
            _geojson(g, "units.geojson"),
            _population(g),
            code_column="code",
            population_column="pop",
            la_code_column="LAD_CODE",
        )


def test_an_la_layer_of_another_area_is_refused():
    g = _grid()
    far = _las(g).assign(geometry=lambda d: d.translate(50_000, 0))
    with pytest.raises(
        InputFileError,
        match=(
            r"^las\.geojson: the LA layer does not cover the boundaries of units\.geojson: none of "
            r"the units lies in any LA of it\. Upload the local authorities of the same area, and "
            r"check that both files say their coordinate reference system$"
        ),
    ):
        _load(g, las=far)
    half = _las(g).iloc[[1]]  # only the west column
    with pytest.raises(
        InputFileError,
        match=(
            r"6 of the 9 units lie outside every LA of it \(r0c1, r0c2, r1c1, r1c2, r2c1, r2c2\)"
        ),
    ):
        _load(g, las=half)


def test_an_la_in_parts_is_one_la_but_one_code_with_two_names_is_refused():
    g = _grid()
    parts = g.assign(LAD_CODE=["W" if c.endswith("c0") else "E" for c in g["code"]])
    parts["LAD_NAME"] = parts["LAD_CODE"].map({"W": "Newcastle upon Tyne", "E": "Gateshead"})
    geo = _load(g, las=parts[["LAD_CODE", "LAD_NAME", "geometry"]])  # one row per square
    assert geo.la_upper["code"].tolist() == ["E", "W"]
    assert geo.la_upper.area.round().tolist() == [6e6, 3e6]
    parts.loc[0, "LAD_NAME"] = "Newcastle"
    with pytest.raises(
        InputFileError,
        match=(
            r"las\.geojson: LA code 'W' has 2 names \('Newcastle', 'Newcastle upon Tyne'\); give "
            r"each LA one name"
        ),
    ):
        _load(g, las=parts[["LAD_CODE", "LAD_NAME", "geometry"]])


def test_missing_crs_is_said_once_per_file(tmp_path):
    g = _grid()
    for name, gdf in (("units", g), ("las", _las(g))):
        folder = tmp_path / name
        folder.mkdir()
        gdf.to_file(folder / f"{name}.shp")
        (folder / f"{name}.prj").unlink()
    pop = tmp_path / "people.csv"
    pop.write_bytes(_population(g)[1])
    with pytest.raises(InputFileError) as caught:
        load_geography(
            tmp_path / "units/units.shp",
            pop,
            code_column="code",
            population_column="pop",
            la_boundaries=tmp_path / "las/las.shp",
            la_code_column="LAD_CODE",
        )
    text = str(caught.value)
    assert text.count("units.shp: the file has no coordinate reference system") == 1
    assert text.count("las.shp: the file has no coordinate reference system") == 1
    assert text.count("coordinate reference system;") == 2


# --- MapInfo TAB ---------------------------------------------------------------------------------


def test_a_zipped_mapinfo_table_round_trips():
    g = _grid()
    parts = _written(g, "units.tab", "MapInfo File")
    assert sorted(parts) == ["units.dat", "units.id", "units.map", "units.tab"]
    data = _zipped({f"boundaries/{n}": b for n, b in parts.items()})
    assert inspect_upload_columns(("units.zip", data)) == ["code", "label"]
    geo = load_uploaded_geography(
        ("units.zip", data),
        _population(g),
        code_column="code",
        population_column="pop",
        name_column="label",
    )
    assert geo.units["code"].tolist() == sorted(g["code"])
    assert geo.units["name"].tolist() == [f"Area {c}" for c in sorted(g["code"])]
    assert geo.units.area.to_numpy() == pytest.approx([1e6] * 9, rel=1e-6)
    # loose parts, the library's path to a .tab and to a .zip read the same
    loose = load_uploaded_geography(
        sorted(parts.items()), _population(g), code_column="code", population_column="pop"
    )
    assert loose.units["code"].tolist() == geo.units["code"].tolist()


def test_mapinfo_fields_named_like_keywords_are_plain_fields():
    g = _grid().assign(Type="ward", TypeCode="W", Seamless="no", Description="plain")
    data = _zipped(_written(g, "units.tab", "MapInfo File"))
    assert inspect_upload_columns(("units.zip", data)) == [
        "code",
        "label",
        "Type",
        "TypeCode",
        "Seamless",
        "Description",
    ]


def test_mapinfo_through_the_library_paths(tmp_path):
    g = _grid()
    parts = _written(g, "units.tab", "MapInfo File")
    for name, data in parts.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "units.zip").write_bytes(_zipped(parts))
    pop = tmp_path / "people.csv"
    pop.write_bytes(_population(g)[1])
    for path in (tmp_path / "units.tab", tmp_path / "units.zip"):
        geo = load_geography(path, pop, code_column="code", population_column="pop")
        assert len(geo.units) == 9 and geo.population_total == 900_000


def test_a_zip_with_two_parts_of_one_name_is_refused(tmp_path):
    g = _grid()
    parts = _written(g, "units.tab", "MapInfo File")
    with zipfile.ZipFile(tmp_path / "units.zip", "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
        zf.writestr("UNITS.MAP", b"<OGRVRTDataSource/>")  # GDAL might open either
    pop = tmp_path / "people.csv"
    pop.write_bytes(_population(g)[1])
    with pytest.raises(
        InputFileError,
        match=(
            r"units\.zip: units\.tab is not a plain MapInfo table; it was not opened:\n  - its "
            r"\.map part appears more than once"
        ),
    ):
        load_geography(tmp_path / "units.zip", pop, code_column="code", population_column="pop")


def test_a_mapinfo_table_without_its_parts_is_refused():
    g = _grid()
    parts = _written(g, "units.tab", "MapInfo File")
    del parts["units.map"], parts["units.id"]
    with pytest.raises(
        InputFileError,
        match=(
            r"units\.tab: not a plain MapInfo table; it was not opened:\n  - units\.tab "
            r"lacks its \.map, \.id part\(s\); a MapInfo table needs its \.tab, \.dat, \.map and "
            r"\.id files together"
        ),
    ):
        load_uploaded_geography(
            ("units.zip", _zipped(parts)),
            _population(g),
            code_column="code",
            population_column="pop",
        )


# --- real data -----------------------------------------------------------------------------------


@pytest.mark.realdata
def test_england_names_its_units_layers_and_las(dataset):
    geo = dataset.geography
    assert (geo.unit_label, geo.unit_label_plural) == ("CCG", "CCGs")
    assert geo.layers == ("la_upper", "la_lower", "area_team_code", "region_code")
    assert geo.la_names["E08000021"] == "Newcastle upon Tyne"
    assert geo.name_of("E08000021") == "Newcastle upon Tyne"
    assert geo.name_of("E39000001") == geo.group_names("area_team_code")["E39000001"]
    assert not geo.name_of("E39000001").startswith("E39")
    problem = Problem.from_dataset(dataset)
    assert problem.unit_label == "CCG" and problem.la_layer
    assert problem.block_label("E08000021") == "Newcastle upon Tyne"
    assert dataset.audit.block_names["E08000021"] == "Newcastle upon Tyne"
    assert all(not problem.block_label(b).startswith("E0") for b in problem.block_members())


@pytest.mark.realdata
@pytest.mark.slow
def test_2015_ccgs_with_their_las_as_a_planner_would_upload_them(dataset):
    """The CCGs of July 2015, made from the 2013 ones (three Tyneside CCGs merged into
    Newcastle Gateshead, E38000212, as the ONS 2015 lookup says), as a zipped MapInfo table;
    the upper-tier LAs as a GeoPackage. Without the LAs whole-la is refused; with them the
    blocks are England's, Newcastle Gateshead's block named as the LAs are."""
    import pandas as pd

    from footprint.loader import read_table

    geo13 = dataset.geography
    root = Path(os.environ.get("FOOTPRINT_DATA_DIR") or ROOT.parent / "shared" / "data")
    path = root / "lookups" / "LSOA11_CCG15_LAD15_EN_LU.csv"
    if not path.is_file():
        pytest.skip(f"the 2015 lookup is not at {path}")
    lookup = read_table(path)
    merged = {"E38000061", "E38000111", "E38000112"}
    units = geo13.units[["code", "name", "population", "geometry"]].copy()
    units["code"] = units["code"].where(~units["code"].isin(merged), "E38000212")
    units = units.dissolve(by="code", aggfunc={"name": "first", "population": "sum"})
    units = units.reset_index()
    units.loc[units["code"] == "E38000212", "name"] = "NHS Newcastle Gateshead CCG"
    codes15 = set(lookup["CCG15CD"])
    assert len(units) == 209 and set(units["code"]) - codes15 <= {"E38000036", "E38000067"}
    tab = _zipped(_written(units[["code", "name", "geometry"]], "ccg15.tab", "MapInfo File"))
    people = ("ccg15.csv", units[["code", "population"]].to_csv(index=False).encode())
    las = geo13.la_upper.rename(columns={"code": "CTYUA_CD", "name": "CTYUA_NM"})
    gpkg = _written(las, "ctyua.gpkg", "GPKG")["ctyua.gpkg"]
    bare = load_uploaded_geography(
        ("ccg15.zip", tab),
        people,
        code_column="code",
        population_column="population",
        name_column="name",
    )
    with pytest.raises(ConstraintsError, match=NO_LA):
        optimise(Problem.from_dataset(Dataset.from_geography(bare)), Constraints(time_limit=5))
    geo = load_uploaded_geography(
        ("ccg15.zip", tab),
        people,
        code_column="code",
        population_column="population",
        name_column="name",
        la_boundaries=("ctyua.gpkg", gpkg),
        la_code_column="CTYUA_CD",
        la_name_column="CTYUA_NM",
        unit_label="CCG",
    )
    assert len(geo.units) == 209 and geo.population_total == geo13.population_total
    ds = Dataset.from_geography(geo)
    assert ds.audit.n_blocks == len(pd.unique(ds.audit.units["block"]))
    blocks = ds.audit.blocks
    assert ds.audit.block_names[blocks["E38000212"]] in {"Newcastle upon Tyne", "Gateshead"}
    assert Problem.from_dataset(ds).block_label(blocks["E38000212"]) in {
        "Newcastle upon Tyne",
        "Gateshead",
    }
