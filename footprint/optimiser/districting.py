"""The districting model (Hess et al., 1965) and its contiguity cuts."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .._recombine import recombine
from ..instance import Instance
from ..solver import Model, Outcome, Var
from . import budget
from .budget import (
    BALANCE_SHARE,
    FINISH_SECONDS_PER_UNIT,
    RECOMBINE_MAX_NODES,
    SECONDS_PER_VAR,
    Run,
    hess_size,
)
from .construct import repair_pieces
from .local_search import polish
from .state import Plan, best_centre, cost_of, d2, groups_of, plan_compactness, plan_ok

log = logging.getLogger(__name__)


# --- step 3: the districting model with contiguity cuts ------------------------------------------


@dataclass
class Cut:
    """A separator inequality for every footprint k at once.

    A piece ``inside`` of a footprint reaches the rest only through the nodes
    ``sep`` on its boundary, so for any footprint k: x[a,k] + x[b,k] - 1 <= sum of
    x[c,k] over ``sep`` (a in the piece, b outside it), and, when k's centre lies
    outside the piece, the stronger x[a,k] <= sum of x[c,k].
    """

    inside: frozenset[str]
    a_nodes: tuple[str, ...]
    b: str
    sep: tuple[str, ...]


def _cuts_for(inst: Instance, plan: Plan) -> list[Cut]:
    """Separator cuts for every footprint of ``plan`` that is in pieces (unit level)."""
    cuts = []
    for nodes in groups_of(plan).values():
        comps = inst.unit_components(nodes)
        if len(comps) <= 1:
            continue
        main = max(comps, key=lambda c: (sum(inst.unit_pop[u] for u in c), min(c)))
        b = inst.node_of[min(main)]
        for piece in comps:
            if piece is main:
                continue
            sep_units = {v for u in piece for v in inst.unit_nbrs[u]} - piece
            inside = frozenset(inst.node_of[u] for u in piece)
            a_nodes = tuple(sorted(inside))[:6]
            sep = tuple(sorted({inst.node_of[v] for v in sep_units} - inside))
            cuts.append(Cut(inside, a_nodes, b, sep))
    return cuts


#: centres built between two looks at whether the model is still worth finishing (England
#: has 211, each a few hundredths of a second)
_FITS_EVERY = 8


class NotInTime(Exception):
    """A model stopped while being built: it would not be built, handed over and solved in
    the time left, or the run was cancelled."""


@dataclass
class Solved:
    status: str  # optimal | feasible | infeasible | no-solution
    plan: Plan | None
    value: float | None
    bound: float | None


def footprint_rows(
    m: Model, inst: Instance, col: Mapping[str, Var], used: Var, scale: float
) -> None:
    """Floor, ceiling and apart pairs for one footprint whose node variables are ``col``."""
    terms = [(v, inst.pop[n] / scale) for n, v in col.items()]
    m.add([*terms, (used, -inst.floor / scale)], ">=", 0)
    if inst.cap is not None:
        m.add([*terms, (used, -inst.cap / scale)], "<=", 0)
    for a, b in inst.apart:
        if a in col and b in col:
            m.add(((col[a], 1.0), (col[b], 1.0)), "<=", 1)


def count_rows(m: Model, used: list[Var], lo: int, hi: int | None) -> None:
    """Between ``lo`` and ``hi`` footprints in use."""
    m.add(((v, 1.0) for v in used), ">=", lo)
    if hi is not None:
        m.add(((v, 1.0) for v in used), "<=", hi)


def allowed_partners(inst: Instance) -> dict[str, list[str]]:
    """Centre -> the nodes that may share its footprint (not apart, not above the ceiling)."""
    pop = inst.pop
    apart = inst.apart
    allowed: dict[str, list[str]] = {}
    for j in inst.nodes:
        col = []
        for i in inst.nodes:
            if i != j and ((i, j) in apart or (j, i) in apart):
                continue
            if i != j and inst.cap is not None and pop[i] + pop[j] > inst.cap:
                continue
            col.append(i)
        allowed[j] = col
    return allowed


@dataclass
class CutLoop:
    """What one model supplies to :func:`cut_loop`.

    ``build(iteration, cuts)`` returns the model with every cut so far and a reader of
    its plan, or None when it stopped building because the model would not be built,
    handed over and solved in the time left (or the run was cancelled); ``value`` is the
    objective of a plan in the model's units, ``proven`` says whether a value is close
    enough to a bound, ``warm`` gives a warm start from a plan, ``repaired`` may improve a
    plan repaired after cutting, and ``ready`` says whether another model can be started
    while ``best`` is held.
    """

    label: str
    saying: str
    build: Callable[[int, list[Cut]], tuple[Model, Callable[[Outcome], Plan]] | None]
    value: Callable[[Plan], float]
    proven: Callable[[float, float], bool]
    warm: Callable[[Plan], dict[str, float]]
    repaired: Callable[[Plan], Plan] = lambda plan: plan
    ready: Callable[[Plan | None], bool] = lambda _best: True
    share: float = 1.0
    abs_gap: float | None = None


@dataclass
class Searched:
    """Where the cut loop stopped: 'optimal', 'infeasible' or 'open' (time, no answer)."""

    status: str
    plan: Plan | None
    value: float | None
    bound: float  # -inf until a solve reports one


def cut_loop(inst: Instance, run: Run, loop: CutLoop, best: Plan | None) -> Searched:
    """Build, solve, cut, repair; keep the best whole plan and the best bound.

    Every objective's model goes through this one loop. A solution with a footprint in
    pieces gets separator cuts for every footprint at once, is repaired into a plan
    that may beat the one held, and the model is solved again, warm-started from the
    best plan. A valid plan held when the solver calls the model infeasible is kept:
    the solver is wrong, not the plan.
    """
    cuts: list[Cut] = []
    best_val = loop.value(best) if best is not None else None
    best_bound = -math.inf
    iteration = 0
    while loop.ready(best):
        iteration += 1
        built = loop.build(iteration, cuts)
        if built is None:
            break
        m, read = built
        warm = loop.warm(best) if best is not None else None
        run.say(f"{loop.saying}: solve {iteration} ({len(cuts)} contiguity cuts so far)…")
        out = run.solve(
            m,
            f"{loop.label}, solve {iteration}",
            start=warm,
            abs_gap=loop.abs_gap,
            share=loop.share,
        )
        if out.bound is not None:
            best_bound = max(best_bound, out.bound)
        if out.status == "infeasible":
            if best is not None:  # a valid plan is held: the solver is wrong, not the plan
                log.warning(
                    "%s: the solver called the model infeasible, but a valid plan "
                    "is held; keeping it",
                    loop.label,
                )
                break
            return Searched("infeasible", None, None, best_bound)
        if out.status == "no-solution":
            break
        plan = read(out)
        new = _cuts_for(inst, plan)
        if not new:
            val = loop.value(plan)
            if best is None or best_val is None or val <= best_val:
                best, best_val = plan, val
            if out.status == "optimal":
                return Searched("optimal", best, best_val, best_bound)
            break
        cuts.extend(new)
        fixed_up = repair_pieces(inst, plan)
        if fixed_up is not None:
            fixed_up = loop.repaired(fixed_up)
            val = loop.value(fixed_up)
            if best is None or best_val is None or val < best_val:
                best, best_val = fixed_up, val
        if best_val is not None and loop.proven(best_val, best_bound):
            return Searched("optimal", best, best_val, best_bound)
        if not run.room_for_another():
            break
    return Searched("open", best, best_val, best_bound)


def _hess_model(
    inst: Instance,
    *,
    kind: str,
    count: tuple[int, int | None],
    label: str,
    allowed: Mapping[str, list[str]],
    scale: float,
    iteration: int,
    cuts: list[Cut],
    fits: Callable[[float, float, float], bool] | None = None,
) -> tuple[Model, Callable[[Outcome], Plan]]:
    """The centre-based model with every cut so far, and a reader of its plan.

    ``fits(created, started, done)`` is asked every few centres, with the perf_counter
    the model was created at, the one its rows began at, and the share of them done; when
    it says no, :class:`NotInTime` is raised.

    Raises
    ------
    NotInTime
        When ``fits`` says the model would not be ready in time.
    """
    nodes, pop, nbrs = inst.nodes, inst.pop, inst.node_nbrs()
    lo, hi = count
    m = Model(f"{label}-{iteration}")
    x = {j: {i: m.binary(f"x_{i}_{j}") for i in allowed[j]} for j in nodes}
    for i in nodes:
        m.add(((x[j][i], 1.0) for j in nodes if i in x[j]), "==", 1)
    rows = time.perf_counter()
    for step, j in enumerate(nodes):
        at_check = fits is not None and step % _FITS_EVERY == _FITS_EVERY - 1
        if at_check and fits is not None and not fits(m.created, rows, step / len(nodes)):
            raise NotInTime
        y = x[j][j]
        for i, v in x[j].items():
            if i != j:
                m.add(((v, 1.0), (y, -1.0)), "<=", 0)
                # a non-centre node needs a neighbour in its footprint
                near = [(x[j][c], -1.0) for c in nbrs[i] if c in x[j]]
                m.add([(v, 1.0), *near], "<=", 0)
        footprint_rows(m, inst, x[j], y, scale)
    count_rows(m, [x[j][j] for j in nodes], lo, hi)
    _centred_cut_rows(m, x, cuts)
    if kind == "compact":
        m.objective((v, pop[i] / scale * d2(inst, i, j)) for j in nodes for i, v in x[j].items())
    else:
        _spread_objective(m, inst, x, count, scale)

    def read(out: Outcome) -> Plan:
        plan: Plan = {}
        for jx, j in enumerate(nodes):
            for i, v in x[j].items():
                if out.values.get(v.name, 0.0) > 0.5:
                    plan[i] = jx
        return plan

    return m, read


def _centred_cut_rows(m: Model, x: Mapping[str, Mapping[str, Var]], cuts: list[Cut]) -> None:
    """Every cut for every centre's footprint; the stronger form when the centre is outside."""
    for cut in cuts:
        for j, col in x.items():
            rhs_terms = [(col[c], -1.0) for c in cut.sep if c in col]
            for a in cut.a_nodes:
                if a not in col:
                    continue
                if j not in cut.inside:
                    m.add([(col[a], 1.0), *rhs_terms], "<=", 0)
                elif cut.b in col:
                    m.add([(col[a], 1.0), (col[cut.b], 1.0), *rhs_terms], "<=", 1)


