"""What a hostile or careless client sends, over Streamlit's own protocol (tests/wire/client.py) to a real
`streamlit run server.py`: a "clear cache" for the whole server, an upload far over the limit, a widget state far
over the limit. Each is refused, the server goes on serving, and nothing of the server's state is lost."""
from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.browser.harness import ROOT, streamlit_server
from tests.wire.client import Session, SessionClosed

pytestmark = pytest.mark.server


def run(coroutine):
    with ThreadPoolExecutor(1) as pool:             # a loop of our own, whatever runs on this thread
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    db = tmp_path_factory.mktemp("hostile") / "hostile.db"
    with streamlit_server("server-hostile.log", {"GENAI_LAB_DB": str(db), "GENAI_LAB_DATABASE_URL": None}) as url:
        yield url


def test_a_client_sent_clear_cache_clears_nothing(server_url):
    """The home page caches the lesson list (st.cache_data) and the store is process-wide; a `clear_cache` BackMsg
    from a client is dropped: the server logs it, keeps its caches, and every session goes on."""
    async def scenario():
        async with await Session.open(server_url) as bystander, await Session.open(server_url) as attacker:
            await bystander.wait_idle(120)
            await attacker.wait_idle(120)
            for _ in range(3):
                await attacker.send_raw(BackMsg(clear_cache=True))
            await attacker.rerun()
            await attacker.wait_idle(60)
            await bystander.rerun()
            await bystander.wait_idle(60)
            return bystander.texts(), bystander.exceptions(), attacker.exceptions()
    texts, *boxes = run(scenario())
    assert any("GenAI Lab" in t for t in texts) and not any(boxes)
    log = (ROOT / ".cache" / "server-hostile.log").read_text()
    assert log.count("Ignored a request from 127.0.0.1 to clear the server's caches") == 3


def _upload(url: str, session_id: str, cookies: dict, size: int) -> int:
    request = urllib.request.Request(f"{url}/_stcore/upload_file/{session_id}/file-1", method="PUT",
                                     data=b"x" * 16, headers={
                                         "Content-Length": str(size), "Content-Type": "multipart/form-data",
                                         "X-Xsrftoken": cookies.get("_streamlit_xsrf", ""),
                                         "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_an_upload_over_the_limit_is_refused_by_the_server(server_url):
    """The file widget's limit lives in the browser; the server's own (`server.maxUploadSize`, 5 MB) refuses a
    200 MB upload from its headers, before reading it."""
    async def scenario():
        async with await Session.open(server_url) as s:         # the upload names a live session
            await s.wait_idle(120)
            too_big = await asyncio.to_thread(_upload, server_url, s.session_id, dict(s.cookies), 200 * 1024 * 1024)
            allowed = await asyncio.to_thread(_upload, server_url, s.session_id, dict(s.cookies), 16)
            return too_big, allowed
    too_big, allowed = run(scenario())
    assert too_big == 413 and allowed != 413


def test_an_oversized_widget_state_closes_only_that_connection(server_url):
    """A rerun request of 5 MB (the limit is 4 MB: server.maxWidgetStateSize) closes that client's socket; another
    client is served as before."""
    async def scenario():
        async with await Session.open(server_url) as bystander, await Session.open(server_url) as attacker:
            await bystander.wait_idle(120)
            await attacker.wait_idle(120)
            big = BackMsg()
            big.rerun_script.query_string = "x" * (5 * 1024 * 1024)
            await attacker.send_raw(big)
            try:
                await attacker.wait_for(lambda s: False, 10, "the server to close the socket")
                closed = False
            except SessionClosed:
                closed = True
            await bystander.rerun()
            await bystander.wait_idle(60)
            return closed, bystander.texts()
    closed, texts = run(scenario())
    assert closed and any("GenAI Lab" in t for t in texts)
