"""The geography a plan is drawn on: units (CCGs), local authorities and display layers.

Every source of boundaries, the England 2013 reference files or a planner's own
files, goes through :func:`build_geography`, which checks the units, repairs
their rings, puts them in British National Grid for analysis and derives the
simplified WGS84 layers that are sent to a browser.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._text import clean_name
from .errors import InputFileError

log = logging.getLogger(__name__)

#: Analysis CRS: British National Grid, metres.
ANALYSIS_CRS = 27700
#: Display CRS: WGS84 longitude/latitude, what Leaflet and GeoJSON expect.
DISPLAY_CRS = 4326
#: What "population" means throughout the tool for the England 2013 data.
REGISTERED_PATIENTS = "registered patients (QOF 2013/14 list sizes)"

UNIT_COLUMNS = ("code", "nhs_code", "name", "population")

#: The largest population one unit may have: a billion people, far above any real area and
#: far below where sums over all units could overflow 64-bit integers (2**63 is about 9.2e18).
MAX_UNIT_POPULATION = 10**9

# A number as a planner writes one: optional sign, digits with an optional decimal part,
# optional exponent ("12345", "12345.0", "1.2e4"). Thousands separators are taken off first.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", re.ASCII)


@dataclass(frozen=True, eq=False)
class Geography:
    """Units to group into footprints, with their local authorities and display layers.

    Attributes
    ----------
    units
        One row per unit (CCG), index 0..n-1, columns ``code`` (ONS code, str),
        ``nhs_code`` (str, may be empty), ``name``, ``population`` (int),
        optionally ``area_team_code``, ``area_team``, ``region_code``, ``region``;
        geometry in EPSG:27700.
    la_upper, la_lower
        Local authorities (``code``, ``name``; lower tier also ``upper_code``),
        EPSG:27700; ``None`` when the geography has no LA layer. ``la_upper`` holds
        the LAs whose blocks the ``whole-la`` rule keeps whole (for a planner's own
        geography, the LA layer uploaded beside the boundaries).
    display_units, display_la_upper, display_la_lower
        The same layers simplified without gaps or overlaps, in EPSG:4326.
    unit_label, unit_label_plural
        What the units are called wherever a planner reads about them: ``"CCG"`` and
        ``"CCGs"`` for England 2013, the planner's own words for an upload (``"unit"``
        and ``"units"`` by default).
    """

    units: gpd.GeoDataFrame
    la_upper: gpd.GeoDataFrame | None
    la_lower: gpd.GeoDataFrame | None
    display_units: gpd.GeoDataFrame
    display_la_upper: gpd.GeoDataFrame | None
    display_la_lower: gpd.GeoDataFrame | None
    name: str
    population_label: str
    attribution: tuple[str, ...]
    source_digest: str
    unit_label: str = "unit"
    unit_label_plural: str = "units"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return self.units["code"].tolist()

    @property
    def has_la_layer(self) -> bool:
        """True when the geography has the LA layer the ``whole-la`` rule and the audit need."""
        return self.la_upper is not None

    @property
    def layers(self) -> tuple[str, ...]:
        """The reference layers this geography has, in the order a map offers them.

        A subset of ``("la_upper", "la_lower", "area_team_code", "region_code")``:
        an LA tier when its layer exists, a grouping when the units have a value in
        its column. Offer a planner only these.
        """
        out = [
            k
            for k, layer in (("la_upper", self.la_upper), ("la_lower", self.la_lower))
            if layer is not None and len(layer)
        ]
        for column in ("area_team_code", "region_code"):
            if column in self.units and self.units[column].notna().any():
                out.append(column)
        return tuple(out)

    @property
    def la_names(self) -> dict[str, str]:
        """LA code -> LA name, both tiers ("E08000021" -> "Newcastle upon Tyne")."""
        out: dict[str, str] = {}
        for layer in (self.la_lower, self.la_upper):
            if layer is not None and "name" in layer:
                out.update(zip(layer["code"].astype(str), layer["name"].astype(str), strict=True))
        return out

    @property
    def nhs_code_aliases(self) -> dict[str, str]:
        """NHS code -> unit code ("00C" -> "E38000042"), for units that have one.

        What a plan file may name a unit by instead of its ONS code
        (:func:`footprint.plans.read_plan_csv`'s ``nhs_codes``).
        """
        if "nhs_code" not in self.units:
            return {}
        return {
            str(h): str(c)
            for c, h in zip(self.units["code"], self.units["nhs_code"], strict=True)
            if isinstance(h, str) and h
        }

    def group_names(self, column: str) -> dict[str, str]:
        """Group code -> name of a grouping column (``area_team_code`` -> ``area_team``).

        Empty when the geography has no such names, or when they are not one to one.
        """
        return group_names(self.units, column)

    def name_of(self, code: str) -> str:
        """The name of any code of this geography, as a planner reads it.

        A unit, an LA (either tier), an Area Team or a Region; the code itself when
        nothing names it.
        """
        code = str(code)
        units = self.units
        hit = units.loc[units["code"] == code, "name"]
        if len(hit):
            return str(hit.iloc[0])
        if (name := self.la_names.get(code)) is not None:
            return name
        for column in ("area_team_code", "region_code"):
            if (name := self.group_names(column).get(code)) is not None:
                return name
        return code

    @property
    def population_total(self) -> int:
        return int(self.units["population"].sum())

    def reference_groups(self, column: str) -> pd.Series:
        """Unit code -> group code for a reference grouping column (e.g. ``area_team_code``)."""
        if column not in self.units:
            raise KeyError(f"this geography has no {column!r} column")
        return self.units.set_index("code")[column]

    def dissolved(self, column: str, *, display: bool = True) -> gpd.GeoDataFrame:
        """Units dissolved by a grouping column (Area Teams, Regions), for reference layers."""
        src = self.display_units if display else self.units
        frame = src[["code", "geometry"]].merge(self.units[["code", column]], on="code", how="left")
        out = frame.dissolve(by=column, as_index=False)[[column, "geometry"]]
        return out.rename(columns={column: "code"})


def group_names(units: pd.DataFrame, column: str) -> dict[str, str]:
    """Group code -> name from the name column beside ``column`` (``region`` for ``region_code``).

    Empty when there is no such column, or when two groups share a name or one group
    has two (labelling by name would then merge or split groups).
    """
    partner = column[: -len("_code")] if column.endswith("_code") else None
    if partner is None or partner not in units.columns or column not in units.columns:
        return {}
    pairs = units[[column, partner]].dropna().astype(str).drop_duplicates()
    pairs = pairs[(pairs[column].str.strip() != "") & (pairs[partner].str.strip() != "")]
    if pairs[column].duplicated().any() or pairs[partner].duplicated().any():
        return {}
    return dict(zip(pairs[column], pairs[partner], strict=True))


def repair(gdf: gpd.GeoDataFrame, *, source: str) -> gpd.GeoDataFrame:
    """Make every geometry valid and polygonal, in the analysis CRS.

    TopoJSON quantisation leaves self-touching and crossing rings; ``make_valid``
    with the *structure* method rebuilds them as polygons and drops the collapsed
    slivers, so areas and overlays are trustworthy. A second pass after the
    reprojection mends the few rings the reprojection itself bends.
    """
    out = gdf.copy()
    n_invalid = int((~out.geometry.is_valid).sum())
    if n_invalid:
        log.info("%s: repairing %d invalid geometries", source, n_invalid)
    out["geometry"] = shapely.make_valid(
        out.geometry.values, method="structure", keep_collapsed=False
    )
    if out.crs is None or out.crs.to_epsg() != ANALYSIS_CRS:
        out = out.to_crs(ANALYSIS_CRS)
    out["geometry"] = shapely.make_valid(
        out.geometry.values, method="structure", keep_collapsed=False
    )
    return out


def display_layer(gdf: gpd.GeoDataFrame, *, tolerance_m: float) -> gpd.GeoDataFrame:
    """A lighter copy for the browser that keeps shared borders shared.

    ``shapely.coverage_simplify`` simplifies each shared edge once, so
    neighbours stay gap- and overlap-free, unlike per-polygon simplification.
    """
    out = gdf.copy()
    geoms = shapely.coverage_simplify(out.geometry.values, tolerance_m)
    out["geometry"] = shapely.make_valid(geoms, method="structure", keep_collapsed=False)
    out = out.to_crs(DISPLAY_CRS)
    # 5 decimals of a degree is about 1 m: more precision is only bytes.
    # Pointwise rounding moves shared vertices identically, so the coverage holds.
    out["geometry"] = shapely.set_precision(out.geometry.to_numpy(), 1e-5, mode="pointwise")
    return out


def _check_units(
    units: pd.DataFrame, *, source: str, code_column: str = "code", has_codes: bool = True
) -> list[str]:
    """Every problem with a unit table, in plain words naming the rows (1-based, as a planner sees).

    Without a code column (``has_codes=False``) only the geometries are checked.
    """
    problems: list[str] = []
    codes = units["code"]
    missing = codes.isna() | (codes.astype(str).str.strip() == "")

    def which(i: int) -> str:
        return f"row {i + 1} (code {codes.iloc[i]!r})" if has_codes else f"row {i + 1}"

    if has_codes and missing.any():
        rows = np.flatnonzero(missing.to_numpy()) + 1
        shown = ", ".join(map(str, rows[:20])) + (" …" if len(rows) > 20 else "")
        problems.append(
            f"{source}: {len(rows)} feature(s) have no code in column {code_column!r} "
            f"(rows {shown}); every boundary needs the code of its unit"
        )
    if has_codes:
        for i in np.flatnonzero(~missing.to_numpy()):
            code = str(codes.iloc[i])
            if any(unicodedata.category(ch).startswith("C") for ch in code):
                problems.append(
                    f"{source}: row {i + 1} has the code {code!r}, which holds control or "
                    "invisible characters (shown escaped); codes must be plain printable text: "
                    "retype the code in the file"
                )
    dup = codes[~missing & codes.duplicated(keep=False)] if has_codes else codes.iloc[:0]
    for code, idx in dup.groupby(dup).groups.items():
        listed = ", ".join(str(units.index.get_loc(i) + 1) for i in idx)
        problems.append(
            f"{source}: code {code!r} appears more than once (rows {listed}); each unit needs "
            "exactly one boundary: merge the parts into one (multi)polygon or drop the extra rows"
        )
    if "geometry" in units:
        geom = units.geometry
        empty = geom.isna() | geom.is_empty
        for i in np.flatnonzero(empty.to_numpy()):
            problems.append(
                f"{source}: {which(int(i))} has an empty geometry; expected the unit's boundary"
            )
        kinds = geom.geom_type
        bad = ~empty & ~kinds.isin(["Polygon", "MultiPolygon"])
        for i in np.flatnonzero(bad.to_numpy()):
            problems.append(
                f"{source}: {which(int(i))} is a {kinds.iloc[i]}, expected a Polygon or "
                "MultiPolygon (an area); points and lines cannot be grouped into footprints"
            )
    return problems


def _no_crs_problem(source: str) -> str:
    return (
        f"{source}: the file has no coordinate reference system; say which one it uses "
        "(27700 for British National Grid metres, 4326 for longitude/latitude: --crs on the "
        "command line, crs= in Python); a shapefile keeps it in its .prj part"
    )


def build_la_layer(
    las: gpd.GeoDataFrame,
    *,
    code_column: str,
    name_column: str | None = None,
    source: str = "LA boundaries",
) -> gpd.GeoDataFrame:
    """Check a planner's local authority layer and shape it as ``Geography.la_upper`` needs.

    Parameters
    ----------
    las
        LA boundaries, any CRS (it must be set), one or more features per LA: the
        parts of one LA (rows with the same code) are merged.
    code_column, name_column
        The columns holding each LA's code and, optionally, its name (the code stands
        in where there is no name, but messages then show codes).
    source
        The file's name, for messages.

    Returns
    -------
    GeoDataFrame
        ``code``, ``name``, geometry in EPSG:27700, one row per LA, sorted by code.

    Raises
    ------
    InputFileError
        Listing every problem: a missing column, no CRS, rows without a code,
        geometries that are not areas, one code with two names.
    """
    problems: list[str] = []
    columns = ", ".join(map(repr, [c for c in las.columns if c != "geometry"])) or "(none)"
    if code_column not in las.columns:
        problems.append(
            f"{source}: no column {code_column!r} to take LA codes from; the columns are "
            f"{columns}. Choose the column that holds the local authority codes"
        )
    if name_column is not None and name_column not in las.columns:
        problems.append(
            f"{source}: no column {name_column!r} for LA names; the columns are {columns}"
        )
    if las.crs is None:
        problems.append(_no_crs_problem(source))
    if problems:
        raise InputFileError(f"Cannot use the LA layer {source}", problems=problems)
    frame = gpd.GeoDataFrame(
        {
            "code": las[code_column].astype("string").str.strip(),
            "name": (las[name_column] if name_column else las[code_column]).astype("string"),
        },
        geometry=las.geometry.values,
        crs=las.crs,
    ).reset_index(drop=True)
    problems += _check_units(frame, source=source, code_column=code_column)
    # the parts of one LA come as rows with one code: merged, unless their names disagree
    problems = [p for p in problems if "appears more than once" not in p]
    named = frame.dropna(subset=["code"])
    for code, grp in named.groupby("code"):
        names = sorted({clean_name(n) for n in grp["name"].dropna()})
        if len(names) > 1:
            problems.append(
                f"{source}: LA code {code!r} has {len(names)} names "
                f"({', '.join(map(repr, names[:4]))}); give each LA one name"
            )
    if problems:
        raise InputFileError(f"Cannot use the LA layer {source}", problems=problems)
    frame["name"] = frame["name"].map(lambda v: clean_name(v) if isinstance(v, str) else "")
    frame["name"] = frame["name"].where(frame["name"] != "", frame["code"])
    frame["code"] = frame["code"].astype(str)
    frame = repair(frame, source=source)
    if frame["code"].duplicated().any():
        frame = frame.dissolve(by="code", as_index=False, aggfunc="first")
    return frame[["code", "name", "geometry"]].sort_values("code").reset_index(drop=True)


def check_la_cover(
    units: gpd.GeoDataFrame, las: gpd.GeoDataFrame, *, units_source: str, la_source: str
) -> None:
    """Refuse an LA layer that misses some units entirely (another area, or a wrong CRS).

    Raises
    ------
    InputFileError
        Naming the units that lie outside every LA.
    """
    # shrunk by a metre, so a unit that only touches an LA's edge is not counted as inside it
    shrunk = units.geometry.buffer(-1.0)
    shrunk = shrunk.where(~shrunk.is_empty, units.geometry)
    hit = las.sindex.query(shrunk.values, predicate="intersects")
    inside = set(hit[0].tolist())
    outside = [str(units["code"].iloc[i]) for i in range(len(units)) if i not in inside]
    if not outside:
        return
    shown = ", ".join(outside[:15]) + (" …" if len(outside) > 15 else "")
    if len(outside) == len(units):
        what = "none of the units lies in any LA of it"
    else:
        what = f"{len(outside)} of the {len(units)} units lie outside every LA of it ({shown})"
    raise InputFileError(
        f"{la_source}: the LA layer does not cover the boundaries of {units_source}: {what}. "
        "Upload the local authorities of the same area, and check that both files say "
        "their coordinate reference system"
    )


def _parse_population(raw: object) -> tuple[int | None, str]:
    """A population cell as a whole number of people, or ``None`` and what is wrong with it.

    Exact for any size (parsed as :class:`~decimal.Decimal`, never wrapped into 64 bits):
    ``2**63`` is too large, not a negative number. ``"1,234"`` is 1234; ``"12,5"`` is
    refused rather than guessed as 125 or 12.5.
    """
    expected = f"expected a whole number of people from 0 to {MAX_UNIT_POPULATION:,}"
    if isinstance(raw, bool | np.bool_):
        return None, f"{raw!r} is not a number; {expected}"
    text = str(raw).strip()
    if len(text) > 40:  # a message quotes the value: enough of it to find it
        return None, f"{text[:30]!r}… ({len(text):,} characters) is not a population; {expected}"
    word = text.lower().lstrip("+-")
    if word in ("inf", "infinity"):
        return None, f"{text!r} is not a finite number; {expected}"
    number = text.replace(",", "") if _THOUSANDS.fullmatch(text) else text
    if not _NUMBER.fullmatch(number):
        return None, (
            f"{text!r} is not a number; expected a whole number of people such as 12345 "
            f"(0 to {MAX_UNIT_POPULATION:,})"
        )
    value = Decimal(number)
    if value < 0:
        return (
            None,
            f"{text} is negative; expected zero or more people (0 to {MAX_UNIT_POPULATION:,})",
        )
    if value != value.to_integral_value():
        return None, f"{text} is not a whole number of people; {expected}"
    if value > MAX_UNIT_POPULATION:
        return None, (
            f"{text} is more than {MAX_UNIT_POPULATION:,}, the most one unit may have; "
            f"{expected}: check that the column holds people, not a total or another figure"
        )
    return int(value), ""


def _check_population(
    pop: pd.DataFrame, *, code_column: str, population_column: str, source: str
) -> tuple[pd.Series, list[str]]:
    """Parse the population column, collecting every bad row instead of stopping at the first.

    Returns the population of each code (``None`` where the value is unusable; the
    problems say why) and the problems.
    """
    problems: list[str] = []
    for col in (code_column, population_column):
        if col not in pop.columns:
            problems.append(
                f"{source}: no column {col!r}; the columns are {', '.join(map(repr, pop.columns))}"
            )
    if problems:
        return pd.Series(dtype="object"), problems
    codes = pop[code_column].astype("string").str.strip()
    raw = pop[population_column]
    values: list[int | None] = []
    for i in range(len(pop)):
        row = i + 2  # header is line 1
        code = codes.iloc[i]
        cell = raw.iloc[i]
        value: int | None = None
        if pd.isna(code) or code == "":
            problems.append(f"{source}: line {row} has no code in column {code_column!r}")
        elif pd.isna(cell) or str(cell).strip() == "":
            problems.append(f"{source}: line {row} (code {code!r}) has no population")
        else:
            value, why = _parse_population(cell)
            if why:
                problems.append(f"{source}: line {row} (code {code!r}) population {why}")
        values.append(value)
    dup = codes[codes.duplicated(keep=False) & codes.notna()]
    for code, idx in dup.groupby(dup).groups.items():
        lines = ", ".join(str(pop.index.get_loc(i) + 2) for i in idx)
        problems.append(
            f"{source}: code {code!r} appears more than once (lines {lines}); give each unit "
            "one line"
        )
    series = pd.Series(values, index=codes.to_numpy(), dtype="object")
    series = series[~series.index.duplicated()]
    return series, problems


def _unit_frame(
    units: gpd.GeoDataFrame,
    *,
    code_column: str,
    name_column: str | None,
    source: str,
    problems: list[str],
) -> gpd.GeoDataFrame:
    """The boundaries with the chosen columns renamed ``code`` and ``name``, codes stripped.

    A missing code column, CRS or name column is a problem listed.
    """
    has_codes = code_column in units.columns
    columns = ", ".join(map(repr, [c for c in units.columns if c != "geometry"]))
    if not has_codes:
        problems.append(
            f"{source}: no column {code_column!r} to take unit codes from; the "
            f"columns are {columns}. "
            "Choose the column that holds the unit codes"
        )
    if units.crs is None:
        problems.append(_no_crs_problem(source))
    # a column that merely happens to be called "code" or "name" gives way to the chosen ones
    shadowed = [
        c
        for c, chosen in (("code", code_column), ("name", name_column))
        if c in units.columns and chosen is not None and chosen != c and chosen in units.columns
    ]
    frame = units.drop(columns=shadowed)
    frame = frame.rename(columns={code_column: "code"}) if has_codes else frame.assign(code=pd.NA)
    if name_column and name_column in units.columns and name_column != code_column:
        frame = frame.rename(columns={name_column: "name"})
    elif name_column and name_column not in units.columns:
        problems.append(
            f"{source}: no column {name_column!r} for unit names; the columns are {columns}"
        )
    frame["code"] = frame["code"].astype("string").str.strip()
    return frame.reset_index(drop=True)


def _unmatched_codes(
    frame: gpd.GeoDataFrame, pop: pd.Series, *, boundaries_source: str, population_source: str
) -> list[str]:
    """Codes with a population but no boundary, and with a boundary but no population."""
    problems: list[str] = []
    geo_codes = {c for c in frame["code"] if isinstance(c, str) and c}
    pop_codes = {c for c in pop.index if isinstance(c, str) and c}
    if only_pop := sorted(pop_codes - geo_codes):
        problems.append(
            f"{population_source}: {len(only_pop)} code(s) have a population but no boundary "
            f"in {boundaries_source}: {', '.join(only_pop[:15])}"
            + (" …" if len(only_pop) > 15 else "")
        )
    if only_geo := sorted(geo_codes - pop_codes):
        problems.append(
            f"{boundaries_source}: {len(only_geo)} code(s) have a boundary but no population "
            f"in {population_source}: {', '.join(only_geo[:15])}"
            + (" …" if len(only_geo) > 15 else "")
        )
    return problems


def _finished_units(
    frame: gpd.GeoDataFrame,
    pop: pd.Series,
    *,
    extra_columns: pd.DataFrame | None,
    source: str,
) -> gpd.GeoDataFrame:
    """The checked units with populations, clean names and extra columns, repaired, by code."""
    frame["population"] = frame["code"].map(pop).astype("int64")
    if extra_columns is not None:
        # attributes from the lookups win over any same-named boundary columns
        clash = [c for c in extra_columns.columns if c != "code" and c in frame.columns]
        frame = frame.drop(columns=clash).merge(extra_columns, on="code", how="left")
    # names come from the planner's file: no control characters (they truncate names in a
    # GeoPackage or shapefile and break KML) and never empty (the code stands in)
    names = frame["name"].map(clean_name) if "name" in frame else frame["code"].map(lambda _: "")
    frame["name"] = names.where(names != "", frame["code"].astype(str))
    for col in ("area_team", "region"):
        if col in frame:
            frame[col] = frame[col].map(lambda v: clean_name(v) if isinstance(v, str) else v)
    if "nhs_code" not in frame:
        frame["nhs_code"] = ""
    keep = [*UNIT_COLUMNS] + [
        c for c in ("area_team_code", "area_team", "region_code", "region") if c in frame
    ]
    frame = gpd.GeoDataFrame(frame[[*keep, "geometry"]], geometry="geometry", crs=frame.crs)
    frame["code"] = frame["code"].astype(str)
    frame["nhs_code"] = frame["nhs_code"].fillna("").astype(str)
    frame = repair(frame, source=source)
    return frame.sort_values("code", kind="stable").reset_index(drop=True)


def build_geography(
    units: gpd.GeoDataFrame,
    population: pd.DataFrame,
    *,
    code_column: str,
    population_column: str,
    population_code_column: str | None = None,
    name_column: str | None = None,
    boundaries_source: str = "boundaries",
    population_source: str = "population file",
    la_upper: gpd.GeoDataFrame | None = None,
    la_lower: gpd.GeoDataFrame | None = None,
    name: str = "Custom geography",
    population_label: str = "population",
    attribution: tuple[str, ...] = (),
    source_digest: str = "",
    unit_label: str = "unit",
    unit_label_plural: str | None = None,
    display_tolerance_m: float = 250.0,
    la_display_tolerance_m: float = 400.0,
    extra_columns: pd.DataFrame | None = None,
) -> Geography:
    """Check, join and repair boundaries and populations into a :class:`Geography`.

    Parameters
    ----------
    units
        Boundaries, any CRS (it must be set), one feature per unit.
    population
        A table with a code column and a population column.
    code_column, population_column, name_column
        Column names chosen by the planner: the unit code in the boundaries, the
        population, and optionally a unit name in the boundaries.
    population_code_column
        The code column of the population table, when it is named differently
        from ``code_column``.
    extra_columns
        Optional per-unit attributes joined on ``code`` (NHS code, Area Team, Region...).
    unit_label, unit_label_plural
        What the units are called ("CCG", "sub-ICB location"); the plural defaults to
        the label with an "s".
    display_tolerance_m, la_display_tolerance_m
        Simplification tolerances of the browser layers: about 250 m keeps the
        211 CCGs under 1 MB of GeoJSON with borders still recognisable at county zoom.

    Raises
    ------
    InputFileError
        Listing every problem in both inputs at once.
    """
    problems: list[str] = []
    has_codes = code_column in units.columns
    frame = _unit_frame(
        units,
        code_column=code_column,
        name_column=name_column,
        source=boundaries_source,
        problems=problems,
    )
    problems += _check_units(
        frame, source=boundaries_source, code_column=code_column, has_codes=has_codes
    )
    pop, pop_problems = _check_population(
        population,
        code_column=population_code_column or code_column,
        population_column=population_column,
        source=population_source,
    )
    problems += pop_problems
    pop_columns_ok = {population_code_column or code_column, population_column} <= set(
        population.columns
    )
    if has_codes and pop_columns_ok:
        problems += _unmatched_codes(
            frame, pop, boundaries_source=boundaries_source, population_source=population_source
        )
    if problems:
        raise InputFileError(
            f"Cannot build the geography from {boundaries_source} and {population_source}",
            problems=problems,
        )
    frame = _finished_units(frame, pop, extra_columns=extra_columns, source=boundaries_source)

    return Geography(
        units=frame,
        la_upper=la_upper,
        la_lower=la_lower,
        display_units=display_layer(frame[["code", "geometry"]], tolerance_m=display_tolerance_m),
        display_la_upper=None
        if la_upper is None
        else display_layer(la_upper[["code", "geometry"]], tolerance_m=la_display_tolerance_m),
        display_la_lower=None
        if la_lower is None
        else display_layer(la_lower[["code", "geometry"]], tolerance_m=la_display_tolerance_m),
        name=name,
        population_label=population_label,
        attribution=attribution,
        source_digest=source_digest,
        unit_label=unit_label,
        unit_label_plural=unit_label_plural or f"{unit_label}s",
    )
