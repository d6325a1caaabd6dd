"""Constraints: validated on construction, every problem listed, JSON round trip."""

from __future__ import annotations

import pytest

from footprint.constraints import Constraints
from footprint.errors import ConstraintsError


def test_defaults_are_the_2013_rules():
    c = Constraints()
    assert (c.objective, c.min_population, c.la_rule) == ("max-footprints", 300_000, "whole-la")
    assert c.count_range == (1, None)


def test_every_problem_is_listed_at_once():
    with pytest.raises(
        ConstraintsError,
        match=(
            r"(?s)objective: got 'most'; expected one of 'max-footprints'.*"
            r"min_population: got -5; expected 0 or more.*"
            r"keep_apart 1: got 'a' twice; expected two different codes.*"
            r"time_limit: got 0; expected seconds above 0"
        ),
    ):
        Constraints(objective="most", min_population=-5, keep_apart=[("a", "a")], time_limit=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"min_population": 300_000, "max_population": 200_000},
            "max_population 200,000 is below min_population 300,000",
        ),
        ({"objective": "compact"}, "objective 'compact' needs n_footprints"),
        ({"n_footprints": (30, 20)}, r"got the range \(30, 20\); expected 1 <= lowest"),
        ({"n_footprints": "many"}, "expected a number such as 25 or a range"),
        ({"keep_together": ["E38000001"]}, "got the single string 'E38000001'"),
        ({"fixed": [("a", "")]}, "the code and the footprint name are needed"),
        ({"la_rule": "county"}, "la_rule: got 'county'"),
        ({"solver": "gurobi"}, "solver: got 'gurobi'"),
        ({"mip_gap": 1.5}, "mip_gap: got 1.5"),
        ({"min_population": True}, "min_population: got True; expected a whole number"),
    ],
)
def test_each_bad_value_is_named(kwargs, message):
    with pytest.raises(ConstraintsError, match=message):
        Constraints(**kwargs)


def test_json_round_trip_and_hashable():
    c = Constraints(
        objective="compact",
        n_footprints=(20, 25),
        max_population=1_000_000,
        keep_together=[["b", "a"]],
        keep_apart=[("d", "c")],
        fixed={"x": "North"},
        locked=["L"],
        disabled_edges=[("q", "p")],
        time_limit=30,
        solver="cbc",
    )
    again = Constraints.from_json(c.to_json())
    assert again == c and hash(again) == hash(c)
    assert c.keep_apart == (("c", "d"),) and c.disabled_edges == (("p", "q"),)
    assert c.fixed_map == {"x": "North"}
    assert c.replace(n_footprints=22).n_footprints == 22


def test_bad_json_is_explained():
    with pytest.raises(ConstraintsError, match="not valid JSON"):
        Constraints.from_json("{oops")
    with pytest.raises(ConstraintsError, match=r"unknown setting.*'floor'"):
        Constraints.from_json('{"floor": 3}')
    with pytest.raises(ConstraintsError, match="expected a JSON object, got list"):
        Constraints.from_json("[1]")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        (
            "max_population",
            10**23,
            r"max_population: got 100,000,000,000,000,000,000,000; expected "
            r"at most 1,000,000,000,000",
        ),
        ("min_population", float("inf"), r"min_population: got inf; expected a whole number"),
        ("min_population", float("nan"), r"min_population: got nan; expected a whole number"),
    ],
)
def test_populations_beyond_any_map_are_refused_in_words(field, value, words):
    # a ceiling of 10**23 reached the optimiser and failed there with an AttributeError;
    # inf and nan failed inside int() with OverflowError and ValueError
    with pytest.raises(ConstraintsError, match=words):
        Constraints(**{field: value})


def test_one_check_of_rule_codes_serves_the_optimiser_and_the_validator():
    from footprint import optimise, validate_plan
    from footprint.problem import Problem

    p = Problem.build(populations={"a": 5, "b": 5}, edges=[("a", "b")], la_layer=False)
    c = Constraints(min_population=1, la_rule="off", keep_apart=[("a", "zz")], time_limit=5)
    words = r"keep_apart pair 1 names 1 code that is not a unit of this geography: zz"
    with pytest.raises(ConstraintsError, match=words):
        optimise(p, c)
    with pytest.raises(ConstraintsError, match=words):
        validate_plan(p, {"a": "A", "b": "A"}, c)
