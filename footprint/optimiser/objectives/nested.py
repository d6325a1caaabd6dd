"""Nested tiers: top-level footprints, each divided into clusters within a population range.

The 2013 guidance put some functions at scale (a few large commissioning support units)
and others at "cluster level, 250,000 to 1,000,000". A nested plan answers both at once:
top-level footprints at or above the floor (optionally a count and a ceiling), each
divided into clusters within the cluster range; both levels contiguous and both keeping
LA blocks whole under ``whole-la``. A top-level footprint is a union of whole clusters,
so its contiguity and LA blocks follow from theirs.

It is solved in two stages, each a ``max-footprints`` run of the optimiser itself (its
floor sets, packing bound, districting model and validator), and the statuses say what
is proven:

- **the most footprints** (``nested_maximise="footprints"``): the top level is planned
  first, with the floor raised to the cluster floor if that is higher (a footprint holds
  at least one cluster). Every nested plan's top level is such a plan, so that run's
  bound bounds the nested count, and its status is the nested status. Each footprint is
  then divided into the most clusters it can hold, one small run on its own units (a
  footprint below twice the cluster floor holds exactly one cluster, with no solve). If
  a footprint cannot be divided, the clusters are planned first instead (below), and the
  plan is reported as feasible against the first bound.
- **the most clusters** (``nested_maximise="clusters"``): the clusters are planned first,
  over the whole map with the cluster range as floor and ceiling. Every nested plan's
  clusters are such a plan, so that run's bound bounds the nested count, and its status
  is the nested status. The clusters are then grouped into the most footprints reaching
  the floor: ``max-footprints`` again, on the graph whose units are the clusters. That
  top-level count is the most *for these clusters*, not over every nested plan with as
  many clusters, and ``levels`` says so.

Before either stage, the cluster level is checked like any plan (the feasibility checks
of :mod:`footprint.feasibility` with the cluster range), and an LA block above the
cluster ceiling is named by its LA: under ``whole-la`` it cannot sit inside one cluster.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..._pairs import sorted_pair
from ..._text import population_word
from ...constraints import Constraints
from ...errors import SolverError
from ...feasibility import Check, prepare
from ...instance import Instance
from ...problem import Problem
from ...result import OptimiseResult
from ..budget import Run
from ..state import Plan
from .base import Objective
from .max_footprints import below_plan, settle

Done = Callable[..., OptimiseResult]
#: unit -> group key, for a level not yet named
Groups = dict[str, str]

#: share of the time left that the first stage's run may use
_FIRST_SHARE = 0.5


def solve(
    inst: Instance, run: Run, *, problem: Problem, current: Mapping[str, str] | None, done: Done
) -> OptimiseResult:
    """The most footprints or clusters a nested plan allows (``current`` is not used)."""
    c = run.constraints
    run.say("Checking the cluster level against the map…")
    blocked = _cluster_checks(problem, c)
    if blocked:
        return done("infeasible", None, checks=blocked)
    if c.nested_maximise == "clusters":
        return _most_clusters(inst, run, problem, done)
    return _most_footprints(inst, run, problem, done)


# --- the two orders ---------------------------------------------------------------------------


def _most_footprints(inst: Instance, run: Run, problem: Problem, done: Done) -> OptimiseResult:
    """Top level first (its count bound is the nested bound), then each footprint divided."""
    c = run.constraints
    rules = Constraints(
        min_population=max(c.min_population, c.cluster_min_population),
        max_population=c.max_population,
        n_footprints=c.n_footprints,
        la_rule=c.la_rule,
        disabled_edges=c.disabled_edges,
        solver=c.solver,
        mip_gap=c.mip_gap,
        time_limit=c.time_limit,
    )
    top = _run_level(problem, run, rules, label="Top level", share=_FIRST_SHARE)
    if not top.ok:
        return _no_plan(_worded(top, "top level"), done)
    divided = _divide(problem, run, top.assignment)
    if divided is not None:
        clusters, proven = divided
        n_top = len(set(top.assignment.values()))
        levels = {
            "footprints": _level(n_top, top.bound, proven=top.status == "optimal", most=True),
            "clusters": {
                "count": len(set(clusters.values())),
                "bound": None,
                "proof": "the most clusters each footprint can be divided into"
                + (
                    " (proven footprint by footprint)"
                    if proven
                    else " found in the time (not proven the most for every footprint)"
                ),
                "maximised": False,
            },
        }
        return _settled(
            inst,
            run,
            problem,
            done,
            status=top.status,
            top=dict(top.assignment),
            clusters=clusters,
            value=float(n_top),
            bound=top.bound,
            levels=levels,
        )
    if run.cancelled():  # the division stopped, not failed: no other route is tried
        return done(
            "no-solution",
            None,
            reasons=("the run was cancelled before a plan was found",),
            bound=top.bound,
        )
    run.say("A footprint of that plan cannot be divided into clusters; planning clusters first…")
    first = _clusters_then_footprints(problem, run)
    if isinstance(first, OptimiseResult):
        return _no_plan(first, done, bound=top.bound)
    tops, clusters, _, _ = first
    n_top = len(set(tops.values()))
    status = "optimal" if top.status == "optimal" and n_top >= (top.bound or 0) else "feasible"
    levels = {
        "footprints": _level(n_top, top.bound, proven=status == "optimal", most=True),
        "clusters": _level(len(set(clusters.values())), None, proven=False, given="footprints"),
    }
    return _settled(
        inst,
        run,
        problem,
        done,
        status=status,
        top=tops,
        clusters=clusters,
        value=float(n_top),
        bound=top.bound,
        levels=levels,
    )


def _most_clusters(inst: Instance, run: Run, problem: Problem, done: Done) -> OptimiseResult:
    """Clusters first (their count bound is the nested bound), then grouped into footprints."""
    first = _clusters_then_footprints(problem, run)
    if isinstance(first, OptimiseResult):
        return _no_plan(first, done)
    tops, clusters, clu, grp = first
    k = len(set(clusters.values()))
    n_top = len(set(tops.values()))
    given = "the most footprints these clusters can be grouped into"
    levels = {
        "clusters": _level(k, clu.bound, proven=clu.status == "optimal", most=True),
        "footprints": {
            "count": n_top,
            "bound": None,
            "bound_for_these_clusters": grp.bound,
            "maximised": False,
            "proof": (
                f"{given} (proven); other clusters of the same number might allow more"
                if grp.status == "optimal"
                else f"found in the time; at most {grp.bound:g} for these clusters"
                if grp.bound is not None
                else "found in the time, with no bound"
            ),
        },
    }
    return _settled(
        inst,
        run,
        problem,
        done,
        status=clu.status,
        top=tops,
        clusters=clusters,
        value=float(k),
        bound=clu.bound,
        levels=levels,
    )


def _clusters_then_footprints(
    problem: Problem, run: Run
) -> tuple[Groups, Groups, OptimiseResult, OptimiseResult] | OptimiseResult:
    """Clusters over the map, then grouped into footprints: (tops, clusters, both runs).

    A run without a plan is returned with its reasons in words: the clusters' run, or the
    grouping's (these clusters could not be grouped).
    """
    c = run.constraints
    clu = _run_level(problem, run, c.cluster_level(), label="Clusters", share=_FIRST_SHARE)
    if not clu.ok:
        return _worded(clu, "cluster level")
    clusters = dict(clu.assignment)
    graph = _quotient(problem, clusters, c.disabled_edges)
    rules = Constraints(
        min_population=c.min_population,
        max_population=c.max_population,
        n_footprints=c.n_footprints,
        la_rule="off",  # every LA block already lies inside one cluster
        solver=c.solver,
        mip_gap=c.mip_gap,
        time_limit=c.time_limit,
    )
    grp = _run_level(graph, run, rules, label="Footprints from the clusters", share=1.0)
    if not grp.ok:
        k = len(set(clusters.values()))
        why = "; ".join(grp.reasons) or grp.status
        reason = (
            f"the {k} clusters found could not be grouped into footprints that meet the floor, "
            f"ceiling and count ({why}); other clusters might be, so this is not proven "
            "impossible: give it more time, or relax the footprint count or ceiling"
        )
        return dataclasses.replace(grp, status="no-solution", reasons=(reason,), checks=())
    tops = {u: grp.assignment[k] for u, k in clusters.items()}
    return tops, clusters, clu, grp


def _divide(problem: Problem, run: Run, top: Mapping[str, str]) -> tuple[Groups, bool] | None:
    """Each footprint divided into the most clusters it holds, and whether all are proven.

    None when a footprint holds no valid division (or none was found in its time).
    """
    c = run.constraints
    lo, hi = c.cluster_min_population, c.cluster_max_population
    members: dict[str, list[str]] = {}
    for u in problem.codes:
        members.setdefault(top[u], []).append(u)
    pops = {fp: sum(problem.populations[u] for u in us) for fp, us in members.items()}
    to_solve = [fp for fp in sorted(members) if pops[fp] >= 2 * lo]
    out: Groups = {}
    proven = True
    for fp in sorted(members):
        units = members[fp]
        if fp not in to_solve:
            # below twice the cluster floor there is room for one cluster: the whole footprint
            if not lo <= pops[fp] <= hi:
                return None
            out.update(dict.fromkeys(units, f"{fp}.1"))
            continue
        keep = set(units)
        rules = c.cluster_level().replace(
            disabled_edges=[p for p in c.disabled_edges if set(p) <= keep]
        )
        share = 1.0 / (len(to_solve) - to_solve.index(fp))
        sub = _run_level(
            _restricted(problem, keep), run, rules, label=f"Clusters in {fp}", share=share
        )
        if not sub.ok:
            return None
        proven = proven and sub.status == "optimal"
        out.update({u: f"{fp}.{name}" for u, name in sub.assignment.items()})
    return out, proven


# --- one level's run --------------------------------------------------------------------------


def _run_level(
    problem: Problem, run: Run, rules: Constraints, *, label: str, share: float
) -> OptimiseResult:
    """One ``max-footprints`` run of the optimiser for a level, in ``share`` of the time left."""
    from .. import optimise  # the package's entry point, which imports this module

    seconds = max(0.5, share * run.left())
    out = optimise(
        problem,
        rules.replace(time_limit=round(seconds, 3)),
        progress=lambda message: run.say(f"{label}: {message}"),
        # the level's run hears the Cancel too (and leaves it watched for the loops after it)
        cancel=run.cancel,
    )
    run.logs.append(f"===== {label} =====\n{out.log}")
    run.stages.append(
        {
            "stage": label,
            "status": out.status,
            "count": out.footprints,
            "bound": out.bound,
            "seconds": round(out.seconds, 3),
        }
    )
    return out


def _worded(level_run: OptimiseResult, level: str) -> OptimiseResult:
    """A level's run with its checks and other reasons said as the level's ("At the …: ")."""
    named = {ch.message for ch in level_run.checks}
    return dataclasses.replace(
        level_run,
        checks=tuple(Check(ch.name, f"At the {level}: {ch.message}") for ch in level_run.checks),
        reasons=tuple(f"At the {level}: {r}" for r in level_run.reasons if r not in named),
    )


def _no_plan(
    level_run: OptimiseResult, done: Done, *, bound: float | None = None
) -> OptimiseResult:
    """A nested run without a plan, for the (worded) reasons of the level's run that had none."""
    infeasible = level_run.status == "infeasible"
    return done(
        "infeasible" if infeasible else "no-solution",
        None,
        checks=list(level_run.checks),
        reasons=level_run.reasons,
        bound=None if infeasible else bound,
    )


