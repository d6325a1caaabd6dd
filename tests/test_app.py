"""The Streamlit app driven in-process with ``streamlit.testing.v1.AppTest``.

Each test walks a planner's flow through the real ``app.py`` on the real England
2013 data and asserts that no exception reached the page. A map click is
emulated exactly as the browser reports it: the value streamlit-folium's frontend
would send for the map component (the clicked feature with its ``code``
property) goes in as that component's widget state, so the app's own
``on_change`` callback, :func:`app_pages.clicks.clicked_unit` and the assignment all
run. Scenarios go to a temporary folder through ``FOOTPRINT_SCENARIO_DIR``.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 300  # the first run loads the data; an optimiser run may take a minute
MAP_COMPONENT = "streamlit_folium.st_folium"
AIREDALE = "E38000001"  # NHS Airedale, Wharfedale and Craven, 156,676 registered patients
BRADFORD_CITY = "E38000015"

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


# --- helpers -------------------------------------------------------------------------------------


def _walk(node) -> Iterator:
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _walk(child)


def map_components(at: AppTest) -> list:
    """The streamlit-folium map components on the page (AppTest shows them as unknown)."""
    return [
        n
        for n in _walk(at._tree)
        if type(n).__name__ == "UnknownElement"
        and n.type == "component_instance"
        and n.proto.component_name == MAP_COMPONENT
    ]


def click_ccg(at: AppTest, code: str, *, count: int = 1) -> AppTest:
    """Rerun the app as if the planner had clicked the CCG ``code`` on the map.

    streamlit-folium's frontend reports a click on a GeoJSON feature as
    ``last_active_drawing`` (the feature, whose ``code`` property footprint.map
    sets) and a growing ``last_object_clicked_count``; that value becomes the
    component's widget state, which fires the app's ``on_change`` callback.
    """
    (component,) = map_components(at)
    value = {
        "last_active_drawing": {"type": "Feature", "properties": {"code": code}},
        "last_object_clicked_count": count,
    }
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=component.proto.id, json_value=json.dumps(value)))
    return at._run(states)


def as_read(markdown: str) -> str:
    """What a planner reads: the app escapes Markdown in names and messages (``\\.``) and
    keeps addresses from becoming links with an invisible word joiner (U+2060)."""
    markdown = markdown.replace("\u2060", "")
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>~$:&])", r"\1", markdown)


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "success", "info", "warning", "error", "subheader"):
        parts += [as_read(str(e.value)) for e in getattr(at, kind)]
    return "\n".join(parts)


def errors(at: AppTest) -> list[str]:
    return [as_read(str(e.value)) for e in at.error]


def markdown_bodies(at: AppTest) -> list[str]:
    """Every text on the page that Streamlit renders as Markdown: bodies of text and message
    elements, widget labels and tooltips, metric labels, expander and status labels."""
    found = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        for field in ("body", "label", "help"):
            try:
                value = getattr(proto, field)
            except AttributeError:
                continue
            if isinstance(value, str) and value:
                found.append(value)
    return found


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found[0]


def by_label(widgets, label: str):
    found = [w for w in widgets if w.label == label]
    assert found, f"no widget {label!r}; found: {[w.label for w in widgets]}"
    return found[0]


#: Each page's title -> its module, as st.navigation registers it.
PAGES = {
    "Map and drawing": "app_pages/draw.py",
    "Optimise": "app_pages/optimise.py",
    "Scenarios": "app_pages/scenarios.py",
    "Compare": "app_pages/compare.py",
    "Import and export": "app_pages/import_export.py",
    "Your own boundaries": "app_pages/own_geography.py",
    "Help": "app_pages/help.py",
}


def optimised(at: AppTest, *, timeout: float = 300) -> AppTest:
    """Click Run and wait for the run in the background to end and its result to show."""
    button(at, "Run the optimiser").click().run(timeout=timeout)
    give_up = time.monotonic() + timeout
    while any(b.key == "cancel_run" for b in at.button):  # the run's progress is drawn
        assert time.monotonic() < give_up, "the run did not end in time"
        time.sleep(0.2)
        at.run(timeout=timeout)
    return at


def go(at: AppTest, view: str) -> AppTest:
    """Open the page called ``view`` (as its link in the sidebar does)."""
    at.switch_page(PAGES[view])
    return at.run()


def drawing_of(at: AppTest):
    """The drawing of the geography planned on now (a footprint.drawing.Drawing)."""
    from footprint import Drawing

    return at.session_state["drawings"].get(at.session_state["geo"]) or Drawing()


def target_box(at: AppTest):
    """The picker of where a click puts a CCG (its key changes when the app sets it)."""
    return by_label(at.selectbox, "Clicking a CCG puts it in")


def plan_of(at: AppTest) -> dict[str, str]:
    return dict(drawing_of(at).assignment)


def set_plan(at: AppTest, plan: dict[str, str]) -> None:
    from footprint import Drawing

    at.session_state["drawings"] = {
        **at.session_state["drawings"],
        at.session_state["geo"]: Drawing.from_plan(plan),
    }


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def new_app() -> AppTest:
    return ok(AppTest.from_file(APP, default_timeout=TIMEOUT).run())


@pytest.fixture
def scenario_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "scenarios"
    monkeypatch.setenv("FOOTPRINT_SCENARIO_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def drawing_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Drawings are kept in a temporary folder, never in the working tree's ./drawings."""
    folder = tmp_path / "drawings"
    monkeypatch.setenv("FOOTPRINT_DRAWING_DIR", str(folder))
    return folder


@pytest.fixture
def app(dataset, scenario_dir) -> AppTest:  # dataset: the data is loaded (and cached) once
    return new_app()


# --- first page ----------------------------------------------------------------------------------


def test_first_page_shows_the_map_what_population_counts_and_the_licence(app: AppTest) -> None:
    page = texts(app)
    assert "registered patients" in page
    assert "Open Government Licence v3.0" in page
    assert "211 CCGs, 56,324,887 registered patients" in page
    assert "0 footprints" in page and "211 unassigned" in page
    assert not errors(app)
    (component,) = map_components(app)
    args = component.proto.json_args
    assert "leaflet.js" in args and "cdn" not in args.lower()
    # every CCG goes to the browser, unassigned
    assert args.count('\\"footprint\\":\\"\\"') == 211


# --- drawing -------------------------------------------------------------------------------------


def test_a_map_click_puts_the_ccg_in_a_footprint_and_the_table_follows(app: AppTest) -> None:
    ok(click_ccg(app, AIREDALE))
    assert plan_of(app) == {AIREDALE: "Footprint 1"}
    page = texts(app)
    assert "Put NHS Airedale, Wharfedale and Craven in 'Footprint 1'." in page
    assert "1 footprint**, 1 of 211 CCGs assigned" in page
    table = app.dataframe[0].value
    assert list(table["footprint"]) == ["Footprint 1"]
    assert int(table["population"].iloc[0]) == 156_676
    assert not bool(table["meets_floor"].iloc[0])
    assert table["las"].iloc[0] == "Bradford; North Yorkshire"  # LAs by name, not code
    # the broken rule is spelt out under the table, in plain words
    assert any(e.label == "1 rule broken" for e in app.expander)
    assert (
        "**Footprint 1** has 156,676 registered patients, below the floor of 300,000 "
        "(143,324 short)" in page
    )
    assert "Not finished: 210 CCGs not yet in a footprint" in page
    # the map now colours it as a footprint
    (component,) = map_components(app)
    assert '\\"footprint\\":\\"Footprint 1\\"' in component.proto.json_args

    # a second click, on another CCG, goes to the same (current) footprint
    ok(click_ccg(app, BRADFORD_CITY, count=2))
    assert plan_of(app) == {AIREDALE: "Footprint 1", BRADFORD_CITY: "Footprint 1"}
    assert int(app.dataframe[0].value["population"].iloc[0]) > 156_676


