"""The Floor sweep page in a real headless Chromium: run a small sweep, click a point of the
curve to see its plan, open it in the drawing, and draw the firm and open borders.

Requests off the app's own server are refused. Screenshots go to FOOTPRINT_SCREENSHOTS when
set (the good ones are kept in docs/screenshots). The tests share one page and run in file
order, so select the module.
"""

from __future__ import annotations

import html
import re
import time

import pytest
from appserver import (
    CCG_PATHS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MAP_FRAME,
    UNASSIGNED_FILL,
    AppDidNotStart,
    serve_app,
)
from helpers import require_browser, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, dataset):
    require_browser()
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
    screenshot(page, "sweep-01-curve.png")


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
    screenshot(page, "sweep-02-point-plan.png")


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
    screenshot(page, "sweep-03-opened-in-drawing.png")


# The borders layer on the map: its Leaflet map, and for one border (a name holding "&",
# so that the tooltip shows whether a name is escaped once, as text) a point on the line,
# after centring the map there.
_BORDER_POINT_JS = """() => {
    let map = null, borders = null;
    for (const k of Object.keys(window)) {
        let v;
        try { v = window[k]; } catch (e) { continue; }
        if (v instanceof L.Map) map = v;
        if (v instanceof L.GeoJSON) {
            v.eachLayer(l => {
                const f = l.feature;
                if (f && f.properties && "kind" in f.properties) borders = v;
            });
        }
    }
    if (!map || !borders) return null;
    let target = null;
    borders.eachLayer(l => {
        if (!target && l.feature.properties.tooltip.includes("&amp;")) target = l;
    });
    if (!target) return null;
    const points = target.getLatLngs().flat(3);
    const mid = points[Math.floor(points.length / 2)];
    map.setView(mid, 10, {animate: false});
    const p = map.latLngToContainerPoint(mid);
    return {x: p.x, y: p.y, stored: target.feature.properties.tooltip};
}"""

_STROKES_JS = """() => {
    const out = {};
    document.querySelectorAll(".leaflet-map-pane path").forEach(p => {
        const k = (p.getAttribute("stroke") || "").toLowerCase();
        out[k] = (out[k] || 0) + 1;
    });
    return out;
}"""


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_firm_and_open_borders(page) -> None:
    # 1440 px wide, as a planner's laptop screen (the screenshots of this view are that size)
    page.set_viewport_size({"width": 1440, "height": 1100})
    page.get_by_text("Floor sweep and firm groupings", exact=True).first.click()
    page.get_by_role("tab", name="Firm and open groupings").click()
    # this tab's own elements: the first tab keeps the sweep's plan map (hidden) when a sweep
    # was run before
    panel = page.get_by_role("tabpanel", name="Firm and open groupings")
    page.get_by_role("button", name="Draw the plans").wait_for(timeout=60_000)
    plans = _input(page, "Plans to draw")
    plans.fill("60")
    plans.press("Tab")
    seconds = _input(page, "Seconds in all")
    seconds.fill("40")
    seconds.press("Tab")
    page.get_by_role("button", name="Draw the plans").click()
    # at the app's floor, which opening the 400,000 plan set: 77 footprints there
    drawn = page.get_by_text(re.compile(r"distinct valid plans of (77|91) footprints")).first
    drawn.wait_for(timeout=180_000)
    found = re.search(r"([\d,]+) distinct valid plans of", drawn.inner_text())
    assert found
    n_plans = _number(found[1])
    assert 10 <= n_plans < 200  # fewer than 200: a share of 1 plan shows as 1%, not 0%
    page.get_by_text("not the probability that a plan is right").first.wait_for()
    caption = page.get_by_text(re.compile(r"neighbouring pairs: [\d,]+ always together")).first
    caption.wait_for()
    counts = re.search(
        r"([\d,]+) neighbouring pairs: ([\d,]+) always together .*\), ([\d,]+) sometimes, "
        r"([\d,]+) never",
        caption.inner_text(),
    )
    assert counts, caption.inner_text()
    total, always, sometimes, never = (_number(x) for x in counts.groups())
    assert total == always + sometimes + never and sometimes > 0 and never > 0

    # the key: one line sample per kind, with its count and meaning
    for words in (
        f"always together ({always:,} pairs)",
        f"sometimes together ({sometimes:,} pairs): together in some plans and apart in "
        "others: room to negotiate",
        f"never together ({never:,} pairs): a footprint boundary in every plan drawn",
    ):
        panel.locator("[data-testid=stMarkdownContainer]", has_text=words).first.wait_for()

    # the map: every CCG filled, and one line per neighbouring pair in its kind's colour
    frame = panel.frame_locator(MAP_FRAME).first
    frame.locator(CCG_PATHS).first.wait_for(timeout=60_000)
    page.wait_for_timeout(2500)
    content = panel.locator(MAP_FRAME).first.element_handle().content_frame()
    fills = content.eval_on_selector_all(
        ".leaflet-overlay-pane path", "ps => ps.map(p => (p.getAttribute('fill') || ''))"
    )
    assert len(fills) == 211 and UNASSIGNED_FILL not in fills
    strokes = content.evaluate(_STROKES_JS)
    assert strokes.get("#1a9850") == always
    assert strokes.get("#f46d43") == sometimes
    assert strokes.get("#252525") == never

    # the CCGs open to negotiation, each with the neighbours it sometimes joins and the share
    heading = page.get_by_text(re.compile(r"CCGs open to negotiation \(\d+ of 211\)")).first
    heading.wait_for()
    n_open = _number(re.search(r"\((\d+) of 211\)", heading.inner_text())[1])
    assert 2 <= n_open <= 211
    grid = panel.locator("[data-testid=stDataFrame]").last
    grid.locator("table[role=grid]").wait_for(state="attached", timeout=30_000)
    assert _number(grid.locator("table[role=grid]").get_attribute("aria-rowcount")) == n_open + 1
    cells = grid.locator("td[role=gridcell]").all_text_contents()
    partners = cells[1::2]
    assert partners, cells
    share = re.compile(r"NHS [^;]+ \((\d+)%\)")
    for text in partners:
        found_shares = share.findall(text)
        assert found_shares and len(found_shares) == text.count(";") + 1, text
        # together in some plans, apart in others: strictly between none and all
        assert all(0 < int(s) < 100 for s in found_shares), text

    panel.locator("[data-testid=stAlertContentSuccess]").last.evaluate(
        "e => e.scrollIntoView({block: 'start'})"
    )
    page.mouse.move(20, 600)
    page.wait_for_timeout(1000)
    screenshot(page, "groupings-01-map-and-key.png")
    heading.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1000)
    screenshot(page, "groupings-02-open-ccgs.png")

    # a border's tooltip names the two CCGs as text: "&" shown as "&", markup never run
    panel.locator("[data-testid=stAlertContentSuccess]").last.evaluate(
        "e => e.scrollIntoView({block: 'start'})"
    )
    point = content.evaluate(_BORDER_POINT_JS)
    assert point, "no border between CCGs with '&' in a name"
    page.wait_for_timeout(1000)
    box = panel.locator(MAP_FRAME).first.bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    tip = frame.locator(".foliumtooltip").first
    tip.wait_for(timeout=10_000)
    shown = tip.inner_text().strip()
    assert shown == html.unescape(point["stored"]) and "&amp;" not in shown and "&" in shown
    assert re.search(r"together in [\d,]+ of [\d,]+ plans \(\d+%\)|always together: ", shown)
    page.wait_for_timeout(500)
    screenshot(page, "groupings-03-border-tooltip.png")
    assert page.blocked == []  # type: ignore[attr-defined]
