"""The presenter console: open a room, show the join code and QR code, see who joined (and remove someone),
switch presenter mode (large fonts), see the server's training runs, and run the live quiz.

Unlocking, the console's cookie and presenter mode: presenter_session.py. The console has no timed fragment of its
own: sync.watch() reruns it when someone joins or answers (see there why).
Session-state keys shared with other files: components/common/keys.py.
"""
from __future__ import annotations

import html
import os
import time
from datetime import datetime, timezone

import segno
import streamlit as st

from components.common import cache as app_cache
from components.common import keys, store_guard
from components.common.text import literal
from components.quiz import quiz_view
from components.workshop import cache as workshop_cache
from components.workshop.charts import (
    TILE_COLOURS,
    TILE_SHAPES,
    answer_distribution,
    countdown_html,
    distribution_chart,
    leaderboard_chart,
    podium_html,
    right_labels,
)
from components.workshop.presenter_session import lock_console, unlocked
from components.workshop.room import workshop
from core.workshop.join_link import PUBLIC_URL_ENV, network_address
from core.workshop.join_link import join_link as build_join_link
from core.workshop.quiz import leaderboard
from core.workshop.workshop import AUTO_PAUSE_S, MAX_PARTICIPANTS, TIME_LIMITS, WorkshopError


def qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=8, border=2)


def join_link(code: str):
    """Where participants join (core/workshop/join_link.py): the setting, the browser's address, the network's."""
    try:
        browser_url = st.context.url or ""
    except Exception:
        browser_url = ""
    port = int(st.get_option("server.port") or 8501)
    return build_join_link(code, os.environ.get(PUBLIC_URL_ENV), browser_url, port, network_address())


@store_guard.guarded
def show(key: str = "presenter") -> None:
    st.title("Presenter console")
    if not unlocked(key):
        return
    ws = workshop()
    if ws is None:
        return
    st.button("Lock console", key=f"{key}_lock", icon=":material/lock:", on_click=lock_console,
              help="Ends the presenter session in this browser and on the server (a copied cookie stops working "
                   "too); the key unlocks it again. Use it before leaving a shared computer.")
    code = st.session_state.get(keys.PRESENTER_ROOM)
    if not code:
        st.markdown("Open a room; participants join with its code from their own browser and follow your pages.")
        left, right = st.columns(2)
        if left.button("Open a new room", key=f"{key}_open", type="primary"):
            room = ws.open_room()
            st.session_state[keys.PRESENTER_ROOM] = room.code
            st.rerun()
        with right.form(f"{key}_reopen", border=False):
            typed = st.text_input("…or continue a room you opened before", key=f"{key}_reopen_code", max_chars=20)
            if st.form_submit_button("Continue"):
                try:
                    st.session_state[keys.PRESENTER_ROOM] = ws.live_room(typed).code
                    st.rerun()
                except WorkshopError as exc:
                    st.warning(str(exc))
        return
    try:
        room = ws.live_room(code)
    except WorkshopError as exc:
        st.warning(str(exc))
        st.session_state.pop(keys.PRESENTER_ROOM, None)
        return
    # A widget's state is dropped on pages that do not draw it, so the choice is copied to a plain key.
    st.toggle("Presenter mode (large fonts, no toolbar) on every page", key="presenter_mode_toggle",
              value=st.session_state.get(keys.PRESENTER_MODE, False),
              on_change=lambda: st.session_state.update(
                  {keys.PRESENTER_MODE: st.session_state["presenter_mode_toggle"]}))
    tab_room, tab_quiz = st.tabs(["Room", "Live quiz"])
    with tab_room:
        _room_panel(room.code, key)
    with tab_quiz:
        _quiz_panel(room.code, key)


