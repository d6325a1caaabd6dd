"""The Floor sweep page in a real headless Chromium: run a small sweep, click a point of the
curve to see its plan, open it in the drawing, and draw the firm and open borders.

Requests off the app's own server are refused. Screenshots go to FOOTPRINT_SCREENSHOTS when
set (the good ones are kept in docs/screenshots). The tests share one page and run in file
order, so select the module.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from appserver import CCG_PATHS, CHROMIUM, CHROMIUM_ARGS, MAP_FRAME, AppDidNotStart, serve_app

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]


def _require_browser() -> None:
    required = os.environ.get("FOOTPRINT_REQUIRE_BROWSER", "").strip() not in ("", "0")
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        if required:
            pytest.fail(f"Chromium not found at {CHROMIUM}; FOOTPRINT_REQUIRE_BROWSER is set")
        pytest.skip(f"Chromium not found at {CHROMIUM}")


def _shot(page, name: str) -> None:
    folder = os.environ.get("FOOTPRINT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=False)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, dataset):
    _require_browser()
    log = tmp_path_factory.mktemp("streamlit-sweep") / "streamlit.log"
    scenarios = tmp_path_factory.mktemp("scenarios-sweep")
    try:
        with serve_app(scenario_dir=scenarios, log_path=log, timeout=90) as url:
            yield url
    except AppDidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    host = app_url.split("//", 1)[1]
    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1100})

        def only_local(route) -> None:
            url = route.request.url
            if url.startswith(("data:", "blob:")) or url.split("//", 1)[-1].startswith(host):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()

        context.route("**/*", only_local)
        pg = context.new_page()
        pg.blocked = blocked  # type: ignore[attr-defined]
        pg.goto(app_url + "/sweep")
        yield pg
        browser.close()


def _input(page, label: str):
    return page.get_by_label(label, exact=True)


def test_a_sweep_runs_and_draws_its_curve(page) -> None:
    page.get_by_role("button", name="Run the sweep").wait_for(timeout=60_000)
    floors = _input(page, "Floors (START:STOP:STEP or a list)")
    floors.fill("300000:500000:100000")
    seconds = _input(page, "Seconds per run")
    seconds.fill("4")
    seconds.press("Tab")
    page.get_by_role("button", name="Run the sweep").click()
    page.get_by_text(re.compile(r"\d+ of 6 points proven")).wait_for(timeout=300_000)
    page.locator(".vega-embed svg").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    # the curve's points are SVG marks: 3 floors x 2 rules
    marks = page.locator(".vega-embed g.mark-symbol.role-mark path")
    assert marks.count() == 6
    text = page.locator(".vega-embed").first.inner_text() + page.content()
    for label in ("51 PCT clusters", "25 NHS Area Teams", "about 19 CSUs"):
        assert label in text
    assert "registered patients" in page.content()
    page.locator(".vega-embed").first.scroll_into_view_if_needed()
    _shot(page, "sweep-01-curve.png")


def test_clicking_a_point_shows_its_plan(page) -> None:
    marks = page.locator(".vega-embed g.mark-symbol.role-mark path")
    # the marks are drawn in data order: whole LAs at 300,000, 400,000, 500,000, then off;
    # the second is 400,000 with whole LAs
    marks.nth(1).click(force=True)
    page.get_by_text(
        re.compile(r"At a floor of 400,000 registered patients .* with whole LAs")
    ).wait_for(timeout=60_000)
    page.locator(MAP_FRAME).first.wait_for(timeout=60_000)
    frame = page.frame_locator(MAP_FRAME).first
    frame.locator(CCG_PATHS).first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    fills = (
        page.locator(MAP_FRAME)
        .first.element_handle()
        .content_frame()
        .eval_on_selector_all(CCG_PATHS, "ps => ps.map(p => p.getAttribute('fill'))")
    )
    assert len(fills) == 211 and "#d9d9d9" not in fills  # every CCG in a footprint
    # scrolled by the text above the map (a mouse wheel over the map would zoom it), and
    # the pointer parked in the sidebar so that no tooltip covers the map
    page.get_by_text(re.compile(r"At a floor of 400,000")).first.scroll_into_view_if_needed()
    page.mouse.move(20, 600)
    page.wait_for_timeout(1000)
    _shot(page, "sweep-02-point-plan.png")


def test_open_the_plan_in_the_drawing(page) -> None:
    button = page.get_by_role("button", name="Open this plan in the drawing")
    try:
        button.scroll_into_view_if_needed(timeout=60_000)
        button.click()
        # the drawing page (the home page, at the root address), holding the plan: 77
        # footprints, every CCG in one, checked against the point's floor
        page.get_by_text("77 footprints", exact=True).first.wait_for(timeout=60_000)
        page.get_by_text("Every footprint meets the floor and the rules.").wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=f"/tmp/g1_debug_open_{int(time.time())}.png", full_page=True)
        raise
    page.frame_locator(MAP_FRAME).first.locator(CCG_PATHS).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    _shot(page, "sweep-03-opened-in-drawing.png")
