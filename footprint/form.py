"""The optimise form without its widgets: what a planner typed in, as ``Constraints``, and
what came out, in words.

The app's Optimise page and the command line's ``optimise`` both build their constraints
with :func:`constraints_from_form`, so the two cannot drift apart (the app once lacked
``change_measure`` and ``mip_gap``). Rules typed as text (keep together, keep apart, fixed
units, borders switched off) are read here with :mod:`footprint.rule_text`, and every
problem, in the boxes or in the values, comes back in one :class:`ConstraintsError`.

:func:`verdict` reads an optimiser result into one sentence in the population's own
words ("residents" for a planner's geography that counts residents); over a partial drawing
it says what became of the units that were in no footprint (:func:`placement_reading`).
:func:`kept_drawing` is "keep my footprints and plan the rest" as fixed units, and
:func:`drawing_message` words a validator message for a page that only draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .compare import moved_units
from .constraints import Constraints
from .errors import ConstraintsError
from .result import nested_verdict
from .rule_text import RuleKind, read_rules

__all__ = [
    "box_lines",
    "constraints_from_form",
    "drawing_message",
    "footprint_count",
    "kept_drawing",
    "placement_reading",
    "progress_words",
    "short_label",
    "verdict",
]

#: The heading of the one error that lists every problem in a form.
NOT_USABLE = "The constraints are not usable"


def box_lines(text: str, *, box: str) -> list[tuple[str, str]]:
    """Each filled line of a text box as (where, text): ``("Keep apart, line 2", "...")``."""
    return [
        (f"{box}, line {n}", line)
        for n, line in enumerate(str(text).splitlines(), start=1)
        if line.strip(" ,;\t")
    ]


def footprint_count(mode: str, low: int, high: int) -> int | tuple[int, int] | None:
    """The number of footprints a form asks for: ``"any"``, ``"exactly"`` or ``"between"``."""
    if mode == "exactly":
        return int(low)
    if mode == "between":
        return (int(low), int(high))
    return None


def constraints_from_form(
    *,
    lookup: Mapping[str, str],
    unit: str = "unit",
    keep_together: Iterable[tuple[str, str]] = (),
    keep_apart: Iterable[tuple[str, str]] = (),
    fixed: Iterable[tuple[str, str]] = (),
    disabled_edges: Iterable[tuple[str, str]] = (),
    fixed_units: Iterable[tuple[str, str]] = (),
    edges: Iterable[tuple[str, str]] = (),
    problems: Iterable[str] = (),
    **values: Any,
) -> Constraints:
    """A form's values as :class:`Constraints`, every problem listed in one error.

    Parameters
    ----------
    lookup
        What a planner may type for each unit -> its code (:func:`rule_text.unit_lookup`).
    unit
        What the units are called in messages ("CCG").
    keep_together, keep_apart, fixed, disabled_edges
        Rules as text, each as (where it was written, the text): a box's line
        (:func:`box_lines`) or a command-line flag. ``fixed`` lines read "unit, footprint".
    fixed_units, edges
        Fixed units and switched-off adjacencies already read (a locked footprint's units,
        a picked island bridge), added to those read from text.
    problems
        Problems the caller found already (a flag in the wrong shape); they head the list.
    **values
        The other :class:`Constraints` fields as the form holds them (``objective``,
        ``min_population``, ``max_population``, ``n_footprints``,
        ``la_rule``, ``locked``, ``time_limit``, ``mip_gap``, ``solver``,
        ``change_measure``).

    Raises
    ------
    ConstraintsError
        "The constraints are not usable", listing what is wrong in the text, by where it
        was written, and in the values.
    """
    found = list(problems)

    def read(entries: Iterable[tuple[str, str]], kind: RuleKind) -> list[tuple[str, ...]]:
        rules, bad = read_rules(entries, kind=kind, lookup=lookup, unit=unit)
        found.extend(bad)
        return rules

    together = read(keep_together, "group")
    apart = read(keep_apart, "pair")
    fixed_read = read(fixed, "fixed")
    off = read(disabled_edges, "pair")
    fixed_map = {rule[0]: rule[1] for rule in fixed_read}
    fixed_map.update(dict(fixed_units))
    try:
        built = Constraints(
            keep_together=tuple(frozenset(g) for g in together),
            keep_apart=tuple(_two(p) for p in apart),
            fixed=tuple(fixed_map.items()),
            disabled_edges=tuple(_two(e) for e in [*off, *edges]),
            **values,
        )
    except ConstraintsError as exc:
        raise ConstraintsError(NOT_USABLE, problems=[*found, *exc.problems]) from None
    if found:
        raise ConstraintsError(NOT_USABLE, problems=found)
    return built


def _two(items: Iterable[str]) -> tuple[str, str]:
    """A pair read from a rule box or a flag (the reader has checked that it is two)."""
    first, second = items
    return first, second


def short_label(population_label: str) -> str:
    """What the population counts, without its source: "registered patients"."""
    return str(population_label).split(" (")[0]


def kept_drawing(drawing: Mapping[str, str]) -> list[tuple[str, str]]:
    """ "Keep my footprints (locked or not) and plan the rest", as fixed units.

    Every drawn unit is fixed to its footprint's name (``Constraints.fixed``); the
    units in no footprint are left for the optimiser to plan.
    """
    return sorted((str(u), str(f)) for u, f in drawing.items() if f is not None and str(f))


def placement_reading(
    drawing: Mapping[str, str],
    plan: Mapping[str, str],
    *,
    unit: str = "CCG",
    unit_plural: str | None = None,
    populations: Mapping[str, int] | None = None,
    population_label: str = "",
) -> str | None:
    """What a plan made of a partial drawing, in words; ``None`` when nothing was unassigned.

    "204 CCGs that were in no footprint were placed, all in one new footprint of
    54,766,960 registered patients; 3 CCGs moved." Moved units are counted as the
    comparison counts them (:func:`footprint.compare.moved_units`), so the two pages
    give one number.

    Parameters
    ----------
    drawing
        The plan the optimiser started from (unit -> footprint; units missing are in
        no footprint).
    plan
        The optimiser's plan.
    unit, unit_plural
        What the units are called ("CCG", "CCGs").
    populations
        Unit -> population: with it, a single new footprint's size is given.
    population_label
        What the population counts, for that size.
    """
    many = unit_plural or f"{unit}s"
    drawn = {u for u, f in drawing.items() if f}
    placed = sorted(u for u, f in plan.items() if f and u not in drawn)
    if not placed:
        return None

    def count(n: int) -> str:
        return f"{n:,} {unit if n == 1 else many}"

    homes = {plan[u] for u in placed}
    new = sorted(f for f in homes if not any(plan.get(u) == f for u in drawn))
    was = "that was" if len(placed) == 1 else "that were"
    if len(homes) == 1 and new:
        size = ""
        if populations is not None:
            total = sum(int(populations.get(u, 0)) for u, f in plan.items() if f == new[0])
            size = f" of {total:,} {short_label(population_label)}".rstrip()
        where = f"all in one new footprint{size}"
    elif new:
        where = f"in {len(homes):,} footprints, {len(new):,} of them new"
    else:
        where = (
            f"into the drawn footprint {next(iter(homes))!r}"
            if len(homes) == 1
            else f"into {len(homes):,} of the drawn footprints"
        )
    moved = len(moved_units(dict(drawing), dict(plan)))
    return (
        f"{count(len(placed))} {was} in no footprint {'was' if len(placed) == 1 else 'were'}"
        f" placed, {where}; {count(moved)} moved."
    )


def _feasible_words(result: Mapping[str, Any], *, n: Any, moving: str) -> str:
    """The sentence for a plan that is valid but not proven best: how far from the best it
    may be, in the objective's own terms."""
    value = result.get("objective_value")
    bound = result.get("bound")
    gap = result.get("gap")
    if moving:
        least = (
            f"; any plan that meets every rule moves at least {bound:,.0f}"
            if isinstance(bound, int | float)
            else "; the fewest possible is not known"
        )
        return f"Feasible: {n} footprints{moving}{least}."
    if result.get("objective") == "balanced" and isinstance(value, int | float):
        # the gap of a spread is measured against the mean footprint, not the best plan
        spread = f"Feasible: {n} footprints, populations at most {value:,.0f} apart"
        share = f" ({gap:.1%} of the mean footprint)" if gap is not None else ""
        if not bound:
            return (
                f"{spread}{share}. No lower bound on the spread was proven, "
                "so how much more even a plan can be is not known."
            )
        return f"{spread}; the most even plan is proven at least {bound:,.0f} apart{share}."
    within = f"within {gap:.1%} of the best possible" if gap is not None else "gap unknown"
    b = f" (bound {bound:,.4g})" if isinstance(bound, int | float) else ""
    return f"Feasible, {within}{b}: {n} footprints."


