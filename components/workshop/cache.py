"""Streamlit caches for the quiz and workshop (one store per database URL, the question bank).

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it)."""
from __future__ import annotations

import streamlit as st

from components.common.cache import process_wide, question_bank, sections  # noqa: F401  (question_bank: here too)
from components.common.cache import store as quiz_store  # noqa: F401  (the quiz, the workshop and page 9's labels)


@process_wide
def unlock_backoff():
    """Wrong presenter keys per browser and per address, for the whole server process (core.workshop.Backoff)."""
    from core.workshop.workshop import Backoff

    return Backoff()


@st.cache_data(show_spinner=False, ttl=1.0, max_entries=256)
def room_pulse(url: str, code: str):
    """A room's pulse (core.workshop.workshop.Pulse), shared by every session for one second: thirty
    participants watching one room cost one small read per second, not thirty (raises WorkshopError)."""
    from core.workshop.workshop import Workshop

    return Workshop(quiz_store(url)).pulse(code)


def room_changed() -> None:
    """After a presenter's action (a move, a question, a reveal): followers' next check reads the room afresh
    instead of the pulse of up to a second ago."""
    room_pulse.clear()
