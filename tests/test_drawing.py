"""The drawing's rules without Streamlit: assign, remove, rename, lock, undo, redo, keep."""

from __future__ import annotations

import random

import pytest

from footprint.drawing import HISTORY_LIMIT, Drawing
from footprint.errors import PlanError


def test_new_footprints_get_the_first_free_number():
    d, ch = Drawing().assign(["a"])
    assert ch.kind == "assigned" and ch.footprint == "Footprint 1" and ch.units == ("a",)
    d, ch = d.assign(["b"])
    assert ch.footprint == "Footprint 2"
    d, _ = d.unassign(["a"])
    assert d.new_footprint_name() == "Footprint 1"
    assert dict(d.assignment) == {"b": "Footprint 2"}


def test_assign_moves_and_says_from_where():
    d = Drawing.from_plan({"a": "North", "b": "South"})
    d2, ch = d.assign(["a", "b", "c"], "South")
    assert ch.kind == "assigned"
    assert ch.units == ("a", "c")  # b was in South already
    assert dict(ch.previous) == {"a": "North"}
    assert dict(d2.assignment) == {"a": "South", "b": "South", "c": "South"}
    assert dict(d.assignment) == {"a": "North", "b": "South"}  # the old drawing is untouched


def test_assigning_to_the_same_footprint_changes_nothing():
    d = Drawing.from_plan({"a": "North"})
    d2, ch = d.assign(["a"], "North")
    assert ch.kind == "unchanged" and not ch.changed and d2 is d
    assert not d2.can_undo


def test_locked_footprints_refuse_units_in_and_out_all_or_nothing():
    d = Drawing.from_plan({"a": "North", "b": "South"}, locked=["North"])
    d2, ch = d.assign(["b", "a"], "East")
    assert ch.kind == "refused" and ch.reason == "locked-unit" and ch.blocked == ("a",)
    assert d2 is d  # b did not move either
    d2, ch = d.assign(["b"], "North")
    assert (ch.reason, ch.blocked) == ("locked-target", ("North",))
    d2, ch = d.unassign(["a"])
    assert ch.reason == "locked-unit"
    d3, ch = d.set_locked("North", False)
    assert ch.kind == "unlocked"
    d4, ch = d3.assign(["a"], "South")
    assert ch.kind == "assigned" and not d4.locked


def test_rename_carries_the_lock_and_refuses_clashes():
    d = Drawing.from_plan({"a": "Footprint 1", "b": "Footprint 2"}, locked=["Footprint 1"])
    d2, ch = d.rename("Footprint 1", "  Tyne\nand Wear ")
    assert ch.kind == "renamed" and ch.footprint == "Tyne and Wear"
    assert dict(d2.assignment) == {"a": "Tyne and Wear", "b": "Footprint 2"}
    assert d2.locked == {"Tyne and Wear"}
    assert d.rename("Footprint 1", "Footprint 2")[1].reason == "name-taken"
    assert d.rename("Nowhere", "X")[1].reason == "no-such-footprint"
    assert d.rename("Footprint 1", "\x00\t")[1].reason == "empty-name"


def test_undo_and_redo_walk_the_history_and_a_new_action_clears_redo():
    d = Drawing()
    d, _ = d.assign(["a"], "N")
    d, _ = d.assign(["b"], "N")
    d, _ = d.set_locked("N", True)
    d, ch = d.undo()
    assert ch.kind == "undone" and not d.locked
    d, ch = d.undo()
    assert ch.units == ("b",) and dict(d.assignment) == {"a": "N"}
    d, ch = d.redo()
    assert dict(d.assignment) == {"a": "N", "b": "N"} and d.can_redo
    d, _ = d.assign(["c"], "S")
    assert not d.can_redo
    assert d.redo()[1].reason == "nothing-to-redo"
    assert Drawing().undo()[1].reason == "nothing-to-undo"


def test_history_is_bounded():
    d = Drawing()
    for i in range(HISTORY_LIMIT + 20):
        d, _ = d.assign([f"u{i}"], "N")
    steps = 0
    while d.can_undo:
        d, _ = d.undo()
        steps += 1
    assert steps == HISTORY_LIMIT


