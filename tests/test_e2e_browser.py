"""The app in a real headless Chromium, with every request off the app's own server refused.

This proves the map draws with no internet (Leaflet comes from the app), that a
real mouse click on a CCG assigns it and recolours it, that the optimiser runs
from the page and saves a scenario, and that exports download as real files.
Chromium is Debian's (/usr/bin/chromium); Playwright's own browsers are never
downloaded. Without Chromium the tests are skipped, unless
FOOTPRINT_REQUIRE_BROWSER is set (CI sets it to 1), where they fail.

The tests share one page and run in file order as one planner's session (the
download tests expect the CCG clicked earlier), so select the module, not one test.
The quick-clicks and reload tests open sessions of their own; the restart test runs
servers of its own.
"""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from appserver import (
    CCG_PATHS,
    CHROMIUM,
    CHROMIUM_ARGS,
    INSIDE_POINT,
    MAP_FRAME,
    ROOT,
    UNASSIGNED_FILL,
    AppDidNotStart,
    assigned_line,
    rapid_clicks,
    serve_app,
)
from helpers import require_browser, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scenarios")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, dataset, scenario_dir: Path):
    """`streamlit run app.py` on a free local port, scenarios in a temporary folder."""
    require_browser()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    try:
        with serve_app(scenario_dir=scenario_dir, log_path=log, timeout=60) as url:
            yield url
    except AppDidNotStart as exc:
        pytest.fail(str(exc))


class Canary:
    """A tiny web server on 127.0.0.1 that counts the requests reaching it.

    Names in the hostile-name test point images at it: any request means a name was
    rendered as Markdown somewhere.
    """

    def __init__(self) -> None:
        hits: list[str] = []
        self.hits = hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def canary():
    c = Canary()
    yield c
    c.close()


@pytest.fixture(scope="module")
def page(app_url, canary):
    from playwright.sync_api import sync_playwright

    # the app's own server, and the canary: a request to it must reach it to be counted
    hosts = (app_url.split("//", 1)[1], canary.host)
    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1500, "height": 1100}, accept_downloads=True
        )

        def only_local(route) -> None:
            url = route.request.url
            if url.startswith(("data:", "blob:")) or url.split("//", 1)[-1].startswith(hosts):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()

        # context-wide, so it also covers the map's iframe
        context.route("**/*", only_local)
        pg = context.new_page()
        pg.blocked = blocked  # type: ignore[attr-defined]
        sent: list[int] = []  # sizes of the messages the page sends to the server
        pg.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(len(f))))
        pg.sent = sent  # type: ignore[attr-defined]
        pg.goto(app_url)
        yield pg
        browser.close()


def _map(page):
    return page.frame_locator(MAP_FRAME).first


def _map_frame(page):
    return page.locator(MAP_FRAME).first.element_handle().content_frame()


def _fills(page) -> list[str]:
    return _map_frame(page).eval_on_selector_all(
        CCG_PATHS, "ps => ps.map(p => (p.getAttribute('fill') || '').toLowerCase())"
    )


_INSIDE_POINT = INSIDE_POINT


def test_map_draws_offline_with_every_ccg(page) -> None:
    frame = _map(page)
    frame.locator(CCG_PATHS).nth(210).wait_for(timeout=90_000)
    # one SVG path per CCG in Leaflet's overlay pane
    assert frame.locator(CCG_PATHS).count() == 211
    assert frame.locator(".leaflet-overlay-pane svg").count() >= 1
    # Leaflet came from the app: no request for a script or stylesheet left the machine
    # (only background tiles may have been refused, when the tiles box is on)
    assert not [u for u in page.blocked if "tile.openstreetmap.org" not in u], page.blocked
    assert page.get_by_text("registered patients (QOF 2013/14 list sizes)").first.is_visible()
    assert frame.get_by_text("Open Government Licence v3.0").first.is_visible()
    assert set(_fills(page)) == {UNASSIGNED_FILL}  # coloured by footprint: none yet


