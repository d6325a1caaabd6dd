"""Benchmark the footprint optimiser against PySAL spopt's MaxPHeuristic on England's 2013 CCGs.

One process loads the data once and builds one shared Problem (one adjacency graph,
island bridges included). Each max-footprints scenario is solved by
``footprint.optimiser.optimise`` and, beside it, by spopt's max-p heuristic with
seeds 0-4 on the same graph and the same floor. Every spopt seed runs in a forked
child process under a timeout (reported as ``timeout``). spopt plans are scored
with the same compactness (sum of ``Problem.inertia`` over footprints) and checked
with ``footprint.validate.validate_plan``.

For the ``whole-la`` scenarios spopt works on LA blocks (units dissolved by
``Problem.blocks``, populations summed, block adjacency from unit adjacency), so
its plans keep every LA block whole too.

Compactness is compared like with like. Summed inertia falls as footprints are added,
whatever their shape, so the optimiser's plans (more footprints than spopt's) are not
thereby more compact: the tables also give inertia per footprint, and after spopt's best
seed the optimiser is run with ``objective="compact"`` at spopt's count of footprints
(same floor and LA rule, 1% gap, 60 s), and the two are printed side by side.

This is not a test: it prints figures. Usage::

    python benchmarks/bench_optimiser.py                       # every scenario (~15 min)
    python benchmarks/bench_optimiser.py --quick               # smoke run
    python benchmarks/bench_optimiser.py --scenario max-300k-whole-la
    python benchmarks/bench_optimiser.py --markdown docs/OPTIMISER_RESULTS.md
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import random
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from footprint.constraints import Constraints  # noqa: E402
from footprint.loader import load_dataset  # noqa: E402
from footprint.optimiser import optimise  # noqa: E402
from footprint.problem import Problem  # noqa: E402
from footprint.validate import validate_plan  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class Scenario:
    name: str
    constraints: Constraints
    spopt: bool = False  # run spopt beside it
    note: str = ""


def scenarios() -> list[Scenario]:
    out: list[Scenario] = []
    for floor, tag in ((300_000, "300k"), (500_000, "500k"), (1_000_000, "1M")):
        for rule in ("whole-la", "off"):
            out.append(
                Scenario(
                    f"max-{tag}-{rule}",
                    Constraints(
                        objective="max-footprints",
                        min_population=floor,
                        la_rule=rule,
                        time_limit=60,
                    ),
                    spopt=True,
                )
            )
    for n in (20, 25):
        out.append(
            Scenario(
                f"compact-n{n}",
                Constraints(
                    objective="compact",
                    min_population=300_000,
                    n_footprints=n,
                    la_rule="whole-la",
                    time_limit=120,
                    mip_gap=0.01,
                ),
            )
        )
    out.append(
        Scenario(
            "balanced-n25",
            Constraints(
                objective="balanced",
                min_population=300_000,
                n_footprints=25,
                la_rule="whole-la",
                time_limit=60,
            ),
        )
    )
    out.append(
        Scenario(
            "max-300k-cap1M-whole-la",
            Constraints(
                objective="max-footprints",
                min_population=300_000,
                max_population=1_000_000,
                la_rule="whole-la",
                time_limit=60,
            ),
        )
    )
    out.append(
        Scenario(
            "max-300k-cap1M-off",
            Constraints(
                objective="max-footprints",
                min_population=300_000,
                max_population=1_000_000,
                la_rule="off",
                time_limit=60,
            ),
        )
    )
    out.append(
        Scenario(
            "max-300k-cap1.2M-off",
            Constraints(
                objective="max-footprints",
                min_population=300_000,
                max_population=1_200_000,
                la_rule="off",
                time_limit=60,
            ),
        )
    )
    return out


QUICK = ("max-300k-whole-la", "max-300k-cap1M-whole-la")


# --- results ---------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    method: str
    footprints: int | None
    smallest: int | None
    compactness: float | None
    seconds: float
    status: str
    notes: list[str] = field(default_factory=list)


def _fmt_int(v: int | None) -> str:
    return "-" if v is None else f"{v:,}"


def _fmt_sci(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}" if v < 1e4 else f"{v:.3e}".replace("e+", "e")


def _cells(r: Row) -> list[str]:
    return [
        r.scenario,
        r.method,
        _fmt_int(r.footprints),
        _fmt_int(r.smallest),
        _fmt_sci(r.compactness),
        _fmt_sci(r.compactness / r.footprints if r.compactness and r.footprints else None),
        f"{r.seconds:.1f}",
        r.status,
    ]


HEAD = [
    "scenario",
    "method",
    "footprints",
    "smallest footprint population",
    "compactness (person-km²)",
    "per footprint",
    "seconds",
    "status / gap",
]
RIGHT = {2, 3, 4, 5, 6}


def text_table(rows: list[Row]) -> str:
    cells = [HEAD] + [_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEAD))]

    def line(c: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if i in RIGHT else v.ljust(w)
            for i, (v, w) in enumerate(zip(c, widths, strict=True))
        ).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(c) for c in cells[1:]]
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    out = [
        "| " + " | ".join(HEAD) + " |",
        "|" + "|".join("---:" if i in RIGHT else "---" for i in range(len(HEAD))) + "|",
    ]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(r)) + " |" for r in rows]
    return "\n".join(out)


# --- the optimiser ---------------------------------------------------------------------------


def run_optimiser(problem: Problem, sc: Scenario) -> tuple[Row, Any]:
    res = optimise(problem, sc.constraints)
    c = sc.constraints
    if res.status in ("infeasible", "no-solution"):
        status = res.status
    elif c.objective == "max-footprints":
        status = f"{res.status}; count gap {res.gap or 0:.0%}"
        if res.compactness_gap is not None:
            status += f"; compactness gap {res.compactness_gap:.1%}"
    elif c.objective == "balanced" and res.objective_value is not None:
        # the gap of a spread is taken against the mean footprint (its bound is 0)
        status = (
            f"{res.status}; spread {res.objective_value:,.0f}, {res.gap or 0:.1%} of the "
            f"mean footprint; bound {res.bound or 0:,.0f}"
        )
    else:
        gap = "no bound" if res.gap is None else f"{res.gap:.2%}"
        status = f"{res.status}; gap {gap}"
    row = Row(
        sc.name,
        "footprint.optimise",
        res.footprints,
        res.smallest_population,
        res.compactness,
        res.seconds,
        status,
    )
    if res.ok:
        bad = validate_plan(problem, res.assignment, c)
        if bad:
            row.status += f"; INVALID ({len(bad)} violations)"
    return row, res


# --- spopt -----------------------------------------------------------------------------------


@dataclass
class SpoptInput:
    """The graph spopt works on: units, or LA blocks (ids 0..n-1 for libpysal)."""

    nodes: list[str]  # node id -> label (unit code or block code)
    members: dict[str, tuple[str, ...]]  # node label -> unit codes
    gdf: Any
    w: Any


def spopt_input(problem: Problem, units_gdf: Any, *, blocks: bool) -> SpoptInput:
    import geopandas as gpd
    from libpysal.weights import W

    if blocks:
        members = {b: tuple(m) for b, m in problem.block_members().items()}
        of = dict(problem.blocks)
    else:
        members = {c: (c,) for c in problem.codes}
        of = {c: c for c in problem.codes}
    nodes = sorted(members)
    ix = {n: i for i, n in enumerate(nodes)}
    nb: dict[int, set[int]] = {i: set() for i in range(len(nodes))}
    for a, b in problem.edges:  # borders and island bridges
        ia, ib = ix[of[a]], ix[of[b]]
        if ia != ib:
            nb[ia].add(ib)
            nb[ib].add(ia)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = W({i: sorted(v) for i, v in nb.items()}, silence_warnings=True)
    geom = units_gdf.set_index("code").geometry
    pops, cx, cy, shapes = [], [], [], []
    for n in nodes:
        ms = members[n]
        p = sum(problem.populations[c] for c in ms)
        pops.append(p)
        cx.append(sum(problem.populations[c] * problem.x[c] for c in ms) / p / 1000.0)
        cy.append(sum(problem.populations[c] * problem.y[c] for c in ms) / p / 1000.0)
        shapes.append(geom.loc[list(ms)].union_all() if len(ms) > 1 else geom.loc[ms[0]])
    gdf = gpd.GeoDataFrame(
        {"node": nodes, "population": pops, "cx": cx, "cy": cy}, geometry=shapes, crs=units_gdf.crs
    )
    return SpoptInput(nodes, members, gdf, w)


def _spopt_child(inp: SpoptInput, floor: int, seed: int, conn: Any) -> None:
    try:
        import numpy as np
        from spopt.region import MaxPHeuristic

        random.seed(seed)
        np.random.seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = MaxPHeuristic(inp.gdf, inp.w, ["cx", "cy"], "population", floor)
            model.solve()
        conn.send(("ok", [int(v) for v in model.labels_]))
    except Exception as exc:  # report, never hang the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def run_spopt_seed(
    inp: SpoptInput, floor: int, seed: int, timeout: float
) -> tuple[str, list[int] | None, float]:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_spopt_child, args=(inp, floor, seed, child), daemon=True)
    proc.start()
    child.close()
    if parent.poll(timeout):
        try:
            kind, payload = parent.recv()
        except EOFError:
            kind, payload = "error", "child died"
        secs = time.perf_counter() - t0
        proc.join(5)
    else:
        secs = time.perf_counter() - t0
        proc.terminate()
        proc.join(5)
        return "timeout", None, secs
    if kind != "ok":
        return f"error: {payload}", None, secs
    return "ok", payload, secs


def run_spopt(problem: Problem, inp: SpoptInput, sc: Scenario, timeout: float) -> list[Row]:
    rows: list[Row] = []
    c = sc.constraints
    where = "LA blocks" if c.la_rule == "whole-la" else "units"
    for seed in SEEDS:
        outcome, labels, secs = run_spopt_seed(inp, c.min_population, seed, timeout)
        method = f"spopt MaxP seed {seed} ({where})"
        if labels is None:
            rows.append(Row(sc.name, method, None, None, None, secs, outcome))
            continue
        groups: dict[int, list[str]] = {}
        for node, lab in zip(inp.nodes, labels, strict=True):
            groups.setdefault(lab, []).extend(inp.members[node])
        plan = {u: f"R{lab}" for lab, us in groups.items() for u in us}
        pops = [sum(problem.populations[u] for u in us) for us in groups.values()]
        comp = sum(problem.inertia(us) for us in groups.values())
        bad = validate_plan(problem, plan, c)
        status = "valid" if not bad else f"INVALID: {bad[0].rule} ({len(bad)} violations)"
        rows.append(Row(sc.name, method, len(groups), min(pops), comp, secs, status))
    for r in rows:
        print(
            f"   {r.method}: {_fmt_int(r.footprints)} footprints, {r.status}, {r.seconds:.1f} s",
            flush=True,
        )
    return rows


def spopt_best(rows: list[Row], scenario: str) -> Row | None:
    ok = [r for r in rows if r.footprints is not None and r.status == "valid"]
    if not ok:
        return None
    best = max(ok, key=lambda r: (r.footprints, -(r.compactness or 0.0)))
    return Row(
        scenario,
        "spopt MaxP best of 5 seeds",
        best.footprints,
        best.smallest,
        best.compactness,
        sum(r.seconds for r in rows),
        f"{best.method.split(' (')[0].removeprefix('spopt MaxP ')}; {len(ok)}/{len(rows)} valid",
    )


def same_count(problem: Problem, sc: Scenario, spopt: Row) -> Row:
    """The optimiser's most compact plan with spopt's number of footprints (like with like).

    Summed inertia falls as footprints are added, whatever their shape, so a plan with more
    footprints than spopt's is not thereby more compact; at spopt's count it is compared
    fairly (and per footprint in the tables).
    """
    c = sc.constraints.replace(
        objective="compact", n_footprints=spopt.footprints, mip_gap=0.01, time_limit=60
    )
    row, _res = run_optimiser(problem, Scenario(sc.name, c))
    row.method = f"footprint.optimise, compact at spopt's {spopt.footprints}"
    return row


def _like_with_like(spopt: Row, ours: Row) -> str:
    """One line: both plans' compactness at spopt's count of footprints."""
    if ours.compactness is None or spopt.compactness is None:
        return f"{spopt.scenario}: at {spopt.footprints} footprints the optimiser found no plan"
    ratio = ours.compactness / spopt.compactness
    return (
        f"{spopt.scenario}: at {spopt.footprints} footprints the optimiser "
        f"{_fmt_sci(ours.compactness)} vs spopt {_fmt_sci(spopt.compactness)} person-km² "
        f"({ratio:.0%} of spopt's; {ours.status})"
    )


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def write_markdown(path: Path, body: str) -> None:
    """Write the tables; in a file that has bench markers, replace only what is between them."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        body = body.split("\n", 2)[2]  # drop the generated title inside a document
        path.write_text(f"{head}{START}\n{body}\n{END}{tail}", encoding="utf-8")
    else:
        path.write_text(body, encoding="utf-8")


