"""``python -m footprint export``: the app's own exports, written from a plan CSV by a script."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from helpers import TINY_CODES, tiny_dataset
from pypdf import PdfReader

from footprint._cli_export import FORMATS
from footprint.cli import main
from footprint.exporters import EXPORT_FORMATS

ROWS = {code: f"Row {code[1]}" for code in TINY_CODES}


@pytest.fixture(scope="module")
def tiny():
    return tiny_dataset()


@pytest.fixture
def run(tiny, monkeypatch, capsys):
    """Run ``export`` on the tiny grid: (exit status, stdout, stderr)."""
    monkeypatch.setattr("footprint.loader.load_dataset", lambda data_dir=None: tiny)

    def go(*args: str) -> tuple[int, str, str]:
        rc = main(["export", *map(str, args)])
        out, err = capsys.readouterr()
        return rc, out, err

    return go


def _plan(tmp_path: Path, rows: dict[str, str]) -> Path:
    path = tmp_path / "plan.csv"
    path.write_text(
        "unit_code,footprint\n" + "".join(f"{c},{f}\n" for c, f in rows.items()), encoding="utf-8"
    )
    return path


def test_every_format_offered_is_an_app_export():
    assert set(FORMATS) == {
        "gpkg", "geojson", "shp", "kml", "csv", "plan-csv", "xlsx", "html", "pdf", "png"
    }  # fmt: skip
    assert set(FORMATS.values()) == set(EXPORT_FORMATS)


@pytest.mark.parametrize("flag", sorted(FORMATS))
def test_the_file_is_the_one_the_app_writes(run, tiny, tmp_path, flag):
    plan = _plan(tmp_path, ROWS)
    out = tmp_path / f"out.{flag}"
    rc, stdout, err = run(plan, "--format", flag, "--out", out, "--name", "Option <B>")
    assert rc == 0, err
    assert f"wrote {out}" in stdout and "3 footprints" in stdout
    fmt = EXPORT_FORMATS[FORMATS[flag]]
    meta = {
        "scenario": "Option <B>",
        "population": tiny.geography.population_label,
        "source": "plan file plan.csv",
        "status": "not checked (python -m footprint validate checks a plan)",
    }
    want = fmt.function(tiny.geography, ROWS, metadata=meta)
    got = out.read_bytes()
    if flag in ("plan-csv", "kml", "csv", "html", "geojson"):  # text: equal but for the time
        assert _timeless(got) == _timeless(want)
    else:  # binary files carry their creation time: same size class and same kind
        assert got[:4] == want[:4] and abs(len(got) - len(want)) < 0.05 * len(want) + 200


def _timeless(data: bytes) -> str:
    """A text export without its creation time (the one thing two runs differ in)."""
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "TIME", data.decode("utf-8"))


def test_the_name_and_paper_reach_the_map(run, tmp_path):
    out = tmp_path / "map.pdf"
    rc, _, err = run(_plan(tmp_path, ROWS), "--format", "pdf", "--paper", "A3", "--out", out,
                     "--name", "Option $5m")  # fmt: skip
    assert rc == 0, err
    page = PdfReader(io.BytesIO(out.read_bytes())).pages[0]
    assert round(float(page.mediabox.width)) == 1191  # A3 landscape, in points
    assert "Option $5m" in page.extract_text()


def test_a_plan_with_unknown_codes_is_refused_with_every_problem(run, tmp_path):
    out = tmp_path / "x.gpkg"
    rc, _, err = run(_plan(tmp_path, {**ROWS, "ZZ1": "A", "ZZ2": "B"}), "--format", "gpkg",
                     "--out", out)  # fmt: skip
    assert rc == 2 and not out.exists()
    assert "the plan cannot be exported as it is" in err and "ZZ1, ZZ2" in err


def test_paper_only_for_maps_and_missing_units_noted(run, tmp_path):
    rc, _, err = run(_plan(tmp_path, ROWS), "--format", "kml", "--paper", "A3", "--out",
                     tmp_path / "x.kml")  # fmt: skip
    assert rc == 2 and "--paper applies to the pdf and png maps" in err
    part = {c: f for c, f in ROWS.items() if c != "r0c0"}
    out = tmp_path / "x.geojson"
    rc, _, err = run(_plan(tmp_path, part), "--format", "geojson", "--out", out)
    assert rc == 0 and "note: 1 units are not in" in err
    assert len(json.loads(out.read_text())["features"]) == 3


def test_an_unwritable_output_is_refused_before_any_work(run, tmp_path):
    rc, _, err = run(_plan(tmp_path, ROWS), "--format", "pdf", "--out", tmp_path / "no" / "x.pdf")
    assert rc == 2 and "does not exist" in err
