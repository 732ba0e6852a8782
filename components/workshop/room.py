"""A participant's place in a workshop room: the store's Workshop, joining with a room code and a nickname, the
seat (this browser's id, components/common/identity.py), the room code kept in the address bar, the seat taken
back after a reload, and leaving. Session-state keys: components/common/keys.py."""
from __future__ import annotations

import streamlit as st

from components.common import identity, keys, store_guard
from components.quiz import quiz_view
from components.workshop import cache
from core.workshop.workshop import REMOVED, Workshop, WorkshopError, seat_hash

SEAT_PARAM = "seat"       # where seat tokens used to travel; a link that still carries one is ignored
SEAT_LINKS_GONE = ("This link carried a seat token. Seats stay with the browser that joined, so a shared link cannot "
                   "take someone's seat: join with your own nickname.")


def workshop() -> Workshop | None:
    """The workshop over the app's database, or None after the quiz's warning when the database cannot be opened."""
    return quiz_view.opened_or_none(cache.workshop)


def find_room(code: str | None):
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