def test_a_click_outside_any_ccg_changes_nothing(app: AppTest) -> None:
    (component,) = map_components(app)
    states = app._tree.get_widget_states()
    states.widgets.append(
        WidgetState(
            id=component.proto.id,
            json_value=json.dumps({"last_active_drawing": None, "last_object_clicked_count": 1}),
        )
    )
    ok(app._run(states))
    assert plan_of(app) == {}
    assert not errors(app)


def test_search_assigns_too(app: AppTest) -> None:
    app.selectbox(key="pick").set_value(AIREDALE)
    ok(app.run())
    ok(button(app, "Put in").click().run())
    assert plan_of(app) == {AIREDALE: "Footprint 1"}


def test_undo_and_redo(app: AppTest) -> None:
    ok(click_ccg(app, AIREDALE))
    ok(click_ccg(app, BRADFORD_CITY, count=2))
    assert len(plan_of(app)) == 2
    ok(button(app, "↶ Undo").click().run())
    assert plan_of(app) == {AIREDALE: "Footprint 1"}
    ok(button(app, "↶ Undo").click().run())
    assert plan_of(app) == {}
    assert button(app, "↶ Undo").disabled
    assert "No footprints yet" in texts(app)
    ok(button(app, "↷ Redo").click().run())
    ok(button(app, "↷ Redo").click().run())
    assert len(plan_of(app)) == 2
    assert button(app, "↷ Redo").disabled


def test_clear_the_drawing_and_undo_it(app: AppTest) -> None:
    ok(click_ccg(app, AIREDALE))
    by_label(app.checkbox, "Yes, clear every footprint (undo can bring it back)").check()
    ok(app.run())
    ok(button(app, "Clear").click().run())
    assert plan_of(app) == {}
    assert "Cleared the drawing" in texts(app)
    ok(button(app, "↶ Undo").click().run())
    assert plan_of(app) == {AIREDALE: "Footprint 1"}


def test_a_locked_footprint_refuses_clicks(app: AppTest) -> None:
    ok(click_ccg(app, AIREDALE))
    ok(app.button(key="lock_target").click().run())
    assert drawing_of(app).locked == {"Footprint 1"}
    target_box(app).set_value(("out", ""))
    ok(app.run())
    ok(click_ccg(app, AIREDALE, count=2))
    assert plan_of(app) == {AIREDALE: "Footprint 1"}
    assert "locked footprint 'Footprint 1'; unlock it first" in texts(app)


# --- scenarios -----------------------------------------------------------------------------------


def test_save_a_scenario_and_load_it_after_a_restart(app: AppTest, scenario_dir: Path) -> None:
    ok(click_ccg(app, AIREDALE))
    ok(click_ccg(app, BRADFORD_CITY, count=2))
    by_label(app.text_input, "Scenario name").input("West Yorkshire option A")
    by_label(app.text_area, "Notes").input("two CCGs, below the floor")
    ok(button(app, "Save scenario").click().run())
    assert "Saved scenario 'West Yorkshire option A'" in texts(app)
    files = list(scenario_dir.glob("*.json"))
    assert len(files) == 1
    saved = json.loads(files[0].read_text(encoding="utf-8"))
    assert saved["assignment"] == {AIREDALE: "Footprint 1", BRADFORD_CITY: "Footprint 1"}

    fresh = new_app()  # a restart: a new session, nothing in memory
    assert plan_of(fresh) == {}
    ok(go(fresh, "Scenarios"))
    assert "West Yorkshire option A" in list(fresh.dataframe[0].value["name"])
    fresh.selectbox(key="scenario_pick").set_value("West Yorkshire option A")
    ok(button(fresh, "Load into the drawing").click().run())
    assert plan_of(fresh) == {AIREDALE: "Footprint 1", BRADFORD_CITY: "Footprint 1"}
    assert "Loaded scenario 'West Yorkshire option A' into the drawing" in texts(fresh)


def test_saving_without_a_name_says_why_and_keeps_the_drawing(
    app: AppTest, scenario_dir: Path
) -> None:
    ok(click_ccg(app, AIREDALE))
    ok(button(app, "Save scenario").click().run())
    assert any("Could not save the scenario" in e for e in errors(app))
    assert plan_of(app) == {AIREDALE: "Footprint 1"}
    assert not list(scenario_dir.glob("*.json"))


def test_compare_the_drawing_with_the_area_teams(app: AppTest) -> None:
    ok(click_ccg(app, AIREDALE))
    ok(go(app, "Compare"))
    app.selectbox(key="cmp_a").set_value(("drawing", ""))
    app.selectbox(key="cmp_b").set_value(("reference", "area_team_code"))
    ok(app.run())
    labels = [m.label for m in app.metric]
    assert labels == [
        "Registered patients kept together",
        "CCGs that moved",
        "Registered patients in moved CCGs",
    ]
    assert [m.value for m in app.metric][1].endswith(" of 211")  # out of every CCG
    assert len(map_components(app)) == 2  # A and B side by side
    flows = app.dataframe[0].value
    assert "NHS Area Teams" not in " ".join(map(str, flows["footprint_b"]))
    assert not any(str(f).startswith("E39") for f in flows["footprint_b"])  # by name
    # one number for "moved": the map's caption says what the metric says
    moved = by_label(app.metric, "CCGs that moved").value.split(" of ")[0]
    assert f"Each plan coloured by its own footprints; the {moved} CCGs that moved" in texts(app)


# --- import errors -------------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_a_plan_csv_with_the_wrong_columns_is_refused_clearly(app: AppTest) -> None:
    ok(click_ccg(app, AIREDALE))
    ok(go(app, "Import and export"))
    app.file_uploader(key="plan_csv").set_value(
        ("plan.csv", b"code,name\nE38000001,North\n", "text/csv")
    )
    ok(app.run())
    (message,) = [e for e in errors(app) if "plan.csv" in e]
    assert "unit_code" in message and "footprint" in message
    assert plan_of(app) == {AIREDALE: "Footprint 1"}  # the drawing is untouched


def test_a_plan_csv_with_unknown_codes_lists_them_and_loads_the_rest(app: AppTest) -> None:
    ok(go(app, "Import and export"))
    csv = b"unit_code,footprint\nE38000001,North\n02N,North\nNOPE1,South\n"
    app.file_uploader(key="plan_csv").set_value(("mine.csv", csv, "text/csv"))
    ok(app.run())
    assert any("NOPE1" in e for e in errors(app))
    app.checkbox(key="confirm_import").check()
    ok(app.run())
    ok(button(app, "Load the imported plan").click().run())
    assert plan_of(app) == {AIREDALE: "North"}


def test_a_zip_that_climbs_out_of_its_folder_is_refused(app: AppTest) -> None:
    ok(go(app, "Your own boundaries"))
    evil = _zip({"../evil.txt": b"gotcha", "ccgs.geojson": b"{}"})
    app.file_uploader(key="own_boundaries").set_value(("ccgs.zip", evil, "application/zip"))
    ok(app.run())
    (message,) = [e for e in errors(app) if "ccgs.zip" in e]
    assert "../evil.txt" in message and "refused" in message
    assert not (Path(tempfile.gettempdir()) / "evil.txt").exists()
    assert app.session_state["custom_dataset"] is None


def test_a_file_that_is_not_geometry_is_refused(app: AppTest) -> None:
    ok(go(app, "Your own boundaries"))
    app.file_uploader(key="own_boundaries").set_value(
        ("boundaries.geojson", b"name,population\nA,100\n", "application/geo+json")
    )
    ok(app.run())
    (message,) = [e for e in errors(app) if "boundaries.geojson" in e]
    assert "boundar" in message
    assert "Traceback" not in texts(app)


