"""PostgreSQL-only database checks: migrations, replicas sharing one database, lost connections, the pool, clear
errors.

The checks shared with SQLite run in test_database.py over both backends; what each domain stores is tested next to
its repository (replicas sharing rooms: tests/core/workshop/test_rooms_postgres.py). The server comes from
tests/core/conftest.py (a temporary cluster, or GENAI_LAB_TEST_POSTGRES_URL); without one these tests skip, except
the error-message tests below that need no server.
"""
import socket
import sys
import threading

import pytest

from core.storage.database import PostgresDatabase, StoreError, open_database
from core.storage.migrations import SCHEMA_VERSION, migrations

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -r requirements.txt)")
ConnectionPool = pytest.importorskip("psycopg_pool", reason="psycopg-pool is not installed").ConnectionPool


def raw(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def put(db, name: str, value: str = "") -> None:
    with db.write() as conn:
        conn.execute("INSERT INTO server_settings (name, value) VALUES (?, ?)", (name, value))


def test_open_database_picks_postgres_and_creates_the_schema(postgres_url):
    for url in (postgres_url, postgres_url.replace("postgresql://", "postgres://", 1)):
        db = open_database(url)
        assert isinstance(db, PostgresDatabase) and db.schema_version() == SCHEMA_VERSION
        db.close()


def test_migrates_an_old_database_and_keeps_its_rows(postgres_url):
    raw(postgres_url, "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version VALUES (1)", *migrations("postgres")[0].split(";")[:-1],
        "INSERT INTO attempts (learner, learner_key, question_id, section, correct, response, answered_at) "
        "VALUES ('Ada', 'ada', 'q1', 's', 1, '1', 0)")
    db = PostgresDatabase(postgres_url)
    assert db.schema_version() == SCHEMA_VERSION
    assert [r["question_id"] for r in db.read("SELECT question_id FROM attempts WHERE learner_key = ?", ("ada",))] \
        == ["q1"]
    assert db.read("SELECT * FROM rooms") == []          # tables of version 2 now exist
    db.close()


def test_a_newer_schema_is_refused(postgres_url):
    PostgresDatabase(postgres_url).close()
    raw(postgres_url, "UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer version"):
        PostgresDatabase(postgres_url)


def test_replicas_starting_together_migrate_once(postgres_url):
    opened, errors = [], []

    def replica():
        try:
            opened.append(PostgresDatabase(postgres_url))
        except Exception as exc:          # pragma: no cover - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(opened) == 6
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    for db in opened:
        db.close()


def test_a_lost_connection_is_replaced(db_pg, postgres_server_url):
    put(db_pg, "a")
    raw(postgres_server_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE application_name = 'genai-lab' AND pid <> pg_backend_pid()")
    assert db_pg.read("SELECT name FROM server_settings")[0]["name"] == "a"     # a read retries once on a fresh one
    put(db_pg, "b")
    assert [r["name"] for r in db_pg.read("SELECT name FROM server_settings ORDER BY name")] == ["a", "b"]


def test_the_pool_keeps_few_connections(db_pg):
    threads = [threading.Thread(target=put, args=(db_pg, f"p{i}")) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(db_pg.read("SELECT * FROM server_settings")) == 60
    assert isinstance(db_pg._pool, ConnectionPool)
    assert 1 <= db_pg.pool_size() <= db_pg.max_connections


def test_a_busy_pool_gives_a_clear_message(postgres_url):
    db = PostgresDatabase(postgres_url, max_connections=1, wait_s=0.3)
    try:
        with db._connection():                 # the only connection is lent out
            with pytest.raises(StoreError, match="no connection to the PostgreSQL database .* within 0.3 s"):
                db.read("SELECT * FROM attempts")
        assert db.read("SELECT * FROM attempts") == []             # given back, it serves again
    finally:
        db.close()


# ---- clear errors (no server needed)

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_gives_a_clear_message_without_the_password():
    with pytest.raises(StoreError) as info:
        open_database(f"postgresql://quiz:s3cret@127.0.0.1:{closed_port()}/lab")
    message = str(info.value)
    assert "cannot connect to the PostgreSQL database quiz@127.0.0.1" in message
    assert "GENAI_LAB_DATABASE_URL" in message and "s3cret" not in message


def test_a_malformed_url_is_refused():
    with pytest.raises(StoreError, match="not a valid PostgreSQL URL"):
        open_database("postgresql://host:notaport:/db?x")


def test_without_psycopg_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError, match="psycopg package is not installed"):
        open_database("postgresql://127.0.0.1/db")


@pytest.fixture
def db_pg(postgres_url):
    db = PostgresDatabase(postgres_url)
    yield db
    db.close()
