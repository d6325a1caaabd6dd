"""Uploads: hostile zips are refused before anything escapes; small files become geographies."""

from __future__ import annotations

import io
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import pytest
from helpers import grid_units

from footprint.errors import InputFileError
from footprint.uploads import inspect_upload_columns, load_uploaded_geography, safe_extract_zip

CODES = [f"r{r}c{c}" for r in range(2) for c in range(3)]
POP_CSV = (
    "population.csv",
    ("code,pop\n" + "".join(f"{c},{100 * (i + 1)}\n" for i, c in enumerate(CODES))).encode(),
)


def _zip(members: dict[str, bytes], **kw) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, **kw) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _units():
    units = grid_units(2, 3)
    units["label"] = [f"Unit {c}" for c in units["code"]]
    return units


def _file_bytes(tmp_path: Path, name: str, **kw) -> bytes:
    path = tmp_path / name
    _units().to_file(path, engine="pyogrio", **kw)
    return path.read_bytes()


def _shapefile_parts(tmp_path: Path) -> dict[str, bytes]:
    folder = tmp_path / "shp"
    folder.mkdir()
    _units().to_file(folder / "units.shp", engine="pyogrio")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --- safe_extract_zip --------------------------------------------------------------------------


def test_plain_zip_extracts_inside(tmp_path):
    data = _zip({"a.txt": b"hello", "sub/b.txt": b"world", "sub/": b""})
    files = safe_extract_zip(data, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in files) == [
        "a.txt",
        "sub/b.txt",
    ]
    assert (tmp_path / "out" / "sub" / "b.txt").read_bytes() == b"world"


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ("../../evil.txt", "would be written outside the upload folder"),
        ("ok/../../evil.txt", "would be written outside the upload folder"),
        ("..\\evil.txt", "would be written outside the upload folder"),
        ("/etc/evil.txt", "is an absolute path"),
        ("C:/Windows/evil.txt", "starts with a drive letter"),
        ("c:evil.txt", "starts with a drive letter"),
    ],
)
def test_zip_slip_is_refused(tmp_path, member, why):
    data = _zip({"fine.txt": b"x", member: b"evil"})
    dest = tmp_path / "out"
    with pytest.raises(
        InputFileError, match=rf"boundaries\.zip: member '.*evil\.txt' {why}; the zip was refused"
    ):
        safe_extract_zip(data, dest, source="boundaries.zip")
    assert not dest.exists() or not any(dest.rglob("*"))  # nothing extracted, not even fine.txt
    assert not (tmp_path / "evil.txt").exists()


def test_symlink_member_is_refused(tmp_path):
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(
        InputFileError, match="member 'link' is a symbolic link; the zip was refused"
    ):
        safe_extract_zip(buf.getvalue(), tmp_path / "out")


def test_zip_bomb_is_refused_by_declared_size(tmp_path):
    data = _zip({"zeros.bin": b"\0" * (20 * 1024 * 1024)})
    assert len(data) < 100_000  # tiny on the wire
    with pytest.raises(
        InputFileError, match=r"would unpack to 20\.0 MB, more than the 5\.0 MB allowed"
    ):
        safe_extract_zip(data, tmp_path / "out", max_total_bytes=5 * 1024 * 1024)


def test_zip_bomb_that_lies_about_its_size_is_stopped_while_reading(tmp_path):
    data = bytearray(_zip({"zeros.bin": b"\0" * (20 * 1024 * 1024)}))
    # forge the declared size in both headers down to 1 KB (a lying archive)
    real = (20 * 1024 * 1024).to_bytes(4, "little")
    fake = (1024).to_bytes(4, "little")
    assert data.count(real) == 2
    data = bytes(data.replace(real, fake))
    dest = tmp_path / "out"
    expected = r"lies about its contents \(Bad CRC-32 for file 'zeros\.bin'\); the zip was refused"
    with pytest.raises(InputFileError, match=expected):
        safe_extract_zip(data, dest, max_total_bytes=5 * 1024 * 1024)
    assert not any(dest.rglob("*"))  # the partial file was removed


