"""The independent plan checker on a 3 x 3 grid of 1 km squares with known answers.

Grid (codes, rows from the top)::

    a b c
    d e f
    g h i

Rook adjacency (shared sides, 1 km each), 100,000 people per unit unless a test
says otherwise, so a row of three is exactly 300,000. Every rule gets a broken
plan and a check of its message's exact text.
"""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest

from footprint.constraints import Constraints
from footprint.errors import ConstraintsError, PlanError
from footprint.problem import Problem
from footprint.validate import RULES, SUMMARY_COLUMNS, Violation, summarise_plan, validate_plan

CODES = "abcdefghi"
ROWS = {"North": "abc", "Middle": "def", "South": "ghi"}
PLAN = {u: fp for fp, units in ROWS.items() for u in units}


def _edges() -> list[tuple[str, str]]:
    out = []
    for i, code in enumerate(CODES):
        r, c = divmod(i, 3)
        if c < 2:
            out.append((code, CODES[i + 1]))
        if r < 2:
            out.append((code, CODES[i + 3]))
    return out


def grid(
    populations: dict[str, int] | None = None,
    *,
    blocks: dict[str, str] | None = None,
    las: dict[str, list[str]] | None = None,
) -> Problem:
    pops = {c: 100_000 for c in CODES}
    pops.update(populations or {})
    edges = _edges()
    return Problem.build(
        populations=pops,
        edges=edges,
        names={c: f"Unit {c.upper()}" for c in CODES},
        shared_m=dict.fromkeys(edges, 1000.0),
        blocks=blocks,
        las=las,
        x={c: (i % 3) * 1000.0 + 500.0 for i, c in enumerate(CODES)},
        y={c: -(i // 3) * 1000.0 - 500.0 for i, c in enumerate(CODES)},
        areas=dict.fromkeys(CODES, 1e6),
        perimeters=dict.fromkeys(CODES, 4000.0),
        population_label="registered patients (test counts)",
    )


def rules(violations: list[Violation]) -> list[str]:
    return [v.rule for v in violations]


# --- a valid plan ------------------------------------------------------------------------------


def test_valid_plan_has_no_violations():
    assert validate_plan(grid(), PLAN) == []
    assert validate_plan(grid(), PLAN, Constraints(min_population=300_000, n_footprints=3)) == []


def test_default_constraints_are_the_300000_floor_and_whole_la():
    small = grid({"a": 99_999})
    [v] = validate_plan(small, PLAN)
    assert v.rule == "floor" and v.footprint == "North"


def test_callers_plan_and_current_are_untouched():
    plan = {**PLAN, "a": " North ", "zz": "X", "b": None}
    before = dict(plan)
    current = dict(PLAN)
    validate_plan(grid(), plan, Constraints(locked=("North",)), current=current)
    summarise_plan(grid(), plan)
    assert plan == before and current == PLAN


# --- unknown and unassigned units --------------------------------------------------------------


def test_unknown_codes_are_one_plan_level_violation():
    [v] = validate_plan(grid(), {**PLAN, "zz": "North", "yy": "Elsewhere"})
    assert v == Violation(
        "unknown-unit",
        None,
        "2 unit codes in the plan are not units of this geography: yy, zz; remove them from the "
        "plan, or check that the plan was made for this geography",
        ("yy", "zz"),
    )
    [one] = validate_plan(grid(), {**PLAN, "zz": "North"})
    assert one.message.startswith("1 unit code in the plan is not a unit of this geography: zz;")


def test_unassigned_units_named_with_their_population():
    plan = {**PLAN, "c": "", "i": None}
    del plan["a"]
    vs = validate_plan(grid(), plan, Constraints(min_population=0))
    assert rules(vs) == ["unassigned"]
    assert vs[0].units == ("a", "c", "i")
    assert vs[0].footprint is None
    assert vs[0].message == (
        "3 units (300,000 registered patients) have no footprint: Unit A (a), Unit C (c), "
        "Unit I (i); assign every unit to a footprint"
    )
    [one] = validate_plan(grid(), {**PLAN, "i": ""}, Constraints(min_population=0))
    assert one.message.startswith("1 unit (100,000 registered patients) has no footprint: Unit I")


def test_long_unit_lists_are_shortened_in_the_message_but_complete_in_units():
    vs = validate_plan(grid(), {}, Constraints(min_population=0))
    [v] = [v for v in vs if v.rule == "unassigned"]
    assert v.units == tuple(CODES)
    assert "Unit J" not in v.message and "Unit I (i)" in v.message
    many = Problem.build(populations={f"u{i:02d}": 1 for i in range(25)}, edges=[])
    [v] = [v for v in validate_plan(many, {}) if v.rule == "unassigned"]
    assert v.message.endswith("u09 and 15 more; assign every unit to a footprint")
    assert len(v.units) == 25


# --- population ----------------------------------------------------------------------------------


def test_floor_message_names_population_floor_and_shortfall():
    vs = validate_plan(grid({"a": 51_000}), PLAN)
    assert vs == [
        Violation(
            "floor",
            "North",
            "footprint 'North' has 251,000 registered patients, below the floor of 300,000 "
            "(49,000 short); add neighbouring units or merge it with a neighbouring footprint",
            ("a", "b", "c"),
        )
    ]


def test_floor_is_inclusive_and_zero_floor_never_fires():
    assert validate_plan(grid(), PLAN, Constraints(min_population=300_000)) == []
    assert rules(validate_plan(grid(), PLAN, Constraints(min_population=300_001))) == ["floor"] * 3
    assert validate_plan(grid({c: 0 for c in CODES}), PLAN, Constraints(min_population=0)) == []


def test_ceiling():
    c = Constraints(min_population=0, max_population=250_000)
    vs = validate_plan(grid({"d": 10_000, "e": 10_000}), PLAN, c)
    assert [v.footprint for v in vs] == ["North", "South"]
    assert vs[0].rule == "ceiling"
    assert vs[0].message == (
        "footprint 'North' has 300,000 registered patients, above the ceiling of 250,000 "
        "(50,000 over); move units on its edge to a neighbouring footprint or split it in two"
    )
    assert validate_plan(grid(), PLAN, c.replace(max_population=300_000)) == []


def test_population_word_falls_back_when_no_label():
    p = Problem.build(populations={"a": 5, "b": 5}, edges=[("a", "b")])
    [v] = validate_plan(p, {"a": "X", "b": "X"}, Constraints(min_population=11))
    assert v.message.startswith("footprint 'X' has 10 population, below the floor of 11 ")


# --- contiguity ----------------------------------------------------------------------------------


def test_contiguity_names_the_pieces_largest_first():
    plan = {**PLAN, "a": "South", "g": "North"}  # North = g, b, c; South = a, h, i
    vs = validate_plan(grid({"h": 150_000}), plan, Constraints(min_population=0))
    assert rules(vs) == ["contiguity", "contiguity"]
    north, south = vs
    assert north.footprint == "North" and north.units == ("b", "c", "g")
    assert north.message == (
        "footprint 'North' is in 2 separate pieces: [Unit B (b), Unit C (c)] (200,000 registered "
        "patients); [Unit G (g)] (100,000 registered patients); join the pieces through "
        "neighbouring units or make them separate footprints"
    )
    assert south.message.startswith(
        "footprint 'South' is in 2 separate pieces: [Unit H (h), Unit I (i)] (250,000 registered "
        "patients); [Unit A (a)] (100,000 registered patients);"
    )


def test_disabled_borders_break_contiguity_and_are_mentioned():
    c = Constraints(disabled_edges=[("b", "a")])
    [v] = validate_plan(grid(), PLAN, c)
    assert v.rule == "contiguity" and v.footprint == "North"
    assert v.message.startswith(
        "footprint 'North' is in 2 separate pieces (not counting the 1 disabled border): "
        "[Unit B (b), Unit C (c)] (200,000 registered patients); [Unit A (a)]"
    )


def test_island_bridges_count_as_adjacency():
    p = Problem.build(
        populations={"a": 1, "b": 1, "c": 1}, edges=[("a", "b")], bridges=[("b", "c")]
    )
    assert validate_plan(p, dict.fromkeys("abc", "All"), Constraints(min_population=0)) == []
    vs = validate_plan(
        p, dict.fromkeys("abc", "All"), Constraints(min_population=0, disabled_edges=[("b", "c")])
    )
    assert rules(vs) == ["contiguity"]


# --- LA blocks -----------------------------------------------------------------------------------


BLOCKS = {"a": "E10000001", "b": "E10000001", "d": "E10000001", "e": "E10000002"}


def test_la_block_split_names_block_units_and_footprints():
    vs = validate_plan(grid(blocks=BLOCKS), PLAN)
    assert vs == [
        Violation(
            "la-rule",
            None,
            "LA block E10000001 (3 units) is split across 2 footprints: 'Middle' (Unit D (d)); "
            "'North' (Unit A (a), Unit B (b)); put the whole block in one footprint, or switch "
            "the LA rule off",
            ("a", "b", "d"),
        )
    ]


def test_la_rule_off_ignores_blocks_and_whole_blocks_pass():
    assert validate_plan(grid(blocks=BLOCKS), PLAN, Constraints(la_rule="off")) == []
    plan = {**PLAN, "d": "North"}  # North = a b c d (block whole); Middle = e f
    assert rules(validate_plan(grid(blocks=BLOCKS), plan, Constraints(min_population=0))) == []


def test_unassigned_block_members_are_not_a_split():
    plan = {k: v for k, v in PLAN.items() if k != "d"}
    vs = validate_plan(grid(blocks=BLOCKS), plan, Constraints(min_population=0))
    assert rules(vs) == ["unassigned"]


# --- keep together / apart, fixed, locked --------------------------------------------------------


def test_keep_together():
    c = Constraints(keep_together=[{"a", "e", "i"}, {"a", "b"}])
    [v] = validate_plan(grid(), PLAN, c)
    assert v == Violation(
        "keep-together",
        None,
        "units Unit A (a), Unit E (e), Unit I (i) must share a footprint but are split across 3: "
        "'Middle' (Unit E (e)); 'North' (Unit A (a)); 'South' (Unit I (i)); move them into one "
        "footprint",
        ("a", "e", "i"),
    )


def test_keep_apart():
    c = Constraints(keep_apart=[("c", "a"), ("a", "d")])
    [v] = validate_plan(grid(), PLAN, c)
    assert v == Violation(
        "keep-apart",
        "North",
        "units Unit A (a) and Unit C (c) must be in different footprints but are both in "
        "'North'; move one of them to another footprint",
        ("a", "c"),
    )


def test_fixed_units_wrong_or_unassigned():
    c = Constraints(fixed={"a": "North", "d": "North", "g": "South"}, min_population=0)
    plan = {k: v for k, v in PLAN.items() if k != "g"}
    vs = validate_plan(grid(), plan, c)
    fixed = [v for v in vs if v.rule == "fixed"]
    assert [(v.footprint, v.units) for v in fixed] == [(None, ("g",)), ("Middle", ("d",))]
    assert fixed[1].message == (
        "unit Unit D (d) is fixed to footprint 'North' but the plan puts it in 'Middle'; move it "
        "to 'North' or remove the fixing"
    )
    assert fixed[0].message == (
        "unit Unit G (g) is fixed to footprint 'South' but the plan leaves it unassigned; move it "
        "to 'South' or remove the fixing"
    )


def test_locked_footprints_compared_with_the_current_plan():
    c = Constraints(locked=("North", "South", "West"), min_population=0)
    plan = {**PLAN, "c": "Middle", "d": "North"}
    vs = validate_plan(grid(), plan, c, current=PLAN)
    assert [(v.rule, v.footprint, v.units) for v in vs] == [
        ("locked", "North", ("c", "d")),
        ("locked", "West", ()),
    ]
    assert vs[0].message == (
        "footprint 'North' is locked but has gained Unit D (d) and lost Unit C (c); put it back "
        "as it was in the current plan, or unlock it"
    )
    assert vs[1].message == (
        "footprint 'West' is locked but is not in the current plan; unlock it or choose the "
        "current plan it belongs to"
    )
    gone = {k: v for k, v in PLAN.items() if v != "South"}
    [v] = [v for v in validate_plan(grid(), gone, c, current=PLAN) if v.footprint == "South"]
    assert v.message.startswith("footprint 'South' is locked but has lost Unit G (g), Unit H (h)")


def test_locks_need_a_current_plan():
    c = Constraints(locked=("North",), min_population=0)
    assert validate_plan(grid(), {**PLAN, "c": "Middle"}, c) == []


# --- count ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_footprints", "expected"),
    [
        (4, "the plan has 3 footprints; expected exactly 4; split footprints or add new ones"),
        (2, "the plan has 3 footprints; expected exactly 2; merge neighbouring footprints"),
        (
            (4, 6),
            "the plan has 3 footprints; expected between 4 and 6; split footprints or add new ones",
        ),
    ],
)
def test_count(n_footprints, expected):
    [v] = validate_plan(grid(), PLAN, Constraints(n_footprints=n_footprints))
    assert v == Violation("count", None, expected, ())


def test_count_of_an_empty_plan():
    vs = validate_plan(grid(), {}, Constraints(min_population=0))
    assert rules(vs) == ["unassigned", "count"]
    assert vs[-1].message == (
        "the plan has 0 footprints; expected at least 1; split footprints or add new ones"
    )
    [one] = [
        v
        for v in validate_plan(grid(), dict.fromkeys(CODES, "All"), Constraints(n_footprints=2))
        if v.rule == "count"
    ]
    assert one.message.startswith("the plan has 1 footprint; expected exactly 2;")


# --- everything at once, order, bad input --------------------------------------------------------


def test_every_rule_at_once_in_rule_order_and_independent_of_plan_order():
    c = Constraints(
        min_population=150_000,
        max_population=250_000,
        n_footprints=5,
        keep_together=[{"a", "h"}],
        keep_apart=[("e", "f")],
        fixed={"b": "Middle"},
        locked=("South",),
    )
    plan = {
        "a": "North",
        "b": "North",
        "c": "Far",
        "i": "Far",  # c and i do not touch
        "d": "Middle",
        "e": "Middle",
        "f": "Middle",  # 300,000: above the ceiling
        "h": "South",
        "zz": "South",  # 100,000: below the floor; zz unknown; g unassigned
    }
    blocks = {"a": "L1", "d": "L1"}
    vs = validate_plan(grid(blocks=blocks), plan, c, current=PLAN)
    assert (
        rules(vs)
        == list(RULES)
        == [
            "unknown-unit",
            "unassigned",
            "floor",
            "ceiling",
            "contiguity",
            "la-rule",
            "keep-together",
            "keep-apart",
            "fixed",
            "locked",
            "count",
        ]
    )
    assert [v.footprint for v in vs] == [
        None,
        None,
        "South",
        "Middle",
        "Far",
        None,
        None,
        "Middle",
        "North",
        "South",
        None,
    ]
    items = list(plan.items())
    random.Random(4).shuffle(items)
    assert validate_plan(grid(blocks=blocks), dict(items), c, current=PLAN) == vs


def test_unknown_codes_do_not_count_in_footprints():
    vs = validate_plan(grid(), {**PLAN, "zz": "North", "yy": "Ghost"}, Constraints(n_footprints=3))
    assert rules(vs) == ["unknown-unit"]


def test_malformed_plans_are_refused_with_every_entry_listed():
    with pytest.raises(
        PlanError,
        match=r"(?s)The plan is malformed:.*unit 'a' -> 5: footprint "
        r"names must be text.*unit code 7 is int; unit codes must be text",
    ):
        validate_plan(grid(), {**PLAN, "a": 5, 7: "North"})
    with pytest.raises(
        PlanError, match="a plan must map unit codes to footprint names; received list"
    ):
        validate_plan(grid(), [("a", "North")])
    with pytest.raises(
        PlanError, match="constraints must be a Constraints object or None; received dict"
    ):
        validate_plan(grid(), PLAN, {"min_population": 3})


def test_constraints_naming_unknown_units_are_refused():
    c = Constraints(
        keep_together=[{"a", "zz"}],
        keep_apart=[("b", "yy")],
        fixed={"xx": "N"},
        disabled_edges=[("a", "ww")],
    )
    with pytest.raises(ConstraintsError) as info:
        validate_plan(grid(), PLAN, c)
    assert info.value.problems == (
        "keep_together group 1 names 1 code that is not a unit of this geography: zz; correct "
        "or remove it",
        "keep_apart pair 1 names 1 code that is not a unit of this geography: yy; correct or "
        "remove it",
        "fixed names 1 code that is not a unit of this geography: xx; correct or remove it",
        "disabled_edges pair 1 names 1 code that is not a unit of this geography: ww; correct "
        "or remove it",
    )
    assert str(info.value).startswith("The constraints do not fit this geography:\n  - ")


def test_names_are_stripped_and_blank_means_unassigned():
    plan = {**PLAN, "a": "  North ", "b": "North\t"}
    assert validate_plan(grid(), plan) == []
    vs = validate_plan(grid(), {**PLAN, "a": "   "}, Constraints(min_population=0))
    assert rules(vs) == ["unassigned"] and vs[0].units == ("a",)


# --- the summary table ---------------------------------------------------------------------------


def test_summary_columns_and_values():
    las = {c: [f"LA{i // 3}"] for i, c in enumerate(CODES)}
    las["d"] = ["LA1", "LA0"]
    t = summarise_plan(grid(las=las), PLAN)
    assert (
        list(t.columns)
        == list(SUMMARY_COLUMNS)
        == [
            "footprint",
            "population",
            "n_units",
            "units",
            "unit_names",
            "las",
            "area_km2",
            "polsby_popper",
            "inertia",
            "contiguous",
            "meets_floor",
            "problems",
        ]
    )
    assert t["footprint"].tolist() == ["Middle", "North", "South"]
    north = t.set_index("footprint").loc["North"]
    assert north["population"] == 300_000 and north["n_units"] == 3
    assert north["units"] == ["a", "b", "c"]
    assert north["unit_names"] == ["Unit A", "Unit B", "Unit C"]
    assert north["las"] == ["LA0"]
    assert t.set_index("footprint").loc["Middle", "las"] == ["LA0", "LA1"]
    assert north["area_km2"] == pytest.approx(3.0)
    # a 3 km x 1 km strip: area 3 km², perimeter 8 km
    assert north["polsby_popper"] == pytest.approx(4 * math.pi * 3 / 64)
    # three units of 100,000 at 1 km spacing: 100,000 x (1 + 0 + 1) person-km²
    assert north["inertia"] == pytest.approx(200_000)
    assert bool(north["contiguous"]) and bool(north["meets_floor"])
    assert north["problems"] == []
    assert t["population"].dtype == "int64" and t["n_units"].dtype == "int64"


def test_summary_problems_follow_the_footprints():
    plan = {**PLAN, "a": "South"}  # North = b c (200,000); South = a g h i, in two pieces
    t = summarise_plan(grid(blocks=BLOCKS), plan).set_index("footprint")
    assert not t.loc["North", "meets_floor"] and t.loc["North", "contiguous"]
    assert t.loc["South", "meets_floor"] and not t.loc["South", "contiguous"]
    north, south, middle = (t.loc[f, "problems"] for f in ("North", "South", "Middle"))
    assert north[0].startswith("footprint 'North' has 200,000 registered patients, below")
    split = next(m for m in north if m.startswith("LA block E10000001"))
    # the block a b d is split over South (a), North (b) and Middle (d): all three are told
    assert split in south and split in middle
    assert any(m.startswith("footprint 'South' is in 2 separate pieces") for m in south)
    assert len(north) == 2 and len(middle) == 1


def test_summary_uses_the_given_floor_and_leaves_unknown_and_unassigned_out():
    plan = {**PLAN, "zz": "North"}
    del plan["i"]
    t = summarise_plan(grid(), plan, Constraints(min_population=250_000)).set_index("footprint")
    assert t.loc["South", "units"] == ["g", "h"]
    assert bool(t.loc["South", "meets_floor"]) is False
    assert t.loc["North", "units"] == ["a", "b", "c"] and t.loc["North", "meets_floor"]
    assert t.loc["North", "problems"] == []


def test_empty_plan_gives_an_empty_table_with_the_columns():
    for plan in ({}, {"a": ""}, {"zz": "North"}):
        t = summarise_plan(grid(), plan)
        assert isinstance(t, pd.DataFrame) and len(t) == 0
        assert list(t.columns) == list(SUMMARY_COLUMNS)


# --- the real data -------------------------------------------------------------------------------


@pytest.mark.realdata
def test_area_teams_on_the_real_data(dataset):
    from footprint.compare import reference_plan

    problem = Problem.from_dataset(dataset)
    teams = reference_plan(dataset.geography, "area_team_code")
    constraints = Constraints(min_population=300_000, la_rule="whole-la")
    t = summarise_plan(problem, teams, constraints)
    assert len(t) == 25
    assert t["population"].sum() == 56_324_887
    assert t["n_units"].sum() == 211
    assert t["contiguous"].all() and t["meets_floor"].all()
    assert t["polsby_popper"].between(0, 1).all() and (t["inertia"] > 0).all()
    assert t["area_km2"].sum() == pytest.approx(130_000, rel=0.03)  # England is ~130,000 km²
    # the Area Teams split three upper-tier LA blocks, and break no other rule
    vs = validate_plan(problem, teams, constraints)
    assert rules(vs) == ["la-rule"] * 3
    assert all("registered patients" in m or "LA block" in m for m in [v.message for v in vs])
    assert validate_plan(problem, teams, constraints.replace(la_rule="off")) == []
    # how quick the table is (the app makes it on every click): benchmarks/bench_summarise.py
