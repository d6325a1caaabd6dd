"""Sign-in on a team server, end to end: Debian's Chromium, the real app, a real OpenID Connect
provider on 127.0.0.1 (tests/oidc_server.py), Streamlit's own st.login.

The app reads its secrets from a file in a temporary folder (Streamlit's ``secrets.files``
option, through its STREAMLIT_SECRETS_FILES variable), so the repository's .streamlit holds
no secrets. Three planners sign in: alice creates a scenario; bob may not save over it,
rename it or delete it, copies it, saves his refused drawing as a copy, and opens it from its
read-only link. A browser that has not signed in sees only the sign-in page, whatever
address it opens; with anonymous viewing switched on it opens a link, and is offered the
sign-in rather than the planner. (History, restore and the bin are tested in Chromium without
sign-in in tests/test_history_browser.py, and through AppTest in
tests/test_scenario_history_app.py.)

The tests run in file order as one story (select the module, not one test). They are never
skipped for want of the provider: oidc-provider-mock is in requirements.txt. Without Chromium
they fail where FOOTPRINT_REQUIRE_BROWSER is set (CI), as the other browser tests do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from appserver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAP_FRAME,
    AppDidNotStart,
    click_ccgs,
    save_drawing,
    serve_app,
)
from helpers import require_browser, screenshot
from oidc_server import SECRETS_VARIABLE, free_port, oidc_provider, sign_in_as, write_secrets

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]

ALICE, BOB, CAROL = "alice@nhs.example", "bob@nhs.example", "carol@nhs.example"
PLAN = "Alice plan"
WAIT = 90_000


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("signin-scenarios")


@pytest.fixture(scope="module")
def team_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the app's secrets file and the logs are."""
    return tmp_path_factory.mktemp("signin")


@pytest.fixture(scope="module")
def team_app(team_folder: Path, dataset, scenario_dir: Path):
    """The provider, then the app on a team server (sign-in on, carol an admin)."""
    require_browser()
    folder = team_folder
    with oidc_provider(folder / "provider.log") as issuer:
        port = free_port()
        secrets = write_secrets(
            folder / "secrets.toml", issuer=issuer, app_port=port, admins=(CAROL,)
        )
        mp = pytest.MonkeyPatch()
        mp.setenv(SECRETS_VARIABLE, str(secrets))
        try:
            with serve_app(
                scenario_dir=scenario_dir, log_path=folder / "app.log", port=port, timeout=90
            ) as url:
                yield url
        except AppDidNotStart as exc:
            pytest.fail(str(exc))
        finally:
            mp.undo()


@pytest.fixture(scope="module")
def browser(team_app):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _context(browser):
    return browser.new_context(viewport={"width": 1400, "height": 1000})


@pytest.fixture(scope="module")
def alice(browser, team_app):
    ctx = _context(browser)
    yield _signed_in(ctx.new_page(), team_app, ALICE)
    ctx.close()


@pytest.fixture(scope="module")
def bob(browser, team_app):
    ctx = _context(browser)
    yield _signed_in(ctx.new_page(), team_app, BOB)
    ctx.close()


def _shown(text: str) -> re.Pattern[str]:
    """``text`` as the app shows it: names pass through its Markdown escaping, which puts an
    invisible word joiner before an "@" so that an address never becomes a link."""
    return re.compile(re.escape(text).replace("@", "\u2060?@"))


def _signed_in(pg, url: str, who: str):
    pg.goto(url)
    pg.get_by_role("button", name="Sign in").click(timeout=WAIT)
    sign_in_as(pg, who)
    pg.get_by_text(_shown(f"Signed in as {who}")).first.wait_for(timeout=WAIT)
    return pg


def _on_disk(scenario_dir: Path, name: str) -> dict:
    from footprint.scenarios import file_name_for

    return json.loads((scenario_dir / file_name_for(name)).read_text(encoding="utf-8"))


#: A text each page opened by its link shows once it has run.
_SHOWS = {"Scenarios": "Saved scenarios", "Map and drawing": "Save the drawing as a scenario"}


