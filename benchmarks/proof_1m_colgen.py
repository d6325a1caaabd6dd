"""Measure the set-partitioning relaxation of the count bound at 1,000,000, LA rule off.

Issue 20 item 4. The packing bound (``footprint.optimiser.bound``) packs *minimal* connected
floor sets, each CCG in at most one; its linear relaxation allows 53.82 sets, so it proves
only 53 while 52 are found, and HiGHS needs minutes of branching to close the gap. Capacity
cuts move it only to 53.80 (``benchmarks/proof_1m.py``). A plan must also place the CCGs
left over, so this script measures the relaxation of the *set partitioning* model over every
connected CCG set of at least 1,000,000 registered patients (not only minimal ones), each CCG
covered exactly once::

    max sum_S x_S   s.t.   sum_{S containing i} x_S = 1 for every CCG i,   x >= 0.

Its value is at most the packing relaxation's (every set holds a minimal floor set); if it is
below 53 it proves 52 with no branching. There are far too many sets to list, so it is solved
by column generation: a restricted master LP in HiGHS (``highspy``) over the columns found so
far, whose row duals y price new sets. A set S improves when 1 - sum_{i in S} y_i > 0. Fast
greedy growth from every CCG prices first; when it finds nothing (and every ``--exact-every``
rounds) an exact pricing MIP (one root, single-commodity flow for connectivity, the floor as
a knapsack row) gives the best set and a proven lower bound on sum y over all sets.

Every exact pricing gives a valid upper bound on the relaxation, whatever the round: with
rc = 1 - (the MIP's lower bound), the duals scaled by 1 / (1 - rc) are feasible for the dual
LP (Farley), so LP* <= z_RMP / (1 - rc); and since a fractional plan holds at most
56,324,887 / 1,000,000 = 56.32 sets, LP* <= z_RMP + 56.32 rc (Lagrangian). The smaller is
printed. If it drops below 53, no plan has 53 footprints. The LP values do not depend on the
machine's load; the seconds printed do.

This is not a test: it prints figures. Usage::

    python benchmarks/proof_1m_colgen.py
    python benchmarks/proof_1m_colgen.py --seconds 1800 --mip-seconds 300
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import highspy  # noqa: E402
import numpy as np  # noqa: E402

from footprint._sets import floor_sets  # noqa: E402
from footprint.constraints import Constraints  # noqa: E402
from footprint.loader import load_dataset  # noqa: E402
from footprint.optimiser import optimise  # noqa: E402
from footprint.problem import Problem  # noqa: E402

FLOOR = 1_000_000
EPS = 1e-9
BIG_M = 100.0  # objective penalty of the artificial column on each row (phase 1)

Column = frozenset[int]


@dataclass
class Instance:
    """CCGs as indices 0..n-1: populations and neighbour lists."""

    codes: tuple[str, ...]
    pop: np.ndarray
    adj: list[list[int]]

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def most_sets(self) -> float:
        """Most sets a fractional plan can hold: total population / floor."""
        return float(self.pop.sum()) / FLOOR


def load_instance() -> tuple[Instance, Problem]:
    ds = load_dataset()
    problem = Problem.from_dataset(ds)
    codes = tuple(sorted(problem.codes))
    index = {c: i for i, c in enumerate(codes)}
    nbrs = problem.neighbours()
    pop = np.array([int(problem.populations[c]) for c in codes], dtype=np.int64)
    adj = [sorted(index[m] for m in nbrs[c]) for c in codes]
    return Instance(codes, pop, adj), problem


def connected(inst: Instance, s: Column) -> bool:
    start = next(iter(s))
    seen = {start}
    stack = [start]
    while stack:
        v = stack.pop()
        for u in inst.adj[v]:
            if u in s and u not in seen:
                seen.add(u)
                stack.append(u)
    return len(seen) == len(s)


def valid(inst: Instance, s: Column) -> bool:
    return bool(s) and int(inst.pop[list(s)].sum()) >= FLOOR and connected(inst, s)


# --- restricted master LP -------------------------------------------------------------------


def add_set_columns(h: highspy.Highs, cols: Sequence[Column]) -> None:
    """One column per CCG set, worth 1 in the objective, with a 1 in each of its CCGs' rows."""
    starts, indices = [], []
    for c in cols:
        starts.append(len(indices))
        indices.extend(sorted(c))
    k = len(cols)
    h.addCols(
        k,
        np.ones(k),
        np.zeros(k),
        np.full(k, np.inf),
        len(indices),
        np.array(starts, dtype=np.int32),
        np.array(indices, dtype=np.int32),
        np.ones(len(indices)),
    )