def test_a_png_posing_as_a_geopackage_is_refused(app: AppTest) -> None:
    ok(go(app, "Your own boundaries"))
    app.file_uploader(key="own_boundaries").set_value(
        ("areas.gpkg", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "application/octet-stream")
    )
    ok(app.run())
    assert any("areas.gpkg" in e for e in errors(app))


def test_own_boundaries_and_populations_replace_the_ccgs(app: AppTest, tmp_path: Path) -> None:
    from helpers import grid_units

    grid = grid_units(2, 3)
    grid["geometry"] = grid.translate(400_000, 280_000)  # the Midlands, in metres
    boundaries = tmp_path / "areas.geojson"
    grid.to_crs(4326).to_file(boundaries, driver="GeoJSON")
    people = "code,population\n" + "".join(
        f"{c},{150_000 + i}\n" for i, c in enumerate(grid["code"])
    )
    ok(click_ccg(app, AIREDALE))
    ok(go(app, "Your own boundaries"))
    app.file_uploader(key="own_boundaries").set_value(
        ("areas.geojson", boundaries.read_bytes(), "application/geo+json")
    )
    app.file_uploader(key="own_population").set_value(("people.csv", people.encode(), "text/csv"))
    ok(app.run())
    assert not errors(app), errors(app)
    by_label(app.text_input, "What the population counts").input("residents")
    ok(button(app, "Use these files").click().run())
    assert not errors(app), errors(app)
    assert app.session_state["custom_dataset"] is not None
    assert plan_of(app) == {}  # a new geography starts a new drawing...
    ok(go(app, "Map and drawing"))
    assert "6 unassigned" in texts(app)
    ok(click_ccg(app, "r0c0"))
    assert plan_of(app) == {"r0c0": "Footprint 1"}
    assert "residents" in texts(app)
    ok(button(app, "↶ Undo").click().run())  # undo stays within this geography
    assert plan_of(app) == {}
    assert button(app, "↶ Undo").disabled
    # ...and going back to the CCGs brings their drawing back
    ok(go(app, "Your own boundaries"))
    ok(button(app, "Go back to the England 2013 CCGs (and the drawing made on them)").click().run())
    assert app.session_state["custom_dataset"] is None
    assert plan_of(app) == {AIREDALE: "Footprint 1"}
    ok(go(app, "Map and drawing"))
    assert "210 unassigned" in texts(app)


# --- optimiser -----------------------------------------------------------------------------------


def test_constraints_that_contradict_are_explained(app: AppTest) -> None:
    ok(go(app, "Optimise"))
    by_label(
        app.number_input, "Ceiling: at most this many registered patients (0 = none)"
    ).set_value(100_000)
    ok(optimised(app))
    (message,) = [e for e in errors(app) if "constraints are not usable" in e]
    assert "below min_population 300,000" in message


def test_an_infeasible_run_says_each_reason_in_a_line_with_a_button_that_applies_it(
    app: AppTest,
) -> None:
    ok(go(app, "Optimise"))
    ceiling = "Ceiling: at most this many registered patients (0 = none)"
    by_label(app.number_input, ceiling).set_value(1_000_000)
    ok(optimised(app))
    assert any(e.startswith("Infeasible: no plan can meet every rule, for ") for e in errors(app))
    kent = (
        "Kent (1,514,902 registered patients) cannot stay whole under a ceiling of "
        "1,000,000: raise the ceiling to at least 1,514,902 or switch the LA rule off"
    )
    assert kent in texts(app)
    assert "Details: each check's full explanation" in [e.label for e in app.expander]
    ok(button(app, "Raise the ceiling to 1,514,902").click().run())
    assert by_label(app.number_input, ceiling).value == 1_514_902
    assert "Raise the ceiling to 1,514,902: done. Run the optimiser again to try it." in texts(app)
    ok(button(app, "Switch the LA rule off").click().run())
    assert by_label(app.selectbox, "LA rule").value == "off"


def test_runs_beyond_the_servers_solvers_wait_and_then_say_so(app: AppTest, monkeypatch) -> None:
    # five planners solving at once on 2 cores each got a fraction of a core (a 10 s limit
    # ended after 27 s); runs beyond the server's solver slots now wait their turn
    from app_pages.shared import solver_slots

    monkeypatch.setenv("FOOTPRINT_SOLVER_WAIT", "0.2")
    ok(go(app, "Optimise"))
    slots = solver_slots()
    held = 0
    while slots.acquire(blocking=False):
        held += 1
    try:
        ok(optimised(app, timeout=60))
        shown = errors(app)
        assert any("No solver came free in 0.2 s" in e and "nothing was run" in e for e in shown)
        assert app.session_state["last_result"] is None
    finally:
        for _ in range(held):
            slots.release()
    assert held >= 1


def test_every_mistake_in_the_rule_boxes_is_listed_by_line_and_the_text_is_kept(
    app: AppTest,
) -> None:
    ok(go(app, "Optimise"))
    boxes = {
        "Keep together (one group per line)": f"{AIREDALE}, E99999999\nNHS Kernow",
        "Keep apart (one pair per line)": "E38000001 E38000002 E38000003",
        "Fixed CCGs (one per line: CCG, footprint name)": AIREDALE,
    }
    for label, text in boxes.items():
        by_label(app.text_area, label).input(text)
    ok(optimised(app))
    (message,) = errors(app)
    assert message.startswith("The constraints are not usable:\n")
    assert message.count("The constraints are not usable") == 1
    for line in [
        "Keep together, line 1: 'E99999999' is not a CCG's code or name",
        "Keep together, line 2: got 1 CCG; a group needs two or more",
        "Keep apart, line 1: got 3 CCG(s); expected exactly two",
        f"Fixed CCGs, line 1: got '{AIREDALE}'; expected a CCG and a footprint name",
    ]:
        assert line in message, message
    assert app.session_state["last_result"] is None
    for label, text in boxes.items():
        assert by_label(app.text_area, label).value == text


def test_rule_boxes_take_names_with_commas_nhs_codes_and_codes_split_by_spaces(
    app: AppTest,
) -> None:
    ok(go(app, "Optimise"))
    by_label(app.text_area, "Keep apart (one pair per line)").input(
        "nhs kernow, NHS North, East, West Devon"
    )
    by_label(app.text_area, "Fixed CCGs (one per line: CCG, footprint name)").input(
        "99q, South West"
    )
    by_label(app.text_area, "Keep together (one group per line)").input(
        f"{AIREDALE} {BRADFORD_CITY}"
    )
    by_label(app.number_input, "Time limit (s)").set_value(20.0)
    ok(optimised(app))
    assert not errors(app), errors(app)
    result = app.session_state["last_result"]
    sent = json.loads(result["reproduce"]["constraints"])
    assert sent["keep_apart"] == [["E38000089", "E38000129"]]
    assert sent["fixed"] == {"E38000152": "South West"}
    assert sent["keep_together"] == [sorted([AIREDALE, BRADFORD_CITY])]
    plan = result["assignment"]
    assert plan["E38000089"] != plan["E38000129"]
    assert plan[AIREDALE] == plan[BRADFORD_CITY]


def test_fewest_changes_with_an_empty_drawing_says_what_to_do(app: AppTest) -> None:
    ok(go(app, "Optimise"))
    by_label(app.selectbox, "Objective").set_value("fewest-changes")
    ok(optimised(app))
    (message,) = errors(app)
    assert "fewest-changes repairs the drawing, and the drawing is empty" in message
    assert app.session_state["last_result"] is None


def test_exporting_an_empty_drawing_says_so(app: AppTest) -> None:
    ok(go(app, "Import and export"))
    assert any(
        as_read(i.value).startswith("Current drawing has no footprints yet") for i in app.info
    )


