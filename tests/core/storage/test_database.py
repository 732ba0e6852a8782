"""The database: schema and migration, WAL, the connection pool, errors as one sentence, the URL settings.

Tests taking `open_db` or `db` run against SQLite and PostgreSQL (a temporary cluster from tests/core/conftest.py;
skipped where none can start). PostgreSQL-only checks: test_database_postgres.py. What each domain stores is tested
next to its repository (tests/core/workshop/test_rooms.py, test_attempts.py, ...)."""
import sqlite3
import threading

import pytest

from core.storage.database import SQLiteDatabase, StoreError, database_url, open_database
from core.storage.migrations import MIGRATIONS, SCHEMA_VERSION


def test_schema_created_in_wal_mode(db):
    assert db.schema_version() == SCHEMA_VERSION
    if isinstance(db, SQLiteDatabase):
        with db._connection() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrates_an_old_database_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (0);")
    conn.executescript(MIGRATIONS[0])
    conn.execute("UPDATE schema_version SET version = 1")
    conn.execute("INSERT INTO attempts (learner, learner_key, question_id, section, correct, response, answered_at) "
                 "VALUES ('Ada', 'ada', 'q1', 's', 1, '1', 0)")
    conn.commit()
    conn.close()
    db = SQLiteDatabase(path)
    assert db.schema_version() == SCHEMA_VERSION
    rows = db.read("SELECT question_id FROM attempts WHERE learner_key = ?", ("ada",))
    assert [r["question_id"] for r in rows] == ["q1"]                   # rows from before keep their key
    assert db.read("SELECT * FROM rooms") == [] and db.read("SELECT * FROM progress") == []   # later tables exist
    db.close()


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.db"
    SQLiteDatabase(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer version"):
        SQLiteDatabase(path)


def test_a_write_is_one_transaction_and_reopening_keeps_it(open_db):
    db = open_db()
    with pytest.raises(RuntimeError):
        with db.write() as conn:
            conn.execute("INSERT INTO server_settings (name, value) VALUES ('a', '1')")
            raise RuntimeError("half way")
    with db.write() as conn:
        conn.execute("INSERT INTO server_settings (name, value) VALUES ('b', '2')")
    again = open_db()
    assert [dict(r) for r in again.read("SELECT name, value FROM server_settings")] == [{"name": "b", "value": "2"}]
    with pytest.raises(db.integrity_error):
        with db.write() as conn:
            conn.execute("INSERT INTO server_settings (name, value) VALUES ('b', '3')")
    assert again.read("SELECT value FROM server_settings WHERE name = 'b'")[0]["value"] == "2"


def test_database_url_settings(tmp_path):
    assert database_url({"GENAI_LAB_DB": str(tmp_path / "x.db")}) == f"sqlite:///{tmp_path}/x.db"
    assert database_url({"GENAI_LAB_CACHE": str(tmp_path)}) == f"sqlite:///{tmp_path}/genai-lab.sqlite3"
    assert database_url({"GENAI_LAB_DATABASE_URL": "postgresql://h/db", "GENAI_LAB_DB": "x"}) == "postgresql://h/db"
    with pytest.raises(StoreError, match="PostgreSQL"):
        open_database("postgresql://host/db")
    with pytest.raises(StoreError, match="unsupported"):
        open_database("mysql://host/db")
    assert open_database(f"sqlite:///{tmp_path}/y.db").schema_version() == SCHEMA_VERSION


def test_unwritable_path_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="GENAI_LAB_DB"):
        SQLiteDatabase(blocker / "sub" / "q.db")


def _open_files() -> int:
    import os
    return len(os.listdir("/proc/self/fd"))


def test_many_short_lived_threads_leave_a_handful_of_open_files(tmp_path):
    """Streamlit runs each rerun and fragment tick on a new thread: 500 of them reading and writing must not leave a
    connection (two file descriptors: the file and its WAL) each behind."""
    db = SQLiteDatabase(tmp_path / "quiz.db")
    before = _open_files()
    errors = []

    def visit(i):
        try:
            db.read("SELECT * FROM rooms")
            if i % 10 == 0:
                with db.write() as conn:
                    conn.execute("INSERT INTO server_settings (name, value) VALUES (?, ?)", (f"visit{i}", str(i)))
        except Exception as exc:          # noqa: BLE001 — reported below
            errors.append(exc)

    for batch in range(0, 500, 50):
        threads = [threading.Thread(target=visit, args=(i,)) for i in range(batch, batch + 50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert _open_files() - before <= 2 * db.max_connections + 2      # the pool's files, however many threads came
    assert db.open_connections() <= db.max_connections
    assert len(db.read("SELECT * FROM server_settings")) == 50
    db.close()
    assert db.open_connections() == 0


def test_an_sqlite_failure_is_one_sentence(tmp_path):
    db = SQLiteDatabase(tmp_path / "quiz.db")
    with pytest.raises(StoreError, match="failed: no such table"):
        db.read("SELECT * FROM no_such_table")
    db.close()
    with pytest.raises(StoreError, match="closed"):
        db.read("SELECT * FROM rooms")


def test_callers_wait_for_a_free_connection_then_give_up_with_a_sentence(tmp_path):
    db = SQLiteDatabase(tmp_path / "quiz.db", timeout_s=0.3, max_connections=1)
    with db._connection():
        with pytest.raises(StoreError, match="busy"):
            db.read("SELECT * FROM rooms")
    assert db.read("SELECT * FROM rooms") == []
    db.close()
