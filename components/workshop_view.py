"""The participant's side of a workshop: join a room, follow the presenter, answer live questions.

Session-state keys (owned here): ws_room (code), ws_name (nickname), ws_follow (bool), ws_seen (room version
already followed), ws_code / ws_nick (the join form), plus the presenter flags set by presenter_view:
presenter_ok, presenter_room.
Live updates come from `st.fragment(run_every=...)` functions that read the store; nothing reloads the page.
"""
from __future__ import annotations

import html
import os

import plotly.graph_objects as go
import streamlit as st

from components import quiz_view, resources, store_guard
from core.lessons import LessonError, section_by_id
from core.quiz import Standing, distribution, leaderboard
from core.workshop import Workshop, WorkshopError

REFRESH_S = 2.0
LIVE_PAGE = "app_pages/91_live.py"
LIVE_URL = "live-quiz"   # url path of LIVE_PAGE (components/navigation.py)


# ---------------------------------------------------------------- shared helpers

def workshop() -> Workshop | None:
    store = quiz_view.store_or_none()
    return Workshop(store) if store is not None else None


def configured_presenter_key() -> str | None:
    """GENAI_LAB_PRESENTER_KEY, else `presenter_key` in .streamlit/secrets.toml; None when neither is set."""
    key = os.environ.get("GENAI_LAB_PRESENTER_KEY", "").strip()
    if key:
        return key
    try:
        value = st.secrets.get("presenter_key")
    except Exception:  # no secrets file at all (Streamlit raises when none exists)
        return None
    return str(value).strip() if value and str(value).strip() else None


def is_presenter() -> bool:
    return bool(st.session_state.get("presenter_ok")) and configured_presenter_key() is not None


def section_page(section_id: str) -> str | None:
    try:
        return section_by_id(section_id, resources.sections()).page
    except LessonError:
        return None


def leaderboard_chart(standings: list[Standing], highlight: str | None = None, top: int = 10) -> go.Figure:
    shown = standings[:top]
    fig = go.Figure(go.Bar(
        # plotly reads <b>, <br> ... in labels as markup: escape names (it shows entities as the characters)
        x=[s.points for s in shown], y=[f"{s.rank}. {html.escape(s.nickname)}" for s in shown], orientation="h",
        marker_color=["#f57c00" if s.nickname == highlight else "#1976d2" for s in shown],
        text=[f"{s.points:,}" for s in shown], textposition="outside",
        hovertemplate="%{y}: %{x:,} points<extra></extra>"))
    fig.update_layout(yaxis=dict(autorange="reversed", type="category"), xaxis=dict(title="points"),
                      height=44 * max(len(shown), 1) + 70, margin=dict(l=10, r=30, t=10, b=40))
    return fig


def distribution_chart(counts: dict[str, int], right: set[str] | None = None) -> go.Figure:
    labels = list(counts)
    colors = ["#2e7d32" if right is not None and label in right else
              ("#9e9e9e" if right is not None else "#1976d2") for label in labels]
    fig = go.Figure(go.Bar(x=[counts[k] for k in labels], y=[html.escape(label[:60]) for label in labels], orientation="h",
                           marker_color=colors, text=[str(counts[k]) for k in labels], textposition="outside",
                           hovertemplate="%{y}: %{x}<extra></extra>"))
    fig.update_layout(yaxis=dict(autorange="reversed", type="category"), xaxis=dict(title="answers", rangemode="tozero", tickformat=",d"),
                      height=46 * max(len(labels), 1) + 70, margin=dict(l=10, r=30, t=10, b=40))
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

def _join(ws: Workshop, code: str, nickname: str) -> None:
    try:
        room, name = ws.join(code, nickname)
    except WorkshopError as exc:
        st.warning(str(exc))
        return
    st.session_state.update(ws_room=room.code, ws_name=name, ws_follow=True, ws_seen=None)
    st.rerun()


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
    for k in ("ws_room", "ws_name", "ws_seen"):
        st.session_state.pop(k, None)


# ---------------------------------------------------------------- the sidebar box

@store_guard.guarded
def sidebar(current_page: str) -> None:
    """The Workshop box in the sidebar: join, or the room's status with the follow-me fragment.

    `current_page` is the url path of the page on screen (a section id, "live", "" for home)."""
    st.markdown("**Workshop**")
    if is_presenter() and st.session_state.get("presenter_room"):
        _presenter_box(current_page)
        return
    if not st.session_state.get("ws_room"):
        with st.expander("Join a live workshop"):
            join_form("ws_sidebar")
        return
    st.caption(f"Room **{st.session_state['ws_room']}** · you are **{html.escape(st.session_state['ws_name'])}**")
    st.toggle("Follow the presenter", key="ws_follow", on_change=lambda: st.session_state.update(ws_seen=None),
              help="On: your app moves to the page the presenter shows. Off: browse freely.")
    if st.button("Leave the room", key="ws_leave"):
        leave()
        st.rerun()
    _follow(current_page)


def _room(code: str | None):
    """(workshop, room) for a room code, or None: no code, no store, or a warning saying why the room is gone."""
    ws = workshop()
    if not code or ws is None:
        return None
    try:
        return ws, ws.live_room(code)
    except WorkshopError as exc:
        st.warning(str(exc))
        return None