def _level(
    count: int, bound: float | None, *, proven: bool, given: str = "", most: bool = False
) -> dict[str, Any]:
    """A level's count, its bound over every nested plan, what is proven in words, and
    whether it is the level maximised (``most``)."""
    if given:
        proof = f"found for these {given}; not proven the most"
    elif proven:
        proof = "proven the most"
    elif bound is not None:
        proof = f"at most {bound:g} (not proven the most)"
    else:
        proof = "found in the time, with no bound"
    return {"count": count, "bound": bound, "proof": proof, "maximised": most}


# --- checks, names, the result ----------------------------------------------------------------


def _cluster_checks(problem: Problem, c: Constraints) -> list[Check]:
    """Why no plan of clusters can exist: LA blocks above the cluster ceiling by LA name first."""
    people = population_word(problem.population_label)
    lo, hi = c.cluster_min_population, c.cluster_max_population
    out: list[Check] = []
    if c.la_rule == "whole-la":
        for block, units in sorted(problem.block_members().items()):
            pop = sum(problem.populations[u] for u in units)
            if pop > hi:
                names = ", ".join(problem.names.get(u, u) for u in units[:4])
                more = f" and {len(units) - 4} more" if len(units) > 4 else ""
                out.append(
                    Check(
                        "cluster-block-above-ceiling",
                        f"LA block {problem.block_label(block)} ({names}{more}; {pop:,} "
                        f"{people}) is above the cluster ceiling of {hi:,}, so it cannot sit "
                        f"inside one cluster; raise the cluster ceiling to at least {pop:,} "
                        "or switch the LA rule off",
                    )
                )
    _, checks = prepare(problem, c.cluster_level())
    for ch in checks:
        if out and ch.name == "group-above-ceiling":
            continue  # the LA blocks above, by the LA's name
        out.append(
            Check(
                f"cluster-{ch.name}",
                f"At the cluster level ({lo:,} to {hi:,} {people}): {ch.message}",
            )
        )
    return out