def _spread_objective(
    m: Model,
    inst: Instance,
    x: Mapping[str, Mapping[str, Var]],
    count: tuple[int, int | None],
    scale: float,
) -> None:
    """Minimise the largest minus the smallest footprint population."""
    lo, hi = count
    total = inst.total
    hi_v = m.continuous("p_high")
    lo_v = m.continuous("p_low")
    for j in inst.nodes:
        terms = [(v, inst.pop[i] / scale) for i, v in x[j].items()]
        m.add([(hi_v, 1.0), *[(v, -c) for v, c in terms]], ">=", 0)
        m.add(
            [(lo_v, 1.0), *[(v, -c) for v, c in terms], (x[j][j], total / scale)],
            "<=",
            total / scale,
        )
    # the largest is at least the mean, the smallest at most the mean
    m.add([(hi_v, 1.0)], ">=", total / scale / (hi if hi is not None else len(inst.nodes)))
    m.add([(lo_v, 1.0)], "<=", total / scale / max(lo, 1))
    # with a range of counts those two leave room for a negative spread, and the
    # relaxation took it: a bound of -2,014,255 was reported for 15 to 30 footprints
    m.add([(hi_v, 1.0), (lo_v, -1.0)], ">=", 0)
    m.objective(((hi_v, 1.0), (lo_v, -1.0)))


