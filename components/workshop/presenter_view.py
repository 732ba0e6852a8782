"""The presenter console: unlock with the presenter key, open a room, show the join code and QR code,
see who joined, switch presenter mode (large fonts), and run the live quiz.

Session-state keys shared with other files: components/common/keys.py. The console has no timed fragment of
its own: workshop_view.watch() reruns it when someone joins or answers (see there why).
"""
from __future__ import annotations

import html
import time
from datetime import datetime, timezone

import segno
import streamlit as st

from components.common import identity, keys
from components.common.text import literal
from components.workshop import quiz_view
from components.common import cache as app_cache
from components.workshop import store_guard
from components.workshop import cache as workshop_cache
from components.workshop.workshop_view import (answer_distribution, configured_presenter_key, countdown_html,
                                               distribution_chart, leaderboard_chart, podium_html,
                                               presenter_key_refusal, right_labels, workshop)
from core.workshop.quiz import leaderboard
from core.workshop.workshop import (AUTO_PAUSE_S, MAX_PARTICIPANTS, PRESENTER_TOKEN_HOURS, TIME_LIMITS, WorkshopError,
                                    presenter_key_matches, presenter_token, read_presenter_token, session_hash)

HOW_TO_SET_KEY = """Presenter and instructor views are locked until a presenter key of your own (at least 12
characters, not the example) is configured on the server. Set one of these, then restart the app:

- an environment variable: `GENAI_LAB_PRESENTER_KEY="<your own phrase>" make run`
- or a line `presenter_key = "<your own phrase>"` in `.streamlit/secrets.toml`
  (copy `.streamlit/secrets.toml.example`; the real file is git-ignored)."""

PRESENTER_CSS = """<style>
[data-testid="stMainBlockContainer"] { font-size: 1.45rem; max-width: 1500px; }
[data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li { font-size: 1.45rem; line-height: 1.5; }
[data-testid="stMainBlockContainer"] h1 { font-size: 3.2rem; }
[data-testid="stMainBlockContainer"] h2 { font-size: 2.4rem; }
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] { display: none; }
/* a slider's value sits in a fixed gap above its thumb: enlarged, it would cover the thumb */
[data-testid="stMainBlockContainer"] [data-testid="stSliderThumbValue"],
[data-testid="stMainBlockContainer"] [data-testid="stSliderThumbValue"] p { font-size: 1rem; line-height: 1.2; }
</style>"""


def unlocked(key: str = "presenter") -> bool:
    """True when this session has entered the right presenter key; otherwise draws the lock and returns False.

    A weak configured key (the example, under 12 characters) keeps the console locked; wrong keys slow down
    (Backoff: after 3, each try waits twice as long as the last) per browser and per address."""
    configured = configured_presenter_key()
    if configured is None:
        refusal = presenter_key_refusal()
        if refusal:
            st.error(f"The presenter key set on this server is refused: {refusal}", icon=":material/lock:")
        else:
            st.warning("No presenter key is configured, so this view stays locked.", icon=":material/lock:")
        st.markdown(HOW_TO_SET_KEY)
        return False
    if st.session_state.get(keys.PRESENTER_OK):
        return True
    with st.form(f"{key}_unlock"):
        given = st.text_input("Presenter key", type="password", key=f"{key}_key_input", max_chars=500)
        submitted = st.form_submit_button("Unlock", type="primary")
    if submitted:
        sources = _guess_sources()
        wait = workshop_cache.unlock_backoff().wait_s(*sources)
        if wait > 0:
            st.warning(f"Too many wrong keys from this browser: try again in {wait:.0f} s.")
            return False
        if presenter_key_matches(given, configured):
            workshop_cache.unlock_backoff().succeeded(*sources)
            _open_console_session()
            st.rerun()
        workshop_cache.unlock_backoff().failed(*sources)
        st.error("That is not the presenter key.")
    return False


def _guess_sources() -> tuple[str, ...]:
    """Who is guessing: this browser, and the address it comes from (a new browser from the same address waits too)."""
    sources = [identity.key()]
    try:
        address = st.context.ip_address
    except Exception:      # noqa: BLE001 — no request context (AppTest)
        address = None
    if address:
        sources.append(f"ip:{address}")
    return tuple(sources)


PRESENTER_COOKIE = "genai_lab_presenter"
SESSION = "presenter_session"            # this console session's id (its hash is in the store, the id in the cookie)
COOKIE_FOR = "presenter_cookie_for"      # the room the browser's cookie names (None: it needs a fresh one)


def _server_secret() -> str | None:
    """What signs the console cookie: GENAI_LAB_SECRET, else `server_secret` in the secrets file, else a random secret
    made once and kept in the store (so every replica on one database signs alike). Never the presenter key."""
    import os
    value = os.environ.get("GENAI_LAB_SECRET", "").strip()
    if value:
        return value
    try:
        value = st.secrets.get("server_secret")
    except Exception:      # noqa: BLE001 — no secrets file at all
        value = None
    if value and str(value).strip():
        return str(value).strip()
    ws = workshop()
    return ws.sessions.server_secret() if ws is not None else None


