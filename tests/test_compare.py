"""Comparing plans on tiny hand-made plans with known answers, plus the real reference groupings."""

from __future__ import annotations

import itertools
import random

import pytest

from footprint.compare import compare_plans, match_footprints, moved_units, reference_plan
from footprint.errors import PlanError

POP = {"u1": 100, "u2": 200, "u3": 300, "u4": 400, "u5": 500, "u6": 600}
PLAN = {"u1": "A", "u2": "A", "u3": "B", "u4": "B", "u5": "C", "u6": "C"}


def test_identical_up_to_renaming_has_no_moves():
    renamed = {"u1": "north", "u2": "north", "u3": "west", "u4": "west", "u5": "east", "u6": "east"}
    c = compare_plans(PLAN, renamed, populations=POP)
    assert c.n_moved == 0 and c.identical
    assert c.moves.empty
    assert list(c.moves.columns) == [
        "unit_code",
        "name",
        "population",
        "from_footprint",
        "to_footprint",
        "matched_footprint",
        "change",
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
        "matched_footprint": "B",
        "change": "moved",
    }
    assert c.population_moved == 300
    assert c.share_kept_together == pytest.approx(1800 / 2100)
    assert c.matching == {"A": "A", "B": "B", "C": "C"}


def test_matching_follows_population_not_labels():
    # B's labels are shuffled; the big unit u4 decides which footprint "B" became
    b = {"u1": "B", "u2": "B", "u3": "C", "u4": "A", "u5": "A", "u6": "A"}
    c = compare_plans(PLAN, b, populations=POP, match_by="population")
    # A->B (300 shared), B->A? no: B shares 300 with C and 400 with A; C shares 1100 with A
    assert c.matching == {"A": "B", "B": "C", "C": "A"}
    assert c.moves["unit_code"].tolist() == ["u4"]
    assert c.share_kept_together == pytest.approx((300 + 300 + 1100) / 2100)


def test_merged_footprints_move_the_smaller_side():
    b = {u: ("AB" if f in "AB" else "C") for u, f in PLAN.items()}
    c = compare_plans(PLAN, b, populations=POP, match_by="population")
    assert c.matching == {"A": None, "B": "AB", "C": "C"}
    assert c.moves["unit_code"].tolist() == ["u1", "u2"]
    assert c.moves["to_footprint"].tolist() == ["AB", "AB"]
    pairs = c.pairs.set_index("footprint_a")
    assert pairs.loc["B", "shared_population"] == 700
    assert pairs.loc["B", "population_b"] == 1000


def test_split_footprint_lists_the_new_one():
    b = {**PLAN, "u6": "D"}
    c = compare_plans(PLAN, b, populations=POP, match_by="population")
    assert c.matching["C"] == "D"  # u6 (600) outweighs u5 (500)
    assert c.moves["unit_code"].tolist() == ["u5"]
    unmatched = c.pairs[c.pairs["footprint_a"].isna()]
    assert unmatched["footprint_b"].tolist() == ["C"]
    # by units it is a tie (one each), which the same name wins
    c = compare_plans(PLAN, b, populations=POP)
    assert c.matching["C"] == "C" and c.moves["unit_code"].tolist() == ["u6"]


def test_units_assigned_in_one_plan_are_listed_apart_not_moved():
    a = {**PLAN, "u6": ""}
    b = {k: v for k, v in PLAN.items() if k != "u1"}
    c = compare_plans(a, b, populations=POP)
    moved = c.moves.set_index("unit_code")
    assert moved.loc["u1", "from_footprint"] == "A" and moved.loc["u1", "to_footprint"] == ""
    assert moved.loc["u1", "change"] == "no longer assigned"
    assert moved.loc["u6", "from_footprint"] == "" and moved.loc["u6", "to_footprint"] == "C"
    assert moved.loc["u6", "change"] == "newly assigned"
    assert c.n_moved == 0 and c.population_moved == 0 and moved_units(a, b) == []
    assert c.newly_assigned == ("u6",) and c.no_longer_assigned == ("u1",)
    assert not c.identical
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


