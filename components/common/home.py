"""The welcome page: a short introduction and one card per lesson."""
from __future__ import annotations

import streamlit as st

from components.common import cache as app_cache
from core.lessons import LESSONS_DIR, LessonError


def show() -> None:
    st.title("GenAI Lab")
    st.markdown((LESSONS_DIR / "home.md").read_text(encoding="utf-8"))
    try:
        sections = app_cache.sections()
    except LessonError:
        return  # the navigation already shows the error
    columns = st.columns(3, gap="medium")
    for i, section in enumerate(sections):
        with columns[i % 3].container(border=True):
            st.page_link(section.page, label=f"{section.number}. {section.title}", icon=section.icon)
            st.caption(section.summary)
