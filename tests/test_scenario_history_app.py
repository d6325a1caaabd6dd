"""The Scenarios page without sign-in (one machine, the README's two commands): history,
restore, compare two versions, copy, the bin and a read-only link, through Streamlit's AppTest.

Without a secrets file nothing is closed: the local user owns everything, and what the team
server adds (owners, history, the bin, links) works the same way. Scenario files of format
versions 1 and 2 written by earlier versions of the tool are listed and used unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from footprint import ScenarioStore
from footprint.scenarios import file_name_for

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 300

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FOOTPRINT_SCENARIO_DIR", str(tmp_path / "scenarios"))
    monkeypatch.setenv("FOOTPRINT_DRAWING_DIR", str(tmp_path / "drawings"))
    monkeypatch.setenv("STREAMLIT_SECRETS_FILES", str(tmp_path / "no-secrets.toml"))
    return tmp_path / "scenarios"


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _seed(folder: Path, dataset) -> tuple[dict, dict]:
    """A version 1 file and a version 2 file of England's CCGs, as older tools wrote them."""
    codes = list(dataset.geography.units["code"])
    first = {c: ("North" if i < 100 else "South") for i, c in enumerate(codes)}
    v1 = {
        "format": "footprint-scenario", "version": 1, "name": "Old <b>v1</b>",
        "created": "2014-01-01T00:00:00+00:00", "source": "drawn", "status": None, "notes": "",
        "constraints_json": None, "locked": [], "assignment": first,
    }  # fmt: skip
    second = {c: ("North" if i < 110 else "South") for i, c in enumerate(codes)}
    v2 = {
        **v1, "version": 2, "name": "Old v2", "revision": 4, "assignment": second,
        "created": "2015-01-01T00:00:00+00:00", "updated": "2015-02-01T00:00:00+00:00",
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    for body in (v1, v2):
        (folder / file_name_for(body["name"])).write_text(json.dumps(body), encoding="utf-8")
    return v1, v2


def test_history_restore_compare_copy_and_the_bin_on_one_machine(folders, dataset) -> None:
    v1, v2 = _seed(folders, dataset)
    before = {p.name: p.read_bytes() for p in folders.iterdir()}
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/scenarios.py")
    _ok(at.run())
    assert {p.name: p.read_bytes() for p in folders.iterdir()} == before  # read unchanged
    listing = at.dataframe[0].value
    assert list(listing["name"]) == ["Old <b>v1</b>", "Old v2"]
    assert list(listing["revision"]) == [1, 4]
    assert "Sign out" not in [b.label for b in at.button]  # no sign-in on one machine
    # the local user may do everything: every button is on
    assert not at.checkbox(key="confirm_delete").disabled
    assert not at.text_input(key="rename_to").disabled
    assert [c.value for c in at.code] == [f"./?scenario={file_name_for(v1['name'])[:-5]}"]

    # a save over the old file keeps it as the first version
    store = ScenarioStore(folders)
    old = store.load("Old v2")
    south = [c for c, f in old.assignment.items() if f == "South"]
    moved = {**old.assignment, **dict.fromkeys(south[:5], "North")}
    from dataclasses import replace

    store.save(replace(old, assignment=moved), overwrite=True, expected_revision=4, user="local")
    at.selectbox(key="scenario_pick").set_value("Old v2")
    _ok(at.run())
    history = at.dataframe[1].value
    assert list(history["revision"]) == [5, 4]
    assert list(history["what changed"]) == ["5 CCGs moved", "first version"]
    assert list(history["by"]) == ["local", "not recorded"]

    # restore revision 4 as revision 6
    _ok(_button(at, "Restore it").click().run())
    assert at.success[0].value.startswith("Restored revision 4 of 'Old v2'")
    assert store.load("Old v2").revision == 6
    assert store.load("Old v2").assignment == v2["assignment"]

    # compare two versions on the Compare page
    _ok(_button(at, "Compare A and B").click().run())
    assert [m.label for m in at.metric][1] == "CCGs that moved"
    assert at.metric[1].value == "5 of 211"

    # copy, then delete to the bin and restore from it
    at.switch_page("app_pages/scenarios.py")
    _ok(at.run())
    _ok(at.selectbox(key="scenario_pick").set_value("Old v2").run())
    _ok(_button(at, "Save a copy").click().run())
    assert store.load("Old v2 (copy)").assignment == v2["assignment"]
    _ok(at.checkbox(key="confirm_delete").check().run())
    _ok(_button(at, "Delete").click().run())
    assert not store.exists("Old v2")
    assert [d.scenario.name for d in store.deleted()] == ["Old v2"]
    _ok(_button(at, "Restore it from the bin").click().run())
    assert store.load("Old v2").revision == 7 and store.deleted() == []
    events = [(e["event"], e["scenario"]) for e in store.log.read()]
    assert events == [
        ("save", "Old v2"),
        ("restore", "Old v2"),
        ("save", "Old v2 (copy)"),
        ("delete", "Old v2"),
        ("undelete", "Old v2"),
    ]


def test_a_read_only_link_shows_the_scenario_and_nothing_to_edit(folders, dataset) -> None:
    v1, _v2 = _seed(folders, dataset)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["scenario"] = file_name_for(v1["name"])[:-5]
    _ok(at.run())
    texts = " ".join(str(m.value) for m in [*at.markdown, *at.info, *at.caption]).replace("\\", "")
    assert "Read-only view: nothing here can be changed" in texts
    assert "registered patients" in texts and "Open Government Licence" in texts
    assert [b.label for b in at.button] == []  # no saving, no drawing tools
    assert len(at.dataframe) == 1  # the footprint table
    assert not [s for s in at.selectbox] and not at.text_input
    hostile = AppTest.from_file(APP, default_timeout=TIMEOUT)
    hostile.query_params["scenario"] = "../../etc/passwd"
    hostile.run()
    assert hostile.error[0].value.startswith("This link does not open a scenario")
