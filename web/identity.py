"""Give every browser its id (core/identity.py) in an HttpOnly cookie on the first page it loads.

A browser that already sends a valid id keeps it; one without (or with a malformed one) gets a new id with the
page. The WebSocket that Streamlit opens afterwards carries the cookie, and the script reads it through
`st.context.cookies` (components/common/identity.py). HttpOnly: page scripts (and anything injected into them)
cannot read it. Secure when the page came over https (directly or through a proxy that says so)."""
from __future__ import annotations

from http.cookies import SimpleCookie

from core import identity

_STATIC_PREFIXES = ("/_stcore/", "/static/", "/component/", "/media/", "/app/static/")


def _cookies(scope) -> dict[str, str]:
    jar = SimpleCookie()
    for name, value in scope.get("headers") or ():
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:      # noqa: BLE001 — a malformed Cookie header is treated as no cookie
                return {}
    return {key: morsel.value for key, morsel in jar.items()}


def is_https(scope) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    for name, value in scope.get("headers") or ():
        if name == b"x-forwarded-proto":
            return value.split(b",")[0].strip().lower() == b"https"
    return False


def set_cookie_header(value: str, secure: bool) -> bytes:
    parts = [f"{identity.COOKIE}={value}", "Path=/", f"Max-Age={identity.MAX_AGE_S}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


class BrowserIdentity:
    """ASGI middleware: adds the id cookie to page responses of browsers that have none."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or identity.is_valid(_cookies(scope).get(identity.COOKIE)) \
                or scope.get("path", "").startswith(_STATIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        header = set_cookie_header(identity.new_value(), is_https(scope))

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), (b"set-cookie", header)])
            await send(message)

        await self.app(scope, receive, send_with_cookie)