def test_a_balanced_run_says_what_its_gap_measures(app: AppTest) -> None:
    # a spread has no proven lower bound here, so the page must not call it "within x% of
    # the best possible"; it says how far apart the populations are and what is not known
    ok(go(app, "Optimise"))
    by_label(app.selectbox, "Objective").set_value("balanced")
    by_label(app.radio, "Number of footprints").set_value("exactly")
    by_label(app.number_input, "n (or lowest)").set_value(25)
    by_label(app.number_input, "Time limit (s)").set_value(8.0)
    ok(optimised(app, timeout=120))
    result = app.session_state["last_result"]
    assert result["status"] == "feasible" and result["footprints"] == 25, texts(app)
    (sentence,) = [as_read(w.value) for w in app.warning if as_read(w.value).startswith("Feasible")]
    spread = f"{result['objective_value']:,.0f}"
    assert sentence.startswith(f"Feasible: 25 footprints, populations at most {spread} apart")
    assert "of the mean footprint" in sentence and "best possible" not in sentence
    assert "No lower bound on the spread was proven" in sentence


def test_a_repair_says_how_many_ccgs_it_moves_and_the_fewest_possible(
    app: AppTest, dataset
) -> None:
    # the Area Teams as the drawing, under a ceiling of 3.5 million: London's largest Area
    # Team must split, so CCGs move; the sentence gives the count and the proven least
    from footprint import reference_plan

    ok(go(app, "Optimise"))
    set_plan(app, reference_plan(dataset.geography, "area_team_code"))
    by_label(app.selectbox, "Objective").set_value("fewest-changes")
    by_label(
        app.number_input, "Ceiling: at most this many registered patients (0 = none)"
    ).set_value(3_500_000)
    # no "Start from": fewest-changes always starts from the drawing
    by_label(app.number_input, "Time limit (s)").set_value(10.0)
    ok(optimised(app, timeout=120))
    result = app.session_state["last_result"]
    assert result["status"] == "feasible", texts(app)
    moved, least = result["objective_value"], result["bound"]
    assert 0 < least < moved
    (sentence,) = [as_read(w.value) for w in app.warning if as_read(w.value).startswith("Feasible")]
    assert sentence == (
        f"Feasible: {result['footprints']} footprints, moving {moved:,.0f} CCGs "
        "from their footprint in the drawing; any plan that meets every rule "
        f"moves at least {least:,.0f}."
    )


def test_the_result_map_outlines_footprints_by_the_runs_own_floor(app: AppTest) -> None:
    # one floor for the app: the run plans with the sidebar's 1,000,000; when the floor is
    # set back to 300,000 afterwards, the result's map, like its table, still judges its
    # footprints by the floor it was planned with
    ok(go(app, "Optimise"))
    by_label(app.number_input, "Population floor (registered patients)").set_value(1_000_000)
    ok(app.run())
    by_label(app.number_input, "Time limit (s)").set_value(5.0)
    ok(optimised(app, timeout=120))
    assert app.session_state["last_result"]["footprints"], texts(app)
    assert app.session_state["last_result"]["floor"] == 1_000_000
    by_label(app.number_input, "Population floor (registered patients)").set_value(300_000)
    ok(app.run())
    (result_map,) = map_components(app)
    assert "footprint below 1,000,000" in result_map.proto.json_args
    assert "footprint below 300,000" not in result_map.proto.json_args
    assert app.session_state["floor"] == 300_000


def test_one_floor_for_the_whole_app(app: AppTest) -> None:
    # the Optimise form once had a floor of its own: a 500,000 plan was checked on the
    # drawing page against the sidebar's 300,000
    ok(go(app, "Optimise"))
    assert not [n for n in app.number_input if n.label.startswith("Floor")]
    by_label(app.number_input, "Population floor (registered patients)").set_value(500_000)
    ok(app.run())
    assert "Floor: at least **500,000 registered patients** per footprint" in texts(app)
    by_label(app.number_input, "Time limit (s)").set_value(5.0)
    ok(optimised(app, timeout=120))
    sent = json.loads(app.session_state["last_result"]["reproduce"]["constraints"])
    assert sent["min_population"] == 500_000
    ok(go(app, "Map and drawing"))
    ok(click_ccg(app, AIREDALE))
    assert "below the floor of 500,000" in texts(app)


def test_optimise_max_footprints_at_300000(app: AppTest, scenario_dir: Path) -> None:
    ok(go(app, "Optimise"))
    by_label(app.text_input, "Name of the new scenario").input("Max at 300k")
    ok(optimised(app))
    result = app.session_state["last_result"]
    assert result is not None, texts(app)
    assert result["status"] in ("optimal", "feasible"), texts(app)
    verdicts = [as_read(m.value) for m in [*app.success, *app.warning]]
    assert any(v.startswith(("Proven best (optimal)", "Feasible, within")) for v in verdicts)
    assert f"{result['footprints']} footprints" in "\n".join(verdicts)
    # saved as a new scenario; every CCG assigned; the drawing was not replaced
    files = list(scenario_dir.glob("*.json"))
    assert len(files) == 1
    saved = json.loads(files[0].read_text(encoding="utf-8"))
    assert saved["name"] == "Max at 300k" and len(saved["assignment"]) == 211
    assert plan_of(app) == {}
    table = pd.DataFrame(app.dataframe[0].value)
    assert len(table) == result["footprints"] and table["meets_floor"].all()
    ok(button(app, "Load the result into the drawing").click().run())
    assert len(plan_of(app)) == 211
    # the next run is offered a new name, not the one just used
    ok(go(app, "Optimise"))
    offered = by_label(app.text_input, "Name of the new scenario").value
    assert offered.startswith("Optimised ") and offered != "Max at 300k"


# --- names and files from planners, and views that fail -------------------------------------------

HOSTILE = "![t](http://127.0.0.1:9/p.png)"  # an image: every browser showing it would fetch it
MONEY = "$5m to $6m"  # mathematics between the dollar signs
BOLD = "**x**"


def _save(folder: Path, name: str, assignment: dict[str, str], notes: str = "") -> None:
    from footprint import Scenario, ScenarioStore

    ScenarioStore(folder).save(Scenario(name=name, assignment=assignment, notes=notes))


def _unescaped(bodies: list[str], *marks: str) -> list[str]:
    """Bodies holding one of ``marks`` (Markdown that acts) without its backslash."""
    return [
        b
        for b in bodies
        for m in marks
        if re.search(r"(?<!\\)" + re.escape(m), b.replace("\\\\", ""))
    ]


def test_hostile_names_show_as_plain_text_everywhere(app: AppTest, scenario_dir: Path) -> None:
    # a scenario whose name, notes and footprint names are Markdown that would fetch an image,
    # typeset mathematics or make text bold
    _save(scenario_dir, HOSTILE, {AIREDALE: HOSTILE, BRADFORD_CITY: MONEY}, notes=BOLD)
    _save(scenario_dir, MONEY, {AIREDALE: BOLD})
    ok(go(app, "Scenarios"))
    app.selectbox(key="scenario_pick").set_value(HOSTILE)
    ok(app.run())
    ok(button(app, "Load into the drawing").click().run())
    assert plan_of(app) == {AIREDALE: HOSTILE, BRADFORD_CITY: MONEY}
    seen = markdown_bodies(app)
    # the message about the load quotes the name, escaped
    escaped = r"\!\[t\]\(http\:" + "\u2060" + r"//127\.0\.0\.1\:9/p\.png\)"
    assert any(escaped in b for b in seen), seen
    # compare the two hostile scenarios: column names and every message quote them
    ok(go(app, "Compare"))
    app.selectbox(key="cmp_a").set_value(("scenario", HOSTILE))
    app.selectbox(key="cmp_b").set_value(("scenario", MONEY))
    ok(app.run())
    seen += markdown_bodies(app)
    ok(go(app, "Map and drawing"))  # the broken rules name both footprints
    seen += markdown_bodies(app)
    assert any(r"\$5m to \$6m" in b for b in seen)
    ok(go(app, "Import and export"))
    app.selectbox(key="export_pick").set_value(("scenario", HOSTILE))
    ok(app.run())
    seen += markdown_bodies(app)
    assert not _unescaped(seen, "![", "$", "**x"), _unescaped(seen, "![", "$", "**x")
    # and no address in a name becomes a link (Markdown links bare addresses even escaped)
    assert not [b for b in seen if re.search(r"http\\?:(?!\u2060)//", b)]


