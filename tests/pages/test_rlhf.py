"""Page 9 (RLHF) under AppTest, on the real models: the reward model trains and scores, bad text gets one sentence,
best-of-n picks the highest reward. Labeling runs in tests/browser/test_rlhf.py."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.pages import apptest
from tests.pages.apptest import button, metric, ok, table, texts

pytestmark = pytest.mark.model
PAGE = "app_pages/09_rlhf.py"


def test_reward_model_trains_scores_and_refuses_bad_text():
    at = ok(apptest.open_page(PAGE, timeout=300))
    assert "Switch on to let SmolLM2 write 3 answers" in texts(at)       # nothing sampled before the learner asks
    button(at, "rlhf_reward_train").click().run()
    ok(at)
    assert metric(at, "training pairs") == "180"
    assert int(metric(at, "held-out accuracy").rstrip("%")) >= 70
    probes = table(at, "reward")
    assert len(probes) == 4 and probes["reward"][1] < probes["reward"][0]            # rude scores below helpful
    assert metric(at, "reward").startswith(("+", "-"))
    at.text_area(key="rlhf_reward_reply").input("   ").run()
    assert any("Type a text" in w.value for w in ok(at).warning)


def test_best_of_n_ranks_the_sampled_answers_by_reward():
    at = ok(apptest.open_page(PAGE, timeout=300))
    at.slider(key="rlhf_bon_n").set_value(2).run()
    button(at, "rlhf_bon_run").click().run()
    ranked = table(ok(at), "answer")
    assert list(ranked["rank"]) == [1, 2] and ranked["reward"][0] >= ranked["reward"][1]


def test_toxicity_classifier_scores_text_and_refuses_empty_text():
    at = ok(apptest.open_page(PAGE, timeout=300))
    at.toggle(key="rlhf_tox_on").set_value(True).run()
    ok(at)
    assert int(metric(at, "held-out accuracy").rstrip("%")) >= 80
    at.text_input(key="rlhf_tox_text").input("Shut up, you useless idiot.").run()
    assert int(metric(ok(at), "P(toxic)").rstrip("%")) > 50
    assert "preferred replies average" in texts(at)
    at.text_input(key="rlhf_tox_text").input("").run()
    assert any("Type a text" in w.value for w in ok(at).warning)


ROOM = "RLHF1"


@pytest.fixture
def room_db(tmp_path, monkeypatch):
    """A temporary database with one workshop room and two participants, and a presenter key; the labels and
    labeling rounds repositories over it."""
    import time

    from core.labs.rlhf.labels import Labels
    from core.storage.database import SQLiteDatabase
    from core.workshop.rooms import Rooms
    from core.workshop.rounds import LabelingRounds
    monkeypatch.setenv("GENAI_LAB_DB", str(tmp_path / "labels.db"))
    monkeypatch.setenv("GENAI_LAB_PRESENTER_KEY", "test-presenter-key")
    monkeypatch.delenv("GENAI_LAB_DATABASE_URL", raising=False)
    db = SQLiteDatabase(tmp_path / "labels.db")
    rooms = Rooms(db)
    rooms.create_room(ROOM, time.time() + 3600)
    for name in ("Ada", "Bo"):
        rooms.add_participant(ROOM, name, name.casefold())
    yield SimpleNamespace(labels=Labels(db), rounds=LabelingRounds(db))
    db.close()


def _as(at, **state):
    for key, value in state.items():
        at.session_state[key] = value
    return at


def _participant(name: str):
    from streamlit.testing.v1 import AppTest

    from components.common import keys
    at = AppTest.from_file(apptest.APP, default_timeout=300)
    _as(at, **{keys.WS_ROOM: ROOM, keys.WS_NAME: name, keys.WS_FOLLOW: False})
    at.run()
    at.switch_page(PAGE)
    return ok(at.run())


def _rank(at, round_id: int, choices) -> None:
    for letter, choice in zip("ABC", choices):
        at.radio(key=f"rlhf_label_r{round_id}_Completion {letter}").set_value(choice)
    ok(at.run())


def test_a_labeling_round_from_the_presenter_to_two_participants(room_db):
    from streamlit.testing.v1 import AppTest

    from components.common import keys
    lone = _participant("Ada")                 # before any round: label on your own
    assert "When the presenter launches a labeling round" in texts(lone)

    presenter = AppTest.from_file(apptest.APP, default_timeout=300)
    _as(presenter, **{keys.PRESENTER_OK: True, keys.PRESENTER_ROOM: ROOM})
    presenter.run()
    presenter.switch_page(PAGE)
    ok(presenter.run())
    assert "No round yet" in texts(presenter)
    presenter.toggle(key="rlhf_label_on").set_value(True).run()
    button(ok(presenter), "rlhf_label_launch").click().run()
    current = room_db.rounds.current(ROOM)
    assert current is not None and current.open and len(current.completions) == 3
    assert "Round 1 is **open**: 0 ranking(s)" in texts(ok(presenter))

    ada, bo = _participant("Ada"), _participant("Bo")
    for at, choices in ((ada, (1, 2, "F")), (bo, (1, 1, 2))):
        assert "Labeling round 1 from the presenter" in texts(at)
        _rank(at, 1, choices)
        button(at, "rlhf_label_add_r1").click().run()
        assert any("Saved for" in s.value for s in ok(at).success)
    saved = room_db.labels.rows(room=ROOM)
    assert sorted(r["labeler"] for r in saved) == ["Ada", "Bo"]
    assert all(r["completions"] == list(current.completions) for r in saved)
    _rank(ada, 1, (2, 1, "F"))                 # Ada changes her mind: her ranking is replaced, not added
    button(ada, "rlhf_label_add_r1").click().run()
    assert len(room_db.labels.rows(room=ROOM)) == 2

    presenter.run()
    assert "2 ranking(s) saved" in texts(ok(presenter))
    assert metric(presenter, "pairwise agreement").endswith("%")
    button(presenter, "rlhf_label_close").click().run()
    assert not room_db.rounds.current(ROOM).open

    assert button(bo, "rlhf_policy_start").disabled     # in a room only the presenter trains on the shared server
    assert not button(presenter, "rlhf_policy_start").disabled
    bo.run()                                   # Bo's page learns the round closed: no save any more
    assert "closed: rankings are no longer saved" in texts(ok(bo))
    assert button(bo, "rlhf_label_add_r1").disabled
    assert len(room_db.labels.rows(room=ROOM)) == 2

    # the room's labels train the room's reward model (the default source in a room)
    presenter.run()
    assert presenter.selectbox(key="rlhf_reward_source").value == "room"
    button(presenter, "rlhf_reward_train").click().run()
    ok(presenter)
    room_pairs = 3 + 2                         # Ada: B > A, B > C (F), A > C (F); Bo: A = B (no pair), A > C, B > C
    assert metric(presenter, "training pairs") == str(180 + room_pairs)


def test_policy_demo_draws_without_training():
    at = ok(apptest.open_page(PAGE, timeout=300))
    assert "Try it: RLHF's policy update" in texts(at)
    assert at.select_slider(key="rlhf_policy_beta").value == 0.2
    assert any(b.key == "rlhf_policy_start" for b in at.button)


def test_observations_name_reward_hacking_only_when_the_numbers_show_it():
    from components.labs.rlhf.policy_view import observations
    from core.labs.rlhf.policy import Evaluation, PolicyRun, PolicySettings, Step

    def run(after_replies, after_reward, kl):
        r = PolicyRun(PolicySettings(beta=0.0, steps=8))
        r.steps = [Step(i, "p", 0.1 * i, kl * i / 8, 0.0, 24, 0.0, 1.0) for i in range(1, 9)]
        r.checkpoints = [(0, Evaluation(("q",), ("A plain answer.",), (-0.3,), (0.2,))),
                         (8, Evaluation(("q",), (after_replies,), (after_reward,), (0.3,)))]
        r.state = "done"
        return " ".join(observations(r))
    assert "Reward hacking" in run("by by by by by by by by", 0.2, 10)
    assert "Reward hacking" in run("A different plain answer.", 0.2, 120)
    assert "Reward hacking" not in run("A different plain answer.", 0.2, 5)
    assert "did not rise" in run("A plain answer.", -0.5, 5)


def _published_policy_run(db, *, updated_at: float, state: str = "running"):
    """The presenter's policy update as another replica published it: a row in the database, in no queue here."""
    import time

    from components.labs.rlhf.shared import POLICY_KIND
    from core.labs.rlhf.policy import PolicyRun, PolicySettings
    from core.serving.jobs import JobSnapshot
    from core.workshop.room_runs import RoomRuns
    run = PolicyRun(PolicySettings(beta=0.5), phase="the reference answers the held-out prompts")
    snap = JobSnapshot(id="job-elsewhere", owner="presenter-browser", title="the presenter's policy update",
                       kind=POLICY_KIND, room=ROOM, private=False, who=f"the presenter (room {ROOM})", state=state,
                       progress={"run": run}, result=None, error=None, cancel_reason=None,
                       submitted_at=time.time() - 30, started_at=time.time() - 29, finished_at=None, position=0,
                       version=4)
    RoomRuns(db).publish(snap, "replica-b:42", now=updated_at)