class Master:
    """The restricted master: equality rows, one artificial column per row, real columns."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        ones = np.ones(n)
        self.h.addRows(n, ones, ones, 0, np.array([], dtype=np.int32), [], [])
        self.columns: list[Column] = []
        self.known: set[Column] = set()
        idx = np.arange(n, dtype=np.int32)
        self.h.addCols(n, np.full(n, -BIG_M), np.zeros(n), np.full(n, np.inf), n, idx, idx, ones)

    def add(self, cols: Sequence[Column]) -> int:
        new = [c for c in dict.fromkeys(cols) if c not in self.known]
        if not new:
            return 0
        add_set_columns(self.h, new)
        self.columns.extend(new)
        self.known.update(new)
        return len(new)

    def solve(self) -> tuple[float, np.ndarray, float]:
        """(RMP value, row duals y with sum y = value, artificial mass in the solution)."""
        self.h.run()
        value = float(self.h.getInfo().objective_function_value)
        sol = self.h.getSolution()
        y = np.array(sol.row_dual, dtype=float)
        if abs(-y.sum() - value) < abs(y.sum() - value):
            y = -y  # whatever HiGHS's sign convention for maximising, sum y = value
        if abs(y.sum() - value) > 1e-6 * max(1.0, abs(value)):
            raise RuntimeError(f"duals do not match the RMP value: {y.sum()} vs {value}")
        artificial = float(np.sum(sol.col_value[: self.n]))
        return value, y, artificial

    def positive(self) -> list[tuple[Column, float]]:
        values = self.h.getSolution().col_value[self.n :]
        return [(c, v) for c, v in zip(self.columns, values, strict=True) if v > 1e-7]


# --- heuristic pricing ------------------------------------------------------------------------


def _pick(inst: Instance, y: np.ndarray, frontier: set[int], need: int) -> int:
    """Frontier node to add while below the floor: most negative dual, else least per patient."""
    negative = [u for u in frontier if y[u] < 0]
    if negative:
        return min(negative, key=lambda u: (y[u], u))
    return min(frontier, key=lambda u: (y[u] / min(int(inst.pop[u]), need), u))


def _grow(inst: Instance, y: np.ndarray, root: int) -> set[int] | None:
    s = {root}
    p = int(inst.pop[root])
    frontier = set(inst.adj[root])
    while frontier:
        if p >= FLOOR:
            negative = [u for u in frontier if y[u] < -EPS]
            if not negative:
                break
            u = min(negative, key=lambda u: (y[u], u))
        else:
            u = _pick(inst, y, frontier, FLOOR - p)
        s.add(u)
        p += int(inst.pop[u])
        frontier |= set(inst.adj[u])
        frontier -= s
    return s if p >= FLOOR else None


def _prune(inst: Instance, y: np.ndarray, s: set[int]) -> set[int]:
    """Drop positive-dual nodes (dearest first) while the set stays connected and at the floor."""
    p = int(inst.pop[list(s)].sum())
    changed = True
    while changed:
        changed = False
        for v in sorted(s, key=lambda v: -y[v]):
            if y[v] <= EPS or p - int(inst.pop[v]) < FLOOR:
                continue
            rest = frozenset(s - {v})
            if connected(inst, rest):
                s.discard(v)
                p -= int(inst.pop[v])
                changed = True
                break
    return s


def heuristic_price(inst: Instance, y: np.ndarray, most: int) -> list[tuple[float, Column]]:
    """Improving sets from greedy growth at every root: (reduced cost, set), best first."""
    found: dict[Column, float] = {}
    for root in range(inst.n):
        s = _grow(inst, y, root)
        if s is None:
            continue
        col = frozenset(_prune(inst, y, s))
        rc = 1.0 - float(y[list(col)].sum())
        if rc > EPS:
            found[col] = rc
    ranked = sorted(((rc, c) for c, rc in found.items()), key=lambda t: (-t[0], sorted(t[1])))
    return ranked[:most]


# --- exact pricing MIP ------------------------------------------------------------------------


@dataclass
class Priced:
    """One exact pricing: the best sets found and a lower bound on min sum y over all sets."""

    cols: list[tuple[float, Column]] = field(default_factory=list)
    lower: float = -math.inf
    optimal: bool = False
    seconds: float = 0.0


class PricingMip:
    """min sum y_i z_i over connected z with sum pop_i z_i >= floor (single-commodity flow).

    Columns: z (in the set), r (the root: the lowest index in the set), g (flow from a source
    into the root), f (flow on each directed edge). The root sends one unit to every other
    node of the set along edges inside it, so the set is connected.
    """

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        n = inst.n
        self.arcs = [(i, j) for i in range(n) for j in inst.adj[i]]
        self.h = highspy.Highs()
        h = self.h
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 1e-7)
        h.setOptionValue("mip_improving_solution_save", True)
        m = len(self.arcs)
        lower = np.zeros(3 * n + m)
        upper = np.concatenate([np.ones(2 * n), np.full(n + m, float(n))])
        h.addCols(3 * n + m, np.zeros(3 * n + m), lower, upper, 0, [], [], [])
        h.changeColsIntegrality(
            2 * n, np.arange(2 * n, dtype=np.int32), np.full(2 * n, highspy.HighsVarType.kInteger)
        )
        for lo, hi, coefs in self._rows():
            idx = np.array(list(coefs), dtype=np.int32)
            h.addRow(lo, hi, len(idx), idx, np.array(list(coefs.values()), dtype=float))

    def _rows(self) -> list[tuple[float, float, dict[int, float]]]:
        inst, n, inf = self.inst, self.inst.n, math.inf
        z, r, g = 0, n, 2 * n
        f = 3 * n
        rows: list[tuple[float, float, dict[int, float]]] = [
            (1.0, 1.0, {r + i: 1.0 for i in range(n)}),
            (float(FLOOR), inf, {z + i: float(inst.pop[i]) for i in range(n)}),
        ]
        for i in range(n):
            rows.append((-inf, 0.0, {r + i: 1.0, z + i: -1.0}))
            rows.append((-inf, 0.0, {g + i: 1.0, r + i: -float(n)}))
            # the root is the lowest index in the set
            rows.append((-inf, 0.0, {z + i: 1.0, **{r + k: -1.0 for k in range(i + 1)}}))
            # no CCG reaches the floor alone, so every member has a member neighbour
            rows.append((-inf, 0.0, {z + i: 1.0, **{z + j: -1.0 for j in inst.adj[i]}}))
        balance: list[dict[int, float]] = [{g + i: 1.0, z + i: -1.0} for i in range(n)]
        for a, (i, j) in enumerate(self.arcs):
            balance[j][f + a] = 1.0
            balance[i][f + a] = -1.0
            rows.append((-inf, 0.0, {f + a: 1.0, z + j: -float(n - 1)}))
        rows.extend((0.0, 0.0, b) for b in balance)
        return rows

    def price(self, y: np.ndarray, seconds: float) -> Priced:
        t0 = time.perf_counter()
        h, n = self.h, self.inst.n
        h.changeColsCost(n, np.arange(n, dtype=np.int32), y.astype(float))
        h.setOptionValue("time_limit", max(1.0, seconds))
        h.run()
        info = h.getInfo()
        out = Priced(
            lower=float(info.mip_dual_bound),
            optimal=h.getModelStatus() == highspy.HighsModelStatus.kOptimal,
        )
        if out.optimal:
            out.lower = min(out.lower, float(info.objective_function_value))
        found: dict[Column, float] = {}
        sols = [s.col_value for s in h.getSavedMipSolutions()] + [h.getSolution().col_value]
        for values in sols:
            col = frozenset(i for i in range(n) if values[i] > 0.5)
            if col and valid(self.inst, col):
                found[col] = 1.0 - float(y[list(col)].sum())
        out.cols = sorted(((rc, c) for c, rc in found.items() if rc > EPS), key=lambda t: -t[0])
        out.seconds = time.perf_counter() - t0
        return out


# --- the packing relaxation's duals -----------------------------------------------------------


def packing_duals(n: int, minimal: Sequence[Column]) -> tuple[float, np.ndarray]:
    """The packing relaxation over minimal floor sets (each CCG at most once): value, duals.

    Its duals are >= 0, so any set holding a minimal floor set prices at >= 1 under them: an
    exact pricing over all sets with these duals checks that they are feasible for the dual of
    the partitioning LP, which then bounds it by the packing value.
    """
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.addRows(n, np.full(n, -np.inf), np.ones(n), 0, np.array([], dtype=np.int32), [], [])
    add_set_columns(h, minimal)
    h.run()
    value = float(h.getInfo().objective_function_value)
    y = np.array(h.getSolution().row_dual, dtype=float)
    if abs(-y.sum() - value) < abs(y.sum() - value):
        y = -y
    return value, y


# --- the loop ---------------------------------------------------------------------------------


def upper_bound(value: float, rc: float, most_sets: float) -> float:
    """Valid bound on the full LP from the RMP value and an upper bound on every reduced cost."""
    rc = max(rc, 0.0)
    lagrange = value + most_sets * rc
    farley = value / (1.0 - rc) if rc < 1.0 else math.inf
    return min(lagrange, farley)


def starting_columns(
    inst: Instance, problem: Problem, plan_seconds: float
) -> tuple[list[Column], list[Column]]:
    """(minimal floor sets, the optimiser's plan or [] when not run or not valid)."""
    index = {c: i for i, c in enumerate(inst.codes)}
    nbrs = {c: frozenset(v) for c, v in problem.neighbours().items()}
    pop = {c: int(p) for c, p in problem.populations.items()}
    minimal = floor_sets(inst.codes, nbrs, pop, floor=FLOOR)
    cols = [frozenset(index[c] for c in s) for s in minimal]
    print(f"{len(cols):,} minimal floor sets as starting columns")
    if plan_seconds > 0:
        t0 = time.perf_counter()
        con = Constraints(
            objective="max-footprints",
            min_population=FLOOR,
            la_rule="off",
            time_limit=plan_seconds,
        )
        res = optimise(problem, con)
        groups: dict[str, set[int]] = {}
        for code, name in res.assignment.items():
            groups.setdefault(name, set()).add(index[code])
        plan = [frozenset(g) for g in groups.values()]
        ok = all(valid(inst, c) for c in plan) and sum(len(c) for c in plan) == inst.n
        print(
            f"optimiser plan: {len(plan)} footprints, valid partition: {ok} "
            f"({time.perf_counter() - t0:.0f} s)"
        )
        if ok:
            return cols, plan
    return cols, []


@dataclass
class Progress:
    t0: float
    rounds: int = 0
    heuristic_seconds: float = 0.0
    exact_seconds: float = 0.0
    exact_calls: int = 0
    best_bound: float = math.inf
    value: float = math.nan
    artificial: float = math.nan
    proven_exact: bool = False  # exact pricing on the RMP's duals found no improving set
    pinned: bool = False  # the RMP value meets a valid upper bound

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def _exact_round(
    pricer: PricingMip, master: Master, y: np.ndarray, prog: Progress, args: argparse.Namespace
) -> list[Column]:
    left = args.seconds - prog.elapsed()
    out = pricer.price(y, min(args.mip_seconds, max(left, 1.0)))
    prog.exact_calls += 1
    prog.exact_seconds += out.seconds
    rc = 1.0 - out.lower
    bound = upper_bound(prog.value, rc, pricer.inst.most_sets)
    prog.best_bound = min(prog.best_bound, bound)  # valid with artificials too: sum y = z
    best_rc = out.cols[0][0] if out.cols else 0.0
    print(
        f"  exact pricing (round {prog.rounds}): {out.seconds:.1f} s, "
        f"{'optimal' if out.optimal else 'time limit'}; best reduced cost {best_rc:.6f}, "
        f"proven max reduced cost {rc:.6f}; bound {bound:.4f} (best {prog.best_bound:.4f})",
        flush=True,
    )
    new = [c for _, c in out.cols if c not in master.known]
    if out.optimal and not new and prog.artificial <= 1e-9:
        prog.proven_exact = True
    return new


def run(pricer: PricingMip, master: Master, args: argparse.Namespace, prog: Progress) -> None:
    inst = pricer.inst
    while prog.elapsed() < args.seconds:
        prog.value, y, prog.artificial = master.solve()
        prog.rounds += 1
        t1 = time.perf_counter()
        heur = heuristic_price(inst, y, args.columns)
        prog.heuristic_seconds += time.perf_counter() - t1
        cols = [c for _, c in heur if c not in master.known]
        if prog.rounds % args.report == 0 or prog.rounds == 1:
            print(
                f"round {prog.rounds}: RMP {prog.value:.4f} (artificial {prog.artificial:.3g}), "
                f"{len(master.columns):,} columns, heuristic {len(heur)} improving "
                f"(best rc {heur[0][0] if heur else 0.0:.4f}), {prog.elapsed():.0f} s",
                flush=True,
            )
        if prog.artificial <= 1e-9 and prog.best_bound - prog.value <= 1e-6:
            prog.pinned = True
            return  # a primal value meets a valid bound: the LP value is known
        if not cols or prog.rounds % args.exact_every == 0:
            cols += _exact_round(pricer, master, y, prog, args)
            if prog.proven_exact:
                return
        if master.add(cols) == 0:
            print("no new improving set found; exact pricing did not prove none exists")
            return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3600.0, help="whole run budget")
    parser.add_argument("--mip-seconds", type=float, default=600.0, help="per exact pricing")
    parser.add_argument("--plan-seconds", type=float, default=60.0, help="0: no optimiser plan")
    parser.add_argument("--columns", type=int, default=60, help="most heuristic columns a round")
    parser.add_argument("--exact-every", type=int, default=50, help="exact pricing period")
    parser.add_argument(
        "--no-packing-duals",
        action="store_true",
        help="skip the exact pricing under the packing relaxation's duals",
    )
    parser.add_argument("--report", type=int, default=10, help="print every this many rounds")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    inst, problem = load_instance()
    print(
        f"{inst.n} CCGs, {int(inst.pop.sum()):,} registered patients, "
        f"{sum(len(a) for a in inst.adj) // 2} adjacencies; floor {FLOOR:,}, LA rule off; "
        f"a fractional plan holds at most {inst.most_sets:.4f} sets"
    )
    master = Master(inst.n)
    minimal, plan = starting_columns(inst, problem, args.plan_seconds)
    master.add(minimal + plan)
    prog = Progress(t0=t0)
    pricer = PricingMip(inst)
    if not args.no_packing_duals:
        check_packing_duals(pricer, minimal, args, prog)
    run(pricer, master, args, prog)
    report(master, prog)


