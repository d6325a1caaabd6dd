"""The drawing tools in a real headless Chromium at 1440 x 900, as a planner uses them.

Painting a whole LA block with one click, selecting CCGs with a box drawn with shift held
and with shift-clicks, renaming a footprint by typing in the table beside the map (a
hostile name), locking it (hatched, heavy outline), CCG names when zoomed in, colouring by
Area Team, and the Help page's glossary. The tests share one page and run in file order
as one planner's session, so select the module, not one test.

Screenshots go to FOOTPRINT_SCREENSHOTS when it is set (docs/screenshots keeps them).
"""

from __future__ import annotations

import re

import pytest
from appserver import CCG_PATHS, CHROMIUM, CHROMIUM_ARGS, MAP_FRAME, AppDidNotStart, serve_app
from helpers import require_browser, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]

WIDTH, HEIGHT = 1440, 900
#: The table's geometry (Streamlit's data editor): header and rows 35 px, the footprint
#: column "medium" (200 px) and pinned first, the lock column "small" (75 px) after it.
ROW, NAME_WIDTH, LOCK_WIDTH = 35, 200, 75

# A point inside the CCG ``code`` that its own polygon receives, in the frame's coordinates.
POINT_IN = """(code) => {
    let path = null;
    window.fpUnits.eachLayer(l => { if (l.feature.properties.code === code) path = l._path; });
    if (!path) return null;
    const r = path.getBoundingClientRect();
    for (let i = 2; i < 9; i++) for (let j = 2; j < 9; j++) {
        const x = r.left + r.width * i / 10, y = r.top + r.height * j / 10;
        if (x > 0 && y > 0 && x < innerWidth && y < innerHeight
                && document.elementFromPoint(x, y) === path) return {x: x, y: y};
    }
    return null;
}"""