def hess(
    inst: Instance,
    run: Run,
    *,
    kind: str,
    count: tuple[int, int | None],
    start: Plan | None,
    label: str,
    share: float = 1.0,
    also: Plan | None = None,
) -> Solved:
    """Centre-based districting model, solved with contiguity cuts until the plan is whole.

    ``kind`` is 'compact' (population x squared distance to the centre) or
    'balanced' (largest minus smallest footprint population).
    """
    scale = 1000.0  # thousands of people keep the coefficients modest
    # its size is known before any of it is listed: the pairs that may share a footprint
    # (not apart, not together above the ceiling) are the square of the nodes
    size = hess_size(inst)
    lo, hi = count
    # a spread can be near 0, so 'balanced' measures its gap against the mean footprint
    abs_gap = None
    if kind == "balanced":
        abs_gap = run.constraints.mip_gap * inst.total / scale / (hi if hi is not None else lo)
    tune = _Tuning(inst, run, kind=kind, scale=scale, abs_gap=abs_gap)
    best = tune.first(start, also, count)
    need = SECONDS_PER_VAR * size + 0.5
    too_large = size > budget.MODEL_MAX_VARIABLES
    if too_large:
        searched = _without_model(inst, run, tune, best, kind=kind, lo=lo, label=label, size=size)
    else:
        steps = _HessSteps(
            inst, run, kind=kind, count=count, label=label, scale=scale, share=share, need=need
        )
        steps.held = best is not None
        searched = cut_loop(
            inst,
            run,
            CutLoop(
                label=label,
                saying=label,
                build=steps.build,
                value=tune.value,
                proven=lambda val, bound: val - bound <= tune.tolerance(val) + 1e-9,
                warm=lambda plan: _hess_start(inst, plan, kind, scale),
                repaired=lambda plan: tune.polished(plan, min(2.0, 0.05 * run.left())),
                ready=steps.ready,
                share=share,
                abs_gap=abs_gap,
            ),
            best,
        )
    return tune.last(
        searched,
        reserve=FINISH_SECONDS_PER_UNIT * len(inst.node_of) if too_large else 0.0,
        too_large=too_large,
    )


