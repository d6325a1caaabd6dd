"""Hostile inputs for every door a planner's file or text comes through, each with what it must get.

The corpus is generated, not committed: every file is small and built here from code, so
the repository holds no payloads. ``python tests/hostile_corpus.py OUT`` writes the files
into ``OUT`` to look at; ``tests/test_hostile_corpus.py`` runs each one through the
library (and the command line where there is one) and ``benchmarks/hostile_report.py``
prints the counts kept in the README's reliability section.

Two stand-ins make leaks visible: a *secret* file whose lines must never appear in any
message or column list (the payloads name it where a real attack would name
``/etc/passwd``), and a *canary* URL on 127.0.0.1 that must never be requested.

Each case says which door it goes through (``kind``), the files, and what must happen:
``refuse`` (a :class:`~footprint.errors.FootprintError` whose message matches
``expect``) or ``load`` (read without error; ``expect`` then matches a fact about the
result). ``held`` records whether the code before the security work already refused it,
so that the report can say how many holes were closed and how many defences stay held.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import re
import sqlite3
import stat
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
from shapely.geometry import box

SECRET_LINES = ("footprint-secret-line-1:x:0:0", "footprint-secret-line-2:y:1:1")

#: What the corpus needs to know about the machine it runs on.
Env = dict[str, str]  # {"secret": path of the secret CSV, "canary": base URL on 127.0.0.1}


@dataclass(frozen=True)
class Case:
    """One hostile input.

    Attributes
    ----------
    id
        Short, unique, readable.
    kind
        The door: ``boundary`` (an uploaded boundary file, with a good population
        file), ``columns`` (the upload's column list for the app's select boxes),
        ``population`` (good boundaries, a hostile population CSV), ``cli`` (the command
        line, run in process: exit 2 is a refusal, any other exit but 0 and 1 a crash),
        ``plan`` (a plan
        CSV imported; ``expect`` matches the refusal, or the import's problems and
        assignment), ``scenario`` (a file dropped into the shared scenario folder beside
        a good scenario; ``expect`` matches the reason it is skipped, and the good one
        must still be listed), ``la`` (a hostile LA layer uploaded beside good boundaries
        and population), ``export`` (a plan with hostile footprint names written
        as CSV: every cell neutralised and the import reading back the same plan).
    build
        ``env -> [(file name, bytes), ...]``: the upload as the browser would send it.
    expect
        A regular expression the refusal's message must match (or, for ``load``, the
        loaded geography's unit names joined by ``|``).
    outcome
        ``refuse`` or ``load``.
    held
        Whether the code before the security work already refused it safely.
    options
        Extra keyword arguments for the door (e.g. a small ``max_units``).
    """

    id: str
    kind: str
    build: Callable[[Env], list[tuple[str, bytes]]]
    expect: str
    outcome: str = "refuse"
    held: bool = False
    options: dict[str, object] = field(default_factory=dict)


# --- building blocks -----------------------------------------------------------------------------

CODES = [f"r{r}c{c}" for r in range(2) for c in range(3)]
POPULATION = (
    "population.csv",
    ("code,pop\n" + "".join(f"{c},{100_000 * (i + 1)}\n" for i, c in enumerate(CODES))).encode(),
)


def _units(names: list[str] | None = None) -> gpd.GeoDataFrame:
    recs = [
        {"code": f"r{r}c{c}", "geometry": box(c * 1000, r * 1000, (c + 1) * 1000, (r + 1) * 1000)}
        for r in range(2)
        for c in range(3)
    ]
    gdf = gpd.GeoDataFrame(recs, geometry="geometry", crs=27700)
    gdf["label"] = names or [f"Unit {c}" for c in gdf["code"]]
    return gdf


def _written(suffix: str, gdf: gpd.GeoDataFrame | None = None) -> dict[str, bytes]:
    """A GeoDataFrame written by GDAL in one format: file name -> bytes (shapefiles: each part)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"units{suffix}"
        (gdf if gdf is not None else _units()).to_file(path, engine="pyogrio")
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _vrt(source: str, *, prolog: bytes = b"") -> bytes:
    return (
        prolog
        + (
            f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>{source}</SrcDataSource>'
            "</OGRVRTLayer></OGRVRTDataSource>"
        ).encode()
    )


def _vrt_file(env: Env) -> bytes:
    return _vrt(f"CSV:{env['secret']}")


def _vrt_url(env: Env) -> bytes:
    return _vrt(f"CSV:/vsicurl/{env['canary']}/stolen.csv")


