"""Command line: ``python -m footprint <command>``.

Output meant for other tools (``--json``, ``--csv``) has stable keys; errors go
to standard error as one plain message and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import FootprintError

if TYPE_CHECKING:
    from .constraints import Constraints

log = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Command]] = {}


def command(name: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register a sub-command: ``configure`` adds its arguments, the decorated function runs it."""

    def wrap(fn: Command) -> Command:
        _COMMANDS[name] = (configure, fn)
        return fn

    return wrap


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder with the reference files "
        "(default: $FOOTPRINT_DATA_DIR, ./data, ../shared/data)",
    )


def _info_args(p: argparse.ArgumentParser) -> None:
    _data_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


@command("info", _info_args)
def _info(args: argparse.Namespace) -> int:
    from .loader import load_dataset

    ds = load_dataset(args.data_dir)
    geo = ds.geography
    audit = ds.audit
    assert audit is not None  # the England data always has LAs
    info = {
        "name": geo.name,
        "units": len(geo.units),
        "population_total": geo.population_total,
        "population_label": geo.population_label,
        "la_upper": len(geo.la_upper) if geo.la_upper is not None else 0,
        "la_lower": len(geo.la_lower) if geo.la_lower is not None else 0,
        "adjacency_edges": len(ds.adjacency.edges),
        "adjacency_components": len(ds.adjacency.components()),
        "bridges": [list(b) for b in ds.adjacency.bridges],
        "river_crossings": [list(b) for b in ds.adjacency.river_crossings],
        "crossing_units": len(audit.crossing_units),
        "crossing_tolerance": audit.tolerance,
        "la_blocks": audit.n_blocks,
        "data_digest": geo.source_digest,
    }
    if args.json:
        print(json.dumps(info))
    else:
        width = max(map(len, info))
        for k, v in info.items():
            print(f"{k:<{width}}  {v}")
    return 0


def _audit_args(p: argparse.ArgumentParser) -> None:
    _data_arg(p)
    p.add_argument("--csv", type=Path, required=True, metavar="FILE", help="write the shares here")
    p.add_argument("--tier", choices=("upper", "lower"), default="upper")
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.01,
        help="share outside the home LA that counts as crossing",
    )


@command("audit", _audit_args)
def _audit(args: argparse.Namespace) -> int:
    from ._cache import atomic_write_bytes
    from .audit import audit_la
    from .loader import load_dataset

    ds = load_dataset(args.data_dir)
    audit = audit_la(ds.geography, tier=args.tier, tolerance=args.tolerance)
    units = ds.geography.units[["code", "nhs_code", "name"]].rename(
        columns={"code": "unit_code", "nhs_code": "unit_nhs_code", "name": "unit_name"}
    )
    table = (
        audit.shares.merge(units, on="unit_code")
        .merge(audit.units[["unit_code", "home_la", "crosses"]], on="unit_code")
        .assign(is_home=lambda d: d["la_code"] == d["home_la"], tier=args.tier)
    )
    table["share"] = table["share"].round(6)
    cols = [
        "unit_code",
        "unit_nhs_code",
        "unit_name",
        "tier",
        "la_code",
        "la_name",
        "share",
        "is_home",
        "crosses",
    ]
    atomic_write_bytes(args.csv, table[cols].to_csv(index=False).encode("utf-8"))
    print(
        f"wrote {len(table)} rows for {table['unit_code'].nunique()} units to {args.csv}; "
        f"{len(audit.crossing_units)} cross {args.tier}-tier LA boundaries by more than "
        f"{args.tolerance:.1%}"
    )
    return 0


# --- fetch ------------------------------------------------------------------------------------


def _fetch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder to download into (default: $FOOTPRINT_DATA_DIR, else ./data)",
    )
    p.add_argument(
        "--mirror",
        metavar="BASE_URL",
        default=None,
        help="fetch BASE_URL/<path> instead of the manifest URLs (an internal copy, same layout)",
    )
    p.add_argument("--force", action="store_true", help="download even files that are up to date")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the network")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


@command("fetch", _fetch_args)
def _fetch(args: argparse.Namespace) -> int:
    """Download the reference files of data/manifest.json, checking every checksum."""
    from .fetch import fetch_data, summary_lines

    results = fetch_data(
        args.data_dir,
        mirror=args.mirror,
        force=args.force,
        timeout=args.timeout,
        progress=not args.quiet,
    )
    for line in summary_lines(results):
        print(line)
    n_new = sum(r.status == "downloaded" for r in results)
    print(f"{n_new} downloaded, {len(results) - n_new} already up to date")
    return 0


# --- optimise / validate ----------------------------------------------------------------------


