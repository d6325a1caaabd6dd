"""The glossary: every term the app shows has a meaning, and the Help page shows them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from footprint.constraints import LA_RULES, OBJECTIVES
from footprint.glossary import GLOSSARY, GROUPS, Term, define, undefined
from footprint.map import COLOUR_CHOICES
from footprint.result import STATUSES
from footprint.validate import CLUSTER_RULES, RULES

ROOT = Path(__file__).resolve().parent.parent

#: Words the app shows that are jargon a planner may not know, each checked to be in the
#: app's own text below (so that the list cannot go stale) and in the glossary.
SHOWN = (
    "compactness",
    "LA block",
    "whole-la",
    "bound",
    "gap",
    "river crossing",
    "island bridge",
    "Proven best",
    "Area Team",
    "registered patients",
    "in one piece",
    "home LA",
    "crossing an LA boundary",
    "unassigned",
    "locked",
    "floor",
    "ceiling",
    "Feasible",
    "Infeasible",
    "fewest-changes",
    "upper-tier LA",
    "Region",
)


def _app_text() -> str:
    files = [*sorted((ROOT / "app_pages").glob("*.py")), ROOT / "app.py"]
    files += [ROOT / "footprint" / n for n in ("form.py", "map.py", "validate.py")]
    return "\n".join(f.read_text(encoding="utf-8") for f in files if f.exists())


def test_every_term_the_app_shows_is_defined() -> None:
    text = _app_text().casefold()
    missing_from_app = [w for w in SHOWN if w.casefold() not in text]
    assert not missing_from_app, f"listed as shown but not in the app: {missing_from_app}"
    assert undefined(SHOWN) == []


def test_every_status_objective_rule_and_colouring_is_defined() -> None:
    # the codes the app shows in settings, results and broken rules; unknown codes in an
    # uploaded plan explain themselves ("unknown codes: X, Y")
    codes = [*STATUSES, *OBJECTIVES, *LA_RULES, *(r for r in RULES if r != "unknown-unit")]
    assert undefined(codes) == []
    # a nested plan's rules are its top level's rules, for clusters
    assert undefined(r.removeprefix("cluster-") for r in CLUSTER_RULES) == []
    assert undefined(COLOUR_CHOICES.values()) == []


def test_the_table_columns_are_defined() -> None:
    from app_pages.shared import TABLE_COLUMNS

    # the table's columns as the planner reads them (see app_pages.shared.show_table)
    shown = {"polsby_popper": "compactness", "contiguous": "in one piece", "las": "LAs"}
    assert undefined(shown[c] for c in TABLE_COLUMNS if c in shown) == []


def test_lookups_are_case_blind_and_names_are_unique() -> None:
    assert define("WHOLE-LA") is define("LA rule")
    assert define("  gap ") is not None and define("rainbow") is None
    names = [n for t in GLOSSARY for n in {x.casefold() for x in t.names}]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    assert not duplicated, f"two entries claim {duplicated}"
    assert {t.group for t in GLOSSARY} == set(GROUPS)


def test_meanings_are_plain_short_sentences() -> None:
    for t in GLOSSARY:
        assert t.meaning.endswith((".", ")")), t.term
        assert "  " not in t.meaning and "\n" not in t.meaning, t.term
        assert not re.search(r"[<>*`_\[\]]", t.meaning), f"markup in {t.term!r}"
        assert len(t.meaning) < 420, t.term


def test_a_term_in_an_unknown_group_is_refused() -> None:
    with pytest.raises(ValueError, match=r"glossary group must be one of .*; received 'Misc'"):
        Term(term="x", meaning="y.", group="Misc")


@pytest.mark.realdata
def test_the_help_page_shows_the_rules_how_to_read_a_result_and_every_term(
    dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("FOOTPRINT_SCENARIO_DIR", str(tmp_path / "scenarios"))
    monkeypatch.setenv("FOOTPRINT_DRAWING_DIR", str(tmp_path / "drawings"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("app_pages/help.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    heads = [h.value for h in at.subheader]
    for head in ("How the planner works", "The rules", "Reading a result", "Glossary"):
        assert head in heads
    # as read: Markdown escapes dropped
    page = "\n".join(str(m.value) for m in at.markdown).replace("\\", "")
    # the floor, the LA rule and contiguity, with this geography's own links by name
    assert "**The floor**" in page and "**LA block**" in page and "**in one piece**" in page
    units = dataset.geography.units
    names = dict(zip(units["code"], units["name"], strict=True))
    a, b = dataset.adjacency.river_crossings[0]
    assert f"{names[a]} – {names[b]}" in page
    # how to read a status, a bound and a gap
    assert "**Proven best** (optimal)" in page and "a gap of\n2.5%" in page
    # every entry of the glossary, under its group
    assert [e.label for e in at.expander][-len(GROUPS) :] == list(GROUPS)
    for term in GLOSSARY:
        assert f"- **{term.term}**" in page, term.term
    assert "registered patients (QOF 2013/14 list sizes)" in page
