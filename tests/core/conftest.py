"""A throwaway PostgreSQL server for the database and repository tests (tests/core/storage/, the repositories' tests
in tests/core/workshop/, tests/core/labs/rlhf/test_labels.py, tests/core/test_progress.py).

`postgres_server_url` (session): GENAI_LAB_TEST_POSTGRES_URL when set (an existing server; the tests create and
drop their own schemas there), else a throwaway cluster (deploy/postgres.py: initdb in a temp folder, a free
127.0.0.1 port, as root run by the `postgres` system user), stopped and deleted at the end.
Without the binaries, psycopg or a startable cluster, the tests that need it SKIP and say why.

`postgres_url` (function): the server URL with a fresh schema as search_path, so each test starts empty.

`open_db` (function, SQLite and PostgreSQL): opens this test's database, the same one on every call, so a test can
reopen it as a restarted app would; `db` is one opened database.
"""
from __future__ import annotations

import os
import subprocess
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from deploy import postgres


def _with_search_path(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"] + [("options", f"-csearch_path={schema}")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _start_cluster():
    """Yields the URL of a fresh temporary cluster (deploy/postgres.py); raises RuntimeError with the reason when
    it cannot start."""
    cluster = postgres.start()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_server_url():
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -r requirements.txt)")
    existing = os.environ.get("GENAI_LAB_TEST_POSTGRES_URL", "").strip()
    if existing:
        try:
            psycopg.connect(existing, connect_timeout=5).close()
        except psycopg.Error as exc:
            pytest.skip(f"GENAI_LAB_TEST_POSTGRES_URL is set but unreachable: {str(exc).splitlines()[0]}")
        yield existing
        return
    cluster = _start_cluster()
    try:
        url = next(cluster)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"no PostgreSQL to test against ({exc}); set GENAI_LAB_TEST_POSTGRES_URL to use a running server")
    yield url
    cluster.close()


@pytest.fixture
def postgres_url(postgres_server_url):
    """The server with a fresh, empty schema as search_path (dropped afterwards)."""
    import psycopg

    schema = f"genai_lab_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    yield _with_search_path(postgres_server_url, schema)
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def open_db(request, tmp_path):
    """Opens a database on this test's data (the same one each call, so reopening sees the data), on SQLite and on
    PostgreSQL (skipped where no server can start); every database opened is closed at the end."""
    from core.storage.database import PostgresDatabase, SQLiteDatabase

    if request.param == "sqlite":
        def opener():
            return SQLiteDatabase(tmp_path / "quiz.db")
    else:
        url = request.getfixturevalue("postgres_url")

        def opener():
            return PostgresDatabase(url)
    opened = []
    yield lambda: opened.append(opener()) or opened[-1]
    for db in opened:
        db.close()


@pytest.fixture
def db(open_db):
    return open_db()
