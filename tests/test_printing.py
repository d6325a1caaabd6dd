"""The print-ready map: one landscape page of the right size, its words searchable, no mathtext."""

from __future__ import annotations

import io
import struct

import pytest
from helpers import grid_units, population_table
from pypdf import PdfReader

from footprint.errors import PlanError
from footprint.exporters import export_pdf, export_png
from footprint.geography import build_geography

LABEL = "registered patients (QOF 2013/14 list sizes)"


@pytest.fixture(scope="module")
def geo():
    units = grid_units(2, 3, size=20_000)
    units["name"] = [f"Unit {c}" for c in units["code"]]
    return build_geography(
        units,
        population_table(units["code"], [150_000, 160_000, 170_000, 180_000, 190_000, 200_000]),
        code_column="code",
        population_column="population",
        name_column="name",
        name="Test grid",
        population_label=LABEL,
        attribution=("Contains public sector information licensed under the OGL v3.0",),
    )


PLAN = {
    "r0c0": "West $5m",
    "r1c0": "West $5m",
    "r0c1": "<East>",
    "r1c1": "<East>",
    "r0c2": "<East>",
}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize(("paper", "points"), [("A4", (842, 595)), ("A3", (1191, 842))])
def test_pdf_is_one_landscape_page_with_every_label(geo, paper, points):
    data = export_pdf(geo, PLAN, metadata={"scenario": "Option A"}, paper=paper)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == points
    text = reader.pages[0].extract_text()
    for words in ("Option A", "West $5m", "<East>", "330,000", "520,000", "registered patients",
                  "OGL v3.0", "unassigned", "2 footprints"):  # fmt: skip
        assert words in text, words
    assert reader.metadata.title == "Option A"


@pytest.mark.parametrize(("paper", "pixels"), [("A4", (2338, 1654)), ("A3", (3308, 2338))])
def test_png_is_landscape_at_200_dpi(geo, paper, pixels):
    data = export_png(geo, PLAN, metadata={"scenario": "Option A"}, paper=paper)
    assert _png_size(data) == pixels


def test_a_paper_or_format_not_offered_is_refused_in_one_message(geo):
    from footprint.exporters import _prepare, _printed
    from footprint.printing import render_map

    printed = _printed(_prepare(geo, PLAN, metadata=None, table=None))
    with pytest.raises(PlanError, match=r"(?s)Cannot print the map.*paper 'Letter' is not offered"
                       r".*image format 'svg' is not offered.*dpi 5 is not usable"):  # fmt: skip
        render_map(printed, paper="Letter", image_format="svg", dpi=5)
    with pytest.raises(PlanError, match="paper 'A5' is not offered; choose one of A4, A3"):
        export_pdf(geo, PLAN, paper="A5")


def test_no_london_inset_away_from_london(geo):
    # the grid lies near the British grid's origin, far from London: no inset, no frame
    text = PdfReader(io.BytesIO(export_pdf(geo, PLAN))).pages[0].extract_text()
    assert "London" not in text


@pytest.mark.realdata
def test_real_plan_prints_with_london_inset_and_attribution(geography, tmp_path):
    teams = dict(zip(geography.units["code"], geography.units["area_team_code"], strict=True))
    names = geography.group_names("area_team_code")
    plan = {code: names[team] for code, team in teams.items()}
    data = export_pdf(geography, plan, metadata={"scenario": "NHS Area Teams"})
    assert 50_000 < len(data) < 5_000_000
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    for words in ("NHS Area Teams", "London", "25 footprints", "56,324,887 registered patients",
                  "Open Government Licence", "km"):  # fmt: skip
        assert words in text, words
    # every footprint is in the legend with its population
    assert sum(name in text for name in set(plan.values())) == 25
    png = export_png(geography, plan, metadata={"scenario": "NHS Area Teams"}, paper="A3")
    assert _png_size(png) == (3308, 2338)
    (tmp_path / "area-teams-a3.png").write_bytes(png)


# --- in the app, in a real browser ------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.realdata
@pytest.mark.slow
def test_the_app_prints_a_saved_scenario_on_a3(dataset, tmp_path):
    """Pick a saved scenario on the Import and export page, choose A3 and download the map:
    the PDF the browser receives is one A3 landscape page naming the scenario."""
    import os
    import shutil
    from pathlib import Path

    from appserver import CHROMIUM, CHROMIUM_ARGS, AppDidNotStart, serve_app

    from footprint import Scenario, ScenarioStore

    if shutil.which(CHROMIUM) is None:
        if os.environ.get("FOOTPRINT_REQUIRE_BROWSER", "").strip() not in ("", "0"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; FOOTPRINT_REQUIRE_BROWSER is set")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    g = dataset.geography
    names = g.group_names("area_team_code")
    plan = {c: names[t] for c, t in zip(g.units["code"], g.units["area_team_code"], strict=True)}
    scenarios = tmp_path / "scenarios"
    ScenarioStore(scenarios).save(Scenario(name="Area Teams <print>", assignment=plan))
    shots = os.environ.get("FOOTPRINT_SCREENSHOTS")
    try:
        with (
            serve_app(scenario_dir=scenarios, log_path=tmp_path / "app.log") as url,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
            page.goto(url)
            page.get_by_text("Import and export", exact=True).first.click()
            page.get_by_text("For a meeting").first.wait_for(timeout=60_000)
            page.get_by_text("Plan to export").first.wait_for(timeout=30_000)
            page.locator("[data-testid='stSelectbox']").filter(
                has_text="Plan to export"
            ).first.click()
            page.get_by_role("option", name="Scenario: Area Teams <print>").click()
            page.get_by_text("A3", exact=True).first.click()
            page.wait_for_timeout(1500)
            if shots:
                page.screenshot(path=str(Path(shots) / "14-export-for-a-meeting.png"))
            button = page.get_by_role("button", name="Map (PDF)")
            with page.expect_download(timeout=120_000) as info:
                button.click()
            download = info.value
            data = Path(download.path()).read_bytes()
            assert download.suggested_filename == "Area_Teams__print_-A3.pdf"
            browser.close()
    except AppDidNotStart as exc:
        pytest.fail(str(exc))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (1191, 842)
    text = reader.pages[0].extract_text()
    assert "Area Teams <print>" in text and "London" in text and "registered patients" in text
