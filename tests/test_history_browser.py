"""A scenario's history, end to end in Debian's Chromium, on one machine (no sign-in).

The planner draws a plan and saves it, changes it and saves it again; on the Scenarios page
the history shows both versions with who saved each, when, and what changed; two versions go
to the Compare page; the first is restored as a new version; the scenario is moved to the bin
and restored from it. The store's files and its audit log are checked at each step, and the
history and the bin are photographed (FOOTPRINT_SCREENSHOTS, for docs/screenshots).

The tests run in file order as one story (select the module, not one test). Without
Chromium they fail where FOOTPRINT_REQUIRE_BROWSER is set (CI), as the other browser tests do.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from appserver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    AppDidNotStart,
    click_ccgs,
    save_drawing,
    serve_app,
)
from helpers import require_browser, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]

PLAN = "History plan"
WAIT = 90_000


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("history-scenarios")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, dataset, scenario_dir: Path):
    """The app as the README starts it: no secrets file, so no sign-in."""
    require_browser()
    folder = tmp_path_factory.mktemp("history-app")
    mp = pytest.MonkeyPatch()
    mp.setenv("STREAMLIT_SECRETS_FILES", str(folder / "no-secrets.toml"))
    try:
        with serve_app(scenario_dir=scenario_dir, log_path=folder / "app.log", timeout=90) as url:
            yield url
    except AppDidNotStart as exc:
        pytest.fail(str(exc))
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        pg.goto(app_url)
        yield pg
        ctx.close()
        browser.close()


def _store(scenario_dir: Path):
    from footprint import ScenarioStore

    return ScenarioStore(scenario_dir)


def _settled(pg) -> None:
    """Wait until the page has finished running (Streamlit's "Running..." sign is gone)."""
    pg.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=WAIT)


def _open(pg, page_title: str, *, shows: str) -> None:
    """Go to a page by its link in the sidebar, until it ``shows`` its text (a click while
    the page before is still running can be lost)."""
    for _attempt in range(3):
        _settled(pg)
        pg.get_by_role("link", name=page_title).first.click()
        try:
            pg.get_by_text(shows, exact=True).first.wait_for(timeout=30_000)
            return
        except Exception:
            continue
    pg.get_by_text(shows, exact=True).first.wait_for(timeout=WAIT)


def _selectbox(pg, label: str):
    return pg.get_by_role("combobox", name=label, exact=True).first


def _pick(pg, label: str, option: str) -> None:
    _selectbox(pg, label).click()
    pg.get_by_role("option", name=option).first.click()


def _cells(table) -> list[str]:
    """The header and cell texts of a table: Streamlit draws it on a canvas, and keeps its
    cells in an ARIA grid for screen readers, which is what is read here."""
    return table.locator("[role='columnheader'], [role='gridcell']").all_text_contents()


def _shown_time(stamp: str) -> str:
    """A time stamp as the app shows it (local time, to the minute)."""
    return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")


# --- the story ------------------------------------------------------------------------------


def test_history_two_saves_of_one_scenario(page, scenario_dir: Path) -> None:
    click_ccgs(page, 2, 0)
    save_drawing(page, PLAN, overwrite=False)
    page.get_by_text(re.compile(r"Saved scenario 'History plan'")).first.wait_for(timeout=WAIT)
    first = _store(scenario_dir).load(PLAN)
    assert (first.revision, first.created_by, len(first.assignment)) == (1, "local", 2)
    click_ccgs(page, 1, 2)  # the drawing was saved as the scenario: this changes it
    save_drawing(page, PLAN, overwrite=True)
    page.get_by_text(re.compile(r"Saved scenario 'History plan'")).nth(0).wait_for(timeout=WAIT)
    page.wait_for_function(
        "() => document.body.innerText.includes('3 of 211 CCGs assigned')", timeout=WAIT
    )
    store = _store(scenario_dir)
    for _ in range(100):  # the save runs in the app's process; wait for its file
        if store.load(PLAN).revision == 2:
            break
        page.wait_for_timeout(100)
    versions = store.history(PLAN)
    assert [v.revision for v in versions] == [1, 2]
    assert [len(v.assignment) for v in versions] == [2, 3]
    assert [e["event"] for e in store.log.read(scenario=PLAN)] == ["save", "save"]


