"""Workshop rooms over the database: reopening keeps them, concurrent answers are neither lost nor duplicated, room
codes and nicknames are unique, a removed participant keeps the nickname taken.

Tests taking `open_db` or `db` run against SQLite and PostgreSQL (tests/core/conftest.py). PostgreSQL-only checks
(two replicas sharing one room): test_rooms_postgres.py."""
import threading

import pytest

from core.storage.database import AlreadyExists
from core.workshop.attempts import Attempts
from core.workshop.rooms import Rooms


@pytest.fixture
def rooms(db):
    return Rooms(db)


def test_reopen_keeps_rooms_participants_and_answers(open_db):
    s = Rooms(open_db())
    s.create_room("ABCDE", 1e12, "rlhf")
    s.add_participant("ABCDE", "Ada", "ada")
    q = s.start_question("ABCDE", "q1", "rlhf", 20)
    s.add_answer("ABCDE", q.seq, "Ada", "ada", "x", True, 1.5, 900)
    s.db.close()
    again = Rooms(open_db())
    assert again.participants("ABCDE") == ["Ada"]
    assert again.answers("ABCDE")[0]["points"] == 900
    assert again.room("ABCDE").phase == "question"


def test_concurrent_answers_from_many_threads_are_neither_lost_nor_duplicated(db):
    rooms, attempts = Rooms(db), Attempts(db)
    rooms.create_room("ABCDE", 1e12)
    n = 40
    for i in range(n):
        rooms.add_participant("ABCDE", f"p{i}", f"p{i}")
    q = rooms.start_question("ABCDE", "q1", "s", 20)
    duplicates, errors = [], []
    barrier = threading.Barrier(n)

    def participant(i):
        barrier.wait()
        for attempt in range(3):          # each participant tries three times: only the first may count
            try:
                rooms.add_answer("ABCDE", q.seq, f"p{i}", f"p{i}", attempt, True, 1.0, 900)
            except AlreadyExists:
                duplicates.append(i)
            except Exception as exc:      # pragma: no cover - the test reports it
                errors.append(exc)
            attempts.record(f"key{i}", f"p{i}", "q1", "s", True, attempt)

    threads = [threading.Thread(target=participant, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    answers = rooms.answers("ABCDE", q.seq)
    assert len(answers) == n and {a["nickname"] for a in answers} == {f"p{i}" for i in range(n)}
    assert all(a["response"] == 0 for a in answers)
    assert len(duplicates) == 2 * n
    assert len(attempts.rows()) == 3 * n


def test_unique_rooms_and_nicknames(rooms):
    rooms.create_room("ABCDE", 1e12)
    with pytest.raises(AlreadyExists):
        rooms.create_room("ABCDE", 1e12)
    rooms.add_participant("ABCDE", "Ada", "ada")
    with pytest.raises(AlreadyExists):
        rooms.add_participant("ABCDE", "ADA", "ada")


def test_a_removed_participant_keeps_the_nickname_taken(rooms):
    rooms.create_room("ABCDE", 1e12)
    rooms.add_participant("ABCDE", "Ada", "ada", "seat-a")
    rooms.add_participant("ABCDE", "Bo", "bo", "seat-b")
    assert rooms.remove_participant("ABCDE", "bo") and not rooms.remove_participant("ABCDE", "nobody")
    assert rooms.participants("ABCDE") == ["Ada"]
    assert rooms.participant("ABCDE", "bo").removed and rooms.participant_by_seat("ABCDE", "seat-b").removed
    with pytest.raises(AlreadyExists):
        rooms.add_participant("ABCDE", "BO", "bo")


def test_a_closed_database_is_one_sentence(tmp_path):
    from core.storage.database import SQLiteDatabase, StoreError

    rooms = Rooms(SQLiteDatabase(tmp_path / "quiz.db"))
    rooms.db.close()
    with pytest.raises(StoreError, match="closed"):
        rooms.rooms()
