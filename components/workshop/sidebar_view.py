"""The Workshop box in the sidebar, on every page: a join form; for a participant, the room, the follow toggle,
where the presenter is and a link to an open question; for the presenter, previous/next lesson buttons that move
everybody who follows."""
from __future__ import annotations

import streamlit as st

from components.common import cache as app_cache
from components.common import keys, store_guard
from components.common.text import literal
from components.quiz import quiz_view
from components.workshop.presenter_session import is_presenter
from components.workshop.room import find_room, join_form, leave
from components.workshop.sync import LIVE_PAGE, LIVE_URL


@store_guard.guarded
def sidebar(current_page: str) -> None:
    """The Workshop box in the sidebar: join, or the room's status with the follow-me fragment.

    `current_page` is the url path of the page on screen (a section id, "live", "" for home)."""
    st.markdown("**Workshop**")
    if is_presenter() and st.session_state.get(keys.PRESENTER_ROOM):
        _presenter_box(current_page)
        return
    if not st.session_state.get(keys.WS_ROOM):
        with st.expander("Join a live workshop"):
            join_form("ws_sidebar")
        return
    st.caption(f"Room **{st.session_state[keys.WS_ROOM]}** · you are **{literal(st.session_state[keys.WS_NAME])}**")
    st.toggle("Follow the presenter", key=keys.WS_FOLLOW,
              on_change=lambda: st.session_state.update({keys.WS_SEEN: None}),
              help="On: your app moves to the page the presenter shows. Off: browse freely.")
    if st.button("Leave the room", key="ws_leave"):
        leave()
        st.rerun()
    _room_status(current_page)


def _room_status(current_page: str) -> None:
    """Where the presenter is, and a link when a live question is open (drawn on every full run)."""
    found = find_room(st.session_state.get(keys.WS_ROOM))
    if found is None:
        return
    _, room = found
    live = room.phase in ("question", "podium")
    where = "the live quiz" if live else (quiz_view.section_title(room.section) if room.section else "")
    if where:
        st.caption(f"Presenter is on: {where}")
    if room.phase == "question" and current_page != LIVE_URL:
        st.page_link(LIVE_PAGE, label="A live question is open — answer it", icon=":material/bolt:")


def _presenter_box(current_page: str) -> None:
    """For the presenter: the room, and previous/next buttons that move everybody who follows."""
    found = find_room(st.session_state[keys.PRESENTER_ROOM])
    if found is None:
        return
    _, room = found
    sections = app_cache.sections()
    ids = [s.id for s in sections]
    st.caption(f"You present room **{room.code}**")
    index = ids.index(room.section) if room.section in ids else -1
    if st.button("Next lesson ▶", key="ws_next", disabled=index >= len(sections) - 1, shortcut="PageDown",
                 width="stretch", type="primary"):
        st.switch_page(sections[index + 1].page)
    if st.button("◀ Previous lesson", key="ws_prev", disabled=index <= 0, shortcut="PageUp", width="stretch"):
        st.switch_page(sections[index - 1].page)
    st.page_link("app_pages/90_presenter.py", label="Presenter console", icon=":material/co_present:")