@st.fragment(run_every=REFRESH_S)
@store_guard.guarded
def _follow(current_page: str) -> None:
    """Every few seconds: read the room; when the presenter moved and we follow, switch to their page."""
    found = _room(st.session_state.get("ws_room"))
    if found is None:
        return
    _, room = found
    live = room.phase in ("question", "podium")
    where = "the live quiz" if live else (quiz_view.section_title(room.section) if room.section else "")
    if where:
        st.caption(f"Presenter is on: {where}")
    if room.phase == "question" and current_page != LIVE_URL:
        st.page_link(LIVE_PAGE, label="A live question is open — answer it", icon=":material/bolt:")
    if st.session_state.get("ws_follow", True) and st.session_state.get("ws_seen") != room.version:
        st.rerun()  # a full rerun; follow_presenter() then switches page before anything is drawn


@store_guard.guarded
def follow_presenter(current_page: str) -> None:
    """Called by app.py before the page draws: if we follow and the presenter moved, go to their page.

    Switching here, at the top of a full run, rather than inside the refreshing fragment keeps the browser's
    element tree consistent (a page switch from inside a run_every fragment can leave stale updates behind)."""
    code = st.session_state.get("ws_room")
    if not code or not st.session_state.get("ws_follow", True):
        return
    ws = workshop()
    if ws is None:
        return
    try:
        room = ws.live_room(code)
    except WorkshopError:
        return  # the sidebar box says why
    if st.session_state.get("ws_seen") == room.version:
        return
    st.session_state["ws_seen"] = room.version
    live = room.phase in ("question", "podium")
    target, target_url = (LIVE_PAGE, LIVE_URL) if live else (section_page(room.section), room.section)
    if target and target_url != current_page:
        st.switch_page(target)


def _presenter_box(current_page: str) -> None:
    """For the presenter: the room, and previous/next buttons that move everybody who follows."""
    found = _room(st.session_state["presenter_room"])
    if found is None:
        return
    _, room = found
    sections = resources.sections()
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
    code = st.session_state.get("presenter_room")
    if not code or not is_presenter():
        return
    ids = [s.id for s in resources.sections()]
    if current_page not in ids:
        return
    ws = workshop()
    if ws is None:
        return
    try:
        if ws.live_room(code).section != current_page:
            ws.go_to(code, current_page)
    except WorkshopError:
        pass  # an expired room is reported in the sidebar box


# ---------------------------------------------------------------- the live page (participants)

@store_guard.guarded
def live_page(key: str = "live") -> None:
    st.title("Live quiz")
    if not st.session_state.get("ws_room"):
        st.markdown("Join the presenter's room with the code on the screen and a nickname of your choice. "
                    "Questions appear here when the presenter launches them; right and fast answers earn "
                    "more points.")
        prefill = st.query_params.get("room", "")
        join_form(f"{key}_main", prefill=prefill[:20] if isinstance(prefill, str) else "")
        return
    st.caption(f"Room **{st.session_state['ws_room']}** · you are **{html.escape(st.session_state['ws_name'])}**")
    _live_fragment(key)


@st.fragment(run_every=REFRESH_S)
@store_guard.guarded
def _live_fragment(key: str) -> None:
    code, name = st.session_state.get("ws_room"), st.session_state.get("ws_name")
    found = _room(code)
    if found is None:
        return
    ws, room = found
    bank = quiz_view.bank()
    current = ws.store.current_question(code)
    if room.phase == "podium":
        st.subheader("Final results")
        standings = leaderboard(ws.store.answers(code), ws.store.participants(code))
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
    mine = [a for a in ws.store.answers(code, current.seq) if a["nickname_key"] == name.casefold()]
    st.markdown(f"**Question {current.seq}** · {quiz_view.section_title(question.section)}")
    if current.revealed:
        st.markdown(question.prompt)
        if mine:
            a = mine[0]
            (st.success if a["correct"] else st.error)(
                f"{'Right' if a['correct'] else 'Not right'} — you earn **{a['points']:,}** points.")
        else:
            st.info("You did not answer this one.")
        st.markdown(f"Answer: **{question.answer_text()}**. {question.explanation}")
        standings = leaderboard(ws.store.answers(code), ws.store.participants(code))
        st.plotly_chart(leaderboard_chart(standings, highlight=name), key=f"{key}_board_{current.seq}",
                        config={"displayModeBar": False})
        _my_rank(standings, name)
        return
    if mine:
        st.markdown(question.prompt)
        st.success(f"Your answer is in ({mine[0]['elapsed']:.1f} s). Wait for the presenter to reveal it.",
                   icon=":material/how_to_reg:")
        return
    left = ws.seconds_left(current)
    if not ws.is_open(current):
        st.markdown(question.prompt)
        st.warning("Time is up for this question.")
        return
    st.progress(left / current.time_limit, text=f"{left:.0f} s left")
    submitted, response = quiz_view.answer_form(question, f"{key}_{code}_{current.seq}", submit_label="Send answer")
    if submitted and response is not None:
        try:
            result = ws.answer(code, current.seq, name, question, response)
        except WorkshopError as exc:
            st.warning(str(exc))
            return
        st.success(f"Answer recorded after {result.elapsed:.1f} s. Wait for the reveal.")
        st.rerun(scope="fragment")


def _my_rank(standings: list[Standing], name: str | None) -> None:
    for s in standings:
        if s.nickname == name:
            st.metric("Your place", f"{s.rank} of {len(standings)}")
            st.caption(f"{s.points:,} points · {s.correct} right of {s.answered} answered")
            return


def answer_distribution(ws: Workshop, code: str, seq: int, question) -> dict[str, int]:
    return distribution(question, [a["response"] for a in ws.store.answers(code, seq)])
