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
    return subprocess.run([sys.executable, "-m", "footprint", *args], cwd=ROOT, text=True,
                          capture_output=True, env=dict(os.environ), timeout=300)


@pytest.mark.realdata
def test_optimise_writes_a_plan_and_prints_the_figures(tmp_path, dataset):
    out = tmp_path / "proposal.csv"
    proc = run("optimise", "--objective", "max-footprints", "--min-pop", "300000",
               "--la-rule", "whole-la", "--time-limit", "60", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert {"status", "footprints", "bound", "gap", "seconds", "min_population",
            "max_population"} <= set(info)
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


def test_bad_flags_are_explained():
    proc = run("optimise", "--footprints", "many", "--json")
    assert proc.returncode == 2
    assert "--footprints: got 'many'; expected N or LOW-HIGH" in proc.stderr
    proc = run("optimise", "--fix", "E38000001")
    assert proc.returncode == 2 and "--fix: got 'E38000001'; expected CODE=NAME" in proc.stderr