def _without_model(
    inst: Instance,
    run: Run,
    tune: _Tuning,
    best: Plan | None,
    *,
    kind: str,
    lo: int,
    label: str,
    size: int,
) -> Searched:
    """What is known when the model is too large to build: the plan held, and for compact a
    bound linear in the nodes."""
    run.refuse(label, size, inst)
    bound = -math.inf
    if kind == "compact":
        bound = floor_ball_bound(inst, lo, scale=tune.scale)
        run.stages.append(
            {
                "stage": f"{label}: bound without the model",
                "method": "each footprint at least as spread as the floor's nearest people "
                "around its centre; the smallest such footprints summed",
                "bound": bound,
                "seconds": round(time.perf_counter() - tune.started, 3),
            }
        )
    return Searched("open", best, tune.value(best) if best else None, bound)


@dataclass
class _HessSteps:
    """The model's side of the cut loop: build it while it still fits in the time left (at
    the pace measured as it is built), say why it was not, and whether starting is worth it.
    """

    inst: Instance
    run: Run
    kind: str
    count: tuple[int, int | None]
    label: str
    scale: float
    share: float
    #: seconds to build, hand over and start the model, at the rate per variable
    need: float
    #: whether a plan is held (set by :meth:`ready`, read when the build stops)
    held: bool = False
    allowed: dict[str, list[str]] = field(default_factory=dict)

    def fits(self, created: float, started: float, done: float) -> bool:
        # the solve gets ``share`` of the time left (`Run.solve`), plan held or not
        return self.run.build_fits(created, started, done, available=self.run.left() * self.share)

    def build(
        self, iteration: int, cuts: list[Cut]
    ) -> tuple[Model, Callable[[Outcome], Plan]] | None:
        if not self.allowed:
            self.allowed.update(allowed_partners(self.inst))
        try:
            return _hess_model(
                self.inst,
                kind=self.kind,
                count=self.count,
                label=self.label,
                allowed=self.allowed,
                scale=self.scale,
                iteration=iteration,
                cuts=cuts,
                fits=self.fits,
            )
        except NotInTime:
            self.not_in_time()
            return None

    def not_in_time(self) -> None:
        run, label = self.run, self.label
        if run.cancelled():
            run.say(f"{label}: cancelled while building the model.")
            return
        left = run.left()
        run.say(
            f"{label}: building the model at this machine's present pace would leave too "
            f"little of the {max(left, 0.0):.1f} s left to hand it over and solve it; "
            + ("keeping the best plan." if self.held else "stopped building it.")
        )
        run.stages.append(
            {
                "stage": f"{label}: model not finished",
                "status": "too little time",
                "seconds left": round(max(left, 0.0), 3),
                # build, handover and the shortest solve, at the pace measured
                "seconds needed": round(run.projected, 3),
            }
        )
        if not self.held:
            run.unstarted = (max(self.need, run.projected), left)

    def ready(self, plan: Plan | None) -> bool:
        run, label = self.run, self.label
        self.held = plan is not None
        if plan is not None and run.left() * self.share < self.need:
            run.say(f"{label}: too little time left for the model; keeping the best plan.")
            return False
        if plan is None and run.left() < self.need:
            # with no plan to keep, the model is the last chance, but one that cannot even
            # be built and handed over in the time left would only overrun the planner's limit
            run.say(f"{label}: too little time left to build the model.")
            run.unstarted = (self.need, run.left())
            return False
        return True


