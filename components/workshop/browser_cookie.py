"""Set a cookie in the participant's or presenter's browser, for the next session to read (st.context.cookies).

Streamlit reads cookies but has no call to write one; this invisible component does it from the page, scoped to
the app's path, SameSite=Strict, Secure when the page came over https, for a limited time. (The browser's id cookie,
which must be HttpOnly, is set by the server instead: web/identity.py.) Used for the presenter's signed token
(presenter_session.py), which must survive a reload without appearing in the address bar on the projector."""
from __future__ import annotations

import streamlit as st

_JS = """
export default function (component) {
  const { data } = component;
  if (data && data.name) {
    const value = encodeURIComponent(String(data.value || ""));
    const age = Math.max(0, Number(data.seconds) || 0);
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${data.name}=${value}; path=/; max-age=${age}; SameSite=Strict${secure}`;
  }
}
"""

_COMPONENT = st.components.v2.component("genai_lab_cookie", js=_JS)


def set_cookie(name: str, value: str, seconds: int, key: str) -> None:
    """Draw the (invisible) setter; `seconds=0` deletes the cookie."""
    _COMPONENT(key=key, data={"name": name, "value": value, "seconds": int(seconds)}, height=0)


def get_cookie(name: str) -> str | None:
    try:
        value = st.context.cookies.get(name)
    except Exception:
        return None
    return value if isinstance(value, str) and value else None
