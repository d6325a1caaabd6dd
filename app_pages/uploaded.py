"""Uploads read once: what tells one upload from another, and the outcome of reading it kept
in session state (used by the import page and the own-boundaries page)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import streamlit as st

from footprint import FootprintError

log = logging.getLogger("footprint.app")


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


def as_upload(files: list[Any]) -> tuple[str, bytes] | list[tuple[str, bytes]]:
    """Uploaded files as the library takes them: one (name, bytes), or a list of parts."""
    pairs = [(f.name, f.getvalue()) for f in files]
    return pairs[0] if len(pairs) == 1 else pairs


def files_of(value: Any) -> list[Any]:
    """An uploader's value as a list (one file, several, or none)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
