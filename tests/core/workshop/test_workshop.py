"""Rooms, join codes, nicknames, live answers, timing and the presenter key."""
import pytest

from core.lessons import load_sections
from core.workshop.quiz import load_bank
from core.workshop.store import SQLiteStore
from core.workshop.workshop import (CODE_ALPHABET, CODE_LENGTH, Workshop, WorkshopError, clean_nickname, new_code,
                           nickname_key, normalize_code, presenter_key_matches)


class Clock:
    def __init__(self, t=1_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def setup(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr("core.workshop.store.time.time", clock)       # the store stamps rows with the same clock
    store = SQLiteStore(tmp_path / "w.db")
    bank = load_bank(section_ids=[s.id for s in load_sections()])
    yield Workshop(store, clock=clock), clock, bank
    store.close()


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
    assert ws.store.participants(room.code) == ["Ada"]
    clock.t += 3601
    with pytest.raises(WorkshopError, match="expired"):
        ws.join(room.code, "Bo")
    assert ws.store.participants(room.code) == ["Ada"]


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
    board = leaderboard(ws.store.answers(room.code), ws.store.participants(room.code))
    assert [s.nickname for s in board] == ["Ada", "Bo", "Cy"]
    assert len(ws.store.answers(room.code, live.seq)) == 3


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
    assert ws.store.answers(room.code) == []


def test_presenter_moves_bump_the_version(setup):
    ws, _, bank = setup
    room = ws.open_room()
    moved = ws.go_to(room.code, "rlhf")
    assert moved.section == "rlhf" and moved.version > room.version
    live = ws.launch(room.code, bank.by_id("rl-pairs"), 15)
    assert ws.store.room(room.code).phase == "question"
    assert ws.reveal(room.code).revealed and live.seq == 1
    assert ws.finish(room.code).phase == "podium"
    with pytest.raises(WorkshopError):
        ws.launch(room.code, bank.by_id("rl-pairs"), 1)


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


# ---- look-alike and blank nicknames, seats that survive a reload (issue 11) --------------------------------
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
    assert ws.store.participants(room.code) == ["Ada"]


def test_presenter_tokens_are_signed_expiring_and_never_hold_the_key():
    from core.workshop.workshop import presenter_token, presenter_token_room

    token = presenter_token("a long key", "K7MPQ", now=1000.0, hours=1)
    assert "a long key" not in token and token.startswith("K7MPQ.4600.")
    assert presenter_token_room(token, "a long key", now=2000.0) == "K7MPQ"
    assert presenter_token_room(token, "a long key", now=4600.0) is None              # expired
    assert presenter_token_room(token, "another key", now=2000.0) is None             # the key changed
    assert presenter_token_room(token.replace("K7MPQ", "ZZZZZ"), "a long key", now=2000.0) is None   # forged room
    assert presenter_token_room(presenter_token("k", "", now=0.0), "k", now=1.0) == ""   # unlocked, no room yet
    for junk in (None, "", "a.b", "a.b.c.d", 42):
        assert presenter_token_room(junk, "k", now=0.0) is None


def test_a_self_running_quiz_reveals_pauses_then_moves_on(setup):
    from core.workshop.workshop import AUTO_PAUSE_S, auto_action, next_question_id

    ws, clock, bank = setup
    room = ws.open_room()
    for name in ("Ada", "Bo"):
        ws.join(room.code, name)
    q = bank.by_id("cq-train-7b")
    live = ws.launch(room.code, q, 20)

    def action(revealed_at=None):
        current = ws.store.current_question(room.code)
        return auto_action(ws.store.room(room.code).phase, current, len(ws.store.answers(room.code, live.seq)),
                           len(ws.store.participants(room.code)), clock.t, revealed_at)

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
