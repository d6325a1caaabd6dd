"""Your own boundaries: a planner's own units and populations (and an optional LA layer)
replace England's 2013 CCGs.

Each upload is read once (its outcome kept in session state), never on every rerun; the
geography is built only when the planner asks.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages.shared import (
    dataset,
    england,
    flash,
    guarded,
    md,
    show_flash,
    switch_geography,
    units,
)
from app_pages.uploaded import as_upload, files_of, once, upload_key
from footprint import MAX_UPLOAD_UNITS, Dataset
from footprint._formats import MAPINFO_PARTS
from footprint.uploads import (
    BOUNDARY_UPLOAD_SUFFIXES,
    COMMON_CRS,
    MAX_UPLOAD_BYTES,
    SHAPEFILE_PARTS,
    inspect_upload_columns,
    load_uploaded_geography,
    outline_of,
    preview_figure,
    preview_upload,
    upload_crs,
)

#: What the boundary boxes take: one file (GeoJSON, GeoPackage, TopoJSON, a zip), or the
#: loose parts of one shapefile or one MapInfo table together.
BOUNDARY_TYPES = sorted(
    {ext.lstrip(".") for ext in (*BOUNDARY_UPLOAD_SUFFIXES, *MAPINFO_PARTS, *SHAPEFILE_PARTS)}
)


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
    crs = g.extra.get("crs_chosen")
    read = f" Its boundaries were read in {crs}, as chosen when they were uploaded." if crs else ""
    st.caption(md(f"Planning on {g.name}: {units(ds, len(g.units))}, {la}.{read}"))


@st.cache_resource(show_spinner=False)
def england_outline() -> Any:
    """England's outline for the coordinate-system preview (merged once per server)."""
    return outline_of(england().geography.units)


def chosen_crs(files: list[Any]) -> tuple[int | None, bool]:
    """The coordinate system to read the boundaries in, and whether the page can go on.

    None when the file says its own. A file that says none (TopoJSON, mostly) is read in
    the one the planner picks from the two common ones, with a small map that shows
    whether the shapes then land on England.
    """
    key = tuple(upload_key(f) for f in files)
    names = ", ".join(f.name for f in files)
    said = guarded(
        once("own_boundaries_crs", key, lambda: (upload_crs(as_upload(files)),)),
        what=f"Could not read the coordinate system of {names}",
        drop=names,
    )
    if said is None:
        return None, False
    if said[0] is not None:
        st.caption(md(f"{names} says its coordinates are in {said[0]}."))
        return None, True
    choice = st.radio(
        f"{names} does not say which coordinate system it uses. Which one is it?",
        list(COMMON_CRS),
        index=None,
        format_func=lambda code: COMMON_CRS[code],
        key="own_crs",
        help="GIS software shows it in the layer's properties; most files from ONS or NHS "
        "England in metres are British National Grid, web map files are WGS84.",
    )
    if choice is None:
        return None, False
    preview = guarded(
        once(
            "own_crs_preview", (key, choice), lambda: preview_upload(as_upload(files), crs=choice)
        ),
        what=f"Could not place {names} in {COMMON_CRS[choice]}",
        drop=names,
    )
    if preview is None:
        return choice, False
    left, right = st.columns([1, 2])
    left.pyplot(preview_figure(preview, outline=england_outline()), width="content")
    share = preview.on_england
    if share >= 0.9:
        right.success(
            md(
                f"{share:.0%} of the shapes land on England (the dashed box): "
                f"{COMMON_CRS[choice]} looks right."
            )
        )
    else:
        right.warning(
            md(
                f"Only {share:.0%} of the shapes land on England (the dashed box) "
                f"when read in {COMMON_CRS[choice]}: choose the other coordinate system."
            )
        )
    return choice, True


def own_geography() -> None:
    show_flash()
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
    crs, ready = chosen_crs(b) if bcols else (None, False)
    if not bcols or not pcols:
        if bool(b) != (p is not None) and (bcols or pcols):
            st.caption(
                "Add the " + ("population CSV" if p is None else "boundary file") + " to go on."
            )
        return
    if not ready:
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
                crs=crs,
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
                "Your own boundaries page to turn it on)"
            )
            flash("success", f"Now planning on {g.name!r} ({units(custom, len(g.units))}), {rule}.")
            st.rerun()


own_geography()
