"""The LA audit on synthetic squares: shares, home LA, crossing at a tolerance, blocks."""

from __future__ import annotations

import geopandas as gpd
import pytest
from helpers import grid_units, population_table
from shapely.geometry import box

from footprint import ConstraintsError, Dataset, audit_la, build_geography

# Two upper-tier LAs side by side, each 2 km x 2 km; E2 is split into two districts.
LA_UPPER = gpd.GeoDataFrame(
    {
        "code": ["E1", "E2"],
        "name": ["West LA", "East LA"],
        "geometry": [box(0, 0, 2000, 2000), box(2000, 0, 4000, 2000)],
    },
    crs=27700,
)
LA_LOWER = gpd.GeoDataFrame(
    {
        "code": ["D1", "D2a", "D2b"],
        "name": ["West district", "East north", "East south"],
        "upper_code": ["E1", "E2", "E2"],
        "geometry": [box(0, 0, 2000, 2000), box(2000, 1000, 4000, 2000), box(2000, 0, 4000, 1000)],
    },
    crs=27700,
)
# A lies in E1, S straddles E1/E2 (500 m of its 1500 m width in E1), B lies in E2.
UNITS = {
    "A": box(0, 0, 1500, 2000),
    "S": box(1500, 0, 3000, 2000),
    "B": box(3000, 0, 4000, 2000),
}


def _geography(units: dict, *, with_las: bool = True):
    gdf = gpd.GeoDataFrame({"code": list(units), "geometry": list(units.values())}, crs=27700)
    return build_geography(
        gdf,
        population_table(units, [100_000] * len(units)),
        code_column="code",
        population_column="population",
        la_upper=LA_UPPER if with_las else None,
        la_lower=LA_LOWER if with_las else None,
        name="test squares",
    )


def test_shares_home_la_and_crossing():
    audit = audit_la(_geography(UNITS))
    shares = audit.shares.set_index(["unit_code", "la_code"])["share"]
    # measured on S shrunk by 100 m: 400 m of 1300 m width lie in E1
    assert shares["S", "E1"] == pytest.approx(400 / 1300)
    assert shares["S", "E2"] == pytest.approx(900 / 1300)
    assert shares["A", "E1"] == pytest.approx(1.0)
    assert shares["B", "E2"] == pytest.approx(1.0)
    assert audit.shares.groupby("unit_code")["share"].sum().to_numpy() == pytest.approx([1, 1, 1])
    units = audit.units.set_index("unit_code")
    assert units.loc["S", "home_la"] == "E2"
    assert units.loc["S", "home_la_name"] == "East LA"
    assert units.loc["S", "outside_share"] == pytest.approx(400 / 1300)
    assert units.loc["S", "n_las"] == 2
    assert audit.crossing_units == ["S"]
    assert audit.las_of("S") == ["E2", "E1"]
    assert audit.las_of("A") == ["E1"]
    assert audit.blocks == {"A": "E1", "B": "E2", "S": "E2"}
    assert audit.n_blocks == 2


def test_crossing_depends_on_the_tolerance():
    loose = audit_la(_geography(UNITS), tolerance=0.4)
    assert loose.crossing_units == []
    assert loose.las_of("S") == ["E2"]
    assert loose.units.set_index("unit_code").loc["S", "n_las"] == 1
    assert audit_la(_geography(UNITS), tolerance=0.3).crossing_units == ["S"]


def test_border_slivers_are_ignored_but_real_crossings_are_not():
    # C overshoots the E1/E2 border by 50 m, as separately generalised layers do
    units = {
        "C": box(0, 0, 2050, 1000),
        "D": box(0, 1000, 2000, 2000),
        "B": box(2050, 0, 4000, 1000),
    }
    geo = _geography(units)
    assert audit_la(geo).crossing_units == []
    unshrunk = audit_la(geo, edge_m=0.0)
    assert unshrunk.crossing_units == ["C"]
    c = unshrunk.units.set_index("unit_code").loc["C"]
    assert c["outside_share"] == pytest.approx(50 / 2050)


def test_lower_tier():
    audit = audit_la(_geography(UNITS), tier="lower")
    assert audit.tier == "lower"
    # B is split between the two eastern districts half and half; S mostly in them
    assert set(audit.las_of("B")) == {"D2a", "D2b"}
    assert audit.units.set_index("unit_code").loc["B", "crosses"]
    assert audit.units.set_index("unit_code").loc["A", "home_la"] == "D1"


def test_unit_outside_every_la_is_its_own_block():
    units = {**UNITS, "off": box(10_000, 0, 11_000, 1000)}
    audit = audit_la(_geography(units))
    row = audit.units.set_index("unit_code").loc["off"]
    assert row["home_share"] == 0.0
    assert row["block"] == "off"
    assert audit.n_blocks == 3


def test_thin_unit_is_measured_unshrunk():
    units = {
        "A": box(0, 0, 2000, 1000),
        "thin": box(0, 1000, 2000, 1150),
        "B": box(2000, 0, 4000, 2000),
    }
    audit = audit_la(_geography(units))
    row = audit.units.set_index("unit_code").loc["thin"]
    assert row["home_la"] == "E1"
    assert row["home_share"] == pytest.approx(1.0)


def test_bad_arguments():
    geo = _geography(UNITS)
    with pytest.raises(
        ConstraintsError,
        match=r"tolerance must be a share between 0 and 0\.5 "
        r"\(e\.g\. 0\.01 for 1%\); got 5",
    ):
        audit_la(geo, tolerance=5)
    with pytest.raises(ConstraintsError, match=r"tier must be 'upper' or 'lower'; got 'county'"):
        audit_la(geo, tier="county")  # type: ignore[arg-type]
    with pytest.raises(
        ConstraintsError,
        match=r"test squares has no upper-tier local authority "
        r"layer; an LA audit needs one",
    ):
        audit_la(_geography(UNITS, with_las=False))


def test_dataset_from_geography():
    ds = Dataset.from_geography(_geography(UNITS))
    assert ds.audit is not None and ds.audit.crossing_units == ["S"]
    assert set(ds.adjacency.edges) == {("A", "S"), ("B", "S")}
    plain = Dataset.from_geography(
        build_geography(
            grid_units(2, 2),
            population_table(["r0c0", "r0c1", "r1c0", "r1c1"], [1, 2, 3, 4]),
            code_column="code",
            population_column="population",
        )
    )
    assert plain.audit is None
    assert len(plain.adjacency.edges) == 4
