"""The app's page list, built from lessons/sections.yaml."""
from __future__ import annotations

import streamlit as st

from components.common import cache as app_cache
from core.lessons import LessonError


def lesson_pages() -> list:
    """One st.Page per lesson, in the deck's order; a broken sections file shows an error instead."""
    try:
        sections = app_cache.sections()
    except LessonError as exc:
        st.error(f"The list of lessons could not be read: {exc}")
        return []
    return [st.Page(s.page, title=f"{s.number}. {s.title}", icon=s.icon, url_path=s.id) for s in sections]


# Pages that are not lessons: (file, title, icon, url path). tests/test_layering.py checks these against app_pages/.
WORKSHOP_PAGES = [
    ("app_pages/91_live.py", "Live quiz", ":material/bolt:", "live-quiz"),
    ("app_pages/90_presenter.py", "Presenter", ":material/co_present:", "presenter-console"),
    ("app_pages/92_instructor.py", "Instructor", ":material/insights:", "instructor-analytics"),
]


def workshop_pages() -> list:
    return [st.Page(path, title=title, icon=icon, url_path=url) for path, title, icon, url in WORKSHOP_PAGES]
