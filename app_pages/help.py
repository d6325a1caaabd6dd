"""Help: what each page does, in a few lines."""

from __future__ import annotations

import streamlit as st

from app_pages.shared import dataset, esc, short_label, unit_word, units_word

ds = dataset()
one, many = esc(unit_word(ds)), esc(units_word(ds))
st.subheader("How the planner works")
st.markdown(f"""
- **Map and drawing**: choose where a click puts a {one} (a footprint, a new one, or out of its
  footprint), then click {many} on the map or find them by name or code. ↶ Undo and ↷ Redo go
  back and forth; **Lock** keeps a footprint as it is. The table under the map checks every
  footprint against the floor (set once, in the sidebar, for every page) and the LA rule.
- **Optimise**: the optimiser plans footprints from scratch or from your drawing; its result
  is saved as a new scenario and only replaces your drawing if you ask. The LA rule can be
  switched off here (the drawing is always checked with it on, where the geography has an LA
  layer). With a partial drawing, "Keep my footprints, plan the rest" keeps every drawn
  footprint and plans only the {many} in no footprint.
- **Scenarios and comparison**: saved scenarios of this geography; load one (its locked
  footprints stay locked) or compare two plans.
- **Import and export**: files for other tools, or a plan CSV in.
- **Your own boundaries**: your own boundaries and populations, with an optional LA layer
  (without one the LA rule is off) and your own name for the units.

Your drawing and its undo history are kept on the server under the address in your browser's
address bar (the `?d=` part): reloading the page, or coming back to the same address after
the app restarts, brings them back. Anyone with that address sees the same drawing; save a
scenario to share a plan on purpose.

Population means {esc(ds.geography.population_label)}; the floor counts
{esc(short_label(ds))}.
""")
