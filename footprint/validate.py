"""An independent check of a plan against the rules, and the per-footprint summary table.

The checker shares no code with the optimiser: it reads the plan as it is
(unit code -> footprint name) and tests every rule directly on the
:class:`~footprint.problem.Problem`'s plain data with networkx, so a plan the
optimiser returns can be verified by a second, simpler implementation.

Every broken rule becomes one :class:`Violation` with a stable ``rule`` string,
the footprint concerned (or ``None`` for the plan as a whole), the units
involved and a message in plain words that says what is wrong and how to fix
it. :func:`validate_plan` returns them all (never raising for a broken rule);
:func:`summarise_plan` builds the table the app shows on every click.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import pandas as pd

from .constraints import Constraints
from .errors import ConstraintsError, PlanError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .problem import Problem

__all__ = [
    "CLUSTER_RULES",
    "RULES",
    "SUMMARY_COLUMNS",
    "Violation",
    "summarise_plan",
    "validate_plan",
]

#: Every rule the checker knows, in the order violations are reported.
RULES: tuple[str, ...] = (
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
)
#: The rules of the second level of a nested plan (``clusters=`` of :func:`validate_plan`),
#: reported after every rule of the top level.
CLUSTER_RULES: tuple[str, ...] = (
    "cluster-unassigned",
    "cluster-nesting",
    "cluster-floor",
    "cluster-ceiling",
    "cluster-contiguity",
    "cluster-la-rule",
)
_RULE_ORDER = {r: i for i, r in enumerate(RULES + CLUSTER_RULES)}

#: The columns of :func:`summarise_plan`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
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
)

#: How many units a message names before saying "and N more" (``units`` holds them all).
_SHOWN = 10


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes
    ----------
    rule
        One of :data:`RULES` or :data:`CLUSTER_RULES` (stable strings, safe to test
        against).
    footprint
        The footprint concerned, or ``None`` for the plan as a whole (unknown
        or unassigned units, an LA block or keep-together group split across
        footprints, the number of footprints).
    message
        What is wrong, with names and populations, and how to fix it.
    units
        The unit codes involved, sorted.
    """

    rule: str
    footprint: str | None
    message: str
    units: tuple[str, ...] = ()


# --- small helpers ---------------------------------------------------------------------------


def _people(problem: Problem) -> str:
    """The population word for messages: the label without its parenthesised source."""
    label = str(problem.population_label or "population").split(" (", 1)[0].strip()
    return label or "population"


def _unit(problem: Problem, code: str) -> str:
    name = problem.names.get(code, code)
    return code if name == code else f"{name} ({code})"


def _listing(items: list[str], *, limit: int = _SHOWN) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _units_text(problem: Problem, codes: Iterable[str]) -> str:
    return _listing([_unit(problem, c) for c in codes])


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _unknown_violation(codes: Iterable[str]) -> Violation:
    """The ``unknown-unit`` violation for codes that are not units of the problem."""
    unknown = tuple(sorted(set(codes)))
    return Violation(
        "unknown-unit",
        None,
        f"{_plural(len(unknown), 'unit code')} in the plan {'is' if len(unknown) == 1 else 'are'} "
        f"not {'a unit' if len(unknown) == 1 else 'units'} of this geography: "
        f"{_listing(list(unknown))}; remove {'it' if len(unknown) == 1 else 'them'} from the "
        "plan, or check that the plan was made for this geography",
        unknown,
    )


def _clean_plan(plan: Mapping[str, str]) -> dict[str, str]:
    """Code -> stripped footprint name, unassigned entries (``None``, blank) left out."""
    if not isinstance(plan, Mapping):
        raise PlanError(
            f"a plan must map unit codes to footprint names; received {type(plan).__name__}"
        )
    problems: list[str] = []
    out: dict[str, str] = {}
    for code, label in plan.items():
        if not isinstance(code, str):
            problems.append(f"unit code {code!r} is {type(code).__name__}; unit codes must be text")
            continue
        if label is None:
            continue
        if not isinstance(label, str):
            problems.append(
                f"unit {code!r} -> {label!r}: footprint names must be text (use '' or None for "
                "an unassigned unit)"
            )
            continue
        if label.strip():
            out[code] = label.strip()
    if problems:
        raise PlanError("The plan is malformed", problems=problems)
    return out


