"""The text helpers every name passes through: cleaning, Markdown escaping, CSV neutralising."""

from __future__ import annotations

import csv
import io
import random
import re
import unicodedata
from xml.etree import ElementTree as ET

import pandas as pd
import pytest

from footprint._text import (
    clean_name,
    clean_text,
    decode_text,
    plain,
    population_word,
    safe_cell,
    unsafe_cell,
)

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# characters that make trouble somewhere, and ordinary ones to put between them
ALPHABET = [
    *"=+-@'\"\t\r\n ,;|!$\\`*_{}[]()#.<>&~:%",
    *("\x00", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x1c", "\x7f", "\x85", "\x9b"),
    *("\u00a0", "\u00ad", "\u200b", "\u200d", "\u202e", "\u2028", "\u2066", "\ufeff", "\ufffe"),
    *("\ue000", "\U000e0041", "\U0001f600", "é", "ß", "Ω", "中", "a", "B", "7", "0"),
]


def _strings(n: int = 3000, *, seed: int = 20131) -> list[str]:
    rng = random.Random(seed)
    out = ["", " ", "'", "''", "=", "'=", "''=", "'''=x", "-", "--1", "@", "\t", "\r", "'\t"]
    out += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12))) for _ in range(n)]
    return out


STRINGS = _strings()


# --- clean_name ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("North\x00East", "NorthEast"),
        ("  North \t\r\n  East  ", "North East"),
        ("\x1b[31mRed\x1b[0m", "[31mRed[0m"),
        ("\u202eevil\u2066", "evil"),
        ("zero\u200bwidth\u00adhyphen", "zerowidthhyphen"),
        ("family \U0001f468\u200d\U0001f469", "family \U0001f468\u200d\U0001f469"),  # ZWJ kept
        ("line\u2028sep\u0085next", "line sep next"),
        ("\ufffe\uffff\ufdd0x", "x"),  # noncharacters that XML refuses
        ("\ue000private", "private"),
        ("Côte – Nord 中", "Côte – Nord 中"),
        (None, ""),
        (float("nan"), ""),
        (pd.NA, ""),
        (12, "12"),
    ],
)
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


def test_clean_name_properties():
    for s in STRINGS:
        c = clean_name(s)
        assert clean_name(c) == c, repr(s)  # cleaning twice changes nothing
        assert c == c.strip() and "  " not in c, repr(s)
        for ch in c:
            assert unicodedata.category(ch) not in ("Cc", "Cs", "Co"), repr(s)
            assert unicodedata.category(ch) != "Cf" or ch == "\u200d", repr(s)
        el = ET.Element("name")
        el.text = c
        assert ET.fromstring(ET.tostring(el)).text in (c, None)  # valid in XML
        c.encode("utf-8")  # and in any UTF-8 file


def test_clean_text_keeps_lines_and_tabs():
    assert clean_text("a\r\nb\rc\x0bd\u2028e") == "a\nb\nc\nd\ne"
    assert clean_text("col\tcol\x00\x1b") == "col\tcol"
    assert clean_text(None) == "" and clean_text(float("nan")) == ""
    for s in STRINGS:
        c = clean_text(s)
        assert clean_text(c) == c, repr(s)
        assert all(ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co") for ch in c)
        el = ET.Element("description")
        el.text = c
        ET.fromstring(ET.tostring(el))


# --- plain (Markdown) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("$5m to $6m", r"\$5m to \$6m"),
        ("![t](http://elsewhere/p.png)", r"\!\[t\]\(http\:\/\/elsewhere\/p\.png\)"),
        ("<img src=x onerror=alert(1)>", r"\<img src=x onerror=alert\(1\)\>"),
        ("**bold** _it_ `code`", r"\*\*bold\*\* \_it\_ \`code\`"),
        ("# 1. - + | ~ :smile: AT&amp;T", r"\# 1\. \- \+ \| \~ \:smile\: AT\&amp;T"),
    ],
)
def test_plain_escapes_markdown(raw, shown):
    assert plain(raw) == shown.replace(r"\/", "/")


def test_plain_unescapes_to_the_clean_name():
    for s in STRINGS:
        shown = plain(s)
        assert re.sub(r"\\(.)", r"\1", shown) == clean_name(s), repr(s)
        # every Markdown character is escaped: none follows anything but a backslash
        assert not re.search(r"(?<!\\)(?:\\\\)*[`*_\[\]$<>!]", shown.replace("\\\\", "")), repr(s)


# --- safe_cell / unsafe_cell ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cell"),
    [
        ("=A", "'=A"),
        ("+B", "'+B"),
        ("-C", "'-C"),
        ("@D", "'@D"),
        ("'E", "'E"),  # a quote that is not before a formula is left alone
        ("'=F", "''=F"),  # one that looks like ours gets another, so reading back is exact
        ("\tG", "'\tG"),
        ("\rH", "'\rH"),
        ('=HYPERLINK("http://x?"&A1,"Click")', '\'=HYPERLINK("http://x?"&A1,"Click")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("North", "North"),
        ("", ""),
        (None, ""),
    ],
)
def test_safe_cell(raw, cell):
    assert safe_cell(raw) == cell
    if raw is not None:
        assert unsafe_cell(cell) == raw


def test_a_planners_quote_is_not_taken_off():
    assert unsafe_cell("'North") == "'North"
    assert unsafe_cell("'") == "'" and unsafe_cell("") == ""
    assert unsafe_cell("'=A") == "=A" and unsafe_cell("''=A") == "'=A"


@pytest.mark.parametrize("terminator", ["\r\n", "\n"])
def test_safe_cells_round_trip_through_a_csv_file(terminator):
    # with "\n" line ends Python's writer leaves a lone "\r" unquoted, and a reader then
    # splits the row there: the app's writers use "\n" and rely on names being cleaned first
    texts = STRINGS if terminator == "\r\n" else [clean_name(s) for s in STRINGS]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=terminator)
    for s in texts:
        cell = safe_cell(s)
        assert not cell.startswith(FORMULA_START), repr(s)
        assert unsafe_cell(cell) == s, repr(s)
        writer.writerow(["code", cell])
    rows = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert [unsafe_cell(r[1]) for r in rows] == texts


# --- decode_text ---------------------------------------------------------------------------------


def test_decode_text():
    assert decode_text("Côte".encode()) == ("Côte", "utf-8-sig")
    assert decode_text("\ufeffCôte".encode()) == ("Côte", "utf-8-sig")
    assert decode_text("Côte – Nord".encode("cp1252")) == ("Côte – Nord", "cp1252")
    with pytest.raises(UnicodeDecodeError):
        decode_text(b"\x81\x8d\x8f\x90\x9d")


@pytest.mark.parametrize(
    ("label", "word"),
    [
        ("registered patients (QOF 2013/14 list sizes)", "registered patients"),
        ("residents", "residents"),
        ("", "population"),
        (None, "population"),
    ],
)
def test_population_word_is_the_label_without_its_source(label, word):
    assert population_word(label) == word
