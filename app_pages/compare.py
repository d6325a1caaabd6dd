"""Compare: two plans of this geography side by side (the drawing, the reference groupings,
an imported plan or a saved scenario).

Only scenarios drawn on the geography planned on now are offered: a plan of one geography
means nothing on another's units.
"""

from __future__ import annotations

import streamlit as st

from app_pages.shared import (
    DRAWING,
    dataset,
    draw_map,
    drawing,
    esc,
    guarded,
    md,
    of_this_geography,
    picker,
    picker_labels,
    short_label,
    store_or_say,
    unit_word,
    units_word,
)
from footprint import Scenario, compare_plans, reference_plan


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
    m1, m2, m3 = st.columns(3)
    short = esc(short_label(ds).capitalize())
    m1.metric(
        f"{short} kept together",
        f"{cmp.share_kept_together:.1%}",
        help=f"Share of {esc(g.population_label)} whose footprint matches between A and B",
    )
    many = esc(units_word(ds))
    m2.metric(f"{many} that moved", f"{cmp.n_moved:,}")
    m3.metric(f"{short} in moved {many}", f"{cmp.population_moved:,}")
    how = getattr(cmp, "how", "")  # how footprints were matched, and what "moved" means
    if how:
        st.caption(md(how))
    moves = cmp.moves
    if len(moves) and "change" in moves:
        moved = tuple(moves.loc[moves["change"] == "moved", "unit_code"])
    else:
        moved = tuple(moves["unit_code"]) if len(moves) else ()
    elsewhere = len(moves) - len(moved)  # assigned in only one of the plans
    st.caption(
        f"Map: plan B coloured by footprint; the {len(moved):,} {many} that moved have "
        "a bold black outline"
        + (
            f"; the table also lists {elsewhere:,} {many} in a footprint in only one of the plans"
            if elsewhere
            else ""
        )
        + "."
    )
    draw_map(
        ds,
        plan_=plans[b],
        colour_by="footprint",
        key="compare_map",
        highlight=moved,
        events=False,
        height=520,
    )
    st.dataframe(
        cmp.moves,
        hide_index=True,
        width="stretch",
        column_config={
            "unit_code": f"{unit_word(ds)} code",
            "name": unit_word(ds),
            "population": st.column_config.NumberColumn(short_label(ds), format="localized"),
            "from_footprint": f"footprint in A ({shown[a]})",
            "to_footprint": f"footprint in B ({shown[b]})",
            "matched_footprint": "its footprint's match in B",
            "change": "change",
        },
    )


show(dataset())