def test_a_participant_follows_the_presenters_run_published_by_another_replica(room_db):
    import time

    from components.common import cache as app_cache
    _published_policy_run(room_db.labels.db, updated_at=time.time())
    app_cache._room_run.clear()
    assert app_cache.jobs().find("job-elsewhere") is None           # not in this process's training queue
    ada = _participant("Ada")
    shown = texts(ada)
    assert f"**Showing the presenter \\(room {ROOM}\\) (β = 0.5)** — running" in shown
    assert not any(b.key == "rlhf_policy_cancel" for b in ada.button)   # only the executing replica cancels
    assert app_cache.room_runs().get("job-elsewhere").viewed_at is not None     # her view reaches that replica

    _published_policy_run(room_db.labels.db, updated_at=time.time() - 120)     # that replica went quiet
    app_cache._room_run.clear()
    ada.run()
    assert any("The replica running this run stopped; the presenter can start it again." in e.value
               for e in ok(ada).error)


def test_sampled_completions_are_stored_once_and_read_back(decoder, tmp_path, monkeypatch):
    from components.labs.rlhf import cache
    from core.labs.rlhf.completions import SampledCompletions
    from core.storage.database import SQLiteDatabase
    monkeypatch.setenv("GENAI_LAB_DB", str(tmp_path / "samples.db"))
    monkeypatch.delenv("GENAI_LAB_DATABASE_URL", raising=False)
    calls = []
    generate = decoder.generate
    monkeypatch.setattr(decoder, "generate", lambda *a, **k: calls.append(1) or generate(*a, **k))
    cache.completions.clear()
    first = cache.completions("Name a colour.", 2, 8)
    assert len(calls) == 2 and len(first) == 2
    cache.completions.clear()                     # another replica (or this one after "Clear caches")
    assert cache.completions("Name a colour.", 2, 8) == first and len(calls) == 2       # read back, not sampled
    db = SQLiteDatabase(tmp_path / "samples.db")
    try:
        stored = SampledCompletions(db).get(decoder.registry.default_decoder, "Name a colour.", 2, 8)
    finally:
        db.close()
    assert stored == first
    cache.completions.clear()