def test_replace_plan_is_one_undo_step():
    d = Drawing.from_plan({"a": "N"})
    d2, ch = d.replace_plan({"a": "S", "b": "S"}, locked=["S"])
    assert ch.kind == "replaced" and set(ch.units) == {"a", "b"} and d2.locked == {"S"}
    back, _ = d2.undo()
    assert dict(back.assignment) == {"a": "N"} and not back.locked


def test_locks_from_a_scenarios_unit_codes():
    plan = {"a": "N", "b": "N", "c": "S"}
    d = Drawing.from_plan(plan, locked_units=["a", "b"])
    assert d.locked == {"N"}
    assert d.locked_units == ("a", "b")
    # a footprint only partly listed is not locked
    assert Drawing.from_plan(plan, locked_units=["a"]).locked == frozenset()


def test_json_round_trip_keeps_history_and_drops_unknown_units():
    d = Drawing()
    d, _ = d.assign(["a", "b"], "=North")
    d, _ = d.set_locked("=North", True)
    d, _ = d.undo()
    back = Drawing.from_json(d.to_json())
    assert dict(back.assignment) == dict(d.assignment) and back.locked == d.locked
    assert back.can_undo and back.can_redo
    again, _ = back.redo()
    assert again.locked == {"=North"}
    only_a = Drawing.from_json(d.to_json(), known_units=["a"])
    assert dict(only_a.assignment) == {"a": "=North"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[[[", "a kept drawing is not readable JSON"),
        ('{"format": "other"}', "a kept drawing is not a drawing"),
        ('{"format": "footprint-drawing", "assignment": 5, "locked": []}', "is damaged"),
    ],
)
def test_damaged_kept_drawings_are_refused_in_words(text, words):
    with pytest.raises(PlanError, match=words):
        Drawing.from_json(text)


def test_random_actions_against_a_plain_model():
    """Any sequence of actions, compared with a dictionary kept by hand, and undone to empty."""
    rng = random.Random(7)
    units = [f"u{i}" for i in range(12)]
    d = Drawing()
    states = [(dict(d.assignment), set(d.locked))]
    for _ in range(300):
        action = rng.choice(["assign", "unassign", "lock", "unlock", "rename"])
        codes = rng.sample(units, rng.randint(1, 3))
        fps = d.footprints or ["F"]
        plan, locked = dict(d.assignment), set(d.locked)
        if action == "assign":
            target = rng.choice([*fps, None])
            d2, ch = d.assign(codes, target)
            if any(plan.get(c) in locked for c in codes) or (target in locked):
                assert ch.kind == "refused"
            else:
                name = target or ch.footprint
                plan.update(dict.fromkeys(codes, name))
        elif action == "unassign":
            d2, ch = d.unassign(codes)
            if any(plan.get(c) in locked for c in codes):
                assert ch.kind == "refused"
            else:
                plan = {c: f for c, f in plan.items() if c not in codes}
        elif action in ("lock", "unlock"):
            d2, ch = d.set_locked(rng.choice(fps), action == "lock")
            if ch.changed:
                locked = locked | {ch.footprint} if action == "lock" else locked - {ch.footprint}
        else:
            old = rng.choice(fps)
            d2, ch = d.rename(old, f"R{rng.randint(0, 5)}")
            if ch.changed:
                plan = {c: (ch.footprint if f == old else f) for c, f in plan.items()}
                locked = {ch.footprint if f == old else f for f in locked}
        locked &= set(plan.values())
        assert dict(d2.assignment) == plan and set(d2.locked) == locked
        if ch.changed:
            states.append((plan, locked))
        d = d2
    undone = 0
    while d.can_undo and undone < HISTORY_LIMIT:
        d, _ = d.undo()
        undone += 1
    expected = states[-undone - 1]
    assert (dict(d.assignment), set(d.locked)) == expected


# --- painting a block, and drawings kept across reloads and restarts --------------------------


def test_painting_a_block_puts_its_whole_block_in_one_action():
    from footprint.drawing import block_units

    blocks = {"a": "LA1", "b": "LA1", "c": "LA2"}
    d, ch = Drawing().assign(block_units("b", blocks), "North")
    assert ch.units == ("a", "b") and dict(d.assignment) == {"a": "North", "b": "North"}
    assert block_units("z", blocks) == ["z"]  # in no block: alone
    d, _ = d.undo()
    assert dict(d.assignment) == {}  # one undo step


def test_drawings_are_kept_with_their_history_and_locks(tmp_path):
    from footprint.drawing import keep_drawings, kept_drawings, new_token

    token = new_token()
    d, _ = Drawing().assign(["a", "b"], "North")
    d, _ = d.set_locked("North", True)
    d, _ = d.assign(["c"])
    other, _ = Drawing().assign(["r0c0"], "Mine")
    path = keep_drawings(tmp_path, token, {"england": d, "own": other})
    assert path.parent == tmp_path and path.name == f"{token}.json"
    back = kept_drawings(tmp_path, token)
    assert dict(back["england"].assignment) == dict(d.assignment)
    assert back["england"].locked == {"North"}
    undone, _ = back["england"].undo()
    assert dict(undone.assignment) == {"a": "North", "b": "North"}
    assert dict(back["own"].assignment) == {"r0c0": "Mine"}
    assert kept_drawings(tmp_path, new_token()) == {}  # nothing kept for another browser
    # a unit the geography no longer has is dropped
    only = kept_drawings(tmp_path, token, known_units={"england": ["a", "b"]})
    assert dict(only["england"].assignment) == {"a": "North", "b": "North"}
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, no litter


@pytest.mark.parametrize(
    "token",
    [
        "../../etc/passwd",
        "short",
        "a" * 65,
        "abc/def" * 5,
        "x" * 30 + "\n",
        None,
        42,
        "é" * 30,
        ".." + "a" * 30,
    ],
)
def test_a_token_that_is_not_a_token_is_refused_before_any_path(tmp_path, token):
    from footprint.drawing import keep_drawings, kept_drawings, valid_token

    assert valid_token(token) is None
    with pytest.raises(PlanError, match="a drawing token must be"):
        keep_drawings(tmp_path, token, {"x": Drawing()})
    with pytest.raises(PlanError, match="a drawing token must be"):
        kept_drawings(tmp_path, token)
    assert not list(tmp_path.iterdir())


def test_a_damaged_kept_file_is_refused_in_words(tmp_path):
    from footprint.drawing import kept_drawings, new_token

    token = new_token()
    (tmp_path / f"{token}.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(PlanError, match="is not readable JSON"):
        kept_drawings(tmp_path, token)
    (tmp_path / f"{token}.json").write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(PlanError, match="is not a file of kept drawings"):
        kept_drawings(tmp_path, token)


def test_a_scenarios_locked_units_come_back_as_locked_footprints():
    d, _ = Drawing().assign(["a", "b"], "North")
    d, _ = d.assign(["c"], "South")
    d, _ = d.set_locked("North", True)
    again = Drawing.from_plan(dict(d.assignment), locked_units=d.locked_units)
    assert again.locked == {"North"}


# --- painting an Area Team, several units at once, hostile names ------------------------------


def test_painting_an_area_team_takes_every_unit_of_the_team_in_one_undo_step():
    from footprint.drawing import painted_units

    teams = {"a": "Q44", "b": "Q45", "c": "Q44", "d": float("nan"), "e": ""}
    assert painted_units("c", teams) == ["a", "c"]
    # no team (missing, empty or NaN) or no grouping at all: the unit alone
    assert painted_units("d", teams) == ["d"]
    assert painted_units("e", teams) == ["e"]
    assert painted_units("z", teams) == ["z"]
    assert painted_units("a", None) == ["a"]
    d, ch = Drawing.from_plan({"b": "South"}).assign(painted_units("a", teams), "North")
    assert ch.kind == "assigned" and ch.units == ("a", "c")
    back, _ = d.undo()
    assert dict(back.assignment) == {"b": "South"}


def test_a_selection_goes_into_one_footprint_all_or_nothing():
    d = Drawing.from_plan({"a": "N", "b": "S", "c": "L"}, locked=["L"])
    d2, ch = d.assign(["a", "b", "x"], "N")
    assert ch.units == ("b", "x") and ch.previous == {"b": "S"}
    assert dict(d2.assignment) == {"a": "N", "b": "N", "c": "L", "x": "N"}
    # one locked unit in the selection: nothing moves, and the change says which
    same, ch = d.assign(["a", "b", "c"], "N")
    assert same is d and ch.reason == "locked-unit" and ch.blocked == ("c",)


@pytest.mark.parametrize(
    ("typed", "kept", "said"),
    [
        ("Tyne and Wear", "Tyne and Wear", ()),
        ("<b>North</b> & 'Co'", "<b>North</b> & 'Co'", ()),  # markup kept as text
        ("Tyne\nand\tWear", "Tyne and Wear", ("line breaks and tabs became spaces",)),
        ("Kent\u202e\u200b", "Kent", ("control or invisible characters were removed",)),
        ("  Kent   East ", "Kent East", ("extra spaces were removed",)),
        ("=" + "x" * 200, "=" + "x" * 79, ("it was cut to 80 characters",)),
    ],
)
def test_footprint_names_are_cleaned_and_the_cleaning_is_said(typed, kept, said):
    from footprint.drawing import NAME_LIMIT, footprint_name

    assert footprint_name(typed) == (kept, said)
    d, ch = Drawing.from_plan({"a": "Footprint 1"}).rename("Footprint 1", typed)
    assert ch.kind == "renamed" and ch.footprint == kept and ch.notes == said
    assert len(ch.footprint) <= NAME_LIMIT and list(d.footprints) == [kept]


def test_renaming_refuses_a_name_that_differs_only_in_case_and_an_empty_one():
    d = Drawing.from_plan({"a": "North", "b": "South"})
    _, ch = d.rename("South", " NORTH ")
    assert ch.reason == "name-taken" and ch.blocked == ("North",)
    _, ch = d.rename("South", "\u200b\x00")
    assert ch.reason == "empty-name" and ch.notes == (
        "control or invisible characters were removed",
    )
    # a footprint may change the case of its own name
    d2, ch = d.rename("North", "NORTH")
    assert ch.kind == "renamed" and d2.footprints == ["NORTH", "South"]


def test_table_edits_rename_and_lock_each_as_its_own_undo_step():
    from footprint.drawing import edit_words

    d = Drawing.from_plan({"a": "Footprint 1", "b": "Footprint 2", "c": "Footprint 3"})
    rows = ["Footprint 1", "Footprint 2", "Footprint 3"]
    edits = {
        "0": {"footprint": "North\n<b>East</b>", "locked": True},
        1: {"footprint": "north <b>east</b>"},  # the same name in another case: refused
        "7": {"footprint": "Nowhere"},  # not a row
        "x": {"footprint": "Nowhere"},  # not a row number
        2: {"population": 1},  # not an editable column
    }
    d2, done = d.apply_edits(rows, edits)
    assert [name for name, _ in done] == ["Footprint 1", "Footprint 1", "Footprint 2"]
    changes = [c for _, c in done]
    assert [c.kind for c in changes] == ["locked", "renamed", "refused"]
    assert dict(d2.assignment) == {
        "a": "North <b>East</b>",
        "b": "Footprint 2",
        "c": "Footprint 3",
    }
    assert d2.locked == {"North <b>East</b>"}
    assert edit_words(changes[1], old="Footprint 1") == (
        "success",
        "Renamed 'Footprint 1' to 'North <b>East</b>' (line breaks and tabs became spaces).",
    )
    kind, text = edit_words(changes[2], old="Footprint 2")
    assert kind == "warning" and text.startswith(
        "'Footprint 2' was not renamed: 'North <b>East</b>' is already a footprint's name"
    )
    assert edit_words(changes[0])[1].startswith("Locked 'Footprint 1'")
    # two undo steps: the rename, then the lock
    back, _ = d2.undo()
    assert back.locked == {"Footprint 1"} and "Footprint 1" in back.footprints
    back, _ = back.undo()
    assert dict(back.assignment) == dict(d.assignment) and not back.locked


def test_an_empty_or_invisible_name_from_the_table_is_refused_in_words():
    from footprint.drawing import edit_words

    d = Drawing.from_plan({"a": "North"})
    same, ((_, change),) = d.apply_edits(["North"], {0: {"footprint": "\u200b \x07"}})
    assert same is d and change.reason == "empty-name"
    assert edit_words(change, old="North") == (
        "warning",
        "'North' was not renamed: a footprint needs a name with at least one visible "
        "character (control or invisible characters were removed).",
    )
    same, ((_, change),) = d.apply_edits(["North"], {0: {"footprint": None}})
    assert change.reason == "empty-name"
