"""Benchmark nested tiers on England's 2013 CCGs: footprints divided into clusters.

The issue's measure is England at a floor of 300,000 with clusters of 250,000 to 1,000,000
and whole LAs: a proven or bounded answer within 120 s, checked by the validator at both
levels. With whole LAs that answer is a proof of infeasibility before any solve (eight LA
blocks are above 1,000,000 and cannot sit inside one cluster, each named); the other
scenarios show plans, each checked by ``footprint.validate.validate_plan`` at both levels
(``clusters=``): the LA rule off, and whole LAs with the cluster ceiling raised to
1,800,000 (the smallest round ceiling at which the LA blocks fit).

Each scenario runs with both ``nested_maximise`` settings. The machine is shared: run it
under ``flock /tmp/footprint-bench.lock`` so that timings do not overlap, and say so with
the figures. This is not a test: it prints figures. Usage::

    flock /tmp/footprint-bench.lock python benchmarks/bench_nested.py
    flock /tmp/footprint-bench.lock python benchmarks/bench_nested.py --scenario whole-la-1m
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from footprint.constraints import Constraints  # noqa: E402
from footprint.loader import load_dataset  # noqa: E402
from footprint.optimiser import optimise  # noqa: E402
from footprint.problem import Problem  # noqa: E402
from footprint.validate import validate_plan  # noqa: E402

#: name -> (LA rule, cluster range); the floor is 300,000 and the time limit 120 s
SCENARIOS: dict[str, tuple[str, tuple[int, int]]] = {
    "whole-la-1m": ("whole-la", (250_000, 1_000_000)),
    "la-off-1m": ("off", (250_000, 1_000_000)),
    "whole-la-1.8m": ("whole-la", (250_000, 1_800_000)),
}


def run(problem: Problem, name: str, maximise: str, *, time_limit: float) -> str:
    """One nested run: its figures and the validator's verdict at both levels, in one line."""
    la_rule, (lo, hi) = SCENARIOS[name]
    c = Constraints(
        objective="nested",
        min_population=300_000,
        la_rule=la_rule,
        cluster_min_population=lo,
        cluster_max_population=hi,
        nested_maximise=maximise,
        time_limit=time_limit,
    )
    t0 = time.perf_counter()
    r = optimise(problem, c)
    wall = time.perf_counter() - t0
    head = f"{name:14s} maximise {maximise:10s} {r.status:11s} {wall:6.1f} s"
    if not r.ok:
        named = sum(1 for x in r.reasons if x.startswith("LA block "))
        return f"{head}  no plan: {len(r.reasons)} reasons ({named} LA blocks named)"
    broken = validate_plan(problem, dict(r.assignment), c, clusters=dict(r.clusters))
    k = len(set(r.clusters.values()))
    table = r.cluster_table
    assert table is not None
    return (
        f"{head}  {r.footprints} footprints (bound {r.levels['footprints']['bound']}), "
        f"{k} clusters (bound {r.levels['clusters']['bound']}), clusters "
        f"{int(table['population'].min()):,}-{int(table['population'].max()):,}; "
        f"validator at both levels: {'valid' if not broken else f'{len(broken)} broken'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--maximise", choices=("footprints", "clusters"), action="append")
    parser.add_argument("--time-limit", type=float, default=120.0)
    args = parser.parse_args()
    print(
        f"footprint nested tiers benchmark; Python {platform.python_version()}, "
        f"{os.cpu_count()} cores (shared with other work: run under flock)"
    )
    t0 = time.perf_counter()
    problem = Problem.from_dataset(load_dataset())
    print(f"data loaded in {time.perf_counter() - t0:.1f} s; floor 300,000 registered patients")
    for name in args.scenario or list(SCENARIOS):
        for maximise in args.maximise or ("footprints", "clusters"):
            print(run(problem, name, maximise, time_limit=args.time_limit), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
