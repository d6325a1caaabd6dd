"""The optimise form without widgets: values -> Constraints, a result -> words."""

from __future__ import annotations

import pytest

from footprint.errors import ConstraintsError
from footprint.form import (
    box_lines,
    constraints_from_form,
    drawing_message,
    footprint_count,
    kept_drawing,
    placement_reading,
    progress_words,
    verdict,
)
from footprint.rule_text import unit_lookup

LOOKUP = unit_lookup(
    ["E1", "E2", "E3"], names=["North", "South", "East"], nhs_codes=["01A", "02B", "03C"]
)


def test_every_field_reaches_the_constraints_including_the_command_lines_own():
    c = constraints_from_form(
        lookup=LOOKUP,
        unit="CCG",
        keep_together=box_lines("North, South\n\n", box="Keep together"),
        keep_apart=[("--keep-apart 'E1,E3'", "E1, E3")],
        fixed=box_lines("03C, East side", box="Fixed"),
        fixed_units=[("E2", "Kept")],
        edges=[("E2", "E3")],
        objective="fewest-changes",
        min_population=500_000,
        max_population=None,
        n_footprints=footprint_count("between", 2, 4),
        la_rule="off",
        locked=("Kept",),
        time_limit=9.0,
        mip_gap=0.01,
        solver="highs",
        change_measure="population",
    )
    assert c.keep_together == (frozenset({"E1", "E2"}),)
    assert c.keep_apart == (("E1", "E3"),)
    assert dict(c.fixed) == {"E3": "East side", "E2": "Kept"}
    assert c.disabled_edges == (("E2", "E3"),)
    assert (c.min_population, c.n_footprints, c.la_rule) == (500_000, (2, 4), "off")
    assert (c.mip_gap, c.change_measure) == (0.01, "population")


def test_every_problem_is_listed_once_by_where_it_was_written():
    with pytest.raises(ConstraintsError, match="The constraints are not usable") as info:
        constraints_from_form(
            lookup=LOOKUP,
            unit="CCG",
            problems=["--fix 'x': expected CODE=NAME"],
            keep_together=box_lines("North, Nowhere", box="Keep together"),
            min_population=300_000,
            max_population=100_000,
        )
    problems = info.value.problems
    assert problems[0] == "--fix 'x': expected CODE=NAME"
    assert any(p.startswith("Keep together, line 1: 'Nowhere' is not a CCG") for p in problems)
    assert any("below min_population 300,000" in p for p in problems)
    assert str(info.value).count("The constraints are not usable") == 1


def test_the_footprint_count_of_each_mode():
    assert footprint_count("any", 3, 5) is None
    assert footprint_count("exactly", 3, 5) == 3
    assert footprint_count("between", 3, 5) == (3, 5)


def test_a_repair_counting_population_says_what_the_geography_counts():
    result = {
        "status": "optimal",
        "footprints": 4,
        "objective": "fewest-changes",
        "objective_value": 12_345,
        "change_measure": "population",
    }
    kind, sentence = verdict(result, population_label="residents (2021 census)")
    assert kind == "success"
    assert sentence == (
        "Proven best (optimal): 4 footprints, moving 12,345 residents from "
        "their footprint in the drawing."
    )
    assert "registered patients" not in sentence
    _, units = verdict(
        {**result, "change_measure": "units"}, population_label="residents", unit="ward"
    )
    assert "moving 12,345 wards" in units


def test_the_drawing_page_is_told_where_the_la_rule_can_be_switched_off():
    said = (
        "LA block 3 (2 units) is split across 2 footprints: A, B; put the whole block in "
        "one footprint, or switch the LA rule off"
    )
    words = drawing_message(said)
    assert "switch the LA rule off" not in words
    assert words.endswith(
        "or plan with the LA rule off on the Optimise page (the drawing is "
        "always checked with it on)"
    )


# --- partial drawings -------------------------------------------------------------------------

#: A partial drawing of ten units: three drawn footprints (North, South, East) hold u0..u5;
#: u6..u9 are in no footprint.
PARTIAL = {"u0": "North", "u1": "North", "u2": "South", "u3": "South", "u4": "East", "u5": "East"}
POPS = {f"u{i}": 100_000 * (i + 1) for i in range(10)}


def test_keeping_my_footprints_fixes_every_drawn_unit_to_its_name():
    fixed = kept_drawing({**PARTIAL, "u9": ""})
    assert fixed == sorted(PARTIAL.items())  # a unit with no footprint is left to plan
    c = constraints_from_form(
        lookup=unit_lookup(list(POPS)), fixed_units=fixed, min_population=1, la_rule="off"
    )
    assert dict(c.fixed) == PARTIAL