def floor_ball_bound(inst: Instance, count: int, *, scale: float, chunk: int = 2048) -> float:
    """A lower bound on compactness in time and memory linear in the nodes (a k-d tree).

    A footprint centred on node c holds at least the floor's population, and each person
    costs their squared distance to c; so it costs at least g(c), the cost of the floor's
    nearest people to c (the last node taken in part). Footprints have distinct centres, so
    a plan of at least ``count`` footprints costs at least the ``count`` smallest g summed.
    Weak where footprints are far above the floor, but honest, and it needs no n x n model.
    """
    import numpy as np
    from scipy.spatial import cKDTree

    nodes = inst.nodes
    if count <= 0 or not nodes or inst.floor <= 0:
        return 0.0
    xy = np.array([inst.xy[n] for n in nodes], dtype=float)
    pop = np.array([inst.pop[n] for n in nodes], dtype=float)
    tree = cKDTree(xy)
    floor = float(inst.floor)
    k0 = int(min(len(nodes), max(8, 2 * floor / max(float(np.median(pop)), 1.0) + 8)))
    g = np.full(len(nodes), np.inf)
    for lo in range(0, len(nodes), chunk):
        rows = np.arange(lo, min(lo + chunk, len(nodes)))
        k = k0
        while rows.size:
            dist, idx = tree.query(xy[rows], k=k)
            dist, idx = np.atleast_2d(dist), np.atleast_2d(idx)
            p = pop[idx]
            before = np.cumsum(p, axis=1) - p  # people taken before each neighbour
            take = np.clip(floor - before, 0.0, p)  # the last one in part
            done = before[:, -1] + p[:, -1] >= floor
            cost = (take * (dist / 1000.0) ** 2).sum(axis=1) / scale
            g[rows[done]] = cost[done]
            if k >= len(nodes):
                g[rows[~done]] = 0.0  # the whole map is below the floor: nothing to say
                break
            rows, k = rows[~done], min(len(nodes), 2 * k)
    return float(np.sort(g)[: min(count, len(nodes))].sum())


