"""The optimise form without widgets: values -> Constraints, a result -> words."""

from __future__ import annotations

import pytest

from footprint.errors import ConstraintsError
from footprint.form import (
    box_lines,
    constraints_from_form,
    drawing_message,
    footprint_count,
    verdict,
)
from footprint.rule_text import unit_lookup

LOOKUP = unit_lookup(["E1", "E2", "E3"], names=["North", "South", "East"],
                     nhs_codes=["01A", "02B", "03C"])


def test_every_field_reaches_the_constraints_including_the_command_lines_own():
    c = constraints_from_form(
        lookup=LOOKUP, unit="CCG",
        keep_together=box_lines("North, South\n\n", box="Keep together"),
        keep_apart=[("--keep-apart 'E1,E3'", "E1, E3")],
        fixed=box_lines("03C, East side", box="Fixed"),
        fixed_units=[("E2", "Kept")], edges=[("E2", "E3")],
        objective="fewest-changes", min_population=500_000, max_population=None,
        n_footprints=footprint_count("between", 2, 4), la_rule="off",
        locked=("Kept",), time_limit=9.0, mip_gap=0.01, solver="highs",
        change_measure="population")
    assert c.keep_together == (frozenset({"E1", "E2"}),)
    assert c.keep_apart == (("E1", "E3"),)
    assert dict(c.fixed) == {"E3": "East side", "E2": "Kept"}
    assert c.disabled_edges == (("E2", "E3"),)
    assert (c.min_population, c.n_footprints, c.la_rule) == (500_000, (2, 4), "off")
    assert (c.mip_gap, c.change_measure) == (0.01, "population")


def test_every_problem_is_listed_once_by_where_it_was_written():
    with pytest.raises(ConstraintsError, match="The constraints are not usable") as info:
        constraints_from_form(
            lookup=LOOKUP, unit="CCG", problems=["--fix 'x': expected CODE=NAME"],
            keep_together=box_lines("North, Nowhere", box="Keep together"),
            min_population=300_000, max_population=100_000)
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
    result = {"status": "optimal", "footprints": 4, "objective": "fewest-changes",
              "objective_value": 12_345, "change_measure": "population"}
    kind, sentence = verdict(result, population_label="residents (2021 census)")
    assert kind == "success"
    assert sentence == ("Proven best (optimal): 4 footprints, moving 12,345 residents from "
                        "their footprint in the drawing.")
    assert "registered patients" not in sentence
    _, units = verdict({**result, "change_measure": "units"}, population_label="residents",
                       unit="ward")
    assert "moving 12,345 wards" in units


def test_the_drawing_page_is_told_where_the_la_rule_can_be_switched_off():
    said = ("LA block 3 (2 units) is split across 2 footprints: A, B; put the whole block in "
            "one footprint, or switch the LA rule off")
    words = drawing_message(said)
    assert "switch the LA rule off" not in words
    assert words.endswith("or plan with the LA rule off on the Optimise page (the drawing is "
                          "always checked with it on)")