def _room_panel(code: str, key: str) -> None:
    ws = workshop()
    room = ws.rooms.room(code)
    link = join_link(code)
    url = link.url
    left, right = st.columns([3, 2])
    with left:
        st.markdown("Join at")
        st.code(url, language=None, wrap_lines=True)
        if link.warning:
            st.warning(link.warning)
        st.html(f'<div style="font-size:5rem;font-weight:700;letter-spacing:0.4rem;font-family:monospace">'
                f'{html.escape(code)}</div>')
        expires = datetime.fromtimestamp(room.expires_at, tz=timezone.utc).strftime("%H:%M UTC")
        st.caption(f"The room closes at {expires}. Participants: sidebar → Workshop → Join, or open the link.")
        st.markdown("Move through the lessons with **Next lesson ▶ / ◀ Previous lesson** in the sidebar "
                    "(or PageDown / PageUp, which most presentation clickers send), or open any lesson from the menu: "
                    "everybody who follows you moves too.")
        first = app_cache.sections()[0]
        st.page_link(first.page, label=f"Start with lesson {first.number}: {first.title}",
                     icon=":material/play_arrow:")
        if st.button("Close the room for me", key=f"{key}_forget"):
            st.session_state.pop(keys.PRESENTER_ROOM, None)
            st.rerun()
    with right:
        st.html(f'<img src="{qr_data_uri(url)}" alt="QR code for {html.escape(url)}" '
                'style="width:100%;max-width:320px">')
    _participants(code)
    _server_runs(key)


def _participants(code: str) -> None:
    ws = workshop()
    names = ws.rooms.participants(code)
    st.markdown(f"**{len(names)} joined**" + (f" (a room takes at most {MAX_PARTICIPANTS})"
                                              if len(names) > MAX_PARTICIPANTS * 0.8 else ""))
    if not names:
        return
    st.html('<div style="display:flex;flex-wrap:wrap;gap:8px">' + "".join(
        f'<span style="background:#e3f2fd;border-radius:12px;padding:4px 12px">{html.escape(n)}</span>'
        for n in names) + "</div>")
    with st.expander("Remove a participant"):
        st.caption("Their answers leave the leaderboard, their browser loses its seat and cannot join this room "
                   "again, and nobody else can take the nickname.")
        with st.form(f"remove_{code}", border=False):
            name = st.pills("Participant to remove", names, selection_mode="single", key=f"remove_{code}_pick")
            if st.form_submit_button("Remove from the room") and name:
                try:
                    ws.remove(code, name)
                    st.success(f"{literal(name)} was removed.")
                except WorkshopError as exc:
                    st.warning(str(exc))


def _server_runs(key: str) -> None:
    """The training queue as the presenter sees it: every running and waiting run, whose it is, and Cancel."""
    jobs = app_cache.jobs().active()
    st.markdown("**Runs on this server**")
    if not jobs:
        st.caption("Nothing is training now. Races, policy updates, distillations and adapters started on any page "
                   "appear here with their owners.")
        return
    snaps = [job.snapshot() for job in jobs]
    st.dataframe([{"run": snap.title, "whose": snap.who, "state": snap.state,
                   "place": "running" if snap.position == 0 else f"{snap.position} in the queue",
                   "minutes": round((time.time() - (snap.started_at or snap.submitted_at)) / 60, 1)}
                  for snap in snaps], hide_index=True, width="stretch", key=f"{key}_runs")
    by_id = {snap.id: snap for snap in snaps}
    chosen = st.selectbox("Run to cancel", list(by_id), index=None, key=f"{key}_run_pick",
                          format_func=lambda i: f"{by_id[i].title} ({by_id[i].who}, {by_id[i].state})")
    if st.button("Cancel this run", key=f"{key}_run_cancel", disabled=chosen is None):
        job = app_cache.jobs().find(chosen)
        if job is not None and job.cancel():
            st.success("Cancelled: a waiting run leaves the queue, a running one stops after its current step.")


