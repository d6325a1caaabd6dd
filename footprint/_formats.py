"""Boundary formats the library reads: each recognised from its bytes, opened by its own driver.

GDAL picks a driver from a file's content, whatever its name says, and some drivers
read other files or URLs named inside the file: a "GeoJSON" upload that is really a
GDAL virtual dataset (VRT) naming ``CSV:/etc/passwd`` or ``/vsicurl/http://...`` would
show a server file's lines as its columns, or make the server fetch a URL. So a
planner's boundary file is trusted only after three checks:

1. its first bytes are those of the format its name claims (JSON text, an SQLite
   GeoPackage, a shapefile's header, a MapInfo table's parts), checked here before
   GDAL sees the file;
2. it is opened with that format's driver forced (GDAL's ``GeoJSON:``, ``TopoJSON:``
   and ``GPKG:`` prefixes), so no other driver is ever tried on it;
3. the driver GDAL reports having used is checked again before any row is read.

Shapefiles and MapInfo tables have no driver prefix in GDAL: for them step 1 checks
every part (a shapefile's .shp, .shx and .dbf headers; a MapInfo table's .tab text,
.map and .dat headers, .id and .ind) and step 3 confirms the driver. A MapInfo .tab
is text that can describe a *seamless* table (a list of other tables, read from
wherever they are), a view over other tables, or a raster or linked table naming
another file: only a plain native table is accepted, checked line by line against
what a native table's .tab may hold.

GDAL's network access is switched off for the process as a further guard (its
virtual file systems for URLs answer nothing) the first time a boundary file is opened.
"""

from __future__ import annotations

import contextlib
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pyogrio

from .errors import InputFileError

log = logging.getLogger(__name__)

__all__ = [
    "ACCEPTED_DRIVERS",
    "MAPINFO_PARTS",
    "BoundarySource",
    "check_boundary_file",
    "check_zipped_mapinfo",
    "harden_gdal",
]

#: The only GDAL drivers a boundary file is ever opened with.
ACCEPTED_DRIVERS = ("GeoJSON", "TopoJSON", "GPKG", "ESRI Shapefile", "MapInfo File")

_SQLITE = b"SQLite format 3\x00"
# GeoPackage application ids at byte 68: "GPKG" (1.2+) and "GP10"/"GP11" (1.0, 1.1)
_GPKG_IDS = (b"GPKG", b"GP10", b"GP11")
_SHP_MAGIC = b"\x00\x00\x27\x0a"  # file code 9994, big-endian, in .shp and .shx
_DBF_VERSIONS = frozenset(
    {0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0xCB, 0xE5, 0xF5, 0xFB}
)
_TOPOLOGY = re.compile(rb'"type"\s*:\s*"Topology"')
# MapInfo: the .map's header block carries 42424242 (little-endian) at byte 256, an .ind
# starts with 24242424, the .dat is a dBASE-style table (first byte 3); see GDAL's
# ogr/ogrsf_frmts/mitab (mitab_mapheaderblock.cpp, mitab_indfile.cpp, mitab_datfile.cpp)
_MAP_MAGIC = (42424242).to_bytes(4, "little")
_IND_MAGIC = (24242424).to_bytes(4, "little")
MAPINFO_PARTS = (".tab", ".dat", ".map", ".id", ".ind")
_MAPINFO_REQUIRED = (".tab", ".dat", ".map", ".id")
_MAX_TAB_BYTES = 64 * 1024
# every line a native table's .tab may hold (blank lines aside), case-insensitive
_FIELD_TYPE = (
    r"(char\s*\(\s*\d+\s*\)|integer|smallint|largeint|float|date|time|datetime|logical"
    r"|decimal\s*\(\s*\d+\s*,\s*\d+\s*\))"
)
_TAB_LINES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"!table",
        r"!version\s+\d+",
        r"!charset\s+[A-Za-z0-9_-]+",
        r"definition\s+table",
        r'type\s+native(\s+charset\s+"[A-Za-z0-9_-]+")?',
        r"fields\s+\d+",
        r'description\s+"[^"\\/]*"',
        # a field: a name (plain, or in backquotes), a type, optionally an index number
        r"([A-Za-z_][A-Za-z0-9_]*|`[^`\\/]*`)\s+" + _FIELD_TYPE + r"(\s+index\s+\d+)?\s*;",
        r"begin_metadata",
        r"end_metadata",
        # metadata: "\key" = "value"; keys naming seamless tables are refused below
        r'"\\[^"]*"\s*=\s*"[^"]*"',
    )
]
_HEAD = 1 << 20

