"""What every command of ``python -m footprint`` shares: the registry of sub-commands, flags
and files read without trusting them, outputs written safely, the data and geography options,
and the one way a message reaches standard error.

Kept apart from :mod:`footprint.cli` so that commands in modules of their own
(:mod:`footprint._cli_export`, :mod:`footprint._cli_sweep`) import these helpers without
importing the command line that registers them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import ConstraintsError, InputFileError

if TYPE_CHECKING:
    from .constraints import Constraints
    from .geography import Geography
    from .loader import Dataset

log = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Command]] = {}


def command(name: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register a sub-command: ``configure`` adds its arguments, the decorated function runs it."""

    def wrap(fn: Command) -> Command:
        _COMMANDS[name] = (configure, fn)
        return fn

    return wrap


# --- reading flags and files without trusting them --------------------------------------------

#: Largest population a flag or a constraints file may give (far above any real geography).
MAX_POPULATION = 10**12
#: Largest number of seconds for --time-limit and --timeout (a day).
MAX_SECONDS = 24 * 3600
#: Largest constraints file read (a saved run's constraints are a few kB).
MAX_CONSTRAINTS_BYTES = 1024 * 1024
#: Largest plan CSV read (one line per unit: a few kB for England).
MAX_PLAN_BYTES = 64 * 1024 * 1024


def _number(text: str, *, example: str) -> float:
    """A finite number from a flag's text, or an argparse error saying what was expected."""
    try:
        value = float(text.strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected a number, e.g. {example}"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a finite number, e.g. {example}")
    return value


def _seconds(flag: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = _number(text, example="60")
        if not 0 < value <= MAX_SECONDS:
            raise argparse.ArgumentTypeError(
                f"got {text!r}; expected seconds above 0 and at most {MAX_SECONDS:,}, e.g. 60"
            )
        return value

    return parse


def _fraction(flag: str, example: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = _number(text, example=example)
        if not 0 <= value < 1:
            raise argparse.ArgumentTypeError(
                f"got {text!r}; expected a fraction from 0 up to (not including) 1, e.g. {example}"
            )
        return value

    return parse


def _population(text: str) -> int:
    """A population from a flag: a whole number of people, thousands separators allowed."""
    clean = text.strip().replace(",", "").replace("_", "")
    if not re.fullmatch(r"[0-9]+", clean, flags=re.ASCII):
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected a whole number of people, e.g. 300000 or 300,000"
        )
    value = int(clean)
    if value > MAX_POPULATION:
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected at most {MAX_POPULATION:,} people"
        )
    return value


def _population_range(text: str) -> tuple[int, int]:
    """--cluster-pop: ``LOW:HIGH``, two whole numbers of people (their order is checked later)."""
    low, sep, high = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected LOW:HIGH in people, e.g. 250000:1000000"
        )
    return _population(low), _population(high)


def _count(text: str) -> int | tuple[int, int]:
    """--footprints: ``N`` or ``LOW-HIGH``, both whole numbers of at least 1."""
    m = re.fullmatch(r"\s*([0-9]{1,6})\s*(?:-\s*([0-9]{1,6})\s*)?", text, flags=re.ASCII)
    expected = "expected N or LOW-HIGH, e.g. 25 or 20-30"
    if m is None:
        raise argparse.ArgumentTypeError(f"got {text!r}; {expected}")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else None
    if lo < 1 or (hi is not None and hi < lo):
        raise argparse.ArgumentTypeError(f"got {text!r}; {expected}, with 1 <= LOW <= HIGH")
    return lo if hi is None or hi == lo else (lo, hi)


