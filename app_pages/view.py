"""A scenario opened from its read-only link (``?scenario=<id>``): map, table, status, report.

Nothing here changes anything: no drawing, no saving, no uploads, no optimiser. The page is
drawn by :func:`app_pages.team.gate` in place of the app, for whoever the configuration lets
view a link (:meth:`footprint.access.AccessPolicy.may_view_link`).
"""

from __future__ import annotations

import logging

import streamlit as st

from app_pages.shared import (
    belongs_here,
    dataset,
    draw_map,
    esc,
    footprint_table,
    guarded,
    init_state,
    md,
    plural,
    population_note,
    show_table,
    store,
    units_word,
)
from app_pages.ui import when
from footprint import Dataset, FootprintError, Scenario, export_html_report
from footprint.access import AccessPolicy, User

log = logging.getLogger("footprint.app")


def read_only(ident: object, *, user: User, rules: AccessPolicy) -> None:
    """The view-only page of the scenario ``ident`` names (the id is checked first)."""
    st.title("CSU footprint planner")
    sc = guarded(lambda: store().by_id(ident), what="This link does not open a scenario")
    if sc is None:
        return
    init_state()
    ds = guarded(dataset, what="Could not load the reference data")
    if ds is None:
        return
    if not belongs_here(sc, ds):
        st.warning(
            md(
                f"Scenario {sc.name!r} was drawn on another geography than "
                f"{ds.geography.name!r}, so it cannot be shown here."
            )
        )
        return
    show(ds, sc, user=user, rules=rules)


def show(ds: Dataset, sc: Scenario, *, user: User, rules: AccessPolicy) -> None:
    st.subheader(md(f"Scenario: {sc.name}"))
    owner = sc.created_by or "not recorded"
    st.info(
        md(
            f"Read-only view: nothing here can be changed. Owner: {owner}. Revision "
            f"{sc.revision}, last saved {when(sc.updated or sc.created)}"
            + (f" by {sc.updated_by}" if sc.updated_by else "")
            + "."
        )
    )
    floor = int(st.session_state["floor"])
    table = footprint_table(ds, sc.assignment, floor)
    below = int((~table["meets_floor"]).sum()) if table is not None and len(table) else 0
    n_fp = len(set(sc.assignment.values()))
    g = ds.geography
    st.markdown(
        f"**Status**: {esc(sc.status or sc.source)} · **{plural(n_fp, 'footprint')}**, "
        f"{len(sc.assignment):,} of {len(g.units):,} {esc(units_word(ds))} assigned · "
        f"{plural(below, 'footprint')} below the floor of {floor:,} "
        f"{esc(g.population_label)}"
    )
    if sc.notes:
        st.caption(md(f"Notes: {sc.notes}"))
    draw_map(
        ds,
        plan_=sc.assignment,
        colour_by="footprint",
        key="view_map",
        events=False,
        height=520,
        floor=floor,
        locked=frozenset(),
    )
    show_table(ds, table, floor=floor)
    st.download_button(
        "Download the report (HTML)",
        data=_report(ds, sc),
        file_name="scenario-report.html",
        mime="text/html",
        key="view_report",
        on_click="ignore",
    )
    population_note(ds)
    way_in(user, rules)


def way_in(user: User, rules: AccessPolicy) -> None:
    """The way from the link to the planner, only for whoever may use it: someone viewing
    anonymously is offered the sign-in instead (the planner's pages would only send them
    to the sign-in page)."""
    if rules.may_use_app(user):
        st.link_button("Open the planner", "./")
    elif rules.sign_in:
        st.caption("Planners with an account can sign in to draw, save and optimise.")
        st.button("Sign in to open the planner", on_click=st.login, key="view_sign_in")


def _report(ds: Dataset, sc: Scenario):  # -> Callable[[], bytes]
    def make() -> bytes:
        meta = {
            "scenario": sc.name,
            "status": sc.status or sc.source,
            "owner": sc.created_by or "not recorded",
            "revision": sc.revision,
            "last saved": when(sc.updated or sc.created),
        }
        try:
            return export_html_report(ds.geography, dict(sc.assignment), metadata=meta)
        except Exception as exc:  # runs outside the script: say so in the file, log it
            log.exception("read-only report failed")
            why = str(exc) if isinstance(exc, FootprintError) else "an unexpected error"
            return f"The report could not be made: {why}.\n".encode()

    return make
