"""The welcome page: a short introduction and one card per lesson."""
from __future__ import annotations

import logging

import streamlit as st

from components.common import cache as app_cache
from components.common import identity, progress
from core.lessons import LESSONS_DIR, LessonError, split_demos

log = logging.getLogger("genai_lab.home")

# The whole card is the link: the page link's hit area is stretched over its bordered box (a "stretched link").
CARD_CSS = """<style>
[class*="st-key-home_card_"] { position: relative; transition: box-shadow .15s; }
[class*="st-key-home_card_"]:hover { box-shadow: 0 2px 10px rgba(0,0,0,.12); }
[class*="st-key-home_card_"] *:not(a) { position: static !important; }
[class*="st-key-home_card_"] a::after { content: ""; position: absolute; inset: 0; z-index: 1; }
</style>"""


def _demo_names(section) -> list[str]:
    try:
        return [part.content for part in split_demos(app_cache.lesson(section)) if part.kind == "demo"]
    except LessonError:
        return []


def _course(sections, demo_names: dict[str, list[str]]) -> tuple[list[progress.SectionProgress], int] | None:
    """This browser's progress per section and how many RLHF rankings it saved, or None when the database is away
    (the cards still show)."""
    try:
        learner = identity.key()
        rows, attempts = app_cache.progress().rows(learner), app_cache.attempts().rows(learner)
        labels = len(app_cache.labels().rows(labeler_key=learner))
        bank = app_cache.question_bank()
    except Exception as exc:
        log.warning("course map unavailable: %s", exc)
        return None
    by_section = {s.id: [q.id for q in bank.for_section(s.id)] for s in sections}
    return progress.course(sections, demo_names, rows, attempts, by_section), labels


def _course_map(course: list[progress.SectionProgress], labels: int) -> None:
    st.markdown("#### Your course map")
    where = "this browser" if identity.current().persistent else "this tab"
    opened = sum(r.opened for r in course)
    if not opened:
        st.caption(f"Open any lesson to start: this map then shows where you are and what is left, kept for {where}.")
        return
    demos, tried = sum(r.demos for r in course), sum(r.tried for r in course)
    questions, right = sum(r.questions for r in course), sum(r.right for r in course)
    lessons = len(course)
    done = (opened + tried + right) / max(lessons + demos + questions, 1)
    st.progress(done, text=f"{opened} of {lessons} lessons opened · {tried} of {demos} demos tried · {right} of "
                           f"{questions} quiz questions answered right")
    current, upcoming = progress.here(course), progress.next_up(course)
    cols = st.columns(2)
    with cols[0]:
        st.page_link(current.section.page, label=f"You are here: {current.section.number}. {current.section.title}",
                     icon=":material/location_on:")
    if upcoming is not None:
        left = [f"{upcoming.demos - upcoming.tried} demo(s) to try"] if upcoming.tried < upcoming.demos else []
        if upcoming.right < upcoming.questions:
            left.append(f"{upcoming.questions - upcoming.right} question(s) to answer")
        what = "not opened yet" if not upcoming.opened else ", ".join(left) or "to finish"
        with cols[1]:
            st.page_link(upcoming.section.page, icon=":material/arrow_forward:",
                         label=f"Next: {upcoming.section.number}. {upcoming.section.title} ({what})")
    else:
        cols[1].success("Every lesson opened, every demo tried and every question answered right.")
    saved = (f" Your {labels} RLHF ranking{'s are' if labels != 1 else ' is'} on page 9 kept too." if labels
             else "")
    st.caption(f"Kept for {where}, across visits and server restarts; nobody else sees it.{saved}")


def _card_status(r: progress.SectionProgress, current) -> str:
    parts = [":blue-badge[:material/location_on: you are here]"] if r is current else []
    parts.append(":material/check_circle: opened" if r.opened else ":material/radio_button_unchecked: not opened")
    if r.demos:
        parts.append(f"{r.tried}/{r.demos} demos tried")
    if r.questions:
        parts.append(f"{r.right}/{r.questions} quiz right")
    return " · ".join(parts)


def show() -> None:
    st.title("GenAI Lab")
    st.markdown((LESSONS_DIR / "home.md").read_text(encoding="utf-8"))
    try:
        sections = app_cache.sections()
    except LessonError:
        return  # the navigation already shows the error
    demo_names = {s.id: _demo_names(s) for s in sections}
    found = _course(sections, demo_names)
    course = found[0] if found is not None else None
    if found is not None:
        _course_map(*found)
    current = progress.here(course) if course else None
    status = {r.section.id: r for r in course or []}
    st.html(CARD_CSS)
    columns = st.columns(3, gap="medium")
    for i, section in enumerate(sections):
        with columns[i % 3].container(border=True, key=f"home_card_{section.id}"):
            st.page_link(section.page, label=f"{section.number}. {section.title}", icon=section.icon)
            st.caption(section.summary)
            demos = len(demo_names[section.id])
            if section.id in status and status[section.id].opened:
                st.caption(_card_status(status[section.id], current))
            if section.id == "quiz":
                st.markdown(":violet-badge[:material/quiz: self-check quiz]")
            elif demos:
                st.markdown(f":green-badge[:material/science: {demos} live demo{'s' if demos != 1 else ''}]")
            else:
                st.markdown(":gray-badge[:material/menu_book: reading only, for now]")
