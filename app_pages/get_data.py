"""When England's reference data is missing: say so, offer to download it, show the progress.

Not a page of its own: ``app.py`` shows it in place of the page chosen for as long as the
England 2013 files are missing or changed (and the planner is not working on their own
boundaries). The download is :func:`footprint.fetch.fetch_data`, the same code path as
``python -m footprint fetch``: the manifest's sources (or ``FOOTPRINT_DATA_MIRROR``), every
checksum, each file installed atomically, nothing half-written left after a failure. What
it will do is known before the button is pressed (:func:`footprint.fetch.plan_fetch`):
where it writes, which files, how many bytes. On success the cached dataset is cleared and
the app runs again, so the map appears without a restart.

Nothing here touches the network until the planner presses the button.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import streamlit as st

from footprint import DataError, FootprintError
from footprint._manifest import ManifestFile, read_manifest, resolve_data_dir
from footprint.fetch import (
    FetchPlan,
    default_fetch_dir,
    fetch_data,
    files_and_size,
    offline_advice,
    plan_fetch,
    plan_line,
    progress_text,
    size_text,
)

from .shared import capped, england, esc, md

#: Session key of the last download's failure, shown until a download succeeds.
FAILURE = "fetch_failure"


def reference_data_missing() -> bool:
    """Whether England's reference data must be fetched before the pages can run.

    Free once the data is loaded (the cached dataset answers); while it is missing, the
    files are looked for again on every run, so a copy put in place by hand (or by
    ``python -m footprint fetch``) is picked up without a restart.
    """
    if st.session_state.get("custom_dataset") is not None:
        return False
    try:
        england()
        return False
    except Exception:  # told apart below; any other failure is shown where the page loads
        pass
    try:
        resolve_data_dir()
    except DataError:
        return True
    return False


@st.cache_resource(show_spinner=False)
def _one_download_at_a_time() -> threading.Lock:
    """Sessions pressing the button at once take turns (the second finds the files there)."""
    return threading.Lock()


def offer_download() -> None:
    """The missing-data section: one line, what will be fetched from where, the button."""
    manifest = read_manifest()
    try:
        plan = plan_fetch(manifest=manifest)
    except FootprintError as exc:
        st.error(md(capped(str(exc))))
        st.caption(md(offline_advice(FetchPlan(default_fetch_dir(), ()), manifest=manifest)))
        return
    st.subheader("Get the reference data")
    st.info(md(plan_line(plan, manifest=manifest)))
    _describe(plan)
    label = f"Download the reference data ({size_text(plan.total_bytes)})"
    clicked = st.button(label, type="primary", key="fetch_data")
    if clicked:
        st.session_state[FAILURE] = None
        if _download(plan):
            england.clear()
        st.rerun()  # the map, or what is still missing (fewer files) with the reason
    failure = st.session_state.get(FAILURE)
    if failure:
        st.error(md(capped(failure)))
        st.warning(md(offline_advice(plan, manifest=manifest)))
    _attribution()


def _describe(plan: FetchPlan) -> None:
    """Where from, where to, and the files with their sizes."""
    hosts = ", ".join(plan.hosts) or "nowhere (every file is here)"
    where = f"From {hosts} into {plan.folder}"
    st.caption(md(f"{where}. Each file is checked against its sha256 before it is kept."))
    if plan.note:
        st.warning(md(plan.note))
    rows = [{"file": f.path, "what": f.role, "size": size_text(f.bytes)} for f in plan.files]
    st.dataframe(rows, hide_index=True, width="stretch")


def _download(plan: FetchPlan) -> bool:
    """Fetch with a bar per file; ``False`` (the reason kept in the session) on failure."""
    st.caption(md(f"Downloading {files_and_size(plan)} in all…"))
    bars = {f.path: st.progress(0.0, text=esc(progress_text(f, 0))) for f in plan.files}
    shown: dict[str, int] = {}
    try:
        with _one_download_at_a_time():
            fetch_data(
                plan.folder, mirror=plan.mirror, progress=False, on_progress=_mover(bars, shown)
            )
    except FootprintError as exc:
        st.session_state[FAILURE] = str(exc)
        return False
    return True


def _mover(bars: dict[str, Any], shown: dict[str, int]) -> Callable[[ManifestFile, int], None]:
    """The callback that moves a file's bar, at most once per whole per cent (kept in
    ``shown``)."""

    def tell(f: ManifestFile, received: int) -> None:
        bar = bars.get(f.path)
        if bar is None:  # a file that was there when the plan was made
            return
        pct = min(100, received * 100 // max(f.bytes, 1))
        if shown.get(f.path) == pct:
            return
        shown[f.path] = pct
        bar.progress(pct / 100, text=esc(progress_text(f, received)))

    return tell


def _attribution() -> None:
    manifest = read_manifest()
    st.caption(
        "Population means **registered patients** (QOF 2013/14 list sizes). "
        + md(manifest.licence)
        + ": "
        + " · ".join(md(a) for a in manifest.attribution)
    )