# GDAL settings that keep a file from reaching the network through any driver: URLs
# are sent to a proxy on the discard port of this machine (refused at once), with
# a one-second timeout and no retries, and /vsicurl/ accepts no file extension.
_NO_NETWORK = {
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTPS_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".footprint-never",
}
_hardened = False


def harden_gdal() -> None:
    """Switch GDAL's network access off for this process (idempotent).

    The library never needs GDAL to reach a URL: the reference data is downloaded
    by :mod:`footprint.fetch` with its own checks, and uploads are local files.
    """
    global _hardened
    if not _hardened:
        pyogrio.set_gdal_config_options(dict(_NO_NETWORK))
        _hardened = True


@dataclass(frozen=True)
class BoundarySource:
    """How to open a checked boundary file: the driver it must be read with and GDAL's path."""

    driver: str
    target: str
    kind: str


def _looks_like(head: bytes) -> str:
    """What a refused file seems to be, in words; never any of its content."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        if b"OGRVRTDataSource" in head or b"VRTDataset" in head:
            return "a GDAL virtual dataset (VRT), which can point at other files or URLs"
        return "XML or HTML"
    if head.startswith(_SQLITE):
        return "an SQLite database"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive"
    if head.startswith(_SHP_MAGIC):
        return "a shapefile's geometry part"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if b"\x00" in head[:4096]:
        return "binary data"
    return "text in another format (such as CSV)"


def _refuse(name: str, kind: str, head: bytes) -> InputFileError:
    return InputFileError(
        f"{name}: could not read it as a boundary file: it is named as {kind} but its content "
        f"is not {kind} (it looks like "
        f"{_looks_like(head)}); it was not opened. Export the boundaries again as GeoJSON, "
        "GeoPackage, TopoJSON or a zipped shapefile"
    )


def _read_head(path: Path, n: int = _HEAD) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _json_kind(path: Path, head: bytes, *, suffix: str) -> BoundarySource:
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    kind = {".topojson": "TopoJSON", ".geojson": "GeoJSON"}.get(suffix, "GeoJSON or TopoJSON")
    if not body.startswith(b"{"):
        raise _refuse(path.name, kind, head)
    if suffix == ".topojson" or (suffix == ".json" and _TOPOLOGY.search(head)):
        return BoundarySource("TopoJSON", f"TopoJSON:{path}", "TopoJSON")
    return BoundarySource("GeoJSON", f"GeoJSON:{path}", "GeoJSON")


def _gpkg(path: Path, head: bytes) -> BoundarySource:
    if not head.startswith(_SQLITE):
        raise _refuse(path.name, "a GeoPackage", head)
    if len(head) < 100:  # SQLite's header alone is 100 bytes
        raise InputFileError(
            f"{path.name}: could not read it as a boundary file: the GeoPackage is cut short "
            f"({len(head)} bytes); export or copy the file again"
        )
    if head[68:72] not in _GPKG_IDS:
        raise InputFileError(
            f"{path.name}: an SQLite database but not a GeoPackage (its application id is not "
            "'GPKG'); it was not opened. Save the layer as a GeoPackage (.gpkg) from QGIS or "
            "ArcGIS"
        )
    return BoundarySource("GPKG", f"GPKG:{path}", "a GeoPackage")


def _shapefile_problems(parts: dict[str, bytes]) -> list[str]:
    """What is wrong with a shapefile's parts, from their first bytes (suffix -> head)."""
    problems = []
    for suffix in (".shp", ".shx"):
        head = parts.get(suffix)
        if head is not None and not head.startswith(_SHP_MAGIC):
            problems.append(
                f"its {suffix} part does not start as a shapefile's does (it looks like "
                f"{_looks_like(head)})"
            )
    dbf = parts.get(".dbf")
    if dbf is not None and (not dbf or dbf[0] not in _DBF_VERSIONS):
        problems.append(
            f"its .dbf part is not a dBASE table (it looks like {_looks_like(dbf[:4096])})"
        )
    return problems