def verdict(
    result: Mapping[str, Any],
    *,
    population_label: str,
    unit: str = "CCG",
    unit_plural: str | None = None,
    populations: Mapping[str, int] | None = None,
) -> tuple[str, str]:
    """(kind of message, one plain sentence) for an optimiser result's summary.

    ``kind`` is ``"success"`` (proven best), ``"warning"`` (a plan, not proven best) or
    ``"error"`` (no plan). ``result`` holds the result's ``status``, ``footprints``,
    ``objective``, ``objective_value``, ``bound``, ``gap``, ``reasons``, ``time_limit`` and
    the constraints' ``change_measure``; a nested run's ``levels`` and ``cluster_range``
    are read by :func:`footprint.result.nested_verdict`. A repair that counts population
    moved says it in ``population_label``'s words; units moved are counted as
    ``unit_plural``.

    A repair (``fewest-changes``) whose ``result`` also holds the ``drawing`` it started
    from and its ``assignment`` says what it did with the units the drawing left in no
    footprint (:func:`placement_reading`): fewest-changes counts only moves of drawn
    units, so where the rest went was not optimised, and the result is a warning, never
    a bare "Proven best".
    """
    if result.get("cancelled"):
        return _cancelled_verdict(
            result,
            population_label=population_label,
            unit=unit,
            unit_plural=unit_plural,
            populations=populations,
        )
    if result.get("levels") and result["status"] in ("optimal", "feasible"):
        # a nested run: both levels, the maximised one first (footprint.result)
        return nested_verdict(result, population_label=population_label)
    many = unit_plural or f"{unit}s"
    status = result["status"]
    n = result.get("footprints")
    value = result.get("objective_value")
    moving = ""  # a repair says what it moves
    repair = result.get("objective") == "fewest-changes"
    if repair and isinstance(value, int | float):
        what = (
            short_label(population_label) if result.get("change_measure") == "population" else many
        )
        moving = f", moving {value:,.0f} {what} from their footprint in the drawing"
    placed = None
    if repair and status in ("optimal", "feasible") and result.get("drawing") is not None:
        placed = placement_reading(
            result["drawing"],
            result.get("assignment") or {},
            unit=unit,
            unit_plural=many,
            populations=populations,
            population_label=population_label,
        )
    if placed:
        head = (
            "Optimal for the drawn " + many + " (no fewer moves are possible)"
            if status == "optimal"
            else "Feasible"
        )
        return "warning", (
            f"{head}: {n} footprints. {placed} fewest-changes counts only "
            f"moves of the {many} you drew, so where the others went was not "
            "planned: to plan them, run again starting from 'Keep my "
            "footprints, plan the rest'."
        )
    if status == "optimal":
        return "success", f"Proven best (optimal): {n} footprints{moving}."
    if status == "feasible":
        return "warning", _feasible_words(result, n=n, moving=moving)
    if status == "infeasible":
        reasons = result.get("reasons") or ["the solver proved no plan meets every constraint"]
        if result.get("explained"):  # each reason is shown on a line of its own below
            n = len(reasons)
            return "error", (
                f"Infeasible: no plan can meet every rule, for {'the reason' if n == 1 else n} "
                f"{'below' if n == 1 else 'reasons below'}."
            )
        return "error", "Infeasible: " + "; ".join(map(str, reasons))
    return "error", (
        f"No solution within the time limit ({result.get('time_limit', '?')} s). "
        "Give it more time or relax a constraint."
    )


