"""Help: what the tool does, its rules, how to draw, how to read a result, and a glossary.

The glossary is :data:`footprint.glossary.GLOSSARY` (data in the library, so a test checks
that every term the app shows is defined); this page only lays it out. The rules name this
geography's own island bridges and river crossings.
"""

from __future__ import annotations

import streamlit as st

from app_pages.shared import dataset, esc, short_label, unit_names, unit_word, units_word
from footprint.glossary import GLOSSARY, GROUPS

ds = dataset()
g = ds.geography
one, many = esc(unit_word(ds)), esc(units_word(ds))
population = esc(g.population_label)
floor = int(st.session_state.get("floor", 300_000))


def links_text() -> str:
    """This geography's island bridges and river crossings, by name."""
    names = unit_names(ds)
    adj = ds.adjacency

    def pairs(links) -> str:
        return "; ".join(f"{esc(names.get(a, a))} – {esc(names.get(b, b))}" for a, b in links)

    parts = []
    if adj.bridges:
        parts.append(f"island bridges: {pairs(adj.bridges)}")
    if adj.river_crossings:
        parts.append(f"river crossings: {pairs(adj.river_crossings)}")
    return (" Here they are the " + ", and the ".join(parts) + ".") if parts else ""


st.subheader("How the planner works")
st.markdown(f"""
It helps you group {many} into **commissioning support footprints**: each footprint is a
set of {many} that one commissioning support unit would serve. You can draw footprints
by hand on the map, let the optimiser plan them (as many as the rules allow, the most
compact, the most even, or the fewest changes to your drawing), compare plans, and save
and export them. **Population means {population}** everywhere in the app.
""")

st.subheader("The rules")
la_rule = (
    f"""- **The LA rule** (`whole-la`): {many} must not cross local authority boundaries.
  Each {one} has a *home LA* (the upper-tier LA holding most of its area); the {many} that
  share a home LA form an **LA block**, and a block stays in one footprint. A footprint may
  hold several LAs. The Optimise page can switch the rule off; the drawing is always
  checked with it on. {many} with an orange dot cross an LA boundary (their tooltip gives
  the shares)."""
    if g.has_la_layer
    else "- **The LA rule** is off: this geography has no local authority layer."
)
st.markdown(f"""
- **The floor**: every footprint needs at least the floor in {population}; it is set
  once, in the sidebar, for every page (now {floor:,} {esc(short_label(ds))}). A footprint
  below it is outlined in red on the map and unticked in the table's ≥ column.
{la_rule}
- **Contiguity**: every footprint must be **in one piece**: each {one} reaches the others
  through shared borders. Where the boundaries stop at water, the app adds links, drawn
  as dashed blue lines: **island bridges** join an island to the mainland and **river
  crossings** join {many} facing each other across a tidal river.{links_text()}
- Optional rules on the Optimise page: a ceiling, {many} kept together or apart, {many}
  fixed to a footprint, and locked footprints, which the optimiser keeps as they are.
""")

st.subheader("Drawing")
st.markdown(f"""
- **Click** a {one} to put it in the footprint chosen beside the map (or a new one, or
  none). **Paint whole LA blocks** or **Paint whole Area Teams** makes one click take the
  whole block or team.
- **Several at once**: shift-click {many}, or hold shift and drag a box; the map counts
  the selection; **Put in the chosen footprint** puts them all in, Esc or Clear lets go.
- **Rename** a footprint by typing over its name in the table beside the map; names are
  cleaned (line breaks, control and invisible characters removed, at most 80 characters)
  and the message says what changed. Two footprints cannot share a name.
- **Lock** a footprint with the 🔒 box in the table (or Lock beside Undo): it is drawn
  hatched with a heavy black outline, clicks cannot change it and the optimiser keeps it.
- Every action is one step that **↶ Undo** takes back. Zoom in to see {one} names on the
  map; the sidebar colours the map by footprint, population, distance from the floor,
  upper-tier LA, Area Team or Region.
- Your drawing and its undo history are kept on the server under the address in your
  browser's address bar (the `?d=` part): reloading the page, or coming back to the same
  address after the app restarts, brings them back. Anyone with that address sees the
  same drawing; save a scenario to share a plan on purpose.
""")

st.subheader("Reading a result")
st.markdown("""
Each run of the optimiser ends with a **status**:

| status | what it means |
|---|---|
| **Proven best** (optimal) | The plan meets every rule; no plan does better on the objective. |
| **Feasible** | The plan meets every rule, but time ran out before it was proven best. |
| **Infeasible** | No plan can meet every rule as set; each reason says what to change. |
| **No solution** | No valid plan was found in the time allowed; give it more time. |

The **bound** is what the solver has *proven* about the best possible plan. Maximising
footprints, a bound of 82 means no plan has more than 82 footprints; minimising a
distance or a spread, it is the least any plan can reach. The **gap** is how far the plan
found could be from that bound, as a share: 80 footprints against a bound of 82 is a gap of
2.5%, so at most 2 more footprints could exist. A gap of 0% is proven best. A feasible
plan with a small gap is usually good enough to use; a large gap means that more time (or
a simpler question) could find a better plan, not that one exists.
""")


def entry(term) -> str:
    """One glossary line: the term, the codes it goes by in settings and files, its meaning."""
    codes = [a for a in term.aliases if " " not in a and ("-" in a or "_" in a)]
    said = f" ({', '.join(f'`{c}`' for c in codes)})" if codes else ""
    return f"- **{esc(term.term)}**{said}: {esc(term.meaning)}"


st.subheader("Glossary")
for group in GROUPS:
    entries = sorted((t for t in GLOSSARY if t.group == group), key=lambda t: t.term.casefold())
    with st.expander(group, expanded=True):
        st.markdown("\n".join(entry(t) for t in entries))

st.subheader("The pages")
st.markdown(f"""
- **Map and drawing**: draw footprints on the map; the table beside it checks every
  footprint against the floor and the LA rule.
- **Optimise**: plan footprints from scratch or from your drawing; the result is saved as
  a new scenario and only replaces your drawing if you ask. With a partial drawing, "Keep
  my footprints, plan the rest" keeps every drawn footprint and plans only the {many} in
  no footprint.
- **Scenarios**: saved scenarios of this geography; load one (its locked footprints stay
  locked), see who saved each version and restore one, or restore a deleted scenario from
  the bin. On a team server each scenario has an owner, and a read-only link to show it.
- **Compare**: two plans side by side (your drawing, a scenario, the Area Teams or the
  Regions), with the CCGs that moved between them.
- **Import and export**: files for other tools, a printed proposal (PDF or PNG) for a
  meeting, or a plan CSV in.
- **Floor sweep and firm groupings**: how many footprints the map supports as the floor
  moves, and which borders stay inside one footprint in every good plan found.
- **Your own boundaries**: your own boundaries and populations, with an optional LA layer
  (without one the LA rule is off), the coordinate system where a file does not say it,
  and your own name for the units.
""")