def test_clicking_a_ccg_puts_it_in_a_footprint(page) -> None:
    frame = _map(page)
    frame.locator(CCG_PATHS).nth(210).wait_for(timeout=90_000)
    point = _map_frame(page).evaluate(_INSIDE_POINT, 100)
    assert point, "no clickable point inside any CCG"
    box = page.locator(MAP_FRAME).first.bounding_box()
    page.wait_for_timeout(1500)  # the page's own start-up messages are over
    page.sent.clear()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])  # a real mouse click
    page.get_by_text(re.compile(r"^Put .+ in 'Footprint 1'\.$")).first.wait_for(timeout=90_000)
    page.get_by_text("1 of 211 CCGs assigned").first.wait_for(timeout=90_000)
    # the map stayed mounted (same iframe) and the clicked CCG took a footprint colour
    frame.locator(CCG_PATHS).nth(210).wait_for(timeout=90_000)
    deadline = time.monotonic() + 30
    while True:
        fills = _fills(page)
        coloured = [i for i, f in enumerate(fills) if f != UNASSIGNED_FILL]
        if coloured or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert coloured == [point["index"]], coloured
    assert len(fills) == 211
    # the click was reported once (at once, not again after streamlit-folium's debounce)
    page.wait_for_timeout(1000)
    assert len(page.sent) == 1, page.sent
    # under the table: the plan is not finished (210 CCGs still to place)
    page.get_by_text("Not finished: 210 CCGs not yet in a footprint").first.wait_for(timeout=90_000)


def test_each_page_has_its_own_address_and_back_returns(page) -> None:
    token = re.search(r"[?&]d=([A-Za-z0-9_-]+)", page.url)
    assert token, page.url  # the drawing's token, set on the first visit
    entries = page.evaluate("history.length")
    page.get_by_text("Compare", exact=True).first.click()
    page.get_by_text("Compare two plans").first.wait_for(timeout=90_000)
    page.wait_for_url(re.compile(r"/compare(\?|$)"), timeout=90_000)
    # one history entry per page change (the token kept, not dropped and put back), so one
    # Back returns to the page before
    assert page.evaluate("history.length") == entries + 1
    assert f"d={token.group(1)}" in page.url
    page.get_by_text("Help", exact=True).first.click()
    page.get_by_text("How the planner works").first.wait_for(timeout=90_000)
    page.wait_for_timeout(800)
    screenshot(page, "09-help.png")
    assert "/help" in page.url and f"d={token.group(1)}" in page.url
    page.go_back()  # the browser's back button: the page before
    page.get_by_text("Compare two plans").first.wait_for(timeout=90_000)
    page.go_back()
    _map(page).locator(CCG_PATHS).nth(210).wait_for(timeout=90_000)
    page.wait_for_url(re.compile(rf"/\?d={token.group(1)}$"), timeout=90_000)
    try:
        assigned_line(page, 1).wait_for(timeout=60_000)
    except Exception:
        raise AssertionError(page.locator("body").inner_text()[:3000]) from None


def test_optimise_from_the_page(page, scenario_dir: Path) -> None:
    pytest.importorskip("footprint.optimiser", reason="the optimiser has not landed")
    page.get_by_text("Optimise", exact=True).first.click()
    page.get_by_role("button", name="Run the optimiser").wait_for(timeout=90_000)
    page.get_by_role("button", name="Run the optimiser").click()
    page.get_by_text("Proven best (optimal)").or_(
        page.get_by_text("Feasible, within")
    ).first.wait_for(timeout=240_000)
    page.get_by_text("saved as scenario").first.wait_for(timeout=90_000)
    page.wait_for_timeout(1500)
    screenshot(page, "03-optimiser-result.png")
    saved = [json.loads(f.read_text(encoding="utf-8")) for f in scenario_dir.glob("*.json")]
    assert len(saved) == 1 and len(saved[0]["assignment"]) == 211


def _download(page, label: str) -> Path:
    button = page.get_by_role("button", name=label)
    button.wait_for(timeout=90_000)
    with page.expect_download(timeout=60_000) as info:
        button.click()
    return Path(info.value.path())


def test_download_the_plan_csv(page) -> None:
    page.get_by_text("Import and export", exact=True).first.click()
    page.get_by_text("Import a plan (CSV)").first.wait_for(timeout=90_000)
    page.wait_for_timeout(1000)
    screenshot(page, "10-import-export.png")
    text = _download(page, "Plan CSV").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["unit_code", "footprint"]
    assert len(rows) - 1 == 211
    assert all(re.fullmatch(r"E38\d{6}", r[0]) for r in rows[1:])  # codes kept as text
    assert sum(1 for r in rows[1:] if r[1]) == 1  # the CCG clicked earlier


