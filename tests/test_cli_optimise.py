"""`python -m footprint optimise`: one JSON object with stable keys, a plan CSV, exit codes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "footprint", *args],
        cwd=ROOT,
        text=True,
        capture_output=True,
        env=dict(os.environ),
        timeout=300,
    )


@pytest.mark.realdata
def test_optimise_writes_a_plan_and_prints_the_figures(tmp_path, dataset):
    out = tmp_path / "proposal.csv"
    proc = run(
        "optimise",
        "--objective",
        "max-footprints",
        "--min-pop",
        "300000",
        "--la-rule",
        "whole-la",
        "--time-limit",
        "60",
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert {
        "status",
        "footprints",
        "bound",
        "gap",
        "seconds",
        "min_population",
        "max_population",
    } <= set(info)
    assert info["status"] == "optimal" and info["footprints"] == 91
    assert info["min_population"] == 300_000 and info["max_population"] is None
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 211 and set(rows[0]) == {"unit_code", "footprint"}
    assert len({r["footprint"] for r in rows}) == 91
    check = run("validate", str(out), "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["valid"] is True


@pytest.mark.realdata
def test_infeasible_request_exits_1_with_the_reason(dataset):
    proc = run("optimise", "--max-pop", "1000000", "--la-rule", "off", "--json")
    assert proc.returncode == 1
    info = json.loads(proc.stdout)
    assert info["status"] == "infeasible" and info["footprints"] is None
    assert "NHS South Devon and Torbay" in info["reasons"][0]
    assert info["checks"] == ["no-room-under-ceiling"]


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_bad_flags_are_explained():
    proc = run("optimise", "--footprints", "many", "--json")
    assert proc.returncode == 2
    assert "--footprints: got 'many'; expected N or LOW-HIGH" in proc.stderr


@pytest.mark.realdata
def test_every_bad_rule_flag_is_listed_in_one_message(dataset):
    proc = run(
        "optimise",
        "--fix",
        "E38000001",
        "--fix",
        "Nowhere=North",
        "--keep-apart",
        "11N,99P,99Q",
        "--keep-together",
        "NHS Kernow",
        "--disable-edge",
        "E38000001,E99",
        "--max-pop",
        "100000",
    )
    assert proc.returncode == 2
    for line in [
        "error: The constraints are not usable:",
        "--fix 'E38000001': expected CODE=NAME, e.g. E38000001=North",
        "--fix 'Nowhere=North': 'Nowhere' is not a unit's code or name",
        "--keep-apart '11N,99P,99Q': got 3 unit(s); expected exactly two",
        "--keep-together 'NHS Kernow': got 1 unit; a group needs two or more",
        "--disable-edge 'E38000001,E99': 'E99' is not a unit's code or name",
        "max_population 100,000 is below min_population 300,000",
    ]:
        assert line in proc.stderr, proc.stderr


@pytest.mark.realdata
def test_rule_flags_take_nhs_codes_and_names(tmp_path, dataset):
    out = tmp_path / "plan.csv"
    proc = run(
        "optimise",
        "--keep-apart",
        "11N,NHS North, East, West Devon",
        "--fix",
        "99q=South West",
        "--time-limit",
        "30",
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    sent = json.loads(json.loads(proc.stdout)["reproduce"]["constraints"])
    assert sent["keep_apart"] == [["E38000089", "E38000129"]]
    assert sent["fixed"] == {"E38000152": "South West"}
    with out.open(newline="", encoding="utf-8") as fh:
        plan = {r["unit_code"]: r["footprint"] for r in csv.DictReader(fh)}
    assert plan["E38000089"] != plan["E38000129"]
