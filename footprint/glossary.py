"""Every term the planner's app shows, in a planner's words: the Help page's glossary.

Kept as data, not as page text, so that a test can check that each term the app shows
(the result statuses, the objectives, the LA rule's settings, the validator's rules, the
table's columns, the map's colourings and legend) has a meaning here, and so that any
front end (the app, a notebook, the command line's help) says the same thing.

Meanings are plain text (no Markdown, no HTML): the page escapes them like any text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["GLOSSARY", "GROUPS", "Term", "define", "undefined"]

#: The glossary's sections, in the order the Help page shows them.
GROUPS = ("Population", "Rules", "Map and drawing", "Optimiser and results")


@dataclass(frozen=True)
class Term:
    """One glossary entry.

    Attributes
    ----------
    term
        The term as the app shows it ("LA block").
    meaning
        What it means, in one to three plain sentences.
    group
        One of :data:`GROUPS`.
    aliases
        Other spellings the app shows for the same thing: codes in settings and files
        ("whole-la"), a column's name in an export ("polsby_popper").
    """

    term: str
    meaning: str
    group: str
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"glossary group must be one of {GROUPS}; received {self.group!r}")

    @property
    def names(self) -> tuple[str, ...]:
        """The term and its aliases."""
        return (self.term, *self.aliases)


def _t(term: str, group: str, meaning: str, *aliases: str) -> Term:
    return Term(term=term, meaning=" ".join(meaning.split()), group=group, aliases=aliases)


_POP = "Population"
_RULES = "Rules"
_MAP = "Map and drawing"
_RESULTS = "Optimiser and results"

#: The glossary, grouped by :data:`GROUPS` and alphabetical within a group.
# one entry reads as a paragraph, not as one argument a line
# fmt: off
GLOSSARY: tuple[Term, ...] = (
    # --- population ---------------------------------------------------------------------
    _t("CCG", _POP, """Clinical commissioning group: the unit every footprint is built
       from. England had 211 CCGs in April 2013; each has an ONS code (E38...) and an NHS
       code (e.g. 02N).""", "CCGs", "unit", "units"),
    _t("Footprint", _POP, """A group of CCGs served together by one commissioning support
       unit (CSU). A plan puts every CCG in exactly one footprint.""", "footprints", "plan"),
    _t("Population", _POP, """Registered patients, never residents: the people on the
       lists of the CCG's GP practices. A footprint's population is the sum over its
       CCGs.""", "population"),
    _t("Registered patients", _POP, """The number of patients on the lists of GP practices
       (QOF 2013/14 list sizes, summed per CCG). Everywhere the app says population, it
       means registered patients.""", "registered patients (QOF 2013/14 list sizes)",
       "list size"),
    # --- rules --------------------------------------------------------------------------
    _t("Area Team", _RULES, """One of the 25 NHS England Area Teams of 2013 (codes
       E39...). The app names them; a CCG belongs to one. Area Teams are shown for
       reference and can be painted whole; they are not a rule.""", "Area Teams",
       "NHS Area Teams", "area_team", "area-team"),
    _t("Ceiling", _RULES, """An optional largest population for a footprint (registered
       patients). Off unless set.""", "ceiling", "max population"),
    _t("Contiguity", _RULES, """Every footprint must be in one piece: each of its CCGs
       reaches the others through shared borders, or through the island bridges and
       river crossings listed by the app.""", "contiguous", "in one piece",
       "not in one piece"),
    _t("Count", _RULES, """The number of footprints (or a range) asked of the optimiser;
       the compact and balanced objectives need one.""", "count", "number of footprints"),
    _t("Fixed", _RULES, """A CCG fixed to a named footprint: the optimiser must leave it
       there.""", "fixed"),
    _t("Floor", _RULES, """The smallest population a footprint may have, in registered
       patients; 300,000 by default (set once, in the sidebar, for every page). A
       footprint below it is outlined in red.""", "population floor", "floor", "below the "
       "floor"),
    _t("Home LA", _RULES, """The upper-tier local authority that holds the largest share
       of a CCG's area (measured inside its border, so that slivers from generalised
       boundaries do not count). The LA rule and the 'upper-tier LA' colouring use it.""",
       "home LA"),
    _t("Island bridge", _RULES, """A link from a CCG that touches no other (the Isle of
       Wight) to its nearest CCGs on the mainland, drawn as a dashed blue line: it counts
       as a shared border for contiguity.""", "island bridges", "bridge", "bridges"),
    _t("Keep apart", _RULES, """A pair of CCGs that must be in different footprints.""",
       "keep-apart", "a keep-apart pair together"),
    _t("Keep together", _RULES, """A group of CCGs that must be in the same footprint.""",
       "keep-together", "a keep-together group split"),
    _t("LA", _RULES, """Local authority. Upper-tier LAs are the counties, unitary
       authorities, metropolitan and London boroughs; lower-tier LAs are the districts
       within counties.""", "LAs", "local authority", "upper-tier LA", "lower-tier LA"),
    _t("LA block", _RULES, """The CCGs that share a home LA: the LA rule keeps each block
       in one footprint. 'Paint whole LA blocks' puts a whole block in a footprint with
       one click.""", "LA blocks"),
    _t("LA rule", _RULES, """CCGs must not cross local authority boundaries: the CCGs of
       one LA block stay in one footprint. 'whole-la' is the rule on; 'off' switches it
       off (only the Optimise page can, and the drawing is always checked with it on
       where there is an LA layer).""", "whole-la", "la-rule", "off",
       "an LA split between footprints"),
    _t("Locked", _RULES, """A locked footprint keeps its CCGs: clicks cannot add or remove
       any, and the optimiser plans around it. It is drawn hatched with a heavy black
       outline and ticked in the table's lock column.""", "locked", "lock",
       "locked footprint"),
    _t("Region", _RULES, """One of the 4 NHS England Regions of 2013 (codes E40...),
       shown for reference.""", "Regions", "NHS Regions", "region"),
    _t("River crossing", _RULES, """Two CCGs whose boundaries face each other across a
       tidal river (Newcastle and Gateshead across the Tyne, the City of London and
       Southwark across the Thames), drawn as a dashed blue line: boundaries clipped to
       the coastline stop at the river, but the two count as neighbours for
       contiguity.""", "river crossings"),
    # --- map and drawing ----------------------------------------------------------------
    _t("Crossing an LA boundary", _MAP, """A CCG with more than a tolerance of its area
       outside its home LA, marked with an orange dot; its tooltip gives the shares.""",
       "crossing an LA boundary", "crosses an LA boundary"),
    _t("Distance from the floor", _MAP, """A colouring of the map: each footprint by its
       population as a share of the floor, reds below the floor and blues above it.""",
       "floor colouring"),
    _t("Highlighted", _MAP, """A CCG drawn with a heavy black outline on a comparison or a
       result, for example because it moved between two plans.""", "highlighted"),
    _t("Selection", _MAP, """Several CCGs chosen at once on the map with shift-click or a
       box drawn with shift held; 'Put in the chosen footprint' puts them all in one step
       that one undo takes back.""", "selected", "shift-click", "box"),
    _t("Unassigned", _MAP, """A CCG in no footprint yet, drawn grey with a dashed
       outline. A finished plan has none.""", "unassigned", "not in a footprint"),
    _t("Undo", _MAP, """Every drawing action (a click, a painted block, a selection, a
       rename, a lock) is one step that undo takes back and redo does again; the
       drawing and its history are kept under the address's ?d= part.""", "redo"),
    # --- optimiser and results ----------------------------------------------------------
    _t("Balanced", _RESULTS, """An objective: footprints with populations as even as
       possible (the spread between the largest and the smallest).""", "balanced"),
    _t("Bound", _RESULTS, """What the solver has proven about the best possible plan: no
       plan can do better than the bound (for example, no plan has more than 80
       footprints). When the plan found reaches the bound, it is proven best.""",
       "bound", "lower bound", "upper bound"),
    _t("Compact", _RESULTS, """An objective: footprints whose CCGs are close to a centre,
       weighted by population (the least total distance).""", "compact"),
    _t("Compactness", _RESULTS, """Polsby-Popper score 4πA/P² of a footprint's outline:
       1 is a circle, near 0 is long and stringy. A guide to shape, not a rule.""",
       "polsby_popper", "Polsby-Popper"),
    _t("Feasible", _RESULTS, """A status: the plan meets every rule, but the solver ran
       out of time before proving it the best; the bound and gap say how far from the
       best it could be.""", "feasible"),
    _t("Fewest changes", _RESULTS, """An objective: a plan that meets the rules while
       moving as few CCGs (or as few patients) as possible from their footprints in the
       drawing.""", "fewest-changes"),
    _t("Gap", _RESULTS, """How far the plan found could be from the best possible, as a
       share: the difference between its value and the bound. 0% means proven best;
       5% means no plan can be more than 5% better.""", "gap"),
    _t("Infeasible", _RESULTS, """A status: the solver proved that no plan meets every
       rule as set; the reasons say what to change (a lower floor, a ceiling raised, the
       LA rule off...).""", "infeasible"),
    _t("Max footprints", _RESULTS, """An objective: as many footprints as possible, each
       meeting the floor (the most CSUs the rules allow).""", "max-footprints"),
    _t("Nested", _RESULTS, """An objective: footprints made of clusters, each cluster
       within the cluster range (250,000 to 1,000,000 registered patients) and wholly
       inside one footprint (the nesting rule).""",
       "nested", "cluster", "clusters", "nesting"),
    _t("No solution", _RESULTS, """A status: no valid plan was found within the time
       limit (and none was proven impossible); give it more time or relax a rule.""",
       "no-solution"),
    _t("Proven best", _RESULTS, """A status (optimal): the plan meets every rule and the
       solver proved that no plan does better on the objective; its gap is 0%.""",
       "optimal", "Proven best (optimal)"),
    _t("Scenario", _RESULTS, """A plan saved under a name with its notes and locks, to
       load again, compare or export; saving over someone else's newer save is
       refused.""", "scenarios"),
)
# fmt: on


def define(word: str) -> Term | None:
    """The entry for ``word`` (a term or an alias, in any letter case), or ``None``."""
    key = word.strip().casefold()
    for entry in GLOSSARY:
        if key in (n.casefold() for n in entry.names):
            return entry
    return None


def undefined(words: Iterable[str]) -> list[str]:
    """The words that have no entry, in the order given (for tests and the CLI)."""
    return [w for w in words if define(w) is None]
