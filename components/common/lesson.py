"""A lesson page: title, the lesson's Markdown, live demos where the lesson marks them, and what the page adds
after the text (the end-of-lesson quiz, which the page passes in: this common module never imports the quiz)."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components.common import cache as app_cache
from components.common import progress
from core.lessons import LessonError, outline, section_by_id, split_demos

MIN_HEADINGS_FOR_OUTLINE = 4


def show(section_id: str, demos: dict[str, Callable[[], None]] | None = None,
         end_of_lesson: Callable[[str], None] | None = None) -> None:
    """Draw the lesson `section_id`; `end_of_lesson(section_id)` draws below the text, before the demos fill in."""
    demos = demos or {}
    try:
        section = section_by_id(section_id, app_cache.sections())
        text = app_cache.lesson(section)
        parts = split_demos(text)
    except LessonError as exc:
        st.error(f"This lesson could not be loaded: {exc}")
        return
    st.title(f"{section.number}. {section.title}")
    st.caption(section.summary)
    progress.lesson_opened(section.id)
    headings = outline(text)
    if len(headings) >= MIN_HEADINGS_FOR_OUTLINE:
        # Long lessons (page 6 is ~12,000 px) get a line of links to their sections; Streamlit gives each heading
        # this id. Lesson headings are ours, not user text.
        st.markdown("**On this page:** " + " · ".join(f"[{title}](#{slug})" for title, slug in headings))
    # All the lesson's text is drawn first, with an empty box where each demo goes; the demos (which may load
    # a model) then fill their boxes. A learner reads on while SmolLM2 loads instead of facing half a page.
    slots: list[tuple[str, Callable[[], None], object]] = []
    shown = set()
    for part in parts:
        if part.kind == "markdown":
            st.markdown(part.content)
        elif part.content in demos:
            slots.append((part.content, demos[part.content], _demo_box()))
            shown.add(part.content)
        else:
            st.info(f"This lesson refers to a demo called “{part.content}” that this version of the app does not "
                    "have.")
    for name, demo in demos.items():  # a demo the lesson forgot to place goes at the end
        if name not in shown:
            slots.append((name, demo, _demo_box()))
    if end_of_lesson is not None:
        end_of_lesson(section.id)
    for name, demo, (box, waiting) in slots:
        waiting.empty()
        with box, progress.demo(name):
            demo()


def _demo_box():
    box = st.container(border=True)
    waiting = box.empty()
    waiting.caption("The live demo appears here in a moment…")
    return box, waiting
