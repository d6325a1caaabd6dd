"""Scenarios and comparison: the saved scenarios of this geography; compare two plans.

Only scenarios drawn on the geography planned on now are listed, compared or loaded: a
plan of one geography means nothing on another's units.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.shared import (
    DRAWING,
    dataset,
    draw_map,
    drawing,
    esc,
    flash,
    guarded,
    load_scenario,
    md,
    of_this_geography,
    others_note,
    picker,
    picker_labels,
    short_label,
    show_flash,
    store_or_say,
    unit_word,
    units_word,
    when,
)
from footprint import Scenario, compare_plans, reference_plan


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
    return out


def show(ds) -> None:
    show_flash()
    st.subheader("Saved scenarios")
    s = store_or_say("Saved scenarios are not available; the comparisons below still work")
    scenarios: list[Scenario] = []
    if s is not None:
        st.caption(
            md(f"Saved as JSON files in {s.folder.resolve()}: back that folder up to keep them.")
        )
        listing = guarded(s.scan, what="Could not read the scenario folder")
        if listing is not None:
            scenarios, others = of_this_geography(ds, listing.scenarios)
            others_note(others)
        for path, reason in getattr(listing, "unreadable", ()) or ():
            st.warning(
                md(f"Skipped {path.name}, which could not be read (left in place): {reason}")
            )
    if scenarios:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "name": sc.name,
                        "created": when(sc.created),
                        "last saved": when(sc.updated or sc.created),
                        "revision": sc.revision,
                        "source": sc.source,
                        "status": sc.status or "",
                        "footprints": len(set(sc.assignment.values())),
                        units_word(ds): len(sc.assignment),
                        f"locked {units_word(ds)}": len(sc.locked),
                        "notes": sc.notes,
                    }
                    for sc in scenarios
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        # only saved scenarios in this box, so their names need no tag
        chosen = st.selectbox("Scenario", [sc.name for sc in scenarios], key="scenario_pick")
        sc = next(x for x in scenarios if x.name == chosen)
        c1, c2 = st.columns(2)
        with c1:
            ok = not drawing().assignment or st.checkbox(
                "Replace my drawing with it", key="confirm_load"
            )
            st.button(
                "Load into the drawing",
                disabled=not ok,
                on_click=load_scenario,
                args=(sc,),
                key="load_scenario",
            )
        with c2:
            sure = st.checkbox("Delete it for good", key="confirm_delete")
            # the revision shown: someone else's later save of it is not deleted unseen
            if st.button("Delete", disabled=not sure, key="delete_scenario") and guarded(
                lambda: s.delete(chosen, expected_revision=sc.revision) or True,
                what="Could not delete the scenario",
            ):
                flash("success", f"Deleted scenario {chosen!r}.")
                st.rerun()
    elif s is not None:
        st.info("No saved scenarios yet: save a drawing or run the optimiser.")

    st.subheader("Compare two plans")
    plans = plan_choices(ds, scenarios)
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
