"""The optimiser's input: plain data about the units to group, with no geometry objects.

A :class:`Problem` holds everything the optimiser, the validator and the summary
table need (codes, populations, adjacency pairs, LA blocks, centroids, areas and
perimeters). Geometry work happens once, in :meth:`Problem.from_dataset`; the
rest of the pipeline is pure Python over dictionaries and tuples, which keeps it
fast, easy to test on tiny hand-made instances and independent of GIS libraries.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import networkx as nx

from ._pairs import Pair, sorted_pair
from .errors import ConstraintsError, PlanError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .loader import Dataset

__all__ = ["NO_LA_LAYER", "Problem"]

#: Why ``whole-la`` is refused on a geography without local authorities.
NO_LA_LAYER = (
    "this geography has no local authority layer, so the rule 'keep each LA whole' cannot be "
    "checked; upload an LA layer beside the boundaries or switch the LA rule off"
)


def _frozen(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping))


def _whole_populations(populations: Mapping[str, int], problems: list[str]) -> dict[str, int]:
    """Each unit's population as an int; every one that is not a whole number >= 0 listed."""
    pops: dict[str, int] = {}
    for c, v in populations.items():
        try:
            iv = int(v)
        except (TypeError, ValueError):
            problems.append(f"unit {c}: population {v!r} is not a whole number")
            continue
        if iv < 0 or iv != v:
            problems.append(f"unit {c}: population {v!r} must be a whole number >= 0")
        pops[str(c)] = iv
    return pops


def _clean_pairs(
    raw: Iterable[Iterable[str]], what: str, known: set[str], problems: list[str]
) -> list[Pair]:
    """The pairs of known, different codes; every other entry listed in ``problems``."""
    out = []
    for e in raw:
        pair = tuple(str(v) for v in e)
        if len(pair) != 2:
            problems.append(f"{what} {e!r}: expected a pair of unit codes")
            continue
        a, b = pair
        bad = [v for v in (a, b) if v not in known]
        if bad:
            problems.append(f"{what} {a}-{b}: unknown unit code(s) {', '.join(bad)}")
            continue
        if a == b:
            problems.append(f"{what} {a}-{b} joins a unit to itself")
            continue
        out.append(sorted_pair(a, b))
    return out


