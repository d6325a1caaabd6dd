"""Compare: two plans of this geography side by side (the drawing, the reference groupings,
an imported plan or a saved scenario).

Two maps, one per plan, share one view: moving or zooming either moves the other (each map
reports its view; the next run draws both at the last one moved). The units that moved are
outlined on both. Below them, what each footprint kept, lost and gained, and where it went,
in the geography's own population (registered patients for England).

Only scenarios drawn on the geography planned on now are offered: a plan of one geography
means nothing on another's units.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit_folium import st_folium

from app_pages.shared import (
    DRAWING,
    LEAFLET_URL,
    dataset,
    drawing,
    esc,
    guarded,
    map_data_url,
    md,
    of_this_geography,
    picker,
    picker_labels,
    short_label,
    store_or_say,
    unit_word,
    units_word,
)
from footprint import Comparison, Scenario, compare_plans, reference_plan
from footprint.map import base_map, units_layer

#: the two maps' keys; each reports its view (centre and zoom) under its key
MAP_KEYS = ("compare_map_a", "compare_map_b")
#: a view that moved less than this (degrees) is the same view: two maps set to one view
#: report it back rounded, and must not chase each other
_SAME_VIEW = 1e-4


def saved_scenarios(ds) -> list[Scenario]:
    """The saved scenarios of this geography, or none when the store cannot be read."""
    s = store_or_say(
        "Saved scenarios cannot be compared, but the drawing and the reference plans can"
    )
    if s is None:
        return []
    listing = guarded(s.scan, what="Could not read the scenario folder")
    if listing is None:
        return []
    scenarios, _others = of_this_geography(ds, listing.scenarios)
    return scenarios


def plan_choices(ds, scenarios: list[Scenario]) -> dict[tuple[str, str], dict[str, str]]:
    """Every plan the planner can compare, keyed by (kind, id): the drawing, the reference
    plans, an imported plan and the saved scenarios (``picker_labels`` says what each shows).
    """
    out: dict[tuple[str, str], dict[str, str]] = {DRAWING: dict(drawing().assignment)}
    for column in ("area_team_code", "region_code"):
        if column in ds.geography.layers:  # only the groupings this geography has
            out[("reference", column)] = reference_plan(ds.geography, column)
    imported = st.session_state["imported_plan"]
    if imported:
        out[("imported", imported.get("file") or "")] = dict(imported["assignment"])
    for sc in scenarios:
        out[("scenario", sc.name)] = dict(sc.assignment)
    # versions of a scenario the Scenarios page's history sent here to compare
    out.update(st.session_state.get("compare_versions") or {})
    return out


View = tuple[tuple[float, float], float]


def _reported(key: str) -> View | None:
    """The view a map last reported (its centre and zoom), if it did."""
    got = st.session_state.get(key)
    try:
        centre, zoom = got["center"], got["zoom"]
        return (float(centre["lat"]), float(centre["lng"])), float(zoom)
    except (TypeError, KeyError, ValueError):
        return None


def shared_view() -> View | None:
    """The view both maps are drawn at: the last one the planner moved either map to."""
    s = st.session_state
    view = s.get("cmp_view")
    for key in MAP_KEYS:
        got = _reported(key)
        if got is None or got == s.get(f"{key}_seen"):
            continue
        s[f"{key}_seen"] = got
        if (
            view is None
            or abs(got[1] - view[1]) > _SAME_VIEW
            or max(abs(got[0][0] - view[0][0]), abs(got[0][1] - view[0][1])) > _SAME_VIEW
        ):
            view = got
    s["cmp_view"] = view
    return view


def plan_map(ds, plan_: dict[str, str], *, key: str, moved: tuple[str, ...], view) -> None:
    """One plan coloured by footprint, the moved units outlined, at the shared view."""
    g = ds.geography
    opts = st.session_state

    def build() -> tuple[Any, Any]:
        data_url = map_data_url(ds)
        base = base_map(
            g,
            audit=ds.audit,
            links=ds.adjacency.bridges + ds.adjacency.river_crossings,
            tiles=opts.get("tiles", False),
            leaflet_url=LEAFLET_URL,
            data_url=data_url,
            zoom_start=5.5,
        )
        # every unit in view in half the page's width, the same way on both maps
        west, south, east, north = (float(v) for v in g.display_units.total_bounds)
        # kept clear of the legend in the lower left
        base.fit_bounds(
            [[south, west], [north, east]],
            padding_top_left=(150, 10),
            padding_bottom_right=(10, 10),
        )
        layer = units_layer(
            g,
            audit=ds.audit,
            assignment=plan_,
            colour_by="footprint",
            highlight=moved,
            floor=int(opts["floor"]),
            fill_opacity=0.6 if opts.get("tiles") else 0.75,
            data_url=data_url,
        )
        return base, layer

    built = guarded(build, what="Could not draw the map")
    if built is None:
        return
    st_folium(
        built[0],
        key=key,
        height=560,
        use_container_width=True,
        returned_objects=["center", "zoom"],
        feature_group_to_add=built[1],
        center=view[0] if view else None,
        zoom=view[1] if view else None,
    )


def headline(ds, cmp: Comparison, n_units: int) -> None:
    """The comparison's figures, each with what it is out of."""
    g = ds.geography
    short = short_label(ds)
    many = units_word(ds)
    m1, m2, m3 = st.columns(3)
    m1.metric(
        f"{esc(short.capitalize())} kept together",
        f"{cmp.share_kept_together:.1%}",
        help=f"Share of {esc(g.population_label)} whose footprint matches between A and B",
    )
    m2.metric(
        f"{esc(many)} that moved",
        f"{cmp.n_moved:,} of {n_units:,}",
        help=f"{esc(many)} whose footprint in B is not the match of their footprint in A",
    )
    share = cmp.population_moved / cmp.total_population if cmp.total_population else 0.0
    m3.metric(
        f"{esc(short.capitalize())} in moved {esc(many)}",
        f"{cmp.population_moved:,}",
        help=f"{share:.1%} of the {cmp.total_population:,} {esc(short)} in either plan",
    )