def test_an_error_quoting_a_name_is_plain_text(app: AppTest, monkeypatch) -> None:
    import footprint
    from footprint import PlanError

    def refuse(*args, **kwargs):
        raise PlanError(f"footprint {HOSTILE!r} is odd", problems=[f"{MONEY} is not a footprint"])

    monkeypatch.setattr(footprint, "compare_plans", refuse)
    ok(go(app, "Compare"))
    (message,) = [e.value for e in app.error]
    assert message.startswith("Could not compare the plans\\: footprint '\\!\\[t\\]\\("), message
    assert "\n  - \\$5m to \\$6m is not a footprint" in message  # the list keeps its shape
    assert not _unescaped([message], "![", "$")


def test_a_scenario_named_like_the_drawing_or_a_reference_takes_neither_place(
    app: AppTest, scenario_dir: Path
) -> None:
    _save(scenario_dir, "Current drawing", {AIREDALE: "Spoof", BRADFORD_CITY: "Spoof"})
    _save(scenario_dir, "NHS Area Teams (2013)", {AIREDALE: "Spoof"})
    ok(click_ccg(app, AIREDALE))
    ok(go(app, "Import and export"))
    pick = app.selectbox(key="export_pick")
    assert pick.options == [
        "Current drawing",
        "Scenario: Current drawing",
        "Scenario: NHS Area Teams (2013)",
    ]
    assert pick.value == ("drawing", "")  # the planner's own drawing, not the saved one
    ok(go(app, "Compare"))
    options = app.selectbox(key="cmp_b").options
    assert options[:3] == ["Current drawing", "NHS Area Teams (2013)", "NHS Regions (2013)"]
    assert {"Scenario: Current drawing", "Scenario: NHS Area Teams (2013)"} <= set(options)
    assert app.selectbox(key="cmp_b").value == ("reference", "area_team_code")
    # plan B is drawn on its own map: the real Area Teams, then the scenario of that name
    _a, shown = map_components(app)
    assert "Spoof" not in shown.proto.json_args
    app.selectbox(key="cmp_b").set_value(("scenario", "NHS Area Teams (2013)"))
    ok(app.run())
    _a, shown = map_components(app)
    assert "Spoof" in shown.proto.json_args


