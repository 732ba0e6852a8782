"""The server's own guards (server.py, web/), against a real `streamlit run server.py`: the browser id cookie, and a
server that runs out of file descriptors turning connections away instead of spinning."""
from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from tests.browser.harness import ROOT, streamlit_server

pytestmark = pytest.mark.server


def _get(url: str, headers: dict | None = None):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10)


def test_every_browser_gets_an_http_only_id_cookie_once():
    from core import identity

    with streamlit_server("server-guards-cookie.log") as url:
        first = _get(url + "/").headers.get_all("Set-Cookie")
        cookie = next(c for c in first if c.startswith(identity.COOKIE + "="))
        value = cookie.split(";")[0].split("=", 1)[1]
        assert identity.is_valid(value)
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
        again = _get(url + "/", {"Cookie": f"{identity.COOKIE}={value}"}).headers.get_all("Set-Cookie") or []
        assert not any(c.startswith(identity.COOKIE) for c in again)             # kept, not replaced
        forged = _get(url + "/", {"Cookie": f"{identity.COOKIE}=<script>"}).headers.get_all("Set-Cookie")
        assert any(c.startswith(identity.COOKIE) for c in forged)                # a malformed id is replaced
        https = _get(url + "/", {"X-Forwarded-Proto": "https"}).headers.get_all("Set-Cookie")
        assert any(c.startswith(identity.COOKIE) and "Secure" in c for c in https)
        static = _get(url + "/_stcore/health").headers.get_all("Set-Cookie") or []
        assert not any(c.startswith(identity.COOKIE) for c in static)


def test_out_of_file_descriptors_the_server_sheds_connections_and_recovers():
    limit = 64
    log = ROOT / ".cache" / "server-guards-emfile.log"
    with streamlit_server("server-guards-emfile.log", open_files=limit) as url:
        port = int(url.rsplit(":", 1)[1])
        clients = []
        try:
            for _ in range(3 * limit):                        # far more connections than the server has files
                clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            shed = 0
            deadline = time.monotonic() + 20
            for client in clients:                            # the ones turned away see the server close them
                client.settimeout(max(0.05, deadline - time.monotonic()) if shed == 0 else 0.05)
                try:
                    if client.recv(1) == b"":
                        shed += 1
                except (socket.timeout, ConnectionResetError):
                    pass
            assert shed >= limit // 2, shed
        finally:
            for client in clients:
                client.close()
        deadline = time.monotonic() + 30
        while True:                                           # and it serves again once files are free
            try:
                assert _get(url + "/_stcore/health").read() == b"ok"
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)                               # polling interval, not a wait for the server
    text = log.read_text()
    assert text.count("socket.accept() out of system resource") <= 3, "asyncio's accept loop spun"
    assert "Out of file descriptors: turned away" in text


def test_a_browser_that_reconnects_to_a_server_without_its_session_gets_its_page_redrawn(tmp_path):
    """Another replica (or a restarted server) does not know the session a reconnecting browser names. When the
    browser's last run was a full one it asks for no run (Streamlit's App.handleConnectionStateChanged); its
    heartbeat's next tick names the `watch` fragment, which the fresh session does not hold and Streamlit would drop
    for good. web/messages.FullRunOnNewSocket runs that first request in full: the page is drawn by the new session."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from core.storage.database import open_database
    from core.workshop.workshop import Workshop
    from tests.wire.client import Session

    db = open_database("sqlite:///" + str(tmp_path / "reconnect.db"))
    code = Workshop(db).open_room().code
    db.close()

    async def scenario(url: str) -> None:
        async with await Session.open(url, path="live-quiz", query=f"room={code}", timeout=120) as s:
            await s.wait_idle(120)
            await s.set_value(s.widget(key="live_main_nick"), "Ada")
            await s.click(next(w for w in s.widgets("form_submit_button", "Join")
                               if w.form_id == s.widget(key="live_main_nick").form_id))
            await s.wait_for(lambda x: x.idle and any("you are **Ada**" in t for t in x.texts()), 120, "the seat")
            assert not s.last_fragment_ids                 # the last run was a full one (no heartbeat ticked)
            old = s.session_id = "a-session-this-server-never-had"
            await s.reconnect(timeout=60)
            assert s.rerun_on_reconnect is False           # so the browser asks for nothing
            await s.tick("ws_heartbeat")
            await s.wait_for(lambda x: x.session_id != old and x.idle, 60, "a run of the fresh session")
            assert any("you are **Ada**" in t for t in s.texts())     # seated again, from the cookie

    env = {"GENAI_LAB_DB": str(tmp_path / "reconnect.db"), "GENAI_LAB_DATABASE_URL": None}
    with streamlit_server("server-guards-reconnect.log", env) as url, ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario(url)).result()