def test_a_repair_of_a_partial_drawing_says_what_it_did_with_the_unassigned_units():
    # the case: the unassigned units all went into one new footprint, and
    # three drawn units moved; "Proven best" alone would hide that
    plan = {
        **PARTIAL,
        "u1": "South",
        "u3": "East",
        "u5": "North",
        **{f"u{i}": "FP9" for i in range(6, 10)},
    }
    reading = placement_reading(
        PARTIAL,
        plan,
        unit="CCG",
        populations=POPS,
        population_label="registered patients (QOF 2013/14)",
    )
    assert reading == (
        "4 CCGs that were in no footprint were placed, all in one new "
        "footprint of 3,400,000 registered patients; 3 CCGs moved."
    )
    result = {
        "status": "optimal",
        "footprints": 4,
        "objective": "fewest-changes",
        "objective_value": 3,
        "change_measure": "units",
        "drawing": PARTIAL,
        "assignment": plan,
    }
    kind, sentence = verdict(
        result, population_label="registered patients", unit="CCG", populations=POPS
    )
    assert kind == "warning"
    assert "Proven best" not in sentence
    assert sentence.startswith(
        "Optimal for the drawn CCGs (no fewer moves are possible): "
        "4 footprints. 4 CCGs that were in no footprint were placed"
    )
    assert "where the others went was not planned" in sentence
    assert "'Keep my footprints, plan the rest'" in sentence


def test_the_placement_reading_names_where_the_units_went_and_counts_moves_once():
    spread = {**PARTIAL, "u6": "North", "u7": "South", "u8": "New A", "u9": "New B"}
    assert placement_reading(PARTIAL, spread, unit="ward") == (
        "4 wards that were in no footprint were placed, in 4 footprints, 2 of them new; "
        "0 wards moved."
    )
    one = placement_reading(PARTIAL, {**PARTIAL, "u6": "East"}, unit="ward", unit_plural="wards")
    assert one == (
        "1 ward that was in no footprint was placed, into the drawn footprint "
        "'East'; 0 wards moved."
    )
    # a footprint renamed whole is matched, not counted as moved (the comparison's meaning)
    renamed = {**{u: ("Northern" if f == "North" else f) for u, f in PARTIAL.items()}, "u6": "East"}
    assert placement_reading(PARTIAL, renamed).endswith("0 CCGs moved.")
    # a full drawing: nothing to say, and the verdict is the plain one
    full = {**PARTIAL, **{f"u{i}": "East" for i in range(6, 10)}}
    assert placement_reading(full, full) is None
    kind, sentence = verdict(
        {
            "status": "optimal",
            "footprints": 3,
            "objective": "fewest-changes",
            "objective_value": 0,
            "drawing": full,
            "assignment": full,
        },
        population_label="residents",
    )
    assert (kind, sentence) == (
        "success",
        "Proven best (optimal): 3 footprints, moving 0 CCGs from their footprint in the drawing.",
    )


RP = "registered patients (QOF 2013/14 list sizes)"


def test_a_cancelled_run_says_when_and_keeps_what_it_found_in_its_own_words():
    base = {"objective": "max-footprints", "time_limit": 60, "seconds": 12.4, "cancelled": True}
    kind, sentence = verdict(
        {
            **base,
            "status": "feasible",
            "footprints": 48,
            "gap": 0.04,
            "bound": 50,
            "objective_value": 48,
            "assignment": {"E1": "FP01"},
        },
        population_label=RP,
    )
    assert kind == "warning"
    assert sentence == (
        "Cancelled after 12 s; the best plan found by then. Feasible, within 4.0% of the "
        "best possible (bound 50): 48 footprints."
    )
    kind, sentence = verdict(
        {**base, "status": "no-solution", "assignment": {}}, population_label=RP
    )
    assert (kind, sentence) == (
        "warning",
        "Cancelled after 12 s, before any plan was found: nothing was saved.",
    )


def test_an_infeasible_result_shown_reason_by_reason_says_so_in_one_line():
    res = {"status": "infeasible", "reasons": ["a", "b"], "explained": True}
    assert verdict(res, population_label=RP) == (
        "error",
        "Infeasible: no plan can meet every rule, for 2 reasons below.",
    )
    one = {**res, "reasons": ["a"]}
    assert verdict(one, population_label=RP)[1].endswith("for the reason below.")
    # without the lines below, the reasons stay in the sentence
    assert verdict({**res, "explained": False}, population_label=RP)[1] == "Infeasible: a; b"


@pytest.mark.parametrize(
    ("kw", "head", "figures"),
    [
        (
            {"state": "waiting", "stage": "Waiting for a free solver: others run."},
            "Waiting for a free solver",
            "Waiting for a free solver: others run.",
        ),
        (
            {
                "state": "running",
                "stage": "compact: solve 2 (1 contiguity cuts so far)…",
                "value": 20.5,
                "bound": 19.0,
            },
            "Solving: 13 s of 60 s",
            "compact: solve 2 (1 contiguity cuts so far): best so far 20.5, bound 19 (gap 7.3%).",
        ),
        (
            {"state": "running", "stage": "Checking the constraints against the map…"},
            "Solving: 13 s of 60 s",
            "Checking the constraints against the map: no plan in this step yet.",
        ),
        (
            {"state": "cancelling", "stage": "compact: solve 1…", "value": 20.5},
            "Cancelling after 13 s: the run ends its current step and keeps its best plan",
            "compact: solve 1: best so far 20.5, no bound proven yet.",
        ),
    ],
)
def test_progress_in_words(kw, head, figures):
    words = {"elapsed": 12.6, "limit": 60.0, "value": None, "bound": None, **kw}
    assert progress_words(**words) == (head, figures)