def test_a_view_that_breaks_keeps_the_sidebar_and_says_so_in_place(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import footprint

    def broken(*args, **kwargs):
        raise RuntimeError("boom: internals the planner should not see")

    monkeypatch.setattr(footprint, "reference_plan", broken)
    ok(go(app, "Compare"))
    assert by_label(app.checkbox, "Background map (OpenStreetMap, needs internet)")  # sidebar
    assert any(
        "This view hit an unexpected problem; your drawing and saved scenarios are unchanged" in e
        for e in errors(app)
    ), errors(app)
    assert "boom" not in texts(app) and "Traceback" not in texts(app)
    assert "Open Government Licence v3.0" in texts(app)  # the note under the view as well
    ok(go(app, "Map and drawing"))  # and the others still work
    assert not errors(app) and len(map_components(app)) == 1


@pytest.mark.parametrize(
    "view",
    [
        "Map and drawing",
        "Optimise",
        "Scenarios",
        "Compare",
        "Import and export",
        "Your own boundaries",
        "Help",
    ],
)
def test_every_view_fails_in_place(
    app: AppTest, monkeypatch: pytest.MonkeyPatch, view: str
) -> None:
    import streamlit

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    ok(go(app, view))
    monkeypatch.setattr(streamlit, "subheader", broken)  # every view draws one; the sidebar not
    ok(app.run())
    assert any(e.startswith("This view hit an unexpected problem") for e in errors(app))
    assert [r.label for r in app.radio][-1] == "Colour CCGs by"  # the sidebar is complete
    assert app.checkbox[-1].label == "Background map (OpenStreetMap, needs internet)"
    monkeypatch.undo()
    ok(go(app, "Map and drawing" if view != "Map and drawing" else "Optimise"))
    assert not any(e.startswith("This view hit") for e in errors(app))


def test_a_scenario_folder_that_cannot_be_made_is_explained_and_the_rest_works(
    dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("a file where the scenario folder should go")
    monkeypatch.setenv("FOOTPRINT_SCENARIO_DIR", str(a_file / "scenarios"))
    at = new_app()
    ok(click_ccg(at, AIREDALE))
    ok(go(at, "Compare"))
    (warning,) = [as_read(w.value) for w in at.warning]
    assert warning.startswith(
        "Saved scenarios cannot be compared, but the drawing and the reference plans "
        f"can: cannot use {a_file / 'scenarios'} as the scenario folder"
    )
    assert "FOOTPRINT_SCENARIO_DIR" in warning and not errors(at)
    assert [m.label for m in at.metric][1] == "CCGs that moved"  # comparing still works
    ok(go(at, "Optimise"))
    (warning,) = [as_read(w.value) for w in at.warning]
    assert warning.startswith("Results cannot be saved as scenarios, but you can still run")
    ok(go(at, "Import and export"))
    assert any(
        "Saved scenarios cannot be exported; the drawing can" in as_read(w.value)
        for w in at.warning
    )
    ok(go(at, "Map and drawing"))
    by_label(at.text_input, "Scenario name").input("Kept?")
    ok(button(at, "Save scenario").click().run())
    (message,) = errors(at)
    assert (
        message.startswith("Could not save the scenario: cannot use ")
        and "Not a directory" in message
    )
    assert plan_of(at) == {AIREDALE: "Footprint 1"}


def _count_calls(monkeypatch: pytest.MonkeyPatch, module, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_a_plan_csv_is_read_once_and_its_problems_are_one_message(
    app: AppTest, dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    import footprint

    calls = _count_calls(monkeypatch, footprint, "read_plan_csv")
    codes = list(dataset.geography.units["code"])
    # 30 CCGs each given two footprints (30 problems), unknown codes and a valid row
    rows = ["unit_code,footprint", f"{codes[40]},Kept"]
    for code in codes[:30]:
        rows += [f"{code},A", f"{code},B"]
    rows += [f"NOPE{i},South" for i in range(50)]
    ok(go(app, "Import and export"))
    app.file_uploader(key="plan_csv").set_value(("big.csv", "\n".join(rows).encode(), "text/csv"))
    ok(app.run())
    (message,) = [e for e in errors(app) if "big.csv" in e]
    assert message.startswith("big.csv: 32 problems in the file")
    assert message.count("\n  - ") == 21 and message.endswith("- … and 12 more")
    app.checkbox(key="confirm_import").check()
    ok(app.run())
    ok(app.run())
    ok(button(app, "Load the imported plan").click().run())
    assert plan_of(app) == {codes[40]: "Kept"}
    assert len(calls) == 1  # four runs of the page, one reading of the file
    # another file is read, once
    app.file_uploader(key="plan_csv").set_value(
        ("other.csv", b"unit_code,footprint\nE38000001,North\n", "text/csv")
    )
    ok(app.run())
    ok(app.run())
    assert len(calls) == 2


def test_a_refused_upload_is_inspected_once(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    import footprint.uploads

    calls = _count_calls(monkeypatch, footprint.uploads, "inspect_upload_columns")
    ok(go(app, "Your own boundaries"))
    app.file_uploader(key="own_boundaries").set_value(
        ("areas.gpkg", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "application/octet-stream")
    )
    for _ in range(3):
        ok(app.run())
        assert any("areas.gpkg" in e for e in errors(app))  # the reason stays on the page
    assert len(calls) == 1


# --- saves on a shared scenario folder ------------------------------------------------------------


def _on_disk(folder: Path, name: str):
    from footprint import ScenarioStore

    return ScenarioStore(folder).load(name)


def test_saving_over_a_scenario_someone_else_changed_is_refused_with_a_copy_offered(
    app: AppTest, scenario_dir: Path
) -> None:
    from footprint import Scenario, ScenarioStore

    _save(scenario_dir, "Shared plan", {AIREDALE: "North"})
    ok(go(app, "Scenarios"))
    app.selectbox(key="scenario_pick").set_value("Shared plan")
    ok(button(app, "Load into the drawing").click().run())
    assert app.session_state["loaded_from"] == {"name": "Shared plan", "revision": 1}
    # meanwhile another planner saves over it
    ScenarioStore(scenario_dir).save(
        Scenario(name="Shared plan", assignment={AIREDALE: "Theirs"}), overwrite=True
    )
    ok(go(app, "Map and drawing"))
    ok(click_ccg(app, BRADFORD_CITY))
    by_label(app.text_input, "Scenario name").input("Shared plan")
    by_label(app.checkbox, "Replace a saved scenario of the same name").check()
    ok(button(app, "Save scenario").click().run())
    (message,) = errors(app)
    assert re.match(
        r"Could not save the scenario: scenario 'Shared plan' was changed by someone "
        r"else at \d\d:\d\d on \d{4}-\d\d-\d\d \(revision 2, you loaded revision 1\); "
        r"nothing was saved",
        message,
    ), message
    assert not any("Saved scenario" in m for m in texts(app).splitlines())
    theirs = _on_disk(scenario_dir, "Shared plan")
    assert theirs.revision == 2 and theirs.assignment == {AIREDALE: "Theirs"}  # kept
    # the way out: save the drawing as a copy
    assert "save yours as 'Shared plan (copy)'" in texts(app)
    ok(button(app, "Save as a copy").click().run())
    assert "Saved scenario 'Shared plan (copy)'" in texts(app)
    mine = _on_disk(scenario_dir, "Shared plan (copy)")
    assert mine.assignment == {AIREDALE: "North", BRADFORD_CITY: "Footprint 1"}
    assert app.session_state["save_conflict"] is None
    assert not [b for b in app.button if b.label == "Save as a copy"]
    # saving the copy again over itself, nobody else in between, is fine
    by_label(app.text_input, "Scenario name").input("Shared plan (copy)")
    by_label(app.checkbox, "Replace a saved scenario of the same name").check()
    ok(button(app, "Save scenario").click().run())
    assert not errors(app) and _on_disk(scenario_dir, "Shared plan (copy)").revision == 2


def test_two_planners_saving_one_new_name_one_is_saved_the_other_told(
    dataset, scenario_dir: Path
) -> None:
    first, second = new_app(), new_app()
    ok(click_ccg(first, AIREDALE))
    ok(click_ccg(second, BRADFORD_CITY))
    for at in (first, second):
        by_label(at.text_input, "Scenario name").input("West option")
    ok(button(first, "Save scenario").click().run())
    ok(button(second, "Save scenario").click().run())
    assert "Saved scenario 'West option'" in texts(first) and not errors(first)
    (refusal,) = errors(second)
    assert refusal.startswith(
        "Could not save the scenario: a scenario called 'West option' is "
        "saved already (last saved at "
    )
    assert "choose another name or overwrite it" in refusal
    assert "Saved scenario" not in texts(second)
    assert _on_disk(scenario_dir, "West option").assignment == {AIREDALE: "Footprint 1"}


# --- pages, and nothing lost ----------------------------------------------------------------------


def test_every_page_has_its_own_address_and_opens(app: AppTest) -> None:
    for title in PAGES:
        ok(go(app, title))
        assert not errors(app), (title, errors(app))
        assert "Open Government Licence v3.0" in texts(app)


def test_messages_come_beside_the_map_never_above_it(app: AppTest) -> None:
    # a message above the map moved it 72 px: a quick second click hit the CCG that had slid
    # under the cursor
    ok(click_ccg(app, AIREDALE))
    kinds = [type(e).__name__ for e in app.main.children.values()]
    assert kinds[:2] == ["Markdown", "Block"]  # the one-line count, then map and panel
    first_block = next(e for e in app.main.children.values() if type(e).__name__ == "Block")
    left, right = first_block.children.values()
    assert not list(left.success) and not list(left.warning) and not list(left.info)
    assert len(map_components(app)) == 1
    assert [as_read(m.value) for m in right.success] == [
        "Put NHS Airedale, Wharfedale and Craven in 'Footprint 1'."
    ]
    before = [type(e).__name__ for e in app.main.children.values()]
    ok(click_ccg(app, BRADFORD_CITY, count=2))
    assert [type(e).__name__ for e in app.main.children.values()][:2] == before[:2]


def test_the_footprint_chosen_for_clicks_survives_another_page(app: AppTest) -> None:
    ok(click_ccg(app, AIREDALE))  # Footprint 1, now the target
    target_box(app).set_value(("new", ""))
    ok(app.run())
    ok(click_ccg(app, BRADFORD_CITY, count=2))  # Footprint 2
    target_box(app).set_value(("footprint", "Footprint 1"))
    ok(app.run())
    ok(go(app, "Optimise"))
    ok(go(app, "Map and drawing"))
    assert target_box(app).value == ("footprint", "Footprint 1")
    ok(click_ccg(app, "E38000025", count=3))  # NHS Calderdale
    assert plan_of(app)["E38000025"] == "Footprint 1"


def test_a_typed_scenario_name_is_used_for_the_next_run(app: AppTest, scenario_dir: Path) -> None:
    ok(go(app, "Optimise"))
    by_label(app.number_input, "Time limit (s)").set_value(10.0)
    by_label(app.text_input, "Name of the new scenario").input("First try")
    ok(optimised(app, timeout=120))
    assert app.session_state["last_result"]["name"] == "First try", texts(app)
    # typed straight after the run, with no other rerun in between (it was replaced by
    # "Optimised <date>" twice in a row)
    by_label(app.text_input, "Name of the new scenario").input("Second try")
    ok(optimised(app, timeout=120))
    assert app.session_state["last_result"]["name"] == "Second try", texts(app)
    by_label(app.text_input, "Name of the new scenario").input("Third try")
    ok(optimised(app, timeout=120))
    assert app.session_state["last_result"]["name"] == "Third try", texts(app)
    from footprint import ScenarioStore

    assert {"First try", "Second try", "Third try"} <= set(ScenarioStore(scenario_dir).names())
    ok(app.run())  # a name left as it was is not offered again
    offered = by_label(app.text_input, "Name of the new scenario").value
    assert offered.startswith("Optimised ")


def test_a_locked_footprint_saved_and_loaded_back_is_still_locked(
    app: AppTest, scenario_dir: Path
) -> None:
    ok(click_ccg(app, AIREDALE))
    ok(click_ccg(app, BRADFORD_CITY, count=2))
    ok(app.button(key="lock_target").click().run())
    by_label(app.text_input, "Scenario name").input("Locked west")
    ok(button(app, "Save scenario").click().run())
    saved = _on_disk(scenario_dir, "Locked west")
    assert sorted(saved.locked) == sorted([AIREDALE, BRADFORD_CITY])
    fresh = new_app()
    ok(go(fresh, "Scenarios"))
    fresh.selectbox(key="scenario_pick").set_value("Locked west")
    ok(button(fresh, "Load into the drawing").click().run())
    assert drawing_of(fresh).locked == {"Footprint 1"}
    ok(go(fresh, "Map and drawing"))
    assert "Locked: Footprint 1" in texts(fresh)
    target_box(fresh).set_value(("out", ""))
    ok(fresh.run())
    ok(click_ccg(fresh, AIREDALE))
    assert plan_of(fresh)[AIREDALE] == "Footprint 1"  # refused: the lock came back


def test_the_drawing_and_its_undo_come_back_on_reload(app: AppTest, drawing_dir: Path) -> None:
    ok(click_ccg(app, AIREDALE))
    ok(click_ccg(app, BRADFORD_CITY, count=2))
    ok(app.button(key="lock_target").click().run())
    token = app.query_params["d"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)
    assert (drawing_dir / f"{token}.json").exists()
    # a reload: a new session at the same address (the server's memory of the old one gone)
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params["d"] = token
    ok(again.run())
    assert plan_of(again) == {AIREDALE: "Footprint 1", BRADFORD_CITY: "Footprint 1"}
    assert drawing_of(again).locked == {"Footprint 1"}
    assert "2 of 211 CCGs assigned" in texts(again)
    ok(button(again, "↶ Undo").click().run())  # the lock
    ok(button(again, "↶ Undo").click().run())  # the second CCG
    assert plan_of(again) == {AIREDALE: "Footprint 1"}
    # another browser (no token) starts empty, with a token of its own
    other = new_app()
    assert plan_of(other) == {} and other.query_params["d"] != token


@pytest.mark.parametrize("token", ["../../../etc/passwd", "x", "a/b" * 12, "%2e%2e%2f" * 4])
def test_a_hostile_token_in_the_address_is_replaced_and_names_no_file(
    dataset, drawing_dir: Path, scenario_dir: Path, token: str
) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["d"] = token
    ok(at.run())
    assert at.query_params["d"] != token and re.fullmatch(
        r"[A-Za-z0-9_-]{32}", at.query_params["d"]
    )
    ok(click_ccg(at, AIREDALE))
    assert [p.name for p in drawing_dir.iterdir()] == [f"{at.query_params['d']}.json"]


def test_the_drawing_page_says_where_the_la_rule_can_be_switched_off(app: AppTest, dataset) -> None:
    blocks: dict[str, list[str]] = {}
    for code, block in dataset.audit.blocks.items():
        blocks.setdefault(block, []).append(code)
    a, b = next(sorted(units)[:2] for units in blocks.values() if len(units) >= 2)
    ok(click_ccg(app, a))
    target_box(app).set_value(("new", ""))
    ok(app.run())
    ok(click_ccg(app, b, count=2))
    page = texts(app)
    assert "is split across 2 footprints" in page
    assert "or switch the LA rule off" not in page
    assert "or plan with the LA rule off on the Optimise page" in page


def test_scenarios_of_another_geography_are_neither_listed_nor_loaded(
    app: AppTest, scenario_dir: Path, tmp_path: Path
) -> None:
    from helpers import grid_units

    _save(scenario_dir, "England plan", {AIREDALE: "North"})
    grid = grid_units(2, 3)
    grid["geometry"] = grid.translate(400_000, 280_000)
    boundaries = tmp_path / "areas.geojson"
    grid.to_crs(4326).to_file(boundaries, driver="GeoJSON")
    people = "code,population\n" + "".join(
        f"{c},{150_000 + i}\n" for i, c in enumerate(grid["code"])
    )
    ok(go(app, "Your own boundaries"))
    app.file_uploader(key="own_boundaries").set_value(
        ("areas.geojson", boundaries.read_bytes(), "application/geo+json")
    )
    app.file_uploader(key="own_population").set_value(("people.csv", people.encode(), "text/csv"))
    ok(app.run())
    ok(button(app, "Use these files").click().run())
    assert app.session_state["custom_dataset"] is not None
    ok(go(app, "Scenarios"))
    assert not [s for s in app.selectbox if s.key == "scenario_pick"]
    assert "1 saved scenario drawn on another geography is not listed here." in texts(app)
    ok(go(app, "Compare"))
    assert ("scenario", "England plan") not in app.selectbox(key="cmp_a").options
    assert not any("England plan" in o for o in app.selectbox(key="cmp_a").options)
    # a scenario saved here belongs here
    ok(go(app, "Map and drawing"))
    ok(click_ccg(app, "r0c0"))
    by_label(app.text_input, "Scenario name").input("Grid plan")
    ok(button(app, "Save scenario").click().run())
    ok(go(app, "Scenarios"))
    assert app.selectbox(key="scenario_pick").options == ["Grid plan"]


def test_a_scenario_of_another_geography_is_refused_in_words(dataset, scenario_dir: Path) -> None:
    # the load button's own callback, given a scenario of another geography (a page left
    # open while the geography changed): nothing loads and the planner is told why
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import streamlit as st
from app_pages.shared import dataset, digest_of, init_state, load_scenario, plan, show_flash
from footprint import Scenario
init_state()
st.session_state["geo"] = st.session_state["geo"] or digest_of(dataset())
other = Scenario(name="Elsewhere", assignment={{"r0c0": "A"}}, geography="units-abc")
old = Scenario(name="Old England", assignment={{"{AIREDALE}": "North"}})
st.button("other", on_click=load_scenario, args=(other,))
st.button("old", on_click=load_scenario, args=(old,))
show_flash()
st.markdown(str(len(plan())))
"""
    at = ok(AppTest.from_string(script, default_timeout=TIMEOUT).run())
    ok(button(at, "other").click().run())
    assert errors(at) == [
        "Scenario 'Elsewhere' was drawn on another geography, not on "
        f"{dataset.geography.name!r}; it was not loaded. Switch to its "
        "geography on the Your own boundaries page to use it."
    ]
    assert at.markdown[-1].value == "0"
    ok(button(at, "old").click().run())  # a file saved before scenarios named their geography
    assert at.markdown[-1].value == "1" and not errors(at)


def test_painting_a_whole_la_block_takes_one_click_and_one_undo(app: AppTest, dataset) -> None:
    blocks: dict[str, list[str]] = {}
    for code, block in dataset.audit.blocks.items():
        blocks.setdefault(block, []).append(code)
    members = next(sorted(units) for units in blocks.values() if len(units) >= 3)
    by_label(app.checkbox, "Paint whole LA blocks").check()
    ok(app.run())
    ok(go(app, "Optimise"))  # the choice outlives a visit to another page
    ok(go(app, "Map and drawing"))
    assert by_label(app.checkbox, "Paint whole LA blocks").value
    ok(click_ccg(app, members[0]))
    assert plan_of(app) == dict.fromkeys(members, "Footprint 1")
    assert f"and {len(members) - 1} others in 'Footprint 1'" in texts(app)
    ok(button(app, "↶ Undo").click().run())
    assert plan_of(app) == {}


# --- a planner's own geography -------------------------------------------------------------------


def _own_files(tmp_path: Path, *, la: bool) -> dict[str, tuple[str, bytes, str]]:
    """A 2 x 3 grid of wards in the Midlands, 150,000 people or so each; with ``la``, an LA
    layer of two local authorities, one per row."""
    import geopandas as gpd
    from helpers import grid_units
    from shapely.geometry import box

    grid = grid_units(2, 3)
    grid["geometry"] = grid.translate(400_000, 280_000)
    boundaries = tmp_path / "wards.geojson"
    grid.to_crs(4326).to_file(boundaries, driver="GeoJSON")
    people = "code,population\n" + "".join(
        f"{c},{150_000 + i}\n" for i, c in enumerate(grid["code"])
    )
    files = {
        "own_boundaries": ("wards.geojson", boundaries.read_bytes(), "application/geo+json"),
        "own_population": ("people.csv", people.encode(), "text/csv"),
    }
    if la:
        las = gpd.GeoDataFrame(
            {"la_code": ["L1", "L2"], "la_name": ["Northtown", "Southtown"]},
            geometry=[
                box(400_000, 280_000 + r * 1000, 403_000, 281_000 + r * 1000) for r in range(2)
            ],
            crs=27700,
        )
        path = tmp_path / "las.geojson"
        las.to_crs(4326).to_file(path, driver="GeoJSON")
        files["own_la"] = ("las.geojson", path.read_bytes(), "application/geo+json")
    return files


def use_own_geography(at: AppTest, tmp_path: Path, *, la: bool, unit: str = "ward") -> AppTest:
    """Upload the grid (with or without its LA layer), call its units ``unit``, use it."""
    ok(go(at, "Your own boundaries"))
    for key, upload in _own_files(tmp_path, la=la).items():
        at.file_uploader(key=key).set_value(upload)
    ok(at.run())
    assert not errors(at), errors(at)
    if la:
        assert by_label(at.selectbox, "LA code column").value == "la_code"
        by_label(at.selectbox, "LA name column (optional)").set_value("la_name")
    by_label(at.text_input, "Units are called").input(unit)
    ok(button(at, "Use these files").click().run())
    assert not errors(at), errors(at)
    assert at.session_state["custom_dataset"] is not None
    return at


def test_the_import_page_says_what_the_server_accepts_before_building(app: AppTest) -> None:
    from footprint import MAX_UPLOAD_UNITS

    ok(go(app, "Your own boundaries"))
    page = texts(app).replace("**", "")
    assert f"at most {MAX_UPLOAD_UNITS:,} units per upload" in page
    assert "files of at most 200 MB each" in page
    assert "MapInfo table" in page
    allowed = app.file_uploader(key="own_boundaries").allowed_type
    assert {".tab", ".dat", ".map", ".id", ".ind", ".zip", ".geojson"} <= set(allowed)
    assert app.file_uploader(key="own_boundaries").accept_multiple_files  # loose parts


def test_an_la_layer_uploaded_beside_the_boundaries_turns_the_la_rule_on(
    app: AppTest, tmp_path: Path
) -> None:
    use_own_geography(app, tmp_path, la=True)
    geo = app.session_state["custom_dataset"].geography
    assert geo.has_la_layer and geo.unit_label == "ward"
    assert "with an LA layer: the LA rule keeps each LA whole" in texts(app)
    assert "an LA layer of 2 local authorities" in texts(app)
    ok(go(app, "Optimise"))
    assert by_label(app.selectbox, "LA rule").options == ["whole-la", "off"]
    assert "The LA rule is off" not in texts(app)
    ok(go(app, "Map and drawing"))
    by_label(app.checkbox, "Paint whole LA blocks")  # LA blocks exist here
    assert "No local authority layer" not in texts(app)


def test_a_geography_without_las_offers_no_la_rule_and_says_why(
    app: AppTest, tmp_path: Path
) -> None:
    use_own_geography(app, tmp_path, la=False)
    assert "without an LA layer: the LA rule is off" in texts(app)
    ok(go(app, "Optimise"))
    box_ = by_label(app.selectbox, "LA rule")
    assert box_.options == ["off"] and box_.disabled
    page = texts(app)
    assert (
        "The LA rule is off: this geography has no local authority layer" in page
        and "upload an LA layer beside your boundaries" in page
    )
    ok(go(app, "Map and drawing"))
    assert "Paint whole LA blocks" not in [c.label for c in app.checkbox]
    labels = [c.label for c in app.sidebar.checkbox]
    assert not [
        lab for lab in labels if "Area Teams" in lab or "Regions" in lab or "LA boundaries" in lab
    ]
    assert "No local authority layer" in texts(app)
    ok(click_ccg(app, "r0c0"))  # the drawing is checked without the LA rule, not refused
    assert not errors(app), errors(app)
    assert not [e for e in app.error if "LA rule" in e.value]


def test_the_pages_call_the_units_what_the_planner_calls_them(app: AppTest, tmp_path: Path) -> None:
    use_own_geography(app, tmp_path, la=False, unit="ward")
    ok(go(app, "Map and drawing"))
    page = texts(app)
    assert "0 of 6 wards assigned" in page and "CCG" not in page.replace(
        "Go back to the England 2013 CCGs", ""
    )
    target_ = by_label(app.selectbox, "Clicking a ward puts it in")
    assert target_ is not None
    ok(click_ccg(app, "r0c0"))
    assert "Not finished: 5 wards not yet in a footprint (every ward has to be in one)." in (
        texts(app)
    )
    ok(go(app, "Optimise"))
    assert by_label(app.selectbox, "fewest-changes counts").format_func("units") == ("wards moved")
    assert [t for t in app.text_area if t.label.startswith("Fixed wards")]


def test_a_partial_drawing_is_kept_and_the_rest_planned(app: AppTest, tmp_path: Path) -> None:
    use_own_geography(app, tmp_path, la=False)
    ok(go(app, "Map and drawing"))
    set_plan(app, {"r0c0": "Mine", "r0c1": "Mine"})  # not locked
    ok(go(app, "Optimise"))
    assert "'Keep my footprints, plan the rest' keeps them there and plans the other 4" in (
        texts(app)
    )
    by_label(app.radio, "Start from").set_value("Keep my footprints, plan the rest")
    by_label(app.number_input, "Time limit (s)").set_value(20.0)
    ok(optimised(app, timeout=120))
    result = app.session_state["last_result"]
    assert result["status"] == "optimal", texts(app)
    plan = result["assignment"]
    assert plan["r0c0"] == plan["r0c1"] == "Mine"
    assert len(plan) == 6  # every other ward planned


def test_a_repair_of_a_partial_drawing_says_what_became_of_the_unassigned(
    app: AppTest, tmp_path: Path
) -> None:
    use_own_geography(app, tmp_path, la=False)
    ok(go(app, "Map and drawing"))
    set_plan(app, {"r0c0": "Mine", "r0c1": "Mine"})
    ok(go(app, "Optimise"))
    by_label(app.selectbox, "Objective").set_value("fewest-changes")
    by_label(app.number_input, "Time limit (s)").set_value(20.0)
    ok(optimised(app, timeout=120))
    result = app.session_state["last_result"]
    assert result["status"] in ("optimal", "feasible"), texts(app)
    (sentence,) = [as_read(w.value) for w in app.warning if "in no footprint" in as_read(w.value)]
    assert "4 wards that were in no footprint were placed" in sentence
    assert "0 wards moved" in sentence
    assert "Proven best" not in texts(app)
    assert "where the others went was not planned" in sentence


def test_a_mapinfo_table_uploaded_as_its_parts_or_zipped_is_used(
    app: AppTest, tmp_path: Path
) -> None:
    # MapInfo TAB, which many NHS analyst teams use: the loose parts together, or a zip
    from helpers import grid_units

    grid = grid_units(2, 3)
    grid["geometry"] = grid.translate(400_000, 280_000)
    folder = tmp_path / "tab"
    folder.mkdir()
    grid.to_file(folder / "wards.tab", driver="MapInfo File")
    parts = [(p.name, p.read_bytes(), "application/octet-stream") for p in sorted(folder.iterdir())]
    assert {Path(n).suffix for n, _, _ in parts} >= {".tab", ".dat", ".map", ".id"}
    people = "code,population\n" + "".join(
        f"{c},{150_000 + i}\n" for i, c in enumerate(grid["code"])
    )
    ok(go(app, "Your own boundaries"))
    for upload in (parts, ("wards.zip", _zip({n: d for n, d, _ in parts}), "application/zip")):
        app.file_uploader(key="own_boundaries").set_value(upload)
        app.file_uploader(key="own_population").set_value(
            ("people.csv", people.encode(), "text/csv")
        )
        ok(app.run())
        assert not errors(app), errors(app)
        assert by_label(app.selectbox, "Code column (boundaries)").options == ["code"]
    ok(button(app, "Use these files").click().run())
    assert not errors(app), errors(app)
    geo = app.session_state["custom_dataset"].geography
    assert sorted(geo.units["code"]) == sorted(grid["code"])
    assert "without an LA layer: the LA rule is off" in texts(app)