def _shapefile(path: Path) -> BoundarySource:
    parts: dict[str, bytes] = {}
    for sibling in path.parent.iterdir():
        if sibling.stem.lower() == path.stem.lower() and sibling.suffix.lower() in (
            ".shp",
            ".shx",
            ".dbf",
        ):
            with contextlib.suppress(OSError):
                parts[sibling.suffix.lower()] = _read_head(sibling, 4096)
    problems = _shapefile_problems(parts)
    if problems:
        raise InputFileError(f"{path.name}: not a shapefile; it was not opened", problems=problems)
    return BoundarySource("ESRI Shapefile", str(path), "a shapefile")


def check_zipped_shapefile(path: Path, shp_member: str) -> None:
    """Check the .shp, .shx and .dbf members of a zipped shapefile before GDAL opens them.

    Raises
    ------
    InputFileError
        When a member's first bytes are not those of its part of a shapefile.
    """
    stem = shp_member[: -len(".shp")].lower()
    parts: dict[str, bytes] = {}
    problems: list[str] = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename.lower()
            for suffix in (".shp", ".shx", ".dbf"):
                if name == stem + suffix:
                    if suffix in parts:  # which one GDAL would open is not known
                        problems.append(f"its {suffix} part appears more than once")
                    with zf.open(info) as fh:
                        parts[suffix] = fh.read(4096)
    problems += _shapefile_problems(parts)
    if problems:
        raise InputFileError(
            f"{path.name}: {shp_member} is not a shapefile; it was not opened", problems=problems
        )


def _tab_problems(name: str, head: bytes, size: int) -> list[str]:
    """Why a .tab is not a plain native MapInfo table (empty when it is one)."""
    if size > _MAX_TAB_BYTES:
        return [
            f"its .tab part is {size:,} bytes; a native table's .tab is a few hundred bytes "
            f"of text (at most {_MAX_TAB_BYTES:,} accepted)"
        ]
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if body[:6].lower() != b"!table":
        return [f"its .tab part does not start with '!table' (it looks like {_looks_like(head)})"]
    if b"\x00" in head:
        return ["its .tab part holds binary data; a .tab is text"]
    text = body.decode("latin-1")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if any(re.match(r'"\\[^"]*seamless', line, re.IGNORECASE) for line in lines):
        return [
            "its .tab part describes a seamless table, which reads other tables from wherever "
            "they are; save the layer as one plain table (File > Save Copy As in MapInfo Pro)"
        ]
    # "Type NATIVE ..." says what kind of table it is (a field line, such as "TypeCode
    # Char (9) ;", ends with a semicolon)
    kinds = [
        [*line.split(), "?"][1].upper()
        for line in lines
        if re.match(r"type\s", line, re.IGNORECASE) and not line.endswith(";")
    ]
    if any(k != "NATIVE" for k in kinds):
        return [
            f"its .tab part describes a {kinds[0].lower()} table, not a plain native one; "
            "save the layer as a native MapInfo table (File > Save Copy As in MapInfo Pro)"
        ]
    if "definition table" not in (line.lower() for line in lines) or not kinds:
        return [
            "its .tab part is not a native table's definition (it may be a view or a "
            "workspace naming other files); save the layer as a native MapInfo table"
        ]
    for i, line in enumerate(lines, start=1):
        if not any(p.fullmatch(line) for p in _TAB_LINES):
            return [
                f"its .tab part holds a line a plain native table does not (line {i} of its "
                "text, which may name other files); save the layer as a native MapInfo table"
            ]
    return []


