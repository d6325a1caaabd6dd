"""Firm and arbitrary groupings: which neighbouring units share a footprint in every good plan.

One optimal plan hides how many others are just as good. A planner negotiating with CCGs
needs to know where there is room to give: which CCGs belong together in every plan of
the best count, and which pairings another plan of that count would split.

:func:`sample_groupings` draws many valid plans with the optimal number of footprints and
counts, for every pair of neighbouring units, the share of plans that put them in one
footprint. The plans are drawn in two ways, and the result says how many came from each:

* **Recombination walk** (ReCom, DeFord, Duchin and Solomon 2021, as in
  :mod:`footprint._recombine`): from the optimiser's plan, each step merges two
  neighbouring footprints, draws a random spanning tree of the merged area and cuts one of
  its edges, chosen at random among those leaving two valid footprints. Every step keeps
  the count, the floor, the ceiling and every other rule; a plan is recorded every few
  steps when it is new.
* **Re-solves with a pair kept apart**: for neighbouring units that every plan so far puts
  together (and no rule does), the optimiser is asked for a plan of the same count that
  keeps them apart. A plan is a new sample and shows the pairing is not firm; a proof that
  none exists shows it *is* firm (``proven_firm``).

Every sampled plan is checked by :func:`footprint.validate.validate_plan` before it counts.

What it is not: the share is not the probability that a plan is right, nor a measure of
how good a grouping is. It says how often the plans drawn here agree; the walk's plans are
not drawn uniformly from all optimal plans, and a share of 100% from a walk is not a
proof (only ``proven_firm`` is).

The map layer (:func:`groupings_layer`) is geometry work and takes the geography; the
sampling is plain data.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._pairs import sorted_pair
from ._recombine import _sides, _tree
from .constraints import Constraints
from .errors import ConstraintsError, PlanError
from .feasibility import prepare
from .instance import Instance
from .optimiser import optimise
from .problem import Problem
from .result import OptimiseResult
from .validate import validate_plan

__all__ = [
    "BORDERS_PANE",
    "BORDER_COLOURS",
    "GROUPING_KINDS",
    "Groupings",
    "PairShare",
    "groupings_geojson",
    "groupings_layer",
    "sample_groupings",
]

log = logging.getLogger(__name__)

#: How a pair of neighbours is read: together in every plan drawn, in some, or in none.
GROUPING_KINDS = ("always", "sometimes", "never")
#: The map's colour for each kind (ColorBrewer: a dark firm border, orange room to give).
BORDER_COLOURS = {"always": "#1a9850", "sometimes": "#f46d43", "never": "#252525"}
#: Recombination steps between two recorded plans of the walk.
_STEPS_BETWEEN = 10
#: Recordings in a row without a new plan after which the walk stops (it has likely seen
#: every plan it can reach; on England a new plan comes at nearly every recording).
_STALE = 200
#: Tries to find a valid cut of one merged pair before another pair is drawn.
_CUT_TRIES = 3
#: Share of the time the walk may take before the re-solves start.
_WALK_SHARE = 0.5
#: Longest time limit of one re-solve.
_RESOLVE_SECONDS = 10.0

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PairShare:
    """Two neighbouring units and how often the sampled plans put them in one footprint.

    ``forced``: a rule keeps them together (a whole LA, keep-together, fixed names), so
    every valid plan does. ``proven_firm``: the optimiser proved that no plan of the count
    keeps them apart. ``proven_open``: a plan keeping them apart was found.
    """

    a: str
    b: str
    together: int
    plans: int
    forced: bool = False
    proven_firm: bool = False

    @property
    def share(self) -> float:
        return self.together / self.plans if self.plans else 0.0

    @property
    def kind(self) -> str:
        """``always``, ``sometimes`` or ``never`` together in the plans drawn."""
        if self.together == self.plans:
            return "always"
        return "never" if self.together == 0 else "sometimes"


@dataclass(frozen=True, kw_only=True)
class Groupings:
    """The sampled plans' agreement on every pair of neighbouring units.

    Attributes
    ----------
    constraints
        The rules every plan meets (``max-footprints``).
    footprints
        The number of footprints of every sampled plan.
    status, bound
        The optimiser's answer for that count: ``optimal`` when no plan has more,
        ``feasible`` with the bound otherwise (the plans are then of the best count found).
    plans
        Distinct valid plans drawn (the optimiser's own included).
    drawn
        How many of them each way of drawing gave (``optimiser``, ``recombination walk``,
        ``re-solve with a pair kept apart``).
    walk_steps
        Recombination steps taken in all.
    rejected
        Candidate plans the validator refused (none are expected; they are not counted).
    resolves
        Re-solves run, and how many proved a pairing firm.
    pairs
        One :class:`PairShare` per pair of neighbouring units.
    plan
        The optimiser's plan (unit code -> footprint name), for the map.
    sampled
        Every plan drawn, the optimiser's first.
    seconds
        Wall time.
    reasons
        Why there is nothing to sample (no plan meets the rules), in words.
    """

    constraints: Constraints
    footprints: int | None
    status: str
    bound: int | None
    plans: int
    drawn: Mapping[str, int]
    walk_steps: int
    rejected: int
    resolves: int
    proven_firm: int
    pairs: tuple[PairShare, ...]
    plan: Mapping[str, str] = field(default_factory=dict, repr=False)
    sampled: tuple[Mapping[str, str], ...] = field(default=(), repr=False)
    seconds: float = 0.0
    reasons: tuple[str, ...] = ()

    def kinds(self) -> dict[str, int]:
        """How many neighbouring pairs are always, sometimes and never together."""
        out = dict.fromkeys(GROUPING_KINDS, 0)
        for p in self.pairs:
            out[p.kind] += 1
        return out

    def open_units(self) -> dict[str, tuple[str, ...]]:
        """Units whose footprint is open to negotiation -> the neighbours they sometimes join.

        A unit is open when at least one neighbour shares its footprint in some of the
        plans drawn and not in others.
        """
        out: dict[str, set[str]] = {}
        for p in self.pairs:
            if p.kind == "sometimes":
                out.setdefault(p.a, set()).add(p.b)
                out.setdefault(p.b, set()).add(p.a)
        return {u: tuple(sorted(v)) for u, v in sorted(out.items())}

    def how_drawn(self) -> str:
        """One sentence: how many plans, how they were drawn, and what the shares are not."""
        parts = [f"{n:,} {how}" for how, n in self.drawn.items() if n]
        firm = (
            f"; {self.resolves:,} re-solves asked for a plan keeping an always-together pair "
            f"apart, and {self.proven_firm:,} proved the pair firm"
            if self.resolves
            else ""
        )
        return (
            f"{self.plans:,} distinct valid plans of {self.footprints} footprints "
            f"({', '.join(parts)}; {self.walk_steps:,} recombination steps){firm}. Every plan "
            "passed the validator. A share is how often these plans agree, not the "
            "probability that a plan is right."
        )

    def rows(self) -> list[dict[str, Any]]:
        """One row per neighbouring pair (CSV and JSON)."""
        return [
            {
                "unit_a": p.a,
                "unit_b": p.b,
                "together": p.together,
                "plans": p.plans,
                "share": round(p.share, 4),
                "kind": p.kind,
                "kept_together_by_a_rule": p.forced,
                "proven_firm": p.proven_firm,
            }
            for p in self.pairs
        ]


# --- the walk ----------------------------------------------------------------------------------


@dataclass
class _Walk:
    """A plan on the instance's nodes, changed in place by recombination steps."""

    inst: Instance
    nbrs: Mapping[str, tuple[str, ...]]
    plan: dict[str, int]
    groups: dict[int, set[str]] = field(default_factory=dict)
    steps: int = 0

    def __post_init__(self) -> None:
        self.groups = {}
        for n, k in self.plan.items():
            self.groups.setdefault(k, set()).add(n)

    def neighbouring(self) -> list[tuple[int, int]]:
        return sorted(
            {
                (min(self.plan[a], self.plan[b]), max(self.plan[a], self.plan[b]))
                for a, b in self.inst.node_edges
                if self.plan[a] != self.plan[b]
            }
        )

    def step(self, rng: random.Random) -> bool:
        """One ReCom move: two neighbours merged and cut on a random spanning tree."""
        pairs = self.neighbouring()
        if not pairs:
            return False
        a, b = rng.choice(pairs)
        merged = self.groups[a] | self.groups[b]
        total = sum(self.inst.pop[n] for n in merged)
        floor, cap = self.inst.floor, self.inst.cap
        for _ in range(_CUT_TRIES):
            cuts = [
                part
                for p, part in _sides(_tree(self.nbrs, merged, rng), self.inst.pop)
                if min(p, total - p) >= floor and (cap is None or max(p, total - p) <= cap)
            ]
            rng.shuffle(cuts)
            for part in cuts:
                if self.inst.footprint_ok(part) and self.inst.footprint_ok(merged - part):
                    self.groups[a], self.groups[b] = set(part), merged - part
                    self.plan.update(dict.fromkeys(part, a))
                    self.plan.update(dict.fromkeys(merged - part, b))
                    self.steps += 1
                    return True
        return False


def _node_plan(inst: Instance, assignment: Mapping[str, str]) -> dict[str, int] | None:
    """The plan on the instance's nodes (None if a node's units are split, or one is missing)."""
    index: dict[str, int] = {}
    out: dict[str, int] = {}
    for n in inst.nodes:
        names = {assignment.get(u) for u in inst.members[n]}
        if len(names) != 1 or None in names:
            return None
        name = str(names.pop())
        out[n] = index.setdefault(name, len(index))
    return out


def _unit_plan(inst: Instance, plan: Mapping[str, int]) -> dict[str, str]:
    return {u: f"F{k + 1}" for n, k in plan.items() for u in inst.members[n]}


def _signature(assignment: Mapping[str, str]) -> frozenset[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for u, name in assignment.items():
        groups.setdefault(name, set()).add(u)
    return frozenset(frozenset(g) for g in groups.values())


@dataclass
class _Sample:
    """The plans drawn so far (by signature) and how each came."""

    problem: Problem
    constraints: Constraints
    plans: dict[frozenset[frozenset[str]], dict[str, str]] = field(default_factory=dict)
    drawn: dict[str, int] = field(default_factory=dict)
    rejected: int = 0

    def add(self, assignment: Mapping[str, str], how: str) -> bool:
        """Keep a new plan if the validator passes it; True when kept."""
        sig = _signature(assignment)
        if sig in self.plans:
            return False
        broken = validate_plan(self.problem, assignment, self.constraints)
        if broken:
            self.rejected += 1
            log.warning("a %s plan broke %s; not counted", how, broken[0].rule)
            return False
        self.plans[sig] = dict(assignment)
        self.drawn[how] = self.drawn.get(how, 0) + 1
        return True

    def together(self, a: str, b: str) -> int:
        return sum(p[a] == p[b] for p in self.plans.values())


# --- sampling ----------------------------------------------------------------------------------


def _check_request(c: Constraints, plans: int, seconds: float) -> None:
    problems: list[str] = []
    if c.objective != "max-footprints":
        problems.append(
            f"objective: got {c.objective!r}; plans near the optimum are plans of the largest "
            "count here, so the objective must be 'max-footprints'"
        )
    if c.locked:
        problems.append(
            f"locked: got {', '.join(map(repr, c.locked))}; drop the locks (the plans are "
            "drawn without a current plan)"
        )
    if isinstance(plans, bool) or not isinstance(plans, int) or not 2 <= plans <= 100_000:
        problems.append(f"plans: got {plans!r}; expected a whole number from 2 to 100,000")
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 < seconds <= 86400
    ):
        problems.append(f"seconds: got {seconds!r}; expected seconds above 0 and at most 86400")
    if problems:
        raise ConstraintsError("Cannot sample plans", problems=problems)


def _empty(c: Constraints, result: OptimiseResult, t0: float) -> Groupings:
    return Groupings(
        constraints=c,
        footprints=None,
        status=result.status,
        bound=None if result.bound is None else int(result.bound),
        plans=0,
        drawn={},
        walk_steps=0,
        rejected=0,
        resolves=0,
        proven_firm=0,
        pairs=(),
        seconds=time.perf_counter() - t0,
        reasons=tuple(result.reasons) or (f"the optimiser found no plan ({result.status})",),
    )


def _walk(
    sample: _Sample, inst: Instance, start: Mapping[str, int], *, want: int, until: float, seed: int
) -> int:
    """Record plans of a recombination walk until ``want`` are held or the time is up."""
    rng = random.Random(seed)
    nbrs = {n: tuple(sorted(m)) for n, m in inst.node_nbrs().items()}
    walk = _Walk(inst, nbrs, dict(start))
    stale = 0  # recordings in a row without a new plan: a small map may have no more
    while len(sample.plans) < want and time.perf_counter() < until and stale < _STALE:
        moved = sum(walk.step(rng) for _ in range(_STEPS_BETWEEN))
        new = bool(moved) and sample.add(_unit_plan(inst, walk.plan), "recombination walk")
        stale = 0 if new else stale + 1
    return walk.steps


def _resolve(
    sample: _Sample,
    inst: Instance,
    pair: tuple[str, str],
    *,
    count: int,
    seconds: float,
) -> bool | None:
    """Ask for a plan of ``count`` footprints keeping ``pair`` apart.

    True: none exists (the pairing is firm); False: one was found (and sampled); None:
    neither in the time.
    """
    c = dataclasses.replace(
        sample.constraints,
        keep_apart=(*sample.constraints.keep_apart, pair),
        n_footprints=count,
        time_limit=seconds,
    )
    result = optimise(sample.problem, c)
    if result.status == "infeasible":
        return True
    if result.ok and result.footprints == count:
        sample.add(dict(result.assignment), "re-solve with a pair kept apart")
        return False
    return None


def sample_groupings(
    problem: Problem,
    constraints: Constraints | None = None,
    *,
    plans: int = 200,
    seconds: float = 120.0,
    resolves: int = 8,
    seed: int = 0,
    start: OptimiseResult | None = None,
    progress: Progress | None = None,
) -> Groupings:
    """Sample valid plans of the optimal count and share out every neighbouring pair.

    Parameters
    ----------
    problem
        The units, populations and adjacency.
    constraints
        ``max-footprints`` rules (default: 300,000 and whole LAs); its ``time_limit`` is
        the optimiser's first run.
    plans
        Distinct plans to draw by the walk (the re-solves may add a few).
    seconds
        The time for all of it (the first optimiser run included).
    resolves
        At most this many re-solves with an always-together pair kept apart.
    seed
        Seed of the walk and of the choice of pairs: the same seed and time give the
        same plans when the time is not what stops the walk.
    start
        An optimiser result to start from (the first run is then skipped).
    progress
        Called with one plain sentence at each step.

    Returns
    -------
    Groupings
        With no plan to start from, ``plans`` is 0 and ``reasons`` says why.

    Raises
    ------
    ConstraintsError
        When the objective is not ``max-footprints``, footprints are locked, or the
        number of plans or the time is out of range.
    """
    c = constraints or Constraints()
    _check_request(c, plans, seconds)
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    until = t0 + seconds
    if start is None:
        say("Finding the largest number of footprints…")
        first = dataclasses.replace(c, time_limit=min(c.time_limit, 0.3 * seconds))
        start = optimise(problem, first)
    if not start.ok or not start.assignment:
        return _empty(c, start, t0)
    count = int(start.footprints or 0)
    fixed = dataclasses.replace(c, n_footprints=count)
    inst, _checks = prepare(problem, fixed)
    node_start = _node_plan(inst, start.assignment) if inst is not None else None
    sample = _Sample(problem, fixed)
    sample.add(dict(start.assignment), "optimiser")
    steps = 0
    if inst is not None and node_start is not None:
        say(f"Walking among plans of {count} footprints by recombination…")
        walk_until = t0 + _WALK_SHARE * seconds if resolves else until
        steps = _walk(sample, inst, node_start, want=plans, until=walk_until, seed=seed)
    firm, tried = _resolve_pairs(
        sample, inst, count=count, until=until, most=resolves, seed=seed, say=say
    )
    return _result(sample, inst, start, count=count, steps=steps, firm=firm, tried=tried, t0=t0)


def _resolve_pairs(
    sample: _Sample,
    inst: Instance | None,
    *,
    count: int,
    until: float,
    most: int,
    seed: int,
    say: Progress,
) -> tuple[set[tuple[str, str]], int]:
    """Re-solve with always-together pairs (not kept together by a rule) kept apart."""
    if inst is None or most <= 0:
        return set(), 0
    rng = random.Random(seed + 1)
    candidates = [
        e
        for e in sample.problem.edges
        if inst.node_of[e[0]] != inst.node_of[e[1]] and sample.together(*e) == len(sample.plans)
    ]
    rng.shuffle(candidates)
    firm: set[tuple[str, str]] = set()
    tried = 0
    for pair in candidates:
        left = until - time.perf_counter()
        if tried >= most or left < 3.0:
            break
        if sample.together(*pair) < len(sample.plans):
            continue  # an earlier re-solve split it already
        tried += 1
        say(f"Re-solving with {pair[0]} and {pair[1]} kept apart ({tried} of at most {most})…")
        answer = _resolve(sample, inst, pair, count=count, seconds=min(_RESOLVE_SECONDS, left - 1))
        if answer:
            firm.add(sorted_pair(*pair))
    return firm, tried


def _result(
    sample: _Sample,
    inst: Instance | None,
    start: OptimiseResult,
    *,
    count: int,
    steps: int,
    firm: set[tuple[str, str]],
    tried: int,
    t0: float,
) -> Groupings:
    n = len(sample.plans)
    pairs = tuple(
        PairShare(
            a,
            b,
            together=sample.together(a, b),
            plans=n,
            forced=inst is not None and inst.node_of[a] == inst.node_of[b],
            proven_firm=sorted_pair(a, b) in firm,
        )
        for a, b in sample.problem.edges
    )
    return Groupings(
        constraints=sample.constraints,
        footprints=count,
        status=start.status,
        bound=None if start.bound is None else int(start.bound + 1e-6),
        plans=n,
        drawn={
            how: sample.drawn.get(how, 0)
            for how in ("optimiser", "recombination walk", "re-solve with a pair kept apart")
        },
        walk_steps=steps,
        rejected=sample.rejected,
        resolves=tried,
        proven_firm=len(firm),
        pairs=pairs,
        plan=dict(start.assignment),
        sampled=tuple(sample.plans.values()),
        seconds=time.perf_counter() - t0,
    )


# --- the map layer (geometry: an adapter over the geography) -----------------------------------


def groupings_geojson(geography: Any, groupings: Groupings) -> dict[str, Any]:
    """Each pair's shared border as a GeoJSON line (WGS84) with its kind, share and words.

    Pairs joined without a shared border (island bridges, river crossings) are drawn as a
    straight line between the two units' inside points.

    Every geometry is a ``LineString`` or ``MultiLineString``. Two boundaries often meet in
    lines and stray points as well (a corner touched beside the shared edge), which shapely
    gives as a ``GeometryCollection``; the points are dropped, because a collection has no
    ``coordinates`` and a map that measures its features' extent (folium's ``get_bounds``,
    which ``st_folium`` calls) fails on one.
    """
    import shapely

    units = geography.units.set_index("code")
    names = geography.units.set_index("code")["name"].astype(str).to_dict()
    features: list[dict[str, Any]] = []
    geoms = []
    props = []
    for p in groupings.pairs:
        if p.a not in units.index or p.b not in units.index:
            continue
        ga, gb = units.geometry[p.a], units.geometry[p.b]
        line = _lines_of(shapely.intersection(ga.boundary, gb.boundary))
        if line is None or line.length < 1.0:
            line = shapely.LineString([ga.representative_point(), gb.representative_point()])
        geoms.append(line)
        props.append(
            {
                "kind": p.kind,
                "share": round(p.share, 3),
                "tooltip": _pair_words(p, names),
            }
        )
    if not geoms:
        return {"type": "FeatureCollection", "features": []}
    import geopandas as gpd

    frame = gpd.GeoDataFrame(props, geometry=geoms, crs=geography.units.crs).to_crs(4326)
    frame["geometry"] = shapely.set_precision(frame.geometry.values, 1e-5)
    for row in frame.itertuples(index=False):
        line = _lines_of(row.geometry)  # rounding can collapse a short piece
        if line is None:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {"kind": row.kind, "share": row.share, "tooltip": row.tooltip},
                "geometry": shapely.geometry.mapping(line),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _lines_of(geom: Any) -> Any:
    """The line parts of ``geom``, joined, as a ``LineString`` or ``MultiLineString`` (or None).

    Points, and any empty part, are left out: a border is drawn as lines only.
    """
    import shapely

    parts = list(shapely.get_parts(geom))
    while any(
        p.geom_type.startswith("Multi") or p.geom_type == "GeometryCollection" for p in parts
    ):
        parts = list(shapely.get_parts(parts))
    lines = [
        shapely.LineString(p.coords)
        for p in parts
        if p.geom_type in ("LineString", "LinearRing") and not p.is_empty
    ]
    if not lines:
        return None
    # the pieces of one border joined end to end (fewer points; dashes run on along it)
    return shapely.line_merge(shapely.MultiLineString(lines))


def _pair_words(p: PairShare, names: Mapping[str, str]) -> str:
    """The pair in words for a tooltip (names escaped by the map layer, not here)."""
    a, b = names.get(p.a, p.a), names.get(p.b, p.b)
    if p.forced:
        why = "always together: a rule keeps them in one footprint"
    elif p.proven_firm:
        why = "always together: proven, no plan of this count splits them"
    else:
        why = f"together in {p.together:,} of {p.plans:,} plans ({p.share:.0%})"
    return f"{a} – {b}: {why}"


#: The borders' own Leaflet pane, above the unit fills (Leaflet's overlay pane, 400) and the
#: LA boundary lines of :func:`footprint.map.base_map` (450), below its marks (460).
BORDERS_PANE = "fp-borders"
_BORDERS_Z = 455


def _borders_pane() -> Any:
    """A folium element that makes :data:`BORDERS_PANE` on the map its layer is drawn on.

    The unit fills may arrive after the borders (an app serves their geometry as files that
    the browser fetches), and in a shared pane the later layer covers the earlier: the fills
    would hide the borders and take the pointer from their tooltips. In a pane of their own
    the borders stay on top, whatever order the layers arrive in.
    """
    import folium
    from folium.template import Template

    class _Pane(folium.MacroElement):
        _template = Template(
            """
            {% macro script(this, kwargs) %}
            if (!{{ this.map_name }}.getPane({{ this.pane|tojson }})) {
                {{ this.map_name }}.createPane({{ this.pane|tojson }}).style.zIndex =
                    {{ this.z_index|tojson }};
            }
            {% endmacro %}
            """
        )

        def __init__(self) -> None:
            super().__init__()
            self._name = "FpBordersPane"
            self.pane = BORDERS_PANE
            self.z_index = _BORDERS_Z
            self.map_name = ""

        def render(self, **kwargs: Any) -> Any:
            # the map this layer was added to, however deep (a group in a group in the map)
            parent = self._parent
            while parent is not None and not isinstance(parent, folium.Map):
                parent = getattr(parent, "_parent", None)
            if parent is None:
                raise PlanError(
                    "The firm and open borders layer was drawn outside a map: add it to a "
                    "folium.Map (for example one from footprint.map.build_map) first"
                )
            self.map_name = parent.get_name()
            return super().render(**kwargs)

    return _Pane()


def groupings_layer(
    geography: Any, groupings: Groupings, *, name: str = "Firm and open borders"
) -> Any:
    """The borders as a folium layer: always (green), sometimes (orange), never (black) together.

    Add it to a map from :func:`footprint.map.build_map` (``layer.add_to(m)``). The lines
    are drawn in a pane of their own (:data:`BORDERS_PANE`) above the unit fills, so that
    they show, and answer the pointer, even when the fills are drawn after them. Names in
    the tooltips are escaped: a unit name is text, never markup.
    """
    import html

    import folium

    data = groupings_geojson(geography, groupings)
    for f in data["features"]:
        f["properties"]["tooltip"] = html.escape(f["properties"]["tooltip"])
    widths = {"always": 1.2, "sometimes": 3.5, "never": 2.2}
    dashes = {"always": "3 3", "sometimes": None, "never": None}

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        kind = feature["properties"]["kind"]
        out: dict[str, Any] = {
            "color": BORDER_COLOURS[kind],
            "weight": widths[kind],
            "opacity": 0.95,
        }
        if dashes[kind]:
            out["dashArray"] = dashes[kind]
        return out

    group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True)
    _borders_pane().add_to(group)  # before the lines: their pane must exist when they draw
    folium.GeoJson(
        data,
        name=name,
        style_function=style,
        # long pairs of names wrap rather than run off the map's edge
        tooltip=folium.GeoJsonTooltip(
            fields=["tooltip"],
            labels=False,
            style="white-space: normal; min-width: 14em; max-width: 24em;",
        ),
        pane=BORDERS_PANE,
    ).add_to(group)
    return group
