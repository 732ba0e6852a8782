"""AppTest: the self-paced quiz on page 12, the end-of-lesson quiz, and the locked workshop pages.

Every test gets its own temporary database (GENAI_LAB_DB) and a test presenter key.
"""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.common.text import literal
from core.lessons import load_sections
from core.workshop.quiz import load_bank
from tests.pages import apptest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
KEY = "test-presenter-key"
BANK = load_bank()


@pytest.fixture(autouse=True)
def temp_db(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_LAB_DB", str(tmp_path / "quiz.db"))
    monkeypatch.setenv("GENAI_LAB_PRESENTER_KEY", KEY)
    monkeypatch.delenv("GENAI_LAB_DATABASE_URL", raising=False)
    return tmp_path / "quiz.db"


def open_page(page: str) -> AppTest:
    return apptest.open_page(page, timeout=120)


def console_with_a_room() -> AppTest:
    """The presenter console, unlocked, with a room open (its code in session state "presenter_room")."""
    at = open_page("app_pages/90_presenter.py")
    at.text_input(key="presenter_key_input").input(KEY)
    at.button[0].click().run()
    at.button(key="presenter_open").click().run()
    return at


def followers_catch_up() -> None:
    """Followers read the room from a pulse every session shares for one second (components/workshop/cache.py);
    a test that moves the room itself does not wait that second."""
    from components.workshop import cache
    cache.room_changed()


def submit(at: AppTest) -> None:
    next(b for b in at.button if b.label == "Check answer").click().run()
    assert not at.exception, [e.value for e in at.exception]


def put_in_order(at: AppTest, key: str, wanted) -> None:
    """Sort an ordering question's list with its ↑ buttons, the way a learner would, checking the list each time."""
    for target, item in enumerate(wanted):
        while (at_index := at.session_state[f"{key}_order"].index(item)) > target:
            at.button(key=f"{key}_up_{at_index}").click().run()
            assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[f"{key}_order"] == list(wanted)


def walk(node):
    """Every element on the page in drawing order (AppTest's tree, depth first)."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def page_links(at: AppTest) -> list[str]:
    return [e.proto.label for e in at.get("page_link")]


def test_quiz_page_one_question_at_a_time_with_feedback_progress_and_retry(temp_db):
    at = open_page("app_pages/12_quiz.py")
    at.text_input(key="quiz_nickname").input("Ada").run()
    at.selectbox(key="quiz_section").select("compute-quantization").run()
    prefix = "quiz_compute-quantization"
    at.text_input(key=f"{prefix}_0_cq-train-7b_number").input("168")
    submit(at)
    assert [s.value for s in at.success] == ["Correct!"]
    at.button(key=f"{prefix}_next").click().run()
    at.text_input(key=f"{prefix}_1_cq-store-1b-bf16_number").input("4")       # wrong: that is FP32
    submit(at)
    assert "The answer is **2 GB" in at.error[0].value
    at.button(key=f"{prefix}_next").click().run()
    # The ordering question: a visible list put in order with ↑/↓ (see test_ordering_question_with_up_and_down).
    key = f"{prefix}_2_cq-training-bill"
    put_in_order(at, key, BANK.by_id("cq-training-bill").items)
    submit(at)
    assert [s.value for s in at.success] == ["Correct!"]
    run = at.session_state[f"{prefix}_run"]
    run.position = len(run.question_ids)          # jump to the end (the remaining questions are like these)
    at.run()
    assert at.metric[0].value == "2 / 7"          # unanswered questions count as not right
    assert any("Retry the 1 wrong one" in b.label for b in at.button)
    next(b for b in at.button if b.label.startswith("Retry")).click().run()
    assert at.session_state[f"{prefix}_run"].question_ids == ["cq-store-1b-bf16"]
    # progress is saved for this learner (the browser's id; in AppTest the session's own), shown under the name
    from core.storage.database import SQLiteDatabase
    from core.workshop.attempts import Attempts

    saved = Attempts(SQLiteDatabase(temp_db)).rows("s-" + at.session_state["session_owner"])
    assert [(a["question_id"], a["correct"], a["learner"]) for a in saved] == [
        ("cq-train-7b", 1, "Ada"), ("cq-store-1b-bf16", 0, "Ada"), ("cq-training-bill", 1, "Ada")]
    assert any("2 of 83" in c.value for c in at.caption)

    # Someone else typing "Ada" neither sees nor extends her progress: the name is a name, not a key.
    other = open_page("app_pages/12_quiz.py")
    other.text_input(key="quiz_nickname").input("Ada").run()
    assert any("0 of 83" in c.value for c in other.caption)
    assert not any("2 of 83" in c.value for c in other.caption)


def test_ordering_question_with_up_and_down_buttons():
    """The items are a visible numbered list with ↑/↓ on each row; the answer is the list as shown."""
    at = open_page("app_pages/12_quiz.py")
    at.selectbox(key="quiz_section").select("rlhf").run()           # rl-steps, an ordering question, comes first
    key, question = "quiz_rlhf_0_rl-steps", BANK.by_id("rl-steps")
    start = list(at.session_state[f"{key}_order"])
    assert sorted(start) == sorted(question.items) and tuple(start) != question.items
    rows = [m.value for m in at.markdown if m.value.startswith("**") and m.value[2:3].isdigit()]
    assert rows == [f"**{i + 1}.** {item}" for i, item in enumerate(start)]          # every item is visible
    last = len(start) - 1
    assert at.button(key=f"{key}_up_0").disabled and at.button(key=f"{key}_down_{last}").disabled
    assert not at.button(key=f"{key}_down_0").disabled and not at.button(key=f"{key}_up_{last}").disabled
    at.button(key=f"{key}_down_0").click().run()                    # ↓ on the first row swaps it with the second
    assert at.session_state[f"{key}_order"][:2] == [start[1], start[0]]
    at.button(key=f"{key}_up_1").click().run()                      # ↑ puts it back
    assert at.session_state[f"{key}_order"] == start
    assert at.session_state["quiz_rlhf_run"].results == {}          # moving items answers nothing
    wrong = list(at.session_state[f"{key}_order"])
    submit(at)                                                      # the shuffled order as it stands: wrong
    assert at.session_state["quiz_rlhf_run"].results == {"rl-steps": False}
    assert any(m.value == f"**Your answer:** {literal(' → '.join(wrong))}" for m in at.markdown)
    at.session_state["quiz_rlhf_run"].results.clear()
    at.session_state["quiz_rlhf_answered"] = None                  # back to the question
    at.run()
    put_in_order(at, key, question.items)
    submit(at)
    assert at.session_state["quiz_rlhf_run"].results == {"rl-steps": True}
    assert [s.value for s in at.success] == ["Correct!"]


def test_numbers_with_separators_suffixes_and_tolerance_and_the_answer_repeated():
    at = open_page("app_pages/12_quiz.py")
    at.selectbox(key="quiz_section").select("inside-transformer").run()
    run = at.session_state["quiz_inside-transformer_run"]
    run.position = run.question_ids.index("it-embedding-params")     # 49,152 × 576 = 28,311,552, ± 50,000
    at.run()
    key = f"quiz_inside-transformer_{run.position}_it-embedding-params_number"
    assert any("± 50,000 parameters" in c.value and "28.3M" in c.value for c in at.caption)   # the precision is told
    at.text_input(key=key).input("28.3M")
    submit(at)
    assert [s.value for s in at.success] == ["Correct!"]
    texts = [e.value for e in walk(at.main) if type(e).__name__ in ("Markdown", "Success", "Error")]
    assert texts.index(f"**Your answer:** {literal('28,300,000 parameters')}") < texts.index("Correct!")
    # an exact count (30 layers × 9 heads = 270 maps, tolerance 0): 271 is wrong and is repeated back
    run.position = run.question_ids.index("it-attention-maps")
    at.session_state["quiz_inside-transformer_answered"] = None
    at.run()
    at.text_input(key=f"quiz_inside-transformer_{run.position}_it-attention-maps_number").input("271")
    submit(at)
    assert "The answer is **270 maps**" in at.error[0].value
    assert any(m.value == f"**Your answer:** {literal('271 maps')}" for m in at.markdown)


def test_demo_questions_name_their_lesson_and_link_to_it_on_the_quiz_page():
    """Page 12 shows the tokenizer questions, whose demo is in lesson 2: never "on this page"."""
    at = open_page("app_pages/12_quiz.py")                         # "Everything": questions from all sections
    run = at.session_state["quiz_all_run"]
    demo_questions = [i for i, q in enumerate(run.question_ids) if BANK.by_id(q).demo]
    assert len(demo_questions) == 3
    for index in demo_questions:
        run.position = index
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        shown = " ".join(m.value for m in at.markdown)
        assert "Run the tokenizer demo (lesson 2, Inside a transformer)" in shown
        assert "this page" not in shown.casefold()
        assert "Run the tokenizer demo in lesson 2: Inside a transformer" in page_links(at)
    run.position = 0                                                 # a question without a demo: no extra link
    at.run()
    assert not [label for label in page_links(at) if "demo" in label]


def test_bad_answers_and_nicknames_give_messages_not_tracebacks():
    at = open_page("app_pages/12_quiz.py")
    at.text_input(key="quiz_nickname").input("x" * 150).run()         # the box takes 200 characters at most
    assert any("at most 24" in w.value for w in at.warning)
    at.selectbox(key="quiz_section").select("compute-quantization").run()
    for bad in ("", "abc", "1e999", "<script>alert(1)</script>", "NaN"):
        at.text_input(key="quiz_compute-quantization_0_cq-train-7b_number").input(bad)
        submit(at)
        assert any("Type a number" in w.value for w in at.warning), bad
    at = open_page("app_pages/12_quiz.py")
    at.selectbox(key="quiz_section").select("model-cards-architectures").run()   # starts with a multiple choice
    submit(at)
    assert any("Tick at least one" in w.value for w in at.warning)
    assert at.session_state["quiz_model-cards-architectures_run"].results == {}    # nothing recorded


def test_end_of_lesson_quiz_is_on_every_lesson_page():
    at = open_page("app_pages/09_rlhf.py")
    assert any("Check yourself" in e.label for e in at.expander)
    assert at.session_state["lessonquiz_rlhf_run"].question_ids == ["rl-steps", "rl-pairs", "rl-loss"]
    # The lesson widget (components/common) cannot import the quiz, so each lesson page hands it the quiz.
    for section in load_sections():
        if section.id != "quiz":
            assert "end_of_lesson=quiz_view.end_of_lesson" in (ROOT / section.page).read_text(encoding="utf-8"), \
                section.page


def test_presenter_and_instructor_pages_are_locked(monkeypatch):
    monkeypatch.delenv("GENAI_LAB_PRESENTER_KEY")
    for page in ("app_pages/90_presenter.py", "app_pages/92_instructor.py"):
        at = open_page(page)
        assert any("No presenter key is configured" in w.value for w in at.warning)
        assert any("GENAI_LAB_PRESENTER_KEY" in m.value for m in at.markdown)
        assert not any(b.label in ("Open a new room", "Download all answers (CSV)") for b in at.button)


def test_wrong_key_stays_locked_right_key_opens_a_room_and_analytics():
    at = open_page("app_pages/90_presenter.py")
    at.text_input(key="presenter_key_input").input("nope")
    at.button[0].click().run()
    assert any("not the presenter key" in e.value for e in at.error)
    at.text_input(key="presenter_key_input").input(KEY)
    at.button[0].click().run()
    at.button(key="presenter_open").click().run()
    code = at.session_state["presenter_room"]
    assert len(code) == 5 and any(code in str(h.proto) for h in at.get("html"))
    at.switch_page("app_pages/92_instructor.py")
    at.run()
    assert not at.exception and any("No answers yet" in i.value for i in at.info)


def test_live_page_join_errors():
    at = open_page("app_pages/91_live.py")
    at.text_input(key="live_main_code").input("ZZZ")
    at.text_input(key="live_main_nick").input("Ada")
    at.button[0].click().run()
    assert any("is not a room code" in w.value for w in at.warning)
    at.text_input(key="live_main_code").input("K7MPQ")
    at.text_input(key="live_main_nick").input("Ada")
    at.button[0].click().run()
    assert any("There is no room K7MPQ" in w.value for w in at.warning)
    assert "ws_room" not in at.session_state


def test_a_database_that_stops_answering_shows_a_warning_not_a_traceback(monkeypatch):
    from core.storage.database import StoreError
    from core.workshop.attempts import Attempts

    def down(*args, **kwargs):
        raise StoreError("cannot connect to the PostgreSQL database quiz@db:5432/lab: connection refused")

    at = open_page("app_pages/12_quiz.py")
    at.text_input(key="quiz_nickname").input("Ada").run()
    monkeypatch.setattr(Attempts, "rows", down)
    monkeypatch.setattr(Attempts, "record", down)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("database did not answer" in w.value for w in at.warning)


def test_followers_see_the_presenters_lesson_with_demos_behind_a_button(temp_db):
    """A follower's Live page draws the presenter's lesson as text; each demo waits for "Try … here" (a room of
    thirty arriving on page 2 would otherwise run all its demos thirty times on the shared server)."""
    from core.storage.database import SQLiteDatabase
    from core.workshop.workshop import Workshop

    ws = Workshop(SQLiteDatabase(temp_db))
    room = ws.open_room()
    at = open_page("app_pages/91_live.py")
    at.text_input(key="live_main_code").input(room.code)
    at.text_input(key="live_main_nick").input("Ada")
    at.button[0].click().run()
    assert at.session_state["ws_room"] == room.code
    ws.go_to(room.code, "inside-transformer")
    followers_catch_up()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Inside a transformer" in t.value for t in at.title)
    labels = [b.label for b in at.button]
    for demo in ("tokenizer", "embeddings", "attention"):
        assert f"Try the {demo} demo here" in labels, labels
    assert not [t for t in at.text_area if t.key == "tokenizer_text"], "a demo ran unasked"
    next(b for b in at.button if b.label == "Try the tokenizer demo here").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t for t in at.text_area if t.key == "tokenizer_text"], "the opened demo is not drawn"
    assert "Try the tokenizer demo here" not in [b.label for b in at.button]


def test_live_ordering_question_is_answered_with_up_and_down_and_send(temp_db):
    """The live page shares answer_form: the ordering list with ↑/↓ and its own "Send answer" button."""
    from core.storage.database import SQLiteDatabase
    from core.workshop.workshop import Workshop

    ws = Workshop(SQLiteDatabase(temp_db))
    room = ws.open_room()
    at = open_page("app_pages/91_live.py")
    at.text_input(key="live_main_code").input(room.code)
    at.text_input(key="live_main_nick").input("Ada")
    at.button[0].click().run()
    question = BANK.by_id("lo-stages")
    live = ws.launch(room.code, question, 120)
    followers_catch_up()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    key = next(b.key for b in at.button if b.key and b.key.endswith("_up_0"))[:-len("_up_0")]
    assert key.endswith(f"{room.code}_{live.seq}")
    put_in_order(at, key, question.items)
    next(b for b in at.button if b.label == "Send answer").click().run()
    assert not at.exception, [e.value for e in at.exception]
    [answer] = ws.rooms.answers(room.code, live.seq)
    assert answer["correct"] and answer["response"] == list(question.items)
    assert any("Your answer is in" in s.value for s in at.success)


def test_a_tile_press_whose_run_a_timer_tick_took_is_still_sent(temp_db):
    """A tile press records itself in its callback. When the heartbeat's fragment run takes the click (the button
    reads True in no full run), the next full run sends the answer anyway; a normal press answers at once."""
    from core.storage.database import SQLiteDatabase
    from core.workshop.workshop import Workshop

    ws = Workshop(SQLiteDatabase(temp_db))
    room = ws.open_room()
    joined = []
    for name in ("Ada", "Bo"):
        at = open_page("app_pages/91_live.py")
        at.text_input(key="live_main_code").input(room.code)
        at.text_input(key="live_main_nick").input(name)
        at.button[0].click().run()
        joined.append(at)
    ada, bo = joined
    question = next(q for q in BANK.questions if q.type == "single")
    live = ws.launch(room.code, question, 120)
    followers_catch_up()
    ada.run()
    bo.run()
    tiles = [b for b in ada.button if b.key and "_tile_button_" in b.key]
    assert len(tiles) == len(question.options)
    tiles[0].click().run()                                    # a normal press
    assert any("Your answer is in" in s.value for s in ada.success)
    bo.session_state["ws_sent"] = (room.code, live.seq, question.options[1])   # what the lost press's callback left
    bo.run()
    assert not bo.exception, [e.value for e in bo.exception]
    answers = {a["nickname"]: a["response"] for a in ws.rooms.answers(room.code, live.seq)}
    assert answers == {"Ada": question.options[0], "Bo": question.options[1]}
    assert any("Your answer is in" in s.value for s in bo.success)
    bo.run()                                                  # sent once: no second answer, no warning
    assert len(ws.rooms.answers(room.code, live.seq)) == 2 and not bo.warning


def test_a_self_running_live_quiz_reveals_and_launches_the_next_question(temp_db):
    """The presenter switches on "Run the quiz on its own": once everyone answered, the next run reveals; after
    the pause, the next question of the section is launched with the same time limit; after the last, the podium."""
    from core.storage.database import SQLiteDatabase
    from core.workshop.workshop import AUTO_PAUSE_S, Workshop

    at = console_with_a_room()
    code = at.session_state["presenter_room"]
    db = SQLiteDatabase(temp_db)
    ws = Workshop(db)
    rooms = ws.rooms
    ws.join(code, "Ada")
    at.toggle(key="presenter_auto_toggle").set_value(True).run()
    section = min(BANK.sections, key=lambda s: len(BANK.for_section(s)))
    ids = [q.id for q in BANK.for_section(section)]
    at.selectbox(key="presenter_q_section").select(section).run()
    at.selectbox(key="presenter_q_pick").select(ids[0]).run()
    at.select_slider(key="presenter_q_limit").set_value(45).run()
    at.button(key="presenter_launch").click().run()
    first = rooms.current_question(code)
    assert first.question_id == ids[0] and not first.revealed
    at.run()
    assert not rooms.current_question(code).revealed               # Ada has not answered, 45 s left
    question = BANK.by_id(ids[0])
    ws.answer(code, first.seq, "Ada", question, question.answer)
    at.run()
    assert rooms.current_question(code).revealed                    # everyone answered
    assert any("Running on its own" in c.value for c in at.caption)
    for n, qid in enumerate(ids[1:], start=2):
        at.session_state["presenter_revealed_at"][(code, n - 1)] -= AUTO_PAUSE_S   # the pause has passed
        at.run()
        current = rooms.current_question(code)
        assert (current.seq, current.question_id, current.time_limit) == (n, qid, 45)
        ws.reveal(code)                                             # the presenter may still reveal by hand
        at.run()
    at.session_state["presenter_revealed_at"][(code, len(ids))] -= AUTO_PAUSE_S
    at.run()
    assert rooms.room(code).phase == "podium" and not at.exception
    db.close()


@pytest.mark.parametrize("weak, why", [("change-me-to-a-long-random-phrase", "example key"),
                                       ("short", "at least 12")])
def test_a_weak_presenter_key_keeps_the_console_locked(monkeypatch, weak, why):
    monkeypatch.setenv("GENAI_LAB_PRESENTER_KEY", weak)
    at = open_page("app_pages/90_presenter.py")
    assert any("is refused" in e.value and why in e.value for e in at.error)
    assert not [t for t in at.text_input if t.key == "presenter_key_input"], "no key box: even the weak key is useless"
    assert not any(b.label == "Open a new room" for b in at.button)


def test_twenty_wrong_keys_in_a_row_back_off_and_the_right_key_waits_too():
    at = open_page("app_pages/90_presenter.py")
    for _ in range(20):
        at.text_input(key="presenter_key_input").input("wrong guess")
        at.button[0].click().run()
    assert any("Too many wrong keys" in w.value for w in at.warning)
    at.text_input(key="presenter_key_input").input(KEY)
    at.button[0].click().run()
    assert "presenter_ok" not in at.session_state or not at.session_state["presenter_ok"]      # still locked
    assert any("try again in" in w.value for w in at.warning)
    fresh = open_page("app_pages/90_presenter.py")            # another browser is not slowed down by this one
    fresh.text_input(key="presenter_key_input").input(KEY)
    fresh.button[0].click().run()
    assert fresh.session_state["presenter_ok"]


def test_lock_console_ends_the_session_on_the_server(temp_db):
    from core.storage.database import SQLiteDatabase
    from core.workshop.presenter_sessions import PresenterSessions
    from core.workshop.workshop import session_hash

    at = console_with_a_room()
    session = at.session_state["presenter_session"]
    sessions = PresenterSessions(SQLiteDatabase(temp_db))
    assert sessions.live(session_hash(session), now=0)
    at.button(key="presenter_lock").click().run()
    assert not sessions.live(session_hash(session), now=0)
    assert "presenter_ok" not in at.session_state and "presenter_room" not in at.session_state
    assert at.text_input(key="presenter_key_input")                     # locked again: the key box is back