def _check_constraint_codes(problem: Problem, constraints: Constraints) -> None:
    problems = constraints.code_problems(set(problem.codes))
    if problems:
        raise ConstraintsError("The constraints do not fit this geography", problems=problems)


@dataclass(frozen=True, eq=False)
class _Checked:
    violations: list[Violation]
    members: dict[str, list[str]]  # footprint -> its known units, sorted
    pieces: dict[str, list[list[str]]]  # footprint -> connected pieces (largest first)


@dataclass(frozen=True, eq=False)
class _PlanRead:
    """A plan read once for every rule: who is where, and each footprint's pieces."""

    problem: Problem
    c: Constraints
    assigned: dict[str, str]  # the cleaned plan, unknown codes included
    fp_of: dict[str, str]  # known unit -> footprint
    members: dict[str, list[str]]  # footprint -> its known units, sorted
    pieces: dict[str, list[list[str]]]  # footprint -> connected pieces (largest first)
    current: Mapping[str, str] | None
    level: str = "footprint"  # what the plan's groups are called: "footprint" or "cluster"

    @property
    def people(self) -> str:
        return _people(self.problem)


def _read_plan(
    problem: Problem,
    assigned: dict[str, str],
    c: Constraints,
    current: Mapping[str, str] | None,
    *,
    level: str = "footprint",
) -> _PlanRead:
    known = set(problem.codes)
    fp_of = {code: fp for code, fp in assigned.items() if code in known}
    members: dict[str, list[str]] = {}
    for code in sorted(fp_of):
        members.setdefault(fp_of[code], []).append(code)
    members = {fp: members[fp] for fp in sorted(members)}
    graph = problem.graph(without=c.disabled_edges)
    pops = problem.populations
    pieces: dict[str, list[list[str]]] = {}
    for fp, ms in members.items():
        parts = [sorted(p) for p in nx.connected_components(graph.subgraph(ms))]
        parts.sort(key=lambda p: (-sum(pops[u] for u in p), p))
        pieces[fp] = parts
    return _PlanRead(problem, c, assigned, fp_of, members, pieces, current, level)


def _unknown_units(p: _PlanRead) -> Iterator[Violation]:
    known = set(p.problem.codes)
    unknown = [code for code in p.assigned if code not in known]
    if unknown:
        yield _unknown_violation(unknown)


def _unassigned_units(p: _PlanRead) -> Iterator[Violation]:
    problem = p.problem
    unassigned = sorted(code for code in problem.codes if code not in p.fp_of)
    if unassigned:
        pop = sum(problem.populations[u] for u in unassigned)
        yield Violation(
            "unassigned",
            None,
            f"{_plural(len(unassigned), 'unit')} ({pop:,} {p.people}) "
            f"{'has' if len(unassigned) == 1 else 'have'} no {p.level}: "
            f"{_units_text(problem, unassigned)}; assign every unit to a {p.level}",
            tuple(unassigned),
        )


def _floor(p: _PlanRead) -> Iterator[Violation]:
    c = p.c
    for fp, ms in p.members.items():
        pop = sum(p.problem.populations[u] for u in ms)
        if pop < c.min_population:
            yield Violation(
                "floor",
                fp,
                f"{p.level} {fp!r} has {pop:,} {p.people}, below the floor of "
                f"{c.min_population:,} ({c.min_population - pop:,} short); add neighbouring "
                f"units or merge it with a neighbouring {p.level}",
                tuple(ms),
            )


def _ceiling(p: _PlanRead) -> Iterator[Violation]:
    cap = p.c.max_population
    if cap is None:
        return
    for fp, ms in p.members.items():
        pop = sum(p.problem.populations[u] for u in ms)
        if pop > cap:
            yield Violation(
                "ceiling",
                fp,
                f"{p.level} {fp!r} has {pop:,} {p.people}, above the ceiling of "
                f"{cap:,} ({pop - cap:,} over); move units on its "
                f"edge to a neighbouring {p.level} or split it in two",
                tuple(ms),
            )


