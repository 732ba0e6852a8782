"""A lesson page: title, the lesson's Markdown, and live demos where the lesson marks them."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from components import resources
from core.lessons import LessonError, section_by_id, split_demos


def show(section_id: str, demos: dict[str, Callable[[], None]] | None = None) -> None:
    demos = demos or {}
    try:
        section = section_by_id(section_id, resources.sections())
        parts = split_demos(resources.lesson(section))
    except LessonError as exc:
        st.error(f"This lesson could not be loaded: {exc}")
        return
    st.title(f"{section.number}. {section.title}")
    st.caption(section.summary)
    shown = set()
    for part in parts:
        if part.kind == "markdown":
            st.markdown(part.content)
        elif part.content in demos:
            with st.container(border=True):
                demos[part.content]()
            shown.add(part.content)
        else:
            st.info(f"This lesson refers to a demo called “{part.content}” that this version of the app does not have.")
    for name, demo in demos.items():  # a demo the lesson forgot to place goes at the end
        if name not in shown:
            with st.container(border=True):
                demo()
    if section.id != "quiz":  # the quiz page has the whole quiz already
        from components import quiz_view

        quiz_view.end_of_lesson(section.id)
