"""The app in a real headless Chromium, with every request off the app's own server refused.

This proves the map draws with no internet (Leaflet comes from the app), that a
click on a CCG assigns it, that the optimiser runs from the page, and that an
export downloads. Chromium is Debian's (/usr/bin/chromium); Playwright's own
browsers are never downloaded. Without Chromium the tests are skipped, unless
FOOTPRINT_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]


def _require_browser() -> None:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("FOOTPRINT_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + "; FOOTPRINT_REQUIRE_BROWSER=1 requires the browser tests")
        pytest.skip(reason)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if os.environ.get("FOOTPRINT_REQUIRE_BROWSER") == "1":
            pytest.fail("playwright is not installed; pip install -r requirements.txt")
        pytest.skip("playwright is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, dataset):
    """`streamlit run app.py` on a free local port, scenarios in a temporary folder."""
    _require_browser()
    port = _free_port()
    env = {**os.environ, "FOOTPRINT_SCENARIO_DIR": str(tmp_path_factory.mktemp("scenarios"))}
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    host = app_url.split("//", 1)[1]
    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1100},
                                      accept_downloads=True)

        def only_local(route) -> None:
            url = route.request.url
            if url.startswith(("data:", "blob:")) or url.split("//", 1)[-1].startswith(host):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()

        # context-wide, so it also covers the map's iframe
        context.route("**/*", only_local)
        pg = context.new_page()
        pg.blocked = blocked  # type: ignore[attr-defined]
        pg.goto(app_url)
        yield pg
        browser.close()


def _map(page):
    return page.frame_locator(MAP_FRAME).first


def test_map_draws_offline_with_every_ccg(page) -> None:
    frame = _map(page)
    frame.locator("path.leaflet-interactive").nth(210).wait_for(timeout=90_000)
    assert frame.locator("path.leaflet-interactive").count() >= 211
    # Leaflet came from the app: no request for it left the machine
    assert not [u for u in page.blocked if "leaflet" in u.lower()]
    assert page.get_by_text("registered patients (QOF 2013/14 list sizes)").first.is_visible()
    page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "e2e_map.png"))


def test_clicking_a_ccg_puts_it_in_a_footprint(page) -> None:
    frame = _map(page)
    frame.locator("path.leaflet-interactive").nth(210).wait_for(timeout=90_000)
    frame.locator("path.leaflet-interactive").nth(5).dispatch_event("click")
    page.get_by_text("in 'Footprint 1'").first.wait_for(timeout=30_000)
    page.get_by_text("1 of 211 CCGs assigned").first.wait_for(timeout=30_000)
    # the map stayed mounted (same iframe) and the footprint's colour is drawn
    assert frame.locator("path.leaflet-interactive").count() >= 211


def test_optimise_from_the_page(page) -> None:
    pytest.importorskip("footprint.optimiser", reason="the optimiser has not landed")
    page.get_by_text("Optimise", exact=True).first.click()
    page.get_by_role("button", name="Run the optimiser").wait_for(timeout=30_000)
    page.get_by_role("button", name="Run the optimiser").click()
    page.get_by_text("Proven best (optimal)").or_(page.get_by_text("Feasible, within")).first \
        .wait_for(timeout=240_000)


def test_download_the_plan_csv(page) -> None:
    page.get_by_text("Import and export", exact=True).first.click()
    button = page.get_by_role("button", name="Plan CSV")
    button.wait_for(timeout=30_000)
    with page.expect_download(timeout=60_000) as info:
        button.click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["unit_code", "footprint"]
    assert len(rows) - 1 == 211
    assert sum(1 for r in rows[1:] if r[1]) >= 1  # the CCG clicked earlier is in a footprint
