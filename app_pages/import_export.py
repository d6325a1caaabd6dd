"""Import and export: the drawing or a saved scenario as files; a plan CSV in; a planner's
own boundaries and populations.

Uploads are read once each (their outcome kept in session state), never on every rerun.
Exports carry the attribution and what the population counts; a drawing's locked
footprints travel with it as a scenario.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import streamlit as st

from app_pages.shared import (
    DRAWING,
    OWN_LABELS,
    dataset,
    digest_of,
    drawing,
    flash,
    guarded,
    listed,
    load_into_drawing,
    md,
    of_this_geography,
    others_note,
    picker,
    picker_labels,
    plural,
    show_flash,
    store_or_say,
    switch_geography,
)
from footprint import EXPORT_FORMATS, Dataset, FootprintError, Scenario, read_plan_csv
from footprint.uploads import inspect_upload_columns, load_uploaded_geography

log = logging.getLogger("footprint.app")


def export_metadata(ds: Dataset, name: str, sc: Scenario | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"scenario": name, "population": ds.geography.population_label}
    if sc is not None:
        meta.update(status=sc.status or "", source=sc.source, notes=sc.notes)
        if sc.constraints_json:
            meta["constraints"] = sc.constraints_json
    else:
        meta.update(source="drawn", status="drawing")
    return meta


def upload_key(up: Any) -> tuple[str, str, int]:
    """What tells one upload from another: Streamlit's id for it (a hash of the bytes where
    there is none), its name and size."""
    ident = getattr(up, "file_id", None) or hashlib.sha256(up.getvalue()).hexdigest()
    return str(ident), str(up.name), int(getattr(up, "size", 0) or 0)


def once(slot: str, key: Any, work: Callable[[], Any]) -> Callable[[], Any]:
    """``work`` done once per ``key`` (an upload), its outcome kept in session state.

    Reading a large upload again on every rerun (each click) took seconds and gigabytes;
    this keeps the last outcome, result or error, of each ``slot`` (one upload box) and
    returns a call that gives it back (raising the error again), for :func:`guarded`.
    """
    held = st.session_state.get(slot)
    if held is None or held[0] != key:
        try:
            outcome: tuple[Any, BaseException | None] = (work(), None)
        except Exception as exc:
            if not isinstance(exc, FootprintError):
                log.exception("unexpected error reading an upload (%s)", slot)
            # kept without its traceback, whose frames would keep the file's contents alive
            exc.__traceback__ = exc.__context__ = exc.__cause__ = None
            outcome = (None, exc)
        held = (key, outcome)
        st.session_state[slot] = held
    value, error = held[1]

    def again() -> Any:
        if error is not None:
            raise error
        return value

    return again


def show(ds: Dataset) -> None:
    g = ds.geography
    show_flash()
    st.subheader("Export")
    s = store_or_say("Saved scenarios cannot be exported; the drawing can")
    listing = s and guarded(s.scan, what="Could not read the scenario folder")
    saved, others = of_this_geography(ds, listing.scenarios) if listing else ([], 0)
    by_option: dict[tuple[str, str], Scenario | None] = {
        DRAWING: None, **{("scenario", sc.name): sc for sc in saved}}
    which = picker(st, "Plan to export", list(by_option), key="export_pick")
    others_note(others)
    sc = by_option[which]
    name = OWN_LABELS[DRAWING] if sc is None else sc.name
    plan = dict(drawing().assignment) if sc is None else dict(sc.assignment)
    meta = export_metadata(ds, name, sc)
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "plan"
    if not plan:
        st.info(md(f"{picker_labels(list(by_option))[which]} has no footprints yet: the files "
                   "will list every CCG with an empty footprint. Draw on the map, or pick a "
                   "saved scenario above."))
    cols = st.columns(len(EXPORT_FORMATS))
    for col, (key, fmt) in zip(cols, EXPORT_FORMATS.items(), strict=True):
        col.download_button(
            fmt.label, data=_exporter(fmt.function, ds, plan, meta),
            file_name=f"{stem}{fmt.extension}", mime=fmt.mime, key=f"dl_{key}",
            on_click="ignore", width="stretch")
    st.caption(md("The CSV has one row per CCG, unit_code,footprint; codes stay text. Every "
                  "file carries the attribution and says that population means "
                  f"{g.population_label}."))

    st.subheader("Import a plan (CSV)")
    up = st.file_uploader("A CSV with columns unit_code, footprint", type=["csv", "txt"],
                          key="plan_csv")
    if up is None:
        st.session_state.pop("plan_csv_read", None)  # let the last file's contents go
    else:
        def read() -> Any:
            nhs = {h: c for c, h in zip(g.units["code"], g.units["nhs_code"], strict=True)
                   if h}
            return read_plan_csv(up.getvalue(), known_codes=list(g.units["code"]),
                                 nhs_codes=nhs)

        imp = guarded(once("plan_csv_read", (upload_key(up), digest_of(ds)), read),
                      what=f"Could not read {up.name}", drop="the plan file")
        if imp is not None:
            show_import(imp, up.name)
    own_geography()


def _exporter(fn: Callable[..., bytes], ds: Dataset, plan: dict[str, str],
              meta: dict[str, Any]) -> Callable[[], bytes]:
    def make() -> bytes:
        # runs when the button is pressed, outside the script: a failure becomes a short
        # text file that says what went wrong (and the log has the details), never a traceback
        try:
            return fn(ds.geography, plan, metadata=meta)
        except Exception as exc:
            log.exception("export failed (%s)", getattr(fn, "__name__", fn))
            why = str(exc) if isinstance(exc, FootprintError) else "an unexpected error"
            return (f"The export could not be made: {why}. Your drawing and saved scenarios "
                    "are unchanged; the app log has the details.\n").encode()

    return make


def show_import(imp: Any, file_name: str) -> None:
    """What an imported plan file holds; every problem in it in one message."""
    problems = [*(getattr(imp, "problems", ()) or ())]
    if imp.unknown_codes:
        problems.append(f"{len(imp.unknown_codes)} code(s) are not CCGs of this geography: "
                        + ", ".join(map(str, imp.unknown_codes[:15]))
                        + (", …" if len(imp.unknown_codes) > 15 else ""))
    if imp.duplicates:
        problems.append(f"{len(imp.duplicates)} CCG(s) appear more than once: "
                        + ", ".join(map(str, imp.duplicates[:15]))
                        + (", …" if len(imp.duplicates) > 15 else ""))
    if imp.missing:
        st.warning(f"{len(imp.missing)} CCG(s) are not in the file; they will be unassigned.")
    if problems:
        st.error(md(listed(f"{file_name}: {plural(len(problems), 'problem')} in the file",
                           problems)))
    if not imp.assignment:
        st.error(md(f"{file_name}: no valid rows to load."))
        return
    n = len(imp.assignment)
    st.info(md(f"{file_name}: {n} valid row(s) in {len(set(imp.assignment.values()))} "
               "footprints."))
    st.session_state["imported_plan"] = {"assignment": dict(imp.assignment), "file": file_name}
    ok = st.checkbox(f"Load these {n} rows" + (" (ignoring the problems above)" if problems
                                                else "") + ", replacing my drawing",
                     key="confirm_import")
    st.button("Load the imported plan", disabled=not ok, on_click=load_into_drawing,
              args=(dict(imp.assignment), f"the plan from {file_name}"), key="load_import")


def upload_columns(up: Any, slot: str) -> list[str] | None:
    """Column names of an uploaded geography file, read once per upload (``None``: refused,
    with the reason shown)."""
    if up is None:
        st.session_state.pop(slot, None)
        return None
    read = once(slot, upload_key(up), lambda: inspect_upload_columns((up.name, up.getvalue())))
    return guarded(read, what=f"Could not use {up.name}", drop=up.name)


def own_geography() -> None:
    st.subheader("Use your own boundaries and populations")
    st.caption("Boundaries: GeoJSON, GeoPackage, TopoJSON or a zipped shapefile, one feature per "
               "unit. Populations: a CSV with a code column and a population column.")
    if st.session_state["custom_dataset"] is not None and st.button(
            "Go back to the England 2013 CCGs (and the drawing made on them)"):
        switch_geography(None)
        flash("success", "Back on the England 2013 CCGs, with the drawing you left there.")
        st.rerun()
    b = st.file_uploader("Boundary file", type=["geojson", "json", "gpkg", "topojson", "zip"],
                         key="own_boundaries")
    p = st.file_uploader("Population CSV", type=["csv", "txt"], key="own_population")
    # each file is checked as soon as it arrives (once), so a bad one is reported at once
    bcols = upload_columns(b, "own_boundaries_read")
    pcols = upload_columns(p, "own_population_read")
    if not bcols or not pcols:
        if (b is None) != (p is None) and (bcols or pcols):
            st.caption("Add the " + ("population CSV" if p is None else "boundary file")
                       + " to go on.")
        return
    c1, c2, c3, c4 = st.columns(4)
    code_col = c1.selectbox("Code column (boundaries)", bcols)
    pcode_col = c2.selectbox("Code column (populations)", pcols)
    pop_col = c3.selectbox("Population column", pcols, index=len(pcols) - 1)
    name_col = c4.selectbox("Name column (optional)", [None, *bcols])
    pop_label = st.text_input("What the population counts", value="residents")
    if st.button("Use these files"):
        def build() -> Dataset:
            geo = load_uploaded_geography(
                (b.name, b.getvalue()), (p.name, p.getvalue()), code_column=code_col,
                population_column=pop_col, population_code_column=pcode_col,
                name_column=name_col, population_label=pop_label)
            return Dataset.from_geography(geo)

        with st.spinner("Checking the files and building the geography…"):
            custom = guarded(build, what="Could not use these files")
        if custom is not None:
            switch_geography(custom)
            flash("success", f"Now planning on {custom.geography.name!r} "
                             f"({len(custom.geography.units)} units).")
            st.rerun()


show(dataset())