@dataclass(frozen=True, eq=False)
class Problem:
    """Units to group into footprints, as plain data.

    Attributes
    ----------
    codes
        Unit codes (strings), in the geography's order.
    names
        Code -> display name.
    populations
        Code -> population (registered patients for the England data).
    edges
        Every adjacency pair the optimiser may use, including island bridges,
        each sorted and the tuple sorted.
    bridges
        The pairs among ``edges`` that are bridges (no shared border).
    shared_m
        Shared border length in metres per edge (0 for bridges); used for the
        Polsby-Popper compactness of footprints without any geometry.
    blocks
        Code -> LA block (home upper-tier LA); the ``whole-la`` rule keeps a
        block in one footprint.
    las
        Code -> LA codes the unit covers above the audit tolerance.
    x, y
        Centroid coordinates in metres (EPSG:27700 for England).
    areas, perimeters
        Square metres and metres per unit.
    data_digest
        Identifies the source data (for reproducing a run).
    population_label
        What the population counts ("registered patients").
    la_layer
        Whether the geography has local authorities. Without them there are no LA
        blocks, and :meth:`block_members` (what ``whole-la`` keeps whole) refuses
        rather than treat each unit as its own block.
    la_names
        LA code -> LA name, for every LA in ``blocks`` and ``las``
        ("E08000021" -> "Newcastle upon Tyne"); see :meth:`block_label`.
    unit_label, unit_label_plural
        What the units are called ("CCG", "CCGs"), for messages.
    """

    codes: tuple[str, ...]
    names: Mapping[str, str]
    populations: Mapping[str, int]
    edges: tuple[Pair, ...]
    bridges: tuple[Pair, ...]
    shared_m: Mapping[Pair, float]
    blocks: Mapping[str, str]
    las: Mapping[str, tuple[str, ...]]
    x: Mapping[str, float]
    y: Mapping[str, float]
    areas: Mapping[str, float]
    perimeters: Mapping[str, float]
    data_digest: str = ""
    population_label: str = "population"
    la_layer: bool = True
    la_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    unit_label: str = "unit"
    unit_label_plural: str = "units"
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        *,
        populations: Mapping[str, int],
        edges: Iterable[Iterable[str]],
        bridges: Iterable[Iterable[str]] = (),
        names: Mapping[str, str] | None = None,
        shared_m: Mapping[Pair, float] | None = None,
        blocks: Mapping[str, str] | None = None,
        las: Mapping[str, Iterable[str]] | None = None,
        x: Mapping[str, float] | None = None,
        y: Mapping[str, float] | None = None,
        areas: Mapping[str, float] | None = None,
        perimeters: Mapping[str, float] | None = None,
        data_digest: str = "",
        population_label: str = "population",
        la_layer: bool = True,
        la_names: Mapping[str, str] | None = None,
        unit_label: str = "unit",
        unit_label_plural: str | None = None,
    ) -> Problem:
        """Build and check a problem from plain mappings (tests, other geographies).

        Missing optional data gets neutral defaults: each unit its own block and
        name, no LAs, centroid (0, 0), unit area and perimeter, border length 1 m.
        ``la_layer=False`` says the units have no local authorities at all, so
        ``whole-la`` is refused instead of keeping each unit's own block whole.

        Raises
        ------
        PlanError
            Listing every unknown code, self-loop or negative population found.
        """
        codes = tuple(str(c) for c in populations)
        known = set(codes)
        problems: list[str] = []
        if len(known) != len(codes):
            problems.append("unit codes repeat; each unit must appear once")
        pops = _whole_populations(populations, problems)
        bridge_list = sorted(set(_clean_pairs(bridges, "bridge", known, problems)))
        edge_list = sorted(set(_clean_pairs(edges, "edge", known, problems)) | set(bridge_list))
        if problems:
            raise PlanError("Cannot build the problem", problems=problems)
        shared = dict.fromkeys(edge_list, 1.0)
        for b in bridge_list:
            shared[b] = 0.0
        if shared_m:
            for k, metres in shared_m.items():
                p = sorted_pair(*k)
                if p in shared:
                    shared[p] = float(metres)
        return cls(
            codes=codes,
            names=_frozen({c: (names or {}).get(c, c) for c in codes}),
            populations=_frozen(pops),
            edges=tuple(edge_list),
            bridges=tuple(bridge_list),
            shared_m=_frozen(shared),
            blocks=_frozen({c: str((blocks or {}).get(c, c)) for c in codes}),
            las=_frozen({c: tuple((las or {}).get(c, ())) for c in codes}),
            x=_frozen({c: float((x or {}).get(c, 0.0)) for c in codes}),
            y=_frozen({c: float((y or {}).get(c, 0.0)) for c in codes}),
            areas=_frozen({c: float((areas or {}).get(c, 1.0)) for c in codes}),
            perimeters=_frozen({c: float((perimeters or {}).get(c, 4.0)) for c in codes}),
            data_digest=data_digest,
            population_label=population_label,
            la_layer=bool(la_layer),
            la_names=_frozen({str(k): str(v) for k, v in (la_names or {}).items()}),
            unit_label=unit_label,
            unit_label_plural=unit_label_plural or f"{unit_label}s",
        )

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> Problem:
        """Turn a loaded :class:`~footprint.loader.Dataset` into plain data.

        This is the only place geometry is touched: centroids, areas and
        perimeters are measured here (EPSG:27700 metres), adjacency comes from
        ``dataset.adjacency`` (borders plus island bridges) and LA blocks from
        the audit (each unit its own block when the geography has no LAs).
        """
        geo = dataset.geography
        units = geo.units
        codes = [str(c) for c in units["code"]]
        cent = units.geometry.centroid
        adj = dataset.adjacency
        shared = {e: float(m) for e, m in zip(adj.edges, adj.shared_m, strict=True)}
        shared.update(dict.fromkeys(adj.river_crossings, 0.0))  # a river is no shared border
        blocks: dict[str, str] = {}
        las: dict[str, tuple[str, ...]] = {}
        la_names: dict[str, str] = {}
        if dataset.audit is not None:
            blocks = {str(k): str(v) for k, v in dataset.audit.blocks.items()}
            tol = dataset.audit.tolerance
            shares = dataset.audit.shares
            above = shares[shares["share"] > tol]
            for code, grp in above.groupby("unit_code", sort=False):
                las[str(code)] = tuple(str(v) for v in grp["la_code"])
            la_names = {
                str(c): str(n) for c, n in zip(shares["la_code"], shares["la_name"], strict=True)
            }
        return cls.build(
            populations={c: int(p) for c, p in zip(codes, units["population"], strict=True)},
            edges=adj.pairs,
            bridges=adj.bridges,
            names={c: str(n) for c, n in zip(codes, units["name"], strict=True)},
            shared_m=shared,
            blocks=blocks,
            las=las,
            x=dict(zip(codes, cent.x.astype(float), strict=True)),
            y=dict(zip(codes, cent.y.astype(float), strict=True)),
            areas=dict(zip(codes, units.geometry.area.astype(float), strict=True)),
            perimeters=dict(zip(codes, units.geometry.length.astype(float), strict=True)),
            data_digest=geo.source_digest,
            population_label=geo.population_label,
            la_layer=dataset.audit is not None,
            la_names=la_names,
            unit_label=getattr(geo, "unit_label", "unit"),
            unit_label_plural=getattr(geo, "unit_label_plural", None),
        )

    # --- derived views (cached; the problem itself never changes) ------------------------

    @property
    def total_population(self) -> int:
        return sum(self.populations.values())

    def graph(self, *, without: Iterable[Iterable[str]] = ()) -> nx.Graph:
        """The adjacency graph (a new object each call), optionally minus some pairs."""
        drop = {sorted_pair(*map(str, p)) for p in without}
        g = nx.Graph()
        g.add_nodes_from(self.codes)
        g.add_edges_from(e for e in self.edges if e not in drop)
        return g

    def neighbours(self) -> Mapping[str, frozenset[str]]:
        """Code -> its neighbours over every edge (bridges included)."""
        if "nbrs" not in self._cache:
            nb: dict[str, set[str]] = {c: set() for c in self.codes}
            for a, b in self.edges:
                nb[a].add(b)
                nb[b].add(a)
            self._cache["nbrs"] = MappingProxyType({c: frozenset(v) for c, v in nb.items()})
        return self._cache["nbrs"]

    def block_members(self) -> Mapping[str, tuple[str, ...]]:
        """LA block -> its units, in code order: what the ``whole-la`` rule keeps whole.

        Raises
        ------
        ConstraintsError
            When the problem has no LA layer (``la_layer`` is false): there are no LA
            blocks, and keeping each unit's own "block" whole would silently drop the
            rule while a plan still reports "optimal".
        """
        self.require_la_layer()
        if "blocks" not in self._cache:
            out: dict[str, list[str]] = {}
            for c in self.codes:
                out.setdefault(self.blocks[c], []).append(c)
            self._cache["blocks"] = MappingProxyType({k: tuple(sorted(v)) for k, v in out.items()})
        return self._cache["blocks"]

    def require_la_layer(self) -> None:
        """Refuse the ``whole-la`` rule on a problem without local authorities.

        Call it wherever ``whole-la`` is applied; :meth:`block_members` does.

        Raises
        ------
        ConstraintsError
            Saying why, and the two ways out (an LA layer, or the LA rule off).
        """
        if not self.la_layer:
            raise ConstraintsError("The LA rule cannot be applied", problems=[NO_LA_LAYER])

    def block_label(self, block: str) -> str:
        """An LA block as a planner reads it: the LA's name ("Newcastle upon Tyne").

        A unit outside every LA is its own block: its name is used. The code itself
        when nothing names it.
        """
        block = str(block)
        if (name := self.la_names.get(block)) is not None:
            return name
        return self.names.get(block, block)

    def polsby_popper(self, members: Iterable[str]) -> float:
        """Polsby-Popper compactness 4*pi*A/P^2 of a group of units (1 = a circle).

        The group's perimeter is the units' perimeters minus twice each internal
        shared border, so no geometry is needed.
        """
        ms = set(members)
        if not ms:
            return float("nan")
        area = sum(self.areas[c] for c in ms)
        perim = sum(self.perimeters[c] for c in ms)
        nb = self.neighbours()
        for a in ms:
            for b in nb[a]:
                if b in ms and a < b:
                    perim -= 2.0 * self.shared_m.get((a, b), 0.0)
        if perim <= 0:
            return float("nan")
        return min(1.0, 4.0 * math.pi * area / perim**2)

    def inertia(self, members: Iterable[str]) -> float:
        """Population-weighted moment of inertia (person-km^2) about the group's centre.

        The compactness measure the optimiser minimises and the benchmark reports:
        the sum over units of population x squared distance (km) to the
        population-weighted centroid of the group.
        """
        ms = list(members)
        w = sum(self.populations[c] for c in ms)
        if w <= 0:
            return 0.0
        cx = sum(self.populations[c] * self.x[c] for c in ms) / w
        cy = sum(self.populations[c] * self.y[c] for c in ms) / w
        return (
            sum(self.populations[c] * ((self.x[c] - cx) ** 2 + (self.y[c] - cy) ** 2) for c in ms)
            / 1e6
        )

    def digest(self) -> str:
        """A short hash of the plain data (identifies the problem in a reproduce record)."""
        if "digest" not in self._cache:
            payload = json.dumps(
                [
                    list(self.codes),
                    [self.populations[c] for c in self.codes],
                    [list(e) for e in self.edges],
                    [self.blocks[c] for c in self.codes],
                ],
                separators=(",", ":"),
            )
            self._cache["digest"] = hashlib.sha256(payload.encode()).hexdigest()[:16]
        return self._cache["digest"]