def _path(text: str) -> Path:
    """A path from a flag; an empty one is refused (``Path("")`` would mean this folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a file or folder name")
    if "\x00" in text:
        raise argparse.ArgumentTypeError("got a name holding a NUL character; expected a path")
    return Path(text)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so :func:`main` reports every error alike."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    """A flag argparse could not read; reported as ``error: ...`` with exit status 2."""


def _input_file(path: Path, *, what: str, flag: str, max_bytes: int) -> bytes:
    """The bytes of a file the planner named, refusing folders, special files and huge files.

    The size is checked before the file is read, and the read stops one byte past the
    limit, so a file that grows (or a device) never fills the memory.
    """
    if not str(path).strip():
        raise InputFileError(
            f"{flag or 'the ' + what}: got an empty file name; expected the path of the {what}"
        )
    shown = f"{flag} {path}" if flag else str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputFileError(
            f"{shown}: no such file; check the path and the file name of the {what}"
        ) from None
    except OSError as exc:
        raise InputFileError(
            f"{shown}: cannot open it ({exc.strerror or exc}); check the path of the {what}"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(
            f"{shown}: is a folder; expected the {what} itself, e.g. {path}/<name>"
        )
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{shown}: not a regular file; expected the {what}")
    if info.st_size > max_bytes:
        raise InputFileError(
            f"{shown}: {info.st_size / 1024 / 1024:.1f} MB, more than the "
            f"{max_bytes / 1024 / 1024:.1f} MB allowed for the {what}"
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(
            f"{shown}: cannot read it ({exc.strerror or exc}); check its permissions"
        ) from None
    if len(data) > max_bytes:
        raise InputFileError(
            f"{shown}: more than the {max_bytes / 1024 / 1024:.1f} MB allowed for the {what}"
        )
    return data


def _output_file(path: Path | None, *, flag: str) -> None:
    """Check, before any long work, that ``path`` can be written; leave nothing behind.

    The file is written later by renaming a temporary file from the same folder into
    place, so what must work is creating a file in that folder: it is probed with a
    temporary file that is removed at once.
    """
    if path is None:
        return
    shown = str(path)
    if not shown.strip():
        raise InputFileError(f"{flag}: got an empty file name; expected a file to write")
    if path.is_dir():
        raise InputFileError(
            f"{flag} {shown}: is a folder; expected a file name, e.g. {path / 'plan.csv'}"
        )
    if not path.name or path.name in (".", ".."):
        raise InputFileError(f"{flag} {shown}: not a file name; expected e.g. plan.csv")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise InputFileError(
            f"{flag} {shown}: the folder {folder} {what}; create it first or write elsewhere"
        )
    if path.exists() and not path.is_file():
        raise InputFileError(f"{flag} {shown}: exists and is not a regular file; choose another")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".probe")
    except OSError as exc:
        raise InputFileError(
            f"{flag} {shown}: cannot write in {folder} ({exc.strerror or exc}); choose a folder "
            "you can write to"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _write_output(path: Path, data: bytes, *, flag: str, what: str) -> None:
    from ._cache import atomic_write_bytes

    try:
        atomic_write_bytes(path, data, make_parents=False)
    except OSError as exc:
        raise InputFileError(
            f"{flag} {path}: could not write the {what} ({exc.strerror or exc}); "
            "free some disk space or choose another file"
        ) from None


def _finite_json(text: str) -> Any:
    """JSON with NaN, Infinity and numbers too large for a float refused by name."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows; write a plain number")

    def real(token: str) -> float:
        value = float(token)
        if not math.isfinite(value):
            raise ValueError(f"the number {token} is too large")
        return value

    return json.loads(text, parse_constant=constant, parse_float=real)


_SCHEMA: dict[str, str] = {
    "format": "text",
    "objective": "text",
    "la_rule": "text",
    "solver": "text",
    "change_measure": "text",
    "min_population": "population",
    "max_population": "population or null",
    "n_footprints": "count",
    "keep_together": "groups",
    "keep_apart": "pairs",
    "disabled_edges": "pairs",
    "fixed": "fixed",
    "locked": "names",
    "time_limit": "number",
    "mip_gap": "number",
    "cluster_min_population": "population",
    "cluster_max_population": "population",
    "nested_maximise": "text",
}


def _is_whole(v: Any) -> bool:
    return (
        not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v) and v == int(v)
    )


def _is_texts(v: Any, n: int | None = None) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v) and (n is None or len(v) == n)


def _schema_problems(data: dict[str, Any]) -> list[str]:
    """What in a constraints object has the wrong type (the values are checked later)."""
    problems = []
    for key, kind in _SCHEMA.items():
        if key not in data:
            continue
        v = data[key]
        ok = {
            "text": lambda v: isinstance(v, str),
            "population": lambda v: _is_whole(v) and 0 <= v <= MAX_POPULATION,
            "population or null": lambda v: (
                v is None or (_is_whole(v) and 0 <= v <= MAX_POPULATION)
            ),
            "count": lambda v: (
                v is None
                or (_is_whole(v) and 1 <= v <= 10**6)
                or (isinstance(v, list) and len(v) == 2 and all(_is_whole(x) for x in v))
            ),
            "groups": lambda v: isinstance(v, list) and all(_is_texts(g) for g in v),
            "pairs": lambda v: isinstance(v, list) and all(_is_texts(p, 2) for p in v),
            "fixed": lambda v: (
                (isinstance(v, dict) and all(isinstance(x, str) for x in v.values()))
                or (isinstance(v, list) and all(_is_texts(p, 2) for p in v))
            ),
            "names": _is_texts,
            "number": lambda v: (
                not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
            ),
        }[kind](v)
        if ok:
            continue
        expected = {
            "text": "text in quotes",
            "population": f"a whole number of people from 0 to {MAX_POPULATION:,}",
            "population or null": f"null or a whole number of people up to {MAX_POPULATION:,}",
            "count": "null, a whole number such as 25, or a range such as [20, 30]",
            "groups": 'a list of lists of unit codes, e.g. [["E38000001", "E38000002"]]',
            "pairs": 'a list of pairs of unit codes, e.g. [["E38000001", "E38000002"]]',
            "fixed": 'an object of unit code to footprint name, e.g. {"E38000001": "North"}',
            "names": 'a list of footprint names, e.g. ["North"]',
            "number": "a number",
        }[kind]
        got = json.dumps(v)
        got = got if len(got) <= 60 else got[:57] + "..."
        problems.append(f"{key}: got {got} ({_json_kind(v)}); expected {expected}")
    return problems


