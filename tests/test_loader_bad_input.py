"""Every bad input of :func:`footprint.load_geography`: one error, plain words, file and rows named.

Each case asserts its own message; one test puts many problems in the same pair
of files and checks that the single error lists all of them. A failed load
leaves nothing behind in the cache.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers import grid_units
from shapely.geometry import LineString, Point

from footprint import InputFileError, load_geography, read_boundaries, read_table
from footprint._cache import cache_dir

CODES = [f"r{r}c{c}" for r in range(3) for c in range(3)]


def _grid() -> gpd.GeoDataFrame:
    g = grid_units(3, 3)
    g["geometry"] = g.translate(400_000, 280_000)  # somewhere in England
    return g


def _pop(path: Path, rows: list[tuple[str, str]] | None = None, header: str = "code,population"):
    rows = rows if rows is not None else [(c, "1000") for c in CODES]
    path.write_text(header + "\n" + "".join(f"{c},{v}\n" for c, v in rows), encoding="utf-8")
    return path


def _load(boundaries: Path, population: Path, **kw):
    kw = {"code_column": "code", "population_column": "population", **kw}
    return load_geography(boundaries, population, **kw)


@pytest.fixture
def good(tmp_path: Path) -> tuple[Path, Path]:
    b = tmp_path / "units.gpkg"
    _grid().to_file(b)
    return b, _pop(tmp_path / "pop.csv")


@pytest.fixture(autouse=True)
def _cache_untouched():
    """No test here may leave a cache entry (or a temporary file) behind."""
    root = cache_dir()
    before = set(os.listdir(root)) if root.is_dir() else set()
    yield
    after = set(os.listdir(root)) if root.is_dir() else set()
    assert after == before, f"cache changed: {sorted(after ^ before)}"


def test_the_good_files_load(good):
    geo = _load(*good)
    assert len(geo.units) == 9


# --- codes -------------------------------------------------------------------------------------


def test_missing_codes(tmp_path, good):
    g = _grid()
    g.loc[[1, 4], "code"] = None
    g.to_file(tmp_path / "nocode.gpkg")
    with pytest.raises(
        InputFileError,
        match=r"nocode\.gpkg: 2 feature\(s\) have no code in column 'code' \(rows 2, 5\); every "
        r"boundary needs the code of its unit",
    ):
        _load(tmp_path / "nocode.gpkg", good[1])


def test_duplicate_codes_in_boundaries(tmp_path, good):
    g = _grid()
    g.loc[[2, 7], "code"] = "r0c0"
    g.to_file(tmp_path / "dup.gpkg")
    with pytest.raises(
        InputFileError,
        match=r"dup\.gpkg: code 'r0c0' appears more than once \(rows 1, 3, 8\); each unit needs "
        r"exactly one boundary",
    ):
        _load(tmp_path / "dup.gpkg", good[1])


def test_duplicate_codes_in_population(tmp_path, good):
    rows = [(c, "1000") for c in CODES] + [("r1c1", "5")]
    with pytest.raises(
        InputFileError,
        match=r"pop2\.csv: code 'r1c1' appears more than once \(lines 6, 11\); give each unit one",
    ):
        _load(good[0], _pop(tmp_path / "pop2.csv", rows))


def test_missing_code_column_in_each_file(tmp_path, good):
    with pytest.raises(
        InputFileError,
        match=r"(?s)units\.gpkg: no column 'ccg' to take unit codes "
        r"from; the columns are 'code'\. Choose the column.*pop\.csv: no column "
        r"'ccg'; the columns are 'code', 'population'",
    ):
        _load(*good, code_column="ccg")
    with pytest.raises(
        InputFileError,
        match=r"pop\.csv: no column 'patients'; the columns are "
        r"'code', 'population'",
    ):
        _load(*good, population_column="patients")
    with pytest.raises(
        InputFileError,
        match=r"units\.gpkg: no column 'label' for unit names; the "
        r"columns are 'code'",
    ):
        _load(*good, name_column="label")


# --- populations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", r"line 3 \(code 'r0c1'\) has no population"),
        ("-40", r"line 3 \(code 'r0c1'\) population -40 is negative; expected zero or more"),
        (
            "n/a",
            r"line 3 \(code 'r0c1'\) population 'n/a' is not a number; expected a whole "
            r"number of people such as 12345",
        ),
        ('"12,5x"', r"line 3 \(code 'r0c1'\) population '12,5x' is not a number"),
        ("12.5", r"line 3 \(code 'r0c1'\) population 12\.5 is not a whole number of people"),
        ("NaN", r"line 3 \(code 'r0c1'\) population 'NaN' is not a number"),
        (
            "inf",
            r"line 3 \(code 'r0c1'\) population 'inf' is not a finite number; expected a "
            r"whole number of people from 0 to 1,000,000,000",
        ),
        ("-inf", r"line 3 \(code 'r0c1'\) population '-inf' is not a finite number"),
        (
            "1e30",
            r"line 3 \(code 'r0c1'\) population 1e30 is more than 1,000,000,000, the most "
            r"one unit may have; expected a whole number of people from 0 to 1,000,000,000",
        ),
        (
            str(2**63),
            r"line 3 \(code 'r0c1'\) population 9223372036854775808 is more than 1,000,000,000",
        ),
        (
            str(2**64 + 5),
            r"line 3 \(code 'r0c1'\) population 18446744073709551621 is more than 1,000,000,000",
        ),
        ("1000000001", r"line 3 \(code 'r0c1'\) population 1000000001 is more than 1,000,000,000"),
        (
            '"12,5"',
            r"line 3 \(code 'r0c1'\) population '12,5' is not a number",
        ),  # a decimal comma is not guessed
        (
            "٣",
            r"line 3 \(code 'r0c1'\) population '٣' is not a number",
        ),  # digits of other scripts are not read
        (
            "9" * 500,
            r"line 3 \(code 'r0c1'\) population '9{30}'… \(500 characters\) is not a population",
        ),
    ],
)
def test_bad_population_values(tmp_path, good, value, message):
    rows = [(c, value if c == "r0c1" else "1000") for c in CODES]
    with pytest.raises(InputFileError, match=r"pop3\.csv: " + message):
        _load(good[0], _pop(tmp_path / "pop3.csv", rows))


def test_thousands_separators_are_fine(tmp_path, good):
    rows = [(c, '"12,345"') for c in CODES]
    geo = _load(good[0], _pop(tmp_path / "sep.csv", rows))
    assert set(geo.units["population"]) == {12_345}


def test_every_bad_population_is_listed_with_its_code_value_and_what_is_expected(tmp_path, good):
    bad = {
        "r0c0": "-3",
        "r0c2": "12.5",
        "r1c0": "NaN",
        "r1c1": "inf",
        "r1c2": "1e30",
        "r2c0": str(2**63),
        "r2c1": "lots",
    }
    rows = [(c, bad.get(c, "7")) for c in CODES]
    with pytest.raises(InputFileError) as info:
        _load(good[0], _pop(tmp_path / "bad.csv", rows))
    problems = info.value.problems
    assert len(problems) == len(bad)
    for (code, value), problem in zip(bad.items(), problems, strict=True):
        assert f"(code {code!r}) population " in problem and value in problem
        assert "expected" in problem and "1,000,000,000" in problem


def test_populations_up_to_the_maximum_load_and_their_total_does_not_wrap(tmp_path, good):
    from footprint.geography import MAX_UNIT_POPULATION

    rows = [(c, f'"{MAX_UNIT_POPULATION:,}"') for c in CODES]
    geo = _load(good[0], _pop(tmp_path / "max.csv", rows))
    assert geo.units["population"].dtype == "int64"
    assert geo.units["population"].tolist() == [10**9] * 9
    assert geo.population_total == 9 * 10**9
    rows = [(c, "0" if c != "r1c1" else "1e3") for c in CODES]  # whole numbers in any spelling
    assert _load(good[0], _pop(tmp_path / "zero.csv", rows)).population_total == 1000


def test_numeric_population_columns_are_checked_too():
    from footprint.geography import build_geography

    units = _grid()
    for values, message in [
        ([2**63] + [1] * 8, r"line 2 \(code 'r0c0'\) population 9223372036854775808 is more "),
        ([float("inf")] + [1.0] * 8, r"line 2 \(code 'r0c0'\) population 'inf' is not a finite"),
        ([1e30] + [1.0] * 8, r"line 2 \(code 'r0c0'\) population 1e\+30 is more than"),
        ([12.5] + [1.0] * 8, r"line 2 \(code 'r0c0'\) population 12\.5 is not a whole number"),
        ([True] + [1] * 8, r"line 2 \(code 'r0c0'\) population True is not a number"),
    ]:
        pop = pd.DataFrame({"code": CODES, "population": pd.Series(values, dtype=object)})
        with pytest.raises(InputFileError, match=message):
            build_geography(units, pop, code_column="code", population_column="population")
    pop = pd.DataFrame({"code": CODES, "population": np.full(9, 2**63, dtype=np.uint64)})
    with pytest.raises(InputFileError) as info:
        build_geography(units, pop, code_column="code", population_column="population")
    assert len(info.value.problems) == 9


def test_unit_names_are_cleaned_at_the_door():
    from footprint.geography import build_geography

    g = _grid()
    g["label"] = [
        "A\x00B",
        "tab\there",
        "line\nbreak",
        "\x1b[31mred",
        "  pad  ",
        "\u202eevil",
        "\x00\x01",
        None,
        "ok",
    ]
    before = g.copy()
    pop = pd.DataFrame({"code": CODES, "population": ["5"] * 9})
    geo = build_geography(
        g, pop, code_column="code", population_column="population", name_column="label"
    )
    assert geo.units["name"].tolist() == [
        "AB",
        "tab here",
        "line break",
        "[31mred",
        "pad",
        "evil",
        "r2c0",
        "r2c1",
        "ok",
    ]  # a name with nothing left, or none, shows the code
    assert g.equals(before)  # the caller's frame is not changed


def test_codes_with_control_characters_are_refused():
    from footprint.geography import build_geography

    units = _grid()
    units.loc[4, "code"] = "r1\x00c1"
    pop = pd.DataFrame(
        {"code": [c if c != "r1c1" else "r1\x00c1" for c in CODES], "population": ["5"] * 9}
    )
    with pytest.raises(
        InputFileError,
        match=r"boundaries: row 5 has the code 'r1\\x00c1', which "
        r"holds control or invisible characters \(shown escaped\); codes must be "
        r"plain printable text",
    ):
        build_geography(units, pop, code_column="code", population_column="population")


def test_codes_in_only_one_file(tmp_path, good):
    rows = [(c, "1000") for c in CODES if c not in ("r2c2", "r2c1")] + [("zz1", "7"), ("zz2", "8")]
    with pytest.raises(InputFileError) as info:
        _load(good[0], _pop(tmp_path / "other.csv", rows))
    msg = str(info.value)
    assert "other.csv: 2 code(s) have a population but no boundary in units.gpkg: zz1, zz2" in msg
    assert "units.gpkg: 2 code(s) have a boundary but no population in other.csv: r2c1, r2c2" in msg


def test_population_code_column_with_padding_and_a_different_name(tmp_path, good):
    rows = [(f" {c} ", "1000") for c in CODES]
    pop = _pop(tmp_path / "p.csv", rows, header="Code of CCG,population")
    geo = _load(good[0], pop, population_code_column="Code of CCG")
    assert geo.units["code"].tolist() == CODES


# --- geometries and CRS ------------------------------------------------------------------------


def test_empty_and_non_polygon_geometries(tmp_path, good):
    g = _grid()
    g.loc[0, "geometry"] = None
    g.loc[3, "geometry"] = Point(400_500, 281_500)
    g.loc[5, "geometry"] = LineString([(402_000, 281_000), (403_000, 282_000)])
    g.to_file(tmp_path / "shapes.gpkg")
    with pytest.raises(InputFileError) as info:
        _load(tmp_path / "shapes.gpkg", good[1])
    msg = str(info.value)
    assert "shapes.gpkg: row 1 (code 'r0c0') has an empty geometry" in msg
    assert (
        "shapes.gpkg: row 4 (code 'r1c0') is a Point, expected a Polygon or MultiPolygon (an area)"
        in msg
    )
    assert "shapes.gpkg: row 6 (code 'r1c2') is a LineString, expected a Polygon" in msg


def test_missing_crs(tmp_path, good):
    folder = tmp_path / "shp"
    folder.mkdir()
    _grid().to_file(folder / "grid.shp")
    (folder / "grid.prj").unlink()
    with pytest.raises(
        InputFileError,
        match=r"grid\.shp: the file has no coordinate reference system; say which one it uses "
        r"\(27700 for British National Grid metres, 4326 for longitude/latitude: --crs on the "
        r"command line, crs= in Python\); a shapefile keeps it in its \.prj part",
    ) as caught:
        _load(folder / "grid.shp", good[1])
    assert str(caught.value).count("coordinate reference system") == 1  # said once
    with pytest.raises(
        InputFileError,
        match=(
            r"grid\.shp: the coordinate reference system 'EPSG:99999' is not one PROJ knows; "
            r"give an EPSG number such as 27700"
        ),
    ):
        _load(folder / "grid.shp", good[1], crs="EPSG:99999")
    geo = _load(folder / "grid.shp", good[1], crs=27700)
    assert geo.units.area.to_numpy() == pytest.approx([1e6] * 9)


# --- unreadable files --------------------------------------------------------------------------


def test_truncated_geojson(tmp_path, good):
    whole = tmp_path / "whole.geojson"
    _grid().to_file(whole, driver="GeoJSON")
    data = whole.read_bytes()
    (tmp_path / "cut.geojson").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        InputFileError,
        match=r"cut\.geojson: could not read it as a boundary file: it may be cut short or "
        r"damaged, or not really GeoJSON \(the reader said: .+\)\. Export or copy the file again",
    ):
        _load(tmp_path / "cut.geojson", good[1])


def test_truncated_geopackage(tmp_path, good):
    data = good[0].read_bytes()
    (tmp_path / "cut.gpkg").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        InputFileError,
        match=r"cut\.gpkg: could not read it as a boundary file: it may be cut short or damaged, "
        r"or not really a GeoPackage",
    ):
        _load(tmp_path / "cut.gpkg", good[1])


def test_file_that_is_not_what_its_name_says(tmp_path, good):
    (tmp_path / "notes.geojson").write_text("these are my notes, not a map")
    with pytest.raises(InputFileError, match=r"notes\.geojson: could not read it as a boundary"):
        _load(tmp_path / "notes.geojson", good[1])


def test_empty_files(tmp_path, good):
    (tmp_path / "zero.geojson").write_bytes(b"")
    with pytest.raises(InputFileError, match=r"zero\.geojson: the file is empty \(0 bytes\)"):
        _load(tmp_path / "zero.geojson", good[1])
    empty = {"type": "FeatureCollection", "features": []}
    (tmp_path / "none.geojson").write_text(json.dumps(empty))
    with pytest.raises(
        InputFileError,
        match=r"none\.geojson: the file holds no features; expected "
        r"one boundary \(feature\) per unit",
    ):
        _load(tmp_path / "none.geojson", good[1])
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(
        InputFileError,
        match=r"empty\.csv: the file is empty; expected a header "
        r"line and one line per unit",
    ):
        _load(good[0], tmp_path / "empty.csv")


def test_missing_files(tmp_path, good):
    with pytest.raises(InputFileError, match=r"nowhere\.gpkg: no such file; check the path"):
        _load(tmp_path / "nowhere.gpkg", good[1])
    with pytest.raises(InputFileError, match=r"nowhere\.csv: no such file; check the path"):
        _load(good[0], tmp_path / "nowhere.csv")


@pytest.mark.parametrize("name", ["units.kml", "units.xlsx", "units"])
def test_unsupported_extension(tmp_path, good, name):
    (tmp_path / name).write_text("x")
    suffix = Path(name).suffix or "(none)"
    with pytest.raises(
        InputFileError,
        match=rf"{re.escape(name)}: unsupported boundary file type '{re.escape(suffix)}'; expected "
        r"one of \.geojson, \.json, \.gpkg, \.topojson, \.zip, \.shp, \.tab\. Export the "
        r"boundaries as",
    ):
        _load(tmp_path / name, good[1])


def test_population_file_that_is_not_csv(tmp_path, good):
    (tmp_path / "pop.xlsx.csv").write_bytes(b"PK\x03\x04\x00\x00binary spreadsheet")
    with pytest.raises(
        InputFileError,
        match=r"pop\.xlsx\.csv: not a CSV text file \(it holds binary data.*Save it as 'CSV UTF-8",
    ):
        _load(good[0], tmp_path / "pop.xlsx.csv")


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        # every line one field too many: pandas alone would take the codes as an index
        ("r0c0,1,000\nr0c1,2,000\n", "line 2 has 3, line 3 has 3"),
        ("r0c0,1000\nr0c1,2,000\nr0c2\n", "line 3 has 3, line 4 has 1"),
    ],
)
def test_ragged_csv_names_the_lines(tmp_path, good, text, lines):
    (tmp_path / "ragged.csv").write_text("code,population\n" + text)
    with pytest.raises(
        InputFileError,
        match=r"ragged\.csv: not a readable CSV table: the header has 2 fields but "
        + re.escape(lines)
        + r"\. Every line needs as many fields as the header; put values that hold commas "
        r'\(such as "1,000"\) in double quotes',
    ):
        _load(good[0], tmp_path / "ragged.csv")


def test_windows_1252_population_file_is_read(tmp_path, good):
    text = "code,population,name\n" + "".join(f"{c},1000,Café {c}\n" for c in CODES)
    (tmp_path / "cp.csv").write_bytes(text.encode("cp1252"))
    assert read_table(tmp_path / "cp.csv")["name"].iloc[0] == "Café r0c0"
    assert len(_load(good[0], tmp_path / "cp.csv").units) == 9


# --- zipped shapefiles -------------------------------------------------------------------------


def _shapefile_parts(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "parts"
    folder.mkdir(exist_ok=True)
    _grid().to_file(folder / "grid.shp")
    return sorted(folder.iterdir())


def test_zip_without_a_shapefile(tmp_path, good):
    with zipfile.ZipFile(tmp_path / "none.zip", "w") as zf:
        zf.writestr("readme.txt", "boundaries to follow")
        zf.writestr("pop.csv", "code,population\n")
    with pytest.raises(
        InputFileError,
        match=r"none\.zip: a zip of boundaries must hold exactly one shapefile \(\.shp\) or one "
        r"MapInfo table \(\.tab\); found 0 \.shp and 0 \.tab \(readme\.txt, pop\.csv\)\. Zip one "
        r"shapefile \(\.shp with its \.shx, \.dbf and \.prj\) or one MapInfo table",
    ):
        _load(tmp_path / "none.zip", good[1])


def test_zip_with_two_shapefiles(tmp_path, good):
    parts = _shapefile_parts(tmp_path)
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as zf:
        for p in parts:
            zf.write(p, f"2013/{p.name}")
            zf.write(p, f"2015/{p.name}")
    with pytest.raises(
        InputFileError,
        match=r"two\.zip: a zip of boundaries must hold exactly one shapefile \(\.shp\) or one "
        r"MapInfo table \(\.tab\); found 2 \.shp and 0 \.tab \(2013/grid\.shp, 2015/grid\.shp\)",
    ):
        _load(tmp_path / "two.zip", good[1])


def test_damaged_zip(tmp_path, good):
    parts = _shapefile_parts(tmp_path)
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as zf:
        for p in parts:
            zf.write(p, p.name)
    assert len(_load(tmp_path / "ok.zip", good[1]).units) == 9
    data = (tmp_path / "ok.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        InputFileError,
        match=r"cut\.zip: not a readable zip file \(damaged or "
        r"truncated\)",
    ):
        _load(tmp_path / "cut.zip", good[1])


def test_zip_with_a_shapefile_missing_its_dbf(tmp_path, good):
    parts = _shapefile_parts(tmp_path)
    with zipfile.ZipFile(tmp_path / "nodbf.zip", "w") as zf:
        for p in parts:
            if p.suffix != ".dbf":
                zf.write(p, p.name)
    # without its table the shapefile has no code column
    with pytest.raises(InputFileError, match=r"nodbf\.zip: no column 'code' to take unit codes"):
        _load(tmp_path / "nodbf.zip", good[1])


# --- everything at once ------------------------------------------------------------------------


def test_every_problem_is_listed_in_one_error(tmp_path):
    g = _grid()
    g.loc[1, "code"] = None
    g.loc[2, "code"] = "r0c0"
    g.loc[3, "geometry"] = Point(400_500, 281_500)
    g.loc[4, "geometry"] = None
    g = g.set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        g.to_file(tmp_path / "messy.gpkg")
    rows = [
        ("r0c0", "100"),
        ("r1c0", "n/a"),
        ("r1c1", '"12,5x"'),
        ("r1c2", "-5"),
        ("r2c0", ""),
        ("zz9", "10"),
        ("zz9", "11"),
        ("", "44"),
    ]
    pop = _pop(tmp_path / "messy.csv", rows)
    with pytest.raises(InputFileError) as info:
        _load(tmp_path / "messy.gpkg", pop)
    err = info.value
    expected = [
        "messy.gpkg: the file has no coordinate reference system",
        "messy.gpkg: 1 feature(s) have no code in column 'code' (rows 2)",
        "messy.gpkg: code 'r0c0' appears more than once (rows 1, 3)",
        "messy.gpkg: row 4 (code 'r1c0') is a Point",
        "messy.gpkg: row 5 (code 'r1c1') has an empty geometry",
        "messy.csv: line 3 (code 'r1c0') population 'n/a' is not a number",
        "messy.csv: line 4 (code 'r1c1') population '12,5x' is not a number",
        "messy.csv: line 5 (code 'r1c2') population -5 is negative",
        "messy.csv: line 6 (code 'r2c0') has no population",
        "messy.csv: line 9 has no code in column 'code'",
        "messy.csv: code 'zz9' appears more than once (lines 7, 8)",
        "messy.csv: 1 code(s) have a population but no boundary in messy.gpkg: zz9",
        "messy.gpkg: 2 code(s) have a boundary but no population in messy.csv: r2c1, r2c2",
    ]
    assert str(err).startswith("Cannot build the geography from messy.gpkg and messy.csv:")
    assert len(err.problems) == len(expected), "\n".join(err.problems)
    for text in expected:
        assert sum(p.startswith(text) for p in err.problems) == 1, text
    for text in expected:
        assert f"  - {text}" in str(err)


def test_read_boundaries_layer_and_crs(tmp_path):
    p = tmp_path / "two.gpkg"
    _grid().to_file(p, layer="a")
    _grid().iloc[:3].to_file(p, layer="b")
    assert len(read_boundaries(p, layer="b")) == 3
    with pytest.raises(
        InputFileError,
        match=r"two\.gpkg: could not read it as a boundary file.*"
        r"not really a GeoPackage \(the reader said: .*'nope'",
    ):
        read_boundaries(p, layer="nope")