def check_packing_duals(
    pricer: PricingMip, minimal: Sequence[Column], args: argparse.Namespace, prog: Progress
) -> None:
    """Exact pricing over all sets under the packing relaxation's duals: a valid bound."""
    value, y = packing_duals(pricer.inst.n, minimal)
    print(
        f"packing relaxation over the minimal floor sets: {value:.6f}; its duals: "
        f"min {y.min():.3g}, max {y.max():.3g}, {int(np.sum(y > 1e-9))} positive",
        flush=True,
    )
    out = pricer.price(y, args.mip_seconds)
    prog.exact_calls += 1
    prog.exact_seconds += out.seconds
    rc = 1.0 - out.lower
    bound = upper_bound(value, rc, pricer.inst.most_sets)
    prog.best_bound = min(prog.best_bound, bound)
    print(
        f"  each connected floor set holds a minimal one and these duals are >= 0, so "
        f"(as far as floor_sets lists every minimal set) the partitioning LP is at most "
        f"{value:.6f}; exact pricing checks it without that assumption",
        flush=True,
    )
    print(
        f"  exact pricing of every connected floor set under them: {out.seconds:.1f} s, "
        f"{'optimal' if out.optimal else 'time limit'}; least dual sum {out.lower:.9f}, "
        f"proven max reduced cost {rc:.3g} -> valid bound on the partitioning LP {bound:.6f}",
        flush=True,
    )