def _mapinfo_problems(stem: str, parts: dict[str, tuple[bytes, int]]) -> list[str]:
    """What is wrong with a MapInfo table's parts, from their first bytes and sizes."""
    problems = []
    missing = [s for s in _MAPINFO_REQUIRED if s not in parts]
    if missing:
        problems.append(
            f"{stem}.tab lacks its {', '.join(missing)} part(s); a MapInfo table needs its "
            ".tab, .dat, .map and .id files together (zip them into one file)"
        )
    if ".tab" in parts:
        problems += _tab_problems(stem, *parts[".tab"])
    if ".map" in parts:
        head, size = parts[".map"]
        if size < 512 or head[256:260] != _MAP_MAGIC:
            problems.append(
                f"its .map part is not a MapInfo geometry file (it looks like {_looks_like(head)})"
            )
    if ".dat" in parts:
        head, _ = parts[".dat"]
        if not head or head[0] != 0x03:
            problems.append(
                f"its .dat part is not a MapInfo attribute table (it looks like "
                f"{_looks_like(head)})"
            )
    if ".id" in parts and parts[".id"][1] % 4:
        problems.append("its .id part is not a MapInfo index of features (its size is not whole)")
    if ".ind" in parts:
        head, _ = parts[".ind"]
        if head[:4] != _IND_MAGIC:
            problems.append(
                f"its .ind part is not a MapInfo index (it looks like {_looks_like(head)})"
            )
    return problems


def _mapinfo(path: Path) -> BoundarySource:
    parts: dict[str, tuple[bytes, int]] = {}
    for sibling in path.parent.iterdir():
        suffix = sibling.suffix.lower()
        if sibling.stem.lower() == path.stem.lower() and suffix in MAPINFO_PARTS:
            with contextlib.suppress(OSError):
                n = _MAX_TAB_BYTES + 1 if suffix == ".tab" else 4096
                parts[suffix] = (_read_head(sibling, n), sibling.stat().st_size)
    problems = _mapinfo_problems(path.stem, parts)
    if problems:
        raise InputFileError(
            f"{path.name}: not a plain MapInfo table; it was not opened", problems=problems
        )
    return BoundarySource("MapInfo File", str(path), "a MapInfo table")


def check_zipped_mapinfo(path: Path, tab_member: str) -> None:
    """Check a zipped MapInfo table's members before GDAL opens them.

    Raises
    ------
    InputFileError
        When a part is missing, or its first bytes are not those of its part of a
        plain native MapInfo table.
    """
    stem = tab_member[: -len(".tab")].lower()
    parts: dict[str, tuple[bytes, int]] = {}
    problems: list[str] = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename.lower()
            for suffix in MAPINFO_PARTS:
                if name == stem + suffix:
                    if suffix in parts:  # which one GDAL would open is not known
                        problems.append(f"its {suffix} part appears more than once")
                    with zf.open(info) as fh:
                        n = _MAX_TAB_BYTES + 1 if suffix == ".tab" else 4096
                        parts[suffix] = (fh.read(n), info.file_size)
    problems += _mapinfo_problems(Path(tab_member).stem, parts)
    if problems:
        raise InputFileError(
            f"{path.name}: {tab_member} is not a plain MapInfo table; it was not opened",
            problems=problems,
        )


def check_boundary_file(path: Path) -> BoundarySource:
    """Check a boundary file's content against its name; say how to open it safely.

    Parameters
    ----------
    path
        A local .geojson, .json, .topojson, .gpkg, .shp or .tab file (a shapefile's
        .shx and .dbf, and a MapInfo table's .dat, .map, .id and .ind beside it, are
        checked too).

    Returns
    -------
    BoundarySource
        The one driver to open it with and the path to give GDAL (with the driver's
        prefix where GDAL has one).

    Raises
    ------
    InputFileError
        When the content is not the format the name says; the message says what the
        file seems to be, never what it holds.
    """
    harden_gdal()
    suffix = path.suffix.lower()
    head = _read_head(path)
    if suffix in (".geojson", ".json", ".topojson"):
        return _json_kind(path, head, suffix=suffix)
    if suffix == ".gpkg":
        return _gpkg(path, head)
    if suffix == ".shp":
        return _shapefile(path)
    if suffix == ".tab":
        return _mapinfo(path)
    raise InputFileError(
        f"{path.name}: unsupported boundary file type {path.suffix or '(none)'!r}; export the "
        "boundaries as GeoJSON, GeoPackage, TopoJSON, a zipped shapefile or a zipped MapInfo "
        "table"
    )


def gdal_detail(exc: BaseException) -> str:
    """GDAL's own words about a file it could not read: one line, short, no control characters."""
    text = str(exc).splitlines()[0] if str(exc) else "no detail"
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text[:200] + ("…" if len(text) > 200 else "")