def test_history_shows_both_versions_who_when_and_what_changed(page, scenario_dir: Path) -> None:
    _open(page, "Scenarios", shows="Saved scenarios")
    page.get_by_text("History", exact=True).first.wait_for(timeout=WAIT)
    _selectbox(page, "Version A").wait_for(timeout=WAIT)
    table = page.locator("[data-testid='stDataFrame']").nth(1)  # the list, then the history
    table.wait_for(timeout=WAIT)
    page.wait_for_timeout(1500)  # the canvas is drawn
    cells = _cells(table)
    header, rows = cells[:5], [cells[i : i + 5] for i in range(5, len(cells), 5)]
    assert header == ["revision", "saved", "by", "footprints", "what changed"], cells
    from footprint.history import version_rows

    saved = _store(scenario_dir).history(PLAN)
    expected = version_rows(saved, unit="CCG", units="CCGs")[::-1]  # newest first
    assert rows == [  # who saved each, when, how many footprints and what it changed
        [
            str(r["revision"]),
            _shown_time(r["saved"]),
            r["by"],
            str(r["footprints"]),
            r["what changed"],
        ]
        for r in expected
    ], cells
    assert [(r[0], r[2]) for r in rows] == [("2", "local"), ("1", "local")]
    # the CCG clicked in between (into the same footprint, or a new one the page offered)
    assert rows[0][4] in (
        "1 CCG newly assigned",
        "footprint 'Footprint 2' added; 1 CCG newly assigned",
    ), rows
    assert rows[1][4] == "first version"
    table.scroll_into_view_if_needed()
    history = page.locator("[data-testid='stVerticalBlock']").filter(
        has=page.get_by_text("History", exact=True)
    )
    screenshot(page, "history-versions.png", element=history.last)


def test_history_compare_two_versions_on_the_compare_page(page) -> None:
    _pick(page, "Version A", "revision 1 (")
    page.get_by_role("button", name="Compare A and B").click()
    page.get_by_text("Compare two plans").first.wait_for(timeout=WAIT)
    page.get_by_text(re.compile(f"^A: {PLAN} · revision 1 \\(")).first.wait_for(timeout=WAIT)
    page.get_by_text(re.compile(f"^B: {PLAN} · revision 2 \\(")).first.wait_for(timeout=WAIT)
    # revision 2 added a CCG to the footprint, and moved none
    page.get_by_text("CCGs that moved (0) and in a footprint in only one plan (1)").first.wait_for(
        timeout=WAIT
    )


def test_history_restore_the_first_version_as_a_new_one(page, scenario_dir: Path) -> None:
    _open(page, "Scenarios", shows="Saved scenarios")
    _selectbox(page, "Restore a version (saved as a new version; nothing is lost)").wait_for(
        timeout=WAIT
    )
    page.get_by_role("button", name="Restore it", exact=True).click()
    page.get_by_text("Restored revision 1 of 'History plan' as its newest version.").first.wait_for(
        timeout=WAIT
    )
    store = _store(scenario_dir)
    now, first = store.load(PLAN), store.version(PLAN, 1)
    assert now.revision == 3 and now.assignment == first.assignment
    assert [v.revision for v in store.history(PLAN)] == [1, 2, 3]  # nothing lost
    event = store.log.read(scenario=PLAN)[-1]
    assert (event["event"], event["restored_from"], event["revision"]) == ("restore", 1, 3)


def test_history_delete_to_the_bin_and_restore_from_it(page, scenario_dir: Path) -> None:
    page.get_by_text("Move it to the bin").first.click()
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_text("Moved scenario 'History plan' to the bin").first.wait_for(timeout=WAIT)
    store = _store(scenario_dir)
    assert not store.exists(PLAN)
    assert [(d.scenario.name, d.scenario.revision) for d in store.deleted()] == [(PLAN, 3)]
    restore = page.get_by_role("button", name="Restore it from the bin")
    restore.wait_for(timeout=WAIT)
    page.wait_for_timeout(1500)  # the bin's table is drawn
    bin_section = page.locator("[data-testid='stVerticalBlock']").filter(
        has=page.get_by_text("Bin", exact=True)
    )
    cells = _cells(bin_section.last.locator("[data-testid='stDataFrame']").last)
    assert cells[:5] == ["name", "owner", "deleted", "by", "revision"], cells
    assert cells[5:] == [PLAN, "local", _shown_time(store.deleted()[0].deleted), "local", "3"]
    screenshot(page, "history-bin.png", element=bin_section.last)
    restore.click()
    page.get_by_text("Restored scenario 'History plan' from the bin.").first.wait_for(timeout=WAIT)
    store = _store(scenario_dir)
    back = store.load(PLAN)
    assert back.revision == 4 and back.assignment == store.version(PLAN, 1).assignment
    assert store.deleted() == []
    assert [v.revision for v in store.history(PLAN)] == [1, 2, 3, 4]
    assert [e["event"] for e in store.log.read(scenario=PLAN)] == [
        "save",
        "save",
        "restore",
        "delete",
        "undelete",
    ]