def _constraints_from_flags(
    args: argparse.Namespace, count: int | tuple[int, int] | None, units: Any
) -> Constraints:
    """The optimise flags as constraints, every problem in one error.

    Units may be given by code, NHS code or name, as in the app's rule boxes.
    """
    from .constraints import Constraints
    from .errors import ConstraintsError
    from .rule_text import RuleKind, read_rules, read_units, unit_lookup

    lookup = unit_lookup(units["code"], names=units["name"], nhs_codes=units["nhs_code"])
    problems: list[str] = []

    def rules(flag: str, values: list[str], kind: RuleKind) -> list[tuple[str, ...]]:
        out, bad = read_rules(((f"{flag} {v!r}", v) for v in values), kind=kind, lookup=lookup)
        problems.extend(bad)
        return out

    fixed = []
    for item in args.fix:
        unit, sep, name = item.partition("=")
        codes, problem = read_units(unit, lookup=lookup)
        if not sep or not name.strip():
            problems.append(f"--fix {item!r}: expected CODE=NAME, e.g. E38000001=North")
        elif problem is not None or len(codes) != 1:
            problems.append(f"--fix {item!r}: {problem or 'expected one unit before the ='}")
        else:
            fixed.append((codes[0], name.strip()))
    together = rules("--keep-together", args.keep_together, "group")
    apart = rules("--keep-apart", args.keep_apart, "pair")
    disabled = rules("--disable-edge", args.disable_edge, "pair")
    try:
        constraints = Constraints(
            objective=args.objective,
            min_population=args.min_pop,
            max_population=args.max_pop,
            n_footprints=count,
            la_rule=args.la_rule,
            keep_together=[frozenset(g) for g in together],
            keep_apart=apart,
            fixed=fixed,
            locked=tuple(args.lock),
            disabled_edges=disabled,
            time_limit=args.time_limit,
            mip_gap=args.mip_gap,
            solver=args.solver,
            change_measure=args.change_measure,
        )
    except ConstraintsError as exc:
        problems += exc.problems
    if problems:
        raise ConstraintsError("The constraints are not usable", problems=problems)
    return constraints


def _optimise_args(p: argparse.ArgumentParser) -> None:
    _data_arg(p)
    p.add_argument(
        "--objective",
        default="max-footprints",
        choices=["max-footprints", "compact", "balanced", "fewest-changes"],
    )
    p.add_argument("--min-pop", type=int, default=300_000, help="population floor per footprint")
    p.add_argument("--max-pop", type=int, default=None, help="population ceiling per footprint")
    p.add_argument(
        "--footprints", default=None, help="number of footprints: N, or LOW-HIGH for a range"
    )
    p.add_argument("--la-rule", default="whole-la", choices=["whole-la", "off"])
    p.add_argument(
        "--keep-together",
        action="append",
        default=[],
        metavar="A,B,...",
        help="codes that share a footprint (repeatable)",
    )
    p.add_argument(
        "--keep-apart",
        action="append",
        default=[],
        metavar="A,B",
        help="two codes in different footprints (repeatable)",
    )
    p.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="CODE=NAME",
        help="put a unit in a named footprint (repeatable)",
    )
    p.add_argument(
        "--lock",
        action="append",
        default=[],
        metavar="NAME",
        help="keep a footprint of --current exactly as it is (repeatable)",
    )
    p.add_argument(
        "--disable-edge",
        action="append",
        default=[],
        metavar="A,B",
        help="switch off an adjacency or island bridge (repeatable)",
    )
    p.add_argument(
        "--current",
        type=Path,
        default=None,
        metavar="PLAN.csv",
        help="current plan (for fewest-changes, locks, and as a warm start)",
    )
    p.add_argument("--change-measure", default="units", choices=["units", "population"])
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds in all")
    p.add_argument("--mip-gap", type=float, default=1e-4, help="relative gap to stop at")
    p.add_argument("--solver", default="highs", choices=["highs", "cbc"])
    p.add_argument(
        "--constraints",
        type=Path,
        default=None,
        metavar="FILE.json",
        help="constraints saved by an earlier run (the flags above are then ignored)",
    )
    p.add_argument("--out", type=Path, default=None, help="write the plan CSV here")
    p.add_argument("--log", type=Path, default=None, help="write the solver's log here")
    p.add_argument("--json", action="store_true", help="print one JSON object")


