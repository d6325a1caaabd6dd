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
    unit_word,
    units,
    units_word,
)
from footprint import (
    EXPORT_FORMATS,
    MAX_UPLOAD_UNITS,
    Dataset,
    FootprintError,
    Scenario,
    read_plan_csv,
)
from footprint._formats import MAPINFO_PARTS
from footprint.uploads import (
    BOUNDARY_UPLOAD_SUFFIXES,
    MAX_UPLOAD_BYTES,
    SHAPEFILE_PARTS,
    inspect_upload_columns,
    load_uploaded_geography,
)

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
        DRAWING: None,
        **{("scenario", sc.name): sc for sc in saved},
    }
    which = picker(st, "Plan to export", list(by_option), key="export_pick")
    others_note(others)
    sc = by_option[which]
    name = OWN_LABELS[DRAWING] if sc is None else sc.name
    plan = dict(drawing().assignment) if sc is None else dict(sc.assignment)
    meta = export_metadata(ds, name, sc)
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "plan"
    if not plan:
        st.info(
            md(
                f"{picker_labels(list(by_option))[which]} has no footprints yet: the files "
                f"will list every {unit_word(ds)} with an empty footprint. Draw on the map, "
                "or pick a "
                "saved scenario above."
            )
        )
    cols = st.columns(len(EXPORT_FORMATS))
    for col, (key, fmt) in zip(cols, EXPORT_FORMATS.items(), strict=True):
        col.download_button(
            fmt.label,
            data=_exporter(fmt.function, ds, plan, meta),
            file_name=f"{stem}{fmt.extension}",
            mime=fmt.mime,
            key=f"dl_{key}",
            on_click="ignore",
            width="stretch",
        )
    st.caption(
        md(
            f"The CSV has one row per {unit_word(ds)}, unit_code,footprint; codes stay "
            "text. Every "
            "file carries the attribution and says that population means "
            f"{g.population_label}."
        )
    )

    st.subheader("Import a plan (CSV)")
    up = st.file_uploader(
        "A CSV with columns unit_code, footprint", type=["csv", "txt"], key="plan_csv"
    )
    if up is None:
        st.session_state.pop("plan_csv_read", None)  # let the last file's contents go
    else:

        def read() -> Any:
            return read_plan_csv(
                up.getvalue(), known_codes=list(g.units["code"]), nhs_codes=g.nhs_code_aliases
            )

        imp = guarded(
            once("plan_csv_read", (upload_key(up), digest_of(ds)), read),
            what=f"Could not read {up.name}",
            drop="the plan file",
        )
        if imp is not None:
            show_import(ds, imp, up.name)
    own_geography()


def _exporter(
    fn: Callable[..., bytes], ds: Dataset, plan: dict[str, str], meta: dict[str, Any]
) -> Callable[[], bytes]:
    def make() -> bytes:
        # runs when the button is pressed, outside the script: a failure becomes a short
        # text file that says what went wrong (and the log has the details), never a traceback
        try:
            return fn(ds.geography, plan, metadata=meta)
        except Exception as exc:
            log.exception("export failed (%s)", getattr(fn, "__name__", fn))
            why = str(exc) if isinstance(exc, FootprintError) else "an unexpected error"
            return (
                f"The export could not be made: {why}. Your drawing and saved scenarios "
                "are unchanged; the app log has the details.\n"
            ).encode()

    return make