def test_actual_bytes_are_counted_across_nested_archives(tmp_path):
    # each level declares less than the limit; together they exceed it
    inner = _zip({"zeros.bin": b"\0" * (3 * 1024 * 1024)})
    data = _zip({"a.zip": inner, "b.zip": inner})
    expected = (
        r"upload\.zip/b\.zip: its members would unpack to 3\.0 MB, more than the 2\.0 MB left"
    )
    with pytest.raises(InputFileError, match=expected):
        safe_extract_zip(data, tmp_path / "out", max_total_bytes=5 * 1024 * 1024, max_depth=2)
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_too_many_members(tmp_path):
    data = _zip({f"f{i}.txt": b"x" for i in range(30)})
    with pytest.raises(InputFileError, match="holds 30 members, more than the 20 allowed"):
        safe_extract_zip(data, tmp_path / "out", max_files=20)


def test_nested_zip_refused_at_depth_one_and_opened_once_at_two(tmp_path):
    inner = _zip({"units.geojson": b"{}"})
    data = _zip({"inner.zip": inner})
    with pytest.raises(InputFileError, match=r"member 'inner\.zip' is a zip inside the zip"):
        safe_extract_zip(data, tmp_path / "a")
    files = safe_extract_zip(data, tmp_path / "b", max_depth=2)
    assert [p.name for p in files] == ["units.geojson"]
    # a zip disguised under another name is caught by its signature
    disguised = _zip({"inner.dat": inner})
    with pytest.raises(InputFileError, match=r"member 'inner\.dat' is a zip inside the zip"):
        safe_extract_zip(disguised, tmp_path / "c")
    # three levels with max_depth=2: the innermost is refused
    triple = _zip({"mid.zip": _zip({"deep.zip": inner})})
    with pytest.raises(InputFileError, match=r"upload\.zip/mid\.zip: member 'deep\.zip' is a zip"):
        safe_extract_zip(triple, tmp_path / "d", max_depth=2)


def test_duplicate_and_clashing_members(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", b"1")
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("a.txt", b"2")
    with pytest.raises(InputFileError, match=r"member 'a\.txt' appears more than once"):
        safe_extract_zip(buf.getvalue(), tmp_path / "dup")
    clash = _zip({"sub": b"file", "sub/x.txt": b"x"})
    expected = r"a member could not be extracted .*the zip was refused"
    with pytest.raises(InputFileError, match=expected):
        safe_extract_zip(clash, tmp_path / "clash")
    assert not [p for p in (tmp_path / "clash").rglob("*") if p.is_file()]


def test_not_a_zip(tmp_path):
    with pytest.raises(
        InputFileError, match=r"shapes\.zip: not a zip archive \(or a damaged one\)"
    ):
        safe_extract_zip(b"this is not a zip", tmp_path / "out", source="shapes.zip")


# --- load_uploaded_geography -------------------------------------------------------------------


def _temp_dirs() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("footprint-upload-")}


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_single_file_round_trip(tmp_path, fmt):
    before = _temp_dirs()
    data = _file_bytes(tmp_path, f"units.{fmt}")
    geo = load_uploaded_geography(
        (f"C:\\Users\\me\\units.{fmt}", data),
        POP_CSV,
        code_column="code",
        population_column="pop",
        population_code_column="code",
        name_column="label",
        population_label="residents",
    )
    assert sorted(geo.codes) == sorted(CODES)
    assert geo.population_total == 2100
    assert geo.units.set_index("code").loc["r1c2", "name"] == "Unit r1c2"
    assert geo.population_label == "residents" and geo.name == "units"
    assert _temp_dirs() == before  # the private folder is gone


def test_zipped_shapefile_round_trip(tmp_path):
    parts = _shapefile_parts(tmp_path)
    geo = load_uploaded_geography(
        ("boundaries.zip", _zip({f"shapes/{n}": d for n, d in parts.items()})),
        POP_CSV,
        code_column="code",
        population_column="pop",
    )
    assert sorted(geo.codes) == sorted(CODES)
    assert geo.units.crs.to_epsg() == 27700


def test_loose_shapefile_parts_round_trip(tmp_path):
    parts = _shapefile_parts(tmp_path)
    geo = load_uploaded_geography(
        list(parts.items()), POP_CSV, code_column="code", population_column="pop"
    )
    assert geo.population_total == 2100
    missing = [(n, d) for n, d in parts.items() if not n.endswith(".dbf")]
    with pytest.raises(
        InputFileError, match=r"units\.shp: the shapefile units\.shp lacks its \.dbf part"
    ):
        load_uploaded_geography(missing, POP_CSV, code_column="code", population_column="pop")


