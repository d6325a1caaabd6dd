"""Which units neighbour which: the contiguity graph every footprint must respect.

Generalised boundaries leave hairline gaps and slivers between neighbours, so
two units are neighbours when their boundaries run within ``tolerance_m`` of
each other for at least ``min_shared_m`` (corner touches do not count). Candidate
pairs come from a spatial index (STRtree), not from comparing every pair.

Islands (the Isle of Wight touches nothing) get explicit *bridges* to their
nearest units in the main component, listed on the result so that a planner
can see them, switch them off or supply their own.

Boundaries clipped to the coastline also stop at tidal rivers: Newcastle does
not touch Gateshead across the Tyne, nor the City of London Southwark across the
Thames. Units whose boundaries face each other across such a river, within
``river_m`` along at least ``river_min_m``, are joined by listed *river
crossings*; the long facing stretch is what tells a river from a bay, whose
shores meet only at a point.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from ._pairs import Pair, sorted_pair
from .errors import ConstraintsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Adjacency:
    """A contiguity graph over unit codes.

    Attributes
    ----------
    codes
        Every unit, in the geography's order.
    edges
        Neighbouring pairs found in the boundaries, each sorted, with the length
        of shared border in metres.
    bridges
        Extra pairs that join islands to the mainland (not shared borders).
    river_crossings
        Extra pairs that join units facing each other across a tidal river.
    """

    codes: tuple[str, ...]
    edges: tuple[Pair, ...]
    shared_m: tuple[float, ...]
    bridges: tuple[Pair, ...] = ()
    river_crossings: tuple[Pair, ...] = ()

    @property
    def pairs(self) -> tuple[Pair, ...]:
        """Every pair the optimiser may use: borders, river crossings and bridges."""
        seen = set(self.edges)
        extra = [p for p in self.river_crossings + self.bridges if p not in seen]
        return self.edges + tuple(dict.fromkeys(extra))

    def graph(self, *, without: Iterable[Pair] = ()) -> nx.Graph:
        """The graph as networkx, optionally with some pairs removed."""
        drop = {sorted_pair(*p) for p in without}
        g = nx.Graph()
        g.add_nodes_from(self.codes)
        for (a, b), length in zip(self.edges, self.shared_m, strict=True):
            if (a, b) not in drop:
                g.add_edge(a, b, shared_m=length, bridge=False)
        for a, b in self.river_crossings:
            if (a, b) not in drop:
                g.add_edge(a, b, shared_m=0.0, bridge=False, river=True)
        for a, b in self.bridges:
            if (a, b) not in drop:
                g.add_edge(a, b, shared_m=0.0, bridge=True)
        return g

    def components(self, *, without: Iterable[Pair] = ()) -> list[set[str]]:
        return sorted(nx.connected_components(self.graph(without=without)), key=len, reverse=True)

    def with_bridges(self, bridges: Iterable[Sequence[str]]) -> Adjacency:
        """A copy whose bridges are exactly ``bridges`` (the caller's edit)."""
        return replace(self, bridges=self._checked(bridges, "bridge"))

    def with_river_crossings(self, crossings: Iterable[Sequence[str]]) -> Adjacency:
        """A copy whose river crossings are exactly ``crossings`` (the caller's edit)."""
        return replace(self, river_crossings=self._checked(crossings, "river crossing"))

    def _checked(self, pairs: Iterable[Sequence[str]], what: str) -> tuple[Pair, ...]:
        known = set(self.codes)
        cleaned = []
        problems = []
        for b in pairs:
            if isinstance(b, str) or len(pair := tuple(b)) != 2:
                problems.append(f"{what} {b!r}: expected a pair of unit codes, e.g. ('A', 'B')")
                continue
            a, c = map(str, pair)
            for code in (a, c):
                if code not in known:
                    problems.append(f"{what} {a}-{c}: unknown unit code {code!r}")
            if a == c:
                problems.append(f"{what} {a}-{c} joins a unit to itself")
            cleaned.append(sorted_pair(str(a), str(c)))
        if problems:
            raise ConstraintsError(f"Cannot use these {what}s", problems=problems)
        return tuple(sorted(set(cleaned)))


def _shared_lengths(
    geoms: np.ndarray, left: np.ndarray, right: np.ndarray, tolerance_m: float
) -> np.ndarray:
    """Length of each left boundary lying within ``tolerance_m`` of the right unit."""
    near = shapely.intersection(
        shapely.boundary(geoms[left]), shapely.buffer(geoms[right], tolerance_m, quad_segs=2)
    )
    return shapely.length(near)


def build_adjacency(
    units: gpd.GeoDataFrame,
    *,
    tolerance_m: float = 50.0,
    min_shared_m: float = 100.0,
    river_m: float = 300.0,
    river_min_m: float = 1000.0,
    river_crossings: Iterable[Sequence[str]] | None = None,
    bridges: Iterable[Sequence[str]] | None = None,
    bridges_per_island: int = 2,
) -> Adjacency:
    """Build the contiguity graph of ``units`` (``code`` column, projected CRS in metres).

    Parameters
    ----------
    tolerance_m
        How far apart two boundaries may be and still count as shared: closes
        the hairline gaps of generalised boundaries.
    min_shared_m
        The shortest shared border that makes two units neighbours; shorter
        contacts (corners, slivers) are ignored.
    river_m
        How far apart two boundaries may be across a river and still be joined
        by a crossing: 300 m spans the Thames in London and the Tyne, not the
        Mersey, the Humber or a bay. 0 looks for none.
    river_min_m
        How long the two banks must face each other within ``river_m``.
    river_crossings
        River crossings to use instead of the automatic ones (pairs of codes).
    bridges
        Bridges to use instead of the automatic ones (pairs of codes). Pass an
        empty list for none: the graph may then be disconnected.
    bridges_per_island
        With automatic bridges, how many of its nearest mainland units each
        island is joined to.
    """
    if units.crs is None or not units.crs.is_projected:
        raise ConstraintsError(
            "build_adjacency needs units in a projected CRS in metres (e.g. EPSG:27700); "
            f"got {units.crs}. Reproject with .to_crs(27700) first"
        )
    codes = units["code"].astype(str).to_numpy()
    geoms = units.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    keep = left < right
    left, right = left[keep], right[keep]
    # a border counts from either side: take the longer of the two measurements
    length = np.maximum(
        _shared_lengths(geoms, left, right, tolerance_m),
        _shared_lengths(geoms, right, left, tolerance_m),
    )
    # the buffer also catches up to ``tolerance_m`` of boundary beyond each end of a border
    # (so a mere corner touch measured 2 * tolerance_m): take that overshoot off
    length = np.maximum(length - 2 * tolerance_m, 0.0)
    ok = length >= min_shared_m
    pairs = [sorted_pair(codes[a], codes[b]) for a, b in zip(left[ok], right[ok], strict=True)]
    order = np.argsort([f"{a}|{b}" for a, b in pairs], kind="stable")
    edges = tuple(pairs[i] for i in order)
    # the mask once, not once per edge: indexing ``length[ok]`` inside the loop made this
    # line quadratic in the edges (16 s of 20,000 units, most of 100,000 units' 331 s)
    kept = length[ok]
    shared = tuple(float(kept[i]) for i in order)
    adj = Adjacency(tuple(codes), edges, shared)
    if river_crossings is not None:
        adj = adj.with_river_crossings(river_crossings)
    elif river_m > tolerance_m:
        adj = adj.with_river_crossings(
            _crossings(geoms, codes, tree, set(edges), river_m, river_min_m)
        )
    if bridges is not None:
        return adj.with_bridges(bridges)
    return adj.with_bridges(_auto_bridges(adj, geoms, codes, bridges_per_island))


def _crossings(
    geoms: np.ndarray,
    codes: np.ndarray,
    tree: shapely.STRtree,
    borders: set[Pair],
    within_m: float,
    min_m: float,
) -> list[Pair]:
    """Pairs that are not neighbours but whose boundaries face each other across a river."""
    left, right = tree.query(geoms, predicate="dwithin", distance=within_m)
    keep = left < right
    left, right = left[keep], right[keep]
    fresh = np.array(
        [sorted_pair(codes[a], codes[b]) not in borders for a, b in zip(left, right, strict=True)],
        dtype=bool,
    )
    left, right = left[fresh], right[fresh]
    length = (
        np.maximum(
            _shared_lengths(geoms, left, right, within_m),
            _shared_lengths(geoms, right, left, within_m),
        )
        - 2 * within_m
    )
    out = [
        sorted_pair(str(codes[a]), str(codes[b]))
        for a, b, m in zip(left, right, length, strict=True)
        if m >= min_m
    ]
    if out:
        log.info("river crossings: %s", out)
    return out


def _auto_bridges(adj: Adjacency, geoms: np.ndarray, codes: np.ndarray, k: int) -> list[Pair]:
    """Join every component but the largest to its ``k`` nearest units of the largest."""
    comps = adj.components()
    if len(comps) <= 1:
        return []
    index = {c: i for i, c in enumerate(codes)}
    main = sorted(comps[0])
    main_idx = np.array([index[c] for c in main])
    out: list[Pair] = []
    for comp in comps[1:]:
        members = [index[c] for c in comp]
        island = shapely.union_all(geoms[members])
        dist = shapely.distance(island, geoms[main_idx])
        nearest = np.argsort(dist)[:k]
        for j in nearest:
            target = main[int(j)]
            # bridge from the island unit closest to that mainland unit
            reach = shapely.distance(geoms[members], geoms[main_idx[int(j)]])
            src = members[int(np.argmin(reach))]
            out.append(sorted_pair(str(codes[src]), target))
        log.info("bridged island %s to %s", sorted(comp), [main[int(j)] for j in nearest])
    return out
