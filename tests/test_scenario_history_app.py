"""The Scenarios page without sign-in (one machine, the README's two commands): history,
restore, compare two versions, copy, the bin and a read-only link, through Streamlit's AppTest;
and the store's history in trouble (an audit log that cannot be written, temporary files a
crash left in the history and the bin), without Streamlit.

Without a secrets file nothing is closed: the local user owns everything, and what the team
server adds (owners, history, the bin, links) works the same way. Scenario files of format
versions 1 and 2 written by earlier versions of the tool are listed and used unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from footprint import FootprintError, Scenario, ScenarioStore
from footprint.history import AuditLog, AuditLogWarning
from footprint.scenarios import AUDIT_LOG, BIN_FOLDER, HISTORY_FOLDER, file_name_for

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 300


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


@pytest.mark.realdata
@pytest.mark.slow
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


@pytest.mark.realdata
@pytest.mark.slow
def test_a_read_only_link_shows_the_scenario_and_nothing_to_edit(folders, dataset) -> None:
    v1, _v2 = _seed(folders, dataset)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["scenario"] = file_name_for(v1["name"])[:-5]
    _ok(at.run())
    texts = " ".join(str(m.value) for m in [*at.markdown, *at.info, *at.caption]).replace("\\", "")
    assert "Read-only view: nothing here can be changed" in texts
    assert "registered patients" in texts and "Open Government Licence" in texts
    assert [b.label for b in at.button] == []  # no saving, no drawing tools
    # the local user may use the planner: the way there is offered
    assert [(b.label, b.url) for b in at.link_button] == [("Open the planner", "./")]
    assert len(at.dataframe) == 1  # the footprint table
    assert not [s for s in at.selectbox] and not at.text_input
    hostile = AppTest.from_file(APP, default_timeout=TIMEOUT)
    hostile.query_params["scenario"] = "../../etc/passwd"
    hostile.run()
    assert hostile.error[0].value.startswith("This link does not open a scenario")


# --- an audit log that cannot be written ---------------------------------------------------


def _plan(name: str = "Plan", **assignment: str) -> Scenario:
    return Scenario(name=name, assignment=assignment or {"A": "North", "B": "North"})


def _break_the_log(folder: Path) -> None:
    """The log's name taken by a folder: every append fails (as a full disk would)."""
    log = folder / AUDIT_LOG
    if log.exists():
        log.rename(folder / "log-aside")
    log.mkdir()


def _mend_the_log(folder: Path) -> None:
    (folder / AUDIT_LOG).rmdir()
    (folder / "log-aside").rename(folder / AUDIT_LOG)


def test_a_save_the_audit_log_cannot_record_is_kept_reported_and_logged(tmp_path, caplog):
    store = ScenarioStore(tmp_path)
    first = store.save(_plan(), user="ann")
    _break_the_log(tmp_path)
    with (
        caplog.at_level(logging.ERROR, logger="footprint.scenarios"),
        pytest.warns(
            AuditLogWarning,
            match=r"scenario 'Plan' was saved and that is kept, but the audit log .* could "
            r"not be written \(Is a directory\), so it is not recorded there .* Tell whoever "
            r"runs the server",
        ),
    ):
        saved = store.save(
            _plan(A="South", B="North"), overwrite=True, expected_revision=1, user="bea"
        )
    # the save is not lost: it is the scenario now, and the version it replaced is kept
    assert store.load("Plan") == saved and saved.revision == 2
    assert [v.revision for v in store.history("Plan")] == [1, 2]
    assert store.version("Plan", 1).assignment == first.assignment
    # the missing line is in the app's log, whole, to be added back by hand
    (record,) = [r for r in caplog.records if "could not be written" in r.getMessage()]
    line = json.loads(record.getMessage().split("missing from it: ", 1)[1])
    assert (line["event"], line["scenario"], line["user"], line["revision"]) == (
        "save",
        "Plan",
        "bea",
        2,
    )
    assert line["changes"]["moved"] == 1
    assert record.levelno == logging.ERROR
    # every planner can be told until the log is written again
    since, reason = store.log.trouble()
    assert reason == "Is a directory" and since[:4].isdigit()
    _mend_the_log(tmp_path)
    store.save(_plan(), overwrite=True, user="ann")
    assert store.log.trouble() is None
    assert [e["revision"] for e in store.log.read()] == [1, 3]  # the gap is plain to see


