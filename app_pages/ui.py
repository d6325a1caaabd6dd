"""The small text helpers every page uses: names and messages shown exactly as written,
messages kept for the next run, and time stamps as a planner reads them.

Below every other page module (it imports none of them), so that the sign-in gate and
the shared page helpers can both use it.
"""

from __future__ import annotations

import re
from datetime import datetime

import streamlit as st

from footprint._text import plain

#: Invisible (U+2060 WORD JOINER): put into "http://", "www." and "@" it stops Streamlit's
#: Markdown from turning a web or mail address in a name into a link, which escaping does not.
_JOIN = "\u2060"
_ADDRESS = re.compile(r"(?i)(\\:)(?=//)|\b(www)(?=\\\.)|(@)")


def esc(text: object) -> str:
    """A name (one line) for an element that renders Markdown: shown exactly as written.

    :func:`footprint._text.plain` escapes every character Markdown or Streamlit acts on
    (so ``![t](http://elsewhere/p.png)`` fetches nothing and ``$5m to $6m`` is not
    mathematics); addresses are kept from becoming links as well.
    """
    return _ADDRESS.sub(
        lambda m: (
            (m.group(1) + _JOIN)
            if m.group(1)
            else (m.group(2) + _JOIN)
            if m.group(2)
            else _JOIN + "@"
        ),
        plain(text),
    )


def md(text: object) -> str:
    """``text`` for an element that renders Markdown, shown exactly as written.

    Escaped with :func:`esc` line by line: a message's lines and its list of problems
    (lines starting ``- `` after any indent, as :class:`FootprintError` writes them) keep
    their shape.
    """
    out = []
    for line in str(text).split("\n"):
        indent, bullet, rest = re.fullmatch(r"(\s*)(- )?(.*)", line, flags=re.S).groups()
        out.append(indent + (bullet or "") + esc(rest))
    return "\n".join(out)


def flash(kind: str, message: str) -> None:
    """Queue a message for the next run (callbacks cannot draw). Plain text: shown as written."""
    st.session_state["flash"] = [*st.session_state["flash"], (kind, message)]


def when(stamp: str) -> str:
    """An ISO time stamp as the planner reads it, in local time ("2013-04-01 09:30")."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(stamp)