def test_download_geojson(page) -> None:
    page.get_by_text("Import and export", exact=True).first.click()
    data = json.loads(_download(page, "GeoJSON").read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) >= 1
    first = data["features"][0]
    assert first["geometry"]["type"] in ("Polygon", "MultiPolygon")
    text = json.dumps(data)
    assert "registered patients" in text and "Open Government Licence" in text


# --- names that are Markdown, and a view that fails ----------------------------------------------


def _as_shown(text: str) -> re.Pattern:
    """``text`` as the page shows it: the app may put invisible word joiners (U+2060) into
    addresses so that they do not become links."""
    return re.compile("\u2060?".join(re.escape(ch) for ch in text))


def _no_links_to(page, host: str) -> None:
    assert page.locator(f'a[href*="{host}"]').count() == 0, "a name became a link"


def _selectbox(page, label: str):
    """Streamlit's selectbox labelled ``label`` (the box to click to open its list)."""
    return page.get_by_role("combobox", name=label, exact=True).first


def test_hostile_names_fetch_nothing_and_show_as_typed(page, scenario_dir: Path, canary) -> None:
    from footprint import Scenario, ScenarioStore

    image = f"![t](http://{canary.host}/p.png)"
    footprint = f"![f](http://{canary.host}/f.png)"
    store = ScenarioStore(scenario_dir)
    store.save(
        Scenario(
            name=image,
            assignment={"E38000001": footprint, "E38000015": "$5m to $6m"},
            notes=f"**x** and ![n](http://{canary.host}/n.png)",
        ),
        overwrite=True,  # a retry of this test finds them saved
    )
    store.save(Scenario(name="$5m to $6m", assignment={"E38000001": "**x**"}), overwrite=True)
    page.get_by_text("Scenarios", exact=True).first.click()
    page.get_by_text("Saved scenarios").first.wait_for(timeout=90_000)
    # pick the hostile scenario and load it into the drawing (which holds the clicked CCG)
    _selectbox(page, "Scenario").click()
    page.get_by_role("option", name=image).click()
    page.get_by_text("Replace my drawing with it").click()
    page.get_by_role("button", name="Load into the drawing").click()
    page.get_by_text(_as_shown(f"Loaded scenario '{image}' into the drawing")).first.wait_for(
        timeout=90_000
    )
    page.wait_for_timeout(1500)
    _no_links_to(page, canary.host)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=90_000)
    page.evaluate("""() => { window.scrollTo(0, 0);
        document.querySelectorAll('[data-testid="stMain"], section.main, .main')
            .forEach(e => e.scrollTo(0, 0)); }""")
    page.wait_for_timeout(500)
    screenshot(page, "06-hostile-names.png")
    page.get_by_text("Compare", exact=True).first.click()
    page.get_by_text("Compare two plans").first.wait_for(timeout=90_000)
    _selectbox(page, "Plan A").click()  # its name then heads a column of the moves table
    page.get_by_role("option", name=f"Scenario: {image}").click()
    page.get_by_text("CCGs that moved").first.wait_for(timeout=90_000)
    page.wait_for_timeout(1500)
    page.get_by_text("Map and drawing", exact=True).first.click()
    page.get_by_text("2 of 211 CCGs assigned").first.wait_for(timeout=90_000)
    page.get_by_text(_as_shown(f"{footprint} has")).first.wait_for(timeout=90_000)  # a rule
    _no_links_to(page, canary.host)
    page.get_by_text("Import and export", exact=True).first.click()
    _selectbox(page, "Plan to export").click()
    page.get_by_role("option", name=f"Scenario: {image}").click()
    page.get_by_text("Import a plan (CSV)").first.wait_for(timeout=90_000)
    page.wait_for_timeout(2000)
    _no_links_to(page, canary.host)
    assert canary.hits == [], canary.hits  # no element fetched an image named in a name
    assert not [u for u in page.blocked if canary.host in u]
    assert page.locator(".katex").count() == 0  # no dollar sign typeset as mathematics
    # saved scenarios are shown apart from the drawing in the picker
    _selectbox(page, "Plan to export").click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    assert options[0] == "Current drawing" and f"Scenario: {image}" in options, options


