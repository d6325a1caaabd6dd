"""Reasons read correctly: each one's numbers are the ones that break the rule (the checks'
sentences; footprint.reasons turns them into short lines, tested in test_reasons.py)."""

from __future__ import annotations

import pytest

from footprint.constraints import Constraints
from footprint.feasibility import prepare
from footprint.optimiser import optimise
from footprint.problem import Problem


def _star(a: int, b: int, c: int | None = None) -> Problem:
    """Satellites a, b (and c) touching only the hub h; h touches the rest r."""
    pops = {"a": a, "b": b, "h": 500, "r": 600}
    edges = [("a", "h"), ("b", "h"), ("h", "r")]
    if c is not None:
        pops["c"] = c
        edges.append(("c", "h"))
    return Problem.build(populations=pops, edges=edges)


def test_satellites_that_together_pass_the_floor_say_none_reaches_it_alone() -> None:
    # the Isle of Wight, Portsmouth and Southampton case: 200 + 250 + 280 = 730 is above the
    # floor of 300, but none of the three touches another, so each needs the hub
    p = _star(200, 250, 280)
    c = Constraints(min_population=300, max_population=1000, la_rule="off")
    r = optimise(p, c)
    assert r.status == "infeasible"
    (check,) = r.checks
    assert check.name == "satellites-above-ceiling"
    assert check.message == (
        "a (200 population), b (250 population) and c (280 population) do not touch one "
        "another and each is below the floor of 300, so none reaches it alone; each touches "
        "the rest of the map only through h (500 population), so one footprint must hold all "
        "3 and h (1,230), above the ceiling of 1,000; raise the ceiling to at least 1,230, "
        "lower the floor"
    )
    assert "730 population) cannot reach" not in check.message
    assert [part["population"] for part in check.facts["parts"]] == [200, 250, 280]
    assert check.facts["needed"] == 1230 and check.facts["population"] == 730
    assert optimise(p, c.replace(max_population=1230)).status == "optimal"


def test_one_satellite_is_said_alone() -> None:
    p = Problem.build(
        populations={"a": 100, "a2": 100, "h": 500, "r": 600},
        edges=[("a", "a2"), ("a2", "h"), ("h", "r")],
    )
    c = Constraints(min_population=300, max_population=650, la_rule="off")
    _inst, checks = prepare(p, c)
    (check,) = checks
    assert check.message.startswith(
        "a, a2 (200 population) is below the floor of 300 and touches the rest of the map only "
        "through h (500 population), so one footprint must hold it and h (700)"
    )


def test_a_count_with_locked_footprints_says_how_many_more_are_needed() -> None:
    # 4 footprints asked for, 1 locked (l): the other 3 need 900 among free units of 700
    p = Problem.build(
        populations={"l": 400, "a": 300, "b": 200, "c": 200},
        edges=[("l", "a"), ("a", "b"), ("b", "c")],
    )
    current = {"l": "L"}
    c = Constraints(min_population=300, n_footprints=4, la_rule="off", locked=("L",))
    r = optimise(p, c, current=current)
    assert r.status == "infeasible"
    message = next(ch.message for ch in r.checks if "need" in ch.message)
    assert message == (
        "4 footprints asked for need 3 besides the 1 locked of at least 300, 900 population "
        "among the free units, but they have only 700"
    )


@pytest.mark.realdata
def test_the_isle_of_wight_reason_on_england(dataset) -> None:
    p = Problem.from_dataset(dataset)
    r = optimise(p, Constraints(max_population=2_000_000, la_rule="whole-la", time_limit=30))
    assert r.status == "infeasible"
    (reason,) = r.reasons
    assert reason.startswith(
        "NHS Isle of Wight (141,554 registered patients), NHS Portsmouth (218,672 registered "
        "patients) and NHS Southampton (269,948 registered patients) do not touch one another "
        "and each is below the floor of 300,000, so none reaches it alone"
    )
    assert "hold all 3 and Hampshire (2,017,183), above the ceiling of 2,000,000" in reason
