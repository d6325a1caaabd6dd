"""The command line against hostile input: one clear message, an exit status, never a traceback.

Most tests run ``footprint.cli.main`` in-process on a 3 x 3 grid of 1 km squares
standing in for the England data (so they need no real files), and check that a
bad flag or file is refused before any data is loaded or any solve starts. A few
run the real command in a subprocess, where a traceback would show. The
own-geography tests write a tiny GeoJSON grid and a population CSV and go
through the same upload path as the app.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from helpers import ROOT, grid_units, tiny_dataset

from footprint.cli import build_parser, main
from footprint.loader import Dataset

CODES = [f"r{r}c{c}" for r in range(3) for c in range(3)]
NHS = {code: f"0{code[1]}{code[3]}" for code in CODES}


@pytest.fixture(scope="module")
def tiny() -> Dataset:
    return tiny_dataset()


@pytest.fixture
def cli(tiny, monkeypatch, capsys):
    """Run a command on the tiny grid: (exit status, stdout, stderr); records loads and solves."""
    calls: list[str] = []

    def fake_load(data_dir=None):
        calls.append("load")
        return tiny

    import footprint.optimiser as optimiser_mod

    real_optimise = optimiser_mod.optimise

    def counting_optimise(*args, **kwargs):
        calls.append("solve")
        return real_optimise(*args, **kwargs)

    monkeypatch.setattr("footprint.loader.load_dataset", fake_load)
    monkeypatch.setattr(optimiser_mod, "optimise", counting_optimise)

    def go(*args: str) -> tuple[int, str, str]:
        rc = main([*args])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return rc, out, err

    go.calls = calls  # type: ignore[attr-defined]
    return go


def plan_file(tmp_path: Path) -> str:
    path = tmp_path / "plan.csv"
    rows = "".join(f"{c},{'Top' if c < 'r1' else 'Rest'}\n" for c in CODES)
    path.write_text("unit_code,footprint\n" + rows, encoding="utf-8")
    return str(path)


# --- constraints files ------------------------------------------------------------------------

CONSTRAINTS = [
    (b'{"min_population": NaN}', r"not usable JSON \(NaN is not a number JSON allows; write a "),
    (b'{"max_population": -Infinity}', r"not usable JSON \(-Infinity is not a number JSON"),
    (b'{"min_population": 1e999}', r"not usable JSON \(the number 1e999 is too large\)"),
    (b"[1, 2]", r"got a list; expected one JSON object such as \{\"min_population\": 300000\}"),
    (b"null", r"got null; expected one JSON object"),
    (b'"x"', r"got text; expected one JSON object"),
    (
        b'{"min_population": "abc"}',
        r"the constraints are not usable:\n  - min_population: got \"abc\" \(text\); expected a "
        r"whole number of people from 0 to 1,000,000,000,000",
    ),
    (b'{"min_population": true}', r"min_population: got true \(true/false\); expected a whole"),
    (b'{"min_population": 1e20}', r"min_population: got 1e\+20 \(a number\); expected a whole"),
    (b'{"min_population": 2.5}', r"min_population: got 2.5 \(a number\); expected a whole"),
    (b'{"max_population": [1]}', r"max_population: got \[1\] \(a list\); expected null or a"),
    (b'{"n_footprints": "x"}', r"n_footprints: got \"x\" \(text\); expected null, a whole number"),
    (b'{"n_footprints": [1, "a"]}', r"n_footprints: got \[1, \"a\"\] \(a list\); expected"),
    (b'{"keep_apart": "E1,E2"}', r"keep_apart: got \"E1,E2\" \(text\); expected a list of pairs"),
    (b'{"keep_together": [[1, 2]]}', r"keep_together: got \[\[1, 2\]\] \(a list\); expected a"),
    (b'{"disabled_edges": [["a"]]}', r"disabled_edges: got \[\[\"a\"\]\] \(a list\); expected"),
    (b'{"fixed": [1, 2]}', r"fixed: got \[1, 2\] \(a list\); expected an object of unit code"),
    (b'{"fixed": {"r0c0": 5}}', r"fixed: got \{\"r0c0\": 5\} \(an object\); expected an object"),
    (b'{"locked": 3}', r"locked: got 3 \(a number\); expected a list of footprint names"),
    (b'{"objective": 5}', r"objective: got 5 \(a number\); expected text in quotes"),
    (b'{"time_limit": "10"}', r"time_limit: got \"10\" \(text\); expected a number"),
    (b'{"time_limit": -1}', r"time_limit: got -1; expected seconds above 0 and at most 86400"),
    (b'{"mip_gap": {}}', r"mip_gap: got \{\} \(an object\); expected a number"),
    (b'{"surprise": 1}', r"unknown setting\(s\) 'surprise'; known settings are"),
    (b"", r"not valid JSON \(Expecting value at line 1, column 1\); expected one JSON object"),
    ("{}".encode("utf-16"), r"the file is UTF-16 text; expected UTF-8\. Save it again as UTF-8"),
    (b"\x00\x01\x02{}", r"the file holds binary data \(NUL bytes\); expected the JSON text"),
    (b"\x8e\x90{}", r"not UTF-8 text \(byte 0 cannot be read\); expected the JSON text"),
    (b"[" * 100_000, r"not usable JSON \(nested too deeply\)"),
]


@pytest.mark.parametrize(("content", "expected"), CONSTRAINTS)
@pytest.mark.parametrize("command", ["optimise", "validate"])
def test_unusable_constraints_file_is_one_message(cli, tmp_path, command, content, expected):
    path = tmp_path / "c.json"
    path.write_bytes(content)
    args = [command, "--constraints", str(path)]
    if command == "validate":
        args.insert(1, plan_file(tmp_path))
    rc, out, err = cli(*args)
    assert rc == 2 and out == ""
    assert err.startswith(f"error: --constraints {path}: ")
    assert re.search(expected, err), err
    assert cli.calls == []  # refused before the data was loaded


@pytest.mark.parametrize("command", ["optimise", "validate"])
def test_constraints_path_that_is_missing_or_a_folder(cli, tmp_path, command):
    pre = [plan_file(tmp_path)] if command == "validate" else []
    rc, _, err = cli(command, *pre, "--constraints", str(tmp_path / "absent.json"))
    assert rc == 2
    assert f"error: --constraints {tmp_path / 'absent.json'}: no such file; check the path" in err
    rc, _, err = cli(command, *pre, "--constraints", str(tmp_path))
    assert rc == 2
    assert f"--constraints {tmp_path}: is a folder; expected the constraints file (JSON)" in err
    assert cli.calls == []


def test_a_saved_run_is_repeated_from_its_constraints(cli, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps({"min_population": 300_000, "la_rule": "off", "time_limit": 20}), "utf-8"
    )
    rc, out, err = cli("optimise", "--constraints", str(path), "--json")
    assert rc == 0, err
    assert json.loads(out)["footprints"] == 3


# --- output files are checked before the solve -----------------------------------------------


def _bad_outputs(tmp_path: Path) -> list[tuple[str, str]]:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "folder").mkdir()
    return [
        (str(tmp_path / "folder"), r"is a folder; expected a file name, e.g. .*folder/plan\.csv"),
        (
            str(tmp_path / "missing" / "out.csv"),
            r"the folder .*missing does not exist; create it first or write elsewhere",
        ),
        (
            str(tmp_path / "afile" / "out.csv"),
            r"the folder .*afile is not a folder; create it first or write elsewhere",
        ),
        ("/proc/footprint-test/out.csv", r"the folder /proc/footprint-test does not exist"),
        ("/proc/out.csv", r"cannot write in /proc \(.*\); choose a folder you can write to"),
        ("/", r"is a folder; expected a file name"),
        (".", r"is a folder; expected a file name"),
    ]


@pytest.mark.parametrize("flag", ["--out", "--log"])
def test_bad_output_path_is_refused_before_the_solve(cli, tmp_path, flag):
    for target, expected in _bad_outputs(tmp_path):
        before = sorted(os.listdir(tmp_path))
        rc, out, err = cli("optimise", "--la-rule", "off", flag, target)
        assert rc == 2 and out == "", (target, err)
        assert err.startswith(f"error: {flag} {target}"), err
        assert re.search(expected, err), err
        assert sorted(os.listdir(tmp_path)) == before  # no probe or empty file left
    assert cli.calls == []  # neither loaded nor solved


def test_out_and_log_cannot_be_one_file(cli, tmp_path):
    path = str(tmp_path / "same.csv")
    rc, _, err = cli("optimise", "--out", path, "--log", path)
    assert rc == 2 and f"--out and --log both name {path}; give them different files" in err
    assert not Path(path).exists()


def test_good_outputs_are_written_and_no_temporary_file_is_left(cli, tmp_path):
    rc, _, err = cli(
        "optimise",
        "--la-rule",
        "off",
        "--out",
        str(tmp_path / "plan.csv"),
        "--log",
        str(tmp_path / "solver.log"),
    )
    assert rc == 0, err
    assert sorted(os.listdir(tmp_path)) == ["plan.csv", "solver.log"]
    assert (tmp_path / "plan.csv").read_text("utf-8").startswith("unit_code,footprint\n")


def test_a_run_that_fails_after_the_check_leaves_no_empty_file(cli, tmp_path):
    rc, _, err = cli(
        "optimise", "--max-pop", "100", "--out", str(tmp_path / "plan.csv"), "--log",
        str(tmp_path / "solver.log"),
    )  # fmt: skip
    assert rc == 2 and "max_population 100 is below min_population 300,000" in err
    assert os.listdir(tmp_path) == []


def test_audit_csv_to_a_folder_or_nowhere(cli, tmp_path):
    rc, _, err = cli("audit", "--csv", str(tmp_path))
    assert rc == 2 and f"error: --csv {tmp_path}: is a folder; expected a file name" in err
    rc, _, err = cli("audit", "--csv", str(tmp_path / "no" / "shares.csv"))
    assert rc == 2 and "the folder" in err and "does not exist" in err
    assert cli.calls == [] and not (tmp_path / "no").exists()


# --- flags ------------------------------------------------------------------------------------

FLAGS = [
    (["--footprints", "5-"], r"argument --footprints: got '5-'; expected N or LOW-HIGH, e.g. 25"),
    (["--footprints", "5-3"], r"got '5-3'; expected N or LOW-HIGH, e.g. 25 or 20-30, with 1 <="),
    (["--footprints", "0"], r"got '0'; expected N or LOW-HIGH"),
    (["--footprints", "5--6"], r"got '5--6'; expected N or LOW-HIGH"),
    (["--footprints", "1-2-3"], r"got '1-2-3'; expected N or LOW-HIGH"),
    (["--footprints", "٣"], r"got '٣'; expected N or LOW-HIGH"),
    (["--footprints", "99999999999"], r"got '99999999999'; expected N or LOW-HIGH"),
    (["--footprints", ""], r"got ''; expected N or LOW-HIGH"),
    (["--footprints", "-5"], r"argument --footprints: got '-5'; expected N or LOW-HIGH"),
    (["--time-limit", "0"], r"argument --time-limit: got '0'; expected seconds above 0 and at"),
    (["--time-limit", "-1"], r"argument --time-limit: got '-1'; expected seconds above 0"),
    (["--time-limit=-1"], r"argument --time-limit: got '-1'; expected seconds above 0"),
    (["--time-limit", "1e999"], r"got '1e999'; expected a finite number, e.g. 60"),
    (["--time-limit", "nan"], r"got 'nan'; expected a finite number, e.g. 60"),
    (["--time-limit", "100000"], r"got '100000'; expected seconds above 0 and at most 86,400"),
    (["--time-limit", "soon"], r"got 'soon'; expected a number, e.g. 60"),
    (["--min-pop", "abc"], r"argument --min-pop: got 'abc'; expected a whole number of people"),
    (["--min-pop", "1e999"], r"got '1e999'; expected a whole number of people, e.g. 300000"),
    (["--min-pop", ""], r"got ''; expected a whole number of people"),
    (["--min-pop", "2.5"], r"got '2.5'; expected a whole number of people"),
    (["--min-pop", "10000000000000"], r"got '10000000000000'; expected at most 1,000,000,000,000"),
    (["--max-pop", "99999999999999999999999"], r"argument --max-pop: got '9+'; expected at most"),
    (["--mip-gap", "1"], r"argument --mip-gap: got '1'; expected a fraction from 0 up to"),
    (["--mip-gap", "nan"], r"argument --mip-gap: got 'nan'; expected a finite number"),
    (["--max-pop", "100"], r"max_population 100 is below min_population 300,000"),
    (["--objective", "compact"], r"objective 'compact' needs n_footprints"),
    (["--keep-apart", "r0c0"], r"--keep-apart 'r0c0': got 1 unit\(s\); expected exactly two"),
    (["--fix", "="], r"--fix '=': expected CODE=NAME"),
    (["--bogus"], r"unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("args", "expected"), FLAGS)
def test_bad_optimise_flags(cli, args, expected):
    rc, out, err = cli("optimise", *args)
    assert rc == 2 and out == ""
    assert err.startswith("error: ") and re.search(expected, err), err
    assert "solve" not in cli.calls


@pytest.mark.parametrize(
    ("value", "expected"), [("5", 5), ("20-30", (20, 30)), ("7-7", 7), (" 3 - 4 ", (3, 4))]
)
def test_good_counts_are_read(value, expected):
    args = build_parser().parse_args(["optimise", "--footprints", value])
    assert args.footprints == expected


@pytest.mark.parametrize("value", ["300,000", "300000", " 300_000 "])
@pytest.mark.parametrize("flag", ["--min-pop", "--max-pop"])
@pytest.mark.parametrize("command", ["optimise", "validate"])
def test_good_populations_are_read(command, flag, value):
    pre = ["plan.csv"] if command == "validate" else []
    args = build_parser().parse_args([command, *pre, flag, value])
    assert getattr(args, flag.removeprefix("--").replace("-", "_")) == 300_000


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--tolerance", "nan"], r"argument --tolerance: got 'nan'; expected a finite number"),
        (["--tolerance", "1"], r"argument --tolerance: got '1'; expected a fraction from 0 up to"),
        (["--tolerance", "abc"], r"argument --tolerance: got 'abc'; expected a number"),
        (["--tier", "middle"], r"argument --tier: invalid choice: 'middle'"),
    ],
)
def test_bad_audit_flags(cli, tmp_path, args, expected):
    rc, _, err = cli("audit", "--csv", str(tmp_path / "s.csv"), *args)
    assert rc == 2 and re.search(expected, err), err
    assert cli.calls == []


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p, r"error: .*: is a folder; expected the plan CSV itself"),
        (lambda p: p / "none.csv", r"error: .*none\.csv: no such file; check the path"),
        (lambda p: Path("/dev/null"), r"error: /dev/null: not a regular file; expected the plan"),
        (
            lambda p: (p / "b.csv", (p / "b.csv").write_bytes(bytes(range(256)) * 4))[0],
            r"error: b\.csv: not a CSV text file",
        ),
    ],
)
def test_validate_refuses_plans_that_are_not_files(cli, tmp_path, make, expected):
    rc, out, err = cli("validate", str(make(tmp_path)))
    assert rc == 2 and out == "" and re.search(expected, err), err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--min-pop", "abc"], r"argument --min-pop: got 'abc'"),
        (["--max-pop", "5", "--min-pop", "10"], r"max_population 5 is below min_population 10"),
        (["--la-rule", "sometimes"], r"argument --la-rule: invalid choice: 'sometimes'"),
    ],
)
def test_bad_validate_flags(cli, tmp_path, args, expected):
    rc, _, err = cli("validate", plan_file(tmp_path), *args)
    assert rc == 2 and re.search(expected, err), err


def test_usage_errors_name_the_command_and_help(cli):
    rc, _, err = cli()
    assert rc == 2 and "the following arguments are required: command" in err
    rc, _, err = cli("bogus")
    assert rc == 2 and "invalid choice: 'bogus'" in err
    rc, _, err = cli("validate")
    assert rc == 2 and "the following arguments are required: PLAN.csv" in err
    assert "(add --help after the command to list its options)" in err


def test_help_exits_0(cli):
    rc, out, _ = cli("optimise", "--help")
    assert rc == 0 and "--boundaries FILE" in out and "--footprints" in out


# --- the last guard -----------------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_and_exit_3(cli, monkeypatch):
    def broken(data_dir=None):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("footprint.loader.load_dataset", broken)
    rc, out, err = cli("info")
    assert rc == 3 and out == ""
    assert err == (
        "error: unexpected error in info (RuntimeError: boom); this is a bug, please report "
        "it. Run again with --debug for details\n"
    )


def test_debug_logs_the_traceback(cli, monkeypatch, caplog):
    def broken(data_dir=None):
        raise RuntimeError("boom")

    monkeypatch.setattr("footprint.loader.load_dataset", broken)
    with caplog.at_level("DEBUG", logger="footprint.cli"):
        rc, _, _ = cli("--debug", "info")
    assert rc == 3
    (record,) = [r for r in caplog.records if r.name == "footprint.cli"]
    assert record.exc_info is not None and "unexpected error in info" in record.getMessage()


def test_an_interrupt_is_exit_130(cli, monkeypatch):
    def interrupted(data_dir=None):
        raise KeyboardInterrupt

    monkeypatch.setattr("footprint.loader.load_dataset", interrupted)
    rc, _, err = cli("info")
    assert rc == 130 and err == "error: interrupted; no partial file was left behind\n"


# --- the planner's own geography -----------------------------------------------------------------


@pytest.fixture
def own(tmp_path) -> dict[str, Path]:
    """A 3 x 3 grid as GeoJSON with planner-style column names, and its population CSV."""
    g = grid_units(3, 3)
    g["geometry"] = g.translate(400_000, 280_000)
    g = g.rename(columns={"code": "UnitCode"})
    g["Unit Name"] = [f"Area {c}" for c in g["UnitCode"]]
    boundaries = tmp_path / "units.geojson"
    g.to_file(boundaries, driver="GeoJSON")
    population = tmp_path / "people.csv"
    population.write_text(
        "Practice code,Patients\n" + "".join(f"{c},100000\n" for c in g["UnitCode"]), "utf-8"
    )
    return {"boundaries": boundaries, "population": population}


def own_flags(own: dict[str, Path]) -> list[str]:
    return [
        "--boundaries",
        str(own["boundaries"]),
        "--population",
        str(own["population"]),
        "--code-column",
        "UnitCode",
        "--population-column",
        "Patients",
        "--population-code-column",
        "Practice code",
        "--name-column",
        "Unit Name",
        "--population-label",
        "residents",
    ]


def test_own_geography_goes_through_the_apps_upload_path(cli, own, monkeypatch):
    import footprint.uploads as uploads

    seen: list[tuple] = []
    real = uploads.load_uploaded_geography

    def spy(boundary, population, **kwargs):
        seen.append((boundary, population, kwargs))
        return real(boundary, population, **kwargs)

    monkeypatch.setattr(uploads, "load_uploaded_geography", spy)
    rc, out, err = cli("info", "--json", *own_flags(own))
    assert rc == 0, err
    info = json.loads(out)
    assert info["units"] == 9 and info["population_total"] == 900_000
    assert info["population_label"] == "residents" and info["la_blocks"] is None
    ((boundary, population, kwargs),) = seen
    assert boundary == ("units.geojson", own["boundaries"].read_bytes())
    assert population == ("people.csv", own["population"].read_bytes())
    assert kwargs == {
        "code_column": "UnitCode",
        "population_column": "Patients",
        "population_code_column": "Practice code",
        "name_column": "Unit Name",
        "crs": None,
        "layer": None,
        "population_label": "residents",
        "la_boundaries": None,
        "la_code_column": None,
        "la_name_column": None,
        "la_layer": None,
        "unit_label": "unit",
    }
    assert cli.calls == []  # the England data was not loaded


NO_LA = (
    "error: The LA rule cannot be applied:\n  - this geography has no local authority layer, "
    "so the rule 'keep each LA whole' cannot be checked; upload an LA layer beside the "
    "boundaries or switch the LA rule off (--la-boundaries FILE --la-code-column NAME, or "
    "--la-rule off)\n"
)


def test_own_geography_without_las_refuses_whole_la(cli, own, tmp_path):
    # it used to plan as if the rule were off and call the plan optimal
    plan = tmp_path / "own-plan.csv"
    rc, out, err = cli("optimise", "--min-pop", "300000", "--out", str(plan), *own_flags(own))
    assert (rc, out, err) == (2, "", NO_LA)
    assert not plan.exists() and cli.calls == []
    (tmp_path / "p.csv").write_text("unit_code,footprint\nr0c0,A\n")
    rc, out, err = cli("validate", str(tmp_path / "p.csv"), *own_flags(own))
    assert (rc, out, err) == (2, "", NO_LA)


def test_own_geography_optimise_then_validate(cli, own, tmp_path):
    plan = tmp_path / "own-plan.csv"
    off = ["--la-rule", "off"]
    rc, out, err = cli("optimise", "--min-pop", "300000", "--out", str(plan), *off, *own_flags(own))
    assert rc == 0, err
    assert "footprints  3" in out and "smallest    300,000 residents" in out
    rc, out, err = cli("validate", str(plan), "--json", *off, *own_flags(own))
    assert rc == 0, err
    assert json.loads(out)["valid"] is True and json.loads(out)["footprints"] == 3
    rc, out, _ = cli("validate", str(plan), "--min-pop", "400000", *off, *own_flags(own))
    assert rc == 1 and "not valid: 3 rule(s) broken" in out


def _la_layer(tmp_path: Path) -> list[str]:
    """Two LAs over the 3 x 3 grid: the west column, and the rest; as a GeoPackage."""
    g = grid_units(3, 3)
    g["geometry"] = g.translate(400_000, 280_000)
    g["la"] = ["W" if c.endswith("c0") else "E" for c in g["code"]]
    las = g.dissolve(by="la").reset_index()
    las["LAD_NAME"] = las["la"].map({"W": "Newcastle upon Tyne", "E": "Gateshead"})
    las = las.rename(columns={"la": "LAD_CODE"})[["LAD_CODE", "LAD_NAME", "geometry"]]
    las.to_file(tmp_path / "las.gpkg", driver="GPKG")
    return [
        "--la-boundaries",
        str(tmp_path / "las.gpkg"),
        "--la-code-column",
        "LAD_CODE",
        "--la-name-column",
        "LAD_NAME",
    ]


def test_own_geography_with_an_la_layer_keeps_las_whole(cli, own, tmp_path):
    la = _la_layer(tmp_path)
    rc, out, err = cli("info", "--json", "--unit-label", "sub-ICB location", *la, *own_flags(own))
    assert rc == 0, err
    info = json.loads(out)
    assert (info["la_upper"], info["la_blocks"], info["unit_label"]) == (2, 2, "sub-ICB location")
    plan = tmp_path / "plan.csv"
    rc, out, err = cli("optimise", "--min-pop", "300000", "--out", str(plan), *la, *own_flags(own))
    assert rc == 0, err
    assert "footprints  2" in out  # the west column (300,000) and the rest (600,000)
    rows = dict(line.split(",") for line in plan.read_text().splitlines()[1:])
    assert len({rows[f"r{r}c0"] for r in range(3)}) == 1
    rc, out, err = cli("audit", "--csv", str(tmp_path / "s.csv"), *la, *own_flags(own))
    assert rc == 0, err
    shares = (tmp_path / "s.csv").read_text()
    assert "Newcastle upon Tyne" in shares and "Gateshead" in shares
    # a split block is named by its LA's code in the validator's words, the layer by its name
    (tmp_path / "split.csv").write_text(
        "unit_code,footprint\n"
        + "".join(f"r{r}c{c},{'A' if r else 'B'}\n" for r in range(3) for c in range(3))
    )
    rc, out, _ = cli(
        "validate", str(tmp_path / "split.csv"), "--min-pop", "1", *la, *own_flags(own)
    )
    assert rc == 1 and "[la-rule]" in out


def test_own_geography_as_zipped_mapinfo_tables(cli, own, tmp_path):
    g = grid_units(3, 3)
    g["geometry"] = g.translate(400_000, 280_000)
    g = g.rename(columns={"code": "UnitCode"})
    g["Unit_Name"] = [f"Area {c}" for c in g["UnitCode"]]  # MapInfo names take no spaces
    for name, gdf in (("units", g), ("las", gpd.read_file(_la_layer(tmp_path)[1]))):
        folder = tmp_path / name
        folder.mkdir()
        gdf.to_file(folder / f"{name}.tab", driver="MapInfo File")
        with zipfile.ZipFile(tmp_path / f"{name}.zip", "w") as zf:
            for part in folder.iterdir():
                zf.write(part, part.name)
    flags = own_flags(own)
    flags[flags.index(str(own["boundaries"]))] = str(tmp_path / "units.zip")
    flags[flags.index("Unit Name")] = "Unit_Name"
    la = [
        "--la-boundaries",
        str(tmp_path / "las.zip"),
        "--la-code-column",
        "LAD_CODE",
        "--la-name-column",
        "LAD_NAME",
    ]
    rc, out, err = cli("info", "--json", *la, *flags)
    assert rc == 0, err
    info = json.loads(out)
    assert (info["units"], info["la_upper"], info["la_blocks"]) == (9, 2, 2)


def test_la_flags_are_checked_with_the_other_own_geography_flags(cli, own, tmp_path):
    rc, _, err = cli("info", "--la-code-column", "LAD_CODE", *own_flags(own))
    assert rc == 2 and err == (
        "error: Cannot read your own geography:\n  - --la-code-column given without "
        "--la-boundaries; give --la-boundaries FILE for your local authorities, or drop these "
        "flags\n"
    )
    rc, _, err = cli("info", "--la-boundaries", str(tmp_path / "none.gpkg"), *own_flags(own))
    assert rc == 2
    assert "  - --la-code-column NAME is needed with --la-boundaries\n" in err
    assert f"  - --la-boundaries {tmp_path / 'none.gpkg'}: no such file" in err
    rc, _, err = cli("info", "--la-boundaries", str(own["boundaries"]))
    assert rc == 2 and "--la-boundaries given without --boundaries" in err
    la = _la_layer(tmp_path)
    la[la.index("LAD_CODE")] = "LA_CODE"
    rc, _, err = cli("info", *la, *own_flags(own))
    assert (
        rc == 2
        and "las.gpkg: no column 'LA_CODE' to take LA codes from; the columns are "
        "'LAD_CODE', 'LAD_NAME'"
        in err
    )


def test_own_geography_without_las_has_nothing_to_audit(cli, own, tmp_path):
    rc, _, err = cli("audit", "--csv", str(tmp_path / "s.csv"), *own_flags(own))
    assert rc == 2
    assert "this geography has no local authority layer, so there is nothing to audit" in err
    assert "give --la-boundaries FILE --la-code-column NAME" in err
    assert not (tmp_path / "s.csv").exists()


def test_own_geography_flags_missing_files_and_folders_in_one_message(cli, own, tmp_path):
    rc, _, err = cli(
        "info",
        "--boundaries",
        str(tmp_path / "nope.geojson"),
        str(tmp_path),
        "--population",
        str(tmp_path),
        "--code-column",
        "UnitCode",
        "--data-dir",
        str(tmp_path),
    )
    assert rc == 2
    assert err.startswith("error: Cannot read your own geography:\n")
    for line in [
        "--data-dir is for the England 2013 files; drop it with --boundaries",
        "--population-column NAME is needed with --boundaries",
        f"--boundaries {tmp_path / 'nope.geojson'}: no such file; check the path",
        f"--boundaries {tmp_path}: is a folder; expected the boundary file itself",
        f"--population {tmp_path}: is a folder; expected the population CSV itself",
    ]:
        assert f"  - {line}" in err, err


def test_geography_flags_without_boundaries_are_refused(cli, own):
    rc, _, err = cli("info", "--population", str(own["population"]), "--crs", "27700")
    assert rc == 2
    assert "--population, --crs given without --boundaries; give --boundaries FILE" in err
    assert cli.calls == []


def test_own_geography_refusals_from_the_upload_reader(cli, own, tmp_path):
    # a wrong column: the upload reader's own message, exit 2
    flags = own_flags(own)
    flags[flags.index("UnitCode")] = "NoSuchColumn"
    rc, _, err = cli("info", *flags)
    assert rc == 2 and "NoSuchColumn" in err and err.startswith("error: ")
    # a file that is not what its name says: refused, and its hidden content never shown
    secret = "/etc/footprint-secret-path"
    vrt = tmp_path / "x.geojson"
    vrt.write_text(
        f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>{secret}</SrcDataSource>'
        "</OGRVRTLayer></OGRVRTDataSource>"
    )
    flags = own_flags(own)
    flags[flags.index(str(own["boundaries"]))] = str(vrt)
    rc, out, err = cli("info", *flags)
    assert rc == 2 and out == "" and err.startswith("error: ") and "x.geojson" in err
    assert secret not in err and "OGRVRT" not in err


def test_oversized_own_file_is_refused_before_it_is_read(cli, own, monkeypatch):
    import footprint.uploads as uploads

    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 100)
    rc, _, err = cli("info", *own_flags(own))
    assert rc == 2
    assert f"--boundaries {own['boundaries']}: " in err and "more than the 0.0 MB allowed" in err


# --- through a real process: no traceback ever reaches the planner ----------------------------


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "footprint", *args],
        cwd=cwd,
        env=env,
        text=True,
        errors="replace",
        capture_output=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_hostile_command_lines_in_a_real_process(tmp_path, own):
    (tmp_path / "nan.json").write_text('{"min_population": NaN}')
    (tmp_path / "u16.json").write_bytes('{"min_population": 1}'.encode("utf-16"))
    (tmp_path / "folder").mkdir()
    cases = [
        (["optimise", "--constraints", str(tmp_path / "nan.json")], "NaN is not a number"),
        (["optimise", "--constraints", str(tmp_path / "u16.json")], "UTF-16"),
        (["optimise", "--out", str(tmp_path / "folder")], "is a folder"),
        (["optimise", "--log", str(tmp_path / "no" / "x.log")], "does not exist"),
        (["optimise", "--footprints", "5-"], "got '5-'"),
        (["optimise", "--time-limit", "nan"], "got 'nan'"),
        (["audit", "--csv", str(tmp_path / "folder")], "is a folder"),
        (["validate", str(tmp_path / "folder")], "is a folder"),
        (["fetch", "--timeout", "inf", "--data-dir", str(tmp_path / "d")], "got 'inf'"),
        (["fetch", "--mirror", "http://[::1", "--data-dir", str(tmp_path / "d")], "not a usable"),
        (["info", *own_flags(own)[:2], "--population", str(tmp_path / "folder")], "is a folder"),
    ]
    for args, expected in cases:
        proc = _run(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and expected in proc.stderr, (args, proc.stderr)
        assert proc.stderr.startswith("error: "), proc.stderr
    assert sorted(os.listdir(tmp_path)) == [
        "folder",
        "nan.json",
        "people.csv",
        "u16.json",
        "units.geojson",
    ]


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_own_geography_in_a_real_process(tmp_path, own):
    plan = tmp_path / "plan.csv"
    proc = _run(
        "optimise", "--out", str(plan), "--json", "--la-rule", "off", *own_flags(own), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["footprints"] == 3 and plan.is_file()


def test_control_characters_in_a_message_are_shown_escaped(cli, tmp_path):
    rc, _, err = cli("validate", str(tmp_path / "\x1b[31mred.csv"))
    assert rc == 2 and "\x1b" not in err and "\\x1b[31mred.csv: no such file" in err


@pytest.mark.realdata
@pytest.mark.slow
def test_england_exported_and_read_back_as_own_geography(geography, tmp_path, capsys):
    """The 211 CCGs written out as a planner's GeoPackage and CSV come back through the flags."""
    units = geography.units[["code", "name", "geometry"]]
    units.to_file(tmp_path / "ccgs.gpkg", driver="GPKG")
    geography.units[["code", "population"]].to_csv(tmp_path / "patients.csv", index=False)
    rc = main(
        [
            "info",
            "--json",
            "--boundaries",
            str(tmp_path / "ccgs.gpkg"),
            "--population",
            str(tmp_path / "patients.csv"),
            "--code-column",
            "code",
            "--population-column",
            "population",
            "--name-column",
            "name",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    info = json.loads(out)
    assert info["units"] == 211 and info["population_total"] == 56_324_887
    assert info["adjacency_components"] == 1 and info["la_blocks"] is None
