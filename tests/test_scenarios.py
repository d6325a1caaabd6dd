"""Scenarios on disk: save/list/load/delete/rename, restarts, crashes mid-write, hostile names."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest

from footprint.errors import FootprintError, InputFileError, PlanError
from footprint.scenarios import (
    Scenario,
    ScenarioConflictError,
    ScenarioError,
    ScenarioStore,
    file_name_for,
)


def _scenario(name: str, created: str = "2024-01-01T00:00:00+00:00", **kw) -> Scenario:
    assignment = {"00C": "A", "00D": "A", "01A": "B"}
    return Scenario(name=name, assignment=assignment, created=created, **kw)


def test_save_list_load_delete_rename(tmp_path):
    store = ScenarioStore(tmp_path / "s")
    later = _scenario("Option B", created="2024-02-01T00:00:00+00:00", source="optimiser")
    earlier = _scenario(
        "Option A", constraints_json='{"floor": 300000}', status="optimal", locked=("00C",)
    )
    store.save(later)
    saved = store.save(earlier)
    assert (saved.revision, earlier.revision) == (1, 0)  # the caller's scenario is unchanged
    assert saved.updated is not None and earlier.updated is None
    assert [s.name for s in store.list()] == ["Option A", "Option B"]  # by created time
    loaded = store.load("Option A")
    assert loaded == saved
    assert loaded.assignment["00C"] == "A"  # codes keep leading zeros
    assert loaded.locked == ("00C",)

    renamed = store.rename("Option A", "Option A (final)")
    assert renamed.created == earlier.created
    assert [s.name for s in store.list()] == ["Option A (final)", "Option B"]
    with pytest.raises(ScenarioError, match="no saved scenario is called 'Option A'"):
        store.load("Option A")

    store.delete("Option B")
    assert store.names() == ["Option A (final)"]
    with pytest.raises(ScenarioError, match="no saved scenario is called 'Option B'; nothing"):
        store.delete("Option B")


def test_name_clash_needs_overwrite(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(_scenario("Plan"))
    with pytest.raises(
        ScenarioError,
        match=r"called 'Plan' is saved already \(last saved at \d\d:\d\d on [\d-]+\); choose "
        "another name or overwrite it",
    ):
        store.save(_scenario("Plan", notes="second"))
    store.save(_scenario("Plan", notes="second"), overwrite=True)
    assert store.load("Plan").notes == "second"
    store.save(_scenario("Other"))
    with pytest.raises(ScenarioError, match="called 'Other' is saved already"):
        store.rename("Plan", "Other")
    assert store.load("Plan").notes == "second"  # the failed rename kept the original


def test_reload_after_restart(tmp_path):
    ScenarioStore(tmp_path).save(_scenario("Kept", notes="ünïcode ✓"))
    again = ScenarioStore(tmp_path)  # a new process would build a new store
    assert again.load("Kept").notes == "ünïcode ✓"


def test_scenario_copies_the_callers_assignment():
    mine = {"a": "X"}
    s = Scenario(name="n", assignment=mine)
    mine["a"] = "Y"
    assert s.assignment == {"a": "X"}
    assert "T" in s.created  # ISO time
    assert len({s, Scenario(name="n", assignment={"a": "X"}, created=s.created)}) == 1


def test_crash_mid_write_keeps_old_file_and_leaves_no_litter(tmp_path, monkeypatch):
    store = ScenarioStore(tmp_path)
    store.save(_scenario("Plan", notes="old"))
    before = sorted(os.listdir(tmp_path))

    def boom(src, dst):
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk pulled out"):
        store.save(_scenario("Plan", notes="new"), overwrite=True)
    monkeypatch.undo()
    # no temp file left behind; the version being replaced may be kept in the history already
    assert [n for n in sorted(os.listdir(tmp_path)) if n != ".history"] == before
    assert not [p for p in (tmp_path / ".history").rglob("*") if p.name.startswith(".tmp-")]
    assert store.load("Plan").notes == "old"


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        "C:\\Windows\\system32",
        ".hidden",
        "a/b",
        "a\\b",
        "名前 ✓",
        "con",
        "x" * 200,
    ],
)
def test_hostile_names_stay_inside_the_folder(tmp_path, name):
    folder = tmp_path / "store"
    store = ScenarioStore(folder)
    store.save(Scenario(name=name, assignment={"u": "f"}))
    path = store.path_for(name)
    assert path.parent == folder and path.is_file()
    assert not path.name.startswith(".")
    assert os.listdir(tmp_path) == ["store"]
    assert [
        f
        for f in os.listdir(folder)
        if not f.startswith((".lock-", ".audit-log", ".history", ".bin"))
    ] == [path.name]
    assert store.load(name).name == name.strip()


def test_similar_names_do_not_share_a_file():
    assert file_name_for("A/B") != file_name_for("A_B")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", "cannot be empty"),
        ("a\nb", "control characters"),
        ("x" * 201, "at most 200"),
        (3, "must be text; received int"),
    ],
)
def test_bad_names_are_refused(name, message):
    with pytest.raises(ScenarioError, match=message):
        Scenario(name=name, assignment={})


def test_malformed_scenario_lists_problems():
    with pytest.raises(PlanError, match=r"(?s)malformed.*unit 'a' -> 1.*not valid JSON"):
        Scenario(name="bad", assignment={"a": 1}, constraints_json="{oops")


def test_corrupt_file_is_reported_not_fatal(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(_scenario("Good"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "footprint-scenario", "vers')
    foreign = tmp_path / "other.json"
    foreign.write_text(json.dumps({"hello": 1}))
    with pytest.warns(UserWarning, match=r"could not be read .*left in place") as caught:
        scenarios = store.list()
    assert sorted(str(w.message).split()[2] for w in caught) == ["broken.json", "other.json"]
    assert [s.name for s in scenarios] == ["Good"]
    listing = store.scan()
    reasons = dict((p.name, r) for p, r in listing.unreadable)
    assert "not readable JSON" in reasons["broken.json"]
    assert "not a saved scenario" in reasons["other.json"]
    assert broken.exists() and foreign.exists()  # nothing deleted


def test_newer_format_is_refused():
    body = json.loads(_scenario("x").to_json())
    body["version"] = 99
    with pytest.raises(InputFileError, match="version 99 is not supported"):
        Scenario.from_json(json.dumps(body))


def test_save_rejects_non_scenarios(tmp_path):
    with pytest.raises(ScenarioError, match="save\\(\\) takes a Scenario; received dict"):
        ScenarioStore(tmp_path).save({"name": "x"})


# --- revisions and optimistic concurrency (one writer at a time; races are in
# test_scenario_store_concurrency.py) ----------------------------------------------------------

TIME = r"\d\d:\d\d on \d{4}-\d\d-\d\d"


def test_each_save_is_one_revision_more(tmp_path):
    store = ScenarioStore(tmp_path)
    first = store.save(Scenario(name="Team plan", assignment={"E1": "A"}))
    assert first.revision == 1
    second = store.save(replace(first, notes="two"), overwrite=True, expected_revision=1)
    assert second.revision == 2 and store.load("Team plan") == second
    # last writer wins without expected_revision, still counting on from what is saved
    third = store.save(Scenario(name="Team plan", assignment={"E1": "B"}), overwrite=True)
    assert third.revision == 3 and store.load("Team plan").assignment == {"E1": "B"}


def test_a_stale_revision_is_refused_and_says_what_to_do(tmp_path):
    store = ScenarioStore(tmp_path)
    mine = store.save(Scenario(name="Team plan", assignment={"E1": "A"}))
    store.save(replace(mine, notes="theirs"), overwrite=True, expected_revision=1)
    with pytest.raises(
        ScenarioConflictError,
        match=rf"scenario 'Team plan' was changed by someone else at {TIME} \(revision 2, you "
        r"loaded revision 1\); nothing was saved\. Save it under a new name, or reload it and "
        "make your changes again",
    ):
        store.save(replace(mine, notes="mine"), overwrite=True, expected_revision=1)
    assert store.load("Team plan").notes == "theirs"


def test_expected_revision_of_a_deleted_scenario_is_a_conflict(tmp_path):
    store = ScenarioStore(tmp_path)
    mine = store.save(Scenario(name="Team plan", assignment={"E1": "A"}))
    store.delete("Team plan")
    with pytest.raises(
        ScenarioConflictError,
        match=r"'Team plan' was deleted or renamed by someone else after you loaded revision 1; "
        "nothing was saved. Save it under a new name",
    ):
        store.save(mine, overwrite=True, expected_revision=1)
    assert not store.exists("Team plan")


def test_a_remade_scenario_does_not_reuse_old_revisions(tmp_path):
    store = ScenarioStore(tmp_path)
    old = store.save(Scenario(name="Team plan", assignment={"E1": "A"}))
    store.delete("Team plan")
    remade = store.save(Scenario(name="Team plan", assignment={"E1": "B"}))
    assert remade.revision == 2  # so a planner still holding revision 1 cannot overwrite it
    with pytest.raises(ScenarioConflictError, match="revision 2, you loaded revision 1"):
        store.save(old, overwrite=True, expected_revision=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expected_revision": 1}, r"pass overwrite=True with it, or leave it out to save"),
        ({"overwrite": True, "expected_revision": "1"}, r"a whole number, 1 or more\) or None; "),
        ({"overwrite": True, "expected_revision": True}, r"received True"),
        ({"overwrite": True, "expected_revision": 0}, r"received 0"),
    ],
)
def test_bad_expected_revisions_are_refused(tmp_path, kwargs, message):
    store = ScenarioStore(tmp_path)
    store.save(Scenario(name="p", assignment={}))
    with pytest.raises(ScenarioError, match=message):
        store.save(Scenario(name="p", assignment={"E1": "A"}), **kwargs)
    assert store.load("p").assignment == {}


def test_delete_and_rename_check_the_revision(tmp_path):
    store = ScenarioStore(tmp_path)
    first = store.save(Scenario(name="Team plan", assignment={"E1": "A"}))
    store.save(first, overwrite=True)
    with pytest.raises(
        ScenarioConflictError,
        match=rf"changed by someone else at {TIME} \(revision 2, you loaded revision 1\); it was "
        "not deleted. Reload it to see the changes, then delete it if you still mean to",
    ):
        store.delete("Team plan", expected_revision=1)
    with pytest.raises(
        ScenarioConflictError, match=r"\(revision 2, you loaded revision 1\); it was not renamed"
    ):
        store.rename("Team plan", "Other", expected_revision=1)
    assert store.names() == ["Team plan"]
    renamed = store.rename("Team plan", "Other", expected_revision=2)
    # its revisions go on from the old name's, as its history does
    assert (renamed.name, renamed.revision, renamed.created) == ("Other", 3, first.created)
    store.delete("Other", expected_revision=3)
    assert store.names() == []


def test_version_1_files_are_read_as_revision_1(tmp_path):
    body = {
        "format": "footprint-scenario", "version": 1, "name": "Old plan",
        "created": "2024-01-01T00:00:00+00:00", "source": "drawn", "status": None, "notes": "",
        "constraints_json": None, "locked": [], "assignment": {"E1": "A"},
    }  # fmt: skip
    (tmp_path / file_name_for("Old plan")).write_text(json.dumps(body))
    store = ScenarioStore(tmp_path)
    old = store.load("Old plan")
    assert (old.revision, old.updated) == (1, "2024-01-01T00:00:00+00:00")
    assert store.save(old, overwrite=True, expected_revision=1).revision == 2
    assert json.loads(store.path_for("Old plan").read_text())["version"] == 3


def test_an_unreadable_file_is_never_replaced(tmp_path):
    store = ScenarioStore(tmp_path)
    store.path_for("Team plan").write_text("{oops")
    with pytest.raises(
        ScenarioError,
        match=r"called 'Team plan' has a file that cannot be read, so it was not replaced "
        r"\(.*not readable JSON.*\)\. Choose another name, or move .*\.json out of",
    ):
        store.save(Scenario(name="Team plan", assignment={}), overwrite=True)
    assert store.path_for("Team plan").read_text() == "{oops"


def test_crash_while_creating_leaves_nothing(tmp_path, monkeypatch):
    store = ScenarioStore(tmp_path)

    def boom(src, dst):
        raise OSError(errno.EIO, "disk pulled out")

    monkeypatch.setattr(os, "link", boom)
    with pytest.raises(OSError, match="disk pulled out"):
        store.save(_scenario("Plan"))
    monkeypatch.undo()
    assert [f for f in os.listdir(tmp_path) if not f.startswith(".lock-")] == []
    assert store.save(_scenario("Plan")).revision == 1


def test_a_busy_scenario_is_reported_not_waited_for_forever(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    store = ScenarioStore(tmp_path, lock_timeout=0)
    lock_file = tmp_path / (".lock-" + store.path_for("Plan").stem)
    with open(lock_file, "a+b") as fh:  # another process would hold it like this
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(
            ScenarioError, match=r"being saved by someone else .* nothing was changed\. Try again"
        ):
            store.save(_scenario("Plan"))
    assert store.save(_scenario("Plan")).revision == 1


def test_store_options_are_checked(tmp_path):
    with pytest.raises(
        ScenarioError, match=r"(?s)options are not usable.*stale_temp_seconds .* received -1"
    ):
        ScenarioStore(tmp_path, stale_temp_seconds=-1)


def test_old_temporary_files_are_cleaned_when_a_store_opens(tmp_path):
    old, fresh = tmp_path / ".tmp-old.json", tmp_path / ".tmp-fresh.json"
    old.write_text("{")
    fresh.write_text("{")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    ScenarioStore(tmp_path)  # default threshold: minutes
    assert not old.exists()
    assert fresh.exists()  # may be another writer's save in progress
    assert ScenarioStore(tmp_path, stale_temp_seconds=0).clean_temporaries() == []
    assert not fresh.exists()


# --- bad files in a shared folder ---------------------------------------------------------------


def _body(**changes) -> bytes:
    body = json.loads(Scenario(name="Bad", assignment={"E1": "A"}, revision=1).to_json())
    body.update(changes)
    return json.dumps(body).encode()


BAD_FILES = {
    "locked.json": (
        _body(locked=5),
        r"locked must be a list of unit codes as text; received int 5",
    ),
    "assignment.json": (
        _body(assignment=[1, 2]),
        r"the assignment must map unit codes to footprint labels .* received list \[1, 2\]",
    ),
    "name.json": (_body(name=7), r"the scenario name must be text; received int 7"),
    "nested.json": (b"[" * 100_000, r"nested too deeply to be a scenario"),
    "latin1.json": (
        _body(notes="caf\u00e9").replace(b"caf\\u00e9", b"caf\xe9"),
        r"not UTF-8 text \(byte 0xe9 at position \d+\)",
    ),
    "newer.json": (_body(version=4), r"version 4 is not supported; .* reads up to 3\. It was left"),
    "users.json": (
        _body(created_by=5, updated_by="x" * 400),
        r"(?s)created_by must be a user's id \(an e-mail address\) as text of at most 320 "
        r"characters; received int 5.*updated_by must be .* received str 'xxx",
    ),
    "fields.json": (
        _body(
            created=5,
            source={},
            status=1,
            notes=[],
            constraints_json=3,
            revision="2",
            updated=0,
            assignment={"E1": 3},
        ),
        r"(?s)scenario 'Bad' is damaged.*unit 'E1' -> 3.*created must be an ISO time as text; "
        r"received int 5.*source must be text; received dict.*status must be text.*notes must be"
        r" text.*constraints_json must be JSON text; received int 3.*revision must be a whole "
        r"number.*received str '2'.*updated must be an ISO time",
    ),
    "deep_constraints.json": (
        _body(constraints_json="[" * 100_000),
        r"constraints_json is nested too deeply",
    ),
    "no_revision.json": (
        _body(revision=None).replace(b'"revision": null, ', b""),
        r"lacks revision; the file is damaged",
    ),
}


def _folder_with_bad_files(folder: Path) -> ScenarioStore:
    store = ScenarioStore(folder)
    store.save(_scenario("Good one"))
    store.save(_scenario("Good two", created="2024-03-01T00:00:00+00:00"))
    for file_name, (content, _) in BAD_FILES.items():
        (folder / file_name).write_bytes(content)
    with open(folder / "huge.json", "wb") as fh:
        fh.truncate(60 * 2**20)  # 60 MB without writing them
    return store


def test_bad_files_are_reported_by_name_and_hide_nothing(tmp_path):
    store = _folder_with_bad_files(tmp_path)
    listing = store.scan()
    assert [s.name for s in listing.scenarios] == ["Good one", "Good two"]
    reasons = {path.name: reason for path, reason in listing.unreadable}
    expected = {name: pattern for name, (_, pattern) in BAD_FILES.items()}
    expected["huge.json"] = (
        r"the file is 60\.0 MB, more than the 50 MB a scenario file may be .* so it was not read; "
        "move it out of the folder"
    )
    assert sorted(reasons) == sorted(expected)
    for file_name, pattern in expected.items():
        assert reasons[file_name].startswith(f"{file_name}: ")
        assert re.search(pattern, reasons[file_name]), (file_name, reasons[file_name])
    assert store.load("Good two").name == "Good two"
    with pytest.raises(ScenarioError, match="no saved scenario is called 'Nope'; the saved ones"):
        store.load("Nope")
    assert all((tmp_path / name).exists() for name in expected)  # nothing deleted


def test_list_warns_once_per_bad_file(tmp_path):
    store = _folder_with_bad_files(tmp_path)
    with pytest.warns(UserWarning, match=r"could not be read and was skipped") as caught:
        scenarios = store.list()
    assert [s.name for s in scenarios] == ["Good one", "Good two"]
    warned = sorted(str(w.message).split()[2] for w in caught)
    assert warned == sorted([*BAD_FILES, "huge.json"])


def test_a_bad_file_under_a_scenario_name_fails_only_that_name(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(_scenario("Good"))
    store.path_for("Broken").write_bytes(_body(name="Broken", locked=5))
    with pytest.raises(InputFileError, match=r"locked must be a list of unit codes"):
        store.load("Broken")
    assert store.load("Good").name == "Good"


def test_non_files_named_like_scenarios_are_skipped(tmp_path):
    store = ScenarioStore(tmp_path)
    (tmp_path / "folder.json").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.json")  # reading it would block for ever
    store.save(_scenario("Good"))
    listing = store.scan()
    assert [s.name for s in listing.scenarios] == ["Good"]
    reasons = {p.name: r for p, r in listing.unreadable}
    if hasattr(os, "mkfifo"):
        assert reasons == {"pipe.json": "pipe.json: not a regular file, so not a saved scenario"}


def test_a_folder_the_app_cannot_write_is_reported(tmp_path, monkeypatch):
    store = ScenarioStore(tmp_path)
    store.save(_scenario("Kept"))
    real_open = os.open

    def no_write(path, flags, *args):
        if Path(path).name.startswith(".lock-"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_write)  # as a read-only folder does (tests may run as root)
    with pytest.raises(
        ScenarioError,
        match=r"cannot open the lock file \.lock-New-\w+ in .* \(Permission denied\); nothing "
        "was changed. Check that the app may write to the scenario folder",
    ):
        store.save(_scenario("New"))
    assert store.load("Kept").name == "Kept" and not store.exists("New")


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX file modes")
def test_files_are_as_readable_as_the_shared_folder(tmp_path):
    shared, private = tmp_path / "shared", tmp_path / "private"
    shared.mkdir(mode=0o775)
    shared.chmod(0o775)  # whatever the umask
    private.mkdir(mode=0o700)
    for folder, mode in ((shared, 0o664), (private, 0o600)):
        store = ScenarioStore(folder)
        store.save(_scenario("Plan"))
        assert stat.S_IMODE(store.path_for("Plan").stat().st_mode) == mode
        lock_file = folder / (".lock-" + store.path_for("Plan").stem)
        assert stat.S_IMODE(lock_file.stat().st_mode) == mode


# --- which geography a scenario belongs to ---------------------------------------------------


def test_a_scenario_keeps_the_geography_it_was_drawn_on(tmp_path):
    from footprint.scenarios import geography_of

    store = ScenarioStore(tmp_path)
    store.save(Scenario(name="Own", assignment={"r0c0": "A"}, geography="digest-of-mine"))
    back = store.load("Own")
    assert back.geography == "digest-of-mine"
    assert geography_of(back, england_digest="eng", england_codes=["E38000001"]) == (
        "digest-of-mine"
    )


def test_older_files_without_a_geography_are_placed_by_their_codes(tmp_path):
    from footprint.scenarios import geography_of

    old = {
        "format": "footprint-scenario",
        "version": 2,
        "name": "Old",
        "revision": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "assignment": {"E38000001": "North"},
    }
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    odd = {**old, "name": "Odd", "assignment": {"r0c0": "A", "E38000001": "B"}}
    (tmp_path / "odd.json").write_text(json.dumps(odd), encoding="utf-8")
    store = ScenarioStore(tmp_path)
    england = {"E38000001", "E38000002"}
    assert store.load("Old").geography is None  # read as written
    assert geography_of(store.load("Old"), england_digest="eng", england_codes=england) == "eng"
    assert geography_of(store.load("Odd"), england_digest="eng", england_codes=england) is None
    empty = Scenario(name="Empty", assignment={})
    assert geography_of(empty, england_digest="eng", england_codes=england) is None


def test_a_geography_that_is_not_text_is_refused(tmp_path):
    with pytest.raises(PlanError, match="geography must be a data digest as text"):
        Scenario(name="Bad", assignment={}, geography=5)
    bad = {
        "format": "footprint-scenario",
        "version": 2,
        "name": "Bad",
        "revision": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "assignment": {},
        "geography": [1],
    }
    with pytest.raises(InputFileError, match="geography must be a data digest as text"):
        Scenario.from_json(json.dumps(bad))


# --- owners, history, the bin and the audit log (issue 21) ----------------------------------

PLAN_1 = {"00C": "North", "00D": "North", "01A": "South", "01C": "South"}


def test_saves_record_who_created_and_who_changed(tmp_path):
    store = ScenarioStore(tmp_path)
    first = store.save(Scenario(name="Team", assignment=PLAN_1), user="alice@nhs.example")
    assert (first.created_by, first.updated_by) == ("alice@nhs.example", "alice@nhs.example")
    # the creator is kept from the file, whatever the caller's scenario says
    other = replace(first, created_by="mallory@nhs.example")
    second = store.save(other, overwrite=True, expected_revision=1, user="bob@nhs.example")
    assert (second.created_by, second.updated_by) == ("alice@nhs.example", "bob@nhs.example")
    assert store.load("Team") == second
    with pytest.raises(
        ScenarioConflictError,
        match=rf"^scenario 'Team' was changed by bob@nhs.example at {TIME} \(revision 2, you "
        r"loaded revision 1\); nothing was saved. Save it under a new name",
    ):
        store.save(first, overwrite=True, expected_revision=1, user="alice@nhs.example")
    with pytest.raises(ScenarioError, match=rf"is saved already \(last saved at {TIME} by bob"):
        store.save(first, user="alice@nhs.example")


def test_a_guard_refuses_under_the_lock_and_changes_nothing(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(Scenario(name="Team", assignment=PLAN_1), user="alice@nhs.example")
    seen = []

    def only_alice(saved):
        seen.append(saved.created_by if saved else None)
        if saved is not None and saved.created_by != "alice@nhs.example":
            raise PermissionError("not yours")

    def not_bob(saved):
        raise PermissionError("bob may not")

    store.save(Scenario(name="New", assignment=PLAN_1), user="bob@nhs.example", guard=only_alice)
    with pytest.raises(PermissionError, match="bob may not"):
        store.save(Scenario(name="Team", assignment={}), overwrite=True, user="bob", guard=not_bob)
    with pytest.raises(PermissionError, match="bob may not"):
        store.delete("Team", user="bob", guard=not_bob)
    with pytest.raises(PermissionError, match="bob may not"):
        store.rename("Team", "Mine", user="bob", guard=not_bob)
    with pytest.raises(PermissionError, match="bob may not"):
        store.restore_version("Team", 1, expected_revision=1, guard=not_bob)
    assert seen == [None]
    assert store.load("Team").revision == 1 and sorted(store.names()) == ["New", "Team"]
    assert [e["event"] for e in store.log.read()] == ["save", "save"]


def test_every_save_keeps_the_version_before_and_says_what_changed(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(Scenario(name="Team", assignment=PLAN_1), user="alice")
    moved = {**PLAN_1, "01A": "North", "02D": "East"}
    store.save(
        Scenario(name="Team", assignment=moved, constraints_json='{"floor": 1}'),
        overwrite=True,
        expected_revision=1,
        user="bob",
    )
    kept = store.history("Team")
    assert [(v.revision, v.updated_by) for v in kept] == [(1, "alice"), (2, "bob")]
    assert kept[0].assignment == PLAN_1 and kept[1].assignment == moved
    events = store.log.read(scenario="Team")
    assert [(e["event"], e["user"], e["revision"]) for e in events] == [
        ("save", "alice", 1),
        ("save", "bob", 2),
    ]
    assert events[1]["changes"] == {
        "moved": 1,
        "added": ["East"],
        "removed": [],
        "newly_assigned": 1,
        "unassigned": 0,
        "constraints_changed": True,
        "notes_changed": False,
        "locks_changed": False,
        "renamed": False,
    }
    with pytest.raises(ScenarioError, match="has no kept revision 7; the kept ones are 1, 2"):
        store.version("Team", 7)


def test_restore_makes_an_old_version_the_newest_and_keeps_the_rest(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(Scenario(name="Team", assignment=PLAN_1, notes="one"), user="alice")
    store.save(
        Scenario(name="Team", assignment={"00C": "X"}, notes="two"),
        overwrite=True,
        expected_revision=1,
        user="bob",
    )
    with pytest.raises(ScenarioConflictError, match=r"changed by bob .*nothing was restored"):
        store.restore_version("Team", 1, expected_revision=1, user="alice")
    restored = store.restore_version("Team", 1, expected_revision=2, user="alice")
    assert (restored.revision, restored.assignment, restored.notes) == (3, PLAN_1, "one")
    assert (restored.created_by, restored.updated_by) == ("alice", "alice")
    assert [v.notes for v in store.history("Team")] == ["one", "two", "one"]
    last = store.log.read()[-1]
    assert (last["event"], last["restored_from"], last["revision"]) == ("restore", 1, 3)
    assert last["changes"]["moved"] == 0 and last["changes"]["notes_changed"]


def test_delete_moves_to_the_bin_and_undelete_brings_it_back(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(Scenario(name="Team", assignment=PLAN_1), user="alice")
    store.save(Scenario(name="Team", assignment={"00C": "X"}), overwrite=True, user="alice")
    store.delete("Team", expected_revision=2, user="bob")
    assert store.names() == [] and not store.exists("Team")
    [entry] = store.deleted()
    assert (entry.scenario.name, entry.scenario.revision, entry.deleted_by) == ("Team", 2, "bob")
    assert entry.deleted.endswith("+00:00")
    # a new scenario of that name meanwhile: the deleted one comes back under another name
    store.save(Scenario(name="Team", assignment={}), user="carol")
    with pytest.raises(ScenarioError, match="a scenario called 'Team' is saved already"):
        store.undelete(entry.id, user="alice")
    back = store.undelete(entry.id, new_name="Team (restored)", user="alice")
    assert back.assignment == {"00C": "X"} and back.created_by == "alice"
    assert store.deleted() == []
    with pytest.raises(ScenarioError, match="the bin holds no deleted scenario"):
        store.undelete(entry.id)
    # the revision numbers of a re-made name never repeat
    assert store.load("Team").revision == 3
    assert [e["event"] for e in store.log.read()] == [
        "save",
        "save",
        "delete",
        "save",
        "undelete",
    ]


def test_rename_takes_the_history_along(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(Scenario(name="Draft", assignment=PLAN_1), user="alice")
    store.save(Scenario(name="Draft", assignment={"00C": "X"}), overwrite=True, user="alice")
    renamed = store.rename("Draft", "Final", user="alice")
    assert [v.revision for v in store.history("Final")] == [1, 2, renamed.revision]
    last = store.log.read()[-1]
    assert (last["event"], last["renamed_from"], last["changes"]["renamed"]) == (
        "rename",
        "Draft",
        True,
    )


def test_version_1_and_2_files_are_read_unchanged_and_gain_history(tmp_path):
    v1 = {
        "format": "footprint-scenario", "version": 1, "name": "Old v1",
        "created": "2014-01-01T00:00:00+00:00", "source": "drawn", "status": None, "notes": "",
        "constraints_json": None, "locked": [], "assignment": {"00C": "A"},
    }  # fmt: skip
    v2 = {
        **v1, "version": 2, "name": "Old v2", "revision": 4,
        "updated": "2015-01-01T00:00:00+00:00", "geography": "abc",
    }  # fmt: skip
    for body in (v1, v2):
        (tmp_path / file_name_for(body["name"])).write_text(json.dumps(body))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    store = ScenarioStore(tmp_path)
    old1, old2 = store.load("Old v1"), store.load("Old v2")
    assert (old1.revision, old1.created_by, old1.updated_by) == (1, None, None)
    assert (old2.revision, old2.updated, old2.geography) == (4, v2["updated"], "abc")
    assert store.history("Old v2") == [old2]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # reading wrote nothing
    saved = store.save(old2, overwrite=True, expected_revision=4, user="alice")
    assert (saved.revision, saved.created_by, saved.updated_by) == (5, None, "alice")
    assert store.history("Old v2") == [old2, saved]


def test_read_only_links_name_a_scenario_by_its_id_and_nothing_else(tmp_path):
    store = ScenarioStore(tmp_path)
    saved = store.save(Scenario(name="North <b>option</b> A", assignment=PLAN_1))
    ident = store.id_for(saved.name)
    assert store.by_id(ident) == saved
    for hostile in ("../../etc/passwd", ".audit-log", "", None, ["x"], ident + "/", "a" * 500):
        with pytest.raises(ScenarioError, match="is not a scenario id"):
            store.by_id(hostile)
    with pytest.raises(ScenarioError, match="no saved scenario has the id 'Gone-0123456789ab'"):
        store.by_id("Gone-0123456789ab")


def test_the_audit_log_skips_damaged_lines_and_only_appends(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(Scenario(name="A", assignment=PLAN_1), user="alice")
    with open(store.log.path, "ab") as fh:
        fh.write(b"{half a line\n[1, 2]\n")
    store.save(Scenario(name="B", assignment=PLAN_1), user="bob")
    assert [e["scenario"] for e in store.log.read()] == ["A", "B"]
    assert store.log.path.read_bytes().count(b"\n") == 4
    with pytest.raises(FootprintError, match=r"the audit log records save, .*; received 'steal'"):
        store.log.append("steal", scenario="A", user="x")
