"""Footprint colours: one palette and one way of choosing, for the app's map and every export.

A footprint prefers a colour derived from its name, so its colour stays put while a
plan is edited and is the same on the map, in the report and in KML; it takes the
next free colour only when a footprint it touches already has that one.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import shapely

__all__ = ["FOOTPRINT_PALETTE", "colour_apart", "plan_colours", "stable_index", "unit_neighbours"]

# Per-geography pairs of touching units; weak keys, so they go when the geography does.
_NEIGHBOURS: weakref.WeakKeyDictionary[Any, list[tuple[str, str]]] = weakref.WeakKeyDictionary()

#: Qualitative colours for footprints (no grey: grey means unassigned; no red: red means
#: below the floor). Neighbouring footprints get different colours, so no two are near
#: twins: Tableau 10 without its red and grey, and four lighter hues that differ from all
#: of them (a light teal and a light yellow that looked like #76b7b2 and #edc948 on a
#: printed map are replaced by light blue and olive).
FOOTPRINT_PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2",
    "#ff9da7", "#9c755f", "#8cd17d", "#a0cbe8", "#d4a6c8", "#b5b35c",
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


def unit_neighbours(geography: Any) -> list[tuple[str, str]]:
    """Pairs of units whose display polygons touch (each pair once, cached per geography).

    The display layer is the one the map draws (simplified without gaps or overlaps),
    so "touching" means the same for the map and every export.
    """
    try:
        return _NEIGHBOURS[geography]
    except KeyError:
        pass
    except TypeError:  # not weak-referenceable: worked out every time
        return _touching_pairs(geography)
    pairs = _touching_pairs(geography)
    _NEIGHBOURS[geography] = pairs
    return pairs


def _touching_pairs(geography: Any) -> list[tuple[str, str]]:
    disp = geography.display_units
    geoms = disp.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    codes = disp["code"].astype(str).to_numpy()
    keep = left < right
    return list(zip(codes[left[keep]], codes[right[keep]], strict=True))


def plan_colours(geography: Any, assignment: Mapping[str, str]) -> dict[str, str]:
    """A colour per footprint of a plan, the one the map and every export give it.

    Footprints touch when any of their units touch (:func:`unit_neighbours`); the
    choice is :func:`colour_apart`'s. Blank footprint names (unassigned units) get
    no colour.
    """
    labels = sorted({str(v) for v in assignment.values() if v})
    if not labels:
        return {}
    touching: dict[str, set[str]] = {lab: set() for lab in labels}
    for a, b in unit_neighbours(geography):
        fa, fb = assignment.get(a), assignment.get(b)
        if fa and fb and fa != fb:
            touching[str(fa)].add(str(fb))
            touching[str(fb)].add(str(fa))
    return colour_apart(labels, touching)
