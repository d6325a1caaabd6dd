"""Contiguity on synthetic squares: rook neighbours, hairline gaps, corners and island bridges."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
from helpers import grid_units
from shapely.geometry import box

from footprint import ConstraintsError, build_adjacency


def _squares(boxes: dict[str, tuple[float, float, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": list(boxes), "geometry": [box(*b) for b in boxes.values()]}, crs=27700
    )


def test_rook_grid_has_twelve_edges_and_no_diagonals():
    adj = build_adjacency(grid_units(3, 3))
    assert len(adj.edges) == 12
    assert ("r0c0", "r1c1") not in adj.edges  # corner touch
    assert ("r0c0", "r0c1") in adj.edges and ("r0c0", "r1c0") in adj.edges
    assert all(a < b for a, b in adj.edges)
    # shared border is the side length, not the side plus the tolerance overshoot
    assert adj.shared_m == pytest.approx([1000.0] * 12)
    assert adj.bridges == ()
    assert len(adj.components()) == 1


@pytest.mark.parametrize(("rows", "cols"), [(1, 5), (4, 4), (2, 7)])
def test_rook_edge_count_formula(rows, cols):
    adj = build_adjacency(grid_units(rows, cols))
    assert len(adj.edges) == rows * (cols - 1) + cols * (rows - 1)


def test_hairline_gap_is_closed_by_the_tolerance():
    squares = _squares({"A": (0, 0, 1000, 1000), "B": (1010, 0, 2010, 1000)})
    near = build_adjacency(squares, bridges=[])
    assert near.edges == (("A", "B"),)
    assert near.shared_m[0] == pytest.approx(980.0, abs=1.0)
    far = build_adjacency(squares, tolerance_m=5.0, bridges=[])
    assert far.edges == ()
    assert len(far.components()) == 2


def test_corner_touch_is_not_an_edge_at_any_tolerance():
    squares = _squares({"A": (0, 0, 1000, 1000), "B": (1000, 1000, 2000, 2000)})
    for tol in (5.0, 50.0, 100.0):
        assert build_adjacency(squares, tolerance_m=tol, bridges=[]).edges == ()


def test_short_border_below_min_shared_is_ignored():
    # B overlaps A's right side for 60 m only
    squares = _squares({"A": (0, 0, 1000, 1000), "B": (1000, 940, 2000, 1940)})
    assert build_adjacency(squares, bridges=[]).edges == ()
    assert build_adjacency(squares, min_shared_m=50.0, bridges=[]).edges == (("A", "B"),)


def _mainland_and_island() -> gpd.GeoDataFrame:
    units = grid_units(2, 3)
    island = gpd.GeoDataFrame(
        {"code": ["isle"], "geometry": [box(1000, -5000, 2000, -4000)]}, crs=27700
    )
    return gpd.GeoDataFrame(
        pd.concat([units, island], ignore_index=True), geometry="geometry", crs=27700
    )


def test_island_gets_bridges_to_its_nearest_mainland_units():
    adj = build_adjacency(_mainland_and_island())
    assert not any("isle" in e for e in adj.edges)
    # r0c1 lies straight above the island; r0c0 and r0c2 tie next: the two nearest are taken
    assert len(adj.bridges) == 2
    assert all("isle" in b for b in adj.bridges)
    assert ("isle", "r0c1") in adj.bridges
    assert len(adj.components()) == 1
    assert nx.is_connected(adj.graph())
    assert set(adj.pairs) == set(adj.edges) | set(adj.bridges)
    g = adj.graph()
    assert g.edges["isle", "r0c1"]["bridge"] is True
    assert g.edges["r0c0", "r0c1"]["bridge"] is False
    # without the bridges the island falls away
    assert len(adj.components(without=adj.bridges)) == 2


def test_bridges_per_island_and_explicit_bridges():
    units = _mainland_and_island()
    assert len(build_adjacency(units, bridges_per_island=1).bridges) == 1
    assert build_adjacency(units, bridges=[]).bridges == ()
    mine = build_adjacency(units, bridges=[("r1c2", "isle")])
    assert mine.bridges == (("isle", "r1c2"),)


def test_with_bridges_edits_a_copy():
    adj = build_adjacency(_mainland_and_island())
    edited = adj.with_bridges([("r0c0", "isle")])
    assert edited.bridges == (("isle", "r0c0"),)
    assert adj.bridges != edited.bridges  # the original is untouched
    assert edited.edges == adj.edges
    assert len(adj.with_bridges([]).components()) == 2


def test_unknown_codes_in_bridges_are_reported_together():
    adj = build_adjacency(_mainland_and_island())
    with pytest.raises(ConstraintsError, match=r"Cannot use these bridges") as info:
        adj.with_bridges(
            [("isle", "nowhere"), ("r0c0", "r0c0"), ("ghost", "r0c1"), ("r0c0",), "ab"]
        )
    msg = str(info.value)
    assert "bridge isle-nowhere: unknown unit code 'nowhere'" in msg
    assert "bridge r0c0-r0c0 joins a unit to itself" in msg
    assert "bridge ghost-r0c1: unknown unit code 'ghost'" in msg
    assert "bridge ('r0c0',): expected a pair of unit codes" in msg
    assert "bridge 'ab': expected a pair of unit codes" in msg
    with pytest.raises(ConstraintsError, match=r"unknown unit code 'x'"):
        build_adjacency(_mainland_and_island(), bridges=[("x", "isle")])


def test_needs_a_projected_crs():
    with pytest.raises(
        ConstraintsError,
        match=r"needs units in a projected CRS in metres .*got "
        r"EPSG:4326.*to_crs\(27700\)",
    ):
        build_adjacency(grid_units(2, 2).to_crs(4326))


def _river(width: float, *, banks: float = 3000.0) -> gpd.GeoDataFrame:
    # two banks facing each other across a river ``width`` wide, for ``banks`` metres
    return _squares({"N": (0, width, banks, width + 2000), "S": (0, -2000, banks, 0)})


def test_units_facing_each_other_across_a_river_are_joined_by_a_listed_crossing():
    adj = build_adjacency(_river(200.0), bridges=[])
    assert adj.edges == ()  # no shared border: the river runs between them
    assert adj.river_crossings == (("N", "S"),)
    assert adj.pairs == (("N", "S"),)
    assert adj.graph().edges["N", "S"]["river"] is True
    assert len(adj.components()) == 1
    # the same pair switched off, or no crossings asked for
    assert len(adj.components(without=[("S", "N")])) == 2
    assert build_adjacency(_river(200.0), river_m=0, bridges=[]).river_crossings == ()


@pytest.mark.parametrize(
    ("width", "banks", "joined"),
    [
        (290.0, 3000.0, True),  # the Thames at Westminster: joined
        (400.0, 3000.0, False),  # an estuary wider than river_m
        # the banks' length within 300 m of each other (1,200 m plus 100 m of each side wall),
        # less the 2 x 300 m that the buffer catches beyond the ends: 800 m, short of 1,000 m
        (200.0, 1200.0, False),
        (200.0, 1500.0, True),  # 1,100 m
    ],
)
def test_a_crossing_needs_close_banks_along_a_long_stretch(width, banks, joined):
    adj = build_adjacency(_river(width, banks=banks), bridges=[])
    assert (adj.river_crossings == (("N", "S"),)) is joined


def test_shores_of_a_bay_meeting_at_a_point_are_not_a_crossing():
    # two squares whose corners lie 100 m apart across the water: a point, not a river
    squares = _squares({"A": (0, 0, 1000, 1000), "B": (1100, 1000, 2100, 2000)})
    assert build_adjacency(squares, bridges=[]).river_crossings == ()


def test_river_crossings_are_editable_and_checked_like_bridges():
    adj = build_adjacency(_river(200.0), bridges=[])
    assert adj.with_river_crossings([]).river_crossings == ()
    assert adj.river_crossings == (("N", "S"),)  # the original is untouched
    assert build_adjacency(_river(200.0), river_crossings=[], bridges=[]).pairs == ()
    with pytest.raises(
        ConstraintsError,
        match=r"(?s)Cannot use these river crossings.*"
        r"river crossing N-Q: unknown unit code 'Q'.*"
        r"river crossing S-S joins a unit to itself",
    ):
        adj.with_river_crossings([("N", "Q"), ("S", "S")])
