"""Rooms, join codes, nicknames, live answers, timing and the presenter key."""
import pytest

from core.lessons import load_sections
from core.storage.database import SQLiteDatabase
from core.workshop.quiz import load_bank
from core.workshop.workshop import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Workshop,
    WorkshopError,
    clean_nickname,
    new_code,
    nickname_key,
    normalize_code,
    presenter_key_matches,
)


class Clock:
    def __init__(self, t=1_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def setup(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr("core.workshop.rooms.time.time", clock)       # the database stamps rows with the same clock
    db = SQLiteDatabase(tmp_path / "w.db")
    bank = load_bank(section_ids=[s.id for s in load_sections()])
    yield Workshop(db, clock=clock), clock, bank
    db.close()


def test_codes_are_unambiguous():
    for _ in range(200):
        code = new_code()
        assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert not set("0O1IL") & set(CODE_ALPHABET)
    assert normalize_code(" k7m-pq ") == "K7MPQ"
    for bad in ("", "   ", "K7MP", "K7MPQQ", "K0MPQ", "<b>x</b>", None, 12345):
        with pytest.raises(WorkshopError):
            normalize_code(bad)


def test_nicknames():
    assert clean_nickname("  Ada   Lovelace ") == "Ada Lovelace"
    assert clean_nickname("<b>Bo</b>") == "<b>Bo</b>"         # stored as typed, escaped wherever it is drawn
    for bad in ("", "   ", "x" * 500, "a\u200bb", "tab\x07", None):
        with pytest.raises(WorkshopError):
            clean_nickname(bad)


def test_presenter_key():
    assert presenter_key_matches("s3cret", "s3cret")
    assert not presenter_key_matches("s3cre", "s3cret")
    assert not presenter_key_matches("", "s3cret")
    assert not presenter_key_matches("anything", None) and not presenter_key_matches("", "")
    assert not presenter_key_matches(None, "s3cret")


def test_join_wrong_expired_and_duplicate(setup):
    ws, clock, _ = setup
    room = ws.open_room("rlhf", hours=1)
    with pytest.raises(WorkshopError, match="no room"):
        ws.join("ZZZZZ" if room.code != "ZZZZZ" else "YYYYY", "Ada")
    ws.join(room.code.lower(), "Ada")
    with pytest.raises(WorkshopError, match="already called"):
        ws.join(room.code, " ada ")
    with pytest.raises(WorkshopError, match="at most"):
        ws.join(room.code, "x" * 500)
    assert ws.rooms.participants(room.code) == ["Ada"]
    clock.t += 3601
    with pytest.raises(WorkshopError, match="expired"):
        ws.join(room.code, "Bo")
    assert ws.rooms.participants(room.code) == ["Ada"]


def test_live_question_scoring_timing_and_leaderboard(setup):
    from core.workshop.quiz import leaderboard

    ws, clock, bank = setup
    room = ws.open_room()
    for name in ("Ada", "Bo", "Cy"):
        ws.join(room.code, name)
    q = bank.by_id("cq-train-7b")
    live = ws.launch(room.code, q, 20)
    clock.t += 2
    fast = ws.answer(room.code, live.seq, "Ada", q, 168)
    clock.t += 8
    slow = ws.answer(room.code, live.seq, "Bo", q, 168.5)
    wrong = ws.answer(room.code, live.seq, "Cy", q, 24)
    assert fast.correct and slow.correct and not wrong.correct
    assert fast.points == 950 and slow.points == 750 and wrong.points == 0
    with pytest.raises(WorkshopError, match="already answered"):
        ws.answer(room.code, live.seq, "Ada", q, 1)
    board = leaderboard(ws.rooms.answers(room.code), ws.rooms.participants(room.code))
    assert [s.nickname for s in board] == ["Ada", "Bo", "Cy"]
    assert len(ws.rooms.answers(room.code, live.seq)) == 3


def test_late_answers_and_strangers_are_refused(setup):
    ws, clock, bank = setup
    room = ws.open_room()
    ws.join(room.code, "Ada")
    ws.join(room.code, "Bo")
    q = bank.by_id("gai-hallucination-definition")
    live = ws.launch(room.code, q, 10)
    with pytest.raises(WorkshopError, match="Join the room"):
        ws.answer(room.code, live.seq, "Mallory", q, "Hallucination")
    with pytest.raises(WorkshopError, match="no longer open"):
        ws.answer(room.code, live.seq + 1, "Ada", q, "Hallucination")
    clock.t += 11
    with pytest.raises(WorkshopError, match="Time is up"):
        ws.answer(room.code, live.seq, "Ada", q, "Hallucination")
    ws.reveal(room.code)
    clock.t -= 5                      # even within the time, a revealed question takes no answers
    with pytest.raises(WorkshopError, match="Time is up"):
        ws.answer(room.code, live.seq, "Bo", q, "Hallucination")
    assert ws.rooms.answers(room.code) == []


def test_presenter_moves_bump_the_version(setup):
    ws, _, bank = setup
    room = ws.open_room()
    moved = ws.go_to(room.code, "rlhf")
    assert moved.section == "rlhf" and moved.version > room.version
    live = ws.launch(room.code, bank.by_id("rl-pairs"), 15)
    assert ws.rooms.room(room.code).phase == "question"
    assert ws.reveal(room.code).revealed and live.seq == 1
    assert ws.finish(room.code).phase == "podium"
    with pytest.raises(WorkshopError):
        ws.launch(room.code, bank.by_id("rl-pairs"), 1)


def test_opening_a_lesson_after_a_revealed_question_brings_followers_back_to_the_lesson(setup):
    ws, _, bank = setup
    room = ws.open_room()
    ws.launch(room.code, bank.by_id("rl-pairs"), 15)
    assert ws.go_to(room.code, "rag-applications").phase == "question"        # still open: the quiz goes on
    ws.reveal(room.code)
    assert ws.go_to(room.code, "rlhf").phase == "lobby"
    ws.finish(room.code)
    assert ws.go_to(room.code, "rag-applications").phase == "lobby"           # after the podium too


def test_the_pulse_changes_exactly_when_a_page_should_redraw(setup):
    ws, clock, bank = setup
    room = ws.open_room()
    quiet = ws.pulse(room.code)
    assert quiet == ws.pulse(room.code)                       # nothing happened: equal, so no rerun
    assert (quiet.question, quiet.participants, quiet.answers) == (None, 0, 0)
    ws.join(room.code, "Ada")
    joined = ws.pulse(room.code)
    assert joined.participants == 1 and joined.room.version == quiet.room.version   # participants need not redraw
    ws.go_to(room.code, "rlhf")
    assert ws.pulse(room.code).room.version > joined.room.version
    question = bank.by_id("rl-pairs")
    ws.launch(room.code, question, 15)
    live = ws.pulse(room.code)
    assert live.question.question_id == "rl-pairs" and live.answers == 0
    ws.answer(room.code, live.question.seq, "Ada", question, question.answer)
    assert ws.pulse(room.code).answers == 1
    with pytest.raises(WorkshopError):
        ws.pulse("ZZZZZ")


# ---- look-alike and blank nicknames, seats that survive a reload -------------------------------------------
@pytest.mark.parametrize("twin", ["Аda", "Αda", "Ａda", "ADA", " ada ", "Ada\u0301"])
def test_look_alike_nicknames_are_the_same_nickname(twin):
    assert nickname_key(twin) == nickname_key("Ada")


@pytest.mark.parametrize("blank", ["\u3164", "\u2800", "Ada\u2800", "\u115f\u1160", "...!!!".replace(".", "\u200b")])
def test_nicknames_that_look_blank_are_refused(blank):
    with pytest.raises(WorkshopError):
        clean_nickname(blank)


def test_a_reload_returns_to_the_seat_and_another_device_cannot_take_it(setup):
    ws, _, _ = setup
    room = ws.open_room()
    _, name, seat = ws.take_seat(room.code, "Ada")
    assert name == "Ada" and len(seat) >= 20
    with pytest.raises(WorkshopError, match="already called"):
        ws.take_seat(room.code, "Аda")                               # Cyrillic А, another device
    with pytest.raises(WorkshopError, match="already called"):
        ws.take_seat(room.code, "ada", seat="not-the-token")
    assert ws.take_seat(room.code, "ada", seat=seat)[1:] == ("Ada", seat)   # the same device, back after a reload
    assert ws.rejoin(room.code, seat)[1] == "Ada"
    assert ws.rejoin(room.code, "forged") is None and ws.rejoin("ZZZZZ", seat) is None
    assert ws.rooms.participants(room.code) == ["Ada"]


def test_presenter_tokens_are_signed_with_the_server_secret_expire_and_never_hold_the_key():
    from core.workshop.workshop import presenter_token, read_presenter_token

    secret, key = "server-secret-0123456789", "a long presenter key"
    token = presenter_token(secret, key, "K7MPQ", "sess1", now=1000.0, hours=1)
    assert key not in token and secret not in token and token.startswith("K7MPQ.4600.sess1.")
    assert read_presenter_token(token, secret, key, now=2000.0) == ("K7MPQ", "sess1")
    assert read_presenter_token(token, secret, key, now=4600.0) is None                # expired
    assert read_presenter_token(token, secret, "another key", now=2000.0) is None      # the key changed
    assert read_presenter_token(token, "another secret", key, now=2000.0) is None      # forged with a guessed secret
    assert read_presenter_token(token.replace("K7MPQ", "ZZZZZ"), secret, key, now=2000.0) is None   # forged room
    assert read_presenter_token(token.replace("4600", "9999"), secret, key, now=2000.0) is None     # longer life
    assert read_presenter_token(presenter_token(secret, key, "", "s", now=0.0), secret, key, now=1.0) == ("", "s")
    # The old format (signed with the presenter key itself) is not accepted.
    for junk in (None, "", "a.b", "a.b.c", "a.b.c.d.e", 42, "K7MPQ.4600.abc"):
        assert read_presenter_token(junk, secret, key, now=0.0) is None


def test_weak_presenter_keys_are_refused():
    from core.workshop.workshop import presenter_key_problem, presenter_key_setting

    assert "example" in presenter_key_problem("change-me-to-a-long-random-phrase")
    assert "example" in presenter_key_problem("A long random  phrase")
    assert "at least 12" in presenter_key_problem("short")
    assert presenter_key_problem("correct horse battery") is None and presenter_key_problem(None) is None
    assert presenter_key_setting({"GENAI_LAB_PRESENTER_KEY": "  from env  "}, {"presenter_key": "file"}) == "from env"
    assert presenter_key_setting({}, {"presenter_key": " from file "}) == "from file"
    assert presenter_key_setting({}, {}) is None

    class NoSecretsFile:
        def get(self, name):
            raise FileNotFoundError("no secrets.toml")
    assert presenter_key_setting({}, NoSecretsFile()) is None


def test_guessing_the_key_backs_off_and_a_success_clears_it():
    from core.workshop.workshop import Backoff

    clock = Clock(0.0)
    backoff = Backoff(clock=clock)
    for _ in range(Backoff.FREE):
        assert backoff.wait_s("browser-1", "10.0.0.9") == 0
        backoff.failed("browser-1", "10.0.0.9")
    assert backoff.wait_s("browser-1") == 1.0
    assert backoff.wait_s("browser-2", "10.0.0.9") == 1.0         # a new browser from the same address waits too
    for _ in range(17):                                            # 20 wrong keys in a row
        backoff.failed("browser-1")
    assert backoff.wait_s("browser-1") == Backoff.MAX_WAIT_S        # capped
    clock.t += Backoff.MAX_WAIT_S
    assert backoff.wait_s("browser-1") == 0
    backoff.succeeded("browser-1", "10.0.0.9")
    backoff.failed("browser-1")
    assert backoff.wait_s("browser-1", "10.0.0.9") == 0


def test_a_removed_participant_loses_seat_answers_and_nickname(setup):
    ws, clock, bank = setup
    room = ws.open_room()
    _, _, ada_seat = ws.take_seat(room.code, "Ada", seat="ada-browser")
    ws.take_seat(room.code, "Rude name", seat="rude-browser")
    q = bank.for_section("generative-ai")[0]
    live = ws.launch(room.code, q, 20)
    ws.answer(room.code, live.seq, "Rude name", q, q.answer)
    assert ws.remove(room.code, "RUDE NAME")
    assert ws.rooms.participants(room.code) == ["Ada"]
    assert ws.rooms.answers(room.code) == []
    assert ws.rejoin(room.code, "rude-browser") is None
    with pytest.raises(WorkshopError, match="removed you"):
        ws.take_seat(room.code, "Nice name", seat="rude-browser")             # the same browser, a new name
    with pytest.raises(WorkshopError, match="already called"):
        ws.take_seat(room.code, "rude name", seat="another-browser")         # the nickname stays taken
    assert not ws.remove(room.code, "nobody")


def test_one_browser_holds_one_seat_and_rooms_have_a_cap(setup, monkeypatch):
    ws, _, _ = setup
    room = ws.open_room()
    assert ws.take_seat(room.code, "Ada", seat="browser-1")[1:] == ("Ada", "browser-1")
    assert ws.take_seat(room.code, "Someone else", seat="browser-1")[1] == "Ada"   # another tab: the same seat
    monkeypatch.setattr("core.workshop.workshop.MAX_PARTICIPANTS", 2)
    ws.take_seat(room.code, "Bo", seat="browser-2")
    with pytest.raises(WorkshopError, match="is full"):
        ws.take_seat(room.code, "Cy", seat="browser-3")
    assert ws.take_seat(room.code, "Bo", seat="browser-2")[1] == "Bo"             # coming back is not joining


def test_a_self_running_quiz_reveals_pauses_then_moves_on(setup):
    from core.workshop.workshop import AUTO_PAUSE_S, auto_action

    ws, clock, bank = setup
    room = ws.open_room()
    for name in ("Ada", "Bo"):
        ws.join(room.code, name)
    q = bank.by_id("cq-train-7b")
    live = ws.launch(room.code, q, 20)

    def action(revealed_at=None):
        current = ws.rooms.current_question(room.code)
        return auto_action(ws.rooms.room(room.code).phase, current, len(ws.rooms.answers(room.code, live.seq)),
                           len(ws.rooms.participants(room.code)), clock.t, revealed_at)

    assert action() == "wait"                                   # nobody answered, time left
    ws.answer(room.code, live.seq, "Ada", q, 168)
    assert action() == "wait"                                   # one of two
    ws.answer(room.code, live.seq, "Bo", q, 1)
    assert action() == "reveal"                                 # everyone answered: no need to wait for the clock
    ws.reveal(room.code)
    revealed = clock.t
    clock.t += AUTO_PAUSE_S - 1
    assert action(revealed) == "wait"                           # the answer and the leaderboard stay up
    clock.t += 1
    assert action(revealed) == "next"
    assert action(None) == "wait"                               # a reveal it did not see starts the pause now


def test_a_self_running_quiz_reveals_when_time_is_up_even_if_some_never_answer(setup):
    from core.workshop.quiz import LATE_GRACE_S
    from core.workshop.workshop import auto_action

    ws, clock, bank = setup
    room = ws.open_room()
    ws.join(room.code, "Ada")
    live = ws.launch(room.code, bank.by_id("cq-train-7b"), 10)
    assert auto_action("question", live, 0, 1, clock.t + 10, None) == "wait"
    assert auto_action("question", live, 0, 1, clock.t + 10 + LATE_GRACE_S + 0.1, None) == "reveal"
    assert auto_action("question", live, 0, 0, clock.t + 1, None) == "wait"     # an empty room waits for the clock
    assert auto_action("lobby", live, 1, 1, clock.t + 99, None) == "wait"       # back to the lesson: nothing to do
    assert auto_action("podium", None, 0, 0, clock.t, None) == "wait"


def test_the_next_question_is_the_first_not_asked_after_the_current_one():
    from core.workshop.workshop import next_question_id

    ids = ["a", "b", "c", "d"]
    assert next_question_id(ids, {"b"}, "b") == "c"
    assert next_question_id(ids, {"b", "c"}, "b") == "d"
    assert next_question_id(ids, {"b", "c", "d"}, "d") == "a"   # wraps to the ones skipped at the start
    assert next_question_id(ids, set(ids), "d") is None         # all asked: the podium
    assert next_question_id(ids, set(), None) == "a"
    assert next_question_id(ids, {"x"}, "x") == "a"             # a current question no longer in the bank
