"""How fewest-changes repairs plans broken by a few moves, on England's 2013 CCGs.

The 300,000 LA-off optimum (125 footprints, proven) is broken by k random border moves
(k = 1..8, each of ``--seeds`` seeds: a unit moved into a neighbouring footprint, k
different units), then repaired with ``objective="fewest-changes"`` under a time limit.
Printed per case: units moved by the repair, its proven bound, its status and the wall
seconds of ``optimise``; then the share of repairs that move at most k units (moving the
k units back is always a valid repair, so at most k is always possible), the share proven
optimal (also for k = 5..8 alone) and the slowest repair.

This is not a test: it prints figures. Usage::

    python benchmarks/bench_repair.py                 # seeds 0 and 1, 10 s each
    python benchmarks/bench_repair.py --seeds 3 --time-limit 20
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_repair import break_plan, moved  # noqa: E402

from footprint.constraints import Constraints  # noqa: E402
from footprint.loader import load_dataset  # noqa: E402
from footprint.optimiser import optimise  # noqa: E402
from footprint.problem import Problem  # noqa: E402
from footprint.validate import validate_plan  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=2, help="seeds per k (default 2)")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per repair")
    args = ap.parse_args(argv)
    problem = Problem.from_dataset(load_dataset())
    t0 = time.perf_counter()
    base = optimise(problem, Constraints(min_population=300_000, la_rule="off", time_limit=180))
    print(
        f"300,000 LA off: {base.footprints} footprints, {base.status}, "
        f"{time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    plan = dict(base.assignment)
    c = Constraints(
        objective="fewest-changes",
        min_population=300_000,
        la_rule="off",
        time_limit=args.time_limit,
    )
    print(f"{'k':>2} {'seed':>4} {'moved':>5} {'bound':>5}  {'status':<8} {'seconds':>7}")
    within = proven = cases = proven_hi = cases_hi = 0
    slowest = 0.0
    for k in range(1, 9):
        for seed in range(args.seeds):
            current = break_plan(problem, plan, k, random.Random(1000 * k + seed))
            t = time.perf_counter()
            r = optimise(problem, c, current=current)
            secs = time.perf_counter() - t
            assert validate_plan(problem, dict(r.assignment), c, current=current) == []
            assert r.objective_value == moved(r, current)
            cases += 1
            within += r.objective_value <= k
            proven += r.status == "optimal"
            cases_hi += k >= 5
            proven_hi += k >= 5 and r.status == "optimal"
            slowest = max(slowest, secs)
            print(
                f"{k:>2} {seed:>4} {r.objective_value:>5g} {r.bound or 0:>5g}  "
                f"{r.status:<8} {secs:>7.1f}",
                flush=True,
            )
    print(
        f"\n{within} of {cases} repairs move at most k units; {proven} proven optimal "
        f"({proven_hi} of {cases_hi} with k = 5..8); slowest {slowest:.1f} s; "
        f"{os.cpu_count()} cores, {args.time_limit:g} s limit per repair"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
