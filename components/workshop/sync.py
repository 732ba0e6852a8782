"""How every session keeps up with its workshop room: the room's pulse, the one timed update (`watch`), following
the presenter to the Live page, the presenter's moves reaching the room, and the presenter's self-running quiz.

One fragment per session, `watch()`, drawn first in the sidebar on every page and every run, so its place (and id)
never changes. Every REFRESH_S seconds it reads the room's pulse from a cache shared by all sessions (one database
read per room per second however many people watch) and compares it with what this session's page drew; only when
they differ does it ask for one full rerun. Pages themselves are plain scripts: no other fragment refreshes on a
timer, nothing is drawn from a timer, and page switches happen at the top of a full run (`follow_presenter`).
Countdowns are CSS animations in the browser. Why: several timed fragments that rerun, draw and switch pages raced
each other and left participants with "Bad delta path" and a blank page; drawing nothing from the timer removes
the race and most of the server's work.
Session-state keys: components/common/keys.py.
"""
from __future__ import annotations

import time

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from components.common import cache as app_cache
from components.common import heartbeat, keys, store_guard
from components.quiz import quiz_view
from components.workshop import cache
from components.workshop.presenter_session import is_presenter
from components.workshop.room import workshop
from core.workshop.quiz import LATE_GRACE_S
from core.workshop.workshop import Pulse, WorkshopError, auto_action, next_question_id

REFRESH_S = 2.0
LIVE_PAGE = "app_pages/91_live.py"
LIVE_URL = "live-quiz"   # url path of LIVE_PAGE (components/common/navigation.py)
PRESENTER_PAGE = "app_pages/90_presenter.py"
PRESENTER_URL = "presenter-console"


def pulse(code: str | None) -> Pulse | None:
    """The room's pulse from the shared one-second cache; None without a room, a store, or a live room."""
    if not code:
        return None
    try:
        return cache.room_pulse(code)
    except (WorkshopError, Exception):   # the page's own full run reports why (store_guard, room.find_room)
        return None


def _drawn_state(current_page: str) -> tuple | None:
    """What this session's page shows of the room; a change of it is worth a full rerun.

    Participants: the presenter's moves (the room version) and whether the open question is still open.
    The presenter on the console: also who joined and how many answered. Elsewhere the presenter's own clicks
    rerun the page, so there is nothing to watch."""
    presenting = is_presenter() and st.session_state.get(keys.PRESENTER_ROOM)
    if presenting:
        if current_page != PRESENTER_URL:
            return None
        p = pulse(st.session_state.get(keys.PRESENTER_ROOM))
    else:
        p = pulse(st.session_state.get(keys.WS_ROOM))
    if p is None:
        return None
    q = p.question
    is_open = q is not None and not q.revealed and time.time() <= q.started_at + q.time_limit + LATE_GRACE_S
    state = (p.room.code, p.room.version, is_open)
    return state + (p.participants, p.answers) if presenting else state


def _running_page_hash() -> str | None:
    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx is not None else None


def remember_drawn(current_page: str, page) -> None:
    """Called by app.py at the start of every full run: the page this run draws, and what it shows of the room."""
    st.session_state[keys.WS_SENT_RUN] = st.session_state.pop(keys.WS_SENT, None)   # this full run sends it
    st.session_state[keys.WS_DRAWN] = _drawn_state(current_page)
    st.session_state[keys.WS_PAGE] = (_running_page_hash(), page)


@st.fragment
def watch(current_page: str) -> None:
    """The session's only timed update: draws nothing, reruns the app when the room moved on (see the top).

    A timer tick the browser sent just before it learned of a page switch names the page it was leaving; Streamlit
    runs that tick as a run of the old page, and the browser drops the new page's elements: a blank page. Such a
    tick is recognised here (the page it runs differs from the page of the last full run) and answered with a
    switch back to the right page, which draws it again in full.

    The ticks come from `heartbeat.beat`, a timer the page itself owns, not from Streamlit's `run_every`, whose
    browser-side timer was seen to vanish under load (components/common/heartbeat.py)."""
    if not (st.session_state.get(keys.WS_ROOM) or st.session_state.get(keys.PRESENTER_ROOM)):
        return              # not in a workshop: nothing to watch, no ticks (joining or opening a room reruns the page)
    heartbeat.beat("ws_heartbeat", REFRESH_S)
    auto_step()
    # An answer whose click this tick's run took: send it (participant_view._mark_sent).
    if st.session_state.get(keys.WS_SENT):
        st.rerun()
    running, (drawn_hash, drawn_page) = _running_page_hash(), st.session_state.get(keys.WS_PAGE, (None, None))
    if drawn_hash is not None and running != drawn_hash and drawn_page is not None:
        st.switch_page(drawn_page)
    if st.session_state.get(keys.WS_DRAWN) != _drawn_state(current_page):
        st.rerun()


