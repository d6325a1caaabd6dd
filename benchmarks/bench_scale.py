"""How the adjacency build and the optimiser scale with the number of units.

Synthetic maps: a grid of square units 1 km across (EPSG:27700) whose corners are
jittered, so every border is a slanted line shared exactly by its two units, with
1,000 to 3,000 people per unit (seeded). Each case runs in its own process, so the
peak memory (``ru_maxrss``) is that case's alone, under a memory cap and a wall-clock
cap so that a runaway case cannot take a shared server down.

Columns: units; seconds to build the adjacency and its peak memory; then for
``max-footprints`` (floor 300,000) and ``compact`` (as many footprints as
total / 600,000), each with a 10 s limit: wall seconds of ``optimise``, the peak
memory of that process, the status and the gap.

Usage::

    python benchmarks/bench_scale.py                 # 1,000 / 5,000 / 10,000 / 40,000 units
    python benchmarks/bench_scale.py --units 1000 20000 --adjacency-only
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR = 300_000
TIME_LIMIT = 10.0
MEMORY_CAP = int(float(os.environ.get("BENCH_MEMORY_CAP_GB", "6")) * 1024**3)  # per case
WALL_CAP = int(os.environ.get("BENCH_WALL_CAP_S", "240"))  # seconds per case


def grid(n_units: int, *, seed: int = 0, size: float = 1000.0):
    """A near-square grid of about ``n_units`` jittered squares and their populations."""
    import geopandas as gpd
    import numpy as np
    from shapely import Polygon

    rows = max(1, round(n_units**0.5))
    cols = max(1, round(n_units / rows))
    rng = np.random.default_rng(seed)
    jit = rng.uniform(-0.2, 0.2, size=(rows + 1, cols + 1, 2)) * size
    jit[0, :, 1] = jit[-1, :, 1] = 0.0
    jit[:, 0, 0] = jit[:, -1, 0] = 0.0
    xs = np.arange(cols + 1)[None, :] * size + jit[:, :, 0]
    ys = np.arange(rows + 1)[:, None] * size + jit[:, :, 1]
    codes, geoms = [], []
    for r in range(rows):
        for c in range(cols):
            ring = [
                (xs[r, c], ys[r, c]),
                (xs[r, c + 1], ys[r, c + 1]),
                (xs[r + 1, c + 1], ys[r + 1, c + 1]),
                (xs[r + 1, c], ys[r + 1, c]),
            ]
            codes.append(f"r{r}c{c}")
            geoms.append(Polygon(ring))
    units = gpd.GeoDataFrame({"code": codes, "geometry": geoms}, crs=27700)
    pops = rng.integers(1_000, 3_001, size=len(codes))
    return units, {c: int(p) for c, p in zip(codes, pops, strict=True)}


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB


def case_adjacency(n_units: int, out: str) -> dict:
    from footprint.adjacency import build_adjacency
    from footprint.problem import Problem

    units, pops = grid(n_units)
    t = time.perf_counter()
    adj = build_adjacency(units)
    seconds = time.perf_counter() - t
    cent = units.geometry.centroid
    codes = list(units["code"])
    plain = dict(
        populations=pops,
        edges=list(adj.pairs),
        bridges=list(adj.bridges),
        shared_m=dict(zip(adj.edges, adj.shared_m, strict=True)),
        x=dict(zip(codes, map(float, cent.x), strict=True)),
        y=dict(zip(codes, map(float, cent.y), strict=True)),
        areas=dict(zip(codes, map(float, units.geometry.area), strict=True)),
        perimeters=dict(zip(codes, map(float, units.geometry.length), strict=True)),
    )
    Problem.build(**plain)  # checked here; the optimise case builds it again from this
    with open(out, "wb") as fh:
        pickle.dump(plain, fh)
    return {
        "units": len(codes),
        "edges": len(adj.pairs),
        "adjacency_s": seconds,
        "load": os.getloadavg()[0],
        "adjacency_peak": _peak_bytes(),
    }


def case_optimise(path: str, objective: str) -> dict:
    from footprint.constraints import Constraints
    from footprint.optimiser import optimise
    from footprint.problem import Problem

    with open(path, "rb") as fh:
        problem = Problem.build(**pickle.load(fh))
    kw: dict = {}
    if objective == "compact":
        kw["n_footprints"] = max(2, problem.total_population // (2 * FLOOR))
    c = Constraints(
        objective=objective, min_population=FLOOR, la_rule="off", time_limit=TIME_LIMIT, **kw
    )
    before = _peak_bytes()
    t = time.perf_counter()
    res = optimise(problem, c)
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "peak": _peak_bytes(),
        "peak_before": before,
        "load": os.getloadavg()[0],
        "status": res.status,
        "gap": res.gap,
        "footprints": res.footprints,
        "reasons": list(res.reasons),
        "stages": [s["stage"] for s in res.stages][-6:],
    }


def _child(args: list[str]) -> dict:
    """Run one case in a fresh process under the memory and wall-clock caps."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    t = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", *args],
            capture_output=True,
            text=True,
            timeout=WALL_CAP,
            preexec_fn=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {WALL_CAP} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {done.returncode} after {time.perf_counter() - t:.0f} s: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _gb(b: float | None) -> str:
    return "-" if b is None else f"{b / 1024**3:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, nargs="+", default=[1_000, 5_000, 10_000, 40_000])
    ap.add_argument("--adjacency-only", action="store_true")
    ap.add_argument("--objectives", nargs="+", default=["max-footprints", "compact"])
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        kind, *rest = a.child
        out = (
            case_adjacency(int(rest[0]), rest[1])
            if kind == "adjacency"
            else case_optimise(rest[0], rest[1])
        )
        print(json.dumps(out))
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(
        f"floor {FLOOR:,}, time limit {TIME_LIMIT:g} s, caps {_gb(MEMORY_CAP)} GB and "
        f"{WALL_CAP} s per case",
        flush=True,
    )
    head = ["units", "edges", "adjacency s", "adjacency GB"]
    if not a.adjacency_only:
        for o in a.objectives:
            head += [f"{o} s", f"{o} GB", f"{o} status", f"{o} gap"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.units:
            path = str(Path(tmp) / f"problem{n}.pickle")
            adj = _child(["adjacency", str(n), path])
            if "error" in adj:
                print(f"| {n:,} | adjacency: {adj['error']} |", flush=True)
                continue
            row = [
                f"{adj['units']:,}",
                f"{adj['edges']:,}",
                f"{adj['adjacency_s']:.1f} (load {adj['load']:.0f})",
                _gb(adj["adjacency_peak"]),
            ]
            notes = []
            if not a.adjacency_only:
                for o in a.objectives:
                    r = _child(["optimise", path, o])
                    if "error" in r:
                        row += [r["error"], "-", "-", "-"]
                        continue
                    gap = "-" if r["gap"] is None else f"{r['gap']:.1%}"
                    row += [
                        f"{r['seconds']:.1f} (load {r['load']:.0f})",
                        _gb(r["peak"]),
                        f"{r['status']} ({r['footprints'] or 0})",
                        gap,
                    ]
                    if r["reasons"]:
                        notes.append(f"  {o}: {r['reasons'][0]}")
            print("| " + " | ".join(row) + " |", flush=True)
            for line in notes:
                print(line, flush=True)


if __name__ == "__main__":
    main()
