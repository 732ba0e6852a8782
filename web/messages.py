"""Drop the messages a browser may send but no participant should: a "clear cache" for the whole server; and turn a
new socket's first rerun request into a full run when it asks for a fragment (`FullRunOnNewSocket`).

Streamlit's toolbar hides "Clear cache" from viewers (`client.toolbarMode = "viewer"`), but its server still obeys a
`clear_cache` BackMsg from any client: every `st.cache_resource` of the process is released (the shared model
service closes mid-generation) and `st.cache_data` emptied, for everyone, as often as a script sends it. This
middleware reads each WebSocket frame a client sends; a `clear_cache` is logged and never reaches Streamlit.
"""
from __future__ import annotations

import logging

from streamlit.proto.BackMsg_pb2 import BackMsg

log = logging.getLogger("genai_lab")

# A clear_cache BackMsg is a handful of bytes (field 5, a bool); anything longer is another message.
_SMALL = 64


def is_clear_cache(data: bytes | None) -> bool:
    if not data or len(data) > _SMALL:
        return False

    msg = BackMsg()
    try:
        msg.ParseFromString(data)
    except Exception:      # noqa: BLE001 — Streamlit itself answers malformed frames (it closes the socket)
        return False
    return msg.WhichOneof("type") == "clear_cache"


class RefuseClientCacheClear:
    """ASGI middleware: WebSocket frames that ask to clear the server's caches are dropped (and logged); a socket
    whose browser left is closed without a traceback in the log."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return

        gone = False                    # the browser left: the socket is closed or a send to it failed

        async def filtered_receive():
            nonlocal gone
            while True:
                message = await receive()
                if message.get("type") == "websocket.disconnect":
                    gone = True
                if message.get("type") == "websocket.receive" and is_clear_cache(message.get("bytes")):
                    client = scope.get("client") or ("?", 0)
                    log.warning("Ignored a request from %s to clear the server's caches (clients may not do that)",
                                client[0])
                    continue
                return message

        async def tracked_send(message):
            nonlocal gone
            try:
                await send(message)
            except Exception:           # noqa: BLE001 — re-raised; only noted
                gone = True
                raise

        try:
            await self.app(scope, filtered_receive, tracked_send)
        except Exception as exc:
            # Streamlit 1.67's socket loop, when a browser vanishes while its page is being sent, mistakes the closed
            # socket for a text frame and tries to close it again; uvicorn then logs "Exception in ASGI application"
            # with two tracebacks for a tab someone closed. That is not an error of the server.
            if not gone:
                raise
            log.info("A browser left while its page was being sent (%s)", type(exc).__name__)


def as_full_rerun(data: bytes | None) -> tuple[bool, bytes | None]:
    """(whether `data` is a rerun request, the frame to pass on): a rerun request of a fragment becomes the same
    request for the whole page (same widget states, page and query string)."""
    if not data:
        return False, data
    msg = BackMsg()
    try:
        msg.ParseFromString(data)
    except Exception:      # noqa: BLE001 — Streamlit answers malformed frames itself
        return False, data
    if msg.WhichOneof("type") != "rerun_script":
        return False, data
    if not msg.rerun_script.fragment_id:
        return True, data
    msg.rerun_script.fragment_id = ""
    msg.rerun_script.is_auto_rerun = False
    return True, msg.SerializeToString()


class FullRunOnNewSocket:
    """ASGI middleware: on each new WebSocket, the first rerun request runs the whole page even when it names a
    fragment.

    A browser whose socket dropped (its replica died, a proxy cut it) reconnects through the load balancer, maybe to
    another replica, which does not know its session and starts a fresh one. The browser asks for a full run after a
    reconnect only when its last run was a fragment's or a run was going on (`App.handleConnectionStateChanged`);
    when its last run was a full one it sends nothing, and its heartbeat's next tick asks for a rerun of the `watch`
    fragment, which the fresh session does not hold: Streamlit drops that request without a reply, and the phone
    shows the old page for good (bench/cluster_soak.py: every participant of a replica killed just after a question
    appeared). Run in full, the tick's request draws the page from the cookie and the address: the seat is taken
    back (components/workshop/room.py) and the page follows the room again. Later frames pass untouched and unread."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        first = True

        async def first_rerun_in_full():
            nonlocal first
            message = await receive()
            if first and message.get("type") == "websocket.receive" and message.get("bytes"):
                is_rerun, data = as_full_rerun(message["bytes"])
                if is_rerun:
                    first = False
                    if data is not message["bytes"]:
                        log.info("A new socket's first request named a fragment; running the whole page instead")
                        message = dict(message, bytes=data)
            return message

        await self.app(scope, first_rerun_in_full, send)