def auto_step() -> str:
    """The presenter's self-running quiz (the console's toggle), one step per heartbeat of the presenter's tab, on
    any page: reveal when everyone answered or time is up, leave the answer and leaderboard up for AUTO_PAUSE_S,
    then launch the section's next question not asked yet with the last time limit, or the podium after the last.
    Returns the action taken ("wait" when there was nothing to do)."""
    code = st.session_state.get(keys.PRESENTER_ROOM)
    if not (code and st.session_state.get(keys.PRESENTER_AUTO) and is_presenter()):
        return "wait"
    ws = workshop()
    if ws is None:
        return "wait"
    try:
        room = ws.live_room(code)
        current = ws.rooms.current_question(code)
        seen = st.session_state.setdefault(keys.PRESENTER_REVEALED, {})
        now = ws.clock()
        if current is not None and current.revealed:        # revealed by hand or by an earlier step: pause from now
            seen.setdefault((code, current.seq), now)
        answered = len(ws.rooms.answers(code, current.seq)) if current is not None else 0
        action = auto_action(room.phase, current, answered, len(ws.rooms.participants(code)), now,
                             seen.get((code, current.seq)) if current is not None else None)
        if action == "reveal":
            ws.reveal(code)
            cache.room_changed()
            seen[(code, current.seq)] = now
        elif action == "next":
            bank = quiz_view.bank()
            asked = {q.question_id for q in ws.rooms.questions(code)}
            qid = next_question_id([q.id for q in bank.for_section(current.section)], asked, current.question_id)
            if qid is None:
                ws.finish(code)
                action = "podium"
            else:
                ws.launch(code, bank.by_id(qid), st.session_state.get(keys.PRESENTER_LIMIT, 20))
            cache.room_changed()
        return action
    except WorkshopError:
        return "wait"                # the console says why (a closed room, a store error)

@store_guard.guarded
def follow_presenter(current_page: str) -> None:
    """Called by app.py before the page draws: a participant who follows belongs on the Live page.

    The Live page draws whatever the presenter shows (their lesson, the question, the podium), so following the
    presenter from lesson to lesson never switches pages: it reruns the Live page. A follower is sent there once
    (after joining from another page, or when the presenter moves while they browsed elsewhere); switching pages
    while a timer ticks is what used to blank participants' screens (see `watch`)."""
    code = st.session_state.get(keys.WS_ROOM)
    if not code or not st.session_state.get(keys.WS_FOLLOW, True):
        return
    found = pulse(code)
    if found is None:
        return  # the sidebar box says why
    room = found.room
    if st.session_state.get(keys.WS_SEEN) == room.version:
        return
    st.session_state[keys.WS_SEEN] = room.version
    if current_page != LIVE_URL and (room.section or room.phase != "lobby"):
        st.switch_page(LIVE_PAGE)

@store_guard.guarded
def sync_presenter(current_page: str) -> None:
    """Before a page draws: when the presenter opens a lesson, the room moves there (followers follow)."""
    code = st.session_state.get(keys.PRESENTER_ROOM)
    if not code or not is_presenter():
        return
    ids = [s.id for s in app_cache.sections()]
    if current_page not in ids:
        return
    ws = workshop()
    if ws is None:
        return
    try:
        if ws.live_room(code).section != current_page:
            ws.go_to(code, current_page)
            cache.room_changed()
    except WorkshopError:
        pass  # an expired room is reported in the sidebar box
