"""Firm and arbitrary groupings on England: max-footprints at 300,000 with whole LAs.

Not a test: it prints figures. Run from the project root, alone on the machine's timing lock:

    FOOTPRINT_DATA_DIR=../shared/data flock /tmp/footprint-bench.lock \\
        python benchmarks/bench_groupings.py --plans 200 --seconds 120

Printed: the optimiser's count and status, how many distinct valid plans were drawn and
how (the optimiser, the recombination walk, re-solves with a pair kept apart), how many
the validator refused, the neighbouring pairs always, sometimes and never together, the
pairs proven firm, the CCGs open to negotiation, and the wall time against ``--seconds``.
"""

from __future__ import annotations

import argparse
import os
import time

from footprint import load_dataset
from footprint.constraints import Constraints
from footprint.groupings import sample_groupings
from footprint.problem import Problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--resolves", type=int, default=8)
    parser.add_argument("--floor", type=int, default=300_000)
    parser.add_argument("--la-rule", default="whole-la", choices=["whole-la", "off"])
    args = parser.parse_args()
    dataset = load_dataset()
    problem = Problem.from_dataset(dataset)
    names = dict(zip(dataset.geography.units["code"], dataset.geography.units["name"], strict=True))
    c = Constraints(min_population=args.floor, la_rule=args.la_rule, time_limit=30)
    t0 = time.perf_counter()
    g = sample_groupings(
        problem,
        c,
        plans=args.plans,
        seconds=args.seconds,
        resolves=args.resolves,
        progress=lambda m: print(f"  [{time.perf_counter() - t0:6.1f} s] {m}", flush=True),
    )
    print(
        f"\nmax-footprints at {args.floor:,}, {args.la_rule}, on {len(problem.codes)} CCGs, "
        f"{os.cpu_count()} cores: {g.seconds:.1f} s (limit {args.seconds:g} s)"
    )
    print(f"footprints        {g.footprints} ({g.status}, bound {g.bound})")
    print(f"plans             {g.plans} distinct, valid: {dict(g.drawn)}")
    print(f"walk steps        {g.walk_steps:,}")
    print(f"refused           {g.rejected}")
    print(f"pairs             {len(g.pairs)}: {g.kinds()}")
    print(f"kept by a rule    {sum(p.forced for p in g.pairs)}")
    print(f"re-solves         {g.resolves}, proven firm {g.proven_firm}")
    open_units = g.open_units()
    print(f"open CCGs         {len(open_units)} of {len(problem.codes)}")
    for code, partners in list(open_units.items())[:10]:
        print(f"  {names[code]}: sometimes with {', '.join(names[p] for p in partners)}")
    print(g.how_drawn())


if __name__ == "__main__":
    main()
