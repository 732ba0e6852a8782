"""The participant's side of a workshop: join a room, follow the presenter, answer live questions.

Live updates: one fragment per session, `watch()`, drawn first in the sidebar on every page and every run, so
its place (and id) never changes. Every REFRESH_S seconds it reads the room's pulse from a cache shared by all
sessions (one database read per room per second however many people watch) and compares it with what this
session's page drew; only when they differ does it ask for one full rerun. Pages themselves are plain scripts:
no other fragment refreshes on a timer, nothing is drawn from a timer, and page switches happen at the top of
a full run (`follow_presenter`). Countdowns are CSS animations in the browser. Why: several timed fragments
that rerun, draw and switch pages raced each other and left participants with "Bad delta path" and a blank
page (issue 10); drawing nothing from the timer removes the race and most of the server's work.
Session-state keys: components/common/keys.py.
"""
from __future__ import annotations

import html
import os

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from components.common import heartbeat, identity, keys
from components.common.text import literal
from components.workshop import cache, quiz_view
from components.common import cache as app_cache
from components.workshop import store_guard
from core.lessons import LessonError, section_by_id
from core.workshop.quiz import LATE_GRACE_S, Standing, distribution, leaderboard
from core.workshop.workshop import (REMOVED, Pulse, Workshop, WorkshopError, auto_action, next_question_id,
                                   nickname_key, presenter_key_problem, presenter_key_setting, seat_hash)

REFRESH_S = 2.0
LIVE_PAGE = "app_pages/91_live.py"
LIVE_URL = "live-quiz"   # url path of LIVE_PAGE (components/common/navigation.py)
PRESENTER_PAGE = "app_pages/90_presenter.py"
PRESENTER_URL = "presenter-console"


# ---------------------------------------------------------------- shared helpers

def workshop() -> Workshop | None:
    store = quiz_view.store_or_none()
    return cache.workshop() if store is not None else None


def configured_presenter_key() -> str | None:
    """The presenter key when one is set (GENAI_LAB_PRESENTER_KEY, else `presenter_key` in .streamlit/secrets.toml)
    and acceptable; None when none is set or the one set is refused (presenter_key_refusal says why)."""
    key = presenter_key_setting(os.environ, st.secrets)
    return key if key is not None and presenter_key_problem(key) is None else None


def presenter_key_refusal() -> str | None:
    """Why the configured presenter key is refused (the example key, too short), or None."""
    return presenter_key_problem(presenter_key_setting(os.environ, st.secrets))


def is_presenter() -> bool:
    return bool(st.session_state.get(keys.PRESENTER_OK)) and configured_presenter_key() is not None


def section_page(section_id: str) -> str | None:
    try:
        return section_by_id(section_id, app_cache.sections()).page
    except LessonError:
        return None