@pytest.fixture(scope="module")
def broken_app_url(tmp_path_factory: pytest.TempPathFactory, dataset):
    """The app with a library call the Scenarios view makes broken (as a bug would)."""
    require_browser()
    folder = tmp_path_factory.mktemp("broken")
    script = folder / "broken_app.py"
    script.write_text(
        textwrap.dedent(f"""
        import runpy
        import footprint

        def reference_plan(*args, **kwargs):
            raise RuntimeError("a fault planted by the browser test")

        footprint.reference_plan = reference_plan
        runpy.run_path({str(ROOT / "app.py")!r}, run_name="__main__")
    """)
    )
    try:
        with serve_app(
            scenario_dir=folder / "scenarios",
            log_path=folder / "streamlit.log",
            timeout=60,
            script=script,
        ) as url:
            yield url, folder / "streamlit.log"
    except AppDidNotStart as exc:
        pytest.fail(str(exc))


def test_a_view_that_fails_says_so_in_place_and_keeps_the_sidebar(page, broken_app_url) -> None:
    url, log = broken_app_url
    # a page of its own in the same browser (one Playwright per process)
    context = page.context.browser.new_context(viewport={"width": 1500, "height": 1000})
    try:
        pg = context.new_page()
        pg.goto(url)
        pg.get_by_text("Compare", exact=True).first.click(timeout=90_000)
        pg.get_by_text("This view hit an unexpected problem").first.wait_for(timeout=90_000)
        pg.get_by_text("Background map (OpenStreetMap, needs internet)").wait_for(
            timeout=90_000
        )  # the sidebar is drawn after the page
        pg.wait_for_timeout(1000)
        screenshot(pg, "07-view-fails-in-place.png")
        body = pg.locator("body").inner_text()
        assert "Traceback" not in body and "a fault planted" not in body
        assert pg.get_by_text("Open Government Licence v3.0").first.is_visible()
        # the navigation is there and works
        pg.get_by_text("Map and drawing", exact=True).first.click()
        pg.frame_locator(MAP_FRAME).first.locator(CCG_PATHS).nth(210).wait_for(timeout=90_000)
    finally:
        context.close()
    assert "a fault planted by the browser test" in log.read_text(errors="replace")  # logged


def _session(page, app_url: str):
    """Another planner: a browser context of its own (its own Streamlit session)."""
    context = page.context.browser.new_context(viewport={"width": 1500, "height": 1000})
    host = app_url.split("//", 1)[1]
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.split("//", 1)[-1].startswith(host)
            or route.request.url.startswith(("data:", "blob:"))
            else route.abort()
        ),
    )
    pg = context.new_page()
    pg.goto(app_url)
    pg.frame_locator(MAP_FRAME).first.locator(CCG_PATHS).nth(210).wait_for(timeout=90_000)
    return context, pg


def _save_drawing(pg, name: str, *, replace: bool = False) -> None:
    field = pg.get_by_label("Scenario name")
    if not field.is_visible():  # the popover stays open after a save
        pg.get_by_role("button", name="Save the drawing as a scenario").click()
    field.fill(name)
    if replace != pg.get_by_label("Replace a saved scenario of the same name").is_checked():
        pg.get_by_text("Replace a saved scenario of the same name").click()
    pg.get_by_role("button", name="Save scenario").click()


def test_two_planners_saving_at_once_and_over_each_other(
    page, app_url: str, scenario_dir: Path
) -> None:
    from footprint import ScenarioStore

    (ca, a), (cb, b) = _session(page, app_url), _session(page, app_url)
    try:
        # one new name saved from two sessions: one is told "Saved", the other why not
        _save_drawing(a, "Team plan")
        a.get_by_text("Saved scenario 'Team plan'").first.wait_for(timeout=90_000)
        _save_drawing(b, "Team plan")
        b.get_by_text(
            re.compile(
                r"Could not save the scenario: a scenario called 'Team plan' "
                r"is saved already"
            )
        ).first.wait_for(timeout=90_000)
        assert b.get_by_text("Saved scenario 'Team plan'").count() == 0
        # B loads it (revision 1); A saves over it (revision 2); B's save over it is refused
        b.get_by_text("Scenarios", exact=True).first.click()
        _selectbox(b, "Scenario").click()
        b.get_by_role("option", name="Team plan", exact=True).click()
        b.get_by_role("button", name="Load into the drawing").click()
        b.get_by_text("Loaded scenario 'Team plan' into the drawing").first.wait_for(timeout=90_000)
        _save_drawing(a, "Team plan", replace=True)
        a.get_by_text("Saved scenario 'Team plan'").first.wait_for(timeout=90_000)
        b.get_by_text("Map and drawing", exact=True).first.click()
        b.frame_locator(MAP_FRAME).first.locator(CCG_PATHS).nth(210).wait_for(timeout=90_000)
        _save_drawing(b, "Team plan", replace=True)
        b.get_by_text(
            re.compile(
                r"scenario 'Team plan' was changed by someone else at "
                r"\d\d:\d\d"
            )
        ).first.wait_for(timeout=90_000)
        b.keyboard.press("Escape")  # close the popover
        b.mouse.move(5, 5)  # no map tooltip over the picture
        b.wait_for_timeout(1000)
        screenshot(b, "08-save-conflict.png")
        assert ScenarioStore(scenario_dir).load("Team plan").revision == 2
        b.get_by_role("button", name="Save as a copy").click()
        b.get_by_text("Saved scenario 'Team plan (copy)'").first.wait_for(timeout=90_000)
        assert ScenarioStore(scenario_dir).exists("Team plan (copy)")
    finally:
        ca.close()
        cb.close()


