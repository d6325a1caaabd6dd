"""The team server in the app: the sign-in gate, who is acting, and scenarios' read-only links.

One code path for both ways to run. With no secrets file (the README's two commands) there is
no sign-in: :func:`gate` lets every run through and the local user owns everything. With an
``[auth]`` section in the secrets files Streamlit reads (``.streamlit/secrets.toml``, or the
files named by its ``secrets.files`` option), Streamlit's own ``st.login`` signs planners in
with the OpenID Connect provider named there, and nothing of the app (map, scenarios, uploads,
optimiser) runs before they have. The rules themselves are :mod:`footprint.access`.

A scenario's link (``?scenario=<id>``) opens it read-only: its map, table, status and report,
no editing; for any signed-in planner, or for anyone if the configuration allows anonymous
viewing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

import streamlit as st

from app_pages.ui import esc, flash, md, when
from footprint import Scenario
from footprint.access import (
    ANONYMOUS,
    LOCAL_USER,
    AccessPolicy,
    ConfigurationError,
    User,
    read_settings,
)
from footprint.scenarios import Guard, ScenarioStore


class ReadOnlyView(Protocol):
    """Draws the view-only page of the scenario a link names (``app_pages.view.read_only``)."""

    def __call__(self, ident: object, *, user: User, rules: AccessPolicy) -> None: ...


log = logging.getLogger("footprint.app")

#: The query parameter of a read-only link.
LINK_PARAMETER = "scenario"


def policy() -> AccessPolicy:
    """The rules in force, from the secrets files Streamlit reads (read on each run: a
    changed file takes effect without a restart, as Streamlit's own secrets do).

    Raises
    ------
    ConfigurationError
        When the files cannot be read or ``[auth]`` is incomplete: the app stays closed.
    """
    paths = st.get_option("secrets.files") or []
    return AccessPolicy.from_settings(read_settings(paths))


def current_user(rules: AccessPolicy | None = None) -> User:
    """Who is acting: the local user without sign-in, else the signed-in identity (or nobody)."""
    rules = rules if rules is not None else policy()
    if not rules.sign_in:
        return LOCAL_USER
    try:
        if not st.user.is_logged_in:
            return ANONYMOUS
        return User.from_claims(st.user.to_dict())
    except Exception:  # no identity to read (no session): nobody, never someone else
        log.warning("could not read the signed-in identity", exc_info=True)
        return ANONYMOUS


def user_id() -> str:
    """What a save records as who made it."""
    return current_user().id


def guard(action: str) -> Guard:
    """The store's guard for ``action`` by the current planner: checked under the store's
    lock against the scenario as saved now (a new name needs no owner)."""
    rules = policy()
    user = current_user(rules)

    def check(saved: Scenario | None) -> None:
        if saved is not None:
            rules.check(user, action, name=saved.name, owner=saved.created_by)

    return check


def allows(action: str, sc: Scenario) -> bool:
    """Whether the current planner may do ``action`` to ``sc`` (to offer its button or not)."""
    rules = policy()
    return rules.allows(current_user(rules), action, owner=sc.created_by)


# --- the gate -------------------------------------------------------------------------------


def gate(*, view: ReadOnlyView, store: Callable[[], ScenarioStore]) -> bool:
    """Run first in every run: True when the app may go on, else the page drawn instead.

    A configuration that cannot be used keeps the app closed (with what to fix). Someone
    not signed in on a team server sees only the sign-in page; a read-only link shows
    the scenario's view-only page (``view``) instead of the app. ``store`` opens the
    scenario store, whose audit log's trouble every planner is told of. Both come from the
    app's entry point, so that this module imports no page that imports it.
    """
    try:
        rules = policy()
    except ConfigurationError as exc:
        st.error(md(str(exc)))
        return False
    user = current_user(rules)
    link = st.query_params.get(LINK_PARAMETER)
    if link is not None and rules.may_view_link(user):
        view(link, user=user, rules=rules)
        return False
    if not rules.may_use_app(user):
        sign_in_page(rules, link=link is not None)
        return False
    if rules.sign_in:
        account(user, rules)
    audit_trouble(store)
    return True


def audit_trouble(store: Callable[[], ScenarioStore]) -> None:
    """Tell every planner when the audit log cannot be written: saves, restores and deletions
    are kept, but go unrecorded there (the app's log has each) until someone fixes it."""
    try:
        trouble = store().log.trouble()
    except Exception:  # the scenario folder itself is unusable: the pages say so
        return
    if trouble is not None:
        since, reason = trouble
        st.warning(
            md(
                f"The audit log of saves, restores and deletions cannot be written ({reason}) "
                f"since {when(since)}. Changes are saved, but not recorded in it (the app's "
                "log has them). Tell whoever runs the server."
            )
        )


def unlogged(message: str) -> None:
    """The store's ``on_unlogged``: a change that is done but not in the audit log, told on
    the next run (the store calls it from within a button's action)."""
    flash("warning", message[:1].upper() + message[1:] + ".")


def sign_in_page(rules: AccessPolicy, *, link: bool) -> None:
    """All an unsigned browser sees on a team server."""
    st.title("CSU footprint planner")
    st.markdown(
        "This planner is shared by a team: **sign in** with your organisation's account "
        "to see the map, the scenarios and the optimiser."
    )
    if link:
        st.info("Sign in to open the scenario this link names (read-only).")
    st.button("Sign in", type="primary", on_click=st.login, key="sign_in")
    st.caption(rules.describe())
    st.caption(
        "Contains public sector information licensed under the Open Government Licence v3.0."
    )


def account(user: User, rules: AccessPolicy) -> None:
    """Who is signed in, in the sidebar, with the way out."""
    with st.sidebar:
        admin = " (admin)" if rules.is_admin(user) else ""
        st.caption(f"Signed in as **{esc(user.name)}**{admin}")
        st.button("Sign out", on_click=st.logout, key="sign_out")


def link_for(ident: str) -> str:
    """A scenario's read-only link as the planner copies it: the app's address (its base
    path kept) with ``?scenario=<id>``; a relative link when the address is not known."""
    try:
        parts = urlsplit(str(st.context.url or ""))
    except Exception:  # no request to read it from
        parts = urlsplit("")
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    root = f"{parts.scheme}://{parts.netloc}/" if parts.netloc else "./"
    return f"{root}{base + '/' if base else ''}?{LINK_PARAMETER}={ident}"
