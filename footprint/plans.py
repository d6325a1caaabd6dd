"""Plan files: ``unit_code,footprint`` CSV read back into an assignment, and written out.

Reading never lets a code become a number (``00C`` keeps its zeros: the file is
parsed with :mod:`csv`, every cell stays text) and never gives up on a bad row:
unknown, duplicated and missing codes and malformed rows are collected in a
:class:`PlanImport` so that the app can show them all and, once the planner
confirms, load the valid rows. Only a file that cannot be a plan at all (not
text, empty, or without the two columns) raises
:class:`~footprint.errors.InputFileError`.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from ._text import clean_name, decode_text, safe_cell, unsafe_cell
from .errors import InputFileError, PlanError

if TYPE_CHECKING:
    from _csv import Reader

    from .geography import Geography

__all__ = [
    "PLAN_COLUMNS",
    "PLAN_GEODATA_SUFFIXES",
    "PlanImport",
    "clean_plan",
    "read_plan_csv",
    "read_plan_geodata",
    "write_plan_csv",
]

#: The two columns of a plan file, in order.
PLAN_COLUMNS: tuple[str, str] = ("unit_code", "footprint")

#: How many codes or rows a problem message names before saying "and N more".
_SHOWN = 15

_MAGIC = {
    b"PK\x03\x04": "a zip archive or an Excel workbook (.xlsx)",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"SQLite format 3": "an SQLite database or GeoPackage",
}


@dataclass(frozen=True)
class PlanImport:
    """What a plan file holds, with everything that is wrong with its rows.

    Attributes
    ----------
    assignment
        Unit code -> footprint name for the valid assigned rows (NHS codes
        translated to unit codes). Rows with an empty footprint (unassigned),
        unknown codes and codes given conflicting footprints are left out.
    unknown_codes
        Codes in the file that are neither unit codes nor NHS codes, sorted.
    missing
        Known unit codes with no row in the file (they stay unassigned), sorted.
    duplicates
        Unit codes with more than one row, sorted. Repeats that agree are kept
        in ``assignment``; codes given different footprints are left out and
        described in ``problems``.
    problems
        Other row-level problems in plain words (rows without a code, rows with
        too few or too many values, conflicting duplicates, and a double quote
        that runs a value over several lines or to the end of the file, named
        by the line where it opens; those lines are skipped).
    rows
        Number of data rows read (blank lines not counted).
    clusters
        Unit code -> cluster name, from an optional ``cluster`` column (the second level
        of a nested plan), for the units of ``assignment`` whose rows name one cluster.
    ambiguous
        From a file of footprint boundaries (:func:`read_plan_geodata`): each unit
        that no footprint holds clearly (less than 90% of its area in the one it
        was given), in words with its shares, e.g. ``"NHS Kent (E38000001): 62% in
        North, 38% in South; put in North"``. Not a problem with the file, so
        :attr:`clean` ignores it; show it to the planner.
    """

    assignment: dict[str, str]
    unknown_codes: tuple[str, ...]
    missing: tuple[str, ...]
    duplicates: tuple[str, ...]
    problems: tuple[str, ...]
    rows: int
    clusters: dict[str, str] = field(default_factory=dict)
    ambiguous: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """True when the file had no unknown, duplicated or missing codes and no bad rows."""
        return not (self.unknown_codes or self.missing or self.duplicates or self.problems)


def _listing(items: list[str], *, limit: int = _SHOWN) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _raw(source: bytes | str | os.PathLike[str]) -> tuple[bytes, str]:
    """The file's bytes and the name to use in messages."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), "the plan file"
    if not isinstance(source, str | os.PathLike):
        raise InputFileError(
            f"cannot read a plan from {type(source).__name__}; pass the file's path or its bytes"
        )
    path = Path(source)
    try:
        return path.read_bytes(), path.name
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file; check the path and the file name") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder; expected a CSV file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _text(data: bytes, name: str) -> str:
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise InputFileError(
                f"{name}: not a CSV text file (it looks like {kind}). Save the plan as "
                "'CSV UTF-8 (comma delimited)' with columns unit_code, footprint"
            )
    raw_head = data[:4096]
    # UTF-16 text or a binary file has NUL bytes throughout; a stray NUL in a name is
    # only a control character, which the names lose
    if raw_head.count(b"\x00") > 2 or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(
            f"{name}: not a CSV text file (it holds binary data: a spreadsheet, or text saved as "
            "UTF-16). Save the plan as 'CSV UTF-8 (comma delimited)'"
        )
    try:
        text, _encoding = decode_text(data)
    except UnicodeDecodeError:
        raise InputFileError(
            f"{name}: not a CSV text file (its bytes are neither UTF-8 nor Windows-1252 "
            "text). Save the plan as 'CSV UTF-8 (comma delimited)'"
        ) from None
    head = text[:4096]
    controls = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > max(2, len(head) // 100):
        raise InputFileError(
            f"{name}: not a CSV text file (it holds binary data). Save the plan as "
            "'CSV UTF-8 (comma delimited)' with columns unit_code, footprint"
        )
    return text


def _norm(header: str) -> str:
    return "_".join(header.strip().strip('"').lower().replace("-", " ").split())


def read_plan_csv(
    source: bytes | str | os.PathLike[str],
    *,
    known_codes: Iterable[str],
    nhs_codes: Mapping[str, str] | None = None,
) -> PlanImport:
    """Read a ``unit_code,footprint`` plan file, collecting every row-level problem.

    Parameters
    ----------
    source
        The file's contents (``bytes``) or its path (``str`` or path-like).
        UTF-8 (with or without a byte order mark) or Windows-1252; comma,
        semicolon or tab separated.
    known_codes
        The unit codes of the geography.
    nhs_codes
        Other codes -> unit code (e.g. NHS ``00C`` -> ONS ``E38000042``); a
        file may use either kind of code.

    Returns
    -------
    PlanImport
        The valid assignment and the unknown, missing and duplicated codes and
        other row problems. Headers match case-insensitively (``Unit Code``
        works); other columns are ignored. Codes and names are stripped of
        surrounding spaces and control characters (:func:`~footprint._text.clean_name`);
        codes are never turned into numbers. The ``'`` that :func:`write_plan_csv` puts
        before a cell starting with ``=``, ``+``, ``-`` or ``@`` is taken off again, so
        the app's own files read back exactly. A row whose values run over several lines
        (a stray double quote) is skipped and described in ``problems``, naming the line
        where the quote opens and whether it is ever closed.

    Raises
    ------
    InputFileError
        When the file cannot be read, is empty, is not text, or lacks the
        ``unit_code`` or ``footprint`` column (the message names the columns
        found).
    """
    data, name = _raw(source)
    text = _text(data, name)
    if not text.strip():
        raise InputFileError(
            f"{name}: the file is empty; expected a header line 'unit_code,footprint' and one "
            "line per unit"
        )
    codes = _Codes.of(known_codes, nhs_codes)
    delimiter = _delimiter(text)
    lines = io.StringIO(text, newline="").readlines()  # physical lines, as csv counts them
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = _header(reader, lines, name=name)
        rows = _Rows(header=header, codes=codes)
        end = reader.line_num  # the last physical line read so far
        for row in reader:
            start, end = end + 1, reader.line_num
            rows.add(row, start=start, end=end)
    except csv.Error as exc:
        raise InputFileError(
            f"{name}: not a readable CSV file (line {reader.line_num}: {exc}). Save the plan as "
            "'CSV UTF-8 (comma delimited)' with columns unit_code, footprint"
        ) from None
    problems = rows.problems(lines, delimiter=delimiter)
    assignment, duplicates = _settle(rows.seen, problems)
    clusters = {
        code: names.pop()
        for code, names in rows.clusters.items()
        if code in assignment and len(names) == 1 and "" not in names
    }
    return PlanImport(
        assignment=assignment,
        unknown_codes=tuple(sorted(rows.unknown)),
        missing=tuple(sorted(c for c in codes.known if c not in rows.seen)),
        duplicates=tuple(duplicates),
        problems=tuple(problems),
        rows=rows.n_rows,
        clusters=clusters,
    )


@dataclass(frozen=True)
class _Codes:
    """The geography's unit codes and what else a file may call them (any letter case)."""

    known: frozenset[str]
    aliases: Mapping[str, str]
    aliases_upper: Mapping[str, str]
    known_upper: Mapping[str, str]

    @classmethod
    def of(cls, known_codes: Iterable[str], nhs_codes: Mapping[str, str] | None) -> _Codes:
        known = [str(c) for c in known_codes]
        aliases = {str(k).strip(): str(v) for k, v in (nhs_codes or {}).items()}
        return cls(
            known=frozenset(known),
            aliases=aliases,
            aliases_upper={k.upper(): v for k, v in aliases.items()},
            known_upper={c.upper(): c for c in known},
        )

    def resolve(self, code: str) -> str:
        """The unit code ``code`` names; ``code`` itself when it names none."""
        if code in self.known:
            return code
        return (
            self.aliases.get(code)
            or self.known_upper.get(code.upper())
            or self.aliases_upper.get(code.upper())
            or code
        )


def _delimiter(text: str) -> str:
    """Comma, else the semicolon or tab the first line holds."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    if "," in first:
        return ","
    return next((d for d in (";", "\t") if d in first), ",")


def _header(reader: Reader, lines: list[str], *, name: str) -> list[str]:
    """The first row with anything in it; refused unless it names both plan columns."""
    header: list[str] = []
    for row in reader:
        if any(cell.strip() for cell in row):
            header = row
            break
    if any("\n" in h or "\r" in h for h in header):
        swallowed = (
            "the rest of the file was"
            if reader.line_num == len(lines)
            else f"lines up to {reader.line_num} were"
        )
        raise InputFileError(
            f"{name}: the header line (line {_first_line(lines)}) opens a double quote that "
            f"is not closed on that line, so {swallowed} read as the header. Remove the "
            "stray double quote; the header should be 'unit_code,footprint'"
        )
    columns = [_norm(h) for h in header]
    missing_cols = [c for c in PLAN_COLUMNS if c not in columns]
    if missing_cols:
        found = ", ".join(repr(clean_name(h)[:40]) for h in header if h.strip()) or "(none)"
        raise InputFileError(
            f"{name}: the header has the column(s) {found}; expected 'unit_code' and "
            f"'footprint' (missing: {', '.join(missing_cols)}). Put the header line "
            "'unit_code,footprint' first, then one line per unit"
        )
    return header


@dataclass
class _Rows:
    """The plan's rows as they are read: each unit's lines and names, and the rows skipped."""

    header: list[str]
    codes: _Codes
    short: list[int] = field(default_factory=list)
    long: list[int] = field(default_factory=list)
    no_code: list[int] = field(default_factory=list)
    quoted: list[tuple[int, int]] = field(default_factory=list)
    seen: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    clusters: dict[str, set[str]] = field(default_factory=dict)
    n_rows: int = 0

    def __post_init__(self) -> None:
        columns = [_norm(h) for h in self.header]
        self.i_code, self.i_fp = columns.index("unit_code"), columns.index("footprint")
        self.i_cluster = columns.index("cluster") if "cluster" in columns else None
        self.width = len(self.header)

    def add(self, row: list[str], *, start: int, end: int) -> None:
        """Take one row, read from physical lines ``start`` to ``end``."""
        if not any(cell.strip() for cell in row):
            return
        self.n_rows += 1
        if end > start and any("\n" in cell or "\r" in cell for cell in row):
            # a double quote at the start of a value runs it on over the line breaks until
            # the next double quote, or to the end of the file when there is none
            self.quoted.append((start, end))
        elif len(row) <= max(self.i_code, self.i_fp):
            self.short.append(start)
        elif len(row) > self.width and any(cell.strip() for cell in row[self.width :]):
            self.long.append(start)
        else:
            self._add_unit(row, line=start)

    def _add_unit(self, row: list[str], *, line: int) -> None:
        # undo the quote the app's own exports put before =, +, -, @ (see write_plan_csv),
        # and keep no control characters in a name
        raw_code = clean_name(unsafe_cell(row[self.i_code].strip()))
        footprint = clean_name(unsafe_cell(row[self.i_fp].strip()))
        if not raw_code:
            self.no_code.append(line)
            return
        code = self.codes.resolve(raw_code)
        if code not in self.codes.known:
            self.unknown.add(raw_code)
            return
        self.seen.setdefault(code, []).append((line, footprint))
        if self.i_cluster is not None and self.i_cluster < len(row):
            cluster = clean_name(unsafe_cell(row[self.i_cluster].strip()))
            self.clusters.setdefault(code, set()).add(cluster)

    def problems(self, lines: list[str], *, delimiter: str) -> list[str]:
        """The rows skipped, each kind in one sentence."""
        problems = [_quote_problem(lines, start, end, delimiter) for start, end in self.quoted]
        width = self.width
        if self.short:
            n = len(self.short)
            problems.append(
                f"{_rows(self.short)} {'has' if n == 1 else 'have'} too few values; expected "
                f"{width} per line as in the header; {'it was' if n == 1 else 'they were'} "
                "skipped"
            )
        if self.long:
            n = len(self.long)
            problems.append(
                f"{_rows(self.long)} {'has' if n == 1 else 'have'} more values than the header's "
                f"{width}; put names holding the separator {delimiter!r} in double quotes; "
                f"{'it was' if n == 1 else 'they were'} skipped"
            )
        if self.no_code:
            n = len(self.no_code)
            problems.append(
                f"{_rows(self.no_code)} {'has' if n == 1 else 'have'} no unit code; "
                f"{'it was' if n == 1 else 'they were'} skipped"
            )
        return problems


def _quote_problem(lines: list[str], start: int, end: int, delimiter: str) -> str:
    """What a value running over lines ``start`` to ``end`` did, and how to fix it."""
    if end == len(lines) and _never_closed(lines[start - 1 :], delimiter):
        return (
            f"line {start} opens a quote that is never closed; the rest of the file (lines "
            f"{start} to {end}) was read as one value and skipped. Remove the stray double "
            'quote (") or close it, then import the file again'
        )
    return (
        f"line {start} opens a quote that is closed only on line {end}; lines {start} to "
        f"{end} were read as one value with line breaks and skipped. Remove the stray "
        'double quotes (") so that each unit is on a line of its own'
    )


def _settle(
    seen: Mapping[str, list[tuple[int, str]]], problems: list[str]
) -> tuple[dict[str, str], list[str]]:
    """Each unit's one footprint, and the units given on several lines.

    A unit given different footprints is left out and its lines listed in ``problems``.
    """
    assignment: dict[str, str] = {}
    duplicates: list[str] = []
    for code in sorted(seen):
        entries = seen[code]
        if len(entries) > 1:
            duplicates.append(code)
        labels = sorted({fp for _, fp in entries})
        if len(labels) > 1:
            shown = ", ".join(repr(fp) if fp else "(empty)" for fp in labels)
            problems.append(
                f"unit {code} is given different footprints ({shown}) on lines "
                f"{', '.join(str(n) for n, _ in entries)}; it was left out (unassigned); keep one "
                "line for it"
            )
        elif labels[0]:
            assignment[code] = labels[0]
    return assignment, duplicates


def _first_line(lines: list[str]) -> int:
    """The number of the first line with anything on it (the header's line)."""
    return next((i for i, text in enumerate(lines, 1) if text.strip()), 1)


def _never_closed(lines: list[str], delimiter: str) -> bool:
    """Whether the last row of a file, from its first line on, ends inside an open quote."""
    try:
        for _ in csv.reader(
            io.StringIO("".join(lines), newline=""), delimiter=delimiter, strict=True
        ):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _rows(lines: list[int]) -> str:
    word = "line" if len(lines) == 1 else "lines"
    return f"{word} {_listing([str(n) for n in lines])}"


def clean_plan(assignment: Mapping[str, str | None]) -> dict[str, str]:
    """The units a plan assigns: code -> footprint name cleaned by ``clean_name``.

    A name that is ``None``, blank or only control characters means unassigned, so
    the unit is left out; codes become text. Check that codes and names are text
    before calling, where a wrong type should be reported.
    """
    out: dict[str, str] = {}
    for code, label in assignment.items():
        name = clean_name(label)
        if name:
            out[str(code)] = name
    return out


def write_plan_csv(
    assignment: Mapping[str, str],
    *,
    codes: Iterable[str] | None = None,
    clusters: Mapping[str, str] | None = None,
) -> bytes:
    """The plan as UTF-8 ``unit_code,footprint`` CSV (what :func:`read_plan_csv` reads).

    Names are cleaned of control characters, and a cell starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return is written with a leading ``'`` so that a
    spreadsheet shows it as text instead of running it as a formula
    (:func:`~footprint._text.safe_cell`); :func:`read_plan_csv` takes the quote off.

    Parameters
    ----------
    assignment
        Unit code -> footprint name; ``None`` or blank text means unassigned.
    codes
        Every unit to write, in this order (units the assignment leaves out get
        an empty footprint). Default: the assignment's codes, sorted.
    clusters
        Unit code -> cluster name (a nested plan's second level): written as a third
        column, ``cluster``, which :func:`read_plan_csv` reads back.

    Raises
    ------
    PlanError
        When codes or names are not text, or the assignment has codes that are
        not among ``codes`` (every such entry listed).
    """
    if not isinstance(assignment, Mapping):
        raise PlanError(
            f"a plan must map unit codes to footprint names; received {type(assignment).__name__}"
        )
    problems: list[str] = []
    plan: dict[str, str] = {}
    for code, label in assignment.items():
        if not isinstance(code, str):
            problems.append(f"unit code {code!r} is {type(code).__name__}; unit codes must be text")
        elif label is not None and not isinstance(label, str):
            problems.append(f"unit {code!r} -> {label!r}: footprint names must be text")
        else:
            plan[code] = clean_name(label)
    order = sorted(plan) if codes is None else [str(c) for c in codes]
    extra = sorted(set(plan) - set(order))
    if extra:
        problems.append(
            f"{len(extra)} assigned code(s) are not among the codes to write: {_listing(extra)}; "
            "pass every unit code in codes="
        )
    repeated = sorted(c for c, n in Counter(order).items() if n > 1)
    if repeated:
        problems.append(f"codes= repeats {_listing(repeated)}; give each unit once")
    if problems:
        raise PlanError("Cannot write the plan", problems=problems)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PLAN_COLUMNS if clusters is None else (*PLAN_COLUMNS, "cluster"))
    for code in order:
        # a name such as =HYPERLINK(...) must stay text in a spreadsheet: safe_cell quotes it,
        # and read_plan_csv takes the quote off again
        row = [safe_cell(code), safe_cell(plan.get(code, ""))]
        if clusters is not None:
            row.append(safe_cell(clean_name(clusters.get(code, ""))))
        writer.writerow(row)
    return buf.getvalue().encode("utf-8")


# --- plans from footprint boundaries (GeoPackage, GeoJSON) ----------------------------------

#: File types :func:`read_plan_geodata` reads.
PLAN_GEODATA_SUFFIXES = (".gpkg", ".geojson", ".json")
#: A unit whose largest share in one footprint is under this is reported as ambiguous.
CLEAR_SHARE = 0.9
#: A unit with less than this share of its area inside any footprint is left unassigned.
MIN_COVER = 0.01
_NAME_COLUMNS = ("footprint", "name", "footprint_name", "label")


def read_plan_geodata(
    upload: tuple[str, bytes],
    geography: Geography,
    *,
    name_column: str | None = None,
    max_bytes: int | None = None,
) -> PlanImport:
    """A plan from a file of footprint boundaries: each unit to the footprint holding most of it.

    The app's own GeoPackage (its ``assignment`` layer) and GeoJSON (each footprint's
    ``units``) read back exactly, from their attributes. Any other GeoPackage or
    GeoJSON of footprints (one feature per footprint, or several parts with one name)
    is read by area: each unit goes to the footprint holding the largest share of its
    area; a unit under 90% in that footprint is described in
    :attr:`PlanImport.ambiguous`, and a unit under 1% in any footprint is left
    unassigned (:attr:`PlanImport.missing`).

    The upload is handled as any boundary upload: its size checked against the upload
    limit, its content checked against its name and opened only by that format's
    driver (:func:`footprint.loader.read_boundaries`), at most
    :data:`~footprint.uploads.MAX_UPLOAD_UNITS` features.

    Parameters
    ----------
    upload
        ``(file name, bytes)`` of a .gpkg, .geojson or .json file.
    geography
        The units to assign.
    name_column
        The column holding each footprint's name; by default the first of
        ``footprint``, ``name``, ``footprint_name`` or ``label`` the file has.
    max_bytes
        Largest upload accepted (default :data:`~footprint.uploads.MAX_UPLOAD_BYTES`).

    Raises
    ------
    InputFileError
        When the file is too large, not the format its name says, unreadable, without
        a name column, or its names are all blank.
    """
    from .uploads import MAX_UPLOAD_BYTES, _as_uploads, _check_size

    ((name, data),) = _as_uploads(upload, what="plan")
    _check_size([(name, data)], max_bytes=MAX_UPLOAD_BYTES if max_bytes is None else max_bytes)
    if not name.lower().endswith(PLAN_GEODATA_SUFFIXES):
        raise InputFileError(
            f"{name}: a plan from boundaries must be a GeoPackage (.gpkg) or GeoJSON (.geojson, "
            ".json) of footprints; for a CSV plan use the CSV import"
        )
    with tempfile.TemporaryDirectory(prefix="footprint-plan-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        frame = _footprint_features(path)
    own = _own_export(frame, geography)
    if own is not None:
        return own
    column = _name_column(frame, name_column, file_name=name)
    return _by_area(frame, column, geography, file_name=name)


def _footprint_features(path: Path) -> gpd.GeoDataFrame:
    """The features of the file, from the app's ``assignment`` layer where a GeoPackage has it."""
    from ._formats import check_boundary_file
    from .loader import read_boundaries
    from .uploads import MAX_UPLOAD_UNITS

    layer = None
    if path.suffix.lower() == ".gpkg":
        source = check_boundary_file(path)
        try:
            layers = [str(x) for x in pyogrio.list_layers(source.target)[:, 0]]
        except Exception:  # pyogrio raises several types for unreadable input
            layers = []  # read_boundaries says what is wrong, in its words
        for wanted in ("assignment", "footprints"):
            if wanted in layers:
                layer = wanted
                break
        else:
            if len(layers) > 1:
                raise InputFileError(
                    f"{path.name}: the GeoPackage has {len(layers)} layers "
                    f"({_listing(layers, limit=5)}) and none is called 'footprints'; save the "
                    "footprints alone, or as a layer named 'footprints'"
                )
    return read_boundaries(path, layer=layer, max_units=MAX_UPLOAD_UNITS)


def _own_export(frame: gpd.GeoDataFrame, geography: Geography) -> PlanImport | None:
    """The plan the app's own export holds, read from its attributes; None for other files."""
    known = {str(c) for c in geography.units["code"]}
    plan: dict[str, str] = {}
    pairs: Iterable[tuple[object, object]]
    if {"unit_code", "footprint"} <= set(frame.columns):  # the GeoPackage's assignment layer
        pairs = zip(frame["unit_code"], frame["footprint"], strict=True)
    elif {"units", "footprint"} <= set(frame.columns):  # the footprints, as in the GeoJSON
        pairs = (
            (code.strip(), fp)
            for units, fp in zip(frame["units"], frame["footprint"], strict=True)
            for code in str(units or "").split(";")
        )
    else:
        return None
    for code, fp in pairs:
        code = clean_name(code)
        if code not in known or code in plan:
            return None  # not this geography's export: read it by area
        if clean_name(fp):
            plan[code] = clean_name(fp)
    return PlanImport(
        assignment=plan,
        unknown_codes=(),
        missing=tuple(sorted(known - set(plan))),
        duplicates=(),
        problems=(),
        rows=len(frame),
    )


def _name_column(frame: gpd.GeoDataFrame, wanted: str | None, *, file_name: str) -> str:
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    if wanted is not None:
        if wanted in columns:
            return wanted
        problem = f"has no column {wanted!r}"
    else:
        lower = {c.lower(): c for c in columns}
        found = next((lower[c] for c in _NAME_COLUMNS if c in lower), None)
        if found is not None:
            return found
        problem = f"has none of the columns {', '.join(_NAME_COLUMNS)} that name a footprint"
    raise InputFileError(
        f"{file_name}: the file {problem}; its columns are "
        f"{_listing([repr(c) for c in columns], limit=10) or 'none'}. Name the column that "
        "holds each footprint's name"
    )


def _by_area(
    frame: gpd.GeoDataFrame, column: str, geography: Geography, *, file_name: str
) -> PlanImport:
    """Each unit to the footprint holding the largest share of its area."""
    units = geography.units
    frame = frame.assign(_name=[clean_name(v) for v in frame[column]])
    blank = int((frame["_name"] == "").sum())
    frame = frame[frame["_name"] != ""]
    if frame.empty:
        raise InputFileError(
            f"{file_name}: every feature's {column!r} is blank; expected the footprints' names"
        )
    if frame.crs is None:
        raise InputFileError(
            f"{file_name}: the file states no coordinate reference system; save it again in "
            "British National Grid (EPSG:27700) or longitude and latitude (EPSG:4326)"
        )
    fps = frame.to_crs(units.crs)
    shapes = shapely.make_valid(fps.geometry.to_numpy())
    geoms = units.geometry.to_numpy()
    left, right = shapely.STRtree(shapes).query(geoms, predicate="intersects")
    overlap = shapely.area(shapely.intersection(geoms[left], shapes[right]))
    shares = pd.DataFrame(
        {
            "unit": units["code"].astype(str).to_numpy()[left],
            "footprint": fps["_name"].to_numpy()[right],
            "share": overlap / shapely.area(geoms[left]),
        }
    )
    shares = shares.groupby(["unit", "footprint"], as_index=False)["share"].sum()
    shares = shares.sort_values(["unit", "share"], ascending=[True, False], kind="stable")
    plan: dict[str, str] = {}
    ambiguous: list[str] = []
    names = dict(zip(units["code"].astype(str), units["name"].astype(str), strict=True))
    for code, rows in shares.groupby("unit", sort=True):
        if rows["share"].sum() < MIN_COVER:
            continue
        top = rows.iloc[0]
        plan[str(code)] = str(top["footprint"])
        if top["share"] < CLEAR_SHARE:
            split = ", ".join(
                f"{r.share:.0%} in {r.footprint}" for r in rows.itertuples() if r.share >= 0.005
            )
            ambiguous.append(
                f"{clean_name(names[str(code)])} ({code}): {split}; put in {top.footprint}"
            )
    problems = [f"{blank} feature(s) have a blank {column!r} and were left out"] if blank else []
    return PlanImport(
        assignment=plan,
        unknown_codes=(),
        missing=tuple(sorted(set(names) - set(plan))),
        duplicates=(),
        problems=tuple(problems),
        rows=len(frame) + blank,
        ambiguous=tuple(ambiguous),
    )
