"""Who is using this session: the browser's id (core/identity.py), the same in every tab of one browser.

`current()` reads the HttpOnly cookie that server.py's middleware gives every browser. A session without it (the
app started with `streamlit run app.py`, AppTest, a browser that refuses cookies) gets an id of its own that lasts
as long as the session, so everything still works, per tab instead of per browser.

What hangs on it: one training run and one generation at a time (components/common/training.py, generate.py),
self-paced quiz progress and RLHF labels (saved under `key`, shown under the name the learner typed), and the
workshop seat (`secret`, so a reload or a phone waking up is back on its seat without a token in the address)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import streamlit as st

from core import identity

SESSION_ID = "session_owner"      # the fallback id of a session without the cookie


@dataclass(frozen=True)
class Identity:
    key: str            # what stores and queues see: "b-…" (a browser) or "s-…" (this session only)
    secret: str         # the cookie value (or the session's own id): proves the seat is this browser's
    persistent: bool    # True when it outlives the session (the browser's cookie)


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(identity.COOKIE)
    except Exception:       # noqa: BLE001 — no request context (AppTest, a bare script)
        return None
    return value if identity.is_valid(value) else None


def current() -> Identity:
    cookie = _cookie()
    if cookie is not None:
        return Identity(identity.key_of(cookie), cookie, True)
    if SESSION_ID not in st.session_state:
        st.session_state[SESSION_ID] = uuid.uuid4().hex
    own = st.session_state[SESSION_ID]
    return Identity("s-" + own, own, False)


def key() -> str:
    return current().key
