"""The stores: schema and migration, WAL, concurrent writers, reopening keeps the data.

Tests taking `open_backend` or `store` run against SQLite and PostgreSQL (a temporary cluster from
tests/core/conftest.py; skipped where none can start). PostgreSQL-only checks: test_store_postgres.py."""
import sqlite3
import threading

import pytest

from core.workshop.store import (SCHEMA_VERSION, AlreadyExists, PostgresStore, SQLiteStore, StoreError, database_url,
                        open_store)


@pytest.fixture(params=["sqlite", "postgres"])
def open_backend(request, tmp_path):
    """Opens a store on this test's database (the same one each call, so reopening sees the data)."""
    if request.param == "sqlite":
        def opener():
            return SQLiteStore(tmp_path / "quiz.db")
    else:
        url = request.getfixturevalue("postgres_url")

        def opener():
            return PostgresStore(url)
    opened = []
    yield lambda: opened.append(opener()) or opened[-1]
    for s in opened:
        s.close()


@pytest.fixture
def store(open_backend):
    return open_backend()


def test_schema_created_in_wal_mode(store):
    assert store.schema_version() == SCHEMA_VERSION
    if isinstance(store, SQLiteStore):
        with store._connection() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrates_an_old_database_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (0);")
    from core.workshop.store import MIGRATIONS
    conn.executescript(MIGRATIONS[0])
    conn.execute("UPDATE schema_version SET version = 1")
    conn.execute("INSERT INTO attempts (learner, learner_key, question_id, section, correct, response, answered_at) "
                 "VALUES ('Ada', 'ada', 'q1', 's', 1, '1', 0)")
    conn.commit()
    conn.close()
    s = SQLiteStore(path)
    assert s.schema_version() == SCHEMA_VERSION
    assert [a["question_id"] for a in s.attempts("ada")] == ["q1"]      # rows from before keep their key
    s.create_room("ABCDE", 1e12)          # tables of version 2 now exist


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer version"):
        SQLiteStore(path)


def test_reopen_keeps_data(open_backend):
    s = open_backend()
    s.record_attempt("b-ada", "Ada", "q1", "rlhf", True, ["a", "b"])
    s.create_room("ABCDE", 1e12, "rlhf")
    s.add_participant("ABCDE", "Ada", "ada")
    q = s.start_question("ABCDE", "q1", "rlhf", 20)
    s.add_answer("ABCDE", q.seq, "Ada", "ada", "x", True, 1.5, 900)
    s.close()
    again = open_backend()
    assert again.attempts("b-ada")[0]["response"] == ["a", "b"]
    assert again.attempts("Ada") == []                 # a typed name is not a key
    assert again.participants("ABCDE") == ["Ada"]
    assert again.answers("ABCDE")[0]["points"] == 900
    assert again.room("ABCDE").phase == "question"


