"""Text that comes from planners' files and names, made safe to keep, show and write.

Every name a planner types or a file carries (scenario, footprint and unit
names) passes through :func:`clean_name` before it is kept, is shown through
:func:`plain` wherever a page renders Markdown, and is written through
:func:`safe_cell` into every CSV; :func:`unsafe_cell` undoes that on import so
the app's own exports round-trip.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "clean_name",
    "clean_text",
    "decode_text",
    "plain",
    "population_word",
    "safe_cell",
    "unsafe_cell",
]

# Characters a spreadsheet reads as the start of a formula (OWASP "CSV injection"):
# =, +, -, @, and a leading tab or carriage return.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A cell safe_cell has already neutralised: one or more quotes, then a formula character.
# A name that itself looks like that (``'=F``) gets one more quote, so reading back is exact.
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")
# Line breaks and tabs: become a space in a name.
_BREAKS = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# Markdown (and Streamlit's LaTeX between dollar signs) that would change what a name shows
# or make the browser fetch something: emphasis, links, images, code, headings, lists, HTML.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def _dropped(ch: str) -> bool:
    """Whether a character is one no name or note should hold.

    Control characters (C0, DEL, C1), invisible format characters other than the
    zero-width joiner that builds emoji, surrogates, private-use characters and the
    Unicode noncharacters (U+FFFE, U+FFFF, U+FDD0..U+FDEF...), which XML forbids or
    which a reader cannot see. Characters newer than Python's Unicode tables are kept.
    """
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cs", "Co"):
        return True
    if cat == "Cf":
        return ch != "\u200d"
    if cat == "Cn":
        code = ord(ch)
        return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE
    return False


def clean_name(value: object) -> str:
    """A name stripped of control and format characters, on one line, without outer spaces.

    Control characters (NUL, line breaks, tabs, escapes) would truncate a name in a
    GeoPackage or shapefile, break a KML file or split a CSV row; invisible format
    characters (bidirectional overrides, zero-width spaces) would make two names look
    alike. Line breaks and tabs become single spaces, runs of spaces one space;
    everything else of that kind is dropped. ``None`` and missing values (``NaN``,
    ``pd.NA``) become ``""``.
    """
    if value is None or (not isinstance(value, str) and _missing(value)):
        return ""
    out: list[str] = []
    for ch in str(value):
        if ch in _BREAKS:
            out.append(" ")
        elif not _dropped(ch):
            out.append(ch)
    return " ".join("".join(out).split())


def clean_text(value: object) -> str:
    """Longer text (notes, descriptions) cleaned like :func:`clean_name` but keeping its lines.

    Line breaks of any kind become ``\\n`` and tabs stay; other control and format
    characters are dropped, so the text is valid in XML, a GeoPackage or a shapefile.
    """
    if value is None or (not isinstance(value, str) and _missing(value)):
        return ""
    text = str(value).replace("\r\n", "\n")
    out: list[str] = []
    for ch in text:
        if ch == "\t":
            out.append(ch)
        elif ch in _BREAKS:
            out.append("\n")
        elif not _dropped(ch):
            out.append(ch)
    return "".join(out).strip()


def _missing(value: object) -> bool:
    """True for float NaN, ``pd.NA`` and ``NaT``: a missing value, not the text 'nan'."""
    try:
        return bool(value != value)  # NaN is the one value unequal to itself
    except TypeError:
        return True  # pd.NA: its comparison has no truth value
    except ValueError:
        return False  # an array: not one missing value


def population_word(population_label: object) -> str:
    """What the population counts, without its source, for a sentence.

    ``"registered patients (QOF 2013/14 list sizes)"`` -> ``"registered patients"``; a
    missing or empty label reads ``"population"``.
    """
    return str(population_label or "population").split(" (", 1)[0].strip()


def plain(text: object) -> str:
    """``text`` escaped for Streamlit Markdown, so it shows exactly as typed.

    A name such as ``![t](http://elsewhere/p.png)`` or ``$5m to $6m`` is shown as
    those characters, never as an image, a link or mathematics.
    """
    return _MARKDOWN.sub(r"\\\1", clean_name(text))


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: a leading ``'`` before a formula character.

    Cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a
    leading ``'`` (the OWASP rule against CSV injection), and so does a cell that
    already looks neutralised (``'=F``), so that :func:`unsafe_cell` gives back
    exactly what was written. ``None`` becomes ``""``; other values are written as
    text, so pass numbers to the CSV writer as numbers, not through here.
    """
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START) or _NEUTRALISED.match(text):
        return "'" + text
    return text


def unsafe_cell(text: str) -> str:
    """Undo :func:`safe_cell` on a cell read back from one of the app's own CSV files.

    Only the quote :func:`safe_cell` adds is removed: a cell such as ``'North`` that a
    planner typed keeps its quote.
    """
    if _NEUTRALISED.match(text):
        return text[1:]
    return text


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file's bytes as UTF-8 (a byte order mark allowed), else Windows-1252.

    Returns the text and the encoding used. Windows-1252 is what Excel on Windows and
    ONS names files use; five of its bytes are undefined, so a file that is neither
    raises :class:`UnicodeDecodeError`.
    """
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        return data.decode("cp1252"), "cp1252"