def report(master: Master, prog: Progress) -> None:
    print(
        f"stopped after {prog.elapsed():.0f} s: {prog.rounds} rounds, "
        f"{len(master.columns):,} columns; heuristic pricing {prog.heuristic_seconds:.0f} s, "
        f"{prog.exact_calls} exact pricings {prog.exact_seconds:.0f} s"
    )
    print(f"last RMP value {prog.value:.6f} (artificial mass {prog.artificial:.3g})")
    if prog.proven_exact:
        print(f"exact pricing finds no improving set: the LP value is {prog.value:.6f}")
    elif prog.pinned:
        print(
            f"the RMP value (a feasible fractional partition) meets the valid bound: "
            f"the LP value is {prog.value:.6f} (pricing on the RMP's own duals not needed)"
        )
    else:
        print("pricing did not certify the RMP value: it is not the LP value")
    bound = prog.best_bound
    if math.isfinite(bound):
        verdict = "52 proven (< 53)" if bound < 53 - 1e-6 else "does not prove 52"
        print(f"best valid bound on the LP: {bound:.6f} -> {verdict}")
    else:
        print("no exact pricing finished: no valid bound from this run")
    used = sorted(master.positive(), key=lambda t: -t[1])
    print(f"{len(used)} columns positive in the last RMP solution")


if __name__ == "__main__":
    main()
