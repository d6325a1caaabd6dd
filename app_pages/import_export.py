"""Import and export: the drawing or a saved scenario as files; a plan CSV in. (A planner's
own boundaries and populations have their own page, app_pages/own_geography.py.)

Uploads are read once each (their outcome kept in session state), never on every rerun.
Exports carry the attribution and what the population counts; a drawing's locked
footprints travel with it as a scenario.
"""

from __future__ import annotations

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
    unit_word,
    units,
    units_word,
)
from app_pages.uploaded import once, upload_key
from footprint import (
    EXPORT_FORMATS,
    Dataset,
    FootprintError,
    Scenario,
    read_plan_csv,
)
from footprint.plans import PLAN_GEODATA_SUFFIXES, read_plan_geodata

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
    st.markdown("**For a meeting**: a print-ready map, the report, a table for a spreadsheet")
    paper = st.radio("Paper (landscape)", ["A4", "A3"], horizontal=True, key="export_paper")
    _download_row(ds, plan, meta, stem, audience="meeting", options={"paper": paper})
    st.markdown("**For GIS and other tools**")
    _download_row(ds, plan, meta, stem, audience="gis", options={})
    st.caption(
        md(
            f"The map shows each footprint in its colour on this app's map, with its "
            f"population ({g.population_label}), a London inset and the attribution. The "
            f"table has one row per {unit_word(ds)} (code, NHS code, name, footprint, "
            "population, LA and Area Team) and one per footprint. The plan CSV has one row "
            f"per {unit_word(ds)}, unit_code,footprint: the file to import again. Every file "
            f"carries the attribution and says that population means {g.population_label}."
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

    st.subheader("Import a plan from footprint boundaries (GeoPackage, GeoJSON)")
    geo_up = st.file_uploader(
        "A GeoPackage or GeoJSON of footprints (one feature per footprint, with its name)",
        type=[x.lstrip(".") for x in PLAN_GEODATA_SUFFIXES],
        key="plan_geodata",
    )
    if geo_up is None:
        st.session_state.pop("plan_geodata_read", None)
    else:

        def read_geodata() -> Any:
            return read_plan_geodata((geo_up.name, geo_up.getvalue()), g)

        imp = guarded(
            once("plan_geodata_read", (upload_key(geo_up), digest_of(ds)), read_geodata),
            what=f"Could not read {geo_up.name}",
            drop="the footprints file",
        )
        if imp is not None:
            st.caption(
                md(
                    f"Each {unit_word(ds)} goes to the footprint holding most of its area; "
                    "this app's own GeoPackage and GeoJSON read back exactly."
                )
            )
            show_import(ds, imp, geo_up.name, key="geodata")


def _download_row(
    ds: Dataset,
    plan: dict[str, str],
    meta: dict[str, Any],
    stem: str,
    *,
    audience: str,
    options: dict[str, Any],
) -> None:
    """One row of download buttons, the exports for one audience; each made when clicked."""
    formats = [(k, f) for k, f in EXPORT_FORMATS.items() if f.audience == audience]
    for col, (key, fmt) in zip(st.columns(len(formats)), formats, strict=True):
        given = {k: v for k, v in options.items() if k in fmt.options}
        suffix = "".join(f"-{v}" for v in given.values())
        col.download_button(
            fmt.label,
            data=_exporter(fmt.function, ds, plan, meta, **given),
            file_name=f"{stem}{suffix}{fmt.extension}",
            mime=fmt.mime,
            key=f"dl_{key}",
            on_click="ignore",
            width="stretch",
        )


def _exporter(
    fn: Callable[..., bytes],
    ds: Dataset,
    plan: dict[str, str],
    meta: dict[str, Any],
    **options: Any,
) -> Callable[[], bytes]:
    def make() -> bytes:
        # runs when the button is pressed, outside the script: a failure becomes a short
        # text file that says what went wrong (and the log has the details), never a traceback
        try:
            return fn(ds.geography, plan, metadata=meta, **options)
        except Exception as exc:
            log.exception("export failed (%s)", getattr(fn, "__name__", fn))
            why = str(exc) if isinstance(exc, FootprintError) else "an unexpected error"
            return (
                f"The export could not be made: {why}. Your drawing and saved scenarios "
                "are unchanged; the app log has the details.\n"
            ).encode()

    return make


def show_import(ds: Dataset, imp: Any, file_name: str, *, key: str = "") -> None:
    """What an imported plan file holds; every problem in it in one message.

    ``key`` keeps the widgets of two import boxes apart (the CSV's have none).
    """
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
    ambiguous = list(getattr(imp, "ambiguous", ()) or ())
    if ambiguous:
        st.warning(
            md(
                listed(
                    f"{file_name}: {units(ds, len(ambiguous))} lie in more than one footprint; "
                    "each goes where most of its area is",
                    ambiguous,
                )
            )
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
        key=f"confirm_import{key}",
    )
    st.button(
        "Load the imported plan",
        disabled=not ok,
        on_click=load_into_drawing,
        args=(dict(imp.assignment), f"the plan from {file_name}"),
        key=f"load_import{key}",
    )


show(dataset())
