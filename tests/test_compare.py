"""Comparing plans on tiny hand-made plans with known answers, plus the real reference groupings."""

from __future__ import annotations

import pytest

from footprint.compare import compare_plans, reference_plan
from footprint.errors import PlanError

POP = {"u1": 100, "u2": 200, "u3": 300, "u4": 400, "u5": 500, "u6": 600}
PLAN = {"u1": "A", "u2": "A", "u3": "B", "u4": "B", "u5": "C", "u6": "C"}


def test_identical_up_to_renaming_has_no_moves():
    renamed = {"u1": "north", "u2": "north", "u3": "west", "u4": "west", "u5": "east", "u6": "east"}
    c = compare_plans(PLAN, renamed, populations=POP)
    assert c.n_moved == 0 and c.identical
    assert c.moves.empty
    assert list(c.moves.columns) == [
        "unit_code", "name", "population", "from_footprint", "to_footprint"
    ]
    assert c.share_kept_together == 1.0
    assert c.matching == {"A": "north", "B": "west", "C": "east"}
    assert c.total_population == 2100


def test_one_unit_moved_is_exactly_that_move():
    b = {**PLAN, "u3": "A"}  # u3 (300 people) leaves B for A
    c = compare_plans(PLAN, b, populations=POP, names={"u3": "Unit three"})
    assert c.n_moved == 1
    row = c.moves.iloc[0].to_dict()
    assert row == {
        "unit_code": "u3",
        "name": "Unit three",
        "population": 300,
        "from_footprint": "B",
        "to_footprint": "A",
    }
    assert c.population_moved == 300
    assert c.share_kept_together == pytest.approx(1800 / 2100)
    assert c.matching == {"A": "A", "B": "B", "C": "C"}


def test_matching_follows_population_not_labels():
    # B's labels are shuffled; the big unit u4 decides which footprint "B" became
    b = {"u1": "B", "u2": "B", "u3": "C", "u4": "A", "u5": "A", "u6": "A"}
    c = compare_plans(PLAN, b, populations=POP)
    # A->B (300 shared), B->A? no: B shares 300 with C and 400 with A; C shares 1100 with A
    assert c.matching == {"A": "B", "B": "C", "C": "A"}
    assert c.moves["unit_code"].tolist() == ["u4"]
    assert c.share_kept_together == pytest.approx((300 + 300 + 1100) / 2100)


def test_merged_footprints_move_the_smaller_side():
    b = {u: ("AB" if f in "AB" else "C") for u, f in PLAN.items()}
    c = compare_plans(PLAN, b, populations=POP)
    assert c.matching == {"A": None, "B": "AB", "C": "C"}
    assert c.moves["unit_code"].tolist() == ["u1", "u2"]
    assert c.moves["to_footprint"].tolist() == ["AB", "AB"]
    pairs = c.pairs.set_index("footprint_a")
    assert pairs.loc["B", "shared_population"] == 700
    assert pairs.loc["B", "population_b"] == 1000


def test_split_footprint_lists_the_new_one():
    b = {**PLAN, "u6": "D"}
    c = compare_plans(PLAN, b, populations=POP)
    assert c.matching["C"] == "D"  # u6 (600) outweighs u5 (500)
    assert c.moves["unit_code"].tolist() == ["u5"]
    unmatched = c.pairs[c.pairs["footprint_a"].isna()]
    assert unmatched["footprint_b"].tolist() == ["C"]


def test_unassigned_units():
    a = {**PLAN, "u6": ""}
    b = {k: v for k, v in PLAN.items() if k != "u1"}
    c = compare_plans(a, b, populations=POP)
    moved = c.moves.set_index("unit_code")
    assert moved.loc["u1", "from_footprint"] == "A" and moved.loc["u1", "to_footprint"] == ""
    assert moved.loc["u6", "from_footprint"] == "" and moved.loc["u6", "to_footprint"] == "C"
    assert c.n_moved == 2
    assert c.share_kept_together == pytest.approx((2100 - 700) / 2100)


def test_codes_with_leading_zeros_stay_text():
    c = compare_plans({"00C": "X"}, {"00C": "Y"}, populations={"00C": 5})
    assert c.n_moved == 0
    pops = {"00C": 5, "01A": 1}
    c = compare_plans({"00C": "X", "01A": "X"}, {"00C": "Y", "01A": "Z"}, populations=pops)
    assert c.moves["unit_code"].tolist() == ["01A"]


def test_problems_are_listed_together():
    expected = r"(?s)Cannot compare.*unit 'u1' -> 7.*1 unit\(s\) have no population: u9"
    with pytest.raises(PlanError, match=expected):
        compare_plans({"u1": 7, "u9": "A"}, {}, populations=POP)


def test_reference_plan_from_a_tiny_geography():
    class Geo:
        name = "tiny"
        import pandas as _pd

        units = _pd.DataFrame(
            {"code": ["a", "b", "c"], "team": ["T1", "T1", None], "population": [1, 2, 3]}
        )

    assert reference_plan(Geo, "team") == {"a": "T1", "b": "T1"}
    with pytest.raises(PlanError, match="has no grouping column 'region'; choose one of 'team'"):
        reference_plan(Geo, "region")


@pytest.mark.realdata
def test_area_teams_against_regions(geography):
    teams = reference_plan(geography, "area_team_code")
    regions = reference_plan(geography, "region_code")
    assert len(teams) == 211 and len(set(teams.values())) == 25
    pops = dict(zip(geography.units["code"], geography.units["population"], strict=True))
    same = compare_plans(teams, {u: "x" + t for u, t in teams.items()}, populations=pops)
    assert same.n_moved == 0 and same.share_kept_together == 1.0
    c = compare_plans(regions, teams, populations=pops)
    assert sum(v is not None for v in c.matching.values()) == 4
    assert c.population_moved + round(c.share_kept_together * c.total_population) == 56_324_887
    # each region keeps the units of its matched Area Team; every other unit moved
    kept = [u for u, t in teams.items() if t in set(c.matching.values())]
    assert c.n_moved == 211 - len(kept)
