"""Read units named as planners write them: an ONS code, an NHS code or a name.

The app's rule boxes (keep together, keep apart, fixed units, borders switched
off) and the command line's matching flags take the same text, so both read it
here. Items are separated by commas or semicolons; names may hold commas of
their own ('NHS North, East, West Devon'), so the longest run of items that is
one name wins; a run of codes separated only by spaces is read too, since codes
never contain spaces. Matching ignores case, spacing around commas, and a
typewriter apostrophe typed for a curly one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

__all__ = ["RuleKind", "read_rule", "read_rules", "read_units", "unit_lookup"]

RuleKind = Literal["pair", "group", "fixed"]


def _key(text: str) -> str:
    return ", ".join(" ".join(p.split()) for p in text.replace("’", "'").split(",")).casefold()


class _Lookup(dict[str, str]):
    """A lookup that knows the most comma-separated items any one of its keys spans."""

    most_items: int = 1


def _most_items(lookup: Mapping[str, str]) -> int:
    """The most items one name of ``lookup`` spans (names may hold commas of their own)."""
    known = getattr(lookup, "most_items", None)
    if isinstance(known, int):
        return known
    return max((k.count(",") + 1 for k in lookup), default=1)


def unit_lookup(
    codes: Iterable[str],
    *,
    names: Iterable[str | None] | None = None,
    nhs_codes: Iterable[str | None] | None = None,
) -> dict[str, str]:
    """What a planner may type for each unit -> the unit's code.

    Parameters
    ----------
    codes
        The units' codes (ONS codes for CCGs); each is matched as itself.
    names, nhs_codes
        Aligned with ``codes``; blanks are skipped. A code wins over a name or
        NHS code that happens to be spelt the same.

    Returns
    -------
    A mapping for :func:`read_units` and :func:`read_rule`.
    """
    codes = [str(c) for c in codes]
    out = _Lookup()
    for other in (nhs_codes, names):
        if other is None:
            continue
        other = list(other)
        if len(other) != len(codes):
            raise ValueError(f"got {len(other)} names or NHS codes for {len(codes)} codes")
        for code, text in zip(codes, other, strict=True):
            if text is not None and str(text).strip():
                out[_key(str(text))] = code
    out.update({_key(c): c for c in codes})
    out.most_items = _most_items(dict(out))
    return out


def read_units(
    text: str, *, lookup: Mapping[str, str], unit: str = "unit"
) -> tuple[tuple[str, ...], str | None]:
    """The codes of the units a line of text names, in order.

    Returns
    -------
    codes, problem
        ``problem`` is ``None`` when every item named a unit; otherwise it names
        the first item that did not (and ``codes`` is empty).
    """
    items = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    codes: list[str] = []
    # no name spans more items than the longest in the lookup, so only that many are tried
    # from each item: trying every run to the end of the line cost the cube of its length
    # (a keep-together line of 1,600 codes took minutes)
    most = _most_items(lookup)
    i = 0
    while i < len(items):
        j = next(
            (
                j
                for j in range(min(len(items), i + most), i, -1)
                if _key(", ".join(items[i:j])) in lookup
            ),
            i,
        )
        if j > i:
            codes.append(lookup[_key(", ".join(items[i:j]))])
            i = j
            continue
        parts = items[i].split()
        if len(parts) > 1 and all(_key(p) in lookup for p in parts):
            codes.extend(lookup[_key(p)] for p in parts)
            i += 1
            continue
        return (), f"{items[i]!r} is not a {unit}'s code or name"
    return tuple(codes), None


def read_rule(
    text: str, *, kind: RuleKind, lookup: Mapping[str, str], unit: str = "unit"
) -> tuple[tuple[str, ...], str | None]:
    """One rule written as text: a pair, a group, or a unit and a footprint name.

    Parameters
    ----------
    text
        One line: units separated by commas; for ``"fixed"``, a unit and then,
        after the last comma, the footprint's name (kept as typed).
    kind
        ``"pair"``: exactly two units (keep apart, a border switched off);
        ``"group"``: two or more (keep together); ``"fixed"``: one unit and a name.
    lookup
        From :func:`unit_lookup`.
    unit
        The word for a unit in messages ("CCG").

    Returns
    -------
    rule, problem
        The codes (for ``"fixed"``: the code and the name), or an empty tuple and
        a sentence saying what was received and what was expected.
    """
    text = text.strip()
    name = ""
    if kind == "fixed":
        head, sep, name = text.replace(";", ",").rpartition(",")
        name = name.strip()
        if not sep or not head.strip() or not name:
            return (), (
                f"got {text!r}; expected a {unit} and a footprint name separated by a "
                "comma, e.g. 'E38000001, North'"
            )
        text = head
    codes, problem = read_units(text, lookup=lookup, unit=unit)
    if problem is not None:
        return (), problem
    if kind == "fixed":
        if len(codes) != 1:
            return (), (
                f"got {len(codes)} {unit}s before the footprint name {name!r}; "
                f"expected one {unit} per line"
            )
        return (codes[0], name), None
    if kind == "pair" and len(codes) != 2:
        return (), f"got {len(codes)} {unit}(s); expected exactly two, separated by a comma"
    if kind == "group" and len(set(codes)) < 2:
        return (), (f"got {len(set(codes))} {unit}; a group needs two or more, separated by commas")
    return codes, None


def read_rules(
    entries: Iterable[tuple[str, str]],
    *,
    kind: RuleKind,
    lookup: Mapping[str, str],
    unit: str = "unit",
) -> tuple[list[tuple[str, ...]], list[str]]:
    """Many rules of one kind, each with where it was written (a box's line, a flag).

    Returns
    -------
    rules, problems
        The rules that read, and one "where: what is wrong" for each that did not.
    """
    rules: list[tuple[str, ...]] = []
    problems: list[str] = []
    for where, text in entries:
        rule, problem = read_rule(text, kind=kind, lookup=lookup, unit=unit)
        if problem is None:
            rules.append(rule)
        else:
            problems.append(f"{where}: {problem}")
    return rules, problems