def _open(pg, page_title: str) -> None:
    """Go to a page by its sidebar link, again if the click is lost to a running page."""
    shows = pg.get_by_text(_SHOWS[page_title], exact=True).first
    for _attempt in range(3):
        pg.get_by_role("link", name=page_title).first.click()
        try:
            shows.wait_for(timeout=30_000)
            return
        except Exception:
            continue
    shows.wait_for(timeout=WAIT)


# --- the story ------------------------------------------------------------------------------


def test_signin_an_unsigned_browser_sees_only_the_sign_in_page(browser, team_app) -> None:
    ctx = _context(browser)
    pg = ctx.new_page()
    for address in ("", "/scenarios", "/optimise", "/import-export"):
        pg.goto(team_app + address)
        pg.get_by_role("button", name="Sign in").wait_for(timeout=WAIT)
        assert pg.get_by_text("sign in with your organisation's account").first.is_visible()
        assert pg.locator(MAP_FRAME).count() == 0  # no map, no pages, no uploads
        assert pg.get_by_role("link", name="Scenarios").count() == 0
        assert pg.locator('input[type="file"]').count() == 0
    screenshot(pg, "signin-page.png")
    ctx.close()


def test_signin_alice_saves_a_scenario(alice, scenario_dir: Path) -> None:
    click_ccgs(alice, 1, 0)
    save_drawing(alice, PLAN, overwrite=False)
    alice.get_by_text(re.compile(r"Saved scenario 'Alice plan'")).first.wait_for(timeout=WAIT)
    body = _on_disk(scenario_dir, PLAN)
    assert (body["revision"], body["created_by"], body["updated_by"]) == (1, ALICE, ALICE)
    assert len(body["assignment"]) == 1


def test_signin_bob_cannot_change_alices_scenario_but_copies_it(bob, scenario_dir: Path) -> None:
    _open(bob, "Scenarios")
    bob.get_by_text(_shown(f"'Alice plan' belongs to {ALICE}")).first.wait_for(timeout=WAIT)
    assert bob.get_by_role("button", name="Rename").is_disabled()
    assert bob.get_by_role("button", name="Delete").is_disabled()
    bob.get_by_role("button", name="Save a copy").click()
    bob.get_by_text(re.compile(r"Saved scenario 'Alice plan \(copy\)'")).first.wait_for(
        timeout=WAIT
    )
    copy = _on_disk(scenario_dir, "Alice plan (copy)")
    assert (copy["created_by"], copy["assignment"]) == (
        BOB,
        _on_disk(scenario_dir, PLAN)["assignment"],
    )


def test_signin_bob_saving_over_alices_scenario_is_refused_with_a_copy_offered(
    bob, scenario_dir: Path
) -> None:
    # from the Scenarios page with alice's scenario chosen (not whatever the test before
    # left chosen: a copy saved there may have become the choice)
    _open(bob, "Scenarios")
    bob.get_by_role("combobox", name="Scenario", exact=True).first.click()
    bob.get_by_role("option", name=PLAN, exact=True).click()
    bob.get_by_text(_shown(f"'Alice plan' belongs to {ALICE}")).first.wait_for(timeout=WAIT)
    load = bob.get_by_role("button", name="Load into the drawing")
    load.wait_for(timeout=WAIT)
    # whether bob still holds a drawing depends on which tests ran before (and on reruns):
    # with one, loading asks to confirm replacing it
    if bob.get_by_text("Replace my drawing with it").count():
        bob.get_by_text("Replace my drawing with it").click()
    load.click(timeout=WAIT)
    _open(bob, "Map and drawing")
    bob.get_by_text("1 of 211 CCGs assigned").first.wait_for(timeout=WAIT)
    save_drawing(bob, PLAN, overwrite=True)
    bob.get_by_text(
        _shown(f"may not save over it: scenario 'Alice plan' belongs to {ALICE}")
    ).first.wait_for(timeout=WAIT)
    bob.get_by_text("which belongs to someone else").first.wait_for(timeout=WAIT)
    bob.get_by_role("button", name="Save as a copy").click()
    bob.get_by_text(re.compile(r"Saved scenario 'Alice plan \(copy 2\)'")).first.wait_for(
        timeout=WAIT
    )
    body = _on_disk(scenario_dir, PLAN)
    assert (body["revision"], body["updated_by"]) == (1, ALICE)  # alice's is untouched
    assert _on_disk(scenario_dir, "Alice plan (copy 2)")["created_by"] == BOB


