"""The own-boundaries page in a real browser: a TopoJSON that says no coordinate system is
placed by the planner's choice, previewed on England, and remembered with the geography."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import screenshot
from test_byo_geography import _topology
from test_e2e_browser import (  # noqa: F401 (fixtures)
    _selectbox,
    _session,
    app_url,
    canary,
    page,
    scenario_dir,
)

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]


def _files(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    topo = folder / "ccgs2016.topojson"
    topo.write_text(json.dumps(_topology()), encoding="utf-8")
    people = folder / "people.csv"
    codes = [f"r{r}c{c}" for r in range(3) for c in range(3)]
    people.write_text(
        "code,population\n" + "".join(f"{c},{150_000 + i}\n" for i, c in enumerate(codes)),
        encoding="utf-8",
    )
    return topo, people


def test_a_topojson_without_a_crs_is_placed_by_the_planners_choice(
    page,  # noqa: F811
    app_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    topo, people = _files(tmp_path / "own")
    context, pg = _session(page, app_url)
    try:
        pg.get_by_text("Your own boundaries", exact=True).first.click()
        pg.get_by_text("Use your own boundaries and populations").first.wait_for(timeout=30_000)

        def upload(label: str, path: Path) -> None:
            box_ = pg.locator('[data-testid="stFileUploader"]').filter(has_text=label)
            box_.locator('input[type="file"]').set_input_files(str(path))
            box_.get_by_text(path.name).first.wait_for(timeout=90_000)
            pg.wait_for_timeout(1500)

        upload("Boundary file", topo)
        question = "does not say which coordinate system it uses"
        pg.get_by_text(question).first.wait_for(timeout=60_000)
        # the wrong choice first: the preview says the shapes miss England
        pg.get_by_text("British National Grid (EPSG:27700)").first.click()
        pg.get_by_text("Only 0% of the shapes land on England").first.wait_for(timeout=60_000)
        pg.get_by_text("WGS84 longitude/latitude (EPSG:4326)").first.click()
        pg.get_by_text("100% of the shapes land on England").first.wait_for(timeout=60_000)
        pg.wait_for_timeout(1500)
        screenshot(pg, "30-own-geography-crs-asked.png")
        upload("Population CSV", people)
        pg.get_by_text("Code column (boundaries)").first.wait_for(timeout=60_000)
        _selectbox(pg, "Code column (boundaries)").click()
        pg.keyboard.type("UnitCode")
        pg.keyboard.press("Enter")
        pg.wait_for_timeout(1500)
        pg.get_by_role("button", name="Use these files").click()
        remembered = "Its boundaries were read in EPSG:4326, as chosen when they were uploaded"
        try:
            pg.get_by_text(remembered).first.wait_for(timeout=120_000)
        except Exception:
            screenshot(pg, "30-own-geography-crs-failed.png")
            raise AssertionError(pg.locator("body").inner_text()[:3000]) from None
        pg.get_by_text("Planning on ccgs2016: 9 units").first.wait_for(timeout=30_000)
        body = pg.locator("body").inner_text()
        assert "Could not" not in body, body[:3000]
        pg.wait_for_timeout(3000)  # the run that switched the geography has finished drawing
        pg.get_by_text(remembered).first.scroll_into_view_if_needed()
        screenshot(pg, "31-own-geography-crs-remembered.png")
    finally:
        context.close()