def _contiguity(p: _PlanRead) -> Iterator[Violation]:
    problem, c, pops = p.problem, p.c, p.problem.populations
    for fp, ms in p.members.items():
        parts = p.pieces[fp]
        if len(parts) <= 1:
            continue
        described = "; ".join(
            f"[{_units_text(problem, part)}] ({sum(pops[u] for u in part):,} {p.people})"
            for part in parts
        )
        disabled = (
            f" (not counting the {_plural(len(c.disabled_edges), 'disabled border')})"
            if c.disabled_edges
            else ""
        )
        yield Violation(
            "contiguity",
            fp,
            f"{p.level} {fp!r} is in {len(parts)} separate pieces{disabled}: {described}; "
            f"join the pieces through neighbouring units or make them separate {p.level}s",
            tuple(ms),
        )


def _la_rule(p: _PlanRead) -> Iterator[Violation]:
    if p.c.la_rule != "whole-la":
        return
    for block, units in sorted(p.problem.block_members().items()):
        fps, split = _split(p.problem, units, p.fp_of)
        if len(fps) > 1:
            yield Violation(
                "la-rule",
                None,
                f"LA block {block} ({_plural(len(units), 'unit')}) is split across "
                f"{len(fps)} {p.level}s: {split}; put the whole block in one {p.level}, "
                "or switch the LA rule off",
                tuple(units),
            )


def _keep_together(p: _PlanRead) -> Iterator[Violation]:
    for group in p.c.keep_together:
        codes = sorted(group)
        fps, split = _split(p.problem, codes, p.fp_of)
        if len(fps) > 1:
            yield Violation(
                "keep-together",
                None,
                f"units {_units_text(p.problem, codes)} must share a footprint but are split "
                f"across {len(fps)}: {split}; move them into one footprint",
                tuple(codes),
            )


def _keep_apart(p: _PlanRead) -> Iterator[Violation]:
    fp_of = p.fp_of
    for a, b in p.c.keep_apart:
        if a in fp_of and fp_of.get(b) == fp_of[a]:
            fp = fp_of[a]
            yield Violation(
                "keep-apart",
                fp,
                f"units {_unit(p.problem, a)} and {_unit(p.problem, b)} must be in different "
                f"footprints but are both in {fp!r}; move one of them to another footprint",
                (a, b),
            )


def _fixed(p: _PlanRead) -> Iterator[Violation]:
    for code, name in p.c.fixed:
        got = p.fp_of.get(code)
        if got != name:
            where = f"the plan puts it in {got!r}" if got else "the plan leaves it unassigned"
            yield Violation(
                "fixed",
                got,
                f"unit {_unit(p.problem, code)} is fixed to footprint {name!r} but {where}; "
                f"move it to {name!r} or remove the fixing",
                (code,),
            )


def _locked(p: _PlanRead) -> Iterator[Violation]:
    if p.current is None or not p.c.locked:
        return
    before = _clean_plan(p.current)
    for name in p.c.locked:
        was = {u for u, fp in before.items() if fp == name}
        now = set(p.members.get(name, ()))
        if not was:
            yield Violation(
                "locked",
                name,
                f"footprint {name!r} is locked but is not in the current plan; unlock it "
                "or choose the current plan it belongs to",
                (),
            )
            continue
        if was == now:
            continue
        gained, lost = sorted(now - was), sorted(was - now)
        changes = []
        if gained:
            changes.append(f"gained {_units_text(p.problem, gained)}")
        if lost:
            changes.append(f"lost {_units_text(p.problem, lost)}")
        yield Violation(
            "locked",
            name,
            f"footprint {name!r} is locked but has {' and '.join(changes)}; put it back "
            "as it was in the current plan, or unlock it",
            tuple(sorted(set(gained) | set(lost))),
        )


def _count(p: _PlanRead) -> Iterator[Violation]:
    lo, hi = p.c.count_range
    n = len(p.members)
    if n < lo or (hi is not None and n > hi):
        if hi is None:
            expected = f"at least {lo:,}"
        elif lo == hi:
            expected = f"exactly {lo:,}"
        else:
            expected = f"between {lo:,} and {hi:,}"
        fix = "split footprints or add new ones" if n < lo else "merge neighbouring footprints"
        yield Violation(
            "count",
            None,
            f"the plan has {_plural(n, 'footprint')}; expected {expected}; {fix}",
            (),
        )


