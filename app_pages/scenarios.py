"""Scenarios: the saved scenarios of this geography, who owns them, their history and the bin
(comparing two plans is on the Compare page).

Only scenarios drawn on the geography planned on now are listed or loaded: a plan of one
geography means nothing on another's units. On a team server (sign-in on) a scenario's owner
may rename, delete and restore it; everyone signed in may load, copy, compare and export it
and copy its read-only link (:mod:`footprint.access`; the store checks again when it writes).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.shared import (
    belongs_here,
    copy_name,
    dataset,
    drawing,
    flash,
    guarded,
    load_scenario,
    md,
    of_this_geography,
    others_note,
    save_scenario,
    show_flash,
    store_or_say,
    unit_word,
    units_word,
)
from app_pages.team import allows, guard, link_for, unlogged, user_id
from app_pages.ui import when
from footprint import FootprintError, Scenario, ScenarioStore
from footprint.history import version_rows

#: Most audit-log lines shown for one scenario (the newest).
LOG_LINES = 50


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
    if s is None:
        return
    if scenarios:
        listed(ds, scenarios)
        # only saved scenarios in this box, so their names need no tag
        chosen = st.selectbox("Scenario", [sc.name for sc in scenarios], key="scenario_pick")
        sc = next(x for x in scenarios if x.name == chosen)
        actions(s, sc)
        history(ds, s, sc)
    else:
        st.info("No saved scenarios yet: save a drawing or run the optimiser.")
    bin_section(ds, s)


def listed(ds, scenarios: list[Scenario]) -> None:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": sc.name,
                    "owner": sc.created_by or "",
                    "created": when(sc.created),
                    "last saved": when(sc.updated or sc.created),
                    "by": sc.updated_by or "",
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


def copy_of(sc: Scenario) -> None:
    """Save ``sc`` under a new name, owned by whoever copies it (anyone may)."""
    save_scenario(
        copy_name(sc.name),
        sc.assignment,
        source=sc.source,
        notes=sc.notes,
        status=sc.status,
        constraints_json=sc.constraints_json,
        locked_units=tuple(sc.locked),
        later=True,
    )


def actions(s: ScenarioStore, sc: Scenario) -> None:
    """Load, copy, rename and delete (to the bin), and the read-only link."""
    may_change = allows("edit", sc)
    if not may_change:
        st.caption(
            md(
                f"{sc.name!r} belongs to {sc.created_by or 'nobody (saved before sign-in)'}: "
                "you may load, compare, export and copy it; only its owner or an admin may "
                "rename, delete or restore it."
            )
        )
    c1, c2, c3, c4 = st.columns(4)
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
    c2.button("Save a copy", on_click=copy_of, args=(sc,), key="copy_scenario")
    with c3:
        new = st.text_input("New name", key="rename_to", disabled=not may_change)
        if st.button("Rename", disabled=not (may_change and new.strip()), key="rename_scenario"):
            done = guarded(
                lambda: s.rename(
                    sc.name,
                    new,
                    expected_revision=sc.revision,
                    user=user_id(),
                    guard=guard("rename"),
                    on_unlogged=unlogged,
                ),
                what="Could not rename the scenario",
            )
            if done is not None:
                flash("success", f"Renamed scenario {sc.name!r} to {done.name!r}.")
                st.rerun()
    with c4:
        sure = st.checkbox("Move it to the bin", key="confirm_delete", disabled=not may_change)
        # the revision shown: someone else's later save of it is not deleted unseen
        if st.button("Delete", disabled=not (sure and may_change), key="delete_scenario") and (
            guarded(
                lambda: (
                    s.delete(
                        sc.name,
                        expected_revision=sc.revision,
                        user=user_id(),
                        guard=guard("delete"),
                        on_unlogged=unlogged,
                    )
                    or True
                ),
                what="Could not delete the scenario",
            )
        ):
            flash("success", f"Moved scenario {sc.name!r} to the bin (restore it from there).")
            st.rerun()
    st.markdown("**Read-only link** (the map, the table, the status and the report; no editing)")
    st.code(link_for(s.id_for(sc.name)), language=None)


def history(ds, s: ScenarioStore, sc: Scenario) -> None:
    """Every kept version: who saved it, when, what changed; compare two; restore one."""
    st.subheader("History")
    versions = guarded(lambda: s.history(sc.name), what="Could not read the history")
    if not versions:
        return
    rows = version_rows(versions, unit=unit_word(ds), units=units_word(ds))
    for row in rows:
        row["saved"] = when(row["saved"])
    st.dataframe(pd.DataFrame(rows[::-1]), hide_index=True, width="stretch")
    if len(versions) < 2:
        st.caption("One version so far: each later save keeps the one before it here.")
    else:
        revisions = [v.revision for v in versions]
        label = {
            v.revision: f"revision {v.revision} ({when(v.updated or v.created)})" for v in versions
        }
        c1, c2, c3 = st.columns(3)
        a = c1.selectbox(
            "Version A", revisions, index=len(revisions) - 2, key="hist_a", format_func=label.get
        )
        b = c2.selectbox(
            "Version B", revisions, index=len(revisions) - 1, key="hist_b", format_func=label.get
        )
        c3.button(
            "Compare A and B",
            key="hist_compare",
            disabled=a == b,
            on_click=compare_versions,
            args=(sc.name, {v.revision: v for v in versions}, a, b),
        )
        older = [r for r in revisions if r != sc.revision]
        r1, r2 = st.columns([2, 1])
        back = r1.selectbox(
            "Restore a version (saved as a new version; nothing is lost)",
            older,
            index=len(older) - 1,
            key="hist_restore",
            format_func=label.get,
        )
        if r2.button(
            "Restore it", key="restore_version", disabled=not allows("restore", sc)
        ) and guarded(
            lambda: s.restore_version(
                sc.name,
                back,
                expected_revision=sc.revision,
                user=user_id(),
                guard=guard("restore"),
                on_unlogged=unlogged,
            ),
            what="Could not restore the version",
        ):
            flash("success", f"Restored revision {back} of {sc.name!r} as its newest version.")
            st.rerun()
    with st.expander("Activity (audit log)"):
        try:
            events = s.log.read(scenario=sc.name)[-LOG_LINES:][::-1]
        except FootprintError as exc:
            st.warning(md(str(exc)[:1].upper() + str(exc)[1:] + "."))
            return
        if events:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "when": when(e.get("time", "")),
                            "what": e.get("event", ""),
                            "by": e.get("user") or "",
                            "revision": e.get("revision"),
                        }
                        for e in events
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption("Nothing logged yet.")


def compare_versions(name: str, versions: dict[int, Scenario], a: int, b: int) -> None:
    """Send versions ``a`` and ``b`` to the Compare page as its plans A and B."""
    keys = {r: ("version", f"{name} · revision {r}") for r in (a, b)}
    st.session_state["compare_versions"] = {keys[r]: dict(versions[r].assignment) for r in keys}
    st.session_state["cmp_a"], st.session_state["cmp_b"] = keys[a], keys[b]
    st.session_state["go_compare"] = True


def bin_section(ds, s: ScenarioStore) -> None:
    """Deleted scenarios of this geography, each restorable by its owner (or an admin)."""
    deleted = [
        d
        for d in guarded(s.deleted, what="Could not read the bin") or ()
        if belongs_here(d.scenario, ds)
    ]
    st.subheader("Bin")
    if not deleted:
        st.caption("Deleted scenarios come here, and can be restored from here.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": d.scenario.name,
                    "owner": d.scenario.created_by or "",
                    "deleted": when(d.deleted),
                    "by": d.deleted_by or "",
                    "revision": d.scenario.revision,
                }
                for d in deleted
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    shown = {d.id: f"{d.scenario.name} (deleted {when(d.deleted)})" for d in deleted}
    pick = st.selectbox("Deleted scenario", list(shown), key="bin_pick", format_func=shown.get)
    entry = next(d for d in deleted if d.id == pick)
    name = (
        entry.scenario.name if not s.exists(entry.scenario.name) else copy_name(entry.scenario.name)
    )
    if name != entry.scenario.name:
        st.caption(
            md(
                f"A scenario called {entry.scenario.name!r} is saved now: it comes back "
                f"as {name!r}."
            )
        )
    if st.button(
        "Restore it from the bin",
        key="undelete",
        disabled=not allows("restore", entry.scenario),
    ) and guarded(
        lambda: s.undelete(
            entry.id, new_name=name, user=user_id(), guard=guard("restore"), on_unlogged=unlogged
        ),
        what="Could not restore the scenario",
    ):
        flash("success", f"Restored scenario {name!r} from the bin.")
        st.rerun()


if st.session_state.pop("go_compare", False):
    st.switch_page("app_pages/compare.py")
show(dataset())