def _settled(
    inst: Instance,
    run: Run,
    problem: Problem,
    done: Done,
    *,
    status: str,
    top: Mapping[str, str],
    clusters: Mapping[str, str],
    value: float,
    bound: float | None,
    levels: Mapping[str, Mapping[str, Any]],
) -> OptimiseResult:
    """The result through ``done`` (top level named and checked), clusters named and checked."""
    from ...validate import summarise_plan, validate_plan

    result = done(status, _on_nodes(inst, top), value=value, bound=bound)
    named = _cluster_names(problem, result.assignment, clusters)
    broken = validate_plan(problem, result.assignment, run.constraints, clusters=named)
    if broken:  # a bug, never a planner's problem: refuse to hand out a bad plan
        raise SolverError(
            "The optimiser produced a nested plan that breaks a rule; please report this",
            problems=[f"{v.footprint}: {v.message}" for v in broken],
        )
    table = summarise_plan(problem, named, run.constraints.cluster_level())
    return dataclasses.replace(result, clusters=named, cluster_table=table, levels=levels)


def _on_nodes(inst: Instance, top: Mapping[str, str]) -> Plan:
    """A unit -> footprint plan on the instance's nodes (each node's units share a footprint)."""
    index: dict[str, int] = {}
    plan: Plan = {}
    for n in inst.nodes:
        names = {top[u] for u in inst.members[n]}
        if len(names) != 1:  # pragma: no cover - each level keeps the nodes whole
            raise SolverError(f"internal: the nested plan splits the group {n!r}")
        plan[n] = index.setdefault(names.pop(), len(index))
    return plan


