"""The presenter's session: the presenter key (configured on the server, typed to unlock, with a backoff after
wrong ones), the signed cookie that keeps a reload unlocked and on its room, "Lock console", and presenter mode
(large fonts on every page). The console (presenter_view) and the analytics page (analytics_view) unlock here.

Session-state keys shared with other files: components/common/keys.py."""
from __future__ import annotations

import os
import secrets
import time

import streamlit as st

from components.common import identity, keys, store_guard
from components.workshop import cache as workshop_cache
from components.workshop.browser_cookie import get_cookie, set_cookie
from components.workshop.room import workshop
from core.workshop.workshop import (
    PRESENTER_TOKEN_HOURS,
    WorkshopError,
    presenter_key_matches,
    presenter_key_problem,
    presenter_key_setting,
    presenter_token,
    read_presenter_token,
    session_hash,
)


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


HOW_TO_SET_KEY = """Presenter and instructor views are locked until a presenter key of your own (at least 12
characters, not the example) is configured on the server. Set one of these, then restart the app:

- an environment variable: `GENAI_LAB_PRESENTER_KEY="<your own phrase>" make run`
- or a line `presenter_key = "<your own phrase>"` in `.streamlit/secrets.toml`
  (copy `.streamlit/secrets.toml.example`; the real file is git-ignored)."""

PRESENTER_CSS = """<style>
[data-testid="stMainBlockContainer"] { font-size: 1.45rem; max-width: 1500px; }
[data-testid="stMainBlockContainer"] p,
[data-testid="stMainBlockContainer"] li { font-size: 1.45rem; line-height: 1.5; }
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
    configured = configured_presenter_key()
    if not configured or st.session_state.get(keys.PRESENTER_OK):
        return
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
        set_cookie(PRESENTER_COOKIE, "", 0, key="presenter_cookie_clear")


def apply_presenter_mode() -> None:
    """Large fonts and no Streamlit chrome, for a projector (called by app.py on every page)."""
    if st.session_state.get(keys.PRESENTER_MODE) and st.session_state.get(keys.PRESENTER_OK):
        st.html(PRESENTER_CSS)
