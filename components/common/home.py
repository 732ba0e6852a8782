"""The welcome page: a short introduction and one card per lesson."""
from __future__ import annotations

import streamlit as st

from components.common import cache as app_cache
from core.lessons import LESSONS_DIR, LessonError, split_demos

# The whole card is the link: the page link's hit area is stretched over its bordered box (a "stretched link").
CARD_CSS = """<style>
[class*="st-key-home_card_"] { position: relative; transition: box-shadow .15s; }
[class*="st-key-home_card_"]:hover { box-shadow: 0 2px 10px rgba(0,0,0,.12); }
[class*="st-key-home_card_"] *:not(a) { position: static !important; }
[class*="st-key-home_card_"] a::after { content: ""; position: absolute; inset: 0; z-index: 1; }
</style>"""


def _demo_count(section) -> int:
    try:
        return sum(part.kind == "demo" for part in split_demos(app_cache.lesson(section)))
    except LessonError:
        return 0


def show() -> None:
    st.title("GenAI Lab")
    st.markdown((LESSONS_DIR / "home.md").read_text(encoding="utf-8"))
    try:
        sections = app_cache.sections()
    except LessonError:
        return  # the navigation already shows the error
    st.html(CARD_CSS)
    columns = st.columns(3, gap="medium")
    for i, section in enumerate(sections):
        with columns[i % 3].container(border=True, key=f"home_card_{section.id}"):
            st.page_link(section.page, label=f"{section.number}. {section.title}", icon=section.icon)
            st.caption(section.summary)
            demos = _demo_count(section)
            if section.id == "quiz":
                st.markdown(":violet-badge[:material/quiz: self-check quiz]")
            elif demos:
                st.markdown(f":green-badge[:material/science: {demos} live demo{'s' if demos != 1 else ''}]")
            else:
                st.markdown(":gray-badge[:material/menu_book: reading only, for now]")
