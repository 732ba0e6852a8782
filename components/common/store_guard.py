"""A database that stops answering mid-session (a PostgreSQL server restarting, a locked SQLite file) must
show a message, not a traceback: entry points of the quiz and workshop views are wrapped with `guarded`."""
from __future__ import annotations

import functools

import streamlit as st

from components.common.cache import StoreError


def guarded(fn):
    """Run `fn`; a StoreError that escapes it becomes a warning (Streamlit's rerun/stop signals pass through)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StoreError as exc:
            st.warning(f"The quiz and workshop database did not answer, so this part is paused: {exc}. "
                       "It comes back by itself when the database does; your saved answers are kept there.")
            return None
    return wrapper
