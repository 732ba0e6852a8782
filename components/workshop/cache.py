"""Streamlit caches and accessors for the workshop: the workshop over the app's database, the presenter-key backoff,
and each room's pulse shared by every session for a second (the quiz's attempts and question bank, and StoreError,
are in components/common/cache.py).
Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it)."""
from __future__ import annotations

import streamlit as st

from components.common.cache import database, process_wide
from core.storage.database import database_url
from core.workshop.workshop import Backoff, Workshop


def workshop() -> Workshop:
    """The workshop (rooms, live questions, presenter sessions) over the app's database; raises StoreError when the
    database cannot be opened."""
    return Workshop(database())


@process_wide
def unlock_backoff():
    """Wrong presenter keys per browser and per address, for the whole server process (core.workshop.Backoff)."""
    return Backoff()


@st.cache_data(show_spinner=False, ttl=1.0, max_entries=256)
def _pulse(url: str, code: str):
    return Workshop(database(url)).pulse(code)


def room_pulse(code: str):
    """A room's pulse (core.workshop.workshop.Pulse), shared by every session for one second: thirty
    participants watching one room cost one small read per second, not thirty (raises WorkshopError). Cached per
    database URL too, so a test that points the app at another database never reads the last one's rooms."""
    return _pulse(database_url(), code)


def room_changed() -> None:
    """After a presenter's action (a move, a question, a reveal): followers' next check reads the room afresh
    instead of the pulse of up to a second ago."""
    _pulse.clear()