# --- one meaning of "moved" ----------------------------------------------------------------------


def _shared(a, b, matching, weights):
    return sum((weights or {}).get(u, 1) for u in a if u in b and matching.get(a[u]) == b[u])


def _best_by_brute_force(a, b, weights):
    """The most weight any one-to-one matching of A's footprints to B's keeps together."""
    fa, fb = sorted(set(a.values())), sorted(set(b.values()))
    best = 0
    for k in range(min(len(fa), len(fb)) + 1):
        for left in itertools.combinations(fa, k):
            for right in itertools.permutations(fb, k):
                best = max(best, _shared(a, b, dict(zip(left, right, strict=True)), weights))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_matching_keeps_the_most_together_checked_by_brute_force(seed):
    rng = random.Random(seed)
    units = [f"u{i}" for i in range(rng.randint(1, 9))]
    pops = {u: rng.choice([0, 1, 5, 100, 250, 1000]) for u in units}

    def plan(prefix: str) -> dict[str, str]:
        k = rng.randint(1, 4)
        return {u: f"{prefix}{rng.randint(1, k)}" for u in units if rng.random() < 0.9}

    a, b = plan("F"), plan(rng.choice(["F", "G"]))  # sometimes the same names
    for weights in (None, pops):
        m = match_footprints(a, b, weights=weights)
        assert len(set(m.values())) == len(m)  # one to one
        assert set(m) <= set(a.values()) and set(m.values()) <= set(b.values())
        assert _shared(a, b, m, weights) == _best_by_brute_force(a, b, weights)
        # moved = units in both plans minus those kept together: the fewest any matching gives
        moved = moved_units(a, b, weights=weights)
        both = [u for u in a if u in b]
        assert sum((weights or {}).get(u, 1) for u in moved) == (
            sum((weights or {}).get(u, 1) for u in both) - _best_by_brute_force(a, b, weights)
        )
        assert all(m.get(a[u]) != b[u] for u in moved)
        assert all(m.get(a[u]) == b[u] for u in both if u not in moved)
    c = compare_plans(a, b, populations=pops)
    assert c.n_moved == len(moved_units(a, b))
    assert sorted(c.moves.loc[c.moves["change"] == "moved", "unit_code"]) == moved_units(a, b)


def test_fp73_to_fp73_is_not_a_move_when_fp73_is_matched_to_fp73():
    # one unit of each of FP73's two parts: a tie on units, so the same name is matched;
    # the old comparison matched FP73 with FP99 by population and listed u1 "FP73 -> FP73"
    pops = {"u1": 100, "u2": 300, "u3": 500}
    a = {"u1": "FP73", "u2": "FP73", "u3": "FP12"}
    b = {"u1": "FP73", "u2": "FP99", "u3": "FP12"}
    c = compare_plans(a, b, populations=pops)
    assert c.matching == {"FP12": "FP12", "FP73": "FP73"}
    assert c.moves["unit_code"].tolist() == ["u2"]
    assert not (
        (c.moves["from_footprint"] == c.moves["matched_footprint"])
        & (c.moves["to_footprint"] == c.moves["matched_footprint"])
    ).any()
    assert moved_units(a, b) == ["u2"] and c.n_moved == 1
    assert c.matching_lines == ["FP12 ↔ FP12", "FP73 ↔ FP73", "(no match in A) ↔ FP99"]
    assert "as many units as possible" in c.how
    assert "ties go to footprints of the same name" in c.how
    # by population the matching differs, and the table says where u1 was expected
    p = compare_plans(a, b, populations=pops, match_by="population")
    assert p.matching == {"FP12": "FP12", "FP73": "FP99"}
    row = p.moves.set_index("unit_code").loc["u1"]
    assert (row["from_footprint"], row["to_footprint"], row["matched_footprint"]) == (
        "FP73",
        "FP73",
        "FP99",
    )
    assert moved_units(a, b, weights=pops) == ["u1"]
    assert "as many people as possible" in p.how


