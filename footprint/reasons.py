"""Why no plan exists, in a planner's words: one short line per reason, and what to change.

The feasibility checks (:mod:`footprint.feasibility`) explain each contradiction in a full
sentence that lists the units involved; a planner reading a page wants the place by its
own name, the figures, and the change that would let a plan through ("Kent (1,514,902
registered patients) cannot stay whole under a ceiling of 1,000,000: raise the ceiling
to at least 1,514,902 or switch the LA rule off"), with the full sentence kept as the
detail. Each change a page can make itself is a :class:`Suggestion` (raise the ceiling to
a figure, switch the LA rule off, unlock a footprint, lower the floor), so the page can
offer it as one button. The words come from the checks' ``facts``; a check without them
keeps its own sentence and suggests nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .feasibility import Check

__all__ = ["Reason", "Suggestion", "explain", "least_ceiling"]

#: What a page can change for the planner: the ceiling (to ``value``), the LA rule (off),
#: a locked footprint (``value``, unlocked), the floor (to ``value``).
SuggestionKind = Literal["raise-ceiling", "la-rule-off", "unlock", "lower-floor"]


@dataclass(frozen=True)
class Suggestion:
    """One change that lets a plan through, as a button says it."""

    kind: SuggestionKind
    label: str
    value: int | str | None = None


@dataclass(frozen=True)
class Reason:
    """One reason no plan exists: a short ``line``, the check's full sentence as
    ``detail``, the check's stable ``name``, and the changes a page can make."""

    name: str
    line: str
    detail: str
    suggestions: tuple[Suggestion, ...] = ()


def _n(value: Any) -> str:
    return f"{round(value):,}"


def _raise(to: int) -> Suggestion:
    return Suggestion("raise-ceiling", f"Raise the ceiling to {_n(to)}", int(to))


def _lower(to: int) -> Suggestion:
    return Suggestion("lower-floor", f"Lower the floor to {_n(to)}", int(to))


_LA_OFF = Suggestion("la-rule-off", "Switch the LA rule off")


def _unlock(name: str) -> Suggestion:
    return Suggestion("unlock", f"Unlock {name!r}", name)


Words = tuple[str, tuple[Suggestion, ...]]


def _group_above_ceiling(f: Mapping[str, Any], people: str) -> Words:
    pop, cap = f["population"], f["ceiling"]
    if f.get("la"):
        return (
            f"{f['place']} ({_n(pop)} {people}) cannot stay whole under a ceiling of "
            f"{_n(cap)}: raise the ceiling to at least {_n(pop)} or switch the LA rule off",
            (_raise(pop), _LA_OFF),
        )
    return (
        f"{f['place']} ({_n(pop)} {people}) must share one footprint but is above the "
        f"ceiling of {_n(cap)}: raise the ceiling to at least {_n(pop)}",
        (_raise(pop),),
    )


def _locked_below_floor(f: Mapping[str, Any], people: str) -> Words:
    name, pop = f["footprint"], f["population"]
    return (
        f"Locked footprint {name!r} ({_n(pop)} {people}) is below the floor of "
        f"{_n(f['floor'])}: unlock it or lower the floor to {_n(pop)}",
        (_unlock(name), _lower(pop)),
    )


def _locked_above_ceiling(f: Mapping[str, Any], people: str) -> Words:
    name, pop = f["footprint"], f["population"]
    return (
        f"Locked footprint {name!r} ({_n(pop)} {people}) is above the ceiling of "
        f"{_n(f['ceiling'])}: unlock it or raise the ceiling to at least {_n(pop)}",
        (_unlock(name), _raise(pop)),
    )


def _locked_splits_la(f: Mapping[str, Any], people: str) -> Words:
    names = list(f["footprints"])
    return (
        f"{f['place']} is split by locked footprint{'s' if len(names) > 1 else ''} "
        f"{', '.join(map(repr, names))}, but the LA rule keeps it whole: unlock "
        f"{'them' if len(names) > 1 else 'it'} or switch the LA rule off",
        (*map(_unlock, names), _LA_OFF),
    )


def _component_below_floor(f: Mapping[str, Any], people: str) -> Words:
    pop, floor = f["population"], f["floor"]
    if f["place"] == "the whole map":
        return (
            f"The whole map has {_n(pop)} {people}, below the floor of {_n(floor)}: "
            f"lower the floor to {_n(pop)} or less",
            (_lower(pop),),
        )
    return (
        f"{f['place']} ({_n(pop)} {people}) is cut off from the rest of the map and cannot "
        f"reach the floor of {_n(floor)}: switch a bridge or border back on, or lower the "
        f"floor to {_n(pop)}",
        (_lower(pop),),
    )


def _no_room_under_ceiling(f: Mapping[str, Any], people: str) -> Words:
    pop, need = f["population"], f["needed"]
    return (
        f"{f['place']} ({_n(pop)} {people}) is below the floor of {_n(f['floor'])} and every "
        f"neighbour would take it above the ceiling of {_n(f['ceiling'])}: raise the ceiling "
        f"to at least {_n(need)} or lower the floor to {_n(pop)}",
        (_raise(need), _lower(pop)),
    )


def _satellites_above_ceiling(f: Mapping[str, Any], people: str) -> Words:
    need = f["needed"]
    return (
        f"{f['place']} ({_n(f['population'])} {people}) reach the rest of the map only "
        f"through {f['through']}, so one footprint must hold {_n(need)}, above the ceiling "
        f"of {_n(f['ceiling'])}: raise the ceiling to at least {_n(need)}",
        (_raise(need),),
    )


_WORDS: dict[str, Callable[[Mapping[str, Any], str], Words]] = {
    "group-above-ceiling": _group_above_ceiling,
    "locked-below-floor": _locked_below_floor,
    "locked-above-ceiling": _locked_above_ceiling,
    "locked-splits-la": _locked_splits_la,
    "component-below-floor": _component_below_floor,
    "no-room-under-ceiling": _no_room_under_ceiling,
    "satellites-above-ceiling": _satellites_above_ceiling,
}


def explain(
    checks: Iterable[Check], *, population_label: str = "registered patients"
) -> list[Reason]:
    """Each failed check as one short line with what to change.

    Parameters
    ----------
    checks
        The result's checks (:attr:`footprint.OptimiseResult.checks`), in their order.
    population_label
        What the population counts; its short form is used ("registered patients").

    Returns
    -------
    list of Reason
        One per check, in order; identical lines (the same reason found twice) once.
    """
    people = str(population_label).split(" (")[0]
    out: list[Reason] = []
    seen: set[str] = set()
    for check in checks:
        words = _WORDS.get(check.name)
        line: str = check.message
        suggestions: tuple[Suggestion, ...] = ()
        if words is not None and check.facts:
            try:
                line, suggestions = words(check.facts, people)
            except (KeyError, TypeError, ValueError):  # facts of another shape: its sentence
                line, suggestions = check.message, ()
        line = line[:1].upper() + line[1:]
        if line in seen:
            continue
        seen.add(line)
        out.append(Reason(check.name, line, check.message, tuple(suggestions)))
    return out


def least_ceiling(reasons: Iterable[Reason]) -> int | None:
    """The one ceiling that answers every 'raise the ceiling' suggestion (their largest),
    or None when no reason suggests it."""
    asked = [
        int(s.value)
        for r in reasons
        for s in r.suggestions
        if s.kind == "raise-ceiling" and isinstance(s.value, int)
    ]
    return max(asked) if asked else None
