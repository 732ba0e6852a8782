"""The wire client (tests/wire/client.py) against a real `streamlit run` server with a small toy app.

One server for the module; every test opens its own sessions (Streamlit keeps state per session), so tests do not
depend on each other's order. Waits are on conditions the client tracks, never on sleeps."""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.wire.client import Session, SessionClosed

TOY_APP = '''
import streamlit as st

HEARTBEAT = st.components.v2.component(
    "toy_heartbeat",
    js="export default function (c) {"
       " const t = setInterval(() => c.setTriggerValue('tick', Date.now()), 3000);"
       " return () => clearInterval(t); }",
)


@st.fragment
def watch():
    st.session_state.ticks = st.session_state.get("ticks", 0) + 1
    st.caption(f"fragment runs: {st.session_state.ticks}")
    HEARTBEAT(key="toy_beat", on_tick_change=lambda: None, height=0)
    if st.button("Rerun everything"):
        st.rerun()


def home():
    st.title("Toy home")
    st.markdown(f"cookie: {st.context.cookies.get('toy_id')}")
    st.session_state.setdefault("clicks", 0)
    if st.button("Click me"):
        st.session_state.clicks += 1
        st.toast("clicked")
    st.write(f"clicks: {st.session_state.clicks}")
    name = st.text_input("Your name")
    if name:
        st.markdown(f"Hello, {name}!")
    with st.form("quiz"):
        choice = st.radio("Pick one", ["red", "green", "blue"], index=None)
        submitted = st.form_submit_button("Submit answer")
    if submitted:
        st.success(f"You picked {choice}")
    with st.form("notes", clear_on_submit=True):
        note = st.text_input("Note")
        if st.form_submit_button("Save note"):
            st.info(f"saved: {note!r}")
    watch()
    if st.button("Go to second page"):
        st.switch_page(SECOND)
    if st.button("Set query"):
        st.query_params["room"] = "K7"
    if st.button("Boom"):
        raise ValueError("boom!")


def second():
    st.header("Second page")
    st.markdown(f"query room: {st.query_params.get('room')}")
    count = st.number_input("How many", min_value=0, max_value=10, value=3)
    size = st.select_slider("Size", ["S", "M", "L"], value="M")
    low, high = st.slider("Range", 0.0, 1.0, (0.25, 0.75))
    st.markdown(f"picked {count!r} {size} {low}-{high}")


@st.fragment(run_every=0.2)
def timer():
    st.session_state.timer_runs = st.session_state.get("timer_runs", 0) + 1
    st.markdown(f"timer runs: {st.session_state.timer_runs}")


def timer_page():
    st.header("Timer page")
    timer()


def big():
    st.code("x" * 20_000)   # over global.minCachedMessageSize: the server may send it by reference


SECOND = st.Page(second, title="Second", url_path="second")
pg = st.navigation([st.Page(home, title="Home", default=True), SECOND,
                    st.Page(timer_page, title="Timer", url_path="timer"), st.Page(big, title="Big", url_path="big")])
st.session_state.full_runs = st.session_state.get("full_runs", 0) + 1
st.sidebar.markdown(f"full runs: {st.session_state.full_runs}")
pg.run()
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """`streamlit run toy.py` on a free port, until /_stcore/health answers "ok"; stopped after the module."""
    app_dir = tmp_path_factory.mktemp("toy_app")
    (app_dir / "toy.py").write_text(TOY_APP)
    port = _free_port()
    log_path = app_dir / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "toy.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=app_dir, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited early:\n{Path(log_path).read_text()}")
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no health answer within 60 s:\n{Path(log_path).read_text()}")
            time.sleep(0.1)     # polling the health endpoint, the only way to learn that the server is up
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(coro):
    """Runs a scenario on its own thread: a browser test earlier in the same pytest process leaves Playwright's
    event loop running on the main thread, where asyncio.run refuses to start another."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coro, 60)).result()


async def _opened(url: str, **kwargs) -> Session:
    session = await Session.open(url, **kwargs)
    await session.wait_idle()
    return session


def test_first_render(server_url):
    async def scenario():
        async with await _opened(server_url, cookies={"toy_id": "abc"}) as s:
            assert s.session_id
            assert s.last_status == "FINISHED_SUCCESSFULLY"
            assert (s.page_name, s.url_path) == ("Home", "")
            assert [p.page_name for p in s.pages] == ["Home", "Second", "Timer", "Big"]
            texts = s.texts()
            assert texts[:3] == ["Toy home", "cookie: abc", "clicks: 0"]
            assert "full runs: 1" in texts and "fragment runs: 1" in texts
            assert "_streamlit_xsrf" in s.cookies          # set by /_stcore/health, sent with the handshake
            assert [w.label for w in s.widgets("button")] == ["Click me", "Rerun everything", "Go to second page",
                                                              "Set query", "Boom"]
            radio = s.widget("Pick one")
            assert (radio.type, radio.options, radio.value, radio.form_id != "") == (
                "radio", ("red", "green", "blue"), None, True)
            assert s.widget("Your name").value == ""
            assert s.widget("Submit answer").type == "form_submit_button"
            [beat] = s.components("toy_beat")
            assert (beat.label, beat.key, beat.fragment_id != "") == ("toy_heartbeat", "toy_beat", True)
            assert s.tree.title[0].value == "Toy home"     # AppTest's element tree, built from the wire

    run(scenario())


def test_click_is_one_shot(server_url):
    async def scenario():
        async with await _opened(server_url) as s:
            await s.click("Click me")
            await s.wait_idle()
            assert "clicks: 1" in s.texts()
            assert s.toasts() == ["clicked"]
            await s.click("Click me")
            await s.wait_idle()
            await s.rerun()             # the trigger is not sent again
            await s.wait_idle()
            assert "clicks: 2" in s.texts() and "full runs: 4" in s.texts()

    run(scenario())


def test_text_input_is_sent_with_every_rerun(server_url):
    async def scenario():
        async with await _opened(server_url) as s:
            await s.set_value("Your name", "Ada")
            await s.wait_idle()
            assert "Hello, Ada!" in s.texts()
            assert s.widget("Your name").value == "Ada"
            await s.click("Click me")   # another interaction: the browser sends the text input's value again
            await s.wait_idle()
            assert "Hello, Ada!" in s.texts() and "clicks: 1" in s.texts()

    run(scenario())


def test_form_sends_on_submit(server_url):
    async def scenario():
        async with await _opened(server_url) as s:
            runs = s.runs_started
            await s.set_value("Pick one", "green")
            assert s.widget("Pick one").value == "green"   # shown, but not sent: no run
            assert s.idle and s.runs_started == runs
            await s.click("Submit answer")
            await s.wait_idle()
            assert "You picked green" in s.texts()
            with pytest.raises(ValueError):
                await s.set_value("Pick one", "purple")

    run(scenario())


def test_form_cleared_on_submit(server_url):
    async def scenario():
        async with await _opened(server_url) as s:
            await s.set_value("Note", "hi")
            await s.click("Save note")
            await s.wait_idle()
            assert "saved: 'hi'" in s.texts() and s.widget("Note").value == ""
            await s.click("Save note")                  # the cleared value is what the next submit sends
            await s.wait_idle()
            assert "saved: ''" in s.texts()

    run(scenario())


def test_large_elements_come_by_reference_once_cached(server_url):
    async def scenario():
        async with await _opened(server_url, path="big") as s:
            first = s.bytes_received
            assert first > 20_000 and "x" * 20_000 in s.texts()
            await s.rerun()                             # the request lists the cached hash: a reference comes back
            await s.wait_idle()
            assert s.bytes_received - first < 10_000 and "x" * 20_000 in s.texts()

    run(scenario())


def test_heartbeat_tick_reruns_only_its_fragment(server_url):
    async def scenario():
        async with await _opened(server_url) as s:
            await s.tick("toy_beat")
            await s.wait_idle()
            assert s.last_status == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"
            assert s.last_fragment_ids == (s.components("toy_beat")[0].fragment_id,)
            texts = s.texts()
            assert "fragment runs: 2" in texts and "fragment runs: 1" not in texts
            assert "full runs: 1" in texts and "Toy home" in texts   # the rest of the page stays
            ticker = s.start_ticker(0.05, "toy_beat")
            await s.wait_for_text("fragment runs: 5")
            ticker.cancel()
            assert "full runs: 1" in s.texts()

    run(scenario())


def test_rerun_from_a_fragment_runs_the_whole_app(server_url):
    async def scenario():
        async with await _opened(server_url) as s:
            await s.click("Rerun everything")            # a button inside the fragment: st.rerun() in a fragment run
            await s.wait_idle()
            assert s.last_fragment_ids == () and s.last_status == "FINISHED_SUCCESSFULLY"
            assert "full runs: 2" in s.texts() and "fragment runs: 3" in s.texts()

    run(scenario())


def test_switch_page_and_navigation(server_url):
    async def scenario():
        async with await _opened(server_url) as s:
            await s.click("Go to second page")          # st.switch_page: the server runs the other page itself
            await s.wait_idle()
            assert (s.page_name, s.url_path) == ("Second", "second")
            texts = s.texts()
            assert "Second page" in texts and "Toy home" not in texts
            assert "full runs: 3" in texts              # the click's run, then the second page's
            assert s.components() == []
            await s.navigate("")                        # back home from the menu
            await s.wait_idle()
            assert (s.page_name, s.url_path) == ("Home", "")
            assert "Toy home" in s.texts() and "Second page" not in s.texts()

    run(scenario())


def test_query_params(server_url):
    async def scenario():
        async with await _opened(server_url) as s:
            await s.click("Set query")
            await s.wait_for(lambda s: s.query_string == "room=K7", what="the query string")
            await s.wait_idle()
            assert s.url == f"{server_url}/?room=K7"
        async with await _opened(server_url, path="second", query="room=K7") as s:
            assert (s.page_name, s.url_path) == ("Second", "second")
            assert "query room: K7" in s.texts()

    run(scenario())


def test_number_input_and_sliders(server_url):
    async def scenario():
        async with await _opened(server_url, path="second") as s:
            assert [(w.type, w.value) for w in s.widgets(("number_input", "select_slider", "slider"))] == [
                ("number_input", 3), ("select_slider", "M"), ("slider", (0.25, 0.75))]
            await s.set_value("How many", 5)
            await s.wait_idle()
            await s.set_value("Size", "L")
            await s.wait_idle()
            await s.set_value("Range", (0.5, 1.0))
            await s.wait_idle()
            assert "picked 5 L 0.5-1.0" in s.texts()

    run(scenario())


def test_exception_is_drawn(server_url):
    async def scenario():
        async with await _opened(server_url) as s:
            assert s.exceptions() == []
            await s.click("Boom")
            await s.wait_idle()
            [error] = s.exceptions()
            assert (error.type, error.message) == ("ValueError", "boom!")

    run(scenario())


def test_run_every_timer(server_url):
    async def scenario():
        async with await _opened(server_url, path="timer") as s:
            await s.wait_for_text("timer runs: 3")
            assert "full runs: 1" in s.texts()
            await s.navigate("Home")                    # leaving the page stops the fragment's timer
            await s.wait_idle()
            assert "Toy home" in s.texts() and not any(t.startswith("timer runs") for t in s.texts())

    run(scenario())


def test_sessions_do_not_share_state(server_url):
    async def scenario():
        a, b = await asyncio.gather(_opened(server_url), _opened(server_url))
        async with a, b:
            assert a.session_id != b.session_id
            await asyncio.gather(a.click("Click me"), b.set_value("Your name", "Bo"))
            await asyncio.gather(a.wait_idle(), b.wait_idle())
            assert "clicks: 1" in a.texts() and not any(t.startswith("Hello") for t in a.texts())
            assert "clicks: 0" in b.texts() and "Hello, Bo!" in b.texts()

    run(scenario())


def test_send_raw_and_closed_socket(server_url):
    async def scenario():
        s = await _opened(server_url)
        await s.send_raw(BackMsg(app_heartbeat=True))
        await s.wait_for(lambda s: s.messages_received > 0, what="any message")
        await s.close()
        assert s.closed
        with pytest.raises(SessionClosed):
            await s.wait_idle()
        with pytest.raises(SessionClosed):
            await s.click("Click me")

    run(scenario())
