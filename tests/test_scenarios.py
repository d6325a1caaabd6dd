"""Scenarios on disk: save/list/load/delete/rename, restarts, crashes mid-write, hostile names."""

from __future__ import annotations

import json
import os

import pytest

from footprint.errors import InputFileError, PlanError
from footprint.scenarios import Scenario, ScenarioError, ScenarioStore, file_name_for


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
    store.save(earlier)
    assert [s.name for s in store.list()] == ["Option A", "Option B"]  # by created time
    loaded = store.load("Option A")
    assert loaded == earlier
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
    with pytest.raises(ScenarioError, match="called 'Plan' is saved already; choose another"):
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
    assert sorted(os.listdir(tmp_path)) == before  # no temp file left behind
    assert store.load("Plan").notes == "old"


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "/etc/passwd", "..", "C:\\Windows\\system32", ".hidden", "a/b", "a\\b",
     "名前 ✓", "con", "x" * 200],
)
def test_hostile_names_stay_inside_the_folder(tmp_path, name):
    folder = tmp_path / "store"
    store = ScenarioStore(folder)
    path = store.save(Scenario(name=name, assignment={"u": "f"}))
    assert path.parent == folder
    assert not path.name.startswith(".")
    assert os.listdir(tmp_path) == ["store"]
    assert store.load(name).name == name.strip()


def test_similar_names_do_not_share_a_file():
    assert file_name_for("A/B") != file_name_for("A_B")


@pytest.mark.parametrize(
    ("name", "message"),
    [("   ", "cannot be empty"), ("a\nb", "control characters"), ("x" * 201, "at most 200"),
     (3, "must be text; received int")],
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