def _json_kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, list):
        return "a list"
    return "an object"


def _read_constraints(path: Path, *, flag: str = "--constraints") -> Constraints:
    """A saved run's constraints, every problem with the file in one error."""
    from .constraints import Constraints

    data = _input_file(
        path, what="constraints file (JSON)", flag=flag, max_bytes=MAX_CONSTRAINTS_BYTES
    )
    where = f"{flag} {path}"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00\x00\xfe\xff",):
        raise ConstraintsError(
            f"{where}: the file is UTF-16 text; expected UTF-8. Save it again as UTF-8 "
            "(or write it with `optimise --json`)"
        )
    if b"\x00" in data:
        raise ConstraintsError(
            f"{where}: the file holds binary data (NUL bytes); expected the JSON text that "
            "`optimise --json` saves under reproduce.constraints"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConstraintsError(
            f"{where}: not UTF-8 text (byte {exc.start} cannot be read); expected the JSON "
            "text that `optimise --json` saves. Save the file as UTF-8"
        ) from None
    try:
        obj = _finite_json(text)
    except json.JSONDecodeError as exc:
        raise ConstraintsError(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            'expected one JSON object such as {"min_population": 300000}'
        ) from None
    except (ValueError, RecursionError) as exc:
        msg = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise ConstraintsError(f"{where}: not usable JSON ({msg})") from None
    if not isinstance(obj, dict):
        raise ConstraintsError(
            f"{where}: got {_json_kind(obj)}; expected one JSON object such as "
            '{"min_population": 300000}'
        )
    problems = _schema_problems(obj)
    if problems:
        raise ConstraintsError(f"{where}: the constraints are not usable", problems=problems)
    try:
        return Constraints.from_dict(obj)
    except ConstraintsError as exc:
        raise ConstraintsError(
            f"{where}: the constraints are not usable", problems=exc.problems or [str(exc)]
        ) from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConstraintsError(f"{where}: the constraints are not usable ({exc})") from None


# --- the planner's own geography ----------------------------------------------------------------


def _geography_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "your own geography (instead of the England 2013 CCGs; read as the app reads uploads)"
    )
    g.add_argument(
        "--boundaries",
        nargs="+",
        type=_path,
        default=None,
        metavar="FILE",
        help="GeoJSON, GeoPackage, TopoJSON or zipped shapefile (or the .shp, .shx, .dbf, .prj)",
    )
    g.add_argument(
        "--population",
        type=_path,
        default=None,
        metavar="FILE.csv",
        help="CSV with a code column and a population column",
    )
    g.add_argument("--code-column", default=None, help="unit code column of the boundaries")
    g.add_argument("--population-column", default=None, help="population column of the CSV")
    g.add_argument(
        "--population-code-column",
        default=None,
        help="code column of the CSV (default: --code-column)",
    )
    g.add_argument("--name-column", default=None, help="unit name column of the boundaries")
    g.add_argument(
        "--population-label",
        default="population",
        help="what the population counts, e.g. 'residents'",
    )
    g.add_argument("--crs", default=None, help="CRS to assume when the file states none")
    g.add_argument("--layer", default=None, help="layer of a multi-layer file (GeoPackage)")
    g.add_argument(
        "--unit-label",
        default=None,
        help="what the units are called, e.g. 'sub-ICB location' (default 'unit')",
    )
    g.add_argument(
        "--la-boundaries",
        nargs="+",
        type=_path,
        default=None,
        metavar="FILE",
        help="local authority boundaries beside --boundaries (any format --boundaries takes), "
        "for the LA audit and --la-rule whole-la",
    )
    g.add_argument("--la-code-column", default=None, help="LA code column of --la-boundaries")
    g.add_argument(
        "--la-name-column", default=None, help="LA name column of --la-boundaries (optional)"
    )
    g.add_argument("--la-layer", default=None, help="layer of a multi-layer LA file")


_GEO_FLAGS = (
    "population",
    "code_column",
    "population_column",
    "population_code_column",
    "name_column",
    "crs",
    "layer",
    "unit_label",
    "la_boundaries",
    "la_code_column",
    "la_name_column",
    "la_layer",
)
_LA_FLAGS = ("la_code_column", "la_name_column", "la_layer")