#: What the validator suggests that a drawing page cannot do, and where it can be done.
_ELSEWHERE = {
    "or switch the LA rule off": "or plan with the LA rule off on the Optimise page (the "
    "drawing is always checked with it on)",
}


def _cancelled_verdict(result: Mapping[str, Any], **words: Any) -> tuple[str, str]:
    """A run the planner cancelled: when, then what it had (a plan keeps its own words)."""
    after = f"Cancelled after {float(result.get('seconds') or 0):.0f} s"
    if not result.get("assignment"):
        return "warning", f"{after}, before any plan was found: nothing was saved."
    kind, sentence = verdict({**result, "cancelled": False}, **words)
    return kind, f"{after}; the best plan found by then. {sentence}"


def progress_words(
    *,
    state: str,
    elapsed: float,
    limit: float,
    stage: str,
    value: float | None,
    bound: float | None,
) -> tuple[str, str]:
    """(headline, figures) for a background run (:class:`~footprint.background.SolveProgress`).

    The headline says where the run stands against its limit; the figures say what the
    current step has found: its best value and the bound proven so far, with their gap, in
    that step's own measure (the step's sentence says which step it is).
    """
    if state == "waiting":
        return "Waiting for a free solver", stage
    if state == "cancelling":
        head = (
            f"Cancelling after {elapsed:.0f} s: the run ends its current step and keeps "
            "its best plan"
        )
    else:
        head = f"Solving: {elapsed:.0f} s of {limit:.0f} s"
    if value is None:
        found = "no plan in this step yet"
    else:
        found = f"best so far {value:,.6g}"
        if bound is None:
            found += ", no bound proven yet"
        else:
            gap = abs(value - bound) / abs(value) if value else None
            found += f", bound {bound:,.6g}" + (f" (gap {gap:.1%})" if gap is not None else "")
    return head, f"{stage.rstrip('.…')}: {found}." if stage else f"{found[:1].upper()}{found[1:]}."


def drawing_message(message: str) -> str:
    """A validator message for a page that only draws: what it suggests doing elsewhere
    says where ("switch the LA rule off" is a choice of the Optimise page)."""
    for said, instead in _ELSEWHERE.items():
        message = message.replace(said, instead)
    return message
