"""Bring your own geography: the same pipeline reads GeoJSON, GeoPackage, TopoJSON and zipped
shapefiles with a population CSV, whatever the planner called the columns."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from helpers import grid_units

from footprint import Dataset, load_geography, read_boundaries

CODES = [f"r{r}c{c}" for r in range(3) for c in range(3)]
POPULATION = {code: 10_000 * (i + 1) for i, code in enumerate(CODES)}


def _units() -> gpd.GeoDataFrame:
    """The 3x3 grid of 1 km squares with planner-style column names."""
    g = grid_units(3, 3)
    # moved into the Midlands: British National Grid's (0, 0) lies off Land's End, outside
    # the area where its transformation to WGS84 round-trips exactly
    g["geometry"] = g.translate(400_000, 280_000)
    g = g.rename(columns={"code": "UnitCode"})
    g["Unit Name"] = [f"Area {c.upper()}" for c in g["UnitCode"]]
    return g


def _population_csv(path: Path) -> Path:
    # a differently named code column, thousands separators, columns in another order
    lines = ["Patients (registered),Practice code"]
    lines += [f'"{v:,}",{c}' for c, v in POPULATION.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _write_geojson(tmp: Path) -> tuple[Path, dict]:
    p = tmp / "units.geojson"
    _units().to_crs(4326).to_file(p, driver="GeoJSON")
    return p, {}


def _write_gpkg(tmp: Path) -> tuple[Path, dict]:
    p = tmp / "units.gpkg"
    _units().to_file(p, layer="ccgs", driver="GPKG")
    # a second layer, so the planner must say which one
    _units().iloc[:2].to_file(p, layer="other", driver="GPKG")
    return p, {"layer": "ccgs"}


def _write_shapefile_zip(tmp: Path) -> tuple[Path, dict]:
    folder = tmp / "shp"
    folder.mkdir()
    # shapefile field names are at most 10 characters
    _units().rename(columns={"Unit Name": "UnitName"}).to_file(folder / "grid.shp")
    p = tmp / "units.zip"
    with zipfile.ZipFile(p, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, f"boundaries/{part.name}")
    return p, {"name_column": "UnitName"}


def _topology() -> dict:
    """A hand-written TopoJSON of a 3x3 grid of 0.01 degree cells near Birmingham.

    Each inner edge is one arc shared by its two cells; coordinates are
    quantised (``transform``) and delta-encoded, as TopoJSON files are.
    """
    n = 3
    arcs: list[list[list[int]]] = []
    h: dict[tuple[int, int], int] = {}  # horizontal edge starting at (c, r)
    v: dict[tuple[int, int], int] = {}  # vertical edge starting at (c, r)
    for r in range(n + 1):
        for c in range(n):
            h[r, c] = len(arcs)
            arcs.append([[c, r], [1, 0]])
    for r in range(n):
        for c in range(n + 1):
            v[r, c] = len(arcs)
            arcs.append([[c, r], [0, 1]])
    geometries = []
    for r in range(n):
        for c in range(n):
            ring = [h[r, c], v[r, c + 1], ~h[r + 1, c], ~v[r, c]]
            code = f"r{r}c{c}"
            geometries.append(
                {
                    "type": "Polygon",
                    "arcs": [ring],
                    "properties": {"UnitCode": code, "Unit Name": f"Area {code.upper()}"},
                }
            )
    return {
        "type": "Topology",
        "transform": {"scale": [0.01, 0.01], "translate": [-1.9, 52.45]},
        "objects": {"grid": {"type": "GeometryCollection", "geometries": geometries}},
        "arcs": arcs,
    }


def _write_topojson(tmp: Path) -> tuple[Path, dict]:
    p = tmp / "units.topojson"
    p.write_text(json.dumps(_topology()), encoding="utf-8")
    return p, {"crs": 4326}


WRITERS = {
    "geojson": _write_geojson,
    "gpkg": _write_gpkg,
    "shapefile-zip": _write_shapefile_zip,
    "topojson": _write_topojson,
}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_each_format_through_the_same_pipeline(fmt, tmp_path):
    boundaries, options = WRITERS[fmt](tmp_path)
    options = {"name_column": "Unit Name", **options}
    pop = _population_csv(tmp_path / "patients.csv")
    geo = load_geography(
        boundaries,
        pop,
        code_column="UnitCode",
        population_column="Patients (registered)",
        population_code_column="Practice code",
        population_label="registered patients (test list)",
        **options,
    )
    units = geo.units
    assert units["code"].tolist() == sorted(CODES)
    assert dict(zip(units["code"], units["population"], strict=True)) == POPULATION
    assert units["population"].dtype == "int64"
    assert units.loc[units["code"] == "r1c2", "name"].item() == "Area R1C2"
    assert units.crs.to_epsg() == 27700
    assert geo.display_units.crs.to_epsg() == 4326
    assert geo.population_total == sum(POPULATION.values())
    assert geo.population_label == "registered patients (test list)"
    assert geo.name == "units"
    assert geo.la_upper is None and geo.la_lower is None
    assert units.geometry.is_valid.all()
    assert set(units.geom_type) == {"Polygon"}

    ds = Dataset.from_geography(geo)
    assert len(ds.adjacency.edges) == 12  # rook grid: corner touches excluded
    assert ("r0c0", "r1c1") not in ds.adjacency.edges
    assert ds.adjacency.bridges == ()
    assert len(ds.adjacency.components()) == 1
    assert ds.audit is None


def test_areas_survive_the_round_trip(tmp_path):
    """Projected formats keep the 1 km squares exactly; the lon/lat ones within a metre."""
    for fmt in ("gpkg", "shapefile-zip", "geojson"):
        folder = tmp_path / fmt
        folder.mkdir()
        boundaries, options = WRITERS[fmt](folder)
        geo = load_geography(
            boundaries,
            _population_csv(folder / "p.csv"),
            code_column="UnitCode",
            population_column="Patients (registered)",
            population_code_column="Practice code",
            **options,
        )
        assert geo.units.area.to_numpy() == pytest.approx([1e6] * 9, rel=1e-5), fmt


def test_topojson_without_a_crs_is_refused_until_one_is_given(tmp_path):
    boundaries, _ = _write_topojson(tmp_path)
    assert read_boundaries(boundaries).crs is None
    assert read_boundaries(boundaries, crs=4326).crs.to_epsg() == 4326
    from footprint import InputFileError

    with pytest.raises(
        InputFileError,
        match=r"units\.topojson: the file has no coordinate "
        r"reference system; say which one it uses",
    ):
        load_geography(
            boundaries,
            _population_csv(tmp_path / "p.csv"),
            code_column="UnitCode",
            population_column="Patients (registered)",
            population_code_column="Practice code",
        )


def test_a_stated_crs_wins_over_the_assumed_one(tmp_path):
    p = tmp_path / "mercator.geojson"
    _units().to_crs(3857).to_file(p, driver="GeoJSON")
    geo = load_geography(
        p,
        _population_csv(tmp_path / "p.csv"),
        code_column="UnitCode",
        population_column="Patients (registered)",
        population_code_column="Practice code",
        crs=4326,  # ignored: the file says 3857
        name="My CCGs",
    )
    assert geo.name == "My CCGs"
    assert geo.units.area.to_numpy() == pytest.approx([1e6] * 9, rel=1e-4)


def test_plain_shapefile_and_same_code_column(tmp_path):
    _units().rename(columns={"Unit Name": "UnitName"}).to_file(tmp_path / "grid.shp")
    pop = tmp_path / "pop.csv"
    pop.write_text(
        "UnitCode,pop\n" + "".join(f"{c},{v}\n" for c, v in POPULATION.items()), encoding="utf-8"
    )
    geo = load_geography(
        tmp_path / "grid.shp", pop, code_column="UnitCode", population_column="pop"
    )
    assert geo.units["name"].tolist() == sorted(CODES)  # no name column: the code stands in
    assert geo.population_total == sum(POPULATION.values())


def test_caller_files_and_frames_are_not_changed(tmp_path):
    boundaries, options = _write_gpkg(tmp_path)
    before = boundaries.read_bytes()
    pop = _population_csv(tmp_path / "p.csv")
    pop_before = pop.read_bytes()
    load_geography(
        boundaries,
        pop,
        code_column="UnitCode",
        population_column="Patients (registered)",
        population_code_column="Practice code",
        **options,
    )
    assert boundaries.read_bytes() == before
    assert pop.read_bytes() == pop_before


# --- a file that does not say its coordinate system: asked for, previewed, remembered ---------


def test_a_topojson_says_no_crs_and_a_geojson_says_its_own(tmp_path):
    from footprint.uploads import upload_crs

    topo, _ = _write_topojson(tmp_path)
    geojson, _ = _write_geojson(tmp_path)
    assert upload_crs((topo.name, topo.read_bytes())) is None
    assert upload_crs((geojson.name, geojson.read_bytes())) == "EPSG:4326"


def test_the_preview_shows_whether_the_shapes_land_on_england(tmp_path):
    from footprint import InputFileError
    from footprint.uploads import outline_of, preview_figure, preview_upload

    topo, _ = _write_topojson(tmp_path)
    upload = (topo.name, topo.read_bytes())
    right = preview_upload(upload, crs=4326)
    assert (right.crs, right.said, right.on_england) == ("EPSG:4326", False, 1.0)
    assert len(right.shapes) == 9
    x, y = right.shapes.union_all().centroid.coords[0]
    assert 400_000 < x < 420_000 and 280_000 < y < 300_000  # near Birmingham, in metres
    # degrees read as metres: a few metres from the grid's origin, off the Isles of Scilly
    wrong = preview_upload(upload, crs=27700)
    assert wrong.on_england == 0.0
    fig = preview_figure(right)
    assert len(fig.axes) == 1 and fig.axes[0].patches  # England's box is drawn
    outline = outline_of(grid_units(3, 3).translate(400_000, 280_000), tolerance_m=10)
    assert len(outline) == 1 and outline.iloc[0].area == pytest.approx(9e6)
    assert len(preview_figure(right, outline=outline).axes[0].collections) >= 2
    with pytest.raises(InputFileError, match=r"units\.topojson: the file has no coordinate "):
        preview_upload(upload)


def test_the_chosen_crs_is_remembered_with_the_geography(tmp_path):
    from footprint.uploads import load_uploaded_geography

    topo, _ = _write_topojson(tmp_path)
    pop = _population_csv(tmp_path / "p.csv")
    geo = load_uploaded_geography(
        (topo.name, topo.read_bytes()),
        (pop.name, pop.read_bytes()),
        code_column="UnitCode",
        population_column="Patients (registered)",
        population_code_column="Practice code",
        crs=4326,
    )
    assert geo.extra["crs_chosen"] == "EPSG:4326"
    assert len(geo.units) == 9