def test_every_listed_move_leaves_its_matched_footprint():
    rng = random.Random(7)
    units = [f"u{i:02d}" for i in range(60)]
    pops = {u: rng.randint(0, 900) for u in units}
    a = {u: f"FP{rng.randint(1, 9):02d}" for u in units}
    b = {u: (f"FP{rng.randint(1, 9):02d}" if rng.random() < 0.3 else a[u]) for u in units}
    for match_by in ("units", "population"):
        c = compare_plans(a, b, populations=pops, match_by=match_by)
        moved = c.moves[c.moves["change"] == "moved"]
        assert (moved["to_footprint"] != moved["matched_footprint"]).all()
        assert [c.matching[a[u]] or "" for u in moved["unit_code"]] == moved[
            "matched_footprint"
        ].tolist()


def test_relabelled_identical_plans_move_nothing():
    renamed = {u: f"Footprint {ord(f) - 64}" for u, f in PLAN.items()}
    assert moved_units(PLAN, renamed) == [] and moved_units(PLAN, renamed, weights=POP) == []
    assert match_footprints(PLAN, renamed) == {
        "A": "Footprint 1",
        "B": "Footprint 2",
        "C": "Footprint 3",
    }
    c = compare_plans(PLAN, renamed, populations=POP)
    assert c.identical and c.n_moved == 0
    assert c.matching_lines == ["A ↔ Footprint 1", "B ↔ Footprint 2", "C ↔ Footprint 3"]


def test_unmatched_footprints_are_left_out_of_the_matching():
    a = {"u1": "A", "u2": "B"}
    b = {"u1": "X", "u2": "X"}
    assert match_footprints(a, b, weights={"u1": 1, "u2": 5}) == {"B": "X"}
    assert moved_units(a, b, weights={"u1": 1, "u2": 5}) == ["u1"]
    assert match_footprints({}, b) == {} and moved_units(a, {}) == []
    # footprints that share no unit are never paired, even when one is left over
    assert match_footprints({"u1": "A"}, {"u2": "X"}) == {}


def test_bad_weights_and_plans_are_listed_together():
    with pytest.raises(
        PlanError,
        match=(
            r"(?s)Cannot match the footprints.*plan A: unit 'u1' -> 3.*"
            r"1 unit\(s\) have no weight: u2.*1 unit\(s\) have a weight that is not a whole number "
            r"of 0 or more: u3 \(-1\)"
        ),
    ):
        match_footprints(
            {"u1": 3, "u2": "A", "u3": "A"}, {"u2": "X", "u3": "X"}, weights={"u3": -1}
        )
    with pytest.raises(PlanError, match="plan B: got list; expected a mapping of unit code"):
        moved_units({}, [])
    with pytest.raises(PlanError, match="match_by: got 'people'; expected 'units' or 'population'"):
        compare_plans(PLAN, PLAN, populations=POP, match_by="people")


def test_reference_plan_labels_groups_by_name():
    class Geo:
        name = "tiny"
        import pandas as _pd

        units = _pd.DataFrame(
            {
                "code": ["a", "b", "c"],
                "region_code": ["R1", "R1", "R2"],
                "region": ["North", "North", "South"],
                "population": [1, 2, 3],
            }
        )

    assert reference_plan(Geo, "region_code") == {"a": "North", "b": "North", "c": "South"}
    assert reference_plan(Geo, "region_code", labels="code") == {"a": "R1", "b": "R1", "c": "R2"}
    Geo.units.loc[2, "region"] = "North"  # two regions of one name: names would merge them
    assert reference_plan(Geo, "region_code") == {"a": "R1", "b": "R1", "c": "R2"}


@pytest.mark.realdata
def test_area_teams_are_named(geography):
    teams = reference_plan(geography, "area_team_code")
    assert len(set(teams.values())) == 25
    assert "E39000001" not in set(teams.values())
    assert all(not t.startswith("E39") for t in teams.values())