def _write_tables(
    path: Path, summary: list[Row], seed_rows: list[Row], likes: list[str], reasons: dict[str, str]
) -> None:
    """The summary, every spopt seed, the like-with-like lines and the reasons, as Markdown."""
    md = [
        "# Optimiser benchmark (generated table)",
        "",
        markdown_table(summary),
        "",
        "## Every spopt seed",
        "",
        markdown_table(seed_rows) if seed_rows else "(spopt not run)",
        "",
    ]
    if likes:
        md += ["## Compactness like with like", ""] + [f"- {line}" for line in likes] + [""]
    if reasons:
        md += ["## Reasons given for infeasible scenarios", ""]
        md += [f"- **{n}**: {w}" for n, w in reasons.items()] + [""]
    write_markdown(path, "\n".join(md))
    print(f"Markdown table written to {path}")


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few scenarios (smoke run)")
    ap.add_argument(
        "--scenario",
        action="append",
        default=[],
        help="run only this scenario (repeatable); names: "
        + ", ".join(s.name for s in scenarios()),
    )
    ap.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    ap.add_argument(
        "--proof-seconds",
        type=float,
        default=None,
        metavar="S",
        help="also time HiGHS alone proving the count at 1,000,000 with the LA rule off (the "
        "set packing of every floor set, up to S seconds; about 1,700 s on 2 cores), beside "
        "the optimiser's answer within 60 s",
    )
    ap.add_argument("--no-spopt", action="store_true", help="skip the spopt comparison")
    ap.add_argument(
        "--spopt-timeout",
        type=float,
        default=60.0,
        help="seconds allowed per spopt seed (default 60)",
    )
    ap.add_argument(
        "--no-same-count",
        action="store_true",
        help="skip the optimiser's compact run at spopt's count (the like-with-like check)",
    )
    ap.add_argument(
        "--all-seeds",
        action="store_true",
        help="list every spopt seed, not only the best (always in Markdown)",
    )
    args = ap.parse_args(argv)

    chosen = scenarios()
    names = {s.name for s in chosen}
    for n in args.scenario:
        if n not in names:
            ap.error(f"unknown scenario {n!r}; choose from {', '.join(sorted(names))}")
    if args.scenario:
        chosen = [s for s in chosen if s.name in args.scenario]
    elif args.quick:
        chosen = [s for s in chosen if s.name in QUICK]

    t0 = time.perf_counter()
    ds = load_dataset()
    problem = Problem.from_dataset(ds)
    units = ds.geography.units
    print(
        f"Loaded {len(problem.codes)} units, {problem.total_population:,} registered patients, "
        f"{len(problem.edges)} edges ({len(problem.bridges)} island bridges), "
        f"{len(problem.block_members())} LA blocks in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    inputs: dict[str, SpoptInput] = {}

    rows: list[Row] = []
    seed_rows: list[Row] = []
    summary: list[Row] = []
    reasons: dict[str, str] = {}
    likes: list[str] = []
    for sc in chosen:
        print(
            f"\n== {sc.name}: {sc.constraints.objective}, floor "
            f"{sc.constraints.min_population:,}, cap {_fmt_int(sc.constraints.max_population)}, "
            f"LA rule {sc.constraints.la_rule}",
            flush=True,
        )
        row, res = run_optimiser(problem, sc)
        rows.append(row)
        summary.append(row)
        print(
            f"   optimiser: {row.status}, {_fmt_int(row.footprints)} footprints, "
            f"{row.seconds:.1f} s",
            flush=True,
        )
        if res.reasons:
            reasons[sc.name] = res.reasons[0]
            print(f"   first reason: {res.reasons[0]}", flush=True)
        if sc.spopt and not args.no_spopt:
            key = sc.constraints.la_rule
            if key not in inputs:
                inputs[key] = spopt_input(problem, units, blocks=key == "whole-la")
            srows = run_spopt(problem, inputs[key], sc, args.spopt_timeout)
            seed_rows += srows
            best = spopt_best(srows, sc.name)
            shown = srows if args.all_seeds else ([best] if best else srows)
            rows += shown
            summary += [best] if best else srows
            if best is not None and best.footprints and not args.no_same_count:
                same = same_count(problem, sc, best)
                rows.append(same)
                summary.append(same)
                likes.append(_like_with_like(best, same))
                print(f"   {likes[-1]}", flush=True)

    _print_summary(rows, reasons, likes, t0)

    if args.proof_seconds is not None:
        print("\n" + proof_1m(problem, seconds=args.proof_seconds), flush=True)
    if args.markdown:
        _write_tables(Path(args.markdown), summary, seed_rows, likes, reasons)
    return 0


def _print_summary(rows: list[Row], reasons: dict[str, str], likes: list[str], t0: float) -> None:
    print("\n" + text_table(rows))
    if reasons:
        print()
        for name, why in reasons.items():
            print(f"{name}: {why}")
    if likes:
        print("\nCompactness like with like (the same number of footprints):")
        for line in likes:
            print(f"  {line}")
    print(
        f"\nTotal {time.perf_counter() - t0:.0f} s on {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def proof_1m(problem: Problem, *, seconds: float) -> str:
    """The count at 1,000,000 with the LA rule off: the optimiser within 60 s, and HiGHS alone
    on the set packing of every connected CCG set that just reaches the floor (the count
    bound's model) with ``seconds`` to prove it."""
    from footprint._sets import floor_sets
    from footprint.solver import Model

    c = Constraints(objective="max-footprints", min_population=1_000_000, la_rule="off")
    t = time.perf_counter()
    res = optimise(problem, c)
    ours = (
        f"optimiser (60 s): {res.footprints} footprints, {res.status}, bound {res.bound:g}, "
        f"{time.perf_counter() - t:.1f} s"
    )
    t = time.perf_counter()
    pop = dict(problem.populations)
    sets = floor_sets(tuple(sorted(problem.codes)), problem.neighbours(), pop, floor=1_000_000)
    m = Model("packing", maximise=True)
    z = [m.binary(f"z{i}") for i in range(len(sets))]
    by_node: dict[str, list[int]] = {}
    for i, s in enumerate(sets):
        for n in s:
            by_node.setdefault(n, []).append(i)
    for idx in by_node.values():
        m.add(((z[i], 1.0) for i in idx), "<=", 1)
    m.objective((v, 1.0) for v in z)
    out = m.solve(time_limit=seconds, mip_gap=0.0)
    alone = (
        f"HiGHS alone on the packing of {len(sets):,} floor sets: {out.status}, "
        f"{out.objective:g} sets, bound {out.bound:g}, {time.perf_counter() - t:.0f} s"
        if out.objective is not None and out.bound is not None
        else f"HiGHS alone: {out.status} after {time.perf_counter() - t:.0f} s"
    )
    return f"1,000,000, LA rule off: {ours}\n1,000,000, LA rule off: {alone}"


if __name__ == "__main__":
    sys.exit(main())