#: every rule of a valid plan, one function each (GerryChain's validator shape): each reads
#: the plan once read and yields its violations, every one said in words
_RULE_CHECKS: tuple[Callable[[_PlanRead], Iterable[Violation]], ...] = (
    _unknown_units,
    _unassigned_units,
    _floor,
    _ceiling,
    _contiguity,
    _la_rule,
    _keep_together,
    _keep_apart,
    _fixed,
    _locked,
    _count,
)


def _nesting(p: _PlanRead, top: Mapping[str, str]) -> Iterator[Violation]:
    """Clusters whose units lie in more than one footprint of the top level."""
    for cluster, ms in p.members.items():
        fps, split = _split(p.problem, ms, top)
        if len(fps) > 1:
            yield Violation(
                "cluster-nesting",
                cluster,
                f"cluster {cluster!r} spans {len(fps)} footprints: {split}; put each cluster "
                "inside one footprint",
                tuple(ms),
            )


def _cluster_violations(
    problem: Problem, top: Mapping[str, str], clusters: Mapping[str, str], c: Constraints
) -> Iterator[Violation]:
    """Every rule the clusters break, each as a ``cluster-`` rule of :data:`CLUSTER_RULES`."""
    read = _read_plan(problem, _clean_plan(clusters), c.cluster_level(), None, level="cluster")
    known = set(problem.codes)
    yield from _nesting(read, {u: fp for u, fp in _clean_plan(top).items() if u in known})
    for rule in (_unassigned_units, _floor, _ceiling, _contiguity, _la_rule):
        for v in rule(read):
            yield Violation(f"cluster-{v.rule}", v.footprint, v.message, v.units)


def _check(
    problem: Problem,
    plan: Mapping[str, str],
    constraints: Constraints | None,
    current: Mapping[str, str] | None,
    clusters: Mapping[str, str] | None = None,
) -> _Checked:
    c = Constraints() if constraints is None else constraints
    if not isinstance(c, Constraints):
        raise PlanError(
            f"constraints must be a Constraints object or None; received {type(c).__name__}"
        )
    assigned = _clean_plan(plan)
    _check_constraint_codes(problem, c)
    read = _read_plan(problem, assigned, c, current)
    out = [v for rule in _RULE_CHECKS for v in rule(read)]
    if clusters is not None:
        out.extend(_cluster_violations(problem, plan, clusters, c))
    out.sort(key=lambda v: (_RULE_ORDER[v.rule], v.footprint or "", v.units, v.message))
    return _Checked(violations=out, members=read.members, pieces=read.pieces)


# --- public API ------------------------------------------------------------------------------


def _split(
    problem: Problem, units: Iterable[str], fp_of: Mapping[str, str]
) -> tuple[dict[str, list[str]], str]:
    """Footprint -> the given units in it, and that split in words."""
    fps: dict[str, list[str]] = {}
    for u in units:
        if u in fp_of:
            fps.setdefault(fp_of[u], []).append(u)
    words = "; ".join(f"{fp!r} ({_units_text(problem, us)})" for fp, us in sorted(fps.items()))
    return fps, words


def validate_plan(
    problem: Problem,
    plan: Mapping[str, str],
    constraints: Constraints | None = None,
    *,
    current: Mapping[str, str] | None = None,
    clusters: Mapping[str, str] | None = None,
) -> list[Violation]:
    """Every rule the plan breaks, in a fixed order (empty when the plan is valid).

    Parameters
    ----------
    problem
        The units, populations, adjacency and LA blocks.
    plan
        Unit code -> footprint name. A unit missing from the plan, or mapped
        to ``None`` or blank text, is unassigned. Names are stripped of
        surrounding spaces. The mapping is not changed.
    constraints
        The rules to check (default ``Constraints()``: a floor of 300,000 and
        whole LA blocks).
    current
        The current plan, needed to check ``constraints.locked``: each locked
        footprint must have exactly the same units in ``plan`` as in
        ``current``. Locks are not checked when it is ``None``.
    clusters
        The second level of a nested plan (``objective="nested"``): unit code ->
        cluster name. Each cluster must lie inside one footprint of ``plan``, be in
        one piece, hold ``constraints.cluster_min_population`` to
        ``cluster_max_population`` and, under ``whole-la``, keep LA blocks whole; a
        unit with no cluster is reported. ``None`` checks the top level only.

    Returns
    -------
    list of Violation
        Sorted by rule (in the order of :data:`RULES`), then footprint, then
        units. Rules: ``unknown-unit`` (codes that are not units),
        ``unassigned``, ``floor`` and ``ceiling`` (population per footprint),
        ``contiguity`` (in the adjacency graph without the disabled borders;
        the message names the separate pieces), ``la-rule`` (under
        ``whole-la``, an LA block split across footprints), ``keep-together``,
        ``keep-apart``, ``fixed``, ``locked`` and ``count`` (the number of
        footprints outside ``constraints.count_range``). Footprints are
        formed from the known units only. With ``clusters``, the same rules for the
        clusters follow, named ``cluster-unassigned``, ``cluster-nesting``,
        ``cluster-floor``, ``cluster-ceiling``, ``cluster-contiguity`` and
        ``cluster-la-rule`` (:data:`CLUSTER_RULES`).

    Raises
    ------
    PlanError
        When the plan is not a mapping or holds codes or names that are not
        text (every such entry listed).
    ConstraintsError
        When the constraints name unit codes that the problem does not have.
    """
    return list(_check(problem, plan, constraints, current, clusters).violations)