def test_concurrent_answers_from_many_threads_are_neither_lost_nor_duplicated(store):
    store.create_room("ABCDE", 1e12)
    n = 40
    for i in range(n):
        store.add_participant("ABCDE", f"p{i}", f"p{i}")
    q = store.start_question("ABCDE", "q1", "s", 20)
    duplicates, errors = [], []
    barrier = threading.Barrier(n)

    def participant(i):
        barrier.wait()
        for attempt in range(3):          # each participant tries three times: only the first may count
            try:
                store.add_answer("ABCDE", q.seq, f"p{i}", f"p{i}", attempt, True, 1.0, 900)
            except AlreadyExists:
                duplicates.append(i)
            except Exception as exc:      # pragma: no cover - the test reports it
                errors.append(exc)
            store.record_attempt(f"key{i}", f"p{i}", "q1", "s", True, attempt)

    threads = [threading.Thread(target=participant, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    answers = store.answers("ABCDE", q.seq)
    assert len(answers) == n and {a["nickname"] for a in answers} == {f"p{i}" for i in range(n)}
    assert all(a["response"] == 0 for a in answers)
    assert len(duplicates) == 2 * n
    assert len(store.attempts()) == 3 * n


def test_unique_rooms_and_nicknames(store):
    store.create_room("ABCDE", 1e12)
    with pytest.raises(AlreadyExists):
        store.create_room("ABCDE", 1e12)
    store.add_participant("ABCDE", "Ada", "ada")
    with pytest.raises(AlreadyExists):
        store.add_participant("ABCDE", "ADA", "ada")


def test_database_url_settings(tmp_path):
    assert database_url({"GENAI_LAB_DB": str(tmp_path / "x.db")}) == f"sqlite:///{tmp_path}/x.db"
    assert database_url({"GENAI_LAB_CACHE": str(tmp_path)}) == f"sqlite:///{tmp_path}/genai-lab.sqlite3"
    assert database_url({"GENAI_LAB_DATABASE_URL": "postgresql://h/db", "GENAI_LAB_DB": "x"}) == "postgresql://h/db"
    with pytest.raises(StoreError, match="PostgreSQL"):
        open_store("postgresql://host/db")
    with pytest.raises(StoreError, match="unsupported"):
        open_store("mysql://host/db")
    assert open_store(f"sqlite:///{tmp_path}/y.db").schema_version() == SCHEMA_VERSION


def test_unwritable_path_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="GENAI_LAB_DB"):
        SQLiteStore(blocker / "sub" / "q.db")


def test_rlhf_labels_survive_a_reopen_and_a_second_ranking_replaces_the_first(open_backend):
    store = open_backend()
    texts = ["one", "two", "three"]
    store.record_label("b-1", "Ada", "How?", texts, {"A": 1, "B": 2, "C": "F"})
    store.record_label("b-1", "Ada", "How?", texts, {"A": 2, "B": 1, "C": 3})              # labelled twice: replaced
    store.record_label("b-2", "Bob", "How?", texts, {"A": 1, "B": 1, "C": 2}, room="ROOM1")
    store.record_label("b-3", "Ada", "How?", texts, {"A": 3, "B": 2, "C": 1})        # another Ada: her own row
    again = open_backend()
    mine = again.labels("b-1")
    assert len(mine) == 1 and mine[0]["ranking"] == {"A": 2, "B": 1, "C": 3} and mine[0]["completions"] == texts
    assert [r["labeler"] for r in again.labels()] == ["Ada", "Bob", "Ada"]
    assert [r["labeler"] for r in again.labels(room="ROOM1")] == ["Bob"]


def test_a_labeling_round_opens_closes_and_survives_a_reopen(open_backend):
    store = open_backend()
    assert store.current_round("ROOM1") is None and store.close_round("ROOM1") is None
    first = store.open_round("ROOM1", "How?", ["one", "two", "three"])
    assert first.open and first.prompt == "How?" and first.completions == ("one", "two", "three")
    second = store.open_round("ROOM1", "Why?", ["a", "b"])        # a new round closes the open one
    assert second.id != first.id and second.open
    store.open_round("ROOM2", "Other room", ["x", "y"])
    again = open_backend()
    assert again.current_round("ROOM1") == second
    closed = again.close_round("ROOM1")
    assert closed.id == second.id and not closed.open and closed.closed_at >= closed.opened_at
    assert again.close_round("ROOM1") is None                    # closing twice changes nothing
    assert again.current_round("ROOM2").open


def _open_files() -> int:
    import os
    return len(os.listdir("/proc/self/fd"))


def test_many_short_lived_threads_leave_a_handful_of_open_files(tmp_path):
    """Streamlit runs each rerun and fragment tick on a new thread: 500 of them reading and writing must not leave a
    connection (two file descriptors: the file and its WAL) each behind."""
    s = SQLiteStore(tmp_path / "quiz.db")
    s.create_room("ABCDE", 1e12)
    before = _open_files()
    errors = []

    def visit(i):
        try:
            s.room("ABCDE")
            if i % 10 == 0:
                s.record_attempt(f"b-{i}", f"learner{i}", "q1", "rlhf", True, i)
        except Exception as exc:          # noqa: BLE001 — reported below
            errors.append(exc)

    for batch in range(0, 500, 50):
        threads = [threading.Thread(target=visit, args=(i,)) for i in range(batch, batch + 50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert _open_files() - before <= 2 * s.max_connections + 2      # the pool's files, however many threads came
    assert s.open_connections() <= s.max_connections
    assert len(s.attempts()) == 50
    s.close()
    assert s.open_connections() == 0


def test_an_sqlite_failure_is_one_sentence(tmp_path):
    s = SQLiteStore(tmp_path / "quiz.db")
    with pytest.raises(StoreError, match="failed: no such table"):
        s._read("SELECT * FROM no_such_table")
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.rooms()


def test_callers_wait_for_a_free_connection_then_give_up_with_a_sentence(tmp_path):
    s = SQLiteStore(tmp_path / "quiz.db", timeout_s=0.3, max_connections=1)
    with s._connection():
        with pytest.raises(StoreError, match="busy"):
            s.rooms()
    assert s.rooms() == []
    s.close()


def test_the_server_secret_is_made_once_and_kept(open_backend):
    first = open_backend().server_secret()
    assert len(first) == 64 and open_backend().server_secret() == first


def test_presenter_sessions_expire_and_can_be_revoked(store):
    store.open_presenter_session("h1", expires_at=2000.0)
    assert store.presenter_session_live("h1", now=1000.0)
    assert not store.presenter_session_live("h1", now=2000.0)
    assert not store.presenter_session_live("unknown", now=1000.0)
    store.revoke_presenter_session("h1")
    assert not store.presenter_session_live("h1", now=1000.0)


def test_a_removed_participant_keeps_the_nickname_taken(store):
    store.create_room("ABCDE", 1e12)
    store.add_participant("ABCDE", "Ada", "ada", "seat-a")
    store.add_participant("ABCDE", "Bo", "bo", "seat-b")
    assert store.remove_participant("ABCDE", "bo") and not store.remove_participant("ABCDE", "nobody")
    assert store.participants("ABCDE") == ["Ada"]
    assert store.participant("ABCDE", "bo").removed and store.participant_by_seat("ABCDE", "seat-b").removed
    with pytest.raises(AlreadyExists):
        store.add_participant("ABCDE", "BO", "bo")


def test_course_progress_is_kept_per_learner_with_its_first_and_latest_time(open_backend):
    store = open_backend()
    store.record_progress("b-ada", "lesson", "tokenization")
    store.record_progress("b-ada", "demo", "tokenizer")
    store.record_progress("b-bob", "lesson", "rlhf")
    first = store.progress("b-ada")
    store.record_progress("b-ada", "lesson", "tokenization")            # again: one row, a later last_at
    again = open_backend().progress("b-ada")                            # a new connection (a restart) sees it
    assert [(r["kind"], r["item"]) for r in again] == [("lesson", "tokenization"), ("demo", "tokenizer")]
    assert again[0]["first_at"] == first[0]["first_at"] and again[0]["last_at"] >= first[0]["last_at"]
    assert [r["item"] for r in store.progress("b-bob")] == ["rlhf"] and store.progress("b-nobody") == []