def _open_console_session() -> None:
    import secrets
    import time
    ws = workshop()
    session = secrets.token_urlsafe(18)
    if ws is not None:
        ws.sessions.open(session_hash(session), time.time() + PRESENTER_TOKEN_HOURS * 3600)
    st.session_state.update({keys.PRESENTER_OK: True, SESSION: session, COOKIE_FOR: None})


@store_guard.guarded
def restore_presenter() -> None:
    """A presenter's reload keeps the console unlocked and on its room (called by app.py on every page).

    The browser keeps a signed, expiring token as a cookie (core.workshop.workshop.presenter_token), never the key,
    and never in the address bar, which the projector may show. A new session with a valid token whose console
    session was not locked is unlocked and put back on the room it names, if that room is still open."""
    import time

    configured = configured_presenter_key()
    if not configured or st.session_state.get(keys.PRESENTER_OK):
        return
    from components.workshop.browser_cookie import get_cookie

    token = get_cookie(PRESENTER_COOKIE)
    if not token:
        return
    ws = workshop()
    now = time.time()
    found = read_presenter_token(token, _server_secret(), configured, now)
    if ws is None or found is None or not ws.sessions.live(session_hash(found[1]), now):
        return
    room, session = found
    st.session_state.update({keys.PRESENTER_OK: True, SESSION: session, COOKIE_FOR: room})
    if room:
        try:
            st.session_state[keys.PRESENTER_ROOM] = ws.live_room(room).code
        except WorkshopError:
            st.session_state[COOKIE_FOR] = None     # the room is gone: the next run re-signs without it


def keep_presenter_cookie() -> None:
    """Give an unlocked presenter's browser a fresh token when the room changes (drawn last in the sidebar)."""
    import time

    configured = configured_presenter_key()
    session = st.session_state.get(SESSION)
    if not configured or not st.session_state.get(keys.PRESENTER_OK) or not session:
        return
    room = st.session_state.get(keys.PRESENTER_ROOM) or ""
    if st.session_state.get(COOKIE_FOR) == room:
        return
    secret = _server_secret()
    if not secret:
        return
    from components.workshop.browser_cookie import set_cookie

    set_cookie(PRESENTER_COOKIE, presenter_token(secret, configured, room, session, time.time()),
               int(PRESENTER_TOKEN_HOURS * 3600), key=f"presenter_cookie_{room or 'none'}")
    st.session_state[COOKIE_FOR] = room


def lock_console() -> None:
    """End this console session everywhere: the store forgets it (a copied cookie stops working), the browser's
    cookie is deleted, and this session is a learner again (a shared lectern PC is safe for the next speaker)."""
    session = st.session_state.get(SESSION)
    ws = workshop()
    if session and ws is not None:
        ws.sessions.revoke(session_hash(session))
    for name in (keys.PRESENTER_OK, keys.PRESENTER_ROOM, keys.PRESENTER_MODE, keys.PRESENTER_AUTO, SESSION):
        st.session_state.pop(name, None)
    st.session_state[COOKIE_FOR] = "locked"
    st.session_state["presenter_cookie_clear"] = True


def clear_presenter_cookie() -> None:
    """After "Lock console": delete the cookie in the browser (drawn once, last in the sidebar)."""
    if st.session_state.pop("presenter_cookie_clear", False):
        from components.workshop.browser_cookie import set_cookie
        set_cookie(PRESENTER_COOKIE, "", 0, key="presenter_cookie_clear")


def apply_presenter_mode() -> None:
    """Large fonts and no Streamlit chrome, for a projector (called by app.py on every page)."""
    if st.session_state.get(keys.PRESENTER_MODE) and st.session_state.get(keys.PRESENTER_OK):
        st.html(PRESENTER_CSS)


def qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=8, border=2)


def join_link(code: str):
    """Where participants join (core/workshop/join_link.py): the setting, the browser's address, the network's."""
    import os

    from core.workshop.join_link import PUBLIC_URL_ENV, join_link as build, network_address

    try:
        browser_url = st.context.url or ""
    except Exception:
        browser_url = ""
    port = int(st.get_option("server.port") or 8501)
    return build(code, os.environ.get(PUBLIC_URL_ENV), browser_url, port, network_address())


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
              on_change=lambda: st.session_state.update({keys.PRESENTER_MODE: st.session_state["presenter_mode_toggle"]}))
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
        st.markdown("Move through the lessons with **Next lesson ▶ / ◀ Previous lesson** in the sidebar (or PageDown / "
                    "PageUp, which most presentation clickers send), or open any lesson from the menu: "
                    "everybody who follows you moves too.")
        first = app_cache.sections()[0]
        st.page_link(first.page, label=f"Start with lesson {first.number}: {first.title}",
                     icon=":material/play_arrow:")
        if st.button("Close the room for me", key=f"{key}_forget"):
            st.session_state.pop(keys.PRESENTER_ROOM, None)
            st.rerun()
    with right:
        st.html(f'<img src="{qr_data_uri(url)}" alt="QR code for {html.escape(url)}" style="width:100%;max-width:320px">')
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
        from components.workshop.workshop_view import TILE_COLOURS, TILE_SHAPES
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
        st.plotly_chart(leaderboard_chart(standings), key=f"{key}_board_{current.seq}", config={"displayModeBar": False})
