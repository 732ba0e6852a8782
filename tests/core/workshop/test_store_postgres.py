"""PostgreSQL-only store checks: migrations, replicas sharing one database, lost connections, clear errors.

The behavioural checks shared with SQLite (uniqueness, concurrency, reopening) run in test_store.py over both
backends. The server comes from tests/core/conftest.py (a temporary cluster, or GENAI_LAB_TEST_POSTGRES_URL);
without one these tests skip, except the error-message tests below that need no server.
"""
import socket
import sys
import threading
import time

import pytest

from core.workshop.store import MIGRATIONS, SCHEMA_VERSION, AlreadyExists, PostgresStore, StoreError, migrations, open_store
from core.workshop.workshop import Workshop

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -r requirements.txt)")
ConnectionPool = pytest.importorskip("psycopg_pool", reason="psycopg-pool is not installed").ConnectionPool


def raw(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def test_open_store_picks_postgres_and_creates_the_schema(postgres_url):
    for url in (postgres_url, postgres_url.replace("postgresql://", "postgres://", 1)):
        s = open_store(url)
        assert isinstance(s, PostgresStore) and s.schema_version() == SCHEMA_VERSION
        s.close()


def test_sqlite_migrations_are_unchanged_and_postgres_gets_its_own_types():
    assert MIGRATIONS == migrations("sqlite")
    assert "AUTOINCREMENT" in MIGRATIONS[0] and "REAL" in MIGRATIONS[1]
    pg = "".join(migrations("postgres"))
    assert "AUTOINCREMENT" not in pg and " REAL " not in pg and "DOUBLE PRECISION" in pg


def test_migrates_an_old_database_and_keeps_its_rows(postgres_url):
    raw(postgres_url, "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version VALUES (1)", *migrations("postgres")[0].split(";")[:-1],
        "INSERT INTO attempts (learner, learner_key, question_id, section, correct, response, answered_at) "
        "VALUES ('Ada', 'ada', 'q1', 's', 1, '1', 0)")
    s = PostgresStore(postgres_url)
    assert s.schema_version() == SCHEMA_VERSION
    assert [a["question_id"] for a in s.attempts("ada")] == ["q1"]
    s.create_room("ABCDE", 1e12)          # tables of version 2 now exist
    s.close()


def test_a_newer_schema_is_refused(postgres_url):
    PostgresStore(postgres_url).close()
    raw(postgres_url, "UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer version"):
        PostgresStore(postgres_url)


def test_replicas_starting_together_migrate_once(postgres_url):
    stores, errors = [], []

    def replica():
        try:
            stores.append(PostgresStore(postgres_url))
        except Exception as exc:          # pragma: no cover - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(stores) == 6
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    for s in stores:
        s.close()


def test_two_replicas_share_rooms_nicknames_and_answers(postgres_url):
    a, b = PostgresStore(postgres_url), PostgresStore(postgres_url)
    a.create_room("ABCDE", 1e12, "rlhf")
    with pytest.raises(AlreadyExists):
        b.create_room("ABCDE", 1e12)
    b.add_participant("ABCDE", "Ada", "ada")
    with pytest.raises(AlreadyExists):
        a.add_participant("ABCDE", "ADA", "ada")
    q = a.start_question("ABCDE", "q1", "rlhf", 20)
    b.add_answer("ABCDE", q.seq, "Ada", "ada", {"pick": [1, 2]}, True, 1.25, 900)
    with pytest.raises(AlreadyExists):
        a.add_answer("ABCDE", q.seq, "Ada", "ada", "again", True, 2.0, 800)
    assert a.answers("ABCDE", q.seq)[0]["response"] == {"pick": [1, 2]}
    assert b.update_room("ABCDE", section="quantization").version == a.room("ABCDE").version
    with pytest.raises(StoreError, match="no room"):
        a.update_room("ZZZZZ", phase="podium")
    a.close()
    b.close()


def test_concurrent_launches_number_questions_without_gaps_or_clashes(postgres_url):
    stores = [PostgresStore(postgres_url) for _ in range(2)]
    stores[0].create_room("ABCDE", 1e12)
    errors = []

    def launch(i):
        try:
            stores[i % 2].start_question("ABCDE", f"q{i}", "s", 20)
        except Exception as exc:          # pragma: no cover - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=launch, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [q.seq for q in stores[0].questions("ABCDE")] == list(range(1, 13))
    for s in stores:
        s.close()


def test_timestamps_keep_sub_second_precision(store_pg):
    before = time.time()
    store_pg.create_room("ABCDE", before + 0.125)
    room = store_pg.room("ABCDE")
    assert room.expires_at == before + 0.125 and abs(room.created_at - before) < 1


def test_a_lost_connection_is_replaced(store_pg, postgres_server_url):
    store_pg.create_room("ABCDE", 1e12)
    raw(postgres_server_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE application_name = 'genai-lab' AND pid <> pg_backend_pid()")
    assert store_pg.room("ABCDE").code == "ABCDE"          # a read retries once on a fresh connection
    store_pg.add_participant("ABCDE", "Ada", "ada")
    assert store_pg.participants("ABCDE") == ["Ada"]


def test_the_pool_keeps_few_connections(store_pg):
    store_pg.create_room("ABCDE", 1e12)
    threads = [threading.Thread(target=store_pg.add_participant, args=("ABCDE", f"p{i}", f"p{i}")) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store_pg.participants("ABCDE")) == 60
    assert isinstance(store_pg._pool, ConnectionPool)
    assert 1 <= store_pg.pool_size() <= store_pg.max_connections


def test_a_busy_pool_gives_a_clear_message(postgres_url):
    s = PostgresStore(postgres_url, max_connections=1, wait_s=0.3)
    try:
        with s._connection():                 # the only connection is lent out
            with pytest.raises(StoreError, match="no connection to the PostgreSQL database .* within 0.3 s"):
                s.attempts()
        assert s.attempts() == []             # given back, it serves again
    finally:
        s.close()


def test_a_workshop_runs_on_postgres(store_pg):
    from core.lessons import load_sections
    from core.workshop.quiz import load_bank

    question = load_bank(section_ids=[s.id for s in load_sections()]).by_id("cq-train-7b")
    ws = Workshop(store_pg)
    room = ws.open_room()
    for name in ("Ada", "Grace"):
        ws.join(room.code, name)
    live = ws.launch(room.code, question, 20)
    ws.answer(room.code, live.seq, "Ada", question, 168)
    ws.answer(room.code, live.seq, "Grace", question, 24)
    answers = store_pg.answers(room.code, live.seq)
    assert sorted((a["nickname"], bool(a["correct"])) for a in answers) == [("Ada", True), ("Grace", False)]


# ---- clear errors (no server needed)

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_gives_a_clear_message_without_the_password():
    with pytest.raises(StoreError) as info:
        open_store(f"postgresql://quiz:s3cret@127.0.0.1:{closed_port()}/lab")
    message = str(info.value)
    assert "cannot connect to the PostgreSQL database quiz@127.0.0.1" in message
    assert "GENAI_LAB_DATABASE_URL" in message and "s3cret" not in message


def test_a_malformed_url_is_refused():
    with pytest.raises(StoreError, match="not a valid PostgreSQL URL"):
        open_store("postgresql://host:notaport:/db?x")


def test_without_psycopg_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError, match="psycopg package is not installed"):
        open_store("postgresql://127.0.0.1/db")


@pytest.fixture
def store_pg(postgres_url):
    s = PostgresStore(postgres_url)
    yield s
    s.close()
