"""``python -m footprint validate``: output, exit status and errors.

Most tests run the command in-process on a 3 x 3 grid of 1 km squares (each
100,000 people, NHS-style codes with leading zeros) standing in for the
England data; one runs the real command in a subprocess on the real data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, tiny_dataset

from footprint.cli import main
from footprint.loader import Dataset

CODES = [f"r{r}c{c}" for r in range(3) for c in range(3)]
NHS = {code: f"0{r}{c}" for code, r, c in ((f"r{r}c{c}", r, c) for r in range(3) for c in range(3))}
ROWS = {f"r{r}c{c}": f"Row {r}" for r in range(3) for c in range(3)}


@pytest.fixture(scope="module")
def tiny() -> Dataset:
    return tiny_dataset()


@pytest.fixture
def run(tiny, monkeypatch, capsys, tmp_path):
    """Run the command on the tiny grid: (exit status, stdout, stderr)."""
    seen: list[object] = []

    def fake_load(data_dir=None):
        seen.append(data_dir)
        return tiny

    monkeypatch.setattr("footprint.loader.load_dataset", fake_load)

    def go(*args: str) -> tuple[int, str, str]:
        rc = main(["validate", *args])
        out, err = capsys.readouterr()
        return rc, out, err

    go.seen = seen  # type: ignore[attr-defined]
    return go


def plan_file(tmp_path: Path, rows: dict[str, str] | str, name: str = "plan.csv") -> str:
    path = tmp_path / name
    if isinstance(rows, str):
        path.write_text(rows, encoding="utf-8")
    else:
        path.write_text(
            "unit_code,footprint\n" + "".join(f"{c},{f}\n" for c, f in rows.items()),
            encoding="utf-8",
        )
    return str(path)


def test_a_valid_plan_prints_lines_and_exits_0(run, tmp_path):
    rc, out, err = run(plan_file(tmp_path, ROWS))
    assert rc == 0 and err == ""
    assert out.splitlines() == [
        "plan.csv: 9 rows, 3 footprints, 0 of 9 units unassigned",
        "valid: every footprint meets the rules",
    ]


def test_json_for_a_valid_plan(run, tmp_path):
    rc, out, _ = run(plan_file(tmp_path, ROWS), "--json", "--data-dir", str(tmp_path))
    assert rc == 0
    assert json.loads(out) == {
        "valid": True,
        "footprints": 3,
        "unassigned": 0,
        "unknown_codes": [],
        "duplicates": [],
        "violations": [],
    }
    assert run.seen == [tmp_path]  # --data-dir reaches the loader


def test_broken_rules_exit_1_with_every_violation(run, tmp_path):
    rows = {**ROWS, "r2c0": "Row 0"}  # Row 0 gains a unit it does not touch; Row 2 shrinks
    rc, out, _ = run(plan_file(tmp_path, rows), "--min-pop", "250000")
    assert rc == 1
    assert out.splitlines() == [
        "plan.csv: 9 rows, 3 footprints, 0 of 9 units unassigned",
        "not valid: 2 rule(s) broken",
        "  [floor] footprint 'Row 2' has 200,000 registered patients, below the floor of 250,000 "
        "(50,000 short); add neighbouring units or merge it with a neighbouring footprint",
        "  [contiguity] footprint 'Row 0' is in 2 separate pieces: [Unit r0c0 (r0c0), Unit r0c1 "
        "(r0c1), Unit r0c2 (r0c2)] (300,000 registered patients); [Unit r2c0 (r2c0)] (100,000 "
        "registered patients); join the pieces through neighbouring units or make them separate "
        "footprints",
    ]
    rc, out, _ = run(plan_file(tmp_path, rows), "--min-pop", "250000", "--json")
    got = json.loads(out)
    assert rc == 1 and got["valid"] is False
    assert [(v["rule"], v["footprint"]) for v in got["violations"]] == [
        ("floor", "Row 2"),
        ("contiguity", "Row 0"),
    ]
    assert got["violations"][0]["units"] == ["r2c1", "r2c2"]
    assert set(got["violations"][0]) == {"rule", "footprint", "message", "units"}


def test_default_floor_is_300000_and_ceiling_and_la_rule_options(run, tmp_path):
    rows = {**ROWS, "r2c2": "Row 1"}
    rc, out, _ = run(plan_file(tmp_path, rows), "--json", "--max-pop", "350000", "--la-rule", "off")
    got = json.loads(out)
    assert rc == 1
    assert [(v["rule"], v["footprint"]) for v in got["violations"]] == [
        ("floor", "Row 2"),
        ("ceiling", "Row 1"),
    ]
    assert "above the ceiling of 350,000 (50,000 over)" in got["violations"][1]["message"]


def test_constraints_file_and_overrides(run, tmp_path):
    from footprint.constraints import Constraints

    cfile = tmp_path / "rules.json"
    cfile.write_text(Constraints(min_population=400_000, n_footprints=2).to_json(), "utf-8")
    rc, out, _ = run(plan_file(tmp_path, ROWS), "--constraints", str(cfile), "--json")
    got = json.loads(out)
    assert rc == 1
    assert [v["rule"] for v in got["violations"]] == ["floor", "floor", "floor", "count"]
    assert got["violations"][-1]["message"] == (
        "the plan has 3 footprints; expected exactly 2; merge neighbouring footprints"
    )
    rc, out, _ = run(
        plan_file(tmp_path, ROWS), "--constraints", str(cfile), "--min-pop", "0", "--json"
    )
    assert [v["rule"] for v in json.loads(out)["violations"]] == ["count"]


def test_unknown_codes_duplicates_nhs_codes_and_row_problems(run, tmp_path):
    text = (
        "unit_code,footprint\n"
        "000,Row 0\n001,Row 0\n002,Row 0\n"  # NHS codes
        "r1c0,Row 1\nr1c1,Row 1\nr1c2,Row 1\nr1c2,Row 1\n"  # a harmless repeat
        "r2c0,Row 2\nr2c1,Row 2\n"  # r2c2 missing
        "ZZZ,Row 2\n"  # unknown
        ",Row 2\n"  # no code
    )
    rc, out, err = run(plan_file(tmp_path, text), "--json", "--min-pop", "0")
    got = json.loads(out)
    assert rc == 1
    assert got["unknown_codes"] == ["ZZZ"] and got["duplicates"] == ["r1c2"]
    assert got["footprints"] == 3 and got["unassigned"] == 1
    assert [v["rule"] for v in got["violations"]] == ["unknown-unit", "unassigned"]
    assert got["violations"][0]["message"].startswith(
        "1 unit code in the plan is not a unit of this geography: ZZZ;"
    )
    assert got["violations"][1]["units"] == ["r2c2"]
    assert err == "warning: plan.csv: line 12 has no unit code; it was skipped\n"
    rc, out, _ = run(plan_file(tmp_path, text), "--min-pop", "0")
    assert "warning: line 12 has no unit code; it was skipped" in out.splitlines()
    assert "warning: 1 unit(s) appear on more than one line: r1c2" in out.splitlines()
    assert "not valid: 2 rule(s) broken" in out.splitlines()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (
            "columns",
            r"^error: plan\.csv: the header has the column\(s\) 'code', 'team'; expected "
            r"'unit_code' and 'footprint'",
        ),
        ("empty", r"^error: plan\.csv: the file is empty"),
        ("missing", r"^error: .*nothere\.csv: no such file; check the path and the file name"),
        ("no-constraints", r"^error: --constraints .*absent\.json: no such file; check the path"),
        (
            "bad-json",
            r"^error: --constraints .*bad\.json: not valid JSON \(Expecting property "
            r"name enclosed in double quotes at line 1, column 2\); expected one JSON "
            r"object",
        ),
        (
            "contradiction",
            r"max_population 100 is below min_population 300,000; raise the "
            "ceiling or lower the floor",
        ),
    ],
)
def test_unusable_input_exits_2_with_one_message(run, tmp_path, setup, expected):
    import re

    args = [plan_file(tmp_path, ROWS)]
    if setup == "columns":
        args = [plan_file(tmp_path, "code,team\nr0c0,A\n")]
    elif setup == "empty":
        args = [plan_file(tmp_path, "")]
    elif setup == "missing":
        args = [str(tmp_path / "nothere.csv")]
    elif setup == "no-constraints":
        args += ["--constraints", str(tmp_path / "absent.json")]
    elif setup == "bad-json":
        (tmp_path / "bad.json").write_text("{not json", "utf-8")
        args += ["--constraints", str(tmp_path / "bad.json")]
    else:
        args += ["--max-pop", "100"]
    rc, out, err = run(*args)
    assert rc == 2 and out == ""
    assert re.search(expected, err), err


def test_bad_option_values_are_refused_by_argparse(run, tmp_path, capsys):
    assert main(["validate", plan_file(tmp_path, ROWS), "--la-rule", "sometimes"]) == 2
    err = capsys.readouterr().err
    assert "validate: argument --la-rule: invalid choice: 'sometimes'" in err
    assert "Traceback" not in err


@pytest.mark.realdata
def test_real_area_teams_through_a_subprocess(geography, tmp_path):
    from footprint.compare import reference_plan
    from footprint.plans import write_plan_csv

    teams = reference_plan(geography, "area_team_code")
    nhs_of = dict(zip(geography.units["code"], geography.units["nhs_code"], strict=True))
    # written with NHS codes (leading zeros included), as a planner's spreadsheet might be
    path = tmp_path / "area_teams.csv"
    path.write_bytes(write_plan_csv({nhs_of[c]: t for c, t in teams.items()}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.setdefault("FOOTPRINT_DATA_DIR", str(ROOT.parent / "shared" / "data"))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "footprint", "validate", str(path), "--json", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=600,
            check=False,
        )

    strict = cli()
    got = json.loads(strict.stdout)
    assert strict.returncode == 1, strict.stderr
    assert got["footprints"] == 25 and got["unassigned"] == 0
    assert got["unknown_codes"] == [] and got["duplicates"] == []
    assert [v["rule"] for v in got["violations"]] == ["la-rule"] * 3
    loose = cli("--la-rule", "off")
    assert loose.returncode == 0, loose.stderr
    assert json.loads(loose.stdout)["valid"] is True