def _empty_summary() -> pd.DataFrame:
    dtypes: dict[str, Any] = {
        "footprint": object,
        "population": "int64",
        "n_units": "int64",
        "units": object,
        "unit_names": object,
        "las": object,
        "area_km2": "float64",
        "polsby_popper": "float64",
        "inertia": "float64",
        "contiguous": bool,
        "meets_floor": bool,
        "problems": object,
    }
    return pd.DataFrame({col: pd.Series(dtype=dtypes[col]) for col in SUMMARY_COLUMNS})


def summarise_plan(
    problem: Problem,
    plan: Mapping[str, str],
    constraints: Constraints | None = None,
) -> pd.DataFrame:
    """One row per footprint of the plan, sorted by name, with its checks.

    Parameters
    ----------
    problem
        The units with their populations, LAs, areas and adjacency.
    plan
        Unit code -> footprint name (unassigned and unknown units are left out
        of the rows; :func:`validate_plan` reports them).
    constraints
        The rules (default ``Constraints()``); ``min_population`` sets
        ``meets_floor`` and the violations fill ``problems``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SUMMARY_COLUMNS`: ``footprint``, ``population``,
        ``n_units``, ``units`` (list of codes), ``unit_names`` (list),
        ``las`` (sorted list of the LA codes the units cover),
        ``area_km2``, ``polsby_popper`` (1 is a circle), ``inertia``
        (population-weighted moment of inertia, person-km²), ``contiguous``,
        ``meets_floor`` and ``problems`` (the messages of every violation
        that concerns the footprint: its own, and those of split LA blocks or
        keep-together groups whose units it holds). Empty plan: no rows,
        the same columns.

    Raises
    ------
    PlanError, ConstraintsError
        As :func:`validate_plan`.
    """
    c = Constraints() if constraints is None else constraints
    checked = _check(problem, plan, c, None)
    if not checked.members:
        return _empty_summary()
    fp_of = {u: fp for fp, ms in checked.members.items() for u in ms}
    problems: dict[str, list[str]] = {fp: [] for fp in checked.members}
    for v in checked.violations:
        concerned = {fp_of[u] for u in v.units if u in fp_of}
        if v.footprint is not None and v.footprint in problems:
            concerned.add(v.footprint)
        for fp in sorted(concerned):
            problems[fp].append(v.message)
    rows = []
    for fp, ms in checked.members.items():
        pop = sum(problem.populations[u] for u in ms)
        las = sorted({la for u in ms for la in problem.las.get(u, ())})
        rows.append(
            {
                "footprint": fp,
                "population": pop,
                "n_units": len(ms),
                "units": list(ms),
                "unit_names": [problem.names.get(u, u) for u in ms],
                "las": las,
                "area_km2": sum(problem.areas[u] for u in ms) / 1e6,
                "polsby_popper": float(problem.polsby_popper(ms)),
                "inertia": float(problem.inertia(ms)),
                "contiguous": len(checked.pieces[fp]) <= 1,
                "meets_floor": pop >= c.min_population,
                "problems": problems[fp],
            }
        )
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    frame["population"] = frame["population"].astype("int64")
    frame["n_units"] = frame["n_units"].astype("int64")
    return frame
