"""Measure capacity cuts with bin-covering right-hand sides at 1,000,000, LA rule off.

``proof_1m.py`` bounds the chosen floor sets lying inside a region W by
floor(pop(W) / 1,000,000). Ignoring the map gives a bound that can be smaller when the
CCGs of W are lumpy: disjoint sets inside W that each reach the floor are bins of a
*bin covering* of W's CCG populations (each CCG used at most once, each bin summing to
at least the floor), so at most the bin covering number of W of them fit. This script
measures, over the regions of ``proof_1m.py`` (Area Teams, NHS regions, LAs, LA blocks,
and the 3,662 parts cut off by one or two CCGs, with and without the separator):

- the bin covering number of each region, proven by a quick completion heuristic
  reaching floor(pop(W) / floor) or else by a capped HiGHS MIP (when the MIP is not
  proven, the right-hand side is the smaller of floor(pop(W) / floor) and the MIP's
  dual bound, both valid), and how many regions it puts below floor(pop(W) / floor);
- the packing relaxation with those right-hand sides, against 53.7960 with the rounded
  ones, and England's bin covering number, the map ignored;

The relaxation values do not depend on the machine's load; the seconds printed do. This
is not a test: it prints figures. Usage::

    python benchmarks/proof_1m_bins.py
    python benchmarks/proof_1m_bins.py --mip-seconds 10
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import highspy  # noqa: E402
import numpy as np  # noqa: E402
import proof_1m  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from footprint._sets import floor_sets  # noqa: E402
from footprint.loader import load_dataset  # noqa: E402
from footprint.problem import Problem  # noqa: E402

FLOOR = proof_1m.FLOOR
Region = proof_1m.Region


def _complete(deficit: int, items: list[int]) -> list[int] | None:
    """Indices into the ascending ``items`` of the one or two reaching ``deficit`` least."""
    best: tuple[int, list[int]] | None = None
    lo = int(np.searchsorted(items, deficit))
    if lo < len(items):
        best = (items[lo], [lo])
    i, j = 0, len(items) - 1
    while i < j:
        s = items[i] + items[j]
        if s >= deficit:
            if best is None or s < best[0]:
                best = (s, [i, j])
            j -= 1
        else:
            i += 1
    return None if best is None else best[1]


def _greedy_bins(sizes: Sequence[int], floor: int = FLOOR, rng: random.Random | None = None) -> int:
    """Bins reaching ``floor`` found by a completion heuristic (a lower bound).

    Open a bin with the largest item left, add the largest items that keep the bin at
    least one smallest item short of the floor, then close it with the one item or the
    pair of items that reaches the floor with the least overfill. With ``rng``, some of
    the opening and filling items are drawn at random instead (for restarts).
    """
    items = sorted(sizes)
    bins = 0

    def take(p: float) -> int:
        if rng is not None and rng.random() < p:
            return items.pop(rng.randrange(len(items)))
        return items.pop()

    while items and sum(items) >= floor:
        load = take(0.3)
        while items and load < floor:
            deficit = floor - load
            if len(items) > 1 and items[-1] + items[0] < deficit:
                load += take(0.3)
                continue
            pick = _complete(deficit, items)
            if pick is None:
                return bins
            for k in sorted(pick, reverse=True):
                load += items.pop(k)
        if load < floor:
            break
        bins += 1
    return bins


def _mip_bins(sizes: Sequence[int], most: int, seconds: float) -> tuple[int, bool]:
    """Bin covering number by HiGHS: (valid upper bound, proven optimal)."""
    n = len(sizes)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(seconds))
    x = [[h.addBinary() for _ in range(most)] for _ in range(n)]
    y = [h.addBinary() for _ in range(most)]
    for i in range(n):
        h.addConstr(sum(x[i][j] for j in range(most)) <= 1)
    for j in range(most):
        h.addConstr(sum(sizes[i] * x[i][j] for i in range(n)) - FLOOR * y[j] >= 0)
        if j + 1 < most:
            h.addConstr(y[j] - y[j + 1] >= 0)
    h.maximize(sum(y))
    status = h.getModelStatus()
    info = h.getInfo()
    bound = info.mip_dual_bound
    if status == highspy.HighsModelStatus.kOptimal:
        return round(info.objective_function_value), True
    if math.isfinite(bound):
        return min(most, math.floor(bound + 1e-6)), False
    return most, False


def bin_covering(sizes: Sequence[int], seconds: float, restarts: int = 200) -> tuple[int, str]:
    """(bin covering number or a valid upper bound, how it was settled)."""
    most = sum(sizes) // FLOOR
    if most == 0:
        return 0, "empty"
    if _greedy_bins(sizes) >= most:
        return most, "heuristic"
    rng = random.Random(0)
    if any(_greedy_bins(sizes, rng=rng) >= most for _ in range(restarts)):
        return most, "restarts"
    value, proven = _mip_bins(sizes, most, seconds)
    return value, "mip" if proven else "mip-capped"


def _bins_for(
    regions: Sequence[Region], pop: Mapping[str, int], seconds: float
) -> tuple[dict[Region, int], dict[str, int]]:
    """Right-hand sides by bin covering (cached by the multiset of populations)."""
    cache: dict[tuple[int, ...], tuple[int, str]] = {}
    out: dict[Region, int] = {}
    how: dict[str, int] = {}
    for w in regions:
        key = tuple(sorted(pop[n] for n in w))
        if key not in cache:
            cache[key] = bin_covering(key, seconds)
            how[cache[key][1]] = how.get(cache[key][1], 0) + 1
        out[w] = cache[key][0]
    return out, how


def _lp_matrix(
    sets: Sequence[frozenset[str]], nodes: Sequence[str], regions: Sequence[Region]
) -> sp.csc_matrix:
    """Rows: one per CCG, then one per region (the sets lying inside it); columns: sets."""
    ix = {n: i for i, n in enumerate(nodes)}
    cols = [ix[n] for s in sets for n in s]
    owner = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    member = sp.csr_matrix((np.ones(len(cols)), (owner, cols)), shape=(len(sets), len(nodes)))
    outside = np.ones((len(nodes), len(regions)), dtype=np.float32)
    for j, w in enumerate(regions):
        outside[[ix[n] for n in w], j] = 0.0
    blocks = []
    for lo in range(0, len(sets), 20_000):
        hits = member[lo : lo + 20_000] @ outside
        blocks.append(sp.csr_matrix(hits == 0, dtype=np.float64))
    return sp.vstack([member.T.tocsr(), sp.vstack(blocks).T.tocsr()]).tocsc()


def _solve_lp(matrix: sp.csc_matrix, rhs: Sequence[float]) -> float:
    """max sum z subject to matrix @ z <= rhs, 0 <= z <= 1, by HiGHS."""
    m, n = matrix.shape
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = np.ones(n)
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.row_lower_ = np.full(m, -highspy.kHighsInf)
    lp.row_upper_ = np.asarray(rhs, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.sense_ = highspy.ObjSense.kMaximize
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.run()
    return float(h.getInfo().objective_function_value)


def _report(label: str, rounded: Mapping[Region, int], tight: Mapping[Region, int]) -> None:
    lower = [w for w in rounded if tight[w] < rounded[w]]
    drop = sum(rounded[w] - tight[w] for w in lower)
    print(f"  {label}: {len(rounded):,} regions, {len(lower):,} below the rounded bound ({drop})")
    for w in sorted(lower, key=lambda w: (len(w), sorted(w)))[:8]:
        print(f"    {len(w)} CCGs, rounded {rounded[w]} -> {tight[w]}: {', '.join(sorted(w))}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mip-seconds", type=float, default=5.0, help="cap per region MIP")
    parser.add_argument("--england-seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    ds = load_dataset()
    problem = Problem.from_dataset(ds)
    pop = dict(problem.populations)
    nodes = tuple(sorted(problem.codes))
    sets = floor_sets(nodes, problem.neighbours(), pop, floor=FLOOR)
    total = sum(pop.values())
    print(f"{len(nodes)} CCGs, {total:,} patients; {len(sets):,} floor sets at {FLOOR:,}")

    t1 = time.perf_counter()
    greedy = _greedy_bins(list(pop.values()))
    value, proven = greedy, True
    if greedy < total // FLOOR:
        value, proven = _mip_bins(list(pop.values()), total // FLOOR, args.england_seconds)
    print(
        f"England, map ignored: floor(pop / floor) = {total // FLOOR}, heuristic {greedy}, "
        f"bin covering {'=' if proven else '<='} {value} ({time.perf_counter() - t1:.1f} s)"
    )

    families = dict(proof_1m._groupings(problem, ds))
    families["parts cut off by 1-2 CCGs"] = proof_1m._separated_parts(problem.graph())
    rounded: dict[Region, int] = {}
    tight: dict[Region, int] = {}
    for label, regions in families.items():
        t1 = time.perf_counter()
        fam_round = {w: proof_1m._most(w, pop) for w in regions}
        fam_tight, how = _bins_for(regions, pop, args.mip_seconds)
        _report(label, fam_round, fam_tight)
        print(f"    settled by {how} ({time.perf_counter() - t1:.1f} s)")
        rounded.update(fam_round)
        tight.update({w: min(fam_tight[w], tight.get(w, fam_tight[w])) for w in regions})
    _report("all families", rounded, tight)

    t1 = time.perf_counter()
    regions = list(rounded)
    matrix = _lp_matrix(sets, nodes, regions)
    print(
        f"LP matrix: {matrix.shape[0]:,} rows, {matrix.nnz:,} nonzeros "
        f"({time.perf_counter() - t1:.1f} s)"
    )
    values = []
    for label, cuts in (("rounded", rounded), ("by bin covering", tight)):
        t1 = time.perf_counter()
        values.append(_solve_lp(matrix, [1.0] * len(nodes) + [cuts[w] for w in regions]))
        print(
            f"packing relaxation, {len(regions):,} cuts {label}: {values[-1]:.5f} "
            f"({time.perf_counter() - t1:.1f} s)"
        )
    best = min(values)
    print(
        f"verdict: best relaxation {best:.4f} -> bound {math.floor(best + 1e-6)} "
        f"({time.perf_counter() - t0:.0f} s in all)"
    )


if __name__ == "__main__":
    main()
