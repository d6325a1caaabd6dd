"""Footprint colours: one palette and one way of choosing, for the app's map and every export.

A footprint prefers a colour derived from its name, so its colour stays put while a
plan is edited and is the same on the map, in the report and in KML; it takes the
next free colour only when a footprint it touches already has that one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["FOOTPRINT_PALETTE", "colour_apart", "stable_index"]

#: Qualitative colours for footprints (no grey: grey means unassigned; no red: red means
#: below the floor). Neighbouring footprints get different colours.
FOOTPRINT_PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2",
    "#ff9da7", "#9c755f", "#8cd17d", "#86bcb6", "#d4a6c8", "#f1ce63",
)  # fmt: skip


def stable_index(label: str) -> int:
    """The palette position a footprint name prefers.

    A stable hash (not Python's per-process randomised one), so a footprint keeps its
    colour between runs.
    """
    return sum((i + 1) * ord(ch) for i, ch in enumerate(label)) % len(FOOTPRINT_PALETTE)


def colour_apart(labels: Iterable[str], touching: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """A colour per footprint such that footprints that touch get different colours.

    ``labels`` are coloured in sorted order; ``touching`` maps a footprint to the
    footprints it touches (a footprint missing from it touches none). With more
    neighbours than colours a footprint keeps the last colour tried.
    """
    colours: dict[str, str] = {}
    n = len(FOOTPRINT_PALETTE)
    colour = FOOTPRINT_PALETTE[0]
    for lab in sorted(labels):
        taken = {colours[o] for o in touching.get(lab, ()) if o in colours}
        start = stable_index(lab)
        for step in range(n):
            colour = FOOTPRINT_PALETTE[(start + step) % n]
            if colour not in taken:
                break
        colours[lab] = colour
    return colours
