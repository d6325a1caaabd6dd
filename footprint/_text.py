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

__all__ = ["clean_name", "decode_text", "plain", "safe_cell", "unsafe_cell"]

# Characters a spreadsheet reads as the start of a formula (OWASP "CSV injection"):
# =, +, -, @, and a leading tab or carriage return.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Markdown (and Streamlit's LaTeX between dollar signs) that would change what a name shows
# or make the browser fetch something: emphasis, links, images, code, headings, lists, HTML.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def clean_name(value: object) -> str:
    """A name stripped of control and format characters, on one line, without outer spaces.

    Control characters (NUL, line breaks, tabs, escapes) would truncate a name in a
    GeoPackage or shapefile, break a KML file or split a CSV row; invisible format
    characters (bidirectional overrides, zero-width spaces) would make two names look
    alike. Line breaks and tabs become single spaces; everything else of that kind is
    dropped. ``None`` becomes ``""``.
    """
    if value is None:
        return ""
    text = str(value)
    out: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r\x0b\x0c\x85\u2028\u2029":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn") and ch != "\u200d":
            continue
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def plain(text: object) -> str:
    """``text`` escaped for Streamlit Markdown, so it shows exactly as typed.

    A name such as ``![t](http://elsewhere/p.png)`` or ``$5m to $6m`` is shown as
    those characters, never as an image, a link or mathematics.
    """
    return _MARKDOWN.sub(r"\\\1", clean_name(text))


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: a leading ``'`` before a formula character.

    ``None`` becomes ``""``; other values are written as text.
    """
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def unsafe_cell(text: str) -> str:
    """Undo :func:`safe_cell` on a cell read back from one of the app's own CSV files."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(_FORMULA_START):
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