def test_wrong_population_columns_are_reported_and_cleaned_up(tmp_path):
    before = _temp_dirs()
    data = _file_bytes(tmp_path, "units.geojson")
    bad = ("pop.csv", b"ccg,people\nr0c0,5\n")
    with pytest.raises(
        InputFileError, match=r"(?s)pop\.csv: no column 'code'.*pop\.csv: no column 'pop'"
    ):
        load_uploaded_geography(
            ("units.geojson", data), bad, code_column="code", population_column="pop"
        )
    assert _temp_dirs() == before


def test_hostile_zip_upload_is_refused_and_cleaned_up():
    before = _temp_dirs()
    with pytest.raises(
        InputFileError,
        match=r"boundaries\.zip: member '\.\./\.\./evil\.txt' would be written outside",
    ):
        load_uploaded_geography(
            ("boundaries.zip", _zip({"../../evil.txt": b"x"})),
            POP_CSV,
            code_column="code",
            population_column="pop",
        )
    assert _temp_dirs() == before


@pytest.mark.parametrize(
    ("boundary", "population", "message"),
    [
        (("units.docx", b"x"), POP_CSV, r"cannot read boundaries from units\.docx: upload one"),
        (("units.geojson", b""), POP_CSV, r"units\.geojson: the file is empty"),
        (
            ("units.geojson", b"{not json"),
            POP_CSV,
            r"units\.geojson: could not read it as a boundary file",
        ),
        (
            ("units.geojson", b"{}"),
            ("pop.xlsx", b"x"),
            r"pop\.xlsx: the population must be a CSV file",
        ),
        (("..", b"x"), POP_CSV, r"'\.\.': not a usable file name for the boundary"),
        (
            ("a.zip", _zip({"readme.txt": b"x"})),
            POP_CSV,
            r"a\.zip: expected exactly one shapefile .* found readme\.txt",
        ),
        ("units.geojson", POP_CSV, r"the boundary upload must be a \(file name, bytes\) pair"),
    ],
)
def test_unusable_uploads_name_the_file(boundary, population, message):
    with pytest.raises(InputFileError, match=message):
        load_uploaded_geography(boundary, population, code_column="code", population_column="pop")


def test_size_limit(tmp_path):
    data = _file_bytes(tmp_path, "units.geojson")
    with pytest.raises(
        InputFileError, match=r"(?s)too large.*units\.geojson is 0\.0 MB, more than the 0\.0 MB"
    ):
        load_uploaded_geography(
            ("units.geojson", data),
            POP_CSV,
            code_column="code",
            population_column="pop",
            max_bytes=100,
        )


def test_inspect_columns(tmp_path):
    assert inspect_upload_columns(POP_CSV) == ["code", "pop"]
    data = _file_bytes(tmp_path, "units.gpkg")
    assert inspect_upload_columns(("units.gpkg", data)) == ["code", "label"]
    parts = _shapefile_parts(tmp_path)
    assert inspect_upload_columns(("s.zip", _zip(parts))) == ["code", "label"]
    with pytest.raises(InputFileError, match=r"bad\.gpkg: could not read it as a boundary file"):
        inspect_upload_columns(("bad.gpkg", b"SQLite format 3\0garbage"))


@pytest.mark.realdata
def test_real_ccgs_uploaded_as_a_zipped_shapefile(geography, tmp_path):
    units = geography.units[["code", "name", "geometry"]]
    folder = tmp_path / "ccg"
    folder.mkdir()
    units.to_file(folder / "ccg.shp", engine="pyogrio", encoding="UTF-8")
    parts = {p.name: p.read_bytes() for p in folder.iterdir()}
    csv = geography.units[["code", "population"]].to_csv(index=False).encode()
    geo = load_uploaded_geography(
        ("ccg2013.zip", _zip(parts)),
        ("list_sizes.csv", csv),
        code_column="code",
        population_column="population",
        name_column="name",
    )
    assert len(geo.units) == 211
    assert geo.population_total == 56_324_887
    # dBASE drops trailing spaces (two 2013 names end with one)
    assert set(geo.units["name"]) == set(geography.units["name"].str.rstrip())


def test_inspect_columns_reads_windows_1252_and_refuses_other_encodings():
    assert inspect_upload_columns(("p.csv", "côde,pop\nA,1\n".encode("cp1252"))) == ["côde", "pop"]
    # 0x81 is undefined in Windows-1252 and not UTF-8: refused in words, not a UnicodeDecodeError
    with pytest.raises(InputFileError, match=r"p\.csv: text encoding not recognised"):
        inspect_upload_columns(("p.csv", b"code,pop\n\x81\x81,1\n"))