def test_the_caller_can_be_told_instead_of_warned_for_each_change(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(_plan(), user="ann")
    store.save(_plan(A="South"), overwrite=True, user="ann")
    _break_the_log(tmp_path)
    told: list[str] = []
    store.restore_version("Plan", 1, expected_revision=2, user="ann", on_unlogged=told.append)
    store.rename("Plan", "Plan B", user="ann", on_unlogged=told.append)
    store.delete("Plan B", user="ann", on_unlogged=told.append)
    (entry,) = store.deleted()
    store.undelete(entry.id, user="ann", on_unlogged=told.append)
    assert [m.split(" and that is kept")[0] for m in told] == [
        "scenario 'Plan' was restored to an earlier version",
        "scenario 'Plan B' was renamed",
        "scenario 'Plan B' was moved to the bin",
        "scenario 'Plan B' was restored from the bin",
    ]
    assert store.load("Plan B").assignment == {"A": "North", "B": "North"}  # all done


def test_a_warning_names_the_line_that_called_the_store(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(_plan())
    _break_the_log(tmp_path)
    with pytest.warns(AuditLogWarning, match="moved to the bin") as caught:
        store.delete("Plan")
    assert caught[0].filename == __file__
    with pytest.warns(AuditLogWarning, match="was saved") as caught:
        store.save(_plan())
    assert caught[0].filename == __file__


def test_a_line_cut_short_by_a_full_disk_never_swallows_the_next(tmp_path):
    log = AuditLog(tmp_path / AUDIT_LOG)
    log.append("save", scenario="Plan", user="ann", revision=1)
    with (tmp_path / AUDIT_LOG).open("ab") as fh:
        fh.write(b'{"time": "2026-01-01T00:00:00+00:00", "event": "sa')  # the disk filled
    log.append("delete", scenario="Plan", user="ann", revision=1)
    assert [e["event"] for e in log.read()] == ["save", "delete"]


# --- temporary files a crash left in the history and the bin --------------------------------


def _leftover(folder: Path, name: str, *, age: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text('{"half": ', encoding="utf-8")
    if age:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


def test_temporaries_a_crash_left_in_the_history_and_the_bin_are_cleaned(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(_plan())
    store.save(_plan(A="South"), overwrite=True)
    store.save(_plan("Gone"))
    store.delete("Gone")
    history = tmp_path / HISTORY_FOLDER / store.id_for("Plan")
    kept = sorted(p.name for p in history.iterdir())
    in_history = _leftover(history, ".tmp-crashed.json")  # just now: its save died
    old_in_bin = _leftover(tmp_path / BIN_FOLDER, ".tmp-old.json", age=3600)
    new_in_bin = _leftover(tmp_path / BIN_FOLDER, ".tmp-new.json")  # may be a delete now
    outside = _leftover(tmp_path / "elsewhere", ".tmp-outside.json", age=3600)
    (tmp_path / HISTORY_FOLDER / "link").symlink_to(outside.parent, target_is_directory=True)
    (history / ".tmp-link.json").symlink_to(outside)

    removed = store.clean_temporaries()

    assert sorted(removed) == sorted([in_history, old_in_bin])
    assert not in_history.exists() and not old_in_bin.exists()
    assert new_in_bin.exists() and outside.exists()  # never through a link
    assert sorted(p.name for p in history.iterdir()) == sorted([*kept, ".tmp-link.json"])
    assert [v.revision for v in store.history("Plan")] == [1, 2]  # the versions are whole
    assert [d.scenario.name for d in store.deleted()] == ["Gone"]


CHILD = """
import sys, time
from pathlib import Path
from footprint import FootprintError, Scenario, ScenarioStore

folder, holding, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

def guard(saved):  # called under the scenario's lock: hold it until told to go on
    holding.write_text("holding")
    while not go.exists():
        time.sleep(0.01)

ScenarioStore(folder).save(
    Scenario(name="Plan", assignment={"A": "East"}), overwrite=True, guard=guard
)
"""


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_a_history_folder_whose_scenario_is_being_saved_is_left_alone(tmp_path):
    folder = tmp_path / "scenarios"
    store = ScenarioStore(folder)
    store.save(_plan())
    store.save(_plan(A="South"), overwrite=True)
    history = folder / HISTORY_FOLDER / store.id_for("Plan")
    holding, go = tmp_path / "holding", tmp_path / "go"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), str(holding), str(go)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
    )
    try:
        while not holding.exists():  # another process is saving Plan now
            assert child.poll() is None, child.communicate()[1].decode()
            time.sleep(0.01)
        writing = _leftover(history, ".tmp-writing.json", age=3600)  # even an old one
        assert ScenarioStore(folder, stale_temp_seconds=0).clean_temporaries() == []
        assert writing.exists()
    finally:
        go.write_text("go")
        _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err.decode()
    assert store.clean_temporaries() == [writing]  # its save is over
    assert [v.revision for v in store.history("Plan")] == [1, 2, 3]


# --- in the app -----------------------------------------------------------------------------

TEAM_SECRETS = """
[auth]
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
cookie_secret = "0123456789abcdef0123456789abcdef"
client_id = "footprint-tests"
client_secret = "not-a-real-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"

[footprint]
anonymous_view = true
"""


@pytest.mark.realdata
@pytest.mark.slow
def test_anyone_with_the_link_views_it_and_is_offered_sign_in_not_the_planner(
    folders, dataset, request
) -> None:
    v1, _v2 = _seed(folders, dataset)
    secrets = folders.parent / "team-secrets.toml"
    secrets.write_text(TEAM_SECRETS, encoding="utf-8")
    # Streamlit reads its options once per process: set this one for this test only
    from streamlit import config

    before = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(secrets)])
    request.addfinalizer(lambda: config.set_option("secrets.files", before))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["scenario"] = file_name_for(v1["name"])[:-5]
    _ok(at.run())
    texts = " ".join(str(m.value) for m in [*at.info, *at.caption]).replace("\\", "")
    assert "Read-only view: nothing here can be changed" in texts
    assert len(at.dataframe) == 1  # the footprint table: the link works without an account
    # no way into pages that would only send them to the sign-in page
    assert [b.label for b in at.link_button] == []
    assert [b.label for b in at.button] == ["Sign in to open the planner"]
    assert "Planners with an account can sign in to draw, save and optimise." in texts
    # the app itself stays closed to them
    closed = AppTest.from_file(APP, default_timeout=TIMEOUT)
    _ok(closed.run())
    assert [b.label for b in closed.button] == ["Sign in"]


