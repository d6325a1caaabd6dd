"""The planner's app: draw commissioning support footprints on a map, optimise, compare, export.

The entry point of a Streamlit app laid out as pages (``st.navigation``), one module per
page in ``app_pages/``: it loads the data (cached), sets up the session's state once,
runs the page chosen and draws the shared sidebar. Everything that is not a widget lives in
the ``footprint`` library; what the pages share is in ``app_pages/shared.py``.

Run with ``streamlit run app.py``. Scenarios are saved as JSON files in ``./scenarios`` (or
the folder named by ``FOOTPRINT_SCENARIO_DIR``); each browser's drawing, with its undo
history, is kept in ``./drawings`` (``FOOTPRINT_DRAWING_DIR``) under the token in the
page's address (``?d=...``), so it survives a reload and a restart.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages.get_data import offer_download, reference_data_missing
from app_pages.shared import (
    dataset,
    digest_of,
    guarded,
    in_place,
    init_state,
    page_links,
    population_note,
    sidebar,
    store,
)
from app_pages.team import gate
from app_pages.view import read_only

st.set_page_config(page_title="CSU footprint planner", layout="wide")

#: The page modules' folder: found from this file, so that the app runs from any folder and
#: under a wrapper script (the browser tests plant faults that way).
HERE = Path(__file__).resolve().parent / "app_pages"
#: The pages, each with its own address; the first is the home page.
PAGES = [
    st.Page(HERE / "draw.py", title="Map and drawing", url_path="draw", default=True),
    st.Page(HERE / "optimise.py", title="Optimise", url_path="optimise"),
    st.Page(HERE / "scenarios.py", title="Scenarios", url_path="scenarios"),
    st.Page(HERE / "compare.py", title="Compare", url_path="compare"),
    st.Page(HERE / "import_export.py", title="Import and export", url_path="import-export"),
    st.Page(HERE / "sweep.py", title="Floor sweep and firm groupings", url_path="sweep"),
    st.Page(HERE / "own_geography.py", title="Your own boundaries", url_path="own-geography"),
    st.Page(HERE / "help.py", title="Help", url_path="help"),
]


def main() -> None:
    # The page comes first and the sidebar's settings last: the page then streams the map to
    # the browser before them (the settings are read from session state, set up first).
    # Whatever happens in the page, the page links and the sidebar are drawn.
    # sign-in on a team server, a read-only link (app_pages/team.py)
    if not gate(view=read_only, store=store):
        return
    # The page links are the app's own (page_link), each carrying the drawing's token: with
    # Streamlit's links the address loses ``?d=`` on every page change and the app puts it
    # back, which leaves a second history entry, so Back stayed on the same page.
    page = st.navigation(PAGES, position="hidden")
    links = st.sidebar.container()  # first in the sidebar, filled once the token is known
    ds = None
    try:
        init_state()
        if reference_data_missing():  # a first run: the app fetches its own data
            offer_download()
            return
        ds = guarded(dataset, what="Could not load the reference data")
        if ds is not None:
            if st.session_state["geo"] is None:
                st.session_state["geo"] = digest_of(ds)
            in_place(page.run, where=f"the page {page.title!r}")
            in_place(
                lambda: population_note(ds),
                where="the population note",
                message="The note on what population counts could not be shown.",
            )
    finally:
        page_links(links, PAGES)
        sidebar(ds)


main()