class _Tuning:
    """Polishing and recombining around the districting model, measured by its objective."""

    def __init__(
        self, inst: Instance, run: Run, *, kind: str, scale: float, abs_gap: float | None
    ) -> None:
        self.inst, self.run, self.kind, self.scale, self.abs_gap = inst, run, kind, scale, abs_gap
        self.started = time.perf_counter()

    def value(self, plan: Plan) -> float:
        if self.kind == "compact":
            return plan_compactness(self.inst, plan)  # in thousands of people x km², as ``scale``
        ps = [sum(self.inst.pop[n] for n in g) for g in groups_of(plan).values()]
        return (max(ps) - min(ps)) / self.scale

    def tolerance(self, val: float) -> float:
        return self.abs_gap if self.abs_gap is not None else self.run.constraints.mip_gap * abs(val)

    def polished(self, plan: Plan, seconds: float) -> Plan:
        better = polish(
            self.inst, plan, until=time.perf_counter() + max(0.0, seconds), kind=self.kind
        )
        if not plan_ok(self.inst, better) or self.value(better) > self.value(plan):
            return plan  # the stand-in for the spread can disagree with it
        return better

    def recombined(self, plan: Plan, seconds: float, *, stall: int) -> Plan:
        if max(len(g) for g in groups_of(plan).values()) > RECOMBINE_MAX_NODES:
            return plan  # one move would cost more than the time left (see the constant)
        cost = cost_of(self.inst, self.kind, len(set(plan.values())))
        better = recombine(
            self.inst,
            plan,
            cost=cost,
            until=time.perf_counter() + max(0.0, seconds),
            spread_first=self.kind == "balanced",
            stall=stall,
        )
        if plan_ok(self.inst, better) and self.value(better) <= self.value(plan):
            return better
        return plan

    def first(
        self, start: Plan | None, also: Plan | None, count: tuple[int, int | None]
    ) -> Plan | None:
        """The better of the built plan and the planner's current one, polished."""
        lo, hi = count
        ok = [
            p
            for p in (start, also)
            if p is not None
            and plan_ok(self.inst, p)
            and lo <= len(set(p.values()))
            and (hi is None or len(set(p.values())) <= hi)
        ]
        if not ok:
            return None
        run = self.run
        best = self.polished(min(ok, key=self.value), min(2.0, 0.05 * run.left()))
        if self.kind == "balanced":
            # the model's bound is weak here, so most of the time goes to recombining plans
            run.say("Evening out footprint populations by recombining neighbouring footprints…")
            best = self.recombined(best, BALANCE_SHARE * run.left(), stall=400)
        return best

    def last(self, searched: Searched, *, reserve: float, too_large: bool) -> Solved:
        """The loop's answer; when open, its best plan recombined and polished in the time left."""
        bound = searched.bound if searched.bound > -math.inf else None
        if searched.status == "optimal":
            return Solved("optimal", searched.plan, searched.value, searched.bound)
        if searched.status == "infeasible":
            return Solved("infeasible", None, None, None)
        if searched.plan is None:
            return Solved("no-solution", None, None, bound)
        # what is left of the time goes to recombining and polishing the best plan (all of it
        # to polishing when the model was too large and footprints too large to recombine)
        run = self.run
        best = self.recombined(searched.plan, run.left() - 1.2 - reserve, stall=400)
        best = self.polished(
            best, run.left() - 1.0 - reserve if too_large else min(1.0, run.left() - 0.2)
        )
        best_val = self.value(best)
        if bound is not None and best_val - bound <= self.tolerance(best_val):
            return Solved("optimal", best, best_val, bound)
        return Solved("feasible", best, best_val, bound)


def _hess_start(inst: Instance, plan: Plan, kind: str, scale: float) -> dict[str, float]:
    start: dict[str, float] = {}
    groups = groups_of(plan)
    ps = []
    for g in groups.values():
        j = best_centre(inst, g)
        for i in g:
            start[f"x_{i}_{j}"] = 1.0
        ps.append(sum(inst.pop[n] for n in g))
    if kind == "balanced":
        start["p_high"] = max(ps) / scale
        start["p_low"] = min(ps) / scale
    return start
