"""The Optimise page's run in the background: start it, show its progress, Cancel it, and
say why no plan exists, reason by reason, with a button for each change the page can make.

The run itself is :mod:`footprint.background` (a thread, no Streamlit): this module only
draws it. A run belongs to the browser (the drawing's token in the address), kept by the
server's :class:`~footprint.background.SolveRegistry`, so that a reload finds it running
or finished, and a second Run while one runs starts nothing. It holds one of the server's
solver slots (``shared.solver_slots``) from when it starts until it ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import streamlit as st

from app_pages.shared import (
    SLOT_WAIT_SECONDS,
    digest_of,
    flash,
    guarded,
    md,
    problem_for,
    solver_slots,
)
from footprint.background import BackgroundSolve, SolveProgress, SolveRegistry
from footprint.form import progress_words
from footprint.reasons import Suggestion, explain, least_ceiling

#: seconds between two redraws of a running solve's progress
REFRESH_SECONDS = 0.5

#: (ds, result, constraints, name, current) -> the summary kept as the page's last result
Keep = Callable[..., None]


@st.cache_resource(show_spinner=False)
def solve_registry() -> SolveRegistry:
    """The server's background runs, one per browser."""
    return SolveRegistry()


def _owner() -> str:
    return str(st.session_state["token"])


def _slot_wait() -> float:
    try:
        return float(os.environ.get("FOOTPRINT_SOLVER_WAIT", "") or SLOT_WAIT_SECONDS)
    except ValueError:
        return SLOT_WAIT_SECONDS


def start_run(ds, constraints: Any, *, name: str, current: dict[str, str] | None) -> None:
    """Start the optimiser in the background for this browser, unless a run of its is going."""
    problem = problem_for(ds, digest_of(ds))
    _run, new = solve_registry().start(
        _owner(),
        problem,
        constraints,
        current=current,
        slots=solver_slots(),
        slot_wait=_slot_wait(),
        meta={"name": name, "current": current, "geo": digest_of(ds)},
    )
    if not new:
        st.warning(
            "Your last run is still going (below): nothing new was started. Cancel it "
            "first to run with other settings."
        )


def show_run(ds, *, keep: Keep) -> None:
    """The browser's run, if any: its progress and Cancel while it goes; its result kept
    (once, whichever page saw it end) and the page redrawn when it ends."""
    failed = st.session_state.pop("solve_failed", None)
    if failed is not None:
        guarded(lambda: _raise(failed), what="Could not optimise")
    run = solve_registry().get(_owner())
    if run is None:
        return

    @st.fragment(run_every=REFRESH_SECONDS)
    def live() -> None:
        p = run.poll()
        if p.done:
            if solve_registry().collect(_owner(), run):
                _finish(ds, run, p, keep)
            st.rerun()
        _draw(run, p)

    live()


def _raise(error: Exception) -> None:
    raise error


def _finish(ds, run: BackgroundSolve, p: SolveProgress, keep: Keep) -> None:
    if p.error is not None:
        st.session_state["solve_failed"] = p.error
        return
    if p.result is None:  # cancelled while it waited for a slot
        flash("info", "Cancelled before it started: nothing was run.")
        return
    if p.meta.get("geo") != digest_of(ds):  # the geography changed while it ran
        flash("warning", "The run ended after the geography changed: its plan was not kept.")
        return
    keep(
        ds,
        p.result,
        run.constraints,
        name=str(p.meta.get("name") or ""),
        current=p.meta.get("current"),
        cancelled=p.cancelled,
    )


def _draw(run: BackgroundSolve, p: SolveProgress) -> None:
    head, figures = progress_words(
        state=p.state,
        elapsed=p.elapsed,
        limit=p.limit,
        stage=p.stage,
        value=p.value,
        bound=p.bound,
    )
    with st.container(border=True):
        st.progress(p.fraction, text=md(head))
        st.caption(md(figures))
        st.button(
            "Cancelling…" if p.cancelled else "Cancel",
            key="cancel_run",
            on_click=run.cancel,
            disabled=p.cancelled,
            help="Stop the run now and keep the best plan it has found, with its bound",
        )


# --- why no plan exists ---------------------------------------------------------------------


def _apply(s: Suggestion, label: str) -> None:
    """A suggestion's button: change the form (or the app's floor) and say what changed."""
    state = st.session_state
    if s.kind == "raise-ceiling":
        state["opt_ceiling"] = int(s.value or 0)
    elif s.kind == "la-rule-off":
        state["opt_la_rule"] = "off"
    elif s.kind == "unlock":
        state["opt_keep_locked"] = False
    elif s.kind == "lower-floor":
        state["floor"] = int(s.value or 0)
    flash("info", f"{label}: done. Run the optimiser again to try it.")


def _button_label(s: Suggestion) -> str:
    # the form keeps all locked footprints or none: say what the button really does
    return "Run without keeping my locked footprints" if s.kind == "unlock" else s.label


def show_reasons(ds, res: dict[str, Any]) -> None:
    """An infeasible result's reasons, one line each, with a button per change this page
    can make; the checks' full sentences behind an expander."""
    reasons = explain(res.get("checks") or (), population_label=ds.geography.population_label)
    if not reasons:
        return
    offered: set[tuple[str, Any]] = set()
    most = least_ceiling(reasons)
    raising = sum(any(s.kind == "raise-ceiling" for s in r.suggestions) for r in reasons)
    if most is not None and raising > 1:  # one change that answers every ceiling reason
        label = f"Raise the ceiling to {most:,} (answers all {raising} ceiling reasons)"
        st.button(
            label,
            key="fix_all_ceiling",
            on_click=_apply,
            args=(Suggestion("raise-ceiling", label, most), label),
        )
    for i, reason in enumerate(reasons):
        st.markdown("- " + md(reason.line))
        fresh = [s for s in reason.suggestions if (s.kind, s.value) not in offered]
        offered |= {(s.kind, s.value) for s in fresh}
        # one button per change, the first time a reason offers it
        unique = {_button_label(s): s for s in fresh}
        if unique:
            cols = st.columns(len(unique) + 1)
            for col, (j, (label, s)) in zip(cols, enumerate(unique.items()), strict=False):
                col.button(
                    label, key=f"fix_{i}_{j}", on_click=_apply, args=(s, label), width="stretch"
                )
    with st.expander("Details: each check's full explanation"):
        for reason in reasons:
            st.markdown("- " + md(reason.detail))