@command("optimise", _optimise_args)
def _optimise(args: argparse.Namespace) -> int:
    from .constraints import Constraints
    from .errors import ConstraintsError
    from .loader import load_dataset
    from .optimiser import optimise
    from .plans import read_plan_csv, write_plan_csv
    from .problem import Problem

    if args.constraints is not None:
        try:
            text = args.constraints.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConstraintsError(f"{args.constraints}: cannot read it ({exc.strerror})") from None
        constraints = Constraints.from_json(text)
    else:
        count: int | tuple[int, int] | None = None
        if args.footprints:
            lo, _, hi = args.footprints.partition("-")
            try:
                count = (int(lo), int(hi)) if hi else int(lo)
            except ValueError:
                raise ConstraintsError(
                    f"--footprints: got {args.footprints!r}; expected N or LOW-HIGH, e.g. 25 "
                    "or 20-30"
                ) from None
    ds = load_dataset(args.data_dir)
    if args.constraints is None:
        constraints = _constraints_from_flags(args, count, ds.geography.units)
    problem = Problem.from_dataset(ds)
    units = ds.geography.units
    current = None
    if args.current is not None:
        nhs = {h: c for c, h in zip(units["code"], units["nhs_code"], strict=True) if h}
        imp = read_plan_csv(args.current, known_codes=list(units["code"]), nhs_codes=nhs)
        for note in imp.problems:
            log.warning("%s: %s", args.current.name, note)
        current = dict(imp.assignment)
    result = optimise(problem, constraints, current=current, progress=(lambda m: log.info(m)))
    if args.out is not None and result.assignment:
        tmp = args.out.with_name(args.out.name + ".part")
        tmp.write_bytes(write_plan_csv(result.assignment, codes=list(units["code"])))
        tmp.replace(args.out)
    if args.log is not None:
        args.log.write_text(result.log, encoding="utf-8")
    summary = result.to_dict()
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"status      {result.status}")
        print(f"footprints  {result.footprints}")
        if result.bound is not None:
            gap = "?" if result.gap is None else f"{result.gap:.2%}"
            print(f"bound       {result.bound:g}   gap {gap}")
        print(f"seconds     {result.seconds:.1f}")
        for reason in result.reasons:
            print(f"reason      {reason}")
        if result.table is not None:
            label = problem.population_label.split(" (")[0]
            print(f"smallest    {result.smallest_population:,} {label}")
        if args.out is not None and result.assignment:
            print(f"plan        {args.out}")
    return 0 if result.ok else 1


def _validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan", type=Path, metavar="PLAN.csv", help="plan file: unit_code,footprint")
    _data_arg(p)
    p.add_argument(
        "--min-pop",
        type=int,
        default=None,
        metavar="N",
        help="population floor of every footprint (default 300,000)",
    )
    p.add_argument(
        "--max-pop",
        type=int,
        default=None,
        metavar="N",
        help="population ceiling of every footprint (default none)",
    )
    p.add_argument(
        "--la-rule",
        choices=("whole-la", "off"),
        default=None,
        help="keep every LA block in one footprint (default whole-la)",
    )
    p.add_argument(
        "--constraints",
        type=Path,
        default=None,
        metavar="FILE.json",
        help="constraints saved as JSON; --min-pop/--max-pop/--la-rule override it",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


@command("validate", _validate_args)
def _validate(args: argparse.Namespace) -> int:
    """Check a plan CSV against the rules; exit 0 if valid, 1 if rules are broken."""
    from .constraints import Constraints
    from .errors import InputFileError
    from .loader import load_dataset
    from .plans import read_plan_csv
    from .problem import Problem
    from .validate import _unknown_violation, validate_plan

    constraints = Constraints()
    if args.constraints is not None:
        try:
            text = args.constraints.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(
                f"{args.constraints}: cannot read the constraints file ({exc}); check the path"
            ) from None
        constraints = Constraints.from_json(text)
    overrides = {
        k: v
        for k, v in (
            ("min_population", args.min_pop),
            ("max_population", args.max_pop),
            ("la_rule", args.la_rule),
        )
        if v is not None
    }
    if overrides:
        constraints = constraints.replace(**overrides)
    ds = load_dataset(args.data_dir)
    problem = Problem.from_dataset(ds)
    units = ds.geography.units
    nhs = {
        str(h): str(c)
        for c, h in zip(units["code"], units["nhs_code"], strict=True)
        if isinstance(h, str) and h
    }
    imp = read_plan_csv(args.plan, known_codes=problem.codes, nhs_codes=nhs)
    violations = validate_plan(problem, imp.assignment, constraints)
    if imp.unknown_codes:
        violations.insert(0, _unknown_violation(imp.unknown_codes))
    n_footprints = len(set(imp.assignment.values()))
    n_unassigned = len(problem.codes) - len(imp.assignment)
    valid = not violations
    if args.json:
        for p in imp.problems:
            print(f"warning: {args.plan.name}: {p}", file=sys.stderr)
        print(
            json.dumps(
                {
                    "valid": valid,
                    "footprints": n_footprints,
                    "unassigned": n_unassigned,
                    "unknown_codes": list(imp.unknown_codes),
                    "duplicates": list(imp.duplicates),
                    "violations": [
                        {
                            "rule": v.rule,
                            "footprint": v.footprint,
                            "message": v.message,
                            "units": list(v.units),
                        }
                        for v in violations
                    ],
                }
            )
        )
    else:
        print(
            f"{args.plan.name}: {imp.rows} rows, {n_footprints} footprints, "
            f"{n_unassigned} of {len(problem.codes)} units unassigned"
        )
        for p in imp.problems:
            print(f"warning: {p}")
        if imp.duplicates:
            print(
                f"warning: {len(imp.duplicates)} unit(s) appear on more than one line: "
                + ", ".join(imp.duplicates)
            )
        if valid:
            print("valid: every footprint meets the rules")
        else:
            print(f"not valid: {len(violations)} rule(s) broken")
            for v in violations:
                print(f"  [{v.rule}] {v.message}")
    return 0 if valid else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m footprint", description=__doc__.splitlines()[0]
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (configure, fn) in _COMMANDS.items():
        p = sub.add_parser(
            name, help=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else None
        )
        configure(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    try:
        return args.func(args)
    except FootprintError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