def _quiz_panel(code: str, key: str) -> None:
    ws = workshop()
    bank = quiz_view.bank()
    room = ws.rooms.room(code)
    current = ws.rooms.current_question(code)
    asked = {q.question_id for q in ws.rooms.questions(code)}
    if room.phase != "question" or current is None or current.revealed:
        sections = bank.sections
        default = sections.index(room.section) if room.section in sections else 0
        section = st.selectbox("Section", sections, index=default, key=f"{key}_q_section",
                               format_func=quiz_view.section_title)
        questions = bank.for_section(section)
        qid = st.selectbox("Question", [q.id for q in questions], key=f"{key}_q_pick",
                           format_func=lambda i: ("✓ " if i in asked else "") + bank.by_id(i).prompt[:90])
        limit = st.select_slider("Time limit (seconds)", TIME_LIMITS, key=f"{key}_q_limit",
                                 value=st.session_state.get(keys.PRESENTER_LIMIT, 20))
        c1, c2, c3 = st.columns(3)
        if c1.button("Launch question", key=f"{key}_launch", type="primary"):
            st.session_state[keys.PRESENTER_LIMIT] = limit
            try:
                ws.launch(code, bank.by_id(qid), limit)
                workshop_cache.room_changed()
            except WorkshopError as exc:
                st.warning(str(exc))
            st.rerun()
        if c2.button("Show the podium", key=f"{key}_podium", disabled=not asked):
            ws.finish(code)
            workshop_cache.room_changed()
            st.rerun()
        if room.phase != "lobby" and c3.button("Back to the lesson", key=f"{key}_lobby"):
            ws.back_to_lesson(code)
            workshop_cache.room_changed()
            st.rerun()
    # The toggle's own key differs from PRESENTER_AUTO, which outlives the page (a widget's state is dropped on pages
    # that do not draw it); sharing one key made Streamlit warn on every run of the console.
    st.toggle("Run the quiz on its own", key=f"{key}_auto_toggle",
              value=st.session_state.get(keys.PRESENTER_AUTO, False),
              on_change=lambda: st.session_state.update({keys.PRESENTER_AUTO: st.session_state[f"{key}_auto_toggle"]}),
              help=f"Reveals the answer as soon as everyone has answered or the time is up, shows it with the "
                   f"leaderboard for {AUTO_PAUSE_S:.0f} s, then launches the next question of the same section that "
                   "was not asked yet (same time limit), and the podium after the last one. It runs while this tab "
                   "is open, on any page.")
    _live_results(code, key)


def _live_results(code: str, key: str) -> None:
    """The presenter's live screen: countdown and answer distribution, then the reveal and the leaderboard."""
    ws = workshop()
    room = ws.rooms.room(code)
    current = ws.rooms.current_question(code)
    participants = ws.rooms.participants(code)
    if room.phase == "podium":
        st.subheader("Podium")
        standings = leaderboard(ws.rooms.answers(code), participants)
        st.html(podium_html(standings))
        st.plotly_chart(leaderboard_chart(standings), key=f"{key}_final_board", config={"displayModeBar": False})
        return
    if current is None:
        st.caption("No question launched yet.")
        return
    question = quiz_view.bank().by_id(current.question_id)
    if question is None:
        st.warning(f"Question {current.question_id} is no longer in the bank.")
        return
    answers = ws.rooms.answers(code, current.seq)
    st.markdown(f"#### Question {current.seq}")
    st.markdown("### " + " ".join(question.prompt.split()))      # large: the back row reads it off the projector
    if question.type == "single":                                  # the tiles' colours and shapes, as phones show them
        st.html("".join(
            f'<span style="display:inline-block;margin:4px 8px 4px 0;padding:6px 14px;border-radius:8px;color:#fff;'
            f'font-size:1.2rem;font-weight:600;background:{TILE_COLOURS[i % len(TILE_COLOURS)]}">'
            f'{TILE_SHAPES[i % len(TILE_SHAPES)]} {html.escape(option)}</span>'
            for i, option in enumerate(question.options)))
    left = ws.seconds_left(current)
    if not current.revealed:
        st.markdown(f"**{len(answers)} of {len(participants)} answered**")
        st.html(countdown_html(left, current.time_limit, f"p{code}-{current.seq}"))
        if st.button("Reveal the answer", key=f"{key}_reveal_{current.seq}", type="primary"):
            ws.reveal(code)
            workshop_cache.room_changed()
            st.rerun()
    counts = answer_distribution(ws, code, current.seq, question)
    st.plotly_chart(distribution_chart(counts, right_labels(question, counts) if current.revealed else None),
                    key=f"{key}_dist_{current.seq}_{current.revealed}", config={"displayModeBar": False})
    if current.revealed:
        if st.session_state.get(keys.PRESENTER_AUTO) and room.phase == "question":
            st.caption(f"Running on its own: the next question comes {AUTO_PAUSE_S:.0f} s after the reveal.")
        st.success(f"Answer: **{question.answer_text()}**")
        st.markdown(question.explanation)
        st.markdown("#### Leaderboard")
        standings = leaderboard(ws.rooms.answers(code), participants)
        st.plotly_chart(leaderboard_chart(standings), key=f"{key}_board_{current.seq}",
                        config={"displayModeBar": False})