def _load(args: argparse.Namespace) -> Dataset:
    """The England 2013 data, or the planner's own files through the app's upload path."""
    from . import loader

    if args.boundaries is None:
        given = _given(args, _GEO_FLAGS)
        if given:
            raise InputFileError(
                f"{', '.join(given)} given without --boundaries; give --boundaries FILE and "
                "--population FILE.csv to plan on your own geography, or drop these flags"
            )
        return loader.load_dataset(args.data_dir)
    return loader.Dataset.from_geography(_own_geography(args))


def _given(args: argparse.Namespace, names: Sequence[str]) -> list[str]:
    """The flags among ``names`` that were given, as the planner typed them."""
    return [f"--{k.replace('_', '-')}" for k in names if getattr(args, k) is not None]


def _blank(value: object) -> bool:
    return value is None or not str(value).strip()


_Upload = tuple[str, bytes]


def _read_inputs(
    paths: Sequence[Path], *, what: str, flag: str, problems: list[str]
) -> list[_Upload]:
    """Each file's name and bytes; a file that cannot be read is a problem listed instead."""
    from .uploads import MAX_UPLOAD_BYTES

    out: list[_Upload] = []
    for path in paths:
        try:
            data = _input_file(path, what=what, flag=flag, max_bytes=MAX_UPLOAD_BYTES)
        except InputFileError as exc:
            problems.append(str(exc))
        else:
            out.append((path.name, data))
    return out


def _own_la_files(args: argparse.Namespace, problems: list[str]) -> list[_Upload]:
    """The --la-boundaries files read, or none; misused LA flags are problems listed."""
    if args.la_boundaries is None:
        given = _given(args, _LA_FLAGS)
        if given:
            problems.append(
                f"{', '.join(given)} given without --la-boundaries; give --la-boundaries FILE "
                "for your local authorities, or drop these flags"
            )
        return []
    if _blank(args.la_code_column):
        problems.append("--la-code-column NAME is needed with --la-boundaries")
    return _read_inputs(
        args.la_boundaries, what="LA boundary file", flag="--la-boundaries", problems=problems
    )


def _own_geography(args: argparse.Namespace) -> Geography:
    """The planner's own geography from --boundaries and --population, every problem listed."""
    from .uploads import load_uploaded_geography

    problems = []
    if args.data_dir is not None:
        problems.append("--data-dir is for the England 2013 files; drop it with --boundaries")
    for flag, value in (
        ("--population FILE.csv", args.population),
        ("--code-column NAME", args.code_column),
        ("--population-column NAME", args.population_column),
    ):
        if _blank(value):
            problems.append(f"{flag} is needed with --boundaries")
    boundary = _read_inputs(
        args.boundaries, what="boundary file", flag="--boundaries", problems=problems
    )
    la_boundary = _own_la_files(args, problems)
    population = None
    if not _blank(args.population):
        read = _read_inputs(
            [args.population], what="population CSV", flag="--population", problems=problems
        )
        population = read[0] if read else None
    if problems or population is None:
        raise InputFileError("Cannot read your own geography", problems=problems)
    log.info("reading your own geography from %s", ", ".join(n for n, _ in boundary))
    return load_uploaded_geography(
        boundary[0] if len(boundary) == 1 else boundary,
        population,
        code_column=args.code_column,
        population_column=args.population_column,
        population_code_column=args.population_code_column,
        name_column=args.name_column,
        crs=args.crs,
        layer=args.layer,
        population_label=args.population_label,
        la_boundaries=(la_boundary[0] if len(la_boundary) == 1 else la_boundary) or None,
        la_code_column=args.la_code_column,
        la_name_column=args.la_name_column,
        la_layer=args.la_layer,
        unit_label=args.unit_label or "unit",
    )


def _require_la_layer(ds: Dataset, constraints: Constraints) -> None:
    """Refuse --la-rule whole-la on a geography without LAs, naming the flags that fix it."""
    from .problem import NO_LA_LAYER

    if constraints.la_rule == "whole-la" and ds.audit is None:
        raise ConstraintsError(
            "The LA rule cannot be applied",
            problems=[
                f"{NO_LA_LAYER} (--la-boundaries FILE --la-code-column NAME, or --la-rule off)"
            ],
        )


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=_path,
        default=None,
        help="folder with the reference files (default: the first that holds them of "
        "$FOOTPRINT_DATA_DIR, ./data, ../shared/data and the user's own folder, "
        "~/.local/share/footprint/data)",
    )


def _say(message: str) -> None:
    """One message on standard error, made safe to print whatever it quotes.

    Control characters (a terminal escape in a file or column name) are shown escaped,
    and undecodable bytes from the command line as backslash escapes.
    """
    text = "".join(ch if ch in "\n\t" or ch.isprintable() else ascii(ch)[1:-1] for ch in message)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    with contextlib.suppress(OSError, ValueError):  # standard error closed: nothing to do
        print(text, file=sys.stderr)
