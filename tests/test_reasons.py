"""Why no plan exists, in a planner's words: one line per reason, with what to change."""

from __future__ import annotations

import itertools

import pytest

from footprint.constraints import Constraints
from footprint.feasibility import Check
from footprint.optimiser import optimise
from footprint.problem import Problem
from footprint.reasons import Suggestion, explain, least_ceiling

LABEL = "registered patients (QOF 2013/14)"


def strip(pops: list[int], **kw) -> Problem:
    """Units u0, u1... in a row, each its own name 'Unit i'."""
    codes = [f"u{i}" for i in range(len(pops))]
    return Problem.build(
        populations=dict(zip(codes, pops, strict=True)),
        edges=list(itertools.pairwise(codes)),
        names={c: f"Unit {c[1:]}" for c in codes},
        population_label=LABEL,
        **kw,
    )


def reasons_of(p: Problem, c: Constraints, current=None):
    r = optimise(p, c, current=current)
    assert r.status == "infeasible"
    return explain(r.checks, population_label=p.population_label)


def test_an_la_above_the_ceiling_is_named_with_its_figures_and_both_ways_out() -> None:
    p = strip(
        [600_000, 500_000, 414_902, 400_000],
        blocks={"u0": "E10000016", "u1": "E10000016", "u2": "E10000016", "u3": "E06000035"},
        la_names={"E10000016": "Kent", "E06000035": "Medway"},
    )
    (reason,) = reasons_of(p, Constraints(min_population=300_000, max_population=1_000_000))
    assert reason.line == (
        "Kent (1,514,902 registered patients) cannot stay whole under a ceiling of "
        "1,000,000: raise the ceiling to at least 1,514,902 or switch the LA rule off"
    )
    assert reason.suggestions == (
        Suggestion("raise-ceiling", "Raise the ceiling to 1,514,902", 1_514_902),
        Suggestion("la-rule-off", "Switch the LA rule off"),
    )
    assert "must stay in one footprint" in reason.detail  # the full sentence behind it
    # and the suggestions are true: either change lets a plan through
    assert optimise(p, Constraints(min_population=300_000, max_population=1_514_902)).assignment
    off = Constraints(min_population=300_000, max_population=1_000_000, la_rule="off")
    assert optimise(p, off).assignment


def test_a_keep_together_group_above_the_ceiling_is_not_called_an_la() -> None:
    p = strip([100, 100, 100])
    c = Constraints(
        min_population=100, max_population=150, la_rule="off", keep_together=[{"u0", "u1"}]
    )
    (reason,) = reasons_of(p, c)
    assert reason.line.startswith("Unit 0, Unit 1 (200 registered patients) must share one")
    assert [s.kind for s in reason.suggestions] == ["raise-ceiling"]


def test_a_locked_footprint_below_the_floor_offers_unlocking_it_or_a_lower_floor() -> None:
    p = strip([100, 300, 300])
    c = Constraints(min_population=300, la_rule="off", locked=("North <b>",))
    (reason,) = reasons_of(p, c, current={"u0": "North <b>"})
    assert reason.line == (
        "Locked footprint 'North <b>' (100 registered patients) is below the floor of 300: "
        "unlock it or lower the floor to 100"
    )
    assert reason.suggestions == (
        Suggestion("unlock", "Unlock 'North <b>'", "North <b>"),
        Suggestion("lower-floor", "Lower the floor to 100", 100),
    )


def test_no_room_under_the_ceiling_names_the_ceiling_that_lets_it_through() -> None:
    # u0 (100) is below the floor; its only neighbour u1 (200) would take it to 300 > 250
    p = strip([100, 200, 100, 100])
    c = Constraints(min_population=150, max_population=250, la_rule="off")
    (reason,) = reasons_of(p, c)
    assert reason.line == (
        "Unit 0 (100 registered patients) is below the floor of 150 and every neighbour "
        "would take it above the ceiling of 250: raise the ceiling to at least 300 or lower "
        "the floor to 100"
    )
    assert least_ceiling([reason]) == 300
    raised = Constraints(min_population=150, max_population=300, la_rule="off")
    assert optimise(p, raised).assignment  # the figure is the one that works


def test_the_whole_map_below_the_floor_says_how_low_the_floor_must_go() -> None:
    (reason,) = reasons_of(strip([100, 100]), Constraints(min_population=1000, la_rule="off"))
    assert reason.line == (
        "The whole map has 200 registered patients, below the floor of 1,000: lower the "
        "floor to 200 or less"
    )
    assert reason.suggestions == (Suggestion("lower-floor", "Lower the floor to 200", 200),)


def test_a_check_without_figures_keeps_its_sentence_and_suggests_nothing() -> None:
    (reason,) = explain([Check("count-unreachable", "7 footprints asked for, but at most 6")])
    assert reason.line == "7 footprints asked for, but at most 6"
    assert reason.suggestions == ()
    # facts of another shape than expected fall back to the sentence, never fail
    odd = Check("group-above-ceiling", "a group is above the ceiling", {"place": "X"})
    assert explain([odd])[0].line == "A group is above the ceiling"


def test_the_same_reason_found_twice_is_said_once_and_least_ceiling_takes_the_largest() -> None:
    facts = {"place": "Kent", "la": True, "population": 1_514_902, "ceiling": 1_000_000}
    other = {"place": "Essex", "la": True, "population": 1_400_000, "ceiling": 1_000_000}
    out = explain(
        [
            Check("group-above-ceiling", "x", facts),
            Check("group-above-ceiling", "x", facts),
            Check("group-above-ceiling", "y", other),
        ]
    )
    assert [r.line.split(" (")[0] for r in out] == ["Kent", "Essex"]
    assert least_ceiling(out) == 1_514_902
    assert least_ceiling([]) is None


@pytest.mark.realdata
def test_kent_under_a_ceiling_of_a_million_on_the_real_map(dataset) -> None:
    from footprint.feasibility import prepare

    p = Problem.from_dataset(dataset)
    inst, checks = prepare(p, Constraints(max_population=1_000_000))
    assert inst is None
    lines = [r.line for r in explain(checks, population_label=p.population_label)]
    kent = [line for line in lines if line.startswith("Kent (")]
    assert kent == [
        "Kent (1,514,902 registered patients) cannot stay whole under a ceiling of "
        "1,000,000: raise the ceiling to at least 1,514,902 or switch the LA rule off"
    ], lines
    print("\n".join(lines))