def leaderboard_chart(standings: list[Standing], highlight: str | None = None, top: int = 10) -> go.Figure:
    shown = standings[:top]
    fig = go.Figure(go.Bar(
        # plotly reads <b>, <br> ... in labels as markup: escape names (it shows entities as the characters)
        x=[s.points for s in shown], y=[f"{s.rank}. {html.escape(s.nickname)}" for s in shown], orientation="h",
        marker_color=["#f57c00" if s.nickname == highlight else "#1976d2" for s in shown],
        text=[f"{s.points:,}" for s in shown], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:,} points<extra></extra>"))
    most = max([s.points for s in shown] + [1])
    # Room on the right for the longest score label ("1,988" after a 1,988-point bar), so no score is clipped.
    fig.update_layout(yaxis=dict(autorange="reversed", type="category"),
                      xaxis=dict(title="points", range=[0, most * 1.25], tickformat=",d", rangemode="tozero"),
                      height=44 * max(len(shown), 1) + 70, margin=dict(l=10, r=60, t=10, b=40))
    return fig


def distribution_chart(counts: dict[str, int], right: set[str] | None = None) -> go.Figure:
    labels = list(counts)
    colors = ["#2e7d32" if right is not None and label in right else
              ("#9e9e9e" if right is not None else "#1976d2") for label in labels]
    # The right answer is marked by a tick as well as by its colour (a colour-blind learner sees both).
    shown = [("✓ " if right is not None and label in right else "") + html.escape(label[:60]) for label in labels]
    fig = go.Figure(go.Bar(x=[counts[k] for k in labels], y=shown, orientation="h",
                           marker_color=colors, text=[str(counts[k]) for k in labels], textposition="outside",
                           cliponaxis=False, hovertemplate="%{y}: %{x}<extra></extra>"))
    most = max(list(counts.values()) + [1])
    # Whole answers only: with one answer plotly would tick 0, 0.2, … 1 and ",d" would print "0 0 0 1 1 1".
    axis = dict(title="answers", range=[0, most * 1.2 + 0.5], tickformat=",d")
    if most <= 10:
        axis["dtick"] = 1
    fig.update_layout(yaxis=dict(autorange="reversed", type="category"), xaxis=axis,
                      height=46 * max(len(labels), 1) + 70, margin=dict(l=10, r=40, t=10, b=40))
    return fig


def right_labels(question, counts: dict[str, int]) -> set[str]:
    if question.type == "single":
        return {question.answer}
    if question.type == "multiple":
        return set(question.answer)
    if question.type == "ordering":
        return {"right order"}
    return {label for label in counts if question.is_correct(label)}     # numeric: labels within the tolerance


def podium_html(standings: list[Standing]) -> str:
    """Top three on steps (2nd, 1st, 3rd); every name is escaped."""
    steps = {1: ("#ffd54f", 180), 2: ("#cfd8dc", 130), 3: ("#ffab91", 100)}
    cells = []
    for place in (2, 1, 3):
        if len(standings) >= place:
            s = standings[place - 1]
            color, height = steps[place]
            cells.append(
                f'<div style="flex:1;text-align:center"><div style="font-size:1.4rem;font-weight:600">'
                f'{html.escape(s.nickname)}</div><div>{s.points:,} points</div>'
                f'<div style="background:{color};height:{height}px;border-radius:8px 8px 0 0;font-size:2.5rem;'
                f'display:flex;align-items:center;justify-content:center">{place}</div></div>')
    return f'<div style="display:flex;gap:12px;align-items:flex-end;max-width:640px">{"".join(cells)}</div>'


# ---------------------------------------------------------------- joining

SEAT_PARAM = "seat"       # where seat tokens used to travel; a link that still carries one is ignored
SEAT_LINKS_GONE = ("This link carried a seat token. Seats stay with the browser that joined, so a shared link cannot "
                   "take someone's seat: join with your own nickname.")


def _join(ws: Workshop, code: str, nickname: str) -> None:
    """Take a seat; the seat is this browser's id (identity.py), so a reload or another tab finds it again."""
    try:
        room, name, seat = ws.take_seat(code, nickname, identity.current().secret)
    except WorkshopError as exc:
        st.warning(str(exc))
        return
    _seated(room.code, name, seat)
    _keep_room_in_url()
    st.rerun()


def _seated(code: str, name: str, seat: str) -> None:
    st.session_state.update({keys.WS_ROOM: code, keys.WS_NAME: name, keys.WS_SEAT: seat, keys.WS_FOLLOW: True,
                             keys.WS_SEEN: None})


def _keep_room_in_url() -> None:
    """The room code in the address bar (it is on the projector anyway), so a reload knows which room to look in;
    the seat itself is the browser's cookie, never in the address."""
    code = st.session_state.get(keys.WS_ROOM)
    if code and st.query_params.get("room") != code:
        st.query_params["room"] = code
    st.query_params.pop(SEAT_PARAM, None)


@store_guard.guarded
def restore_seat() -> None:
    """A new session whose address names a room (a reload, a phone waking up) takes its seat back without asking
    when this browser holds one there; every run of a seated session keeps the room in the address."""
    if st.query_params.get(SEAT_PARAM) is not None:
        st.query_params.pop(SEAT_PARAM, None)
        if not st.session_state.get(keys.WS_ROOM):
            st.info(SEAT_LINKS_GONE, icon=":material/event_seat:")
    if st.session_state.get(keys.WS_ROOM):
        if not _still_seated():
            return
        _keep_room_in_url()
        return
    code = st.query_params.get("room")
    me = identity.current()
    if not (isinstance(code, str) and code and me.persistent):
        return
    ws = workshop()
    found = ws.rejoin(code, me.secret) if ws is not None else None
    if found is not None:
        room, name = found
        _seated(room.code, name, me.secret)


def _still_seated() -> bool:
    """False (and the session leaves the room) when the presenter removed this participant."""
    code, seat = st.session_state.get(keys.WS_ROOM), st.session_state.get(keys.WS_SEAT)
    ws = workshop()
    if ws is None or not seat:
        return True
    held = ws.rooms.participant_by_seat(code, seat_hash(seat))
    if held is not None and held.removed:
        leave()
        st.warning(REMOVED)
        return False
    return True


def join_form(key: str, prefill: str = "") -> None:
    with st.form(f"{key}_join", border=False):
        code = st.text_input("Room code", value=prefill, key=f"{key}_code", max_chars=20, placeholder="e.g. K7MPQ")
        nickname = st.text_input("Nickname", key=f"{key}_nick", max_chars=500, placeholder="how others see you")
        submitted = st.form_submit_button("Join", type="primary")
    if submitted:
        ws = workshop()
        if ws is not None:
            _join(ws, code, nickname)


def leave() -> None:
    for k in (keys.WS_ROOM, keys.WS_NAME, keys.WS_SEEN, keys.WS_SEAT):
        st.session_state.pop(k, None)
    st.query_params.pop(SEAT_PARAM, None)
    st.query_params.pop("room", None)


# ---------------------------------------------------------------- the sidebar box

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
    st.toggle("Follow the presenter", key=keys.WS_FOLLOW, on_change=lambda: st.session_state.update({keys.WS_SEEN: None}),
              help="On: your app moves to the page the presenter shows. Off: browse freely.")
    if st.button("Leave the room", key="ws_leave"):
        leave()
        st.rerun()
    _room_status(current_page)


def _room(code: str | None):
    """(workshop, room) for a room code, or None: no code, no store, or a warning saying why the room is gone.
    The room comes from the one-second pulse every session shares: a presenter's move makes a room of 100 rerun
    their pages at once, and each of those runs would otherwise read the room from the database again."""
    ws = workshop()
    if not code or ws is None:
        return None
    try:
        return ws, cache.room_pulse(code).room
    except WorkshopError as exc:
        st.warning(str(exc))
        return None


def _room_status(current_page: str) -> None:
    """Where the presenter is, and a link when a live question is open (drawn on every full run)."""
    found = _room(st.session_state.get(keys.WS_ROOM))
    if found is None:
        return
    _, room = found
    live = room.phase in ("question", "podium")
    where = "the live quiz" if live else (quiz_view.section_title(room.section) if room.section else "")
    if where:
        st.caption(f"Presenter is on: {where}")
    if room.phase == "question" and current_page != LIVE_URL:
        st.page_link(LIVE_PAGE, label="A live question is open — answer it", icon=":material/bolt:")


# ---------------------------------------------------------------- the one live update

def pulse(code: str | None) -> Pulse | None:
    """The room's pulse from the shared one-second cache; None without a room, a store, or a live room."""
    if not code:
        return None
    try:
        return cache.room_pulse(code)
    except (WorkshopError, Exception):   # the page's own full run reports why (store_guard, _room)
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
    is_open = q is not None and not q.revealed and _clock() <= q.started_at + q.time_limit + LATE_GRACE_S
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
    if st.session_state.get(keys.WS_SENT):        # an answer whose click this tick's run took: send it (_mark_sent)
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


def _presenter_box(current_page: str) -> None:
    """For the presenter: the room, and previous/next buttons that move everybody who follows."""
    found = _room(st.session_state[keys.PRESENTER_ROOM])
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


# ---------------------------------------------------------------- the live page (participants)

@store_guard.guarded
def live_page(key: str = "live") -> None:
    """The participant's page: join; then, while following, the presenter's lesson, question or podium."""
    if not st.session_state.get(keys.WS_ROOM):
        st.title("Live quiz")
        st.markdown("Join the presenter's room with the code on the screen and a nickname of your choice. "
                    "The presenter's lessons and live questions then appear on this page; right and fast answers "
                    "earn more points.")
        prefill = st.query_params.get("room", "")
        join_form(f"{key}_main", prefill=prefill[:20] if isinstance(prefill, str) else "")
        return
    # The room's timed check runs every few seconds; its "Running…" badge would blink on every phone for nothing.
    st.html('<style>[data-testid="stStatusWidget"]{visibility:hidden}</style>')
    who = f"Room **{st.session_state[keys.WS_ROOM]}** · you are **{literal(st.session_state[keys.WS_NAME])}**"
    found = _room(st.session_state.get(keys.WS_ROOM))
    if (found is not None and st.session_state.get(keys.WS_FOLLOW, True) and found[1].section
            and found[1].phase not in ("question", "podium")):
        st.caption(f"{who} · following the presenter: this page shows their lesson. Switch *Follow the presenter* "
                   "off in the sidebar to explore on your own.")
        from components import demos
        from components.common import lesson

        section = found[1].section
        lesson.show(section, demos=demos.on_demand(section, demos.for_section(section)))
        return
    st.title("Live quiz")
    st.caption(who)
    _live_question(key)


def _live_question(key: str) -> None:
    code, name = st.session_state.get(keys.WS_ROOM), st.session_state.get(keys.WS_NAME)
    found = _room(code)
    if found is None:
        return
    ws, room = found
    bank = quiz_view.bank()
    current = ws.rooms.current_question(code)
    if room.phase == "podium":
        st.subheader("Final results")
        standings = leaderboard(ws.rooms.answers(code), ws.rooms.participants(code))
        st.html(podium_html(standings))
        _my_rank(standings, name)
        return
    if room.phase != "question" or current is None:
        st.info("Waiting for the presenter to launch a question…", icon=":material/hourglass_top:")
        return
    question = bank.by_id(current.question_id)
    if question is None:
        st.warning("The presenter's question is not in this app's question bank.")
        return
    sent = st.session_state.get(keys.WS_SENT_RUN)        # an answer clicked since the last full run (_mark_sent)
    mine = [a for a in ws.rooms.answers(code, current.seq) if a["nickname_key"] == nickname_key(name)]
    st.markdown(f"**Question {current.seq}** · {quiz_view.section_title(question.section)}")
    if current.revealed:
        st.markdown(question.prompt)
        if mine:
            a = mine[0]
            (st.success if a["correct"] else st.error)(
                f"{'Right' if a['correct'] else 'Not right'}: you answered {_shown_response(a['response'])} and earn "
                f"**{a['points']:,}** points.")
        else:
            st.info("You did not answer this one.")
        st.markdown(f"Answer: **{question.answer_text()}**. {question.explanation}")
        standings = leaderboard(ws.rooms.answers(code), ws.rooms.participants(code))
        st.plotly_chart(leaderboard_chart(standings, highlight=name), key=f"{key}_board_{current.seq}",
                        config={"displayModeBar": False})
        _my_rank(standings, name)
        return
    if mine:
        st.markdown(question.prompt)
        st.success(f"Your answer is in ({mine[0]['elapsed']:.1f} s): {_shown_response(mine[0]['response'])}. "
                   "Wait for the presenter to reveal it.", icon=":material/how_to_reg:")
        return
    left = ws.seconds_left(current)
    if not ws.is_open(current):
        st.markdown(question.prompt)
        st.warning("Time is up for this question.")
        return
    st.html(countdown_html(left, current.time_limit, f"{code}-{current.seq}"))
    form_key, sent_here = f"{key}_{code}_{current.seq}", (sent or (None, None))[:2] == (code, current.seq)
    if question.type == "single":
        submitted, response = answer_tiles(question, form_key, on_pick=_mark_sent, args=(code, current.seq))
    else:
        submitted, response = quiz_view.answer_form(question, form_key, submit_label="Send answer",
                                                    on_submit=_mark_sent, args=(code, current.seq))
    if not submitted and sent_here:          # the click's own run was taken by a timer tick: its callback kept it
        submitted = True
        response, problem = (sent[2], None) if sent[2] is not None else quiz_view.submitted_response(question,
                                                                                                 form_key)
        if problem:
            st.warning(problem)
    if submitted and response is not None:
        try:
            ws.answer(code, current.seq, name, question, response)
        except WorkshopError as exc:
            st.warning(str(exc))
            return
        st.rerun()   # the page redraws as "Your answer is in"


TILE_COLOURS = ("#D32F2F", "#1565C0", "#E65100", "#2E7D32", "#6A1B9A", "#00695C")   # white text readable
TILE_SHAPES = ("▲", "◆", "●", "■", "★", "⬟")


def _mark_sent(code: str, seq: int, option=None) -> None:
    """A live answer's button callback. Callbacks run before whichever run handles the click, even when the
    browser's click and a heartbeat tick arrive together and the tick's fragment run takes it (the button then
    reads False in no run at all: 2 of 30 answers were lost that way in bench/live_round.py). `watch` sees this
    mark and reruns the page, which sends the answer (`_live_question`)."""
    st.session_state[keys.WS_SENT] = (code, seq, option)


def answer_tiles(question, key: str, on_pick=None, args: tuple = ()) -> tuple[bool, object]:
    """A single-choice live question as big coloured tiles, two per row: one tap answers (phones first). Each tile
    is a real button, so it works with a keyboard and a screen reader; colour and shape tell the tiles apart on the
    projector and for colour-blind players. `on_pick(*args, option)` runs when a tile is pressed."""
    st.markdown("#### " + " ".join(question.prompt.split()))       # the bank's Markdown, one line, large
    css = ["<style>"]
    for i in range(len(question.options)):
        colour = TILE_COLOURS[i % len(TILE_COLOURS)]
        css.append(f".st-key-{key}_tile_{i} button{{background:{colour};color:#fff;border:none;min-height:5.2rem;"
                   f"font-size:1.25rem;font-weight:600;width:100%;white-space:normal;text-align:left}}"
                   f".st-key-{key}_tile_{i} button p{{font-size:1.3rem;font-weight:600}}"
                   f".st-key-{key}_tile_{i} button:hover,.st-key-{key}_tile_{i} button:focus-visible"
                   f"{{filter:brightness(1.1);color:#fff;outline:3px solid #212121}}")
    st.html("".join(css) + "</style>")
    chosen = None
    for row in range(0, len(question.options), 2):
        cols = st.columns(2)
        for i in range(row, min(row + 2, len(question.options))):
            with cols[i - row].container(key=f"{key}_tile_{i}"):
                label = f"{TILE_SHAPES[i % len(TILE_SHAPES)]}  {question.options[i]}"
                if st.button(label, key=f"{key}_tile_button_{i}", use_container_width=True,
                             on_click=on_pick, args=(*args, question.options[i]) if on_pick else None):
                    chosen = question.options[i]
    return chosen is not None, chosen


def _shown_response(response) -> str:
    if isinstance(response, (list, tuple)):
        return "“" + " → ".join(literal(str(r), 60) for r in response) + "”"
    return f"“{literal(str(response), 80)}”"


def _my_rank(standings: list[Standing], name: str | None) -> None:
    for s in standings:
        if s.nickname == name:
            st.metric("Your place", f"{s.rank} of {len(standings)}")
            st.caption(f"{s.points:,} points · {s.correct} right of {s.answered} answered")
            return


def answer_distribution(ws: Workshop, code: str, seq: int, question) -> dict[str, int]:
    return distribution(question, [a["response"] for a in ws.rooms.answers(code, seq)])


def _clock() -> float:
    import time
    return time.time()


def countdown_html(left: float, limit: float, name: str) -> str:
    """A bar that empties in the browser over the `left` seconds (CSS only: no server work while it runs)."""
    share = max(0.0, min(1.0, left / limit if limit else 0.0))
    anim = "cd" + "".join(c for c in name if c.isalnum())
    return (f"<style>@keyframes {anim}{{from{{width:{share * 100:.1f}%}}to{{width:0%}}}}</style>"
            f'<div role="timer" aria-label="time left" style="background:#e0e0e0;border-radius:6px;height:12px;'
            f'margin:4px 0 2px 0"><div style="height:12px;border-radius:6px;background:#1976d2;width:{share * 100:.1f}%;'
            f'animation:{anim} {left:.1f}s linear forwards"></div></div>'
            f'<div style="font-size:0.9rem;opacity:.75">{limit:.0f} s to answer; about {left:.0f} s were left when this '
            f"question appeared. The bar runs out when time is up.</div>")