def show_import(ds: Dataset, imp: Any, file_name: str) -> None:
    """What an imported plan file holds; every problem in it in one message."""
    problems = [*(getattr(imp, "problems", ()) or ())]
    many = units_word(ds)
    if imp.unknown_codes:
        problems.append(
            f"{len(imp.unknown_codes)} code(s) are not {many} of this geography: "
            + ", ".join(map(str, imp.unknown_codes[:15]))
            + (", …" if len(imp.unknown_codes) > 15 else "")
        )
    if imp.duplicates:
        problems.append(
            f"{units(ds, len(imp.duplicates))} appear more than once: "
            + ", ".join(map(str, imp.duplicates[:15]))
            + (", …" if len(imp.duplicates) > 15 else "")
        )
    if imp.missing:
        st.warning(
            md(f"{units(ds, len(imp.missing))} are not in the file; they will be unassigned.")
        )
    if problems:
        st.error(
            md(listed(f"{file_name}: {plural(len(problems), 'problem')} in the file", problems))
        )
    if not imp.assignment:
        st.error(md(f"{file_name}: no valid rows to load."))
        return
    n = len(imp.assignment)
    st.info(md(f"{file_name}: {n} valid row(s) in {len(set(imp.assignment.values()))} footprints."))
    st.session_state["imported_plan"] = {"assignment": dict(imp.assignment), "file": file_name}
    ok = st.checkbox(
        f"Load these {n} rows"
        + (" (ignoring the problems above)" if problems else "")
        + ", replacing my drawing",
        key="confirm_import",
    )
    st.button(
        "Load the imported plan",
        disabled=not ok,
        on_click=load_into_drawing,
        args=(dict(imp.assignment), f"the plan from {file_name}"),
        key="load_import",
    )


#: What the boundary boxes take: one file (GeoJSON, GeoPackage, TopoJSON, a zip), or the
#: loose parts of one shapefile or one MapInfo table together.
BOUNDARY_TYPES = sorted(
    {ext.lstrip(".") for ext in (*BOUNDARY_UPLOAD_SUFFIXES, *MAPINFO_PARTS, *SHAPEFILE_PARTS)}
)


def as_upload(files: list[Any]) -> tuple[str, bytes] | list[tuple[str, bytes]]:
    """Uploaded files as the library takes them: one (name, bytes), or a list of parts."""
    pairs = [(f.name, f.getvalue()) for f in files]
    return pairs[0] if len(pairs) == 1 else pairs