# --- quick clicks, reloads and restarts ----------------------------------------------------------


def test_thirty_quick_clicks_each_land_where_aimed_and_the_map_never_moves(page, app_url) -> None:
    context, pg = _session(page, app_url)  # an empty drawing of its own
    try:
        pg.wait_for_timeout(1500)
        got = rapid_clicks(pg, 30)
        assert all(b == got["boxes"][0] for b in got["boxes"]), got["boxes"]
        coloured = {i for i, f in enumerate(got["fills"]) if f != UNASSIGNED_FILL}
        assert coloured == set(got["clicked"]), (sorted(coloured), sorted(got["clicked"]))
        assert len({got["fills"][i] for i in got["clicked"]}) == 1  # all in one footprint
        assigned_line(pg, 30).wait_for(timeout=90_000)
        pg.get_by_text(re.compile(r"^1 footprint, 30 of 211")).first.wait_for(timeout=90_000)
        pg.mouse.move(5, 5)
        pg.wait_for_timeout(1000)
        screenshot(pg, "11-thirty-quick-clicks.png")
    finally:
        context.close()


def _undo(pg) -> None:
    pg.get_by_role("button", name="↶ Undo").click()


def test_the_drawing_and_its_undo_survive_a_reload_and_a_restart(
    page, tmp_path_factory: pytest.TempPathFactory, dataset
) -> None:
    folder = tmp_path_factory.mktemp("restart")
    drawings = folder / "drawings"
    port = None
    context = page.context.browser.new_context(viewport={"width": 1500, "height": 1000})
    try:
        pg = context.new_page()
        with serve_app(
            scenario_dir=folder / "scenarios",
            log_path=folder / "first.log",
            drawing_dir=drawings,
            timeout=90,
        ) as url:
            port = int(url.rsplit(":", 1)[1])
            pg.goto(url)
            pg.frame_locator(MAP_FRAME).first.locator(CCG_PATHS).nth(210).wait_for(timeout=90_000)
            pg.wait_for_timeout(1500)
            rapid_clicks(pg, 3)
            address = pg.url
            assert re.search(r"[?&]d=[A-Za-z0-9_-]{32}", address), address
            pg.reload()  # a reload: a new session at the same address
            assigned_line(pg, 3).wait_for(timeout=90_000)
            _undo(pg)  # the history came back too
            assigned_line(pg, 2).wait_for(timeout=90_000)
            pg.get_by_role("button", name="↷ Redo").click()
            assigned_line(pg, 3).wait_for(timeout=90_000)
        assert len(list(drawings.glob("*.json"))) == 1
        # the server stops and starts again on the same address
        with serve_app(
            scenario_dir=folder / "scenarios",
            log_path=folder / "second.log",
            drawing_dir=drawings,
            timeout=90,
            port=port,
        ):
            pg.goto(address)
            assigned_line(pg, 3).wait_for(timeout=90_000)
            _undo(pg)
            assigned_line(pg, 2).wait_for(timeout=90_000)
    finally:
        context.close()


