"""Quotas and roles on the shared training queue (components/common/training.py), in AppTest sessions that stand for
browser tabs: the tabs of one browser share its id cookie, so one person holds one run however many tabs they open;
in a workshop room only the presenter starts runs, and followers see the presenter's run, never a participant's."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from components.common import cache as app_cache
from components.common import identity
from core.serving.jobs import Jobs

RELEASE = threading.Event()          # the blocking runs below finish when a test sets it


def blocking_work(ctx, service):
    RELEASE.wait(10)
    return "trained"


def tab_script():
    import streamlit as st

    from components.common import keys, roles, training
    from tests.components import test_quotas as here

    room = st.session_state.get("room_for_test")
    if room == "presenter":
        st.session_state.update({keys.PRESENTER_OK: True, keys.PRESENTER_ROOM: "ABCDE"})
    elif room:
        st.session_state[keys.WS_ROOM] = room
    if roles.start_button("Start", "start"):
        st.session_state["queued"] = training.start("race", "race", here.blocking_work)
    shown = training.to_show("race")
    st.caption(f"shown: {shown.title if shown else None}")


@pytest.fixture
def queue(monkeypatch, tmp_path):
    """A fresh training queue, a fresh database (a room's runs are published there, and followers read them) and a
    service that loads nothing, for this test only."""
    monkeypatch.setenv("GENAI_LAB_DATABASE_URL", f"sqlite:///{tmp_path / 'runs.sqlite3'}")
    jobs = Jobs(max_queued=6, workers=1, stale_after_s=60, tidy=lambda: None)
    fake = SimpleNamespace(device="cpu", load=lambda kind: SimpleNamespace(memory_bytes=0))
    monkeypatch.setattr(app_cache, "jobs", lambda: jobs)
    monkeypatch.setattr(app_cache, "model_service", lambda: fake)
    RELEASE.clear()
    yield jobs
    RELEASE.set()
    jobs.shutdown(timeout=10, cancel_running=True)


def tab(room: str | None = None) -> AppTest:
    at = AppTest.from_function(tab_script, default_timeout=30)
    if room:
        at.session_state["room_for_test"] = room
    return at.run()


def test_seven_tabs_of_one_browser_start_one_run(queue, monkeypatch):
    monkeypatch.setattr(identity, "_cookie", lambda: "one-browser-" + "x" * 24)
    tabs = [tab() for _ in range(7)]
    for at in tabs:
        at.button(key="start").click().run()
        assert not at.exception
    assert [at.session_state["queued"] for at in tabs] == [True] + [False] * 6
    assert all(any("already have a training run" in w.value for w in at.warning) for at in tabs[1:])
    assert len(queue.active()) == 1
    # Another person is not held up by the first one's tabs.
    monkeypatch.setattr(identity, "_cookie", lambda: "another-browser-" + "y" * 20)
    other = tab()
    other.button(key="start").click().run()
    assert other.session_state["queued"] and len(queue.active()) == 2


def test_a_participant_in_a_room_cannot_start_a_run_and_sees_the_presenters(queue):
    participant = tab(room="ABCDE")
    assert participant.button(key="start").disabled
    assert any("presenter starts the runs" in c.value for c in participant.caption)
    # Two people on their own (not in the room) start runs: the participant sees neither.
    running, waiting = tab(), tab()
    running.button(key="start").click().run()
    waiting.button(key="start").click().run()
    assert any(c.value == "shown: None" for c in participant.run().caption)
    presenter = tab(room="presenter")
    presenter.button(key="start").click().run()
    assert presenter.session_state["queued"]
    assert any(c.value == "shown: the presenter's race" for c in participant.run().caption)
    places = {job.who: job.snapshot().position for job in queue.active()}
    assert places["the presenter (room ABCDE)"] == 1          # ahead of the learner who was waiting
    assert sorted(places.values()) == [0, 1, 2]


def test_a_participant_forging_the_start_is_refused_with_one_sentence(queue):
    """Even when the start function is reached (an old tab, a forged message), a participant gets one sentence."""
    script = '''
import streamlit as st
from components.common import keys, training
from tests.components import test_quotas as here
st.session_state[keys.WS_ROOM] = "ABCDE"
st.session_state["queued"] = training.start("race", "race", here.blocking_work)
'''
    at = AppTest.from_string(script, default_timeout=30).run()
    assert at.session_state["queued"] is False and not queue.active()
    assert any("presenter starts the runs" in i.value for i in at.info)