def _feature_collection(crs: dict[str, object], *, metres: bool = False) -> bytes:
    """Six square units near Leeds in longitude and latitude (or, ``metres``, in BNG metres)."""
    x0, y0, step = (430_000, 433_000, 1000) if metres else (-1.6, 53.8, 0.01)
    return json.dumps(
        {
            "type": "FeatureCollection",
            "crs": crs,
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": code, "label": f"Unit {code}"},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [x0 + c * step, y0 + r * step],
                                [x0 + (c + 1) * step, y0 + r * step],
                                [x0 + (c + 1) * step, y0 + (r + 1) * step],
                                [x0 + c * step, y0 + (r + 1) * step],
                                [x0 + c * step, y0 + r * step],
                            ]
                        ],
                    },
                }
                for code in CODES
                for r, c in [(int(code[1]), int(code[3]))]
            ],
        }
    ).encode()


def _gpkg_with(sql: list[str], *, schema: bool = False) -> bytes:
    """A real GeoPackage of the units, altered by ``sql`` (``schema``: write sqlite_master)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "units.gpkg"
        _units().to_file(path, layer="units", engine="pyogrio")
        con = sqlite3.connect(path)
        try:
            if schema:
                con.execute("PRAGMA writable_schema=ON")
            for statement in sql:
                con.execute(statement)
            con.commit()
        finally:
            con.close()
        return path.read_bytes()


def _symlink_zip() -> bytes:
    info = zipfile.ZipInfo("units.geojson")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _shp_parts_with(part: str, payload: bytes) -> list[tuple[str, bytes]]:
    parts = _written(".shp")
    parts[f"units{part}"] = payload
    return sorted(parts.items())


# --- the cases -----------------------------------------------------------------------------------

_NOT_OPENED = (
    r"could not read it as a boundary file: it is named as {kind} but its content is "
    r"not {kind} \(it looks like a GDAL virtual dataset \(VRT\), which can point at other files "
    r"or URLs\); it was not opened"
)


def _vrt_cases() -> list[Case]:
    cases = []
    for payload, label in ((_vrt_file, "file"), (_vrt_url, "url")):
        for name, kind in (
            ("x.geojson", "GeoJSON"),
            ("x.json", "GeoJSON or TopoJSON"),
            ("x.topojson", "TopoJSON"),
            ("x.gpkg", "a GeoPackage"),
        ):
            expect = re.escape(name) + ": " + _NOT_OPENED.format(kind=kind)
            cases.append(
                Case(
                    f"vrt-{label}-as-{name}",
                    "boundary",
                    lambda e, n=name, p=payload: [(n, p(e))],
                    expect,
                )
            )
            cases.append(
                Case(
                    f"vrt-{label}-as-{name}-columns",
                    "columns",
                    lambda e, n=name, p=payload: [(n, p(e))],
                    expect,
                )
            )
            cases.append(
                Case(
                    f"vrt-{label}-as-{name}-in-zip",
                    "boundary",
                    lambda e, n=name, p=payload: [("upload.zip", _zip({n: p(e)}))],
                    expect,
                )
            )
        cases.append(
            Case(
                f"vrt-{label}-as-shp-in-zip",
                "boundary",
                lambda e, p=payload: [("upload.zip", _zip(dict(_shp_parts_with(".shp", p(e)))))],
                r"units\.shp: not a shapefile; it was not opened:\n  - its \.shp part does not "
                r"start as a shapefile's does \(it looks like a GDAL virtual dataset",
            )
        )
        cases.append(
            Case(
                f"vrt-{label}-as-loose-dbf",
                "boundary",
                lambda e, p=payload: _shp_parts_with(".dbf", p(e)),
                r"units\.shp: not a shapefile; it was not opened:\n  - its \.dbf part is not a "
                r"dBASE table \(it looks like a GDAL virtual dataset",
            )
        )
    cases += [
        Case(
            "vrt-with-bom-and-xml-prolog",
            "boundary",
            lambda e: [
                (
                    "x.geojson",
                    _vrt(f"CSV:{e['secret']}", prolog=b'\xef\xbb\xbf  <?xml version="1.0"?>\n'),
                )
            ],
            r"x\.geojson: could not read it as a boundary file: it is named as GeoJSON but its "
            r"content is not GeoJSON \(it looks like a GDAL virtual dataset",
        ),
        Case(
            "vrt-named-like-a-gdal-path",
            "boundary",
            lambda e: [("CSV:/vsicurl/x.geojson", _vrt_url(e))],
            r"x\.geojson: could not read it as a boundary file: it is named as GeoJSON",
        ),
    ]
    return cases


CASES: list[Case] = [
    *_vrt_cases(),
    Case(
        "geojson-crs-name-is-a-file",
        "boundary",
        lambda e: [
            (
                "units.geojson",
                _feature_collection({"type": "name", "properties": {"name": e["secret"]}}),
            )
        ],
        r"",
        outcome="load",
        held=True,
    ),
    Case(
        "geojson-crs-name-is-a-url",
        "boundary",
        lambda e: [
            (
                "units.geojson",
                _feature_collection({"type": "name", "properties": {"name": f"{e['canary']}/crs"}}),
            )
        ],
        r"",
        outcome="load",
        held=True,
    ),
    Case(
        "geojson-crs-link-to-url",
        "boundary",
        lambda e: [
            (
                "units.geojson",
                _feature_collection(
                    {
                        "type": "link",
                        "properties": {"href": f"{e['canary']}/crs.wkt", "type": "ogcwkt"},
                    }
                ),
            )
        ],
        r"",
        outcome="load",
        held=True,
    ),
    Case(
        "gpkg-virtualogr-table",
        "boundary",
        lambda e: [
            (
                "units.gpkg",
                _gpkg_with(
                    [
                        "INSERT INTO sqlite_master(type,name,tbl_name,rootpage,sql) "
                        "VALUES('table','evil','evil',0,'CREATE VIRTUAL TABLE evil USING "
                        f"VirtualOGR(''CSV:{e['secret']}'')')",
                        "INSERT INTO gpkg_contents(table_name,data_type,identifier) "
                        "VALUES('evil','attributes','evil')",
                    ],
                    schema=True,
                ),
            )
        ],
        r"units\.gpkg: could not read it as a boundary file.*no such module: VirtualOGR",
        held=True,
        options={"layer": "evil"},
    ),
    Case(
        "gpkg-view-loading-a-datasource",
        "boundary",
        lambda e: [
            (
                "units.gpkg",
                _gpkg_with(
                    [
                        "CREATE VIEW v AS SELECT ogr_datasource_load_layers("
                        f"'CSV:{e['secret']}') AS x, * FROM units",
                        "INSERT INTO gpkg_contents(table_name,data_type,identifier) "
                        "VALUES('v','attributes','v')",
                    ]
                ),
            )
        ],
        r"units\.gpkg: could not read it as a boundary file.*could be used to steal data",
        held=True,
    ),
    Case(
        "sqlite-that-is-not-a-geopackage",
        "boundary",
        lambda e: [("units.gpkg", _gpkg_with(["PRAGMA application_id = 0"]))],
        r"units\.gpkg: an SQLite database but not a GeoPackage",
    ),
    Case(
        "geopackage-cut-short",
        "boundary",
        lambda e: [("units.gpkg", b"SQLite format 3\x00garbage")],
        r"units\.gpkg: could not read it as a boundary file: the GeoPackage is cut short",
        held=True,
    ),
    Case(
        "csv-named-geojson",
        "boundary",
        lambda e: [("units.geojson", b"code,pop\nr0c0,1\n")],
        r"units\.geojson: could not read it as a boundary file: it is named as GeoJSON but its "
        r"content is not GeoJSON \(it looks like text in another format \(such as CSV\)\)",
        held=True,
    ),
    Case(
        "html-named-geojson",
        "boundary",
        lambda e: [("units.geojson", b"<html><body><img src='x'></body></html>")],
        r"units\.geojson: could not read it as a boundary file: it is named as GeoJSON but its "
        r"content is not GeoJSON \(it looks like XML or HTML\)",
        held=True,
    ),
    Case(
        "pdf-named-gpkg",
        "boundary",
        lambda e: [("units.gpkg", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")],
        r"units\.gpkg: could not read it as a boundary file: it is named as a GeoPackage but "
        r"its content is not a GeoPackage \(it looks like a PDF document\)",
        held=True,
    ),
    Case(
        "zip-named-geojson",
        "boundary",
        lambda e: [("units.geojson", _zip({"a.txt": b"x"}))],
        r"units\.geojson: could not read it as a boundary file: it is named as GeoJSON but its "
        r"content is not GeoJSON \(it looks like a zip archive\)",
        held=True,
    ),
    Case(
        "geojson-in-metres-without-saying-so",
        "boundary",
        lambda e: [("units.geojson", _feature_collection({}, metres=True))],
        r"units\.geojson: the file says its coordinates are longitude and latitude \(WGS 84\), "
        r"but they run from 430,000, 433,000 to 433,000, 435,000, which look like metres",
    ),
    Case(
        "too-many-units",
        "boundary",
        lambda e: [("units.geojson", _feature_collection({}))],
        r"units\.geojson: the file holds 6 features; this server plans at most 5 units in one "
        r"geography",
        options={"max_units": 5},
    ),
    Case(
        "zip-slip",
        "boundary",
        lambda e: [("upload.zip", _zip({"../../evil.geojson": _feature_collection({})}))],
        r"upload\.zip: member '\.\./\.\./evil\.geojson' would be written outside the upload "
        r"folder; the zip was refused",
        held=True,
    ),
    Case(
        "zip-symlink",
        "boundary",
        lambda e: [("upload.zip", _symlink_zip())],
        r"upload\.zip: member 'units\.geojson' is a symbolic link; the zip was refused",
        held=True,
    ),
    Case(
        "zip-in-zip",
        "boundary",
        lambda e: [("upload.zip", _zip({"inner.zip": _zip({"u.geojson": b"{}"})}))],
        r"upload\.zip: member 'inner\.zip' is a zip inside the zip",
        held=True,
    ),
    Case(
        "zip-bomb",
        "boundary",
        lambda e: [("upload.zip", _zip({"units.geojson": b" " * (3 * 1024 * 1024)}))],
        r"upload\.zip: its members would unpack to 3\.0 MB, more than the 1\.0 MB allowed",
        held=True,
        options={"max_bytes": 1024 * 1024},
    ),
    Case(
        "not-a-zip",
        "boundary",
        lambda e: [("upload.zip", b"PK\x03\x04 but not really")],
        r"upload\.zip: not a zip archive \(or a damaged one\)",
        held=True,
    ),
    Case(
        "empty-geojson",
        "boundary",
        lambda e: [("units.geojson", b"")],
        r"units\.geojson: the file is empty; upload it again",
        held=True,
    ),
]


def _population(values: list[object]) -> list[tuple[str, bytes]]:
    rows = "".join(f"{c},{v}\n" for c, v in zip(CODES, values, strict=True))
    return [("population.csv", ("code,pop\n" + rows).encode())]


def _scenario(body: object) -> list[tuple[str, bytes]]:
    text = body if isinstance(body, str) else json.dumps(body)
    return [("dropped.json", text.encode() if isinstance(text, str) else text)]


def _scenario_body(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "format": "footprint-scenario",
        "version": 1,
        "name": "Dropped in",
        "created": "2026-12-01T10:00:00+00:00",
        "assignment": {"r0c0": "A"},
    }
    body.update(fields)
    return body


_FORMULAS = [
    '=HYPERLINK("http://127.0.0.1:9/x","Click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\t=1",
    "'=already quoted",
]
MORE_CASES: list[Case] = [
    Case(
        "population-2-to-the-63",
        "population",
        lambda e: _population([2**63, 1, 1, 1, 1, 1]),
        r"line 2 \(code 'r0c0'\) population 9223372036854775808 is more than 1,000,000,000",
    ),
    Case(
        "population-inf",
        "population",
        lambda e: _population(["inf", 1, 1, 1, 1, 1]),
        r"line 2 \(code 'r0c0'\) population 'inf' is not a finite number",
    ),
    Case(
        "population-1e30",
        "population",
        lambda e: _population(["1e30", 1, 1, 1, 1, 1]),
        r"line 2 \(code 'r0c0'\) population 1e30 is more than 1,000,000,000",
    ),
    Case(
        "population-nan",
        "population",
        lambda e: _population(["NaN", 1, 1, 1, 1, 1]),
        r"line 2 \(code 'r0c0'\) population 'NaN' is not a number",
    ),
    Case(
        "population-negative",
        "population",
        lambda e: _population([-5, 1, 1, 1, 1, 1]),
        r"line 2 \(code 'r0c0'\) population -5 is negative",
        held=True,
    ),
    Case(
        "population-fraction",
        "population",
        lambda e: _population(["12.5", 1, 1, 1, 1, 1]),
        r"line 2 \(code 'r0c0'\) population 12\.5 is not a whole number",
        held=True,
    ),
    Case(
        "population-utf16",
        "population",
        lambda e: [("population.csv", "code,pop\nr0c0,1\n".encode("utf-16"))],
        r"population\.csv: not a CSV text file \(it holds binary data",
        held=True,
    ),
    Case(
        "plan-formulas-kept-as-text",
        "plan",
        lambda e: [
            (
                "plan.csv",
                (
                    "unit_code,footprint\n"
                    + "".join(
                        f'{c},"{f.replace(chr(34), chr(34) * 2)}"\n'
                        for c, f in zip(CODES, _FORMULAS, strict=True)
                    )
                ).encode(),
            )
        ],
        r"'r0c0': '=HYPERLINK",
        outcome="load",
        held=True,
    ),
    Case(
        "plan-unclosed-quote",
        "plan",
        lambda e: [("plan.csv", b'unit_code,footprint\nr0c0,A\nr0c1,"B\nr0c2,C\nr1c0,D\n')],
        r"line 3 opens a quote that is never closed; the rest of the file \(lines 3 to 5\) was "
        r"read as one value and skipped",
        outcome="load",
    ),
    Case(
        "plan-utf16",
        "plan",
        lambda e: [("plan.csv", "unit_code,footprint\n".encode("utf-16"))],
        r"not a CSV text file \(it holds binary data",
        held=True,
    ),
    Case(
        "plan-xlsx",
        "plan",
        lambda e: [("plan.csv", _zip({"[Content_Types].xml": b"<x/>"}))],
        r"not a CSV text file \(it looks like a zip archive or an Excel workbook",
        held=True,
    ),
    Case(
        "plan-control-characters-in-names",
        "plan",
        lambda e: [("plan.csv", b"unit_code,footprint\nr0c0,North\x00ern\x1b[31m\nr0c1,A\n")],
        r"'r0c0': 'Northern\[31m'",
        outcome="load",
    ),
    Case(
        "plan-markup-in-names",
        "plan",
        lambda e: [("plan.csv", f"unit_code,footprint\nr0c0,![t]({e['canary']}/p.png)\n".encode())],
        r"'r0c0': '!\[t\]\(http://127\.0\.0\.1:\d+/p\.png\)'",
        outcome="load",
        held=True,
    ),
    Case(
        "export-formula-names",
        "export",
        lambda e: [(c, f.encode()) for c, f in zip(CODES, _FORMULAS, strict=True)],
        r"",
        outcome="load",
    ),
    Case(
        "scenario-locked-is-a-number",
        "scenario",
        lambda e: _scenario(_scenario_body(locked=5)),
        r"dropped\.json: scenario 'Dropped in' is damaged .*\n  - locked must be a list of unit "
        r"codes as text; received int 5",
    ),
    Case(
        "scenario-nested-100000-deep",
        "scenario",
        lambda e: _scenario("[" * 100_000),
        r"dropped\.json: the JSON is nested too deeply to be a scenario",
    ),
    Case(
        "scenario-assignment-is-a-list",
        "scenario",
        lambda e: _scenario(_scenario_body(assignment=[1, 2])),
        r"the assignment must map unit codes to footprint labels",
    ),
    Case(
        "scenario-name-is-a-number",
        "scenario",
        lambda e: _scenario(_scenario_body(name=7)),
        r"dropped\.json: the scenario name must be text; received int 7",
    ),
    Case(
        "scenario-not-utf8",
        "scenario",
        lambda e: [("dropped.json", b"\xff\xfe{\x00")],
        r"dropped\.json: not UTF-8 text",
    ),
    Case(
        "scenario-newer-format",
        "scenario",
        lambda e: _scenario(_scenario_body(version=99)),
        r"dropped\.json: scenario format version 99 is not supported",
        held=True,
    ),
    Case(
        "scenario-not-json",
        "scenario",
        lambda e: _scenario("{not json"),
        r"dropped\.json: not readable JSON",
        held=True,
    ),
]
CASES += MORE_CASES


def _argv_case(
    id_: str,
    argv: list[str],
    expect: str,
    *,
    files: dict[str, bytes] | None = None,
    held: bool = False,
) -> Case:
    """A command line (``{dir}`` is the case's folder, where ``files`` are written)."""

    def build(env: Env) -> list[tuple[str, bytes]]:
        return list((files or {}).items())

    return Case(id_, "cli", build, expect, held=held, options={"argv": argv})


CLI_CASES: list[Case] = [
    _argv_case(
        "cli-footprints-open-range",
        ["optimise", "--footprints", "5-"],
        r"argument --footprints: got '5-'; expected N or LOW-HIGH",
    ),
    _argv_case(
        "cli-time-limit-nan",
        ["optimise", "--time-limit", "nan"],
        r"argument --time-limit: got 'nan'; expected a finite number",
    ),
    _argv_case(
        "cli-out-is-a-folder",
        ["optimise", "--out", "{dir}"],
        r"--out .*: is a folder; expected a file name",
    ),
    _argv_case(
        "cli-log-missing-folder",
        ["optimise", "--log", "{dir}/no/such/run.log"],
        r"--log .*: the folder .* does not exist",
    ),
    _argv_case(
        "cli-constraints-nan",
        ["optimise", "--constraints", "{dir}/c.json"],
        r"--constraints .*c\.json: not usable JSON \(NaN is not a number JSON allows",
        files={"c.json": b'{"min_population": NaN}'},
    ),
    _argv_case(
        "cli-constraints-utf16",
        ["optimise", "--constraints", "{dir}/c.json"],
        r"--constraints .*c\.json: .*UTF-16",
        files={"c.json": '{"min_population": 5}'.encode("utf-16")},
    ),
    _argv_case(
        "cli-constraints-wrong-types",
        ["optimise", "--constraints", "{dir}/c.json"],
        r"min_population: got \"abc\" \(text\); expected a whole number",
        files={"c.json": b'{"min_population": "abc", "locked": 3}'},
    ),
    _argv_case(
        "cli-validate-a-folder", ["validate", "{dir}"], r"is a folder; expected the plan CSV itself"
    ),
    _argv_case(
        "cli-own-geography-vrt",
        [
            "info",
            "--boundaries",
            "{dir}/x.geojson",
            "--population",
            "{dir}/population.csv",
            "--code-column",
            "code",
            "--population-column",
            "pop",
        ],
        r"x\.geojson: could not read it as a boundary file: it is named as GeoJSON but its "
        r"content is not GeoJSON \(it looks like a GDAL virtual dataset",
        files={"x.geojson": b"<vrt>", "population.csv": POPULATION[1]},
    ),
    _argv_case(
        "cli-own-geography-missing",
        [
            "info",
            "--boundaries",
            "{dir}/none.geojson",
            "--population",
            "{dir}/none.csv",
            "--code-column",
            "code",
            "--population-column",
            "pop",
        ],
        r"Cannot read your own geography:\n  - --boundaries .*none\.geojson: no such file",
    ),
]
CASES += CLI_CASES
# --- MapInfo tables and LA layers -----------------------------------------------------------------


def _mapinfo_parts(gdf: gpd.GeoDataFrame | None = None) -> dict[str, bytes]:
    """A real native MapInfo table of the units: .tab, .dat, .map, .id."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "units.tab"
        (gdf if gdf is not None else _units()).to_file(
            path, driver="MapInfo File", engine="pyogrio"
        )
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}


def _seamless_tab(env: Env) -> dict[str, bytes]:
    """A seamless table: its rows name other tables (here the secret file) to read."""
    rows = _units()[["geometry"]].assign(Table=env["secret"], Description="part")
    parts = _mapinfo_parts(rows)
    text = parts["units.tab"].decode("latin-1")
    parts["units.tab"] = (
        text + 'begin_metadata\n"\\IsSeamless" = "TRUE"\n"\\IsReadOnly" = "FALSE"\nend_metadata\n'
    ).encode("latin-1")
    return parts


def _view_tab(env: Env) -> bytes:
    return (
        "!table\n!version 100\n!charset WindowsLatin1\n\n"
        f'Open Table "{env["secret"]}" Hide\n'
        "Create View units As Select * From secret\n"
    ).encode()


def _linked_tab(env: Env) -> bytes:
    return (
        "!table\n!version 300\n!charset WindowsLatin1\n\nDefinition Table\n"
        f'  File "{env["secret"]}"\n  Type "RASTER"\n'
    ).encode()


def _with_tab(tab: bytes) -> dict[str, bytes]:
    return {**_mapinfo_parts(), "units.tab": tab}


_NOT_NATIVE = r"units\.tab: not a plain MapInfo table; it was not opened:\n  - "


def _mapinfo_cases() -> list[Case]:
    return [
        Case(
            "mapinfo-zipped-loads",
            "boundary",
            lambda e: [("units.zip", _zip(_mapinfo_parts()))],
            r"Unit r0c0",
            outcome="load",
        ),
        Case(
            "mapinfo-vrt-file-named-x-tab",
            "boundary",
            lambda e: [("x.tab", _vrt_file(e))],
            r"x\.tab: not a plain MapInfo table; it was not opened:\n  - x\.tab lacks its \.dat, "
            r"\.map, \.id part\(s\).*\n  - its \.tab part does not start with '!table' \(it "
            r"looks like a GDAL virtual dataset \(VRT\)",
            held=True,
        ),
        Case(
            "mapinfo-vrt-url-as-tab-in-zip",
            "boundary",
            lambda e: [("units.zip", _zip(_with_tab(_vrt_url(e))))],
            _NOT_NATIVE + r"its \.tab part does not start with '!table' \(it looks like a GDAL "
            r"virtual dataset",
            held=True,
        ),
        Case(
            "mapinfo-vrt-as-tab-columns",
            "columns",
            lambda e: [("units.zip", _zip(_with_tab(_vrt_file(e))))],
            _NOT_NATIVE + r"its \.tab part does not start with '!table'",
            held=True,
        ),
        Case(
            "mapinfo-seamless-table-naming-a-file",
            "boundary",
            lambda e: [("units.zip", _zip(_seamless_tab(e)))],
            _NOT_NATIVE + r"its \.tab part describes a seamless table, which reads other tables "
            r"from wherever they are",
            held=True,
        ),
        Case(
            "mapinfo-seamless-table-columns",
            "columns",
            lambda e: [("units.zip", _zip(_seamless_tab(e)))],
            _NOT_NATIVE + r"its \.tab part describes a seamless table",
            held=True,
        ),
        Case(
            "mapinfo-view-opening-a-file",
            "boundary",
            lambda e: [("units.zip", _zip(_with_tab(_view_tab(e))))],
            _NOT_NATIVE + r"its \.tab part is not a native table's definition \(it may be a view",
            held=True,
        ),
        Case(
            "mapinfo-raster-table-naming-a-file",
            "boundary",
            lambda e: [("units.zip", _zip(_with_tab(_linked_tab(e))))],
            _NOT_NATIVE + r"its \.tab part describes a "
            r'"raster" table, not a plain native one',
            held=True,
        ),
        Case(
            "mapinfo-extra-line-naming-a-file",
            "boundary",
            lambda e: [
                (
                    "units.zip",
                    _zip(
                        _with_tab(
                            _mapinfo_parts()["units.tab"] + f'  File "{e["secret"]}"\n'.encode()
                        )
                    ),
                )
            ],
            _NOT_NATIVE + r"its \.tab part holds a line a plain native table does not \(line \d+",
            held=True,
        ),
        Case(
            "mapinfo-vrt-as-map-part",
            "boundary",
            lambda e: [("units.zip", _zip({**_mapinfo_parts(), "units.map": _vrt_file(e)}))],
            _NOT_NATIVE + r"its \.map part is not a MapInfo geometry file \(it looks like a GDAL "
            r"virtual dataset",
            held=True,
        ),
        Case(
            "mapinfo-vrt-as-dat-part",
            "boundary",
            lambda e: [("units.zip", _zip({**_mapinfo_parts(), "units.dat": _vrt_url(e)}))],
            _NOT_NATIVE + r"its \.dat part is not a MapInfo attribute table",
            held=True,
        ),
        Case(
            "mapinfo-loose-parts-with-a-vrt-tab",
            "boundary",
            lambda e: sorted(_with_tab(_vrt_file(e)).items()),
            _NOT_NATIVE + r"its \.tab part does not start with '!table'",
            held=True,
        ),
        Case(
            "mapinfo-tab-in-zip-in-zip",
            "boundary",
            lambda e: [("upload.zip", _zip({"inner.zip": _zip(_seamless_tab(e))}))],
            r"upload\.zip: member 'inner\.zip' is a zip inside the zip",
            held=True,
        ),
    ]


def _la_layer() -> bytes:
    """One LA covering the good boundaries (six 0.01 degree squares near Leeds)."""
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "E08000035", "label": "Leeds"},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [-1.61, 53.79],
                                [-1.56, 53.79],
                                [-1.56, 53.83],
                                [-1.61, 53.83],
                                [-1.61, 53.79],
                            ]
                        ],
                    },
                }
            ],
        }
    ).encode()


def _la_cases() -> list[Case]:
    """The LA layer beside the boundaries comes through the same checks."""
    cases = [
        Case(
            "la-layer-loads",
            "la",
            lambda e: [("las.geojson", _la_layer())],
            r"Leeds",
            outcome="load",
        ),
    ]
    for payload, label in ((_vrt_file, "file"), (_vrt_url, "url")):
        for name, kind in (("las.geojson", "GeoJSON"), ("las.gpkg", "a GeoPackage")):
            cases.append(
                Case(
                    f"la-vrt-{label}-as-{name}",
                    "la",
                    lambda e, n=name, p=payload: [(n, p(e))],
                    re.escape(name) + ": " + _NOT_OPENED.format(kind=kind),
                )
            )
        cases.append(
            Case(
                f"la-vrt-{label}-as-tab-in-zip",
                "la",
                lambda e, p=payload: [("las.zip", _zip(_with_tab(p(e))))],
                _NOT_NATIVE + r"its \.tab part does not start with '!table'",
            )
        )
    cases.append(
        Case(
            "la-seamless-table",
            "la",
            lambda e: [("las.zip", _zip(_seamless_tab(e)))],
            _NOT_NATIVE + r"its \.tab part describes a seamless table",
        )
    )
    return cases


CASES += [*_mapinfo_cases(), *_la_cases()]

GOOD_BOUNDARY = _feature_collection({})


@dataclass(frozen=True)
class Outcome:
    """What a door did with a case.

    ``result`` is ``refused`` (the library's own error), ``loaded``, or ``traceback`` (any
    other exception: a planner would have seen a crash). ``text`` is the message, or what
    was loaded, in words. ``lost`` is true when something the planner already had (a
    good scenario beside a bad file) stopped being available. ``unsafe`` names what an
    export left dangerous, if anything.
    """

    result: str
    text: str
    lost: bool = False
    unsafe: str = ""


def run(case: Case, env: Env, workdir: Path) -> Outcome:
    """Put one case through its door (library calls only; nothing is printed)."""
    from footprint.errors import FootprintError

    try:
        return _door(case, env, workdir)
    except FootprintError as exc:
        return Outcome("refused", str(exc))
    except Exception as exc:  # what a planner would have seen as a crash
        return Outcome("traceback", f"{type(exc).__name__}: {exc}")


def _door(case: Case, env: Env, workdir: Path) -> Outcome:
    from footprint.plans import read_plan_csv, write_plan_csv
    from footprint.scenarios import Scenario, ScenarioStore
    from footprint.uploads import inspect_upload_columns, load_uploaded_geography

    files = case.build(env)
    if case.kind == "cli":
        return _run_cli(case, files, env, workdir)
    if case.kind == "columns":
        return Outcome("loaded", repr(inspect_upload_columns(_one(files), **case.options)))
    if case.kind in ("boundary", "population"):
        boundary = _one(files) if case.kind == "boundary" else ("units.geojson", GOOD_BOUNDARY)
        population = POPULATION if case.kind == "boundary" else _one(files)
        geo = load_uploaded_geography(
            boundary,
            population,
            code_column="code",
            population_column="pop",
            name_column="label" if case.kind == "boundary" else None,
            **case.options,
        )
        return Outcome("loaded", repr(list(geo.units["name"])))
    if case.kind == "la":
        geo = load_uploaded_geography(
            ("units.geojson", GOOD_BOUNDARY),
            POPULATION,
            code_column="code",
            population_column="pop",
            la_boundaries=_one(files),
            la_code_column="code",
            la_name_column="label",
            **case.options,
        )
        return Outcome("loaded", repr(list(geo.la_upper["name"])))
    if case.kind == "plan":
        imp = read_plan_csv(files[0][1], known_codes=CODES)
        return Outcome("loaded", repr(imp.assignment) + "\n" + "\n".join(imp.problems))
    if case.kind == "export":
        plan = {code: data.decode() for code, data in files}
        written = write_plan_csv(plan, codes=CODES)
        import csv

        cells = [row[1] for row in csv.reader(io.StringIO(written.decode()))][1:]
        risky = [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
        back = read_plan_csv(written, known_codes=CODES).assignment
        unsafe = f"cells a spreadsheet would run: {risky}" if risky else ""
        from footprint._text import clean_name

        expected = {code: clean_name(name) for code, name in plan.items()}
        if back != expected:  # names are cleaned at the door (a tab becomes a space, then trimmed)
            unsafe += f" the import read back {back!r}, not {expected!r}"
        return Outcome("loaded", repr(back), unsafe=unsafe.strip())
    if case.kind == "scenario":
        folder = workdir / case.id
        store = ScenarioStore(folder)
        if "Good plan" not in [s.name for s in store.scan().scenarios]:
            store.save(Scenario(name="Good plan", assignment={"r0c0": "A"}))
        for name, data in files:
            (folder / name).write_bytes(data)
        listing = ScenarioStore(folder).scan()
        lost = "Good plan" not in [s.name for s in listing.scenarios]
        reasons = [reason for path, reason in listing.unreadable if path.name == files[0][0]]
        if reasons:
            return Outcome("refused", reasons[0], lost=lost)
        return Outcome("loaded", repr([s.name for s in listing.scenarios]), lost=lost)
    raise ValueError(f"unknown door {case.kind!r}")


def _run_cli(case: Case, files: list[tuple[str, bytes]], env: Env, workdir: Path) -> Outcome:
    """Run ``python -m footprint`` in this process; exit 2 is a refusal, 3 a crash it caught."""
    from footprint.cli import main

    folder = workdir / case.id
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        if data == b"<vrt>":  # the hidden payload names the secret file
            data = _vrt_file(env)
        (folder / name).write_bytes(data)
    argv = [a.replace("{dir}", str(folder)) for a in case.options["argv"]]  # type: ignore[union-attr]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    text = err.getvalue() + out.getvalue()
    if code == 2:
        return Outcome("refused", text)
    if code in (0, 1):
        return Outcome("loaded", text)
    return Outcome("traceback", f"exit {code}: {text}")


def _one(files: list[tuple[str, bytes]]) -> tuple[str, bytes] | list[tuple[str, bytes]]:
    return files if len(files) > 1 else files[0]


def write(folder: Path, env: Env) -> list[Path]:
    """Write every case's files into ``folder/<case id>/`` and return the folders."""
    out = []
    for case in CASES:
        target = folder / case.id
        target.mkdir(parents=True, exist_ok=True)
        for name, data in case.build(env):
            (target / name.replace("/", "_").replace(":", "_")).write_bytes(data)
        if "argv" in case.options:  # a command line: what to type, from this folder
            argv = " ".join(str(a) for a in case.options["argv"])  # type: ignore[union-attr]
            (target / "command.txt").write_text(f"python -m footprint {argv}\n")
        out.append(target)
    return out


@contextlib.contextmanager
def canary() -> Iterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 that records every request: (its URL, the paths asked for)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"a,b\nstolen,1\n")

        do_HEAD = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def secret_file(folder: Path) -> Path:
    """The stand-in for a server file that must never leak: a small CSV."""
    path = folder / "secret.csv"
    path.write_text("\n".join(SECRET_LINES) + "\n")
    return path


if __name__ == "__main__":  # pragma: no cover - a tool for looking at the corpus
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    dest.mkdir(parents=True, exist_ok=True)
    folders = write(dest, {"secret": str(secret_file(dest)), "canary": "http://127.0.0.1:9"})
    sys.stdout.write(f"{len(folders)} cases written to {dest}\n")