def _own_geography_files(folder: Path) -> dict[str, Path]:
    """A planner's own 2 x 3 grid of wards in the Midlands, its populations and an LA layer
    of two local authorities (one per row), as files to upload."""
    import geopandas as gpd
    from shapely.geometry import box

    folder.mkdir(parents=True, exist_ok=True)
    size, x0, y0 = 4000.0, 400_000.0, 280_000.0
    wards = gpd.GeoDataFrame(
        {
            "code": [f"r{r}c{c}" for r in range(2) for c in range(3)],
            "ward": [f"Ward {r}{c}" for r in range(2) for c in range(3)],
        },
        geometry=[
            box(x0 + c * size, y0 + r * size, x0 + (c + 1) * size, y0 + (r + 1) * size)
            for r in range(2)
            for c in range(3)
        ],
        crs=27700,
    )
    las = gpd.GeoDataFrame(
        {"la_code": ["L1", "L2"], "la_name": ["Northtown", "Southtown"]},
        geometry=[box(x0, y0 + r * size, x0 + 3 * size, y0 + (r + 1) * size) for r in range(2)],
        crs=27700,
    )
    files = {
        "wards": folder / "wards.geojson",
        "las": folder / "las.geojson",
        "people": folder / "people.csv",
    }
    wards.to_crs(4326).to_file(files["wards"], driver="GeoJSON")
    las.to_crs(4326).to_file(files["las"], driver="GeoJSON")
    files["people"].write_text(
        "code,population\n" + "".join(f"{c},{150_000 + i}\n" for i, c in enumerate(wards["code"])),
        encoding="utf-8",
    )
    return files


def test_an_own_geography_with_an_la_layer_from_its_page(
    page, app_url: str, tmp_path: Path
) -> None:
    # a planner of their own session uploads wards with an LA layer, calls the units
    # "wards", and the app plans on them: the map shows the six wards and the LA rule is on
    files = _own_geography_files(tmp_path / "own")
    context, pg = _session(page, app_url)
    try:
        pg.get_by_text("Your own boundaries", exact=True).first.click()
        pg.get_by_text("Use your own boundaries and populations").first.wait_for(timeout=90_000)
        pg.get_by_text("units per upload").first.wait_for(timeout=90_000)

        def upload(label: str, path: Path) -> None:
            box_ = pg.locator('[data-testid="stFileUploader"]').filter(has_text=label)
            box_.locator('input[type="file"]').set_input_files(str(path))
            try:
                box_.get_by_text(path.name).first.wait_for(timeout=90_000)
            except Exception:
                screenshot(pg, "12-own-geography-failed.png")
                raise AssertionError(pg.locator("body").inner_text()[:3000]) from None
            pg.wait_for_timeout(1500)  # the run the upload starts

        upload("Boundary file", files["wards"])
        upload("Population CSV", files["people"])
        upload("LA boundaries (optional)", files["las"])
        pg.get_by_text("LA name column (optional)").first.wait_for(timeout=60_000)
        pg.wait_for_timeout(1000)
        _selectbox(pg, "LA name column (optional)").click()
        pg.keyboard.type("la_name")
        pg.keyboard.press("Enter")
        pg.wait_for_timeout(1000)
        field = pg.get_by_role("textbox", name="Units are called", exact=True)
        field.fill("ward")
        field.press("Enter")
        pg.wait_for_timeout(1000)
        pg.get_by_role("button", name="Use these files").click()
        try:
            pg.get_by_text("the LA rule keeps each LA whole").first.wait_for(timeout=120_000)
        except Exception:
            screenshot(pg, "12-own-geography-failed.png")
            raise AssertionError(pg.locator("body").inner_text()[:3000]) from None
        pg.get_by_text("6 wards, an LA layer of 2 local authorities").first.wait_for(timeout=90_000)
        pg.wait_for_timeout(1000)
        screenshot(pg, "12-own-geography-with-la-layer.png")
        body = pg.locator("body").inner_text()
        assert "Could not" not in body, body[:3000]
        pg.get_by_text("Map and drawing", exact=True).first.click()
        pg.get_by_text("0 of 6 wards assigned").first.wait_for(timeout=60_000)
        pg.frame_locator(MAP_FRAME).first.locator(CCG_PATHS).nth(5).wait_for(timeout=60_000)
        assert pg.frame_locator(MAP_FRAME).first.locator(CCG_PATHS).count() == 6
        pg.wait_for_timeout(1500)
        screenshot(pg, "13-own-geography-map.png")
        pg.get_by_text("Paint whole LA blocks").first.wait_for(timeout=90_000)
        pg.get_by_text("Optimise", exact=True).first.click()
        pg.get_by_role("button", name="Run the optimiser").wait_for(timeout=90_000)
        _selectbox(pg, "LA rule").click()
        options = pg.get_by_role("option").all_inner_texts()
        assert options == ["whole-la", "off"], options
        pg.keyboard.press("Escape")
    finally:
        context.close()