def test_signin_bob_opens_alices_scenario_from_its_read_only_link(
    bob, team_app, scenario_dir: Path
) -> None:
    from footprint import ScenarioStore

    ident = ScenarioStore(scenario_dir).id_for(PLAN)
    _open(bob, "Scenarios")
    bob.get_by_text(f"?scenario={ident}").first.wait_for(timeout=WAIT)  # the link offered
    bob.goto(f"{team_app}/?scenario={ident}")
    bob.get_by_text("Read-only view: nothing here can be changed").first.wait_for(timeout=WAIT)
    bob.get_by_text(_shown(f"Owner: {ALICE}")).first.wait_for(timeout=WAIT)
    bob.frame_locator(MAP_FRAME).first.locator(".leaflet-overlay-pane path").nth(210).wait_for(
        timeout=WAIT
    )
    bob.get_by_role("button", name="Download the report (HTML)").wait_for(timeout=WAIT)
    assert bob.get_by_text("registered patients (QOF 2013/14 list sizes)").first.is_visible()
    # no editing: no save form, no page links, no optimiser or uploads
    assert bob.get_by_text("Save the drawing as a scenario").count() == 0
    assert bob.get_by_role("link", name="Optimise").count() == 0
    assert bob.get_by_role("link", name="Open the planner").count() == 1  # his way back
    bob.wait_for_timeout(1500)
    screenshot(bob, "signin-read-only-view.png")
    with bob.expect_download() as got:
        bob.get_by_role("button", name="Download the report (HTML)").click()
    assert b"Alice plan" in Path(got.value.path()).read_bytes()
    bob.goto(f"{team_app}/?scenario=..%2F..%2Fetc%2Fpasswd")
    bob.get_by_text(
        re.compile("This link does not open a scenario: .* is not a scenario id")
    ).first.wait_for(timeout=WAIT)


def test_signin_anyone_with_a_link_views_it_and_is_offered_sign_in_not_the_planner(
    browser, team_app, team_folder: Path, scenario_dir: Path
) -> None:
    """With anonymous viewing switched on (the file is read on each run), a browser that
    has not signed in opens the link; the planner's pages would only show it the sign-in
    page, so it is offered the sign-in, which leads into the planner."""
    from footprint import ScenarioStore

    ident = ScenarioStore(scenario_dir).id_for(PLAN)
    secrets = team_folder / "secrets.toml"
    closed = secrets.read_text(encoding="utf-8")
    assert "anonymous_view = false" in closed
    secrets.write_text(closed.replace("anonymous_view = false", "anonymous_view = true"))
    ctx = _context(browser)
    pg = ctx.new_page()
    try:
        pg.goto(f"{team_app}/?scenario={ident}")
        pg.get_by_text("Read-only view: nothing here can be changed").first.wait_for(timeout=WAIT)
        pg.frame_locator(MAP_FRAME).first.locator(".leaflet-overlay-pane path").nth(210).wait_for(
            timeout=WAIT
        )
        way_in = pg.get_by_role("button", name="Sign in to open the planner")
        way_in.wait_for(timeout=WAIT)
        assert pg.get_by_role("link", name="Open the planner").count() == 0
        assert pg.get_by_role("link", name="Scenarios").count() == 0
        pg.wait_for_timeout(1500)
        way_in.scroll_into_view_if_needed()
        screenshot(pg, "history-link-anonymous.png")
        way_in.click()
        sign_in_as(pg, CAROL)
        pg.get_by_text(_shown(f"Signed in as {CAROL}")).first.wait_for(timeout=WAIT)
    finally:
        secrets.write_text(closed, encoding="utf-8")
        ctx.close()
