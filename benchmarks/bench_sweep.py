"""The floor sweep on England: 26 floors x 2 LA rules, every point proven or its gap printed.

Not a test: it prints figures. Run from the project root, alone on the machine's timing lock:

    FOOTPRINT_DATA_DIR=../shared/data flock /tmp/footprint-bench.lock \\
        python benchmarks/bench_sweep.py --seconds-per-floor 4 --retry-seconds 15 \\
        --max-seconds 570

Each run is solved afresh (a private, empty cache folder unless ``--keep-cache``), so the
time is the time of a first sweep; a second sweep of the same floors reads every answer
from the cache. Printed: one line per floor with both rules' count, bound and status
(``*`` marks a point settled by other points, without a run of its own; ``m`` a plan
merged up from a lower floor's plan), the steps, the
wall time and how many points are proven; the curve is saved as a PNG
(``docs/screenshots/sweep_curve.png`` by default).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from footprint import load_dataset
from footprint.problem import Problem
from footprint.sweep import parse_floors, sweep, sweep_figure


def _cell(p) -> str:
    mark = ("" if p.solved else "*") + ("m" if p.merged else "")
    if p.footprints is None:
        return f"{p.status}{mark}"
    if p.status == "optimal":
        return f"{p.footprints} proven{mark}"
    return f"{p.footprints} (bound {p.bound}, gap {p.gap}){mark}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--floors", default="250000:1500000:50000")
    parser.add_argument("--seconds-per-floor", type=float, default=4.0)
    parser.add_argument("--retry-seconds", type=float, default=15.0)
    parser.add_argument("--max-seconds", type=float, default=570.0)
    parser.add_argument("--png", type=Path, default=Path("docs/screenshots/sweep_curve.png"))
    parser.add_argument("--keep-cache", action="store_true", help="use the usual cache folder")
    args = parser.parse_args()
    if not args.keep_cache:
        os.environ["FOOTPRINT_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-sweep-")
    dataset = load_dataset()
    problem = Problem.from_dataset(dataset)
    floors = parse_floors(args.floors)
    t0 = time.perf_counter()

    def progress(message: str, done: int, total: int) -> None:
        print(f"  [{time.perf_counter() - t0:6.1f} s] {message}", flush=True)

    result = sweep(
        problem,
        floors=floors,
        seconds_per_floor=args.seconds_per_floor,
        retry_seconds=args.retry_seconds,
        max_seconds=args.max_seconds,
        progress=progress,
    )
    print(
        f"\n{len(floors)} floors x 2 LA rules on {len(problem.codes)} CCGs, "
        f"first runs {args.seconds_per_floor:g} s, second runs {args.retry_seconds:g} s, "
        f"cap {args.max_seconds:g} s{' (reached)' if result.stopped else ''}, "
        f"{os.cpu_count()} cores: "
        f"{result.seconds:.0f} s in all; {result.proven} of {len(result.points)} points proven; "
        f"{sum(p.solved for p in result.points)} points run"
    )
    print(f"{'floor':>10}  {'whole LAs':<26}{'LA rule off':<26}")
    for f in floors:
        a, b = result.point(f, "whole-la"), result.point(f, "off")
        print(f"{f:>10,}  {_cell(a):<26}{_cell(b):<26}")
    for rule in ("whole-la", "off"):
        steps = ", ".join(f"{f:,}: {x}->{y}" for f, x, y in result.steps(rule))
        print(f"steps ({rule}): {steps}")
    fig = sweep_figure(result, attribution=dataset.geography.attribution)
    args.png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.png)
    print(f"curve: {args.png}")


if __name__ == "__main__":
    main()