@pytest.mark.parametrize("measure", ["units", "population"])
def test_fewest_changes_counts_what_moved_units_counts(measure):
    """The optimiser's fewest-changes value is the number (or population) of moved_units."""
    from footprint.constraints import Constraints
    from footprint.optimiser import optimise
    from footprint.problem import Problem

    rng = random.Random(3)
    n = 4
    codes = [f"r{r}c{c}" for r in range(n) for c in range(n)]
    edges = [(f"r{r}c{c}", f"r{r}c{c + 1}") for r in range(n) for c in range(n - 1)]
    edges += [(f"r{r}c{c}", f"r{r + 1}c{c}") for r in range(n - 1) for c in range(n)]
    pops = {c: rng.randint(50, 150) for c in codes}
    problem = Problem.build(populations=pops, edges=edges)
    # a partial drawing: its unassigned units are placed, and are not moves
    current = {c: f"F{int(c[1]) // 2}{int(c[3]) // 2}" for c in codes if rng.random() < 0.85}
    result = optimise(
        problem,
        Constraints(
            objective="fewest-changes",
            min_population=500,
            la_rule="off",
            change_measure=measure,
            time_limit=20,
        ),
        current=current,
    )
    assert result.assignment
    weights = pops if measure == "population" else None
    moved = moved_units(current, result.assignment, weights=weights)
    counted = len(moved) if weights is None else sum(pops[u] for u in moved)
    assert result.objective_value == counted
    c = compare_plans(current, result.assignment, populations=pops, match_by=measure)
    assert c.n_moved == len(moved)
    assert set(c.newly_assigned) == set(codes) - set(current)


def test_flows_say_what_each_footprint_kept_lost_and_gained_and_where_it_went():
    pop = {**POP, "u7": 700}
    b = {"u1": "A", "u2": "A", "u3": "A", "u4": "B", "u5": "C", "u7": "C"}  # u3 to A; u6 out
    c = compare_plans(PLAN, b, populations=pop)
    rows = {r.footprint_a: r for r in c.flows.itertuples()}
    assert list(c.flows.columns) == [
        "footprint_a",
        "footprint_b",
        "population_a",
        "population_kept",
        "population_lost",
        "population_gained",
        "population_b",
        "lost_to",
        "gained_from",
    ]
    a_row, b_row, c_row = rows["A"], rows["B"], rows["C"]
    assert (a_row.footprint_b, a_row.population_kept, a_row.population_lost) == ("A", 300, 0)
    assert (a_row.population_gained, a_row.gained_from) == (300, "B (300)")
    assert (b_row.population_a, b_row.population_kept, b_row.population_lost) == (700, 400, 300)
    assert b_row.lost_to == "A (300)" and b_row.population_b == 400
    assert (c_row.population_lost, c_row.lost_to) == (600, "(no footprint) (600)")
    assert (c_row.population_gained, c_row.gained_from) == (700, "(no footprint) (700)")
    # every person is counted once on each side
    assert (c.flows["population_kept"] + c.flows["population_lost"]).sum() == sum(
        pop[u] for u in PLAN
    )
    assert (c.flows["population_kept"] + c.flows["population_gained"]).sum() == sum(
        pop[u] for u in b
    )


def test_flows_keep_a_footprint_named_like_no_footprint_apart_from_units_in_none():
    a = {"u1": "(no footprint)", "u2": "(no footprint)", "u3": "B"}
    b = {"u1": "(no footprint)", "u3": "B", "u4": "B"}
    c = compare_plans(a, b, populations=POP)
    row = c.flows.set_index("footprint_a").loc["(no footprint)"]
    assert row["population_lost"] == 200 and row["lost_to"] == "(no footprint) (200)"
    b_row = c.flows.set_index("footprint_a").loc["B"]
    assert b_row["gained_from"] == "(no footprint) (400)"  # u4, in no footprint in A


def test_identical_plans_flow_nothing_anywhere():
    c = compare_plans(PLAN, dict(PLAN), populations=POP)
    assert (c.flows["population_lost"] == 0).all() and (c.flows["population_gained"] == 0).all()
    assert (c.flows["lost_to"] == "").all() and (c.flows["gained_from"] == "").all()
    assert list(c.flows["population_kept"]) == [300, 700, 1100]