def flows_table(cmp: Comparison, *, short: str, a: str, b: str) -> None:
    """Footprint to footprint: what each kept, lost and gained, and where it went."""
    flows = cmp.flows.sort_values(
        ["population_lost", "population_gained"], ascending=False, kind="stable"
    ).astype({"footprint_a": object, "footprint_b": object})
    flows["footprint_a"] = flows["footprint_a"].where(flows["footprint_a"].notna(), "(no match)")
    flows["footprint_b"] = flows["footprint_b"].where(flows["footprint_b"].notna(), "(no match)")
    st.markdown(f"**Footprint to footprint** ({esc(short)})")
    st.caption(
        md(
            f"Each footprint of A ({a}) beside its match in B ({b}): what stayed, what left "
            "for other footprints and what came from them. Largest changes first."
        )
    )
    number = st.column_config.NumberColumn
    st.dataframe(
        flows,
        hide_index=True,
        width="stretch",
        column_config={
            "footprint_a": "footprint in A",
            "footprint_b": "its match in B",
            "population_a": number(f"{short} in A", format="localized"),
            "population_kept": number("kept", format="localized"),
            "population_lost": number("lost", format="localized"),
            "population_gained": number("gained", format="localized"),
            "population_b": number(f"{short} in B", format="localized"),
            "lost_to": "lost to",
            "gained_from": "gained from",
        },
    )


def show(ds) -> None:
    st.subheader("Compare two plans")
    plans = plan_choices(ds, saved_scenarios(ds))
    options = list(plans)
    c1, c2 = st.columns(2)
    a = picker(c1, "Plan A", options, key="cmp_a")
    b = picker(c2, "Plan B", options, key="cmp_b", index=min(1, len(options) - 1))
    if a == b:
        st.info("Choose two different plans.")
        return
    shown = picker_labels(options)
    g = ds.geography
    pops = dict(zip(g.units["code"], g.units["population"].astype(int), strict=True))
    names_of = dict(zip(g.units["code"], g.units["name"], strict=True))
    cmp = guarded(
        lambda: compare_plans(
            plans[a],
            plans[b],
            populations=pops,
            names=names_of,
            unit_label=unit_word(ds),
            unit_label_plural=units_word(ds),
        ),
        what="Could not compare the plans",
    )
    if cmp is None:
        return
    headline(ds, cmp, len(g.units))
    how = getattr(cmp, "how", "")  # how footprints were matched, and what "moved" means
    if how:
        st.caption(md(how))
    moves = cmp.moves
    moved = tuple(moves.loc[moves["change"] == "moved", "unit_code"]) if len(moves) else ()
    many = units_word(ds)
    elsewhere = len(moves) - len(moved)  # assigned in only one of the plans
    st.caption(
        md(
            f"Each plan coloured by its own footprints; the {len(moved):,} {many} that moved "
            "have a bold black outline on both maps. Move or zoom either map: the other "
            "follows."
        )
    )
    view = shared_view()
    left, right = st.columns(2)
    for where, which, plan_key, key in ((left, "A", a, MAP_KEYS[0]), (right, "B", b, MAP_KEYS[1])):
        with where:
            n = len(set(plans[plan_key].values()))
            st.markdown(f"**{which}: {md(shown[plan_key])}** ({n:,} footprints)")
            plan_map(ds, plans[plan_key], key=key, moved=moved, view=view)
    short = short_label(ds)
    flows_table(cmp, short=short, a=shown[a], b=shown[b])
    label = f"{many} that moved ({len(moved):,})" + (
        f" and in a footprint in only one plan ({elsewhere:,})" if elsewhere else ""
    )
    with st.expander(label):
        st.dataframe(
            moves,
            hide_index=True,
            width="stretch",
            column_config={
                "unit_code": f"{unit_word(ds)} code",
                "name": unit_word(ds),
                "population": st.column_config.NumberColumn(short, format="localized"),
                "from_footprint": f"footprint in A ({shown[a]})",
                "to_footprint": f"footprint in B ({shown[b]})",
                "matched_footprint": "its footprint's match in B",
                "change": "change",
            },
        )


show(dataset())
