"""Scenarios: the saved scenarios of this geography (comparing two plans is on the Compare page).

Only scenarios drawn on the geography planned on now are listed or loaded: a plan of one
geography means nothing on another's units.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.shared import (
    dataset,
    drawing,
    flash,
    guarded,
    load_scenario,
    md,
    of_this_geography,
    others_note,
    show_flash,
    store_or_say,
    units_word,
    when,
)
from footprint import Scenario


def show(ds) -> None:
    show_flash()
    st.subheader("Saved scenarios")
    s = store_or_say("Saved scenarios are not available")
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


show(dataset())