def _cluster_names(
    problem: Problem, top: Mapping[str, str], clusters: Mapping[str, str]
) -> dict[str, str]:
    """Unit -> cluster name: each footprint's clusters from north to south, FP01.1, FP01.2…"""
    members: dict[str, list[str]] = {}
    for u in problem.codes:
        members.setdefault(clusters[u], []).append(u)

    def north(units: list[str]) -> tuple[float, str]:
        w = sum(problem.populations[u] for u in units) or 1
        return -sum(problem.populations[u] * problem.y[u] for u in units) / w, min(units)

    by_top: dict[str, list[list[str]]] = {}
    for units in members.values():
        by_top.setdefault(top[units[0]], []).append(units)
    out: dict[str, str] = {}
    for fp, groups in by_top.items():
        for i, units in enumerate(sorted(groups, key=north), start=1):
            out.update(dict.fromkeys(units, f"{fp}.{i}"))
    return out


# --- the problems each stage runs on ------------------------------------------------------------


def _restricted(problem: Problem, keep: set[str]) -> Problem:
    """The problem on some of its units: their data and the adjacencies among them."""
    codes = [u for u in problem.codes if u in keep]

    def inside(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [p for p in pairs if p[0] in keep and p[1] in keep]

    return Problem.build(
        populations={u: problem.populations[u] for u in codes},
        edges=inside(problem.edges),
        bridges=inside(problem.bridges),
        names={u: problem.names[u] for u in codes},
        shared_m={p: problem.shared_m[p] for p in inside(problem.edges)},
        blocks={u: problem.blocks[u] for u in codes},
        las={u: problem.las[u] for u in codes},
        x={u: problem.x[u] for u in codes},
        y={u: problem.y[u] for u in codes},
        areas={u: problem.areas[u] for u in codes},
        perimeters={u: problem.perimeters[u] for u in codes},
        data_digest=problem.data_digest,
        population_label=problem.population_label,
        la_layer=problem.la_layer,
        la_names=problem.la_names,
        unit_label=problem.unit_label,
        unit_label_plural=problem.unit_label_plural,
    )


def _quotient(
    problem: Problem, groups: Mapping[str, str], disabled: Iterable[tuple[str, str]]
) -> Problem:
    """The problem whose units are the groups: their populations, centres and adjacencies.

    Two groups touch where any of their units do over a usable border; the shared border
    of two groups is the sum of their units' (a bridge when all their links are bridges).
    """
    off = {sorted_pair(*p) for p in disabled}
    members: dict[str, list[str]] = {}
    for u in problem.codes:
        members.setdefault(groups[u], []).append(u)
    shared: dict[tuple[str, str], float] = {}
    for a, b in problem.edges:
        ga, gb = groups[a], groups[b]
        if ga != gb and (a, b) not in off:
            pair = sorted_pair(ga, gb)
            shared[pair] = shared.get(pair, 0.0) + problem.shared_m.get((a, b), 0.0)
    internal = {g: 0.0 for g in members}
    for (a, b), metres in problem.shared_m.items():
        if groups[a] == groups[b]:
            internal[groups[a]] += metres
    pops = {g: sum(problem.populations[u] for u in us) for g, us in members.items()}

    def centre(g: str, axis: Mapping[str, float]) -> float:
        w = pops[g] or 1
        return sum(problem.populations[u] * axis[u] for u in members[g]) / w

    return Problem.build(
        populations=pops,
        edges=list(shared),
        bridges=[p for p, metres in shared.items() if metres == 0.0],
        names={g: _group_name(problem, us) for g, us in members.items()},
        shared_m=shared,
        x={g: centre(g, problem.x) for g in members},
        y={g: centre(g, problem.y) for g in members},
        areas={g: sum(problem.areas[u] for u in us) for g, us in members.items()},
        perimeters={
            g: sum(problem.perimeters[u] for u in us) - 2 * internal[g] for g, us in members.items()
        },
        data_digest=problem.data_digest,
        population_label=problem.population_label,
        la_layer=False,
        unit_label="cluster",
    )


def _group_name(problem: Problem, units: list[str]) -> str:
    first = problem.names.get(units[0], units[0])
    return first if len(units) == 1 else f"the cluster of {first} and {len(units) - 1} more"


# --- how the value and bound are read ---------------------------------------------------------


def read(
    value: float | None,
    bound: float | None,
    *,
    inst: Instance | None,
    assignment: Mapping[str, str],
) -> tuple[float | None, float | None]:
    """The maximised level's count and bound, as the stages found them."""
    return value, bound


OBJECTIVE = Objective("nested", solve=solve, read=read, wrong_side=below_plan, settle=settle)