@pytest.mark.realdata
@pytest.mark.slow
def test_a_restore_the_audit_log_cannot_record_is_done_and_the_planner_told(
    folders, dataset
) -> None:
    _seed(folders, dataset)
    store = ScenarioStore(folders)
    old = store.load("Old v2")
    store.save(replace(old, notes="second thoughts"), overwrite=True, expected_revision=4)
    _break_the_log(folders)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/scenarios.py")
    _ok(at.run())
    _ok(at.selectbox(key="scenario_pick").set_value("Old v2").run())
    _ok(_button(at, "Restore it").click().run())
    assert store.load("Old v2").revision == 6  # done, and kept
    with pytest.raises(FootprintError, match=r"the audit log .* cannot be read \(Is a directory\)"):
        store.log.read()
    warned = [w.value.replace("\\", "") for w in at.warning]
    assert any(
        w.startswith(
            "Scenario 'Old v2' was restored to an earlier version and that is kept, "
            "but the audit log"
        )
        and "Tell whoever runs the server" in w
        for w in warned
    ), warned
    assert at.success[0].value.startswith("Restored revision 4 of 'Old v2'")
    # every page says so, to every planner, until a line is written again
    assert any(
        w.startswith("The audit log of saves, restores and deletions cannot be written")
        for w in warned
    ), warned
    _mend_the_log(folders)
    store.save(replace(old, name="Another"))
    _ok(at.run())
    assert not [w for w in at.warning if "audit log" in str(w.value)]