#: The names written on the map and shown at the current zoom.
SHOWN_LABELS = """() => [...document.querySelectorAll(".fp-label")]
    .filter(e => e.style.display !== "none").map(e => e.textContent)"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, dataset):
    require_browser()
    root = tmp_path_factory.mktemp("drawing-app")
    try:
        with serve_app(scenario_dir=root / "scenarios", log_path=root / "app.log") as url:
            yield url
    except AppDidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        pg.goto(app_url)
        pg.frame_locator(MAP_FRAME).first.locator(CCG_PATHS).nth(210).wait_for(timeout=90_000)
        yield pg
        browser.close()


def _frame(page):
    return page.locator(MAP_FRAME).first.element_handle().content_frame()


def _assigned(page, k: int):
    return page.get_by_text(re.compile(rf"(^|\D){k} of 211 CCGs assigned")).first


def _click_ccg(page, code: str, *, shift: bool = False) -> None:
    point = _frame(page).evaluate(POINT_IN, code)
    assert point, f"no clickable point inside {code}"
    box = page.locator(MAP_FRAME).first.bounding_box()
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    if shift:
        page.keyboard.up("Shift")


def _selected(page) -> list[str]:
    return sorted(_frame(page).evaluate("() => Object.keys(window.fpSelected || {})"))


def _editor(page):
    return page.locator('[data-testid="stDataFrame"]').first


def _coloured(page, k: int) -> None:
    """Wait until the map shows ``k`` CCGs in footprints (its layer follows the page's run)."""
    _frame(page).wait_for_function(
        """(k) => window.fpUnits && window.fpUnits.getLayers().length === 211
            && window.fpUnits.getLayers().filter(l => l.feature.properties.footprint)
                .length === k""",
        arg=k,
        timeout=60_000,
    )


def test_painting_an_la_block_takes_one_click_and_the_table_sits_beside_the_map(
    page, dataset
) -> None:
    blocks: dict[str, list[str]] = {}
    for code, block in dataset.audit.blocks.items():
        blocks.setdefault(block, []).append(code)
    members = next(sorted(m) for m in blocks.values() if len(m) >= 4)
    page.get_by_text("Paint whole LA blocks").click()
    page.wait_for_timeout(1500)
    _click_ccg(page, members[0])
    _assigned(page, len(members)).wait_for(timeout=60_000)
    _coloured(page, len(members))
    page.get_by_text(re.compile(rf"and {len(members) - 1} others in 'Footprint 1'")).wait_for()
    # the table of footprints is beside the map, in view at 1440 x 900, with the new row
    _editor(page).wait_for(timeout=30_000)
    table = _editor(page).bounding_box()
    the_map = page.locator(MAP_FRAME).first.bounding_box()
    assert table["x"] >= the_map["x"] + the_map["width"]
    assert table["y"] + table["height"] <= HEIGHT
    screenshot(page, "20-paint-la-block.png")
    page.get_by_text("Paint whole LA blocks").click()  # back to one CCG a click
    page.wait_for_timeout(1500)


def test_a_box_drawn_with_shift_selects_ccgs_and_puts_them_in_one_footprint(page) -> None:
    before = set(_frame(page).evaluate(
        "() => window.fpUnits.getLayers().filter(l => l.feature.properties.footprint)"
        ".map(l => l.feature.properties.code)"
    ))  # fmt: skip
    box = page.locator(MAP_FRAME).first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.62
    page.keyboard.down("Shift")
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 40, y0 + 30, steps=4)
    page.mouse.move(x0 + 70, y0 + 55, steps=4)
    page.mouse.up()
    page.keyboard.up("Shift")
    selected = _selected(page)
    assert len(selected) >= 2, selected
    panel = page.frame_locator(MAP_FRAME).first.locator(".fp-select")
    assert panel.inner_text().startswith(f"{len(selected)} selected")
    # selected CCGs show a pink dashed outline until they are sent
    looks = _frame(page).evaluate(
        "(codes) => codes.map(c => { let s = null; window.fpUnits.eachLayer(l => {"
        " if (l.feature.properties.code === c) s = l._path.getAttribute('stroke'); });"
        " return s; })",
        selected,
    )
    assert set(looks) == {"#ff1493"}
    screenshot(page, "21-box-select.png")
    panel.get_by_text("Put in the chosen footprint").click()
    _assigned(page, len(before | set(selected))).wait_for(timeout=60_000)
    _coloured(page, len(before | set(selected)))
    assert _selected(page) == []


def test_shift_clicks_select_without_assigning_until_sent(page, dataset) -> None:
    fr = _frame(page)
    free = fr.evaluate(
        "() => window.fpUnits.getLayers().filter(l => !l.feature.properties.footprint)"
        ".map(l => l.feature.properties.code)"
    )
    n = 211 - len(free)
    picked = []
    for code in free:
        if fr.evaluate(POINT_IN, code):
            picked.append(code)
        if len(picked) == 2:
            break
    for code in picked:
        _click_ccg(page, code, shift=True)
    page.wait_for_timeout(1500)  # nothing is sent by a shift-click
    assert _selected(page) == sorted(picked)
    assert _assigned(page, n).is_visible()
    _click_ccg(page, picked[0], shift=True)  # a second shift-click lets go
    assert _selected(page) == [picked[1]]
    _click_ccg(page, picked[0], shift=True)
    page.frame_locator(MAP_FRAME).first.get_by_text("Put in the chosen footprint").click()
    _assigned(page, n + 2).wait_for(timeout=60_000)
    _coloured(page, n + 2)