def files_of(value: Any) -> list[Any]:
    """An uploader's value as a list (one file, several, or none)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def upload_columns(files: list[Any], slot: str) -> list[str] | None:
    """Column names of an uploaded geography file (or a table's parts), read once per upload
    (``None``: nothing uploaded, or refused with the reason shown)."""
    if not files:
        st.session_state.pop(slot, None)
        return None
    names = ", ".join(f.name for f in files)
    read = once(
        slot, tuple(upload_key(f) for f in files), lambda: inspect_upload_columns(as_upload(files))
    )
    return guarded(read, what=f"Could not use {names}", drop=names)


def largest_upload_mb() -> int:
    """The largest file the server takes, in MB: Streamlit's limit or the library's."""
    try:
        server = int(st.get_option("server.maxUploadSize"))
    except (TypeError, ValueError, RuntimeError):
        server = MAX_UPLOAD_BYTES // 2**20
    return min(server, MAX_UPLOAD_BYTES // 2**20)


def limits_note() -> str:
    """What the server accepts, said before anything is built."""
    return (
        f"The server accepts at most **{MAX_UPLOAD_UNITS:,} units** per upload and files of "
        f"at most **{largest_upload_mb():,} MB** each (a zip at most that much unpacked)."
    )


def geography_now(ds: Dataset) -> None:
    """What the geography planned on now is, its units' name and whether it has LAs."""
    g = ds.geography
    la = (
        f"an LA layer of {len(g.la_upper):,} local authorities (the LA rule can keep them whole)"
        if g.has_la_layer and g.la_upper is not None
        else "no LA layer (the LA rule is off)"
    )
    st.caption(md(f"Planning on {g.name}: {units(ds, len(g.units))}, {la}."))


def own_geography() -> None:
    st.subheader("Use your own boundaries and populations")
    geography_now(dataset())
    st.caption(
        "Boundaries: GeoJSON, GeoPackage, TopoJSON, a zipped shapefile, or a MapInfo "
        "table (.tab with its .dat, .map and .id, zipped or the parts together); one "
        "feature per unit. Populations: a CSV with a code column and a population "
        "column. " + limits_note()
    )
    if st.session_state["custom_dataset"] is not None and st.button(
        "Go back to the England 2013 CCGs (and the drawing made on them)"
    ):
        switch_geography(None)
        flash("success", "Back on the England 2013 CCGs, with the drawing you left there.")
        st.rerun()
    b = files_of(
        st.file_uploader(
            "Boundary file (or the parts of one shapefile or MapInfo table)",
            type=BOUNDARY_TYPES,
            key="own_boundaries",
            accept_multiple_files=True,
        )
    )
    p = st.file_uploader("Population CSV", type=["csv", "txt"], key="own_population")
    la = files_of(
        st.file_uploader(
            "LA boundaries (optional): local authorities, so the LA rule can keep them whole",
            type=BOUNDARY_TYPES,
            key="own_la",
            accept_multiple_files=True,
        )
    )
    # each file is checked as soon as it arrives (once), so a bad one is reported at once
    bcols = upload_columns(b, "own_boundaries_read")
    pcols = upload_columns([p] if p is not None else [], "own_population_read")
    lcols = upload_columns(la, "own_la_read")
    if not bcols or not pcols:
        if bool(b) != (p is not None) and (bcols or pcols):
            st.caption(
                "Add the " + ("population CSV" if p is None else "boundary file") + " to go on."
            )
        return
    c1, c2, c3, c4 = st.columns(4)
    code_col = c1.selectbox("Code column (boundaries)", bcols)
    pcode_col = c2.selectbox("Code column (populations)", pcols)
    pop_col = c3.selectbox("Population column", pcols, index=len(pcols) - 1)
    name_col = c4.selectbox("Name column (optional)", [None, *bcols])
    la_code = la_name = None
    if la and not lcols:
        return  # the LA file was refused, and the reason is shown above
    if la:
        l1, l2 = st.columns(2)
        la_code = l1.selectbox("LA code column", lcols, key="own_la_code")
        la_name = l2.selectbox("LA name column (optional)", [None, *lcols], key="own_la_name")
    else:
        st.caption(
            "Without an LA layer the LA rule stays off: which units belong to one "
            "local authority is not known. Add LA boundaries above to turn it on."
        )
    w1, w2, w3 = st.columns(3)
    pop_label = w1.text_input("What the population counts", value="residents")
    one = w2.text_input(
        "Units are called",
        value="unit",
        key="own_unit_label",
        help="As your file calls them: 'ward', 'sub-ICB location', 'CCG'…",
    )
    many = w3.text_input(
        "…and more than one",
        value="",
        key="own_unit_plural",
        placeholder=f"{(one or 'unit').strip()}s",
    )
    if st.button("Use these files"):

        def build() -> Dataset:
            geo = load_uploaded_geography(
                as_upload(b),
                (p.name, p.getvalue()),
                code_column=code_col,
                population_column=pop_col,
                population_code_column=pcode_col,
                name_column=name_col,
                population_label=pop_label,
                la_boundaries=as_upload(la) if la else None,
                la_code_column=la_code,
                la_name_column=la_name,
                unit_label=one.strip() or "unit",
                unit_label_plural=many.strip() or None,
            )
            return Dataset.from_geography(geo)

        with st.spinner("Checking the files and building the geography…"):
            custom = guarded(build, what="Could not use these files")
        if custom is not None:
            switch_geography(custom)
            g = custom.geography
            rule = (
                "with an LA layer: the LA rule keeps each LA whole"
                if g.has_la_layer
                else "without an LA layer: the LA rule is off (add LA boundaries on the "
                "Import and export page to turn it on)"
            )
            flash("success", f"Now planning on {g.name!r} ({units(custom, len(g.units))}), {rule}.")
            st.rerun()


show(dataset())
