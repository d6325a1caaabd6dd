"""The real England 2013 figures, from the files in the shared data folder."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import shapely

pytestmark = pytest.mark.realdata


def test_units_and_population(geography):
    units = geography.units
    assert len(units) == 211
    assert units["code"].is_unique
    assert units["code"].str.match(r"^E38\d{6}$").all()
    assert geography.population_total == 56_324_887
    assert "registered patients" in geography.population_label
    assert units["area_team_code"].nunique() == 25
    assert units["region_code"].nunique() == 4
    # codes stay strings with their leading zeros
    darlington = units.loc[units["code"] == "E38000042"].iloc[0]
    assert darlington["nhs_code"] == "00C"
    assert darlington["name"] == "NHS Darlington"
    assert geography.nhs_code_aliases["00C"] == "E38000042"  # what a plan file may call it
    assert len(geography.nhs_code_aliases) == 211
    assert (units["nhs_code"].str.len() == 3).all()
    assert "00C" in set(units["nhs_code"])
    corby = units.loc[units["nhs_code"] == "03V"].iloc[0]
    assert corby["population"] == 72_187
    assert (units["population"] < 300_000).sum() == 154


def test_local_authorities(geography):
    assert len(geography.la_upper) == 152
    assert len(geography.la_lower) == 326
    assert geography.la_lower["upper_code"].nunique() == 152
    assert set(geography.la_lower["upper_code"]) == set(geography.la_upper["code"])
    assert "Derbyshire" in set(geography.la_upper["name"])


def test_geometry_is_valid_and_in_british_national_grid(geography):
    assert geography.units.crs.to_epsg() == 27700
    assert shapely.is_valid(geography.units.geometry.to_numpy()).all()
    area_km2 = geography.units.area.sum() / 1e6
    assert 130_000 < area_km2 < 131_000
    assert geography.display_units.crs.to_epsg() == 4326


def test_display_layer_is_light_and_keeps_the_coverage(geography):
    d = geography.display_units.to_crs(27700)
    assert len(geography.display_units.to_json()) < 1_000_000
    # coverage-preserving: neighbours neither overlap nor leave gaps
    total = d.area.sum()
    union = shapely.union_all(d.geometry.to_numpy()).area
    assert abs(total - union) / total < 1e-4, "display polygons overlap"


def test_adjacency_is_connected_with_the_isle_of_wight_bridged(dataset, geography):
    adj = dataset.adjacency
    assert len(adj.components()) == 1
    iow = geography.units.loc[geography.units["name"].str.contains("Isle of Wight"), "code"].item()
    assert not any(iow in e for e in adj.edges), "the Isle of Wight touches nothing"
    assert any(iow in b for b in adj.bridges)
    # without its bridges the island falls away
    assert len(adj.components(without=adj.bridges)) == 2


def test_la_audit(dataset, geography):
    audit = dataset.audit
    assert len(audit.crossing_units) == 27
    assert audit.n_blocks == 137
    names = geography.units.set_index("code")["name"]
    crossing = {names[c] for c in audit.crossing_units}
    assert any("Tameside" in n for n in crossing)
    assert any("Cambridgeshire and Peterborough" in n for n in crossing)
    tg = geography.units.loc[geography.units["name"].str.contains("Tameside"), "code"].item()
    las = set(audit.shares.loc[audit.shares["unit_code"] == tg, "la_name"].head(2))
    assert las == {"Tameside", "Derbyshire"}


def test_info_json_command():
    out = subprocess.run(
        [sys.executable, "-m", "footprint", "info", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    info = json.loads(out.stdout)
    assert info["units"] == 211
    assert info["population_total"] == 56_324_887
    assert info["la_upper"] == 152
    assert info["la_lower"] == 326
    assert info["adjacency_components"] == 1
    assert info["crossing_units"] == 27
    assert info["la_blocks"] == 137
    assert all(len(b) == 2 for b in info["bridges"]) and info["bridges"]
    assert len(info["river_crossings"]) == 11
    assert ["E38000061", "E38000112"] in info["river_crossings"]  # Gateshead-Newcastle West


def test_river_crossings_join_tyneside_and_london_across_the_water(dataset, geography):
    # clipped boundaries stop at the tidal Tyne and Thames: Newcastle does not touch
    # Gateshead, nor the City of London Southwark; listed crossings join them, and none
    # spans the Mersey, the Humber or a bay
    names = dict(zip(geography.units["code"], geography.units["name"], strict=True))
    adj = dataset.adjacency
    crossings = {frozenset((names[a], names[b])) for a, b in adj.river_crossings}
    assert len(crossings) == 11
    for a, b in [
        ("NHS Newcastle West", "NHS Gateshead"),
        ("NHS North Tyneside", "NHS South Tyneside"),
        ("NHS City and Hackney", "NHS Southwark"),
        ("NHS Southwark", "NHS Tower Hamlets"),
        ("NHS Central London (Westminster)", "NHS Lambeth"),
    ]:
        assert frozenset((a, b)) in crossings
    assert not any(
        n in pair for pair in crossings for n in ("NHS Wirral", "NHS Hull", "NHS Liverpool")
    )
    assert not set(adj.river_crossings) & set(adj.edges)
