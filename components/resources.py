"""The only place that caches across reruns and sessions.

`model_service()` is created once per server process and shared by every browser
session; the heavy imports (torch, transformers) happen on its first call, so a page's
text is on screen before any of that starts.
"""
from __future__ import annotations

import streamlit as st

from core.lessons import Section, lesson_text, load_sections


@st.cache_resource(show_spinner=False)
def model_service():
    from core.model_service import ModelService
    from core.settings import Settings, enforce_offline_default

    enforce_offline_default()
    return ModelService(Settings.from_env())


def model_service_or_none():
    """The service, or None after showing why it could not start (bad registry, missing package, no GPU)."""
    try:
        return model_service()
    except Exception as exc:
        st.error(f"The model service could not start: {exc}")
        return None


@st.cache_data(show_spinner=False)
def sections() -> list[Section]:
    return load_sections()


@st.cache_data(show_spinner=False, ttl=10)
def lesson(section: Section) -> str:
    # A short TTL lets an instructor edit a lesson file and see it on the next rerun.
    return lesson_text(section)