def test_a_footprint_is_renamed_by_typing_in_the_table_and_a_hostile_name_is_cleaned(
    page,
) -> None:
    page.wait_for_timeout(1500)  # the last action's message has settled above the table
    table = _editor(page).bounding_box()
    # a first click brings the focus back from the map's frame, a double click opens the cell
    page.mouse.click(table["x"] + NAME_WIDTH / 2, table["y"] + ROW * 1.5)
    page.wait_for_timeout(300)
    page.mouse.dblclick(table["x"] + NAME_WIDTH / 2, table["y"] + ROW * 1.5)
    cell = page.locator("#portal textarea, #portal input").first
    cell.wait_for(timeout=10_000)
    cell.fill("<img src=x onerror=alert(1)> North\u200b Yorkshire")
    cell.press("Enter")
    said = page.get_by_text(re.compile(r"Renamed 'Footprint 1' to"))
    said.wait_for(timeout=60_000)
    text = said.inner_text()
    assert "'<img src=x onerror=alert(1)> North Yorkshire'" in text
    assert "control or invisible characters were removed" in text
    # the name is text everywhere: no image element was made of it
    assert page.locator("img[src='x']").count() == 0
    assert _frame(page).locator("img[src='x']").count() == 0
    screenshot(page, "22-rename-inline.png")


def test_a_locked_footprint_is_hatched_outlined_and_ticked_and_names_show_zoomed_in(
    page,
) -> None:
    table = _editor(page).bounding_box()
    page.mouse.click(table["x"] + NAME_WIDTH + LOCK_WIDTH / 2, table["y"] + ROW * 1.5)
    page.get_by_text(
        re.compile(r"Locked '<img src=x onerror=alert\(1\)> North Yorkshire'")
    ).wait_for(timeout=60_000)
    fr = _frame(page)
    page.wait_for_timeout(1500)
    hatched = fr.locator("path.fp-hatch")
    assert hatched.count() >= 4  # every CCG of the locked footprint
    strokes = fr.evaluate(
        "() => window.fpUnits.getLayers().filter(l => l.feature.properties.footprint)"
        ".map(l => [l.feature.properties.footprint, l._path.getAttribute('stroke-width')])"
    )
    locked = {float(w) for f, w in strokes if f.startswith("<img")}
    assert locked == {3.5}
    assert (
        "locked footprint (hatched)" in fr.locator(".fp-legend:not(.fp-select)").first.inner_text()
    )
    # zoomed in, the CCGs' names are written on the map; at England's zoom, none is
    assert fr.evaluate(SHOWN_LABELS) == []
    fr.evaluate(
        "() => { let l0 = null; window.fpUnits.eachLayer(l => {"
        " if (l.feature.properties.footprint.startsWith('<img')) l0 = l; });"
        " window.map.setView(l0.getBounds().getCenter(), 9); }"
    )
    page.wait_for_timeout(1500)
    shown = fr.evaluate(SHOWN_LABELS)
    assert len(shown) >= 5 and not any(s.startswith("NHS ") for s in shown)
    screenshot(page, "23-locked-and-labels.png")


def test_colour_by_area_team(page) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator("label").filter(has_text=re.compile(r"^Area Team$")).click()
    legend = page.frame_locator(MAP_FRAME).first.locator(".fp-legend:not(.fp-select)").first
    legend.get_by_text("NHS Area Teams: 25").wait_for(timeout=60_000)
    fills = _frame(page).eval_on_selector_all(
        CCG_PATHS, "ps => ps.map(p => (p.getAttribute('fill') || '').toLowerCase())"
    )
    assert len(set(fills)) >= 8  # 25 teams, neighbours apart, in the shared palette
    screenshot(page, "24-colour-by-area-team.png")
    sidebar.locator("label").filter(has_text=re.compile(r"^footprint$")).click()


def test_the_help_page_explains_the_rules_and_every_term(page) -> None:
    page.get_by_role("link", name="Help", exact=True).click()
    page.get_by_text("Reading a result").wait_for(timeout=60_000)
    for term in ("LA block", "River crossing", "Proven best", "Gap", "Compactness"):
        assert page.get_by_text(term, exact=True).first.is_visible()
    page.get_by_text("Glossary").scroll_into_view_if_needed()
    screenshot(page, "25-help-glossary.png")
