"""Units named in rule text: codes, NHS codes, names with commas, and what is wrong with a line."""

from __future__ import annotations

import pytest

from footprint.rule_text import read_rule, read_rules, read_units, unit_lookup

CODES = ["E1", "E2", "E3", "E4"]
NAMES = ["NHS North, East, West Devon", "NHS Kernow", "NHS West London (Queen’s Park)", "NHS North"]
NHS = ["99P", "11N", None, "E3"]  # the last NHS code is spelt like another unit's code


@pytest.fixture
def lookup() -> dict[str, str]:
    return unit_lookup(CODES, names=NAMES, nhs_codes=NHS)


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("E1, E2", ("E1", "E2")),
        ("e1;E2", ("E1", "E2")),
        ("E1 E2  E3", ("E1", "E2", "E3")),  # codes never hold spaces
        ("99p, 11N", ("E1", "E2")),
        ("NHS North, East, West Devon, NHS Kernow", ("E1", "E2")),  # the longest name wins
        ("nhs north,east,  west devon", ("E1",)),
        ("NHS North, NHS Kernow", ("E4", "E2")),
        ("NHS West London (Queen's Park), E4", ("E3", "E4")),  # ' for ’
        ("E3", ("E3",)),  # a code wins over an NHS code spelt the same
    ],
)
def test_units_by_code_nhs_code_or_name(lookup, text, codes) -> None:
    assert read_units(text, lookup=lookup) == (codes, None)


def test_the_first_unknown_item_is_named(lookup) -> None:
    assert read_units("E1, Devon, E9", lookup=lookup, unit="CCG") == (
        (),
        "'Devon' is not a CCG's code or name",
    )


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("E1, E2", "pair", ("E1", "E2")),
        ("E1, E2, E3", "group", ("E1", "E2", "E3")),
        ("NHS North, East, West Devon, South West", "fixed", ("E1", "South West")),
        ("11N; Far West", "fixed", ("E2", "Far West")),
    ],
)
def test_rules_that_read(lookup, text, kind, expected) -> None:
    assert read_rule(text, kind=kind, lookup=lookup) == (expected, None)


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("E1, E2, E3", "pair", "got 3 CCG(s); expected exactly two, separated by a comma"),
        ("E1", "pair", "got 1 CCG(s); expected exactly two"),
        ("E1, E1", "group", "got 1 CCG; a group needs two or more"),
        ("E1", "fixed", "got 'E1'; expected a CCG and a footprint name separated by a comma"),
        ("E1, ", "fixed", "got 'E1,'; expected a CCG and a footprint name"),
        ("E1 E2, North", "fixed", "got 2 CCGs before the footprint name 'North'; expected one"),
        ("E1, Devon", "pair", "'Devon' is not a CCG's code or name"),
    ],
)
def test_rules_that_do_not_read_say_why(lookup, text, kind, message) -> None:
    rule, problem = read_rule(text, kind=kind, lookup=lookup, unit="CCG")
    assert rule == () and problem is not None and problem.startswith(message), problem


def test_names_must_line_up_with_codes() -> None:
    with pytest.raises(ValueError, match="got 1 names or NHS codes for 2 codes"):
        unit_lookup(["E1", "E2"], names=["only one"])


def test_many_rules_keep_the_good_and_say_where_each_bad_one_was(lookup) -> None:
    rules, problems = read_rules(
        [("line 1", "E1, E2"), ("line 2", "E1"), ("line 3", "11N, E4")],
        kind="pair",
        lookup=lookup,
        unit="CCG",
    )
    assert rules == [("E1", "E2"), ("E2", "E4")]
    assert problems == ["line 2: got 1 CCG(s); expected exactly two, separated by a comma"]
